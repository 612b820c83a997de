/* journal.h: the differences between consecutive versions of one zone
 * (changeset.h), kept in memory for IXFR (RFC 1995) and in one file per
 * zone so that they survive a restart.
 *
 * A journal is a chain: entry i takes the zone from serial from_i to to_i,
 * and from_{i+1} == to_i. It ends at the serial served, or it is empty: a
 * difference that does not end at the version served is never offered.
 * It is bounded by a number of changesets (max_depth, Knot's
 * journal-max-depth) and by the octets of its file (max_usage, Knot's
 * journal-max-usage): an append drops the oldest changesets until both
 * hold.
 *
 * A damaged journal costs IXFR, never data: whatever is wrong on reading
 * (a bad header, a torn tail, a checksum, a record that does not parse, a
 * serial that does not increase, a chain with a gap or not ending at the
 * serial served) is logged with the
 * file, the entry and its offset, and the damaged part is dropped (the
 * whole journal when what is left does not end at the serial served).
 *
 * File format, version 1. Every integer is in network byte order.
 *
 *     header, 16 octets
 *       0  8  magic "SHOALJNL"
 *       8  4  version (1)
 *      12  4  flags (0; a reader refuses others)
 *     entries, oldest first, each
 *       0  4  from serial
 *       4  4  to serial
 *       8  4  nremoved
 *      12  4  nadded
 *      16  4  len: octets of wire that follow
 *      20  4  CRC32C (Castagnoli, as iSCSI and ext4) of octets 0..19 and
 *             of the wire
 *      24  len  the changeset's wire, as changeset.h describes it
 *
 * Writes keep the file readable at every instant. An append writes one
 * entry at the end and fdatasync()s it: a crash in between leaves a torn
 * tail that the checksum or the length finds and the next open cuts off.
 * Anything else (compacting old entries away, a break, repairing what
 * open found) writes a whole new file beside it ("<path>.tmp"), fsync()s
 * it, renames it over the old one and fsync()s the directory, so the file
 * is either the old one or the new one.
 *
 * The oldest entries that the limits drop from memory may stay in the
 * file, before the chain, up to max_depth of them and within max_usage
 * for the whole file: open skips them as it skips any entry over the
 * limits. So a journal at its depth, where each append drops one, rewrites
 * its file once every max_depth appends instead of at every append.
 *
 * Threads: one thread changes a journal at a time (append, break, close:
 * the zone's owner, the main thread); journal_find and the counters may be
 * called from any thread at the same time. A mutex guards the in-memory
 * chain; it is held to copy pointers and take references (O(depth)),
 * never across file I/O or fsync, so a TCP worker answering IXFR never
 * waits for the disk. Appends are rare (one per zone change), so a lock
 * costs nothing measurable and is simpler than publishing snapshots: a
 * find of a 19-changeset chain took 0.4-0.5 µs on the build machine.
 *
 * Costs (the build machine, a 2-core VM under load, with a driver over
 * libshoal; fsync latency dominates and varies): an append is one write
 * and one fdatasync (2-6 ms for an entry of 1.4 KB, 54-93 ms for 4.8 MB).
 * At the depth limit the file is compacted once in max_depth appends, so
 * an append there costs the same on average (it was 3.5 times more when
 * every trim rewrote). A journal held by max_usage instead (a few large
 * changesets) is compacted at each append: 140-280 ms for 96 MB, on the
 * thread that changes the zone, never a worker. Open reads and checks
 * 96 MB in 0.25-0.8 s.
 */
#ifndef SHOAL_JOURNAL_H
#define SHOAL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/log.h"
#include "zone/changeset.h"
#include "zone/serial.h"

/** Changesets kept, as Knot's journal-max-depth default. */
#define JOURNAL_DEPTH_DEFAULT 20

/** Octets of the file: 100 MiB, Knot's journal-max-usage default; a
 * changeset of a 1,000-record signed zone is some 200 KiB, so this keeps
 * the default depth of even large zones. */
#define JOURNAL_USAGE_DEFAULT ((size_t)100 << 20)

/** Receives each event worth an operator's eye: damage found on reading
 * (warning), a break or an oversized changeset (info), an I/O failure
 * (error). `msg` begins with "journal <path>: ". */
typedef void (*journal_log_fn)(void *ctx, enum log_level level, const char *msg);

struct journal;

/**
 * Open the journal of a zone, reading `path` if it exists, creating it if
 * not (its directory must exist). What cannot be used is logged and
 * dropped, and then the file is rewritten to hold only what was kept.
 * \param served_serial  the serial of the version served now: a chain
 *        ending elsewhere is dropped (the zone changed while shoal was
 *        down: a break)
 * \param max_depth, max_usage  limits; 0: JOURNAL_DEPTH_DEFAULT,
 *        JOURNAL_USAGE_DEFAULT
 * \param log, ctx  where to report; log NULL: log_msg
 * \return the journal, or NULL (logged, errno set) when the file cannot
 *         be opened or created, or memory runs out: serve without IXFR
 */
struct journal *journal_open(const char *path, uint32_t served_serial, size_t max_depth,
			     size_t max_usage, journal_log_fn log, void *ctx);

/**
 * journal_open for a secondary's saved copy, which may be older than what
 * the journal recorded (the copy is written zonefile-sync after a change,
 * the journal at once): a chain that ends at `copy_serial`, or passes
 * through it (an entry starts there), is kept; the caller replays it past
 * the copy (journal_find from copy_serial to journal_last_serial, then
 * changeset_apply) or breaks it. Anything else is dropped as by
 * journal_open.
 */
struct journal *journal_open_ahead(const char *path, uint32_t copy_serial, size_t max_depth,
				   size_t max_usage, journal_log_fn log, void *ctx);

/**
 * Add the difference from the last version to the next one. The journal
 * takes a reference of its own (refs + 1): the caller keeps and releases
 * its own. `cs->from` must be the journal's last `to` unless the journal
 * is empty; when it is not, or `cs->to` is not newer than `cs->from`
 * (RFC 1982), the old entries are dropped first (a break, logged). Then the
 * oldest are dropped until the limits hold; a changeset alone larger than
 * max_usage is not kept (logged) and the journal is left empty.
 * A failure to write the file is logged and does not lose the changeset
 * from memory: the file is rewritten whole at the next change (or close),
 * and until then a restart finds it ending before the serial served and
 * drops it, as it must.
 * \return 0; -EINVAL when the wire does not match its counts and serials
 *         (nothing taken, the journal unchanged: the caller should then
 *         journal_break at cs->to); -ENOMEM
 */
int journal_append(struct journal *j, struct changeset *cs);

/**
 * The consecutive changesets that take a zone from `from_serial` to exactly
 * `to_serial` (the serial served), oldest first, for an IXFR answer.
 * \param[out] out  a malloc'd array of referenced changesets: release it
 *                  with journal_chain_free
 * \return how many (at least 1); 0 when the journal cannot serve it (the
 *         serials are not in it, from == to, or out of memory; *out NULL):
 *         answer with the whole zone
 */
size_t journal_find(const struct journal *j, uint32_t from_serial, uint32_t to_serial,
		    struct changeset ***out);

/** Release what journal_find gave (each reference, then the array). */
void journal_chain_free(struct changeset **chain, size_t n);

/**
 * A discontinuity: the version now served (`serial`) has no difference
 * from the last one in the journal (the zone file was edited while shoal
 * was down, a serial went backwards). The journal is emptied, in memory
 * and in its file, and logged.
 */
void journal_break(struct journal *j, uint32_t serial);

/** The oldest `from` and the newest `to`, for `shoalctl zone-status`.
 * \return false when the journal is empty (*serial unchanged) */
bool journal_first_serial(const struct journal *j, uint32_t *serial);
bool journal_last_serial(const struct journal *j, uint32_t *serial);

/** Changesets kept. */
size_t journal_depth(const struct journal *j);

/** Octets of the file: header, the chain, and the dropped entries still
 * before it (what max_usage bounds). After a failed write, what the next
 * write will make of it. */
size_t journal_usage(const struct journal *j);

/** Write the file if a write failed since (logged), release every
 * changeset (an IXFR in progress keeps its own references) and free.
 * Pre: no other thread is in journal_find or the counters (the journal
 * is gone after). NULL is ignored. */
void journal_close(struct journal *j);

/**
 * The journal's file renamed to `path` (its zone's storage moved): the
 * writer's; the same filesystem only.
 * \return 0 (a file missing is no error), or -errno: the journal stays
 *         where it was
 */
int journal_move(struct journal *j, const char *path);

/* ---- the format, for tests and tools ---- */

#define JOURNAL_MAGIC "SHOALJNL"
#define JOURNAL_VERSION 1
#define JOURNAL_HEADER_LEN 16
#define JOURNAL_ENTRY_HEADER_LEN 24

/** CRC32C of `len` octets, continuing from `crc` (0 to start). */
uint32_t journal_crc32c(uint32_t crc, const void *data, size_t len);

/**
 * Check that `wire` is what a changeset's counts and serials say: every
 * record parses (uncompressed owner of labels of at most 63 octets and 255
 * in all, type, class, TTL, RDLENGTH within the blob), there are exactly
 * 2 + nremoved + nadded records, the first and the (nremoved + 2)th are
 * SOAs of one owner with serials `from` and `to`, no other is an SOA:
 * changeset_check (changeset.h) over an entry's fields as read.
 * \param[out] why, whysize  what is wrong and at which octet, when false
 * \return true when it is a changeset
 */
bool journal_wire_check(const uint8_t *wire, size_t len, uint32_t from, uint32_t to,
			uint32_t nremoved, uint32_t nadded, char *why, size_t whysize);

#endif
