/* catalog.h: catalog zones, the producer side (RFC 9432 §4, version 2), as
 * Knot's `catalog-role: generate`.
 *
 * A zone with catalog-role generate lists every zone of the configuration
 * whose catalog-role is member and whose catalog-zone names it. Its content
 * is written as a zone file at the zone's `file`, before the zone set is
 * loaded (start, reload); from there it loads, journals, transfers and
 * notifies as any zone does. The file is rewritten only when the content
 * other than the serial changed, so a reload that changes nothing in the
 * catalog changes nothing on disk or for consumers.
 *
 *     <cat> 0 IN SOA invalid. invalid. SERIAL 3600 600 2147483646 0
 *     <cat> 0 IN NS invalid.
 *     version.<cat> 0 IN TXT "2"
 *     <id>.zones.<cat> 0 IN PTR <member>
 *     group.<id>.zones.<cat> 0 IN TXT "<group>"      (when it has one)
 *
 * <id> is the lowercase hex of the first 8 octets of SHA-256 over the
 * member's lowercased wire name: the same across restarts, reloads and
 * producers, and distinct in practice (a collision of 64 bits is refused).
 * Members are written in the order of their ids.
 */
#ifndef SHOAL_CATALOG_H
#define SHOAL_CATALOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ops/conf.h"

/** Characters of a member's id: 8 octets in hex. */
#define CATALOG_ID_LEN 16

/** The SOA timers of a generated catalog, in seconds (see catalog.c). */
#define CATALOG_SOA_REFRESH 3600
#define CATALOG_SOA_RETRY 600
#define CATALOG_SOA_EXPIRE 2147483646u
#define CATALOG_SOA_MINIMUM 0

/** One zone listed in a catalog. */
struct catalog_member {
	const uint8_t *apex;	/* lowercased wire */
	size_t apex_len;
	const char *group;	/* NULL: none; at most CONF_CATALOG_GROUP_MAX octets */
};

/** What catalog_update did. */
enum catalog_result {
	CATALOG_UNCHANGED = 0,	/* the file already held this content */
	CATALOG_WRITTEN,	/* a new file, with a new serial */
};

/**
 * The member id of `apex` (lowercased wire): CATALOG_ID_LEN hex digits and
 * a NUL into `out`.
 * \return 0, or -EIO when the digest failed
 */
int catalog_member_id(const uint8_t *apex, size_t apex_len, char out[CATALOG_ID_LEN + 1]);

/**
 * The catalog `cat` (lowercased wire) with `members` (any order) and
 * `serial`, as zone file text.
 * \param[out] out  malloc'd, NUL-terminated text; *len its length
 * \return 0, -ENOMEM, -EIO (digest), or -EEXIST when two members share an id
 */
int catalog_render(const uint8_t *cat, size_t cat_len, const struct catalog_member *members,
		   size_t n, uint32_t serial, char **out, size_t *len);

/**
 * Write the catalog `cat` with `members` to `path`, unless the file there
 * already holds the same content (the serial aside). The serial is `now`
 * (the Unix time), or the file's serial + 1 (RFC 1982) when `now` is not
 * newer than it; a file that cannot be read (none yet, or not ours) counts
 * as no previous serial. Written atomically: a temporary file beside it,
 * fsync, rename, fsync of the folder.
 * \param[out] serial  the serial the file holds afterwards (may be NULL)
 * \param why  on failure, the reason ("rename a to b: ...")
 * \return CATALOG_UNCHANGED, CATALOG_WRITTEN, or -errno (the old file stays)
 */
int catalog_update(const char *path, const uint8_t *cat, size_t cat_len,
		   const struct catalog_member *members, size_t n, time_t now, uint32_t *serial,
		   char *why, size_t whysize);

/**
 * catalog_update for the catalog zone `cz` of configuration `c`: its
 * members are the zones whose catalog-role is member and catalog-zone is
 * cz's apex; the file is `path` (cz->file, or its name inside a chroot).
 * \return as catalog_update
 */
int catalog_update_conf(const struct conf *c, const struct conf_zone *cz, const char *path,
			time_t now, uint32_t *serial, char *why, size_t whysize);

/** The whole file at `path`, NUL-terminated (malloc'd), or NULL (none,
 * unreadable, not a regular file, over 1 GiB). */
char *catalog_file_read(const char *path, size_t *len);

/**
 * `text` to `path` through `path`.tmp: write, fsync, rename, fsync of the
 * folder; mode 0644. Whatever was at the temporary name is replaced, never
 * written through.
 * \return 0 or -errno (`why` says what failed; the old file stays)
 */
int catalog_file_write(const char *path, const char *text, size_t len, char *why, size_t whysize);

#endif
