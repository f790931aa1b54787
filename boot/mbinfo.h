/*
 * Reading the Multiboot 1 and Multiboot 2 information into the boot-info.
 *
 * Pure logic: memory the loader points at is reached only through
 * `read_phys`, which returns a pointer to `len` readable bytes at a physical
 * address or NULL. The prekernel passes the identity; host unit tests pass a
 * fake physical memory. Loader data is checked as it is read (tag sizes,
 * entry sizes, string bounds), and every problem is reported, not trusted.
 */
#ifndef BOOT_MBINFO_H
#define BOOT_MBINFO_H

#include <kestrel/bootinfo.h>
#include <stdint.h>

struct mb_parse {
	struct kestrel_bootinfo *bi;       /* filled in: cmdline, modules, fb, rsdp, flags */
	struct kestrel_mem_range *ranges;  /* firmware memory map (raw) */
	uint32_t range_cap;
	uint32_t range_count;
	/* Multiboot 2 hands over a copy of the RSDP; it is kept here. */
	uint8_t *rsdp_copy;
	uint32_t rsdp_copy_size;
	uint64_t rsdp_copy_phys;           /* physical address of rsdp_copy */
	const void *(*read_phys)(uint64_t addr, uint64_t len);
};

/* Parse the information of a Multiboot 1 (magic 0x2badb002) or 2
 * (0x36d76289) loader at `info`. Returns NULL, or what is wrong. */
const char *mb_parse_info(struct mb_parse *p, uint32_t magic, uint64_t info);

#endif
