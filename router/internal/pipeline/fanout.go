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
	observe Observer     // nil: nobody watches
}

// Accepted is one alert the router committed and what became of it.
type Accepted struct {
	Alert   *api.Alert
	Finding *api.FindingRef // nil without the noise stage
	// Outputs maps every output whose filters took the alert to
	// "delivered" (queued for it) or the reason it was held back
	// (noise.Held*).
	Outputs  map[string]string
	Silences []string // ids of the silences that matched
}

// Delivered is the value of Accepted.Outputs for an output the alert was
// queued for.
const Delivered = "delivered"

// Observer sees every accepted batch after its commit (the UI's history
// and live stream). It runs on the ingest path: it must not block.
type Observer func([]Accepted)

// WithObserver makes f hand every committed batch to fn; it returns f.
func (f *Fanout) WithObserver(fn Observer) *Fanout {
	f.observe = fn
	return f
}

// observed builds what the observer gets.
func (f *Fanout) observed(alerts []*api.Alert, routed map[string][]*api.Alert, anns map[*api.Alert]*api.Annotation) {
	if f.observe == nil {
		return
	}
	acc := make([]Accepted, len(alerts))
	idx := make(map[*api.Alert]int, len(alerts))
	for i, a := range alerts {
		acc[i] = Accepted{Alert: a, Outputs: map[string]string{}}
		idx[a] = i
	}
	for name, as := range routed {
		for _, a := range as {
			acc[idx[a]].Outputs[name] = Delivered
		}
	}
	for a, ann := range anns {
		i, ok := idx[a]
		if !ok || ann == nil {
			continue
		}
		acc[i].Finding, acc[i].Silences = ann.Finding, ann.Silences
		for name, why := range ann.Held {
			if why != noise.HeldGrouped { // a grouped alert is delivered in the digest
				acc[i].Outputs[name] = why
			}
		}
	}
	f.observe(acc)
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
		f.observed(alerts, routed, nil)
		return nil
	}
	if f.noise != nil && !bypassFilters {
		out, ch, anns := f.noise.DecideContext(ctx, routed, nil)
		if err := f.store.EnqueueWith(ctx, out, func(w queue.Writer) error { return ch.Apply(w) }); err != nil {
			return fmt.Errorf("store alerts: %w", err)
		}
		for name, as := range out {
			f.metrics.Accepted.WithLabelValues(name).Add(float64(len(as)))
		}
		f.observed(alerts, routed, anns)
		return nil
	}
	if err := f.store.Enqueue(ctx, routed); err != nil {
		return fmt.Errorf("store alerts: %w", err)
	}
	for name, as := range routed {
		f.metrics.Accepted.WithLabelValues(name).Add(float64(len(as)))
	}
	f.observed(alerts, routed, nil)
	return nil
}
