/*
 * <kestrel/registry.h>: talking to init's registry of services and devices
 * (docs/registry.md; the messages are in protocols/registry.h).
 *
 * Blocking helpers built on kestrel_call(): each takes the caller's queue
 * (records of other tags that arrive meanwhile are kept for the caller,
 * as with kestrel_call) and the registry lane. Programs started by init
 * find that lane with kestrel_registry_lane(); a program passes it on to
 * its own children like any other handle.
 *
 * Return values are 0 (or a count) or -KE_*; the registry's own answers
 * are -KE_INVALID (a malformed request), -KE_TOO_BIG, -KE_NOT_FOUND (no
 * such entity), -KE_LIMIT (the registry is full), -KE_BUSY (the owner is
 * not taking connections).
 */
#ifndef _KESTREL_REGISTRY_H
#define _KESTREL_REGISTRY_H

#include <kestrel/ipc.h>
#include <registry.h>

/* The registry lane init gave this program (the last of its start
 * handles), or 0 if it was not started by init. */
kestrel_handle_t kestrel_registry_lane(void);

/* Register an entity with `props` (1..REG_MAX_PROPS). On success *id is
 * its id and *owner_lane the owner's lane: the entity lives as long as
 * that lane is open (close it, or exit, to remove the entity); take
 * connections on it with kestrel_registry_next_connection(). */
int64_t kestrel_registry_register(struct kestrel_queue *q, kestrel_handle_t registry,
				  const struct reg_props *props, uint64_t *id,
				  kestrel_handle_t *owner_lane);

/* Entities matching every term of `filter` (none: all), in id order. Up
 * to `max` are stored in out; returns how many match (may be more than
 * max). */
int64_t kestrel_registry_query(struct kestrel_queue *q, kestrel_handle_t registry,
			       const struct reg_props *filter, struct reg_entity *out,
			       uint32_t max);

/* Watch for entities matching `filter`: *watch_lane then yields an ADDED
 * event for each one that exists and each one registered later, and a
 * REMOVED event when one goes away (kestrel_registry_next_event). Close
 * the lane to stop. If the watcher falls REG_MAX_QUEUED events behind,
 * the registry ends the watch (the next event is -KE_END_OF_LANE). */
int64_t kestrel_registry_watch(struct kestrel_queue *q, kestrel_handle_t registry,
			       const struct reg_props *filter, kestrel_handle_t *watch_lane);

/* The next event on a watch lane (ADDED or REMOVED); -KE_TIMEOUT, or
 * -KE_END_OF_LANE when the watch is over. */
int64_t kestrel_registry_next_event(struct kestrel_queue *q, kestrel_handle_t watch_lane,
				    struct reg_event *ev, uint64_t timeout_ns);

/* Connect to entity `id`: *lane is one end of a new stream whose other
 * end goes to the entity's owner (as a CONNECTION event). */
int64_t kestrel_registry_connect(struct kestrel_queue *q, kestrel_handle_t registry, uint64_t id,
				 kestrel_handle_t *lane);

/* The owner's side: wait for the next connection on an owner lane. *lane
 * is the owner's end of the client's stream; ev (may be NULL) the event
 * (entity id, serial number). */
int64_t kestrel_registry_next_connection(struct kestrel_queue *q, kestrel_handle_t owner_lane,
					 struct reg_event *ev, kestrel_handle_t *lane,
					 uint64_t timeout_ns);

#endif
