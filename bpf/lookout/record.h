/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Records, maps, counters and the helpers that append variable parts to a
 * record. A record is struct event_hdr followed by NPARTS variable parts,
 * len[i] bytes each, in index order: parts must be written in that order.
 */
#ifndef LOOKOUT_RECORD_H
#define LOOKOUT_RECORD_H

#define NR_MAX 512     // interest slots for syscall numbers
#define IDX_ONLY 507    // not a spec: the only tgid whose events pass (0: all)
#define IDX_EXCLUDE 508 // not a spec: the tgid whose events are filtered (0: none)
#define IDX_EXEC 509   // lifecycle slots above the syscall numbers
#define IDX_FORK 510
#define IDX_EXIT 511

/* Interest-map value layout (kernelSpec in sensor/internal/probe/spec.go). */
#define SPEC_ON 1              // bit 0: syscall is interesting
#define SPEC_STR_SHIFT 1       // bits 1..6: argument i is a user string
#define SPEC_EXEC_HOOK 128     // bit 7: success reported by the exec hook
#define SPEC_FD_SHIFT 8        // bits 8..10: fd to describe: 0 none, 1..6 arg i-1, 7 return value
#define SPEC_BLOB_SHIFT 11     // bits 11..13: user blob pointer: 0 none, 1..6 arg i-1
#define SPEC_BLOBLEN_SHIFT 14  // bits 14..16: blob length: 0 max only, 1..6 arg i-1
#define SPEC_BLOBMAX_SHIFT 17  // bits 17..24: blob max bytes
#define SPEC_FD_USER (1 << 25) // the fd selector points to an int in user memory (pipe's fds[0])
#define SPEC_MSGHDR (1 << 26)  // the blob selector points to a struct user_msghdr (sendmsg/recvmsg)
#define SPEC_PEER (1 << 27)    // args[4] is a struct sockaddr (the peer: sendto dest_addr, recvfrom src_addr), copied into PART_STR+4
#define SPEC_PEER_LENPTR (1 << 28) // its length is the int args[5] points to (recvfrom), else args[5] itself (sendto)

#define PART_MAX 4096
#define DATA_MASK 0x3fff // per-CPU values must stay under 32 KiB
#define DATA_SIZE (DATA_MASK + 1 + PART_MAX)
#define NPARTS 8
#define PART_FD 0     // struct fd_info of the fd the spec names, or of the exe; first, so 8-byte aligned
#define PART_STR 1    // syscalls: parts 1..6 are the user strings of arguments 0..5
#define PART_UNIX 6   // syscalls on unix sockets: the socket's (or its peer's) path
#define PART_BLOB 7   // syscalls: the user blob (sockaddr, open_how, data ...)
#define PATH_DEPTH 64 // path components resolved per path
#define NAME_MAX 255

enum kind { KIND_SYSCALL = 1, KIND_EXEC = 2, KIND_FORK = 3, KIND_EXIT = 4 };

// Counter categories and counters; index = cat * NCTR + ctr. Every hook
// run ends in exactly one of FILTERED, EMITTED, DROP_FULL or DROP_TOOBIG,
// so user space derives the number of runs as their sum: one increment per
// run, and "runs = filtered + emitted + dropped" holds in every snapshot.
enum cat { CAT_SYSCALL, CAT_EXEC, CAT_FORK, CAT_EXIT, NCAT };
enum ctr { CTR_FILTERED, CTR_EMITTED, CTR_DROP_FULL, CTR_DROP_TOOBIG, CTR_READ_FAIL, CTR_TRUNCATED, NCTR };

// wakeup_bytes: records are written without waking the reader until this
// much data waits in the ring; past it each record wakes the reader. The
// reader also polls on a timer, so a quiet ring costs no wakeups at all and
// a burst is drained long before the ring fills. Set at load time.
volatile const __u64 wakeup_bytes = 1 << 20;

// event_hdr starts every record: what a syscall record needs and no more
// (96 bytes). Lifecycle records (exec, fork, exit) put a struct proc_hdr
// first in their data, before the parts.
struct event_hdr {
	__u64 ts; // CLOCK_BOOTTIME ns
	__s64 res;
	__u64 args[6];
	__u32 tid, pid;
	__u16 kind, nr, cpu, flags;
	__u16 len[NPARTS];
};

// proc_hdr is the process view exec, fork and exit records carry at the
// start of their data (parts follow it).
struct proc_hdr {
	__u64 cap_inh, cap_prm, cap_eff;
	__u64 fdlimit;
	__u64 start_ts; // task start, CLOCK_BOOTTIME ns
	__u32 ptid;
	__u32 uid, gid, loginuid;
	__u32 vtid, vpid, pgid, vpgid;
	__u32 tty;       // controlling tty, user-space dev_t encoding
	__u32 exe_flags; // EXE_* as Falco
	__u32 reaper;    // exit: the tid that adopts the children (0: unknown)
	__u32 pad;
	char comm[16];
};

// fd_info describes an open file or socket (part PART_FD).
struct fd_info {
	__u64 ino;
	__s64 ctime, mtime; // inode times, ns since the epoch
	__u32 dev;          // kernel dev_t of the file system
	__u32 mode;         // inode mode
	__u16 kind;         // 0 none, 1 file, 2 socket
	__u16 family, type, proto;
	__u16 sport, dport; // host order
	__u8 saddr[16], daddr[16];
};

struct scratch {
	struct event_hdr hdr;
	__u8 data[DATA_SIZE];
	__u64 names[PATH_DEPTH]; // const unsigned char * each
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

// Unused instances so bpf2go can emit the Go types.
const struct event_hdr *unused_event_hdr __attribute__((unused));
const struct proc_hdr *unused_proc_hdr __attribute__((unused));
const struct fd_info *unused_fd_info __attribute__((unused));

// bpf_loop (kernel 5.17+) is newer than the vendored bpf_helper_defs.h.
static long (*const bpf_loop)(__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags) = (void *)181;

// bpf_core_field_exists is true when the running kernel has the field.
#define bpf_core_field_exists(field) __builtin_preserve_field_info(field, 2 /* BPF_FIELD_EXISTS */)

// bound masks an offset into the data area in a way the compiler cannot
// drop, so the verifier always sees the bound.
static __always_inline __u64 bound(__u64 v)
{
	asm volatile("%[v] &= %[m]" : [v] "+r"(v) : [m] "i"(DATA_MASK));
	return v;
}

// RD copies a kernel field whose address is computed with CO-RE relocations.
#define RD(dst, src) bpf_probe_read_kernel(&(dst), sizeof(dst), &(src))

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

// excluded reports whether user space asked to leave the current process
// out: it is the excluded one (normally the sensor itself), or not the only
// one watched (tests, watching one process).
static __always_inline int excluded(void)
{
	__u32 ex = spec_of(IDX_EXCLUDE), only = spec_of(IDX_ONLY);
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	return (ex && ex == tgid) || (only && only != tgid);
}

// excluded_fork is excluded for a fork, which runs in the parent: a new
// thread of the excluded process is left out, a child process is not (its
// exec and its own events pass too), so `rules test` still sees the
// processes the sensor starts.
static __always_inline int excluded_fork(__u32 child_tgid)
{
	__u32 ex = spec_of(IDX_EXCLUDE), only = spec_of(IDX_ONLY);
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	return (ex && ex == child_tgid) || (only && only != tgid);
}

// start returns the per-CPU scratch record with its header zeroed and the
// fields every record carries set: time, kind, nr, cpu, tid and pid.
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
	return s;
}

// start_proc zeroes the proc_hdr at the start of a lifecycle record's data
// and returns it; the record's parts start at *off, after it.
static __always_inline struct proc_hdr *start_proc(struct scratch *s, __u32 *off)
{
	struct proc_hdr *ph = (struct proc_hdr *)s->data;
	__builtin_memset(ph, 0, sizeof(*ph));
	*off = sizeof(*ph);
	return ph;
}

// fill_creds sets the parent, credentials, capabilities, loginuid and comm
// of task t.
static __always_inline void fill_creds(struct proc_hdr *h, struct task_struct *t)
{
	h->ptid = t->real_parent->tgid;
	const struct cred *c = t->cred;
	h->uid = c->euid.val;
	h->gid = c->egid.val;
	h->cap_inh = *(__u64 *)&c->cap_inheritable;
	h->cap_prm = *(__u64 *)&c->cap_permitted;
	h->cap_eff = *(__u64 *)&c->cap_effective;
	h->loginuid = t->loginuid.val;
	__builtin_memcpy(h->comm, t->comm, sizeof(h->comm)); // plain loads from the typed task
}

// room reports whether a part may start at off; parts that do not fit are
// left empty and counted as truncated.
static __always_inline int room(__u32 off, __u32 cat)
{
	if (off <= DATA_MASK)
		return 1;
	count(cat, CTR_TRUNCATED);
	return 0;
}

// put_user_str copies a NUL-terminated user string as part i at *off.
__noinline int put_user_str(struct scratch *s, __u32 *off, int i, __u64 ptr, __u32 cat)
{
	if (!s || !off)
		return 0;
	if (!room(*off, cat))
		return 0;
	__u32 o = *off & DATA_MASK;
	long n = bpf_probe_read_user_str(&s->data[o], PART_MAX, (const void *)ptr);
	if (n <= 0) {
		if (ptr)
			count(cat, CTR_READ_FAIL);
		return 0;
	}
	s->hdr.len[i & (NPARTS - 1)] = n - 1; // without the NUL
	*off = o + n - 1;
	return 0;
}

// put_user_blob_g copies n bytes (at most PART_MAX) of user memory as part
// (ic & 0xff) for counter category (ic >> 8).
__noinline int put_user_blob_g(struct scratch *s, __u32 *off, __u32 ic, __u64 ptr, __u64 n)
{
	if (!s || !off)
		return 0;
	__u32 i = ic & 0xff, cat = ic >> 8;
	if (n > PART_MAX)
		n = PART_MAX;
	if (n == 0 || !ptr || !room(*off, cat))
		return 0;
	__u32 o = *off & DATA_MASK;
	if (bpf_probe_read_user(&s->data[o], n, (const void *)ptr)) {
		count(cat, CTR_READ_FAIL);
		return 0;
	}
	s->hdr.len[i & (NPARTS - 1)] = n;
	*off = o + n;
	return 0;
}

// put_user_blob copies n bytes, at most max, of user memory as part i.
static __always_inline void put_user_blob(struct scratch *s, __u32 *off, int i, __u64 ptr, __u64 n, __u64 max, __u32 cat)
{
	if (n > max)
		n = max;
	put_user_blob_g(s, off, i | (cat << 8), ptr, n);
}

// put_kernel_str copies a kernel string as part i.
__noinline int put_kernel_str(struct scratch *s, __u32 *off, int i, __u64 p, __u32 cat)
{
	if (!s || !off)
		return 0;
	if (!room(*off, cat))
		return 0;
	__u32 o = *off & DATA_MASK;
	long n = bpf_probe_read_kernel_str(&s->data[o], PART_MAX, (const void *)p);
	if (n <= 0) {
		count(cat, CTR_READ_FAIL);
		return 0;
	}
	s->hdr.len[i & (NPARTS - 1)] = n - 1;
	*off = o + n - 1;
	return 0;
}

// reserve_part returns a zeroed fixed-size part i of size bytes, or 0.
static __always_inline void *reserve_part(struct scratch *s, __u32 *off, int i, __u32 size, __u32 cat)
{
	if (!room(*off, cat))
		return 0;
	__u32 o = *off & DATA_MASK;
	void *p = &s->data[o];
	s->hdr.len[i & (NPARTS - 1)] = size;
	*off = o + size;
	return p;
}

static __always_inline void submit(struct scratch *s, __u32 off, __u32 cat)
{
	if (off > DATA_SIZE)
		off = DATA_SIZE;
	__u64 size = sizeof(struct event_hdr) + off;
	__u64 flags = BPF_RB_NO_WAKEUP;
	// An exec wakes the reader at once: user space reads /proc/PID of the
	// new program (its root's etc/passwd for user.name, its cgroup) and a
	// short-lived one is gone after the 50 ms poll. Execs are rare next to
	// syscalls, so an idle node stays idle.
	if (cat == CAT_EXEC || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + size >= wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	long err = bpf_ringbuf_output(&events, s, size, flags);
	if (err == 0)
		count(cat, CTR_EMITTED);
	else if (err == -7 /* E2BIG */)
		count(cat, CTR_DROP_TOOBIG);
	else
		count(cat, CTR_DROP_FULL);
}

#endif
