// Package outputtest is the conformance kit every output's tests run: each
// HTTP status class maps to a retryable or permanent error, Retry-After is
// kept in the error, secrets never appear in errors or logs, cancellation is
// honoured and Close is idempotent.
//
// An output's test calls Run with a Kit whose New builds the output pointed
// at a local httptest server the kit controls:
//
//	outputtest.Run(t, outputtest.Kit{
//		New: func(t testing.TB, url string, log *slog.Logger) outputs.Output { ... },
//		OK:  func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) },
//		Secrets: []string{"s3cr3t"},
//	})
package outputtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/router/api"
)

// Kit describes the output under test.
type Kit struct {
	// New builds the output with its destination at baseURL (the local
	// server's URL, no trailing slash) and logging to log. It should embed
	// every entry of Secrets in its configuration.
	New func(t testing.TB, baseURL string, log *slog.Logger) outputs.Output
	// OK answers a request the way the real destination accepts it.
	OK http.HandlerFunc
	// Secrets must never appear in an error string or a log line.
	Secrets []string
	// Alerts returns the batch to send; nil means one Alert().
	Alerts func() []*api.Alert
}

// Statuses maps the HTTP statuses the kit serves to whether the resulting
// error must be retryable.
var Statuses = map[int]bool{
	400: false, 401: false, 403: false, 404: false, 413: false, 422: false,
	408: true, 425: true, 429: true, 500: true, 502: true, 503: true, 504: true,
}

// Alert returns a representative alert with string, numeric, boolean and
// null output fields.
func Alert() *api.Alert {
	return &api.Alert{
		Hostname: "node-1",
		Output:   "Warning Sensitive file opened for reading (file=/etc/shadow user=root pid=4242)",
		OutputFields: map[string]any{
			"fd.name": "/etc/shadow", "user.name": "root", "proc.pid": json.Number("4242"),
			"user.uid": json.Number("0"), "proc.tty": nil, "evt.is_open_read": true,
		},
		Priority: api.PriorityWarning,
		Rule:     "Read sensitive file untrusted",
		Source:   "syscall",
		Tags:     []string{"filesystem", "mitre_credential_access"},
		Time:     time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC),
		UUID:     "3f1c1b9e-7d0a-4f6e-9a51-2b9f0c6d1e77",
	}
}

// Run runs the whole kit as subtests of t.
func Run(t *testing.T, k Kit) {
	t.Helper()
	if k.Alerts == nil {
		k.Alerts = func() []*api.Alert { return []*api.Alert{Alert()} }
	}
	t.Run("accepted", func(t *testing.T) { testAccepted(t, k) })
	t.Run("statuses", func(t *testing.T) { testStatuses(t, k) })
	t.Run("unreachable", func(t *testing.T) { testUnreachable(t, k) })
	t.Run("cancel", func(t *testing.T) { testCancel(t, k) })
	t.Run("close", func(t *testing.T) { testClose(t, k) })
}

// Logger returns a debug-level JSON logger writing into a buffer that is
// safe for concurrent use, and the function that reads it.
func Logger() (*slog.Logger, func() string) {
	var mu sync.Mutex
	var buf bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	})
	log := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return log, func() string { mu.Lock(); defer mu.Unlock(); return buf.String() }
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (k Kit) noSecrets(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range k.Secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("%s leaks secret %q: %s", what, s, text)
		}
	}
}

func testAccepted(t *testing.T, k Kit) {
	var n int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		k.OK(w, r)
	}))
	defer srv.Close()
	log, logs := Logger()
	o := k.New(t, srv.URL, log)
	defer o.Close()
	if err := o.Send(context.Background(), k.Alerts()); err != nil {
		t.Fatalf("Send to an accepting server: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n == 0 {
		t.Fatal("Send returned nil without making a request")
	}
	k.noSecrets(t, "log", logs())
}

func testStatuses(t *testing.T, k Kit) {
	for status, retry := range Statuses {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "7")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_, _ = w.Write([]byte(`{"ok":false,"error":"conformance","status":"invalid event","message":"conformance"}`))
			}))
			defer srv.Close()
			log, logs := Logger()
			o := k.New(t, srv.URL, log)
			defer o.Close()
			err := o.Send(context.Background(), k.Alerts())
			if err == nil {
				t.Fatalf("status %d: Send returned nil", status)
			}
			if got := outputs.IsRetryable(err); got != retry {
				t.Errorf("status %d: retryable=%v, want %v (err: %v)", status, got, retry, err)
			}
			if retry && outputs.RetryAfter(err) != 7*time.Second {
				t.Errorf("status %d: RetryAfter=%v, want 7s from the Retry-After header (err: %v)", status, outputs.RetryAfter(err), err)
			}
			k.noSecrets(t, "error", err.Error())
			k.noSecrets(t, "log", logs())
		})
	}
}

func testUnreachable(t *testing.T, k Kit) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	log, logs := Logger()
	o := k.New(t, url, log)
	defer o.Close()
	err := o.Send(context.Background(), k.Alerts())
	if err == nil {
		t.Fatal("Send to a closed port returned nil")
	}
	if !outputs.IsRetryable(err) {
		t.Errorf("connection refused must be retryable: %v", err)
	}
	k.noSecrets(t, "error", err.Error())
	k.noSecrets(t, "log", logs())
}

func testCancel(t *testing.T, k Kit) {
	arrived := make(chan struct{}, 16)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	log, logs := Logger()
	o := k.New(t, srv.URL, log)
	defer o.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Send(ctx, k.Alerts()) }()
	<-arrived
	cancel()
	err := <-done
	if err == nil {
		t.Fatal("Send returned nil after its context was cancelled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error does not wrap context.Canceled: %v", err)
	}
	if outputs.IsRetryable(err) {
		t.Errorf("the caller's cancellation must not be retryable: %v", err)
	}
	k.noSecrets(t, "error", err.Error())
	k.noSecrets(t, "log", logs())
}

func testClose(t *testing.T, k Kit) {
	srv := httptest.NewServer(k.OK)
	defer srv.Close()
	log, _ := Logger()
	o := k.New(t, srv.URL, log)
	if err := o.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := o.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
