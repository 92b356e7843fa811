// Package elasticsearch indexes alerts into Elasticsearch (or any server
// speaking its bulk API) with github.com/elastic/go-elasticsearch/v8. Each
// Send is one bulk request; the document _id is the alert's uuid so a
// retried alert overwrites itself instead of duplicating, and the index name
// carries the date of the alert's own time. Per-item failures are reported
// item by item; the router does the retrying.
package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"
	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/router/api"
)

// Options carries the dependencies injected into an Output.
type Options struct {
	Logger *slog.Logger
	// HTTPClient's Transport is used for requests (nil: the default).
	HTTPClient *http.Client
}

// Output indexes alerts. It is safe for concurrent use.
type Output struct {
	cfg    Config
	log    *slog.Logger
	client *es.Client

	mu          sync.Mutex
	templateSet bool
}

var _ outputs.Output = (*Output)(nil)

// New validates cfg (after applying defaults) and returns an Output. It
// does not contact the server.
func New(cfg Config, opts Options) (*Output, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ec := es.Config{
		Addresses: cfg.Addresses, Username: cfg.Username, Password: string(cfg.Password),
		APIKey: string(cfg.APIKey), DisableRetry: true, Header: http.Header{},
	}
	for k, v := range cfg.Headers {
		ec.Header.Set(k, v)
	}
	if opts.HTTPClient != nil && opts.HTTPClient.Transport != nil {
		ec.Transport = opts.HTTPClient.Transport
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("elasticsearch.ca_file: %w", err)
		}
		ec.CACert = pem
	}
	client, err := es.NewClient(ec)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: %w", err)
	}
	o := &Output{cfg: cfg, log: opts.Logger, client: client}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// IndexName returns the index an alert goes to.
func (o *Output) IndexName(a *api.Alert) string {
	t := a.Time.UTC()
	switch o.cfg.IndexSuffix {
	case SuffixDaily:
		return o.cfg.Index + "-" + t.Format("2006.01.02")
	case SuffixMonthly:
		return o.cfg.Index + "-" + t.Format("2006.01")
	default:
		return o.cfg.Index
	}
}

// Send indexes alerts with one bulk request.
func (o *Output) Send(ctx context.Context, alerts []*api.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	if err := o.ensureTemplate(ctx); err != nil {
		return err
	}
	body, err := o.bulkBody(alerts)
	if err != nil {
		return outputs.Permanent(fmt.Errorf("elasticsearch: encode bulk body: %w", err))
	}
	res, err := o.client.Bulk(bytes.NewReader(body), o.client.Bulk.WithContext(ctx))
	if err != nil {
		return o.transportError(ctx, err)
	}
	defer res.Body.Close()
	if res.IsError() {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return outputs.ClassifyStatus(res.StatusCode, retryAfter(res.Header),
			fmt.Errorf("elasticsearch bulk: %s", bytes.TrimSpace(msg)))
	}
	return o.itemErrors(ctx, res.Body, len(alerts))
}

// bulkBody writes one "index" action and document per alert.
func (o *Output) bulkBody(alerts []*api.Alert) ([]byte, error) {
	var buf bytes.Buffer
	for _, a := range alerts {
		meta := map[string]map[string]string{"index": {"_index": o.IndexName(a)}}
		if a.UUID != "" {
			meta["index"]["_id"] = a.UUID
		}
		m, err := json.Marshal(meta)
		if err != nil {
			return nil, err
		}
		d, err := json.Marshal(a)
		if err != nil {
			return nil, err
		}
		buf.Write(m)
		buf.WriteByte('\n')
		buf.Write(d)
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
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

// itemErrors turns failed items into a *outputs.PartialError: 429 and 5xx
// items are retryable, others (mapping errors) permanent with ES's reason.
func (o *Output) itemErrors(ctx context.Context, body io.Reader, n int) error {
	var br bulkResponse
	if err := json.NewDecoder(body).Decode(&br); err != nil {
		return fmt.Errorf("elasticsearch bulk: decode response: %w", err)
	}
	if !br.Errors {
		return nil
	}
	pe := &outputs.PartialError{Failed: map[int]error{}}
	for i, item := range br.Items {
		if i >= n {
			break
		}
		for _, r := range item {
			if r.Status >= 200 && r.Status < 300 {
				continue
			}
			reason := "failed"
			if r.Error != nil {
				reason = r.Error.Type + ": " + r.Error.Reason
			}
			pe.Failed[i] = outputs.ClassifyStatus(r.Status, 0, fmt.Errorf("elasticsearch item %d: %s", i, reason))
			o.log.LogAttrs(ctx, slog.LevelDebug, "elasticsearch item failed", slog.Int("item", i), slog.Int("status", r.Status), slog.String("reason", reason))
		}
	}
	if len(pe.Failed) == 0 {
		return nil
	}
	return pe
}

// transportError classifies an error from the client before any response.
func (o *Output) transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("elasticsearch: %w", ctx.Err())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		host := "server"
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Scheme + "://" + u.Host
		}
		err = fmt.Errorf("%s %s: %w", ue.Op, host, ue.Err)
	}
	return fmt.Errorf("elasticsearch: %w", err)
}

func retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// Close releases the client's idle connections; safe to call more than once.
func (o *Output) Close() error {
	return nil
}
