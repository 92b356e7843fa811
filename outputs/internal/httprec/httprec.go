// Package httprec recovers what HTTP client libraries (slack-go,
// go-pagerduty) do not expose for every response — the status code and
// Retry-After — so outputs built on them can classify failures as
// retryable or permanent. A request carries a *Response in its context;
// the transport returned by WrapClient fills it in.
package httprec

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/router/api"
)

// Response is the status and Retry-After of the last HTTP response made
// with a context from WithResponse.
type Response struct {
	Status     int
	RetryAfter time.Duration
	// Redirect is the permanent failure for a 3xx answer (not followed),
	// naming its Location (outputs.RedirectError); nil otherwise.
	Redirect error
}

type key struct{}

// WithResponse returns a context whose requests record their response in
// the returned *Response.
func WithResponse(ctx context.Context) (context.Context, *Response) {
	rec := &Response{}
	return context.WithValue(ctx, key{}, rec), rec
}

type transport struct{ next http.RoundTripper }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if rec, ok := req.Context().Value(key{}).(*Response); ok && resp != nil {
		rec.Status = resp.StatusCode
		rec.RetryAfter = api.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		rec.Redirect = outputs.RedirectError(resp)
	}
	return resp, err
}

// WrapClient returns a copy of c (nil: a client with a 30 s timeout) whose
// transport records responses and which follows no redirect unless c's
// CheckRedirect says otherwise (outputs.CheckRedirect).
func WrapClient(c *http.Client) *http.Client {
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	cp := *c
	if cp.CheckRedirect == nil {
		cp.CheckRedirect = outputs.CheckRedirect(false) // a 3xx is a permanent failure
	}
	next := cp.Transport
	if next == nil {
		next = outputs.NewTransport()
	}
	cp.Transport = transport{next: next}
	return &cp
}

// Redact replaces an error that names the request URL (which may hold a
// secret, e.g. a Slack webhook path) by one naming only the scheme and
// host; it keeps the cause.
func Redact(err error) error {
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

// Classify turns a library error into an outputs error, prefixed with
// name: the context's error when it ended, else by the recorded non-2xx
// status (outputs.ClassifyStatus), else by other(err) when other is not
// nil, else the error as is (network errors: retryable by default).
func Classify(ctx context.Context, name string, rec *Response, err error, other func(error) error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", name, ctx.Err())
	}
	if rec != nil && rec.Redirect != nil {
		return fmt.Errorf("%s: %w", name, rec.Redirect)
	}
	err = fmt.Errorf("%s: %w", name, Redact(err))
	if rec != nil && rec.Status != 0 && (rec.Status < 200 || rec.Status > 299) {
		return outputs.ClassifyStatus(rec.Status, rec.RetryAfter, err)
	}
	if other != nil {
		return other(err)
	}
	return err
}
