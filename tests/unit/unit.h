/*
 * A minimal host unit-test framework.
 *
 *   TEST(buddy_merges_neighbours) { CHECK(x == 1); CHECK_EQ(a, b); }
 *
 * Tests register themselves; tests/unit/unit.c runs each one and prints
 * "PASS <suite>/<test>" or "FAIL <suite>/<test>: <file>:<line>: <what>" per
 * test (the suite is the binary's name), which tools/run-tests counts. A
 * failed CHECK records the failure and returns from the test.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdint.h>
#include <stdio.h>

typedef void (*unit_fn)(void);
void unit_register(const char *name, unit_fn fn);
void unit_fail(const char *file, int line, const char *what);
extern int unit_current_failed;

#define TEST(name)                                                             \
	static void name(void);                                                \
	__attribute__((constructor)) static void unit_reg_##name(void)         \
	{                                                                      \
		unit_register(#name, name);                                    \
	}                                                                      \
	static void name(void)

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			unit_fail(__FILE__, __LINE__, #cond);                  \
			return;                                                \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		unsigned long long unit_a_ = (unsigned long long)(a);          \
		unsigned long long unit_b_ = (unsigned long long)(b);          \
		if (unit_a_ != unit_b_) {                                      \
			char unit_msg_[256];                                   \
			snprintf(unit_msg_, sizeof(unit_msg_),                 \
				 "%s == %s (0x%llx != 0x%llx)", #a, #b,        \
				 unit_a_, unit_b_);                            \
			unit_fail(__FILE__, __LINE__, unit_msg_);              \
			return;                                                \
		}                                                              \
	} while (0)

#endif
