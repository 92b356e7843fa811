// SPDX-License-Identifier: GPL-2.0
//
// Reference hooks for the probe's benchmarks (sensor/internal/probe/benchref):
// the floor any sys_exit hook pays (an empty program) and the cheapest
// useful one (a bare 64-byte ring-buffer record per syscall of one process).
// They are never loaded by the sensor.

#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_tracing.h"

char LICENSE[] SEC("license") = "GPL";

// target is the tgid whose syscalls bare_record writes; set at load time.
volatile const __u32 target = 0;

struct rec {
	__u64 ts;
	__s64 ret;
	__u64 args[5];
	__u32 tgid, nr;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} ring SEC(".maps");

SEC("tp_btf/sys_exit")
int BPF_PROG(empty_hook, struct pt_regs *regs, long ret)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(bare_record, struct pt_regs *regs, long ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid != target)
		return 0;
	struct rec *r = bpf_ringbuf_reserve(&ring, sizeof(*r), 0);
	if (!r)
		return 0;
	r->ts = bpf_ktime_get_boot_ns();
	r->ret = ret;
	r->tgid = tgid;
#if defined(__TARGET_ARCH_x86)
	r->nr = regs->orig_ax;
	r->args[0] = regs->di;
	r->args[1] = regs->si;
	r->args[2] = regs->dx;
	r->args[3] = regs->r10;
	r->args[4] = regs->r8;
#elif defined(__TARGET_ARCH_arm64)
	r->nr = regs->syscallno;
	r->args[0] = regs->orig_x0;
	r->args[1] = regs->regs[1];
	r->args[2] = regs->regs[2];
	r->args[3] = regs->regs[3];
	r->args[4] = regs->regs[4];
#endif
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}
