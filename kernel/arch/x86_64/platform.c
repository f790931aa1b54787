/*
 * Platform set-up on x86_64, between memory management and the scheduler:
 * read ACPI, bring up the interrupt controllers (LAPIC, IO APICs), and
 * calibrate the clocks. Also remembers the CPUs ACPI lists, for SMP.
 */
#include "acpi.h"
#include "arch.h"
#include "clock.h"
#include "cpu.h"
#include "lapic.h"
#include "log.h"
#include "mm.h"
#include "panic.h"
#include "vm.h"

const struct kestrel_bootinfo *kernel_boot_info(void);

uint32_t platform_cpu_ids[MAX_CPUS];
uint32_t platform_cpu_id_count;

static struct acpi_info acpi;

/* ACPI tables live in RAM or firmware-reserved memory: all of it is in
 * the direct map, which vm_translate confirms page by page. */
static const void *acpi_map(void *ctx, uint64_t phys, uint64_t len)
{
	(void)ctx;
	if (len == 0 || phys + len < phys || phys + len > (1ull << 46))
		return 0;
	for (uint64_t p = PAGE_ALIGN_DOWN(phys); p < phys + len; p += PAGE_SIZE)
		if (!vm_translate(DIRECT_MAP_BASE + p))
			return 0;
	return phys_to_virt(phys);
}

const struct acpi_info *platform_acpi(void)
{
	return &acpi;
}

void platform_init(void)
{
	const struct kestrel_bootinfo *bi = kernel_boot_info();
	uint64_t lapic_phys = 0xfee00000ull;
	int err = bi->acpi_rsdp ? acpi_parse(bi->acpi_rsdp, acpi_map, 0, &acpi) : ACPI_ERR_NO_RSDP;
	if (err) {
		log_warn("acpi: %s; running on the boot CPU only, without IO APICs",
			 acpi_strerror(err));
		acpi.cpu_count = 0;
		acpi.ioapic_count = 0;
	} else {
		lapic_phys = acpi.lapic_address;
		log_info("acpi: %u CPUs, %u IO APICs, HPET %s, %u PCI segments (MCFG)",
			 acpi.cpu_count, acpi.ioapic_count, acpi.hpet_address ? "yes" : "no",
			 acpi.mcfg_count);
	}
	for (uint32_t i = 0; i < acpi.cpu_count && platform_cpu_id_count < MAX_CPUS; i++)
		if (acpi.cpus[i].enabled)
			platform_cpu_ids[platform_cpu_id_count++] = acpi.cpus[i].apic_id;

	lapic_init(lapic_phys);
	ioapic_init(&acpi);
	uint64_t tsc_hz = arch_timer_calibrate(acpi.hpet_address);
	/* Time 0 is the TSC's zero, i.e. power-on under QEMU, so the clock
	 * also tells how long the whole boot took. */
	clock_init(tsc_hz, 0);
	arch_irq_enable();
}
