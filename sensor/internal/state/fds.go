package state

import (
	"net/netip"
	"strconv"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// Linux constants the probe passes through unchanged.
const (
	oDirectory = 0o200000
	oTmpfile   = 0o20000000 | oDirectory

	afUnix    = 1
	afInet    = 2
	afInet6   = 10
	afNetlink = 16
	afPacket  = 17

	sockStream = 1
	sockDgram  = 2
	sockRaw    = 3

	fDupfd        = 0
	fDupfdCloexec = 1030

	einprogress = 115
)

// applyFD handles the fd-creating and fd-using events and sets ev.FD.
func (t *Tables) applyFD(th *thread, ev *event.Event) {
	switch ev.Type {
	case event.TypeOpen, event.TypeOpenat, event.TypeOpenat2, event.TypeCreat:
		t.applyOpen(th, ev)
	case event.TypeSocket:
		if ev.Res < 0 {
			return
		}
		f := &event.FD{Num: ev.Res}
		dom := argInt(ev, "domain", 0)
		typ, _ := argUint(ev, "type")
		proto := argInt(ev, "proto", 0)
		setFamily(f, dom, typ, proto)
		if typ&oCloexec != 0 { // SOCK_CLOEXEC == O_CLOEXEC
			f.OpenFlags |= oCloexec
		}
		ev.FD = t.putFD(th, f)
	case event.TypeConnect:
		num := argInt(ev, "fd", -1)
		f := th.fds.fds[num]
		if f == nil {
			f = &event.FD{Num: num}
			if ev.Res == 0 || ev.Res == -einprogress {
				f = t.putFD(th, f)
			}
		}
		if a := ev.Arg("tuple"); a != nil && (ev.Res == 0 || ev.Res == -einprogress) {
			setTuple(f, a.Tuple)
			f.Connected = ev.Res == 0
			f.NameChanged = true
		}
		ev.FD = f
	case event.TypeAccept, event.TypeAccept4:
		num := argInt(ev, "fd", ev.Res)
		if num < 0 {
			return
		}
		f := &event.FD{Num: num, Server: true, Connected: true}
		if a := ev.Arg("tuple"); a != nil {
			setTuple(f, a.Tuple)
		}
		if fl := argInt(ev, "flags", 0); fl&oCloexec != 0 {
			f.OpenFlags |= oCloexec
		}
		ev.FD = t.putFD(th, f)
	case event.TypeBind:
		f := th.fds.fds[argInt(ev, "fd", -1)]
		if f != nil && ev.Res == 0 {
			if a := ev.Arg("addr"); a != nil {
				if a.Tuple.Family == event.FamilyUnix {
					f.Name = a.Tuple.Path
				} else if a.Tuple.Dst.IsValid() {
					f.Src = a.Tuple.Dst
				}
			}
		}
		ev.FD = f
	case event.TypeListen:
		f := th.fds.fds[argInt(ev, "fd", -1)]
		if f != nil && ev.Res == 0 && !f.Server {
			// The bound address (kept as the local, client-side end
			// until now) is the server end of a listening socket, so
			// fd.lport/fd.sport give the port it listens on.
			f.Server = true
			if !f.Dst.IsValid() {
				f.Src, f.Dst = netip.AddrPort{}, f.Src
			}
		}
		ev.FD = f
	case event.TypeDup, event.TypeDup2, event.TypeDup3:
		old := th.fds.fds[argInt(ev, "oldfd", -1)]
		if ev.Res >= 0 && old != nil {
			cp := *old
			cp.Num = ev.Res
			cp.OpenFlags &^= oCloexec
			if fl := argInt(ev, "flags", 0); ev.Type == event.TypeDup3 && fl&oCloexec != 0 {
				cp.OpenFlags |= oCloexec
			}
			ev.FD = t.putFD(th, &cp)
			return
		}
		ev.FD = old
	case event.TypeFcntl:
		f := th.fds.fds[argInt(ev, "fd", -1)]
		cmd := argInt(ev, "cmd", -1)
		if f != nil && ev.Res >= 0 && (cmd == fDupfd || cmd == fDupfdCloexec) {
			cp := *f
			cp.Num = ev.Res
			cp.OpenFlags &^= oCloexec
			if cmd == fDupfdCloexec {
				cp.OpenFlags |= oCloexec
			}
			ev.FD = t.putFD(th, &cp)
			return
		}
		ev.FD = f
	case event.TypeClose:
		num := argInt(ev, "fd", -1)
		f := th.fds.fds[num]
		ev.FD = f
		if ev.Res == 0 && f != nil {
			delete(th.fds.fds, num)
			t.releaseFD(f)
		}
	case event.TypePipe, event.TypePipe2:
		if ev.Res != 0 {
			return
		}
		ino, _ := argUint(ev, "ino")
		name := "pipe:[" + strconv.FormatUint(ino, 10) + "]"
		fl := argInt(ev, "flags", 0) & oCloexec
		for _, arg := range [...]string{"fd1", "fd2"} {
			if n := argInt(ev, arg, -1); n >= 0 {
				ev.FD = t.putFD(th, &event.FD{Num: n, Type: event.FDPipe, Name: name, Ino: ino, OpenFlags: uint32(fl)})
			}
		}
	case event.TypeMemfdCreate:
		n := argInt(ev, "fd", ev.Res)
		if n < 0 {
			return
		}
		name := ""
		if a := ev.Arg("name"); a != nil {
			name = a.Str
		}
		f := &event.FD{Num: n, Type: event.FDMemfd, Name: "memfd:" + name, NameRaw: name}
		if fl, _ := argUint(ev, "flags"); fl&1 != 0 { // MFD_CLOEXEC
			f.OpenFlags = oCloexec
		}
		ev.FD = t.putFD(th, f)
	case event.TypeSendto, event.TypeSendmsg, event.TypeRecvfrom, event.TypeRecvmsg:
		f := th.fds.fds[argInt(ev, "fd", -1)]
		if f != nil && ev.Res >= 0 && f.L4Proto == event.L4UDP && !f.Connected {
			// An unconnected UDP socket takes the peer of each datagram,
			// as Falco's parser does: sending, it is the client side;
			// receiving, the server side.
			// The tuple is local->peer; Src is the client end.
			if a := ev.Arg("tuple"); a != nil && a.Tuple.Src.IsValid() && a.Tuple.Dst.IsValid() {
				tu := a.Tuple
				f.Server = ev.Type == event.TypeRecvfrom || ev.Type == event.TypeRecvmsg
				if f.Server {
					tu.Src, tu.Dst = tu.Dst, tu.Src
				}
				setTuple(f, tu)
			}
		}
		ev.FD = f
	default:
		if a := ev.Arg("fd"); a != nil {
			ev.FD = th.fds.fds[a.Int]
		}
	}
}

// applyOpen records the fd of a successful open and, for any open, sets
// ev.FD with the resolved name (a failed open gets a scratch FD so fd.name
// still works, as in Falco).
func (t *Tables) applyOpen(th *thread, ev *event.Event) {
	raw := ""
	if a := ev.Arg("name"); a != nil {
		raw = a.Str
	}
	base := th.fs.cwd
	if ev.Type == event.TypeOpenat || ev.Type == event.TypeOpenat2 {
		if dirfd := argInt(ev, "dirfd", atFDCWD); dirfd != atFDCWD {
			base = ""
			if d := th.fds.fds[dirfd]; d != nil {
				base = d.Name
			}
		}
	}
	flags, _ := argUint(ev, "flags")
	if ev.Type == event.TypeCreat {
		flags = 0o1101 // O_CREAT|O_WRONLY|O_TRUNC
	}
	num := argInt(ev, "fd", ev.Res)
	f := &t.scratch
	if ev.Res >= 0 && num >= 0 {
		f = t.newFD()
	} else {
		*f = event.FD{}
	}
	f.Num = num
	f.Type = event.FDFile
	if flags&oDirectory != 0 && flags&oTmpfile != oTmpfile {
		f.Type = event.FDDirectory
	}
	f.Name = t.resolve(base, raw)
	f.NameRaw = raw
	f.OpenFlags = uint32(flags)
	if v, ok := argUint(ev, "dev"); ok {
		f.Dev = uint32(v)
	}
	if v, ok := argUint(ev, "ino"); ok {
		f.Ino = v
	}
	if f != &t.scratch {
		f = t.putFD(th, f)
	}
	ev.FD = f
}

// maxFreeFDs bounds the recycled-fd list.
const maxFreeFDs = 1024

// newFD returns a zeroed FD, recycled from a closed one when possible.
func (t *Tables) newFD() *event.FD {
	if n := len(t.freeFDs); n > 0 {
		f := t.freeFDs[n-1]
		t.freeFDs = t.freeFDs[:n-1]
		*f = event.FD{}
		return f
	}
	return &event.FD{}
}

// releaseFD recycles f, which no table holds any more. The event that
// closed it may still read it: it is reused no earlier than the next Apply,
// which is the lifetime the package documents for Event.FD.
func (t *Tables) releaseFD(f *event.FD) {
	if len(t.freeFDs) < maxFreeFDs {
		t.freeFDs = append(t.freeFDs, f)
	}
}

// putFD stores f in th's table, unless the table is full (then f is still
// returned so the event sees it).
func (t *Tables) putFD(th *thread, f *event.FD) *event.FD {
	if _, exists := th.fds.fds[f.Num]; !exists && len(th.fds.fds) >= t.opts.MaxFDsPerProcess {
		t.stats.FDsDropped++
		return f
	}
	th.fds.fds[f.Num] = f
	return f
}

func setFamily(f *event.FD, dom int64, typ uint64, proto int64) {
	switch dom {
	case afInet:
		f.Type, f.Family = event.FDIPv4, event.FamilyInet
	case afInet6:
		f.Type, f.Family = event.FDIPv6, event.FamilyInet6
	case afUnix:
		f.Type, f.Family = event.FDUnix, event.FamilyUnix
	case afNetlink:
		f.Type, f.Family = event.FDNetlink, event.FamilyNetlink
	case afPacket:
		f.Family = event.FamilyPacket
	default:
		f.Family = event.FamilyOther
	}
	if f.Family == event.FamilyInet || f.Family == event.FamilyInet6 {
		switch typ & 0xf {
		case sockStream:
			f.L4Proto = event.L4TCP
		case sockDgram:
			f.L4Proto = event.L4UDP
		case sockRaw:
			f.L4Proto = event.L4Raw
			if proto == 1 || proto == 58 {
				f.L4Proto = event.L4ICMP
			}
		}
	}
}

// setTuple copies a socket tuple into f and renders fd.name as Falco does:
// "sip:sport->dip:dport" for IP, the path for unix sockets.
func setTuple(f *event.FD, tu event.Tuple) {
	if tu.Family != event.FamilyUnknown {
		f.Family = tu.Family
		switch tu.Family {
		case event.FamilyInet:
			f.Type = event.FDIPv4
		case event.FamilyInet6:
			f.Type = event.FDIPv6
		case event.FamilyUnix:
			f.Type = event.FDUnix
		}
	}
	if tu.L4Proto != event.L4Unknown {
		f.L4Proto = tu.L4Proto
	}
	if tu.Family == event.FamilyUnix {
		f.Name = tu.Path
		return
	}
	f.Src, f.Dst = tu.Src, tu.Dst
	f.Name = tupleName(tu.Src, tu.Dst)
}

func tupleName(src, dst netip.AddrPort) string {
	b := make([]byte, 0, 48)
	b = appendAddrPort(b, src)
	b = append(b, "->"...)
	b = appendAddrPort(b, dst)
	return string(b)
}

func appendAddrPort(b []byte, ap netip.AddrPort) []byte {
	b = ap.Addr().Unmap().AppendTo(b)
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(ap.Port()), 10)
}
