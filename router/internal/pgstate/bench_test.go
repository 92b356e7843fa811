package pgstate_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/app"
	"github.com/lookout-sec/lookout/router/internal/noise"
	"github.com/lookout-sec/lookout/router/internal/pgstate"
	"github.com/lookout-sec/lookout/router/internal/pgtest"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

// BenchmarkNoiseStage measures the noise stage's decisions — what the
// ingest path waits for — on the embedded store (the queue's bbolt file,
// one replica) and on one real PostgreSQL shared by 1, 2 and 3 replicas
// (each a stage with its own connection pool, as a router process has).
// Each op is one alert routed to three outputs (record, notify: new,
// grouped by rule) from a stream of 500 findings in 10 rules, decided in
// requests of batch alerts (1: a single POST; 32: a sensor batch) by 8
// concurrent clients per replica. It reports alerts/s over all replicas
// and the p50/p99 latency of one request's decisions; `make
// bench-replicas` runs it.
func BenchmarkNoiseStage(b *testing.B) {
	srv := pgtest.Start(b) // for the whole benchmark: a sub-benchmark's cleanup would stop it
	for _, batch := range []int{1, 32} {
		benchStores(b, srv, batch)
	}
}

func benchStores(b *testing.B, srv *pgtest.Server, batch int) {
	quiet := slog.New(slog.DiscardHandler)
	b.Run(fmt.Sprintf("batch=%d/store=embedded", batch), func(b *testing.B) {
		q, err := queue.Open(queue.Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		defer q.Close()
		s, err := noise.New(noise.Config{Policies: policies()}, app.NoiseStore{Store: q}, noise.Options{Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		benchDecide(b, []*noise.Stage{s}, batch)
	})
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("batch=%d/store=postgres/replicas=%d", batch, n), func(b *testing.B) {
			dsn := srv.NewDB(b)
			ctx := context.Background()
			stages := make([]*noise.Stage, n)
			var safe atomic.Int64 // alerts decided in safe mode (a request over the 2s timeout)
			for i := range stages {
				st, err := pgstate.Open(ctx, dsn, pgstate.Options{Logger: quiet})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				opts := noise.Options{Logger: quiet, OnUnavailable: func(_ string, n int) { safe.Add(int64(n)) }}
				if stages[i], err = noise.New(noise.Config{Policies: policies()}, st, opts); err != nil {
					b.Fatal(err)
				}
			}
			benchDecide(b, stages, batch)
			// Safe-mode decisions are cheap: a figure with many is not the store's.
			b.ReportMetric(float64(safe.Load())/3, "safe-mode-alerts")
		})
	}
}

func benchDecide(b *testing.B, stages []*noise.Stage, batch int) {
	const clientsPerReplica, findings, rules = 8, 500, 10
	clients := clientsPerReplica * len(stages)
	ctx := context.Background()
	var (
		next atomic.Int64
		done atomic.Int64
		mu   sync.Mutex
		lat  []time.Duration
		wg   sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			s := stages[c%len(stages)]
			r := rand.New(rand.NewPCG(uint64(c), 18))
			var mine []time.Duration
			for {
				first := next.Add(int64(batch)) - int64(batch) + 1
				if first > int64(b.N) {
					break
				}
				as := make([]*api.Alert, 0, batch)
				for j := range int64(batch) {
					f := r.IntN(findings)
					as = append(as, &api.Alert{
						UUID: fmt.Sprintf("%08x-0000-4000-8000-%012x", c, first+j), Rule: fmt.Sprintf("rule %d", f%rules), Source: "syscall",
						Priority: api.PriorityWarning, Hostname: "node-1", Time: time.Now(),
						OutputFields: map[string]any{"proc.exepath": fmt.Sprintf("/bin/p%d", f), "k8s.ns.name": "dev"},
					})
				}
				t0 := time.Now()
				s.DecideContext(ctx, map[string][]*api.Alert{"es": as, "slack": as, "chat": as}, nil)
				mine = append(mine, time.Since(t0))
				done.Add(int64(batch))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)]) / 1e6 }
	b.ReportMetric(float64(done.Load())/elapsed.Seconds(), "alerts/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}
