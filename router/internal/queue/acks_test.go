package queue

import (
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var errTest = errors.New("destination said no")

// inFile counts output out's records in the bbolt file.
func inFile(t *testing.T, s *Store, out string) int {
	t.Helper()
	n := 0
	if err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(queueBucket(out)).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitInFile(t *testing.T, s *Store, out string, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for inFile(t, s, out) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d records of %s in the file, want %d", inFile(t, s, out), out, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// An ack leaves the index at once and reaches the file on its own, with no
// other write to carry it (the timer), and a full batch of acks without
// waiting for the delay.
func TestAcksReachTheFile(t *testing.T) {
	s := open(t, t.TempDir(), OutputOptions{Name: "a"})
	defer s.Close()
	enqueue(t, s, "a", 0, 10)
	items := lease(t, s, "a", 10)
	if err := s.Ack("a", items[:4]...); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats("a"); st.Len != 6 {
		t.Fatalf("index holds %d after acking 4 of 10", st.Len)
	}
	waitInFile(t, s, "a", 6)

	enqueue(t, s, "a", 10, 10+AckBatch)
	rest := append(items[4:], lease(t, s, "a", AckBatch)...)
	if err := s.Ack("a", rest...); err != nil {
		t.Fatal(err)
	}
	waitInFile(t, s, "a", 0)
	s.mu.Lock()
	pending := s.unackedN
	s.mu.Unlock()
	if pending != 0 {
		t.Fatalf("%d acks still pending", pending)
	}
}

// A hot entry is leased without reading the file; after a retry rewrote its
// record it is read back from disk, attempts included.
func TestHotCache(t *testing.T) {
	s := open(t, t.TempDir(), OutputOptions{Name: "a"}, OutputOptions{Name: "b"})
	defer s.Close()
	enqueue(t, s, "a", 0, 1)
	s.mu.Lock()
	hot := s.hotBytes()
	s.mu.Unlock()
	if hot == 0 {
		t.Fatal("a fresh entry is not hot")
	}
	it := lease(t, s, "a", 1)[0]
	if it.Alert.UUID != alert(0).UUID || it.Attempts != 0 {
		t.Fatalf("hot lease: %+v", it)
	}
	if err := s.Retry("a", it, time.Now(), errTest); err != nil {
		t.Fatal(err)
	}
	it = lease(t, s, "a", 1)[0]
	if it.Attempts != 1 || it.LastError != errTest.Error() || it.Alert.UUID != alert(0).UUID {
		t.Fatalf("lease after retry: attempts %d err %q", it.Attempts, it.LastError)
	}
	if err := s.Ack("a", it); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	hot = s.hotBytes()
	s.mu.Unlock()
	if hot != 0 {
		t.Fatalf("%d hot bytes left after the only entry went", hot)
	}
	// With the cache off every lease reads the file.
	c, err := Open(Options{Dir: t.TempDir(), Outputs: []OutputOptions{{Name: "a"}}, HotBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	enqueue(t, c, "a", 0, 3)
	if got := uuids(lease(t, c, "a", 3)); len(got) != 3 {
		t.Fatalf("cold leases: %v", got)
	}
}
