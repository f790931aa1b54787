/*
 * Kestrel kernel API: completion queues.
 *
 * Asynchronous operations complete into a queue that lives in the
 * submitter's memory. queue_create() maps it into the caller's address
 * space: a header, then a ring of `capacity` bytes holding variable-size
 * records. The kernel appends records and advances `tail`; the program
 * reads records from `head` and advances `head`. Reading needs no system
 * call; queue_wait() blocks until tail moves past a given index.
 *
 * Indices are byte offsets that grow forever (mod 2^32); the record at
 * index i starts at ring[i % capacity]. Records are 8-byte aligned and
 * never wrap: when a record does not fit before the end of the ring, the
 * kernel writes a KESTREL_REC_PAD record filling the rest and starts over
 * at offset 0.
 *
 * No completion is ever dropped: a submission reserves room for its
 * completion when it is made (and fails with KE_NO_SPACE if the ring,
 * less what is unread and already reserved, cannot hold it).
 */
#ifndef KESTREL_QUEUE_H
#define KESTREL_QUEUE_H

#include <stdint.h>

#define KESTREL_QUEUE_MAGIC 0x4b515545u /* "KQUE" */
#define KESTREL_QUEUE_MIN 4096u         /* ring sizes: powers of two in this range */
#define KESTREL_QUEUE_MAX (1u << 20)

struct kestrel_queue_header {
	uint32_t magic;
	uint32_t capacity;      /* ring bytes */
	volatile uint32_t tail; /* written by the kernel */
	volatile uint32_t head; /* written by the program: records before it are consumed */
	uint32_t reserved[12];  /* the ring starts at offset 64 */
};

/* Record kinds. */
enum kestrel_record_kind {
	KESTREL_REC_PAD = 0,        /* skip `length` bytes */
	KESTREL_REC_SUBMISSION = 1, /* struct kestrel_completion + results */
	KESTREL_REC_TIMER = 2,      /* struct kestrel_completion, no results */
	KESTREL_REC_IRQ = 3,        /* struct kestrel_completion, no results; status = IRQ sequence (device.h) */
	KESTREL_REC_OBSERVE = 4,    /* struct kestrel_completion + struct kestrel_observation */
};

struct kestrel_record {
	uint32_t length; /* of the whole record, a multiple of 8 */
	uint32_t kind;
};

/* Every non-pad record starts with this. */
struct kestrel_completion {
	struct kestrel_record rec;
	uint64_t tag;     /* the submitter's tag */
	int64_t status;   /* 0, or -KE_* for the operation as a whole */
	uint32_t count;   /* results that follow (one per action) */
	uint32_t reserved;
};

#endif
