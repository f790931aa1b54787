/*
 * Address spaces (KESTREL_OBJ_SPACE): the user half of the virtual address
 * space, [KESTREL_USER_MIN, KESTREL_USER_MAX), as a set of mappings of
 * memory objects (memobj.h) with R/W/X protection, and the page tables
 * (mmu.h) that the faults on them fill in. See
 * docs/kernel/address-spaces.md.
 *
 * A space is released with kobject_put(&s->obj); the last reference frees
 * its page tables and drops its mappings (and so their references to the
 * memory objects). A thread holds a reference to its space, and must have
 * switched away from it (space_activate) before dropping it: a space must
 * not be loaded on any CPU when it dies (asserted).
 *
 * All calls but space_activate() need interrupts enabled and no spinlock
 * held: they may allocate memory and invalidate other CPUs' TLBs.
 *
 * Errors follow <kestrel/syscall.h>: -KE_INVALID for malformed arguments
 * (unaligned, zero or overflowing sizes, addresses outside user space,
 * unknown flags), -KE_BUSY, -KE_NOT_FOUND, -KE_ACCESS, -KE_LIMIT,
 * -KE_NO_MEMORY, -KE_FAULT.
 */
#ifndef KERNEL_SPACE_H
#define KERNEL_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include "kobject.h"
#include "mmu.h"
#include "space_ranges.h"
#include "spinlock.h"

struct memobj;

/* Access bits for space_fault() (same values as KESTREL_MAP_*). */
#define SPACE_ACCESS_READ 0x1u
#define SPACE_ACCESS_WRITE 0x2u
#define SPACE_ACCESS_EXEC 0x4u

/* Without a fixed address, mappings are placed first fit from here up
 * (then from KESTREL_USER_MIN). */
#define SPACE_MAP_BASE 0x10000000000ull

struct space {
	struct kobject obj;         /* first: type KESTREL_OBJ_SPACE */
	struct spinlock lock;       /* LOCK_ORDER_SPACE: the mappings */
	struct space_ranges maps;   /* struct space_mapping, sorted by address */
	struct mmu mmu;             /* page tables (own lock, order 35) */
};

/*
 * One mapping: [range.start, range.end) shows the object's bytes from
 * `offset`. Its geometry (range, offset) and prot change only under both
 * the space's lock and the object's lock, so memobj.c may read them under
 * the object's lock alone while it walks the object's mapping list.
 */
struct space_mapping {
	struct space_range range;   /* first: the set orders these */
	uint64_t offset;            /* object offset of range.start */
	uint32_t prot;              /* KESTREL_MAP_READ/WRITE/EXECUTE; W or X imply R */
	uint32_t max_prot;          /* what the mapping may be raised to (handle rights) */
	struct memobj *obj;         /* one reference */
	struct mmu *mmu;            /* the space's page tables */
	struct space_mapping *obj_prev, *obj_next; /* the object's list (its lock) */
	struct space_mapping *dying_next; /* removed, awaiting invalidation (space.c) */
};

/* A new, empty space with one reference; NULL if out of memory. */
struct space *space_create(void);

/* Load s's page tables on this CPU (NULL: the kernel-only tables). For
 * context switches: cheap when s is already loaded, takes no lock, works
 * with interrupts off. */
void space_activate(struct space *s);

/* Resolve a page fault at addr for `access` (SPACE_ACCESS_* bits; 0 counts
 * as a read). 0: resolved, the translation is in place and the access can
 * be retried. -KE_FAULT: no mapping there or it does not allow the access
 * (also for addresses outside user space). -KE_NO_MEMORY: the page could
 * not be allocated. Callers treat anything but 0 as unresolved. */
int space_fault(struct space *s, uint64_t addr, uint32_t access);

/* Map [offset, offset+size) of m at addr with flags KESTREL_MAP_* (the
 * protection bits, and FIXED or FIXED_REPLACE; prot 0 reserves addresses
 * without access). offset, addr, size page-aligned, size > 0, the range
 * inside m and (for fixed) inside user space. Without FIXED, addr is a
 * hint (0: none) used if free, else the first fit from SPACE_MAP_BASE.
 * Takes a reference to m. Stores the address in *out_addr (if not NULL).
 * 0, -KE_INVALID, -KE_BUSY (FIXED and taken), -KE_NO_MEMORY (no room or
 * no memory), -KE_LIMIT (too many mappings). */
int space_map(struct space *s, struct memobj *m, uint64_t offset, uint64_t addr,
	      uint64_t size, uint32_t flags, uint64_t *out_addr);
/* The same, recording max_prot (KESTREL_MAP_* protection bits the caller's
 * rights allow) as the limit for later space_protect() calls; the asked
 * protection must be within it (-KE_ACCESS). */
int space_map_limited(struct space *s, struct memobj *m, uint64_t offset, uint64_t addr,
		      uint64_t size, uint32_t flags, uint32_t max_prot, uint64_t *out_addr);

/* Unmap whatever lies in [addr, addr+size), splitting mappings cut by the
 * range. 0, -KE_INVALID (unaligned, size 0, outside user space),
 * -KE_NO_MEMORY (a split could not be allocated; nothing changed). */
int space_unmap(struct space *s, uint64_t addr, uint64_t size);

/* Set the protection (KESTREL_MAP_* protection bits) of [addr, addr+size),
 * which must be mapped entirely (-KE_NOT_FOUND) by mappings whose max_prot
 * allows prot (-KE_ACCESS); splits mappings at the range's ends. Nothing
 * changes on error. */
int space_protect(struct space *s, uint64_t addr, uint64_t size, uint32_t prot);

/* Copy between the kernel and s's memory through the memory objects (not
 * the current page tables): reading needs READ on every mapping touched,
 * writing needs WRITE and makes shared pages private like a write fault.
 * 0, -KE_FAULT (a hole, a protection or an address outside user space;
 * bytes before it may have been copied) or -KE_NO_MEMORY. */
int space_copy_from(struct space *s, uint64_t addr, void *dst, size_t n);
int space_copy_to(struct space *s, uint64_t addr, const void *src, size_t n);

/* For tests: the translation the page tables hold for addr (as
 * mmu_query), and the number of mappings. */
bool space_query(struct space *s, uint64_t addr, paddr_t *pa, uint32_t *prot);
uint32_t space_mapping_count(struct space *s);

#endif
