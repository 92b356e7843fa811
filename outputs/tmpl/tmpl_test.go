package tmpl

import (
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	for text, want := range map[string]string{
		`{{ .Rule }} on {{ .Hostname }}`:                                      "Read sensitive file untrusted on node-1",
		`{{ field "proc.name" . }} {{ field "k8s.ns.name" . | default "-" }}`: "cat -",
		`{{ .Priority }} {{ .Priority | upper }}`:                             "Warning WARNING",
		`{{ join ", " .Tags }}`:                                               "filesystem, mitre_credential_access",
		`{{ truncate 8 .Rule }}`:                                              "Read se…",
		`{"r": {{ quote .Rule }}, "f": {{ json .OutputFields }}}`:             `{"r": "Read sensitive file untrusted", "f": {"container.id":"host","fd.name":"/etc/shadow","k8s.ns.name":null,"k8s.pod.name":null,"proc.name":"cat","proc.pid":4242,"user.name":"root"}}`,
		`{{ timeFormat "2006-01-02" .Time }}`:                                 "2026-11-23",
		`{{ index .OutputFields "fd.name" }}`:                                 "/etc/shadow",
	} {
		tp, err := Parse("k", text)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		got, err := tp.Execute(Sample())
		if err != nil || got != want {
			t.Errorf("%q = %q, %v; want %q", text, got, err, want)
		}
	}
}

// TestErrorsNameKeyAndLine: syntax errors and errors only an execution
// finds (a misspelt field) fail at Parse with the key and the line.
func TestErrorsNameKeyAndLine(t *testing.T) {
	for text, want := range map[string]string{
		"ok\n{{ .Rule ":        `slack.template: template: slack.template:2: unclosed action`,
		"{{ nosuch .Rule }}":   `slack.template: template: slack.template:1: function "nosuch" not defined`,
		"a\nb\n{{ .Rulee }}":   `slack.template: with a sample alert: template: slack.template:3:3: executing "slack.template" at <.Rulee>: can't evaluate field Rulee`,
		"{{ truncate .Rule }}": `slack.template: with a sample alert: template: slack.template:1:3: executing "slack.template" at <truncate>: wrong number of args`,
	} {
		_, err := Parse("slack.template", text)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: %v\nwant %s...", text, err, want)
		}
	}
}
