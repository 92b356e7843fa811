package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/sensor/internal/emit"
	"github.com/lookout-sec/lookout/sensor/internal/probe"
	"github.com/lookout-sec/lookout/sensor/internal/state"
)

func TestMetrics(t *testing.T) {
	m := New(Sources{
		Probe: func() probe.Stats {
			return probe.Stats{Syscall: probe.Category{Invocations: 10, Filtered: 6, Emitted: 3, DropRingFull: 1}, DecodeErrors: 2}
		},
		State: func() state.Stats { return state.Stats{Threads: 42, Unknown: 1} },
		Emit: func() []emit.OutputStats {
			return []emit.OutputStats{{Name: "router", Queued: 5, Sent: 7, Dropped: map[string]uint64{emit.DropQueueFull: 3}}}
		},
	})
	m.Alerts.WithLabelValues("Read sensitive file untrusted", "Warning").Inc()
	m.EvalSeconds.Observe(1e-6)
	got, err := m.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]float64{
		"lookout_sensor_events_seen_total|category=syscall":                               10,
		"lookout_sensor_events_filtered_total|category=syscall":                           6,
		"lookout_sensor_events_delivered_total|category=syscall":                          3,
		"lookout_sensor_events_dropped_total|category=syscall|reason=ring_full":           1,
		"lookout_sensor_events_dropped_total|category=exec|reason=too_big":                0,
		"lookout_sensor_events_decode_errors_total":                                       2,
		"lookout_sensor_state_threads":                                                    42,
		"lookout_sensor_alert_queue_depth|output=router":                                  5,
		"lookout_sensor_alerts_sent_total|output=router":                                  7,
		"lookout_sensor_alerts_dropped_total|output=router|reason=queue_full":             3,
		"lookout_sensor_alerts_total|priority=Warning|rule=Read sensitive file untrusted": 1,
		"lookout_sensor_rule_eval_seconds|count":                                          1,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`lookout_sensor_events_seen_total{category="syscall"} 10`, "process_resident_memory_bytes", "go_goroutines"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}
