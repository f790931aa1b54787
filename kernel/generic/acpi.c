/*
 * ACPI table parser (see acpi.h): from the RSDP to the RSDT or XSDT, and
 * from there to the MADT ("APIC"), the HPET table and the MCFG. Firmware
 * tables are input we do not control, so every length and count is checked
 * before it is used, and multi-byte fields are assembled byte by byte, only
 * inside a length already checked (tables are packed and often unaligned).
 *
 * Validation rules:
 * - RSDP: signature "RSD PTR ", checksum over its first 20 bytes. From
 *   revision 2 on, also a length of 36 bytes to 4 KiB and the extended
 *   checksum over that length. The XSDT (64-bit entries) is used if the
 *   revision is >= 2 and its address is not 0, else the RSDT (32-bit).
 * - Every table: the 36-byte header is mapped first; its length must be
 *   36 to ACPI_MAX_TABLE_LENGTH, then the whole length is mapped and must
 *   sum to 0 mod 256. Only the tables we use are validated: others are
 *   never mapped beyond their header.
 * - The RSDP and the root table are required: any failure there is an
 *   error. The root lists (length - 36) / entry size tables; trailing bytes
 *   that make no whole entry are ignored.
 * - MADT, HPET and MCFG are optional one by one: an invalid one (unmapped,
 *   bad length, bad checksum, too short for its fixed fields) is skipped
 *   and counted in bad_tables, and a later valid copy is used instead. The
 *   first valid copy of each wins. The kernel cannot do SMP or IO APIC
 *   interrupts without an MADT, so its absence is ACPI_ERR_NO_MADT.
 * - MADT entries are walked with strict bounds. An entry of length < 2 or
 *   running past the end of the table stops the walk; fewer than 2 bytes
 *   left at the end are padding and ignored. An entry of a known type too
 *   short for its fields is skipped, the walk going on. Either makes the
 *   parse fail with ACPI_ERR_MADT_CORRUPT: interrupt routing from a partial
 *   picture is worse than the boot-CPU-only fallback. *out still holds
 *   what was read.
 * - Values that cannot be right are ignored entry by entry, not errors:
 *   CPUs neither enabled nor online-capable, a type 0 APIC id of 0xff (the
 *   broadcast id), non-ISA overrides, NMIs on a LINT other than 0 or 1,
 *   MCFG windows with base 0 or end bus < start bus. Repeats (same APIC id,
 *   same IO APIC address or GSI base, same ISA IRQ) keep the first entry.
 *
 * The map function's pointers are used only until its next call: values
 * that must outlive a mapping are copied out first.
 */
#include "acpi.h"

#include "kstring.h"

#define ACPI_HEADER_LENGTH 36
#define ACPI_RSDP_V1_LENGTH 20
#define ACPI_RSDP_V2_LENGTH 36
#define ACPI_RSDP_MAX_LENGTH 4096

#define ACPI_MADT_ENTRIES 44 /* after the local APIC address and flags */
#define ACPI_MADT_PCAT_COMPAT 0x1
#define ACPI_MADT_LAPIC 0
#define ACPI_MADT_IOAPIC 1
#define ACPI_MADT_OVERRIDE 2
#define ACPI_MADT_LAPIC_NMI 4
#define ACPI_MADT_LAPIC_ADDRESS 5
#define ACPI_MADT_X2APIC 9
#define ACPI_MADT_X2APIC_NMI 10
#define ACPI_CPU_ENABLED 0x1
#define ACPI_CPU_ONLINE_CAPABLE 0x2

#define ACPI_HPET_MIN_LENGTH 52 /* through the base address GAS */
#define ACPI_MCFG_ENTRIES 44
#define ACPI_MCFG_ENTRY_LENGTH 16

struct acpi_mapper {
	acpi_map_fn map;
	void *ctx;
};

/* What acpi_parse() learns while walking the root table. */
struct acpi_state {
	bool madt_found;
	int madt_err;
	bool mcfg_found;
};

static uint16_t acpi_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t acpi_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t acpi_rd64(const uint8_t *p)
{
	return (uint64_t)acpi_rd32(p) | (uint64_t)acpi_rd32(p + 4) << 32;
}

static uint8_t acpi_sum(const uint8_t *p, uint64_t len)
{
	uint8_t sum = 0;
	for (uint64_t i = 0; i < len; i++)
		sum += p[i];
	return sum;
}

static const uint8_t *acpi_map_bytes(const struct acpi_mapper *m, uint64_t phys, uint64_t len)
{
	if (len == 0 || phys + len < phys)
		return 0;
	return m->map(m->ctx, phys, len);
}

/* ---- Tables ---- */

enum acpi_table_status {
	ACPI_TABLE_OK,
	ACPI_TABLE_UNMAPPED,
	ACPI_TABLE_LENGTH,
	ACPI_TABLE_CHECKSUM,
};

/* Read the signature and length of the table at phys. */
static bool acpi_table_header(const struct acpi_mapper *m, uint64_t phys, char sig[4],
			      uint32_t *length)
{
	const uint8_t *h = phys ? acpi_map_bytes(m, phys, ACPI_HEADER_LENGTH) : 0;
	if (!h)
		return false;
	memcpy(sig, h, 4);
	*length = acpi_rd32(h + 4);
	return true;
}

/* Map the whole table of the given length and verify its checksum. */
static enum acpi_table_status acpi_table_load(const struct acpi_mapper *m, uint64_t phys,
					      uint32_t length, const uint8_t **table)
{
	if (length < ACPI_HEADER_LENGTH || length > ACPI_MAX_TABLE_LENGTH)
		return ACPI_TABLE_LENGTH;
	const uint8_t *t = acpi_map_bytes(m, phys, length);
	if (!t)
		return ACPI_TABLE_UNMAPPED;
	if (acpi_sum(t, length) != 0)
		return ACPI_TABLE_CHECKSUM;
	*table = t;
	return ACPI_TABLE_OK;
}

/* ---- MADT ---- */

/* One walk over the MADT entries. Pass 0 takes everything except the
 * online-capable CPUs, pass 1 only those, so that enabled CPUs have first
 * claim on the array. */
struct acpi_madt_walk {
	struct acpi_info *out;
	int pass;
	bool lapic_override;
};

static void acpi_add_cpu(struct acpi_madt_walk *w, uint32_t apic_id, uint32_t uid,
			 uint32_t flags, bool x2apic)
{
	struct acpi_info *out = w->out;
	bool enabled = flags & ACPI_CPU_ENABLED;
	if (!enabled && !(flags & ACPI_CPU_ONLINE_CAPABLE))
		return; /* unusable */
	if (enabled != (w->pass == 0))
		return;
	for (uint32_t i = 0; i < out->cpu_count; i++)
		if (out->cpus[i].apic_id == apic_id)
			return;
	if (out->cpu_count == ACPI_MAX_CPUS) {
		out->cpus_dropped++;
		return;
	}
	out->cpus[out->cpu_count++] =
		(struct acpi_cpu){.apic_id = apic_id, .uid = uid, .enabled = enabled, .x2apic = x2apic};
}

static void acpi_add_ioapic(struct acpi_info *out, uint8_t id, uint64_t address, uint32_t gsi_base)
{
	for (uint32_t i = 0; i < out->ioapic_count; i++)
		if (out->ioapics[i].address == address || out->ioapics[i].gsi_base == gsi_base)
			return;
	if (out->ioapic_count == ACPI_MAX_IOAPICS) {
		out->ioapics_dropped++;
		return;
	}
	out->ioapics[out->ioapic_count++] =
		(struct acpi_ioapic){.address = address, .gsi_base = gsi_base, .id = id};
}

static void acpi_add_override(struct acpi_info *out, uint8_t bus, uint8_t irq, uint32_t gsi,
			      uint16_t flags)
{
	if (bus != 0)
		return; /* only ISA overrides are defined */
	for (uint32_t i = 0; i < out->override_count; i++)
		if (out->overrides[i].source_irq == irq)
			return;
	if (out->override_count == ACPI_MAX_OVERRIDES) {
		out->overrides_dropped++;
		return;
	}
	out->overrides[out->override_count++] =
		(struct acpi_override){.source_irq = irq, .gsi = gsi, .flags = flags};
}

static void acpi_add_nmi(struct acpi_info *out, uint32_t uid, uint16_t flags, uint8_t lint)
{
	if (lint > 1)
		return;
	if (out->nmi_count == ACPI_MAX_NMIS) {
		out->nmis_dropped++;
		return;
	}
	out->nmis[out->nmi_count++] = (struct acpi_lapic_nmi){.uid = uid, .flags = flags, .lint = lint};
}

/* Returns false if the entry is too short for its type. */
static bool acpi_madt_entry(struct acpi_madt_walk *w, const uint8_t *e, uint8_t len)
{
	struct acpi_info *out = w->out;
	switch (e[0]) {
	case ACPI_MADT_LAPIC:
		if (len < 8)
			return false;
		if (e[3] != 0xff)
			acpi_add_cpu(w, e[3], e[2], acpi_rd32(e + 4), false);
		return true;
	case ACPI_MADT_X2APIC:
		if (len < 16)
			return false;
		acpi_add_cpu(w, acpi_rd32(e + 4), acpi_rd32(e + 12), acpi_rd32(e + 8), true);
		return true;
	}
	if (w->pass != 0)
		return true;
	switch (e[0]) {
	case ACPI_MADT_IOAPIC:
		if (len < 12)
			return false;
		acpi_add_ioapic(out, e[2], acpi_rd32(e + 4), acpi_rd32(e + 8));
		return true;
	case ACPI_MADT_OVERRIDE:
		if (len < 10)
			return false;
		acpi_add_override(out, e[2], e[3], acpi_rd32(e + 4), acpi_rd16(e + 8));
		return true;
	case ACPI_MADT_LAPIC_NMI:
		if (len < 6)
			return false;
		acpi_add_nmi(out, e[2] == 0xff ? ACPI_UID_ALL : e[2], acpi_rd16(e + 3), e[5]);
		return true;
	case ACPI_MADT_X2APIC_NMI:
		if (len < 12)
			return false;
		acpi_add_nmi(out, acpi_rd32(e + 4), acpi_rd16(e + 2), e[8]);
		return true;
	case ACPI_MADT_LAPIC_ADDRESS:
		if (len < 12)
			return false;
		/* At most one is allowed: the first wins. */
		if (!w->lapic_override && acpi_rd64(e + 4)) {
			out->lapic_address = acpi_rd64(e + 4);
			w->lapic_override = true;
		}
		return true;
	}
	return true; /* a type we do not use */
}

/* Returns false if any entry was malformed. */
static bool acpi_madt_walk(struct acpi_madt_walk *w, const uint8_t *t, uint32_t length)
{
	bool ok = true;
	uint32_t off = ACPI_MADT_ENTRIES;
	while (length - off >= 2) {
		const uint8_t *e = t + off;
		uint8_t len = e[1];
		if (len < 2 || len > length - off)
			return false;
		if (!acpi_madt_entry(w, e, len))
			ok = false;
		off += len;
	}
	return ok;
}

static int acpi_parse_madt(const uint8_t *t, uint32_t length, struct acpi_info *out)
{
	out->lapic_address = acpi_rd32(t + 36);
	out->legacy_pics = acpi_rd32(t + 40) & ACPI_MADT_PCAT_COMPAT;
	struct acpi_madt_walk w = {.out = out, .pass = 0};
	bool ok = acpi_madt_walk(&w, t, length);
	w.pass = 1;
	acpi_madt_walk(&w, t, length);
	if (!ok || !out->lapic_address)
		return ACPI_ERR_MADT_CORRUPT;
	return ACPI_OK;
}

/* ---- HPET and MCFG ---- */

/* Returns false if the table is too short to be an HPET table. */
static bool acpi_parse_hpet(const uint8_t *t, uint32_t length, struct acpi_info *out)
{
	if (length < ACPI_HPET_MIN_LENGTH)
		return false;
	/* Base address GAS at 40: address space id, widths, then the address. */
	if (t[40] == 0) /* system memory; port I/O HPETs are unusable */
		out->hpet_address = acpi_rd64(t + 44);
	return true;
}

static bool acpi_parse_mcfg(const uint8_t *t, uint32_t length, struct acpi_info *out)
{
	if (length < ACPI_MCFG_ENTRIES)
		return false;
	uint32_t n = (length - ACPI_MCFG_ENTRIES) / ACPI_MCFG_ENTRY_LENGTH;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = t + ACPI_MCFG_ENTRIES + i * ACPI_MCFG_ENTRY_LENGTH;
		struct acpi_mcfg mc = {.base = acpi_rd64(e),
				       .segment = acpi_rd16(e + 8),
				       .start_bus = e[10],
				       .end_bus = e[11]};
		if (!mc.base || mc.end_bus < mc.start_bus)
			continue;
		if (out->mcfg_count == ACPI_MAX_MCFG) {
			out->mcfg_dropped++;
			continue;
		}
		out->mcfg[out->mcfg_count++] = mc;
	}
	return true;
}

/* ---- The root ---- */

/* One table listed by the root: parse it if it is one we use. */
static void acpi_table(const struct acpi_mapper *m, uint64_t phys, struct acpi_info *out,
		       struct acpi_state *st)
{
	char sig[4];
	uint32_t length;
	if (!acpi_table_header(m, phys, sig, &length)) {
		out->bad_tables++;
		return;
	}
	bool madt = !memcmp(sig, "APIC", 4) && !st->madt_found;
	bool hpet = !memcmp(sig, "HPET", 4) && !out->hpet_address;
	bool mcfg = !memcmp(sig, "MCFG", 4) && !st->mcfg_found;
	if (!madt && !hpet && !mcfg)
		return;
	const uint8_t *t;
	if (acpi_table_load(m, phys, length, &t) != ACPI_TABLE_OK) {
		out->bad_tables++;
		return;
	}
	if (madt) {
		if (length < ACPI_MADT_ENTRIES) {
			out->bad_tables++;
			return;
		}
		st->madt_found = true;
		st->madt_err = acpi_parse_madt(t, length, out);
	} else if (hpet) {
		if (!acpi_parse_hpet(t, length, out))
			out->bad_tables++;
	} else if (acpi_parse_mcfg(t, length, out)) {
		st->mcfg_found = true;
	} else {
		out->bad_tables++;
	}
}

static void acpi_copy_oem_id(char dst[7], const uint8_t *src)
{
	int i = 0;
	for (; i < 6 && src[i]; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	dst[i] = 0;
}

/* Validate the RSDP; on success *root and *entry_size name the root table. */
static int acpi_rsdp(const struct acpi_mapper *m, uint64_t phys, struct acpi_info *out,
		     uint64_t *root, uint32_t *entry_size)
{
	const uint8_t *r = acpi_map_bytes(m, phys, ACPI_RSDP_V1_LENGTH);
	if (!r)
		return ACPI_ERR_RSDP_UNMAPPED;
	if (memcmp(r, "RSD PTR ", 8))
		return ACPI_ERR_RSDP_SIGNATURE;
	if (acpi_sum(r, ACPI_RSDP_V1_LENGTH))
		return ACPI_ERR_RSDP_CHECKSUM;
	out->rsdp_revision = r[15];
	acpi_copy_oem_id(out->oem_id, r + 9);
	*root = acpi_rd32(r + 16);
	*entry_size = 4;
	if (out->rsdp_revision < 2)
		return ACPI_OK;

	r = acpi_map_bytes(m, phys, ACPI_RSDP_V2_LENGTH);
	if (!r)
		return ACPI_ERR_RSDP_UNMAPPED;
	uint32_t length = acpi_rd32(r + 20);
	if (length < ACPI_RSDP_V2_LENGTH || length > ACPI_RSDP_MAX_LENGTH)
		return ACPI_ERR_RSDP_LENGTH;
	r = acpi_map_bytes(m, phys, length);
	if (!r)
		return ACPI_ERR_RSDP_UNMAPPED;
	if (acpi_sum(r, length))
		return ACPI_ERR_RSDP_XCHECKSUM;
	uint64_t xsdt = acpi_rd64(r + 24);
	if (xsdt) {
		*root = xsdt;
		*entry_size = 8;
	}
	return ACPI_OK;
}

int acpi_parse(uint64_t rsdp_phys, acpi_map_fn map, void *ctx, struct acpi_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!rsdp_phys || !map)
		return ACPI_ERR_NO_RSDP;
	struct acpi_mapper m = {.map = map, .ctx = ctx};

	uint64_t root;
	uint32_t entry_size;
	int err = acpi_rsdp(&m, rsdp_phys, out, &root, &entry_size);
	if (err)
		return err;
	out->xsdt = entry_size == 8;

	char sig[4];
	uint32_t length;
	if (!acpi_table_header(&m, root, sig, &length))
		return ACPI_ERR_ROOT_UNMAPPED;
	if (memcmp(sig, out->xsdt ? "XSDT" : "RSDT", 4))
		return ACPI_ERR_ROOT_SIGNATURE;
	const uint8_t *t;
	switch (acpi_table_load(&m, root, length, &t)) {
	case ACPI_TABLE_OK:
		break;
	case ACPI_TABLE_UNMAPPED:
		return ACPI_ERR_ROOT_UNMAPPED;
	case ACPI_TABLE_LENGTH:
		return ACPI_ERR_ROOT_LENGTH;
	case ACPI_TABLE_CHECKSUM:
		return ACPI_ERR_ROOT_CHECKSUM;
	}

	/* Each entry is mapped afresh: parsing a table reuses the mapping. */
	struct acpi_state st = {0};
	uint32_t n = (length - ACPI_HEADER_LENGTH) / entry_size;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e =
			acpi_map_bytes(&m, root + ACPI_HEADER_LENGTH + (uint64_t)i * entry_size, entry_size);
		if (!e)
			return ACPI_ERR_ROOT_UNMAPPED;
		uint64_t phys = entry_size == 8 ? acpi_rd64(e) : acpi_rd32(e);
		acpi_table(&m, phys, out, &st);
	}
	if (!st.madt_found)
		return ACPI_ERR_NO_MADT;
	return st.madt_err;
}

const char *acpi_strerror(int err)
{
	switch (err) {
	case ACPI_OK:
		return "no error";
	case ACPI_ERR_NO_RSDP:
		return "no RSDP";
	case ACPI_ERR_RSDP_UNMAPPED:
		return "RSDP not mappable";
	case ACPI_ERR_RSDP_SIGNATURE:
		return "bad RSDP signature";
	case ACPI_ERR_RSDP_CHECKSUM:
		return "bad RSDP checksum";
	case ACPI_ERR_RSDP_LENGTH:
		return "bad RSDP length";
	case ACPI_ERR_RSDP_XCHECKSUM:
		return "bad RSDP extended checksum";
	case ACPI_ERR_ROOT_UNMAPPED:
		return "RSDT/XSDT not mappable";
	case ACPI_ERR_ROOT_SIGNATURE:
		return "bad RSDT/XSDT signature";
	case ACPI_ERR_ROOT_LENGTH:
		return "bad RSDT/XSDT length";
	case ACPI_ERR_ROOT_CHECKSUM:
		return "bad RSDT/XSDT checksum";
	case ACPI_ERR_NO_MADT:
		return "no valid MADT";
	case ACPI_ERR_MADT_CORRUPT:
		return "malformed MADT entries";
	}
	return "unknown ACPI error";
}

uint32_t acpi_isa_irq_gsi(const struct acpi_info *info, uint8_t irq, uint16_t *flags)
{
	for (uint32_t i = 0; i < info->override_count; i++) {
		if (info->overrides[i].source_irq == irq) {
			if (flags)
				*flags = info->overrides[i].flags;
			return info->overrides[i].gsi;
		}
	}
	if (flags)
		*flags = 0;
	return irq;
}
