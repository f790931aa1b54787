/* Powering off (init only). */
#include <kestrel/calls.h>

#include "syscall_arch.h"

int64_t kestrel_shutdown(int status)
{
	return __syscall1(KESTREL_SYS_SHUTDOWN, (uint64_t)(int64_t)status);
}
