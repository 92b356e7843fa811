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
	for _, u := range []string{"", "ftp://x", "not a url"} {
		c := DefaultConfig()
		c.URL = u
		if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "url:") {
			t.Errorf("url %q: %v", u, err)
		}
	}
}
