/*
 * Thread observation (kernel/generic/observe.c): an observed thread
 * reports its faults, breakpoints, Linux system calls (with the Linux
 * personality) and its end to an observer's completion queue, and stays
 * stopped after each event until the observer resumes it. The user-visible
 * semantics are in <kestrel/thread.h> and <kestrel/syscall.h>
 * (thread_observe, thread_resume).
 *
 * The thread refers to the observer's queue weakly: it does not keep the
 * queue alive (a dead observer must not keep its observed threads stopped
 * forever, nor form a reference cycle when the queue's handle lives in the
 * observed thread's own table). Instead queue_destroy() calls
 * observe_queue_gone(), which detaches every thread observing the queue
 * before the queue is freed. Everything here is guarded by one lock,
 * observe_lock (LOCK_ORDER_OBSERVE, taken before queue locks and uthread
 * locks); a queue pointer found in an observer under that lock points to
 * memory that stays valid while the lock is held.
 */
#ifndef KERNEL_OBSERVE_H
#define KERNEL_OBSERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "ipc.h"

struct uthread;
struct observe_stop;

/* A user thread's observation state, embedded in struct uthread. All
 * fields are guarded by observe_lock. */
struct uthread_observer {
	struct queue *queue;		/* NULL: not observed. Weak (see above) */
	uint64_t tag;			/* the observer's tag for its records */
	struct queue_pending stop_slot; /* room for the next stop's record */
	struct queue_pending exit_slot; /* room for the EXIT record */
	bool stop_reserved, exit_reserved;
	uint64_t sequence;		      /* of the last event reported */
	struct observe_stop *stop;	      /* while stopped: on the thread's kernel stack */
	struct uthread_observer *next, *prev; /* in the list of observed threads */
};

/* What the architecture reports for an event of the calling thread. For
 * SYSCALL the number and arguments are read from the saved registers. */
struct observe_event {
	uint32_t event; /* KESTREL_OBSERVE_SYSCALL / FAULT / BREAKPOINT */
	uint32_t vector;
	uint64_t error;
	uint64_t address;
	uint32_t access; /* KESTREL_OBSERVE_READ / WRITE / EXEC */
};

/* The calling thread took an event (interrupts enabled, user registers
 * saved at its kernel entry). If it is observed: report it, stop until
 * resumed, and return true with the user registers — as the observer may
 * have changed them — back in place; a kill ends the thread here. False if
 * there is no observer (or it went away during the stop): the caller
 * applies the default (the thread ends). */
bool observe_event(const struct observe_event *ev);
/* A Linux-personality thread made a system call that is not a Kestrel
 * call: report it; without an observer the thread ends with a log line. */
void observe_linux_syscall(void);

/* The thread has ended (its state is UTHREAD_EXITED, or it is being
 * destroyed without ever having run): report EXIT with reason
 * KESTREL_EXIT_* and detach the observer. Harmless if not observed. No
 * spinlock may be held. */
void observe_thread_ended(struct uthread *u, uint32_t reason);

/* Read or write a register set (KESTREL_REGS_*; buf is the set's size, or
 * NULL to check only) of a thread stopped at an observation event: 0, or
 * -KE_BUSY if it is not. */
int observe_regs(struct uthread *u, uint64_t set, void *buf, bool write);

/* queue_destroy(): the queue is going away; detach its observed threads
 * (a stopped one goes on as if it had never been observed). */
void observe_queue_gone(struct queue *q);

int64_t sys_thread_observe(int64_t thread, int64_t queue, uint64_t tag);
int64_t sys_thread_resume(int64_t thread, uint64_t sequence, uint64_t action);

#endif
