/*
 * Handle tables (see handle.h). A table is an array of entries that grows
 * by doubling up to KESTREL_MAX_HANDLES; handle h is entries[h] (entry 0
 * is never used, so 0 is never a valid handle). A lookup takes a reference
 * to the object under the table lock, so a concurrent close cannot free
 * the object under the caller's feet.
 *
 * References dropped by remove/clear are put after the lock is released:
 * destroying an object may take other locks, or even this table's (an
 * object that holds a handle table).
 */
#include "handle.h"

#include <kestrel/error.h>

#include "kstring.h"
#include "panic.h"
#include "slab.h"
#include "uthread.h"

#define HANDLE_TABLE_INITIAL 32

static void handle_table_free(struct handle_table *t)
{
	kfree(t->entries);
	kfree(t);
}

/* The process is gone (no thread, no handle to the table): drop what it
 * held; the memory goes with the last hold. */
static void handle_table_destroy(struct kobject *obj)
{
	struct handle_table *t = (struct handle_table *)obj;
	spin_lock(&t->lock);
	t->dead = true;
	spin_unlock(&t->lock);
	handle_table_clear(t);
	handle_table_release(t);
}

void handle_table_hold(struct handle_table *t)
{
	__atomic_fetch_add(&t->holds, 1, __ATOMIC_RELAXED);
}

void handle_table_release(struct handle_table *t)
{
	if (__atomic_sub_fetch(&t->holds, 1, __ATOMIC_ACQ_REL) == 0)
		handle_table_free(t);
}

struct handle_table *handle_table_create(const struct kestrel_credentials *creds)
{
	struct handle_table *t = kzalloc(sizeof(*t));
	if (!t)
		return 0;
	t->entries = kzalloc(HANDLE_TABLE_INITIAL * sizeof(struct handle_entry));
	if (!t->entries) {
		kfree(t);
		return 0;
	}
	kobject_init(&t->obj, KESTREL_OBJ_TABLE, handle_table_destroy);
	spin_init(&t->lock, "handles", LOCK_ORDER_HANDLES);
	t->capacity = HANDLE_TABLE_INITIAL;
	t->next_free_hint = 1;
	t->holds = 1; /* the live table's own */
	if (creds)
		t->creds = *creds;
	return t;
}

/* A free slot, growing the table if needed; 0 if full. Lock held; may
 * drop and retake it to allocate. */
static uint32_t find_free_slot(struct handle_table *t)
{
	for (;;) {
		for (uint32_t i = t->next_free_hint; i < t->capacity; i++)
			if (!t->entries[i].obj)
				return i;
		for (uint32_t i = 1; i < t->next_free_hint && i < t->capacity; i++)
			if (!t->entries[i].obj)
				return i;
		if (t->capacity >= KESTREL_MAX_HANDLES)
			return 0;
		uint32_t old_cap = t->capacity;
		uint32_t new_cap = old_cap * 2;
		spin_unlock(&t->lock);
		struct handle_entry *bigger = kzalloc(new_cap * sizeof(*bigger));
		spin_lock(&t->lock);
		if (!bigger)
			return 0;
		if (t->capacity != old_cap) { /* someone else grew it meanwhile */
			spin_unlock(&t->lock);
			kfree(bigger);
			spin_lock(&t->lock);
			continue;
		}
		memcpy(bigger, t->entries, old_cap * sizeof(*bigger));
		struct handle_entry *old = t->entries;
		t->entries = bigger;
		t->capacity = new_cap;
		t->next_free_hint = old_cap;
		spin_unlock(&t->lock);
		kfree(old);
		spin_lock(&t->lock);
	}
}

int64_t handle_table_install(struct handle_table *t, struct kobject *obj, uint32_t rights)
{
	kobject_get(obj);
	spin_lock(&t->lock);
	uint32_t slot = t->dead ? 0 : find_free_slot(t);
	/* find_free_slot() may drop the lock: the table may have died. */
	if (!slot || t->dead) {
		int64_t rc = t->dead ? -KE_END_OF_LANE
				     : t->capacity >= KESTREL_MAX_HANDLES ? -KE_LIMIT : -KE_NO_MEMORY;
		spin_unlock(&t->lock);
		kobject_put(obj);
		return rc;
	}
	t->entries[slot].obj = obj;
	t->entries[slot].rights = rights & KESTREL_RIGHTS_ALL;
	t->used++;
	t->next_free_hint = slot + 1;
	spin_unlock(&t->lock);
	return slot;
}

int handle_table_get(struct handle_table *t, int64_t h, uint32_t type, uint32_t need,
		     struct kobject **out, uint32_t *rights)
{
	spin_lock(&t->lock);
	if (h <= 0 || h >= t->capacity || !t->entries[h].obj) {
		spin_unlock(&t->lock);
		return -KE_BAD_HANDLE;
	}
	struct handle_entry e = t->entries[h];
	if (type != KESTREL_OBJ_NONE && e.obj->type != type) {
		spin_unlock(&t->lock);
		return -KE_BAD_TYPE;
	}
	if ((e.rights & need) != need) {
		spin_unlock(&t->lock);
		return -KE_ACCESS;
	}
	kobject_get(e.obj);
	spin_unlock(&t->lock);
	*out = e.obj;
	if (rights)
		*rights = e.rights;
	return 0;
}

int handle_table_remove(struct handle_table *t, int64_t h)
{
	spin_lock(&t->lock);
	if (h <= 0 || h >= t->capacity || !t->entries[h].obj) {
		spin_unlock(&t->lock);
		return -KE_BAD_HANDLE;
	}
	struct kobject *obj = t->entries[h].obj;
	t->entries[h].obj = 0;
	t->entries[h].rights = 0;
	t->used--;
	if (h < t->next_free_hint)
		t->next_free_hint = (uint32_t)h;
	spin_unlock(&t->lock);
	kobject_put(obj);
	return 0;
}

void handle_table_clear(struct handle_table *t)
{
	for (;;) {
		struct kobject *obj = 0;
		spin_lock(&t->lock);
		for (uint32_t i = 1; i < t->capacity && !obj; i++) {
			if (t->entries[i].obj) {
				obj = t->entries[i].obj;
				t->entries[i].obj = 0;
				t->used--;
			}
		}
		t->next_free_hint = 1;
		spin_unlock(&t->lock);
		if (!obj)
			return;
		kobject_put(obj);
	}
}

struct handle_table *handle_current_table(void)
{
	struct uthread *u = uthread_current();
	return u ? u->table : 0;
}

int64_t handle_install(struct kobject *obj, uint32_t rights)
{
	struct handle_table *t = handle_current_table();
	if (!t)
		return -KE_BAD_HANDLE;
	return handle_table_install(t, obj, rights);
}

int handle_get(int64_t h, uint32_t type, uint32_t need, struct kobject **out, uint32_t *rights)
{
	struct uthread *u = uthread_current();
	if (!u)
		return -KE_BAD_HANDLE;
	struct kobject *self = 0;
	if (h == KESTREL_THIS_SPACE)
		self = (struct kobject *)u->space; /* the kobject comes first */
	else if (h == KESTREL_THIS_TABLE)
		self = &u->table->obj;
	if (self) {
		/* A pseudo-handle cannot be passed on: no TRANSFER, DUPLICATE. */
		uint32_t have = KESTREL_RIGHTS_ALL & ~(KESTREL_RIGHT_TRANSFER | KESTREL_RIGHT_DUPLICATE);
		if (type != KESTREL_OBJ_NONE && self->type != type)
			return -KE_BAD_TYPE;
		if ((have & need) != need)
			return -KE_ACCESS;
		kobject_get(self);
		*out = self;
		if (rights)
			*rights = have;
		return 0;
	}
	return handle_table_get(u->table, h, type, need, out, rights);
}
