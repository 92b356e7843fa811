package k8saudit

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lookout-sec/lookout/sensor/internal/rules"
)

// TestFollowRotation writes the captured events to a log file in four
// parts: before the follower starts (read from the start), then appended
// with a line split across two writes, then after the file is rotated
// (renamed and recreated, as kube-apiserver's --audit-log-maxsize does)
// and after it is truncated in place and written again. Every event is
// evaluated once.
func TestFollowRotation(t *testing.T) {
	var c collector
	var logs syncBuffer
	eng := loadEngine(t)
	s := New(Options{Engine: func() *rules.Engine { return eng }, Emit: c.emit, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	lines := fixtureLines(t)
	if len(lines) < 8 {
		t.Fatalf("need 8 fixture events, have %d", len(lines))
	}
	// Distinct auditIDs per part, so dedup does not hide a re-read.
	part := func(from, to int) []byte {
		var b bytes.Buffer
		for _, l := range lines[from:to] {
			b.Write(l)
			b.WriteByte('\n')
		}
		return b.Bytes()
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	n := len(lines)
	q := n / 4
	if err := os.WriteFile(path, part(0, q), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.Follow(ctx, path, FollowOptions{FromStart: true, Poll: 10 * time.Millisecond}); err != nil {
			t.Error(err)
		}
	})
	defer func() { cancel(); wg.Wait() }()
	received := func() int { return int(testutil.ToFloat64(s.received.WithLabelValues("file"))) }
	waitFor := func(want int) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for received() < want {
			if time.Now().After(deadline) {
				t.Fatalf("received %d events, want %d", received(), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(q)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	p2 := part(q, 2*q)
	half := len(p2) / 2
	_, _ = f.Write(p2[:half])
	time.Sleep(50 * time.Millisecond) // let the follower see half a line
	_, _ = f.Write(p2[half:])
	f.Close()
	waitFor(2 * q)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, part(2*q, 3*q), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(3 * q)
	// Truncated in place (logrotate's copytruncate): the follower sees the
	// file shorter than what it read and starts again from 0; only then
	// does the file grow again (a file truncated and refilled past the
	// read offset between two polls cannot be told from one that grew).
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(logs.String(), "audit log truncated") {
		if time.Now().After(deadline) {
			t.Fatalf("truncation not noticed:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	f, err = os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write(part(3*q, n))
	f.Close()
	waitFor(n)
	if got := received(); got != n {
		t.Errorf("received %d events, want %d", got, n)
	}
	if d := testutil.ToFloat64(s.dups); d != 0 {
		t.Errorf("%v duplicates: a part was read twice", d)
	}
	if r := testutil.ToFloat64(s.rejected.WithLabelValues("file", "json")); r != 0 {
		t.Errorf("%v lines rejected (a split line was read in pieces?)", r)
	}
}

// syncBuffer is a bytes.Buffer safe for the follower's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
