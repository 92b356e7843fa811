package emit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// sink is a real HTTP server on 127.0.0.1 that plays the router's batch
// endpoint; status decides each answer.
type sink struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []api.Alert
	sizes  []int
	calls  int
	status func(call int) int
	hits   chan struct{}
	block  chan struct{} // when set, handlers wait on it
}

func newSink(t *testing.T, status func(call int) int) *sink {
	s := &sink{status: status, hits: make(chan struct{}, 1000)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != api.PathBatch || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "bad path or token", http.StatusBadRequest)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		as, err := api.DecodeBatch(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		call := s.calls
		s.calls++
		st := http.StatusOK
		if s.status != nil {
			st = s.status(call)
		}
		if st/100 == 2 {
			for _, a := range as {
				s.got = append(s.got, *a)
			}
			s.sizes = append(s.sizes, len(as))
		}
		block := s.block
		s.mu.Unlock()
		s.hits <- struct{}{}
		if block != nil {
			<-block
		}
		if st == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(st)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// wait returns when the sink has received one more request.
func (s *sink) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.hits:
	case <-time.After(30 * time.Second):
		t.Fatal("the sink received no request")
	}
}

func (s *sink) alerts() []api.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]api.Alert(nil), s.got...)
}

func routerOutput(url string) Output {
	return Output{Name: "router", Writer: &Router{Client: &api.Client{URL: url, Token: "tok", Gzip: true}},
		BatchSize: 100, BatchInterval: 5 * time.Millisecond, RetryFor: time.Minute,
		Backoff: Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}}
}

func alert(i int) *api.Alert {
	return &api.Alert{Rule: "Read sensitive file untrusted", Priority: api.PriorityWarning, Source: "syscall",
		Time: time.Date(2026, 11, 23, 10, 0, 0, i, time.UTC), Hostname: "h", Output: fmt.Sprintf("alert %d", i),
		OutputFields: map[string]any{"proc.pid": i, "fd.name": "/etc/shadow", "container.id": nil}, Tags: []string{"T1555"}}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestDeliveryCases(t *testing.T) {
	cases := []struct {
		name        string
		status      func(call int) int
		n           int
		wantSent    int
		wantRetries bool
		wantDrop    string
	}{
		{"batched, every alert once with a uuid", nil, 250, 250, false, ""},
		{"router answers 503 then recovers", func(c int) int {
			if c < 3 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		}, 20, 20, true, ""},
		{"router rejects with 400", func(int) int { return http.StatusBadRequest }, 5, 0, false, DropRejected},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSink(t, c.status)
			e, err := New(Options{Outputs: []Output{routerOutput(s.srv.URL)}, Logger: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			for i := range c.n {
				e.Emit(alert(i))
			}
			if err := e.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			st := e.Stats()[0]
			got := s.alerts()
			if len(got) != c.wantSent || st.Sent != uint64(c.wantSent) || st.Queued != 0 {
				t.Fatalf("sink got %d, stats %+v; want %d sent", len(got), st, c.wantSent)
			}
			if (st.Retries > 0) != c.wantRetries {
				t.Errorf("retries = %d, want retries: %v", st.Retries, c.wantRetries)
			}
			if c.wantDrop != "" && st.Dropped[c.wantDrop] != uint64(c.n) {
				t.Errorf("dropped %v, want %d %s", st.Dropped, c.n, c.wantDrop)
			}
			uuids := map[string]bool{}
			for i, a := range got {
				if len(a.UUID) != 36 || uuids[a.UUID] {
					t.Fatalf("alert %d uuid %q missing or repeated", i, a.UUID)
				}
				uuids[a.UUID] = true
				if a.Output != fmt.Sprintf("alert %d", i) {
					t.Fatalf("alert %d out of order: %q", i, a.Output)
				}
			}
			for _, n := range s.sizes {
				if n > 100 {
					t.Errorf("batch of %d > batch_size 100", n)
				}
			}
		})
	}
}

// lockedBuffer is a goroutine-safe bytes.Buffer for a JSONLines output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestUnreachableRouterDropsAndAlerts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	out := routerOutput(url)
	out.RetryFor = 20 * time.Millisecond
	var buf lockedBuffer
	e, err := New(Options{Outputs: []Output{out, {Name: "stdout", Writer: NewJSONLines(&buf)}},
		Hostname: "node-1", DropAlertInterval: 10 * time.Millisecond, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		e.Emit(alert(i))
	}
	waitFor(t, "the drop alert on stdout", func() bool { return strings.Contains(buf.String(), DropRule) })
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := e.Stats()
	if st[0].Dropped[DropRetriesExhausted] < 3 || st[1].Sent < 4 {
		t.Fatalf("stats %+v", st)
	}
	var drop *api.Alert
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		a, err := api.DecodeAlert([]byte(line))
		if err != nil {
			t.Fatalf("stdout line is not a valid alert: %v\n%s", err, line)
		}
		if a.Rule == DropRule && drop == nil {
			drop = a
		}
	}
	if drop.Priority != api.PriorityCritical || drop.Hostname != "node-1" || drop.UUID == "" ||
		drop.OutputFields["outputs"] != "router" || drop.OutputFields["n_drops_retries_exhausted"] == nil ||
		!strings.HasPrefix(drop.Output, "Lookout internal: alert drops. ") {
		t.Errorf("drop alert: %+v", drop)
	}
}

func TestQueueFullDropsExactly(t *testing.T) {
	s := newSink(t, nil)
	release := make(chan struct{})
	s.block = release
	out := routerOutput(s.srv.URL)
	out.QueueSize, out.BatchSize, out.BatchInterval = 2, 1, 0
	e, err := New(Options{Outputs: []Output{out}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	e.Emit(alert(0))
	s.wait(t) // alert 0 is in flight and the handler holds it
	for i := 1; i <= 10; i++ {
		e.Emit(alert(i)) // 1 and 2 fit in the queue; 3..10 are dropped
	}
	st := e.Stats()[0]
	if st.Dropped[DropQueueFull] != 8 || st.Queued != 3 {
		t.Errorf("while blocked: %+v", st)
	}
	close(release)
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st = e.Stats()[0]
	if st.Sent != 3 || len(s.alerts()) != 3 || st.Dropped[DropQueueFull] != 8 {
		t.Errorf("after close: %+v, sink %d", st, len(s.alerts()))
	}
}

func TestCloseDeadlineCountsShutdownDrops(t *testing.T) {
	s := newSink(t, func(int) int { return http.StatusServiceUnavailable })
	e, err := New(Options{Outputs: []Output{routerOutput(s.srv.URL)}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		e.Emit(alert(i))
	}
	s.wait(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	e.Emit(alert(9)) // after Close: counted, never panics
	st := e.Stats()[0]
	if st.Sent != 0 || st.Dropped[DropShutdown] != 6 || st.Queued != 0 {
		t.Errorf("stats %+v", st)
	}
	if err := e.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestFileOutput(t *testing.T) {
	p := filepath.Join(t.TempDir(), "alerts.json")
	f, err := OpenFile(p)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{Outputs: []Output{{Name: "file", Writer: f}}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	a := alert(7)
	a.UUID = "0b7c7a8e-1111-4222-8333-444455556666"
	e.Emit(a)
	e.Emit(alert(8))
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	want := `{"hostname":"h","output":"alert 7","output_fields":{"container.id":null,"fd.name":"/etc/shadow","proc.pid":7},"priority":"Warning","rule":"Read sensitive file untrusted","source":"syscall","tags":["T1555"],"time":"2026-11-23T10:00:00.000000007Z","uuid":"0b7c7a8e-1111-4222-8333-444455556666"}`
	if len(lines) != 2 || lines[0] != want {
		t.Fatalf("file holds %d lines; first:\n%s\nwant\n%s", len(lines), lines[0], want)
	}
	if info, _ := os.Stat(p); info.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", info.Mode().Perm())
	}
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: 100 * time.Millisecond, Max: time.Second}
	for _, c := range []struct {
		attempt  int
		min, max time.Duration
	}{{0, 100 * time.Millisecond, 100 * time.Millisecond}, {1, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 100 * time.Millisecond, 800 * time.Millisecond}, {10, 100 * time.Millisecond, time.Second}} {
		for range 100 {
			if d := b.wait(c.attempt, 0); d < c.min || d > c.max {
				t.Fatalf("wait(%d) = %v, want in [%v, %v]", c.attempt, d, c.min, c.max)
			}
		}
	}
	if d := b.wait(0, 3*time.Second); d != 3*time.Second {
		t.Fatalf("Retry-After 3s: wait %v", d)
	}
}

func TestNewErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		outs []Output
		want string
	}{
		{"none", nil, "emit: no outputs"},
		{"no writer", []Output{{Name: "x"}}, `emit: output "x" needs a name and a writer`},
		{"twice", []Output{{Name: "x", Writer: NewJSONLines(io.Discard)}, {Name: "x", Writer: NewJSONLines(io.Discard)}}, `emit: output "x" configured twice`},
	} {
		_, err := New(Options{Outputs: c.outs})
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}
