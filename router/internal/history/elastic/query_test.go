package elastic

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/outputs/elasticsearch"
	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/history"
)

// TestFieldNames: which fields the criteria use for each mapping the
// output leads to. Only Lookout's template (the first) is checked against
// a server (TestZinc): ZincSearch has no .keyword multi-fields.
func TestFieldNames(t *testing.T) {
	yes := true
	warn := api.PriorityWarning
	q := history.Query{Rule: "R", MinPriority: &warn, Tag: "shell", Fields: map[string]string{"proc.name": "sh", "hostname": "h"}, Text: "a-b"}
	cases := []struct {
		name string
		cfg  elasticsearch.Config
		want []string
	}{
		{"lookout template", elasticsearch.Config{IndexTemplate: true},
			[]string{`"rule":"R"`, `"priority":["Emergency","Alert","Critical","Error","Warning"]`, `"tags":"shell"`,
				`{"term":{"output_fields.proc.name":"sh"}}`, `"hostname":"h"`, `"match_phrase":{"output":"a-b"}`}},
		{"dynamic mapping (no template)", elasticsearch.Config{},
			[]string{`"rule.keyword":"R"`, `"priority.keyword":[`, `"tags.keyword":"shell"`, `"hostname.keyword":"h"`,
				`"output_fields.proc.name.keyword":"sh"`, `"match_phrase":{"output":"a-b"}`}},
		{"falcosidekick", elasticsearch.Config{IndexTemplate: true, Compat: elasticsearch.CompatFalcosidekick},
			[]string{`"rule.keyword":"R"`, `"output_fields.proc_name.keyword":"sh"`, `{"term":{"output_fields.proc_name":"sh"}}`}},
		{"flattened fields", elasticsearch.Config{IndexTemplate: true, FlattenFields: &yes},
			[]string{`{"term":{"output_fields.proc_name":"sh"}}`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := New("es", c.cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(s.filters(q))
			for _, w := range c.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("%s\nlacks %s", b, w)
				}
			}
		})
	}
	if _, err := New("es", elasticsearch.Config{Document: elasticsearch.DocumentECS}, nil); err == nil || !strings.Contains(err.Error(), "ecs") {
		t.Errorf("document: ecs must be refused, got %v", err)
	}
}

// TestPageAcrossAMillisecond: a server that sorts by nanoseconds (as
// ZincSearch does) answers in an order other than (millisecond, uuid)
// inside one millisecond; page must ask for more when its answer ends
// inside the page's last millisecond, and else cut it right.
func TestPageAcrossAMillisecond(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	mk := func(uuid string, ns int) history.Alert {
		return history.Alert{UUID: uuid, Time: t0.Add(time.Duration(ns))}
	}
	// Server order (newest nanosecond first): c, a, b in one millisecond, then d.
	hits := func() []history.Alert {
		return []history.Alert{mk("a", 900_000), mk("c", 500_000), mk("b", 100_000), mk("d", -5_000_000)}
	}
	got, complete := page(hits()[:2], history.Cursor{}, 1, 2)
	if complete {
		t.Errorf("an answer of 2 cut inside the first millisecond is not complete: %v", got)
	}
	got, complete = page(hits(), history.Cursor{}, 2, 5)
	if !complete || ids(got) != "c b" {
		t.Errorf("first page: %q complete %v, want \"c b\" complete", ids(got), complete)
	}
	got, complete = page(hits(), history.CursorOf(&got[1]), 2, 5)
	if !complete || ids(got) != "a d" {
		t.Errorf("second page: %q complete %v, want \"a d\" complete", ids(got), complete)
	}
}

func ids(as []history.Alert) string {
	var s []string
	for _, a := range as {
		s = append(s, a.UUID)
	}
	return strings.Join(slices.Clip(s), " ")
}
