package fields

import (
	"strings"
	"time"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// addExtra declares Falco fields that are simple derivations of what the
// other fields already read (found missing by the audit against Falco's
// libs; see docs/rules-fields.md).
func (t *Table) addExtra() {
	ts := func(ev *event.Event, dst []Value) []Value { return append(dst, atv(ev.TS)) }
	t.add(&def{name: "evt.datetime.s", kind: KindAbsTime, ex: ts,
		desc: "event time as local YYYY-MM-DD HH:MM:SS (as evt.datetime)",
		fmtv: func(t *Table, v Value) string { return time.Unix(0, v.Int).In(t.Loc).Format("2006-01-02 15:04:05") }})
	t.typed("evt.rawtime.s", KindAbsTime, "seconds part of the event time (since the epoch)", func(ev *event.Event, dst []Value) []Value {
		return append(dst, atv(ev.TS/int64(time.Second)))
	})
	t.typed("evt.rawtime.ns", KindAbsTime, "nanoseconds part of the event time", func(ev *event.Event, dst []Value) []Value {
		return append(dst, atv(ev.TS%int64(time.Second)))
	})
	t.procInt("proc.cmdnargs", "number of arguments (without argv[0])", func(p *event.Process) int64 { return int64(len(p.Args)) })
	t.procInt("proc.cmdlenargs", "total length of the arguments, without the spaces between them (as Falco)", func(p *event.Process) int64 {
		n := 0
		for _, a := range p.Args {
			n += len(a)
		}
		return int64(n)
	})
	t.str("proc.exeline", "proc.exe and the arguments, space-separated", procField(func(p *event.Process, dst []Value) []Value {
		return nonEmpty(dst, strings.TrimSuffix(p.Exe+" "+strings.Join(p.Args, " "), " "))
	}))
	t.typed("proc.pvpid", KindInt, "parent's process id in its pid namespace", procField(func(p *event.Process, dst []Value) []Value {
		if p.Parent == nil {
			return dst
		}
		return append(dst, iv(p.Parent.VPID))
	}))
	t.typed("thread.ismain", KindBool, "the thread is its process's main thread (tid = pid)", procField(func(p *event.Process, dst []Value) []Value {
		return append(dst, bv(p.TID == p.PID))
	}))
	leader := func(name, desc string, id func(p *event.Process) int64, get func(a *event.Process) string) {
		t.str(name, desc, procField(func(p *event.Process, dst []Value) []Value {
			want := id(p)
			for a, i := p, 0; a != nil && i <= maxAncestors; a, i = a.Parent, i+1 {
				if a.PID == want {
					return nonEmpty(dst, get(a))
				}
			}
			return dst
		}))
	}
	sid := func(p *event.Process) int64 { return p.SID }
	pgid := func(p *event.Process) int64 { return p.PGID }
	leader("proc.sid.exe", "proc.exe of the session leader", sid, func(a *event.Process) string { return a.Exe })
	leader("proc.sid.exepath", "proc.exepath of the session leader", sid, func(a *event.Process) string { return a.ExePath })
	leader("proc.pgid.name", "proc.name of the process group leader", pgid, func(a *event.Process) string { return a.Name })
	leader("proc.pgid.exe", "proc.exe of the process group leader", pgid, func(a *event.Process) string { return a.Exe })
	leader("proc.pgid.exepath", "proc.exepath of the process group leader", pgid, func(a *event.Process) string { return a.ExePath })
}
