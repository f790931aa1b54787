/*
 * Kernel panic: report and stop. The first CPU to panic owns the console
 * from then on; others that panic meanwhile just halt, so the first report
 * is never garbled. A fault while printing the report (e.g. a corrupt
 * frame chain) ends in a halt without a second report.
 */
#include "panic.h"

#include "arch.h"
#include "format.h"
#include "ksyms.h"
#include "log.h"

static volatile int panicking;
static volatile int panic_depth;

bool panic_in_progress(void)
{
	return panicking != 0;
}

/* Claim the console for a panic report; returns only on the first CPU. */
void panic_begin(void)
{
	arch_irq_disable();
	if (__atomic_exchange_n(&panicking, 1, __ATOMIC_SEQ_CST)) {
		/* Someone else is reporting (or we faulted mid-report). */
		if (panic_depth++ == 0)
			arch_console_write("\n(nested panic)\n", 16);
		arch_halt();
	}
	arch_stop_other_cpus();
}

static void print_frame(uint64_t addr, void *ctx)
{
	int *n = ctx;
	uint64_t off;
	const char *name = ksyms_lookup(addr, &off);
	kprintf("  #%d %016llx %s+0x%llx\n", (*n)++, (unsigned long long)addr,
		name ? name : "?", name ? (unsigned long long)off : 0ull);
}

void panic_print_backtrace(uint64_t rip, uint64_t rbp)
{
	int n = 0;
	kprintf("backtrace:\n");
	if (rip)
		print_frame(rip, &n);
	arch_backtrace(rbp, print_frame, &n, 32);
}

void panic_end(void)
{
	kprintf("system halted\n");
	/* Under the test harness, leave QEMU with a failure status right away
	 * instead of waiting for a timeout. */
	arch_qemu_exit(1);
}

void panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	panic_begin();
	kprintf("\nKERNEL PANIC on cpu%u: %s\n", arch_cpu_index(), msg);
	panic_print_backtrace(0, arch_frame_pointer());
	panic_end();
}
