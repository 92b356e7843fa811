package pipeline

import (
	"time"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/router/api/backoff"
)

// RetryPolicy decides what happens after a failed attempt.
type RetryPolicy struct {
	MaxAttempts    int           // attempts before dead-lettering; 0 = no cap
	MaxAge         time.Duration // age (since acceptance) after which a failure dead-letters; 0 = no cap
	InitialBackoff time.Duration // first delay
	MaxBackoff     time.Duration // delay cap
	// Jitter returns a value in [0, n); default math/rand/v2.Int64N (tests).
	Jitter func(n int64) int64
}

// Backoff returns the delay before attempt number attempts+1 after attempts
// failures (router/api/backoff: full jitter, uniform between
// InitialBackoff and min(MaxBackoff, InitialBackoff·2^(attempts-1))).
func (p RetryPolicy) Backoff(attempts int) time.Duration {
	return backoff.Policy{Initial: p.InitialBackoff, Max: p.MaxBackoff, Jitter: p.Jitter}.Delay(attempts - 1)
}

// Decision is what to do with an item after a failed attempt.
type Decision struct {
	DeadLetter bool          // give up: permanent, or the budget is spent
	Wait       time.Duration // otherwise: retry after this long
}

// Decide classifies a failure of an item that has now failed attempts times
// and was accepted age ago: permanent errors and spent budgets dead-letter;
// otherwise the wait is the backoff, or the destination's Retry-After when
// that is longer.
func (p RetryPolicy) Decide(err error, attempts int, age time.Duration) Decision {
	if !outputs.IsRetryable(err) {
		return Decision{DeadLetter: true}
	}
	if p.MaxAttempts > 0 && attempts >= p.MaxAttempts {
		return Decision{DeadLetter: true}
	}
	wait := backoff.Policy{Initial: p.InitialBackoff, Max: p.MaxBackoff, Jitter: p.Jitter}.Wait(attempts-1, outputs.RetryAfter(err))
	if p.MaxAge > 0 && age+wait > p.MaxAge {
		return Decision{DeadLetter: true}
	}
	return Decision{Wait: wait}
}
