package pagerduty

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/lookout-sec/lookout/outputs"
)

// response records the status and Retry-After of the last HTTP response of
// one Send call; the client library does not expose them for every status.
type response struct {
	status     int
	retryAfter time.Duration
}

type responseKey struct{}

// captureTransport copies the status and Retry-After header of each
// response into the *response carried by the request's context.
type captureTransport struct{ next http.RoundTripper }

func (c captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if rec, ok := req.Context().Value(responseKey{}).(*response); ok && resp != nil {
		rec.status = resp.StatusCode
		rec.retryAfter = 0
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			rec.retryAfter = time.Duration(s) * time.Second
		}
	}
	return resp, err
}

// wrapClient returns a copy of c whose transport records responses.
func wrapClient(c *http.Client) *http.Client {
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	cp := *c
	next := cp.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	cp.Transport = captureTransport{next: next}
	return &cp
}

// redact replaces an error that names the request URL (which may hold a
// secret) by one naming only the scheme and host; it keeps the cause.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		host := "destination"
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Scheme + "://" + u.Host
		}
		return fmt.Errorf("%s %s: %w", ue.Op, host, ue.Err)
	}
	return err
}

// classify turns a library error into an outputs error using the recorded
// response, the context and the library's own error kinds.
func classify(ctx context.Context, rec *response, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("pagerduty: %w", ctx.Err())
	}
	err = redact(err)
	if rec.status != 0 && (rec.status < 200 || rec.status > 299) {
		return outputs.ClassifyStatus(rec.status, rec.retryAfter, fmt.Errorf("pagerduty: %w", err))
	}
	return fmt.Errorf("pagerduty: %w", err)
}
