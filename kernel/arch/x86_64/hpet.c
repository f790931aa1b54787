/*
 * Reference clocks for calibration and tests: the HPET's main counter (if
 * ACPI describes one) and, failing that, PIT channel 2 in one-shot mode.
 * Neither drives scheduling; the LAPIC timer does.
 */
#include "hpet.h"

#include "arch.h"
#include "log.h"
#include "vm.h"
#include "x86.h"

#define HPET_CAP 0x000
#define HPET_CONFIG 0x010
#define HPET_COUNTER 0x0f0

static volatile uint64_t *hpet;
static uint64_t hpet_ns_per_tick_fp32; /* ns per tick, 32.32 fixed point */

bool hpet_init(uint64_t phys)
{
	if (!phys)
		return false;
	volatile uint64_t *regs = vm_map_mmio(phys, 1024);
	if (!regs)
		return false;
	uint64_t cap = regs[HPET_CAP / 8];
	uint64_t period = cap >> 32;
	/* The spec bounds the period to (0, 100 ns]. */
	if (period == 0 || period > 100000000ull) {
		log_warn("hpet: bad period %llu fs, not using it", (unsigned long long)period);
		return false;
	}
	/* period <= 1e8 fs, so period << 32 fits in 64 bits. */
	hpet_ns_per_tick_fp32 = (period << 32) / 1000000u;
	regs[HPET_CONFIG / 8] |= 1; /* ENABLE_CNF: main counter runs */
	hpet = regs;
	log_debug("hpet: %llu fs per tick, %s counter",
		  (unsigned long long)period, (cap & (1u << 13)) ? "64-bit" : "32-bit");
	return true;
}

bool hpet_available(void)
{
	return hpet != 0;
}

uint64_t hpet_read_ns(void)
{
	uint64_t ticks = hpet[HPET_COUNTER / 8];
	return (uint64_t)(((unsigned __int128)ticks * hpet_ns_per_tick_fp32) >> 32);
}

void pit_wait_us(uint32_t us)
{
	if (us > 50000)
		us = 50000;
	uint32_t count = (uint32_t)((1193182ull * us) / 1000000u);
	if (count == 0)
		count = 1;
	/* Gate channel 2 on, speaker off; mode 0 (interrupt on terminal count),
	 * binary, lobyte/hibyte. Output (port 0x61 bit 5) goes high at zero. */
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0);
	outb(0x42, (uint8_t)count);
	outb(0x42, (uint8_t)(count >> 8));
	while (!(inb(0x61) & 0x20))
		arch_cpu_relax();
}
