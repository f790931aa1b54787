/*
 * kapi-fuzz, parent role: the KAPI tests. Each fuzzing test starts a
 * child (child.c) with a fixed seed, waits for its report and exit, and
 * judges the report; the last two check that the children left nothing
 * behind and did not disturb the parent.
 *
 * Leak check: before the first child the parent records system_info()
 * (after a warm-up child that fuzzes nothing, so one-time costs such as
 * mapping the initrd are paid). After each child has gone the counts of
 * objects of every type must be back to exactly that, and the free pages
 * within FREE_PAGES_TOLERANCE of it. Teardown of a process finishes after
 * its exit message is taken (its last thread still has to end), so the
 * parent polls for up to SETTLE_NS.
 *
 * FREE_PAGES_TOLERANCE: the kernel's slab allocator keeps one empty slab
 * (a page) per cache as a spare, and kmalloc has 11 size classes; a few
 * partial slabs may also stay pinned by objects of other programs (init)
 * allocated while the child ran. 32 pages covers both (runs here end
 * within a few pages of the baseline; the test notes the difference).
 * Leaked objects show up in the exact counts anyway; the pages catch
 * memory freed without its object (page tables, a child's touched pages).
 */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"

#define FREE_PAGES_TOLERANCE 32
#define SETTLE_NS (2 * KAPI_SECOND)
#define CHILD_TIMEOUT_NS (FUZZ_TIME_LIMIT_NS + 20 * KAPI_SECOND)

/* Iterations per worker: about 3 s of QEMU TCG for the whole program. */
#define CALLS_ITERATIONS 40000
#define CHAINS_ITERATIONS 30000
#define WORKER_ITERATIONS 15000
#define WORKERS 3
/* A child that the time limit stopped (a slow or busy host) must still
 * have fuzzed this much for its test to mean something. */
#define MIN_CALLS 2000

struct child_report {
	int64_t stats[FK_COUNT];
	int64_t status; /* exit status, or -KE_* if it died / timed out */
};

static struct kestrel_queue pq;
static bool ready;
static struct kestrel_system_info baseline;
static char leak_text[256]; /* the first leak seen after a child, if any */

/* What the parent holds through every child, checked at the end. */
static struct {
	kestrel_handle_t mem, lanes[2];
	uint64_t addr, sum;
	struct kestrel_handle_info info[3];
	char message[32];
} mine;

/* ---- running a child ---- */

static int64_t run_child(enum fuzz_mode mode, uint64_t seed, uint64_t iterations, int workers,
			 struct child_report *out)
{
	char m[4], s[24], it[24], wk[4];
	snprintf(m, sizeof(m), "%d", (int)mode);
	snprintf(s, sizeof(s), "%#llx", (unsigned long long)seed);
	snprintf(it, sizeof(it), "%llu", (unsigned long long)iterations);
	snprintf(wk, sizeof(wk), "%d", workers);
	const char *args[] = {"child", m, s, it, wk, NULL};
	struct kestrel_process p;
	memset(out, 0, sizeof(*out));
	/* No handle to its own main thread: a copy of it (pulled, duplicated
	 * from a number that happened to name it) could kill the fuzzer. */
	int64_t r = kapi_spawn("kestrel/tests/kapi-fuzz", &p, args, KESTREL_SPAWN_NO_SELF, NULL,
			       NULL, 0);
	if (r < 0)
		return r;
	uint64_t deadline = (uint64_t)kestrel_clock() + CHILD_TIMEOUT_NS;
	for (;;) {
		uint64_t now = (uint64_t)kestrel_clock();
		struct kestrel_parent_message msg;
		r = now < deadline ? kapi_child_message(&pq, p.lane, &msg, deadline - now)
				   : -KE_TIMEOUT;
		if (r == -KE_INVALID || r == -KE_TOO_BIG)
			continue; /* not a message of ours */
		if (r < 0) {
			out->status = r;
			break;
		}
		if (msg.type == KESTREL_PARENT_DATA && msg.value[0] > 0 && msg.value[0] < FK_COUNT)
			out->stats[msg.value[0]] = msg.value[1];
		if (msg.type == KESTREL_PARENT_EXIT) {
			out->status = msg.value[0];
			break;
		}
	}
	kapi_child_close(&p);
	return 0;
}

/* ---- the leak check ---- */

static void sleep_ms(uint64_t ms)
{
	uint32_t word = 0;
	kestrel_futex_wait(&word, 0, ms * KAPI_MS);
}

static bool at_baseline(const struct kestrel_system_info *now)
{
	for (int t = 1; t < KESTREL_OBJ_TYPES; t++)
		if (now->objects_by_type[t] != baseline.objects_by_type[t])
			return false;
	return now->objects == baseline.objects &&
	       now->free_pages + FREE_PAGES_TOLERANCE >= baseline.free_pages;
}

/* Wait for the system to return to the baseline; false (and *now as last
 * seen) if it does not within SETTLE_NS. */
static bool settle(struct kestrel_system_info *now)
{
	uint64_t deadline = (uint64_t)kestrel_clock() + SETTLE_NS;
	for (;;) {
		if (kestrel_system_info(now) == 0 && at_baseline(now))
			return true;
		if ((uint64_t)kestrel_clock() > deadline)
			return false;
		sleep_ms(10);
	}
}

static void describe_leak(const char *who, const struct kestrel_system_info *now, char *buf,
			  size_t size)
{
	int n = snprintf(buf, size, "after %s: objects %llu (was %llu), free pages %llu (was %llu)",
			 who, (unsigned long long)now->objects,
			 (unsigned long long)baseline.objects, (unsigned long long)now->free_pages,
			 (unsigned long long)baseline.free_pages);
	for (int t = 1; t < KESTREL_OBJ_TYPES && n > 0 && (size_t)n < size; t++)
		if (now->objects_by_type[t] != baseline.objects_by_type[t])
			n += snprintf(buf + n, size - (size_t)n, "; type %d: %llu (was %llu)", t,
				      (unsigned long long)now->objects_by_type[t],
				      (unsigned long long)baseline.objects_by_type[t]);
}

static void check_settled(const char *who)
{
	struct kestrel_system_info now;
	if (!settle(&now) && !leak_text[0]) {
		describe_leak(who, &now, leak_text, sizeof(leak_text));
		kapi_note("%s", leak_text);
	}
}

/* ---- setup: the parent's own objects, a warm-up child, the baseline ---- */

static int64_t make_my_objects(void)
{
	mine.addr = kapi_map_pages(4 * KESTREL_PAGE_SIZE, &mine.mem);
	if (!mine.addr)
		return -KE_NO_MEMORY;
	uint8_t *p = (uint8_t *)(uintptr_t)mine.addr;
	for (uint32_t i = 0; i < 4 * KESTREL_PAGE_SIZE; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	mine.sum = kapi_checksum(p, 4 * KESTREL_PAGE_SIZE);
	int64_t r = kestrel_stream_create(mine.lanes);
	if (r < 0)
		return r;
	kestrel_handle_t hs[3] = {mine.mem, mine.lanes[0], mine.lanes[1]};
	for (int i = 0; i < 3; i++)
		if ((r = kestrel_handle_info(hs[i], &mine.info[i])) < 0)
			return r;
	snprintf(mine.message, sizeof(mine.message), "still here after fuzzing");
	return 0;
}

static int64_t setup(void)
{
	if (ready)
		return 0;
	int64_t r = kestrel_queue_open(&pq, KESTREL_QUEUE_MIN);
	if (r < 0)
		return r;
	if ((r = make_my_objects()) < 0)
		return r;
	struct child_report warm;
	if ((r = run_child(FUZZ_MODE_CALLS, KAPI_FUZZ_SEED, 0, 1, &warm)) < 0)
		return r;
	sleep_ms(50);
	/* The warm-up child must be gone too: poll until the counts stop
	 * moving, then take them as the baseline. */
	struct kestrel_system_info a, b;
	kestrel_system_info(&a);
	for (int i = 0; i < 100; i++) {
		sleep_ms(10);
		kestrel_system_info(&b);
		if (memcmp(a.objects_by_type, b.objects_by_type, sizeof(a.objects_by_type)) == 0)
			break;
		a = b;
	}
	baseline = b;
	ready = true;
	return 0;
}

/* ---- judging a report ---- */

#define CHECK_STAT(rep, key, cond)                                                             \
	CHECK_MSG(cond, "%s = %lld", #key, (long long)(rep).stats[key])

static void log_report(const char *what, const struct child_report *c)
{
	kapi_note("%s: %lld calls (%lld succeeded), %lld chains, %lld records, %lld threads, "
		  "%lld ms%s",
		  what, (long long)c->stats[FK_CALLS], (long long)c->stats[FK_SUCCESSES],
		  (long long)c->stats[FK_CHAINS], (long long)c->stats[FK_RECORDS],
		  (long long)c->stats[FK_THREADS], (long long)c->stats[FK_ELAPSED_MS],
		  c->stats[FK_TIMED_OUT] ? " (time limit reached)" : "");
}

/* The checks every child report must pass; a macro so CHECK returns from
 * the test itself. */
#define CHECK_CHILD(c, min_calls)                                                              \
	do {                                                                                   \
		CHECK_MSG((c).status == 0, "child ended with %s",                              \
			  (c).status < 0 ? kestrel_error_name((c).status) : "a failure status"); \
		CHECK_STAT(c, FK_CALLS, (c).stats[FK_CALLS] >= (min_calls));                   \
		CHECK_STAT(c, FK_BAD_RESULTS, (c).stats[FK_BAD_RESULTS] == 0);                 \
		CHECK_STAT(c, FK_SETUP_FAILED, (c).stats[FK_SETUP_FAILED] == 0);               \
		CHECK_STAT(c, FK_CANARY_BROKEN, (c).stats[FK_CANARY_BROKEN] == 0);             \
		CHECK_STAT(c, FK_PROTECTED_LOST, (c).stats[FK_PROTECTED_LOST] == 0);           \
		CHECK_STAT(c, FK_WORKERS_FAILED, (c).stats[FK_WORKERS_FAILED] == 0);           \
		CHECK_STAT(c, FK_CLEANUP_FAILED, (c).stats[FK_CLEANUP_FAILED] == 0);           \
		/* Random calls that never succeed would test only argument checks. */        \
		CHECK_STAT(c, FK_SUCCESSES, (c).stats[FK_SUCCESSES] * 20 >= (c).stats[FK_CALLS]); \
	} while (0)

/* ---- the tests ---- */

KAPI_TEST(fuzz_random_calls_no_panic)
{
	CHECK_OK(setup());
	struct child_report c;
	CHECK_OK(run_child(FUZZ_MODE_CALLS, KAPI_FUZZ_SEED, CALLS_ITERATIONS, 1, &c));
	log_report("random calls", &c);
	CHECK_CHILD(c, MIN_CALLS);
	CHECK_STAT(c, FK_THREADS, c.stats[FK_THREADS] > 0);
	check_settled("the random-calls child");
}

KAPI_TEST(fuzz_random_chains)
{
	CHECK_OK(setup());
	struct child_report c;
	CHECK_OK(run_child(FUZZ_MODE_CHAINS, KAPI_FUZZ_SEED + 1, CHAINS_ITERATIONS, 1, &c));
	log_report("random chains", &c);
	CHECK_CHILD(c, MIN_CALLS);
	CHECK_STAT(c, FK_CHAINS, c.stats[FK_CHAINS] > 0);
	CHECK_STAT(c, FK_RECORDS, c.stats[FK_RECORDS] > 0);
	CHECK_STAT(c, FK_BAD_RECORDS, c.stats[FK_BAD_RECORDS] == 0);
	check_settled("the random-chains child");
}

KAPI_TEST(fuzz_concurrent_workers)
{
	/* Several threads of one process fuzzing the same table and space
	 * at once (in parallel on SMP, interleaved by preemption on one CPU). */
	CHECK_OK(setup());
	struct child_report c;
	CHECK_OK(run_child(FUZZ_MODE_CHAINS, KAPI_FUZZ_SEED + 2, WORKER_ITERATIONS, WORKERS, &c));
	log_report("concurrent workers", &c);
	CHECK_CHILD(c, MIN_CALLS);
	CHECK_STAT(c, FK_BAD_RECORDS, c.stats[FK_BAD_RECORDS] == 0);
	check_settled("the concurrent child");
}

KAPI_TEST(fuzz_no_leak_after_exit)
{
	CHECK_OK(setup());
	CHECK_MSG(!leak_text[0], "%s", leak_text);
	struct kestrel_system_info now;
	bool ok = settle(&now);
	kapi_note("free pages %llu, baseline %llu", (unsigned long long)now.free_pages,
		  (unsigned long long)baseline.free_pages);
	char text[256];
	describe_leak("all children", &now, text, sizeof(text));
	CHECK_MSG(ok, "%s", text);
}

KAPI_TEST(fuzz_parent_undisturbed)
{
	CHECK_OK(setup());
	/* The parent's memory, handles and stream are as they were. */
	CHECK_EQ(kapi_checksum((const void *)(uintptr_t)mine.addr, 4 * KESTREL_PAGE_SIZE),
		 mine.sum);
	kestrel_handle_t hs[3] = {mine.mem, mine.lanes[0], mine.lanes[1]};
	for (int i = 0; i < 3; i++) {
		struct kestrel_handle_info info;
		CHECK_EQ(kestrel_handle_info(hs[i], &info), 0);
		CHECK(memcmp(&info, &mine.info[i], sizeof(info)) == 0);
	}
	CHECK_EQ(kestrel_memory_size(mine.mem), 4 * KESTREL_PAGE_SIZE);
	/* And still work: a message across the stream, send then receive. */
	struct kestrel_action send = kestrel_act_send(mine.message, sizeof(mine.message));
	uint64_t tag = kapi_tag();
	CHECK_EQ(kestrel_submit(mine.lanes[0], pq.handle, &send, 1, tag), 0);
	char got[sizeof(mine.message)];
	CHECK_EQ(kapi_recv(&pq, mine.lanes[1], got, sizeof(got), KAPI_SECOND), sizeof(got));
	CHECK(memcmp(got, mine.message, sizeof(got)) == 0);
	uint64_t rec[KESTREL_COMPLETION_SIZE(1, 0) / 8 + 1];
	CHECK_EQ(kestrel_queue_wait_tag(&pq, tag, rec, sizeof(rec), KAPI_SECOND),
		 sizeof(struct kestrel_completion) + sizeof(struct kestrel_result));
	CHECK_EQ(((const struct kestrel_completion *)rec)->status, 0);
}
