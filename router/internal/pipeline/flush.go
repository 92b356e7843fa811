package pipeline

import (
	"context"
	"log/slog"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/metrics"
	"github.com/lookout-sec/lookout/router/internal/noise"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

// Flusher sends the noise stage's due group digests every Interval, and
// lets it finish learning windows and apply retention. A digest whose
// commit fails is put back into its group and tried at the next tick.
type Flusher struct {
	Stage    *noise.Stage
	Store    *queue.Store
	Metrics  *metrics.Metrics
	Logger   *slog.Logger
	Interval time.Duration // default 1s
}

// Run flushes until ctx ends.
func (f *Flusher) Run(ctx context.Context) {
	iv := f.Interval
	if iv <= 0 {
		iv = time.Second
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Write what only the flush writes (counts, last-seen) before the store closes.
			if err := f.Once(context.WithoutCancel(ctx)); err != nil {
				f.Logger.Warn("noise: last flush at shutdown failed", "err", err)
			}
			return
		case <-t.C:
			f.gauges()
			if err := f.Once(ctx); err != nil && ctx.Err() == nil {
				f.Logger.Warn("noise: group digests not stored; retried at the next tick", "err", err)
			}
		}
	}
}

// gauges refreshes the findings and silences gauges.
func (f *Flusher) gauges() {
	for status, n := range f.Stage.Counts() {
		f.Metrics.Findings.WithLabelValues(status).Set(float64(n))
	}
	states := map[string]int{noise.SilenceActive: 0, noise.SilencePending: 0, noise.SilenceExpired: 0}
	now := time.Now()
	for _, x := range f.Stage.Silences("all") {
		states[x.StateAt(now)]++
	}
	for st, n := range states {
		f.Metrics.Silences.WithLabelValues(st).Set(float64(n))
	}
}

// Once flushes what is due now.
func (f *Flusher) Once(ctx context.Context) error {
	if f.Stage.IsShared() {
		// The digests are queued inside the transaction that claims their
		// groups: no other replica sends them, and a failed enqueue leaves
		// them due.
		return f.Stage.FlushShared(ctx, func(out map[string][]*api.Alert) error {
			if err := f.Store.Enqueue(ctx, out); err != nil {
				return err
			}
			f.counted(out)
			return nil
		})
	}
	out, ch, undo := f.Stage.Flush()
	if ch.Empty() && len(out) == 0 {
		return nil
	}
	if err := f.Store.EnqueueWith(ctx, out, func(w queue.Writer) error { return ch.Apply(w) }); err != nil {
		undo()
		return err
	}
	f.counted(out)
	return nil
}

func (f *Flusher) counted(out map[string][]*api.Alert) {
	for name, as := range out {
		f.Metrics.Accepted.WithLabelValues(name).Add(float64(len(as)))
		f.Metrics.Digests.WithLabelValues(name).Add(float64(len(as)))
	}
}
