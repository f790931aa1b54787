/* Constants shared by C and the assembly entry paths (x86_64). */
#ifndef ARCH_ASM_OFFSETS_H
#define ARCH_ASM_OFFSETS_H

/* struct cpu (cpu.h): checked there by _Static_assert. */
#define CPU_OFFSET_KERNEL_STACK 40
#define CPU_OFFSET_USER_RSP 64

#define KE_FAULT_NEG (-4) /* -KE_FAULT (kestrel/error.h), checked in user.c */

#endif
