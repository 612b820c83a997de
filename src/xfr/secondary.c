/* secondary.c: the refresh cycle of secondary zones (secondary.h). */
#include "xfr/secondary.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "ops/log.h"
#include "xfr/xfrin.h"
#include "zone/serial.h"
#include "zone/zone_save.h"

/* A save that failed is tried again this much later. */
#define SAVE_RETRY_S 60
/* Longest sleep of an idle thread: wakes are signalled, this only bounds
 * a missed one. */
#define IDLE_WAKE_S 60

/* The primaries of a zone, one per address of its remotes, in order.
 * Zones whose primaries are the same (addresses, keys, names: a catalog's
 * members all take theirs from one template) share one set, interned in
 * secondary.prims by a hash of that content. A set is never changed once
 * made: the thread checking a zone reads it without the lock (refresh
 * holds a reference for it). refs and next are under the lock; the last
 * reference dropped frees it (prims_put). One allocation: the remotes,
 * then copies of their keys (the configuration may go while we transfer),
 * then their names ("primary1 192.0.2.1:53", as the logs show them). */
struct sec_prims {
	struct sec_prims *next;		/* in its bucket of secondary.prims */
	uint64_t hash;			/* prims_hash */
	size_t refs;			/* zones' prim, next_prim and last_set */
	size_t n;
	struct xfrin_remote r[];	/* key, name: in this allocation */
};

/* The outcome of a check, as zone-status shows it (result_text): with the
 * primary it names (last_primary), a serial, a failure's reason. */
enum sec_result {
	SEC_NOT_CHECKED,		/* not checked yet */
	SEC_NO_PRIMARY,			/* no primary */
	SEC_SOA_FAILED,			/* SOA query to P: WHY */
	SEC_OLDER,			/* P has serial S, older than ours: not followed */
	SEC_UP_TO_DATE,			/* up to date with P (serial S) */
	SEC_XFR_FAILED,			/* transfer from P failed: WHY */
	SEC_IXFR,			/* IXFR from P, serial S */
	SEC_AXFR,			/* AXFR from P, serial S */
};

/* A secondary zone: a catalog brings thousands, so what is the same for
 * many is shared (the primaries), texts are kept at their size or made
 * when shown, and the members are ordered by size (no holes). */
struct sec_zone {
	char *name;			/* presentation, in this allocation after apex */
	struct sec_prims *prim;		/* a reference; not changed while busy */
	struct sec_prims *next_prim;	/* a reload's while busy (a reference), NULL: none */
	struct sec_prims *last_set;	/* holds last_primary (a reference), NULL: none */
	const char *last_primary;	/* the primary the last check asked last */
	/* the copy and the timers (NULL: its path could not be made), in
	 * this allocation after name, or, once the storage moved, in `moved` */
	const char *file, *timers_path;
	char *moved;			/* file and timers_path's allocation, NULL: this one */
	struct zone *cur;		/* the newest version (a reference), NULL: none */
	char *why;			/* a failed check's reason, NULL: none (or no memory) */
	uint64_t max_size;
	int64_t zonefile_sync;
	/* timers, CLOCK_REALTIME seconds */
	int64_t last_ok;		/* the last successful check, 0: never */
	int64_t expire_at;		/* 0: not known */
	int64_t next_check;
	int64_t last_try;
	int64_t save_due;
	uint32_t refresh_min, refresh_max, retry_min, retry_max;
	uint32_t primary_serial;
	uint32_t result_serial;		/* the serial `result` names */
	uint8_t result;			/* enum sec_result: of the last check */
	/* flags: each its own byte (no bit-fields), as check writes
	 * backwards_logged without the lock */
	bool has_primary_serial;
	bool backwards_logged;
	bool expired;
	bool busy;			/* a thread refreshes it */
	bool saving;			/* a thread writes its copy (beside a refresh:
					 * a NOTIFY never waits for a save) */
	bool again;			/* a NOTIFY came while busy: check once more */
	bool force_axfr;
	bool gone;			/* dropped by secondary_sync while busy: free when done */
	bool purge;			/* gone, and its copy and timers deleted when done */
	bool dirty;			/* cur not saved yet */
	bool mark;			/* secondary_sync's */
	uint8_t apex_len;
	uint8_t apex[];			/* apex_len octets, then name, file, timers_path */
};

_Static_assert(DNAME_MAX <= UINT8_MAX, "sec_zone.apex_len is one octet");

struct secondary {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct sec_zone **z;
	size_t n, cap;
	pthread_t *threads;
	unsigned nthreads;
	bool stop;
	int efd;
	struct secondary_update *head, *tail;
	bool changed;			/* an expiry state changed: secondary_take_changed */
	/* purged zones a thread still works on: a zone of the same name is
	 * not worked on until they are done (its files are theirs to delete) */
	struct sec_zone **purging;
	size_t npurging;
	size_t cursor;			/* where pick goes on */
	secondary_clock_fn now;
	/* the primaries' sets (struct sec_prims) by content: a chain per
	 * bucket, nbuckets a power of two, at least one per set */
	struct sec_prims **prims;
	size_t prims_nbuckets, nprims;
};

static int64_t clock_real(void)
{
	return (int64_t)time(NULL);
}

static void iso(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!t || !gmtime_r(&tt, &tm))
		snprintf(buf, size, "never");
	else
		strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---------------------------------------------------------------- timers */

void secondary_soa_timers(const struct zone *z, uint32_t *refresh, uint32_t *retry,
			  uint32_t *expire)
{
	*refresh = *retry = *expire = 0;
	if (!z || !z->soa || z->stub)
		return;
	/* rdata: MNAME RNAME (uncompressed) SERIAL REFRESH RETRY EXPIRE MINIMUM */
	const uint8_t *w = z->soa->wire;
	size_t rdlen = (size_t)(w[8] << 8 | w[9]);
	const uint8_t *rd = w + RR_FIXED_LEN;
	size_t a = dname_wire_len(rd, rdlen);
	size_t b = a ? dname_wire_len(rd + a, rdlen - a) : 0;
	if (!a || !b || a + b + 20 > rdlen)
		return;
	const uint8_t *t = rd + a + b + 4;
	*refresh = (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3];
	*retry = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
	*expire = (uint32_t)t[8] << 24 | (uint32_t)t[9] << 16 | (uint32_t)t[10] << 8 | t[11];
}

/* Persisted timers: a small text file, rewritten whole through a rename
 * after each check that brings no new version, and the second line of the
 * header of each saved copy (TIMERS_NOTE): a new version's timers are
 * written with it, not in a file of their own, which saves a file made
 * (and one deleted) per transfer, what a catalog's thousands of new
 * members paid most for (ext4 without a journal scans the recently
 * deleted inodes at each file made). At start the later of the two
 * counts. Not synced: a crash may bring back an older file (the
 * rename reaches the disk with the data it names, ext4's auto_da_alloc),
 * whose last refresh is earlier: the copy then expires sooner, never
 * later. A sync per check cost thousands of catalog members their first
 * transfers' time (Knot writes its timers at shutdown only). */
static void timers_write(const struct sec_zone *z, const char *path, int64_t last_ok,
			 int64_t expire_at, uint32_t serial)
{
	char tmp[4096];
	if (!path || (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return;
	FILE *f = fopen(tmp, "we");
	if (!f) {
		log_warn("zone %s: %s: %s; its timers are not kept across a restart", z->name, tmp,
			 strerror(errno));
		return;
	}
	fprintf(f, "# shoal: the refresh timers of secondary zone %s\n"
		   "last-refresh %" PRId64 "\nexpire %" PRId64 "\nserial %" PRIu32 "\n",
		z->name, last_ok, expire_at, serial);
	bool ok = fflush(f) == 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) < 0) {
		log_warn("zone %s: writing %s: %s", z->name, path, strerror(errno));
		unlink(tmp);
	}
}

/* The saved copy's header line with its timers (zone_save's note). */
#define TIMERS_NOTE "timers: last-refresh %lld expire %lld"

/* The timers in the header of the copy at `file` (TIMERS_NOTE, the second
 * line). \return true when read */
static bool copy_timers_read(const char *file, int64_t *last_ok, int64_t *expire_at)
{
	int fd = file ? open(file, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0)
		return false;
	/* the first line: "; zone ", the apex (at most 4 * 255 characters),
	 * the serial, the version and the time */
	char buf[2048];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	const char *l2 = strchr(buf, '\n');
	long long a, b;
	if (buf[0] != ';' || !l2 || sscanf(l2 + 1, "; " TIMERS_NOTE, &a, &b) != 2)
		return false;
	*last_ok = a;
	*expire_at = b;
	return true;
}

/* \return true when read */
static bool timers_read(const char *path, int64_t *last_ok, int64_t *expire_at)
{
	FILE *f = path ? fopen(path, "re") : NULL;
	if (!f)
		return false;
	char line[256];
	bool a = false, b = false;
	while (fgets(line, sizeof(line), f)) {
		long long v;
		if (sscanf(line, "last-refresh %lld", &v) == 1) {
			*last_ok = v;
			a = true;
		} else if (sscanf(line, "expire %lld", &v) == 1) {
			*expire_at = v;
			b = true;
		}
	}
	fclose(f);
	return a && b;
}

/* ---------------------------------------------------------------- primaries */

/* FNV-1a, 64 bits: the sets' hash (the configuration's content, not a
 * network's: nobody chooses it to collide). */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

/* The hash of the set cz's primaries make: what prims_match compares. */
static uint64_t prims_hash(const struct conf_zone *cz)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < cz->set->nprimary; i++) {
		const struct conf_remote *rm = cz->set->primary[i];
		const struct conf_key *k = rm->key;
		for (size_t a = 0; a < rm->naddr; a++) {
			h = fnv(h, &rm->addr[a].len, sizeof(rm->addr[a].len));
			h = fnv(h, &rm->addr[a].ss, rm->addr[a].len);
			if (k) {
				h = fnv(h, k->name, k->name_len);
				h = fnv(h, &k->alg, sizeof(k->alg));
				h = fnv(h, k->secret, k->secret_len);
			}
			h = fnv(h, rm->id, strlen(rm->id) + 1);
			h = fnv(h, rm->addr[a].text, strlen(rm->addr[a].text) + 1);
		}
	}
	return h;
}

/* The same TSIG key (or none for both): name, algorithm, secret. */
static bool key_same(const struct conf_key *a, const struct conf_key *b)
{
	if (!a || !b)
		return a == b;
	return a->name_len == b->name_len && !memcmp(a->name, b->name, a->name_len) &&
	       a->alg == b->alg && a->secret_len == b->secret_len &&
	       !memcmp(a->secret, b->secret, a->secret_len);
}

/* Set `s` is what cz's primaries make: the same addresses in the same
 * order, keys and names. */
static bool prims_match(const struct sec_prims *s, const struct conf_zone *cz)
{
	size_t k = 0;
	for (size_t i = 0; i < cz->set->nprimary; i++) {
		const struct conf_remote *rm = cz->set->primary[i];
		size_t idl = strlen(rm->id);
		for (size_t a = 0; a < rm->naddr; a++, k++) {
			const struct xfrin_remote *r = &s->r[k];
			if (k == s->n || r->addr_len != rm->addr[a].len ||
			    memcmp(&r->addr, &rm->addr[a].ss, r->addr_len) || !key_same(r->key, rm->key) ||
			    strncmp(r->name, rm->id, idl) || r->name[idl] != ' ' ||
			    strcmp(r->name + idl + 1, rm->addr[a].text))
				return false;
		}
	}
	return k == s->n;
}

/* A new set of cz's primaries, one per address (refs 0, not interned).
 * NULL: out of memory. */
static struct sec_prims *prims_make(const struct conf_zone *cz, uint64_t hash)
{
	size_t n = 0, nkeys = 0, text = 0;
	for (size_t i = 0; i < cz->set->nprimary; i++) {
		const struct conf_remote *rm = cz->set->primary[i];
		n += rm->naddr;
		nkeys += rm->key && rm->naddr;
		for (size_t a = 0; a < rm->naddr; a++)
			text += strlen(rm->id) + 1 + strlen(rm->addr[a].text) + 1;
	}
	struct sec_prims *s = calloc(1, sizeof(*s) + n * sizeof(s->r[0]) +
						nkeys * sizeof(struct conf_key) + text);
	if (!s)
		return NULL;
	/* the keys after the remotes: both 8-octet aligned */
	struct conf_key *key = (struct conf_key *)(void *)&s->r[n];
	char *t = (char *)(key + nkeys), *end = t + text;
	for (size_t i = 0; i < cz->set->nprimary; i++) {
		const struct conf_remote *rm = cz->set->primary[i];
		const struct conf_key *k = NULL;
		if (rm->key && rm->naddr) {
			*key = *rm->key;
			key->id = NULL;
			key->where = NULL;
			k = key++;
		}
		for (size_t a = 0; a < rm->naddr; a++) {
			struct xfrin_remote *r = &s->r[s->n++];
			r->addr = rm->addr[a].ss;
			r->addr_len = rm->addr[a].len;
			r->key = k;
			r->name = t;
			t += snprintf(t, (size_t)(end - t), "%s %s", rm->id, rm->addr[a].text) + 1;
		}
	}
	s->hash = hash;
	return s;
}

/* Twice the buckets (16 at first). \return false: out of memory */
static bool prims_grow(struct secondary *sec)
{
	size_t nb = sec->prims_nbuckets ? 2 * sec->prims_nbuckets : 16;
	struct sec_prims **b = calloc(nb, sizeof(*b));
	if (!b)
		return false;
	for (size_t i = 0; i < sec->prims_nbuckets; i++) {
		for (struct sec_prims *s = sec->prims[i], *next; s; s = next) {
			next = s->next;
			s->next = b[s->hash & (nb - 1)];
			b[s->hash & (nb - 1)] = s;
		}
	}
	free(sec->prims);
	sec->prims = b;
	sec->prims_nbuckets = nb;
	return true;
}

/* The set of cz's primaries, a reference taken (prims_put): the one a
 * zone with the same primaries holds, else a new one. A hash lookup: a
 * catalog's thousands of members cost one set and no scan each. NULL: out
 * of memory. Under the lock. */
static struct sec_prims *prims_get(struct secondary *sec, const struct conf_zone *cz)
{
	uint64_t h = prims_hash(cz);
	struct sec_prims *s = NULL;
	if (sec->prims_nbuckets)
		for (s = sec->prims[h & (sec->prims_nbuckets - 1)]; s; s = s->next)
			if (s->hash == h && prims_match(s, cz)) {
				s->refs++;
				return s;
			}
	/* more sets than buckets: twice the buckets (without: longer chains) */
	if (sec->nprims >= sec->prims_nbuckets && !prims_grow(sec) && !sec->prims_nbuckets)
		return NULL;
	if (!(s = prims_make(cz, h)))
		return NULL;
	struct sec_prims **b = &sec->prims[h & (sec->prims_nbuckets - 1)];
	s->next = *b;
	*b = s;
	s->refs = 1;
	sec->nprims++;
	return s;
}

/* Drop a reference to `s` (NULL: none); the last one frees it. Under the
 * lock. */
static void prims_put(struct secondary *sec, struct sec_prims *s)
{
	if (!s || --s->refs)
		return;
	struct sec_prims **p = &sec->prims[s->hash & (sec->prims_nbuckets - 1)];
	while (*p != s)
		p = &(*p)->next;
	*p = s->next;
	sec->nprims--;
	free(s);
}

/* ---------------------------------------------------------------- table */

static struct sec_zone *find(const struct secondary *sec, const uint8_t *apex, size_t len)
{
	for (size_t i = 0; i < sec->n; i++)
		if (sec->z[i]->apex_len == len && !memcmp(sec->z[i]->apex, apex, len))
			return sec->z[i];
	return NULL;
}

/* Under the lock (or with no thread left). */
static void zone_entry_free(struct secondary *sec, struct sec_zone *z)
{
	if (!z)
		return;
	zone_unref(z->cur);
	prims_put(sec, z->prim);
	prims_put(sec, z->next_prim);
	prims_put(sec, z->last_set);
	free(z->why);
	free(z->moved);
	free(z);
}

static void settings_of(struct sec_zone *z, const struct conf_zone *cz)
{
	z->refresh_min = cz->set->refresh_min;
	z->refresh_max = cz->set->refresh_max;
	z->retry_min = cz->set->retry_min;
	z->retry_max = cz->set->retry_max;
	z->max_size = cz->set->zone_max_size;
	z->zonefile_sync = cz->set->zonefile_sync;
}

static void wake_main(struct secondary *sec)
{
	uint64_t one = 1;
	if (write(sec->efd, &one, sizeof(one)) < 0) {
		/* the counter is at its maximum: the main thread is woken anyway */
	}
}

/* Set the expiry on what is served (the workers read it for EDNS EXPIRE)
 * and the expired flag (SERVFAIL). Under the lock. */
static void set_expiry(struct sec_zone *z, int64_t expire_at, bool expired)
{
	z->expire_at = expire_at;
	z->expired = expired;
	if (z->cur) {
		atomic_store(&z->cur->expire_at, expire_at);
		atomic_store(&z->cur->expired, expired || z->cur->stub);
	}
}

/* Under the lock. */
static struct sec_zone *entry_new(struct secondary *sec, const struct conf_zone *cz,
				  const struct zone_state *s, int64_t now)
{
	struct zone *v = s->zone;
	/* the file: the path as the server sees it (chroot); the timers: none
	 * when its path cannot be made */
	char *timers = conf_storage_file(cz, ".timers");
	size_t name_size = strlen(cz->name) + 1, file_size = strlen(s->file) + 1;
	size_t timers_size = timers ? strlen(timers) + 1 : 0;
	struct sec_zone *z =
		calloc(1, sizeof(*z) + cz->apex_len + name_size + file_size + timers_size);
	if (!z) {
		free(timers);
		return NULL;
	}
	memcpy(z->apex, cz->apex, cz->apex_len);
	z->apex_len = (uint8_t)cz->apex_len;
	z->name = memcpy(z->apex + cz->apex_len, cz->name, name_size);
	z->file = memcpy(z->name + name_size, s->file, file_size);
	if (timers)
		z->timers_path = memcpy(z->name + name_size + file_size, timers, timers_size);
	free(timers);
	z->prim = prims_get(sec, cz);
	if (!z->prim) {
		zone_entry_free(sec, z);
		return NULL;
	}
	settings_of(z, cz);
	z->result = SEC_NOT_CHECKED;
	if (v && !v->stub) {
		zone_ref(v);
		z->cur = v;
		/* a version made from the copy (its journal replayed past it,
		 * xfr/primary.h) is newer than the file: saved soon */
		z->dirty = v->gen > 1;
		z->save_due = now;
		int64_t last_ok = 0, expire_at = 0, copy_ok, copy_expire;
		uint32_t refresh, retry, expire;
		secondary_soa_timers(v, &refresh, &retry, &expire);
		bool have = timers_read(z->timers_path, &last_ok, &expire_at);
		if (copy_timers_read(z->file, &copy_ok, &copy_expire) &&
		    (!have || copy_ok > last_ok)) {
			have = true;
			last_ok = copy_ok;
			expire_at = copy_expire;
		}
		if (have) {
			z->last_ok = last_ok;
			if (expire_at <= now) {
				char t[32];
				iso(expire_at, t, sizeof(t));
				log_warn("zone %s: the saved copy (serial %u) expired at %s: SERVFAIL "
					 "until a refresh from a primary succeeds",
					 z->name, v->serial, t);
				set_expiry(z, expire_at, true);
			} else {
				set_expiry(z, expire_at, false);
			}
		} else {
			/* a copy without timers (put there by hand, or a first
			 * start after an upgrade): it expires EXPIRE from now */
			set_expiry(z, now + expire, false);
		}
	} else {
		if (v) {
			zone_ref(v);
			z->cur = v; /* the stub: served as SERVFAIL */
		}
		log_info("zone %s: no copy yet: SERVFAIL until the first transfer from %s%s", z->name,
			 z->prim->n ? z->prim->r[0].name : "(no primary)",
			 z->prim->n > 1 ? " or another" : "");
		z->expired = true;
	}
	z->next_check = now;
	return z;
}

/* The copy and timers renamed to their new paths; a copy that cannot be
 * (another filesystem) is written there soon instead, the old one
 * deleted. A save or check running writes the old path: it deletes what
 * it wrote once done (save, refresh). Under the lock. */
static void relocate(struct sec_zone *z, const char *file, const char *timers, int64_t now)
{
	if (z->timers_path && strcmp(z->timers_path, timers) && rename(z->timers_path, timers) < 0 &&
	    errno != ENOENT)
		unlink(z->timers_path); /* the next check writes the new one */
	if (!z->file || !strcmp(z->file, file))
		return;
	bool moved = rename(z->file, file) == 0;
	if (!moved && errno != ENOENT)
		unlink(z->file);
	if ((!moved || z->saving) && z->cur && !z->cur->stub) {
		z->dirty = true;
		z->save_due = now;
	}
}

void secondary_sync(struct secondary *sec, const struct conf *conf, const struct zoneset *set)
{
	if (!sec)
		return;
	int64_t now = sec->now();
	pthread_mutex_lock(&sec->lock);
	for (size_t i = 0; i < sec->n; i++)
		sec->z[i]->mark = false;
	/* the table by apex, for this sync (thousands of catalog members:
	 * no scan per zone); none when out of memory: find scans */
	size_t slots = 16;
	while (slots < 2 * sec->n)
		slots *= 2;
	struct sec_zone **ix = calloc(slots, sizeof(*ix));
	for (size_t i = 0; ix && i < sec->n; i++) {
		size_t h = (size_t)dname_hash(sec->z[i]->apex, sec->z[i]->apex_len) & (slots - 1);
		while (ix[h])
			h = (h + 1) & (slots - 1);
		ix[h] = sec->z[i];
	}
	for (size_t i = 0; i < set->n; i++) {
		const struct zone_state *s = &set->v[i];
		const struct conf_zone *cz = conf ? conf_zone_find(conf, s->apex, s->apex_len) : NULL;
		if (!cz || !cz->set->nprimary)
			continue;
		struct sec_zone *z = NULL;
		if (ix) {
			size_t h = (size_t)dname_hash(s->apex, s->apex_len) & (slots - 1);
			for (; ix[h] && !z; h = (h + 1) & (slots - 1))
				if (ix[h]->apex_len == s->apex_len &&
				    !memcmp(ix[h]->apex, s->apex, s->apex_len))
					z = ix[h];
		} else {
			z = find(sec, s->apex, s->apex_len);
		}
		if (!z) {
			if (sec->n == sec->cap) {
				size_t cap = sec->cap ? sec->cap * 2 : 16;
				struct sec_zone **v = realloc(sec->z, cap * sizeof(*v));
				if (!v) {
					log_err("zone %s: out of memory: not followed", cz->name);
					continue;
				}
				sec->z = v;
				sec->cap = cap;
			}
			if (!(z = entry_new(sec, cz, s, now))) {
				log_err("zone %s: out of memory: not followed", cz->name);
				continue;
			}
			sec->z[sec->n++] = z;
		} else {
			/* the thread checking a busy zone reads its prim
			 * without the lock: the new set waits in next_prim
			 * until the check is done (refresh) */
			struct sec_prims *p = prims_get(sec, cz);
			struct sec_prims **to = z->busy ? &z->next_prim : &z->prim;
			if (p) {
				prims_put(sec, *to);
				*to = p;
			}
			settings_of(z, cz);
			/* the storage may have moved (a reload, a catalog
			 * member taking another template): the copy and the
			 * timers move there, their paths in one new allocation
			 * (out of memory, or no timers path: they stay) */
			char *t = conf_storage_file(cz, ".timers");
			if (t && (strcmp(z->file, s->file) || !z->timers_path ||
				  strcmp(z->timers_path, t))) {
				size_t fl = strlen(s->file) + 1, tl = strlen(t) + 1;
				char *m = malloc(fl + tl);
				if (m) {
					memcpy(m, s->file, fl);
					memcpy(m + fl, t, tl);
					relocate(z, m, m + fl, now);
					free(z->moved);
					z->moved = m;
					z->file = m;
					z->timers_path = m + fl;
				}
			}
			free(t);
		}
		z->mark = true;
	}
	free(ix);
	for (size_t i = 0; i < sec->n;) {
		struct sec_zone *z = sec->z[i];
		if (z->mark) {
			i++;
			continue;
		}
		sec->z[i] = sec->z[--sec->n];
		if (z->busy || z->saving)
			z->gone = true; /* its thread frees it */
		else
			zone_entry_free(sec, z);
	}
	pthread_cond_broadcast(&sec->cond);
	pthread_mutex_unlock(&sec->lock);
}

/* ---------------------------------------------------------------- updates */

int secondary_fd(const struct secondary *sec)
{
	return sec ? sec->efd : -1;
}

struct secondary_update *secondary_collect(struct secondary *sec)
{
	if (!sec)
		return NULL;
	uint64_t v;
	if (read(sec->efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing signalled; the list is read all the same */
	}
	pthread_mutex_lock(&sec->lock);
	struct secondary_update *u = sec->head;
	sec->head = sec->tail = NULL;
	pthread_mutex_unlock(&sec->lock);
	return u;
}

bool secondary_take_changed(struct secondary *sec)
{
	if (!sec)
		return false;
	pthread_mutex_lock(&sec->lock);
	bool c = sec->changed;
	sec->changed = false;
	pthread_mutex_unlock(&sec->lock);
	return c;
}

void secondary_updates_free(struct secondary_update *u)
{
	while (u) {
		struct secondary_update *next = u->next;
		zone_unref(u->zone);
		for (size_t i = 0; i < u->ncs; i++)
			changeset_unref(u->cs[i]);
		free(u->cs);
		free(u);
		u = next;
	}
}

/* ---------------------------------------------------------------- notify, control */

bool secondary_notify(struct secondary *sec, const uint8_t *apex, size_t apex_len,
		      bool has_serial, uint32_t serial)
{
	if (!sec)
		return false;
	pthread_mutex_lock(&sec->lock);
	struct sec_zone *z = find(sec, apex, apex_len);
	if (z) {
		char sb[24] = "";
		if (has_serial)
			snprintf(sb, sizeof(sb), ", serial %" PRIu32, serial);
		if (has_serial && z->cur && !z->cur->stub && !z->expired &&
		    z->cur->serial == serial && !z->busy) {
			/* RFC 1996 §3.11: nothing new; answered, not acted on */
			log_info("zone %s: NOTIFY%s: the serial we have, nothing to do", z->name, sb);
		} else if (z->busy) {
			log_info("zone %s: NOTIFY%s: checking again after the check in progress",
				 z->name, sb);
			z->again = true;
		} else {
			log_info("zone %s: NOTIFY%s: checking now", z->name, sb);
			z->next_check = 0;
			pthread_cond_broadcast(&sec->cond);
		}
	}
	pthread_mutex_unlock(&sec->lock);
	return z != NULL;
}

void secondary_notify_cb(void *ctx, const uint8_t *apex, size_t apex_len,
			 const struct sockaddr *from, bool has_serial, uint32_t serial)
{
	(void)from;
	secondary_notify(ctx, apex, apex_len, has_serial, serial);
}

int secondary_refresh(struct secondary *sec, const uint8_t *apex, size_t apex_len, bool axfr)
{
	if (!sec)
		return -ENOENT;
	pthread_mutex_lock(&sec->lock);
	struct sec_zone *z = find(sec, apex, apex_len);
	if (z) {
		if (axfr)
			z->force_axfr = true;
		if (z->busy)
			z->again = true;
		else
			z->next_check = 0;
		pthread_cond_broadcast(&sec->cond);
	}
	pthread_mutex_unlock(&sec->lock);
	return z ? 0 : -ENOENT;
}

/* The text of a check's result (enum sec_result). \param prim  the
 * primary it names, why  a failure's reason */
static void result_text(enum sec_result r, const char *prim, uint32_t serial, const char *why,
			char *buf, size_t size)
{
	switch (r) {
	case SEC_NOT_CHECKED:
		snprintf(buf, size, "not checked yet");
		break;
	case SEC_NO_PRIMARY:
		snprintf(buf, size, "no primary");
		break;
	case SEC_SOA_FAILED:
		snprintf(buf, size, "SOA query to %s: %s", prim, why);
		break;
	case SEC_OLDER:
		snprintf(buf, size, "%s has serial %" PRIu32 ", older than ours: not followed", prim,
			 serial);
		break;
	case SEC_UP_TO_DATE:
		snprintf(buf, size, "up to date with %s (serial %" PRIu32 ")", prim, serial);
		break;
	case SEC_XFR_FAILED:
		snprintf(buf, size, "transfer from %s failed: %s", prim, why);
		break;
	case SEC_IXFR:
	case SEC_AXFR:
		snprintf(buf, size, "%s from %s, serial %" PRIu32, r == SEC_IXFR ? "IXFR" : "AXFR",
			 prim, serial);
		break;
	}
}

static void put_in(int64_t when, int64_t now, char *buf, size_t size)
{
	char t[32];
	iso(when, t, sizeof(t));
	if (!when)
		snprintf(buf, size, "never");
	else if (when > now)
		snprintf(buf, size, "%s (in %" PRId64 " s)", t, when - now);
	else
		snprintf(buf, size, "%s (%" PRId64 " s ago)", t, now - when);
}

/* snprintf at out + *n, *n moved on by what it would write (as snprintf
 * counts: past `size`, nothing more is written). */
static void appendf(char *out, size_t size, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void appendf(char *out, size_t size, size_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(out + (*n < size ? *n : size), *n < size ? size - *n : 0, fmt, ap);
	va_end(ap);
	*n += k > 0 ? (size_t)k : 0;
}

static void json_str(char *out, size_t size, size_t *len, const char *s)
{
	size_t n = *len;
#define PUT(c)                                   \
	do {                                     \
		if (n + 1 < size)                \
			out[n] = (c);            \
		n++;                             \
	} while (0)
	PUT('"');
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			PUT('\\');
			PUT((char)c);
		} else if (c < 0x20) {
			char e[8];
			snprintf(e, sizeof(e), "\\u%04x", c);
			for (char *q = e; *q; q++)
				PUT(*q);
		} else {
			PUT((char)c);
		}
	}
	PUT('"');
#undef PUT
	if (size)
		out[n < size ? n : size - 1] = 0;
	*len = n;
}

size_t secondary_status(struct secondary *sec, const uint8_t *apex, size_t apex_len, bool json,
			char *out, size_t size)
{
	if (!sec)
		return 0;
	int64_t now = sec->now();
	size_t n = 0;
	pthread_mutex_lock(&sec->lock);
	struct sec_zone *z = find(sec, apex, apex_len);
	if (!z)
		goto out;
	char last[64], next[64], exp[64], ok[64];
	put_in(z->last_try, now, last, sizeof(last));
	put_in(z->busy ? now : z->next_check, now, next, sizeof(next));
	put_in(z->expire_at, now, exp, sizeof(exp));
	put_in(z->last_ok, now, ok, sizeof(ok));
	const char *prim = z->last_primary ? z->last_primary
			   : z->prim->n	   ? z->prim->r[0].name
					   : "(none)";
	char result[512];
	result_text(z->result, prim, z->result_serial, z->why ? z->why : "out of memory",
		    result, sizeof(result));
	bool has = z->cur && !z->cur->stub;
	if (json) {
		if (has)
			appendf(out, size, &n, ", \"secondary\": {\"serial\": %" PRIu32, z->cur->serial);
		else
			appendf(out, size, &n, ", \"secondary\": {\"serial\": null");
		const char *names[] = {"primary", "last_check", "result", "last_success", "next_check",
				       "expires"};
		const char *vals[] = {prim, last, result, ok, next, exp};
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			appendf(out, size, &n, ", \"%s\": ", names[i]);
			json_str(out, size, &n, vals[i]);
		}
		appendf(out, size, &n, ", \"expired\": %s, \"refreshing\": %s}",
			z->expired ? "true" : "false", z->busy ? "true" : "false");
	} else {
		char ps[32] = "";
		if (z->has_primary_serial)
			snprintf(ps, sizeof(ps), " (its serial %" PRIu32 ")", z->primary_serial);
		int k = snprintf(out, size,
				 "    secondary of %s%s%s\n"
				 "    last check %s: %s\n"
				 "    last success %s\n"
				 "    next check %s\n"
				 "    expires %s%s\n",
				 prim, ps, has ? "" : ", no data yet", last, result, ok,
				 z->busy ? "now (refreshing)" : next, exp,
				 z->expired ? " (expired: answering SERVFAIL)" : "");
		n = k > 0 ? (size_t)k : 0;
	}
out:
	pthread_mutex_unlock(&sec->lock);
	return n;
}

/* ---------------------------------------------------------------- the work */

/* Queue a new version for the main thread. Under the lock. */
static void queue_update(struct secondary *sec, struct sec_zone *z, struct xfrin_result *res)
{
	struct secondary_update *u = calloc(1, sizeof(*u));
	if (!u) {
		log_err("zone %s: out of memory: serial %u not served", z->name, res->serial);
		return;
	}
	memcpy(u->apex, z->apex, z->apex_len);
	u->apex_len = z->apex_len;
	zone_ref(res->zone);
	u->zone = res->zone;
	u->full = res->full;
	u->cs = res->cs;
	u->ncs = res->ncs;
	res->cs = NULL;
	res->ncs = 0;
	if (sec->tail)
		sec->tail->next = u;
	else
		sec->head = u;
	sec->tail = u;
	wake_main(sec);
}

struct outcome {
	bool ok;			/* a primary answered: the zone is current */
	bool have_new;			/* res holds a new version */
	struct xfrin_result res;
	uint32_t expire_opt;
	bool has_expire_opt;
	const char *primary;		/* the last asked: a name in the set checked */
	bool has_primary_serial;	/* the last primary asked said its serial */
	uint32_t primary_serial;
	enum sec_result result;
	uint32_t result_serial;
	char why[256];			/* the reason of a failed result */
};

/* One check of zone `z` (not under the lock): each of `prims` in turn
 * until one answers. */
static void check(struct sec_zone *z, const struct sec_prims *prims, struct zone *base, bool axfr,
		  uint64_t max_size, struct outcome *o)
{
	struct xfrin_limits lim = {.max_size = max_size};
	char note[256];
	bool have = base && !base->stub;
	memset(o, 0, sizeof(*o));
	o->result = SEC_NO_PRIMARY;
	for (size_t i = 0; i < prims->n; i++) {
		const struct xfrin_remote *p = &prims->r[i];
		o->primary = p->name;
		if (have && !axfr) {
			struct xfrin_soa_answer soa;
			int r = xfrin_soa(p, z->apex, z->apex_len, XFRIN_SOA_TIMEOUT_MS, &soa, o->why,
					  sizeof(o->why));
			if (r < 0) {
				o->result = SEC_SOA_FAILED;
				log_info("zone %s: SOA query to %s: %s", z->name, p->name, o->why);
				continue;
			}
			o->has_expire_opt = soa.has_expire_opt;
			o->expire_opt = soa.expire_opt;
			if (!serial_newer(soa.serial, base->serial)) {
				o->ok = true;
				if (soa.serial != base->serial) {
					if (!z->backwards_logged)
						log_warn("zone %s: primary %s has serial %u, older than ours "
							 "(%u): not followed (shoalctl zone-retransfer "
							 "takes its copy)",
							 z->name, p->name, soa.serial, base->serial);
					z->backwards_logged = true;
					o->result = SEC_OLDER;
				} else {
					z->backwards_logged = false;
					o->result = SEC_UP_TO_DATE;
				}
				o->result_serial = soa.serial;
				o->primary_serial = soa.serial;
				o->has_primary_serial = true;
				return;
			}
			o->primary_serial = soa.serial;
			o->has_primary_serial = true;
		}
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		note[0] = 0;
		int r = xfrin_transfer(p, z->apex, z->apex_len, have && !axfr ? base : NULL,
				       axfr || !have, &lim, &o->res, note, sizeof(note), o->why,
				       sizeof(o->why));
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (r == 1) {
			o->ok = true;
			o->result = SEC_UP_TO_DATE;
			o->result_serial = o->res.serial;
			xfrin_result_free(&o->res);
			return;
		}
		if (r < 0) {
			o->result = SEC_XFR_FAILED;
			log_err("zone %s: transfer from %s failed: %s; %s", z->name, p->name, o->why,
				have ? "the version served stays" : "still no data");
			continue;
		}
		o->ok = o->have_new = true;
		if (o->res.has_expire_opt &&
		    (!o->has_expire_opt || o->res.expire_opt < o->expire_opt)) {
			o->has_expire_opt = true;
			o->expire_opt = o->res.expire_opt;
		}
		bool incremental = !o->res.full;
		o->result = incremental ? SEC_IXFR : SEC_AXFR;
		o->result_serial = o->res.serial;
		if (have)
			log_info("zone %s: transferred %s from %s, serial %u -> %u, %zu messages, "
				 "%zu records, %.3f s%s%s",
				 z->name, incremental ? "IXFR" : "AXFR", p->name, base->serial,
				 o->res.serial, o->res.messages, o->res.records, secs,
				 note[0] ? "; " : "", note);
		else
			log_info("zone %s: transferred AXFR from %s, serial %u, %zu messages, %zu "
				 "records, %.3f s%s%s",
				 z->name, p->name, o->res.serial, o->res.messages, o->res.records, secs,
				 note[0] ? "; " : "", note);
		return;
	}
}

static void refresh(struct secondary *sec, struct sec_zone *z)
{
	/* under the lock: what the check needs (prim is not changed while
	 * busy: a reload's waits in next_prim) */
	struct zone *base = z->cur;
	if (base)
		zone_ref(base);
	struct sec_prims *prims = z->prim;
	uint64_t max_size = z->max_size;
	bool axfr = z->force_axfr;
	z->force_axfr = false;
	z->again = false;
	pthread_mutex_unlock(&sec->lock);

	struct outcome o;
	check(z, prims, base, axfr, max_size, &o);
	int64_t now = sec->now();

	pthread_mutex_lock(&sec->lock);
	z->last_try = now;
	z->result = (uint8_t)o.result;
	z->result_serial = o.result_serial;
	free(z->why);
	z->why = NULL;
	if (o.result == SEC_SOA_FAILED || o.result == SEC_XFR_FAILED)
		z->why = strdup(o.why); /* NULL: shown as out of memory */
	if (o.primary) {
		/* a name in prims: the zone keeps the set while it shows it */
		prims->refs++;
		prims_put(sec, z->last_set);
		z->last_set = prims;
		z->last_primary = o.primary;
	}
	if (o.have_new) {
		o.has_primary_serial = true;
		o.primary_serial = o.res.serial;
	}
	if (o.has_primary_serial) {
		z->has_primary_serial = true;
		z->primary_serial = o.primary_serial;
	}
	uint32_t refresh = 0, retry = 0, expire = 0;
	if (o.have_new && !z->gone) {
		struct zone *nz = o.res.zone;
		clock_gettime(CLOCK_REALTIME, &nz->loaded_at);
		zone_ref(nz);
		zone_unref(z->cur);
		z->cur = nz;
		if (!z->dirty) {
			/* zonefile-sync after the first change not saved: a
			 * later one does not push the save back */
			z->dirty = true;
			z->save_due = now + (z->zonefile_sync > 0 ? z->zonefile_sync : 0);
		}
	}
	secondary_soa_timers(z->cur, &refresh, &retry, &expire);
	int64_t last_ok = z->last_ok, expire_at = z->expire_at;
	uint32_t serial = z->cur ? z->cur->serial : 0;
	if (o.ok) {
		if (o.has_expire_opt && o.expire_opt < expire)
			expire = o.expire_opt; /* RFC 7314 §4 */
		bool was = z->expired;
		z->last_ok = last_ok = now;
		expire_at = now + expire;
		set_expiry(z, expire_at, false);
		if (was && z->cur && !z->cur->stub) {
			log_info("zone %s: refreshed (serial %u): answering again", z->name,
				 z->cur->serial);
			sec->changed = true;
			wake_main(sec);
		}
		z->next_check = now + secondary_bound(refresh, z->refresh_min, z->refresh_max);
	} else {
		/* RFC 1034 §4.3.5: RETRY, or the bounds' floor with no SOA yet */
		z->next_check = now + secondary_bound(retry ? retry : z->retry_min, z->retry_min,
						      z->retry_max);
	}
	if (o.have_new && !z->gone) {
		queue_update(sec, z, &o.res);
		o.res.zone = NULL; /* held by cur and the update now */
	}
	if (z->again)
		z->next_check = 0;
	if (z->next_prim) {
		prims_put(sec, z->prim);
		z->prim = z->next_prim;
		z->next_prim = NULL;
	}
	/* a copy of the path: a reload may move the storage meanwhile; none
	 * when a new version is to be saved, which carries them */
	char *timers = o.ok && !z->gone && z->cur && !z->cur->stub && z->timers_path &&
			       !(z->dirty && z->zonefile_sync >= 0)
			       ? strdup(z->timers_path)
			       : NULL;
	pthread_mutex_unlock(&sec->lock);
	xfrin_result_free(&o.res);
	zone_unref(base);
	if (timers)
		timers_write(z, timers, last_ok, expire_at, serial);
	pthread_mutex_lock(&sec->lock);
	if (timers && z->timers_path && strcmp(timers, z->timers_path) &&
	    rename(timers, z->timers_path) < 0)
		unlink(timers); /* the storage moved meanwhile */
	free(timers);
}

static void save(struct secondary *sec, struct sec_zone *z)
{
	struct zone *v = z->cur;
	zone_ref(v);
	z->dirty = false;
	char *file = strdup(z->file);
	char note[96] = "";
	if (z->last_ok)
		snprintf(note, sizeof(note), TIMERS_NOTE, (long long)z->last_ok,
			 (long long)z->expire_at);
	pthread_mutex_unlock(&sec->lock);
	char why[512];
	int r = file ? zone_save(v, file, note[0] ? note : NULL, why, sizeof(why)) : -ENOMEM;
	if (r < 0)
		log_err("zone %s: saving its copy to %s: %s (tried again in %d s)", z->name,
			file ? file : "?", file ? why : "out of memory", SAVE_RETRY_S);
	else
		log_debug("zone %s: serial %u saved to %s", z->name, v->serial, file);
	zone_unref(v);
	pthread_mutex_lock(&sec->lock);
	if (r == 0 && z->file && strcmp(file, z->file))
		unlink(file); /* the storage moved meanwhile: the copy goes there (dirty) */
	free(file);
	if (r < 0 && !z->dirty) {
		z->dirty = true;
		z->save_due = sec->now() + SAVE_RETRY_S;
	}
}

/* A purged zone of the same name is still being worked on. */
static bool purge_pending(const struct secondary *sec, const struct sec_zone *z)
{
	for (size_t i = 0; i < sec->npurging; i++)
		if (sec->purging[i]->apex_len == z->apex_len &&
		    !memcmp(sec->purging[i]->apex, z->apex, z->apex_len))
			return true;
	return false;
}

/* Mark zones whose expiry passed, and find the due work. Under the lock.
 * \return the zone to work on (busy set), or NULL with *wake the next due time */
static struct sec_zone *pick(struct secondary *sec, int64_t now, bool *is_save, int64_t *wake)
{
	*wake = now + IDLE_WAKE_S;
	/* From where the last pick stopped, round the table: when thousands
	 * are due at once (a catalog's new members) each pick finds the
	 * next at once instead of scanning them all; the full round, and
	 * the wake time, when nothing is due. */
	size_t n = sec->n, start = sec->cursor < n ? sec->cursor : 0;
	for (size_t k = 0; k < n; k++) {
		size_t i = start + k < n ? start + k : start + k - n;
		struct sec_zone *z = sec->z[i];
		sec->cursor = i + 1;
		if (!z->expired && z->expire_at && now >= z->expire_at && z->cur) {
			log_err("zone %s: expired (no successful refresh for its EXPIRE, since %s): "
				"answering SERVFAIL until a primary answers",
				z->name, z->last_ok ? "the last one" : "start");
			set_expiry(z, z->expire_at, true);
			sec->changed = true;
			wake_main(sec);
		}
		if (!z->expired && z->expire_at && z->expire_at < *wake)
			*wake = z->expire_at;
		if (sec->npurging && purge_pending(sec, z))
			continue;
		if (!z->busy) {
			if (z->next_check <= now) {
				*is_save = false;
				z->busy = true;
				return z;
			}
			if (z->next_check < *wake)
				*wake = z->next_check;
		}
		if (!z->saving && z->dirty && z->zonefile_sync >= 0 && z->cur) {
			if (z->save_due <= now) {
				*is_save = true;
				z->saving = true;
				return z;
			}
			if (z->save_due < *wake)
				*wake = z->save_due;
		}
	}
	return NULL;
}

/* A purged zone's copy and timers. Under the lock (two unlinks). */
static void purge_files(const struct sec_zone *z)
{
	if (z->file && unlink(z->file) < 0 && errno != ENOENT)
		log_warn("zone %s: deleting its copy %s: %s", z->name, z->file, strerror(errno));
	if (z->timers_path && unlink(z->timers_path) < 0 && errno != ENOENT)
		log_warn("zone %s: deleting %s: %s", z->name, z->timers_path, strerror(errno));
}

static void done(struct secondary *sec, struct sec_zone *z, bool is_save)
{
	if (is_save)
		z->saving = false;
	else
		z->busy = false;
	if (!z->gone || z->busy || z->saving)
		return;
	if (z->purge) {
		purge_files(z);
		for (size_t i = 0; i < sec->npurging; i++)
			if (sec->purging[i] == z) {
				sec->purging[i] = sec->purging[--sec->npurging];
				break;
			}
		pthread_cond_broadcast(&sec->cond); /* a zone of that name may go on */
	}
	zone_entry_free(sec, z);
}

void secondary_purge(struct secondary *sec, const uint8_t *apex, size_t apex_len)
{
	if (!sec)
		return;
	pthread_mutex_lock(&sec->lock);
	struct sec_zone *z = NULL;
	for (size_t i = 0; i < sec->n && !z; i++)
		if (sec->z[i]->apex_len == apex_len && !memcmp(sec->z[i]->apex, apex, apex_len)) {
			z = sec->z[i];
			sec->z[i] = sec->z[--sec->n];
		}
	/* versions queued for the main thread are dropped with it */
	for (struct secondary_update **u = &sec->head; *u;) {
		if ((*u)->apex_len == apex_len && !memcmp((*u)->apex, apex, apex_len)) {
			struct secondary_update *x = *u;
			*u = x->next;
			x->next = NULL;
			secondary_updates_free(x);
		} else {
			u = &(*u)->next;
		}
	}
	sec->tail = NULL;
	for (struct secondary_update *u = sec->head; u; u = u->next)
		sec->tail = u;
	if (z && (z->busy || z->saving)) {
		struct sec_zone **v = realloc(sec->purging, (sec->npurging + 1) * sizeof(*v));
		z->gone = true;
		if (v) {
			sec->purging = v;
			sec->purging[sec->npurging++] = z;
			z->purge = true;
		} else {
			log_err("zone %s: out of memory: its copy %s is not deleted", z->name,
				z->file);
		}
	} else if (z) {
		purge_files(z);
		zone_entry_free(sec, z);
	}
	pthread_mutex_unlock(&sec->lock);
}

void secondary_run_once(struct secondary *sec)
{
	int64_t wake;
	bool is_save;
	pthread_mutex_lock(&sec->lock);
	struct sec_zone *z;
	while ((z = pick(sec, sec->now(), &is_save, &wake))) {
		if (is_save)
			save(sec, z);
		else
			refresh(sec, z);
		done(sec, z, is_save);
	}
	pthread_mutex_unlock(&sec->lock);
}

static void *worker(void *arg)
{
	struct secondary *sec = arg;
	pthread_mutex_lock(&sec->lock);
	while (!sec->stop) {
		int64_t wake;
		bool is_save = false;
		struct sec_zone *z = pick(sec, sec->now(), &is_save, &wake);
		if (!z) {
			struct timespec ts = {.tv_sec = (time_t)wake};
			pthread_cond_timedwait(&sec->cond, &sec->lock, &ts);
			continue;
		}
		if (is_save)
			save(sec, z);
		else
			refresh(sec, z);
		done(sec, z, is_save);
	}
	pthread_mutex_unlock(&sec->lock);
	return NULL;
}

struct secondary *secondary_new(const struct secondary_cfg *cfg)
{
	struct secondary *sec = calloc(1, sizeof(*sec));
	if (!sec)
		return NULL;
	pthread_mutex_init(&sec->lock, NULL);
	pthread_cond_init(&sec->cond, NULL);
	sec->now = cfg->now ? cfg->now : clock_real;
	sec->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sec->efd < 0)
		goto fail;
	if (cfg->no_threads)
		return sec;
	unsigned n = cfg->threads ? cfg->threads : 1;
	sec->threads = calloc(n, sizeof(*sec->threads));
	if (!sec->threads)
		goto fail;
	for (; sec->nthreads < n; sec->nthreads++) {
		int r = pthread_create(&sec->threads[sec->nthreads], NULL, worker, sec);
		if (r) {
			errno = r;
			goto fail;
		}
	}
	return sec;
fail:
	secondary_free(sec);
	return NULL;
}

void secondary_free(struct secondary *sec)
{
	if (!sec)
		return;
	pthread_mutex_lock(&sec->lock);
	sec->stop = true;
	pthread_cond_broadcast(&sec->cond);
	pthread_mutex_unlock(&sec->lock);
	if (sec->nthreads) {
		/* checks in progress end now, discarded (stop is set) */
		xfrin_cancel(true);
		for (unsigned i = 0; i < sec->nthreads; i++)
			pthread_join(sec->threads[i], NULL);
		xfrin_cancel(false);
	}
	free(sec->threads);
	/* the copies not saved yet, every zonefile-sync included */
	pthread_mutex_lock(&sec->lock);
	for (size_t i = 0; i < sec->n; i++) {
		struct sec_zone *z = sec->z[i];
		if (z->dirty && z->cur && !z->cur->stub) {
			z->saving = true;
			save(sec, z);
			z->saving = false;
		}
	}
	pthread_mutex_unlock(&sec->lock);
	for (size_t i = 0; i < sec->n; i++)
		zone_entry_free(sec, sec->z[i]);
	free(sec->z);
	free(sec->prims); /* empty: each set went with its last zone */
	free(sec->purging);
	secondary_updates_free(sec->head);
	if (sec->efd >= 0)
		close(sec->efd);
	pthread_cond_destroy(&sec->cond);
	pthread_mutex_destroy(&sec->lock);
	free(sec);
}

/* ---------------------------------------------------------------- the tests' */

const void *secondary_primaries_of(struct secondary *sec, const uint8_t *apex, size_t apex_len,
				   size_t *nsets)
{
	pthread_mutex_lock(&sec->lock);
	struct sec_zone *z = find(sec, apex, apex_len);
	const void *p = z ? z->prim : NULL;
	*nsets = sec->nprims;
	pthread_mutex_unlock(&sec->lock);
	return p;
}
