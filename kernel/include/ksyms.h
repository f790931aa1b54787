/*
 * The kernel's own symbol table, embedded at link time (tools/gen-ksyms),
 * for symbolized backtraces.
 */
#ifndef KERNEL_KSYMS_H
#define KERNEL_KSYMS_H

#include <stdint.h>

/* Name of the function containing `addr` and the offset into it; NULL if
 * the address is outside the kernel's text. */
const char *ksyms_lookup(uint64_t addr, uint64_t *offset);

#endif
