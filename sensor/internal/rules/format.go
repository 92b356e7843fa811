package rules

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/rules/fields"
)

// suggested is what Falco's default append_output (suggested_output: true
// with the container plugin) appends to every syscall rule's output.
const suggested = " container_id=%container.id container_name=%container.name"

// format is a compiled output format: literal text and %field tokens.
type format struct {
	toks     []token
	warnings []string
}

// token is literal text (field nil) or a %field token.
type token struct {
	lit   string
	field *fields.Field
	key   string // output_fields key: the token text, "" for transformed fields
	width int
	xform string // transformer applied to the rendered value
}

type formatError struct {
	off int
	msg string
}

func (e *formatError) Error() string { return fmt.Sprintf("offset %d: %s", e.off, e.msg) }

var transformers = map[string]bool{"tolower": true, "toupper": true, "b64": true, "basename": true, "len": true}

// compileFormat compiles a rule's output, with the suggested container
// fields appended as Falco 0.41+ does by default when withSuggested.
func compileFormat(tbl *fields.Table, s string, withSuggested bool) (*format, error) {
	f := &format{}
	if err := f.parse(tbl, s); err != nil {
		return nil, err
	}
	if withSuggested {
		if err := f.parse(tbl, suggested); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// scanName returns the end of a dotted field name starting at i: segments
// of [A-Za-z0-9_] separated by single dots.
func scanName(s string, i int) int {
	j := i
	for j < len(s) && isNameChar(s[j]) {
		j++
	}
	for j+1 < len(s) && s[j] == '.' && isNameChar(s[j+1]) {
		j++
		for j < len(s) && isNameChar(s[j]) {
			j++
		}
	}
	return j
}

func (f *format) parse(tbl *fields.Table, s string) error {
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.toks = append(f.toks, token{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c != '%' {
			lit.WriteByte(c)
			i++
			continue
		}
		start := i
		i++
		w := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		width := 0
		if i > w {
			width, _ = strconv.Atoi(s[w:i])
		}
		end := scanName(s, i)
		if end == i {
			return &formatError{start, fmt.Sprintf("expected a field name after '%%' in %q", s[start:min(len(s), start+20)])}
		}
		name := s[i:end]
		if name == "container.info" {
			f.warnings = append(f.warnings, "%container.info is deprecated and expands to nothing")
			i = end
			continue
		}
		tok := token{width: width}
		if transformers[name] && end < len(s) && s[end] == '(' {
			in := end + 1
			ie := scanName(s, in)
			fld, ae, err := resolveToken(tbl, s, in, ie)
			if err != nil {
				return err
			}
			if ae >= len(s) || s[ae] != ')' {
				return &formatError{ae, fmt.Sprintf("expected ')' after the argument of %s()", name)}
			}
			tok.field, tok.xform = fld, name
			i = ae + 1
		} else {
			fld, ae, err := resolveToken(tbl, s, i, end)
			if err != nil {
				return err
			}
			tok.field, tok.key = fld, s[i:ae]
			i = ae
		}
		flush()
		f.toks = append(f.toks, tok)
	}
	flush()
	return nil
}

// resolveToken resolves the field name s[i:end] with an optional [arg]
// after it, trying shorter dotted prefixes when the whole name is unknown
// (Falco takes the longest prefix that is a field). It returns the end of
// the token.
func resolveToken(tbl *fields.Table, s string, i, end int) (*fields.Field, int, error) {
	if end == i {
		return nil, i, &formatError{i, "expected a field name"}
	}
	var firstErr error
	for e := end; e > i; {
		name := s[i:e]
		arg, te := "", e
		if e < len(s) && s[e] == '[' {
			close := strings.IndexByte(s[e:], ']')
			if close < 0 {
				return nil, e, &formatError{e, fmt.Sprintf("missing ']' after %q", s[i:])}
			}
			arg, te = s[e+1:e+close], e+close+1
		}
		fld, err := tbl.Resolve(name, arg)
		if err == nil {
			return fld, te, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if !errors.Is(err, fields.ErrUnknownField) {
			break
		}
		e = strings.LastIndexByte(name, '.')
		if e < 0 {
			break
		}
		e += i
	}
	return nil, i, &formatError{i, firstErr.Error()}
}

func applyTransformer(x, s string, n int) string {
	switch x {
	case "tolower":
		return strings.ToLower(s)
	case "toupper":
		return strings.ToUpper(s)
	case "basename":
		if i := strings.LastIndexByte(s, '/'); i >= 0 {
			return s[i+1:]
		}
		return s
	case "b64":
		if d, err := base64.StdEncoding.DecodeString(s); err == nil {
			return string(d)
		}
		return s
	case "len":
		return strconv.Itoa(n)
	}
	return s
}

// alert builds the alert for r matching ev.
func (e *Engine) alert(r *rule, ev *event.Event, st *evalState) *api.Alert {
	fieldsOut := make(map[string]any, len(r.out.toks)+1)
	var b strings.Builder
	st.vals = e.prefix.Extract(ev, st.vals[:0])
	b.WriteString(e.prefix.Render(st.vals))
	fieldsOut[e.prefixKey] = e.prefix.JSON(st.vals)
	b.WriteString(": ")
	b.WriteString(r.priority.String())
	b.WriteByte(' ')
	for i := range r.out.toks {
		t := &r.out.toks[i]
		if t.field == nil {
			b.WriteString(t.lit)
			continue
		}
		st.vals = t.field.Extract(ev, st.vals[:0])
		s := t.field.Render(st.vals)
		if t.xform != "" {
			if len(st.vals) > 0 {
				n := len(s)
				if t.field.Multi {
					n = len(st.vals)
				}
				s = applyTransformer(t.xform, s, n)
			}
		} else if _, ok := fieldsOut[t.key]; !ok {
			fieldsOut[t.key] = t.field.JSON(st.vals)
		}
		if t.width > 0 {
			if len(s) > t.width {
				s = s[:t.width]
			} else {
				s += strings.Repeat(" ", t.width-len(s))
			}
		}
		b.WriteString(s)
	}
	return &api.Alert{
		Hostname:     e.hostname,
		Output:       b.String(),
		OutputFields: fieldsOut,
		Priority:     r.priority,
		Rule:         r.name,
		Source:       r.source,
		Tags:         slices.Clone(r.tags), // the alert is the caller's to modify
		Time:         timeOf(ev.TS),
	}
}
