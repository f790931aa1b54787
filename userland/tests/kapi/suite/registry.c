/*
 * The registry init serves (docs/registry.md): registering entities,
 * queries by property filter (match, no match, partial match, replies in
 * pages), watches that see existing, new and removed entities,
 * connections to an entity's owner (a kapi-helper in the registry-owner
 * role), entities that go away with their owner, and malformed requests
 * that get error answers while init keeps serving.
 *
 * The suite talks to init's registry through the lane init gave it (the
 * last start handle). Property values carry the test's name so that tests
 * do not see each other's entities.
 */
#include <kestrel/registry.h>
#include <string.h>

#include "suite.h"

#define WAIT (5 * KAPI_SECOND)

static struct kestrel_queue rq_queue;

/* A queue for the registry calls, opened once (the tests are one thread). */
static struct kestrel_queue *rq(void)
{
	if (!rq_queue.header && kestrel_queue_open(&rq_queue, 1u << 16) < 0)
		return NULL;
	return &rq_queue;
}

static struct reg_props props2(const char *k1, const char *v1, const char *k2, const char *v2)
{
	struct reg_props p;
	reg_props_init(&p);
	reg_props_add(&p, k1, v1);
	if (k2)
		reg_props_add(&p, k2, v2);
	return p;
}

static int64_t count_matching(const struct reg_props *filter)
{
	return kestrel_registry_query(rq(), kestrel_registry_lane(), filter, NULL, 0);
}

KAPI_TEST(registry_lane_is_given_to_every_program)
{
	kestrel_handle_t reg = kestrel_registry_lane();
	CHECK(reg > 0);
	CHECK_EQ(handle_type(reg), KESTREL_OBJ_LANE);
	CHECK(rq() != NULL);
	/* Everything matches the empty filter; the answer is well formed. */
	struct reg_props none;
	reg_props_init(&none);
	CHECK(count_matching(&none) >= 0);
}

KAPI_TEST(registry_register_and_query_by_filter)
{
	kestrel_handle_t reg = kestrel_registry_lane();
	struct kestrel_queue *q = rq();
	CHECK(q != NULL);
	struct reg_props a = props2("class", "kapi-query", "name", "alpha");
	reg_props_add(&a, "unit", "1");
	struct reg_props b = props2("class", "kapi-query", "name", "beta");
	uint64_t ida, idb;
	kestrel_handle_t owna, ownb;
	CHECK_OK(kestrel_registry_register(q, reg, &a, &ida, &owna));
	CHECK_OK(kestrel_registry_register(q, reg, &b, &idb, &ownb));
	CHECK(ida > 0 && idb > ida);
	CHECK_EQ(handle_type(owna), KESTREL_OBJ_LANE);

	struct reg_entity found[4];
	struct reg_props f = props2("class", "kapi-query", NULL, NULL);
	CHECK_EQ(kestrel_registry_query(q, reg, &f, found, 4), 2);
	CHECK_EQ(found[0].id, ida); /* in id order */
	CHECK_EQ(found[1].id, idb);
	CHECK_EQ(found[0].props.count, 3);
	CHECK(!strcmp(reg_props_get(&found[0].props, "name"), "alpha"));
	CHECK(!strcmp(reg_props_get(&found[0].props, "unit"), "1"));
	CHECK(!strcmp(reg_props_get(&found[1].props, "name"), "beta"));

	/* All terms must match: a partial match is no match. */
	f = props2("class", "kapi-query", "name", "beta");
	CHECK_EQ(kestrel_registry_query(q, reg, &f, found, 4), 1);
	CHECK_EQ(found[0].id, idb);
	f = props2("class", "kapi-query", "name", "gamma");
	CHECK_EQ(kestrel_registry_query(q, reg, &f, found, 4), 0);
	f = props2("class", "kapi-query", "unit", "2");
	CHECK_EQ(kestrel_registry_query(q, reg, &f, found, 4), 0);
	f = props2("nonexistent-key", "", NULL, NULL);
	CHECK_EQ(kestrel_registry_query(q, reg, &f, found, 4), 0);
	/* Fewer slots than matches: the count is still right. */
	f = props2("class", "kapi-query", NULL, NULL);
	CHECK_EQ(kestrel_registry_query(q, reg, &f, found, 1), 2);
	CHECK_EQ(found[0].id, ida);

	/* Closing the owner lane removes the entity. The registry learns of
	 * it (its pending accept fails) before it reads our next request. */
	kestrel_handle_close(owna);
	f = props2("class", "kapi-query", NULL, NULL);
	CHECK_EQ(kestrel_registry_query(q, reg, &f, found, 4), 1);
	CHECK_EQ(found[0].id, idb);
	kestrel_handle_close(ownb);
	CHECK_EQ(kestrel_registry_query(q, reg, &f, found, 4), 0);
}

KAPI_TEST(registry_query_answers_come_in_pages)
{
	kestrel_handle_t reg = kestrel_registry_lane();
	struct kestrel_queue *q = rq();
	CHECK(q != NULL);
	/* Entities with the most properties: one fills most of a reply, so
	 * three need three replies (REG_REPLY_MORE). */
	kestrel_handle_t own[3];
	uint64_t id[3];
	for (int i = 0; i < 3; i++) {
		struct reg_props p = props2("class", "kapi-pages", NULL, NULL);
		for (int k = 1; k < (int)REG_MAX_PROPS; k++) {
			char key[8] = {'k', (char)('a' + k), 0};
			char value[REG_VALUE_SIZE];
			memset(value, 'a' + i, sizeof(value) - 1);
			value[sizeof(value) - 1] = 0;
			CHECK_OK(reg_props_add(&p, key, value));
		}
		CHECK_OK(kestrel_registry_register(q, reg, &p, &id[i], &own[i]));
	}
	struct reg_entity found[3];
	struct reg_props f = props2("class", "kapi-pages", NULL, NULL);
	CHECK_EQ(kestrel_registry_query(q, reg, &f, found, 3), 3);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(found[i].id, id[i]);
		CHECK_EQ(found[i].props.count, REG_MAX_PROPS);
		CHECK_EQ(reg_props_get(&found[i].props, "kb")[0], 'a' + i);
	}
	for (int i = 0; i < 3; i++)
		kestrel_handle_close(own[i]);
	CHECK_EQ(kestrel_registry_query(q, reg, &f, found, 3), 0);
}

KAPI_TEST(registry_watch_sees_existing_new_and_removed)
{
	kestrel_handle_t reg = kestrel_registry_lane();
	struct kestrel_queue *q = rq();
	CHECK(q != NULL);
	struct reg_props a = props2("class", "kapi-watch", "name", "a");
	struct reg_props b = props2("class", "kapi-watch", "name", "b");
	struct reg_props c = props2("class", "kapi-other", "name", "c");
	uint64_t ida, idb, idc;
	kestrel_handle_t owna, ownb, ownc, watch;
	CHECK_OK(kestrel_registry_register(q, reg, &a, &ida, &owna));
	struct reg_props f = props2("class", "kapi-watch", NULL, NULL);
	CHECK_OK(kestrel_registry_watch(q, reg, &f, &watch));

	struct reg_event ev;
	CHECK_OK(kestrel_registry_next_event(q, watch, &ev, WAIT)); /* the one that exists */
	CHECK_EQ(ev.op, REG_OP_ADDED);
	CHECK_EQ(ev.id, ida);
	CHECK(!strcmp(reg_props_get(&ev.props, "name"), "a"));

	/* c does not match, b does: the next event is b's. */
	CHECK_OK(kestrel_registry_register(q, reg, &c, &idc, &ownc));
	CHECK_OK(kestrel_registry_register(q, reg, &b, &idb, &ownb));
	CHECK_OK(kestrel_registry_next_event(q, watch, &ev, WAIT));
	CHECK_EQ(ev.op, REG_OP_ADDED);
	CHECK_EQ(ev.id, idb);

	/* A wait that times out gives up its offer; the event that comes
	 * after still arrives (the registry resends it on the next offer). */
	CHECK_ERR(kestrel_registry_next_event(q, watch, &ev, 20 * KAPI_MS), KE_TIMEOUT);
	kestrel_handle_close(ownc);
	kestrel_handle_close(ownb);
	CHECK_OK(kestrel_registry_next_event(q, watch, &ev, WAIT));
	CHECK_EQ(ev.op, REG_OP_REMOVED);
	CHECK_EQ(ev.id, idb);
	CHECK(!strcmp(reg_props_get(&ev.props, "name"), "b"));

	/* A new watch after the removal sees only what is left. */
	kestrel_handle_t watch2;
	CHECK_OK(kestrel_registry_watch(q, reg, &f, &watch2));
	kestrel_handle_close(owna);
	CHECK_OK(kestrel_registry_next_event(q, watch2, &ev, WAIT));
	CHECK_EQ(ev.op, REG_OP_ADDED);
	CHECK_EQ(ev.id, ida);
	CHECK_OK(kestrel_registry_next_event(q, watch2, &ev, WAIT));
	CHECK_EQ(ev.op, REG_OP_REMOVED);
	CHECK_EQ(ev.id, ida);
	CHECK_OK(kestrel_registry_next_event(q, watch, &ev, WAIT));
	CHECK_EQ(ev.op, REG_OP_REMOVED);
	CHECK_EQ(ev.id, ida);
	kestrel_handle_close(watch);
	kestrel_handle_close(watch2);
}

KAPI_TEST(registry_watcher_that_falls_behind_loses_its_watch)
{
	kestrel_handle_t reg = kestrel_registry_lane();
	struct kestrel_queue *q = rq();
	CHECK(q != NULL);
	struct reg_props f = props2("class", "kapi-flood", NULL, NULL);
	kestrel_handle_t watch, own[REG_MAX_QUEUED + 1];
	CHECK_OK(kestrel_registry_watch(q, reg, &f, &watch));
	/* One event more than the registry keeps for a watcher that never
	 * asks: it ends the watch rather than grow without bound. */
	for (uint32_t i = 0; i <= REG_MAX_QUEUED; i++) {
		char name[8] = {'n', (char)('a' + i), 0};
		struct reg_props p = props2("class", "kapi-flood", "name", name);
		uint64_t id;
		CHECK_OK(kestrel_registry_register(q, reg, &p, &id, &own[i]));
	}
	struct reg_event ev;
	CHECK_ERR(kestrel_registry_next_event(q, watch, &ev, WAIT), KE_END_OF_LANE);
	kestrel_handle_close(watch);
	/* The entities are all there; a new watch sees every one. */
	CHECK_EQ(count_matching(&f), REG_MAX_QUEUED + 1);
	CHECK_OK(kestrel_registry_watch(q, reg, &f, &watch));
	for (uint32_t i = 0; i <= REG_MAX_QUEUED; i++) {
		CHECK_OK(kestrel_registry_next_event(q, watch, &ev, WAIT));
		CHECK_EQ(ev.op, REG_OP_ADDED);
		CHECK_EQ(reg_props_get(&ev.props, "name")[1], 'a' + (int)i);
	}
	kestrel_handle_close(watch);
	for (uint32_t i = 0; i <= REG_MAX_QUEUED; i++)
		kestrel_handle_close(own[i]);
	CHECK_EQ(count_matching(&f), 0);
}

/* Connect to `id`, send msg, return the answer's length (into buf) or -KE_*. */
static int64_t ask(uint64_t id, const char *msg, char *buf, size_t size)
{
	kestrel_handle_t lane;
	int64_t r = kestrel_registry_connect(rq(), kestrel_registry_lane(), id, &lane);
	if (r < 0)
		return r;
	r = kapi_send(rq(), lane, msg, strlen(msg), WAIT);
	if (r >= 0)
		r = kapi_recv(rq(), lane, buf, size, WAIT);
	kestrel_handle_close(lane);
	return r;
}

KAPI_TEST(registry_connect_reaches_the_owner_and_its_death_removes_the_entity)
{
	kestrel_handle_t reg = kestrel_registry_lane();
	struct kestrel_queue *q = rq();
	CHECK(q != NULL);
	struct kestrel_queue pq;
	CHECK_OK(kestrel_queue_open(&pq, 1u << 16));
	struct kestrel_process p;
	kestrel_handle_t h[1] = {reg};
	uint32_t rights[1] = {KESTREL_RIGHT_READ | KESTREL_RIGHT_WRITE};
	CHECK_OK(kapi_spawn_helper(&p, (const char *const[]){"registry-owner", "kapi-conn", NULL},
				   0, h, rights, 1));
	struct kestrel_parent_message m;
	int64_t r = kapi_child_message(&pq, p.lane, &m, WAIT);
	if (r < 0 || m.type != KESTREL_PARENT_DATA) {
		kapi_child_close(&p);
		kestrel_queue_close(&pq);
		CHECK_MSG(false, "no entity id from the helper: %s", kestrel_error_name(r));
	}
	uint64_t id = (uint64_t)m.value[0];

	/* A client finds it by its properties... */
	struct reg_entity found[2];
	struct reg_props f = props2("class", "kapi-owner", "name", "kapi-conn");
	CHECK_EQ(kestrel_registry_query(q, reg, &f, found, 2), 1);
	CHECK_EQ(found[0].id, id);
	/* ...watches it... */
	kestrel_handle_t watch;
	CHECK_OK(kestrel_registry_watch(q, reg, &f, &watch));
	struct reg_event ev;
	CHECK_OK(kestrel_registry_next_event(q, watch, &ev, WAIT));
	CHECK_EQ(ev.op, REG_OP_ADDED);
	CHECK_EQ(ev.id, id);
	/* ...and talks to its owner, on a fresh stream each time. */
	char buf[64];
	CHECK_EQ(ask(id, "hello", buf, sizeof(buf)), 5);
	CHECK(!memcmp(buf, "olleh", 5));
	CHECK_EQ(ask(id, "registry", buf, sizeof(buf)), 8);
	CHECK(!memcmp(buf, "yrtsiger", 8));
	kestrel_handle_t lane;
	CHECK_ERR(kestrel_registry_connect(q, reg, id + 1000000, &lane), KE_NOT_FOUND);

	/* The owner dies: its entity goes, watchers hear of it, and nobody
	 * can connect to it any more. */
	kapi_child_close(&p);
	kestrel_queue_close(&pq);
	CHECK_OK(kestrel_registry_next_event(q, watch, &ev, WAIT));
	CHECK_EQ(ev.op, REG_OP_REMOVED);
	CHECK_EQ(ev.id, id);
	kestrel_handle_close(watch);
	CHECK_EQ(kestrel_registry_query(q, reg, &f, found, 2), 0);
	CHECK_ERR(kestrel_registry_connect(q, reg, id, &lane), KE_NOT_FOUND);
}

/* A raw request: [OFFER, SEND bytes, (PUSH lane), RECV answer]. Returns
 * the chain's status; *status gets the answer's status if one came. */
static int64_t raw(const void *bytes, size_t len, bool push, int32_t *status)
{
	kestrel_handle_t lanes[2] = {0, 0};
	if (push && kestrel_stream_create(lanes) < 0)
		return -KE_NO_MEMORY;
	struct kestrel_action a[4];
	uint32_t n = 0;
	a[n++] = kestrel_act_offer(KESTREL_ACTF_NO_HANDLE);
	a[n++] = kestrel_on_conversation(kestrel_act_send(bytes, len));
	if (push)
		a[n++] = kestrel_on_conversation(
			kestrel_act_push_handle(lanes[1], KESTREL_RIGHTS_ALL));
	uint32_t recv = n;
	a[n++] = kestrel_on_conversation(kestrel_act_recv_inline(REG_MSG_MAX));
	static struct rec out;
	int64_t r = chain(rq(), kestrel_registry_lane(), a, n, &out, WAIT);
	if (push) {
		kestrel_handle_close(lanes[0]);
		kestrel_handle_close(lanes[1]);
	}
	*status = 1; /* no answer */
	if (r == 0) {
		struct reg_reply rp;
		const void *data = kestrel_result_data(rec_c(&out), recv);
		if (data && reg_decode_reply(data, rec_res(&out, recv)->length, &rp, NULL, 0) == 0)
			*status = rp.status;
		else
			*status = 2; /* an answer we cannot read */
	}
	return r;
}

KAPI_TEST(registry_malformed_requests_get_errors_and_init_keeps_serving)
{
	struct kestrel_queue *q = rq();
	CHECK(q != NULL);
	static uint8_t msg[REG_MSG_MAX + 512];
	int32_t st;
	struct reg_props none;
	reg_props_init(&none);

	/* Garbage: nothing in it adds up (its length field first). */
	memset(msg, 0xff, 64);
	CHECK_OK(raw(msg, 64, false, &st));
	CHECK_EQ(st, -KE_INVALID);
	/* An op nobody knows, in an otherwise sound header. */
	struct reg_header h = {0x7777, 0, 16};
	memcpy(msg, &h, sizeof(h));
	CHECK_OK(raw(msg, 16, false, &st));
	CHECK_EQ(st, -KE_NOT_SUPPORTED);
	/* Truncated: shorter than a header; a header that claims more. */
	CHECK_OK(raw(msg, 3, false, &st));
	CHECK_EQ(st, -KE_INVALID);
	h = (struct reg_header){REG_OP_QUERY, 0, 64};
	memcpy(msg, &h, sizeof(h));
	memset(msg + sizeof(h), 0, 8);
	CHECK_OK(raw(msg, sizeof(h) + 8, false, &st));
	CHECK_EQ(st, -KE_INVALID);
	/* A wrong op: an answer sent as a request. */
	h = (struct reg_header){REG_OP_REPLY, 0, sizeof(h) + 16};
	memcpy(msg, &h, sizeof(h));
	CHECK_OK(raw(msg, sizeof(h) + 16, false, &st));
	CHECK_EQ(st, -KE_NOT_SUPPORTED);
	/* A bad count: five properties promised, none there. */
	h = (struct reg_header){REG_OP_QUERY, 5, sizeof(h) + 8};
	memcpy(msg, &h, sizeof(h));
	CHECK_OK(raw(msg, sizeof(h) + 8, false, &st));
	CHECK_EQ(st, -KE_INVALID);
	/* More properties than allowed. */
	h = (struct reg_header){REG_OP_QUERY, 200, sizeof(h) + 8};
	memcpy(msg, &h, sizeof(h));
	CHECK_OK(raw(msg, sizeof(h) + 8, false, &st));
	CHECK_EQ(st, -KE_TOO_BIG);
	/* A key without its NUL. */
	h = (struct reg_header){REG_OP_QUERY, 1, sizeof(h) + 8 + sizeof(struct reg_prop)};
	memcpy(msg, &h, sizeof(h));
	memset(msg + sizeof(h), 0, 8 + sizeof(struct reg_prop));
	memset(msg + sizeof(h) + 8, 'k', REG_KEY_SIZE);
	CHECK_OK(raw(msg, h.length, false, &st));
	CHECK_EQ(st, -KE_INVALID);
	/* A truncated REGISTER still has its lane pulled, and gets an answer. */
	h = (struct reg_header){REG_OP_REGISTER, 2, sizeof(h) + sizeof(struct reg_prop)};
	memcpy(msg, &h, sizeof(h));
	memset(msg + sizeof(h), 0, sizeof(struct reg_prop));
	strcpy((char *)msg + sizeof(h), "class");
	CHECK_OK(raw(msg, h.length, true, &st));
	CHECK_EQ(st, -KE_INVALID);
	/* A REGISTER without the lane it promises: the protocol breaks on the
	 * wire (the registry's PULL meets our RECV) and the kernel says so. */
	h = (struct reg_header){REG_OP_REGISTER, 1, sizeof(h) + sizeof(struct reg_prop)};
	memcpy(msg, &h, sizeof(h));
	CHECK_ERR(raw(msg, h.length, false, &st), KE_INVALID);
	/* Oversized: more than any request may be; the kernel refuses it. */
	memset(msg, 0, sizeof(msg));
	CHECK_ERR(raw(msg, sizeof(msg), false, &st), KE_TOO_BIG);
	/* Not even a conversation: a plain send on the registry lane. */
	struct rec out;
	struct kestrel_action s = kestrel_act_send(msg, 16);
	CHECK_ERR(chain(q, kestrel_registry_lane(), &s, 1, &out, WAIT), KE_INVALID);
	/* Random bytes, many times. */
	uint64_t seed = 0x5eed;
	for (int i = 0; i < 200; i++) {
		size_t len = 1 + (size_t)(kapi_random(&seed) % 600);
		for (size_t j = 0; j < len; j++)
			msg[j] = (uint8_t)kapi_random(&seed);
		/* Keep the op off REGISTER/WATCH, which carry a lane. */
		if (reg_peek_op(msg, len) == REG_OP_REGISTER ||
		    reg_peek_op(msg, len) == REG_OP_WATCH)
			msg[1] ^= 0x80;
		CHECK_OK(raw(msg, len, false, &st));
		CHECK_MSG(st < 0, "random request %d accepted (status %d)", i, st);
	}

	/* init still answers properly. */
	struct reg_props p = props2("class", "kapi-after-garbage", NULL, NULL);
	uint64_t id;
	kestrel_handle_t own;
	CHECK_OK(kestrel_registry_register(q, kestrel_registry_lane(), &p, &id, &own));
	struct reg_entity found[1];
	CHECK_EQ(kestrel_registry_query(q, kestrel_registry_lane(), &p, found, 1), 1);
	CHECK_EQ(found[0].id, id);
	kestrel_handle_close(own);
	CHECK_EQ(count_matching(&p), 0);
}
