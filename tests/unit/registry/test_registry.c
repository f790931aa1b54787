/*
 * The registry protocol's codec (protocols/registry.c) on the host: every
 * message round-trips, and every way a client can break one — short,
 * long, wrong counts, strings without their NUL, bad bytes, duplicate
 * keys, oversized, entities that overrun the reply — is refused.
 */
#include <string.h>

#include <kestrel/error.h>

#include "registry.h"
#include "unit.h"

static uint8_t buf[REG_MSG_MAX + 64];

static struct reg_request sample_register(void)
{
	struct reg_request rq = {.op = REG_OP_REGISTER};
	reg_props_init(&rq.props);
	reg_props_add(&rq.props, "class", "serial");
	reg_props_add(&rq.props, "name", "COM1 at 0x3f8");
	return rq;
}

TEST(props_add_checks_keys_and_values)
{
	struct reg_props p;
	reg_props_init(&p);
	CHECK_EQ(reg_props_add(&p, "class", "block"), 0);
	CHECK_EQ(reg_props_add(&p, "class", "other"), (uint64_t)-KE_INVALID); /* duplicate */
	CHECK_EQ(reg_props_add(&p, "", "x"), (uint64_t)-KE_INVALID);
	CHECK_EQ(reg_props_add(&p, "a=b", "x"), (uint64_t)-KE_INVALID);
	CHECK_EQ(reg_props_add(&p, "a b", "x"), (uint64_t)-KE_INVALID);
	CHECK_EQ(reg_props_add(&p, "tab", "a\tb"), (uint64_t)-KE_INVALID);
	CHECK_EQ(reg_props_add(&p, "empty", ""), 0);
	char longkey[REG_KEY_SIZE + 1];
	memset(longkey, 'k', REG_KEY_SIZE);
	longkey[REG_KEY_SIZE] = 0;
	CHECK_EQ(reg_props_add(&p, longkey, "x"), (uint64_t)-KE_TOO_BIG);
	longkey[REG_KEY_SIZE - 1] = 0; /* 31 bytes: the longest allowed */
	CHECK_EQ(reg_props_add(&p, longkey, "x"), 0);
	char longval[REG_VALUE_SIZE + 1];
	memset(longval, 'v', REG_VALUE_SIZE);
	longval[REG_VALUE_SIZE] = 0;
	CHECK_EQ(reg_props_add(&p, "v", longval), (uint64_t)-KE_TOO_BIG);
	CHECK_EQ(p.count, 3);
	while (p.count < REG_MAX_PROPS) {
		char k[8] = {'k', (char)('a' + p.count), 0};
		CHECK_EQ(reg_props_add(&p, k, "1"), 0);
	}
	CHECK_EQ(reg_props_add(&p, "more", "1"), (uint64_t)-KE_TOO_BIG);
	CHECK(!strcmp(reg_props_get(&p, "class"), "block"));
	CHECK(reg_props_get(&p, "nothing") == NULL);
}

TEST(props_match_needs_every_term)
{
	struct reg_props e, f;
	reg_props_init(&e);
	reg_props_add(&e, "class", "serial");
	reg_props_add(&e, "port", "1");
	reg_props_init(&f);
	CHECK(reg_props_match(&e, &f)); /* the empty filter matches all */
	reg_props_add(&f, "class", "serial");
	CHECK(reg_props_match(&e, &f));
	reg_props_add(&f, "port", "2");
	CHECK(!reg_props_match(&e, &f)); /* partial match is no match */
	reg_props_init(&f);
	reg_props_add(&f, "class", "seria");
	CHECK(!reg_props_match(&e, &f));
	reg_props_init(&f);
	reg_props_add(&f, "missing", "");
	CHECK(!reg_props_match(&e, &f));
}

TEST(requests_round_trip)
{
	struct reg_request rq = sample_register(), out;
	size_t n = reg_encode_request(&rq, buf, sizeof(buf));
	CHECK_EQ(n, sizeof(struct reg_header) + 2 * sizeof(struct reg_prop));
	CHECK_EQ(reg_decode_request(buf, n, &out), 0);
	CHECK_EQ(out.op, REG_OP_REGISTER);
	CHECK_EQ(out.props.count, 2);
	CHECK(!memcmp(&out.props.prop[0], &rq.props.prop[0], 2 * sizeof(struct reg_prop)));

	rq.op = REG_OP_QUERY;
	rq.id = 0x1122334455667788ull;
	n = reg_encode_request(&rq, buf, sizeof(buf));
	CHECK_EQ(n, sizeof(struct reg_header) + 8 + 2 * sizeof(struct reg_prop));
	CHECK_EQ(reg_decode_request(buf, n, &out), 0);
	CHECK_EQ(out.op, REG_OP_QUERY);
	CHECK_EQ(out.id, 0x1122334455667788ull);
	CHECK(!strcmp(reg_props_get(&out.props, "name"), "COM1 at 0x3f8"));

	rq.op = REG_OP_WATCH;
	reg_props_init(&rq.props);
	n = reg_encode_request(&rq, buf, sizeof(buf));
	CHECK_EQ(reg_decode_request(buf, n, &out), 0);
	CHECK_EQ(out.op, REG_OP_WATCH);
	CHECK_EQ(out.props.count, 0);

	rq.op = REG_OP_CONNECT;
	rq.id = 7;
	n = reg_encode_request(&rq, buf, sizeof(buf));
	CHECK_EQ(n, sizeof(struct reg_header) + 8);
	CHECK_EQ(reg_decode_request(buf, n, &out), 0);
	CHECK_EQ(out.op, REG_OP_CONNECT);
	CHECK_EQ(out.id, 7);
	CHECK_EQ(reg_peek_op(buf, n), REG_OP_CONNECT);
	CHECK_EQ(reg_peek_op(buf, 1), 0);
}

TEST(encoders_refuse_what_decoders_would)
{
	struct reg_request rq = {.op = REG_OP_REGISTER};
	reg_props_init(&rq.props);
	CHECK_EQ(reg_encode_request(&rq, buf, sizeof(buf)), 0); /* no properties */
	rq = sample_register();
	CHECK_EQ(reg_encode_request(&rq, buf, 10), 0); /* does not fit */
	rq.op = 99;
	CHECK_EQ(reg_encode_request(&rq, buf, sizeof(buf)), 0);
	rq = sample_register();
	rq.props.prop[1].key[0] = 0; /* an empty key */
	CHECK_EQ(reg_encode_request(&rq, buf, sizeof(buf)), 0);
}

TEST(malformed_requests_are_refused)
{
	struct reg_request rq = sample_register(), out;
	size_t n = reg_encode_request(&rq, buf, sizeof(buf));
	struct reg_header h;
	/* Truncated: shorter than a header, and any cut that keeps the header. */
	CHECK_EQ(reg_decode_request(buf, 0, &out), (uint64_t)-KE_INVALID);
	CHECK_EQ(reg_decode_request(buf, 5, &out), (uint64_t)-KE_INVALID);
	CHECK_EQ(reg_decode_request(NULL, n, &out), (uint64_t)-KE_INVALID);
	for (size_t cut = sizeof(h); cut < n; cut += 13)
		CHECK_EQ(reg_decode_request(buf, cut, &out), (uint64_t)-KE_INVALID);
	/* The header's length agrees, but the count does not. */
	for (size_t cut = sizeof(h); cut < n; cut += 13) {
		memcpy(&h, buf, sizeof(h));
		h.length = (uint32_t)cut;
		memcpy(buf, &h, sizeof(h));
		CHECK_EQ(reg_decode_request(buf, cut, &out), (uint64_t)-KE_INVALID);
	}
	n = reg_encode_request(&rq, buf, sizeof(buf));
	/* Bad counts. */
	memcpy(&h, buf, sizeof(h));
	h.count = 3;
	memcpy(buf, &h, sizeof(h));
	CHECK_EQ(reg_decode_request(buf, n, &out), (uint64_t)-KE_INVALID);
	h.count = 0xffff;
	memcpy(buf, &h, sizeof(h));
	CHECK_EQ(reg_decode_request(buf, n, &out), (uint64_t)-KE_TOO_BIG);
	h.count = 0;
	h.length = sizeof(h);
	memcpy(buf, &h, sizeof(h));
	CHECK_EQ(reg_decode_request(buf, sizeof(h), &out), (uint64_t)-KE_INVALID);
	/* Trailing bytes. */
	n = reg_encode_request(&rq, buf, sizeof(buf));
	memcpy(&h, buf, sizeof(h));
	h.length = (uint32_t)n + 8;
	memcpy(buf, &h, sizeof(h));
	CHECK_EQ(reg_decode_request(buf, n + 8, &out), (uint64_t)-KE_INVALID);
	/* Unknown ops, and answers sent as requests. */
	n = reg_encode_request(&rq, buf, sizeof(buf));
	uint16_t op = 0;
	memcpy(buf, &op, 2);
	CHECK_EQ(reg_decode_request(buf, n, &out), (uint64_t)-KE_NOT_SUPPORTED);
	op = REG_OP_REPLY;
	memcpy(buf, &op, 2);
	CHECK_EQ(reg_decode_request(buf, n, &out), (uint64_t)-KE_NOT_SUPPORTED);
	/* Oversized. */
	CHECK_EQ(reg_decode_request(buf, REG_MSG_MAX + 1, &out), (uint64_t)-KE_TOO_BIG);
	/* CONNECT with properties. */
	memset(buf, 0, sizeof(buf));
	struct reg_header ch = {REG_OP_CONNECT, 1, sizeof(ch) + 8 + sizeof(struct reg_prop)};
	memcpy(buf, &ch, sizeof(ch));
	CHECK_EQ(reg_decode_request(buf, ch.length, &out), (uint64_t)-KE_INVALID);
}

TEST(malformed_strings_are_refused)
{
	struct reg_request rq = sample_register(), out;
	size_t n = reg_encode_request(&rq, buf, sizeof(buf));
	struct reg_prop *p = (struct reg_prop *)(buf + sizeof(struct reg_header));
	/* No NUL in the key / value. */
	memset(p[0].key, 'a', REG_KEY_SIZE);
	CHECK_EQ(reg_decode_request(buf, n, &out), (uint64_t)-KE_INVALID);
	n = reg_encode_request(&rq, buf, sizeof(buf));
	memset(p[1].value, 'a', REG_VALUE_SIZE);
	CHECK_EQ(reg_decode_request(buf, n, &out), (uint64_t)-KE_INVALID);
	/* Garbage after the NUL. */
	n = reg_encode_request(&rq, buf, sizeof(buf));
	p[0].value[REG_VALUE_SIZE - 1] = 'x';
	CHECK_EQ(reg_decode_request(buf, n, &out), (uint64_t)-KE_INVALID);
	/* A control byte, an 8-bit byte. */
	n = reg_encode_request(&rq, buf, sizeof(buf));
	p[0].key[1] = '\n';
	CHECK_EQ(reg_decode_request(buf, n, &out), (uint64_t)-KE_INVALID);
	n = reg_encode_request(&rq, buf, sizeof(buf));
	p[1].value[0] = (char)0xc3;
	CHECK_EQ(reg_decode_request(buf, n, &out), (uint64_t)-KE_INVALID);
	/* The same key twice. */
	n = reg_encode_request(&rq, buf, sizeof(buf));
	memcpy(p[1].key, p[0].key, REG_KEY_SIZE);
	CHECK_EQ(reg_decode_request(buf, n, &out), (uint64_t)-KE_INVALID);
}

TEST(events_round_trip_and_malformed_ones_are_refused)
{
	struct reg_event ev = {.op = REG_OP_ADDED, .id = 42}, out;
	reg_props_init(&ev.props);
	reg_props_add(&ev.props, "class", "net");
	size_t n = reg_encode_event(&ev, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_EQ(reg_decode_event(buf, n, &out), 0);
	CHECK_EQ(out.op, REG_OP_ADDED);
	CHECK_EQ(out.id, 42);
	CHECK(!strcmp(reg_props_get(&out.props, "class"), "net"));
	CHECK_EQ(reg_decode_event(buf, n - 1, &out), (uint64_t)-KE_INVALID);
	CHECK_EQ(reg_decode_request(buf, n, &(struct reg_request){0}), (uint64_t)-KE_NOT_SUPPORTED);

	struct reg_event c = {.op = REG_OP_CONNECTION, .id = 5, .serial = 9};
	n = reg_encode_event(&c, buf, sizeof(buf));
	CHECK_EQ(n, sizeof(struct reg_header) + 16);
	CHECK_EQ(reg_decode_event(buf, n, &out), 0);
	CHECK_EQ(out.op, REG_OP_CONNECTION);
	CHECK_EQ(out.id, 5);
	CHECK_EQ(out.serial, 9);
	struct reg_header h;
	memcpy(&h, buf, sizeof(h));
	h.count = 1;
	memcpy(buf, &h, sizeof(h));
	CHECK_EQ(reg_decode_event(buf, n, &out), (uint64_t)-KE_INVALID);
	h.op = REG_OP_QUERY;
	h.count = 0;
	memcpy(buf, &h, sizeof(h));
	CHECK_EQ(reg_decode_event(buf, n, &out), (uint64_t)-KE_NOT_SUPPORTED);
}

TEST(replies_round_trip_with_entities)
{
	struct reg_props a, b;
	reg_props_init(&a);
	reg_props_add(&a, "class", "serial");
	reg_props_init(&b);
	reg_props_add(&b, "class", "block");
	reg_props_add(&b, "size", "512");
	size_t len = reg_reply_begin(buf, sizeof(buf), 0, 0);
	CHECK(reg_reply_add(buf, sizeof(buf), &len, 3, &a));
	CHECK(reg_reply_add(buf, sizeof(buf), &len, 8, &b));
	reg_reply_set_more(buf);
	struct reg_reply rp;
	struct reg_entity ents[4];
	CHECK_EQ(reg_decode_reply(buf, len, &rp, ents, 4), 0);
	CHECK_EQ(rp.status, 0);
	CHECK_EQ(rp.count, 2);
	CHECK_EQ(rp.flags, REG_REPLY_MORE);
	CHECK_EQ(ents[0].id, 3);
	CHECK_EQ(ents[1].id, 8);
	CHECK_EQ(ents[1].props.count, 2);
	CHECK(!strcmp(reg_props_get(&ents[1].props, "size"), "512"));
	/* Fewer slots than entities: all are still checked, and counted. */
	memset(ents, 0, sizeof(ents));
	CHECK_EQ(reg_decode_reply(buf, len, &rp, ents, 1), 0);
	CHECK_EQ(rp.count, 2);
	CHECK_EQ(ents[0].id, 3);
	CHECK_EQ(ents[1].id, 0);
	/* An error reply. */
	len = reg_reply_begin(buf, sizeof(buf), -KE_NOT_FOUND, 0);
	CHECK_EQ(reg_decode_reply(buf, len, &rp, ents, 4), 0);
	CHECK_EQ(rp.status, -KE_NOT_FOUND);
	CHECK_EQ(rp.count, 0);
}

TEST(replies_never_exceed_the_message_limit)
{
	struct reg_props full;
	reg_props_init(&full);
	for (int i = 0; i < (int)REG_MAX_PROPS; i++) {
		char k[8] = {'k', (char)('a' + i), 0};
		reg_props_add(&full, k, "value");
	}
	size_t len = reg_reply_begin(buf, sizeof(buf), 0, 0);
	int added = 0;
	while (reg_reply_add(buf, sizeof(buf), &len, (uint64_t)added + 1, &full))
		added++;
	CHECK(added >= 1);
	CHECK(len <= REG_MSG_MAX);
	struct reg_reply rp;
	struct reg_entity ents[4];
	CHECK_EQ(reg_decode_reply(buf, len, &rp, ents, 4), 0);
	CHECK_EQ(rp.count, (uint64_t)added);
}

TEST(malformed_replies_are_refused)
{
	struct reg_props a;
	reg_props_init(&a);
	reg_props_add(&a, "class", "serial");
	struct reg_reply rp;
	struct reg_entity ents[4];
	size_t len = reg_reply_begin(buf, sizeof(buf), 0, 0);
	CHECK(reg_reply_add(buf, sizeof(buf), &len, 3, &a));
	struct reg_reply_head rh;
	/* More entities claimed than are there: the walk runs off the end. */
	memcpy(&rh, buf, sizeof(rh));
	rh.h.count = 2;
	memcpy(buf, &rh, sizeof(rh));
	CHECK_EQ(reg_decode_reply(buf, len, &rp, ents, 4), (uint64_t)-KE_INVALID);
	/* Fewer: bytes left over. */
	rh.h.count = 0;
	memcpy(buf, &rh, sizeof(rh));
	CHECK_EQ(reg_decode_reply(buf, len, &rp, ents, 4), (uint64_t)-KE_INVALID);
	rh.h.count = 1;
	/* An entity whose property count runs past the message. */
	memcpy(buf, &rh, sizeof(rh));
	struct reg_entity_head eh;
	memcpy(&eh, buf + sizeof(rh), sizeof(eh));
	eh.count = 2;
	memcpy(buf + sizeof(rh), &eh, sizeof(eh));
	CHECK_EQ(reg_decode_reply(buf, len, &rp, ents, 4), (uint64_t)-KE_INVALID);
	eh.count = 1000;
	memcpy(buf + sizeof(rh), &eh, sizeof(eh));
	CHECK_EQ(reg_decode_reply(buf, len, &rp, ents, 4), (uint64_t)-KE_TOO_BIG);
	eh.count = 1;
	memcpy(buf + sizeof(rh), &eh, sizeof(eh));
	CHECK_EQ(reg_decode_reply(buf, len, &rp, ents, 4), 0);
	/* Unknown flags, a status that is no error code, a short head. */
	rh.flags = 2;
	memcpy(buf, &rh, sizeof(rh));
	CHECK_EQ(reg_decode_reply(buf, len, &rp, ents, 4), (uint64_t)-KE_INVALID);
	rh.flags = 0;
	rh.status = 5;
	memcpy(buf, &rh, sizeof(rh));
	CHECK_EQ(reg_decode_reply(buf, len, &rp, ents, 4), (uint64_t)-KE_INVALID);
	struct reg_header h = {REG_OP_REPLY, 0, sizeof(h)};
	memcpy(buf, &h, sizeof(h));
	CHECK_EQ(reg_decode_reply(buf, sizeof(h), &rp, ents, 4), (uint64_t)-KE_INVALID);
}

/* Random bytes never crash a decoder, and whatever a decoder accepts
 * encodes back to the same bytes (one encoding per message). */
TEST(random_bytes_never_pass_unless_canonical)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;
	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(s % 600);
		for (size_t i = 0; i < len; i++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			buf[i] = (uint8_t)(s & 0x7f);
		}
		/* Often give it a plausible header so the deeper checks run. */
		if (round % 2 && len >= 8) {
			struct reg_header h = {(uint16_t)(1 + s % 4), (uint16_t)(s % 3),
					       (uint32_t)len};
			memcpy(buf, &h, sizeof(h));
		}
		struct reg_request rq;
		if (reg_decode_request(buf, len, &rq) == 0) {
			uint8_t again[REG_MSG_MAX];
			size_t n = reg_encode_request(&rq, again, sizeof(again));
			CHECK_EQ(n, len);
			CHECK(!memcmp(again, buf, len));
		}
		struct reg_event ev;
		(void)reg_decode_event(buf, len, &ev);
		struct reg_reply rp;
		struct reg_entity ents[2];
		(void)reg_decode_reply(buf, len, &rp, ents, 2);
		s += 0x9e3779b97f4a7c15ull;
	}
}

/* Every one-byte change to valid messages: a decoder either refuses the
 * result or accepts a message that encodes back to exactly those bytes
 * (so nothing slips through that the encoder would not have written). */
TEST(one_byte_mutations_are_refused_or_canonical)
{
	struct reg_request rqs[3] = {
		sample_register(), sample_register(), {.op = REG_OP_CONNECT, .id = 3}};
	rqs[1].op = REG_OP_QUERY;
	rqs[1].id = 2;
	int accepted = 0, refused = 0;
	for (int m = 0; m < 3; m++) {
		uint8_t orig[REG_MSG_MAX];
		size_t n = reg_encode_request(&rqs[m], orig, sizeof(orig));
		CHECK(n > 0);
		static const uint8_t flips[] = {0x01, 0x20, 0x41, 0x80, 0xff};
		for (size_t pos = 0; pos < n; pos++) {
			for (size_t f = 0; f < sizeof(flips); f++) {
				memcpy(buf, orig, n);
				buf[pos] ^= flips[f];
				struct reg_request out;
				if (reg_decode_request(buf, n, &out) != 0) {
					refused++;
					continue;
				}
				accepted++;
				uint8_t again[REG_MSG_MAX];
				CHECK_EQ(reg_encode_request(&out, again, sizeof(again)), n);
				CHECK(!memcmp(again, buf, n));
			}
		}
	}
	CHECK(accepted > 0 && refused > 0);
}
