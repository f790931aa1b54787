/*
 * A sorted array of disjoint ranges (see space_ranges.h).
 *
 * Invariants: items[0..count) are sorted by start, and for every i,
 * items[i]->start < items[i]->end <= items[i+1]->start. Because the ranges
 * are disjoint, sorting by start also sorts by end, so one binary search on
 * `end` finds the range containing an address or the next one.
 */
#include "space_ranges.h"

#include <kestrel/error.h>

#include "kstring.h"
#include "panic.h"
#include "slab.h"

void space_ranges_init(struct space_ranges *r)
{
	r->items = 0;
	r->count = 0;
	r->capacity = 0;
}

void space_ranges_free(struct space_ranges *r)
{
	kfree(r->items);
	space_ranges_init(r);
}

int space_ranges_reserve(struct space_ranges *r, uint32_t extra)
{
	uint64_t need = (uint64_t)r->count + extra;
	if (need > SPACE_RANGES_MAX)
		return -KE_LIMIT;
	if (need <= r->capacity)
		return 0;
	uint64_t cap = r->capacity ? r->capacity : 16;
	while (cap < need)
		cap *= 2;
	if (cap > SPACE_RANGES_MAX)
		cap = SPACE_RANGES_MAX;
	struct space_range **items = kmalloc(cap * sizeof(*items));
	if (!items)
		return -KE_NO_MEMORY;
	if (r->count)
		memcpy(items, r->items, r->count * sizeof(*items));
	kfree(r->items);
	r->items = items;
	r->capacity = (uint32_t)cap;
	return 0;
}

uint32_t space_ranges_lower_bound(const struct space_ranges *r, uint64_t addr)
{
	uint32_t lo = 0, hi = r->count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (r->items[mid]->end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct space_range *space_ranges_find(const struct space_ranges *r, uint64_t addr)
{
	uint32_t i = space_ranges_lower_bound(r, addr);
	if (i < r->count && r->items[i]->start <= addr)
		return r->items[i];
	return 0;
}

bool space_ranges_overlaps(const struct space_ranges *r, uint64_t start, uint64_t end)
{
	if (start >= end)
		return false;
	uint32_t i = space_ranges_lower_bound(r, start);
	return i < r->count && r->items[i]->start < end;
}

int space_ranges_insert(struct space_ranges *r, struct space_range *item, uint32_t *index)
{
	KASSERT(item->start < item->end);
	int err = space_ranges_reserve(r, 1);
	if (err)
		return err;
	uint32_t i = space_ranges_lower_bound(r, item->start);
	KASSERT(i == r->count || r->items[i]->start >= item->end);
	memmove(&r->items[i + 1], &r->items[i], (r->count - i) * sizeof(*r->items));
	r->items[i] = item;
	r->count++;
	if (index)
		*index = i;
	return 0;
}

void space_ranges_remove_at(struct space_ranges *r, uint32_t index)
{
	KASSERT(index < r->count);
	memmove(&r->items[index], &r->items[index + 1],
		(r->count - index - 1) * sizeof(*r->items));
	r->count--;
}

bool space_ranges_find_gap(const struct space_ranges *r, uint64_t size, uint64_t align,
			   uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (size == 0 || lo >= hi || align == 0 || (align & (align - 1)))
		return false;
	uint64_t cursor = (lo + align - 1) & ~(align - 1);
	if (cursor < lo) /* wrapped */
		return false;
	for (uint32_t i = space_ranges_lower_bound(r, cursor); i < r->count; i++) {
		const struct space_range *it = r->items[i];
		if (cursor >= hi || hi - cursor < size)
			return false;
		if (it->start >= cursor && it->start - cursor >= size) {
			*out = cursor;
			return true;
		}
		if (it->end > cursor) {
			cursor = (it->end + align - 1) & ~(align - 1);
			if (cursor < it->end)
				return false;
		}
	}
	if (cursor < hi && hi - cursor >= size) {
		*out = cursor;
		return true;
	}
	return false;
}
