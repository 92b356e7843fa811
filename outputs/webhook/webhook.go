// Package webhook delivers alerts as JSON HTTP POSTs to a URL: one request per
// alert, the body being the alert exactly as the router received it (Falco's
// shape plus uuid), with configured headers and an X-Lookout-Alert-Id header
// carrying the alert's uuid, which stays the same across retries so that a
// receiver can drop duplicates. It never retries; it classifies failures so
// the router can.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/outputs/tmpl"
	"github.com/lookout-sec/lookout/router/api"
)

// AlertIDHeader is the request header carrying the alert's uuid. A retried
// alert is sent with the same value, so receivers can deduplicate on it.
const AlertIDHeader = "X-Lookout-Alert-Id"

// Config configures a webhook output.
type Config struct {
	URL     string            `mapstructure:"url"`     // destination, http or https
	Method  string            `mapstructure:"method"`  // POST (default) or PUT
	Headers map[string]string `mapstructure:"headers"` // sent with every request
	Timeout time.Duration     `mapstructure:"timeout"` // per request; default 10s
	// FollowRedirects follows 3xx answers, re-sending the same method and
	// body; by default a 3xx is a permanent failure naming the Location.
	FollowRedirects bool `mapstructure:"follow_redirects"`
	// Body, when set, is a message template (outputs/tmpl) for the request
	// body instead of the alert's JSON; with the default content type it
	// must render JSON (checked against a sample alert at start-up).
	Body string `mapstructure:"body"`
	// ContentType is the body's Content-Type; default application/json.
	ContentType string `mapstructure:"content_type"`
}

// DefaultConfig returns the defaults: POST with a 10 s timeout.
func DefaultConfig() Config { return Config{Method: http.MethodPost, Timeout: 10 * time.Second} }

// Validate checks the configuration and names the offending key.
func (c Config) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return errors.New("url: is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("url: %q is not an http(s) URL", c.URL)
	case c.Method != http.MethodPost && c.Method != http.MethodPut:
		return fmt.Errorf("method: %q is not allowed (allowed: POST, PUT)", c.Method)
	case c.Timeout <= 0:
		return fmt.Errorf("timeout: must be positive, got %s", c.Timeout)
	}
	if err := outputs.CheckHeaders("webhook.headers", c.Headers); err != nil {
		return err
	}
	if c.Body != "" {
		t, err := tmpl.Parse("webhook.body", c.Body)
		if err != nil {
			return err
		}
		if c.ContentType == "" || c.ContentType == "application/json" {
			if b, _ := t.Execute(tmpl.Sample()); !json.Valid([]byte(b)) {
				return errors.New("webhook.body: with a sample alert it renders no valid JSON (set content_type if the body is not JSON)")
			}
		}
	}
	return nil
}

// String describes the config with header values, the URL's query and its
// user info redacted (they often hold credentials).
func (c Config) String() string {
	h := make(map[string]string, len(c.Headers))
	for k := range c.Headers {
		h[k] = outputs.Redacted
	}
	return fmt.Sprintf("webhook{url=%s method=%s timeout=%s headers=%v}", redactURL(c.URL), c.Method, c.Timeout, h)
}

// GoString keeps %#v from printing credentials.
func (c Config) GoString() string { return c.String() }

// Output posts alerts to a webhook.
type Output struct {
	cfg         Config
	client      *http.Client
	body        *tmpl.Template // nil: the alert's JSON
	contentType string
}

// New validates cfg and returns a webhook output.
func New(cfg Config) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &Output{cfg: cfg, contentType: cfg.ContentType, client: &http.Client{
		Timeout: cfg.Timeout, CheckRedirect: outputs.CheckRedirect(cfg.FollowRedirects), Transport: outputs.NewTransport(),
	}}
	if o.contentType == "" {
		o.contentType = "application/json"
	}
	if cfg.Body != "" {
		o.body = tmpl.MustParse("webhook.body", cfg.Body)
	}
	return o, nil
}

// Send posts each alert in order and stops at the first failure, returning a
// *outputs.PartialError when some alerts were already delivered
// (outputs.SendEach).
func (o *Output) Send(ctx context.Context, alerts []*api.Alert) error {
	return outputs.SendEach(alerts, func(a *api.Alert) error { return o.post(ctx, a) })
}

func (o *Output) post(ctx context.Context, a *api.Alert) error {
	var body []byte
	var err error
	if o.body != nil {
		var s string
		if s, err = o.body.Execute(a); err != nil {
			return outputs.Permanent(fmt.Errorf("webhook.body: %w", err))
		}
		body = []byte(s)
	} else if body, err = a.Encode(); err != nil {
		return outputs.Permanent(fmt.Errorf("encode alert: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, o.cfg.Method, o.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return outputs.Permanent(fmt.Errorf("build request: %w", err))
	}
	req.Header.Set("Content-Type", o.contentType)
	req.Header.Set("User-Agent", "lookout-router")
	for k, v := range o.cfg.Headers {
		req.Header.Set(k, v)
	}
	if a.UUID != "" {
		req.Header.Set(AlertIDHeader, a.UUID)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("post to webhook: %w", ctx.Err())
		}
		return outputs.Temporary(fmt.Errorf("post to webhook %s: %w", redactURL(o.cfg.URL), errors.Unwrap(err)), 0)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	if err := outputs.RedirectError(resp); err != nil {
		return err
	}
	wait := api.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return outputs.ClassifyStatus(resp.StatusCode, wait, fmt.Errorf("webhook answered: %s", bytes.TrimSpace(snippet)))
}

// redactURL keeps only the scheme and host: user info, path and query may
// all hold credentials (many webhook URLs carry their token in the path).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "[unparseable url]"
	}
	return u.Scheme + "://" + u.Host
}

// Close releases idle connections; it is safe to call more than once.
func (o *Output) Close() error {
	o.client.CloseIdleConnections()
	return nil
}
