// Package elastic searches the index an Elasticsearch output
// (outputs/elasticsearch) writes, for the triage UI (docs/ui.md, "Search
// in Elasticsearch"): the forensic store, kept longer than the router's own
// history. It answers the UI's Search and Get with history.Query and
// history.Alert, over the output's index pattern (falco-* for daily,
// monthly or annual indices) with that output's addresses, credentials,
// headers and CA, through the official go-elasticsearch client.
//
// It reads documents in the output's falco shape (the default) or
// compat: falcosidekick's; the ecs shape is refused by the config. Exact
// criteria (rule, priority, source, hostname, tags, output fields, uuid)
// are term queries on keyword fields: those of Lookout's index template
// (index_template: true), or the .keyword multi-fields of Falcosidekick's
// template and of Elasticsearch's dynamic mapping otherwise. Free text is
// one match_phrase on the output line per typed word. The order is
// @timestamp (milliseconds, the precision of a date field) then uuid,
// newest first; see page for how the next page is found.
package elastic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"

	"github.com/lookout-sec/lookout/outputs/elasticsearch"
	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/history"
)

// Search reads alerts from an Elasticsearch output's indices. It is safe
// for concurrent use.
type Search struct {
	client    *es.Client
	transport *http.Transport // ours, closed by Close
	pattern   string          // the output's index pattern
	keyword   bool            // exact fields are the .keyword multi-fields
	flatten   bool            // output_fields keys have _ for .
	output    string
}

// New returns a Search over what the output named output, configured with
// cfg (the output's checked settings), writes. hc's transport is used when
// set. It does not contact the server.
func New(output string, cfg elasticsearch.Config, hc *http.Client) (*Search, error) {
	cfg.Defaults()
	if cfg.Document == elasticsearch.DocumentECS {
		return nil, fmt.Errorf("elastic: output %q writes document: ecs, which the UI's search does not read (only falco, the default, and compat: falcosidekick)", output)
	}
	client, tr, err := elasticsearch.NewClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("elastic: output %q: %w", output, err)
	}
	return &Search{
		client: client, transport: tr, pattern: cfg.IndexPattern(), output: output,
		keyword: cfg.Compat == elasticsearch.CompatFalcosidekick || !cfg.IndexTemplate,
		flatten: *cfg.FlattenFields,
	}, nil
}

// Describe names the store for the UI and the log: the output and its
// index pattern.
func (s *Search) Describe() string {
	return fmt.Sprintf("Elasticsearch (output %s, %s)", s.output, s.pattern)
}

// Close releases idle connections.
func (s *Search) Close() error {
	if s.transport != nil {
		s.transport.CloseIdleConnections()
	}
	return nil
}

// requestTimeout bounds one request to the server (a page waits for it).
const requestTimeout = 30 * time.Second

// maxWindow is the largest page Search asks for: Elasticsearch's default
// index.max_result_window.
const maxWindow = 10000

// Search returns the newest matching alerts first.
func (s *Search) Search(ctx context.Context, q history.Query) ([]history.Alert, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	filter := s.filters(q)
	if c := q.Before; c.UUID != "" || c.TS != 0 {
		// Up to the cursor's millisecond; page drops what is not after it.
		filter = append(filter, rangeQuery("@timestamp", "lt", time.UnixMilli(ms(c.TS)+1)))
	}
	body := map[string]any{
		"query": map[string]any{"bool": map[string]any{"filter": filter}},
		"sort": []any{
			map[string]any{"@timestamp": map[string]any{"order": "desc"}},
			map[string]any{s.exact("uuid"): map[string]any{"order": "desc", "unmapped_type": "keyword"}},
		},
	}
	size := limit + 1
	for {
		body["size"] = size
		hits, err := s.search(ctx, body)
		if err != nil {
			return nil, err
		}
		out, complete := page(hits, q.Before, limit, size)
		if complete || size >= maxWindow {
			return out, nil
		}
		size = min(size*4, maxWindow)
	}
}

// page orders hits by (millisecond, uuid), newest first, drops those not
// after the cursor and returns at most limit. The server filtered to the
// cursor's millisecond and sorted, so everything after the cursor is in
// hits unless the server's answer was full (len(hits) == size) and its
// last hit shares a millisecond with the page's last alert: the hits of
// that millisecond may go on, and the caller asks again for more
// (complete false). This keeps paging exact on servers that sort at a
// finer precision than milliseconds (ZincSearch) or ignore search_after.
func page(hits []history.Alert, before history.Cursor, limit, size int) ([]history.Alert, bool) {
	sortAlerts(hits)
	out := hits[:0:0]
	for i := range hits {
		if before.UUID != "" || before.TS != 0 {
			if !afterCursor(&hits[i], before) {
				continue
			}
		}
		out = append(out, hits[i])
	}
	full := len(hits) == size
	if len(out) > limit {
		// The next alert is known: the page ends inside the answer unless
		// the answer was cut inside the page's last millisecond.
		last := ms(out[limit-1].Time.UnixNano())
		complete := !full || ms(hits[len(hits)-1].Time.UnixNano()) < last
		return out[:limit], complete
	}
	return out, !full
}

// ms is a Unix nanosecond time in milliseconds, rounded down as
// Elasticsearch stores a date.
func ms(ns int64) int64 {
	m := ns / 1e6
	if ns < 0 && ns%1e6 != 0 {
		m--
	}
	return m
}

// afterCursor reports whether a comes after c in the order.
func afterCursor(a *history.Alert, c history.Cursor) bool {
	am, cm := ms(a.Time.UnixNano()), ms(c.TS)
	return am < cm || am == cm && a.UUID < c.UUID
}

// sortAlerts sorts newest (millisecond, uuid) first.
func sortAlerts(as []history.Alert) {
	less := func(a, b *history.Alert) bool { // a before b
		am, bm := ms(a.Time.UnixNano()), ms(b.Time.UnixNano())
		return am > bm || am == bm && a.UUID > b.UUID
	}
	for i := 1; i < len(as); i++ { // insertion sort: the server's order is nearly right
		for j := i; j > 0 && less(&as[j], &as[j-1]); j-- {
			as[j], as[j-1] = as[j-1], as[j]
		}
	}
}

// Get returns one alert by uuid (the newest when a retry on another day
// indexed it twice).
func (s *Search) Get(ctx context.Context, uuid string) (history.Alert, error) {
	hits, err := s.search(ctx, map[string]any{
		"query": map[string]any{"bool": map[string]any{"filter": []any{s.term("uuid", uuid)}}},
		"sort":  []any{map[string]any{"@timestamp": map[string]any{"order": "desc"}}},
		"size":  1,
	})
	if err != nil {
		return history.Alert{}, err
	}
	if len(hits) == 0 {
		return history.Alert{}, history.ErrNotFound
	}
	return hits[0], nil
}

// search runs one _search over the index pattern and decodes its hits.
func (s *Search) search(ctx context.Context, body map[string]any) ([]history.Alert, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("elastic: encode query: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	c := s.client
	res, err := c.Search(c.Search.WithContext(ctx), c.Search.WithIndex(s.pattern),
		c.Search.WithBody(strings.NewReader(string(b))), c.Search.WithIgnoreUnavailable(true),
		c.Search.WithAllowNoIndices(true))
	if err != nil {
		return nil, fmt.Errorf("elastic: search %s: %w", s.pattern, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		reason := errorReason(msg)
		if noIndex(res.StatusCode, reason) {
			return nil, nil // nothing indexed yet
		}
		return nil, fmt.Errorf("elastic: search %s: %s: %s", s.pattern, res.Status(), reason)
	}
	var r struct {
		Hits struct {
			Hits []struct {
				Index  string          `json:"_index"`
				ID     string          `json:"_id"`
				Source json.RawMessage `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("elastic: search %s: read the answer: %w", s.pattern, err)
	}
	out := make([]history.Alert, 0, len(r.Hits.Hits))
	for _, h := range r.Hits.Hits {
		a, err := fromSource(h.Source)
		if err != nil {
			return nil, fmt.Errorf("elastic: document %s in %s: %w", h.ID, h.Index, err)
		}
		if a.UUID == "" {
			a.UUID = h.ID
		}
		out = append(out, a)
	}
	return out, nil
}

// errorReason is the error of an answer: Elasticsearch's
// {"error":{"type":…,"reason":…}} or ZincSearch's {"error":"…"}.
func errorReason(body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Error) == 0 {
		return strings.TrimSpace(string(body))
	}
	var obj struct{ Type, Reason string }
	if json.Unmarshal(e.Error, &obj) == nil && obj.Type != "" {
		return obj.Type + ": " + obj.Reason
	}
	var str string
	if json.Unmarshal(e.Error, &str) == nil {
		return str
	}
	return string(e.Error)
}

// noIndex reports an answer that means no index matches yet:
// Elasticsearch's 404 index_not_found_exception (an index pattern without
// a wildcard; with one it answers no hits), and ZincSearch's 400s for a
// missing index and for a pattern that matches none.
func noIndex(status int, reason string) bool {
	switch {
	case status == http.StatusNotFound && strings.HasPrefix(reason, "index_not_found_exception"):
		return true
	case status == http.StatusBadRequest && (strings.HasSuffix(reason, "does not exists") || strings.HasSuffix(reason, "no index found")):
		return true
	}
	return false
}

// priorities lists the priority names at p or above, as documents spell
// them.
func priorities(p api.Priority) []any {
	var out []any
	for x := api.PriorityEmergency; x <= p && x <= api.PriorityDebug; x++ {
		out = append(out, x.String())
	}
	return out
}
