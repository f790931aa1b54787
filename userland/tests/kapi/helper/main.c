/*
 * kapi-helper: the other processes of the KAPI suite's cross-process
 * tests. The KAPI test that starts it picks a role with argv[1]:
 *
 *   exit N            exit(N)
 *   return N          return N from main
 *   fault KIND        fault on purpose (see fault()); if it survives,
 *                     exits with 99
 *   spin              loop forever (to be killed)
 *   block             wait on a futex forever (to be killed)
 *   echo              answer conversations on the parent lane: ACCEPT +
 *                     RECV_INLINE(conversation), reply on the conversation
 *                     with the request's bytes reversed; until the lane ends
 *   accept-die        accept one conversation, then exit without replying
 *   pingpong N        pull a lane from the parent, receive N messages on
 *                     the parent lane, check each, answer each on the
 *                     pulled lane with its sequence number and checksum
 *   relay             pull a lane and a memory object from the parent, push
 *                     the memory over the lane with READ|MAP only
 *   sink              pull a lane from the parent, pull a memory object on
 *                     it, check its contents; try to pass it on (must fail:
 *                     no TRANSFER right); report both to the parent
 *   creds             ATTACH_CREDS + SEND on the parent lane
 *   hold              pull a lane from the parent, close it, exit
 *   pending-exit      leave a receive pending on the parent lane, exit
 *   registry-owner NAME  register {class=kapi-owner, name=NAME} with the
 *                     registry lane in handles[0], send the entity id as
 *                     KESTREL_PARENT_DATA, then take connections one by
 *                     one: receive a message, answer it reversed; until
 *                     killed
 *
 * Results go to the parent as KESTREL_PARENT_DATA messages or the exit
 * status; the parent does the checking.
 */
#include <kestrel/calls.h>
#include <kestrel/ipc.h>
#include <kestrel/registry.h>
#include <kestrel/start.h>
#include <stdlib.h>
#include <string.h>

#include "kapi.h"
#include "pingpong.h"

static const struct kestrel_start *start;
static struct kestrel_queue q;

static void fault(const char *kind)
{
	volatile uint64_t *p;
	if (!strcmp(kind, "read-null")) {
		p = (volatile uint64_t *)0;
		(void)*p;
	} else if (!strcmp(kind, "write-unmapped")) {
		p = (volatile uint64_t *)KAPI_UNMAPPED;
		*p = 1;
	} else if (!strcmp(kind, "write-rodata")) {
		static const uint64_t constant = 42;
		p = (volatile uint64_t *)(uintptr_t)&constant;
		*p = 1;
	} else if (!strcmp(kind, "exec-data")) {
		static uint8_t code[16] = {0xc3}; /* ret, in a non-executable page */
		((void (*)(void))(uintptr_t)code)();
	} else if (!strcmp(kind, "read-kernel")) {
		p = (volatile uint64_t *)KAPI_KERNEL_ADDR;
		(void)*p;
	} else if (!strcmp(kind, "noncanonical")) {
		p = (volatile uint64_t *)0x8000000000000000ull;
		(void)*p;
	} else if (!strcmp(kind, "jump-kernel")) {
		((void (*)(void))(uintptr_t)0xffffffff80000000ull)();
	} else if (!strcmp(kind, "ud2")) {
		__asm__ volatile("ud2");
	} else if (!strcmp(kind, "int3")) {
		__asm__ volatile("int3");
	} else if (!strcmp(kind, "div0")) {
		/* In asm: the compiler may turn 1 / x into a comparison. */
		__asm__ volatile("xor %%edx, %%edx\n\tdivl %%ecx" : : "a"(1), "c"(0) : "edx");
	} else if (!strcmp(kind, "hlt")) {
		__asm__ volatile("hlt");
	} else if (!strcmp(kind, "cli")) {
		__asm__ volatile("cli");
	} else if (!strcmp(kind, "port-io")) {
		__asm__ volatile("outb %%al, $0xf4" : : "a"(0)); /* the QEMU exit port */
	} else if (!strcmp(kind, "int80")) {
		__asm__ volatile("int $0x80" : : "a"(60) : "memory");
	} else if (!strcmp(kind, "stack-overflow")) {
		volatile uint8_t big[4096];
		big[0] = 1;
		fault(kind);
		(void)big[0];
	} else if (!strcmp(kind, "sse")) {
		/* SSE must work in user space: this is no fault. */
		volatile double a = 1.5, b = 2.25;
		if (a * b != 3.375)
			exit(98);
		exit(0);
	}
}

/* The echo role: reply to each conversation with the request reversed. */
static int echo(void)
{
	struct kestrel_action a[2] = {
		kestrel_act_accept(0),
		kestrel_on_conversation(kestrel_act_recv_inline(ECHO_MAX)),
	};
	uint64_t rec[KESTREL_COMPLETION_SIZE(2, ECHO_MAX) / 8 + 1];
	for (uint64_t tag = 1;; tag++) {
		int64_t r = kestrel_call(&q, start->parent, a, 2, tag, rec, sizeof(rec),
					 KESTREL_FOREVER);
		if (r == -KE_END_OF_LANE)
			return 0;
		if (r < 0)
			return 10;
		const struct kestrel_completion *c = (const void *)rec;
		const struct kestrel_result *res = kestrel_results(c);
		kestrel_handle_t conv = res[0].handle;
		const uint8_t *req = kestrel_result_data(c, 1);
		uint32_t n = res[1].length;
		uint8_t reply[ECHO_MAX];
		for (uint32_t i = 0; i < n; i++)
			reply[i] = req[n - 1 - i];
		struct kestrel_action s = kestrel_act_send(reply, n);
		r = kestrel_call(&q, conv, &s, 1, ~tag, rec, sizeof(rec), KESTREL_FOREVER);
		kestrel_handle_close(conv);
		if (r < 0)
			return 11;
	}
}

static int accept_die(void)
{
	struct kestrel_action a[2] = {
		kestrel_act_accept(0),
		kestrel_on_conversation(kestrel_act_recv_inline(ECHO_MAX)),
	};
	uint64_t rec[KESTREL_COMPLETION_SIZE(2, ECHO_MAX) / 8 + 1];
	int64_t r = kestrel_call(&q, start->parent, a, 2, 1, rec, sizeof(rec), 10 * KAPI_SECOND);
	return r < 0 ? 12 : 0; /* exiting closes the conversation unanswered */
}

static int pull_handle(kestrel_handle_t lane, kestrel_handle_t *out)
{
	struct kestrel_action a = kestrel_act_pull_handle();
	uint64_t rec[KESTREL_COMPLETION_SIZE(1, 0) / 8 + 1];
	int64_t r = kestrel_call(&q, lane, &a, 1, kapi_tag(), rec, sizeof(rec), 10 * KAPI_SECOND);
	if (r < 0)
		return (int)r;
	*out = kestrel_results((const void *)rec)[0].handle;
	return 0;
}

static int push_handle(kestrel_handle_t lane, kestrel_handle_t h, uint32_t rights)
{
	struct kestrel_action a = kestrel_act_push_handle(h, rights);
	uint64_t rec[KESTREL_COMPLETION_SIZE(1, 0) / 8 + 1];
	return (int)kestrel_call(&q, lane, &a, 1, kapi_tag(), rec, sizeof(rec), 10 * KAPI_SECOND);
}

static int relay(void)
{
	kestrel_handle_t lane, mem;
	if (pull_handle(start->parent, &lane) || pull_handle(start->parent, &mem))
		return 20;
	if (push_handle(lane, mem, KESTREL_RIGHT_READ | KESTREL_RIGHT_MAP))
		return 21;
	kestrel_handle_close(mem);
	/* Wait until the sink has our lane's message before we go. */
	kestrel_parent_send(KESTREL_PARENT_DATA, 1, 0, 10 * KAPI_SECOND);
	return 0;
}

static int sink(void)
{
	kestrel_handle_t lane, mem;
	if (pull_handle(start->parent, &lane))
		return 30;
	if (pull_handle(lane, &mem))
		return 31;
	struct kestrel_handle_info info;
	if (kestrel_handle_info(mem, &info) < 0 || info.type != KESTREL_OBJ_MEMORY)
		return 32;
	int64_t size = kestrel_memory_size(mem);
	int64_t a = kestrel_space_map(KESTREL_THIS_SPACE, mem, 0, 0, (uint64_t)size,
				      KESTREL_MAP_READ);
	if (a < 0)
		return 33;
	uint64_t sum = kapi_checksum((const void *)(uintptr_t)a, (size_t)size);
	/* Passing it on needs TRANSFER, which the relay did not give. */
	kestrel_handle_t s[2];
	int64_t pass_on = -KE_INVALID;
	if (kestrel_stream_create(s) == 0)
		pass_on = push_handle(s[0], mem, KESTREL_RIGHT_READ);
	kestrel_parent_send(KESTREL_PARENT_DATA, (int64_t)sum, pass_on, 10 * KAPI_SECOND);
	kestrel_parent_send(KESTREL_PARENT_DATA, info.rights, 0, 10 * KAPI_SECOND);
	return 0;
}

static int creds(void)
{
	uint8_t msg[8] = "creds";
	struct kestrel_action a[2] = {kestrel_act_attach_creds(), kestrel_act_send(msg, sizeof(msg))};
	uint64_t rec[KESTREL_COMPLETION_SIZE(2, 0) / 8 + 1];
	int64_t r = kestrel_call(&q, start->parent, a, 2, 1, rec, sizeof(rec), 10 * KAPI_SECOND);
	return r < 0 ? 40 : 0;
}

static int hold(void)
{
	kestrel_handle_t lane;
	if (pull_handle(start->parent, &lane))
		return 50;
	kestrel_handle_close(lane);
	return 0;
}

static int registry_owner(const char *name)
{
	if (start->handle_count < 1)
		return 80;
	struct reg_props p;
	reg_props_init(&p);
	if (reg_props_add(&p, "class", "kapi-owner") || reg_props_add(&p, "name", name))
		return 81;
	uint64_t id;
	kestrel_handle_t owner;
	if (kestrel_registry_register(&q, start->handles[0], &p, &id, &owner) < 0)
		return 82;
	if (kestrel_parent_send(KESTREL_PARENT_DATA, (int64_t)id, 0, 10 * KAPI_SECOND) < 0)
		return 83;
	for (;;) {
		kestrel_handle_t lane;
		if (kestrel_registry_next_connection(&q, owner, NULL, &lane, KESTREL_FOREVER) < 0)
			return 84;
		char buf[256], out[256];
		int64_t n = kapi_recv(&q, lane, buf, sizeof(buf), KESTREL_FOREVER);
		if (n > 0) {
			for (int64_t i = 0; i < n; i++)
				out[i] = buf[n - 1 - i];
			kapi_send(&q, lane, out, (size_t)n, KESTREL_FOREVER);
		}
		kestrel_handle_close(lane);
	}
}

int main(int argc, char **argv)
{
	start = kestrel_start_info();
	if (argc < 2 || !start)
		return 2;
	if (kestrel_queue_open(&q, 1u << 16) < 0)
		return 3;
	const char *role = argv[1];
	const char *arg = argc > 2 ? argv[2] : "0";
	if (!strcmp(role, "exit"))
		exit(atoi(arg));
	if (!strcmp(role, "return"))
		return atoi(arg);
	if (!strcmp(role, "fault")) {
		fault(arg);
		return 99;
	}
	if (!strcmp(role, "spin"))
		for (;;)
			__asm__ volatile("pause");
	if (!strcmp(role, "block")) {
		static uint32_t never;
		for (;;)
			kestrel_futex_wait(&never, 0, 0);
	}
	if (!strcmp(role, "echo"))
		return echo();
	if (!strcmp(role, "accept-die"))
		return accept_die();
	if (!strcmp(role, "pingpong")) {
		kestrel_handle_t reply;
		if (pull_handle(start->parent, &reply))
			return 60;
		return pingpong_server(&q, start->parent, reply, strtoul(arg, NULL, 0));
	}
	if (!strcmp(role, "relay"))
		return relay();
	if (!strcmp(role, "sink"))
		return sink();
	if (!strcmp(role, "creds"))
		return creds();
	if (!strcmp(role, "hold"))
		return hold();
	if (!strcmp(role, "registry-owner"))
		return registry_owner(arg);
	if (!strcmp(role, "pending-exit")) {
		struct kestrel_action r = kestrel_act_recv_inline(8);
		return kestrel_submit(start->parent, q.handle, &r, 1, 1) < 0 ? 70 : 0;
	}
	return 4;
}
