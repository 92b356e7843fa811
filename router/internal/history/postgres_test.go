package history

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/internal/pgstate"
	"github.com/lookout-sec/lookout/router/internal/pgtest"
)

// pgOpen opens a store on the database at dsn, migrating it; another
// call with the same dsn is another replica on it.
func pgOpen(t testing.TB, dsn string) *SQL {
	t.Helper()
	ctx := context.Background()
	db, err := pgstate.OpenDB(ctx, dsn, pgstate.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenPostgres(ctx, db)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestPostgres runs the store tests on a real PostgreSQL (pgtest), then
// what only a shared database has: several stores (replicas) on it.
func TestPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	open := func(t *testing.T) *SQL { return pgOpen(t, srv.NewDB(t)) }
	for _, tc := range storeTests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
	t.Run("TwoReplicas", func(t *testing.T) { testTwoReplicas(t, srv.NewDB(t)) })
	t.Run("SizeEstimate", func(t *testing.T) { testSizeEstimate(t, srv.NewDB(t)) })
	t.Run("TextWords", func(t *testing.T) { testTextWords(t, open(t)) })
	// Last: it stops the server.
	t.Run("DatabaseDown", func(t *testing.T) { testDatabaseDown(t, srv, open(t)) })
}

// testDatabaseDown: with the server stopped the recorder drops and counts
// what it cannot write (ingest never waits for it); when the server is
// back it writes again by itself.
func testDatabaseDown(t *testing.T, srv *pgtest.Server, s *SQL) {
	m := NewMetrics(promRegistry())
	r := NewRecorder(s, RecorderOptions{Metrics: m, MaxAge: time.Hour, MaxBytes: 1 << 30})
	ctx, cancel := context.WithCancel(context.Background())
	go r.Run(ctx)
	defer func() { cancel(); <-r.Done() }()
	wait := func(what string, c func() bool) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); !c(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: written %v, dropped %v", what, counterValue(m.Written), counterValue(m.Dropped))
			}
		}
	}
	r.Offer([]Alert{testAlert(1)})
	wait("written while up", func() bool { return counterValue(m.Written) == 1 })
	srv.Stop(t)
	r.Offer([]Alert{testAlert(2), testAlert(3)})
	wait("dropped while down", func() bool { return counterValue(m.Dropped) == 2 })
	srv.Start(t)
	r.Offer([]Alert{testAlert(4)})
	wait("written when back", func() bool { return counterValue(m.Written) == 2 })
	got, err := s.Search(context.Background(), Query{})
	if err != nil || len(got) != 2 || got[0].UUID != "u-4" || got[1].UUID != "u-1" {
		t.Fatalf("stored: %+v %v", got, err)
	}
}

// testTwoReplicas: two stores on one database, as two router replicas
// have, write at once; each searches, charts and counts the other's
// alerts too, and both pruning at once drop each old alert once.
func testTwoReplicas(t *testing.T, dsn string) {
	ctx := context.Background()
	a, b := pgOpen(t, dsn), pgOpen(t, dsn)
	const per = 3000 // alerts per replica, in batches of 100
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for r, s := range []*SQL{a, b} {
		wg.Go(func() {
			for start := 0; start < per; start += 100 {
				var batch []Alert
				for i := start; i < start+100; i++ {
					al := testAlert(2*i + r) // replica 0 the even alerts, 1 the odd
					al.UUID = fmt.Sprintf("r%d-%d", r, i)
					batch = append(batch, al)
				}
				if err := s.Append(ctx, batch); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for name, s := range map[string]*SQL{"a": a, "b": b} {
		all, err := s.Search(ctx, Query{Limit: 1000})
		if err != nil || len(all) != 1000 {
			t.Fatalf("replica %s: %d alerts, %v", name, len(all), err)
		}
		// Newest first over both replicas' alerts: 5999, 5998, …
		if all[0].UUID != "r1-2999" || all[1].UUID != "r0-2999" {
			t.Fatalf("replica %s: newest %s, %s", name, all[0].UUID, all[1].UUID)
		}
		for _, u := range []string{"r0-17", "r1-17"} {
			if got, err := s.Get(ctx, u); err != nil || got.UUID != u {
				t.Fatalf("replica %s: get %s: %+v %v", name, u, got, err)
			}
		}
		if got, _ := s.Search(ctx, Query{Text: "bash4243"}); len(got) != 1 || got[0].UUID != "r1-2121" {
			t.Fatalf("replica %s: text search: %+v", name, got)
		}
		if got, _ := s.Search(ctx, Query{Fields: map[string]string{"evt.num": "4242"}}); len(got) != 1 || got[0].UUID != "r0-2121" {
			t.Fatalf("replica %s: field search: %+v", name, got)
		}
		top, err := s.Top(ctx, DimRule, t0, t0.Add(3*time.Hour), 5)
		if err != nil || len(top) != 2 || top[0].N != per || top[1].N != per {
			t.Fatalf("replica %s: top rules %+v %v", name, top, err)
		}
		ser, err := s.Chart(ctx, DimPriority, Span{Since: t0, Until: t0.Add(2 * time.Hour), Step: 10 * time.Minute}, 0)
		var sum int64
		for _, x := range ser {
			sum += x.Total
		}
		if err != nil || sum != 2*per {
			t.Fatalf("replica %s: chart counts %d alerts, want %d (%v)", name, sum, 2*per, err)
		}
	}
	// Both prune at once: alerts before t0+4000s go (4000 of 6000), once.
	var (
		mu  sync.Mutex
		sum Pruned
	)
	for _, s := range []*SQL{a, b, a, b} {
		wg.Go(func() {
			p, err := s.Prune(ctx, t0.Add(4000*time.Second+time.Hour), time.Hour, 0)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			sum.Age += p.Age
			mu.Unlock()
		})
	}
	wg.Wait()
	// A replica that found the lock taken pruned nothing; a second pass
	// finishes what it left.
	p, err := b.Prune(ctx, t0.Add(4000*time.Second+time.Hour), time.Hour, 0)
	if err != nil {
		t.Fatal(err)
	}
	sum.Age += p.Age
	if sum.Age != 4000 {
		t.Fatalf("pruned %d alerts in all, want 4000", sum.Age)
	}
	st, err := a.Stats(ctx)
	if err != nil || st.Alerts != 2000 {
		t.Fatalf("stats %+v %v", st, err)
	}
	var sizes int64
	if err := a.db.QueryRowContext(ctx, `SELECT SUM(size) FROM alerts`).Scan(&sizes); err != nil || sizes != st.Bytes {
		t.Fatalf("usage %d bytes, the alerts' sizes sum to %d (%v)", st.Bytes, sizes, err)
	}
}

// testSizeEstimate: the usage retention goes by stays near what the
// tables and indexes take on disk right after writing.
func testSizeEstimate(t *testing.T, dsn string) {
	ctx := context.Background()
	s := pgOpen(t, dsn)
	var as []Alert
	for i := range 7000 {
		as = append(as, testAlert(i))
	}
	if err := s.Append(ctx, as); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var disk int64
	if err := s.db.QueryRowContext(ctx, `SELECT CAST(SUM(pg_total_relation_size(c)) AS BIGINT)
		FROM unnest(ARRAY['alerts', 'alert_fields']::regclass[]) AS c`).Scan(&disk); err != nil {
		t.Fatal(err)
	}
	t.Logf("7000 alerts: estimated %d bytes, tables and indexes %d bytes (%.2f)", st.Bytes, disk, float64(st.Bytes)/float64(disk))
	if st.Bytes < disk/2 || st.Bytes > disk*2 {
		t.Fatalf("estimated %d bytes, the tables take %d", st.Bytes, disk)
	}
}

// testTextWords: free text matches words cut as FTS5 cuts them (runs of
// letters and digits), so a path or key=value part is found by its words.
func testTextWords(t *testing.T, s *SQL) {
	ctx := context.Background()
	a := testAlert(1)
	a.Output = "File below /etc opened for writing (user=root file=/etc/shadow-2 ns=team-7)"
	if err := s.Append(ctx, []Alert{a}); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{
		"shadow": 1, "/etc/shadow-2": 1, "etc": 1, "team-7": 1, "7-team": 0, "TEAM": 1,
		"writing user=root": 1, "writ": 0, "'; DROP TABLE alerts; --": 0, "!!! ???": 0, "a:*": 0,
	} {
		got, err := s.Search(ctx, Query{Text: q})
		if err != nil || len(got) != want {
			t.Errorf("text %q: %d alerts, want %d (%v)", q, len(got), want, err)
		}
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM alerts`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("alerts: %d %v", n, err)
	}
}
