package elastic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/history"
)

// filters maps q's criteria (not its cursor) onto bool filter clauses.
func (s *Search) filters(q history.Query) []any {
	var f []any
	if !q.Since.IsZero() || !q.Until.IsZero() {
		f = append(f, timeRange(q.Since, q.Until))
	}
	if q.Rule != "" {
		f = append(f, s.term("rule", q.Rule))
	}
	if q.MinPriority != nil {
		f = append(f, map[string]any{"terms": map[string]any{s.exact("priority"): priorities(*q.MinPriority)}})
	}
	if q.Source != "" {
		f = append(f, s.term("source", q.Source))
	}
	if q.Tag != "" {
		f = append(f, s.term("tags", q.Tag))
	}
	for _, k := range slices.Sorted(maps.Keys(q.Fields)) {
		v := q.Fields[k]
		switch k {
		case "rule", "source", "hostname", "priority", "uuid":
			f = append(f, s.term(k, v))
		default:
			f = append(f, s.outputField(k, v))
		}
	}
	// Every typed word must appear in the output line: a word with
	// punctuation (team-7, /etc/shadow) is the phrase of its parts, as the
	// server's analyzer splits it; no query syntax reaches the server.
	for _, w := range strings.Fields(q.Text) {
		f = append(f, map[string]any{"match_phrase": map[string]any{"output": w}})
	}
	return f
}

// exact is the field to match a top-level string exactly: itself where
// Lookout's template maps it as keyword, else its .keyword multi-field.
func (s *Search) exact(name string) string {
	if s.keyword {
		return name + ".keyword"
	}
	return name
}

func (s *Search) term(name, v string) map[string]any {
	return map[string]any{"term": map[string]any{s.exact(name): v}}
}

// outputField matches output_fields.<name> = v. Under .keyword mappings a
// number has no .keyword field, so either the field or its keyword must
// hold the value.
func (s *Search) outputField(name, v string) map[string]any {
	if s.flatten {
		name = strings.ReplaceAll(name, ".", "_")
	}
	field := "output_fields." + name
	if !s.keyword {
		return map[string]any{"term": map[string]any{field: v}}
	}
	return map[string]any{"bool": map[string]any{"minimum_should_match": 1, "should": []any{
		map[string]any{"term": map[string]any{field + ".keyword": v}},
		map[string]any{"term": map[string]any{field: v}},
	}}}
}

// esTime is how bounds are sent: milliseconds, a date field's precision.
const esTime = "2006-01-02T15:04:05.000Z07:00"

// timeRange is @timestamp in [since, until); a zero bound is left open.
func timeRange(since, until time.Time) map[string]any {
	r := map[string]any{}
	if !since.IsZero() {
		r["gte"] = since.UTC().Format(esTime)
	}
	if !until.IsZero() {
		r["lt"] = until.UTC().Format(esTime)
	}
	return map[string]any{"range": map[string]any{"@timestamp": r}}
}

func rangeQuery(field, op string, t time.Time) map[string]any {
	return map[string]any{"range": map[string]any{field: map[string]any{op: t.UTC().Format(esTime)}}}
}

// document is what fromSource reads of the falco and falcosidekick
// shapes (extra_fields and unknown keys are ignored).
type document struct {
	Timestamp    string          `json:"@timestamp"`
	Time         string          `json:"time"`
	UUID         string          `json:"uuid"`
	Rule         string          `json:"rule"`
	Priority     string          `json:"priority"`
	Source       string          `json:"source"`
	Hostname     string          `json:"hostname"`
	Output       string          `json:"output"`
	Tags         []string        `json:"tags"`
	OutputFields map[string]any  `json:"output_fields"`
	Lookout      *api.Annotation `json:"lookout"`
}

// Delivered is the status of an output the noise stage let the alert
// notify, as the local history's "delivered" (queued for delivery).
const Delivered = "delivered"

// fromSource maps a document onto a history.Alert. What the document does
// not hold stays empty: the store id (0), and per output the status of
// outputs the router's annotation does not name (only those it notified
// or held back are in lookout.notified and lookout.held).
func fromSource(src []byte) (history.Alert, error) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var d document
	if err := dec.Decode(&d); err != nil {
		return history.Alert{}, fmt.Errorf("decode: %w", err)
	}
	a := history.Alert{
		UUID: d.UUID, Rule: d.Rule, Source: d.Source, Hostname: d.Hostname, Output: d.Output,
		Tags: d.Tags, Fields: d.OutputFields,
	}
	ts := d.Time
	if ts == "" {
		ts = d.Timestamp
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return a, fmt.Errorf("time %q: %w", ts, err)
	}
	a.Time = t.UTC()
	if a.Priority, err = api.ParsePriority(d.Priority); err != nil {
		return a, fmt.Errorf("priority: %w", err)
	}
	if l := d.Lookout; l != nil {
		if l.Finding != nil {
			a.Finding, a.FindingStatus = l.Finding.ID, l.Finding.Status
		}
		a.Silences = l.Silences
		if len(l.Notified)+len(l.Held) > 0 {
			a.Outputs = map[string]string{}
		}
		for _, o := range l.Notified {
			a.Outputs[o] = Delivered
		}
		maps.Copy(a.Outputs, l.Held)
	}
	return a, nil
}
