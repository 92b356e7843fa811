// Package metrics exposes the sensor's Prometheus metrics: kernel event
// counters per probe category (seen, filtered, delivered, dropped by
// reason), state-table sizes, alerts per rule and priority, per-output
// queue depth, sent, retried and dropped alerts, rule evaluation time and
// rules reloads. Counters owned by other packages are read at scrape time
// through Sources; the event loop updates the rest directly.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lookout-sec/lookout/router/api/buildinfo"
	"github.com/lookout-sec/lookout/sensor/internal/emit"
	"github.com/lookout-sec/lookout/sensor/internal/probe"
	"github.com/lookout-sec/lookout/sensor/internal/state"
)

// Sources return current counters of the probe, the state tables and the
// emitter. Each must be safe to call from the scrape goroutine; nil ones
// are skipped.
type Sources struct {
	Probe func() probe.Stats
	State func() state.Stats
	Emit  func() []emit.OutputStats
}

// Metrics holds the sensor's registry and the metrics the event loop
// updates itself.
type Metrics struct {
	reg *prometheus.Registry
	// Alerts counts alerts raised, by rule and priority.
	Alerts *prometheus.CounterVec
	// EvalSeconds observes the time Engine.Eval takes for one event
	// (sampled: one event in EvalSampleEvery).
	EvalSeconds prometheus.Histogram
	// Events counts events the event loop handled.
	Events prometheus.Counter
	// Reloads counts rules reloads by result ("ok" or "error").
	Reloads *prometheus.CounterVec
	// RulesActive is the number of rules that run.
	RulesActive prometheus.Gauge
}

// EvalSampleEvery is the sampling period of EvalSeconds, in events.
const EvalSampleEvery = 16

// New registers the sensor's metrics, the Go runtime and process
// collectors, and the collector reading src.
func New(src Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		Alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lookout_sensor_alerts_total", Help: "Alerts raised by the rules, by rule and priority.",
		}, []string{"rule", "priority"}),
		EvalSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lookout_sensor_rule_eval_seconds",
			Help:    "Time to evaluate the rules for one event (sampled, one event in 16).",
			Buckets: prometheus.ExponentialBuckets(50e-9, 2, 16),
		}),
		Events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lookout_sensor_events_processed_total", Help: "Events the sensor's event loop handled (state update and rule evaluation).",
		}),
		Reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lookout_sensor_rules_reloads_total", Help: "Rules reloads (SIGHUP) by result.",
		}, []string{"result"}),
		RulesActive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lookout_sensor_rules_active", Help: "Rules currently evaluated.",
		}),
	}
	bi := buildinfo.Get()
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "lookout_sensor_build_info", Help: "Always 1; the labels name the running build.",
	}, []string{"version", "commit", "date", "goversion"})
	build.WithLabelValues(bi.Version, bi.Commit, bi.Date, bi.Go).Set(1)
	m.reg.MustRegister(m.Alerts, m.EvalSeconds, m.Events, m.Reloads, m.RulesActive, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&collector{src: src})
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Gather returns the current metric families, for tests and tools.
func (m *Metrics) Gather() (map[string]float64, error) {
	mfs, err := m.reg.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, mm := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range mm.GetLabel() {
				key += "|" + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case mm.Counter != nil:
				out[key] = mm.Counter.GetValue()
			case mm.Gauge != nil:
				out[key] = mm.Gauge.GetValue()
			case mm.Histogram != nil:
				out[key+"|count"] = float64(mm.Histogram.GetSampleCount())
			}
		}
	}
	return out, nil
}

// Register adds an event source's own collectors (the k8s_audit source's
// counters) to the registry.
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
