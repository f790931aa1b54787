/*
 * Kernel virtual memory: the kernel's page tables.
 *
 * Layout of the kernel half (docs/kernel/memory-layout.md):
 *   0xffff800000000000  direct map of physical memory (RW, NX)
 *   0xffffc00000000000  kernel stacks, each with an unmapped guard page below
 *   0xffffd00000000000  MMIO mappings (uncached, NX)
 *   0xffffffff80000000  the kernel image: .text R+X, .rodata R, .data R+W
 *
 * Every upper-half PDPT exists from vm_init() on and is never freed, so a
 * user address space can share the kernel half by copying PML4 entries
 * 256..511 once. Callers need no lock: vm serializes itself.
 */
#ifndef KERNEL_VM_H
#define KERNEL_VM_H

#include <stddef.h>
#include <stdint.h>

#include "mm.h"

struct kestrel_bootinfo;

#define VM_STACK_BASE 0xffffc00000000000ull
#define VM_MMIO_BASE 0xffffd00000000000ull
#define VM_MMIO_SIZE (1ull << 40)

/* Build the kernel page tables from the boot memory map and switch to them.
 * After this, low (identity) addresses are no longer mapped. */
void vm_init(const struct kestrel_bootinfo *bi);

/* Physical address of the kernel PML4 (for CR3 on secondary CPUs). */
paddr_t vm_kernel_root(void);

/* Map `size` bytes of device memory at `phys` uncached; NULL on failure.
 * Mappings are permanent. */
void *vm_map_mmio(paddr_t phys, size_t size);

/* A kernel stack of `size` bytes (a multiple of the page size, at most
 * 60 KiB), with an unmapped guard page below it so an overflow faults
 * instead of corrupting memory. Returns the lowest address, NULL if out of
 * memory. */
void *vm_alloc_stack(size_t size);
void vm_free_stack(void *base, size_t size);

/* Temporarily identity-map one low page (for starting secondary CPUs). */
void vm_identity_map_low(paddr_t page);
void vm_identity_unmap_low(paddr_t page);

/* Physical address behind a kernel virtual address, 0 if unmapped. */
paddr_t vm_translate(uint64_t virt);

#endif
