/*
 * Kestrel kernel API: driver capabilities (flags and limits; the calls are
 * in syscall.h, the model in docs/kernel/devices.md).
 *
 * Drivers reach hardware only through capabilities that the kernel hands
 * to init at boot and init hands on:
 *   - an I/O-port range (KESTREL_OBJ_IOPORTS): ports [base, base+count).
 *     init gets all 65536 ports; ioports_create() carves sub-ranges.
 *     Port I/O goes through ioport_in()/ioport_out(), each checked
 *     against the range (no TSS I/O bitmap: `in`/`out` in user mode
 *     still fault).
 *   - the IRQ-control capability (KESTREL_OBJ_IRQ, control kind): the
 *     right to bind interrupt lines. irq_create() binds one IO APIC
 *     global system interrupt (GSI) to a new IRQ object (line kind),
 *     whose interrupts complete asynchronous waits (irq_submit) into a
 *     completion queue as KESTREL_REC_IRQ records.
 *   - the physical-range capability (KESTREL_OBJ_PHYSICAL): the right to
 *     make memory objects over device memory (MMIO) with
 *     memory_physical_range(), mapped with space_map() like any other.
 */
#ifndef KESTREL_DEVICE_H
#define KESTREL_DEVICE_H

#include <stdint.h>

/* I/O ports: 0 .. KESTREL_IOPORTS_COUNT-1. */
#define KESTREL_IOPORTS_COUNT 65536u

/* irq_create() flags. Trigger mode and polarity of the line, as wired on
 * the board (ACPI tells which: MADT overrides for ISA IRQs, _PRT for PCI). */
#define KESTREL_IRQ_EDGE 0u              /* edge triggered (the default) */
#define KESTREL_IRQ_LEVEL (1u << 0)      /* level triggered */
#define KESTREL_IRQ_ACTIVE_HIGH 0u       /* the default */
#define KESTREL_IRQ_ACTIVE_LOW (1u << 1)
/* The number is an ISA IRQ (0..15), not a GSI: the kernel maps it to its
 * GSI and takes trigger mode and polarity from the firmware (ACPI MADT
 * interrupt source overrides; ISA default: edge, active high). The
 * EDGE/LEVEL and polarity bits must then be 0. */
#define KESTREL_IRQ_ISA (1u << 2)
#define KESTREL_IRQ_FLAGS_MASK 0x7u

/*
 * IRQ completions (KESTREL_REC_IRQ, a struct kestrel_completion with no
 * results): tag = the waiter's tag; status = the sequence number (>= 1) of
 * the latest interrupt on the line, counted from 1 since irq_create(), or
 * -KE_CANCELLED (cancel(), or the IRQ object closed). Interrupts that
 * arrive while nobody waits are counted, not lost: the next wait completes
 * at once with the newest sequence number, so a burst of interrupts costs
 * one completion (the gap between sequence numbers tells how many there
 * were). A wait completes only for an interrupt newer than the last one
 * reported.
 *
 * Level-triggered lines are masked by the kernel when they fire and stay
 * masked until irq_ack() with the sequence number last reported: ack
 * after the device has stopped asserting the line. Edge-triggered lines
 * are never masked (a masked IO APIC pin drops edges); irq_ack() on them
 * only checks its arguments.
 */

/* memory_physical_range() cache modes. */
#define KESTREL_CACHE_UNCACHED 0u        /* device registers (x86: UC) */
#define KESTREL_CACHE_WRITE_THROUGH 1u   /* (x86: WT) */
#define KESTREL_CACHE_WRITE_COMBINING 2u /* frame buffers: KE_NOT_SUPPORTED for now */

#endif
