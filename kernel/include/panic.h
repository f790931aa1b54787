/*
 * Fatal kernel errors. panic() prints the message, the registers of the
 * calling context and a symbolized backtrace, stops every other CPU and
 * halts. Use it only for broken kernel invariants: what user space does
 * must never reach a panic.
 */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/*
 * The pieces of panic(), for exception handlers that print their own
 * report between panic_begin() (claims the console and stops the other
 * CPUs; returns only on the first CPU to panic) and panic_end().
 */
#include <stdbool.h>
#include <stdint.h>
void panic_begin(void);
void panic_print_backtrace(uint64_t rip, uint64_t rbp);
void panic_end(void) __attribute__((noreturn));
bool panic_in_progress(void);

#define KASSERT(cond)                                                          \
	do {                                                                   \
		if (__builtin_expect(!(cond), 0))                              \
			panic("assertion failed: %s at %s:%d", #cond,          \
			      __FILE__, __LINE__);                             \
	} while (0)

#endif
