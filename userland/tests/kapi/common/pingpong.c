/* Both sides of the ping-pong exchange (see pingpong.h). */
#include <stdio.h>
#include <string.h>

#include "kapi.h"
#include "pingpong.h"

#define TAG_RECV (1ull << 32)
#define TAG_SEND (2ull << 32)
#define TAG_KIND(t) ((t) & ~0xffffffffull)
#define TAG_SEQ(t) ((t) & 0xffffffffull)
#define TIMEOUT (20 * KAPI_SECOND)

void pingpong_fill(struct pingpong_msg *m, uint64_t seq)
{
	uint64_t state = seq * 0x9e3779b97f4a7c15ull + 1;
	m->seq = seq;
	for (size_t i = 0; i < sizeof(m->payload); i += 8) {
		uint64_t v = kapi_random(&state);
		memcpy(m->payload + i, &v, 8);
	}
	m->sum = kapi_checksum(m->payload, sizeof(m->payload));
}

static int64_t post_recv(struct kestrel_queue *q, kestrel_handle_t lane, uint64_t seq, size_t len)
{
	struct kestrel_action a = kestrel_act_recv_inline(len);
	return kestrel_submit(lane, q->handle, &a, 1, TAG_RECV | seq);
}

/* Server replies live until their SEND completes. */
static struct pingpong_reply replies[PINGPONG_WINDOW * 2];

int pingpong_server(struct kestrel_queue *q, kestrel_handle_t lane, kestrel_handle_t reply_lane,
		    uint64_t count)
{
	uint64_t rec[KESTREL_COMPLETION_SIZE(1, sizeof(struct pingpong_msg)) / 8 + 1];
	uint64_t posted = 0, received = 0, sent_done = 0;
	for (; posted < count && posted < PINGPONG_WINDOW; posted++) {
		if (post_recv(q, lane, posted, sizeof(struct pingpong_msg)) < 0)
			return 1;
	}
	while (received < count || sent_done < received) {
		int64_t r = kestrel_queue_take(q, rec, sizeof(rec), TIMEOUT);
		if (r < 0)
			return 2;
		const struct kestrel_completion *c = (const void *)rec;
		if (c->status < 0)
			return 3;
		if (TAG_KIND(c->tag) == TAG_SEND) {
			sent_done++;
			continue;
		}
		uint64_t seq = TAG_SEQ(c->tag);
		const struct kestrel_result *res = kestrel_results(c);
		const struct pingpong_msg *m = kestrel_result_data(c, 0);
		if (c->count != 1 || !m || res[0].length != sizeof(*m))
			return 4;
		struct pingpong_msg want;
		pingpong_fill(&want, seq);
		if (m->seq != seq || memcmp(m, &want, sizeof(want)) != 0)
			return 5; /* out of order or corrupted */
		received++;
		struct pingpong_reply *rp = &replies[seq % (PINGPONG_WINDOW * 2)];
		rp->seq = seq;
		rp->sum = kapi_checksum(m, sizeof(*m));
		struct kestrel_action a = kestrel_act_send(rp, sizeof(*rp));
		if (kestrel_submit(reply_lane, q->handle, &a, 1, TAG_SEND | seq) < 0)
			return 6;
		if (posted < count) {
			if (post_recv(q, lane, posted, sizeof(struct pingpong_msg)) < 0)
				return 7;
			posted++;
		}
	}
	return 0;
}

static struct pingpong_msg messages[PINGPONG_WINDOW * 2];

int pingpong_client(struct kestrel_queue *q, kestrel_handle_t lane, kestrel_handle_t reply_lane,
		    uint64_t count, char *err, size_t errlen)
{
	uint64_t rec[KESTREL_COMPLETION_SIZE(1, sizeof(struct pingpong_reply)) / 8 + 1];
	uint64_t sent = 0, sends_done = 0, posted = 0, answered = 0, total = 0;
	for (; posted < count && posted < PINGPONG_WINDOW; posted++) {
		int64_t r = post_recv(q, reply_lane, posted, sizeof(struct pingpong_reply));
		if (r < 0) {
			snprintf(err, errlen, "submit RECV: %s", kestrel_error_name(r));
			return -1;
		}
	}
	while (answered < count || sends_done < sent) {
		while (sent < count && sent - answered < PINGPONG_WINDOW) {
			struct pingpong_msg *m = &messages[sent % (PINGPONG_WINDOW * 2)];
			pingpong_fill(m, sent);
			struct kestrel_action a = kestrel_act_send(m, sizeof(*m));
			int64_t r = kestrel_submit(lane, q->handle, &a, 1, TAG_SEND | sent);
			if (r < 0) {
				snprintf(err, errlen, "submit SEND %llu: %s", (unsigned long long)sent,
					 kestrel_error_name(r));
				return -1;
			}
			sent++;
		}
		int64_t r = kestrel_queue_take(q, rec, sizeof(rec), TIMEOUT);
		if (r < 0) {
			snprintf(err, errlen, "waiting after %llu answers: %s",
				 (unsigned long long)answered, kestrel_error_name(r));
			return -1;
		}
		const struct kestrel_completion *c = (const void *)rec;
		uint64_t seq = TAG_SEQ(c->tag);
		if (c->status < 0) {
			snprintf(err, errlen, "%s %llu completed with %s",
				 TAG_KIND(c->tag) == TAG_SEND ? "SEND" : "RECV",
				 (unsigned long long)seq, kestrel_error_name(c->status));
			return -1;
		}
		if (TAG_KIND(c->tag) == TAG_SEND) {
			sends_done++;
			continue;
		}
		const struct pingpong_reply *rp = kestrel_result_data(c, 0);
		struct pingpong_msg want;
		pingpong_fill(&want, seq);
		if (!rp || kestrel_results(c)[0].length != sizeof(*rp) || rp->seq != seq ||
		    rp->sum != kapi_checksum(&want, sizeof(want))) {
			snprintf(err, errlen, "answer %llu is wrong (seq %llu)",
				 (unsigned long long)seq, rp ? (unsigned long long)rp->seq : 0ull);
			return -1;
		}
		total += rp->sum;
		answered++;
		if (posted < count) {
			r = post_recv(q, reply_lane, posted, sizeof(struct pingpong_reply));
			if (r < 0) {
				snprintf(err, errlen, "submit RECV: %s", kestrel_error_name(r));
				return -1;
			}
			posted++;
		}
	}
	(void)total;
	return 0;
}
