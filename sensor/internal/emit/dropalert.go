package emit

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// dropAlert builds the synthetic alert about alerts dropped between the
// counts prev and cur (per output and reason). It reports false when
// nothing was dropped.
func dropAlert(host string, now time.Time, window time.Duration, prev, cur map[string][numDrop]uint64) (api.Alert, bool) {
	var byReason [numDrop]uint64
	var total uint64
	var outs []string
	for name, c := range cur {
		p := prev[name]
		var n uint64
		for i := range c {
			d := c[i] - p[i]
			byReason[i] += d
			n += d
		}
		if n > 0 {
			outs = append(outs, name)
		}
		total += n
	}
	if total == 0 {
		return api.Alert{}, false
	}
	slices.Sort(outs)
	fields := map[string]any{
		"n_drops":                   total,
		"n_drops_queue_full":        byReason[dropQueueFull],
		"n_drops_retries_exhausted": byReason[dropRetries],
		"n_drops_rejected":          byReason[dropRejected],
		"n_drops_too_large":         byReason[dropTooLarge],
		"n_drops_spool_full":        byReason[dropSpoolFull],
		"n_drops_shutdown":          byReason[dropShutdown],
		"outputs":                   strings.Join(outs, ","),
	}
	out := fmt.Sprintf("Lookout internal: alert drops. %d alerts dropped in the last %s (queue full: %d, retries exhausted: %d, rejected: %d, too large: %d, spool full: %d; outputs: %s)",
		total, window, byReason[dropQueueFull], byReason[dropRetries], byReason[dropRejected], byReason[dropTooLarge], byReason[dropSpoolFull], strings.Join(outs, ","))
	return api.Alert{
		Hostname: host, Output: out, OutputFields: fields, Priority: api.PriorityCritical,
		Rule: DropRule, Source: "internal", Tags: []string{"lookout_internal"}, Time: now.UTC(),
	}, true
}
