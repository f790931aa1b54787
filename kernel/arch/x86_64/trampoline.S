/*
 * Secondary-CPU start-up code. smp.c copies the bytes between
 * smp_trampoline_start and smp_trampoline_end to a page below 1 MiB, fills
 * in the tramp_* fields and sends the CPU a STARTUP IPI with that page.
 * The CPU starts here in real mode at CS:0 = page:0, goes through protected
 * mode to long mode on a temporary PML4 below 4 GiB (32-bit code can only
 * load a 32-bit CR3), switches to the kernel's PML4 and jumps to
 * tramp_entry(tramp_arg) on tramp_stack.
 *
 * Addresses inside the copy are computed from the page base, kept in ebx.
 */
	.section .rodata
	.globl smp_trampoline_start, smp_trampoline_end
	.globl tramp_gdtr, tramp_far32, tramp_far64, tramp_pml4_low
	.globl tramp_cr3, tramp_stack, tramp_arg, tramp_entry, tramp_gdt
	.globl tramp_32, tramp_64
	.code16
smp_trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	xorl %ebx, %ebx
	movw %cs, %bx
	shll $4, %ebx                       /* ebx = page base (linear) */
	lgdtl tramp_gdtr - smp_trampoline_start
	movl %cr0, %eax
	orl $1, %eax                        /* PE */
	movl %eax, %cr0
	ljmpl *(tramp_far32 - smp_trampoline_start)

	.code32
tramp_32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $((1 << 5) | (1 << 7)), %eax    /* PAE, PGE */
	movl %eax, %cr4
	movl (tramp_pml4_low - smp_trampoline_start)(%ebx), %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx              /* EFER: LME, NXE */
	rdmsr
	orl $((1 << 8) | (1 << 11)), %eax
	wrmsr
	movl %cr0, %eax
	orl $((1 << 31) | (1 << 16)), %eax  /* PG, WP */
	movl %eax, %cr0
	ljmpl *(tramp_far64 - smp_trampoline_start)(%ebx)

	.code64
tramp_64:
	movl %ebx, %ebx                     /* zero-extend the base */
	movq (tramp_cr3 - smp_trampoline_start)(%rbx), %rax
	movq %rax, %cr3
	movq (tramp_stack - smp_trampoline_start)(%rbx), %rsp
	movq (tramp_arg - smp_trampoline_start)(%rbx), %rdi
	movq (tramp_entry - smp_trampoline_start)(%rbx), %rax
	xorl %ebp, %ebp
	pushq $0                            /* end of the frame chain */
	jmp *%rax

	.align 8
tramp_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff            /* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff            /* 0x10: data */
	.quad 0x00af9a000000ffff            /* 0x18: 64-bit code */
tramp_gdtr:
	.short 31
	.long 0                             /* linear address of tramp_gdt */
	.align 4
tramp_far32:
	.long 0                             /* linear address of tramp_32 */
	.short 0x08
	.align 4
tramp_far64:
	.long 0                             /* linear address of tramp_64 */
	.short 0x18
	.align 8
tramp_pml4_low:
	.quad 0
tramp_cr3:
	.quad 0
tramp_stack:
	.quad 0
tramp_arg:
	.quad 0
tramp_entry:
	.quad 0
smp_trampoline_end:
