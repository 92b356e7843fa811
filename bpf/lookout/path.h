/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Absolute paths from a struct path: walk d_parent up to the mount root,
 * cross to the parent mount, stop at the root of the mount tree.
 * bpf_d_path is not allowed in tp_btf programs, so this is done by hand
 * with bpf_loop (verified once, whatever the depth), bounded to PATH_DEPTH
 * components; deeper paths are cut at the top and counted as truncated.
 */
#ifndef LOOKOUT_PATH_H
#define LOOKOUT_PATH_H

#include "record.h"

struct walk {
	struct scratch *s;
	struct dentry *d;
	struct mount *m;
	__u32 steps;    // steps taken; s->names[k] is step k's component, 0 for a mount crossing
	__u32 o;        // write offset in s->data
	__u32 complete; // reached the root
};

// walk_up records step k: one component, or one mount crossing. Nothing in
// it depends on k's value, so the verifier checks it once.
static long walk_up(__u64 k, void *ctx)
{
	struct walk *w = ctx;
	struct scratch *s = w->s;
	struct dentry *d = w->d, *root = 0, *parent = 0;
	struct mount *m = w->m;
	s->names[k & (PATH_DEPTH - 1)] = 0;
	RD(root, m->mnt.mnt_root);
	RD(parent, d->d_parent);
	if (d == root) {
		struct mount *mp = 0;
		RD(mp, m->mnt_parent);
		if (mp == m || !mp) {
			w->complete = 1;
			return 1;
		}
		RD(w->d, m->mnt_mountpoint);
		w->m = mp;
		return 0;
	}
	if (d == parent || !parent) {
		// A root that is not a mount root: a pseudo file (memfd, pipe ...)
		// or a detached tree. Keep its name, as d_path shows "/memfd:x".
		RD(s->names[k & (PATH_DEPTH - 1)], d->d_name.name);
		w->complete = 1;
		return 1;
	}
	RD(s->names[k & (PATH_DEPTH - 1)], d->d_name.name);
	w->d = parent;
	return 0;
}

// write_down appends "/" and the component of step steps-1-j, if any.
static long write_down(__u64 j, void *ctx)
{
	struct walk *w = ctx;
	struct scratch *s = w->s;
	__u64 name = s->names[(w->steps - 1 - j) & (PATH_DEPTH - 1)];
	if (!name)
		return 0;
	if (w->o > DATA_MASK - NAME_MAX - 1) {
		w->complete = 0;
		return 1;
	}
	s->data[bound(w->o)] = '/';
	w->o++;
	long r = bpf_probe_read_kernel_str(&s->data[bound(w->o)], NAME_MAX + 1, (const void *)name);
	if (r > 0)
		w->o += r - 1;
	return 0;
}

// put_path writes the absolute path of *path as part i.
__noinline int put_path(struct scratch *s, __u32 *off, int i, __u64 path_addr, __u32 cat)
{
	const struct path *path = (const struct path *)path_addr;
	if (!s || !off)
		return 0;
	struct walk w = {.s = s};
	struct vfsmount *vm = 0;
	RD(w.d, path->dentry);
	RD(vm, path->mnt);
	if (!w.d || !vm) {
		count(cat, CTR_READ_FAIL);
		return 0;
	}
	if (!room(*off, cat))
		return 0;
	w.m = container_of(vm, struct mount, mnt);
	long steps = bpf_loop(PATH_DEPTH, walk_up, &w, 0); // a step that returns 1 counts
	w.steps = steps > 0 ? steps : 0;
	__u32 start = *off & DATA_MASK;
	w.o = start;
	bpf_loop(w.steps, write_down, &w, 0);
	if (w.o == start) {
		s->data[bound(w.o)] = '/';
		w.o++;
	}
	if (!w.complete)
		count(cat, CTR_TRUNCATED);
	s->hdr.len[i & (NPARTS - 1)] = w.o - start;
	*off = w.o;
	return 0;
}

#endif
