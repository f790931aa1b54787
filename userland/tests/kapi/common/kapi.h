/*
 * The in-guest kernel-API test harness (docs/userland.md, "The KAPI suite").
 *
 *     KAPI_TEST(memory_create_sizes) {
 *             int64_t h = CHECK_OK(kestrel_memory_create(4096, KESTREL_MEMORY_ANONYMOUS, 0));
 *             CHECK_ERR(kestrel_memory_create(0, 99, 0), KE_INVALID);
 *             CHECK_EQ(kestrel_memory_size(h), 4096);
 *     }
 *
 * Tests register themselves (constructors) and run in order of
 * registration; each prints exactly one line to the kernel log:
 *     KAPI PASS <name>
 *     KAPI FAIL <name>: <file>:<line>: <what>
 * A failed CHECK returns from the test function (so CHECKs belong in the
 * test function itself; helper threads record problems in their own
 * state, which the test then checks). kapi_main() sends the totals to the
 * parent (init) as KESTREL_PARENT_RESULTS.
 */
#ifndef KAPI_H
#define KAPI_H

#include <kestrel/calls.h>
#include <kestrel/ipc.h>
#include <kestrel/process.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kapi_test {
	const char *name;
	void (*fn)(void);
	struct kapi_test *next;
};

void kapi_register(struct kapi_test *t);
/* Runs every test whose name starts with `filter` ("" for all), reports
 * the totals to the parent; returns the number of failures. */
int kapi_main(const char *filter);

#define KAPI_TEST(name)                                                                        \
	static void kapi_fn_##name(void);                                                      \
	static struct kapi_test kapi_t_##name = {#name, kapi_fn_##name, NULL};                 \
	__attribute__((constructor)) static void kapi_reg_##name(void)                         \
	{                                                                                      \
		kapi_register(&kapi_t_##name);                                                 \
	}                                                                                      \
	static void kapi_fn_##name(void)

/* Record a failure of the current test (only the first is printed). */
void kapi_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A note in the log, tagged with the current test's name. */
void kapi_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool kapi_failed(void);

/* Text for a call's result: "KE_FAULT" for an error, the number otherwise. */
const char *kapi_result_text(int64_t r, char buf[32]);

#define CHECK(cond)                                                                            \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			kapi_fail(__FILE__, __LINE__, "%s", #cond);                            \
			return;                                                                \
		}                                                                              \
	} while (0)

#define CHECK_MSG(cond, ...)                                                                   \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			kapi_fail(__FILE__, __LINE__, __VA_ARGS__);                            \
			return;                                                                \
		}                                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                                         \
	do {                                                                                   \
		long long kapi_a_ = (long long)(a), kapi_b_ = (long long)(b);                  \
		if (kapi_a_ != kapi_b_) {                                                      \
			kapi_fail(__FILE__, __LINE__, "%s == %s (0x%llx != 0x%llx)", #a, #b,   \
				  kapi_a_, kapi_b_);                                           \
			return;                                                                \
		}                                                                              \
	} while (0)

/* A call that must succeed; evaluates to its result. */
#define CHECK_OK(expr)                                                                         \
	({                                                                                     \
		int64_t kapi_r_ = (expr);                                                      \
		if (kapi_r_ < 0) {                                                             \
			kapi_fail(__FILE__, __LINE__, "%s: %s", #expr,                         \
				  kestrel_error_name(kapi_r_));                                \
			return;                                                                \
		}                                                                              \
		kapi_r_;                                                                       \
	})

/* A call that must fail with -err. */
#define CHECK_ERR(expr, err)                                                                   \
	do {                                                                                   \
		int64_t kapi_r_ = (expr);                                                      \
		if (kapi_r_ != -(int64_t)(err)) {                                              \
			char kapi_b_[32];                                                      \
			kapi_fail(__FILE__, __LINE__, "%s: got %s, want %s", #expr,            \
				  kapi_result_text(kapi_r_, kapi_b_), kestrel_error_name(err)); \
			return;                                                                \
		}                                                                              \
	} while (0)

/* A call that must fail with -e1 or -e2 (where the API leaves the choice open). */
#define CHECK_ERR2(expr, e1, e2)                                                               \
	do {                                                                                   \
		int64_t kapi_r_ = (expr);                                                      \
		if (kapi_r_ != -(int64_t)(e1) && kapi_r_ != -(int64_t)(e2)) {                  \
			char kapi_b_[32];                                                      \
			kapi_fail(__FILE__, __LINE__, "%s: got %s, want %s or %s", #expr,      \
				  kapi_result_text(kapi_r_, kapi_b_), kestrel_error_name(e1),  \
				  kestrel_error_name(e2));                                     \
			return;                                                                \
		}                                                                              \
	} while (0)

/* ---- Shared tools (util.c) ---- */

/* Addresses no program may use: kernel half, non-canonical, the unmapped
 * first 64 KiB, a range the test programs never map, the last user page. */
#define KAPI_KERNEL_ADDR 0xffff800000000000ull
#define KAPI_NONCANONICAL 0x0000800000000000ull
#define KAPI_LOW_ADDR 0x1000ull
#define KAPI_UNMAPPED 0x0000300000000000ull
#define KAPI_LAST_USER (KESTREL_USER_MAX - 8)

/* Handle values that name nothing in any table. */
extern const int64_t kapi_bad_handles[];
extern const int kapi_bad_handle_count;

/* A page of fresh anonymous memory mapped read-write; 0 on failure. */
uint64_t kapi_map_pages(size_t size, kestrel_handle_t *mem_out);

/* A helper process (kapi-helper) running `role` with up to 3 arguments
 * (NULL-terminated list); extra handles go to its start block. */
int64_t kapi_spawn_helper(struct kestrel_process *p, const char *const *args, uint32_t flags,
			  const kestrel_handle_t *handles, const uint32_t *rights, uint32_t count);
/* Spawn any program from the initrd. */
int64_t kapi_spawn(const char *path, struct kestrel_process *p, const char *const *args,
		   uint32_t flags, const kestrel_handle_t *handles, const uint32_t *rights,
		   uint32_t count);
/* A file of the initrd (which init gives every test program as its first
 * start handle): true and its bytes, or false. */
bool kapi_initrd_file(const char *path, const void **data, size_t *size);
/* Receive one struct kestrel_parent_message from a child (0), or -KE_*. */
int64_t kapi_child_message(struct kestrel_queue *q, kestrel_handle_t lane,
			   struct kestrel_parent_message *m, uint64_t timeout_ns);
/* Wait for the child's exit message: its status, or -KE_END_OF_LANE (it
 * died), -KE_TIMEOUT. Other messages on the way are skipped. */
int64_t kapi_child_exit(struct kestrel_queue *q, kestrel_handle_t lane, uint64_t timeout_ns);
/* Kill the child's thread and close its handles. */
void kapi_child_close(struct kestrel_process *p);

/* Send / receive one message on a lane, blocking (status or -KE_*). */
int64_t kapi_send(struct kestrel_queue *q, kestrel_handle_t lane, const void *buf, size_t len,
		  uint64_t timeout_ns);
/* Receive into buf (up to size bytes); returns the length or -KE_*. */
int64_t kapi_recv(struct kestrel_queue *q, kestrel_handle_t lane, void *buf, size_t size,
		  uint64_t timeout_ns);

/* A fresh tag for submissions. */
uint64_t kapi_tag(void);

/* Deterministic pseudo-random numbers (xorshift64*). */
uint64_t kapi_random(uint64_t *state);
/* A checksum (FNV-1a 64) of a buffer. */
uint64_t kapi_checksum(const void *buf, size_t len);

#define KAPI_SECOND 1000000000ull
#define KAPI_MS 1000000ull

#endif
