package probe

import "fmt"

// Category is one hook's counters, summed over CPUs. For every category,
// Invocations = Filtered + Emitted + Dropped().
type Category struct {
	Invocations  uint64 // hook runs
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

const nCtr = 7 // NCTR in bpf/lookout/record.h

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
		*c = Category{Invocations: v[0], Filtered: v[1], Emitted: v[2], DropRingFull: v[3], DropTooBig: v[4], ReadFailures: v[5], Truncated: v[6]}
	}
	out.DecodeErrors = p.decodeErrors.Load()
	return out, nil
}
