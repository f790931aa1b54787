/*
 * The prekernel: from a Multiboot loader to the 64-bit kernel.
 *
 * 1. Copy what the loader told us (memory map, modules, command line, RSDP,
 *    framebuffer) into our own boot-info, which lives in this image, so the
 *    loader's structures may be overwritten from then on (mbinfo.c).
 * 2. Validate the kernel ELF (the first module) and copy its segments to a
 *    physically contiguous, 2 MiB aligned block of free memory.
 * 3. Build page tables: identity map of [0, 4 GiB), direct map of all RAM
 *    at KESTREL_DIRECT_MAP_BASE, the kernel at its virtual addresses.
 * 4. Publish the sanitized memory map and enter long mode.
 *
 * Runs with paging off in 32-bit mode: a pointer is a physical address, and
 * everything we touch lies below 4 GiB. Any failure prints a message on the
 * serial port and halts; there is nothing sensible to fall back to.
 */
#include <kestrel/bootinfo.h>
#include <stddef.h>
#include <stdint.h>

#include "elf64.h"
#include "mbinfo.h"
#include "memmap.h"

#define PAGE_SIZE 4096u
#define LARGE_PAGE (2ull << 20)
#define PTE_P 1ull
#define PTE_W 2ull
#define PTE_PS (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull
#define FOUR_GIB (4ull << 30)

/* Limits on what we accept from the loader. */
#define MAX_RAW_RANGES 160
#define MAX_CLAIMS 24

extern char boot_image_start[], boot_image_end[];
uint64_t boot_tsc_at_entry;
void boot_enter_long_mode(uint32_t pml4, uint32_t entry_ptr, uint32_t info)
	__attribute__((noreturn));

static struct kestrel_bootinfo bootinfo __attribute__((aligned(4096)));
static struct kestrel_mem_range raw[MAX_RAW_RANGES + MAX_CLAIMS];
static uint32_t raw_count;
static uint64_t scratch[2 * (MAX_RAW_RANGES + MAX_CLAIMS)];
static uint8_t rsdp_copy[64] __attribute__((aligned(16)));
static uint64_t kernel_entry;

/* ---- Serial output (COM1), for progress and fatal errors. ---- */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void serial_init(void)
{
	outb(0x3f9, 0x00); /* no interrupts */
	outb(0x3fb, 0x80); /* DLAB */
	outb(0x3f8, 0x01); /* 115200 baud */
	outb(0x3f9, 0x00);
	outb(0x3fb, 0x03); /* 8N1 */
	outb(0x3fa, 0xc7); /* FIFO on, cleared */
	outb(0x3fc, 0x03); /* DTR, RTS */
}

static void putc(char c)
{
	if (c == '\n')
		putc('\r');
	for (int i = 0; i < 100000 && !(inb(0x3fd) & 0x20); i++)
		;
	outb(0x3f8, (uint8_t)c);
	outb(0xe9, (uint8_t)c); /* QEMU debug console, if present */
}

static void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

static void __attribute__((noreturn)) fail(const char *what, const char *why)
{
	puts("kestrel boot: fatal: ");
	puts(what);
	if (why) {
		puts(": ");
		puts(why);
	}
	puts("\n");
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* ---- Small freestanding helpers (the compiler may call these). ---- */

void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

/* Copy at most cap - 1 characters and terminate; cap 0 copies nothing. */
/* The prekernel runs with paging off: physical addresses below 4 GiB are
 * pointers; anything above is unreachable. */
static const void *read_phys(uint64_t addr, uint64_t len)
{
	if (addr + len < addr || addr + len > FOUR_GIB)
		return 0;
	return (const void *)(uintptr_t)addr;
}

static void add_raw(uint64_t base, uint64_t length, uint32_t type)
{
	if (raw_count >= MAX_RAW_RANGES + MAX_CLAIMS)
		fail("memory map", "too many entries");
	raw[raw_count].base = base;
	raw[raw_count].length = length;
	raw[raw_count].type = type;
	raw[raw_count].reserved = 0;
	raw_count++;
}

/* ---- Physical allocation below 4 GiB, avoiding everything in use. ---- */

static struct kestrel_mem_range claims[MAX_CLAIMS];
static uint32_t claim_count;

static void claim(uint64_t base, uint64_t length, uint32_t type)
{
	if (claim_count >= MAX_CLAIMS)
		fail("boot allocator", "too many claims");
	claims[claim_count].base = base;
	claims[claim_count].length = length;
	claims[claim_count].type = type;
	claim_count++;
}

/* Lowest `size` bytes at `align` inside usable firmware memory, above 1 MiB,
 * below 4 GiB, clear of every claim. */
static uint64_t alloc_phys(uint64_t size, uint64_t align, uint32_t type)
{
	for (uint32_t i = 0; i < raw_count; i++) {
		if (raw[i].type != KESTREL_MEM_USABLE)
			continue;
		uint64_t lo = raw[i].base < 0x100000 ? 0x100000 : raw[i].base;
		uint64_t hi = raw[i].base + raw[i].length;
		if (hi > FOUR_GIB)
			hi = FOUR_GIB;
		uint64_t cand = (lo + align - 1) & ~(align - 1);
		for (int moved = 1; moved;) {
			moved = 0;
			for (uint32_t c = 0; c < claim_count; c++) {
				uint64_t cb = claims[c].base, ce = cb + claims[c].length;
				if (cand < ce && cb < cand + size) {
					cand = (ce + align - 1) & ~(align - 1);
					moved = 1;
				}
			}
		}
		if (cand + size <= hi && cand >= lo) {
			claim(cand, size, type);
			return cand;
		}
	}
	fail("boot allocator", "out of memory below 4 GiB");
}

static uint64_t *alloc_table(void)
{
	uint64_t p = alloc_phys(PAGE_SIZE, PAGE_SIZE, KESTREL_MEM_BOOTLOADER);
	memset((void *)(uintptr_t)p, 0, PAGE_SIZE);
	return (uint64_t *)(uintptr_t)p;
}

/* ---- Page tables. ---- */

static uint64_t *pml4;

static uint64_t *next_table(uint64_t *table, uint32_t index)
{
	if (!(table[index] & PTE_P))
		table[index] = (uintptr_t)alloc_table() | PTE_P | PTE_W;
	return (uint64_t *)(uintptr_t)(table[index] & PTE_ADDR);
}

static void map_large(uint64_t virt, uint64_t phys)
{
	uint64_t *pdpt = next_table(pml4, (virt >> 39) & 511);
	uint64_t *pd = next_table(pdpt, (virt >> 30) & 511);
	pd[(virt >> 21) & 511] = phys | PTE_P | PTE_W | PTE_PS;
}

static void map_page(uint64_t virt, uint64_t phys)
{
	uint64_t *pdpt = next_table(pml4, (virt >> 39) & 511);
	uint64_t *pd = next_table(pdpt, (virt >> 30) & 511);
	uint64_t *pt = next_table(pd, (virt >> 21) & 511);
	pt[(virt >> 12) & 511] = phys | PTE_P | PTE_W;
}

/* ---- Loading the kernel. ---- */

static void load_kernel(void)
{
	if (bootinfo.module_count == 0)
		fail("kernel", "no boot modules: pass the kernel ELF as the first module");
	const struct kestrel_module *km = &bootinfo.modules[0];
	const void *file = (const void *)(uintptr_t)km->base;
	struct kernel_image_plan plan;
	const char *err = elf64_check_kernel(file, km->length, &plan);
	if (err)
		fail("kernel ELF", err);

	uint64_t span = plan.virt_end - plan.virt_base;
	uint64_t phys = alloc_phys(span, LARGE_PAGE, KESTREL_MEM_KERNEL);
	memset((void *)(uintptr_t)phys, 0, (size_t)span);

	const struct elf64_ehdr *eh = file;
	for (uint32_t i = 0; i < eh->phnum; i++) {
		const struct elf64_phdr *ph =
			(const void *)((uintptr_t)file + (uintptr_t)eh->phoff + i * sizeof(*ph));
		if (ph->type != ELF_PT_LOAD || ph->memsz == 0)
			continue;
		memcpy((void *)(uintptr_t)(phys + (ph->vaddr - plan.virt_base)),
		       (const void *)((uintptr_t)file + (uintptr_t)ph->offset),
		       (size_t)ph->filesz);
	}
	for (uint64_t off = 0; off < span; off += PAGE_SIZE)
		map_page(plan.virt_base + off, phys + off);

	bootinfo.kernel_phys_base = phys;
	bootinfo.kernel_virt_base = plan.virt_base;
	bootinfo.kernel_size = span;
	kernel_entry = plan.entry;
}

static uint64_t ram_top(void)
{
	uint64_t top = 0;
	for (uint32_t i = 0; i < raw_count; i++) {
		uint32_t t = raw[i].type;
		if (t == KESTREL_MEM_USABLE || t == KESTREL_MEM_ACPI_RECLAIMABLE ||
		    t == KESTREL_MEM_ACPI_NVS) {
			uint64_t end = raw[i].base + raw[i].length;
			if (end > top)
				top = end;
		}
	}
	return top;
}

void __attribute__((noreturn)) boot_main(uint32_t magic, uint32_t info)
{
	serial_init();
	bootinfo.magic = KESTREL_BOOTINFO_MAGIC;
	bootinfo.version = KESTREL_BOOTINFO_VERSION;
	bootinfo.size = sizeof(bootinfo);
	bootinfo.tsc_at_entry = boot_tsc_at_entry;

	struct mb_parse parse = {
		.bi = &bootinfo,
		.ranges = raw,
		.range_cap = MAX_RAW_RANGES,
		.rsdp_copy = rsdp_copy,
		.rsdp_copy_size = sizeof(rsdp_copy),
		.rsdp_copy_phys = (uintptr_t)rsdp_copy,
		.read_phys = read_phys,
	};
	const char *err = mb_parse_info(&parse, magic, info);
	if (err)
		fail("boot information", err);
	raw_count = parse.range_count;

	/* What must not be overwritten from here on. */
	claim(0, 0x100000, KESTREL_MEM_RESERVED);
	claim((uintptr_t)boot_image_start, boot_image_end - boot_image_start,
	      KESTREL_MEM_BOOTLOADER);
	for (uint32_t i = 0; i < bootinfo.module_count; i++)
		claim(bootinfo.modules[i].base,
		      (bootinfo.modules[i].length + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1),
		      KESTREL_MEM_MODULE);

	pml4 = alloc_table();
	load_kernel();

	/* Identity map of the low 4 GiB (this code runs there while paging
	 * turns on) and the direct map of all RAM, both with 2 MiB pages. */
	uint64_t top = ram_top();
	if (top < FOUR_GIB)
		top = FOUR_GIB;
	top = (top + (1ull << 30) - 1) & ~((1ull << 30) - 1);
	if (top > (64ull << 40))
		top = 64ull << 40; /* the direct-map window is 64 TiB */
	for (uint64_t a = 0; a < FOUR_GIB; a += LARGE_PAGE)
		map_large(a, a);
	for (uint64_t a = 0; a < top; a += LARGE_PAGE)
		map_large(KESTREL_DIRECT_MAP_BASE + a, a);
	bootinfo.direct_map_size = top;

	/* The final map: firmware ranges overlaid with our claims. The claim
	 * of the low 1 MiB only kept our allocator away from it; the kernel
	 * sees the firmware's view there (it needs a page for SMP start-up). */
	for (uint32_t i = 1; i < claim_count; i++)
		add_raw(claims[i].base, claims[i].length, claims[i].type);
	uint32_t count;
	if (memmap_sanitize(raw, raw_count, scratch, bootinfo.mem_ranges,
			    KESTREL_BOOT_MAX_MEM_RANGES, &count))
		fail("memory map", "too many ranges after sanitizing");
	bootinfo.mem_range_count = count;

	boot_enter_long_mode((uintptr_t)pml4, (uintptr_t)&kernel_entry,
			     (uintptr_t)&bootinfo);
}
