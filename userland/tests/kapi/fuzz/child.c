/*
 * kapi-fuzz, child role: set up, fuzz with one or more worker threads,
 * clean up, report (see fuzz.h).
 *
 * Setup maps each worker's buffers at fixed addresses and gives its pool
 * one object of every type, so random calls meet real objects from the
 * start. The handles the child needs to report (its parent lane, its own
 * and its workers' threads) are "protected": the generators never name
 * them, and handles that turn out to name the same objects (a pulled
 * copy) stay out of the pools.
 *
 * Cleanup, before reporting, undoes what only the program can undo: it
 * kills every thread it holds (a stopped thread keeps its table alive),
 * cancels every tag on every queue (a timer keeps its queue alive until
 * its deadline), and closes every handle but the protected ones. What is
 * left when the program ends must then go away with it; the parent checks
 * that it does.
 */
#include <kestrel/start.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define MAX_PROTECTED 16

static kestrel_handle_t protected_h[MAX_PROTECTED];
static uint64_t protected_id[MAX_PROTECTED];
static uint32_t protected_n;

/* Queue keepers: a copy of the handle of every queue the child made,
 * which the generators never name and which stays open until the
 * cleanup. A pending operation keeps its queue alive; one stuck in a
 * cycle of pushed lanes (see the report in fuzz.h) can only be ended by
 * cancelling it, and cancelling needs a handle to its queue. */
static uint8_t keeper[KESTREL_MAX_HANDLES];

static struct fuzz_worker workers[FUZZ_MAX_WORKERS];
static struct kestrel_uthread threads[FUZZ_MAX_WORKERS];

/* A page of a known pattern nothing may write to: a kernel that wrote
 * through a pointer it should have refused would likely hit data like it. */
#define CANARY_WORDS 512
static uint64_t canary[CANARY_WORDS];

/* Threads that must end at once: thread_exit with no stack needed. */
__attribute__((naked)) void fuzz_exit_stub(void)
{
	__asm__ volatile("movl %0, %%eax\n\t"
			 "syscall\n\t"
			 "ud2" /* thread_exit returned: fault, which ends the thread too */
			 :
			 : "i"(KESTREL_SYS_THREAD_EXIT));
}

uint32_t fz_handle_type(int64_t h)
{
	struct kestrel_handle_info info;
	if (kestrel_syscall(KESTREL_SYS_HANDLE_INFO, (uint64_t)h, (uint64_t)(uintptr_t)&info, 0, 0,
			    0, 0) != 0)
		return KESTREL_OBJ_NONE;
	return info.type;
}

static uint64_t handle_object(int64_t h)
{
	struct kestrel_handle_info info;
	if (kestrel_syscall(KESTREL_SYS_HANDLE_INFO, (uint64_t)h, (uint64_t)(uintptr_t)&info, 0, 0,
			    0, 0) != 0)
		return 0;
	return info.object_id;
}

static void protect(kestrel_handle_t h)
{
	if (h > 0 && protected_n < MAX_PROTECTED) {
		protected_h[protected_n] = h;
		protected_id[protected_n++] = handle_object(h);
	}
}

/* Protected for the whole run: what the child needs to report. */
static bool protected_for_life(int64_t h)
{
	for (uint32_t i = 0; i < protected_n; i++)
		if (protected_h[i] == h)
			return true;
	return false;
}

bool fz_protected(int64_t h)
{
	if (h > 0 && h < KESTREL_MAX_HANDLES && __atomic_load_n(&keeper[h], __ATOMIC_RELAXED))
		return true;
	return protected_for_life(h);
}

static void keep_queue(kestrel_handle_t h)
{
	int64_t k = kestrel_handle_duplicate(h, KESTREL_RIGHT_WAIT);
	if (k > 0 && k < KESTREL_MAX_HANDLES)
		__atomic_store_n(&keeper[k], 1, __ATOMIC_RELAXED);
}

static bool protected_object(uint64_t id)
{
	for (uint32_t i = 0; i < protected_n; i++)
		if (protected_id[i] == id)
			return true;
	return false;
}

/* ---- the pool ---- */

static void queue_drop(struct fuzz_worker *w, uint32_t i)
{
	struct fuzz_queue *q = &w->queues[i];
	kestrel_space_unmap(KESTREL_THIS_SPACE, q->addr, q->bytes);
	if (handle_object(q->h) == q->id)
		kestrel_handle_close(q->h);
	w->queues[i] = w->queues[--w->queue_n];
}

void fz_queue_add(struct fuzz_worker *w, kestrel_handle_t h, uint64_t addr, uint32_t capacity)
{
	if (w->queue_n == FUZZ_QUEUES)
		queue_drop(w, (uint32_t)fz_below(w, FUZZ_QUEUES));
	uint64_t bytes = (64 + (uint64_t)capacity + KESTREL_PAGE_SIZE - 1) &
			 ~(uint64_t)(KESTREL_PAGE_SIZE - 1);
	w->queues[w->queue_n++] = (struct fuzz_queue){h, handle_object(h), addr, bytes, capacity};
	keep_queue(h);
	fz_pool_add(w, h);
}

void fz_pool_forget(struct fuzz_worker *w, int64_t h)
{
	for (uint32_t i = 0; i < w->pool_n; i++) {
		if (w->pool[i].h == h) {
			w->pool[i] = w->pool[--w->pool_n];
			return;
		}
	}
}

void fz_pool_add(struct fuzz_worker *w, int64_t h)
{
	if (h <= 0 || h >= KESTREL_MAX_HANDLES)
		return;
	struct kestrel_handle_info info;
	if (kestrel_handle_info((kestrel_handle_t)h, &info) != 0 ||
	    protected_object(info.object_id))
		return;
	fz_pool_forget(w, h);
	if (w->pool_n == FUZZ_POOL) {
		/* Full: close one, so handles (and the memory behind them) do
		 * not pile up over a long run. */
		uint32_t i = (uint32_t)fz_below(w, FUZZ_POOL);
		kestrel_handle_t old = w->pool[i].h;
		w->pool[i] = w->pool[--w->pool_n];
		if (!fz_protected(old))
			kestrel_handle_close(old);
	}
	w->pool[w->pool_n++] = (struct fuzz_handle){(kestrel_handle_t)h, info.type};
	if (info.type == KESTREL_OBJ_LANE && fz_chance(w, 30)) {
		/* Pulled or conversation lanes are chain targets too. */
		w->last_lanes[fz_below(w, 2)] = (kestrel_handle_t)h;
	}
}

kestrel_handle_t fz_pool_pick(struct fuzz_worker *w)
{
	return w->pool_n ? w->pool[fz_below(w, w->pool_n)].h : 0;
}

kestrel_handle_t fz_pool_pick_type(struct fuzz_worker *w, uint32_t type)
{
	uint32_t start = (uint32_t)fz_below(w, w->pool_n ? w->pool_n : 1);
	for (uint32_t k = 0; k < w->pool_n; k++) {
		const struct fuzz_handle *e = &w->pool[(start + k) % w->pool_n];
		if (e->type == type)
			return e->h;
	}
	return 0;
}

/* ---- setup ---- */

static int64_t map_fixed(uint64_t addr, uint32_t pages, uint32_t prot)
{
	uint64_t size = (uint64_t)pages * KESTREL_PAGE_SIZE;
	int64_t m = kestrel_memory_create(size, KESTREL_MEMORY_ANONYMOUS, 0);
	if (m < 0)
		return m;
	int64_t r = kestrel_space_map(KESTREL_THIS_SPACE, (kestrel_handle_t)m, 0, addr, size,
				      prot | KESTREL_MAP_FIXED);
	kestrel_handle_close((kestrel_handle_t)m);
	return r < 0 ? r : 0;
}

static int64_t setup_buffers(struct fuzz_worker *w)
{
	uint64_t base = FUZZ_SCRATCH_BASE + (uint64_t)w->index * FUZZ_SCRATCH_STRIDE;
	uint64_t pg = KESTREL_PAGE_SIZE;
	int64_t r = map_fixed(base, FUZZ_SCRATCH_PAGES, KESTREL_MAP_READ | KESTREL_MAP_WRITE);
	if (r == 0)
		r = map_fixed(base + FUZZ_SCRATCH_PAGES * pg, 1, KESTREL_MAP_READ);
	/* One page of hole after the read-only page, then the receive area. */
	uint64_t recv = base + (FUZZ_SCRATCH_PAGES + 2) * pg;
	if (r == 0)
		r = map_fixed(recv, FUZZ_RECV_PAGES, KESTREL_MAP_READ | KESTREL_MAP_WRITE);
	w->scratch = (uint8_t *)(uintptr_t)base;
	w->ro_page = (uint8_t *)(uintptr_t)(base + FUZZ_SCRATCH_PAGES * pg);
	w->recv = (uint8_t *)(uintptr_t)recv;
	w->playground = FUZZ_PLAYGROUND_BASE + (uint64_t)w->index * FUZZ_PLAYGROUND_SIZE;
	return r;
}

/* One object of each type in the pool. */
static int64_t seed_pool(struct fuzz_worker *w)
{
	int64_t r = kestrel_memory_create(4 * KESTREL_PAGE_SIZE, KESTREL_MEMORY_ANONYMOUS, 0);
	fz_pool_add(w, r);
	fz_pool_add(w, kestrel_memory_create(KESTREL_PAGE_SIZE, KESTREL_MEMORY_CONTIGUOUS, 0));
	kestrel_handle_t lanes[2];
	if (kestrel_stream_create(lanes) == 0) {
		fz_pool_add(w, lanes[0]);
		fz_pool_add(w, lanes[1]);
		w->last_lanes[0] = lanes[0];
		w->last_lanes[1] = lanes[1];
	}
	uint64_t addr;
	int64_t q = kestrel_queue_create(KESTREL_QUEUE_MIN, &addr);
	if (q > 0)
		fz_queue_add(w, (kestrel_handle_t)q, addr, KESTREL_QUEUE_MIN);
	fz_pool_add(w, kestrel_space_create());
	fz_pool_add(w, kestrel_table_create(NULL));
	fz_pool_add(w, kestrel_thread_create(KESTREL_THIS_SPACE, KESTREL_THIS_TABLE,
					     (uint64_t)(uintptr_t)&fuzz_exit_stub,
					     w->playground + FUZZ_PLAYGROUND_WINDOW, 0,
					     KESTREL_THREAD_STOPPED));
	return r < 0 || q < 0 || w->pool_n < 8 ? -KE_NO_MEMORY : 0;
}

static void fill_canary(void)
{
	for (uint32_t i = 0; i < CANARY_WORDS; i++)
		canary[i] = 0x6b61706963616e61ull ^ i;
}

static bool canary_intact(void)
{
	for (uint32_t i = 0; i < CANARY_WORDS; i++)
		if (canary[i] != (0x6b61706963616e61ull ^ i))
			return false;
	return true;
}

/* The protected handles still name their objects. */
static bool protected_intact(void)
{
	for (uint32_t i = 0; i < protected_n; i++)
		if (handle_object(protected_h[i]) != protected_id[i])
			return false;
	return true;
}

/* A joined worker's thread handle is gone: stop checking it. */
static void unprotect(kestrel_handle_t h)
{
	for (uint32_t i = 0; i < protected_n; i++) {
		if (protected_h[i] == h) {
			protected_h[i] = protected_h[--protected_n];
			protected_id[i] = protected_id[protected_n];
			return;
		}
	}
}

/* ---- fuzzing ---- */

static void fuzz_step(struct fuzz_worker *w)
{
	if (w->mode == FUZZ_MODE_CHAINS && fz_chance(w, 75))
		fz_one_chain_call(w);
	else
		fz_one_call(w);
}

static int worker_run(void *arg)
{
	struct fuzz_worker *w = arg;
	for (uint64_t i = 0; i < w->iterations; i++) {
		fuzz_step(w);
		if (i % 16 == 15)
			fz_drain_queues(w);
		if (i % 256 == 255) {
			if ((uint64_t)kestrel_clock() > w->deadline) {
				w->stats[FK_TIMED_OUT] = 1;
				break;
			}
			if (!canary_intact())
				w->stats[FK_CANARY_BROKEN]++;
			if (!protected_intact())
				w->stats[FK_PROTECTED_LOST]++;
			/* Streams and queues get stuck behind pending work that
			 * never pairs; fresh ones keep chains flowing. */
			if (w->mode == FUZZ_MODE_CHAINS || fz_chance(w, 30))
				seed_pool(w);
		}
	}
	fz_drain_queues(w);
	return 0;
}

/* ---- cleanup ---- */

static void kill_threads(void)
{
	for (int64_t h = 1; h < KESTREL_MAX_HANDLES; h++)
		if (!protected_for_life(h) && fz_handle_type(h) == KESTREL_OBJ_THREAD)
			kestrel_thread_kill((kestrel_handle_t)h);
}

static void cancel_everything(void)
{
	for (int64_t h = 1; h < KESTREL_MAX_HANDLES; h++) {
		if (protected_for_life(h) || fz_handle_type(h) != KESTREL_OBJ_QUEUE)
			continue;
		for (uint64_t t = 0; t < FUZZ_TAGS; t++) {
			uint64_t tag = t == FUZZ_TAGS - 1 ? UINT64_MAX : t;
			/* Several operations may share a tag; a bound, in case
			 * cancel kept saying yes. */
			for (int k = 0; k < 256; k++)
				if (kestrel_cancel((kestrel_handle_t)h, tag) != 0)
					break;
		}
	}
}

/* Close every handle but the protected ones; the number still open. */
static int64_t close_everything(void)
{
	int64_t left = 0;
	for (int pass = 0; pass < 3; pass++) {
		left = 0;
		for (int64_t h = 1; h < KESTREL_MAX_HANDLES; h++) {
			if (protected_for_life(h) || fz_handle_type(h) == KESTREL_OBJ_NONE)
				continue;
			if (kestrel_handle_close((kestrel_handle_t)h) != 0)
				left++;
		}
	}
	return left;
}

/* ---- reporting ---- */

static void report(const int64_t *stats)
{
	for (int k = 1; k < FK_COUNT; k++)
		kestrel_parent_send(KESTREL_PARENT_DATA, k, stats[k], 5 * KAPI_SECOND);
}

static void init_worker(struct fuzz_worker *w, int index, enum fuzz_mode mode, uint64_t seed,
			uint64_t iterations, uint64_t deadline)
{
	memset(w, 0, sizeof(*w));
	w->index = index;
	w->mode = mode;
	/* Distinct, never-zero streams per worker (xorshift must not be 0). */
	w->rng = (seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(index + 1))) | 1;
	w->iterations = iterations;
	w->deadline = deadline;
}

/* A worker's thread handle without DUPLICATE and TRANSFER, so no copy of
 * it can end up where the generators would find it. */
static int64_t reduce_rights(struct kestrel_uthread *t)
{
	int64_t r = kestrel_handle_duplicate(
		t->handle, KESTREL_RIGHTS_ALL & ~(KESTREL_RIGHT_DUPLICATE | KESTREL_RIGHT_TRANSFER));
	if (r < 0)
		return r;
	kestrel_handle_close(t->handle);
	t->handle = (kestrel_handle_t)r;
	return 0;
}

static int64_t start_workers(int count)
{
	for (int i = 1; i < count; i++) {
		int64_t r = kestrel_uthread_create(&threads[i], worker_run, &workers[i], 0,
						   KESTREL_THREAD_STOPPED);
		if (r < 0 || (r = reduce_rights(&threads[i])) < 0)
			return r;
		protect(threads[i].handle);
	}
	for (int i = 1; i < count; i++)
		kestrel_thread_start(threads[i].handle);
	return 0;
}

int fuzz_child_main(int argc, char **argv)
{
	if (argc < 6)
		return 2;
	enum fuzz_mode mode = (enum fuzz_mode)atoi(argv[2]);
	uint64_t seed = strtoull(argv[3], NULL, 0);
	uint64_t iterations = strtoull(argv[4], NULL, 0);
	int count = atoi(argv[5]);
	if (count < 1 || count > FUZZ_MAX_WORKERS)
		return 2;
	/* The parent lane has READ WRITE only, so it cannot be copied; the
	 * parent gives us no handle to our own main thread. */
	const struct kestrel_start *s = kestrel_start_info();
	protect(s->parent);
	protect(s->self_thread);
	for (uint32_t i = 0; i < s->handle_count; i++)
		protect(s->handles[i]);
	fill_canary();

	int64_t stats[FK_COUNT] = {0};
	uint64_t t0 = (uint64_t)kestrel_clock();
	for (int i = 0; i < count; i++) {
		init_worker(&workers[i], i, mode, seed, iterations, t0 + FUZZ_TIME_LIMIT_NS);
		if (setup_buffers(&workers[i]) < 0 || seed_pool(&workers[i]) < 0)
			stats[FK_SETUP_FAILED]++;
	}
	if (start_workers(count) < 0)
		stats[FK_WORKERS_FAILED]++;
	worker_run(&workers[0]);
	/* Every worker must be done before the first join: a join closes the
	 * joined thread's (protected) handle while the others, still running,
	 * check the protected handles. */
	uint64_t wait_until = (uint64_t)kestrel_clock() + FUZZ_TIME_LIMIT_NS + 5 * KAPI_SECOND;
	for (int i = 1; i < count; i++)
		while (!__atomic_load_n(&threads[i].done, __ATOMIC_ACQUIRE) &&
		       (uint64_t)kestrel_clock() < wait_until)
			kestrel_futex_wait(&threads[i].done, 0, 10 * KAPI_MS);
	for (int i = 1; i < count; i++) {
		kestrel_handle_t h = threads[i].handle;
		if (kestrel_uthread_join(&threads[i], FUZZ_TIME_LIMIT_NS + 5 * KAPI_SECOND) != 0)
			stats[FK_WORKERS_FAILED]++;
		else
			unprotect(h);
	}

	kill_threads();
	cancel_everything();
	stats[FK_CLEANUP_FAILED] = close_everything();
	if (!canary_intact())
		stats[FK_CANARY_BROKEN]++;
	if (!protected_intact())
		stats[FK_PROTECTED_LOST]++;
	for (int i = 0; i < count; i++)
		for (int k = 1; k < FK_COUNT; k++)
			stats[k] += workers[i].stats[k];
	stats[FK_ELAPSED_MS] = ((uint64_t)kestrel_clock() - t0) / KAPI_MS;
	report(stats);
	return 0;
}
