// Package outputs defines the contract between the router and its
// destinations: an Output delivers a batch of alerts once and reports, with a
// typed error, whether a retry can help and when. Retrying, backoff,
// queueing, filtering and metrics belong to the router, never to an output.
//
// Each destination lives in its own package (webhook, stdout, slack,
// pagerduty, elasticsearch) with a Config that has defaults and Validate, a
// New constructor, tests against a local server and a README.
package outputs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// Output delivers alerts to one destination.
type Output interface {
	// Send delivers alerts once; it never retries. It returns nil when every
	// alert was accepted, a *PartialError when only some were, and otherwise
	// an error that RetryableError and RetryAfter classify. Send honours ctx.
	Send(ctx context.Context, alerts []*api.Alert) error
	// Close releases resources. It is safe to call more than once.
	Close() error
}

// Error is a delivery failure with its classification.
type Error struct {
	Retryable  bool          // a later attempt may succeed
	RetryAfter time.Duration // the destination asked to wait this long (0: no hint)
	Status     int           // HTTP status when there was one
	Err        error
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("status %d: %v", e.Status, e.Err)
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Permanent wraps err as a failure that a retry cannot fix.
func Permanent(err error) error { return &Error{Err: err} }

// Temporary wraps err as a failure worth retrying, after wait if non-zero.
func Temporary(err error, wait time.Duration) error {
	return &Error{Retryable: true, RetryAfter: wait, Err: err}
}

// ClassifyStatus maps an HTTP status to a delivery error: 408, 425, 429 and
// 5xx are retryable, other 4xx (and anything unexpected) are permanent.
// retryAfter is the parsed Retry-After header (0 if none). It returns nil for
// 2xx.
func ClassifyStatus(status int, retryAfter time.Duration, err error) error {
	if status >= 200 && status < 300 {
		return nil
	}
	if err == nil {
		err = errors.New(http.StatusText(status))
	}
	retry := status == http.StatusRequestTimeout || status == http.StatusTooEarly ||
		status == http.StatusTooManyRequests || status >= 500
	return &Error{Retryable: retry, RetryAfter: retryAfter, Status: status, Err: err}
}

// IsRetryable reports whether err is worth retrying. Errors that are not
// *Error (network errors, timeouts) are retryable unless they come from the
// caller's own cancellation.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var pe *PartialError
	if errors.As(err, &pe) {
		return true
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable
	}
	return !errors.Is(err, context.Canceled)
}

// RetryAfter returns the wait the destination asked for, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// PartialError reports a batch where some alerts failed. Failed maps the
// index of each failed alert in the batch to its own (classified) error;
// alerts not in Failed were delivered.
type PartialError struct {
	Failed map[int]error
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("%d alerts of the batch failed", len(e.Failed))
}

// SendEach delivers alerts one at a time, in order, with send, and stops at
// the first failure: when nothing was delivered it returns that error,
// otherwise a *PartialError marking that alert and every later one as
// failed with it (so the router retries exactly those, in order).
func SendEach(alerts []*api.Alert, send func(*api.Alert) error) error {
	for i, a := range alerts {
		err := send(a)
		if err == nil {
			continue
		}
		if i == 0 {
			return err
		}
		pe := &PartialError{Failed: make(map[int]error, len(alerts)-i)}
		for j := i; j < len(alerts); j++ {
			pe.Failed[j] = err
		}
		return pe
	}
	return nil
}
