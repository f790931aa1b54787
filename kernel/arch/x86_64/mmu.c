/*
 * x86_64 user page tables (see mmu.h): 4-level paging with 4 KiB leaves.
 *
 * Each address space has its own PML4. Entries 0..255 (the user half)
 * point to tables this file allocates on demand; entries 256..511 are
 * copied from the kernel's PML4 at creation and never change (vm.c creates
 * every kernel-half PDPT at boot). Upper-level user entries are P|W|U: the
 * leaf decides the protection (U always; W only for writable pages; NX
 * unless executable). Nothing here is ever global, so loading CR3 flushes
 * every user translation (PCIDs are not used).
 *
 * Invariants:
 * - a page table is reachable from exactly one parent entry, and is freed
 *   only after it has been unlinked and the batch that unlinked it has
 *   invalidated the CPUs that had the mmu loaded (INVLPG drops all
 *   paging-structure caches, so one invalidated address suffices);
 * - active_cpus has bit n set from before CPU n loads the root until after
 *   it has loaded another one. A writer changes entries, then (after a full
 *   fence) reads active_cpus: a CPU that sets its bit later loads CR3 after
 *   the change and cannot see the old entries;
 * - inflight counts the owner batches (the space's own unmap and protect)
 *   that changed entries and have not finished invalidating; it goes up
 *   under the lock in the walk that makes the change and down once the
 *   batch's invalidation is complete. While it is above zero, every other
 *   walk invalidates its whole range.
 *
 * Lock: m->lock (LOCK_ORDER_SPACE_PT) guards the tables of m; the pmm is
 * called under it. mmu_activate() is lock-free (atomic bit operations).
 */
#include "mmu.h"

#include <kestrel/error.h>
#include <kestrel/memory.h>

#include "arch.h"
#include "cpu.h"
#include "kstring.h"
#include "panic.h"
#include "pmm.h"
#include "vm.h"
#include "x86.h"

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

#define MMU_LEVELS 4           /* PML4 = level 3 .. PT = level 0 */
#define MMU_USER_ENTRIES 256   /* PML4 entries of the user half */
/* A local flush of more pages than this reloads CR3 instead. */
#define MMU_LOCAL_FLUSH_MAX 64

static struct mmu *mmu_loaded[MAX_CPUS];

static inline uint64_t *mmu_table(paddr_t p)
{
	return phys_to_virt(p);
}

static inline unsigned mmu_shift(unsigned level)
{
	return PAGE_SHIFT + 9 * level;
}

static inline unsigned mmu_index(uint64_t va, unsigned level)
{
	return (va >> mmu_shift(level)) & 511;
}

static paddr_t mmu_table_alloc(struct mmu *m)
{
	paddr_t p = pmm_alloc_page();
	if (p) {
		memset(mmu_table(p), 0, PAGE_SIZE);
		m->tables++;
	}
	return p;
}

int mmu_init(struct mmu *m)
{
	spin_init(&m->lock, "space page tables", LOCK_ORDER_SPACE_PT);
	m->active_cpus = 0;
	m->tables = 0;
	m->inflight = 0;
	m->root = mmu_table_alloc(m);
	if (!m->root)
		return -KE_NO_MEMORY;
	uint64_t *root = mmu_table(m->root);
	const uint64_t *kernel = mmu_table(vm_kernel_root());
	for (unsigned i = MMU_USER_ENTRIES; i < 512; i++)
		root[i] = kernel[i];
	return 0;
}

static void mmu_free_tree(struct mmu *m, paddr_t table, unsigned level)
{
	if (level > 0) {
		uint64_t *t = mmu_table(table);
		unsigned n = level == MMU_LEVELS - 1 ? MMU_USER_ENTRIES : 512;
		for (unsigned i = 0; i < n; i++)
			if (t[i] & PTE_P)
				mmu_free_tree(m, t[i] & PTE_ADDR, level - 1);
	}
	pmm_free_page(table);
	m->tables--;
}

void mmu_destroy(struct mmu *m)
{
	KASSERT(__atomic_load_n(&m->active_cpus, __ATOMIC_ACQUIRE) == 0);
	KASSERT(__atomic_load_n(&m->inflight, __ATOMIC_ACQUIRE) == 0);
	if (m->root)
		mmu_free_tree(m, m->root, MMU_LEVELS - 1);
	KASSERT(m->tables == 0);
	m->root = 0;
}

void mmu_activate(struct mmu *m)
{
	uint64_t flags = arch_irq_save();
	uint32_t cpu = arch_cpu_index();
	struct mmu *old = mmu_loaded[cpu];
	if (old != m) {
		uint64_t bit = 1ull << cpu;
		if (m)
			__atomic_fetch_or(&m->active_cpus, bit, __ATOMIC_SEQ_CST);
		write_cr3(m ? m->root : vm_kernel_root());
		if (old)
			__atomic_fetch_and(&old->active_cpus, ~bit, __ATOMIC_SEQ_CST);
		mmu_loaded[cpu] = m;
	}
	arch_irq_restore(flags);
}

struct mmu *mmu_active(void)
{
	uint64_t flags = arch_irq_save();
	struct mmu *m = mmu_loaded[arch_cpu_index()];
	arch_irq_restore(flags);
	return m;
}

static uint64_t mmu_leaf(paddr_t pa, uint32_t prot)
{
	uint64_t e = pa | PTE_P | PTE_U;
	if (prot & KESTREL_MAP_WRITE)
		e |= PTE_W;
	if (!(prot & KESTREL_MAP_EXECUTE))
		e |= PTE_NX;
	return e;
}

/* Cache attributes through PWT/PCD, i.e. PAT entries 0, 1 and 3, which
 * the kernel leaves at their power-on values: WB, WT, UC. */
static uint64_t mmu_cache_bits(uint32_t cache)
{
	switch (cache) {
	case MMU_CACHE_WRITE_THROUGH:
		return PTE_PWT;
	case MMU_CACHE_UNCACHED:
		return PTE_PCD | PTE_PWT;
	default:
		return 0;
	}
}

int mmu_map_page(struct mmu *m, uint64_t va, paddr_t pa, uint32_t prot)
{
	return mmu_map_page_cache(m, va, pa, prot, MMU_CACHE_WRITE_BACK);
}

int mmu_map_page_cache(struct mmu *m, uint64_t va, paddr_t pa, uint32_t prot, uint32_t cache)
{
	KASSERT(!(va & (PAGE_SIZE - 1)) && va < KESTREL_USER_MAX);
	KASSERT(pa && !(pa & ~PTE_ADDR));
	spin_lock(&m->lock);
	uint64_t *t = mmu_table(m->root);
	for (unsigned level = MMU_LEVELS - 1; level > 0; level--) {
		uint64_t *e = &t[mmu_index(va, level)];
		if (!(*e & PTE_P)) {
			paddr_t n = mmu_table_alloc(m);
			if (!n) {
				spin_unlock(&m->lock);
				return -KE_NO_MEMORY;
			}
			*e = n | PTE_P | PTE_W | PTE_U;
		}
		t = mmu_table(*e & PTE_ADDR);
	}
	uint64_t *pte = &t[mmu_index(va, 0)];
	uint64_t old = *pte;
	uint64_t new = mmu_leaf(pa, prot) | mmu_cache_bits(cache);
	/* Only widening in place: a narrower or different translation must
	 * go through an unmap and its invalidation. */
	KASSERT(!(old & PTE_P) || (old & PTE_ADDR) == pa);
	*pte = new;
	spin_unlock(&m->lock);
	if ((old & PTE_P) && old != new)
		invlpg(va); /* this CPU at least: spares it a spurious fault */
	return 0;
}

/* Record [start, end) for invalidation, merging with a recorded range that
 * touches it; when every slot is taken, widen the range that grows least. */
static void mmu_batch_add_range(struct mmu_batch *b, uint64_t start, uint64_t end)
{
	for (uint32_t i = b->nranges; i-- > 0;) {
		if (start <= b->ranges[i].end && end >= b->ranges[i].start) {
			if (start < b->ranges[i].start)
				b->ranges[i].start = start;
			if (end > b->ranges[i].end)
				b->ranges[i].end = end;
			return;
		}
	}
	if (b->nranges < MMU_BATCH_RANGES) {
		b->ranges[b->nranges].start = start;
		b->ranges[b->nranges].end = end;
		b->nranges++;
		return;
	}
	uint32_t best = 0;
	uint64_t best_growth = UINT64_MAX;
	for (uint32_t i = 0; i < b->nranges; i++) {
		uint64_t s = start < b->ranges[i].start ? start : b->ranges[i].start;
		uint64_t e = end > b->ranges[i].end ? end : b->ranges[i].end;
		uint64_t growth = (e - s) - (b->ranges[i].end - b->ranges[i].start);
		if (growth < best_growth) {
			best_growth = growth;
			best = i;
		}
	}
	if (start < b->ranges[best].start)
		b->ranges[best].start = start;
	if (end > b->ranges[best].end)
		b->ranges[best].end = end;
}

struct mmu_walk {
	struct mmu *m;
	struct mmu_batch *b;
	uint64_t start, end;
	bool write_protect; /* only clear W; otherwise remove */
	bool forced;        /* the whole range is recorded already */
	bool changed;
};

/* Apply the walk to the part of `table` (at `level`, its span starting at
 * `base`) that intersects [start, end). */
static void mmu_walk_table(struct mmu_walk *w, uint64_t *table, unsigned level, uint64_t base)
{
	unsigned shift = mmu_shift(level);
	uint64_t span = 1ull << shift;
	uint64_t lo = w->start > base ? w->start : base;
	unsigned limit = level == MMU_LEVELS - 1 ? MMU_USER_ENTRIES : 512;
	for (unsigned i = (unsigned)((lo - base) >> shift); i < limit; i++) {
		uint64_t eb = base + ((uint64_t)i << shift);
		if (eb >= w->end)
			break;
		uint64_t e = table[i];
		if (!(e & PTE_P))
			continue;
		if (level == 0) {
			if (w->write_protect) {
				if (!(e & PTE_W))
					continue;
				table[i] = e & ~PTE_W;
			} else {
				table[i] = 0;
			}
			if (!w->forced)
				mmu_batch_add_range(w->b, eb, eb + PAGE_SIZE);
			w->changed = true;
			continue;
		}
		paddr_t child = e & PTE_ADDR;
		mmu_walk_table(w, mmu_table(child), level - 1, eb);
		if (!w->write_protect && eb >= w->start && eb + span <= w->end) {
			/* The whole span is gone: unlink the (now empty) table
			 * and free it once the CPUs forgot it. Its first word
			 * links it in the batch: a page-aligned physical
			 * address, which reads as a non-present entry. */
			table[i] = 0;
			*(paddr_t *)mmu_table(child) = w->b->tables;
			w->b->tables = child;
			w->m->tables--;
			if (!w->forced)
				mmu_batch_add_range(w->b, eb, eb + PAGE_SIZE);
			w->changed = true;
		}
	}
}

static void mmu_walk_range(struct mmu *m, uint64_t start, uint64_t end, struct mmu_batch *b,
			   bool write_protect, bool force)
{
	KASSERT(!(start & (PAGE_SIZE - 1)) && !(end & (PAGE_SIZE - 1)));
	KASSERT(start <= end && end <= KESTREL_USER_MAX);
	if (start == end)
		return;
	struct mmu_walk w = {
		.m = m, .b = b, .start = start, .end = end, .write_protect = write_protect,
	};
	spin_lock(&m->lock);
	/* Another owner batch in flight: the tables may understate what the
	 * TLBs hold (see mmu.h). */
	uint32_t own = (b->owner == m && b->owner_counted) ? 1 : 0;
	w.forced = force || __atomic_load_n(&m->inflight, __ATOMIC_SEQ_CST) > own;
	if (w.forced)
		mmu_batch_add_range(b, start, end);
	mmu_walk_table(&w, mmu_table(m->root), MMU_LEVELS - 1, 0);
	if (w.changed || w.forced) {
		if (b->owner == m && !b->owner_counted) {
			__atomic_fetch_add(&m->inflight, 1, __ATOMIC_SEQ_CST);
			b->owner_counted = true;
		}
		/* Order the entry changes before reading who has the tables
		 * loaded (see the invariants at the top). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		b->cpus |= __atomic_load_n(&m->active_cpus, __ATOMIC_SEQ_CST);
	}
	spin_unlock(&m->lock);
}

void mmu_unmap_range(struct mmu *m, uint64_t start, uint64_t end, struct mmu_batch *b,
		     bool force)
{
	mmu_walk_range(m, start, end, b, false, force);
}

void mmu_write_protect_range(struct mmu *m, uint64_t start, uint64_t end, struct mmu_batch *b,
			     bool force)
{
	mmu_walk_range(m, start, end, b, true, force);
}

bool mmu_query(struct mmu *m, uint64_t va, paddr_t *pa, uint32_t *prot)
{
	if (va >= KESTREL_USER_MAX)
		return false;
	bool found = false;
	spin_lock(&m->lock);
	uint64_t *t = mmu_table(m->root);
	for (unsigned level = MMU_LEVELS - 1;; level--) {
		uint64_t e = t[mmu_index(va, level)];
		if (!(e & PTE_P))
			break;
		if (level == 0) {
			found = true;
			if (pa)
				*pa = e & PTE_ADDR;
			if (prot) {
				uint32_t p = KESTREL_MAP_READ;
				if (e & PTE_W)
					p |= KESTREL_MAP_WRITE;
				if (!(e & PTE_NX))
					p |= KESTREL_MAP_EXECUTE;
				*prot = p;
			}
			break;
		}
		t = mmu_table(e & PTE_ADDR);
	}
	spin_unlock(&m->lock);
	return found;
}

void mmu_batch_init(struct mmu_batch *b, struct mmu *owner)
{
	b->owner = owner;
	b->owner_counted = false;
	b->cpus = 0;
	b->nranges = 0;
	b->tables = 0;
	b->npages = 0;
}

void mmu_batch_release_page(struct mmu_batch *b, paddr_t page)
{
	KASSERT(b->npages < MMU_BATCH_PAGES);
	b->pages[b->npages++] = page;
}

void mmu_batch_finish(struct mmu_batch *b)
{
	if (b->nranges && b->cpus) {
		uint64_t flags = arch_irq_save();
		uint64_t me = 1ull << arch_cpu_index();
		if (b->cpus & ~me) {
			/* Loaded elsewhere: every CPU invalidates (this one too). */
			arch_irq_restore(flags);
			for (uint32_t i = 0; i < b->nranges; i++)
				arch_tlb_shootdown(b->ranges[i].start, b->ranges[i].end);
		} else {
			uint64_t pages = 0;
			for (uint32_t i = 0; i < b->nranges; i++)
				pages += (b->ranges[i].end - b->ranges[i].start) >> PAGE_SHIFT;
			if (pages > MMU_LOCAL_FLUSH_MAX) {
				write_cr3(read_cr3());
			} else {
				for (uint32_t i = 0; i < b->nranges; i++)
					for (uint64_t a = b->ranges[i].start; a < b->ranges[i].end;
					     a += PAGE_SIZE)
						invlpg(a);
			}
			arch_irq_restore(flags);
		}
	}
	while (b->tables) {
		paddr_t t = b->tables;
		b->tables = *(paddr_t *)mmu_table(t);
		pmm_free_page(t);
	}
	/* Every CPU has forgotten what this batch changed: other walks may
	 * trust the owner's tables again (as far as this batch goes). */
	if (b->owner_counted)
		__atomic_fetch_sub(&b->owner->inflight, 1, __ATOMIC_SEQ_CST);
	for (uint32_t i = 0; i < b->npages; i++)
		pmm_page_release(b->pages[i]);
	mmu_batch_init(b, b->owner);
}
