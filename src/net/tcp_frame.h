/* tcp_frame.h: DNS messages on a byte stream (RFC 1035 §4.2.2, RFC 7766
 * §8): a connection's input buffer, its two-octet length framing, and the
 * answer to each message as a framed response. No sockets here: tcp.c
 * reads into the buffer and sends what it is handed; the unit tests and
 * the fuzz target (tests/fuzz/fuzz_tcp.c) feed bytes directly. */
#ifndef SHOAL_TCP_FRAME_H
#define SHOAL_TCP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "answer/answer.h"
#include "ops/stats.h"
#include "zone/zonedb.h"

struct sockaddr;

#define TCP_MSG_MAX 65535               /* two-octet length prefix */
#define TCP_FRAME_MAX (2 + TCP_MSG_MAX) /* prefix and the largest message */
#define TCP_IN_INITIAL 1024             /* most queries are < 100 octets; grows on demand */

/** Octets received on a connection and not yet answered. `buf[0..len)`
 * always starts at a frame boundary. */
struct tcp_frame_in {
	uint8_t *buf;
	size_t len;
	size_t cap; /* TCP_IN_INITIAL .. TCP_FRAME_MAX */
};

/** What to do with the connection next. */
enum tcp_frame_result {
	TCP_FRAME_MORE = 0,    /* every complete message answered: read more */
	TCP_FRAME_BLOCKED = 1, /* output is pending: call again once it is out */
	TCP_FRAME_YIELD = 2,   /* a transfer has more messages to make: call again
				* when the socket can take more (others' turn first) */
	TCP_FRAME_CLOSE = -1,  /* bad framing, out of memory or a send error */
};

/** Messages of a transfer stream made per tcp_frame_process call: a fast
 * reader of a big zone must not keep the worker from its other
 * connections (16 × 16 KiB: a quarter megabyte per turn). */
#define TCP_XFR_BURST 16

struct xfr_out;

/** A worker's answering context: the configuration, its counters, and
 * the one buffer every response is written into. */
struct tcp_frame_answerer {
	const struct answer_cfg *cfg;
	struct stats *stats; /* queries, dropped, qtype, rcode, edns (not responses) */
	uint8_t *out;        /* TCP_FRAME_MAX octets */
};

/**
 * Hand one framed response to the transport.
 * \param frame  the answerer's `out`: two-octet length (net-order), then
 *               the response; valid until the next message is answered,
 *               so the transport copies what it cannot send now
 * \param len    2 + response length
 * \return TCP_FRAME_MORE (sent: go on), TCP_FRAME_BLOCKED (kept: stop
 *         after this message) or TCP_FRAME_CLOSE
 */
typedef enum tcp_frame_result (*tcp_frame_emit_fn)(void *ctx, const uint8_t *frame, size_t len);

/** Allocate the initial buffer. \return 0 or -ENOMEM */
int tcp_frame_in_init(struct tcp_frame_in *in);

/** Free the buffer (idempotent). */
void tcp_frame_in_free(struct tcp_frame_in *in);

/**
 * Make room for the next read at `in->buf + in->len`: a full buffer
 * doubles, up to TCP_FRAME_MAX.
 * \param[out] room  octets free; 0 when the buffer already holds
 *                   TCP_FRAME_MAX octets (complete messages waiting for
 *                   output to drain: do not read)
 * \return 0 or -ENOMEM (the buffer is unchanged)
 */
int tcp_frame_in_reserve(struct tcp_frame_in *in, size_t *room);

/**
 * Answer one message into `a->out` with its length prefix.
 * Pre: `db` stays valid for the call (the caller holds the RCU read lock).
 * \param peer  the client's address, for a server cookie (RFC 7873) and the
 *              transfer acls; NULL: no cookie is answered
 * \param[out] xo  set when the answer is the first message of a transfer
 *              stream (xfr/serve.h); the rest comes from tcp_frame_process
 * \return the frame length (2 + response), or 0 to send nothing
 */
size_t tcp_frame_answer(const struct tcp_frame_answerer *a, const struct zonedb *db,
                        const struct sockaddr *peer, const uint8_t *msg, size_t len,
                        struct xfr_out **xo);

/**
 * Answer the complete messages at the start of `in`, in order, handing
 * each response to `emit`, and drop them from the buffer. A transfer's
 * stream (`*xo`, the connection's, NULL when none runs) goes on first, at
 * most TCP_XFR_BURST messages per call (TCP_FRAME_YIELD when there are
 * more); messages after a transfer request wait until it is over (RFC
 * 7766 §6.2.1.1 lets a server answer in order). A stream that fails
 * closes the connection, so a partial zone never looks whole. Stops:
 * - at an incomplete message, growing the buffer to hold it whole
 *   (TCP_FRAME_MORE);
 * - at a length prefix below a DNS header (12): nothing sensible can
 *   follow, so the connection is to be closed (TCP_FRAME_CLOSE);
 * - after a message whose response `emit` did not take whole (its result).
 * Messages that get no answer (query_parse said drop) are consumed quietly.
 * Pre: `db` stays valid for the call (the caller holds the RCU read lock).
 */
enum tcp_frame_result tcp_frame_process(struct tcp_frame_in *in, const struct tcp_frame_answerer *a,
                                        const struct zonedb *db, const struct sockaddr *peer,
                                        struct xfr_out **xo, tcp_frame_emit_fn emit, void *ctx);

#endif
