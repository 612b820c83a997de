/* serve.h: the requests the answer table alone does not answer — queries
 * signed with TSIG (RFC 8945), and zone transfers out (AXFR, RFC 5936;
 * IXFR, RFC 1995) — on the UDP and TCP paths alike.
 *
 * The workers send a query here only when serve_wanted() says so (one
 * predictable branch on the query path); everything else goes straight to
 * answer_query.
 *
 * A signed request is verified first against the keys of the published
 * configuration (zonedb->conf): an unknown key, a wrong MAC or a time out
 * of the fudge is answered NOTAUTH with the TSIG error of §5.2 (BADTIME
 * signed, with our time); a verified one is answered as it would be
 * unsigned, and the answer signed with its key over its MAC (§5.3).
 *
 * A transfer request is for a zone we serve (else NOTAUTH), from a client
 * the zone's acl allows (guard/acl.h; else REFUSED with Extended DNS Error
 * 18 "Prohibited" when the query has an OPT, logged at a limited rate).
 * Over UDP an AXFR is REFUSED and an IXFR gets our SOA alone (RFC 1995 §2:
 * the client asks again over TCP). Over TCP the answer is a stream of
 * messages, struct xfr_out: the first is returned at once, the others
 * come from xfr_out_next as the connection's socket drains. At most
 * `answer_cfg.xfr_max` run at once across the server; past that REFUSED.
 *
 * A NOTIFY (RFC 1996, over UDP or TCP) is for a secondary zone of ours
 * (else NOTAUTH for a zone we do not have, REFUSED for one we are the
 * primary of), from an address of one of its primaries (any port, as
 * BIND allows) or a client its acl allows for notify (else REFUSED); its
 * question is the zone's SOA (else FORMERR). It is answered at once (AA,
 * NOERROR, the question echoed, signed when it was) and handed to
 * answer_cfg.notify with the serial of the SOA in its answer section, if
 * any.
 *
 * A stream reads one version of the zone, held by reference (zone_ref)
 * from its first message to its last, and keeps copies of its key and
 * TSIG state: a reload that publishes a new version, new acls or new keys
 * meanwhile changes nothing for a transfer already running.
 */
#ifndef SHOAL_SERVE_H
#define SHOAL_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "answer/answer.h"
#include "dns/query.h"
#include "zone/zonedb.h"

struct xfr_out;

/** The query goes to serve_request instead of answer_query: it is signed,
 * or asks for a transfer. */
static inline bool serve_wanted(const struct query *q, enum query_status st)
{
	return __builtin_expect(st == QUERY_BADKEY || st == QUERY_NOTIFY ||
					(st == QUERY_OK && q->has_question &&
					 (q->qtype == RRTYPE_AXFR || q->qtype == RRTYPE_IXFR)),
				0);
}

/**
 * Answer a request serve_wanted() chose, as answer_query would.
 * \param msg, len  the request as received (its TSIG is checked over it);
 *                  may be the same memory as `out`: it is read first
 * \param out, cap  the response buffer; for UDP the response is limited to
 *                  the query's payload size as answer_query limits it
 * \param[out] xo   TCP only (NULL for UDP): set when the answer is a
 *                  transfer stream whose first message is in `out`; the
 *                  caller sends it, then calls xfr_out_next until 0, then
 *                  xfr_out_free
 * \param now       the time for TSIG (seconds since the epoch)
 * \return the response length, or 0 to send nothing
 * Pre: inside the RCU read-side section `db` was read in.
 */
size_t serve_request(const struct answer_cfg *cfg, const struct zonedb *db, const struct query *q,
		     enum query_status st, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
		     struct xfr_out **xo, uint64_t now, struct answer_info *info);

/**
 * The next message of a stream into `out` (`cap` >= AXFR_MSG_LIMIT + 1024),
 * signed when the request was. No RCU section needed: the stream holds
 * what it reads.
 * \return its length, or 0 when the stream is over (every message written,
 *         or a failure that ends the connection: xfr_out_failed)
 */
size_t xfr_out_next(struct xfr_out *xo, uint8_t *out, size_t cap, uint64_t now);

/** True when the stream stopped before its end (a record no message can
 * hold, out of memory): the connection should be closed, so the client
 * does not take a partial zone for a whole one. */
bool xfr_out_failed(const struct xfr_out *xo);

/** End a stream, finished or not: its version and state are released and
 * it leaves the server-wide count (NULL: nothing). */
void xfr_out_free(struct xfr_out *xo);

/** Transfers running now, server-wide. */
unsigned xfr_out_running(void);

#endif
