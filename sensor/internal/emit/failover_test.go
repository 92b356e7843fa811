package emit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/lookout-sec/lookout/router/api"
)

// TestRouterFailover: a batch refused with 503 by one replica, or whose
// replica is gone, goes to the next; the one that answered is tried first
// next time; a 400 is not retried elsewhere.
func TestRouterFailover(t *testing.T) {
	var busy, ok atomic.Int64
	status := atomic.Int64{}
	status.Store(http.StatusServiceUnavailable)
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		busy.Add(1)
		w.WriteHeader(int(status.Load()))
	}))
	defer a.Close()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { ok.Add(1) }))
	defer b.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // connection refused
	r := &Router{Client: &api.Client{URL: gone.URL}, Others: []*api.Client{{URL: a.URL}, {URL: b.URL}}}
	ctx := context.Background()
	if _, err := r.SendJSON(ctx, []byte(`[]`)); err != nil {
		t.Fatalf("send with one replica up: %v", err)
	}
	if busy.Load() != 1 || ok.Load() != 1 {
		t.Fatalf("503 replica asked %d times, healthy one %d; want 1 and 1", busy.Load(), ok.Load())
	}
	if _, err := r.SendJSON(ctx, []byte(`[]`)); err != nil || busy.Load() != 1 || ok.Load() != 2 {
		t.Fatalf("the replica that answered is not tried first: err=%v busy=%d ok=%d", err, busy.Load(), ok.Load())
	}
	// A 400 from the first tried is final (another replica would say the same).
	r = &Router{Client: &api.Client{URL: a.URL}, Others: []*api.Client{{URL: b.URL}}}
	status.Store(http.StatusBadRequest)
	if _, err := r.SendJSON(ctx, []byte(`[]`)); err == nil || ok.Load() != 2 {
		t.Fatalf("400 failed over: err=%v ok=%d", err, ok.Load())
	}
	// Every replica down: the last error, for the spool to wait on.
	r = &Router{Client: &api.Client{URL: gone.URL}}
	if _, err := r.SendJSON(ctx, []byte(`[]`)); err == nil {
		t.Fatal("no error with every replica gone")
	}
}
