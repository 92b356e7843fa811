package emit

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/spool"
)

// limitRouter is a real HTTP server on 127.0.0.1 that plays the router's
// side of the body-limit contract: every POST /v1/alerts answer (413
// included) carries X-Lookout-Max-Body-Bytes, a body over the limit is
// refused with 413, and GET /v1/limits answers the limit unless noLimits.
type limitRouter struct {
	limit    int64
	noLimits bool

	mu       sync.Mutex
	got      map[string]int // uuid -> times delivered
	order    []string       // uuids in delivery order
	posts    int
	rejected int // 413s
	maxBody  int
	// dropAlerts counts the sensor's "alert drops" alerts (not in got).
	dropAlerts int
}

func (lr *limitRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer tok" {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodGet && r.URL.Path == api.PathLimits && !lr.noLimits {
		fmt.Fprintf(w, `{"max_body_bytes": %d}`, lr.limit)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != api.PathBatch {
		http.NotFound(w, r)
		return
	}
	w.Header().Set(api.HeaderMaxBodyBytes, strconv.FormatInt(lr.limit, 10))
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rd = zr
	}
	body, err := io.ReadAll(io.LimitReader(rd, lr.limit+1))
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.posts++
	if err != nil || int64(len(body)) > lr.limit {
		lr.rejected++
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	lr.maxBody = max(lr.maxBody, len(body))
	var alerts []api.Alert
	if err := json.Unmarshal(body, &alerts); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if lr.got == nil {
		lr.got = map[string]int{}
	}
	for _, a := range alerts {
		if a.Rule == DropRule {
			lr.dropAlerts++
			continue
		}
		lr.got[a.UUID]++
		lr.order = append(lr.order, a.UUID)
	}
}

// counts returns distinct uuids delivered and duplicates.
func (lr *limitRouter) counts() (distinct, dups int) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	for _, n := range lr.got {
		distinct++
		dups += n - 1
	}
	return distinct, dups
}

func spooledOutput(t *testing.T, url string, maxBytes int64) (Output, *spool.Spool) {
	t.Helper()
	sp, _, err := spool.Open(t.TempDir(), maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sp.Close() })
	w := &Router{Client: &api.Client{URL: url, Token: "tok", Gzip: true, HTTPClient: &http.Client{Timeout: 5 * time.Second}}}
	return Output{Name: "router", Writer: w, Sender: w, Spool: sp, QueueSize: 100000, BatchSize: 100,
		BatchInterval: 5 * time.Millisecond, Backoff: Backoff{Initial: 10 * time.Millisecond, Max: 500 * time.Millisecond}}, sp
}

func bigAlert(i, size int) *api.Alert {
	a := alert(i)
	a.UUID = uuid.NewString()
	a.OutputFields = map[string]any{"proc.cmdline": strings.Repeat("x", size)}
	return a
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSpoolSplitsByBytes sends batches of ~17 KB alerts (issue 16: 100 of
// them made 1.7 MB bodies the router refused) and one alert larger than
// the router's limit: every other alert is delivered once, every body is
// under the limit, and only the big one is dropped, as too_large. With
// GET /v1/limits the sensor never sends a body the router refuses; without
// it, the first 413 (and its header) teaches the limit and the batch is
// split again.
func TestSpoolSplitsByBytes(t *testing.T) {
	for _, noLimits := range []bool{false, true} {
		t.Run(fmt.Sprintf("limits endpoint %v", !noLimits), func(t *testing.T) {
			lr := &limitRouter{limit: 256 << 10, noLimits: noLimits}
			srv := newLoopback(t, lr)
			out, _ := spooledOutput(t, srv, 64<<20)
			e, err := New(Options{Outputs: []Output{out}, Logger: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			const n = 300
			for i := range n {
				if i == 150 {
					e.Emit(bigAlert(i, 300<<10))
					continue
				}
				e.Emit(bigAlert(i, 17<<10))
			}
			waitUntil(t, "alerts delivered", func() bool { d, _ := lr.counts(); return d == n-1 })
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := e.Close(ctx); err != nil {
				t.Fatal(err)
			}
			st := e.Stats()[0]
			d, dups := lr.counts()
			lr.mu.Lock()
			defer lr.mu.Unlock()
			if d != n-1 || dups != 0 || st.Dropped[DropTooLarge] != 1 || st.Sent != uint64(n-1+lr.dropAlerts) || st.Spooled != 0 {
				t.Errorf("delivered %d (dups %d), stats %+v", d, dups, st)
			}
			if lr.maxBody > int(lr.limit) {
				t.Errorf("a body of %d bytes went through a limit of %d", lr.maxBody, lr.limit)
			}
			// Knowing the limit, the sensor sends nothing the router refuses
			// (the big alert is dead-lettered unsent); without it, the first
			// answer's header teaches the limit: at most one 413 (none when
			// the first body happened to fit).
			if want := map[bool]int{false: 0, true: 1}[noLimits]; lr.rejected > want {
				t.Errorf("%d bodies refused with 413, want at most %d", lr.rejected, want)
			}
			t.Logf("posts %d, 413s %d, largest body %d of %d", lr.posts, lr.rejected, lr.maxBody, lr.limit)
		})
	}
}

// newLoopback serves h on 127.0.0.1 and returns its URL.
func newLoopback(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestSpoolRouterOutage is issue 16's outage: the router is down while
// alerts arrive steadily at 500/s, then comes back; every alert is
// delivered (by uuid), in order, none dropped. LOOKOUT_OUTAGE_SECONDS sets
// the outage (default 20; the figure is 300).
func TestSpoolRouterOutage(t *testing.T) {
	secs := 20
	if v := os.Getenv("LOOKOUT_OUTAGE_SECONDS"); v != "" {
		var err error
		if secs, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	const rate = 500
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the router is down
	lr := &limitRouter{limit: 1 << 20}
	out, sp := spooledOutput(t, "http://"+addr, 256<<20)
	e, err := New(Options{Outputs: []Output{out}, Logger: quiet(), DropAlertInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	tick := time.NewTicker(time.Second / 50)
	defer tick.Stop()
	start := time.Now()
	for i := 0; time.Since(start) < time.Duration(secs)*time.Second; {
		<-tick.C
		for range rate / 50 {
			a := alert(i)
			a.UUID = uuid.NewString()
			sent = append(sent, a.UUID)
			e.Emit(a)
			i++
		}
	}
	spooled, bytes := sp.Len()
	// The router comes back on the same address.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: lr}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	back := time.Now()
	waitUntil(t, "the spool to drain", func() bool { d, _ := lr.counts(); return d >= len(sent) })
	drained := time.Since(back)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := e.Stats()[0]
	d, dups := lr.counts()
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lost := 0
	for _, u := range sent {
		if lr.got[u] == 0 {
			lost++
		}
	}
	// Order: the first delivery of each uuid follows the emit order.
	pos := make(map[string]int, len(sent))
	for i, u := range sent {
		pos[u] = i
	}
	last, outOfOrder := -1, 0
	seen := map[string]bool{}
	for _, u := range lr.order {
		if seen[u] {
			continue
		}
		seen[u] = true
		if p, ok := pos[u]; ok {
			if p < last {
				outOfOrder++
			}
			last = p
		}
	}
	var dropped uint64
	for _, n := range st.Dropped {
		dropped += n
	}
	t.Logf("outage %ds at %d/s: emitted %d, spooled at the peak %d (%d bytes), delivered %d, lost %d, duplicated %d, out of order %d, drained in %s, dropped %v",
		secs, rate, len(sent), spooled, bytes, d, lost, dups, outOfOrder, drained.Round(time.Millisecond), st.Dropped)
	if lost != 0 || outOfOrder != 0 || dropped != 0 {
		t.Errorf("lost %d, out of order %d, dropped %d", lost, outOfOrder, dropped)
	}
}

// TestSpoolFullDropsOldest: with the router down and a small spool, the
// oldest alerts make room for the newest, and are counted; what is left is
// delivered in order once the router is back. The drop alert raised
// meanwhile is never counted as a drop itself.
func TestSpoolFullDropsOldest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	lr := &limitRouter{limit: 1 << 20}
	out, sp := spooledOutput(t, "http://"+addr, 200<<10)
	// One failed attempt at the start, then none until the alerts are all
	// in: a batch in flight is never evicted, so an attempt overlapping the
	// last appends would keep its older records and evict newer ones (CI
	// saw 38 of the newest 100 go that way), which is the spool's design
	// but not what this test checks.
	out.Backoff = Backoff{Initial: 5 * time.Second, Max: 5 * time.Second}
	e, err := New(Options{Outputs: []Output{out}, Logger: quiet(), DropAlertInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	var uuids []string
	for i := range n {
		a := bigAlert(i, 1000)
		uuids = append(uuids, a.UUID)
		e.Emit(a)
		if i%100 == 99 {
			time.Sleep(50 * time.Millisecond) // let the intake and the monitor run
		}
	}
	waitUntil(t, "the spool to take everything", func() bool { return e.Stats()[0].Queued == e.Stats()[0].Spooled })
	if _, b := sp.Len(); b > 200<<10 {
		t.Errorf("spool holds %d bytes, bound %d", b, 200<<10)
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: lr}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	waitUntil(t, "the spool to drain", func() bool { return e.Stats()[0].Spooled == 0 })
	if err := e.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := e.Stats()[0]
	lr.mu.Lock()
	defer lr.mu.Unlock()
	delivered := 0
	for _, u := range uuids {
		if lr.got[u] > 0 {
			delivered++
		}
	}
	if st.Dropped[DropSpoolFull] == 0 || uint64(delivered)+st.Dropped[DropSpoolFull] != n {
		t.Errorf("delivered %d + dropped %d != %d (stats %+v)", delivered, st.Dropped[DropSpoolFull], n, st)
	}
	// The newest survive: the last 100 (far less than the spool holds)
	// arrive. While the spool drains, the batch in flight is never evicted
	// (it would be counted dropped and delivered), so room for a drop
	// alert appended during a send comes from the records after the batch,
	// which may be among the newest: each drop alert can cost at most one
	// of them (a drop alert is smaller than these alerts), so the losses
	// there are bounded by the drop alerts raised (the first send and the
	// last drop alerts may overlap on a loaded machine).
	lost := 0
	for _, u := range uuids[n-100:] {
		if lr.got[u] == 0 {
			lost++
		}
	}
	if dropAlerts := lr.dropAlerts + int(st.DropAlertsLost); lost > dropAlerts {
		t.Errorf("%d of the newest 100 alerts were not delivered; at most %d (one per drop alert) may make room for drop alerts", lost, dropAlerts)
	}
	t.Logf("emitted %d, dropped oldest %d, delivered %d, newest-100 lost %d, drop alerts delivered %d, lost (not counted) %d",
		n, st.Dropped[DropSpoolFull], delivered, lost, lr.dropAlerts, st.DropAlertsLost)
}
