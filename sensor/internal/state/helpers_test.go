package state

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// newTestTables returns tables over an empty procfs and a host root with a
// small passwd/group, so synthetic events alone define the state.
func newTestTables(t testing.TB, opts Options) *Tables {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	passwd := "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
	group := "root:x:0:\nalice:x:1000:\n"
	if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/group"), []byte(group), 0o644); err != nil {
		t.Fatal(err)
	}
	opts.ProcRoot = t.TempDir()
	opts.HostRoot = root
	tb, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// evb builds synthetic events the way the probe emits them.
type evb struct{ ts int64 }

func (b *evb) ev(typ event.Type, tid, pid, res int64, args ...event.Arg) *event.Event {
	b.ts += 1000
	return &event.Event{Type: typ, TS: b.ts, TID: tid, PID: pid, Res: res, Args: args}
}

func iarg(name string, v int64) event.Arg { return event.Arg{Name: name, Kind: event.ArgInt, Int: v} }
func fdarg(name string, v int64) event.Arg {
	return event.Arg{Name: name, Kind: event.ArgFD, Int: v}
}
func uarg(name string, v uint64) event.Arg {
	return event.Arg{Name: name, Kind: event.ArgUint, Uint: v}
}
func farg(name string, v uint64) event.Arg {
	return event.Arg{Name: name, Kind: event.ArgFlags, Uint: v}
}
func sarg(name, v string) event.Arg { return event.Arg{Name: name, Kind: event.ArgString, Str: v} }
func barg(name string, v string) event.Arg {
	return event.Arg{Name: name, Kind: event.ArgBytes, Bytes: []byte(v)}
}
func targ(name string, tu event.Tuple) event.Arg {
	return event.Arg{Name: name, Kind: event.ArgTuple, Tuple: tu}
}

func fork(b *evb, child, parent int64) *event.Event {
	return b.ev(event.TypeClone, child, child, 0, iarg("ptid", parent), farg("flags", 0x11))
}

func execEv(b *evb, tid int64, exe, args, cwd string, uid uint64) *event.Event {
	return b.ev(event.TypeExecve, tid, tid, 0, sarg("exe", exe), barg("args", args),
		sarg("cwd", cwd), sarg("comm", filepath.Base(exe)), uarg("uid", uid), uarg("gid", uid),
		uarg("loginuid", 1000), sarg("trusted_exepath", exe), barg("env", "PATH=/bin\x00HOME=/root\x00"))
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
