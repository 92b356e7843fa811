package probe

import (
	"net/netip"
	"testing"
	"unsafe"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// record builds a ring record: the header, a zero proc_hdr for lifecycle
// kinds, then the parts in index order.
func record(h bpfEventHdr, parts map[int][]byte) []byte {
	for i, p := range parts {
		h.Len[i] = uint16(len(p))
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&h)), hdrSize)
	out := append([]byte(nil), b...)
	if h.Kind != kindSyscall {
		out = append(out, make([]byte, procSize)...)
	}
	for i := range nParts {
		out = append(out, parts[i]...)
	}
	return out
}

func fdInfoBytes(fi bpfFdInfo) []byte {
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(&fi)), fdInfoSize)...)
}

// nrOf returns this architecture's number for syscall type t.
func nrOf(t *testing.T, typ event.Type) uint16 {
	for nr, tt := range syscallTypes() {
		if tt == typ {
			return nr
		}
	}
	t.Fatalf("no syscall number for %s", typ)
	return 0
}

func TestDecodeConnect(t *testing.T) {
	fi := bpfFdInfo{Kind: 2, Family: afInet, Type: 1, Proto: protoTCP, Sport: 40000, Dport: 0}
	copy(fi.Saddr[:], []byte{10, 0, 0, 1})
	sa := []byte{afInet, 0, 0x1f, 0x90, 192, 168, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0} // 192.168.1.2:8080
	raw := record(bpfEventHdr{Kind: kindSyscall, Nr: nrOf(t, event.TypeConnect), Res: -111, Args: [6]uint64{5}},
		map[int][]byte{partFD: fdInfoBytes(fi), partBlob: sa})
	var ev event.Event
	if err := newDecoder(0).decode(raw, &ev); err != nil {
		t.Fatal(err)
	}
	want := event.Tuple{Family: event.FamilyInet, L4Proto: event.L4TCP,
		Src: netip.MustParseAddrPort("10.0.0.1:40000"), Dst: netip.MustParseAddrPort("192.168.1.2:8080")}
	if got := ev.Arg("tuple").Tuple; got != want {
		t.Errorf("tuple = %+v, want %+v (a refused connect takes the peer from the sockaddr)", got, want)
	}
	if got := ev.Arg("fd").Int; got != 5 {
		t.Errorf("fd = %d", got)
	}
}

func TestParseSockaddr(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want event.Tuple
	}{
		{"empty", nil, event.Tuple{}},
		{"short inet", []byte{afInet, 0, 1}, event.Tuple{Family: event.FamilyInet}},
		{"inet6", append([]byte{afInet6, 0, 0, 80, 0, 0, 0, 0}, netip.MustParseAddr("::1").AsSlice()...),
			event.Tuple{Family: event.FamilyInet6, Dst: netip.MustParseAddrPort("[::1]:80")}},
		{"unix", []byte{afUnix, 0, '/', 'r', 'u', 'n', 0, 'x'}, event.Tuple{Family: event.FamilyUnix, Path: "/run"}},
		{"abstract unix", []byte{afUnix, 0, 0, 'a', 'b'}, event.Tuple{Family: event.FamilyUnix, Path: "@ab"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseSockaddr(tt.in); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzDecode feeds arbitrary records to the decoder: it may reject them but
// must never panic or read out of bounds.
func FuzzDecode(f *testing.F) {
	f.Add(record(bpfEventHdr{Kind: kindSyscall, Nr: 257}, map[int][]byte{2: []byte("/etc/passwd")}))
	f.Add(record(bpfEventHdr{Kind: kindExec}, map[int][]byte{partFD: fdInfoBytes(bpfFdInfo{Kind: 1}), 2: []byte("ls\x00-l\x00")}))
	f.Add(record(bpfEventHdr{Kind: kindFork}, nil))
	f.Add(record(bpfEventHdr{Kind: kindExit, Res: 0x100}, nil))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, raw []byte) {
		var ev event.Event
		_ = newDecoder(0).decode(raw, &ev)
	})
}
