package history

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// The benchmarks share one store of benchAlerts alerts spread over the
// 24 h before benchNow (built once per run, ~minutes): what the overview
// and the search page ask of it (make bench-ui; figures in docs/ui.md).
const benchAlerts = 1_000_000

var (
	benchNow   = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	benchOnce  sync.Once
	benchStore *SQL
	benchErr   error
	benchDir   string
)

func benchAlert(i int) Alert { return benchAlertOf(i, benchAlerts) }

// benchAlertOf is alert i of total spread over the 24 h before benchNow.
func benchAlertOf(i, total int) Alert {
	t := benchNow.Add(-24 * time.Hour).Add(time.Duration(i) * (24 * time.Hour / time.Duration(total)))
	ns := fmt.Sprintf("team-%d", i%10)
	return Alert{
		UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Time: t,
		Rule: fmt.Sprintf("Rule number %d", i%20), Priority: api.Priority(i % 8), Source: "syscall",
		Hostname: fmt.Sprintf("node-%d", i%50),
		Output:   fmt.Sprintf("Shell spawned in a container (user=root proc=sh%d ns=%s pid=%d)", i%50, ns, i),
		Tags:     []string{"container", "shell"},
		Fields: map[string]any{
			"proc.name": fmt.Sprintf("sh%d", i%50), "k8s.ns.name": ns, "k8s.pod.name": fmt.Sprintf("web%d-7d9f8b6c4-xk2lp", i%30),
			"proc.pid": float64(i), "user.name": "root",
		},
		Finding: fmt.Sprintf("f%d", i%1000), FindingStatus: "new", Outputs: map[string]string{"slack": "delivered", "es": "delivered"},
	}
}

func benchHistory(b *testing.B) *SQL {
	b.Helper()
	benchOnce.Do(func() {
		// LOOKOUT_HISTORY_BENCH_DB keeps the filled store between runs.
		path := os.Getenv("LOOKOUT_HISTORY_BENCH_DB")
		if path == "" {
			if benchDir, benchErr = os.MkdirTemp("", "lookout-history-bench"); benchErr != nil {
				return
			}
			path = filepath.Join(benchDir, "h.db")
		}
		ctx := context.Background()
		benchStore, benchErr = OpenSQLite(ctx, path)
		if benchErr != nil {
			return
		}
		if st, _ := benchStore.Stats(ctx); st.Alerts == benchAlerts {
			return
		}
		start := time.Now()
		batch := make([]Alert, 0, maxBatch)
		for i := range benchAlerts {
			batch = append(batch, benchAlert(i))
			if len(batch) == maxBatch || i == benchAlerts-1 {
				if benchErr = benchStore.Append(ctx, batch); benchErr != nil {
					return
				}
				batch = batch[:0]
			}
		}
		st, _ := benchStore.Stats(ctx)
		fmt.Fprintf(os.Stderr, "history bench: %d alerts written in %s (%.0f alerts/s), %d MiB used\n",
			st.Alerts, time.Since(start).Round(time.Second), float64(benchAlerts)/time.Since(start).Seconds(), st.Bytes>>20)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchStore
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchStore != nil {
		benchStore.Close()
		if benchDir != "" {
			os.RemoveAll(benchDir)
		}
	}
	os.Exit(code)
}

func benchSearch(b *testing.B, q Query) { benchSearchIn(b, benchHistory(b), q) }

func benchSearchIn(b *testing.B, s *SQL, q Query) {
	ctx := context.Background()
	q.Since, q.Until = benchNow.Add(-24*time.Hour), benchNow
	b.ResetTimer()
	var n int
	for b.Loop() {
		as, err := s.Search(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		n = len(as)
	}
	b.ReportMetric(float64(n), "alerts/page")
}

func BenchmarkSearchFirstPage(b *testing.B) { benchSearch(b, Query{}) }
func BenchmarkSearchRule(b *testing.B)      { benchSearch(b, Query{Rule: "Rule number 7"}) }
func BenchmarkSearchPriority(b *testing.B) {
	p := api.PriorityCritical
	benchSearch(b, Query{MinPriority: &p})
}
func BenchmarkSearchField(b *testing.B) {
	benchSearch(b, Query{Fields: map[string]string{"proc.name": "sh17", "k8s.ns.name": "team-7"}})
}
func BenchmarkSearchRareField(b *testing.B) {
	benchSearch(b, Query{Fields: map[string]string{"proc.pid": "123457"}})
}
func BenchmarkSearchText(b *testing.B) { benchSearch(b, Query{Text: "sh17 team-7"}) }
func BenchmarkSearchTag(b *testing.B)  { benchSearch(b, Query{Tag: "shell"}) }

// BenchmarkOverview24h is the overview page's queries: the two charts and
// the four top lists over 24 h.
func BenchmarkOverview24h(b *testing.B) { benchOverview(b, benchHistory(b)) }

func benchOverview(b *testing.B, s *SQL) {
	ctx := context.Background()
	span := Span{Since: benchNow.Add(-24 * time.Hour), Until: benchNow, Step: 15 * time.Minute}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Chart(ctx, DimPriority, span, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Chart(ctx, DimRule, span, 5); err != nil {
			b.Fatal(err)
		}
		for _, d := range []string{DimRule, DimHost, DimNamespace, DimWorkload} {
			if _, err := s.Top(ctx, d, span.Since, span.Until, 10); err != nil {
				b.Fatal(err)
			}
		}
	}
}
