/*
 * kapi-fuzz: random action chains (submit, submit_batch), cancels and
 * timers, and the reading of what they complete with.
 *
 * Chains go mostly to the two lanes of the newest stream, so actions of
 * both sides meet and pair (matching or not); their actions have random
 * types, flags, buffers, lengths, handles and rights. Every record the
 * kernel writes to the worker's queues is read back and checked: well
 * formed, of a known kind, with a tag the worker used.
 */
#include <string.h>

#include "fuzz.h"

#define NR(x) ((uint64_t)KESTREL_SYS_##x)

static uint32_t action_type(struct fuzz_worker *w)
{
	if (fz_chance(w, 90))
		return 1 + (uint32_t)fz_below(w, KESTREL_ACT_READ_CREDS);
	return fz_chance(w, 50) ? (uint32_t)fz_below(w, 16) : (uint32_t)fz_rand(w);
}

static uint32_t action_flags(struct fuzz_worker *w)
{
	switch (fz_below(w, 20)) {
	case 0:
	case 1:
	case 2:
		return KESTREL_ACTF_CONVERSATION;
	case 3:
	case 4:
		return KESTREL_ACTF_NO_HANDLE;
	case 5:
		return KESTREL_ACTF_CONVERSATION | KESTREL_ACTF_NO_HANDLE;
	case 6:
		return (uint32_t)fz_rand(w);
	default:
		return 0;
	}
}

static uint64_t small_length(struct fuzz_worker *w)
{
	return fz_chance(w, 75) ? fz_below(w, 200) : fz_size(w);
}

/* Where a RECV_BUFFER may land: the receive area, or nowhere valid. The
 * copy happens whenever the peer arrives — maybe during another call —
 * so it must never be a buffer the worker reads. */
static uint64_t recv_pointer(struct fuzz_worker *w)
{
	uint64_t base = (uint64_t)(uintptr_t)w->recv;
	uint64_t span = FUZZ_RECV_PAGES * KESTREL_PAGE_SIZE;
	switch (fz_below(w, 10)) {
	case 0:
		return KAPI_KERNEL_ADDR;
	case 1:
		return KAPI_UNMAPPED;
	case 2:
		return (uint64_t)(uintptr_t)w->ro_page;
	case 3:
		return base + span - fz_below(w, 64); /* runs off the end */
	default:
		return base + fz_below(w, span / 2);
	}
}

static void build_iovecs(struct fuzz_worker *w)
{
	for (uint32_t i = 0; i < KESTREL_MAX_ACTIONS + 2; i++) {
		w->iov[i].base = fz_ptr(w);
		w->iov[i].length = small_length(w);
	}
}

static void build_action(struct fuzz_worker *w, struct kestrel_action *a)
{
	memset(a, 0, sizeof(*a));
	a->type = action_type(w);
	a->flags = action_flags(w);
	switch (a->type) {
	case KESTREL_ACT_SEND:
		a->buffer = fz_ptr(w);
		a->length = small_length(w);
		break;
	case KESTREL_ACT_SEND_VECTOR:
		build_iovecs(w);
		a->buffer = fz_chance(w, 85) ? (uint64_t)(uintptr_t)w->iov : fz_ptr(w);
		a->length = fz_chance(w, 85) ? fz_below(w, KESTREL_MAX_ACTIONS + 2) : fz_size(w);
		break;
	case KESTREL_ACT_RECV_INLINE:
		a->length = small_length(w);
		break;
	case KESTREL_ACT_RECV_BUFFER:
		a->buffer = recv_pointer(w);
		a->length = small_length(w);
		break;
	case KESTREL_ACT_PUSH_HANDLE:
		a->handle = (int32_t)fz_handle(w);
		a->rights = fz_rights(w);
		break;
	default:
		/* Fields the action does not use: anything. */
		if (fz_chance(w, 20)) {
			a->buffer = fz_value(w);
			a->length = fz_value(w);
			a->handle = (int32_t)fz_rand(w);
		}
		break;
	}
}

static uint32_t chain_length(struct fuzz_worker *w)
{
	switch (fz_below(w, 20)) {
	case 0:
		return 0;
	case 1:
		return KESTREL_MAX_ACTIONS + 1;
	case 2:
	case 3:
	case 4:
		return 5 + (uint32_t)fz_below(w, KESTREL_MAX_ACTIONS - 4);
	default:
		return 1 + (uint32_t)fz_below(w, 4);
	}
}

/* Build chain i; returns its count (the array holds two more actions than
 * a chain may, so an over-long count still reads built actions). */
static uint32_t build_chain(struct fuzz_worker *w, uint32_t i)
{
	uint32_t n = chain_length(w);
	for (uint32_t k = 0; k < n && k < KESTREL_MAX_ACTIONS + 2; k++)
		build_action(w, &w->actions[i][k]);
	return n;
}

static int64_t pick_lane(struct fuzz_worker *w)
{
	if (w->last_lanes[0] && fz_chance(w, 60))
		return w->last_lanes[fz_below(w, 2)];
	if (fz_chance(w, 75))
		return fz_pool_pick_type(w, KESTREL_OBJ_LANE);
	return fz_handle(w);
}

static int64_t pick_queue(struct fuzz_worker *w)
{
	if (w->queue_n && fz_chance(w, 85))
		return w->queues[fz_below(w, w->queue_n)].h;
	return fz_handle(w);
}

static uint64_t actions_pointer(struct fuzz_worker *w, uint32_t i)
{
	if (fz_chance(w, 92))
		return (uint64_t)(uintptr_t)w->actions[i];
	return fz_ptr(w);
}

static void submit_one(struct fuzz_worker *w)
{
	uint32_t n = build_chain(w, 0);
	uint64_t count = fz_chance(w, 95) ? n : fz_value(w);
	int64_t r = fz_call(w, NR(SUBMIT), (uint64_t)pick_lane(w), (uint64_t)pick_queue(w),
			    actions_pointer(w, 0), count, fz_tag(w), 0);
	if (r == 0)
		w->stats[FK_CHAINS]++;
}

static void submit_batch(struct fuzz_worker *w)
{
	uint64_t count = 1 + fz_below(w, FUZZ_MAX_SUBS);
	if (fz_chance(w, 5))
		count = fz_chance(w, 50) ? 0 : KESTREL_MAX_BATCH + 1;
	for (uint32_t i = 0; i < FUZZ_MAX_SUBS; i++) {
		struct kestrel_submission *s = &w->subs[i];
		s->count = build_chain(w, i);
		s->lane = (int32_t)pick_lane(w);
		s->actions = actions_pointer(w, i);
		s->tag = fz_tag(w);
	}
	/* Past the chains the kernel would read the next fields: make them
	 * invalid submissions, not whatever they hold. */
	memset(&w->subs[FUZZ_MAX_SUBS], 0, 2 * sizeof(w->subs[0]));
	uint64_t subs = fz_chance(w, 92) ? (uint64_t)(uintptr_t)w->subs : fz_ptr(w);
	int64_t r = fz_call(w, NR(SUBMIT_BATCH), (uint64_t)pick_queue(w), subs,
			    count > KESTREL_MAX_BATCH || fz_chance(w, 95) ? count : fz_value(w), 0,
			    0, 0);
	if (r > 0)
		w->stats[FK_CHAINS] += r;
}

static uint64_t timer_deadline(struct fuzz_worker *w)
{
	uint64_t now = (uint64_t)kestrel_clock();
	switch (fz_below(w, 10)) {
	case 0:
	case 1:
		return 0; /* long past: completes at once */
	case 2:
		return UINT64_MAX;
	case 3:
		return fz_rand(w);
	case 4:
		return now + KAPI_SECOND; /* still pending at the end: cancelled */
	default:
		return now + fz_below(w, 5 * KAPI_MS);
	}
}

void fz_one_chain_call(struct fuzz_worker *w)
{
	switch (fz_below(w, 10)) {
	case 0:
	case 1:
		submit_batch(w);
		break;
	case 2:
		fz_call(w, NR(CANCEL), (uint64_t)pick_queue(w),
			fz_chance(w, 90) ? fz_tag(w) : fz_rand(w), 0, 0, 0, 0);
		break;
	case 3:
		if (fz_call(w, NR(TIMER_SUBMIT), (uint64_t)pick_queue(w), timer_deadline(w),
			    fz_tag(w), 0, 0, 0) == 0)
			w->stats[FK_CHAINS]++;
		break;
	default:
		submit_one(w);
		break;
	}
}

/* ---- reading completions ---- */

static bool known_tag(uint64_t tag)
{
	return tag < FUZZ_TAGS - 1 || tag == UINT64_MAX;
}

/* Take the handles a completion gave us (pulled, conversations) into
 * the pool, so later calls use them. */
static void take_handles(struct fuzz_worker *w, const struct kestrel_completion *c)
{
	const struct kestrel_result *r = kestrel_results(c);
	for (uint32_t i = 0; i < c->count; i++)
		if (r[i].status == 0 && r[i].handle > 0)
			fz_pool_add(w, r[i].handle);
}

static bool record_ok(struct fuzz_worker *w, const struct kestrel_record *rec,
		      uint32_t capacity)
{
	const struct kestrel_completion *c = (const void *)rec;
	switch (rec->kind) {
	case KESTREL_REC_SUBMISSION:
		if (!kestrel_completion_valid(c, capacity) || c->count == 0 ||
		    c->count > KESTREL_MAX_ACTIONS || !known_tag(c->tag))
			return false;
		take_handles(w, c);
		return true;
	case KESTREL_REC_TIMER:
		return rec->length == sizeof(*c) && c->count == 0 && known_tag(c->tag) &&
		       (c->status == 0 || c->status == -KE_CANCELLED);
	case KESTREL_REC_OBSERVE: {
		/* Threads observed with any tag: only the shape is known. */
		if (rec->length != KESTREL_OBSERVE_RECORD_SIZE || c->count != 0)
			return false;
		const struct kestrel_observation *o = (const void *)(c + 1);
		if (o->sequence == 0)
			return false;
		w->last_sequence = o->sequence;
		return true;
	}
	default:
		return false;
	}
}

static void drain_queue(struct fuzz_worker *w, struct fuzz_queue *q)
{
	struct kestrel_queue_header *hdr = (void *)(uintptr_t)q->addr;
	const uint8_t *ring = (const uint8_t *)hdr + 64;
	uint32_t tail = __atomic_load_n(&hdr->tail, __ATOMIC_ACQUIRE);
	uint32_t head = hdr->head;
	if (tail - head > q->capacity) {
		kapi_note("worker %d: queue tail %u is %u bytes past head %u (ring %u)", w->index,
			  tail, tail - head, head, q->capacity);
		w->stats[FK_BAD_RECORDS]++;
		__atomic_store_n(&hdr->head, tail, __ATOMIC_RELEASE);
		return;
	}
	while (head != tail) {
		uint32_t pos = head % q->capacity;
		const struct kestrel_record *rec = (const void *)(ring + pos);
		uint32_t len = rec->length;
		bool ok = len >= sizeof(*rec) && len % 8 == 0 && len <= q->capacity - pos &&
			  len <= tail - head;
		if (ok && rec->kind != KESTREL_REC_PAD) {
			ok = record_ok(w, rec, q->capacity);
			w->stats[FK_RECORDS]++;
		}
		if (!ok) {
			if (w->stats[FK_BAD_RECORDS] == 0) {
				const struct kestrel_completion *c = (const void *)rec;
				kapi_note("worker %d: bad record at %u (head %u tail %u, ring %u): "
					  "kind %u length %u tag %llu status %lld count %u",
					  w->index, pos, head, tail, q->capacity, rec->kind, len,
					  (unsigned long long)c->tag, (long long)c->status, c->count);
			}
			w->stats[FK_BAD_RECORDS]++;
			head = tail; /* cannot find the next record: skip them all */
			break;
		}
		head += len;
	}
	__atomic_store_n(&hdr->head, head, __ATOMIC_RELEASE);
}

void fz_drain_queues(struct fuzz_worker *w)
{
	for (uint32_t i = 0; i < w->queue_n; i++)
		drain_queue(w, &w->queues[i]);
}
