/* zonedb.c: zone sets and their publication. */
#include "zone/zonedb.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "ops/conf.h"
#include "ops/log.h"

static struct zonedb *g_current;
static uint64_t g_generation;

const struct zone *zonedb_find(const struct zonedb *db, const struct dname_split *s,
			       const uint8_t *name, unsigned from)
{
	if (!db || db->nzones == 0)
		return NULL;
	for (unsigned i = from; i <= s->labels; i++) {
		/* Only suffixes as deep as some apex can be one: with a
		 * single zone, one probe instead of one per label. */
		unsigned depth = (unsigned)s->labels - i;
		if (!(db->depths[depth >> 6] >> (depth & 63) & 1))
			continue;
		uint64_t h = s->hash[i];
		size_t len = (size_t)(s->len - s->off[i]);
		const uint8_t *suffix = name + s->off[i];
		for (size_t j = h & db->mask;; j = (j + 1) & db->mask) {
			const struct zone *z = db->table[j];
			if (!z)
				break;
			if (z->apex_len == len && z->apex_node->hash == h &&
			    memcmp(z->apex, suffix, len) == 0)
				return z;
		}
	}
	return NULL;
}

struct zonedb *zonedb_new(struct zone **zones, size_t n)
{
	struct zonedb *db = calloc(1, sizeof(*db));
	if (!db)
		return NULL;
	size_t size = 16;
	while (size < n * 2)
		size *= 2;
	db->table = calloc(size, sizeof(*db->table));
	db->zones = calloc(n ? n : 1, sizeof(*db->zones));
	if (!db->table || !db->zones) {
		free(db->table);
		free(db->zones);
		free(db);
		return NULL;
	}
	db->mask = size - 1;
	for (size_t i = 0; i < n; i++) {
		struct zone *z = zones[i];
		size_t j = z->apex_node->hash & db->mask;
		while (db->table[j])
			j = (j + 1) & db->mask;
		db->table[j] = z;
		db->depths[z->apex_labels >> 6] |= (uint64_t)1 << (z->apex_labels & 63);
		db->zones[db->nzones++] = z;
		zone_ref(z);
	}
	return db;
}

void zonedb_free(struct zonedb *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->nzones; i++) {
		zone_unref(db->zones[i]);
	}
	conf_free(db->conf);
	free(db->zones);
	free(db->table);
	free(db);
}

const struct zonedb *zonedb_current(void)
{
	return rcu_dereference(g_current);
}

void zonedb_publish(struct zonedb *db)
{
	db->generation = ++g_generation;
	struct zonedb *old = rcu_xchg_pointer(&g_current, db);
	if (old) {
		/* Every reader that could have seen `old` has left its
		 * read-side section when this returns. */
		urcu_memb_synchronize_rcu();
		zonedb_free(old);
	}
	/* Building a zone frees as much as it keeps (ldns's buffers, the
	 * pending records), and a reload frees the old tables: hand the free
	 * pages inside the heap back, or RSS stays at the high-water mark
	 * (1.25M records: 205 MB after a load, about 155 MB after this). */
	malloc_trim(0);
}

size_t zonedb_hugepages(const struct zonedb *db)
{
	size_t done = 0;
	for (size_t i = 0; db && i < db->nzones; i++)
		done += zone_hugepages(db->zones[i]);
	return done;
}
