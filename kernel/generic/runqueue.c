/*
 * Run queues (see runqueue.h): one doubly linked FIFO list per priority
 * level, plus a bitmap of the non-empty levels.
 *
 * Invariants, whenever the queue's lock is free:
 *   - levels[p] is a NULL-terminated list from head to tail through
 *     `next`, and back through `prev`; head and tail are both NULL or both
 *     set;
 *   - every node on levels[p] has queue == rq and priority == p, and a node
 *     with queue == NULL is on no list;
 *   - bit p of bitmap is set exactly when levels[p] is not empty, so the
 *     most urgent ready node is the head of level ctz(bitmap);
 *   - count is the number of nodes on all levels. It is the one field read
 *     without the lock, so it is only ever written with an atomic store
 *     (by the lock holder, hence no read-modify-write is needed).
 */
#include "runqueue.h"

#include <stddef.h>

#include "panic.h"
#include "sched.h"

_Static_assert(RUNQUEUE_LEVELS == THREAD_PRIORITIES, "one run-queue level per thread priority");
_Static_assert(RUNQUEUE_LEVELS <= 32, "the level bitmap is 32 bits");

static void set_count(struct runqueue *rq, uint32_t count)
{
	__atomic_store_n(&rq->count, count, __ATOMIC_RELAXED);
}

/* Take `n` off its level and out of the queue. */
static void unlink_node(struct runqueue *rq, struct rq_node *n)
{
	struct rq_level *l = &rq->levels[n->priority];
	if (n->prev)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	if (!l->head)
		rq->bitmap &= ~(1u << n->priority);
	n->next = NULL;
	n->prev = NULL;
	n->queue = NULL;
	KASSERT(rq->count > 0);
	set_count(rq, rq->count - 1);
}

void runqueue_init(struct runqueue *rq)
{
	for (int p = 0; p < RUNQUEUE_LEVELS; p++) {
		rq->levels[p].head = NULL;
		rq->levels[p].tail = NULL;
	}
	rq->bitmap = 0;
	set_count(rq, 0);
}

void rq_node_init(struct rq_node *n)
{
	n->next = NULL;
	n->prev = NULL;
	n->queue = NULL;
	n->priority = 0;
}

bool rq_node_queued(const struct rq_node *n)
{
	return n->queue != NULL;
}

void runqueue_enqueue(struct runqueue *rq, struct rq_node *n, int priority)
{
	KASSERT(priority >= 0 && priority < RUNQUEUE_LEVELS);
	KASSERT(n->queue == NULL);
	struct rq_level *l = &rq->levels[priority];
	n->queue = rq;
	n->priority = (uint32_t)priority;
	n->next = NULL;
	n->prev = l->tail;
	if (l->tail)
		l->tail->next = n;
	else
		l->head = n;
	l->tail = n;
	rq->bitmap |= 1u << priority;
	set_count(rq, rq->count + 1);
}

struct rq_node *runqueue_pop(struct runqueue *rq)
{
	if (!rq->bitmap)
		return NULL;
	struct rq_node *n = rq->levels[__builtin_ctz(rq->bitmap)].head;
	unlink_node(rq, n);
	return n;
}

void runqueue_remove(struct runqueue *rq, struct rq_node *n)
{
	KASSERT(n->queue == rq);
	unlink_node(rq, n);
}

int runqueue_best_priority(const struct runqueue *rq)
{
	return rq->bitmap ? __builtin_ctz(rq->bitmap) : -1;
}

uint32_t runqueue_count(const struct runqueue *rq)
{
	return __atomic_load_n(&rq->count, __ATOMIC_RELAXED);
}

struct rq_node *runqueue_steal(struct runqueue *rq, uint32_t cpu)
{
	/* Levels from the most urgent: clear the lowest set bit each round. */
	for (uint32_t levels = rq->bitmap; levels; levels &= levels - 1) {
		struct rq_node *n = rq->levels[__builtin_ctz(levels)].head;
		for (; n; n = n->next) {
			if (runqueue_can_run_on(n, cpu)) {
				unlink_node(rq, n);
				return n;
			}
		}
	}
	return NULL;
}
