/* conf.h: the configuration file (YAML, read with libyaml).
 *
 * Sections, named as Knot names them so its users feel at home:
 *   server:    every setting of options.h's table, by the flag's name
 *   key:       TSIG keys (id = the key's name on the wire, algorithm, secret)
 *   remote:    other servers (id, address: one or a list, key)
 *   acl:       access rules (id, address prefixes, key, action, deny)
 *   template:  defaults for zones ("default" applies to every zone without one)
 *   zone:      one entry per zone (domain, file, template, storage, ...)
 * A catalog consumer (catalog-role interpret) adds zones the file does
 * not list: conf_derive makes a configuration that is the file's plus an
 * entry per member, each with its catalog's template.
 *
 * Every problem is reported as "file:line:column: reason" (1-based, where
 * libyaml's marks are 0-based), with the nearest valid key when a name is
 * misspelt; a duplicate key in a mapping is an error (libyaml accepts it).
 * A file with any error gives no configuration at all: the caller keeps
 * what it had.
 */
#ifndef SHOAL_CONF_H
#define SHOAL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dname.h"
#include "ops/options.h"

/** Errors reported per file before the reader stops. */
#define CONF_ERRORS_MAX 50
/** Addresses of one remote, prefixes or keys of one acl. */
#define CONF_LIST_MAX 64
/** The default `storage`, where zone files, journals and timers live. */
#define CONF_STORAGE_DEFAULT "/var/lib/shoal"
/** The default `file` of a zone, relative to its storage; %s is the zone's
 * name without the final dot (the root zone: "root"). */
#define CONF_FILE_DEFAULT "%s.zone"
/** Where the server looks for a configuration when not given --config. */
#define CONF_PATH_DEFAULT "/etc/shoal/shoal.conf"

enum conf_tsig_alg {
	CONF_HMAC_SHA1 = 0,
	CONF_HMAC_SHA224,
	CONF_HMAC_SHA256,
	CONF_HMAC_SHA384,
	CONF_HMAC_SHA512,
};

/** Octets of the longest TSIG secret we take (tsig-keygen gives 32 for
 * hmac-sha256, 64 for hmac-sha512; RFC 8945 §6 wants at least the MAC's). */
#define CONF_SECRET_MAX 256

struct conf_key {
	const char *id;			/* as written */
	uint8_t name[DNAME_MAX];	/* the key's name, lowercased wire */
	size_t name_len;
	enum conf_tsig_alg alg;
	uint8_t secret[CONF_SECRET_MAX];
	size_t secret_len;
	const char *where;		/* "file:line" of the entry */
};

struct conf_remote {
	const char *id;
	struct listen_addr addr[CONF_LIST_MAX];	/* port 53 when not written */
	size_t naddr;
	const struct conf_key *key;	/* NULL: none */
	const char *where;
};

struct conf_prefix {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network order, bits past `len` zero */
	unsigned len;		/* prefix length */
};

enum conf_action {
	CONF_ACTION_TRANSFER = 1 << 0,
	CONF_ACTION_NOTIFY = 1 << 1,
};

struct conf_acl {
	const char *id;
	struct conf_prefix prefix[CONF_LIST_MAX];	/* none: any address */
	size_t nprefix;
	const struct conf_key *key[CONF_LIST_MAX];	/* none: no key needed */
	size_t nkey;
	unsigned actions;	/* enum conf_action bits */
	bool deny;
	const char *where;
};

/** How a reload treats a zone file whose content changed but whose serial
 * did not, for a zone with outgoing transfers (secondaries would never see
 * the change). */
enum conf_serial_policy {
	CONF_SERIAL_KEEP = 0,	/* refuse the new content; the old version serves */
	CONF_SERIAL_INCREMENT,	/* serial + 1 (RFC 1982) */
	CONF_SERIAL_UNIXTIME,	/* the Unix time, or serial + 1 when that is not newer */
};

/** Knot's defaults for the refresh and retry bounds: 2 s, one day. */
#define CONF_REFRESH_MIN_DEFAULT 2
#define CONF_REFRESH_MAX_DEFAULT 86400

/** Knot's defaults: 20 differences, 100 MiB. */
#define CONF_JOURNAL_DEPTH_DEFAULT 20
#define CONF_JOURNAL_USAGE_DEFAULT ((uint64_t)100 << 20)

/** A zone's part in catalog zones (RFC 9432), Knot's catalog-role. */
enum conf_catalog_role {
	CONF_CATALOG_NONE = 0,
	CONF_CATALOG_GENERATE,	/* shoal writes its content: the members below */
	CONF_CATALOG_MEMBER,	/* listed in the generate zone `catalog_zone` */
	CONF_CATALOG_INTERPRET,	/* a catalog shoal reads: its members are served
				 * with one of `catalog_tpl` (xfr/catalog_in.h) */
};

/** The default cap on a consumed catalog's members (catalog-max-members). */
#define CONF_CATALOG_MAX_MEMBERS_DEFAULT 100000

/** Octets of a catalog-group value: one TXT character-string (RFC 9432 §4.4.2). */
#define CONF_CATALOG_GROUP_MAX 255

/** What zones and templates share. A zone takes each setting from itself,
 * else from its template, else the default. A template holds its own; a
 * zone points to its resolved copy (conf_zone.set), which catalog members
 * of one template share. */
struct conf_zone_settings {
	/* Lists (up to CONF_LIST_MAX), in the configuration's pool, shared
	 * by every zone that takes them from one template: NULL when empty. */
	const struct conf_acl **acl;	/* in order: the first match decides */
	size_t nacl;
	const struct conf_remote **notify;
	size_t nnotify;
	/* A secondary zone: the primaries, asked in this order. */
	const struct conf_remote **primary;
	size_t nprimary;
	/* Bounds of the SOA's REFRESH and RETRY, in seconds (Knot's names
	 * and defaults: 2 s to one day). */
	uint32_t refresh_min, refresh_max, retry_min, retry_max;
	uint64_t zone_max_size;		/* octets a transfer in may bring, 0: no bound */
	int64_t zonefile_sync;		/* seconds after a change the copy is saved;
					 * -1: only at shutdown */
	enum conf_serial_policy serial_policy;
	uint32_t journal_depth;		/* differences kept, >= 1 */
	uint64_t journal_usage;		/* octets of the journal file */
	/* a member's catalog, lowercased wire in the configuration's pool
	 * (NULL: none), and where it was written, 1-based */
	const uint8_t *catalog_zone;
	size_t catalog_zone_len;		/* 0: none */
	size_t catalog_zone_line, catalog_zone_col;
	const char *catalog_group;	/* a member's group, or NULL */
	enum conf_catalog_role catalog_role;
	/* which of the above the entry wrote */
	bool has_acl, has_notify, has_serial_policy, has_journal_depth, has_journal_usage;
	bool has_primary, has_refresh_min, has_refresh_max, has_retry_min, has_retry_max;
	bool has_zone_max_size, has_zonefile_sync;
	bool has_catalog_role, has_catalog_zone, has_catalog_group;
};

struct conf_template {
	const char *id;
	const char *storage;	/* absolute, or NULL: the default */
	const char *file;	/* as written (may hold %s), or NULL: the default */
	struct conf_zone_settings set;
	/* for catalog-role interpret zones: catalog-template ids as written
	 * (resolved per zone), catalog-max-members (0: not written) */
	const char **catalog_tpl_ids;
	size_t ncatalog_tpl_ids;
	size_t catalog_max_members;
	const char *where;
};

struct conf_zone {
	const char *domain;		/* as written */
	const uint8_t *apex;		/* lowercased wire, in the pool (conf_derive:
					 * a zone of the base, in the base's) */
	size_t apex_len;
	const char *name;		/* presentation, with the final dot */
	const struct conf_template *tpl;	/* NULL when none applies */
	const char *storage;		/* absolute */
	const char *file;		/* absolute: storage joined with the file name */
	/* its own, the template's filled in, then defaults; never NULL. In
	 * the pool of the configuration that made the entry: one per zone of
	 * the file, one per template shared by every member conf_derive adds
	 * with that template (and one for members without a template). */
	const struct conf_zone_settings *set;
	const char *where;
	/* catalog-role interpret: the templates its members may take
	 * (catalog-template; a member's group picks the one of that id, the
	 * first is the default) and the most members it may list. */
	const struct conf_template **catalog_tpl;
	size_t ncatalog_tpl;
	size_t catalog_max_members;
	/* A zone a catalog added (conf_derive), else all NULL: the catalog's
	 * name, the member's id (its unique-N label) and group. */
	const char *member_of;
	const char *member_id;
	const char *member_group;
};

struct conf {
	const char *path;	/* as given */
	struct options server;	/* defaults, then the file's server: section */
	bool server_set[64];	/* by options_table index: the file set it */
	struct conf_key *keys;
	size_t nkeys;
	struct conf_remote *remotes;
	size_t nremotes;
	struct conf_acl *acls;
	size_t nacls;
	struct conf_template *templates;
	size_t ntemplates;
	struct conf_zone *zones;
	size_t nzones;
	/* every string, name, list and zone settings above, carved from a few
	 * large blocks (conf.c) and freed together with the configuration; a
	 * derived one's pool holds only what its members added */
	struct conf_pool *pool;
	_Atomic unsigned refs;	/* 1 from conf_load; conf_ref, conf_free */
	/* conf_zone_find's index: zone numbers + 1 by apex hash, 0 empty */
	uint32_t *zindex;
	size_t zmask;
	/* conf_derive's: the configuration this one extends (a reference):
	 * keys, remotes, acls and templates are its arrays, shared */
	struct conf *base;
};

/** Receives each message, whole ("file:line:column: reason"). */
typedef void (*conf_diag_fn)(void *ctx, const char *msg);

/**
 * Read and check the configuration file `path`.
 * \return 0 and *out (free with conf_free), or -1 when there was any error
 *         (each one given to `diag`; *out is NULL)
 */
int conf_load(const char *path, conf_diag_fn diag, void *ctx, struct conf **out);

/** The same from a buffer; `name` stands for the file in messages. */
int conf_load_buf(const char *name, const char *text, size_t len, conf_diag_fn diag, void *ctx,
		  struct conf **out);

/** One zone a catalog lists, for conf_derive. */
struct conf_member {
	const uint8_t *apex;	/* lowercased wire */
	size_t apex_len;
	const struct conf_zone *catalog;	/* its catalog-role interpret zone, in `base` */
	const uint8_t *id;	/* its unique-N label: a length octet, then the label */
	const char *group;	/* NULL: none */
};

/**
 * A configuration that is `base` (a reference is taken) with a zone entry
 * appended for each of `m`: named and stored as the catalog's template
 * gives (the one whose id is the member's group, else the catalog's first),
 * with that template's settings. The caller has made sure no member is a
 * zone of `base` and none appears twice.
 * \return the new configuration (conf_free), or NULL: out of memory
 */
struct conf *conf_derive(struct conf *base, const struct conf_member *m, size_t n);

/** The catalog-template a member of `cat` with `group` (NULL: none) takes. */
const struct conf_template *conf_member_template(const struct conf_zone *cat, const char *group);

/** The zone entry whose apex is `apex` (lowercased wire), or NULL. */
const struct conf_zone *conf_zone_find(const struct conf *c, const uint8_t *apex, size_t len);

/**
 * A file of the zone's in its storage: "<storage>/<name><suffix>", the
 * name without its final dot ("root" for the root zone), as the journal
 * (".journal"), the serial file (".serial") and a secondary's timers
 * (".timers") are named.
 * \return it (malloc'd), or NULL when out of memory or longer than PATH_MAX
 */
char *conf_storage_file(const struct conf_zone *cz, const char *suffix);

/** Take another reference: the published zone set holds the configuration
 * its access rules come from, while the main thread reads the next one. */
struct conf *conf_ref(struct conf *c);

/** Drop a reference (any thread); the last one frees it. NULL: nothing. */
void conf_free(struct conf *c);

/** "increment", ... */
const char *conf_serial_policy_name(enum conf_serial_policy p);

/** "hmac-sha256" for CONF_HMAC_SHA256, ... */
const char *conf_tsig_alg_name(enum conf_tsig_alg a);

#endif
