/*
 * Interrupt and exception entry. isr_stubs holds 256 stubs, 16 bytes apart
 * (cpu.c computes each vector's entry as isr_stubs + 16 * vector). A stub
 * pushes a zero error code where the CPU pushes none, then the vector, and
 * jumps to isr_common, which saves the registers as a struct trap_frame
 * (x86.h) and calls trap_dispatch(frame).
 *
 * Traps from user mode swap the GS base so the kernel finds its per-CPU
 * data; traps from kernel mode keep it.
 */
#include "trap_frame_asm.h"

	.section .text
	.align 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.align 16
	.if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp isr_common
	.set vec, vec + 1
	.endr
	.align 16
	.globl isr_stubs_end
isr_stubs_end:

isr_common:
	TRAP_FRAME_PUSH_GPRS
	testb $3, 144(%rsp)          /* saved CS: from user mode? */
	jz 1f
	swapgs
1:	cld
	movq %rsp, %rdi
	call trap_dispatch
	testb $3, 144(%rsp)
	jz 2f
	swapgs
2:	TRAP_FRAME_POP_GPRS
	addq $16, %rsp               /* vector and error code */
	iretq
