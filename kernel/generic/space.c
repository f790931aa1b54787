/*
 * Address spaces (see space.h and docs/kernel/address-spaces.md).
 *
 * A space is a sorted array of mappings (space_ranges.h: binary search
 * for lookups, memmove for the rare inserts and removals) and a set of
 * page tables (mmu.h) that faults fill in lazily from the mapped memory
 * objects. The page tables are a cache: dropping a translation is always
 * allowed (the next access refaults), which is how protect lowers
 * permissions.
 *
 * Invariants:
 * - mappings are page-aligned, disjoint, inside [KESTREL_USER_MIN,
 *   KESTREL_USER_MAX), and each lies inside its object;
 * - a translation exists only for a page inside a mapping that allows the
 *   access it grants (see memobj.c for copy-on-write);
 * - a mapping is on its object's mapping list from the moment it enters
 *   the space until the invalidation of its removal is complete: removed
 *   mappings ("dying") stay linked until space_work_finish(), so an object
 *   replacing a page meanwhile still invalidates their addresses;
 * - every multi-step change reserves its memory first (mapping structs,
 *   array slots), so it either fails before changing anything or succeeds.
 *
 * Lock order (LOCK_ORDER_*):
 *   space (20)          s->lock: the mapping array; with the object's lock,
 *                       a mapping's range, offset and prot
 *   memory object (30)  m->lock: its pages and its list of mappings
 *   space page tables (35)  the mmu's lock, taken inside mmu_* calls
 *   then slab (500), pmm (600) for allocations under any of these.
 * One lock of each class at a time. kobject_put() and TLB invalidation
 * (mmu_batch_finish) happen only with no lock held.
 */
#include "space.h"

#include <kestrel/error.h>
#include <kestrel/memory.h>

#include "kstring.h"
#include "memobj.h"
#include "panic.h"
#include "slab.h"

#define SPACE_SPARES 3

/* Deferred work of one space-side change: invalidation, then the dying
 * mappings' unlinking and release, then unused spare structs. */
struct space_work {
	struct mmu_batch batch; /* owner: the space's mmu */
	struct space_mapping *dying; /* removed, still on their objects' lists */
	struct space_mapping *spare[SPACE_SPARES];
	unsigned spares;
};

static inline struct space_mapping *space_map_at(const struct space *s, uint32_t i)
{
	return (struct space_mapping *)s->maps.items[i];
}

/* W or X imply R: x86 cannot map a page write- or execute-only. */
static uint32_t space_norm_prot(uint32_t prot)
{
	prot &= KESTREL_MAP_PROT_MASK;
	if (prot & (KESTREL_MAP_WRITE | KESTREL_MAP_EXECUTE))
		prot |= KESTREL_MAP_READ;
	return prot;
}

static bool space_aligned(uint64_t v)
{
	return (v & (PAGE_SIZE - 1)) == 0;
}

/* [addr, addr+size) is a nonempty page-aligned range of user space. */
static bool space_range_ok(uint64_t addr, uint64_t size)
{
	return size && space_aligned(addr) && space_aligned(size) && addr >= KESTREL_USER_MIN &&
	       addr < KESTREL_USER_MAX && size <= KESTREL_USER_MAX - addr;
}

static void space_work_init(struct space *s, struct space_work *w)
{
	mmu_batch_init(&w->batch, &s->mmu);
	w->dying = 0;
	w->spares = 0;
}

/* Allocate n spare mapping structs (no lock held). */
static int space_work_spares(struct space_work *w, unsigned n)
{
	KASSERT(n <= SPACE_SPARES);
	while (w->spares < n) {
		struct space_mapping *m = kzalloc(sizeof(*m));
		if (!m)
			return -KE_NO_MEMORY;
		w->spare[w->spares++] = m;
	}
	return 0;
}

static struct space_mapping *space_work_take_spare(struct space_work *w)
{
	KASSERT(w->spares > 0);
	struct space_mapping *m = w->spare[--w->spares];
	memset(m, 0, sizeof(*m));
	return m;
}

/* Finish a change (no lock held): invalidate, then let go of the dying
 * mappings and their objects. */
static void space_work_finish(struct space_work *w)
{
	mmu_batch_finish(&w->batch);
	while (w->dying) {
		struct space_mapping *map = w->dying;
		w->dying = map->dying_next;
		struct memobj *obj = map->obj;
		spin_lock(&obj->lock);
		memobj_unlink_mapping(obj, map);
		spin_unlock(&obj->lock);
		kobject_put(&obj->obj);
		kfree(map);
	}
	while (w->spares)
		kfree(w->spare[--w->spares]);
}

static void space_destroy(struct kobject *o)
{
	struct space *s = (struct space *)o;
	/* No CPU has the tables loaded (asserted by mmu_destroy), so nothing
	 * needs invalidating. Unlink first so that no object walks our
	 * tables any more, then free them. */
	for (uint32_t i = 0; i < s->maps.count; i++) {
		struct space_mapping *map = space_map_at(s, i);
		spin_lock(&map->obj->lock);
		memobj_unlink_mapping(map->obj, map);
		spin_unlock(&map->obj->lock);
	}
	mmu_destroy(&s->mmu);
	for (uint32_t i = 0; i < s->maps.count; i++) {
		struct space_mapping *map = space_map_at(s, i);
		kobject_put(&map->obj->obj);
		kfree(map);
	}
	space_ranges_free(&s->maps);
	kfree(s);
}

struct space *space_create(void)
{
	struct space *s = kzalloc(sizeof(*s));
	if (!s)
		return 0;
	if (mmu_init(&s->mmu)) {
		kfree(s);
		return 0;
	}
	spin_init(&s->lock, "space", LOCK_ORDER_SPACE);
	space_ranges_init(&s->maps);
	kobject_init(&s->obj, KESTREL_OBJ_SPACE, space_destroy);
	return s;
}

void space_activate(struct space *s)
{
	mmu_activate(s ? &s->mmu : 0);
}

/* If addr falls strictly inside a mapping, cut it in two there (a spare
 * and an array slot must be reserved). Caller holds s->lock. */
static void space_split_at(struct space *s, uint64_t addr, struct space_work *w)
{
	struct space_mapping *map = (struct space_mapping *)space_ranges_find(&s->maps, addr);
	if (!map || map->range.start == addr)
		return;
	struct space_mapping *tail = space_work_take_spare(w);
	tail->range.start = addr;
	tail->range.end = map->range.end;
	tail->offset = map->offset + (addr - map->range.start);
	tail->prot = map->prot;
	tail->max_prot = map->max_prot;
	tail->obj = map->obj;
	tail->mmu = map->mmu;
	kobject_get(&map->obj->obj);
	/* Both halves change together for the object's walkers: the same
	 * pages stay covered, so no translation changes. */
	spin_lock(&map->obj->lock);
	map->range.end = addr;
	memobj_link_mapping(map->obj, tail);
	spin_unlock(&map->obj->lock);
	int rc = space_ranges_insert(&s->maps, &tail->range, 0);
	KASSERT(rc == 0); /* reserved */
}

/* Remove everything in [start, end) (two spares and two array slots
 * reserved). The removed mappings go to w->dying. Caller holds s->lock. */
static void space_unmap_locked(struct space *s, uint64_t start, uint64_t end,
			       struct space_work *w)
{
	space_split_at(s, start, w);
	space_split_at(s, end, w);
	uint32_t i = space_ranges_lower_bound(&s->maps, start);
	while (i < s->maps.count && space_map_at(s, i)->range.start < end) {
		struct space_mapping *map = space_map_at(s, i);
		KASSERT(map->range.start >= start && map->range.end <= end);
		space_ranges_remove_at(&s->maps, i);
		/* Drop its translations while it is still on the object's
		 * list; it stays there until they are invalidated. */
		spin_lock(&map->obj->lock);
		mmu_unmap_range(&s->mmu, map->range.start, map->range.end, &w->batch, false);
		spin_unlock(&map->obj->lock);
		map->dying_next = w->dying;
		w->dying = map;
	}
	/* The mappings only covered parts of the range: one more pass over
	 * all of it frees the page tables it now covers entirely (no entry
	 * is left in it, so no object's lock is needed). */
	mmu_unmap_range(&s->mmu, start, end, &w->batch, false);
}

static int space_place(struct space *s, uint64_t hint, uint64_t size, uint64_t *out)
{
	if (hint && !space_ranges_overlaps(&s->maps, hint, hint + size)) {
		*out = hint;
		return 0;
	}
	if (space_ranges_find_gap(&s->maps, size, PAGE_SIZE, SPACE_MAP_BASE, KESTREL_USER_MAX, out) ||
	    space_ranges_find_gap(&s->maps, size, PAGE_SIZE, KESTREL_USER_MIN, SPACE_MAP_BASE, out))
		return 0;
	return -KE_NO_MEMORY;
}

int space_map_limited(struct space *s, struct memobj *m, uint64_t offset, uint64_t addr,
		      uint64_t size, uint32_t flags, uint32_t max_prot, uint64_t *out_addr)
{
	const uint32_t known = KESTREL_MAP_PROT_MASK | KESTREL_MAP_FIXED | KESTREL_MAP_FIXED_REPLACE;
	if ((flags & ~known) ||
	    (flags & KESTREL_MAP_FIXED && flags & KESTREL_MAP_FIXED_REPLACE))
		return -KE_INVALID;
	bool fixed = flags & (KESTREL_MAP_FIXED | KESTREL_MAP_FIXED_REPLACE);
	if (!size || !space_aligned(offset) || !space_aligned(size) || !space_aligned(addr))
		return -KE_INVALID;
	uint64_t objsize = memobj_size(m);
	if (offset > objsize || size > objsize - offset)
		return -KE_INVALID;
	if ((fixed || addr) && !space_range_ok(addr, size))
		return -KE_INVALID;
	uint32_t prot = flags & KESTREL_MAP_PROT_MASK;
	if (prot & ~max_prot)
		return -KE_ACCESS;

	struct space_work w;
	space_work_init(s, &w);
	int rc = space_work_spares(&w, flags & KESTREL_MAP_FIXED_REPLACE ? 3 : 1);
	if (rc) {
		space_work_finish(&w);
		return rc;
	}
	spin_lock(&s->lock);
	rc = space_ranges_reserve(&s->maps, 3);
	uint64_t where = addr;
	if (!rc) {
		if (flags & KESTREL_MAP_FIXED) {
			if (space_ranges_overlaps(&s->maps, addr, addr + size))
				rc = -KE_BUSY;
		} else if (flags & KESTREL_MAP_FIXED_REPLACE) {
			space_unmap_locked(s, addr, addr + size, &w);
		} else {
			rc = space_place(s, addr, size, &where);
		}
	}
	if (!rc) {
		struct space_mapping *map = space_work_take_spare(&w);
		map->range.start = where;
		map->range.end = where + size;
		map->offset = offset;
		map->prot = space_norm_prot(prot);
		map->max_prot = space_norm_prot(max_prot);
		map->obj = m;
		map->mmu = &s->mmu;
		kobject_get(&m->obj);
		spin_lock(&m->lock);
		memobj_link_mapping(m, map);
		spin_unlock(&m->lock);
		int err = space_ranges_insert(&s->maps, &map->range, 0);
		KASSERT(err == 0); /* reserved */
		if (out_addr)
			*out_addr = where;
	}
	spin_unlock(&s->lock);
	space_work_finish(&w);
	return rc;
}

int space_map(struct space *s, struct memobj *m, uint64_t offset, uint64_t addr, uint64_t size,
	      uint32_t flags, uint64_t *out_addr)
{
	return space_map_limited(s, m, offset, addr, size, flags, KESTREL_MAP_PROT_MASK,
				 out_addr);
}

int space_unmap(struct space *s, uint64_t addr, uint64_t size)
{
	if (!space_range_ok(addr, size))
		return -KE_INVALID;
	struct space_work w;
	space_work_init(s, &w);
	int rc = space_work_spares(&w, 2);
	if (!rc) {
		spin_lock(&s->lock);
		rc = space_ranges_reserve(&s->maps, 2);
		if (!rc)
			space_unmap_locked(s, addr, addr + size, &w);
		spin_unlock(&s->lock);
	}
	space_work_finish(&w);
	return rc;
}

/* Is [start, end) covered by mappings without a gap, all allowing prot?
 * 0, -KE_NOT_FOUND or -KE_ACCESS. Caller holds s->lock. */
static int space_check_covered(struct space *s, uint64_t start, uint64_t end, uint32_t prot)
{
	uint64_t cursor = start;
	for (uint32_t i = space_ranges_lower_bound(&s->maps, start);
	     i < s->maps.count && cursor < end; i++) {
		struct space_mapping *map = space_map_at(s, i);
		if (map->range.start > cursor)
			return -KE_NOT_FOUND;
		if (prot & ~map->max_prot)
			return -KE_ACCESS;
		cursor = map->range.end;
	}
	return cursor >= end ? 0 : -KE_NOT_FOUND;
}

int space_protect(struct space *s, uint64_t addr, uint64_t size, uint32_t prot)
{
	if (!space_range_ok(addr, size) || (prot & ~KESTREL_MAP_PROT_MASK))
		return -KE_INVALID;
	prot = space_norm_prot(prot);
	uint64_t end = addr + size;
	struct space_work w;
	space_work_init(s, &w);
	int rc = space_work_spares(&w, 2);
	if (!rc) {
		spin_lock(&s->lock);
		rc = space_check_covered(s, addr, end, prot);
		if (!rc)
			rc = space_ranges_reserve(&s->maps, 2);
		if (!rc) {
			space_split_at(s, addr, &w);
			space_split_at(s, end, &w);
			for (uint32_t i = space_ranges_lower_bound(&s->maps, addr);
			     i < s->maps.count && space_map_at(s, i)->range.start < end; i++) {
				struct space_mapping *map = space_map_at(s, i);
				spin_lock(&map->obj->lock);
				bool lowered = map->prot & ~prot;
				map->prot = prot;
				/* Raising needs nothing (faults widen); lowering
				 * drops the translations, which refault. */
				if (lowered)
					mmu_unmap_range(&s->mmu, map->range.start, map->range.end,
							&w.batch, false);
				spin_unlock(&map->obj->lock);
			}
		}
		spin_unlock(&s->lock);
	}
	space_work_finish(&w);
	return rc;
}

static bool space_allows(uint32_t prot, uint32_t access)
{
	if ((access & SPACE_ACCESS_READ) && !(prot & KESTREL_MAP_READ))
		return false;
	if ((access & SPACE_ACCESS_WRITE) && !(prot & KESTREL_MAP_WRITE))
		return false;
	if ((access & SPACE_ACCESS_EXEC) && !(prot & KESTREL_MAP_EXECUTE))
		return false;
	return true;
}

/* Attempts before space_fault gives the access back to be retried (each
 * one makes progress; more are needed only under heavy races). */
#define SPACE_FAULT_ATTEMPTS 8

int space_fault(struct space *s, uint64_t addr, uint32_t access)
{
	if (addr < KESTREL_USER_MIN || addr >= KESTREL_USER_MAX)
		return -KE_FAULT;
	if (access & ~(SPACE_ACCESS_READ | SPACE_ACCESS_WRITE | SPACE_ACCESS_EXEC))
		return -KE_FAULT;
	if (!access)
		access = SPACE_ACCESS_READ;
	uint64_t va = PAGE_ALIGN_DOWN(addr);
	for (int attempt = 0; attempt < SPACE_FAULT_ATTEMPTS; attempt++) {
		struct mmu_batch b;
		mmu_batch_init(&b, 0);
		spin_lock(&s->lock);
		struct space_mapping *map =
			(struct space_mapping *)space_ranges_find(&s->maps, va);
		if (!map || !space_allows(map->prot, access)) {
			spin_unlock(&s->lock);
			return -KE_FAULT;
		}
		struct memobj *obj = map->obj;
		int rc = memobj_fault(obj, map->offset + (va - map->range.start),
				      access & SPACE_ACCESS_WRITE, map->prot, &s->mmu, va, &b);
		if (rc == MEMOBJ_FAULT_WAIT)
			kobject_get(&obj->obj);
		spin_unlock(&s->lock);
		mmu_batch_finish(&b);
		if (rc <= 0)
			return rc;
		if (rc == MEMOBJ_FAULT_WAIT) {
			memobj_wait_idle(obj);
			kobject_put(&obj->obj);
		}
	}
	return 0; /* not in place yet: the access faults again and retries */
}

/* The object and offset behind addr if its mapping allows `access`; a
 * reference to the object for the caller. */
static struct memobj *space_lookup(struct space *s, uint64_t addr, uint32_t access,
				   uint64_t *offset)
{
	struct memobj *obj = 0;
	spin_lock(&s->lock);
	struct space_mapping *map = (struct space_mapping *)space_ranges_find(&s->maps, addr);
	if (map && space_allows(map->prot, access)) {
		obj = map->obj;
		*offset = map->offset + (addr - map->range.start);
		kobject_get(&obj->obj);
	}
	spin_unlock(&s->lock);
	return obj;
}

static int space_copy(struct space *s, uint64_t addr, void *kbuf, size_t n, bool write)
{
	if (n == 0)
		return 0;
	if (addr < KESTREL_USER_MIN || addr >= KESTREL_USER_MAX || n > KESTREL_USER_MAX - addr)
		return -KE_FAULT;
	uint8_t *buf = kbuf;
	while (n) {
		size_t in_page = PAGE_SIZE - (addr & (PAGE_SIZE - 1));
		size_t chunk = n < in_page ? n : in_page;
		uint64_t offset;
		struct memobj *obj = space_lookup(
			s, addr, write ? SPACE_ACCESS_WRITE : SPACE_ACCESS_READ, &offset);
		if (!obj)
			return -KE_FAULT;
		int rc = write ? memobj_write(obj, offset, buf, chunk)
			       : memobj_read(obj, offset, buf, chunk);
		kobject_put(&obj->obj);
		if (rc)
			return rc == -KE_INVALID ? -KE_FAULT : rc;
		addr += chunk;
		buf += chunk;
		n -= chunk;
	}
	return 0;
}

int space_copy_from(struct space *s, uint64_t addr, void *dst, size_t n)
{
	return space_copy(s, addr, dst, n, false);
}

int space_copy_to(struct space *s, uint64_t addr, const void *src, size_t n)
{
	return space_copy(s, addr, (void *)src, n, true);
}

bool space_query(struct space *s, uint64_t addr, paddr_t *pa, uint32_t *prot)
{
	return mmu_query(&s->mmu, PAGE_ALIGN_DOWN(addr), pa, prot);
}

uint32_t space_mapping_count(struct space *s)
{
	spin_lock(&s->lock);
	uint32_t n = s->maps.count;
	spin_unlock(&s->lock);
	return n;
}
