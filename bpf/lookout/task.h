/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Process attributes read at exec and fork: namespace ids, process group,
 * controlling tty, fd limit, start time, and the exe flags Falco defines.
 */
#ifndef LOOKOUT_TASK_H
#define LOOKOUT_TASK_H

#include "record.h"

#define ENV_MAX 2048 // env bytes copied at exec ("bounded env")

#define PIDTYPE_PGID 2
#define RLIMIT_NOFILE 7
#define OVERLAYFS_SUPER_MAGIC 0x794c7630
#define CAP_DAC_OVERRIDE 1

// Falco's exe flags (PPM_EXE_*).
#define EXE_WRITABLE 1
#define EXE_UPPER_LAYER 2
#define EXE_FROM_MEMFD 4
#define EXE_LOWER_LAYER 8

// pid_nr returns the id of pid in its own namespace (virtual) or the host's.
static __always_inline __u32 pid_nr(struct pid *pid, int virt)
{
	if (!pid)
		return 0;
	unsigned int level = 0;
	if (virt)
		RD(level, pid->level);
	int nr = 0;
	RD(nr, pid->numbers[level & 31].nr);
	return nr;
}

// new_encode_dev turns a kernel dev_t into the user-space encoding.
static __always_inline __u32 new_encode_dev(__u32 dev)
{
	__u32 major = dev >> 20, minor = dev & 0xfffff;
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

// fill_task sets the lifecycle-only header fields for task t.
static __always_inline void fill_task(struct proc_hdr *h, struct task_struct *t)
{
	struct pid *tp = 0, *lp = 0, *gp = 0;
	struct task_struct *leader = 0;
	struct signal_struct *sig = 0;
	RD(tp, t->thread_pid);
	RD(leader, t->group_leader);
	if (leader)
		RD(lp, leader->thread_pid);
	RD(sig, t->signal);
	h->vtid = pid_nr(tp, 1);
	h->vpid = pid_nr(lp, 1);
	h->start_ts = t->start_boottime;
	if (!sig)
		return;
	RD(gp, sig->pids[PIDTYPE_PGID]);
	h->pgid = pid_nr(gp, 0);
	h->vpgid = pid_nr(gp, 1);
	RD(h->fdlimit, sig->rlim[RLIMIT_NOFILE].rlim_cur);
	struct tty_struct *tty = 0;
	RD(tty, sig->tty);
	if (tty) {
		int index = 0, major = 0, minor_start = 0;
		struct tty_driver *drv = 0;
		RD(index, tty->index);
		RD(drv, tty->driver);
		if (drv) {
			RD(major, drv->major);
			RD(minor_start, drv->minor_start);
		}
		h->tty = new_encode_dev(((__u32)major << 20) | (__u32)(minor_start + index));
	}
}

// reaper_of returns the tid that adopts the children of exiting task p:
// a live thread of its group (the leader, if it is not p), else the init
// of its pid namespace; 0 when unknown. Child subreapers (prctl) are not
// looked for.
static __always_inline __u32 reaper_of(struct task_struct *p)
{
	struct signal_struct *sig = 0;
	struct task_struct *leader = 0, *init = 0;
	struct pid *tp = 0;
	struct pid_namespace *ns = 0;
	int live = 0, tid = 0;
	unsigned int level = 0;
	RD(sig, p->signal);
	if (sig)
		RD(live, sig->live.counter);
	if (live > 0) {
		RD(leader, p->group_leader);
		if (leader && leader != p)
			RD(tid, leader->pid);
		return tid;
	}
	RD(tp, p->thread_pid);
	if (!tp)
		return 0;
	RD(level, tp->level);
	RD(ns, tp->numbers[level & 31].ns);
	if (ns)
		RD(init, ns->child_reaper);
	if (!init || init == p)
		return 0;
	RD(tid, init->pid);
	return tid;
}

// exe_flags computes EXE_* for the executable file exe described by fi.
static __always_inline __u32 exe_flags(struct task_struct *t, struct file *exe, struct fd_info *fi)
{
	__u32 flags = 0;
	char name[8] = {};
	const unsigned char *dn = 0;
	struct dentry *de = 0;
	RD(de, exe->f_path.dentry);
	if (de)
		RD(dn, de->d_name.name);
	bpf_probe_read_kernel_str(name, sizeof(name), dn);
	if (name[0] == 'm' && name[1] == 'e' && name[2] == 'm' && name[3] == 'f' && name[4] == 'd' && name[5] == ':')
		flags |= EXE_FROM_MEMFD;
	struct inode *ino = 0;
	struct super_block *sb = 0;
	unsigned long magic = 0;
	RD(ino, exe->f_inode);
	if (ino)
		RD(sb, ino->i_sb);
	if (sb)
		RD(magic, sb->s_magic);
	if (magic == OVERLAYFS_SUPER_MAGIC) {
		struct ovl_inode *oi = container_of(ino, struct ovl_inode, vfs_inode);
		struct dentry *upper = 0;
		RD(upper, oi->__upperdentry);
		flags |= upper ? EXE_UPPER_LAYER : EXE_LOWER_LAYER;
	}
	// Writable by the user that runs it: CAP_DAC_OVERRIDE, or the mode bits
	// for owner, group or others.
	const struct cred *c = t->cred;
	__u32 fsuid = c->fsuid.val, fsgid = c->fsgid.val;
	__u64 cap = *(__u64 *)&c->cap_effective;
	__u32 iuid = 0, igid = 0;
	if (ino) {
		RD(iuid, ino->i_uid.val);
		RD(igid, ino->i_gid.val);
	}
	__u32 mode = fi->mode;
	if ((cap & (1ULL << CAP_DAC_OVERRIDE)) || (mode & 0002) || (fsuid == iuid && (mode & 0200)) ||
	    (fsgid == igid && (mode & 0020)))
		flags |= EXE_WRITABLE;
	return flags;
}

#endif
