// SPDX-License-Identifier: GPL-2.0
//
// Lookout probe: syscalls captured at exit (tp_btf/sys_exit) behind an
// in-kernel interest filter, plus process lifecycle (sched_process_exec,
// sched_process_fork, sched_process_exit). Records go to one ring buffer
// that wakes the reader only past a fill watermark (wakeup_bytes); user
// space also polls it on a timer.
//
// The C knows no syscall numbers: user space fills `interest` (indexed by
// syscall nr) with a spec per syscall — which arguments are user strings,
// which fd to describe, which user blob to copy — so adding a syscall is
// usually a Go-only change (see sensor/internal/probe/spec.go).

#include "vmlinux.h"
#include "bpf_helpers.h"
#include "bpf_tracing.h"
#include "lookout/record.h"
#include "lookout/path.h"
#include "lookout/fdinfo.h"
#include "lookout/task.h"
#include "lookout/cgroup.h"

char LICENSE[] SEC("license") = "GPL";

// compat reports whether the current syscall is a 32-bit one (ia32 on
// x86_64, AArch32 on arm64): its numbers and registers mean something else,
// so it is filtered rather than misread.
static __always_inline int compat(struct task_struct *t)
{
#if defined(__TARGET_ARCH_x86)
	return t->thread_info.status & 0x0002; // TS_COMPAT
#elif defined(__TARGET_ARCH_arm64)
	return (t->thread_info.flags >> 22) & 1; // TIF_32BIT
#else
	return 0;
#endif
}

// syscall_nr returns the syscall number: read first, alone, so a syscall
// nobody wants costs one load and one map lookup.
static __always_inline long syscall_nr(struct pt_regs *r)
{
#if defined(__TARGET_ARCH_x86)
	return r->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
	return r->syscallno;
#else
#error "unsupported architecture"
#endif
}

static __always_inline void regs_args(struct pt_regs *r, __u64 a[6])
{
#if defined(__TARGET_ARCH_x86)
	a[0] = r->di;
	a[1] = r->si;
	a[2] = r->dx;
	a[3] = r->r10;
	a[4] = r->r8;
	a[5] = r->r9;
#elif defined(__TARGET_ARCH_arm64)
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

// pick returns argument i-1, the return value for 7, or def for 0.
static __always_inline __u64 pick(__u32 sel, __u64 a[6], long ret, __u64 def)
{
	switch (sel) {
	case 1: return a[0];
	case 2: return a[1];
	case 3: return a[2];
	case 4: return a[3];
	case 5: return a[4];
	case 6: return a[5];
	case 7: return ret;
	}
	return def;
}

// msghdr reads a struct user_msghdr at ptr: its address (msg_name) becomes
// part PART_STR, the total iovec length replaces args[5], and the first
// iovec is returned for the data blob.
static __always_inline void msghdr(struct scratch *s, __u32 *off, __u64 ptr, __u64 *data, __u64 *len)
{
	struct {
		__u64 name;
		__u32 namelen, pad;
		__u64 iov, iovlen;
	} mh = {};
	struct {
		__u64 base, len;
	} iov[4] = {};
	s->hdr.args[5] = 0;
	if (!ptr || bpf_probe_read_user(&mh, sizeof(mh), (const void *)ptr))
		return;
	put_user_blob(s, off, PART_STR, mh.name, mh.namelen, 128, CAT_SYSCALL);
	__u64 n = mh.iovlen < 4 ? mh.iovlen : 4;
	if (n && !bpf_probe_read_user(iov, n * sizeof(iov[0]) & 0x7f, (const void *)mh.iov)) {
		__u64 total = 0;
		for (int i = 0; i < 4; i++)
			if (i < n)
				total += iov[i].len;
		s->hdr.args[5] = total;
		*data = iov[0].base;
		*len = iov[0].len;
	}
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
	long nr = syscall_nr(regs);
	if (nr < 0 || nr >= IDX_ONLY) {
		count(CAT_SYSCALL, CTR_FILTERED);
		return 0;
	}
	__u32 spec = spec_of(nr);
	if (!(spec & SPEC_ON) || ((spec & SPEC_EXEC_HOOK) && ret == 0) || excluded()) {
		count(CAT_SYSCALL, CTR_FILTERED);
		return 0;
	}
	struct task_struct *t = bpf_get_current_task_btf();
	if (compat(t)) {
		count(CAT_SYSCALL, CTR_FILTERED);
		return 0;
	}
	struct scratch *s = start(KIND_SYSCALL, nr, t);
	if (!s) {
		count(CAT_SYSCALL, CTR_DROP_FULL);
		return 0;
	}
	__u64 a[6];
	regs_args(regs, a);
	s->hdr.res = ret;
	__u32 off = 0;
	__u32 fd = (spec >> SPEC_FD_SHIFT) & 7;
	struct sock *unix_sk = 0;
	if (fd) {
		long n = (long)pick(fd, a, ret, -1);
		if (spec & SPEC_FD_USER) {
			int v = -1;
			if (ret < 0 || bpf_probe_read_user(&v, sizeof(v), (const void *)n))
				v = -1;
			n = v;
		}
		unix_sk = put_fd_info(s, &off, t, (int)n, CAT_SYSCALL);
	}
	for (int i = 0; i < 6; i++) {
		s->hdr.args[i] = a[i];
		if (spec & (1 << (SPEC_STR_SHIFT + i)))
			put_user_str(s, &off, PART_STR + i, a[i], CAT_SYSCALL);
	}
	__u32 blob = (spec >> SPEC_BLOB_SHIFT) & 7;
	__u64 msg_data = 0, msg_len = 0;
	if (blob && (spec & SPEC_MSGHDR))
		msghdr(s, &off, pick(blob, a, ret, 0), &msg_data, &msg_len);
	if (spec & SPEC_PEER) {
		__u64 n = a[5];
		if (spec & SPEC_PEER_LENPTR) {
			int v = 0;
			if (ret < 0 || !a[5] || bpf_probe_read_user(&v, sizeof(v), (const void *)a[5]) || v < 0)
				v = 0;
			n = v;
		}
		if (a[4] && n)
			put_user_blob(s, &off, PART_STR + 4, a[4], n, 128, CAT_SYSCALL);
	}
	if (unix_sk && !s->hdr.len[PART_UNIX])
		put_unix_path(s, &off, PART_UNIX, unix_sk, CAT_SYSCALL);
	if (blob && (spec & SPEC_MSGHDR)) {
		__u64 max = (spec >> SPEC_BLOBMAX_SHIFT) & 0xff;
		__u64 n = msg_len;
		if ((spec >> SPEC_BLOBLEN_SHIFT) & 7) // received: only what arrived
			n = ret < 0 ? 0 : (n < (__u64)ret ? n : (__u64)ret);
		put_user_blob(s, &off, PART_BLOB, msg_data, n, max, CAT_SYSCALL);
	} else if (blob) {
		__u64 max = (spec >> SPEC_BLOBMAX_SHIFT) & 0xff;
		__u32 lensel = (spec >> SPEC_BLOBLEN_SHIFT) & 7;
		__u64 n = pick(lensel, a, ret, max);
		if (lensel == 7 && ret < 0) // length is the result (recvfrom): none on failure
			n = 0;
		put_user_blob(s, &off, PART_BLOB, pick(blob, a, ret, 0), n, max, CAT_SYSCALL);
	}
	submit(s, off, CAT_SYSCALL);
	return 0;
}

// Successful execve/execveat: the new image is in place, so argv/env are
// read from the new mm. Parts: PART_FD the exe file, 1 filename, 2 argv,
// 3 env, 4 cwd, 5 trusted exe path, 6 cgroup v2 path, after the proc_hdr.
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (!(spec_of(IDX_EXEC) & SPEC_ON) || excluded()) {
		count(CAT_EXEC, CTR_FILTERED);
		return 0;
	}
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(p);
	long nr = syscall_nr(regs);
	struct scratch *s = start(KIND_EXEC, nr, p);
	if (!s) {
		count(CAT_EXEC, CTR_DROP_FULL);
		return 0;
	}
	__u32 off;
	struct proc_hdr *ph = start_proc(s, &off);
	fill_creds(ph, p);
	fill_task(ph, p);
	// Pointers passed to the global put_* functions must be plain numbers.
	struct fs_struct *fs = 0;
	struct file *exe = 0;
	__u64 filename = 0;
	RD(fs, p->fs);
	RD(exe, bprm->file);
	RD(filename, bprm->filename);
	struct fd_info *fi = reserve_part(s, &off, PART_FD, sizeof(struct fd_info), CAT_EXEC);
	if (fi) {
		__builtin_memset(fi, 0, sizeof(*fi));
		fill_file(fi, exe);
		ph->exe_flags = exe_flags(p, exe, fi);
	}
	put_kernel_str(s, &off, 1, filename, CAT_EXEC);
	struct mm_struct *mm = p->mm;
	__u64 as = mm->arg_start, ae = mm->arg_end, es = mm->env_start, ee = mm->env_end;
	put_user_blob(s, &off, 2, as, ae - as, PART_MAX, CAT_EXEC);
	put_user_blob(s, &off, 3, es, ee - es, ENV_MAX, CAT_EXEC);
	if (ee - es > ENV_MAX)
		count(CAT_EXEC, CTR_TRUNCATED);
	put_path(s, &off, 4, (__u64)&fs->pwd, CAT_EXEC);
	put_path(s, &off, 5, (__u64)&exe->f_path, CAT_EXEC);
	put_cgroup(s, &off, 6, bpf_get_current_task(), CAT_EXEC);
	submit(s, off, CAT_EXEC);
	return 0;
}

// Fork/clone, child view: header ids are the child's, ptid the caller's tid.
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	if (!(spec_of(IDX_FORK) & SPEC_ON) || excluded_fork(child->tgid)) {
		count(CAT_FORK, CTR_FILTERED);
		return 0;
	}
	struct scratch *s = start(KIND_FORK, 0, child);
	if (!s) {
		count(CAT_FORK, CTR_DROP_FULL);
		return 0;
	}
	__u32 off;
	struct proc_hdr *ph = start_proc(s, &off);
	fill_creds(ph, child);
	fill_task(ph, child);
	ph->ptid = parent->pid;
	s->hdr.flags = child->tgid == parent->tgid; // CLONE_THREAD
	submit(s, off, CAT_FORK);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	if (!(spec_of(IDX_EXIT) & SPEC_ON) || excluded()) {
		count(CAT_EXIT, CTR_FILTERED);
		return 0;
	}
	struct scratch *s = start(KIND_EXIT, 0, p);
	if (!s) {
		count(CAT_EXIT, CTR_DROP_FULL);
		return 0;
	}
	__u32 off;
	struct proc_hdr *ph = start_proc(s, &off);
	s->hdr.res = p->exit_code;
	ph->reaper = reaper_of(p);
	submit(s, off, CAT_EXIT);
	return 0;
}
