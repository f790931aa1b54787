/*
 * kapi-fuzz: random argument values (see fuzz.h). Each generator mixes
 * values a correct program would pass with the edge cases a kernel must
 * refuse: the point is to reach every validation branch, not to be
 * uniformly random.
 */
#include "fuzz.h"

uint64_t fz_rand(struct fuzz_worker *w)
{
	return kapi_random(&w->rng);
}

uint64_t fz_below(struct fuzz_worker *w, uint64_t n)
{
	return n ? fz_rand(w) % n : 0;
}

bool fz_chance(struct fuzz_worker *w, unsigned percent)
{
	return fz_below(w, 100) < percent;
}

static uint64_t pick(struct fuzz_worker *w, const uint64_t *v, size_t n)
{
	return v[fz_below(w, n)];
}
#define PICK(w, array) pick(w, array, sizeof(array) / sizeof(array[0]))

/* Addresses no call may accept as user memory, or that hold nothing. */
static const uint64_t bad_addresses[] = {
	0,
	KAPI_LOW_ADDR,
	KESTREL_USER_MIN - KESTREL_PAGE_SIZE,
	KAPI_UNMAPPED,
	KESTREL_USER_MAX,
	KESTREL_USER_MAX - KESTREL_PAGE_SIZE,
	KAPI_LAST_USER,
	KAPI_NONCANONICAL,
	0x00007fffffffffffull,
	KAPI_KERNEL_ADDR,
	0xffffffff80000000ull, /* kernel text */
	0xfffffffffffff000ull,
	UINT64_MAX,
	1ull << 63,
};

static const uint64_t sizes[] = {
	0,
	1,
	7,
	8,
	16,
	sizeof(struct kestrel_handle_info),
	sizeof(struct kestrel_regs_x86_64),
	KESTREL_FPU_STATE_SIZE,
	KESTREL_PAGE_SIZE - 1,
	KESTREL_PAGE_SIZE,
	KESTREL_PAGE_SIZE + 1,
	2 * KESTREL_PAGE_SIZE,
	16 * KESTREL_PAGE_SIZE,
	KESTREL_MAX_INLINE,
	KESTREL_MAX_INLINE + 1,
	KESTREL_MAX_MESSAGE,
	KESTREL_MAX_MESSAGE + 1,
	1ull << 20,
	(1ull << 20) + 1,
	4ull << 20,
	(4ull << 20) + KESTREL_PAGE_SIZE,
	KESTREL_MEMORY_MAX,
	KESTREL_MEMORY_MAX + KESTREL_PAGE_SIZE,
	1ull << 47,
	1ull << 63,
	UINT64_MAX - KESTREL_PAGE_SIZE + 1,
	UINT64_MAX,
	0xffffffffull,
	0x100000000ull,
};

uint64_t fz_size(struct fuzz_worker *w)
{
	switch (fz_below(w, 8)) {
	case 0:
		return fz_below(w, 64);
	case 1:
		return (1 + fz_below(w, 8)) * KESTREL_PAGE_SIZE;
	case 2:
		return fz_rand(w);
	default:
		return PICK(w, sizes);
	}
}

uint64_t fz_ptr(struct fuzz_worker *w)
{
	uint64_t scratch = (uint64_t)(uintptr_t)w->scratch;
	uint64_t span = FUZZ_SCRATCH_PAGES * KESTREL_PAGE_SIZE;
	switch (fz_below(w, 16)) {
	case 0:
		return PICK(w, bad_addresses);
	case 1:
		return (uint64_t)(uintptr_t)w->ro_page + fz_below(w, KESTREL_PAGE_SIZE);
	case 2: /* near the end: the object straddles into the read-only page */
		return scratch + span - 1 - fz_below(w, 64);
	case 3: /* code: readable, never writable */
		return (uint64_t)(uintptr_t)&fuzz_exit_stub;
	case 4:
		return scratch + fz_below(w, span); /* unaligned */
	case 5:
		return fz_chance(w, 50) ? fz_rand(w) : scratch + (fz_rand(w) | span);
	default:
		return scratch + 8 * fz_below(w, span / 16);
	}
}

uint64_t fz_addr(struct fuzz_worker *w)
{
	switch (fz_below(w, 6)) {
	case 0:
		return PICK(w, bad_addresses);
	case 1:
		return fz_rand(w);
	case 2:
		return (fz_rand(w) % KESTREL_USER_MAX) & ~(uint64_t)(KESTREL_PAGE_SIZE - 1);
	default:
		/* Where the worker also maps things into other spaces, so
		 * ranges overlap. */
		return w->playground + KESTREL_PAGE_SIZE * fz_below(w, 64) +
		       (fz_chance(w, 10) ? fz_below(w, KESTREL_PAGE_SIZE) : 0);
	}
}

void fz_self_range(struct fuzz_worker *w, uint64_t *addr, uint64_t *size)
{
	uint64_t pg = KESTREL_PAGE_SIZE;
	uint64_t end = w->playground + FUZZ_PLAYGROUND_SIZE;
	if (fz_chance(w, 80)) {
		uint64_t a = w->playground + pg * fz_below(w, FUZZ_PLAYGROUND_WINDOW / pg);
		if (fz_chance(w, 5))
			a = w->playground + pg * fz_below(w, FUZZ_PLAYGROUND_SIZE / pg);
		uint64_t s = pg * (1 + fz_below(w, 24));
		if (fz_chance(w, 3))
			s = end - a; /* all the rest of the playground */
		if (s > end - a)
			s = end - a;
		if (fz_chance(w, 5))
			a += 1 + fz_below(w, pg - 1);
		else if (fz_chance(w, 5))
			s += 1 + fz_below(w, pg - 1);
		else if (fz_chance(w, 3))
			s = 0;
		*addr = a;
		*size = s;
		return;
	}
	/* Ranges every check must refuse, whatever the space holds. */
	switch (fz_below(w, 7)) {
	case 0:
		*addr = w->playground;
		*size = UINT64_MAX - pg + 1; /* wraps around */
		break;
	case 1:
		*addr = w->playground;
		*size = 1ull << 63; /* ends beyond user space */
		break;
	case 2:
		*addr = KESTREL_USER_MAX;
		*size = fz_size(w);
		break;
	case 3:
		*addr = KAPI_KERNEL_ADDR;
		*size = pg * (1 + fz_below(w, 4));
		break;
	case 4:
		*addr = KAPI_NONCANONICAL;
		*size = pg;
		break;
	case 5:
		*addr = 0xfffffffffffff000ull;
		*size = 2 * pg;
		break;
	default:
		*addr = KAPI_LOW_ADDR; /* below KESTREL_USER_MIN */
		*size = pg;
		break;
	}
}

uint64_t fz_value(struct fuzz_worker *w)
{
	switch (fz_below(w, 8)) {
	case 0:
		return (uint64_t)fz_handle(w);
	case 1:
		return fz_ptr(w);
	case 2:
		return fz_size(w);
	case 3:
		return fz_below(w, 40);
	case 4:
		return fz_rand(w);
	case 5:
		return (uint64_t)-(int64_t)fz_below(w, KE_ERROR_COUNT + 2);
	case 6:
		return PICK(w, bad_addresses);
	default:
		return 1ull << fz_below(w, 64);
	}
}

int64_t fz_handle(struct fuzz_worker *w)
{
	int64_t h;
	switch (fz_below(w, 20)) {
	case 0:
		h = KESTREL_THIS_SPACE;
		break;
	case 1:
		h = KESTREL_THIS_TABLE;
		break;
	case 2:
	case 3:
		h = kapi_bad_handles[fz_below(w, (uint64_t)kapi_bad_handle_count)];
		break;
	case 4:
		h = (int64_t)(1 + fz_below(w, 96)); /* whatever the table holds there */
		break;
	case 5:
		h = (int64_t)fz_rand(w);
		break;
	default:
		h = fz_pool_pick(w);
		break;
	}
	return fz_protected(h) ? KESTREL_MAX_HANDLES - 1 : h;
}

uint64_t fz_timeout(struct fuzz_worker *w)
{
	/* Never 0 (forever); at most 2 ms so a wait that nothing ends costs
	 * little. */
	return 1 + fz_below(w, fz_chance(w, 80) ? 20000 : 2 * KAPI_MS);
}

uint64_t fz_tag(struct fuzz_worker *w)
{
	/* The set the cleanup cancels: 0, UINT64_MAX and small numbers. */
	uint64_t t = fz_below(w, FUZZ_TAGS);
	return t == FUZZ_TAGS - 1 ? UINT64_MAX : t;
}

uint32_t fz_rights(struct fuzz_worker *w)
{
	switch (fz_below(w, 4)) {
	case 0:
		return KESTREL_RIGHTS_ALL;
	case 1:
		return (uint32_t)fz_rand(w);
	default:
		return (uint32_t)fz_rand(w) & KESTREL_RIGHTS_ALL;
	}
}
