package app

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/config"
	"github.com/lookout-sec/lookout/sensor/internal/event"
	lmetrics "github.com/lookout-sec/lookout/sensor/internal/metrics"
	"github.com/lookout-sec/lookout/sensor/internal/probe"
)

// writerEnv tells a re-executed test binary to be the load generator of
// BenchmarkSensorThroughput: "THREADS,SECONDS,DIR,RATE[,MAX]".
const writerEnv = "LOOKOUT_BENCH_WRITER"

// TestBenchWriter is not a test: BenchmarkSensorThroughput runs this test
// binary again with writerEnv set, so that the load comes from another
// process (the sensor filters its own pid in the kernel). Each thread opens
// and closes files: a read-only open of /etc/hostname and a write open of a
// file in DIR in turn (the rules' open_read and open_write paths), as fast
// as it can (RATE 0) or at RATE watched syscalls/s shared by the threads,
// stopping after MAX syscalls per thread if set, then prints the number of
// syscalls made.
func TestBenchWriter(t *testing.T) {
	spec := os.Getenv(writerEnv)
	if spec == "" {
		t.Skip("load generator for BenchmarkSensorThroughput only")
	}
	parts := strings.Split(spec, ",")
	threads, _ := strconv.Atoi(parts[0])
	secs, _ := strconv.ParseFloat(parts[1], 64)
	target := filepath.Join(parts[2], "written")
	rate, _ := strconv.ParseFloat(parts[3], 64)
	perThread := rate / float64(threads) // syscalls per second, 0: no pacing
	limit := int64(1) << 62
	if len(parts) > 4 {
		limit, _ = strconv.ParseInt(parts[4], 10, 64)
	}
	var total atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(time.Duration(secs * float64(time.Second)))
	for range threads {
		wg.Go(func() {
			runtime.LockOSThread()
			n := int64(0)
			for now := time.Now(); now.Before(end) && n < limit; now = time.Now() {
				if perThread > 0 && float64(n) >= now.Sub(start).Seconds()*perThread {
					time.Sleep(100 * time.Microsecond)
					continue
				}
				for range 16 {
					fd, err := unix.Open("/etc/hostname", unix.O_RDONLY|unix.O_CLOEXEC, 0)
					if err == nil {
						unix.Close(fd)
					}
					fd, err = unix.Open(target, unix.O_WRONLY|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
					if err == nil {
						unix.Close(fd)
					}
				}
				n += 64
			}
			total.Add(n)
		})
	}
	wg.Wait()
	fmt.Printf("syscalls=%d\n", total.Load())
}

// BenchmarkSensorThroughput runs the sensor as lookout-sensor does (the
// embedded stable rules, the default 8 MiB ring, state tables seeded from
// /proc, metrics on) in this process, while a child process opens and
// closes files from several threads as fast as it can. It reports the
// events/s offered to the ring (kernel counters: emitted + dropped, every
// process), the events/s the loop handled, the exact kernel drops, the
// sensor's CPU per event and its heap allocations per event. Root only.
//
// LOOKOUT_BENCH_SECONDS (default 5) is the length of one load run. The
// sub-benchmarks: 1 and 2 writer threads as fast as they can (on 2 cores
// the writers, not the sensor, are then the limit), and 2 threads paced to
// 300,000 watched syscalls/s (issue 19's target rate), where the sensor's
// CPU per event compares across versions at the same offered rate.
func BenchmarkSensorThroughput(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("skipping: the sensor loads the eBPF probe and needs root")
	}
	secs := 5.0
	if v := os.Getenv("LOOKOUT_BENCH_SECONDS"); v != "" {
		secs, _ = strconv.ParseFloat(v, 64)
	}
	for _, c := range []struct{ threads, rate int }{{1, 0}, {2, 0}, {2, 300_000}} {
		name := fmt.Sprintf("writers=%d", c.threads)
		if c.rate > 0 {
			name += fmt.Sprintf("/rate=%dk", c.rate/1000)
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				throughputRun(b, c.threads, c.rate, secs)
			}
		})
	}
}

func throughputRun(b *testing.B, threads, rate int, secs float64) {
	cfg := config.Default()
	cfg.Hostname = "bench-host"
	var handled atomic.Uint64
	var alerts atomic.Uint64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := New(ctx, cfg, NewOptions{Logger: quiet(), Metrics: lmetrics.New(lmetrics.Sources{}),
		Emit:    func(*api.Alert) { alerts.Add(1) },
		Observe: func(*event.Event) { handled.Add(1) }})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	time.Sleep(500 * time.Millisecond) // the start-up backlog drained

	dir := b.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d,%g,%s,%d", writerEnv, threads, secs, dir, rate))
	k0, h0, c0 := kernelTotals(b, s.probe), handled.Load(), selfCPU()
	a0, g0 := heapAllocs()
	t0 := time.Now()
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("writer: %v: %s", err, out)
	}
	wall := time.Since(t0)
	// Wait until the loop has handled every record the kernel emitted.
	k1 := kernelTotals(b, s.probe)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if handled.Load()-h0 >= k1.emitted-k0.emitted {
			break
		}
	}
	drain := time.Since(t0) - wall
	h1, c1 := handled.Load(), selfCPU()
	a1, g1 := heapAllocs()
	loadavg, _ := os.ReadFile("/proc/loadavg")
	var writerCPU time.Duration
	if st, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		writerCPU = time.Duration(st.Utime.Nano() + st.Stime.Nano())
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	var calls int64
	if _, err := fmt.Sscanf(lastLine(string(out)), "syscalls=%d", &calls); err != nil {
		b.Fatalf("writer output %q: %v", out, err)
	}
	ev := float64(h1 - h0)
	offered := float64(k1.emitted - k0.emitted + k1.dropped - k0.dropped)
	drops := k1.dropped - k0.dropped
	b.ReportMetric(float64(calls)/wall.Seconds(), "writer_syscalls/s")
	b.ReportMetric(offered/wall.Seconds(), "offered_events/s")
	b.ReportMetric(ev/(wall+drain).Seconds(), "handled_events/s")
	b.ReportMetric(float64(drops), "kernel_drops")
	b.ReportMetric(float64(c1-c0)/1e3/ev, "sensor_cpu_µs/event")
	b.ReportMetric(float64(a1-a0)/ev, "allocs/event")
	b.Logf("%d writer threads, %.1f s: writers made %d watched syscalls (%.0f/s, writer CPU %.2f s); kernel: %.0f records offered (%.0f/s), %d dropped; loop handled %.0f (drained %v after the writers stopped), %d alerts; sensor CPU %.2f s = %.2f µs/event (%.0f%% of a core), %.2f heap allocs/event, %d GCs; loadavg %s",
		threads, wall.Seconds(), calls, float64(calls)/wall.Seconds(), writerCPU.Seconds(), offered, offered/wall.Seconds(), drops,
		ev, drain.Round(time.Millisecond), alerts.Load(), (c1 - c0).Seconds(), float64(c1-c0)/1e3/ev, 100*(c1-c0).Seconds()/(wall+drain).Seconds(),
		float64(a1-a0)/ev, g1-g0, strings.TrimSpace(string(loadavg)))
}

type kernelCounts struct{ emitted, dropped uint64 }

// kernelTotals sums the probe's counters over the hooks.
func kernelTotals(b *testing.B, p *probe.Probe) kernelCounts {
	st, err := p.Stats()
	if err != nil {
		b.Fatal(err)
	}
	t := st.Total()
	return kernelCounts{emitted: t.Emitted, dropped: t.Dropped()}
}

// heapAllocs is the number of heap objects this process allocated so far,
// and of garbage collections.
func heapAllocs() (objects, gcs uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:objects"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// selfCPU is this process's user+system CPU time (the sensor: the writers
// are a child process).
func selfCPU() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "syscalls=") {
			return lines[i]
		}
	}
	return ""
}

// BenchmarkSensorDrain is the user-space pipeline's ceiling on one core: a
// child process makes 300,000 watched syscalls (open+close, as in
// BenchmarkSensorThroughput) while the sensor is attached but its loop not
// yet running, so their records wait in a 64 MiB ring (the default 8 MiB
// holds too few for a stable figure); then the loop
// (read → decode → state → rules, the embedded rules) handles the backlog
// and the benchmark reports the events/s and CPU per event of that. Root
// only.
func BenchmarkSensorDrain(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("skipping: the sensor loads the eBPF probe and needs root")
	}
	for range b.N {
		drainRun(b)
	}
}

func drainRun(b *testing.B) {
	cfg := config.Default()
	cfg.Hostname = "bench-host"
	cfg.RingSize = 64 << 20
	var handled atomic.Uint64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := New(ctx, cfg, NewOptions{Logger: quiet(), Metrics: lmetrics.New(lmetrics.Sources{}),
		Observe: func(*event.Event) { handled.Add(1) }})
	if err != nil {
		b.Fatal(err)
	}
	// 300,000 syscalls: about 47 MiB of records.
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=1,10,%s,0,300000", writerEnv, b.TempDir()))
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("writer: %v: %s", err, out)
	}
	k := kernelTotals(b, s.probe)
	if k.dropped > 0 {
		b.Fatalf("the ring overflowed before the loop ran (%d drops): the figure would be wrong", k.dropped)
	}
	a0, g0 := heapAllocs()
	c0, t0 := selfCPU(), time.Now()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for handled.Load() < k.emitted {
		time.Sleep(time.Millisecond)
	}
	el, cpu := time.Since(t0), selfCPU()-c0
	a1, g1 := heapAllocs()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	ev := float64(k.emitted)
	loadavg, _ := os.ReadFile("/proc/loadavg")
	b.ReportMetric(ev/el.Seconds(), "events/s")
	b.ReportMetric(float64(cpu)/1e3/ev, "sensor_cpu_µs/event")
	b.ReportMetric(float64(a1-a0)/ev, "allocs/event")
	b.Logf("backlog of %d records handled in %v: %.0f events/s, sensor CPU %.2f µs/event, %.2f heap allocs/event, %d GCs; loadavg %s",
		k.emitted, el.Round(time.Millisecond), ev/el.Seconds(), float64(cpu)/1e3/ev, float64(a1-a0)/ev, g1-g0, strings.TrimSpace(string(loadavg)))
}
