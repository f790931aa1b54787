/*
 * Threads and futexes inside one process: creating threads (started or
 * stopped), their registers, kill, priorities and affinity, and the
 * errors of each call; futex wait/wake with values, timeouts and wake
 * counts. Threads of other processes are in process.c.
 */
#include <kestrel/uthread.h>
#include <string.h>

#include "suite.h"

#define WAIT (10 * KAPI_SECOND) /* a bound for failures; the host may be loaded */

/* ---- futexes ---- */

KAPI_TEST(futex_wait_checks_the_value_first)
{
	static uint32_t word = 5;
	CHECK_ERR(kestrel_futex_wait(&word, 4, 0), KE_AGAIN);
	int64_t t0 = kestrel_clock();
	CHECK_ERR(kestrel_futex_wait(&word, 5, 10 * KAPI_MS), KE_TIMEOUT);
	CHECK(kestrel_clock() - t0 >= (int64_t)(10 * KAPI_MS));
	CHECK_EQ(kestrel_futex_wake(&word, 10), 0); /* nobody waits */
}

KAPI_TEST(futex_bad_addresses)
{
	static uint32_t words[2];
	CHECK_ERR(kestrel_futex_wait(NULL, 0, 1), KE_FAULT);
	CHECK_ERR(kestrel_futex_wait((const uint32_t *)KAPI_KERNEL_ADDR, 0, 1), KE_FAULT);
	CHECK_ERR(kestrel_futex_wait((const uint32_t *)KAPI_NONCANONICAL, 0, 1), KE_FAULT);
	CHECK_ERR(kestrel_futex_wait((const uint32_t *)KAPI_UNMAPPED, 0, 1), KE_FAULT);
	CHECK_ERR(kestrel_futex_wait((const uint32_t *)((uintptr_t)words + 1), 0, 1), KE_INVALID);
	CHECK_ERR(kestrel_futex_wake((const uint32_t *)((uintptr_t)words + 2), 1), KE_INVALID);
	CHECK_ERR(kestrel_futex_wake((const uint32_t *)KAPI_KERNEL_ADDR, 1), KE_FAULT);
	/* A read-only page is fine to wait on. */
	const uint32_t *ro = (const uint32_t *)readonly_page();
	CHECK(ro);
	CHECK_ERR(kestrel_futex_wait(ro, *ro, KAPI_MS), KE_TIMEOUT);
}

struct futex_sleeper {
	uint32_t *word;
	uint32_t started; /* futex word: the sleeper is about to wait */
	int64_t result;
};

static int futex_sleep(void *arg)
{
	struct futex_sleeper *s = arg;
	__atomic_store_n(&s->started, 1, __ATOMIC_RELEASE);
	kestrel_futex_wake(&s->started, 1);
	int64_t r;
	/* Woken for nothing (the word unchanged)? Wait again. */
	while ((r = kestrel_futex_wait(s->word, 0, 5 * KAPI_SECOND)) == 0 &&
	       __atomic_load_n(s->word, __ATOMIC_ACQUIRE) == 0)
		;
	s->result = r == -KE_AGAIN ? 0 : r;
	return 0;
}

KAPI_TEST(futex_wake_counts_and_wakes)
{
	enum { N = 4 };
	static uint32_t word;
	word = 0;
	static struct futex_sleeper s[N];
	static struct kestrel_uthread t[N];
	for (int i = 0; i < N; i++) {
		s[i] = (struct futex_sleeper){&word, 0, -1};
		CHECK_OK(kestrel_uthread_create(&t[i], futex_sleep, &s[i], 0, 0));
	}
	for (int i = 0; i < N; i++)
		while (!__atomic_load_n(&s[i].started, __ATOMIC_ACQUIRE))
			kestrel_futex_wait(&s[i].started, 0, KAPI_MS);
	sleep_ns(20 * KAPI_MS); /* let them reach futex_wait */
	__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
	int64_t woken = 0;
	for (int tries = 0; tries < 100 && woken < N; tries++) {
		int64_t w = kestrel_futex_wake(&word, 1);
		CHECK(w == 0 || w == 1); /* never more than asked */
		woken += w;
		if (!w)
			sleep_ns(KAPI_MS);
	}
	for (int i = 0; i < N; i++) {
		CHECK_EQ(kestrel_uthread_join(&t[i], WAIT), 0);
		CHECK_EQ(s[i].result, 0);
	}
	CHECK(woken >= 1 && woken <= N);
}

/* ---- threads ---- */

struct flag_arg {
	uint32_t flag;
	uint64_t value;
};

static int set_flag(void *arg)
{
	struct flag_arg *f = arg;
	f->value = 0x1234;
	__atomic_store_n(&f->flag, 1, __ATOMIC_RELEASE);
	kestrel_futex_wake(&f->flag, 1);
	return 7;
}

KAPI_TEST(thread_create_runs_and_joins)
{
	struct flag_arg f = {0, 0};
	struct kestrel_uthread t;
	CHECK_OK(kestrel_uthread_create(&t, set_flag, &f, 0, 0));
	CHECK_EQ(handle_type(t.handle), KESTREL_OBJ_THREAD);
	CHECK_EQ(kestrel_uthread_join(&t, WAIT), 0);
	CHECK_EQ(t.result, 7);
	CHECK_EQ(f.flag, 1);
	CHECK_EQ(f.value, 0x1234);
}

KAPI_TEST(thread_created_stopped_waits_for_start)
{
	struct flag_arg f = {0, 0};
	struct kestrel_uthread t;
	CHECK_OK(kestrel_uthread_create(&t, set_flag, &f, 0, KESTREL_THREAD_STOPPED));
	sleep_ns(10 * KAPI_MS);
	CHECK_EQ(__atomic_load_n(&f.flag, __ATOMIC_ACQUIRE), 0);
	/* Stopped: its registers can be read, and say where it will start. */
	struct kestrel_regs_x86_64 regs;
	CHECK_EQ(kestrel_thread_get_regs(t.handle, KESTREL_REGS_GENERAL, &regs, sizeof(regs)), 0);
	CHECK(regs.rip >= 0x400000 && regs.rip < KESTREL_USER_MAX);
	CHECK(regs.rsp > regs.rip);
	uint8_t fpu[KESTREL_FPU_STATE_SIZE];
	CHECK_EQ(kestrel_thread_get_regs(t.handle, KESTREL_REGS_FPU, fpu, sizeof(fpu)), 0);
	CHECK_EQ(kestrel_thread_start(t.handle), 0);
	CHECK_ERR(kestrel_thread_start(t.handle), KE_BUSY);
	CHECK_EQ(kestrel_uthread_join(&t, WAIT), 0);
	CHECK_EQ(f.flag, 1);
}

/* Registers a stopped thread is given are the registers it runs with. */
static uint64_t regs_seen[3];
static uint32_t regs_done;

__attribute__((used)) static void regs_probe_c(uint64_t rbx, uint64_t r12, uint64_t r15)
{
	regs_seen[0] = rbx;
	regs_seen[1] = r12;
	regs_seen[2] = r15;
	__atomic_store_n(&regs_done, 1, __ATOMIC_RELEASE);
	kestrel_futex_wake(&regs_done, 1);
	kestrel_thread_exit();
}

/* Entered with a 16-byte aligned rsp (as thread_create gives it): pass
 * callee-saved registers to C. */
extern void regs_probe(void);
__asm__(".text\n"
	"regs_probe:\n\t"
	"mov %rbx, %rdi\n\t"
	"mov %r12, %rsi\n\t"
	"mov %r15, %rdx\n\t"
	"call regs_probe_c\n\t"
	"ud2\n");

KAPI_TEST(thread_set_regs_before_start)
{
	kestrel_handle_t mem;
	uint64_t stack = kapi_map_pages(16384, &mem);
	CHECK(stack);
	kestrel_handle_t th = (kestrel_handle_t)CHECK_OK(
		kestrel_thread_create(KESTREL_THIS_SPACE, KESTREL_THIS_TABLE, 0x400000,
				      stack + 16384 - 64, 0, KESTREL_THREAD_STOPPED));
	struct kestrel_regs_x86_64 regs;
	CHECK_EQ(kestrel_thread_get_regs(th, KESTREL_REGS_GENERAL, &regs, sizeof(regs)), 0);
	CHECK_EQ(regs.rip, 0x400000);
	regs.rip = (uint64_t)(uintptr_t)regs_probe;
	regs.rsp = stack + 16384 - 64;
	regs.rbx = 0x1111;
	regs.r12 = 0x2222;
	regs.r15 = 0x3333;
	CHECK_EQ(kestrel_thread_set_regs(th, KESTREL_REGS_GENERAL, &regs, sizeof(regs)), 0);
	/* Sizes, sets and pointers are checked. */
	CHECK_ERR(kestrel_thread_set_regs(th, KESTREL_REGS_GENERAL, &regs, sizeof(regs) - 8),
		  KE_INVALID);
	CHECK_ERR(kestrel_thread_get_regs(th, 99, &regs, sizeof(regs)), KE_INVALID);
	CHECK_ERR(kestrel_thread_get_regs(th, KESTREL_REGS_GENERAL, NULL, sizeof(regs)), KE_FAULT);
	CHECK_ERR(kestrel_thread_set_regs(th, KESTREL_REGS_GENERAL, (void *)KAPI_KERNEL_ADDR,
					  sizeof(regs)),
		  KE_FAULT);
	/* A kernel or non-canonical rip would never return to user mode
	 * safely: refused. */
	struct kestrel_regs_x86_64 bad = regs;
	bad.rip = KAPI_KERNEL_ADDR;
	CHECK_ERR(kestrel_thread_set_regs(th, KESTREL_REGS_GENERAL, &bad, sizeof(bad)),
		  KE_INVALID);
	bad.rip = KAPI_NONCANONICAL;
	CHECK_ERR(kestrel_thread_set_regs(th, KESTREL_REGS_GENERAL, &bad, sizeof(bad)),
		  KE_INVALID);
	regs_done = 0;
	CHECK_EQ(kestrel_thread_start(th), 0);
	for (int i = 0; i < 200 && !__atomic_load_n(&regs_done, __ATOMIC_ACQUIRE); i++)
		kestrel_futex_wait(&regs_done, 0, 10 * KAPI_MS);
	CHECK_EQ(regs_done, 1);
	CHECK_EQ(regs_seen[0], 0x1111);
	CHECK_EQ(regs_seen[1], 0x2222);
	CHECK_EQ(regs_seen[2], 0x3333);
	/* Running (or gone): its registers are not for others to read. */
	int64_t r = kestrel_thread_get_regs(th, KESTREL_REGS_GENERAL, &regs, sizeof(regs));
	CHECK(r == -KE_BUSY || r == 0);
	kestrel_handle_close(th);
	sleep_ns(5 * KAPI_MS);
	kestrel_space_unmap(KESTREL_THIS_SPACE, stack, 16384);
	kestrel_handle_close(mem);
}

KAPI_TEST(thread_reads_its_own_registers)
{
	struct kestrel_regs_x86_64 regs;
	CHECK_EQ(kestrel_thread_get_regs(self_thread(), KESTREL_REGS_GENERAL, &regs, sizeof(regs)),
		 0);
	CHECK(regs.rip >= 0x400000 && regs.rip < 0x10000000);
	uint64_t sp;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	CHECK(regs.rsp > sp - 4096 && regs.rsp < sp + 65536);
	/* Writing one's own registers while running makes no sense. */
	CHECK_ERR(kestrel_thread_set_regs(self_thread(), KESTREL_REGS_GENERAL, &regs, sizeof(regs)),
		  KE_BUSY);
}

KAPI_TEST(thread_create_rejects_bad_arguments)
{
	kestrel_handle_t mem;
	uint64_t stack = kapi_map_pages(8192, &mem);
	CHECK(stack);
	uint64_t sp = stack + 8192 - 64, ip = 0x400000;
	kestrel_handle_t S = KESTREL_THIS_SPACE, T = KESTREL_THIS_TABLE;
	CHECK_ERR(kestrel_thread_create(S, T, KAPI_KERNEL_ADDR, sp, 0, KESTREL_THREAD_STOPPED),
		  KE_INVALID);
	CHECK_ERR(kestrel_thread_create(S, T, KAPI_NONCANONICAL, sp, 0, KESTREL_THREAD_STOPPED),
		  KE_INVALID);
	CHECK_ERR(kestrel_thread_create(S, T, ip, KAPI_KERNEL_ADDR, 0, KESTREL_THREAD_STOPPED),
		  KE_INVALID);
	CHECK_ERR(kestrel_thread_create(S, T, ip, sp, 0, 1u << 20), KE_INVALID);
	/* Handles: a space that is not one, a table that is not one. */
	CHECK_ERR(kestrel_thread_create(mem, T, ip, sp, 0, KESTREL_THREAD_STOPPED), KE_BAD_TYPE);
	CHECK_ERR(kestrel_thread_create(S, mem, ip, sp, 0, KESTREL_THREAD_STOPPED), KE_BAD_TYPE);
	CHECK_ERR(kestrel_thread_create(777, T, ip, sp, 0, KESTREL_THREAD_STOPPED), KE_BAD_HANDLE);
	CHECK_ERR(kestrel_thread_create(S, 777, ip, sp, 0, KESTREL_THREAD_STOPPED), KE_BAD_HANDLE);
	/* Another space without MAP, a table without WRITE. */
	kestrel_handle_t sp2 = (kestrel_handle_t)CHECK_OK(kestrel_space_create());
	kestrel_handle_t sp2_nomap =
		(kestrel_handle_t)CHECK_OK(dup_rights(sp2, KESTREL_RIGHT_READ));
	kestrel_handle_t tab = (kestrel_handle_t)CHECK_OK(kestrel_table_create(NULL));
	kestrel_handle_t tab_ro = (kestrel_handle_t)CHECK_OK(dup_rights(tab, KESTREL_RIGHT_READ));
	CHECK_ERR(kestrel_thread_create(sp2_nomap, tab, ip, sp, 0, KESTREL_THREAD_STOPPED),
		  KE_ACCESS);
	CHECK_ERR(kestrel_thread_create(sp2, tab_ro, ip, sp, 0, KESTREL_THREAD_STOPPED),
		  KE_ACCESS);
	/* A stopped thread in an empty space, killed before it ever ran. */
	kestrel_handle_t th = (kestrel_handle_t)CHECK_OK(
		kestrel_thread_create(sp2, tab, ip, sp, 0, KESTREL_THREAD_STOPPED));
	CHECK_EQ(kestrel_thread_kill(th), 0);
	kestrel_handle_close(th);
	kestrel_handle_close(sp2_nomap);
	kestrel_handle_close(sp2);
	kestrel_handle_close(tab_ro);
	kestrel_handle_close(tab);
	kestrel_space_unmap(KESTREL_THIS_SPACE, stack, 8192);
	kestrel_handle_close(mem);
}

KAPI_TEST(thread_in_empty_space_faults_alone)
{
	/* A thread started in a space with nothing mapped faults at once;
	 * only it ends, and its objects go away. */
	struct kestrel_system_info before, after;
	CHECK_EQ(kestrel_system_info(&before), 0);
	kestrel_handle_t sp2 = (kestrel_handle_t)CHECK_OK(kestrel_space_create());
	kestrel_handle_t tab = (kestrel_handle_t)CHECK_OK(kestrel_table_create(NULL));
	kestrel_handle_t th = (kestrel_handle_t)CHECK_OK(
		kestrel_thread_create(sp2, tab, 0x400000, 0x800000, 0, 0));
	kestrel_handle_close(th);
	kestrel_handle_close(sp2);
	kestrel_handle_close(tab);
	int tries = 0;
	do {
		sleep_ns(2 * KAPI_MS);
		CHECK_EQ(kestrel_system_info(&after), 0);
	} while (after.objects != before.objects && ++tries < 500);
	CHECK_EQ(after.objects_by_type[KESTREL_OBJ_THREAD],
		 before.objects_by_type[KESTREL_OBJ_THREAD]);
	CHECK_EQ(after.objects_by_type[KESTREL_OBJ_SPACE], before.objects_by_type[KESTREL_OBJ_SPACE]);
	CHECK_EQ(after.objects, before.objects);
}

static int spin_forever(void *arg)
{
	volatile uint32_t *stop = arg;
	while (!*stop)
		__asm__ volatile("pause");
	return 0;
}

/* Raw thread bodies for the kill test (no libc thread bookkeeping, which
 * would outlive a killed thread): spin, or wait on the futex in rdi. The
 * thread starts with a 16-byte aligned rsp; `call` gives C its usual
 * alignment. */
__attribute__((used)) static _Noreturn void raw_block_c(uint32_t *word)
{
	for (;;)
		kestrel_futex_wait(word, 0, 0);
}
extern void raw_spin(void), raw_block(void);
__asm__(".text\n"
	"raw_spin:\n\t"
	"pause\n\t"
	"jmp raw_spin\n"
	"raw_block:\n\t"
	"call raw_block_c\n\t"
	"ud2\n");

static int64_t raw_thread(void (*entry)(void), uint64_t arg, uint64_t stack)
{
	return kestrel_thread_create(KESTREL_THIS_SPACE, KESTREL_THIS_TABLE,
				     (uint64_t)(uintptr_t)entry, stack + 8192 - 64, arg, 0);
}

KAPI_TEST(thread_kill_spinning_and_blocked)
{
	static uint32_t never;
	kestrel_handle_t mem;
	uint64_t stacks = kapi_map_pages(2 * 8192, &mem);
	CHECK(stacks);
	struct kestrel_system_info before, after;
	CHECK_EQ(kestrel_system_info(&before), 0);
	kestrel_handle_t spinner = (kestrel_handle_t)CHECK_OK(raw_thread(raw_spin, 0, stacks));
	kestrel_handle_t blocker = (kestrel_handle_t)CHECK_OK(
		raw_thread(raw_block, (uint64_t)(uintptr_t)&never, stacks + 8192));
	sleep_ns(10 * KAPI_MS);
	CHECK_EQ(kestrel_thread_kill(spinner), 0);
	CHECK_EQ(kestrel_thread_kill(blocker), 0);
	/* Killing twice is harmless. */
	CHECK_EQ(kestrel_thread_kill(blocker), 0);
	kestrel_handle_close(spinner);
	kestrel_handle_close(blocker);
	int tries = 0;
	do {
		sleep_ns(2 * KAPI_MS);
		CHECK_EQ(kestrel_system_info(&after), 0);
	} while (after.objects_by_type[KESTREL_OBJ_THREAD] !=
			 before.objects_by_type[KESTREL_OBJ_THREAD] &&
		 ++tries < 500);
	CHECK_EQ(after.objects_by_type[KESTREL_OBJ_THREAD],
		 before.objects_by_type[KESTREL_OBJ_THREAD]);
	kestrel_space_unmap(KESTREL_THIS_SPACE, stacks, 2 * 8192);
	kestrel_handle_close(mem);
}

KAPI_TEST(thread_kill_needs_control)
{
	struct flag_arg f = {0, 0};
	struct kestrel_uthread t;
	CHECK_OK(kestrel_uthread_create(&t, set_flag, &f, 0, KESTREL_THREAD_STOPPED));
	kestrel_handle_t weak =
		(kestrel_handle_t)CHECK_OK(dup_rights(t.handle, KESTREL_RIGHT_READ));
	CHECK_ERR(kestrel_thread_kill(weak), KE_ACCESS);
	CHECK_ERR(kestrel_thread_start(weak), KE_ACCESS);
	CHECK_ERR(kestrel_thread_set_priority(weak, KESTREL_PRIORITY_DEFAULT), KE_ACCESS);
	CHECK_ERR(kestrel_thread_set_affinity(weak, 1), KE_ACCESS);
	struct kestrel_regs_x86_64 regs;
	CHECK_ERR(kestrel_thread_get_regs(weak, KESTREL_REGS_GENERAL, &regs, sizeof(regs)),
		  KE_ACCESS);
	kestrel_handle_t mem = (kestrel_handle_t)CHECK_OK(
		kestrel_memory_create(4096, KESTREL_MEMORY_ANONYMOUS, 0));
	CHECK_ERR(kestrel_thread_kill(mem), KE_BAD_TYPE);
	CHECK_ERR(kestrel_thread_start(mem), KE_BAD_TYPE);
	CHECK_ERR(kestrel_thread_kill(4000), KE_BAD_HANDLE);
	kestrel_handle_close(mem);
	kestrel_handle_close(weak);
	CHECK_EQ(kestrel_thread_start(t.handle), 0);
	CHECK_EQ(kestrel_uthread_join(&t, WAIT), 0);
}

KAPI_TEST(thread_priority_and_affinity)
{
	struct kestrel_system_info info;
	CHECK_EQ(kestrel_system_info(&info), 0);
	/* Priorities on a stopped thread (a running one at the most urgent
	 * level would starve us on one CPU). */
	struct flag_arg f = {0, 0};
	struct kestrel_uthread t;
	CHECK_OK(kestrel_uthread_create(&t, set_flag, &f, 0, KESTREL_THREAD_STOPPED));
	CHECK_EQ(kestrel_thread_set_priority(t.handle, KESTREL_PRIORITY_MIN), 0);
	CHECK_EQ(kestrel_thread_set_priority(t.handle, KESTREL_PRIORITY_MAX), 0);
	CHECK_ERR(kestrel_thread_set_priority(t.handle, KESTREL_PRIORITY_MIN - 1), KE_INVALID);
	CHECK_ERR(kestrel_thread_set_priority(t.handle, KESTREL_PRIORITY_MAX + 1), KE_INVALID);
	CHECK_ERR(kestrel_thread_set_priority(t.handle, 0xffffffffu), KE_INVALID);
	CHECK_EQ(kestrel_thread_set_priority(t.handle, KESTREL_PRIORITY_DEFAULT), 0);
	CHECK_EQ(kestrel_thread_start(t.handle), 0);
	CHECK_EQ(kestrel_uthread_join(&t, WAIT), 0);
	/* Move a spinning thread over every CPU. */
	static uint32_t stop;
	stop = 0;
	CHECK_OK(kestrel_uthread_create(&t, spin_forever, &stop, 0, 0));
	for (uint32_t round = 0; round < 3; round++)
		for (uint32_t cpu = 0; cpu < info.cpu_count && cpu < 64; cpu++)
			CHECK_EQ(kestrel_thread_set_affinity(t.handle, 1ull << cpu), 0);
	CHECK_EQ(kestrel_thread_set_affinity(t.handle, ~0ull), 0);
	CHECK_ERR(kestrel_thread_set_affinity(t.handle, 0), KE_INVALID);
	if (info.cpu_count < 64)
		CHECK_ERR(kestrel_thread_set_affinity(t.handle, 1ull << info.cpu_count), KE_INVALID);
	/* And ourselves. */
	CHECK_EQ(kestrel_thread_set_affinity(self_thread(), 1), 0);
	CHECK_EQ(kestrel_thread_set_affinity(self_thread(), ~0ull), 0);
	CHECK_EQ(kestrel_thread_set_priority(self_thread(), KESTREL_PRIORITY_DEFAULT), 0);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	CHECK_EQ(kestrel_uthread_join(&t, WAIT), 0);
}

KAPI_TEST(thread_yield_returns)
{
	for (int i = 0; i < 100; i++)
		CHECK_EQ(kestrel_thread_yield(), 0);
}

struct counter_arg {
	volatile uint64_t count;
	volatile uint32_t stop;
};

static int count_up(void *arg)
{
	struct counter_arg *c = arg;
	while (!c->stop)
		c->count++;
	return 0;
}

KAPI_TEST(thread_time_slices_share_one_cpu)
{
	/* Two threads on one CPU, both busy (we in system calls, it in user
	 * mode): preemption must give it time within a few slices. */
	static struct counter_arg c;
	c.count = 0;
	c.stop = 0;
	CHECK_EQ(kestrel_thread_set_affinity(self_thread(), 1), 0);
	struct kestrel_uthread t;
	CHECK_OK(kestrel_uthread_create(&t, count_up, &c, 0, KESTREL_THREAD_STOPPED));
	CHECK_EQ(kestrel_thread_set_affinity(t.handle, 1), 0);
	CHECK_EQ(kestrel_thread_start(t.handle), 0);
	int64_t end = kestrel_clock() + (int64_t)(200 * KAPI_MS);
	uint64_t calls = 0;
	while (kestrel_clock() < end)
		calls++;
	uint64_t seen = c.count;
	c.stop = 1;
	CHECK_EQ(kestrel_thread_set_affinity(self_thread(), ~0ull), 0);
	CHECK_EQ(kestrel_uthread_join(&t, WAIT), 0);
	kapi_note("in 200 ms: %llu clock calls here, %llu increments there",
		  (unsigned long long)calls, (unsigned long long)seen);
	CHECK(seen > 0);
}
