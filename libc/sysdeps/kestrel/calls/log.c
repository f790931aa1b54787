/* The kernel log and the monotonic clock. */
#include <kestrel/calls.h>

#include "syscall_arch.h"

int64_t kestrel_log(const char *text, size_t length, int level)
{
	return __syscall3(KESTREL_SYS_LOG, (uint64_t)text, length, (uint64_t)(int64_t)level);
}

int64_t kestrel_clock(void)
{
	return __syscall0(KESTREL_SYS_CLOCK);
}
