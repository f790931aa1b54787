/*
 * I/O-port capabilities (KESTREL_OBJ_IOPORTS, <kestrel/device.h>): an
 * object naming the port range [base, base+count). Immutable once made,
 * so it needs no lock.
 */
#ifndef KERNEL_IOPORTS_H
#define KERNEL_IOPORTS_H

#include <stdint.h>

#include "kobject.h"

/* The capability for every port, for init (one reference, the caller's);
 * NULL when out of memory. */
struct kobject *ioports_create_all(void);

int64_t sys_ioports_create(int64_t h, uint64_t base, uint64_t count);
int64_t sys_ioport_in(int64_t h, uint64_t port, uint64_t width);
int64_t sys_ioport_out(int64_t h, uint64_t port, uint64_t width, uint64_t value);

#endif
