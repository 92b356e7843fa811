// Package backoff is the one retry delay of Lookout, shared by the router's
// retry stage and the sensor's emitter: exponential backoff with full
// jitter, and a destination's Retry-After honoured when it is longer.
//
// It is a stateless function of the retry number rather than a library's
// stateful backoff object (cenkalti/backoff's ExponentialBackOff keeps its
// current interval and is advanced by NextBackOff inside its Retry loop):
// the router's attempt count lives in the durable queue and survives
// restarts, and neither side runs its retries in a library's loop, so a
// pure Delay(n) is what both need, and it is a dozen lines.
package backoff

import (
	"math"
	"math/rand/v2"
	"time"
)

// Policy shapes the delays. Zero Initial means 1ms; zero Max means no cap
// (short of overflow).
type Policy struct {
	Initial time.Duration // the first delay, and the least any delay is
	Max     time.Duration // no delay is longer (unless Retry-After asks)
	// Jitter returns a value in [0, n); default math/rand/v2.Int64N.
	Jitter func(n int64) int64
}

// Delay returns the delay before retry number n (0 for the first retry):
// uniform between Initial and min(Max, Initial·2ⁿ) ("full jitter", so that
// many clients failing together spread their retries).
func (p Policy) Delay(n int) time.Duration {
	lo := p.Initial
	if lo <= 0 {
		lo = time.Millisecond
	}
	hi := lo
	for i := 0; i < n && (p.Max <= 0 || hi < p.Max) && hi < math.MaxInt64/2; i++ {
		hi *= 2
	}
	if p.Max > 0 && hi > p.Max {
		hi = p.Max
	}
	if hi <= lo {
		return lo
	}
	jitter := p.Jitter
	if jitter == nil {
		jitter = rand.Int64N
	}
	return lo + time.Duration(jitter(int64(hi-lo)+1))
}

// Wait is Delay(n), or retryAfter (the destination's Retry-After) when that
// is longer.
func (p Policy) Wait(n int, retryAfter time.Duration) time.Duration {
	return max(p.Delay(n), retryAfter)
}
