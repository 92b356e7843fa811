package state

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

func TestLifecycleAndFDs(t *testing.T) {
	tb := newTestTables(t, Options{})
	b := &evb{}
	// init (1) -> bash (100) -> sh (200) -> sh (300) -> cat (400)
	tb.Apply(execEv(b, 1, "/sbin/init", "", "/", 0))
	tb.Apply(fork(b, 100, 1))
	tb.Apply(execEv(b, 100, "/bin/bash", "", "/root", 0))
	tb.Apply(fork(b, 200, 100))
	tb.Apply(execEv(b, 200, "/bin/sh", "-c\x00sh -c cat", "/root", 0))
	tb.Apply(fork(b, 300, 200))
	tb.Apply(execEv(b, 300, "/bin/sh", "-c\x00cat", "/root", 0))
	tb.Apply(fork(b, 400, 300))
	ex := execEv(b, 400, "/bin/cat", "/etc/hostname", "/tmp", 1000)
	tb.Apply(ex)

	p := ex.Proc
	if p == nil || p.Name != "cat" || p.ExePath != "/bin/cat" || !slices.Equal(p.Args, []string{"/etc/hostname"}) {
		t.Fatalf("exec proc = %+v", p)
	}
	if p.Cwd != "/tmp/" || p.UID != 1000 || p.User == nil || p.User.Name != "alice" || p.Group == nil || p.Group.Name != "alice" {
		t.Fatalf("exec cwd/user = %q %d %+v %+v", p.Cwd, p.UID, p.User, p.Group)
	}
	if p.LoginUser == nil || p.LoginUser.Name != "alice" || len(p.Env) != 2 {
		t.Fatalf("loginuser/env = %+v %v", p.LoginUser, p.Env)
	}
	var anames []string
	for a := p.Parent; a != nil; a = a.Parent {
		anames = append(anames, a.Name)
	}
	if want := []string{"sh", "sh", "bash", "init"}; !slices.Equal(anames, want) {
		t.Fatalf("ancestors = %v, want %v", anames, want)
	}

	tests := []struct {
		name     string
		ev       *event.Event
		wantNum  int64
		wantName string
		wantRaw  string
		wantType event.FDType
	}{
		{"openat relative to cwd", b.ev(event.TypeOpenat, 400, 400, 3, fdarg("fd", 3), fdarg("dirfd", atFDCWD), sarg("name", "../etc/passwd"), farg("flags", 0)), 3, "/etc/passwd", "../etc/passwd", event.FDFile},
		{"open directory", b.ev(event.TypeOpen, 400, 400, 4, fdarg("fd", 4), sarg("name", "/etc/"), farg("flags", oDirectory)), 4, "/etc", "/etc/", event.FDDirectory},
		{"openat relative to dirfd", b.ev(event.TypeOpenat, 400, 400, 5, fdarg("fd", 5), fdarg("dirfd", 4), sarg("name", "shadow"), farg("flags", 0)), 5, "/etc/shadow", "shadow", event.FDFile},
		{"absolute normalised", b.ev(event.TypeOpen, 400, 400, 6, fdarg("fd", 6), sarg("name", "/etc/../etc//shadow"), farg("flags", oCloexec)), 6, "/etc/shadow", "/etc/../etc//shadow", event.FDFile},
		{"failed open keeps the name", b.ev(event.TypeOpenat, 400, 400, -2, fdarg("fd", -2), fdarg("dirfd", atFDCWD), sarg("name", "nope"), farg("flags", 0)), -2, "/tmp/nope", "nope", event.FDFile},
		{"dup", b.ev(event.TypeDup, 400, 400, 7, fdarg("oldfd", 5)), 7, "/etc/shadow", "shadow", event.FDFile},
		{"dup2 onto stdout", b.ev(event.TypeDup2, 400, 400, 1, fdarg("oldfd", 3), fdarg("newfd", 1)), 1, "/etc/passwd", "../etc/passwd", event.FDFile},
		{"fcntl dupfd", b.ev(event.TypeFcntl, 400, 400, 10, fdarg("fd", 3), farg("cmd", fDupfd)), 10, "/etc/passwd", "../etc/passwd", event.FDFile},
		{"close sees the fd", b.ev(event.TypeClose, 400, 400, 0, fdarg("fd", 7)), 7, "/etc/shadow", "shadow", event.FDFile},
		{"read uses the fd", b.ev(event.TypeSendto, 400, 400, 0, fdarg("fd", 1)), 1, "/etc/passwd", "../etc/passwd", event.FDFile},
	}
	for _, tt := range tests {
		tb.Apply(tt.ev)
		f := tt.ev.FD
		if f == nil {
			t.Fatalf("%s: no fd", tt.name)
		}
		if f.Num != tt.wantNum || f.Name != tt.wantName || f.NameRaw != tt.wantRaw || f.Type != tt.wantType {
			t.Errorf("%s: fd = %d %q %q %v, want %d %q %q %v", tt.name, f.Num, f.Name, f.NameRaw, f.Type, tt.wantNum, tt.wantName, tt.wantRaw, tt.wantType)
		}
		if tt.ev.Proc != p {
			t.Errorf("%s: proc = %p, want %p", tt.name, tt.ev.Proc, p)
		}
	}
	if tb.FD(400, 7) != nil {
		t.Error("fd 7 still present after close")
	}
	if tb.FD(400, -2) != nil {
		t.Error("failed open created an fd")
	}

	// chdir then relative open; fchdir to a directory fd.
	tb.Apply(b.ev(event.TypeChdir, 400, 400, 0, sarg("path", "/var/log/../lib")))
	ev := b.ev(event.TypeOpen, 400, 400, 11, fdarg("fd", 11), sarg("name", "dpkg/status"), farg("flags", 0))
	tb.Apply(ev)
	if ev.FD.Name != "/var/lib/dpkg/status" || ev.Proc.Cwd != "/var/lib/" {
		t.Fatalf("after chdir: fd %q cwd %q", ev.FD.Name, ev.Proc.Cwd)
	}
	tb.Apply(b.ev(event.TypeFchdir, 400, 400, 0, fdarg("fd", 4)))
	if p.Cwd != "/etc/" {
		t.Fatalf("after fchdir cwd = %q", p.Cwd)
	}

	// exec closes O_CLOEXEC fds (6) and keeps the others.
	tb.Apply(execEv(b, 400, "/usr/bin/tail", "-f", "/etc", 1000))
	if tb.FD(400, 6) != nil || tb.FD(400, 3) == nil || p.Name != "tail" {
		t.Fatalf("after exec: fd6=%v fd3=%v name=%q", tb.FD(400, 6), tb.FD(400, 3), p.Name)
	}

	// setuid.
	tb.Apply(b.ev(event.TypeSetuid, 400, 400, 0, iarg("uid", 0)))
	if p.UID != 0 || p.User.Name != "root" {
		t.Fatalf("after setuid: %d %+v", p.UID, p.User)
	}

	// Parent exits: children go to the reaper the kernel names.
	tb.Apply(b.ev(event.TypeProcexit, 300, 300, 0, iarg("reaper_tid", 1)))
	if p.PPID != 1 || p.Parent == nil || p.Parent.Name != "init" {
		t.Fatalf("after parent exit: ppid %d parent %+v", p.PPID, p.Parent)
	}
	if tb.Process(300) == nil || tb.Process(300).ExitTS == 0 {
		t.Fatal("exited process evicted before its grace period")
	}
	// Past the grace period it is expired by the next event.
	b.ts += int64(6 * time.Second)
	tb.Apply(b.ev(event.TypeSendto, 400, 400, 0, fdarg("fd", 1)))
	if tb.Process(300) != nil {
		t.Fatal("exited process kept after its grace period")
	}
	if s := tb.Stats(); s.Expired != 1 || s.Exited != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestSockets(t *testing.T) {
	tb := newTestTables(t, Options{})
	b := &evb{}
	tb.Apply(execEv(b, 10, "/usr/bin/curl", "http://10.0.0.2/", "/", 0))
	tb.Apply(b.ev(event.TypeSocket, 10, 10, 3, iarg("domain", afInet), uarg("type", sockStream), uarg("proto", 0)))
	if f := tb.FD(10, 3); f == nil || f.Type != event.FDIPv4 || f.L4Proto != event.L4TCP {
		t.Fatalf("socket fd = %+v", f)
	}
	c := b.ev(event.TypeConnect, 10, 10, 0, targ("tuple", event.Tuple{Family: event.FamilyInet, Src: ap("10.0.0.1:40000"), Dst: ap("10.0.0.2:80"), L4Proto: event.L4TCP}), fdarg("fd", 3))
	tb.Apply(c)
	if c.FD == nil || c.FD.Name != "10.0.0.1:40000->10.0.0.2:80" || !c.FD.Connected || c.FD.Server || !c.FD.NameChanged {
		t.Fatalf("connect fd = %+v", c.FD)
	}
	if tb.FD(10, 3) != c.FD {
		t.Fatal("connect did not update the table's fd")
	}

	// Server: socket, bind, listen, accept4.
	tb.Apply(execEv(b, 20, "/usr/sbin/nginx", "", "/", 0))
	tb.Apply(b.ev(event.TypeSocket, 20, 20, 5, iarg("domain", afInet6), uarg("type", sockStream|oCloexec), uarg("proto", 6)))
	tb.Apply(b.ev(event.TypeBind, 20, 20, 0, targ("addr", event.Tuple{Family: event.FamilyInet6, Dst: ap("[::]:443")}), fdarg("fd", 5)))
	tb.Apply(b.ev(event.TypeListen, 20, 20, 0, fdarg("fd", 5), iarg("backlog", 128)))
	if f := tb.FD(20, 5); f == nil || !f.Server || f.Dst != ap("[::]:443") || f.Src.IsValid() || f.OpenFlags&oCloexec == 0 {
		t.Fatalf("listening fd = %+v", f)
	}
	a := b.ev(event.TypeAccept4, 20, 20, 6, fdarg("fd", 6), targ("tuple", event.Tuple{Family: event.FamilyInet6, Src: ap("[2001:db8::1]:5555"), Dst: ap("[2001:db8::2]:443"), L4Proto: event.L4TCP}), iarg("flags", 0))
	tb.Apply(a)
	if a.FD == nil || a.FD.Name != "2001:db8::1:5555->2001:db8::2:443" || !a.FD.Server || !a.FD.Connected || a.FD.Type != event.FDIPv6 {
		t.Fatalf("accepted fd = %+v", a.FD)
	}
	// Failed connect leaves the fd unconnected.
	tb.Apply(b.ev(event.TypeSocket, 20, 20, 7, iarg("domain", afUnix), uarg("type", sockStream), uarg("proto", 0)))
	fc := b.ev(event.TypeConnect, 20, 20, -111, targ("tuple", event.Tuple{Family: event.FamilyUnix, Path: "/run/x.sock"}), fdarg("fd", 7))
	tb.Apply(fc)
	if fc.FD == nil || fc.FD.Connected || fc.FD.Name != "" || fc.FD.Type != event.FDUnix {
		t.Fatalf("failed connect fd = %+v", fc.FD)
	}
	// Pipes and memfd.
	pe := b.ev(event.TypePipe2, 20, 20, 0, fdarg("fd1", 8), fdarg("fd2", 9), uarg("ino", 4242), farg("flags", 0))
	tb.Apply(pe)
	if f := tb.FD(20, 8); f == nil || f.Type != event.FDPipe || f.Name != "pipe:[4242]" || tb.FD(20, 9) == nil {
		t.Fatalf("pipe fd = %+v", f)
	}
	me := b.ev(event.TypeMemfdCreate, 20, 20, 10, fdarg("fd", 10), sarg("name", "payload"), farg("flags", 1))
	tb.Apply(me)
	if me.FD == nil || me.FD.Type != event.FDMemfd || me.FD.Name != "memfd:payload" {
		t.Fatalf("memfd fd = %+v", me.FD)
	}
}

func TestThreadsShareFDsAndCwd(t *testing.T) {
	tb := newTestTables(t, Options{})
	b := &evb{}
	tb.Apply(execEv(b, 50, "/usr/bin/java", "-jar\x00app.jar", "/srv", 0))
	// A thread: tid 51 in process 50.
	th := b.ev(event.TypeClone, 51, 50, 0, iarg("ptid", 50), farg("flags", cloneThread|cloneFiles|cloneFS|0x100))
	tb.Apply(th)
	if th.Proc == nil || th.Proc.PID != 50 || th.Proc.TID != 51 || th.Proc.Name != "java" {
		t.Fatalf("thread proc = %+v", th.Proc)
	}
	tb.Apply(b.ev(event.TypeOpen, 51, 50, 3, fdarg("fd", 3), sarg("name", "conf.yaml"), farg("flags", 0)))
	if f := tb.FD(50, 3); f == nil || f.Name != "/srv/conf.yaml" {
		t.Fatalf("leader does not see the thread's fd: %+v", f)
	}
	tb.Apply(b.ev(event.TypeChdir, 50, 50, 0, sarg("path", "/tmp")))
	ev := b.ev(event.TypeClose, 51, 50, 0, fdarg("fd", 3))
	tb.Apply(ev)
	if ev.Proc.Cwd != "/tmp/" || tb.FD(50, 3) != nil {
		t.Fatalf("thread cwd %q, leader fd3 %v", ev.Proc.Cwd, tb.FD(50, 3))
	}
	// A forked child gets a copy: its close does not touch the parent.
	tb.Apply(b.ev(event.TypeOpen, 50, 50, 4, fdarg("fd", 4), sarg("name", "log"), farg("flags", 0)))
	tb.Apply(fork(b, 60, 51))
	if c := tb.Process(60); c == nil || c.PPID != 50 || c.Parent == nil || c.Parent.TID != 50 {
		t.Fatalf("child of a thread: %+v", c)
	}
	tb.Apply(b.ev(event.TypeClose, 60, 60, 0, fdarg("fd", 4)))
	tb.Apply(b.ev(event.TypeChdir, 60, 60, 0, sarg("path", "/")))
	if tb.FD(50, 4) == nil || tb.FD(60, 4) != nil || tb.Process(50).Cwd != "/tmp/" {
		t.Fatal("forked child shares fds or cwd with its parent")
	}
}

func TestEvictionBounds(t *testing.T) {
	tb := newTestTables(t, Options{MaxProcesses: 10, MaxFDsPerProcess: 4})
	b := &evb{}
	tb.Apply(execEv(b, 1, "/sbin/init", "", "/", 0))
	for i := int64(2); i < 8; i++ {
		tb.Apply(fork(b, i, 1))
	}
	for i := int64(2); i < 5; i++ {
		tb.Apply(b.ev(event.TypeProcexit, i, i, 0))
	}
	for i := int64(100); i < 106; i++ { // 13 > 10: the 3 exited must go first
		tb.Apply(fork(b, i, 1))
	}
	s := tb.Stats()
	if s.Threads != 10 || s.Evicted != 3 || s.Exited != 0 {
		t.Fatalf("stats = %+v, want 10 threads, 3 evicted, 0 exited left", s)
	}
	if tb.Process(2) != nil || tb.Process(4) != nil || tb.Process(5) == nil || tb.Process(1) == nil || tb.Process(105) == nil {
		t.Fatal("eviction did not take exited processes first")
	}
	for fd := int64(0); fd < 10; fd++ {
		tb.Apply(b.ev(event.TypeOpen, 1, 1, fd, fdarg("fd", fd), sarg("name", "/x"), farg("flags", 0)))
	}
	if s := tb.Stats(); s.FDsDropped != 6 {
		t.Fatalf("fds dropped = %d, want 6", s.FDsDropped)
	}
}

// TestMaxExitedBoundsForkStorm: more exited threads than MaxExited waiting for their
// grace period: the oldest go early, every one counted, the newest stay.
func TestMaxExitedBoundsForkStorm(t *testing.T) {
	tb := newTestTables(t, Options{MaxExited: 5})
	b := &evb{}
	tb.Apply(execEv(b, 1, "/sbin/init", "", "/", 0))
	for i := int64(2); i < 22; i++ {
		tb.Apply(fork(b, i, 1))
		tb.Apply(b.ev(event.TypeProcexit, i, i, 0))
	}
	s := tb.Stats()
	if s.Exited != 5 || s.EvictedEarly != 15 || s.Threads != 6 || s.Expired != 0 || s.Evicted != 0 {
		t.Fatalf("stats = %+v, want 5 exited kept, 15 evicted early, 6 threads", s)
	}
	if tb.Process(16) != nil || tb.Process(17) == nil || tb.Process(21) == nil {
		t.Fatal("early eviction did not take the oldest exited first")
	}
}

func TestResolvePath(t *testing.T) {
	for _, tc := range []struct{ base, name, want string }{
		{"/root/", "a", "/root/a"},
		{"/root", "../etc/shadow", "/etc/shadow"},
		{"/x/", "/etc/../etc/shadow", "/etc/shadow"},
		{"/", "./a/./b/", "/a/b"},
		{"", "rel/x", "rel/x"},
		{"/a/", "", ""},
		{"/", "/", "/"},
		{"/", "/..", "/"},
		{"/a", "..foo", "/a/..foo"},
	} {
		if got := resolvePath(tc.base, tc.name); got != tc.want {
			t.Errorf("resolvePath(%q, %q) = %q, want %q", tc.base, tc.name, got, tc.want)
		}
	}
}

func FuzzResolvePath(f *testing.F) {
	f.Add("/root/", "../etc/./shadow")
	f.Add("", "/a//b/..")
	f.Add("/a/b", "../../../c")
	f.Add("x", "y/./z")
	tb := newTestTables(f, Options{})
	f.Fuzz(func(t *testing.T, base, name string) {
		got := resolvePath("/"+base, name)
		if name != "" && (got == "" || got[0] != '/' || resolvePath("/", got) != got) {
			t.Fatalf("resolvePath(/%q, %q) = %q is not absolute and clean", base, name, got)
		}
		// The fast joiner must agree with path.Clean, the reference.
		want := ""
		if name != "" {
			want = path.Clean(name)
			if name[0] != '/' {
				want = path.Clean("/" + base + "/" + name)
			}
		}
		if got != want {
			t.Fatalf("resolvePath(/%q, %q) = %q, path.Clean gives %q", base, name, got, want)
		}
		if in := tb.resolve("/"+base, name); in != want {
			t.Fatalf("resolve(/%q, %q) = %q, want %q", base, name, in, want)
		}
		// Any base: the interned and plain forms agree.
		if a, b := resolvePath(base, name), tb.resolve(base, name); a != b {
			t.Fatalf("resolvePath(%q, %q) = %q but resolve gives %q", base, name, a, b)
		}
	})
}

func TestForkStartTime(t *testing.T) {
	tb := newTestTables(t, Options{})
	b := &evb{}
	tb.Apply(execEv(b, 1, "/sbin/init", "", "/", 0))
	withTS := b.ev(event.TypeClone, 2, 2, 0, iarg("ptid", 1), event.Arg{Name: "start_ts", Kind: event.ArgAbsTime, Int: 12345})
	tb.Apply(withTS)
	without := fork(b, 3, 1)
	tb.Apply(without)
	if got := tb.Process(2).StartTS; got != 12345 {
		t.Errorf("start time from start_ts = %d, want 12345", got)
	}
	if got := tb.Process(3).StartTS; got != without.TS {
		t.Errorf("start time without start_ts = %d, want the event time %d", got, without.TS)
	}
}

func TestOrphansGoToTheirNamespaceInit(t *testing.T) {
	tb := newTestTables(t, Options{})
	b := &evb{}
	vpid := func(ev *event.Event, v int64) *event.Event {
		ev.Args = append(ev.Args, iarg("vpid", v), iarg("vtid", v))
		return ev
	}
	// host: init(1) -> shim(100) -> container init(200, vpid 1) -> sh(300, vpid 2) -> sleep(400, vpid 3)
	tb.Apply(execEv(b, 1, "/sbin/init", "", "/", 0))
	tb.Apply(vpid(fork(b, 100, 1), 100))
	tb.Apply(execEv(b, 100, "/usr/bin/containerd-shim", "", "/", 0))
	tb.Apply(vpid(fork(b, 200, 100), 1))
	tb.Apply(execEv(b, 200, "/sbin/tini", "", "/", 0))
	tb.Apply(vpid(fork(b, 300, 200), 2))
	tb.Apply(execEv(b, 300, "/bin/sh", "", "/", 0))
	tb.Apply(vpid(fork(b, 400, 300), 3))
	tb.Apply(execEv(b, 400, "/bin/sleep", "", "/", 0))
	// A host daemon's orphan: bash(500) -> sleep(600).
	tb.Apply(vpid(fork(b, 500, 1), 500))
	tb.Apply(execEv(b, 500, "/bin/bash", "", "/", 0))
	tb.Apply(vpid(fork(b, 600, 500), 600))

	tb.Apply(b.ev(event.TypeProcexit, 300, 300, 0))
	tb.Apply(b.ev(event.TypeProcexit, 500, 500, 0))
	for _, tc := range []struct {
		tid, wantPPID int64
		wantPName     string
	}{
		{400, 200, "tini"},
		{600, 1, "init"},
	} {
		p := tb.Process(tc.tid)
		if p.PPID != tc.wantPPID || p.Parent == nil || p.Parent.Name != tc.wantPName {
			t.Errorf("orphan %d: ppid %d parent %v, want %d (%s)", tc.tid, p.PPID, p.Parent, tc.wantPPID, tc.wantPName)
		}
	}
	// A reaper the probe names wins.
	tb.Apply(vpid(fork(b, 700, 400), 4))
	tb.Apply(b.ev(event.TypeProcexit, 400, 400, 0, iarg("reaper_tid", 100)))
	if p := tb.Process(700); p.PPID != 100 || p.Parent.Name != "containerd-shim" {
		t.Errorf("orphan with reaper_tid: ppid %d parent %+v", p.PPID, p.Parent)
	}
}

func TestExecFromAThread(t *testing.T) {
	tb := newTestTables(t, Options{})
	b := &evb{}
	tb.Apply(execEv(b, 1, "/sbin/init", "", "/", 0))
	tb.Apply(fork(b, 50, 1))
	tb.Apply(execEv(b, 50, "/usr/bin/java", "", "/srv", 0))
	for _, tid := range []int64{51, 52} {
		tb.Apply(b.ev(event.TypeClone, tid, 50, 0, iarg("ptid", 50), farg("flags", cloneThread|cloneFiles|cloneFS)))
	}
	tb.Apply(b.ev(event.TypeOpen, 52, 50, 3, fdarg("fd", 3), sarg("name", "/srv/app.jar"), farg("flags", 0)))
	// Thread 52 execs: the kernel kills 51 and the leader (their exit
	// records come first), 52 takes tid 50, and the exec is reported as 50.
	tb.Apply(b.ev(event.TypeProcexit, 51, 50, 0))
	tb.Apply(b.ev(event.TypeProcexit, 50, 50, 0))
	ex := execEv(b, 50, "/bin/sh", "-c\x00true", "/srv", 0)
	tb.Apply(ex)
	if tb.Process(51) != nil || tb.Process(52) != nil {
		t.Fatalf("threads survived the exec: 51=%v 52=%v", tb.Process(51), tb.Process(52))
	}
	p := tb.Process(50)
	if p == nil || p != ex.Proc || p.ExitTS != 0 || p.Name != "sh" || tb.FD(50, 3) == nil {
		t.Fatalf("after exec from a thread: %+v fd3=%v", p, tb.FD(50, 3))
	}
	// The leader's exit record did not end the process: it outlives the grace.
	b.ts += int64(10 * time.Second)
	tb.Apply(b.ev(event.TypeClose, 50, 50, 0, fdarg("fd", 3)))
	if tb.Process(50) == nil {
		t.Fatal("the exec'd process expired as if it had exited")
	}
	if s := tb.Stats(); s.Threads != 2 || s.Exited != 0 {
		t.Fatalf("stats = %+v, want 2 threads (init and the exec'd process), none exited", s)
	}
}

func TestLeaderExitsBeforeItsThreads(t *testing.T) {
	tb := newTestTables(t, Options{})
	b := &evb{}
	tb.Apply(execEv(b, 1, "/sbin/init", "", "/", 0))
	tb.Apply(fork(b, 50, 1))
	tb.Apply(execEv(b, 50, "/usr/bin/app", "", "/", 0))
	tb.Apply(b.ev(event.TypeClone, 51, 50, 0, iarg("ptid", 50), farg("flags", cloneThread|cloneFiles|cloneFS)))
	tb.Apply(fork(b, 60, 50))
	// The main thread exits (pthread_exit); thread 51 runs on.
	tb.Apply(b.ev(event.TypeProcexit, 50, 50, 0))
	b.ts += int64(10 * time.Second)
	tb.Apply(b.ev(event.TypeClose, 51, 50, 0, fdarg("fd", 9)))
	if p := tb.Process(50); p == nil || p.ExitTS != 0 {
		t.Fatalf("process ended with its leader thread: %+v", p)
	}
	if c := tb.Process(60); c.PPID != 50 || c.Parent != tb.Process(50) {
		t.Fatalf("child reparented while its parent process lives: ppid %d", c.PPID)
	}
	// The last thread ends the process: now the leader exits and its
	// children go to init.
	tb.Apply(b.ev(event.TypeProcexit, 51, 50, 0))
	if p := tb.Process(50); p == nil || p.ExitTS == 0 {
		t.Fatalf("leader not exited after the last thread: %+v", p)
	}
	if c := tb.Process(60); c.PPID != 1 || c.Parent == nil || c.Parent.Name != "init" {
		t.Fatalf("child after the process ended: ppid %d parent %+v", c.PPID, c.Parent)
	}
	b.ts += int64(10 * time.Second)
	tb.Apply(b.ev(event.TypeClose, 60, 60, 0, fdarg("fd", 9)))
	if tb.Process(50) != nil || tb.Process(51) != nil {
		t.Fatal("exited threads kept past the grace period")
	}
}

func TestUsersAddedLater(t *testing.T) {
	tb := newTestTables(t, Options{})
	b := &evb{}
	ex := execEv(b, 10, "/usr/bin/id", "", "/", 2000)
	tb.Apply(ex)
	if ex.Proc.User != nil {
		t.Fatalf("uid 2000 named %+v before it exists", ex.Proc.User)
	}
	f, err := os.OpenFile(filepath.Join(tb.opts.HostRoot, "etc/passwd"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("bob:x:2000:2000:Bob:/home/bob:/bin/sh\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Within the recheck interval the files are not looked at again.
	b.ts += int64(time.Second)
	ex = execEv(b, 10, "/usr/bin/id", "", "/", 2000)
	tb.Apply(ex)
	if ex.Proc.User != nil {
		t.Fatal("passwd re-read within the recheck interval")
	}
	b.ts += int64(11 * time.Second)
	ex = execEv(b, 10, "/usr/bin/id", "", "/", 2000)
	tb.Apply(ex)
	if u := ex.Proc.User; u == nil || u.Name != "bob" || u.HomeDir != "/home/bob" {
		t.Fatalf("after passwd changed: user %+v, want bob", u)
	}
	if ex.Proc.LoginUser == nil || ex.Proc.LoginUser.Name != "alice" {
		t.Fatalf("known users lost on re-read: login user %+v", ex.Proc.LoginUser)
	}
}
