package fields

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// world builds a synthetic event as the state package would fill it: an
// openat by cat, child of bash, child of sshd, in a container.
func world() *event.Event {
	priv := true
	sshd := &event.Process{PID: 100, SID: 100, Name: "sshd", Exe: "/usr/sbin/sshd", ExePath: "/usr/sbin/sshd", Args: []string{"-D"}}
	bash := &event.Process{PID: 200, PPID: 100, SID: 200, Name: "bash", Exe: "-bash", ExePath: "/usr/bin/bash", Parent: sshd}
	cat := &event.Process{
		TID: 300, PID: 300, PPID: 200, VPID: 7, SID: 200, Name: "cat", Exe: "cat", ExePath: "/usr/bin/cat",
		Args: []string{"/etc/shadow"}, Cwd: "/root/", Env: []string{"HOME=/root", "TERM=xterm"},
		TTY: 34816, UID: 0, GID: 0, LoginUID: -1, CapEffective: 1<<0 | 1<<21,
		StartTS: 1_000, ExeMemfd: true,
		User: &event.User{Name: "root", HomeDir: "/root", Shell: "/bin/bash"}, Group: &event.Group{Name: "root"},
		Container: &event.Container{ID: "ee97d9c4186f", Name: "web", ImageRepository: "docker.io/library/alpine",
			Privileged: &priv, Namespace: "default", PodName: "kubecon", PodLabels: map[string]string{"app": "web", "tier": "front"},
			Metadata: true, HostPID: &priv, Labels: map[string]string{"maintainer": "ops"},
			WorkloadName: "web", WorkloadKind: "Deployment",
			Mounts: []event.Mount{
				{Source: "/var/lib/data", Dest: "/data", Mode: "z", RW: true, Propagation: "rprivate"},
				{Source: "/etc", Dest: "/host/etc", Mode: "ro", RW: false, Propagation: "rprivate"},
			}},
		Parent: bash,
	}
	return &event.Event{
		Num: 42, Type: event.TypeOpenat, TS: 1685022245478445995, Res: 3, Proc: cat,
		Args: []event.Arg{
			{Name: "fd", Kind: event.ArgFD, Int: 3},
			{Name: "dirfd", Kind: event.ArgFD, Int: -100},
			{Name: "name", Kind: event.ArgString, Str: "/etc/shadow"},
			{Name: "flags", Kind: event.ArgFlags, Flags: event.FlagsOpen, Uint: unix.O_RDONLY | unix.O_CLOEXEC},
			{Name: "mode", Kind: event.ArgFlags, Flags: event.FlagsMode, Uint: 0},
		},
		FD: &event.FD{Num: 3, Type: event.FDFile, Name: "/etc/shadow", NameRaw: "shadow", OpenFlags: unix.O_RDONLY | unix.O_CLOEXEC},
	}
}

func sockEvent(server bool) *event.Event {
	ev := world()
	ev.Type = event.TypeConnect
	ev.Args = []event.Arg{{Name: "res", Kind: event.ArgErrno}}
	ev.FD = &event.FD{Num: 4, Type: event.FDIPv4, Family: event.FamilyInet, L4Proto: event.L4TCP,
		Name: "10.0.0.1:40000->93.184.216.34:443", Server: server, Connected: true, NameChanged: true,
		Src: netip.MustParseAddrPort("10.0.0.1:40000"), Dst: netip.MustParseAddrPort("93.184.216.34:443")}
	return ev
}

func TestExtractRender(t *testing.T) {
	tb := NewTable()
	tb.Loc = time.UTC
	open, conn, srv := world(), sockEvent(false), sockEvent(true)
	host := world()
	host.Proc.Container = nil
	failed := world()
	failed.Res = -int64(unix.ENOENT)
	noproc := world()
	noproc.Proc = nil
	tests := []struct {
		ev     *event.Event
		field  string
		arg    string
		render string
		json   any
	}{
		{open, "evt.num", "", "42", uint64(42)},
		{open, "evt.type", "", "openat", "openat"},
		{open, "evt.time", "", "13:44:05.478445995", int64(1685022245478445995)},
		{open, "evt.time.iso8601", "", "2023-05-25T13:44:05.478445995+0000", int64(1685022245478445995)},
		{open, "evt.rawtime", "", "1685022245478445995", int64(1685022245478445995)},
		{open, "evt.dir", "", "<", "<"},
		{open, "evt.res", "", "SUCCESS", "SUCCESS"},
		{failed, "evt.res", "", "ENOENT", "ENOENT"},
		{failed, "evt.rawres", "", "-2", int64(-2)},
		{failed, "evt.failed", "", "true", true},
		{open, "evt.is_open_read", "", "true", true},
		{open, "evt.is_open_write", "", "false", false},
		{open, "evt.is_open_exec", "", "false", false},
		{conn, "evt.is_open_read", "", "<NA>", nil},
		{open, "evt.arg.flags", "", "O_RDONLY|O_CLOEXEC", "O_RDONLY|O_CLOEXEC"},
		{open, "evt.arg", "flags", "O_RDONLY|O_CLOEXEC", "O_RDONLY|O_CLOEXEC"},
		{open, "evt.arg", "2", "/etc/shadow", "/etc/shadow"},
		{open, "evt.arg.fd", "", "3(<f>/etc/shadow)", "3(<f>/etc/shadow)"},
		{open, "evt.arg.nosuch", "", "<NA>", nil},
		{open, "evt.args", "", "fd=3(<f>/etc/shadow) dirfd=-100(AT_FDCWD) name=/etc/shadow flags=O_RDONLY|O_CLOEXEC mode=0", "fd=3(<f>/etc/shadow) dirfd=-100(AT_FDCWD) name=/etc/shadow flags=O_RDONLY|O_CLOEXEC mode=0"},
		{open, "proc.name", "", "cat", "cat"},
		{noproc, "proc.name", "", "<NA>", nil},
		{open, "proc.pname", "", "bash", "bash"},
		{open, "proc.aname", "0", "cat", "cat"},
		{open, "proc.aname", "2", "sshd", "sshd"},
		{open, "proc.aname", "3", "<NA>", nil},
		{open, "proc.aname", "", "(bash,sshd)", []any{"bash", "sshd"}},
		{open, "proc.aexepath", "2", "/usr/sbin/sshd", "/usr/sbin/sshd"},
		{open, "proc.apid", "1", "200", int64(200)},
		{open, "proc.exe", "", "cat", "cat"},
		{open, "proc.pexe", "", "-bash", "-bash"},
		{open, "proc.exepath", "", "/usr/bin/cat", "/usr/bin/cat"},
		{open, "proc.pexepath", "", "/usr/bin/bash", "/usr/bin/bash"},
		{open, "proc.cmdline", "", "cat /etc/shadow", "cat /etc/shadow"},
		{open, "proc.pcmdline", "", "bash", "bash"},
		{open, "proc.args", "", "/etc/shadow", "/etc/shadow"},
		{open, "proc.cwd", "", "/root/", "/root/"},
		{open, "proc.env", "", "HOME=/root TERM=xterm", "HOME=/root TERM=xterm"},
		{open, "proc.env", "TERM", "xterm", "xterm"},
		{open, "proc.sname", "", "bash", "bash"},
		{open, "proc.tty", "", "34816", uint64(34816)},
		{open, "proc.vpid", "", "7", int64(7)},
		{open, "proc.cmdnargs", "", "1", int64(1)},
		{open, "proc.cmdlenargs", "", "11", int64(11)},
		{open, "proc.exeline", "", "cat /etc/shadow", "cat /etc/shadow"},
		{open, "thread.ismain", "", "true", true},
		{open, "proc.sid.exepath", "", "/usr/bin/bash", "/usr/bin/bash"},
		{open, "evt.rawtime.s", "", "1685022245", int64(1685022245)},
		{open, "evt.rawtime.ns", "", "478445995", int64(478445995)},
		{open, "proc.duration", "", "1685022245478444995", int64(1685022245478444995)},
		{open, "proc.is_exe_from_memfd", "", "true", true},
		{open, "proc.is_exe_upper_layer", "", "false", false},
		{open, "proc.exe_ino.ctime", "", "<NA>", nil},
		{open, "thread.cap_effective", "", "CAP_CHOWN CAP_SYS_ADMIN", "CAP_CHOWN CAP_SYS_ADMIN"},
		{open, "user.name", "", "root", "root"},
		{open, "user.uid", "", "0", uint64(0)},
		{open, "user.loginuid", "", "-1", int64(-1)},
		{open, "user.loginname", "", "<NA>", nil},
		{open, "group.gid", "", "0", uint64(0)},
		{open, "group.name", "", "root", "root"},
		{open, "fd.num", "", "3", int64(3)},
		{open, "fd.type", "", "file", "file"},
		{open, "fd.typechar", "", "f", "f"},
		{open, "fd.name", "", "/etc/shadow", "/etc/shadow"},
		{open, "fd.nameraw", "", "shadow", "shadow"},
		{open, "fd.directory", "", "/etc", "/etc"},
		{open, "fd.filename", "", "shadow", "shadow"},
		{open, "fd.ip", "", "<NA>", nil},
		{open, "fd.l4proto", "", "<NA>", nil},
		{open, "fd.connected", "", "false", false},
		{conn, "fd.name", "", "10.0.0.1:40000->93.184.216.34:443", "10.0.0.1:40000->93.184.216.34:443"},
		{conn, "fd.typechar", "", "4", "4"},
		{conn, "fd.type", "", "ipv4", "ipv4"},
		{conn, "fd.l4proto", "", "tcp", "tcp"},
		{conn, "fd.sockfamily", "", "ip", "ip"},
		{conn, "fd.cip", "", "10.0.0.1", "10.0.0.1"},
		{conn, "fd.sip", "", "93.184.216.34", "93.184.216.34"},
		{conn, "fd.lip", "", "10.0.0.1", "10.0.0.1"},
		{conn, "fd.rip", "", "93.184.216.34", "93.184.216.34"},
		{srv, "fd.lip", "", "93.184.216.34", "93.184.216.34"},
		{srv, "fd.rip", "", "10.0.0.1", "10.0.0.1"},
		{conn, "fd.lport", "", "40000", uint64(40000)},
		{conn, "fd.rport", "", "443", uint64(443)},
		{srv, "fd.lport", "", "443", uint64(443)},
		{conn, "fd.sport", "", "443", uint64(443)},
		{conn, "fd.cport", "", "40000", uint64(40000)},
		{conn, "fd.ip", "", "(10.0.0.1,93.184.216.34)", []any{"10.0.0.1", "93.184.216.34"}},
		{conn, "fd.port", "", "(40000,443)", []any{uint64(40000), uint64(443)}},
		{conn, "fd.snet", "", "93.184.216.34", "93.184.216.34"},
		{conn, "fd.is_server", "", "false", false},
		{srv, "fd.is_server", "", "true", true},
		{conn, "fd.connected", "", "true", true},
		{conn, "fd.name_changed", "", "true", true},
		{conn, "fd.sip.name", "", "<NA>", nil},
		{conn, "fd.directory", "", "<NA>", nil},
		{conn, "evt.res", "", "SUCCESS", "SUCCESS"},
		{open, "container.id", "", "ee97d9c4186f", "ee97d9c4186f"},
		{host, "container.id", "", "host", "host"},
		{host, "container.name", "", "host", "host"},
		{host, "container.image.repository", "", "<NA>", nil},
		{host, "container.privileged", "", "<NA>", nil},
		{open, "container.name", "", "web", "web"},
		{open, "container.image.repository", "", "docker.io/library/alpine", "docker.io/library/alpine"},
		{open, "container.privileged", "", "true", true},
		{open, "container.start_ts", "", "<NA>", nil},
		{open, "k8s.ns.name", "", "default", "default"},
		{open, "k8s.pod.name", "", "kubecon", "kubecon"},
		{open, "k8s.pod.label", "app", "web", "web"},
		{open, "k8s.pod.label.app", "", "web", "web"},
		{open, "k8s.pod.labels", "", "app:web,tier:front", "app:web,tier:front"},
		{open, "container.label.maintainer", "", "ops", "ops"},
		{open, "container.labels", "", "maintainer:ops", "maintainer:ops"},
		{open, "k8s.workload.name", "", "web", "web"},
		{open, "k8s.workload.kind", "", "Deployment", "Deployment"},
		{host, "k8s.workload.name", "", "<NA>", nil},
		{open, "container.host_pid", "", "true", true},
		{open, "container.host_network", "", "<NA>", nil},
		{open, "container.healthcheck", "", "NONE", "NONE"},
		{open, "container.mounts", "", "/var/lib/data:/data:z:true:rprivate /etc:/host/etc:ro:false:rprivate", "/var/lib/data:/data:z:true:rprivate /etc:/host/etc:ro:false:rprivate"},
		{open, "container.mount", "1", "/etc:/host/etc:ro:false:rprivate", "/etc:/host/etc:ro:false:rprivate"},
		{open, "container.mount", "/nothing", "none", "none"},
		{open, "container.mount.dest", "/etc", "/host/etc", "/host/etc"},
		{open, "container.mount.dest", "/var/lib/*", "/data", "/data"},
		{open, "container.mount.dest", "0", "/data", "/data"},
		{open, "container.mount.dest", "/proc*", "N/A", "N/A"},
		{host, "container.mount.dest", "/etc", "N/A", "N/A"},
		{open, "container.mount.source", "/host/etc", "/etc", "/etc"},
		{open, "container.mount.mode", "/etc", "ro", "ro"},
		{open, "container.mount.rdwr", "/etc", "false", "false"},
		{open, "container.mount.propagation", "/etc", "rprivate", "rprivate"},
	}
	for _, tc := range tests {
		f, err := tb.Resolve(tc.field, tc.arg)
		if err != nil {
			t.Errorf("Resolve(%q, %q): %v", tc.field, tc.arg, err)
			continue
		}
		vals := f.Extract(tc.ev, nil)
		if got := f.Render(vals); got != tc.render {
			t.Errorf("%s[%s] on %s: Render = %q, want %q", tc.field, tc.arg, tc.ev.Type, got, tc.render)
		}
		if got := f.JSON(vals); !reflect.DeepEqual(got, tc.json) {
			t.Errorf("%s[%s] on %s: JSON = %#v, want %#v", tc.field, tc.arg, tc.ev.Type, got, tc.json)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	tb := NewTable()
	tests := []struct {
		name, arg string
		sentinel  error
		msg       string
	}{
		{"proc.nosuch", "", ErrUnknownField, `unknown field "proc.nosuch"`},
		{"nosuch", "", ErrUnknownField, `unknown field "nosuch"`},
		{"proc.aname", "x", ErrFieldArgument, `field proc.aname[x]: bad field argument: expected an ancestor index between 0 and 64, got "x"`},
		{"proc.aname", "-1", ErrFieldArgument, `field proc.aname[-1]: bad field argument: expected an ancestor index between 0 and 64, got "-1"`},
		{"proc.apid", "x", ErrFieldArgument, `field proc.apid[x]: bad field argument: expected an ancestor index between 0 and 64, got "x"`},
		{"proc.name", "1", ErrFieldArgument, `field proc.name: bad field argument: it takes no argument, got [1]`},
		{"evt.arg", "", ErrFieldArgument, `field evt.arg[]: bad field argument: expected an argument name (evt.arg.flags) or index (evt.arg[0])`},
		{"evt.arg.flags", "x", ErrFieldArgument, `field "evt.arg.flags": bad field argument: both a dotted and a [x] argument`},
	}
	for _, tc := range tests {
		_, err := tb.Resolve(tc.name, tc.arg)
		if !errors.Is(err, tc.sentinel) {
			t.Errorf("Resolve(%q, %q) = %v, want %v", tc.name, tc.arg, err, tc.sentinel)
			continue
		}
		if err.Error() != tc.msg {
			t.Errorf("Resolve(%q, %q) error = %q, want %q", tc.name, tc.arg, err, tc.msg)
		}
	}
}
