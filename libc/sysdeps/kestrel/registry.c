/*
 * The registry client (<kestrel/registry.h>): each request is one
 * conversation on the registry lane, as protocols/registry.h lays out —
 * [OFFER, SEND request, (PUSH lane), RECV reply, (PULL lane)] — and each
 * event one conversation the client offers on its owner or watch lane.
 * Replies and events come from init but are decoded with the same checks
 * as anything else off the wire.
 */
#include <kestrel/calls.h>
#include <kestrel/registry.h>
#include <kestrel/start.h>
#include <string.h>

#define LANE_RIGHTS                                                                            \
	(KESTREL_RIGHT_READ | KESTREL_RIGHT_WRITE | KESTREL_RIGHT_TRANSFER |                    \
	 KESTREL_RIGHT_DUPLICATE)

/* init answers at once; this only bounds a wait on a broken registry. */
#define REQUEST_TIMEOUT (10ull * 1000000000ull)

#define REC_WORDS (KESTREL_COMPLETION_SIZE(5, REG_MSG_MAX) / 8 + 1)

kestrel_handle_t kestrel_registry_lane(void)
{
	const struct kestrel_start *s = kestrel_start_info();
	if (!s || s->handle_count == 0)
		return 0;
	return s->handles[s->handle_count - 1];
}

static uint64_t next_tag(void)
{
	static uint64_t n;
	return (0x72ull << 56) | __atomic_add_fetch(&n, 1, __ATOMIC_RELAXED);
}

/* Submit a chain and wait for its record (cancelling it if it takes longer
 * than timeout_ns); 0 and the record in rec, or -KE_*. */
static int64_t call(struct kestrel_queue *q, kestrel_handle_t lane, const struct kestrel_action *a,
		    uint32_t n, uint64_t *rec, uint64_t timeout_ns)
{
	uint64_t tag = next_tag();
	struct kestrel_completion *c = (struct kestrel_completion *)rec;
	c->tag = 0;
	int64_t r = kestrel_call(q, lane, a, n, tag, rec, REC_WORDS * 8, timeout_ns);
	if (r == -KE_TIMEOUT) {
		/* Cancelled or not, exactly one record comes for the tag. */
		kestrel_cancel(q->handle, tag);
		r = kestrel_queue_wait_tag(q, tag, rec, REC_WORDS * 8, KESTREL_FOREVER);
		if (r < 0)
			return r;
		return c->tag == tag ? 0 : -KE_INVALID;
	}
	if (c->tag != tag)
		return r < 0 ? r : -KE_INVALID; /* the submit failed: no record */
	return 0;
}

/* One request. `push` (or 0) goes with it; with `pull` the registry's
 * handle after a successful reply goes to *pulled. The reply is decoded
 * into *rp and entities (up to max). */
static int64_t request(struct kestrel_queue *q, kestrel_handle_t registry,
		       const struct reg_request *rq, kestrel_handle_t push,
		       kestrel_handle_t *pulled, struct reg_reply *rp, struct reg_entity *entities,
		       uint32_t max)
{
	uint8_t msg[REG_MSG_MAX]; /* copied by submit */
	size_t len = reg_encode_request(rq, msg, sizeof(msg));
	if (!len)
		return -KE_INVALID;
	struct kestrel_action a[5];
	uint32_t n = 0, recv;
	a[n++] = kestrel_act_offer(KESTREL_ACTF_NO_HANDLE);
	a[n++] = kestrel_on_conversation(kestrel_act_send(msg, len));
	if (push)
		a[n++] = kestrel_on_conversation(kestrel_act_push_handle(push, LANE_RIGHTS));
	recv = n;
	a[n++] = kestrel_on_conversation(kestrel_act_recv_inline(REG_MSG_MAX));
	if (pulled)
		a[n++] = kestrel_on_conversation(kestrel_act_pull_handle());
	uint64_t rec[REC_WORDS];
	int64_t r = call(q, registry, a, n, rec, REQUEST_TIMEOUT);
	if (r < 0)
		return r;
	const struct kestrel_completion *c = (const void *)rec;
	const struct kestrel_result *res = kestrel_results(c);
	if (c->count != n)
		return -KE_INVALID;
	if (res[recv].status != 0)
		return c->status < 0 ? c->status : res[recv].status;
	const void *data = kestrel_result_data(c, recv);
	if (!data)
		return -KE_INVALID;
	int err = reg_decode_reply(data, res[recv].length, rp, entities, max);
	if (pulled && res[recv + 1].status == 0) {
		/* A handle came only with a successful answer. */
		if (err == 0 && rp->status == 0)
			*pulled = res[recv + 1].handle;
		else
			kestrel_handle_close(res[recv + 1].handle);
	}
	if (err < 0)
		return err;
	if (rp->status < 0)
		return rp->status;
	if (pulled && res[recv + 1].status != 0)
		return res[recv + 1].status;
	return 0;
}

/* REGISTER and WATCH: a new stream, one end pushed, the other kept. */
static int64_t with_lane(struct kestrel_queue *q, kestrel_handle_t registry,
			 const struct reg_request *rq, struct reg_reply *rp, kestrel_handle_t *kept)
{
	kestrel_handle_t lanes[2];
	int64_t r = kestrel_stream_create(lanes);
	if (r < 0)
		return r;
	r = request(q, registry, rq, lanes[1], NULL, rp, NULL, 0);
	/* The registry holds the pushed end now (or never will). */
	kestrel_handle_close(lanes[1]);
	if (r < 0) {
		kestrel_handle_close(lanes[0]);
		return r;
	}
	*kept = lanes[0];
	return 0;
}

int64_t kestrel_registry_register(struct kestrel_queue *q, kestrel_handle_t registry,
				  const struct reg_props *props, uint64_t *id,
				  kestrel_handle_t *owner_lane)
{
	struct reg_request rq;
	memset(&rq, 0, sizeof(rq));
	rq.op = REG_OP_REGISTER;
	rq.props = *props;
	struct reg_reply rp;
	int64_t r = with_lane(q, registry, &rq, &rp, owner_lane);
	if (r == 0 && id)
		*id = rp.value;
	return r;
}

int64_t kestrel_registry_watch(struct kestrel_queue *q, kestrel_handle_t registry,
			       const struct reg_props *filter, kestrel_handle_t *watch_lane)
{
	struct reg_request rq;
	memset(&rq, 0, sizeof(rq));
	rq.op = REG_OP_WATCH;
	rq.props = *filter;
	struct reg_reply rp;
	return with_lane(q, registry, &rq, &rp, watch_lane);
}

int64_t kestrel_registry_query(struct kestrel_queue *q, kestrel_handle_t registry,
			       const struct reg_props *filter, struct reg_entity *out, uint32_t max)
{
	struct reg_request rq;
	memset(&rq, 0, sizeof(rq));
	rq.op = REG_OP_QUERY;
	rq.props = *filter;
	uint32_t found = 0;
	for (;;) {
		struct reg_reply rp;
		uint32_t room = found < max ? max - found : 0;
		int64_t r =
			request(q, registry, &rq, 0, NULL, &rp, room ? out + found : NULL, room);
		if (r < 0)
			return r;
		found += rp.count;
		if (!(rp.flags & REG_REPLY_MORE))
			return found;
		/* The cursor must move on, or a broken registry loops us forever. */
		if (rp.value <= rq.id || !rp.count)
			return -KE_INVALID;
		rq.id = rp.value;
	}
}

int64_t kestrel_registry_connect(struct kestrel_queue *q, kestrel_handle_t registry, uint64_t id,
				 kestrel_handle_t *lane)
{
	struct reg_request rq;
	memset(&rq, 0, sizeof(rq));
	rq.op = REG_OP_CONNECT;
	rq.id = id;
	struct reg_reply rp;
	*lane = 0;
	int64_t r = request(q, registry, &rq, 0, lane, &rp, NULL, 0);
	if (r == 0 && *lane <= 0)
		return -KE_INVALID;
	return r;
}

/* One event from an outbox lane: [OFFER, RECV event, (PULL lane)]. */
static int64_t next_event(struct kestrel_queue *q, kestrel_handle_t lane, struct reg_event *ev,
			  kestrel_handle_t *pulled, uint64_t timeout_ns)
{
	struct kestrel_action a[3] = {
		kestrel_act_offer(KESTREL_ACTF_NO_HANDLE),
		kestrel_on_conversation(kestrel_act_recv_inline(REG_MSG_MAX)),
		kestrel_on_conversation(kestrel_act_pull_handle()),
	};
	uint32_t n = pulled ? 3 : 2;
	uint64_t rec[REC_WORDS];
	int64_t r = call(q, lane, a, n, rec, timeout_ns);
	if (r < 0)
		return r;
	const struct kestrel_completion *c = (const void *)rec;
	const struct kestrel_result *res = kestrel_results(c);
	if (c->count != n)
		return -KE_INVALID;
	if (pulled && res[2].status == 0)
		*pulled = res[2].handle;
	if (c->status < 0) {
		if (pulled && res[2].status == 0)
			kestrel_handle_close(*pulled);
		return c->status == -KE_CANCELLED ? -KE_TIMEOUT : c->status;
	}
	const void *data = kestrel_result_data(c, 1);
	int err = data ? reg_decode_event(data, res[1].length, ev) : -KE_INVALID;
	bool want = pulled ? ev->op == REG_OP_CONNECTION
			   : ev->op == REG_OP_ADDED || ev->op == REG_OP_REMOVED;
	if (err < 0 || !want) {
		if (pulled)
			kestrel_handle_close(*pulled);
		return err < 0 ? err : -KE_INVALID;
	}
	return 0;
}

int64_t kestrel_registry_next_event(struct kestrel_queue *q, kestrel_handle_t watch_lane,
				    struct reg_event *ev, uint64_t timeout_ns)
{
	return next_event(q, watch_lane, ev, NULL, timeout_ns);
}

int64_t kestrel_registry_next_connection(struct kestrel_queue *q, kestrel_handle_t owner_lane,
					 struct reg_event *ev, kestrel_handle_t *lane,
					 uint64_t timeout_ns)
{
	struct reg_event scratch;
	*lane = 0;
	return next_event(q, owner_lane, ev ? ev : &scratch, lane, timeout_ns);
}
