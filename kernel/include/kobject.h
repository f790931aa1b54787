/*
 * Kernel objects: what handles point at (<kestrel/object.h> lists the
 * types). Every object starts with a struct kobject holding its type, a
 * reference count and a unique id. References are held by handle-table
 * entries and by kernel code using the object; when the count drops to 0
 * the object's type-specific destroy function runs.
 *
 * kobject_put() may free memory and take the locks of the object's parts,
 * so callers must not hold spinlocks of order >= LOCK_ORDER_OBJECT.
 */
#ifndef KERNEL_KOBJECT_H
#define KERNEL_KOBJECT_H

#include <kestrel/object.h>
#include <stdbool.h>
#include <stdint.h>

struct kobject {
	uint32_t type;     /* enum kestrel_object_type */
	uint32_t refcount; /* atomic */
	uint64_t id;
	void (*destroy)(struct kobject *obj); /* frees the object */
};

/* Set up a new object with one reference (the caller's). */
void kobject_init(struct kobject *obj, uint32_t type, void (*destroy)(struct kobject *));
void kobject_get(struct kobject *obj);
void kobject_put(struct kobject *obj);
/* Take a reference unless the object is already being destroyed (count
 * 0): for code that finds objects through a list rather than a handle. */
bool kobject_tryget(struct kobject *obj);
/* Objects alive now, of one type (KESTREL_OBJ_NONE: of all types). */
uint64_t kobject_live_count(uint32_t type);

#endif
