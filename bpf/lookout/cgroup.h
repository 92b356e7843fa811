/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The task's cgroup v2 path, as Falco's "cgroups" exec parameter
 * ("=/system.slice/docker-<id>.scope"): the state tables take the container
 * id from it even when the process is gone before /proc could be read.
 */
#ifndef LOOKOUT_CGROUP_H
#define LOOKOUT_CGROUP_H

#include "record.h"
#include "path.h"

// Kernels before 6.15 named the parent pointer "parent".
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

// kn_up records step k: the name of the kernfs node, then moves to its parent.
static long kn_up(__u64 k, void *ctx)
{
	struct walk *w = ctx;
	struct scratch *s = w->s;
	struct kernfs_node *kn = (struct kernfs_node *)w->d, *parent = 0;
	s->names[k & (PATH_DEPTH - 1)] = 0;
	if (bpf_core_field_exists(kn->__parent))
		RD(parent, kn->__parent);
	else
		RD(parent, ((struct kernfs_node___old *)kn)->parent);
	if (!parent) { // the root: its name is not part of the path
		w->complete = 1;
		return 1;
	}
	RD(s->names[k & (PATH_DEPTH - 1)], kn->name);
	w->d = (struct dentry *)parent;
	return 0;
}

// put_cgroup appends part i: "=" and the cgroup v2 path of task, or nothing
// when the task is in the root cgroup (or only cgroup v1 is in use).
__noinline int put_cgroup(struct scratch *s, __u32 *off, int i, __u64 task, __u32 cat)
{
	struct task_struct *t = (struct task_struct *)task;
	struct css_set *cs = 0;
	struct cgroup *cg = 0;
	struct kernfs_node *kn = 0;
	if (!s || !off)
		return 0;
	RD(cs, t->cgroups);
	if (cs)
		RD(cg, cs->dfl_cgrp);
	if (cg)
		RD(kn, cg->kn);
	if (!kn || !room(*off, cat))
		return 0;
	struct walk w = {.s = s, .d = (struct dentry *)kn};
	long steps = bpf_loop(PATH_DEPTH, kn_up, &w, 0);
	if (steps <= 1) // the root cgroup
		return 0;
	w.steps = steps;
	__u32 start = *off & DATA_MASK;
	s->data[start] = '=';
	w.o = start + 1;
	bpf_loop(w.steps, write_down, &w, 0);
	if (!w.complete)
		count(cat, CTR_TRUNCATED);
	s->hdr.len[i & (NPARTS - 1)] = w.o - start;
	*off = w.o;
	return 0;
}

#endif
