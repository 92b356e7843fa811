package pipeline

import (
	"context"
	"fmt"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/internal/noise"
	"github.com/lookout-sec/lookout/router/internal/queue"
)

// Test routes one test alert and reports, per output, what happened to it.
// With applyFilters false it goes to every output (filters and noise
// control bypassed, as Falcosidekick's /test) and the report says what the
// filters would have decided; with applyFilters true it takes the path of
// a real alert: filters, then noise control.
func (f *Fanout) Test(ctx context.Context, a *api.Alert, applyFilters bool) (api.TestReport, error) {
	rep := api.TestReport{UUID: a.UUID, Filters: "bypassed"}
	if applyFilters {
		rep.Filters = "applied"
	}
	routed := map[string][]*api.Alert{}
	res := make(map[string]*api.TestResult, len(f.routes))
	for _, r := range f.routes {
		why := r.Filter.Reason(a)
		t := &api.TestResult{Output: r.Name, Result: "queued"}
		switch {
		case !applyFilters:
			t.WouldFilter = why
			routed[r.Name] = []*api.Alert{a}
		case why != "":
			t.Result, t.Reason = "filtered", why
			f.metrics.Filtered.WithLabelValues(r.Name).Inc()
		default:
			routed[r.Name] = []*api.Alert{a}
		}
		res[r.Name] = t
	}
	out := routed
	var ch *noise.Changes
	if applyFilters && f.noise != nil && len(routed) > 0 {
		out, ch, _ = f.noise.DecideContext(ctx, routed, func(output string, _ *api.Alert, decision string) {
			t := res[output]
			t.Reason = decision
			if decision != noise.DecisionNotified && decision != noise.DecisionRecorded {
				t.Result = "held"
			}
		})
	}
	if len(out) > 0 || ch != nil {
		err := f.store.EnqueueWith(ctx, out, func(w queue.Writer) error {
			if ch == nil {
				return nil
			}
			return ch.Apply(w)
		})
		if err != nil {
			return rep, fmt.Errorf("store alerts: %w", err)
		}
	}
	for name, as := range out {
		f.metrics.Accepted.WithLabelValues(name).Add(float64(len(as)))
		rep.Accepted += len(as)
	}
	for _, r := range f.routes {
		rep.Outputs = append(rep.Outputs, *res[r.Name])
	}
	return rep, nil
}
