/*
 * System-call dispatch (kernel/generic/syscall.c): the architecture's entry
 * path calls syscall_dispatch() with the call number and six arguments, on
 * the calling thread's kernel stack with interrupts enabled, and returns
 * its result to user mode. Numbers and semantics: <kestrel/syscall.h>.
 */
#ifndef KERNEL_SYSCALL_H
#define KERNEL_SYSCALL_H

#include <stdint.h>

int64_t syscall_dispatch(uint64_t number, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
			 uint64_t a4, uint64_t a5);

#endif
