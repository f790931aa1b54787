/* System calls on threads (kernel/generic/uthread.c); see <kestrel/syscall.h>. */
#ifndef KERNEL_SYS_THREAD_H
#define KERNEL_SYS_THREAD_H

#include <stdbool.h>
#include <stdint.h>

int64_t sys_thread_create(int64_t space, int64_t table, uint64_t ip, uint64_t sp, uint64_t arg,
			  uint64_t flags);
int64_t sys_thread_start(int64_t h);
int64_t sys_thread_kill(int64_t h);
int64_t sys_thread_regs(int64_t h, uint64_t set, uint64_t buf, uint64_t size, bool write);
int64_t sys_thread_set_priority(int64_t h, uint64_t prio);
int64_t sys_thread_set_affinity(int64_t h, uint64_t mask);

#endif
