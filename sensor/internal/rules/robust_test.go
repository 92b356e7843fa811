package rules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/event"
	"github.com/lookout-sec/lookout/sensor/internal/ruleset"
)

// TestBareEvents evaluates every stable rule, and renders every stable
// rule's output, on events with no process, no fd and no arguments, for
// every event type: nothing may panic and every output renders.
func TestBareEvents(t *testing.T) {
	base := loadDefault(t, MatchAll)
	// A second engine where every rule fires on its event types, so each
	// output is rendered with everything missing.
	var ov strings.Builder
	for _, r := range base.Rules() {
		fmt.Fprintf(&ov, "- rule: %s\n  condition: evt.type in (%s)\n  override:\n    condition: replace\n",
			r.Name, strings.Join(r.EventTypes, ", "))
	}
	always, _, err := Load([]Source{{Name: ruleset.DefaultName, Data: ruleset.Default}, {Name: "always.yaml", Data: []byte(ov.String())}},
		Options{MinPriority: api.PriorityDebug, Matching: MatchAll, Fields: utcTable()})
	if err != nil {
		t.Fatal(err)
	}
	fired := map[string]bool{}
	for typ := event.TypeUnknown; typ <= event.NumTypes; typ++ {
		for _, ev := range []*event.Event{
			{Type: typ, TS: testTS},
			{Type: typ, TS: testTS, Proc: &event.Process{}, FD: &event.FD{}},
			{Type: typ, TS: testTS, Proc: &event.Process{Parent: &event.Process{}, Container: &event.Container{}},
				Args: []event.Arg{{Name: "flags", Kind: event.ArgFlags, Flags: 255}, {Name: "x", Kind: event.ArgTuple}}},
		} {
			base.Eval(ev, func(*api.Alert) {})
			always.Eval(ev, func(a *api.Alert) {
				fired[a.Rule] = true
				if !strings.HasPrefix(a.Output, "12:34:56.123456789: ") || a.OutputFields["evt.time"] != testTS {
					t.Errorf("%s: output %q fields %v", a.Rule, a.Output, a.OutputFields)
				}
			})
		}
	}
	if len(fired) != 25 {
		t.Errorf("%d rules rendered, want 25", len(fired))
	}
}
