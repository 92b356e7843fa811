package app

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestMetricsListenerSurvivesIdleFlood: 40 connections that never send a
// byte against a listener capped at 8 connections with a 1 s header
// timeout: the idle ones are cut, and a real scrape is still answered.
func TestMetricsListenerSurvivesIdleFlood(t *testing.T) {
	lim := metricsLimits{ReadHeaderTimeout: time.Second, MaxConnections: 8}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	srv := newMetricsServer(mux, lim)
	go func() { _ = srv.Serve(limitListener(ln, lim)) }()
	t.Cleanup(func() { _ = srv.Close() })

	var idle []net.Conn
	for range 40 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	t.Cleanup(func() {
		for _, c := range idle {
			_ = c.Close()
		}
	})
	client := &http.Client{Timeout: 2 * time.Minute}
	resp, err := client.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatalf("a scrape behind 40 idle connections: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "ok\n" {
		t.Fatalf("healthz: %s %q", resp.Status, b)
	}
	// The first idle connections were served and cut by the header timeout.
	_ = idle[0].SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := idle[0].Read(make([]byte, 1)); err == nil {
		t.Fatal("an idle connection got data instead of being closed")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("an idle connection was never closed by the server")
	}
}
