package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
	fan := pipeline.NewFanout([]pipeline.Route{{Name: "q", Filter: pipeline.Filter{MinPriority: api.PriorityDebug}}}, q, m, nil)
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
			req.Header.Set("Content-Type", "application/json")
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

func TestAdminDeadLetters(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	st, err := queue.Open(queue.Options{Dir: t.TempDir(), Outputs: []queue.OutputOptions{{Name: "q"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a := &api.Alert{Rule: "r", Priority: api.PriorityWarning, Time: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), UUID: "00000000-0000-4000-8000-000000000001"}
	if err := st.Enqueue(context.Background(), map[string][]*api.Alert{"q": {a}}); err != nil {
		t.Fatal(err)
	}
	items, err := st.Lease(context.Background(), "q", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeadLetter("q", items[0], errors.New("status 400: nope"), true); err != nil {
		t.Fatal(err)
	}
	fan := pipeline.NewFanout([]pipeline.Route{{Name: "q", Filter: pipeline.Filter{MinPriority: api.PriorityDebug}}}, st, m, nil)
	srv := httptest.NewServer(New(Options{Tokens: []string{"ingest"}, AdminTokens: []string{"adm"}, DeadLetters: st, Outputs: []string{"q"},
		BodyLimit: 1 << 20, Ingester: fan, Metrics: m, Gatherer: reg, Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	cases := []struct {
		name, method, path, token string
		code                      int
		want                      string
	}{
		{"no token", "GET", "/admin/deadletters", "", 401, "bearer token"},
		{"ingest token is not admin", "GET", "/admin/deadletters", "ingest", 401, "bearer token"},
		{"list", "GET", "/admin/deadletters", "adm", 200, `"error":"status 400: nope"`},
		{"list one output", "GET", "/admin/deadletters?output=q", "adm", 200, `"uuid":"00000000-0000-4000-8000-000000000001"`},
		{"unknown output", "GET", "/admin/deadletters?output=x", "adm", 400, `output "x" is not configured`},
		{"ids need an output", "POST", "/admin/deadletters/replay?id=1", "adm", 400, "add output=NAME"},
		{"purge needs ids or all", "POST", "/admin/deadletters/purge", "adm", 400, "all=true"},
		{"replay", "POST", "/admin/deadletters/replay?output=q&id=1", "adm", 200, `{"replayed":{"q":1}}`},
		{"list after replay", "GET", "/admin/deadletters", "adm", 200, `[]`},
		{"purge all", "POST", "/admin/deadletters/purge?all=true", "adm", 200, `{"purged":{"q":0}}`},
		{"admin wrong method", "DELETE", "/admin/deadletters", "adm", 405, "method not allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
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
	if n := st.Stats("q").Len; n != 1 {
		t.Fatalf("after replay the queue holds %d, want 1", n)
	}
}
