/*
 * The ACPI parser on canned tables in a fake physical memory, well-formed
 * and malformed. The map function hands out a fresh heap copy of exactly
 * the bytes asked for (one byte off alignment) and frees the previous one,
 * so AddressSanitizer catches any read past a mapping or through a stale
 * pointer, and no table is ever read aligned.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "unit.h"

#define PHYS_SIZE (1u << 20)
/* A second view of the same memory above 4 GiB, for 64-bit XSDT entries. */
#define HIGH_BASE 0x100000000000ull

static uint8_t *phys;
static uint8_t *window;
static uint64_t refuse_at = ~0ull; /* map returns NULL for this address */
static int map_calls;
static bool bad_ctx;
static uint64_t map_max_len_at_watch;
static uint64_t watch_at = ~0ull; /* record the largest mapping here */
static int ctx_token;
static struct acpi_info info;

static const void *fake_map(void *ctx, uint64_t addr, uint64_t len)
{
	if (ctx != &ctx_token)
		bad_ctx = true;
	map_calls++;
	free(window);
	window = NULL;
	if (addr >= HIGH_BASE)
		addr -= HIGH_BASE;
	if (addr == watch_at && len > map_max_len_at_watch)
		map_max_len_at_watch = len;
	if (addr == refuse_at || addr >= PHYS_SIZE || len > PHYS_SIZE - addr || len == 0)
		return NULL;
	window = malloc(len + 1);
	memcpy(window + 1, phys + addr, len);
	return window + 1;
}

static void reset(void)
{
	if (!phys)
		phys = malloc(PHYS_SIZE);
	memset(phys, 0, PHYS_SIZE);
	refuse_at = ~0ull;
	watch_at = ~0ull;
	map_max_len_at_watch = 0;
	map_calls = 0;
	bad_ctx = false;
	memset(&info, 0xa5, sizeof(info)); /* acpi_parse must clear it */
}

static int parse(uint64_t rsdp)
{
	return acpi_parse(rsdp, fake_map, &ctx_token, &info);
}

/* ---- Building tables ---- */

static void put16(uint64_t at, uint16_t v)
{
	phys[at] = (uint8_t)v;
	phys[at + 1] = (uint8_t)(v >> 8);
}

static void put32(uint64_t at, uint32_t v)
{
	put16(at, (uint16_t)v);
	put16(at + 2, (uint16_t)(v >> 16));
}

static void put64(uint64_t at, uint64_t v)
{
	put32(at, (uint32_t)v);
	put32(at + 4, (uint32_t)(v >> 32));
}

static void fix_checksum(uint64_t at, uint32_t len, uint32_t sum_off)
{
	uint8_t sum = 0;
	phys[at + sum_off] = 0;
	for (uint32_t i = 0; i < len; i++)
		sum += phys[at + i];
	phys[at + sum_off] = (uint8_t)-sum;
}

/* A table under construction: its address and the length so far. */
struct tb {
	uint64_t at;
	uint32_t len;
};

static struct tb tb_begin(uint64_t at, const char *sig)
{
	memset(phys + at, 0, 36);
	memcpy(phys + at, sig, 4);
	phys[at + 8] = 1;
	memcpy(phys + at + 10, "BOCHS ", 6);
	memcpy(phys + at + 16, "BXPC    ", 8);
	return (struct tb){at, 36};
}

static void tb8(struct tb *t, uint8_t v)
{
	phys[t->at + t->len++] = v;
}

static void tb16(struct tb *t, uint16_t v)
{
	put16(t->at + t->len, v);
	t->len += 2;
}

static void tb32(struct tb *t, uint32_t v)
{
	put32(t->at + t->len, v);
	t->len += 4;
}

static void tb64(struct tb *t, uint64_t v)
{
	put64(t->at + t->len, v);
	t->len += 8;
}

/* Set the length and checksum; returns the table's address. */
static uint64_t tb_end(struct tb *t)
{
	put32(t->at + 4, t->len);
	fix_checksum(t->at, t->len, 9);
	return t->at;
}

static void put_rsdp(uint64_t at, uint8_t rev, uint32_t rsdt, uint64_t xsdt)
{
	memset(phys + at, 0, 36);
	memcpy(phys + at, "RSD PTR ", 8);
	memcpy(phys + at + 9, "BOCHS ", 6);
	phys[at + 15] = rev;
	put32(at + 16, rsdt);
	fix_checksum(at, 20, 8);
	if (rev >= 2) {
		put32(at + 20, 36);
		put64(at + 24, xsdt);
		fix_checksum(at, 36, 32);
	}
}

static uint64_t put_root(uint64_t at, bool xsdt, int n, const uint64_t *tables)
{
	struct tb t = tb_begin(at, xsdt ? "XSDT" : "RSDT");
	for (int i = 0; i < n; i++) {
		if (xsdt)
			tb64(&t, tables[i]);
		else
			tb32(&t, (uint32_t)tables[i]);
	}
	return tb_end(&t);
}

static struct tb madt_begin(uint64_t at, uint32_t lapic, uint32_t flags)
{
	struct tb t = tb_begin(at, "APIC");
	tb32(&t, lapic);
	tb32(&t, flags);
	return t;
}

static void madt_lapic(struct tb *t, uint8_t uid, uint8_t id, uint32_t flags)
{
	tb8(t, 0);
	tb8(t, 8);
	tb8(t, uid);
	tb8(t, id);
	tb32(t, flags);
}

static void madt_ioapic(struct tb *t, uint8_t id, uint32_t addr, uint32_t gsi_base)
{
	tb8(t, 1);
	tb8(t, 12);
	tb8(t, id);
	tb8(t, 0);
	tb32(t, addr);
	tb32(t, gsi_base);
}

static void madt_override(struct tb *t, uint8_t bus, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	tb8(t, 2);
	tb8(t, 10);
	tb8(t, bus);
	tb8(t, irq);
	tb32(t, gsi);
	tb16(t, flags);
}

static void madt_nmi(struct tb *t, uint8_t uid, uint16_t flags, uint8_t lint)
{
	tb8(t, 4);
	tb8(t, 6);
	tb8(t, uid);
	tb16(t, flags);
	tb8(t, lint);
}

static void madt_lapic_address(struct tb *t, uint64_t addr)
{
	tb8(t, 5);
	tb8(t, 12);
	tb16(t, 0);
	tb64(t, addr);
}

static void madt_x2apic(struct tb *t, uint32_t id, uint32_t flags, uint32_t uid)
{
	tb8(t, 9);
	tb8(t, 16);
	tb16(t, 0);
	tb32(t, id);
	tb32(t, flags);
	tb32(t, uid);
}

static void madt_x2apic_nmi(struct tb *t, uint32_t uid, uint16_t flags, uint8_t lint)
{
	tb8(t, 10);
	tb8(t, 12);
	tb16(t, flags);
	tb32(t, uid);
	tb8(t, lint);
	tb8(t, 0);
	tb16(t, 0);
}

static uint64_t put_hpet(uint64_t at, uint8_t space, uint64_t addr)
{
	struct tb t = tb_begin(at, "HPET");
	tb32(&t, 0x8086a201); /* event timer block id */
	tb8(&t, space);
	tb8(&t, 64);
	tb8(&t, 0);
	tb8(&t, 0);
	tb64(&t, addr);
	tb8(&t, 0);	 /* HPET number */
	tb16(&t, 0x80); /* minimum tick */
	tb8(&t, 0);	 /* page protection */
	return tb_end(&t);
}

static struct tb mcfg_begin(uint64_t at)
{
	struct tb t = tb_begin(at, "MCFG");
	tb64(&t, 0);
	return t;
}

static void mcfg_entry(struct tb *t, uint64_t base, uint16_t seg, uint8_t start, uint8_t end)
{
	tb64(t, base);
	tb16(t, seg);
	tb8(t, start);
	tb8(t, end);
	tb32(t, 0);
}

/* ---- A QEMU-like machine: RSDP 1.0, RSDT, MADT, HPET, MCFG ---- */

#define RSDP 0xf5a10
#define ROOT 0x10001
#define MADT 0x11003
#define HPET 0x12005
#define MCFG 0x13007
#define FACP 0x14009
#define HIGH_MADT 0x20003

#define IOAPIC_ADDR 0xfec00000u
#define HPET_ADDR 0xfed00000u
#define ECAM_ADDR 0xb0000000u
#define LEVEL_HIGH (ACPI_INTI_TRIGGER_LEVEL | ACPI_INTI_POLARITY_HIGH)

static uint64_t qemu_madt(uint64_t at)
{
	struct tb t = madt_begin(at, 0xfee00000, 1);
	madt_lapic(&t, 0, 0, 1);
	madt_lapic(&t, 1, 1, 1);
	madt_lapic(&t, 2, 2, 2); /* online-capable, not enabled */
	madt_lapic(&t, 3, 3, 1);
	madt_ioapic(&t, 0, IOAPIC_ADDR, 0);
	madt_override(&t, 0, 0, 2, 0);
	madt_override(&t, 0, 9, 9, LEVEL_HIGH);
	madt_nmi(&t, 0xff, 0, 1);
	return tb_end(&t);
}

static uint64_t qemu_mcfg(uint64_t at)
{
	struct tb t = mcfg_begin(at);
	mcfg_entry(&t, ECAM_ADDR, 0, 0, 255);
	return tb_end(&t);
}

/* A FACP that is never validated: its checksum is wrong. */
static uint64_t junk_facp(uint64_t at)
{
	struct tb t = tb_begin(at, "FACP");
	t.len = 244;
	tb_end(&t);
	phys[at + 100] ^= 0xff;
	return at;
}

static void qemu_setup(void)
{
	reset();
	uint64_t tables[] = {junk_facp(FACP), qemu_madt(MADT), put_hpet(HPET, 0, HPET_ADDR),
			     qemu_mcfg(MCFG)};
	put_root(ROOT, false, 4, tables);
	put_rsdp(RSDP, 0, ROOT, 0);
}

/* Replace the root table's tables with these. */
static void set_tables(bool xsdt, int n, const uint64_t *tables)
{
	put_root(ROOT, xsdt, n, tables);
}

/* ---- Well-formed tables ---- */

TEST(qemu_rsdt_madt_hpet_mcfg)
{
	qemu_setup();
	watch_at = FACP;
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK(!bad_ctx);
	CHECK_EQ(info.rsdp_revision, 0);
	CHECK(strcmp(info.oem_id, "BOCHS ") == 0);
	CHECK(!info.xsdt);
	CHECK_EQ(info.bad_tables, 0);
	CHECK_EQ(map_max_len_at_watch, 36); /* the FACP: header only */

	CHECK_EQ(info.lapic_address, 0xfee00000u);
	CHECK(info.legacy_pics);
	CHECK_EQ(info.cpu_count, 4);
	CHECK_EQ(info.cpus_dropped, 0);
	/* Enabled first, in MADT order, then the online-capable one. */
	CHECK_EQ(info.cpus[0].apic_id, 0);
	CHECK_EQ(info.cpus[1].apic_id, 1);
	CHECK_EQ(info.cpus[2].apic_id, 3);
	CHECK_EQ(info.cpus[3].apic_id, 2);
	CHECK(info.cpus[0].enabled && info.cpus[1].enabled && info.cpus[2].enabled);
	CHECK(!info.cpus[3].enabled);
	CHECK_EQ(info.cpus[3].uid, 2);
	CHECK(!info.cpus[0].x2apic);

	CHECK_EQ(info.ioapic_count, 1);
	CHECK_EQ(info.ioapics[0].address, IOAPIC_ADDR);
	CHECK_EQ(info.ioapics[0].gsi_base, 0);
	CHECK_EQ(info.ioapics[0].id, 0);

	CHECK_EQ(info.override_count, 2);
	CHECK_EQ(info.overrides[0].source_irq, 0);
	CHECK_EQ(info.overrides[0].gsi, 2);
	CHECK_EQ(info.overrides[1].source_irq, 9);
	CHECK_EQ(info.overrides[1].flags, LEVEL_HIGH);
	uint16_t flags = 0xffff;
	CHECK_EQ(acpi_isa_irq_gsi(&info, 0, &flags), 2);
	CHECK_EQ(flags, 0);
	CHECK_EQ(acpi_isa_irq_gsi(&info, 9, &flags), 9);
	CHECK_EQ(flags & ACPI_INTI_TRIGGER_MASK, ACPI_INTI_TRIGGER_LEVEL);
	CHECK_EQ(acpi_isa_irq_gsi(&info, 4, &flags), 4);
	CHECK_EQ(flags, 0);
	CHECK_EQ(acpi_isa_irq_gsi(&info, 1, NULL), 1);

	CHECK_EQ(info.nmi_count, 1);
	CHECK_EQ(info.nmis[0].uid, ACPI_UID_ALL);
	CHECK_EQ(info.nmis[0].lint, 1);

	CHECK_EQ(info.hpet_address, HPET_ADDR);
	CHECK_EQ(info.mcfg_count, 1);
	CHECK_EQ(info.mcfg[0].base, ECAM_ADDR);
	CHECK_EQ(info.mcfg[0].segment, 0);
	CHECK_EQ(info.mcfg[0].start_bus, 0);
	CHECK_EQ(info.mcfg[0].end_bus, 255);
}

TEST(no_hpet_no_mcfg_is_fine)
{
	qemu_setup();
	uint64_t tables[] = {MADT};
	set_tables(false, 1, tables);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.hpet_address, 0);
	CHECK_EQ(info.mcfg_count, 0);
	CHECK_EQ(info.cpu_count, 4);
}

TEST(rsdp_v2_uses_xsdt_with_64bit_entries)
{
	qemu_setup();
	/* The RSDT lists the QEMU MADT; the XSDT a different one, above 4 GiB. */
	struct tb t = madt_begin(HIGH_MADT, 0xfee00000, 0);
	madt_lapic(&t, 0, 7, 1);
	tb_end(&t);
	uint64_t xtables[] = {HIGH_BASE + HIGH_MADT, HIGH_BASE + HPET};
	put_root(0x30000, true, 2, xtables);
	put_rsdp(RSDP, 2, ROOT, HIGH_BASE + 0x30000);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.rsdp_revision, 2);
	CHECK(info.xsdt);
	CHECK(!info.legacy_pics);
	CHECK_EQ(info.cpu_count, 1);
	CHECK_EQ(info.cpus[0].apic_id, 7);
	CHECK_EQ(info.hpet_address, HPET_ADDR);
	CHECK_EQ(info.mcfg_count, 0);
}

TEST(rsdp_v2_without_xsdt_uses_rsdt)
{
	qemu_setup();
	put_rsdp(RSDP, 2, ROOT, 0);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK(!info.xsdt);
	CHECK_EQ(info.cpu_count, 4);
	CHECK_EQ(info.mcfg_count, 1);
}

TEST(rsdp_v2_longer_than_36)
{
	qemu_setup();
	put_rsdp(RSDP, 2, ROOT, 0);
	put32(RSDP + 20, 40);
	phys[RSDP + 39] = 0x5a;
	fix_checksum(RSDP, 40, 32);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.cpu_count, 4);
}

TEST(x2apic_entries)
{
	qemu_setup();
	struct tb t = madt_begin(MADT, 0xfee00000, 1);
	madt_lapic(&t, 0, 0, 1);
	madt_x2apic(&t, 0, 1, 100); /* the same CPU again: the first stays */
	madt_x2apic(&t, 0x100, 1, 0x1000);
	madt_x2apic(&t, 0x101, 2, 0x1001); /* online-capable */
	madt_x2apic(&t, 0x102, 0, 0x1002); /* unusable */
	madt_x2apic_nmi(&t, ACPI_UID_ALL, ACPI_INTI_POLARITY_HIGH, 1);
	madt_x2apic_nmi(&t, 0x1000, 0, 0);
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.cpu_count, 3);
	CHECK_EQ(info.cpus[0].apic_id, 0);
	CHECK(!info.cpus[0].x2apic);
	CHECK_EQ(info.cpus[0].uid, 0);
	CHECK_EQ(info.cpus[1].apic_id, 0x100);
	CHECK(info.cpus[1].x2apic);
	CHECK(info.cpus[1].enabled);
	CHECK_EQ(info.cpus[1].uid, 0x1000);
	CHECK_EQ(info.cpus[2].apic_id, 0x101);
	CHECK(!info.cpus[2].enabled);
	CHECK_EQ(info.nmi_count, 2);
	CHECK_EQ(info.nmis[0].uid, ACPI_UID_ALL);
	CHECK_EQ(info.nmis[0].flags, ACPI_INTI_POLARITY_HIGH);
	CHECK_EQ(info.nmis[1].uid, 0x1000);
	CHECK_EQ(info.nmis[1].lint, 0);
}

TEST(lapic_address_override)
{
	qemu_setup();
	struct tb t = madt_begin(MADT, 0xfee00000, 0);
	madt_lapic_address(&t, 0); /* 0 is no override */
	madt_lapic(&t, 0, 0, 1);
	madt_lapic_address(&t, 0x1000fee10000ull);
	madt_lapic_address(&t, 0x2000fee20000ull); /* only one allowed */
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.lapic_address, 0x1000fee10000ull);
	CHECK_EQ(info.cpu_count, 1);
}

TEST(lapic_address_zero_is_corrupt)
{
	qemu_setup();
	struct tb t = madt_begin(MADT, 0, 0);
	madt_lapic(&t, 0, 0, 1);
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_ERR_MADT_CORRUPT);
	/* Rescued by an override. */
	t = madt_begin(MADT, 0, 0);
	madt_lapic(&t, 0, 0, 1);
	madt_lapic_address(&t, 0xfee00000);
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.lapic_address, 0xfee00000);
}

TEST(unusable_cpu_entries_ignored)
{
	qemu_setup();
	struct tb t = madt_begin(MADT, 0xfee00000, 1);
	madt_lapic(&t, 0, 0, 1);
	madt_lapic(&t, 1, 1, 0);    /* neither enabled nor online-capable */
	madt_lapic(&t, 2, 0xff, 1); /* the broadcast id */
	madt_lapic(&t, 3, 3, 0x3);  /* enabled; online-capable is moot */
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.cpu_count, 2);
	CHECK_EQ(info.cpus[1].apic_id, 3);
	CHECK(info.cpus[1].enabled);
	CHECK_EQ(info.cpus_dropped, 0);
}

TEST(unknown_madt_types_skipped)
{
	qemu_setup();
	struct tb t = madt_begin(MADT, 0xfee00000, 1);
	tb8(&t, 0x7f); /* unknown type, 5 bytes */
	tb8(&t, 5);
	tb8(&t, 0);
	tb8(&t, 0);
	tb8(&t, 0);
	tb8(&t, 3); /* NMI source, 8 bytes: not used */
	tb8(&t, 8);
	tb16(&t, 0);
	tb32(&t, 0);
	madt_lapic(&t, 0, 0, 1);
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.cpu_count, 1);
}

/* ---- Broken RSDP ---- */

TEST(bad_rsdp_signature)
{
	qemu_setup();
	phys[RSDP + 3] = 'X';
	fix_checksum(RSDP, 20, 8);
	CHECK_EQ(parse(RSDP), ACPI_ERR_RSDP_SIGNATURE);
	CHECK_EQ(info.cpu_count, 0);
	CHECK_EQ(info.hpet_address, 0);
	CHECK_EQ(info.oem_id[0], 0);
}

TEST(bad_rsdp_checksum)
{
	qemu_setup();
	phys[RSDP + 8]++;
	CHECK_EQ(parse(RSDP), ACPI_ERR_RSDP_CHECKSUM);
	/* The extended part does not count for revision 0. */
	qemu_setup();
	phys[RSDP + 30] = 0x77;
	CHECK_EQ(parse(RSDP), ACPI_OK);
}

TEST(bad_rsdp_extended_checksum)
{
	qemu_setup();
	put_rsdp(RSDP, 2, ROOT, 0);
	phys[RSDP + 32]++;
	CHECK_EQ(parse(RSDP), ACPI_ERR_RSDP_XCHECKSUM);
	CHECK_EQ(info.cpu_count, 0);
}

TEST(bad_rsdp_length)
{
	qemu_setup();
	put_rsdp(RSDP, 2, ROOT, 0);
	put32(RSDP + 20, 20);
	fix_checksum(RSDP, 36, 32);
	CHECK_EQ(parse(RSDP), ACPI_ERR_RSDP_LENGTH);
	put32(RSDP + 20, 0x10000000);
	fix_checksum(RSDP, 36, 32);
	CHECK_EQ(parse(RSDP), ACPI_ERR_RSDP_LENGTH);
	/* A v2 RSDP at the very end of memory: the 36 bytes cannot be mapped. */
	reset();
	put_rsdp(PHYS_SIZE - 36, 2, ROOT, 0);
	memmove(phys + PHYS_SIZE - 20, phys + PHYS_SIZE - 36, 20);
	CHECK_EQ(parse(PHYS_SIZE - 20), ACPI_ERR_RSDP_UNMAPPED);
}

TEST(map_returns_null_for_rsdp)
{
	qemu_setup();
	refuse_at = RSDP;
	CHECK_EQ(parse(RSDP), ACPI_ERR_RSDP_UNMAPPED);
	CHECK_EQ(map_calls, 1);
	CHECK_EQ(parse(PHYS_SIZE + 0x1000), ACPI_ERR_RSDP_UNMAPPED);
	CHECK_EQ(parse(~0ull - 4), ACPI_ERR_RSDP_UNMAPPED); /* wraps */
	map_calls = 0;
	CHECK_EQ(parse(0), ACPI_ERR_NO_RSDP);
	CHECK_EQ(acpi_parse(RSDP, NULL, NULL, &info), ACPI_ERR_NO_RSDP);
	CHECK_EQ(map_calls, 0);
}

/* ---- Broken root table ---- */

TEST(xsdt_bad_checksum)
{
	qemu_setup();
	uint64_t tables[] = {MADT};
	put_root(0x30000, true, 1, tables);
	phys[0x30000 + 36] ^= 0x10;
	put_rsdp(RSDP, 2, ROOT, 0x30000);
	CHECK_EQ(parse(RSDP), ACPI_ERR_ROOT_CHECKSUM);
	CHECK_EQ(info.cpu_count, 0);
	CHECK_EQ(info.rsdp_revision, 2);
}

TEST(rsdt_bad_checksum_signature_length_address)
{
	qemu_setup();
	phys[ROOT + 9]++;
	CHECK_EQ(parse(RSDP), ACPI_ERR_ROOT_CHECKSUM);

	qemu_setup();
	memcpy(phys + ROOT, "XSDT", 4); /* an XSDT where the RSDT should be */
	fix_checksum(ROOT, 36 + 16, 9);
	CHECK_EQ(parse(RSDP), ACPI_ERR_ROOT_SIGNATURE);

	qemu_setup();
	put32(ROOT + 4, 35);
	CHECK_EQ(parse(RSDP), ACPI_ERR_ROOT_LENGTH);
	put32(ROOT + 4, ACPI_MAX_TABLE_LENGTH + 1);
	CHECK_EQ(parse(RSDP), ACPI_ERR_ROOT_LENGTH);
	put32(ROOT + 4, PHYS_SIZE); /* runs past memory */
	CHECK_EQ(parse(RSDP), ACPI_ERR_ROOT_UNMAPPED);

	qemu_setup();
	put_rsdp(RSDP, 0, 0, 0);
	CHECK_EQ(parse(RSDP), ACPI_ERR_ROOT_UNMAPPED);
	put_rsdp(RSDP, 0, PHYS_SIZE - 10, 0);
	CHECK_EQ(parse(RSDP), ACPI_ERR_ROOT_UNMAPPED);
}

TEST(rsdt_length_not_multiple_of_4)
{
	qemu_setup();
	uint64_t tables[] = {MADT, HPET};
	put_root(ROOT, false, 2, tables);
	/* Three more bytes, the start of the MCFG's address: not an entry. */
	put32(ROOT + 44, MCFG);
	put32(ROOT + 4, 47);
	fix_checksum(ROOT, 47, 9);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.cpu_count, 4);
	CHECK_EQ(info.hpet_address, HPET_ADDR);
	CHECK_EQ(info.mcfg_count, 0);
}

TEST(xsdt_length_not_multiple_of_8)
{
	qemu_setup();
	uint64_t tables[] = {MADT};
	put_root(0x30000, true, 1, tables);
	put64(0x30000 + 44, MCFG);
	put32(0x30000 + 4, 44 + 7);
	fix_checksum(0x30000, 44 + 7, 9);
	put_rsdp(RSDP, 2, ROOT, 0x30000);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK(info.xsdt);
	CHECK_EQ(info.cpu_count, 4);
	CHECK_EQ(info.mcfg_count, 0);
}

TEST(empty_root_means_no_madt)
{
	qemu_setup();
	set_tables(false, 0, NULL);
	CHECK_EQ(parse(RSDP), ACPI_ERR_NO_MADT);
}

/* ---- Broken tables ---- */

TEST(madt_bad_checksum_skipped)
{
	qemu_setup();
	phys[MADT + 50] ^= 1;
	CHECK_EQ(parse(RSDP), ACPI_ERR_NO_MADT);
	CHECK_EQ(info.bad_tables, 1);
	CHECK_EQ(info.cpu_count, 0);
	/* The optional tables are still read. */
	CHECK_EQ(info.hpet_address, HPET_ADDR);
	CHECK_EQ(info.mcfg_count, 1);

	/* A valid copy later in the root is used instead. */
	struct tb t = madt_begin(0x30000, 0xfee00000, 1);
	madt_lapic(&t, 0, 5, 1);
	tb_end(&t);
	uint64_t tables[] = {MADT, HPET, 0x30000};
	set_tables(false, 3, tables);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.bad_tables, 1);
	CHECK_EQ(info.cpu_count, 1);
	CHECK_EQ(info.cpus[0].apic_id, 5);
}

TEST(first_valid_madt_wins)
{
	qemu_setup();
	struct tb t = madt_begin(0x30000, 0xfee00000, 1);
	madt_lapic(&t, 0, 5, 1);
	tb_end(&t);
	uint64_t tables[] = {MADT, 0x30000};
	set_tables(false, 2, tables);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.cpu_count, 4);
	CHECK_EQ(info.bad_tables, 0);
}

TEST(table_past_mapped_memory)
{
	qemu_setup();
	/* The MADT's header is readable, its claimed length is not. */
	uint64_t at = PHYS_SIZE - 100;
	struct tb t = madt_begin(at, 0xfee00000, 1);
	madt_lapic(&t, 0, 0, 1);
	tb_end(&t);
	put32(at + 4, 200);
	/* And the HPET's header itself runs off the end. */
	uint64_t tables[] = {at, PHYS_SIZE - 20, HPET, 0};
	set_tables(false, 4, tables);
	CHECK_EQ(parse(RSDP), ACPI_ERR_NO_MADT);
	CHECK_EQ(info.bad_tables, 3); /* the MADT, the header, the null entry */
	CHECK_EQ(info.hpet_address, HPET_ADDR);

	/* The map function refusing a table is the same. */
	qemu_setup();
	refuse_at = MADT;
	CHECK_EQ(parse(RSDP), ACPI_ERR_NO_MADT);
	CHECK_EQ(info.bad_tables, 1);
}

TEST(table_length_below_36_or_absurd)
{
	qemu_setup();
	put32(MADT + 4, 20);
	fix_checksum(MADT, 20, 9);
	CHECK_EQ(parse(RSDP), ACPI_ERR_NO_MADT);
	CHECK_EQ(info.bad_tables, 1);

	qemu_setup();
	put32(MADT + 4, 0);
	CHECK_EQ(parse(RSDP), ACPI_ERR_NO_MADT);

	qemu_setup();
	put32(MADT + 4, 0xffffffff);
	CHECK_EQ(parse(RSDP), ACPI_ERR_NO_MADT);
	CHECK_EQ(info.bad_tables, 1);

	/* A valid header but too short for the MADT's own fields. */
	qemu_setup();
	struct tb t = tb_begin(MADT, "APIC");
	tb32(&t, 0xfee00000);
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_ERR_NO_MADT);
	CHECK_EQ(info.bad_tables, 1);

	/* An HPET table too short for its address. */
	qemu_setup();
	t = tb_begin(HPET, "HPET");
	tb32(&t, 0);
	tb8(&t, 0);
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.hpet_address, 0);
	CHECK_EQ(info.bad_tables, 1);
}

TEST(madt_entry_length_zero)
{
	qemu_setup();
	struct tb t = madt_begin(MADT, 0xfee00000, 1);
	madt_lapic(&t, 0, 0, 1);
	madt_ioapic(&t, 0, IOAPIC_ADDR, 0);
	tb8(&t, 0); /* length 0: would loop for ever */
	tb8(&t, 0);
	madt_lapic(&t, 1, 1, 1);
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_ERR_MADT_CORRUPT);
	/* What came before stays; the walk stopped there. */
	CHECK_EQ(info.cpu_count, 1);
	CHECK_EQ(info.ioapic_count, 1);
	CHECK_EQ(info.hpet_address, HPET_ADDR);

	qemu_setup();
	t = madt_begin(MADT, 0xfee00000, 1);
	madt_lapic(&t, 0, 0, 1);
	tb8(&t, 0); /* length 1 */
	tb8(&t, 1);
	madt_lapic(&t, 1, 1, 1);
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_ERR_MADT_CORRUPT);
	CHECK_EQ(info.cpu_count, 1);
}

TEST(madt_entry_past_end)
{
	qemu_setup();
	struct tb t = madt_begin(MADT, 0xfee00000, 1);
	madt_lapic(&t, 0, 0, 1);
	madt_lapic(&t, 2, 2, 2);
	madt_ioapic(&t, 0, IOAPIC_ADDR, 0);
	t.len -= 2; /* the IO APIC entry now runs 2 bytes past the end */
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_ERR_MADT_CORRUPT);
	CHECK_EQ(info.cpu_count, 2);
	CHECK(!info.cpus[1].enabled);
	CHECK_EQ(info.ioapic_count, 0);

	qemu_setup();
	t = madt_begin(MADT, 0xfee00000, 1);
	madt_lapic(&t, 0, 0, 1);
	tb8(&t, 1);
	tb8(&t, 255); /* far past the end */
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_ERR_MADT_CORRUPT);
	CHECK_EQ(info.cpu_count, 1);
}

TEST(madt_entry_too_short_for_its_type)
{
	qemu_setup();
	struct tb t = madt_begin(MADT, 0xfee00000, 1);
	tb8(&t, 1); /* an IO APIC entry of 8 bytes instead of 12 */
	tb8(&t, 8);
	tb8(&t, 0);
	tb8(&t, 0);
	tb32(&t, IOAPIC_ADDR);
	madt_lapic(&t, 0, 0, 1);
	tb8(&t, 9); /* an x2APIC entry of 8 bytes */
	tb8(&t, 8);
	tb16(&t, 0);
	tb32(&t, 0x200);
	madt_lapic(&t, 1, 1, 1);
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_ERR_MADT_CORRUPT);
	/* The walk went on past the short entries. */
	CHECK_EQ(info.ioapic_count, 0);
	CHECK_EQ(info.cpu_count, 2);
	CHECK_EQ(info.cpus[1].apic_id, 1);
}

TEST(madt_trailing_byte_is_padding)
{
	qemu_setup();
	struct tb t = madt_begin(MADT, 0xfee00000, 1);
	madt_lapic(&t, 0, 0, 1);
	tb8(&t, 0);
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.cpu_count, 1);
}

TEST(more_cpus_than_max)
{
	/* Online-capable CPUs first in the MADT do not crowd out enabled ones. */
	qemu_setup();
	struct tb t = madt_begin(0x30000, 0xfee00000, 1);
	for (int i = 0; i < 5; i++)
		madt_lapic(&t, (uint8_t)(200 + i), (uint8_t)(200 + i), 2);
	for (int i = 0; i < ACPI_MAX_CPUS + 6; i++)
		madt_lapic(&t, (uint8_t)i, (uint8_t)i, 1);
	madt_ioapic(&t, 0, IOAPIC_ADDR, 0);
	tb_end(&t);
	uint64_t tables[] = {0x30000};
	set_tables(false, 1, tables);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.cpu_count, ACPI_MAX_CPUS);
	CHECK_EQ(info.cpus_dropped, 6 + 5);
	for (uint32_t i = 0; i < ACPI_MAX_CPUS; i++) {
		CHECK(info.cpus[i].enabled);
		CHECK_EQ(info.cpus[i].apic_id, i);
	}
	CHECK_EQ(info.ioapic_count, 1);

	/* Fewer enabled than the limit: online-capable ones fill the rest. */
	qemu_setup();
	t = madt_begin(0x30000, 0xfee00000, 1);
	for (int i = 0; i < 70; i++)
		madt_x2apic(&t, (uint32_t)i, i % 7 == 6 ? 2 : 1, (uint32_t)i);
	tb_end(&t);
	set_tables(false, 1, tables);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.cpu_count, ACPI_MAX_CPUS);
	CHECK_EQ(info.cpus_dropped, 6);
	CHECK_EQ(info.cpus[59].apic_id, 68); /* the 60th enabled */
	CHECK(info.cpus[59].enabled);
	CHECK(!info.cpus[60].enabled);
	CHECK_EQ(info.cpus[60].apic_id, 6);
	CHECK_EQ(info.cpus[63].apic_id, 27);
}

TEST(more_ioapics_overrides_nmis_mcfg_than_max)
{
	qemu_setup();
	struct tb t = madt_begin(0x30000, 0xfee00000, 1);
	madt_lapic(&t, 0, 0, 1);
	for (int i = 0; i < ACPI_MAX_IOAPICS + 3; i++)
		madt_ioapic(&t, (uint8_t)i, IOAPIC_ADDR + 0x1000u * (uint32_t)i, 24u * (uint32_t)i);
	for (int i = 0; i < ACPI_MAX_OVERRIDES + 2; i++)
		madt_override(&t, 0, (uint8_t)i, 100u + (uint32_t)i, 0);
	for (int i = 0; i < ACPI_MAX_NMIS + 1; i++)
		madt_nmi(&t, (uint8_t)i, 0, 1);
	tb_end(&t);
	struct tb m = mcfg_begin(0x31000);
	for (int i = 0; i < ACPI_MAX_MCFG + 4; i++)
		mcfg_entry(&m, ECAM_ADDR + 0x10000000ull * (uint64_t)i, (uint16_t)i, 0, 255);
	tb_end(&m);
	uint64_t tables[] = {0x30000, 0x31000};
	set_tables(false, 2, tables);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.ioapic_count, ACPI_MAX_IOAPICS);
	CHECK_EQ(info.ioapics_dropped, 3);
	CHECK_EQ(info.ioapics[ACPI_MAX_IOAPICS - 1].gsi_base, 24u * (ACPI_MAX_IOAPICS - 1));
	CHECK_EQ(info.override_count, ACPI_MAX_OVERRIDES);
	CHECK_EQ(info.overrides_dropped, 2);
	CHECK_EQ(info.nmi_count, ACPI_MAX_NMIS);
	CHECK_EQ(info.nmis_dropped, 1);
	CHECK_EQ(info.mcfg_count, ACPI_MAX_MCFG);
	CHECK_EQ(info.mcfg_dropped, 4);
	CHECK_EQ(info.mcfg[ACPI_MAX_MCFG - 1].segment, ACPI_MAX_MCFG - 1);
}

TEST(duplicate_and_overlapping_entries)
{
	qemu_setup();
	struct tb t = madt_begin(MADT, 0xfee00000, 1);
	madt_lapic(&t, 0, 0, 1);
	madt_lapic(&t, 9, 0, 1);	       /* same APIC id: first kept */
	madt_lapic(&t, 1, 1, 2);	       /* online-capable ... */
	madt_lapic(&t, 8, 1, 1);	       /* ... then enabled: the enabled one */
	madt_ioapic(&t, 0, IOAPIC_ADDR, 0);
	madt_ioapic(&t, 1, IOAPIC_ADDR, 24);   /* same address */
	madt_ioapic(&t, 2, 0xfec10000, 0);     /* same GSI base */
	madt_ioapic(&t, 3, 0xfec20000, 24);    /* a real second one */
	madt_override(&t, 0, 0, 2, 0);
	madt_override(&t, 0, 0, 5, LEVEL_HIGH); /* IRQ 0 again */
	madt_override(&t, 1, 4, 20, 0);	       /* not ISA */
	madt_nmi(&t, 0xff, 0, 2);	       /* no LINT2 */
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.cpu_count, 2);
	CHECK_EQ(info.cpus[0].uid, 0);
	CHECK_EQ(info.cpus[1].apic_id, 1);
	CHECK_EQ(info.cpus[1].uid, 8);
	CHECK(info.cpus[1].enabled);
	CHECK_EQ(info.cpus_dropped, 0);
	CHECK_EQ(info.ioapic_count, 2);
	CHECK_EQ(info.ioapics[1].id, 3);
	CHECK_EQ(info.ioapics[1].gsi_base, 24);
	CHECK_EQ(info.ioapics_dropped, 0);
	CHECK_EQ(info.override_count, 1);
	CHECK_EQ(info.overrides[0].gsi, 2);
	CHECK_EQ(acpi_isa_irq_gsi(&info, 4, NULL), 4);
	CHECK_EQ(info.nmi_count, 0);
}

TEST(hpet_non_memory_address_space)
{
	qemu_setup();
	put_hpet(HPET, 1, 0x500); /* port I/O */
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.hpet_address, 0);
	CHECK_EQ(info.bad_tables, 0);

	/* A later usable HPET is taken; one after that is not. */
	put_hpet(0x30000, 0, 0xfed10000);
	put_hpet(0x31000, 0, 0xfed20000);
	uint64_t tables[] = {MADT, HPET, 0x30000, 0x31000};
	set_tables(false, 4, tables);
	watch_at = 0x31000;
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.hpet_address, 0xfed10000);
	CHECK_EQ(map_max_len_at_watch, 36);

	/* Memory space but address 0: unusable. */
	put_hpet(HPET, 0, 0);
	uint64_t one[] = {MADT, HPET};
	set_tables(false, 2, one);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.hpet_address, 0);
}

TEST(hpet_bad_checksum)
{
	qemu_setup();
	phys[HPET + 45] ^= 0x40;
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.hpet_address, 0);
	CHECK_EQ(info.bad_tables, 1);
}

TEST(mcfg_partial_trailing_entry)
{
	qemu_setup();
	struct tb t = mcfg_begin(MCFG);
	mcfg_entry(&t, ECAM_ADDR, 0, 0, 63);
	mcfg_entry(&t, 0xc0000000, 1, 64, 127);
	mcfg_entry(&t, 0xd0000000, 2, 10, 9); /* end before start */
	mcfg_entry(&t, 0, 3, 0, 255);	       /* no base */
	tb64(&t, 0xe0000000);		       /* half an entry */
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.mcfg_count, 2);
	CHECK_EQ(info.mcfg[1].base, 0xc0000000);
	CHECK_EQ(info.mcfg[1].segment, 1);
	CHECK_EQ(info.mcfg[1].start_bus, 64);
	CHECK_EQ(info.mcfg[1].end_bus, 127);
	CHECK_EQ(info.mcfg_dropped, 0);

	/* An MCFG without room for its reserved field is invalid. */
	qemu_setup();
	t = tb_begin(MCFG, "MCFG");
	tb32(&t, 0);
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.mcfg_count, 0);
	CHECK_EQ(info.bad_tables, 1);

	/* An empty one is valid. */
	qemu_setup();
	t = mcfg_begin(MCFG);
	tb_end(&t);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK_EQ(info.mcfg_count, 0);
	CHECK_EQ(info.bad_tables, 0);
}

TEST(oem_id_sanitized)
{
	qemu_setup();
	memcpy(phys + RSDP + 9, "AB\x01\xff" "C\0", 6);
	fix_checksum(RSDP, 20, 8);
	CHECK_EQ(parse(RSDP), ACPI_OK);
	CHECK(strcmp(info.oem_id, "AB??C") == 0);
}

TEST(strerror_every_code)
{
	for (int i = 0; i < ACPI_ERR_COUNT; i++) {
		const char *s = acpi_strerror(i);
		CHECK(s && s[0]);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(s, acpi_strerror(j)) != 0);
	}
	CHECK(acpi_strerror(ACPI_ERR_COUNT)[0]);
	CHECK(acpi_strerror(-1)[0]);
	CHECK(acpi_strerror(12345)[0]);
}

/* Random damage to every table we read, checksums fixed so the damage is
 * parsed: whatever the result, no out-of-bounds read (ASan) and every count
 * within its array. */
TEST(random_damage_stays_in_bounds)
{
	uint32_t seed = 12345;
	for (int round = 0; round < 3000; round++) {
		qemu_setup();
		static const struct {
			uint64_t at;
			uint32_t sum_off;
		} targets[] = {{MADT, 9}, {HPET, 9}, {MCFG, 9}, {ROOT, 9}};
		int k = round % 4;
		uint64_t at = targets[k].at;
		uint32_t len = phys[at + 4] | (uint32_t)phys[at + 5] << 8;
		int hits = 1 + round % 5;
		for (int h = 0; h < hits; h++) {
			seed = seed * 1103515245u + 12345u;
			uint32_t off = (seed >> 8) % (len + 8);
			seed = seed * 1103515245u + 12345u;
			phys[at + off] = (uint8_t)(seed >> 16);
		}
		uint32_t new_len = phys[at + 4] | (uint32_t)phys[at + 5] << 8;
		if (new_len >= 36 && new_len < 0x1000)
			fix_checksum(at, new_len, targets[k].sum_off);
		int err = parse(RSDP);
		CHECK(err >= 0 && err < ACPI_ERR_COUNT);
		CHECK(info.cpu_count <= ACPI_MAX_CPUS);
		CHECK(info.ioapic_count <= ACPI_MAX_IOAPICS);
		CHECK(info.override_count <= ACPI_MAX_OVERRIDES);
		CHECK(info.nmi_count <= ACPI_MAX_NMIS);
		CHECK(info.mcfg_count <= ACPI_MAX_MCFG);
		CHECK(memchr(info.oem_id, 0, sizeof(info.oem_id)));
	}
}
