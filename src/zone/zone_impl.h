/* zone_impl.h: what zone.c (building, reading) and zone_update.c (versions)
 * share; not for other modules. */
#ifndef SHOAL_ZONE_IMPL_H
#define SHOAL_ZONE_IMPL_H

#include <pthread.h>

#include "zone/zone.h"

/* A bump allocator (zone.c): chunks, newest first. */
struct arena_chunk;
struct arena {
	struct arena_chunk *head;
	size_t used;   /* bytes handed out (for statistics) */
};

/* What the versions of one load share: the load's nodes (its arena) and
 * its table pages (one block), freed with the lineage's last version. */
struct zone_shared {
	struct arena arena;	  /* the first version's nodes, RRsets, names */
	struct zone_slot *base;	  /* the first version's table pages, one block */
	size_t base_slots;
	/* A small zone's first table and its directory of one page, in the
	 * arena (pack_table): not freed on their own. NULL: none. */
	struct zone_slot **packed_dir;
	struct zone *oldest;	  /* versions not freed, oldest first (->newer) */
	unsigned alive;
	bool hugepages;		  /* zone_hugepages done */
};

/* A block allocator: from the load's arena, or a block of its own (a node
 * an update makes, in one allocation with its name, RRsets and glue). */
struct zalloc {
	struct arena *arena; /* or NULL: bump within block */
	uint8_t *block;
	size_t left;
};

void *zalloc(struct zalloc *a, size_t size);
void *arena_alloc(struct arena *a, size_t size);
/** Make the next `size` bytes `a` hands out (in pieces rounded as
 * arena_alloc rounds them) come from one chunk: the current one when they
 * fit in what it has left, else a new one of exactly that size, from which
 * later chunks double as usual. \return 0, or -1 when out of memory */
int arena_reserve(struct arena *a, size_t size);
void arena_free(struct arena *a);
/** Chunk `i` of `a` (0: the current one, where allocations go): *bytes its
 * size with its header, *used the bytes handed out from it; for tests.
 * \return false when `a` has no such chunk */
bool arena_chunk_info(const struct arena *a, size_t i, size_t *bytes, size_t *used);
void big_free(void *p, size_t size);
/** Free a zone_stub_new's stub (refs 0). */
void zone_stub_free(struct zone *z);
/** The slabs of stubs mapped now (one while stubs were ever made, more
 * while stubs of earlier slabs live); for tests. */
size_t zone_stub_slabs(void);

/* One record waiting to become part of a node's RRsets. */
struct pending_rr {
	struct pending_rr *next;
	uint16_t type;
	uint16_t rdlen;
	uint32_t ttl;
	uint8_t rdata[];
};

/**
 * Check `type`/`ttl`/`rdata` against the records already pending at a node
 * (RFC 2181 §10.1 CNAME, §5 duplicates and TTLs), as zone_builder_add does.
 * \param[in,out] ttl  set to the set's TTL when it differs (ZB_WARN)
 * \param[out] dup  the equal record already there, if any
 */
enum zb_result pending_check(const struct pending_rr *list, uint16_t type, uint32_t *ttl,
			     const uint8_t *rdata, uint16_t rdlen, const struct pending_rr **dup,
			     char *msg, size_t msgsize);

/** The checks of a record that do not depend on the node: a well-formed
 * owner inside the zone, class, meta types, SOA and CNAME placement.
 * \param[out] name, lenp  the owner lowercased, and its length */
enum zb_result record_check(const struct zone *z, const uint8_t *owner, uint8_t name[DNAME_MAX],
			    size_t *lenp, uint16_t type, uint16_t rrclass, uint16_t rdlen,
			    char *msg, size_t msgsize);

/** Whether two records of `type` are the same: rdata equal, the names in
 * it (NS, CNAME, PTR, DNAME, SOA, MX, SRV) compared without case (RFC 4034
 * §6.2). */
bool rdata_equal(uint16_t type, const uint8_t *a, uint16_t alen, const uint8_t *b,
		 uint16_t blen);

/** A record from `a` at the head of `list`. \return it, or NULL (no memory) */
struct pending_rr *pending_push(struct arena *a, struct pending_rr **list, uint16_t type,
				uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);

/** Bytes node_build needs, at most, for `n` records of `bytes` rdata in
 * total, `nns` of them NS, at a name of `name_len` (for an own block). */
size_t node_build_size(size_t n, size_t bytes, size_t name_len, size_t nns);

/**
 * Turn n->tmp (the pending records) into RRsets sorted by type, the flags
 * they imply, and for a cut the glue names; n->tmp is cleared.
 * \param[out] nrrsigs  RRSIG records added
 * \return 0 or -1 (out of memory, or an RRset too large)
 */
int node_build(const struct zone *z, struct zalloc *al, struct node *n, size_t *nrrsigs);

/** The negative SOA (RFC 2308 §3) and serial of `z` from its apex SOA,
 * its wire from `al`. \return 0 or -1 (malformed SOA rdata, out of memory) */
int zone_set_soa(struct zone *z, struct zalloc *al);

/* zvec comparators: NSEC index (const struct node *, key a wire name) and
 * NSEC3 chain (struct nsec3_entry, key a hash). */
int zvec_cmp_canon(const void *elem, const void *key);
int zvec_cmp_hash(const void *elem, const void *key);

/** The hash an NSEC3 owner's first label spells (base32hex). */
bool base32hex_hash(const uint8_t *label, uint8_t out[NSEC3_HASH_LEN]);

/** Whether `n` is in the chain `ch`: directly below the apex, owns an NSEC3
 * of the chain's parameters, named by a hash. */
bool nsec3_member(const struct zone *z, const struct nsec3_chain *ch, const struct node *n,
		  uint8_t hash[NSEC3_HASH_LEN]);

/** Read the apex NSEC3PARAM into `ch` (zvec left empty), its salt
 * pointing into the record at z->apex_node.
 * \return false when there is none usable (not SHA-1, malformed) */
bool nsec3_params(const struct zone *z, struct nsec3_chain *ch);

/** Fill `ch` (parameters set, vector empty) with the chain of its
 * parameters from every node of `z`'s table. \return 0 or -1 (no memory) */
int nsec3_chain_from_table(const struct zone *z, struct nsec3_chain *ch);

/** `n`'s NSEC3 hashes (its name's, its wildcard's) with chain `ch`. */
void nsec3_node_hashes(const struct nsec3_chain *ch, const struct node *n, struct node_n3 *h);

/** Slot `i`, writable (the caller owns its page). */
static inline struct zone_slot *zone_slot_w(struct zone *z, size_t i)
{
	return &z->pages[i >> ZONE_PAGE_SHIFT][i & (ZONE_PAGE_SLOTS - 1)];
}

#endif
