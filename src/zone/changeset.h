/* changeset.h: the difference between two versions of a zone, as IXFR
 * (RFC 1995 §4) sends it and the journal keeps it.
 *
 * One changeset takes a zone from serial `from` to serial `to`. Its
 * records are one wire blob, in IXFR order:
 *
 *     old SOA, the records removed, new SOA, the records added
 *
 * each record uncompressed (owner, type, class, TTL, RDLENGTH, RDATA;
 * names inside RDATA uncompressed too, as the zone stores them), so the
 * blob can be written to a file, read back, checked and copied into
 * messages as it is. `nremoved` and `nadded` count the records between the
 * SOAs (the SOAs themselves not counted). A TTL change is a removal of the
 * record with the old TTL and an addition with the new one.
 *
 * Changesets are immutable once made and reference counted, so an IXFR in
 * progress keeps the ones it sends while the journal drops old ones.
 */
#ifndef SHOAL_CHANGESET_H
#define SHOAL_CHANGESET_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct changeset {
	uint32_t from, to;	/* SOA serials */
	uint32_t nremoved, nadded;
	size_t len;		/* octets of wire */
	uint8_t *wire;		/* malloc'd: the records, as above */
	atomic_uint refs;	/* 1 when made */
};

#endif
