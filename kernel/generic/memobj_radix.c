/*
 * A fixed-height 512-ary radix tree of 64-bit entries (see memobj_radix.h).
 *
 * Level numbering: level 0 is a leaf node, whose slots hold entries; a
 * node at level L > 0 holds physical addresses of level L-1 nodes (0 =
 * missing). The root is at level `levels - 1`; index bits
 * [9L, 9L+9) choose the slot at level L.
 */
#include "memobj_radix.h"

#include "kstring.h"
#include "panic.h"
#include "pmm.h"

static inline uint64_t *radix_node(paddr_t p)
{
	return phys_to_virt(p);
}

static paddr_t radix_node_alloc(void)
{
	paddr_t p = pmm_alloc_page();
	if (p)
		memset(radix_node(p), 0, PAGE_SIZE);
	return p;
}

void memobj_radix_init(struct memobj_radix *r, uint64_t npages)
{
	unsigned levels = 1;
	uint64_t cap = MEMOBJ_RADIX_FANOUT;
	while (cap < npages) {
		cap <<= MEMOBJ_RADIX_BITS;
		levels++;
	}
	KASSERT(levels <= MEMOBJ_RADIX_MAX_LEVELS);
	r->root = 0;
	r->levels = levels;
}

static inline uint64_t radix_capacity(const struct memobj_radix *r)
{
	return 1ull << (MEMOBJ_RADIX_BITS * r->levels);
}

static inline unsigned radix_slot_of(uint64_t index, unsigned level)
{
	return (index >> (MEMOBJ_RADIX_BITS * level)) & (MEMOBJ_RADIX_FANOUT - 1);
}

uint64_t memobj_radix_get(const struct memobj_radix *r, uint64_t index)
{
	if (index >= radix_capacity(r))
		return 0;
	paddr_t node = r->root;
	for (unsigned level = r->levels; level-- > 0;) {
		if (!node)
			return 0;
		uint64_t v = radix_node(node)[radix_slot_of(index, level)];
		if (level == 0)
			return v;
		node = v;
	}
	return 0;
}

uint64_t *memobj_radix_slot(struct memobj_radix *r, uint64_t index, bool create)
{
	KASSERT(index < radix_capacity(r));
	uint64_t *ref = &r->root;
	for (unsigned level = r->levels; level-- > 0;) {
		if (!*ref) {
			if (!create)
				return 0;
			paddr_t n = radix_node_alloc();
			if (!n)
				return 0;
			*ref = n;
		}
		ref = &radix_node(*ref)[radix_slot_of(index, level)];
	}
	return ref;
}

/* Search the subtree `node` (at `level`, covering indexes from `base`) for
 * the first entry at or after *index and before end. */
static bool radix_next_in(paddr_t node, unsigned level, uint64_t base, uint64_t *index,
			  uint64_t end, uint64_t *value)
{
	const uint64_t *n = radix_node(node);
	unsigned shift = MEMOBJ_RADIX_BITS * level;
	uint64_t from = *index;
	for (unsigned i = (unsigned)((from - base) >> shift); i < MEMOBJ_RADIX_FANOUT; i++) {
		uint64_t child_base = base + ((uint64_t)i << shift);
		if (child_base >= end)
			return false;
		if (!n[i])
			continue;
		if (level == 0) {
			*index = child_base;
			*value = n[i];
			return true;
		}
		*index = from > child_base ? from : child_base;
		if (radix_next_in(n[i], level - 1, child_base, index, end, value))
			return true;
	}
	return false;
}

bool memobj_radix_next(const struct memobj_radix *r, uint64_t *index, uint64_t end,
		       uint64_t *value)
{
	if (end > radix_capacity(r))
		end = radix_capacity(r);
	if (!r->root || *index >= end)
		return false;
	return radix_next_in(r->root, r->levels - 1, 0, index, end, value);
}

static void radix_destroy_node(paddr_t node, unsigned level,
			       void (*fn)(uint64_t value, void *ctx), void *ctx)
{
	uint64_t *n = radix_node(node);
	for (unsigned i = 0; i < MEMOBJ_RADIX_FANOUT; i++) {
		if (!n[i])
			continue;
		if (level == 0) {
			if (fn)
				fn(n[i], ctx);
		} else {
			radix_destroy_node(n[i], level - 1, fn, ctx);
		}
	}
	pmm_free_page(node);
}

void memobj_radix_destroy(struct memobj_radix *r, void (*fn)(uint64_t value, void *ctx),
			  void *ctx)
{
	if (r->root)
		radix_destroy_node(r->root, r->levels - 1, fn, ctx);
	r->root = 0;
}

static uint64_t radix_count_nodes(paddr_t node, unsigned level)
{
	uint64_t total = 1;
	if (level == 0)
		return total;
	const uint64_t *n = radix_node(node);
	for (unsigned i = 0; i < MEMOBJ_RADIX_FANOUT; i++)
		if (n[i])
			total += radix_count_nodes(n[i], level - 1);
	return total;
}

uint64_t memobj_radix_nodes(const struct memobj_radix *r)
{
	return r->root ? radix_count_nodes(r->root, r->levels - 1) : 0;
}
