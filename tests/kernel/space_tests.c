/*
 * Address spaces and memory objects, driven from the kernel (no user mode
 * needed): mappings, faults, kernel copies through the objects, protect,
 * unmap and splits, fixed placement, invalid arguments, copy-on-write
 * snapshots both ways with page owner counts, contiguous and pinned
 * pages, a 64 GiB sparse object, the real page tables (a space activated
 * on this CPU and touched directly), TLB invalidation on another CPU, a
 * multi-CPU stress run, and no leaks: every test ends with the physical
 * allocator's free page count back where it started.
 */
#include <kestrel/error.h>
#include <kestrel/memory.h>

#include "arch.h"
#include "cpu.h"
#include "kstring.h"
#include "ktest.h"
#include "memobj.h"
#include "mmu.h"
#include "pmm.h"
#include "sched.h"
#include "space.h"

#define PG PAGE_SIZE
#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define BASE 0x40000000ull /* 1 GiB: aligned for page-table pruning checks */
#define RW (KESTREL_MAP_READ | KESTREL_MAP_WRITE)
#define RO KESTREL_MAP_READ
#define FIXED KESTREL_MAP_FIXED

static uint64_t free_pages(void)
{
	struct pmm_stats st;
	pmm_get_stats(&st);
	return st.free_pages;
}

/* Run the common paths once so that the slab caches involved hold their
 * spare slab before a test takes its starting free-page count. */
static void warm_up(void)
{
	struct space *s = space_create();
	struct memobj *m = memobj_create_anonymous(4 * PG);
	if (s && m && space_map(s, m, 0, BASE, 4 * PG, RW | FIXED, 0) == 0) {
		space_fault(s, BASE, SPACE_ACCESS_WRITE);
		struct memobj *v = memobj_create_cow(m, 0, 4 * PG);
		if (v)
			kobject_put(&v->obj);
		space_unmap(s, BASE + PG, PG);
	}
	if (m)
		kobject_put(&m->obj);
	if (s)
		kobject_put(&s->obj);
}

/* The page behind an object's entry (tests peek at the index). */
static paddr_t entry_page(struct memobj *m, uint64_t index)
{
	spin_lock(&m->lock);
	uint64_t e = memobj_radix_get(&m->pages, index);
	spin_unlock(&m->lock);
	return e & ~MEMOBJ_ENTRY_FLAGS;
}

static uint64_t entry_flags(struct memobj *m, uint64_t index)
{
	spin_lock(&m->lock);
	uint64_t e = memobj_radix_get(&m->pages, index);
	spin_unlock(&m->lock);
	return e & MEMOBJ_ENTRY_FLAGS;
}

static uint8_t read_byte(struct space *s, uint64_t addr, int *rc)
{
	uint8_t b = 0xee;
	*rc = space_copy_from(s, addr, &b, 1);
	return b;
}

static uint8_t obj_byte(struct memobj *m, uint64_t offset)
{
	uint8_t b = 0xee;
	memobj_read(m, offset, &b, 1);
	return b;
}

KTEST(space_create_destroy_no_leak)
{
	warm_up();
	uint64_t start = free_pages();
	for (int i = 0; i < 32; i++) {
		struct space *s = space_create();
		KCHECK(s);
		KCHECK_EQ(s->obj.type, KESTREL_OBJ_SPACE);
		KCHECK_EQ(space_mapping_count(s), 0);
		kobject_put(&s->obj);
	}
	KCHECK_EQ(free_pages(), start);
}

KTEST(space_fault_zero_fill_and_copies)
{
	warm_up();
	uint64_t start = free_pages();
	struct space *s = space_create();
	struct memobj *m = memobj_create_anonymous(16 * PG);
	KCHECK(s && m);
	KCHECK_EQ(m->obj.type, KESTREL_OBJ_MEMORY);
	KCHECK_EQ(memobj_size(m), 16 * PG);
	uint64_t at = 0;
	KCHECK_EQ(space_map(s, m, 0, BASE, 16 * PG, RW | FIXED, &at), 0);
	KCHECK_EQ(at, BASE);
	/* Nothing is allocated before the first touch. */
	KCHECK(!space_query(s, BASE, 0, 0));
	KCHECK_EQ(memobj_resident_pages(m), 0);

	KCHECK_EQ(space_fault(s, BASE + 123, SPACE_ACCESS_READ), 0);
	paddr_t pa;
	uint32_t prot;
	KCHECK(space_query(s, BASE, &pa, &prot));
	KCHECK((prot & KESTREL_MAP_WRITE) && !(prot & KESTREL_MAP_EXECUTE));
	KCHECK_EQ(memobj_resident_pages(m), 1);
	const uint8_t *page = phys_to_virt(pa);
	for (unsigned i = 0; i < PG; i++)
		KCHECK_EQ(page[i], 0);

	/* Kernel reads of untouched pages give zeros without allocating. */
	static uint8_t buf[3 * 4096];
	memset(buf, 0x77, sizeof(buf));
	KCHECK_EQ(space_copy_from(s, BASE + 100, buf, 2 * PG), 0);
	for (unsigned i = 0; i < 2 * PG; i++)
		KCHECK_EQ(buf[i], 0);
	KCHECK_EQ(memobj_resident_pages(m), 1);

	/* A write across a page boundary; the data persists. */
	const char msg[] = "across the page boundary";
	KCHECK_EQ(space_copy_to(s, BASE + PG - 10, msg, sizeof(msg)), 0);
	KCHECK_EQ(memobj_resident_pages(m), 2);
	char back[sizeof(msg)];
	KCHECK_EQ(space_copy_from(s, BASE + PG - 10, back, sizeof(back)), 0);
	KCHECK(memcmp(back, msg, sizeof(msg)) == 0);
	KCHECK(memcmp(page + PG - 10, msg, 10) == 0); /* the very page mapped */
	memset(back, 0, sizeof(back));
	KCHECK_EQ(memobj_read(m, PG - 10, back, sizeof(back)), 0);
	KCHECK(memcmp(back, msg, sizeof(msg)) == 0);

	/* A large copy over every page. */
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	KCHECK_EQ(space_copy_to(s, BASE + 5 * PG + 1, buf, sizeof(buf)), 0);
	static uint8_t buf2[3 * 4096];
	KCHECK_EQ(space_copy_from(s, BASE + 5 * PG + 1, buf2, sizeof(buf2)), 0);
	KCHECK(memcmp(buf, buf2, sizeof(buf)) == 0);

	/* Outside the mapping or user space: faults. */
	KCHECK_EQ(space_fault(s, BASE + 16 * PG, SPACE_ACCESS_READ), -KE_FAULT);
	KCHECK_EQ(space_fault(s, BASE - 1, SPACE_ACCESS_READ), -KE_FAULT);
	KCHECK_EQ(space_fault(s, 0x1000, SPACE_ACCESS_READ), -KE_FAULT);
	KCHECK_EQ(space_fault(s, 0xffff800000000000ull, SPACE_ACCESS_READ), -KE_FAULT);
	KCHECK_EQ(space_copy_from(s, BASE + 16 * PG - 4, buf, 8), -KE_FAULT);
	KCHECK_EQ(space_copy_to(s, BASE - 4, buf, 8), -KE_FAULT);
	KCHECK_EQ(space_copy_from(s, KESTREL_USER_MAX - 4, buf, 8), -KE_FAULT);
	KCHECK_EQ(space_copy_from(s, ~0ull - 2, buf, 8), -KE_FAULT);

	/* The mapping keeps the object alive after our reference goes. */
	kobject_put(&m->obj);
	KCHECK_EQ(space_copy_from(s, BASE + PG - 10, back, sizeof(back)), 0);
	KCHECK(memcmp(back, msg, sizeof(msg)) == 0);
	kobject_put(&s->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(space_activate_and_touch_directly)
{
	warm_up();
	uint64_t start = free_pages();
	struct space *s = space_create();
	struct memobj *m = memobj_create_anonymous(2 * PG);
	KCHECK(s && m);
	KCHECK_EQ(space_map(s, m, 0, BASE, 2 * PG, RW | FIXED, 0), 0);
	KCHECK_EQ(space_copy_to(s, BASE + 8, "kestrel", 8), 0);
	KCHECK_EQ(space_fault(s, BASE, SPACE_ACCESS_WRITE), 0);
	KCHECK_EQ(space_fault(s, BASE + PG, SPACE_ACCESS_WRITE), 0);

	char seen[8];
	uint64_t flags = arch_irq_save();
	space_activate(s);
	bool active = mmu_active() == &s->mmu;
	volatile uint64_t *p = (volatile uint64_t *)BASE;
	p[0] = 0x1122334455667788ull;
	memcpy(seen, (const void *)(BASE + 8), 8);
	*(volatile uint32_t *)(BASE + PG) = 42;
	space_activate(s); /* already active: nothing happens */
	space_activate(0);
	bool inactive = mmu_active() == 0 && s->mmu.active_cpus == 0;
	arch_irq_restore(flags);

	KCHECK(active && inactive);
	KCHECK(memcmp(seen, "kestrel", 8) == 0);
	uint64_t v = 0;
	KCHECK_EQ(space_copy_from(s, BASE, &v, 8), 0);
	KCHECK_EQ(v, 0x1122334455667788ull);
	uint32_t w = 0;
	KCHECK_EQ(space_copy_from(s, BASE + PG, &w, 4), 0);
	KCHECK_EQ(w, 42);
	kobject_put(&m->obj);
	kobject_put(&s->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(space_protect_read_only_and_back)
{
	warm_up();
	uint64_t start = free_pages();
	struct space *s = space_create();
	struct memobj *m = memobj_create_anonymous(4 * PG);
	KCHECK(s && m);
	KCHECK_EQ(space_map(s, m, 0, BASE, 4 * PG, RW | FIXED, 0), 0);
	for (unsigned i = 0; i < 4; i++) {
		uint8_t b = (uint8_t)(0x10 + i);
		KCHECK_EQ(space_copy_to(s, BASE + i * PG, &b, 1), 0);
	}
	KCHECK_EQ(space_fault(s, BASE, SPACE_ACCESS_WRITE), 0);
	uint32_t prot;
	KCHECK(space_query(s, BASE, 0, &prot) && (prot & KESTREL_MAP_WRITE));

	KCHECK_EQ(space_protect(s, BASE, 2 * PG, RO), 0);
	KCHECK_EQ(space_mapping_count(s), 2); /* split at BASE + 2 pages */
	uint8_t b = 0x99;
	KCHECK_EQ(space_copy_to(s, BASE, &b, 1), -KE_FAULT);
	KCHECK_EQ(space_copy_to(s, BASE + PG + 5, &b, 1), -KE_FAULT);
	KCHECK_EQ(space_copy_to(s, BASE + 2 * PG + 5, &b, 1), 0);
	int rc;
	KCHECK_EQ(read_byte(s, BASE, &rc), 0x10);
	KCHECK_EQ(rc, 0);
	/* The writable translation is gone; faults give read-only ones. */
	KCHECK(!space_query(s, BASE, 0, 0) ||
	       (space_query(s, BASE, 0, &prot) && !(prot & KESTREL_MAP_WRITE)));
	KCHECK_EQ(space_fault(s, BASE, SPACE_ACCESS_WRITE), -KE_FAULT);
	KCHECK_EQ(space_fault(s, BASE, SPACE_ACCESS_EXEC), -KE_FAULT);
	KCHECK_EQ(space_fault(s, BASE, SPACE_ACCESS_READ), 0);
	KCHECK(space_query(s, BASE, 0, &prot) && !(prot & KESTREL_MAP_WRITE));

	/* Back to read-write: writes work again, the fault widens in place. */
	KCHECK_EQ(space_protect(s, BASE, 2 * PG, RW), 0);
	KCHECK_EQ(space_copy_to(s, BASE, &b, 1), 0);
	KCHECK_EQ(space_fault(s, BASE, SPACE_ACCESS_WRITE), 0);
	KCHECK(space_query(s, BASE, 0, &prot) && (prot & KESTREL_MAP_WRITE));
	KCHECK_EQ(read_byte(s, BASE, &rc), 0x99);

	/* Execute (implies read), and no access at all. */
	KCHECK_EQ(space_protect(s, BASE + PG, PG, KESTREL_MAP_EXECUTE), 0);
	KCHECK_EQ(space_fault(s, BASE + PG, SPACE_ACCESS_EXEC), 0);
	KCHECK(space_query(s, BASE + PG, 0, &prot) && (prot & KESTREL_MAP_EXECUTE) &&
	       !(prot & KESTREL_MAP_WRITE));
	KCHECK_EQ(read_byte(s, BASE + PG, &rc), 0x11);
	KCHECK_EQ(rc, 0);
	KCHECK_EQ(space_protect(s, BASE, 4 * PG, 0), 0);
	read_byte(s, BASE + 3 * PG, &rc);
	KCHECK_EQ(rc, -KE_FAULT);
	KCHECK_EQ(space_fault(s, BASE + 3 * PG, SPACE_ACCESS_READ), -KE_FAULT);
	KCHECK(!space_query(s, BASE, 0, 0) && !space_query(s, BASE + PG, 0, 0));
	/* Write-only is write-and-read. */
	KCHECK_EQ(space_protect(s, BASE, PG, KESTREL_MAP_WRITE), 0);
	KCHECK_EQ(read_byte(s, BASE, &rc), 0x99);
	KCHECK_EQ(rc, 0);

	kobject_put(&m->obj);
	kobject_put(&s->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(space_protect_errors_change_nothing)
{
	warm_up();
	uint64_t start = free_pages();
	struct space *s = space_create();
	struct memobj *m = memobj_create_anonymous(8 * PG);
	KCHECK(s && m);
	KCHECK_EQ(space_map(s, m, 0, BASE, 2 * PG, RW | FIXED, 0), 0);
	KCHECK_EQ(space_map(s, m, 0, BASE + 3 * PG, 2 * PG, RW | FIXED, 0), 0);
	/* A hole in the range, or a range beyond the mappings. */
	KCHECK_EQ(space_protect(s, BASE, 5 * PG, RO), -KE_NOT_FOUND);
	KCHECK_EQ(space_protect(s, BASE + PG, 2 * PG, RO), -KE_NOT_FOUND);
	KCHECK_EQ(space_protect(s, BASE + 4 * PG, 2 * PG, RO), -KE_NOT_FOUND);
	KCHECK_EQ(space_protect(s, BASE + 10 * PG, PG, RO), -KE_NOT_FOUND);
	KCHECK_EQ(space_mapping_count(s), 2);
	uint8_t b = 1;
	KCHECK_EQ(space_copy_to(s, BASE, &b, 1), 0); /* still writable */

	/* A mapping limited to reading (rights of the handle it came from). */
	KCHECK_EQ(space_map_limited(s, m, 0, BASE + 8 * PG, PG, RW | FIXED, RO, 0), -KE_ACCESS);
	KCHECK_EQ(space_map_limited(s, m, 0, BASE + 8 * PG, PG, RO | FIXED, RO, 0), 0);
	KCHECK_EQ(space_protect(s, BASE + 8 * PG, PG, RW), -KE_ACCESS);
	KCHECK_EQ(space_protect(s, BASE + 8 * PG, PG, RO | KESTREL_MAP_EXECUTE), -KE_ACCESS);
	KCHECK_EQ(space_protect(s, BASE + 8 * PG, PG, 0), 0);
	KCHECK_EQ(space_protect(s, BASE + 8 * PG, PG, RO), 0);
	KCHECK_EQ(space_copy_to(s, BASE + 8 * PG, &b, 1), -KE_FAULT);
	KCHECK_EQ(space_mapping_count(s), 3);
	kobject_put(&m->obj);
	kobject_put(&s->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(space_unmap_removes_access)
{
	warm_up();
	uint64_t start = free_pages();
	struct space *s = space_create();
	struct memobj *m = memobj_create_anonymous(4 * PG);
	KCHECK(s && m);
	KCHECK_EQ(space_map(s, m, 0, BASE, 4 * PG, RW | FIXED, 0), 0);
	KCHECK_EQ(space_copy_to(s, BASE + 2 * PG, "data", 4), 0);
	for (unsigned i = 0; i < 4; i++)
		KCHECK_EQ(space_fault(s, BASE + i * PG, SPACE_ACCESS_WRITE), 0);
	KCHECK_EQ(space_unmap(s, BASE, 4 * PG), 0);
	KCHECK_EQ(space_mapping_count(s), 0);
	int rc;
	read_byte(s, BASE + 2 * PG, &rc);
	KCHECK_EQ(rc, -KE_FAULT);
	KCHECK_EQ(space_fault(s, BASE, SPACE_ACCESS_READ), -KE_FAULT);
	for (unsigned i = 0; i < 4; i++)
		KCHECK(!space_query(s, BASE + i * PG, 0, 0));
	/* Unmapping nothing is fine; the object still has its data. */
	KCHECK_EQ(space_unmap(s, BASE, 4 * PG), 0);
	char d[4];
	KCHECK_EQ(memobj_read(m, 2 * PG, d, 4), 0);
	KCHECK(memcmp(d, "data", 4) == 0);
	kobject_put(&m->obj);
	kobject_put(&s->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(space_unmap_frees_page_tables)
{
	warm_up();
	uint64_t start = free_pages();
	struct space *s = space_create();
	struct memobj *m = memobj_create_anonymous(GiB);
	KCHECK(s && m);
	KCHECK_EQ(s->mmu.tables, 1); /* the root */
	KCHECK_EQ(space_map(s, m, 0, BASE, GiB, RW | FIXED, 0), 0);
	KCHECK_EQ(space_fault(s, BASE, SPACE_ACCESS_WRITE), 0);
	KCHECK_EQ(space_fault(s, BASE + GiB - PG, SPACE_ACCESS_WRITE), 0);
	/* Root, one PDPT, one PD, two PTs. */
	KCHECK_EQ(s->mmu.tables, 5);
	/* Part of a 2 MiB span: the tables stay. */
	KCHECK_EQ(space_unmap(s, BASE, 16 * PG), 0);
	KCHECK_EQ(s->mmu.tables, 5);
	/* A whole 2 MiB span: its PT goes. */
	KCHECK_EQ(space_unmap(s, BASE + GiB - 2 * MiB, 2 * MiB), 0);
	KCHECK_EQ(s->mmu.tables, 4);
	KCHECK_EQ(space_fault(s, BASE + 4 * MiB, SPACE_ACCESS_READ), 0);
	KCHECK_EQ(s->mmu.tables, 5);
	/* The whole GiB: the PD and its PTs go, the PDPT stays. */
	KCHECK_EQ(space_unmap(s, BASE, GiB), 0);
	KCHECK_EQ(s->mmu.tables, 2);
	KCHECK_EQ(memobj_resident_pages(m), 3);
	kobject_put(&m->obj);
	kobject_put(&s->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(space_partial_unmap_splits)
{
	warm_up();
	uint64_t start = free_pages();
	struct space *s = space_create();
	struct memobj *m = memobj_create_anonymous(8 * PG);
	struct memobj *other = memobj_create_anonymous(2 * PG);
	KCHECK(s && m && other);
	KCHECK_EQ(space_map(s, m, 0, BASE, 8 * PG, RW | FIXED, 0), 0);
	for (unsigned i = 0; i < 8; i++) {
		uint8_t b = (uint8_t)(i + 1);
		KCHECK_EQ(space_copy_to(s, BASE + i * PG, &b, 1), 0);
		KCHECK_EQ(space_fault(s, BASE + i * PG, SPACE_ACCESS_READ), 0);
	}
	int rc;
	/* A hole in the middle: two mappings, the second at its offset. */
	KCHECK_EQ(space_unmap(s, BASE + 3 * PG, 2 * PG), 0);
	KCHECK_EQ(space_mapping_count(s), 2);
	for (unsigned i = 0; i < 8; i++) {
		uint8_t b = read_byte(s, BASE + i * PG, &rc);
		if (i == 3 || i == 4) {
			KCHECK_EQ(rc, -KE_FAULT);
			KCHECK(!space_query(s, BASE + i * PG, 0, 0));
		} else {
			KCHECK_EQ(rc, 0);
			KCHECK_EQ(b, i + 1);
			KCHECK(space_query(s, BASE + i * PG, 0, 0));
		}
	}
	/* Cut the head of the first, and across the end of one and the
	 * start of the other. */
	KCHECK_EQ(space_unmap(s, BASE, PG), 0);
	KCHECK_EQ(space_mapping_count(s), 2);
	KCHECK_EQ(space_unmap(s, BASE + 2 * PG, 4 * PG), 0);
	KCHECK_EQ(space_mapping_count(s), 2);
	for (unsigned i = 0; i < 8; i++) {
		uint8_t b = read_byte(s, BASE + i * PG, &rc);
		if (i == 1 || i == 6 || i == 7) {
			KCHECK_EQ(rc, 0);
			KCHECK_EQ(b, i + 1);
		} else {
			KCHECK_EQ(rc, -KE_FAULT);
		}
	}
	/* The hole takes another object. */
	KCHECK_EQ(space_map(s, other, 0, BASE + 3 * PG, 2 * PG, RW | FIXED, 0), 0);
	KCHECK_EQ(read_byte(s, BASE + 3 * PG, &rc), 0);
	KCHECK_EQ(rc, 0);
	KCHECK_EQ(space_mapping_count(s), 3);
	/* Writing through the pieces writes the one object. */
	uint8_t b = 0xab;
	KCHECK_EQ(space_copy_to(s, BASE + 7 * PG, &b, 1), 0);
	KCHECK_EQ(obj_byte(m, 7 * PG), 0xab);
	kobject_put(&other->obj);
	kobject_put(&m->obj);
	kobject_put(&s->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(space_fixed_conflicts_are_busy)
{
	warm_up();
	uint64_t start = free_pages();
	struct space *s = space_create();
	struct memobj *m = memobj_create_anonymous(8 * PG);
	KCHECK(s && m);
	KCHECK_EQ(space_map(s, m, 0, BASE, 4 * PG, RW | FIXED, 0), 0);
	KCHECK_EQ(space_copy_to(s, BASE, "keep", 4), 0);
	KCHECK_EQ(space_map(s, m, 0, BASE, 4 * PG, RW | FIXED, 0), -KE_BUSY);
	KCHECK_EQ(space_map(s, m, 0, BASE + 3 * PG, 2 * PG, RW | FIXED, 0), -KE_BUSY);
	KCHECK_EQ(space_map(s, m, 0, BASE - PG, 2 * PG, RW | FIXED, 0), -KE_BUSY);
	KCHECK_EQ(space_map(s, m, 0, BASE + PG, PG, RW | FIXED, 0), -KE_BUSY);
	KCHECK_EQ(space_map(s, m, 0, BASE - PG, 6 * PG, RW | FIXED, 0), -KE_BUSY);
	KCHECK_EQ(space_mapping_count(s), 1);
	/* Adjacent on both sides is fine. */
	KCHECK_EQ(space_map(s, m, 0, BASE + 4 * PG, PG, RW | FIXED, 0), 0);
	KCHECK_EQ(space_map(s, m, 0, BASE - PG, PG, RW | FIXED, 0), 0);
	KCHECK_EQ(space_mapping_count(s), 3);
	char d[4];
	KCHECK_EQ(space_copy_from(s, BASE, d, 4), 0);
	KCHECK(memcmp(d, "keep", 4) == 0);
	/* The same object mapped twice shows the same bytes. */
	KCHECK_EQ(space_copy_from(s, BASE + 4 * PG, d, 4), 0);
	KCHECK(memcmp(d, "keep", 4) == 0);
	kobject_put(&m->obj);
	kobject_put(&s->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(space_fixed_replace)
{
	warm_up();
	uint64_t start = free_pages();
	struct space *s = space_create();
	struct memobj *a = memobj_create_anonymous(4 * PG);
	struct memobj *b = memobj_create_anonymous(2 * PG);
	struct memobj *c = memobj_create_anonymous(8 * PG);
	KCHECK(s && a && b && c);
	KCHECK_EQ(space_map(s, a, 0, BASE, 4 * PG, RW | FIXED, 0), 0);
	for (unsigned i = 0; i < 4; i++) {
		KCHECK_EQ(space_copy_to(s, BASE + i * PG, "A", 1), 0);
		KCHECK_EQ(space_fault(s, BASE + i * PG, SPACE_ACCESS_READ), 0);
	}
	KCHECK_EQ(memobj_write(b, 0, "B", 1), 0);
	KCHECK_EQ(memobj_write(b, PG, "B", 1), 0);
	uint64_t at = 0;
	KCHECK_EQ(space_map(s, b, 0, BASE + PG, 2 * PG, RW | KESTREL_MAP_FIXED_REPLACE, &at), 0);
	KCHECK_EQ(at, BASE + PG);
	KCHECK_EQ(space_mapping_count(s), 3);
	const char want[] = "ABBA";
	int rc;
	for (unsigned i = 0; i < 4; i++) {
		KCHECK_EQ(read_byte(s, BASE + i * PG, &rc), (uint8_t)want[i]);
		KCHECK_EQ(space_fault(s, BASE + i * PG, SPACE_ACCESS_READ), 0);
		paddr_t pa;
		KCHECK(space_query(s, BASE + i * PG, &pa, 0));
		KCHECK_EQ(pa, i == 1 || i == 2 ? entry_page(b, i - 1) : entry_page(a, i));
	}
	/* Over several mappings and holes at once. */
	KCHECK_EQ(space_map(s, c, 0, BASE - 2 * PG, 8 * PG, RO | KESTREL_MAP_FIXED_REPLACE, &at),
		  0);
	KCHECK_EQ(space_mapping_count(s), 1);
	for (unsigned i = 0; i < 4; i++) {
		KCHECK_EQ(read_byte(s, BASE + i * PG, &rc), 0);
		KCHECK_EQ(rc, 0);
		KCHECK(!space_query(s, BASE + i * PG, 0, 0));
	}
	KCHECK_EQ(a->obj.refcount, 1);
	KCHECK_EQ(b->obj.refcount, 1);
	kobject_put(&a->obj);
	kobject_put(&b->obj);
	kobject_put(&c->obj);
	kobject_put(&s->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(space_hint_and_first_fit_placement)
{
	warm_up();
	uint64_t start = free_pages();
	struct space *s = space_create();
	struct memobj *m = memobj_create_anonymous(KESTREL_MEMORY_MAX);
	KCHECK(s && m);
	uint64_t at = 0;
	KCHECK_EQ(space_map(s, m, 0, 0, 4 * PG, RW, &at), 0);
	KCHECK_EQ(at, SPACE_MAP_BASE);
	KCHECK_EQ(space_map(s, m, 0, 0, 4 * PG, RW, &at), 0);
	KCHECK_EQ(at, SPACE_MAP_BASE + 4 * PG);
	/* A free hint is taken as is; a taken one falls back to first fit. */
	KCHECK_EQ(space_map(s, m, 0, 0x50000000, PG, RW, &at), 0);
	KCHECK_EQ(at, 0x50000000);
	KCHECK_EQ(space_map(s, m, 0, SPACE_MAP_BASE + PG, 2 * PG, RW, &at), 0);
	KCHECK_EQ(at, SPACE_MAP_BASE + 8 * PG);
	/* A hint partly overlapping is not used either. */
	KCHECK_EQ(space_map(s, m, 0, 0x50000000 - PG, 2 * PG, RW, &at), 0);
	KCHECK_EQ(at, SPACE_MAP_BASE + 10 * PG);

	/* Fill everything above the base: placement wraps to the bottom. */
	uint64_t addr = SPACE_MAP_BASE + 12 * PG;
	while (addr < KESTREL_USER_MAX) {
		uint64_t size = KESTREL_USER_MAX - addr;
		if (size > KESTREL_MEMORY_MAX)
			size = KESTREL_MEMORY_MAX;
		KCHECK_EQ(space_map(s, m, 0, addr, size, RO | FIXED, 0), 0);
		addr += size;
	}
	KCHECK_EQ(space_map(s, m, 0, 0, 4 * PG, RW, &at), 0);
	KCHECK_EQ(at, KESTREL_USER_MIN);
	/* And below it, except one page: that is the only place left. */
	addr = KESTREL_USER_MIN + 4 * PG;
	while (addr < SPACE_MAP_BASE) {
		uint64_t size = SPACE_MAP_BASE - addr;
		if (size > KESTREL_MEMORY_MAX)
			size = KESTREL_MEMORY_MAX;
		if (addr <= 0x50000000 && addr + size > 0x50000000) {
			/* Around the hinted page at 0x50000000. */
			if (addr < 0x50000000)
				KCHECK_EQ(space_map(s, m, 0, addr, 0x50000000 - addr, RO | FIXED, 0),
					  0);
			addr = 0x50000000 + 2 * PG; /* leave one page free */
			continue;
		}
		KCHECK_EQ(space_map(s, m, 0, addr, size, RO | FIXED, 0), 0);
		addr += size;
	}
	KCHECK_EQ(space_map(s, m, 0, 0, 2 * PG, RW, &at), -KE_NO_MEMORY);
	KCHECK_EQ(space_map(s, m, 0, 0, PG, RW, &at), 0);
	KCHECK_EQ(at, 0x50000000 + PG);
	KCHECK_EQ(space_map(s, m, 0, 0, PG, RW, &at), -KE_NO_MEMORY);
	KCHECK(space_mapping_count(s) > 2000);
	kobject_put(&m->obj);
	kobject_put(&s->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(space_invalid_arguments)
{
	warm_up();
	uint64_t start = free_pages();
	struct space *s = space_create();
	struct memobj *m = memobj_create_anonymous(4 * PG);
	KCHECK(s && m);
	const uint64_t noncanonical = 0x0000800000000000ull;
	struct {
		uint64_t offset, addr, size;
		uint32_t flags;
	} bad[] = {
		{0, BASE, 0, RW | FIXED},                /* size 0 */
		{0, BASE + 1, PG, RW | FIXED},           /* unaligned address */
		{1, BASE, PG, RW | FIXED},               /* unaligned offset */
		{0, BASE, PG + 1, RW | FIXED},           /* unaligned size */
		{0, BASE, 5 * PG, RW | FIXED},           /* beyond the object */
		{4 * PG, BASE, PG, RW | FIXED},          /* offset at the end */
		{~0ull & ~(PG - 1), BASE, 2 * PG, RW | FIXED}, /* offset + size wraps */
		{0, 0, PG, RW | FIXED},                  /* below user space */
		{0, KESTREL_USER_MIN - PG, PG, RW | FIXED},
		{0, KESTREL_USER_MAX, PG, RW | FIXED},   /* at the top */
		{0, KESTREL_USER_MAX - PG, 2 * PG, RW | FIXED}, /* across the top */
		{0, noncanonical, PG, RW | FIXED},
		{0, 0xffff800000000000ull, PG, RW | FIXED}, /* the kernel */
		{0, ~0ull & ~(PG - 1), 2 * PG, RW | FIXED}, /* wraps */
		{0, noncanonical, PG, RW},               /* a bad hint */
		{0, BASE, PG, RW | FIXED | (1u << 3)},   /* unknown flags */
		{0, BASE, PG, RW | (1u << 31)},
		{0, BASE, PG, RW | FIXED | KESTREL_MAP_FIXED_REPLACE},
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = space_map(s, m, bad[i].offset, bad[i].addr, bad[i].size, bad[i].flags, 0);
		if (rc != -KE_INVALID) {
			ktest_fail(__FILE__, __LINE__, "bad map %u gave %d", i, rc);
			return;
		}
	}
	KCHECK_EQ(space_mapping_count(s), 0);

	KCHECK_EQ(space_unmap(s, BASE, 0), -KE_INVALID);
	KCHECK_EQ(space_unmap(s, BASE + 1, PG), -KE_INVALID);
	KCHECK_EQ(space_unmap(s, BASE, PG - 1), -KE_INVALID);
	KCHECK_EQ(space_unmap(s, 0, PG), -KE_INVALID);
	KCHECK_EQ(space_unmap(s, KESTREL_USER_MAX, PG), -KE_INVALID);
	KCHECK_EQ(space_unmap(s, noncanonical, PG), -KE_INVALID);
	KCHECK_EQ(space_unmap(s, BASE, ~0ull & ~(PG - 1)), -KE_INVALID);

	KCHECK_EQ(space_map(s, m, 0, BASE, PG, RW | FIXED, 0), 0);
	KCHECK_EQ(space_protect(s, BASE, PG, 1u << 3), -KE_INVALID);
	KCHECK_EQ(space_protect(s, BASE, PG, RW | FIXED), -KE_INVALID);
	KCHECK_EQ(space_protect(s, BASE, 0, RO), -KE_INVALID);
	KCHECK_EQ(space_protect(s, BASE + 8, PG, RO), -KE_INVALID);
	KCHECK_EQ(space_protect(s, noncanonical, PG, RO), -KE_INVALID);
	KCHECK_EQ(space_fault(s, BASE, 1u << 5), -KE_FAULT);
	KCHECK_EQ(space_fault(s, noncanonical, SPACE_ACCESS_READ), -KE_FAULT);

	/* Objects: sizes and ranges. */
	KCHECK(!memobj_create_anonymous(0));
	KCHECK(!memobj_create_anonymous(KESTREL_MEMORY_MAX + 1));
	KCHECK(!memobj_create_anonymous(~0ull));
	KCHECK(!memobj_create_contiguous(0, 0));
	KCHECK(!memobj_create_contiguous(MEMOBJ_CONTIGUOUS_MAX + 1, 0));
	KCHECK(!memobj_create_cow(m, 0, 0));
	KCHECK(!memobj_create_cow(m, 1, PG));
	KCHECK(!memobj_create_cow(m, 0, 4 * PG + 1));
	KCHECK(!memobj_create_cow(m, 4 * PG, PG));
	KCHECK(!memobj_create_cow(m, ~0ull & ~(PG - 1), 2 * PG));
	char d[8];
	KCHECK_EQ(memobj_read(m, 4 * PG - 4, d, 8), -KE_INVALID);
	KCHECK_EQ(memobj_write(m, 4 * PG, d, 1), -KE_INVALID);
	KCHECK_EQ(memobj_write(m, ~0ull - 2, d, 8), -KE_INVALID);
	KCHECK_EQ(memobj_pin_page(m, 4 * PG), 0);
	kobject_put(&m->obj);
	kobject_put(&s->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(memobj_cow_snapshot_both_ways)
{
	warm_up();
	uint64_t start = free_pages();
	struct space *s = space_create();
	struct memobj *src = memobj_create_anonymous(4 * PG);
	KCHECK(s && src);
	for (unsigned i = 0; i < 3; i++) /* page 3 stays absent */
		KCHECK_EQ(memobj_write(src, i * PG, "S", 1), 0);
	KCHECK_EQ(space_map(s, src, 0, BASE, 4 * PG, RW | FIXED, 0), 0);
	KCHECK_EQ(space_fault(s, BASE, SPACE_ACCESS_WRITE), 0);
	uint32_t prot;
	KCHECK(space_query(s, BASE, 0, &prot) && (prot & KESTREL_MAP_WRITE));

	struct memobj *view = memobj_create_cow(src, 0, 4 * PG);
	KCHECK(view);
	KCHECK_EQ(memobj_size(view), 4 * PG);
	KCHECK_EQ(memobj_resident_pages(view), 3);
	/* The source's mapping lost write access to the shared pages. */
	KCHECK(space_query(s, BASE, 0, &prot) && !(prot & KESTREL_MAP_WRITE));
	for (unsigned i = 0; i < 3; i++) {
		KCHECK_EQ(entry_page(view, i), entry_page(src, i));
		KCHECK_EQ(pmm_page_owners(entry_page(src, i)), 2);
		KCHECK(entry_flags(src, i) & MEMOBJ_ENTRY_COW);
	}
	paddr_t shared0 = entry_page(src, 0), shared1 = entry_page(src, 1);

	/* Write the source after the snapshot: the view keeps the old data. */
	KCHECK_EQ(space_copy_to(s, BASE, "X", 1), 0);
	KCHECK_EQ(obj_byte(src, 0), 'X');
	KCHECK_EQ(obj_byte(view, 0), 'S');
	KCHECK(entry_page(src, 0) != shared0);
	KCHECK_EQ(pmm_page_owners(shared0), 1);
	KCHECK_EQ(pmm_page_owners(entry_page(src, 0)), 1);
	/* The old read-only translation went with the old page. */
	KCHECK_EQ(space_fault(s, BASE, SPACE_ACCESS_WRITE), 0);
	paddr_t pa;
	KCHECK(space_query(s, BASE, &pa, &prot) && (prot & KESTREL_MAP_WRITE));
	KCHECK_EQ(pa, entry_page(src, 0));

	/* Write the view: the source keeps its data. */
	KCHECK_EQ(memobj_write(view, PG, "Y", 1), 0);
	KCHECK_EQ(obj_byte(view, PG), 'Y');
	KCHECK_EQ(obj_byte(src, PG), 'S');
	int rc;
	KCHECK_EQ(read_byte(s, BASE + PG, &rc), 'S');
	KCHECK_EQ(entry_page(src, 1), shared1);
	KCHECK_EQ(pmm_page_owners(shared1), 1);
	/* The source is now the only owner: its write keeps the page. */
	KCHECK_EQ(space_fault(s, BASE + PG, SPACE_ACCESS_WRITE), 0);
	KCHECK(space_query(s, BASE + PG, &pa, &prot) && (prot & KESTREL_MAP_WRITE));
	KCHECK_EQ(pa, shared1);
	KCHECK(!(entry_flags(src, 1) & MEMOBJ_ENTRY_COW));

	/* A page absent at snapshot time is zero in the view for good. */
	KCHECK_EQ(space_copy_to(s, BASE + 3 * PG, "Z", 1), 0);
	KCHECK_EQ(obj_byte(view, 3 * PG), 0);
	KCHECK_EQ(memobj_resident_pages(view), 3);

	/* Dropping the view gives the still shared page back to the source. */
	paddr_t shared2 = entry_page(src, 2);
	KCHECK_EQ(pmm_page_owners(shared2), 2);
	kobject_put(&view->obj);
	KCHECK_EQ(pmm_page_owners(shared2), 1);
	KCHECK_EQ(obj_byte(src, 2 * PG), 'S');
	kobject_put(&src->obj);
	kobject_put(&s->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(memobj_cow_ranges_and_chains)
{
	warm_up();
	uint64_t start = free_pages();
	struct memobj *src = memobj_create_anonymous(4 * PG);
	KCHECK(src);
	for (unsigned i = 0; i < 4; i++) {
		uint8_t b = (uint8_t)('a' + i);
		KCHECK_EQ(memobj_write(src, i * PG + 9, &b, 1), 0);
	}
	/* A view of the middle two pages. */
	struct memobj *mid = memobj_create_cow(src, PG, 2 * PG);
	KCHECK(mid);
	KCHECK_EQ(memobj_size(mid), 2 * PG);
	KCHECK_EQ(obj_byte(mid, 9), 'b');
	KCHECK_EQ(obj_byte(mid, PG + 9), 'c');
	KCHECK_EQ(entry_page(mid, 0), entry_page(src, 1));
	KCHECK_EQ(pmm_page_owners(entry_page(src, 0)), 1); /* not in the range */
	/* A view of the view: three owners. */
	struct memobj *chain = memobj_create_cow(mid, 0, 2 * PG);
	KCHECK(chain);
	paddr_t p = entry_page(src, 1);
	KCHECK_EQ(pmm_page_owners(p), 3);
	KCHECK_EQ(memobj_write(src, PG + 9, "!", 1), 0);
	KCHECK_EQ(obj_byte(mid, 9), 'b');
	KCHECK_EQ(obj_byte(chain, 9), 'b');
	KCHECK_EQ(pmm_page_owners(p), 2);
	/* The middle one dies first: the chain keeps its pages. */
	kobject_put(&mid->obj);
	KCHECK_EQ(pmm_page_owners(p), 1);
	KCHECK_EQ(obj_byte(chain, 9), 'b');
	KCHECK_EQ(obj_byte(chain, PG + 9), 'c');
	KCHECK_EQ(memobj_write(chain, 9, "?", 1), 0);
	KCHECK_EQ(entry_page(chain, 0), p); /* last owner: written in place */
	KCHECK_EQ(obj_byte(src, PG + 9), '!');
	kobject_put(&chain->obj);
	kobject_put(&src->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(memobj_cow_source_mapped_twice)
{
	warm_up();
	uint64_t start = free_pages();
	/* One object shared by two spaces (shared memory), then snapshot:
	 * a copy-on-write break in one space must show in the other. */
	struct space *s1 = space_create(), *s2 = space_create();
	struct memobj *m = memobj_create_anonymous(PG);
	KCHECK(s1 && s2 && m);
	KCHECK_EQ(memobj_write(m, 0, "1", 1), 0);
	KCHECK_EQ(space_map(s1, m, 0, BASE, PG, RW | FIXED, 0), 0);
	KCHECK_EQ(space_map(s2, m, 0, BASE + PG, PG, RW | FIXED, 0), 0);
	KCHECK_EQ(space_fault(s1, BASE, SPACE_ACCESS_WRITE), 0);
	KCHECK_EQ(space_fault(s2, BASE + PG, SPACE_ACCESS_WRITE), 0);
	struct memobj *view = memobj_create_cow(m, 0, PG);
	KCHECK(view);
	uint32_t prot;
	KCHECK(space_query(s1, BASE, 0, &prot) && !(prot & KESTREL_MAP_WRITE));
	KCHECK(space_query(s2, BASE + PG, 0, &prot) && !(prot & KESTREL_MAP_WRITE));
	KCHECK_EQ(space_fault(s1, BASE, SPACE_ACCESS_WRITE), 0);
	/* s2's translation of the old page is gone; it sees the new one. */
	KCHECK(!space_query(s2, BASE + PG, 0, 0));
	KCHECK_EQ(space_copy_to(s1, BASE, "2", 1), 0);
	int rc;
	KCHECK_EQ(read_byte(s2, BASE + PG, &rc), '2');
	KCHECK_EQ(space_fault(s2, BASE + PG, SPACE_ACCESS_READ), 0);
	paddr_t pa1, pa2;
	KCHECK(space_query(s1, BASE, &pa1, 0) && space_query(s2, BASE + PG, &pa2, 0));
	KCHECK_EQ(pa1, pa2);
	KCHECK_EQ(obj_byte(view, 0), '1');
	kobject_put(&view->obj);
	kobject_put(&m->obj);
	kobject_put(&s1->obj);
	kobject_put(&s2->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(memobj_contiguous_physical)
{
	warm_up();
	uint64_t start = free_pages();
	struct memobj *m = memobj_create_contiguous(MiB, 4096 * MiB);
	KCHECK(m);
	paddr_t base = memobj_physical(m);
	KCHECK(base != 0);
	KCHECK(base + MiB <= 4096 * MiB);
	KCHECK_EQ(base & (MiB - 1), 0); /* a naturally aligned buddy block */
	for (uint64_t off = 0; off < MiB; off += PG) {
		KCHECK_EQ(memobj_pin_page(m, off), base + off);
		KCHECK_EQ(*(const uint64_t *)phys_to_virt(base + off), 0); /* zeroed */
	}
	struct space *s = space_create();
	KCHECK(s);
	KCHECK_EQ(space_map(s, m, 0, BASE, MiB, RW | FIXED, 0), 0);
	KCHECK_EQ(space_fault(s, BASE + 5 * PG + 8, SPACE_ACCESS_WRITE), 0);
	paddr_t pa;
	KCHECK(space_query(s, BASE + 5 * PG, &pa, 0));
	KCHECK_EQ(pa, base + 5 * PG);
	KCHECK_EQ(space_copy_to(s, BASE + 5 * PG + 8, "dma", 3), 0);
	KCHECK(memcmp((const char *)phys_to_virt(base + 5 * PG + 8), "dma", 3) == 0);
	/* A view of a contiguous object is a private copy. */
	struct memobj *view = memobj_create_cow(m, 4 * PG, 2 * PG);
	KCHECK(view);
	KCHECK(memobj_physical(view) == 0);
	KCHECK(entry_page(view, 1) != base + 5 * PG);
	KCHECK_EQ(obj_byte(view, PG + 8), 'd');
	KCHECK_EQ(space_copy_to(s, BASE + 5 * PG + 8, "x", 1), 0);
	KCHECK_EQ(obj_byte(view, PG + 8), 'd');
	kobject_put(&view->obj);
	kobject_put(&s->obj);
	kobject_put(&m->obj);

	/* Odd sizes round up; the largest block; limits that cannot be met. */
	struct memobj *three = memobj_create_contiguous(3 * PG - 5, 0);
	KCHECK(three);
	KCHECK_EQ(memobj_size(three), 3 * PG);
	KCHECK_EQ(memobj_pin_page(three, 2 * PG), memobj_physical(three) + 2 * PG);
	kobject_put(&three->obj);
	struct memobj *big = memobj_create_contiguous(MEMOBJ_CONTIGUOUS_MAX, 0);
	KCHECK(big);
	kobject_put(&big->obj);
	KCHECK(!memobj_create_contiguous(2 * PG, PG));
	KCHECK_EQ(free_pages(), start);
}

KTEST(memobj_pin_page_stays)
{
	warm_up();
	uint64_t start = free_pages();
	struct memobj *m = memobj_create_anonymous(4 * PG);
	KCHECK(m);
	paddr_t p = memobj_pin_page(m, PG + 100);
	KCHECK(p != 0 && (p & (PG - 1)) == 0);
	KCHECK_EQ(memobj_pin_page(m, PG), p); /* the same page again */
	memcpy((char *)phys_to_virt(p) + 7, "pinned", 6);
	char d[6];
	KCHECK_EQ(memobj_read(m, PG + 7, d, 6), 0);
	KCHECK(memcmp(d, "pinned", 6) == 0);
	/* Mapped, the user sees that very page, writable. */
	struct space *s = space_create();
	KCHECK(s);
	KCHECK_EQ(space_map(s, m, 0, BASE, 4 * PG, RW | FIXED, 0), 0);
	KCHECK_EQ(space_fault(s, BASE + PG, SPACE_ACCESS_WRITE), 0);
	paddr_t pa;
	uint32_t prot;
	KCHECK(space_query(s, BASE + PG, &pa, &prot));
	KCHECK_EQ(pa, p);
	/* A snapshot copies a pinned page instead of sharing it. */
	KCHECK_EQ(memobj_write(m, 0, "shared", 6), 0);
	struct memobj *view = memobj_create_cow(m, 0, 4 * PG);
	KCHECK(view);
	KCHECK(entry_page(view, 1) != p);
	KCHECK_EQ(pmm_page_owners(p), 1);
	KCHECK(!(entry_flags(m, 1) & MEMOBJ_ENTRY_COW));
	KCHECK(space_query(s, BASE + PG, &pa, &prot));
	KCHECK_EQ(pa, p);
	KCHECK_EQ(memobj_read(view, PG + 7, d, 6), 0);
	KCHECK(memcmp(d, "pinned", 6) == 0);
	/* Pinning a shared page makes it private first. */
	paddr_t shared = entry_page(m, 0);
	KCHECK_EQ(pmm_page_owners(shared), 2);
	paddr_t p0 = memobj_pin_page(m, 0);
	KCHECK(p0 != 0 && p0 != shared);
	KCHECK_EQ(pmm_page_owners(shared), 1);
	KCHECK_EQ(pmm_page_owners(p0), 1);
	KCHECK(memcmp(phys_to_virt(p0), "shared", 6) == 0);
	memcpy(phys_to_virt(p0), "mine!!", 6);
	KCHECK_EQ(memobj_read(view, 0, d, 6), 0);
	KCHECK(memcmp(d, "shared", 6) == 0);
	kobject_put(&view->obj);
	kobject_put(&s->obj);
	kobject_put(&m->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(memobj_big_sparse_costs_nothing)
{
	warm_up();
	uint64_t start = free_pages();
	struct memobj *m = memobj_create_anonymous(KESTREL_MEMORY_MAX);
	KCHECK(m);
	KCHECK(start - free_pages() <= 1); /* the struct, at most a slab page */
	struct space *s = space_create();
	KCHECK(s);
	uint64_t at;
	KCHECK_EQ(space_map(s, m, 0, 0, KESTREL_MEMORY_MAX, RW, &at), 0);
	KCHECK_EQ(space_fault(s, at, SPACE_ACCESS_WRITE), 0);
	KCHECK_EQ(space_fault(s, at + KESTREL_MEMORY_MAX - 1, SPACE_ACCESS_WRITE), 0);
	KCHECK_EQ(space_copy_to(s, at + KESTREL_MEMORY_MAX - 3, "end", 3), 0);
	KCHECK_EQ(memobj_resident_pages(m), 2);
	/* 2 pages, at most 5 radix nodes, 5 page tables, a few slab pages. */
	KCHECK(start - free_pages() <= 16);
	uint64_t before_view = free_pages();
	struct memobj *view = memobj_create_cow(m, 0, KESTREL_MEMORY_MAX);
	KCHECK(view);
	KCHECK_EQ(memobj_resident_pages(view), 2);
	KCHECK(before_view - free_pages() <= 7);
	char d[3];
	KCHECK_EQ(memobj_read(view, KESTREL_MEMORY_MAX - 3, d, 3), 0);
	KCHECK(memcmp(d, "end", 3) == 0);
	KCHECK_EQ(memobj_read(view, KESTREL_MEMORY_MAX / 2, d, 3), 0);
	KCHECK(d[0] == 0 && d[1] == 0 && d[2] == 0);
	kobject_put(&view->obj);
	KCHECK_EQ(space_unmap(s, at, KESTREL_MEMORY_MAX), 0);
	kobject_put(&m->obj);
	kobject_put(&s->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(space_destroy_drops_mappings)
{
	warm_up();
	uint64_t start = free_pages();
	struct space *s = space_create();
	struct memobj *m = memobj_create_anonymous(8 * PG);
	KCHECK(s && m);
	for (unsigned i = 0; i < 4; i++) {
		KCHECK_EQ(space_map(s, m, i * PG, BASE + i * 3 * PG, 2 * PG, RW | FIXED, 0), 0);
		KCHECK_EQ(space_fault(s, BASE + i * 3 * PG, SPACE_ACCESS_WRITE), 0);
	}
	KCHECK_EQ(m->obj.refcount, 5);
	kobject_put(&s->obj);
	KCHECK_EQ(m->obj.refcount, 1);
	KCHECK(m->mappings == 0);
	KCHECK_EQ(memobj_resident_pages(m), 4);
	kobject_put(&m->obj);
	KCHECK_EQ(free_pages(), start);
}

/* ---- TLB invalidation with the space loaded on another CPU ---- */

struct remote_reader {
	struct space *s;
	uint64_t addr;
	volatile uint32_t phase; /* 1: first read done; 2: read again; 3: done */
	volatile uint64_t first, second;
	volatile bool conclusive; /* the space stayed loaded in between */
};

static void remote_reader_main(void *arg)
{
	struct remote_reader *r = arg;
	uint64_t flags = arch_irq_save();
	space_activate(r->s);
	r->first = *(volatile uint64_t *)r->addr; /* now in this CPU's TLB */
	arch_irq_restore(flags);
	__atomic_store_n(&r->phase, 1, __ATOMIC_RELEASE);
	/* Interrupts on: the other CPU's invalidation must get through. */
	while (__atomic_load_n(&r->phase, __ATOMIC_ACQUIRE) != 2)
		arch_cpu_relax();
	flags = arch_irq_save();
	r->conclusive = mmu_active() == &r->s->mmu;
	if (r->conclusive)
		r->second = *(volatile uint64_t *)r->addr;
	space_activate(0);
	arch_irq_restore(flags);
	__atomic_store_n(&r->phase, 3, __ATOMIC_RELEASE);
}

/* Replace the page behind r->addr with a page holding `value`. */
static int replace_page(struct space *s, uint64_t addr, uint64_t value)
{
	struct memobj *b = memobj_create_anonymous(PG);
	if (!b)
		return -KE_NO_MEMORY;
	int rc = memobj_write(b, 0, &value, 8);
	if (!rc)
		rc = space_map(s, b, 0, addr, PG, RW | KESTREL_MAP_FIXED_REPLACE, 0);
	if (!rc)
		rc = space_fault(s, addr, SPACE_ACCESS_READ);
	kobject_put(&b->obj);
	return rc;
}

KTEST(space_tlb_invalidation_reaches_other_cpus)
{
	if (cpu_count < 2)
		return;
	warm_up();
	uint64_t start = free_pages();
	struct space *s = space_create();
	struct memobj *a = memobj_create_anonymous(PG);
	KCHECK(s && a);
	uint64_t one = 1;
	KCHECK_EQ(memobj_write(a, 0, &one, 8), 0);
	KCHECK_EQ(space_map(s, a, 0, BASE, PG, RW | FIXED, 0), 0);
	KCHECK_EQ(space_fault(s, BASE, SPACE_ACCESS_READ), 0);
	int conclusive = 0;
	for (int round = 0; round < 8; round++) {
		uint64_t old = (uint64_t)round * 2 + 1, new = old + 1;
		struct remote_reader r = {.s = s, .addr = BASE};
		struct thread *t = thread_create("tlb reader", remote_reader_main, &r,
						 THREAD_PRIORITY_DEFAULT, 1ull << 1, true);
		KCHECK(t);
		while (__atomic_load_n(&r.phase, __ATOMIC_ACQUIRE) != 1)
			arch_cpu_relax();
		KCHECK_EQ(s->mmu.active_cpus & 2, 2);
		/* CPU 1 caches the old translation; replace the page. */
		int rc = replace_page(s, BASE, new);
		__atomic_store_n(&r.phase, 2, __ATOMIC_RELEASE);
		thread_join(t);
		KCHECK_EQ(rc, 0);
		KCHECK_EQ(r.first, old);
		if (r.conclusive) {
			conclusive++;
			KCHECK_EQ(r.second, new); /* not the stale page */
		}
		KCHECK_EQ(s->mmu.active_cpus, 0);
		uint64_t next = new + 1;
		KCHECK_EQ(replace_page(s, BASE, next), 0);
		(void)next;
		/* Keep the sequence: the next round's old value. */
		uint64_t v = (uint64_t)(round + 1) * 2 + 1;
		KCHECK_EQ(space_copy_to(s, BASE, &v, 8), 0);
	}
	KCHECK(conclusive > 0);
	kobject_put(&a->obj);
	kobject_put(&s->obj);
	KCHECK_EQ(free_pages(), start);
}

KTEST(space_tlb_invalidation_on_this_cpu)
{
	warm_up();
	uint64_t start = free_pages();
	struct space *s = space_create();
	KCHECK(s);
	KCHECK_EQ(replace_page(s, BASE, 7), 0);
	int conclusive = 0;
	for (int round = 0; round < 8; round++) {
		uint64_t flags = arch_irq_save();
		space_activate(s);
		uint64_t first = *(volatile uint64_t *)BASE;
		arch_irq_restore(flags);
		int rc = replace_page(s, BASE, 100 + round);
		flags = arch_irq_save();
		bool still = mmu_active() == &s->mmu;
		uint64_t second = still ? *(volatile uint64_t *)BASE : 0;
		space_activate(0);
		arch_irq_restore(flags);
		KCHECK_EQ(rc, 0);
		KCHECK_EQ(first, round ? 100 + round - 1 : 7);
		if (still) {
			conclusive++;
			KCHECK_EQ(second, 100 + round);
		}
	}
	KCHECK(conclusive > 0);
	kobject_put(&s->obj);
	KCHECK_EQ(free_pages(), start);
}

/* ---- All CPUs on one space at once ---- */

#define STRESS_ROUNDS 150
#define SHARED_BASE 0x30000000ull

struct stress {
	struct space *s;
	unsigned index;
	volatile int error; /* line of the first failed check */
};

#define SCHECK(cond)                                                           \
	do {                                                                   \
		if (!(cond)) {                                                 \
			if (!st->error)                                        \
				st->error = __LINE__;                          \
			return;                                                \
		}                                                              \
	} while (0)

static void stress_round(struct stress *st, unsigned round)
{
	struct space *s = st->s;
	uint64_t base = BASE + (uint64_t)st->index * GiB;
	struct memobj *m = memobj_create_anonymous(8 * PG);
	SCHECK(m);
	int rc = space_map(s, m, 0, base, 8 * PG, RW | FIXED, 0);
	kobject_put(&m->obj);
	SCHECK(rc == 0);
	uint64_t tag = ((uint64_t)st->index << 32) | round;
	for (unsigned i = 0; i < 8; i++) {
		uint64_t v = tag + i;
		SCHECK(space_copy_to(s, base + i * PG, &v, 8) == 0);
	}
	SCHECK(space_fault(s, base, SPACE_ACCESS_WRITE) == 0);
	/* Through the real page tables on this CPU. */
	uint64_t flags = arch_irq_save();
	space_activate(s);
	uint64_t direct = *(volatile uint64_t *)base;
	space_activate(0);
	arch_irq_restore(flags);
	SCHECK(direct == tag);
	struct memobj *view = memobj_create_cow(m, 0, 8 * PG);
	SCHECK(view);
	uint64_t v = ~tag;
	rc = space_copy_to(s, base, &v, 8);
	uint64_t old = 0;
	memobj_read(view, 0, &old, 8);
	kobject_put(&view->obj);
	SCHECK(rc == 0 && old == tag);
	SCHECK(space_protect(s, base, 4 * PG, RO) == 0);
	SCHECK(space_copy_to(s, base, &v, 8) == -KE_FAULT);
	SCHECK(space_unmap(s, base + 2 * PG, 4 * PG) == 0);
	uint64_t w = 0;
	SCHECK(space_copy_from(s, base + 6 * PG, &w, 8) == 0 && w == tag + 6);
	SCHECK(space_copy_from(s, base + 3 * PG, &w, 8) == -KE_FAULT);
	SCHECK(space_unmap(s, base, 8 * PG) == 0);

	/* The shared object: one slot per thread; thread 0 snapshots it. */
	uint64_t slot = SHARED_BASE + st->index * 64;
	SCHECK(space_copy_to(s, slot, &tag, 8) == 0);
	SCHECK(space_fault(s, slot, SPACE_ACCESS_WRITE) == 0);
	SCHECK(space_copy_from(s, slot, &w, 8) == 0 && w == tag);
	if (st->index == 0) {
		struct space_mapping *map =
			(struct space_mapping *)space_ranges_find(&s->maps, SHARED_BASE);
		(void)map;
	}
}

static void stress_main(void *arg)
{
	struct stress *st = arg;
	for (unsigned round = 0; round < STRESS_ROUNDS && !st->error; round++)
		stress_round(st, round);
}

static void snapshot_main(void *arg)
{
	struct stress *st = arg;
	for (unsigned round = 0; round < STRESS_ROUNDS * 2 && !st->error; round++) {
		uint64_t offset;
		spin_lock(&st->s->lock);
		struct space_mapping *map =
			(struct space_mapping *)space_ranges_find(&st->s->maps, SHARED_BASE);
		struct memobj *shared = map ? map->obj : 0;
		if (shared)
			kobject_get(&shared->obj);
		offset = map ? map->offset : 0;
		spin_unlock(&st->s->lock);
		SCHECK(shared && offset == 0);
		struct memobj *view = memobj_create_cow(shared, 0, PG);
		SCHECK(view);
		thread_yield();
		kobject_put(&view->obj);
		kobject_put(&shared->obj);
	}
}

KTEST(space_all_cpus_at_once)
{
	warm_up();
	uint64_t start = free_pages();
	struct space *s = space_create();
	struct memobj *shared = memobj_create_anonymous(PG);
	KCHECK(s && shared);
	KCHECK_EQ(space_map(s, shared, 0, SHARED_BASE, PG, RW | FIXED, 0), 0);
	kobject_put(&shared->obj);
	unsigned n = cpu_count < 8 ? cpu_count : 8;
	struct stress st[9];
	struct thread *t[9];
	for (unsigned i = 0; i <= n; i++) {
		st[i].s = s;
		st[i].index = i;
		st[i].error = 0;
		t[i] = thread_create(i < n ? "space stress" : "snapshots",
				     i < n ? stress_main : snapshot_main, &st[i],
				     THREAD_PRIORITY_DEFAULT, i < n ? 1ull << i : 0, true);
		KCHECK(t[i]);
	}
	for (unsigned i = 0; i <= n; i++)
		thread_join(t[i]);
	for (unsigned i = 0; i <= n; i++)
		if (st[i].error) {
			ktest_fail(__FILE__, st[i].error, "thread %u failed", i);
			return;
		}
	KCHECK_EQ(space_mapping_count(s), 1);
	kobject_put(&s->obj);
	KCHECK_EQ(free_pages(), start);
}
