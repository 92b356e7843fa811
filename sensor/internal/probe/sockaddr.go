package probe

import (
	"encoding/binary"
	"net/netip"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// Address families and protocols used in socket records.
const (
	afUnix    = 1
	afInet    = 2
	afInet6   = 10
	afNetlink = 16
	afPacket  = 17

	sockRaw   = 3
	protoTCP  = 6
	protoUDP  = 17
	protoICMP = 1
	protoIC6  = 58
)

func family(f uint16) event.Family {
	switch f {
	case afInet:
		return event.FamilyInet
	case afInet6:
		return event.FamilyInet6
	case afUnix:
		return event.FamilyUnix
	case afNetlink:
		return event.FamilyNetlink
	case afPacket:
		return event.FamilyPacket
	case 0:
		return event.FamilyUnknown
	}
	return event.FamilyOther
}

func l4(typ, proto uint16) event.L4Proto {
	switch {
	case typ == sockRaw:
		return event.L4Raw
	case proto == protoTCP:
		return event.L4TCP
	case proto == protoUDP:
		return event.L4UDP
	case proto == protoICMP || proto == protoIC6:
		return event.L4ICMP
	}
	return event.L4Unknown
}

func addrOf(fam uint16, b [16]uint8, port uint16) netip.AddrPort {
	switch fam {
	case afInet:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[:4])), port)
	case afInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(b), port)
	}
	return netip.AddrPort{}
}

// tuple is the described fd's socket: local->remote, or remote->local for
// accepted sockets (Falco puts the client first). A socket without a peer
// (a failed connect, an unconnected datagram socket) takes the remote
// address from the user's sockaddr sa.
func (d *decoder) tuple(accepted bool, sa []byte) event.Tuple {
	if !d.hasFD || d.fd.Kind != 2 {
		if t := parseSockaddr(sa); t.Family != event.FamilyUnknown {
			return t
		}
		return event.Tuple{}
	}
	f := &d.fd
	local := addrOf(f.Family, f.Saddr, f.Sport)
	remote := addrOf(f.Family, f.Daddr, f.Dport)
	if f.Dport == 0 && !accepted {
		if t := parseSockaddr(sa); t.Dst.IsValid() {
			remote = t.Dst
		}
	}
	t := event.Tuple{Family: family(f.Family), L4Proto: l4(f.Type, f.Proto), Src: local, Dst: remote}
	if accepted {
		t.Src, t.Dst = remote, local
	}
	if t.Family == event.FamilyUnix {
		t.Path = string(d.parts[partUnix])
		if u := parseSockaddr(sa); t.Path == "" && u.Family == event.FamilyUnix {
			t.Path = u.Path
		}
	}
	return t
}

// parseSockaddr decodes a user struct sockaddr (SOCKADDR): the address goes
// in Dst, a unix path in Path.
func parseSockaddr(b []byte) event.Tuple {
	if len(b) < 2 {
		return event.Tuple{}
	}
	fam := binary.NativeEndian.Uint16(b)
	t := event.Tuple{Family: family(fam)}
	switch fam {
	case afInet:
		if len(b) >= 8 {
			t.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), binary.BigEndian.Uint16(b[2:]))
		}
	case afInet6:
		if len(b) >= 24 {
			t.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])), binary.BigEndian.Uint16(b[2:]))
		}
	case afUnix:
		p := b[2:]
		if len(p) > 0 && p[0] == 0 { // abstract socket: Falco shows it with a leading '@'
			p = append([]byte{'@'}, p[1:]...)
		}
		for i, c := range p {
			if c == 0 {
				p = p[:i]
				break
			}
		}
		t.Path = string(p)
	}
	return t
}
