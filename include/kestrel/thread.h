/*
 * Kestrel kernel API: threads (flags, register sets, observation).
 */
#ifndef KESTREL_THREAD_H
#define KESTREL_THREAD_H

#include <stdint.h>

/* thread_create() flags. */
#define KESTREL_THREAD_STOPPED (1u << 0) /* created stopped: thread_start() runs it */
#define KESTREL_THREAD_LINUX (1u << 1)   /* Linux personality: system calls that are
					  * not Kestrel calls go to the observer */

#define KESTREL_PRIORITY_MIN 1  /* most urgent a user thread may have */
#define KESTREL_PRIORITY_MAX 31
#define KESTREL_PRIORITY_DEFAULT 16

/* Register sets for thread_get_regs() / thread_set_regs(). */
enum kestrel_regset {
	KESTREL_REGS_GENERAL = 1, /* struct kestrel_regs_x86_64 */
	KESTREL_REGS_FPU = 2,     /* the 512-byte FXSAVE image */
};

struct kestrel_regs_x86_64 {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	uint64_t fs_base, gs_base;
};

#define KESTREL_FPU_STATE_SIZE 512

#endif
