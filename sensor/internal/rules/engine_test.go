package rules

import (
	"testing"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/ruleset"
)

// TestDefaultRulesetLoads loads the embedded upstream falco_rules.yaml
// unmodified with the real field table: every one of its 25 rules must
// compile (none skipped) and be active at priority debug.
func TestDefaultRulesetLoads(t *testing.T) {
	e, rep, err := Load([]Source{{Name: ruleset.DefaultName, Data: ruleset.Default}}, Options{MinPriority: api.PriorityDebug})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if len(rep.Skipped) != 0 {
		t.Fatalf("skipped rules: %v (warnings %v)", rep.Skipped, rep.Warnings)
	}
	if rep.Rules != 25 || len(e.Rules()) != 25 {
		t.Fatalf("got %d rules (%d infos), want 25", rep.Rules, len(e.Rules()))
	}
	for _, r := range e.Rules() {
		if len(r.EventTypes) == 0 {
			t.Errorf("rule %q has no event types", r.Name)
		}
		t.Logf("%s %v %v active=%v", r.Name, r.Priority, r.EventTypes, r.Active)
	}
	t.Logf("warnings: %q", rep.Warnings)
	ts := e.EventTypes()
	t.Logf("types: %v", ts.Types())
}
