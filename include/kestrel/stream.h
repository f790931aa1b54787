/*
 * Kestrel kernel API: streams and their actions.
 *
 * A stream has two lanes; stream_create() returns a handle to each. Work on
 * a lane is a *submission*: a chain of actions and a tag, completing later
 * as one record in a completion queue (queue.h) that holds one
 * struct kestrel_result per action.
 *
 * The actions of a chain run in order, each waiting for its counterpart on
 * the peer lane: SEND meets RECV_INLINE or RECV_BUFFER, PUSH_HANDLE meets
 * PULL_HANDLE, ATTACH_CREDS meets READ_CREDS, OFFER meets ACCEPT. Actions
 * meet in the order they were issued on each lane. When an action fails,
 * the rest of its chain fails with the same status. A pair that does not
 * match (SEND against PULL_HANDLE, ...) fails on both sides with KE_INVALID;
 * a message longer than the receiver's buffer fails both with KE_TOO_BIG.
 * When the peer lane is closed, pending and later actions fail with
 * KE_END_OF_LANE.
 *
 * Conversations: OFFER and ACCEPT create a new stream between the two
 * sides for one request. Actions flagged KESTREL_ACTF_CONVERSATION in the
 * same chain run on that new stream's lane instead of the submission's
 * lane; the result of OFFER/ACCEPT carries a handle to this side's lane of
 * the conversation (unless KESTREL_ACTF_NO_HANDLE), so a server can reply
 * later from another submission.
 */
#ifndef KESTREL_STREAM_H
#define KESTREL_STREAM_H

#include <stdint.h>

#define KESTREL_MAX_ACTIONS 16          /* per submission */
#define KESTREL_MAX_MESSAGE (64u << 10) /* bytes per SEND */
#define KESTREL_MAX_INLINE 4096u        /* bytes per RECV_INLINE */
#define KESTREL_MAX_BATCH 256           /* submissions per submit_batch() */

enum kestrel_action_type {
	KESTREL_ACT_OFFER = 1,
	KESTREL_ACT_ACCEPT = 2,
	KESTREL_ACT_SEND = 3,         /* buffer, length bytes */
	KESTREL_ACT_SEND_VECTOR = 4,  /* buffer: array of `length` struct kestrel_iovec */
	KESTREL_ACT_RECV_INLINE = 5,  /* up to length bytes, into the completion record */
	KESTREL_ACT_RECV_BUFFER = 6,  /* up to length bytes, into buffer */
	KESTREL_ACT_PUSH_HANDLE = 7,  /* handle, with rights & its own */
	KESTREL_ACT_PULL_HANDLE = 8,
	KESTREL_ACT_ATTACH_CREDS = 9,
	KESTREL_ACT_READ_CREDS = 10,
};

#define KESTREL_ACTF_CONVERSATION (1u << 0) /* run on the chain's conversation */
#define KESTREL_ACTF_NO_HANDLE (1u << 1)    /* OFFER/ACCEPT: no handle to the conversation */

struct kestrel_action {
	uint32_t type;   /* enum kestrel_action_type */
	uint32_t flags;  /* KESTREL_ACTF_* */
	uint64_t buffer; /* user address */
	uint64_t length;
	int32_t handle;  /* PUSH_HANDLE: the handle to send */
	uint32_t rights; /* PUSH_HANDLE: rights to keep (masked by the handle's) */
};

struct kestrel_iovec {
	uint64_t base;
	uint64_t length;
};

/* Credentials: 16 opaque bytes per handle table, set by its creator. */
struct kestrel_credentials {
	uint8_t bytes[16];
};

/* One per action, after the struct kestrel_completion. */
struct kestrel_result {
	int32_t status;  /* 0 or -KE_* */
	int32_t handle;  /* OFFER/ACCEPT/PULL_HANDLE: the new handle */
	uint32_t length; /* bytes sent or received; a receive that failed
			  * with KE_TOO_BIG: the size of the message */
	uint32_t offset; /* RECV_INLINE / READ_CREDS: where the data starts,
			  * in bytes from the start of the record; 0 when
			  * the action failed (no data) */
};

/* One entry of submit_batch(). */
struct kestrel_submission {
	int32_t lane;
	uint32_t count;   /* actions */
	uint64_t actions; /* user address of struct kestrel_action[count] */
	uint64_t tag;
};

#endif
