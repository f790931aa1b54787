/*
 * Address spaces: space_create, space_map (hints, FIXED, FIXED_REPLACE,
 * offsets, rights), space_unmap, space_protect, space_read / space_write.
 * What a fault on an unmapped or read-only page does is tested in a child
 * process (process.c): here nothing is touched that is not mapped.
 */
#include <string.h>

#include "suite.h"

#define PAGE KESTREL_PAGE_SIZE
#define RW (KESTREL_MAP_READ | KESTREL_MAP_WRITE)
/* An address the suite reserves for FIXED mappings. */
#define FIXED_ADDR 0x0000200000000000ull

static int64_t memory(uint64_t size)
{
	return kestrel_memory_create(size, KESTREL_MEMORY_ANONYMOUS, 0);
}

KAPI_TEST(space_map_places_and_fixes)
{
	kestrel_handle_t m = (kestrel_handle_t)CHECK_OK(memory(4 * PAGE));
	int64_t a = CHECK_OK(kestrel_space_map(KESTREL_THIS_SPACE, m, 0, 0, 4 * PAGE, RW));
	CHECK_EQ(a % PAGE, 0);
	CHECK((uint64_t)a >= KESTREL_USER_MIN && (uint64_t)a + 4 * PAGE <= KESTREL_USER_MAX);
	/* A hint is only a hint: a taken address gives another one. */
	int64_t b = CHECK_OK(kestrel_space_map(KESTREL_THIS_SPACE, m, 0, (uint64_t)a, PAGE, RW));
	CHECK(b != a);
	/* FIXED is exact, and refuses taken ranges. */
	CHECK_EQ(kestrel_space_map(KESTREL_THIS_SPACE, m, 0, FIXED_ADDR, 2 * PAGE,
				   RW | KESTREL_MAP_FIXED),
		 (int64_t)FIXED_ADDR);
	CHECK_ERR(kestrel_space_map(KESTREL_THIS_SPACE, m, 0, FIXED_ADDR + PAGE, 2 * PAGE,
				    RW | KESTREL_MAP_FIXED),
		  KE_BUSY);
	/* FIXED_REPLACE takes the range over: page 3 of m appears there. */
	((uint8_t *)a)[3 * PAGE] = 0x33;
	CHECK_EQ(kestrel_space_map(KESTREL_THIS_SPACE, m, 3 * PAGE, FIXED_ADDR + PAGE, PAGE,
				   RW | KESTREL_MAP_FIXED_REPLACE),
		 (int64_t)(FIXED_ADDR + PAGE));
	CHECK_EQ(((volatile uint8_t *)FIXED_ADDR)[PAGE], 0x33);
	CHECK_EQ(kestrel_space_unmap(KESTREL_THIS_SPACE, FIXED_ADDR, 2 * PAGE), 0);
	CHECK_EQ(kestrel_space_unmap(KESTREL_THIS_SPACE, (uint64_t)a, 4 * PAGE), 0);
	CHECK_EQ(kestrel_space_unmap(KESTREL_THIS_SPACE, (uint64_t)b, PAGE), 0);
	kestrel_handle_close(m);
}

KAPI_TEST(space_map_rejects_bad_ranges)
{
	kestrel_handle_t m = (kestrel_handle_t)CHECK_OK(memory(4 * PAGE));
	kestrel_handle_t S = KESTREL_THIS_SPACE;
	uint32_t F = RW | KESTREL_MAP_FIXED;
	CHECK_ERR(kestrel_space_map(S, m, 1, 0, PAGE, RW), KE_INVALID);          /* offset */
	CHECK_ERR(kestrel_space_map(S, m, 0, FIXED_ADDR + 1, PAGE, F), KE_INVALID);/* addr */
	CHECK_ERR(kestrel_space_map(S, m, 0, 0, PAGE + 1, RW), KE_INVALID);      /* size */
	CHECK_ERR(kestrel_space_map(S, m, 0, 0, 0, RW), KE_INVALID);
	CHECK_ERR(kestrel_space_map(S, m, 0, 0, 5 * PAGE, RW), KE_INVALID);      /* past the object */
	CHECK_ERR(kestrel_space_map(S, m, 4 * PAGE, 0, PAGE, RW), KE_INVALID);
	CHECK_ERR(kestrel_space_map(S, m, ~0ull - PAGE + 1, 0, 2 * PAGE, RW), KE_INVALID);
	CHECK_ERR(kestrel_space_map(S, m, 0, KAPI_KERNEL_ADDR, PAGE, F), KE_INVALID);
	CHECK_ERR(kestrel_space_map(S, m, 0, 0xffffffff80000000ull, PAGE, F), KE_INVALID);
	CHECK_ERR(kestrel_space_map(S, m, 0, KAPI_NONCANONICAL, PAGE, F), KE_INVALID);
	CHECK_ERR(kestrel_space_map(S, m, 0, 0, PAGE, F), KE_INVALID);           /* page 0 */
	CHECK_ERR(kestrel_space_map(S, m, 0, KESTREL_USER_MIN - PAGE, PAGE, F), KE_INVALID);
	CHECK_ERR(kestrel_space_map(S, m, 0, KESTREL_USER_MAX - PAGE, 2 * PAGE, F), KE_INVALID);
	CHECK_ERR(kestrel_space_map(S, m, 0, KESTREL_USER_MAX, PAGE, F), KE_INVALID);
	CHECK_ERR(kestrel_space_map(S, m, 0, 0, PAGE, RW | (1u << 20)), KE_INVALID); /* flags */
	CHECK_ERR(kestrel_space_map(S, m, 0, 0, PAGE, RW | 0x8), KE_INVALID);
	CHECK_ERR(kestrel_space_map(S, m, 0, FIXED_ADDR, PAGE,
				    RW | KESTREL_MAP_FIXED | KESTREL_MAP_FIXED_REPLACE),
		  KE_INVALID);
	/* The last user page itself is fine. */
	CHECK_EQ(kestrel_space_map(S, m, 0, KESTREL_USER_MAX - PAGE, PAGE, F),
		 (int64_t)(KESTREL_USER_MAX - PAGE));
	CHECK_EQ(kestrel_space_unmap(S, KESTREL_USER_MAX - PAGE, PAGE), 0);
	kestrel_handle_close(m);
}

KAPI_TEST(space_map_checks_rights)
{
	kestrel_handle_t m = (kestrel_handle_t)CHECK_OK(memory(PAGE));
	kestrel_handle_t S = KESTREL_THIS_SPACE;
	kestrel_handle_t ro = (kestrel_handle_t)CHECK_OK(
		kestrel_handle_duplicate(m, KESTREL_RIGHT_READ | KESTREL_RIGHT_MAP));
	kestrel_handle_t nomap = (kestrel_handle_t)CHECK_OK(
		kestrel_handle_duplicate(m, KESTREL_RIGHTS_ALL & ~KESTREL_RIGHT_MAP));
	CHECK_ERR(kestrel_space_map(S, ro, 0, 0, PAGE, RW), KE_ACCESS);
	CHECK_ERR(kestrel_space_map(S, ro, 0, 0, PAGE, KESTREL_MAP_READ | KESTREL_MAP_EXECUTE),
		  KE_ACCESS);
	int64_t a = CHECK_OK(kestrel_space_map(S, ro, 0, 0, PAGE, KESTREL_MAP_READ));
	CHECK_EQ(kestrel_space_unmap(S, (uint64_t)a, PAGE), 0);
	CHECK_ERR(kestrel_space_map(S, nomap, 0, 0, PAGE, KESTREL_MAP_READ), KE_ACCESS);
	/* The space needs MAP too. */
	kestrel_handle_t s = (kestrel_handle_t)CHECK_OK(kestrel_space_create());
	kestrel_handle_t s_nomap = (kestrel_handle_t)CHECK_OK(
		kestrel_handle_duplicate(s, KESTREL_RIGHTS_ALL & ~KESTREL_RIGHT_MAP));
	CHECK_ERR(kestrel_space_map(s_nomap, m, 0, 0, PAGE, KESTREL_MAP_READ), KE_ACCESS);
	CHECK_ERR(kestrel_space_unmap(s_nomap, FIXED_ADDR, PAGE), KE_ACCESS);
	CHECK_OK(kestrel_space_map(s, m, 0, FIXED_ADDR, PAGE, KESTREL_MAP_READ | KESTREL_MAP_FIXED));
	for (int i = 0; i < kapi_bad_handle_count; i++) {
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_SPACE_MAP, (uint64_t)kapi_bad_handles[i],
					  (uint64_t)m, 0, 0, PAGE, KESTREL_MAP_READ),
			  KE_BAD_HANDLE);
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_SPACE_MAP, (uint64_t)(int64_t)S,
					  (uint64_t)kapi_bad_handles[i], 0, 0, PAGE,
					  KESTREL_MAP_READ),
			  KE_BAD_HANDLE);
	}
	kestrel_handle_close(s_nomap);
	kestrel_handle_close(s);
	kestrel_handle_close(ro);
	kestrel_handle_close(nomap);
	kestrel_handle_close(m);
}

KAPI_TEST(space_unmap_ranges)
{
	kestrel_handle_t S = KESTREL_THIS_SPACE;
	kestrel_handle_t m = (kestrel_handle_t)CHECK_OK(memory(4 * PAGE));
	CHECK_OK(kestrel_space_map(S, m, 0, FIXED_ADDR, 4 * PAGE, RW | KESTREL_MAP_FIXED));
	volatile uint8_t *p = (volatile uint8_t *)FIXED_ADDR;
	p[0] = 1;
	p[3 * PAGE] = 4;
	/* Punch a hole in the middle: the ends stay. */
	CHECK_EQ(kestrel_space_unmap(S, FIXED_ADDR + PAGE, 2 * PAGE), 0);
	CHECK_EQ(p[0], 1);
	CHECK_EQ(p[3 * PAGE], 4);
	CHECK_ERR(kestrel_space_protect(S, FIXED_ADDR, 4 * PAGE, KESTREL_MAP_READ), KE_NOT_FOUND);
	/* The hole can be filled again with FIXED. */
	CHECK_OK(kestrel_space_map(S, m, PAGE, FIXED_ADDR + PAGE, 2 * PAGE,
				   RW | KESTREL_MAP_FIXED));
	CHECK_EQ(kestrel_space_protect(S, FIXED_ADDR, 4 * PAGE, KESTREL_MAP_READ), 0);
	/* Unmapping nothing is fine. */
	CHECK_EQ(kestrel_space_unmap(S, KAPI_UNMAPPED, 16 * PAGE), 0);
	CHECK_EQ(kestrel_space_unmap(S, FIXED_ADDR, 4 * PAGE), 0);
	CHECK_EQ(kestrel_space_unmap(S, FIXED_ADDR, 4 * PAGE), 0);
	/* Bad ranges. */
	CHECK_ERR(kestrel_space_unmap(S, FIXED_ADDR + 1, PAGE), KE_INVALID);
	CHECK_ERR(kestrel_space_unmap(S, FIXED_ADDR, PAGE + 1), KE_INVALID);
	CHECK_ERR(kestrel_space_unmap(S, KAPI_KERNEL_ADDR, PAGE), KE_INVALID);
	CHECK_ERR(kestrel_space_unmap(S, 0xffffffff80000000ull, PAGE), KE_INVALID);
	CHECK_ERR(kestrel_space_unmap(S, KESTREL_USER_MAX - PAGE, 2 * PAGE), KE_INVALID);
	CHECK_ERR(kestrel_space_unmap(S, KAPI_NONCANONICAL, PAGE), KE_INVALID);
	CHECK_ERR(kestrel_space_unmap(S, PAGE, ~0ull - 2 * PAGE + 1), KE_INVALID);
	kestrel_handle_close(m);
}

KAPI_TEST(space_protect_ranges_and_rights)
{
	kestrel_handle_t S = KESTREL_THIS_SPACE;
	kestrel_handle_t m = (kestrel_handle_t)CHECK_OK(memory(2 * PAGE));
	kestrel_handle_t noexec = (kestrel_handle_t)CHECK_OK(
		kestrel_handle_duplicate(m, KESTREL_RIGHTS_ALL & ~KESTREL_RIGHT_EXECUTE));
	CHECK_OK(kestrel_space_map(S, noexec, 0, FIXED_ADDR, 2 * PAGE, RW | KESTREL_MAP_FIXED));
	volatile uint8_t *p = (volatile uint8_t *)FIXED_ADDR;
	p[0] = 9;
	CHECK_EQ(kestrel_space_protect(S, FIXED_ADDR, PAGE, KESTREL_MAP_READ), 0);
	CHECK_EQ(p[0], 9);
	CHECK_EQ(kestrel_space_protect(S, FIXED_ADDR, 2 * PAGE, RW), 0);
	p[PAGE] = 10;
	/* The mapping's handle had no EXECUTE right. */
	CHECK_ERR(kestrel_space_protect(S, FIXED_ADDR, PAGE, KESTREL_MAP_READ | KESTREL_MAP_EXECUTE),
		  KE_ACCESS);
	/* Not mapped entirely. */
	CHECK_ERR(kestrel_space_protect(S, FIXED_ADDR, 3 * PAGE, KESTREL_MAP_READ), KE_NOT_FOUND);
	CHECK_ERR(kestrel_space_protect(S, KAPI_UNMAPPED, PAGE, KESTREL_MAP_READ), KE_NOT_FOUND);
	/* Malformed. */
	CHECK_ERR(kestrel_space_protect(S, FIXED_ADDR + 8, PAGE, KESTREL_MAP_READ), KE_INVALID);
	CHECK_ERR(kestrel_space_protect(S, FIXED_ADDR, PAGE, 0x10), KE_INVALID);
	CHECK_ERR(kestrel_space_protect(S, KAPI_KERNEL_ADDR, PAGE, KESTREL_MAP_READ), KE_INVALID);
	CHECK_EQ(kestrel_space_unmap(S, FIXED_ADDR, 2 * PAGE), 0);
	kestrel_handle_close(noexec);
	kestrel_handle_close(m);
}

KAPI_TEST(space_read_write_another_space)
{
	kestrel_handle_t s = (kestrel_handle_t)CHECK_OK(kestrel_space_create());
	kestrel_handle_t m = (kestrel_handle_t)CHECK_OK(memory(4 * PAGE));
	CHECK_OK(kestrel_space_map(s, m, 0, FIXED_ADDR, 3 * PAGE, RW | KESTREL_MAP_FIXED));
	CHECK_OK(kestrel_space_map(s, m, 3 * PAGE, FIXED_ADDR + 3 * PAGE, PAGE,
				   KESTREL_MAP_READ | KESTREL_MAP_FIXED));
	static uint8_t buf[3 * PAGE], back[3 * PAGE];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	/* Across page boundaries, into the other space. */
	CHECK_EQ(kestrel_space_write(s, FIXED_ADDR + 100, buf, sizeof(buf) - 200),
		 (int64_t)sizeof(buf) - 200);
	CHECK_EQ(kestrel_space_read(s, FIXED_ADDR + 100, back, sizeof(buf) - 200),
		 (int64_t)sizeof(buf) - 200);
	CHECK(memcmp(buf, back, sizeof(buf) - 200) == 0);
	/* The same bytes through our own mapping of the object. */
	uint8_t *mine = (uint8_t *)CHECK_OK(
		kestrel_space_map(KESTREL_THIS_SPACE, m, 0, 0, 4 * PAGE, KESTREL_MAP_READ));
	CHECK(memcmp(mine + 100, buf, sizeof(buf) - 200) == 0);
	/* Their side unmapped, or read-only for a write. */
	CHECK_ERR(kestrel_space_read(s, FIXED_ADDR + 4 * PAGE, back, 16), KE_FAULT);
	CHECK_ERR(kestrel_space_read(s, FIXED_ADDR + 4 * PAGE - 8, back, 16), KE_FAULT);
	CHECK_ERR(kestrel_space_write(s, FIXED_ADDR + 3 * PAGE, buf, 16), KE_FAULT);
	CHECK_ERR(kestrel_space_read(s, KAPI_KERNEL_ADDR, back, 16), KE_FAULT);
	/* Our side bad. */
	CHECK_ERR(kestrel_space_read(s, FIXED_ADDR, NULL, 16), KE_FAULT);
	CHECK_ERR(kestrel_space_read(s, FIXED_ADDR, (void *)KAPI_KERNEL_ADDR, 16), KE_FAULT);
	CHECK_ERR(kestrel_space_read(s, FIXED_ADDR, (void *)readonly_page(), 16), KE_FAULT);
	CHECK_ERR(kestrel_space_write(s, FIXED_ADDR, (void *)KAPI_UNMAPPED, 16), KE_FAULT);
	/* More than 1 MiB per call: refused, or cut to 1 MiB. */
	int64_t big = kestrel_space_read(s, FIXED_ADDR, buf, (2u << 20));
	CHECK_MSG(big == -KE_TOO_BIG || big == -KE_INVALID || big == -KE_FAULT,
		  "2 MiB read gave %lld", (long long)big);
	/* Rights: READ to read, WRITE to write. */
	kestrel_handle_t s_ro = (kestrel_handle_t)CHECK_OK(
		kestrel_handle_duplicate(s, KESTREL_RIGHT_READ | KESTREL_RIGHT_MAP));
	kestrel_handle_t s_wo = (kestrel_handle_t)CHECK_OK(
		kestrel_handle_duplicate(s, KESTREL_RIGHT_WRITE | KESTREL_RIGHT_MAP));
	CHECK_EQ(kestrel_space_read(s_ro, FIXED_ADDR, back, 16), 16);
	CHECK_ERR(kestrel_space_write(s_ro, FIXED_ADDR, buf, 16), KE_ACCESS);
	CHECK_EQ(kestrel_space_write(s_wo, FIXED_ADDR, buf, 16), 16);
	CHECK_ERR(kestrel_space_read(s_wo, FIXED_ADDR, back, 16), KE_ACCESS);
	/* Zero bytes. */
	CHECK_EQ(kestrel_space_read(s, FIXED_ADDR, back, 0), 0);
	kestrel_space_unmap(KESTREL_THIS_SPACE, (uint64_t)mine, 4 * PAGE);
	kestrel_handle_close(s_ro);
	kestrel_handle_close(s_wo);
	kestrel_handle_close(s);
	kestrel_handle_close(m);
}

KAPI_TEST(space_read_own_space)
{
	static uint64_t value = 0x1122334455667788ull;
	uint64_t out = 0;
	CHECK_EQ(kestrel_space_read(KESTREL_THIS_SPACE, (uint64_t)&value, &out, sizeof(out)), 8);
	CHECK_EQ(out, value);
	uint64_t in = 42;
	CHECK_EQ(kestrel_space_write(KESTREL_THIS_SPACE, (uint64_t)&value, &in, sizeof(in)), 8);
	CHECK_EQ(value, 42);
}

KAPI_TEST(space_destroyed_with_mappings)
{
	/* Spaces full of mappings, dropped: the kernel frees them (a leak
	 * would make later tests fail for memory). */
	for (int round = 0; round < 50; round++) {
		kestrel_handle_t s = (kestrel_handle_t)CHECK_OK(kestrel_space_create());
		kestrel_handle_t m = (kestrel_handle_t)CHECK_OK(memory(64 * PAGE));
		for (int i = 0; i < 16; i++)
			CHECK_OK(kestrel_space_map(s, m, (uint64_t)i * 4 * PAGE,
						   FIXED_ADDR + (uint64_t)i * (1ull << 30), 4 * PAGE,
						   RW | KESTREL_MAP_FIXED));
		static uint8_t junk[PAGE];
		for (int i = 0; i < 16; i++)
			CHECK_EQ(kestrel_space_write(s, FIXED_ADDR + (uint64_t)i * (1ull << 30), junk,
						     sizeof(junk)),
				 (int64_t)sizeof(junk));
		kestrel_handle_close(m);
		kestrel_handle_close(s);
	}
}
