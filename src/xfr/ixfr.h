/* ixfr.h: the changesets from a client's serial to a served version as
 * the messages of an IXFR response (RFC 1995 §4), written one message at a
 * time as axfr.h writes an AXFR, for a transport to send as its socket
 * drains.
 *
 * The response is the uncondensed form: the served version's SOA, then
 * each changeset's records in its blob's order (old SOA, the records
 * removed, new SOA, the records added), then the served version's SOA
 * again. When the client is already at the served serial (no changeset),
 * the response is that SOA alone (RFC 1995 §2).
 *
 * The stream holds the served version (zone_ref, for its SOA) and every
 * changeset (changeset_ref) from ixfr_start to ixfr_end, so a journal
 * dropping old changesets or a newer version published meanwhile does not
 * pull them from under it. Messages as AXFR's: each compressed on its own
 * (owner names and the names in NS, CNAME, PTR, MX and SOA rdata, by the
 * response writer), at most AXFR_MSG_LIMIT octets, a record too big for
 * that alone in a message up to the transport's cap; the question (its
 * QTYPE IXFR kept) in the first message only; QR and AA set, RCODE 0.
 *
 * Choosing the changesets (the journal), falling back to AXFR when there
 * are none from the client's serial, access control, TSIG and the TCP
 * streaming belong to the caller. */
#ifndef SHOAL_IXFR_H
#define SHOAL_IXFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/query.h"
#include "xfr/axfr.h"
#include "zone/changeset.h"
#include "zone/zone.h"

enum ixfr_phase {
	IXFR_SOA_FIRST,
	IXFR_BODY,
	IXFR_SOA_LAST,
	IXFR_DONE,
	IXFR_FAILED, /* a record that fits no message (or a blob that does not parse) */
};

struct ixfr {
	struct zone *z;		   /* the served version, held */
	struct changeset **cs;	   /* malloc'd array, each held */
	size_t ncs;
	struct query q;		   /* the request: ID, flags, question */
	enum ixfr_phase phase;
	size_t cur;		   /* IXFR_BODY: the changeset being sent */
	size_t pos;		   /* the offset of its next record */
	unsigned messages;	   /* written so far */
	size_t records;		   /* written so far, every SOA counted */
};

/**
 * Start an IXFR response for request `q`: version `z` served, changesets
 * `cs[0..ncs)` sent. Takes a reference to `z` (as axfr_start: inside the
 * RCU read-side section that found it, or on a version already held) and
 * to each changeset.
 * Pre: the changesets are consecutive: cs[i]->to == cs[i+1]->from, and
 *      cs[ncs-1]->to is z's serial (cs[0]->from is the client's serial).
 * \return 0; -EINVAL when they are not consecutive or do not end at z's
 *         serial; -EBADMSG when a blob fails changeset_check; -ENOMEM.
 *         Nothing is held on failure, and ixfr_end is harmless either way.
 */
int ixfr_start(struct ixfr *x, struct zone *z, struct changeset *const *cs, size_t ncs,
	       const struct query *q);

/**
 * Write the next message into `buf`.
 * \param cap  octets `buf` holds: at least AXFR_MSG_LIMIT, up to 65535 (a
 *             record larger than AXFR_MSG_LIMIT gets a message up to this)
 * \return the message length, or 0 when the response is complete (phase
 *         IXFR_DONE) or cannot go on (IXFR_FAILED: a record larger than
 *         `cap` allows, or a changeset blob that does not parse)
 */
size_t ixfr_next(struct ixfr *x, uint8_t *buf, size_t cap);

/** Drop the references (idempotent). */
void ixfr_end(struct ixfr *x);

#endif
