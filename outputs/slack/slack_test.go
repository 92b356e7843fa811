package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/outputtest"
	"github.com/lookout-sec/lookout/router/api"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

const hookSecret = "XyZsecretHookPart123"
const botToken = "xoxb-secret-bot-token-456"

func TestConformanceWebhook(t *testing.T) {
	outputtest.Run(t, outputtest.Kit{
		New: func(t testing.TB, base string, log *slog.Logger) outputs.Output {
			o, err := New(Config{WebhookURL: Secret(base + "/services/T000/B000/" + hookSecret)}, Options{Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			return o
		},
		OK:      func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") },
		Secrets: []string{hookSecret},
	})
}

func TestConformanceBot(t *testing.T) {
	outputtest.Run(t, outputtest.Kit{
		New: func(t testing.TB, base string, log *slog.Logger) outputs.Output {
			o, err := New(Config{Token: botToken, Channel: "#sec", APIURL: base + "/api/"}, Options{Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			return o
		},
		OK: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok":true,"channel":"C1","ts":"1.000"}`)
		},
		Secrets: []string{botToken},
	})
}

// TestWebhookPayload decodes the posted body into slack.WebhookMessage and
// checks the message a user sees, numeric fields included.
func TestWebhookPayload(t *testing.T) {
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	o, err := New(Config{WebhookURL: Secret(srv.URL + "/hook"), Channel: "#sec-alerts", IconEmoji: ":rotating_light:"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := outputtest.Alert()
	a.OutputFields["proc.cmdline"] = strings.Repeat("x", 5000)
	if err := o.Send(context.Background(), []*api.Alert{a}); err != nil {
		t.Fatal(err)
	}
	var msg slack.WebhookMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatalf("payload is not a WebhookMessage: %v\n%s", err, body)
	}
	if msg.Channel != "#sec-alerts" || msg.IconEmoji != ":rotating_light:" || msg.Username != "Lookout" {
		t.Errorf("overrides lost: %+v", msg)
	}
	if len(msg.Attachments) != 1 {
		t.Fatalf("want 1 attachment, got %d", len(msg.Attachments))
	}
	att := msg.Attachments[0]
	if att.Title != a.Rule || att.Text != a.Output || att.Color != colours[api.PriorityWarning] {
		t.Errorf("attachment: %+v", att)
	}
	got := map[string]string{}
	for _, f := range att.Fields {
		got[f.Title] = f.Value
	}
	want := map[string]string{
		"priority": "Warning", "hostname": "node-1", "source": "syscall", "tags": "filesystem, mitre_credential_access",
		"time":     "<!date^1795428000^{date_short_pretty} {time_secs}|2026-11-23 10:00:00 UTC>",
		"proc.pid": "4242", "user.uid": "0", "fd.name": "/etc/shadow", "evt.is_open_read": "true",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %q = %q, want %q", k, got[k], v)
		}
	}
	if v, ok := got["proc.tty"]; ok {
		t.Errorf("null field shown as %q; nulls: omit is the default", v)
	}
	if n := len([]rune(got["proc.cmdline"])); n != maxFieldValue {
		t.Errorf("long value trimmed to %d runes, want %d", n, maxFieldValue)
	}
}

// TestBotPostMessage posts through slacktest with a handler that records
// the form (the default handler does not record bot messages).
func TestBotPostMessage(t *testing.T) {
	var mu sync.Mutex
	var forms []url.Values
	srv := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			mu.Lock()
			forms = append(forms, r.PostForm)
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok":true,"channel":"C1","ts":"1.000"}`)
		})
	})
	srv.Start()
	defer srv.Stop()
	o, err := New(Config{Token: botToken, Channel: "#sec-alerts", APIURL: srv.GetAPIURL()}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Send(context.Background(), []*api.Alert{outputtest.Alert(), outputtest.Alert()}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(forms) != 2 {
		t.Fatalf("want 2 posts, got %d", len(forms))
	}
	f := forms[0]
	if f.Get("channel") != "#sec-alerts" || !strings.Contains(f.Get("attachments"), `"proc.pid"`) || !strings.Contains(f.Get("attachments"), `"4242"`) {
		t.Errorf("posted form: %v", f)
	}
}

func TestBotAPIErrors(t *testing.T) {
	for code, retry := range map[string]bool{"channel_not_found": false, "invalid_auth": false, "ratelimited": true, "internal_error": true} {
		t.Run(code, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"ok":false,"error":%q}`, code)
			}))
			defer srv.Close()
			o, err := New(Config{Token: botToken, Channel: "C1", APIURL: srv.URL + "/"}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = o.Send(context.Background(), []*api.Alert{outputtest.Alert()})
			if err == nil || outputs.IsRetryable(err) != retry || !strings.Contains(err.Error(), code) {
				t.Errorf("err=%v retryable=%v, want retryable=%v", err, outputs.IsRetryable(err), retry)
			}
		})
	}
}

func TestPartialFailure(t *testing.T) {
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if n > 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	o, _ := New(Config{WebhookURL: Secret(srv.URL)}, Options{})
	err := o.Send(context.Background(), []*api.Alert{outputtest.Alert(), outputtest.Alert(), outputtest.Alert()})
	pe, ok := err.(*outputs.PartialError)
	if !ok || len(pe.Failed) != 2 || pe.Failed[0] != nil || !outputs.IsRetryable(pe.Failed[1]) {
		t.Fatalf("want partial failure of alerts 1 and 2, got %#v", err)
	}
}

func TestTemplate(t *testing.T) {
	var msg slack.WebhookMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&msg)
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	o, err := New(Config{WebhookURL: Secret(srv.URL), Template: `{{.Priority}}: {{.Rule}} pid={{index .OutputFields "proc.pid"}}`}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Send(context.Background(), []*api.Alert{outputtest.Alert()}); err != nil {
		t.Fatal(err)
	}
	if msg.Text != "Warning: Read sensitive file untrusted pid=4242" || len(msg.Attachments) != 0 {
		t.Errorf("templated message: %+v", msg)
	}
}

func TestValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"none":         {Config{}, "one of slack.webhook_url or slack.token"},
		"both":         {Config{WebhookURL: "https://h/x", Token: "t", Channel: "c"}, "not both"},
		"no channel":   {Config{Token: "t"}, "slack.channel"},
		"bad url":      {Config{WebhookURL: "hooks.slack.com/x"}, "slack.webhook_url"},
		"bad template": {Config{WebhookURL: "https://h/x", Template: "{{.Rule"}, "slack.template"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(tc.cfg, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err=%v, want %q", err, tc.want)
			}
		})
	}
}

func TestSecretRedacts(t *testing.T) {
	c := Config{WebhookURL: "https://hooks.slack.com/services/T/B/" + hookSecret, Token: botToken}
	for _, s := range []string{fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(s, hookSecret) || strings.Contains(s, botToken) {
			t.Errorf("printed config leaks a secret: %s", s)
		}
	}
}

// TestBlocksTemplate: slack.blocks renders Block Kit blocks per alert (the
// same template language as every output); a template that does not
// render blocks fails Validate with the key.
func TestBlocksTemplate(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&got)
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.WebhookURL = Secret(srv.URL + "/hook")
	cfg.Blocks = `[{"type": "section", "text": {"type": "mrkdwn", "text": {{ printf "*%s* on %s" .Rule .Hostname | quote }}}}]`
	o, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Send(context.Background(), []*api.Alert{outputtest.Alert()}); err != nil {
		t.Fatal(err)
	}
	blocks, _ := got["blocks"].([]any)
	if len(blocks) != 1 || got["attachments"] != nil {
		t.Fatalf("message %v", got)
	}
	if txt := blocks[0].(map[string]any)["text"].(map[string]any)["text"]; txt != "*Read sensitive file untrusted* on node-1" {
		t.Errorf("block text %q", txt)
	}
	cfg.Blocks = `{"type": "section"}`
	if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), "slack.blocks: with a sample alert: not a JSON array") {
		t.Errorf("Validate: %v", err)
	}
}
