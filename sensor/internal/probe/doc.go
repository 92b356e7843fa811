// Package probe loads Lookout's eBPF programs (bpf/probe.bpf.c and
// bpf/lookout/*.h) and turns their ring-buffer records into event.Events
// with Falco's exit parameters. It is the only package that imports
// cilium/ebpf.
//
// Syscalls are captured at exit (tp_btf/sys_exit) behind an in-kernel
// interest filter set from an event.TypeSet; process lifecycle comes from
// sched_process_exec/fork/exit. The ring buffer is written without wakeups
// and drained by a polling reader. Events carry TID/PID/TS/CPU/Res/Args;
// Proc and FD are left to the state tables. Per-hook kernel counters
// (Stats) account for every hook run: filtered, emitted or dropped.
//
// docs/probe.md describes the design, the parameters of every event, the
// counters and ring sizing; docs/benchmarks-probe.md the measured costs.
package probe
