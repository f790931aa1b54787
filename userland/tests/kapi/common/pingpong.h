/*
 * The message exchange of the ping-pong tests: the client sends N
 * messages (sequence number, a payload derived from it, the payload's
 * checksum); the server checks each one and answers with its sequence
 * number and the checksum of the whole message; the client checks the
 * answers. Both sides keep PINGPONG_WINDOW operations in flight, each a
 * one-action submission, so the kernel's in-order matching of SENDs with
 * RECVs is what keeps the sequence straight: the i-th RECV must see the
 * i-th message. Messages and answers travel on two streams: on one stream
 * the i-th action of one side always meets the i-th of the other, so
 * windows of RECVs posted by both sides would meet each other.
 */
#ifndef KAPI_PINGPONG_H
#define KAPI_PINGPONG_H

#include <kestrel/ipc.h>
#include <stddef.h>
#include <stdint.h>

#define PINGPONG_WINDOW 16
#define ECHO_MAX 256

struct pingpong_msg {
	uint64_t seq;
	uint8_t payload[48];
	uint64_t sum; /* of the payload */
};

struct pingpong_reply {
	uint64_t seq;
	uint64_t sum; /* of the whole message received */
};

void pingpong_fill(struct pingpong_msg *m, uint64_t seq);
/* 0, or a non-zero code naming the first problem. */
int pingpong_server(struct kestrel_queue *q, kestrel_handle_t lane, kestrel_handle_t reply_lane,
		    uint64_t count);
/* 0, or -1 with a description in err. */
int pingpong_client(struct kestrel_queue *q, kestrel_handle_t lane, kestrel_handle_t reply_lane,
		    uint64_t count, char *err, size_t errlen);

#endif
