/*
 * x86_64 support for user mode: the system-call MSRs, FPU/SSE state,
 * entering user mode, the registers of a user context, and the fault-safe
 * user copy's fixup.
 */
#include <kestrel/error.h>
#include <kestrel/memory.h>
#include <kestrel/syscall.h>
#include <kestrel/thread.h>
#include <stddef.h>

#include "arch.h"
#include "asm_offsets.h"
#include "cpu.h"
#include "kstring.h"
#include "observe.h"
#include "panic.h"
#include "syscall.h"
#include "uthread.h"
#include "user_arch.h"
#include "x86.h"

_Static_assert(offsetof(struct cpu, kernel_stack_top) == CPU_OFFSET_KERNEL_STACK, "asm offsets");
_Static_assert(offsetof(struct cpu, user_rsp) == CPU_OFFSET_USER_RSP, "asm offsets");
_Static_assert(KE_FAULT_NEG == -KE_FAULT, "asm offsets");
_Static_assert(sizeof(struct trap_frame) == 176, "trap frame layout (syscall.S)");

#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084
#define EFER_SCE 1u

#define RFLAGS_IF (1u << 9)
/* What a user program may set in rflags: CF PF AF ZF SF TF DF OF, AC, ID. */
#define RFLAGS_USER_MASK 0x00240dd5u

extern char syscall_entry[];
extern char usercopy_fault_start[], usercopy_fault_end[], usercopy_fixup[];
void arch_user_enter(struct trap_frame *frame) __attribute__((noreturn));

void arch_user_init_cpu(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	/* sysret: CS = 0x10 + 16 | 3 = 0x23, SS = 0x10 + 8 | 3 = 0x1b. */
	wrmsr(MSR_STAR, (0x10ull << 48) | ((uint64_t)GDT_KERNEL_CODE << 32));
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	/* Clear IF, TF, DF, NT and AC on entry. */
	wrmsr(MSR_FMASK, 0x44700);
	/* SSE for user programs: CR0.MP on, EM and TS off; CR4.OSFXSR and
	 * OSXMMEXCPT on. No XSAVE: programs see no AVX and stay within the
	 * state FXSAVE covers. */
	uint64_t cr0 = read_cr0();
	cr0 = (cr0 | 2) & ~(uint64_t)(4 | 8);
	__asm__ volatile("movq %0, %%cr0" ::"r"(cr0));
	uint64_t cr4 = read_cr4() | (1u << 9) | (1u << 10);
	__asm__ volatile("movq %0, %%cr4" ::"r"(cr4));
}

void arch_fpu_init_state(void *area)
{
	uint8_t *a = area;
	memset(a, 0, 512);
	a[0] = 0x7f; /* FCW 0x037f: all x87 exceptions masked */
	a[1] = 0x03;
	uint32_t mxcsr = 0x1f80; /* all SSE exceptions masked */
	memcpy(a + 24, &mxcsr, 4);
}

void arch_fpu_save(void *area)
{
	__asm__ volatile("fxsave64 (%0)" ::"r"(area) : "memory");
}

void arch_fpu_restore(const void *area)
{
	__asm__ volatile("fxrstor64 (%0)" ::"r"(area) : "memory");
}

void arch_user_bases_save(uint64_t bases[2])
{
	bases[0] = rdmsr(MSR_FS_BASE);
	bases[1] = rdmsr(MSR_KERNEL_GS_BASE);
}

void arch_user_bases_restore(const uint64_t bases[2])
{
	wrmsr(MSR_FS_BASE, bases[0]);
	wrmsr(MSR_KERNEL_GS_BASE, bases[1]);
}

static uint64_t sanitize_rflags(uint64_t rflags)
{
	return (rflags & RFLAGS_USER_MASK) | RFLAGS_IF | 2;
}

bool arch_user_address_ok(uint64_t addr)
{
	return addr < KESTREL_USER_MAX + KESTREL_PAGE_SIZE;
}

void arch_regs_to_frame(const struct kestrel_regs_x86_64 *r, struct trap_frame *f)
{
	f->rax = r->rax, f->rbx = r->rbx, f->rcx = r->rcx, f->rdx = r->rdx;
	f->rsi = r->rsi, f->rdi = r->rdi, f->rbp = r->rbp, f->rsp = r->rsp;
	f->r8 = r->r8, f->r9 = r->r9, f->r10 = r->r10, f->r11 = r->r11;
	f->r12 = r->r12, f->r13 = r->r13, f->r14 = r->r14, f->r15 = r->r15;
	f->rip = r->rip;
	f->rflags = sanitize_rflags(r->rflags);
	f->cs = GDT_USER_CODE;
	f->ss = GDT_USER_DATA;
	f->vector = 0;
	f->error = 0;
}

void arch_frame_to_regs(const struct trap_frame *f, struct kestrel_regs_x86_64 *r)
{
	r->rax = f->rax, r->rbx = f->rbx, r->rcx = f->rcx, r->rdx = f->rdx;
	r->rsi = f->rsi, r->rdi = f->rdi, r->rbp = f->rbp, r->rsp = f->rsp;
	r->r8 = f->r8, r->r9 = f->r9, r->r10 = f->r10, r->r11 = f->r11;
	r->r12 = f->r12, r->r13 = f->r13, r->r14 = f->r14, r->r15 = f->r15;
	r->rip = f->rip;
	r->rflags = f->rflags;
	r->fs_base = rdmsr(MSR_FS_BASE);
	r->gs_base = rdmsr(MSR_KERNEL_GS_BASE); /* the user's, while in the kernel */
}

/* The user frame of the calling thread (at the top of its kernel stack). */
struct trap_frame *arch_current_user_frame(void)
{
	return (struct trap_frame *)(cpu_current()->kernel_stack_top - sizeof(struct trap_frame));
}

void arch_get_user_regs(arch_user_regs *out)
{
	arch_frame_to_regs(arch_current_user_frame(), out);
}

void arch_set_user_regs(const arch_user_regs *in)
{
	arch_regs_to_frame(in, arch_current_user_frame());
	wrmsr(MSR_FS_BASE, in->fs_base);
	wrmsr(MSR_KERNEL_GS_BASE, in->gs_base);
}

void arch_enter_user(const struct kestrel_regs_x86_64 *r)
{
	struct trap_frame f;
	arch_regs_to_frame(r, &f);
	wrmsr(MSR_FS_BASE, r->fs_base);
	/* GS: the user's base goes to KERNEL_GS_BASE, swapped in on return. */
	wrmsr(MSR_KERNEL_GS_BASE, r->gs_base);
	arch_user_enter(&f);
}

void x86_syscall(struct trap_frame *f)
{
	/* A Linux-personality thread's non-Kestrel call goes to its observer,
	 * which sets the result (rax) itself while the thread is stopped. */
	if (f->rax - KESTREL_SYSCALL_BASE >= KESTREL_SYSCALL_COUNT &&
	    (uthread_current()->flags & KESTREL_THREAD_LINUX))
		observe_linux_syscall();
	else
		f->rax = (uint64_t)syscall_dispatch(f->rax, f->rdi, f->rsi, f->rdx, f->r10, f->r8,
						    f->r9);
	if (uthread_should_exit())
		uthread_exit();
}

bool arch_usercopy_fault(struct trap_frame *f, bool resolved)
{
	if (f->rip < (uint64_t)usercopy_fault_start || f->rip > (uint64_t)usercopy_fault_end)
		return false;
	if (!resolved)
		f->rip = (uint64_t)usercopy_fixup;
	return true;
}
