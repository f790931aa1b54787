/* kestrel_syscall: any call with raw arguments (tests, fuzzing). */
#include <kestrel/calls.h>

#include "syscall_arch.h"

int64_t kestrel_syscall(uint64_t number, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
			uint64_t a5, uint64_t a6)
{
	return __syscall6(number, a1, a2, a3, a4, a5, a6);
}
