/*
 * Kernel object reference counting (see kobject.h). Ids are unique for
 * the life of the system (a 64-bit counter), which lets tests tell whether
 * two handles name the same object.
 */
#include "kobject.h"

#include "panic.h"

static uint64_t next_object_id = 1;

void kobject_init(struct kobject *obj, uint32_t type, void (*destroy)(struct kobject *))
{
	obj->type = type;
	obj->refcount = 1;
	obj->id = __atomic_fetch_add(&next_object_id, 1, __ATOMIC_RELAXED);
	obj->destroy = destroy;
}

void kobject_get(struct kobject *obj)
{
	uint32_t old = __atomic_fetch_add(&obj->refcount, 1, __ATOMIC_RELAXED);
	KASSERT(old > 0 && old < UINT32_MAX);
}

void kobject_put(struct kobject *obj)
{
	uint32_t old = __atomic_fetch_sub(&obj->refcount, 1, __ATOMIC_ACQ_REL);
	KASSERT(old > 0);
	if (old == 1)
		obj->destroy(obj);
}

bool kobject_tryget(struct kobject *obj)
{
	uint32_t n = __atomic_load_n(&obj->refcount, __ATOMIC_RELAXED);
	while (n) {
		if (__atomic_compare_exchange_n(&obj->refcount, &n, n + 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return true;
	}
	return false;
}
