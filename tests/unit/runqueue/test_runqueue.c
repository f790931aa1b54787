/* The run queue: priority order, FIFO within a level, the level bitmap,
 * removal anywhere, and stealing under an affinity predicate. */
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container_of.h"
#include "runqueue.h"
#include "unit.h"

struct item {
	int id;
	uint64_t affinity; /* bit n: may run on CPU n */
	struct rq_node node;
};

/* The run queue's callback, as the scheduler defines it for threads. */
bool runqueue_can_run_on(const struct rq_node *n, uint32_t cpu)
{
	const struct item *it = container_of(n, struct item, node);
	return (it->affinity >> cpu) & 1;
}

static int pop_id(struct runqueue *rq)
{
	struct rq_node *n = runqueue_pop(rq);
	return n ? container_of(n, struct item, node)->id : -1;
}

static int steal_id(struct runqueue *rq, uint32_t cpu)
{
	struct rq_node *n = runqueue_steal(rq, cpu);
	return n ? container_of(n, struct item, node)->id : -1;
}

static void make_items(struct item *items, int n)
{
	for (int i = 0; i < n; i++) {
		items[i].id = i;
		items[i].affinity = ~0ull;
		rq_node_init(&items[i].node);
	}
}

/* Check every invariant of runqueue.c by walking the whole queue. */
static bool rq_valid(const struct runqueue *rq)
{
	uint32_t total = 0, bitmap = 0;
	for (uint32_t p = 0; p < RUNQUEUE_LEVELS; p++) {
		const struct rq_level *l = &rq->levels[p];
		if ((l->head == NULL) != (l->tail == NULL))
			return false;
		if (l->head)
			bitmap |= 1u << p;
		const struct rq_node *prev = NULL;
		for (const struct rq_node *n = l->head; n; prev = n, n = n->next) {
			if (n->prev != prev || n->queue != rq || n->priority != p)
				return false;
			if (++total > 1000000)
				return false; /* a cycle */
		}
		if (prev != l->tail)
			return false;
	}
	return bitmap == rq->bitmap && total == runqueue_count(rq) &&
	       runqueue_best_priority(rq) == (bitmap ? __builtin_ctz(bitmap) : -1);
}

/* Run fn() in a child process; true if it panicked (abort()). */
static bool panics(void (*fn)(void))
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		fn();
		_exit(0);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

TEST(empty_queue)
{
	struct runqueue rq;
	runqueue_init(&rq);
	CHECK(rq_valid(&rq));
	CHECK_EQ(runqueue_count(&rq), 0);
	CHECK_EQ(runqueue_best_priority(&rq), -1);
	CHECK(runqueue_pop(&rq) == NULL);
	CHECK(runqueue_steal(&rq, 0) == NULL);
	CHECK_EQ(rq.bitmap, 0);
}

TEST(zeroed_node_is_not_queued)
{
	struct item it = {0};
	CHECK(!rq_node_queued(&it.node));
	struct runqueue rq;
	runqueue_init(&rq);
	runqueue_enqueue(&rq, &it.node, 3);
	CHECK(rq_node_queued(&it.node));
	CHECK(runqueue_pop(&rq) == &it.node);
	CHECK(!rq_node_queued(&it.node));
	CHECK(it.node.next == NULL && it.node.prev == NULL);
}

TEST(fifo_within_a_level)
{
	struct item items[8];
	make_items(items, 8);
	struct runqueue rq;
	runqueue_init(&rq);
	for (int i = 0; i < 8; i++)
		runqueue_enqueue(&rq, &items[i].node, 7);
	CHECK(rq_valid(&rq));
	CHECK_EQ(runqueue_count(&rq), 8);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ(pop_id(&rq), i);
		CHECK(rq_valid(&rq));
	}
	CHECK_EQ(pop_id(&rq), -1);

	/* Round robin: a popped node queued again goes behind the others. */
	for (int i = 0; i < 3; i++)
		runqueue_enqueue(&rq, &items[i].node, 7);
	CHECK_EQ(pop_id(&rq), 0);
	runqueue_enqueue(&rq, &items[0].node, 7);
	CHECK_EQ(pop_id(&rq), 1);
	CHECK_EQ(pop_id(&rq), 2);
	CHECK_EQ(pop_id(&rq), 0);
}

TEST(priority_order_across_levels)
{
	/* (priority, id) in a scrambled order, several per level. */
	static const int prio[] = {16, 31, 0, 16, 5, 0, 31, 5, 16, 1, 30, 0};
	enum { N = sizeof(prio) / sizeof(prio[0]) };
	struct item items[N];
	make_items(items, N);
	struct runqueue rq;
	runqueue_init(&rq);
	for (int i = 0; i < N; i++) {
		runqueue_enqueue(&rq, &items[i].node, prio[i]);
		CHECK(rq_valid(&rq));
	}
	CHECK_EQ(runqueue_count(&rq), N);
	int last_prio = -1, last_id = -1;
	for (int k = 0; k < N; k++) {
		int best = runqueue_best_priority(&rq);
		int id = pop_id(&rq);
		CHECK(id >= 0);
		CHECK_EQ(prio[id], best);
		/* Non-decreasing priority; increasing id within a priority. */
		CHECK(prio[id] > last_prio || (prio[id] == last_prio && id > last_id));
		last_prio = prio[id];
		last_id = id;
		CHECK_EQ(runqueue_count(&rq), N - 1 - k);
		CHECK(rq_valid(&rq));
	}
	CHECK_EQ(runqueue_best_priority(&rq), -1);
}

TEST(bitmap_tracks_non_empty_levels)
{
	struct item items[6];
	make_items(items, 6);
	struct runqueue rq;
	runqueue_init(&rq);
	runqueue_enqueue(&rq, &items[0].node, 31);
	CHECK_EQ(rq.bitmap, 1u << 31);
	CHECK_EQ(runqueue_best_priority(&rq), 31);
	runqueue_enqueue(&rq, &items[1].node, 4);
	runqueue_enqueue(&rq, &items[2].node, 4);
	runqueue_enqueue(&rq, &items[3].node, 0);
	runqueue_enqueue(&rq, &items[4].node, 17);
	CHECK_EQ(rq.bitmap, (1u << 31) | (1u << 17) | (1u << 4) | 1u);
	CHECK_EQ(runqueue_best_priority(&rq), 0);

	CHECK_EQ(pop_id(&rq), 3);
	CHECK_EQ(rq.bitmap, (1u << 31) | (1u << 17) | (1u << 4));
	CHECK_EQ(runqueue_best_priority(&rq), 4);
	CHECK_EQ(pop_id(&rq), 1);
	CHECK_EQ(rq.bitmap, (1u << 31) | (1u << 17) | (1u << 4)); /* 2 still there */
	runqueue_remove(&rq, &items[2].node);
	CHECK_EQ(rq.bitmap, (1u << 31) | (1u << 17));
	CHECK_EQ(runqueue_best_priority(&rq), 17);
	runqueue_remove(&rq, &items[0].node);
	CHECK_EQ(rq.bitmap, 1u << 17);
	CHECK(rq_valid(&rq));
	CHECK_EQ(pop_id(&rq), 4);
	CHECK_EQ(rq.bitmap, 0);
	CHECK_EQ(runqueue_best_priority(&rq), -1);
	CHECK_EQ(runqueue_count(&rq), 0);
}

TEST(remove_head_middle_tail_and_only)
{
	struct item items[6];
	make_items(items, 6);
	struct runqueue rq;
	runqueue_init(&rq);
	for (int i = 0; i < 5; i++)
		runqueue_enqueue(&rq, &items[i].node, 9);
	runqueue_enqueue(&rq, &items[5].node, 20);

	runqueue_remove(&rq, &items[2].node); /* middle */
	CHECK(!rq_node_queued(&items[2].node));
	CHECK(rq_valid(&rq));
	runqueue_remove(&rq, &items[0].node); /* head */
	CHECK(rq_valid(&rq));
	runqueue_remove(&rq, &items[4].node); /* tail */
	CHECK(rq_valid(&rq));
	CHECK_EQ(runqueue_count(&rq), 3);
	CHECK(rq.levels[9].head == &items[1].node && rq.levels[9].tail == &items[3].node);

	runqueue_remove(&rq, &items[5].node); /* the only node of its level */
	CHECK(rq_valid(&rq));
	CHECK_EQ(rq.bitmap, 1u << 9);

	/* A removed node can be queued again, e.g. at a new priority. */
	runqueue_enqueue(&rq, &items[2].node, 3);
	runqueue_enqueue(&rq, &items[0].node, 9);
	CHECK(rq_valid(&rq));
	CHECK_EQ(pop_id(&rq), 2);
	CHECK_EQ(pop_id(&rq), 1);
	CHECK_EQ(pop_id(&rq), 3);
	CHECK_EQ(pop_id(&rq), 0);
	CHECK_EQ(pop_id(&rq), -1);
}

TEST(steal_respects_affinity)
{
	struct item items[7];
	make_items(items, 7);
	struct runqueue rq;
	runqueue_init(&rq);
	/* Only CPU 0 for the urgent ones; CPU 1 may run 2, 4 and 5. */
	items[0].affinity = 1u << 0; /* prio 2 */
	items[1].affinity = 1u << 0; /* prio 5 */
	items[2].affinity = 1u << 1; /* prio 5, behind 1 */
	items[3].affinity = 1u << 0; /* prio 8 */
	items[4].affinity = 3u;	     /* prio 8, behind 3 */
	items[5].affinity = 3u;	     /* prio 8, behind 4 */
	items[6].affinity = 1u << 0; /* prio 0 */
	runqueue_enqueue(&rq, &items[0].node, 2);
	runqueue_enqueue(&rq, &items[1].node, 5);
	runqueue_enqueue(&rq, &items[2].node, 5);
	runqueue_enqueue(&rq, &items[3].node, 8);
	runqueue_enqueue(&rq, &items[4].node, 8);
	runqueue_enqueue(&rq, &items[5].node, 8);
	runqueue_enqueue(&rq, &items[6].node, 0);

	/* Nobody may run on CPU 7: nothing taken, nothing changed. */
	CHECK_EQ(steal_id(&rq, 7), -1);
	CHECK_EQ(runqueue_count(&rq), 7);
	CHECK(rq_valid(&rq));

	/* CPU 1: the most urgent allowed level is 5, where only 2 may go. */
	CHECK_EQ(steal_id(&rq, 1), 2);
	CHECK(!rq_node_queued(&items[2].node));
	CHECK(rq_valid(&rq));
	/* Then level 8: the first allowed from the head (waited longest). */
	CHECK_EQ(steal_id(&rq, 1), 4);
	CHECK(rq_valid(&rq));
	CHECK_EQ(steal_id(&rq, 1), 5);
	CHECK(rq_valid(&rq));
	CHECK_EQ(rq.bitmap, (1u << 8) | (1u << 5) | (1u << 2) | 1u);
	CHECK_EQ(steal_id(&rq, 1), -1);

	/* CPU 0 may run everything left: plain priority order. */
	CHECK_EQ(steal_id(&rq, 0), 6);
	CHECK_EQ(steal_id(&rq, 0), 0);
	CHECK_EQ(steal_id(&rq, 0), 1);
	CHECK_EQ(steal_id(&rq, 0), 3);
	CHECK_EQ(steal_id(&rq, 0), -1);
	CHECK_EQ(runqueue_count(&rq), 0);
	CHECK_EQ(rq.bitmap, 0);

	/* A stolen node goes into another queue, as pull_work() does. */
	struct runqueue other;
	runqueue_init(&other);
	runqueue_enqueue(&rq, &items[4].node, 8);
	struct rq_node *n = runqueue_steal(&rq, 1);
	CHECK(n == &items[4].node);
	runqueue_enqueue(&other, n, 8);
	CHECK(rq_valid(&rq) && rq_valid(&other));
	CHECK_EQ(pop_id(&other), 4);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Random enqueues, pops, removes and steals against a simple model: the
 * node to pop is the queued one with the lowest (priority, enqueue time). */
TEST(random_against_model)
{
	enum { N = 200, OPS = 200000 };
	static struct item items[N];
	static uint64_t stamp[N];
	static int prio[N];
	static bool queued[N];
	rng_state = 12345;
	make_items(items, N);
	for (int i = 0; i < N; i++) {
		items[i].affinity = rng() & 0xf; /* CPUs 0-3; some may run nowhere */
		queued[i] = false;
	}
	struct runqueue rq;
	runqueue_init(&rq);
	uint64_t now = 0;
	uint32_t count = 0;
	for (int op = 0; op < OPS; op++) {
		int i = (int)(rng() % N);
		switch (rng() % 4) {
		case 0:
		case 1: /* enqueue */
			if (queued[i])
				break;
			prio[i] = (int)(rng() % 6) * 6; /* few levels: many ties */
			stamp[i] = ++now;
			queued[i] = true;
			count++;
			runqueue_enqueue(&rq, &items[i].node, prio[i]);
			break;
		case 2: { /* pop, or steal for a random CPU */
			bool steal = rng() & 1;
			uint32_t cpu = (uint32_t)(rng() % 5);
			int want = -1;
			for (int j = 0; j < N; j++) {
				if (!queued[j] || (steal && !((items[j].affinity >> cpu) & 1)))
					continue;
				if (want < 0 || prio[j] < prio[want] ||
				    (prio[j] == prio[want] && stamp[j] < stamp[want]))
					want = j;
			}
			int got = steal ? steal_id(&rq, cpu) : pop_id(&rq);
			CHECK_EQ(got, want);
			if (want >= 0) {
				queued[want] = false;
				count--;
			}
			break;
		}
		case 3: /* remove */
			if (!queued[i])
				break;
			runqueue_remove(&rq, &items[i].node);
			queued[i] = false;
			count--;
			break;
		}
		CHECK_EQ(runqueue_count(&rq), count);
		CHECK_EQ(rq_node_queued(&items[i].node), queued[i]);
		if (op % 64 == 0)
			CHECK(rq_valid(&rq));
	}
	CHECK(rq_valid(&rq));
}

/* Broken invariants panic. */
static void enqueue_twice(void)
{
	struct item it = {0};
	struct runqueue rq;
	runqueue_init(&rq);
	runqueue_enqueue(&rq, &it.node, 1);
	runqueue_enqueue(&rq, &it.node, 2);
}

static void enqueue_in_two_queues(void)
{
	struct item it = {0};
	struct runqueue a, b;
	runqueue_init(&a);
	runqueue_init(&b);
	runqueue_enqueue(&a, &it.node, 1);
	runqueue_enqueue(&b, &it.node, 1);
}

static void priority_too_high(void)
{
	struct item it = {0};
	struct runqueue rq;
	runqueue_init(&rq);
	runqueue_enqueue(&rq, &it.node, RUNQUEUE_LEVELS);
}

static void priority_negative(void)
{
	struct item it = {0};
	struct runqueue rq;
	runqueue_init(&rq);
	runqueue_enqueue(&rq, &it.node, -1);
}

static void remove_unqueued(void)
{
	struct item it = {0};
	struct runqueue rq;
	runqueue_init(&rq);
	runqueue_remove(&rq, &it.node);
}

static void remove_from_wrong_queue(void)
{
	struct item it = {0};
	struct runqueue a, b;
	runqueue_init(&a);
	runqueue_init(&b);
	runqueue_enqueue(&a, &it.node, 1);
	runqueue_remove(&b, &it.node);
}

static void no_panic(void)
{
	struct item it = {0};
	struct runqueue rq;
	runqueue_init(&rq);
	runqueue_enqueue(&rq, &it.node, 0);
	runqueue_remove(&rq, &it.node);
	runqueue_enqueue(&rq, &it.node, RUNQUEUE_LEVELS - 1);
}

TEST(broken_invariants_panic)
{
	CHECK(!panics(no_panic));
	CHECK(panics(enqueue_twice));
	CHECK(panics(enqueue_in_two_queues));
	CHECK(panics(priority_too_high));
	CHECK(panics(priority_negative));
	CHECK(panics(remove_unqueued));
	CHECK(panics(remove_from_wrong_queue));
}
