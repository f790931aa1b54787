/*
 * printf-style formatting (see format.h). One pass over the format string;
 * each conversion is rendered into a small local buffer (digits are produced
 * backwards) and then emitted with padding. Never allocates.
 */
#include "format.h"

#include <stdbool.h>
#include <stdint.h>

struct spec {
	bool left, zero, plus, space, alt;
	int width;     /* -1: none */
	int precision; /* -1: none */
};

struct out {
	void (*put)(char, void *);
	void *ctx;
	int count;
};

static void emit(struct out *o, char c)
{
	o->put(c, o->ctx);
	o->count++;
}

static void emit_padding(struct out *o, char c, int n)
{
	while (n-- > 0)
		emit(o, c);
}

/* Render an integer: sign/prefix, precision zeros, digits, with width. */
static void emit_number(struct out *o, const struct spec *sp, uint64_t value,
			bool negative, unsigned base, bool upper, bool is_pointer)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int len = 0;
	bool nonzero = value != 0;

	/* C: precision 0 with value 0 prints no digits. */
	if (!(value == 0 && sp->precision == 0)) {
		do {
			buf[len++] = digits[value % base];
			value /= base;
		} while (value);
	}

	char prefix[2];
	int prefix_len = 0;
	if (negative)
		prefix[prefix_len++] = '-';
	else if (sp->plus)
		prefix[prefix_len++] = '+';
	else if (sp->space)
		prefix[prefix_len++] = ' ';
	if ((sp->alt || is_pointer) && base == 16 && (nonzero || is_pointer)) {
		prefix[0] = '0';
		prefix[1] = upper ? 'X' : 'x';
		prefix_len = 2;
	}

	int zeros = 0;
	if (sp->precision > len)
		zeros = sp->precision - len;
	if (sp->alt && base == 8 && zeros == 0 && (len == 0 || buf[len - 1] != '0'))
		zeros = 1;
	int total = prefix_len + zeros + len;
	int pad = sp->width > total ? sp->width - total : 0;

	if (!sp->left && !(sp->zero && sp->precision < 0))
		emit_padding(o, ' ', pad);
	for (int i = 0; i < prefix_len; i++)
		emit(o, prefix[i]);
	if (!sp->left && sp->zero && sp->precision < 0)
		emit_padding(o, '0', pad);
	emit_padding(o, '0', zeros);
	while (len)
		emit(o, buf[--len]);
	if (sp->left)
		emit_padding(o, ' ', pad);
}

static void emit_string(struct out *o, const struct spec *sp, const char *s)
{
	if (!s)
		s = "(null)";
	int len = 0;
	while (s[len] && (sp->precision < 0 || len < sp->precision))
		len++;
	int pad = sp->width > len ? sp->width - len : 0;
	if (!sp->left)
		emit_padding(o, ' ', pad);
	for (int i = 0; i < len; i++)
		emit(o, s[i]);
	if (sp->left)
		emit_padding(o, ' ', pad);
}

enum length { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE, LEN_PTRDIFF, LEN_MAX };

static uint64_t fetch_unsigned(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_CHAR: return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_SHORT: return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_LONG: return va_arg(*ap, unsigned long);
	case LEN_LLONG: return va_arg(*ap, unsigned long long);
	case LEN_SIZE: return va_arg(*ap, size_t);
	case LEN_PTRDIFF: return (uint64_t)va_arg(*ap, ptrdiff_t);
	case LEN_MAX: return va_arg(*ap, uintmax_t);
	default: return va_arg(*ap, unsigned int);
	}
}

static int64_t fetch_signed(va_list *ap, enum length len)
{
	switch (len) {
	case LEN_CHAR: return (signed char)va_arg(*ap, int);
	case LEN_SHORT: return (short)va_arg(*ap, int);
	case LEN_LONG: return va_arg(*ap, long);
	case LEN_LLONG: return va_arg(*ap, long long);
	case LEN_SIZE: return (int64_t)va_arg(*ap, size_t);
	case LEN_PTRDIFF: return va_arg(*ap, ptrdiff_t);
	case LEN_MAX: return va_arg(*ap, intmax_t);
	default: return va_arg(*ap, int);
	}
}

int format_vprint(void (*put)(char c, void *ctx), void *ctx, const char *fmt,
		  va_list ap_in)
{
	struct out o = {put, ctx, 0};
	va_list ap;
	va_copy(ap, ap_in);

	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			emit(&o, *p);
			continue;
		}
		const char *start = p++;
		struct spec sp = {false, false, false, false, false, -1, -1};
		for (;; p++) {
			if (*p == '-') sp.left = true;
			else if (*p == '0') sp.zero = true;
			else if (*p == '+') sp.plus = true;
			else if (*p == ' ') sp.space = true;
			else if (*p == '#') sp.alt = true;
			else break;
		}
		if (*p == '*') {
			sp.width = va_arg(ap, int);
			if (sp.width < 0) {
				sp.left = true;
				sp.width = -sp.width;
			}
			p++;
		} else {
			for (; *p >= '0' && *p <= '9'; p++)
				sp.width = (sp.width < 0 ? 0 : sp.width) * 10 + (*p - '0');
		}
		if (*p == '.') {
			p++;
			sp.precision = 0;
			if (*p == '*') {
				sp.precision = va_arg(ap, int);
				if (sp.precision < 0)
					sp.precision = -1;
				p++;
			} else {
				for (; *p >= '0' && *p <= '9'; p++)
					sp.precision = sp.precision * 10 + (*p - '0');
			}
		}
		enum length len = LEN_INT;
		if (*p == 'h') {
			len = LEN_SHORT;
			if (*++p == 'h') {
				len = LEN_CHAR;
				p++;
			}
		} else if (*p == 'l') {
			len = LEN_LONG;
			if (*++p == 'l') {
				len = LEN_LLONG;
				p++;
			}
		} else if (*p == 'z') {
			len = LEN_SIZE;
			p++;
		} else if (*p == 't') {
			len = LEN_PTRDIFF;
			p++;
		} else if (*p == 'j') {
			len = LEN_MAX;
			p++;
		}

		switch (*p) {
		case 'd':
		case 'i': {
			int64_t v = fetch_signed(&ap, len);
			uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			emit_number(&o, &sp, mag, v < 0, 10, false, false);
			break;
		}
		case 'u':
			emit_number(&o, &sp, fetch_unsigned(&ap, len), false, 10, false, false);
			break;
		case 'x':
		case 'X':
			emit_number(&o, &sp, fetch_unsigned(&ap, len), false, 16, *p == 'X', false);
			break;
		case 'o':
			emit_number(&o, &sp, fetch_unsigned(&ap, len), false, 8, false, false);
			break;
		case 'p':
			emit_number(&o, &sp, (uintptr_t)va_arg(ap, void *), false, 16, false, true);
			break;
		case 'c': {
			char c = (char)va_arg(ap, int);
			int pad = sp.width > 1 ? sp.width - 1 : 0;
			if (!sp.left)
				emit_padding(&o, ' ', pad);
			emit(&o, c);
			if (sp.left)
				emit_padding(&o, ' ', pad);
			break;
		}
		case 's':
			emit_string(&o, &sp, va_arg(ap, const char *));
			break;
		case '%':
			emit(&o, '%');
			break;
		default:
			/* Unknown or truncated conversion: print it verbatim. */
			for (const char *q = start; q <= p && *q; q++)
				emit(&o, *q);
			if (!*p)
				p--;
			break;
		}
	}
	va_end(ap);
	return o.count;
}

struct buf_ctx {
	char *buf;
	size_t size;
	size_t pos;
};

static void put_buf(char c, void *vctx)
{
	struct buf_ctx *b = vctx;
	if (b->pos + 1 < b->size)
		b->buf[b->pos] = c;
	b->pos++;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buf_ctx b = {buf, size, 0};
	int n = format_vprint(put_buf, &b, fmt, ap);
	if (size)
		buf[b.pos < size ? b.pos : size - 1] = 0;
	return n;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
