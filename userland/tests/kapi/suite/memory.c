/*
 * Memory objects: memory_create, memory_size, memory_cow, memory_physical;
 * zero fill, sharing between mappings, copy-on-write views.
 */
#include <string.h>

#include "suite.h"

#define PAGE KESTREL_PAGE_SIZE

static uint64_t map_rw(kestrel_handle_t m, uint64_t offset, uint64_t size)
{
	int64_t a = kestrel_space_map(KESTREL_THIS_SPACE, m, offset, 0, size,
				      KESTREL_MAP_READ | KESTREL_MAP_WRITE);
	return a < 0 ? 0 : (uint64_t)a;
}

static void unmap(uint64_t a, uint64_t size)
{
	kestrel_space_unmap(KESTREL_THIS_SPACE, a, size);
}

KAPI_TEST(memory_create_rounds_to_pages)
{
	static const struct {
		uint64_t ask, size;
	} cases[] = {{1, PAGE}, {PAGE, PAGE}, {PAGE + 1, 2 * PAGE}, {1 << 20, 1 << 20},
		     {KESTREL_MEMORY_MAX, KESTREL_MEMORY_MAX}};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kestrel_handle_t h = (kestrel_handle_t)CHECK_OK(
			kestrel_memory_create(cases[i].ask, KESTREL_MEMORY_ANONYMOUS, 0));
		CHECK_EQ(kestrel_memory_size(h), cases[i].size);
		kestrel_handle_close(h);
	}
}

KAPI_TEST(memory_create_rejects_bad_sizes_and_kinds)
{
	CHECK_ERR(kestrel_memory_create(0, KESTREL_MEMORY_ANONYMOUS, 0), KE_INVALID);
	CHECK_ERR(kestrel_memory_create(KESTREL_MEMORY_MAX + 1, KESTREL_MEMORY_ANONYMOUS, 0),
		  KE_TOO_BIG);
	/* Sizes whose rounding to pages would wrap around. */
	CHECK_ERR(kestrel_memory_create(~0ull, KESTREL_MEMORY_ANONYMOUS, 0), KE_TOO_BIG);
	CHECK_ERR(kestrel_memory_create(~0ull - PAGE + 2, KESTREL_MEMORY_ANONYMOUS, 0), KE_TOO_BIG);
	CHECK_ERR(kestrel_memory_create(PAGE, 2, 0), KE_INVALID);
	CHECK_ERR(kestrel_memory_create(PAGE, 99, 0), KE_INVALID);
	CHECK_ERR(kestrel_memory_create(PAGE, 0xffffffffu, 0), KE_INVALID);
	CHECK_ERR(kestrel_syscall(KESTREL_SYS_MEMORY_CREATE, PAGE, 1ull << 32, 0, 0, 0, 0),
		  KE_INVALID);
	/* Contiguous memory: at most 4 MiB. */
	CHECK_ERR(kestrel_memory_create(8 << 20, KESTREL_MEMORY_CONTIGUOUS, 0), KE_TOO_BIG);
}

KAPI_TEST(memory_contiguous_has_a_physical_address)
{
	kestrel_handle_t h = (kestrel_handle_t)CHECK_OK(
		kestrel_memory_create(64 << 10, KESTREL_MEMORY_CONTIGUOUS, 0));
	int64_t phys = CHECK_OK(kestrel_memory_physical(h));
	CHECK(phys > 0);
	CHECK_EQ(phys % PAGE, 0);
	/* Below a limit (DMA for 32-bit devices). */
	kestrel_handle_t low = (kestrel_handle_t)CHECK_OK(
		kestrel_memory_create(16 << 10, KESTREL_MEMORY_CONTIGUOUS, 64ull << 20));
	int64_t lphys = CHECK_OK(kestrel_memory_physical(low));
	CHECK_MSG(lphys + (16 << 10) <= (64ll << 20), "physical 0x%llx above the 64 MiB limit",
		  (long long)lphys);
	/* It is ordinary memory otherwise. */
	uint64_t a = map_rw(h, 0, 64 << 10);
	CHECK(a);
	memset((void *)a, 0x5a, 64 << 10);
	unmap(a, 64 << 10);
	/* Needs CONTROL; anonymous memory has no single address. */
	kestrel_handle_t nc = (kestrel_handle_t)CHECK_OK(
		kestrel_handle_duplicate(h, KESTREL_RIGHTS_ALL & ~KESTREL_RIGHT_CONTROL));
	CHECK_ERR(kestrel_memory_physical(nc), KE_ACCESS);
	kestrel_handle_t anon =
		(kestrel_handle_t)CHECK_OK(kestrel_memory_create(PAGE, KESTREL_MEMORY_ANONYMOUS, 0));
	CHECK_ERR(kestrel_memory_physical(anon), KE_INVALID);
	for (int i = 0; i < kapi_bad_handle_count; i++)
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_MEMORY_PHYSICAL, (uint64_t)kapi_bad_handles[i],
					  0, 0, 0, 0, 0),
			  KE_BAD_HANDLE);
	kestrel_handle_close(h);
	kestrel_handle_close(low);
	kestrel_handle_close(nc);
	kestrel_handle_close(anon);
}

KAPI_TEST(memory_is_zero_filled_and_shared)
{
	size_t size = 64 << 10;
	kestrel_handle_t h =
		(kestrel_handle_t)CHECK_OK(kestrel_memory_create(size, KESTREL_MEMORY_ANONYMOUS, 0));
	uint8_t *a = (uint8_t *)map_rw(h, 0, size);
	uint8_t *b = (uint8_t *)map_rw(h, 0, size);
	CHECK(a && b && a != b);
	for (size_t i = 0; i < size; i += 8)
		CHECK_MSG(*(uint64_t *)(void *)(a + i) == 0, "byte %zu not zero", i);
	for (size_t i = 0; i < size; i += PAGE)
		a[i + 7] = (uint8_t)(i / PAGE + 1);
	for (size_t i = 0; i < size; i += PAGE)
		CHECK_EQ(b[i + 7], (uint8_t)(i / PAGE + 1));
	/* A mapping of part of the object, at an offset. */
	uint8_t *c = (uint8_t *)map_rw(h, 2 * PAGE, PAGE);
	CHECK(c);
	CHECK_EQ(c[7], 3);
	c[100] = 0xee;
	CHECK_EQ(a[2 * PAGE + 100], 0xee);
	unmap((uint64_t)a, size);
	unmap((uint64_t)b, size);
	unmap((uint64_t)c, PAGE);
	kestrel_handle_close(h);
}

KAPI_TEST(memory_lives_while_mapped)
{
	/* Closing the last handle leaves a mapped object alive. */
	kestrel_handle_t h =
		(kestrel_handle_t)CHECK_OK(kestrel_memory_create(2 * PAGE, KESTREL_MEMORY_ANONYMOUS, 0));
	uint8_t *a = (uint8_t *)map_rw(h, 0, 2 * PAGE);
	CHECK(a);
	a[0] = 1;
	CHECK_EQ(kestrel_handle_close(h), 0);
	a[PAGE] = 2;
	CHECK_EQ(a[0], 1);
	CHECK_EQ(a[PAGE], 2);
	CHECK_EQ(kestrel_space_unmap(KESTREL_THIS_SPACE, (uint64_t)a, 2 * PAGE), 0);
}

KAPI_TEST(memory_cow_views_copy_on_write)
{
	size_t size = 4 * PAGE;
	kestrel_handle_t h =
		(kestrel_handle_t)CHECK_OK(kestrel_memory_create(size, KESTREL_MEMORY_ANONYMOUS, 0));
	uint8_t *src = (uint8_t *)map_rw(h, 0, size);
	CHECK(src);
	for (size_t i = 0; i < size; i++)
		src[i] = (uint8_t)(i * 7);
	kestrel_handle_t v = (kestrel_handle_t)CHECK_OK(kestrel_memory_cow(h, 0, size));
	CHECK_EQ(handle_type(v), KESTREL_OBJ_MEMORY);
	CHECK_EQ(kestrel_memory_size(v), size);
	CHECK(handle_id(v) != handle_id(h));
	uint8_t *view = (uint8_t *)map_rw(v, 0, size);
	CHECK(view);
	CHECK(memcmp(view, src, size) == 0);
	/* Writes on either side stay on that side. */
	view[10] = 0xaa;
	CHECK_EQ(src[10], (uint8_t)70);
	src[PAGE + 1] = 0xbb;
	CHECK_EQ(view[PAGE + 1], (uint8_t)((PAGE + 1) * 7));
	/* A view of the second page only. */
	kestrel_handle_t v2 = (kestrel_handle_t)CHECK_OK(kestrel_memory_cow(h, PAGE, PAGE));
	CHECK_EQ(kestrel_memory_size(v2), PAGE);
	uint8_t *view2 = (uint8_t *)map_rw(v2, 0, PAGE);
	CHECK(view2);
	CHECK_EQ(view2[1], 0xbb);
	CHECK_EQ(view2[2], (uint8_t)((PAGE + 2) * 7));
	/* A view of a view. */
	kestrel_handle_t vv = (kestrel_handle_t)CHECK_OK(kestrel_memory_cow(v, 0, PAGE));
	uint8_t *view3 = (uint8_t *)map_rw(vv, 0, PAGE);
	CHECK(view3);
	CHECK_EQ(view3[10], 0xaa);
	unmap((uint64_t)src, size);
	unmap((uint64_t)view, size);
	unmap((uint64_t)view2, PAGE);
	unmap((uint64_t)view3, PAGE);
	kestrel_handle_close(h);
	kestrel_handle_close(v);
	kestrel_handle_close(v2);
	kestrel_handle_close(vv);
}

KAPI_TEST(memory_cow_rejects_bad_ranges_and_rights)
{
	kestrel_handle_t h =
		(kestrel_handle_t)CHECK_OK(kestrel_memory_create(4 * PAGE, KESTREL_MEMORY_ANONYMOUS, 0));
	CHECK_ERR(kestrel_memory_cow(h, 1, PAGE), KE_INVALID);
	CHECK_ERR(kestrel_memory_cow(h, 0, PAGE + 1), KE_INVALID);
	CHECK_ERR(kestrel_memory_cow(h, 0, 0), KE_INVALID);
	CHECK_ERR(kestrel_memory_cow(h, 0, 5 * PAGE), KE_INVALID);
	CHECK_ERR(kestrel_memory_cow(h, 4 * PAGE, PAGE), KE_INVALID);
	CHECK_ERR(kestrel_memory_cow(h, 3 * PAGE, 2 * PAGE), KE_INVALID);
	/* offset + size wraps around. */
	CHECK_ERR(kestrel_memory_cow(h, ~0ull - PAGE + 1, 2 * PAGE), KE_INVALID);
	kestrel_handle_t nr = (kestrel_handle_t)CHECK_OK(
		kestrel_handle_duplicate(h, KESTREL_RIGHTS_ALL & ~KESTREL_RIGHT_READ));
	CHECK_ERR(kestrel_memory_cow(nr, 0, PAGE), KE_ACCESS);
	for (int i = 0; i < kapi_bad_handle_count; i++)
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_MEMORY_COW, (uint64_t)kapi_bad_handles[i], 0,
					  PAGE, 0, 0, 0),
			  KE_BAD_HANDLE);
	kestrel_handle_close(nr);
	kestrel_handle_close(h);
}

KAPI_TEST(memory_size_bad_handles)
{
	for (int i = 0; i < kapi_bad_handle_count; i++)
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_MEMORY_SIZE, (uint64_t)kapi_bad_handles[i], 0,
					  0, 0, 0, 0),
			  KE_BAD_HANDLE);
}

KAPI_TEST(memory_many_objects)
{
	/* Create, touch and drop many objects: nothing may leak so much that
	 * the loop fails (256 MiB machines: 2000 x 64 KiB = 125 MiB in turn). */
	for (int i = 0; i < 2000; i++) {
		kestrel_handle_t h;
		uint64_t a = kapi_map_pages(64 << 10, &h);
		CHECK_MSG(a != 0, "round %d: cannot map", i);
		for (int p = 0; p < 16; p++)
			((volatile uint8_t *)a)[p * PAGE] = (uint8_t)i;
		CHECK_EQ(kestrel_space_unmap(KESTREL_THIS_SPACE, a, 64 << 10), 0);
		CHECK_EQ(kestrel_handle_close(h), 0);
	}
}
