package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/metrics"
)

// Route is one output's filter and queue.
type Route struct {
	Name   string
	Filter Filter
	Queue  Queue
}

// Fanout filters alerts per route and enqueues what passes. It is the
// ingest side of the pipeline.
type Fanout struct {
	routes  []Route
	metrics *metrics.Metrics
}

// NewFanout returns a fan-out stage over routes.
func NewFanout(routes []Route, m *metrics.Metrics) *Fanout {
	return &Fanout{routes: routes, metrics: m}
}

// Ingest enqueues each alert for every route whose filter allows it, or for
// every route when bypassFilters is set (the /test endpoint). It returns nil
// when every routed queue accepted its alerts; otherwise an error wrapping
// ErrFull or ErrClosed. A route with nothing to take is not an error.
func (f *Fanout) Ingest(ctx context.Context, alerts []*api.Alert, bypassFilters bool) error {
	var errs []error
	for _, r := range f.routes {
		take := make([]*api.Alert, 0, len(alerts))
		for _, a := range alerts {
			if bypassFilters || r.Filter.Allow(a) {
				take = append(take, a)
			}
		}
		if n := len(alerts) - len(take); n > 0 {
			f.metrics.Filtered.WithLabelValues(r.Name).Add(float64(n))
		}
		if len(take) == 0 {
			continue
		}
		if err := r.Queue.Enqueue(ctx, take); err != nil {
			if errors.Is(err, ErrFull) {
				f.metrics.Dropped.WithLabelValues(r.Name).Add(float64(len(take)))
			}
			errs = append(errs, fmt.Errorf("output %s: %w", r.Name, err))
			continue
		}
		f.metrics.Accepted.WithLabelValues(r.Name).Add(float64(len(take)))
		f.metrics.Queued.WithLabelValues(r.Name).Set(float64(r.Queue.Len()))
	}
	return errors.Join(errs...)
}
