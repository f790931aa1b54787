/*
 * Device memory for drivers: memory_physical_range() (see physical.h,
 * <kestrel/syscall.h> and docs/kernel/devices.md).
 *
 * What may be mapped: a range is refused if it overlaps anything the boot
 * memory map lists except "reserved" — usable RAM (the page allocator's),
 * the kernel image, boot modules, boot-loader memory (given to the
 * allocator after boot), ACPI tables and NVS, bad memory — or the
 * registers the kernel drives itself (arch_physical_kernel_owned: local
 * APIC, IO APICs). Holes in the map and "reserved" ranges are where
 * firmware puts device memory (PCI BARs, the ECAM window, HPET, VGA).
 * A driver could otherwise read the kernel or other processes' pages.
 *
 * The capability object is immutable and stateless: no lock.
 */
#include "physical.h"

#include <kestrel/bootinfo.h>
#include <kestrel/device.h>
#include <kestrel/error.h>
#include <kestrel/memory.h>

#include "arch.h"
#include "handle.h"
#include "memobj.h"
#include "mmu.h"
#include "slab.h"

const struct kestrel_bootinfo *kernel_boot_info(void); /* main.c */

#define RANGE_RIGHTS                                                                               \
	(KESTREL_RIGHT_READ | KESTREL_RIGHT_WRITE | KESTREL_RIGHT_MAP | KESTREL_RIGHT_TRANSFER |   \
	 KESTREL_RIGHT_DUPLICATE)

static void physical_destroy(struct kobject *obj)
{
	kfree(obj);
}

struct kobject *physical_capability_create(void)
{
	struct kobject *obj = kzalloc(sizeof(*obj));
	if (obj)
		kobject_init(obj, KESTREL_OBJ_PHYSICAL, physical_destroy);
	return obj;
}

/* Does [base, end) overlap memory that is not the devices'? */
static bool overlaps_memory(uint64_t base, uint64_t end)
{
	const struct kestrel_bootinfo *bi = kernel_boot_info();
	for (uint32_t i = 0; i < bi->mem_range_count && i < KESTREL_BOOT_MAX_MEM_RANGES; i++) {
		const struct kestrel_mem_range *r = &bi->mem_ranges[i];
		if (r->type == KESTREL_MEM_RESERVED || r->length == 0)
			continue;
		uint64_t r_end = r->base + r->length < r->base ? UINT64_MAX : r->base + r->length;
		if (base < r_end && r->base < end)
			return true;
	}
	return false;
}

int64_t sys_memory_physical_range(int64_t physical_h, uint64_t base, uint64_t size, uint64_t cache)
{
	struct kobject *cap;
	int rc = handle_get(physical_h, KESTREL_OBJ_PHYSICAL, KESTREL_RIGHT_CONTROL, &cap, 0);
	if (rc)
		return rc;
	kobject_put(cap); /* only checked */
	uint64_t limit = 1ull << arch_physical_address_bits();
	if (size == 0 || size > KESTREL_MEMORY_MAX || (base | size) & (PAGE_SIZE - 1) ||
	    base >= limit || size > limit - base)
		return -KE_INVALID;
	uint32_t mode;
	switch (cache) {
	case KESTREL_CACHE_UNCACHED:
		mode = MMU_CACHE_UNCACHED;
		break;
	case KESTREL_CACHE_WRITE_THROUGH:
		mode = MMU_CACHE_WRITE_THROUGH;
		break;
	case KESTREL_CACHE_WRITE_COMBINING:
		return -KE_NOT_SUPPORTED; /* needs a PAT entry of its own */
	default:
		return -KE_INVALID;
	}
	/* Page 0 is RAM on every PC, and 0 means "no page" to the MMU code. */
	if (base == 0 || overlaps_memory(base, base + size) ||
	    arch_physical_kernel_owned(base, size))
		return -KE_ACCESS;
	struct memobj *m = memobj_create_physical(base, size, mode);
	if (!m)
		return -KE_NO_MEMORY;
	int64_t h = handle_install(&m->obj, RANGE_RIGHTS);
	kobject_put(&m->obj);
	return h;
}
