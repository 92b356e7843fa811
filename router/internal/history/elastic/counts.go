package elastic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/history"
)

// dimField is the keyword field an overview dimension is counted on.
func (s *Search) dimField(dim string) string {
	switch dim {
	case history.DimPriority, history.DimRule, history.DimHost:
		return s.exact(dim)
	}
	name := dim
	if s.flatten {
		name = strings.ReplaceAll(name, ".", "_")
	}
	if s.keyword {
		return "output_fields." + name + ".keyword"
	}
	return "output_fields." + name
}

type bucket struct {
	Key   json.RawMessage `json:"key"` // a term, or a time (epoch ms in Elasticsearch, RFC 3339 in ZincSearch)
	Count int64           `json:"doc_count"`
	T     *struct {
		Buckets []bucket `json:"buckets"`
	} `json:"t"`
}

// Top returns the n most frequent values of dim in [since, until): a
// terms aggregation.
func (s *Search) Top(ctx context.Context, dim string, since, until time.Time, n int) ([]history.Count, error) {
	bs, err := s.aggregate(ctx, since, until, map[string]any{"terms": map[string]any{"field": s.dimField(dim), "size": termsSize(n)}})
	if err != nil {
		return nil, fmt.Errorf("elastic: top %s: %w", dim, err)
	}
	out := make([]history.Count, 0, len(bs))
	for _, b := range bs {
		out = append(out, history.Count{Value: keyText(b.Key), N: b.Count})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].N > out[j].N || out[i].N == out[j].N && out[i].Value < out[j].Value })
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// termsSize is how many terms to ask for to return the top n: more than n,
// because a server counts the top terms shard by shard (ZincSearch asks
// each shard for just size, so a term outside one shard's top size is
// undercounted) and breaks ties its own way; the answer is sorted and cut
// here.
func termsSize(n int) int {
	if n <= 0 {
		return 100
	}
	return min(3*n+10, 100)
}

// Chart counts alerts per bucket of span by dim: a terms aggregation (every
// priority, or the top n values) with a date histogram of span.Step under
// each. Buckets are placed by their time from span.Since, as the router's
// history places its minutes.
func (s *Search) Chart(ctx context.Context, dim string, span history.Span, n int) ([]history.Series, error) {
	step := max(span.Step, time.Minute)
	buckets := int(span.Until.Sub(span.Since)/step) + 1
	if buckets > 2000 {
		return nil, fmt.Errorf("elastic: chart: %d buckets; take a longer step", buckets)
	}
	size := termsSize(n)
	if dim == history.DimPriority {
		size = 8
	}
	bs, err := s.aggregate(ctx, span.Since, span.Until, map[string]any{
		"terms": map[string]any{"field": s.dimField(dim), "size": size},
		"aggs": map[string]any{"t": map[string]any{"date_histogram": map[string]any{
			"field": "@timestamp", "fixed_interval": interval(step), "min_doc_count": 1,
		}}},
	})
	if err != nil {
		return nil, fmt.Errorf("elastic: chart %s: %w", dim, err)
	}
	out := make([]history.Series, 0, len(bs))
	for _, b := range bs {
		x := history.Series{Name: keyText(b.Key), Counts: make([]int64, buckets)}
		if b.T != nil {
			for _, tb := range b.T.Buckets {
				t, ok := keyTime(tb.Key)
				if !ok {
					continue
				}
				if i := int(t.Sub(span.Since) / step); t.Compare(span.Since) >= 0 && i < buckets {
					x.Counts[i] += tb.Count
					x.Total += tb.Count
				}
			}
		}
		out = append(out, x)
	}
	if dim == history.DimPriority {
		sort.Slice(out, func(i, j int) bool {
			pi, _ := api.ParsePriority(out[i].Name)
			pj, _ := api.ParsePriority(out[j].Name)
			return pi < pj
		})
		return out, nil
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].Total > out[j].Total || out[i].Total == out[j].Total && out[i].Name < out[j].Name
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// interval writes a step in its largest whole unit (3h, 90m, 45s).
func interval(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

// aggregate runs one aggregation named "by" over @timestamp in [since,
// until) and returns its buckets.
func (s *Search) aggregate(ctx context.Context, since, until time.Time, agg map[string]any) ([]bucket, error) {
	body, err := json.Marshal(map[string]any{
		"size":  0,
		"query": map[string]any{"bool": map[string]any{"filter": []any{timeRange(since, until)}}},
		"aggs":  map[string]any{"by": agg},
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	c := s.client
	res, err := c.Search(c.Search.WithContext(ctx), c.Search.WithIndex(s.pattern),
		c.Search.WithBody(strings.NewReader(string(body))), c.Search.WithIgnoreUnavailable(true),
		c.Search.WithAllowNoIndices(true))
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", s.pattern, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		reason := errorReason(msg)
		if noIndex(res.StatusCode, reason) {
			return nil, nil
		}
		return nil, fmt.Errorf("search %s: %s: %s", s.pattern, res.Status(), reason)
	}
	var r struct {
		Aggregations struct {
			By struct {
				Buckets []bucket `json:"buckets"`
			} `json:"by"`
		} `json:"aggregations"`
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("search %s: read the answer: %w", s.pattern, err)
	}
	return r.Aggregations.By.Buckets, nil
}

// keyText is a terms bucket's key as text.
func keyText(k json.RawMessage) string {
	var s string
	if json.Unmarshal(k, &s) == nil {
		return s
	}
	return string(k)
}

// keyTime is a date histogram bucket's key: epoch milliseconds
// (Elasticsearch) or an RFC 3339 time (ZincSearch).
func keyTime(k json.RawMessage) (time.Time, bool) {
	var msec int64
	if json.Unmarshal(k, &msec) == nil {
		return time.UnixMilli(msec).UTC(), true
	}
	var f float64
	if json.Unmarshal(k, &f) == nil {
		return time.UnixMilli(int64(f)).UTC(), true
	}
	var s string
	if json.Unmarshal(k, &s) == nil {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
