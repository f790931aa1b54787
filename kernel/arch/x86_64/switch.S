/*
 * Kernel thread context switch.
 *
 * void arch_context_switch(uint64_t *save_rsp, uint64_t new_rsp)
 *   Saves the callee-saved registers on the current stack, stores the stack
 *   pointer in *save_rsp, loads new_rsp and restores that thread's registers.
 *   Caller-saved registers are the caller's business (SysV ABI).
 *
 * A new thread's stack is prepared by arch_thread_init_stack() so that the
 * first switch to it "returns" into thread_entry_trampoline with rbx = the
 * start function and r12 = its argument.
 */
	.section .text
	.globl arch_context_switch
arch_context_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

	.globl thread_entry_trampoline
thread_entry_trampoline:
	movq %r12, %rdi
	xorl %ebp, %ebp           /* a new thread's backtrace ends here */
	pushq $0
	jmp *%rbx
