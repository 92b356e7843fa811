package probe

import (
	"encoding/binary"
	"fmt"
	"slices"
	"unsafe"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// Record kinds written by the BPF programs (enum kind in bpf/lookout/record.h).
const (
	kindSyscall = 1
	kindExec    = 2
	kindFork    = 3
	kindExit    = 4
)

// Parts of a record (NPARTS, PART_* in bpf/lookout/record.h).
const (
	nParts   = 8
	partFD   = 0 // struct fd_info
	partStr  = 1 // syscalls: parts 1..6 are the strings of arguments 0..5
	partUnix = 6 // syscalls on unix sockets: the socket's or its peer's path
	partBlob = 7 // syscalls: the user blob
)

var (
	hdrSize    = int(unsafe.Sizeof(bpfEventHdr{}))
	procSize   = int(unsafe.Sizeof(bpfProcHdr{}))
	fdInfoSize = int(unsafe.Sizeof(bpfFdInfo{}))
)

// decoder turns ring records into events. It is not safe for concurrent use.
type decoder struct {
	// byNr is indexed by syscall number: the type and parameters of each
	// syscall the probe knows (Type 0 for the others). An array, not a
	// map: two map lookups were 15 % of the decoder's time.
	byNr      [nrMax]nrEntry
	bootToUTC int64 // add to CLOCK_BOOTTIME ns to get Unix ns
	num       uint64
	hdr       bpfEventHdr
	proc      bpfProcHdr // exec, fork and exit records: the proc_hdr before their parts
	fd        bpfFdInfo
	hasFD     bool
	parts     [nParts][]byte
	strs      strCache // syscall string arguments
}

// nrEntry is one syscall number's event type and parameters.
type nrEntry struct {
	t    event.Type
	args []argSpec
}

func newDecoder(bootToUTC int64) *decoder {
	d := &decoder{bootToUTC: bootToUTC}
	specs := syscallSpecs()
	for nr, t := range syscallTypes() {
		if int(nr) < nrMax {
			d.byNr[nr] = nrEntry{t: t, args: specs[t].args}
		}
	}
	return d
}

// syscallType returns the event type of syscall nr, if the probe knows it.
func (d *decoder) syscallType(nr uint16) (event.Type, bool) {
	if int(nr) >= nrMax || d.byNr[nr].t == event.TypeUnknown {
		return event.TypeUnknown, false
	}
	return d.byNr[nr].t, true
}

// decode fills ev from one record. ev is reset first and its Args array
// reused; strings and byte slices in ev are fresh copies.
func (d *decoder) decode(raw []byte, ev *event.Event) error {
	if len(raw) < hdrSize {
		return fmt.Errorf("record of %d bytes is shorter than its %d-byte header", len(raw), hdrSize)
	}
	h := &d.hdr
	// The generated structs mirror the C layout in native byte order
	// (bpf2go -type), so a copy is a decode; binary.Decode would cost
	// reflection on every record.
	copy(unsafe.Slice((*byte)(unsafe.Pointer(h)), hdrSize), raw)
	off := hdrSize
	if h.Kind != kindSyscall {
		if len(raw) < hdrSize+procSize {
			return fmt.Errorf("%d-byte record of kind %d is shorter than its headers (%d bytes)", len(raw), h.Kind, hdrSize+procSize)
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&d.proc)), procSize), raw[hdrSize:])
		off += procSize
	}
	for i, n := range h.Len {
		if off+int(n) > len(raw) {
			return fmt.Errorf("record part %d (%d bytes at %d) overruns the %d-byte record", i, n, off, len(raw))
		}
		d.parts[i] = raw[off : off+int(n)]
		off += int(n)
	}
	d.hasFD = false
	if p := d.parts[partFD]; len(p) > 0 {
		if len(p) != fdInfoSize {
			return fmt.Errorf("fd part of %d bytes, want %d", len(p), fdInfoSize)
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&d.fd)), fdInfoSize), p)
		d.hasFD = true
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
		t, ok := d.syscallType(h.Nr)
		if !ok {
			return fmt.Errorf("record for syscall %d, which the probe does not know", h.Nr)
		}
		ev.Type = t
		// Filled in place: an Arg is ~150 bytes, too big to return by value
		// once per parameter.
		specs := d.byNr[h.Nr].args
		ev.Args = slices.Grow(ev.Args[:0], len(specs))[:len(specs)]
		for i := range specs {
			d.arg(&specs[i], &ev.Args[i])
		}
	case kindExec:
		d.decodeExec(ev)
	case kindFork:
		d.decodeFork(ev)
	case kindExit:
		d.decodeExit(ev)
	default:
		return fmt.Errorf("record of unknown kind %d", h.Kind)
	}
	return nil
}

// arg builds one syscall parameter from the header, parts and fd info.
func (d *decoder) arg(a *argSpec, out *event.Arg) {
	h := &d.hdr
	*out = event.Arg{Name: a.name, Kind: a.kind, Flags: a.flags}
	var raw uint64
	switch {
	case a.src == srcRet:
		raw = uint64(h.Res)
	case a.src <= srcArg5:
		raw = h.Args[a.src-srcArg0]
		if a.mask != 0 {
			raw &= a.mask
		}
	case a.src <= srcStr5:
		out.Str = d.strs.get(d.parts[partStr+int(a.src-srcStr0)])
		return
	case a.src == srcBlob:
		out.Bytes = append([]byte(nil), d.parts[partBlob]...)
		return
	case a.src == srcAddr:
		out.Tuple = parseSockaddr(d.parts[partBlob])
		return
	case a.src == srcTuple, a.src == srcTupleAcc:
		out.Tuple = d.tuple(a.src == srcTupleAcc, d.parts[partBlob])
		return
	case a.src == srcTupleMsg:
		out.Tuple = d.tuple(false, d.parts[partStr])
		return
	case a.src == srcTupleTo, a.src == srcTupleFrom:
		// The peer sockaddr the kernel copied from args[4].
		out.Tuple = d.tuple(false, d.parts[partStr+4])
		return
	case a.src == srcDev:
		if d.hasFD {
			raw = uint64(encodeDev(d.fd.Dev))
		}
	case a.src == srcIno:
		if d.hasFD {
			raw = d.fd.Ino
		}
	case a.src >= srcHowFlags && a.src <= srcHowResolv:
		raw = openHow(d.parts[partBlob], int(a.src-srcHowFlags))
	case a.src == srcBlobI32a, a.src == srcBlobI32b:
		raw = uint64(^uint32(0)) // -1 when the kernel wrote no fds
		if i := 4 * int(a.src-srcBlobI32a); h.Res == 0 && len(d.parts[partBlob]) >= i+4 {
			raw = uint64(binary.NativeEndian.Uint32(d.parts[partBlob][i:]))
		}
	}
	switch a.kind {
	case event.ArgFD, event.ArgErrno, event.ArgInt:
		if a.src == srcRet {
			out.Int = int64(raw)
		} else {
			out.Int = int64(int32(raw)) // int parameters: AT_FDCWD is -100
		}
	default:
		out.Uint = raw
	}
}

// openHow reads field i (flags, mode, resolve) of a struct open_how.
func openHow(b []byte, i int) uint64 {
	if len(b) < 8*(i+1) {
		return 0
	}
	return binary.NativeEndian.Uint64(b[8*i:])
}

// encodeDev turns a kernel dev_t (major<<20|minor) into the user-space
// encoding stat(2) and Falco use.
func encodeDev(dev uint32) uint32 {
	major, minor := dev>>20, dev&0xfffff
	return minor&0xff | major<<8 | (minor&^0xff)<<12
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
