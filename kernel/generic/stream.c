/*
 * Streams and action chains (see <kestrel/stream.h>; kernel glue in ipc.h).
 *
 * A stream has two lanes. Each lane keeps a FIFO of operations whose
 * current action waits for a counterpart from the other lane, in the
 * order the actions were issued. Whenever both FIFOs have a head, the two
 * heads meet; so outside of pairing at most one FIFO is non-empty.
 *
 * An operation (a submitted chain) is driven by op_run(): its current
 * action is queued on its lane and, unless someone else is pairing that
 * stream, it pairs the heads itself (stream_pair_heads). Pairing completes
 * one action on each side *outside* the lock — copying into the
 * receiver's memory, installing a pushed handle — then a chain whose next
 * action is on the same lane goes back to the head of its FIFO (it was
 * issued before anything behind it), and the others go on elsewhere (their
 * conversation) or complete. Whoever pairs drives both sides: the second
 * party to arrive does the work, in its own system call.
 *
 * Data to send is copied from the sender's memory when it submits (so the
 * sender's buffer may be reused at once and nothing of the sender's space
 * is needed later); pushed handles are resolved at submission too.
 *
 * Lifetime: a lane's kobject counts its handles (and short lookups); when
 * it drops to zero the lane is closed: operations waiting on either lane
 * fail with KE_END_OF_LANE, and so does every later action on the peer.
 * The stream itself lives while a lane is open or an operation refers to
 * it. A process that dies closes its lane handles with its handle table,
 * which is how a peer learns of its death.
 *
 * Lock: stream->lock (LOCK_ORDER_STREAM) guards both lanes' FIFOs and
 * closed flags; queue locks come after it; no copy, handle install or
 * kobject_put happens under it.
 */
#include <kestrel/error.h>
#include <kestrel/queue.h>
#include <kestrel/stream.h>

#include "handle.h"
#include "ipc.h"
#include "kstring.h"
#include "log.h"
#include "panic.h"
#include "slab.h"
#include "space.h"
#include "spinlock.h"
#include "usercopy.h"
#include "uthread.h"

struct stream;

struct lane {
	struct kobject obj; /* KESTREL_OBJ_LANE: handles and lookups */
	struct stream *stream;
	uint32_t side;
	bool closed;
	struct stream_op *head, *tail; /* operations waiting on this lane */
};

struct stream {
	struct kobject obj; /* one reference per open lane and per operation */
	struct spinlock lock;
	bool pairing; /* someone is pairing the FIFOs' heads (lock held to change) */
	struct lane lanes[2];
};

struct stream_op {
	struct queue_pending pending;
	struct queue *queue;
	struct stream *stream; /* the lane the chain was submitted on */
	uint32_t side;
	struct stream *conv;   /* the chain's conversation, once offered/accepted */
	uint32_t conv_side;
	struct space *space;
	struct handle_table *table;
	struct stream_op *next; /* in a lane's FIFO */
	uint32_t count, current;
	int32_t failed; /* 0 or -KE_* */
	/* Per action, `count` of each, in the same allocation after the
	 * struct (op_alloc): sized by the chain, a typical one- or two-action
	 * operation fits a small slab class instead of taking a page. */
	struct kestrel_action *actions;
	void **data;                 /* SEND: the message */
	struct kobject **pushed;     /* PUSH_HANDLE: the object */
	uint32_t *data_len;
	uint32_t *pushed_rights;
	uint32_t *inline_offset;     /* RECV_INLINE, READ_CREDS */
	uint8_t *record;
	uint32_t record_len;
};

/* A zeroed operation with room for `count` actions. Largest-aligned arrays
 * first, so each stays aligned. */
static struct stream_op *op_alloc(uint32_t count)
{
	size_t per_action = sizeof(struct kestrel_action) + 2 * sizeof(void *) + 3 * sizeof(uint32_t);
	struct stream_op *op = kzalloc(sizeof(*op) + count * per_action);
	if (!op)
		return 0;
	op->count = count;
	op->actions = (struct kestrel_action *)(op + 1);
	op->data = (void **)(op->actions + count);
	op->pushed = (struct kobject **)(op->data + count);
	op->data_len = (uint32_t *)(op->pushed + count);
	op->pushed_rights = op->data_len + count;
	op->inline_offset = op->pushed_rights + count;
	return op;
}

static struct kestrel_result *op_results(struct stream_op *op)
{
	return (struct kestrel_result *)(op->record + sizeof(struct kestrel_completion));
}

static void stream_get(struct stream *s)
{
	kobject_get(&s->obj);
}

static void stream_put(struct stream *s)
{
	kobject_put(&s->obj);
}

static void stream_destroy(struct kobject *obj)
{
	kfree(obj);
}

static void lane_closed(struct kobject *obj);

static struct stream *stream_new(void)
{
	struct stream *s = kzalloc(sizeof(*s));
	if (!s)
		return 0;
	kobject_init(&s->obj, KESTREL_OBJ_NONE, stream_destroy);
	kobject_get(&s->obj); /* one per lane */
	spin_init(&s->lock, "stream", LOCK_ORDER_STREAM);
	for (uint32_t i = 0; i < 2; i++) {
		kobject_init(&s->lanes[i].obj, KESTREL_OBJ_LANE, lane_closed);
		s->lanes[i].stream = s;
		s->lanes[i].side = i;
	}
	return s;
}

/* ---- the FIFOs (stream lock held) ---- */

static void fifo_push(struct lane *l, struct stream_op *op)
{
	op->next = 0;
	if (l->tail)
		l->tail->next = op;
	else
		l->head = op;
	l->tail = op;
}

static void fifo_push_head(struct lane *l, struct stream_op *op)
{
	op->next = l->head;
	l->head = op;
	if (!l->tail)
		l->tail = op;
}

static struct stream_op *fifo_pop(struct lane *l)
{
	struct stream_op *op = l->head;
	if (op) {
		l->head = op->next;
		if (!l->head)
			l->tail = 0;
		op->next = 0;
	}
	return op;
}

static bool fifo_remove(struct lane *l, struct stream_op *op)
{
	struct stream_op *prev = 0;
	for (struct stream_op *o = l->head; o; prev = o, o = o->next) {
		if (o != op)
			continue;
		if (prev)
			prev->next = o->next;
		else
			l->head = o->next;
		if (l->tail == o)
			l->tail = prev;
		o->next = 0;
		return true;
	}
	return false;
}

/* ---- completing ---- */

static void op_release(struct stream_op *op)
{
	for (uint32_t i = 0; i < op->count; i++) {
		kfree(op->data[i]);
		if (op->pushed[i])
			kobject_put(op->pushed[i]);
	}
	if (op->conv) {
		/* The chain's own reference to its conversation lane: with
		 * NO_HANDLE (or if no handle could be installed) this closes it. */
		kobject_put(&op->conv->lanes[op->conv_side].obj);
		stream_put(op->conv);
	}
	stream_put(op->stream);
	kobject_put((struct kobject *)op->space);
	handle_table_release(op->table);
	queue_put(op->queue);
	kfree(op->record);
	kfree(op);
}

static void op_complete(struct stream_op *op)
{
	struct kestrel_completion *c = (struct kestrel_completion *)op->record;
	struct kestrel_result *r = op_results(op);
	for (uint32_t i = op->current; i < op->count; i++)
		r[i].status = op->failed ? op->failed : -KE_CANCELLED;
	c->rec.length = op->record_len;
	c->rec.kind = KESTREL_REC_SUBMISSION;
	c->tag = op->pending.tag;
	c->status = op->failed;
	c->count = op->count;
	queue_complete(op->queue, &op->pending, op->record, op->record_len, false);
	op_release(op);
}

/* ---- pairing ---- */

static bool is_send(uint32_t t)
{
	return t == KESTREL_ACT_SEND || t == KESTREL_ACT_SEND_VECTOR;
}

static bool is_recv(uint32_t t)
{
	return t == KESTREL_ACT_RECV_INLINE || t == KESTREL_ACT_RECV_BUFFER;
}

/* The action of `op` that `a` would meet; a pair is (giver, taker). */
static bool actions_match(uint32_t a, uint32_t b)
{
	return (is_send(a) && is_recv(b)) || (a == KESTREL_ACT_PUSH_HANDLE && b == KESTREL_ACT_PULL_HANDLE) ||
	       (a == KESTREL_ACT_ATTACH_CREDS && b == KESTREL_ACT_READ_CREDS) ||
	       (a == KESTREL_ACT_OFFER && b == KESTREL_ACT_ACCEPT);
}

static void finish_action(struct stream_op *op, int32_t status, int32_t handle, uint32_t length)
{
	struct kestrel_result *r = &op_results(op)[op->current];
	r->status = status;
	r->handle = handle;
	r->length = length;
	/* A failed action delivered no data: no offset, so a KE_TOO_BIG
	 * receive may report the size it would have needed as its length. */
	r->offset = status ? 0 : op->inline_offset[op->current];
	if (status && !op->failed)
		op->failed = status;
	op->current++;
}

/* The conversation lane handle for one side of an OFFER/ACCEPT. */
static int32_t give_conversation(struct stream_op *op, struct stream *conv, uint32_t side)
{
	op->conv = conv;
	op->conv_side = side;
	stream_get(conv);
	kobject_get(&conv->lanes[side].obj); /* the chain's own; dropped in op_release */
	if (op->actions[op->current].flags & KESTREL_ACTF_NO_HANDLE)
		return 0;
	int64_t h = handle_table_install(op->table, &conv->lanes[side].obj,
					 KESTREL_RIGHT_READ | KESTREL_RIGHT_WRITE |
						 KESTREL_RIGHT_TRANSFER | KESTREL_RIGHT_DUPLICATE);
	return (int32_t)h;
}

/* Complete the current actions of giver g and taker t, which met. Neither
 * is on any FIFO; no lock held. */
static void pair(struct stream_op *g, struct stream_op *t)
{
	const struct kestrel_action *ga = &g->actions[g->current];
	const struct kestrel_action *ta = &t->actions[t->current];
	uint32_t gi = g->current, ti = t->current;
	if (is_send(ga->type)) {
		uint32_t n = g->data_len[gi];
		if (n > ta->length) {
			finish_action(g, -KE_TOO_BIG, 0, 0);
			finish_action(t, -KE_TOO_BIG, 0, n);
			return;
		}
		int rc = 0;
		if (ta->type == KESTREL_ACT_RECV_INLINE)
			memcpy(t->record + t->inline_offset[ti], g->data[gi], n);
		else
			rc = space_copy_to(t->space, ta->buffer, g->data[gi], n);
		finish_action(g, 0, 0, n);
		finish_action(t, rc, 0, rc ? 0 : n);
		return;
	}
	if (ga->type == KESTREL_ACT_PUSH_HANDLE) {
		int64_t h = handle_table_install(t->table, g->pushed[gi], g->pushed_rights[gi]);
		finish_action(g, h < 0 ? (int32_t)h : 0, 0, 0);
		finish_action(t, h < 0 ? (int32_t)h : 0, h < 0 ? 0 : (int32_t)h, 0);
		return;
	}
	if (ga->type == KESTREL_ACT_ATTACH_CREDS) {
		memcpy(t->record + t->inline_offset[ti], &g->table->creds, sizeof(g->table->creds));
		finish_action(g, 0, 0, 0);
		finish_action(t, 0, 0, sizeof(g->table->creds));
		return;
	}
	/* OFFER meets ACCEPT: a new stream for the conversation. */
	struct stream *conv = stream_new();
	if (!conv) {
		finish_action(g, -KE_NO_MEMORY, 0, 0);
		finish_action(t, -KE_NO_MEMORY, 0, 0);
		return;
	}
	int32_t hg = give_conversation(g, conv, 0);
	int32_t ht = give_conversation(t, conv, 1);
	/* The creation references are now held by the two chains. */
	kobject_put(&conv->lanes[0].obj);
	kobject_put(&conv->lanes[1].obj);
	finish_action(g, hg < 0 ? hg : 0, hg > 0 ? hg : 0, 0);
	finish_action(t, ht < 0 ? ht : 0, ht > 0 ? ht : 0, 0);
}

/* Is op's current action one for lane `side` of stream s? */
static bool op_waits_on(struct stream_op *op, struct stream *s, uint32_t side)
{
	if (op->failed || op->current == op->count)
		return false;
	bool on_conv = op->actions[op->current].flags & KESTREL_ACTF_CONVERSATION;
	return on_conv ? op->conv == s && op->conv_side == side : op->stream == s && op->side == side;
}

/* Pair the two lanes' first operations for as long as both have one.
 * Caller holds s->lock and has set s->pairing (so arrivals only queue
 * themselves); the lock is dropped around each pair. An operation whose
 * next action is on the same lane goes back to the *head* of its FIFO:
 * its chain was issued before whatever waits behind it. Operations that
 * are done, failed, or move on to their conversation go to *work. */
static void stream_pair_heads(struct stream *s, struct stream_op **work)
{
	for (;;) {
		struct stream_op *x = s->lanes[0].head, *y = s->lanes[1].head;
		if (!x || !y)
			return;
		fifo_pop(&s->lanes[0]);
		fifo_pop(&s->lanes[1]);
		spin_unlock(&s->lock);
		uint32_t xt = x->actions[x->current].type, yt = y->actions[y->current].type;
		if (actions_match(xt, yt))
			pair(x, y);
		else if (actions_match(yt, xt))
			pair(y, x);
		else {
			finish_action(x, -KE_INVALID, 0, 0);
			finish_action(y, -KE_INVALID, 0, 0);
		}
		spin_lock(&s->lock);
		struct stream_op *both[2] = {y, x}; /* pushed in reverse: x ends up first */
		for (uint32_t i = 0; i < 2; i++) {
			struct stream_op *o = both[i];
			uint32_t side = o == x ? 0 : 1;
			if (!s->lanes[0].closed && !s->lanes[1].closed && op_waits_on(o, s, side)) {
				fifo_push_head(&s->lanes[side], o);
				continue;
			}
			o->next = *work;
			*work = o;
		}
	}
}

/*
 * Drive `op` and every operation it meets as far as they can go. An
 * operation's current action is queued on its lane's FIFO; whoever finds
 * the stream not being paired pairs the FIFOs' heads (stream_pair_heads)
 * while others arriving meanwhile only queue themselves, so each lane's
 * actions meet in the order they were issued. The worklist holds
 * operations that are off every FIFO and owned by us.
 */
static void op_run(struct stream_op *op)
{
	struct stream_op *work = op;
	op->next = 0;
	while (work) {
		op = work;
		work = op->next;
		op->next = 0;
		if (op->failed || op->current == op->count) {
			op_complete(op);
			continue;
		}
		const struct kestrel_action *a = &op->actions[op->current];
		bool on_conv = a->flags & KESTREL_ACTF_CONVERSATION;
		struct stream *s = on_conv ? op->conv : op->stream;
		uint32_t side = on_conv ? op->conv_side : op->side;
		spin_lock(&s->lock);
		if (s->lanes[0].closed || s->lanes[1].closed) {
			spin_unlock(&s->lock);
			finish_action(op, -KE_END_OF_LANE, 0, 0);
			op->next = work;
			work = op;
			continue;
		}
		fifo_push(&s->lanes[side], op);
		__atomic_store_n(&op->pending.owner_obj, &s->obj, __ATOMIC_RELEASE);
		if (!s->pairing) {
			s->pairing = true;
			stream_pair_heads(s, &work);
			s->pairing = false;
		}
		spin_unlock(&s->lock);
	}
}

/* A lane's last handle is gone: fail everything waiting on the stream. */
static void lane_closed(struct kobject *obj)
{
	struct lane *l = (struct lane *)obj;
	struct stream *s = l->stream;
	spin_lock(&s->lock);
	l->closed = true;
	struct stream_op *list = 0, *op;
	for (uint32_t i = 0; i < 2; i++) {
		while ((op = fifo_pop(&s->lanes[i])) != 0) {
			op->next = list;
			list = op;
		}
	}
	spin_unlock(&s->lock);
	while (list) {
		op = list;
		list = op->next;
		finish_action(op, -KE_END_OF_LANE, 0, 0);
		op_run(op);
	}
	stream_put(s);
}

int stream_cancel(struct kobject *obj, struct queue *q, uint64_t tag)
{
	struct stream *s = (struct stream *)obj;
	struct stream_op *found = 0;
	spin_lock(&s->lock);
	for (uint32_t i = 0; i < 2 && !found; i++) {
		for (struct stream_op *op = s->lanes[i].head; op; op = op->next) {
			if (op->queue == q && op->pending.tag == tag) {
				fifo_remove(&s->lanes[i], op);
				found = op;
				break;
			}
		}
	}
	spin_unlock(&s->lock);
	if (!found)
		return -KE_NOT_FOUND;
	finish_action(found, -KE_CANCELLED, 0, 0);
	op_run(found);
	return 0;
}

/* ---- submitting ---- */

static uint32_t align8(uint64_t x)
{
	return (uint32_t)((x + 7) & ~7ull);
}

/* Check the chain, work out the record layout and the rights it needs. */
static int chain_validate(struct stream_op *op, uint32_t *need)
{
	bool have_conv = false;
	uint32_t size = sizeof(struct kestrel_completion) + op->count * sizeof(struct kestrel_result);
	*need = 0;
	for (uint32_t i = 0; i < op->count; i++) {
		struct kestrel_action *a = &op->actions[i];
		if (a->flags & ~(KESTREL_ACTF_CONVERSATION | KESTREL_ACTF_NO_HANDLE))
			return -KE_INVALID;
		bool conv = a->flags & KESTREL_ACTF_CONVERSATION;
		if (conv && !have_conv)
			return -KE_INVALID;
		uint32_t right = 0;
		switch (a->type) {
		case KESTREL_ACT_OFFER:
		case KESTREL_ACT_ACCEPT:
			if (conv || have_conv)
				return -KE_INVALID; /* one conversation per chain */
			have_conv = true;
			right = a->type == KESTREL_ACT_OFFER ? KESTREL_RIGHT_WRITE : KESTREL_RIGHT_READ;
			break;
		case KESTREL_ACT_SEND:
			if (a->length > KESTREL_MAX_MESSAGE)
				return -KE_TOO_BIG;
			right = KESTREL_RIGHT_WRITE;
			break;
		case KESTREL_ACT_SEND_VECTOR:
			if (a->length > KESTREL_MAX_ACTIONS)
				return -KE_TOO_BIG;
			right = KESTREL_RIGHT_WRITE;
			break;
		case KESTREL_ACT_RECV_INLINE:
			if (a->length > KESTREL_MAX_INLINE)
				return -KE_TOO_BIG;
			op->inline_offset[i] = size;
			size += align8(a->length);
			right = KESTREL_RIGHT_READ;
			break;
		case KESTREL_ACT_RECV_BUFFER:
			if (a->length > KESTREL_MAX_MESSAGE)
				return -KE_TOO_BIG;
			if (!usercopy_range_ok(a->buffer, a->length))
				return -KE_FAULT;
			right = KESTREL_RIGHT_READ;
			break;
		case KESTREL_ACT_PUSH_HANDLE:
		case KESTREL_ACT_ATTACH_CREDS:
			right = KESTREL_RIGHT_WRITE;
			break;
		case KESTREL_ACT_PULL_HANDLE:
			right = KESTREL_RIGHT_READ;
			break;
		case KESTREL_ACT_READ_CREDS:
			op->inline_offset[i] = size;
			size += sizeof(struct kestrel_credentials);
			right = KESTREL_RIGHT_READ;
			break;
		default:
			return -KE_INVALID;
		}
		if (!conv)
			*need |= right;
	}
	op->record_len = size;
	return 0;
}

/* Copy what the chain sends out of the caller's memory and table. */
static int chain_capture(struct stream_op *op)
{
	for (uint32_t i = 0; i < op->count; i++) {
		struct kestrel_action *a = &op->actions[i];
		if (a->type == KESTREL_ACT_SEND) {
			op->data[i] = kmalloc(a->length ? a->length : 1);
			if (!op->data[i])
				return -KE_NO_MEMORY;
			op->data_len[i] = (uint32_t)a->length;
			int rc = usercopy_from(op->data[i], a->buffer, a->length);
			if (rc)
				return rc;
		} else if (a->type == KESTREL_ACT_SEND_VECTOR) {
			struct kestrel_iovec iov[KESTREL_MAX_ACTIONS];
			int rc = usercopy_from(iov, a->buffer, a->length * sizeof(iov[0]));
			if (rc)
				return rc;
			uint64_t total = 0;
			for (uint32_t k = 0; k < a->length; k++) {
				total += iov[k].length;
				if (iov[k].length > KESTREL_MAX_MESSAGE || total > KESTREL_MAX_MESSAGE)
					return -KE_TOO_BIG;
			}
			op->data[i] = kmalloc(total ? total : 1);
			if (!op->data[i])
				return -KE_NO_MEMORY;
			op->data_len[i] = (uint32_t)total;
			uint8_t *p = op->data[i];
			for (uint32_t k = 0; k < a->length; k++) {
				rc = usercopy_from(p, iov[k].base, iov[k].length);
				if (rc)
					return rc;
				p += iov[k].length;
			}
		} else if (a->type == KESTREL_ACT_PUSH_HANDLE) {
			uint32_t have;
			int rc = handle_get(a->handle, KESTREL_OBJ_NONE, KESTREL_RIGHT_TRANSFER,
					    &op->pushed[i], &have);
			if (rc)
				return rc;
			op->pushed_rights[i] = have & a->rights;
		}
	}
	return 0;
}

static int submit_one(int64_t lane_h, struct queue *q, uint64_t actions, uint64_t count,
		      uint64_t tag)
{
	if (count == 0 || count > KESTREL_MAX_ACTIONS)
		return -KE_INVALID;
	struct stream_op *op = op_alloc((uint32_t)count);
	if (!op)
		return -KE_NO_MEMORY;
	int rc = usercopy_from(op->actions, actions, count * sizeof(struct kestrel_action));
	uint32_t need = 0;
	if (!rc)
		rc = chain_validate(op, &need);
	struct kobject *lane_obj = 0;
	if (!rc)
		rc = handle_get(lane_h, KESTREL_OBJ_LANE, need, &lane_obj, 0);
	if (!rc)
		rc = chain_capture(op);
	if (!rc && !(op->record = kzalloc(op->record_len)))
		rc = -KE_NO_MEMORY;
	if (rc) {
		for (uint32_t i = 0; i < op->count; i++) {
			kfree(op->data[i]);
			if (op->pushed[i])
				kobject_put(op->pushed[i]);
		}
		if (lane_obj)
			kobject_put(lane_obj);
		kfree(op);
		return rc;
	}
	struct lane *l = (struct lane *)lane_obj;
	op->stream = l->stream;
	op->side = l->side;
	stream_get(op->stream);
	kobject_put(lane_obj);
	struct uthread *u = uthread_current();
	op->space = u->space;
	op->table = u->table;
	kobject_get((struct kobject *)op->space);
	handle_table_hold(op->table); /* not a kobject reference: see handle.h */
	queue_get(q);
	op->queue = q;
	op->pending.tag = tag;
	op->pending.kind = QUEUE_PENDING_STREAM;
	op->pending.owner = op;
	op->pending.owner_obj = &op->stream->obj;
	rc = queue_reserve(q, &op->pending, op->record_len);
	if (rc) {
		op->current = op->count; /* nothing to report */
		op_release(op);
		return rc;
	}
	op_run(op);
	return 0;
}

int64_t sys_submit(int64_t lane, int64_t queue_h, uint64_t actions, uint64_t count, uint64_t tag)
{
	struct queue *q;
	int rc = queue_from_handle(queue_h, &q);
	if (rc)
		return rc;
	rc = submit_one(lane, q, actions, count, tag);
	queue_put(q);
	return rc;
}

int64_t sys_submit_batch(int64_t queue_h, uint64_t subs, uint64_t count)
{
	if (count == 0 || count > KESTREL_MAX_BATCH)
		return -KE_INVALID;
	struct queue *q;
	int rc = queue_from_handle(queue_h, &q);
	if (rc)
		return rc;
	uint64_t done = 0;
	for (; done < count; done++) {
		struct kestrel_submission s;
		rc = usercopy_from(&s, subs + done * sizeof(s), sizeof(s));
		if (!rc)
			rc = submit_one(s.lane, q, s.actions, s.count, s.tag);
		if (rc)
			break;
	}
	queue_put(q);
	return done ? (int64_t)done : rc;
}

int64_t sys_stream_create(uint64_t out)
{
	if (!usercopy_range_ok(out, 2 * sizeof(kestrel_handle_t)))
		return -KE_FAULT;
	struct stream *s = stream_new();
	if (!s)
		return -KE_NO_MEMORY;
	uint32_t rights = KESTREL_RIGHT_READ | KESTREL_RIGHT_WRITE | KESTREL_RIGHT_TRANSFER |
			  KESTREL_RIGHT_DUPLICATE;
	int64_t h0 = handle_install(&s->lanes[0].obj, rights);
	int64_t h1 = h0 < 0 ? h0 : handle_install(&s->lanes[1].obj, rights);
	int rc = 0;
	if (h1 < 0) {
		rc = (int)h1;
		if (h0 >= 0)
			handle_table_remove(handle_current_table(), h0);
	} else {
		kestrel_handle_t hs[2] = {(kestrel_handle_t)h0, (kestrel_handle_t)h1};
		rc = usercopy_to(out, hs, sizeof(hs));
		if (rc) {
			handle_table_remove(handle_current_table(), h0);
			handle_table_remove(handle_current_table(), h1);
		}
	}
	/* Drop the creation references: the handles hold the lanes now. */
	kobject_put(&s->lanes[0].obj);
	kobject_put(&s->lanes[1].obj);
	return rc;
}
