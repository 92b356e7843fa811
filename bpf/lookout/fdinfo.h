/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What an fd refers to: inode identity and times for files, the address
 * tuple for inet sockets. Read at syscall exit from the task's fd table.
 */
#ifndef LOOKOUT_FDINFO_H
#define LOOKOUT_FDINFO_H

#include "record.h"

#define S_IFMT 0170000
#define S_IFSOCK 0140000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10

// Kernels before 6.11 kept inode times in struct timespec64 fields.
struct inode___pre611 {
	struct timespec64 __i_ctime;
	struct timespec64 __i_mtime;
} __attribute__((preserve_access_index));

// fd_file returns the struct file of fd in task t, or 0.
static __always_inline struct file *fd_file(struct task_struct *t, long fd)
{
	if (fd < 0)
		return 0;
	struct files_struct *files = 0;
	struct fdtable *fdt = 0;
	unsigned int max = 0;
	struct file **arr = 0;
	struct file *f = 0;
	RD(files, t->files);
	if (!files)
		return 0;
	RD(fdt, files->fdt);
	if (!fdt)
		return 0;
	RD(max, fdt->max_fds);
	if (fd >= max)
		return 0;
	RD(arr, fdt->fd);
	RD(f, arr[fd]);
	return f;
}

// fill_inode sets identity, mode and times from an inode.
static __always_inline void fill_inode(struct fd_info *fi, struct inode *ino)
{
	struct super_block *sb = 0;
	RD(fi->ino, ino->i_ino);
	RD(fi->mode, ino->i_mode);
	RD(sb, ino->i_sb);
	if (sb)
		RD(fi->dev, sb->s_dev);
	if (bpf_core_field_exists(ino->i_ctime_sec)) {
		__s64 sec = 0;
		__u32 nsec = 0;
		RD(sec, ino->i_ctime_sec);
		RD(nsec, ino->i_ctime_nsec);
		nsec &= ~(1u << 31); // I_CTIME_QUERIED (multigrain timestamps)
		fi->ctime = sec * 1000000000 + nsec;
		RD(sec, ino->i_mtime_sec);
		RD(nsec, ino->i_mtime_nsec);
		fi->mtime = sec * 1000000000 + nsec;
	} else {
		struct inode___pre611 *old = (void *)ino;
		struct timespec64 ts = {};
		RD(ts, old->__i_ctime);
		fi->ctime = ts.tv_sec * 1000000000 + ts.tv_nsec;
		RD(ts, old->__i_mtime);
		fi->mtime = ts.tv_sec * 1000000000 + ts.tv_nsec;
	}
}

// fill_socket sets family, type, protocol and the address tuple of a
// socket file. It returns the sock of a unix socket (for its path), else 0.
static __always_inline struct sock *fill_socket(struct fd_info *fi, struct file *f)
{
	struct socket *so = 0;
	struct sock *sk = 0;
	RD(so, f->private_data);
	if (!so)
		return 0;
	RD(sk, so->sk);
	if (!sk)
		return 0;
	fi->kind = 2;
	RD(fi->family, sk->__sk_common.skc_family);
	RD(fi->type, sk->sk_type);
	RD(fi->proto, sk->sk_protocol);
	__u16 dport = 0;
	RD(fi->sport, sk->__sk_common.skc_num);
	RD(dport, sk->__sk_common.skc_dport);
	fi->dport = __builtin_bswap16(dport);
	if (fi->family == AF_INET) {
		RD(*(__u32 *)fi->saddr, sk->__sk_common.skc_rcv_saddr);
		RD(*(__u32 *)fi->daddr, sk->__sk_common.skc_daddr);
	} else if (fi->family == AF_INET6) {
		RD(fi->saddr, sk->__sk_common.skc_v6_rcv_saddr);
		RD(fi->daddr, sk->__sk_common.skc_v6_daddr);
	} else if (fi->family == AF_UNIX) {
		return sk;
	}
	return 0;
}

// fill_file describes file f; it returns the sock of a unix socket, else 0.
static __always_inline struct sock *fill_file(struct fd_info *fi, struct file *f)
{
	struct inode *ino = 0;
	RD(ino, f->f_inode);
	if (!ino)
		return 0;
	fi->kind = 1;
	fill_inode(fi, ino);
	if ((fi->mode & S_IFMT) == S_IFSOCK)
		return fill_socket(fi, f);
	return 0;
}

// put_fd_info appends part PART_FD describing fd of task t (nothing if fd
// is not open). It returns the sock of a unix socket (for put_unix_path), else 0.
__noinline long put_fd_info(struct scratch *s, __u32 *off, __u64 task, long fd, __u32 cat)
{
	struct task_struct *t = (struct task_struct *)task;
	if (!s || !off)
		return 0;
	struct file *f = fd_file(t, fd);
	if (!f)
		return 0;
	struct fd_info *fi = reserve_part(s, off, PART_FD, sizeof(struct fd_info), cat);
	if (!fi)
		return 0;
	__builtin_memset(fi, 0, sizeof(*fi));
	return (long)fill_file(fi, f);
}

// put_unix_path appends part i: the path of unix socket sk, or of its peer
// when sk is not bound ("@name" for abstract names, as Falco shows them).
__noinline int put_unix_path(struct scratch *s, __u32 *off, int i, __u64 sock, __u32 cat)
{
	struct unix_sock *us = (struct unix_sock *)sock;
	struct unix_address *ua = 0;
	if (!s || !off || !us)
		return 0;
	RD(ua, us->addr);
	if (!ua) {
		struct unix_sock *peer = 0;
		RD(peer, us->peer);
		if (peer)
			RD(ua, peer->addr);
	}
	if (!ua || !room(*off, cat))
		return 0;
	__u32 o = *off & DATA_MASK;
	const char *path = ua->name[0].sun_path;
	char c = 0;
	bpf_probe_read_kernel(&c, 1, path);
	__u32 n = 0;
	if (c == 0) { // abstract
		s->data[o] = '@';
		n = 1;
		path++;
	}
	long r = bpf_probe_read_kernel_str(&s->data[bound(o + n)], 108, path);
	if (r > 0)
		n += r - 1;
	s->hdr.len[i & (NPARTS - 1)] = n;
	*off = o + n;
	return 0;
}

#endif
