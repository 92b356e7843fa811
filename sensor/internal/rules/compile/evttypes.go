package compile

import (
	"slices"

	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/rules/fields"
	"github.com/lookout-sec/lookout/sensor/internal/rules/parse"
)

// AllTypes is the set of every event type the sensor knows.
func AllTypes() event.TypeSet {
	var s event.TypeSet
	for t := event.TypeUnknown + 1; t < event.NumTypes; t++ {
		s.Add(t)
	}
	return s
}

func intersect(a, b event.TypeSet) event.TypeSet {
	for i := range a {
		a[i] &= b[i]
	}
	return a
}

func union(a, b event.TypeSet) event.TypeSet {
	a.Union(b)
	return a
}

func complement(a event.TypeSet) event.TypeSet {
	all := AllTypes()
	for i := range a {
		a[i] = all[i] &^ a[i]
	}
	return a
}

// eventTypes is libs' ppm_codes algorithm: AND intersects, OR unites, NOT
// is pushed to the leaves (De Morgan); evt.type checks give explicit sets,
// evt.num = 0 is empty, anything else is neutral.
func eventTypes(n parse.Node, neg bool) event.TypeSet {
	switch n := n.(type) {
	case *parse.And, *parse.Or:
		var ch []parse.Node
		isAnd := false
		if a, ok := n.(*parse.And); ok {
			ch, isAnd = a.Children, true
		} else {
			ch = n.(*parse.Or).Children
		}
		if neg {
			isAnd = !isAnd
		}
		var acc event.TypeSet
		if isAnd {
			acc = AllTypes()
		}
		for _, c := range ch {
			s := eventTypes(c, neg)
			if isAnd {
				acc = intersect(acc, s)
			} else {
				acc = union(acc, s)
			}
		}
		return acc
	case *parse.Not:
		return eventTypes(n.X, !neg)
	case *parse.Check:
		if n.Field.Transformer != "" {
			return AllTypes()
		}
		switch n.Field.Name {
		case "evt.type":
			var s event.TypeSet
			var pos bool
			switch n.Op {
			case "=", "==", "in", "intersects":
				pos = true
			case "!=":
				pos = false
			default:
				return AllTypes()
			}
			names, ok := literals(n.Value)
			if !ok {
				return AllTypes()
			}
			for _, name := range names {
				if t, ok := event.ParseType(name); ok {
					s.Add(t)
				}
			}
			if pos == neg {
				return complement(s)
			}
			return s
		case "evt.num":
			if v, ok := n.Value.(*parse.Value); ok && (n.Op == "=" || n.Op == "==") && v.Text == "0" && !neg {
				return event.TypeSet{}
			}
		}
	}
	return AllTypes()
}

// kindName is Falco's name of a field type, for messages.
func kindName(k fields.Kind) string {
	names := [...]string{"CHARBUF", "INT64", "UINT64", "BOOL", "IPADDR", "IPNET", "PORT", "RELTIME", "ABSTIME", "BYTEBUF"}
	if int(k) < len(names) {
		return names[k]
	}
	return "UNKNOWN"
}

// unknownTypes lists the evt.type names in n that the sensor does not
// know (Falco event types it does not capture), in order, without
// duplicates.
func unknownTypes(n parse.Node, out []string) []string {
	switch n := n.(type) {
	case *parse.And:
		for _, c := range n.Children {
			out = unknownTypes(c, out)
		}
	case *parse.Or:
		for _, c := range n.Children {
			out = unknownTypes(c, out)
		}
	case *parse.Not:
		out = unknownTypes(n.X, out)
	case *parse.Check:
		if n.Field.Transformer != "" || n.Field.Name != "evt.type" {
			return out
		}
		names, _ := literals(n.Value)
		for _, name := range names {
			if _, ok := event.ParseType(name); !ok && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}
