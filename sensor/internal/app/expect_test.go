package app

import (
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/sensor/internal/rules"
)

func TestCheckExpect(t *testing.T) {
	loaded := []rules.RuleInfo{
		{Name: "Read sensitive file untrusted", Enabled: true, Active: true},
		{Name: "Read sensitive file trusted after startup", Enabled: true, Active: true},
		{Name: "Terminal shell in container", Enabled: true, Active: true},
		{Name: "Off rule", Enabled: false, Source: "x.yaml:3:3"},
		{Name: "Quiet rule", Enabled: true, Active: false},
	}
	if err := checkExpect([]string{"Terminal shell in container"}, loaded); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"Read sensitive file untrustd": `no rule of that name is loaded; did you mean "Read sensitive file untrusted"`,
		"read sensitive file":          `did you mean "Read sensitive file trusted after startup", "Read sensitive file untrusted"?`,
		"Nothing like it at all":       `"Nothing like it at all": no rule of that name is loaded`,
		"Off rule":                     "the rule is disabled (enabled: false, x.yaml:3:3)",
		"Quiet rule":                   "below min_priority",
	} {
		err := checkExpect([]string{in}, loaded)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}
