package rules

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/rules/fields"
	"github.com/lookout-sec/lookout/sensor/internal/ruleset"
)

// testTS is the time of every synthetic event: 2025-11-23T12:34:56.123456789Z.
var testTS = time.Date(2025, 11, 23, 12, 34, 56, 123456789, time.UTC).UnixNano()

// utcTable is the real field table rendering times in UTC, so golden
// outputs do not depend on the machine's zone.
func utcTable() *fields.Table {
	t := fields.NewTable()
	t.Loc = time.UTC
	return t
}

// loadDefault loads the embedded upstream rules with every rule active.
func loadDefault(t testing.TB, m Matching) *Engine {
	t.Helper()
	e, _, err := Load([]Source{{Name: ruleset.DefaultName, Data: ruleset.Default}},
		Options{MinPriority: api.PriorityDebug, Matching: m, Fields: utcTable(), Hostname: "test-host"})
	if err != nil {
		t.Fatalf("load default rules: %v", err)
	}
	return e
}

// loadYAML loads one inline rules file named "test.yaml".
func loadYAML(t testing.TB, y string, m Matching) *Engine {
	t.Helper()
	e, _, err := Load([]Source{{Name: "test.yaml", Data: []byte(y)}},
		Options{MinPriority: api.PriorityDebug, Matching: m, Fields: utcTable(), Hostname: "test-host"})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return e
}

// evalAll returns the alerts ev raises.
func evalAll(e *Engine, ev *event.Event) []*api.Alert {
	var out []*api.Alert
	e.Eval(ev, func(a *api.Alert) { out = append(out, a) })
	return out
}

func ruleNames(as []*api.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Rule)
	}
	return out
}

var (
	userRoot   = &event.User{UID: 0, Name: "root", HomeDir: "/root", Shell: "/bin/bash"}
	userAlice  = &event.User{UID: 1000, Name: "alice", HomeDir: "/home/alice", Shell: "/bin/bash"}
	userDaemon = &event.User{UID: 1, Name: "daemon", HomeDir: "/usr/sbin", Shell: "/usr/sbin/nologin"}
	groupRoot  = &event.Group{GID: 0, Name: "root"}
)

// procSpec describes a process the way the state package fills one.
type procSpec struct {
	pid     int64
	name    string
	exepath string // also argv[0] unless exe is set
	exe     string
	args    []string
	user    *event.User
	login   *event.User
	tty     uint32
	cwd     string
	ctr     *event.Container
	caps    uint64
	flags   func(p *event.Process)
}

func mkProc(s procSpec, parent *event.Process) *event.Process {
	p := &event.Process{TID: s.pid, PID: s.pid, VPID: s.pid, VTID: s.pid, SID: s.pid, PGID: s.pid, VPGID: s.pid,
		Name: s.name, Exe: s.exe, ExePath: s.exepath, Args: s.args, Cwd: s.cwd, TTY: s.tty,
		User: s.user, Group: groupRoot, LoginUID: -1, Container: s.ctr, CapEffective: s.caps,
		StartTS: testTS - int64(time.Minute), Parent: parent}
	if p.Exe == "" {
		p.Exe = s.exepath
	}
	if p.Cwd == "" {
		p.Cwd = "/root/"
	}
	if p.Args == nil {
		p.Args = []string{}
	}
	if s.user == nil {
		p.User = userRoot
	}
	p.UID = p.User.UID
	if s.login != nil {
		p.LoginUID, p.LoginUser = int64(s.login.UID), s.login
	}
	if parent != nil {
		p.PPID = parent.PID
		p.SID, p.PGID, p.VPGID = parent.SID, parent.PGID, parent.VPGID
		if p.Container == nil {
			p.Container = parent.Container
		}
	}
	if s.flags != nil {
		s.flags(p)
	}
	return p
}

// hostChain returns systemd(1) -> sshd(800) -> bash(1000): an interactive
// root shell on the host, logged in as root on a tty.
func hostChain() *event.Process {
	systemd := mkProc(procSpec{pid: 1, name: "systemd", exepath: "/usr/lib/systemd/systemd", args: []string{"--system"}}, nil)
	sshd := mkProc(procSpec{pid: 800, name: "sshd", exepath: "/usr/sbin/sshd", args: []string{"-D"}}, systemd)
	return mkProc(procSpec{pid: 1000, name: "bash", exepath: "/usr/bin/bash", exe: "-bash", tty: 34816, login: userRoot}, sshd)
}

// testContainer is a container with runtime metadata.
func testContainer() *event.Container {
	return &event.Container{ID: "ee97d9c4186f", FullID: "ee97d9c4186f" + strings.Repeat("a", 52), Name: "web-1",
		Image: "docker.io/library/alpine:3.20", ImageRepository: "docker.io/library/alpine", ImageTag: "3.20",
		Runtime: "containerd", PodName: "web-1", Namespace: "default", Metadata: true}
}

// containerChain returns containerd-shim -> runc -> sh (tty) in testContainer.
func containerChain() *event.Process {
	shim := mkProc(procSpec{pid: 2000, name: "containerd-shim", exepath: "/usr/bin/containerd-shim-runc-v2"}, nil)
	c := testContainer()
	runc := mkProc(procSpec{pid: 2100, name: "runc", exepath: "/usr/bin/runc", ctr: c}, shim)
	return runc
}

// execEvent is a successful execve of p, as the probe and state report it.
func execEvent(p *event.Process) *event.Event {
	var flags uint64
	if p.ExeMemfd {
		flags |= 1 << 2
	}
	if p.ExeUpper {
		flags |= 1 << 1
	}
	var args []byte
	for i, a := range p.Args {
		if i > 0 {
			args = append(args, 0)
		}
		args = append(args, a...)
	}
	return &event.Event{Num: 42, Type: event.TypeExecve, TS: testTS, TID: p.TID, PID: p.PID, Res: 0, Proc: p,
		Args: []event.Arg{
			{Name: "res", Kind: event.ArgErrno},
			{Name: "exe", Kind: event.ArgString, Str: p.Exe},
			{Name: "args", Kind: event.ArgBytes, Bytes: args},
			{Name: "tid", Kind: event.ArgInt, Int: p.TID},
			{Name: "pid", Kind: event.ArgInt, Int: p.PID},
			{Name: "ptid", Kind: event.ArgInt, Int: p.PPID},
			{Name: "comm", Kind: event.ArgString, Str: p.Name},
			{Name: "loginuid", Kind: event.ArgUint, Uint: uint64(uint32(p.LoginUID))},
			{Name: "flags", Kind: event.ArgFlags, Flags: event.FlagsExecve, Uint: flags},
			{Name: "uid", Kind: event.ArgUint, Uint: uint64(p.UID)},
			{Name: "gid", Kind: event.ArgUint, Uint: uint64(p.GID)},
			{Name: "filename", Kind: event.ArgString, Str: p.ExePath},
		}}
}

// openEvent is an openat of path (as given: raw) resolving to name, with
// flags, returning fd (or a negative errno).
func openEvent(p *event.Process, raw, name string, flags uint64, fd int64) *event.Event {
	ev := &event.Event{Num: 43, Type: event.TypeOpenat, TS: testTS, TID: p.TID, PID: p.PID, Res: fd, Proc: p,
		Args: []event.Arg{
			{Name: "fd", Kind: event.ArgFD, Int: fd},
			{Name: "dirfd", Kind: event.ArgFD, Int: -100},
			{Name: "name", Kind: event.ArgString, Str: raw},
			{Name: "flags", Kind: event.ArgFlags, Flags: event.FlagsOpen, Uint: flags},
			{Name: "mode", Kind: event.ArgUint},
		}}
	ev.FD = &event.FD{Num: fd, Type: event.FDFile, Name: name, NameRaw: raw, OpenFlags: uint32(flags)}
	return ev
}

// connectEvent is a successful TCP connect from p to dst.
func connectEvent(p *event.Process, dst string) *event.Event {
	src := netip.MustParseAddrPort("10.1.2.3:40000")
	d := netip.MustParseAddrPort(dst)
	fam := event.FamilyInet
	typ := event.FDIPv4
	return &event.Event{Num: 44, Type: event.TypeConnect, TS: testTS, TID: p.TID, PID: p.PID, Res: 0, Proc: p,
		Args: []event.Arg{
			{Name: "res", Kind: event.ArgErrno},
			{Name: "tuple", Kind: event.ArgTuple, Tuple: event.Tuple{Family: fam, Src: src, Dst: d, L4Proto: event.L4TCP}},
			{Name: "fd", Kind: event.ArgFD, Int: 3},
		},
		FD: &event.FD{Num: 3, Type: typ, Name: src.String() + "->" + d.String(), Family: fam, L4Proto: event.L4TCP,
			Src: src, Dst: d, Connected: true, NameChanged: true}}
}

// testEvents is a small mix of events of several types.
func testEvents() []*event.Event {
	var out []*event.Event
	for _, c := range goldenCases() {
		out = append(out, c.fire, c.quiet)
	}
	out = append(out, connectEvent(hostCmd("curl", "/usr/bin/curl"), "93.184.216.34:443"))
	return out
}
