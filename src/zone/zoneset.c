/* zoneset.c: the configured zones, reloaded only where their files changed. */
#include "zone/zoneset.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/log.h"

const char *zone_outcome_name(enum zone_outcome o)
{
	static const char *const names[] = {
		[ZONE_OUTCOME_NONE] = "not loaded",	[ZONE_OUTCOME_LOADED] = "loaded",
		[ZONE_OUTCOME_UNCHANGED] = "unchanged", [ZONE_OUTCOME_KEPT] = "failed, previous version kept",
		[ZONE_OUTCOME_FAILED] = "failed, not served",
	};
	return names[o];
}

struct zone_state *zoneset_find(const struct zoneset *set, const uint8_t *apex, size_t len)
{
	if (!set->idx) {
		for (size_t i = 0; i < set->n; i++)
			if (set->v[i].apex_len == len && !memcmp(set->v[i].apex, apex, len))
				return &set->v[i];
		return NULL;
	}
	size_t h = (size_t)dname_hash(apex, len) & set->idx_mask;
	for (uint32_t k; (k = set->idx[h]); h = (h + 1) & set->idx_mask) {
		struct zone_state *s = &set->v[k - 1];
		if (s->apex_len == len && !memcmp(s->apex, apex, len))
			return s;
	}
	return NULL;
}

/* zoneset_find's index of set->v (none when out of memory: a scan). */
static void index_build(struct zoneset *set)
{
	free(set->idx);
	set->idx = NULL;
	size_t slots = 16;
	while (slots < 2 * set->n)
		slots *= 2;
	uint32_t *t = calloc(slots, sizeof(*t));
	if (!t)
		return;
	for (size_t i = 0; i < set->n; i++) {
		size_t h = (size_t)dname_hash(set->v[i].apex, set->v[i].apex_len) & (slots - 1);
		while (t[h])
			h = (h + 1) & (slots - 1);
		t[h] = (uint32_t)i + 1;
	}
	set->idx = t;
	set->idx_mask = slots - 1;
}

static void msgs_clear(struct zone_state *s)
{
	for (size_t i = 0; i < s->nmsgs; i++)
		free(s->msgs[i]);
	free(s->msgs);
	s->msgs = NULL;
	s->nmsgs = 0;
	s->nerrors = 0;
}

static void state_free(const struct zoneset *set, struct zone_state *s)
{
	if (s->xfr && set->hooks.forget)
		set->hooks.forget(set->hooks.ctx, s);
	msgs_clear(s);
	zone_unref(s->zone);
	free(s->name); /* the apex, the file and where with it */
}

void zoneset_clear(struct zoneset *set)
{
	for (size_t i = 0; i < set->n; i++)
		state_free(set, &set->v[i]);
	free(set->v);
	set->v = NULL;
	set->n = 0;
	free(set->idx);
	set->idx = NULL;
}

/* The file is the one `z` was read from, and has not changed since. */
static bool file_unchanged(const struct zone *z, const char *file)
{
	struct stat st;
	if (!z->source || strcmp(z->source, file) != 0 || stat(file, &st) < 0)
		return false;
	if (st.st_dev != z->file_dev || st.st_ino != z->file_ino || st.st_size != z->file_size ||
	    st.st_mtim.tv_sec != z->file_mtime.tv_sec ||
	    st.st_mtim.tv_nsec != z->file_mtime.tv_nsec)
		return false;
	long long mt = (long long)z->file_mtime.tv_sec * 1000000000LL + z->file_mtime.tv_nsec;
	long long lt = (long long)z->loaded_at.tv_sec * 1000000000LL + z->loaded_at.tv_nsec;
	return mt + ZONESET_RACY_NS <= lt;
}

/* Collects a load's messages into its zone's state, and passes them on. */
struct collect {
	struct zone_state *s;
	zone_diag_fn diag;
	void *ctx;
};

static void collect_diag(void *ctx, enum zone_diag_severity sev, const char *file, int line,
			 const char *reason)
{
	struct collect *c = ctx;
	struct zone_state *s = c->s;
	if (s->nmsgs < ZONESET_MSGS_MAX) {
		/* most zones have none: the array grows by one */
		char m[2048];
		zone_diag_format(m, sizeof(m), sev, file, line, reason);
		char **v = realloc(s->msgs, (s->nmsgs + 1) * sizeof(*v));
		if (v) {
			s->msgs = v;
			if ((v[s->nmsgs] = strdup(m)))
				s->nmsgs++;
		}
	}
	if (c->diag)
		c->diag(c->ctx, sev, file, line, reason);
}

/* Load (or keep) one zone. */
static void load_one(const struct zoneset *set, struct zone_state *s, bool force,
		     zone_diag_fn diag, void *ctx, struct zoneset_stats *st)
{
	s->touched = true;
	clock_gettime(CLOCK_REALTIME, &s->attempt);
	if (s->secondary && s->zone && !s->zone->stub) {
		/* its data came by transfer, or was read at start: what is
		 * served is newer than (or the same as) the file */
		s->outcome = ZONE_OUTCOME_UNCHANGED;
		st->unchanged++;
		return;
	}
	bool fresh = s->fresh;
	s->fresh = false;
	if (s->secondary && (fresh || (access(s->file, F_OK) < 0 && errno == ENOENT))) {
		/* no copy yet: SERVFAIL until the first transfer */
		if (!s->zone) {
			struct zone *stub = zone_stub_new(s->apex);
			if (stub) {
				zone_ref(stub);
				s->zone = stub;
			}
		}
		s->outcome = s->zone ? ZONE_OUTCOME_LOADED : ZONE_OUTCOME_FAILED;
		if (s->zone)
			st->loaded++;
		else
			st->failed++;
		return;
	}
	if (!force && s->zone && file_unchanged(s->zone, s->file)) {
		/* the messages of the load that read it stay */
		s->outcome = ZONE_OUTCOME_UNCHANGED;
		st->unchanged++;
		return;
	}
	msgs_clear(s);
	struct collect c = {.s = s, .diag = diag, .ctx = ctx};
	unsigned nerr = 0;
	struct zone *z = zone_load_file(s->file, s->apex, collect_diag, &c, &nerr);
	s->nerrors = nerr;
	if (z && set->hooks.accept) {
		bool refused = false;
		z = set->hooks.accept(set->hooks.ctx, s, s->zone, z, &refused);
		if (z == s->zone) {
			/* kept: refused (logged by the hook), or the same content */
			s->outcome = refused ? ZONE_OUTCOME_KEPT : ZONE_OUTCOME_UNCHANGED;
			if (refused)
				st->kept++;
			else
				st->unchanged++;
			return;
		}
	}
	if (z) {
		zone_ref(z);
		zone_unref(s->zone);
		s->zone = z;
		s->outcome = ZONE_OUTCOME_LOADED;
		st->loaded++;
		return;
	}
	if (!s->zone && s->secondary && (z = zone_stub_new(s->apex))) {
		/* a damaged copy: as if there were none (the error is logged) */
		zone_ref(z);
		s->zone = z;
	}
	if (s->zone) {
		s->outcome = ZONE_OUTCOME_KEPT;
		st->kept++;
		log_err("zone %s not loaded (%u error%s in %s); the previous version (serial %u) "
			"stays served",
			s->name, nerr, nerr == 1 ? "" : "s", s->file, s->zone->serial);
	} else {
		s->outcome = ZONE_OUTCOME_FAILED;
		st->failed++;
		log_err("zone %s not loaded (%u error%s in %s); it is not served", s->name, nerr,
			nerr == 1 ? "" : "s", s->file);
	}
}

static struct zonedb *build_db(const struct zoneset *set)
{
	struct zone **zones = calloc(set->n ? set->n : 1, sizeof(*zones));
	size_t nz = 0;
	if (!zones)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].zone)
			zones[nz++] = set->v[i].zone;
	struct zonedb *db = zonedb_new(zones, nz);
	free(zones);
	return db;
}

struct zonedb *zoneset_db(const struct zoneset *set)
{
	return build_db(set);
}

/* Give `s` its name, apex, file and where (NULL: "") in one allocation
 * (thousands of catalog members: one malloc header each, not three), in
 * place of the one it had (`apex`, `file` and `where` may point into it).
 * \return 0, or -ENOMEM (`s` unchanged) */
static int state_strings(struct zone_state *s, const uint8_t *apex, size_t apex_len,
			 const char *file, const char *where)
{
	char nb[DNAME_STR_MAX];
	if (!where)
		where = "";
	size_t nl = strlen(dname_to_str(apex, nb, sizeof(nb))) + 1;
	size_t fl = strlen(file) + 1, wl = strlen(where) + 1;
	char *b = malloc(nl + apex_len + fl + wl);
	if (!b)
		return -ENOMEM;
	memcpy(b, nb, nl);
	memcpy(b + nl, apex, apex_len);
	memcpy(b + nl + apex_len, file, fl);
	memcpy(b + nl + apex_len + fl, where, wl);
	free(s->name);
	s->name = b;
	s->apex = (const uint8_t *)b + nl;
	s->apex_len = apex_len;
	s->file = b + nl + apex_len;
	s->where = b + nl + apex_len + fl;
	return 0;
}

static int state_init(struct zone_state *s, const struct zone_spec *sp)
{
	memset(s, 0, sizeof(*s));
	s->secondary = sp->secondary;
	s->fresh = sp->fresh;
	return state_strings(s, sp->apex, sp->apex_len, sp->file, sp->where);
}

int zoneset_update(struct zoneset *set, const struct zone_spec *specs, size_t nspecs, bool force,
		   const uint8_t *const *only, size_t nonly, zone_diag_fn diag, void *ctx,
		   struct zonedb **db, struct zoneset_stats *stats)
{
	struct zoneset_stats st = {0};
	*db = NULL;
	for (size_t i = 0; i < set->n; i++)
		set->v[i].touched = false;

	if (only) {
		for (size_t k = 0; k < nonly; k++) {
			size_t len = dname_wire_len(only[k], DNAME_MAX);
			if (!zoneset_find(set, only[k], len))
				return -ENOENT;
		}
		for (size_t k = 0; k < nonly; k++) {
			size_t len = dname_wire_len(only[k], DNAME_MAX);
			struct zone_state *s = zoneset_find(set, only[k], len);
			if (!s->touched)
				load_one(set, s, force, diag, ctx, &st);
		}
		goto publish;
	}

	/* The new list, in the order of `specs`: entries of zones that stay
	 * move over with their version (`from` says which), new ones are made
	 * first so that running out of memory changes nothing; the rest are
	 * dropped after. */
	struct zone_state *nv = calloc(nspecs ? nspecs : 1, sizeof(*nv));
	size_t *from = calloc(nspecs ? nspecs : 1, sizeof(*from));
	if (!nv || !from) {
		free(nv);
		free(from);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nspecs; i++) {
		struct zone_state *old = zoneset_find(set, specs[i].apex, specs[i].apex_len);
		if (old && !old->touched) {
			old->touched = true;
			from[i] = (size_t)(old - set->v) + 1;
			continue;
		}
		if (state_init(&nv[i], &specs[i]) < 0) {
			for (size_t k = 0; k < i; k++)
				if (!from[k])
					state_free(set, &nv[k]);
			for (size_t k = 0; k < set->n; k++)
				set->v[k].touched = false;
			free(nv);
			free(from);
			return -ENOMEM;
		}
		st.added++;
	}
	for (size_t i = 0; i < nspecs; i++) {
		if (!from[i])
			continue;
		nv[i] = set->v[from[i] - 1];
		/* a file zone turned secondary keeps its data as the base; a
		 * secondary turned file zone reads its file (a transferred
		 * version has no source file, so it is read) */
		nv[i].secondary = specs[i].secondary;
		/* the zone's file or origin of definition may have moved: its
		 * strings are made again (out of memory: the old ones stay) */
		const char *w = specs[i].where ? specs[i].where : "";
		if (strcmp(nv[i].file, specs[i].file) || strcmp(nv[i].where, w))
			state_strings(&nv[i], specs[i].apex, specs[i].apex_len, specs[i].file, w);
	}
	free(from);
	for (size_t i = 0; i < set->n; i++) {
		if (set->v[i].touched)
			continue; /* moved into nv */
		log_info("zone %s removed from the configuration: no longer served", set->v[i].name);
		state_free(set, &set->v[i]);
		st.removed++;
	}
	free(set->v);
	set->v = nv;
	set->n = nspecs;
	index_build(set);
	for (size_t i = 0; i < set->n; i++)
		set->v[i].touched = false;
	for (size_t i = 0; i < set->n; i++)
		load_one(set, &set->v[i], force, diag, ctx, &st);

publish:
	if (stats)
		*stats = st;
	*db = build_db(set);
	return *db ? 0 : -ENOMEM;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void zoneset_specs_free(struct zone_spec *specs, size_t n)
{
	for (size_t i = 0; specs && i < n; i++) {
		free((char *)specs[i].file);
		free((char *)specs[i].where);
	}
	free(specs);
}

int zoneset_scan_dir(const char *dir, zone_diag_fn diag, void *ctx, struct zone_spec **specs,
		     size_t *n, unsigned *skipped)
{
	unsigned skip = 0;
	char **names = NULL;
	size_t nnames = 0, capn = 0, ns = 0;
	struct zone_spec *sp = NULL;
	int ret = 0;
	DIR *d = opendir(dir);

	*specs = NULL;
	*n = 0;
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
	sp = calloc(nnames ? nnames : 1, sizeof(*sp));
	if (!sp) {
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
			skip++;
			continue;
		}
		struct zone_spec *s = &sp[ns];
		dname_lower(s->apex, origin, olen);
		s->apex_len = olen;
		bool dup = false;
		for (size_t k = 0; k < ns && !dup; k++)
			dup = sp[k].apex_len == olen && !memcmp(sp[k].apex, s->apex, olen);
		if (dup) {
			if (diag)
				diag(ctx, ZONE_DIAG_ERROR, path, 0,
				     "another file already serves this zone; ignored");
			skip++;
			continue;
		}
		char *w = NULL;
		s->file = strdup(path);
		s->where = asprintf(&w, "--zones %s", dir) < 0 ? NULL : w;
		if (!s->file || !s->where) {
			ns++;
			ret = -ENOMEM;
			goto out;
		}
		ns++;
	}
out:
	closedir(d);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	if (ret < 0) {
		zoneset_specs_free(sp, ns);
		return ret;
	}
	*specs = sp;
	*n = ns;
	if (skipped)
		*skipped = skip;
	return 0;
}

int zonedb_load_dir(const char *dir, const struct zonedb *old, zone_diag_fn diag, void *ctx,
		    struct zonedb **out, struct zonedb_load_stats *stats)
{
	struct zone_spec *specs;
	struct zoneset set = {0};
	struct zoneset_stats st = {0};
	size_t n;
	unsigned skipped = 0;
	*out = NULL;
	int r = zoneset_scan_dir(dir, diag, ctx, &specs, &n, &skipped);
	if (r < 0)
		return r;
	/* The old zones as a set, so that a file that fails keeps its version. */
	set.v = calloc(old && old->nzones ? old->nzones : 1, sizeof(*set.v));
	if (!set.v) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; old && i < old->nzones; i++) {
		struct zone *z = old->zones[i];
		struct zone_spec sp = {.apex_len = z->apex_len, .file = z->source ? z->source : "",
				       .where = ""};
		memcpy(sp.apex, z->apex, z->apex_len);
		if ((r = state_init(&set.v[set.n], &sp)) < 0)
			goto out;
		set.v[set.n].zone = z;
		zone_ref(z);
		set.n++;
	}
	r = zoneset_update(&set, specs, n, true, NULL, 0, diag, ctx, out, &st);
out:
	zoneset_clear(&set);
	zoneset_specs_free(specs, n);
	if (stats)
		*stats = (struct zonedb_load_stats){.loaded = st.loaded,
						    .failed = st.failed + st.kept + skipped,
						    .kept = st.kept,
						    .removed = st.removed};
	return r;
}
