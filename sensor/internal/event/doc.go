// Package event holds the kernel-agnostic values that flow through the
// sensor: one Event per completed syscall or process-lifecycle step, with
// its parameters in Falco's order and names, and the Process, FD and
// Container views that the state tables keep and the rule engine reads.
//
// Ownership and threading: the probe decodes kernel records into Events; the
// state package applies each Event to its tables and sets Event.Proc and
// Event.FD; the rule engine then evaluates it. All three run on one goroutine
// per event stream, so Process and FD values are mutable and owned by state,
// and the engine may read them only while evaluating the event (it copies
// what it renders). Nothing here imports cilium/ebpf.
package event
