/*
 * The initrd as init sees it: the kernel hands over the archive as a
 * memory object (READ MAP DUPLICATE TRANSFER); we map it read-only once
 * and look files up with the cpio reader. The archive is still untrusted
 * input: the reader checks every header against its bounds.
 */
#include <kestrel/calls.h>
#include <kestrel/cpio.h>

#include "init.h"

struct initrd initrd;

int64_t initrd_map(const struct kestrel_init_info *info)
{
	int64_t objsize = kestrel_memory_size(info->initrd);
	if (objsize < 0)
		return objsize;
	if (info->initrd_size == 0 || info->initrd_size > (uint64_t)objsize)
		return -KE_INVALID;
	int64_t addr = kestrel_space_map(KESTREL_THIS_SPACE, info->initrd, 0, 0, (uint64_t)objsize,
					 KESTREL_MAP_READ);
	if (addr < 0)
		return addr;
	initrd.handle = info->initrd;
	initrd.data = (const uint8_t *)(uintptr_t)addr;
	initrd.size = info->initrd_size;
	return 0;
}

bool initrd_file(const char *path, const void **data, size_t *size)
{
	struct kestrel_cpio_entry e;
	if (!initrd.data || kestrel_cpio_find(initrd.data, initrd.size, path, &e) != 1)
		return false;
	*data = e.data;
	*size = e.size;
	return true;
}
