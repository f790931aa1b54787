/* HPET main counter and the PIT, used as reference clocks (x86_64). */
#ifndef ARCH_HPET_H
#define ARCH_HPET_H

#include <stdbool.h>
#include <stdint.h>

/* Map and start the HPET main counter; false if unusable. */
bool hpet_init(uint64_t phys);
bool hpet_available(void);
/* Nanoseconds from the HPET main counter (only if available). */
uint64_t hpet_read_ns(void);

/* Busy-wait about `us` microseconds on PIT channel 2 (at most 50 ms). */
void pit_wait_us(uint32_t us);

#endif
