/*
 * The registry protocol's codec (protocols/registry.h): encoders that only
 * produce valid messages, and decoders that treat their input as hostile.
 *
 * The decoders read through memcpy (the buffer need not be aligned) and
 * check, in this order: the header fits, its length equals the bytes
 * received, the counts are within the limits, the fixed part plus
 * count × property is exactly the length (no trailing or missing bytes,
 * computed without overflow), and every property is NUL-terminated,
 * zero-padded, of allowed bytes, with no key twice. Pure C: it runs in
 * init, in the C library and in the host unit test.
 */
#include "registry.h"

#include <kestrel/error.h>
#include <string.h>

void reg_props_init(struct reg_props *p)
{
	memset(p, 0, sizeof(*p));
}

static bool key_byte(unsigned char c)
{
	return c > ' ' && c < 0x7f && c != '=';
}

static bool value_byte(unsigned char c)
{
	return c >= ' ' && c < 0x7f;
}

/* A NUL-terminated field of `size` bytes whose bytes before the NUL pass
 * `ok` and whose bytes after it are all zero (one encoding per value, so
 * that two equal strings are equal fields). */
static bool field_valid(const char *f, size_t size, bool (*ok)(unsigned char), size_t min)
{
	size_t n = 0;
	while (n < size && f[n])
		if (!ok((unsigned char)f[n++]))
			return false;
	if (n == size || n < min)
		return false;
	for (size_t i = n; i < size; i++)
		if (f[i])
			return false;
	return true;
}

bool reg_prop_valid(const struct reg_prop *p)
{
	return field_valid(p->key, REG_KEY_SIZE, key_byte, 1) &&
	       field_valid(p->value, REG_VALUE_SIZE, value_byte, 0);
}

const char *reg_props_get(const struct reg_props *p, const char *key)
{
	for (uint32_t i = 0; i < p->count && i < REG_MAX_PROPS; i++)
		if (!strncmp(p->prop[i].key, key, REG_KEY_SIZE))
			return p->prop[i].value;
	return NULL;
}

int reg_props_add(struct reg_props *p, const char *key, const char *value)
{
	size_t kl = strlen(key), vl = strlen(value);
	if (p->count >= REG_MAX_PROPS || kl >= REG_KEY_SIZE || vl >= REG_VALUE_SIZE)
		return -KE_TOO_BIG;
	struct reg_prop *e = &p->prop[p->count];
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, kl);
	memcpy(e->value, value, vl);
	if (!reg_prop_valid(e) || reg_props_get(p, e->key))
		return -KE_INVALID;
	p->count++;
	return 0;
}

bool reg_props_match(const struct reg_props *p, const struct reg_props *filter)
{
	for (uint32_t i = 0; i < filter->count; i++) {
		const char *v = reg_props_get(p, filter->prop[i].key);
		if (!v || strncmp(v, filter->prop[i].value, REG_VALUE_SIZE))
			return false;
	}
	return true;
}

/* A valid set: count within the limit, every property valid, keys unique. */
static int props_check(const struct reg_props *p)
{
	if (p->count > REG_MAX_PROPS)
		return -KE_TOO_BIG;
	for (uint32_t i = 0; i < p->count; i++) {
		if (!reg_prop_valid(&p->prop[i]))
			return -KE_INVALID;
		for (uint32_t j = 0; j < i; j++)
			if (!memcmp(p->prop[i].key, p->prop[j].key, REG_KEY_SIZE))
				return -KE_INVALID;
	}
	return 0;
}

/* Copy `count` properties from the message at `at` (the caller has checked
 * they are inside it) and validate them. */
static int props_read(const uint8_t *at, uint32_t count, struct reg_props *out)
{
	if (count > REG_MAX_PROPS)
		return -KE_TOO_BIG;
	reg_props_init(out);
	out->count = count;
	memcpy(out->prop, at, (size_t)count * sizeof(struct reg_prop));
	return props_check(out);
}

static void put_header(void *buf, uint16_t op, uint16_t count, uint32_t length)
{
	struct reg_header h = {op, count, length};
	memcpy(buf, &h, sizeof(h));
}

uint16_t reg_peek_op(const void *buf, size_t len)
{
	uint16_t op = 0;
	if (len >= sizeof(op))
		memcpy(&op, buf, sizeof(op));
	return op;
}

/* The size of the fixed part that follows the header, per op. */
static size_t request_fixed(uint16_t op)
{
	switch (op) {
	case REG_OP_QUERY:
	case REG_OP_CONNECT:
		return sizeof(uint64_t);
	default:
		return 0;
	}
}

size_t reg_encode_request(const struct reg_request *rq, void *buf, size_t size)
{
	if (rq->op < REG_OP_REGISTER || rq->op > REG_OP_CONNECT || props_check(&rq->props) < 0)
		return 0;
	uint32_t count = rq->op == REG_OP_CONNECT ? 0 : rq->props.count;
	if (rq->op == REG_OP_REGISTER && count == 0)
		return 0;
	size_t fixed = request_fixed(rq->op);
	size_t len = sizeof(struct reg_header) + fixed + count * sizeof(struct reg_prop);
	if (len > size || len > REG_MSG_MAX)
		return 0;
	uint8_t *p = buf;
	put_header(p, rq->op, (uint16_t)count, (uint32_t)len);
	if (fixed)
		memcpy(p + sizeof(struct reg_header), &rq->id, sizeof(rq->id));
	memcpy(p + sizeof(struct reg_header) + fixed, rq->props.prop,
	       count * sizeof(struct reg_prop));
	return len;
}

/* The header of an untrusted message: it fits, and says exactly `len`. */
static int header_read(const void *buf, size_t len, struct reg_header *h)
{
	if (!buf || len < sizeof(*h) || len > REG_MSG_MAX)
		return len > REG_MSG_MAX ? -KE_TOO_BIG : -KE_INVALID;
	memcpy(h, buf, sizeof(*h));
	if (h->length != len)
		return -KE_INVALID;
	return 0;
}

int reg_decode_request(const void *buf, size_t len, struct reg_request *out)
{
	struct reg_header h;
	int r = header_read(buf, len, &h);
	if (r < 0)
		return r;
	memset(out, 0, sizeof(*out));
	if (h.op < REG_OP_REGISTER || h.op > REG_OP_CONNECT)
		return -KE_NOT_SUPPORTED;
	if (h.count > REG_MAX_PROPS)
		return -KE_TOO_BIG;
	if ((h.op == REG_OP_REGISTER && h.count == 0) || (h.op == REG_OP_CONNECT && h.count))
		return -KE_INVALID;
	size_t fixed = request_fixed(h.op);
	/* count <= 16, so this cannot overflow. */
	if (len != sizeof(h) + fixed + (size_t)h.count * sizeof(struct reg_prop))
		return -KE_INVALID;
	const uint8_t *p = buf;
	out->op = h.op;
	if (fixed)
		memcpy(&out->id, p + sizeof(h), sizeof(out->id));
	return props_read(p + sizeof(h) + fixed, h.count, &out->props);
}

/* The fixed part of an event after the header. */
static size_t event_fixed(uint16_t op)
{
	return op == REG_OP_CONNECTION ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
}

size_t reg_encode_event(const struct reg_event *ev, void *buf, size_t size)
{
	if (ev->op < REG_OP_ADDED || ev->op > REG_OP_CONNECTION || props_check(&ev->props) < 0)
		return 0;
	uint32_t count = ev->op == REG_OP_CONNECTION ? 0 : ev->props.count;
	size_t fixed = event_fixed(ev->op);
	size_t len = sizeof(struct reg_header) + fixed + count * sizeof(struct reg_prop);
	if (len > size || len > REG_MSG_MAX)
		return 0;
	uint8_t *p = buf;
	put_header(p, ev->op, (uint16_t)count, (uint32_t)len);
	memcpy(p + sizeof(struct reg_header), &ev->id, sizeof(ev->id));
	if (ev->op == REG_OP_CONNECTION)
		memcpy(p + sizeof(struct reg_header) + 8, &ev->serial, sizeof(ev->serial));
	memcpy(p + sizeof(struct reg_header) + fixed, ev->props.prop,
	       count * sizeof(struct reg_prop));
	return len;
}

int reg_decode_event(const void *buf, size_t len, struct reg_event *out)
{
	struct reg_header h;
	int r = header_read(buf, len, &h);
	if (r < 0)
		return r;
	memset(out, 0, sizeof(*out));
	if (h.op < REG_OP_ADDED || h.op > REG_OP_CONNECTION)
		return -KE_NOT_SUPPORTED;
	if (h.count > REG_MAX_PROPS)
		return -KE_TOO_BIG;
	if (h.op == REG_OP_CONNECTION && h.count)
		return -KE_INVALID;
	size_t fixed = event_fixed(h.op);
	if (len != sizeof(h) + fixed + (size_t)h.count * sizeof(struct reg_prop))
		return -KE_INVALID;
	const uint8_t *p = buf;
	out->op = h.op;
	memcpy(&out->id, p + sizeof(h), sizeof(out->id));
	if (h.op == REG_OP_CONNECTION)
		memcpy(&out->serial, p + sizeof(h) + 8, sizeof(out->serial));
	return props_read(p + sizeof(h) + fixed, h.count, &out->props);
}

size_t reg_reply_begin(void *buf, size_t size, int32_t status, uint64_t value)
{
	struct reg_reply_head rh = {{REG_OP_REPLY, 0, sizeof(rh)}, status, 0, value};
	if (size < sizeof(rh))
		return 0;
	memcpy(buf, &rh, sizeof(rh));
	return sizeof(rh);
}

bool reg_reply_add(void *buf, size_t size, size_t *length, uint64_t id,
		   const struct reg_props *props)
{
	struct reg_reply_head rh;
	memcpy(&rh, buf, sizeof(rh));
	size_t add = sizeof(struct reg_entity_head) + props->count * sizeof(struct reg_prop);
	if (props_check(props) < 0 || rh.h.count == UINT16_MAX || *length + add > size ||
	    *length + add > REG_MSG_MAX)
		return false;
	struct reg_entity_head eh = {id, props->count, 0};
	uint8_t *p = (uint8_t *)buf + *length;
	memcpy(p, &eh, sizeof(eh));
	memcpy(p + sizeof(eh), props->prop, props->count * sizeof(struct reg_prop));
	*length += add;
	rh.h.count++;
	rh.h.length = (uint32_t)*length;
	memcpy(buf, &rh, sizeof(rh));
	return true;
}

void reg_reply_set_more(void *buf)
{
	struct reg_reply_head rh;
	memcpy(&rh, buf, sizeof(rh));
	rh.flags |= REG_REPLY_MORE;
	memcpy(buf, &rh, sizeof(rh));
}

int reg_decode_reply(const void *buf, size_t len, struct reg_reply *out,
		     struct reg_entity *entities, uint32_t max)
{
	struct reg_header h;
	int r = header_read(buf, len, &h);
	if (r < 0)
		return r;
	if (h.op != REG_OP_REPLY)
		return -KE_NOT_SUPPORTED;
	struct reg_reply_head rh;
	if (len < sizeof(rh))
		return -KE_INVALID;
	memcpy(&rh, buf, sizeof(rh));
	if (rh.flags & ~REG_REPLY_MORE)
		return -KE_INVALID;
	/* A status is 0 or a known negated error code. */
	if (rh.status > 0 || rh.status <= -KE_ERROR_COUNT)
		return -KE_INVALID;
	out->status = rh.status;
	out->flags = rh.flags;
	out->value = rh.value;
	out->count = h.count;
	/* Walk the entities: each must lie wholly inside the message, and
	 * together they must cover it exactly. */
	const uint8_t *p = buf;
	size_t pos = sizeof(rh);
	for (uint32_t i = 0; i < h.count; i++) {
		struct reg_entity_head eh;
		if (len - pos < sizeof(eh))
			return -KE_INVALID;
		memcpy(&eh, p + pos, sizeof(eh));
		pos += sizeof(eh);
		if (eh.count > REG_MAX_PROPS)
			return -KE_TOO_BIG;
		if (eh.reserved || len - pos < (size_t)eh.count * sizeof(struct reg_prop))
			return -KE_INVALID;
		if (i < max) {
			entities[i].id = eh.id;
			r = props_read(p + pos, eh.count, &entities[i].props);
		} else {
			struct reg_props scratch;
			r = props_read(p + pos, eh.count, &scratch);
		}
		if (r < 0)
			return r;
		pos += (size_t)eh.count * sizeof(struct reg_prop);
	}
	if (pos != len)
		return -KE_INVALID;
	return 0;
}
