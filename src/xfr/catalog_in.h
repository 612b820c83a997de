/* catalog_in.h: catalog zones, the consumer side (RFC 9432 version 2), as
 * Knot's `catalog-role: interpret`.
 *
 * A catalog zone is served like any zone (usually a secondary of the
 * producer). Each time a new version of it is served, it is read:
 *
 *     version.<cat>            TXT "2"        exactly one record, one string
 *     <id>.zones.<cat>         PTR <member>   one member per id (§4.3)
 *     group.<id>.zones.<cat>   TXT "<group>"  picks the member's template
 *     coo.<id>.zones.<cat>     PTR <other>    the member may move to the
 *                                             catalog <other> (§4.3.1)
 *
 * Anything else in the zone is ignored (§3: records no processing is
 * specified for). A broken catalog (§4.2) is not applied at all: the
 * members stay as they were (§5.1) and the log says why. Broken: a
 * version property missing, doubled or other than "2"; a member node or a
 * coo property with more than one PTR; one zone under two ids; more
 * members than catalog-max-members. A member naming the root, the catalog
 * itself or a name below it is left out and logged (§5.2: a clash with a
 * configured zone); the others apply. A member with several groups takes
 * the one naming the first of the catalog's templates (§4.3.2 lets the
 * consumer choose); a group naming no template gets the first template.
 *
 * The members of every catalog are resolved together into one member set
 * (catalog_consumer_resolve), applied whole by the caller (one new
 * configuration, conf_derive):
 *   - a zone of the configuration file is never taken by a catalog;
 *   - a zone already a member of one catalog stays there when another lists
 *     it (§5.2), unless the first one's coo property names the other and the
 *     other lists it: then it moves (§5.5), keeping its data when its id is
 *     the same in both, else transferred afresh;
 *   - a member whose id changed is removed and added again (§5.4);
 *   - a removed member's data is deleted by the caller (§5.3).
 * A catalog that expires or fails to refresh is simply not read again: its
 * members keep being served (§5.1).
 *
 * The member set each catalog last applied is kept in
 * `<storage>/<catalog>.members`, read at start before the catalog's copy
 * is: a restart serves the same members even when the catalog's copy is
 * missing or holds a version that was refused.
 *
 * Main thread only.
 */
#ifndef SHOAL_CATALOG_IN_H
#define SHOAL_CATALOG_IN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns/dname.h"
#include "ops/conf.h"
#include "zone/zone.h"
#include "zone/zoneset.h"

/** Octets of a member's id: one label. */
#define CATALOG_IN_ID_MAX 63

/** A set's member octets: one block, shared by the sets pointing into it
 * (a catalog's `applied` set points into its `parsed` one's) and freed
 * with the last of them. */
struct catalog_in_octets {
	size_t refs;
	uint8_t o[];
};

/** One member of a catalog, as read: 16 octets. Its apex, id, group and
 * coo follow one another in its set's block (`struct catalog_in_octets`),
 * in that order, so that only the apex is pointed at:
 *   apex   `apex_len` octets, lowercased wire
 *   id     the unique-N label, lowercased: its length, then its octets
 *   group  with `has_group`: a string and its NUL
 *   coo    `coo_len` octets (0: none): the coo property's catalog,
 *          lowercased wire
 * Read the id, group and coo through catalog_in_member_id, _group and
 * _coo. A set of thousands of members holds their octets, not DNAME_MAX
 * for each. */
struct catalog_in_member {
	const uint8_t *apex;
	uint8_t apex_len;
	uint8_t coo_len;
	bool has_group;
};

/** Its id: a length octet, then the label. */
static inline const uint8_t *catalog_in_member_id(const struct catalog_in_member *m)
{
	return m->apex + m->apex_len;
}

/** Its group, or NULL: none. */
static inline const char *catalog_in_member_group(const struct catalog_in_member *m)
{
	const uint8_t *id = catalog_in_member_id(m);
	return m->has_group ? (const char *)(id + id[0] + 1) : NULL;
}

/** Its coo property's catalog (`coo_len` octets), or NULL: none. */
static inline const uint8_t *catalog_in_member_coo(const struct catalog_in_member *m)
{
	if (!m->coo_len)
		return NULL;
	const uint8_t *id = catalog_in_member_id(m);
	const uint8_t *p = id + id[0] + 1;
	return m->has_group ? p + strlen((const char *)p) + 1 : p;
}

/** A catalog's members, sorted by apex (catalog_in_find). Built whole,
 * then only read until catalog_in_set_free. */
struct catalog_in_set {
	struct catalog_in_member *v;	/* exactly `n` (NULL: none) */
	size_t n;
	struct catalog_in_octets *octets;	/* their octets (a reference; NULL:
						 * none) */
};

/** Receives each message about one member or the whole catalog. */
typedef void (*catalog_in_log_fn)(void *ctx, bool warning, const char *msg);

/**
 * Read a version of the catalog zone `z` (its apex is the catalog) whose
 * configuration is `cat` (its templates choose among several groups; may
 * be NULL). Members left out are each reported to `log` (warning).
 * \param[out] out  the members (catalog_in_set_free)
 * \param why  when the version cannot be applied, the reason
 * \return 0, -EINVAL (broken: `why`), -E2BIG (more than `max_members`:
 *         `why`), -ENOMEM
 */
int catalog_in_read(const struct zone *z, const struct conf_zone *cat, size_t max_members,
		    catalog_in_log_fn log, void *ctx, struct catalog_in_set *out, char *why,
		    size_t whysize);

/** The member `apex` of `set`, or NULL. */
const struct catalog_in_member *catalog_in_find(const struct catalog_in_set *set,
						const uint8_t *apex, size_t len);

void catalog_in_set_free(struct catalog_in_set *set);

/**
 * Write `set` (the coo properties aside) to `path` as text, atomically.
 * \return 0 or -errno (`why` says what failed)
 */
int catalog_in_save(const char *path, const char *catalog, const struct catalog_in_set *set,
		    char *why, size_t whysize);

/**
 * Read what catalog_in_save wrote. A missing file is an empty set.
 * \return 0, -ENOENT (no file: an empty set), -EINVAL (`why`: file:line),
 *         -ENOMEM, or another -errno
 */
int catalog_in_load(const char *path, struct catalog_in_set *out, char *why, size_t whysize);

/* ---- the consumer: every catalog-role interpret zone ---- */

struct catalog_consumer;

struct catalog_consumer *catalog_consumer_new(void);
void catalog_consumer_free(struct catalog_consumer *cc);

/**
 * Bring the consumer to the catalogs of `fc` (the configuration file's:
 * its catalog-role interpret zones). A catalog new to it starts with the
 * members it saved (`<storage>/<catalog>.members`, through `in_root` for a
 * chroot; NULL: paths as they are); one no longer configured drops its
 * members at the next catalog_consumer_resolve.
 */
void catalog_consumer_configure(struct catalog_consumer *cc, const struct conf *fc,
				const char *(*in_root)(const char *path, char *buf, size_t size));

/**
 * Read each catalog whose served version in `set` is new since the last
 * call (not a stub, not expired); `fc` gives its templates and cap. \return true when some catalog's members may have
 * changed (catalog_consumer_resolve is due)
 */
bool catalog_consumer_read(struct catalog_consumer *cc, const struct conf *fc,
			   const struct zoneset *set);

/** Names one after the other in one buffer, each a length octet then the
 * name (lowercased wire): catalog_names_next walks them. */
struct catalog_names {
	uint8_t *wire;
	size_t len, cap;	/* octets used, allocated */
	size_t n;		/* names */
};

/**
 * The name at `*at` of `v` (0: the first), and `*at` moved past it.
 * \return it (`*len` its length), or NULL after the last
 */
const uint8_t *catalog_names_next(const struct catalog_names *v, size_t *at, size_t *len);

/** `apex` is one of `v`. */
bool catalog_names_has(const struct catalog_names *v, const uint8_t *apex, size_t len);

/** What catalog_consumer_resolve changed. */
struct catalog_changes {
	unsigned added, removed, reset, moved, ignored;
	/* zones whose data, journal and timers the caller deletes: removed
	 * ones, and (first) those being transferred afresh (`fresh`) */
	struct catalog_names purge;
	/* of `purge`, those that stay members: served again, from nothing */
	struct catalog_names fresh;
};

void catalog_changes_free(struct catalog_changes *ch);

/**
 * Resolve every catalog's members into the member set (see the file
 * comment), log what changed, save each catalog's new set.
 * \return 1 when the set changed (`ch` says how), 0 when not, -ENOMEM
 *         (nothing changed)
 */
int catalog_consumer_resolve(struct catalog_consumer *cc, const struct conf *fc,
			     struct catalog_changes *ch);

/**
 * The member set, for conf_derive (each entry points into `cc` and `fc`:
 * valid until the next catalog_consumer_* call). Members whose catalog is
 * not in `fc` are left out.
 * \return 0 or -ENOMEM; *m malloc'd
 */
int catalog_consumer_members(const struct catalog_consumer *cc, const struct conf *fc,
			     struct conf_member **m, size_t *n);

/** `shoalctl zone-status` for a catalog (nothing for another zone): its
 * members and the last version read. json: `, "catalog": {...}`.
 * \return octets written (snprintf-like) */
size_t catalog_consumer_status(const struct catalog_consumer *cc, const uint8_t *apex,
			       size_t apex_len, bool json, char *out, size_t size);

#endif
