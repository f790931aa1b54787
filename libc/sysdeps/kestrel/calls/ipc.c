/* Streams, completion queues, submissions, cancellation and timers. */
#include <kestrel/calls.h>

#include "syscall_arch.h"

#define H(h) ((uint64_t)(int64_t)(h))

int64_t kestrel_stream_create(kestrel_handle_t lanes[2])
{
	return __syscall1(KESTREL_SYS_STREAM_CREATE, (uint64_t)lanes);
}

int64_t kestrel_queue_create(uint32_t capacity, uint64_t *addr_out)
{
	return __syscall2(KESTREL_SYS_QUEUE_CREATE, capacity, (uint64_t)addr_out);
}

int64_t kestrel_queue_wait(kestrel_handle_t queue, uint32_t index, uint64_t timeout_ns)
{
	return __syscall3(KESTREL_SYS_QUEUE_WAIT, H(queue), index, timeout_ns);
}

int64_t kestrel_submit(kestrel_handle_t lane, kestrel_handle_t queue,
		       const struct kestrel_action *actions, uint32_t count, uint64_t tag)
{
	return __syscall5(KESTREL_SYS_SUBMIT, H(lane), H(queue), (uint64_t)actions, count, tag);
}

int64_t kestrel_submit_batch(kestrel_handle_t queue, const struct kestrel_submission *subs,
			     uint32_t count)
{
	return __syscall3(KESTREL_SYS_SUBMIT_BATCH, H(queue), (uint64_t)subs, count);
}

int64_t kestrel_cancel(kestrel_handle_t queue, uint64_t tag)
{
	return __syscall2(KESTREL_SYS_CANCEL, H(queue), tag);
}

int64_t kestrel_timer_submit(kestrel_handle_t queue, uint64_t deadline_ns, uint64_t tag)
{
	return __syscall3(KESTREL_SYS_TIMER_SUBMIT, H(queue), deadline_ns, tag);
}
