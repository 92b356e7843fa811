package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/outputtest"
	"github.com/lookout-sec/lookout/router/api"
)

const (
	pathSecret   = "T0001-B0002-path-secret"
	querySecret  = "q-token-secret-123"
	headerSecret = "Bearer header-secret-456"
)

func TestConformance(t *testing.T) {
	outputtest.Run(t, outputtest.Kit{
		New: func(t testing.TB, base string, _ *slog.Logger) outputs.Output {
			cfg := DefaultConfig()
			cfg.URL = base + "/hooks/" + pathSecret + "?token=" + querySecret
			cfg.Headers = map[string]string{"Authorization": headerSecret}
			o, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return o
		},
		OK:      func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) },
		Secrets: []string{pathSecret, querySecret, headerSecret},
	})
}

// received is one request as the sink saw it.
type received struct {
	method, alertID, contentType, team string
	alert                              *api.Alert
}

// sink records requests and answers each with status(n) for the n-th one.
func sink(t *testing.T, status func(n int) int) (*httptest.Server, func() []received) {
	t.Helper()
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a, err := api.DecodeAlert(body)
		if err != nil {
			t.Errorf("body is not a valid alert: %v: %s", err, body)
		}
		mu.Lock()
		n := len(got)
		got = append(got, received{r.Method, r.Header.Get(AlertIDHeader), r.Header.Get("Content-Type"), r.Header.Get("X-Team"), a})
		mu.Unlock()
		w.WriteHeader(status(n))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received { mu.Lock(); defer mu.Unlock(); return append([]received(nil), got...) }
}

func batch(n int) []*api.Alert {
	out := make([]*api.Alert, n)
	for i := range out {
		a := outputtest.Alert()
		a.UUID = fmt.Sprintf("0000000%d-7d0a-4f6e-9a51-2b9f0c6d1e77", i)
		a.OutputFields["proc.pid"] = json.Number(fmt.Sprint(1000 + i))
		out[i] = a
	}
	return out
}

func TestAlertPerRequestWithID(t *testing.T) {
	for _, method := range []string{http.MethodPost, http.MethodPut} {
		t.Run(method, func(t *testing.T) {
			srv, got := sink(t, func(int) int { return http.StatusOK })
			cfg := DefaultConfig()
			cfg.URL, cfg.Method = srv.URL+"/hook", method
			cfg.Headers = map[string]string{"X-Team": "sec"}
			o, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			alerts := batch(3)
			if err := o.Send(context.Background(), alerts); err != nil {
				t.Fatal(err)
			}
			reqs := got()
			if len(reqs) != 3 {
				t.Fatalf("%d requests, want one per alert (3)", len(reqs))
			}
			for i, r := range reqs {
				want := alerts[i]
				if r.method != method || r.alertID != want.UUID || r.contentType != "application/json" || r.team != "sec" {
					t.Errorf("request %d: method %s, %s %q, content-type %q, X-Team %q", i, r.method, AlertIDHeader, r.alertID, r.contentType, r.team)
				}
				if r.alert == nil || r.alert.UUID != want.UUID || r.alert.Rule != want.Rule || !r.alert.Time.Equal(want.Time) ||
					r.alert.OutputFields["proc.pid"] != want.OutputFields["proc.pid"] || r.alert.OutputFields["proc.tty"] != nil {
					t.Errorf("request %d: body decodes to %+v, want %+v", i, r.alert, want)
				}
			}
		})
	}
}

func TestRetryKeepsAlertID(t *testing.T) {
	srv, got := sink(t, func(n int) int { return []int{503, 200}[n%2] })
	cfg := DefaultConfig()
	cfg.URL = srv.URL
	o, _ := New(cfg)
	a := batch(1)
	if err := o.Send(context.Background(), a); !outputs.IsRetryable(err) {
		t.Fatalf("503 must be retryable: %v", err)
	}
	if err := o.Send(context.Background(), a); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	reqs := got()
	if len(reqs) != 2 || reqs[0].alertID != a[0].UUID || reqs[1].alertID != a[0].UUID {
		t.Fatalf("both attempts must carry %s %s: %+v", AlertIDHeader, a[0].UUID, reqs)
	}
}

func TestBatchStopsAtFirstFailure(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		retryable bool
	}{{"server error", 503, true}, {"rejected", 422, false}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, got := sink(t, func(n int) int {
				if n == 2 {
					return c.status
				}
				return 200
			})
			cfg := DefaultConfig()
			cfg.URL = srv.URL
			o, _ := New(cfg)
			err := o.Send(context.Background(), batch(5))
			var pe *outputs.PartialError
			if !errors.As(err, &pe) {
				t.Fatalf("want *outputs.PartialError, got %v", err)
			}
			if len(pe.Failed) != 3 || pe.Failed[0] != nil || pe.Failed[1] != nil {
				t.Fatalf("failed = %v, want alerts 2, 3 and 4", pe.Failed)
			}
			for i := 2; i < 5; i++ {
				if outputs.IsRetryable(pe.Failed[i]) != c.retryable {
					t.Errorf("alert %d: retryable=%v, want %v (%v)", i, outputs.IsRetryable(pe.Failed[i]), c.retryable, pe.Failed[i])
				}
			}
			if n := len(got()); n != 3 {
				t.Errorf("%d requests, want 3 (stop after the failing one)", n)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	cfg := DefaultConfig()
	cfg.URL, cfg.Timeout = srv.URL, 50*time.Millisecond
	o, _ := New(cfg)
	err := o.Send(context.Background(), batch(1))
	if err == nil || !outputs.IsRetryable(err) {
		t.Fatalf("a hung receiver must give a retryable timeout error, got %v", err)
	}
}

func TestConfigStringRedacts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.URL = "https://user:pw-secret@hooks.example.com/services/" + pathSecret + "?token=" + querySecret
	cfg.Headers = map[string]string{"Authorization": headerSecret}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), cfg.String()} {
		for _, secret := range []string{"pw-secret", pathSecret, querySecret, headerSecret} {
			if strings.Contains(s, secret) {
				t.Errorf("%q leaks %q", s, secret)
			}
		}
		if !strings.Contains(s, "https://hooks.example.com") || !strings.Contains(s, "Authorization:"+outputs.Redacted) {
			t.Errorf("%q should name the host and the redacted header", s)
		}
	}
}
