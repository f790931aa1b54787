/*
 * IRQ objects (KESTREL_OBJ_IRQ, <kestrel/device.h>): interrupt lines bound
 * for user-space drivers, and the IRQ-control capability that binds them.
 *
 * Lock order: an IRQ line's lock (LOCK_ORDER_IRQ) comes before the queue
 * locks (completing a wait) and the IO APIC lock (masking); the line lock
 * is taken in interrupt context, which spinlocks allow.
 */
#ifndef KERNEL_IRQ_H
#define KERNEL_IRQ_H

#include <stdint.h>

#include "kobject.h"

struct queue_pending;

/* The IRQ-control capability, for init (one reference, the caller's);
 * NULL when out of memory. */
struct kobject *irq_control_create(void);

/* An interrupt on GSI gsi (arch vector handler, interrupts off; the EOI
 * is sent after this returns). */
void irq_interrupt(uint32_t gsi);

/* cancel(queue, tag) found an IRQ wait and unlinked it from the queue
 * (queue lock released): complete it with KE_CANCELLED and free it. */
void irq_cancel_wait(struct queue_pending *p);

int64_t sys_irq_create(int64_t control, uint64_t number, uint64_t flags);
int64_t sys_irq_submit(int64_t irq, int64_t queue, uint64_t tag);
int64_t sys_irq_ack(int64_t irq, uint64_t sequence);

#endif
