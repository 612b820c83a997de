/* axfr.h: one zone version as the messages of an AXFR response (RFC 5936
 * §2.2), written one message at a time, so that a transport can send each
 * as its socket drains and stop anywhere.
 *
 * The stream holds the version by reference (zone_ref) from axfr_start to
 * axfr_end, not by an RCU read-side section: a transfer may take minutes
 * and must not stall reloads, and it must read one version from its first
 * record to its last whatever is published meanwhile. Messages: the SOA
 * first, every other record of the zone once (RRSIGs from each name's
 * RRSIG set), the SOA last; each message compressed on its own and at most
 * AXFR_MSG_LIMIT octets (compression pointers reach only the first 16 KiB,
 * 14 bits); a record too big for that goes alone in a message of its own,
 * up to the transport's limit. The question only in the first message.
 *
 * Access control, TSIG, and the TCP streaming belong to the transport
 * (issue 19); this is the part that reads the zone. */
#ifndef SHOAL_AXFR_H
#define SHOAL_AXFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/query.h"
#include "zone/zone.h"

/* Octets per message: what Knot and NSD use (about 16 KiB), and the most a
 * message can compress into (a pointer's offset has 14 bits). */
#define AXFR_MSG_LIMIT 16384

enum axfr_phase {
	AXFR_SOA_FIRST,
	AXFR_BODY,
	AXFR_SOA_LAST,
	AXFR_DONE,
	AXFR_FAILED, /* a record that fits no message: the transfer must end */
};

struct axfr {
	struct zone *z;		/* the version, held */
	struct query q;		/* the request: ID, flags, question */
	enum axfr_phase phase;
	size_t slot;		/* AXFR_BODY: the table slot of the next node */
	uint16_t set;		/* its next RRset */
	uint16_t rec;		/* the next record of that set */
	unsigned messages;	/* written so far */
	size_t records;		/* written so far, both SOAs counted */
};

/**
 * Start a transfer of version `z` for request `q`: takes a reference to
 * `z` (any thread: inside the RCU read-side section that found it in the
 * published zonedb, or on a version already held; never on a version
 * nobody holds, refs 0, which axfr_end would then release).
 */
void axfr_start(struct axfr *x, struct zone *z, const struct query *q);

/**
 * Write the next message into `buf`.
 * \param cap  octets `buf` holds: at least AXFR_MSG_LIMIT, up to 65535 (a
 *             record larger than AXFR_MSG_LIMIT gets a message up to this)
 * \return the message length, or 0 when the transfer is complete (phase
 *         AXFR_DONE) or cannot go on (AXFR_FAILED: a record larger than
 *         `cap` allows)
 */
size_t axfr_next(struct axfr *x, uint8_t *buf, size_t cap);

/** Drop the reference (idempotent). */
void axfr_end(struct axfr *x);

#endif
