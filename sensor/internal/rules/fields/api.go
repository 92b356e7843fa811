// Package fields is the rule engine's field table: every Falco field the
// engine knows (evt.*, proc.*, thread.*, user.*, group.*, fd.*, container.*,
// k8s.*), its type, and how to extract its value(s) from an event and the
// state attached to it, and how Falco renders a value in an output.
//
// It knows nothing of conditions or operators: the rules package compiles
// literals against a field's Kind and compares Values.
package fields

import (
	"net/netip"

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
	extract func(ev *event.Event, dst []Value) []Value
}

// Extract appends the field's values for ev to dst (reusing its capacity,
// so the caller can avoid allocations) and returns the result. An empty
// result means the value is unavailable: every comparison on it is false.
func (f *Field) Extract(ev *event.Event, dst []Value) []Value {
	return f.extract(ev, dst)
}
