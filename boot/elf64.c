/*
 * Kernel ELF validation (see elf64.h). Every field read from the file is
 * bounds-checked against the file size before it is used as an offset.
 */
#include "elf64.h"

#define PAGE_MASK 0xfffull

static const struct elf64_phdr *phdr_at(const void *file, const struct elf64_ehdr *eh,
					uint32_t i)
{
	return (const struct elf64_phdr *)((const uint8_t *)file + (uintptr_t)eh->phoff +
					   i * sizeof(struct elf64_phdr));
}

const char *elf64_check(const void *file, uint64_t size, const struct elf64_limits *limits,
			struct kernel_image_plan *plan)
{
	const struct elf64_ehdr *eh = file;

	if (size < sizeof(*eh))
		return "file smaller than an ELF header";
	if (eh->ident[0] != 0x7f || eh->ident[1] != 'E' || eh->ident[2] != 'L' ||
	    eh->ident[3] != 'F')
		return "not an ELF file";
	if (eh->ident[4] != 2 || eh->ident[5] != 1)
		return "not a little-endian 64-bit ELF";
	if (eh->type != 2)
		return "not an executable (ET_EXEC)";
	if (eh->machine != 62)
		return "not an x86_64 ELF";
	if (eh->phentsize != sizeof(struct elf64_phdr))
		return "unexpected program header size";
	if (eh->phnum == 0 || eh->phnum > 64)
		return "bad program header count";
	if (eh->phoff > size || size - eh->phoff < (uint64_t)eh->phnum * sizeof(struct elf64_phdr))
		return "program headers outside the file";

	plan->virt_base = ~0ull;
	plan->virt_end = 0;
	plan->load_count = 0;
	plan->entry = eh->entry;
	int entry_ok = 0;

	for (uint32_t i = 0; i < eh->phnum; i++) {
		const struct elf64_phdr *ph = phdr_at(file, eh, i);
		if (ph->type != ELF_PT_LOAD || ph->memsz == 0)
			continue;
		if (ph->filesz > ph->memsz)
			return "segment file size exceeds memory size";
		if (ph->offset > size || size - ph->offset < ph->filesz)
			return "segment bytes outside the file";
		if (ph->vaddr < limits->virt_min)
			return "segment below the allowed address range";
		uint64_t end = ph->vaddr + ph->memsz;
		if (end < ph->vaddr)
			return "segment wraps around the address space";
		if (limits->virt_max && end > limits->virt_max)
			return "segment above the allowed address range";
		/* Segments must be disjoint, by page, so they can be mapped
		 * with their own permissions. */
		uint64_t pbase = ph->vaddr & ~PAGE_MASK;
		uint64_t pend = end == 0 ? 0 : ((end + PAGE_MASK) & ~PAGE_MASK);
		if (pend == 0 && end != 0)
			return "segment wraps around the address space";
		for (uint32_t j = 0; j < i; j++) {
			const struct elf64_phdr *o = phdr_at(file, eh, j);
			if (o->type != ELF_PT_LOAD || o->memsz == 0)
				continue;
			uint64_t obase = o->vaddr & ~PAGE_MASK;
			uint64_t oend = (o->vaddr + o->memsz + PAGE_MASK) & ~PAGE_MASK;
			if (pbase < oend && obase < pend)
				return "segments overlap";
		}
		if (pbase < plan->virt_base)
			plan->virt_base = pbase;
		if (pend > plan->virt_end)
			plan->virt_end = pend;
		if ((ph->flags & ELF_PF_X) && eh->entry >= ph->vaddr && eh->entry < end)
			entry_ok = 1;
		plan->load_count++;
	}
	if (plan->load_count == 0)
		return "no loadable segments";
	if (plan->virt_end - plan->virt_base > limits->max_image)
		return "image larger than the loader allows";
	if (!entry_ok)
		return "entry point outside executable segments";
	return 0;
}

const char *elf64_check_kernel(const void *file, uint64_t size, struct kernel_image_plan *plan)
{
	static const struct elf64_limits kernel_limits = {KERNEL_VIRT_MIN, 0, KERNEL_MAX_IMAGE};
	return elf64_check(file, size, &kernel_limits, plan);
}
