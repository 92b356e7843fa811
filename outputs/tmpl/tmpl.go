// Package tmpl is the one message template language of every output (Slack
// text and blocks, PagerDuty summary and custom details, the webhook body,
// Elasticsearch extra fields): Go text/template over the alert, with the
// same functions everywhere, as Falcosidekick's messageformat and
// Alertmanager's templates are.
//
// The data is the api.Alert: {{ .Rule }}, {{ .Priority }}, {{ .Output }},
// {{ .Hostname }}, {{ .Source }}, {{ .Tags }}, {{ .Time }}, {{ .UUID }},
// {{ index .OutputFields "proc.name" }}. Functions: field NAME (an output
// field as text, "" when absent or null), default DEF X, upper, lower,
// trim, join SEP LIST, replace OLD NEW S, contains SUB S, hasPrefix P S,
// truncate N S (runes, with "…"), json X (JSON text), quote S (a JSON
// string literal, for hand-written JSON bodies), timeFormat LAYOUT T.
//
// Sprig is not included: it brings a dozen modules, and functions such as
// env and expandenv would let a template read the router's environment,
// where secrets live. The set above covers Falcosidekick's templates.
//
// Parse checks a template twice: its syntax, and one execution against
// Sample, so a misspelt field or function fails at start-up (and in
// --check) with the key and the template's line, not at the first alert.
package tmpl

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/lookout-sec/lookout/router/api"
)

// Template is a parsed, checked message template.
type Template struct {
	key string
	t   *template.Template
}

// Funcs is the function set of every template.
func Funcs() template.FuncMap {
	return template.FuncMap{
		"field": func(name string, a *api.Alert) string {
			v, ok := a.OutputFields[name]
			if !ok || v == nil {
				return ""
			}
			return fmt.Sprint(v)
		},
		"default": func(def string, v any) any {
			if v == nil || fmt.Sprint(v) == "" {
				return def
			}
			return v
		},
		"upper":     func(v any) string { return strings.ToUpper(str(v)) },
		"lower":     func(v any) string { return strings.ToLower(str(v)) },
		"trim":      func(v any) string { return strings.TrimSpace(str(v)) },
		"join":      func(sep string, l []string) string { return strings.Join(l, sep) },
		"replace":   func(old, new string, v any) string { return strings.ReplaceAll(str(v), old, new) },
		"contains":  func(sub string, v any) bool { return strings.Contains(str(v), sub) },
		"hasPrefix": func(p string, v any) bool { return strings.HasPrefix(str(v), p) },
		"truncate": func(n int, v any) string {
			s := str(v)
			if utf8.RuneCountInString(s) <= n || n < 1 {
				return s
			}
			r := []rune(s)
			return string(r[:n-1]) + "…"
		},
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
		"quote": func(v any) string {
			b, _ := json.Marshal(str(v))
			return string(b)
		},
		"timeFormat": func(layout string, t time.Time) string { return t.Format(layout) },
	}
}

// str is v as text (a Priority as its name, nil as "").
func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// Parse parses text as the template at key (the config key, e.g.
// "slack.template") and executes it once against Sample. Errors name the
// key and the template's line and column.
func Parse(key, text string) (*Template, error) {
	t, err := template.New(key).Funcs(Funcs()).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	tp := &Template{key: key, t: t}
	if _, err := tp.Execute(Sample()); err != nil {
		return nil, fmt.Errorf("%s: with a sample alert: %w", key, err)
	}
	return tp, nil
}

// MustParse is Parse for templates already checked (in Validate).
func MustParse(key, text string) *Template {
	t, err := Parse(key, text)
	if err != nil {
		panic(err)
	}
	return t
}

// Execute renders the template for a.
func (t *Template) Execute(a *api.Alert) (string, error) {
	var b strings.Builder
	if err := t.t.Execute(&b, a); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Map is a set of named templates (PagerDuty custom details, Elasticsearch
// extra fields).
type Map map[string]*Template

// ParseMap parses every entry of m, under key.
func ParseMap(key string, m map[string]string) (Map, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(Map, len(m))
	for k, v := range m {
		t, err := Parse(key+"."+k, v)
		if err != nil {
			return nil, err
		}
		out[k] = t
	}
	return out, nil
}

// Execute renders every entry for a.
func (m Map) Execute(a *api.Alert) (map[string]string, error) {
	out := make(map[string]string, len(m))
	for k, t := range m {
		s, err := t.Execute(a)
		if err != nil {
			return nil, err
		}
		out[k] = s
	}
	return out, nil
}

// Sample is the alert templates are checked against: every field set.
func Sample() *api.Alert {
	return &api.Alert{
		Hostname: "node-1",
		Output:   "10:00:00.123456789: Warning Sensitive file opened for reading (file=/etc/shadow user=root)",
		OutputFields: map[string]any{
			"fd.name": "/etc/shadow", "user.name": "root", "proc.name": "cat", "proc.pid": json.Number("4242"),
			"container.id": "host", "k8s.ns.name": nil, "k8s.pod.name": nil,
		},
		Priority: api.PriorityWarning,
		Rule:     "Read sensitive file untrusted",
		Source:   "syscall",
		Tags:     []string{"filesystem", "mitre_credential_access"},
		Time:     time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC),
		UUID:     "3f1c1b9e-7d0a-4f6e-9a51-2b9f0c6d1e77",
	}
}
