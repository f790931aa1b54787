/*
 * IRQ objects for user-space drivers (see irq.h, <kestrel/device.h> and
 * docs/kernel/devices.md).
 *
 * Two kinds share KESTREL_OBJ_IRQ: the IRQ-control capability (init gets
 * one; it only lets its holder bind lines) and bound lines, one per GSI.
 * The state of a line lives in a static table indexed by GSI, not in the
 * object, so that a pending wait and the interrupt handler never need a
 * reference to a kobject (the handler must not drop one: destroying
 * objects takes locks that do not belong in interrupt context). The
 * object's destroy function — run when its last handle is closed — unbinds
 * the line: masks it and completes the waits still pending with
 * KE_CANCELLED.
 *
 * Counting: line->seq counts interrupts since binding, line->reported is
 * the newest sequence number a completion has carried. While seq >
 * reported, the first waiter completes at once with seq. So interrupts
 * without a waiter are never lost, and a burst costs one completion.
 *
 * Waits and cancellation. A wait is registered with its queue (reserved
 * completion, findable by tag) and queued on its line's FIFO. Whoever
 * completes it first wins, decided under the queue lock:
 *   - delivery (interrupt, submit, unbind) pops the wait from the FIFO and
 *     completes it with only_if_pending, all under the line lock; if that
 *     fails, a cancel has already unlinked it from the queue and owns it;
 *   - cancel (queue.c) unlinks it from the queue, drops the queue lock and
 *     calls irq_cancel_wait(), which takes the line lock — so any delivery
 *     attempt is over — removes the wait from the FIFO if still there,
 *     completes it with KE_CANCELLED and frees it.
 *
 * A wait holds a (strong) reference to its queue, unlike timers (queue.c):
 * a driver that closes a queue with waits pending keeps it alive until
 * the interrupt comes or the IRQ object is closed (at the latest when the
 * driver exits). Bounded by the queue's room and only open to holders of
 * an IRQ object, so accepted for now.
 *
 * Lock order: line lock (LOCK_ORDER_IRQ), then a queue lock (completion,
 * reservation) or the IO APIC lock (masking). Queue references are put
 * after the line lock is released, since destroying a queue takes locks of
 * lower order (memory objects).
 */
#include "irq.h"

#include <kestrel/device.h>
#include <kestrel/error.h>
#include <kestrel/queue.h>

#include "arch.h"
#include "handle.h"
#include "ipc.h"
#include "panic.h"
#include "slab.h"
#include "spinlock.h"

struct irq_wait {
	struct queue_pending pending; /* kind QUEUE_PENDING_IRQ, owner = this */
	struct queue *queue;	      /* a reference, put when the wait is freed */
	struct irq_line *line;
	struct irq_wait *next; /* in the line's FIFO, or on a list to release */
	bool on_line;	       /* in the line's FIFO (line lock) */
};

struct irq_line {
	struct spinlock lock;
	bool bound;	   /* an IRQ object owns the GSI */
	bool level;	   /* level triggered: masked from interrupt to ack */
	bool masked;	   /* masked by us after a level-triggered interrupt */
	uint64_t seq;	   /* interrupts since binding */
	uint64_t reported; /* newest sequence number completed to a waiter */
	struct irq_wait *head, *tail;
};

static struct irq_line lines[ARCH_IRQ_LINES] = {
	[0 ... ARCH_IRQ_LINES - 1] = {.lock = SPINLOCK_INIT("irq line", LOCK_ORDER_IRQ)},
};

struct irq {
	struct kobject obj; /* KESTREL_OBJ_IRQ: handles and short lookups */
	bool control;	    /* the IRQ-control capability, not a line */
	bool bound;	    /* a line: lines[gsi] is ours */
	uint32_t gsi;
};

#define LINE_RIGHTS                                                                                \
	(KESTREL_RIGHT_WAIT | KESTREL_RIGHT_CONTROL | KESTREL_RIGHT_TRANSFER |                     \
	 KESTREL_RIGHT_DUPLICATE)
#define CONTROL_RIGHTS (KESTREL_RIGHT_CONTROL | KESTREL_RIGHT_TRANSFER | KESTREL_RIGHT_DUPLICATE)

static bool post(struct irq_wait *w, int64_t status, bool only_if_pending)
{
	struct kestrel_completion c = {{sizeof(c), KESTREL_REC_IRQ}, w->pending.tag, status, 0, 0};
	return queue_complete(w->queue, &w->pending, &c, sizeof(c), only_if_pending);
}

/* Free waits that have completed (no lock held). */
static void release(struct irq_wait *list)
{
	while (list) {
		struct irq_wait *next = list->next;
		queue_put(list->queue);
		kfree(list);
		list = next;
	}
}

/* Line lock held. */
static struct irq_wait *fifo_pop(struct irq_line *l)
{
	struct irq_wait *w = l->head;
	if (w) {
		l->head = w->next;
		if (!l->head)
			l->tail = 0;
		w->next = 0;
		w->on_line = false;
	}
	return w;
}

/* Complete waiters while an interrupt is unreported. Line lock held;
 * completed waits go on *done for release() after the unlock. A wait
 * whose completion fails was taken by a cancel, which frees it. */
static void deliver(struct irq_line *l, struct irq_wait **done)
{
	while (l->seq != l->reported && l->head) {
		struct irq_wait *w = fifo_pop(l);
		if (post(w, (int64_t)l->seq, true)) {
			l->reported = l->seq;
			w->next = *done;
			*done = w;
		}
	}
}

void irq_interrupt(uint32_t gsi)
{
	if (gsi >= ARCH_IRQ_LINES)
		return;
	struct irq_line *l = &lines[gsi];
	struct irq_wait *done = 0;
	spin_lock(&l->lock);
	if (!l->bound) {
		/* Raced with an unbind (the pin is masked now): drop it. */
		spin_unlock(&l->lock);
		return;
	}
	l->seq++;
	if (l->level && !l->masked) {
		/* Before the EOI, or the still-asserted line fires again. */
		arch_irq_line_mask(gsi, true);
		l->masked = true;
	}
	deliver(l, &done);
	spin_unlock(&l->lock);
	release(done);
}

void irq_cancel_wait(struct queue_pending *p)
{
	struct irq_wait *w = p->owner;
	struct irq_line *l = w->line;
	spin_lock(&l->lock);
	if (w->on_line) {
		struct irq_wait *prev = 0;
		for (struct irq_wait *x = l->head; x; prev = x, x = x->next) {
			if (x != w)
				continue;
			if (prev)
				prev->next = w->next;
			else
				l->head = w->next;
			if (l->tail == w)
				l->tail = prev;
			break;
		}
		w->on_line = false;
		w->next = 0;
	}
	spin_unlock(&l->lock);
	post(w, -KE_CANCELLED, false);
	release(w);
}

static void irq_destroy(struct kobject *obj)
{
	struct irq *irq = (struct irq *)obj;
	if (irq->bound) {
		struct irq_line *l = &lines[irq->gsi];
		struct irq_wait *done = 0;
		spin_lock(&l->lock);
		arch_irq_line_mask(irq->gsi, true);
		l->bound = false;
		struct irq_wait *w;
		while ((w = fifo_pop(l)) != 0) {
			if (post(w, -KE_CANCELLED, true)) {
				w->next = done;
				done = w;
			}
		}
		spin_unlock(&l->lock);
		release(done);
	}
	kfree(irq);
}

static struct irq *irq_new(bool control)
{
	struct irq *irq = kzalloc(sizeof(*irq));
	if (irq) {
		kobject_init(&irq->obj, KESTREL_OBJ_IRQ, irq_destroy);
		irq->control = control;
	}
	return irq;
}

struct kobject *irq_control_create(void)
{
	struct irq *irq = irq_new(true);
	return irq ? &irq->obj : 0;
}

/* Look up a handle that must name a bound line (the control capability
 * is the same object type but another kind: KE_BAD_TYPE). */
static int line_get(int64_t h, uint32_t need, struct irq **out)
{
	struct kobject *obj;
	uint32_t rights;
	int rc = handle_get(h, KESTREL_OBJ_IRQ, 0, &obj, &rights);
	if (rc)
		return rc;
	struct irq *irq = (struct irq *)obj;
	/* The kind is part of the type: checked before the rights. */
	if (irq->control || (rights & need) != need) {
		kobject_put(obj);
		return irq->control ? -KE_BAD_TYPE : -KE_ACCESS;
	}
	*out = irq;
	return 0;
}

int64_t sys_irq_create(int64_t control_h, uint64_t number, uint64_t flags)
{
	struct kobject *obj;
	uint32_t rights;
	int rc = handle_get(control_h, KESTREL_OBJ_IRQ, 0, &obj, &rights);
	if (rc)
		return rc;
	bool is_control = ((struct irq *)obj)->control;
	kobject_put(obj); /* the capability is only checked, not used */
	if (!is_control)
		return -KE_BAD_TYPE;
	if (!(rights & KESTREL_RIGHT_CONTROL))
		return -KE_ACCESS;
	if (flags & ~(uint64_t)KESTREL_IRQ_FLAGS_MASK || number > UINT32_MAX)
		return -KE_INVALID;
	uint32_t gsi = (uint32_t)number;
	bool level = flags & KESTREL_IRQ_LEVEL, active_low = flags & KESTREL_IRQ_ACTIVE_LOW;
	if (flags & KESTREL_IRQ_ISA) {
		if ((flags & (KESTREL_IRQ_LEVEL | KESTREL_IRQ_ACTIVE_LOW)) ||
		    arch_irq_isa((uint32_t)number, &gsi, &level, &active_low))
			return -KE_INVALID;
	}
	if (!arch_irq_line_exists(gsi))
		return -KE_INVALID;

	struct irq *irq = irq_new(false);
	if (!irq)
		return -KE_NO_MEMORY;
	irq->gsi = gsi;
	struct irq_line *l = &lines[gsi];
	spin_lock(&l->lock);
	if (l->bound) {
		spin_unlock(&l->lock);
		kobject_put(&irq->obj); /* not bound: destroy only frees it */
		return -KE_BUSY;
	}
	KASSERT(!l->head);
	l->bound = true;
	l->level = level;
	l->masked = false;
	l->seq = l->reported = 0;
	/* Routed under the lock: an interrupt that comes at once finds the
	 * line ready, and an unbind cannot slip in between. */
	rc = arch_irq_line_route(gsi, level, active_low);
	if (rc)
		l->bound = false;
	spin_unlock(&l->lock);
	if (rc) {
		kobject_put(&irq->obj);
		return -KE_INVALID;
	}
	irq->bound = true;
	int64_t h = handle_install(&irq->obj, LINE_RIGHTS);
	kobject_put(&irq->obj); /* on failure this unbinds the line again */
	return h;
}

int64_t sys_irq_submit(int64_t irq_h, int64_t queue_h, uint64_t tag)
{
	struct irq *irq;
	int rc = line_get(irq_h, KESTREL_RIGHT_WAIT, &irq);
	if (rc)
		return rc;
	struct queue *q;
	rc = queue_from_handle(queue_h, &q);
	if (rc) {
		kobject_put(&irq->obj);
		return rc;
	}
	struct irq_wait *w = kzalloc(sizeof(*w));
	if (!w) {
		queue_put(q);
		kobject_put(&irq->obj);
		return -KE_NO_MEMORY;
	}
	struct irq_line *l = &lines[irq->gsi];
	w->queue = q; /* the wait keeps our reference */
	w->line = l;
	w->pending.tag = tag;
	w->pending.kind = QUEUE_PENDING_IRQ;
	w->pending.owner = w;
	struct irq_wait *done = 0;
	/* Our reference keeps the line bound to irq until we are done. */
	spin_lock(&l->lock);
	rc = queue_reserve(q, &w->pending, sizeof(struct kestrel_completion));
	if (!rc) {
		w->on_line = true;
		if (l->tail)
			l->tail->next = w;
		else
			l->head = w;
		l->tail = w;
		deliver(l, &done);
	}
	spin_unlock(&l->lock);
	release(done);
	if (rc) {
		kfree(w);
		queue_put(q);
	}
	kobject_put(&irq->obj);
	return rc;
}

int64_t sys_irq_ack(int64_t irq_h, uint64_t sequence)
{
	struct irq *irq;
	int rc = line_get(irq_h, KESTREL_RIGHT_CONTROL, &irq);
	if (rc)
		return rc;
	struct irq_line *l = &lines[irq->gsi];
	spin_lock(&l->lock);
	if (sequence == 0 || sequence > l->reported) {
		rc = -KE_INVALID;
	} else if (l->masked && sequence == l->seq) {
		arch_irq_line_mask(irq->gsi, false);
		l->masked = false;
	}
	spin_unlock(&l->lock);
	kobject_put(&irq->obj);
	return rc;
}
