/*
 * Completion queues (see <kestrel/queue.h> and ipc.h) and async timers.
 *
 * A queue is a memory object mapped into its creator's space: a 64-byte
 * header and a ring. The kernel keeps the authoritative tail and writes
 * records through the direct map of the object's pinned pages; the program
 * advances `head`. The head is read from user memory and so is untrusted:
 * a value that makes no sense (ahead of the tail, or further behind than
 * the ring is long) counts as "nothing consumed", which can only hurt the
 * program that wrote it.
 *
 * Every operation reserves room for its completion record when it is
 * submitted (twice the record length, since a record that does not fit
 * before the end of the ring costs a pad record of up to its own length),
 * so completions are never dropped: a submission that cannot reserve fails
 * with KE_NO_SPACE instead.
 *
 * Lock: q->lock (LOCK_ORDER_QUEUE) guards the tail, the reservations, the
 * pending list and the waiters. Wake-ups happen under it.
 */
#include <kestrel/error.h>
#include <kestrel/memory.h>
#include <kestrel/queue.h>

#include "clock.h"
#include "handle.h"
#include "ipc.h"
#include "irq.h"
#include "kstring.h"
#include "memobj.h"
#include "observe.h"
#include "panic.h"
#include "sched.h"
#include "slab.h"
#include "space.h"
#include "spinlock.h"
#include "usercopy.h"
#include "uthread.h"

#define QUEUE_HEADER 64

struct queue_waiter {
	struct queue_waiter *next;
	struct thread *thread;
};

struct queue {
	struct kobject obj;
	struct spinlock lock;
	struct memobj *mem;
	paddr_t *pages;
	uint32_t page_count;
	uint32_t capacity;
	uint32_t tail;
	uint64_t reserved;
	struct queue_pending pending; /* list head (circular) */
	struct queue_waiter *waiters;
};

static void queue_drop_timers(struct queue *q);

static void queue_destroy(struct kobject *obj)
{
	struct queue *q = (struct queue *)obj;
	/* Observed threads refer to us weakly, with reservations in our
	 * pending list: detach them first. */
	observe_queue_gone(q);
	/* So do timers: nobody is left to read their completions. */
	queue_drop_timers(q);
	KASSERT(q->pending.next == &q->pending);
	kobject_put(&q->mem->obj);
	kfree(q->pages);
	kfree(q);
}

void queue_get(struct queue *q)
{
	kobject_get(&q->obj);
}

void queue_put(struct queue *q)
{
	kobject_put(&q->obj);
}

bool queue_tryget(struct queue *q)
{
	return kobject_tryget(&q->obj);
}

int queue_from_handle(int64_t h, struct queue **out)
{
	struct kobject *obj;
	int rc = handle_get(h, KESTREL_OBJ_QUEUE, KESTREL_RIGHT_WAIT, &obj, 0);
	if (rc == 0)
		*out = (struct queue *)obj;
	return rc;
}

static uint8_t *queue_byte(struct queue *q, uint64_t offset)
{
	return (uint8_t *)phys_to_virt(q->pages[offset / PAGE_SIZE]) + offset % PAGE_SIZE;
}

static void queue_write(struct queue *q, uint64_t offset, const void *src, uint32_t n)
{
	const uint8_t *s = src;
	while (n) {
		uint32_t chunk = PAGE_SIZE - offset % PAGE_SIZE;
		if (chunk > n)
			chunk = n;
		memcpy(queue_byte(q, offset), s, chunk);
		offset += chunk;
		s += chunk;
		n -= chunk;
	}
}

static struct kestrel_queue_header *queue_header(struct queue *q)
{
	return (struct kestrel_queue_header *)queue_byte(q, 0);
}

/* Bytes not yet consumed by the program. Lock held. */
static uint32_t queue_used(struct queue *q)
{
	uint32_t head = __atomic_load_n(&queue_header(q)->head, __ATOMIC_ACQUIRE);
	uint32_t used = q->tail - head;
	return used > q->capacity ? q->capacity : used;
}

int queue_reserve(struct queue *q, struct queue_pending *p, uint32_t bytes)
{
	uint64_t need = 2ull * bytes;
	if (bytes > q->capacity / 2)
		return -KE_TOO_BIG;
	spin_lock(&q->lock);
	if (queue_used(q) + q->reserved + need > q->capacity) {
		spin_unlock(&q->lock);
		return -KE_NO_SPACE;
	}
	q->reserved += need;
	p->reserved_bytes = (uint32_t)need;
	p->prev = &q->pending;
	p->next = q->pending.next;
	q->pending.next->prev = p;
	q->pending.next = p;
	spin_unlock(&q->lock);
	return 0;
}

static void pending_unlink(struct queue_pending *p)
{
	p->prev->next = p->next;
	p->next->prev = p->prev;
	p->next = p->prev = 0;
}

void queue_unreserve(struct queue *q, struct queue_pending *p)
{
	spin_lock(&q->lock);
	if (p->next)
		pending_unlink(p);
	q->reserved -= p->reserved_bytes;
	p->reserved_bytes = 0;
	spin_unlock(&q->lock);
}

bool queue_complete(struct queue *q, struct queue_pending *p, const void *record, uint32_t len,
		    bool only_if_pending)
{
	KASSERT(len % 8 == 0 && len >= sizeof(struct kestrel_record) && 2 * len <= p->reserved_bytes);
	spin_lock(&q->lock);
	if (only_if_pending && !p->next) {
		spin_unlock(&q->lock);
		return false;
	}
	if (p->next)
		pending_unlink(p);
	q->reserved -= p->reserved_bytes;
	/* Room is guaranteed by the reservation, unless the program moved
	 * its head backwards; then its own records get overwritten. */
	uint32_t pos = q->tail % q->capacity;
	if (pos + len > q->capacity) {
		struct kestrel_record pad = {q->capacity - pos, KESTREL_REC_PAD};
		queue_write(q, QUEUE_HEADER + pos, &pad, sizeof(pad));
		q->tail += q->capacity - pos;
		pos = 0;
	}
	queue_write(q, QUEUE_HEADER + pos, record, len);
	q->tail += len;
	__atomic_store_n(&queue_header(q)->tail, q->tail, __ATOMIC_RELEASE);
	struct queue_waiter *w = q->waiters;
	q->waiters = 0;
	for (; w; w = w->next)
		thread_unpark(w->thread);
	spin_unlock(&q->lock);
	return true;
}

int64_t sys_queue_create(uint64_t capacity, uint64_t addr_out)
{
	if (capacity < KESTREL_QUEUE_MIN || capacity > KESTREL_QUEUE_MAX ||
	    (capacity & (capacity - 1)))
		return -KE_INVALID;
	if (!usercopy_range_ok(addr_out, sizeof(uint64_t)))
		return -KE_FAULT;
	uint64_t bytes = PAGE_ALIGN_UP(QUEUE_HEADER + capacity);
	struct queue *q = kzalloc(sizeof(*q));
	if (!q)
		return -KE_NO_MEMORY;
	q->page_count = (uint32_t)(bytes / PAGE_SIZE);
	q->pages = kzalloc(q->page_count * sizeof(paddr_t));
	q->mem = memobj_create_anonymous(bytes);
	if (!q->pages || !q->mem)
		goto fail;
	for (uint32_t i = 0; i < q->page_count; i++)
		if (!(q->pages[i] = memobj_pin_page(q->mem, (uint64_t)i * PAGE_SIZE)))
			goto fail;
	kobject_init(&q->obj, KESTREL_OBJ_QUEUE, queue_destroy);
	spin_init(&q->lock, "queue", LOCK_ORDER_QUEUE);
	q->capacity = (uint32_t)capacity;
	q->pending.next = q->pending.prev = &q->pending;
	struct kestrel_queue_header *hdr = queue_header(q);
	hdr->magic = KESTREL_QUEUE_MAGIC;
	hdr->capacity = q->capacity;

	uint64_t addr;
	int rc = space_map(uthread_current_space(), q->mem, 0, 0, bytes,
			   KESTREL_MAP_READ | KESTREL_MAP_WRITE, &addr);
	int64_t h = rc ? rc : handle_install(&q->obj, KESTREL_RIGHT_WAIT | KESTREL_RIGHT_TRANSFER |
								KESTREL_RIGHT_DUPLICATE);
	if (h >= 0 && (rc = usercopy_to(addr_out, &addr, sizeof(addr))) != 0) {
		handle_table_remove(handle_current_table(), h);
		h = rc;
	}
	if (h < 0 && rc == 0)
		space_unmap(uthread_current_space(), addr, bytes);
	kobject_put(&q->obj);
	return h;
fail:
	if (q->mem)
		kobject_put(&q->mem->obj);
	kfree(q->pages);
	kfree(q);
	return -KE_NO_MEMORY;
}

int64_t sys_queue_wait(int64_t h, uint64_t index, uint64_t timeout_ns)
{
	struct queue *q;
	int rc = queue_from_handle(h, &q);
	if (rc)
		return rc;
	uint64_t deadline = UINT64_MAX;
	if (timeout_ns) {
		deadline = clock_monotonic_ns() + timeout_ns;
		if (deadline < timeout_ns)
			deadline = UINT64_MAX;
	}
	struct queue_waiter w = {0, thread_current()};
	int64_t result;
	for (;;) {
		spin_lock(&q->lock);
		if (q->tail != (uint32_t)index) {
			result = q->tail;
			spin_unlock(&q->lock);
			break;
		}
		w.next = q->waiters;
		q->waiters = &w;
		spin_unlock(&q->lock);
		bool in_time = thread_park_until(deadline);
		/* Take ourselves off the list if no completion did. */
		spin_lock(&q->lock);
		for (struct queue_waiter **pp = &q->waiters; *pp; pp = &(*pp)->next) {
			if (*pp == &w) {
				*pp = w.next;
				break;
			}
		}
		spin_unlock(&q->lock);
		if (uthread_should_exit()) {
			result = -KE_CANCELLED;
			break;
		}
		if (!in_time && q->tail == (uint32_t)index) {
			result = -KE_TIMEOUT;
			break;
		}
	}
	queue_put(q);
	return result;
}

/* ---- async timers ----
 *
 * A timer refers to its queue weakly: it holds only a reservation on the
 * pending list, no reference. Otherwise a timer whose deadline is far
 * away (or never: UINT64_MAX) would keep the queue and its memory alive
 * long after the program that could read the completion is gone — a leak
 * any program could repeat without bound. When the queue is destroyed
 * (its last handle closed and no operation using it), the timers still
 * pending are cancelled without a record (queue_drop_timers).
 *
 * Whoever unlinks a timer from the pending list owns it: the callback (a
 * completion), cancel, or the queue's destruction. The callback does
 * nothing with a timer it finds unlinked; ktimer_cancel() waits until a
 * running callback has returned.
 */

struct queue_timer {
	struct ktimer timer;
	struct queue_pending pending;
	struct queue *queue; /* weak, see above */
};

static void timer_post(struct queue_timer *t, int64_t status, bool only_if_pending)
{
	struct kestrel_completion c = {{sizeof(c), KESTREL_REC_TIMER}, t->pending.tag, status, 0, 0};
	if (queue_complete(t->queue, &t->pending, &c, sizeof(c), only_if_pending))
		kfree(t);
}

/* The queue is being destroyed: cancel its timers, writing nothing. */
static void queue_drop_timers(struct queue *q)
{
	for (;;) {
		struct queue_timer *t = 0;
		spin_lock(&q->lock);
		for (struct queue_pending *p = q->pending.next; p != &q->pending; p = p->next) {
			if (p->kind == QUEUE_PENDING_TIMER) {
				pending_unlink(p);
				q->reserved -= p->reserved_bytes;
				t = p->owner;
				break;
			}
		}
		spin_unlock(&q->lock);
		if (!t)
			return;
		ktimer_cancel(&t->timer); /* a running callback finds it unlinked */
		kfree(t);
	}
}

static void timer_fired(struct ktimer *k)
{
	timer_post((struct queue_timer *)k, 0, true);
}

int64_t sys_timer_submit(int64_t queue_h, uint64_t deadline, uint64_t tag)
{
	struct queue *q;
	int rc = queue_from_handle(queue_h, &q);
	if (rc)
		return rc;
	struct queue_timer *t = kzalloc(sizeof(*t));
	if (!t) {
		queue_put(q);
		return -KE_NO_MEMORY;
	}
	ktimer_init(&t->timer, timer_fired);
	t->queue = q;
	t->pending.tag = tag;
	t->pending.kind = QUEUE_PENDING_TIMER;
	t->pending.owner = t;
	rc = queue_reserve(q, &t->pending, sizeof(struct kestrel_completion));
	if (rc) {
		kfree(t);
		queue_put(q);
		return rc;
	}
	ktimer_arm(&t->timer, deadline);
	/* From here the timer may be gone already (fired, or the queue
	 * destroyed by a close on another CPU once we drop our reference). */
	queue_put(q);
	return 0;
}

int64_t sys_cancel(int64_t queue_h, uint64_t tag)
{
	struct queue *q;
	int rc = queue_from_handle(queue_h, &q);
	if (rc)
		return rc;
	spin_lock(&q->lock);
	struct queue_pending *p = q->pending.next;
	/* Observation slots are reservations, not operations: not cancellable. */
	while (p != &q->pending && (p->tag != tag || p->kind == QUEUE_PENDING_OBSERVE))
		p = p->next;
	if (p == &q->pending) {
		spin_unlock(&q->lock);
		queue_put(q);
		return -KE_NOT_FOUND;
	}
	if (p->kind == QUEUE_PENDING_TIMER) {
		/* Unlinked, it is ours: the timer callback will find it gone. */
		pending_unlink(p);
		struct queue_timer *t = p->owner;
		spin_unlock(&q->lock);
		ktimer_cancel(&t->timer);
		timer_post(t, -KE_CANCELLED, false);
		queue_put(q);
		return 0;
	}
	if (p->kind == QUEUE_PENDING_IRQ) {
		/* As for timers: unlinked, the IRQ line's delivery fails. */
		pending_unlink(p);
		spin_unlock(&q->lock);
		irq_cancel_wait(p);
		queue_put(q);
		return 0;
	}
	struct kobject *stream = p->owner_obj;
	bool alive = kobject_tryget(stream);
	spin_unlock(&q->lock);
	rc = alive ? stream_cancel(stream, q, tag) : -KE_NOT_FOUND;
	if (alive)
		kobject_put(stream);
	queue_put(q);
	return rc;
}
