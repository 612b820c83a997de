/* primary.h: what a primary does when a zone file gives a new version
 * (the zoneset's hooks, zoneset.h), main thread only.
 *
 * For a zone with outgoing transfers (an acl allowing transfer, or a
 * `notify:` list):
 *   - a new version whose serial is newer (RFC 1982; an undefined pair is
 *     not newer) is served; its difference from the old one goes to the
 *     zone's journal (storage/<zone>.journal) for IXFR, and NOTIFY goes to
 *     the `notify:` remotes once it is published;
 *   - a new content with a serial that is not newer is refused (the old
 *     version keeps serving, logged with both serials) unless
 *     `serial-policy` is increment or unixtime: then the serial is raised
 *     (SOA changed by zone_update, the rest shared);
 *   - the same content (a file touched, also after its serial was raised)
 *     changes nothing; a change of the SOA alone is a change;
 *   - the file's serial, size and modification time and the serial served
 *     for it are persisted (storage/<zone>.serial, every policy): a restart
 *     serves the same serial for the same file, never goes backwards, and
 *     tells a file edited while shoal was down (first_version);
 *   - at start the journal is opened against the serial served: a chain
 *     that does not end there is a break and is dropped, so an older
 *     secondary gets the whole zone.
 * Zones without transfers are served as read, with no journal.
 *
 * A secondary zone (primaries in its configuration) always has a journal:
 * what it receives goes there (primary_received), so it can serve IXFR to
 * its own secondaries, and at start the journal is replayed past the
 * saved copy it read (which may be older: zonefile-sync), or cut. Its
 * serial is the primary's: no serial file, no serial policy.
 */
#ifndef SHOAL_PRIMARY_H
#define SHOAL_PRIMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/conf.h"
#include "zone/changeset.h"
#include "zone/zoneset.h"

struct notifier;
struct primary;

/** \param notifier  where NOTIFYs go (NULL: none are sent). The functions
 * below accept p NULL (a --check run) and do nothing. */
struct primary *primary_new(struct notifier *notifier);

/** Where NOTIFYs go from now on (NULL: nowhere). */
void primary_set_notifier(struct primary *p, struct notifier *n);

/** The configuration zones are checked against from now on (borrowed: it
 * must outlive the next primary_set_conf or primary_free). NULL: none. */
void primary_set_conf(struct primary *p, const struct conf *c);

/** Install the hooks in `set`. */
void primary_hook(struct primary *p, struct zoneset *set);

/** Before zonedb_publish, with the privileges of the running server:
 * open the journals of zones that have none yet (against the serial
 * served) and attach them to the versions about to be published. */
void primary_prepare(struct primary *p, const struct zoneset *set);

/**
 * A secondary zone `s` received version `z` (xfr/secondary.h), about to
 * replace s->zone: its differences `cs` (oldest first) go to the journal,
 * or the journal breaks at z's serial after a whole zone (`full`); z gets
 * the journal, and NOTIFY goes to the zone's `notify:` remotes once
 * published. Before zoneset's version is replaced and published.
 * \return 0, -ENOMEM (served without IXFR from before it)
 */
int primary_received(struct primary *p, struct zone_state *s, struct zone *z,
		     struct changeset *const *cs, size_t ncs, bool full);

/** After zonedb_publish (a grace period has passed): send the NOTIFYs of
 * the versions just published, close the journals of zones that left. */
void primary_published(struct primary *p, const struct zoneset *set);

/**
 * NOTIFY the `notify:` remotes of zone `s` about the version served, now
 * (`shoalctl zone-notify`).
 * \return the number of targets, 0 when the zone has none; -ENOENT when
 *         it serves no version
 */
int primary_notify_now(struct primary *p, const struct zone_state *s);

/** Append `shoalctl zone-status` lines for zone `s` (journal range, last
 * NOTIFY per remote) to `out`. \return octets written (snprintf-like) */
size_t primary_status(struct primary *p, const struct zone_state *s, char *out, size_t size);

void primary_free(struct primary *p);

#endif
