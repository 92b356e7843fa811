package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Paths served by the router.
const (
	PathAlert = "/"          // one alert, as Falco's http_output posts it
	PathBatch = "/v1/alerts" // a JSON array or NDJSON of alerts
)

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
	var rd io.Reader = bytes.NewReader(body)
	if c.Gzip {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		if _, err := zw.Write(body); err != nil {
			return fmt.Errorf("gzip alerts: %w", err)
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("gzip alerts: %w", err)
		}
		rd = &zb
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.URL, "/")+PathBatch, rd)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
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
	if err != nil {
		return fmt.Errorf("post alerts: %w", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	return &StatusError{Status: resp.StatusCode, Body: string(snippet), RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
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
