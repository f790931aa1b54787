/*
 * Scheduler self-tests: threads, sleeping and timer accuracy, fairness,
 * wake-ups across CPUs, priorities, load balancing, and no leaks from
 * thread churn.
 */
#include "arch.h"
#include "clock.h"
#include "cpu.h"
#include "ktest.h"
#include "log.h"
#include "pmm.h"
#include "sched.h"

#define MS 1000000ull

static void set_flag(void *arg)
{
	__atomic_store_n((volatile int *)arg, 1, __ATOMIC_RELEASE);
}

KTEST(sched_create_join)
{
	volatile int flag = 0;
	struct thread *t = thread_create("flag", set_flag, (void *)&flag, THREAD_PRIORITY_DEFAULT,
					 0, true);
	KCHECK(t != 0);
	thread_join(t);
	KCHECK_EQ(flag, 1);
}

KTEST(sched_sleep_and_timer_accuracy)
{
	/* The TSC clock against the HPET over real sleeps. */
	for (int i = 0; i < 3; i++) {
		uint64_t want = (uint64_t)(5 + 15 * i) * MS;
		uint64_t ref0 = 0, ref1 = 0;
		bool have_ref = arch_reference_clock_ns(&ref0);
		uint64_t t0 = clock_monotonic_ns();
		thread_sleep_ns(want);
		uint64_t t1 = clock_monotonic_ns();
		if (have_ref)
			arch_reference_clock_ns(&ref1);
		uint64_t slept = t1 - t0;
		KCHECK(slept >= want);
		/* Emulation is slow and noisy: allow 20 ms of lateness. */
		KCHECK(slept < want + 20 * MS);
		if (have_ref) {
			uint64_t ref = ref1 - ref0;
			uint64_t diff = ref > slept ? ref - slept : slept - ref;
			/* Both clocks must agree within 2% + 0.5 ms. */
			KCHECK(diff < slept / 50 + MS / 2);
		}
	}
}

struct spinner {
	uint64_t until;
	uint64_t runtime;
	uint32_t cpus_seen; /* bit mask */
};

static void spin_until(void *arg)
{
	struct spinner *s = arg;
	while (clock_monotonic_ns() < s->until)
		s->cpus_seen |= 1u << (arch_cpu_index() & 31);
	s->runtime = thread_runtime_ns(thread_current());
}

KTEST(sched_fairness_same_priority)
{
	enum { N = 3 };
	struct spinner s[N];
	struct thread *t[N];
	uint32_t cpu = cpu_count - 1;
	uint64_t until = clock_monotonic_ns() + 300 * MS;
	for (int i = 0; i < N; i++) {
		s[i] = (struct spinner){until, 0, 0};
		t[i] = thread_create("spin", spin_until, &s[i], THREAD_PRIORITY_DEFAULT,
				     1ull << cpu, true);
		KCHECK(t[i] != 0);
	}
	for (int i = 0; i < N; i++)
		thread_join(t[i]);
	uint64_t total = 0;
	for (int i = 0; i < N; i++)
		total += s[i].runtime;
	uint64_t mean = total / N;
	for (int i = 0; i < N; i++) {
		uint64_t d = s[i].runtime > mean ? s[i].runtime - mean : mean - s[i].runtime;
		if (d > mean / 4)
			ktest_fail(__FILE__, __LINE__, "thread %d ran %llu us, mean %llu us", i,
				   (unsigned long long)(s[i].runtime / 1000),
				   (unsigned long long)(mean / 1000));
	}
}

/* Two threads pinned to two CPUs hand a token back and forth, each
 * parking until the other unparks it: every hand-over is a wake-up across
 * CPUs (a reschedule IPI to a halted CPU). */
struct pingpong {
	struct thread *peer[2];
	volatile uint32_t turn; /* even: side 0 plays, odd: side 1 */
	uint32_t rounds;
	uint64_t elapsed_ns;
	bool moved;             /* a pinned side ran on another CPU */
};

static void pingpong_side(struct pingpong *p, uint32_t side, uint32_t cpu)
{
	while (!__atomic_load_n(&p->peer[side ^ 1], __ATOMIC_ACQUIRE))
		thread_yield();
	uint64_t t0 = clock_monotonic_ns();
	for (uint32_t i = 0; i < p->rounds; i++) {
		while ((__atomic_load_n(&p->turn, __ATOMIC_ACQUIRE) & 1) != side)
			thread_park();
		if (arch_cpu_index() != cpu)
			p->moved = true;
		__atomic_store_n(&p->turn, p->turn + 1, __ATOMIC_RELEASE);
		thread_unpark(p->peer[side ^ 1]);
	}
	if (side == 0)
		p->elapsed_ns = clock_monotonic_ns() - t0;
}

static void ping0(void *arg)
{
	pingpong_side(arg, 0, 0);
}

static void ping1(void *arg)
{
	pingpong_side(arg, 1, cpu_count > 1 ? 1 : 0);
}

KTEST(sched_cross_cpu_wakeups)
{
	struct pingpong p = {{0, 0}, 0, 200, 0, false};
	uint32_t other = cpu_count > 1 ? 1 : 0;
	struct thread *a = thread_create("ping", ping0, &p, THREAD_PRIORITY_DEFAULT, 1ull << 0, true);
	KCHECK(a != 0);
	struct thread *b = thread_create("pong", ping1, &p, THREAD_PRIORITY_DEFAULT, 1ull << other,
					 true);
	KCHECK(b != 0);
	__atomic_store_n(&p.peer[0], a, __ATOMIC_RELEASE);
	__atomic_store_n(&p.peer[1], b, __ATOMIC_RELEASE);
	thread_join(a);
	thread_join(b);
	KCHECK_EQ(p.turn, 2 * p.rounds);
	KCHECK(!p.moved);
	kprintf("KTEST INFO wake-up round trip %llu us (cpu0 <-> cpu%u)\n",
		(unsigned long long)(p.elapsed_ns / p.rounds / 1000), other);
}

struct waker {
	uint64_t late_ns;
};

static void urgent_sleeper(void *arg)
{
	struct waker *w = arg;
	uint64_t t0 = clock_monotonic_ns();
	thread_sleep_ns(5 * MS);
	w->late_ns = clock_monotonic_ns() - t0 - 5 * MS;
}

KTEST(sched_priority_preempts)
{
	/* A busy low-priority thread must not delay an urgent one's wake-up
	 * by a whole time slice. */
	uint32_t cpu = cpu_count - 1;
	struct spinner s = {clock_monotonic_ns() + 60 * MS, 0, 0};
	struct waker w = {0};
	struct thread *lo = thread_create("busy", spin_until, &s, THREAD_PRIORITIES - 2,
					  1ull << cpu, true);
	struct thread *hi = thread_create("urgent", urgent_sleeper, &w, 2, 1ull << cpu, true);
	KCHECK(lo && hi);
	thread_join(hi);
	thread_join(lo);
	if (w.late_ns > 8 * MS)
		ktest_fail(__FILE__, __LINE__, "urgent thread woke %llu us late",
			   (unsigned long long)(w.late_ns / 1000));
}

KTEST(sched_load_balancing)
{
	if (cpu_count < 2)
		return;
	enum { N = 8 };
	struct spinner s[N];
	struct thread *t[N];
	uint64_t until = clock_monotonic_ns() + 150 * MS;
	for (int i = 0; i < N; i++) {
		s[i] = (struct spinner){until, 0, 0};
		t[i] = thread_create("balance", spin_until, &s[i], THREAD_PRIORITY_DEFAULT, 0, true);
		KCHECK(t[i] != 0);
	}
	uint32_t seen = 0;
	for (int i = 0; i < N; i++) {
		thread_join(t[i]);
		seen |= s[i].cpus_seen;
	}
	KCHECK_EQ(seen, (cpu_count >= 32 ? 0xffffffffu : (1u << cpu_count) - 1));
}

static void nothing(void *arg)
{
	(void)arg;
}

KTEST(sched_thread_churn_no_leak)
{
	struct pmm_stats before, after;
	/* Round 0 warms up allocator caches (slabs kept for reuse are not
	 * leaks); the following rounds must not take any more memory. */
	for (int round = 0; round < 11; round++) {
		if (round == 1)
			pmm_get_stats(&before);
		struct thread *t[20];
		for (int i = 0; i < 20; i++) {
			t[i] = thread_create("churn", nothing, 0, THREAD_PRIORITY_DEFAULT, 0, true);
			KCHECK(t[i] != 0);
		}
		for (int i = 0; i < 20; i++)
			thread_join(t[i]);
	}
	pmm_get_stats(&after);
	KCHECK_EQ(after.free_pages, before.free_pages);
}
