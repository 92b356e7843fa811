package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/lookout-sec/lookout/outputs"
	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/metrics"
)

// Worker takes items from one output's queue, in order, and delivers them.
// This version makes one attempt per item and logs failures; the retry
// stage with backoff and dead letters (issue 3) wraps Send here.
type Worker struct {
	Name    string
	Queue   Queue
	Output  outputs.Output
	Timeout time.Duration // per attempt; default 30s
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	Now     func() time.Time
}

// Run delivers until the queue is closed and drained or ctx ends.
func (w *Worker) Run(ctx context.Context) error {
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Timeout <= 0 {
		w.Timeout = 30 * time.Second
	}
	for {
		it, err := w.Queue.Next(ctx)
		if errors.Is(err, ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		w.deliver(ctx, it)
		if err := w.Queue.Ack(it); err != nil {
			return err
		}
		w.Metrics.Queued.WithLabelValues(w.Name).Set(float64(w.Queue.Len()))
	}
}

func (w *Worker) deliver(ctx context.Context, it Item) {
	actx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	err := w.Output.Send(actx, []*api.Alert{it.Alert})
	if err != nil {
		w.Metrics.Failed.WithLabelValues(w.Name).Inc()
		w.Logger.Warn("delivery failed", "output", w.Name, "uuid", it.Alert.UUID, "rule", it.Alert.Rule,
			"retryable", outputs.IsRetryable(err), "err", err)
		return
	}
	w.Metrics.Delivered.WithLabelValues(w.Name).Inc()
	w.Metrics.Delivery.WithLabelValues(w.Name).Observe(w.Now().Sub(it.Queued).Seconds())
}
