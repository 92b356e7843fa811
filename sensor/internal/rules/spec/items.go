package spec

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lookout-sec/lookout/router/api"
	"gopkg.in/yaml.v3"
)

// overrides reads the override: map of it, checking every key against the
// operations Falco allows for kind.
func (l *loader) overrides(it *item, nameKey string, appendable, replaceable []string) (map[string]string, bool, error) {
	app, err := l.boolKey(it, "append", false)
	if err != nil {
		return nil, false, err
	}
	ov := it.keys["override"]
	if ov == nil {
		return nil, app, nil
	}
	if app {
		return nil, false, l.errAt(it.knod["override"], "Keys 'override' and 'append: true' cannot be used together. Add an 'append' entry (e.g. 'condition: append') under 'override' instead.")
	}
	if ov.Kind != yaml.MappingNode {
		return nil, false, l.errAt(ov, "Value of 'override' must be a map of key: append|replace")
	}
	ops := map[string]string{}
	for i := 0; i+1 < len(ov.Content); i += 2 {
		k, v := ov.Content[i].Value, ov.Content[i+1]
		switch v.Value {
		case "append":
			if !slices.Contains(appendable, k) {
				if slices.Contains(replaceable, k) {
					return nil, false, l.errAt(v, "Key '%s' cannot be appended to, use 'replace' instead", k)
				}
				return nil, false, l.errAt(ov.Content[i], "Unexpected key '%s': cannot be overridden", k)
			}
		case "replace":
			if !slices.Contains(replaceable, k) {
				return nil, false, l.errAt(ov.Content[i], "Unexpected key '%s': cannot be overridden", k)
			}
		default:
			return nil, false, l.errAt(v, "Invalid override operation for key '%s': '%s' (must be 'append' or 'replace')", k, v.Value)
		}
		if it.keys[k] == nil {
			return nil, false, l.errAt(ov.Content[i], "An override for '%s' was specified but '%s' is not defined", k, k)
		}
		ops[k] = v.Value
	}
	for _, k := range it.ord {
		if k == nameKey || k == "override" {
			continue
		}
		if _, ok := ops[k]; !ok {
			return nil, false, l.errAt(it.knod[k], "Unexpected key '%s': no corresponding entry under 'override' is defined.", k)
		}
	}
	return ops, false, nil
}

func (l *loader) list(it *item) error {
	name, err := l.str(it, "list")
	if err != nil {
		return err
	}
	ops, app, err := l.overrides(it, "list", []string{"items"}, []string{"items"})
	if err != nil {
		return err
	}
	iv := it.keys["items"]
	if iv == nil {
		return l.errAt(it.node, "Item has no mapping for key 'items'")
	}
	items, err := l.strList(iv, "items")
	if err != nil {
		return err
	}
	prev := l.lists[name]
	if app || ops["items"] == "append" {
		if prev == nil {
			key := "append"
			if !app {
				key = "override"
			}
			return l.errAt(it.node, "List '%s' has '%s' key but no list by that name already exists", name, key)
		}
		prev.Items = append(prev.Items, items...)
		l.overrode("list", name, map[string]string{"items": "append"})
		return nil
	}
	if ops["items"] == "replace" {
		if prev == nil {
			return l.errAt(it.node, "List '%s' has 'override' key but no list by that name already exists", name)
		}
		prev.Items = items
		l.overrode("list", name, ops)
		return nil
	}
	l.stats.Lists++
	l.index++
	if prev != nil {
		prev.Items, prev.Pos, prev.Visibility = items, l.pos(it.node), l.index
		return nil
	}
	li := &List{Name: name, Items: items, Pos: l.pos(it.node), Index: l.index, Visibility: l.index}
	l.lists[name] = li
	l.set.Lists = append(l.set.Lists, li)
	return nil
}

func (l *loader) macro(it *item) error {
	name, err := l.str(it, "macro")
	if err != nil {
		return err
	}
	ops, app, err := l.overrides(it, "macro", []string{"condition"}, []string{"condition"})
	if err != nil {
		return err
	}
	if _, err := l.str(it, "condition"); err != nil {
		return err
	}
	cond := l.text(it.keys["condition"])
	prev := l.macros[name]
	if app || ops["condition"] != "" {
		if prev == nil {
			key := "append"
			if !app {
				key = "override"
			}
			return l.errAt(it.node, "Macro '%s' has '%s' key but no macro by that name already exists", name, key)
		}
		if app || ops["condition"] == "append" {
			prev.Condition.S += " " + cond.S
			prev.Condition.Inline = false
			l.overrode("macro", name, map[string]string{"condition": "append"})
		} else {
			prev.Condition = cond
			l.overrode("macro", name, ops)
		}
		return nil
	}
	l.stats.Macros++
	l.index++
	if prev != nil {
		prev.Condition, prev.Pos, prev.Visibility = cond, l.pos(it.node), l.index
		return nil
	}
	m := &Macro{Name: name, Condition: cond, Pos: l.pos(it.node), Index: l.index, Visibility: l.index}
	l.macros[name] = m
	l.set.Macros = append(l.set.Macros, m)
	return nil
}

var (
	ruleAppendable  = []string{"condition", "output", "desc", "tags", "exceptions"}
	ruleReplaceable = []string{"condition", "output", "desc", "priority", "tags", "exceptions", "enabled", "warn_evttypes", "skip-if-unknown-filter", "capture", "capture_duration"}
)

func (l *loader) rule(it *item) error {
	name, err := l.str(it, "rule")
	if err != nil {
		return err
	}
	ops, app, err := l.overrides(it, "rule", ruleAppendable, ruleReplaceable)
	if err != nil {
		return err
	}
	prev := l.rules[name]
	if ops != nil || app {
		if prev == nil {
			return l.errAt(it.node, "Rule '%s' has 'append' or 'override' key but no rule by that name already exists", name)
		}
		if app {
			ops = map[string]string{}
			for _, k := range []string{"condition", "exceptions", "output", "desc"} {
				if it.keys[k] != nil {
					ops[k] = "append"
				}
			}
			if len(ops) == 0 {
				return l.errAt(it.node, "Appended rule '%s' must have exceptions or condition property", name)
			}
		}
		if err := l.applyRule(it, prev, ops); err != nil {
			return err
		}
		l.overrode("rule", name, ops)
		return nil
	}
	_, hasCond := it.keys["condition"]
	_, hasOut := it.keys["output"]
	_, hasDesc := it.keys["desc"]
	_, hasPrio := it.keys["priority"]
	if ev := it.keys["enabled"]; ev != nil && !hasCond && !hasOut && !hasDesc && !hasPrio {
		if prev == nil {
			return l.errAt(it.node, "Rule '%s' has 'enabled' key but no rule by that name already exists", name)
		}
		l.warn(it.node, "The standalone 'enabled' key usage is deprecated. The correct approach requires also a 'replace' entry under the 'override' key (i.e. 'enabled: replace').")
		if prev.Enabled, err = l.boolKey(it, "enabled", true); err != nil {
			return err
		}
		l.overrode("rule", name, map[string]string{"enabled": "replace"})
		return nil
	}
	r := &Rule{Name: name, Source: "syscall", Pos: l.pos(it.node)}
	for _, k := range []string{"condition", "output", "desc", "priority"} {
		if _, err := l.str(it, k); err != nil {
			return err
		}
	}
	r.Condition = l.text(it.keys["condition"])
	r.Output = trimSpace(it.keys["output"].Value)
	r.OutputAt = l.text(it.keys["output"]).WithText(r.Output)
	if ov := it.keys["output"]; strings.TrimLeft(ov.Value, " \t\r\n") == ov.Value {
		// Only trailing blanks were trimmed: offsets still map to columns.
		r.OutputAt = l.text(ov)
		r.OutputAt.S = r.Output
	}
	r.Desc = it.keys["desc"].Value
	if r.Priority, err = l.priority(it.keys["priority"]); err != nil {
		return err
	}
	if s := it.keys["source"]; s != nil {
		r.Source = s.Value
	}
	if r.Enabled, err = l.boolKey(it, "enabled", true); err != nil {
		return err
	}
	if r.WarnEvttypes, err = l.boolKey(it, "warn_evttypes", true); err != nil {
		return err
	}
	if r.SkipIfUnknown, err = l.boolKey(it, "skip-if-unknown-filter", false); err != nil {
		return err
	}
	if tv := it.keys["tags"]; tv != nil {
		if r.Tags, err = l.strList(tv, "tags"); err != nil {
			return err
		}
	}
	if ev := it.keys["exceptions"]; ev != nil {
		if r.Exceptions, err = l.exceptions(ev, nil); err != nil {
			return err
		}
	}
	l.stats.Rules++
	l.index++
	if prev != nil {
		r.Index = prev.Index
		*prev = *r
		return nil
	}
	r.Index = l.index
	l.rules[name] = r
	l.set.Rules = append(l.set.Rules, r)
	return nil
}

// overrode records in the file's stats that it changed the kind item
// name with ops (key: append|replace).
func (l *loader) overrode(kind, name string, ops map[string]string) {
	keys := make([]string, 0, len(ops))
	for k := range ops {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		keys[i] = k + ": " + ops[k]
	}
	l.stats.Overrides = append(l.stats.Overrides, fmt.Sprintf("%s '%s' (%s)", kind, name, strings.Join(keys, ", ")))
}

func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t' || s[j-1] == '\n' || s[j-1] == '\r') {
		j--
	}
	return s[i:j]
}

func (l *loader) priority(v *yaml.Node) (api.Priority, error) {
	p, err := api.ParsePriority(v.Value)
	if err != nil || v.Kind != yaml.ScalarNode {
		return 0, l.errAt(v, "Invalid priority '%s'", v.Value)
	}
	return p, nil
}

func (l *loader) applyRule(it *item, r *Rule, ops map[string]string) error {
	var err error
	for _, k := range it.ord {
		op, ok := ops[k]
		if !ok {
			continue
		}
		v := it.keys[k]
		switch k {
		case "condition":
			t := l.text(v)
			if op == "append" {
				r.Condition.S += " " + t.S
				r.Condition.Inline = false
			} else {
				r.Condition = t
			}
		case "output", "desc":
			s := v.Value
			if k == "output" {
				s = trimSpace(s)
			}
			dst := &r.Output
			if k == "desc" {
				dst = &r.Desc
			}
			if op == "append" {
				*dst += " " + s
			} else {
				*dst = s
			}
			if k == "output" {
				if op == "append" {
					r.OutputAt = r.OutputAt.WithText(r.Output)
				} else {
					r.OutputAt = l.text(v)
					r.OutputAt.S = r.Output
				}
			}
		case "tags":
			tags, err := l.strList(v, "tags")
			if err != nil {
				return err
			}
			if op == "replace" {
				r.Tags = nil
			}
			for _, t := range tags {
				if !slices.Contains(r.Tags, t) {
					r.Tags = append(r.Tags, t)
				}
			}
		case "exceptions":
			var base []Exception
			if op == "append" {
				base = r.Exceptions
			}
			if r.Exceptions, err = l.exceptions(v, base); err != nil {
				return err
			}
		case "priority":
			if r.Priority, err = l.priority(v); err != nil {
				return err
			}
		case "enabled":
			r.Enabled, err = l.boolKey(it, k, true)
		case "warn_evttypes":
			r.WarnEvttypes, err = l.boolKey(it, k, true)
		case "skip-if-unknown-filter":
			r.SkipIfUnknown, err = l.boolKey(it, k, false)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
