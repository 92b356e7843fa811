package webhook

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lookout-sec/lookout/router/api"
)

// Concurrent sends reuse their keep-alive connections: eight senders open
// about eight connections however many alerts they post (Go's default
// transport keeps two idle per host and would re-dial for most of the 400
// sends). A request that finds no idle connection dials one while another
// sender's connection is on its way back to the pool, so a few more than
// eight may open: the bound is twice the senders (CI saw 11).
func TestConcurrentSendsReuseConnections(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	cfg := DefaultConfig()
	cfg.URL = srv.URL + "/hook"
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const senders, each = 8, 50
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for _, a := range batch(each) {
				if err := o.Send(context.Background(), []*api.Alert{a}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := conns.Load(); n > 2*senders {
		t.Fatalf("%d sends from %d senders opened %d connections, want at most %d", senders*each, senders, n, 2*senders)
	}
}
