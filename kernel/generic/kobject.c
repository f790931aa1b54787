/*
 * Kernel object reference counting (see kobject.h). Ids are unique for
 * the life of the system (a 64-bit counter), which lets tests tell whether
 * two handles name the same object.
 */
#include "kobject.h"

#include "panic.h"

static uint64_t next_object_id = 1;
/* Live objects per type (index 0: all); for leak checks (system_info). */
static uint64_t live_objects[KESTREL_OBJ_TYPES];

static void count_object(uint32_t type, int64_t delta)
{
	__atomic_fetch_add(&live_objects[0], (uint64_t)delta, __ATOMIC_RELAXED);
	if (type > KESTREL_OBJ_NONE && type < KESTREL_OBJ_TYPES)
		__atomic_fetch_add(&live_objects[type], (uint64_t)delta, __ATOMIC_RELAXED);
}

uint64_t kobject_live_count(uint32_t type)
{
	return type < KESTREL_OBJ_TYPES ? __atomic_load_n(&live_objects[type], __ATOMIC_RELAXED)
					: 0;
}

void kobject_init(struct kobject *obj, uint32_t type, void (*destroy)(struct kobject *))
{
	obj->type = type;
	obj->refcount = 1;
	obj->id = __atomic_fetch_add(&next_object_id, 1, __ATOMIC_RELAXED);
	obj->destroy = destroy;
	count_object(type, 1);
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
	if (old == 1) {
		count_object(obj->type, -1);
		obj->destroy(obj);
	}
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
