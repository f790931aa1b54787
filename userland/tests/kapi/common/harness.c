/*
 * Running the registered KAPI tests (see kapi.h). Output goes straight to
 * the kernel log, one line per test, so a crash loses at most the line of
 * the test that was running — and init reports the crash itself.
 */
#include <kestrel/start.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kapi.h"

static struct kapi_test *first, **last = &first;
static const struct kapi_test *current;
static bool current_failed;

void kapi_register(struct kapi_test *t)
{
	t->next = NULL;
	*last = t;
	last = &t->next;
}

static void log_line(const char *s, int n)
{
	if (n < 0)
		return;
	kestrel_log(s, (size_t)n, KESTREL_LOG_INFO);
}

void kapi_fail(const char *file, int line, const char *fmt, ...)
{
	if (current_failed)
		return;
	current_failed = true;
	const char *base = strrchr(file, '/');
	char buf[480];
	int n = snprintf(buf, sizeof(buf), "KAPI FAIL %s: %s:%d: ", current ? current->name : "?",
			 base ? base + 1 : file, line);
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	log_line(buf, n);
}

void kapi_note(const char *fmt, ...)
{
	char buf[480];
	int n = snprintf(buf, sizeof(buf), "kapi: %s: ", current ? current->name : "-");
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	log_line(buf, n);
}

bool kapi_failed(void)
{
	return current_failed;
}

const char *kapi_result_text(int64_t r, char buf[32])
{
	if (r < 0 && r > -KE_ERROR_COUNT)
		return kestrel_error_name(r);
	snprintf(buf, 32, "%lld", (long long)r);
	return buf;
}

int kapi_main(const char *filter)
{
	int passed = 0, failed = 0;
	size_t flen = strlen(filter);
	for (const struct kapi_test *t = first; t; t = t->next) {
		if (strncmp(t->name, filter, flen) != 0)
			continue;
		current = t;
		current_failed = false;
		t->fn();
		if (current_failed) {
			failed++;
		} else {
			char buf[160];
			log_line(buf, snprintf(buf, sizeof(buf), "KAPI PASS %s", t->name));
			passed++;
		}
	}
	current = NULL;
	printf("kapi: %d passed, %d failed\n", passed, failed);
	kestrel_parent_send(KESTREL_PARENT_RESULTS, passed, failed, 10 * KAPI_SECOND);
	return failed;
}
