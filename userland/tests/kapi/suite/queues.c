/*
 * Completion queues, timers and batches: creating and mapping a queue,
 * waiting on it, the room a submission reserves (a full queue refuses new
 * work rather than dropping a completion), pad records at the end of the
 * ring, timer completions and their cancellation, submit_batch.
 */
#include <stdbool.h>
#include <string.h>

#include "suite.h"

#define WAIT (10 * KAPI_SECOND) /* a bound for failures; the host may be loaded */

KAPI_TEST(queue_create_maps_the_ring)
{
	uint64_t addr = 0;
	kestrel_handle_t q = (kestrel_handle_t)CHECK_OK(kestrel_queue_create(8192, &addr));
	CHECK(addr && (addr & (KESTREL_PAGE_SIZE - 1)) == 0);
	const struct kestrel_queue_header *h = (const void *)(uintptr_t)addr;
	CHECK_EQ(h->magic, KESTREL_QUEUE_MAGIC);
	CHECK_EQ(h->capacity, 8192);
	CHECK_EQ(h->tail, 0);
	CHECK_EQ(h->head, 0);
	CHECK_EQ(handle_type(q), KESTREL_OBJ_QUEUE);
	CHECK_EQ(handle_rights(q),
		 KESTREL_RIGHT_WAIT | KESTREL_RIGHT_TRANSFER | KESTREL_RIGHT_DUPLICATE);
	kestrel_handle_close(q);
	CHECK_EQ(kestrel_space_unmap(KESTREL_THIS_SPACE, addr, KESTREL_PAGE_SIZE * 3), 0);
}

KAPI_TEST(queue_create_rejects_bad_arguments)
{
	uint64_t addr;
	static const uint64_t bad_sizes[] = {0, 1, 4095, 4097, 6144, KESTREL_QUEUE_MAX * 2,
					     ~0ull, 1ull << 40};
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++)
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_QUEUE_CREATE, bad_sizes[i],
					  (uint64_t)(uintptr_t)&addr, 0, 0, 0, 0),
			  KE_INVALID);
	CHECK_ERR(kestrel_queue_create(4096, NULL), KE_FAULT);
	CHECK_ERR(kestrel_queue_create(4096, (uint64_t *)KAPI_KERNEL_ADDR), KE_FAULT);
	CHECK_ERR(kestrel_queue_create(4096, (uint64_t *)readonly_page()), KE_FAULT);
	/* The largest one works. */
	struct kestrel_queue q;
	CHECK_EQ(kestrel_queue_open(&q, KESTREL_QUEUE_MAX), 0);
	CHECK_EQ(q.capacity, KESTREL_QUEUE_MAX);
	kestrel_queue_close(&q);
}

KAPI_TEST(queue_wait_times_out_and_returns_the_tail)
{
	struct kestrel_queue q;
	CHECK_OK(kestrel_queue_open(&q, KESTREL_QUEUE_MIN));
	int64_t t0 = kestrel_clock();
	CHECK_ERR(kestrel_queue_wait(q.handle, 0, 20 * KAPI_MS), KE_TIMEOUT);
	CHECK(kestrel_clock() - t0 >= (int64_t)(20 * KAPI_MS));
	/* An index other than the tail returns at once with the tail. */
	CHECK_EQ(kestrel_queue_wait(q.handle, 12345, 0), 0);
	CHECK_OK(kestrel_timer_submit(q.handle, 0, 77));
	int64_t tail = CHECK_OK(kestrel_queue_wait(q.handle, 0, WAIT));
	CHECK_EQ(tail, sizeof(struct kestrel_completion));
	CHECK_EQ(q.header->tail, (uint32_t)tail);
	/* Wrong handles. */
	kestrel_handle_t l[2];
	CHECK_EQ(kestrel_stream_create(l), 0);
	CHECK_ERR(kestrel_queue_wait(l[0], 0, 1), KE_BAD_TYPE);
	kestrel_handle_t nowait =
		(kestrel_handle_t)CHECK_OK(dup_rights(q.handle, KESTREL_RIGHT_DUPLICATE));
	CHECK_ERR(kestrel_queue_wait(nowait, 0, 1), KE_ACCESS);
	CHECK_ERR(kestrel_queue_wait(0, 0, 1), KE_BAD_HANDLE);
	kestrel_handle_close(nowait);
	kestrel_handle_close(l[0]);
	kestrel_handle_close(l[1]);
	kestrel_queue_close(&q);
}

KAPI_TEST(queue_timer_completes_at_its_deadline)
{
	struct kestrel_queue q;
	CHECK_OK(kestrel_queue_open(&q, KESTREL_QUEUE_MIN));
	uint64_t deadline = (uint64_t)kestrel_clock() + 500 * KAPI_MS;
	CHECK_OK(kestrel_timer_submit(q.handle, deadline, 5));
	/* A deadline in the past completes at once. */
	CHECK_OK(kestrel_timer_submit(q.handle, 1, 6));
	struct rec out;
	CHECK_EQ(chain_wait(&q, 6, &out, WAIT), 0);
	CHECK_EQ(rec_c(&out)->rec.kind, KESTREL_REC_TIMER);
	CHECK_EQ(rec_c(&out)->count, 0);
	CHECK((uint64_t)kestrel_clock() < deadline);
	CHECK_EQ(chain_wait(&q, 5, &out, WAIT), 0);
	CHECK((uint64_t)kestrel_clock() >= deadline);
	CHECK_EQ(rec_c(&out)->tag, 5);
	kestrel_queue_close(&q);
}

KAPI_TEST(queue_timer_cancel)
{
	struct kestrel_queue q;
	CHECK_OK(kestrel_queue_open(&q, KESTREL_QUEUE_MIN));
	CHECK_OK(kestrel_timer_submit(q.handle, UINT64_MAX, 9));
	CHECK_EQ(kestrel_cancel(q.handle, 9), 0);
	struct rec out;
	CHECK_EQ(chain_wait(&q, 9, &out, WAIT), -KE_CANCELLED);
	CHECK_EQ(rec_c(&out)->rec.kind, KESTREL_REC_TIMER);
	CHECK_ERR(kestrel_cancel(q.handle, 9), KE_NOT_FOUND);
	/* Cancelling many timers as they fire: each completes once. */
	uint64_t now = (uint64_t)kestrel_clock();
	for (uint64_t i = 0; i < 50; i++)
		CHECK_OK(kestrel_timer_submit(q.handle, now + i * 20000, 100 + i));
	int cancelled = 0;
	for (uint64_t i = 0; i < 50; i++)
		if (kestrel_cancel(q.handle, 100 + i) == 0)
			cancelled++;
	for (uint64_t i = 0; i < 50; i++) {
		int64_t st = chain_wait(&q, 100 + i, &out, WAIT);
		CHECK(st == 0 || st == -KE_CANCELLED);
	}
	CHECK(kestrel_queue_peek(&q) == NULL);
	kapi_note("%d of 50 timers cancelled before they fired", cancelled);
	kestrel_queue_close(&q);
}

KAPI_TEST(queue_full_refuses_and_never_drops)
{
	/* The smallest queue takes only so many pending receives; every one
	 * it took completes (here with KE_END_OF_LANE) and fits. */
	struct kestrel_queue q;
	CHECK_OK(kestrel_queue_open(&q, KESTREL_QUEUE_MIN));
	kestrel_handle_t l[2];
	CHECK_EQ(kestrel_stream_create(l), 0);
	struct kestrel_action r = kestrel_act_recv_inline(64);
	uint64_t taken = 0;
	int64_t rc = 0;
	while (taken < 1000 && (rc = kestrel_submit(l[0], q.handle, &r, 1, taken + 1)) == 0)
		taken++;
	CHECK_ERR(rc, KE_NO_SPACE);
	CHECK(taken >= 4);
	/* Timers reserve room too (theirs is smaller: fill what is left). */
	uint64_t timers = 0;
	while (timers < 1000 && (rc = kestrel_timer_submit(q.handle, UINT64_MAX, 5000 + timers)) == 0)
		timers++;
	CHECK_ERR(rc, KE_NO_SPACE);
	kestrel_handle_close(l[1]);
	struct rec out;
	for (uint64_t i = 1; i <= taken; i++)
		CHECK_EQ(chain_wait(&q, i, &out, WAIT), -KE_END_OF_LANE);
	for (uint64_t i = 0; i < timers; i++) {
		CHECK_EQ(kestrel_cancel(q.handle, 5000 + i), 0);
		CHECK_EQ(chain_wait(&q, 5000 + i, &out, WAIT), -KE_CANCELLED);
	}
	CHECK(kestrel_queue_peek(&q) == NULL);
	/* Consumed, the room is back. */
	CHECK_OK(kestrel_timer_submit(q.handle, 0, 9001));
	CHECK_EQ(chain_wait(&q, 9001, &out, WAIT), 0);
	/* A record that could never fit is refused outright. */
	r = kestrel_act_recv_inline(KESTREL_MAX_INLINE);
	CHECK_ERR(kestrel_submit(l[0], q.handle, &r, 1, 1), KE_TOO_BIG);
	kestrel_handle_close(l[0]);
	kestrel_queue_close(&q);
}

KAPI_TEST(queue_wraps_with_pad_records)
{
	/* Records of odd sizes through a small ring, many times around: the
	 * reader sees each exactly once, in order, with pads skipped. */
	struct kestrel_queue q;
	CHECK_OK(kestrel_queue_open(&q, KESTREL_QUEUE_MIN));
	kestrel_handle_t l[2];
	CHECK_EQ(kestrel_stream_create(l), 0);
	static uint8_t msg[200];
	uint64_t state = 42;
	for (uint64_t i = 0; i < 400; i++) {
		uint32_t n = (uint32_t)(kapi_random(&state) % sizeof(msg));
		memset(msg, (int)(i & 0xff), n);
		struct kestrel_action s = kestrel_act_send(msg, n);
		struct kestrel_action r = kestrel_act_recv_inline(n);
		CHECK_EQ(kestrel_submit(l[0], q.handle, &s, 1, 2 * i + 1), 0);
		CHECK_EQ(kestrel_submit(l[1], q.handle, &r, 1, 2 * i + 2), 0);
		/* Both completed in the submit calls (in either order): read
		 * them straight off the ring. */
		bool seen[2] = {false, false};
		for (uint64_t k = 1; k <= 2; k++) {
			const struct kestrel_completion *c = kestrel_queue_peek(&q);
			CHECK(c);
			CHECK(c->tag == 2 * i + 1 || c->tag == 2 * i + 2);
			uint64_t which = c->tag - 2 * i - 1;
			CHECK(!seen[which]);
			seen[which] = true;
			CHECK_EQ(c->status, 0);
			if (which == 1) {
				const uint8_t *d = kestrel_result_data(c, 0);
				CHECK_EQ(kestrel_results(c)[0].length, n);
				CHECK(n == 0 || (d && d[0] == (i & 0xff) && d[n - 1] == (i & 0xff)));
			}
			kestrel_queue_pop(&q);
		}
	}
	CHECK(q.header->tail > 4 * KESTREL_QUEUE_MIN); /* it went round */
	CHECK(!q.corrupt);
	kestrel_handle_close(l[0]);
	kestrel_handle_close(l[1]);
	kestrel_queue_close(&q);
}

KAPI_TEST(queue_closed_with_work_pending)
{
	/* Closing a queue that pending operations will complete into must not
	 * disturb anyone: the operations still run and their peers see them. */
	struct pair p;
	CHECK_OK(pair_open(&p));
	struct kestrel_queue other;
	CHECK_OK(kestrel_queue_open(&other, KESTREL_QUEUE_MIN));
	static const char msg[] = "to a closed queue";
	struct kestrel_action s = kestrel_act_send(msg, sizeof(msg));
	CHECK_EQ(kestrel_submit(p.a, other.handle, &s, 1, 1), 0);
	CHECK_OK(kestrel_timer_submit(other.handle, (uint64_t)kestrel_clock() + KAPI_MS, 2));
	kestrel_queue_close(&other);
	struct kestrel_action r = kestrel_act_recv_inline(64);
	struct rec out;
	CHECK_EQ(chain(&p.q, p.b, &r, 1, &out, WAIT), 0);
	CHECK(!memcmp(kestrel_result_data(rec_c(&out), 0), msg, sizeof(msg)));
	sleep_ns(5 * KAPI_MS); /* the timer fires into the closed queue */
	pair_close(&p);
}

KAPI_TEST(submit_batch_many_chains_one_call)
{
	struct pair p;
	CHECK_OK(pair_open(&p));
	enum { N = 64 };
	static uint64_t values[N];
	static struct kestrel_action sends[N], recvs[N];
	static struct kestrel_submission subs[2 * N];
	for (uint32_t i = 0; i < N; i++) {
		values[i] = 0x1000 + i;
		sends[i] = kestrel_act_send(&values[i], 8);
		recvs[i] = kestrel_act_recv_inline(8);
		subs[i] = (struct kestrel_submission){p.a, 1, (uint64_t)(uintptr_t)&sends[i], 10 + i};
		subs[N + i] =
			(struct kestrel_submission){p.b, 1, (uint64_t)(uintptr_t)&recvs[i], 1000 + i};
	}
	CHECK_EQ(kestrel_submit_batch(p.q.handle, subs, 2 * N), 2 * N);
	struct rec out;
	for (uint32_t i = 0; i < N; i++) {
		CHECK_EQ(chain_wait(&p.q, 1000 + i, &out, WAIT), 0);
		uint64_t v;
		memcpy(&v, kestrel_result_data(rec_c(&out), 0), 8);
		CHECK_EQ(v, 0x1000 + i);
		CHECK_EQ(chain_wait(&p.q, 10 + i, &out, WAIT), 0);
	}
	pair_close(&p);
}

KAPI_TEST(submit_batch_stops_at_the_first_bad_entry)
{
	struct pair p;
	CHECK_OK(pair_open(&p));
	static const char msg[] = "b";
	struct kestrel_action s = kestrel_act_send(msg, 1);
	struct kestrel_action bad = kestrel_act(99, 0, NULL, 0);
	struct kestrel_submission subs[4] = {
		{p.a, 1, (uint64_t)(uintptr_t)&s, 1},
		{p.a, 1, (uint64_t)(uintptr_t)&s, 2},
		{p.a, 1, (uint64_t)(uintptr_t)&bad, 3},
		{p.a, 1, (uint64_t)(uintptr_t)&s, 4},
	};
	CHECK_EQ(kestrel_submit_batch(p.q.handle, subs, 4), 2);
	/* The first entry bad: its error. */
	CHECK_ERR(kestrel_submit_batch(p.q.handle, &subs[2], 2), KE_INVALID);
	subs[0].lane = 9999;
	CHECK_ERR(kestrel_submit_batch(p.q.handle, subs, 1), KE_BAD_HANDLE);
	subs[0].lane = p.a;
	subs[0].count = 0;
	CHECK_ERR(kestrel_submit_batch(p.q.handle, subs, 1), KE_INVALID);
	subs[0].count = 1;
	subs[0].actions = KAPI_UNMAPPED;
	CHECK_ERR(kestrel_submit_batch(p.q.handle, subs, 1), KE_FAULT);
	/* The batch itself. */
	CHECK_ERR(kestrel_submit_batch(p.q.handle, subs, 0), KE_INVALID);
	CHECK_ERR(kestrel_submit_batch(p.q.handle, subs, KESTREL_MAX_BATCH + 1), KE_INVALID);
	CHECK_ERR(kestrel_submit_batch(p.q.handle, NULL, 1), KE_FAULT);
	CHECK_ERR(kestrel_submit_batch(p.q.handle, (void *)KAPI_KERNEL_ADDR, 1), KE_FAULT);
	CHECK_ERR(kestrel_submit_batch(p.a, &subs[1], 1), KE_BAD_TYPE);
	/* The two accepted sends are there to be received. */
	struct kestrel_action r = kestrel_act_recv_inline(8);
	struct rec out;
	CHECK_EQ(chain(&p.q, p.b, &r, 1, &out, WAIT), 0);
	CHECK_EQ(chain(&p.q, p.b, &r, 1, &out, WAIT), 0);
	CHECK_EQ(chain_wait(&p.q, 1, &out, WAIT), 0);
	CHECK_EQ(chain_wait(&p.q, 2, &out, WAIT), 0);
	CHECK(kestrel_queue_peek(&p.q) == NULL);
	pair_close(&p);
}
