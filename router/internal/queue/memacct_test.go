package queue

import (
	"context"
	"runtime"
	"testing"

	"github.com/lookout-sec/lookout/router/api"
)

// In memory mode max_bytes bounds the heap: the bytes the store accounts
// for queued items cover what they really take on the heap, within a
// margin (hot entries' decoded alerts excepted: HotBytes bounds those).
func TestMemoryModeAccountsTheHeap(t *testing.T) {
	s, err := Open(Options{Outputs: []OutputOptions{{Name: "a"}}, HotBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 20000
	for i := 0; i < n; i += 100 {
		var as []*api.Alert
		for j := i; j < i+100; j++ {
			as = append(as, alert(j))
		}
		if err := s.Enqueue(context.Background(), map[string][]*api.Alert{"a": as}); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc - before.HeapAlloc)
	used := float64(s.Used())
	t.Logf("%d items: %.0f bytes accounted, %.0f bytes of heap (%.0f and %.0f per item)", n, used, heap, used/n, heap/n)
	if heap > 1.25*used {
		t.Errorf("the heap holds %.0f bytes for %.0f accounted: max_bytes would not bound it", heap, used)
	}
	runtime.KeepAlive(s)
}
