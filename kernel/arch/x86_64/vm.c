/*
 * x86_64 kernel page tables (see vm.h): 4-level paging, 2 MiB pages for the
 * direct map where alignment allows, 4 KiB pages elsewhere.
 *
 * Lock: vm_lock (LOCK_ORDER_VM) guards the tables and the stack/MMIO
 * allocators; it may call into the pmm (a higher lock order).
 */
#include "vm.h"

#include <kestrel/bootinfo.h>

#include "arch.h"
#include "kstring.h"
#include "log.h"
#include "panic.h"
#include "pmm.h"
#include "spinlock.h"
#include "x86.h"

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_PS (1ull << 7)
#define PTE_G (1ull << 8)
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

#define LARGE_PAGE (2ull << 20)

/* Stack slots: 64 KiB of address space each, the stack at the top of the
 * slot and at least one unmapped page below it. */
#define STACK_SLOT_SIZE (64ull << 10)
#define STACK_SLOTS 4096

static struct spinlock vm_lock = SPINLOCK_INIT("vm", LOCK_ORDER_VM);
static uint64_t *kernel_pml4;
static paddr_t kernel_pml4_phys;
static uint64_t mmio_next = VM_MMIO_BASE;
static uint8_t stack_slot_used[STACK_SLOTS];

extern char kernel_image_start[], kernel_text_start[], kernel_text_end[];
extern char kernel_rodata_start[], kernel_rodata_end[];
extern char kernel_data_start[], kernel_data_end[];
extern char kernel_ksyms_start[], kernel_ksyms_end[];

static uint64_t *table_alloc(void)
{
	paddr_t p = pmm_alloc_page();
	if (!p)
		return 0;
	uint64_t *t = phys_to_virt(p);
	memset(t, 0, PAGE_SIZE);
	return t;
}

/* The table one level below entry `index` of `table`, created if absent. */
static uint64_t *table_next(uint64_t *table, unsigned index, bool create)
{
	uint64_t e = table[index];
	if (e & PTE_P) {
		KASSERT(!(e & PTE_PS));
		return phys_to_virt(e & PTE_ADDR);
	}
	if (!create)
		return 0;
	uint64_t *t = table_alloc();
	if (!t)
		return 0;
	/* Permissions are decided at the leaf: upper levels allow all. */
	table[index] = virt_to_phys(t) | PTE_P | PTE_W;
	return t;
}

static int map_4k(uint64_t virt, paddr_t phys, uint64_t flags)
{
	uint64_t *pdpt = table_next(kernel_pml4, (virt >> 39) & 511, true);
	uint64_t *pd = pdpt ? table_next(pdpt, (virt >> 30) & 511, true) : 0;
	uint64_t *pt = pd ? table_next(pd, (virt >> 21) & 511, true) : 0;
	if (!pt)
		return -1;
	pt[(virt >> 12) & 511] = phys | flags | PTE_P;
	return 0;
}

static int map_2m(uint64_t virt, paddr_t phys, uint64_t flags)
{
	uint64_t *pdpt = table_next(kernel_pml4, (virt >> 39) & 511, true);
	uint64_t *pd = pdpt ? table_next(pdpt, (virt >> 30) & 511, true) : 0;
	if (!pd)
		return -1;
	pd[(virt >> 21) & 511] = phys | flags | PTE_P | PTE_PS;
	return 0;
}

static uint64_t *pte_lookup(uint64_t virt)
{
	uint64_t *pdpt = table_next(kernel_pml4, (virt >> 39) & 511, false);
	uint64_t *pd = pdpt ? table_next(pdpt, (virt >> 30) & 511, false) : 0;
	if (!pd)
		return 0;
	uint64_t *pde = &pd[(virt >> 21) & 511];
	if ((*pde & PTE_P) && (*pde & PTE_PS))
		return pde;
	uint64_t *pt = table_next(pd, (virt >> 21) & 511, false);
	return pt ? &pt[(virt >> 12) & 511] : 0;
}

/* Map [phys, phys+len) into the direct map, large pages where possible. */
static void direct_map_range(paddr_t phys, uint64_t len)
{
	paddr_t p = PAGE_ALIGN_DOWN(phys);
	paddr_t end = PAGE_ALIGN_UP(phys + len);
	uint64_t flags = PTE_W | PTE_NX | PTE_G;
	while (p < end) {
		int err;
		if ((p & (LARGE_PAGE - 1)) == 0 && end - p >= LARGE_PAGE) {
			err = map_2m(DIRECT_MAP_BASE + p, p, flags);
			p += LARGE_PAGE;
		} else {
			uint64_t *pte = pte_lookup(DIRECT_MAP_BASE + p);
			err = (pte && (*pte & PTE_P)) ? 0 : map_4k(DIRECT_MAP_BASE + p, p, flags);
			p += PAGE_SIZE;
		}
		if (err)
			panic("vm: out of memory building the direct map");
	}
}

static void map_kernel_section(const char *start, const char *end, paddr_t phys_base,
			       uint64_t virt_base, uint64_t flags)
{
	for (uint64_t v = (uint64_t)start; v < (uint64_t)end; v += PAGE_SIZE)
		if (map_4k(v, phys_base + (v - virt_base), flags | PTE_G))
			panic("vm: out of memory mapping the kernel");
}

void vm_init(const struct kestrel_bootinfo *bi)
{
	kernel_pml4 = table_alloc();
	if (!kernel_pml4)
		panic("vm: no memory for the kernel page tables");
	kernel_pml4_phys = virt_to_phys(kernel_pml4);
	/* Pre-create every kernel-half PDPT (see vm.h). */
	for (unsigned i = 256; i < 512; i++)
		if (!table_next(kernel_pml4, i, true))
			panic("vm: out of memory");

	/* Everything the firmware described, plus the legacy first MiB (the
	 * BIOS area, where ACPI's RSDP may live). Device memory is not in the
	 * map as usable; the direct map is never used to reach devices. */
	direct_map_range(0, 1ull << 20);
	for (uint32_t i = 0; i < bi->mem_range_count; i++)
		direct_map_range(bi->mem_ranges[i].base, bi->mem_ranges[i].length);

	uint64_t vb = bi->kernel_virt_base;
	paddr_t pb = bi->kernel_phys_base;
	map_kernel_section(kernel_text_start, kernel_text_end, pb, vb, 0);
	map_kernel_section(kernel_rodata_start, kernel_rodata_end, pb, vb, PTE_NX);
	map_kernel_section(kernel_data_start, kernel_data_end, pb, vb, PTE_W | PTE_NX);
	map_kernel_section(kernel_ksyms_start, kernel_ksyms_end, pb, vb, PTE_NX);

	/* Enforce W^X for the kernel too: CR0.WP makes read-only pages
	 * read-only in ring 0; CR4.PGE enables global pages. */
	__asm__ volatile("movq %%cr0, %%rax; orq $0x10000, %%rax; movq %%rax, %%cr0" ::: "rax");
	__asm__ volatile("movq %%cr4, %%rax; orq $0x80, %%rax; movq %%rax, %%cr4" ::: "rax");
	write_cr3(kernel_pml4_phys);
	log_info("vm: kernel page tables active (direct map, W^X image)");
}

paddr_t vm_kernel_root(void)
{
	return kernel_pml4_phys;
}

void *vm_map_mmio(paddr_t phys, size_t size)
{
	paddr_t base = PAGE_ALIGN_DOWN(phys);
	uint64_t len = PAGE_ALIGN_UP(phys + size) - base;
	spin_lock(&vm_lock);
	if (mmio_next + len > VM_MMIO_BASE + VM_MMIO_SIZE) {
		spin_unlock(&vm_lock);
		return 0;
	}
	uint64_t virt = mmio_next;
	for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
		if (map_4k(virt + off, base + off, PTE_W | PTE_NX | PTE_PCD | PTE_PWT)) {
			spin_unlock(&vm_lock);
			return 0; /* the address range stays used; rare and harmless */
		}
	}
	mmio_next += len + PAGE_SIZE; /* an unmapped page between mappings */
	spin_unlock(&vm_lock);
	return (void *)(virt + (phys - base));
}

void *vm_alloc_stack(size_t size)
{
	size = PAGE_ALIGN_UP(size);
	if (size == 0 || size > STACK_SLOT_SIZE - PAGE_SIZE)
		return 0;
	spin_lock(&vm_lock);
	int slot = -1;
	for (int i = 0; i < STACK_SLOTS; i++) {
		if (!stack_slot_used[i]) {
			slot = i;
			break;
		}
	}
	if (slot < 0) {
		spin_unlock(&vm_lock);
		return 0;
	}
	uint64_t top = VM_STACK_BASE + (uint64_t)(slot + 1) * STACK_SLOT_SIZE;
	uint64_t base = top - size;
	for (uint64_t v = base; v < top; v += PAGE_SIZE) {
		paddr_t p = pmm_alloc_page();
		if (!p || map_4k(v, p, PTE_W | PTE_NX)) {
			if (p)
				pmm_free_page(p);
			for (uint64_t u = base; u < v; u += PAGE_SIZE) {
				uint64_t *pte = pte_lookup(u);
				pmm_free_page(*pte & PTE_ADDR);
				*pte = 0;
				invlpg(u);
			}
			spin_unlock(&vm_lock);
			return 0;
		}
	}
	stack_slot_used[slot] = 1;
	spin_unlock(&vm_lock);
	return (void *)base;
}

void vm_free_stack(void *base_ptr, size_t size)
{
	uint64_t base = (uint64_t)base_ptr;
	size = PAGE_ALIGN_UP(size);
	uint64_t top = base + size;
	KASSERT(base >= VM_STACK_BASE && (top - VM_STACK_BASE) % STACK_SLOT_SIZE == 0);
	uint64_t slot = (top - VM_STACK_BASE) / STACK_SLOT_SIZE - 1;
	KASSERT(slot < STACK_SLOTS);
	paddr_t pages[STACK_SLOT_SIZE / PAGE_SIZE];
	unsigned n = 0;

	spin_lock(&vm_lock);
	KASSERT(stack_slot_used[slot]);
	for (uint64_t v = base; v < top; v += PAGE_SIZE) {
		uint64_t *pte = pte_lookup(v);
		KASSERT(pte && (*pte & PTE_P));
		pages[n++] = *pte & PTE_ADDR;
		*pte = 0;
	}
	spin_unlock(&vm_lock);

	/* Other CPUs may cache the old translations: flush them everywhere
	 * before the pages or the slot can be reused (not under vm_lock, since
	 * the other CPUs may be spinning on it with interrupts off). */
	arch_tlb_shootdown(base, top);

	for (unsigned i = 0; i < n; i++)
		pmm_free_page(pages[i]);
	spin_lock(&vm_lock);
	stack_slot_used[slot] = 0;
	spin_unlock(&vm_lock);
}

void vm_identity_map_low(paddr_t page)
{
	spin_lock(&vm_lock);
	if (map_4k(page, page, PTE_W))
		panic("vm: out of memory");
	spin_unlock(&vm_lock);
}

void vm_identity_unmap_low(paddr_t page)
{
	spin_lock(&vm_lock);
	uint64_t *pte = pte_lookup(page);
	if (pte)
		*pte = 0;
	invlpg(page);
	spin_unlock(&vm_lock);
	/* The low page tables stay (a few pages) for the next CPU start. */
}

paddr_t vm_translate(uint64_t virt)
{
	uint64_t *pte = pte_lookup(virt);
	if (!pte || !(*pte & PTE_P))
		return 0;
	if (*pte & PTE_PS)
		return (*pte & PTE_ADDR & ~(LARGE_PAGE - 1)) + (virt & (LARGE_PAGE - 1));
	return (*pte & PTE_ADDR) + (virt & (PAGE_SIZE - 1));
}
