package probe

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/probe/benchref"
)

// benchProbe opens a probe watching what a rule set typically watches
// (opens, closes, connects, execs, process lifecycle) and drains it.
func benchProbe(b *testing.B, ring int) (*Probe, *atomic.Uint64, func()) {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("skipped: the probe needs root")
	}
	interest := types(event.TypeOpen, event.TypeOpenat, event.TypeClose, event.TypeConnect,
		event.TypeExecve, event.TypeClone, event.TypeProcexit)
	p, err := Open(context.Background(), Config{RingSize: ring, Interest: interest})
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Uint64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, func(*event.Event) { n.Add(1) }) }()
	return p, &n, func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
		p.Close()
	}
}

// loopNs runs fn n times on the current (locked) thread and returns the
// thread's CPU time per call in ns. CPU time, not wall time: on a loaded
// machine the thread is descheduled for long stretches, which would swamp
// the cost of the hook (it runs in the syscall, so it is in the thread's
// system time).
func loopNs(n int, fn func()) float64 {
	var t0, t1 unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &t0)
	for range n {
		fn()
	}
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &t1)
	return float64(t1.Nano()-t0.Nano()) / float64(n)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkOverhead measures, side by side in one run, the calling thread's
// CPU time per loop iteration for a syscall no rule watches (getppid:
// filtered in the kernel), a watched pair (openat+close: two records) and
// fork+exec+wait of /bin/true, under four states in interleaved rounds:
// no hook, the empty sys_exit hook (the floor any hook pays), a bare
// 64-byte ring-buffer record per syscall (the cheapest hook that reports),
// and the probe (default interest of a rule set). It reports the medians
// and each state's speed relative to the bare loop (1 = no overhead), the
// form issue 21 states its targets in. The loop thread is pinned to the
// last CPU; the reader's own CPU is not in these figures (BenchmarkDrain).
func BenchmarkOverhead(b *testing.B) {
	p, _, stop := benchProbe(b, 0)
	defer stop()
	if err := p.detach(); err != nil {
		b.Fatal(err)
	}
	// Kernel-side cost per hook run (needs kernel.bpf_stats_enabled, which
	// this turns on for the benchmark's duration).
	if st, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME)); err == nil {
		defer st.Close()
		defer func() {
			if s, err := p.objs.OnSysExit.Stats(); err == nil && s.RunCount > 0 {
				b.ReportMetric(float64(s.Runtime.Nanoseconds())/float64(s.RunCount), "sys_exit-ns/run")
			}
		}()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpus unix.CPUSet
	cpus.Set(runtime.NumCPU() - 1)
	_ = unix.SchedSetaffinity(0, &cpus)
	getppid := func() { unix.Getppid() }
	openClose := func() {
		fd, err := unix.Openat(unix.AT_FDCWD, "/dev/null", unix.O_RDONLY, 0)
		if err == nil {
			unix.Close(fd)
		}
	}
	type state struct {
		name  string
		on    func() func()
		times map[string][]float64
	}
	ref := func(k benchref.Kind) func() func() {
		return func() func() {
			h, err := benchref.Attach(context.Background(), k, os.Getpid())
			if err != nil {
				b.Fatal(err)
			}
			return func() { h.Close() }
		}
	}
	states := []*state{
		{name: "bare", on: func() func() { return func() {} }},
		{name: "floor", on: ref(benchref.Empty)},
		{name: "record64", on: ref(benchref.BareRecord)},
		{name: "probe", on: func() func() {
			if err := p.attach(); err != nil {
				b.Fatal(err)
			}
			return func() {
				if err := p.detach(); err != nil {
					b.Fatal(err)
				}
			}
		}},
	}
	const rounds, nGet, nOpen, nExec = 7, 200000, 50000, 200
	loops := []struct {
		name string
		run  func() float64
	}{
		{"getppid", func() float64 { return loopNs(nGet, getppid) }},
		{"openclose", func() float64 { return loopNs(nOpen, openClose) }},
		{"exec", func() float64 { return execNs(b, nExec) }},
	}
	for range b.N {
		for _, st := range states {
			st.times = map[string][]float64{}
		}
		for r := range rounds {
			// Rotate the order so drift hits every state alike.
			for i := range states {
				st := states[(i+r)%len(states)]
				off := st.on()
				for _, l := range loops {
					st.times[l.name] = append(st.times[l.name], l.run())
				}
				off()
			}
		}
		for _, l := range loops {
			bare := median(states[0].times[l.name])
			b.ReportMetric(bare, l.name+"-ns/op")
			line := fmt.Sprintf("%-9s bare %7.0f ns", l.name, bare)
			for _, st := range states[1:] {
				m := median(st.times[l.name])
				b.ReportMetric(bare/m, l.name+"-"+st.name+"-x")
				line += fmt.Sprintf(" | %s %7.0f ns %.3fx", st.name, m, bare/m)
			}
			b.Log(line)
		}
	}
	if err := p.attach(); err != nil { // attached for the drop check
		b.Fatal(err)
	}
	st, err := p.Stats()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.Total().Dropped()), "dropped")
	b.Logf("counters: %+v", st)
}

// execNs runs fork+exec+wait of /bin/true n times and returns the CPU time
// (this process and its children, user+system) per run in ns: the exec and
// exit hooks run in the child.
func execNs(b *testing.B, n int) float64 {
	cpu := func() int64 {
		var self, kids unix.Rusage
		_ = unix.Getrusage(unix.RUSAGE_SELF, &self)
		_ = unix.Getrusage(unix.RUSAGE_CHILDREN, &kids)
		return self.Utime.Nano() + self.Stime.Nano() + kids.Utime.Nano() + kids.Stime.Nano()
	}
	c0 := cpu()
	for range n {
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
	}
	return float64(cpu()-c0) / float64(n)
}

// BenchmarkReader measures how many records per second the reader delivers
// while writers hammer watched syscalls (failed openat: one small record
// each) from every CPU, and whether any were dropped with the default ring.
// Writers and the reader share the machine's CPUs.
func BenchmarkReader(b *testing.B) {
	p, n, stop := benchProbe(b, 0)
	defer stop()
	const dur = 3 * time.Second
	for range b.N {
		before, err := p.Stats()
		if err != nil {
			b.Fatal(err)
		}
		n0 := n.Load()
		var wg sync.WaitGroup
		deadline := time.Now().Add(dur)
		start := time.Now()
		writers := max(1, runtime.NumCPU()-1)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := "/nonexistent/lookout-bench-" + strconv.Itoa(w)
				for time.Now().Before(deadline) {
					for range 1000 {
						unix.Openat(unix.AT_FDCWD, name, unix.O_RDONLY, 0)
					}
				}
			}()
		}
		wg.Wait()
		// Let the reader catch up (polling reader: a few poll intervals).
		for i := 0; i < 500 && p.rd.AvailableBytes() > 0; i++ {
			time.Sleep(2 * time.Millisecond)
		}
		elapsed := time.Since(start)
		after, err := p.Stats()
		if err != nil {
			b.Fatal(err)
		}
		got := n.Load() - n0
		b.ReportMetric(float64(got)/elapsed.Seconds(), "records/s")
		b.ReportMetric(float64(after.Total().Dropped()-before.Total().Dropped()), "dropped")
		b.ReportMetric(float64(writers), "writers")
	}
	b.ReportMetric(float64(rssKiB()), "rss-KiB")
}

// BenchmarkDrain fills the default ring with the reader stopped, then
// measures how fast one reader decodes it: the reader's own ceiling.
func BenchmarkDrain(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("skipped: the probe needs root")
	}
	for range b.N {
		p, err := Open(context.Background(), Config{Interest: types(event.TypeOpenat)})
		if err != nil {
			b.Fatal(err)
		}
		for range 50000 {
			unix.Openat(unix.AT_FDCWD, "/nonexistent/lookout-drain", unix.O_RDONLY, 0)
		}
		if err := p.detach(); err != nil {
			b.Fatal(err)
		}
		var got int
		start := time.Now()
		if err := p.drain(func(*event.Event) { got++ }); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		b.ReportMetric(float64(got)/elapsed.Seconds(), "records/s")
		b.ReportMetric(float64(got), "records")
		p.Close()
	}
}

// rssKiB reads this process's resident set size.
func rssKiB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb
		}
	}
	return -1
}
