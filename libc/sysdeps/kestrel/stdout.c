/*
 * Standard output on Kestrel: the kernel log. Bytes collect in a line
 * buffer; each '\n' (or a full buffer) writes one log line at the info
 * level. The kernel truncates lines past 512 bytes, so the buffer is a
 * little smaller than that.
 */
#include <kestrel/calls.h>

#include "../../internal/lock.h"
#include "../../internal/stdio_impl.h"

#define LINE_MAX 480

static uint32_t stdout_lock;
static char line[LINE_MAX];
static size_t line_len;

void __stdout_lock(void)
{
	__lock(&stdout_lock);
}

void __stdout_unlock(void)
{
	__unlock(&stdout_lock);
}

static void emit(void)
{
	kestrel_log(line, line_len, KESTREL_LOG_INFO);
	line_len = 0;
}

void __stdout_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			emit();
			continue;
		}
		if (line_len == LINE_MAX)
			emit();
		line[line_len++] = s[i];
	}
}

void __stdout_flush(void)
{
	__lock(&stdout_lock);
	if (line_len)
		emit();
	__unlock(&stdout_lock);
}
