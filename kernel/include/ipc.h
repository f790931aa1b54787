/*
 * Asynchronous IPC in the kernel: completion queues (queue.c), streams and
 * their action chains (stream.c), async timers (queue.c) and futexes
 * (futex.c). The user-visible semantics are in <kestrel/queue.h> and
 * <kestrel/stream.h>; this header is the kernel-internal glue between them.
 *
 * Lock order: a stream's lock (LOCK_ORDER_STREAM) before a queue's
 * (LOCK_ORDER_QUEUE); neither is held while copying to or from user
 * memory or installing handles.
 */
#ifndef KERNEL_IPC_H
#define KERNEL_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kobject.h"

struct queue;

/* A pending operation as the queue knows it: for cancel-by-tag and for
 * completion. Embedded in the owner's operation (stream op or timer). */
struct queue_pending {
	struct queue_pending *next, *prev;
	uint64_t tag;
	uint32_t reserved_bytes; /* room kept for the completion record */
	uint32_t kind;           /* QUEUE_PENDING_STREAM / _TIMER */
	void *owner;             /* the stream op or timer */
	struct kobject *owner_obj; /* stream ops: the stream (for cancel) */
};

#define QUEUE_PENDING_STREAM 1
#define QUEUE_PENDING_TIMER 2
#define QUEUE_PENDING_OBSERVE 4 /* an observed thread's record slot (observe.c) */
#define QUEUE_PENDING_IRQ 3 /* irq.c: owner is the wait; cancel via irq_cancel_wait */

/* Look a queue handle up (WAIT right): 0 and a reference, or -KE_*. */
int queue_from_handle(int64_t h, struct queue **out);
void queue_put(struct queue *q);
void queue_get(struct queue *q);
/* A reference unless the queue is already being destroyed (observe.c,
 * which holds queues weakly). */
bool queue_tryget(struct queue *q);
/* Reserve room for a completion of up to `bytes` and register p as
 * pending: 0 or -KE_NO_SPACE / -KE_TOO_BIG. */
int queue_reserve(struct queue *q, struct queue_pending *p, uint32_t bytes);
/* Write the completion record (its length a multiple of 8, at most what
 * was reserved), unregister p and release its reservation; wakes waiters.
 * With only_if_pending, nothing happens (false) if p is no longer
 * registered (a cancel took it). */
bool queue_complete(struct queue *q, struct queue_pending *p, const void *record, uint32_t len,
		    bool only_if_pending);
/* Give a reservation back without completing (unregisters p). */
void queue_unreserve(struct queue *q, struct queue_pending *p);

/* Stream side of cancellation: cancel the op behind p if it is still
 * pending in its stream. Returns 0 or -KE_NOT_FOUND. */
int stream_cancel(struct kobject *stream, struct queue *q, uint64_t tag);

/* System calls. */
int64_t sys_queue_create(uint64_t capacity, uint64_t addr_out);
int64_t sys_queue_wait(int64_t h, uint64_t index, uint64_t timeout_ns);
int64_t sys_cancel(int64_t queue, uint64_t tag);
int64_t sys_timer_submit(int64_t queue, uint64_t deadline, uint64_t tag);
int64_t sys_stream_create(uint64_t handles_out);
int64_t sys_submit(int64_t lane, int64_t queue, uint64_t actions, uint64_t count, uint64_t tag);
int64_t sys_submit_batch(int64_t queue, uint64_t subs, uint64_t count);
int64_t sys_futex_wait(uint64_t addr, uint64_t expected, uint64_t timeout_ns);
int64_t sys_futex_wake(uint64_t addr, uint64_t count);

#endif
