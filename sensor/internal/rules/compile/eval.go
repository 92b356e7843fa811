package compile

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/rules/fields"
	"github.com/lookout-sec/lookout/sensor/internal/rules/parse"
)

// Pred is a compiled condition.
type Pred func(ev *event.Event, s *Scratch) bool

// Scratch holds the per-evaluation value buffers of the predicates; reuse
// one per goroutine so evaluation does not allocate. Values of a field are
// extracted once per event and shared by every check and rule that uses
// the field: call Reset before evaluating a new event.
type Scratch struct {
	bufs [][]fields.Value
	gen  []uint64 // gen[i] == cur: bufs[i] holds this event's values
	cur  uint64
}

// NewScratch returns a scratch with n buffers (Result.Slots).
func NewScratch(n int) *Scratch {
	s := &Scratch{bufs: make([][]fields.Value, n), gen: make([]uint64, n), cur: 1}
	for i := range s.bufs {
		s.bufs[i] = make([]fields.Value, 0, 8)
	}
	return s
}

// Reset forgets the values cached for the previous event.
func (s *Scratch) Reset() { s.cur++ }

type getter func(ev *event.Event, s *Scratch) []fields.Value

type lhs struct {
	get   getter
	kind  fields.Kind
	multi bool
	anyOf bool // any-ancestor field (proc.aname ...): 'in' matches if any value is in the set
	name  string
}

// lit is a literal typed against the field kind.
type lit struct {
	v     fields.Value
	pfx   netip.Prefix
	isPfx bool
	re    *regexp.Regexp
}

func (c *compiler) node(n parse.Node) (Pred, error) {
	switch n := n.(type) {
	case *parse.And:
		ps, err := c.nodes(n.Children)
		if err != nil {
			return nil, err
		}
		return func(ev *event.Event, s *Scratch) bool {
			for _, p := range ps {
				if !p(ev, s) {
					return false
				}
			}
			return true
		}, nil
	case *parse.Or:
		ps, err := c.nodes(n.Children)
		if err != nil {
			return nil, err
		}
		return func(ev *event.Event, s *Scratch) bool {
			for _, p := range ps {
				if p(ev, s) {
					return true
				}
			}
			return false
		}, nil
	case *parse.Not:
		p, err := c.node(n.X)
		if err != nil {
			return nil, err
		}
		return func(ev *event.Event, s *Scratch) bool { return !p(ev, s) }, nil
	case *parse.Check:
		p, err := c.check(n)
		if err != nil {
			return nil, &checkError{n: n, err: err}
		}
		return p, nil
	}
	return nil, fmt.Errorf("unexpected node %T", n)
}

func (c *compiler) nodes(ns []parse.Node) ([]Pred, error) {
	ps := make([]Pred, len(ns))
	for i, ch := range ns {
		p, err := c.node(ch)
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	return ps, nil
}

// anyAncestor lists the multi-valued fields that match when any of their
// values does, for "in" too: the ancestor fields without [N] and the
// client-or-server socket fields (libs compares sip and dip in turn).
var anyAncestor = map[string]bool{"proc.aname": true, "proc.apid": true, "proc.aexe": true, "proc.aexepath": true,
	"fd.ip": true, "fd.net": true, "fd.port": true}

func (c *compiler) field(f *parse.Field) (*lhs, error) {
	if f.Transformer != "" {
		return c.transformer(f)
	}
	fld, err := c.resolve(f.Name, f.Arg)
	if err != nil {
		return nil, &unknownFieldError{fmt.Errorf("field '%s': %w", parse.String(f), err)}
	}
	slot := c.slot(parse.String(f))
	get := func(ev *event.Event, s *Scratch) []fields.Value {
		if s.gen[slot] == s.cur {
			return s.bufs[slot]
		}
		v := fld.Extract(ev, s.bufs[slot][:0])
		s.bufs[slot], s.gen[slot] = v, s.cur
		return v
	}
	return &lhs{get: get, kind: fld.Kind(), multi: fld.Multi(), anyOf: anyAncestor[f.Name] && !f.HasArg, name: parse.String(f)}, nil
}

func (c *compiler) transformer(f *parse.Field) (*lhs, error) {
	if len(f.Args) != 1 {
		return nil, fmt.Errorf("transformer %s() takes one field", f.Transformer)
	}
	af, ok := f.Args[0].(*parse.Field)
	if !ok {
		return nil, fmt.Errorf("transformer %s() takes a field argument", f.Transformer)
	}
	in, err := c.field(af)
	if err != nil {
		return nil, err
	}
	out := &lhs{kind: in.kind, multi: in.multi, name: parse.String(f)}
	var fn func(fields.Value) fields.Value
	switch f.Transformer {
	case "tolower", "toupper", "basename", "b64":
		if in.kind != fields.KindString && in.kind != fields.KindBytes {
			return nil, fmt.Errorf("transformer %s() needs a string field, '%s' is %s", f.Transformer, in.name, kindName(in.kind))
		}
		out.kind = fields.KindString
		fn = map[string]func(fields.Value) fields.Value{
			"tolower": func(v fields.Value) fields.Value {
				return fields.Value{Kind: fields.KindString, Str: strings.ToLower(str(v))}
			},
			"toupper": func(v fields.Value) fields.Value {
				return fields.Value{Kind: fields.KindString, Str: strings.ToUpper(str(v))}
			},
			"basename": func(v fields.Value) fields.Value { return fields.Value{Kind: fields.KindString, Str: basename(str(v))} },
			"b64": func(v fields.Value) fields.Value {
				d, err := base64.StdEncoding.DecodeString(str(v))
				if err != nil {
					// Not base64: the value is unavailable, as in libs.
					return fields.Value{Kind: badValue}
				}
				return fields.Value{Kind: fields.KindString, Str: string(d)}
			},
		}[f.Transformer]
	case "len":
		out.kind = fields.KindUint
		fn = func(v fields.Value) fields.Value {
			return fields.Value{Kind: fields.KindUint, Uint: uint64(len(str(v)))}
		}
		if in.multi {
			out.multi = false
			slot := c.slot(parse.String(f))
			out.get = func(ev *event.Event, s *Scratch) []fields.Value {
				if s.gen[slot] == s.cur {
					return s.bufs[slot]
				}
				n := len(in.get(ev, s))
				v := append(s.bufs[slot][:0], fields.Value{Kind: fields.KindUint, Uint: uint64(n)})
				s.bufs[slot], s.gen[slot] = v, s.cur
				return v
			}
			return out, nil
		}
	default:
		return nil, fmt.Errorf("transformer %s() is not supported", f.Transformer)
	}
	// The transformed values go to their own buffer: the input field's
	// values are shared with other checks.
	slot := c.slot(parse.String(f))
	out.get = func(ev *event.Event, s *Scratch) []fields.Value {
		if s.gen[slot] == s.cur {
			return s.bufs[slot]
		}
		out := s.bufs[slot][:0]
		for _, v := range in.get(ev, s) {
			if v := fn(v); v.Kind != badValue {
				out = append(out, v)
			}
		}
		s.bufs[slot], s.gen[slot] = out, s.cur
		return out
	}
	return out, nil
}

// badValue marks a transformer result that is unavailable.
const badValue fields.Kind = 255

func str(v fields.Value) string {
	if v.Kind == fields.KindBytes {
		return string(v.Bytes)
	}
	return v.Str
}

func basename(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func isNum(k fields.Kind) bool {
	switch k {
	case fields.KindInt, fields.KindUint, fields.KindPort, fields.KindRelTime, fields.KindAbsTime:
		return true
	}
	return false
}

// allowed checks Falco's operator/type compatibility (flt_is_comparable).
func allowed(op string, k fields.Kind) bool {
	switch op {
	case "exists", "=", "==", "!=", "in", "intersects":
		return true
	case "<", "<=", ">", ">=":
		return isNum(k) || k == fields.KindString
	case "bcontains", "bstartswith":
		return k == fields.KindBytes
	case "contains", "startswith", "endswith":
		return k == fields.KindString || k == fields.KindBytes
	case "icontains", "glob", "iglob", "regex", "pmatch":
		return k == fields.KindString
	}
	return false
}

func (c *compiler) literal(k fields.Kind, op, s string) (lit, error) {
	var l lit
	l.v.Kind = k
	var err error
	switch {
	case op == "regex":
		l.v.Str = s
		if l.re, err = regexp.Compile("^(?:" + s + ")$"); err != nil {
			return l, fmt.Errorf("invalid regular expression '%s': %v", s, err)
		}
	case op == "bcontains" || op == "bstartswith":
		l.v.Bytes, err = hex.DecodeString(s)
	case k == fields.KindString:
		l.v.Str = s
		if op == "icontains" || op == "iglob" {
			l.v.Str = strings.ToLower(s)
		}
	case k == fields.KindBytes:
		l.v.Bytes = []byte(s)
	case k == fields.KindInt || k == fields.KindRelTime || k == fields.KindAbsTime:
		l.v.Int, err = strconv.ParseInt(s, 0, 64)
	case k == fields.KindUint:
		l.v.Uint, err = strconv.ParseUint(s, 0, 64)
	case k == fields.KindPort:
		l.v.Uint, err = strconv.ParseUint(s, 0, 16)
	case k == fields.KindBool:
		l.v.Bool, err = strconv.ParseBool(s)
		if s != "true" && s != "false" {
			err = fmt.Errorf("expected true or false")
		}
	case k == fields.KindIPAddr || k == fields.KindIPNet:
		if strings.Contains(s, "/") {
			l.pfx, err = netip.ParsePrefix(s)
			l.pfx, l.isPfx = l.pfx.Masked(), true
		} else {
			l.v.Addr, err = netip.ParseAddr(s)
			if k == fields.KindIPNet && err == nil {
				l.pfx, l.isPfx = netip.PrefixFrom(l.v.Addr, l.v.Addr.BitLen()), true
			}
		}
	}
	if err != nil {
		return l, fmt.Errorf("invalid %s value '%s': %v", kindName(k), s, err)
	}
	return l, nil
}
