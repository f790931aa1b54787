/* What the kernel reports about the machine and its objects. */
#include <kestrel/calls.h>

#include "syscall_arch.h"

int64_t kestrel_system_info(struct kestrel_system_info *out)
{
	return __syscall1(KESTREL_SYS_SYSTEM_INFO, (uint64_t)out);
}
