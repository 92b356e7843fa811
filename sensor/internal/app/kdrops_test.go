package app

import (
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
	"github.com/lookout-sec/lookout/sensor/internal/probe"
)

func TestKernelDropAlert(t *testing.T) {
	sec := int64(time.Second)
	stats := func(inv, ringFull uint64) probe.Stats {
		return probe.Stats{Syscall: probe.Category{Invocations: inv, DropRingFull: ringFull}, Exec: probe.Category{Invocations: 1}}
	}
	var k kernelDrops
	steps := []struct {
		name      string
		ps        probe.Stats
		now       int64
		wantAlert bool
		wantDrops uint64
	}{
		{"no drops", stats(100, 0), 1 * sec, false, 0},
		{"first drops alert at once", stats(200, 7), 2 * sec, true, 7},
		{"more drops within the interval wait", stats(300, 9), 10 * sec, false, 0},
		{"after the interval the new drops are reported", stats(400, 12), 40 * sec, true, 5},
		{"no new drops, no alert", stats(500, 12), 100 * sec, false, 0},
	}
	for _, st := range steps {
		a, ok := k.check(st.ps, st.now, 30*time.Second, "h")
		if ok != st.wantAlert {
			t.Fatalf("%s: alert %v, want %v", st.name, ok, st.wantAlert)
		}
		if !ok {
			continue
		}
		if a.Rule != KernelDropRule || a.Priority != api.PriorityCritical || a.Hostname != "h" ||
			a.OutputFields["n_drops"] != st.wantDrops || a.OutputFields["n_drops_syscall"] != st.wantDrops ||
			!a.Time.Equal(time.Unix(0, st.now)) {
			t.Errorf("%s: alert %+v", st.name, a)
		}
	}
}
