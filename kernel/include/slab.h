/*
 * Kernel object allocation: slab caches of fixed-size objects, and kmalloc
 * on top of them for variable sizes.
 *
 * A slab cache hands out objects of one size from 4 KiB slabs taken from
 * the physical allocator; it keeps at most one empty slab and returns the
 * others, so memory flows back to the system. kmalloc() serves sizes up to
 * SLAB_MAX_OBJECT from size-class caches and larger sizes directly from the
 * physical allocator. Memory is 16-byte aligned (or the cache's alignment)
 * and not zeroed, except by kzalloc().
 *
 * Freeing an object that was not allocated here, or freeing it twice, is a
 * kernel bug; the allocator panics where it can tell.
 *
 * Every call may be made from any CPU and from interrupt handlers (one
 * spinlock per cache, LOCK_ORDER_SLAB, which takes the pmm's lock).
 */
#ifndef KERNEL_SLAB_H
#define KERNEL_SLAB_H

#include <stddef.h>
#include <stdint.h>

#define SLAB_MAX_OBJECT 1024

struct slab_cache;

/* A cache of objects of `size` bytes aligned to `align` (a power of two,
 * 0 for the default of 16). NULL if out of memory or the size is larger
 * than SLAB_MAX_OBJECT. `name` must stay valid (a string literal). */
struct slab_cache *slab_cache_create(const char *name, size_t size, size_t align);
/* Destroy a cache whose objects have all been freed (panics otherwise). */
void slab_cache_destroy(struct slab_cache *cache);
void *slab_alloc(struct slab_cache *cache);
void slab_free(struct slab_cache *cache, void *obj);

struct slab_cache_stats {
	const char *name;
	size_t object_size;
	uint64_t objects_in_use;
	uint64_t slabs;        /* slabs held, including the spare empty one */
	uint64_t allocations;  /* successful allocation calls */
};
void slab_cache_get_stats(struct slab_cache *cache, struct slab_cache_stats *out);

/* Set up the kmalloc size classes. Once, after pmm_init(). */
void kmalloc_init(void);
void *kmalloc(size_t size);
void *kzalloc(size_t size);
/* Free memory from kmalloc/kzalloc; NULL is ignored. */
void kfree(void *ptr);
/* The usable size of a kmalloc block (at least what was asked for). */
size_t kmalloc_usable_size(const void *ptr);

#endif
