/*
 * Memory-map sanitizing: turns the firmware's memory map (unsorted, possibly
 * overlapping, with partial pages) plus the prekernel's own claims (kernel,
 * modules, boot data) into the clean map promised by <kestrel/bootinfo.h>.
 *
 * Pure logic: no allocation, no I/O, 32- and 64-bit safe (no 64-bit
 * division), so it runs in the prekernel and in host unit tests alike.
 */
#ifndef BOOT_MEMMAP_H
#define BOOT_MEMMAP_H

#include <kestrel/bootinfo.h>
#include <stdint.h>

/*
 * Build the sanitized map from `in` (firmware ranges and overlays together).
 * Where ranges overlap, the most restrictive type wins (BAD > NVS > RESERVED
 * > KERNEL > MODULE > BOOTLOADER > ACPI reclaimable > USABLE). Usable memory
 * is shrunk to whole 4 KiB pages; cut-off fragments are left out of the map
 * (a gap means "nothing the kernel may use").
 * Zero-length inputs and unknown types (treated as RESERVED) are tolerated;
 * a range that runs past 2^64 is clipped.
 *
 * `scratch` must hold 2 * in_count entries. Returns 0 on success, -1 if the
 * result does not fit in out_cap entries (out_count then holds what fit).
 */
int memmap_sanitize(const struct kestrel_mem_range *in, uint32_t in_count,
		    uint64_t *scratch, struct kestrel_mem_range *out,
		    uint32_t out_cap, uint32_t *out_count);

/* Type of the byte at `addr` in a sanitized map, 0 if not covered. */
uint32_t memmap_type_at(const struct kestrel_mem_range *map, uint32_t count,
			uint64_t addr);

#endif
