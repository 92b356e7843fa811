package queue

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lookout-sec/lookout/router/api"
)

// TestDiskFull puts the store on a tiny tmpfs: when the disk is full,
// Enqueue fails with ErrFull (the server's 503) and every alert accepted
// before stays readable, also after a reopen; acks make room again.
func TestDiskFull(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root; CI runs as root): %v", err)
	}
	defer func() { _ = syscall.Unmount(dir, 0) }()
	var s *Store
	defer func() { _ = s.Close() }()

	s, err := Open(Options{Dir: dir, Outputs: []OutputOptions{{Name: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 2000)
	var accepted int
	for i := 0; i < 1000; i++ {
		a := alert(i)
		a.Output = big
		err = s.Enqueue(context.Background(), map[string][]*api.Alert{"a": {a}})
		if err != nil {
			break
		}
		accepted++
	}
	if !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("after %d alerts: %v, want ErrFull (disk full)", accepted, err)
	}
	if accepted == 0 {
		t.Fatal("nothing accepted before the disk filled")
	}
	items := lease(t, s, "a", 10000)
	if len(items) != accepted {
		t.Fatalf("%d items readable, %d accepted", len(items), accepted)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: dir, Outputs: []OutputOptions{{Name: "a"}}})
	if err != nil {
		t.Fatalf("reopen after disk full: %v", err)
	}
	items = lease(t, s, "a", 10000)
	if len(items) != accepted {
		t.Fatalf("after reopen %d items, %d accepted", len(items), accepted)
	}
	for i, it := range items {
		if it.Alert.UUID != alert(i).UUID {
			t.Fatalf("item %d is %s", i, it.Alert.UUID)
		}
	}
	if err := s.Ack("a", items[:len(items)/2]...); err != nil {
		t.Fatal(err)
	}
	a := alert(5000)
	a.Output = big
	if err := s.Enqueue(context.Background(), map[string][]*api.Alert{"a": {a}}); err != nil {
		t.Fatalf("after freeing half: %v", err)
	}
	// The acks reached the file: a reopen holds exactly what was not acked.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: dir, Outputs: []OutputOptions{{Name: "a"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Stats("a").Len, accepted-len(items)/2+1; got != want {
		t.Fatalf("after reopen %d items, want %d", got, want)
	}
}
