package fields

import (
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

func (t *Table) addEvt() {
	t.typed("evt.num", KindUint, "event number, starting at 1", func(ev *event.Event, dst []Value) []Value {
		return append(dst, uv(ev.Num))
	})
	t.str("evt.type", "event type: the syscall name (openat, execve ...)", func(ev *event.Event, dst []Value) []Value {
		return append(dst, sv(ev.Type.String()))
	})
	t.str("evt.source", "event source: always syscall", func(_ *event.Event, dst []Value) []Value {
		return append(dst, sv("syscall"))
	})
	ts := func(ev *event.Event, dst []Value) []Value { return append(dst, atv(ev.TS)) }
	t.add(&def{name: "evt.time", kind: KindAbsTime, ex: ts,
		desc: "event time; rendered as local HH:MM:SS.nnnnnnnnn, a number (ns) in output_fields",
		fmtv: func(t *Table, v Value) string {
			return time.Unix(0, v.Int).In(t.Loc).Format("15:04:05.000000000")
		}})
	t.add(&def{name: "evt.time.s", kind: KindAbsTime, ex: ts,
		desc: "event time as local HH:MM:SS",
		fmtv: func(t *Table, v Value) string { return time.Unix(0, v.Int).In(t.Loc).Format("15:04:05") }})
	t.add(&def{name: "evt.time.iso8601", kind: KindAbsTime, ex: ts,
		desc: "event time as ISO 8601 in UTC with nanoseconds (2016-08-04T16:17:57.881781397+0000)",
		fmtv: func(_ *Table, v Value) string {
			return time.Unix(0, v.Int).UTC().Format("2006-01-02T15:04:05.000000000-0700")
		}})
	t.add(&def{name: "evt.datetime", kind: KindAbsTime, ex: ts,
		desc: "event time as local YYYY-MM-DD HH:MM:SS",
		fmtv: func(t *Table, v Value) string { return time.Unix(0, v.Int).In(t.Loc).Format("2006-01-02 15:04:05") }})
	t.typed("evt.rawtime", KindAbsTime, "event time in ns since the epoch", ts)
	t.typed("evt.cpu", KindInt, "CPU the event happened on", func(ev *event.Event, dst []Value) []Value {
		return append(dst, iv(int64(ev.CPU)))
	})
	t.str("evt.dir", "event direction: always < (exit), as Falco 0.42 without enter events", func(_ *event.Event, dst []Value) []Value {
		return append(dst, sv("<"))
	})
	t.str("evt.res", "SUCCESS, or the errno name (ENOENT ...) when the syscall failed", func(ev *event.Event, dst []Value) []Value {
		if ev.Type == event.TypeProcexit {
			return dst
		}
		if ev.Res >= 0 {
			return append(dst, sv("SUCCESS"))
		}
		return append(dst, sv(ErrnoName(-ev.Res)))
	})
	t.typed("evt.rawres", KindInt, "return value as a number (negative errno on failure)", func(ev *event.Event, dst []Value) []Value {
		if ev.Type == event.TypeProcexit {
			return dst
		}
		return append(dst, iv(ev.Res))
	})
	t.typed("evt.failed", KindBool, "true if the syscall returned an error", func(ev *event.Event, dst []Value) []Value {
		if ev.Type == event.TypeProcexit {
			return dst
		}
		return append(dst, bv(ev.Res < 0))
	})
	t.typed("evt.is_open_read", KindBool, "for open events: opened for reading (O_RDONLY or O_RDWR)", openCheck(func(fl, _ uint64) bool {
		a := fl & unix.O_ACCMODE
		return a == unix.O_RDONLY || a == unix.O_RDWR
	}))
	t.typed("evt.is_open_write", KindBool, "for open events: opened for writing (O_WRONLY or O_RDWR)", openCheck(func(fl, _ uint64) bool {
		a := fl & unix.O_ACCMODE
		return a == unix.O_WRONLY || a == unix.O_RDWR
	}))
	t.typed("evt.is_open_exec", KindBool, "for open events: a file created (O_CREAT) with an execute bit in its mode", openCheck(func(fl, mode uint64) bool {
		return fl&unix.O_CREAT != 0 && mode&0o111 != 0
	}))
	t.typed("evt.is_open_create", KindBool, "for open events: O_CREAT was given", openCheck(func(fl, _ uint64) bool {
		return fl&unix.O_CREAT != 0
	}))
	t.add(&def{name: "evt.buffer", kind: KindBytes, desc: "the data buffer of read/write/send/recv events",
		ex: func(ev *event.Event, dst []Value) []Value {
			if a := ev.Arg("data"); a != nil && a.Kind == event.ArgBytes {
				return append(dst, bytesv(a.Bytes))
			}
			return dst
		}})
	t.str("evt.args", "all arguments rendered as name=value, space-separated", func(ev *event.Event, dst []Value) []Value {
		var b strings.Builder
		for i := range ev.Args {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(ev.Args[i].Name)
			b.WriteByte('=')
			b.WriteString(RenderArg(ev, &ev.Args[i]))
		}
		return append(dst, sv(b.String()))
	})
	t.add(&def{name: "evt.arg", kind: KindString, dotted: true, argDoc: "<name> or [N]",
		desc: "one argument of the event by Falco name (evt.arg.flags) or index (evt.arg[0]), rendered as Falco does (flags as O_RDONLY|O_CLOEXEC)",
		build: func(arg string) (extractFn, bool, error) {
			if arg == "" {
				return nil, false, errArg("expected an argument name (evt.arg.flags) or index (evt.arg[0])")
			}
			if n, err := strconv.Atoi(arg); err == nil {
				if n < 0 {
					return nil, false, errArg("negative argument index " + arg)
				}
				return func(ev *event.Event, dst []Value) []Value {
					if n >= len(ev.Args) {
						return dst
					}
					return append(dst, sv(RenderArg(ev, &ev.Args[n])))
				}, false, nil
			}
			return func(ev *event.Event, dst []Value) []Value {
				a := ev.Arg(arg)
				if a == nil {
					return dst
				}
				return append(dst, sv(RenderArg(ev, a)))
			}, false, nil
		}})
}

type errArg string

func (e errArg) Error() string { return string(e) }

func isOpen(t event.Type) bool {
	return t == event.TypeOpen || t == event.TypeOpenat || t == event.TypeOpenat2 || t == event.TypeCreat
}

// openCheck builds an evt.is_open_* extractor: unavailable for non-open
// events, otherwise check(flags, mode) with the kernel's O_* flags.
func openCheck(check func(flags, mode uint64) bool) extractFn {
	return func(ev *event.Event, dst []Value) []Value {
		if !isOpen(ev.Type) {
			return dst
		}
		var fl, mode uint64
		switch {
		case ev.Type == event.TypeCreat:
			fl = unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC
		default:
			if a := ev.Arg("flags"); a != nil {
				fl = a.Uint
			} else if ev.FD != nil {
				fl = uint64(ev.FD.OpenFlags)
			} else {
				return dst
			}
		}
		if a := ev.Arg("mode"); a != nil {
			mode = a.Uint
		}
		return append(dst, bv(check(fl, mode)))
	}
}

const atFDCWD = -100

// RenderArg renders one argument as Falco's evt.arg.<name>: numbers in
// decimal, flags by name, errors as "-2(ENOENT)", fds with their type and
// name when the event's fd is that one ("3(<f>/etc/passwd)").
func RenderArg(ev *event.Event, a *event.Arg) string {
	switch a.Kind {
	case event.ArgInt, event.ArgAbsTime:
		return strconv.FormatInt(a.Int, 10)
	case event.ArgUint:
		return strconv.FormatUint(a.Uint, 10)
	case event.ArgString:
		return a.Str
	case event.ArgBytes:
		return printable(a.Bytes)
	case event.ArgFlags:
		// libs falls back to the number when no flag name resolves
		// (exe_flags=0).
		if s := RenderFlags(a.Flags, a.Uint); s != "" {
			return s
		}
		return strconv.FormatUint(a.Uint, 10)
	case event.ArgTuple:
		return tupleString(&a.Tuple)
	case event.ArgErrno:
		if a.Int < 0 {
			return strconv.FormatInt(a.Int, 10) + "(" + ErrnoName(-a.Int) + ")"
		}
		return strconv.FormatInt(a.Int, 10)
	case event.ArgFD:
		if a.Int == atFDCWD {
			return "-100(AT_FDCWD)"
		}
		if a.Int < 0 {
			return strconv.FormatInt(a.Int, 10) + "(" + ErrnoName(-a.Int) + ")"
		}
		s := strconv.FormatInt(a.Int, 10)
		if f := ev.FD; f != nil && f.Num == a.Int && f.Name != "" {
			s += "(<" + typeChars[f.Type] + ">" + f.Name + ")"
		}
		return s
	}
	return "<NA>"
}

func tupleString(t *event.Tuple) string {
	switch t.Family {
	case event.FamilyUnix:
		return t.Path
	case event.FamilyInet, event.FamilyInet6:
		if !t.Src.IsValid() {
			return t.Dst.String()
		}
		return t.Src.String() + "->" + t.Dst.String()
	}
	return ""
}
