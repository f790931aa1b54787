/*
 * A fake physical memory for host tests of the memory allocators: a large
 * reserved-but-untouched mapping that phys_to_virt() points into, and a
 * boot-info memory map to describe it. Only the pages a test touches use
 * real memory.
 */
#ifndef UNIT_FAKE_PHYS_H
#define UNIT_FAKE_PHYS_H

#include <kestrel/bootinfo.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mm.h"

/* 4 GiB + 256 MiB of address space: enough for memory above 4 GiB. */
#define FAKE_PHYS_SIZE ((4ull << 30) + (256ull << 20))

static inline void fake_phys_setup(void)
{
	static void *mem;
	if (mem)
		munmap(mem, FAKE_PHYS_SIZE);
	mem = mmap(NULL, FAKE_PHYS_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		abort();
	mm_host_direct_map_base = (uintptr_t)mem;
}

static inline void fake_bootinfo_add(struct kestrel_bootinfo *bi, uint64_t base, uint64_t len,
				     uint32_t type)
{
	struct kestrel_mem_range *r = &bi->mem_ranges[bi->mem_range_count++];
	r->base = base;
	r->length = len;
	r->type = type;
}

#endif
