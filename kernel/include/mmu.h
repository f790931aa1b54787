/*
 * User page tables: the architecture-neutral interface (x86_64:
 * kernel/arch/x86_64/mmu.c). Generic code includes this header, never an
 * arch-private one.
 *
 * A struct mmu is the hardware translation of one address space's user
 * half. The kernel half is shared with the kernel's own page tables (on
 * x86_64 the top-level entries 256..511 are copied once; they never
 * change, see vm.h). Page tables are created on demand by mmu_map_page()
 * and freed when a whole table's span is unmapped or when the mmu is
 * destroyed. The leaf pages themselves belong to memory objects: the mmu
 * never allocates or frees them.
 *
 * Protection is given as KESTREL_MAP_READ / _WRITE / _EXECUTE bits
 * (<kestrel/memory.h>). x86_64 cannot express write-only or execute-only:
 * any present page is readable.
 *
 * TLBs: a change that removes or reduces a translation leaves stale
 * entries in the TLBs of the CPUs running the address space. Such calls
 * take a struct mmu_batch that records what must be invalidated (and which
 * page-table pages and data pages may be freed only afterwards);
 * mmu_batch_finish() invalidates, then frees. Adding or widening a
 * translation needs no invalidation (a stale narrower entry only causes a
 * spurious fault, which the fault handler finds already resolved).
 *
 * Each mmu knows the CPUs on which it is loaded, so invalidation only
 * interrupts other CPUs when the space is active there, and costs nothing
 * when the space runs nowhere (a stopped process being set up).
 *
 * Stale translations in flight: between a change and the end of its
 * batch, the page tables no longer show what the TLBs may still hold. A
 * batch started for an mmu's own space (mmu_batch_init's owner: unmap,
 * protect) counts itself in that mmu's `inflight` until it has
 * invalidated. Any other walk over an mmu with such a batch in flight (or
 * asked to with `force`) cannot trust the tables, so it records its whole
 * range for invalidation, present or not. Memory objects use this for
 * their own in-flight changes (memobj.c).
 *
 * Lock: each mmu has one spinlock (LOCK_ORDER_SPACE_PT), taken inside the
 * calls below; callers may hold space (20) and memory-object (30) locks.
 * mmu_activate() takes no lock.
 */
#ifndef KERNEL_MMU_H
#define KERNEL_MMU_H

#include <stdbool.h>
#include <stdint.h>

#include "mm.h"
#include "spinlock.h"

struct mmu {
	paddr_t root;          /* top-level table (x86_64: the PML4) */
	uint64_t active_cpus;  /* atomic: bit n set while CPU n has it loaded */
	uint64_t tables;       /* page-table pages held, root included (tests) */
	uint32_t inflight;     /* owner batches not yet invalidated (under lock,
				  decremented atomically) */
	struct spinlock lock;  /* LOCK_ORDER_SPACE_PT: the tables */
};

/* Invalidation ranges a batch keeps before merging them. */
#define MMU_BATCH_RANGES 16
/* Data pages a batch may release after invalidation. */
#define MMU_BATCH_PAGES 4

/*
 * Work to do once the translations changed under locks have been
 * invalidated. Lives on the caller's stack; start it with
 * mmu_batch_init(), end it with mmu_batch_finish() (interrupts enabled, no
 * spinlock held).
 */
struct mmu_batch {
	struct mmu *owner;     /* counted in owner->inflight, or NULL */
	bool owner_counted;
	uint64_t cpus;         /* CPUs that may hold stale translations */
	uint32_t nranges;
	struct {
		uint64_t start, end;
	} ranges[MMU_BATCH_RANGES]; /* virtual ranges to invalidate */
	paddr_t tables;        /* page-table pages to free, linked through their first word */
	uint32_t npages;
	paddr_t pages[MMU_BATCH_PAGES]; /* to pmm_page_release() afterwards */
};

/* A new user address space with an empty user half. 0 or -KE_NO_MEMORY. */
int mmu_init(struct mmu *m);
/* Free every page table. The mmu must be loaded on no CPU (asserted);
 * the leaf pages are not touched. No lock may be held. */
void mmu_destroy(struct mmu *m);

/* Load m's tables on the calling CPU (NULL: the kernel-only tables). Cheap
 * when m is already loaded. Safe with interrupts on or off; takes no lock.
 * The caller must keep m alive while it is loaded anywhere. */
void mmu_activate(struct mmu *m);
/* The mmu loaded on the calling CPU (NULL: kernel only). */
struct mmu *mmu_active(void);

/* Map the page at virtual address va (page-aligned, user half) to the
 * physical page pa with protection prot, creating page tables as needed.
 * Replaces an existing translation of va, which must be the same page with
 * no more rights (widening), or absent: anything else needs an unmap and
 * invalidation first. 0 or -KE_NO_MEMORY. */
int mmu_map_page(struct mmu *m, uint64_t va, paddr_t pa, uint32_t prot);
/* The same with a cache mode other than write-back (device memory). */
#define MMU_CACHE_WRITE_BACK 0
#define MMU_CACHE_WRITE_THROUGH 1
#define MMU_CACHE_UNCACHED 2
int mmu_map_page_cache(struct mmu *m, uint64_t va, paddr_t pa, uint32_t prot, uint32_t cache);

/* Remove every translation in [start, end) (page-aligned, user half) and
 * free the page tables whose whole span lies inside the range (through the
 * batch). force: invalidate the whole range even where nothing is mapped
 * now (the caller knows of stale translations in flight). */
void mmu_unmap_range(struct mmu *m, uint64_t start, uint64_t end, struct mmu_batch *b,
		     bool force);

/* Take write access away from every translation in [start, end). */
void mmu_write_protect_range(struct mmu *m, uint64_t start, uint64_t end,
			     struct mmu_batch *b, bool force);

/* The translation of va: true and *pa, *prot (KESTREL_MAP_* bits) if
 * present. Either pointer may be NULL. */
bool mmu_query(struct mmu *m, uint64_t va, paddr_t *pa, uint32_t *prot);

/* owner: the mmu of the space whose own operation this is (counted in
 * its inflight until the batch finishes; it must stay alive until then),
 * or NULL. */
void mmu_batch_init(struct mmu_batch *b, struct mmu *owner);
/* Queue a data page for pmm_page_release() after invalidation. The caller
 * makes sure there is room (at most MMU_BATCH_PAGES per batch). */
void mmu_batch_release_page(struct mmu_batch *b, paddr_t page);
/* Invalidate what the batch recorded on every CPU that may cache it, then
 * free the page tables and release the pages. Interrupts enabled, no
 * spinlock held. The batch is empty afterwards (and may be reused). */
void mmu_batch_finish(struct mmu_batch *b);

#endif
