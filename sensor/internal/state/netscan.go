package state

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// socketInfo is one socket from /proc/PID/net/{tcp,tcp6,udp,udp6,unix}.
type socketInfo struct {
	family event.Family
	proto  event.L4Proto
	local  netip.AddrPort
	remote netip.AddrPort
	listen bool
	path   string
}

// apply fills an fd from the socket. A listening socket is a server with no
// peer; a connected one is named "local->remote" as Falco names client fds
// (for accepted fds Falco puts the client first; /proc cannot tell which
// side accepted, so scan-time names are local-first).
func (s socketInfo) apply(f *event.FD) {
	f.Family, f.L4Proto = s.family, s.proto
	switch s.family {
	case event.FamilyInet:
		f.Type = event.FDIPv4
	case event.FamilyInet6:
		f.Type = event.FDIPv6
	case event.FamilyUnix:
		f.Type = event.FDUnix
		f.Name = s.path
		return
	}
	f.Src, f.Dst = s.local, s.remote
	f.Server = s.listen
	f.Connected = !s.listen && s.remote.Port() != 0
	f.Name = tupleName(s.local, s.remote)
}

// netSockets returns the socket map of the network namespace dir's process
// lives in, cached per namespace during a Scan.
func (t *Tables) netSockets(dir string) map[uint64]socketInfo {
	ns, _ := os.Readlink(dir + "/ns/net")
	if t.netns != nil && ns != "" {
		if m, ok := t.netns[ns]; ok {
			return m
		}
	}
	m := map[uint64]socketInfo{}
	for _, f := range [...]struct {
		name   string
		family event.Family
		proto  event.L4Proto
	}{
		{"tcp", event.FamilyInet, event.L4TCP}, {"tcp6", event.FamilyInet6, event.L4TCP},
		{"udp", event.FamilyInet, event.L4UDP}, {"udp6", event.FamilyInet6, event.L4UDP},
	} {
		if data, err := os.ReadFile(dir + "/net/" + f.name); err == nil {
			parseNetIP(data, f.family, f.proto, m)
		}
	}
	if data, err := os.ReadFile(dir + "/net/unix"); err == nil {
		parseNetUnix(data, m)
	}
	if t.netns != nil && ns != "" {
		t.netns[ns] = m
	}
	return m
}

// The socket tables stay hand-parsed: prometheus/procfs reads them only
// from the root it was opened on (FS.NetTCP: ProcRoot/net/tcp, the
// sensor's own network namespace), while the scan needs each process's
// namespace (/proc/PID/net/...), keyed by inode with the peer addresses.
// parseNetIP parses /proc/net/tcp-style tables into m keyed by inode.
func parseNetIP(data []byte, fam event.Family, proto event.L4Proto, m map[uint64]socketInfo) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Scan() // header
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		local, ok1 := parseHexAddrPort(f[1])
		remote, ok2 := parseHexAddrPort(f[2])
		ino, err := strconv.ParseUint(f[9], 10, 64)
		if !ok1 || !ok2 || err != nil || ino == 0 {
			continue
		}
		m[ino] = socketInfo{family: fam, proto: proto, local: local, remote: remote,
			listen: proto == event.L4TCP && f[3] == "0A"}
	}
}

// parseHexAddrPort parses "0100007F:1F90" (IPv4) or 32 hex digits of four
// host-order (little-endian) words for IPv6.
func parseHexAddrPort(s string) (netip.AddrPort, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i+4 <= len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr, uint16(port)), true
}

// parseNetUnix parses /proc/net/unix: "Num RefCount Protocol Flags Type St
// Inode [Path]".
func parseNetUnix(data []byte, m map[uint64]socketInfo) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Scan()
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 7 {
			continue
		}
		ino, err := strconv.ParseUint(f[6], 10, 64)
		if err != nil || ino == 0 {
			continue
		}
		s := socketInfo{family: event.FamilyUnix, listen: f[3] == "00010000"}
		if len(f) > 7 {
			s.path = f[7]
		}
		m[ino] = s
	}
}
