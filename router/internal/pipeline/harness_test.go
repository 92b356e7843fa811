package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lookout-sec/lookout/outputs/webhook"
	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/metrics"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

// sink is a webhook destination on 127.0.0.1 that records what it accepts
// and answers as respond says.
type sink struct {
	t       *testing.T
	mu      sync.Mutex
	addr    string
	srv     *http.Server
	got     []string                                             // uuids accepted, in arrival order
	tries   []time.Time                                          // every request's arrival
	respond func(n int, uuid string, w http.ResponseWriter) bool // n: request number from 1; true = accepted
	arrived chan string
}

func newSink(t *testing.T, respond func(n int, uuid string, w http.ResponseWriter) bool) *sink {
	t.Helper()
	s := &sink{t: t, respond: respond, arrived: make(chan string, 10000)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.stop)
	return s
}

func (s *sink) serve(ln net.Listener) {
	s.srv = &http.Server{Handler: http.HandlerFunc(s.handle)}
	go func() { _ = s.srv.Serve(ln) }()
}

func (s *sink) handle(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var a struct {
		UUID string `json:"uuid"`
	}
	_ = json.Unmarshal(b, &a)
	if h := r.Header.Get(webhook.AlertIDHeader); h != "" && h != a.UUID {
		s.t.Errorf("header %s = %q, body uuid %q", webhook.AlertIDHeader, h, a.UUID)
	}
	s.mu.Lock()
	s.tries = append(s.tries, time.Now())
	n := len(s.tries)
	s.mu.Unlock()
	ok := true
	if s.respond != nil {
		ok = s.respond(n, a.UUID, w)
	}
	if ok {
		s.mu.Lock()
		s.got = append(s.got, a.UUID)
		s.mu.Unlock()
		s.arrived <- a.UUID
	}
}

// stop closes the listener and every connection: the sink is down.
func (s *sink) stop() { _ = s.srv.Close() }

// start listens again on the same address.
func (s *sink) start() {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("sink restart on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

func (s *sink) url() string { return "http://" + s.addr + "/hook" }

// wait blocks until n alerts were accepted (failing after a generous bound).
func (s *sink) wait(n int) []string {
	s.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		s.mu.Lock()
		got := append([]string(nil), s.got...)
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-s.arrived:
		case <-deadline:
			s.t.Fatalf("sink got %d alerts, want %d", len(got), n)
		}
	}
}

func (s *sink) attempts() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.tries...)
}

// router is the delivery side of the pipeline over a real store, real
// webhook outputs and one worker per output.
type router struct {
	store   *queue.Store
	fan     *Fanout
	workers []*Worker
	reg     *prometheus.Registry
	cancel  context.CancelFunc
	done    sync.WaitGroup
}

type outSpec struct {
	name    string
	url     string
	policy  RetryPolicy
	timeout time.Duration
	conc    int
	batch   int
}

func fastPolicy() RetryPolicy {
	return RetryPolicy{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
}

func newRouter(t *testing.T, dir string, specs ...outSpec) *router {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	var qo []queue.OutputOptions
	var routes []Route
	for _, s := range specs {
		qo = append(qo, queue.OutputOptions{Name: s.name})
		routes = append(routes, Route{Name: s.name, Filter: Filter{MinPriority: api.PriorityDebug}})
	}
	st, err := queue.Open(queue.Options{Dir: dir, Outputs: qo, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r := &router{store: st, fan: NewFanout(routes, st, m, nil), reg: reg}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for _, s := range specs {
		out, err := webhook.New(webhook.Config{URL: s.url, Method: http.MethodPost, Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		w := &Worker{Name: s.name, Store: st, Output: out, Concurrency: s.conc, BatchSize: s.batch, Timeout: s.timeout,
			Policy: s.policy, Metrics: m, Logger: slog.New(slog.DiscardHandler)}
		r.workers = append(r.workers, w)
		r.done.Go(func() { w.Run(ctx, ctx) })
	}
	t.Cleanup(r.close)
	return r
}

func (r *router) close() {
	r.cancel()
	r.done.Wait()
	_ = r.store.Close()
}

func testAlert(i int) *api.Alert {
	return &api.Alert{
		Rule: "Test rule", Priority: api.PriorityWarning, Source: "syscall", Output: fmt.Sprintf("alert %d", i),
		Time: time.Date(2026, 11, 23, 10, 0, 0, i, time.UTC), UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
		OutputFields: map[string]any{"n": json.Number(fmt.Sprint(i))},
	}
}

func (r *router) ingest(t *testing.T, from, to int) []string {
	t.Helper()
	var ids []string
	for i := from; i < to; i++ {
		a := testAlert(i)
		if err := r.fan.Ingest(context.Background(), []*api.Alert{a}, false); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.UUID)
	}
	return ids
}

// counter reads a per-output counter's value.
func (r *router) counter(t *testing.T, name, output string) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "output" && l.GetValue() == output {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
