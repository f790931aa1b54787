/*
 * Messages to the parent over the lane in the start block (see
 * <kestrel/start.h>). One small completion queue serves them, made on
 * first use; a lock keeps threads from sharing it at the same time.
 */
#include <kestrel/ipc.h>
#include <kestrel/start.h>

#include "../../internal/libc.h"
#include "../../internal/lock.h"

static uint32_t parent_lock;
static struct kestrel_queue parent_queue;
static uint64_t parent_tag;

int64_t kestrel_parent_send(uint32_t type, int64_t v0, int64_t v1, uint64_t timeout_ns)
{
	if (!__kestrel_start || __kestrel_start->parent <= 0)
		return -KE_NOT_FOUND;
	struct kestrel_parent_message m = {KESTREL_PARENT_MAGIC, type, {v0, v1}};
	struct kestrel_action a = kestrel_act_send(&m, sizeof(m));
	uint64_t rec[KESTREL_COMPLETION_SIZE(1, 0) / 8 + 1];

	__lock(&parent_lock);
	int64_t r = 0;
	if (!parent_queue.handle)
		r = kestrel_queue_open(&parent_queue, KESTREL_QUEUE_MIN);
	if (r >= 0) {
		uint64_t tag = ++parent_tag;
		r = kestrel_call(&parent_queue, __kestrel_start->parent, &a, 1, tag, rec, sizeof(rec),
				 timeout_ns ? timeout_ns : KESTREL_FOREVER);
		if (r == -KE_TIMEOUT && kestrel_cancel(parent_queue.handle, tag) == 0)
			kestrel_queue_wait_tag(&parent_queue, tag, rec, sizeof(rec), KESTREL_FOREVER);
	}
	__unlock(&parent_lock);
	return r;
}
