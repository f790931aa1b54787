/*
 * Handle tables: per-process arrays mapping handle numbers (1 ..
 * KESTREL_MAX_HANDLES-1) to a kernel object and the rights this handle
 * grants. A table is itself a kernel object (KESTREL_OBJ_TABLE), shared
 * by every thread of a process. Rights only shrink: installing a copy
 * masks the new rights with the old.
 *
 * The calls that take no table work on the calling thread's table and
 * understand the pseudo-handles KESTREL_THIS_SPACE and KESTREL_THIS_TABLE.
 *
 * Lifetime: the table's kobject counts its threads, the handles to it and
 * short lookups; when that count reaches zero the process is gone: every
 * handle in it is dropped (closing its lanes, which is how peers learn of
 * the death) and the table is dead. Pending IPC operations that will
 * install handles into it hold it with handle_table_hold() instead, which
 * keeps the memory but not the process alive; installing into a dead
 * table fails. Otherwise an operation waiting on a lane of the same
 * process would keep that process's lanes open for ever.
 *
 * Lock: each table has its own (LOCK_ORDER_HANDLES); it is never held
 * while calling into an object.
 */
#ifndef KERNEL_HANDLE_H
#define KERNEL_HANDLE_H

#include <kestrel/stream.h>
#include <stdbool.h>
#include <stdint.h>

#include "kobject.h"
#include "spinlock.h"

struct handle_entry {
	struct kobject *obj; /* NULL: free slot */
	uint32_t rights;
};

struct handle_table {
	struct kobject obj;
	struct spinlock lock;
	struct handle_entry *entries; /* grows on demand up to KESTREL_MAX_HANDLES */
	uint32_t capacity;
	uint32_t used;
	uint32_t next_free_hint;
	bool privileged; /* the boot process: may shut the machine down */
	bool dead;       /* cleared for good (lock held to change or test) */
	uint32_t holds;  /* atomic: handle_table_hold()s, +1 while not dead */
	struct kestrel_credentials creds;
};

struct handle_table *handle_table_create(const struct kestrel_credentials *creds);

/* Keep a table's memory (not its process) alive, for an operation that
 * may install handles into it later; release when done. */
void handle_table_hold(struct handle_table *t);
void handle_table_release(struct handle_table *t);

/* Install obj with rights in table: takes a new reference. Returns the
 * handle (> 0) or -KE_LIMIT / -KE_NO_MEMORY, or -KE_END_OF_LANE if the
 * table's process is gone. */
int64_t handle_table_install(struct handle_table *t, struct kobject *obj, uint32_t rights);
/* Look a handle up, checking type (KESTREL_OBJ_NONE: any) and that all of
 * `need` rights are present. On success *out holds a new reference the
 * caller must kobject_put(), and *rights (if not NULL) the handle's rights.
 * Returns 0 or -KE_BAD_HANDLE / -KE_BAD_TYPE / -KE_ACCESS. */
int handle_table_get(struct handle_table *t, int64_t h, uint32_t type, uint32_t need,
		     struct kobject **out, uint32_t *rights);
/* Remove a handle (dropping its reference). 0 or -KE_BAD_HANDLE. */
int handle_table_remove(struct handle_table *t, int64_t h);
/* Drop every handle (the process is gone). */
void handle_table_clear(struct handle_table *t);

/* The calling thread's table, and the same calls on it. */
struct handle_table *handle_current_table(void);
int64_t handle_install(struct kobject *obj, uint32_t rights);
int handle_get(int64_t h, uint32_t type, uint32_t need, struct kobject **out, uint32_t *rights);

#endif
