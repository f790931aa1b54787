#include <limits.h>
#include <stdlib.h>

#include "../../internal/strtox.h"

long long strtoll(const char *restrict s, char **restrict end, int base)
{
	int neg, ovf;
	unsigned long long v = __strtox(s, end, base, &neg, &ovf);
	if (neg) {
		if (ovf || v > (unsigned long long)LLONG_MAX + 1)
			return LLONG_MIN;
		return (long long)(0 - v);
	}
	if (ovf || v > (unsigned long long)LLONG_MAX)
		return LLONG_MAX;
	return (long long)v;
}
