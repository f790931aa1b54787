/*
 * System calls on memory objects and address spaces (see sys_memory.h and
 * <kestrel/syscall.h>).
 *
 * Each call checks its arguments (every value from user space is
 * untrusted), looks its handles up with the rights it needs, and calls
 * memobj.c / space.c. Handle lookups give a reference, dropped before
 * returning. Copies between two spaces go through a one-page kernel bounce
 * buffer: the other space is read or written through its memory objects
 * (space_copy_*), the caller's buffer through usercopy_* (which may fault
 * the caller's pages in), never with a lock held.
 *
 * Argument errors come before handle errors only where the needed rights
 * depend on the arguments (space_map's flags).
 */
#include "sys_memory.h"

#include <kestrel/error.h>
#include <kestrel/memory.h>
#include <kestrel/object.h>

#include "handle.h"
#include "memobj.h"
#include "slab.h"
#include "space.h"
#include "usercopy.h"

static int sys_get_memory(int64_t h, uint32_t need, struct memobj **out, uint32_t *rights)
{
	struct kobject *o;
	int rc = handle_get(h, KESTREL_OBJ_MEMORY, need, &o, rights);
	if (rc)
		return rc;
	*out = (struct memobj *)o;
	return 0;
}

static int sys_get_space(int64_t h, uint32_t need, struct space **out)
{
	struct kobject *o;
	int rc = handle_get(h, KESTREL_OBJ_SPACE, need, &o, 0);
	if (rc)
		return rc;
	*out = (struct space *)o;
	return 0;
}

/* Install a new object's handle and drop the creation reference. */
static int64_t sys_install(struct kobject *obj, uint32_t rights)
{
	int64_t h = handle_install(obj, rights);
	kobject_put(obj);
	return h;
}

int64_t sys_memory_create(uint64_t size, uint64_t kind, uint64_t limit)
{
	struct memobj *m;
	if (size == 0)
		return -KE_INVALID;
	if (kind == KESTREL_MEMORY_ANONYMOUS) {
		if (limit)
			return -KE_INVALID;
		if (size > KESTREL_MEMORY_MAX)
			return -KE_TOO_BIG;
		m = memobj_create_anonymous(size);
	} else if (kind == KESTREL_MEMORY_CONTIGUOUS) {
		if (size > MEMOBJ_CONTIGUOUS_MAX)
			return -KE_TOO_BIG;
		m = memobj_create_contiguous(size, limit);
	} else {
		return -KE_INVALID;
	}
	if (!m)
		return -KE_NO_MEMORY;
	return sys_install(&m->obj, SYS_MEMORY_RIGHTS);
}

int64_t sys_memory_size(int64_t h)
{
	struct memobj *m;
	int rc = sys_get_memory(h, 0, &m, 0);
	if (rc)
		return rc;
	int64_t size = (int64_t)memobj_size(m);
	kobject_put(&m->obj);
	return size;
}

int64_t sys_memory_cow(int64_t h, uint64_t offset, uint64_t size)
{
	struct memobj *m;
	int rc = sys_get_memory(h, KESTREL_RIGHT_READ, &m, 0);
	if (rc)
		return rc;
	uint64_t objsize = memobj_size(m);
	struct memobj *view = 0;
	int64_t result;
	if (!size || (offset | size) & (PAGE_SIZE - 1) || offset > objsize ||
	    size > objsize - offset || m->kind == MEMOBJ_PHYSICAL) /* device memory: no copy */
		result = -KE_INVALID;
	else if (!(view = memobj_create_cow(m, offset, size)))
		result = -KE_NO_MEMORY;
	else
		result = sys_install(&view->obj, SYS_MEMORY_RIGHTS);
	kobject_put(&m->obj);
	return result;
}

int64_t sys_memory_physical(int64_t h)
{
	struct memobj *m;
	int rc = sys_get_memory(h, KESTREL_RIGHT_CONTROL, &m, 0);
	if (rc)
		return rc;
	paddr_t p = memobj_physical(m);
	kobject_put(&m->obj);
	return p ? (int64_t)p : -KE_INVALID;
}

int64_t sys_space_create(void)
{
	struct space *s = space_create();
	if (!s)
		return -KE_NO_MEMORY;
	return sys_install(&s->obj, KESTREL_RIGHTS_ALL);
}

int64_t sys_space_map(int64_t space, int64_t memory, uint64_t offset, uint64_t addr,
		      uint64_t size, uint64_t flags)
{
	const uint64_t known = KESTREL_MAP_PROT_MASK | KESTREL_MAP_FIXED | KESTREL_MAP_FIXED_REPLACE;
	if (flags & ~known)
		return -KE_INVALID;
	uint32_t need = KESTREL_RIGHT_MAP;
	if (flags & KESTREL_MAP_READ)
		need |= KESTREL_RIGHT_READ;
	if (flags & KESTREL_MAP_WRITE)
		need |= KESTREL_RIGHT_WRITE;
	if (flags & KESTREL_MAP_EXECUTE)
		need |= KESTREL_RIGHT_EXECUTE;

	struct space *s;
	int rc = sys_get_space(space, KESTREL_RIGHT_MAP, &s);
	if (rc)
		return rc;
	struct memobj *m;
	uint32_t rights;
	rc = sys_get_memory(memory, need, &m, &rights);
	if (rc) {
		kobject_put(&s->obj);
		return rc;
	}
	/* What later protect calls may raise the mapping to. */
	uint32_t max_prot = 0;
	if (rights & KESTREL_RIGHT_READ)
		max_prot |= KESTREL_MAP_READ;
	if (rights & KESTREL_RIGHT_WRITE)
		max_prot |= KESTREL_MAP_WRITE;
	if (rights & KESTREL_RIGHT_EXECUTE)
		max_prot |= KESTREL_MAP_EXECUTE;
	uint64_t where = 0;
	rc = space_map_limited(s, m, offset, addr, size, (uint32_t)flags, max_prot, &where);
	kobject_put(&m->obj);
	kobject_put(&s->obj);
	return rc ? rc : (int64_t)where;
}

int64_t sys_space_unmap(int64_t space, uint64_t addr, uint64_t size)
{
	struct space *s;
	int rc = sys_get_space(space, KESTREL_RIGHT_MAP, &s);
	if (rc)
		return rc;
	rc = space_unmap(s, addr, size);
	kobject_put(&s->obj);
	return rc;
}

int64_t sys_space_protect(int64_t space, uint64_t addr, uint64_t size, uint64_t prot)
{
	if (prot & ~(uint64_t)KESTREL_MAP_PROT_MASK)
		return -KE_INVALID;
	struct space *s;
	int rc = sys_get_space(space, KESTREL_RIGHT_MAP, &s);
	if (rc)
		return rc;
	rc = space_protect(s, addr, size, (uint32_t)prot);
	kobject_put(&s->obj);
	return rc;
}

/* space_read / space_write: copy `size` bytes between the other space at
 * addr and the caller's buffer, a page at a time. */
static int64_t sys_space_copy(int64_t space, uint64_t addr, uint64_t user_buf, uint64_t size,
			      bool to_space)
{
	if (size > SYS_SPACE_COPY_MAX)
		return -KE_TOO_BIG;
	struct space *s;
	int rc = sys_get_space(space, to_space ? KESTREL_RIGHT_WRITE : KESTREL_RIGHT_READ, &s);
	if (rc)
		return rc;
	if (size == 0) {
		/* Like read(2) of 0 bytes: the handle is checked, nothing moves. */
		kobject_put(&s->obj);
		return 0;
	}
	uint8_t *bounce = 0;
	if (!usercopy_range_ok(user_buf, size))
		rc = -KE_FAULT;
	else if (!(bounce = kmalloc(PAGE_SIZE)))
		rc = -KE_NO_MEMORY;
	for (uint64_t done = 0; !rc && done < size;) {
		size_t n = size - done < PAGE_SIZE ? size - done : PAGE_SIZE;
		if (to_space) {
			rc = usercopy_from(bounce, user_buf + done, n);
			if (!rc)
				rc = space_copy_to(s, addr + done, bounce, n);
		} else {
			rc = space_copy_from(s, addr + done, bounce, n);
			if (!rc)
				rc = usercopy_to(user_buf + done, bounce, n);
		}
		done += n;
	}
	kfree(bounce);
	kobject_put(&s->obj);
	return rc ? rc : (int64_t)size;
}

int64_t sys_space_read(int64_t space, uint64_t addr, uint64_t user_buf, uint64_t size)
{
	return sys_space_copy(space, addr, user_buf, size, false);
}

int64_t sys_space_write(int64_t space, uint64_t addr, uint64_t user_buf, uint64_t size)
{
	return sys_space_copy(space, addr, user_buf, size, true);
}
