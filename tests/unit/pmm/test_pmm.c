/*
 * The buddy allocator on a fake physical memory: accounting, alignment,
 * limits, merging back to the initial state, memory above 4 GiB, released
 * boot-loader memory, and the kernel-bug checks (which must panic).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_phys.h"
#include "pmm.h"
#include "unit.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static struct kestrel_bootinfo bi;

/* A PC-like map: low memory, a hole, RAM to 48 MiB with boot-loader memory
 * and ACPI tables inside. */
static void boot_pc_like(void)
{
	fake_phys_setup();
	memset(&bi, 0, sizeof(bi));
	fake_bootinfo_add(&bi, 0, 0x9fc00, KESTREL_MEM_USABLE);
	fake_bootinfo_add(&bi, 0x9fc00, 0x60400, KESTREL_MEM_RESERVED);
	fake_bootinfo_add(&bi, MiB, 15 * MiB, KESTREL_MEM_USABLE);
	fake_bootinfo_add(&bi, 16 * MiB, 2 * MiB, KESTREL_MEM_KERNEL);
	fake_bootinfo_add(&bi, 18 * MiB, 1 * MiB + 0x3000, KESTREL_MEM_BOOTLOADER);
	fake_bootinfo_add(&bi, 19 * MiB + 0x3000, 29 * MiB - 0x3000, KESTREL_MEM_USABLE);
	fake_bootinfo_add(&bi, 48 * MiB, 64 * 1024, KESTREL_MEM_ACPI_RECLAIMABLE);
	pmm_init(&bi);
}

static uint64_t usable_pages_of_map(void)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < bi.mem_range_count; i++) {
		const struct kestrel_mem_range *r = &bi.mem_ranges[i];
		if (r->type == KESTREL_MEM_USABLE)
			n += (PAGE_ALIGN_DOWN(r->base + r->length) - PAGE_ALIGN_UP(r->base)) /
			     PAGE_SIZE;
	}
	return n;
}

static bool in_type(paddr_t p, uint64_t len, uint32_t type)
{
	for (uint32_t i = 0; i < bi.mem_range_count; i++) {
		const struct kestrel_mem_range *r = &bi.mem_ranges[i];
		if (r->type == type && p >= r->base && p + len <= r->base + r->length)
			return true;
	}
	return false;
}

TEST(init_counts_usable_memory)
{
	boot_pc_like();
	struct pmm_stats st;
	pmm_get_stats(&st);
	/* All usable pages but page 0 and the allocator's own state: 5 bytes
	 * for each of the ~12190 pages of RAM and boot-loader memory, 15 pages. */
	CHECK_EQ(st.total_pages, usable_pages_of_map() - 1 - 15);
	CHECK_EQ(st.free_pages, st.total_pages);
	CHECK(st.zones >= 3);
	uint64_t sum = 0;
	for (unsigned k = 0; k <= PMM_MAX_ORDER; k++)
		sum += st.free_blocks[k] << k;
	CHECK_EQ(sum, st.free_pages);
}

TEST(every_page_once_then_all_merge_back)
{
	boot_pc_like();
	struct pmm_stats start, mid, end;
	pmm_get_stats(&start);
	uint64_t n = 0;
	paddr_t head = 0;
	/* Take every page, chaining them through their first word. */
	for (paddr_t p; (p = pmm_alloc_page()) != 0; n++) {
		CHECK((p & (PAGE_SIZE - 1)) == 0);
		CHECK(in_type(p, PAGE_SIZE, KESTREL_MEM_USABLE));
		*(paddr_t *)phys_to_virt(p) = head;
		head = p;
	}
	CHECK_EQ(n, start.free_pages);
	pmm_get_stats(&mid);
	CHECK_EQ(mid.free_pages, 0);
	CHECK_EQ(mid.failures, start.failures + 1);
	while (head) {
		paddr_t next = *(paddr_t *)phys_to_virt(head);
		pmm_free_page(head);
		head = next;
	}
	pmm_get_stats(&end);
	CHECK_EQ(end.free_pages, start.free_pages);
	for (unsigned k = 0; k <= PMM_MAX_ORDER; k++)
		CHECK_EQ(end.free_blocks[k], start.free_blocks[k]);
}

TEST(blocks_are_naturally_aligned)
{
	boot_pc_like();
	for (unsigned k = 0; k <= PMM_MAX_ORDER; k++) {
		paddr_t p = pmm_alloc_pages(k);
		CHECK(p != 0);
		CHECK_EQ(p & ((PAGE_SIZE << k) - 1), 0);
		CHECK(in_type(p, PAGE_SIZE << k, KESTREL_MEM_USABLE));
		pmm_free_pages(p, k);
	}
	CHECK_EQ(pmm_alloc_pages(PMM_MAX_ORDER + 1), 0);
}

TEST(below_a_limit)
{
	boot_pc_like();
	/* Unlimited allocations come from high memory first. */
	paddr_t high = pmm_alloc_page();
	CHECK(high >= 19 * MiB);
	pmm_free_page(high);
	paddr_t low = pmm_alloc_pages_below(0, MiB);
	CHECK(low != 0 && low + PAGE_SIZE <= MiB);
	/* A limit in the middle of a zone. */
	paddr_t mid = pmm_alloc_pages_below(2, 2 * MiB);
	CHECK(mid >= MiB && mid + 4 * PAGE_SIZE <= 2 * MiB);
	/* Below 1 MiB there are only 158 pages: no 1 MiB block. */
	CHECK_EQ(pmm_alloc_pages_below(8, MiB), 0);
	CHECK_EQ(pmm_alloc_pages_below(0, PAGE_SIZE), 0); /* page 0 is never used */
	pmm_free_page(low);
	pmm_free_pages(mid, 2);
}

TEST(exhaust_low_memory_below_limit)
{
	boot_pc_like();
	uint64_t n = 0;
	paddr_t head = 0;
	for (paddr_t p; (p = pmm_alloc_pages_below(0, MiB)) != 0; n++) {
		CHECK(p < MiB && p != 0);
		*(paddr_t *)phys_to_virt(p) = head;
		head = p;
	}
	CHECK_EQ(n, 0x9f - 1); /* pages 1 .. 0x9e */
	while (head) {
		paddr_t next = *(paddr_t *)phys_to_virt(head);
		pmm_free_page(head);
		head = next;
	}
}

TEST(release_boot_loader_memory)
{
	boot_pc_like();
	struct pmm_stats a, b;
	pmm_get_stats(&a);
	pmm_add_free_range(18 * MiB, MiB + 0x3000);
	pmm_get_stats(&b);
	CHECK_EQ(b.total_pages, a.total_pages + 256 + 3);
	CHECK_EQ(b.free_pages, a.free_pages + 256 + 3);
	/* Released twice, or memory that is not the allocator's: ignored. */
	pmm_add_free_range(18 * MiB, MiB + 0x3000);
	pmm_add_free_range(16 * MiB, 2 * MiB);
	pmm_add_free_range(0xfffffffffffff000ull, 0x10000);
	pmm_get_stats(&a);
	CHECK_EQ(a.total_pages, b.total_pages);
	/* The released pages merge with their usable neighbours. */
	CHECK_EQ(a.free_pages, b.free_pages);
}

TEST(memory_above_4g_is_used_first)
{
	fake_phys_setup();
	memset(&bi, 0, sizeof(bi));
	fake_bootinfo_add(&bi, MiB, 31 * MiB, KESTREL_MEM_USABLE);
	fake_bootinfo_add(&bi, 3 * GiB, GiB + 64 * MiB, KESTREL_MEM_USABLE);
	pmm_init(&bi);
	struct pmm_stats st;
	pmm_get_stats(&st);
	CHECK_EQ(st.zones, 3); /* cut at 4 GiB */
	paddr_t p = pmm_alloc_pages(PMM_MAX_ORDER);
	CHECK(p >= 4 * GiB);
	pmm_free_pages(p, PMM_MAX_ORDER);
	paddr_t q = pmm_alloc_pages_below(PMM_MAX_ORDER, 4 * GiB);
	CHECK(q >= 3 * GiB && q + (PAGE_SIZE << PMM_MAX_ORDER) <= 4 * GiB);
	pmm_free_pages(q, PMM_MAX_ORDER);
}

/* Random churn of mixed orders against a model of which pages are taken. */
TEST(random_churn_never_overlaps)
{
	boot_pc_like();
	struct pmm_stats start, end;
	pmm_get_stats(&start);
	enum { SLOTS = 512 };
	struct {
		paddr_t base;
		unsigned order;
	} held[SLOTS] = {{0, 0}};
	static uint8_t owned[48 * MiB / PAGE_SIZE];
	memset(owned, 0, sizeof(owned));
	uint32_t seed = 12345;
	for (int step = 0; step < 200000; step++) {
		seed = seed * 1103515245u + 12345u;
		unsigned slot = (seed >> 8) % SLOTS;
		if (held[slot].base) {
			for (uint64_t i = 0; i < (1ull << held[slot].order); i++)
				owned[(held[slot].base >> PAGE_SHIFT) + i] = 0;
			pmm_free_pages(held[slot].base, held[slot].order);
			held[slot].base = 0;
			continue;
		}
		unsigned order = (seed >> 20) % 6 == 0 ? (seed >> 24) % (PMM_MAX_ORDER + 1) : 0;
		paddr_t p = pmm_alloc_pages(order);
		if (!p)
			continue;
		CHECK_EQ(p & ((PAGE_SIZE << order) - 1), 0);
		for (uint64_t i = 0; i < (1ull << order); i++) {
			CHECK(!owned[(p >> PAGE_SHIFT) + i]);
			owned[(p >> PAGE_SHIFT) + i] = 1;
		}
		held[slot].base = p;
		held[slot].order = order;
	}
	for (unsigned s = 0; s < SLOTS; s++)
		if (held[s].base)
			pmm_free_pages(held[s].base, held[s].order);
	pmm_get_stats(&end);
	CHECK_EQ(end.free_pages, start.free_pages);
	for (unsigned k = 0; k <= PMM_MAX_ORDER; k++)
		CHECK_EQ(end.free_blocks[k], start.free_blocks[k]);
}

TEST(shared_pages_are_freed_by_their_last_owner)
{
	boot_pc_like();
	struct pmm_stats a, b;
	pmm_get_stats(&a);
	paddr_t p = pmm_alloc_page();
	CHECK_EQ(pmm_page_owners(p), 1);
	pmm_page_share(p);
	pmm_page_share(p);
	CHECK_EQ(pmm_page_owners(p), 3);
	CHECK(!pmm_page_release(p));
	CHECK(!pmm_page_release(p));
	CHECK_EQ(pmm_page_owners(p), 1);
	CHECK(pmm_page_release(p));
	pmm_get_stats(&b);
	CHECK_EQ(b.free_pages, a.free_pages);
}

/* Run fn in a child; true if it panicked (aborted). */
static bool panics(void (*fn)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		/* The host panic() prints a FAIL line: keep it out of the results. */
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(3);
		fn();
		_exit(0);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return false;
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void double_free(void)
{
	paddr_t p = pmm_alloc_page();
	pmm_free_page(p);
	pmm_free_page(p);
}

static void wrong_order(void)
{
	paddr_t p = pmm_alloc_pages(3);
	pmm_free_pages(p, 2);
}

static void tail_page_free(void)
{
	paddr_t p = pmm_alloc_pages(3);
	pmm_free_page(p + PAGE_SIZE);
}

static void foreign_free(void)
{
	pmm_free_page(16 * MiB); /* the kernel image */
}

static void unaligned_free(void)
{
	paddr_t p = pmm_alloc_page();
	pmm_free_page(p + 8);
}

static void free_shared_page(void)
{
	paddr_t p = pmm_alloc_page();
	pmm_page_share(p);
	pmm_free_page(p);
}

static void share_free_page(void)
{
	paddr_t p = pmm_alloc_page();
	pmm_free_page(p);
	pmm_page_share(p);
}

static void share_large_block(void)
{
	pmm_page_share(pmm_alloc_pages(1));
}

static void overlapping_map(void)
{
	memset(&bi, 0, sizeof(bi));
	fake_bootinfo_add(&bi, MiB, 8 * MiB, KESTREL_MEM_USABLE);
	fake_bootinfo_add(&bi, 4 * MiB, 8 * MiB, KESTREL_MEM_USABLE);
	pmm_init(&bi);
}

static void no_memory_map(void)
{
	memset(&bi, 0, sizeof(bi));
	fake_bootinfo_add(&bi, MiB, 8 * MiB, KESTREL_MEM_RESERVED);
	pmm_init(&bi);
}

TEST(kernel_bugs_panic)
{
	boot_pc_like();
	CHECK(panics(double_free));
	CHECK(panics(wrong_order));
	CHECK(panics(tail_page_free));
	CHECK(panics(foreign_free));
	CHECK(panics(unaligned_free));
	CHECK(panics(free_shared_page));
	CHECK(panics(share_free_page));
	CHECK(panics(share_large_block));
	CHECK(panics(overlapping_map));
	CHECK(panics(no_memory_map));
}
