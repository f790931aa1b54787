/*
 * The registry: init's directory of entities (services, devices), served
 * on the lanes init gives every program it starts (docs/registry.md, the
 * messages in protocols/registry.h).
 *
 * It is an event handler, not a loop: the registry submits into init's one
 * completion queue with tags that registry_owns() recognises, and whoever
 * reads that queue (supervise() in testrun.c) hands those records to
 * registry_handle(). Nothing here blocks, so init keeps supervising its
 * programs while it serves them.
 *
 * Lanes and what is pending on them:
 *   client lane   one [ACCEPT, RECV_INLINE request] at a time; each
 *                 request is answered on its conversation, which is
 *                 closed when the answer's record comes back.
 *   owner lane    (one per entity, pushed with REGISTER) and
 *   watch lane    (one per watch, pushed with WATCH) form an "outbox": an
 *                 ACCEPT is always pending, the peer OFFERs a
 *                 conversation each time it is ready for one event, and
 *                 events wait in init's memory (at most REG_MAX_QUEUED)
 *                 until such a conversation is there. The pending ACCEPT
 *                 ending with KE_END_OF_LANE is how we learn that the
 *                 owner or watcher is gone: its entity is removed at once
 *                 (watchers get REMOVED) or its watch dropped.
 * Every request is untrusted: it is decoded by protocols/registry.c, and a
 * malformed one gets an error reply; nothing a client sends can end init.
 */
#include <kestrel/calls.h>
#include <kestrel/ipc.h>
#include <registry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "init.h"

_Static_assert(REG_MSG_MAX <= KESTREL_MAX_INLINE, "a request must fit one RECV_INLINE");

#define MAX_CLIENTS 16 /* each pending accept reserves ~8 KiB of the 256 KiB queue */
#define READY_MAX 4 /* conversations an owner/watcher may have waiting */

#define LANE_RIGHTS                                                                            \
	(KESTREL_RIGHT_READ | KESTREL_RIGHT_WRITE | KESTREL_RIGHT_TRANSFER |                    \
	 KESTREL_RIGHT_DUPLICATE)

/* Tags: 'R' in the top byte, a kind, a slot, and 32 low bits (a
 * generation or a handle). */
#define TAG_MARK (0x52ull << 56)
#define TAG_MAKE(kind, slot, low)                                                              \
	(TAG_MARK | ((uint64_t)(kind) << 48) | ((uint64_t)(slot) << 32) | (uint32_t)(low))
#define TAG_KIND(t) ((unsigned)(((t) >> 48) & 0xff))
#define TAG_SLOT(t) ((unsigned)(((t) >> 32) & 0xffff))
#define TAG_LOW(t) ((uint32_t)(t))

enum tag_kind {
	K_CLIENT = 1,       /* slot: client; low: generation */
	K_REPLY = 2,        /* low: the conversation; nothing received */
	K_REPLY_PULLED = 3, /* [PULL, SEND]: low: the conversation; close what was pulled */
	K_REGISTER = 4,     /* [PULL, SEND]: slot: entity; low: the conversation */
	K_WATCH = 5,        /* [PULL, SEND]: slot: watch; low: the conversation */
	K_OUT_ACCEPT = 6,   /* slot: outbox; low: generation */
	K_OUT_SEND = 7,     /* slot: outbox; low: the conversation */
};

#define WATCH_SLOT(i) (0x100u + (i)) /* outbox slots: entities, then watches */

struct event {
	struct event *next;
	kestrel_handle_t handle; /* pushed with it (CONNECTION), or 0 */
	kestrel_handle_t conv;   /* in flight: the conversation it went out on */
	uint32_t length;
	uint8_t msg[];
};

/* Where the registry sends events: an owner lane or a watch lane. */
struct outbox {
	kestrel_handle_t lane; /* 0: closed */
	uint32_t gen;
	bool closing;          /* lane closed by us; the ACCEPT's end frees it */
	kestrel_handle_t ready[READY_MAX];
	uint32_t nready;
	struct event *head, *tail;
	uint32_t queued;
	struct event *inflight; /* sent, the send's record not yet back */
};

enum slot_state { FREE, PENDING, LIVE };

struct entity {
	enum slot_state state;
	uint64_t id;
	uint64_t serial; /* connections made */
	struct reg_props props;
	struct outbox out;
};

/* What existed when the watch began is told as the watcher reads (the
 * backlog: ids in (told, backlog_end]), so that a watch on many entities
 * does not overflow at once; entities registered later are told as they
 * come. */
struct watch {
	enum slot_state state;
	struct reg_props filter;
	struct outbox out;
	uint64_t told;        /* backlog: ids up to here have been queued */
	uint64_t backlog_end; /* the last id that existed when the watch began */
};

struct client {
	kestrel_handle_t lane; /* 0: free */
	uint32_t gen;
};

static struct kestrel_queue *queue;
static struct entity entities[REG_MAX_ENTITIES];
static struct watch watches[REG_MAX_WATCHES];
static struct client clients[MAX_CLIENTS];
static uint64_t next_id = 1;

static struct reg_event scratch_event; /* big: kept off the stack */
static uint8_t scratch_msg[REG_MSG_MAX];

static void outbox_moved(unsigned slot);

static void note(const char *what, int64_t r)
{
	printf("init: registry: %s: %s\n", what, kestrel_error_name(r));
}

bool registry_owns(uint64_t tag)
{
	return (tag >> 56) == (TAG_MARK >> 56);
}

/* ---- Outboxes ---- */

static struct outbox *outbox_of(unsigned slot)
{
	if (slot < REG_MAX_ENTITIES)
		return &entities[slot].out;
	if (slot >= WATCH_SLOT(0) && slot < WATCH_SLOT(REG_MAX_WATCHES))
		return &watches[slot - WATCH_SLOT(0)].out;
	return NULL;
}

static int64_t outbox_accept(struct outbox *ob, unsigned slot)
{
	struct kestrel_action a = kestrel_act_accept(0);
	return kestrel_submit(ob->lane, queue->handle, &a, 1,
			      TAG_MAKE(K_OUT_ACCEPT, slot, ob->gen));
}

static void event_free(struct event *e)
{
	if (e->handle)
		kestrel_handle_close(e->handle);
	free(e);
}

static void outbox_drop_events(struct outbox *ob)
{
	while (ob->head) {
		struct event *e = ob->head;
		ob->head = e->next;
		event_free(e);
	}
	ob->tail = NULL;
	ob->queued = 0;
	/* Their sends still complete; on_outbox_send() then finds nothing. */
	while (ob->inflight) {
		struct event *e = ob->inflight;
		ob->inflight = e->next;
		event_free(e);
	}
}

/* Release everything; the slot's owner marks itself free. */
static void outbox_release(struct outbox *ob)
{
	for (uint32_t i = 0; i < ob->nready; i++)
		kestrel_handle_close(ob->ready[i]);
	ob->nready = 0;
	outbox_drop_events(ob);
	if (ob->lane)
		kestrel_handle_close(ob->lane);
	ob->lane = 0;
	ob->closing = false;
	ob->gen++;
}

static void outbox_push_front(struct outbox *ob, struct event *e)
{
	e->next = ob->head;
	ob->head = e;
	if (!ob->tail)
		ob->tail = e;
	ob->queued++;
}

/* Give the peer what is queued, one event per conversation it offered.
 * An event stays ours until its send's record says it arrived: a peer
 * may give up a conversation it offered (a wait that timed out), and the
 * event then goes to the next one instead of being lost. */
static void outbox_flush(struct outbox *ob, unsigned slot)
{
	while (ob->head && ob->nready) {
		struct event *e = ob->head;
		ob->head = e->next;
		if (!ob->head)
			ob->tail = NULL;
		ob->queued--;
		kestrel_handle_t conv = ob->ready[--ob->nready];
		struct kestrel_action a[2] = {kestrel_act_send(e->msg, e->length),
					      kestrel_act_push_handle(e->handle, LANE_RIGHTS)};
		int64_t r = kestrel_submit(conv, queue->handle, a, e->handle ? 2 : 1,
					   TAG_MAKE(K_OUT_SEND, slot, conv));
		if (r < 0) {
			note("sending an event", r);
			kestrel_handle_close(conv);
			outbox_push_front(ob, e);
			return; /* try again with the next offer */
		}
		e->conv = conv;
		e->next = ob->inflight;
		ob->inflight = e;
	}
}

static void on_outbox_send(const struct kestrel_completion *c)
{
	kestrel_handle_t conv = (kestrel_handle_t)TAG_LOW(c->tag);
	struct outbox *ob = outbox_of(TAG_SLOT(c->tag));
	/* The conversation number stays ours until this close, so it names
	 * the event unambiguously. */
	kestrel_handle_close(conv);
	if (!ob)
		return;
	for (struct event **pe = &ob->inflight; *pe; pe = &(*pe)->next) {
		struct event *e = *pe;
		if (e->conv != conv)
			continue;
		*pe = e->next;
		if (c->status == 0 || !ob->lane || ob->closing) {
			event_free(e);
		} else {
			outbox_push_front(ob, e);
			outbox_flush(ob, TAG_SLOT(c->tag));
		}
		outbox_moved(TAG_SLOT(c->tag));
		return;
	}
}

/* Queue an event (taking `handle`); false if the outbox is full or memory
 * is short (the handle is closed). */
static bool outbox_put(struct outbox *ob, unsigned slot, const void *msg, size_t length,
		       kestrel_handle_t handle)
{
	struct event *e = NULL;
	if (ob->lane && !ob->closing && ob->queued < REG_MAX_QUEUED)
		e = malloc(sizeof(*e) + length);
	if (!e) {
		if (handle)
			kestrel_handle_close(handle);
		return false;
	}
	e->next = NULL;
	e->handle = handle;
	e->length = (uint32_t)length;
	memcpy(e->msg, msg, length);
	if (ob->tail)
		ob->tail->next = e;
	else
		ob->head = e;
	ob->tail = e;
	ob->queued++;
	outbox_flush(ob, slot);
	return true;
}

/* A watcher that cannot keep up loses its watch: closing our end fails
 * the pending ACCEPT, whose record then frees the slot. The watcher sees
 * its lane end and may watch again (and query for what it missed). */
static void watch_overflow(struct watch *w)
{
	if (w->out.lane && !w->out.closing) {
		kestrel_handle_close(w->out.lane);
		w->out.lane = 0;
		w->out.closing = true;
	}
}

/* Tell every watch whose filter matches `e` about it. */
static void notify_watches(const struct entity *e, uint16_t op, struct watch *only)
{
	struct reg_event *ev = &scratch_event;
	memset(ev, 0, sizeof(*ev));
	ev->op = op;
	ev->id = e->id;
	ev->props = e->props;
	size_t n = reg_encode_event(ev, scratch_msg, sizeof(scratch_msg));
	if (!n)
		return;
	for (unsigned i = 0; i < REG_MAX_WATCHES; i++) {
		struct watch *w = &watches[i];
		if (w->state != LIVE || (only && w != only) ||
		    !reg_props_match(&e->props, &w->filter))
			continue;
		/* Not told yet (still in the backlog): then not gone either. */
		if (op == REG_OP_REMOVED && e->id > w->told && e->id <= w->backlog_end)
			continue;
		if (!outbox_put(&w->out, WATCH_SLOT(i), scratch_msg, n, 0))
			watch_overflow(w);
	}
}

/* Queue more of a watch's backlog (oldest first) while its queue is short. */
static void watch_fill(struct watch *w)
{
	while (w->state == LIVE && !w->out.closing && w->told < w->backlog_end &&
	       w->out.queued < REG_MAX_QUEUED / 2) {
		const struct entity *next = NULL;
		for (unsigned i = 0; i < REG_MAX_ENTITIES; i++) {
			const struct entity *e = &entities[i];
			if (e->state == LIVE && e->id > w->told && e->id <= w->backlog_end &&
			    (!next || e->id < next->id) && reg_props_match(&e->props, &w->filter))
				next = e;
		}
		if (!next) {
			w->told = w->backlog_end;
			break;
		}
		w->told = next->id; /* first: notify skips what is not yet told */
		notify_watches(next, REG_OP_ADDED, w);
	}
}

/* After an outbox moved: a watch may take more of its backlog. */
static void outbox_moved(unsigned slot)
{
	if (slot >= WATCH_SLOT(0) && slot < WATCH_SLOT(REG_MAX_WATCHES))
		watch_fill(&watches[slot - WATCH_SLOT(0)]);
}

static void entity_remove(struct entity *e)
{
	bool was_live = e->state == LIVE;
	outbox_release(&e->out);
	e->state = FREE;
	if (was_live)
		notify_watches(e, REG_OP_REMOVED, NULL);
}

static void watch_remove(struct watch *w)
{
	outbox_release(&w->out);
	w->state = FREE;
}

static void outbox_gone(unsigned slot)
{
	if (slot < REG_MAX_ENTITIES)
		entity_remove(&entities[slot]);
	else
		watch_remove(&watches[slot - WATCH_SLOT(0)]);
}

static void on_outbox_accept(const struct kestrel_completion *c)
{
	const struct kestrel_result *r = kestrel_results(c);
	unsigned slot = TAG_SLOT(c->tag);
	struct outbox *ob = outbox_of(slot);
	bool got = c->count >= 1 && r[0].status == 0 && r[0].handle > 0;
	if (!ob || ob->gen != TAG_LOW(c->tag)) {
		if (got)
			kestrel_handle_close(r[0].handle);
		return;
	}
	if (got && ob->closing) {
		kestrel_handle_close(r[0].handle);
	} else if (got) {
		/* Full: the oldest offer goes (its peer may have given it up
		 * long ago); the newest is the likeliest to be listened on. */
		if (ob->nready == READY_MAX) {
			kestrel_handle_close(ob->ready[0]);
			memmove(ob->ready, ob->ready + 1, (READY_MAX - 1) * sizeof(ob->ready[0]));
			ob->nready--;
		}
		ob->ready[ob->nready++] = r[0].handle;
	}
	if (ob->closing || c->status == -KE_END_OF_LANE) {
		outbox_gone(slot);
		return;
	}
	/* Anything else (the peer sent something other than an OFFER) costs
	 * the peer that action only. */
	int64_t s = outbox_accept(ob, slot);
	if (s < 0) {
		note("posting an accept on an outbox", s);
		outbox_gone(slot);
		return;
	}
	outbox_flush(ob, slot);
	outbox_moved(slot);
}

/* ---- Requests ---- */

static void reply(kestrel_handle_t conv, const void *msg, size_t length, kestrel_handle_t push,
		  bool pull, uint64_t tag)
{
	struct kestrel_action a[2];
	uint32_t n = 0;
	if (pull)
		a[n++] = kestrel_act_pull_handle();
	a[n++] = kestrel_act_send(msg, length);
	if (push)
		a[n++] = kestrel_act_push_handle(push, LANE_RIGHTS);
	int64_t r = kestrel_submit(conv, queue->handle, a, n, tag);
	if (r < 0) {
		note("replying", r);
		kestrel_handle_close(conv);
	}
}

static void reply_status(kestrel_handle_t conv, int32_t status, bool pull)
{
	uint8_t msg[sizeof(struct reg_reply_head)];
	size_t n = reg_reply_begin(msg, sizeof(msg), status, 0);
	reply(conv, msg, n, 0, pull, TAG_MAKE(pull ? K_REPLY_PULLED : K_REPLY, 0, conv));
}

static void do_register(kestrel_handle_t conv, const struct reg_request *rq)
{
	struct entity *e = NULL;
	for (unsigned i = 0; i < REG_MAX_ENTITIES && !e; i++)
		if (entities[i].state == FREE)
			e = &entities[i];
	if (!e) {
		reply_status(conv, -KE_LIMIT, true);
		return;
	}
	/* PENDING until the owner lane is pulled: invisible to queries. */
	e->state = PENDING;
	e->id = next_id++;
	e->serial = 0;
	e->props = rq->props;
	uint8_t msg[sizeof(struct reg_reply_head)];
	size_t n = reg_reply_begin(msg, sizeof(msg), 0, e->id);
	struct kestrel_action a[2] = {kestrel_act_pull_handle(), kestrel_act_send(msg, n)};
	int64_t r = kestrel_submit(conv, queue->handle, a, 2,
				   TAG_MAKE(K_REGISTER, (unsigned)(e - entities), conv));
	if (r < 0) {
		note("register", r);
		e->state = FREE;
		kestrel_handle_close(conv);
	}
}

static void on_register(const struct kestrel_completion *c)
{
	const struct kestrel_result *r = kestrel_results(c);
	unsigned slot = TAG_SLOT(c->tag);
	kestrel_handle_close((kestrel_handle_t)TAG_LOW(c->tag));
	if (slot >= REG_MAX_ENTITIES || entities[slot].state != PENDING) {
		if (c->count >= 1 && r[0].status == 0)
			kestrel_handle_close(r[0].handle);
		return;
	}
	struct entity *e = &entities[slot];
	if (c->count < 1 || r[0].status != 0) {
		e->state = FREE; /* nothing was pushed: the client saw the failure */
		return;
	}
	e->out.lane = r[0].handle;
	/* A failed reply means the client is gone; its entity stays only if
	 * the owner lane works (and it is removed once that ends). */
	if (outbox_accept(&e->out, slot) < 0) {
		outbox_release(&e->out);
		e->state = FREE;
		return;
	}
	e->state = LIVE;
	notify_watches(e, REG_OP_ADDED, NULL);
}

static void do_watch(kestrel_handle_t conv, const struct reg_request *rq)
{
	struct watch *w = NULL;
	for (unsigned i = 0; i < REG_MAX_WATCHES && !w; i++)
		if (watches[i].state == FREE)
			w = &watches[i];
	if (!w) {
		reply_status(conv, -KE_LIMIT, true);
		return;
	}
	w->state = PENDING;
	w->filter = rq->props;
	uint8_t msg[sizeof(struct reg_reply_head)];
	size_t n = reg_reply_begin(msg, sizeof(msg), 0, 0);
	struct kestrel_action a[2] = {kestrel_act_pull_handle(), kestrel_act_send(msg, n)};
	int64_t r = kestrel_submit(conv, queue->handle, a, 2,
				   TAG_MAKE(K_WATCH, (unsigned)(w - watches), conv));
	if (r < 0) {
		note("watch", r);
		w->state = FREE;
		kestrel_handle_close(conv);
	}
}

static void on_watch(const struct kestrel_completion *c)
{
	const struct kestrel_result *r = kestrel_results(c);
	unsigned slot = TAG_SLOT(c->tag);
	kestrel_handle_close((kestrel_handle_t)TAG_LOW(c->tag));
	if (slot >= REG_MAX_WATCHES || watches[slot].state != PENDING) {
		if (c->count >= 1 && r[0].status == 0)
			kestrel_handle_close(r[0].handle);
		return;
	}
	struct watch *w = &watches[slot];
	if (c->count < 1 || r[0].status != 0) {
		w->state = FREE;
		return;
	}
	w->out.lane = r[0].handle;
	if (outbox_accept(&w->out, WATCH_SLOT(slot)) < 0) {
		watch_remove(w);
		return;
	}
	w->state = LIVE;
	w->told = 0;
	w->backlog_end = next_id - 1;
	watch_fill(w);
}

static void do_query(kestrel_handle_t conv, const struct reg_request *rq)
{
	uint8_t *msg = scratch_msg;
	size_t len = reg_reply_begin(msg, REG_MSG_MAX, 0, rq->id);
	uint64_t last = rq->id;
	/* Ascending ids after the cursor, as many as fit; the client asks
	 * again from the last one while REG_REPLY_MORE is set. */
	for (;;) {
		const struct entity *next = NULL;
		for (unsigned i = 0; i < REG_MAX_ENTITIES; i++) {
			const struct entity *e = &entities[i];
			if (e->state == LIVE && e->id > last && (!next || e->id < next->id) &&
			    reg_props_match(&e->props, &rq->props))
				next = e;
		}
		if (!next)
			break;
		if (!reg_reply_add(msg, REG_MSG_MAX, &len, next->id, &next->props)) {
			reg_reply_set_more(msg);
			break;
		}
		last = next->id;
	}
	struct reg_reply_head rh;
	memcpy(&rh, msg, sizeof(rh));
	rh.value = last;
	memcpy(msg, &rh, sizeof(rh));
	reply(conv, msg, len, 0, false, TAG_MAKE(K_REPLY, 0, conv));
}

static void do_connect(kestrel_handle_t conv, const struct reg_request *rq)
{
	struct entity *e = NULL;
	for (unsigned i = 0; i < REG_MAX_ENTITIES && !e; i++)
		if (entities[i].state == LIVE && entities[i].id == rq->id)
			e = &entities[i];
	if (!e) {
		reply_status(conv, -KE_NOT_FOUND, false);
		return;
	}
	if (e->out.queued >= REG_MAX_QUEUED) {
		reply_status(conv, -KE_BUSY, false); /* the owner is not taking connections */
		return;
	}
	kestrel_handle_t lanes[2];
	int64_t r = kestrel_stream_create(lanes);
	if (r < 0) {
		reply_status(conv, (int32_t)r, false);
		return;
	}
	struct reg_event *ev = &scratch_event;
	memset(ev, 0, sizeof(*ev));
	ev->op = REG_OP_CONNECTION;
	ev->id = e->id;
	ev->serial = ++e->serial;
	uint8_t msg[64];
	size_t n = reg_encode_event(ev, msg, sizeof(msg));
	if (!n || !outbox_put(&e->out, (unsigned)(e - entities), msg, n, lanes[0])) {
		kestrel_handle_close(lanes[1]);
		reply_status(conv, -KE_BUSY, false);
		return;
	}
	uint8_t ok[sizeof(struct reg_reply_head)];
	size_t okn = reg_reply_begin(ok, sizeof(ok), 0, e->id);
	reply(conv, ok, okn, lanes[1], false, TAG_MAKE(K_REPLY, 0, conv));
	kestrel_handle_close(lanes[1]); /* the reply chain holds it */
}

static void handle_request(kestrel_handle_t conv, const void *data, size_t len)
{
	/* The op alone decides whether a handle was pushed: pull it even if
	 * the rest is malformed, so the error reply meets the client's RECV. */
	uint16_t op = reg_peek_op(data, len);
	bool pushed = op == REG_OP_REGISTER || op == REG_OP_WATCH;
	static struct reg_request rq;
	int err = reg_decode_request(data, len, &rq);
	if (err < 0) {
		reply_status(conv, err, pushed);
		return;
	}
	switch (rq.op) {
	case REG_OP_REGISTER:
		do_register(conv, &rq);
		break;
	case REG_OP_QUERY:
		do_query(conv, &rq);
		break;
	case REG_OP_WATCH:
		do_watch(conv, &rq);
		break;
	case REG_OP_CONNECT:
		do_connect(conv, &rq);
		break;
	}
}

/* ---- Client lanes ---- */

static int64_t client_accept(unsigned i)
{
	struct kestrel_action a[2] = {
		kestrel_act_accept(0),
		kestrel_on_conversation(kestrel_act_recv_inline(REG_MSG_MAX)),
	};
	return kestrel_submit(clients[i].lane, queue->handle, a, 2,
			      TAG_MAKE(K_CLIENT, i, clients[i].gen));
}

static void client_free(unsigned i)
{
	kestrel_handle_close(clients[i].lane);
	clients[i].lane = 0;
	clients[i].gen++;
}

static void on_client(const struct kestrel_completion *c)
{
	const struct kestrel_result *r = kestrel_results(c);
	unsigned i = TAG_SLOT(c->tag);
	bool conv_ok = c->count >= 1 && r[0].status == 0 && r[0].handle > 0;
	if (i >= MAX_CLIENTS || !clients[i].lane || clients[i].gen != TAG_LOW(c->tag)) {
		if (conv_ok)
			kestrel_handle_close(r[0].handle);
		return;
	}
	if (!conv_ok) {
		if (c->status == -KE_END_OF_LANE) {
			client_free(i); /* the program is gone */
			return;
		}
	} else if (c->count < 2 || r[1].status != 0) {
		/* No request came (too big, or the client's chain failed): the
		 * kernel has told the client; just drop the conversation. */
		kestrel_handle_close(r[0].handle);
		conv_ok = false;
	}
	/* Serve the next request on this lane first, then this one. */
	int64_t s = client_accept(i);
	if (s < 0) {
		note("posting an accept", s);
		client_free(i);
	}
	if (conv_ok) {
		const void *data = kestrel_result_data(c, 1);
		if (data)
			handle_request(r[0].handle, data, r[1].length);
		else
			kestrel_handle_close(r[0].handle);
	}
}

/* ---- The interface to the rest of init ---- */

void registry_init(struct kestrel_queue *q)
{
	queue = q;
}

int64_t registry_add_client(kestrel_handle_t *child_lane)
{
	unsigned i = 0;
	while (i < MAX_CLIENTS && clients[i].lane)
		i++;
	if (i == MAX_CLIENTS || !queue)
		return -KE_LIMIT;
	kestrel_handle_t lanes[2];
	int64_t r = kestrel_stream_create(lanes);
	if (r < 0)
		return r;
	clients[i].lane = lanes[0];
	r = client_accept(i);
	if (r < 0) {
		client_free(i);
		kestrel_handle_close(lanes[1]);
		return r;
	}
	*child_lane = lanes[1];
	return 0;
}

void registry_handle(const struct kestrel_completion *c)
{
	switch (TAG_KIND(c->tag)) {
	case K_CLIENT:
		on_client(c);
		break;
	case K_REPLY_PULLED:
		if (c->count >= 1 && kestrel_results(c)[0].status == 0)
			kestrel_handle_close(kestrel_results(c)[0].handle);
		/* fall through */
	case K_REPLY:
		/* The answer went out (or the peer is gone): the conversation is over. */
		kestrel_handle_close((kestrel_handle_t)TAG_LOW(c->tag));
		break;
	case K_OUT_SEND:
		on_outbox_send(c);
		break;
	case K_REGISTER:
		on_register(c);
		break;
	case K_WATCH:
		on_watch(c);
		break;
	case K_OUT_ACCEPT:
		on_outbox_accept(c);
		break;
	}
}
