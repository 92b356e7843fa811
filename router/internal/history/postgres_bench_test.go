package history

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/pgtest"
)

// pgBenchAlerts is the size of the PostgreSQL benchmark's history (the
// SQLite one holds 1 M; filling PostgreSQL through one writer is slower).
const pgBenchAlerts = 100_000

// BenchmarkPostgres is the search page's and the overview's queries on a
// real PostgreSQL (pgtest: a temp cluster on a unix socket, fsync off)
// holding pgBenchAlerts alerts over 24 h, the same alerts as the SQLite
// benchmarks (make bench-ui-postgres; figures in docs/ui.md).
func BenchmarkPostgres(b *testing.B) {
	srv := pgtest.Start(b)
	s := pgOpen(b, srv.NewDB(b))
	ctx := context.Background()
	start := time.Now()
	batch := make([]Alert, 0, maxBatch)
	for i := range pgBenchAlerts {
		batch = append(batch, benchAlertOf(i, pgBenchAlerts))
		if len(batch) == maxBatch || i == pgBenchAlerts-1 {
			if err := s.Append(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	took := time.Since(start)
	// What autovacuum would have done by now: planner statistics.
	if _, err := s.db.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
		b.Fatal(err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var disk int64
	if err := s.db.QueryRowContext(ctx, `SELECT CAST(SUM(pg_total_relation_size(c)) AS BIGINT)
		FROM unnest(ARRAY['alerts', 'alert_fields', 'alert_counts', 'alert_counts_hour']::regclass[]) AS c`).Scan(&disk); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "history bench (postgres): %d alerts written in %s (%.0f alerts/s), estimated %d MiB, tables and indexes %d MiB\n",
		st.Alerts, took.Round(time.Second), float64(pgBenchAlerts)/took.Seconds(), st.Bytes>>20, disk>>20)
	p := api.PriorityCritical
	for _, q := range []struct {
		name string
		q    Query
	}{
		{"SearchFirstPage", Query{}},
		{"SearchRule", Query{Rule: "Rule number 7"}},
		{"SearchPriority", Query{MinPriority: &p}},
		{"SearchField", Query{Fields: map[string]string{"proc.name": "sh17", "k8s.ns.name": "team-7"}}},
		{"SearchRareField", Query{Fields: map[string]string{"proc.pid": "12345"}}},
		{"SearchText", Query{Text: "sh17 team-7"}},
		{"SearchRareText", Query{Text: "pid=12345"}},
		{"SearchTag", Query{Tag: "shell"}},
	} {
		b.Run(q.name, func(b *testing.B) { benchSearchIn(b, s, q.q) })
	}
	b.Run("Overview24h", func(b *testing.B) { benchOverview(b, s) })
}
