/*
 * The page index of a memory object: a radix tree from page index to a
 * 64-bit entry (memobj.c stores a physical page address with flag bits in
 * its low 12 bits; 0 means "no page"). Pure code over the physical
 * allocator, tested on the host (tests/unit/memobj_radix).
 *
 * Every node is one physical page of 512 entries, reached through the
 * direct map. The height is fixed when the tree is set up, from the
 * object's size: 1 level up to 512 pages (2 MiB), 2 up to 2^18 pages
 * (1 GiB), 3 up to 2^27 pages (512 GiB, above KESTREL_MEMORY_MAX). Nodes
 * are created only on the path to an entry that is set, so an empty tree
 * costs nothing and a sparse one costs about one node per 2 MiB touched
 * (plus 1-2 upper nodes); nodes are freed with the tree.
 *
 * No locking: the caller (the memory object's lock) serializes.
 */
#ifndef KERNEL_MEMOBJ_RADIX_H
#define KERNEL_MEMOBJ_RADIX_H

#include <stdbool.h>
#include <stdint.h>

#include "mm.h"

#define MEMOBJ_RADIX_BITS 9
#define MEMOBJ_RADIX_FANOUT (1u << MEMOBJ_RADIX_BITS)
#define MEMOBJ_RADIX_MAX_LEVELS 3

struct memobj_radix {
	paddr_t root;    /* the top node, 0 until the first entry is set */
	unsigned levels; /* 1 .. MEMOBJ_RADIX_MAX_LEVELS */
};

/* An empty tree able to hold indexes 0 .. npages-1 (npages must be at most
 * 512^3). Allocates nothing. */
void memobj_radix_init(struct memobj_radix *r, uint64_t npages);

/* The entry at index, 0 if none. */
uint64_t memobj_radix_get(const struct memobj_radix *r, uint64_t index);

/* A pointer to the entry at index, through which the caller reads or sets
 * it (0 = none). With create, missing nodes on the way are allocated
 * (zeroed); returns NULL if out of memory. Without create, returns NULL if
 * a node on the way is missing (the entry is 0). The pointer stays valid
 * until memobj_radix_destroy(). */
uint64_t *memobj_radix_slot(struct memobj_radix *r, uint64_t index, bool create);

/* The first nonzero entry with an index in [*index, end): sets *index and
 * *value and returns true; false if there is none. Skips missing subtrees
 * whole, so walking a sparse 64 GiB tree visits only its nodes. */
bool memobj_radix_next(const struct memobj_radix *r, uint64_t *index, uint64_t end,
		       uint64_t *value);

/* Call fn (if not NULL) on every nonzero entry, then free every node. The
 * tree is empty afterwards. */
void memobj_radix_destroy(struct memobj_radix *r, void (*fn)(uint64_t value, void *ctx),
			  void *ctx);

/* Nodes (pages) the tree holds: for tests and statistics. */
uint64_t memobj_radix_nodes(const struct memobj_radix *r);

#endif
