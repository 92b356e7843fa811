package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// loop is a syscall-heavy workload run by the benchmark process itself.
type loop struct {
	name string
	run  func(b *testing.B) cost
}

// cost is a loop's wall-clock time and the CPU time (user+system) spent by
// the benchmark process and its waited-for children. The in-kernel hooks
// run in the context of the thread making the syscall, so CPU time shows
// the probe's cost even when other load on the machine disturbs wall-clock
// time.
type cost struct{ wall, cpu time.Duration }

func cpuTime() time.Duration {
	var self, kids unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &self)
	_ = unix.Getrusage(unix.RUSAGE_CHILDREN, &kids)
	tv := func(t unix.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

func timed(f func()) cost {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0, t0 := cpuTime(), time.Now()
	f()
	return cost{wall: time.Since(t0), cpu: cpuTime() - c0}
}

func loops() []loop {
	return []loop{
		{"getppid", func(b *testing.B) cost { // no rule watches it: filtered in the kernel
			return timed(func() {
				for range 1_000_000 {
					unix.Getppid()
				}
			})
		}},
		{"open_close", func(b *testing.B) cost { // every open goes through state and rules
			return timed(func() {
				for range 100_000 {
					fd, err := unix.Open("/etc/hostname", unix.O_RDONLY, 0)
					if err != nil {
						b.Fatal(err)
					}
					unix.Close(fd)
				}
			})
		}},
		{"exec", func(b *testing.B) cost { // fork + exec + exit of /bin/true
			return timed(func() {
				for range 300 {
					if err := exec.Command("/bin/true").Run(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}},
	}
}

// procStat returns a process's CPU time (user+system) and RSS.
func procStat(b *testing.B, pid int) (cpu time.Duration, rss int64) {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	pages, _ := strconv.ParseInt(f[21], 10, 64)
	const hz = 100 // USER_HZ
	return time.Duration(ut+stime) * time.Second / hz, pages * int64(os.Getpagesize())
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkSensorOverhead measures, side by side in one run, each loop
// without and with the full sensor (default rules, file output) running:
// medians of interleaved rounds, reported as ratios; plus the sensor's RSS
// and CPU while idle and during the loops. Run with -benchtime 1x (make
// bench-sensor); root only.
func BenchmarkSensorOverhead(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("skipping: the sensor needs root")
	}
	_, sensorBin := build(b)
	dir := b.TempDir()
	cfg := writeFile(b, filepath.Join(dir, "sensor.yaml"), fmt.Sprintf("metrics: {listen: \"\"}\noutputs: {file: {path: %s}}\n", filepath.Join(dir, "alerts.json")))
	const rounds = 5
	ls := loops()
	base := make([][]cost, len(ls))
	with := make([][]cost, len(ls))
	var idleRSS, loadRSS int64
	var idleCPU, loadCPU, loadWall time.Duration
	b.ResetTimer()
	for r := range rounds {
		for i, l := range ls {
			base[i] = append(base[i], l.run(b))
		}
		s := startSensor(b, sensorBin, "--config", cfg)
		pid := s.cmd.Process.Pid
		if r == 0 {
			c0, _ := procStat(b, pid)
			time.Sleep(3 * time.Second)
			c1, rss := procStat(b, pid)
			idleCPU, idleRSS = c1-c0, rss
		}
		c0, _ := procStat(b, pid)
		t0 := time.Now()
		for i, l := range ls {
			with[i] = append(with[i], l.run(b))
		}
		c1, rss := procStat(b, pid)
		loadCPU += c1 - c0
		loadWall += time.Since(t0)
		loadRSS = max(loadRSS, rss)
		s.stop(b)
	}
	b.StopTimer()
	for i, l := range ls {
		pick := func(cs []cost, cpu bool) []time.Duration {
			var out []time.Duration
			for _, c := range cs {
				if cpu {
					out = append(out, c.cpu)
				} else {
					out = append(out, c.wall)
				}
			}
			return out
		}
		wb, ww := median(pick(base[i], false)), median(pick(with[i], false))
		cb, cw := median(pick(base[i], true)), median(pick(with[i], true))
		b.ReportMetric(float64(ww)/float64(wb), "x_wall_"+l.name)
		b.ReportMetric(float64(cw)/float64(cb), "x_cpu_"+l.name)
		b.Logf("%-10s wall %v → %v (%.2fx), CPU %v → %v (%.2fx) without → with sensor (medians of %d interleaved rounds)",
			l.name, wb.Round(time.Millisecond), ww.Round(time.Millisecond), float64(ww)/float64(wb),
			cb.Round(time.Millisecond), cw.Round(time.Millisecond), float64(cw)/float64(cb), rounds)
	}
	b.ReportMetric(float64(idleRSS)/(1<<20), "MiB_rss_idle")
	b.ReportMetric(float64(loadRSS)/(1<<20), "MiB_rss_load")
	b.ReportMetric(100*idleCPU.Seconds()/3, "%cpu_idle")
	b.ReportMetric(100*loadCPU.Seconds()/loadWall.Seconds(), "%cpu_load")
	b.Logf("sensor RSS idle %.1f MiB, under the loops %.1f MiB; CPU idle %.1f%%, under the loops %.1f%% of one core",
		float64(idleRSS)/(1<<20), float64(loadRSS)/(1<<20), 100*idleCPU.Seconds()/3, 100*loadCPU.Seconds()/loadWall.Seconds())
}
