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

// bpf_rdonly_cast (Linux 6.2+) turns a pointer read as a number back into
// a typed kernel pointer, whose fields are then plain loads (the verifier
// makes them fault-safe) instead of one bpf_probe_read_kernel call each.
// Weak: on older kernels it resolves to 0 and the probe-read path runs.
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
// probe_reads forces the probe-read path (set by tests, to check it on
// kernels that have bpf_rdonly_cast).
volatile const __u32 probe_reads = 0;
#define bpf_core_type_id_kernel(type) __builtin_btf_type_id(*(typeof(type) *)0, 1 /* BPF_TYPE_ID_TARGET */)

// Field access for the two flavours of the fill_* functions below: LD
// copies one field, LDN an array field, CAST types a pointer that was read
// as a number. The _PROBE flavour works on any kernel; the _BTF one needs
// typed pointers (tp_btf arguments, bpf_get_current_task_btf, CAST_BTF).
#define LD_PROBE(dst, src)                                          \
	do {                                                        \
		typeof(src) _v = 0;                                 \
		bpf_probe_read_kernel(&_v, sizeof(_v), &(src));     \
		(dst) = _v;                                         \
	} while (0)
#define LDN_PROBE(dst, src) RD(dst, src)
#define CAST_PROBE(type, p) ((type *)(p))
#define LD_BTF(dst, src) ((dst) = (src))
#define LDN_BTF(dst, src) __builtin_memcpy(&(dst), &(src), sizeof(dst))
#define CAST_BTF(type, p) ((type *)bpf_rdonly_cast((void *)(p), bpf_core_type_id_kernel(type)))

// FILL_FNS defines fill_inode<sfx>, fill_socket<sfx> and fill_file<sfx>
// with one flavour of field access: one source for both flavours.
#define FILL_FNS(sfx, LD, LDN, CAST)                                                          \
	/* fill_inode sets identity, mode and times from an inode. */                         \
	static __always_inline void fill_inode##sfx(struct fd_info *fi, struct inode *ino)    \
	{                                                                                     \
		struct super_block *sb = 0;                                                   \
		LD(fi->ino, ino->i_ino);                                                      \
		LD(fi->mode, ino->i_mode);                                                    \
		LD(sb, ino->i_sb);                                                            \
		if (sb)                                                                       \
			LD(fi->dev, sb->s_dev);                                               \
		if (bpf_core_field_exists(ino->i_ctime_sec)) {                                \
			__s64 sec = 0;                                                        \
			__u32 nsec = 0;                                                       \
			LD(sec, ino->i_ctime_sec);                                            \
			LD(nsec, ino->i_ctime_nsec);                                          \
			nsec &= ~(1u << 31); /* I_CTIME_QUERIED (multigrain timestamps) */    \
			fi->ctime = sec * 1000000000 + nsec;                                  \
			LD(sec, ino->i_mtime_sec);                                            \
			LD(nsec, ino->i_mtime_nsec);                                          \
			fi->mtime = sec * 1000000000 + nsec;                                  \
		} else {                                                                      \
			struct inode___pre611 *old = (void *)ino;                             \
			struct timespec64 ts = {};                                            \
			LDN(ts, old->__i_ctime);                                              \
			fi->ctime = ts.tv_sec * 1000000000 + ts.tv_nsec;                      \
			LDN(ts, old->__i_mtime);                                              \
			fi->mtime = ts.tv_sec * 1000000000 + ts.tv_nsec;                      \
		}                                                                             \
	}                                                                                     \
	/* fill_socket sets family, type, protocol and the address tuple of a                 \
	 * socket file. It returns the sock of a unix socket (for its path), else 0. */       \
	static __always_inline struct sock *fill_socket##sfx(struct fd_info *fi, struct file *f) \
	{                                                                                     \
		void *pd = 0;                                                                 \
		LD(pd, f->private_data);                                                      \
		if (!pd)                                                                      \
			return 0;                                                             \
		struct socket *so = CAST(struct socket, pd);                                  \
		struct sock *sk = 0;                                                          \
		LD(sk, so->sk);                                                               \
		if (!sk)                                                                      \
			return 0;                                                             \
		fi->kind = 2;                                                                 \
		LD(fi->family, sk->__sk_common.skc_family);                                   \
		LD(fi->type, sk->sk_type);                                                    \
		LD(fi->proto, sk->sk_protocol);                                               \
		__u16 dport = 0;                                                              \
		LD(fi->sport, sk->__sk_common.skc_num);                                       \
		LD(dport, sk->__sk_common.skc_dport);                                         \
		fi->dport = __builtin_bswap16(dport);                                         \
		if (fi->family == AF_INET) {                                                  \
			LDN(*(__u32 *)fi->saddr, sk->__sk_common.skc_rcv_saddr);              \
			LDN(*(__u32 *)fi->daddr, sk->__sk_common.skc_daddr);                  \
		} else if (fi->family == AF_INET6) {                                          \
			LDN(fi->saddr, sk->__sk_common.skc_v6_rcv_saddr);                     \
			LDN(fi->daddr, sk->__sk_common.skc_v6_daddr);                         \
		} else if (fi->family == AF_UNIX) {                                           \
			return sk;                                                            \
		}                                                                             \
		return 0;                                                                     \
	}                                                                                     \
	/* fill_file describes file f; it returns the sock of a unix socket, else 0. */      \
	static __always_inline struct sock *fill_file##sfx(struct fd_info *fi, struct file *f) \
	{                                                                                     \
		struct inode *ino = 0;                                                        \
		LD(ino, f->f_inode);                                                          \
		if (!ino)                                                                     \
			return 0;                                                             \
		fi->kind = 1;                                                                 \
		fill_inode##sfx(fi, ino);                                                     \
		if ((fi->mode & S_IFMT) == S_IFSOCK)                                          \
			return fill_socket##sfx(fi, f);                                       \
		return 0;                                                                     \
	}

FILL_FNS(, LD_PROBE, LDN_PROBE, CAST_PROBE)
FILL_FNS(_btf, LD_BTF, LDN_BTF, CAST_BTF)

// fd_file returns the struct file of fd in task t, or 0. t is typed, so the
// walk to the fd array is plain loads; the array slot is read as a number.
static __always_inline struct file *fd_file(struct task_struct *t, long fd)
{
	if (fd < 0)
		return 0;
	struct files_struct *files = t->files;
	if (!files)
		return 0;
	struct fdtable *fdt = files->fdt;
	if (!fdt || fd >= fdt->max_fds)
		return 0;
	struct file **arr = fdt->fd;
	struct file *f = 0;
	RD(f, arr[fd]);
	return f;
}

// put_fd_info appends part PART_FD describing fd of task t (nothing if fd
// is not open). It returns the sock of a unix socket (for put_unix_path), else 0.
static __noinline struct sock *put_fd_info(struct scratch *s, __u32 *off, struct task_struct *t, long fd, __u32 cat)
{
	if (!s || !off || !t)
		return 0;
	struct file *f = fd_file(t, fd);
	if (!f)
		return 0;
	struct fd_info *fi = reserve_part(s, off, PART_FD, sizeof(struct fd_info), cat);
	if (!fi)
		return 0;
	__builtin_memset(fi, 0, sizeof(*fi));
	if (bpf_rdonly_cast && !probe_reads)
		return fill_file_btf(fi, CAST_BTF(struct file, f));
	return fill_file(fi, f);
}

// put_unix_path appends part i: the path of unix socket sk, or of its peer
// when sk is not bound ("@name" for abstract names, as Falco shows them).
static __noinline int put_unix_path(struct scratch *s, __u32 *off, int i, struct sock *sock, __u32 cat)
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
