/*
 * What the KAPI suite's test files share beyond kapi.h: a stream with a
 * queue ("pair"), and small wrappers that wait for one submission.
 */
#ifndef KAPI_SUITE_H
#define KAPI_SUITE_H

#include "kapi.h"

/* A stream (lanes a and b) and a completion queue for both. */
struct pair {
	kestrel_handle_t a, b;
	struct kestrel_queue q;
};

int64_t pair_open(struct pair *p);
void pair_close(struct pair *p);

/* A record buffer big enough for any completion the tests expect. */
#define REC_WORDS (KESTREL_COMPLETION_SIZE(KESTREL_MAX_ACTIONS, 2 * KESTREL_MAX_INLINE) / 8)
struct rec {
	uint64_t w[REC_WORDS];
};
static inline const struct kestrel_completion *rec_c(const struct rec *r)
{
	return (const struct kestrel_completion *)r->w;
}
static inline const struct kestrel_result *rec_res(const struct rec *r, uint32_t i)
{
	return &kestrel_results(rec_c(r))[i];
}

/* Submit, then wait (up to timeout) for that completion into *out.
 * Returns the submit error, -KE_TIMEOUT, or the completion's status. */
int64_t chain(struct kestrel_queue *q, kestrel_handle_t lane, const struct kestrel_action *a,
	      uint32_t n, struct rec *out, uint64_t timeout_ns);
/* Submit only; returns the tag used (> 0) or the submit error. */
int64_t chain_submit(struct kestrel_queue *q, kestrel_handle_t lane,
		     const struct kestrel_action *a, uint32_t n);
/* Wait for the completion of tag into *out: status, or -KE_TIMEOUT. */
int64_t chain_wait(struct kestrel_queue *q, uint64_t tag, struct rec *out, uint64_t timeout_ns);

/* A rights-reduced copy of h (asserting success is the caller's job). */
static inline int64_t dup_rights(kestrel_handle_t h, uint32_t rights)
{
	return kestrel_handle_duplicate(h, rights);
}

/* The type and rights of a handle, or 0xffffffff when the call fails. */
uint32_t handle_type(kestrel_handle_t h);
uint32_t handle_rights(kestrel_handle_t h);
uint64_t handle_id(kestrel_handle_t h);

/* Sleep for ns (a futex wait that times out). */
void sleep_ns(uint64_t ns);

/* The test program's own main thread (all rights), from the start block. */
kestrel_handle_t self_thread(void);

/* A read-only mapped page (for "not writable" pointer tests). */
uint64_t readonly_page(void);

#endif
