package fields

import (
	"strconv"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// def is one entry of the table.
type def struct {
	name   string
	kind   Kind
	desc   string
	argDoc string
	multi  bool
	dotted bool // takes its argument after a dot (evt.arg.flags)
	ex     extractFn
	// build makes the extractor for an argument ("" when none was given);
	// set for fields that accept one.
	build func(arg string) (ex extractFn, multi bool, err error)
	fmtv  func(t *Table, v Value) string
}

func (t *Table) add(d *def) {
	if _, dup := t.defs[d.name]; dup {
		panic("fields: duplicate field " + d.name)
	}
	t.defs[d.name] = d
}

// str, num ... declare the common simple fields.
func (t *Table) str(name, desc string, ex extractFn) {
	t.add(&def{name: name, kind: KindString, desc: desc, ex: ex})
}

func (t *Table) typed(name string, k Kind, desc string, ex extractFn) {
	t.add(&def{name: name, kind: k, desc: desc, ex: ex})
}

// Value constructors.
func sv(s string) Value     { return Value{Kind: KindString, Str: s} }
func iv(i int64) Value      { return Value{Kind: KindInt, Int: i} }
func uv(u uint64) Value     { return Value{Kind: KindUint, Uint: u} }
func bv(b bool) Value       { return Value{Kind: KindBool, Bool: b} }
func pv(p uint16) Value     { return Value{Kind: KindPort, Uint: uint64(p)} }
func atv(ns int64) Value    { return Value{Kind: KindAbsTime, Int: ns} }
func rtv(ns int64) Value    { return Value{Kind: KindRelTime, Int: ns} }
func bytesv(b []byte) Value { return Value{Kind: KindBytes, Bytes: b} }
func nonEmpty(dst []Value, s string) []Value {
	if s == "" {
		return dst
	}
	return append(dst, sv(s))
}

// procField lifts an extractor over the event's process.
func procField(fn func(p *event.Process, dst []Value) []Value) extractFn {
	return func(ev *event.Event, dst []Value) []Value {
		if ev.Proc == nil {
			return dst
		}
		return fn(ev.Proc, dst)
	}
}

// fdField lifts an extractor over the event's fd.
func fdField(fn func(f *event.FD, dst []Value) []Value) extractFn {
	return func(ev *event.Event, dst []Value) []Value {
		if ev.FD == nil {
			return dst
		}
		return fn(ev.FD, dst)
	}
}

func formatValue(v Value) string {
	switch v.Kind {
	case KindString:
		return v.Str
	case KindInt, KindRelTime, KindAbsTime:
		return strconv.FormatInt(v.Int, 10)
	case KindUint, KindPort:
		return strconv.FormatUint(v.Uint, 10)
	case KindBool:
		if v.Bool {
			return "true"
		}
		return "false"
	case KindIPAddr, KindIPNet:
		if !v.Addr.IsValid() {
			return "<NA>"
		}
		return v.Addr.String()
	case KindBytes:
		return printable(v.Bytes)
	}
	return "<NA>"
}

// printable renders a byte buffer as Falco does: printable ASCII as is,
// everything else as '.'.
func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 0x20 && c < 0x7f {
			out[i] = c
		} else {
			out[i] = '.'
		}
	}
	return string(out)
}

func jsonValue(v Value) any {
	switch v.Kind {
	case KindInt, KindRelTime, KindAbsTime:
		return v.Int
	case KindUint, KindPort:
		return v.Uint
	case KindBool:
		return v.Bool
	}
	return formatValue(v)
}

// parseIndex parses a [N] ancestor index.
func parseIndex(arg string) (int, error) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 0 || n > maxAncestors {
		return 0, errIndex(arg)
	}
	return n, nil
}

type errIndex string

func (e errIndex) Error() string {
	return "expected an ancestor index between 0 and " + strconv.Itoa(maxAncestors) + ", got " + strconv.Quote(string(e))
}
