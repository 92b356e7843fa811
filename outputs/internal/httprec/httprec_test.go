package httprec_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/internal/httprec"
)

func TestClassify(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/busy":
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/date":
			w.Header().Set("Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/bad":
			w.WriteHeader(http.StatusForbidden)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer srv.Close()
	client := httprec.WrapClient(srv.Client())
	libErr := errors.New("library says no")

	tests := []struct {
		path      string
		retryable bool
		minWait   time.Duration
	}{
		{"/busy", true, 2 * time.Second},
		{"/date", true, 80 * time.Second},
		{"/bad", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			ctx, rec := httprec.WithResponse(context.Background())
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+tt.path, nil)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := httprec.Classify(ctx, "demo", rec, libErr, nil)
			if outputs.IsRetryable(got) != tt.retryable {
				t.Fatalf("retryable = %v for %v, want %v", outputs.IsRetryable(got), got, tt.retryable)
			}
			if w := outputs.RetryAfter(got); w < tt.minWait {
				t.Errorf("RetryAfter = %v, want at least %v", w, tt.minWait)
			}
			if !errors.Is(got, libErr) || !strings.Contains(got.Error(), "demo: library says no") {
				t.Errorf("error %q does not wrap the library error with the output's name", got)
			}
		})
	}
}

func TestClassifyOtherAndContext(t *testing.T) {
	perm := func(err error) error { return outputs.Permanent(err) }
	if err := httprec.Classify(context.Background(), "demo", &httprec.Response{}, errors.New("x"), perm); outputs.IsRetryable(err) {
		t.Errorf("without a status the other classifier decides: got retryable %v", err)
	}
	if err := httprec.Classify(context.Background(), "demo", nil, nil, perm); err != nil {
		t.Errorf("nil error: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := httprec.Classify(ctx, "demo", &httprec.Response{Status: 400}, errors.New("x"), perm); !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: got %v, want context.Canceled", err)
	}
}

func TestRedactHidesURLPath(t *testing.T) {
	client := httprec.WrapClient(nil)
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/services/T000/B000/SECRET", nil)
	_, err := client.Do(req)
	if err == nil {
		t.Fatal("expected a connection error")
	}
	got := httprec.Classify(context.Background(), "demo", &httprec.Response{}, err, nil)
	if strings.Contains(got.Error(), "SECRET") || !strings.Contains(got.Error(), "http://127.0.0.1:1") {
		t.Errorf("redacted error = %q", got)
	}
}

// TestWrapClientFollowsNoRedirect: slack and pagerduty get their client from
// WrapClient; a 3xx must reach them as the answer (a permanent failure).
func TestWrapClientFollowsNoRedirect(t *testing.T) {
	var followed atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/final" {
			followed.Add(1)
			return
		}
		http.Redirect(w, r, "/final", http.StatusFound)
	}))
	defer srv.Close()
	resp, err := httprec.WrapClient(nil).Post(srv.URL+"/x", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || followed.Load() != 0 {
		t.Errorf("status %d, %d requests to the Location; want 302 and none", resp.StatusCode, followed.Load())
	}
	if err := outputs.RedirectError(resp); err == nil || outputs.IsRetryable(err) || !strings.Contains(err.Error(), srv.URL+"/final") {
		t.Errorf("RedirectError = %v", err)
	}
}

// TestClassifyNamesTheRedirect: slack and pagerduty errors for a 3xx name
// the Location and are permanent.
func TestClassifyNamesTheRedirect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/moved?token=x", http.StatusMovedPermanently)
	}))
	defer srv.Close()
	ctx, rec := httprec.WithResponse(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/api", strings.NewReader("{}"))
	resp, err := httprec.WrapClient(nil).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := httprec.Classify(ctx, "slack", rec, errors.New("slack server error: 301"), nil)
	if got == nil || outputs.IsRetryable(got) || !strings.Contains(got.Error(), srv.URL+"/moved") || strings.Contains(got.Error(), "token") {
		t.Errorf("Classify = %v, want a permanent failure naming the Location without its query", got)
	}
}
