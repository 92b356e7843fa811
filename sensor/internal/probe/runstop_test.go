package probe

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// TestRunStopsUnderLoad: a stream of records the reader is kept busy with
// (a slow consumer, writers that never pause) must not keep Run from
// seeing its context cancelled, and every record it handled was whole.
func TestRunStopsUnderLoad(t *testing.T) {
	requireKernel(t)
	p, err := Open(t.Context(), Config{Interest: types(event.TypeOpenat)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(t.Context())
	var handled atomic.Int64
	done := make(chan error, 1)
	go func() {
		done <- p.Run(ctx, func(ev *event.Event) {
			if ev.Type != event.TypeOpenat || ev.Arg("name") == nil {
				t.Errorf("unexpected event %v", describe(ev))
			}
			handled.Add(1)
			for range 100 { // a slow consumer, slower than the writers
				runtime.Gosched()
			}
		})
	}()
	stopWriters := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stopWriters:
					return
				default:
				}
				for range 100 {
					unix.Openat(unix.AT_FDCWD, "/nonexistent/lookout-ring-test", unix.O_RDONLY, 0)
				}
			}
		})
	}
	defer func() { close(stopWriters); wg.Wait() }()
	for handled.Load() < 50_000 {
		time.Sleep(10 * time.Millisecond)
	}
	t0 := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("Run returned %v after the cancel, %d events handled", time.Since(t0).Round(time.Millisecond), handled.Load())
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5 s of its context's cancel under load")
	}
}
