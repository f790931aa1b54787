/*
 * Spinlocks (see spinlock.h): test-and-test-and-set with interrupts off
 * while held. Unlocks must come in the reverse order of locks, since each
 * lock restores the interrupt state saved when it was taken.
 *
 * Lock-order checking (KESTREL_LOCK_DEBUG): each CPU keeps the stack of
 * locks it holds; taking a lock whose order is not above the top of that
 * stack is reported with both lock names. Deadlocks between CPUs need a
 * cycle in the order, so a strictly increasing order rules them out.
 */
#include "spinlock.h"

#include "arch.h"
#include "cpu.h"
#include "panic.h"

#ifdef KESTREL_LOCK_DEBUG
#define HELD_MAX 16
static struct {
	const struct spinlock *held[HELD_MAX];
	int depth;
} lock_stacks[MAX_CPUS];

/* A trylock cannot deadlock, so it is recorded (for the release check)
 * without being checked against the order. */
static void order_check_acquire(struct spinlock *lock, bool check)
{
	uint32_t cpu = arch_cpu_index();
	int d = lock_stacks[cpu].depth;
	if (check && d > 0) {
		const struct spinlock *top = lock_stacks[cpu].held[d - 1];
		if (lock->order <= top->order && !panic_in_progress())
			panic("lock order violation: taking %s (order %u) while holding %s (order %u)",
			      lock->name, lock->order, top->name, top->order);
	}
	if (d == HELD_MAX)
		panic("too many nested locks (taking %s)", lock->name);
	lock_stacks[cpu].held[d] = lock;
	lock_stacks[cpu].depth = d + 1;
}

static void order_check_release(struct spinlock *lock)
{
	uint32_t cpu = arch_cpu_index();
	int d = lock_stacks[cpu].depth;
	if (d == 0 || lock_stacks[cpu].held[d - 1] != lock) {
		if (!panic_in_progress())
			panic("unlock of %s out of order", lock->name);
		return;
	}
	lock_stacks[cpu].depth = d - 1;
}
#else
static inline void order_check_acquire(struct spinlock *lock, bool check)
{
	(void)lock;
	(void)check;
}
static inline void order_check_release(struct spinlock *lock)
{
	(void)lock;
}
#endif

void spin_init(struct spinlock *lock, const char *name, uint16_t order)
{
	lock->locked = 0;
	lock->order = order;
	lock->holder = 0;
	lock->name = name;
	lock->saved_flags = 0;
}

void spin_lock(struct spinlock *lock)
{
	uint64_t flags = arch_irq_save();
	if (lock->holder == arch_cpu_index() + 1 && !panic_in_progress())
		panic("recursive lock of %s", lock->name);
	order_check_acquire(lock, true);
	while (__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&lock->locked, __ATOMIC_RELAXED))
			arch_cpu_relax();
	}
	lock->holder = (uint16_t)(arch_cpu_index() + 1);
	lock->saved_flags = flags;
}

bool spin_trylock(struct spinlock *lock)
{
	uint64_t flags = arch_irq_save();
	if (__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE)) {
		arch_irq_restore(flags);
		return false;
	}
	order_check_acquire(lock, false);
	lock->holder = (uint16_t)(arch_cpu_index() + 1);
	lock->saved_flags = flags;
	return true;
}

void spin_unlock(struct spinlock *lock)
{
	uint64_t flags = lock->saved_flags;
	order_check_release(lock);
	lock->holder = 0;
	__atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
	arch_irq_restore(flags);
}

bool spin_held(const struct spinlock *lock)
{
	return lock->locked && lock->holder == arch_cpu_index() + 1;
}
