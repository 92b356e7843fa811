package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/metrics"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

// Worker drains one output's queue: Concurrency loops each lease up to
// BatchSize items in order, send them with a per-attempt Timeout and ack,
// retry or dead-letter them by Policy. A retryable failure of a whole send
// also pauses the output (all its loops) for a backoff that grows with
// consecutive failures and honours Retry-After, so a down destination is
// not hammered; a success resets it. Workers share nothing but the store,
// so a hung or failing output never slows another.
type Worker struct {
	Name        string
	Store       *queue.Store
	Output      outputs.Output
	Concurrency int           // default 1
	BatchSize   int           // default 1
	Timeout     time.Duration // per attempt; default 10s
	Policy      RetryPolicy
	Metrics     *metrics.Metrics
	Logger      *slog.Logger
	Now         func() time.Time // default time.Now

	mu         sync.Mutex
	fails      int       // consecutive failed sends
	pauseUntil time.Time // no new send before this
}

// Run delivers until ctx ends or the store closes. Sends already in flight
// run on sendCtx, so a shutdown can let them finish (sendCtx still live)
// after ctx stopped new leases; a send cut by sendCtx is released back to the
// queue without counting as an attempt.
func (w *Worker) Run(ctx, sendCtx context.Context) {
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Timeout <= 0 {
		w.Timeout = 10 * time.Second
	}
	n := max(w.Concurrency, 1)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { w.loop(ctx, sendCtx) })
	}
	wg.Wait()
}

func (w *Worker) loop(ctx, sendCtx context.Context) {
	for {
		if !w.waitPause(ctx) {
			return
		}
		items, err := w.Store.Lease(ctx, w.Name, max(w.BatchSize, 1))
		if err != nil {
			if !errors.Is(err, queue.ErrClosed) && ctx.Err() == nil {
				w.Logger.Error("worker stopped: cannot read its queue", "output", w.Name, "err", err)
			}
			return
		}
		w.send(sendCtx, items)
	}
}

// waitPause sleeps until the output's pause ends; false if ctx ended.
func (w *Worker) waitPause(ctx context.Context) bool {
	for {
		w.mu.Lock()
		d := w.pauseUntil.Sub(w.Now())
		w.mu.Unlock()
		if d <= 0 {
			return ctx.Err() == nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

func (w *Worker) send(sendCtx context.Context, items []queue.Item) {
	alerts := make([]*api.Alert, len(items))
	for i, it := range items {
		alerts[i] = it.Alert
	}
	actx, cancel := context.WithTimeout(sendCtx, w.Timeout)
	err := w.Output.Send(actx, alerts)
	cancel()
	if err == nil {
		w.delivered(items...)
		w.note(nil)
		return
	}
	if sendCtx.Err() != nil {
		// Shutting down: not the destination's fault and not an attempt.
		w.Store.Release(w.Name, items...)
		return
	}
	var pe *outputs.PartialError
	if errors.As(err, &pe) && len(items) > 1 {
		var ok []queue.Item
		for i, it := range items {
			if e, failed := pe.Failed[i]; failed {
				w.failed(it, e)
			} else {
				ok = append(ok, it)
			}
		}
		w.delivered(ok...)
		if len(ok) == 0 {
			w.note(err)
		} else {
			w.note(nil)
		}
		return
	}
	if errors.As(err, &pe) && len(pe.Failed) > 0 {
		for _, e := range pe.Failed {
			err = e
		}
	}
	for _, it := range items {
		w.failed(it, err)
	}
	w.note(err)
}

func (w *Worker) delivered(items ...queue.Item) {
	if len(items) == 0 {
		return
	}
	if err := w.Store.Ack(w.Name, items...); err != nil {
		w.Logger.Warn("ack failed; the alerts will be delivered again after a restart", "output", w.Name, "err", err)
	}
	now := w.Now()
	w.Metrics.Delivered.WithLabelValues(w.Name).Add(float64(len(items)))
	for _, it := range items {
		w.Metrics.Delivery.WithLabelValues(w.Name).Observe(now.Sub(it.Queued).Seconds())
	}
}

// failed applies the retry policy to one item after a failed attempt.
func (w *Worker) failed(it queue.Item, err error) {
	w.Metrics.Failed.WithLabelValues(w.Name).Inc()
	now := w.Now()
	attempts := it.Attempts + 1
	d := w.Policy.Decide(err, attempts, now.Sub(it.Queued))
	log := w.Logger.With("output", w.Name, "uuid", it.Alert.UUID, "rule", it.Alert.Rule, "attempts", attempts, "err", err)
	if d.DeadLetter {
		if derr := w.Store.DeadLetter(w.Name, it, err, true); derr != nil {
			log.Error("dead-lettering failed; the alert stays queued", "store_err", derr)
			w.Store.Release(w.Name, it)
			return
		}
		w.Metrics.DeadLettered.WithLabelValues(w.Name).Inc()
		log.Warn("alert dead-lettered", "retryable", outputs.IsRetryable(err))
		return
	}
	if rerr := w.Store.Retry(w.Name, it, now.Add(d.Wait), err); rerr != nil {
		log.Error("recording the retry failed", "store_err", rerr)
		w.Store.Release(w.Name, it)
		return
	}
	w.Metrics.Retried.WithLabelValues(w.Name).Inc()
	log.Info("delivery failed; will retry", "in", d.Wait)
}

// note updates the output-wide pause after a send: a retryable failure
// pauses the output, a success (err nil) or a permanent failure does not.
func (w *Worker) note(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.fails, w.pauseUntil = 0, time.Time{}
		return
	}
	if !outputs.IsRetryable(err) {
		return
	}
	w.fails++
	wait := w.Policy.Backoff(w.fails)
	if ra := outputs.RetryAfter(err); ra > wait {
		wait = ra
	}
	if until := w.Now().Add(wait); until.After(w.pauseUntil) {
		w.pauseUntil = until
	}
}
