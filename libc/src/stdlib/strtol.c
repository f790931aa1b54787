#include <limits.h>
#include <stdlib.h>

long strtol(const char *restrict s, char **restrict end, int base)
{
	long long v = strtoll(s, end, base);
	if (v > LONG_MAX)
		return LONG_MAX;
	if (v < LONG_MIN)
		return LONG_MIN;
	return (long)v;
}
