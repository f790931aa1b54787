/*
 * The physical page allocator (see pmm.h): a binary buddy allocator.
 *
 * Memory is split into zones: one per USABLE or BOOTLOADER range of the
 * boot memory map, further cut at 1 MiB and 4 GiB so that "below a limit"
 * requests for start-up code and 32-bit DMA usually take whole zones. Each
 * zone has one state byte per page and a free list per order:
 *
 *   PAGE_FREE | order    first page of a free block of 2^order pages
 *   PAGE_ALLOC | order   first page of an allocated block
 *   PAGE_RESERVED        not yet released (boot-loader memory)
 *   PAGE_PINNED          never released (the state arrays themselves)
 *   0                    any other page of a block
 *
 * Blocks are naturally aligned in physical page numbers, so the buddy of
 * block `pfn` of order k is `pfn ^ 2^k`, and a block and its buddy merge
 * when both are free heads of the same order inside the same zone. The free
 * lists are doubly linked through the free pages themselves (via the direct
 * map), so the only metadata is the state byte: 1 byte per 4 KiB page.
 *
 * Copy-on-write sharing needs an owner count per page: a second array of
 * 32-bit counts of *extra* owners (0 for a page with one owner), so the
 * common unshared page costs nothing to allocate or free.
 *
 * The state byte lets free() check its argument: a block is returned only
 * if its first page says "allocated with this order". Anything else is a
 * kernel bug (double free, wrong order, a foreign address) and panics.
 *
 * Lock: pmm_lock (LOCK_ORDER_PMM) guards every zone; callers may hold
 * locks of lower order (vm, slab).
 */
#include "pmm.h"

#include <kestrel/bootinfo.h>
#include <stdbool.h>

#include "kstring.h"
#include "log.h"
#include "panic.h"
#include "spinlock.h"

#define PAGE_FREE 0x80
#define PAGE_ALLOC 0x40
#define PAGE_RESERVED 0x20
#define PAGE_PINNED 0x10
#define PAGE_ORDER_MASK 0x0f

#define PMM_MAX_ZONES 256
#define PFN_1M (0x100000ull >> PAGE_SHIFT)
#define PFN_4G (0x100000000ull >> PAGE_SHIFT)

struct free_block {
	struct free_block *next, *prev;
};

struct pmm_zone {
	uint64_t base_pfn;
	uint64_t pages;
	uint8_t *state; /* pages bytes, in the direct map */
	uint32_t *extra_owners; /* pages counts, in the direct map */
	struct free_block *free[PMM_MAX_ORDER + 1];
	uint64_t free_count[PMM_MAX_ORDER + 1];
};

static struct spinlock pmm_lock = SPINLOCK_INIT("pmm", LOCK_ORDER_PMM);
static struct pmm_zone zones[PMM_MAX_ZONES];
static uint32_t zone_count;
static uint64_t total_pages, free_pages, alloc_calls, alloc_failures;

static uint64_t zone_end(const struct pmm_zone *z)
{
	return z->base_pfn + z->pages;
}

static struct free_block *block_at(uint64_t pfn)
{
	return phys_to_virt(pfn << PAGE_SHIFT);
}

static uint64_t block_pfn(const struct free_block *b)
{
	return virt_to_phys(b) >> PAGE_SHIFT;
}

static void list_push(struct pmm_zone *z, uint64_t pfn, unsigned order)
{
	struct free_block *b = block_at(pfn);
	b->prev = 0;
	b->next = z->free[order];
	if (b->next)
		b->next->prev = b;
	z->free[order] = b;
	z->free_count[order]++;
	z->state[pfn - z->base_pfn] = (uint8_t)(PAGE_FREE | order);
}

static void list_remove(struct pmm_zone *z, uint64_t pfn, unsigned order)
{
	struct free_block *b = block_at(pfn);
	if (b->prev)
		b->prev->next = b->next;
	else
		z->free[order] = b->next;
	if (b->next)
		b->next->prev = b->prev;
	z->free_count[order]--;
	z->state[pfn - z->base_pfn] = 0;
}

/* Put a block on the free lists, merging it with its free buddies. The
 * block's pages are counted as free by the caller. Lock held. */
static void zone_free_block(struct pmm_zone *z, uint64_t pfn, unsigned order)
{
	while (order < PMM_MAX_ORDER) {
		uint64_t buddy = pfn ^ (1ull << order);
		if (buddy < z->base_pfn || buddy + (1ull << order) > zone_end(z))
			break;
		if (z->state[buddy - z->base_pfn] != (PAGE_FREE | order))
			break;
		list_remove(z, buddy, order);
		z->state[pfn - z->base_pfn] = 0;
		if (buddy < pfn)
			pfn = buddy;
		order++;
	}
	list_push(z, pfn, order);
}

/* Free the pages [pfn, end) of a zone as the largest aligned blocks that
 * fit. Each page's state must already be 0 or the caller's marker; the
 * pages become free. Lock held (or not yet shared, at init). */
static void zone_free_run(struct pmm_zone *z, uint64_t pfn, uint64_t end)
{
	while (pfn < end) {
		unsigned order = 0;
		while (order < PMM_MAX_ORDER && (pfn & ((2ull << order) - 1)) == 0 &&
		       pfn + (2ull << order) <= end)
			order++;
		memset(&z->state[pfn - z->base_pfn], 0, 1ull << order);
		zone_free_block(z, pfn, order);
		free_pages += 1ull << order;
		pfn += 1ull << order;
	}
}

/* Take a block of `order` from `z`, from a free block of order `from`
 * starting at `pfn` (already off its list), returning the upper halves of
 * the split to the free lists. */
static uint64_t zone_take(struct pmm_zone *z, uint64_t pfn, unsigned from, unsigned order)
{
	while (from > order) {
		from--;
		list_push(z, pfn + (1ull << from), from);
	}
	z->state[pfn - z->base_pfn] = (uint8_t)(PAGE_ALLOC | order);
	free_pages -= 1ull << order;
	return pfn;
}

/* A block of `order` whose pages all lie below page `limit_pfn`, or 0. */
static uint64_t zone_alloc(struct pmm_zone *z, unsigned order, uint64_t limit_pfn)
{
	bool whole_zone = zone_end(z) <= limit_pfn;
	for (unsigned k = order; k <= PMM_MAX_ORDER; k++) {
		if (whole_zone) {
			struct free_block *b = z->free[k];
			if (!b)
				continue;
			uint64_t pfn = block_pfn(b);
			list_remove(z, pfn, k);
			return zone_take(z, pfn, k, order);
		}
		/* The limit cuts the zone: look for a block whose low part fits.
		 * Rare (start-up pages, DMA below a limit), so a list walk. */
		for (struct free_block *b = z->free[k]; b; b = b->next) {
			uint64_t pfn = block_pfn(b);
			if (pfn + (1ull << order) <= limit_pfn) {
				list_remove(z, pfn, k);
				return zone_take(z, pfn, k, order);
			}
		}
	}
	return 0;
}

static paddr_t alloc_below(unsigned order, uint64_t limit_pfn)
{
	if (order > PMM_MAX_ORDER)
		return 0;
	spin_lock(&pmm_lock);
	uint64_t pfn = 0;
	/* Highest zones first: low memory is kept for those who need it. */
	for (uint32_t i = zone_count; i-- > 0 && !pfn;)
		if (zones[i].base_pfn < limit_pfn)
			pfn = zone_alloc(&zones[i], order, limit_pfn);
	if (pfn)
		alloc_calls++;
	else
		alloc_failures++;
	spin_unlock(&pmm_lock);
	return pfn << PAGE_SHIFT;
}

paddr_t pmm_alloc_pages(unsigned order)
{
	return alloc_below(order, UINT64_MAX);
}

paddr_t pmm_alloc_pages_below(unsigned order, paddr_t limit)
{
	return alloc_below(order, limit >> PAGE_SHIFT);
}

/* The zone holding page `pfn`, or NULL. Zones are sorted by address. */
static struct pmm_zone *zone_of(uint64_t pfn)
{
	uint32_t lo = 0, hi = zone_count;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (pfn < zones[mid].base_pfn)
			hi = mid;
		else if (pfn >= zone_end(&zones[mid]))
			lo = mid + 1;
		else
			return &zones[mid];
	}
	return 0;
}

void pmm_free_pages(paddr_t base, unsigned order)
{
	uint64_t pfn = base >> PAGE_SHIFT;
	spin_lock(&pmm_lock);
	struct pmm_zone *z = zone_of(pfn);
	if (!z || (base & (PAGE_SIZE - 1)) || order > PMM_MAX_ORDER ||
	    z->state[pfn - z->base_pfn] != (PAGE_ALLOC | order) ||
	    z->extra_owners[pfn - z->base_pfn]) {
		uint8_t st = z ? z->state[pfn - z->base_pfn] : 0;
		spin_unlock(&pmm_lock);
		panic("pmm: free of %llx order %u, which is not an allocated block (state %#x)",
		      (unsigned long long)base, order, st);
	}
	z->state[pfn - z->base_pfn] = 0;
	zone_free_block(z, pfn, order);
	free_pages += 1ull << order;
	spin_unlock(&pmm_lock);
}

/* The first page at or after `pfn` that some zone holds (UINT64_MAX if
 * none). */
static uint64_t next_zone_page(uint64_t pfn)
{
	for (uint32_t i = 0; i < zone_count; i++)
		if (zone_end(&zones[i]) > pfn)
			return zones[i].base_pfn > pfn ? zones[i].base_pfn : pfn;
	return UINT64_MAX;
}

/* Free every reserved page in [pfn, end); returns how many pages of the
 * range were not reserved memory of a zone. Lock held. */
static uint64_t release_reserved(uint64_t pfn, uint64_t end)
{
	uint64_t skipped = 0;
	while (pfn < end) {
		struct pmm_zone *z = zone_of(pfn);
		if (!z) {
			uint64_t next = next_zone_page(pfn);
			next = next < end ? next : end;
			skipped += next - pfn;
			pfn = next;
			continue;
		}
		if (z->state[pfn - z->base_pfn] != PAGE_RESERVED) {
			skipped++;
			pfn++;
			continue;
		}
		/* A run of reserved pages inside this zone. */
		uint64_t run_end = pfn;
		uint64_t stop = end < zone_end(z) ? end : zone_end(z);
		while (run_end < stop && z->state[run_end - z->base_pfn] == PAGE_RESERVED)
			run_end++;
		zone_free_run(z, pfn, run_end);
		total_pages += run_end - pfn;
		pfn = run_end;
	}
	return skipped;
}

void pmm_add_free_range(paddr_t base, uint64_t length)
{
	if (base + length < base)
		length = UINT64_MAX - base;
	uint64_t pfn = PAGE_ALIGN_UP(base) >> PAGE_SHIFT;
	uint64_t end = PAGE_ALIGN_DOWN(base + length) >> PAGE_SHIFT;
	spin_lock(&pmm_lock);
	uint64_t skipped = pfn < end ? release_reserved(pfn, end) : 0;
	spin_unlock(&pmm_lock);
	if (skipped)
		log_warn("pmm: %llu pages of [%llx, %llx) are not reserved memory; ignored",
			 (unsigned long long)skipped, (unsigned long long)base,
			 (unsigned long long)(base + length));
}

/* Add [pfn, end) as zones, cut at 1 MiB and 4 GiB. */
static void add_zones(uint64_t pfn, uint64_t end)
{
	static const uint64_t cuts[] = {PFN_1M, PFN_4G};
	if (pfn == 0)
		pfn = 1; /* page 0 is "no page" */
	while (pfn < end) {
		uint64_t stop = end;
		for (unsigned i = 0; i < 2; i++)
			if (pfn < cuts[i] && cuts[i] < stop)
				stop = cuts[i];
		if (zone_count == PMM_MAX_ZONES) {
			log_warn("pmm: more than %u memory zones; ignoring memory from %llx",
				 PMM_MAX_ZONES, (unsigned long long)(pfn << PAGE_SHIFT));
			return;
		}
		zones[zone_count++] = (struct pmm_zone){.base_pfn = pfn, .pages = stop - pfn};
		pfn = stop;
	}
}

static bool range_is_ram(uint32_t type)
{
	return type == KESTREL_MEM_USABLE || type == KESTREL_MEM_BOOTLOADER;
}

/* Where the state arrays go: the highest end of a usable range that is
 * large enough (taking from the top keeps low memory free). */
static bool find_metadata_space(const struct kestrel_bootinfo *bi, uint64_t pages,
				uint64_t *out_pfn)
{
	for (uint32_t i = bi->mem_range_count; i-- > 0;) {
		const struct kestrel_mem_range *r = &bi->mem_ranges[i];
		if (r->type != KESTREL_MEM_USABLE)
			continue;
		uint64_t lo = PAGE_ALIGN_UP(r->base) >> PAGE_SHIFT;
		uint64_t hi = PAGE_ALIGN_DOWN(r->base + r->length) >> PAGE_SHIFT;
		if (lo < PFN_1M)
			lo = PFN_1M;
		if (hi > lo && hi - lo >= pages) {
			*out_pfn = hi - pages;
			return true;
		}
	}
	return false;
}

void pmm_init(const struct kestrel_bootinfo *bi)
{
	zone_count = 0;
	total_pages = free_pages = alloc_calls = alloc_failures = 0;
	for (uint32_t i = 0; i < bi->mem_range_count; i++) {
		const struct kestrel_mem_range *r = &bi->mem_ranges[i];
		if (!range_is_ram(r->type) || r->base + r->length < r->base)
			continue;
		uint64_t pfn = PAGE_ALIGN_UP(r->base) >> PAGE_SHIFT;
		uint64_t end = PAGE_ALIGN_DOWN(r->base + r->length) >> PAGE_SHIFT;
		if (zone_count && pfn < zone_end(&zones[zone_count - 1]))
			panic("pmm: the boot memory map is not sorted or overlaps at %llx",
			      (unsigned long long)r->base);
		add_zones(pfn, end);
	}
	if (!zone_count)
		panic("pmm: the boot memory map lists no usable memory");

	uint64_t state_bytes = 0;
	for (uint32_t i = 0; i < zone_count; i++)
		state_bytes += zones[i].pages * (1 + sizeof(uint32_t));
	uint64_t meta_pages = PAGE_ALIGN_UP(state_bytes) >> PAGE_SHIFT;
	uint64_t meta_pfn;
	if (!find_metadata_space(bi, meta_pages, &meta_pfn))
		panic("pmm: no room for %llu pages of allocator state",
		      (unsigned long long)meta_pages);

	uint8_t *meta = phys_to_virt(meta_pfn << PAGE_SHIFT);
	for (uint32_t i = 0; i < zone_count; i++) {
		zones[i].extra_owners = (uint32_t *)meta;
		memset(meta, 0, zones[i].pages * sizeof(uint32_t));
		meta += zones[i].pages * sizeof(uint32_t);
	}
	for (uint32_t i = 0; i < zone_count; i++) {
		zones[i].state = meta;
		memset(meta, PAGE_RESERVED, zones[i].pages);
		meta += zones[i].pages;
	}
	for (uint64_t p = meta_pfn; p < meta_pfn + meta_pages; p++) {
		struct pmm_zone *z = zone_of(p);
		if (z)
			z->state[p - z->base_pfn] = PAGE_PINNED;
	}

	/* Release the usable ranges; boot-loader memory waits for
	 * pmm_add_free_range(). */
	for (uint32_t i = 0; i < bi->mem_range_count; i++) {
		const struct kestrel_mem_range *r = &bi->mem_ranges[i];
		if (r->type == KESTREL_MEM_USABLE && r->base + r->length > r->base)
			release_reserved(PAGE_ALIGN_UP(r->base) >> PAGE_SHIFT,
					 PAGE_ALIGN_DOWN(r->base + r->length) >> PAGE_SHIFT);
	}
	log_info("pmm: %llu MiB in %u zones, %llu KiB of allocator state",
		 (unsigned long long)(total_pages >> (20 - PAGE_SHIFT)), zone_count,
		 (unsigned long long)(meta_pages * 4));
}

/* The zone of an allocated order-0 page (panics on anything else). Lock
 * held. */
static struct pmm_zone *zone_of_single_page(paddr_t page, const char *what)
{
	uint64_t pfn = page >> PAGE_SHIFT;
	struct pmm_zone *z = zone_of(pfn);
	if (!z || (page & (PAGE_SIZE - 1)) || z->state[pfn - z->base_pfn] != PAGE_ALLOC) {
		spin_unlock(&pmm_lock);
		panic("pmm: %s of %llx, which is not an allocated page", what,
		      (unsigned long long)page);
	}
	return z;
}

void pmm_page_share(paddr_t page)
{
	spin_lock(&pmm_lock);
	struct pmm_zone *z = zone_of_single_page(page, "share");
	uint32_t *n = &z->extra_owners[(page >> PAGE_SHIFT) - z->base_pfn];
	if (*n == UINT32_MAX - 1) {
		spin_unlock(&pmm_lock);
		panic("pmm: page %llx shared too often", (unsigned long long)page);
	}
	(*n)++;
	spin_unlock(&pmm_lock);
}

bool pmm_page_release(paddr_t page)
{
	uint64_t pfn = page >> PAGE_SHIFT;
	spin_lock(&pmm_lock);
	struct pmm_zone *z = zone_of_single_page(page, "release");
	uint32_t *n = &z->extra_owners[pfn - z->base_pfn];
	if (*n) {
		(*n)--;
		spin_unlock(&pmm_lock);
		return false;
	}
	z->state[pfn - z->base_pfn] = 0;
	zone_free_block(z, pfn, 0);
	free_pages++;
	spin_unlock(&pmm_lock);
	return true;
}

uint32_t pmm_page_owners(paddr_t page)
{
	spin_lock(&pmm_lock);
	struct pmm_zone *z = zone_of_single_page(page, "owner count");
	uint32_t n = z->extra_owners[(page >> PAGE_SHIFT) - z->base_pfn] + 1;
	spin_unlock(&pmm_lock);
	return n;
}

void pmm_get_stats(struct pmm_stats *out)
{
	memset(out, 0, sizeof(*out));
	spin_lock(&pmm_lock);
	out->total_pages = total_pages;
	out->free_pages = free_pages;
	out->allocations = alloc_calls;
	out->failures = alloc_failures;
	out->zones = zone_count;
	for (uint32_t i = 0; i < zone_count; i++)
		for (unsigned k = 0; k <= PMM_MAX_ORDER; k++)
			out->free_blocks[k] += zones[i].free_count[k];
	spin_unlock(&pmm_lock);
}
