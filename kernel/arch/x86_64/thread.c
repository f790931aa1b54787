/* x86_64 side of kernel threads: the initial stack frame of a new thread. */
#include <stdint.h>

#include "arch.h"

extern char thread_entry_trampoline[];
void arch_set_kernel_stack(uint64_t top);

uint64_t arch_thread_init_stack(void *stack_top, void (*start)(void *), void *arg)
{
	/* After the switch pops six registers and returns, rsp is the aligned
	 * top; the trampoline pushes a null return address, so start() sees
	 * rsp = 8 mod 16 as after a call. */
	uint64_t *sp = (uint64_t *)((uint64_t)stack_top & ~15ull);
	*--sp = (uint64_t)thread_entry_trampoline; /* return address of the switch */
	*--sp = 0;                               /* rbp */
	*--sp = (uint64_t)start;                 /* rbx */
	*--sp = (uint64_t)arg;                   /* r12 */
	*--sp = 0;                               /* r13 */
	*--sp = 0;                               /* r14 */
	*--sp = 0;                               /* r15 */
	return (uint64_t)sp;
}

void arch_thread_switched_in(uint64_t stack_top)
{
	arch_set_kernel_stack(stack_top);
}
