/*
 * In-kernel self-tests, run when the kernel command line says test=kernel.
 *
 *   KTEST(pmm_alloc_free) { KCHECK(pmm_alloc_pages(0) != 0); }
 *
 * Each test is placed in the .ktests section; ktest_run_all() runs them in
 * link order on the boot CPU (with the scheduler and all CPUs up) and prints
 * one line per test that tools/run-tests parses:
 *   "KTEST PASS <name>"  or  "KTEST FAIL <name>: <file>:<line>: <what>"
 * then "KTEST DONE <passed> <failed>". A failed KCHECK ends the test.
 * Tests may create threads and sleep; they must clean up what they allocate
 * (the harness checks physical-memory statistics around the whole run).
 */
#ifndef TESTS_KERNEL_KTEST_H
#define TESTS_KERNEL_KTEST_H

#include <stdbool.h>

struct ktest {
	const char *name;
	void (*fn)(void);
};

/* Record a failure of the running test (first one wins). */
void ktest_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* True once the running test has failed. */
bool ktest_failed(void);
/* Run every test; returns the number that failed. */
int ktest_run_all(const char *filter);

#define KTEST(test_name)                                                       \
	static void ktest_fn_##test_name(void);                                \
	static const struct ktest ktest_##test_name                            \
		__attribute__((used, section(".ktests"), aligned(8))) = {      \
			.name = #test_name, .fn = ktest_fn_##test_name};       \
	static void ktest_fn_##test_name(void)

#define KCHECK(cond)                                                           \
	do {                                                                   \
		if (!(cond)) {                                                 \
			ktest_fail(__FILE__, __LINE__, "%s", #cond);           \
			return;                                                \
		}                                                              \
	} while (0)

#define KCHECK_EQ(a, b)                                                        \
	do {                                                                   \
		unsigned long long ktest_a_ = (unsigned long long)(a);         \
		unsigned long long ktest_b_ = (unsigned long long)(b);         \
		if (ktest_a_ != ktest_b_) {                                    \
			ktest_fail(__FILE__, __LINE__,                         \
				   "%s == %s (0x%llx != 0x%llx)", #a, #b,      \
				   ktest_a_, ktest_b_);                        \
			return;                                                \
		}                                                              \
	} while (0)

#endif
