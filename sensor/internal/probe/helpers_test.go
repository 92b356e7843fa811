package probe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// waitLimit bounds every wait so a broken probe fails instead of hanging;
// no test asserts on how long anything takes.
const waitLimit = 60 * time.Second

// requireKernel skips the test when the probe cannot run here: not root or
// no kernel BTF. CI runs as root on a BTF kernel, so these tests run there.
func requireKernel(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: the probe needs root (CAP_BPF and CAP_PERFMON); run the tests as root")
	}
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		t.Skipf("skipped: kernel BTF missing (%v); the probe needs CONFIG_DEBUG_INFO_BTF", err)
	}
}

// harness runs a probe and keeps copies of the events keep accepts.
type harness struct {
	t      *testing.T
	p      *Probe
	cancel context.CancelFunc
	done   chan error

	mu     sync.Mutex
	keep   func(*event.Event) bool
	events []event.Event
	total  uint64 // every record delivered, kept or not
	types  map[event.Type]uint64
}

// types builds a TypeSet.
func types(ts ...event.Type) event.TypeSet {
	var s event.TypeSet
	for _, t := range ts {
		s.Add(t)
	}
	return s
}

// startProbe opens a probe with cfg and starts its reader.
func startProbe(t *testing.T, cfg Config, keep func(*event.Event) bool) *harness {
	t.Helper()
	requireKernel(t)
	ctx, cancel := context.WithCancel(context.Background())
	p, err := Open(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("Open: %v", err)
	}
	h := &harness{t: t, p: p, cancel: cancel, done: make(chan error, 1), keep: keep, types: map[event.Type]uint64{}}
	go func() { h.done <- p.Run(ctx, h.handle) }()
	t.Cleanup(func() {
		h.stop()
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

func (h *harness) handle(ev *event.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.total++
	h.types[ev.Type]++
	if h.keep != nil && h.keep(ev) {
		h.events = append(h.events, clone(ev))
	}
}

// stop ends Run (idempotent) and reports its error.
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(waitLimit):
		h.t.Fatalf("Run did not return after cancel")
	}
}

// quiesce detaches the hooks, stops the reader and reads what is left in
// the ring, so that counters and delivered records no longer move.
func (h *harness) quiesce() Stats {
	h.t.Helper()
	if err := h.p.detach(); err != nil {
		h.t.Fatalf("detach: %v", err)
	}
	h.stop()
	// Closing a link does not wait for hook runs already under way (tracing
	// programs may be preempted): wait until every run has been accounted
	// for and the counters hold still.
	deadline := time.Now().Add(waitLimit)
	for {
		a, err := h.p.Stats()
		if err != nil {
			h.t.Fatalf("Stats: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
		b, err := h.p.Stats()
		if err != nil {
			h.t.Fatalf("Stats: %v", err)
		}
		if a == b && balanced(b) || time.Now().After(deadline) {
			break
		}
	}
	if err := h.p.drain(h.handle); err != nil {
		h.t.Fatalf("drain: %v", err)
	}
	st, err := h.p.Stats()
	if err != nil {
		h.t.Fatalf("Stats: %v", err)
	}
	return st
}

// balanced reports whether every hook run is filtered, emitted or dropped.
func balanced(st Stats) bool {
	for _, c := range []Category{st.Syscall, st.Exec, st.Fork, st.Exit} {
		if c.Invocations != c.Filtered+c.Emitted+c.Dropped() {
			return false
		}
	}
	return true
}

// waitFor polls the kept events until ok holds.
func (h *harness) waitFor(what string, ok func([]event.Event) bool) []event.Event {
	h.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		h.mu.Lock()
		evs := slices.Clone(h.events)
		h.mu.Unlock()
		if ok(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			for _, e := range evs {
				h.t.Logf("kept: %s", describe(&e))
			}
			h.t.Fatalf("gave up waiting for %s after %v (%d events kept)", what, waitLimit, len(evs))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// kept returns a copy of the kept events.
func (h *harness) kept() []event.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

// clone deep-copies an event the reader is about to reuse.
func clone(ev *event.Event) event.Event {
	c := *ev
	c.Args = make([]event.Arg, len(ev.Args))
	for i, a := range ev.Args {
		a.Bytes = slices.Clone(a.Bytes)
		c.Args[i] = a
	}
	return c
}

// describe renders an event for failure messages.
func describe(ev *event.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s pid=%d tid=%d res=%d", ev.Type, ev.PID, ev.TID, ev.Res)
	for _, a := range ev.Args {
		switch a.Kind {
		case event.ArgString:
			fmt.Fprintf(&b, " %s=%q", a.Name, a.Str)
		case event.ArgBytes:
			fmt.Fprintf(&b, " %s=%q", a.Name, a.Bytes)
		case event.ArgTuple:
			fmt.Fprintf(&b, " %s=%v->%v%s", a.Name, a.Tuple.Src, a.Tuple.Dst, a.Tuple.Path)
		case event.ArgUint, event.ArgFlags:
			fmt.Fprintf(&b, " %s=%#x", a.Name, a.Uint)
		default:
			fmt.Fprintf(&b, " %s=%d", a.Name, a.Int)
		}
	}
	return b.String()
}

// argOf returns the named argument or fails the test.
func argOf(t *testing.T, ev *event.Event, name string) *event.Arg {
	t.Helper()
	a := ev.Arg(name)
	if a == nil {
		t.Fatalf("%s: no argument %q", describe(ev), name)
	}
	return a
}

// strArg returns the named string argument, or "" if the event has none.
func strArg(ev *event.Event, name string) string {
	if a := ev.Arg(name); a != nil {
		return a.Str
	}
	return ""
}

// argNames lists an event's argument names in order.
func argNames(ev *event.Event) []string {
	out := make([]string, len(ev.Args))
	for i, a := range ev.Args {
		out[i] = a.Name
	}
	return out
}

var errNotFound = errors.New("not found")

// find returns the first event ok accepts.
func find(evs []event.Event, ok func(*event.Event) bool) (*event.Event, error) {
	for i := range evs {
		if ok(&evs[i]) {
			return &evs[i], nil
		}
	}
	return nil, errNotFound
}
