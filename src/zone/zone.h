/* zone.h: the in-memory zone table.
 *
 * A zone is a hash table of nodes keyed by lowercased wire name. Every node
 * holds its RRsets as ready wire bytes (TYPE CLASS TTL RDLEN RDATA, network
 * order, the owner left out: the writer emits a compression pointer), sorted
 * by type. Empty non-terminals are nodes without RRsets. Everything a query
 * needs to decide between answer, referral, DNAME and wildcard is resolved
 * when the zone is built: the parent, the `*` child, the topmost zone cut or
 * DNAME above a node, and the glue of every delegation.
 *
 * A built zone is read-only and may be read by any number of threads. */
#ifndef SHOAL_ZONE_H
#define SHOAL_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>
#include <time.h>

#include "dns/dname.h"

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

/** Address records of one name server of a delegation, for the additional
 * section of a referral. */
struct glue {
	const uint8_t *name;	   /* lowercased wire name of the name server */
	const struct rrset *a;	   /* may be NULL */
	const struct rrset *aaaa;  /* may be NULL */
	bool in_domain;		   /* at or below the cut: RFC 9471 says it must fit */
};

enum node_flags {
	NODE_CUT = 1,	/* NS at a name other than the apex: a delegation point */
	NODE_DNAME = 2, /* owns a DNAME */
	NODE_CNAME = 4, /* owns a CNAME */
	NODE_NSEC3 = 8, /* owns an NSEC3: answered as if it did not exist (RFC 5155 §7.2.8) */
};

struct node {
	uint64_t hash;		/* dname_hash(name) */
	const uint8_t *name;	/* lowercased wire name */
	struct node *parent;	/* NULL at the apex */
	struct node *wildcard;	/* the `*` child, if the zone has one */
	struct node *above;	/* topmost strict ancestor that is a cut or owns a DNAME */
	struct rrset *rrsets;	/* sorted by type */
	struct glue *glue;	/* cuts only */
	uint16_t nrrsets;
	uint16_t nglue;
	uint8_t name_len;
	uint8_t labels;
	uint8_t flags;		/* enum node_flags */
	void *tmp;		/* build-time only: pending records */
};

/** A table slot keeps the hash beside the pointer: a probe that misses
 * costs no visit to the node. */
struct zone_slot {
	uint64_t hash;
	struct node *node;
};

#define NSEC3_HASH_LEN 20 /* SHA-1, the one NSEC3 hash (RFC 5155 §11) */

/** One NSEC3 of the chain: the hash its owner name's first label spells. */
struct nsec3_entry {
	uint8_t hash[NSEC3_HASH_LEN];
	const struct node *node;
};

/** An NSEC3 chain: its hash parameters (from NSEC3PARAM) and its records
 * sorted by hash, for the match and cover searches of denial. */
struct nsec3_chain {
	uint16_t iterations;
	uint8_t salt_len;
	uint8_t salt[255];
	size_t n;
	const struct nsec3_entry *v;
};

struct arena_chunk;
struct arena {
	struct arena_chunk *head;
	size_t used;   /* bytes handed out (for statistics) */
};

struct zone {
	uint8_t apex[DNAME_MAX]; /* lowercased wire */
	uint8_t apex_len;
	uint8_t apex_labels;
	struct node *apex_node;
	const struct rrset *soa;
	struct rrset neg_soa;	/* the SOA with TTL min(SOA TTL, MINIMUM), RFC 2308 §3 */
	uint32_t serial;
	struct zone_slot *table; /* open addressing, linear probing */
	size_t mask;
	size_t nnodes;
	size_t nrecords;
	struct arena arena;
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
	const struct node **nsec;
	size_t nnsec;
	/* NSEC3 (RFC 5155): the chain named by the apex NSEC3PARAM, NULL when
	 * there is none; denial then uses it rather than NSEC. */
	const struct nsec3_chain *nsec3;
	/* RRSIG records in the zone (0: unsigned), counted as it is built. */
	size_t nrrsigs;
	/* The earliest expiration of any RRSIG, as a Unix time (its 32-bit
	 * field read by RFC 4034 §3.1.5 serial arithmetic around the clock
	 * at load); 0 when the zone has no RRSIG. Set by zone_dnssec_check. */
	int64_t rrsig_expire;
	bool hugepages;		/* zone_hugepages done; main thread only */
	unsigned refs;		/* zone databases holding it; main thread only */
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

/** Step 1: the table slot where `hash` (a full name's) starts probing. */
static inline void zone_prefetch_slot(const struct zone *z, uint64_t hash)
{
	__builtin_prefetch(&z->table[hash & z->mask]);
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

/** Drop a builder without making a zone. */
void zone_builder_free(struct zone_builder *b);

/** Free a zone and everything in it. */
void zone_free(struct zone *z);

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
