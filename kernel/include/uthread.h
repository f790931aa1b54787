/*
 * User threads: the kernel object behind a thread handle
 * (KESTREL_OBJ_THREAD) and the user-mode half of a scheduler thread.
 *
 * A user thread runs in an address space, uses a handle table, and owns
 * its user register state: while it runs in the kernel, the user registers
 * are in the frame at the top of its kernel stack; before its first start
 * they are in `start_regs`. The FPU/SSE state is saved here when another
 * user thread takes the CPU.
 *
 * Lifetime: the kobject lives while handles or the running thread refer to
 * it. The running thread holds a reference to its space and table until it
 * exits; handles hold only the thread object.
 */
#ifndef KERNEL_UTHREAD_H
#define KERNEL_UTHREAD_H

#include <kestrel/thread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kobject.h"
#include "observe.h"
#include "spinlock.h"

struct space;
struct handle_table;
struct thread;

enum uthread_state {
	UTHREAD_STOPPED,  /* created stopped, not started yet */
	UTHREAD_RUNNING,  /* has a scheduler thread (running, ready or blocked) */
	UTHREAD_EXITED,
};

struct uthread {
	struct kobject obj;
	struct spinlock lock;          /* state, kill_requested, kthread */
	enum uthread_state state;
	bool kill_requested;
	bool unhandled;                /* ending for an event nobody took (only the thread) */
	uint32_t flags;                /* KESTREL_THREAD_* */
	int priority;
	uint64_t affinity;
	struct thread *kthread;        /* the scheduler's thread while RUNNING */
	struct space *space;           /* referenced while not EXITED */
	struct handle_table *table;    /* referenced while not EXITED */
	struct kestrel_regs_x86_64 start_regs;
	uint64_t bases[2];             /* FS/GS bases while switched out */
	struct uthread_observer obs;   /* observation (observe.c; its own lock) */
	uint8_t fpu[512] __attribute__((aligned(16)));
};

/* The calling thread's user part, NULL for a kernel thread. */
struct uthread *uthread_current(void);

/* Create a user thread (stopped). One reference for the caller. NULL if
 * out of memory. */
struct uthread *uthread_create(struct space *space, struct handle_table *table, uint64_t ip,
			       uint64_t sp, uint64_t arg, uint32_t flags);
/* Start a stopped thread: 0 or -KE_BUSY. */
int uthread_start(struct uthread *u);
/* Ask a thread to end (at its next kernel entry or wait). */
void uthread_kill(struct uthread *u);
/* End the calling user thread. */
void uthread_exit(void) __attribute__((noreturn));
/* True if the calling thread has been asked to end: waits give up. */
bool uthread_should_exit(void);

/* Called by the scheduler when it switches from prev to next (interrupts
 * off, run-queue lock held): address space and FPU state. */
void uthread_switch(struct thread *prev, struct thread *next);

/* A user thread took an exception nobody handles (no observer): log what
 * happened and end the thread. */
void uthread_fatal_exception(const char *what, uint64_t ip, uint64_t addr)
	__attribute__((noreturn));
/* The calling thread's address space (NULL for kernel threads). */
struct space *uthread_current_space(void);

#endif
