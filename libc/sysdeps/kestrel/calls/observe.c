/* Thread observation: thread_observe and thread_resume (see <kestrel/syscall.h>). */
#include <kestrel/calls.h>

#include "syscall_arch.h"

#define H(h) ((uint64_t)(int64_t)(h))

int64_t kestrel_thread_observe(kestrel_handle_t thread, kestrel_handle_t queue, uint64_t tag)
{
	return __syscall3(KESTREL_SYS_THREAD_OBSERVE, H(thread), H(queue), tag);
}

int64_t kestrel_thread_resume(kestrel_handle_t thread, uint64_t sequence, uint32_t action)
{
	return __syscall3(KESTREL_SYS_THREAD_RESUME, H(thread), sequence, action);
}
