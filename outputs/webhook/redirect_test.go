package webhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/router/api"
)

type hit struct{ method, body string }

// redirectingSink answers code with a Location to /final on /hook and
// records every request to /final.
func redirectingSink(t *testing.T, code int) (*httptest.Server, func() []hit) {
	var (
		mu   sync.Mutex
		hits []hit
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hook" {
			http.Redirect(w, r, "/final?token=secret", code)
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hits = append(hits, hit{r.Method, string(b)})
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv, func() []hit { mu.Lock(); defer mu.Unlock(); return append([]hit(nil), hits...) }
}

// TestRedirects: issue 16 item 4. A 302 used to become a body-less GET whose
// 200 counted as delivered.
func TestRedirects(t *testing.T) {
	a := &api.Alert{Rule: "r", Priority: api.PriorityWarning, Time: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), UUID: "00000000-0000-4000-8000-000000000001"}
	for _, code := range []int{301, 302, 303, 307, 308} {
		srv, hits := redirectingSink(t, code)
		o, err := New(Config{URL: srv.URL + "/hook", Method: http.MethodPost, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		err = o.Send(context.Background(), []*api.Alert{a})
		if err == nil || outputs.IsRetryable(err) || !strings.Contains(err.Error(), srv.URL+"/final") || strings.Contains(err.Error(), "secret") {
			t.Errorf("%d not followed: err = %v, want a permanent failure naming the Location without its query", code, err)
		}
		if h := hits(); len(h) != 0 {
			t.Errorf("%d: the redirect was followed: %v", code, h)
		}

		f, err := New(Config{URL: srv.URL + "/hook", Method: http.MethodPut, Timeout: 5 * time.Second, FollowRedirects: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Send(context.Background(), []*api.Alert{a}); err != nil {
			t.Errorf("%d followed: %v", code, err)
		}
		h := hits()
		if len(h) != 1 || h[0].method != http.MethodPut || !strings.Contains(h[0].body, `"uuid":"00000000-0000-4000-8000-000000000001"`) {
			t.Errorf("%d followed: the final location got %v, want one PUT with the alert", code, h)
		}
		_ = o.Close()
		_ = f.Close()
	}
}
