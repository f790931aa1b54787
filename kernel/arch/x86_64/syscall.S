/*
 * The way into the kernel from user mode by `syscall`, and the ways back.
 *
 * syscall_entry: the CPU has put the user rip in rcx and rflags in r11,
 * loaded the kernel CS/SS from STAR and masked rflags with FMASK
 * (interrupts off). The user rsp and GS base are still live: swap GS to
 * reach the per-CPU data, park the user rsp there, switch to the thread's
 * kernel stack, and build the same struct trap_frame (x86.h) a trap from
 * user mode builds, so every path that inspects or changes user registers
 * sees one layout. Vector 0x100 marks a system call.
 *
 * Return: sysret when the saved state allows it — a canonical user rip
 * (sysret with a non-canonical rcx faults in ring 0 on Intel CPUs, with the
 * user's rsp and GS: the classic hole) and the user code/stack selectors —
 * otherwise iretq, which handles anything.
 */
#include "asm_offsets.h"
#include "trap_frame_asm.h"

	.section .text
	.globl syscall_entry
syscall_entry:
	swapgs
	movq %rsp, %gs:CPU_OFFSET_USER_RSP
	movq %gs:CPU_OFFSET_KERNEL_STACK, %rsp
	pushq $0x1b                    /* ss: user data */
	pushq %gs:CPU_OFFSET_USER_RSP  /* rsp */
	pushq %r11                     /* rflags */
	pushq $0x23                    /* cs: user code */
	pushq %rcx                     /* rip */
	pushq $0                       /* error code */
	pushq $0x100                   /* "vector": a system call */
	TRAP_FRAME_PUSH_GPRS
	xorl %ebp, %ebp                /* backtraces stop at the user boundary */
	cld
	sti
	movq %rsp, %rdi
	call x86_syscall
	/* fall through */

	.globl user_return
user_return:                           /* rsp = struct trap_frame of a user context */
	cli
	movq 136(%rsp), %rcx           /* rip */
	shrq $47, %rcx
	jnz user_return_iret           /* not a canonical lower-half address */
	cmpq $0x23, 144(%rsp)
	jne user_return_iret
	cmpq $0x1b, 168(%rsp)
	jne user_return_iret
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	addq $8, %rsp                  /* r11: becomes rflags below */
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	addq $8, %rsp                  /* rcx: becomes rip below */
	popq %rbx
	popq %rax
	movq 16(%rsp), %rcx            /* rip (after vector, error) */
	movq 32(%rsp), %r11            /* rflags */
	movq 40(%rsp), %rsp            /* user rsp; NMIs and faults use IST stacks */
	swapgs
	sysretq

user_return_iret:
	TRAP_FRAME_POP_GPRS
	addq $16, %rsp                 /* vector and error code */
	swapgs
	iretq

/* void arch_user_enter(struct trap_frame *frame): start user mode with the
 * registers in frame (anywhere on the current kernel stack). */
	.globl arch_user_enter
arch_user_enter:
	cli
	movq %rdi, %rsp
	jmp user_return
