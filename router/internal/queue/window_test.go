package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

func openWindow(t *testing.T, dir string, window int, outs ...OutputOptions) *Store {
	t.Helper()
	if len(outs) == 0 {
		outs = []OutputOptions{{Name: "a"}}
	}
	s, err := Open(Options{Dir: dir, Outputs: outs, IndexWindow: window})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkCounts fails unless output name's counts add up: the index holds at
// most the window (plus what the last refill found), and live, bytes and
// Used agree with the index plus the tail.
func checkCounts(t *testing.T, s *Store, name string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.outs[name]
	n, bytes := 0, int64(0)
	for _, e := range q.entries {
		if !e.gone {
			n++
			bytes += e.size
		}
	}
	if n+q.tail.n != q.live || bytes+q.tail.bytes != q.bytes {
		t.Fatalf("output %s: index %d items %d bytes + tail %d items %d bytes, counted %d items %d bytes",
			name, n, bytes, q.tail.n, q.tail.bytes, q.live, q.bytes)
	}
	if q.window > 0 && n > q.window {
		t.Fatalf("output %s indexes %d items, window %d", name, n, q.window)
	}
}

// drainInOrder leases and acks all of output name's items, batch at a
// time, and returns their uuids.
func drainInOrder(t *testing.T, s *Store, name string, batch int) []string {
	t.Helper()
	return takeN(t, s, name, s.Stats(name).Len, batch)
}

// takeN leases and acks output name's items, batch at a time, until it has
// n, and returns their uuids.
func takeN(t *testing.T, s *Store, name string, n, batch int) []string {
	t.Helper()
	var got []string
	for len(got) < n {
		items := lease(t, s, name, batch)
		got = append(got, uuids(items)...)
		if err := s.Ack(name, items...); err != nil {
			t.Fatal(err)
		}
		checkCounts(t, s, name)
	}
	return got
}

func mustOpen(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// reopen closes s and opens the store again with opts.
func reopen(t *testing.T, s *Store, opts Options) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return mustOpen(t, opts)
}

func want(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("uuid-%04d", i))
	}
	return out
}

func TestWindowPagesTheBacklog(t *testing.T) {
	s := openWindow(t, t.TempDir(), 8)
	defer s.Close()
	for i, n := 0, 1; i < 60; i, n = i+n, n%13+3 { // batches of 1, 4, 7, 10, 13, 3, ...
		enqueue(t, s, "a", i, min(i+n, 60))
		checkCounts(t, s, "a")
	}
	if st := s.Stats("a"); st.Len != 60 || st.Oldest.IsZero() {
		t.Fatalf("stats %+v", st)
	}
	if q := s.outs["a"]; q.tail.n != 52 {
		t.Fatalf("tail %d items, want 52 past a window of 8", q.tail.n)
	}
	if got := drainInOrder(t, s, "a", 3); fmt.Sprint(got) != fmt.Sprint(want(0, 60)) {
		t.Fatalf("drained %v", got)
	}
	if s.Used() != 0 {
		t.Fatalf("used %d after draining", s.Used())
	}
	enqueue(t, s, "a", 100, 103) // an empty tail starts over
	if got := drainInOrder(t, s, "a", 10); fmt.Sprint(got) != fmt.Sprint(want(100, 103)) {
		t.Fatalf("after draining: %v", got)
	}
}

func TestWindowAfterReopen(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	opts := Options{Dir: t.TempDir(), Outputs: []OutputOptions{{Name: "a"}}, IndexWindow: 2, Now: func() time.Time { return now }}
	s := mustOpen(t, opts)
	enqueue(t, s, "a", 0, 20)
	first := lease(t, s, "a", 2) // items 0 and 1: the window
	s.Release("a", first[0])     // 0 stays due
	err := s.Retry("a", first[1], now.Add(time.Hour), errors.New("status 503"))
	if err != nil {
		t.Fatal(err)
	}
	// Reopened with the same window: items 0 and 1 (held back an hour) are
	// indexed, 2-19 wait in the tail and come in as item 0 is acked.
	s = reopen(t, s, opts)
	defer s.Close()
	if st := s.Stats("a"); st.Len != 20 {
		t.Fatalf("reopened: %d items", st.Len)
	}
	checkCounts(t, s, "a")
	got := takeN(t, s, "a", 19, 1)
	exp := append([]string{"uuid-0000"}, want(2, 20)...)
	if fmt.Sprint(got) != fmt.Sprint(exp) {
		t.Fatalf("leased %v, want %v (item 1 held back)", got, exp)
	}
	now = now.Add(2 * time.Hour)
	again := lease(t, s, "a", 5)
	if len(again) != 1 || short(again[0].Alert.UUID) != "uuid-0001" || again[0].Attempts != 1 {
		t.Fatalf("due again: %+v", again)
	}
}

func TestWindowRetryReadFromTheTail(t *testing.T) {
	// A record retried before a restart can sit past the window after it:
	// the refill reads its "next" from the file and the lease honours it.
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	opts := Options{Dir: t.TempDir(), Outputs: []OutputOptions{{Name: "a"}}, IndexWindow: 16, Now: func() time.Time { return now }}
	s := mustOpen(t, opts)
	enqueue(t, s, "a", 0, 12)
	items := lease(t, s, "a", 12)
	if err := s.Retry("a", items[9], now.Add(time.Hour), errors.New("timeout")); err != nil {
		t.Fatal(err)
	}
	s.Release("a", append(items[:9:9], items[10:]...)...)
	opts.IndexWindow = 4 // items 0-3 indexed, 4-11 in the tail
	s = reopen(t, s, opts)
	defer s.Close()
	got := takeN(t, s, "a", 11, 2)
	exp := append(want(0, 9), want(10, 12)...)
	if fmt.Sprint(got) != fmt.Sprint(exp) {
		t.Fatalf("leased %v, want %v", got, exp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if early, err := s.Lease(ctx, "a", 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("item 9 leased before it was due: %v %v", uuids(early), err)
	}
	now = now.Add(2 * time.Hour)
	if late := lease(t, s, "a", 1); short(late[0].Alert.UUID) != "uuid-0009" || late[0].Attempts != 1 {
		t.Fatalf("due: %+v", late)
	}
}

func TestWindowDropOldestSheds(t *testing.T) {
	// An output that leases nothing sheds its oldest items through the
	// window, which refills from the tail as it empties.
	dropped := 0
	s, err := Open(Options{Dir: t.TempDir(), MaxBytes: 20000, IndexWindow: 4,
		Outputs: []OutputOptions{{Name: "a", DropOldest: true}}, OnDrop: func(_ string, n int) { dropped += n }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 300; i++ {
		if err := s.Enqueue(context.Background(), map[string][]*api.Alert{"a": {alert(i)}}); err != nil {
			t.Fatalf("alert %d: %v", i, err)
		}
		checkCounts(t, s, "a")
	}
	if dropped == 0 || s.Used() > 20000 {
		t.Fatalf("dropped %d, used %d", dropped, s.Used())
	}
	kept := 300 - dropped
	if got := drainInOrder(t, s, "a", 7); fmt.Sprint(got) != fmt.Sprint(want(300-kept, 300)) {
		t.Fatalf("kept %v, want the newest %d", got, kept)
	}
}

func TestWindowUnderConcurrency(t *testing.T) {
	// Writers and workers at once, two outputs, a small window: every item
	// is delivered once, in order per output, and the counts add up.
	s := openWindow(t, t.TempDir(), 16, OutputOptions{Name: "a"}, OutputOptions{Name: "b"})
	defer s.Close()
	const writers, per = 4, 250
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; i < per; i += 5 {
				var as []*api.Alert
				for j := i; j < i+5; j++ {
					as = append(as, alert(w*per+j))
				}
				if err := s.Enqueue(context.Background(), map[string][]*api.Alert{"a": as, "b": as}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seen := map[string]map[string]int{"a": {}, "b": {}}
	var mu sync.Mutex
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var workers sync.WaitGroup
	for _, name := range []string{"a", "a", "a", "b", "b"} {
		workers.Go(func() {
			for {
				mu.Lock()
				done := len(seen[name]) == writers*per
				mu.Unlock()
				if done {
					return
				}
				lctx, lcancel := context.WithTimeout(ctx, 200*time.Millisecond)
				items, err := s.Lease(lctx, name, 3)
				lcancel()
				if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, it := range items {
					seen[name][it.Alert.UUID]++
				}
				mu.Unlock()
				if err := s.Ack(name, items...); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	workers.Wait()
	for _, name := range []string{"a", "b"} {
		checkCounts(t, s, name)
		if len(seen[name]) != writers*per {
			t.Fatalf("output %s delivered %d distinct items of %d", name, len(seen[name]), writers*per)
		}
		for u, n := range seen[name] {
			if n != 1 {
				t.Fatalf("output %s delivered %s %d times", name, u, n)
			}
		}
		if st := s.Stats(name); st.Len != 0 {
			t.Fatalf("output %s: %d left", name, st.Len)
		}
	}
	if s.Used() != 0 {
		t.Fatalf("used %d", s.Used())
	}
}

func TestWindowTailTakesOnlyNewerItems(t *testing.T) {
	// A write committed out of sequence order (a dead-letter replay takes
	// its sequences inside the commit) is indexed, never put in the tail
	// below an indexed item: the tail's range must hold tail items only.
	q := newOutq(OutputOptions{Name: "a"}, 2)
	for _, seq := range []uint64{1, 3, 2, 5, 4} {
		q.add(&entry{seq: seq, size: 10})
	}
	var indexed []uint64
	for _, e := range q.entries {
		indexed = append(indexed, e.seq)
	}
	if fmt.Sprint(indexed) != "[1 2 3]" || q.tail.n != 2 || q.tail.first != 4 || q.tail.last != 5 || q.live != 5 || q.bytes != 50 {
		t.Fatalf("indexed %v, tail %+v, live %d bytes %d", indexed, q.tail, q.live, q.bytes)
	}
}
