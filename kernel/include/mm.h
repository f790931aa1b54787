/*
 * Basic memory definitions: page size, physical addresses and the direct
 * map, through which the kernel reaches any physical RAM.
 */
#ifndef KERNEL_MM_H
#define KERNEL_MM_H

#include <kestrel/bootinfo.h>
#include <stdint.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ull << PAGE_SHIFT)
#define PAGE_ALIGN_UP(x) (((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define PAGE_ALIGN_DOWN(x) ((x) & ~(PAGE_SIZE - 1))

typedef uint64_t paddr_t;

#ifdef KESTREL_HOST_TEST
/* Host unit tests place a fake physical memory in an ordinary buffer. */
extern uintptr_t mm_host_direct_map_base;
#define DIRECT_MAP_BASE mm_host_direct_map_base
#else
#define DIRECT_MAP_BASE KESTREL_DIRECT_MAP_BASE
#endif

static inline void *phys_to_virt(paddr_t p)
{
	return (void *)(uintptr_t)(p + DIRECT_MAP_BASE);
}

/* Only for addresses inside the direct map. */
static inline paddr_t virt_to_phys(const void *v)
{
	return (paddr_t)(uintptr_t)v - DIRECT_MAP_BASE;
}

#endif
