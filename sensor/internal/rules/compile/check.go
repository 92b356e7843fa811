package compile

import (
	"fmt"
	"net/netip"

	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/rules/fields"
	"github.com/lookout-sec/lookout/sensor/internal/rules/parse"
)

func constPred(b bool) Pred { return func(*event.Event, *Scratch) bool { return b } }

func (c *compiler) check(n *parse.Check) (Pred, error) {
	if n.Field.Transformer == "" && n.Field.Name == "evt.dir" {
		// Deprecated since Falco 0.42: rules run on exit events only.
		c.warnings = append(c.warnings, "evt.dir is deprecated: '>' matches nothing, '<' matches everything")
		v, _ := n.Value.(*parse.Value)
		exit := v != nil && v.Text == "<"
		switch n.Op {
		case "=", "==":
			return constPred(exit), nil
		case "!=":
			return constPred(!exit), nil
		}
		return constPred(false), nil
	}
	if p, ok := typePred(n); ok {
		return p, nil
	}
	if p, ok, err := c.dnsPred(n); ok || err != nil {
		return p, err
	}
	l, err := c.field(n.Field)
	if err != nil {
		return nil, err
	}
	if !allowed(n.Op, l.kind) {
		return nil, fmt.Errorf("operator '%s' is not supported by field '%s' of type %s", n.Op, l.name, kindName(l.kind))
	}
	get := l.get
	if n.Op == "exists" {
		return func(ev *event.Event, s *Scratch) bool { return len(get(ev, s)) > 0 }, nil
	}
	if rf, ok := n.Value.(*parse.Field); ok {
		return c.valCheck(n, l, rf)
	}
	items, _ := literals(n.Value)
	scalarOp := n.Op
	if n.Op == "in" || n.Op == "intersects" {
		scalarOp = "="
	}
	lits := make([]lit, len(items))
	for i, it := range items {
		if lits[i], err = c.literal(l.kind, scalarOp, it); err != nil {
			return nil, fmt.Errorf("field '%s': %w", l.name, err)
		}
	}
	if n.Modifier != "" {
		return modifier(n.Modifier, opOf(n.Op), get, lits), nil
	}
	switch n.Op {
	case "in", "intersects", "pmatch":
		return listPred(n.Op, l, lits), nil
	}
	op := opOf(n.Op)
	one := &lits[0]
	if l.kind == fields.KindString && (op == opEq || op == opNe) {
		want, ne := one.v.Str, op == opNe
		return func(ev *event.Event, s *Scratch) bool {
			for _, v := range get(ev, s) {
				if (v.Str == want) != ne {
					return true
				}
			}
			return false
		}, nil
	}
	return func(ev *event.Event, s *Scratch) bool {
		for _, v := range get(ev, s) {
			if match(op, v, one) {
				return true
			}
		}
		return false
	}, nil
}

// typePred compiles evt.type = X, evt.type != X, evt.type in (...) to a
// set lookup on the event's type. Names the sensor does not know match
// nothing (no event has that type).
func typePred(n *parse.Check) (Pred, bool) {
	if n.Field.Transformer != "" || n.Field.Name != "evt.type" || n.Field.HasArg || n.Modifier != "" {
		return nil, false
	}
	names, ok := literals(n.Value)
	if !ok {
		return nil, false
	}
	var set event.TypeSet
	for _, name := range names {
		if t, ok := event.ParseType(name); ok {
			set.Add(t)
		}
	}
	switch n.Op {
	case "=", "==", "in", "intersects":
		return func(ev *event.Event, _ *Scratch) bool { return ev.Type < event.NumTypes && set.Has(ev.Type) }, true
	case "!=":
		if len(names) != 1 {
			return nil, false
		}
		return func(ev *event.Event, _ *Scratch) bool { return ev.Type >= event.NumTypes || !set.Has(ev.Type) }, true
	}
	return nil, false
}

func anyMatch(op opCode, v fields.Value, lits []lit) bool {
	for i := range lits {
		if match(op, v, &lits[i]) {
			return true
		}
	}
	return false
}

func listPred(op string, l *lhs, lits []lit) Pred {
	get := l.get
	scalar := opEq
	if op == "pmatch" {
		scalar = opPmatch
	}
	var in func(v fields.Value) bool
	switch {
	case l.kind == fields.KindString && scalar == opEq && len(lits) > 8:
		set := make(map[string]struct{}, len(lits))
		for _, x := range lits {
			set[x.v.Str] = struct{}{}
		}
		in = func(v fields.Value) bool {
			_, ok := set[v.Str]
			return ok
		}
	case l.kind == fields.KindString && scalar == opEq:
		strs := make([]string, len(lits))
		for i, x := range lits {
			strs[i] = x.v.Str
		}
		in = func(v fields.Value) bool {
			for _, s := range strs {
				if s == v.Str {
					return true
				}
			}
			return false
		}
	default:
		in = func(v fields.Value) bool { return anyMatch(scalar, v, lits) }
	}
	if op == "in" && l.multi && !l.anyOf {
		// Every LHS value must be in the set.
		return func(ev *event.Event, s *Scratch) bool {
			vs := get(ev, s)
			if len(vs) == 0 {
				return false
			}
			for _, v := range vs {
				if !in(v) {
					return false
				}
			}
			return true
		}
	}
	return func(ev *event.Event, s *Scratch) bool {
		for _, v := range get(ev, s) {
			if in(v) {
				return true
			}
		}
		return false
	}
}

func modifier(mod string, op opCode, get getter, lits []lit) Pred {
	return func(ev *event.Event, s *Scratch) bool {
		vs := get(ev, s)
		if len(vs) == 0 {
			return false
		}
		n := 0
		for i := range lits {
			for _, v := range vs {
				if match(op, v, &lits[i]) {
					n++
					break
				}
			}
		}
		switch mod {
		case "anyof":
			return n > 0
		case "allof":
			return n == len(lits)
		}
		return n == 1
	}
}

// valCheck compares a field with another field (val() or a transformer).
func (c *compiler) valCheck(n *parse.Check, l *lhs, rf *parse.Field) (Pred, error) {
	r, err := c.field(rf)
	if err != nil {
		return nil, err
	}
	if n.Op == "regex" || n.Modifier != "" {
		return nil, fmt.Errorf("operator '%s' cannot compare with a field", n.Op)
	}
	if r.kind != l.kind {
		return nil, fmt.Errorf("cannot compare field '%s' (%s) with '%s' (%s)", l.name, kindName(l.kind), r.name, kindName(r.kind))
	}
	op := opOf(n.Op)
	lget, rget := l.get, r.get
	return func(ev *event.Event, s *Scratch) bool {
		rv := rget(ev, s)
		if len(rv) == 0 {
			return false
		}
		for _, v := range lget(ev, s) {
			for _, w := range rv {
				x := lit{v: w}
				if op == opIcontains || op == opIglob {
					x.v.Str = lower(w.Str)
				}
				if match(op, v, &x) {
					return true
				}
			}
		}
		return false
	}, nil
}

func lower(s string) string {
	b := []byte(s)
	for i := range b {
		b[i] = lowerASCII(b[i])
	}
	return string(b)
}

// dnsFields maps the domain-name fields to the address they compare.
var dnsFields = map[string]string{"fd.sip.name": "fd.sip", "fd.cip.name": "fd.cip", "fd.lip.name": "fd.lip", "fd.rip.name": "fd.rip"}

// dnsPred compiles fd.sip.name = NAME (and in, !=, and the cip/lip/rip
// forms) as Falco does: the names are resolved when the rules load and the
// connection's address is compared with the resolved set.
func (c *compiler) dnsPred(n *parse.Check) (Pred, bool, error) {
	ipField, ok := dnsFields[n.Field.Name]
	if !ok || n.Field.Transformer != "" || n.Field.HasArg || n.Modifier != "" {
		return nil, false, nil
	}
	ne := false
	switch n.Op {
	case "=", "==", "in", "intersects":
	case "!=":
		ne = true
	default:
		return nil, false, nil
	}
	names, ok := literals(n.Value)
	if !ok {
		return nil, false, nil
	}
	set := map[netip.Addr]struct{}{}
	for _, name := range names {
		if c.opts.LookupIP == nil {
			continue
		}
		for _, a := range c.lookupIP(n.Field.Name, name) {
			set[a.Unmap()] = struct{}{}
		}
	}
	l, err := c.field(&parse.Field{P: n.Field.P, Name: ipField})
	if err != nil {
		return nil, true, err
	}
	get := l.get
	return func(ev *event.Event, s *Scratch) bool {
		for _, v := range get(ev, s) {
			if _, in := set[v.Addr.Unmap()]; in != ne {
				return true
			}
		}
		return false
	}, true, nil
}

// lookupIP resolves name once per compilation (several rules and macros
// name the same host, and each lookup may wait on DNS); a failure is
// warned about once and leaves the name without addresses.
func (c *compiler) lookupIP(field, name string) []netip.Addr {
	if addrs, done := c.resolved[name]; done {
		return addrs
	}
	addrs, err := c.opts.LookupIP(name)
	if err != nil {
		c.notes = append(c.notes, fmt.Sprintf("%s: cannot resolve %q (%v): checks against it match nothing here (expected off-cluster)", field, name, err))
		addrs = nil
	}
	if c.resolved == nil {
		c.resolved = map[string][]netip.Addr{}
	}
	c.resolved[name] = addrs
	return addrs
}

// literals returns the texts of a check's literal operand: one for a
// *parse.Value, each item for a *parse.List. ok is false for any other
// operand (a field, val(), or none).
func literals(v parse.Node) (texts []string, ok bool) {
	switch v := v.(type) {
	case *parse.Value:
		return []string{v.Text}, true
	case *parse.List:
		texts = make([]string, 0, len(v.Items))
		for _, it := range v.Items {
			texts = append(texts, it.Text)
		}
		return texts, true
	}
	return nil, false
}
