package history

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func testAlert(i int) Alert {
	return Alert{
		UUID: fmt.Sprintf("u-%d", i), Time: t0.Add(time.Duration(i) * time.Second), Rule: []string{"Terminal shell in container", "Read sensitive file"}[i%2],
		Priority: api.Priority(i % 8), Source: "syscall", Hostname: fmt.Sprintf("node-%d", i%3),
		Output: fmt.Sprintf("A shell was spawned user=root proc=bash%d", i), Tags: []string{"shell", fmt.Sprintf("t%d", i%4)},
		Fields:  map[string]any{"proc.name": fmt.Sprintf("bash%d", i%5), "k8s.ns.name": "prod", "k8s.pod.name": "web-7d9f8b6c4-xk2lp", "evt.num": float64(i)},
		Finding: fmt.Sprintf("f%d", i%2), FindingStatus: "new", Outputs: map[string]string{"slack": "delivered", "pd": "expected"},
	}
}

// opener opens an empty store for a test.
type opener func(t *testing.T) *SQL

func openSQLite(t *testing.T) *SQL {
	t.Helper()
	s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// storeTests run on every dialect: TestSQLite, TestPostgres.
var storeTests = []struct {
	name string
	fn   func(t *testing.T, open opener)
}{
	{"Search", testSearch},
	{"ChartAndTop", testChartAndTop},
	{"Prune", testPrune},
	{"RecorderDropsWhenFull", testRecorderDropsWhenFull},
}

func TestSQLite(t *testing.T) {
	for _, tc := range storeTests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, openSQLite) })
	}
}

func testSearch(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	var as []Alert
	for i := range 100 {
		as = append(as, testAlert(i))
	}
	if err := s.Append(ctx, as); err != nil {
		t.Fatal(err)
	}
	warn := api.PriorityWarning
	for _, tc := range []struct {
		name string
		q    Query
		want int
	}{
		{"all", Query{Limit: 1000}, 100},
		{"rule", Query{Rule: "Read sensitive file", Limit: 1000}, 50},
		{"priority", Query{MinPriority: &warn, Limit: 1000}, 64}, // 0..4 of every 8
		{"tag", Query{Tag: "t1", Limit: 1000}, 25},
		{"field", Query{Fields: map[string]string{"proc.name": "bash3"}, Limit: 1000}, 20},
		{"number field", Query{Fields: map[string]string{"evt.num": "42"}}, 1},
		{"hostname", Query{Fields: map[string]string{"hostname": "node-1"}, Limit: 1000}, 33},
		{"text", Query{Text: "shell bash42"}, 1},
		{"text with FTS syntax is words", Query{Text: `"bash42 OR`}, 0},
		{"time", Query{Since: t0.Add(10 * time.Second), Until: t0.Add(20 * time.Second)}, 10},
		{"page", Query{Before: Cursor{TS: t0.Add(10 * time.Second).UnixNano(), ID: 11}}, 10},
		{"limit", Query{Limit: 7}, 7},
		{"nothing", Query{Rule: "no such"}, 0},
	} {
		got, err := s.Search(ctx, tc.q)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(got) != tc.want {
			t.Errorf("%s: %d alerts, want %d", tc.name, len(got), tc.want)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Time.After(got[i-1].Time) || got[i].Time.Equal(got[i-1].Time) && got[i].ID >= got[i-1].ID {
				t.Fatalf("%s: not newest first", tc.name)
			}
		}
	}
	a, err := s.Get(ctx, "u-42")
	if err != nil {
		t.Fatal(err)
	}
	if a.Rule != "Terminal shell in container" || a.Fields["proc.name"] != "bash2" || a.Outputs["pd"] != "expected" || !a.Time.Equal(t0.Add(42*time.Second)) || len(a.Tags) != 2 {
		t.Fatalf("alert: %+v", a)
	}
	if _, err := s.Get(ctx, "nope"); err != ErrNotFound {
		t.Fatalf("unknown uuid: %v", err)
	}
}

func testChartAndTop(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	var as []Alert
	for i := range 300 { // 5 minutes
		as = append(as, testAlert(i))
	}
	if err := s.Append(ctx, as); err != nil {
		t.Fatal(err)
	}
	ser, err := s.Chart(ctx, DimRule, Span{Since: t0, Until: t0.Add(5 * time.Minute), Step: time.Minute}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(ser) != 2 || ser[0].Total != 150 || len(ser[0].Counts) != 6 || ser[0].Counts[0] != 30 || ser[0].Counts[5] != 0 {
		t.Fatalf("series: %+v", ser)
	}
	pri, err := s.Chart(ctx, DimPriority, Span{Since: t0, Until: t0.Add(5 * time.Minute), Step: time.Minute}, 0)
	if err != nil || len(pri) != 8 || pri[0].Name != "Emergency" {
		t.Fatalf("priorities: %+v %v", pri, err)
	}
	top, err := s.Top(ctx, DimHost, t0, t0.Add(time.Hour), 2)
	if err != nil || len(top) != 2 || top[0].N != 100 {
		t.Fatalf("top hosts: %+v %v", top, err)
	}
	long, err := s.Top(ctx, DimHost, t0.Add(-12*time.Hour), t0.Add(12*time.Hour), 5)
	if err != nil || len(long) != 3 || long[0].N != 100 {
		t.Fatalf("top hosts by hour: %+v %v", long, err)
	}
	wl, err := s.Top(ctx, DimWorkload, t0, t0.Add(time.Hour), 5)
	if err != nil || len(wl) != 1 || wl[0].Value != "web" || wl[0].N != 300 {
		t.Fatalf("top workloads: %+v %v", wl, err)
	}
}

func testPrune(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	var as []Alert
	for i := range 7000 {
		a := testAlert(i)
		a.Output += " " + string(make([]byte, 300))
		as = append(as, a)
	}
	if err := s.Append(ctx, as); err != nil {
		t.Fatal(err)
	}
	// Age: alerts before t0+6000s go.
	p, err := s.Prune(ctx, t0.Add(6000*time.Second+time.Hour), time.Hour, 0)
	if err != nil || p.Age != 6000 || p.Bytes != 0 {
		t.Fatalf("prune by age: %+v %v", p, err)
	}
	left, _ := s.Search(ctx, Query{Limit: 1000, Fields: map[string]string{"proc.name": "bash1"}})
	if len(left) != 200 {
		t.Fatalf("fields of pruned alerts remain: %d", len(left))
	}
	if got, _ := s.Search(ctx, Query{Text: "bash5999"}); len(got) != 0 {
		t.Fatal("text of a pruned alert remains")
	}
	st, err := s.Stats(ctx)
	if err != nil || st.Alerts != 1000 || !st.Oldest.Equal(t0.Add(6000*time.Second)) {
		t.Fatalf("stats: %+v %v", st, err)
	}
	// Bytes: a fresh store over its budget drops its oldest, not all.
	s = open(t)
	for i := range as {
		as[i].ID = 0
	}
	if err := s.Append(ctx, as); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Stats(ctx)
	p, err = s.Prune(ctx, t0, 100*24*time.Hour, st.Bytes/2)
	if err != nil || p.Bytes == 0 || p.Bytes >= 7000 || p.Age != 0 {
		t.Fatalf("prune by bytes: %+v %v", p, err)
	}
	if got, _ := s.Search(ctx, Query{Limit: 1}); len(got) != 1 || got[0].UUID != "u-6999" {
		t.Fatalf("the newest must stay: %+v", got)
	}
	if after, _ := s.Stats(ctx); after.Bytes > st.Bytes/2 {
		t.Fatalf("still %d bytes used, budget %d", after.Bytes, st.Bytes/2)
	}
}

func testRecorderDropsWhenFull(t *testing.T, open opener) {
	s := open(t)
	m := NewMetrics(promRegistry())
	r := NewRecorder(s, RecorderOptions{Buffer: 1, Metrics: m, MaxAge: time.Hour, MaxBytes: 1 << 30})
	// Not running: the first batch waits, the second is dropped.
	r.Offer([]Alert{testAlert(1)})
	r.Offer([]Alert{testAlert(2), testAlert(3)})
	if got := counterValue(m.Dropped); got != 2 {
		t.Fatalf("dropped %v, want 2", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go r.Run(ctx)
	deadline := time.Now().Add(30 * time.Second)
	for counterValue(m.Written) != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-r.Done()
	if got, _ := s.Search(context.Background(), Query{}); len(got) != 1 || got[0].UUID != "u-1" {
		t.Fatalf("stored: %+v", got)
	}
}
