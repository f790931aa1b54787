/*
 * <kestrel/ipc.h>: a client library for Kestrel's asynchronous IPC.
 *
 * - struct kestrel_queue reads a completion queue (<kestrel/queue.h>)
 *   without system calls: peek at the next record, pop it (advancing the
 *   shared head), and block in queue_wait only when the ring is empty. Pad
 *   records are skipped.
 * - kestrel_act_*() build actions (<kestrel/stream.h>) for a chain.
 * - kestrel_call() submits a chain and waits for *its* completion; records
 *   for other tags that arrive meanwhile are kept (copied) and handed out
 *   later by kestrel_queue_take() / kestrel_queue_wait_tag(), so blocking
 *   calls and an event loop can share a queue.
 *
 * Timeouts are relative nanoseconds; KESTREL_FOREVER waits without limit.
 * A struct kestrel_queue is not thread-safe: one thread reads it.
 */
#ifndef _KESTREL_IPC_H
#define _KESTREL_IPC_H

#include <kestrel/calls.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KESTREL_FOREVER UINT64_MAX

struct kestrel_saved_record;

struct kestrel_queue {
	kestrel_handle_t handle;
	uint32_t capacity;
	struct kestrel_queue_header *header;
	uint8_t *ring;
	struct kestrel_saved_record *saved; /* completions taken aside, oldest first */
	bool corrupt;                       /* a record was malformed: reading stopped */
};

/* Create a queue of `capacity` ring bytes (a power of two, 4 KiB .. 1 MiB). */
int64_t kestrel_queue_open(struct kestrel_queue *q, uint32_t capacity);
/* Close the handle and drop saved records. */
void kestrel_queue_close(struct kestrel_queue *q);

/* Zero-copy reading. peek: the next unread record in the ring (pads are
 * skipped), or NULL if there is none (or the queue is corrupt). The record
 * stays valid until pop. Records saved aside are not seen by peek. */
const struct kestrel_completion *kestrel_queue_peek(struct kestrel_queue *q);
void kestrel_queue_pop(struct kestrel_queue *q);
/* Block until the ring holds an unread record (0), or -KE_TIMEOUT. */
int64_t kestrel_queue_wait_ready(struct kestrel_queue *q, uint64_t timeout_ns);

/* Copying reading: the oldest saved record, else the next one in the ring
 * (waiting up to timeout_ns). The record is copied into buf; returns its
 * length, -KE_TIMEOUT, -KE_TOO_BIG (buf too small; the record stays), or
 * -KE_INVALID (the queue is corrupt). */
int64_t kestrel_queue_take(struct kestrel_queue *q, void *buf, size_t size, uint64_t timeout_ns);
/* Wait for the completion with `tag` (saving others aside) and copy it to
 * buf; returns its length or an error as kestrel_queue_take. */
int64_t kestrel_queue_wait_tag(struct kestrel_queue *q, uint64_t tag, void *buf, size_t size,
			       uint64_t timeout_ns);

/* Submit a chain on lane with tag and wait for its completion (copied into
 * buf, which must hold the whole record). Returns the completion's status
 * (0 or -KE_*), the submit error, or a waiting error (-KE_TIMEOUT: the
 * chain is still pending — cancel it). */
int64_t kestrel_call(struct kestrel_queue *q, kestrel_handle_t lane,
		     const struct kestrel_action *actions, uint32_t count, uint64_t tag, void *buf,
		     size_t size, uint64_t timeout_ns);

/* A completion's results, and the inline data of result i (RECV_INLINE,
 * READ_CREDS), or NULL. */
static inline const struct kestrel_result *kestrel_results(const struct kestrel_completion *c)
{
	return (const struct kestrel_result *)(c + 1);
}
const void *kestrel_result_data(const struct kestrel_completion *c, uint32_t i);
/* Is the record well formed (length, result count, data inside it)? */
bool kestrel_completion_valid(const struct kestrel_completion *c, uint32_t capacity);

/* Building actions. */
static inline struct kestrel_action kestrel_act(uint32_t type, uint32_t flags, const void *buf,
						uint64_t length)
{
	struct kestrel_action a = {type, flags, (uint64_t)(uintptr_t)buf, length, 0, 0};
	return a;
}
static inline struct kestrel_action kestrel_act_send(const void *buf, uint64_t length)
{
	return kestrel_act(KESTREL_ACT_SEND, 0, buf, length);
}
static inline struct kestrel_action kestrel_act_send_vector(const struct kestrel_iovec *v,
							    uint64_t count)
{
	return kestrel_act(KESTREL_ACT_SEND_VECTOR, 0, v, count);
}
static inline struct kestrel_action kestrel_act_recv_inline(uint64_t max)
{
	return kestrel_act(KESTREL_ACT_RECV_INLINE, 0, NULL, max);
}
static inline struct kestrel_action kestrel_act_recv_buffer(void *buf, uint64_t max)
{
	return kestrel_act(KESTREL_ACT_RECV_BUFFER, 0, buf, max);
}
static inline struct kestrel_action kestrel_act_push_handle(kestrel_handle_t h, uint32_t rights)
{
	struct kestrel_action a = kestrel_act(KESTREL_ACT_PUSH_HANDLE, 0, NULL, 0);
	a.handle = h;
	a.rights = rights;
	return a;
}
static inline struct kestrel_action kestrel_act_pull_handle(void)
{
	return kestrel_act(KESTREL_ACT_PULL_HANDLE, 0, NULL, 0);
}
static inline struct kestrel_action kestrel_act_offer(uint32_t flags)
{
	return kestrel_act(KESTREL_ACT_OFFER, flags, NULL, 0);
}
static inline struct kestrel_action kestrel_act_accept(uint32_t flags)
{
	return kestrel_act(KESTREL_ACT_ACCEPT, flags, NULL, 0);
}
static inline struct kestrel_action kestrel_act_attach_creds(void)
{
	return kestrel_act(KESTREL_ACT_ATTACH_CREDS, 0, NULL, 0);
}
static inline struct kestrel_action kestrel_act_read_creds(void)
{
	return kestrel_act(KESTREL_ACT_READ_CREDS, 0, NULL, 0);
}
/* The same action, run on the chain's conversation. */
static inline struct kestrel_action kestrel_on_conversation(struct kestrel_action a)
{
	a.flags |= KESTREL_ACTF_CONVERSATION;
	return a;
}

/* A buffer size that holds a completion with n results and `data` bytes
 * of inline data (with room for the kernel's alignment of the data). */
#define KESTREL_COMPLETION_SIZE(n, data)                                                       \
	(sizeof(struct kestrel_completion) + (n) * sizeof(struct kestrel_result) + (data) + 64)

#ifdef __cplusplus
}
#endif

#endif
