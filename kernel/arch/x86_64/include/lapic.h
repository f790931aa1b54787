/*
 * Local APIC (xAPIC, memory mapped) and IO APIC, x86_64-private.
 */
#ifndef ARCH_LAPIC_H
#define ARCH_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

struct acpi_info;

/* Map and enable this CPU's local APIC (boot CPU: maps the registers). */
void lapic_init(uint64_t phys_base);
void lapic_init_secondary(void);
uint32_t lapic_id(void);
void lapic_eoi(void);

/* Inter-processor interrupts. */
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
void lapic_send_nmi_all_others(void);
void lapic_send_init(uint32_t apic_id);
void lapic_send_startup(uint32_t apic_id, uint8_t page);
bool lapic_ipi_pending(void);

/* The LAPIC timer, one-shot: fire VECTOR_LAPIC_TIMER after `ticks`
 * timer ticks (divider 16); 0 stops it. */
void lapic_timer_oneshot(uint32_t ticks);
uint32_t lapic_timer_current(void);
/* Start the counter at its maximum, free running (for calibration). */
void lapic_timer_start_calibration(void);

/* IO APICs: mask all pins, then route GSIs to vectors on a CPU. */
void ioapic_init(const struct acpi_info *acpi);
int ioapic_route(uint32_t gsi, uint8_t vector, uint32_t apic_id, bool level,
		 bool active_low);
int ioapic_mask(uint32_t gsi, bool masked);
/* Does an IO APIC serve this GSI? */
bool ioapic_serves(uint32_t gsi);

#endif
