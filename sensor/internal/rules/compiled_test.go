package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompiledGolden pins, for every upstream stable rule, the compiled
// condition (lists substituted, macros expanded) and its event types in
// testdata/compiled/falco_rules.txt (-update rewrites it). A change in the
// parser, the list substitution or the macro expansion shows up here.
func TestCompiledGolden(t *testing.T) {
	e := loadDefault(t, MatchFirst)
	var b strings.Builder
	for _, r := range e.Rules() {
		b.WriteString("rule: " + r.Name + "\n")
		b.WriteString("events: " + strings.Join(r.EventTypes, " ") + "\n")
		b.WriteString("condition: " + r.Condition + "\n\n")
	}
	path := filepath.Join("testdata", "compiled", "falco_rules.txt")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("compiled conditions differ from %s (rerun with -update and review the diff)", path)
	}
}
