/*
 * Slab caches and kmalloc (see slab.h).
 *
 * A slab is one 4 KiB page: a header at the start, then `capacity` objects
 * of the cache's size. Free objects are linked through their first word.
 * Each cache keeps its slabs on two lists, partial (some objects free) and
 * full, plus at most one spare empty slab: a cache that oscillates around a
 * slab boundary does not hit the physical allocator every time, and memory
 * still goes back to the system when a cache shrinks.
 *
 * Finding an object's slab is a mask of its address: the header sits at the
 * start of the page. kmalloc blocks too big for a slab are whole blocks from
 * the physical allocator with a 16-byte header at their start, so kfree()
 * tells the two apart by the magic word at the page start.
 *
 * Lock: each cache has its own lock (LOCK_ORDER_SLAB); the physical
 * allocator's lock is taken under it.
 */
#include "slab.h"

#include <stdbool.h>

#include "kstring.h"
#include "log.h"
#include "mm.h"
#include "panic.h"
#include "pmm.h"
#include "spinlock.h"

#define SLAB_MAGIC 0x42414c53u  /* "SLAB" */
#define LARGE_MAGIC 0x4752414cu /* "LARG" */
#define SLAB_DEFAULT_ALIGN 16
#define LARGE_HEADER 16

struct slab {
	uint32_t magic;
	uint32_t in_use;
	uint32_t capacity;
	uint32_t first_offset;
	struct slab_cache *cache;
	struct slab *next, *prev;
	void *free; /* free objects, linked through their first word */
};

struct large_header {
	uint32_t magic;
	uint32_t order;
	uint64_t size;
};
_Static_assert(sizeof(struct large_header) == LARGE_HEADER, "large block header");

struct slab_cache {
	struct spinlock lock;
	const char *name;
	size_t size;  /* object size, rounded up to the alignment */
	size_t align;
	uint32_t capacity;
	uint32_t first_offset;
	struct slab *partial, *full, *spare;
	uint64_t in_use, slabs, allocations;
};

static void slab_list_push(struct slab **head, struct slab *s)
{
	s->prev = 0;
	s->next = *head;
	if (s->next)
		s->next->prev = s;
	*head = s;
}

static void slab_list_remove(struct slab **head, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = 0;
}

static bool cache_setup(struct slab_cache *c, const char *name, size_t size, size_t align)
{
	if (align == 0)
		align = SLAB_DEFAULT_ALIGN;
	if ((align & (align - 1)) || align > PAGE_SIZE / 4 || size > SLAB_MAX_OBJECT)
		return false;
	if (size < sizeof(void *))
		size = sizeof(void *);
	size = (size + align - 1) & ~(align - 1);
	uint32_t first = (uint32_t)((sizeof(struct slab) + align - 1) & ~(align - 1));
	memset(c, 0, sizeof(*c));
	spin_init(&c->lock, name, LOCK_ORDER_SLAB);
	c->name = name;
	c->size = size;
	c->align = align;
	c->first_offset = first;
	c->capacity = (uint32_t)((PAGE_SIZE - first) / size);
	return c->capacity > 0;
}

/* A fresh slab with every object free. Cache lock held. */
static struct slab *slab_new(struct slab_cache *c)
{
	paddr_t p = pmm_alloc_page();
	if (!p)
		return 0;
	struct slab *s = phys_to_virt(p);
	s->magic = SLAB_MAGIC;
	s->in_use = 0;
	s->capacity = c->capacity;
	s->first_offset = c->first_offset;
	s->cache = c;
	s->next = s->prev = 0;
	s->free = 0;
	uint8_t *base = (uint8_t *)s + c->first_offset;
	for (uint32_t i = c->capacity; i-- > 0;) {
		void **obj = (void **)(base + i * c->size);
		*obj = s->free;
		s->free = obj;
	}
	c->slabs++;
	return s;
}

static void slab_release(struct slab_cache *c, struct slab *s)
{
	s->magic = 0;
	c->slabs--;
	pmm_free_page(virt_to_phys(s));
}

void *slab_alloc(struct slab_cache *c)
{
	spin_lock(&c->lock);
	struct slab *s = c->partial;
	if (!s) {
		s = c->spare;
		c->spare = 0;
		if (!s)
			s = slab_new(c);
		if (!s) {
			spin_unlock(&c->lock);
			return 0;
		}
		slab_list_push(&c->partial, s);
	}
	void **obj = s->free;
	s->free = *obj;
	s->in_use++;
	if (!s->free) {
		slab_list_remove(&c->partial, s);
		slab_list_push(&c->full, s);
	}
	c->in_use++;
	c->allocations++;
	spin_unlock(&c->lock);
	return obj;
}

/* The slab an object lives in, checked to be one of cache `c`'s (NULL
 * cache: any). Panics on anything that is not a slab object. */
static struct slab *slab_of(const void *obj, const struct slab_cache *c)
{
	uintptr_t addr = (uintptr_t)obj;
	struct slab *s = (struct slab *)(addr & ~(uintptr_t)(PAGE_SIZE - 1));
	if (s->magic != SLAB_MAGIC || (c && s->cache != c))
		panic("slab: free of %p, which is not an object of cache %s", obj,
		      c ? c->name : "(any)");
	uintptr_t off = addr - (uintptr_t)s - s->first_offset;
	if (addr < (uintptr_t)s + s->first_offset || off % s->cache->size ||
	    off / s->cache->size >= s->capacity)
		panic("slab: free of %p, which is not the start of an object of %s", obj,
		      s->cache->name);
	return s;
}

#ifdef KESTREL_DEBUG
static void check_not_free(const struct slab *s, const void *obj)
{
	for (void *const *f = s->free; f; f = *f)
		if (f == obj)
			panic("slab: double free of %p in %s", obj, s->cache->name);
}
#else
static void check_not_free(const struct slab *s, const void *obj)
{
	(void)s;
	(void)obj;
}
#endif

static void slab_free_locked(struct slab_cache *c, struct slab *s, void *obj)
{
	check_not_free(s, obj);
	if (s->in_use == 0)
		panic("slab: free of %p in %s, whose slab has no object in use", obj, c->name);
	bool was_full = s->free == 0;
	*(void **)obj = s->free;
	s->free = obj;
	s->in_use--;
	c->in_use--;
	if (was_full) {
		slab_list_remove(&c->full, s);
		slab_list_push(&c->partial, s);
	}
	if (s->in_use == 0) {
		slab_list_remove(&c->partial, s);
		if (!c->spare)
			c->spare = s;
		else
			slab_release(c, s);
	}
}

void slab_free(struct slab_cache *c, void *obj)
{
	if (!obj)
		return;
	struct slab *s = slab_of(obj, c);
	spin_lock(&c->lock);
	slab_free_locked(c, s, obj);
	spin_unlock(&c->lock);
}

struct slab_cache *slab_cache_create(const char *name, size_t size, size_t align)
{
	struct slab_cache tmp;
	if (!cache_setup(&tmp, name, size, align))
		return 0;
	struct slab_cache *c = kmalloc(sizeof(*c));
	if (!c)
		return 0;
	cache_setup(c, name, size, align);
	return c;
}

void slab_cache_destroy(struct slab_cache *c)
{
	spin_lock(&c->lock);
	if (c->in_use || c->partial || c->full)
		panic("slab: destroying cache %s with %llu objects in use", c->name,
		      (unsigned long long)c->in_use);
	struct slab *spare = c->spare;
	c->spare = 0;
	if (spare)
		slab_release(c, spare);
	spin_unlock(&c->lock);
	kfree(c);
}

void slab_cache_get_stats(struct slab_cache *c, struct slab_cache_stats *out)
{
	spin_lock(&c->lock);
	out->name = c->name;
	out->object_size = c->size;
	out->objects_in_use = c->in_use;
	out->slabs = c->slabs;
	out->allocations = c->allocations;
	spin_unlock(&c->lock);
}

/* ---- kmalloc ---- */

static const size_t kmalloc_sizes[] = {16, 32, 64, 96, 128, 192, 256, 384, 512, 768, 1024};
#define KMALLOC_CLASSES (sizeof(kmalloc_sizes) / sizeof(kmalloc_sizes[0]))
static struct slab_cache kmalloc_caches[KMALLOC_CLASSES];
static bool kmalloc_ready;

void kmalloc_init(void)
{
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++)
		if (!cache_setup(&kmalloc_caches[i], "kmalloc", kmalloc_sizes[i], 0))
			panic("kmalloc: bad size class %zu", kmalloc_sizes[i]);
	kmalloc_ready = true;
}

static void *large_alloc(size_t size)
{
	if (size > (PAGE_SIZE << PMM_MAX_ORDER) - LARGE_HEADER)
		return 0;
	unsigned order = 0;
	while ((PAGE_SIZE << order) < size + LARGE_HEADER)
		order++;
	paddr_t p = pmm_alloc_pages(order);
	if (!p)
		return 0;
	struct large_header *h = phys_to_virt(p);
	h->magic = LARGE_MAGIC;
	h->order = order;
	h->size = size;
	return (uint8_t *)h + LARGE_HEADER;
}

void *kmalloc(size_t size)
{
	KASSERT(kmalloc_ready);
	for (unsigned i = 0; i < KMALLOC_CLASSES; i++)
		if (size <= kmalloc_sizes[i])
			return slab_alloc(&kmalloc_caches[i]);
	return large_alloc(size);
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);
	if (p)
		memset(p, 0, size);
	return p;
}

static const struct large_header *large_of(const void *ptr)
{
	const struct large_header *h =
		(const void *)((uintptr_t)ptr & ~(uintptr_t)(PAGE_SIZE - 1));
	if (h->magic == LARGE_MAGIC && (const uint8_t *)ptr == (const uint8_t *)h + LARGE_HEADER)
		return h;
	return 0;
}

void kfree(void *ptr)
{
	if (!ptr)
		return;
	const struct large_header *h = large_of(ptr);
	if (h) {
		unsigned order = h->order;
		((struct large_header *)h)->magic = 0;
		pmm_free_pages(virt_to_phys(h), order);
		return;
	}
	struct slab *s = slab_of(ptr, 0);
	struct slab_cache *c = s->cache;
	if (c < kmalloc_caches || c >= kmalloc_caches + KMALLOC_CLASSES)
		panic("kfree of %p, an object of cache %s (use slab_free)", ptr, c->name);
	spin_lock(&c->lock);
	slab_free_locked(c, s, ptr);
	spin_unlock(&c->lock);
}

size_t kmalloc_usable_size(const void *ptr)
{
	const struct large_header *h = large_of(ptr);
	if (h)
		return (PAGE_SIZE << h->order) - LARGE_HEADER;
	return slab_of(ptr, 0)->cache->size;
}
