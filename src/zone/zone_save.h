/* zone_save.h: one version of a zone written as a zone file (RFC 1035 §5),
 * atomically.
 *
 * Why: a secondary keeps its copy of a zone on disk so that it can serve it
 * again after a restart without a transfer, and an operator can read what
 * it serves; the file is one zone_load_file reads back into the same
 * records.
 *
 * What is written: one comment line (apex, serial, shoal's version and the
 * time, UTC), the caller's note as a second comment line if it gives one
 * (a secondary's timers, xfr/secondary.c), then the apex SOA, then every
 * other record of the table in its order (hash order: empty non-terminals have none; NSEC3 owners,
 * delegations and the glue below them are records like any other), one
 * line each, owners absolute (no $ORIGIN, no $TTL: every line stands
 * alone) and lowercased as the zone keeps them, each with its own TTL.
 * Every line is what ldns_rr2buffer_str_fmt (without comments) makes of the
 * record read from its wire (ldns_wire2rr): a type ldns does not know comes out as TYPEnnn \# …
 * (RFC 3597 §5), which ldns reads back; names keep their escapes (\. inside
 * a label, \032), TXT strings theirs (\" and \DDD). Two fixes where ldns's
 * text would not read back: an owner starting with '@' or '$' is written
 * "\@…", "\$…" (ldns reads "@x.example." as the origin); a record with a
 * name in its rdata whose first label is "@" (which ldns reads as the
 * origin however it is spelled), or that ldns cannot read from its wire
 * (none the loader makes), is written in the RFC 3597 form. RRSIGs are the records of the RRSIG sets (the copies kept
 * behind each covered set are not written again).
 *
 * How: "<path>.tmp" is made anew (mode 0640 less the umask; whatever was
 * at that name, a file left by a crash or a symlink, is removed first, never
 * written through), written, fsync()ed and renamed over `path`: `path` is
 * the old file or the whole new one at every instant, also across a crash
 * (the folder is not synced: after a crash the old one may be back, a
 * stale copy that the refresh brings up to date).
 *
 * Costs, measured on the 1.25M-record bench zone (scripts/benchlib/zones.py:
 * 625,000 names with an A and an AAAA, 1,000 CNAMEs and a few more; 57 MB
 * written), release build, on a 2-core VM shared with other builds:
 * 1.0-1.1 s per save (0.95-1.1 s of it CPU) at a load average of 4,
 * 1.8-3.6 s at 10-16 (the same CPU, the rest waiting for it); the fsync
 * took 50 ms. The first version, ldns_wire2rr and ldns_rr2buffer_str_fmt
 * per record, took 3.0 s of CPU (5-7.5 s wall at load 10-16): ldns prints
 * a name one character at a time through printf (0.9 us for
 * "h123456.bench.test."), so zone_save.c formats each owner once per name
 * and the class and type once per RRset, and gives the one-field types (A,
 * AAAA, NS, CNAME, PTR, DNAME) to ldns in place, without an ldns_rr; the
 * text is still ldns's, octet for octet. About half of what is left is
 * that printing of names. Memory: a text buffer of 16 KiB, grown as lines
 * need it up to 1 MiB and the longest line after it (1.3 MB), one write(2)
 * per MiB (allocating the 1.3 MB for every save had glibc map or trim it
 * each time, thousands of times for a catalog's new members). The version
 * is only read: serving goes on meanwhile. */
#ifndef SHOAL_ZONE_SAVE_H
#define SHOAL_ZONE_SAVE_H

#include <stddef.h>

#include "zone/zone.h"

/**
 * Write `z` to `path` as a zone file, through "<path>.tmp" in the same
 * directory (zone_save.h). The version must be held by a reference
 * (zone_ref) for the call: a big zone takes seconds, too long for an RCU
 * read-side section; it is only read. Any thread; two saves to one path at
 * once are the caller's to prevent.
 *
 * Takes about 1 us of CPU per record (the header comment).
 *
 * \param note  one more comment line after the first, without its "; " and
 *              newline (no newline inside), or NULL
 * \param[out] why  on failure, what failed and on which file, as
 *                  "write /dir/x.zone.tmp: No space left on device" (may be
 *                  NULL)
 * \return 0; or -errno, with the temporary file removed and `path`
 *         untouched: -ENOENT (no such directory), -EACCES, -ENOSPC, -EIO,
 *         -ENAMETOOLONG, -ENOMEM, ...
 */
int zone_save(const struct zone *z, const char *path, const char *note, char *why,
	      size_t whysize);

#endif
