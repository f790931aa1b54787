/*
 * The ELF64 validator shared by the prekernel (kernel image) and the
 * kernel (the first user program), on hand-built executables: good ones,
 * and each way a hostile file can lie.
 */
#include <stdlib.h>
#include <string.h>

#include "../../../boot/elf64.h"
#include "unit.h"

#define USER_MIN 0x10000ull
#define USER_MAX 0x7ffffffff000ull

static const struct elf64_limits user = {USER_MIN, USER_MAX, 1ull << 30};

static uint8_t file[16384];
static struct elf64_ehdr *eh = (struct elf64_ehdr *)file;

static struct elf64_phdr *ph(int i)
{
	return (struct elf64_phdr *)(file + sizeof(struct elf64_ehdr) + i * sizeof(struct elf64_phdr));
}

/* Two segments: text (R X) at 0x400000, data (R W) at 0x402000. */
static void build(uint64_t text_vaddr)
{
	memset(file, 0, sizeof(file));
	memcpy(eh->ident, "\x7f" "ELF", 4);
	eh->ident[4] = 2;
	eh->ident[5] = 1;
	eh->type = 2;
	eh->machine = 62;
	eh->version = 1;
	eh->entry = text_vaddr + 0x10;
	eh->phoff = sizeof(struct elf64_ehdr);
	eh->phentsize = sizeof(struct elf64_phdr);
	eh->phnum = 2;
	*ph(0) = (struct elf64_phdr){ELF_PT_LOAD, ELF_PF_R | ELF_PF_X, 0x1000, text_vaddr, 0, 0x800,
				     0x800, 0x1000};
	*ph(1) = (struct elf64_phdr){ELF_PT_LOAD, ELF_PF_R | ELF_PF_W, 0x2000, text_vaddr + 0x2000, 0,
				     0x100, 0x3000, 0x1000};
}

TEST(good_user_program)
{
	build(0x400000);
	struct kernel_image_plan plan;
	CHECK(elf64_check(file, sizeof(file), &user, &plan) == 0);
	CHECK_EQ(plan.entry, 0x400010);
	CHECK_EQ(plan.virt_base, 0x400000);
	CHECK_EQ(plan.virt_end, 0x405000);
	CHECK_EQ(plan.load_count, 2);
}

TEST(good_kernel_image)
{
	build(0xffffffff80000000ull);
	struct kernel_image_plan plan;
	CHECK(elf64_check_kernel(file, sizeof(file), &plan) == 0);
	/* The same file is no user program, and vice versa. */
	CHECK(elf64_check(file, sizeof(file), &user, &plan) != 0);
	build(0x400000);
	CHECK(elf64_check_kernel(file, sizeof(file), &plan) != 0);
}

#define BAD(what)                                                                  \
	do {                                                                       \
		struct kernel_image_plan plan;                                     \
		CHECK(elf64_check(file, sizeof(file), &user, &plan) != 0);         \
		(void)(what);                                                      \
	} while (0)

TEST(hostile_headers)
{
	struct kernel_image_plan plan;
	build(0x400000);
	CHECK(elf64_check(file, 10, &user, &plan) != 0); /* truncated header */
	build(0x400000);
	file[1] = 'X';
	BAD("magic");
	build(0x400000);
	eh->ident[4] = 1;
	BAD("32-bit");
	build(0x400000);
	eh->type = 3;
	BAD("ET_DYN");
	build(0x400000);
	eh->machine = 183;
	BAD("aarch64");
	build(0x400000);
	eh->phentsize = 40;
	BAD("phentsize");
	build(0x400000);
	eh->phnum = 0;
	BAD("no phdrs");
	build(0x400000);
	eh->phnum = 1000;
	BAD("too many phdrs");
	build(0x400000);
	eh->phoff = sizeof(file) - 8;
	BAD("phdrs past the end");
	build(0x400000);
	eh->phoff = ~0ull - 16;
	BAD("phoff wraps");
}

TEST(hostile_segments)
{
	build(0x400000);
	ph(1)->filesz = ph(1)->memsz + 1;
	BAD("filesz > memsz");
	build(0x400000);
	ph(1)->offset = sizeof(file) - 0x10;
	BAD("bytes past the end");
	build(0x400000);
	ph(1)->offset = ~0ull - 0x10;
	BAD("offset wraps");
	build(0x400000);
	ph(0)->vaddr = 0x1000;
	eh->entry = 0x1010;
	BAD("below the user range (null page)");
	build(0x400000);
	ph(1)->vaddr = USER_MAX - 0x1000;
	BAD("above the user range");
	build(0x400000);
	ph(1)->vaddr = ~0ull - 0x100;
	BAD("vaddr wraps");
	build(0x400000);
	ph(1)->vaddr = 0x400400;
	BAD("overlapping segments (same page)");
	build(0x400000);
	eh->entry = 0x402010;
	BAD("entry in a data segment");
	build(0x400000);
	eh->entry = 0x300000;
	BAD("entry outside every segment");
	build(0x400000);
	ph(1)->memsz = 2ull << 30;
	BAD("image larger than allowed");
	build(0x400000);
	ph(0)->type = 0;
	ph(1)->type = 0;
	BAD("no loadable segments");
}

TEST(every_truncation_is_safe)
{
	build(0x400000);
	struct kernel_image_plan plan;
	for (uint64_t n = 0; n < 0x2100; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, file, n);
		const char *why = elf64_check(copy, n, &user, &plan);
		free(copy);
		/* Only a file that holds every segment's bytes may pass. */
		if (n < 0x2100)
			CHECK(why != 0);
	}
}
