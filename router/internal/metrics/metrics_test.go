package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestQueueCollector(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	stats := []QueueStat{
		{Output: "slack", Len: 3, Bytes: 1500, Oldest: now.Add(-90 * time.Second)},
		{Output: "empty"},
	}
	reg := prometheus.NewRegistry()
	New(reg).Init("slack")
	reg.MustRegister(NewQueueCollector(func() []QueueStat { return stats }, func() time.Time { return now }))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "/" + l.GetValue()
			}
			switch {
			case m.GetGauge() != nil:
				got[key] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				got[key] = m.GetCounter().GetValue()
			}
		}
	}
	want := map[string]float64{
		"lookout_router_output_queued/slack":              3,
		"lookout_router_output_queued_bytes/slack":        1500,
		"lookout_router_output_oldest_age_seconds/slack":  90,
		"lookout_router_output_oldest_age_seconds/empty":  0,
		"lookout_router_output_queued/empty":              0,
		"lookout_router_output_dead_lettered_total/slack": 0,
		"lookout_router_output_dropped_total/slack":       0,
		"lookout_router_output_retried_total/slack":       0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}
