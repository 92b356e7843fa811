package state

import (
	"testing"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// mix generates a realistic event stream the way the probe hands events to
// Apply: one reused Event whose Args are refilled from prebuilt values (the
// probe's own string allocations are not counted here).
//
// One cycle is 128 events: a long-lived daemon (pid 1000) opens and closes
// files; a shell forks a short-lived child that execs, opens files relative
// to its cwd and absolute ones, fails some opens, dups, makes two TCP
// connections and exits. Exited children expire after the grace period, so
// the process table stays at its steady-state size.
type mix struct {
	ev    event.Event
	ts    int64
	cycle int64
	pos   int
	child int64
}

const (
	mixDaemon = 1000
	mixShell  = 1001
	mixCycle  = 128
)

func newMix(tb *Tables) *mix {
	m := &mix{ts: 1e15}
	// Seed the daemon and the shell as a /proc scan would.
	b := &evb{ts: m.ts}
	tb.Apply(execEv(b, mixDaemon, "/usr/sbin/nginx", "-g\x00daemon off;", "/var/www", 33))
	tb.Apply(execEv(b, mixShell, "/bin/bash", "", "/root", 0))
	m.ts = b.ts
	return m
}

var (
	mixExecArgs = []byte("-n\x00/etc/hosts\x00")
	mixExecEnv  = []byte("PATH=/usr/bin:/bin\x00HOME=/root\x00LANG=C.UTF-8\x00TERM=xterm\x00")
	mixRelNames = [...]string{"conf/app.yaml", "../lib/x.so", "data/./cache/1", "index.html"}
	mixAbsNames = [...]string{"/etc/hosts", "/etc/ld.so.cache", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/proc/self/status", "/etc/../etc/passwd"}
)

func (m *mix) set(typ event.Type, tid, res int64) {
	m.ts += 10_000 // 100k events/s of event time
	args := m.ev.Args[:0]
	m.ev = event.Event{Type: typ, TS: m.ts, TID: tid, PID: tid, Res: res, Args: args}
}

func (m *mix) add(a event.Arg) { m.ev.Args = append(m.ev.Args, a) }

// next fills and returns the next event of the stream.
func (m *mix) next() *event.Event {
	pos := m.pos
	m.pos++
	if m.pos == mixCycle {
		m.pos = 0
		m.cycle++
	}
	child := 100_000 + m.cycle%50_000
	switch {
	case pos == 0: // fork of the shell
		m.set(event.TypeClone, child, 0)
		m.add(event.Arg{Name: "ptid", Kind: event.ArgInt, Int: mixShell})
		m.add(event.Arg{Name: "comm", Kind: event.ArgString, Str: "bash"})
		m.add(event.Arg{Name: "flags", Kind: event.ArgUint})
	case pos == 1: // exec, as the probe's exec hook reports it
		m.set(event.TypeExecve, child, 0)
		m.add(event.Arg{Name: "exe", Kind: event.ArgString, Str: "cat"})
		m.add(event.Arg{Name: "args", Kind: event.ArgBytes, Bytes: mixExecArgs})
		m.add(event.Arg{Name: "comm", Kind: event.ArgString, Str: "cat"})
		m.add(event.Arg{Name: "env", Kind: event.ArgBytes, Bytes: mixExecEnv})
		m.add(event.Arg{Name: "loginuid", Kind: event.ArgUint, Uint: 1000})
		m.add(event.Arg{Name: "flags", Kind: event.ArgFlags})
		m.add(event.Arg{Name: "cap_effective", Kind: event.ArgUint, Uint: 0x1ffffffffff})
		m.add(event.Arg{Name: "uid", Kind: event.ArgUint})
		m.add(event.Arg{Name: "gid", Kind: event.ArgUint})
		m.add(event.Arg{Name: "filename", Kind: event.ArgString, Str: "/usr/bin/cat"})
	case pos == mixCycle-1:
		m.set(event.TypeProcexit, child, 0)
		m.add(event.Arg{Name: "status", Kind: event.ArgInt})
	case pos >= 2 && pos < 62: // the child: 30 open+close pairs
		fd := int64(3 + (pos-2)/2%4)
		if pos%2 == 0 {
			name := mixRelNames[pos%len(mixRelNames)]
			if pos%3 == 0 {
				name = mixAbsNames[pos%len(mixAbsNames)]
			}
			m.set(event.TypeOpenat, child, fd)
			m.add(event.Arg{Name: "fd", Kind: event.ArgFD, Int: fd})
			m.add(event.Arg{Name: "dirfd", Kind: event.ArgFD, Int: atFDCWD})
			m.add(event.Arg{Name: "name", Kind: event.ArgString, Str: name})
			m.add(event.Arg{Name: "flags", Kind: event.ArgFlags, Uint: oCloexec})
			m.add(event.Arg{Name: "mode", Kind: event.ArgUint})
		} else {
			m.set(event.TypeClose, child, 0)
			m.add(event.Arg{Name: "res", Kind: event.ArgErrno})
			m.add(event.Arg{Name: "fd", Kind: event.ArgFD, Int: fd})
		}
	case pos >= 62 && pos < 67: // failed opens
		m.set(event.TypeOpenat, child, -2)
		m.add(event.Arg{Name: "fd", Kind: event.ArgFD, Int: -2})
		m.add(event.Arg{Name: "dirfd", Kind: event.ArgFD, Int: atFDCWD})
		m.add(event.Arg{Name: "name", Kind: event.ArgString, Str: mixRelNames[pos%len(mixRelNames)]})
		m.add(event.Arg{Name: "flags", Kind: event.ArgFlags})
		m.add(event.Arg{Name: "mode", Kind: event.ArgUint})
	case pos >= 67 && pos < 73: // socket, connect, close twice
		switch (pos - 67) % 3 {
		case 0:
			m.set(event.TypeSocket, child, 5)
			m.add(event.Arg{Name: "domain", Kind: event.ArgFlags, Uint: afInet})
			m.add(event.Arg{Name: "type", Kind: event.ArgUint, Uint: sockStream})
			m.add(event.Arg{Name: "proto", Kind: event.ArgUint})
		case 1:
			m.set(event.TypeConnect, child, 0)
			m.add(event.Arg{Name: "res", Kind: event.ArgErrno})
			m.add(event.Arg{Name: "tuple", Kind: event.ArgTuple, Tuple: event.Tuple{Family: event.FamilyInet,
				Src: ap("10.0.0.1:40000"), Dst: ap("10.0.0.2:443"), L4Proto: event.L4TCP}})
			m.add(event.Arg{Name: "fd", Kind: event.ArgFD, Int: 5})
		case 2:
			m.set(event.TypeClose, child, 0)
			m.add(event.Arg{Name: "res", Kind: event.ArgErrno})
			m.add(event.Arg{Name: "fd", Kind: event.ArgFD, Int: 5})
		}
	case pos >= 73 && pos < 75: // dup2 onto stdout and back
		m.set(event.TypeDup2, child, 1)
		m.add(event.Arg{Name: "res", Kind: event.ArgFD, Int: 1})
		m.add(event.Arg{Name: "oldfd", Kind: event.ArgFD, Int: 0})
		m.add(event.Arg{Name: "newfd", Kind: event.ArgFD, Int: 1})
	default: // the daemon: open+close pairs with absolute names
		fd := int64(10 + pos%8)
		if pos%2 == 1 {
			m.set(event.TypeOpenat, mixDaemon, fd)
			m.add(event.Arg{Name: "fd", Kind: event.ArgFD, Int: fd})
			m.add(event.Arg{Name: "dirfd", Kind: event.ArgFD, Int: atFDCWD})
			m.add(event.Arg{Name: "name", Kind: event.ArgString, Str: mixAbsNames[pos%len(mixAbsNames)]})
			m.add(event.Arg{Name: "flags", Kind: event.ArgFlags, Uint: oCloexec})
			m.add(event.Arg{Name: "mode", Kind: event.ArgUint})
		} else {
			m.set(event.TypeClose, mixDaemon, 0)
			m.add(event.Arg{Name: "res", Kind: event.ArgErrno})
			m.add(event.Arg{Name: "fd", Kind: event.ArgFD, Int: fd - 1})
		}
	}
	return &m.ev
}

// BenchmarkApplyMix measures Apply on the realistic mix: ns/op and
// allocs/op are per event.
func BenchmarkApplyMix(b *testing.B) {
	tb := newTestTables(b, Options{})
	m := newMix(tb)
	for range 4 * mixCycle { // reach steady state
		tb.Apply(m.next())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		tb.Apply(m.next())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkApplyOpenClose measures the hottest path alone: a known process
// opening a relative name and closing it.
func BenchmarkApplyOpenClose(b *testing.B) {
	tb := newTestTables(b, Options{})
	m := newMix(tb)
	open := &event.Event{Type: event.TypeOpenat, TID: mixDaemon, PID: mixDaemon, Res: 7, Args: []event.Arg{
		{Name: "fd", Kind: event.ArgFD, Int: 7}, {Name: "dirfd", Kind: event.ArgFD, Int: atFDCWD},
		{Name: "name", Kind: event.ArgString, Str: "conf/app.yaml"}, {Name: "flags", Kind: event.ArgFlags}}}
	cl := &event.Event{Type: event.TypeClose, TID: mixDaemon, PID: mixDaemon, Args: []event.Arg{
		{Name: "res", Kind: event.ArgErrno}, {Name: "fd", Kind: event.ArgFD, Int: 7}}}
	ts := m.ts
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ts += 10_000
		open.TS, cl.TS = ts, ts+5000
		tb.Apply(open)
		tb.Apply(cl)
	}
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestApplyAllocs pins the hot path's allocations: a known process opening
// (relative or absolute, successfully or not) and closing files allocates
// nothing once its names are interned; a whole mix cycle (fork, exec, exit,
// connect and 120 file events) stays within a small budget.
func TestApplyAllocs(t *testing.T) {
	tb := newTestTables(t, Options{})
	m := newMix(tb)
	for range 4 * mixCycle {
		tb.Apply(m.next())
	}
	mk := func(res int64, name string) *event.Event {
		return &event.Event{Type: event.TypeOpenat, TID: mixDaemon, PID: mixDaemon, Res: res, Args: []event.Arg{
			{Name: "fd", Kind: event.ArgFD, Int: res}, {Name: "dirfd", Kind: event.ArgFD, Int: atFDCWD},
			{Name: "name", Kind: event.ArgString, Str: name}, {Name: "flags", Kind: event.ArgFlags}}}
	}
	cl := &event.Event{Type: event.TypeClose, TID: mixDaemon, PID: mixDaemon, Args: []event.Arg{
		{Name: "res", Kind: event.ArgErrno}, {Name: "fd", Kind: event.ArgFD, Int: 7}}}
	for _, tc := range []struct {
		name string
		ev   *event.Event
	}{
		{"relative open", mk(7, "conf/../conf/app.yaml")},
		{"absolute clean open", mk(7, "/etc/hosts")},
		{"absolute unclean open", mk(7, "/etc/./hosts")},
		{"failed open", mk(-2, "missing")},
	} {
		n := testing.AllocsPerRun(100, func() {
			tb.Apply(tc.ev)
			tb.Apply(cl)
		})
		if n != 0 {
			t.Errorf("%s + close: %v allocs, want 0", tc.name, n)
		}
	}
	perCycle := testing.AllocsPerRun(50, func() {
		for range mixCycle {
			tb.Apply(m.next())
		}
	})
	t.Logf("mix: %.0f allocs per %d-event cycle (%.3f per event)", perCycle, mixCycle, perCycle/mixCycle)
	if perCycle > 40 {
		t.Errorf("mix: %v allocs per cycle, budget 40", perCycle)
	}
}

// FuzzApply drives Apply with arbitrary event sequences built from the
// input: types, ids, results and arguments in the probe's shapes. Apply must
// not panic, the counters must match the table, and ancestor chains must end.
func FuzzApply(f *testing.F) {
	f.Add([]byte{1, 2, 0, 0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add([]byte("\x38\x01\x02\x00\x01\x3f\x02\x01\x00\x00\x05\x02\x02\x03\x04"))
	types := []event.Type{event.TypeClone, event.TypeExecve, event.TypeProcexit, event.TypeOpenat, event.TypeOpen,
		event.TypeClose, event.TypeDup2, event.TypeChdir, event.TypeFchdir, event.TypeSocket, event.TypeConnect,
		event.TypeAccept4, event.TypeBind, event.TypeListen, event.TypeSetuid, event.TypeFcntl, event.TypePipe2,
		event.TypeMemfdCreate}
	names := []string{"a", "../b", "/etc/../c", "", ".", "/", "x/./y/../z"}
	base := newTestTables(f, Options{}).opts // a host root and an empty procfs, made once
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := New(Options{ProcRoot: base.ProcRoot, HostRoot: base.HostRoot, MaxProcesses: 16, MaxFDsPerProcess: 8, ExitGrace: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var ts int64
		for len(data) >= 5 {
			op, tid, pid, res, arg := data[0], int64(data[1]%12), int64(data[2]%12), int64(int8(data[3])), data[4]
			data = data[5:]
			if pid == 0 {
				pid = tid
			}
			ts += int64(arg) * 100
			ev := &event.Event{Type: types[int(op)%len(types)], TS: ts, TID: tid, PID: pid, Res: res}
			n := int64(arg % 10)
			name := names[int(arg)%len(names)]
			ev.Args = []event.Arg{
				{Name: "fd", Kind: event.ArgFD, Int: n}, {Name: "oldfd", Kind: event.ArgFD, Int: n / 2},
				{Name: "dirfd", Kind: event.ArgFD, Int: []int64{atFDCWD, n}[arg%2]},
				{Name: "name", Kind: event.ArgString, Str: name}, {Name: "path", Kind: event.ArgString, Str: name},
				{Name: "ptid", Kind: event.ArgInt, Int: int64(arg % 12)},
				{Name: "flags", Kind: event.ArgFlags, Uint: uint64(arg&1) * cloneThread},
				{Name: "vpid", Kind: event.ArgInt, Int: int64(arg % 3)},
				{Name: "reaper_tid", Kind: event.ArgInt, Int: int64(arg % 5)},
				{Name: "domain", Kind: event.ArgFlags, Uint: uint64(arg % 11)},
				{Name: "tuple", Kind: event.ArgTuple, Tuple: event.Tuple{Family: event.Family(arg % 4), Path: name}},
				{Name: "fd1", Kind: event.ArgFD, Int: n}, {Name: "fd2", Kind: event.ArgFD, Int: n + 1},
				{Name: "exe", Kind: event.ArgString, Str: name}, {Name: "args", Kind: event.ArgBytes, Bytes: []byte(name)},
				{Name: "uid", Kind: event.ArgUint, Uint: uint64(arg)}, {Name: "cmd", Kind: event.ArgInt, Int: int64(arg % 2)},
			}
			tb.Apply(ev)
		}
		s := tb.Stats()
		if s.Threads != len(tb.threads) || s.Exited < 0 {
			t.Fatalf("stats %+v with %d threads", s, len(tb.threads))
		}
		exited := 0
		for _, th := range tb.threads {
			if th.exited {
				exited++
			}
			n := 0
			for a := th.p.Parent; a != nil; a = a.Parent {
				if n++; n > 1000 {
					t.Fatal("ancestor chain does not end")
				}
			}
		}
		if exited != s.Exited {
			t.Fatalf("Stats.Exited %d, table has %d exited", s.Exited, exited)
		}
	})
}
