/* zonedb.h: the set of served zones, and publishing a new set (RCU).
 *
 * A zonedb is an immutable snapshot: the workers read the current one under
 * an RCU read-side lock (liburcu, memb flavour); a reload builds a new one
 * beside it, publishes it with one pointer store, waits for a grace period
 * and only then frees the old one. */
#ifndef SHOAL_ZONEDB_H
#define SHOAL_ZONEDB_H

#include <stddef.h>
#include <stdint.h>

#include "dns/dname.h"
#include "zone/zone.h"
#include "zone/zone_load.h"

struct zonedb {
	size_t nzones;
	struct zone **zones;	/* in load order, for listing */
	struct zone **table;	/* by apex hash, open addressing */
	size_t mask;
	uint64_t depths[2];	/* bit k: some apex has k labels (k < LABELS_MAX) */
	uint64_t generation;	/* increases with every publish */
	/* The configuration whose access rules and keys the transfers and
	 * TSIG-signed queries of this snapshot are checked against (a
	 * reference, dropped with the snapshot); NULL: none, every transfer
	 * is refused and no key is known. */
	struct conf *conf;
};

/**
 * Longest-match zone for a name: the zone whose apex is the deepest
 * ancestor-or-self of `name`, looking only at ancestors from label index
 * `from` up (0: the name itself; 1: its parent, as for DS queries).
 * \return the zone or NULL (we are not authoritative)
 */
const struct zone *zonedb_find(const struct zonedb *db, const struct dname_split *s,
			       const uint8_t *name, unsigned from);

struct conf;

/** Build a zonedb from zones already built (takes a reference to each). */
struct zonedb *zonedb_new(struct zone **zones, size_t n);

/** Drop this snapshot and every zone no other snapshot holds. */
void zonedb_free(struct zonedb *db);

/* ---- the published snapshot ---- */

/** Reader side: call inside urcu_memb_read_lock()/unlock(). */
const struct zonedb *zonedb_current(void);

/** Publish `db` and free the previous snapshot after a grace period.
 * Main thread only. */
void zonedb_publish(struct zonedb *db);

/**
 * Move the big blocks of `db`'s zones into huge pages (zone_hugepages):
 * half a second of copying for a 1.25M-record zone, so called once the
 * zones answer, after start-up and after each reload. Main thread only.
 * \return bytes moved (zones done before are not counted again)
 */
size_t zonedb_hugepages(const struct zonedb *db);

#endif
