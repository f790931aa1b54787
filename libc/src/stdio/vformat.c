/*
 * The printf engine (see stdio_impl.h). A conversion is built from three
 * parts — prefix (sign, "0x"), leading zeros, digits — and padded with
 * spaces or zeros to the field width, as C17 7.21.6.1 describes:
 *   - precision of an integer is its minimum number of digits (0 with a
 *     zero value prints no digit); with a precision the '0' flag is ignored;
 *   - '#' adds "0x"/"0X" to non-zero hex, and makes octal start with 0;
 *   - '-' pads on the right and overrides '0'.
 * %p prints like glibc ("0x..." or "(nil)"), since Kestrel's libc is
 * checked against glibc. No floating point yet.
 */
#include <stdint.h>

#include "../../internal/stdio_impl.h"

enum {
	F_LEFT = 1,
	F_PLUS = 2,
	F_SPACE = 4,
	F_ALT = 8,
	F_ZERO = 16,
};

enum length { L_NONE, L_HH, L_H, L_L, L_LL, L_Z, L_J, L_T };

struct out {
	__fmt_sink sink;
	void *ctx;
	size_t count;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (n) {
		o->sink(o->ctx, s, n);
		o->count += n;
	}
}

static void pad(struct out *o, char c, int n)
{
	char buf[32];
	for (int i = 0; i < (int)sizeof(buf); i++)
		buf[i] = c;
	while (n > 0) {
		int k = n < (int)sizeof(buf) ? n : (int)sizeof(buf);
		put(o, buf, (size_t)k);
		n -= k;
	}
}

/* One field: prefix, `zeros` zeros, body; padded to width. */
static void field(struct out *o, int flags, int width, const char *prefix, int prefix_len,
		  int zeros, const char *body, int body_len)
{
	int len = prefix_len + zeros + body_len;
	int fill = width > len ? width - len : 0;
	if (!(flags & F_LEFT) && !(flags & F_ZERO))
		pad(o, ' ', fill);
	put(o, prefix, (size_t)prefix_len);
	if (!(flags & F_LEFT) && (flags & F_ZERO))
		pad(o, '0', fill);
	pad(o, '0', zeros);
	put(o, body, (size_t)body_len);
	if (flags & F_LEFT)
		pad(o, ' ', fill);
}

static void integer(struct out *o, int flags, int width, int precision, uintmax_t value,
		    int negative, int is_signed, char conv)
{
	char digits[32];
	int n = 0;
	unsigned base = conv == 'o' ? 8 : (conv == 'x' || conv == 'X' || conv == 'p') ? 16 : 10;
	const char *alphabet = conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
	char *end = digits + sizeof(digits);
	for (uintmax_t v = value; v; v /= base)
		end[-++n] = alphabet[v % base];
	if (precision < 0 && n == 0)
		end[-++n] = '0'; /* the default precision is 1 */

	char prefix[3];
	int prefix_len = 0;
	if (is_signed) {
		if (negative)
			prefix[prefix_len++] = '-';
		else if (flags & F_PLUS)
			prefix[prefix_len++] = '+';
		else if (flags & F_SPACE)
			prefix[prefix_len++] = ' ';
	}
	if ((flags & F_ALT) && value != 0 && base == 16) {
		prefix[prefix_len++] = '0';
		prefix[prefix_len++] = conv == 'X' ? 'X' : 'x';
	}

	int zeros = precision > n ? precision - n : 0;
	/* '#' with octal: the first digit is 0 (a zero value already is). */
	if ((flags & F_ALT) && base == 8 && zeros == 0 && (n == 0 || end[-n] != '0'))
		zeros = 1;
	if (precision >= 0)
		flags &= ~F_ZERO;
	field(o, flags, width, prefix, prefix_len, zeros, end - n, n);
}

static size_t bounded_strlen(const char *s, int precision)
{
	size_t n = 0;
	while ((precision < 0 || n < (size_t)precision) && s[n])
		n++;
	return n;
}

int __vformat(__fmt_sink sink, void *ctx, const char *fmt, va_list ap)
{
	struct out o = {sink, ctx, 0};
	while (*fmt) {
		if (*fmt != '%') {
			const char *start = fmt;
			while (*fmt && *fmt != '%')
				fmt++;
			put(&o, start, (size_t)(fmt - start));
			continue;
		}
		const char *spec = fmt++;

		int flags = 0;
		for (;; fmt++) {
			if (*fmt == '-')
				flags |= F_LEFT;
			else if (*fmt == '+')
				flags |= F_PLUS;
			else if (*fmt == ' ')
				flags |= F_SPACE;
			else if (*fmt == '#')
				flags |= F_ALT;
			else if (*fmt == '0')
				flags |= F_ZERO;
			else
				break;
		}

		int width = 0;
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				flags |= F_LEFT;
				width = width == INT32_MIN ? INT32_MAX : -width;
			}
			fmt++;
		} else {
			for (; *fmt >= '0' && *fmt <= '9'; fmt++)
				width = width < 100000000 ? width * 10 + (*fmt - '0') : width;
		}

		int precision = -1;
		if (*fmt == '.') {
			fmt++;
			precision = 0;
			if (*fmt == '*') {
				precision = va_arg(ap, int);
				if (precision < 0)
					precision = -1;
				fmt++;
			} else {
				for (; *fmt >= '0' && *fmt <= '9'; fmt++)
					precision = precision < 100000000 ? precision * 10 + (*fmt - '0')
									  : precision;
			}
		}
		if (flags & F_LEFT)
			flags &= ~F_ZERO;

		enum length len = L_NONE;
		if (*fmt == 'h') {
			len = fmt[1] == 'h' ? L_HH : L_H;
			fmt += len == L_HH ? 2 : 1;
		} else if (*fmt == 'l') {
			len = fmt[1] == 'l' ? L_LL : L_L;
			fmt += len == L_LL ? 2 : 1;
		} else if (*fmt == 'z') {
			len = L_Z;
			fmt++;
		} else if (*fmt == 'j') {
			len = L_J;
			fmt++;
		} else if (*fmt == 't') {
			len = L_T;
			fmt++;
		}

		char conv = *fmt;
		if (conv)
			fmt++;
		switch (conv) {
		case 'd':
		case 'i': {
			intmax_t v;
			switch (len) {
			case L_HH: v = (signed char)va_arg(ap, int); break;
			case L_H: v = (short)va_arg(ap, int); break;
			case L_L: v = va_arg(ap, long); break;
			case L_LL: v = va_arg(ap, long long); break;
			case L_Z: v = (intmax_t)va_arg(ap, size_t); break; /* signed size_t */
			case L_J: v = va_arg(ap, intmax_t); break;
			case L_T: v = va_arg(ap, ptrdiff_t); break;
			default: v = va_arg(ap, int); break;
			}
			uintmax_t mag = v < 0 ? (uintmax_t)0 - (uintmax_t)v : (uintmax_t)v;
			integer(&o, flags, width, precision, mag, v < 0, 1, conv);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			uintmax_t v;
			switch (len) {
			case L_HH: v = (unsigned char)va_arg(ap, unsigned); break;
			case L_H: v = (unsigned short)va_arg(ap, unsigned); break;
			case L_L: v = va_arg(ap, unsigned long); break;
			case L_LL: v = va_arg(ap, unsigned long long); break;
			case L_Z: v = va_arg(ap, size_t); break;
			case L_J: v = va_arg(ap, uintmax_t); break;
			case L_T: v = (uintmax_t)va_arg(ap, ptrdiff_t); break;
			default: v = va_arg(ap, unsigned); break;
			}
			integer(&o, flags, width, precision, v, 0, 0, conv);
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			field(&o, flags & ~F_ZERO, width, "", 0, 0, &c, 1);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			field(&o, flags & ~F_ZERO, width, "", 0, 0, s, (int)bounded_strlen(s, precision));
			break;
		}
		case 'p': {
			const void *p = va_arg(ap, const void *);
			if (!p) {
				field(&o, flags & ~F_ZERO, width, "", 0, 0, "(nil)", 5);
				break;
			}
			integer(&o, (flags | F_ALT) & ~(F_PLUS | F_SPACE), width, precision,
				(uintptr_t)p, 0, 0, 'p');
			break;
		}
		case '%':
			put(&o, "%", 1);
			break;
		default:
			/* Not a conversion we know (or the string ended): print it as is. */
			put(&o, spec, (size_t)(fmt - spec));
			break;
		}
	}
	return o.count > INT32_MAX ? INT32_MAX : (int)o.count;
}
