/*
 * The kernel log: formatted messages with a level, written to the serial
 * port and QEMU's debug console. Lines are prefixed with the time since
 * boot, the CPU and the level:  "[    0.012345] cpu0 I message".
 *
 * Safe from any context, including interrupt handlers and a panicking CPU;
 * a lock keeps lines from different CPUs whole.
 */
#ifndef KERNEL_LOG_H
#define KERNEL_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

/* Messages above this level are dropped (set from the "log=" option). */
extern enum log_level log_threshold;

void log_printf(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vprintf(enum log_level level, const char *fmt, va_list ap);

/* Raw output with no prefix and no level, for multi-part output such as
 * panic dumps and test results the harness parses. */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_error(...) log_printf(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_printf(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_printf(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_printf(LOG_DEBUG, __VA_ARGS__)

#endif
