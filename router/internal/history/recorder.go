package history

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lookout-sec/lookout/router/internal/pipeline"
)

// Metrics of the history.
type Metrics struct {
	Written prometheus.Counter
	Dropped prometheus.Counter     // not stored: the writer lagged or failed
	Pruned  *prometheus.CounterVec // reason: age, bytes
}

// NewMetrics registers the history's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lookout_ui_history_written_total", Help: "Alerts written to the UI's history.",
		}),
		Dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lookout_ui_history_dropped_total", Help: "Alerts not written to the UI's history because its writer lagged or failed (ingest never waits for it).",
		}),
		Pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lookout_ui_history_pruned_total", Help: "Alerts removed from the UI's history by retention, by reason (age, bytes).",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.Written, m.Dropped, m.Pruned)
	m.Pruned.WithLabelValues("age")
	m.Pruned.WithLabelValues("bytes")
	return m
}

// Recorder writes accepted alerts to a Store from one goroutine.
type Recorder struct {
	store    Store
	in       chan []Alert
	metrics  *Metrics
	log      *slog.Logger
	maxAge   time.Duration
	maxBytes int64
	now      func() time.Time
	done     chan struct{}
	// Failed writes are logged at most once per failLogEvery, with how
	// many batches failed since (a database that is down fails each one).
	failedAt    time.Time
	failedSince int
}

// failLogEvery spaces the warnings about failed writes.
const failLogEvery = 10 * time.Second

// RecorderOptions configures NewRecorder.
type RecorderOptions struct {
	Buffer   int           // batches that may wait; default 1024
	MaxAge   time.Duration // retention by age
	MaxBytes int64         // retention by size
	Metrics  *Metrics
	Logger   *slog.Logger
	Now      func() time.Time
}

// NewRecorder returns a recorder over st; Run writes.
func NewRecorder(st Store, o RecorderOptions) *Recorder {
	if o.Buffer <= 0 {
		o.Buffer = 1024
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	return &Recorder{
		store: st, in: make(chan []Alert, o.Buffer), metrics: o.Metrics, log: o.Logger,
		maxAge: o.MaxAge, maxBytes: o.MaxBytes, now: o.Now, done: make(chan struct{}),
	}
}

// FromAccepted converts the pipeline's view of a batch.
func FromAccepted(acc []pipeline.Accepted) []Alert {
	out := make([]Alert, len(acc))
	for i, x := range acc {
		a := x.Alert
		out[i] = Alert{
			UUID: a.UUID, Time: a.Time, Rule: a.Rule, Priority: a.Priority, Source: a.Source, Hostname: a.Hostname,
			Output: a.Output, Tags: a.Tags, Fields: a.OutputFields, Outputs: x.Outputs, Silences: x.Silences,
		}
		if x.Finding != nil {
			out[i].Finding, out[i].FindingStatus = x.Finding.ID, x.Finding.Status
		}
	}
	return out
}

// Offer queues alerts for writing without waiting: when the writer lags
// they are dropped and counted.
func (r *Recorder) Offer(alerts []Alert) {
	select {
	case r.in <- alerts:
	default:
		r.metrics.Dropped.Add(float64(len(alerts)))
	}
}

// Recorder batching: a write takes what waits, up to maxBatch alerts.
const (
	maxBatch      = 4096
	pruneInterval = time.Minute
)

// Run writes until ctx ends, then writes what waits and returns.
func (r *Recorder) Run(ctx context.Context) {
	defer close(r.done)
	r.prune(ctx)
	tick := time.NewTicker(pruneInterval)
	defer tick.Stop()
	var batch []Alert
	for {
		select {
		case <-ctx.Done():
			batch = batch[:0]
			for {
				select {
				case b := <-r.in:
					batch = append(batch, b...)
				default:
					r.write(context.WithoutCancel(ctx), batch)
					return
				}
			}
		case <-tick.C:
			r.prune(ctx)
		case b := <-r.in:
			batch = append(batch[:0], b...)
		more:
			for len(batch) < maxBatch {
				select {
				case b := <-r.in:
					batch = append(batch, b...)
				default:
					break more
				}
			}
			r.write(ctx, batch)
		}
	}
}

// Done is closed when Run has returned.
func (r *Recorder) Done() <-chan struct{} { return r.done }

func (r *Recorder) write(ctx context.Context, batch []Alert) {
	if len(batch) == 0 {
		return
	}
	if err := r.store.Append(ctx, batch); err != nil {
		r.metrics.Dropped.Add(float64(len(batch)))
		r.failedSince++
		if now := r.now(); now.Sub(r.failedAt) >= failLogEvery {
			r.log.Warn("ui history: alerts not stored (counted in lookout_ui_history_dropped_total)",
				"count", len(batch), "failed_batches", r.failedSince, "err", err)
			r.failedAt, r.failedSince = now, 0
		}
		return
	}
	r.metrics.Written.Add(float64(len(batch)))
}

func (r *Recorder) prune(ctx context.Context) {
	p, err := r.store.Prune(ctx, r.now(), r.maxAge, r.maxBytes)
	r.metrics.Pruned.WithLabelValues("age").Add(float64(p.Age))
	r.metrics.Pruned.WithLabelValues("bytes").Add(float64(p.Bytes))
	if err != nil && ctx.Err() == nil {
		r.log.Warn("ui history: retention", "err", err)
	}
}
