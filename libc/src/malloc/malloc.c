/*
 * malloc, calloc, realloc, free: a small size-class allocator.
 *
 * Every block starts with a 16-byte header (so payloads are 16-byte
 * aligned) recording its size class, or its mapped size for large blocks,
 * and a magic word that catches double frees and foreign pointers.
 *   - small blocks (payload up to 2032 bytes) come in power-of-two classes
 *     of 32 .. 2048 bytes, carved from 64 KiB runs of pages and kept on one
 *     free list per class; their memory is reused, never returned;
 *   - large blocks get pages of their own, unmapped again by free().
 * One lock (a futex mutex) covers the free lists.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kestrel/calls.h>

#include "../../internal/libc.h"
#include "../../internal/lock.h"

#define MAGIC_USED 0x6b6d616c6c6f6321ull /* "kmalloc!" */
#define MAGIC_FREE 0x6672656564626c6bull
#define CLASS_MIN_SHIFT 5                 /* 32 bytes */
#define CLASS_COUNT 7                     /* .. 2048 bytes */
#define CLASS_LARGE 0xff
#define RUN_SIZE (64u << 10)

struct header {
	uint32_t class;   /* CLASS_LARGE or 0 .. CLASS_COUNT-1 */
	uint32_t reserved;
	uint64_t magic;
	/* large blocks: the mapped size sits just before, see struct large */
};

struct large {
	uint64_t mapped; /* bytes of the mapping (header included) */
	uint64_t pad;
	struct header h;
};

struct free_block {
	struct header h;
	struct free_block *next;
};

static uint32_t heap_lock;
static struct free_block *free_lists[CLASS_COUNT];
static uint8_t *run_next, *run_end;

static _Noreturn void heap_corrupt(const char *what)
{
	kestrel_log(what, strlen(what), KESTREL_LOG_ERROR);
	abort();
}

static int class_of(size_t size)
{
	size_t total = size + sizeof(struct header);
	for (int c = 0; c < CLASS_COUNT; c++) {
		if (total <= (size_t)1 << (c + CLASS_MIN_SHIFT))
			return c;
	}
	return -1;
}

static void *small_alloc(int c)
{
	size_t block = (size_t)1 << (c + CLASS_MIN_SHIFT);
	struct header *h;
	__lock(&heap_lock);
	if (free_lists[c]) {
		struct free_block *f = free_lists[c];
		free_lists[c] = f->next;
		h = &f->h;
	} else {
		if (!run_next || (size_t)(run_end - run_next) < block) {
			/* The tail of the old run is lost: at most 2 KiB per 64 KiB. */
			uint8_t *run = __pages_alloc(RUN_SIZE);
			if (!run) {
				__unlock(&heap_lock);
				return NULL;
			}
			run_next = run;
			run_end = run + RUN_SIZE;
		}
		h = (struct header *)(void *)run_next;
		run_next += block;
	}
	__unlock(&heap_lock);
	h->class = (uint32_t)c;
	h->magic = MAGIC_USED;
	return h + 1;
}

static void *large_alloc(size_t size)
{
	if (size > (1ull << 40))
		return NULL;
	size_t mapped = size + sizeof(struct large);
	struct large *l = __pages_alloc(mapped);
	if (!l)
		return NULL;
	l->mapped = mapped;
	l->h.class = CLASS_LARGE;
	l->h.magic = MAGIC_USED;
	return &l->h + 1;
}

void *malloc(size_t size)
{
	int c = class_of(size);
	return c >= 0 ? small_alloc(c) : large_alloc(size);
}

static struct header *header_of(void *p)
{
	struct header *h = (struct header *)p - 1;
	if (h->magic == MAGIC_FREE)
		heap_corrupt("free(): double free");
	if (h->magic != MAGIC_USED || (h->class >= CLASS_COUNT && h->class != CLASS_LARGE))
		heap_corrupt("free(): not a block from malloc (or the heap is corrupt)");
	return h;
}

static size_t capacity_of(const struct header *h)
{
	if (h->class == CLASS_LARGE) {
		const struct large *l = (const void *)((const uint8_t *)h - offsetof(struct large, h));
		return l->mapped - sizeof(struct large);
	}
	return ((size_t)1 << (h->class + CLASS_MIN_SHIFT)) - sizeof(struct header);
}

void free(void *p)
{
	if (!p)
		return;
	struct header *h = header_of(p);
	h->magic = MAGIC_FREE;
	if (h->class == CLASS_LARGE) {
		struct large *l = (void *)((uint8_t *)h - offsetof(struct large, h));
		__pages_free(l, l->mapped);
		return;
	}
	struct free_block *f = (struct free_block *)(void *)h;
	__lock(&heap_lock);
	f->next = free_lists[h->class];
	free_lists[h->class] = f;
	__unlock(&heap_lock);
}

void *calloc(size_t count, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(count, size, &total))
		return NULL;
	void *p = malloc(total);
	if (p && class_of(total) >= 0)
		memset(p, 0, total); /* large blocks are fresh, zero-filled pages */
	return p;
}

void *realloc(void *p, size_t size)
{
	if (!p)
		return malloc(size);
	if (size == 0) {
		free(p);
		return NULL;
	}
	size_t cap = capacity_of(header_of(p));
	if (size <= cap)
		return p;
	void *q = malloc(size);
	if (!q)
		return NULL;
	memcpy(q, p, cap);
	free(p);
	return q;
}
