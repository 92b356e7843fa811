// SPDX-License-Identifier: GPL-2.0
//
// Lookout probe: syscalls captured at exit (tp_btf/sys_exit) behind an
// in-kernel interest filter, plus process lifecycle (sched_process_exec,
// sched_process_fork, sched_process_exit). Records go to one ring buffer
// written with BPF_RB_NO_WAKEUP; user space polls it.
//
// The C knows no syscall numbers: user space fills `interest` (indexed by
// syscall nr) with a spec per syscall — which arguments are user strings to
// copy — so adding a syscall is usually a Go-only change (see
// sensor/internal/probe/spec.go).

#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_tracing.h"

char LICENSE[] SEC("license") = "GPL";

#define NR_MAX 512     // interest slots for syscall numbers
#define IDX_EXEC 509   // lifecycle slots above the syscall numbers
#define IDX_FORK 510
#define IDX_EXIT 511

#define SPEC_ON 1          // bit 0: syscall is interesting
#define SPEC_STR_SHIFT 1   // bits 1..6: argument i is a user string
#define SPEC_EXEC_HOOK 128 // success reported by the exec hook instead

#define PART_MAX 4096
#define DATA_MASK 0x3fff // per-CPU values must stay under 32 KiB
#define DATA_SIZE (DATA_MASK + 1 + PART_MAX)
#define NPARTS 6

enum kind { KIND_SYSCALL = 1, KIND_EXEC = 2, KIND_FORK = 3, KIND_EXIT = 4 };

// Counter categories and counters; index = cat * NCTR + ctr.
enum cat { CAT_SYSCALL, CAT_EXEC, CAT_FORK, CAT_EXIT, NCAT };
enum ctr { CTR_INVOKED, CTR_FILTERED, CTR_EMITTED, CTR_DROP_FULL, CTR_DROP_TOOBIG, CTR_READ_FAIL, NCTR };

// event_hdr starts every record; NPARTS variable parts follow, len[i] bytes each.
struct event_hdr {
	__u64 ts; // CLOCK_BOOTTIME ns
	__s64 res;
	__u64 args[6];
	__u64 cap_inh, cap_prm, cap_eff;
	__u32 tid, pid, ptid;
	__u32 uid, gid, loginuid;
	__u16 kind, nr, cpu, flags;
	__u16 len[NPARTS];
	char comm[16];
};

struct scratch {
	struct event_hdr hdr;
	__u8 data[DATA_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); // resized from user space
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_MAX);
	__type(key, __u32);
	__type(value, __u32);
} interest SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NCAT * NCTR);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

// Unused instance so bpf2go can emit the Go type.
const struct event_hdr *unused_event_hdr __attribute__((unused));

static __always_inline void count(__u32 cat, __u32 ctr)
{
	__u32 key = cat * NCTR + ctr;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);
	if (v)
		*v += 1;
}

static __always_inline __u32 spec_of(__u32 idx)
{
	__u32 *v = bpf_map_lookup_elem(&interest, &idx);
	return v ? *v : 0;
}

static __always_inline struct scratch *start(__u16 kind, __u16 nr, struct task_struct *t)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return 0;
	struct event_hdr *h = &s->hdr;
	__builtin_memset(h, 0, sizeof(*h));
	h->ts = bpf_ktime_get_boot_ns();
	h->kind = kind;
	h->nr = nr;
	h->cpu = bpf_get_smp_processor_id();
	h->tid = t->pid;
	h->pid = t->tgid;
	h->ptid = t->real_parent->tgid;
	const struct cred *c = t->cred;
	h->uid = c->uid.val;
	h->gid = c->gid.val;
	h->cap_inh = *(__u64 *)&c->cap_inheritable;
	h->cap_prm = *(__u64 *)&c->cap_permitted;
	h->cap_eff = *(__u64 *)&c->cap_effective;
	h->loginuid = t->loginuid.val;
	bpf_probe_read_kernel(h->comm, sizeof(h->comm), t->comm);
	return s;
}

// put_user_str copies a NUL-terminated user string as part i at *off.
static __always_inline void put_user_str(struct scratch *s, __u32 *off, int i, __u64 ptr, __u32 cat)
{
	__u32 o = *off & DATA_MASK;
	long n = bpf_probe_read_user_str(&s->data[o], PART_MAX, (const void *)ptr);
	if (n <= 0) {
		count(cat, CTR_READ_FAIL);
		return;
	}
	s->hdr.len[i] = n - 1; // without the NUL
	*off = o + n - 1;
}

// put_user_blob copies [start, end) of user memory (bounded) as part i.
static __always_inline void put_user_blob(struct scratch *s, __u32 *off, int i, __u64 start, __u64 end, __u32 cat)
{
	__u32 o = *off & DATA_MASK;
	__u64 n = end > start ? end - start : 0;
	if (n > PART_MAX)
		n = PART_MAX;
	if (n == 0)
		return;
	if (bpf_probe_read_user(&s->data[o], n, (const void *)start)) {
		count(cat, CTR_READ_FAIL);
		return;
	}
	s->hdr.len[i] = n;
	*off = o + n;
}

// put_kernel_str copies a kernel string as part i.
static __always_inline void put_kernel_str(struct scratch *s, __u32 *off, int i, const char *p, __u32 cat)
{
	__u32 o = *off & DATA_MASK;
	long n = bpf_probe_read_kernel_str(&s->data[o], PART_MAX, p);
	if (n <= 0) {
		count(cat, CTR_READ_FAIL);
		return;
	}
	s->hdr.len[i] = n - 1;
	*off = o + n - 1;
}

static __always_inline void submit(struct scratch *s, __u32 off, __u32 cat)
{
	__u64 size = sizeof(struct event_hdr) + (off & DATA_MASK);
	long err = bpf_ringbuf_output(&events, s, size, BPF_RB_NO_WAKEUP);
	if (err == 0)
		count(cat, CTR_EMITTED);
	else if (err == -7 /* E2BIG */)
		count(cat, CTR_DROP_TOOBIG);
	else
		count(cat, CTR_DROP_FULL);
}

static __always_inline void regs_args(struct pt_regs *r, __u64 a[6], long *nr)
{
#if defined(__TARGET_ARCH_x86)
	*nr = r->orig_ax;
	a[0] = r->di;
	a[1] = r->si;
	a[2] = r->dx;
	a[3] = r->r10;
	a[4] = r->r8;
	a[5] = r->r9;
#elif defined(__TARGET_ARCH_arm64)
	*nr = r->syscallno;
	a[0] = r->orig_x0;
	a[1] = r->regs[1];
	a[2] = r->regs[2];
	a[3] = r->regs[3];
	a[4] = r->regs[4];
	a[5] = r->regs[5];
#else
#error "unsupported architecture"
#endif
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	count(CAT_SYSCALL, CTR_INVOKED);
	long nr;
	__u64 a[6];
	regs_args(regs, a, &nr);
	if (nr < 0 || nr >= NR_MAX - 3) {
		count(CAT_SYSCALL, CTR_FILTERED);
		return 0;
	}
	__u32 spec = spec_of(nr);
	if (!(spec & SPEC_ON) || ((spec & SPEC_EXEC_HOOK) && ret == 0)) {
		count(CAT_SYSCALL, CTR_FILTERED);
		return 0;
	}
	struct task_struct *t = bpf_get_current_task_btf();
	struct scratch *s = start(KIND_SYSCALL, nr, t);
	if (!s) {
		count(CAT_SYSCALL, CTR_DROP_FULL);
		return 0;
	}
	s->hdr.res = ret;
	__u32 off = 0;
	for (int i = 0; i < 6; i++) {
		s->hdr.args[i] = a[i];
		if (spec & (1 << (SPEC_STR_SHIFT + i)))
			put_user_str(s, &off, i, a[i], CAT_SYSCALL);
	}
	submit(s, off, CAT_SYSCALL);
	return 0;
}

// Successful execve/execveat: the new image is in place, so argv/env are
// read from the new mm. Parts: 0 filename, 1 argv, 2 env.
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	count(CAT_EXEC, CTR_INVOKED);
	if (!(spec_of(IDX_EXEC) & SPEC_ON)) {
		count(CAT_EXEC, CTR_FILTERED);
		return 0;
	}
	long nr;
	__u64 a[6];
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(p);
	regs_args(regs, a, &nr);
	struct scratch *s = start(KIND_EXEC, nr, p);
	if (!s) {
		count(CAT_EXEC, CTR_DROP_FULL);
		return 0;
	}
	__u32 off = 0;
	put_kernel_str(s, &off, 0, bprm->filename, CAT_EXEC);
	struct mm_struct *mm = p->mm;
	put_user_blob(s, &off, 1, mm->arg_start, mm->arg_end, CAT_EXEC);
	put_user_blob(s, &off, 2, mm->env_start, mm->env_end, CAT_EXEC);
	submit(s, off, CAT_EXEC);
	return 0;
}

// Fork/clone, child view: header ids are the child's, ptid the caller's tid.
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	count(CAT_FORK, CTR_INVOKED);
	if (!(spec_of(IDX_FORK) & SPEC_ON)) {
		count(CAT_FORK, CTR_FILTERED);
		return 0;
	}
	struct scratch *s = start(KIND_FORK, 0, child);
	if (!s) {
		count(CAT_FORK, CTR_DROP_FULL);
		return 0;
	}
	s->hdr.ptid = parent->pid;
	s->hdr.flags = child->tgid == parent->tgid; // CLONE_THREAD
	submit(s, 0, CAT_FORK);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	count(CAT_EXIT, CTR_INVOKED);
	if (!(spec_of(IDX_EXIT) & SPEC_ON)) {
		count(CAT_EXIT, CTR_FILTERED);
		return 0;
	}
	struct scratch *s = start(KIND_EXIT, 0, p);
	if (!s) {
		count(CAT_EXIT, CTR_DROP_FULL);
		return 0;
	}
	s->hdr.res = p->exit_code;
	submit(s, 0, CAT_EXIT);
	return 0;
}
