package app

import (
	"testing"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// TestHolder: events of a container whose metadata is pending wait (as
// copies: the decoder reuses its Event), others pass; they are evaluated
// in order once the metadata arrived, after holdFor, or beyond holdMax.
func TestHolder(t *testing.T) {
	ctr := &event.Container{ID: "abc", FullID: "abc"}
	pendingNow := true
	pending := func(c *event.Container) bool { return c == ctr && pendingNow }
	var h holder
	var got []uint64
	eval := func(ev *event.Event) {
		if ev.Proc.Container == ctr && !ctr.Metadata && !pendingNow && ev.Num < 100 {
			t.Errorf("event %d evaluated before the metadata it waited for", ev.Num)
		}
		got = append(got, ev.Num)
	}
	step := func(ev *event.Event) {
		h.release(ev.TS, false, pending, eval)
		if h.wants(ev, pending) {
			h.add(ev)
		} else {
			eval(ev)
		}
	}
	reused := &event.Event{Args: make([]event.Arg, 1)}
	for i, c := range []*event.Container{ctr, nil, ctr} {
		reused.Num, reused.TS = uint64(i+1), int64(i+1)
		reused.Proc = &event.Process{Container: c, Args: []string{"a"}}
		reused.Args[0] = event.Arg{Name: "x", Bytes: []byte{byte(i)}}
		step(reused)
	}
	reused.Args[0].Bytes[0] = 99 // the decoder reuses its buffers
	if len(got) != 1 || got[0] != 2 || h.Held != 2 {
		t.Fatalf("evaluated %v (held %d), want only the host event 2 and 2 held", got, h.Held)
	}
	if h.q[0].ev.Args[0].Bytes[0] != 0 {
		t.Fatal("a held event shares the decoder's argument buffer")
	}
	// Metadata arrives: the next event releases both, in order, first.
	ctr.Name, ctr.Metadata, pendingNow = "web", true, false
	step(&event.Event{Num: 4, TS: 4, Proc: &event.Process{Container: ctr}})
	if want := []uint64{2, 1, 3, 4}; !equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	// A fetch that never ends: evaluated without metadata after holdFor.
	ctr.Metadata, pendingNow, got = false, true, nil
	step(&event.Event{Num: 100, TS: 10, Proc: &event.Process{Container: ctr}})
	step(&event.Event{Num: 101, TS: 10 + holdFor, Proc: &event.Process{}})
	if want := []uint64{100, 101}; !equal(got, want) || h.TimedOut != 1 {
		t.Fatalf("after holdFor: %v (timed out %d), want %v and 1", got, h.TimedOut, want)
	}
	// Bounded: beyond holdMax the oldest go at once.
	got = nil
	for i := range holdMax + 10 {
		step(&event.Event{Num: uint64(200 + i), TS: 20, Proc: &event.Process{Container: ctr}})
	}
	if len(h.q) > holdMax || len(got) < 10 {
		t.Fatalf("%d held, %d evaluated: the hold is not bounded by %d", len(h.q), len(got), holdMax)
	}
	h.release(20, true, pending, eval)
	if len(h.q) != 0 || len(got) != holdMax+10 {
		t.Fatalf("flush left %d held, evaluated %d", len(h.q), len(got))
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
