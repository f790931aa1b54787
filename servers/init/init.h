/*
 * init, the first process: what its files share.
 *
 *   main.c     start-up: checks the init info, maps the initrd, picks the
 *              boot's job from the command line
 *   initrd.c   the initrd mapped read-only, files found by path
 *   bench.c    test=bench: runs the benchmark programs (bench/)
 *   testrun.c  test=kernel-api: runs the test programs, totals their
 *              results, reports KAPI DONE
 *   registry.c the registry of entities (docs/registry.md), served on
 *              init's queue by whoever reads it
 */
#ifndef INIT_INIT_H
#define INIT_INIT_H

#include <kestrel/init.h>
#include <kestrel/ipc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct initrd {
	kestrel_handle_t handle; /* the memory object (from the init info) */
	const uint8_t *data;     /* mapped read-only */
	size_t size;             /* bytes of the archive */
};

extern struct initrd initrd;

/* Map the initrd described by the init info; 0 or -KE_*. */
int64_t initrd_map(const struct kestrel_init_info *info);
/* Find a regular file: true and *data, *size set. */
bool initrd_file(const char *path, const void **data, size_t *size);

/* Copy the value of `key` in the command line into buf (NUL-terminated,
 * truncated): true if the word key=value (or the bare key) is present. */
bool cmdline_value(const char *cmdline, const char *key, char *buf, size_t size);

/* test=kernel-api: run the suite; returns the number of failures (a run
 * that passes nothing counts as failed). */
int run_kernel_api_tests(void);

/* The registry (registry.c). It submits into `q` with tags of its own:
 * the loop reading q passes every record whose tag registry_owns() to
 * registry_handle(), in the order they come. */
void registry_init(struct kestrel_queue *q);
/* A new client: a stream whose one lane the registry serves; the other
 * goes to *child_lane, for the program being started (the caller closes
 * it once it is passed on). 0 or -KE_*. */
int64_t registry_add_client(kestrel_handle_t *child_lane);
bool registry_owns(uint64_t tag);
void registry_handle(const struct kestrel_completion *c);
/* A buffer for any record registry_handle() takes (2 results, a request). */
#define REGISTRY_RECORD_WORDS (KESTREL_COMPLETION_SIZE(2, KESTREL_MAX_INLINE) / 8 + 1)

/* test=bench: run the benchmark programs; returns how many failed. */
int run_benchmarks(void);

#endif
