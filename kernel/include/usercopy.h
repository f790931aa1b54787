/*
 * Copying between the kernel and the calling thread's user memory.
 *
 * Every user pointer is untrusted: these functions check that the whole
 * range lies in user space (below KESTREL_USER_MAX, no wrap-around) and
 * copy through a fault-safe path — a page fault inside the copy is first
 * offered to the address space (demand paging, copy-on-write) and, if it
 * cannot be resolved, makes the copy return -KE_FAULT instead of panicking.
 *
 * Call with interrupts enabled and no spinlock held (a fault may allocate
 * memory or sleep).
 */
#ifndef KERNEL_USERCOPY_H
#define KERNEL_USERCOPY_H

#include <stddef.h>
#include <stdint.h>

/* 0 or -KE_FAULT. */
int usercopy_from(void *dst, uint64_t user_src, size_t n);
int usercopy_to(uint64_t user_dst, const void *src, size_t n);
/* Is [addr, addr+n) a range of user addresses? (No access is made.) */
int usercopy_range_ok(uint64_t addr, size_t n);

#endif
