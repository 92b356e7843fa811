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

// A durable queue keeps only a small index entry in memory per queued item
// (the record is in the file): a backlog of a million alerts must not cost
// the router hundreds of megabytes of heap (issue 19). The slope between
// two backlogs leaves out the fixed costs (bbolt's buffers, the last batch
// still referenced).
func TestDurableBacklogHeapPerItem(t *testing.T) {
	cases := []struct {
		name   string
		window int
		max    float64 // bytes of heap per queued item
	}{
		// The default window: past its 16,384 entries a backlog costs the
		// heap nothing per item (window.go).
		{"window", 0, 4},
		// Everything indexed: the entry is 48 bytes and its slot 8; the
		// slice grows by doubling.
		{"all indexed", -1, 80},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(Options{Dir: t.TempDir(), Outputs: []OutputOptions{{Name: "a"}}, HotBytes: -1, IndexWindow: c.window})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			fill := func(from, to int) uint64 {
				for i := from; i < to; i += 1000 {
					var as []*api.Alert
					for j := i; j < i+1000; j++ {
						as = append(as, alert(j))
					}
					if err := s.Enqueue(context.Background(), map[string][]*api.Alert{"a": as}); err != nil {
						t.Fatal(err)
					}
				}
				var m runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&m)
				return m.HeapAlloc
			}
			const first, n = 20000, 100000
			base := fill(0, first)
			perItem := (float64(fill(first, first+n)) - float64(base)) / n
			t.Logf("%d more queued items: %.1f bytes of heap per item", n, perItem)
			if perItem > c.max {
				t.Errorf("%.1f bytes of heap per queued item; want at most %.0f", perItem, c.max)
			}
		})
	}
}
