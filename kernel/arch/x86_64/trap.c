/*
 * Trap dispatch: exceptions (vectors 0-31) and interrupts (32-255).
 *
 * A CPU exception in the kernel is a kernel bug: we print the exception,
 * every register and a symbolized backtrace, then stop all CPUs. Faults
 * of user programs go to the thread's observer (observe.c), or end the
 * thread when it has none.
 * Interrupt vectors go to the handler registered with trap_set_handler().
 */
#include "arch.h"
#include "cpu.h"
#include "ksyms.h"
#include "log.h"
#include "panic.h"
#include "sched.h"
#include "x86.h"

#include "lapic.h"
#include "observe.h"
#include "space.h"
#include "user_arch.h"
#include "uthread.h"

static irq_handler_fn handlers[256];

static const char *const exception_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
	"invalid opcode", "device not available", "double fault",
	"coprocessor segment overrun", "invalid TSS", "segment not present",
	"stack fault", "general protection", "page fault", "reserved",
	"x87 floating point", "alignment check", "machine check",
	"SIMD floating point", "virtualization", "control protection",
	"reserved", "reserved", "reserved", "reserved", "reserved", "reserved",
	"hypervisor injection", "VMM communication", "security", "reserved",
};

void trap_set_handler(uint8_t vector, irq_handler_fn fn)
{
	handlers[vector] = fn;
}

static void print_symbol(uint64_t addr)
{
	uint64_t off;
	const char *name = ksyms_lookup(addr, &off);
	if (name)
		kprintf("%s+0x%llx", name, (unsigned long long)off);
	else
		kprintf("?");
}

void trap_dump_frame(const struct trap_frame *f)
{
	kprintf("  rip %016llx ", (unsigned long long)f->rip);
	print_symbol(f->rip);
	kprintf("\n  cs %04llx rflags %016llx rsp %016llx ss %04llx\n",
		(unsigned long long)f->cs, (unsigned long long)f->rflags,
		(unsigned long long)f->rsp, (unsigned long long)f->ss);
	kprintf("  rax %016llx rbx %016llx rcx %016llx\n", (unsigned long long)f->rax,
		(unsigned long long)f->rbx, (unsigned long long)f->rcx);
	kprintf("  rdx %016llx rsi %016llx rdi %016llx\n", (unsigned long long)f->rdx,
		(unsigned long long)f->rsi, (unsigned long long)f->rdi);
	kprintf("  rbp %016llx r8  %016llx r9  %016llx\n", (unsigned long long)f->rbp,
		(unsigned long long)f->r8, (unsigned long long)f->r9);
	kprintf("  r10 %016llx r11 %016llx r12 %016llx\n", (unsigned long long)f->r10,
		(unsigned long long)f->r11, (unsigned long long)f->r12);
	kprintf("  r13 %016llx r14 %016llx r15 %016llx\n", (unsigned long long)f->r13,
		(unsigned long long)f->r14, (unsigned long long)f->r15);
	kprintf("  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx\n",
		(unsigned long long)read_cr0(), (unsigned long long)read_cr2(),
		(unsigned long long)read_cr3(), (unsigned long long)read_cr4());
}

static void __attribute__((noreturn)) kernel_exception(struct trap_frame *f)
{
	panic_begin();
	kprintf("\nKERNEL PANIC on cpu%u: exception %llu (%s), error code 0x%llx\n",
		arch_cpu_index(), (unsigned long long)f->vector,
		exception_names[f->vector & 31], (unsigned long long)f->error);
	if (f->vector == 14)
		kprintf("  page fault at %016llx: %s, %s, %s mode%s\n",
			(unsigned long long)read_cr2(),
			(f->error & 1) ? "protection violation" : "page not present",
			(f->error & 2) ? "write" : (f->error & 16) ? "instruction fetch" : "read",
			(f->error & 4) ? "user" : "kernel",
			(f->error & 8) ? ", reserved bit set" : "");
	trap_dump_frame(f);
	panic_print_backtrace(f->rip, f->rbp);
	panic_end();
}

static uint32_t fault_access(uint64_t error)
{
	if (error & 16)
		return SPACE_ACCESS_EXEC;
	return (error & 2) ? SPACE_ACCESS_WRITE : SPACE_ACCESS_READ;
}

static uint64_t read_dr6(void)
{
	uint64_t v;
	__asm__ volatile("movq %%dr6, %0" : "=r"(v));
	/* DR6 bits are sticky: reset it (to its architectural idle value) so
	 * the next #DB reports only its own cause. */
	__asm__ volatile("movq %0, %%dr6" ::"r"(0xffff0ff0ull));
	return v;
}

/* An exception in user mode: a page fault the address space may resolve
 * (demand paging, copy-on-write); anything else goes to the thread's
 * observer (observe.c), and without one ends the thread. */
static void user_exception(struct trap_frame *f)
{
	uint64_t addr = f->vector == 14 ? read_cr2() : 0;
	uint64_t dr6 = f->vector == 1 ? read_dr6() : 0;
	arch_irq_enable();
	if (f->vector == 14) {
		struct space *s = uthread_current_space();
		if (s && !(f->error & 8) && space_fault(s, addr, fault_access(f->error)) == 0)
			return;
	}
	bool breakpoint = f->vector == 1 || f->vector == 3;
	struct observe_event ev = {
		.event = breakpoint ? KESTREL_OBSERVE_BREAKPOINT : KESTREL_OBSERVE_FAULT,
		.vector = (uint32_t)f->vector,
		.error = f->vector == 1 ? dr6 : f->error,
		.address = addr,
	};
	if (f->vector == 14)
		ev.access = (f->error & 16)  ? KESTREL_OBSERVE_EXEC
			    : (f->error & 2) ? KESTREL_OBSERVE_WRITE
					     : KESTREL_OBSERVE_READ;
	if (observe_event(&ev))
		return; /* the observer resumed it, registers as it left them */
	uthread_fatal_exception(exception_names[f->vector & 31], f->rip, addr);
}

/* A page fault in the kernel inside the user copy: resolve it for the
 * thread's address space, or make the copy fail. */
static bool usercopy_page_fault(struct trap_frame *f)
{
	if (f->vector != 14 || !arch_usercopy_fault(f, true))
		return false;
	uint64_t addr = read_cr2();
	struct space *s = uthread_current_space();
	bool resolved = false;
	if (s && arch_user_address_ok(addr)) {
		if (f->rflags & (1u << 9))
			arch_irq_enable();
		resolved = space_fault(s, addr, fault_access(f->error)) == 0;
		arch_irq_disable();
	}
	arch_usercopy_fault(f, resolved);
	return true;
}

void trap_dispatch(struct trap_frame *f)
{
	uint64_t v = f->vector;
	if (v == 2 && panic_in_progress())
		arch_halt(); /* another CPU panicked and stops us */
	if (v < 32 && v != 2 && v != 8 && v != 18 && (f->cs & 3)) {
		user_exception(f);
		if (uthread_should_exit())
			uthread_exit();
		return;
	}
	if (v < 32 && usercopy_page_fault(f))
		return;
	if (v < 32)
		kernel_exception(f);
	struct cpu *c = cpu_current();
	c->irq_count++;
	c->irq_nesting++;
	if (handlers[v]) {
		handlers[v](f);
	} else if (v != VECTOR_SPURIOUS) { /* spurious ones need no EOI */
		log_warn("unexpected interrupt vector %llu", (unsigned long long)v);
		lapic_eoi();
	}
	c->irq_nesting--;
	/* The handler has sent its EOI, so switching threads here blocks no
	 * other interrupt; the interrupted thread resumes from this point. */
	sched_irq_exit();
	/* Back to user mode: a thread asked to end ends now. */
	if ((f->cs & 3) && uthread_should_exit()) {
		arch_irq_enable();
		uthread_exit();
	}
}
