package e2e

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// alertWait bounds how long one alert may take from the action to the sink.
const alertWait = 30 * time.Second

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: the end-to-end test loads the eBPF probe and needs root (CAP_BPF and CAP_PERFMON); run `make test` as root")
	}
}

// TestStableRules starts router and sensor, performs one real action per
// stable rule and checks each alert's rule, priority and key output
// fields at the webhook sink; an innocent action must raise nothing.
func TestStableRules(t *testing.T) {
	needRoot(t)
	work := t.TempDir()
	routerBin, sensorBin := build(t)
	sk := newSink(t)
	routerURL := startRouter(t, routerBin, work, sk.srv.URL)
	cfg := writeFile(t, filepath.Join(work, "sensor.yaml"), `
metrics: {listen: "127.0.0.1:0"}
ring_size: 67108864
outputs:
  router:
    batch_interval: 10ms
`)
	sensor := startSensor(t, sensorBin, "--config", cfg, "--router", routerURL)

	var lat []time.Duration
	all := actions()
	for _, ac := range containerActions() {
		ac.container = true
		all = append(all, ac)
	}
	for _, ac := range all {
		t.Run(strings.ReplaceAll(ac.rule, " ", "_"), func(t *testing.T) {
			key := ac.key
			if key == "" {
				key = "proc.cmdline"
			}
			var r received
			var dir, ctrID string
			for attempt := 0; ; attempt++ {
				dir = t.TempDir()
				cmd := ac.cmd(t, dir)
				if ac.container {
					var cg string
					cg, ctrID = fakeContainer(t)
					cmd = inContainer(cmd, cg)
				}
				var stderr strings.Builder
				cmd.Stdout, cmd.Stderr = io.Discard, &stderr // never log /etc/shadow
				if err := cmd.Run(); err != nil {
					if ac.needsSuccess {
						t.Skipf("skipping: the action %v failed on this machine: %v (%s)", cmd.Args, err, strings.TrimSpace(stderr.String()))
					}
					t.Logf("action %v: %v (%s); rules fire on failed calls too", cmd.Args, err, strings.TrimSpace(stderr.String()))
				}
				var ok bool
				r, ok = sk.tryWait(alertWait, func(a *api.Alert) bool {
					return a.Rule == ac.rule && strings.Contains(field(a, key), dir)
				})
				if ok {
					break
				}
				// Only lost kernel events (an overloaded machine) excuse a
				// missing alert, and only once.
				if drops := kernelDrops(t, sensor); attempt == 0 && drops > 0 {
					t.Logf("no alert, and the sensor reports %v events lost in the kernel: repeating the action once", drops)
					continue
				}
				t.Fatalf("no alert for %s reached the sink within %s; the sink has %s", ac.rule, alertWait, sk.summary())
			}
			a := r.a
			if ac.container && field(a, "container.id") != ctrID[:12] {
				t.Errorf("container.id = %q, want %q", field(a, "container.id"), ctrID[:12])
			}
			if a.Priority != ac.priority {
				t.Errorf("priority %s, want %s", a.Priority, ac.priority)
			}
			for k, want := range ac.fields {
				want = replaceDir(want, dir)
				if got := field(a, k); got != want {
					t.Errorf("output field %s = %q, want %q", k, got, want)
				}
			}
			if a.UUID == "" || a.Source != "syscall" || a.Hostname == "" || !strings.Contains(a.Output, dir) && key == "proc.cmdline" {
				t.Errorf("alert envelope: uuid %q source %q hostname %q output %q", a.UUID, a.Source, a.Hostname, a.Output)
			}
			lat = append(lat, r.at.Sub(a.Time))
		})
	}

	t.Run("innocent action raises nothing", func(t *testing.T) {
		dir := t.TempDir()
		_ = command("cat", "/etc/hostname", "$dir/innocent")(t, dir).Run()
		// A later alerting action is the marker: once its alert arrived,
		// any alert of the innocent action (earlier in the same ordered
		// stream) would have arrived too.
		mark := t.TempDir()
		_ = command("cat", "/etc/shadow", "$dir/marker")(t, mark).Run()
		sk.waitFor(t, "the marker action", alertWait, func(a *api.Alert) bool {
			return strings.Contains(field(a, "proc.cmdline"), mark)
		})
		for _, r := range sk.all() {
			if strings.Contains(r.a.Output, dir) {
				t.Errorf("innocent action alerted: %s: %s", r.a.Rule, r.a.Output)
			}
		}
	})

	t.Run("metrics endpoint", func(t *testing.T) {
		body := scrape(t, sensor)
		for _, want := range []string{
			`lookout_sensor_alerts_total{priority="Warning",rule="Read sensitive file untrusted"}`,
			`lookout_sensor_events_seen_total{category="syscall"}`,
			`lookout_sensor_alerts_sent_total{output="router"}`,
			`lookout_sensor_alert_queue_depth{output="router"}`,
			`lookout_sensor_rule_eval_seconds_bucket`,
			`process_resident_memory_bytes`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})

	sensor.stop(t)
	sensor.waitLog(t, `msg="output closed" output=router`)
	if len(lat) > 0 {
		slices.Sort(lat)
		t.Logf("syscall → sink latency over %d alerts: min %s, median %s, max %s (machine shared with other work)",
			len(lat), lat[0].Round(time.Millisecond), lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	}
}
