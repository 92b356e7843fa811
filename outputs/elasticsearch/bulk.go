package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/router/api"
)

// chunk is one bulk request body covering alerts[first:first+n].
type chunk struct {
	body     []byte
	first, n int
}

// chunks encodes alerts into bulk bodies of at most FlushDocuments alerts
// and FlushBytes bytes; a single larger document gets a chunk of its own.
func (o *Output) chunks(alerts []*api.Alert) ([]chunk, error) {
	var out []chunk
	var buf bytes.Buffer
	cur := chunk{}
	for i, a := range alerts {
		lines, err := o.action(a)
		if err != nil {
			return nil, err
		}
		if cur.n > 0 && (cur.n >= o.cfg.FlushDocuments || buf.Len()+len(lines) > o.cfg.FlushBytes) {
			cur.body = bytes.Clone(buf.Bytes())
			out = append(out, cur)
			cur = chunk{first: i}
			buf.Reset()
		}
		buf.Write(lines)
		cur.n++
	}
	cur.body = buf.Bytes()
	return append(out, cur), nil
}

// action returns the "index" action line and the document line of a.
func (o *Output) action(a *api.Alert) ([]byte, error) {
	meta := map[string]map[string]string{"index": {"_index": o.IndexName(a)}}
	if a.UUID != "" {
		meta["index"]["_id"] = a.UUID
	}
	m, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	d, err := json.Marshal(o.document(a))
	if err != nil {
		return nil, err
	}
	if o.extra != nil {
		if d, err = o.addExtra(d, a); err != nil {
			return nil, err
		}
	}
	lines := make([]byte, 0, len(m)+len(d)+2)
	lines = append(append(append(lines, m...), '\n'), d...)
	return append(lines, '\n'), nil
}

// bulk sends one chunk and records its failed items in failed (indexed in
// the whole batch). It returns an error only when the request failed as a
// whole.
func (o *Output) bulk(ctx context.Context, c chunk, failed map[int]error) error {
	res, err := o.client.Bulk(bytes.NewReader(c.body), o.client.Bulk.WithContext(ctx))
	if err != nil {
		return o.transportError(ctx, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return outputs.ClassifyStatus(res.StatusCode, retryAfter(res.Header),
			fmt.Errorf("elasticsearch bulk: %s", bytes.TrimSpace(msg)))
	}
	return o.itemErrors(ctx, res.Body, c, failed)
}

// bulkResponse is the part of a bulk response read per item.
type bulkResponse struct {
	Errors bool `json:"errors"`
	Items  []map[string]struct {
		Status int `json:"status"`
		Error  *struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"error"`
	} `json:"items"`
}

// itemErrors records the failed items of a bulk response for chunk c in
// failed: 429 and 5xx items are retryable, others (mapping errors)
// permanent with Elasticsearch's reason. A response with fewer items than
// documents fails the missing ones as retryable.
func (o *Output) itemErrors(ctx context.Context, body io.Reader, c chunk, failed map[int]error) error {
	var br bulkResponse
	if err := json.NewDecoder(body).Decode(&br); err != nil {
		return outputs.Temporary(fmt.Errorf("elasticsearch bulk: decode response: %w", err), 0)
	}
	if !br.Errors && len(br.Items) == c.n {
		return nil
	}
	for i := range c.n {
		at := c.first + i
		if i >= len(br.Items) {
			failed[at] = outputs.Temporary(fmt.Errorf("elasticsearch item %d: missing from the bulk response", at), 0)
			continue
		}
		for _, r := range br.Items[i] {
			if r.Status >= 200 && r.Status < 300 {
				continue
			}
			reason := "failed"
			if r.Error != nil {
				reason = r.Error.Type + ": " + r.Error.Reason
			}
			failed[at] = outputs.ClassifyStatus(r.Status, 0, fmt.Errorf("elasticsearch item %d: %s", at, reason))
			o.log.LogAttrs(ctx, slog.LevelDebug, "elasticsearch item failed",
				slog.Int("item", at), slog.Int("status", r.Status), slog.String("reason", reason))
		}
	}
	return nil
}

// retryAfter parses a Retry-After header (seconds or an HTTP date).
func retryAfter(h http.Header) time.Duration {
	return api.ParseRetryAfter(h.Get("Retry-After"), time.Now())
}
