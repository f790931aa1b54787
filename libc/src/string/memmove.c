#include <stdint.h>
#include <string.h>

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (d == s || n == 0)
		return dst;
	/* Forward is safe unless the destination starts inside the source. */
	if ((uintptr_t)d - (uintptr_t)s >= n)
		return memcpy(d, s, n);
	while (n--)
		d[n] = s[n];
	return dst;
}
