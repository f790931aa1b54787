/* The timer queue: deadline order, insertion order among equal deadlines,
 * cancel anywhere in the heap, `now` in pop_expired, the armed flag. */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container_of.h"
#include "timerq.h"
#include "unit.h"

struct item {
	int id;
	struct timer_node timer;
};

static void make_items(struct item *items, int n)
{
	for (int i = 0; i < n; i++) {
		items[i].id = i;
		timer_node_init(&items[i].timer);
	}
}

static int id_of(const struct timer_node *n)
{
	return n ? container_of(n, const struct item, timer)->id : -1;
}

static int pop_id(struct timerq *q, uint64_t now)
{
	return id_of(timerq_pop_expired(q, now));
}

static uint64_t rng_state;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Does `a` fire before `b`, by the queue's own key? */
static bool key_before(const struct timer_node *a, const struct timer_node *b)
{
	return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

/* Check every invariant of timerq.c by walking the whole heap, depth
 * first, without recursion (the heap may be deep). */
static bool heap_valid(const struct timerq *q)
{
	const struct timer_node *root = q->root;
	if (!root)
		return q->count == 0;
	if (root->prev || root->next)
		return false;
	uint32_t seen = 0;
	const struct timer_node *n = root;
	for (;;) {
		if (n->queue != q || ++seen > q->count)
			return false;
		/* Links and heap order of all of n's children. */
		const struct timer_node *prev = n;
		for (const struct timer_node *c = n->child; c; prev = c, c = c->next) {
			if (c->prev != prev || key_before(c, n))
				return false;
		}
		if (n->child) {
			n = n->child;
			continue;
		}
		/* Up until there is a next sibling (or back at the root). */
		while (n != root && !n->next) {
			while (n->prev->child != n)
				n = n->prev; /* back to the first sibling */
			n = n->prev;	     /* its parent */
		}
		if (n == root)
			break;
		n = n->next;
	}
	return seen == q->count && timerq_count(q) == q->count;
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
	struct timerq q;
	timerq_init(&q);
	uint64_t d = 777;
	CHECK(!timerq_peek_deadline(&q, &d));
	CHECK_EQ(d, 777); /* left alone */
	CHECK(timerq_pop_expired(&q, UINT64_MAX) == NULL);
	CHECK_EQ(timerq_count(&q), 0);
	CHECK(heap_valid(&q));
}

TEST(armed_flag_and_deadline)
{
	struct item zero = {0};
	CHECK(!timer_node_armed(&zero.timer));
	CHECK_EQ(timer_node_deadline(&zero.timer), 0);

	struct item it[2];
	make_items(it, 2);
	struct timerq q;
	timerq_init(&q);
	CHECK(!timer_node_armed(&it[0].timer));
	timerq_insert(&q, &it[0].timer, 500);
	timerq_insert(&q, &it[1].timer, 100);
	CHECK(timer_node_armed(&it[0].timer) && timer_node_armed(&it[1].timer));
	CHECK_EQ(timer_node_deadline(&it[0].timer), 500);
	CHECK_EQ(timer_node_deadline(&it[1].timer), 100);
	CHECK_EQ(timerq_count(&q), 2);

	CHECK_EQ(pop_id(&q, 100), 1);
	CHECK(!timer_node_armed(&it[1].timer));
	CHECK_EQ(timer_node_deadline(&it[1].timer), 100);
	timerq_cancel(&q, &it[0].timer);
	CHECK(!timer_node_armed(&it[0].timer));
	CHECK_EQ(timerq_count(&q), 0);
	CHECK(q.root == NULL);
	CHECK(it[0].timer.child == NULL && it[0].timer.next == NULL && it[0].timer.prev == NULL);
}

TEST(pop_expired_respects_now)
{
	struct item it[4];
	make_items(it, 4);
	struct timerq q;
	timerq_init(&q);
	timerq_insert(&q, &it[0].timer, 30);
	timerq_insert(&q, &it[1].timer, 10);
	timerq_insert(&q, &it[2].timer, 20);
	timerq_insert(&q, &it[3].timer, UINT64_MAX);
	uint64_t d = 0;
	CHECK(timerq_peek_deadline(&q, &d));
	CHECK_EQ(d, 10);
	CHECK_EQ(pop_id(&q, 0), -1);
	CHECK_EQ(pop_id(&q, 9), -1);
	CHECK_EQ(timerq_count(&q), 4);
	CHECK_EQ(pop_id(&q, 20), 1); /* deadline 10 <= now */
	CHECK_EQ(pop_id(&q, 20), 2); /* deadline == now counts as expired */
	CHECK_EQ(pop_id(&q, 20), -1);
	CHECK(timerq_peek_deadline(&q, &d));
	CHECK_EQ(d, 30);
	CHECK_EQ(pop_id(&q, UINT64_MAX - 1), 0);
	CHECK_EQ(pop_id(&q, UINT64_MAX - 1), -1);
	CHECK_EQ(pop_id(&q, UINT64_MAX), 3);
	CHECK(!timerq_peek_deadline(&q, &d));
	CHECK(heap_valid(&q));
}

struct ref {
	uint64_t deadline;
	int id;
};

static int ref_cmp(const void *pa, const void *pb)
{
	const struct ref *a = pa, *b = pb;
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline ? -1 : 1;
	return a->id - b->id; /* inserted in id order */
}

TEST(many_random_deadlines_come_out_sorted)
{
	enum { N = 10000 };
	static struct item items[N];
	static struct ref ref[N];
	make_items(items, N);
	struct timerq q;
	timerq_init(&q);
	rng_state = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < N; i++) {
		/* Half from a narrow range, so there are many equal deadlines. */
		uint64_t d = (i & 1) ? rng() : rng() % 1000;
		ref[i].deadline = d;
		ref[i].id = i;
		timerq_insert(&q, &items[i].timer, d);
	}
	CHECK_EQ(timerq_count(&q), N);
	CHECK(heap_valid(&q));
	qsort(ref, N, sizeof(ref[0]), ref_cmp);
	for (int k = 0; k < N; k++) {
		uint64_t d;
		CHECK(timerq_peek_deadline(&q, &d));
		CHECK_EQ(d, ref[k].deadline);
		/* Not yet due one tick early (unless an equal one was due). */
		if (d > 0 && (k == 0 || ref[k - 1].deadline != d))
			CHECK(timerq_pop_expired(&q, d - 1) == NULL);
		CHECK_EQ(pop_id(&q, d), ref[k].id);
		CHECK(!timer_node_armed(&items[ref[k].id].timer));
		if (k % 1000 == 0)
			CHECK(heap_valid(&q));
	}
	CHECK_EQ(timerq_count(&q), 0);
	CHECK(q.root == NULL);
}

TEST(sorted_and_reverse_inserts)
{
	enum { N = 2000 };
	static struct item items[N];
	for (int rev = 0; rev < 2; rev++) {
		make_items(items, N);
		struct timerq q;
		timerq_init(&q);
		for (int i = 0; i < N; i++)
			timerq_insert(&q, &items[i].timer, rev ? (uint64_t)(N - i) : (uint64_t)i);
		CHECK(heap_valid(&q));
		for (int k = 0; k < N; k++)
			CHECK_EQ(pop_id(&q, UINT64_MAX), rev ? N - 1 - k : k);
		CHECK(heap_valid(&q));
	}
}

TEST(equal_deadlines_fire_in_insertion_order)
{
	enum { N = 300 };
	static struct item items[N];
	make_items(items, N);
	struct timerq q;
	timerq_init(&q);
	/* Interleave three deadlines; within each, insertion order = id. */
	for (int i = 0; i < N; i++)
		timerq_insert(&q, &items[i].timer, 1000 + (uint64_t)(i % 3) * 10);
	/* Churn the heap's shape: pop one, cancel a few and re-insert them
	 * (a re-inserted node goes behind the others of its deadline). */
	CHECK_EQ(pop_id(&q, 1000), 0);
	static const int again[] = {3, 150, 297, 4, 298};
	for (int k = 0; k < 5; k++)
		timerq_cancel(&q, &items[again[k]].timer);
	for (int k = 0; k < 5; k++)
		timerq_insert(&q, &items[again[k]].timer, 1000 + (uint64_t)(again[k] % 3) * 10);
	CHECK(heap_valid(&q));
	for (int r = 0; r < 3; r++) {
		int last = -1;
		bool in_tail = false; /* among the re-inserted ones */
		int tail_k = 0;
		for (;;) {
			uint64_t d;
			if (!timerq_peek_deadline(&q, &d) || d != 1000 + (uint64_t)r * 10)
				break;
			int id = pop_id(&q, d);
			CHECK_EQ(id % 3, r);
			bool reinserted = false;
			for (int k = 0; k < 5; k++)
				reinserted |= again[k] == id;
			if (reinserted) {
				in_tail = true;
				/* In the order of re-insertion. */
				while (tail_k < 5 && again[tail_k] != id)
					tail_k++;
				CHECK(tail_k < 5);
			} else {
				CHECK(!in_tail);
				CHECK(id > last);
				last = id;
			}
		}
	}
	CHECK_EQ(timerq_count(&q), 0);
}

/* Pick a node of a given shape from the heap. */
static struct timer_node *find_node(const struct timerq *q, bool want_children)
{
	/* Walk down the first-child chain and along the root's children. */
	for (struct timer_node *c = q->root ? q->root->child : NULL; c; c = c->next) {
		for (struct timer_node *n = c; n; n = n->child) {
			if ((n->child != NULL) == want_children)
				return n;
		}
	}
	return NULL;
}

TEST(cancel_root_middle_and_leaf)
{
	enum { N = 64 };
	static struct item items[N];
	static bool gone[N];
	make_items(items, N);
	struct timerq q;
	timerq_init(&q);
	rng_state = 42;
	for (int i = 0; i < N; i++) {
		timerq_insert(&q, &items[i].timer, rng() % 100000);
		gone[i] = false;
	}
	/* A pop gives the heap some depth. */
	struct timer_node *first = timerq_pop_expired(&q, UINT64_MAX);
	CHECK(first != NULL);
	gone[id_of(first)] = true;
	CHECK(heap_valid(&q));

	struct timer_node *victims[3] = {
		q.root,		      /* the root */
		find_node(&q, true),  /* an inner node, with children */
		find_node(&q, false), /* a leaf */
	};
	CHECK(victims[1] != NULL && victims[2] != NULL);
	CHECK(victims[1] != victims[0] && victims[2] != victims[0]);
	for (int v = 0; v < 3; v++) {
		timerq_cancel(&q, victims[v]);
		CHECK(!timer_node_armed(victims[v]));
		gone[id_of(victims[v])] = true;
		CHECK(heap_valid(&q));
	}
	CHECK_EQ(timerq_count(&q), N - 4);
	/* The rest come out in order, and none of the cancelled ones. */
	uint64_t last = 0;
	int popped = 0;
	for (struct timer_node *n; (n = timerq_pop_expired(&q, UINT64_MAX)); popped++) {
		CHECK(!gone[id_of(n)]);
		CHECK(n->deadline >= last);
		last = n->deadline;
	}
	CHECK_EQ(popped, N - 4);
}

TEST(reinsert_after_cancel_and_pop)
{
	struct item it[3];
	make_items(it, 3);
	struct timerq a, b;
	timerq_init(&a);
	timerq_init(&b);
	timerq_insert(&a, &it[0].timer, 50);
	timerq_insert(&a, &it[1].timer, 60);
	timerq_cancel(&a, &it[0].timer);
	timerq_insert(&a, &it[0].timer, 70); /* same queue, later */
	CHECK_EQ(pop_id(&a, 100), 1);
	timerq_insert(&a, &it[1].timer, 10); /* popped, back in, now first */
	CHECK_EQ(pop_id(&a, 100), 1);
	CHECK_EQ(pop_id(&a, 100), 0);
	/* A node moves to another queue once disarmed (another CPU). */
	timerq_insert(&b, &it[0].timer, 5);
	timerq_insert(&b, &it[2].timer, 5);
	CHECK(it[0].timer.queue == &b);
	CHECK_EQ(timerq_count(&a), 0);
	CHECK_EQ(timerq_count(&b), 2);
	CHECK_EQ(pop_id(&b, 5), 0);
	CHECK_EQ(pop_id(&b, 5), 2);
	CHECK(heap_valid(&a) && heap_valid(&b));
}

/*
 * Random inserts, cancels (of any armed node), peeks and pops with a
 * clock that moves forward, against a model: the next node to fire is the
 * armed one with the lowest (deadline, insertion number).
 */
TEST(random_against_model)
{
	enum { N = 1000, OPS = 200000 };
	static struct item items[N];
	static uint64_t deadline[N], order[N];
	static bool armed[N];
	make_items(items, N);
	for (int i = 0; i < N; i++)
		armed[i] = false;
	struct timerq q;
	timerq_init(&q);
	rng_state = 2024;
	uint64_t now = 0, inserted = 0;
	uint32_t count = 0;
	for (int op = 0; op < OPS; op++) {
		int i = (int)(rng() % N);
		uint64_t r = rng() % 8;
		if (r < 4) { /* insert: mostly near future, some ties, some far */
			if (armed[i])
				continue;
			uint64_t d = now + (r == 0 ? 0 : r == 1 ? rng() % 4 : rng() % 5000);
			deadline[i] = d;
			order[i] = inserted++;
			armed[i] = true;
			count++;
			timerq_insert(&q, &items[i].timer, d);
		} else if (r < 6) { /* cancel */
			if (!armed[i])
				continue;
			timerq_cancel(&q, &items[i].timer);
			armed[i] = false;
			count--;
		} else { /* time passes; pop what has expired, checking each */
			now += rng() % 200;
			int want;
			do {
				want = -1;
				for (int j = 0; j < N; j++) {
					if (armed[j] && (want < 0 || deadline[j] < deadline[want] ||
							 (deadline[j] == deadline[want] &&
							  order[j] < order[want])))
						want = j;
				}
				uint64_t d;
				CHECK_EQ(timerq_peek_deadline(&q, &d), want >= 0);
				if (want >= 0)
					CHECK_EQ(d, deadline[want]);
				if (want >= 0 && deadline[want] > now)
					want = -1;
				int got = pop_id(&q, now);
				CHECK_EQ(got, want);
				if (want >= 0) {
					armed[want] = false;
					count--;
				}
			} while (want >= 0);
		}
		CHECK_EQ(timerq_count(&q), count);
		CHECK_EQ(timer_node_armed(&items[i].timer), armed[i]);
		if (op % 256 == 0)
			CHECK(heap_valid(&q));
	}
	CHECK(heap_valid(&q));
}

/* Broken invariants panic. */
static void insert_twice(void)
{
	struct item it = {0};
	struct timerq q;
	timerq_init(&q);
	timerq_insert(&q, &it.timer, 1);
	timerq_insert(&q, &it.timer, 2);
}

static void insert_in_two_queues(void)
{
	struct item it = {0};
	struct timerq a, b;
	timerq_init(&a);
	timerq_init(&b);
	timerq_insert(&a, &it.timer, 1);
	timerq_insert(&b, &it.timer, 1);
}

static void cancel_unarmed(void)
{
	struct item it = {0};
	struct timerq q;
	timerq_init(&q);
	timerq_cancel(&q, &it.timer);
}

static void cancel_in_wrong_queue(void)
{
	struct item it = {0};
	struct timerq a, b;
	timerq_init(&a);
	timerq_init(&b);
	timerq_insert(&a, &it.timer, 1);
	timerq_cancel(&b, &it.timer);
}

static void cancel_twice(void)
{
	struct item it = {0};
	struct timerq q;
	timerq_init(&q);
	timerq_insert(&q, &it.timer, 1);
	timerq_cancel(&q, &it.timer);
	timerq_cancel(&q, &it.timer);
}

static void no_panic(void)
{
	struct item it = {0};
	struct timerq q;
	timerq_init(&q);
	timerq_insert(&q, &it.timer, 1);
	timerq_cancel(&q, &it.timer);
	timerq_insert(&q, &it.timer, 1);
}

TEST(broken_invariants_panic)
{
	CHECK(!panics(no_panic));
	CHECK(panics(insert_twice));
	CHECK(panics(insert_in_two_queues));
	CHECK(panics(cancel_unarmed));
	CHECK(panics(cancel_in_wrong_queue));
	CHECK(panics(cancel_twice));
}
