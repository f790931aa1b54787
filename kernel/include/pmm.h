/*
 * The physical page allocator: a buddy allocator over the RAM that the boot
 * memory map lists, including memory above 4 GiB.
 *
 * Memory is handed out in naturally aligned blocks of 2^order pages,
 * order 0 .. PMM_MAX_ORDER. Physical address 0 is never a valid block, so
 * 0 means "no memory". Allocations without a limit come from the highest
 * memory first, which keeps low memory for the devices and start-up code
 * that need it (pmm_alloc_pages_below).
 *
 * A block must be freed with the order it was allocated with; freeing a
 * block that is not allocated (double free, wrong order, an address the
 * allocator does not manage) is a kernel bug and panics.
 *
 * All calls may be made from any CPU and from interrupt handlers (one
 * spinlock, LOCK_ORDER_PMM). Free pages are not zeroed.
 */
#ifndef KERNEL_PMM_H
#define KERNEL_PMM_H

#include <stdbool.h>
#include <stdint.h>

#include "mm.h"

#define PMM_MAX_ORDER 10 /* blocks of up to 1024 pages (4 MiB) */

struct kestrel_bootinfo;

/* Take every USABLE range of the boot memory map. Ranges of type
 * BOOTLOADER are known to the allocator but stay allocated until
 * pmm_add_free_range() releases them. Uses the prekernel's direct map. */
void pmm_init(const struct kestrel_bootinfo *bi);

/* Release memory the allocator knows but holds as allocated (the boot
 * loader's memory once the kernel is done with it). Pages outside every
 * range given at pmm_init are ignored with a warning. */
void pmm_add_free_range(paddr_t base, uint64_t length);

/* A block of 2^order pages anywhere, or 0 if none is free. */
paddr_t pmm_alloc_pages(unsigned order);
/* A block of 2^order pages that ends at or below `limit`, or 0. */
paddr_t pmm_alloc_pages_below(unsigned order, paddr_t limit);
/* Return a block to the allocator (its base and its allocation order). */
void pmm_free_pages(paddr_t base, unsigned order);

static inline paddr_t pmm_alloc_page(void)
{
	return pmm_alloc_pages(0);
}
static inline void pmm_free_page(paddr_t page)
{
	pmm_free_pages(page, 0);
}

/*
 * Sharing single pages (copy-on-write): a page from pmm_alloc_page() has
 * one owner. pmm_page_share() adds an owner; pmm_page_release() drops one
 * and frees the page when it was the last. pmm_page_owners() tells how
 * many there are (1 for a page that is not shared). Only for order-0
 * blocks; the caller holds whatever lock orders its own use of the page.
 */
void pmm_page_share(paddr_t page);
/* Returns true if the page was freed (the caller was the last owner). */
bool pmm_page_release(paddr_t page);
uint32_t pmm_page_owners(paddr_t page);

struct pmm_stats {
	uint64_t total_pages; /* managed by the allocator */
	uint64_t free_pages;
	uint64_t free_blocks[PMM_MAX_ORDER + 1]; /* free blocks of each order */
	uint64_t allocations;                    /* successful allocation calls */
	uint64_t failures;                       /* allocation calls that found nothing */
	uint32_t zones;
};
void pmm_get_stats(struct pmm_stats *out);

#endif
