/*
 * Thread observation (see observe.h; the API is thread_observe and
 * thread_resume in <kestrel/syscall.h>, the record in <kestrel/thread.h>).
 *
 * An event is handled by the thread that takes it, in its own kernel
 * context: observe_event() saves the user registers and FPU state into a
 * struct observe_stop on its kernel stack, posts the record, and parks
 * until the stop is resolved — resumed (CONTINUE / KILL), its observer
 * detached (DETACHED), or the thread killed. While the stop is unresolved
 * the observer reads and writes the registers in that struct
 * (observe_regs); a continuing thread loads them back into its frame and
 * FPU, so whatever the observer set is what user mode sees.
 *
 * Room in the queue: an observed thread always keeps two reservations —
 * exit_slot for its EXIT record, and stop_slot for its next stop while it
 * runs. A stop consumes stop_slot; resuming with CONTINUE reserves it
 * again (or fails with KE_NO_SPACE, leaving the thread stopped), so a
 * running observed thread can always report its next event and no record
 * is ever dropped or waited for.
 *
 * Lifetime: observers hold their queue weakly. A record is written only
 * with a reference taken by queue_tryget() under observe_lock; a queue
 * whose count has dropped to zero is detached by observe_queue_gone(),
 * called from queue_destroy() before anything is freed. A struct
 * uthread on the list of observed threads is removed (by
 * observe_thread_ended) before it can be freed, so the list never holds
 * freed threads. A stopped thread holds a reference to itself (its running
 * reference), so st->kthread is valid while u->obs.stop points at st.
 *
 * Lock: observe_lock (LOCK_ORDER_OBSERVE) guards every struct
 * uthread_observer, every struct observe_stop and the list. Under it we
 * take queue locks (reserve, complete, unreserve), uthread locks and the
 * scheduler's (unpark). Never held while copying user memory or dropping
 * references (queue_put may destroy a queue, which takes it).
 */
#include "observe.h"

#include <kestrel/error.h>
#include <kestrel/queue.h>
#include <kestrel/syscall.h>

#include "arch.h"
#include "handle.h"
#include "kstring.h"
#include "log.h"
#include "sched.h"
#include "spinlock.h"
#include "uthread.h"

_Static_assert(KESTREL_OBSERVE_RECORD_SIZE ==
		       sizeof(struct kestrel_completion) + sizeof(struct kestrel_observation),
	       "observation record size");
_Static_assert(KESTREL_OBSERVE_RECORD_SIZE % 8 == 0, "records are 8-byte multiples");

enum stop_resolution {
	STOP_WAITING = 0, /* not resolved: the observer may access the registers */
	STOP_CONTINUE,
	STOP_KILL,
	STOP_DETACHED, /* the observer went away: handle the event as unobserved */
};

struct observe_stop {
	struct kestrel_regs_x86_64 regs;
	uint8_t fpu[KESTREL_FPU_STATE_SIZE] __attribute__((aligned(16)));
	uint64_t sequence;
	enum stop_resolution resolution;
	struct thread *kthread; /* the stopped thread, to unpark */
};

struct observe_record {
	struct kestrel_completion c;
	struct kestrel_observation o;
};

static struct spinlock observe_lock = SPINLOCK_INIT("observe", LOCK_ORDER_OBSERVE);
/* Observers with a queue: a circular list through next / prev. */
static struct uthread_observer observed = {.next = &observed, .prev = &observed};

static void list_add(struct uthread_observer *o)
{
	o->next = observed.next;
	o->prev = &observed;
	observed.next->prev = o;
	observed.next = o;
}

static void list_remove(struct uthread_observer *o)
{
	o->prev->next = o->next;
	o->next->prev = o->prev;
	o->next = o->prev = 0;
}

/* End an observation: give back its reservations and forget the queue. A
 * stop in progress is resolved as DETACHED. Lock held; the queue pointer
 * is valid (see the file comment) even if its count is zero. */
static void detach_locked(struct uthread_observer *o)
{
	struct queue *q = o->queue;
	if (!q)
		return;
	if (o->stop_reserved)
		queue_unreserve(q, &o->stop_slot);
	if (o->exit_reserved)
		queue_unreserve(q, &o->exit_slot);
	o->stop_reserved = o->exit_reserved = false;
	o->queue = 0;
	list_remove(o);
	struct observe_stop *st = o->stop;
	if (st && st->resolution == STOP_WAITING) {
		st->resolution = STOP_DETACHED;
		thread_unpark(st->kthread);
	}
}

static void record_init(struct observe_record *r, struct uthread *u, uint32_t event)
{
	memset(r, 0, sizeof(*r));
	r->c.rec.length = sizeof(*r);
	r->c.rec.kind = KESTREL_REC_OBSERVE;
	r->c.tag = u->obs.tag;
	r->o.event = event;
	r->o.thread_id = u->obj.id;
}

bool observe_event(const struct observe_event *ev)
{
	struct uthread *u = uthread_current();
	if (uthread_should_exit())
		uthread_exit(); /* killed already: no point stopping */
	struct observe_stop st;
	arch_get_user_regs(&st.regs);
	arch_fpu_save(st.fpu);
	st.resolution = STOP_WAITING;
	st.kthread = thread_current();

	struct observe_record r;
	spin_lock(&observe_lock);
	struct queue *q = u->obs.queue;
	/* A running observed thread always has stop_reserved (see above);
	 * checking it anyway costs nothing. */
	if (!q || !u->obs.stop_reserved || !queue_tryget(q)) {
		spin_unlock(&observe_lock);
		return false;
	}
	record_init(&r, u, ev->event);
	r.o.vector = ev->vector;
	r.o.error = ev->error;
	r.o.address = ev->address;
	r.o.access = ev->access;
	r.o.rip = st.regs.rip;
	r.o.rsp = st.regs.rsp;
	if (ev->event == KESTREL_OBSERVE_SYSCALL) {
		r.o.vector = 0;
		r.o.number = st.regs.rax;
		r.o.args[0] = st.regs.rdi;
		r.o.args[1] = st.regs.rsi;
		r.o.args[2] = st.regs.rdx;
		r.o.args[3] = st.regs.r10;
		r.o.args[4] = st.regs.r8;
		r.o.args[5] = st.regs.r9;
	}
	st.sequence = r.o.sequence = ++u->obs.sequence;
	/* Stopped before the record is visible: an observer that reads it
	 * can access the registers at once. */
	u->obs.stop = &st;
	u->obs.stop_reserved = false;
	queue_complete(q, &u->obs.stop_slot, &r, sizeof(r), false);
	spin_unlock(&observe_lock);
	queue_put(q);

	enum stop_resolution res;
	for (;;) {
		spin_lock(&observe_lock);
		res = st.resolution;
		spin_unlock(&observe_lock);
		if (res != STOP_WAITING || uthread_should_exit())
			break;
		thread_park();
	}
	/* Leave the stop: from here on nobody else touches st. */
	spin_lock(&observe_lock);
	u->obs.stop = 0;
	res = st.resolution;
	spin_unlock(&observe_lock);

	if (uthread_should_exit())
		uthread_exit();
	switch (res) {
	case STOP_CONTINUE:
		arch_set_user_regs(&st.regs);
		arch_fpu_restore(st.fpu);
		return true;
	case STOP_KILL:
		uthread_kill(u); /* so the EXIT record says KILLED */
		uthread_exit();
	default:
		return false; /* detached: the default action (the thread ends) */
	}
}

void observe_linux_syscall(void)
{
	struct observe_event ev = {.event = KESTREL_OBSERVE_SYSCALL};
	if (observe_event(&ev))
		return;
	struct kestrel_regs_x86_64 regs;
	arch_get_user_regs(&regs);
	log_warn("thread %u: Linux system call %llu at ip %llx; no observer, the thread ends",
		 thread_id(thread_current()), (unsigned long long)regs.rax,
		 (unsigned long long)regs.rip);
	uthread_current()->unhandled = true;
	uthread_exit();
}

void observe_thread_ended(struct uthread *u, uint32_t reason)
{
	struct observe_record r;
	spin_lock(&observe_lock);
	struct queue *q = u->obs.queue;
	if (!q) {
		spin_unlock(&observe_lock);
		return;
	}
	/* A queue being destroyed gets no record; it is detached all the same
	 * (u may be about to be freed and must leave the list now). */
	bool post = u->obs.exit_reserved && queue_tryget(q);
	if (post) {
		record_init(&r, u, KESTREL_OBSERVE_EXIT);
		r.o.exit_reason = reason;
		r.o.sequence = ++u->obs.sequence;
		queue_complete(q, &u->obs.exit_slot, &r, sizeof(r), false);
		u->obs.exit_reserved = false;
	}
	detach_locked(&u->obs);
	spin_unlock(&observe_lock);
	if (post)
		queue_put(q);
}

int observe_regs(struct uthread *u, uint64_t set, void *buf, bool write)
{
	spin_lock(&observe_lock);
	struct observe_stop *st = u->obs.stop;
	if (!st || st->resolution != STOP_WAITING) {
		spin_unlock(&observe_lock);
		return -KE_BUSY;
	}
	void *regs = set == KESTREL_REGS_GENERAL ? (void *)&st->regs : (void *)st->fpu;
	size_t n = set == KESTREL_REGS_GENERAL ? sizeof(st->regs) : sizeof(st->fpu);
	if (buf && write)
		memcpy(regs, buf, n);
	else if (buf)
		memcpy(buf, regs, n);
	spin_unlock(&observe_lock);
	return 0;
}

void observe_queue_gone(struct queue *q)
{
	spin_lock(&observe_lock);
	struct uthread_observer *o = observed.next;
	while (o != &observed) {
		struct uthread_observer *next = o->next;
		if (o->queue == q)
			detach_locked(o);
		o = next;
	}
	spin_unlock(&observe_lock);
}

/* ---- system calls ---- */

static int get_thread(int64_t h, struct uthread **out)
{
	struct kobject *obj;
	int rc = handle_get(h, KESTREL_OBJ_THREAD, KESTREL_RIGHT_OBSERVE, &obj, 0);
	if (rc == 0)
		*out = (struct uthread *)obj;
	return rc;
}

static bool thread_ended(struct uthread *u)
{
	spin_lock(&u->lock);
	bool ended = u->state == UTHREAD_EXITED;
	spin_unlock(&u->lock);
	return ended;
}

int64_t sys_thread_observe(int64_t thread_h, int64_t queue_h, uint64_t tag)
{
	struct uthread *u;
	int rc = get_thread(thread_h, &u);
	if (rc)
		return rc;
	if (queue_h == KESTREL_HANDLE_NONE) {
		spin_lock(&observe_lock);
		rc = u->obs.queue ? 0 : -KE_NOT_FOUND;
		detach_locked(&u->obs);
		spin_unlock(&observe_lock);
		kobject_put(&u->obj);
		return rc;
	}
	struct queue *q;
	rc = queue_from_handle(queue_h, &q);
	if (rc) {
		kobject_put(&u->obj);
		return rc;
	}
	spin_lock(&observe_lock);
	/* An ended thread is never observed again: observe_thread_ended runs
	 * after the state becomes EXITED, so either it sees this observer or
	 * we see EXITED. */
	if (u->obs.queue || thread_ended(u)) {
		rc = -KE_BUSY;
	} else {
		u->obs.stop_slot = (struct queue_pending){
			.tag = tag, .kind = QUEUE_PENDING_OBSERVE, .owner = u};
		u->obs.exit_slot = u->obs.stop_slot;
		rc = queue_reserve(q, &u->obs.stop_slot, KESTREL_OBSERVE_RECORD_SIZE);
		if (!rc) {
			rc = queue_reserve(q, &u->obs.exit_slot, KESTREL_OBSERVE_RECORD_SIZE);
			if (rc)
				queue_unreserve(q, &u->obs.stop_slot);
		}
		if (!rc) {
			u->obs.queue = q;
			u->obs.tag = tag;
			u->obs.stop_reserved = u->obs.exit_reserved = true;
			list_add(&u->obs);
		}
	}
	spin_unlock(&observe_lock);
	queue_put(q); /* the observer holds the queue weakly */
	kobject_put(&u->obj);
	return rc;
}

int64_t sys_thread_resume(int64_t thread_h, uint64_t sequence, uint64_t action)
{
	if (action != KESTREL_RESUME_CONTINUE && action != KESTREL_RESUME_KILL)
		return -KE_INVALID;
	struct uthread *u;
	int rc = get_thread(thread_h, &u);
	if (rc)
		return rc;
	spin_lock(&observe_lock);
	struct observe_stop *st = u->obs.stop;
	if (!st || st->resolution != STOP_WAITING) {
		rc = -KE_BUSY;
	} else if (st->sequence != sequence) {
		rc = -KE_NOT_FOUND;
	} else {
		/* An unresolved stop implies an observer (detaching resolves it). */
		if (action == KESTREL_RESUME_CONTINUE && !u->obs.stop_reserved) {
			rc = queue_reserve(u->obs.queue, &u->obs.stop_slot,
					   KESTREL_OBSERVE_RECORD_SIZE);
			if (!rc)
				u->obs.stop_reserved = true;
		}
		if (!rc) {
			st->resolution =
				action == KESTREL_RESUME_CONTINUE ? STOP_CONTINUE : STOP_KILL;
			thread_unpark(st->kthread);
		}
	}
	spin_unlock(&observe_lock);
	kobject_put(&u->obj);
	return rc;
}
