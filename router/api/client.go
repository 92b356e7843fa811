package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Paths served by the router.
const (
	PathAlert = "/"          // one alert, as Falco's http_output posts it
	PathBatch = "/v1/alerts" // a JSON array or NDJSON of alerts
)

// DefaultMaxBodyBytes is the router's default body limit, assumed until the
// router advertises its own.
const DefaultMaxBodyBytes = 1 << 20

// Client posts alert batches to a router. The zero value is not usable; set
// at least URL. It is safe for concurrent use.
type Client struct {
	URL        string       // router base URL, e.g. http://127.0.0.1:2801
	Token      string       // bearer token; empty for none
	Gzip       bool         // compress request bodies
	HTTPClient *http.Client // defaults to a client with a 10 s timeout
	UserAgent  string
}

// StatusError is a non-2xx answer from the router.
type StatusError struct {
	Status     int
	Body       string        // first bytes of the answer
	RetryAfter time.Duration // from a Retry-After header, 0 if none
	// MaxBodyBytes is the router's advertised body limit
	// (HeaderMaxBodyBytes), 0 if it sent none.
	MaxBodyBytes int64
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("router answered %d: %s", e.Status, strings.TrimSpace(e.Body))
}

// Retryable reports whether sending again may succeed: 408, 429 and 5xx.
func (e *StatusError) Retryable() bool {
	return e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// Send posts alerts as one JSON array to the batch endpoint. A nil error
// means the router durably accepted every alert. Errors are *StatusError for
// an answer from the router and network errors otherwise (both retryable
// unless StatusError.Retryable says not).
func (c *Client) Send(ctx context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	body, err := json.Marshal(alerts)
	if err != nil {
		return fmt.Errorf("encode alerts: %w", err)
	}
	_, err = c.SendJSON(ctx, body)
	return err
}

// SendJSON posts body, an encoded JSON array of alerts, to the batch
// endpoint (gzipped when c.Gzip). It returns the body limit the router
// advertised in its answer (0 if none) and the same errors as Send.
func (c *Client) SendJSON(ctx context.Context, body []byte) (maxBody int64, err error) {
	var rd io.Reader = bytes.NewReader(body)
	if c.Gzip {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		if _, err := zw.Write(body); err != nil {
			return 0, fmt.Errorf("gzip alerts: %w", err)
		}
		if err := zw.Close(); err != nil {
			return 0, fmt.Errorf("gzip alerts: %w", err)
		}
		rd = &zb
	}
	resp, err := c.do(ctx, http.MethodPost, PathBatch, rd)
	if err != nil {
		return 0, fmt.Errorf("post alerts: %w", err)
	}
	defer resp.Body.Close()
	maxBody, _ = strconv.ParseInt(resp.Header.Get(HeaderMaxBodyBytes), 10, 64)
	maxBody = max(maxBody, 0)
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		return maxBody, nil
	}
	return maxBody, &StatusError{Status: resp.StatusCode, Body: string(snippet), MaxBodyBytes: maxBody,
		RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
}

// Limits asks the router for its body limit (GET PathLimits). Errors are
// as Send's; a router without the endpoint answers a *StatusError 404.
func (c *Client) Limits(ctx context.Context) (maxBody int64, err error) {
	resp, err := c.do(ctx, http.MethodGet, PathLimits, nil)
	if err != nil {
		return 0, fmt.Errorf("get limits: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return 0, &StatusError{Status: resp.StatusCode, Body: string(data)}
	}
	var l Limits
	if err := json.Unmarshal(data, &l); err != nil || l.MaxBodyBytes <= 0 {
		return 0, fmt.Errorf("get limits: answer is not {\"max_body_bytes\": n}: %q", data)
	}
	return l.MaxBodyBytes, nil
}

// do sends one request to path under the base URL, with auth and headers.
// Network errors name the URL with its credentials and query redacted.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	u, err := Endpoint(c.URL, path)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("build request for %s: %w", RedactURL(u), errors.Unwrap(err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		if c.Gzip {
			req.Header.Set("Content-Encoding", "gzip")
		}
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := hc.Do(req)
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = RedactURL(ue.URL)
	}
	return resp, err
}

// Endpoint joins path to the base URL's path, keeping its query:
// http://r:2801/base?x=1 and /v1/alerts give http://r:2801/base/v1/alerts?x=1.
func Endpoint(base, path string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("router URL %q is not an absolute URL", RedactURL(base))
	}
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	return u.String(), nil
}

// RedactURL returns s with its user info and every query value replaced
// by "REDACTED" (a token may be in either), for logs and errors. A string
// that does not parse is replaced whole.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "[unparsable URL redacted]"
	}
	if u.User != nil {
		u.User = url.User("REDACTED")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k, vs := range q {
			for i := range vs {
				vs[i] = "REDACTED"
			}
			q[k] = vs
		}
		u.RawQuery = q.Encode()
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// ParseRetryAfter reads a Retry-After header (seconds or an HTTP date). It
// returns 0 when the header is absent or unreadable.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
