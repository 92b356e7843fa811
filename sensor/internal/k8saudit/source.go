package k8saudit

import (
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fastjson"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/rules"
)

// Defaults of Options.
const (
	DefaultMaxBodyBytes = 64 << 20
	DefaultDedupWindow  = 10 * time.Minute
	DefaultDedupMax     = 200_000
)

// Options configures a Source.
type Options struct {
	// Engine returns the rule engine to evaluate with (loaded once per
	// event batch, so a reload takes effect at the next batch).
	Engine func() *rules.Engine
	// Emit queues an alert; it must not block.
	Emit func(*api.Alert)
	// Logger; nil means slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes bounds one webhook request body (default
	// DefaultMaxBodyBytes) and one log line.
	MaxBodyBytes int64
	// DedupWindow is how long an (auditID, stage) pair is remembered
	// (default DefaultDedupWindow); DedupMax bounds how many are
	// (default DefaultDedupMax).
	DedupWindow time.Duration
	DedupMax    int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Source evaluates audit events from any number of receivers.
type Source struct {
	opts    Options
	log     *slog.Logger
	parsers fastjson.ParserPool

	mu    sync.Mutex // serializes dedup and evaluation
	dedup *dedup
	num   uint64
	ev    event.Event
	audit event.K8sAudit

	// Metrics.
	received  *prometheus.CounterVec // by receiver
	dups      prometheus.Counter
	rejected  *prometheus.CounterVec // by receiver, reason
	evalHist  prometheus.Histogram
	dedupSize prometheus.GaugeFunc
}

// New returns a Source.
func New(opts Options) *Source {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.DedupWindow <= 0 {
		opts.DedupWindow = DefaultDedupWindow
	}
	if opts.DedupMax <= 0 {
		opts.DedupMax = DefaultDedupMax
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Emit == nil {
		opts.Emit = func(*api.Alert) {}
	}
	s := &Source{opts: opts, log: opts.Logger, dedup: newDedup(opts.DedupWindow, opts.DedupMax)}
	s.received = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lookout_sensor_k8s_audit_events_total", Help: "Kubernetes audit events received, by receiver (webhook, file), duplicates included.",
	}, []string{"receiver"})
	s.dups = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lookout_sensor_k8s_audit_duplicates_total", Help: "Audit events dropped because their (auditID, stage) was seen within the dedup window.",
	})
	s.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lookout_sensor_k8s_audit_rejected_total", Help: "Webhook requests or log lines rejected, by receiver and reason (json, api_version, kind, event, too_large, method, content_encoding).",
	}, []string{"receiver", "reason"})
	s.evalHist = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "lookout_sensor_k8s_audit_batch_seconds", Help: "Time to deduplicate and evaluate one webhook batch or log line.",
		Buckets: prometheus.ExponentialBuckets(10e-6, 4, 10),
	})
	s.dedupSize = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lookout_sensor_k8s_audit_dedup_keys", Help: "(auditID, stage) pairs remembered for deduplication.",
	}, func() float64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		return float64(s.dedup.Len())
	})
	return s
}

// Collectors returns the source's metrics, for the sensor's registry.
func (s *Source) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.received, s.dups, s.rejected, s.evalHist, s.dedupSize}
}

// Process decodes data (an EventList or an Event) and evaluates each new
// event. receiver labels the metrics ("webhook", "file").
func (s *Source) Process(receiver string, data []byte) (int, error) {
	p := s.parsers.Get()
	defer s.parsers.Put(p)
	t0 := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	eng := s.opts.Engine()
	n, err := Decode(p, data, func(v *fastjson.Value) { s.eval(eng, v) })
	if err != nil {
		var de *DecodeError
		reason := "json"
		if e, ok := err.(*DecodeError); ok {
			de = e
			reason = de.Reason
		}
		s.rejected.WithLabelValues(receiver, reason).Inc()
		return 0, err
	}
	s.received.WithLabelValues(receiver).Add(float64(n))
	s.evalHist.Observe(time.Since(t0).Seconds())
	return n, nil
}

// reject counts a request or line rejected before decoding.
func (s *Source) reject(receiver, reason string) {
	s.rejected.WithLabelValues(receiver, reason).Inc()
}

// eval deduplicates and evaluates one event (s.mu held).
func (s *Source) eval(eng *rules.Engine, v *fastjson.Value) {
	now := s.opts.Now()
	key := string(v.GetStringBytes("auditID")) + "/" + string(v.GetStringBytes("stage"))
	if s.dedup.check(key, now) {
		s.dups.Inc()
		return
	}
	if eng == nil {
		return
	}
	s.num++
	s.ev.Reset()
	s.audit.JSON = v
	s.ev.Num, s.ev.TS, s.ev.Audit = s.num, eventTime(v, now).UnixNano(), &s.audit
	eng.Eval(&s.ev, s.opts.Emit)
	s.audit.JSON = nil
	s.ev.Audit = nil
}
