package probe

import "fmt"

// Category is one hook's counters, summed over CPUs. Every hook run ends in
// exactly one outcome (filtered, emitted or dropped) and only outcomes are
// counted in the kernel, so Invocations is their sum: the invariant
// Invocations = Filtered + Emitted + Dropped() holds in every snapshot, and a
// run costs one counter increment, not two.
type Category struct {
	Invocations  uint64 // hook runs (the sum of the outcomes)
	Filtered     uint64 // not interesting, dropped in the kernel on purpose
	Emitted      uint64 // records written to the ring
	DropRingFull uint64 // lost: no room in the ring
	DropTooBig   uint64 // lost: record larger than the ring allows
	ReadFailures uint64 // strings/memory that could not be read (record still emitted)
	Truncated    uint64 // parts cut or left out for lack of room (record still emitted)
}

// Dropped is the number of records lost for any reason.
func (c Category) Dropped() uint64 { return c.DropRingFull + c.DropTooBig }

// Stats are the probe's counters.
type Stats struct {
	Syscall Category // tp_btf/sys_exit
	Exec    Category // sched_process_exec
	Fork    Category // sched_process_fork
	Exit    Category // sched_process_exit
	// DecodeErrors counts records user space could not decode.
	DecodeErrors uint64
}

// Total sums the categories.
func (s Stats) Total() Category {
	var t Category
	for _, c := range []Category{s.Syscall, s.Exec, s.Fork, s.Exit} {
		t.Invocations += c.Invocations
		t.Filtered += c.Filtered
		t.Emitted += c.Emitted
		t.DropRingFull += c.DropRingFull
		t.DropTooBig += c.DropTooBig
		t.ReadFailures += c.ReadFailures
		t.Truncated += c.Truncated
	}
	return t
}

const nCtr = 6 // NCTR in bpf/lookout/record.h

// Stats reads the kernel counters.
func (p *Probe) Stats() (Stats, error) {
	var out Stats
	cats := []*Category{&out.Syscall, &out.Exec, &out.Fork, &out.Exit}
	for ci, c := range cats {
		var v [nCtr]uint64
		for k := range nCtr {
			var perCPU []uint64
			if err := p.objs.Counters.Lookup(uint32(ci*nCtr+k), &perCPU); err != nil {
				return out, fmt.Errorf("probe: read counter %d/%d: %w", ci, k, err)
			}
			for _, x := range perCPU {
				v[k] += x
			}
		}
		*c = Category{Filtered: v[0], Emitted: v[1], DropRingFull: v[2], DropTooBig: v[3], ReadFailures: v[4], Truncated: v[5]}
		c.Invocations = c.Filtered + c.Emitted + c.Dropped()
	}
	out.DecodeErrors = p.decodeErrors.Load()
	return out, nil
}
