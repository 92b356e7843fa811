// Package probe loads Lookout's eBPF programs (bpf/probe.bpf.c) and turns
// their ring-buffer records into event.Events. It is the only package that
// imports cilium/ebpf.
//
// Syscalls are captured at exit (tp_btf/sys_exit) behind an in-kernel
// interest filter set from an event.TypeSet; process lifecycle comes from
// sched_process_exec/fork/exit. The ring buffer is written without wakeups
// and drained by a polling reader. Events carry TID/PID/TS/CPU/Res/Args;
// Proc and FD are left to the state tables.
package probe
