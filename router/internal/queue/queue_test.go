package queue

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/router/api"
)

func alert(i int) *api.Alert {
	return &api.Alert{
		Rule: fmt.Sprintf("rule %d", i), Priority: api.PriorityWarning, Source: "syscall", Output: "out",
		Time: time.Date(2026, 11, 23, 10, 0, 0, i, time.UTC), UUID: fmt.Sprintf("00000000-0000-4000-8000-00000000%04d", i),
		OutputFields: map[string]any{"n": i},
	}
}

func open(t *testing.T, dir string, outs ...OutputOptions) *Store {
	t.Helper()
	if len(outs) == 0 {
		outs = []OutputOptions{{Name: "a"}, {Name: "b"}}
	}
	s, err := Open(Options{Dir: dir, Outputs: outs})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func enqueue(t *testing.T, s *Store, out string, from, to int) {
	t.Helper()
	var as []*api.Alert
	for i := from; i < to; i++ {
		as = append(as, alert(i))
	}
	if err := s.Enqueue(context.Background(), map[string][]*api.Alert{out: as}); err != nil {
		t.Fatal(err)
	}
}

func lease(t *testing.T, s *Store, out string, n int) []Item {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	items, err := s.Lease(ctx, out, n)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// short turns the test uuid of alert i into "uuid-i" (four digits).
func short(u string) string { return "uuid-" + u[len(u)-4:] }

func uuids(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, short(it.Alert.UUID))
	}
	return out
}

func TestReopenKeepsItemsInOrder(t *testing.T) {
	for _, mode := range []string{"durable", "memory"} {
		t.Run(mode, func(t *testing.T) {
			dir := ""
			if mode == "durable" {
				dir = t.TempDir()
			}
			s := open(t, dir)
			enqueue(t, s, "a", 0, 5)
			enqueue(t, s, "b", 100, 102)
			got := lease(t, s, "a", 2)
			if want := []string{"uuid-0000", "uuid-0001"}; fmt.Sprint(uuids(got)) != fmt.Sprint(want) {
				t.Fatalf("lease = %v, want %v", uuids(got), want)
			}
			if got[0].Alert.OutputFields["n"] == nil || got[0].Alert.Rule != "rule 0" {
				t.Fatalf("alert not kept: %+v", got[0].Alert)
			}
			// Leased items are not handed out twice.
			next := lease(t, s, "a", 1)
			if short(next[0].Alert.UUID) != "uuid-0002" {
				t.Fatalf("after two leased, got %s", next[0].Alert.UUID)
			}
			if err := s.Ack("a", got[0]); err != nil {
				t.Fatal(err)
			}
			if st := s.Stats("a"); st.Len != 4 || st.Leased != 2 {
				t.Fatalf("stats %+v", st)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if dir == "" {
				return
			}
			// Reopen: the acked item is gone, the leased-but-unacked ones come back first, in order.
			s = open(t, dir)
			defer s.Close()
			if st := s.Stats("a"); st.Len != 4 || st.Leased != 0 {
				t.Fatalf("after reopen stats %+v", st)
			}
			if got := uuids(lease(t, s, "a", 10)); fmt.Sprint(got) != fmt.Sprint([]string{"uuid-0001", "uuid-0002", "uuid-0003", "uuid-0004"}) {
				t.Fatalf("after reopen lease = %v", got)
			}
			enqueue(t, s, "a", 5, 6)
			if got := uuids(lease(t, s, "a", 10)); fmt.Sprint(got) != "[uuid-0005]" {
				t.Fatalf("new item after reopen = %v", got)
			}
			if got := uuids(lease(t, s, "b", 10)); len(got) != 2 {
				t.Fatalf("output b = %v", got)
			}
		})
	}
}

func TestRetryHoldsBackOnlyThatItem(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	s, err := Open(Options{Dir: t.TempDir(), Outputs: []OutputOptions{{Name: "a"}}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	enqueue(t, s, "a", 0, 3)
	first := lease(t, s, "a", 1)[0]
	if err := s.Retry("a", first, now.Add(time.Hour), errors.New("status 503: busy")); err != nil {
		t.Fatal(err)
	}
	if got := uuids(lease(t, s, "a", 10)); fmt.Sprint(got) != "[uuid-0001 uuid-0002]" {
		t.Fatalf("with item 0 held back, lease = %v", got)
	}
	now = now.Add(2 * time.Hour)
	again := lease(t, s, "a", 10)
	if len(again) != 1 || short(again[0].Alert.UUID) != "uuid-0000" || again[0].Attempts != 1 || again[0].LastError != "status 503: busy" {
		t.Fatalf("due again: %+v", again)
	}
}

func TestReleaseWakesLease(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	enqueue(t, s, "a", 0, 1)
	it := lease(t, s, "a", 1)
	done := make(chan []Item)
	go func() {
		items, _ := s.Lease(context.Background(), "a", 1)
		done <- items
	}()
	s.Release("a", it...)
	if got := <-done; len(got) != 1 || short(got[0].Alert.UUID) != "uuid-0000" {
		t.Fatalf("got %v", uuids(got))
	}
}

func TestLeaseEndsOnCloseAndContext(t *testing.T) {
	s := open(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Lease(ctx, "a", 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}
	errc := make(chan error)
	go func() { _, err := s.Lease(context.Background(), "a", 1); errc <- err }()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if err := s.Enqueue(context.Background(), map[string][]*api.Alert{"a": {alert(1)}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("enqueue after close: %v", err)
	}
}

func TestMaxBytes(t *testing.T) {
	cases := []struct {
		name       string
		dropOldest bool
	}{{"refuse", false}, {"drop oldest", true}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dropped := 0
			s, err := Open(Options{Dir: t.TempDir(), MaxBytes: 2000, Outputs: []OutputOptions{{Name: "a", DropOldest: c.dropOldest}},
				OnDrop: func(_ string, n int) { dropped += n }})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			n := 0
			for ; n < 100; n++ {
				err = s.Enqueue(context.Background(), map[string][]*api.Alert{"a": {alert(n)}})
				if err != nil {
					break
				}
			}
			if c.dropOldest {
				if err != nil || dropped == 0 {
					t.Fatalf("drop oldest: err %v, dropped %d", err, dropped)
				}
				items := lease(t, s, "a", 1000)
				if last := short(items[len(items)-1].Alert.UUID); last != "uuid-0099" || len(items)+dropped != 100 {
					t.Fatalf("kept %d (last %s), dropped %d", len(items), last, dropped)
				}
				return
			}
			if !errors.Is(err, ErrFull) || n == 0 {
				t.Fatalf("after %d alerts: %v", n, err)
			}
			if s.Used() > 2000 {
				t.Fatalf("used %d > max", s.Used())
			}
			items := lease(t, s, "a", 1000)
			if len(items) != n {
				t.Fatalf("kept %d, acked %d", len(items), n)
			}
			if err := s.Ack("a", items...); err != nil {
				t.Fatal(err)
			}
			enqueue(t, s, "a", 200, 201) // room again
		})
	}
}

func TestDeadLetters(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	enqueue(t, s, "a", 0, 3)
	items := lease(t, s, "a", 3)
	for _, it := range items[:2] {
		if err := s.DeadLetter("a", it, errors.New("status 400: bad request"), true); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = open(t, dir)
	defer s.Close()
	dl, err := s.DeadLetters("a")
	if err != nil {
		t.Fatal(err)
	}
	if len(dl) != 2 || dl[0].Error != "status 400: bad request" || dl[0].Attempts != 1 || dl[0].Output != "a" || dl[0].LastAttempt.IsZero() {
		t.Fatalf("dead letters %+v", dl)
	}
	if n, err := s.Replay("a", []uint64{dl[1].ID, 999}); err != nil || n != 1 {
		t.Fatalf("replay: %d %v", n, err)
	}
	// The replayed alert goes to the end of the queue.
	if got := uuids(lease(t, s, "a", 10)); fmt.Sprint(got) != "[uuid-0002 uuid-0001]" {
		t.Fatalf("after replay lease = %v", got)
	}
	if n, err := s.Purge("a", nil); err != nil || n != 1 {
		t.Fatalf("purge: %d %v", n, err)
	}
	if dl, _ := s.DeadLetters("a"); len(dl) != 0 {
		t.Fatalf("after purge %v", dl)
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	defer s.Close()
	_, err := Open(Options{Dir: dir, Outputs: []OutputOptions{{Name: "a"}}, LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	if _, err := Open(Options{Dir: filepath.Join(dir, FileName, "x")}); err == nil {
		t.Fatal("dir under a file: no error")
	}
}
