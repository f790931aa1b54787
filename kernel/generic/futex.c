/*
 * Futexes: wait until a 32-bit word in user memory changes, wake waiters
 * of a word. A waiter is keyed by its address space and the word's user
 * address, and sits in one of a fixed set of hash buckets.
 *
 * No lost wake-ups: the waiter is queued *before* it reads the word, so a
 * waker that changes the word and then wakes finds it queued. A waiter
 * lives on its own stack; a waker takes it off the list and reads what it
 * needs before marking it woken, after which the waiter may return.
 *
 * Lock: one per bucket (LOCK_ORDER_FUTEX); unparking under it is fine.
 */
#include <kestrel/error.h>

#include "clock.h"
#include "ipc.h"
#include "sched.h"
#include "spinlock.h"
#include "usercopy.h"
#include "uthread.h"

#define FUTEX_BUCKETS 64

struct futex_waiter {
	struct futex_waiter *next;
	struct space *space;
	uint64_t addr;
	struct thread *thread;
	volatile bool woken;
};

static struct futex_bucket {
	struct spinlock lock;
	struct futex_waiter *head;
} buckets[FUTEX_BUCKETS] = {
	[0 ... FUTEX_BUCKETS - 1] = {SPINLOCK_INIT("futex", LOCK_ORDER_FUTEX), 0},
};

static struct futex_bucket *bucket_of(struct space *s, uint64_t addr)
{
	uint64_t h = (addr >> 2) ^ ((uint64_t)(uintptr_t)s >> 6);
	h ^= h >> 17;
	return &buckets[h % FUTEX_BUCKETS];
}

/* Take w off its bucket if a waker has not already. */
static void unqueue(struct futex_bucket *b, struct futex_waiter *w)
{
	spin_lock(&b->lock);
	for (struct futex_waiter **pp = &b->head; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	spin_unlock(&b->lock);
}

int64_t sys_futex_wait(uint64_t addr, uint64_t expected, uint64_t timeout_ns)
{
	if (addr & 3)
		return -KE_INVALID;
	if (!usercopy_range_ok(addr, 4))
		return -KE_FAULT;
	struct space *s = uthread_current_space();
	struct futex_bucket *b = bucket_of(s, addr);
	struct futex_waiter w = {0, s, addr, thread_current(), false};
	spin_lock(&b->lock);
	w.next = b->head;
	b->head = &w;
	spin_unlock(&b->lock);

	uint32_t value;
	int rc = usercopy_from(&value, addr, sizeof(value));
	if (rc || value != (uint32_t)expected) {
		unqueue(b, &w);
		if (__atomic_load_n(&w.woken, __ATOMIC_ACQUIRE))
			return 0; /* a wake meant for us: don't waste it */
		return rc ? rc : -KE_AGAIN;
	}
	uint64_t deadline = UINT64_MAX;
	if (timeout_ns) {
		deadline = clock_monotonic_ns() + timeout_ns;
		if (deadline < timeout_ns)
			deadline = UINT64_MAX;
	}
	int64_t result = 0;
	while (!__atomic_load_n(&w.woken, __ATOMIC_ACQUIRE)) {
		bool in_time = thread_park_until(deadline);
		if (__atomic_load_n(&w.woken, __ATOMIC_ACQUIRE))
			break;
		if (uthread_should_exit()) {
			result = -KE_CANCELLED;
			break;
		}
		if (!in_time) {
			result = -KE_TIMEOUT;
			break;
		}
	}
	if (result) {
		unqueue(b, &w);
		if (__atomic_load_n(&w.woken, __ATOMIC_ACQUIRE))
			result = 0;
	}
	return result;
}

int64_t sys_futex_wake(uint64_t addr, uint64_t count)
{
	if (addr & 3)
		return -KE_INVALID;
	if (!usercopy_range_ok(addr, 4))
		return -KE_FAULT;
	struct space *s = uthread_current_space();
	struct futex_bucket *b = bucket_of(s, addr);
	int64_t woken = 0;
	spin_lock(&b->lock);
	for (struct futex_waiter **pp = &b->head; *pp && (uint64_t)woken < count;) {
		struct futex_waiter *w = *pp;
		if (w->space != s || w->addr != addr) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		struct thread *t = w->thread;
		__atomic_store_n(&w->woken, true, __ATOMIC_RELEASE);
		thread_unpark(t);
		woken++;
	}
	spin_unlock(&b->lock);
	return woken;
}
