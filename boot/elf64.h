/*
 * Validation of static ELF64 executables: the kernel image, as the
 * prekernel loads it, and the first user program, as the kernel loads it.
 *
 * The file is untrusted: the loader trusts nothing in it. Pure logic (no
 * I/O), 32-bit safe, shared by the prekernel, the kernel and host unit
 * tests.
 */
#ifndef BOOT_ELF64_H
#define BOOT_ELF64_H

#include <stddef.h>
#include <stdint.h>

struct elf64_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

#define ELF_PT_LOAD 1
#define ELF_PF_X 1
#define ELF_PF_W 2
#define ELF_PF_R 4

/* The kernel must live in the top 2 GiB (it is built -mcmodel=kernel). */
#define KERNEL_VIRT_MIN 0xffffffff80000000ull
/* Upper bound on the loaded image, so a hostile file cannot ask for more
 * memory than any machine we boot on has. */
#define KERNEL_MAX_IMAGE (256ull << 20)

struct kernel_image_plan {
	uint64_t virt_base; /* page-aligned lowest PT_LOAD address */
	uint64_t virt_end;  /* page-aligned end of the highest PT_LOAD */
	uint64_t entry;
	uint32_t load_count;
};

/* Where an image may be placed. */
struct elf64_limits {
	uint64_t virt_min;  /* lowest address of any segment */
	uint64_t virt_max;  /* every segment ends at or below this */
	uint64_t max_image; /* largest span from lowest to highest page */
};

/*
 * Check that `file` (size bytes) is an x86_64 ELF executable that can be
 * loaded within `limits`: header and program headers inside the file,
 * every PT_LOAD with filesz <= memsz, file bytes inside the file, addresses
 * inside the limits without wrap-around, segments not overlapping (by
 * page), and the entry point inside an executable segment. Returns NULL and
 * fills `plan`, or a static string naming the problem.
 */
const char *elf64_check(const void *file, uint64_t size, const struct elf64_limits *limits,
			struct kernel_image_plan *plan);

/*
 * The same for the kernel image: the top 2 GiB, at most KERNEL_MAX_IMAGE:
 * the prekernel can load it if it is an x86_64 ELF executable with header and program headers inside the file, every PT_LOAD with
 * filesz <= memsz, file bytes inside the file, addresses in the kernel range
 * without wrap-around, segments not overlapping, total span at most
 * KERNEL_MAX_IMAGE, and the entry point inside an executable segment.
 */
const char *elf64_check_kernel(const void *file, uint64_t size,
			       struct kernel_image_plan *plan);

#endif
