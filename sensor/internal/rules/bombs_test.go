package rules

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/rules/compile"
	"github.com/lookout-sec/lookout/sensor/internal/ruleset"
)

// listBomb is the rule-file bomb of issue 16: L0 holds ten items and each
// of the next levels lists the previous one ten times, so Llevels expands to
// 10^(levels+1) items. 8 levels is 622 bytes of YAML here (the issue's
// was 569).
func listBomb(levels int) string {
	var b strings.Builder
	b.WriteString("- list: L0\n  items: [a, b, c, d, e, f, g, h, i, j]\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "- list: L%d\n  items: [%s]\n", i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("L%d, ", i-1), 10), ", "))
	}
	fmt.Fprintf(&b, "- rule: R\n  desc: d\n  condition: proc.name in (L%d)\n  output: o\n  priority: WARNING\n", levels)
	return b.String()
}

// macroBomb defines a macro that is just under the per-rule node cap and
// many rules that each use it: each rule alone is allowed, together they
// would be millions of nodes.
func macroBomb(rules int) string {
	var b strings.Builder
	b.WriteString("- macro: m0\n  condition: proc.name = a or proc.name = b\n")
	for i := 1; i <= 14; i++ {
		fmt.Fprintf(&b, "- macro: m%d\n  condition: m%d or m%d\n", i, i-1, i-1)
	}
	for i := range rules {
		fmt.Fprintf(&b, "- rule: R%d\n  desc: d\n  condition: evt.type = execve and m14\n  output: o\n  priority: WARNING\n", i)
	}
	return b.String()
}

// substitutionBomb uses one big (but allowed) list in many conditions.
func substitutionBomb() string {
	var b strings.Builder
	b.WriteString("- list: big\n  items: [")
	for i := range 20000 {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "item%05d", i)
	}
	b.WriteString("]\n- macro: m\n  condition: proc.name in (big) or proc.pname in (big) or fd.name in (big)\n")
	for i := range 200 {
		fmt.Fprintf(&b, "- rule: R%d\n  desc: d\n  condition: evt.type = execve and proc.name in (big)\n  output: o\n  priority: WARNING\n", i)
	}
	return b.String()
}

// TestRuleBombs loads each bomb and checks that it fails with the cap and
// the position of the item that crossed it, and that loading it allocates
// little: the expansion is bounded while it is built, not checked after.
func TestRuleBombs(t *testing.T) {
	tests := []struct {
		name, yaml, want string
		max              int
	}{
		{"8 levels of lists", listBomb(8), "a.yaml:13:3: list 'L6': the rule set expands to more than 16777216 bytes", 0},
		{"7 levels of lists", listBomb(7), "a.yaml:13:3: list 'L6': the rule set expands to more than 16777216 bytes", 0},
		{"lower cap", listBomb(5), "a.yaml:9:3: list 'L4': the rule set expands to more than 100000 bytes", 100000},
		{"macros shared by many rules", macroBomb(300), "rule 'R", 0},
		{"one list substituted in many conditions", substitutionBomb(), "the rule set expands to more than 1000000 bytes", 1_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, _, err := Load([]Source{{Name: "a.yaml", Data: []byte(tt.yaml)}},
				Options{MinPriority: api.PriorityDebug, Fields: utcTable(), MaxExpandedBytes: tt.max})
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("the bomb loaded")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "rules_max_expanded_bytes") {
				t.Fatalf("error %q, want it to contain %q and the key", err, tt.want)
			}
			if testing.Verbose() {
				t.Log(err)
			}
			cap := tt.max
			if cap == 0 {
				cap = compile.DefaultMaxExpandedBytes
			}
			// What was allocated is bounded by a small multiple of the cap
			// (the text, the item slices and parse trees of what fit).
			if got := after.TotalAlloc - before.TotalAlloc; got > uint64(8*cap)+64<<20 {
				t.Errorf("loading the bomb allocated %d MB; cap %d MB", got>>20, cap>>20)
			}
		})
	}
}

// TestUpstreamRulesFarUnderCap checks that the embedded upstream rules use
// a small fraction of the default cap.
func TestUpstreamRulesFarUnderCap(t *testing.T) {
	_, _, err := Load([]Source{{Name: ruleset.DefaultName, Data: ruleset.Default}},
		Options{MinPriority: api.PriorityDebug, Fields: utcTable(), MaxExpandedBytes: compile.DefaultMaxExpandedBytes / 100})
	if err != nil {
		t.Fatalf("the upstream rules need more than 1%% of the default cap: %v", err)
	}
}

// FuzzLoadMemory loads fuzzed rules files under a 1 MiB expansion cap and
// checks what the load allocated, not just that it did not panic: however
// the lists and macros nest, a load stays within a bounded multiple of the
// cap plus the input.
func FuzzLoadMemory(f *testing.F) {
	f.Add([]byte(listBomb(3)))
	f.Add([]byte(listBomb(6)))
	f.Add([]byte(macroBomb(3)))
	f.Add([]byte("- list: a\n  items: [x, y]\n- list: b\n  items: [a, a, a]\n- macro: m\n  condition: proc.name in (b) or proc.pname in (b)\n- macro: n\n  condition: m or m or m\n- rule: R\n  desc: d\n  condition: evt.type = execve and (n or n)\n  output: o\n  priority: INFO\n"))
	const limit = 1 << 20
	tbl := utcTable()
	f.Fuzz(func(t *testing.T, data []byte) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err := Load([]Source{{Name: "a.yaml", Data: data}},
			Options{MinPriority: api.PriorityDebug, Fields: tbl, MaxExpandedBytes: limit})
		runtime.ReadMemStats(&after)
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
		if got, bound := after.TotalAlloc-before.TotalAlloc, uint64(64*limit+2000*len(data)); got > bound {
			t.Fatalf("load of %d bytes allocated %d bytes (bound %d): %v", len(data), got, bound, err)
		}
	})
}

// TestRejectedBombKeepsHeap is the library side of a rejected SIGHUP
// reload: with an engine loaded, loading bombs fails and leaves the live
// heap as it was (nothing of the failed load is kept).
func TestRejectedBombKeepsHeap(t *testing.T) {
	eng, _, err := Load([]Source{{Name: ruleset.DefaultName, Data: ruleset.Default}}, Options{MinPriority: api.PriorityDebug, Fields: utcTable()})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 3 {
		if _, _, err := Load([]Source{{Name: "bomb.yaml", Data: []byte(listBomb(8))}}, Options{MinPriority: api.PriorityDebug, Fields: utcTable()}); err == nil {
			t.Fatal("the bomb loaded")
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if after.HeapAlloc > before.HeapAlloc+4<<20 {
		t.Errorf("live heap grew from %d KB to %d KB after rejected loads", before.HeapAlloc>>10, after.HeapAlloc>>10)
	}
	runtime.KeepAlive(eng)
}

// TestSubstitutionWorkBounded: a condition naming a list 20,000 times is
// small when expanded but each replacement used to copy the whole
// condition again (seconds to minutes of CPU for a few hundred KB of
// YAML); the work is bounded and the load fails fast instead.
func TestSubstitutionWorkBounded(t *testing.T) {
	refs := strings.TrimSuffix(strings.Repeat("proc.name in (l) or ", 20000), " or ")
	yaml := "- list: l\n  items: [x]\n- rule: R\n  desc: d\n  condition: evt.type = execve and (" + refs + ")\n  output: o\n  priority: WARNING\n"
	_, _, err := Load([]Source{{Name: "a.yaml", Data: []byte(yaml)}}, Options{MinPriority: api.PriorityDebug, Fields: utcTable()})
	if err == nil || !strings.HasPrefix(err.Error(), "a.yaml:5:14: rule 'R': list substitution would copy more than 1073741824 bytes (64 × rules_max_expanded_bytes)") {
		t.Fatalf("got %v", err)
	}
}
