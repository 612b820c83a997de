/* zoneset.h: the zones the configuration asks for, and how each last loaded.
 *
 * The main thread's view of what it serves: one entry per configured zone
 * (the configuration file's zone: list and the files of --zones DIR), with
 * the file, where the zone was defined, the version served (a reference to
 * an immutable struct zone, or none) and the outcome of its last load. A
 * reload brings the set to a new list of zones and builds from it the next
 * zonedb for the workers:
 *   - a zone no longer listed is dropped;
 *   - a new one is loaded;
 *   - a listed one is read again only when its file changed: another path,
 *     device, inode, size or modification time, or a modification time
 *     within ZONESET_RACY_NS of when it was last read (a write in the same
 *     timestamp tick as our read would otherwise go unseen); `force` reads
 *     every file;
 *   - a zone whose file fails keeps the version it had (if any);
 *   - a secondary zone's file (the copy it saved) is read only while the
 *     zone has no data: a reload never puts an older copy in place of
 *     what transfers brought. A missing copy is no error: the zone gets a
 *     stub (zone_stub_new, SERVFAIL) until its first transfer.
 * Only the main thread touches a zoneset.
 */
#ifndef SHOAL_ZONESET_H
#define SHOAL_ZONESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dns/dname.h"
#include "zone/zone_load.h"
#include "zone/zonedb.h"

/** A file modified this close to the moment we started reading it is read
 * again on the next reload even if it looks unchanged: file timestamps
 * advance in ticks of up to a few milliseconds, so a write right after our
 * read could keep the same time. One second covers any tick. */
#define ZONESET_RACY_NS 1000000000LL

/** Messages kept per zone for `shoalctl reload` and `zone-status`. */
#define ZONESET_MSGS_MAX 20

/** One zone to serve, as the configuration gives it. */
struct zone_spec {
	uint8_t apex[DNAME_MAX];	/* lowercased wire */
	size_t apex_len;
	const char *file;		/* the zone file */
	const char *where;		/* where it was defined: "shoal.conf:12", "--zones DIR" */
	bool secondary;			/* its data comes from a primary (xfr/secondary.h):
					 * `file` is our saved copy, read once, at start */
	bool fresh;			/* a secondary new to the set starts from nothing
					 * (a stub), whatever `file` holds: a catalog
					 * member whose data is being deleted */
};

enum zone_outcome {
	ZONE_OUTCOME_NONE = 0,	/* not loaded yet */
	ZONE_OUTCOME_LOADED,	/* read now, and served */
	ZONE_OUTCOME_UNCHANGED,	/* its file did not change: the version served stays */
	ZONE_OUTCOME_KEPT,	/* the file failed; the previous version stays served */
	ZONE_OUTCOME_FAILED,	/* the file failed; the zone is not served */
};

struct zone_state {
	const uint8_t *apex;	/* lowercased wire, in `name`'s allocation */
	size_t apex_len;
	char *name;		/* presentation, with the final dot; then the apex,
				 * the file and where: one allocation (a reload
				 * that changes the file or where makes another) */
	const char *file;	/* in `name`'s allocation */
	const char *where;	/* in `name`'s allocation */
	struct zone *zone;	/* the version served (a reference), or NULL */
	enum zone_outcome outcome;	/* of the last load attempt */
	unsigned nerrors;	/* errors in the last attempt */
	struct timespec attempt;	/* when the last attempt ran (CLOCK_REALTIME) */
	char **msgs;		/* the last attempt's messages, "file:line: reason"
				 * (at most ZONESET_MSGS_MAX; NULL: none) */
	size_t nmsgs;
	void *xfr;		/* the hooks' state for this zone (xfr/primary.c), or NULL */
	bool touched;		/* looked at by the last update */
	bool secondary;		/* zone_spec.secondary */
	bool fresh;		/* zone_spec.fresh, until the first load */
};

/** What the owner of a zoneset does with each version a file gives (the
 * primary's serial checks, differences and journal, xfr/primary.h).
 * Main thread, inside zoneset_update. */
struct zoneset_hooks {
	/**
	 * A file was read into `fresh` (refs 0) for zone `s`; `old` is the
	 * version served until now (NULL: none). Return the version to serve:
	 * `fresh`, a version made from it, or `old` to keep serving it (the new
	 * content refused, or the same as before). Versions made and not
	 * returned are the hook's to release. Never NULL.
	 * \param[out] refused  set when `old` is returned because the new
	 *             content was refused (the outcome is then KEPT)
	 */
	struct zone *(*accept)(void *ctx, struct zone_state *s, struct zone *old,
			       struct zone *fresh, bool *refused);
	/** `s` leaves the set (or the set is cleared): free s->xfr. */
	void (*forget)(void *ctx, struct zone_state *s);
	void *ctx;
};

struct zoneset {
	struct zone_state *v;
	size_t n;
	/* zoneset_find's index (positions + 1 by apex hash, 0 empty),
	 * rebuilt by each update: thousands of catalog members */
	uint32_t *idx;
	size_t idx_mask;
	struct zoneset_hooks hooks;	/* all NULL: every file is served as read */
};

/** What an update did, zone by zone summed. */
struct zoneset_stats {
	unsigned loaded, unchanged, kept, failed, added, removed;
};

/**
 * Bring `set` to `specs` (see the file comment). With `only` (an array of
 * `nonly` lowercased wire names), only those zones of the set are looked at
 * and `specs` is not: every other zone stays as it is. Every message goes to
 * `diag` as well as into its zone's state.
 * \param[out] db  the zonedb to publish: every zone of the set that has a version
 * \return 0, -ENOMEM (the set is then unchanged in what it serves), or
 *         -ENOENT when a zone in `only` is not in the set (nothing done)
 */
int zoneset_update(struct zoneset *set, const struct zone_spec *specs, size_t nspecs, bool force,
		   const uint8_t *const *only, size_t nonly, zone_diag_fn diag, void *ctx,
		   struct zonedb **db, struct zoneset_stats *stats);

/** A zonedb of every zone of the set that has a version (after versions
 * changed outside zoneset_update: a transfer). NULL: out of memory. */
struct zonedb *zoneset_db(const struct zoneset *set);

/** The entry for `apex`, or NULL. */
struct zone_state *zoneset_find(const struct zoneset *set, const uint8_t *apex, size_t len);

/** Drop every zone and free the set's memory. */
void zoneset_clear(struct zoneset *set);

/**
 * The zones of a directory as --zones reads it: every `<origin>.zone` file,
 * sorted by file name, hidden files skipped.
 * \param[out] specs  calloc'd; each file and where is malloc'd (zoneset_specs_free)
 * \param[out] skipped  files reported to `diag` and skipped (a bad name, a
 *         second file for one zone); may be NULL
 * \return 0, or -errno when the directory cannot be read
 */
int zoneset_scan_dir(const char *dir, zone_diag_fn diag, void *ctx, struct zone_spec **specs,
		     size_t *n, unsigned *skipped);

/** Free what zoneset_scan_dir returned. */
void zoneset_specs_free(struct zone_spec *specs, size_t n);

/** Summary of a directory load, for logs and tests. */
struct zonedb_load_stats {
	unsigned loaded;   /* zones read now and served */
	unsigned failed;   /* files that failed */
	unsigned kept;     /* of those, zones whose previous version stays */
	unsigned removed;  /* zones of `old` whose file is gone */
};

/**
 * Load every `*.zone` file in `dir` into a new zonedb, as the server did
 * before it had a configuration file (the tests use it): every file is read. A file that fails to
 * load keeps the zone of the same origin from `old` (if any) in the result.
 * \return 0, or -errno when the directory cannot be read (nothing built)
 */
int zonedb_load_dir(const char *dir, const struct zonedb *old, zone_diag_fn diag, void *ctx,
		    struct zonedb **out, struct zonedb_load_stats *stats);

/** "loaded", "unchanged", ... */
const char *zone_outcome_name(enum zone_outcome o);

#endif
