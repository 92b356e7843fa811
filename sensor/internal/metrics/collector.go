package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lookout-sec/lookout/sensor/internal/probe"
)

var (
	descSeen = prometheus.NewDesc("lookout_sensor_events_seen_total",
		"Kernel hook invocations, by probe category (syscall, exec, fork, exit).", []string{"category"}, nil)
	descFiltered = prometheus.NewDesc("lookout_sensor_events_filtered_total",
		"Events the in-kernel interest filter discarded on purpose, by category.", []string{"category"}, nil)
	descDelivered = prometheus.NewDesc("lookout_sensor_events_delivered_total",
		"Events written to the ring buffer, by category.", []string{"category"}, nil)
	descDropped = prometheus.NewDesc("lookout_sensor_events_dropped_total",
		"Events lost in the kernel, by category and reason (ring_full, too_big).", []string{"category", "reason"}, nil)
	descReadFail = prometheus.NewDesc("lookout_sensor_events_read_failures_total",
		"Strings or memory the probe could not read (the event was still delivered), by category.", []string{"category"}, nil)
	descDecode = prometheus.NewDesc("lookout_sensor_events_decode_errors_total",
		"Ring-buffer records user space could not decode.", nil, nil)
	descThreads = prometheus.NewDesc("lookout_sensor_state_threads",
		"Entries in the process table.", nil, nil)
	descUnknown = prometheus.NewDesc("lookout_sensor_state_unknown_threads_total",
		"Events for threads the state tables did not know.", nil, nil)
	descEvicted = prometheus.NewDesc("lookout_sensor_state_evicted_total",
		"Process-table entries evicted because the table was full.", nil, nil)
	descEarly = prometheus.NewDesc("lookout_sensor_state_exited_evicted_early_total",
		"Exited process-table entries removed before their grace period because more than state.max_exited waited (fork storms).", nil, nil)
	descExited = prometheus.NewDesc("lookout_sensor_state_exited_threads",
		"Exited process-table entries kept for their grace period.", nil, nil)
	descQueue = prometheus.NewDesc("lookout_sensor_alert_queue_depth",
		"Alerts waiting for delivery, by output.", []string{"output"}, nil)
	descSent = prometheus.NewDesc("lookout_sensor_alerts_sent_total",
		"Alerts the output's destination accepted, by output.", []string{"output"}, nil)
	descRetries = prometheus.NewDesc("lookout_sensor_alert_retries_total",
		"Failed deliveries that were retried, by output.", []string{"output"}, nil)
	descAlertDrops = prometheus.NewDesc("lookout_sensor_alerts_dropped_total",
		"Alerts lost, by output and reason (queue_full, retries_exhausted, rejected, shutdown).", []string{"output", "reason"}, nil)
)

// collector reads Sources at scrape time.
type collector struct{ src Sources }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSeen, descFiltered, descDelivered, descDropped, descReadFail, descDecode,
		descThreads, descUnknown, descEvicted, descEarly, descExited, descQueue, descSent, descRetries, descAlertDrops} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if c.src.Probe != nil {
		s := c.src.Probe()
		for _, cat := range []struct {
			name string
			c    probe.Category
		}{{"syscall", s.Syscall}, {"exec", s.Exec}, {"fork", s.Fork}, {"exit", s.Exit}} {
			counter(descSeen, cat.c.Invocations, cat.name)
			counter(descFiltered, cat.c.Filtered, cat.name)
			counter(descDelivered, cat.c.Emitted, cat.name)
			counter(descDropped, cat.c.DropRingFull, cat.name, "ring_full")
			counter(descDropped, cat.c.DropTooBig, cat.name, "too_big")
			counter(descReadFail, cat.c.ReadFailures, cat.name)
		}
		counter(descDecode, s.DecodeErrors)
	}
	if c.src.State != nil {
		s := c.src.State()
		gauge(descThreads, float64(s.Threads))
		counter(descUnknown, s.Unknown)
		counter(descEvicted, s.Evicted)
		counter(descEarly, s.EvictedEarly)
		gauge(descExited, float64(s.Exited))
	}
	if c.src.Emit != nil {
		for _, o := range c.src.Emit() {
			gauge(descQueue, float64(o.Queued), o.Name)
			counter(descSent, o.Sent, o.Name)
			counter(descRetries, o.Retries, o.Name)
			for reason, n := range o.Dropped {
				counter(descAlertDrops, n, o.Name, reason)
			}
		}
	}
}
