package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ctxSwitches sums the voluntary and involuntary context switches of every
// thread of process pid.
func ctxSwitches(b *testing.B, pid int) int64 {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, f := range tasks {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				x, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				n += x
			} else if v, ok := strings.CutPrefix(line, "nonvoluntary_ctxt_switches:"); ok {
				x, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				n += x
			}
		}
	}
	return n
}

// paced makes rate watched events per second (failed opens, one record
// each) for d, spread evenly, and returns how many it made.
func paced(rate int, d time.Duration) int {
	const tick = 10 * time.Millisecond
	per := rate * int(tick) / int(time.Second)
	n := 0
	end := time.Now().Add(d)
	for next := time.Now(); next.Before(end); next = next.Add(tick) {
		for range per {
			unix.Openat(unix.AT_FDCWD, "/nonexistent/lookout-bench-paced", unix.O_RDONLY, 0)
			n++
		}
		time.Sleep(time.Until(next.Add(tick)))
	}
	return n
}

// BenchmarkSensorIdle measures the full sensor's (default rules) CPU and
// context switches per second on a node doing little (whatever else the
// machine runs), and with a steady 5,000 watched events/s: the cost of the
// reader's wakeups rather than of the events. Root only.
func BenchmarkSensorIdle(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("skipping: the sensor needs root")
	}
	_, sensorBin := build(b)
	dir := b.TempDir()
	cfg := writeFile(b, filepath.Join(dir, "sensor.yaml"), fmt.Sprintf("metrics: {listen: \"\"}\noutputs: {file: {path: %s}}\n", filepath.Join(dir, "alerts.json")))
	for range b.N {
		s := startSensor(b, sensorBin, "--config", cfg)
		pid := s.cmd.Process.Pid
		time.Sleep(2 * time.Second) // start-up scan and rule compilation done
		measure := func(name string, work func(d time.Duration)) {
			const d = 5 * time.Second
			c0, _ := procStat(b, pid)
			x0 := ctxSwitches(b, pid)
			t0 := time.Now()
			work(d)
			el := time.Since(t0)
			c1, rss := procStat(b, pid)
			x1 := ctxSwitches(b, pid)
			cpu := 100 * (c1 - c0).Seconds() / el.Seconds()
			cs := float64(x1-x0) / el.Seconds()
			b.ReportMetric(cpu, "%cpu_"+name)
			b.ReportMetric(cs, "ctxsw/s_"+name)
			b.Logf("%-6s sensor CPU %.2f%% of a core, %.0f context switches/s, RSS %.1f MiB", name, cpu, cs, float64(rss)/(1<<20))
		}
		measure("idle", func(d time.Duration) { time.Sleep(d) })
		measure("5k/s", func(d time.Duration) { paced(5000, d) })
		s.stop(b)
	}
}

// BenchmarkSensorForkStorm starts 20,000 short processes (fork+exec of
// /bin/true from 4 goroutines) under the full sensor and samples its RSS
// every 10 ms: it reports the peak, and the counts of process-table
// entries evicted early and of kernel drops, read from the sensor's metrics.
func BenchmarkSensorForkStorm(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("skipping: the sensor needs root")
	}
	_, sensorBin := build(b)
	dir := b.TempDir()
	cfg := writeFile(b, filepath.Join(dir, "sensor.yaml"), fmt.Sprintf("metrics: {listen: \"127.0.0.1:0\"}\noutputs: {file: {path: %s}}\n", filepath.Join(dir, "alerts.json")))
	for range b.N {
		s := startSensor(b, sensorBin, "--config", cfg)
		pid := s.cmd.Process.Pid
		time.Sleep(2 * time.Second)
		_, rss0 := procStat(b, pid)
		var peak atomic.Int64
		peak.Store(rss0)
		stop := make(chan struct{})
		var sampler sync.WaitGroup
		sampler.Add(1)
		go func() {
			defer sampler.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				if _, rss := procStat(b, pid); rss > peak.Load() {
					peak.Store(rss)
				}
			}
		}()
		const total, workers = 20000, 4
		var next atomic.Int64
		var wg sync.WaitGroup
		t0 := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= total {
					if err := exec.Command("/bin/true").Run(); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		storm := time.Since(t0)
		time.Sleep(10 * time.Second) // the grace period passes; the tables shrink back
		close(stop)
		sampler.Wait()
		_, rssAfter := procStat(b, pid)
		m := metricSums(scrape(b, s))
		s.stop(b)
		b.ReportMetric(float64(total)/storm.Seconds(), "procs/s")
		b.ReportMetric(float64(peak.Load())/(1<<20), "MiB_rss_peak")
		b.ReportMetric(float64(rssAfter)/(1<<20), "MiB_rss_after")
		b.ReportMetric(m["lookout_sensor_state_exited_evicted_early_total"], "evicted_early")
		b.Logf("%d processes in %v (%.0f/s): sensor RSS %.1f MiB before, peak %.1f MiB, %.1f MiB 10 s after; evicted early %.0f, evicted (table full) %.0f, kernel drops %.0f",
			total, storm.Round(time.Millisecond), float64(total)/storm.Seconds(), float64(rss0)/(1<<20), float64(peak.Load())/(1<<20), float64(rssAfter)/(1<<20),
			m["lookout_sensor_state_exited_evicted_early_total"], m["lookout_sensor_state_evicted_total"], m["lookout_sensor_events_dropped_total"])
	}
}

// metricSums sums each metric's samples (over labels) in a Prometheus text
// exposition.
func metricSums(text string) map[string]float64 {
	out := map[string]float64{}
	for l := range strings.SplitSeq(text, "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		name := l[:strings.IndexAny(l, "{ ")]
		var v float64
		if _, err := fmt.Sscan(l[strings.LastIndexByte(l, ' ')+1:], &v); err == nil {
			out[name] += v
		}
	}
	return out
}
