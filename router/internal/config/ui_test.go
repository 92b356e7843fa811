package config

import (
	"strings"
	"testing"
	"time"
)

func TestUIConfig(t *testing.T) {
	c, err := loadYAML(t, `
admin: {tokens: [adm]}
ui:
  viewer_tokens: [look]
  session_ttl: 1h
  history: {path: /tmp/h.db, max_age: 2d, max_bytes: 10485760, buffer: 8}
outputs: [{name: out, type: stdout}]
`)
	if err != nil {
		t.Fatal(err)
	}
	u := c.UI
	if !u.On(c) || len(u.ViewerTokens) != 1 || string(u.ViewerTokens[0]) != "look" || u.SessionTTL != time.Hour {
		t.Fatalf("ui: %+v", u)
	}
	if h := u.History; h.Path != "/tmp/h.db" || h.MaxAge != 48*time.Hour || h.MaxBytes != 10<<20 || h.Buffer != 8 {
		t.Fatalf("history: %+v", h)
	}
}

func TestUIDefaultsAndOff(t *testing.T) {
	c, err := loadYAML(t, "outputs: [{name: out, type: stdout}]\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.UI.On(c) {
		t.Fatal("the UI must be off without admin tokens")
	}
	if c.UI.History.MaxAge != DefaultUIHistoryMaxAge || c.UI.SessionTTL != DefaultUISessionTTL {
		t.Fatalf("defaults: %+v", c.UI)
	}
	c, err = loadYAML(t, "admin: {tokens: [a]}\nui: {enabled: false}\noutputs: [{name: out, type: stdout}]\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.UI.On(c) {
		t.Fatal("ui.enabled: false must turn it off")
	}
}

func TestUIConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"ui: {colour: red}", "ui.colour: unknown key"},
		{"ui: {history: {max_bytes: 10}}", "ui.history.max_bytes: 10: at least"},
		{"ui: {history: {max_age: soon}}", "ui.history.max_age"},
		{"ui: {viewer_tokens: ['']}", "ui.viewer_tokens[0]: an empty token"},
		{"ui: {search: {source: kibana}}", `ui.search.source: "kibana" is not one of history, elasticsearch`},
		{"ui: {search: {source: elasticsearch}}", "ui.search.output: is required with source: elasticsearch"},
		{"ui: {search: {output: out}}", "ui.search.output: only with source: elasticsearch"},
		{"ui: {search: {source: elasticsearch, output: out}}", `ui.search.output: output "out" is of type stdout, not elasticsearch`},
		{"ui: {search: {source: elasticsearch, output: nope}}", `ui.search.output: "nope" is not a configured output, and no output is of type elasticsearch`},
	} {
		_, err := loadYAML(t, tc.yaml+"\noutputs: [{name: out, type: stdout}]\n")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestUISearchConfig(t *testing.T) {
	const outs = `
outputs:
  - {name: out, type: stdout}
  - {name: forensics, type: elasticsearch, elasticsearch: {index: alerts}}
  - {name: siem, type: elasticsearch, elasticsearch: {document: ecs}}
`
	c, err := loadYAML(t, "ui: {search: {source: elasticsearch, output: forensics}}"+outs)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.UI.Search; s.Source != UISearchElasticsearch || s.Output != "forensics" {
		t.Fatalf("search: %+v", s)
	}
	c, err = loadYAML(t, outs)
	if err != nil || c.UI.Search.Source != UISearchHistory {
		t.Fatalf("default source: %+v, %v", c.UI.Search, err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"ui: {search: {source: elasticsearch, output: nope}}", `ui.search.output: "nope" is not a configured output (elasticsearch outputs: forensics, siem)`},
		{"ui: {search: {source: elasticsearch, output: siem}}", `ui.search.output: output "siem" writes document: ecs`},
	} {
		_, err := loadYAML(t, tc.yaml+outs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
