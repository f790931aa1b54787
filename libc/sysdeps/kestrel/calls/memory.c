/* Memory objects and address spaces. */
#include <kestrel/calls.h>

#include "syscall_arch.h"

#define H(h) ((uint64_t)(int64_t)(h))

int64_t kestrel_memory_create(uint64_t size, uint32_t kind, uint64_t limit)
{
	return __syscall3(KESTREL_SYS_MEMORY_CREATE, size, kind, limit);
}

int64_t kestrel_memory_size(kestrel_handle_t h)
{
	return __syscall1(KESTREL_SYS_MEMORY_SIZE, H(h));
}

int64_t kestrel_memory_cow(kestrel_handle_t h, uint64_t offset, uint64_t size)
{
	return __syscall3(KESTREL_SYS_MEMORY_COW, H(h), offset, size);
}

int64_t kestrel_memory_physical(kestrel_handle_t h)
{
	return __syscall1(KESTREL_SYS_MEMORY_PHYSICAL, H(h));
}

int64_t kestrel_space_create(void)
{
	return __syscall0(KESTREL_SYS_SPACE_CREATE);
}

int64_t kestrel_space_map(kestrel_handle_t space, kestrel_handle_t memory, uint64_t offset,
			  uint64_t addr, uint64_t size, uint32_t flags)
{
	return __syscall6(KESTREL_SYS_SPACE_MAP, H(space), H(memory), offset, addr, size, flags);
}

int64_t kestrel_space_unmap(kestrel_handle_t space, uint64_t addr, uint64_t size)
{
	return __syscall3(KESTREL_SYS_SPACE_UNMAP, H(space), addr, size);
}

int64_t kestrel_space_protect(kestrel_handle_t space, uint64_t addr, uint64_t size, uint32_t prot)
{
	return __syscall4(KESTREL_SYS_SPACE_PROTECT, H(space), addr, size, prot);
}

int64_t kestrel_space_read(kestrel_handle_t space, uint64_t addr, void *buf, size_t size)
{
	return __syscall4(KESTREL_SYS_SPACE_READ, H(space), addr, (uint64_t)buf, size);
}

int64_t kestrel_space_write(kestrel_handle_t space, uint64_t addr, const void *buf, size_t size)
{
	return __syscall4(KESTREL_SYS_SPACE_WRITE, H(space), addr, (uint64_t)buf, size);
}
