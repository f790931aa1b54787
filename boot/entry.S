/*
 * Prekernel entry. Both Multiboot 1 (QEMU -kernel, legacy loaders) and
 * Multiboot 2 (GRUB, BIOS and UEFI) enter here in 32-bit protected mode with
 * paging off; eax holds the boot magic and ebx the information structure.
 * We set up a stack and call boot_main(magic, info), which never returns.
 */
	.section .multiboot, "a"
	/* Multiboot 1 header: page-aligned modules, memory information. */
	.align 4
mb1_header:
	.long 0x1badb002
	.long 0x00000003
	.long -(0x1badb002 + 0x00000003)

	/* Multiboot 2 header. */
	.align 8
mb2_header:
	.long 0xe85250d6
	.long 0                         /* architecture: i386 protected mode */
	.long mb2_header_end - mb2_header
	.long -(0xe85250d6 + 0 + (mb2_header_end - mb2_header))
	/* Information request: mmap, modules, cmdline, ACPI, framebuffer. */
	.align 8
mb2_info_request:
	.short 1, 0
	.long mb2_info_request_end - mb2_info_request
	.long 1, 3, 6, 8, 14, 15
mb2_info_request_end:
	/* Modules page aligned. */
	.align 8
	.short 6, 0
	.long 8
	/* End tag. */
	.align 8
	.short 0, 0
	.long 8
mb2_header_end:

	.section .text
	.code32
	.globl _start
_start:
	cli
	cld
	movl $boot_stack_top, %esp
	movl %eax, %esi
	/* Timestamp as early as possible for the boot-time figure. */
	rdtsc
	movl %eax, boot_tsc_at_entry
	movl %edx, boot_tsc_at_entry + 4
	pushl %ebx
	pushl %esi
	call boot_main
1:	hlt
	jmp 1b

/*
 * void boot_enter_long_mode(uint32_t pml4, uint32_t entry_ptr, uint32_t info)
 * entry_ptr points at the 64-bit entry address; info is the boot-info's
 * physical address. Never returns.
 */
	.globl boot_enter_long_mode
boot_enter_long_mode:
	movl 4(%esp), %eax
	movl 8(%esp), %ebx
	movl 12(%esp), %esi
	movl %eax, %cr3
	movl %cr4, %eax
	orl $(1 << 5), %eax             /* PAE */
	movl %eax, %cr4
	movl $0xc0000080, %ecx          /* EFER */
	rdmsr
	orl $((1 << 8) | (1 << 11)), %eax /* LME, NXE */
	wrmsr
	movl %cr0, %eax
	orl $((1 << 31) | (1 << 16) | 1), %eax /* PG, WP, PE */
	movl %eax, %cr0
	lgdt gdt64_ptr
	ljmp $0x08, $long_mode

	.code64
long_mode:
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movl %esi, %edi                 /* boot-info, zero-extended */
	movq (%rbx), %rax               /* 64-bit entry point */
	xorl %ebp, %ebp
	jmp *%rax

	.section .rodata
	.align 8
gdt64:
	.quad 0
	.quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff        /* 0x10: data */
gdt64_end:
gdt64_ptr:
	.short gdt64_end - gdt64 - 1
	.long gdt64

	.section .data
	.align 16
boot_stack:
	.skip 16384
boot_stack_top:
