package rules

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/ruleset"
)

// TestReloadSwap runs the documented reload pattern under the race
// detector: one goroutine evaluates through an atomic pointer while
// another loads new engines (sharing one field table) and swaps them in;
// a second evaluating goroutine uses its own engine concurrently.
func TestReloadSwap(t *testing.T) {
	tbl := utcTable()
	load := func(extra string) *Engine {
		e, _, err := Load([]Source{{Name: ruleset.DefaultName, Data: ruleset.Default}, {Name: "x.yaml", Data: []byte(extra)}},
			Options{MinPriority: api.PriorityDebug, Fields: tbl, Hostname: "h"})
		if err != nil {
			t.Error(err)
		}
		return e
	}
	var cur atomic.Pointer[Engine]
	cur.Store(load(""))
	evs := testEvents()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var alerts atomic.Int64
	evalLoop := func(get func() *Engine) {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			get().Eval(evs[i%len(evs)], func(a *api.Alert) {
				a.Tags = append(a.Tags, "mutated") // alerts are the caller's
				alerts.Add(1)
			})
		}
	}
	own := load("")
	wg.Add(2)
	go evalLoop(cur.Load)
	go evalLoop(func() *Engine { return own })
	for i := 0; i < 3; i++ {
		cur.Store(load("- rule: Read sensitive file untrusted\n  enabled: false\n  override:\n    enabled: replace\n"))
	}
	close(stop)
	wg.Wait()
	if alerts.Load() == 0 {
		t.Error("no alerts")
	}
}
