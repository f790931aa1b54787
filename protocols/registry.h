/*
 * The registry protocol: init's directory of services and devices
 * (docs/registry.md).
 *
 * An *entity* is a set of string properties (key=value) and the lane of
 * its owner. Programs register entities, find them by a property filter,
 * watch for new ones and ask for a connection to one. Every message is a
 * fixed-layout little structure starting with struct reg_header; this
 * header and registry.c (encoders and validating decoders) are shared by
 * init, the C library and the host unit tests, so they use only the
 * freestanding C headers and <kestrel/error.h>.
 *
 * Transport (all requests are conversations on the program's registry
 * lane, see docs/ipc.md):
 *   REGISTER  client [OFFER, SEND req, PUSH owner-lane, RECV reply]
 *             registry [PULL, SEND reply]
 *   QUERY     client [OFFER, SEND req, RECV reply]
 *   WATCH     client [OFFER, SEND req, PUSH watch-lane, RECV reply]
 *   CONNECT   client [OFFER, SEND req, RECV reply, PULL lane]
 *             registry [SEND reply, PUSH lane] (a failure: [SEND reply] only)
 * A request whose op field says REGISTER or WATCH always carries a pushed
 * handle, even when the rest of it is malformed: the registry pulls (and,
 * on error, closes) it before replying.
 *
 * Events go the other way on lanes the registry holds one end of (owner
 * lanes, watch lanes). The registry keeps an ACCEPT posted there; the
 * holder of the other end OFFERs a conversation whenever it is ready for
 * the next event, so the registry never sends to a peer that is not
 * listening, and learns at once when that peer is gone (its ACCEPT ends
 * with KE_END_OF_LANE):
 *   owner lane   [OFFER, RECV connection event, PULL new lane]
 *   watch lane   [OFFER, RECV entity event]
 */
#ifndef KESTREL_PROTOCOL_REGISTRY_H
#define KESTREL_PROTOCOL_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits. A message never exceeds REG_MSG_MAX bytes (it must fit one
 * RECV_INLINE). */
#define REG_MSG_MAX 4096u
#define REG_MAX_PROPS 16u     /* properties per entity, filter terms per query */
#define REG_KEY_SIZE 32u      /* key bytes, NUL and zero padding included */
#define REG_VALUE_SIZE 96u    /* value bytes, NUL and zero padding included */
#define REG_MAX_ENTITIES 64u  /* registered at once, in all of init */
#define REG_MAX_WATCHES 32u   /* watches at once */
#define REG_MAX_QUEUED 16u    /* events waiting for one owner or watcher */

enum reg_op {
	/* requests */
	REG_OP_REGISTER = 1,
	REG_OP_QUERY = 2,
	REG_OP_WATCH = 3,
	REG_OP_CONNECT = 4,
	/* the registry's answers and events */
	REG_OP_REPLY = 0x81,
	REG_OP_ADDED = 0x82,      /* watch event: an entity (now) matches */
	REG_OP_REMOVED = 0x83,    /* watch event: a matching entity is gone */
	REG_OP_CONNECTION = 0x84, /* owner event: a client connected */
};

/* The start of every message. */
struct reg_header {
	uint16_t op;     /* enum reg_op */
	uint16_t count;  /* properties (requests, watch events) or entities (replies) */
	uint32_t length; /* bytes of the whole message, this header included */
};

/* One property: key and value, each NUL-terminated and zero-padded.
 * Keys are 1..31 bytes of printable ASCII without spaces or '='; values
 * 0..95 bytes of printable ASCII (spaces allowed). */
struct reg_prop {
	char key[REG_KEY_SIZE];
	char value[REG_VALUE_SIZE];
};

/*
 * Message layouts (little-endian, no padding beyond what is shown):
 *   REGISTER    header{count = n >= 1}, reg_prop[n]
 *   QUERY       header{count = n}, uint64 after, reg_prop[n]
 *               entities with an id > after that match all n terms
 *   WATCH       header{count = n}, reg_prop[n]
 *   CONNECT     header{count = 0}, uint64 id
 *   REPLY       header{count = e}, int32 status, uint32 flags, uint64 value,
 *               e × (struct reg_entity_head, reg_prop[head.count])
 *               REGISTER: value = the new id; QUERY: value = the last id
 *               included, flags REG_REPLY_MORE if more may follow
 *   ADDED, REMOVED  header{count = n}, uint64 id, reg_prop[n]
 *   CONNECTION  header{count = 0}, uint64 id, uint64 serial
 */
struct reg_entity_head {
	uint64_t id;
	uint32_t count; /* properties that follow */
	uint32_t reserved;
};

#define REG_REPLY_MORE (1u << 0)

struct reg_reply_head {
	struct reg_header h;
	int32_t status; /* 0 or -KE_* */
	uint32_t flags;
	uint64_t value;
};

/* A decoded property set. */
struct reg_props {
	uint32_t count;
	struct reg_prop prop[REG_MAX_PROPS];
};

/* A decoded request. */
struct reg_request {
	uint16_t op;
	uint64_t id; /* QUERY: after; CONNECT: the entity */
	struct reg_props props;
};

/* A decoded event (ADDED, REMOVED, CONNECTION). */
struct reg_event {
	uint16_t op;
	uint64_t id;
	uint64_t serial; /* CONNECTION */
	struct reg_props props;
};

/* One entity of a reply. */
struct reg_entity {
	uint64_t id;
	struct reg_props props;
};

/* A decoded reply; entities go to a caller's array. */
struct reg_reply {
	int32_t status;
	uint32_t flags;
	uint64_t value;
	uint32_t count; /* entities in the message */
};

/* Property sets. add: 0, -KE_INVALID (bad key or value, duplicate key),
 * -KE_TOO_BIG (full, or a string too long). */
void reg_props_init(struct reg_props *p);
int reg_props_add(struct reg_props *p, const char *key, const char *value);
/* The value of key, or NULL. */
const char *reg_props_get(const struct reg_props *p, const char *key);
/* Does `p` hold every key=value of `filter`? */
bool reg_props_match(const struct reg_props *p, const struct reg_props *filter);
/* Is one property well formed (NUL-terminated, zero-padded, allowed bytes)? */
bool reg_prop_valid(const struct reg_prop *p);

/* Encoders: the message length, or 0 if it does not fit `size` or the
 * input is not valid (the same checks as the decoders). */
size_t reg_encode_request(const struct reg_request *rq, void *buf, size_t size);
size_t reg_encode_event(const struct reg_event *ev, void *buf, size_t size);
/* A reply is built in steps: begin (no entities), then add entities while
 * they fit (false when the next does not: nothing was added). */
size_t reg_reply_begin(void *buf, size_t size, int32_t status, uint64_t value);
bool reg_reply_add(void *buf, size_t size, size_t *length, uint64_t id,
		   const struct reg_props *props);
void reg_reply_set_more(void *buf);

/* Decoders: 0, or -KE_INVALID (malformed), -KE_TOO_BIG (a count above a
 * limit), -KE_NOT_SUPPORTED (an op that is not of that kind). The input
 * is untrusted: every length, count, string and offset is checked. */
int reg_decode_request(const void *buf, size_t len, struct reg_request *out);
int reg_decode_event(const void *buf, size_t len, struct reg_event *out);
/* Up to `max` entities go to `entities`; all are checked, and out->count
 * says how many the message holds. */
int reg_decode_reply(const void *buf, size_t len, struct reg_reply *out,
		     struct reg_entity *entities, uint32_t max);
/* The op of a message, or 0 if it is shorter than an op field: what the
 * registry looks at to know whether a handle was pushed with it. */
uint16_t reg_peek_op(const void *buf, size_t len);

#endif
