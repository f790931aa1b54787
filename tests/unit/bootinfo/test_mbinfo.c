/*
 * The prekernel's Multiboot parser on hand-made loader structures in a fake
 * physical memory, well-formed and malformed.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../../../boot/mbinfo.h"
#include "../../../boot/multiboot.h"
#include "unit.h"

#define PHYS_SIZE (2u << 20)
static uint8_t *phys;

static const void *read_phys(uint64_t addr, uint64_t len)
{
	if (addr >= PHYS_SIZE || len > PHYS_SIZE - addr)
		return NULL;
	return phys + addr;
}

static struct kestrel_bootinfo bi;
static struct kestrel_mem_range ranges[64];
static uint8_t rsdp_copy[64];
static struct mb_parse parse;

static void reset(void)
{
	if (!phys)
		phys = malloc(PHYS_SIZE);
	memset(phys, 0, PHYS_SIZE);
	memset(&bi, 0, sizeof(bi));
	memset(rsdp_copy, 0, sizeof(rsdp_copy));
	parse = (struct mb_parse){.bi = &bi,
				  .ranges = ranges,
				  .range_cap = 64,
				  .rsdp_copy = rsdp_copy,
				  .rsdp_copy_size = sizeof(rsdp_copy),
				  .rsdp_copy_phys = 0x12340000,
				  .read_phys = read_phys};
}

static void put_rsdp(uint8_t *at)
{
	memcpy(at, "RSD PTR ", 8);
	memcpy(at + 9, "KESTRL", 6);
	at[15] = 0; /* revision 0 */
	uint8_t sum = 0;
	for (int i = 0; i < 20; i++)
		sum += at[i];
	at[8] = (uint8_t)-sum;
}

/* ---- Multiboot 1 ---- */

#define MB1_INFO 0x1000
#define MB1_MMAP 0x2000
#define MB1_CMDLINE 0x3000
#define MB1_MODS 0x4000

static struct mb1_info *mb1_setup(void)
{
	reset();
	struct mb1_info *mbi = (void *)(phys + MB1_INFO);
	mbi->flags = MB1_INFO_MMAP | MB1_INFO_CMDLINE | MB1_INFO_MODS;
	struct mb1_mmap_entry e[2] = {
		{20, 0, 0x9fc00, 1},
		{20, 0x100000, 0x7f00000, 1},
	};
	memcpy(phys + MB1_MMAP, e, sizeof(e));
	mbi->mmap_addr = MB1_MMAP;
	mbi->mmap_length = sizeof(e);
	strcpy((char *)phys + MB1_CMDLINE, "build/boot.elf log=debug");
	mbi->cmdline = MB1_CMDLINE;
	struct mb1_module mods[2] = {
		{0x200000, 0x280000, MB1_CMDLINE + 0x100, 0},
		{0x280000, 0x281000, 0, 0},
	};
	strcpy((char *)phys + MB1_CMDLINE + 0x100, "build/kernel.elf");
	memcpy(phys + MB1_MODS, mods, sizeof(mods));
	mbi->mods_addr = MB1_MODS;
	mbi->mods_count = 2;
	return mbi;
}

TEST(mb1_wellformed)
{
	mb1_setup();
	put_rsdp(phys + 0xe0010);
	CHECK(mb_parse_info(&parse, MB1_BOOT_MAGIC, MB1_INFO) == NULL);
	CHECK_EQ(bi.protocol, KESTREL_BOOT_MULTIBOOT1);
	CHECK_EQ(parse.range_count, 2);
	CHECK_EQ(ranges[1].base, 0x100000);
	CHECK_EQ(ranges[1].type, KESTREL_MEM_USABLE);
	CHECK(strcmp(bi.cmdline, "build/boot.elf log=debug") == 0);
	CHECK_EQ(bi.module_count, 2);
	CHECK_EQ(bi.modules[0].base, 0x200000);
	CHECK_EQ(bi.modules[0].length, 0x80000);
	CHECK(strcmp(bi.modules[0].name, "build/kernel.elf") == 0);
	CHECK(bi.modules[1].name[0] == 0);
	CHECK_EQ(bi.acpi_rsdp, 0xe0010);
}

TEST(mb1_rsdp_in_ebda_and_bad_checksum_ignored)
{
	mb1_setup();
	*(uint16_t *)(phys + 0x40e) = 0x9fc0; /* EBDA at 0x9fc00 */
	put_rsdp(phys + 0x9fc20);
	put_rsdp(phys + 0xe0000);
	phys[0x9fc20 + 8] ^= 1; /* break the EBDA copy */
	CHECK(mb_parse_info(&parse, MB1_BOOT_MAGIC, MB1_INFO) == NULL);
	CHECK_EQ(bi.acpi_rsdp, 0xe0000);
	phys[0x9fc20 + 8] ^= 1;
	memset(&bi, 0, sizeof(bi));
	parse.range_count = 0;
	CHECK(mb_parse_info(&parse, MB1_BOOT_MAGIC, MB1_INFO) == NULL);
	CHECK_EQ(bi.acpi_rsdp, 0x9fc20);
}

TEST(mb1_firmware_types)
{
	struct mb1_info *mbi = mb1_setup();
	struct mb1_mmap_entry e[5] = {
		{20, 0, 0x1000, 1}, {20, 0x1000, 0x1000, 2}, {20, 0x2000, 0x1000, 3},
		{20, 0x3000, 0x1000, 4}, {20, 0x4000, 0x1000, 77},
	};
	memcpy(phys + MB1_MMAP, e, sizeof(e));
	mbi->mmap_length = sizeof(e);
	CHECK(mb_parse_info(&parse, MB1_BOOT_MAGIC, MB1_INFO) == NULL);
	CHECK_EQ(ranges[0].type, KESTREL_MEM_USABLE);
	CHECK_EQ(ranges[1].type, KESTREL_MEM_RESERVED);
	CHECK_EQ(ranges[2].type, KESTREL_MEM_ACPI_RECLAIMABLE);
	CHECK_EQ(ranges[3].type, KESTREL_MEM_ACPI_NVS);
	CHECK_EQ(ranges[4].type, KESTREL_MEM_RESERVED);
}

TEST(mb1_malformed)
{
	struct mb1_info *mbi = mb1_setup();
	mbi->flags &= ~MB1_INFO_MMAP;
	CHECK(mb_parse_info(&parse, MB1_BOOT_MAGIC, MB1_INFO) != NULL);

	mbi = mb1_setup();
	((struct mb1_mmap_entry *)(phys + MB1_MMAP))->size = 4;
	CHECK(mb_parse_info(&parse, MB1_BOOT_MAGIC, MB1_INFO) != NULL);

	mbi = mb1_setup();
	((struct mb1_mmap_entry *)(phys + MB1_MMAP))->size = 0xfffffff0u;
	CHECK(mb_parse_info(&parse, MB1_BOOT_MAGIC, MB1_INFO) != NULL);

	mbi = mb1_setup();
	mbi->mods_addr = PHYS_SIZE - 8; /* list runs off the end of memory */
	CHECK(mb_parse_info(&parse, MB1_BOOT_MAGIC, MB1_INFO) != NULL);

	mbi = mb1_setup();
	((struct mb1_module *)(phys + MB1_MODS))->end = 0x100000; /* before start */
	CHECK(mb_parse_info(&parse, MB1_BOOT_MAGIC, MB1_INFO) != NULL);

	mbi = mb1_setup();
	mbi->mods_count = KESTREL_BOOT_MAX_MODULES + 1;
	for (uint32_t i = 0; i < mbi->mods_count; i++)
		((struct mb1_module *)(phys + MB1_MODS))[i] = (struct mb1_module){0x200000, 0x200001, 0, 0};
	CHECK(mb_parse_info(&parse, MB1_BOOT_MAGIC, MB1_INFO) != NULL);

	mb1_setup();
	CHECK(mb_parse_info(&parse, MB1_BOOT_MAGIC, PHYS_SIZE - 4) != NULL);
	CHECK(mb_parse_info(&parse, 0x12345678, MB1_INFO) != NULL);
}

TEST(mb1_overlong_cmdline_truncated)
{
	struct mb1_info *mbi = mb1_setup();
	memset(phys + 0x10000, 'a', 5000);
	phys[0x10000 + 5000] = 0;
	mbi->cmdline = 0x10000;
	CHECK(mb_parse_info(&parse, MB1_BOOT_MAGIC, MB1_INFO) == NULL);
	CHECK_EQ(strlen(bi.cmdline), KESTREL_BOOT_CMDLINE_MAX - 1);
}

/* ---- Multiboot 2 ---- */

#define MB2_INFO 0x8000

static uint32_t mb2_off;

static void *mb2_tag(uint32_t type, uint32_t size)
{
	uint8_t *t = phys + MB2_INFO + mb2_off;
	((struct mb2_tag *)t)->type = type;
	((struct mb2_tag *)t)->size = size;
	mb2_off += (size + 7) & ~7u;
	return t;
}

static void mb2_finish(void)
{
	mb2_tag(MB2_TAG_END, 8);
	((struct mb2_info *)(phys + MB2_INFO))->total_size = mb2_off;
}

static void mb2_setup(bool with_end)
{
	reset();
	mb2_off = sizeof(struct mb2_info);
	char *cl = mb2_tag(MB2_TAG_CMDLINE, 8 + 10);
	memcpy(cl + 8, "test=boot", 10); /* the size covers the NUL */
	struct mb2_tag_mmap *mm = mb2_tag(MB2_TAG_MMAP, sizeof(*mm) + 2 * 24);
	mm->entry_size = 24;
	struct mb2_mmap_entry *e = (void *)(mm + 1);
	e[0] = (struct mb2_mmap_entry){0, 0xa0000, 1, 0};
	e[1] = (struct mb2_mmap_entry){0x100000000ull, 0x40000000, 1, 0};
	struct mb2_tag_module *m = mb2_tag(MB2_TAG_MODULE, sizeof(*m) + 7);
	m->mod_start = 0x300000;
	m->mod_end = 0x340000;
	memcpy(m->string, "kernel", 7);
	struct mb2_tag_framebuffer *fb = mb2_tag(MB2_TAG_FRAMEBUFFER, 38);
	fb->addr = 0x800000000ull; /* above 4 GiB */
	fb->pitch = 4096;
	fb->width = 1024;
	fb->height = 768;
	fb->bpp = 32;
	fb->fb_type = 1;
	fb->red_shift = 16;
	fb->red_size = 8;
	fb->green_shift = 8;
	fb->green_size = 8;
	fb->blue_size = 8;
	uint8_t *acpi = mb2_tag(MB2_TAG_ACPI_OLD, 8 + 20);
	put_rsdp(acpi + 8);
	mb2_tag(MB2_TAG_EFI64, 16);
	if (with_end)
		mb2_finish();
}

TEST(mb2_wellformed)
{
	mb2_setup(true);
	CHECK(mb_parse_info(&parse, MB2_BOOT_MAGIC, MB2_INFO) == NULL);
	CHECK_EQ(bi.protocol, KESTREL_BOOT_MULTIBOOT2);
	CHECK(bi.flags & KESTREL_BOOT_FLAG_UEFI);
	CHECK(strcmp(bi.cmdline, "test=boot") == 0);
	CHECK_EQ(parse.range_count, 2);
	CHECK_EQ(ranges[1].base, 0x100000000ull);
	CHECK_EQ(bi.module_count, 1);
	CHECK_EQ(bi.modules[0].base, 0x300000);
	CHECK(strcmp(bi.modules[0].name, "kernel") == 0);
	CHECK_EQ(bi.framebuffer.base, 0x800000000ull);
	CHECK_EQ(bi.framebuffer.type, KESTREL_FB_RGB);
	CHECK_EQ(bi.framebuffer.width, 1024);
	CHECK_EQ(bi.framebuffer.red_shift, 16);
	CHECK_EQ(bi.acpi_rsdp, 0x12340000); /* our copy */
	CHECK(memcmp(rsdp_copy, "RSD PTR ", 8) == 0);
}

TEST(mb2_malformed)
{
	mb2_setup(false); /* no end tag */
	((struct mb2_info *)(phys + MB2_INFO))->total_size = mb2_off;
	CHECK(mb_parse_info(&parse, MB2_BOOT_MAGIC, MB2_INFO) != NULL);

	mb2_setup(true);
	/* First tag claims more bytes than the information holds. */
	((struct mb2_tag *)(phys + MB2_INFO + 8))->size = 0x100000;
	CHECK(mb_parse_info(&parse, MB2_BOOT_MAGIC, MB2_INFO) != NULL);

	mb2_setup(true);
	((struct mb2_tag *)(phys + MB2_INFO + 8))->size = 4; /* smaller than a header */
	CHECK(mb_parse_info(&parse, MB2_BOOT_MAGIC, MB2_INFO) != NULL);

	mb2_setup(true);
	((struct mb2_info *)(phys + MB2_INFO))->total_size = 8;
	CHECK(mb_parse_info(&parse, MB2_BOOT_MAGIC, MB2_INFO) != NULL);

	reset();
	mb2_off = sizeof(struct mb2_info);
	struct mb2_tag_mmap *mm = mb2_tag(MB2_TAG_MMAP, sizeof(*mm) + 24);
	mm->entry_size = 3; /* impossible entry size */
	mb2_finish();
	CHECK(mb_parse_info(&parse, MB2_BOOT_MAGIC, MB2_INFO) != NULL);

	reset();
	mb2_off = sizeof(struct mb2_info);
	mb2_tag(MB2_TAG_CMDLINE, 12);
	mb2_finish();
	CHECK(mb_parse_info(&parse, MB2_BOOT_MAGIC, MB2_INFO) != NULL); /* no memory map */
}

TEST(mb2_cmdline_without_nul_is_bounded)
{
	reset();
	mb2_off = sizeof(struct mb2_info);
	char *cl = mb2_tag(MB2_TAG_CMDLINE, 8 + 5);
	memcpy(cl + 8, "abcde", 5); /* no NUL inside the tag */
	memset(cl + 13, 'X', 3);    /* padding garbage after it */
	struct mb2_tag_mmap *mm = mb2_tag(MB2_TAG_MMAP, sizeof(*mm) + 24);
	mm->entry_size = 24;
	mb2_finish();
	CHECK(mb_parse_info(&parse, MB2_BOOT_MAGIC, MB2_INFO) == NULL);
	CHECK(strcmp(bi.cmdline, "abcde") == 0);
}

TEST(mb2_broken_rsdp_copy_ignored)
{
	mb2_setup(false);
	uint8_t *acpi = mb2_tag(MB2_TAG_ACPI_NEW, 8 + 36);
	put_rsdp(acpi + 8);
	acpi[8 + 8] ^= 0x55; /* bad checksum: the v1 copy stays */
	mb2_finish();
	CHECK(mb_parse_info(&parse, MB2_BOOT_MAGIC, MB2_INFO) == NULL);
	CHECK_EQ(bi.acpi_rsdp, 0x12340000);
}
