package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/outputs/elasticsearch"
	"github.com/lookout-sec/lookout/outputs/elasticsearch/zinctest"
	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/history"
)

// base is the first alert's time; the alerts span three days (three daily
// indices).
var base = time.Date(2026, 11, 20, 10, 0, 0, 123456789, time.UTC)

// testAlerts are 40 alerts over three days with every criterion varied,
// two pairs sharing a millisecond (paging must keep them apart), and the
// router's noise annotation on some.
func testAlerts() []*api.Alert {
	var out []*api.Alert
	rules := []string{"Terminal shell in container", "Read sensitive file untrusted", "Outbound connection"}
	for i := range 40 {
		a := &api.Alert{
			UUID:     fmt.Sprintf("u%02d", i),
			Time:     base.Add(time.Duration(i) * 97 * time.Minute),
			Rule:     rules[i%3],
			Priority: []api.Priority{api.PriorityCritical, api.PriorityError, api.PriorityWarning, api.PriorityNotice}[i%4],
			Source:   []string{"syscall", "k8s_audit"}[i%5/4],
			Hostname: fmt.Sprintf("node-%d", i%4),
			Tags:     [][]string{{"container", "shell"}, {"filesystem"}, {"network"}}[i%3],
			OutputFields: map[string]any{
				"proc.name":         []string{"bash", "cat", "curl", "sh"}[i%4],
				"k8s.ns.name":       []string{"default", "payments"}[i%2],
				"proc.pid":          json.Number(strconv.Itoa(1000 + i)),
				"k8s.workload.name": []string{"api", "web", "db"}[i%7%3],
			},
		}
		a.Output = fmt.Sprintf("%s by %s (pid=%d sh%d team-%d)", a.Rule, a.OutputFields["proc.name"], 1000+i, i, i%8)
		if i%5 == 0 {
			a.Lookout = &api.Annotation{
				Finding:  &api.FindingRef{ID: fmt.Sprintf("f%d", i%3), Status: "new", FirstSeen: base, Count: 1},
				Notified: []string{"webhook"}, Held: map[string]string{"slack": "repeat"}, Silences: []string{"s-1"},
			}
		}
		out = append(out, a)
	}
	// Two pairs in one millisecond: u10 with u11, u20 with u21.
	out[11].Time = out[10].Time.Add(300 * time.Microsecond)
	out[21].Time = out[20].Time
	return out
}

// TestZinc indexes the alerts through the real Elasticsearch output into
// ZincSearch, the same alerts into the SQLite history, and checks that
// every criterion of the UI's search finds the same alerts in the same
// order in both, page by page.
func TestZinc(t *testing.T) {
	url := zinctest.Start(t)
	ctx := context.Background()
	cfg := elasticsearch.Config{
		Addresses: []string{url}, Username: zinctest.User, Password: zinctest.Password,
		Index: "falco", IndexSuffix: elasticsearch.SuffixDaily, IndexTemplate: true,
		// Zinc ignores the template's dynamic template: string output
		// fields are keyword only when listed.
		KeywordFields: []string{"proc.name", "k8s.ns.name", "k8s.workload.name"},
	}
	out, err := elasticsearch.New(cfg, elasticsearch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	alerts := testAlerts()
	if err := out.Send(ctx, alerts); err != nil {
		t.Fatalf("index through the output: %v", err)
	}
	s, err := New("forensics", cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	local, err := history.OpenSQLite(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	var rows []history.Alert
	for _, a := range alerts {
		rows = append(rows, history.Alert{
			UUID: a.UUID, Time: a.Time, Rule: a.Rule, Priority: a.Priority, Source: a.Source,
			Hostname: a.Hostname, Output: a.Output, Tags: a.Tags, Fields: a.OutputFields,
		})
	}
	if err := local.Append(ctx, rows); err != nil {
		t.Fatal(err)
	}
	all := history.Query{Since: base.Add(-time.Hour), Until: base.Add(4 * 24 * time.Hour), Limit: 1000}
	waitVisible(t, s, all, len(alerts))

	crit, errp := api.PriorityCritical, api.PriorityError
	window := func(q history.Query) history.Query {
		if q.Since.IsZero() {
			q.Since, q.Until = all.Since, all.Until
		}
		return q
	}
	cases := []struct {
		name string
		q    history.Query
		n    int // matches expected (also checked against the local store)
	}{
		{"everything", history.Query{}, 40},
		{"rule", history.Query{Rule: "Outbound connection"}, 13},
		{"priority at least critical", history.Query{MinPriority: &crit}, 10},
		{"priority at least error", history.Query{MinPriority: &errp}, 20},
		{"source", history.Query{Source: "k8s_audit"}, 8},
		{"tag", history.Query{Tag: "shell"}, 14},
		{"keyword output field", history.Query{Fields: map[string]string{"proc.name": "curl"}}, 10},
		{"two output fields", history.Query{Fields: map[string]string{"proc.name": "bash", "k8s.ns.name": "default"}}, 10},
		{"numeric output field", history.Query{Fields: map[string]string{"proc.pid": "1017"}}, 1},
		{"hostname as a field", history.Query{Fields: map[string]string{"hostname": "node-3"}}, 10},
		{"free text word", history.Query{Text: "sh17"}, 1},
		{"free text with punctuation is a phrase", history.Query{Text: "team-3"}, 5},
		{"free text two words", history.Query{Text: "curl team-2"}, 5},
		{"free text none", history.Query{Text: "nowhere"}, 0},
		{"time range", history.Query{Since: base.Add(24 * time.Hour), Until: base.Add(48 * time.Hour)}, 15},
		{"everything combined", history.Query{Rule: "Terminal shell in container", MinPriority: &errp, Tag: "container",
			Fields: map[string]string{"k8s.ns.name": "default"}, Text: "bash"}, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := window(c.q)
			want := uuids(t, local, q, 1000)
			if len(want) != c.n {
				t.Fatalf("the local store finds %d, the case expects %d: fix the case", len(want), c.n)
			}
			if got := uuids(t, s, q, 1000); !slices.Equal(got, want) {
				t.Errorf("elasticsearch: %v\nwant (local history): %v", got, want)
			}
			for _, limit := range []int{1, 3, 7} {
				if got := uuids(t, s, q, limit); !slices.Equal(got, want) {
					t.Errorf("pages of %d: %v\nwant %v", limit, got, want)
				}
			}
		})
	}

	t.Run("overview counts", func(t *testing.T) {
		since := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
		until := since.Add(4 * 24 * time.Hour)
		for _, dim := range []string{history.DimPriority, history.DimRule, history.DimHost, history.DimNamespace, history.DimWorkload} {
			want, err := local.Top(ctx, dim, since, until, 10)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Top(ctx, dim, since, until, 10)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || len(got) == 0 {
				t.Errorf("top %s: %v\nwant (local history): %v", dim, got, want)
			}
		}
		for _, c := range []struct {
			dim  string
			n    int
			step time.Duration
		}{{history.DimPriority, 0, time.Hour}, {history.DimRule, 2, 3 * time.Hour}, {history.DimHost, 5, 24 * time.Hour}} {
			span := history.Span{Since: since, Until: until, Step: c.step}
			want, err := local.Chart(ctx, c.dim, span, c.n)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Chart(ctx, c.dim, span, c.n)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || len(got) == 0 {
				t.Errorf("chart %s by %s:\n%v\nwant (local history):\n%v", c.dim, c.step, got, want)
			}
		}
	})
	t.Run("get maps the document", func(t *testing.T) {
		a, err := s.Get(ctx, "u10")
		if err != nil {
			t.Fatal(err)
		}
		src := alerts[10]
		if a.Rule != src.Rule || a.Priority != src.Priority || !a.Time.Equal(src.Time) || a.Output != src.Output ||
			a.Hostname != src.Hostname || a.Source != src.Source || !slices.Equal(a.Tags, src.Tags) {
			t.Errorf("got %+v\nfrom %+v", a, src)
		}
		if v, _ := a.Field("proc.pid"); v != "1010" {
			t.Errorf("proc.pid = %q, want 1010 (a number kept exactly)", v)
		}
		if a.Finding != "f1" || a.FindingStatus != "new" || a.Outputs["webhook"] != Delivered ||
			a.Outputs["slack"] != "repeat" || len(a.Outputs) != 2 || !slices.Equal(a.Silences, []string{"s-1"}) {
			t.Errorf("annotation: finding %q %q, outputs %v, silences %v", a.Finding, a.FindingStatus, a.Outputs, a.Silences)
		}
		b, err := s.Get(ctx, "u11")
		if err != nil {
			t.Fatal(err)
		}
		if b.Outputs != nil || b.Finding != "" {
			t.Errorf("no annotation in the document, yet outputs %v finding %q", b.Outputs, b.Finding)
		}
	})
	t.Run("get unknown", func(t *testing.T) {
		if _, err := s.Get(ctx, "nope"); !errors.Is(err, history.ErrNotFound) {
			t.Errorf("want ErrNotFound, got %v", err)
		}
	})
	t.Run("an index pattern with no index yet", func(t *testing.T) {
		c := cfg
		c.Index, c.IndexSuffix = "empty", elasticsearch.SuffixNone
		e, err := New("other", c, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		if got, err := e.Search(ctx, all); err != nil || len(got) != 0 {
			t.Errorf("got %d alerts, %v; want none and no error", len(got), err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		c := cfg
		c.Password = "wrong"
		e, _ := New("forensics", c, nil)
		defer e.Close()
		_, err := e.Search(ctx, all)
		if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), zinctest.Password) {
			t.Errorf("want a 401 without the password, got %v", err)
		}
	})
}

type searcher interface {
	Search(context.Context, history.Query) ([]history.Alert, error)
}

// uuids pages through q, limit at a time, and returns every uuid in order.
func uuids(t *testing.T, s searcher, q history.Query, limit int) []string {
	t.Helper()
	q.Limit = limit
	var out []string
	for range 100 {
		page, err := s.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page {
			out = append(out, a.UUID)
		}
		if len(page) < limit {
			return out
		}
		q.Before = history.CursorOf(&page[len(page)-1])
	}
	t.Fatalf("paging did not end: %v", out)
	return nil
}

// waitVisible polls until the server returns n alerts (Zinc indexes
// asynchronously), at most 30 s.
func waitVisible(t *testing.T, s *Search, q history.Query, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := s.Search(context.Background(), q)
		if err == nil && len(got) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s the search finds %d alerts (%v), want %d", len(got), err, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
