/*
 * Memory objects (see memobj.h and docs/kernel/address-spaces.md).
 *
 * An anonymous object keeps its pages in a radix tree (memobj_radix.h)
 * from page index to an entry: the physical page's address with flag bits
 * in the low 12 bits. A missing entry reads as zeros; the first write or
 * fault allocates a zeroed page. A contiguous object has one buddy block
 * instead and no tree.
 *
 * Copy-on-write: memobj_create_cow() gives the view every page present in
 * the source range, adding an owner to each (pmm_page_share) and setting
 * MEMOBJ_ENTRY_COW in both entries; it write-protects the source's
 * existing mappings. The view does not point at its source: two objects
 * sharing a page only share the page's owner count, so either may die
 * first and a view of a view is no different from a view. A write (fault,
 * memobj_write, pin) on a COW entry either finds itself the last owner
 * (pmm_page_owners == 1) and just clears the bit, or copies the page,
 * installs the copy and drops its ownership of the old page.
 *
 * Invariants (under m->lock):
 * - every user translation of a page of m (through a mapping on
 *   m->mappings) points at the page m's entry holds now; a translation is
 *   writable only if the entry is not COW and the mapping allows writes.
 *   So replacing an entry's page removes the translations of that offset
 *   from every mapping, and the old page is released only after the
 *   batch's TLB invalidation (memobj_make_private);
 * - a PIN entry is never COW and never replaced: views copy it instead of
 *   sharing it;
 * - pages are freed with pmm_page_release (they may be shared); a
 *   contiguous block is freed whole.
 *
 * Stale translations: the page tables are changed under the locks, the
 * TLBs are invalidated after (mmu_batch_finish, no lock held). So for a
 * while a CPU may still write through a translation the tables no longer
 * show. Two rules keep that harmless:
 * - a view in the making counts itself in its source's wp_inflight until
 *   its write protection is invalidated; copying a shared page of that
 *   source (which must not miss a late write through an old writable
 *   translation) waits for 0 instead. Clearing the COW bit of a page whose
 *   last owner we are needs no wait: late writes land in our page anyway;
 * - walks that find another view of the same source (or a space's own
 *   unmap/protect, see mmu.h) in flight invalidate their whole range.
 *
 * Lock order: space (20) -> memory object (30) -> page tables (35) ->
 * slab / pmm. Only one object lock is held at a time (a new view is
 * private to its creator until returned, so it needs none).
 */
#include "memobj.h"

#include <kestrel/error.h>
#include <kestrel/memory.h>

#include "kstring.h"
#include "mmu.h"
#include "panic.h"
#include "pmm.h"
#include "sched.h"
#include "slab.h"
#include "space.h"

#define ENTRY_PAGE(e) ((paddr_t)((e) & ~MEMOBJ_ENTRY_FLAGS))

/* A thread sleeping in memobj_wait_idle(), on its own stack. */
struct memobj_waiter {
	struct thread *thread;
	struct memobj_waiter *next;
	bool woken; /* atomic */
};

static void memobj_release_entry(uint64_t e, void *ctx)
{
	(void)ctx;
	pmm_page_release(ENTRY_PAGE(e));
}

static void memobj_destroy(struct kobject *o)
{
	struct memobj *m = (struct memobj *)o;
	KASSERT(!m->mappings && !m->wp_inflight && !m->waiters);
	if (m->kind == MEMOBJ_CONTIGUOUS)
		pmm_free_pages(m->contig_base, m->contig_order);
	else if (m->kind == MEMOBJ_ANONYMOUS)
		memobj_radix_destroy(&m->pages, memobj_release_entry, 0);
	kfree(m);
}

static struct memobj *memobj_alloc(uint64_t size, uint32_t kind)
{
	struct memobj *m = kzalloc(sizeof(*m));
	if (!m)
		return 0;
	spin_init(&m->lock, "memory object", LOCK_ORDER_MEMORY);
	m->size = size;
	m->kind = kind;
	memobj_radix_init(&m->pages, size >> PAGE_SHIFT);
	kobject_init(&m->obj, KESTREL_OBJ_MEMORY, memobj_destroy);
	return m;
}

struct memobj *memobj_create_anonymous(uint64_t size)
{
	if (size == 0 || size > KESTREL_MEMORY_MAX)
		return 0;
	return memobj_alloc(PAGE_ALIGN_UP(size), MEMOBJ_ANONYMOUS);
}

struct memobj *memobj_create_contiguous(uint64_t size, paddr_t limit)
{
	if (size == 0 || size > MEMOBJ_CONTIGUOUS_MAX)
		return 0;
	size = PAGE_ALIGN_UP(size);
	unsigned order = 0;
	while ((PAGE_SIZE << order) < size)
		order++;
	paddr_t p = limit ? pmm_alloc_pages_below(order, limit) : pmm_alloc_pages(order);
	if (!p)
		return 0;
	memset(phys_to_virt(p), 0, PAGE_SIZE << order);
	struct memobj *m = memobj_alloc(size, MEMOBJ_CONTIGUOUS);
	if (!m) {
		pmm_free_pages(p, order);
		return 0;
	}
	m->contig_base = p;
	m->contig_order = order;
	return m;
}

struct memobj *memobj_create_physical(paddr_t base, uint64_t size, uint32_t cache)
{
	if (size == 0 || size > KESTREL_MEMORY_MAX || (base | size) & (PAGE_SIZE - 1))
		return 0;
	struct memobj *m = memobj_alloc(size, MEMOBJ_PHYSICAL);
	if (m) {
		m->phys_base = base;
		m->phys_cache = cache;
	}
	return m;
}

uint64_t memobj_size(const struct memobj *m)
{
	return m->size;
}

paddr_t memobj_physical(const struct memobj *m)
{
	return m->kind == MEMOBJ_CONTIGUOUS ? m->contig_base : 0;
}

uint64_t memobj_resident_pages(struct memobj *m)
{
	if (m->kind == MEMOBJ_CONTIGUOUS)
		return 1ull << m->contig_order;
	if (m->kind == MEMOBJ_PHYSICAL)
		return 0;
	spin_lock(&m->lock);
	uint64_t n = m->resident;
	spin_unlock(&m->lock);
	return n;
}

void memobj_link_mapping(struct memobj *m, struct space_mapping *map)
{
	KASSERT(spin_held(&m->lock) && map->obj == m);
	map->obj_prev = 0;
	map->obj_next = m->mappings;
	if (m->mappings)
		m->mappings->obj_prev = map;
	m->mappings = map;
}

void memobj_unlink_mapping(struct memobj *m, struct space_mapping *map)
{
	KASSERT(spin_held(&m->lock) && map->obj == m);
	if (map->obj_prev)
		map->obj_prev->obj_next = map->obj_next;
	else
		m->mappings = map->obj_next;
	if (map->obj_next)
		map->obj_next->obj_prev = map->obj_prev;
	map->obj_prev = map->obj_next = 0;
}

/* Remove the translations of the page at `offset` from every mapping of
 * m that shows it. Caller holds m->lock. */
static void memobj_zap_page_locked(struct memobj *m, uint64_t offset, struct mmu_batch *b)
{
	for (struct space_mapping *map = m->mappings; map; map = map->obj_next) {
		if (offset < map->offset)
			continue;
		uint64_t rel = offset - map->offset;
		if (rel >= map->range.end - map->range.start)
			continue;
		uint64_t va = map->range.start + rel;
		mmu_unmap_range(map->mmu, va, va + PAGE_SIZE, b, false);
	}
}

/* The entry slot of page `index`, with a zeroed page allocated if there
 * was none. NULL if out of memory. Caller holds m->lock. */
static uint64_t *memobj_page_locked(struct memobj *m, uint64_t index)
{
	uint64_t *slot = memobj_radix_slot(&m->pages, index, true);
	if (!slot)
		return 0;
	if (!*slot) {
		paddr_t p = pmm_alloc_page();
		if (!p)
			return 0;
		memset(phys_to_virt(p), 0, PAGE_SIZE);
		*slot = p;
		m->resident++;
	}
	return slot;
}

/* Make the present entry *slot (page `index`) private, so it may be
 * written. 0: it is (possibly by clearing the COW bit in place).
 * MEMOBJ_FAULT_RETRY: the page was copied; the translations of the old one
 * went into b and the old page is queued in b for release.
 * MEMOBJ_FAULT_WAIT: nothing done, a view of m is in flight (see the top).
 * -KE_NO_MEMORY. Caller holds m->lock and b has room for one page. */
static int memobj_make_private(struct memobj *m, uint64_t index, uint64_t *slot,
			       struct mmu_batch *b)
{
	uint64_t e = *slot;
	if (!(e & MEMOBJ_ENTRY_COW))
		return 0;
	paddr_t old = ENTRY_PAGE(e);
	uint64_t flags = (e & MEMOBJ_ENTRY_FLAGS) & ~MEMOBJ_ENTRY_COW;
	/* Only objects holding the page can add owners, and only under their
	 * own lock: an owner count of 1 (ours) cannot grow behind our back. */
	if (pmm_page_owners(old) == 1) {
		*slot = old | flags;
		return 0;
	}
	if (m->wp_inflight)
		return MEMOBJ_FAULT_WAIT;
	paddr_t p = pmm_alloc_page();
	if (!p)
		return -KE_NO_MEMORY;
	memcpy(phys_to_virt(p), phys_to_virt(old), PAGE_SIZE);
	*slot = p | flags;
	memobj_zap_page_locked(m, index << PAGE_SHIFT, b);
	mmu_batch_release_page(b, old);
	return MEMOBJ_FAULT_RETRY;
}

void memobj_wait_idle(struct memobj *m)
{
	struct memobj_waiter w = {.thread = thread_current(), .next = 0, .woken = false};
	spin_lock(&m->lock);
	if (!m->wp_inflight) {
		spin_unlock(&m->lock);
		return;
	}
	w.next = m->waiters;
	m->waiters = &w;
	spin_unlock(&m->lock);
	while (!__atomic_load_n(&w.woken, __ATOMIC_ACQUIRE))
		thread_park();
}

/* A view's write protection is invalidated: wake the waiters when it was
 * the last in flight. */
static void memobj_wp_done(struct memobj *m)
{
	spin_lock(&m->lock);
	KASSERT(m->wp_inflight > 0);
	if (--m->wp_inflight == 0) {
		struct memobj_waiter *w = m->waiters;
		m->waiters = 0;
		while (w) {
			/* Once woken is set the waiter may return and its
			 * stack frame vanish: read it first. */
			struct memobj_waiter *next = w->next;
			struct thread *t = w->thread;
			__atomic_store_n(&w->woken, true, __ATOMIC_RELEASE);
			thread_unpark(t);
			w = next;
		}
	}
	spin_unlock(&m->lock);
}

int memobj_fault(struct memobj *m, uint64_t offset, bool write, uint32_t prot,
		 struct mmu *mmu, uint64_t va, struct mmu_batch *b)
{
	int rc;
	spin_lock(&m->lock);
	KASSERT(offset < m->size);
	if (m->kind == MEMOBJ_CONTIGUOUS) {
		rc = mmu_map_page(mmu, va, m->contig_base + PAGE_ALIGN_DOWN(offset), prot);
		spin_unlock(&m->lock);
		return rc;
	}
	if (m->kind == MEMOBJ_PHYSICAL) {
		rc = mmu_map_page_cache(mmu, va, m->phys_base + PAGE_ALIGN_DOWN(offset), prot,
					m->phys_cache);
		spin_unlock(&m->lock);
		return rc;
	}
	uint64_t index = offset >> PAGE_SHIFT;
	uint64_t *slot = memobj_page_locked(m, index);
	if (!slot) {
		spin_unlock(&m->lock);
		return -KE_NO_MEMORY;
	}
	if (write) {
		rc = memobj_make_private(m, index, slot, b);
		if (rc) {
			spin_unlock(&m->lock);
			return rc;
		}
	}
	uint64_t e = *slot;
	if (e & MEMOBJ_ENTRY_COW)
		prot &= ~KESTREL_MAP_WRITE;
	rc = mmu_map_page(mmu, va, ENTRY_PAGE(e), prot);
	spin_unlock(&m->lock);
	return rc;
}

static bool memobj_range_ok(const struct memobj *m, uint64_t offset, size_t n)
{
	return offset <= m->size && n <= m->size - offset;
}

int memobj_read(struct memobj *m, uint64_t offset, void *dst, size_t n)
{
	/* Device memory: reading it may have side effects; not for us. */
	if (!memobj_range_ok(m, offset, n) || m->kind == MEMOBJ_PHYSICAL)
		return -KE_INVALID;
	uint8_t *out = dst;
	while (n) {
		size_t in_page = PAGE_SIZE - (offset & (PAGE_SIZE - 1));
		size_t chunk = n < in_page ? n : in_page;
		spin_lock(&m->lock);
		if (m->kind == MEMOBJ_CONTIGUOUS) {
			memcpy(out, phys_to_virt(m->contig_base + offset), chunk);
		} else {
			uint64_t e = memobj_radix_get(&m->pages, offset >> PAGE_SHIFT);
			if (e)
				memcpy(out, (uint8_t *)phys_to_virt(ENTRY_PAGE(e)) +
						    (offset & (PAGE_SIZE - 1)),
				       chunk);
			else
				memset(out, 0, chunk);
		}
		spin_unlock(&m->lock);
		out += chunk;
		offset += chunk;
		n -= chunk;
	}
	return 0;
}

int memobj_write(struct memobj *m, uint64_t offset, const void *src, size_t n)
{
	if (!memobj_range_ok(m, offset, n) || m->kind == MEMOBJ_PHYSICAL)
		return -KE_INVALID;
	const uint8_t *in = src;
	while (n) {
		size_t in_page = PAGE_SIZE - (offset & (PAGE_SIZE - 1));
		size_t chunk = n < in_page ? n : in_page;
		struct mmu_batch b;
		mmu_batch_init(&b, 0);
		spin_lock(&m->lock);
		paddr_t page;
		if (m->kind == MEMOBJ_CONTIGUOUS) {
			page = m->contig_base + PAGE_ALIGN_DOWN(offset);
		} else {
			uint64_t index = offset >> PAGE_SHIFT;
			uint64_t *slot = memobj_page_locked(m, index);
			int rc = slot ? memobj_make_private(m, index, slot, &b) : -KE_NO_MEMORY;
			if (rc < 0 || rc == MEMOBJ_FAULT_WAIT) {
				spin_unlock(&m->lock);
				mmu_batch_finish(&b);
				if (rc < 0)
					return rc;
				memobj_wait_idle(m);
				continue;
			}
			page = ENTRY_PAGE(*slot);
		}
		memcpy((uint8_t *)phys_to_virt(page) + (offset & (PAGE_SIZE - 1)), in, chunk);
		spin_unlock(&m->lock);
		mmu_batch_finish(&b);
		in += chunk;
		offset += chunk;
		n -= chunk;
	}
	return 0;
}

paddr_t memobj_pin_page(struct memobj *m, uint64_t offset)
{
	if (offset >= m->size || m->kind == MEMOBJ_PHYSICAL)
		return 0;
	if (m->kind == MEMOBJ_CONTIGUOUS)
		return m->contig_base + PAGE_ALIGN_DOWN(offset);
	uint64_t index = offset >> PAGE_SHIFT;
	for (;;) {
		struct mmu_batch b;
		mmu_batch_init(&b, 0);
		paddr_t page = 0;
		spin_lock(&m->lock);
		uint64_t *slot = memobj_page_locked(m, index);
		int rc = slot ? memobj_make_private(m, index, slot, &b) : -KE_NO_MEMORY;
		if (rc == 0 || rc == MEMOBJ_FAULT_RETRY) {
			*slot |= MEMOBJ_ENTRY_PIN;
			page = ENTRY_PAGE(*slot);
		}
		spin_unlock(&m->lock);
		mmu_batch_finish(&b);
		if (rc != MEMOBJ_FAULT_WAIT)
			return page;
		memobj_wait_idle(m);
	}
}

/* A view of a contiguous object: private copies of every page (at most
 * MEMOBJ_CONTIGUOUS_MAX). */
static bool memobj_copy_contiguous(struct memobj *view, const struct memobj *src,
				   uint64_t offset)
{
	for (uint64_t i = 0; i < view->size >> PAGE_SHIFT; i++) {
		uint64_t *slot = memobj_radix_slot(&view->pages, i, true);
		paddr_t p = slot ? pmm_alloc_page() : 0;
		if (!p)
			return false;
		memcpy(phys_to_virt(p), phys_to_virt(src->contig_base + offset + (i << PAGE_SHIFT)),
		       PAGE_SIZE);
		*slot = p;
		view->resident++;
	}
	return true;
}

/* Give the view the source's pages of [first, end) (page indexes of src).
 * Caller holds src->lock; the view is private. false if out of memory. */
static bool memobj_share_range_locked(struct memobj *view, struct memobj *src,
				      uint64_t first, uint64_t end)
{
	uint64_t index = first, e;
	while (memobj_radix_next(&src->pages, &index, end, &e)) {
		uint64_t *vslot = memobj_radix_slot(&view->pages, index - first, true);
		if (!vslot)
			return false;
		paddr_t page = ENTRY_PAGE(e);
		if (e & MEMOBJ_ENTRY_PIN) {
			paddr_t p = pmm_alloc_page();
			if (!p)
				return false;
			memcpy(phys_to_virt(p), phys_to_virt(page), PAGE_SIZE);
			*vslot = p;
		} else {
			pmm_page_share(page);
			*vslot = page | MEMOBJ_ENTRY_COW;
			*memobj_radix_slot(&src->pages, index, false) = e | MEMOBJ_ENTRY_COW;
		}
		view->resident++;
		index++;
	}
	return true;
}

struct memobj *memobj_create_cow(struct memobj *src, uint64_t offset, uint64_t size)
{
	if (size == 0 || (offset & (PAGE_SIZE - 1)) || offset > src->size ||
	    size > src->size - offset || src->kind == MEMOBJ_PHYSICAL)
		return 0;
	size = PAGE_ALIGN_UP(size); /* still inside: src->size is page-aligned */
	struct memobj *view = memobj_create_anonymous(size);
	if (!view)
		return 0;
	if (src->kind == MEMOBJ_CONTIGUOUS) {
		if (!memobj_copy_contiguous(view, src, offset)) {
			kobject_put(&view->obj);
			return 0;
		}
		return view;
	}

	struct mmu_batch b;
	mmu_batch_init(&b, 0);
	spin_lock(&src->lock);
	/* Another view in flight may have left writable translations the
	 * tables no longer show: then invalidate our whole ranges. */
	bool force = src->wp_inflight > 0;
	src->wp_inflight++;
	bool ok = memobj_share_range_locked(view, src, offset >> PAGE_SHIFT,
					    (offset + size) >> PAGE_SHIFT);
	if (ok) {
		/* The source's mappings may translate the shared pages
		 * writably: take write access away over the range. */
		for (struct space_mapping *map = src->mappings; map; map = map->obj_next) {
			uint64_t len = map->range.end - map->range.start;
			uint64_t lo = offset > map->offset ? offset : map->offset;
			uint64_t hi = offset + size < map->offset + len ? offset + size
									: map->offset + len;
			if (lo >= hi)
				continue;
			uint64_t va = map->range.start + (lo - map->offset);
			mmu_write_protect_range(map->mmu, va, va + (hi - lo), &b, force);
		}
	}
	spin_unlock(&src->lock);
	mmu_batch_finish(&b);
	memobj_wp_done(src);
	if (!ok) {
		/* Entries marked COW in the source stay so: harmless, the
		 * next write finds itself the only owner. */
		kobject_put(&view->obj);
		return 0;
	}
	return view;
}
