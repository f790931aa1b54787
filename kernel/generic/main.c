/*
 * kernel_main: the boot CPU's path from the prekernel to a running kernel.
 * The order matters: per-CPU data before anything logs, physical memory
 * before page tables, page tables before device mappings, timers before
 * other CPUs start (their start-up waits on the clock).
 */
#include <kestrel/bootinfo.h>

#include "acpi.h"
#include "arch.h"
#include "clock.h"
#include "cmdline.h"
#include "init_process.h"
#include "initrd.h"
#include "cpu.h"
#include "kstring.h"
#include "log.h"
#include "mm.h"
#include "panic.h"
#include "pmm.h"
#include "sched.h"
#include "slab.h"
#include "vm.h"
#include "ktest.h"

void platform_init(void); /* arch: interrupt controllers and timers */

static struct kestrel_bootinfo boot_info;

static void apply_log_option(void)
{
	char level[16];
	if (!cmdline_get("log", level, sizeof(level)))
		return;
	if (!strcmp(level, "error"))
		log_threshold = LOG_ERROR;
	else if (!strcmp(level, "warn"))
		log_threshold = LOG_WARN;
	else if (!strcmp(level, "info"))
		log_threshold = LOG_INFO;
	else if (!strcmp(level, "debug"))
		log_threshold = LOG_DEBUG;
	else
		log_warn("unknown log level '%s'", level);
}

static void take_boot_info(paddr_t phys)
{
	const struct kestrel_bootinfo *bi = phys_to_virt(phys);
	if (bi->magic != KESTREL_BOOTINFO_MAGIC || bi->version != KESTREL_BOOTINFO_VERSION ||
	    bi->size != sizeof(*bi))
		panic("boot-info at %llx is not version %u of the Kestrel boot protocol",
		      (unsigned long long)phys, KESTREL_BOOTINFO_VERSION);
	boot_info = *bi;
	if (boot_info.mem_range_count > KESTREL_BOOT_MAX_MEM_RANGES ||
	    boot_info.module_count > KESTREL_BOOT_MAX_MODULES)
		panic("boot-info: counts out of range");
	boot_info.cmdline[KESTREL_BOOT_CMDLINE_MAX - 1] = 0;
}

/* Boot-loader memory (boot-info, prekernel page tables) is free once we
 * run on our own page tables with our own copy of the boot-info. */
static void reclaim_boot_memory(void)
{
	for (uint32_t i = 0; i < boot_info.mem_range_count; i++) {
		const struct kestrel_mem_range *r = &boot_info.mem_ranges[i];
		if (r->type == KESTREL_MEM_BOOTLOADER)
			pmm_add_free_range(r->base, r->length);
	}
}

/* test=fault: a kernel bug on purpose, to check the panic report. */
__attribute__((noinline)) static void deliberate_fault_here(volatile uint64_t *p)
{
	*p = 0xdead;
}

/* What the kernel does once it is up, chosen by test= on the command line:
 *   test=kernel[:prefix]  run the in-kernel self-tests, power off
 *   test=boot             power off at once (boot tests, boot timing)
 *   test=fault            fault deliberately (checks the panic report)
 * Anything else (no test=, or a test user space runs, such as
 * test=kernel-api) starts init from the initrd; init reads the command
 * line too. The boot thread then parks for good. */
static void __attribute__((noreturn)) kernel_run_boot_action(void)
{
	char test[64];
	bool testing = cmdline_get("test", test, sizeof(test));
	if (testing && !strncmp(test, "kernel", 6) && (test[6] == 0 || test[6] == ':')) {
		const char *filter = test[6] == ':' ? test + 7 : "";
		int failed = ktest_run_all(filter);
		arch_qemu_exit(failed ? 1 : 0);
	}
	if (testing && !strcmp(test, "boot"))
		arch_qemu_exit(0);
	if (testing && !strcmp(test, "fault")) {
		/* An address in the unmapped lower half. */
		deliberate_fault_here((volatile uint64_t *)0x13370000ull);
	}
	if (init_process_start(&boot_info) != 0 && testing) {
		log_error("test '%s' needs init, which did not start", test);
		arch_qemu_exit(1);
	}
	for (;;)
		thread_park();
}

const struct kestrel_bootinfo *kernel_boot_info(void)
{
	return &boot_info;
}

void kernel_main(paddr_t boot_info_phys)
{
	arch_cpu_early_init();
	arch_console_init();
	take_boot_info(boot_info_phys);
	cmdline_init(boot_info.cmdline);
	apply_log_option();
	log_info("Kestrel starting (%s, command line \"%s\")",
		 boot_info.protocol == KESTREL_BOOT_MULTIBOOT2
			 ? ((boot_info.flags & KESTREL_BOOT_FLAG_UEFI) ? "Multiboot 2, UEFI"
								     : "Multiboot 2")
			 : "Multiboot 1",
		 boot_info.cmdline);

	pmm_init(&boot_info);
	vm_init(&boot_info);
	kmalloc_init();
	initrd_init(&boot_info);

	platform_init();
	/* Only now: the ACPI root pointer the prekernel found may be a copy
	 * in its own memory. */
	reclaim_boot_memory();
	sched_init();
	sched_start_secondary_cpus();

	struct pmm_stats st;
	pmm_get_stats(&st);
	uint64_t ns = clock_monotonic_ns();
	log_info("kernel ready: %u CPUs, %llu MiB free, %llu.%06llu s since power-on", cpu_count,
		 (unsigned long long)(st.free_pages * PAGE_SIZE >> 20),
		 (unsigned long long)(ns / 1000000000u),
		 (unsigned long long)(ns % 1000000000u / 1000u));

	kernel_run_boot_action();
}
