/*
 * Pages for the allocator: an anonymous memory object mapped read-write
 * wherever the kernel finds room. The handle is closed at once — the
 * mapping keeps the object alive (<kestrel/object.h>: an object lives while
 * any handle *or other use* remains), and unmapping frees it.
 */
#include <kestrel/calls.h>

#include "../../internal/libc.h"

void *__pages_alloc(size_t size)
{
	size = (size + KESTREL_PAGE_SIZE - 1) & ~(size_t)(KESTREL_PAGE_SIZE - 1);
	int64_t h = kestrel_memory_create(size, KESTREL_MEMORY_ANONYMOUS, 0);
	if (h < 0)
		return NULL;
	int64_t addr = kestrel_space_map(KESTREL_THIS_SPACE, (kestrel_handle_t)h, 0, 0, size,
					 KESTREL_MAP_READ | KESTREL_MAP_WRITE);
	kestrel_handle_close((kestrel_handle_t)h);
	return addr < 0 ? NULL : (void *)(uintptr_t)addr;
}

void __pages_free(void *p, size_t size)
{
	size = (size + KESTREL_PAGE_SIZE - 1) & ~(size_t)(KESTREL_PAGE_SIZE - 1);
	kestrel_space_unmap(KESTREL_THIS_SPACE, (uint64_t)(uintptr_t)p, size);
}
