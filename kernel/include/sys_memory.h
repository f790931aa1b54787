/*
 * System calls on memory objects and address spaces (bodies in
 * kernel/generic/sys_memory.c; semantics in <kestrel/syscall.h>). Each
 * returns a value >= 0 or -KE_*. They act for the calling thread: handles
 * are looked up in its table, buffers are in its address space. Call with
 * interrupts enabled and no spinlock held.
 */
#ifndef KERNEL_SYS_MEMORY_H
#define KERNEL_SYS_MEMORY_H

#include <stdint.h>

/* Rights of a new memory object's handle (memory_create, memory_cow). */
#define SYS_MEMORY_RIGHTS                                                      \
	(KESTREL_RIGHT_READ | KESTREL_RIGHT_WRITE | KESTREL_RIGHT_MAP |        \
	 KESTREL_RIGHT_EXECUTE | KESTREL_RIGHT_TRANSFER | KESTREL_RIGHT_DUPLICATE | \
	 KESTREL_RIGHT_CONTROL)

/* Most bytes one space_read / space_write call copies. */
#define SYS_SPACE_COPY_MAX (1ull << 20)

int64_t sys_memory_create(uint64_t size, uint64_t kind, uint64_t limit);
int64_t sys_memory_size(int64_t h);
int64_t sys_memory_cow(int64_t h, uint64_t offset, uint64_t size);
int64_t sys_memory_physical(int64_t h);
int64_t sys_space_create(void);
int64_t sys_space_map(int64_t space, int64_t memory, uint64_t offset, uint64_t addr,
		      uint64_t size, uint64_t flags);
int64_t sys_space_unmap(int64_t space, uint64_t addr, uint64_t size);
int64_t sys_space_protect(int64_t space, uint64_t addr, uint64_t size, uint64_t prot);
int64_t sys_space_read(int64_t space, uint64_t addr, uint64_t user_buf, uint64_t size);
int64_t sys_space_write(int64_t space, uint64_t addr, uint64_t user_buf, uint64_t size);

#endif
