package rules

import (
	"net/netip"
	"time"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// Capability bits used by the stable rules.
const (
	capSysModule = 1 << 16
	capSysAdmin  = 1 << 21
)

func socketEvent(p *event.Process, family uint64) *event.Event {
	return &event.Event{Num: 48, Type: event.TypeSocket, TS: testTS, TID: p.TID, PID: p.PID, Res: 4, Proc: p,
		Args: []event.Arg{
			{Name: "fd", Kind: event.ArgFD, Int: 4},
			{Name: "domain", Kind: event.ArgFlags, Flags: event.FlagsSocketFamily, Uint: family},
			{Name: "type", Kind: event.ArgUint, Uint: 3},
			{Name: "proto", Kind: event.ArgUint, Uint: 768},
		},
		FD: &event.FD{Num: 4, Type: event.FDUnknown}}
}

// dupEvent is dup2(3, newfd) where fd 3 is fd.
func dupEvent(p *event.Process, newfd int64, fd *event.FD) *event.Event {
	cp := *fd
	cp.Num = newfd
	return &event.Event{Num: 49, Type: event.TypeDup2, TS: testTS, TID: p.TID, PID: p.PID, Res: newfd, Proc: p,
		Args: []event.Arg{
			{Name: "res", Kind: event.ArgFD, Int: newfd},
			{Name: "oldfd", Kind: event.ArgFD, Int: 3},
			{Name: "newfd", Kind: event.ArgFD, Int: newfd},
		},
		FD: &cp}
}

func finitModuleEvent(p *event.Process) *event.Event {
	return &event.Event{Num: 50, Type: event.TypeFinitModule, TS: testTS, TID: p.TID, PID: p.PID, Proc: p,
		Args: []event.Arg{
			{Name: "res", Kind: event.ArgErrno},
			{Name: "fd", Kind: event.ArgFD, Int: 3},
			{Name: "uargs", Kind: event.ArgString, Str: ""},
			{Name: "flags", Kind: event.ArgFlags, Flags: event.FlagsFinitModule},
		}}
}

func tcpSocket(src, dst string) *event.FD {
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	return &event.FD{Num: 3, Type: event.FDIPv4, Name: s.String() + "->" + d.String(), Family: event.FamilyInet,
		L4Proto: event.L4TCP, Src: s, Dst: d, Connected: true}
}

// moreGoldenCases covers the other stable rules that can fire.
func moreGoldenCases() []goldenCase {
	nginxAt := func(start time.Duration) *event.Process {
		return mkProc(procSpec{pid: 1300, name: "nginx", exepath: "/usr/sbin/nginx", args: []string{"-g", "daemon off;"},
			flags: func(p *event.Process) { p.StartTS = testTS - int64(start) }},
			mkProc(procSpec{pid: 1, name: "systemd", exepath: "/usr/lib/systemd/systemd"}, nil))
	}
	privileged := func(v bool) func(p *event.Process) {
		return func(p *event.Process) {
			c := *p.Container
			c.Privileged = &v
			p.Container = &c
		}
	}
	withCaps := func(caps uint64) func(p *event.Process) { return func(p *event.Process) { p.CapEffective = caps } }
	ssh := func(dst string) *event.Event {
		p := hostCmd("ssh", "/usr/bin/ssh", "-p", "443", "user@203.0.113.5")
		ev := connectEvent(p, dst)
		return ev
	}
	return []goldenCase{
		{rule: "Read sensitive file trusted after startup",
			fire:  openEvent(nginxAt(time.Hour), "/etc/shadow", "/etc/shadow", oRDONLY, 7),
			quiet: openEvent(nginxAt(time.Second), "/etc/shadow", "/etc/shadow", oRDONLY, 7)},
		{rule: "Packet socket created in container",
			fire:  socketEvent(ctrCmd("tcpdump", "/usr/bin/tcpdump", 0, "-i", "eth0"), 17),
			quiet: socketEvent(ctrCmd("curl", "/usr/bin/curl", 0), 2)},
		{rule: "Redirect STDOUT/STDIN to Network Connection in Container",
			fire: dupEvent(ctrCmd("bash", "/bin/bash", 0, "-i"), 0, tcpSocket("172.17.0.2:40000", "203.0.113.9:4444")),
			quiet: dupEvent(ctrCmd("bash", "/bin/bash", 0, "-i"), 1,
				&event.FD{Num: 3, Type: event.FDFile, Name: "/tmp/out.log"})},
		{rule: "Linux Kernel Module Injection Detected",
			fire:  finitModuleEvent(with(ctrCmd("insmod", "/usr/sbin/insmod", 0, "rootkit.ko"), withCaps(capSysModule|capSysAdmin))),
			quiet: finitModuleEvent(with(ctrCmd("insmod", "/usr/sbin/insmod", 0, "rootkit.ko"), withCaps(capSysAdmin)))},
		{rule: "Debugfs Launched in Privileged Container",
			fire:  execEvent(with(ctrCmd("debugfs", "/usr/sbin/debugfs", 0, "/dev/sda1"), privileged(true))),
			quiet: execEvent(with(ctrCmd("debugfs", "/usr/sbin/debugfs", 0, "/dev/sda1"), privileged(false)))},
		{rule: "Detect release_agent File Container Escapes",
			fire: openEvent(with(ctrCmd("sh", "/bin/busybox", 0), withCaps(capSysAdmin)),
				"/sys/fs/cgroup/rdma/release_agent", "/sys/fs/cgroup/rdma/release_agent", oWRONLY|oTRUNC|oCREAT, 3),
			quiet: openEvent(with(ctrCmd("sh", "/bin/busybox", 0), withCaps(0)),
				"/sys/fs/cgroup/rdma/release_agent", "/sys/fs/cgroup/rdma/release_agent", oWRONLY|oTRUNC|oCREAT, 3)},
		{rule: "PTRACE anti-debug attempt",
			fire:  ptraceEvent(hostCmd("malware", "/tmp/malware"), 0),
			quiet: ptraceEvent(hostCmd("malware", "/tmp/malware"), 16)},
		{rule: "Drop and execute new binary in container",
			fire:  execEvent(with(ctrCmd("xmrig", "/tmp/xmrig", 0), func(p *event.Process) { p.ExeUpper = true })),
			quiet: execEvent(ctrCmd("ls", "/bin/ls", 0))},
		{rule: "Disallowed SSH Connection Non Standard Port",
			fire:  ssh("203.0.113.5:443"),
			quiet: ssh("203.0.113.5:22")},
	}
}
