#include <stdint.h>
#include <string.h>

typedef uint64_t __attribute__((may_alias)) word_t;

/* Word at a time when both pointers can be aligned together. The build's
 * -ffreestanding keeps the compiler from turning these loops into a call
 * to memcpy itself. */
void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (((uintptr_t)d & 7) == ((uintptr_t)s & 7)) {
		while (n && ((uintptr_t)d & 7)) {
			*d++ = *s++;
			n--;
		}
		for (; n >= 8; n -= 8, d += 8, s += 8)
			*(word_t *)(void *)d = *(const word_t *)(const void *)s;
	}
	while (n--)
		*d++ = *s++;
	return dst;
}
