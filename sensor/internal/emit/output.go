package emit

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/api/backoff"
	"github.com/lookout-sec/lookout/sensor/internal/spool"
)

const (
	dropQueueFull = iota
	dropRetries
	dropRejected
	dropShutdown
	dropTooLarge
	dropSpoolFull
	numDrop
)

var dropNames = [numDrop]string{DropQueueFull, DropRetriesExhausted, DropRejected, DropShutdown, DropTooLarge, DropSpoolFull}

// OutputStats are one output's counters.
type OutputStats struct {
	Name string
	// Queued is the number of alerts waiting in the queue or in the batch
	// being delivered.
	Queued int
	// Sent counts alerts the destination accepted.
	Sent uint64
	// Retries counts failed Write attempts that were retried.
	Retries uint64
	// Dropped counts lost alerts by reason (DropQueueFull, ...), the
	// sensor's own drop alerts excluded.
	Dropped map[string]uint64
	// DropAlertsLost counts the sensor's own "alert drops" alerts that
	// were lost; they are not drops themselves and raise no drop alert.
	DropAlertsLost uint64
	// Spooled is the number of alerts in the on-disk spool (included in
	// Queued).
	Spooled int
}

// output is one destination's queue and delivery goroutine.
type output struct {
	name     string
	w        Writer
	ch       chan api.Alert
	size     int
	interval time.Duration
	retryFor time.Duration
	backoff  Backoff
	log      *slog.Logger

	inflight     atomic.Int64
	sent         atomic.Uint64
	retries      atomic.Uint64
	drops        [numDrop]atomic.Uint64
	lostInternal atomic.Uint64 // drop alerts lost (not counted as drops)

	spool  *spool.Spool // nil: in-memory delivery with retryFor
	sender Sender       // with spool
	limit  atomic.Int64 // the destination's body limit, with spool
}

// drop counts alerts lost for reason, the sensor's own drop alerts apart.
func (o *output) drop(reason int, alerts []api.Alert) {
	for i := range alerts {
		if isInternal(&alerts[i]) {
			o.lostInternal.Add(1)
		} else {
			o.drops[reason].Add(1)
		}
	}
}

// isInternal reports whether a is the sensor's own drop alert.
func isInternal(a *api.Alert) bool { return a.Rule == DropRule && a.Source == "internal" }

func newOutput(o Output, log *slog.Logger) *output {
	if o.QueueSize <= 0 {
		o.QueueSize = 10000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.Backoff.Initial <= 0 {
		o.Backoff.Initial = 100 * time.Millisecond
	}
	if o.Backoff.Max <= 0 {
		o.Backoff.Max = 10 * time.Second
	}
	out := &output{name: o.Name, w: o.Writer, ch: make(chan api.Alert, o.QueueSize), size: o.BatchSize,
		interval: o.BatchInterval, retryFor: o.RetryFor, backoff: o.Backoff, log: log.With("output", o.Name),
		spool: o.Spool, sender: o.Sender}
	out.limit.Store(api.DefaultMaxBodyBytes)
	return out
}

func (o *output) stats() OutputStats {
	s := OutputStats{Name: o.name, Queued: len(o.ch) + int(o.inflight.Load()), Sent: o.sent.Load(),
		Retries: o.retries.Load(), Dropped: make(map[string]uint64, numDrop), DropAlertsLost: o.lostInternal.Load()}
	if o.spool != nil {
		s.Spooled, _ = o.spool.Len()
		s.Queued += s.Spooled
	}
	for i, n := range dropNames {
		s.Dropped[n] = o.drops[i].Load()
	}
	return s
}

// run batches and delivers until the queue is closed and drained. When hard
// is cancelled, what remains is counted as shutdown drops.
func (o *output) run(hard context.Context) {
	if o.spool != nil {
		o.runSpooled(hard)
		return
	}
	batch := make([]api.Alert, 0, o.size)
	var timer *time.Timer
	for {
		a, ok := <-o.ch
		if !ok {
			return
		}
		batch = append(batch[:0], a)
		open := o.fill(&batch, &timer)
		o.inflight.Store(int64(len(batch)))
		o.deliver(hard, batch)
		o.inflight.Store(0)
		clear(batch)
		if !open {
			return
		}
	}
}

// fill adds queued alerts to batch until it is full or the batch interval
// passes. It reports false when the queue was closed and is now empty.
func (o *output) fill(batch *[]api.Alert, timer **time.Timer) bool {
	if o.interval <= 0 {
		for len(*batch) < o.size {
			select {
			case a, ok := <-o.ch:
				if !ok {
					return false
				}
				*batch = append(*batch, a)
			default:
				return true
			}
		}
		return true
	}
	if *timer == nil {
		*timer = time.NewTimer(o.interval)
	} else {
		(*timer).Reset(o.interval)
	}
	defer (*timer).Stop()
	for len(*batch) < o.size {
		select {
		case a, ok := <-o.ch:
			if !ok {
				return false
			}
			*batch = append(*batch, a)
		case <-(*timer).C:
			return true
		}
	}
	return true
}

// deliver writes batch, retrying retryable errors with backoff for up to
// retryFor, and counts the outcome.
func (o *output) deliver(hard context.Context, batch []api.Alert) {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		if hard.Err() != nil {
			o.drop(dropShutdown, batch)
			return
		}
		err := o.w.Write(hard, batch)
		if err == nil {
			o.sent.Add(uint64(len(batch)))
			return
		}
		retry, after := classify(err)
		switch {
		case hard.Err() != nil:
			o.drop(dropShutdown, batch)
			return
		case !retry:
			o.drop(dropRejected, batch)
			o.log.Error("emit: destination rejected alerts; dropped", "alerts", len(batch), "err", err)
			return
		}
		wait := o.backoff.wait(attempt, after)
		if time.Since(start)+wait > o.retryFor {
			o.drop(dropRetries, batch)
			o.log.Error("emit: delivery kept failing; alerts dropped", "alerts", len(batch),
				"attempts", attempt+1, "retried_for", time.Since(start).Round(time.Millisecond), "err", err)
			return
		}
		o.retries.Add(1)
		o.log.Warn("emit: delivery failed; retrying", "alerts", len(batch), "attempt", attempt+1, "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-hard.Done():
			t.Stop()
		}
	}
}

// wait returns the delay before retry number attempt (0-based), or after
// (the destination's Retry-After) when that is longer: router/api/backoff,
// the router's own retry delay.
func (b Backoff) wait(attempt int, after time.Duration) time.Duration {
	return backoff.Policy{Initial: b.Initial, Max: b.Max}.Wait(attempt, after)
}

// Retryable is implemented by errors that know whether a retry can help
// (api.StatusError does).
type Retryable interface{ Retryable() bool }

// classify reports whether err is worth retrying and any delay the
// destination asked for. Errors that do not say (connection refused,
// timeouts) are retryable.
func classify(err error) (retry bool, after time.Duration) {
	var se *api.StatusError
	if errors.As(err, &se) {
		return se.Retryable(), se.RetryAfter
	}
	var r Retryable
	if errors.As(err, &r) {
		return r.Retryable(), 0
	}
	return true, 0
}

// Permanent marks err as not retryable.
func Permanent(err error) error { return permanent{err} }

type permanent struct{ error }

func (p permanent) Retryable() bool { return false }
func (p permanent) Unwrap() error   { return p.error }
