/*
 * Timer queues (see timerq.h) as an intrusive pairing heap.
 *
 * A pairing heap is a tree in which every node comes no later than its
 * children; the root is the earliest node. Nodes are ordered by the key
 * (deadline, seq), where seq is the queue's insertion counter, so no two
 * keys are equal and equal deadlines come out in insertion order.
 *
 * Each node keeps its children as a list: `child` is the first child,
 * `next` the next sibling, `prev` the previous sibling or, for a first
 * child, the parent. With that back link any node can be unhooked in O(1).
 *
 *   meld(a, b)     two heaps into one: the later root becomes the first
 *                  child of the earlier. O(1).
 *   insert         meld the queue with the one-node heap. O(1).
 *   pop the root   the root's children are melded into one heap in two
 *                  passes (pairs left to right, then the pairs right to
 *                  left), which is what keeps the heap shallow:
 *                  O(log n) amortized.
 *   cancel node x  unhook x's subtree from its parent, meld x's children
 *                  into one heap as above, and meld that with the rest.
 *
 * The bounds are amortized: a pop right after a burst of k inserts touches
 * those k nodes once (and leaves them paired up for later pops). Nothing
 * recurses, so the kernel stack use does not depend on the queue's size.
 *
 * Invariants, whenever the queue's lock is free:
 *   - every node is no later than its children (heap order on the key);
 *   - root->prev == root->next == NULL; for every other node x,
 *     x->prev->child == x (x is a first child) or x->prev->next == x;
 *   - every node in the heap has queue == q; a node with queue == NULL is
 *     in no heap and its links are NULL;
 *   - count is the number of nodes in the heap.
 */
#include "timerq.h"

#include <stddef.h>

#include "panic.h"

/* Does `a` fire before `b`? */
static bool before(const struct timer_node *a, const struct timer_node *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return a->seq < b->seq;
}

/* Meld two non-empty heaps (roots with no siblings); returns the root. */
static struct timer_node *meld(struct timer_node *a, struct timer_node *b)
{
	if (before(b, a)) {
		struct timer_node *t = a;
		a = b;
		b = t;
	}
	b->prev = a;
	b->next = a->child;
	if (a->child)
		a->child->prev = b;
	a->child = b;
	return a;
}

/* Meld a list of sibling heaps (linked through next, starting at `first`)
 * into one heap, two-pass; returns its root, or NULL for an empty list. */
static struct timer_node *meld_siblings(struct timer_node *first)
{
	/* Pass 1, left to right: meld pairs, pushing each result on a stack
	 * (linked through next), so that pass 2 sees them right to left. */
	struct timer_node *stack = NULL;
	while (first) {
		struct timer_node *a = first;
		struct timer_node *b = a->next;
		first = b ? b->next : NULL;
		a->prev = a->next = NULL;
		if (b) {
			b->prev = b->next = NULL;
			a = meld(a, b);
		}
		a->next = stack;
		stack = a;
	}
	/* Pass 2, right to left: meld each pair into the result. */
	struct timer_node *root = NULL;
	while (stack) {
		struct timer_node *a = stack;
		stack = a->next;
		a->next = NULL;
		root = root ? meld(root, a) : a;
	}
	return root;
}

/* Unhook the subtree of `n` (not the root) from its parent or sibling. */
static void detach(struct timer_node *n)
{
	if (n->prev->child == n)
		n->prev->child = n->next;
	else
		n->prev->next = n->next;
	if (n->next)
		n->next->prev = n->prev;
	n->prev = n->next = NULL;
}

/* `n` has left the heap: clear its links and mark it not armed. */
static void disarmed(struct timerq *q, struct timer_node *n)
{
	n->child = n->next = n->prev = NULL;
	n->queue = NULL;
	KASSERT(q->count > 0);
	q->count--;
}

void timer_node_init(struct timer_node *n)
{
	n->child = n->next = n->prev = NULL;
	n->queue = NULL;
	n->deadline = 0;
	n->seq = 0;
}

bool timer_node_armed(const struct timer_node *n)
{
	return n->queue != NULL;
}

uint64_t timer_node_deadline(const struct timer_node *n)
{
	return n->deadline;
}

void timerq_init(struct timerq *q)
{
	q->root = NULL;
	q->next_seq = 0;
	q->count = 0;
}

void timerq_insert(struct timerq *q, struct timer_node *n, uint64_t deadline)
{
	KASSERT(n->queue == NULL);
	n->child = n->next = n->prev = NULL;
	n->queue = q;
	n->deadline = deadline;
	n->seq = q->next_seq++;
	q->root = q->root ? meld(q->root, n) : n;
	q->count++;
}

void timerq_cancel(struct timerq *q, struct timer_node *n)
{
	KASSERT(n->queue == q);
	if (n == q->root) {
		q->root = meld_siblings(n->child);
	} else {
		detach(n);
		struct timer_node *sub = meld_siblings(n->child);
		if (sub)
			q->root = meld(q->root, sub);
	}
	disarmed(q, n);
}

bool timerq_peek_deadline(const struct timerq *q, uint64_t *deadline)
{
	if (!q->root)
		return false;
	*deadline = q->root->deadline;
	return true;
}

struct timer_node *timerq_pop_expired(struct timerq *q, uint64_t now)
{
	struct timer_node *n = q->root;
	if (!n || n->deadline > now)
		return NULL;
	q->root = meld_siblings(n->child);
	disarmed(q, n);
	return n;
}

uint32_t timerq_count(const struct timerq *q)
{
	return q->count;
}
