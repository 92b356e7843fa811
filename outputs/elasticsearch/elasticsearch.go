// Package elasticsearch indexes alerts into Elasticsearch (or any server
// speaking its bulk API) with github.com/elastic/go-elasticsearch/v8. Send
// makes one bulk request per chunk of at most flush_documents alerts and
// flush_bytes of body; the document _id is the alert's uuid so a retried
// alert overwrites itself instead of duplicating, every document carries
// @timestamp, and the index name carries the date of the alert's own time
// (index_date: alert, bounded by late_after) or of its indexing (ingest).
// document: ecs maps alerts onto Elastic Common Schema; compat: falcosidekick
// writes Falcosidekick's documents, index names and template. The index
// template is named lookout and never replaces one it did not create.
// Per-item failures are reported item by item; the router does the retrying.
package elasticsearch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/tmpl"
	"github.com/lookout-sec/lookout/router/api"
)

// Options carries the dependencies injected into an Output.
type Options struct {
	Logger *slog.Logger
	// HTTPClient's Transport is used for requests (nil: a transport of our
	// own, trusting ca_file when set).
	HTTPClient *http.Client
	// Now is the clock for ingest dates and late_after (nil: time.Now).
	Now func() time.Time
}

// Output indexes alerts. It is safe for concurrent use.
type Output struct {
	cfg       Config
	log       *slog.Logger
	client    *es.Client
	transport *http.Transport // ours, nil when injected
	now       func() time.Time
	extra     tmpl.Map // extra_fields

	mu          sync.Mutex
	templateSet bool
}

var _ outputs.Output = (*Output)(nil)

// New validates cfg (after applying defaults) and returns an Output. It
// reads ca_file but does not contact the server.
func New(cfg Config, opts Options) (*Output, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &Output{cfg: cfg, log: opts.Logger, now: opts.Now}
	o.extra, _ = tmpl.ParseMap("elasticsearch.extra_fields", cfg.ExtraFields)
	if o.now == nil {
		o.now = time.Now
	}
	var err error
	if o.client, o.transport, err = NewClient(cfg, opts.HTTPClient); err != nil {
		return nil, err
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// NewClient returns a go-elasticsearch client for cfg's addresses,
// credentials, headers and ca_file (retries off: the caller decides), and
// the transport it made (nil when hc's Transport is used), whose idle
// connections the caller closes. The triage UI's Elasticsearch search
// (router/internal/history/elastic) uses it to reach the index an output
// writes with that output's settings.
func NewClient(cfg Config, hc *http.Client) (*es.Client, *http.Transport, error) {
	ec := es.Config{
		Addresses: cfg.Addresses, Username: cfg.Username, Password: string(cfg.Password),
		APIKey: string(cfg.APIKey), DisableRetry: true, Header: http.Header{},
	}
	for k, v := range cfg.Headers {
		ec.Header.Set(k, v)
	}
	var own *http.Transport
	if hc != nil && hc.Transport != nil {
		ec.Transport = hc.Transport
	} else {
		tr, err := transport(cfg.CAFile)
		if err != nil {
			return nil, nil, err
		}
		own, ec.Transport = tr, tr
	}
	client, err := es.NewClient(ec)
	if err != nil {
		return nil, nil, fmt.Errorf("elasticsearch: %w", err)
	}
	return client, own, nil
}

// IndexPattern is the pattern that covers every index the output writes:
// the index name, followed by -* when it carries a date suffix.
func (c Config) IndexPattern() string {
	if c.IndexSuffix == SuffixNone {
		return c.Index
	}
	return c.Index + "-*"
}

// transport returns an HTTP transport that trusts the certificate
// authorities in caFile (PEM) in addition to the system's.
func transport(caFile string) (*http.Transport, error) {
	tr := outputs.NewTransport()
	if caFile == "" {
		return tr, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch.ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("elasticsearch.ca_file: %s holds no PEM certificate", caFile)
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return tr, nil
}

// IndexName returns the index an alert goes to: the index name plus the
// UTC date of the alert's time (index_date: alert) or of now (ingest). With
// late_after, an alert older than that bound goes to today's index.
func (o *Output) IndexName(a *api.Alert) string {
	if o.cfg.IndexSuffix == SuffixNone {
		return o.cfg.Index
	}
	now := o.now()
	t := a.Time
	if o.cfg.IndexDate == IndexDateIngest || (o.cfg.LateAfter > 0 && now.Sub(t) > o.cfg.LateAfter) {
		t = now
	}
	t = t.UTC()
	switch o.cfg.IndexSuffix {
	case SuffixDaily:
		return o.cfg.Index + "-" + t.Format("2006.01.02")
	case SuffixMonthly:
		return o.cfg.Index + "-" + t.Format("2006.01")
	default:
		return o.cfg.Index + "-" + t.Format("2006")
	}
}

// Send indexes alerts with one bulk request per chunk of at most
// flush_documents alerts and flush_bytes of body. Item failures come back
// as a *outputs.PartialError indexed by position in alerts. A request that
// fails as a whole (a 429, a 5xx, a network error) fails its chunk and
// every later one, so the whole rest of the batch backs off; when that is
// the first chunk, nothing was delivered and the request's own classified
// error (with its Retry-After) is returned.
func (o *Output) Send(ctx context.Context, alerts []*api.Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	if err := o.ensureTemplate(ctx); err != nil {
		return err
	}
	chunks, err := o.chunks(alerts)
	if err != nil {
		return outputs.Permanent(fmt.Errorf("elasticsearch: encode bulk body: %w", err))
	}
	failed := map[int]error{}
	for ci, c := range chunks {
		err := o.bulk(ctx, c, failed)
		if err == nil {
			continue
		}
		if ci == 0 {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("elasticsearch: %w", ctx.Err())
		}
		for i := c.first; i < len(alerts); i++ {
			failed[i] = err
		}
		break
	}
	if len(failed) == 0 {
		return nil
	}
	return &outputs.PartialError{Failed: failed}
}

// transportError classifies an error from the client before any response.
// It names only the scheme and host of the server.
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

// Close releases idle connections; it is safe to call more than once.
func (o *Output) Close() error {
	if o.transport != nil {
		o.transport.CloseIdleConnections()
	}
	return nil
}
