// Package metrics defines the router's Prometheus metrics, registered on a
// registry passed in (never the global one).
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lookout-sec/lookout/router/api/buildinfo"
)

// Metrics holds the router's collectors. Per-output series carry an
// "output" label with the output's configured name.
type Metrics struct {
	Accepted      *prometheus.CounterVec   // alerts queued for an output
	Delivered     *prometheus.CounterVec   // alerts the output accepted
	Failed        *prometheus.CounterVec   // failed delivery attempts (one per alert per attempt)
	Retried       *prometheus.CounterVec   // retries scheduled
	DeadLettered  *prometheus.CounterVec   // alerts moved to the dead-letter store
	Filtered      *prometheus.CounterVec   // alerts an output's filter dropped
	Dropped       *prometheus.CounterVec   // alerts evicted by overflow: drop_oldest
	Delivery      *prometheus.HistogramVec // seconds from acceptance to delivery
	Ingest        *prometheus.HistogramVec // seconds to handle an ingest request, by endpoint
	IngestAlerts  *prometheus.CounterVec   // alerts received, by endpoint
	IngestRejects *prometheus.CounterVec   // requests refused, by status code
	Noise         *prometheus.CounterVec   // noise-stage decisions, by output and decision
	Digests       *prometheus.CounterVec   // group notifications (digests or lone alerts) queued, by output
	Findings      *prometheus.GaugeVec     // findings kept, by status
	Silences      *prometheus.GaugeVec     // silences, by state
	StateUp       prometheus.Gauge         // 1 while the shared state store answers (docs/replicas.md)
	Unavailable   *prometheus.CounterVec   // alerts decided in safe mode (shared state store down), by output
	Commit        prometheus.Histogram     // seconds per queue commit (group commit: one fsync'd transaction)
	CommitWrites  prometheus.Histogram     // writes (enqueues, acks, state changes) per queue commit
}

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	out := []string{"output"}
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, out)
	}
	m := &Metrics{
		Accepted:      counter("lookout_router_output_accepted_total", "Alerts durably queued for delivery to an output."),
		Delivered:     counter("lookout_router_output_delivered_total", "Alerts delivered to an output."),
		Failed:        counter("lookout_router_output_failed_total", "Failed delivery attempts to an output (one per alert per attempt)."),
		Retried:       counter("lookout_router_output_retried_total", "Retries scheduled after a failed attempt."),
		DeadLettered:  counter("lookout_router_output_dead_lettered_total", "Alerts moved to the dead-letter store (permanent failure or retry budget spent)."),
		Filtered:      counter("lookout_router_output_filtered_total", "Alerts an output's filters (min_priority, rules, tags, sources, fields, the output's own rules allow-list) dropped."),
		Dropped:       counter("lookout_router_output_dropped_total", "Queued alerts evicted because the store was full and the output has overflow: drop_oldest."),
		Delivery:      prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lookout_router_output_delivery_seconds", Help: "Seconds from acceptance to delivery.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 20)}, out),
		Ingest:        prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lookout_router_ingest_seconds", Help: "Seconds to handle an ingest request, durable commit included.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}, []string{"endpoint"}),
		IngestAlerts:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookout_router_ingest_alerts_total", Help: "Alerts received."}, []string{"endpoint"}),
		IngestRejects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookout_router_ingest_rejected_total", Help: "Ingest requests refused, by status code."}, []string{"code"}),
		Noise: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookout_router_noise_decisions_total",
			Help: "Noise-control decisions per output: notified, recorded, or held back (silenced, expected, learning, repeat, grouped)."}, []string{"output", "decision"}),
		Digests: counter("lookout_router_noise_group_notifications_total", "Group notifications (digests, or the alert itself when alone in its group) queued for an output."),
	}
	m.Findings = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lookout_router_noise_findings", Help: "Findings kept by the noise stage, by status (new, expected, resolved)."}, []string{"status"})
	m.Silences = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lookout_router_noise_silences", Help: "Silences, by state (active, pending, expired)."}, []string{"state"})
	m.StateUp = prometheus.NewGauge(prometheus.GaugeOpts{Name: "lookout_router_noise_state_up",
		Help: "1 while the noise stage's state store answers; 0 while it decides in safe mode (every alert notifies, marked state unavailable)."})
	m.StateUp.Set(1)
	m.Unavailable = counter("lookout_router_noise_state_unavailable_total", "Alerts the noise stage decided in safe mode because the shared state store was unavailable.")
	m.Commit = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "lookout_router_queue_commit_seconds",
		Help: "Seconds per queue commit (one transaction holding every write that waited, fsync included).", Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16)})
	m.CommitWrites = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "lookout_router_queue_commit_writes",
		Help: "Writes (ingest requests, acks, state changes) shared by one queue commit.", Buckets: prometheus.ExponentialBuckets(1, 2, 12)})
	bi := buildinfo.Get()
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "lookout_router_build_info", Help: "Always 1; the labels name the running build.",
	}, []string{"version", "commit", "date", "goversion"})
	build.WithLabelValues(bi.Version, bi.Commit, bi.Date, bi.Go).Set(1)
	reg.MustRegister(build)
	reg.MustRegister(m.Accepted, m.Delivered, m.Failed, m.Retried, m.DeadLettered, m.Filtered, m.Dropped, m.Delivery, m.Ingest, m.IngestAlerts, m.IngestRejects, m.Noise, m.Digests, m.Findings, m.Silences, m.StateUp, m.Unavailable, m.Commit, m.CommitWrites)
	return m
}

// Init makes output's series visible at zero.
func (m *Metrics) Init(output string) {
	for _, c := range []*prometheus.CounterVec{m.Accepted, m.Delivered, m.Failed, m.Retried, m.DeadLettered, m.Filtered, m.Dropped, m.Digests} {
		c.WithLabelValues(output)
	}
}

// QueueStat is one output's queue as the queue collector reports it.
type QueueStat struct {
	Output string
	Len    int
	Bytes  int64
	Oldest time.Time // zero when empty
}

var (
	queuedDesc = prometheus.NewDesc("lookout_router_output_queued", "Alerts waiting in (or in flight from) an output's queue.", []string{"output"}, nil)
	bytesDesc  = prometheus.NewDesc("lookout_router_output_queued_bytes", "Bytes an output's queue holds in the store.", []string{"output"}, nil)
	ageDesc    = prometheus.NewDesc("lookout_router_output_oldest_age_seconds", "Age of the oldest alert in an output's queue (0 when empty).", []string{"output"}, nil)
)

type queueCollector struct {
	stats func() []QueueStat
	now   func() time.Time
}

// NewQueueCollector returns a collector reading queue gauges from stats at
// scrape time: queued items, bytes and oldest-item age per output.
func NewQueueCollector(stats func() []QueueStat, now func() time.Time) prometheus.Collector {
	if now == nil {
		now = time.Now
	}
	return queueCollector{stats: stats, now: now}
}

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queuedDesc
	ch <- bytesDesc
	ch <- ageDesc
}

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	for _, s := range c.stats() {
		age := 0.0
		if !s.Oldest.IsZero() {
			age = now.Sub(s.Oldest).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(s.Len), s.Output)
		ch <- prometheus.MustNewConstMetric(bytesDesc, prometheus.GaugeValue, float64(s.Bytes), s.Output)
		ch <- prometheus.MustNewConstMetric(ageDesc, prometheus.GaugeValue, age, s.Output)
	}
}

var (
	usedDesc = prometheus.NewDesc("lookout_router_queue_used_bytes", "Bytes the durable store holds for every output, accounted against queue.max_bytes.", nil, nil)
	maxDesc  = prometheus.NewDesc("lookout_router_queue_max_bytes", "queue.max_bytes: the bytes the durable store accepts before ingest is refused or the oldest alerts are dropped (0: no limit).", nil, nil)
)

type storeCollector struct {
	used func() int64
	max  int64
}

// NewStoreCollector returns a collector of the store's used bytes (read
// at scrape time) and its limit, for "queue near full" alerts.
func NewStoreCollector(used func() int64, max int64) prometheus.Collector {
	return storeCollector{used: used, max: max}
}

func (c storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- usedDesc
	ch <- maxDesc
}

func (c storeCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(usedDesc, prometheus.GaugeValue, float64(c.used()))
	ch <- prometheus.MustNewConstMetric(maxDesc, prometheus.GaugeValue, float64(c.max))
}
