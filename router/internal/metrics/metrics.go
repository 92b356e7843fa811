// Package metrics defines the router's Prometheus metrics, registered on a
// registry passed in (never the global one).
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Metrics holds the router's collectors. Per-output series carry an
// "output" label with the output's configured name.
type Metrics struct {
	Accepted      *prometheus.CounterVec   // alerts queued for an output
	Delivered     *prometheus.CounterVec   // alerts the output accepted
	Failed        *prometheus.CounterVec   // alerts whose delivery failed
	Filtered      *prometheus.CounterVec   // alerts an output's filter dropped
	Dropped       *prometheus.CounterVec   // alerts refused because the queue was full
	Queued        *prometheus.GaugeVec     // alerts waiting in the output's queue
	Delivery      *prometheus.HistogramVec // seconds from queueing to delivery
	Ingest        *prometheus.HistogramVec // seconds to handle an ingest request, by endpoint
	IngestAlerts  *prometheus.CounterVec   // alerts received, by endpoint
	IngestRejects *prometheus.CounterVec   // requests refused, by status code
}

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	out := []string{"output"}
	m := &Metrics{
		Accepted:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookout_router_output_accepted_total", Help: "Alerts queued for delivery to an output."}, out),
		Delivered:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookout_router_output_delivered_total", Help: "Alerts delivered to an output."}, out),
		Failed:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookout_router_output_failed_total", Help: "Alerts whose delivery to an output failed."}, out),
		Filtered:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookout_router_output_filtered_total", Help: "Alerts an output's filters (min_priority, rules, tags, sources) dropped."}, out),
		Dropped:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookout_router_output_dropped_total", Help: "Alerts refused because the output's queue was full."}, out),
		Queued:        prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lookout_router_output_queued", Help: "Alerts waiting in an output's queue."}, out),
		Delivery:      prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lookout_router_output_delivery_seconds", Help: "Seconds from queueing to delivery.", Buckets: prometheus.DefBuckets}, out),
		Ingest:        prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lookout_router_ingest_seconds", Help: "Seconds to handle an ingest request.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}, []string{"endpoint"}),
		IngestAlerts:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookout_router_ingest_alerts_total", Help: "Alerts received."}, []string{"endpoint"}),
		IngestRejects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookout_router_ingest_rejected_total", Help: "Ingest requests refused, by status code."}, []string{"code"}),
	}
	reg.MustRegister(m.Accepted, m.Delivered, m.Failed, m.Filtered, m.Dropped, m.Queued, m.Delivery, m.Ingest, m.IngestAlerts, m.IngestRejects)
	return m
}
