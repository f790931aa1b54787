/*
 * ELF64 checks (see elf.h). Every offset and size comes from the file, so
 * each sum is checked for overflow before it is compared with a bound, and
 * headers are copied out with memcpy (the file may be misaligned).
 */
#include "elf.h"

#include <kestrel/memory.h>
#include <string.h>

#define PAGE_MASK ((uint64_t)KESTREL_PAGE_SIZE - 1)

static const char *const messages[ELF_ERR_COUNT] = {
	[ELF_OK] = "ok",
	[ELF_ERR_TRUNCATED] = "shorter than an ELF header",
	[ELF_ERR_MAGIC] = "not an ELF file",
	[ELF_ERR_CLASS] = "not a 64-bit ELF file",
	[ELF_ERR_ENCODING] = "not little-endian",
	[ELF_ERR_VERSION] = "unknown ELF version",
	[ELF_ERR_TYPE] = "not a static executable (ET_EXEC)",
	[ELF_ERR_MACHINE] = "not an x86_64 program",
	[ELF_ERR_PHDRS] = "malformed program-header table",
	[ELF_ERR_UNSUPPORTED] = "dynamic linking or TLS (not supported yet)",
	[ELF_ERR_FILE_RANGE] = "a segment lies outside the file",
	[ELF_ERR_SIZES] = "a segment's file size exceeds its memory size",
	[ELF_ERR_ALIGN] = "a segment's alignment is invalid",
	[ELF_ERR_ADDRESS] = "a segment lies outside user space",
	[ELF_ERR_OVERLAP] = "two segments share a page",
	[ELF_ERR_SEGMENTS] = "no loadable segment, or too many",
	[ELF_ERR_ENTRY] = "the entry point is not in an executable segment",
};

const char *elf_strerror(int err)
{
	if (err < 0 || err >= ELF_ERR_COUNT)
		return "unknown ELF error";
	return messages[err];
}

static int check_header(const uint8_t *file, size_t size, struct elf64_ehdr *eh)
{
	if (size < sizeof(*eh))
		return ELF_ERR_TRUNCATED;
	memcpy(eh, file, sizeof(*eh));
	if (memcmp(eh->e_ident, "\x7f" "ELF", 4) != 0)
		return ELF_ERR_MAGIC;
	if (eh->e_ident[4] != 2) /* ELFCLASS64 */
		return ELF_ERR_CLASS;
	if (eh->e_ident[5] != 1) /* ELFDATA2LSB */
		return ELF_ERR_ENCODING;
	if (eh->e_ident[6] != 1 || eh->e_version != 1)
		return ELF_ERR_VERSION;
	if (eh->e_type != ELF_ET_EXEC)
		return ELF_ERR_TYPE;
	if (eh->e_machine != ELF_EM_X86_64)
		return ELF_ERR_MACHINE;
	if (eh->e_phentsize != sizeof(struct elf64_phdr) || eh->e_phnum == 0 ||
	    eh->e_phnum > ELF_MAX_PHDRS)
		return ELF_ERR_PHDRS;
	uint64_t table = (uint64_t)eh->e_phnum * sizeof(struct elf64_phdr);
	if (eh->e_phoff > size || table > size - eh->e_phoff)
		return ELF_ERR_PHDRS;
	return ELF_OK;
}

static int check_segment(const struct elf64_phdr *ph, size_t size, struct elf_segment *seg)
{
	if (ph->p_filesz > ph->p_memsz)
		return ELF_ERR_SIZES;
	if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
		return ELF_ERR_FILE_RANGE;
	if (ph->p_align > 1) {
		if (ph->p_align & (ph->p_align - 1))
			return ELF_ERR_ALIGN;
		if ((ph->p_vaddr ^ ph->p_offset) & (ph->p_align - 1))
			return ELF_ERR_ALIGN;
	}
	if (ph->p_vaddr < KESTREL_USER_MIN || ph->p_vaddr >= KESTREL_USER_MAX ||
	    ph->p_memsz > KESTREL_USER_MAX - ph->p_vaddr)
		return ELF_ERR_ADDRESS;
	seg->vaddr = ph->p_vaddr;
	seg->memsz = ph->p_memsz;
	seg->offset = ph->p_offset;
	seg->filesz = ph->p_filesz;
	seg->prot = 0;
	if (ph->p_flags & ELF_PF_R)
		seg->prot |= KESTREL_MAP_READ;
	if (ph->p_flags & ELF_PF_W)
		seg->prot |= KESTREL_MAP_WRITE;
	if (ph->p_flags & ELF_PF_X)
		seg->prot |= KESTREL_MAP_EXECUTE;
	return ELF_OK;
}

/* Insert keeping the array sorted by address; ELF_ERR_OVERLAP if the new
 * segment's pages meet a neighbour's. */
static int insert_sorted(struct elf_image *img, const struct elf_segment *seg)
{
	uint64_t first = seg->vaddr & ~PAGE_MASK;
	uint64_t end = (seg->vaddr + seg->memsz + PAGE_MASK) & ~PAGE_MASK; /* <= USER_MAX */
	uint32_t i = img->segment_count;
	while (i > 0 && img->segments[i - 1].vaddr > seg->vaddr)
		i--;
	if (i > 0) {
		const struct elf_segment *prev = &img->segments[i - 1];
		uint64_t prev_end = (prev->vaddr + prev->memsz + PAGE_MASK) & ~PAGE_MASK;
		if (prev_end > first)
			return ELF_ERR_OVERLAP;
	}
	if (i < img->segment_count) {
		const struct elf_segment *next = &img->segments[i];
		if ((next->vaddr & ~PAGE_MASK) < end)
			return ELF_ERR_OVERLAP;
	}
	memmove(&img->segments[i + 1], &img->segments[i],
		(img->segment_count - i) * sizeof(img->segments[0]));
	img->segments[i] = *seg;
	img->segment_count++;
	return ELF_OK;
}

int elf_check(const void *file, size_t size, struct elf_image *out)
{
	const uint8_t *bytes = file;
	struct elf64_ehdr eh;
	int err = check_header(bytes, size, &eh);
	if (err)
		return err;

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < eh.e_phnum; i++) {
		struct elf64_phdr ph;
		memcpy(&ph, bytes + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type == ELF_PT_INTERP || ph.p_type == ELF_PT_DYNAMIC ||
		    ph.p_type == ELF_PT_TLS)
			return ELF_ERR_UNSUPPORTED;
		if (ph.p_type != ELF_PT_LOAD)
			continue;
		struct elf_segment seg;
		err = check_segment(&ph, size, &seg);
		if (err)
			return err;
		if (seg.memsz == 0)
			continue;
		if (out->segment_count == ELF_MAX_SEGMENTS)
			return ELF_ERR_SEGMENTS;
		err = insert_sorted(out, &seg);
		if (err)
			return err;
	}
	if (out->segment_count == 0)
		return ELF_ERR_SEGMENTS;

	for (uint32_t i = 0; i < out->segment_count; i++) {
		const struct elf_segment *s = &out->segments[i];
		if ((s->prot & KESTREL_MAP_EXECUTE) && eh.e_entry >= s->vaddr &&
		    eh.e_entry - s->vaddr < s->memsz) {
			out->entry = eh.e_entry;
			return ELF_OK;
		}
	}
	return ELF_ERR_ENTRY;
}
