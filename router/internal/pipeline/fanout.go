package pipeline

import (
	"context"
	"fmt"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/metrics"
	"github.com/lookout-sec/lookout/router/internal/noise"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

// Route is one output's name and filter.
type Route struct {
	Name   string
	Filter Filter
}

// Fanout filters alerts per route, passes them through the noise stage
// and stores what each output gets, with the noise stage's state, in one
// commit. It is the ingest side of the pipeline.
type Fanout struct {
	routes  []Route
	store   *queue.Store
	metrics *metrics.Metrics
	noise   *noise.Stage // nil: every alert that passes the filters is delivered
}

// NewFanout returns a fan-out stage over routes, storing into store; with
// stage set, alerts go through noise control first.
func NewFanout(routes []Route, store *queue.Store, m *metrics.Metrics, stage *noise.Stage) *Fanout {
	return &Fanout{routes: routes, store: store, metrics: m, noise: stage}
}

// Ingest stores each alert for every route whose filter allows it, or for
// every route when bypassFilters is set (the /test endpoint), in one commit:
// all routes or none. It returns nil once that commit is durable; otherwise
// an error wrapping queue.ErrFull (no room, disk full) or queue.ErrClosed.
func (f *Fanout) Ingest(ctx context.Context, alerts []*api.Alert, bypassFilters bool) error {
	routed := make(map[string][]*api.Alert, len(f.routes))
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
		if len(take) > 0 {
			routed[r.Name] = take
		}
	}
	if len(routed) == 0 {
		return nil
	}
	if f.noise != nil && !bypassFilters {
		out, ch := f.noise.DecideContext(ctx, routed)
		if err := f.store.EnqueueWith(ctx, out, func(w queue.Writer) error { return ch.Apply(w) }); err != nil {
			return fmt.Errorf("store alerts: %w", err)
		}
		for name, as := range out {
			f.metrics.Accepted.WithLabelValues(name).Add(float64(len(as)))
		}
		return nil
	}
	if err := f.store.Enqueue(ctx, routed); err != nil {
		return fmt.Errorf("store alerts: %w", err)
	}
	for name, as := range routed {
		f.metrics.Accepted.WithLabelValues(name).Add(float64(len(as)))
	}
	return nil
}
