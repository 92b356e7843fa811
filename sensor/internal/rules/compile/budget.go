package compile

import (
	"fmt"
	"strings"

	"github.com/lookout-sec/lookout/sensor/internal/rules/spec"
)

// DefaultMaxExpandedBytes is the default of Options.MaxExpandedBytes. The
// upstream Falco rules use well under a megabyte of it (see
// docs/rules-engine.md), so the default leaves room for large local lists
// while a rule-file bomb (nested lists or macros that multiply) fails in
// milliseconds instead of taking gigabytes.
const DefaultMaxExpandedBytes = 16 << 20

// nodeCost is what one condition node after macro expansion counts against
// the budget: roughly the memory the node and its compiled predicate take.
const nodeCost = 64

// budget accounts for everything the compiler expands: the text of every
// list after nested lists are expanded, every condition after list
// substitution, and every node after macro expansion. It is checked before
// anything is built, so a bomb never materialises.
type budget struct {
	max, used int
	// work counts the bytes list substitution copies (each replacement
	// rebuilds the condition), bounded by workFactor·max so that a
	// condition naming a list thousands of times cannot take minutes.
	work int
}

// workFactor bounds substitution work relative to the cap: 64 × 16 MiB
// is about a second of copying on a loaded machine.
const workFactor = 64

// take charges n bytes; it fails when the total would exceed the cap.
func (b *budget) take(n int) error {
	if n < 0 || n > b.max-b.used {
		return &budgetError{max: b.max}
	}
	b.used += n
	return nil
}

// budgetError says the cap was reached; callers add the position.
type budgetError struct {
	max  int
	work bool // the substitution work bound, not the size cap
}

func (e *budgetError) Error() string {
	if e.work {
		return fmt.Sprintf("list substitution would copy more than %d bytes (%d × rules_max_expanded_bytes); a condition naming lists thousands of times?", workFactor*e.max, workFactor)
	}
	return fmt.Sprintf("the rule set expands to more than %d bytes of lists, conditions and macros (rules_max_expanded_bytes); nested lists or macros that multiply?", e.max)
}

// list is a list after its references to earlier lists are expanded: the
// text that replaces its name in conditions.
type list struct {
	name string
	sub  string // items (quoted where needed) joined by ", "
}

// expandLists resolves list items naming earlier lists (Falco's
// compile_list_infos visibility rule) and joins each list's items into the
// text that list substitution inserts. The size of each list is computed
// and charged before its text is built.
func expandLists(ls []*spec.List, b *budget) ([]list, error) {
	byName := make(map[string]*spec.List, len(ls))
	for _, l := range ls {
		byName[l.Name] = l
	}
	done := make(map[string]string, len(ls))
	out := make([]list, 0, len(ls))
	var sb strings.Builder
	for _, l := range ls {
		parts := make([]string, 0, len(l.Items))
		size := 0
		for _, it := range l.Items {
			part := quoteItem(it)
			if ref := byName[it]; ref != nil && ref.Index < l.Visibility {
				if s, ok := done[it]; ok {
					if s == "" {
						continue // an empty list adds no items
					}
					part = s
				}
			}
			if len(parts) > 0 {
				size += 2
			}
			size += len(part)
			parts = append(parts, part)
			if size > b.max-b.used {
				break
			}
		}
		if err := b.take(size); err != nil {
			return nil, &spec.Error{Pos: l.Pos, Msg: fmt.Sprintf("list '%s': %v", l.Name, err)}
		}
		sb.Reset()
		sb.Grow(size)
		for i, p := range parts {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(p)
		}
		done[l.Name] = sb.String()
		out = append(out, list{name: l.Name, sub: done[l.Name]})
	}
	return out, nil
}

// substitute applies Falco's textual list substitution (resolve_list) for
// every list, charging the grown text to the budget before building it.
func (c *compiler) substitute(cnd string) (string, error) {
	for _, l := range c.lists {
		var err error
		if cnd, err = resolveList(cnd, l, c.budget); err != nil {
			return "", err
		}
	}
	return cnd, c.budget.take(len(cnd))
}
