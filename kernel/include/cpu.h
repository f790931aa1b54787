/*
 * Per-CPU data. Each CPU has one struct cpu; the architecture keeps a
 * pointer to it where cpu_current() can read it in one instruction (the GS
 * base on x86_64). Fields are touched only by their own CPU unless a
 * comment says which lock guards them.
 */
#ifndef KERNEL_CPU_H
#define KERNEL_CPU_H

#include <stdbool.h>
#include <stdint.h>

#define MAX_CPUS 64

struct thread;

struct cpu {
	struct cpu *self;      /* offset 0: read by cpu_current() */
	uint32_t index;        /* offset 8: read by arch_cpu_index() */
	uint32_t apic_id;
	bool online;
	struct thread *current; /* the running thread */
	void *sched;           /* the scheduler's per-CPU state */
	uint64_t kernel_stack_top; /* of the current thread, for traps
				    * and system calls from user mode */
	uint64_t irq_count;    /* interrupts taken on this CPU */
	uint32_t irq_nesting;  /* > 0 while handling an interrupt */
	uint64_t user_rsp;     /* scratch for the system-call entry */
	struct uthread *fpu_owner; /* whose FPU state is in this CPU's registers */
};

/* kernel_stack_top and user_rsp are at fixed offsets for the assembly entry
 * paths (arch/x86_64/asm_offsets.h, checked in user.c). */

extern struct cpu cpus[MAX_CPUS];
extern uint32_t cpu_count; /* CPUs brought online */

static inline struct cpu *cpu_current(void)
{
	struct cpu *c;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(c));
	return c;
}

#endif
