/*
 * The monotonic clock: nanoseconds since the kernel started, from the TSC
 * calibrated at boot. Reads 0 until clock_init() has run.
 */
#ifndef KERNEL_CLOCK_H
#define KERNEL_CLOCK_H

#include <stdint.h>

uint64_t clock_monotonic_ns(void);
/* Install the calibrated TSC frequency (Hz); `tsc_base` reads as time 0. */
void clock_init(uint64_t tsc_hz, uint64_t tsc_base);
uint64_t clock_tsc_hz(void);
/* Convert a TSC delta to nanoseconds with the calibrated frequency. */
uint64_t clock_cycles_to_ns(uint64_t cycles);

#endif
