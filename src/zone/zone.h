/* zone.h: the in-memory zone table, in versions that share what did not
 * change.
 *
 * A zone is a hash table of nodes keyed by lowercased wire name. Every node
 * holds its RRsets as ready wire bytes (TYPE CLASS TTL RDLEN RDATA, network
 * order, the owner left out: the writer emits a compression pointer), sorted
 * by type. Empty non-terminals are nodes without RRsets. A node holds only
 * what its own records decide (its RRsets, its flags, the names its
 * delegation's glue is looked up by) plus its number of children and a
 * pointer to its `*` child: nothing that changes when another name changes
 * (a zone cut above a name is found by one probe per label between the name
 * and the apex, glue addresses by a probe per name server), so a new
 * version replaces a changed node without touching the nodes around it.
 *
 * A `struct zone` is one version, read-only once built, read by any number
 * of threads. The design, for a secondary applying an IXFR and a primary
 * keeping the version a transfer reads (zone_update.c):
 *  - the name table is split in pages of ZONE_PAGE_SLOTS slots behind a
 *    directory; a new version copies the directory (8 bytes per page) and
 *    the pages it changes, and shares the rest;
 *  - a changed name gets a new node (its own allocation); unchanged nodes,
 *    with their RRsets, are shared by every version that has them;
 *  - the ordered indexes (NSEC owners in canonical order, the NSEC3 chain
 *    by hash) are chunked vectors, copied per chunk (zvec.h);
 *  - readers find the current version through the RCU-published zonedb
 *    (zonedb.h); a reader that keeps a version for long (a transfer)
 *    takes a reference (zone_ref) instead of staying in the read-side
 *    section; a version's replaced pages and nodes are freed once it and
 *    every older version of the zone are released.
 * Memory per record of the 1.25M-record bench zone (2 records per name):
 * the node is 64 bytes where it was 80 (parent and `above` pointers gone,
 * a child count added), the table 32 bytes per name as before (at most
 * half full) plus 8 bytes per 512 slots of directory. */
#ifndef SHOAL_ZONE_H
#define SHOAL_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>
#include <time.h>

#include "dns/dname.h"
#include "zone/zvec.h"

#define RRTYPE_A 1
#define RRTYPE_NS 2
#define RRTYPE_CNAME 5
#define RRTYPE_SOA 6
#define RRTYPE_PTR 12
#define RRTYPE_MX 15
#define RRTYPE_TXT 16
#define RRTYPE_AAAA 28
#define RRTYPE_SRV 33
#define RRTYPE_DNAME 39
#define RRTYPE_OPT 41
#define RRTYPE_DS 43
#define RRTYPE_RRSIG 46
#define RRTYPE_NSEC 47
#define RRTYPE_DNSKEY 48
#define RRTYPE_NSEC3 50
#define RRTYPE_NSEC3PARAM 51
#define RRTYPE_TSIG 250
#define RRTYPE_IXFR 251
#define RRTYPE_AXFR 252
#define RRTYPE_MAILB 253
#define RRTYPE_MAILA 254
#define RRTYPE_ANY 255

#define RRCLASS_IN 1
#define RRCLASS_CH 3
#define RRCLASS_ANY 255

/** Fixed part of a record after the owner: TYPE, CLASS, TTL, RDLENGTH. */
#define RR_FIXED_LEN 10

struct rrset {
	uint16_t type;	   /* host order */
	uint16_t count;	   /* records in the set */
	uint32_t ttl;	   /* host order; every record carries it in `wire` too */
	uint32_t wire_len; /* bytes in `wire` of the set's own records */
	/* The RRSIGs covering this set (RFC 4034 §3: those at the owner whose
	 * type covered is `type`), wire-ready right after the records:
	 * wire + wire_len holds sig_count RRSIG records in sig_len bytes, sent
	 * with the set when the query has DO=1 (RFC 4035 §3.1.1). In the
	 * struct's padding: an unsigned zone pays nothing. */
	uint16_t sig_count;
	uint16_t sig_len;
	const uint8_t *wire; /* count × (TYPE CLASS TTL RDLEN RDATA), net-order */
};

/** A name server of a delegation inside the zone, whose address records
 * (looked up by name when a referral is written: they may change in a later
 * version without the cut changing) go in the additional section. */
struct glue {
	const uint8_t *name;	   /* lowercased wire name of the name server */
	uint64_t hash;		   /* dname_hash(name) */
	uint8_t name_len;
	bool in_domain;		   /* at or below the cut: RFC 9471 says it must fit */
};

enum node_flags {
	NODE_CUT = 1,	/* NS at a name other than the apex: a delegation point */
	NODE_DNAME = 2, /* owns a DNAME */
	NODE_CNAME = 4, /* owns a CNAME */
	NODE_NSEC3 = 8, /* owns an NSEC3: answered as if it did not exist (RFC 5155 §7.2.8) */
	NODE_OWN = 16,	/* made by an update: one allocation of its own, freed when retired */
};

struct node {
	uint64_t hash;		/* dname_hash(name) */
	const uint8_t *name;	/* lowercased wire name */
	struct node *wildcard;	/* the `*` child, if the zone has one */
	struct rrset *rrsets;	/* sorted by type */
	struct glue *glue;	/* cuts only: the in-zone name servers */
	uint32_t children;	/* names directly below it */
	uint16_t nrrsets;
	uint16_t nglue;
	uint8_t name_len;
	uint8_t labels;
	uint8_t flags;		/* enum node_flags */
	union {
		void *tmp;		   /* while building: pending records */
		const struct node_n3 *n3;  /* built: NSEC3 hashes, or NULL */
	};
};

/** A table slot keeps the hash beside the pointer: a probe that misses
 * costs no visit to the node. */
struct zone_slot {
	uint64_t hash;
	struct node *node;
};

#define NSEC3_HASH_LEN 20 /* SHA-1, the one NSEC3 hash (RFC 5155 §11) */

/** The NSEC3 hashes of a node's name and of the wildcard name below it
 * (`*.name`), computed when the node is built in a zone with an NSEC3
 * chain, so that a negative answer hashes only the next closer name
 * (RFC 5155 §7.2); valid while `tag` is the chain's. */
struct node_n3 {
	uint32_t tag;
	uint8_t own[NSEC3_HASH_LEN];
	uint8_t wild[NSEC3_HASH_LEN]; /* all zero when *.name is too long */
};

/** One NSEC3 of the chain: the hash its owner name's first label spells. */
struct nsec3_entry {
	uint8_t hash[NSEC3_HASH_LEN];
	const struct node *node;
};

/** An NSEC3 chain: its hash parameters (from NSEC3PARAM) and its records
 * sorted by hash (zvec of struct nsec3_entry), for the match and cover
 * searches of denial. The salt is not copied: `salt` points into the
 * rdata of the NSEC3PARAM record that named the chain, at the apex node
 * of the version that holds the chain, which lives as long as that
 * version (a version made with a new apex node and the same NSEC3PARAM
 * set points it into the new node's: zone_update.c). */
struct nsec3_chain {
	const uint8_t *salt; /* salt_len bytes */
	uint32_t tag;	/* changes with the parameters: node_n3.tag */
	uint16_t iterations;
	uint8_t salt_len;
	struct zvec v;
};

/* Slots per page of the name table: 512 × 16 bytes, 8 KiB. A table
 * smaller than a page (ZONE_TABLE_MIN slots and up: a zone of a few names,
 * thousands of them catalog members) is one page of its own size: 4 slots,
 * 64 bytes, for a zone of up to 2 names (a table is at most half full). */
#define ZONE_PAGE_SHIFT 9
#define ZONE_PAGE_SLOTS ((size_t)1 << ZONE_PAGE_SHIFT)
#define ZONE_TABLE_MIN ((size_t)4)

/** Pages of a table of `slots` slots (a power of two). */
static inline size_t zone_table_pages(size_t slots)
{
	return (slots + ZONE_PAGE_SLOTS - 1) >> ZONE_PAGE_SHIFT;
}

/** Slots in each page of a table of `slots` slots. */
static inline size_t zone_page_len(size_t slots)
{
	return slots < ZONE_PAGE_SLOTS ? slots : ZONE_PAGE_SLOTS;
}

struct zone_shared; /* what the versions of one load share (zone_update.c) */
struct zone_retired;

struct zone {
	/* Lowercased wire: the name of the load's apex node, in the load's
	 * arena, so every version of the lineage has it (an update that
	 * replaces the apex node keeps this pointer). */
	const uint8_t *apex;
	struct node *apex_node;
	const struct rrset *soa;
	struct rrset neg_soa;	/* the SOA with TTL min(SOA TTL, MINIMUM), RFC 2308 §3 */
	uint32_t serial;
	uint8_t apex_len;
	uint8_t apex_labels;
	/* The name table: open addressing, linear probing, at most half
	 * full; slot i is pages[i >> ZONE_PAGE_SHIFT][i % ZONE_PAGE_SLOTS]. */
	struct zone_slot **pages;
	size_t mask;		/* slots - 1 */
	size_t nnodes;
	size_t nrecords;
	size_t nblockers;	/* nodes that are cuts or own a DNAME */
	char *source;		/* file it was loaded from (for logs) */
	/* The file as it was when reading began, so a reload can tell an
	 * unchanged file without reading it (zoneset.c). $INCLUDEd files
	 * are not followed: `reload --force` reads them. */
	dev_t file_dev;
	ino_t file_ino;
	off_t file_size;
	struct timespec file_mtime;
	struct timespec loaded_at; /* CLOCK_REALTIME when reading began */
	/* DNSSEC denial by NSEC (RFC 4034 §4): the nodes that own an NSEC,
	 * in canonical order (RFC 4034 §6.1), for the predecessor search of
	 * negative answers; NULL and 0 in a zone without NSEC. */
	struct zvec nsec; /* of const struct node * */
	/* NSEC3 (RFC 5155): the chain named by the apex NSEC3PARAM, NULL when
	 * there is none (else &nsec3c); denial then uses it rather than NSEC. */
	const struct nsec3_chain *nsec3;
	struct nsec3_chain nsec3c;
	/* RRSIG records in the zone (0: unsigned), counted as it is built. */
	size_t nrrsigs;
	/* The earliest expiration of any RRSIG, as a Unix time (its 32-bit
	 * field read by RFC 4034 §3.1.5 serial arithmetic around the clock
	 * at load); 0 when the zone has no RRSIG. Set by zone_dnssec_check. */
	int64_t rrsig_expire;
	/* The differences that end at this version, for IXFR (zone/journal.h):
	 * set by the main thread before the version is published, read by
	 * the TCP workers under RCU; NULL: none (a zone without transfers).
	 * Not owned: the zone's entry in the zoneset owns it (xfr/primary.c)
	 * and closes it only after a grace period. */
	struct journal *journal;
	/* A secondary's zone (xfr/secondary.h). `expired`: answered SERVFAIL
	 * (its EXPIRE passed without a successful refresh, or it has no data
	 * yet: a stub); set by the secondary's threads, read by the workers
	 * once per query that reaches the zone. `expire_at`: when it expires
	 * (CLOCK_REALTIME seconds), for EDNS EXPIRE (RFC 7314); 0 in a zone
	 * read from its own file, whose EXPIRE is the SOA's. `stub`: no data,
	 * only the apex's name (zone_stub_new). */
	_Atomic int64_t expire_at;
	_Atomic bool expired;
	bool stub;
	/* Versions (zone_update.c). */
	bool dead;		 /* released: freed once older versions are */
	unsigned refs;		 /* atomic: zone databases, transfers holding it */
	uint64_t gen;		 /* this version's number in its lineage, from 1 */
	struct zone_shared *shared;
	struct zone *newer;	 /* the version made from this one */
	struct zone_retired *retired; /* what this version replaced of the older one */
	uint8_t *neg_soa_own;	 /* neg_soa.wire when an update made it */
	uint64_t pages_gen;	 /* the generation that made `pages` */
};

/* ---- reading (any thread) ---- */

/** The RRset of `type` at `node`, or NULL. */
const struct rrset *node_rrset(const struct node *node, uint16_t type);

/**
 * The NSEC that matches or covers a lowercased name: the node owning an
 * NSEC whose name is the greatest at or before `name` in canonical order.
 * Pre: `name` is at or below the apex (which owns an NSEC when any does).
 * \return the node, or NULL when the zone has no NSEC
 */
const struct node *zone_nsec_find(const struct zone *z, const uint8_t *name);

/**
 * The NSEC3 hash of a lowercased name with the zone's chain parameters
 * (RFC 5155 §5: SHA-1 over the name and salt, iterations + 1 times).
 * Pre: z->nsec3 is not NULL.
 */
void zone_nsec3_hash(const struct zone *z, const uint8_t *name, uint8_t out[NSEC3_HASH_LEN]);

/**
 * The NSEC3 that matches `hash` (*match true) or covers it: the greatest
 * hash before it, or, before the first, the last (the chain wraps).
 * Pre: z->nsec3 is not NULL.
 */
const struct node *zone_nsec3_find(const struct zone *z, const uint8_t hash[NSEC3_HASH_LEN],
				   bool *match);

/**
 * The zone cut or DNAME owner that decides for a name below it: the
 * topmost of `n`'s strict ancestors (from the apex down) that is a cut or
 * owns a DNAME. One probe per label between the apex and `n`, none in a
 * zone without cuts and DNAMEs.
 * Pre: `n` is zone_lookup(z, name, s, …)'s result for `name`.
 * \return the node, or NULL
 */
const struct node *zone_above(const struct zone *z, const uint8_t *name,
			      const struct dname_split *s, const struct node *n);

/**
 * The parent of `n`, an ancestor-or-self of `name` other than the apex.
 * \return the parent node (never NULL in a built zone)
 */
const struct node *zone_parent(const struct zone *z, const uint8_t *name,
			       const struct dname_split *s, const struct node *n);

/** Exact lookup of a lowercased name; `hash` is dname_hash(name). */
const struct node *zone_find(const struct zone *z, const uint8_t *name, size_t len, uint64_t hash);

/**
 * Find `name` or its closest encloser.
 * Pre: `name` (lowercased, split in `s`) is at or below the apex of `z`.
 * \param[out] exact  true when the returned node is `name` itself
 * \return the node, or the deepest existing ancestor (never NULL: the apex exists)
 */
const struct node *zone_lookup(const struct zone *z, const uint8_t *name,
			       const struct dname_split *s, bool *exact);

/*
 * Prefetching for a batch of queries. A lookup in a big zone is a chain
 * of dependent cache misses: the table slot, then the node (with its name
 * beside it), then its RRsets (with their wire data beside them). Taking
 * one step of the chain for every query of a batch before the next step
 * lets the misses of different queries overlap instead of queueing. Each
 * step only reads what the previous one brought in and only hints the
 * CPU; none is needed for a correct answer.
 */

/** Slot `i` of the name table. */
static inline const struct zone_slot *zone_slot_at(const struct zone *z, size_t i)
{
	return &z->pages[i >> ZONE_PAGE_SHIFT][i & (ZONE_PAGE_SLOTS - 1)];
}

/** Step 1: the table slot where `hash` (a full name's) starts probing. */
static inline void zone_prefetch_slot(const struct zone *z, uint64_t hash)
{
	__builtin_prefetch(zone_slot_at(z, hash & z->mask));
}

/** Step 2: read the slots (step 1's), prefetch the node whose hash is
 * `hash`; returns it or NULL (absent, or only a hash collision: the node's
 * name is not compared here). */
const struct node *zone_prefetch_node(const struct zone *z, uint64_t hash);

/** Step 3: read the node (step 2's), prefetch its RRsets and the wire
 * data allocated after them (two lines: a few small sets). */
static inline void zone_prefetch_rrsets(const struct node *n)
{
	if (!n->rrsets)
		return; /* an empty non-terminal */
	__builtin_prefetch(n->rrsets);
	__builtin_prefetch((const uint8_t *)n->rrsets + 64);
}

/**
 * Move a built zone's big blocks into transparent huge pages (fewer TLB
 * misses per lookup). Copies them, so it is done once the zone answers,
 * not while it loads: after zonedb_publish. Only once per zone; main thread.
 * \return bytes now in huge pages (0: a small zone, a second call, or the
 *         kernel declined: no THP, or older than Linux 6.1)
 */
size_t zone_hugepages(struct zone *z);

/* ---- building (one thread) ---- */

struct zone_builder;

enum zb_result {
	ZB_OK = 0,
	ZB_WARN,   /* added, but the message says what was odd */
	ZB_ERROR,  /* not added; the zone must not be served */
};

/** Start a zone for `apex` (wire, any case). NULL on allocation failure. */
struct zone_builder *zone_builder_new(const uint8_t *apex);

/**
 * Warm the cache for a zone_builder_add_hashed() of a record whose owner,
 * lowercased, has dname_hash() `hash`, coming soon: a bulk load calls it
 * a few records ahead.
 */
void zone_builder_prefetch_hash(const struct zone_builder *b, uint64_t hash);

/**
 * Size the name table for about `names` names up front, so a big zone is
 * not rehashed again and again as it grows (a hint: more names still fit).
 * \return 0, or -1 when out of memory (the builder is unchanged)
 */
int zone_builder_expect(struct zone_builder *b, size_t names);

/**
 * Add one record. `owner` and `rdata` are wire format (owner uncompressed,
 * any case); names inside rdata must be uncompressed.
 * \param[out] msg  filled with the reason on ZB_WARN and ZB_ERROR
 */
enum zb_result zone_builder_add(struct zone_builder *b, const uint8_t *owner, uint16_t type,
				uint16_t rrclass, uint32_t ttl, const uint8_t *rdata,
				uint16_t rdlen, char *msg, size_t msgsize);

/** zone_builder_add() given `hash`, dname_hash() of the owner lowercased,
 * computed ahead (a bulk load computes it on its parser threads). */
enum zb_result zone_builder_add_hashed(struct zone_builder *b, const uint8_t *owner,
				       uint64_t hash, uint16_t type, uint16_t rrclass,
				       uint32_t ttl, const uint8_t *rdata, uint16_t rdlen,
				       char *msg, size_t msgsize);

/**
 * Finish the zone: checks (SOA and NS at the apex), empty non-terminals,
 * wildcards, delegations and glue. Consumes the builder either way.
 * \return the zone, or NULL with the reason in msg
 */
struct zone *zone_builder_finish(struct zone_builder *b, char *msg, size_t msgsize);

/**
 * A zone without data, for a secondary zone that has never been
 * transferred: its apex, an SOA and NS that are never served (it is
 * `expired`, so every query gets SERVFAIL), `stub` set, serial 0.
 * \return the zone (refs 0), or NULL when out of memory
 */
struct zone *zone_stub_new(const uint8_t *apex);

/** Drop a builder without making a zone. */
void zone_builder_free(struct zone_builder *b);

/* ---- versions (zone_update.c) ---- */

/**
 * Take a reference to a version, from any thread: inside an RCU read-side
 * section on a version of the current zonedb, or on a version already
 * held. A transfer holds its version so, for as long as it reads.
 */
void zone_ref(struct zone *z);

/** Drop a reference (any thread); the last one releases the version. */
void zone_unref(struct zone *z);

/**
 * Release a version nobody references (refs == 0): a zone just built or
 * committed that is not going to be published. Its replaced data is freed
 * once it and every older version are released; the last version of a
 * lineage frees everything.
 */
void zone_free(struct zone *z);

/** Versions of `z`'s lineage (from one load) not freed yet, for tests. */
unsigned zone_versions_alive(const struct zone *z);

struct zone_update;

/**
 * Start a new version from `base`, the newest version of its lineage (the
 * last one committed from it, or a zone just built). One update at a time
 * per lineage, on one thread.
 * \return the update, or NULL when out of memory
 */
struct zone_update *zone_update_begin(struct zone *base);

/**
 * Add one record, or remove one (`remove`): wire owner (any case), rdata
 * with names uncompressed. Adding a record the version has, or removing
 * one it does not have, is ZB_ERROR (an IXFR that does so is inconsistent,
 * RFC 1995 §4); the other checks are those of zone_builder_add.
 * \param[out] msg  the reason, on ZB_WARN and ZB_ERROR
 */
enum zb_result zone_update_change(struct zone_update *u, bool remove, const uint8_t *owner,
				  uint16_t type, uint16_t rrclass, uint32_t ttl,
				  const uint8_t *rdata, uint16_t rdlen, char *msg, size_t msgsize);

/**
 * Make the new version: the changed nodes built, the table pages and index
 * chunks they touch copied, everything else shared with the base. The
 * apex must keep its SOA and NS. Consumes the update either way; the base
 * stays valid and unchanged.
 * \return the version (refs 0, not published), or NULL with the reason
 */
struct zone *zone_update_commit(struct zone_update *u, char *msg, size_t msgsize);

/** Drop an update without making a version. */
void zone_update_abort(struct zone_update *u);

/** First name in rdata of the given type that a writer may compress and
 * that additional-section processing follows: NS, CNAME, PTR, DNAME (offset
 * 0), MX (offset 2). SOA has two (0 and after the first). Returns -1 for
 * types without one. */
int rdata_name_offset(uint16_t type);

/* ---- DNSSEC checks at load (issue 18) ---- */

/** rrsig-expiry-warning's default: 48 hours, in seconds. */
#define ZONE_RRSIG_EXPIRY_WARNING_DEFAULT (48u * 3600u)

/** More findings of one kind than this are counted in one last line. */
#define ZONE_CHECK_REPORT_MAX 10

/** Receives one finding of zone_dnssec_check: a sentence naming the record
 * (owner and type), without "warning:" or a file name. */
typedef void (*zone_warn_fn)(void *ctx, const char *reason);

/**
 * DNSSEC checks of a zone just built, each finding a warning (the zone is
 * served either way, as NSD and Knot serve it):
 *  - an RRSIG expired, or expiring within `expiry_warning` seconds of
 *    `now` (32-bit times by RFC 4034 §3.1.5 serial arithmetic: the one
 *    within 2^31 seconds of `now`);
 *  - a DNSKEY at the apex without a complete chain: NSEC (every name with
 *    data at or above the zone cuts owns an NSEC, and each NSEC's next name
 *    is the next owner in canonical order, the last naming the apex) or,
 *    when the apex NSEC3PARAM names one, NSEC3 (every such name and empty
 *    non-terminal has the NSEC3 of its hash, except an insecure delegation
 *    or empty non-terminal covered by an opt-out NSEC3, and each NSEC3's
 *    next hash is the next of the chain, the last naming the first);
 *  - an NSEC3PARAM without NSEC3 records of its parameters;
 *  - an NSEC3PARAM (so its chain) with iterations above 0 or a salt
 *    (RFC 9276 §3.1 recommends 0 and none).
 * At most ZONE_CHECK_REPORT_MAX findings of each kind, then a count. Also
 * sets z->rrsig_expire. A zone without RRSIG, DNSKEY or NSEC3PARAM costs
 * two lookups at the apex.
 * Pre: `z` is built and not yet published (main thread).
 * \return the number of findings (also those only counted)
 */
unsigned zone_dnssec_check(struct zone *z, time_t now, uint32_t expiry_warning, zone_warn_fn warn,
                           void *ctx);

/**
 * The `expiry_warning` zone_load_file passes to zone_dnssec_check
 * (rrsig-expiry-warning, in seconds): a process-wide setting, set at start
 * and on reload before the zones are read; never read on the query path.
 */
void zone_set_rrsig_expiry_warning(uint32_t seconds);
uint32_t zone_rrsig_expiry_warning(void);

#endif
