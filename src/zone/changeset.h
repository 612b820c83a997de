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

/* The functions below live in zone_diff.c (with the diff that makes
 * changesets). */

/** Take a reference (any thread). */
void changeset_ref(struct changeset *cs);

/** Drop a reference (any thread; NULL is fine); the last frees the blob
 * and the struct, which must have been malloc'd (changeset_new does). */
void changeset_unref(struct changeset *cs);

/**
 * A changeset owning `wire` (malloc'd, `len` octets; taken over, also on
 * failure), refs 1. The blob is not checked here: changeset_check does.
 * \return it, or NULL when out of memory (`wire` freed)
 */
struct changeset *changeset_new(uint32_t from, uint32_t to, uint32_t nremoved, uint32_t nadded,
				uint8_t *wire, size_t len);

/** One record of a blob, pointing into it. */
struct changeset_rr {
	const uint8_t *rr;	/* the whole record: owner, fixed part, rdata */
	size_t rr_len;
	const uint8_t *owner;	/* uncompressed wire name (the case it was written in) */
	uint8_t owner_len;
	uint16_t type, rrclass;	/* host order */
	uint32_t ttl;		/* host order */
	uint16_t rdlen;
	const uint8_t *rdata;	/* rdlen octets */
	const uint8_t *fixed;	/* TYPE CLASS TTL RDLENGTH RDATA: what an rrset's wire holds */
};

/**
 * The record at `*pos` in the blob, `*pos` moved past it. Start at 0.
 * \return 1 (a record), 0 (the end of the blob), -EBADMSG (a record that
 *         overruns the blob, or an owner that is not an uncompressed name)
 */
int changeset_next_rr(const struct changeset *cs, size_t *pos, struct changeset_rr *rr);

/**
 * Check a blob (one read from a file, or received): every record whole,
 * an SOA first and after `nremoved` records, `nadded` records after it
 * and nothing more, no other SOA, the SOAs' serials `from` and `to`, the
 * two SOAs at the same owner, names uncompressed with labels of at most 63
 * octets.
 * \param[out] why, whysize  what is wrong and at which octet, on -EBADMSG
 *             (why NULL: not said)
 * \return 0 or -EBADMSG
 */
int changeset_check(const struct changeset *cs, char *why, size_t whysize);

#endif
