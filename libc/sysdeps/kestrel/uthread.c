/*
 * Threads of the calling program (see <kestrel/uthread.h>).
 *
 * A new thread starts in uthread_main() with rdi = its struct and rsp just
 * below the top of its own stack (an anonymous memory object). When fn
 * returns, the thread sets `done`, wakes joiners and exits — in one asm
 * block that touches neither the stack nor anything but `done`, so a joiner
 * may unmap the stack as soon as it sees done == 1.
 *
 * Live threads are kept on a list so exit() can end them all; the list
 * lock is a libc lock (never held across a blocking call).
 */
#include <kestrel/calls.h>
#include <kestrel/ipc.h>
#include <kestrel/uthread.h>
#include <string.h>

#include "../../internal/libc.h"
#include "../../internal/lock.h"

static uint32_t list_lock;
static struct kestrel_uthread *live;

static _Noreturn void uthread_main(struct kestrel_uthread *t)
{
	t->result = t->fn(t->arg);
	__asm__ volatile("movl $1, (%%rdi)\n\t"
			 "syscall\n\t"         /* futex_wake(&t->done, all) */
			 "movl %[exit], %%eax\n\t"
			 "syscall\n\t"         /* thread_exit() */
			 "ud2"
			 :
			 : "a"(KESTREL_SYS_FUTEX_WAKE), "D"(&t->done), "S"(0x7fffffff),
			   [exit] "i"(KESTREL_SYS_THREAD_EXIT)
			 : "rcx", "r11", "memory");
	__builtin_unreachable();
}

static void list_add(struct kestrel_uthread *t)
{
	__lock(&list_lock);
	t->prev = NULL;
	t->next = live;
	if (live)
		live->prev = t;
	live = t;
	__unlock(&list_lock);
}

static void list_remove(struct kestrel_uthread *t)
{
	__lock(&list_lock);
	if (t->prev)
		t->prev->next = t->next;
	else
		live = t->next;
	if (t->next)
		t->next->prev = t->prev;
	__unlock(&list_lock);
}

int64_t kestrel_uthread_create(struct kestrel_uthread *t, int (*fn)(void *), void *arg,
			       size_t stack_size, uint32_t flags)
{
	memset(t, 0, sizeof(*t));
	if (!stack_size)
		stack_size = KESTREL_UTHREAD_STACK_DEFAULT;
	stack_size = (stack_size + KESTREL_PAGE_SIZE - 1) & ~(size_t)(KESTREL_PAGE_SIZE - 1);
	t->fn = fn;
	t->arg = arg;
	t->stack_size = stack_size;
	t->stack = __pages_alloc(stack_size);
	if (!t->stack)
		return -KE_NO_MEMORY;
	/* As if called: rsp + 8 is 16-byte aligned at the first instruction. */
	uint64_t sp = (uint64_t)(uintptr_t)t->stack + stack_size - 8;
	int64_t h = kestrel_thread_create(KESTREL_THIS_SPACE, KESTREL_THIS_TABLE,
					  (uint64_t)(uintptr_t)uthread_main, sp,
					  (uint64_t)(uintptr_t)t, flags);
	if (h < 0) {
		__pages_free(t->stack, stack_size);
		return h;
	}
	t->handle = (kestrel_handle_t)h;
	list_add(t);
	return 0;
}

int64_t kestrel_uthread_join(struct kestrel_uthread *t, uint64_t timeout_ns)
{
	uint64_t deadline = timeout_ns == KESTREL_FOREVER ? 0 : (uint64_t)kestrel_clock() + timeout_ns;
	while (__atomic_load_n(&t->done, __ATOMIC_ACQUIRE) == 0) {
		uint64_t wait = 0;
		if (deadline) {
			uint64_t now = (uint64_t)kestrel_clock();
			if (now >= deadline)
				return -KE_TIMEOUT;
			wait = deadline - now;
		}
		kestrel_futex_wait(&t->done, 0, wait);
	}
	list_remove(t);
	kestrel_handle_close(t->handle);
	__pages_free(t->stack, t->stack_size);
	t->handle = 0;
	t->stack = NULL;
	return 0;
}

void __uthread_kill_all(void)
{
	uint64_t sp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
	int on_main = 1;
	__lock(&list_lock);
	for (struct kestrel_uthread *t = live; t; t = t->next) {
		uint64_t lo = (uint64_t)(uintptr_t)t->stack;
		if (sp >= lo && sp < lo + t->stack_size) {
			on_main = 0;
			continue;
		}
		if (!t->done)
			kestrel_thread_kill(t->handle);
	}
	__unlock(&list_lock);
	if (!on_main) {
		kestrel_handle_t main_thread = 0;
		if (__kestrel_start)
			main_thread = __kestrel_start->self_thread;
		else if (__kestrel_init_info)
			main_thread = __kestrel_init_info->self_thread;
		if (main_thread > 0)
			kestrel_thread_kill(main_thread);
	}
}
