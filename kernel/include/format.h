/*
 * printf-style formatting for the kernel (no floating point).
 *
 * Supports the conversions d i u x X o c s p %, the flags - 0 + space #,
 * field width and precision (also as *), and the length modifiers hh h l ll
 * z t j. A NULL %s prints "(null)". Unknown conversions are printed as-is.
 * Pure code, shared with host unit tests.
 */
#ifndef KERNEL_FORMAT_H
#define KERNEL_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

/* Emits each output character through put(c, ctx); returns the count. */
int format_vprint(void (*put)(char c, void *ctx), void *ctx, const char *fmt,
		  va_list ap);

/* Like C's vsnprintf: writes at most size bytes including the NUL and
 * returns the length the full output would have had. */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
