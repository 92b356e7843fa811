package match

import (
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

// FuzzParse: any input either fails with an error or gives a matcher whose
// printed form parses back to a matcher with the same decision.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`rule = "Terminal shell in container"`, `k8s.ns.name glob dev-*`, `priority in (critical, alert)`,
		`fd.name =~ "/etc/(shadow|passwd)"`, `tags != x`, `a !in ("x, y", 'z')`, `x = "\u00e9\n"`, `rule=`, `in in (in)`} {
		f.Add(s)
	}
	a := &api.Alert{Rule: "r", Priority: api.PriorityNotice, Tags: []string{"x", "y"}, Time: time.Unix(0, 0),
		OutputFields: map[string]any{"a": "x", "k8s.ns.name": "dev-1", "fd.name": "/etc/shadow"}}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			return
		}
		want := m.Matches(a)
		m2, err := Parse(m.String())
		if err != nil {
			t.Fatalf("%q parsed, but its printed form %q does not: %v", s, m.String(), err)
		}
		if m2.Matches(a) != want || m2.Field != m.Field || m2.Op != m.Op {
			t.Fatalf("%q and its printed form %q decide differently", s, m.String())
		}
	})
}
