/*
 * Kernel entry from the prekernel: long mode, rdi = boot-info physical
 * address (see <kestrel/bootinfo.h>). Switch to the boot stack and call
 * kernel_main, which never returns.
 */
	.section .text.entry, "ax"
	.globl kernel_entry
kernel_entry:
	cli
	cld
	leaq boot_stack_top(%rip), %rsp
	xorl %ebp, %ebp     /* terminates backtraces */
	pushq $0            /* fake return address: end of the frame chain */
	call kernel_main
1:	cli
	hlt
	jmp 1b

	.section .bss
	.align 4096
	.globl boot_stack_bottom
boot_stack_bottom:
	.skip 16384
	.globl boot_stack_top
boot_stack_top:
