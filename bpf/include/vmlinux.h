/* SPDX-License-Identifier: GPL-2.0 */
/* Selects the per-architecture kernel types; bpf2go defines __TARGET_ARCH_*. */
#if defined(__TARGET_ARCH_x86)
#include "x86/vmlinux.h"
#elif defined(__TARGET_ARCH_arm64)
#include "arm64/vmlinux.h"
#else
#error "unsupported architecture: define __TARGET_ARCH_x86 or __TARGET_ARCH_arm64"
#endif
