/*
 * kapi-fuzz: one random system call (fz_one_call) and the check of every
 * result against <kestrel/syscall.h> (fz_call).
 *
 * Most calls get typed arguments — each argument drawn from the values
 * that argument can meaningfully take, good and bad — because a call whose
 * first argument is garbage never gets past its first check. A tenth of
 * the calls are "raw": an unknown number, or a call that is harmless to
 * the caller whatever it is passed, with any 64-bit values at all.
 */
#include <string.h>

#include "fuzz.h"

#define NR(x) ((uint64_t)KESTREL_SYS_##x)

static bool is_error(int64_t r)
{
	return r < 0 && r > -(int64_t)KE_ERROR_COUNT;
}

static bool page_aligned(uint64_t v)
{
	return (v & (KESTREL_PAGE_SIZE - 1)) == 0;
}

static bool is_handle(int64_t r)
{
	return r > 0 && r < KESTREL_MAX_HANDLES;
}

/* What a successful (r >= 0) result of call nr may be. */
static bool success_ok(struct fuzz_worker *w, uint64_t nr, int64_t r, const uint64_t *a)
{
	switch (nr) {
	case NR(HANDLE_DUPLICATE):
	case NR(HANDLE_TRANSFER):
	case NR(TABLE_CREATE):
	case NR(MEMORY_CREATE):
	case NR(MEMORY_COW):
	case NR(SPACE_CREATE):
	case NR(THREAD_CREATE):
	case NR(QUEUE_CREATE):
	case NR(IOPORTS_CREATE):
	case NR(IRQ_CREATE):
		return is_handle(r);
	case NR(IOPORT_IN):
		return r <= UINT32_MAX;
	case NR(MEMORY_SIZE):
		return r > 0 && page_aligned((uint64_t)r) && (uint64_t)r <= KESTREL_MEMORY_MAX;
	case NR(MEMORY_PHYSICAL):
		return r > 0 && page_aligned((uint64_t)r);
	case NR(SPACE_MAP):
		if (a[5] & (KESTREL_MAP_FIXED | KESTREL_MAP_FIXED_REPLACE) && (uint64_t)r != a[3])
			return false;
		return page_aligned((uint64_t)r) && (uint64_t)r >= KESTREL_USER_MIN &&
		       (uint64_t)r + a[4] <= KESTREL_USER_MAX && (uint64_t)r + a[4] > (uint64_t)r;
	case NR(SPACE_READ):
	case NR(SPACE_WRITE):
		return (uint64_t)r == a[3];
	case NR(FUTEX_WAKE):
		return (uint64_t)r <= a[1];
	case NR(SUBMIT_BATCH):
		return r >= 1 && (uint64_t)r <= a[2];
	case NR(QUEUE_WAIT):
		return r <= UINT32_MAX && (uint32_t)r != (uint32_t)a[1];
	case NR(CLOCK):
		if ((uint64_t)r < w->last_clock)
			return false;
		w->last_clock = (uint64_t)r;
		return true;
	case NR(SHUTDOWN):
		return false; /* not for us: KE_ACCESS */
	default:
		return r == 0;
	}
}

static bool result_ok(struct fuzz_worker *w, uint64_t nr, int64_t r, const uint64_t *a)
{
	bool known = nr >= KESTREL_SYSCALL_BASE && nr < KESTREL_SYS_END;
	if (!known)
		return r == -KE_BAD_CALL;
	if (nr == NR(SHUTDOWN))
		return r == -KE_ACCESS;
	if (r < 0)
		return is_error(r) && r != -KE_BAD_CALL;
	return success_ok(w, nr, r, a);
}

int64_t fz_call(struct fuzz_worker *w, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
		uint64_t a3, uint64_t a4, uint64_t a5)
{
	uint64_t a[6] = {a0, a1, a2, a3, a4, a5};
	int64_t r = kestrel_syscall(nr, a0, a1, a2, a3, a4, a5);
	w->stats[FK_CALLS]++;
	if (r >= 0)
		w->stats[FK_SUCCESSES]++;
	if (!result_ok(w, nr, r, a)) {
		w->stats[FK_BAD_RESULTS]++;
		if (w->bad_logged < 4) {
			w->bad_logged++;
			char buf[32];
			kapi_note("worker %d: call %#llx (%#llx %#llx %#llx %#llx %#llx %#llx) "
				  "returned %s, which the API does not allow",
				  w->index, (unsigned long long)nr, (unsigned long long)a0,
				  (unsigned long long)a1, (unsigned long long)a2,
				  (unsigned long long)a3, (unsigned long long)a4,
				  (unsigned long long)a5, kapi_result_text(r, buf));
		}
	}
	return r;
}

/* ---- bookkeeping of what a call created or destroyed ---- */

static bool in_scratch(struct fuzz_worker *w, uint64_t p, uint64_t len)
{
	uint64_t s = (uint64_t)(uintptr_t)w->scratch;
	uint64_t span = FUZZ_SCRATCH_PAGES * KESTREL_PAGE_SIZE;
	return p >= s && len <= span && p - s <= span - len;
}

static void after_stream_create(struct fuzz_worker *w, int64_t r, uint64_t out)
{
	if (r != 0 || !in_scratch(w, out, 2 * sizeof(kestrel_handle_t)))
		return;
	kestrel_handle_t h[2];
	memcpy(h, (const void *)(uintptr_t)out, sizeof(h));
	fz_pool_add(w, h[0]);
	fz_pool_add(w, h[1]);
}

static void after_queue_create(struct fuzz_worker *w, int64_t r, uint64_t cap, uint64_t out)
{
	if (r <= 0)
		return;
	if (!in_scratch(w, out, sizeof(uint64_t))) {
		/* Cannot happen: success means the address was stored. */
		w->stats[FK_BAD_RESULTS]++;
		return;
	}
	uint64_t addr;
	memcpy(&addr, (const void *)(uintptr_t)out, sizeof(addr));
	fz_queue_add(w, (kestrel_handle_t)r, addr, (uint32_t)cap);
}

/* ---- typed arguments, call by call ---- */

static uint32_t pick_kind(struct fuzz_worker *w)
{
	if (fz_chance(w, 70))
		return KESTREL_MEMORY_ANONYMOUS;
	return fz_chance(w, 70) ? KESTREL_MEMORY_CONTIGUOUS : (uint32_t)fz_rand(w);
}

static uint64_t memory_size_for(struct fuzz_worker *w, uint64_t kind)
{
	/* Contiguous memory is allocated at once: keep it mostly small so the
	 * pool cannot hold the whole machine's memory. */
	if (kind == KESTREL_MEMORY_CONTIGUOUS && !fz_chance(w, 5))
		return KESTREL_PAGE_SIZE * (1 + fz_below(w, 4));
	if (fz_chance(w, 60))
		return KESTREL_PAGE_SIZE * (1 + fz_below(w, 32));
	return fz_size(w);
}

static void call_memory_create(struct fuzz_worker *w)
{
	uint64_t kind = pick_kind(w);
	uint64_t limit = 0;
	if (fz_chance(w, 20))
		limit = fz_chance(w, 50) ? (16ull << 20) : fz_value(w);
	int64_t r = fz_call(w, NR(MEMORY_CREATE), memory_size_for(w, kind), kind, limit, 0, 0, 0);
	fz_pool_add(w, r);
}

static uint32_t map_flags(struct fuzz_worker *w)
{
	uint32_t f = (uint32_t)fz_below(w, 8);
	switch (fz_below(w, 10)) {
	case 0:
		f |= KESTREL_MAP_FIXED;
		break;
	case 1:
	case 2:
		f |= KESTREL_MAP_FIXED_REPLACE;
		break;
	case 3:
		f |= (uint32_t)fz_rand(w);
		break;
	default:
		break;
	}
	return f;
}

static uint64_t map_offset(struct fuzz_worker *w)
{
	if (fz_chance(w, 60))
		return 0;
	if (fz_chance(w, 70))
		return KESTREL_PAGE_SIZE * fz_below(w, 8);
	return fz_size(w);
}

static void call_space_map(struct fuzz_worker *w)
{
	int64_t space = fz_chance(w, 50) ? KESTREL_THIS_SPACE : fz_handle(w);
	if (fz_chance(w, 30))
		space = fz_pool_pick_type(w, KESTREL_OBJ_SPACE);
	int64_t mem = fz_chance(w, 70) ? fz_pool_pick_type(w, KESTREL_OBJ_MEMORY) : fz_handle(w);
	uint32_t flags = map_flags(w);
	uint64_t addr, size;
	if (space == KESTREL_THIS_SPACE && flags & KESTREL_MAP_FIXED_REPLACE) {
		fz_self_range(w, &addr, &size); /* never over the program itself */
	} else {
		addr = fz_chance(w, 30) ? 0 : fz_addr(w);
		size = fz_chance(w, 70) ? KESTREL_PAGE_SIZE * (1 + fz_below(w, 8)) : fz_size(w);
	}
	fz_call(w, NR(SPACE_MAP), (uint64_t)space, (uint64_t)mem, map_offset(w), addr, size,
		flags);
	/* A new mapping in the caller's space outside the playground stays
	 * until the program ends; harmless (it replaced nothing). */
}

static void call_space_range(struct fuzz_worker *w, uint64_t nr)
{
	int64_t space = fz_chance(w, 50) ? KESTREL_THIS_SPACE : fz_handle(w);
	if (fz_chance(w, 30))
		space = fz_pool_pick_type(w, KESTREL_OBJ_SPACE);
	uint64_t addr, size;
	if (space == KESTREL_THIS_SPACE) {
		fz_self_range(w, &addr, &size);
	} else {
		addr = fz_addr(w);
		size = fz_chance(w, 70) ? KESTREL_PAGE_SIZE * (1 + fz_below(w, 8)) : fz_size(w);
	}
	uint64_t prot = fz_chance(w, 90) ? fz_below(w, 8) : fz_rand(w);
	fz_call(w, nr, (uint64_t)space, addr, size, prot, 0, 0);
}

static void call_space_copy(struct fuzz_worker *w, uint64_t nr)
{
	int64_t space = fz_chance(w, 40) ? KESTREL_THIS_SPACE : fz_handle(w);
	if (fz_chance(w, 40))
		space = fz_pool_pick_type(w, KESTREL_OBJ_SPACE);
	uint64_t addr, size;
	if (space == KESTREL_THIS_SPACE && nr == NR(SPACE_WRITE)) {
		/* Writing into the caller's own space: only its playground. */
		fz_self_range(w, &addr, &size);
	} else {
		addr = fz_addr(w);
		size = fz_chance(w, 70) ? fz_below(w, 3 * KESTREL_PAGE_SIZE) : fz_size(w);
		if (space == KESTREL_THIS_SPACE && fz_chance(w, 30))
			addr = (uint64_t)(uintptr_t)w->scratch; /* read its own buffer */
	}
	fz_call(w, nr, (uint64_t)space, addr, fz_ptr(w), size, 0, 0);
}

static void call_handle_transfer(struct fuzz_worker *w)
{
	int64_t h = fz_handle(w);
	int64_t table = fz_chance(w, 40) ? KESTREL_THIS_TABLE : fz_handle(w);
	if (fz_chance(w, 30))
		table = fz_pool_pick_type(w, KESTREL_OBJ_TABLE);
	/* A table holding itself, or a thread using it (a stopped thread holds
	 * its table), is a cycle of references no close can break once the
	 * last outside handle is gone: the objects would outlive the program
	 * by the API's own rules. Such transfers only go to our own table. */
	uint32_t type = fz_handle_type(h);
	if (table != KESTREL_THIS_TABLE && fz_handle_type(table) == KESTREL_OBJ_TABLE &&
	    (type == KESTREL_OBJ_TABLE || type == KESTREL_OBJ_THREAD))
		table = KESTREL_THIS_TABLE;
	int64_t r = fz_call(w, NR(HANDLE_TRANSFER), (uint64_t)h, (uint64_t)table, fz_rights(w), 0,
			    0, 0);
	if (table == KESTREL_THIS_TABLE)
		fz_pool_add(w, r);
}

static uint64_t thread_ip(struct fuzz_worker *w, int64_t space)
{
	uint64_t stub = (uint64_t)(uintptr_t)&fuzz_exit_stub;
	if (space == KESTREL_THIS_SPACE || fz_chance(w, 50)) {
		/* In its own space a thread may only run the exit stub or fault
		 * at once: random code there could do anything to the program. */
		switch (fz_below(w, 10)) {
		case 0:
			return KAPI_UNMAPPED;
		case 1:
			return KAPI_KERNEL_ADDR;
		case 2:
			return KAPI_NONCANONICAL;
		case 3:
			return KESTREL_USER_MAX;
		case 4:
			return 0;
		default:
			return stub;
		}
	}
	return fz_addr(w);
}

static uint64_t thread_sp(struct fuzz_worker *w)
{
	if (fz_chance(w, 75))
		return w->playground + FUZZ_PLAYGROUND_WINDOW - 8 * fz_below(w, 4);
	return fz_chance(w, 50) ? fz_addr(w) : fz_value(w);
}

static void call_thread_create(struct fuzz_worker *w)
{
	int64_t space = fz_chance(w, 60) ? KESTREL_THIS_SPACE : fz_handle(w);
	if (fz_chance(w, 25))
		space = fz_pool_pick_type(w, KESTREL_OBJ_SPACE);
	int64_t table = fz_chance(w, 60) ? KESTREL_THIS_TABLE : fz_handle(w);
	if (fz_chance(w, 25))
		table = fz_pool_pick_type(w, KESTREL_OBJ_TABLE);
	uint64_t flags = 0;
	switch (fz_below(w, 10)) {
	case 0:
	case 1:
	case 2:
		flags = KESTREL_THREAD_STOPPED;
		break;
	case 3:
		flags = KESTREL_THREAD_LINUX | (fz_rand(w) & KESTREL_THREAD_STOPPED);
		break;
	case 4:
		flags = fz_rand(w);
		break;
	default:
		break;
	}
	int64_t r = fz_call(w, NR(THREAD_CREATE), (uint64_t)space, (uint64_t)table,
			    thread_ip(w, space), thread_sp(w), fz_rand(w), flags);
	if (r > 0)
		w->stats[FK_THREADS]++;
	fz_pool_add(w, r);
}

/* Register images for set_regs: the instruction pointer is always one the
 * thread cannot do harm with (see thread_ip), everything else random. */
static void build_regs(struct fuzz_worker *w)
{
	uint64_t *r = (uint64_t *)&w->regs;
	for (size_t i = 0; i < sizeof(w->regs) / 8; i++)
		r[i] = fz_chance(w, 50) ? fz_rand(w) : fz_value(w);
	w->regs.rip = thread_ip(w, KESTREL_THIS_SPACE);
	if (fz_chance(w, 70)) {
		w->regs.fs_base = fz_chance(w, 50) ? 0 : w->playground;
		w->regs.gs_base = 0;
	}
	for (size_t i = 0; i < sizeof(w->fpu); i++)
		w->fpu[i] = (uint8_t)fz_rand(w);
	if (fz_chance(w, 80)) {
		uint32_t mxcsr = 0x1f80; /* the reset value; else reserved bits may be set */
		memcpy(w->fpu + 24, &mxcsr, sizeof(mxcsr));
	}
}

static void call_thread_regs(struct fuzz_worker *w, uint64_t nr)
{
	int64_t h = fz_chance(w, 70) ? fz_pool_pick_type(w, KESTREL_OBJ_THREAD) : fz_handle(w);
	uint64_t set = fz_chance(w, 90) ? 1 + fz_below(w, 2) : fz_value(w);
	uint64_t size = set == KESTREL_REGS_GENERAL ? sizeof(struct kestrel_regs_x86_64)
			: set == KESTREL_REGS_FPU  ? KESTREL_FPU_STATE_SIZE
						   : 0;
	if (fz_chance(w, 15))
		size = fz_size(w);
	uint64_t buf;
	if (nr == NR(THREAD_SET_REGS)) {
		build_regs(w);
		/* The kernel reads the image: only the built one, or pointers it
		 * must refuse (never scratch, whose contents are anybody's). */
		buf = set == KESTREL_REGS_FPU ? (uint64_t)(uintptr_t)w->fpu
					      : (uint64_t)(uintptr_t)&w->regs;
		if (fz_chance(w, 15))
			buf = fz_chance(w, 50) ? KAPI_KERNEL_ADDR : KAPI_UNMAPPED;
	} else {
		buf = fz_ptr(w);
	}
	fz_call(w, nr, (uint64_t)h, set, buf, size, 0, 0);
}

static void call_thread_misc(struct fuzz_worker *w, uint64_t nr)
{
	int64_t h = fz_chance(w, 70) ? fz_pool_pick_type(w, KESTREL_OBJ_THREAD) : fz_handle(w);
	uint64_t v = 0;
	if (nr == NR(THREAD_SET_PRIORITY))
		v = fz_chance(w, 80) ? fz_below(w, KESTREL_PRIORITY_MAX + 3) : fz_value(w);
	else if (nr == NR(THREAD_SET_AFFINITY))
		v = fz_chance(w, 70) ? 1 + fz_below(w, 15) : fz_value(w);
	fz_call(w, nr, (uint64_t)h, v, 0, 0, 0, 0);
}

/* Observation: attach one of our queues to one of our threads, and end
 * the stops its records report (or stops that do not exist). */
static void call_observe(struct fuzz_worker *w, uint64_t nr)
{
	int64_t h = fz_chance(w, 75) ? fz_pool_pick_type(w, KESTREL_OBJ_THREAD) : fz_handle(w);
	uint64_t b, c;
	if (nr == NR(THREAD_OBSERVE)) {
		b = fz_chance(w, 10) ? KESTREL_HANDLE_NONE
		    : w->queue_n && fz_chance(w, 80) ? (uint64_t)w->queues[fz_below(w, w->queue_n)].h
						      : (uint64_t)fz_handle(w);
		c = fz_tag(w);
	} else {
		b = fz_chance(w, 70) ? w->last_sequence + fz_below(w, 2) : fz_value(w);
		c = fz_chance(w, 90) ? fz_below(w, 2) : fz_value(w);
	}
	fz_call(w, nr, (uint64_t)h, b, c, 0, 0, 0);
}

static void call_queue_create(struct fuzz_worker *w)
{
	uint64_t cap;
	switch (fz_below(w, 10)) {
	case 0:
		cap = fz_value(w);
		break;
	case 1:
		/* Big rings pin a megabyte each until the cleanup (keepers). */
		cap = fz_chance(w, 20) ? KESTREL_QUEUE_MAX : KESTREL_QUEUE_MIN << 4;
		break;
	case 2:
		cap = KESTREL_QUEUE_MIN << fz_below(w, 3);
		break;
	case 3:
		cap = KESTREL_QUEUE_MIN - 1 + fz_below(w, 3);
		break;
	default:
		cap = KESTREL_QUEUE_MIN;
		break;
	}
	uint64_t out = fz_ptr(w);
	int64_t r = fz_call(w, NR(QUEUE_CREATE), cap, out, 0, 0, 0, 0);
	after_queue_create(w, r, cap, out);
}

static void call_wait(struct fuzz_worker *w, uint64_t nr)
{
	if (nr == NR(QUEUE_WAIT)) {
		int64_t q = fz_chance(w, 70) ? fz_pool_pick_type(w, KESTREL_OBJ_QUEUE) : fz_handle(w);
		fz_call(w, nr, (uint64_t)q, fz_chance(w, 50) ? fz_below(w, 4096) : fz_rand(w),
			fz_timeout(w), 0, 0, 0);
		return;
	}
	uint64_t addr = fz_ptr(w);
	uint32_t cur = 0;
	if (in_scratch(w, addr, 4) && (addr & 3) == 0)
		memcpy(&cur, (const void *)(uintptr_t)addr, 4);
	if (nr == NR(FUTEX_WAIT))
		fz_call(w, nr, addr, fz_chance(w, 50) ? cur : fz_rand(w), fz_timeout(w), 0, 0, 0);
	else
		fz_call(w, nr, addr, fz_chance(w, 70) ? fz_below(w, 4) : fz_rand(w), 0, 0, 0, 0);
}

static void call_handle_close(struct fuzz_worker *w)
{
	int64_t h = fz_handle(w);
	if (fz_call(w, NR(HANDLE_CLOSE), (uint64_t)h, 0, 0, 0, 0, 0) == 0)
		fz_pool_forget(w, h);
}

static void call_misc(struct fuzz_worker *w, uint64_t nr)
{
	int64_t r;
	uint64_t p;
	switch (nr) {
	case NR(LOG):
		/* Mostly refused (bad level or pointer): a flood of log lines
		 * would only slow the run down. */
		fz_call(w, nr, fz_ptr(w), fz_size(w), fz_chance(w, 2) ? 3 : 4 + fz_below(w, 100), 0,
			0, 0);
		break;
	case NR(HANDLE_DUPLICATE):
		fz_pool_add(w, fz_call(w, nr, (uint64_t)fz_handle(w), fz_rights(w), 0, 0, 0, 0));
		break;
	case NR(HANDLE_INFO):
	case NR(SYSTEM_INFO):
		p = fz_ptr(w);
		fz_call(w, nr, nr == NR(HANDLE_INFO) ? (uint64_t)fz_handle(w) : p, p, 0, 0, 0, 0);
		break;
	case NR(TABLE_CREATE):
		fz_pool_add(w, fz_call(w, nr, fz_chance(w, 30) ? 0 : fz_ptr(w), 0, 0, 0, 0, 0));
		break;
	case NR(MEMORY_COW):
		r = fz_call(w, nr,
			    (uint64_t)(fz_chance(w, 70) ? fz_pool_pick_type(w, KESTREL_OBJ_MEMORY)
							: fz_handle(w)),
			    map_offset(w),
			    fz_chance(w, 60) ? KESTREL_PAGE_SIZE * (1 + fz_below(w, 4)) : fz_size(w),
			    0, 0, 0);
		fz_pool_add(w, r);
		break;
	case NR(SPACE_CREATE):
		fz_pool_add(w, fz_call(w, nr, fz_value(w), 0, 0, 0, 0, 0));
		break;
	case NR(STREAM_CREATE):
		p = fz_ptr(w);
		after_stream_create(w, fz_call(w, nr, p, 0, 0, 0, 0, 0), p);
		break;
	case NR(SHUTDOWN):
		fz_call(w, nr, fz_below(w, 3), 0, 0, 0, 0, 0);
		break;
	default:
		/* The rest take a handle first, then handles, numbers or tags
		 * (observation, devices) and no pointers. */
		fz_call(w, nr, (uint64_t)fz_handle(w),
			fz_chance(w, 50) ? (uint64_t)fz_handle(w) : fz_value(w),
			fz_chance(w, 50) ? fz_tag(w) : fz_value(w), fz_value(w), fz_value(w),
			fz_value(w));
		break;
	}
}

/* ---- raw calls ---- */

/* Calls that cannot hurt the caller whatever their arguments (no writes
 * through pointers, no changes to its own space, no waits, no tags the
 * cleanup would not know). */
static const uint64_t raw_safe[] = {
	NR(LOG),         NR(CLOCK),       NR(HANDLE_DUPLICATE), NR(TABLE_CREATE),
	NR(MEMORY_SIZE), NR(MEMORY_COW),  NR(MEMORY_PHYSICAL),  NR(SPACE_CREATE),
	NR(THREAD_YIELD), NR(FUTEX_WAKE), NR(CANCEL),           NR(THREAD_START),
};

static uint64_t raw_number(struct fuzz_worker *w)
{
	switch (fz_below(w, 6)) {
	case 0:
		return fz_below(w, 512); /* Linux's numbers */
	case 1:
		return KESTREL_SYSCALL_BASE - 1 - fz_below(w, 16);
	case 2:
		return KESTREL_SYS_END + fz_below(w, 16);
	case 3:
		return fz_rand(w);
	case 4:
		return (uint64_t)KESTREL_SYSCALL_BASE + (1ull << (32 + fz_below(w, 32)));
	default:
		return raw_safe[fz_below(w, sizeof(raw_safe) / sizeof(raw_safe[0]))];
	}
}

static void call_raw(struct fuzz_worker *w)
{
	uint64_t nr = raw_number(w);
	uint64_t a[6];
	for (int i = 0; i < 6; i++)
		a[i] = fz_value(w);
	if (nr == NR(LOG))
		a[1] &= 0xff; /* keep the log readable */
	int64_t r = fz_call(w, nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (nr == NR(HANDLE_DUPLICATE) || nr == NR(TABLE_CREATE) || nr == NR(MEMORY_COW) ||
	    nr == NR(SPACE_CREATE))
		fz_pool_add(w, r);
}

/* ---- picking the call ---- */

void fz_one_call(struct fuzz_worker *w)
{
	if (fz_chance(w, 10)) {
		call_raw(w);
		return;
	}
	uint64_t nr = KESTREL_SYSCALL_BASE + fz_below(w, KESTREL_SYSCALL_COUNT);
	switch (nr) {
	case NR(THREAD_EXIT):
		fz_call(w, NR(THREAD_YIELD), 0, 0, 0, 0, 0, 0); /* would end this worker */
		break;
	case NR(HANDLE_CLOSE):
		call_handle_close(w);
		break;
	case NR(HANDLE_TRANSFER):
		call_handle_transfer(w);
		break;
	case NR(MEMORY_CREATE):
		call_memory_create(w);
		break;
	case NR(SPACE_MAP):
		call_space_map(w);
		break;
	case NR(SPACE_UNMAP):
	case NR(SPACE_PROTECT):
		call_space_range(w, nr);
		break;
	case NR(SPACE_READ):
	case NR(SPACE_WRITE):
		call_space_copy(w, nr);
		break;
	case NR(THREAD_CREATE):
		call_thread_create(w);
		break;
	case NR(THREAD_GET_REGS):
	case NR(THREAD_SET_REGS):
		call_thread_regs(w, nr);
		break;
	case NR(THREAD_START):
	case NR(THREAD_KILL):
	case NR(THREAD_SET_PRIORITY):
	case NR(THREAD_SET_AFFINITY):
		call_thread_misc(w, nr);
		break;
	case NR(QUEUE_CREATE):
		call_queue_create(w);
		break;
	case NR(THREAD_OBSERVE):
	case NR(THREAD_RESUME):
		call_observe(w, nr);
		break;
	case NR(QUEUE_WAIT):
	case NR(FUTEX_WAIT):
	case NR(FUTEX_WAKE):
		call_wait(w, nr);
		break;
	case NR(SUBMIT):
	case NR(SUBMIT_BATCH):
	case NR(CANCEL):
	case NR(TIMER_SUBMIT):
		fz_one_chain_call(w);
		break;
	default:
		call_misc(w, nr);
		break;
	}
}
