/*
 * Host stand-ins for the kernel services that pure kernel code calls (log,
 * panic, spinlocks), so that code can be compiled and tested natively.
 * A panic in the code under test fails the test run loudly.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "mm.h"
#include "panic.h"
#include "spinlock.h"

enum log_level log_threshold = LOG_WARN;

/* Tests that use phys_to_virt() point this at their fake physical memory. */
uintptr_t mm_host_direct_map_base;

void log_vprintf(enum log_level level, const char *fmt, va_list ap)
{
	if (level > log_threshold)
		return;
	fprintf(stderr, "log%d: ", (int)level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_printf(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vprintf(level, fmt, ap);
	va_end(ap);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stdout, "FAIL panic: ");
	vfprintf(stdout, fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
	abort();
}

void spin_init(struct spinlock *lock, const char *name, uint16_t order)
{
	lock->locked = 0;
	lock->name = name;
	lock->order = order;
	lock->holder = 0;
}

void spin_lock(struct spinlock *lock)
{
	while (__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE))
		;
	lock->holder = 1;
}

bool spin_trylock(struct spinlock *lock)
{
	if (__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE))
		return false;
	lock->holder = 1;
	return true;
}

void spin_unlock(struct spinlock *lock)
{
	lock->holder = 0;
	__atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
}

bool spin_held(const struct spinlock *lock)
{
	return lock->locked && lock->holder;
}
