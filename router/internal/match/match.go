// Package match is the router's one pattern language: the matchers that
// output filters, silences, noise-control scopes and the findings API all
// use. A matcher names a field of an alert, an operator and a value:
//
//	rule = "Terminal shell in container"
//	k8s.ns.name != kube-system
//	k8s.pod.name =~ "web-[0-9]+"
//	fd.name glob /home/*/.ssh/*         ('*' crosses '/', as in Falco)
//	priority in (critical, alert, emergency)
//	tags = mitre_execution
//
// Fields are rule, priority, source, hostname, output (the output line),
// tags (multi-valued: a positive operator holds when any tag matches, a
// negative one when no tag does), uuid, or any key of output_fields. Values
// are bare words (up to the end of the matcher) or double- or
// single-quoted strings.
//
// A field that is absent or null reads as the empty string, as
// Alertmanager treats a missing label: `k8s.ns.name != kube-system` holds
// for a host alert with no namespace, and `k8s.ns.name = ""` selects
// exactly those.
package match

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/router/api/glob"
)

// Op is a matcher's operator.
type Op string

// The operators.
const (
	Eq       Op = "="
	NotEq    Op = "!="
	Regex    Op = "=~"
	NotRegex Op = "!~"
	Glob     Op = "glob"
	NotGlob  Op = "!glob"
	In       Op = "in"
	NotIn    Op = "!in"
)

// Ops lists the operators in the order the parser tries them.
var ops = []Op{NotRegex, Regex, NotEq, NotGlob, Glob, NotIn, In, Eq}

// Matcher is one parsed matcher.
type Matcher struct {
	Field  string   `json:"field"`
	Op     Op       `json:"op"`
	Value  string   `json:"value,omitempty"`
	Values []string `json:"values,omitempty"` // in, !in
	re     *regexp.Regexp
}

// Parse reads one matcher, e.g. `k8s.ns.name glob "dev-*"`.
func Parse(s string) (Matcher, error) {
	s = strings.TrimSpace(s)
	field, rest := splitField(s)
	if field == "" {
		return Matcher{}, fmt.Errorf("matcher %q: expected FIELD OP VALUE (ops: =, !=, =~, !~, glob, !glob, in, !in)", s)
	}
	rest = strings.TrimLeft(rest, " \t")
	var op Op
	for _, o := range ops {
		if !strings.HasPrefix(rest, string(o)) {
			continue
		}
		after := rest[len(o):]
		if isWordOp(o) && after != "" && after[0] != ' ' && after[0] != '\t' && after[0] != '(' && after[0] != '"' && after[0] != '\'' {
			continue // "globby" is not "glob by"
		}
		op, rest = o, after
		break
	}
	if op == "" {
		return Matcher{}, fmt.Errorf("matcher %q: after field %q expected an operator (=, !=, =~, !~, glob, !glob, in, !in)", s, field)
	}
	m := Matcher{Field: field, Op: op}
	rest = strings.TrimSpace(rest)
	var err error
	if op == In || op == NotIn {
		m.Values, err = parseList(rest)
	} else {
		m.Value, err = parseValue(rest)
	}
	if err != nil {
		return Matcher{}, fmt.Errorf("matcher %q: %w", s, err)
	}
	return m, m.compile()
}

// MustParse is Parse for literals in tests and examples; it panics on error.
func MustParse(s string) Matcher {
	m, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return m
}

func isWordOp(o Op) bool { return o == Glob || o == NotGlob || o == In || o == NotIn }

func splitField(s string) (string, string) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == ' ' || c == '\t' || c == '=' || c == '!' {
			break
		}
		i++
	}
	return s[:i], s[i:]
}

func parseValue(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	switch s[0] {
	case '"':
		v, err := strconv.Unquote(s)
		if err != nil {
			return "", fmt.Errorf("bad double-quoted value %s: %w", s, err)
		}
		return v, nil
	case '\'':
		if len(s) < 2 || s[len(s)-1] != '\'' || strings.Contains(s[1:len(s)-1], "'") {
			return "", fmt.Errorf("bad single-quoted value %s", s)
		}
		return s[1 : len(s)-1], nil
	}
	return s, nil
}

func parseList(s string) ([]string, error) {
	if !strings.HasPrefix(s, "(") || !strings.HasSuffix(s, ")") {
		return nil, fmt.Errorf("in expects a list such as (a, b, \"c d\"), got %q", s)
	}
	body := s[1 : len(s)-1]
	var out []string
	for body = strings.TrimSpace(body); body != ""; {
		var item string
		switch body[0] {
		case '"', '\'':
			q := body[0]
			end := 1
			for end < len(body) && (body[end] != q || (q == '"' && body[end-1] == '\\')) {
				end++
			}
			if end >= len(body) {
				return nil, fmt.Errorf("unterminated quote in list %s", s)
			}
			v, err := parseValue(body[:end+1])
			if err != nil {
				return nil, err
			}
			item, body = v, body[end+1:]
		default:
			i := strings.IndexByte(body, ',')
			if i < 0 {
				i = len(body)
			}
			item, body = strings.TrimSpace(body[:i]), body[i:]
		}
		out = append(out, item)
		body = strings.TrimSpace(body)
		if body == "" {
			break
		}
		if body[0] != ',' {
			return nil, fmt.Errorf("list %s: expected ',' before %q", s, body)
		}
		body = strings.TrimSpace(body[1:])
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("in expects at least one value")
	}
	return out, nil
}

func (m *Matcher) compile() error {
	if m.Op == Regex || m.Op == NotRegex {
		re, err := regexp.Compile(`^(?:` + m.Value + `)$`)
		if err != nil {
			return fmt.Errorf("matcher %s: bad regular expression %q: %w", m.Field, m.Value, err)
		}
		m.re = re
	}
	if m.Field == "priority" {
		vals := m.Values
		if m.Op != In && m.Op != NotIn {
			vals = []string{m.Value}
		}
		if m.Op == In || m.Op == NotIn || m.Op == Eq || m.Op == NotEq {
			for i, v := range vals {
				p, err := api.ParsePriority(v)
				if err != nil {
					return fmt.Errorf("matcher priority: %q is not a priority (allowed: %s)", v, api.AllowedPriorities)
				}
				vals[i] = p.String()
			}
			if m.Op == Eq || m.Op == NotEq {
				m.Value = vals[0]
			}
		}
	}
	return nil
}

// UnmarshalJSON accepts the string form or the object form.
func (m *Matcher) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		p, err := Parse(s)
		if err != nil {
			return err
		}
		*m = p
		return nil
	}
	type plain Matcher
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("a matcher is a string such as \"rule = X\" or {field, op, value}: %w", err)
	}
	*m = Matcher(p)
	if !slices.Contains(ops, m.Op) {
		return fmt.Errorf("matcher %s: unknown op %q", m.Field, m.Op)
	}
	return m.compile()
}

// String writes the matcher back in the form Parse reads.
func (m Matcher) String() string {
	if m.Op == In || m.Op == NotIn {
		q := make([]string, len(m.Values))
		for i, v := range m.Values {
			q[i] = strconv.Quote(v)
		}
		return fmt.Sprintf("%s %s (%s)", m.Field, m.Op, strings.Join(q, ", "))
	}
	return fmt.Sprintf("%s %s %s", m.Field, m.Op, strconv.Quote(m.Value))
}

// Matches reports whether a satisfies m.
func (m *Matcher) Matches(a *api.Alert) bool {
	if m.Field == "tags" {
		any := false
		for _, t := range a.Tags {
			if m.positive(t) {
				any = true
				break
			}
		}
		if len(a.Tags) == 0 {
			any = m.positive("")
		}
		if m.negative() {
			// a negative matcher holds when no tag matches its positive form
			return !any
		}
		return any
	}
	v := Value(a, m.Field)
	if m.negative() {
		return !m.positive(v)
	}
	return m.positive(v)
}

func (m *Matcher) negative() bool {
	return m.Op == NotEq || m.Op == NotRegex || m.Op == NotGlob || m.Op == NotIn
}

// positive evaluates the positive form of m's operator on v.
func (m *Matcher) positive(v string) bool {
	switch m.Op {
	case Eq, NotEq:
		return v == m.Value
	case Regex, NotRegex:
		return m.re.MatchString(v)
	case Glob, NotGlob:
		return GlobMatch(m.Value, v)
	case In, NotIn:
		return slices.Contains(m.Values, v)
	}
	return false
}

// GlobMatch is Falco's glob: '*' crosses '/', '?' is one byte, [...] a class.
func GlobMatch(pattern, s string) bool { return glob.Match(pattern, s, false) }

// Value reads field from a as a string ("" when absent or null).
func Value(a *api.Alert, field string) string {
	switch field {
	case "rule":
		return a.Rule
	case "priority":
		return a.Priority.String()
	case "source":
		return a.Source
	case "hostname":
		return a.Hostname
	case "output":
		return a.Output
	case "uuid":
		return a.UUID
	case "tags":
		return strings.Join(a.Tags, ",")
	}
	return FieldString(a.OutputFields[field])
}

// FieldString renders an output_fields value as text: strings as they are,
// numbers in their JSON form, booleans as true/false, null as "", lists
// joined with ",".
func FieldString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = FieldString(e)
		}
		return strings.Join(parts, ",")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// All is a conjunction of matchers; empty matches everything.
type All []Matcher

// Matches reports whether a satisfies every matcher.
func (s All) Matches(a *api.Alert) bool {
	for i := range s {
		if !s[i].Matches(a) {
			return false
		}
	}
	return true
}

// ParseAll parses each string as one matcher.
func ParseAll(ss []string) (All, error) {
	out := make(All, 0, len(ss))
	for _, s := range ss {
		m, err := Parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// String joins the matchers with ", ".
func (s All) String() string {
	parts := make([]string, len(s))
	for i, m := range s {
		parts[i] = m.String()
	}
	return strings.Join(parts, ", ")
}
