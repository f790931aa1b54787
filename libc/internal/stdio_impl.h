/*
 * The printf engine shared by snprintf, printf and friends: it formats into
 * a sink (a function taking pieces of output), so each caller decides
 * where the bytes go — a buffer, the kernel log. Pure code: the host unit
 * tests (tests/unit/libc-format) compare it with the host's printf.
 */
#ifndef LIBC_STDIO_IMPL_H
#define LIBC_STDIO_IMPL_H

#include <stdarg.h>
#include <stddef.h>

typedef void (*__fmt_sink)(void *ctx, const char *s, size_t n);

/* Formats like vprintf (conversions d i u x X o c s p %; flags - + space
 * # 0; width and precision, also as *; lengths hh h l ll z j t). Returns
 * the number of bytes produced. */
int __vformat(__fmt_sink sink, void *ctx, const char *fmt, va_list ap);

/* The program's standard output: the kernel log, line buffered. Writers
 * hold the stdout lock around a whole printf so lines of different threads
 * do not mix. */
void __stdout_lock(void);
void __stdout_unlock(void);
void __stdout_write(const char *s, size_t n); /* caller holds the lock */
void __stdout_flush(void);                    /* takes the lock */

#endif
