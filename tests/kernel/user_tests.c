/*
 * User mode from the kernel's side, without any user-space program: tiny
 * machine-code blobs run as user threads in fresh address spaces and
 * report through memory the test reads back. Covers entering user mode,
 * the system-call path (sysret and back), bad user pointers, a user page
 * fault that ends only the faulting thread, killing a spinning thread on
 * another CPU, and no leaks.
 */
#include <kestrel/error.h>
#include <kestrel/syscall.h>

#include "clock.h"
#include "cpu.h"
#include "handle.h"
#include "kstring.h"
#include "ktest.h"
#include "memobj.h"
#include "pmm.h"
#include "sched.h"
#include "space.h"
#include "uthread.h"

#define CODE_ADDR 0x400000ull
#define DATA_ADDR 0x600000ull
#define MS 1000000ull

struct blob {
	uint8_t b[256];
	uint32_t n;
};

static void emit(struct blob *c, const void *bytes, uint32_t n)
{
	memcpy(c->b + c->n, bytes, n);
	c->n += n;
}

static void emit_u32(struct blob *c, uint8_t opcode, uint32_t v)
{
	emit(c, &opcode, 1);
	emit(c, &v, 4);
}

static void mov_rdi_imm64(struct blob *c, uint64_t v)
{
	static const uint8_t op[] = {0x48, 0xbf};
	emit(c, op, 2);
	emit(c, &v, 8);
}

/* syscall number in eax, then syscall, then store rax to [DATA + slot*8]. */
static void call_and_store(struct blob *c, uint32_t nr, uint32_t slot)
{
	emit_u32(c, 0xb8, nr); /* mov eax, nr */
	static const uint8_t sys[] = {0x0f, 0x05};
	emit(c, sys, 2);
	uint32_t addr = (uint32_t)(DATA_ADDR + slot * 8);
	static const uint8_t store[] = {0x48, 0x89, 0x04, 0x25}; /* mov [abs32], rax */
	emit(c, store, 4);
	emit(c, &addr, 4);
}

static void thread_exit_call(struct blob *c)
{
	emit_u32(c, 0xb8, KESTREL_SYS_THREAD_EXIT);
	static const uint8_t sys[] = {0x0f, 0x05, 0x0f, 0x0b}; /* syscall; ud2 */
	emit(c, sys, 4);
}

struct user_env {
	struct space *space;
	struct handle_table *table;
	struct memobj *data;
	struct uthread *thread;
};

static int env_start(struct user_env *e, const struct blob *code)
{
	memset(e, 0, sizeof(*e));
	e->space = space_create();
	e->table = handle_table_create(0);
	struct memobj *text = memobj_create_anonymous(PAGE_SIZE);
	e->data = memobj_create_anonymous(PAGE_SIZE);
	if (!e->space || !e->table || !text || !e->data)
		return -1;
	uint64_t at;
	if (memobj_write(text, 0, code->b, code->n) ||
	    space_map(e->space, text, 0, CODE_ADDR, PAGE_SIZE,
		      KESTREL_MAP_READ | KESTREL_MAP_EXECUTE | KESTREL_MAP_FIXED, &at) ||
	    space_map(e->space, e->data, 0, DATA_ADDR, PAGE_SIZE,
		      KESTREL_MAP_READ | KESTREL_MAP_WRITE | KESTREL_MAP_FIXED, &at))
		return -1;
	kobject_put(&text->obj);
	e->thread = uthread_create(e->space, e->table, CODE_ADDR, DATA_ADDR + PAGE_SIZE, 0, 0);
	if (!e->thread)
		return -1;
	return uthread_start(e->thread);
}

/* Wait (bounded) for the thread to end; true if it did. */
static bool env_wait(struct user_env *e, uint64_t timeout_ns)
{
	uint64_t end = clock_monotonic_ns() + timeout_ns;
	while (__atomic_load_n(&e->thread->state, __ATOMIC_ACQUIRE) != UTHREAD_EXITED) {
		if (clock_monotonic_ns() > end)
			return false;
		thread_sleep_ns(MS);
	}
	/* Let the scheduler thread finish exiting. */
	thread_sleep_ns(2 * MS);
	return true;
}

static uint64_t env_slot(struct user_env *e, uint32_t slot)
{
	uint64_t v = 0;
	memobj_read(e->data, slot * 8, &v, 8);
	return v;
}

static void env_release(struct user_env *e)
{
	if (e->thread)
		kobject_put(&e->thread->obj);
	if (e->data)
		kobject_put(&e->data->obj);
	if (e->table)
		kobject_put(&e->table->obj);
	if (e->space)
		kobject_put(&e->space->obj);
}

KTEST(user_syscalls_and_bad_pointers)
{
	struct pmm_stats before, after;
	pmm_get_stats(&before);
	struct blob c = {{0}, 0};
	/* slot 0: clock() > 0 */
	call_and_store(&c, KESTREL_SYS_CLOCK, 0);
	/* slot 1: log(kernel address) -> -KE_FAULT */
	mov_rdi_imm64(&c, 0xffff800000001000ull);
	emit_u32(&c, 0xbe, 8); /* mov esi, 8 */
	emit_u32(&c, 0xba, 2); /* mov edx, 2 */
	call_and_store(&c, KESTREL_SYS_LOG, 1);
	/* slot 2: log(unmapped user address) -> -KE_FAULT */
	mov_rdi_imm64(&c, 0x7000000000ull);
	call_and_store(&c, KESTREL_SYS_LOG, 2);
	/* slot 3: log("user mode works", 15) -> 0 (text placed at DATA+64) */
	mov_rdi_imm64(&c, DATA_ADDR + 64);
	emit_u32(&c, 0xbe, 15);
	call_and_store(&c, KESTREL_SYS_LOG, 3);
	/* slot 4: an unknown call -> -KE_BAD_CALL; slot 5: a Linux number */
	call_and_store(&c, KESTREL_SYS_END + 5, 4);
	call_and_store(&c, 39 /* Linux getpid */, 5);
	/* slot 6: handle_close(12345) -> -KE_BAD_HANDLE */
	mov_rdi_imm64(&c, 12345);
	call_and_store(&c, KESTREL_SYS_HANDLE_CLOSE, 6);
	thread_exit_call(&c);

	struct user_env e;
	int rc = env_start(&e, &c);
	KCHECK_EQ(rc, 0);
	memobj_write(e.data, 64, "user mode works", 15);
	KCHECK(env_wait(&e, 5000 * MS));
	KCHECK(env_slot(&e, 0) > 0);
	KCHECK_EQ(env_slot(&e, 1), (uint64_t)-KE_FAULT);
	KCHECK_EQ(env_slot(&e, 2), (uint64_t)-KE_FAULT);
	KCHECK_EQ(env_slot(&e, 3), 0);
	KCHECK_EQ(env_slot(&e, 4), (uint64_t)-KE_BAD_CALL);
	KCHECK_EQ(env_slot(&e, 5), (uint64_t)-KE_BAD_CALL);
	KCHECK_EQ(env_slot(&e, 6), (uint64_t)-KE_BAD_HANDLE);
	env_release(&e);
	thread_sleep_ns(5 * MS);
	pmm_get_stats(&after);
	/* Slabs warmed up by this first test may keep a few pages. */
	KCHECK(after.free_pages + 16 >= before.free_pages);
}

KTEST(user_fault_ends_only_that_thread)
{
	struct blob c = {{0}, 0};
	call_and_store(&c, KESTREL_SYS_CLOCK, 0);
	/* mov rax, [0x13370000]: unmapped */
	static const uint8_t load[] = {0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x37, 0x13};
	emit(&c, load, sizeof(load));
	call_and_store(&c, KESTREL_SYS_CLOCK, 1); /* never reached */
	thread_exit_call(&c);
	struct user_env e;
	KCHECK_EQ(env_start(&e, &c), 0);
	KCHECK(env_wait(&e, 5000 * MS));
	KCHECK(env_slot(&e, 0) > 0);
	KCHECK_EQ(env_slot(&e, 1), 0);
	env_release(&e);
}

KTEST(user_kill_spinning_thread)
{
	struct blob c = {{0}, 0};
	call_and_store(&c, KESTREL_SYS_CLOCK, 0);
	static const uint8_t spin[] = {0xeb, 0xfe}; /* jmp . */
	emit(&c, spin, 2);
	struct user_env e;
	KCHECK_EQ(env_start(&e, &c), 0);
	/* Let it reach its loop (on whichever CPU), then kill it. */
	uint64_t end = clock_monotonic_ns() + 5000 * MS;
	while (env_slot(&e, 0) == 0 && clock_monotonic_ns() < end)
		thread_sleep_ns(MS);
	KCHECK(env_slot(&e, 0) != 0);
	uthread_kill(e.thread);
	KCHECK(env_wait(&e, 5000 * MS));
	env_release(&e);
}

/* Physical-memory statistics once they stop moving: round 0's threads
 * may still be on their way out through the reaper. */
static void settled_stats(struct pmm_stats *out)
{
	struct pmm_stats prev;
	pmm_get_stats(&prev);
	uint64_t end = clock_monotonic_ns() + 2000 * MS;
	for (int stable = 0; stable < 3 && clock_monotonic_ns() < end;) {
		thread_sleep_ns(2 * MS);
		pmm_get_stats(out);
		stable = out->free_pages == prev.free_pages ? stable + 1 : 0;
		prev = *out;
	}
	*out = prev;
}

KTEST(user_no_leak_after_many_threads)
{
	struct blob c = {{0}, 0};
	call_and_store(&c, KESTREL_SYS_CLOCK, 0);
	thread_exit_call(&c);
	struct pmm_stats before, after;
	for (int round = 0; round < 6; round++) {
		if (round == 1)
			settled_stats(&before);
		struct user_env e[8];
		for (int i = 0; i < 8; i++)
			KCHECK_EQ(env_start(&e[i], &c), 0);
		for (int i = 0; i < 8; i++) {
			KCHECK(env_wait(&e[i], 5000 * MS));
			env_release(&e[i]);
		}
		thread_sleep_ns(5 * MS);
	}
	/* Dead threads' stacks and spaces go back through the reaper, which
	 * may run late on a loaded host: wait for the count (a leak never
	 * gets there). */
	uint64_t end = clock_monotonic_ns() + 2000 * MS;
	do {
		thread_sleep_ns(MS);
		pmm_get_stats(&after);
	} while (after.free_pages != before.free_pages && clock_monotonic_ns() < end);
	KCHECK_EQ(after.free_pages, before.free_pages);
}
