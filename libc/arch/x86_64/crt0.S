/*
 * _start: where every Kestrel program begins (the ELF entry point).
 *
 * On entry rsp is 16-byte aligned at the top of the stack and rdi points
 * at the start information: the kernel's struct kestrel_init_info for init,
 * a struct kestrel_start (<kestrel/start.h>) written by the loader for every
 * other program. __libc_start() tells them apart by their magic, runs the
 * constructors, calls main() and exit(). Nothing here returns.
 */
	.text
	.globl _start
	.type _start, @function
_start:
	xorl %ebp, %ebp          /* the outermost frame, for backtraces */
	andq $-16, %rsp          /* a loader may have been sloppy */
	call __libc_start        /* rdi: the start information */
	ud2
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
