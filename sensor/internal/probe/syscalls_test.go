package probe

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// call is one syscall a test makes on a locked thread, and the record it
// must produce: its type, return value and the exit parameters named in args
// (string, int64 for signed kinds, uint64 for unsigned and flags,
// event.Tuple for addresses).
type call struct {
	name string
	typ  event.Type
	// do makes the call and returns its result (fd or 0, or -errno) plus
	// expected argument values only known once it ran.
	do   func(t *testing.T) (int64, map[string]any)
	args map[string]any
	// order, when set, is the full list of parameter names, in order.
	order []string
}

// runCalls watches the calls' types, runs each call on its own locked OS
// thread between two marker calls (close(-2) before, close(-3) after: a
// thread may have run other goroutines' syscalls before) and checks the
// first record of the call's type between the markers. Two probes watch at
// once, one reading kernel structures with typed loads (bpf_rdonly_cast) and
// one with bpf_probe_read_kernel (the path of kernels before 6.2): both must
// report the same.
func runCalls(t *testing.T, calls []call) {
	t.Helper()
	var interest event.TypeSet
	interest.Add(event.TypeClose)
	for _, c := range calls {
		interest.Add(c.typ)
	}
	pid := int64(os.Getpid())
	keep := func(ev *event.Event) bool { return ev.PID == pid }
	flavours := map[string]*harness{
		"btf":        startProbe(t, Config{OnlyPID: int(pid), Interest: interest}, keep),
		"probe-read": startProbe(t, Config{OnlyPID: int(pid), Interest: interest, probeReads: true}, keep),
	}
	results := make([]callResult, len(calls))
	for i, c := range calls {
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
			results[i].tid = int64(unix.Gettid())
			unix.Close(-2)
			results[i].res, results[i].args = c.do(t)
			unix.Close(-3)
		}()
		<-done
	}
	for name, h := range flavours {
		t.Run(name, func(t *testing.T) { checkCalls(t, h, calls, results) })
	}
}

// callResult is what a call did, seen from user space.
type callResult struct {
	tid  int64
	res  int64
	args map[string]any
}

// checkCalls checks the records h got for calls against results.
func checkCalls(t *testing.T, h *harness, calls []call, results []callResult) {
	marker := func(e *event.Event, tid, fd int64) bool {
		return e.TID == tid && e.Type == event.TypeClose && e.Arg("fd").Int == fd
	}
	evs := h.waitFor("the end marker of every call", func(evs []event.Event) bool {
		for i := range calls {
			if _, err := find(evs, func(e *event.Event) bool { return marker(e, results[i].tid, -3) }); err != nil {
				return false
			}
		}
		return true
	})
	// between returns the first record of type typ from tid between its markers.
	between := func(tid int64, typ event.Type) *event.Event {
		in := false
		for i := range evs {
			e := &evs[i]
			switch {
			case marker(e, tid, -2):
				in = true
			case marker(e, tid, -3):
				return nil
			case in && e.TID == tid && e.Type == typ:
				return e
			}
		}
		return nil
	}
	for i, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			r := results[i]
			ev := between(r.tid, c.typ)
			if ev == nil {
				t.Fatalf("no %s record between the markers of thread %d", c.typ, r.tid)
			}
			t.Log(describe(ev))
			if ev.Res != r.res {
				t.Errorf("res = %d, want %d", ev.Res, r.res)
			}
			if c.order != nil && !slices.Equal(argNames(ev), c.order) {
				t.Errorf("parameters %v, want %v", argNames(ev), c.order)
			}
			want := map[string]any{}
			for k, v := range c.args {
				want[k] = v
			}
			for k, v := range r.args {
				want[k] = v
			}
			for name, w := range want {
				a := ev.Arg(name)
				if a == nil {
					t.Errorf("no parameter %q", name)
					continue
				}
				var got any
				switch w.(type) {
				case string:
					got = a.Str
					if a.Kind == event.ArgBytes {
						got = string(a.Bytes)
					}
				case int64:
					got = a.Int
				case uint64:
					got = a.Uint
				case event.Tuple:
					got = a.Tuple
				default:
					t.Fatalf("bad expectation type %T for %s", w, name)
				}
				if got != w {
					t.Errorf("%s = %v, want %v", name, got, w)
				}
			}
		})
	}
}

// errno turns a syscall error into Falco's negative return value.
func errno(err error) int64 {
	if err == nil {
		return 0
	}
	if e, ok := err.(unix.Errno); ok {
		return -int64(e)
	}
	panic(fmt.Sprintf("not an errno: %v", err))
}

// fdres is the return value of a call that returns an fd.
func fdres(fd int, err error) int64 {
	if err != nil {
		return errno(err)
	}
	return int64(fd)
}

func TestFileSyscalls(t *testing.T) {
	requireKernel(t)
	dir := t.TempDir()
	p := func(n string) string { return dir + "/" + n }
	if err := os.WriteFile(p("target"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dirfd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dirfd)
	dfd := int64(dirfd)
	calls := []call{
		{name: "symlinkat", typ: event.TypeSymlinkat,
			do:    func(t *testing.T) (int64, map[string]any) { return errno(unix.Symlinkat("target", dirfd, "sym")), nil },
			args:  map[string]any{"target": "target", "linkdirfd": dfd, "linkpath": "sym"},
			order: []string{"res", "target", "linkdirfd", "linkpath"}},
		{name: "linkat", typ: event.TypeLinkat,
			do: func(t *testing.T) (int64, map[string]any) {
				return errno(unix.Linkat(dirfd, "target", unix.AT_FDCWD, p("hard"), unix.AT_SYMLINK_FOLLOW)), nil
			},
			args:  map[string]any{"olddir": dfd, "oldpath": "target", "newdir": int64(unix.AT_FDCWD), "newpath": p("hard"), "flags": uint64(unix.AT_SYMLINK_FOLLOW)},
			order: []string{"res", "olddir", "oldpath", "newdir", "newpath", "flags"}},
		{name: "renameat2", typ: event.TypeRenameat2,
			do: func(t *testing.T) (int64, map[string]any) {
				return errno(unix.Renameat2(dirfd, "hard", dirfd, "moved", unix.RENAME_NOREPLACE)), nil
			},
			args:  map[string]any{"olddirfd": dfd, "oldpath": "hard", "newdirfd": dfd, "newpath": "moved", "flags": uint64(unix.RENAME_NOREPLACE)},
			order: []string{"res", "olddirfd", "oldpath", "newdirfd", "newpath", "flags"}},
		{name: "unlinkat missing", typ: event.TypeUnlinkat,
			do: func(t *testing.T) (int64, map[string]any) {
				return errno(unix.Unlinkat(dirfd, "missing", 0)), nil
			},
			args:  map[string]any{"dirfd": dfd, "name": "missing", "flags": uint64(0)},
			order: []string{"res", "dirfd", "name", "flags"}},
		{name: "mkdirat", typ: event.TypeMkdirat,
			do:    func(t *testing.T) (int64, map[string]any) { return errno(unix.Mkdirat(dirfd, "sub", 0o750)), nil },
			args:  map[string]any{"dirfd": dfd, "path": "sub", "mode": uint64(0o750)},
			order: []string{"res", "dirfd", "path", "mode"}},
		{name: "fchmodat", typ: event.TypeFchmodat,
			do: func(t *testing.T) (int64, map[string]any) {
				return errno(unix.Fchmodat(dirfd, "target", 0o4755, 0)), nil
			},
			args:  map[string]any{"dirfd": dfd, "filename": "target", "mode": uint64(0o4755)},
			order: []string{"res", "dirfd", "filename", "mode"}},
		{name: "memfd_create", typ: event.TypeMemfdCreate,
			do: func(t *testing.T) (int64, map[string]any) {
				fd, err := unix.MemfdCreate("lookout-test", unix.MFD_CLOEXEC)
				if err == nil {
					defer unix.Close(fd)
				}
				return fdres(fd, err), map[string]any{"fd": fdres(fd, err)}
			},
			args:  map[string]any{"name": "lookout-test", "flags": uint64(unix.MFD_CLOEXEC)},
			order: []string{"fd", "name", "flags"}},
		{name: "dup3", typ: event.TypeDup3,
			do: func(t *testing.T) (int64, map[string]any) {
				return fdres(1000, unix.Dup3(dirfd, 1000, unix.O_CLOEXEC)), nil
			},
			args:  map[string]any{"oldfd": dfd, "newfd": int64(1000), "flags": uint64(unix.O_CLOEXEC)},
			order: []string{"res", "oldfd", "newfd", "flags"}},
		{name: "close", typ: event.TypeClose,
			do:    func(t *testing.T) (int64, map[string]any) { return errno(unix.Close(1000)), nil },
			args:  map[string]any{"fd": int64(1000)},
			order: []string{"res", "fd"}},
		{name: "openat2", typ: event.TypeOpenat2,
			do: func(t *testing.T) (int64, map[string]any) {
				how := unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH}
				fd, err := unix.Openat2(dirfd, "target", &how)
				if err == nil {
					defer unix.Close(fd)
				}
				return fdres(fd, err), nil
			},
			args:  map[string]any{"dirfd": dfd, "name": "target", "flags": uint64(unix.O_CLOEXEC), "resolve": uint64(unix.RESOLVE_BENEATH)},
			order: []string{"fd", "dirfd", "name", "flags", "mode", "resolve", "dev", "ino"}},
	}
	calls = append(calls, legacyFileCalls(dir)...)
	runCalls(t, calls)
}

func TestPtrace(t *testing.T) {
	requireKernel(t)
	calls := []call{{name: "ptrace attach", typ: event.TypePtrace,
		do: func(t *testing.T) (int64, map[string]any) {
			p, err := os.StartProcess("/bin/sleep", []string{"sleep", "60"}, &os.ProcAttr{})
			if err != nil {
				t.Fatalf("start sleep: %v", err)
			}
			t.Cleanup(func() { p.Kill(); p.Wait() })
			err = unix.PtraceAttach(p.Pid)
			if err == nil {
				var ws unix.WaitStatus
				unix.Wait4(p.Pid, &ws, 0, nil)
				unix.PtraceDetach(p.Pid)
			}
			return errno(err), map[string]any{"pid": int64(p.Pid)}
		},
		args:  map[string]any{"request": uint64(unix.PTRACE_ATTACH)},
		order: []string{"res", "addr", "data", "request", "pid"}}}
	runCalls(t, calls)
}

func TestSocketSyscalls(t *testing.T) {
	requireKernel(t)
	lo := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	// A listener, a client connected to it, and the accepted socket.
	srv, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(srv)
	var sport uint16
	var cli, cport, acc int
	var closedPort uint16
	calls := []call{
		{name: "bind", typ: event.TypeBind,
			do: func(t *testing.T) (int64, map[string]any) {
				return errno(unix.Bind(srv, &unix.SockaddrInet4{Addr: lo.As4()})), map[string]any{"fd": int64(srv)}
			},
			args:  map[string]any{"addr": event.Tuple{Family: event.FamilyInet, Dst: netip.AddrPortFrom(lo, 0)}},
			order: []string{"res", "addr", "fd"}},
		{name: "listen", typ: event.TypeListen,
			do: func(t *testing.T) (int64, map[string]any) {
				err := unix.Listen(srv, 7)
				sa, _ := unix.Getsockname(srv)
				sport = uint16(sa.(*unix.SockaddrInet4).Port)
				return errno(err), map[string]any{"fd": int64(srv)}
			},
			args:  map[string]any{"backlog": int64(7)},
			order: []string{"res", "fd", "backlog"}},
		{name: "socket", typ: event.TypeSocket,
			do: func(t *testing.T) (int64, map[string]any) {
				fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				cli = fd
				return fdres(fd, err), map[string]any{"fd": fdres(fd, err)}
			},
			args:  map[string]any{"domain": uint64(unix.AF_INET), "type": uint64(unix.SOCK_STREAM | unix.SOCK_CLOEXEC), "proto": uint64(0), "flags": uint64(unix.O_CLOEXEC)},
			order: []string{"fd", "domain", "type", "proto", "flags"}},
		{name: "connect", typ: event.TypeConnect,
			do: func(t *testing.T) (int64, map[string]any) {
				err := unix.Connect(cli, &unix.SockaddrInet4{Addr: lo.As4(), Port: int(sport)})
				sa, _ := unix.Getsockname(cli)
				cport = sa.(*unix.SockaddrInet4).Port
				return errno(err), map[string]any{
					"fd":    int64(cli),
					"tuple": event.Tuple{Family: event.FamilyInet, L4Proto: event.L4TCP, Src: netip.AddrPortFrom(lo, uint16(cport)), Dst: netip.AddrPortFrom(lo, sport)},
					"addr":  event.Tuple{Family: event.FamilyInet, Dst: netip.AddrPortFrom(lo, sport)},
				}
			},
			order: []string{"res", "tuple", "fd", "addr"}},
		{name: "accept4", typ: event.TypeAccept4,
			do: func(t *testing.T) (int64, map[string]any) {
				// Stays open until the end: closing it would make the
				// sendto below draw a reset that unhashes the client's port.
				fd, _, err := unix.Accept4(srv, unix.SOCK_CLOEXEC)
				acc = fd
				return fdres(fd, err), map[string]any{
					"fd":    fdres(fd, err),
					"tuple": event.Tuple{Family: event.FamilyInet, L4Proto: event.L4TCP, Src: netip.AddrPortFrom(lo, uint16(cport)), Dst: netip.AddrPortFrom(lo, sport)},
				}
			},
			args:  map[string]any{"flags": int64(unix.SOCK_CLOEXEC)},
			order: []string{"fd", "tuple", "queuepct", "queuelen", "queuemax", "flags"}},
		{name: "sendto", typ: event.TypeSendto,
			do: func(t *testing.T) (int64, map[string]any) {
				res := int64(13)
				if err := unix.Sendto(cli, []byte("hello lookout"), 0, nil); err != nil {
					res = errno(err)
				}
				return res, map[string]any{"fd": int64(cli), "size": uint64(13), "data": "hello lookout",
					"tuple": event.Tuple{Family: event.FamilyInet, L4Proto: event.L4TCP, Src: netip.AddrPortFrom(lo, uint16(cport)), Dst: netip.AddrPortFrom(lo, sport)}}
			},
			order: []string{"res", "data", "fd", "size", "tuple"}},
		{name: "connect refused", typ: event.TypeConnect,
			do: func(t *testing.T) (int64, map[string]any) {
				// A port nobody listens on: bind one, close it, connect.
				tmp, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
				unix.Bind(tmp, &unix.SockaddrInet4{Addr: lo.As4()})
				sa, _ := unix.Getsockname(tmp)
				closedPort = uint16(sa.(*unix.SockaddrInet4).Port)
				unix.Close(tmp)
				fd, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
				defer unix.Close(fd)
				err := unix.Connect(fd, &unix.SockaddrInet4{Addr: lo.As4(), Port: int(closedPort)})
				return errno(err), map[string]any{"fd": int64(fd),
					"addr": event.Tuple{Family: event.FamilyInet, Dst: netip.AddrPortFrom(lo, closedPort)}}
			}},
	}
	runCalls(t, calls)
	unix.Close(cli)
	unix.Close(acc)
}

func TestMiscSyscalls(t *testing.T) {
	requireKernel(t)
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pair[0])
	defer unix.Close(pair[1])
	if err := unix.Sendto(pair[1], []byte("ping"), 0, nil); err != nil {
		t.Fatal(err)
	}
	// A unix stream server on a path, and a client connected to it.
	sock := t.TempDir() + "/lookout.sock"
	srv, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(srv)
	if err := unix.Bind(srv, &unix.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(srv, 1); err != nil {
		t.Fatal(err)
	}
	cli, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cli)
	var acc int
	// Two unconnected UDP sockets on 127.0.0.1 for sendmsg/recvmsg.
	lo := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	udpRecv, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(udpRecv)
	if err := unix.Bind(udpRecv, &unix.SockaddrInet4{Addr: lo.As4()}); err != nil {
		t.Fatal(err)
	}
	rsa, _ := unix.Getsockname(udpRecv)
	rport := uint16(rsa.(*unix.SockaddrInet4).Port)
	udpSend, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(udpSend)
	var sport uint16
	self := int64(os.Getpid())
	calls := []call{
		{name: "pipe2", typ: event.TypePipe2,
			do: func(t *testing.T) (int64, map[string]any) {
				var p [2]int
				var st unix.Stat_t
				err := unix.Pipe2(p[:], unix.O_CLOEXEC)
				if err == nil {
					defer unix.Close(p[0])
					defer unix.Close(p[1])
					unix.Fstat(p[0], &st)
				}
				return errno(err), map[string]any{"fd1": int64(p[0]), "fd2": int64(p[1]), "ino": st.Ino}
			},
			args:  map[string]any{"flags": uint64(unix.O_CLOEXEC)},
			order: []string{"res", "fd1", "fd2", "ino", "flags"}},
		{name: "fcntl dupfd", typ: event.TypeFcntl,
			do: func(t *testing.T) (int64, map[string]any) {
				fd, err := unix.FcntlInt(uintptr(pair[0]), unix.F_DUPFD_CLOEXEC, 0)
				if err == nil {
					defer unix.Close(fd)
				}
				return fdres(fd, err), nil
			},
			args:  map[string]any{"fd": int64(pair[0]), "cmd": uint64(unix.F_DUPFD_CLOEXEC)},
			order: []string{"res", "fd", "cmd"}},
		{name: "kill", typ: event.TypeKill,
			do:    func(t *testing.T) (int64, map[string]any) { return errno(unix.Kill(int(self), 0)), nil },
			args:  map[string]any{"pid": self, "sig": uint64(0)},
			order: []string{"res", "pid", "sig"}},
		{name: "setresuid unchanged", typ: event.TypeSetresuid,
			do: func(t *testing.T) (int64, map[string]any) {
				// -1s change nothing, on this thread only.
				_, _, e := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), ^uintptr(0), ^uintptr(0))
				return errno(errOrNil(e)), nil
			},
			args:  map[string]any{"ruid": uint64(0xffffffff), "euid": uint64(0xffffffff), "suid": uint64(0xffffffff)},
			order: []string{"res", "ruid", "euid", "suid"}},
		{name: "mount fails", typ: event.TypeMount,
			do: func(t *testing.T) (int64, map[string]any) {
				return errno(unix.Mount("none", "/nonexistent/lookout", "tmpfs", unix.MS_RDONLY, "")), nil
			},
			args:  map[string]any{"dev": "none", "dir": "/nonexistent/lookout", "type": "tmpfs", "flags": uint64(unix.MS_RDONLY)},
			order: []string{"res", "dev", "dir", "type", "flags"}},
		{name: "umount2 fails", typ: event.TypeUmount2,
			do: func(t *testing.T) (int64, map[string]any) {
				return errno(unix.Unmount("/nonexistent/lookout", unix.MNT_DETACH)), nil
			},
			args:  map[string]any{"name": "/nonexistent/lookout", "flags": uint64(unix.MNT_DETACH)},
			order: []string{"res", "name", "flags"}},
		{name: "recvfrom", typ: event.TypeRecvfrom,
			do: func(t *testing.T) (int64, map[string]any) {
				buf := make([]byte, 64)
				n, _, err := unix.Recvfrom(pair[0], buf, 0)
				return fdres(n, err), nil
			},
			args:  map[string]any{"fd": int64(pair[0]), "data": "ping", "size": uint64(64)},
			order: []string{"res", "data", "tuple", "fd", "size"}},
		{name: "connect unix", typ: event.TypeConnect,
			do: func(t *testing.T) (int64, map[string]any) {
				return errno(unix.Connect(cli, &unix.SockaddrUnix{Name: sock})), nil
			},
			args: map[string]any{"fd": int64(cli), "tuple": event.Tuple{Family: event.FamilyUnix, Path: sock},
				"addr": event.Tuple{Family: event.FamilyUnix, Path: sock}}},
		{name: "accept unix", typ: event.TypeAccept4,
			do: func(t *testing.T) (int64, map[string]any) {
				fd, _, err := unix.Accept4(srv, unix.SOCK_CLOEXEC)
				acc = fd
				return fdres(fd, err), map[string]any{"fd": fdres(fd, err)}
			},
			args: map[string]any{"tuple": event.Tuple{Family: event.FamilyUnix, Path: sock}}},
		{name: "sendmsg udp", typ: event.TypeSendmsg,
			do: func(t *testing.T) (int64, map[string]any) {
				n, err := unix.SendmsgN(udpSend, []byte("hello udp"), nil, &unix.SockaddrInet4{Addr: lo.As4(), Port: int(rport)}, 0)
				sa, _ := unix.Getsockname(udpSend)
				sport = uint16(sa.(*unix.SockaddrInet4).Port)
				return fdres(n, err), map[string]any{"tuple": event.Tuple{Family: event.FamilyInet, L4Proto: event.L4UDP,
					Src: netip.AddrPortFrom(netip.IPv4Unspecified(), sport), Dst: netip.AddrPortFrom(lo, rport)}}
			},
			args:  map[string]any{"fd": int64(udpSend), "data": "hello udp", "size": uint64(9)},
			order: []string{"res", "data", "fd", "size", "tuple"}},
		{name: "recvmsg udp", typ: event.TypeRecvmsg,
			do: func(t *testing.T) (int64, map[string]any) {
				buf := make([]byte, 64)
				n, _, _, _, err := unix.Recvmsg(udpRecv, buf, nil, 0)
				return fdres(n, err), map[string]any{"tuple": event.Tuple{Family: event.FamilyInet, L4Proto: event.L4UDP,
					Src: netip.AddrPortFrom(lo, rport), Dst: netip.AddrPortFrom(lo, sport)}}
			},
			args:  map[string]any{"fd": int64(udpRecv), "data": "hello udp", "size": uint64(64)},
			order: []string{"res", "size", "data", "tuple", "msgcontrol", "fd"}},
		{name: "mprotect", typ: event.TypeMprotect,
			do: func(t *testing.T) (int64, map[string]any) {
				b, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANON)
				if err != nil {
					t.Fatal(err)
				}
				defer unix.Munmap(b)
				addr := uint64(uintptr(unsafe.Pointer(&b[0])))
				return errno(unix.Mprotect(b, unix.PROT_READ|unix.PROT_WRITE)), map[string]any{"addr": addr}
			},
			args:  map[string]any{"length": uint64(4096), "prot": uint64(unix.PROT_READ | unix.PROT_WRITE)},
			order: []string{"res", "addr", "length", "prot"}},
	}
	runCalls(t, calls)
	unix.Close(acc)
}

// errOrNil turns a raw syscall's errno into an error (nil for 0).
func errOrNil(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}
