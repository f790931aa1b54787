/*
 * Per-CPU descriptor tables: each CPU has its own GDT (because the TSS
 * descriptor lives in it) and TSS with three interrupt stacks (double
 * fault, NMI, machine check), so those exceptions always run on a known
 * good stack even when the kernel stack overflowed into its guard page.
 * The IDT is shared by all CPUs. The GS base points at the CPU's struct cpu.
 */
#include "arch.h"
#include "cpu.h"
#include "kstring.h"
#include "panic.h"
#include "user_arch.h"
#include "x86.h"

#define IST_STACK_SIZE 8192

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct gdt {
	uint64_t entries[7]; /* null, kcode, kdata, udata, ucode, tss (2 slots) */
};

struct idt_entry {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

struct table_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

struct arch_cpu {
	struct gdt gdt __attribute__((aligned(16)));
	struct tss tss __attribute__((aligned(16)));
};

struct cpu cpus[MAX_CPUS];
uint32_t cpu_count = 1;

static struct arch_cpu arch_cpus[MAX_CPUS];
static struct idt_entry idt[256] __attribute__((aligned(16)));
static uint8_t boot_ist_stacks[3][IST_STACK_SIZE] __attribute__((aligned(16)));

extern char isr_stubs[], isr_stubs_end[];

static void idt_set(uint8_t vector, uint8_t ist, uint8_t dpl)
{
	uint64_t addr = (uint64_t)(isr_stubs + 16 * vector);
	struct idt_entry *e = &idt[vector];
	e->offset_lo = (uint16_t)addr;
	e->selector = GDT_KERNEL_CODE;
	e->ist = ist;
	e->type_attr = 0x8e | (uint8_t)(dpl << 5); /* present, interrupt gate */
	e->offset_mid = (uint16_t)(addr >> 16);
	e->offset_hi = (uint32_t)(addr >> 32);
	e->reserved = 0;
}

static void idt_build(void)
{
	KASSERT(isr_stubs_end - isr_stubs == 256 * 16);
	for (int v = 0; v < 256; v++)
		idt_set((uint8_t)v, 0, 0);
	idt_set(8, IST_DOUBLE_FAULT, 0);
	idt_set(2, IST_NMI, 0);
	idt_set(18, IST_MACHINE_CHECK, 0);
	idt_set(3, 0, 3); /* int3 allowed from user mode (debuggers) */
}

static void gdt_load(struct arch_cpu *ac)
{
	struct gdt *g = &ac->gdt;
	g->entries[0] = 0;
	g->entries[1] = 0x00af9a000000ffffull; /* kernel code: L, P, DPL0 */
	g->entries[2] = 0x00cf92000000ffffull; /* kernel data */
	g->entries[3] = 0x00cff2000000ffffull; /* user data, DPL3 */
	g->entries[4] = 0x00affa000000ffffull; /* user code, L, DPL3 */
	uint64_t base = (uint64_t)&ac->tss;
	uint64_t limit = sizeof(ac->tss) - 1;
	g->entries[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
			(((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	g->entries[6] = base >> 32;

	struct table_ptr gp = {sizeof(*g) - 1, (uint64_t)g};
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movl %2, %%eax\n\t"
			 "movl %%eax, %%ds\n\t"
			 "movl %%eax, %%es\n\t"
			 "movl %%eax, %%ss\n\t"
			 "xorl %%eax, %%eax\n\t"
			 "movl %%eax, %%fs\n\t"
			 "movl %%eax, %%gs\n\t"
			 :
			 : "m"(gp), "i"(GDT_KERNEL_CODE), "i"(GDT_KERNEL_DATA)
			 : "rax", "memory");
	__asm__ volatile("ltr %w0" ::"r"(GDT_TSS));
}

static void idt_load(void)
{
	struct table_ptr ip = {sizeof(idt) - 1, (uint64_t)idt};
	__asm__ volatile("lidt %0" ::"m"(ip));
}

/*
 * Load this CPU's tables. `ist_stacks` points at three IST_STACK_SIZE
 * stacks (their tops go into the TSS).
 */
static void cpu_load_tables(uint32_t index, uint8_t *ist_stacks)
{
	struct arch_cpu *ac = &arch_cpus[index];
	memset(&ac->tss, 0, sizeof(ac->tss));
	for (int i = 0; i < 3; i++)
		ac->tss.ist[i] = (uint64_t)(ist_stacks + (i + 1) * IST_STACK_SIZE);
	ac->tss.iomap_base = sizeof(ac->tss); /* no I/O bitmap */
	gdt_load(ac);
	idt_load();

	struct cpu *c = &cpus[index];
	c->self = c;
	c->index = index;
	wrmsr(MSR_GS_BASE, (uint64_t)c);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
	arch_user_init_cpu();
}

void arch_cpu_early_init(void)
{
	idt_build();
	cpu_load_tables(0, &boot_ist_stacks[0][0]);
	cpus[0].online = true;
}

/* Secondary CPUs: called by smp.c on the new CPU with its stacks. */
void arch_cpu_init_secondary(uint32_t index, uint8_t *ist_stacks)
{
	cpu_load_tables(index, ist_stacks);
}

/* Set the stack the CPU switches to on a trap from user mode. */
void arch_set_kernel_stack(uint64_t top)
{
	arch_cpus[arch_cpu_index()].tss.rsp[0] = top;
	cpu_current()->kernel_stack_top = top;
}

uint32_t arch_cpu_index(void)
{
	uint32_t i;
	__asm__ volatile("movl %%gs:8, %0" : "=r"(i));
	return i;
}

uint64_t arch_irq_save(void)
{
	uint64_t flags;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags)::"memory");
	return flags;
}

void arch_irq_restore(uint64_t state)
{
	if (state & (1u << 9))
		__asm__ volatile("sti" ::: "memory");
}

void arch_irq_enable(void)
{
	__asm__ volatile("sti" ::: "memory");
}

void arch_irq_disable(void)
{
	__asm__ volatile("cli" ::: "memory");
}

bool arch_irq_enabled(void)
{
	uint64_t flags;
	__asm__ volatile("pushfq; popq %0" : "=r"(flags));
	return flags & (1u << 9);
}

void arch_halt(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void arch_wait_for_interrupt(void)
{
	/* sti takes effect after the next instruction, so no interrupt can
	 * slip in between the two and leave us asleep. */
	__asm__ volatile("sti; hlt" ::: "memory");
}

void arch_qemu_exit(int status)
{
	/* isa-debug-exit at 0xf4: QEMU exits with (value << 1) | 1, so
	 * 0x10 -> 33 (success), 0x11 -> 35 (failure). */
	outb(0xf4, status == 0 ? 0x10 : 0x11);
	arch_halt();
}

uint64_t arch_frame_pointer(void)
{
	return (uint64_t)__builtin_frame_address(0);
}

void arch_backtrace(uint64_t frame, void (*fn)(uint64_t addr, void *ctx), void *ctx,
		    int max)
{
	/* Frames live on kernel stacks: in the higher half, 8-byte aligned.
	 * Anything else ends the walk (garbage must not fault here). */
	for (int i = 0; i < max; i++) {
		if (frame < 0xffff800000000000ull || (frame & 7))
			return;
		uint64_t *fp = (uint64_t *)frame;
		uint64_t ret = fp[1];
		if (!ret)
			return;
		fn(ret, ctx);
		if (fp[0] <= frame)
			return; /* stacks grow down: the chain must go up */
		frame = fp[0];
	}
}
