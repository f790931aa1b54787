/*
 * The kernel log (see log.h). A line is formatted into a per-call buffer on
 * the stack, then written to the console under the log lock so lines from
 * different CPUs never interleave. If the lock is held by this very CPU (a
 * fault inside the log), or a panic is in progress (the holder may have
 * been stopped), we write without it rather than deadlock.
 */
#include "log.h"

#include "arch.h"
#include "clock.h"
#include "format.h"
#include "panic.h"
#include "spinlock.h"

enum log_level log_threshold = LOG_INFO;

static struct spinlock log_lock = SPINLOCK_INIT("log", LOCK_ORDER_LOG);

#define LINE_MAX 512

static void write_locked(const char *s, size_t n)
{
	/* A panicking CPU may have stopped the lock holder for good. */
	if (spin_held(&log_lock) || panic_in_progress()) {
		arch_console_write(s, n);
		return;
	}
	spin_lock(&log_lock);
	arch_console_write(s, n);
	spin_unlock(&log_lock);
}

void log_vprintf(enum log_level level, const char *fmt, va_list ap)
{
	static const char tags[] = "EWID";
	if (level > log_threshold)
		return;
	char line[LINE_MAX];
	uint64_t ns = clock_monotonic_ns();
	int n = ksnprintf(line, sizeof(line), "[%5llu.%06llu] cpu%u %c ",
			  (unsigned long long)(ns / 1000000000u),
			  (unsigned long long)(ns % 1000000000u / 1000u),
			  arch_cpu_index(), tags[level]);
	n += kvsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (n > LINE_MAX - 2)
		n = LINE_MAX - 2;
	line[n++] = '\n';
	write_locked(line, (size_t)n);
}

void log_printf(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vprintf(level, fmt, ap);
	va_end(ap);
}

void kprintf(const char *fmt, ...)
{
	char line[LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > LINE_MAX - 1)
		n = LINE_MAX - 1;
	write_locked(line, (size_t)n);
}
