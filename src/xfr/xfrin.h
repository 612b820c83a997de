/* xfrin.h: the secondary's side of the transfer protocols: asking a
 * primary for its SOA, and receiving IXFR (RFC 1995) or AXFR (RFC 5936)
 * into a new version of the zone.
 *
 * Two layers:
 *  - a parser (struct xfrin_parse) fed the messages of one answer in
 *    order, as they come, with no network: it checks each message (ID,
 *    QR, opcode, RCODE, question, TSIG by tsig_verify_next), reads its
 *    records (names decompressed, owners within the zone) and follows the
 *    RFC 1995 §4 / RFC 5936 §2.2 shape: first SOA, then either a whole
 *    zone ending with the same SOA, or sequences of (old SOA, removed,
 *    new SOA, added) ending with the first SOA again. When the answer is
 *    complete it gives a new version: built from scratch (zone_builder)
 *    for a whole zone, or the base with each difference applied
 *    (changeset_apply) for an incremental one. The fuzz target and the
 *    unit tests drive this layer;
 *  - the network (xfrin_soa, xfrin_transfer): blocking calls with
 *    deadlines, for the secondary's own threads, never a worker.
 *
 * Whatever goes wrong discards the whole answer: the base version is never
 * changed (versions are immutable, zone.h), and `why` says which message,
 * which record and what was wrong. */
#ifndef SHOAL_XFRIN_H
#define SHOAL_XFRIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/dname.h"
#include "dns/tsig.h"
#include "ops/conf.h"
#include "zone/changeset.h"
#include "zone/zone.h"

/** Milliseconds a transfer may go without receiving a byte before it is
 * given up (Knot's tcp-io-timeout is of this order). */
#define XFRIN_IDLE_MS_DEFAULT 10000
/** Milliseconds for a SOA query over UDP before the next try or primary. */
#define XFRIN_SOA_TIMEOUT_MS 2000

/** One primary, as the secondary asks it. */
struct xfrin_remote {
	struct sockaddr_storage addr;
	socklen_t addr_len;
	const struct conf_key *key;	/* NULL: unsigned */
	const char *name;		/* for messages, e.g. "primary1 127.0.0.1@5300" */
	/* Source address to bind (len 0: the kernel's choice). */
	struct sockaddr_storage source;
	socklen_t source_len;
};

struct xfrin_limits {
	unsigned idle_ms;	/* no byte received for this long: fail (0: XFRIN_IDLE_MS_DEFAULT) */
	unsigned total_ms;	/* the whole transfer (0: no bound but idle) */
	uint64_t max_size;	/* zone-max-size: octets of records received (each counted
				 * uncompressed: owner, fixed part, rdata), 0: no bound */
};

/* ---- the parser ---- */

enum xfrin_kind {
	XFRIN_AXFR,
	XFRIN_IXFR,	/* the request carried base's SOA in its authority section */
};

enum xfrin_status {
	XFRIN_MORE = 0,		/* this message was fine: give the next */
	XFRIN_DONE,		/* the answer is complete: xfrin_parse_finish */
	XFRIN_UPTODATE,		/* IXFR answered with a first SOA whose serial is not newer
				 * than base's (RFC 1995 §2: the SOA alone; whatever follows
				 * it is not read): nothing to do; xfrin_parse_serial()
				 * gives the SOA's serial */
	XFRIN_FALLBACK,		/* IXFR refused in a way that asks for AXFR (NOTIMP, FORMERR in
				 * the first message), or differences that cannot lead from
				 * base (the first not starting at base's serial, one not
				 * starting where the one before ended: RFC 1995 §4
				 * inconsistent, an AXFR may still work); `why` says */
	XFRIN_ERROR,		/* discard everything; `why` says */
};

struct xfrin_parse;

/**
 * Start reading the answer to a request.
 * \param apex  the zone (lowercased wire)
 * \param base  IXFR: the version the request named (its serial went in the
 *              request; the parser holds no reference, the caller keeps it
 *              alive and the newest of its lineage until finish/free: one
 *              with a successor already, even a released one, cannot be
 *              updated and finish gives -EINVAL). AXFR: NULL (ignored).
 * \param id    the request's ID
 * \param tsig  the state tsig_sign_request left (NULL: the request was unsigned,
 *              and a signed answer is then an error); the parser verifies
 *              every message with it (tsig_verify_next) and wants the last
 *              one signed (RFC 8945 §5.3.1)
 * \param max_size  octets of records past which the transfer fails (0: none),
 *              counted as xfrin_limits.max_size
 * \return the parser, or NULL when out of memory (or IXFR without base, or
 *         apex not a wire name of apex_len octets)
 */
struct xfrin_parse *xfrin_parse_new(enum xfrin_kind kind, const uint8_t *apex, size_t apex_len,
				    struct zone *base, uint16_t id, struct tsig_state *tsig,
				    uint64_t max_size);

/**
 * Feed one message (a TCP message without its length prefix, or a
 * datagram). `now` is for TSIG times. The records of a whole zone go into
 * a zone builder as they come (nothing else keeps a copy); those of
 * differences into one changeset blob each.
 * \param[out] why  the reason on XFRIN_ERROR and XFRIN_FALLBACK: which
 *             message (1-based), which record (its owner and type), what
 * \return a status above; after DONE, UPTODATE, FALLBACK or ERROR, feed nothing more
 */
enum xfrin_status xfrin_parse_msg(struct xfrin_parse *p, const uint8_t *wire, size_t len,
				  uint64_t now, char *why, size_t whysize);

/** After XFRIN_ERROR: what kind, for a caller's return value: -EPROTO (a
 * bad answer), -EFBIG (max_size), -ENOMEM. 0 otherwise. */
int xfrin_parse_error(const struct xfrin_parse *p);

/** The first SOA's serial (0 before it): after XFRIN_UPTODATE, the
 * primary's serial. */
uint32_t xfrin_parse_serial(const struct xfrin_parse *p);

/** What a complete answer gave. */
struct xfrin_result {
	struct zone *zone;		/* the new version (refs 0, not published) */
	bool full;			/* a whole zone (AXFR, or IXFR answered as AXFR) */
	struct changeset **cs;		/* IXFR: the differences applied, oldest first,
					 * each referenced (for the journal); NULL after a whole zone */
	size_t ncs;
	uint32_t serial;		/* the new version's */
	size_t messages, records;	/* received */
	uint64_t octets;		/* of records, as max_size counts them */
	bool has_expire_opt;		/* an answer message carried EDNS EXPIRE (RFC 7314) */
	uint32_t expire_opt;		/* its value (the first one's), seconds */
};

/**
 * After XFRIN_DONE: make the version (this is where a whole zone is
 * finished, zone_builder_finish, or the differences applied: the heavy
 * part, in time proportional to the zone or to the differences). The
 * differences are applied to base in order in one zone update (no
 * version per difference; one that does not fit leaves base as it was and
 * without a successor). Runs the DNSSEC checks a file load runs
 * (zone_dnssec_check); its findings, and the warnings of records taken
 * anyway (a duplicate, a TTL unlike its set's), go to `warn` (may be NULL).
 * Once only.
 * \param[out] out  filled on success; release it with xfrin_result_free
 *             (which frees the zone too unless the caller took it: set
 *             out->zone = NULL after taking it)
 * \param[out] why  the reason on failure (a difference that does not fit the
 *             base: RFC 1995 §4 inconsistent, so the caller falls back to AXFR;
 *             a zone without SOA or NS at the apex; out of memory)
 * \return 0; -EINVAL (inconsistent, or not a zone, or not XFRIN_DONE), -ENOMEM
 */
int xfrin_parse_finish(struct xfrin_parse *p, struct xfrin_result *out, zone_warn_fn warn,
		       void *ctx, char *why, size_t whysize);

/** Free a parser (at any point). */
void xfrin_parse_free(struct xfrin_parse *p);

/** Release what a result holds. */
void xfrin_result_free(struct xfrin_result *r);

/* ---- the network ---- */

/** What a SOA query learned. */
struct xfrin_soa_answer {
	uint32_t serial;
	uint32_t refresh, retry, expire, minimum;	/* the SOA's timers */
	bool has_expire_opt;	/* the answer carried EDNS EXPIRE (RFC 7314) */
	uint32_t expire_opt;	/* its value, seconds */
	unsigned rcode;		/* of the answer (0 on success) */
};

/**
 * Ask `r` for the SOA of `apex` over UDP (with EDNS and an empty EXPIRE
 * option, signed with r->key), trying again over TCP when the answer is
 * truncated. The answer must come from r's address, match ID and question,
 * have AA, pass TSIG when signed, and hold the zone's SOA. Datagrams from
 * elsewhere, with another ID or question, or not answers, are ignored
 * (the wait goes on: RFC 5452 §9.1). timeout_ms 0: XFRIN_SOA_TIMEOUT_MS;
 * the TCP retry gets a timeout_ms of its own.
 * \param[out] why  on failure: "timeout", "REFUSED", "TSIG BADSIG", ...
 * \return 0; -ETIMEDOUT; -ECONNREFUSED (or another -errno of the socket);
 *         -ECONNRESET (the TCP retry's connection closed without an
 *         answer); -EPROTO (an answer that is not a good one: rcode, TSIG,
 *         no AA, no SOA); -EINVAL (apex not a wire name); -ENOMEM
 */
int xfrin_soa(const struct xfrin_remote *r, const uint8_t *apex, size_t apex_len,
	      unsigned timeout_ms, struct xfrin_soa_answer *out, char *why, size_t whysize);

/**
 * Transfer `apex` from `r` over TCP: IXFR from base's serial when `base`
 * is given and `axfr` is false, else AXFR. An IXFR that the primary
 * refuses in a way that asks for AXFR, or whose differences do not fit
 * base (inconsistent), is followed by an AXFR on a new connection (the
 * log line's reason in out_note). A signed request (r->key) requires
 * signed answers.
 * \param[out] out  on 0: the new version and what came (xfrin_result_free)
 * The request carries an EDNS EXPIRE option (RFC 7314), the answer's in
 * out->has_expire_opt. Record warnings and DNSSEC findings are logged
 * (log_msg, WARN). lim may be NULL; total_ms bounds both tries.
 * \param[out] note  what happened on the way ("IXFR: message 1: NOTIMP to
 *             IXFR: AXFR instead"), "" if nothing
 * \param[out] why  the reason on failure
 * \return 0 (a new version in out); 1 (up to date: the primary's serial,
 *         in out->serial, is not newer than base's); -ETIMEDOUT (idle or
 *         total); -ECONNRESET (the primary closed the connection before
 *         the final SOA); -ECONNREFUSED and other -errno of the socket;
 *         -EPROTO (a bad answer: rcode, TSIG, malformed, outside the
 *         zone, not a zone, ...); -EFBIG (max_size); -ENOMEM; -EINVAL
 *         (apex not a wire name of apex_len octets)
 */
int xfrin_transfer(const struct xfrin_remote *r, const uint8_t *apex, size_t apex_len,
		   struct zone *base, bool axfr, const struct xfrin_limits *lim,
		   struct xfrin_result *out, char *note, size_t notesize, char *why,
		   size_t whysize);

/**
 * While `on`, every SOA query and transfer in progress or started ends at
 * its next wait (within 100 ms) with -ECANCELED: the server stopping does
 * not wait for a slow primary. Process-wide; any thread.
 */
void xfrin_cancel(bool on);

#endif
