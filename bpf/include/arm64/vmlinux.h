/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CO-RE header for arm64 builds. No arm64 kernel BTF is available on the
 * build machine, so this reuses the x86_64 dump for every architecture-
 * neutral type (task_struct, cred, mm_struct, linux_binprm ...: all field
 * accesses are relocated against the running kernel's BTF at load time,
 * so their x86_64 layout here does not matter) and defines the one type
 * that differs by architecture and that the probe reads: struct pt_regs.
 * The "___x86" flavour suffix keeps the x86 definition out of the way.
 */
#ifndef LOOKOUT_VMLINUX_ARM64_H
#define LOOKOUT_VMLINUX_ARM64_H

#define pt_regs pt_regs___x86
#include "../x86/vmlinux.h"
#undef pt_regs

struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
} __attribute__((preserve_access_index));

struct pt_regs {
	union {
		struct user_pt_regs user_regs;
		struct {
			__u64 regs[31];
			__u64 sp;
			__u64 pc;
			__u64 pstate;
		};
	};
	__u64 orig_x0;
	__s32 syscallno;
	__u32 pmr;
	__u64 sdei_ttbr1;
	__u64 stackframe[3];
	__u64 lockdep_hardirqs;
	__u64 exit_rcu;
} __attribute__((preserve_access_index));

#endif
