package spec

import (
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// listComps are the exception comparisons whose value is a list.
var listComps = []string{"in", "intersects", "pmatch"}

func isListComp(c string) bool {
	if slices.Contains(listComps, c) {
		return true
	}
	_, mod, ok := strings.Cut(c, " ")
	return ok && (mod == "oneof" || mod == "anyof" || mod == "allof")
}

// exceptions reads an exceptions: sequence. Entries whose name is already
// in base only append their values (Falco's append semantics).
func (l *loader) exceptions(v *yaml.Node, base []Exception) ([]Exception, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, l.errAt(v, "Rule exceptions must be a sequence")
	}
	out := slices.Clone(base)
	for _, n := range v.Content {
		it, err := l.mapOf(n)
		if err != nil {
			return nil, err
		}
		name, err := l.str(it, "name")
		if err != nil {
			return nil, err
		}
		idx := slices.IndexFunc(out, func(e Exception) bool { return e.Name == name })
		if idx >= 0 && base != nil && idx < len(base) {
			if it.keys["fields"] != nil || it.keys["comps"] != nil {
				return nil, l.errAt(n, "Can not append exception fields or comps to existing exception '%s', only values", name)
			}
			vals, err := l.excValues(it, &out[idx])
			if err != nil {
				return nil, err
			}
			out[idx].Values = append(out[idx].Values, vals...)
			continue
		}
		e := Exception{Name: name, Pos: l.pos(n)}
		fv := it.keys["fields"]
		if fv == nil {
			return nil, l.errAt(n, "Item has no mapping for key 'fields'")
		}
		if fv.Kind == yaml.ScalarNode {
			e.Single, e.Fields = true, []string{fv.Value}
		} else if e.Fields, err = l.strList(fv, "fields"); err != nil {
			return nil, err
		}
		cv := it.keys["comps"]
		switch {
		case cv == nil && e.Single:
			e.Comps = []string{"in"}
		case cv == nil:
			for range e.Fields {
				e.Comps = append(e.Comps, "=")
			}
		case cv.Kind == yaml.ScalarNode:
			e.Comps = []string{cv.Value}
		default:
			if e.Comps, err = l.strList(cv, "comps"); err != nil {
				return nil, err
			}
		}
		if e.Single && (cv == nil || cv.Kind == yaml.ScalarNode) {
			if !isListComp(e.Comps[0]) {
				return nil, l.errAt(cv, "Exception '%s': single-field comps must be a list operator (in, pmatch, intersects or '<op> oneof|anyof|allof'), got '%s'", name, e.Comps[0])
			}
		} else if len(e.Comps) != len(e.Fields) {
			return nil, l.errAt(n, "Exception '%s': Fields and comps lists must have equal length", name)
		}
		if e.Values, err = l.excValues(it, &e); err != nil {
			return nil, err
		}
		if idx >= 0 {
			l.warn(n, "Multiple definitions of exception '%s' in the same rule", name)
		}
		out = append(out, e)
	}
	return out, nil
}

func (l *loader) excValues(it *item, e *Exception) ([][]ExceptionValue, error) {
	vv := it.keys["values"]
	if vv == nil {
		return nil, nil
	}
	if vv.Kind != yaml.SequenceNode {
		return nil, l.errAt(vv, "Exception '%s': values must be a sequence", e.Name)
	}
	var out [][]ExceptionValue
	if e.Single {
		row := make([]ExceptionValue, 0, len(vv.Content))
		for _, c := range vv.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, l.errAt(c, "Exception '%s': values of a single-field exception must be scalars", e.Name)
			}
			row = append(row, ExceptionValue{Scalar: c.Value})
		}
		return [][]ExceptionValue{row}, nil
	}
	for _, t := range vv.Content {
		if t.Kind != yaml.SequenceNode {
			return nil, l.errAt(t, "Exception '%s': each value must be a list (a tuple)", e.Name)
		}
		if len(t.Content) != len(e.Fields) {
			return nil, l.errAt(t, "Exception '%s': Fields and values lists must have equal length", e.Name)
		}
		row := make([]ExceptionValue, 0, len(t.Content))
		for _, c := range t.Content {
			switch c.Kind {
			case yaml.ScalarNode:
				row = append(row, ExceptionValue{Scalar: c.Value})
			case yaml.SequenceNode:
				xs, err := l.strList(c, "values")
				if err != nil {
					return nil, err
				}
				row = append(row, ExceptionValue{List: xs, IsList: true})
			default:
				return nil, l.errAt(c, "Exception '%s': value must be a scalar or a list", e.Name)
			}
		}
		out = append(out, row)
	}
	return out, nil
}

func quoteExc(s string) string {
	if strings.Contains(s, " ") && !strings.HasPrefix(s, "\"") && !strings.HasPrefix(s, "'") {
		return `"` + s + `"`
	}
	return s
}

func excValue(v ExceptionValue, comp string) string {
	if v.IsList {
		xs := make([]string, len(v.List))
		for i, x := range v.List {
			xs[i] = quoteExc(x)
		}
		return "(" + strings.Join(xs, ", ") + ")"
	}
	if isListComp(comp) {
		return "(" + quoteExc(v.Scalar) + ")"
	}
	return quoteExc(v.Scalar)
}

// Expand returns the exception text Falco appends to a rule's condition,
// "" when no exception has values.
func (e *Exception) Expand() string {
	if len(e.Values) == 0 {
		return ""
	}
	if e.Single {
		xs := make([]string, 0, len(e.Values[0]))
		for _, v := range e.Values[0] {
			xs = append(xs, quoteExc(v.Scalar))
		}
		if len(xs) == 0 {
			return ""
		}
		return "(" + e.Fields[0] + " " + e.Comps[0] + " (" + strings.Join(xs, ", ") + "))"
	}
	var b strings.Builder
	b.WriteString("(")
	for i, row := range e.Values {
		if i > 0 {
			b.WriteString(" or")
		}
		b.WriteString(" (")
		for j, v := range row {
			if j > 0 {
				b.WriteString(" and")
			}
			b.WriteString(" " + e.Fields[j] + " " + e.Comps[j] + " " + excValue(v, e.Comps[j]))
		}
		b.WriteString(" )")
	}
	b.WriteString(" )")
	return b.String()
}

// FullCondition is the rule's condition with its exceptions appended, as
// Falco builds it: "(C) and not E1 and not E2 ...", or C alone if no
// exception has values.
func (r *Rule) FullCondition() string {
	var ex strings.Builder
	for i := range r.Exceptions {
		if s := r.Exceptions[i].Expand(); s != "" {
			ex.WriteString(" and not " + s)
		}
	}
	if ex.Len() == 0 {
		return r.Condition.S
	}
	return "(" + r.Condition.S + ")" + ex.String()
}
