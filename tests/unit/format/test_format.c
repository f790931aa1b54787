/* The kernel's printf engine must agree with the host C library's. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "unit.h"

/* Compare kvsnprintf with the host's vsnprintf for one format. */
static int same(char *why, size_t whylen, const char *fmt, ...)
{
	char a[256], b[256];
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int na = kvsnprintf(a, sizeof(a), fmt, ap);
	int nb = vsnprintf(b, sizeof(b), fmt, ap2);
	va_end(ap2);
	va_end(ap);
	if (na != nb || strcmp(a, b) != 0) {
		snprintf(why, whylen, "fmt \"%s\": kernel \"%s\" (%d) host \"%s\" (%d)", fmt, a, na,
			 b, nb);
		return 0;
	}
	return 1;
}

#define SAME(...)                                                              \
	do {                                                                   \
		char why_[600];                                                \
		if (!same(why_, sizeof(why_), __VA_ARGS__)) {                  \
			unit_fail(__FILE__, __LINE__, why_);                   \
			return;                                                \
		}                                                              \
	} while (0)

TEST(integers)
{
	SAME("%d %d %d", 0, -1, 2147483647);
	SAME("%d", (int)-2147483647 - 1);
	SAME("%ld %lld", -9223372036854775807L - 1, 9223372036854775807LL);
	SAME("%u %lu %llu", 4294967295u, 18446744073709551615UL, 0ULL);
	SAME("%zu %zd %td %jd", (size_t)123, (ptrdiff_t)-5, (ptrdiff_t)-7, (intmax_t)99);
	SAME("%hhd %hhu %hd %hu", 300, 300, 70000, 70000);
	SAME("%x %X %o", 0xdeadbeefu, 0xabcdefu, 0755u);
	SAME("%lx", 0xffffffff80000000ul);
}

TEST(flags_width_precision)
{
	SAME("[%5d] [%-5d] [%05d] [%+d] [% d]", 42, 42, 42, 42, 42);
	SAME("[%.3d] [%8.3d] [%-8.3d] [%08.3d]", 7, 7, 7, 7);
	SAME("[%.0d] [%.0x] [%5.0d]", 0, 0, 0);
	SAME("[%#x] [%#X] [%#o] [%#x] [%#o]", 255, 255, 8, 0, 0);
	SAME("[%#10x] [%#-10x] [%#010x]", 255, 255, 255);
	SAME("[%*d] [%-*d] [%.*d] [%*d]", 6, 1, 6, 1, 4, 1, -6, 1);
	SAME("[%+05d] [% 05d] [%-+5d]", -3, 3, 3);
	SAME("[%016lx]", 0x1234ul);
}

TEST(strings_chars_pointers)
{
	SAME("[%s] [%10s] [%-10s] [%.2s] [%.*s]", "abc", "abc", "abc", "abc", 1, "xyz");
	SAME("[%c] [%3c] [%-3c]", 'a', 'b', 'c');
	SAME("100%%");
	SAME("%p", (void *)0x1234);
	SAME("%p", (void *)0xffffffff80001000ul);
}

static int wrap(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

TEST(truncation_and_null)
{
	char buf[8];
	CHECK_EQ(wrap(buf, sizeof(buf), "%s", "hello world"), 11);
	CHECK(strcmp(buf, "hello w") == 0);
	CHECK_EQ(wrap(buf, 1, "%d", 12345), 5);
	CHECK(buf[0] == 0);
	CHECK_EQ(wrap(NULL, 0, "%d", 12345), 5);
	CHECK_EQ(wrap(buf, sizeof(buf), "%s", (char *)NULL), 6);
	CHECK(strcmp(buf, "(null)") == 0);
}

TEST(unknown_conversion_is_verbatim)
{
	char buf[32];
	wrap(buf, sizeof(buf), "a%qb");
	CHECK(strcmp(buf, "a%qb") == 0);
	wrap(buf, sizeof(buf), "end%");
	CHECK(strcmp(buf, "end%") == 0);
}
