/*
 * ipc-bench: the cost of Kestrel's native IPC, as raw figures (bench/run
 * prints them; the side-by-side comparison with Linux comes with the
 * benchmark runner of its own issue). Started by init for test=bench.
 *
 *   rt_same_cpu, rt_cross_cpu   round trip of a 64-byte message between
 *                               two processes: the client submits
 *                               [SEND, RECV] and waits for its completion;
 *                               the server keeps a [RECV, SEND] chain
 *                               posted and re-posts it after each one.
 *   batch_1, batch_16, batch_256
 *                               per-operation cost of submit_batch() with
 *                               that many one-action submissions (empty
 *                               SENDs met by RECVs posted the same way),
 *                               completions consumed from the ring.
 *
 * Each figure is the median of 5 runs, in nanoseconds per operation, as
 *     BENCH <name> <ns>
 * Under QEMU's -icount shift=0 a guest nanosecond is one instruction, so
 * the same program gives instruction counts there.
 */
#include <kestrel/calls.h>
#include <kestrel/cpio.h>
#include <kestrel/ipc.h>
#include <kestrel/process.h>
#include <kestrel/start.h>
#include <stdio.h>
#include <string.h>

#define MSG 64
#define RUNS 5
#define ROUND_TRIPS 2000
#define BATCH_OPS 4096

static struct kestrel_queue q;

/* ---- the server (argv[1] == "server") ---- */

static int serve(kestrel_handle_t lane)
{
	static uint8_t reply[MSG];
	uint64_t rec[KESTREL_COMPLETION_SIZE(2, MSG) / 8 + 1];
	struct kestrel_action a[2] = {kestrel_act_recv_inline(MSG), kestrel_act_send(reply, MSG)};
	for (uint64_t tag = 1;; tag++) {
		if (kestrel_submit(lane, q.handle, a, 2, tag) < 0)
			return 1;
		int64_t r = kestrel_queue_take(&q, rec, sizeof(rec), KESTREL_FOREVER);
		if (r < 0)
			return 2;
		const struct kestrel_completion *c = (const void *)rec;
		if (c->status == -KE_END_OF_LANE)
			return 0;
		if (c->status < 0)
			return 3;
	}
}

/* ---- the client ---- */

static uint64_t median(uint64_t *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int k = i; k > 0 && v[k] < v[k - 1]; k--) {
			uint64_t t = v[k];
			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	return v[n / 2];
}

static void report(const char *name, uint64_t ns)
{
	char line[96];
	int n = snprintf(line, sizeof(line), "BENCH %s %llu", name, (unsigned long long)ns);
	kestrel_log(line, (size_t)n, KESTREL_LOG_INFO);
}

static int64_t round_trips(kestrel_handle_t lane, uint32_t count)
{
	static uint8_t msg[MSG];
	uint64_t rec[KESTREL_COMPLETION_SIZE(2, MSG) / 8 + 1];
	struct kestrel_action a[2] = {kestrel_act_send(msg, MSG), kestrel_act_recv_inline(MSG)};
	for (uint32_t i = 0; i < count; i++) {
		int64_t r = kestrel_call(&q, lane, a, 2, i + 1, rec, sizeof(rec), 5000000000ull);
		if (r < 0)
			return r;
	}
	return 0;
}

static int bench_round_trip(const char *name, kestrel_handle_t self, uint64_t cpu_mask_server,
			    uint64_t cpu_mask_client)
{
	const struct kestrel_start *s = kestrel_start_info();
	uint64_t size = (uint64_t)kestrel_memory_size(s->handles[0]);
	int64_t a = kestrel_space_map(KESTREL_THIS_SPACE, s->handles[0], 0, 0, size, KESTREL_MAP_READ);
	struct kestrel_cpio_entry e;
	if (a < 0 || kestrel_cpio_find((const void *)(uintptr_t)a, size, "kestrel/bench/ipc", &e) != 1) {
		printf("ipc-bench: cannot find itself in the initrd\n");
		return 1;
	}
	const char *argv[] = {"ipc-bench", "server"};
	struct kestrel_spawn sp = {
		.name = "ipc-bench server", .image = e.data, .image_size = e.size,
		.argc = 2, .argv = argv, .flags = KESTREL_SPAWN_STOPPED,
	};
	struct kestrel_process child;
	if (kestrel_process_spawn(&sp, &child, NULL) < 0)
		return 1;
	kestrel_thread_set_affinity(child.thread, cpu_mask_server);
	kestrel_thread_set_affinity(self, cpu_mask_client);
	kestrel_thread_start(child.thread);
	uint64_t runs[RUNS];
	int rc = 0;
	round_trips(child.lane, 100); /* warm up */
	for (int i = 0; i < RUNS && !rc; i++) {
		int64_t t0 = kestrel_clock();
		if (round_trips(child.lane, ROUND_TRIPS) < 0)
			rc = 1;
		runs[i] = (uint64_t)(kestrel_clock() - t0) / ROUND_TRIPS;
	}
	if (!rc)
		report(name, median(runs, RUNS));
	kestrel_handle_close(child.lane); /* the server sees the end and exits */
	kestrel_handle_close(child.thread);
	kestrel_space_unmap(KESTREL_THIS_SPACE, (uint64_t)a, size);
	kestrel_thread_set_affinity(self, ~0ull);
	return rc;
}

/* Consume `n` completions from the ring without copying. */
static int drain(uint32_t n)
{
	while (n) {
		if (kestrel_queue_wait_ready(&q, 5000000000ull) < 0)
			return -1;
		const struct kestrel_completion *c;
		while (n && (c = kestrel_queue_peek(&q)) != NULL) {
			if (c->status < 0)
				return -1;
			kestrel_queue_pop(&q);
			n--;
		}
	}
	return 0;
}

static int bench_batch(uint32_t batch)
{
	static struct kestrel_submission subs[KESTREL_MAX_BATCH];
	struct kestrel_action send = kestrel_act_send(NULL, 0), recv = kestrel_act_recv_inline(0);
	kestrel_handle_t l[2];
	if (kestrel_stream_create(l) < 0)
		return 1;
	uint64_t runs[RUNS];
	int rc = 0;
	for (int run = 0; run < RUNS && !rc; run++) {
		int64_t t0 = kestrel_clock();
		for (uint32_t done = 0; done < BATCH_OPS && !rc; done += batch) {
			for (uint32_t i = 0; i < batch; i++)
				subs[i] = (struct kestrel_submission){
					l[0], 1, (uint64_t)(uintptr_t)&send, i};
			if (kestrel_submit_batch(q.handle, subs, batch) != batch)
				rc = 1;
			for (uint32_t i = 0; i < batch; i++)
				subs[i] = (struct kestrel_submission){
					l[1], 1, (uint64_t)(uintptr_t)&recv, i};
			if (!rc && kestrel_submit_batch(q.handle, subs, batch) != batch)
				rc = 1;
			if (!rc && drain(2 * batch) < 0)
				rc = 1;
		}
		/* Per submission (a SEND and its RECV are two). */
		runs[run] = (uint64_t)(kestrel_clock() - t0) / (2 * BATCH_OPS);
	}
	kestrel_handle_close(l[0]);
	kestrel_handle_close(l[1]);
	if (!rc) {
		char name[32];
		snprintf(name, sizeof(name), "batch_%u", batch);
		report(name, median(runs, RUNS));
	}
	return rc;
}

int main(int argc, char **argv)
{
	const struct kestrel_start *s = kestrel_start_info();
	/* The largest record is 2 results + 64 bytes; 256 of them in flight
	 * need about 64 KiB of ring with the reservations. */
	if (!s || kestrel_queue_open(&q, 1u << 18) < 0)
		return 2;
	if (argc > 1 && !strcmp(argv[1], "server"))
		return serve(s->parent);
	if (s->handle_count < 1)
		return 2;
	struct kestrel_system_info info;
	kestrel_system_info(&info);
	int rc = bench_round_trip("rt_same_cpu", s->self_thread, 1, 1);
	if (info.cpu_count > 1)
		rc |= bench_round_trip("rt_cross_cpu", s->self_thread, 2, 1);
	rc |= bench_batch(1);
	rc |= bench_batch(16);
	rc |= bench_batch(256);
	return rc;
}
