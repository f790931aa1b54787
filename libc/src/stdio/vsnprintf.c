#include <stdio.h>

#include "../../internal/stdio_impl.h"

struct buffer {
	char *p;
	size_t left; /* room for characters, not counting the final NUL */
};

static void to_buffer(void *ctx, const char *s, size_t n)
{
	struct buffer *b = ctx;
	size_t k = n < b->left ? n : b->left;
	for (size_t i = 0; i < k; i++)
		b->p[i] = s[i];
	b->p += k;
	b->left -= k;
}

/* Like C's: returns the length the whole output would have; writes at most
 * size-1 characters and always a NUL when size > 0. */
int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap)
{
	char dummy;
	struct buffer b = {size ? buf : &dummy, size ? size - 1 : 0};
	int n = __vformat(to_buffer, &b, fmt, ap);
	if (size)
		*b.p = 0;
	return n;
}
