/*
 * Several processes: the suite starts kapi-helper (userland/tests/kapi/
 * helper) in roles and talks to it over the parent lane. Exit statuses,
 * faults that end only the faulting process, kills, request/reply
 * conversations with a server, a peer dying mid-conversation, 100,000
 * checksummed messages, handle passing across three processes with rights
 * that shrink, credentials set by the creator, and no leaks afterwards.
 */
#include <kestrel/process.h>
#include <string.h>

#include "pingpong.h"
#include "suite.h"

#define WAIT (20 * KAPI_SECOND) /* a bound for failures; the host may be loaded */

/* Object counts back to `before` within a second (teardown of a process
 * finishes shortly after its lane reports the end). */
static bool objects_settle(const struct kestrel_system_info *before,
			   struct kestrel_system_info *after)
{
	for (int tries = 0; tries < 500; tries++) {
		if (kestrel_system_info(after) < 0)
			return false;
		if (after->objects == before->objects)
			return true;
		sleep_ns(2 * KAPI_MS);
	}
	return false;
}

/* A snapshot taken once the counts stop moving (processes of earlier
 * tests may still be going away). */
static int64_t quiet_info(struct kestrel_system_info *info)
{
	struct kestrel_system_info prev;
	int64_t r = kestrel_system_info(&prev);
	for (int stable = 0, tries = 0; r == 0 && stable < 5 && tries < 500; tries++) {
		sleep_ns(2 * KAPI_MS);
		r = kestrel_system_info(info);
		stable = info->objects == prev.objects ? stable + 1 : 0;
		prev = *info;
	}
	*info = prev;
	return r;
}

static int64_t run_helper(const char *const *args, uint64_t timeout)
{
	struct kestrel_process p;
	struct kestrel_queue q;
	int64_t r = kestrel_queue_open(&q, KESTREL_QUEUE_MIN);
	if (r < 0)
		return r;
	r = kapi_spawn_helper(&p, args, 0, NULL, NULL, 0);
	if (r == 0) {
		r = kapi_child_exit(&q, p.lane, timeout);
		kapi_child_close(&p);
	}
	kestrel_queue_close(&q);
	return r;
}

KAPI_TEST(process_exit_status_reaches_the_parent)
{
	CHECK_EQ(run_helper((const char *const[]){"exit", "3", NULL}, WAIT), 3);
	CHECK_EQ(run_helper((const char *const[]){"return", "42", NULL}, WAIT), 42);
	CHECK_EQ(run_helper((const char *const[]){"exit", "0", NULL}, WAIT), 0);
	/* SSE works in user space (and is saved across switches). */
	CHECK_EQ(run_helper((const char *const[]){"fault", "sse", NULL}, WAIT), 0);
	/* An unknown role: the helper says so with its status. */
	CHECK_EQ(run_helper((const char *const[]){"no-such-role", NULL}, WAIT), 4);
}

KAPI_TEST(process_faults_end_only_the_faulting_process)
{
	static const char *const kinds[] = {
		"read-null", "write-unmapped", "write-rodata", "exec-data", "read-kernel",
		"noncanonical", "jump-kernel", "ud2", "int3", "div0", "hlt", "cli", "port-io",
		"int80", "stack-overflow",
	};
	struct kestrel_system_info before, after;
	CHECK_EQ(quiet_info(&before), 0);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int64_t r = run_helper((const char *const[]){"fault", kinds[i], NULL}, WAIT);
		CHECK_MSG(r == -KE_END_OF_LANE, "fault %s: the helper %s %lld", kinds[i],
			  r >= 0 ? "exited with" : "ended with", (long long)r);
	}
	CHECK_MSG(objects_settle(&before, &after), "%lld objects left behind",
		  (long long)(after.objects - before.objects));
}

KAPI_TEST(process_kill_spinning_and_blocked_child)
{
	struct kestrel_system_info before, after;
	CHECK_EQ(quiet_info(&before), 0);
	struct kestrel_queue q;
	CHECK_OK(kestrel_queue_open(&q, KESTREL_QUEUE_MIN));
	static const char *const roles[] = {"spin", "block"};
	for (int i = 0; i < 2; i++) {
		struct kestrel_process p;
		CHECK_OK(kapi_spawn_helper(&p, (const char *const[]){roles[i], NULL}, 0, NULL, NULL, 0));
		CHECK_EQ(kapi_child_exit(&q, p.lane, 30 * KAPI_MS), -KE_TIMEOUT); /* still there */
		CHECK_EQ(kestrel_thread_kill(p.thread), 0);
		CHECK_EQ(kapi_child_exit(&q, p.lane, WAIT), -KE_END_OF_LANE);
		kapi_child_close(&p);
	}
	kestrel_queue_close(&q);
	CHECK_MSG(objects_settle(&before, &after), "%lld objects left behind",
		  (long long)(after.objects - before.objects));
}

KAPI_TEST(process_echo_server_conversations)
{
	struct kestrel_queue q;
	CHECK_OK(kestrel_queue_open(&q, 1u << 16));
	struct kestrel_process p;
	CHECK_OK(kapi_spawn_helper(&p, (const char *const[]){"echo", NULL}, 0, NULL, NULL, 0));
	for (uint32_t i = 0; i < 50; i++) {
		char req[ECHO_MAX];
		uint32_t n = 1 + (i * 37) % (ECHO_MAX - 1);
		for (uint32_t k = 0; k < n; k++)
			req[k] = (char)('a' + (i + k) % 26);
		struct kestrel_action a[3] = {
			kestrel_act_offer(KESTREL_ACTF_NO_HANDLE),
			kestrel_on_conversation(kestrel_act_send(req, n)),
			kestrel_on_conversation(kestrel_act_recv_inline(ECHO_MAX)),
		};
		struct rec out;
		CHECK_EQ(chain(&q, p.lane, a, 3, &out, WAIT), 0);
		CHECK_EQ(rec_res(&out, 2)->length, n);
		const char *rep = kestrel_result_data(rec_c(&out), 2);
		CHECK(rep);
		for (uint32_t k = 0; k < n; k++)
			CHECK_EQ(rep[k], req[n - 1 - k]);
	}
	/* Closing our lane ends the server's loop: it exits cleanly. */
	kestrel_handle_close(p.lane);
	p.lane = 0;
	kestrel_handle_close(p.thread);
	p.thread = 0;
	kestrel_queue_close(&q);
}

KAPI_TEST(process_peer_dies_mid_conversation)
{
	struct kestrel_queue q;
	CHECK_OK(kestrel_queue_open(&q, 1u << 16));
	struct kestrel_process p;
	CHECK_OK(
		kapi_spawn_helper(&p, (const char *const[]){"accept-die", NULL}, 0, NULL, NULL, 0));
	static const char req[] = "are you there?";
	struct kestrel_action a[3] = {
		kestrel_act_offer(KESTREL_ACTF_NO_HANDLE),
		kestrel_on_conversation(kestrel_act_send(req, sizeof(req))),
		kestrel_on_conversation(kestrel_act_recv_inline(64)),
	};
	struct rec out;
	int64_t tag = CHECK_OK(chain_submit(&q, p.lane, a, 3));
	/* Its exit message waits for us to take it: take it first. */
	CHECK_EQ(kapi_child_exit(&q, p.lane, WAIT), 0);
	CHECK_EQ(chain_wait(&q, (uint64_t)tag, &out, WAIT), -KE_END_OF_LANE);
	CHECK_EQ(rec_res(&out, 0)->status, 0);
	CHECK_EQ(rec_res(&out, 1)->status, 0);
	CHECK_EQ(rec_res(&out, 2)->status, -KE_END_OF_LANE);
	kapi_child_close(&p);
	kestrel_queue_close(&q);
}

KAPI_TEST(process_lane_closed_by_the_other_side)
{
	/* The child pulls a lane, closes it and exits: our pending receive on
	 * the other end of that stream ends. */
	struct kestrel_queue q;
	CHECK_OK(kestrel_queue_open(&q, 1u << 16));
	kestrel_handle_t l[2];
	CHECK_EQ(kestrel_stream_create(l), 0);
	struct kestrel_action r = kestrel_act_recv_inline(8);
	int64_t tag = CHECK_OK(chain_submit(&q, l[1], &r, 1));
	struct kestrel_process p;
	CHECK_OK(kapi_spawn_helper(&p, (const char *const[]){"hold", NULL}, 0, NULL, NULL, 0));
	struct kestrel_action push = kestrel_act_push_handle(l[0], KESTREL_RIGHTS_ALL);
	struct rec out;
	CHECK_EQ(chain(&q, p.lane, &push, 1, &out, WAIT), 0);
	kestrel_handle_close(l[0]); /* now only the child holds it */
	CHECK_EQ(chain_wait(&q, (uint64_t)tag, &out, WAIT), -KE_END_OF_LANE);
	CHECK_EQ(kapi_child_exit(&q, p.lane, WAIT), 0);
	kapi_child_close(&p);
	kestrel_handle_close(l[1]);
	kestrel_queue_close(&q);
}

KAPI_TEST(process_pingpong_100000_messages)
{
	enum { COUNT = 100000 };
	struct kestrel_queue q;
	CHECK_OK(kestrel_queue_open(&q, 1u << 16));
	struct kestrel_process p;
	CHECK_OK(kapi_spawn_helper(&p, (const char *const[]){"pingpong", "100000", NULL}, 0, NULL,
				   NULL, 0));
	kestrel_handle_t replies[2];
	CHECK_EQ(kestrel_stream_create(replies), 0);
	struct kestrel_action push = kestrel_act_push_handle(replies[1], KESTREL_RIGHTS_ALL);
	struct rec out;
	CHECK_EQ(chain(&q, p.lane, &push, 1, &out, WAIT), 0);
	kestrel_handle_close(replies[1]);
	int64_t t0 = kestrel_clock();
	char err[128] = "";
	int rc = pingpong_client(&q, p.lane, replies[0], COUNT, err, sizeof(err));
	int64_t t1 = kestrel_clock();
	CHECK_MSG(rc == 0, "%s", err);
	CHECK_EQ(kapi_child_exit(&q, p.lane, WAIT), 0);
	kapi_note("%d messages each way in %lld ms", COUNT, (long long)((t1 - t0) / 1000000));
	kestrel_handle_close(replies[0]);
	kapi_child_close(&p);
	kestrel_queue_close(&q);
}

KAPI_TEST(process_handles_across_three_processes)
{
	/* We hold a stream (x, y) and a memory object with known contents.
	 * The relay gets x and the memory (all rights); it pushes the memory
	 * over x with READ|MAP only. The sink gets y, pulls the memory, maps
	 * and checksums it, and fails to pass it on (no TRANSFER). */
	struct kestrel_queue q;
	CHECK_OK(kestrel_queue_open(&q, 1u << 16));
	kestrel_handle_t mem;
	uint64_t addr = kapi_map_pages(3 * KESTREL_PAGE_SIZE, &mem);
	CHECK(addr);
	uint64_t state = 7;
	for (uint64_t off = 0; off < 3 * KESTREL_PAGE_SIZE; off += 8) {
		uint64_t v = kapi_random(&state);
		memcpy((void *)(uintptr_t)(addr + off), &v, 8);
	}
	uint64_t sum = kapi_checksum((const void *)(uintptr_t)addr, 3 * KESTREL_PAGE_SIZE);
	kestrel_handle_t s[2];
	CHECK_EQ(kestrel_stream_create(s), 0);
	struct kestrel_process relay, sink;
	CHECK_OK(kapi_spawn_helper(&relay, (const char *const[]){"relay", NULL}, 0, NULL, NULL, 0));
	CHECK_OK(kapi_spawn_helper(&sink, (const char *const[]){"sink", NULL}, 0, NULL, NULL, 0));
	struct rec out;
	struct kestrel_action push = kestrel_act_push_handle(s[0], KESTREL_RIGHTS_ALL);
	CHECK_EQ(chain(&q, relay.lane, &push, 1, &out, WAIT), 0);
	push = kestrel_act_push_handle(mem, KESTREL_RIGHTS_ALL);
	CHECK_EQ(chain(&q, relay.lane, &push, 1, &out, WAIT), 0);
	push = kestrel_act_push_handle(s[1], KESTREL_RIGHTS_ALL);
	CHECK_EQ(chain(&q, sink.lane, &push, 1, &out, WAIT), 0);
	kestrel_handle_close(s[0]);
	kestrel_handle_close(s[1]);
	struct kestrel_parent_message m;
	CHECK_EQ(kapi_child_message(&q, sink.lane, &m, WAIT), 0);
	CHECK_EQ(m.type, KESTREL_PARENT_DATA);
	CHECK_EQ((uint64_t)m.value[0], sum);
	CHECK_EQ(m.value[1], -KE_ACCESS);
	CHECK_EQ(kapi_child_message(&q, sink.lane, &m, WAIT), 0);
	CHECK_EQ(m.value[0], KESTREL_RIGHT_READ | KESTREL_RIGHT_MAP);
	CHECK_EQ(kapi_child_exit(&q, sink.lane, WAIT), 0);
	CHECK_EQ(kapi_child_message(&q, relay.lane, &m, WAIT), 0); /* its "done" */
	CHECK_EQ(kapi_child_exit(&q, relay.lane, WAIT), 0);
	kapi_child_close(&relay);
	kapi_child_close(&sink);
	kestrel_space_unmap(KESTREL_THIS_SPACE, addr, 3 * KESTREL_PAGE_SIZE);
	kestrel_handle_close(mem);
	kestrel_queue_close(&q);
}

KAPI_TEST(process_credentials_come_from_the_creator)
{
	struct kestrel_queue q;
	CHECK_OK(kestrel_queue_open(&q, 1u << 16));
	const void *image;
	size_t size;
	struct kestrel_process p;
	struct kestrel_credentials creds;
	for (int i = 0; i < 16; i++)
		creds.bytes[i] = (uint8_t)(0xa0 + i);
	/* kapi_spawn has no credentials: spawn the helper here. */
	CHECK(kapi_initrd_file("kestrel/tests/kapi-helper", &image, &size));
	const char *argv[] = {"kapi-helper", "creds"};
	struct kestrel_spawn s = {
		.name = "kapi-helper creds",
		.image = image,
		.image_size = size,
		.argc = 2,
		.argv = argv,
		.creds = &creds,
	};
	CHECK_OK(kestrel_process_spawn(&s, &p, NULL));
	struct kestrel_action a[2] = {kestrel_act_read_creds(), kestrel_act_recv_inline(16)};
	struct rec out;
	CHECK_EQ(chain(&q, p.lane, a, 2, &out, WAIT), 0);
	CHECK_EQ(rec_res(&out, 0)->length, sizeof(creds));
	CHECK(!memcmp(kestrel_result_data(rec_c(&out), 0), &creds, sizeof(creds)));
	CHECK(!memcmp(kestrel_result_data(rec_c(&out), 1), "creds", 6));
	CHECK_EQ(kapi_child_exit(&q, p.lane, WAIT), 0);
	kapi_child_close(&p);
	kestrel_queue_close(&q);
}

KAPI_TEST(process_spawn_rejects_corrupt_images)
{
	const void *image;
	size_t size;
	CHECK(kapi_initrd_file("kestrel/tests/kapi-helper", &image, &size));
	static uint8_t copy[1 << 20];
	CHECK(size <= sizeof(copy));
	const char *argv[] = {"corrupt"};
	struct kestrel_spawn s = {.name = "corrupt", .image = copy, .argc = 1, .argv = argv};
	struct kestrel_process p;
	struct kestrel_system_info before, after;
	CHECK_EQ(quiet_info(&before), 0);
	/* Truncated, bad magic, bad class, program headers past the end. */
	static const size_t cuts[] = {0, 4, 63, 64, 100};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		memcpy(copy, image, size);
		s.image_size = cuts[i];
		int elf_error = 0;
		CHECK_ERR(kestrel_process_spawn(&s, &p, &elf_error), KE_INVALID);
	}
	/* Header fields made wrong one at a time: class, byte order, type,
	 * machine, program-header size and offset, entry point. */
	static const struct {
		size_t offset, width;
		uint64_t value;
	} pokes[] = {
		{0, 1, 0x7e}, {4, 1, 1}, {5, 1, 2}, {16, 2, 1}, {18, 2, 3}, {54, 2, 0x20},
		{32, 8, 0xffffffffffff0000ull}, {32, 8, 1u << 30}, {24, 8, 0},
	};
	for (size_t i = 0; i < sizeof(pokes) / sizeof(pokes[0]); i++) {
		memcpy(copy, image, size);
		memcpy(copy + pokes[i].offset, &pokes[i].value, pokes[i].width);
		s.image_size = size;
		int elf_error = 0;
		int64_t r = kestrel_process_spawn(&s, &p, &elf_error);
		CHECK_MSG(r == -KE_INVALID && elf_error != 0, "poke %zu: %lld", i, (long long)r);
	}
	CHECK(objects_settle(&before, &after));
}

KAPI_TEST(process_exit_with_operations_pending)
{
	/* A process that exits with a receive pending on its lane to us is
	 * gone all the same: the pending operation does not keep its handle
	 * table (and so that lane) alive. */
	struct kestrel_system_info before, after;
	CHECK_EQ(quiet_info(&before), 0);
	struct kestrel_queue q;
	CHECK_OK(kestrel_queue_open(&q, KESTREL_QUEUE_MIN));
	struct kestrel_process p;
	CHECK_OK(kapi_spawn_helper(&p, (const char *const[]){"pending-exit", NULL}, 0, NULL, NULL,
				   0));
	CHECK_EQ(kapi_child_exit(&q, p.lane, WAIT), 0);
	char buf[8];
	CHECK_EQ(kapi_recv(&q, p.lane, buf, sizeof(buf), WAIT), -KE_END_OF_LANE);
	kapi_child_close(&p);
	kestrel_queue_close(&q);
	CHECK_MSG(objects_settle(&before, &after), "%lld objects left behind",
		  (long long)(after.objects - before.objects));
}
