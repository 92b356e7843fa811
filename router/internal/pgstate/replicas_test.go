package pgstate_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/match"
	"github.com/lookout-sec/lookout/router/internal/noise"
	"github.com/lookout-sec/lookout/router/internal/pgstate"
	"github.com/lookout-sec/lookout/router/internal/pgtest"
)

// clock is a time every replica of a test shares.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

func policies() []noise.Policy {
	return []noise.Policy{
		{Name: "es", Record: true},
		{Name: "slack", New: true},
		{Name: "chat", GroupBy: []string{"rule"}, GroupWait: time.Second, GroupInterval: time.Hour},
	}
}

// replica is one router's noise stage on the shared store.
func replica(t *testing.T, ctx context.Context, dsn string, clk *clock) *noise.Stage {
	t.Helper()
	st, err := pgstate.Open(ctx, dsn, pgstate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := noise.New(noise.Config{Policies: policies()}, st, noise.Options{Now: clk.now, StateTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if !s.IsShared() {
		t.Fatal("a stage on pgstate is not shared")
	}
	return s
}

// stream is nFindings findings (in nRules rules) of perFinding alerts each, shuffled.
func stream(nFindings, perFinding, nRules int) []*api.Alert {
	var out []*api.Alert
	for f := 0; f < nFindings; f++ {
		for i := 0; i < perFinding; i++ {
			out = append(out, &api.Alert{
				UUID: fmt.Sprintf("%08x-0000-4000-8000-%012x", f, i), Rule: fmt.Sprintf("rule %d", f%nRules), Source: "syscall",
				Priority: api.PriorityWarning, Hostname: "node-1", Time: time.Unix(0, 0),
				OutputFields: map[string]any{"proc.exepath": fmt.Sprintf("/bin/p%d", f), "k8s.ns.name": "dev"},
			})
		}
	}
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// TestReplicasNotifyOnce: three stages on one PostgreSQL, the same stream
// spread over them at random by concurrent clients: the notify-new output
// hears of each finding once, the record output gets every alert, and each
// group's digest is sent once, by one replica.
func TestReplicasNotifyOnce(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.NewDB(t)
	ctx := context.Background()
	clk := &clock{}
	clk.set(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	var reps []*noise.Stage
	for range 3 {
		reps = append(reps, replica(t, ctx, dsn, clk))
	}
	const nFindings, per, nRules = 40, 15, 5
	alerts := stream(nFindings, per, nRules)

	var mu sync.Mutex
	got := map[string][]*api.Alert{}
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for c := range 6 { // six clients, each posting to a random replica
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(c), 7))
			for {
				n := 1 + r.IntN(8)
				end := int(next.Add(int64(n)))
				start := end - n
				if start >= len(alerts) {
					return
				}
				batch := alerts[start:min(end, len(alerts))]
				routed := map[string][]*api.Alert{"es": batch, "slack": batch, "chat": batch}
				out, ch, _ := reps[r.IntN(len(reps))].DecideContext(ctx, routed, nil)
				if !ch.Empty() {
					t.Error("shared decisions left changes to commit locally")
				}
				mu.Lock()
				for k, v := range out {
					got[k] = append(got[k], v...)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, r := range reps {
		if !r.Up() {
			t.Fatal("a replica went to safe mode")
		}
	}
	if len(got["es"]) != len(alerts) {
		t.Errorf("record output got %d alerts, want %d", len(got["es"]), len(alerts))
	}
	byFinding := map[string]int{}
	for _, a := range got["slack"] {
		byFinding[a.OutputFields["proc.exepath"].(string)]++
	}
	if len(byFinding) != nFindings || len(got["slack"]) != nFindings {
		t.Errorf("notify-new output got %d alerts for %d findings, want %d for %d: %v", len(got["slack"]), len(byFinding), nFindings, nFindings, byFinding)
	}
	if len(got["chat"]) != 0 {
		t.Errorf("grouped output got %d alerts at ingest, want 0", len(got["chat"]))
	}

	// Past the group wait, every replica flushes at once, several times.
	clk.add(2 * time.Second)
	digests := map[string][]*api.Alert{}
	for range 3 {
		var fw sync.WaitGroup
		for _, r := range reps {
			fw.Go(func() {
				err := r.FlushShared(ctx, func(out map[string][]*api.Alert) error {
					mu.Lock()
					defer mu.Unlock()
					for _, d := range out["chat"] {
						digests[d.Lookout.Digest.Group] = append(digests[d.Lookout.Digest.Group], d)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		fw.Wait()
	}
	total := 0
	for g, ds := range digests {
		if len(ds) != 1 {
			t.Errorf("group %s: %d digests, want 1", g, len(ds))
		}
		total += ds[0].Lookout.Digest.Count
	}
	if len(digests) != nRules || total != len(alerts) {
		t.Errorf("%d digests holding %d alerts, want %d holding %d", len(digests), total, nRules, len(alerts))
	}

	// The state is one: every replica's admin view counts the same.
	for i, r := range reps {
		fs := r.Findings(noise.FindingQuery{})
		var n int64
		for _, f := range fs {
			n += f.Count
		}
		if len(fs) != nFindings || n != int64(len(alerts)) {
			t.Errorf("replica %d sees %d findings counting %d alerts, want %d and %d", i, len(fs), n, nFindings, len(alerts))
		}
	}
	if c := reps[0].Counts(); c[noise.StatusNew] != nFindings {
		t.Errorf("Counts() = %v, want %d new", c, nFindings)
	}
}

// TestSilenceAndRepeatShared: a silence made on one replica holds alerts
// back on another at once, and repeat_interval is judged from the store.
func TestSilenceAndRepeatShared(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.NewDB(t)
	ctx := context.Background()
	clk := &clock{}
	clk.set(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	a, b := replica(t, ctx, dsn, clk), replica(t, ctx, dsn, clk)
	alert := func(uuid string) *api.Alert {
		return &api.Alert{UUID: "00000000-0000-4000-8000-00000000000" + uuid, Rule: "Terminal shell", Source: "syscall", Priority: api.PriorityWarning,
			OutputFields: map[string]any{"proc.exepath": "/bin/bash", "k8s.ns.name": "dev"}}
	}
	notified := func(s *noise.Stage, uuid string) bool {
		out, _, _ := s.DecideContext(ctx, map[string][]*api.Alert{"slack": {alert(uuid)}}, nil)
		return len(out["slack"]) == 1
	}
	if !notified(a, "1") {
		t.Fatal("first alert of a finding did not notify")
	}
	if notified(b, "2") {
		t.Fatal("second alert notified on the other replica")
	}
	if !notified(b, "1") {
		t.Fatal("a retried first alert (same uuid) must notify again")
	}
	x, err := a.AddSilence(noise.NewSilence{Matchers: mustMatch(t, "k8s.ns.name = dev"), CreatedBy: "t", Comment: "c", EndsAt: clk.now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	out, _, _ := b.DecideContext(ctx, map[string][]*api.Alert{"slack": {alert("3")}, "es": {alert("3")}}, nil)
	if len(out["slack"]) != 0 || out["es"][0].Lookout == nil || len(out["es"][0].Lookout.Silences) != 1 {
		t.Fatalf("silence made on replica a did not hold back on b: %+v", out)
	}
	if _, err := b.ExpireSilence(x.ID); err != nil {
		t.Fatal(err)
	}
	ss := a.Silences("expired")
	if len(ss) != 1 || ss[0].HeldBack != 1 {
		t.Fatalf("replica a's expired silences = %+v, want the one, held back 1", ss)
	}
	if notified(a, "4") {
		t.Fatal("without repeat_interval the finding must not notify again")
	}
}

// TestDatabaseDownSafeMode stops the real server: ingest goes on in safe
// mode (every alert notifies, marked state unavailable), and the stage
// comes back by itself when the server does.
func TestDatabaseDownSafeMode(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.NewDB(t)
	ctx := context.Background()
	clk := &clock{}
	clk.set(time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
	st, err := pgstate.Open(ctx, dsn, pgstate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ups []bool
	var unavailable atomic.Int64
	s, err := noise.New(noise.Config{Policies: policies()}, st, noise.Options{Now: clk.now, StateTimeout: 10 * time.Second,
		OnStateUp: func(up bool) { ups = append(ups, up) }, OnUnavailable: func(_ string, n int) { unavailable.Add(int64(n)) }})
	if err != nil {
		t.Fatal(err)
	}
	decide := func(uuid string) map[string][]*api.Alert {
		a := &api.Alert{UUID: "00000000-0000-4000-8000-00000000000" + uuid, Rule: "r", Source: "syscall", Priority: api.PriorityWarning, OutputFields: map[string]any{"proc.exepath": "/bin/x"}}
		out, _, _ := s.DecideContext(ctx, map[string][]*api.Alert{"slack": {a}, "es": {a}, "chat": {a}}, nil)
		return out
	}
	decide("0") // the finding is known, notified
	if out := decide("1"); len(out["slack"]) != 0 {
		t.Fatal("repeat notified with the store up")
	}
	srv.Stop(t)
	out := decide("2")
	if !(len(out["slack"]) == 1 && len(out["chat"]) == 1 && len(out["es"]) == 1) {
		t.Fatalf("safe mode must notify every output: %v", out)
	}
	if st := out["slack"][0].Lookout; st == nil || st.State != api.StateUnavailable {
		t.Fatalf("safe-mode alert not marked state unavailable: %+v", st)
	}
	if s.Up() || unavailable.Load() != 3 || len(ups) != 1 || ups[0] {
		t.Fatalf("up=%v unavailable=%d transitions=%v", s.Up(), unavailable.Load(), ups)
	}
	srv.Start(t)
	deadline := time.Now().Add(2 * time.Minute)
	for !s.Up() || len(ups) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the stage did not come back after the database did")
		}
		time.Sleep(200 * time.Millisecond)
		decide("3")
	}
	if out := decide("4"); len(out["slack"]) != 0 || out["es"][0].Lookout.State != "" {
		t.Fatalf("after recovery the finding's state must be used again: %+v", out["slack"])
	}
}

// TestRefusesNewerSchema: a database migrated by a newer router is refused.
func TestRefusesNewerSchema(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.NewDB(t)
	ctx := context.Background()
	st, err := pgstate.Open(ctx, dsn, pgstate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRow(`SELECT max(version) FROM lookout_schema`).Scan(&v); err != nil || v != pgstate.SchemaVersion() {
		t.Fatalf("schema version %d (%v), want %d", v, err, pgstate.SchemaVersion())
	}
	if _, err := db.Exec(`INSERT INTO lookout_schema (version, name) VALUES ($1, 'future')`, v+1); err != nil {
		t.Fatal(err)
	}
	_, err = pgstate.Open(ctx, dsn, pgstate.Options{})
	if err == nil || !strings.Contains(err.Error(), "newer than this router knows") {
		t.Fatalf("Open on a newer schema: %v", err)
	}
}

func mustMatch(t *testing.T, ss ...string) match.All {
	t.Helper()
	m, err := match.ParseAll(ss)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
