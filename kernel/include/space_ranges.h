/*
 * A sorted set of disjoint address ranges [start, end): the mappings of an
 * address space (space.c), kept apart as pure code so host unit tests can
 * check it (tests/unit/space_ranges).
 *
 * It is a sorted array of pointers with binary search. Lookups are
 * O(log n) over contiguous memory; inserting or removing moves the tail of
 * the array (O(n) pointer moves). Address spaces have tens to a few
 * thousand mappings, where a memmove of a few KiB costs less than the
 * pointer chasing and rebalancing of a tree, and the code stays small
 * enough to check exhaustively. The items themselves live elsewhere (the
 * caller embeds a struct space_range in its own structure); this set only
 * orders pointers to them.
 *
 * The caller serializes all calls (space.c holds the space's lock). The
 * array grows with kmalloc; space_ranges_reserve() lets a caller take
 * every allocation up front so that a multi-step change cannot fail half
 * way.
 */
#ifndef KERNEL_SPACE_RANGES_H
#define KERNEL_SPACE_RANGES_H

#include <stdbool.h>
#include <stdint.h>

/* Most ranges one set may hold (insert beyond it fails with -KE_LIMIT). */
#define SPACE_RANGES_MAX 65536u

struct space_range {
	uint64_t start; /* first address */
	uint64_t end;   /* one past the last address; start < end */
};

struct space_ranges {
	struct space_range **items; /* sorted by start; kmalloc'ed */
	uint32_t count;
	uint32_t capacity;
};

void space_ranges_init(struct space_ranges *r);
/* Free the array (not the items). */
void space_ranges_free(struct space_ranges *r);

/* Make room for `extra` more inserts that then cannot fail. 0, -KE_LIMIT
 * (the set would exceed SPACE_RANGES_MAX) or -KE_NO_MEMORY. */
int space_ranges_reserve(struct space_ranges *r, uint32_t extra);

/* Index of the first range whose end is above addr (count if none): the
 * range containing addr, or the first one after it. */
uint32_t space_ranges_lower_bound(const struct space_ranges *r, uint64_t addr);
/* The range containing addr, or NULL. */
struct space_range *space_ranges_find(const struct space_ranges *r, uint64_t addr);
/* Does any range intersect [start, end)? */
bool space_ranges_overlaps(const struct space_ranges *r, uint64_t start, uint64_t end);

/* Insert a range that overlaps none in the set (asserted). 0, -KE_LIMIT,
 * -KE_NO_MEMORY (never after a successful reserve for it). Returns its
 * index through *index if not NULL. */
int space_ranges_insert(struct space_ranges *r, struct space_range *item, uint32_t *index);
/* Remove the range at index (its memory is the caller's). */
void space_ranges_remove_at(struct space_ranges *r, uint32_t index);

/* First fit: the lowest address a >= lo, aligned to `align` (a power of
 * two), with [a, a+size) inside [lo, hi) and free. false if none. */
bool space_ranges_find_gap(const struct space_ranges *r, uint64_t size, uint64_t align,
			   uint64_t lo, uint64_t hi, uint64_t *out);

#endif
