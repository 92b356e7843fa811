package state

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/probe"
)

// These tests run the real probe on the running kernel and feed its events
// into Apply, as the sensor does, then check the tables against processes
// and files the test creates. They need root (CAP_BPF, CAP_PERFMON).

// liveWait bounds how long a test waits for its own events to come through
// the ring; it is a hang guard, not a timing assertion.
const liveWait = 30 * time.Second

// live is a probe feeding a Tables on one goroutine. Tables is not safe for
// concurrent use, so the test reads it only while holding mu.
type live struct {
	mu     sync.Mutex
	tb     *Tables
	p      *probe.Probe
	hook   func(*event.Event) // called under mu after Apply, for every event
	marks  map[string]chan int64
	dir    string
	nmarks int
}

// Interest sets for the live tests. Each test asks only for what it needs:
// the probe sees the whole machine, and on a loaded machine a system-wide
// open/close stream can fill the ring. The lifecycle set always comes with
// chdir, which the sync markers use.
var (
	liveLifecycle = []event.Type{event.TypeExecve, event.TypeExecveat, event.TypeClone, event.TypeProcexit,
		event.TypeChdir, event.TypeFchdir}
	liveFiles = []event.Type{event.TypeOpen, event.TypeOpenat, event.TypeOpenat2, event.TypeCreat, event.TypeClose,
		event.TypeDup, event.TypeDup2, event.TypeDup3}
	liveSockets = []event.Type{event.TypeSocket, event.TypeConnect, event.TypeAccept, event.TypeAccept4,
		event.TypeBind, event.TypeListen}
)

// liveRing is the ring size for the tests: larger than the default so a
// burst from other processes while Apply runs under -race is absorbed.
const liveRing = 64 << 20

// startLive opens the probe with the lifecycle events plus extra, scans
// /proc and applies every event until the test ends.
func startLive(t *testing.T, opts Options, extra ...event.Type) *live {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: the probe needs root (CAP_BPF and CAP_PERFMON) to load; run the tests as root")
	}
	var interest event.TypeSet
	for _, ty := range append(slices.Clone(liveLifecycle), extra...) {
		interest.Add(ty)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := probe.Open(ctx, probe.Config{Interest: interest, RingSize: liveRing})
	if err != nil {
		cancel()
		t.Fatalf("open probe: %v", err)
	}
	tb, err := New(opts)
	if err != nil {
		cancel()
		p.Close()
		t.Fatal(err)
	}
	if err := tb.Scan(ctx); err != nil {
		cancel()
		p.Close()
		t.Fatal(err)
	}
	l := &live{tb: tb, p: p, marks: map[string]chan int64{}, dir: t.TempDir()}
	pid := int64(os.Getpid())
	done := make(chan error, 1)
	go func() {
		done <- p.Run(ctx, func(ev *event.Event) {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.tb.Apply(ev)
			if l.hook != nil {
				l.hook(ev)
			}
			if ev.Type == event.TypeChdir && ev.PID == pid && ev.Res < 0 {
				if a := ev.Arg("path"); a != nil {
					if ch := l.marks[a.Str]; ch != nil {
						ch <- ev.TS
						delete(l.marks, a.Str)
					}
				}
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("probe run: %v", err)
		}
		p.Close()
	})
	return l
}

// sync makes a marker syscall (a failed chdir to a unique path, which
// changes nothing) and waits until Apply has seen it. The ring buffer keeps
// reservation order, so every event of processes the test already waited
// for has been applied when it returns. It returns the marker's event time.
func (l *live) sync(t *testing.T) int64 {
	t.Helper()
	l.mu.Lock()
	l.nmarks++
	name := filepath.Join(l.dir, fmt.Sprintf("marker-%d", l.nmarks))
	ch := make(chan int64, 1)
	l.marks[name] = ch
	l.mu.Unlock()
	if err := unix.Chdir(name); err == nil {
		t.Fatalf("marker directory %s unexpectedly exists", name)
	}
	select {
	case ts := <-ch:
		return ts
	case <-time.After(liveWait):
		t.Fatalf("the probe did not deliver the marker chdir to %s within %v", name, liveWait)
		return 0
	}
}

// dropped returns the records the probe has lost so far.
func (l *live) dropped(t *testing.T) uint64 {
	t.Helper()
	st, err := l.p.Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st.Total().Dropped()
}

// attempt runs a scenario that reports what it missed, retrying (up to 3
// times in all) only when the probe lost records during the try: a loaded
// machine may overflow even the large ring, which says nothing about the
// tables. Misses without drops fail at once.
func (l *live) attempt(t *testing.T, scenario func() (missing string)) {
	t.Helper()
	for try := 1; ; try++ {
		before := l.dropped(t)
		missing := scenario()
		if missing == "" {
			return
		}
		lost := l.dropped(t) - before
		if lost == 0 || try == 3 {
			t.Fatalf("%s (try %d; the probe dropped %d records during it)", missing, try, lost)
		}
		t.Logf("try %d: %s, but the probe dropped %d records meanwhile; trying again", try, missing, lost)
	}
}

// setHook installs fn to run under the lock after each Apply.
func (l *live) setHook(fn func(*event.Event)) {
	l.mu.Lock()
	l.hook = fn
	l.mu.Unlock()
}

// procSnap is a copy of what the rule engine would read from Event.Proc.
type procSnap struct {
	tid, pid, ppid int64
	name, exe      string
	exepath, cwd   string
	cmdline        string
	anames         []string // proc.aname[1..]: parent first
	apids          []int64
	exited         bool
	uid            uint32
	loginUID       int64
	args           []string
}

func snapProc(p *event.Process) procSnap {
	s := procSnap{tid: p.TID, pid: p.PID, ppid: p.PPID, name: p.Name, exe: p.Exe,
		exepath: p.ExePath, cwd: p.Cwd, cmdline: p.Cmdline(), exited: p.ExitTS != 0,
		uid: p.UID, loginUID: p.LoginUID, args: slices.Clone(p.Args)}
	for a, i := p.Parent, 0; a != nil && i < 64; a, i = a.Parent, i+1 {
		s.anames = append(s.anames, a.Name)
		s.apids = append(s.apids, a.PID)
	}
	return s
}

// fdSnap is a copy of Event.FD.
type fdSnap struct {
	pid      int64
	typ      event.Type
	res      int64
	fd       event.FD
	procName string
}

func TestLiveProcessTree(t *testing.T) {
	l := startLive(t, Options{})
	dir := t.TempDir()
	var s procSnap
	l.attempt(t, func() string {
		target, err := os.CreateTemp(dir, "tree-target")
		if err != nil {
			t.Fatal(err)
		}
		target.Close()
		snaps := make(chan procSnap, 1)
		l.setHook(func(ev *event.Event) {
			if ev.Type != event.TypeExecve || ev.Proc == nil || ev.Proc.Name != "cat" {
				return
			}
			if slices.Contains(ev.Proc.Args, target.Name()) {
				select {
				case snaps <- snapProc(ev.Proc):
				default:
				}
			}
		})
		// The trailing "; true" keeps each shell from exec'ing its last
		// command, so the tree really is test -> sh -> sh -> cat.
		cmd := exec.Command("sh", "-c", `sh -c "cat `+target.Name()+` >/dev/null; true"; true`)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("run tree: %v: %s", err, out)
		}
		l.sync(t)
		select {
		case s = <-snaps:
			return ""
		default:
			return "no execve event of cat reached Apply"
		}
	})
	target := s.args[0]
	self := int64(os.Getpid())
	t.Logf("cat: %+v", s)
	if s.name != "cat" || s.exe != "cat" || s.cmdline != "cat "+target {
		t.Errorf("cat: name %q exe %q cmdline %q", s.name, s.exe, s.cmdline)
	}
	if s.uid != uint32(os.Geteuid()) {
		t.Errorf("cat uid = %d, want %d", s.uid, os.Geteuid())
	}
	if lu, err := os.ReadFile("/proc/self/loginuid"); err == nil {
		want, _ := strconv.ParseInt(strings.TrimSpace(string(lu)), 10, 64)
		if want == 4294967295 {
			want = -1
		}
		if s.loginUID != want {
			t.Errorf("cat loginuid = %d, want %d (from /proc/self/loginuid)", s.loginUID, want)
		}
	}
	if want, _ := exec.LookPath("cat"); s.exepath != want && s.exepath != "/bin/cat" && s.exepath != "/usr/bin/cat" {
		t.Errorf("cat exepath = %q, want %q", s.exepath, want)
	}
	if s.cwd != dir+"/" {
		t.Errorf("cat cwd = %q, want %q (set by the child's chdir before exec)", s.cwd, dir+"/")
	}
	if len(s.anames) < 3 || s.anames[0] != "sh" || s.anames[1] != "sh" {
		t.Fatalf("cat ancestors = %v (pids %v), want sh, sh, %s ...", s.anames, s.apids, filepath.Base(os.Args[0]))
	}
	if s.apids[1] == s.apids[0] || s.ppid != s.apids[0] || s.apids[2] != self {
		t.Errorf("ancestor pids = %v (ppid %d), want inner sh, outer sh, then the test process %d", s.apids, s.ppid, self)
	}
	// proc.aname[3] is the test binary; its comm is at most 15 bytes.
	if want := filepath.Base(os.Args[0]); len(want) > 15 {
		want = want[:15]
		if s.anames[2] != want {
			t.Errorf("aname[3] = %q, want %q", s.anames[2], want)
		}
	} else if s.anames[2] != want {
		t.Errorf("aname[3] = %q, want %q", s.anames[2], want)
	}
}

func TestLivePaths(t *testing.T) {
	l := startLive(t, Options{}, liveFiles...)
	self := int64(os.Getpid())
	type want struct {
		name     string
		raw      string
		pid      int64
		wantName string
		wantOK   bool
	}
	var (
		mu       sync.Mutex
		got      []fdSnap
		tests    []want
		dir      string
		dfd, ffd int
	)
	find := func(raw string, pid int64) *fdSnap {
		for i := range got {
			if got[i].fd.NameRaw == raw && (pid == 0 || got[i].pid == pid) {
				return &got[i]
			}
		}
		return nil
	}
	l.attempt(t, func() string {
		dir = t.TempDir()
		sub := filepath.Join(dir, "sub")
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{filepath.Join(sub, "rel.txt"), filepath.Join(dir, "top.txt")} {
			if err := os.WriteFile(f, []byte("x\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		mu.Lock()
		got = nil
		mu.Unlock()
		cmd := exec.Command("sh", "-c", `cd sub && cat rel.txt ../sub/./rel.txt /etc/../etc/hostname >/dev/null; cat missing.txt 2>/dev/null; true`)
		cmd.Dir = dir
		raws := []string{"rel.txt", "../sub/./rel.txt", "/etc/../etc/hostname", "missing.txt", "top.txt"}
		l.setHook(func(ev *event.Event) {
			switch ev.Type {
			case event.TypeOpen, event.TypeOpenat, event.TypeOpenat2:
			default:
				return
			}
			if ev.FD == nil || ev.Proc == nil {
				return
			}
			if a := ev.Arg("name"); a == nil || !slices.Contains(raws, a.Str) {
				return
			}
			mu.Lock()
			got = append(got, fdSnap{pid: ev.PID, typ: ev.Type, res: ev.Res, fd: *ev.FD, procName: ev.Proc.Name})
			mu.Unlock()
		})
		// A child that changes directory and opens relative names, and an
		// absolute name with "..".
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("run script: %v: %s", err, out)
		}
		// The test process itself: openat relative to a directory fd.
		var err error
		if dfd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(dfd) })
		if ffd, err = unix.Openat(dfd, "top.txt", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(ffd) })
		l.sync(t)
		tests = []want{
			{"relative to a chdir'd cwd", "rel.txt", 0, filepath.Join(sub, "rel.txt"), true},
			{"relative with .. and .", "../sub/./rel.txt", 0, filepath.Join(sub, "rel.txt"), true},
			{"absolute normalised", "/etc/../etc/hostname", 0, "/etc/hostname", true},
			{"failed open keeps the resolved name", "missing.txt", 0, filepath.Join(sub, "missing.txt"), false},
			{"relative to a dirfd", "top.txt", self, filepath.Join(dir, "top.txt"), true},
		}
		mu.Lock()
		defer mu.Unlock()
		for _, tt := range tests {
			if find(tt.raw, tt.pid) == nil {
				return fmt.Sprintf("%s: no open event for %q reached Apply (got %d matching events)", tt.name, tt.raw, len(got))
			}
		}
		return ""
	})

	mu.Lock()
	defer mu.Unlock()
	for _, g := range got {
		t.Logf("open: pid %d %v res %d proc %s fd %q raw %q", g.pid, g.typ, g.res, g.procName, g.fd.Name, g.fd.NameRaw)
	}
	for _, tt := range tests {
		s := find(tt.raw, tt.pid)
		if s.fd.Name != tt.wantName || s.fd.Type != event.FDFile {
			t.Errorf("%s: fd.name %q type %v, want %q file", tt.name, s.fd.Name, s.fd.Type, tt.wantName)
		}
		if (s.res >= 0) != tt.wantOK {
			t.Errorf("%s: res %d, want success %v", tt.name, s.res, tt.wantOK)
		}
	}
	// The directory fd and the file opened through it are in the test
	// process's fd table.
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.tb.FD(self, int64(dfd)); f == nil || f.Name != dir || f.Type != event.FDDirectory {
		t.Errorf("dirfd %d in table = %+v, want directory %q", dfd, f, dir)
	}
	if f := l.tb.FD(self, int64(ffd)); f == nil || f.Name != filepath.Join(dir, "top.txt") {
		t.Errorf("fd %d in table = %+v, want %q", ffd, f, filepath.Join(dir, "top.txt"))
	}
}

func TestLiveConnect(t *testing.T) {
	if supported := probe.Supported(); !supported.Has(event.TypeConnect) || !supported.Has(event.TypeAccept4) {
		t.Skip("skipping: the probe does not capture connect and accept4 yet (probe.Supported lacks them)")
	}
	l := startLive(t, Options{}, liveSockets...)
	// Server and client are raw blocking sockets of this process, so
	// connect returns 0 rather than EINPROGRESS and every step is a syscall
	// the probe sees: socket, bind, listen, connect, accept4.
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(lfd, 4); err != nil {
		t.Fatal(err)
	}
	lsa, err := unix.Getsockname(lfd)
	if err != nil {
		t.Fatal(err)
	}
	dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(lsa.(*unix.SockaddrInet4).Port))
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: int(dst.Port()), Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	src := netip.AddrPortFrom(netip.AddrFrom4(sa.(*unix.SockaddrInet4).Addr), uint16(sa.(*unix.SockaddrInet4).Port))
	afd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(afd)
	l.sync(t)
	l.mu.Lock()
	defer l.mu.Unlock()
	self := int64(os.Getpid())
	want := fmt.Sprintf("%s->%s", src, dst) // client first, for both ends, as Falco names them
	tests := []struct {
		name      string
		fd        int
		server    bool
		connected bool
		src, dst  netip.AddrPort
		wantName  string
	}{
		{"connected client", fd, false, true, src, dst, want},
		{"accepted server side", afd, true, true, src, dst, want},
	}
	for _, tt := range tests {
		f := l.tb.FD(self, int64(tt.fd))
		if f == nil {
			t.Errorf("%s: fd %d is not in the table", tt.name, tt.fd)
			continue
		}
		if f.Type != event.FDIPv4 || f.Family != event.FamilyInet || f.L4Proto != event.L4TCP || f.Server != tt.server ||
			f.Connected != tt.connected || f.Src != tt.src || f.Dst != tt.dst || f.Name != tt.wantName {
			t.Errorf("%s: fd %d = type %v family %v l4 %v server %v connected %v %v->%v name %q, want ipv4 tcp server %v %q",
				tt.name, tt.fd, f.Type, f.Family, f.L4Proto, f.Server, f.Connected, f.Src, f.Dst, f.Name, tt.server, tt.wantName)
		}
	}
	if f := l.tb.FD(self, int64(lfd)); f == nil || !f.Server || f.Type != event.FDIPv4 || f.L4Proto != event.L4TCP {
		t.Errorf("listening fd %d = %+v, want a tcp server socket", lfd, f)
	}
}

func TestLiveExitEviction(t *testing.T) {
	const grace = 50 * time.Millisecond
	l := startLive(t, Options{ExitGrace: grace})
	type exitSnap struct {
		pid     int64
		exitTS  int64
		inTab   bool
		expired uint64 // Stats.Expired at the exit
	}
	exits := make(chan exitSnap, 4)
	// The shell's $0 is a token unique to this run, so the hook can find its
	// exit without knowing the pid in advance.
	token := fmt.Sprintf("lookout-exit-%d-%d", os.Getpid(), time.Now().UnixNano())
	l.setHook(func(ev *event.Event) {
		if ev.Type == event.TypeProcexit && ev.Proc != nil && slices.Contains(ev.Proc.Args, token) {
			exits <- exitSnap{pid: ev.TID, exitTS: ev.Proc.ExitTS, inTab: l.tb.Process(ev.TID) == ev.Proc,
				expired: l.tb.Stats().Expired}
		}
	})
	var ex exitSnap
	var child int64
	l.attempt(t, func() string {
		cmd := exec.Command("sh", "-c", "exit 3", token)
		if err := cmd.Run(); cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 3 {
			t.Fatalf("run sh: %v", err)
		}
		child = int64(cmd.Process.Pid)
		l.sync(t)
		for {
			select {
			case ex = <-exits:
				if ex.pid == child {
					return ""
				}
			default:
				return fmt.Sprintf("no procexit for pid %d ($0 %s) reached Apply", child, token)
			}
		}
	})
	if ex.pid != child || !ex.inTab || ex.exitTS == 0 {
		t.Fatalf("at procexit of %d (want %d): in table %v, exit time %d; want the exited entry kept", ex.pid, child, ex.inTab, ex.exitTS)
	}
	// Expiry runs on event time: make marker events until one is past the
	// grace period, then the entry must be gone.
	for {
		ts := l.sync(t)
		if ts > ex.exitTS+grace.Nanoseconds() {
			break
		}
		time.Sleep(grace / 5)
	}
	l.mu.Lock()
	p := l.tb.Process(child)
	l.mu.Unlock()
	if p != nil {
		t.Fatalf("pid %d still in the table after its grace period (exit %d)", child, ex.exitTS)
	}
	if after := l.stats(); after.Expired <= ex.expired {
		t.Errorf("Expired counter %d at the exit, %d now; want it to grow", ex.expired, after.Expired)
	}
}

func (l *live) stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tb.Stats()
}

// execFromThreadEnv makes the test binary, run as a child by
// TestLiveExecFromThread, exec from a thread that is not the leader.
const execFromThreadEnv = "LOOKOUT_STATE_EXEC_FROM_THREAD"

// TestLiveExecFromThreadHelper is the child side of TestLiveExecFromThread;
// run normally it skips.
func TestLiveExecFromThreadHelper(t *testing.T) {
	token := os.Getenv(execFromThreadEnv)
	if token == "" {
		t.Skip("helper process for TestLiveExecFromThread")
	}
	// Lock goroutines to threads until one is not the leader, then exec
	// from it: the kernel kills the other threads and the exec'ing thread
	// takes the leader's tid.
	hold := make(chan struct{})
	defer close(hold)
	for range 8 {
		ok := make(chan bool)
		go func() {
			runtime.LockOSThread()
			if unix.Gettid() == unix.Getpid() {
				ok <- false
				<-hold
				return
			}
			err := unix.Exec("/bin/sh", []string{"sh", "-c", "exit 0", token}, os.Environ())
			t.Errorf("exec: %v", err)
			ok <- true
		}()
		if <-ok {
			return
		}
	}
	t.Fatal("every locked thread was the leader")
}

func TestLiveExecFromThread(t *testing.T) {
	l := startLive(t, Options{})
	token := fmt.Sprintf("lookout-thread-exec-%d-%d", os.Getpid(), time.Now().UnixNano())
	type execSnap struct {
		tid, pid int64
		exited   bool
		threads  []int64 // table entries of the process at the exec
	}
	snaps := make(chan execSnap, 4)
	l.setHook(func(ev *event.Event) {
		if ev.Type != event.TypeExecve || ev.Proc == nil || !slices.Contains(ev.Proc.Args, token) {
			return
		}
		s := execSnap{tid: ev.TID, pid: ev.PID, exited: ev.Proc.ExitTS != 0}
		for tid, th := range l.tb.threads {
			if th.p.PID == ev.PID {
				s.threads = append(s.threads, tid)
			}
		}
		select {
		case snaps <- s:
		default:
		}
	})
	var s execSnap
	var child int64
	l.attempt(t, func() string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLiveExecFromThreadHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), execFromThreadEnv+"="+token)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("helper: %v: %s", err, out)
		}
		child = int64(cmd.Process.Pid)
		l.sync(t)
		for {
			select {
			case s = <-snaps:
				if s.pid == child {
					return ""
				}
			default:
				return "no execve event of the helper's shell reached Apply"
			}
		}
	})
	if s.pid != child || s.tid != child || s.exited || !slices.Equal(s.threads, []int64{child}) {
		t.Fatalf("at the exec from a thread: tid %d pid %d (want %d), exited %v, entries %v (want only %d)",
			s.tid, s.pid, child, s.exited, s.threads, child)
	}
}
