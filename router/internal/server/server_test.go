package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/metrics"
	"github.com/lookout-sec/lookout/router/internal/pipeline"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

const good = `{"rule":"r","priority":"warning","time":"2026-11-23T10:00:00Z","output":"o"}`

func TestStatusCodes(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	// Room for two stored alerts (about 200 bytes each), not four.
	q, err := queue.Open(queue.Options{Dir: t.TempDir(), MaxBytes: 500, Outputs: []queue.OutputOptions{{Name: "q"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	fan := pipeline.NewFanout([]pipeline.Route{{Name: "q", Filter: pipeline.Filter{MinPriority: api.PriorityDebug}}}, q, m)
	srv := httptest.NewServer(New(Options{Tokens: []string{"s3cret"}, BodyLimit: 200, Ingester: fan, Metrics: m, Gatherer: reg, Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	cases := []struct {
		name, method, path, token, body string
		code                            int
		want                            string
	}{
		{"ok", "POST", "/", "s3cret", good, 200, `"accepted":1`},
		{"no token", "POST", "/", "", good, 401, "bearer token"},
		{"wrong token", "POST", "/", "nope", good, 401, "bearer token"},
		{"malformed", "POST", "/", "s3cret", `{"rule":`, 400, "malformed JSON"},
		{"missing rule", "POST", "/", "s3cret", `{"priority":"info","time":"2026-11-23T10:00:00Z"}`, 400, "rule: is required"},
		{"bad priority", "POST", "/", "s3cret", `{"rule":"r","priority":"warn","time":"2026-11-23T10:00:00Z"}`, 400, "priority"},
		{"bad time", "POST", "/", "s3cret", `{"rule":"r","priority":"info","time":"x"}`, 400, "time"},
		{"too large", "POST", "/", "s3cret", `{"rule":"` + strings.Repeat("a", 300) + `"}`, 413, "exceeds the limit"},
		{"wrong method", "GET", "/", "s3cret", "", 405, "method not allowed"},
		{"unknown path", "POST", "/nope", "s3cret", good, 404, "no such endpoint"},
		{"batch", "POST", "/v1/alerts", "s3cret", good + "\n", 200, `"accepted":1`},
		{"queue full", "POST", "/v1/alerts", "s3cret", "[" + good + "," + good + "]", 503, "queue is full"},
		{"healthz", "GET", "/healthz", "", "", 200, "ok"},
		{"ping", "GET", "/ping", "", "", 200, "pong"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.code || !strings.Contains(string(b), c.want) {
				t.Fatalf("got %d %q, want %d containing %q", resp.StatusCode, b, c.code, c.want)
			}
		})
	}
	if n := q.Stats("q").Len; n != 2 {
		t.Fatalf("queue holds %d alerts, want 2", n)
	}
}
