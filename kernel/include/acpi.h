/*
 * The ACPI tables the kernel needs at boot: the MADT (CPUs, IO APICs,
 * interrupt overrides, local APIC NMIs), the HPET table and the MCFG
 * (PCI Express configuration space). No AML: nothing else is read.
 *
 * acpi_parse() is pure code: it reaches physical memory only through the
 * caller's map function, so the host unit tests run it on canned tables.
 * See kernel/generic/acpi.c for the validation rules.
 */
#ifndef KERNEL_ACPI_H
#define KERNEL_ACPI_H

#include <stdbool.h>
#include <stdint.h>

/* Array limits. An entry that does not fit is dropped and counted in the
 * matching *_dropped field; the first entries (in the order described at
 * each array) are the ones kept. */
#define ACPI_MAX_CPUS 64
#define ACPI_MAX_IOAPICS 16
#define ACPI_MAX_OVERRIDES 32
#define ACPI_MAX_NMIS 16
#define ACPI_MAX_MCFG 16

/* Largest table acpi_parse() accepts, as a guard against garbage lengths. */
#define ACPI_MAX_TABLE_LENGTH (16u << 20)

/* acpi_parse() results: 0 or a positive code. */
enum {
	ACPI_OK = 0,
	ACPI_ERR_NO_RSDP,	  /* no RSDP address */
	ACPI_ERR_RSDP_UNMAPPED,	  /* the map function refused the RSDP */
	ACPI_ERR_RSDP_SIGNATURE,  /* not "RSD PTR " */
	ACPI_ERR_RSDP_CHECKSUM,	  /* the first 20 bytes do not sum to 0 */
	ACPI_ERR_RSDP_LENGTH,	  /* revision >= 2 with length < 36 or > 4 KiB */
	ACPI_ERR_RSDP_XCHECKSUM,  /* revision >= 2: extended checksum wrong */
	ACPI_ERR_ROOT_UNMAPPED,	  /* RSDT/XSDT address 0 or refused by map */
	ACPI_ERR_ROOT_SIGNATURE,  /* the root table is not "RSDT"/"XSDT" */
	ACPI_ERR_ROOT_LENGTH,	  /* root table length < 36 or too large */
	ACPI_ERR_ROOT_CHECKSUM,	  /* root table checksum wrong */
	ACPI_ERR_NO_MADT,	  /* no MADT with a valid checksum and length */
	ACPI_ERR_MADT_CORRUPT,	  /* MADT entries malformed (see acpi.c) */
	ACPI_ERR_COUNT,		  /* number of codes, not a result */
};

/* A processor from a MADT Local APIC (type 0) or Local x2APIC (type 9)
 * entry. Entries flagged neither enabled nor online-capable are unusable
 * and not listed. */
struct acpi_cpu {
	uint32_t apic_id;
	uint32_t uid;	 /* ACPI processor UID, matches acpi_lapic_nmi.uid */
	bool enabled;	 /* running now; else online-capable (hot-pluggable) */
	bool x2apic;	 /* listed by a type 9 entry */
};

struct acpi_ioapic {
	uint64_t address; /* physical address of the registers */
	uint32_t gsi_base; /* first global system interrupt it serves */
	uint8_t id;
};

/* MPS INTI flags, as used by overrides and NMI entries. "Conforms" means
 * the bus default: for ISA, active high and edge triggered. */
#define ACPI_INTI_POLARITY_MASK 0x3
#define ACPI_INTI_POLARITY_CONFORMS 0x0
#define ACPI_INTI_POLARITY_HIGH 0x1
#define ACPI_INTI_POLARITY_LOW 0x3
#define ACPI_INTI_TRIGGER_MASK 0xc
#define ACPI_INTI_TRIGGER_CONFORMS 0x0
#define ACPI_INTI_TRIGGER_EDGE 0x4
#define ACPI_INTI_TRIGGER_LEVEL 0xc

/* An interrupt source override (type 2): ISA IRQ source_irq is wired to
 * global system interrupt gsi. Only ISA (bus 0) overrides are listed. */
struct acpi_override {
	uint8_t source_irq;
	uint32_t gsi;
	uint16_t flags; /* ACPI_INTI_* */
};

/* Processor UID meaning "every processor" in acpi_lapic_nmi.uid. */
#define ACPI_UID_ALL 0xffffffffu

/* A Local APIC NMI entry (type 4, or x2APIC type 10): the NMI comes in on
 * LINT0 or LINT1 of the processors with this UID. */
struct acpi_lapic_nmi {
	uint32_t uid;	/* ACPI_UID_ALL for all processors */
	uint16_t flags; /* ACPI_INTI_* */
	uint8_t lint;	/* 0 or 1 */
};

/* A PCI Express ECAM window (MCFG entry). */
struct acpi_mcfg {
	uint64_t base; /* physical address of bus 0's configuration space */
	uint16_t segment;
	uint8_t start_bus;
	uint8_t end_bus; /* >= start_bus */
};

struct acpi_info {
	uint8_t rsdp_revision; /* 0: ACPI 1.0 (RSDT), >= 2: ACPI 2.0+ */
	char oem_id[7];	       /* from the RSDP, NUL-terminated, printable */
	bool xsdt;	       /* the XSDT (not the RSDT) was used */
	uint32_t bad_tables;   /* MADT/HPET/MCFG tables skipped as invalid */

	/* MADT */
	uint64_t lapic_address; /* after any Local APIC Address Override */
	bool legacy_pics;	/* PCAT_COMPAT: 8259 PICs present (mask them) */
	/* Enabled CPUs first, in MADT order (the boot CPU is normally the
	 * first), then the online-capable ones. A repeated APIC id is
	 * ignored. */
	uint32_t cpu_count;
	uint32_t cpus_dropped;
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	/* MADT order; an entry repeating an earlier address or GSI base is
	 * ignored (overlapping). */
	uint32_t ioapic_count;
	uint32_t ioapics_dropped;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	/* MADT order; a second override of the same ISA IRQ is ignored. */
	uint32_t override_count;
	uint32_t overrides_dropped;
	struct acpi_override overrides[ACPI_MAX_OVERRIDES];
	uint32_t nmi_count;
	uint32_t nmis_dropped;
	struct acpi_lapic_nmi nmis[ACPI_MAX_NMIS];

	/* HPET: 0 if no usable HPET table (the first usable one wins). */
	uint64_t hpet_address;

	/* MCFG, table order; entries with end_bus < start_bus are ignored. */
	uint32_t mcfg_count;
	uint32_t mcfg_dropped;
	struct acpi_mcfg mcfg[ACPI_MAX_MCFG];
};

/*
 * Map len bytes of physical memory at phys for reading, or return NULL if
 * that is not possible. The parser uses each pointer only until its next
 * call, so a single temporary mapping window is enough.
 */
typedef const void *(*acpi_map_fn)(void *ctx, uint64_t phys, uint64_t len);

/*
 * Read the tables reachable from the RSDP at rsdp_phys into *out.
 * Returns 0 or an ACPI_ERR_* code. *out is always left consistent (every
 * count within its array, anything not found zero): after an MADT error it
 * still holds the RSDP, HPET and MCFG information and whatever MADT entries
 * came before the corruption.
 */
int acpi_parse(uint64_t rsdp_phys, acpi_map_fn map, void *ctx, struct acpi_info *out);

/* A short description of an acpi_parse() result; never NULL or empty. */
const char *acpi_strerror(int err);

/* The GSI that ISA IRQ irq arrives on, with its ACPI_INTI_* flags
 * (ACPI_INTI_*_CONFORMS, i.e. active high edge, without an override). */
uint32_t acpi_isa_irq_gsi(const struct acpi_info *info, uint8_t irq, uint16_t *flags);

#endif
