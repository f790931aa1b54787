#include <stdio.h>

#include "../../internal/stdio_impl.h"

static void to_stdout(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	__stdout_write(s, n);
}

int vprintf(const char *restrict fmt, va_list ap)
{
	__stdout_lock();
	int n = __vformat(to_stdout, NULL, fmt, ap);
	__stdout_unlock();
	return n;
}
