package fields

import (
	"net/netip"
	"strings"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// typeChars are fd.typechar values as one-character strings, indexed by
// event.FDType, so extraction does not allocate.
var typeChars = func() [256]string {
	var out [256]string
	for i := range out {
		out[i] = string(event.FDType(i).Char())
	}
	return out
}()

func isIP(f *event.FD) bool {
	return f.Family == event.FamilyInet || f.Family == event.FamilyInet6 || f.Type == event.FDIPv4 || f.Type == event.FDIPv6
}

// Sides of a socket. Src is always the client and Dst the server (see
// event.FD), so local/remote depend on fd.is_server.
func client(f *event.FD) netip.AddrPort { return f.Src }
func server(f *event.FD) netip.AddrPort { return f.Dst }
func local(f *event.FD) netip.AddrPort {
	if f.Server {
		return f.Dst
	}
	return f.Src
}
func remote(f *event.FD) netip.AddrPort {
	if f.Server {
		return f.Src
	}
	return f.Dst
}

func isFile(f *event.FD) bool { return f.Type == event.FDFile || f.Type == event.FDDirectory }

func (t *Table) addFD() {
	t.typed("fd.num", KindInt, "file descriptor number", fdField(func(f *event.FD, dst []Value) []Value {
		return append(dst, iv(f.Num))
	}))
	t.str("fd.type", "fd type: file, directory, ipv4, ipv6, unix, pipe, event, signalfd, eventpoll, inotify, timerfd, netlink, bpf, userfaultfd, io_uring, memfd, pidfd", fdField(func(f *event.FD, dst []Value) []Value {
		return append(dst, sv(f.Type.String()))
	}))
	t.str("fd.typechar", "fd type as one letter: f file, d directory, 4 ipv4, 6 ipv6, u unix, p pipe ...", fdField(func(f *event.FD, dst []Value) []Value {
		return append(dst, sv(typeChars[f.Type]))
	}))
	t.str("fd.name", "full name: the absolute path for files, client:port->server:port for IP sockets, the path for unix sockets", fdField(func(f *event.FD, dst []Value) []Value {
		return nonEmpty(dst, f.Name)
	}))
	t.str("fd.nameraw", "the name as the process gave it (not made absolute)", fdField(func(f *event.FD, dst []Value) []Value {
		if f.NameRaw == "" {
			return nonEmpty(dst, f.Name)
		}
		return append(dst, sv(f.NameRaw))
	}))
	t.str("fd.directory", "directory of a file fd (the name itself for a directory fd)", fdField(func(f *event.FD, dst []Value) []Value {
		switch {
		case f.Type == event.FDDirectory:
			return nonEmpty(dst, f.Name)
		case f.Type == event.FDFile && f.Name != "":
			i := strings.LastIndexByte(f.Name, '/')
			switch {
			case i < 0:
				return dst
			case i == 0:
				return append(dst, sv("/"))
			}
			return append(dst, sv(f.Name[:i]))
		}
		return dst
	}))
	t.str("fd.filename", "file name of a file fd, without the directory", fdField(func(f *event.FD, dst []Value) []Value {
		if f.Type != event.FDFile || f.Name == "" {
			return dst
		}
		return append(dst, sv(f.Name[strings.LastIndexByte(f.Name, '/')+1:]))
	}))
	t.typed("fd.dev", KindUint, "device number of a file fd", fdField(func(f *event.FD, dst []Value) []Value {
		if !isFile(f) {
			return dst
		}
		return append(dst, uv(uint64(f.Dev)))
	}))
	t.typed("fd.ino", KindUint, "inode number of a file fd", fdField(func(f *event.FD, dst []Value) []Value {
		if !isFile(f) {
			return dst
		}
		return append(dst, uv(f.Ino))
	}))
	t.str("fd.l4proto", "transport protocol of an IP socket: tcp, udp, icmp, raw", fdField(func(f *event.FD, dst []Value) []Value {
		if !isIP(f) || f.L4Proto == event.L4Unknown {
			return dst
		}
		return append(dst, sv(f.L4Proto.String()))
	}))
	t.str("fd.sockfamily", "socket family: ip or unix", fdField(func(f *event.FD, dst []Value) []Value {
		return nonEmpty(dst, f.Family.String())
	}))
	sock := func(name, desc string, k Kind, fn func(f *event.FD, dst []Value) []Value) {
		t.typed(name, k, desc, fdField(func(f *event.FD, dst []Value) []Value {
			if !isIP(f) {
				return dst
			}
			return fn(f, dst)
		}))
	}
	sock("fd.is_server", "the socket is the server side (accepted or listening)", KindBool, func(f *event.FD, dst []Value) []Value {
		return append(dst, bv(f.Server))
	})
	t.typed("fd.connected", KindBool, "the socket is connected", fdField(func(f *event.FD, dst []Value) []Value {
		return append(dst, bv(f.Connected))
	}))
	t.typed("fd.name_changed", KindBool, "the fd's name changed on this event (e.g. connect)", fdField(func(f *event.FD, dst []Value) []Value {
		return append(dst, bv(f.NameChanged))
	}))
	sides := []struct {
		p, d string
		get  func(*event.FD) netip.AddrPort
	}{
		{"c", "client", client}, {"s", "server", server}, {"l", "local", local}, {"r", "remote", remote},
	}
	for _, s := range sides {
		get := s.get
		sock("fd."+s.p+"ip", s.d+" IP address", KindIPAddr, func(f *event.FD, dst []Value) []Value {
			return appendAddr(dst, KindIPAddr, get(f))
		})
		sock("fd."+s.p+"net", s.d+" IP address, compared by CIDR containment", KindIPNet, func(f *event.FD, dst []Value) []Value {
			return appendAddr(dst, KindIPNet, get(f))
		})
		sock("fd."+s.p+"port", s.d+" port", KindPort, func(f *event.FD, dst []Value) []Value {
			return appendPort(dst, get(f))
		})
		t.str("fd."+s.p+"ip.name", s.d+" domain name: in conditions, = and in compare the address with the names' addresses resolved when the rules load (rules.Options.LookupIP); unavailable as a value", func(_ *event.Event, dst []Value) []Value { return dst })
	}
	multiSock := func(name, desc string, k Kind, fn func(f *event.FD, dst []Value) []Value) {
		t.add(&def{name: name, kind: k, desc: desc, multi: true, ex: fdField(func(f *event.FD, dst []Value) []Value {
			if !isIP(f) {
				return dst
			}
			return fn(f, dst)
		})})
	}
	multiSock("fd.ip", "either IP address (client and server): matches if one does", KindIPAddr, func(f *event.FD, dst []Value) []Value {
		return appendAddr(appendAddr(dst, KindIPAddr, f.Src), KindIPAddr, f.Dst)
	})
	multiSock("fd.net", "either IP address, compared by CIDR containment", KindIPNet, func(f *event.FD, dst []Value) []Value {
		return appendAddr(appendAddr(dst, KindIPNet, f.Src), KindIPNet, f.Dst)
	})
	multiSock("fd.port", "either port (client and server)", KindPort, func(f *event.FD, dst []Value) []Value {
		return appendPort(appendPort(dst, f.Src), f.Dst)
	})
}

func appendAddr(dst []Value, k Kind, ap netip.AddrPort) []Value {
	if !ap.IsValid() {
		return dst
	}
	return append(dst, Value{Kind: k, Addr: ap.Addr().Unmap()})
}

func appendPort(dst []Value, ap netip.AddrPort) []Value {
	if !ap.IsValid() {
		return dst
	}
	return append(dst, pv(ap.Port()))
}
