/* zone_diff.h: the difference of two versions of a zone as a changeset
 * (changeset.h), and a changeset applied to a version to make the next.
 *
 * The difference is RFC 1995's: a record is its owner, type, class, TTL
 * and rdata; a record with another TTL is another record (removed, then
 * added). Names inside rdata compare without case where the zone's own
 * duplicate check compares them so (rdata_equal, RFC 4034 §6.2): a
 * version whose NS target changed only in case has not changed. RRSIGs
 * are records of the RRSIG set like any other (a re-signed zone differs in
 * every RRSIG). The SOA is in neither list: it is the changeset's two SOAs.
 *
 * Cost. Two versions of one lineage (the newer made from the older by
 * zone_update, zone_update.c) share the table pages and the nodes that did
 * not change, by pointer: a page shared by both is skipped whole (8 bytes
 * read per 512 names), a node shared by both is skipped, so the work is a
 * pass over the page directory plus the changed pages and nodes. Two
 * versions loaded independently share nothing: both tables are walked and
 * each name looked up in the other, linear in the size of the zones. */
#ifndef SHOAL_ZONE_DIFF_H
#define SHOAL_ZONE_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "zone/changeset.h"
#include "zone/zone.h"

/** What a diff looked at, to check and measure that it is proportional. */
struct zone_diff_stats {
	size_t pages;		/* table pages of both versions walked slot by slot */
	size_t pages_shared;	/* table pages skipped: the same page in both */
	size_t nodes;		/* nodes whose records were compared (or listed) */
};

/**
 * The changeset taking `old` to `new`: from = old's serial, to = new's,
 * the records of `old` not in `new` (removed) and of `new` not in `old`
 * (added), in the order of new's and old's tables and, within an RRset,
 * in a canonical order of rdata (deterministic for two given versions).
 * Both versions must be held (references, or an RCU read-side section)
 * for the call. Owners are written lowercased, as the zone keeps them.
 * \param[out] out   the changeset (refs 1: changeset_unref it), or NULL
 * \param[out] st    what was walked, or NULL (zone_diff_measure only)
 * \return 0, -EINVAL (not the same zone apex), or -ENOMEM
 */
int zone_diff(const struct zone *old, const struct zone *new, struct changeset **out);
int zone_diff_measure(const struct zone *old, const struct zone *new, struct changeset **out,
		      struct zone_diff_stats *st);

/**
 * Make the version after `base` by applying `cs`: zone_update_begin, each
 * removal (the old SOA among them), each addition (the new SOA among
 * them), zone_update_commit. A secondary applying an IXFR and the journal
 * replaying its changesets use it.
 * Pre: `base` is the newest version of its lineage (zone_update_begin's).
 * \param[out] out  the new version (refs 0, not published), or NULL
 * \param[out] msg  why, on failure
 * \return 0; -ESTALE when cs->from is not base's serial (the changeset
 *         belongs to another version: nothing is tried); -EBADMSG when the
 *         blob is malformed (changeset_check); -EINVAL when a change does
 *         not fit the version (a record to remove that it lacks, one to
 *         add that it has, a CNAME beside other data: RFC 1995 §4 calls
 *         such a transfer inconsistent) or the result is not a zone (no
 *         SOA at the apex) or its serial is not cs->to; -ENOMEM.
 */
int changeset_apply(struct zone *base, const struct changeset *cs, struct zone **out, char *msg,
		    size_t msgsize);

#endif
