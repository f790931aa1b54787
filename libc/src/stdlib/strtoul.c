#include <stdlib.h>

/* unsigned long and unsigned long long have the same width on every
 * Kestrel target's LP64 ABI; i386 will need its own clamp. */
unsigned long strtoul(const char *restrict s, char **restrict end, int base)
{
	return (unsigned long)strtoull(s, end, base);
}
