/*
 * The physical-range capability (KESTREL_OBJ_PHYSICAL, <kestrel/device.h>):
 * lets its holder make memory objects over device memory. One object,
 * created at boot for init; it carries no state.
 */
#ifndef KERNEL_PHYSICAL_H
#define KERNEL_PHYSICAL_H

#include <stdint.h>

#include "kobject.h"

/* The capability, for init (one reference, the caller's); NULL when out
 * of memory. */
struct kobject *physical_capability_create(void);

int64_t sys_memory_physical_range(int64_t physical, uint64_t base, uint64_t size, uint64_t cache);

#endif
