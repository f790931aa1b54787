#include <assert.h>
#include <kestrel/calls.h>
#include <stdio.h>
#include <stdlib.h>

_Noreturn void __assert_fail(const char *expr, const char *file, int line, const char *func)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "assertion failed: %s (%s:%d, %s)", expr, file, line,
			 func);
	kestrel_log(msg, n < (int)sizeof(msg) ? (size_t)n : sizeof(msg) - 1, KESTREL_LOG_ERROR);
	abort();
}
