package state

import (
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/rules/fields"
)

// Regression tests for field values that differed from Falco's, on the
// real kernel: the probe's decoding and the tables' handling together.

// render extracts a field from ev as the rule engine does and renders it
// as an output would.
func render(t *testing.T, ev *event.Event, name string) string {
	t.Helper()
	f, err := fields.NewTable().Resolve(name, "")
	if err != nil {
		t.Fatal(err)
	}
	return f.Render(f.Extract(ev, nil))
}

// TestLiveSetIDAppliesAtOnce: after a successful setuid/setresuid/setgid/
// setresgid, the thread's user.uid / group.gid is the new one on that very
// event (Falco applies it at once), not only after the next exec. The probe
// decodes the ids as unsigned values.
func TestLiveSetIDAppliesAtOnce(t *testing.T) {
	l := startLive(t, Options{}, event.TypeSetuid, event.TypeSetresuid, event.TypeSetgid, event.TypeSetresgid)
	type seen struct {
		typ      event.Type
		uid, gid uint32
		user     string
	}
	var tid int64
	var got chan seen
	l.attempt(t, func() string {
		got = make(chan seen, 8)
		done := make(chan int64)
		l.setHook(func(ev *event.Event) {
			if ev.TID != tid || ev.Proc == nil || ev.Res != 0 {
				return
			}
			switch ev.Type {
			case event.TypeSetuid, event.TypeSetresuid, event.TypeSetgid, event.TypeSetresgid:
				select {
				case got <- seen{ev.Type, ev.Proc.UID, ev.Proc.GID, render(t, ev, "user.uid")}:
				default:
				}
			}
		})
		// Raw per-thread syscalls on a locked thread that is never
		// unlocked, so the Go runtime discards the thread afterwards
		// (the Go wrappers would change every thread of the test).
		go func() {
			runtime.LockOSThread()
			id := int64(unix.Gettid())
			tid = id
			l.mu.Lock()
			l.mu.Unlock()
			unix.RawSyscall(unix.SYS_SETRESGID, 0, 2, 0)
			unix.RawSyscall(unix.SYS_SETGID, 3, 0, 0)
			unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), 1, 0) // ruid -1: unchanged
			unix.RawSyscall(unix.SYS_SETUID, 0, 0, 0)              // back: allowed, 0 is the real uid
			done <- id
		}()
		<-done
		l.sync(t)
		if len(got) < 4 {
			return "not all four set*id events of the test thread reached Apply"
		}
		return ""
	})
	want := []seen{
		{event.TypeSetresgid, 0, 2, "0"},
		{event.TypeSetgid, 0, 3, "0"},
		{event.TypeSetresuid, 1, 3, "1"},
		{event.TypeSetuid, 0, 3, "0"},
	}
	for i, w := range want {
		g := <-got
		if g != w {
			t.Errorf("event %d: got %+v, want %+v", i, g, w)
		}
	}
}

// TestLiveFieldFidelity checks proc.args of an argument-less process, the
// local port of a listening socket and the peer of a UDP recvfrom.
func TestLiveFieldFidelity(t *testing.T) {
	l := startLive(t, Options{}, event.TypeSocket, event.TypeBind, event.TypeListen, event.TypeRecvfrom, event.TypeSendto)
	self := int64(os.Getpid())
	true_, err := exec.LookPath("true")
	if err != nil {
		t.Skip("skipping: no true(1)")
	}
	lo := [4]byte{127, 0, 0, 1}
	var args, argsEq, lport, lportWant, sip, sport, sportWant, cport, name, nameWant string
	l.attempt(t, func() string {
		var execSeen, listenSeen, recvSeen bool
		var lfd, rfd int
		// The hook runs on the probe's goroutine: it reads the fds the
		// test creates through atomics.
		var lfdA, rfdA atomic.Int64
		lfdA.Store(-1)
		rfdA.Store(-1)
		l.setHook(func(ev *event.Event) {
			switch {
			case ev.Type == event.TypeExecve && ev.Proc != nil && ev.Proc.ExePath == true_ && ev.Proc.PPID == self:
				execSeen = true
				args = render(t, ev, "proc.args")
				f, _ := fields.NewTable().Resolve("proc.args", "")
				vals := f.Extract(ev, nil)
				argsEq = "false"
				if len(vals) == 1 && vals[0].Str == "" {
					argsEq = "true"
				}
			case ev.Type == event.TypeListen && ev.PID == self && argInt(ev, "fd", -1) == lfdA.Load():
				listenSeen = true
				lport = render(t, ev, "fd.lport")
			case ev.Type == event.TypeRecvfrom && ev.PID == self && argInt(ev, "fd", -1) == rfdA.Load():
				recvSeen = true
				sip, sport, cport, name = render(t, ev, "fd.sip"), render(t, ev, "fd.sport"), render(t, ev, "fd.cport"), render(t, ev, "fd.name")
			}
		})
		if out, err := exec.Command(true_).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", true_, err, out)
		}
		var err error
		lfd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		lfdA.Store(int64(lfd))
		defer unix.Close(lfd)
		// A server binds a port of its own: pick a free one first (the
		// port of a bind to port 0 is chosen by the kernel after the
		// sockaddr the probe reads).
		port := freePort(t)
		if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: lo, Port: port}); err != nil {
			t.Fatal(err)
		}
		if err := unix.Listen(lfd, 1); err != nil {
			t.Fatal(err)
		}
		lportWant = strconv.Itoa(port)

		rfd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		rfdA.Store(int64(rfd))
		defer unix.Close(rfd)
		if err := unix.Bind(rfd, &unix.SockaddrInet4{Addr: lo}); err != nil {
			t.Fatal(err)
		}
		rsa, _ := unix.Getsockname(rfd)
		rport := rsa.(*unix.SockaddrInet4).Port
		sportWant = strconv.Itoa(rport)
		sfd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(sfd)
		if err := unix.Sendto(sfd, []byte("ping"), 0, &unix.SockaddrInet4{Addr: lo, Port: rport}); err != nil {
			t.Fatal(err)
		}
		ssa, _ := unix.Getsockname(sfd)
		sp := ssa.(*unix.SockaddrInet4).Port
		buf := make([]byte, 16)
		if _, _, err := unix.Recvfrom(rfd, buf, 0); err != nil {
			t.Fatal(err)
		}
		nameWant = netip.AddrPortFrom(netip.AddrFrom4(lo), uint16(sp)).String() + "->" +
			netip.AddrPortFrom(netip.AddrFrom4(lo), uint16(rport)).String()
		l.sync(t)
		l.mu.Lock()
		defer l.mu.Unlock()
		switch {
		case !execSeen:
			return "the execve of " + true_ + " did not reach Apply"
		case !listenSeen:
			return "the listen did not reach Apply"
		case !recvSeen:
			return "the recvfrom did not reach Apply"
		}
		return ""
	})
	if args != "" || argsEq != "true" {
		t.Errorf("proc.args of %s without arguments = %q (proc.args = \"\": %s), want \"\" and a match", true_, args, argsEq)
	}
	if lport != lportWant {
		t.Errorf("listen: fd.lport = %q, want %q", lport, lportWant)
	}
	if sip != "127.0.0.1" || name != nameWant || cport == "<NA>" || sport != sportWant {
		t.Errorf("udp recvfrom: fd.sip %q fd.sport %q fd.cport %q fd.name %q, want 127.0.0.1, ports, name %q", sip, sport, cport, name, nameWant)
	}
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return sa.(*unix.SockaddrInet4).Port
}
