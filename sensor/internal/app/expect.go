package app

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lookout-sec/lookout/sensor/internal/rules"
)

// checkExpect fails when a rule named by --expect could never fire: not
// loaded (with the closest loaded names), disabled, or below min_priority.
func checkExpect(expect []string, loaded []rules.RuleInfo) error {
	byName := make(map[string]rules.RuleInfo, len(loaded))
	for _, r := range loaded {
		byName[r.Name] = r
	}
	for _, want := range expect {
		r, ok := byName[want]
		switch {
		case !ok:
			msg := fmt.Sprintf("rules test: --expect %q: no rule of that name is loaded", want)
			if s := closest(want, loaded, 3); len(s) > 0 {
				msg += "; did you mean " + strings.Join(s, ", ") + "?"
			}
			return fmt.Errorf("%s", msg)
		case !r.Enabled:
			return fmt.Errorf("rules test: --expect %q: the rule is disabled (enabled: false, %s); enable it with an override in a rules file given with -r", want, r.Source)
		case !r.Active:
			return fmt.Errorf("rules test: --expect %q: the rule's priority %s is below min_priority, so it never runs", want, r.Priority)
		}
	}
	return nil
}

// closest returns up to n loaded rule names nearest to name (edit distance
// on lower case, at most half the name's length).
func closest(name string, loaded []rules.RuleInfo, n int) []string {
	type cand struct {
		name string
		d    int
	}
	lw := strings.ToLower(name)
	var cs []cand
	for _, r := range loaded {
		ln := strings.ToLower(r.Name)
		d := levenshtein(lw, ln)
		if strings.Contains(ln, lw) || strings.Contains(lw, ln) {
			d = min(d, 1)
		}
		if d <= max(2, len(name)/2) {
			cs = append(cs, cand{r.Name, d})
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].d < cs[j].d || cs[i].d == cs[j].d && cs[i].name < cs[j].name })
	var out []string
	for i := 0; i < len(cs) && i < n; i++ {
		out = append(out, fmt.Sprintf("%q", cs[i].name))
	}
	return out
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
