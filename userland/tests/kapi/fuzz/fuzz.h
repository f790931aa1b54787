/*
 * kapi-fuzz: the kernel-API fuzzer (see main.c for the two roles).
 *
 * The child role ("child MODE SEED ITERATIONS THREADS") issues random
 * system calls with random arguments drawn from values that are
 * interesting to a kernel (its real handles, bad handles, pointers to its
 * own buffers, NULL, kernel and non-canonical addresses, huge sizes...).
 * It only steers clear of what would end or wedge *itself* for no
 * interest (thread_exit, untimed waits, killing its own threads, closing
 * the lane it reports on, unmapping its own code), and of reference cycles
 * it could never break again (a table holding itself); everything else the
 * kernel must answer with a result or an error code.
 *
 * The child checks every result against the API's contract (fz_call)
 * and reports counters to the parent as KESTREL_PARENT_DATA messages
 * {key, value}; the parent (tests.c) judges them and checks that the
 * system is back where it started once the child is gone.
 *
 * Reference cycles the kernel cannot collect (known, not fixed): a
 * pending PUSH_HANDLE holds the pushed object, and a lane held that way
 * stays open. Two chains waiting on lane a of a stream, one pushing a and
 * one pushing b, keep both lanes open forever, and with them the chains,
 * their queue and the submitter's whole address space — even after the
 * submitter has exited. The same goes for a table holding itself. The
 * child therefore keeps a handle to each of its queues until its cleanup
 * cancels everything (child.c, "keepers"), and never puts a table or a
 * thread into a table other than its own.
 */
#ifndef KAPI_FUZZ_H
#define KAPI_FUZZ_H

#include <kestrel/uthread.h>

#include "kapi.h"

/* The fixed seed of `make test`; build with -DKAPI_FUZZ_SEED=... (or
 * change it here) to explore others. */
#ifndef KAPI_FUZZ_SEED
#define KAPI_FUZZ_SEED 0x6b6170692d66757aull /* "kapi-fuz" */
#endif

/* What a child run concentrates on. */
enum fuzz_mode {
	FUZZ_MODE_CALLS = 0,  /* every call, typed and raw arguments */
	FUZZ_MODE_CHAINS = 1, /* mostly submit / submit_batch / cancel / timers */
};

#define FUZZ_MAX_WORKERS 4
/* A child stops early (and says so) after this long, whatever is left of
 * its iterations: the run is bounded in time even on a slow emulator. */
#define FUZZ_TIME_LIMIT_NS (6 * KAPI_SECOND)

/* Report keys (value[0] of a KESTREL_PARENT_DATA message). */
enum fuzz_key {
	FK_CALLS = 1,        /* system calls issued */
	FK_SUCCESSES,        /* of those, results >= 0 */
	FK_BAD_RESULTS,      /* results the API does not allow (see fuzz_check) */
	FK_CHAINS,           /* submissions the kernel accepted */
	FK_RECORDS,          /* completion records read back */
	FK_BAD_RECORDS,      /* malformed records, or tags never submitted */
	FK_THREADS,          /* threads created */
	FK_CANARY_BROKEN,    /* the child's memory changed behind its back */
	FK_PROTECTED_LOST,   /* a protected handle no longer names its object */
	FK_SETUP_FAILED,     /* buffers or first objects could not be made */
	FK_TIMED_OUT,        /* 1 if the time limit cut the run short */
	FK_ELAPSED_MS,
	FK_CLEANUP_FAILED,   /* handles that could not be closed at the end */
	FK_WORKERS_FAILED,   /* worker threads that did not finish */
	FK_COUNT
};

/* Tags come from a small set so the child can cancel every pending
 * operation before it leaves (see child.c, "Cleanup"). */
#define FUZZ_TAGS 24

/* Fixed user addresses of the child. Each worker owns a playground in
 * which it may map, unmap and protect anything in its own space; its
 * scratch buffers live elsewhere and are never unmapped. Nothing else of
 * the program (code, stack, heap, queues) is ever near these. */
#define FUZZ_PLAYGROUND_BASE 0x0000400000000000ull
#define FUZZ_PLAYGROUND_SIZE 0x0000000100000000ull /* 4 GiB per worker */
#define FUZZ_PLAYGROUND_WINDOW (64ull * KESTREL_PAGE_SIZE) /* where most calls aim */
#define FUZZ_SCRATCH_BASE 0x0000200000000000ull
#define FUZZ_SCRATCH_STRIDE 0x0000000001000000ull /* 16 MiB per worker */
#define FUZZ_SCRATCH_PAGES 16  /* read-write, then one read-only page, then a hole */
#define FUZZ_RECV_PAGES 16     /* where RECV_BUFFER actions land (nobody reads it) */

struct fuzz_queue {
	kestrel_handle_t h;
	uint64_t id;    /* object id, to tell the handle's slot reused */
	uint64_t addr;  /* the mapping (kept until dropped, then unmapped) */
	uint64_t bytes;
	uint32_t capacity;
};

/* A handle the worker made, with its type when it was made (another
 * worker may close it and the number be reused: then calls just fail). */
struct fuzz_handle {
	kestrel_handle_t h;
	uint32_t type;
};

#define FUZZ_POOL 48
#define FUZZ_QUEUES 6
#define FUZZ_MAX_SUBS 8

/* One fuzzing thread's state. Workers share the handle table and the
 * space, never these buffers. */
struct fuzz_worker {
	int index;
	enum fuzz_mode mode;
	uint64_t rng;
	uint64_t iterations;
	uint64_t deadline; /* monotonic ns */
	uint8_t *scratch;  /* FUZZ_SCRATCH_PAGES read-write pages */
	uint8_t *ro_page;  /* just after scratch, read-only */
	uint8_t *recv;     /* FUZZ_RECV_PAGES */
	uint64_t playground;
	struct fuzz_handle pool[FUZZ_POOL];
	uint32_t pool_n;
	kestrel_handle_t last_lanes[2]; /* of the newest stream: chains meet there */
	struct fuzz_queue queues[FUZZ_QUEUES];
	uint32_t queue_n;
	uint64_t last_clock;
	uint64_t last_sequence; /* of the newest observation record read */
	/* Private argument buffers: the kernel only reads these, and no
	 * generated pointer points into them, so their contents stay as built. */
	struct kestrel_action actions[FUZZ_MAX_SUBS][KESTREL_MAX_ACTIONS + 2];
	struct kestrel_submission subs[FUZZ_MAX_SUBS + 2];
	struct kestrel_iovec iov[KESTREL_MAX_ACTIONS + 2];
	struct kestrel_regs_x86_64 regs;
	uint8_t fpu[KESTREL_FPU_STATE_SIZE] __attribute__((aligned(16)));
	/* Results. */
	int64_t stats[FK_COUNT];
	uint32_t bad_logged; /* only the first few bad results are logged in full */
};

/* ---- gen.c: values ---- */
uint64_t fz_rand(struct fuzz_worker *w);
uint64_t fz_below(struct fuzz_worker *w, uint64_t n); /* 0 .. n-1 */
bool fz_chance(struct fuzz_worker *w, unsigned percent);
/* Any interesting 64-bit value (for raw arguments). */
uint64_t fz_value(struct fuzz_worker *w);
/* A handle argument: a real one mostly, never a protected one. */
int64_t fz_handle(struct fuzz_worker *w);
/* A size: edge values around pages, limits and overflow. */
uint64_t fz_size(struct fuzz_worker *w);
/* A pointer the kernel will read `len` bytes from / write to: mostly the
 * scratch buffer, else NULL, unmapped, read-only, kernel, non-canonical... */
uint64_t fz_ptr(struct fuzz_worker *w);
/* An address in another address space (anything goes). */
uint64_t fz_addr(struct fuzz_worker *w);
/* A range of the caller's own space that it may unmap or replace: inside
 * its playground, or one no kernel may accept (beyond user space,
 * overflowing, unaligned). */
void fz_self_range(struct fuzz_worker *w, uint64_t *addr, uint64_t *size);
/* A timeout that never blocks long. */
uint64_t fz_timeout(struct fuzz_worker *w);
uint64_t fz_tag(struct fuzz_worker *w);
uint32_t fz_rights(struct fuzz_worker *w);

/* ---- child.c: the handle pool and the protected handles ---- */
bool fz_protected(int64_t h);
void fz_pool_add(struct fuzz_worker *w, int64_t h);
void fz_pool_forget(struct fuzz_worker *w, int64_t h);
kestrel_handle_t fz_pool_pick(struct fuzz_worker *w);
/* A pool handle of a type, or 0. */
kestrel_handle_t fz_pool_pick_type(struct fuzz_worker *w, uint32_t type);
uint32_t fz_handle_type(int64_t h);
void fz_queue_add(struct fuzz_worker *w, kestrel_handle_t h, uint64_t addr, uint32_t capacity);
/* Read every record the kernel has written to the worker's queues. */
void fz_drain_queues(struct fuzz_worker *w);
/* The entry of threads that must end at once (needs no stack). */
void fuzz_exit_stub(void);

/* ---- calls.c: one random call ---- */
void fz_one_call(struct fuzz_worker *w);
/* ---- chains.c: one random submission, batch, cancel or timer ---- */
void fz_one_chain_call(struct fuzz_worker *w);
/* Issue a call, count it and check its result against the API. */
int64_t fz_call(struct fuzz_worker *w, uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
		uint64_t a3, uint64_t a4, uint64_t a5);

/* ---- child.c ---- */
int fuzz_child_main(int argc, char **argv);

#endif
