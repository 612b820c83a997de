/* rrl.h: response rate limiting for UDP (as BIND's rate-limit, NSD's rrl,
 * Knot's mod-rrl).
 *
 * A response is accounted to a bucket keyed on the client's network (the
 * address under a prefix, /24 and /56 by default), the kind of answer and
 * a name (answer.h, enum answer_kind). Each bucket lets `rate` responses a
 * second through and saves up at most `window` seconds of them for a burst;
 * over that, responses are dropped, and one in `slip` (at random) is sent as
 * an empty truncated reply so that a real client behind a spoofed flood can
 * still get its answer over TCP.
 *
 * The table is a fixed array of 64-bit buckets chosen at start (nothing is
 * allocated afterwards), shared by every UDP worker and updated with one
 * compare-and-swap: a bucket holds a tag from the key's hash and the
 * "theoretical arrival time" of GCRA (the token bucket written as one time
 * stamp). Keys are hashed with SipHash under a random secret, so clients
 * cannot aim collisions; a key finds its bucket among 4 neighbours in one
 * cache line, and a new key takes the one whose owner is idle the longest. */
#ifndef SHOAL_RRL_H
#define SHOAL_RRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "answer/answer.h"
#include "ops/stats.h"

/* Time in ticks of 2^-20 s (about 1 µs): fine enough that 1/rate is
 * exact to 0.1% for rates up to 1,000/s. */
#define RRL_TICK_SHIFT 20
#define RRL_WAYS 4 /* buckets a key may use: 4 × 8 octets, half a cache line */
#define RRL_RATE_MAX 100000
#define RRL_WINDOW_MAX 3600
#define RRL_SIZE_MAX (1u << 28) /* 2 GiB of buckets */

struct rrl_cfg {
	unsigned rate;	     /* responses per second per bucket (> 0) */
	unsigned slip;	     /* one limited response in `slip` is truncated; 0: none */
	unsigned window;     /* seconds of unused rate a bucket saves up (burst) */
	size_t size;	     /* buckets; rounded up to a power of two, at least RRL_WAYS */
	unsigned v4_prefix;  /* 0-32 */
	unsigned v6_prefix;  /* 0-128 */
};

struct rrl;

enum rrl_action {
	RRL_PASS = 0,
	RRL_DROP,
	RRL_SLIP,
};

/** A table for `cfg` (rate must be > 0). \return NULL when out of memory */
struct rrl *rrl_new(const struct rrl_cfg *cfg);
void rrl_free(struct rrl *t);

/** Buckets in the table (cfg.size rounded up) and octets they take. */
size_t rrl_buckets(const struct rrl *t);
size_t rrl_bytes(const struct rrl *t);

/** Now, in ticks (monotonic, coarse: a few ms of resolution is plenty). */
uint64_t rrl_now(void);

/**
 * Account one response and say what to do with it.
 * \param addr     the client (AF_INET or AF_INET6)
 * \param kind     enum answer_kind
 * \param name     the hash of the name the kind is keyed on
 * \param now      rrl_now(), or a test's clock
 * \param slip_state the calling thread's random state for choosing the
 *                 slipped responses (0 to start; no shared write for it)
 */
enum rrl_action rrl_account(struct rrl *t, const struct sockaddr *addr, unsigned kind,
			    uint64_t name, uint64_t now, uint64_t *slip_state);

/**
 * The UDP path: rate-limit the response answer_query built in `buf`
 * (`len` octets), unless the client showed a valid server cookie. Counts
 * drops and slips in `st`.
 * \return the length to send: len, a slipped response's, or 0 to drop
 */
size_t rrl_udp(struct rrl *t, uint64_t *slip_state, const struct query *q,
	       const struct answer_info *info, uint8_t *buf, size_t len,
	       const struct sockaddr *addr, struct stats *st);

#endif
