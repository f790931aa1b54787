/*
 * Runner of the in-kernel self-tests (see ktest.h). Tests run one after
 * another in a kernel thread; results go to the console in the line format
 * tools/run-tests parses.
 */
#include "ktest.h"

#include <stdarg.h>

#include "format.h"
#include "kstring.h"
#include "log.h"

extern const struct ktest ktests_start[], ktests_end[];

static const struct ktest *running;
static bool running_failed;

void ktest_fail(const char *file, int line, const char *fmt, ...)
{
	if (running_failed)
		return;
	running_failed = true;
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kprintf("KTEST FAIL %s: %s:%d: %s\n", running ? running->name : "?", file, line, msg);
}

bool ktest_failed(void)
{
	return running_failed;
}

/* A filter selects tests whose name starts with it; empty runs all. */
static bool selected(const char *name, const char *filter)
{
	return !filter || !*filter || strncmp(name, filter, strlen(filter)) == 0;
}

int ktest_run_all(const char *filter)
{
	int passed = 0, failed = 0;
	for (const struct ktest *t = ktests_start; t < ktests_end; t++) {
		if (!selected(t->name, filter))
			continue;
		running = t;
		running_failed = false;
		t->fn();
		if (running_failed)
			failed++;
		else {
			passed++;
			kprintf("KTEST PASS %s\n", t->name);
		}
	}
	running = 0;
	kprintf("KTEST DONE %d %d\n", passed, failed);
	return failed;
}
