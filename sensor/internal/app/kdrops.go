package app

import (
	"fmt"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/probe"
)

// KernelDropRule is the rule name of the synthetic alert raised when the
// kernel lost events (ring buffer full), like Falco's "Falco internal:
// syscall event drop".
const KernelDropRule = "Lookout internal: syscall event drop"

// kernelDrops raises at most one KernelDropRule alert per
// cfg.DropAlertInterval (of event time) when the probe's drop counters
// grew. It runs on the event loop goroutine.
type kernelDrops struct {
	reported probe.Stats
	last     int64 // event time of the last alert
}

// check compares ps with what was last reported and returns an alert when
// events were lost and the interval has passed.
func (k *kernelDrops) check(ps probe.Stats, now int64, every time.Duration, host string) (*api.Alert, bool) {
	cats := []struct {
		name      string
		cur, prev probe.Category
	}{{"syscall", ps.Syscall, k.reported.Syscall}, {"exec", ps.Exec, k.reported.Exec},
		{"fork", ps.Fork, k.reported.Fork}, {"exit", ps.Exit, k.reported.Exit}}
	var total uint64
	fields := map[string]any{}
	for _, c := range cats {
		d := c.cur.Dropped() - c.prev.Dropped()
		fields["n_drops_"+c.name] = d
		total += d
	}
	if total == 0 || (k.last != 0 && now-k.last < int64(every)) {
		return nil, false
	}
	var evts uint64
	for _, c := range cats {
		evts += c.cur.Invocations - c.prev.Invocations
	}
	fields["n_drops"] = total
	fields["n_evts"] = evts
	fields["n_drops_buffer_total"] = (ps.Total().DropRingFull - k.reported.Total().DropRingFull)
	k.reported, k.last = ps, now
	return &api.Alert{
		Hostname: host,
		Output: fmt.Sprintf("Lookout internal: syscall event drop. %d kernel events dropped out of %d (ring buffer full or record too big; raise ring_size if this repeats)",
			total, evts),
		OutputFields: fields, Priority: api.PriorityCritical, Rule: KernelDropRule, Source: "internal",
		Tags: []string{"lookout_internal"}, Time: time.Unix(0, now).UTC(),
	}, true
}
