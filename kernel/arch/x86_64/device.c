/*
 * Device access for user-space drivers on x86_64 (the generic side is
 * kernel/generic/ioports.c and irq.c; see docs/kernel/devices.md):
 *
 *   - port I/O on behalf of a driver (ioport_in/ioport_out): the
 *     generic code has checked the port range against the capability;
 *   - IRQ lines: GSI n of the IO APICs is delivered on vector
 *     VECTOR_IRQ_BASE + n to the boot CPU. The vector handler hands the
 *     interrupt to irq_interrupt(), which masks a level-triggered line
 *     before we send the EOI, so the line cannot fire again until the
 *     driver acknowledges it.
 *   - ISA IRQ numbers are translated through the ACPI MADT overrides;
 *   - physical ranges: the CPU's address width, and the interrupt
 *     controllers' registers, which no driver may map.
 */
#include "acpi.h"
#include "arch.h"
#include "cpu.h"
#include "irq.h"
#include "lapic.h"
#include "x86.h"

_Static_assert(VECTOR_IRQ_BASE + ARCH_IRQ_LINES <= VECTOR_IPI_RESCHEDULE,
	       "IRQ vectors overlap the IPI vectors");

const struct acpi_info *platform_acpi(void); /* platform.c */

uint32_t arch_port_in(uint16_t port, unsigned width)
{
	uint32_t v;
	switch (width) {
	case 1: {
		uint8_t b;
		__asm__ volatile("inb %1, %0" : "=a"(b) : "Nd"(port));
		v = b;
		break;
	}
	case 2: {
		uint16_t w;
		__asm__ volatile("inw %1, %0" : "=a"(w) : "Nd"(port));
		v = w;
		break;
	}
	default:
		__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
		break;
	}
	return v;
}

void arch_port_out(uint16_t port, unsigned width, uint32_t value)
{
	switch (width) {
	case 1:
		outb(port, (uint8_t)value);
		break;
	case 2:
		outw(port, (uint16_t)value);
		break;
	default:
		outl(port, value);
		break;
	}
}

bool arch_irq_line_exists(uint32_t gsi)
{
	return gsi < ARCH_IRQ_LINES && ioapic_serves(gsi);
}

int arch_irq_isa(uint32_t isa_irq, uint32_t *gsi, bool *level, bool *active_low)
{
	if (isa_irq > 15)
		return -1;
	uint16_t flags = 0;
	*gsi = acpi_isa_irq_gsi(platform_acpi(), (uint8_t)isa_irq, &flags);
	/* "Conforms" means the ISA bus default: edge, active high. */
	*level = (flags & ACPI_INTI_TRIGGER_MASK) == ACPI_INTI_TRIGGER_LEVEL;
	*active_low = (flags & ACPI_INTI_POLARITY_MASK) == ACPI_INTI_POLARITY_LOW;
	return 0;
}

static void line_vector(struct trap_frame *f)
{
	irq_interrupt((uint32_t)(f->vector - VECTOR_IRQ_BASE));
	lapic_eoi();
}

int arch_irq_line_route(uint32_t gsi, bool level, bool active_low)
{
	if (!arch_irq_line_exists(gsi))
		return -1;
	/* Installed before the pin can fire; a plain store, and setting the
	 * same handler again is harmless. */
	trap_set_handler((uint8_t)(VECTOR_IRQ_BASE + gsi), line_vector);
	return ioapic_route(gsi, (uint8_t)(VECTOR_IRQ_BASE + gsi), cpus[0].apic_id, level,
			    active_low);
}

void arch_irq_line_mask(uint32_t gsi, bool masked)
{
	ioapic_mask(gsi, masked);
}

unsigned arch_physical_address_bits(void)
{
	uint32_t a, b, c, d;
	cpuid(0x80000000u, 0, &a, &b, &c, &d);
	if (a < 0x80000008u)
		return 36; /* the architectural minimum with PAE */
	cpuid(0x80000008u, 0, &a, &b, &c, &d);
	unsigned bits = a & 0xff;
	return bits >= 32 && bits <= 52 ? bits : 36;
}

static bool overlaps(uint64_t base, uint64_t size, uint64_t start, uint64_t len)
{
	return base < start + len && start < base + size;
}

bool arch_physical_kernel_owned(uint64_t base, uint64_t size)
{
	const struct acpi_info *acpi = platform_acpi();
	/* The local APIC's page (0xfee00000 unless ACPI moved it). */
	if (overlaps(base, size, acpi->lapic_address ? acpi->lapic_address : 0xfee00000ull, 4096))
		return true;
	for (uint32_t i = 0; i < acpi->ioapic_count; i++)
		if (overlaps(base, size, acpi->ioapics[i].address & ~0xfffull, 4096))
			return true;
	return false;
}
