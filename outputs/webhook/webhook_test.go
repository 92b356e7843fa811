package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/outputtest"
	"github.com/lookout-sec/lookout/router/api"
)

func TestSendStatuses(t *testing.T) {
	cases := []struct {
		status    int
		wantErr   bool
		retryable bool
	}{{200, false, false}, {204, false, false}, {400, true, false}, {404, true, false}, {429, true, true}, {500, true, true}, {503, true, true}}
	for _, c := range cases {
		var body, team string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			body, team = string(b), r.Header.Get("X-Team")
			w.WriteHeader(c.status)
		}))
		cfg := DefaultConfig()
		cfg.URL = srv.URL + "/hook"
		cfg.Headers = map[string]string{"X-Team": "sec"}
		o, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		a := &api.Alert{Rule: "r", Priority: api.PriorityWarning, Time: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), UUID: "u-1"}
		err = o.Send(context.Background(), []*api.Alert{a})
		srv.Close()
		if (err != nil) != c.wantErr || (err != nil && outputs.IsRetryable(err) != c.retryable) {
			t.Errorf("status %d: err %v, retryable %v", c.status, err, outputs.IsRetryable(err))
		}
		if !strings.Contains(body, `"uuid":"u-1"`) || team != "sec" {
			t.Errorf("status %d: body %q header %q", c.status, body, team)
		}
		_ = o.Close()
		_ = o.Close()
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want string // error prefix; "" means valid
	}{
		{"ok", func(c *Config) {}, ""},
		{"https", func(c *Config) { c.URL = "https://example.com/hook" }, ""},
		{"put", func(c *Config) { c.Method = http.MethodPut }, ""},
		{"missing url", func(c *Config) { c.URL = "" }, "url: is required"},
		{"ftp", func(c *Config) { c.URL = "ftp://x" }, "url:"},
		{"not a url", func(c *Config) { c.URL = "not a url" }, "url:"},
		{"no host", func(c *Config) { c.URL = "http:///hook" }, "url:"},
		{"get", func(c *Config) { c.Method = http.MethodGet }, "method:"},
		{"zero timeout", func(c *Config) { c.Timeout = 0 }, "timeout:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.URL = "http://127.0.0.1:9999/hook"
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("valid config rejected: %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v, want prefix %q", err, tc.want)
			}
		})
	}
}

// TestBodyTemplate: webhook.body replaces the alert's JSON with a message
// template; a body that renders no JSON fails Validate unless content_type
// says it is not JSON.
func TestBodyTemplate(t *testing.T) {
	var got, ctype string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, ctype = string(b), r.Header.Get("Content-Type")
	}))
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.URL = srv.URL
	cfg.Body = `{"text": {{ printf "%s: %s" .Priority .Rule | quote }}, "host": {{ quote .Hostname }}}`
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Send(context.Background(), []*api.Alert{outputtest.Alert()}); err != nil {
		t.Fatal(err)
	}
	if got != `{"text": "Warning: Read sensitive file untrusted", "host": "node-1"}` || ctype != "application/json" {
		t.Fatalf("body %q (%s)", got, ctype)
	}
	cfg.Body = `alert {{ .Rule }}`
	if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), "webhook.body: with a sample alert it renders no valid JSON") {
		t.Errorf("Validate: %v", err)
	}
	cfg.ContentType = "text/plain"
	if err := cfg.Validate(); err != nil {
		t.Errorf("text body: %v", err)
	}
}
