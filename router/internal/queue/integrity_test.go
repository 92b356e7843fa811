package queue

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// filledQueue writes n alerts to output "a" of a queue in a new directory,
// closes it and returns the directory.
func filledQueue(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	s := open(t, dir, OutputOptions{Name: "a"})
	for i := 0; i < n; i += 100 {
		enqueue(t, s, "a", i, min(i+100, n))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

var quiet = slog.New(slog.DiscardHandler)

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	for _, f := range []string{FileName, MarkerName} {
		b, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// drain leases and acks everything (poison records go to dead letters on
// the way) and returns how many alerts it read.
func drain(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	for s.Stats("a").Len > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		items, err := s.Lease(ctx, "a", 100)
		cancel()
		if err != nil {
			if s.Stats("a").Len == 0 {
				break // the last ones were poison
			}
			t.Fatalf("lease: %v", err)
		}
		n += len(items)
		if err := s.Ack("a", items...); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// TestDamagedQueueFiles damages real queue files (issue 16 item 3): a
// truncated file and flipped bytes are a clear error naming the file, or
// (bytes flipped inside records) poison records, never a panic; an empty
// or missing file where a queue existed is refused unless InitQueue.
func TestDamagedQueueFiles(t *testing.T) {
	const n = 600
	good := filledQueue(t, n)
	if b, err := os.ReadFile(filepath.Join(good, MarkerName)); err != nil || !strings.Contains(string(b), "id: ") {
		t.Fatalf("marker: %q, %v", b, err)
	}
	fi, _ := os.Stat(filepath.Join(good, FileName))
	size := fi.Size()

	t.Run("truncated", func(t *testing.T) {
		for _, frac := range []float64{0.9, 0.5, 0.1, 0.01} {
			dir := copyDir(t, good)
			path := filepath.Join(dir, FileName)
			if err := os.Truncate(path, int64(float64(size)*frac)); err != nil {
				t.Fatal(err)
			}
			s, err := Open(Options{Dir: dir, Outputs: []OutputOptions{{Name: "a"}}, Logger: quiet})
			if err == nil { // the cut fell in free pages only: nothing may be missing
				got := drain(t, s)
				_ = s.Close()
				if got != n {
					t.Errorf("truncated to %.0f%%: opened with %d of %d alerts, silently", frac*100, got, n)
				}
				continue
			}
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "queue salvage") {
				t.Errorf("truncated to %.0f%%: %v; want ErrDamaged naming %s and salvage", frac*100, err, path)
			}
		}
	})

	t.Run("flipped bytes", func(t *testing.T) {
		refused, opened, read, deadN := 0, 0, 0, 0
		for seed := range uint64(12) {
			dir := copyDir(t, good)
			path := filepath.Join(dir, FileName)
			b, _ := os.ReadFile(path)
			r := rand.New(rand.NewPCG(seed, 16))
			for range 1 + seed%8 {
				off := r.IntN(len(b))
				b[off] ^= byte(1 + r.IntN(255))
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(Options{Dir: dir, Outputs: []OutputOptions{{Name: "a"}}, Logger: quiet})
			if err != nil {
				if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) {
					t.Errorf("seed %d: %v; want ErrDamaged naming the file", seed, err)
				}
				refused++
				continue
			}
			got := drain(t, s)
			dead, err := s.DeadLetters("a")
			if err != nil {
				t.Errorf("seed %d: dead letters: %v", seed, err)
			}
			if got+len(dead) > n {
				t.Errorf("seed %d: %d read + %d dead letters > %d stored", seed, got, len(dead), n)
			}
			_ = s.Close()
			opened++
			read += got
			deadN += len(dead)
		}
		t.Logf("%d damaged files: %d refused with ErrDamaged, %d opened (damage in free pages or inside records): %d alerts read, %d dead letters, %d unaccounted of %d", refused+opened, refused, opened, read, deadN, opened*n-read-deadN, opened*n)
	})

	t.Run("empty file", func(t *testing.T) {
		dir := copyDir(t, good)
		path := filepath.Join(dir, FileName)
		if err := os.Truncate(path, 0); err != nil {
			t.Fatal(err)
		}
		_, err := Open(Options{Dir: dir, Outputs: []OutputOptions{{Name: "a"}}, Logger: quiet})
		if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "is empty (0 bytes)") || !strings.Contains(err.Error(), "--init-queue") {
			t.Fatalf("empty file: %v", err)
		}
		s, err := Open(Options{Dir: dir, Outputs: []OutputOptions{{Name: "a"}}, InitQueue: true, Logger: quiet})
		if err != nil {
			t.Fatalf("with InitQueue: %v", err)
		}
		_ = s.Close()
		if m, _ := filepath.Glob(path + ".empty-*"); len(m) != 1 {
			t.Errorf("the empty file was not kept aside: %v", m)
		}
	})

	t.Run("missing file", func(t *testing.T) {
		dir := copyDir(t, good)
		if err := os.Remove(filepath.Join(dir, FileName)); err != nil {
			t.Fatal(err)
		}
		_, err := Open(Options{Dir: dir, Outputs: []OutputOptions{{Name: "a"}}, Logger: quiet})
		if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "is missing but") || !strings.Contains(err.Error(), MarkerName) {
			t.Fatalf("missing file: %v", err)
		}
		s, err := Open(Options{Dir: dir, Outputs: []OutputOptions{{Name: "a"}}, InitQueue: true, Logger: quiet})
		if err != nil {
			t.Fatalf("with InitQueue: %v", err)
		}
		if st := s.Stats("a"); st.Len != 0 {
			t.Errorf("fresh queue holds %d", st.Len)
		}
		_ = s.Close()
	})

	t.Run("intact", func(t *testing.T) {
		s, err := Open(Options{Dir: copyDir(t, good), Outputs: []OutputOptions{{Name: "a"}}, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if got := drain(t, s); got != n {
			t.Errorf("intact copy: %d of %d alerts", got, n)
		}
		_ = s.Close()
	})
}
