package rules

import (
	"crypto/sha256"
	"encoding/hex"
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

// upstreamSHA256 is the hash of falcosecurity/rules rules/falco_rules.yaml
// at c92ae05ff43acc8e8720c928fcfbe233eb17a9e8 (see ruleset/NOTICE.md).
const upstreamSHA256 = "1c15d5d543635b76e31cca39d7df8bf4caf50a428613c314d92986a23bfcb617"

// TestDefaultRulesetUnmodified pins the embedded file to the upstream one:
// the engine must load it as is, never a patched copy.
func TestDefaultRulesetUnmodified(t *testing.T) {
	sum := sha256.Sum256(ruleset.Default)
	if got := hex.EncodeToString(sum[:]); got != upstreamSHA256 {
		t.Errorf("embedded falco_rules.yaml has sha256 %s, want the upstream file's %s", got, upstreamSHA256)
	}
}
