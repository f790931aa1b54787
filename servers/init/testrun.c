/*
 * test=kernel-api: the in-guest kernel-API suite (userland/tests/kapi).
 *
 * Each test program runs in its own process, one after the other. It
 * writes its own "KAPI PASS/FAIL" lines to the kernel log and sends its
 * totals over the parent lane (KESTREL_PARENT_RESULTS), then exits
 * (KESTREL_PARENT_EXIT). init adds the totals up and prints
 *     KAPI DONE <passed> <failed>
 * A program that ends without reporting, fails to start, or outlives its
 * time limit counts as one failure, reported as
 *     KAPI FAIL <program>: <file>:<line>: <what>
 * The test programs get the initrd (READ MAP) as handles[0] so they can
 * start helper processes of their own. Those marked `devices` (the kapi
 * suite, which tests driver capabilities on the CMOS RTC and the HPET)
 * also get all I/O ports as handles[1], the IRQ-control capability as
 * handles[2] and the physical-range capability as handles[3].
 * Every program gets a registry lane (registry.c, docs/registry.md) as the
 * last of its handles; its requests are served from the same queue while
 * it runs (supervise() hands registry records to registry_handle()).
 */
#include <kestrel/calls.h>
#include <kestrel/ipc.h>
#include <kestrel/process.h>
#include <kestrel/start.h>
#include <stdio.h>
#include <string.h>

#include "init.h"

#define TAG_MESSAGE 1
#define TAG_DEADLINE 2

struct test_program {
	const char *name;
	const char *path;
	uint64_t time_limit_s;
	bool devices; /* also gets the driver capabilities (handles[1..3]) */
};

static const struct test_program programs[] = {
	{"kapi", "kestrel/tests/kapi", 170, true},
	{"kapi-fuzz", "kestrel/tests/kapi-fuzz", 60, false},

};

static int64_t total_passed, total_failed;

static void kapi_line(const char *fmt, const char *name, int line, const char *what)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), fmt, name, __FILE__, line, what);
	kestrel_log(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1, KESTREL_LOG_INFO);
}

#define PROGRAM_FAIL(name, what)                                                               \
	do {                                                                                   \
		kapi_line("KAPI FAIL %s: %s:%d: %s", name, __LINE__, what);                     \
		total_failed++;                                                                \
	} while (0)

/* Wait for the program's messages until it exits, its lane ends, or its
 * time is up. */
static void supervise(const struct test_program *p, struct kestrel_queue *q,
		      struct kestrel_process *child)
{
	struct kestrel_action recv = kestrel_act_recv_inline(sizeof(struct kestrel_parent_message));
	uint64_t rec[REGISTRY_RECORD_WORDS]; /* the registry's records are the largest */
	bool reported = false, exited = false, recv_pending = false;
	uint64_t deadline = (uint64_t)kestrel_clock() + p->time_limit_s * 1000000000ull;
	char what[128];

	int64_t r = kestrel_timer_submit(q->handle, deadline, TAG_DEADLINE);
	if (r < 0) {
		snprintf(what, sizeof(what), "init: timer_submit: %s", kestrel_error_name(r));
		PROGRAM_FAIL(p->name, what);
	}
	for (;;) {
		if (!recv_pending) {
			r = kestrel_submit(child->lane, q->handle, &recv, 1, TAG_MESSAGE);
			if (r < 0) {
				snprintf(what, sizeof(what), "init: submit: %s", kestrel_error_name(r));
				PROGRAM_FAIL(p->name, what);
				break;
			}
			recv_pending = true;
		}
		r = kestrel_queue_take(q, rec, sizeof(rec), KESTREL_FOREVER);
		if (r < 0) {
			snprintf(what, sizeof(what), "init: reading the queue: %s",
				 kestrel_error_name(r));
			PROGRAM_FAIL(p->name, what);
			break;
		}
		const struct kestrel_completion *c = (const void *)rec;
		if (registry_owns(c->tag)) {
			registry_handle(c);
			continue;
		}
		if (c->tag == TAG_DEADLINE) {
			snprintf(what, sizeof(what), "did not finish within %llu s; killed",
				 (unsigned long long)p->time_limit_s);
			PROGRAM_FAIL(p->name, what);
			kestrel_thread_kill(child->thread);
			break;
		}
		recv_pending = false;
		const struct kestrel_parent_message *m = kestrel_result_data(c, 0);
		if (c->status == -KE_END_OF_LANE)
			break;
		if (c->status < 0 || c->count != 1 || !m ||
		    kestrel_results(c)[0].length != sizeof(*m) || m->magic != KESTREL_PARENT_MAGIC) {
			snprintf(what, sizeof(what), "init: bad message from the program (status %s)",
				 kestrel_error_name(c->status));
			PROGRAM_FAIL(p->name, what);
			kestrel_thread_kill(child->thread);
			break;
		}
		if (m->type == KESTREL_PARENT_RESULTS) {
			total_passed += m->value[0];
			total_failed += m->value[1];
			reported = true;
		} else if (m->type == KESTREL_PARENT_EXIT) {
			exited = true;
			if (m->value[0] != 0 && reported)
				printf("init: %s exited with status %lld\n", p->name,
				       (long long)m->value[0]);
			break;
		}
	}
	if (!reported) {
		snprintf(what, sizeof(what), "ended without reporting results (%s)",
			 exited ? "exited" : "died");
		PROGRAM_FAIL(p->name, what);
	}
	/* Leave the queue empty for the next program. */
	if (recv_pending && kestrel_cancel(q->handle, TAG_MESSAGE) == 0)
		kestrel_queue_wait_tag(q, TAG_MESSAGE, rec, sizeof(rec), 1000000000ull);
	if (kestrel_cancel(q->handle, TAG_DEADLINE) == 0)
		kestrel_queue_wait_tag(q, TAG_DEADLINE, rec, sizeof(rec), 1000000000ull);
}

static void run_program(const struct test_program *p, struct kestrel_queue *q)
{
	const void *image;
	size_t size;
	char what[128];
	if (!initrd_file(p->path, &image, &size)) {
		PROGRAM_FAIL(p->name, "init: not in the initrd");
		return;
	}
	const char *argv[] = {p->name};
	const struct kestrel_init_info *info = kestrel_init_info();
	kestrel_handle_t handles[5] = {initrd.handle, info->ioports, info->irq_control,
				       info->physical};
	uint32_t rights[5] = {KESTREL_RIGHT_READ | KESTREL_RIGHT_MAP, KESTREL_RIGHTS_ALL,
			      KESTREL_RIGHTS_ALL, KESTREL_RIGHTS_ALL};
	uint32_t count = p->devices ? 4 : 1;
	kestrel_handle_t registry_lane = 0;
	int64_t r = registry_add_client(&registry_lane);
	if (r < 0) {
		snprintf(what, sizeof(what), "init: no registry lane: %s", kestrel_error_name(r));
		PROGRAM_FAIL(p->name, what);
		return;
	}
	handles[count] = registry_lane;
	rights[count++] = KESTREL_RIGHT_READ | KESTREL_RIGHT_WRITE | KESTREL_RIGHT_TRANSFER |
			  KESTREL_RIGHT_DUPLICATE;
	struct kestrel_spawn s = {
		.name = p->name,
		.image = image,
		.image_size = size,
		.argc = 1,
		.argv = argv,
		.handle_count = count,
		.handles = handles,
		.handle_rights = rights,
	};
	struct kestrel_process child;
	int elf_error = 0;
	r = kestrel_process_spawn(&s, &child, &elf_error);
	/* The child has its own copy now; ours would keep the lane open. */
	kestrel_handle_close(registry_lane);
	if (r < 0) {
		snprintf(what, sizeof(what), "init: cannot start it: %s%s%s", kestrel_error_name(r),
			 elf_error ? ": " : "", elf_error ? kestrel_elf_strerror(elf_error) : "");
		PROGRAM_FAIL(p->name, what);
		return;
	}
	printf("init: running %s\n", p->path);
	supervise(p, q, &child);
	kestrel_handle_close(child.lane);
	kestrel_handle_close(child.thread);
}

int run_kernel_api_tests(void)
{
	struct kestrel_queue q;
	/* Room for the registry's pending requests (two ~4 KiB records per
	 * client) as well as the program's message and deadline. */
	int64_t r = kestrel_queue_open(&q, 1u << 18);
	if (r < 0) {
		char what[96];
		snprintf(what, sizeof(what), "init: queue_create: %s", kestrel_error_name(r));
		PROGRAM_FAIL("init", what);
	} else {
		registry_init(&q);
		for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++)
			run_program(&programs[i], &q);
		kestrel_queue_close(&q);
	}
	char done[64];
	int n = snprintf(done, sizeof(done), "KAPI DONE %lld %lld", (long long)total_passed,
			 (long long)total_failed);
	kestrel_log(done, (size_t)n, KESTREL_LOG_INFO);
	return total_failed || !total_passed ? 1 : 0;
}
