/*
 * Memory objects (KESTREL_OBJ_MEMORY): sized sets of pages that address
 * spaces map (space.h) and the kernel reads and writes directly. See
 * docs/kernel/address-spaces.md.
 *
 * Kinds:
 * - anonymous: pages appear zero-filled on first touch (a fault, a kernel
 *   write or a pin); reading a page never touched gives zeros without
 *   allocating it;
 * - contiguous: one physically contiguous block allocated at creation
 *   (for DMA), zeroed;
 * - a copy-on-write view (memobj_create_cow) is an anonymous object whose
 *   present pages start out shared with its source.
 *
 * Reference counting goes through the embedded kobject: one reference per
 * handle, per mapping, and per kernel user; kobject_put() of the last
 * frees the pages (shared pages lose one owner).
 *
 * Lock: m->lock (LOCK_ORDER_MEMORY) guards the page index and the list of
 * mappings; calls below take it themselves unless they say otherwise.
 * Calls that can change pages other mappings see (writes, pins, views)
 * invalidate TLBs, so they need interrupts enabled and no spinlock held.
 */
#ifndef KERNEL_MEMOBJ_H
#define KERNEL_MEMOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kobject.h"
#include "memobj_radix.h"
#include "mm.h"
#include "spinlock.h"

struct mmu;
struct mmu_batch;
struct space_mapping;
struct memobj_waiter;

enum memobj_kind {
	MEMOBJ_ANONYMOUS = 0,
	MEMOBJ_CONTIGUOUS = 1,
	MEMOBJ_PHYSICAL = 2, /* device memory: mapped, never touched by the kernel */
};

/* Largest contiguous object: one block of the largest buddy order. */
#define MEMOBJ_CONTIGUOUS_MAX (PAGE_SIZE << 10)

struct memobj {
	struct kobject obj; /* first: type KESTREL_OBJ_MEMORY */
	struct spinlock lock; /* LOCK_ORDER_MEMORY */
	uint64_t size;        /* bytes, a multiple of the page size; fixed */
	uint32_t kind;        /* enum memobj_kind; fixed */
	/* Anonymous: page index -> entry (physical page | MEMOBJ_ENTRY_*). */
	struct memobj_radix pages;
	uint64_t resident;    /* entries present in `pages` */
	/* Contiguous: the block, allocated at creation. */
	paddr_t contig_base;
	unsigned contig_order;
	/* Physical: the range [phys_base, phys_base+size) and its MMU_CACHE_*
	 * mode. Not pages of any allocator: nothing to free. */
	paddr_t phys_base;
	uint32_t phys_cache;
	/* Mappings of this object (space_mapping.obj_next), under lock. */
	struct space_mapping *mappings;
	/* Views being made whose write protection of this object's mappings
	 * is not yet invalidated everywhere; copying a shared page waits for
	 * 0 (threads in `waiters`). Under lock. */
	uint32_t wp_inflight;
	struct memobj_waiter *waiters;
};

/* Entry flags in the page index (low bits of a page address). */
#define MEMOBJ_ENTRY_COW 0x1ull /* shared with other objects: map read-only */
#define MEMOBJ_ENTRY_PIN 0x2ull /* pinned: never shared, never replaced */
#define MEMOBJ_ENTRY_FLAGS 0xfffull

/* Zero-filled on demand; size is rounded up to pages. NULL if out of
 * memory, size is 0 or above KESTREL_MEMORY_MAX. One reference. */
struct memobj *memobj_create_anonymous(uint64_t size);
/* Pages allocated now (zeroed), physically contiguous, the block ending at
 * or below `limit` (0: anywhere). size is rounded up to pages (the block to
 * a power of two of pages); at most MEMOBJ_CONTIGUOUS_MAX. NULL if out of
 * memory or the size is 0 or too big. */
struct memobj *memobj_create_contiguous(uint64_t size, paddr_t limit);
/* Device memory at [base, base+size) (page-aligned; the caller has
 * checked it is no RAM), mapped with an MMU_CACHE_* mode. The kernel
 * never reads or writes it: memobj_read/write fail with -KE_INVALID,
 * memobj_pin_page gives 0, memobj_create_cow NULL. */
struct memobj *memobj_create_physical(paddr_t base, uint64_t size, uint32_t cache);
/* A copy-on-write snapshot of [offset, offset+size) of src (offset
 * page-aligned, size rounded up to pages, inside src): later writes on
 * either side are not seen by the other. Pages src lacks are zero in the
 * view; pinned and contiguous pages are copied at once, the others shared.
 * Takes src's write access away from its existing mappings. NULL if out of
 * memory or the range is invalid. Interrupts enabled, no spinlock held. */
struct memobj *memobj_create_cow(struct memobj *src, uint64_t offset, uint64_t size);

uint64_t memobj_size(const struct memobj *m);
/* Physical address of a contiguous object's first page; 0 for others. */
paddr_t memobj_physical(const struct memobj *m);
/* Pages currently allocated to the object (for tests and statistics). */
uint64_t memobj_resident_pages(struct memobj *m);

/* Kernel access to the object's contents. [offset, offset+n) must lie in
 * the object (else -KE_INVALID). Writing allocates missing pages and makes
 * shared pages private (as a write fault would); reading a missing page
 * gives zeros. 0, -KE_INVALID or -KE_NO_MEMORY. Interrupts enabled, no
 * spinlock held. */
int memobj_write(struct memobj *m, uint64_t offset, const void *src, size_t n);
int memobj_read(struct memobj *m, uint64_t offset, void *dst, size_t n);

/* The physical page behind offset, allocated if needed and made private,
 * which then stays the object's page (never shared or replaced) until the
 * object dies: the caller may use it through the direct map for as long
 * as it holds a reference. 0 if out of memory or offset is outside the
 * object. Interrupts enabled, no spinlock held. */
paddr_t memobj_pin_page(struct memobj *m, uint64_t offset);

/* ---- For space.c ---- */

/* Add / remove a mapping in the object's list. Caller holds m->lock. */
void memobj_link_mapping(struct memobj *m, struct space_mapping *map);
void memobj_unlink_mapping(struct memobj *m, struct space_mapping *map);

/* memobj_fault() results besides 0 and -KE_NO_MEMORY. */
#define MEMOBJ_FAULT_RETRY 1 /* finish the batch (no lock held), then retry */
#define MEMOBJ_FAULT_WAIT 2  /* memobj_wait_idle() (no lock held), then retry */

/*
 * Resolve a fault on the page at `offset` for a mapping with protection
 * prot, mapping it at va in mmu: allocates a zero page if missing; a write
 * (write == true) on a shared page makes it private. Returns 0 when the
 * translation is in place; MEMOBJ_FAULT_RETRY when the page was replaced by
 * a private copy: the old page's translations went into b (which must be
 * finished) before the retry maps the new one; MEMOBJ_FAULT_WAIT when a
 * copy must wait for a view's write protection to be invalidated;
 * -KE_NO_MEMORY. Caller holds the space's lock (order 20), not m's, and
 * gives a batch with no owner and room for a page.
 */
int memobj_fault(struct memobj *m, uint64_t offset, bool write, uint32_t prot,
		 struct mmu *mmu, uint64_t va, struct mmu_batch *b);
/* Sleep until no view of m is being made (wp_inflight == 0). No lock
 * held; the caller holds a reference to m. */
void memobj_wait_idle(struct memobj *m);

#endif
