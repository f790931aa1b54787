/*
 * Kestrel kernel API: memory objects and address spaces (flags and
 * limits; the calls are in syscall.h).
 *
 * A memory object is a sized set of pages. An address space maps ranges
 * of memory objects at page-aligned user addresses with R/W/X protection.
 * Anonymous memory is zero-filled on first touch; a copy-on-write view
 * shares its source's pages until either side writes.
 */
#ifndef KESTREL_MEMORY_H
#define KESTREL_MEMORY_H

#include <stdint.h>

#define KESTREL_PAGE_SIZE 4096u

/* User addresses: [KESTREL_USER_MIN, KESTREL_USER_MAX). The first 64 KiB
 * stay unmapped so null-pointer dereferences fault. */
#define KESTREL_USER_MIN 0x10000ull
#define KESTREL_USER_MAX 0x00007ffffffff000ull

/* Largest memory object (and mapping): 64 GiB. */
#define KESTREL_MEMORY_MAX (64ull << 30)

/* memory_create() kinds. */
#define KESTREL_MEMORY_ANONYMOUS 0u   /* zero-filled on demand */
#define KESTREL_MEMORY_CONTIGUOUS 1u  /* physically contiguous, allocated at once,
				       * below the limit argument (DMA) */

/* Protection and placement for space_map() / space_protect(). */
#define KESTREL_MAP_READ (1u << 0)
#define KESTREL_MAP_WRITE (1u << 1)
#define KESTREL_MAP_EXECUTE (1u << 2)
#define KESTREL_MAP_FIXED (1u << 8)        /* exactly at addr; KE_BUSY if taken */
#define KESTREL_MAP_FIXED_REPLACE (1u << 9)/* exactly at addr, replacing mappings */
#define KESTREL_MAP_PROT_MASK 0x7u

#endif
