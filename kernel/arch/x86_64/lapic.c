/*
 * Local APIC (xAPIC mode, memory mapped) and the legacy 8259 PICs, which we
 * remap out of the exception range and mask for good: all device
 * interrupts come through IO APICs, all CPU-local ones through the LAPIC.
 */
#include "lapic.h"

#include "arch.h"
#include "log.h"
#include "panic.h"
#include "vm.h"
#include "x86.h"

#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0

#define LVT_MASKED (1u << 16)
#define ICR_PENDING (1u << 12)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_NMI (4u << 8)
#define ICR_ALL_BUT_SELF (3u << 18)

static volatile uint32_t *lapic;

static inline uint32_t lapic_read(uint32_t reg)
{
	return lapic[reg / 4];
}

static inline void lapic_write(uint32_t reg, uint32_t v)
{
	lapic[reg / 4] = v;
}

static void pic_disable(void)
{
	/* Remap the master/slave PICs to vectors 0x20/0x28 (so a stray
	 * interrupt is never mistaken for an exception), then mask all. */
	outb(0x20, 0x11);
	outb(0xa0, 0x11);
	outb(0x21, 0x20);
	outb(0xa1, 0x28);
	outb(0x21, 0x04);
	outb(0xa1, 0x02);
	outb(0x21, 0x01);
	outb(0xa1, 0x01);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

static void lapic_enable(void)
{
	/* Make sure the APIC is globally enabled in xAPIC mode. */
	uint64_t base = rdmsr(MSR_APIC_BASE);
	wrmsr(MSR_APIC_BASE, base | (1u << 11));
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VECTOR_LAPIC_TIMER);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_ESR, 0);
	lapic_write(LAPIC_SVR, 0x100 | VECTOR_SPURIOUS); /* software enable */
	lapic_write(LAPIC_TIMER_DIV, 0x3);               /* divide by 16 */
	lapic_eoi();
}

void lapic_init(uint64_t phys_base)
{
	pic_disable();
	lapic = vm_map_mmio(phys_base, 4096);
	if (!lapic)
		panic("lapic: cannot map registers at %llx", (unsigned long long)phys_base);
	lapic_enable();
	log_debug("lapic: boot CPU apic id %u at %llx", lapic_id(),
		  (unsigned long long)phys_base);
}

void lapic_init_secondary(void)
{
	lapic_enable();
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

static void icr_send(uint32_t dest, uint32_t low)
{
	uint64_t flags = arch_irq_save();
	/* Wait for a previous IPI to leave; bounded, the APIC never takes
	 * long and a hang here would be silent. */
	for (int i = 0; i < 1000000 && (lapic_read(LAPIC_ICR_LO) & ICR_PENDING); i++)
		arch_cpu_relax();
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, low);
	arch_irq_restore(flags);
}

bool lapic_ipi_pending(void)
{
	return lapic_read(LAPIC_ICR_LO) & ICR_PENDING;
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
	icr_send(apic_id, vector);
}

void lapic_send_nmi_all_others(void)
{
	if (!lapic)
		return;
	icr_send(0, ICR_ALL_BUT_SELF | ICR_NMI | ICR_LEVEL_ASSERT);
}

void lapic_send_init(uint32_t apic_id)
{
	icr_send(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
}

void lapic_send_startup(uint32_t apic_id, uint8_t page)
{
	icr_send(apic_id, ICR_STARTUP | page);
}

void lapic_timer_oneshot(uint32_t ticks)
{
	lapic_write(LAPIC_LVT_TIMER, VECTOR_LAPIC_TIMER); /* one-shot, unmasked */
	lapic_write(LAPIC_TIMER_INIT, ticks);
}

uint32_t lapic_timer_current(void)
{
	return lapic_read(LAPIC_TIMER_CUR);
}

void lapic_timer_start_calibration(void)
{
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VECTOR_LAPIC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
}
