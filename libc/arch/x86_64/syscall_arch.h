/*
 * The x86_64 system-call instruction, one inline stub per arity.
 *
 * Kestrel's convention (include/kestrel/syscall.h): call number in rax,
 * arguments in rdi, rsi, rdx, r10, r8, r9; the result in rax (>= 0, or
 * -KE_*). The CPU overwrites rcx (return rip) and r11 (rflags); the kernel
 * preserves every other register. "memory" is clobbered because calls read
 * and write user buffers the compiler cannot see through the arguments.
 */
#ifndef LIBC_ARCH_SYSCALL_ARCH_H
#define LIBC_ARCH_SYSCALL_ARCH_H

#include <stdint.h>

static inline int64_t __syscall0(uint64_t n)
{
	int64_t ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n) : "rcx", "r11", "memory");
	return ret;
}

static inline int64_t __syscall1(uint64_t n, uint64_t a1)
{
	int64_t ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a1) : "rcx", "r11", "memory");
	return ret;
}

static inline int64_t __syscall2(uint64_t n, uint64_t a1, uint64_t a2)
{
	int64_t ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a1), "S"(a2)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline int64_t __syscall3(uint64_t n, uint64_t a1, uint64_t a2, uint64_t a3)
{
	int64_t ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a1), "S"(a2), "d"(a3)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline int64_t __syscall4(uint64_t n, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
	int64_t ret;
	register uint64_t r10 __asm__("r10") = a4;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline int64_t __syscall5(uint64_t n, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
				 uint64_t a5)
{
	int64_t ret;
	register uint64_t r10 __asm__("r10") = a4;
	register uint64_t r8 __asm__("r8") = a5;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline int64_t __syscall6(uint64_t n, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
				 uint64_t a5, uint64_t a6)
{
	int64_t ret;
	register uint64_t r10 __asm__("r10") = a4;
	register uint64_t r8 __asm__("r8") = a5;
	register uint64_t r9 __asm__("r9") = a6;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#endif
