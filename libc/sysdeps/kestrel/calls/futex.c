/* Futexes. */
#include <kestrel/calls.h>

#include "syscall_arch.h"

int64_t kestrel_futex_wait(const uint32_t *addr, uint32_t expected, uint64_t timeout_ns)
{
	return __syscall3(KESTREL_SYS_FUTEX_WAIT, (uint64_t)addr, expected, timeout_ns);
}

int64_t kestrel_futex_wake(const uint32_t *addr, uint32_t count)
{
	return __syscall2(KESTREL_SYS_FUTEX_WAKE, (uint64_t)addr, count);
}
