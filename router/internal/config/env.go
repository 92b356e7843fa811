package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// expandTree replaces ${VAR} in every string value of the tree in place.
func expandTree(node any, path string, lookup func(string) (string, bool)) error {
	switch n := node.(type) {
	case map[string]any:
		for _, k := range sortedKeys(n) {
			if s, ok := n[k].(string); ok {
				v, err := Expand(s, lookup)
				if err != nil {
					return Errorf(joinKey(path, k), "%w", err)
				}
				n[k] = v
				continue
			}
			if err := expandTree(n[k], joinKey(path, k), lookup); err != nil {
				return err
			}
		}
	case []any:
		for i := range n {
			p := fmt.Sprintf("%s[%d]", path, i)
			if s, ok := n[i].(string); ok {
				v, err := Expand(s, lookup)
				if err != nil {
					return Errorf(p, "%w", err)
				}
				n[i] = v
				continue
			}
			if err := expandTree(n[i], p, lookup); err != nil {
				return err
			}
		}
	}
	return nil
}

// Expand replaces every ${NAME} in s by the environment variable NAME
// (lookup reports whether it is set) and every $$ by $. A $ followed by
// anything else is kept as written. An unset variable or an unterminated
// or malformed ${ is an error.
func Expand(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${ at offset %d (write $$ for a literal $)", i)
			}
			name := s[i+2 : i+2+end]
			if !validEnvName(name) {
				return "", fmt.Errorf("${%s}: not a variable name (letters, digits, _; write $$ for a literal $)", name)
			}
			v, ok := lookup(name)
			if !ok {
				return "", fmt.Errorf("${%s}: environment variable %s is not set", name, name)
			}
			b.WriteString(v)
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), nil
}

func validEnvName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// applyEnv sets every scalar (or list-of-strings) key outside outputs and
// noise from LOOKOUT_<KEY PATH> when that variable is set: a list from
// the space-separated words.
func applyEnv(raw map[string]any, lookup func(string) (string, bool)) error {
	for _, p := range envPaths(reflect.TypeFor[Config](), nil) {
		name := "LOOKOUT_" + strings.ToUpper(strings.Join(p.path, "_"))
		v, ok := lookup(name)
		if !ok {
			continue
		}
		m := raw
		for _, seg := range p.path[:len(p.path)-1] {
			sub, ok := m[seg].(map[string]any)
			if !ok {
				if m[seg] != nil {
					return Errorf(strings.Join(p.path[:len(p.path)-1], "."), "must be a mapping to take %s", name)
				}
				sub = map[string]any{}
				m[seg] = sub
			}
			m = sub
		}
		last := p.path[len(p.path)-1]
		if p.list {
			words := []any{}
			for _, w := range strings.Fields(v) {
				words = append(words, w)
			}
			m[last] = words
		} else {
			m[last] = v
		}
	}
	return nil
}

type envPath struct {
	path []string
	list bool
}

// envPaths lists the overridable keys of struct t: scalars and string
// lists, not outputs (a list of blocks) nor noise (lists of rules).
func envPaths(t reflect.Type, prefix []string) []envPath {
	var out []envPath
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
		if tag == "" || tag == "-" || tag == "outputs" || tag == "noise" {
			continue
		}
		p := append(append([]string(nil), prefix...), tag)
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]():
			out = append(out, envPaths(f.Type, p)...)
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.String:
			out = append(out, envPath{p, true})
		case f.Type.Kind() != reflect.Slice && f.Type.Kind() != reflect.Map:
			out = append(out, envPath{p, false})
		}
	}
	return out
}
