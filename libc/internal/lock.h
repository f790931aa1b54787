/*
 * The C library's internal lock: a futex mutex (0 free, 1 locked, 2 locked
 * with waiters). Uncontended lock and unlock make no system call.
 */
#ifndef LIBC_LOCK_H
#define LIBC_LOCK_H

#include <kestrel/calls.h>
#include <stdint.h>

static inline void __lock(uint32_t *l)
{
	uint32_t c = 0;
	if (__atomic_compare_exchange_n(l, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	if (c != 2)
		c = __atomic_exchange_n(l, 2, __ATOMIC_ACQUIRE);
	while (c != 0) {
		kestrel_futex_wait(l, 2, 0);
		c = __atomic_exchange_n(l, 2, __ATOMIC_ACQUIRE);
	}
}

static inline void __unlock(uint32_t *l)
{
	if (__atomic_exchange_n(l, 0, __ATOMIC_RELEASE) == 2)
		kestrel_futex_wake(l, 1);
}

#endif
