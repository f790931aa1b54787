/*
 * The narrow interface between generic kernel code and the architecture
 * (kernel/arch/<name>/). Generic code includes only this header, never an
 * arch-private one.
 */
#ifndef KERNEL_ARCH_H
#define KERNEL_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kestrel_bootinfo;

/* Early console: serial port (and QEMU's debug console). Usable from the
 * very first instruction of kernel_main; never blocks for long. */
void arch_console_init(void);
void arch_console_write(const char *s, size_t n);

/* Set up this CPU's descriptor tables and exception handling (boot CPU). */
void arch_cpu_early_init(void);

/* Interrupt state of the calling CPU. */
uint64_t arch_irq_save(void);         /* disable, return the previous state */
void arch_irq_restore(uint64_t state);
void arch_irq_enable(void);
void arch_irq_disable(void);
bool arch_irq_enabled(void);

/* Spin-wait hint. */
static inline void arch_cpu_relax(void)
{
	__builtin_ia32_pause();
}

/* Stop this CPU forever (interrupts off). */
void arch_halt(void) __attribute__((noreturn));
/* Wait for the next interrupt with interrupts enabled (the idle loop). */
void arch_wait_for_interrupt(void);

/* Index of the calling CPU, 0 .. cpu_count-1 (0 before SMP start-up). */
uint32_t arch_cpu_index(void);

/* Read the CPU's cycle counter (TSC). */
static inline uint64_t arch_cycles(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Calibrate the cycle counter and this machine's per-CPU timers against a
 * reference clock (the HPET at hpet_phys if nonzero, else the PIT); returns
 * the cycle counter's frequency in Hz. Boot CPU, once. */
uint64_t arch_timer_calibrate(uint64_t hpet_phys);
/* Arm the calling CPU's one-shot timer to call timer_interrupt() in about
 * `ns` nanoseconds, replacing any earlier setting. */
void arch_timer_arm(uint64_t ns);
/* An independent reference clock for tests (HPET); false if none. */
bool arch_reference_clock_ns(uint64_t *ns);

/* Power off QEMU through isa-debug-exit with a status (0 = success), or
 * halt if the device is absent. */
void arch_qemu_exit(int status) __attribute__((noreturn));

/* Start the CPUs whose interrupt-controller ids are listed (the boot CPU
 * may be among them and is skipped); each new CPU sets itself up and calls
 * ap_main(), which must not return. Returns the number of CPUs online. */
uint32_t arch_smp_start(const uint32_t *hw_ids, uint32_t count, void (*ap_main)(void));
/* Install the handlers of inter-processor interrupts (boot CPU, once). */
void arch_smp_init_ipis(void);
/* Ask CPU `cpu_index` to run the scheduler soon. */
void arch_send_reschedule(uint32_t cpu_index);

/* Stop all other CPUs (NMI), used by panic. Safe to call before SMP. */
void arch_stop_other_cpus(void);

/* Kernel threads: switch stacks, saving callee-saved state (switch.S). */
void arch_context_switch(uint64_t *save_sp, uint64_t new_sp);
/* Prepare a new thread's stack so that switching to the returned stack
 * pointer calls start(arg) with interrupts in the state of the switcher. */
uint64_t arch_thread_init_stack(void *stack_top, void (*start)(void *), void *arg);
/* Tell the CPU which stack to use for traps from user mode. */
void arch_thread_switched_in(uint64_t stack_top);

/*
 * User mode (arch/<name>/user.c). The register set is the architecture's
 * struct in <kestrel/thread.h>.
 */
struct kestrel_regs_x86_64;
typedef struct kestrel_regs_x86_64 arch_user_regs;
/* Leave the kernel for user mode with these registers (the flags are
 * sanitized: interrupts on, no privileged bits). */
void arch_enter_user(const arch_user_regs *regs) __attribute__((noreturn));
/* The calling thread's user registers (saved at its kernel entry). */
void arch_get_user_regs(arch_user_regs *out);
void arch_set_user_regs(const arch_user_regs *in);
/* FPU/SSE state areas (512 bytes, 16-byte aligned). */
#define ARCH_FPU_STATE_SIZE 512
void arch_fpu_init_state(void *area);
void arch_fpu_save(void *area);
void arch_fpu_restore(const void *area);
/* The user's thread-pointer registers (x86_64: FS and GS bases), saved and
 * restored around switches between user threads. */
void arch_user_bases_save(uint64_t bases[2]);
void arch_user_bases_restore(const uint64_t bases[2]);
/* The copy primitive behind usercopy.h: 0, or -KE_FAULT if a fault in it
 * could not be resolved. */
int arch_usercopy(void *dst, const void *src, size_t n);
/* Is addr below the end of user space (canonical lower half)? */
bool arch_user_address_ok(uint64_t addr);

/* Invalidate kernel translations of [start, end) on every CPU, waiting
 * until all have done so. Call without spinlocks held. */
void arch_tlb_shootdown(uint64_t start, uint64_t end);

/*
 * Devices driven from user space (arch/<name>/device.c; generic side in
 * ioports.c and irq.c). Port I/O: width 1, 2 or 4, already checked
 * against the caller's capability. IRQ lines are the IO APIC GSIs
 * 0 .. ARCH_IRQ_LINES-1; a routed line calls irq_interrupt(gsi) in
 * interrupt context and then sends the EOI.
 */
#define ARCH_IRQ_LINES 192
uint32_t arch_port_in(uint16_t port, unsigned width);
void arch_port_out(uint16_t port, unsigned width, uint32_t value);
bool arch_irq_line_exists(uint32_t gsi);
/* ISA IRQ (0..15) to GSI, with the firmware's trigger mode and polarity:
 * 0, or -1 for a number that is no ISA IRQ. */
int arch_irq_isa(uint32_t isa_irq, uint32_t *gsi, bool *level, bool *active_low);
/* Route the line to its vector, unmasked: 0, or -1 if it does not exist. */
int arch_irq_line_route(uint32_t gsi, bool level, bool active_low);
void arch_irq_line_mask(uint32_t gsi, bool masked);
/* Physical addresses the CPU supports (bits), and whether a physical
 * range holds registers the kernel drives itself (never given out). */
unsigned arch_physical_address_bits(void);
bool arch_physical_kernel_owned(uint64_t base, uint64_t size);

/* Walk the frame-pointer chain from `frame` (an rbp value), calling fn for
 * each return address, at most `max` frames; stops at a null or
 * non-kernel frame pointer. */
void arch_backtrace(uint64_t frame, void (*fn)(uint64_t addr, void *ctx),
		    void *ctx, int max);
uint64_t arch_frame_pointer(void);

#endif
