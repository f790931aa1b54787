/*
 * Kernel threads and the scheduler (see sched.h for the policy).
 *
 * Locks, in order (spinlock.h):
 *   run queue of CPU n   (LOCK_ORDER_SCHED + n): the CPU's run queue, and
 *                        state/cpu/wake_pending of every thread whose
 *                        `cpu` is n. Two run queues: lower CPU first.
 *   timer queue of a CPU (LOCK_ORDER_TIMER): that CPU's armed kernel timers
 *                        (sleeping threads, timeouts, async timers).
 *   reaper lock          (LOCK_ORDER_THREAD): the list of detached dead threads.
 *
 * Context switch protocol: schedule_locked() is entered with the current
 * CPU's run-queue lock held and interrupts off. The lock stays held across
 * arch_context_switch() and is released by the thread switched to, in
 * finish_switch() (a new thread does that in thread_start()). So whoever
 * holds a run-queue lock knows that no thread of that CPU is half-way
 * through a switch: a BLOCKED thread is fully off its stack.
 *
 * Thread states:
 *   RUNNING  current on its CPU     READY    in its CPU's run queue
 *   BLOCKED  parked, in no queue    WAKING   being moved to another CPU by
 *   DEAD     exited                          an unpark (between two locks)
 */
#include "sched.h"

#include "arch.h"
#include "clock.h"
#include "container_of.h"
#include "cpu.h"
#include "kstring.h"
#include "log.h"
#include "panic.h"
#include "runqueue.h"
#include "slab.h"
#include "spinlock.h"
#include "timerq.h"
#include "uthread.h"
#include "vm.h"

#define TIME_SLICE_NS 10000000ull
#define THREAD_STACK_SIZE (16u << 10)

enum thread_state { T_RUNNING, T_READY, T_BLOCKED, T_WAKING, T_DEAD };

struct thread {
	struct rq_node rq;
	struct ktimer sleep_timer; /* sleeping or waiting with a deadline */
	uint64_t sp;               /* saved stack pointer while switched out */
	void *stack;               /* base of the stack (NULL: not ours to free) */
	uint32_t id;
	char name[THREAD_NAME_MAX];
	enum thread_state state;
	int priority;
	uint32_t cpu;
	uint64_t affinity;
	bool wake_pending;
	bool is_idle;
	bool joinable;
	struct uthread *user;      /* the user-mode half, NULL for kernel threads */
	int migrate_to;            /* >= 0: move to this CPU when switched out */
	volatile bool exited;      /* off its stack for good */
	struct thread *volatile joiner;
	struct thread *next_dead;
	uint64_t runtime_ns;
	uint64_t switched_in_ns;
	thread_fn fn;
	void *arg;
};

struct sched_cpu {
	struct spinlock lock;
	struct runqueue rq;
	struct thread *idle;
	struct thread *prev;       /* switched away from, for finish_switch() */
	bool need_resched;
	uint64_t slice_end_ns;
	struct spinlock timer_lock;
	struct timerq timers;
	/* The timer whose callback runs now (set under timer_lock). Kept
	 * here, not in the timer, because a callback may free its timer. */
	struct ktimer *firing;
	uint64_t switches;
	uint64_t idle_ns;
	uint64_t migrations_in;
};

static struct sched_cpu sched_cpus[MAX_CPUS];
static uint32_t next_thread_id = 1;

static struct spinlock reaper_lock = SPINLOCK_INIT("reaper", LOCK_ORDER_THREAD);
static struct thread *reaper_list;
static struct thread *reaper_thread;

static struct thread boot_thread;

static struct sched_cpu *this_sched(void)
{
	return &sched_cpus[arch_cpu_index()];
}

static uint64_t cpu_mask(uint32_t cpu)
{
	return 1ull << cpu;
}

static bool allowed_on(const struct thread *t, uint32_t cpu)
{
	return (t->affinity & cpu_mask(cpu)) != 0;
}

static bool cpu_is_idle(uint32_t cpu)
{
	return cpus[cpu].current == sched_cpus[cpu].idle;
}

/* Is `t` more urgent than what CPU `cpu` runs now? (Its lock held.) */
static bool preempts(const struct thread *t, uint32_t cpu)
{
	const struct thread *cur = cpus[cpu].current;
	return cur == sched_cpus[cpu].idle || t->priority < cur->priority;
}

/* Program this CPU's timer for its next event: the earliest sleeper, or
 * the end of the slice if someone is waiting for the CPU. Lock held. */
static void rearm(struct sched_cpu *sc)
{
	uint64_t now = clock_monotonic_ns();
	uint64_t deadline = UINT64_MAX;
	spin_lock(&sc->timer_lock);
	uint64_t first;
	if (timerq_peek_deadline(&sc->timers, &first))
		deadline = first;
	spin_unlock(&sc->timer_lock);
	if (runqueue_count(&sc->rq) > 0 && cpu_current()->current != sc->idle &&
	    sc->slice_end_ns < deadline)
		deadline = sc->slice_end_ns;
	if (deadline == UINT64_MAX)
		return;
	arch_timer_arm(deadline > now ? deadline - now : 1);
}

/* An idle CPU (other than us) the thread may run on, or -1. */
static int find_idle_cpu(const struct thread *t)
{
	uint32_t me = arch_cpu_index();
	for (uint32_t i = 0; i < cpu_count; i++) {
		uint32_t c = (me + 1 + i) % cpu_count;
		if (allowed_on(t, c) && cpus[c].online && cpu_is_idle(c) &&
		    runqueue_count(&sched_cpus[c].rq) == 0)
			return (int)c;
	}
	return -1;
}

/* Make `t` READY on CPU `cpu` (its lock held) and get it running soon. */
static void enqueue_locked(struct thread *t, uint32_t cpu)
{
	struct sched_cpu *sc = &sched_cpus[cpu];
	t->cpu = cpu;
	t->state = T_READY;
	runqueue_enqueue(&sc->rq, &t->rq, t->priority);
	bool urgent = preempts(t, cpu);
	if (cpu == arch_cpu_index()) {
		if (urgent)
			sc->need_resched = true;
		rearm(sc);
	} else {
		/* The other CPU re-arms its slice timer or preempts on the IPI. */
		arch_send_reschedule(cpu);
	}
}

/* Lock the run queue that currently owns `t` (t->cpu may change until we
 * hold the lock). Returns that CPU's scheduler state. */
static struct sched_cpu *lock_thread_cpu(struct thread *t)
{
	for (;;) {
		uint32_t cpu = __atomic_load_n(&t->cpu, __ATOMIC_ACQUIRE);
		struct sched_cpu *sc = &sched_cpus[cpu];
		spin_lock(&sc->lock);
		if (t->cpu == cpu)
			return sc;
		spin_unlock(&sc->lock);
	}
}

static void process_dead(struct thread *t)
{
	if (t->joinable) {
		__atomic_store_n(&t->exited, true, __ATOMIC_SEQ_CST);
		struct thread *j = __atomic_load_n(&t->joiner, __ATOMIC_SEQ_CST);
		if (j)
			thread_unpark(j);
		return;
	}
	spin_lock(&reaper_lock);
	t->next_dead = reaper_list;
	reaper_list = t;
	spin_unlock(&reaper_lock);
	if (reaper_thread)
		thread_unpark(reaper_thread);
}

/* Second half of a switch, on the new thread: release the run-queue lock
 * the previous thread took, then deal with a previous thread that died. */
static void finish_switch(void)
{
	struct sched_cpu *sc = this_sched();
	struct thread *prev = sc->prev;
	sc->prev = 0;
	bool dead = prev && prev->state == T_DEAD;
	bool moving = prev && prev->state == T_WAKING;
	spin_unlock(&sc->lock);
	if (dead)
		process_dead(prev);
	if (moving) {
		/* Off its stack now: queue it where its affinity allows. */
		uint32_t target = (uint32_t)prev->migrate_to;
		prev->migrate_to = -1;
		struct sched_cpu *tc = &sched_cpus[target];
		spin_lock(&tc->lock);
		enqueue_locked(prev, target);
		tc->migrations_in++;
		spin_unlock(&tc->lock);
	}
}

/* Pick the next thread and switch to it. This CPU's run-queue lock held,
 * interrupts off; returns (possibly much later, possibly on another CPU)
 * with the lock released. */
static void schedule_locked(void)
{
	struct cpu *c = cpu_current();
	struct sched_cpu *sc = &sched_cpus[c->index];
	struct thread *prev = c->current;
	uint64_t now = clock_monotonic_ns();

	sc->need_resched = false;
	if (prev->state == T_RUNNING && prev != sc->idle) {
		if (prev->migrate_to >= 0) {
			/* finish_switch() queues it on its new CPU. */
			prev->state = T_WAKING;
			__atomic_store_n(&prev->cpu, (uint32_t)prev->migrate_to, __ATOMIC_RELEASE);
		} else {
			prev->state = T_READY;
			runqueue_enqueue(&sc->rq, &prev->rq, prev->priority);
		}
	}
	struct rq_node *n = runqueue_pop(&sc->rq);
	struct thread *next = n ? container_of(n, struct thread, rq) : sc->idle;
	next->state = T_RUNNING;
	next->cpu = c->index;
	if (next != prev) {
		uint64_t ran = now - prev->switched_in_ns;
		prev->runtime_ns += ran;
		if (prev == sc->idle)
			sc->idle_ns += ran;
		next->switched_in_ns = now;
		sc->slice_end_ns = now + TIME_SLICE_NS;
		sc->switches++;
		sc->prev = prev;
		c->current = next;
		if (next->stack && !next->is_idle)
			arch_thread_switched_in((uint64_t)next->stack + THREAD_STACK_SIZE);
		if (prev->user || next->user)
			uthread_switch(prev, next);
		rearm(sc);
		arch_context_switch(&prev->sp, next->sp);
		finish_switch();
		return;
	}
	if (prev != sc->idle)
		sc->slice_end_ns = now + TIME_SLICE_NS;
	rearm(sc);
	spin_unlock(&sc->lock);
}

static void schedule(void)
{
	uint64_t flags = arch_irq_save();
	spin_lock(&this_sched()->lock);
	schedule_locked();
	arch_irq_restore(flags);
}

/* Idle CPU: take a waiting thread from the busiest CPU. */
static bool pull_work(void)
{
	uint32_t me = arch_cpu_index();
	int busiest = -1;
	uint32_t most = 0;
	for (uint32_t i = 0; i < cpu_count; i++) {
		uint32_t n = runqueue_count(&sched_cpus[i].rq);
		if (i != me && n > most) {
			most = n;
			busiest = (int)i;
		}
	}
	if (busiest < 0)
		return false;
	struct sched_cpu *mine = &sched_cpus[me], *theirs = &sched_cpus[busiest];
	struct sched_cpu *first = me < (uint32_t)busiest ? mine : theirs;
	struct sched_cpu *second = first == mine ? theirs : mine;
	spin_lock(&first->lock);
	spin_lock(&second->lock);
	struct rq_node *n = runqueue_steal(&theirs->rq, me);
	if (n) {
		struct thread *t = container_of(n, struct thread, rq);
		t->cpu = me;
		runqueue_enqueue(&mine->rq, &t->rq, t->priority);
		mine->migrations_in++;
	}
	spin_unlock(&second->lock);
	spin_unlock(&first->lock);
	return n != 0;
}

static void __attribute__((noreturn)) idle_loop(void)
{
	for (;;) {
		arch_irq_disable();
		struct sched_cpu *sc = this_sched();
		if (runqueue_count(&sc->rq) == 0)
			pull_work();
		if (runqueue_count(&sc->rq) > 0 || sc->need_resched) {
			spin_lock(&sc->lock);
			schedule_locked();
			continue;
		}
		/* Atomically enable interrupts and halt: an IPI sent after the
		 * check above still wakes us. */
		arch_wait_for_interrupt();
	}
}

static void thread_start(void *unused)
{
	(void)unused;
	finish_switch();
	arch_irq_enable();
	struct thread *t = thread_current();
	t->fn(t->arg);
	thread_exit();
}

bool runqueue_can_run_on(const struct rq_node *n, uint32_t cpu)
{
	return allowed_on(container_of(n, struct thread, rq), cpu);
}

/* ---- kernel timers ---- */

void ktimer_init(struct ktimer *k, void (*fn)(struct ktimer *))
{
	timer_node_init(&k->node);
	k->fn = fn;
	k->cpu = 0;
}

void ktimer_arm(struct ktimer *k, uint64_t deadline)
{
	uint64_t flags = arch_irq_save();
	struct sched_cpu *sc = this_sched();
	spin_lock(&sc->timer_lock);
	KASSERT(!timer_node_armed(&k->node));
	k->cpu = arch_cpu_index();
	timerq_insert(&sc->timers, &k->node, deadline);
	spin_unlock(&sc->timer_lock);
	spin_lock(&sc->lock);
	rearm(sc);
	spin_unlock(&sc->lock);
	arch_irq_restore(flags);
}

bool ktimer_cancel(struct ktimer *k)
{
	struct sched_cpu *tc = &sched_cpus[k->cpu];
	uint64_t flags = arch_irq_save();
	spin_lock(&tc->timer_lock);
	bool was_armed = timer_node_armed(&k->node);
	if (was_armed)
		timerq_cancel(&tc->timers, &k->node);
	spin_unlock(&tc->timer_lock);
	arch_irq_restore(flags);
	/* Popped but still running its callback on its CPU: wait, so the
	 * caller may free or reuse the timer when we return. */
	while (__atomic_load_n(&tc->firing, __ATOMIC_ACQUIRE) == k)
		arch_cpu_relax();
	return was_armed;
}

static void sleep_timer_fired(struct ktimer *k)
{
	thread_unpark(container_of(k, struct thread, sleep_timer));
}

static struct thread *thread_alloc(const char *name, int priority, uint64_t affinity)
{
	struct thread *t = kzalloc(sizeof(*t));
	if (!t)
		return 0;
	t->id = __atomic_fetch_add(&next_thread_id, 1, __ATOMIC_RELAXED);
	size_t i = 0;
	for (; name && name[i] && i + 1 < sizeof(t->name); i++)
		t->name[i] = name[i];
	t->name[i] = 0;
	if (priority < 0)
		priority = 0;
	if (priority >= THREAD_PRIORITIES)
		priority = THREAD_PRIORITIES - 1;
	t->priority = priority;
	t->affinity = affinity ? affinity : ~0ull;
	t->migrate_to = -1;
	ktimer_init(&t->sleep_timer, sleep_timer_fired);
	return t;
}

/* The allowed online CPU with the shortest run queue (the thread's own
 * CPU if none is allowed, which affinity checks rule out). */
static uint32_t least_loaded_cpu(const struct thread *t)
{
	uint32_t best = UINT32_MAX, target = t->cpu;
	for (uint32_t i = 0; i < cpu_count; i++) {
		uint32_t n = runqueue_count(&sched_cpus[i].rq);
		if (allowed_on(t, i) && cpus[i].online && n < best) {
			best = n;
			target = i;
		}
	}
	return target;
}

struct thread *thread_create(const char *name, thread_fn fn, void *arg, int priority,
			     uint64_t affinity, bool joinable)
{
	struct thread *t = thread_alloc(name, priority, affinity);
	if (!t)
		return 0;
	t->stack = vm_alloc_stack(THREAD_STACK_SIZE);
	if (!t->stack) {
		kfree(t);
		return 0;
	}
	t->fn = fn;
	t->arg = arg;
	t->joinable = joinable;
	t->sp = arch_thread_init_stack((uint8_t *)t->stack + THREAD_STACK_SIZE, thread_start, 0);

	/* Place it: this CPU if allowed and idle-ish, else an idle CPU, else
	 * the allowed CPU with the shortest queue. */
	uint64_t flags = arch_irq_save();
	int target = find_idle_cpu(t);
	if (target < 0) {
		uint32_t best = UINT32_MAX;
		for (uint32_t i = 0; i < cpu_count; i++) {
			uint32_t n = runqueue_count(&sched_cpus[i].rq);
			if (allowed_on(t, i) && cpus[i].online && n < best) {
				best = n;
				target = (int)i;
			}
		}
	}
	if (target < 0) {
		arch_irq_restore(flags);
		vm_free_stack(t->stack, THREAD_STACK_SIZE);
		kfree(t);
		return 0; /* affinity names no online CPU */
	}
	struct sched_cpu *sc = &sched_cpus[target];
	spin_lock(&sc->lock);
	t->cpu = (uint32_t)target;
	enqueue_locked(t, (uint32_t)target);
	spin_unlock(&sc->lock);
	arch_irq_restore(flags);
	if (this_sched()->need_resched && !cpu_current()->irq_nesting)
		schedule();
	return t;
}

static void thread_free(struct thread *t)
{
	if (t->stack)
		vm_free_stack(t->stack, THREAD_STACK_SIZE);
	kfree(t);
}

void thread_exit(void)
{
	arch_irq_disable();
	struct sched_cpu *sc = this_sched();
	spin_lock(&sc->lock);
	thread_current()->state = T_DEAD;
	schedule_locked();
	panic("a dead thread was scheduled");
}

void thread_join(struct thread *t)
{
	KASSERT(t->joinable && t != thread_current());
	__atomic_store_n(&t->joiner, thread_current(), __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&t->exited, __ATOMIC_SEQ_CST))
		thread_park();
	thread_free(t);
}

static void reaper_main(void *unused)
{
	(void)unused;
	for (;;) {
		spin_lock(&reaper_lock);
		struct thread *list = reaper_list;
		reaper_list = 0;
		spin_unlock(&reaper_lock);
		while (list) {
			struct thread *next = list->next_dead;
			thread_free(list);
			list = next;
		}
		thread_park();
	}
}

struct thread *thread_current(void)
{
	return cpu_current()->current;
}

uint32_t thread_id(const struct thread *t)
{
	return t->id;
}

const char *thread_name(const struct thread *t)
{
	return t->name;
}

uint64_t thread_runtime_ns(const struct thread *t)
{
	uint64_t r = t->runtime_ns;
	if (t == thread_current())
		r += clock_monotonic_ns() - t->switched_in_ns;
	return r;
}

uint32_t thread_cpu(const struct thread *t)
{
	return t->cpu;
}

bool thread_set_affinity(struct thread *t, uint64_t mask)
{
	bool any = false;
	for (uint32_t i = 0; i < cpu_count; i++)
		if ((mask & cpu_mask(i)) && cpus[i].online)
			any = true;
	if (!any)
		return false;
	uint64_t flags = arch_irq_save();
	struct sched_cpu *sc = lock_thread_cpu(t);
	t->affinity = mask;
	uint32_t cpu = t->cpu;
	bool ipi = false;
	if (!allowed_on(t, cpu)) {
		uint32_t target = least_loaded_cpu(t);
		if (t->state == T_READY) {
			runqueue_remove(&sc->rq, &t->rq);
			t->state = T_WAKING;
			__atomic_store_n(&t->cpu, target, __ATOMIC_RELEASE);
			spin_unlock(&sc->lock);
			struct sched_cpu *tc = &sched_cpus[target];
			spin_lock(&tc->lock);
			enqueue_locked(t, target);
			tc->migrations_in++;
			spin_unlock(&tc->lock);
			arch_irq_restore(flags);
			return true;
		}
		if (t->state == T_RUNNING) {
			/* Leaves at its next switch, which we ask for now. */
			t->migrate_to = (int)target;
			sc->need_resched = true;
			ipi = cpu != arch_cpu_index();
		}
		/* BLOCKED: thread_unpark() picks an allowed CPU. */
	}
	spin_unlock(&sc->lock);
	arch_irq_restore(flags);
	if (ipi)
		arch_send_reschedule(cpu);
	else if (t == thread_current() && t->migrate_to >= 0)
		schedule();
	return true;
}

void thread_set_priority(struct thread *t, int priority)
{
	if (priority < 0)
		priority = 0;
	if (priority >= THREAD_PRIORITIES)
		priority = THREAD_PRIORITIES - 1;
	uint64_t flags = arch_irq_save();
	struct sched_cpu *sc = lock_thread_cpu(t);
	if (t->state == T_READY) {
		runqueue_remove(&sc->rq, &t->rq);
		t->priority = priority;
		enqueue_locked(t, t->cpu);
	} else {
		t->priority = priority;
		if (t->state == T_RUNNING)
			sc->need_resched = runqueue_best_priority(&sc->rq) >= 0 &&
					   runqueue_best_priority(&sc->rq) < priority;
	}
	spin_unlock(&sc->lock);
	arch_irq_restore(flags);
	if (t == thread_current() && this_sched()->need_resched)
		schedule();
}

struct uthread *thread_user(const struct thread *t)
{
	return t->user;
}

void thread_set_user(struct thread *t, struct uthread *u)
{
	t->user = u;
}

int thread_priority(const struct thread *t)
{
	return t->priority;
}

void thread_park(void)
{
	uint64_t flags = arch_irq_save();
	struct thread *t = thread_current();
	struct sched_cpu *sc = this_sched();
	spin_lock(&sc->lock);
	if (t->wake_pending) {
		t->wake_pending = false;
		spin_unlock(&sc->lock);
		arch_irq_restore(flags);
		return;
	}
	t->state = T_BLOCKED;
	schedule_locked();
	arch_irq_restore(flags);
}

void thread_unpark(struct thread *t)
{
	uint64_t flags = arch_irq_save();
	struct sched_cpu *sc = lock_thread_cpu(t);
	if (t->state != T_BLOCKED) {
		t->wake_pending = true; /* running, ready or moving: keep the permit */
		spin_unlock(&sc->lock);
		arch_irq_restore(flags);
		return;
	}
	uint32_t home = t->cpu;
	int target = (int)home;
	if (!preempts(t, home) || !allowed_on(t, home)) {
		int idle = find_idle_cpu(t);
		if (idle >= 0)
			target = idle;
		else if (!allowed_on(t, home))
			target = (int)least_loaded_cpu(t);
	}
	if ((uint32_t)target == home) {
		enqueue_locked(t, home);
		spin_unlock(&sc->lock);
	} else {
		/* Move it: WAKING keeps concurrent unparks from enqueuing it
		 * twice while we hold neither lock. */
		t->state = T_WAKING;
		__atomic_store_n(&t->cpu, (uint32_t)target, __ATOMIC_RELEASE);
		spin_unlock(&sc->lock);
		struct sched_cpu *tc = &sched_cpus[target];
		spin_lock(&tc->lock);
		enqueue_locked(t, (uint32_t)target);
		tc->migrations_in++;
		spin_unlock(&tc->lock);
	}
	arch_irq_restore(flags);
	if (this_sched()->need_resched && !cpu_current()->irq_nesting && arch_irq_enabled())
		schedule();
}

bool thread_park_until(uint64_t deadline)
{
	struct thread *t = thread_current();
	if (deadline == UINT64_MAX) {
		thread_park();
		return true;
	}
	if (clock_monotonic_ns() >= deadline)
		return false;
	ktimer_arm(&t->sleep_timer, deadline);
	thread_park();
	/* Woken early or by the timer: either way the timer must be gone
	 * before the next use of the thread's timer. */
	ktimer_cancel(&t->sleep_timer);
	return clock_monotonic_ns() < deadline;
}

void thread_sleep_ns(uint64_t ns)
{
	uint64_t deadline = clock_monotonic_ns() + ns;
	if (deadline < ns)
		deadline = UINT64_MAX - 1;
	while (thread_park_until(deadline))
		;
}

void thread_yield(void)
{
	schedule();
}

/* ---- interrupt glue ---- */

void timer_interrupt(void)
{
	struct sched_cpu *sc = this_sched();
	uint64_t now = clock_monotonic_ns();
	for (;;) {
		spin_lock(&sc->timer_lock);
		struct timer_node *n = timerq_pop_expired(&sc->timers, now);
		struct ktimer *k = n ? container_of(n, struct ktimer, node) : 0;
		__atomic_store_n(&sc->firing, k, __ATOMIC_RELAXED);
		spin_unlock(&sc->timer_lock);
		if (!k)
			break;
		k->fn(k); /* may free k */
		__atomic_store_n(&sc->firing, (struct ktimer *)0, __ATOMIC_RELEASE);
	}
	spin_lock(&sc->lock);
	if (cpu_current()->current != sc->idle && runqueue_count(&sc->rq) > 0 &&
	    now >= sc->slice_end_ns)
		sc->need_resched = true;
	rearm(sc);
	/* Waiting threads here while another CPU idles: wake it to pull. */
	bool kick = runqueue_count(&sc->rq) > 0;
	spin_unlock(&sc->lock);
	if (kick) {
		for (uint32_t i = 0; i < cpu_count; i++) {
			if (i != arch_cpu_index() && cpus[i].online && cpu_is_idle(i)) {
				arch_send_reschedule(i);
				break;
			}
		}
	}
}

void sched_ipi(void)
{
	struct sched_cpu *sc = this_sched();
	spin_lock(&sc->lock);
	int best = runqueue_best_priority(&sc->rq);
	struct thread *cur = cpu_current()->current;
	if (cur == sc->idle || (best >= 0 && best < cur->priority))
		sc->need_resched = true;
	rearm(sc);
	spin_unlock(&sc->lock);
}

void sched_irq_exit(void)
{
	struct cpu *c = cpu_current();
	if (c->current && sched_cpus[c->index].need_resched && c->current != sched_cpus[c->index].idle)
		schedule();
}

/* ---- start-up ---- */

static void sched_cpu_init(uint32_t cpu)
{
	struct sched_cpu *sc = &sched_cpus[cpu];
	spin_init(&sc->lock, "runqueue", (uint16_t)(LOCK_ORDER_SCHED + cpu));
	spin_init(&sc->timer_lock, "timers", LOCK_ORDER_TIMER);
	runqueue_init(&sc->rq);
	timerq_init(&sc->timers);
}

/* The idle thread of a CPU is the context that set the CPU up. */
static void adopt_current_as_idle(uint32_t cpu, void *stack_base)
{
	struct thread *t = thread_alloc("idle", THREAD_PRIORITIES - 1, cpu_mask(cpu));
	if (!t)
		panic("sched: no memory for the idle thread");
	t->is_idle = true;
	t->stack = stack_base;
	t->cpu = cpu;
	t->state = T_RUNNING;
	t->switched_in_ns = clock_monotonic_ns();
	sched_cpus[cpu].idle = t;
	cpus[cpu].current = t;
}

extern char boot_stack_bottom[];

void sched_init(void)
{
	sched_cpu_init(0);
	/* The boot context becomes the thread "main"; the boot CPU gets a
	 * fresh idle thread that starts when main first blocks. */
	struct thread *idle = thread_alloc("idle", THREAD_PRIORITIES - 1, cpu_mask(0));
	if (!idle)
		panic("sched: no memory");
	idle->is_idle = true;
	idle->stack = vm_alloc_stack(THREAD_STACK_SIZE);
	if (!idle->stack)
		panic("sched: no memory");
	idle->fn = (thread_fn)idle_loop;
	idle->sp = arch_thread_init_stack((uint8_t *)idle->stack + THREAD_STACK_SIZE, thread_start, 0);
	sched_cpus[0].idle = idle;

	struct thread *m = &boot_thread;
	m->id = __atomic_fetch_add(&next_thread_id, 1, __ATOMIC_RELAXED);
	memcpy(m->name, "main", 5);
	m->priority = THREAD_PRIORITY_DEFAULT;
	m->affinity = ~0ull;
	m->migrate_to = -1;
	m->state = T_RUNNING;
	m->stack = 0; /* the boot stack is never freed */
	m->switched_in_ns = clock_monotonic_ns();
	ktimer_init(&m->sleep_timer, sleep_timer_fired);
	cpus[0].current = m;
	cpus[0].online = true;

	reaper_thread = thread_create("reaper", reaper_main, 0, 1, 0, false);
	if (!reaper_thread)
		panic("sched: cannot start the reaper");
	log_info("sched: scheduler running on cpu0");
}

static void secondary_main(void)
{
	uint32_t cpu = arch_cpu_index();
	adopt_current_as_idle(cpu, 0);
	__atomic_store_n(&cpus[cpu].online, true, __ATOMIC_RELEASE);
	idle_loop();
}

void sched_get_cpu_stats(uint32_t cpu, struct sched_cpu_stats *out)
{
	struct sched_cpu *sc = &sched_cpus[cpu];
	out->ready = runqueue_count(&sc->rq);
	out->switches = sc->switches;
	out->idle_ns = sc->idle_ns;
	out->migrations_in = sc->migrations_in;
}

/* Set by platform_init (arch): interrupt-controller ids of all CPUs. */
extern uint32_t platform_cpu_ids[MAX_CPUS];
extern uint32_t platform_cpu_id_count;

void sched_start_secondary_cpus(void)
{
	for (uint32_t i = 1; i < MAX_CPUS; i++)
		sched_cpu_init(i);
	arch_smp_init_ipis();
	uint32_t n = arch_smp_start(platform_cpu_ids, platform_cpu_id_count, secondary_main);
	/* Wait until every started CPU has entered its idle loop. */
	for (uint32_t i = 1; i < n; i++)
		while (!__atomic_load_n(&cpus[i].online, __ATOMIC_ACQUIRE))
			arch_cpu_relax();
	__atomic_store_n(&cpu_count, n, __ATOMIC_RELEASE);
	log_info("sched: %u CPUs online", n);
}
