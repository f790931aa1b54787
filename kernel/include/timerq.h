/*
 * A timer queue: nodes ordered by deadline (a 64-bit time, e.g. monotonic
 * nanoseconds), the earliest first. Nodes with equal deadlines come out in
 * the order they were inserted.
 *
 * A pure data structure: no locks, no allocation, no notion of the current
 * time (the caller passes `now`). The nodes are intrusive (embedded in a
 * thread or timer object, found back with container_of). The caller holds
 * the queue's lock (the scheduler: that CPU's timer lock) for every call
 * that takes a queue, and for timer_node_armed()/timer_node_deadline() on
 * a node that may be armed.
 *
 * Costs, for n armed nodes: peek O(1); insert O(1); cancel and pop
 * O(log n) amortized (a pairing heap, see timerq.c).
 *
 * A node is armed (in exactly one queue) from timerq_insert() until it is
 * popped or cancelled. An all-zero node (or one set up by timer_node_init())
 * is not armed. Broken rules (inserting an armed node, cancelling a node
 * that is not armed in this queue) panic through KASSERT.
 */
#ifndef KERNEL_TIMERQ_H
#define KERNEL_TIMERQ_H

#include <stdbool.h>
#include <stdint.h>

struct timerq;

struct timer_node {
	struct timer_node *child; /* first child in the heap */
	struct timer_node *next;  /* next sibling; the root has neither */
	struct timer_node *prev;  /* previous sibling, or parent of a first child */
	struct timerq *queue;	  /* the queue it is armed in, NULL if none */
	uint64_t deadline;	  /* due when the time reaches it */
	uint64_t seq;		  /* insertion number: orders equal deadlines */
};

struct timerq {
	struct timer_node *root; /* earliest node, NULL if empty */
	uint64_t next_seq;
	uint32_t count;
};

/* Make `n` a node that is not armed. */
void timer_node_init(struct timer_node *n);

/* Is `n` armed in some queue? */
bool timer_node_armed(const struct timer_node *n);

/* The deadline `n` was last inserted with (0 if it never was). */
uint64_t timer_node_deadline(const struct timer_node *n);

/* Make `q` an empty queue. */
void timerq_init(struct timerq *q);

/* Arm `n`, which must not be armed, in `q` to expire at `deadline`. After
 * every node already in `q` with a deadline <= `deadline`. */
void timerq_insert(struct timerq *q, struct timer_node *n, uint64_t deadline);

/* Disarm `n`, which must be armed in `q`. */
void timerq_cancel(struct timerq *q, struct timer_node *n);

/* Store the earliest deadline in *deadline and return true; return false
 * (leaving *deadline alone) if `q` is empty. */
bool timerq_peek_deadline(const struct timerq *q, uint64_t *deadline);

/* If the earliest node has expired (deadline <= now), disarm and return
 * it; otherwise return NULL. Call until NULL to collect all expired nodes,
 * earliest first. */
struct timer_node *timerq_pop_expired(struct timerq *q, uint64_t now);

/* Number of armed nodes in `q`. */
uint32_t timerq_count(const struct timerq *q);

#endif
