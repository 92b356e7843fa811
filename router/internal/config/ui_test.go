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
	} {
		_, err := loadYAML(t, tc.yaml+"\noutputs: [{name: out, type: stdout}]\n")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
