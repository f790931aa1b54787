/*
 * Spinlocks. spin_lock() disables interrupts on the local CPU for as long as
 * the lock is held (saving the previous state), so a lock may be taken from
 * interrupt handlers too and no holder is ever preempted.
 *
 * Lock ordering: every lock has a class with a numeric order. In debug
 * builds (KESTREL_LOCK_DEBUG), taking a lock whose order is not strictly
 * greater than every lock this CPU already holds panics, naming both locks.
 * Declare the order next to the lock; the table of orders is in
 * docs/kernel/locking.md.
 */
#ifndef KERNEL_SPINLOCK_H
#define KERNEL_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct spinlock {
	volatile uint32_t locked;
	uint16_t order;     /* lock-order class; larger is taken later */
	uint16_t holder;    /* CPU id + 1 of the holder, 0 when free */
	const char *name;
	uint64_t saved_flags; /* RFLAGS of the holder before it locked */
};

#define SPINLOCK_INIT(lock_name, lock_order)                                   \
	{ .locked = 0, .order = (lock_order), .holder = 0, .name = (lock_name), \
	  .saved_flags = 0 }

void spin_init(struct spinlock *lock, const char *name, uint16_t order);
void spin_lock(struct spinlock *lock);
void spin_unlock(struct spinlock *lock);
bool spin_trylock(struct spinlock *lock);
/* True if the calling CPU holds the lock (for assertions). */
bool spin_held(const struct spinlock *lock);

/* Lock orders, lowest first. A CPU may only take locks in increasing order. */
enum lock_order {
	/* Kernel objects: below the scheduler, since completing an operation
	 * wakes threads (which takes run-queue locks). 20..39 belong to the
	 * memory subsystem (address spaces, memory objects, user page tables). */
	LOCK_ORDER_SPACE = 20,    /* an address space's mappings */
	LOCK_ORDER_MEMORY = 30,   /* a memory object's pages */
	LOCK_ORDER_SPACE_PT = 35, /* an address space's page tables (mmu) */
	LOCK_ORDER_STREAM = 40,   /* a stream (both lanes) */
	LOCK_ORDER_IRQ = 45,      /* an IRQ line (irq.c): before queues, IO APICs */
	LOCK_ORDER_OBSERVE = 47,  /* thread observation (observe.c): before queues, uthreads */
	LOCK_ORDER_QUEUE = 50,    /* a completion queue */
	LOCK_ORDER_FUTEX = 60,    /* a futex hash bucket */
	LOCK_ORDER_HANDLES = 70,  /* a handle table */
	LOCK_ORDER_UTHREAD = 80,  /* a user thread's state */
	LOCK_ORDER_SCHED = 100,   /* run queue of CPU n has order 100 + n, so two
				     run queues are taken lower CPU id first */
	LOCK_ORDER_TIMER = 400,   /* per-CPU timer queues */
	LOCK_ORDER_THREAD = 450,  /* the reaper's list of dead threads */
	LOCK_ORDER_SLAB = 500,    /* a slab cache */
	LOCK_ORDER_IOAPIC = 520,  /* IO APIC register windows */
	LOCK_ORDER_VM = 550,      /* kernel page tables */
	LOCK_ORDER_PMM = 600,     /* the physical page allocator */
	LOCK_ORDER_LOG = 1000,    /* the log: taken last, from anywhere */
};

#endif
