/*
 * Checking a static ELF64 executable before loading it (pure code, shared
 * with the host unit tests in tests/unit/elf).
 *
 * The file is untrusted. elf_check() reads only inside [file, file+size)
 * and accepts a program only if:
 *   - the identification says ELF, 64-bit, little-endian, version 1, and
 *     the header says ET_EXEC (static, not position independent) for
 *     x86_64;
 *   - the program-header table lies inside the file, with entries of the
 *     ELF64 size and at most ELF_MAX_PHDRS of them;
 *   - there is no PT_INTERP, PT_DYNAMIC or PT_TLS (not supported yet);
 *   - every PT_LOAD segment has p_filesz <= p_memsz, its file bytes inside
 *     the file, a power-of-two alignment with p_vaddr == p_offset modulo
 *     it, memory inside user space [KESTREL_USER_MIN, KESTREL_USER_MAX)
 *     without wrap-around, and shares no page with another segment (the
 *     loader gives each segment its own memory object);
 *   - there are 1 .. ELF_MAX_SEGMENTS non-empty PT_LOAD segments and the
 *     entry point lies in an executable one.
 * On success *out describes the segments, sorted by address, with their
 * protections as KESTREL_MAP_* bits.
 */
#ifndef KESTREL_LIBC_ELF_H
#define KESTREL_LIBC_ELF_H

#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_PHDRS 64
#define ELF_MAX_SEGMENTS 16

/* The parts of the ELF64 format we read (System V gABI). */
#define ELF_EI_NIDENT 16
#define ELF_ET_EXEC 2
#define ELF_ET_DYN 3
#define ELF_EM_X86_64 62
#define ELF_PT_LOAD 1
#define ELF_PT_DYNAMIC 2
#define ELF_PT_INTERP 3
#define ELF_PT_TLS 7
#define ELF_PF_X 1
#define ELF_PF_W 2
#define ELF_PF_R 4

struct elf64_ehdr {
	uint8_t e_ident[ELF_EI_NIDENT];
	uint16_t e_type;
	uint16_t e_machine;
	uint32_t e_version;
	uint64_t e_entry;
	uint64_t e_phoff;
	uint64_t e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize;
	uint16_t e_phentsize;
	uint16_t e_phnum;
	uint16_t e_shentsize;
	uint16_t e_shnum;
	uint16_t e_shstrndx;
};

struct elf64_phdr {
	uint32_t p_type;
	uint32_t p_flags;
	uint64_t p_offset;
	uint64_t p_vaddr;
	uint64_t p_paddr;
	uint64_t p_filesz;
	uint64_t p_memsz;
	uint64_t p_align;
};

enum elf_error {
	ELF_OK = 0,
	ELF_ERR_TRUNCATED,  /* shorter than an ELF header */
	ELF_ERR_MAGIC,      /* not \x7fELF */
	ELF_ERR_CLASS,      /* not 64-bit */
	ELF_ERR_ENCODING,   /* not little-endian */
	ELF_ERR_VERSION,    /* not ELF version 1 */
	ELF_ERR_TYPE,       /* not ET_EXEC (ET_DYN: position independent) */
	ELF_ERR_MACHINE,    /* not x86_64 */
	ELF_ERR_PHDRS,      /* program headers: wrong entry size, too many, outside the file */
	ELF_ERR_UNSUPPORTED,/* PT_INTERP, PT_DYNAMIC or PT_TLS */
	ELF_ERR_FILE_RANGE, /* a segment's bytes lie outside the file */
	ELF_ERR_SIZES,      /* p_filesz > p_memsz */
	ELF_ERR_ALIGN,      /* alignment not a power of two, or vaddr/offset not congruent */
	ELF_ERR_ADDRESS,    /* memory outside user space, or wrapping around */
	ELF_ERR_OVERLAP,    /* two segments share a page */
	ELF_ERR_SEGMENTS,   /* no loadable segment, or too many */
	ELF_ERR_ENTRY,      /* the entry point is not in an executable segment */
	ELF_ERR_COUNT
};

struct elf_segment {
	uint64_t vaddr, memsz;  /* memory: [vaddr, vaddr + memsz) */
	uint64_t offset, filesz;/* file bytes copied to vaddr; the rest is zero */
	uint32_t prot;          /* KESTREL_MAP_READ | WRITE | EXECUTE */
};

struct elf_image {
	uint64_t entry;
	uint32_t segment_count;
	struct elf_segment segments[ELF_MAX_SEGMENTS];
};

/* ELF_OK and *out filled, or an ELF_ERR_* code. */
int elf_check(const void *file, size_t size, struct elf_image *out);
const char *elf_strerror(int err);

#endif
