/*
 * Multiprocessor support on x86_64: starting the secondary CPUs listed by
 * ACPI (INIT, then STARTUP IPIs into trampoline.S), and the IPIs that CPUs
 * send each other: reschedule, TLB shootdown, and the panic stop (an NMI,
 * which gets through even with interrupts off).
 *
 * CPUs are started one at a time so each can be given its own stack and
 * index through the single trampoline page.
 */
#include "arch.h"
#include "clock.h"
#include "cpu.h"
#include "hpet.h"
#include "kstring.h"
#include "lapic.h"
#include "log.h"
#include "panic.h"
#include "pmm.h"
#include "sched.h"
#include "vm.h"
#include "x86.h"

#define AP_STACK_SIZE (16u << 10)
#define IST_STACKS_SIZE (3u * 8192u)
#define VECTOR_IPI_TLB 0xf2

extern char smp_trampoline_start[], smp_trampoline_end[];
extern char tramp_gdtr[], tramp_far32[], tramp_far64[], tramp_pml4_low[];
extern char tramp_cr3[], tramp_stack[], tramp_arg[], tramp_entry[], tramp_gdt[];
extern char tramp_32[], tramp_64[];

void arch_cpu_init_secondary(uint32_t index, uint8_t *ist_stacks);

static void (*secondary_main)(void);
static uint8_t *ist_for_cpu[MAX_CPUS];
static volatile uint32_t started_index;

static void *tramp_field(uint8_t *page, const char *sym)
{
	return page + (sym - smp_trampoline_start);
}

static void __attribute__((noreturn)) secondary_entry(uint64_t index)
{
	arch_cpu_init_secondary((uint32_t)index, ist_for_cpu[index]);
	lapic_init_secondary();
	cpus[index].apic_id = lapic_id();
	__atomic_store_n(&started_index, (uint32_t)index, __ATOMIC_RELEASE);
	secondary_main();
	panic("secondary CPU main returned");
}

static bool wait_started(uint32_t index, uint64_t timeout_ns)
{
	uint64_t end = clock_monotonic_ns() + timeout_ns;
	while (clock_monotonic_ns() < end) {
		if (__atomic_load_n(&started_index, __ATOMIC_ACQUIRE) == index)
			return true;
		arch_cpu_relax();
	}
	return false;
}

static void spin_ns(uint64_t ns)
{
	uint64_t end = clock_monotonic_ns() + ns;
	while (clock_monotonic_ns() < end)
		arch_cpu_relax();
}

uint32_t arch_smp_start(const uint32_t *apic_ids, uint32_t count, void (*ap_main)(void))
{
	secondary_main = ap_main;
	uint32_t self = lapic_id();
	cpus[0].apic_id = self;
	if (count <= 1)
		return 1;

	/* The trampoline page and its PML4 must be below 1 MiB / 4 GiB. */
	paddr_t page = pmm_alloc_pages_below(0, 1u << 20);
	paddr_t pml4_low = pmm_alloc_pages_below(0, 1u << 20);
	if (!page || !pml4_low) {
		log_warn("smp: no low memory for the trampoline; running on one CPU");
		return 1;
	}
	uint8_t *tp = phys_to_virt(page);
	size_t len = (size_t)(smp_trampoline_end - smp_trampoline_start);
	KASSERT(len <= PAGE_SIZE);
	memcpy(tp, smp_trampoline_start, len);
	*(uint32_t *)tramp_field(tp, tramp_gdtr + 2) = (uint32_t)(page + (tramp_gdt - smp_trampoline_start));
	*(uint32_t *)tramp_field(tp, tramp_far32) = (uint32_t)(page + (tramp_32 - smp_trampoline_start));
	*(uint32_t *)tramp_field(tp, tramp_far64) = (uint32_t)(page + (tramp_64 - smp_trampoline_start));
	*(uint64_t *)tramp_field(tp, tramp_pml4_low) = pml4_low;
	*(uint64_t *)tramp_field(tp, tramp_cr3) = vm_kernel_root();
	*(uint64_t *)tramp_field(tp, tramp_entry) = (uint64_t)secondary_entry;

	vm_identity_map_low(page);
	/* The low PML4 is the kernel's, including the identity entry. */
	memcpy(phys_to_virt(pml4_low), phys_to_virt(vm_kernel_root()), PAGE_SIZE);

	uint32_t online = 1;
	for (uint32_t i = 0; i < count && online < MAX_CPUS; i++) {
		if (apic_ids[i] == self)
			continue;
		uint32_t index = online;
		void *stack = vm_alloc_stack(AP_STACK_SIZE);
		void *ist = vm_alloc_stack(IST_STACKS_SIZE);
		if (!stack || !ist) {
			log_warn("smp: out of memory for CPU stacks");
			break;
		}
		ist_for_cpu[index] = ist;
		*(uint64_t *)tramp_field(tp, tramp_stack) = (uint64_t)stack + AP_STACK_SIZE;
		*(uint64_t *)tramp_field(tp, tramp_arg) = index;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);

		/* INIT, 10 ms, STARTUP; a second STARTUP if the first was lost. */
		lapic_send_init(apic_ids[i]);
		spin_ns(10000000);
		lapic_send_startup(apic_ids[i], (uint8_t)(page >> 12));
		bool ok = wait_started(index, 1000000);
		if (!ok) {
			lapic_send_startup(apic_ids[i], (uint8_t)(page >> 12));
			ok = wait_started(index, 200000000);
		}
		if (!ok) {
			log_warn("smp: CPU with APIC id %u did not start", apic_ids[i]);
			/* Its stacks stay allocated: it might still wake up and use them. */
			continue;
		}
		online++;
	}
	vm_identity_unmap_low(page);
	pmm_free_pages(page, 0);
	pmm_free_pages(pml4_low, 0);
	return online;
}

void arch_send_reschedule(uint32_t cpu_index)
{
	lapic_send_ipi(cpus[cpu_index].apic_id, VECTOR_IPI_RESCHEDULE);
}

void arch_stop_other_cpus(void)
{
	lapic_send_nmi_all_others();
}

/* ---- TLB shootdown ---- */

static volatile uint32_t shootdown_busy;
static volatile uint64_t shootdown_start, shootdown_end;
static volatile uint32_t shootdown_pending;

static void flush_range(uint64_t start, uint64_t end)
{
	for (uint64_t a = start & ~0xfffull; a < end; a += 4096)
		invlpg(a);
}

static void tlb_ipi(struct trap_frame *f)
{
	(void)f;
	flush_range(shootdown_start, shootdown_end);
	__atomic_fetch_sub(&shootdown_pending, 1, __ATOMIC_RELEASE);
	lapic_eoi();
}

void arch_tlb_shootdown(uint64_t start, uint64_t end)
{
	if (cpu_count <= 1) {
		flush_range(start, end);
		return;
	}
	/* Interrupts must be on while we wait for our turn: the CPU that
	 * holds the shootdown may be waiting for our acknowledgement. */
	KASSERT(arch_irq_enabled());
	/* The holder keeps interrupts off from taking shootdown_busy until
	 * it lets go, like a spinlock holder, so it is never preempted while
	 * holding it. Otherwise a more urgent thread switched in on its CPU
	 * (the reaper, freeing a stack) spins here for a holder that never
	 * gets the CPU back. Waiting for the acknowledgements with interrupts
	 * off is safe: we hold no spinlock (checked above), so every other
	 * CPU either has interrupts on or leaves its spinlock section without
	 * needing anything from us, and a CPU waiting for its turn waits
	 * with interrupts on. */
	uint64_t flags;
	for (;;) {
		flags = arch_irq_save();
		if (!__atomic_exchange_n(&shootdown_busy, 1, __ATOMIC_ACQUIRE))
			break;
		arch_irq_restore(flags);
		while (__atomic_load_n(&shootdown_busy, __ATOMIC_RELAXED))
			arch_cpu_relax();
	}
	/* Our own flush, now that we cannot move: flushed before taking the
	 * lock, a thread preempted and moved meanwhile would leave the new
	 * CPU (the one the IPIs skip) unflushed. */
	flush_range(start, end);
	shootdown_start = start;
	shootdown_end = end;
	__atomic_store_n(&shootdown_pending, cpu_count - 1, __ATOMIC_RELEASE);
	uint32_t me = arch_cpu_index();
	for (uint32_t i = 0; i < cpu_count; i++)
		if (i != me)
			lapic_send_ipi(cpus[i].apic_id, VECTOR_IPI_TLB);
	while (__atomic_load_n(&shootdown_pending, __ATOMIC_ACQUIRE))
		arch_cpu_relax();
	__atomic_store_n(&shootdown_busy, 0, __ATOMIC_RELEASE);
	arch_irq_restore(flags);
}

static void reschedule_ipi(struct trap_frame *f)
{
	(void)f;
	lapic_eoi();
	sched_ipi();
}

void arch_smp_init_ipis(void)
{
	trap_set_handler(VECTOR_IPI_TLB, tlb_ipi);
	trap_set_handler(VECTOR_IPI_RESCHEDULE, reschedule_ipi);
}
