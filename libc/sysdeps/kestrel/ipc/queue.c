/*
 * Reading a completion queue (<kestrel/queue.h>, <kestrel/ipc.h>).
 *
 * The kernel appends records at `tail` and never overwrites what lies
 * between `head` and `tail`; we read at `head` and publish a new head with
 * a release store once we are done with a record, which lets the kernel
 * reuse the room. tail is read with acquire ordering, so the record's bytes
 * are visible before we look at them. Indices grow forever (mod 2^32); a
 * record at index i sits at ring[i & (capacity - 1)] and never wraps.
 *
 * Records taken out of order (waiting for one tag while others complete)
 * are copied to a list, oldest first, and handed out before the ring.
 */
#include <kestrel/ipc.h>
#include <stdlib.h>
#include <string.h>

struct kestrel_saved_record {
	struct kestrel_saved_record *next;
	uint32_t length;
	uint64_t data[]; /* the record, 8-byte aligned like in the ring */
};

int64_t kestrel_queue_open(struct kestrel_queue *q, uint32_t capacity)
{
	uint64_t addr = 0;
	memset(q, 0, sizeof(*q));
	int64_t h = kestrel_queue_create(capacity, &addr);
	if (h < 0)
		return h;
	q->handle = (kestrel_handle_t)h;
	q->header = (struct kestrel_queue_header *)(uintptr_t)addr;
	q->capacity = q->header->capacity;
	q->ring = (uint8_t *)(uintptr_t)addr + 64;
	if (q->header->magic != KESTREL_QUEUE_MAGIC || q->capacity != capacity)
		q->corrupt = true;
	return 0;
}

void kestrel_queue_close(struct kestrel_queue *q)
{
	while (q->saved) {
		struct kestrel_saved_record *s = q->saved;
		q->saved = s->next;
		free(s);
	}
	if (q->handle > 0)
		kestrel_handle_close(q->handle);
	/* The mapping is ours, not the handle's: without this each closed
	 * queue would stay mapped (and its pages allocated) for good. */
	if (q->header)
		kestrel_space_unmap(KESTREL_THIS_SPACE, (uint64_t)(uintptr_t)q->header,
				    (64 + (uint64_t)q->capacity + KESTREL_PAGE_SIZE - 1) &
					    ~(uint64_t)(KESTREL_PAGE_SIZE - 1));
	q->handle = 0;
	q->header = NULL;
	q->ring = NULL;
}

bool kestrel_completion_valid(const struct kestrel_completion *c, uint32_t capacity)
{
	uint32_t len = c->rec.length;
	if (len < sizeof(*c) || len % 8 || len > capacity)
		return false;
	if (c->count > (len - sizeof(*c)) / sizeof(struct kestrel_result))
		return false;
	uint32_t results_end = (uint32_t)(sizeof(*c) + c->count * sizeof(struct kestrel_result));
	const struct kestrel_result *r = kestrel_results(c);
	for (uint32_t i = 0; i < c->count; i++) {
		if (r[i].offset == 0)
			continue;
		if (r[i].offset < results_end || r[i].offset > len || r[i].length > len - r[i].offset)
			return false;
	}
	return true;
}

const void *kestrel_result_data(const struct kestrel_completion *c, uint32_t i)
{
	if (i >= c->count)
		return NULL;
	const struct kestrel_result *r = &kestrel_results(c)[i];
	if (r->offset == 0)
		return NULL;
	return (const uint8_t *)c + r->offset;
}

static uint32_t load_tail(struct kestrel_queue *q)
{
	return __atomic_load_n(&q->header->tail, __ATOMIC_ACQUIRE);
}

static void store_head(struct kestrel_queue *q, uint32_t head)
{
	__atomic_store_n(&q->header->head, head, __ATOMIC_RELEASE);
}

const struct kestrel_completion *kestrel_queue_peek(struct kestrel_queue *q)
{
	if (q->corrupt)
		return NULL;
	uint32_t head = q->header->head;
	uint32_t tail = load_tail(q);
	while (head != tail) {
		uint32_t off = head & (q->capacity - 1);
		const struct kestrel_record *rec = (const void *)(q->ring + off);
		if (tail - head < sizeof(*rec) || rec->length < sizeof(*rec) || rec->length % 8 ||
		    rec->length > q->capacity - off || rec->length > tail - head) {
			q->corrupt = true;
			return NULL;
		}
		if (rec->kind != KESTREL_REC_PAD) {
			const struct kestrel_completion *c = (const void *)rec;
			if (!kestrel_completion_valid(c, q->capacity - off)) {
				q->corrupt = true;
				return NULL;
			}
			return c;
		}
		head += rec->length;
		store_head(q, head);
	}
	return NULL;
}

void kestrel_queue_pop(struct kestrel_queue *q)
{
	const struct kestrel_completion *c = kestrel_queue_peek(q);
	if (c)
		store_head(q, q->header->head + c->rec.length);
}

int64_t kestrel_queue_wait_ready(struct kestrel_queue *q, uint64_t timeout_ns)
{
	uint64_t deadline = timeout_ns == KESTREL_FOREVER ? 0 : (uint64_t)kestrel_clock() + timeout_ns;
	for (;;) {
		if (kestrel_queue_peek(q))
			return 0;
		if (q->corrupt)
			return -KE_INVALID;
		uint64_t wait = 0; /* forever */
		if (deadline) {
			uint64_t now = (uint64_t)kestrel_clock();
			if (now >= deadline)
				return -KE_TIMEOUT;
			wait = deadline - now;
		}
		int64_t r = kestrel_queue_wait(q->handle, q->header->head, wait);
		if (r < 0 && r != -KE_TIMEOUT)
			return r;
	}
}

static int64_t copy_out(const void *rec, uint32_t length, void *buf, size_t size)
{
	if (length > size)
		return -KE_TOO_BIG;
	memcpy(buf, rec, length);
	return length;
}

int64_t kestrel_queue_take(struct kestrel_queue *q, void *buf, size_t size, uint64_t timeout_ns)
{
	if (q->saved) {
		struct kestrel_saved_record *s = q->saved;
		int64_t r = copy_out(s->data, s->length, buf, size);
		if (r >= 0) {
			q->saved = s->next;
			free(s);
		}
		return r;
	}
	int64_t r = kestrel_queue_wait_ready(q, timeout_ns);
	if (r < 0)
		return r;
	const struct kestrel_completion *c = kestrel_queue_peek(q);
	r = copy_out(c, c->rec.length, buf, size);
	if (r >= 0)
		kestrel_queue_pop(q);
	return r;
}

/* Move the ring's next record to the end of the saved list. */
static int save_next(struct kestrel_queue *q)
{
	const struct kestrel_completion *c = kestrel_queue_peek(q);
	struct kestrel_saved_record *s = malloc(sizeof(*s) + c->rec.length);
	if (!s)
		return -KE_NO_MEMORY;
	s->next = NULL;
	s->length = c->rec.length;
	memcpy(s->data, c, c->rec.length);
	struct kestrel_saved_record **p = &q->saved;
	while (*p)
		p = &(*p)->next;
	*p = s;
	kestrel_queue_pop(q);
	return 0;
}

int64_t kestrel_queue_wait_tag(struct kestrel_queue *q, uint64_t tag, void *buf, size_t size,
			       uint64_t timeout_ns)
{
	for (struct kestrel_saved_record **p = &q->saved; *p; p = &(*p)->next) {
		struct kestrel_saved_record *s = *p;
		const struct kestrel_completion *c = (const void *)s->data;
		if (c->tag != tag)
			continue;
		int64_t r = copy_out(c, s->length, buf, size);
		if (r >= 0) {
			*p = s->next;
			free(s);
		}
		return r;
	}
	uint64_t deadline = timeout_ns == KESTREL_FOREVER ? KESTREL_FOREVER
							  : (uint64_t)kestrel_clock() + timeout_ns;
	for (;;) {
		uint64_t left = KESTREL_FOREVER;
		if (deadline != KESTREL_FOREVER) {
			uint64_t now = (uint64_t)kestrel_clock();
			left = now >= deadline ? 0 : deadline - now;
		}
		int64_t r = kestrel_queue_wait_ready(q, left ? left : 1);
		if (r < 0)
			return r;
		const struct kestrel_completion *c = kestrel_queue_peek(q);
		if (c->tag == tag) {
			r = copy_out(c, c->rec.length, buf, size);
			if (r >= 0)
				kestrel_queue_pop(q);
			return r;
		}
		r = save_next(q);
		if (r < 0)
			return r;
	}
}

int64_t kestrel_call(struct kestrel_queue *q, kestrel_handle_t lane,
		     const struct kestrel_action *actions, uint32_t count, uint64_t tag, void *buf,
		     size_t size, uint64_t timeout_ns)
{
	int64_t r = kestrel_submit(lane, q->handle, actions, count, tag);
	if (r < 0)
		return r;
	r = kestrel_queue_wait_tag(q, tag, buf, size, timeout_ns);
	if (r < 0)
		return r;
	return ((const struct kestrel_completion *)buf)->status;
}
