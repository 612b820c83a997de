/* zonedb.c: zone sets and their publication. */
#include "zone/zonedb.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

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
		z->refs++;
	}
	return db;
}

void zonedb_free(struct zonedb *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->nzones; i++) {
		struct zone *z = db->zones[i];
		if (--z->refs == 0)
			zone_free(z);
	}
	free(db->zones);
	free(db->table);
	free(db);
}

static struct zone *old_zone(const struct zonedb *old, const uint8_t *apex, size_t len)
{
	if (!old)
		return NULL;
	for (size_t i = 0; i < old->nzones; i++)
		if (old->zones[i]->apex_len == len && memcmp(old->zones[i]->apex, apex, len) == 0)
			return old->zones[i];
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int zonedb_load_dir(const char *dir, const struct zonedb *old, zone_diag_fn diag, void *ctx,
		    struct zonedb **out, struct zonedb_load_stats *stats)
{
	struct zonedb_load_stats st = {0};
	struct zone **zones = NULL;
	char **names = NULL;
	size_t nnames = 0, capn = 0, nz = 0;
	int ret = 0;
	DIR *d = opendir(dir);

	*out = NULL;
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' && strcmp(de->d_name, "..zone") != 0)
			continue; /* hidden files, editor droppings */
		if (l <= 5 || strcmp(de->d_name + l - 5, ".zone") != 0)
			continue;
		if (nnames == capn) {
			capn = capn ? capn * 2 : 16;
			char **nn = realloc(names, capn * sizeof(*nn));
			if (!nn) {
				ret = -ENOMEM;
				goto out;
			}
			names = nn;
		}
		if (!(names[nnames] = strdup(de->d_name))) {
			ret = -ENOMEM;
			goto out;
		}
		nnames++;
	}
	/* A stable order makes logs and "which file wins" reproducible. */
	if (nnames > 1)
		qsort(names, nnames, sizeof(*names), cmp_str);
	zones = calloc(nnames ? nnames : 1, sizeof(*zones));
	if (!zones) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nnames; i++) {
		char path[4096];
		uint8_t origin[DNAME_MAX];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		size_t olen = zone_origin_from_path(path, origin);
		if (!olen) {
			if (diag)
				diag(ctx, ZONE_DIAG_ERROR, path, 0,
				     "file name is not a valid zone name followed by .zone");
			st.failed++;
			continue;
		}
		uint8_t lorigin[DNAME_MAX];
		dname_lower(lorigin, origin, olen);
		bool dup = false;
		for (size_t k = 0; k < nz; k++)
			dup |= zones[k]->apex_len == olen && !memcmp(zones[k]->apex, lorigin, olen);
		if (dup) {
			if (diag)
				diag(ctx, ZONE_DIAG_ERROR, path, 0,
				     "another file already serves this zone; ignored");
			st.failed++;
			continue;
		}
		unsigned nerr = 0;
		struct zone *z = zone_load_file(path, origin, diag, ctx, &nerr);
		if (z) {
			zones[nz++] = z;
			st.loaded++;
			continue;
		}
		st.failed++;
		struct zone *prev = old_zone(old, lorigin, olen);
		char nb[1024];
		if (prev) {
			zones[nz++] = prev;
			st.kept++;
			log_err("zone %s not loaded (%u error%s in %s); the previous version (serial %u) stays served",
				dname_to_str(lorigin, nb, sizeof(nb)), nerr, nerr == 1 ? "" : "s", path,
				prev->serial);
		} else {
			log_err("zone %s not loaded (%u error%s in %s); it is not served",
				dname_to_str(lorigin, nb, sizeof(nb)), nerr, nerr == 1 ? "" : "s", path);
		}
	}
	if (old) {
		for (size_t i = 0; i < old->nzones; i++) {
			bool present = false;
			for (size_t k = 0; k < nz; k++)
				present |= zones[k]->apex_len == old->zones[i]->apex_len &&
					   !memcmp(zones[k]->apex, old->zones[i]->apex,
						   old->zones[i]->apex_len);
			st.removed += !present;
		}
	}
	*out = zonedb_new(zones, nz);
	if (!*out) {
		ret = -ENOMEM;
		for (size_t k = 0; k < nz; k++)
			if (zones[k]->refs == 0)
				zone_free(zones[k]);
	}
out:
	closedir(d);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(zones);
	if (stats)
		*stats = st;
	return ret;
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
