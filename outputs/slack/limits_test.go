package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/outputs/outputtest"
	"github.com/lookout-sec/lookout/router/api"
	"github.com/slack-go/slack"
)

// capture posts one alert through a webhook-mode output and returns the
// message Slack would have received.
func capture(t *testing.T, cfg Config, a *api.Alert) slack.WebhookMessage {
	t.Helper()
	var msg slack.WebhookMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
			t.Errorf("payload is not a WebhookMessage: %v", err)
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	cfg.WebhookURL = Secret(srv.URL)
	o, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Send(context.Background(), []*api.Alert{a}); err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestLongValuesTrimmedNotRejected(t *testing.T) {
	a := outputtest.Alert()
	a.Output = strings.Repeat("é", 10000) // multi-byte: trimmed by rune, stays valid UTF-8
	a.Rule = strings.Repeat("r", 400)
	a.Hostname = strings.Repeat("h", 2000)
	for i := range 80 {
		a.OutputFields[fmt.Sprintf("custom.f%02d", i)] = json.Number(fmt.Sprint(i))
	}
	msg := capture(t, Config{}, a)
	att := msg.Attachments[0]
	cases := []struct {
		what string
		got  string
		max  int
	}{
		{"text", att.Text, maxText}, {"title", att.Title, 250},
		{"hostname field", att.Fields[1].Value, maxFieldValue},
	}
	for _, c := range cases {
		n := len([]rune(c.got))
		if n != c.max || !strings.HasSuffix(c.got, "…") {
			t.Errorf("%s: %d runes (want %d, ending in …)", c.what, n, c.max)
		}
	}
	if len(att.Fields) != maxFields+1 {
		t.Fatalf("%d fields, want %d plus a count of the rest", len(att.Fields), maxFields)
	}
	last := att.Fields[maxFields]
	// 5 fixed fields + 86 output fields, less the null one (nulls: omit)
	// = 90; the 45 that fit leave 40.
	if last.Title != "…" || last.Value != "40 more fields" {
		t.Errorf("last field = %+v", last)
	}
}

func TestTemplateOutputTrimmed(t *testing.T) {
	a := outputtest.Alert()
	a.Output = strings.Repeat("x", 5000)
	msg := capture(t, Config{Template: "{{.Output}}"}, a)
	if n := len([]rune(msg.Text)); n != maxText {
		t.Errorf("templated text %d runes, want %d", n, maxText)
	}
}

func TestColourByPriority(t *testing.T) {
	seen := map[string]api.Priority{}
	for p := api.PriorityEmergency; p <= api.PriorityDebug; p++ {
		a := outputtest.Alert()
		a.Priority = p
		msg := capture(t, Config{}, a)
		c := msg.Attachments[0].Color
		if c == "" {
			t.Errorf("%v: no colour", p)
		}
		if q, dup := seen[c]; dup {
			t.Errorf("%v and %v share colour %s", p, q, c)
		}
		seen[c] = p
	}
}
