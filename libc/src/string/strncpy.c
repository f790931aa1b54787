#include <string.h>

/* Copies at most n bytes and pads the rest of dst with NULs; like the
 * standard's, the result is not terminated if src has n or more bytes. */
char *strncpy(char *restrict dst, const char *restrict src, size_t n)
{
	size_t i = 0;
	for (; i < n && src[i]; i++)
		dst[i] = src[i];
	for (; i < n; i++)
		dst[i] = 0;
	return dst;
}
