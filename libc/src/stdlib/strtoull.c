/*
 * strtoull and friends: C17 7.22.1.4. Leading white space, an optional
 * sign, an optional "0x" (base 16 or 0) or "0" (base 0: octal) prefix,
 * then digits. On overflow the result saturates (there is no errno yet, so
 * ERANGE is not reported). *end points after the last digit used, or at s
 * if there was no number.
 */
#include <stdlib.h>

#include "../../internal/strtox.h"

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

unsigned long long __strtox(const char *s, char **end, int base, int *negative, int *overflow)
{
	const char *p = s;
	*negative = 0;
	*overflow = 0;
	if (base < 0 || base == 1 || base > 36) {
		if (end)
			*end = (char *)s;
		return 0;
	}
	while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		p++;
	if (*p == '+' || *p == '-')
		*negative = *p++ == '-';
	if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
	    digit_value(p[2]) < 16) {
		p += 2;
		base = 16;
	} else if (base == 0) {
		base = p[0] == '0' ? 8 : 10;
	}
	unsigned long long v = 0;
	const char *digits = p;
	for (int d; (d = digit_value(*p)) < base; p++) {
		if (__builtin_mul_overflow(v, (unsigned)base, &v) ||
		    __builtin_add_overflow(v, (unsigned)d, &v))
			*overflow = 1;
	}
	if (end)
		*end = (char *)(p == digits ? s : p);
	return *overflow ? ~0ull : v;
}

unsigned long long strtoull(const char *restrict s, char **restrict end, int base)
{
	int neg, ovf;
	unsigned long long v = __strtox(s, end, base, &neg, &ovf);
	if (ovf)
		return ~0ull;
	return neg ? -v : v;
}
