/*
 * Thread observation: thread_observe / thread_resume (<kestrel/syscall.h>,
 * records in <kestrel/thread.h>).
 *
 * The observed threads run in this program's own space and table, on a
 * small stack of their own, with no TLS: their entry functions use only
 * raw system calls and plain memory, and report through a struct target.
 * Linux system calls are made with kestrel_syscall(), which passes any
 * number through. Every test ends with a leak check: the kernel's object
 * counts must return to what they were.
 */
#include <kestrel/uthread.h>
#include <string.h>

#include "suite.h"

#define STACK_SIZE   (4 * KESTREL_PAGE_SIZE)
#define TIMEOUT	     (2 * KAPI_SECOND)
#define LINUX_GETPID 39

struct target {
	volatile uint64_t got[4];
	volatile uint64_t stage;
	volatile uint64_t magic; /* what a fixed-up load reads */
	uint64_t loop;		 /* linux_loop: how many calls to make */
};

struct obs_rec {
	struct kestrel_completion c;
	struct kestrel_observation o;
};

struct obs {
	struct kestrel_queue q;
	kestrel_handle_t thread;
	kestrel_handle_t stack_mem;
	uint64_t stack;
	uint64_t tag;
	struct kestrel_system_info before;
};

/* ---- the observed threads' code (no libc beyond raw calls) ---- */

static _Noreturn void t_exit(void)
{
	kestrel_syscall(KESTREL_SYS_THREAD_EXIT, 0, 0, 0, 0, 0, 0);
	for (;;)
		;
}

/* getpid with six recognisable arguments, then a Kestrel call. */
static void t_linux_getpid(struct target *t)
{
	t->stage = 1;
	t->got[0] = (uint64_t)kestrel_syscall(LINUX_GETPID, 11, 12, 13, 14, 15, 16);
	t->stage = 2;
	t->got[1] = (uint64_t)kestrel_syscall(KESTREL_SYS_CLOCK, 0, 0, 0, 0, 0, 0);
	t->stage = 3;
	t_exit();
}

/* t->loop Linux calls numbered 100, 101, ...; results in got[]. */
static void t_linux_loop(struct target *t)
{
	for (uint64_t i = 0; i < t->loop && i < 4; i++)
		t->got[i] = (uint64_t)kestrel_syscall(100 + i, i, 0, 0, 0, 0, 0);
	t->stage = 9;
	t_exit();
}

/* A load through rax = 0 (NULL); the observer points rax elsewhere. */
static void t_null_read(struct target *t)
{
	uint64_t p = 0, v;
	__asm__ volatile("movq (%1), %0" : "=r"(v), "+a"(p) : : "memory");
	t->got[0] = v;
	t->got[1] = p;
	t->stage = 5;
	t_exit();
}

/* int3, then a mark; then int3 again (for single-stepping). */
static void t_int3(struct target *t)
{
	__asm__ volatile("int3" ::: "memory");
	t->stage = 7;
	__asm__ volatile("int3\n\tnop\n\tnop" ::: "memory");
	t->got[0] = 1;
	t_exit();
}

/* Divide by zero: `div %ecx` (F7 F1, two bytes) with ecx = 0. */
static void t_divide(struct target *t)
{
	uint32_t lo = 10, hi = 0, d = 0;
	__asm__ volatile("divl %2" : "+a"(lo), "+d"(hi) : "c"(d));
	t->got[0] = lo;
	t->stage = 6;
	t_exit();
}

static void t_ud2(struct target *t)
{
	t->stage = 1;
	__asm__ volatile("ud2");
	t->stage = 2;
	t_exit();
}

static void t_hlt(struct target *t)
{
	t->stage = 1;
	__asm__ volatile("hlt"); /* privileged: #GP in user mode */
	t->stage = 2;
	t_exit();
}

static void t_exit_now(struct target *t)
{
	t->stage = 1;
	t_exit();
}

/* ---- helpers ---- */

/* Wait until the object counts are back to `before` (threads finish
 * exiting just after they report EXIT). */
static bool counts_back(const struct kestrel_system_info *before)
{
	struct kestrel_system_info now;
	for (int i = 0; i < 200; i++) {
		if (kestrel_system_info(&now) < 0)
			return false;
		if (memcmp(now.objects_by_type, before->objects_by_type,
			   sizeof(now.objects_by_type)) == 0)
			return true;
		sleep_ns(10 * KAPI_MS);
	}
	for (int t = 1; t < KESTREL_OBJ_TYPES; t++)
		if (now.objects_by_type[t] != before->objects_by_type[t])
			kapi_note("type %d: %llu objects, %llu before", t,
				  (unsigned long long)now.objects_by_type[t],
				  (unsigned long long)before->objects_by_type[t]);
	return false;
}

/* Create the observed thread (stopped), with its stack, and a queue of
 * `capacity`; attach the queue unless `attach` is false. */
static int64_t obs_setup(struct obs *o, void (*fn)(struct target *), struct target *t,
			 uint32_t flags, uint32_t capacity, bool attach)
{
	memset(o, 0, sizeof(*o));
	int64_t r = kestrel_system_info(&o->before);
	if (r < 0)
		return r;
	r = kestrel_queue_open(&o->q, capacity);
	if (r < 0)
		return r;
	o->stack = kapi_map_pages(STACK_SIZE, &o->stack_mem);
	if (!o->stack)
		return -KE_NO_MEMORY;
	/* At entry rsp + 8 is 16-aligned, as after a call. */
	r = kestrel_thread_create(KESTREL_THIS_SPACE, KESTREL_THIS_TABLE, (uint64_t)(uintptr_t)fn,
				  o->stack + STACK_SIZE - 8, (uint64_t)(uintptr_t)t,
				  flags | KESTREL_THREAD_STOPPED);
	if (r < 0)
		return r;
	o->thread = (kestrel_handle_t)r;
	o->tag = kapi_tag();
	return attach ? kestrel_thread_observe(o->thread, o->q.handle, o->tag) : 0;
}

/* Release everything; true if nothing leaked. */
static bool obs_teardown(struct obs *o)
{
	if (o->thread > 0) {
		kestrel_thread_kill(o->thread);
		kestrel_handle_close(o->thread);
	}
	kestrel_queue_close(&o->q);
	if (o->stack) {
		kestrel_space_unmap(KESTREL_THIS_SPACE, o->stack, STACK_SIZE);
		kestrel_handle_close(o->stack_mem);
	}
	return counts_back(&o->before);
}

/* The next record: 0 with an observation record in *r, or -KE_*.
 * Records of other kinds (timers) are skipped. */
static int64_t obs_next(struct obs *o, struct obs_rec *r)
{
	uint64_t buf[64];
	for (;;) {
		int64_t n = kestrel_queue_take(&o->q, buf, sizeof(buf), TIMEOUT);
		if (n < 0)
			return n;
		const struct kestrel_completion *c = (const void *)buf;
		if (c->rec.kind != KESTREL_REC_OBSERVE)
			continue;
		if (n != (int64_t)sizeof(*r))
			return -KE_INVALID;
		memcpy(r, buf, sizeof(*r));
		return 0;
	}
}

/* The record must be an observation of `event` with the right tag,
 * status, thread and sequence. */
#define CHECK_EVENT(o, r, ev, seq)                                                                 \
	do {                                                                                       \
		CHECK_EQ((r).c.rec.kind, KESTREL_REC_OBSERVE);                                     \
		CHECK_EQ((r).c.rec.length, KESTREL_OBSERVE_RECORD_SIZE);                           \
		CHECK_EQ((r).c.tag, (o).tag);                                                      \
		CHECK_EQ((r).c.status, 0);                                                         \
		CHECK_EQ((r).c.count, 0);                                                          \
		CHECK_EQ((r).o.event, (ev));                                                       \
		CHECK_EQ((r).o.sequence, (seq));                                                   \
		CHECK_EQ((r).o.thread_id, handle_id((o).thread));                                  \
	} while (0)

static int64_t get_regs(kestrel_handle_t t, struct kestrel_regs_x86_64 *r)
{
	return kestrel_thread_get_regs(t, KESTREL_REGS_GENERAL, r, sizeof(*r));
}

static int64_t set_regs(kestrel_handle_t t, const struct kestrel_regs_x86_64 *r)
{
	return kestrel_thread_set_regs(t, KESTREL_REGS_GENERAL, r, sizeof(*r));
}

/* ---- tests ---- */

KAPI_TEST(observe_linux_syscall)
{
	struct target t = {0};
	struct obs o;
	CHECK_OK(obs_setup(&o, t_linux_getpid, &t, KESTREL_THREAD_LINUX, 4096, true));
	CHECK_OK(kestrel_thread_start(o.thread));
	struct obs_rec r;
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_SYSCALL, 1);
	CHECK_EQ(r.o.number, LINUX_GETPID);
	for (int i = 0; i < 6; i++)
		CHECK_EQ(r.o.args[i], 11 + i);
	CHECK_EQ(t.stage, 1);

	/* Stopped: the registers are those of the call. */
	struct kestrel_regs_x86_64 regs;
	CHECK_OK(get_regs(o.thread, &regs));
	CHECK_EQ(regs.rax, LINUX_GETPID);
	CHECK_EQ(regs.rdi, 11);
	CHECK_EQ(regs.r9, 16);
	CHECK_EQ(regs.rip, r.o.rip);
	CHECK_EQ(regs.rsp, r.o.rsp);
	CHECK(regs.rsp > o.stack && regs.rsp <= o.stack + STACK_SIZE);
	uint8_t fpu[KESTREL_FPU_STATE_SIZE] __attribute__((aligned(16)));
	CHECK_OK(kestrel_thread_get_regs(o.thread, KESTREL_REGS_FPU, fpu, sizeof(fpu)));
	uint32_t mxcsr;
	memcpy(&mxcsr, fpu + 24, 4);
	CHECK_EQ(mxcsr & 0xffc0u, 0x1f80u); /* exceptions masked, as set up */
	CHECK_OK(kestrel_thread_set_regs(o.thread, KESTREL_REGS_FPU, fpu, sizeof(fpu)));

	/* The observer emulates getpid. */
	regs.rax = 4242;
	CHECK_OK(set_regs(o.thread, &regs));
	CHECK_OK(kestrel_thread_resume(o.thread, r.o.sequence, KESTREL_RESUME_CONTINUE));
	/* A second resume of the same stop: nothing is stopped any more (or,
	 * at worst, not yet stopped again). */
	CHECK_ERR(kestrel_thread_resume(o.thread, r.o.sequence, KESTREL_RESUME_CONTINUE), KE_BUSY);

	/* The Kestrel call goes straight through; then thread_exit. */
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_EXIT, 2);
	CHECK_EQ(r.o.exit_reason, KESTREL_EXIT_CALL);
	CHECK_EQ(t.got[0], 4242);
	CHECK(t.got[1] > 0 && (int64_t)t.got[1] > 0); /* a clock reading, not an error */
	CHECK_EQ(t.stage, 3);
	CHECK_ERR(kestrel_thread_resume(o.thread, 2, KESTREL_RESUME_CONTINUE), KE_BUSY);
	CHECK_ERR(get_regs(o.thread, &regs), KE_BUSY);
	CHECK(obs_teardown(&o));
}

KAPI_TEST(observe_sequences_and_restart)
{
	struct target t = {.loop = 3};
	struct obs o;
	CHECK_OK(obs_setup(&o, t_linux_loop, &t, KESTREL_THREAD_LINUX, 4096, true));
	CHECK_OK(kestrel_thread_start(o.thread));
	struct obs_rec r;
	struct kestrel_regs_x86_64 regs;

	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_SYSCALL, 1);
	CHECK_EQ(r.o.number, 100);
	/* Restart the call: back over the 2-byte syscall instruction, with
	 * the number put back (what Linux does for ERESTARTSYS). */
	CHECK_OK(get_regs(o.thread, &regs));
	regs.rip -= 2;
	regs.rax = 100;
	CHECK_OK(set_regs(o.thread, &regs));
	CHECK_ERR(kestrel_thread_resume(o.thread, 2, KESTREL_RESUME_CONTINUE), KE_NOT_FOUND);
	CHECK_ERR(kestrel_thread_resume(o.thread, 0, KESTREL_RESUME_CONTINUE), KE_NOT_FOUND);
	CHECK_ERR(kestrel_thread_resume(o.thread, 1, 2), KE_INVALID);
	CHECK_ERR(kestrel_thread_resume(o.thread, 1, ~0u), KE_INVALID);
	CHECK_OK(kestrel_thread_resume(o.thread, 1, KESTREL_RESUME_CONTINUE));

	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_SYSCALL, 2);
	CHECK_EQ(r.o.number, 100); /* the same call again */
	CHECK_OK(get_regs(o.thread, &regs));
	regs.rax = 500;
	CHECK_OK(set_regs(o.thread, &regs));
	CHECK_ERR(kestrel_thread_resume(o.thread, 1, KESTREL_RESUME_CONTINUE), KE_NOT_FOUND);
	CHECK_OK(kestrel_thread_resume(o.thread, 2, KESTREL_RESUME_CONTINUE));

	for (uint64_t i = 1; i < 3; i++) {
		CHECK_OK(obs_next(&o, &r));
		CHECK_EVENT(o, r, KESTREL_OBSERVE_SYSCALL, 2 + i);
		CHECK_EQ(r.o.number, 100 + i);
		CHECK_EQ(r.o.args[0], i);
		CHECK_OK(get_regs(o.thread, &regs));
		regs.rax = 500 + i;
		CHECK_OK(set_regs(o.thread, &regs));
		CHECK_OK(kestrel_thread_resume(o.thread, r.o.sequence, KESTREL_RESUME_CONTINUE));
	}
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_EXIT, 5);
	CHECK_EQ(t.got[0], 500);
	CHECK_EQ(t.got[1], 501);
	CHECK_EQ(t.got[2], 502);
	CHECK_EQ(t.stage, 9);
	CHECK(obs_teardown(&o));
}

KAPI_TEST(observe_numbers_outside_kestrel_range)
{
	/* On a Linux thread a number just past the Kestrel calls is a Linux
	 * call too; on a thread without the personality the same numbers are
	 * KE_BAD_CALL, observed or not. */
	struct target t = {.loop = 1};
	struct obs o;
	CHECK_OK(obs_setup(&o, t_linux_loop, &t, KESTREL_THREAD_LINUX, 4096, true));
	CHECK_OK(kestrel_thread_start(o.thread));
	struct obs_rec r;
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_SYSCALL, 1);
	struct kestrel_regs_x86_64 regs;
	CHECK_OK(get_regs(o.thread, &regs));
	/* Turn the call into one with number KESTREL_SYS_END, restarted. */
	regs.rip -= 2;
	regs.rax = KESTREL_SYS_END;
	CHECK_OK(set_regs(o.thread, &regs));
	CHECK_OK(kestrel_thread_resume(o.thread, 1, KESTREL_RESUME_CONTINUE));
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_SYSCALL, 2);
	CHECK_EQ(r.o.number, KESTREL_SYS_END);
	CHECK_OK(get_regs(o.thread, &regs));
	regs.rax = 7;
	CHECK_OK(set_regs(o.thread, &regs));
	CHECK_OK(kestrel_thread_resume(o.thread, 2, KESTREL_RESUME_CONTINUE));
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_EXIT, 3);
	CHECK_EQ(t.got[0], 7);
	CHECK(obs_teardown(&o));

	/* Not a Linux thread: its Linux call fails and nothing stops. */
	struct target t2 = {.loop = 2};
	CHECK_OK(obs_setup(&o, t_linux_loop, &t2, 0, 4096, true));
	CHECK_OK(kestrel_thread_start(o.thread));
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_EXIT, 1);
	CHECK_EQ(t2.got[0], (uint64_t)-KE_BAD_CALL);
	CHECK_EQ(t2.got[1], (uint64_t)-KE_BAD_CALL);
	CHECK(obs_teardown(&o));
}

KAPI_TEST(observe_page_fault_fixed_up)
{
	struct target t = {.magic = 0x5eed};
	struct obs o;
	CHECK_OK(obs_setup(&o, t_null_read, &t, 0, 4096, true));
	CHECK_OK(kestrel_thread_start(o.thread));
	struct obs_rec r;
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_FAULT, 1);
	CHECK_EQ(r.o.vector, 14);
	CHECK_EQ(r.o.address, 0);
	CHECK_EQ(r.o.access, KESTREL_OBSERVE_READ);
	CHECK_EQ(r.o.error & 0x7, 0x4); /* not present, read, user */
	struct kestrel_regs_x86_64 regs;
	CHECK_OK(get_regs(o.thread, &regs));
	CHECK_EQ(regs.rip, r.o.rip);
	CHECK_EQ(regs.rax, 0);
	/* Retry the load with rax pointing at something real. */
	regs.rax = (uint64_t)(uintptr_t)&t.magic;
	CHECK_OK(set_regs(o.thread, &regs));
	CHECK_OK(kestrel_thread_resume(o.thread, 1, KESTREL_RESUME_CONTINUE));
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_EXIT, 2);
	CHECK_EQ(t.got[0], 0x5eed);
	CHECK_EQ(t.got[1], (uint64_t)(uintptr_t)&t.magic);
	CHECK_EQ(t.stage, 5);
	CHECK(obs_teardown(&o));
}

KAPI_TEST(observe_fault_retried_then_killed)
{
	/* Resuming without fixing anything faults again, with a new sequence. */
	struct target t = {0};
	struct obs o;
	CHECK_OK(obs_setup(&o, t_null_read, &t, 0, 4096, true));
	CHECK_OK(kestrel_thread_start(o.thread));
	struct obs_rec r;
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_FAULT, 1);
	uint64_t rip = r.o.rip;
	CHECK_OK(kestrel_thread_resume(o.thread, 1, KESTREL_RESUME_CONTINUE));
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_FAULT, 2);
	CHECK_EQ(r.o.rip, rip);
	CHECK_OK(kestrel_thread_resume(o.thread, 2, KESTREL_RESUME_KILL));
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_EXIT, 3);
	CHECK_EQ(r.o.exit_reason, KESTREL_EXIT_KILLED);
	CHECK_EQ(t.stage, 0);
	CHECK(obs_teardown(&o));
}

KAPI_TEST(observe_other_exceptions)
{
	struct {
		void (*fn)(struct target *);
		uint32_t vector;
	} cases[] = {{t_ud2, 6}, {t_hlt, 13}, {t_divide, 0}};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct target t = {0};
		struct obs o;
		CHECK_OK(obs_setup(&o, cases[i].fn, &t, KESTREL_THREAD_LINUX, 4096, true));
		CHECK_OK(kestrel_thread_start(o.thread));
		struct obs_rec r;
		CHECK_OK(obs_next(&o, &r));
		CHECK_EVENT(o, r, KESTREL_OBSERVE_FAULT, 1);
		CHECK_EQ(r.o.vector, cases[i].vector);
		CHECK_EQ(r.o.address, 0);
		struct kestrel_regs_x86_64 regs;
		CHECK_OK(get_regs(o.thread, &regs));
		CHECK_EQ(regs.rip, r.o.rip);
		if (cases[i].vector == 0) {
			/* Skip the 2-byte div, as a SIGFPE handler might. */
			regs.rip += 2;
			regs.rax = 99;
			CHECK_OK(set_regs(o.thread, &regs));
			CHECK_OK(kestrel_thread_resume(o.thread, 1, KESTREL_RESUME_CONTINUE));
			CHECK_OK(obs_next(&o, &r));
			CHECK_EVENT(o, r, KESTREL_OBSERVE_EXIT, 2);
			CHECK_EQ(r.o.exit_reason, KESTREL_EXIT_CALL);
			CHECK_EQ(t.got[0], 99);
			CHECK_EQ(t.stage, 6);
		} else {
			CHECK_OK(kestrel_thread_resume(o.thread, 1, KESTREL_RESUME_KILL));
			CHECK_OK(obs_next(&o, &r));
			CHECK_EVENT(o, r, KESTREL_OBSERVE_EXIT, 2);
			CHECK_EQ(r.o.exit_reason, KESTREL_EXIT_KILLED);
			CHECK_EQ(t.stage, 1);
		}
		CHECK(obs_teardown(&o));
	}
}

KAPI_TEST(observe_breakpoint_and_single_step)
{
	struct target t = {0};
	struct obs o;
	CHECK_OK(obs_setup(&o, t_int3, &t, 0, 4096, true));
	CHECK_OK(kestrel_thread_start(o.thread));
	struct obs_rec r;
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_BREAKPOINT, 1);
	CHECK_EQ(r.o.vector, 3);
	CHECK_EQ(*(const uint8_t *)(uintptr_t)(r.o.rip - 1), 0xcc); /* rip is after the int3 */
	CHECK_OK(kestrel_thread_resume(o.thread, 1, KESTREL_RESUME_CONTINUE));

	/* The second int3; then step over the two nops with TF. */
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_BREAKPOINT, 2);
	CHECK_EQ(t.stage, 7);
	uint64_t after = r.o.rip;
	struct kestrel_regs_x86_64 regs;
	CHECK_OK(get_regs(o.thread, &regs));
	regs.rflags |= 1u << 8; /* TF */
	CHECK_OK(set_regs(o.thread, &regs));
	CHECK_OK(kestrel_thread_resume(o.thread, 2, KESTREL_RESUME_CONTINUE));
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_BREAKPOINT, 3);
	CHECK_EQ(r.o.vector, 1);
	CHECK(r.o.error & (1u << 14)); /* DR6.BS: a single step */
	CHECK_EQ(r.o.rip, after + 1);  /* one nop further */
	CHECK_OK(get_regs(o.thread, &regs));
	CHECK(regs.rflags & (1u << 8));
	regs.rflags &= ~(uint64_t)(1u << 8);
	CHECK_OK(set_regs(o.thread, &regs));
	CHECK_OK(kestrel_thread_resume(o.thread, 3, KESTREL_RESUME_CONTINUE));
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_EXIT, 4);
	CHECK_EQ(t.got[0], 1);
	CHECK(obs_teardown(&o));
}

KAPI_TEST(observe_exit_reported)
{
	struct target t = {0};
	struct obs o;
	CHECK_OK(obs_setup(&o, t_exit_now, &t, KESTREL_THREAD_LINUX, 4096, true));
	CHECK_OK(kestrel_thread_start(o.thread));
	struct obs_rec r;
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_EXIT, 1);
	CHECK_EQ(r.o.exit_reason, KESTREL_EXIT_CALL);
	CHECK_EQ(t.stage, 1);
	/* Ended: it cannot be observed again. */
	CHECK_ERR(kestrel_thread_observe(o.thread, o.q.handle, 1), KE_BUSY);
	CHECK_ERR(kestrel_thread_observe(o.thread, KESTREL_HANDLE_NONE, 0), KE_NOT_FOUND);
	CHECK(obs_teardown(&o));

	/* Killed before it ever ran, and dropped before it ever ran: both
	 * are reported. */
	CHECK_OK(obs_setup(&o, t_exit_now, &t, 0, 4096, true));
	CHECK_OK(kestrel_thread_kill(o.thread));
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_EXIT, 1);
	CHECK_EQ(r.o.exit_reason, KESTREL_EXIT_KILLED);
	CHECK(obs_teardown(&o));
	CHECK_OK(obs_setup(&o, t_exit_now, &t, 0, 4096, true));
	uint64_t tag = o.tag;
	CHECK_OK(kestrel_handle_close(o.thread));
	o.thread = 0;
	CHECK_OK(obs_next(&o, &r));
	CHECK_EQ(r.c.tag, tag);
	CHECK_EQ(r.o.event, KESTREL_OBSERVE_EXIT);
	CHECK_EQ(r.o.exit_reason, KESTREL_EXIT_KILLED);
	CHECK(obs_teardown(&o));
}

KAPI_TEST(observe_kill_while_stopped)
{
	struct target t = {0};
	struct obs o;
	CHECK_OK(obs_setup(&o, t_linux_getpid, &t, KESTREL_THREAD_LINUX, 4096, true));
	CHECK_OK(kestrel_thread_start(o.thread));
	struct obs_rec r;
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_SYSCALL, 1);
	CHECK_OK(kestrel_thread_kill(o.thread));
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_EXIT, 2);
	CHECK_EQ(r.o.exit_reason, KESTREL_EXIT_KILLED);
	CHECK_EQ(t.stage, 1);
	CHECK_ERR(kestrel_thread_resume(o.thread, 1, KESTREL_RESUME_CONTINUE), KE_BUSY);
	struct kestrel_regs_x86_64 regs;
	CHECK_ERR(get_regs(o.thread, &regs), KE_BUSY);
	CHECK(obs_teardown(&o));

	/* Killing through thread_resume works the same way. */
	CHECK_OK(obs_setup(&o, t_linux_getpid, &t, KESTREL_THREAD_LINUX, 4096, true));
	CHECK_OK(kestrel_thread_start(o.thread));
	CHECK_OK(obs_next(&o, &r));
	CHECK_OK(kestrel_thread_resume(o.thread, r.o.sequence, KESTREL_RESUME_KILL));
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_EXIT, 2);
	CHECK_EQ(r.o.exit_reason, KESTREL_EXIT_KILLED);
	CHECK(obs_teardown(&o));
}

KAPI_TEST(observe_queue_closed_while_stopped)
{
	/* The observer's queue goes away under a stopped thread: the thread
	 * is detached and ends as an unobserved one would (a log line);
	 * nothing stays behind. */
	struct target t = {0};
	struct obs o;
	CHECK_OK(obs_setup(&o, t_linux_getpid, &t, KESTREL_THREAD_LINUX, 4096, true));
	CHECK_OK(kestrel_thread_start(o.thread));
	struct obs_rec r;
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_SYSCALL, 1);
	kestrel_queue_close(&o.q);
	/* A second observer sees it end (or finds it ended already). */
	struct kestrel_queue q2;
	CHECK_OK(kestrel_queue_open(&q2, 4096));
	int64_t rc = kestrel_thread_observe(o.thread, q2.handle, 77);
	if (rc == 0) {
		uint64_t buf[32];
		CHECK_EQ(kestrel_queue_take(&q2, buf, sizeof(buf), TIMEOUT),
			 sizeof(struct obs_rec));
		const struct obs_rec *e = (const void *)buf;
		CHECK_EQ(e->c.tag, 77);
		CHECK_EQ(e->o.event, KESTREL_OBSERVE_EXIT);
		CHECK_EQ(e->o.exit_reason, KESTREL_EXIT_UNHANDLED);
	} else {
		CHECK_EQ(rc, -KE_BUSY);
	}
	CHECK_EQ(t.stage, 1);
	kestrel_queue_close(&q2);
	CHECK(obs_teardown(&o));

	/* The same with the stop's record never read, and the thread handle
	 * closed first: the queue alone decides. */
	CHECK_OK(obs_setup(&o, t_null_read, &t, 0, 4096, true));
	CHECK_OK(kestrel_thread_start(o.thread));
	CHECK_OK(kestrel_queue_wait_ready(&o.q, TIMEOUT));
	CHECK_OK(kestrel_handle_close(o.thread));
	o.thread = 0;
	CHECK(obs_teardown(&o));
}

KAPI_TEST(observe_detach_while_stopped)
{
	struct target t = {0};
	struct obs o;
	CHECK_OK(obs_setup(&o, t_null_read, &t, 0, 4096, true));
	CHECK_OK(kestrel_thread_start(o.thread));
	struct obs_rec r;
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_FAULT, 1);
	CHECK_OK(kestrel_thread_observe(o.thread, KESTREL_HANDLE_NONE, 0));
	/* Detached: no EXIT record comes, the fault ends the thread. */
	CHECK_ERR(kestrel_thread_resume(o.thread, 1, KESTREL_RESUME_CONTINUE), KE_BUSY);
	CHECK_ERR(kestrel_thread_observe(o.thread, KESTREL_HANDLE_NONE, 0), KE_NOT_FOUND);
	uint64_t buf[32];
	CHECK_ERR(kestrel_queue_take(&o.q, buf, sizeof(buf), 50 * KAPI_MS), KE_TIMEOUT);
	CHECK_EQ(t.stage, 0);
	CHECK(obs_teardown(&o));
}

KAPI_TEST(observe_unobserved_linux_thread_ends)
{
	/* A Linux call with no observer ends the thread (with a log line). */
	struct target t = {0};
	struct obs o;
	CHECK_OK(obs_setup(&o, t_linux_getpid, &t, KESTREL_THREAD_LINUX, 4096, false));
	CHECK_OK(kestrel_thread_start(o.thread));
	CHECK_OK(kestrel_handle_close(o.thread));
	o.thread = 0;
	/* Its stack must stay until it has ended: wait for the thread object
	 * to go before tearing down. */
	struct kestrel_system_info now;
	for (int i = 0; i < 200; i++) {
		CHECK_EQ(kestrel_system_info(&now), 0);
		if (now.objects_by_type[KESTREL_OBJ_THREAD] ==
		    o.before.objects_by_type[KESTREL_OBJ_THREAD])
			break;
		sleep_ns(10 * KAPI_MS);
	}
	CHECK_EQ(now.objects_by_type[KESTREL_OBJ_THREAD],
		 o.before.objects_by_type[KESTREL_OBJ_THREAD]);
	CHECK_EQ(t.stage, 1);
	CHECK(obs_teardown(&o));
}

KAPI_TEST(observe_resume_needs_room)
{
	/* Continuing needs room for the next event: fill the queue with
	 * pending timers, and resume must fail until room is made. */
	struct target t = {.loop = 2};
	struct obs o;
	CHECK_OK(obs_setup(&o, t_linux_loop, &t, KESTREL_THREAD_LINUX, 4096, true));
	CHECK_OK(kestrel_thread_start(o.thread));
	struct obs_rec r;
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_SYSCALL, 1);
	uint64_t far = (uint64_t)kestrel_clock() + 1000 * KAPI_SECOND;
	uint64_t base = kapi_tag() << 16;
	uint32_t timers = 0;
	while (kestrel_timer_submit(o.q.handle, far, base + timers) == 0)
		CHECK(++timers < 200);
	CHECK(timers > 0);
	CHECK_ERR(kestrel_thread_resume(o.thread, 1, KESTREL_RESUME_CONTINUE), KE_NO_SPACE);
	/* Still stopped, registers still reachable. */
	struct kestrel_regs_x86_64 regs;
	CHECK_OK(get_regs(o.thread, &regs));
	regs.rax = 1;
	CHECK_OK(set_regs(o.thread, &regs));
	for (uint32_t i = 0; i < timers; i++)
		CHECK_OK(kestrel_cancel(o.q.handle, base + i));
	/* The observation slots are no operations: cancel does not find them. */
	CHECK_ERR(kestrel_cancel(o.q.handle, o.tag), KE_NOT_FOUND);
	uint64_t buf[32];
	for (uint32_t i = 0; i < timers; i++)
		CHECK_EQ(kestrel_queue_take(&o.q, buf, sizeof(buf), TIMEOUT), 32);
	CHECK_OK(kestrel_thread_resume(o.thread, 1, KESTREL_RESUME_CONTINUE));
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_SYSCALL, 2);
	CHECK_OK(kestrel_thread_resume(o.thread, 2, KESTREL_RESUME_KILL));
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_EXIT, 3);
	CHECK_EQ(t.got[0], 1);
	CHECK(obs_teardown(&o));
}

KAPI_TEST(observe_bad_arguments)
{
	struct target t = {0};
	struct obs o;
	CHECK_OK(obs_setup(&o, t_exit_now, &t, 0, 4096, false));
	kestrel_handle_t th = o.thread, qh = o.q.handle;
	for (int i = 0; i < kapi_bad_handle_count; i++) {
		int64_t b = kapi_bad_handles[i];
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_THREAD_OBSERVE, (uint64_t)b, (uint64_t)qh, 1,
					  0, 0, 0),
			  KE_BAD_HANDLE);
		if (b != KESTREL_HANDLE_NONE)
			CHECK_ERR(kestrel_syscall(KESTREL_SYS_THREAD_OBSERVE, (uint64_t)th,
						  (uint64_t)b, 1, 0, 0, 0),
				  KE_BAD_HANDLE);
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_THREAD_RESUME, (uint64_t)b, 1, 0, 0, 0, 0),
			  KE_BAD_HANDLE);
	}
	/* Wrong types. */
	CHECK_ERR(kestrel_thread_observe(qh, qh, 1), KE_BAD_TYPE);
	CHECK_ERR(kestrel_thread_observe(th, th, 1), KE_BAD_TYPE);
	CHECK_ERR(kestrel_thread_observe(KESTREL_THIS_SPACE, qh, 1), KE_BAD_TYPE);
	CHECK_ERR(kestrel_thread_observe(th, KESTREL_THIS_TABLE, 1), KE_BAD_TYPE);
	CHECK_ERR(kestrel_thread_resume(qh, 1, 0), KE_BAD_TYPE);
	CHECK_ERR(kestrel_thread_resume(KESTREL_THIS_SPACE, 1, 0), KE_BAD_TYPE);
	/* Rights: OBSERVE on the thread, WAIT on the queue. */
	int64_t th_noobs = CHECK_OK(dup_rights(th, KESTREL_RIGHTS_ALL & ~KESTREL_RIGHT_OBSERVE));
	int64_t th_obs = CHECK_OK(dup_rights(th, KESTREL_RIGHT_OBSERVE));
	int64_t q_nowait = CHECK_OK(dup_rights(qh, KESTREL_RIGHT_DUPLICATE));
	CHECK_ERR(kestrel_thread_observe(th_noobs, qh, 1), KE_ACCESS);
	CHECK_ERR(kestrel_thread_observe(th_noobs, KESTREL_HANDLE_NONE, 0), KE_ACCESS);
	CHECK_ERR(kestrel_thread_resume(th_noobs, 1, 0), KE_ACCESS);
	CHECK_ERR(kestrel_thread_observe(th, q_nowait, 1), KE_ACCESS);
	/* Not stopped (created stopped is not an observation stop). */
	CHECK_ERR(kestrel_thread_resume(th, 1, KESTREL_RESUME_CONTINUE), KE_BUSY);
	CHECK_ERR(kestrel_thread_resume(th, 0, KESTREL_RESUME_KILL), KE_BUSY);
	CHECK_ERR(kestrel_thread_resume(th, 1, 5), KE_INVALID);
	CHECK_ERR(kestrel_thread_observe(th, KESTREL_HANDLE_NONE, 0), KE_NOT_FOUND);
	/* OBSERVE alone is enough to attach, and only once. */
	CHECK_OK(kestrel_thread_observe(th_obs, qh, o.tag));
	CHECK_ERR(kestrel_thread_observe(th, qh, 2), KE_BUSY);
	CHECK_ERR(kestrel_thread_resume(th_obs, 1, KESTREL_RESUME_CONTINUE), KE_BUSY);
	/* Detach and attach again. */
	CHECK_OK(kestrel_thread_observe(th, KESTREL_HANDLE_NONE, 0));
	CHECK_OK(kestrel_thread_observe(th, qh, o.tag));
	/* Unknown flags still rejected; LINUX now accepted. */
	CHECK_ERR(kestrel_thread_create(KESTREL_THIS_SPACE, KESTREL_THIS_TABLE,
					(uint64_t)(uintptr_t)t_exit_now, o.stack + STACK_SIZE - 8,
					0, KESTREL_THREAD_STOPPED | 4),
		  KE_INVALID);
	CHECK_OK(kestrel_handle_close((kestrel_handle_t)th_noobs));
	CHECK_OK(kestrel_handle_close((kestrel_handle_t)th_obs));
	CHECK_OK(kestrel_handle_close((kestrel_handle_t)q_nowait));
	/* Run it: it exits at once. */
	CHECK_OK(kestrel_thread_start(th));
	struct obs_rec r;
	CHECK_OK(obs_next(&o, &r));
	CHECK_EVENT(o, r, KESTREL_OBSERVE_EXIT, 1);
	CHECK(obs_teardown(&o));
}

KAPI_TEST(observe_queue_full_at_attach)
{
	/* Each observer keeps room for two records; a 4 KiB queue takes only
	 * a few, then KE_NO_SPACE. Dropping the never-started threads reports
	 * their end into the room kept for it. */
	struct kestrel_system_info before;
	CHECK_EQ(kestrel_system_info(&before), 0);
	struct kestrel_queue q;
	CHECK_OK(kestrel_queue_open(&q, 4096));
	kestrel_handle_t th[16];
	int n = 0, attached = 0;
	int64_t rc = 0;
	while (n < 16) {
		th[n] = (kestrel_handle_t)CHECK_OK(kestrel_thread_create(
			KESTREL_THIS_SPACE, KESTREL_THIS_TABLE, (uint64_t)(uintptr_t)t_exit_now,
			0x100000, 0, KESTREL_THREAD_STOPPED));
		rc = kestrel_thread_observe(th[n], q.handle, 1000 + n);
		n++;
		if (rc < 0)
			break;
		attached++;
	}
	CHECK_EQ(rc, -KE_NO_SPACE);
	CHECK(attached >= 2 && attached < 15);
	for (int i = 0; i < n; i++)
		CHECK_OK(kestrel_handle_close(th[i]));
	for (int i = 0; i < attached; i++) {
		uint64_t buf[32];
		CHECK_EQ(kestrel_queue_take(&q, buf, sizeof(buf), TIMEOUT), sizeof(struct obs_rec));
		const struct obs_rec *e = (const void *)buf;
		CHECK_EQ(e->c.tag, 1000 + i);
		CHECK_EQ(e->o.event, KESTREL_OBSERVE_EXIT);
	}
	/* All room is back: as many can attach again. */
	for (int i = 0; i < attached; i++) {
		th[i] = (kestrel_handle_t)CHECK_OK(kestrel_thread_create(
			KESTREL_THIS_SPACE, KESTREL_THIS_TABLE, (uint64_t)(uintptr_t)t_exit_now,
			0x100000, 0, KESTREL_THREAD_STOPPED));
		CHECK_OK(kestrel_thread_observe(th[i], q.handle, 2000 + i));
	}
	/* Closing the queue first detaches them all; then the threads go. */
	kestrel_queue_close(&q);
	for (int i = 0; i < attached; i++)
		CHECK_OK(kestrel_handle_close(th[i]));
	CHECK(counts_back(&before));
}

/* ---- races ---- */

static void t_linux_forever(struct target *t)
{
	for (uint64_t i = 0;; i++) {
		t->got[0] = (uint64_t)kestrel_syscall(200, i, 0, 0, 0, 0, 0);
		t->stage = i;
	}
}

struct poker {
	volatile kestrel_handle_t thread;
	volatile uint32_t stop;
	uint64_t seed;
	uint64_t reads, resumes, bad;
};

/* Reads registers of, and resumes with guessed sequence numbers, whatever
 * thread the test is observing, from another CPU if there is one. */
static int poke(void *arg)
{
	struct poker *p = arg;
	struct kestrel_regs_x86_64 regs;
	uint8_t fpu[KESTREL_FPU_STATE_SIZE] __attribute__((aligned(16)));
	while (!p->stop) {
		kestrel_handle_t t = p->thread;
		if (!t) {
			kestrel_thread_yield();
			continue;
		}
		int64_t r = get_regs(t, &regs);
		if (r == 0)
			p->reads++;
		else if (r != -KE_BUSY && r != -KE_BAD_HANDLE && r != -KE_BAD_TYPE)
			p->bad++;
		r = kestrel_thread_get_regs(t, KESTREL_REGS_FPU, fpu, sizeof(fpu));
		if (r != 0 && r != -KE_BUSY && r != -KE_BAD_HANDLE && r != -KE_BAD_TYPE)
			p->bad++;
		r = kestrel_thread_resume(t, 1 + kapi_random(&p->seed) % 8,
					  KESTREL_RESUME_CONTINUE);
		if (r == 0)
			p->resumes++;
		else if (r != -KE_BUSY && r != -KE_NOT_FOUND && r != -KE_NO_SPACE &&
			 r != -KE_BAD_HANDLE && r != -KE_BAD_TYPE && r != -KE_ACCESS)
			p->bad++;
	}
	return 0;
}

/* One round of the race test: observe a fresh thread, let it stop
 * 1..4 times, then end the observation in the way round i picks. Fails
 * through CHECK; the caller tears down whatever was set up either way, as
 * t and o must outlive the observed thread. */
static void race_round(struct poker *p, struct obs *o, struct target *t, int i, uint64_t *stops)
{
	CHECK_OK(obs_setup(o, t_linux_forever, t, KESTREL_THREAD_LINUX, 4096, true));
	p->thread = o->thread;
	CHECK_OK(kestrel_thread_start(o->thread));
	struct obs_rec r;
	int want = 1 + i % 4;
	for (int k = 0; k < want; k++) {
		CHECK_OK(obs_next(o, &r));
		CHECK_EQ(r.o.event, KESTREL_OBSERVE_SYSCALL);
		CHECK_EQ(r.o.number, 200);
		(*stops)++;
		int64_t rc = kestrel_thread_resume(o->thread, r.o.sequence, KESTREL_RESUME_CONTINUE);
		CHECK_MSG(rc == 0 || rc == -KE_BUSY || rc == -KE_NOT_FOUND, "resume: %s",
			  kestrel_error_name(rc));
	}
	bool expect_exit = false;
	switch (i % 5) {
	case 0:
		CHECK_OK(kestrel_thread_kill(o->thread));
		expect_exit = true;
		break;
	case 1:
		kestrel_queue_close(&o->q);
		break;
	case 2: {
		int64_t rc = kestrel_thread_observe(o->thread, KESTREL_HANDLE_NONE, 0);
		CHECK_EQ(rc, 0);
		break;
	}
	case 3:
		for (;;) {
			CHECK_OK(obs_next(o, &r));
			if (r.o.event != KESTREL_OBSERVE_SYSCALL)
				break;
			if (kestrel_thread_resume(o->thread, r.o.sequence, KESTREL_RESUME_KILL) == 0) {
				expect_exit = true;
				break;
			}
		}
		break;
	default:
		p->thread = 0;
		CHECK_OK(kestrel_handle_close(o->thread));
		o->thread = 0;
		kestrel_queue_close(&o->q);
		break;
	}
	/* Killed threads report their end; skip the stops before it. */
	while (expect_exit) {
		CHECK_OK(obs_next(o, &r));
		if (r.o.event == KESTREL_OBSERVE_EXIT) {
			CHECK_EQ(r.o.exit_reason, KESTREL_EXIT_KILLED);
			break;
		}
		CHECK_EQ(r.o.event, KESTREL_OBSERVE_SYSCALL);
	}
}

KAPI_TEST(observe_races_resume_kill_close)
{
	/* Stops, resumes, kills, detaches and queue closes, with a second
	 * thread reading registers and resuming at random meanwhile. Nothing
	 * may panic, hang or leak; every result must be one the API allows.
	 *
	 * A failed check must not leave the poker or an observed thread
	 * running on memory that is gone: each round is torn down whatever
	 * happened, and the poker and its state are static, so a poker that
	 * cannot be joined (stuck in the kernel) is killed and still finds
	 * its state where it was. */
	static struct poker idle = {.stop = 1}, p;
	static struct kestrel_uthread warm, pt;
	p = (struct poker){.seed = 0x0b5e7e};
	CHECK_OK(kestrel_uthread_create(&warm, poke, &idle, 0, 0));
	CHECK_OK(kestrel_uthread_join(&warm, TIMEOUT));
	struct kestrel_system_info before;
	CHECK_EQ(kestrel_system_info(&before), 0);
	CHECK_OK(kestrel_uthread_create(&pt, poke, &p, 0, 0));
	uint64_t stops = 0;
	for (int i = 0; i < 40 && !kapi_failed(); i++) {
		struct target t = {0};
		struct obs o = {0};
		race_round(&p, &o, &t, i, &stops);
		p.thread = 0;
		if (!obs_teardown(&o)) /* the poker counts before and after */
			kapi_fail(__FILE__, __LINE__, "round %d: objects left behind", i);
	}
	p.stop = 1;
	int64_t joined = kestrel_uthread_join(&pt, TIMEOUT);
	if (joined < 0)
		kestrel_thread_kill(pt.handle);
	CHECK_OK(joined);
	if (kapi_failed())
		return;
	kapi_note("%llu stops; the other thread read registers %llu times, resumed %llu",
		  (unsigned long long)stops, (unsigned long long)p.reads,
		  (unsigned long long)p.resumes);
	CHECK_EQ(p.bad, 0);
	CHECK(counts_back(&before));
}
