package probe

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// Record kinds written by the BPF programs (enum kind in bpf/probe.bpf.c).
const (
	kindSyscall = 1
	kindExec    = 2
	kindFork    = 3
	kindExit    = 4
)

const hdrSize = int(unsafe.Sizeof(bpfEventHdr{}))

// decoder turns ring records into events. It is not safe for concurrent use.
type decoder struct {
	types     map[uint16]event.Type
	specs     map[event.Type][]argSpec
	bootToUTC int64 // add to CLOCK_BOOTTIME ns to get Unix ns
	num       uint64
	hdr       bpfEventHdr
}

func newDecoder(bootToUTC int64) *decoder {
	return &decoder{types: syscallTypes(), specs: syscallSpecs(), bootToUTC: bootToUTC}
}

// decode fills ev from one record. ev is reset first and its Args array reused.
func (d *decoder) decode(raw []byte, ev *event.Event) error {
	if len(raw) < hdrSize {
		return fmt.Errorf("record of %d bytes is shorter than its %d-byte header", len(raw), hdrSize)
	}
	h := &d.hdr
	if _, err := binary.Decode(raw[:hdrSize], binary.NativeEndian, h); err != nil {
		return fmt.Errorf("decode record header: %w", err)
	}
	var parts [6][]byte
	off := hdrSize
	for i, n := range h.Len {
		if off+int(n) > len(raw) {
			return fmt.Errorf("record part %d (%d bytes at %d) overruns the %d-byte record", i, n, off, len(raw))
		}
		parts[i] = raw[off : off+int(n)]
		off += int(n)
	}
	ev.Reset()
	d.num++
	ev.Num = d.num
	ev.TS = int64(h.Ts) + d.bootToUTC
	ev.CPU = h.Cpu
	ev.TID = int64(h.Tid)
	ev.PID = int64(h.Pid)
	ev.Res = h.Res
	switch h.Kind {
	case kindSyscall:
		t, ok := d.types[h.Nr]
		if !ok {
			return fmt.Errorf("record for syscall %d, which the probe does not know", h.Nr)
		}
		ev.Type = t
		for _, a := range d.specs[t] {
			ev.Args = append(ev.Args, d.arg(a, &parts))
		}
	case kindExec:
		d.decodeExec(ev, &parts)
	case kindFork:
		ev.Type = event.TypeClone
		ev.Res = 0
		var flags uint64
		if h.Flags&1 != 0 {
			flags = 0x10000 // CLONE_THREAD
		}
		comm := cstr(h.Comm[:])
		ev.Args = append(ev.Args,
			event.Arg{Name: "res", Kind: event.ArgInt},
			event.Arg{Name: "exe", Kind: event.ArgString, Str: comm},
			event.Arg{Name: "tid", Kind: event.ArgInt, Int: int64(h.Tid)},
			event.Arg{Name: "pid", Kind: event.ArgInt, Int: int64(h.Pid)},
			event.Arg{Name: "ptid", Kind: event.ArgInt, Int: int64(h.Ptid)},
			event.Arg{Name: "comm", Kind: event.ArgString, Str: comm},
			event.Arg{Name: "flags", Kind: event.ArgUint, Uint: flags},
			event.Arg{Name: "uid", Kind: event.ArgUint, Uint: uint64(h.Uid)},
			event.Arg{Name: "gid", Kind: event.ArgUint, Uint: uint64(h.Gid)},
		)
	case kindExit:
		ev.Type = event.TypeProcexit
		code := h.Res
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
		)
	default:
		return fmt.Errorf("record of unknown kind %d", h.Kind)
	}
	return nil
}

func (d *decoder) arg(a argSpec, parts *[6][]byte) event.Arg {
	h := &d.hdr
	out := event.Arg{Name: a.name, Kind: a.kind, Flags: a.flags}
	var raw uint64
	switch {
	case a.src == srcRet:
		raw = uint64(h.Res)
	case a.src <= srcArg5:
		raw = h.Args[a.src-srcArg0]
	default:
		out.Str = string(parts[a.src-srcStr0])
		return out
	}
	switch a.kind {
	case event.ArgFD, event.ArgErrno:
		if a.src == srcRet {
			out.Int = int64(raw)
		} else {
			out.Int = int64(int32(raw)) // int parameters: AT_FDCWD is -100
		}
	case event.ArgInt:
		out.Int = int64(raw)
	default:
		out.Uint = raw
	}
	return out
}

// decodeExec fills a successful execve/execveat exit. Parts: 0 filename
// (as passed to exec), 1 argv (NUL-separated), 2 env (NUL-separated).
func (d *decoder) decodeExec(ev *event.Event, parts *[6][]byte) {
	h := &d.hdr
	ev.Type = event.TypeExecve
	if t, ok := d.types[h.Nr]; ok && t == event.TypeExecveat {
		ev.Type = event.TypeExecveat
	}
	argv := bytes.TrimRight(parts[1], "\x00")
	exe, args, _ := bytes.Cut(argv, []byte{0})
	env := bytes.TrimRight(parts[2], "\x00")
	ev.Args = append(ev.Args,
		event.Arg{Name: "res", Kind: event.ArgErrno, Int: h.Res},
		event.Arg{Name: "exe", Kind: event.ArgString, Str: string(exe)},
		event.Arg{Name: "args", Kind: event.ArgBytes, Bytes: append([]byte(nil), args...)},
		event.Arg{Name: "tid", Kind: event.ArgInt, Int: int64(h.Tid)},
		event.Arg{Name: "pid", Kind: event.ArgInt, Int: int64(h.Pid)},
		event.Arg{Name: "ptid", Kind: event.ArgInt, Int: int64(h.Ptid)},
		event.Arg{Name: "comm", Kind: event.ArgString, Str: cstr(h.Comm[:])},
		event.Arg{Name: "env", Kind: event.ArgBytes, Bytes: append([]byte(nil), env...)},
		event.Arg{Name: "loginuid", Kind: event.ArgUint, Uint: uint64(h.Loginuid)},
		event.Arg{Name: "flags", Kind: event.ArgFlags, Flags: event.FlagsExecve},
		event.Arg{Name: "cap_inheritable", Kind: event.ArgUint, Uint: h.CapInh},
		event.Arg{Name: "cap_permitted", Kind: event.ArgUint, Uint: h.CapPrm},
		event.Arg{Name: "cap_effective", Kind: event.ArgUint, Uint: h.CapEff},
		event.Arg{Name: "uid", Kind: event.ArgUint, Uint: uint64(h.Uid)},
		event.Arg{Name: "gid", Kind: event.ArgUint, Uint: uint64(h.Gid)},
		event.Arg{Name: "filename", Kind: event.ArgString, Str: string(parts[0])},
	)
}

func cstr(b []int8) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}
