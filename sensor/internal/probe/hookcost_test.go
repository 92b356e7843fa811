package probe

import (
	"context"
	"os"
	"runtime"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// BenchmarkHookCost measures the kernel-side cost of one sys_exit hook run
// (bpf_stats run time per run) on this process's own watched openat+close
// loop (OnlyPID: the rest of the machine is filtered at the first check),
// and on a getppid loop that no interest wants. Kernel run time is taken
// with preemption off, so it is less disturbed by other load than the
// thread CPU time BenchmarkOverhead reports.
func BenchmarkHookCost(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("skipped: the probe needs root")
	}
	p, err := Open(context.Background(), Config{OnlyPID: os.Getpid(),
		Interest: types(event.TypeOpenat, event.TypeClose, event.TypeExecve, event.TypeClone, event.TypeProcexit)})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, func(*event.Event) {}) }()
	defer func() { cancel(); <-done }()
	st, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		b.Skipf("skipped: bpf stats: %v", err)
	}
	defer st.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	stats := func() (uint64, float64) {
		s, err := p.objs.OnSysExit.Stats()
		if err != nil {
			b.Fatal(err)
		}
		return s.RunCount, float64(s.Runtime.Nanoseconds())
	}
	const n = 200000
	for range b.N {
		c0, t0 := stats()
		for range n {
			unix.Getppid()
		}
		c1, t1 := stats()
		for range n {
			fd, err := unix.Openat(unix.AT_FDCWD, "/etc/hostname", unix.O_RDONLY, 0)
			if err == nil {
				unix.Close(fd)
			}
		}
		c2, t2 := stats()
		b.ReportMetric((t1-t0)/float64(c1-c0), "filtered-ns/run")
		b.ReportMetric((t2-t1)/float64(c2-c1), "watched-ns/run")
	}
}
