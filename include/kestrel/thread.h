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

/*
 * Observation (thread_observe / thread_resume in syscall.h).
 *
 * An observed thread reports events to its observer's completion queue as
 * KESTREL_REC_OBSERVE records: a struct kestrel_completion (tag = the
 * observer's tag, status 0, count 0) followed by a struct
 * kestrel_observation. After a SYSCALL, FAULT or BREAKPOINT event the
 * thread is stopped: its registers can be read and written with
 * thread_get_regs / thread_set_regs, and it waits for thread_resume() with
 * the event's sequence number (or thread_kill). EXIT only tells that the
 * thread has ended; nothing is to be resumed.
 *
 * Which events: a thread with KESTREL_THREAD_LINUX reports every `syscall`
 * whose number (rax) is not a Kestrel call (KESTREL_SYSCALL_BASE ..
 * KESTREL_SYS_END - 1; those still run directly). Any observed thread
 * reports exceptions the kernel does not resolve itself (page faults that
 * demand paging or copy-on-write cannot satisfy, #GP, #UD, #DE, ...) and
 * breakpoints (int3, and #DB: single-step with TF),
 * and its end. Without an observer a fault ends the thread with a log
 * line, and so does a Linux system call of a Linux-personality thread.
 *
 * Fields not named for an event are 0; an EXIT record carries only event,
 * sequence, thread_id and exit_reason.
 */
enum kestrel_observe_event {
	KESTREL_OBSERVE_SYSCALL = 1,    /* a system call that is not a Kestrel call */
	KESTREL_OBSERVE_FAULT = 2,      /* an exception other than a breakpoint */
	KESTREL_OBSERVE_BREAKPOINT = 3, /* int3 (vector 3) or a debug exception (vector 1) */
	KESTREL_OBSERVE_EXIT = 4,       /* the thread has ended (no stop) */
};

/* kestrel_observation.access for page faults. */
#define KESTREL_OBSERVE_READ (1u << 0)
#define KESTREL_OBSERVE_WRITE (1u << 1)
#define KESTREL_OBSERVE_EXEC (1u << 2)

/* kestrel_observation.exit_reason for EXIT. */
#define KESTREL_EXIT_CALL 1   /* thread_exit() */
#define KESTREL_EXIT_KILLED 2 /* thread_kill(), thread_resume(KILL), or killed before it ran */
#define KESTREL_EXIT_UNHANDLED 3 /* an event nobody took (the observer detached meanwhile) */

struct kestrel_observation {
	uint32_t event;       /* enum kestrel_observe_event */
	uint32_t vector;      /* FAULT, BREAKPOINT: the x86 exception vector (0 #DE,
			       * 1 #DB, 3 #BP, 6 #UD, 13 #GP, 14 #PF, ...) */
	uint64_t sequence;    /* per thread, increasing from 1; thread_resume() needs it */
	uint64_t thread_id;   /* the thread's object_id (kestrel_handle_info) */
	uint64_t error;       /* FAULT: the exception's error code (#PF: the x86 bits P W
			       * U RSVD I; #GP: the selector or 0); #DB: DR6 */
	uint64_t address;     /* #PF: the faulting address (CR2) */
	uint32_t access;      /* #PF: KESTREL_OBSERVE_READ / WRITE / EXEC */
	uint32_t exit_reason; /* EXIT: KESTREL_EXIT_* */
	uint64_t rip;         /* SYSCALL: after the syscall instruction; FAULT: the faulting
			       * instruction; int3: after it */
	uint64_t rsp;
	uint64_t number;      /* SYSCALL: rax */
	uint64_t args[6];     /* SYSCALL: rdi rsi rdx r10 r8 r9 */
};

/* The length of a KESTREL_REC_OBSERVE record: completion + observation. */
#define KESTREL_OBSERVE_RECORD_SIZE (32u + sizeof(struct kestrel_observation))

/* thread_resume() actions. */
enum kestrel_resume_action {
	/* Go on with the registers as they are now (set them first with
	 * thread_set_regs). After a SYSCALL stop the thread continues after the
	 * syscall instruction with the observer's rax as the result; after a
	 * FAULT it returns to rip, retrying the faulting instruction unless rip
	 * was changed; after int3 it continues after the int3. */
	KESTREL_RESUME_CONTINUE = 0,
	/* End the thread (as thread_kill). */
	KESTREL_RESUME_KILL = 1,
};

#endif
