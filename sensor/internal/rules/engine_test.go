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

// TestUpstreamRuleFilesLoad loads each of Falco's incubating, sandbox and
// deprecated rules files unmodified on top of the stable one: every rule
// must compile (none skipped). Rules the file itself disables
// (enabled: false) load inactive.
func TestUpstreamRuleFilesLoad(t *testing.T) {
	want := map[string]struct {
		sum          string
		rules, total int
	}{
		"falco-incubating_rules.yaml": {"47bf87041e2f39ca336e7acf1ae4e6183771a92e81031f367d01f2b49cabe1ac", 31, 56},
		"falco-sandbox_rules.yaml":    {"6849ec5e9b55ba81ca5214559dc1a1c32e051acc0a7791da7841a850f853f59a", 37, 62},
		"falco-deprecated_rules.yaml": {"dc045df8453d54ada600cb4703bb19bb1f0fe0206a78a09f1351c53c5f8d0284", 4, 29},
	}
	for _, f := range ruleset.Extra() {
		t.Run(f.Name, func(t *testing.T) {
			w, ok := want[f.Name]
			if !ok {
				t.Fatalf("unexpected embedded file %s", f.Name)
			}
			sum := sha256.Sum256(f.Data)
			if got := hex.EncodeToString(sum[:]); got != w.sum {
				t.Errorf("embedded %s has sha256 %s, want the upstream file's %s", f.Name, got, w.sum)
			}
			e, rep, err := Load([]Source{{Name: ruleset.DefaultName, Data: ruleset.Default}, {Name: f.Name, Data: f.Data}},
				Options{MinPriority: api.PriorityDebug})
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if len(rep.Skipped) != 0 {
				t.Fatalf("skipped rules: %v (warnings %v)", rep.Skipped, rep.Warnings)
			}
			if rep.Rules != w.total || len(e.Rules()) != w.total {
				t.Fatalf("got %d rules (%d infos), want %d (25 stable + %d)", rep.Rules, len(e.Rules()), w.total, w.rules)
			}
			active := 0
			for _, r := range e.Rules() {
				if r.Active {
					active++
				}
			}
			t.Logf("%s: %d rules, %d compiled, %d active", f.Name, w.rules, rep.Rules-25, active-25)
		})
	}
}
