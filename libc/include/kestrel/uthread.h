/*
 * <kestrel/uthread.h>: more threads in the calling program (same address
 * space, same handle table). A stop-gap until pthreads and C11 threads.
 *
 *     struct kestrel_uthread t;
 *     kestrel_uthread_create(&t, worker, arg, 0, 0);
 *     ...
 *     kestrel_uthread_join(&t, KESTREL_FOREVER);  // t.result: worker's return value
 *
 * The struct belongs to the caller and must stay in place until joined.
 * exit() from any thread ends all threads made here, and the main thread.
 */
#ifndef _KESTREL_UTHREAD_H
#define _KESTREL_UTHREAD_H

#include <kestrel/object.h>
#include <stddef.h>
#include <stdint.h>

#define KESTREL_UTHREAD_STACK_DEFAULT (64u << 10)

struct kestrel_uthread {
	kestrel_handle_t handle; /* the thread (all rights): affinity, priority, kill */
	uint32_t done;           /* futex word: 1 once fn has returned */
	int (*fn)(void *);
	void *arg;
	int result; /* fn's return value, once done */
	void *stack;
	size_t stack_size;
	struct kestrel_uthread *next, *prev; /* the program's live threads */
};

/* Start fn(arg) on a new thread with a stack of stack_size bytes (0: the
 * default). flags: KESTREL_THREAD_STOPPED (then kestrel_thread_start(t->handle)).
 * Returns 0 or -KE_*. */
int64_t kestrel_uthread_create(struct kestrel_uthread *t, int (*fn)(void *), void *arg,
			       size_t stack_size, uint32_t flags);
/* Wait until fn has returned (0), or -KE_TIMEOUT; on success the thread's
 * stack and handle are released. */
int64_t kestrel_uthread_join(struct kestrel_uthread *t, uint64_t timeout_ns);

#endif
