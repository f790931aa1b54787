/* Multiboot information parsing (see mbinfo.h). */
#include "mbinfo.h"

#include "multiboot.h"

static const void *rd(struct mb_parse *p, uint64_t addr, uint64_t len)
{
	if (addr + len < addr)
		return 0;
	return p->read_phys(addr, len);
}

static void copy_bytes(void *dst, const void *src, uint32_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--)
		*d++ = *s++;
}

/* Copy a NUL-terminated string of at most `avail` bytes at `addr` (the
 * bound is what the loader structure guarantees, or a sane maximum),
 * truncating to `cap`. Returns 0 if unreadable. */
static int copy_string_phys(struct mb_parse *p, char *dst, uint32_t cap, uint64_t addr,
			    uint32_t avail)
{
	uint32_t i = 0;
	if (cap == 0)
		return 1;
	if (addr == 0) {
		dst[0] = 0;
		return 1;
	}
	for (; i + 1 < cap && i < avail; i++) {
		const char *c = rd(p, addr + i, 1);
		if (!c)
			return 0;
		if (!*c)
			break;
		dst[i] = *c;
	}
	dst[i] = 0;
	return 1;
}

static const char *add_range(struct mb_parse *p, uint64_t base, uint64_t length, uint32_t type)
{
	if (p->range_count >= p->range_cap)
		return "memory map: too many entries";
	struct kestrel_mem_range *r = &p->ranges[p->range_count++];
	r->base = base;
	r->length = length;
	r->reserved = 0;
	switch (type) { /* E820 numbering, shared by both Multiboot versions */
	case 1: r->type = KESTREL_MEM_USABLE; break;
	case 3: r->type = KESTREL_MEM_ACPI_RECLAIMABLE; break;
	case 4: r->type = KESTREL_MEM_ACPI_NVS; break;
	case 5: r->type = KESTREL_MEM_BAD; break;
	default: r->type = KESTREL_MEM_RESERVED; break;
	}
	return 0;
}

static const char *add_module(struct mb_parse *p, uint64_t start, uint64_t end,
			      uint64_t name_addr, uint32_t name_avail)
{
	struct kestrel_bootinfo *bi = p->bi;
	if (end < start)
		return "boot module ends before it starts";
	if (bi->module_count >= KESTREL_BOOT_MAX_MODULES)
		return "too many boot modules";
	struct kestrel_module *m = &bi->modules[bi->module_count++];
	m->base = start;
	m->length = end - start;
	if (!copy_string_phys(p, m->name, sizeof(m->name), name_addr, name_avail))
		return "boot module name unreadable";
	return 0;
}

static uint8_t fb_type(uint8_t t)
{
	return t == 1 ? KESTREL_FB_RGB : t == 2 ? KESTREL_FB_TEXT : KESTREL_FB_NONE;
}

static int rsdp_valid(const uint8_t *s)
{
	static const char sig[8] = {'R', 'S', 'D', ' ', 'P', 'T', 'R', ' '};
	uint8_t sum = 0;
	for (int i = 0; i < 8; i++)
		if (s[i] != (uint8_t)sig[i])
			return 0;
	for (int i = 0; i < 20; i++)
		sum += s[i];
	return sum == 0;
}

/* Multiboot 1 reports no RSDP: search the first KiB of the EBDA and the
 * BIOS area 0xe0000-0xfffff on 16-byte boundaries, as ACPI specifies. */
static void find_rsdp_legacy(struct mb_parse *p)
{
	const uint16_t *ebda_seg = rd(p, 0x40e, 2);
	uint64_t ebda = ebda_seg ? (uint64_t)*ebda_seg << 4 : 0;
	uint64_t areas[2][2] = {{ebda, ebda + 1024}, {0xe0000, 0x100000}};
	for (int a = ebda ? 0 : 1; a < 2; a++) {
		for (uint64_t addr = areas[a][0]; addr + 20 <= areas[a][1]; addr += 16) {
			const uint8_t *s = rd(p, addr, 20);
			if (s && rsdp_valid(s)) {
				p->bi->acpi_rsdp = addr;
				return;
			}
		}
	}
}

static const char *parse_mb1(struct mb_parse *p, uint64_t info)
{
	const struct mb1_info *mbi = rd(p, info, sizeof(*mbi));
	if (!mbi)
		return "multiboot 1: information unreadable";
	p->bi->protocol = KESTREL_BOOT_MULTIBOOT1;
	if (!(mbi->flags & MB1_INFO_MMAP))
		return "multiboot 1: no memory map";
	const char *err;
	for (uint32_t off = 0; off + 24 <= mbi->mmap_length;) {
		const struct mb1_mmap_entry *e = rd(p, (uint64_t)mbi->mmap_addr + off, sizeof(*e));
		if (!e)
			return "multiboot 1: memory map unreadable";
		if (e->size < 20)
			return "multiboot 1: memory map entry too small";
		if (e->size > mbi->mmap_length)
			return "multiboot 1: memory map entry too large";
		if ((err = add_range(p, e->base, e->length, e->type)))
			return err;
		off += e->size + 4;
	}
	if ((mbi->flags & MB1_INFO_CMDLINE) &&
	    !copy_string_phys(p, p->bi->cmdline, sizeof(p->bi->cmdline), mbi->cmdline,
			      KESTREL_BOOT_CMDLINE_MAX))
		return "multiboot 1: command line unreadable";
	if (mbi->flags & MB1_INFO_MODS) {
		for (uint32_t i = 0; i < mbi->mods_count; i++) {
			const struct mb1_module *m =
				rd(p, (uint64_t)mbi->mods_addr + i * sizeof(*m), sizeof(*m));
			if (!m)
				return "multiboot 1: module list unreadable";
			if ((err = add_module(p, m->start, m->end, m->string, 256)))
				return err;
		}
	}
	if (mbi->flags & MB1_INFO_FRAMEBUFFER) {
		struct kestrel_framebuffer *fb = &p->bi->framebuffer;
		fb->base = mbi->framebuffer_addr;
		fb->pitch = mbi->framebuffer_pitch;
		fb->width = mbi->framebuffer_width;
		fb->height = mbi->framebuffer_height;
		fb->bpp = mbi->framebuffer_bpp;
		fb->type = fb_type(mbi->framebuffer_type);
		if (fb->type == KESTREL_FB_RGB) {
			fb->red_shift = mbi->color_info[0];
			fb->red_size = mbi->color_info[1];
			fb->green_shift = mbi->color_info[2];
			fb->green_size = mbi->color_info[3];
			fb->blue_shift = mbi->color_info[4];
			fb->blue_size = mbi->color_info[5];
		}
	}
	find_rsdp_legacy(p);
	return 0;
}

static const char *parse_mb2_tag(struct mb_parse *p, uint64_t at, const struct mb2_tag *tag,
				 int *have_mmap)
{
	const char *err;
	const uint8_t *body = rd(p, at, tag->size);
	if (!body)
		return "multiboot 2: tag unreadable";
	switch (tag->type) {
	case MB2_TAG_CMDLINE:
		/* Bounded by the tag in case the NUL is missing. */
		if (!copy_string_phys(p, p->bi->cmdline, sizeof(p->bi->cmdline), at + 8,
				      tag->size - 8))
			return "multiboot 2: command line unreadable";
		break;
	case MB2_TAG_MODULE: {
		if (tag->size < sizeof(struct mb2_tag_module))
			return "multiboot 2: module tag too small";
		const struct mb2_tag_module *m = (const void *)body;
		if ((err = add_module(p, m->mod_start, m->mod_end, at + sizeof(*m),
				      tag->size - (uint32_t)sizeof(*m))))
			return err;
		break;
	}
	case MB2_TAG_MMAP: {
		if (tag->size < sizeof(struct mb2_tag_mmap))
			return "multiboot 2: memory map tag too small";
		const struct mb2_tag_mmap *mm = (const void *)body;
		if (mm->entry_size < sizeof(struct mb2_mmap_entry) || (mm->entry_size & 7))
			return "multiboot 2: bad memory map entry size";
		for (uint32_t e = sizeof(*mm); e + mm->entry_size <= tag->size; e += mm->entry_size) {
			const struct mb2_mmap_entry *me = (const void *)(body + e);
			if ((err = add_range(p, me->base, me->length, me->type)))
				return err;
		}
		*have_mmap = 1;
		break;
	}
	case MB2_TAG_FRAMEBUFFER: {
		if (tag->size < 31)
			return "multiboot 2: framebuffer tag too small";
		const struct mb2_tag_framebuffer *f = (const void *)body;
		struct kestrel_framebuffer *fb = &p->bi->framebuffer;
		fb->base = f->addr;
		fb->pitch = f->pitch;
		fb->width = f->width;
		fb->height = f->height;
		fb->bpp = f->bpp;
		fb->type = fb_type(f->fb_type);
		if (fb->type == KESTREL_FB_RGB && tag->size >= 36) {
			fb->red_shift = f->red_shift;
			fb->red_size = f->red_size;
			fb->green_shift = f->green_shift;
			fb->green_size = f->green_size;
			fb->blue_shift = f->blue_shift;
			fb->blue_size = f->blue_size;
		}
		break;
	}
	case MB2_TAG_ACPI_OLD:
	case MB2_TAG_ACPI_NEW: {
		/* The tag holds a copy of the RSDP; the v2 one wins. */
		uint32_t len = tag->size - 8;
		if (len < 20 || !rsdp_valid(body + 8))
			return 0; /* a broken copy is as good as none */
		if (tag->type == MB2_TAG_ACPI_OLD && p->bi->acpi_rsdp)
			break;
		if (len > p->rsdp_copy_size)
			len = p->rsdp_copy_size;
		copy_bytes(p->rsdp_copy, body + 8, len);
		p->bi->acpi_rsdp = p->rsdp_copy_phys;
		break;
	}
	case MB2_TAG_EFI64:
	case MB2_TAG_EFI_MMAP:
		p->bi->flags |= KESTREL_BOOT_FLAG_UEFI;
		break;
	}
	return 0;
}

static const char *parse_mb2(struct mb_parse *p, uint64_t info)
{
	const struct mb2_info *mbi = rd(p, info, sizeof(*mbi));
	if (!mbi)
		return "multiboot 2: information unreadable";
	p->bi->protocol = KESTREL_BOOT_MULTIBOOT2;
	uint32_t total = mbi->total_size;
	if (total < sizeof(*mbi) + sizeof(struct mb2_tag))
		return "multiboot 2: information too small";
	int have_mmap = 0, have_end = 0;
	for (uint32_t off = sizeof(*mbi); off + sizeof(struct mb2_tag) <= total;) {
		const struct mb2_tag *tag = rd(p, info + off, sizeof(*tag));
		if (!tag)
			return "multiboot 2: tag unreadable";
		if (tag->type == MB2_TAG_END) {
			have_end = 1;
			break;
		}
		if (tag->size < sizeof(*tag) || tag->size > total - off)
			return "multiboot 2: malformed tag size";
		const char *err = parse_mb2_tag(p, info + off, tag, &have_mmap);
		if (err)
			return err;
		off += (tag->size + 7) & ~7u;
	}
	if (!have_end)
		return "multiboot 2: no end tag";
	if (!have_mmap)
		return "multiboot 2: no memory map";
	return 0;
}

const char *mb_parse_info(struct mb_parse *p, uint32_t magic, uint64_t info)
{
	if (magic == MB1_BOOT_MAGIC)
		return parse_mb1(p, info);
	if (magic == MB2_BOOT_MAGIC)
		return parse_mb2(p, info);
	return "not started by a Multiboot loader";
}
