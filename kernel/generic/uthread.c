/*
 * User threads (see uthread.h) and the thread system calls.
 *
 * A started user thread is a scheduler thread whose function,
 * uthread_main(), attaches the user half and drops to user mode; from then
 * on it enters the kernel only through system calls, exceptions and
 * interrupts, and leaves through the architecture's return path. It ends
 * in uthread_exit(), which gives up the address space (switching this CPU
 * to the kernel's page tables first) and the handle table, then ends the
 * scheduler thread.
 *
 * Killing is cooperative but prompt: the flag is checked on every return
 * to user mode and by every blocking wait, a blocked thread is unparked,
 * and a thread running user code on another CPU gets a reschedule IPI
 * whose return path sees the flag.
 *
 * Observation (observe.c) hooks in at the ends of a thread's life: every
 * transition to EXITED (uthread_exit, killing a thread that never ran, or
 * destroying one) is followed by observe_thread_ended(), which reports it
 * and detaches the observer.
 *
 * Lock: u->lock (LOCK_ORDER_UTHREAD) guards state, kill_requested and
 * kthread; unparking under it is allowed (the scheduler's locks come
 * later). Registers of a stopped thread (start_regs, fpu) are copied under
 * it too, so a copy never races with thread_start. The observation lock
 * comes before it.
 */
#include "uthread.h"

#include <kestrel/error.h>
#include <kestrel/syscall.h>

#include "arch.h"
#include "cpu.h"
#include "handle.h"
#include "kstring.h"
#include "log.h"
#include "observe.h"
#include "panic.h"
#include "sched.h"
#include "slab.h"
#include "space.h"
#include "sys_thread.h"
#include "usercopy.h"

static void uthread_destroy(struct kobject *obj)
{
	struct uthread *u = (struct uthread *)obj;
	/* Never started: it still holds its space and table. */
	if (u->state == UTHREAD_STOPPED) {
		observe_thread_ended(u, KESTREL_EXIT_KILLED);
		kobject_put((struct kobject *)u->space);
		kobject_put(&u->table->obj);
	}
	kfree(u);
}

struct uthread *uthread_current(void)
{
	struct thread *t = cpu_current()->current;
	return t ? thread_user(t) : 0;
}

struct space *uthread_current_space(void)
{
	struct uthread *u = uthread_current();
	return u ? u->space : 0;
}

struct uthread *uthread_create(struct space *space, struct handle_table *table, uint64_t ip,
			       uint64_t sp, uint64_t arg, uint32_t flags)
{
	struct uthread *u = kzalloc(sizeof(*u));
	if (!u)
		return 0;
	kobject_init(&u->obj, KESTREL_OBJ_THREAD, uthread_destroy);
	spin_init(&u->lock, "uthread", LOCK_ORDER_UTHREAD);
	u->state = UTHREAD_STOPPED;
	u->flags = flags;
	u->priority = KESTREL_PRIORITY_DEFAULT;
	kobject_get((struct kobject *)space);
	kobject_get(&table->obj);
	u->space = space;
	u->table = table;
	u->start_regs.rip = ip;
	u->start_regs.rsp = sp;
	u->start_regs.rdi = arg;
	u->start_regs.rflags = 0x202;
	arch_fpu_init_state(u->fpu);
	return u;
}

static void __attribute__((noreturn)) uthread_main(void *arg)
{
	struct uthread *u = arg;
	arch_irq_disable();
	spin_lock(&u->lock);
	u->kthread = thread_current();
	spin_unlock(&u->lock);
	thread_set_user(thread_current(), u);
	space_activate(u->space);
	arch_fpu_restore(u->fpu);
	arch_user_bases_restore(u->bases);
	arch_irq_enable();
	if (uthread_should_exit())
		uthread_exit();
	u->bases[0] = u->start_regs.fs_base;
	u->bases[1] = u->start_regs.gs_base;
	arch_enter_user(&u->start_regs);
}

int uthread_start(struct uthread *u)
{
	spin_lock(&u->lock);
	if (u->state != UTHREAD_STOPPED) {
		spin_unlock(&u->lock);
		return -KE_BUSY;
	}
	u->state = UTHREAD_RUNNING;
	spin_unlock(&u->lock);
	kobject_get(&u->obj); /* the running thread's reference */
	struct thread *t = thread_create("user", uthread_main, u, u->priority, u->affinity, false);
	if (!t) {
		spin_lock(&u->lock);
		u->state = UTHREAD_STOPPED;
		spin_unlock(&u->lock);
		kobject_put(&u->obj);
		return -KE_NO_MEMORY;
	}
	return 0;
}

void uthread_kill(struct uthread *u)
{
	bool release = false;
	spin_lock(&u->lock);
	u->kill_requested = true;
	if (u->state == UTHREAD_STOPPED) {
		u->state = UTHREAD_EXITED;
		release = true;
	} else if (u->state == UTHREAD_RUNNING && u->kthread) {
		thread_unpark(u->kthread);
		if (u->kthread != thread_current())
			arch_send_reschedule(thread_cpu(u->kthread));
	}
	spin_unlock(&u->lock);
	if (release) {
		observe_thread_ended(u, KESTREL_EXIT_KILLED);
		kobject_put((struct kobject *)u->space);
		kobject_put(&u->table->obj);
	}
}

bool uthread_should_exit(void)
{
	struct uthread *u = uthread_current();
	return u && __atomic_load_n(&u->kill_requested, __ATOMIC_ACQUIRE);
}

void uthread_exit(void)
{
	struct uthread *u = uthread_current();
	KASSERT(u);
	spin_lock(&u->lock);
	u->state = UTHREAD_EXITED;
	u->kthread = 0;
	uint32_t reason = u->kill_requested ? KESTREL_EXIT_KILLED
			  : u->unhandled    ? KESTREL_EXIT_UNHANDLED
					    : KESTREL_EXIT_CALL;
	spin_unlock(&u->lock);
	observe_thread_ended(u, reason);
	/* Leave the address space before dropping it: it may be freed. */
	uint64_t flags = arch_irq_save();
	thread_set_user(thread_current(), 0);
	space_activate(0);
	arch_irq_restore(flags);
	kobject_put((struct kobject *)u->space);
	kobject_put(&u->table->obj);
	kobject_put(&u->obj);
	thread_exit();
}

void uthread_fatal_exception(const char *what, uint64_t ip, uint64_t addr)
{
	log_warn("thread %u: %s at ip %llx (address %llx); no observer, the thread ends",
		 thread_id(thread_current()), what, (unsigned long long)ip,
		 (unsigned long long)addr);
	uthread_current()->unhandled = true;
	uthread_exit();
}

void uthread_switch(struct thread *prev, struct thread *next)
{
	struct uthread *pu = thread_user(prev), *nu = thread_user(next);
	if (pu) {
		arch_fpu_save(pu->fpu);
		arch_user_bases_save(pu->bases);
	}
	space_activate(nu ? nu->space : 0);
	if (nu) {
		arch_fpu_restore(nu->fpu);
		arch_user_bases_restore(nu->bases);
	}
}

/* ---- system calls ---- */

static int get_thread(int64_t h, uint32_t need, struct uthread **out)
{
	struct kobject *obj;
	int rc = handle_get(h, KESTREL_OBJ_THREAD, need, &obj, 0);
	if (rc == 0)
		*out = (struct uthread *)obj;
	return rc;
}

static bool user_ip_ok(uint64_t a)
{
	return a >= KESTREL_USER_MIN && a < KESTREL_USER_MAX;
}

int64_t sys_thread_create(int64_t space_h, int64_t table_h, uint64_t ip, uint64_t sp,
			  uint64_t arg, uint64_t flags)
{
	if (flags & ~(uint64_t)(KESTREL_THREAD_STOPPED | KESTREL_THREAD_LINUX))
		return -KE_INVALID;
	if (!user_ip_ok(ip) || !user_ip_ok(sp - 1) || sp > KESTREL_USER_MAX)
		return -KE_INVALID;
	struct kobject *space, *table;
	int rc = handle_get(space_h, KESTREL_OBJ_SPACE, KESTREL_RIGHT_MAP, &space, 0);
	if (rc)
		return rc;
	rc = handle_get(table_h, KESTREL_OBJ_TABLE, KESTREL_RIGHT_WRITE, &table, 0);
	if (rc) {
		kobject_put(space);
		return rc;
	}
	struct uthread *u = uthread_create((struct space *)space, (struct handle_table *)table, ip,
					   sp, arg, (uint32_t)flags);
	kobject_put(space);
	kobject_put(table);
	if (!u)
		return -KE_NO_MEMORY;
	int64_t h = handle_install(&u->obj, KESTREL_RIGHTS_ALL);
	if (h >= 0 && !(flags & KESTREL_THREAD_STOPPED)) {
		int err = uthread_start(u);
		if (err) {
			handle_table_remove(handle_current_table(), h);
			h = err;
		}
	}
	if (h < 0)
		uthread_kill(u);
	kobject_put(&u->obj);
	return h;
}

int64_t sys_thread_start(int64_t h)
{
	struct uthread *u;
	int rc = get_thread(h, KESTREL_RIGHT_CONTROL, &u);
	if (rc)
		return rc;
	rc = u->kill_requested ? -KE_BUSY : uthread_start(u);
	kobject_put(&u->obj);
	return rc;
}

int64_t sys_thread_kill(int64_t h)
{
	struct uthread *u;
	int rc = get_thread(h, KESTREL_RIGHT_CONTROL, &u);
	if (rc)
		return rc;
	uthread_kill(u);
	kobject_put(&u->obj);
	return 0;
}

/* Copy a register set of a stopped thread to or from buf (buf NULL: only
 * check): 0, or -KE_BUSY if it is not stopped (neither created stopped and
 * not started, nor at an observation stop). */
static int stopped_regs(struct uthread *u, uint64_t set, void *buf, bool write)
{
	void *regs = set == KESTREL_REGS_GENERAL ? (void *)&u->start_regs : (void *)u->fpu;
	size_t n = set == KESTREL_REGS_GENERAL ? sizeof(u->start_regs) : sizeof(u->fpu);
	spin_lock(&u->lock);
	bool stopped = u->state == UTHREAD_STOPPED;
	if (stopped && buf) {
		if (write)
			memcpy(regs, buf, n);
		else
			memcpy(buf, regs, n);
	}
	spin_unlock(&u->lock);
	return stopped ? 0 : observe_regs(u, set, buf, write);
}

int64_t sys_thread_regs(int64_t h, uint64_t set, uint64_t buf, uint64_t size, bool write)
{
	size_t want = set == KESTREL_REGS_GENERAL ? sizeof(struct kestrel_regs_x86_64)
		      : set == KESTREL_REGS_FPU   ? KESTREL_FPU_STATE_SIZE
						  : 0;
	if (!want || size != want)
		return -KE_INVALID;
	struct uthread *u;
	int rc = get_thread(h, KESTREL_RIGHT_CONTROL, &u);
	if (rc)
		return rc;
	bool self = u == uthread_current();
	union {
		struct kestrel_regs_x86_64 regs;
		uint8_t fpu[KESTREL_FPU_STATE_SIZE];
	} tmp __attribute__((aligned(16)));
	if (!write) {
		if (self && set == KESTREL_REGS_GENERAL) {
			arch_get_user_regs(&tmp.regs);
		} else if (self) {
			arch_fpu_save(u->fpu);
			memcpy(tmp.fpu, u->fpu, sizeof(tmp.fpu));
		} else {
			rc = stopped_regs(u, set, &tmp, false);
		}
		if (!rc)
			rc = usercopy_to(buf, &tmp, want);
		kobject_put(&u->obj);
		return rc;
	}
	/* Writing: a thread that is not stopped (the caller itself included)
	 * is busy; checked first, as a bad buffer is the lesser error. The
	 * copy into the thread checks again, under the lock. */
	rc = self ? -KE_BUSY : stopped_regs(u, set, 0, true);
	if (rc) {
		kobject_put(&u->obj);
		return rc;
	}
	rc = usercopy_from(&tmp, buf, want);
	if (!rc && set == KESTREL_REGS_GENERAL) {
		if (!user_ip_ok(tmp.regs.rip) || !arch_user_address_ok(tmp.regs.fs_base) ||
		    !arch_user_address_ok(tmp.regs.gs_base))
			rc = -KE_INVALID;
	} else if (!rc) {
		/* MXCSR reserved bits set would fault on restore. */
		uint32_t mxcsr;
		memcpy(&mxcsr, tmp.fpu + 24, 4);
		if (mxcsr & 0xffff0000u)
			rc = -KE_INVALID;
	}
	if (!rc)
		rc = stopped_regs(u, set, &tmp, true);
	kobject_put(&u->obj);
	return rc;
}

int64_t sys_thread_set_priority(int64_t h, uint64_t prio)
{
	if (prio < KESTREL_PRIORITY_MIN || prio > KESTREL_PRIORITY_MAX)
		return -KE_INVALID;
	struct uthread *u;
	int rc = get_thread(h, KESTREL_RIGHT_CONTROL, &u);
	if (rc)
		return rc;
	if (u == uthread_current()) {
		u->priority = (int)prio;
		thread_set_priority(thread_current(), (int)prio);
	} else {
		/* Under the lock: a kthread seen here cannot finish exiting. */
		spin_lock(&u->lock);
		u->priority = (int)prio;
		if (u->kthread)
			thread_set_priority(u->kthread, (int)prio);
		spin_unlock(&u->lock);
	}
	kobject_put(&u->obj);
	return 0;
}

int64_t sys_thread_set_affinity(int64_t h, uint64_t mask)
{
	bool any = false;
	for (uint32_t i = 0; i < cpu_count && i < 64; i++)
		if (mask & (1ull << i))
			any = true;
	if (!any)
		return -KE_INVALID;
	struct uthread *u;
	int rc = get_thread(h, KESTREL_RIGHT_CONTROL, &u);
	if (rc)
		return rc;
	if (u == uthread_current()) {
		u->affinity = mask;
		thread_set_affinity(thread_current(), mask); /* may switch CPUs */
	} else {
		/* Under the lock: a kthread seen here cannot finish exiting. A
		 * thread that starts later gets the mask at creation. */
		spin_lock(&u->lock);
		u->affinity = mask;
		if (u->kthread)
			thread_set_affinity(u->kthread, mask);
		spin_unlock(&u->lock);
	}
	kobject_put(&u->obj);
	return 0;
}
