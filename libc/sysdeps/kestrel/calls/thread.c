/* Threads. */
#include <kestrel/calls.h>

#include "syscall_arch.h"

#define H(h) ((uint64_t)(int64_t)(h))

int64_t kestrel_thread_create(kestrel_handle_t space, kestrel_handle_t table, uint64_t ip,
			      uint64_t sp, uint64_t arg, uint32_t flags)
{
	return __syscall6(KESTREL_SYS_THREAD_CREATE, H(space), H(table), ip, sp, arg, flags);
}

int64_t kestrel_thread_start(kestrel_handle_t thread)
{
	return __syscall1(KESTREL_SYS_THREAD_START, H(thread));
}

int64_t kestrel_thread_kill(kestrel_handle_t thread)
{
	return __syscall1(KESTREL_SYS_THREAD_KILL, H(thread));
}

_Noreturn void kestrel_thread_exit(void)
{
	__syscall0(KESTREL_SYS_THREAD_EXIT);
	__builtin_trap();
}

int64_t kestrel_thread_yield(void)
{
	return __syscall0(KESTREL_SYS_THREAD_YIELD);
}

int64_t kestrel_thread_get_regs(kestrel_handle_t thread, uint32_t set, void *buf, size_t size)
{
	return __syscall4(KESTREL_SYS_THREAD_GET_REGS, H(thread), set, (uint64_t)buf, size);
}

int64_t kestrel_thread_set_regs(kestrel_handle_t thread, uint32_t set, const void *buf,
				size_t size)
{
	return __syscall4(KESTREL_SYS_THREAD_SET_REGS, H(thread), set, (uint64_t)buf, size);
}

int64_t kestrel_thread_set_priority(kestrel_handle_t thread, uint32_t priority)
{
	return __syscall2(KESTREL_SYS_THREAD_SET_PRIORITY, H(thread), priority);
}

int64_t kestrel_thread_set_affinity(kestrel_handle_t thread, uint64_t cpu_mask)
{
	return __syscall2(KESTREL_SYS_THREAD_SET_AFFINITY, H(thread), cpu_mask);
}
