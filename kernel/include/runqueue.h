/*
 * A CPU's run queue: the threads that are ready to run there, in
 * RUNQUEUE_LEVELS priority levels (0 is the most urgent), first in first
 * out within a level, with a bitmap of the non-empty levels so that the
 * most urgent thread is found in O(1).
 *
 * A pure data structure: no locks, no allocation. The nodes are intrusive
 * (embedded in the queued object, found back with container_of). The
 * caller serializes all access to a queue with its own lock (the scheduler:
 * that CPU's run-queue lock) and holds it for every call below, except
 * runqueue_count(), which may be read without it as a hint.
 *
 * A node is either in no queue or in exactly one; an all-zero node (or one
 * set up by rq_node_init()) is in no queue. Broken rules (queuing a queued
 * node, removing a node from a queue it is not in, a priority out of
 * range) panic through KASSERT.
 */
#ifndef KERNEL_RUNQUEUE_H
#define KERNEL_RUNQUEUE_H

#include <stdbool.h>
#include <stdint.h>

/* Priority levels; equal to THREAD_PRIORITIES (checked in runqueue.c). */
#define RUNQUEUE_LEVELS 32

struct runqueue;

struct rq_node {
	struct rq_node *next;	/* towards the tail of the level, NULL at it */
	struct rq_node *prev;	/* towards the head of the level, NULL at it */
	struct runqueue *queue; /* the queue holding the node, NULL if none */
	uint32_t priority;	/* level while queued */
};

struct rq_level {
	struct rq_node *head; /* waited longest; next to run */
	struct rq_node *tail; /* queued last */
};

struct runqueue {
	struct rq_level levels[RUNQUEUE_LEVELS];
	uint32_t bitmap; /* bit p set <=> levels[p] is not empty */
	uint32_t count;	 /* nodes queued; atomic, see runqueue_count() */
};

/* Make `rq` an empty queue. */
void runqueue_init(struct runqueue *rq);

/* Make `n` a node that is in no queue (same as zero-filling it). */
void rq_node_init(struct rq_node *n);

/* Is `n` in a run queue? Lock of that queue held (or `n` known to be in
 * none). */
bool rq_node_queued(const struct rq_node *n);

/* Append `n`, which must be in no queue, at the tail of level `priority`
 * (0 <= priority < RUNQUEUE_LEVELS). O(1). */
void runqueue_enqueue(struct runqueue *rq, struct rq_node *n, int priority);

/* Remove and return the head of the most urgent non-empty level, or NULL
 * if the queue is empty. O(1). */
struct rq_node *runqueue_pop(struct runqueue *rq);

/* Remove `n`, which must be in `rq`, wherever it is in its level (e.g. to
 * queue it again at another priority). O(1). */
void runqueue_remove(struct runqueue *rq, struct rq_node *n);

/* The most urgent non-empty level, or -1 if the queue is empty. O(1). */
int runqueue_best_priority(const struct runqueue *rq);

/* Number of queued nodes. The only call that needs no lock: other CPUs
 * read it as a hint (a relaxed atomic load), which may be stale by the
 * time they act on it. */
uint32_t runqueue_count(const struct runqueue *rq);

/*
 * Remove and return a node that may run on CPU `cpu` (as decided by
 * runqueue_can_run_on()), or NULL if there is none. The most urgent level
 * with such a node wins; within that level, the allowed node nearest the
 * head, i.e. the one that has waited longest, as runqueue_pop() would.
 * O(n) in the worst case: it may ask about every queued node.
 */
struct rq_node *runqueue_steal(struct runqueue *rq, uint32_t cpu);

/*
 * Provided by the user of the run queue (the scheduler; the unit tests
 * have their own): may the object owning `n` run on CPU `cpu`? Called by
 * runqueue_steal() with the queue's lock held; must not touch the queue.
 */
bool runqueue_can_run_on(const struct rq_node *n, uint32_t cpu);

#endif
