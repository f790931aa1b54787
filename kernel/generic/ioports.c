/*
 * I/O-port capabilities (see ioports.h and docs/kernel/devices.md).
 *
 * Port I/O is done by the kernel on the driver's behalf, one system call
 * per access, after checking the port against the handle's range. The
 * alternative — the TSS I/O permission bitmap, switched with the address
 * space so that `in`/`out` run directly in user mode — is faster but needs
 * an 8 KiB bitmap per process and a TSS update at every switch; it can
 * replace these calls later without changing the capabilities.
 *
 * An ioports object is immutable after creation: no lock.
 */
#include "ioports.h"

#include <kestrel/device.h>
#include <kestrel/error.h>

#include "arch.h"
#include "handle.h"
#include "slab.h"

struct ioports {
	struct kobject obj;
	uint32_t base;
	uint32_t count; /* >= 1; base + count <= KESTREL_IOPORTS_COUNT */
};

#define IOPORTS_RIGHTS                                                                             \
	(KESTREL_RIGHT_READ | KESTREL_RIGHT_WRITE | KESTREL_RIGHT_CONTROL |                        \
	 KESTREL_RIGHT_TRANSFER | KESTREL_RIGHT_DUPLICATE)

static void ioports_destroy(struct kobject *obj)
{
	kfree(obj);
}

static struct ioports *ioports_new(uint32_t base, uint32_t count)
{
	struct ioports *p = kzalloc(sizeof(*p));
	if (!p)
		return 0;
	kobject_init(&p->obj, KESTREL_OBJ_IOPORTS, ioports_destroy);
	p->base = base;
	p->count = count;
	return p;
}

struct kobject *ioports_create_all(void)
{
	struct ioports *p = ioports_new(0, KESTREL_IOPORTS_COUNT);
	return p ? &p->obj : 0;
}

/* Does the range cover [first, first+n)? (64-bit arithmetic: the
 * arguments come straight from user registers.) */
static bool covers(const struct ioports *p, uint64_t first, uint64_t n)
{
	return first >= p->base && first - p->base <= p->count && n <= p->count - (first - p->base);
}

int64_t sys_ioports_create(int64_t h, uint64_t base, uint64_t count)
{
	struct kobject *obj;
	uint32_t rights;
	int rc = handle_get(h, KESTREL_OBJ_IOPORTS, KESTREL_RIGHT_CONTROL, &obj, &rights);
	if (rc)
		return rc;
	struct ioports *parent = (struct ioports *)obj;
	int64_t r;
	if (count == 0 || base >= KESTREL_IOPORTS_COUNT || count > KESTREL_IOPORTS_COUNT - base) {
		r = -KE_INVALID;
	} else if (!covers(parent, base, count)) {
		r = -KE_ACCESS;
	} else {
		struct ioports *p = ioports_new((uint32_t)base, (uint32_t)count);
		if (!p) {
			r = -KE_NO_MEMORY;
		} else {
			/* The sub-range has the rights of the handle it came from. */
			r = handle_install(&p->obj, rights & IOPORTS_RIGHTS);
			kobject_put(&p->obj);
		}
	}
	kobject_put(obj);
	return r;
}

static int port_check(int64_t h, uint32_t need, uint64_t port, uint64_t width)
{
	struct kobject *obj;
	int rc = handle_get(h, KESTREL_OBJ_IOPORTS, need, &obj, 0);
	if (rc)
		return rc;
	if (width != 1 && width != 2 && width != 4)
		rc = -KE_INVALID;
	else if (!covers((struct ioports *)obj, port, width))
		rc = -KE_ACCESS;
	kobject_put(obj);
	return rc;
}

int64_t sys_ioport_in(int64_t h, uint64_t port, uint64_t width)
{
	int rc = port_check(h, KESTREL_RIGHT_READ, port, width);
	if (rc)
		return rc;
	return arch_port_in((uint16_t)port, (unsigned)width);
}

int64_t sys_ioport_out(int64_t h, uint64_t port, uint64_t width, uint64_t value)
{
	int rc = port_check(h, KESTREL_RIGHT_WRITE, port, width);
	if (rc)
		return rc;
	if (width < 8 && (value >> (8 * width)) != 0)
		return -KE_INVALID;
	arch_port_out((uint16_t)port, (unsigned)width, (uint32_t)value);
	return 0;
}
