/*
 * Slab caches and kmalloc over the real buddy allocator on a fake physical
 * memory: sizes and alignment, memory going back to the page allocator,
 * large blocks, bad frees (which must panic), and threads hammering the
 * caches at once.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_phys.h"
#include "pmm.h"
#include "slab.h"
#include "unit.h"

#define MiB (1ull << 20)

static void boot(void)
{
	static struct kestrel_bootinfo bi;
	fake_phys_setup();
	memset(&bi, 0, sizeof(bi));
	fake_bootinfo_add(&bi, MiB, 63 * MiB, KESTREL_MEM_USABLE);
	pmm_init(&bi);
	kmalloc_init();
}

static uint64_t free_pages(void)
{
	struct pmm_stats st;
	pmm_get_stats(&st);
	return st.free_pages;
}

TEST(kmalloc_every_size_is_aligned_and_usable)
{
	boot();
	static void *p[3000];
	for (size_t n = 0; n < 3000; n++) {
		p[n] = kmalloc(n);
		CHECK(p[n] != 0);
		CHECK_EQ((uintptr_t)p[n] % 16, 0);
		CHECK(kmalloc_usable_size(p[n]) >= n);
		memset(p[n], (int)(n & 0xff), n);
	}
	for (size_t n = 0; n < 3000; n++) {
		for (size_t i = 0; i < n; i++)
			CHECK_EQ(((uint8_t *)p[n])[i], n & 0xff);
		kfree(p[n]);
	}
}

TEST(memory_goes_back_to_the_page_allocator)
{
	boot();
	uint64_t start = free_pages();
	enum { N = 20000 };
	static void *p[N];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			p[i] = kmalloc((size_t)(i % 1100) + 1);
			CHECK(p[i] != 0);
		}
		CHECK(free_pages() < start - 1000);
		for (int i = 0; i < N; i++)
			kfree(p[i]);
		/* At most one spare slab per size class stays. */
		CHECK(free_pages() >= start - 11);
	}
}

TEST(kzalloc_zeroes)
{
	boot();
	for (int i = 0; i < 100; i++) {
		uint8_t *p = kmalloc(200);
		memset(p, 0xaa, 200);
		kfree(p);
		uint8_t *q = kzalloc(200);
		for (int j = 0; j < 200; j++)
			CHECK_EQ(q[j], 0);
		kfree(q);
	}
}

TEST(large_blocks)
{
	boot();
	uint64_t start = free_pages();
	void *a = kmalloc(5000);
	CHECK(a != 0);
	CHECK_EQ(free_pages(), start - 2);
	void *b = kmalloc(1 * MiB);
	CHECK(b != 0);
	memset(b, 1, MiB);
	CHECK(kmalloc_usable_size(b) >= MiB);
	CHECK_EQ(kmalloc(4 * MiB), 0); /* larger than the largest block with its header */
	CHECK_EQ(kmalloc((size_t)-1), 0);
	kfree(a);
	kfree(b);
	kfree(0);
	CHECK_EQ(free_pages(), start);
}

TEST(cache_with_odd_size_and_alignment)
{
	boot();
	struct slab_cache *c = slab_cache_create("odd", 40, 64);
	CHECK(c != 0);
	CHECK_EQ(slab_cache_create("bad-align", 40, 48), 0);
	CHECK_EQ(slab_cache_create("too-big", SLAB_MAX_OBJECT + 1, 0), 0);
	enum { N = 1000 };
	static void *p[N];
	for (int i = 0; i < N; i++) {
		p[i] = slab_alloc(c);
		CHECK(p[i] != 0);
		CHECK_EQ((uintptr_t)p[i] % 64, 0);
		for (int j = 0; j < i; j++)
			CHECK(p[i] != p[j]);
	}
	struct slab_cache_stats st;
	slab_cache_get_stats(c, &st);
	CHECK_EQ(st.objects_in_use, N);
	CHECK_EQ(st.object_size, 64);
	CHECK_EQ(st.slabs, (N + 62) / 63); /* 63 objects of 64 bytes after the header */
	for (int i = 0; i < N; i += 2)
		slab_free(c, p[i]);
	for (int i = 1; i < N; i += 2)
		slab_free(c, p[i]);
	slab_cache_get_stats(c, &st);
	CHECK_EQ(st.objects_in_use, 0);
	CHECK_EQ(st.slabs, 1);
	slab_cache_destroy(c);
}

static bool panics(void (*fn)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
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

static void free_middle_of_object(void)
{
	uint8_t *p = kmalloc(64);
	kfree(p + 8);
}

static void free_wrong_cache(void)
{
	struct slab_cache *a = slab_cache_create("a", 32, 0);
	struct slab_cache *b = slab_cache_create("b", 32, 0);
	slab_free(b, slab_alloc(a));
}

static void kfree_cache_object(void)
{
	struct slab_cache *a = slab_cache_create("a", 32, 0);
	kfree(slab_alloc(a));
}

static void destroy_busy_cache(void)
{
	struct slab_cache *a = slab_cache_create("a", 32, 0);
	(void)slab_alloc(a);
	slab_cache_destroy(a);
}

static void double_free_last_object(void)
{
	void *p = kmalloc(700);
	kfree(p);
	kfree(p); /* the slab is the spare one now: not a slab in use */
}

TEST(bad_frees_panic)
{
	boot();
	CHECK(panics(free_middle_of_object));
	CHECK(panics(free_wrong_cache));
	CHECK(panics(kfree_cache_object));
	CHECK(panics(destroy_busy_cache));
	CHECK(panics(double_free_last_object));
}

/* Threads allocate and free at random, each checking its own data. */
static void *churn(void *arg)
{
	uint32_t seed = (uint32_t)(uintptr_t)arg;
	enum { SLOTS = 256 };
	struct {
		uint8_t *p;
		size_t n;
		uint8_t tag;
	} held[SLOTS] = {{0, 0, 0}};
	for (int step = 0; step < 100000; step++) {
		seed = seed * 1103515245u + 12345u;
		unsigned s = (seed >> 8) % SLOTS;
		if (held[s].p) {
			for (size_t i = 0; i < held[s].n; i++)
				if (held[s].p[i] != held[s].tag)
					return (void *)1;
			kfree(held[s].p);
			held[s].p = 0;
			continue;
		}
		size_t n = (seed >> 16) % 2000;
		held[s].p = kmalloc(n);
		if (!held[s].p)
			return (void *)2;
		held[s].n = n;
		held[s].tag = (uint8_t)seed;
		memset(held[s].p, held[s].tag, n);
	}
	for (unsigned s = 0; s < SLOTS; s++)
		kfree(held[s].p);
	return 0;
}

TEST(threads_share_the_caches)
{
	boot();
	uint64_t start = free_pages();
	pthread_t t[4];
	for (uintptr_t i = 0; i < 4; i++)
		CHECK(pthread_create(&t[i], 0, churn, (void *)(i + 1)) == 0);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		CHECK(r == 0);
	}
	CHECK(free_pages() >= start - 11);
}
