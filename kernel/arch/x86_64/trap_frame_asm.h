/*
 * The general registers of a struct trap_frame (x86.h), pushed and popped
 * in its order: r15 ends up at the lowest address. For assembly only
 * (isr.S, syscall.S); every entry and exit path uses these, so the layout
 * the C side reads is written down once here and once in x86.h.
 */
#ifndef ARCH_X86_64_TRAP_FRAME_ASM_H
#define ARCH_X86_64_TRAP_FRAME_ASM_H

.macro TRAP_FRAME_PUSH_GPRS
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
.endm

.macro TRAP_FRAME_POP_GPRS
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
.endm

#endif
