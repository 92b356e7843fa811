package queue

import (
	"errors"
	"fmt"
	"testing"
)

// TestReplayRepeatedIDOnce: issue 16 item 9. Replaying ids [x, x, x] used
// to queue the alert three times (three deliveries).
func TestReplayRepeatedIDOnce(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	enqueue(t, s, "a", 0, 2)
	items := lease(t, s, "a", 2)
	for _, it := range items {
		if err := s.DeadLetter("a", it, errors.New("status 400"), true); err != nil {
			t.Fatal(err)
		}
	}
	dl, err := s.DeadLetters("a")
	if err != nil || len(dl) != 2 {
		t.Fatalf("dead letters: %v %v", dl, err)
	}
	x := dl[0].ID
	if n, err := s.Replay("a", []uint64{x, x, x}); err != nil || n != 1 {
		t.Fatalf("replay [x x x]: %d %v, want 1", n, err)
	}
	if got := uuids(lease(t, s, "a", 10)); fmt.Sprint(got) != "[uuid-0000]" {
		t.Fatalf("queue after replay: %v, want the alert once", got)
	}
	if n, err := s.Purge("a", []uint64{dl[1].ID, dl[1].ID}); err != nil || n != 1 {
		t.Fatalf("purge [y y]: %d %v, want 1", n, err)
	}
}
