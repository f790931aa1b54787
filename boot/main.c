/*
 * The prekernel: from a Multiboot loader to the 64-bit kernel.
 *
 * 1. Copy what the loader told us (memory map, modules, command line, RSDP,
 *    framebuffer) into our own boot-info, which lives in this image, so the
 *    loader's structures may be overwritten from then on.
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
#include "memmap.h"
#include "multiboot.h"

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
static void copy_string(char *dst, const char *src, uint32_t cap)
{
	uint32_t i = 0;
	if (cap == 0)
		return;
	if (src)
		for (; i + 1 < cap && src[i]; i++)
			dst[i] = src[i];
	dst[i] = 0;
}

/* ---- Collecting the loader's information. ---- */

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

/* Firmware types (E820 numbering, shared by both Multiboot versions). */
static uint32_t firmware_type(uint32_t t)
{
	switch (t) {
	case 1: return KESTREL_MEM_USABLE;
	case 3: return KESTREL_MEM_ACPI_RECLAIMABLE;
	case 4: return KESTREL_MEM_ACPI_NVS;
	case 5: return KESTREL_MEM_BAD;
	default: return KESTREL_MEM_RESERVED;
	}
}

static void add_module(uint64_t start, uint64_t end, const char *name)
{
	if (end < start)
		fail("boot module", "ends before it starts");
	if (bootinfo.module_count >= KESTREL_BOOT_MAX_MODULES)
		fail("boot modules", "too many");
	struct kestrel_module *m = &bootinfo.modules[bootinfo.module_count++];
	m->base = start;
	m->length = end - start;
	copy_string(m->name, name, sizeof(m->name));
}

static int rsdp_checksum_ok(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum += p[i];
	return sum == 0;
}

static void keep_rsdp(const void *src, uint32_t len)
{
	if (len > sizeof(rsdp_copy))
		len = sizeof(rsdp_copy);
	memcpy(rsdp_copy, src, len);
	bootinfo.acpi_rsdp = (uintptr_t)rsdp_copy;
}

/* Multiboot 1 does not report the RSDP: search where ACPI says it may be,
 * the first KiB of the EBDA and the BIOS area 0xe0000-0xfffff. */
static void find_rsdp_legacy(void)
{
	uint32_t ebda = (uint32_t)(*(volatile uint16_t *)0x40e) << 4;
	uint32_t areas[2][2] = {{ebda, ebda + 1024}, {0xe0000, 0x100000}};
	for (int a = ebda ? 0 : 1; a < 2; a++) {
		for (uint32_t p = areas[a][0]; p + 20 <= areas[a][1]; p += 16) {
			const uint8_t *s = (const uint8_t *)p;
			if (s[0] == 'R' && s[1] == 'S' && s[2] == 'D' && s[3] == ' ' &&
			    s[4] == 'P' && s[5] == 'T' && s[6] == 'R' && s[7] == ' ' &&
			    rsdp_checksum_ok(s, 20)) {
				bootinfo.acpi_rsdp = p;
				return;
			}
		}
	}
}

static void parse_mb1(const struct mb1_info *mbi)
{
	bootinfo.protocol = KESTREL_BOOT_MULTIBOOT1;
	if (!(mbi->flags & MB1_INFO_MMAP))
		fail("multiboot 1", "no memory map");
	uint32_t off = 0;
	while (off + sizeof(uint32_t) <= mbi->mmap_length) {
		const struct mb1_mmap_entry *e =
			(const struct mb1_mmap_entry *)(mbi->mmap_addr + off);
		if (e->size < 20)
			fail("multiboot 1", "memory map entry too small");
		add_raw(e->base, e->length, firmware_type(e->type));
		off += e->size + 4;
	}
	if (mbi->flags & MB1_INFO_CMDLINE)
		copy_string(bootinfo.cmdline, (const char *)mbi->cmdline,
			    sizeof(bootinfo.cmdline));
	if (mbi->flags & MB1_INFO_MODS) {
		const struct mb1_module *mods = (const struct mb1_module *)mbi->mods_addr;
		for (uint32_t i = 0; i < mbi->mods_count; i++)
			add_module(mods[i].start, mods[i].end, (const char *)mods[i].string);
	}
	if (mbi->flags & MB1_INFO_FRAMEBUFFER) {
		struct kestrel_framebuffer *fb = &bootinfo.framebuffer;
		fb->base = mbi->framebuffer_addr;
		fb->pitch = mbi->framebuffer_pitch;
		fb->width = mbi->framebuffer_width;
		fb->height = mbi->framebuffer_height;
		fb->bpp = mbi->framebuffer_bpp;
		fb->type = mbi->framebuffer_type == 1 ? KESTREL_FB_RGB
			   : mbi->framebuffer_type == 2 ? KESTREL_FB_TEXT
							: KESTREL_FB_NONE;
		if (fb->type == KESTREL_FB_RGB) {
			fb->red_shift = mbi->color_info[0];
			fb->red_size = mbi->color_info[1];
			fb->green_shift = mbi->color_info[2];
			fb->green_size = mbi->color_info[3];
			fb->blue_shift = mbi->color_info[4];
			fb->blue_size = mbi->color_info[5];
		}
	}
	find_rsdp_legacy();
}

static void parse_mb2(const struct mb2_info *mbi)
{
	bootinfo.protocol = KESTREL_BOOT_MULTIBOOT2;
	if (mbi->total_size < sizeof(*mbi) + sizeof(struct mb2_tag))
		fail("multiboot 2", "information too small");
	uint32_t off = sizeof(*mbi);
	int have_mmap = 0;
	while (off + sizeof(struct mb2_tag) <= mbi->total_size) {
		const struct mb2_tag *tag = (const struct mb2_tag *)((uintptr_t)mbi + off);
		if (tag->type == MB2_TAG_END)
			break;
		if (tag->size < sizeof(*tag) || tag->size > mbi->total_size - off)
			fail("multiboot 2", "malformed tag");
		switch (tag->type) {
		case MB2_TAG_CMDLINE: {
			/* Bound the copy by the tag in case the NUL is missing. */
			uint32_t cap = tag->size - 8;
			if (cap > sizeof(bootinfo.cmdline))
				cap = sizeof(bootinfo.cmdline);
			copy_string(bootinfo.cmdline, (const char *)(tag + 1), cap);
			break;
		}
		case MB2_TAG_MODULE: {
			const struct mb2_tag_module *m = (const void *)tag;
			add_module(m->mod_start, m->mod_end, m->string);
			break;
		}
		case MB2_TAG_MMAP: {
			const struct mb2_tag_mmap *mm = (const void *)tag;
			if (mm->entry_size < sizeof(struct mb2_mmap_entry))
				fail("multiboot 2", "memory map entry too small");
			for (uint32_t e = sizeof(*mm); e + mm->entry_size <= tag->size;
			     e += mm->entry_size) {
				const struct mb2_mmap_entry *me =
					(const void *)((uintptr_t)tag + e);
				add_raw(me->base, me->length, firmware_type(me->type));
			}
			have_mmap = 1;
			break;
		}
		case MB2_TAG_FRAMEBUFFER: {
			const struct mb2_tag_framebuffer *f = (const void *)tag;
			struct kestrel_framebuffer *fb = &bootinfo.framebuffer;
			if (tag->size < 31)
				break;
			fb->base = f->addr;
			fb->pitch = f->pitch;
			fb->width = f->width;
			fb->height = f->height;
			fb->bpp = f->bpp;
			fb->type = f->fb_type == 1 ? KESTREL_FB_RGB
				   : f->fb_type == 2 ? KESTREL_FB_TEXT
						     : KESTREL_FB_NONE;
			if (fb->type == KESTREL_FB_RGB && tag->size >= 36) {
				fb->red_shift = f->red_shift;
				fb->red_size = f->red_size;
				fb->green_shift = f->green_shift;
				fb->green_size = f->green_size;
				fb->blue_shift = f->blue_shift;
				fb->blue_size = f->blue_size;
			}
			break;
		}
		case MB2_TAG_ACPI_OLD:
			/* The tag holds a copy of the RSDP; prefer the v2 one. */
			if (!bootinfo.acpi_rsdp && tag->size >= 8 + 20)
				keep_rsdp(tag + 1, 20);
			break;
		case MB2_TAG_ACPI_NEW:
			if (tag->size >= 8 + 36)
				keep_rsdp(tag + 1, tag->size - 8);
			break;
		case MB2_TAG_EFI64:
		case MB2_TAG_EFI_MMAP:
			bootinfo.flags |= KESTREL_BOOT_FLAG_UEFI;
			break;
		}
		off += (tag->size + 7) & ~7u;
	}
	if (!have_mmap)
		fail("multiboot 2", "no memory map");
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

	if (magic == MB1_BOOT_MAGIC)
		parse_mb1((const struct mb1_info *)info);
	else if (magic == MB2_BOOT_MAGIC)
		parse_mb2((const struct mb2_info *)info);
	else
		fail("entry", "not started by a Multiboot loader");

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
