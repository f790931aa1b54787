/*
 * Kernel threads and the scheduler.
 *
 * Every CPU has a run queue of ready threads (32 priority levels, round
 * robin within a level, 10 ms time slices) and a queue of timers. A thread
 * runs until it blocks, its slice ends while another thread of the same or
 * higher priority is ready, or a higher-priority thread becomes ready.
 * Idle CPUs pull work from busy ones; wake-ups go to an idle CPU when the
 * thread's last CPU is busy. Idle CPUs halt until an interrupt.
 *
 * Blocking is built on park/unpark: thread_park() sleeps until someone
 * calls thread_unpark() on the thread; an unpark that comes first is
 * remembered, so no wake-up is lost between checking a condition and
 * parking. Always re-check the condition after thread_park() returns.
 */
#ifndef KERNEL_SCHED_H
#define KERNEL_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#define THREAD_PRIORITIES 32
#define THREAD_PRIORITY_DEFAULT 16 /* 0 is the most urgent */
#define THREAD_NAME_MAX 24

#include "timerq.h"

struct thread;
struct uthread;
typedef void (*thread_fn)(void *arg);

/*
 * Kernel timers: fn(timer) runs in interrupt context on the CPU that armed
 * the timer, at or after the deadline (monotonic ns). It may take
 * spinlocks and unpark threads, nothing that sleeps.
 */
struct ktimer {
	struct timer_node node;
	void (*fn)(struct ktimer *timer);
	uint32_t cpu; /* whose queue it is armed on */
};
void ktimer_init(struct ktimer *timer, void (*fn)(struct ktimer *));
/* Arm on the calling CPU. The timer must not be armed. */
void ktimer_arm(struct ktimer *timer, uint64_t deadline);
/* Disarm; returns true if it had not fired. When it returns, fn is not
 * running anywhere, so the timer may be freed. Not from fn itself (fn may
 * free its own timer, though: nothing touches it after fn returns). */
bool ktimer_cancel(struct ktimer *timer);

/* Create and start a kernel thread running fn(arg) at `priority`, allowed
 * on the CPUs in `affinity` (bit n = CPU n; 0 means any). A joinable thread
 * must be reaped with thread_join(); a detached one frees itself. Returns
 * NULL if out of memory. */
struct thread *thread_create(const char *name, thread_fn fn, void *arg, int priority,
			     uint64_t affinity, bool joinable);
/* End the calling thread. */
void thread_exit(void) __attribute__((noreturn));
/* Wait for a joinable thread to exit and free it. */
void thread_join(struct thread *t);

struct thread *thread_current(void);
uint32_t thread_id(const struct thread *t);
const char *thread_name(const struct thread *t);
uint64_t thread_runtime_ns(const struct thread *t);
/* CPU the thread last ran on (or is queued on). */
uint32_t thread_cpu(const struct thread *t);
int thread_priority(const struct thread *t);
/* Change where a thread may run (bit n = CPU n); a thread on a CPU now
 * excluded moves at once (a running one at its next switch, which is
 * asked for). False if the mask names no online CPU. */
bool thread_set_affinity(struct thread *t, uint64_t mask);
void thread_set_priority(struct thread *t, int priority);
/* The user-mode half of a thread (uthread.h), NULL for kernel threads. */
struct uthread *thread_user(const struct thread *t);
void thread_set_user(struct thread *t, struct uthread *u);

void thread_park(void);
void thread_unpark(struct thread *t);
/* Park until unparked or until the monotonic deadline (UINT64_MAX: no
 * deadline). Returns false if the deadline has passed. Wake-ups may be
 * spurious: re-check the condition. */
bool thread_park_until(uint64_t deadline);
/* Sleep at least `ns` nanoseconds. */
void thread_sleep_ns(uint64_t ns);
/* Give the CPU to another ready thread of the same or higher priority. */
void thread_yield(void);

/* Set up the scheduler on the boot CPU; the caller becomes its first
 * thread ("main"). */
void sched_init(void);
/* Start the other CPUs (from ACPI) and put them into the scheduler. */
void sched_start_secondary_cpus(void);

/* Scheduler statistics of one CPU. */
struct sched_cpu_stats {
	uint32_t ready;         /* threads in the run queue */
	uint64_t switches;      /* context switches */
	uint64_t idle_ns;       /* time spent idle */
	uint64_t migrations_in; /* threads pulled or pushed to this CPU */
};
void sched_get_cpu_stats(uint32_t cpu, struct sched_cpu_stats *out);

/* Interrupt glue (called by the architecture). */
void timer_interrupt(void);
void sched_ipi(void);
void sched_irq_exit(void);

#endif
