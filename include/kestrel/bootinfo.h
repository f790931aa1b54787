/*
 * The Kestrel boot protocol: what the prekernel (boot/) hands to the kernel.
 *
 * The prekernel enters the kernel's ELF entry point in 64-bit long mode with:
 *   - rdi = physical address of a struct kestrel_bootinfo;
 *   - paging on, with the kernel's PT_LOAD segments mapped at their virtual
 *     addresses, all of physical memory in [0, bootinfo.direct_map_size)
 *     mapped at KESTREL_DIRECT_MAP_BASE, and [0, 4 GiB) identity-mapped;
 *   - EFER.NXE set, interrupts off, no valid IDT, a GDT the kernel replaces.
 *
 * Every address in these structures is physical, stored as 64 bits so the
 * 32-bit prekernel and the 64-bit kernel agree on the layout. i386 aligns
 * 64-bit fields to 4 bytes only, so every structure is padded by hand and
 * the layout is pinned by the static assertions at the end. The structure
 * and everything it points to live in memory marked KESTREL_MEM_BOOTLOADER
 * in the memory map; the kernel may reuse it once it has copied what it needs.
 */
#ifndef KESTREL_BOOTINFO_H
#define KESTREL_BOOTINFO_H

#include <stdint.h>

#define KESTREL_BOOTINFO_MAGIC 0x4b45535442494e46ull /* "KESTBINF" */
#define KESTREL_BOOTINFO_VERSION 1

/* Where the prekernel puts the direct map of physical memory. */
#define KESTREL_DIRECT_MAP_BASE 0xffff800000000000ull

/* Memory map entry types. The map is sorted by base, entries never overlap,
 * and adjacent entries of the same type are merged. Only USABLE memory is
 * free for the kernel to allocate right away; BOOTLOADER becomes free once
 * the kernel is done with the boot-info. */
enum kestrel_mem_type {
	KESTREL_MEM_USABLE = 1,
	KESTREL_MEM_RESERVED = 2,
	KESTREL_MEM_ACPI_RECLAIMABLE = 3,
	KESTREL_MEM_ACPI_NVS = 4,
	KESTREL_MEM_BAD = 5,
	KESTREL_MEM_BOOTLOADER = 6, /* boot-info, prekernel page tables */
	KESTREL_MEM_KERNEL = 7,     /* the loaded kernel image */
	KESTREL_MEM_MODULE = 8,     /* boot modules (initrd, the kernel ELF file) */
};

struct kestrel_mem_range {
	uint64_t base;
	uint64_t length;
	uint32_t type; /* enum kestrel_mem_type */
	uint32_t reserved;
};

/* A boot module. The first module given to the prekernel is the kernel ELF
 * itself; it stays listed so the kernel can find its own file. */
struct kestrel_module {
	uint64_t base;
	uint64_t length;
	char name[64]; /* NUL-terminated, truncated if longer */
};

enum kestrel_fb_type {
	KESTREL_FB_NONE = 0,
	KESTREL_FB_RGB = 1, /* direct colour, described by the shift/size fields */
	KESTREL_FB_TEXT = 2,/* VGA text mode: width x height characters */
};

struct kestrel_framebuffer {
	uint64_t base; /* physical; may lie above 4 GiB */
	uint32_t pitch; /* bytes per line */
	uint32_t width;
	uint32_t height;
	uint8_t bpp;
	uint8_t type; /* enum kestrel_fb_type */
	uint8_t red_shift, red_size;
	uint8_t green_shift, green_size;
	uint8_t blue_shift, blue_size;
	uint8_t reserved[4]; /* explicit tail padding: same size on i386 */
};

#define KESTREL_BOOT_MAX_MEM_RANGES 128
#define KESTREL_BOOT_MAX_MODULES 16
#define KESTREL_BOOT_CMDLINE_MAX 1024

enum kestrel_boot_protocol {
	KESTREL_BOOT_MULTIBOOT1 = 1,
	KESTREL_BOOT_MULTIBOOT2 = 2,
};

#define KESTREL_BOOT_FLAG_UEFI 1u /* firmware was UEFI (Multiboot 2 EFI tags) */

struct kestrel_bootinfo {
	uint64_t magic;   /* KESTREL_BOOTINFO_MAGIC */
	uint32_t version; /* KESTREL_BOOTINFO_VERSION */
	uint32_t size;    /* sizeof(struct kestrel_bootinfo) */
	uint32_t protocol;/* enum kestrel_boot_protocol */
	uint32_t flags;   /* KESTREL_BOOT_FLAG_* */

	/* ACPI root pointer: physical address of the RSDP, 0 if none found. */
	uint64_t acpi_rsdp;

	/* Where the kernel image was loaded: its lowest virtual address maps to
	 * kernel_phys_base, contiguously for kernel_size bytes. */
	uint64_t kernel_phys_base;
	uint64_t kernel_virt_base;
	uint64_t kernel_size;

	/* Size of the direct map the prekernel built (covers all of RAM). */
	uint64_t direct_map_size;

	/* TSC value read when the prekernel was entered (for boot timing). */
	uint64_t tsc_at_entry;

	uint32_t mem_range_count;
	uint32_t module_count;
	struct kestrel_mem_range mem_ranges[KESTREL_BOOT_MAX_MEM_RANGES];
	struct kestrel_module modules[KESTREL_BOOT_MAX_MODULES];
	struct kestrel_framebuffer framebuffer;
	char cmdline[KESTREL_BOOT_CMDLINE_MAX];
};

_Static_assert(sizeof(struct kestrel_mem_range) == 24, "bootinfo layout");
_Static_assert(sizeof(struct kestrel_module) == 80, "bootinfo layout");
_Static_assert(sizeof(struct kestrel_framebuffer) == 32, "bootinfo layout");
_Static_assert(__builtin_offsetof(struct kestrel_bootinfo, mem_ranges) == 80,
	       "bootinfo layout");
_Static_assert(sizeof(struct kestrel_bootinfo) ==
		       80 + 24 * KESTREL_BOOT_MAX_MEM_RANGES + 80 * KESTREL_BOOT_MAX_MODULES +
			       32 + KESTREL_BOOT_CMDLINE_MAX,
	       "bootinfo layout");

#endif
