// Package fields is the rule engine's field table: every Falco field the
// engine knows (evt.*, proc.*, thread.*, user.*, group.*, fd.*, container.*,
// k8s.*), its type, and how to extract its value(s) from an event and the
// state attached to it, and how Falco renders a value in an output.
//
// It knows nothing of conditions or operators: the rules package compiles
// literals against a field's Kind and compares Values.
package fields

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// Kind is a field's value type, following Falco's field types.
type Kind uint8

// Field kinds.
const (
	KindString  Kind = iota // CHARBUF, FSPATH, ... (also evt.arg.* by name)
	KindInt                 // INT8..INT64, PID, ERRNO, FD
	KindUint                // UINT8..UINT64
	KindBool                // BOOL
	KindIPAddr              // IPADDR
	KindIPNet               // IPNET: compared by CIDR containment
	KindPort                // PORT (uint16)
	KindRelTime             // RELTIME (ns)
	KindAbsTime             // ABSTIME (ns since the epoch)
	KindBytes               // BYTEBUF
)

// Value is one extracted value. Only the member matching Kind is set:
// Str for strings, Int for signed/RelTime/AbsTime, Uint for unsigned/Port,
// Bool, Addr for IPADDR/IPNET (an address; the literal side holds the
// prefix), Bytes for BYTEBUF.
type Value struct {
	Kind  Kind
	Str   string
	Int   int64
	Uint  uint64
	Bool  bool
	Addr  netip.Addr
	Bytes []byte
}

// Field is a resolved field reference such as proc.aname[2] or evt.arg.flags.
type Field struct {
	Name  string // canonical name without argument, e.g. "proc.aname"
	Arg   string // the [argument] as written, or the evt.arg.<name> suffix; "" if none
	Kind  Kind
	Multi bool // can yield several values (proc.aname without index, proc.args for intersects ...)

	// extract appends the field's values for ev to dst and returns it. An
	// empty result means the field cannot be extracted for this event.
	extract extractFn
	table   *Table
	fmtv    func(t *Table, v Value) string
}

// extractFn appends a field's values for ev to dst.
type extractFn func(ev *event.Event, dst []Value) []Value

// Extract appends the field's values for ev to dst (reusing its capacity,
// so the caller can avoid allocations) and returns the result. An empty
// result means the value is unavailable: every comparison on it is false.
func (f *Field) Extract(ev *event.Event, dst []Value) []Value {
	return f.extract(ev, dst)
}

// ErrUnknownField is wrapped by Resolve's error for a field name the table
// does not know.
var ErrUnknownField = errors.New("unknown field")

// ErrFieldArgument is wrapped by Resolve's error for a known field given an
// argument it does not accept (proc.aname[x], proc.name[1], evt.arg without
// a name).
var ErrFieldArgument = errors.New("bad field argument")

// Info describes one field of the table, for documentation and
// `rules list`.
type Info struct {
	Name string // e.g. "proc.aname"
	Arg  string // how the field takes an argument: "", "[N]", "[N] optional", "<name>" ...
	Kind Kind
	Desc string
}

// String returns the Falco type name of the kind (CHARBUF, INT64 ...).
func (k Kind) String() string {
	switch k {
	case KindString:
		return "CHARBUF"
	case KindInt:
		return "INT64"
	case KindUint:
		return "UINT64"
	case KindBool:
		return "BOOL"
	case KindIPAddr:
		return "IPADDR"
	case KindIPNet:
		return "IPNET"
	case KindPort:
		return "PORT"
	case KindRelTime:
		return "RELTIME"
	case KindAbsTime:
		return "ABSTIME"
	case KindBytes:
		return "BYTEBUF"
	}
	return "UNKNOWN"
}

// Table is the set of fields the engine knows. It is immutable after
// NewTable and safe for concurrent use.
type Table struct {
	defs  map[string]*def
	names []string // sorted
	// Loc is the time zone %evt.time renders in (Falco uses local time).
	Loc *time.Location
}

// NewTable returns the table of every supported field.
func NewTable() *Table {
	t := &Table{defs: make(map[string]*def), Loc: time.Local}
	t.addEvt()
	t.addProc()
	t.addUser()
	t.addFD()
	t.addContainer()
	t.addExtra()
	for n := range t.defs {
		t.names = append(t.names, n)
	}
	sort.Strings(t.names)
	return t
}

// Fields lists the table's fields sorted by name.
func (t *Table) Fields() []Info {
	out := make([]Info, 0, len(t.names))
	for _, n := range t.names {
		d := t.defs[n]
		out = append(out, Info{Name: d.name, Arg: d.argDoc, Kind: d.kind, Desc: d.desc})
	}
	return out
}

// Resolve returns the field called name with the [argument] arg ("" when
// none). name may carry a dotted argument, as in "evt.arg.flags" or
// "k8s.pod.label.app"; "evt.arg" with arg "flags" is the same field.
func (t *Table) Resolve(name, arg string) (*Field, error) {
	d, ok := t.defs[name]
	if !ok {
		// Dotted argument: longest known prefix that takes one.
		for i := strings.LastIndexByte(name, '.'); i > 0; i = strings.LastIndexByte(name[:i], '.') {
			if p, ok := t.defs[name[:i]]; ok && p.dotted {
				if arg != "" {
					return nil, fmt.Errorf("field %q: %w: both a dotted and a [%s] argument", name, ErrFieldArgument, arg)
				}
				d, arg = p, name[i+1:]
				break
			}
		}
		if d == nil {
			return nil, fmt.Errorf("%w %q", ErrUnknownField, name)
		}
	}
	f := &Field{Name: d.name, Arg: arg, Kind: d.kind, table: t, fmtv: d.fmtv}
	switch {
	case d.build != nil:
		ex, multi, err := d.build(arg)
		if err != nil {
			return nil, fmt.Errorf("field %s[%s]: %w: %v", d.name, arg, ErrFieldArgument, err)
		}
		f.extract, f.Multi = ex, multi
	case arg != "":
		return nil, fmt.Errorf("field %s: %w: it takes no argument, got [%s]", d.name, ErrFieldArgument, arg)
	default:
		f.extract, f.Multi = d.ex, d.multi
	}
	return f, nil
}

// Render formats vals as Falco renders the field in an output: "<NA>" when
// unavailable, numbers in decimal, IPs as text, bools as true/false, several
// values as "(a,b)".
func (f *Field) Render(vals []Value) string {
	switch len(vals) {
	case 0:
		return "<NA>"
	case 1:
		return f.format(vals[0])
	}
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f.format(v))
	}
	b.WriteByte(')')
	return b.String()
}

// JSON returns the field's value for an alert's output_fields: int64 or
// uint64 for numbers, PORT and times, bool, string for the rest, nil when
// unavailable, and a []any for a multi-valued field.
func (f *Field) JSON(vals []Value) any {
	if len(vals) == 0 {
		return nil
	}
	if !f.Multi {
		return jsonValue(vals[0])
	}
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = jsonValue(v)
	}
	return out
}

func (f *Field) format(v Value) string {
	if f.fmtv != nil {
		return f.fmtv(f.table, v)
	}
	return formatValue(v)
}
