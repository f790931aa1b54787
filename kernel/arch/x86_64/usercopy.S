/*
 * The fault-safe copy between kernel and user memory. The page-fault
 * handler knows the range [usercopy_fault_start, usercopy_fault_end): a
 * fault there is offered to the address space, and if it cannot be
 * resolved the handler resumes at usercopy_fixup, which returns -KE_FAULT.
 * `rep movsb` is restartable: after a resolved fault it goes on where it
 * stopped.
 *
 * int arch_usercopy(void *dst, const void *src, size_t n) -> 0 or -KE_FAULT
 */
#include "asm_offsets.h"

	.section .text
	.globl arch_usercopy, usercopy_fault_start, usercopy_fault_end, usercopy_fixup
arch_usercopy:
	movq %rdx, %rcx
usercopy_fault_start:
	rep movsb
usercopy_fault_end:
	xorl %eax, %eax
	ret
usercopy_fixup:
	movl $KE_FAULT_NEG, %eax
	ret
