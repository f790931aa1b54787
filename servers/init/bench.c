/*
 * test=bench: run the benchmark programs of the initrd (bench/, started
 * as kestrel/bench/<name>) one after the other, each with the initrd as
 * its first start handle, and wait for each to end. The programs print
 * their own "BENCH <name> <value>" lines to the kernel log; bench/run
 * collects them. init prints "BENCH DONE <failures>" at the end.
 */
#include <kestrel/calls.h>
#include <kestrel/ipc.h>
#include <kestrel/process.h>
#include <stdio.h>

#include "init.h"

static const char *const benchmarks[] = {"kestrel/bench/ipc"};

/* Wait until the program's parent lane ends, reading (and dropping) its
 * messages; its exit message carries the status. */
static int64_t wait_for_exit(struct kestrel_queue *q, kestrel_handle_t lane)
{
	int64_t status = -KE_END_OF_LANE;
	uint64_t rec[KESTREL_COMPLETION_SIZE(1, sizeof(struct kestrel_parent_message)) / 8 + 1];
	struct kestrel_action a = kestrel_act_recv_inline(sizeof(struct kestrel_parent_message));
	for (uint64_t tag = 1;; tag++) {
		int64_t r = kestrel_call(q, lane, &a, 1, tag, rec, sizeof(rec), 600000000000ull);
		if (r < 0)
			return r == -KE_END_OF_LANE ? status : r;
		const struct kestrel_completion *c = (const void *)rec;
		const struct kestrel_parent_message *m = kestrel_result_data(c, 0);
		if (m && kestrel_results(c)[0].length == sizeof(*m) && m->magic == KESTREL_PARENT_MAGIC &&
		    m->type == KESTREL_PARENT_EXIT)
			status = m->value[0];
	}
}

int run_benchmarks(void)
{
	struct kestrel_queue q;
	int failures = 0;
	if (kestrel_queue_open(&q, KESTREL_QUEUE_MIN) < 0)
		return 1;
	for (size_t i = 0; i < sizeof(benchmarks) / sizeof(benchmarks[0]); i++) {
		const void *image;
		size_t size;
		if (!initrd_file(benchmarks[i], &image, &size)) {
			printf("init: %s is not in the initrd\n", benchmarks[i]);
			failures++;
			continue;
		}
		const char *argv[] = {benchmarks[i]};
		kestrel_handle_t handles[] = {initrd.handle};
		uint32_t rights[] = {KESTREL_RIGHT_READ | KESTREL_RIGHT_MAP};
		struct kestrel_spawn s = {
			.name = benchmarks[i], .image = image, .image_size = size, .argc = 1,
			.argv = argv, .handle_count = 1, .handles = handles, .handle_rights = rights,
		};
		struct kestrel_process p = {0};
		int64_t r = kestrel_process_spawn(&s, &p, NULL);
		if (r == 0)
			r = wait_for_exit(&q, p.lane);
		if (r != 0) {
			printf("init: %s: %lld\n", benchmarks[i], (long long)r);
			failures++;
		}
		if (p.lane > 0)
			kestrel_handle_close(p.lane);
		if (p.thread > 0)
			kestrel_handle_close(p.thread);
	}
	kestrel_queue_close(&q);
	char done[48];
	int n = snprintf(done, sizeof(done), "BENCH DONE %d", failures);
	kestrel_log(done, (size_t)n, KESTREL_LOG_INFO);
	return failures;
}
