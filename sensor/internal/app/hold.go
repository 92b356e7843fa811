package app

import (
	"slices"
	"time"

	"github.com/lookout-sec/lookout/sensor/internal/event"
)

// Hold bounds: an event of a container whose runtime metadata is being
// fetched waits at most holdFor (event time) or until holdMax events wait.
const (
	holdFor = int64(2 * time.Second)
	holdMax = 1024
)

// heldEvent is a copy of an event that waits for its container's metadata.
// The process is a snapshot (its Container is shared, so the metadata
// filled in later reaches it); the fd a copy.
type heldEvent struct {
	ev   event.Event
	proc event.Process
	fd   event.FD
	due  int64 // event time after which it is evaluated regardless
}

// holder delays the rule evaluation of events whose container's metadata
// is not known yet but being fetched, so that rules on container.image,
// container.privileged, container.mount.* ... do not silently miss the
// first events of a new container (container_started is its very first
// exec). Held events are evaluated in arrival order, before any later
// event, once their container's metadata arrived, the fetch ended without
// it, holdFor passed, or holdMax events wait.
type holder struct {
	q        []*heldEvent
	Held     uint64 // events that waited
	TimedOut uint64 // of them, evaluated without metadata after holdFor
}

// wants reports whether ev must wait: its container's metadata is being
// fetched. Events of other containers and of the host pass; all events of
// a pending container wait, so their order is kept.
func (h *holder) wants(ev *event.Event, pending func(*event.Container) bool) bool {
	return ev.Proc != nil && ev.Proc.Container != nil && pending(ev.Proc.Container)
}

// add copies ev into the queue.
func (h *holder) add(ev *event.Event) {
	he := &heldEvent{ev: *ev, due: ev.TS + holdFor}
	he.ev.Args = slices.Clone(ev.Args)
	for i := range he.ev.Args {
		if b := he.ev.Args[i].Bytes; b != nil {
			he.ev.Args[i].Bytes = slices.Clone(b)
		}
	}
	if ev.Proc != nil {
		he.proc = *ev.Proc
		he.proc.Args = slices.Clone(ev.Proc.Args)
		he.proc.Env = slices.Clone(ev.Proc.Env)
		he.ev.Proc = &he.proc
	}
	if ev.FD != nil {
		he.fd = *ev.FD
		he.ev.FD = &he.fd
	}
	h.q = append(h.q, he)
	h.Held++
}

// release evaluates, in arrival order, the held events that may go at
// event time now (all of them when flush); the others keep waiting.
func (h *holder) release(now int64, flush bool, pending func(*event.Container) bool, eval func(*event.Event)) {
	if len(h.q) == 0 {
		return
	}
	over := len(h.q) - (holdMax - 1) // the oldest go now, leaving room for one more
	keep := h.q[:0]
	for i, he := range h.q {
		waiting := pending(he.ev.Proc.Container) // held events always have a container
		if waiting && !flush && now < he.due && i >= over {
			keep = append(keep, he)
			continue
		}
		if waiting {
			h.TimedOut++
		}
		eval(&he.ev)
	}
	clear(h.q[len(keep):])
	h.q = keep
}
