/*
 * IO APICs: each serves a range of global system interrupts (GSIs) starting
 * at its GSI base. At boot every pin is masked; drivers route the GSIs they
 * own to a vector and CPU with ioapic_route().
 */
#include "acpi.h"
#include "lapic.h"
#include "log.h"
#include "spinlock.h"
#include "vm.h"

#define IOAPIC_MAX 16
#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPIC_VER 0x01
#define IOREDTBL(n) (0x10 + 2 * (n))

#define RTE_MASKED (1u << 16)
#define RTE_LEVEL (1u << 15)
#define RTE_ACTIVE_LOW (1u << 13)

struct ioapic {
	volatile uint32_t *regs;
	uint32_t gsi_base;
	uint32_t pins;
};

static struct ioapic ioapics[IOAPIC_MAX];
static uint32_t ioapic_count;
/* Register selection and access are two steps: one lock for all. */
static struct spinlock ioapic_lock = SPINLOCK_INIT("ioapic", LOCK_ORDER_IOAPIC);

static uint32_t ioapic_read(struct ioapic *io, uint32_t reg)
{
	io->regs[IOREGSEL / 4] = reg;
	return io->regs[IOWIN / 4];
}

static void ioapic_write(struct ioapic *io, uint32_t reg, uint32_t v)
{
	io->regs[IOREGSEL / 4] = reg;
	io->regs[IOWIN / 4] = v;
}

void ioapic_init(const struct acpi_info *acpi)
{
	for (uint32_t i = 0; i < acpi->ioapic_count && ioapic_count < IOAPIC_MAX; i++) {
		struct ioapic *io = &ioapics[ioapic_count];
		io->regs = vm_map_mmio(acpi->ioapics[i].address, 0x20);
		if (!io->regs) {
			log_warn("ioapic: cannot map %llx", (unsigned long long)acpi->ioapics[i].address);
			continue;
		}
		io->gsi_base = acpi->ioapics[i].gsi_base;
		io->pins = ((ioapic_read(io, IOAPIC_VER) >> 16) & 0xff) + 1;
		for (uint32_t pin = 0; pin < io->pins; pin++) {
			ioapic_write(io, IOREDTBL(pin) + 1, 0);
			ioapic_write(io, IOREDTBL(pin), RTE_MASKED);
		}
		log_debug("ioapic: id %u, GSIs %u-%u", acpi->ioapics[i].id, io->gsi_base,
			  io->gsi_base + io->pins - 1);
		ioapic_count++;
	}
}

static struct ioapic *ioapic_for(uint32_t gsi, uint32_t *pin)
{
	for (uint32_t i = 0; i < ioapic_count; i++) {
		if (gsi >= ioapics[i].gsi_base && gsi - ioapics[i].gsi_base < ioapics[i].pins) {
			*pin = gsi - ioapics[i].gsi_base;
			return &ioapics[i];
		}
	}
	return 0;
}

bool ioapic_serves(uint32_t gsi)
{
	uint32_t pin;
	return ioapic_for(gsi, &pin) != 0;
}

int ioapic_route(uint32_t gsi, uint8_t vector, uint32_t apic_id, bool level, bool active_low)
{
	uint32_t pin;
	struct ioapic *io = ioapic_for(gsi, &pin);
	if (!io || vector < 32)
		return -1;
	uint32_t low = vector | (level ? RTE_LEVEL : 0) | (active_low ? RTE_ACTIVE_LOW : 0);
	spin_lock(&ioapic_lock);
	ioapic_write(io, IOREDTBL(pin) + 1, apic_id << 24);
	ioapic_write(io, IOREDTBL(pin), low);
	spin_unlock(&ioapic_lock);
	return 0;
}

int ioapic_mask(uint32_t gsi, bool masked)
{
	uint32_t pin;
	struct ioapic *io = ioapic_for(gsi, &pin);
	if (!io)
		return -1;
	spin_lock(&ioapic_lock);
	uint32_t low = ioapic_read(io, IOREDTBL(pin));
	ioapic_write(io, IOREDTBL(pin), masked ? (low | RTE_MASKED) : (low & ~RTE_MASKED));
	spin_unlock(&ioapic_lock);
	return 0;
}
