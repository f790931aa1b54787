/*
 * Time on x86_64: calibrate the TSC (the monotonic clock) and the LAPIC
 * timer (the per-CPU event source) against a reference clock, HPET if ACPI
 * provides one, otherwise PIT channel 2. Calibration measures a 10 ms
 * window once on the boot CPU; all CPUs share the result (the LAPIC timers
 * run from one bus clock, and the TSC is invariant).
 */
#include "arch.h"
#include "clock.h"
#include "hpet.h"
#include "lapic.h"
#include "log.h"
#include "panic.h"
#include "x86.h"

#define CALIBRATION_US 10000

static uint64_t lapic_ticks_per_ms;

void timer_interrupt(void); /* generic: kernel/generic/sched.c */

static void lapic_timer_irq(struct trap_frame *f)
{
	(void)f;
	lapic_eoi();
	timer_interrupt();
}

uint64_t arch_timer_calibrate(uint64_t hpet_phys)
{
	bool use_hpet = hpet_init(hpet_phys);
	uint64_t flags = arch_irq_save();
	uint64_t tsc0, tsc1, ref_ns;
	uint32_t lapic0, lapic1;

	lapic_timer_start_calibration();
	if (use_hpet) {
		uint64_t h0 = hpet_read_ns();
		tsc0 = arch_cycles();
		lapic0 = lapic_timer_current();
		uint64_t h1;
		do {
			h1 = hpet_read_ns();
		} while (h1 - h0 < CALIBRATION_US * 1000ull);
		tsc1 = arch_cycles();
		lapic1 = lapic_timer_current();
		ref_ns = h1 - h0;
	} else {
		tsc0 = arch_cycles();
		lapic0 = lapic_timer_current();
		pit_wait_us(CALIBRATION_US);
		tsc1 = arch_cycles();
		lapic1 = lapic_timer_current();
		ref_ns = CALIBRATION_US * 1000ull;
	}
	arch_irq_restore(flags);

	uint64_t tsc_hz = (tsc1 - tsc0) * 1000000000ull / ref_ns;
	lapic_ticks_per_ms = (uint64_t)(lapic0 - lapic1) * 1000000ull / ref_ns;
	if (tsc_hz == 0 || lapic_ticks_per_ms == 0)
		panic("timer: calibration failed (tsc %llu Hz, lapic %llu/ms)",
		      (unsigned long long)tsc_hz, (unsigned long long)lapic_ticks_per_ms);
	log_info("timer: TSC %llu.%03llu MHz, LAPIC timer %llu ticks/ms (against %s)",
		 (unsigned long long)(tsc_hz / 1000000u),
		 (unsigned long long)(tsc_hz / 1000u % 1000u),
		 (unsigned long long)lapic_ticks_per_ms, use_hpet ? "HPET" : "PIT");
	trap_set_handler(VECTOR_LAPIC_TIMER, lapic_timer_irq);
	return tsc_hz;
}

void arch_timer_arm(uint64_t ns)
{
	uint64_t ticks = ns * lapic_ticks_per_ms / 1000000u;
	if (ns > (1ull << 40)) /* beyond ~18 minutes: avoid overflow, re-arm later */
		ticks = 0xffffffffu;
	if (ticks == 0)
		ticks = 1;
	if (ticks > 0xffffffffu)
		ticks = 0xffffffffu;
	lapic_timer_oneshot((uint32_t)ticks);
}

bool arch_reference_clock_ns(uint64_t *ns)
{
	if (!hpet_available())
		return false;
	*ns = hpet_read_ns();
	return true;
}
