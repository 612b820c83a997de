/* secondary.h: zones shoal follows from a primary (RFC 1034 §4.3.5, RFC
 * 1995, RFC 1996, RFC 5936): the refresh cycle, NOTIFY in, transfers in,
 * expiry, and the copy kept on disk.
 *
 * Threads. `transfers-in` threads of our own do all the waiting: SOA
 * queries, transfers, writing the zone's copy and its timers. They share
 * one table of secondary zones under a mutex and sleep on a condition
 * variable until the earliest event is due (a refresh, a save, an expiry)
 * or something wakes them (a NOTIFY, shoalctl, a new configuration). A
 * zone is worked on by one thread at a time (`busy`), so a lineage of
 * versions has one writer (zone.h). The main thread owns what is served
 * (the zoneset): a new version made by a transfer is queued for it with
 * its differences and announced on an eventfd (secondary_fd); the main
 * thread journals and publishes it (secondary_collect). Workers hand over
 * NOTIFYs through secondary_notify, which only takes the mutex for a
 * moment.
 *
 * The cycle, per zone. A check asks each primary in turn for its SOA
 * (UDP, TCP when truncated); a serial newer than ours (RFC 1982; an
 * undefined comparison is not newer) starts a transfer from that primary:
 * IXFR from our serial, falling back to AXFR (xfrin.h). Success (new data,
 * or the same serial) renews the zone: the next check after REFRESH, the
 * expiry EXPIRE after now (or the primary's EDNS EXPIRE when it is lower,
 * RFC 7314 §4, so a chain of secondaries does not renew from a stale
 * copy). Failure with every primary: the next check after RETRY. Both
 * bounded by refresh-min/max-interval and retry-min/max-interval. A
 * serial older than ours is not followed (logged); `zone-retransfer`
 * forces an AXFR that takes whatever the primary has. A NOTIFY makes the
 * check due now (one more after a check in progress), unless it names the
 * serial we have. When EXPIRE passes the zone is marked expired
 * (zone.expired): SERVFAIL until a check succeeds.
 *
 * On disk, under the zone's storage: the copy (the zone's `file`, written
 * by zone_save zonefile-sync seconds after a change, and at shutdown) and
 * its timers (the last successful check and the expiry), so a restart
 * knows whether its copy has expired: in `<zone>.timers`, rewritten after
 * each check that brings no new version to save, and in the second header
 * line of each saved copy; at start the later of the two counts. The
 * journal is the primary's (xfr/primary.h).
 */
#ifndef SHOAL_SECONDARY_H
#define SHOAL_SECONDARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ops/conf.h"
#include "zone/changeset.h"
#include "zone/zone.h"
#include "zone/zoneset.h"

struct secondary;

/** A clock the tests can move: CLOCK_REALTIME seconds. */
typedef int64_t (*secondary_clock_fn)(void);

struct secondary_cfg {
	unsigned threads;	/* transfers-in; 0: 1 */
	secondary_clock_fn now;	/* NULL: time(NULL) */
	bool no_threads;	/* tests: nothing runs until secondary_run_once */
};

/** Start the threads (none of them has a zone yet). NULL: out of memory
 * or no thread (errno). */
struct secondary *secondary_new(const struct secondary_cfg *cfg);

/**
 * Bring the table to the secondary zones of `set` (the zones whose
 * configuration in `conf` has primaries): new ones are added (their saved
 * timers read: a copy whose expiry has passed is marked expired; their
 * first check is due at once), gone ones are dropped (a transfer running
 * for one finishes and is discarded), the others take their new settings
 * and primaries and keep their timers. A zone's version is taken from the
 * set when the table has none (at start, the copy read from disk, or a
 * stub). Zones whose primaries are the same (addresses in order, keys,
 * names) share one copy of them. Main thread, after a reload or the start
 * has published.
 */
void secondary_sync(struct secondary *sec, const struct conf *conf, const struct zoneset *set);

/**
 * Stop following `apex` and delete its copy and timers (a catalog member
 * removed, or about to be transferred afresh): at once, or when the thread
 * working on it is done (a zone of that name waits until then). Versions
 * queued for the main thread are dropped. Main thread; the zone must be
 * gone from what secondary_sync is given next.
 */
void secondary_purge(struct secondary *sec, const uint8_t *apex, size_t apex_len);

/** The eventfd the main thread polls: readable when secondary_collect has
 * something. -1 for a NULL secondary. */
int secondary_fd(const struct secondary *sec);

/** One new version for the main thread. */
struct secondary_update {
	uint8_t apex[DNAME_MAX];
	size_t apex_len;
	struct zone *zone;	/* refs 1, the update's: the caller takes it over */
	struct changeset **cs;	/* IXFR: each referenced; NULL after a whole zone */
	size_t ncs;
	bool full;		/* a whole zone: the journal breaks */
	struct secondary_update *next;
};

/** True once after a zone expired or came back (the main thread then
 * refreshes what /metrics says). Main thread. */
bool secondary_take_changed(struct secondary *sec);

/** Take the queued new versions, oldest first (NULL: none). Main thread. */
struct secondary_update *secondary_collect(struct secondary *sec);

/** Free a list secondary_collect gave (and what the caller left in it). */
void secondary_updates_free(struct secondary_update *u);

/**
 * A NOTIFY for `apex` was accepted (any thread; takes the mutex briefly).
 * \param has_serial, serial  the SOA serial it carried, if any
 * \return true when `apex` is a secondary zone of the table
 */
bool secondary_notify(struct secondary *sec, const uint8_t *apex, size_t apex_len,
		      bool has_serial, uint32_t serial);

/** The answer_cfg.notify callback: ctx is the struct secondary. */
void secondary_notify_cb(void *ctx, const uint8_t *apex, size_t apex_len,
			 const struct sockaddr *from, bool has_serial, uint32_t serial);

/**
 * `shoalctl zone-refresh` (axfr false: check now) and `zone-retransfer`
 * (axfr true: an AXFR now, taking the primary's serial whatever it is).
 * \return 0, -ENOENT (not a secondary zone)
 */
int secondary_refresh(struct secondary *sec, const uint8_t *apex, size_t apex_len, bool axfr);

/** Append `shoalctl zone-status` lines for the zone (primary, serial,
 * last check and its result, next check, expiry); json: one JSON object
 * member list, `"secondary": {...}`. \return octets written (snprintf-like);
 * 0 when not a secondary zone */
size_t secondary_status(struct secondary *sec, const uint8_t *apex, size_t apex_len, bool json,
			char *out, size_t size);

/** Run the due work once on the calling thread (tests with no_threads). */
void secondary_run_once(struct secondary *sec);

/** Stop the threads (a transfer in progress is abandoned at its next
 * read), save every copy that changed since its last save, free. */
void secondary_free(struct secondary *sec);

/* ---- for the tests ---- */

/**
 * The primaries `apex` follows (zones with the same primaries share one
 * set: the same pointer; NULL: not a secondary zone), not those a reload
 * gave while a check runs (taken when it ends).
 * \param[out] nsets  how many sets the table holds (each zone's, those a
 *                    reload gave, those the last checks named)
 */
const void *secondary_primaries_of(struct secondary *sec, const uint8_t *apex, size_t apex_len,
				   size_t *nsets);

/* ---- pure timer logic, for the tests ---- */

/** The SOA's REFRESH, RETRY and EXPIRE of a version. */
void secondary_soa_timers(const struct zone *z, uint32_t *refresh, uint32_t *retry,
			  uint32_t *expire);

/** `v` bounded to [min, max]. */
static inline uint32_t secondary_bound(uint32_t v, uint32_t min, uint32_t max)
{
	return v < min ? min : v > max ? max : v;
}

#endif
