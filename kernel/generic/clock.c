/*
 * Monotonic clock from the TSC. The conversion uses a 64.32 fixed-point
 * multiplier computed once (ns per cycle * 2^32), so a read is one rdtsc,
 * one 128-bit multiply and a shift: no division on the hot path. QEMU and
 * every x86_64 CPU we target have an invariant TSC shared by all CPUs.
 */
#include "clock.h"

#include "arch.h"

static uint64_t tsc_base;
static uint64_t tsc_hz;
static uint64_t ns_per_cycle_fp32; /* (1e9 << 32) / tsc_hz */

void clock_init(uint64_t hz, uint64_t base)
{
	tsc_hz = hz;
	tsc_base = base;
	/* 1e9 << 32 still fits in 64 bits: no 128-bit division needed. */
	ns_per_cycle_fp32 = (1000000000ull << 32) / hz;
}

uint64_t clock_tsc_hz(void)
{
	return tsc_hz;
}

uint64_t clock_cycles_to_ns(uint64_t cycles)
{
	return (uint64_t)(((unsigned __int128)cycles * ns_per_cycle_fp32) >> 32);
}

uint64_t clock_monotonic_ns(void)
{
	if (!tsc_hz)
		return 0;
	return clock_cycles_to_ns(arch_cycles() - tsc_base);
}
