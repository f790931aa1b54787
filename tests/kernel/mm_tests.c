/*
 * Memory-management self-tests: the buddy allocator and kmalloc under
 * load from every CPU at once, with the statistics returning to where they
 * started (no leak), and the kernel stack guard pages.
 */
#include "arch.h"
#include "clock.h"
#include "cpu.h"
#include "ktest.h"
#include "kstring.h"
#include "log.h"
#include "pmm.h"
#include "sched.h"
#include "slab.h"
#include "vm.h"

#define MiB (1ull << 20)

KTEST(pmm_alloc_free)
{
	struct pmm_stats a, b;
	pmm_get_stats(&a);
	for (unsigned k = 0; k <= PMM_MAX_ORDER; k++) {
		paddr_t p = pmm_alloc_pages(k);
		KCHECK(p != 0);
		KCHECK_EQ(p & ((PAGE_SIZE << k) - 1), 0);
		/* The block is usable memory through the direct map. */
		memset(phys_to_virt(p), 0x5a, PAGE_SIZE << k);
		pmm_free_pages(p, k);
	}
	pmm_get_stats(&b);
	KCHECK_EQ(b.free_pages, a.free_pages);
	KCHECK(b.total_pages >= b.free_pages);
}

KTEST(pmm_alloc_below_limits)
{
	paddr_t low = pmm_alloc_pages_below(0, MiB);
	KCHECK(low != 0 && low < MiB);
	paddr_t dma32 = pmm_alloc_pages_below(4, 4096 * MiB);
	KCHECK(dma32 != 0 && dma32 + 16 * PAGE_SIZE <= 4096 * MiB);
	pmm_free_page(low);
	pmm_free_pages(dma32, 4);
}

struct page_churn {
	uint64_t pages;   /* to allocate, then free */
	uint64_t got;     /* allocated */
	uint64_t ns;
	bool wrong_cpu;
};

/* Allocate `pages` pages one by one, chaining them through their first
 * word, then free them all. */
static void churn_pages(void *arg)
{
	struct page_churn *c = arg;
	uint32_t cpu = arch_cpu_index();
	uint64_t t0 = clock_monotonic_ns();
	paddr_t head = 0;
	for (c->got = 0; c->got < c->pages; c->got++) {
		paddr_t p = pmm_alloc_page();
		if (!p)
			break;
		*(paddr_t *)phys_to_virt(p) = head;
		head = p;
	}
	while (head) {
		paddr_t next = *(paddr_t *)phys_to_virt(head);
		pmm_free_page(head);
		head = next;
	}
	c->ns = clock_monotonic_ns() - t0;
	c->wrong_cpu = arch_cpu_index() != cpu;
}

/* The foundation's bar: 1 GiB in 4 KiB pages across all CPUs, and the
 * statistics back at their start value. On a small machine, all free
 * memory but 16 MiB. */
KTEST(pmm_1gib_across_cpus_no_leak)
{
	struct pmm_stats before, after;
	pmm_get_stats(&before);
	uint64_t want = (1024 * MiB) / PAGE_SIZE;
	uint64_t spare = 16 * MiB / PAGE_SIZE;
	if (before.free_pages < want + spare)
		want = before.free_pages > spare ? before.free_pages - spare : 0;
	uint32_t n = cpu_count;
	struct page_churn c[MAX_CPUS];
	struct thread *t[MAX_CPUS];
	for (uint32_t i = 0; i < n; i++) {
		c[i] = (struct page_churn){.pages = want / n};
		t[i] = thread_create("pmm-churn", churn_pages, &c[i], THREAD_PRIORITY_DEFAULT,
				     1ull << i, true);
		KCHECK(t[i] != 0);
	}
	uint64_t got = 0, slowest = 0;
	for (uint32_t i = 0; i < n; i++) {
		thread_join(t[i]);
		got += c[i].got;
		if (c[i].ns > slowest)
			slowest = c[i].ns;
	}
	pmm_get_stats(&after);
	KCHECK_EQ(got, (want / n) * n);
	KCHECK_EQ(after.free_pages, before.free_pages);
	for (unsigned k = 0; k <= PMM_MAX_ORDER; k++)
		KCHECK_EQ(after.free_blocks[k], before.free_blocks[k]);
	kprintf("KTEST INFO pmm: %llu MiB in 4 KiB pages on %u CPUs in %llu ms\n",
		(unsigned long long)(got * PAGE_SIZE / MiB), n,
		(unsigned long long)(slowest / 1000000));
}

struct kmalloc_churn {
	uint32_t seed;
	int errors;
};

static void churn_kmalloc(void *arg)
{
	struct kmalloc_churn *c = arg;
	enum { SLOTS = 128 };
	struct {
		uint8_t *p;
		size_t n;
		uint8_t tag;
	} held[SLOTS];
	memset(held, 0, sizeof(held));
	uint32_t seed = c->seed;
	for (int step = 0; step < 20000; step++) {
		seed = seed * 1103515245u + 12345u;
		unsigned s = (seed >> 8) % SLOTS;
		if (held[s].p) {
			for (size_t i = 0; i < held[s].n; i++)
				if (held[s].p[i] != held[s].tag)
					c->errors++;
			kfree(held[s].p);
			held[s].p = 0;
			continue;
		}
		size_t n = (seed >> 16) % 1500;
		held[s].p = kmalloc(n);
		if (!held[s].p) {
			c->errors++;
			continue;
		}
		held[s].n = n;
		held[s].tag = (uint8_t)seed;
		memset(held[s].p, held[s].tag, n);
	}
	for (unsigned s = 0; s < SLOTS; s++)
		kfree(held[s].p);
}

KTEST(kmalloc_stress_across_cpus)
{
	struct pmm_stats before, after;
	struct kmalloc_churn c[MAX_CPUS];
	struct thread *t[MAX_CPUS];
	/* Round 0 warms the caches (spare slabs are kept, not leaked). */
	for (int round = 0; round < 2; round++) {
		if (round == 1)
			pmm_get_stats(&before);
		for (uint32_t i = 0; i < cpu_count; i++) {
			c[i] = (struct kmalloc_churn){.seed = i + 1};
			t[i] = thread_create("kmalloc-churn", churn_kmalloc, &c[i],
					     THREAD_PRIORITY_DEFAULT, 1ull << i, true);
			KCHECK(t[i] != 0);
		}
		for (uint32_t i = 0; i < cpu_count; i++) {
			thread_join(t[i]);
			KCHECK_EQ(c[i].errors, 0);
		}
	}
	pmm_get_stats(&after);
	KCHECK_EQ(after.free_pages, before.free_pages);
}

KTEST(kmalloc_large_and_zeroed)
{
	uint8_t *p = kzalloc(3 * MiB);
	KCHECK(p != 0);
	for (uint64_t i = 0; i < 3 * MiB; i += 4096)
		KCHECK_EQ(p[i], 0);
	kfree(p);
	KCHECK(kmalloc(64 * MiB) == 0);
}

KTEST(vm_stack_guard_page_unmapped)
{
	uint8_t *stack = vm_alloc_stack(16384);
	KCHECK(stack != 0);
	KCHECK(vm_translate((uint64_t)stack) != 0);
	KCHECK(vm_translate((uint64_t)stack + 16383) != 0);
	KCHECK_EQ(vm_translate((uint64_t)stack - 1), 0);
	vm_free_stack(stack, 16384);
	KCHECK_EQ(vm_translate((uint64_t)stack), 0);
}
