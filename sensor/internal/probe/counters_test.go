package probe

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// checkInvariant fails unless every category's counters add up exactly.
func checkInvariant(t *testing.T, st Stats) {
	t.Helper()
	for name, c := range map[string]Category{"syscall": st.Syscall, "exec": st.Exec, "fork": st.Fork, "exit": st.Exit} {
		if c.Invocations != c.Filtered+c.Emitted+c.Dropped() {
			t.Errorf("%s: invocations %d != filtered %d + emitted %d + dropped %d", name, c.Invocations, c.Filtered, c.Emitted, c.Dropped())
		}
	}
}

// TestFilteredNeverDelivered watches only openat, runs a loop of getppid
// (unwatched) and checks that the kernel filtered them: no record of any
// other type reached user space, and the counters account for every call.
func TestFilteredNeverDelivered(t *testing.T) {
	h := startProbe(t, Config{Interest: types(event.TypeOpenat)}, nil)
	// Other processes' opens do arrive (no OnlyPID here): they are openat.
	before, err := h.p.Stats()
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	for range n {
		unix.Getppid()
	}
	st := h.quiesce()
	checkInvariant(t, st)
	if got := st.Syscall.Filtered - before.Syscall.Filtered; got < n {
		t.Errorf("filtered grew by %d, want at least the %d getppid calls", got, n)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for typ, c := range h.types {
		if typ != event.TypeOpenat {
			t.Errorf("%d records of type %s reached user space; only openat is watched", c, typ)
		}
	}
	if h.total != st.Total().Emitted {
		t.Errorf("user space got %d records, the kernel emitted %d", h.total, st.Total().Emitted)
	}
	if st.Exec.Emitted+st.Fork.Emitted+st.Exit.Emitted != 0 {
		t.Errorf("lifecycle records emitted while not watched: %+v", st)
	}
	if st.DecodeErrors != 0 {
		t.Errorf("%d records could not be decoded", st.DecodeErrors)
	}
}

// burst opens n distinct files under dir (each a failed open, so the test
// needs no files) and returns the marker in their names.
func burst(t *testing.T, dir string, n int) string {
	t.Helper()
	marker := fmt.Sprintf("burst-%d", os.Getpid())
	for i := range n {
		_, err := unix.Openat(unix.AT_FDCWD, filepath.Join(dir, fmt.Sprintf("%s-%d", marker, i)), unix.O_RDONLY, 0)
		if err != unix.ENOENT {
			t.Fatalf("open %d: %v, want ENOENT", i, err)
		}
	}
	return marker
}

// TestBurstDefaultRing opens thousands of files with the default ring and a
// running reader: every one arrives and nothing is dropped. Only this
// process is watched, so the rest of the machine cannot fill the ring; the
// burst (about 2.6 MB of records) fits in the 8 MiB ring even if the reader
// is starved of CPU meanwhile.
func TestBurstDefaultRing(t *testing.T) {
	const n = 10000
	pid := int64(os.Getpid())
	dir := t.TempDir()
	h := startProbe(t, Config{OnlyPID: int(pid), Interest: types(event.TypeOpenat)}, func(ev *event.Event) bool {
		return ev.PID == pid && strings.Contains(ev.Args[2].Str, "/burst-")
	})
	burst(t, dir, n)
	st := h.quiesce()
	checkInvariant(t, st)
	if d := st.Syscall.Dropped(); d != 0 {
		t.Errorf("%d records dropped with the default ring (%+v)", d, st.Syscall)
	}
	if got := len(h.kept()); got != n {
		t.Errorf("got %d of the %d opens", got, n)
	}
	if h.total != st.Total().Emitted {
		t.Errorf("user space got %d records, the kernel emitted %d", h.total, st.Total().Emitted)
	}
}

// TestTinyRingDrops opens files into a one-page ring whose reader does not
// run: the ring fills and the rest is dropped as ring-full. Only this
// process is watched, so the counts are exact: every open was either
// delivered or counted as dropped.
func TestTinyRingDrops(t *testing.T) {
	requireKernel(t)
	const n = 2000
	pid := int64(os.Getpid())
	dir := t.TempDir()
	h := startProbe(t, Config{OnlyPID: int(pid), RingSize: os.Getpagesize(), Interest: types(event.TypeOpenat)}, func(ev *event.Event) bool {
		return ev.PID == pid && strings.Contains(ev.Args[2].Str, "/burst-")
	})
	h.stop() // no reader: the ring can only fill
	burst(t, dir, n)
	st := h.quiesce()
	checkInvariant(t, st)
	kept := uint64(len(h.kept()))
	t.Logf("ring of %d bytes: %d of %d opens delivered; syscall counters %+v", os.Getpagesize(), kept, n, st.Syscall)
	if kept == 0 || kept == n {
		t.Errorf("%d of %d opens arrived through a one-page ring, want some but not all", kept, n)
	}
	// Nothing else in this process opens files meanwhile, so the kernel's
	// counts are exactly the burst's.
	if st.Syscall.Emitted != kept || h.total != kept {
		t.Errorf("emitted %d, user space got %d records, %d of them opens of the burst", st.Syscall.Emitted, h.total, kept)
	}
	if st.Syscall.DropRingFull != n-kept {
		t.Errorf("ring-full drops %d, want exactly the %d opens not delivered", st.Syscall.DropRingFull, n-kept)
	}
}

// TestCloseWhileRunning closes the probe under a running reader: Run
// returns without error and Close can be called again.
func TestCloseWhileRunning(t *testing.T) {
	requireKernel(t)
	p, err := Open(t.Context(), Config{Interest: types(event.TypeOpenat)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(t.Context(), func(*event.Event) {}) }()
	unix.Getppid()
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Run after Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestExcludePID leaves this process out: its mkdirs are filtered in the
// kernel while another process's still arrive. The child it starts is not
// excluded: its fork (which the kernel reports in this, the excluded,
// process), exec, mkdir and exit all arrive. (mkdir is rare on a busy
// machine, unlike open, so other processes cannot fill the ring.)
func TestExcludePID(t *testing.T) {
	pid := int64(os.Getpid())
	dir := t.TempDir()
	var child atomic.Int64
	h := startProbe(t, Config{ExcludePID: int(pid), Interest: types(event.TypeMkdir, event.TypeMkdirat,
		event.TypeClone, event.TypeExecve, event.TypeProcexit)}, func(ev *event.Event) bool {
		if ev.PID == pid {
			return true // must never happen: kept to fail below
		}
		if ev.Type == event.TypeClone {
			return true // the child's pid is not known yet when its fork arrives
		}
		if a := ev.Arg("path"); a != nil {
			return strings.HasPrefix(a.Str, dir)
		}
		return ev.Type != event.TypeMkdir && ev.Type != event.TypeMkdirat && ev.PID == child.Load()
	})
	for i := range 100 {
		if err := unix.Mkdirat(unix.AT_FDCWD, filepath.Join(dir, fmt.Sprintf("self-%d", i)), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// The child waits for a line before its exec, so that its pid is known
	// to the filter above before its exec, mkdir and exit records arrive.
	cmd := exec.Command("sh", "-c", "read x; exec mkdir "+filepath.Join(dir, "from-child"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Store(int64(cmd.Process.Pid))
	stdin.Write([]byte("go\n"))
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	c := child.Load()
	evs := h.waitFor("the child's mkdir, exec and exit", func(evs []event.Event) bool {
		has := func(typ ...event.Type) bool {
			_, err := find(evs, func(e *event.Event) bool { return e.PID == c && slices.Contains(typ, e.Type) })
			return err == nil
		}
		return has(event.TypeClone) && has(event.TypeMkdir, event.TypeMkdirat) && has(event.TypeExecve) && has(event.TypeProcexit)
	})
	for _, e := range evs {
		if e.PID == pid {
			t.Errorf("record of the excluded process: %s", describe(&e))
		}
	}
}

// TestCountersUnderLoad snapshots the counters while this process makes
// watched and unwatched syscalls as fast as it can: every snapshot holds the
// invariant, no counter ever goes back, and once the hooks are quiet the
// records user space got are exactly those the kernel emitted.
func TestCountersUnderLoad(t *testing.T) {
	h := startProbe(t, Config{OnlyPID: os.Getpid(), Interest: types(event.TypeOpenat)}, func(*event.Event) bool { return false })
	stop := make(chan struct{})
	done := make(chan struct{})
	const n = 200000
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			select {
			case <-stop:
				return
			default:
			}
			unix.Getppid()
			unix.Openat(unix.AT_FDCWD, "/nonexistent/lookout-counters", unix.O_RDONLY, 0)
		}
	}()
	var prev Stats
	snaps := 0
	for loop := true; loop; snaps++ {
		select {
		case <-done:
			loop = false
		default:
		}
		st, err := h.p.Stats()
		if err != nil {
			close(stop)
			t.Fatal(err)
		}
		checkInvariant(t, st)
		for name, pair := range map[string][2]Category{"syscall": {prev.Syscall, st.Syscall}} {
			a, b := pair[0], pair[1]
			if b.Filtered < a.Filtered || b.Emitted < a.Emitted || b.Dropped() < a.Dropped() {
				t.Fatalf("%s counters went back: %+v then %+v", name, a, b)
			}
		}
		prev = st
	}
	st := h.quiesce()
	checkInvariant(t, st)
	if st.Syscall.Emitted < n || st.Syscall.Filtered < n {
		t.Errorf("emitted %d, filtered %d; want at least %d each (this process's openat and getppid)", st.Syscall.Emitted, st.Syscall.Filtered, n)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.total != st.Total().Emitted {
		t.Errorf("user space got %d records, the kernel emitted %d", h.total, st.Total().Emitted)
	}
	t.Logf("%d snapshots under load, final %+v", snaps, st.Syscall)
}
