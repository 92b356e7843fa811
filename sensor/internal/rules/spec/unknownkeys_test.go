package spec

import (
	"strings"
	"testing"
)

func TestUnknownKeys(t *testing.T) {
	src := []Source{{Name: "typo.yaml", Data: []byte(`- list: l
  items: [a]
  itemz: [b]
- macro: m
  condition: evt.type = open
- rule: My rule
  desc: d
  condition: m
  output: x
  priority: WARNING
  enabeld: false
`)}}
	set, err := Load(src)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"typo.yaml:3:3: unknown key 'itemz' in list 'l' (allowed: list, items, append, override)",
		"typo.yaml:11:3: unknown key 'enabeld' in rule 'My rule' (allowed: rule, desc, condition",
	}
	for _, w := range want {
		found := false
		for _, got := range set.Warnings {
			found = found || strings.HasPrefix(got, w)
		}
		if !found {
			t.Errorf("no warning %q in %q", w, set.Warnings)
		}
	}
	_, err = LoadWith(src, Options{Strict: true})
	if err == nil || !strings.Contains(err.Error(), "typo.yaml:3:3: unknown key 'itemz' in list 'l'") || !strings.Contains(err.Error(), "itemz: [b]\n") || !strings.HasSuffix(strings.TrimSpace(err.Error()), "^") {
		t.Fatalf("strict: %v", err)
	}
}
