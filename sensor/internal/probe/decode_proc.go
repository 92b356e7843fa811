package probe

import (
	"bytes"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// Parts of an exec record (on_exec in bpf/probe.bpf.c).
const (
	partExecFilename = 1
	partExecArgv     = 2
	partExecEnv      = 3
	partExecCwd      = 4
	partExecExePath  = 5
	partExecCgroup   = 6
)

// decodeExec fills a successful execve/execveat exit with Falco's exit
// parameters, in Falco's order. Not captured (left out): pgft_*, vm_*.
// cgroups holds "=<cgroup v2 path>" or is empty (root cgroup, or cgroup v1
// only: state then reads /proc/PID/cgroup).
func (d *decoder) decodeExec(ev *event.Event) {
	h, p := &d.hdr, &d.proc
	ev.Type = event.TypeExecve
	if t, ok := d.syscallType(h.Nr); ok && t == event.TypeExecveat {
		ev.Type = event.TypeExecveat
	}
	argv := bytes.TrimRight(d.parts[partExecArgv], "\x00")
	exe, args, _ := bytes.Cut(argv, []byte{0})
	env := bytes.TrimRight(d.parts[partExecEnv], "\x00")
	var ino uint64
	var ctime, mtime int64
	if d.hasFD {
		ino, ctime, mtime = d.fd.Ino, d.fd.Ctime, d.fd.Mtime
	}
	ev.Args = append(ev.Args,
		event.Arg{Name: "res", Kind: event.ArgErrno, Int: h.Res},
		event.Arg{Name: "exe", Kind: event.ArgString, Str: string(exe)},
		event.Arg{Name: "args", Kind: event.ArgBytes, Bytes: append([]byte(nil), args...)},
		event.Arg{Name: "tid", Kind: event.ArgInt, Int: int64(h.Tid)},
		event.Arg{Name: "pid", Kind: event.ArgInt, Int: int64(h.Pid)},
		event.Arg{Name: "ptid", Kind: event.ArgInt, Int: int64(p.Ptid)},
		event.Arg{Name: "cwd", Kind: event.ArgString, Str: string(d.parts[partExecCwd])},
		event.Arg{Name: "fdlimit", Kind: event.ArgUint, Uint: p.Fdlimit},
		event.Arg{Name: "comm", Kind: event.ArgString, Str: cstr(p.Comm[:])},
		event.Arg{Name: "cgroups", Kind: event.ArgBytes, Bytes: append([]byte(nil), d.parts[partExecCgroup]...)},
		event.Arg{Name: "env", Kind: event.ArgBytes, Bytes: append([]byte(nil), env...)},
		event.Arg{Name: "tty", Kind: event.ArgUint, Uint: uint64(p.Tty)},
		event.Arg{Name: "vpgid", Kind: event.ArgInt, Int: int64(p.Vpgid)},
		event.Arg{Name: "loginuid", Kind: event.ArgInt, Int: int64(p.Loginuid)},
		event.Arg{Name: "flags", Kind: event.ArgFlags, Flags: event.FlagsExecve, Uint: uint64(p.ExeFlags)},
		event.Arg{Name: "cap_inheritable", Kind: event.ArgUint, Uint: p.CapInh},
		event.Arg{Name: "cap_permitted", Kind: event.ArgUint, Uint: p.CapPrm},
		event.Arg{Name: "cap_effective", Kind: event.ArgUint, Uint: p.CapEff},
		event.Arg{Name: "exe_ino", Kind: event.ArgUint, Uint: ino},
		event.Arg{Name: "exe_ino_ctime", Kind: event.ArgAbsTime, Int: ctime},
		event.Arg{Name: "exe_ino_mtime", Kind: event.ArgAbsTime, Int: mtime},
		event.Arg{Name: "uid", Kind: event.ArgUint, Uint: uint64(p.Uid)},
		event.Arg{Name: "trusted_exepath", Kind: event.ArgString, Str: string(d.parts[partExecExePath])},
		event.Arg{Name: "pgid", Kind: event.ArgInt, Int: int64(p.Pgid)},
		event.Arg{Name: "gid", Kind: event.ArgUint, Uint: uint64(p.Gid)},
	)
	if ev.Type == event.TypeExecve {
		ev.Args = append(ev.Args, event.Arg{Name: "filename", Kind: event.ArgString, Str: string(d.parts[partExecFilename])})
	}
}

// decodeFork fills the child's clone exit (res 0). Not captured: exe,
// args and cwd (the child's are its parent's: state copies them), pgft_*,
// vm_*, cgroups.
func (d *decoder) decodeFork(ev *event.Event) {
	h, p := &d.hdr, &d.proc
	ev.Type = event.TypeClone
	ev.Res = 0
	var flags uint64
	if h.Flags&1 != 0 {
		flags = 0x10000 // CLONE_THREAD
	}
	comm := cstr(p.Comm[:])
	ev.Args = append(ev.Args,
		event.Arg{Name: "res", Kind: event.ArgInt},
		event.Arg{Name: "exe", Kind: event.ArgString, Str: comm},
		event.Arg{Name: "tid", Kind: event.ArgInt, Int: int64(h.Tid)},
		event.Arg{Name: "pid", Kind: event.ArgInt, Int: int64(h.Pid)},
		event.Arg{Name: "ptid", Kind: event.ArgInt, Int: int64(p.Ptid)},
		event.Arg{Name: "fdlimit", Kind: event.ArgInt, Int: int64(p.Fdlimit)},
		event.Arg{Name: "comm", Kind: event.ArgString, Str: comm},
		event.Arg{Name: "flags", Kind: event.ArgFlags, Uint: flags},
		event.Arg{Name: "uid", Kind: event.ArgUint, Uint: uint64(p.Uid)},
		event.Arg{Name: "gid", Kind: event.ArgUint, Uint: uint64(p.Gid)},
		event.Arg{Name: "vtid", Kind: event.ArgInt, Int: int64(p.Vtid)},
		event.Arg{Name: "vpid", Kind: event.ArgInt, Int: int64(p.Vpid)},
		event.Arg{Name: "start_ts", Kind: event.ArgAbsTime, Int: int64(p.StartTs) + d.bootToUTC},
	)
}

// decodeExit fills procexit from the kernel's exit code. reaper_tid is the
// thread that adopts the children (0 when unknown).
func (d *decoder) decodeExit(ev *event.Event) {
	code := d.hdr.Res
	ev.Type = event.TypeProcexit
	ev.Res = 0
	var core uint64
	if code&0x80 != 0 {
		core = 1
	}
	ev.Args = append(ev.Args,
		event.Arg{Name: "status", Kind: event.ArgInt, Int: code},
		event.Arg{Name: "ret", Kind: event.ArgInt, Int: (code >> 8) & 0xff},
		event.Arg{Name: "sig", Kind: event.ArgInt, Int: code & 0x7f},
		event.Arg{Name: "core", Kind: event.ArgUint, Uint: core},
		event.Arg{Name: "reaper_tid", Kind: event.ArgInt, Int: int64(d.proc.Reaper)},
	)
}
