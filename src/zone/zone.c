/* zone.c: the zone table: building it from records, and lookup. */
#include "zone/zone.h"
#include "zone/zone_impl.h"

#include <assert.h>
#include <ldns/ldns.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---------------------------------------------------------------- arena */

/* Big blocks (the arena's large chunks, the name table of a big zone) are
 * 2 MiB-aligned mappings, so that once the zone is built they can be
 * moved into transparent huge pages (zone_hugepages). A lookup in a big
 * zone is a few random reads over tens of MiB: with 4 KiB pages each one
 * also misses the TLB, and in a VM a TLB miss walks two sets of page
 * tables. Small zones never get here (their arena chunks and tables are
 * far smaller), so a server with thousands of small zones does not round
 * each one up. */
#define HUGE_SIZE ((size_t)2 << 20)

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25 /* Linux 6.1 <asm-generic/mman-common.h>; glibc 2.36 lacks it */
#endif

static size_t huge_round(size_t size)
{
	return (size + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
}

static void *big_alloc(size_t size)
{
	if (size < HUGE_SIZE)
		return malloc(size);
	size = huge_round(size);
	/* Map one huge page more than needed and cut the ends to alignment. */
	uint8_t *m = mmap(NULL, size + HUGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	uint8_t *p = (uint8_t *)(((uintptr_t)m + HUGE_SIZE - 1) & ~(uintptr_t)(HUGE_SIZE - 1));
	if (p > m)
		munmap(m, (size_t)(p - m));
	if (p + size < m + size + HUGE_SIZE)
		munmap(p + size, (size_t)(m + size + HUGE_SIZE - (p + size)));
	return p;
}

/* Ask for huge pages over a big block: MADV_HUGEPAGE marks it (Debian's
 * default THP mode, "madvise", then lets khugepaged collapse it some day)
 * and MADV_COLLAPSE (Linux 6.1) does it now. Both are advice: refused, the
 * block stays in 4 KiB pages. */
static size_t big_advise(void *p, size_t size)
{
	if (size < HUGE_SIZE)
		return 0;
	size = huge_round(size);
	if (madvise(p, size, MADV_HUGEPAGE) == 0 && madvise(p, size, MADV_COLLAPSE) == 0)
		return size;
	return 0;
}

void big_free(void *p, size_t size)
{
	if (!p)
		return;
	if (size < HUGE_SIZE)
		free(p);
	else
		munmap(p, huge_round(size));
}

/* A load builds a zone once and its nodes are freed together (with the
 * last version of the lineage), so their bytes come from a bump allocator:
 * no per-object malloc header (a 1.25M-record zone is millions of small
 * objects), one free per chunk. Chunks double, up to 2 MiB, the huge page
 * size (see above); a temporary arena (a builder's pending records, an
 * update's drafts) starts at ARENA_FIRST, 2 KiB. A load's own arena is
 * sized to its zone instead, since a server may hold thousands of zones of
 * a few names (catalog members) for as long as it runs: its first chunk is
 * ARENA_NODES, 256 bytes, which holds the nodes and names of a zone of two
 * names, and zone_builder_finish, which can tell from the pending records
 * what it is about to allocate (RRsets, their wire, glue, the negative
 * SOA: finish_bytes), moves the nodes into one chunk of exactly their
 * bytes and that (pack_nodes) when they are all in that first chunk, else
 * reserves one chunk of exactly that (arena_reserve) when the zone is
 * small; the packed chunk also takes the finished table when it is one
 * page (pack_table). So a catalog member's data is one chunk holding what
 * it uses, where a 2 KiB chunk was three quarters empty. A big zone
 * is not measured, and its chunks double from the first to the huge-page
 * mappings as they did. A node an update makes has an allocation of
 * its own instead (zone_update.c), freed when a later version replaces it:
 * a node of the load that an update replaces stays in the arena until the
 * lineage ends, so a zone kept for months by IXFR alone holds at most one
 * load's worth of such garbage. */
#define ARENA_FIRST ((size_t)2 << 10)
#define ARENA_NODES ((size_t)256)
#define ARENA_MAX HUGE_SIZE
/* zone_builder_finish measures what it will allocate when the pending
 * records take at most this much (20,000 A records take 470 KiB). */
#define FINISH_MEASURE_MAX (ARENA_MAX / 4)

/* Every piece is rounded to 8 bytes and nothing stored needs more
 * alignment, so the data follows the 24-byte header directly. */
struct arena_chunk {
	struct arena_chunk *next;
	size_t size, used;
	uint64_t data[];
};

static inline size_t round8(size_t size)
{
	return (size + 7u) & ~(size_t)7u;
}

/* A new chunk of `csize` data bytes at the head of `a`. */
static struct arena_chunk *chunk_new(struct arena *a, size_t csize)
{
	struct arena_chunk *c = big_alloc(sizeof(*c) + csize);
	if (!c)
		return NULL;
	c->size = csize;
	c->used = 0;
	c->next = a->head;
	a->head = c;
	return c;
}

int arena_reserve(struct arena *a, size_t size)
{
	size = round8(size);
	if (!size || (a->head && a->head->size - a->head->used >= size))
		return 0;
	return chunk_new(a, size) ? 0 : -1;
}

bool arena_chunk_info(const struct arena *a, size_t i, size_t *bytes, size_t *used)
{
	const struct arena_chunk *c = a->head;
	for (; c && i; i--)
		c = c->next;
	if (!c)
		return false;
	*bytes = sizeof(*c) + c->size;
	*used = c->used;
	return true;
}

void *arena_alloc(struct arena *a, size_t size)
{
	size = round8(size);
	struct arena_chunk *c = a->head;
	if (!c || c->size - c->used < size) {
		/* The next size: double the current chunk's, up to ARENA_MAX
		 * (whose data part is what is left of the huge page after the
		 * header, so the mapping is exactly one huge page). */
		size_t csize = c ? (c->size + sizeof(*c)) * 2 : ARENA_FIRST;
		if (csize > ARENA_MAX)
			csize = ARENA_MAX;
		csize -= sizeof(*c);
		bool alone = size > csize / 4;
		if (alone)
			csize = size; /* a big object gets its own chunk */
		c = big_alloc(sizeof(*c) + csize);
		if (!c)
			return NULL;
		c->size = csize;
		c->used = 0;
		if (a->head && alone) {
			/* Kept behind the current chunk so the current one's
			 * space is not lost (and sizes keep growing from it). */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	void *p = (uint8_t *)c->data + c->used;
	c->used += size;
	a->used += size;
	return p;
}

void *zalloc(struct zalloc *a, size_t size)
{
	if (a->arena)
		return arena_alloc(a->arena, size);
	size = (size + 7u) & ~(size_t)7u;
	if (size > a->left)
		return NULL; /* node_build_size was wrong: a bug, not a state */
	void *p = a->block;
	a->block += size;
	a->left -= size;
	return p;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head;
	while (c) {
		struct arena_chunk *n = c->next;
		big_free(c, sizeof(*c) + c->size);
		c = n;
	}
	a->head = NULL;
	a->used = 0;
}

/* ---------------------------------------------------------------- reading */

const struct rrset *node_rrset(const struct node *node, uint16_t type)
{
	for (uint16_t i = 0; i < node->nrrsets; i++)
		if (node->rrsets[i].type == type)
			return &node->rrsets[i];
	return NULL;
}

int zvec_cmp_canon(const void *elem, const void *key)
{
	return dname_canon_cmp((*(const struct node *const *)elem)->name, key);
}

int zvec_cmp_hash(const void *elem, const void *key)
{
	return memcmp(((const struct nsec3_entry *)elem)->hash, key, NSEC3_HASH_LEN);
}

const struct node *zone_nsec_find(const struct zone *z, const uint8_t *name)
{
	struct zvec_pos p;
	if (!zvec_find_le(&z->nsec, name, zvec_cmp_canon, &p))
		return NULL; /* empty (the apex is first when there is any) */
	return *(const struct node *const *)zvec_at(&z->nsec, p);
}

static void chain_hash(const struct nsec3_chain *c, const uint8_t *name,
		       uint8_t out[NSEC3_HASH_LEN]);

void zone_nsec3_hash(const struct zone *z, const uint8_t *name, uint8_t out[NSEC3_HASH_LEN])
{
	chain_hash(z->nsec3, name, out);
}

static void chain_hash(const struct nsec3_chain *c, const uint8_t *name,
		       uint8_t out[NSEC3_HASH_LEN])
{
	uint8_t buf[DNAME_MAX + 255];
	size_t len = dname_wire_len(name, DNAME_MAX);
	/* IH(salt, x, 0) = H(x || salt); IH(salt, x, k) = H(IH(salt, x, k-1) || salt) */
	memcpy(buf, name, len);
	memcpy(buf + len, c->salt, c->salt_len);
	SHA1(buf, len + c->salt_len, out);
	for (unsigned k = 0; k < c->iterations; k++) {
		memcpy(buf, out, NSEC3_HASH_LEN);
		memcpy(buf + NSEC3_HASH_LEN, c->salt, c->salt_len);
		SHA1(buf, NSEC3_HASH_LEN + c->salt_len, out);
	}
}

const struct node *zone_nsec3_find(const struct zone *z, const uint8_t hash[NSEC3_HASH_LEN],
				   bool *match)
{
	const struct zvec *v = &z->nsec3->v;
	struct zvec_pos p;
	*match = false;
	if (!zvec_find_le(v, hash, zvec_cmp_hash, &p)) /* before the first: */
		p = zvec_last(v);			   /* the last wraps around */
	const struct nsec3_entry *e = zvec_at(v, p);
	*match = memcmp(e->hash, hash, NSEC3_HASH_LEN) == 0;
	return e->node;
}

/* Base32hex (RFC 4648 §7), as an NSEC3 owner's first label spells its hash
 * (any case). \return false for anything else than 32 such characters */
bool base32hex_hash(const uint8_t *label, uint8_t out[NSEC3_HASH_LEN])
{
	if (label[0] != 32)
		return false;
	uint64_t acc = 0;
	unsigned bits = 0, n = 0;
	for (unsigned i = 1; i <= 32; i++) {
		uint8_t ch = dname_lc(label[i]), v;
		if (ch >= '0' && ch <= '9')
			v = (uint8_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'v')
			v = (uint8_t)(ch - 'a' + 10);
		else
			return false;
		acc = acc << 5 | v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n == NSEC3_HASH_LEN;
}

static int cmp_nsec3(const void *a, const void *b)
{
	return memcmp(((const struct nsec3_entry *)a)->hash, ((const struct nsec3_entry *)b)->hash,
		      NSEC3_HASH_LEN);
}

/* The rdata of n's NSEC3 of chain `ch` (the record with its parameters). */
static const uint8_t *chain_nsec3(const struct nsec3_chain *ch, const struct node *n,
                                  uint16_t *rdlen)
{
	const struct rrset *rs = node_rrset(n, RRTYPE_NSEC3);
	if (!rs)
		return NULL;
	const uint8_t *w = rs->wire;
	for (uint16_t k = 0; k < rs->count; k++) {
		uint16_t rl = (uint16_t)(w[8] << 8 | w[9]);
		const uint8_t *r = w + RR_FIXED_LEN;
		w += RR_FIXED_LEN + rl;
		/* HASH ALG(1) FLAGS(1) ITERATIONS(2) SALT LENGTH(1) SALT
		 * HASH LENGTH(1) NEXT HASHED OWNER TYPE BIT MAPS */
		if (rl >= 5 && r[0] == 1 && (unsigned)(r[2] << 8 | r[3]) == ch->iterations &&
		    r[4] == ch->salt_len && (size_t)5 + r[4] <= rl &&
		    memcmp(r + 5, ch->salt, ch->salt_len) == 0) {
			*rdlen = rl;
			return r;
		}
	}
	return NULL;
}

/* The parameters of one NSEC3PARAM record's rdata, the salt left where it
 * is: `rd` is the record's at the apex node of the version that is to
 * hold the chain (struct nsec3_chain). */
static bool nsec3_params_of(const uint8_t *rd, uint16_t rdlen, struct nsec3_chain *ch)
{
	/* ALG(1) FLAGS(1) ITERATIONS(2) SALT LENGTH(1) SALT */
	if (rdlen < 5 || rd[0] != 1 || (size_t)5 + rd[4] != rdlen)
		return false; /* SHA-1 is the only NSEC3 hash (RFC 5155 §11) */
	memset(ch, 0, sizeof(*ch));
	ch->iterations = (uint16_t)(rd[2] << 8 | rd[3]);
	ch->salt_len = rd[4];
	ch->salt = rd + 5; /* also without a salt: never NULL with parameters */
	ch->v.esize = sizeof(struct nsec3_entry);
	return true;
}

bool nsec3_params(const struct zone *z, struct nsec3_chain *ch)
{
	const struct rrset *param = node_rrset(z->apex_node, RRTYPE_NSEC3PARAM);
	if (!param)
		return false;
	/* the first record; zone_dnssec_check may choose another */
	return nsec3_params_of(param->wire + RR_FIXED_LEN,
			       (uint16_t)(param->wire[8] << 8 | param->wire[9]), ch);
}

void nsec3_node_hashes(const struct nsec3_chain *ch, const struct node *n, struct node_n3 *h)
{
	uint8_t w[DNAME_MAX];
	h->tag = ch->tag;
	chain_hash(ch, n->name, h->own);
	memset(h->wild, 0, sizeof(h->wild));
	if ((size_t)n->name_len + 2 > DNAME_MAX)
		return; /* no *.name can exist */
	w[0] = 1;
	w[1] = '*';
	memcpy(w + 2, n->name, n->name_len);
	chain_hash(ch, w, h->wild);
}

/* Every node's NSEC3 hashes with the zone's chain (a zone not published
 * yet: its nodes' hash blocks are written in place). \return 0 or -1 */
static int nsec3_precompute(struct zone *z)
{
	for (size_t i = 0; i <= z->mask; i++) {
		struct node *n = zone_slot_at(z, i)->node;
		if (!n || (n->flags & NODE_NSEC3))
			continue;
		struct node_n3 *h = (struct node_n3 *)n->n3;
		if (!h && !(h = arena_alloc(&z->shared->arena, sizeof(*h))))
			return -1;
		nsec3_node_hashes(z->nsec3, n, h);
		n->n3 = h;
	}
	return 0;
}

int nsec3_chain_from_table(const struct zone *z, struct nsec3_chain *ch)
{
	/* sized to the NSEC3 owners, not the names: a big signed zone's
	 * load should not peak higher for a temporary array */
	size_t cnt = 0;
	for (size_t i = 0; i <= z->mask; i++) {
		const struct node *n = zone_slot_at(z, i)->node;
		cnt += n && (n->flags & NODE_NSEC3);
	}
	struct nsec3_entry *v = malloc((cnt ? cnt : 1) * sizeof(*v));
	if (!v)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i <= z->mask && k < cnt; i++) {
		const struct node *n = zone_slot_at(z, i)->node;
		struct nsec3_entry e;
		memset(&e, 0, sizeof(e));
		if (!n || !nsec3_member(z, ch, n, e.hash))
			continue;
		e.node = n;
		v[k++] = e;
	}
	qsort(v, k, sizeof(*v), cmp_nsec3);
	int r = zvec_from_sorted(&ch->v, v, k, sizeof(*v), z->gen);
	free(v);
	return r;
}

bool nsec3_member(const struct zone *z, const struct nsec3_chain *ch, const struct node *n,
		  uint8_t hash[NSEC3_HASH_LEN])
{
	uint16_t rl;
	/* directly below the apex; one of its NSEC3 records has the
	 * NSEC3PARAM's hash, iterations and salt (during a parameter change a
	 * name owns two) */
	return (n->flags & NODE_NSEC3) && n->labels == z->apex_labels + 1 &&
	       chain_nsec3(ch, n, &rl) && base32hex_hash(n->name, hash);
}

/* The chain the apex NSEC3PARAM names (RFC 5155 §4): its parameters, and
 * every NSEC3 directly below the apex with the same hash, iterations and
 * salt, sorted by the hash its owner spells. None without NSEC3PARAM, or
 * with no NSEC3 of those parameters: denial then falls back to NSEC.
 * \return 0 or -1 (out of memory) */
static int build_nsec3_chain(struct zone *z)
{
	if (!nsec3_params(z, &z->nsec3c))
		return 0;
	if (nsec3_chain_from_table(z, &z->nsec3c) < 0)
		return -1;
	if (z->nsec3c.v.n)
		z->nsec3 = &z->nsec3c;
	return 0;
}

static int cmp_canon(const void *a, const void *b)
{
	const struct node *x = *(const struct node *const *)a, *y = *(const struct node *const *)b;
	return dname_canon_cmp(x->name, y->name);
}

/* The canonical-order index of the NSEC owners (none in an unsigned zone:
 * one pass over the nodes). \return 0 or -1 (out of memory) */
static int build_nsec_index(struct zone *z, struct node **nodes, size_t n)
{
	size_t cnt = 0;
	z->nsec.esize = sizeof(const struct node *);
	z->nsec.dir_gen = z->gen;
	for (size_t i = 0; i < n; i++)
		cnt += node_rrset(nodes[i], RRTYPE_NSEC) != NULL;
	if (!cnt)
		return 0;
	const struct node **v = malloc(cnt * sizeof(*v));
	if (!v)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (node_rrset(nodes[i], RRTYPE_NSEC))
			v[k++] = nodes[i];
	qsort(v, cnt, sizeof(*v), cmp_canon);
	int r = zvec_from_sorted(&z->nsec, v, cnt, sizeof(*v), z->gen);
	free(v);
	return r;
}

const struct node *zone_find(const struct zone *z, const uint8_t *name, size_t len, uint64_t hash)
{
	for (size_t i = hash & z->mask;; i = (i + 1) & z->mask) {
		const struct zone_slot *t = zone_slot_at(z, i);
		if (!t->node)
			return NULL;
		if (t->hash == hash) {
			const struct node *n = t->node;
			if (n->name_len == len && memcmp(n->name, name, len) == 0)
				return n;
		}
	}
}

const struct node *zone_prefetch_node(const struct zone *z, uint64_t hash)
{
	/* Bounded like any probe: the table is at most half full. */
	for (size_t i = hash & z->mask;; i = (i + 1) & z->mask) {
		const struct zone_slot *t = zone_slot_at(z, i);
		if (!t->node)
			return NULL;
		if (t->hash == hash) {
			const struct node *n = t->node;
			/* The node and the name allocated right after it:
			 * three lines reach any name up to 47 octets. */
			__builtin_prefetch(n);
			__builtin_prefetch((const uint8_t *)n + 64);
			__builtin_prefetch((const uint8_t *)n + 127);
			return n;
		}
	}
}

const struct node *zone_lookup(const struct zone *z, const uint8_t *name,
			       const struct dname_split *s, bool *exact)
{
	assert(s->labels >= z->apex_labels);
	unsigned apex_idx = (unsigned)(s->labels - z->apex_labels);
	for (unsigned i = 0; i < apex_idx; i++) {
		const struct node *n =
			zone_find(z, name + s->off[i], (size_t)(s->len - s->off[i]), s->hash[i]);
		if (n) {
			*exact = i == 0;
			return n;
		}
	}
	*exact = apex_idx == 0;
	return z->apex_node;
}

const struct node *zone_above(const struct zone *z, const uint8_t *name,
			      const struct dname_split *s, const struct node *n)
{
	if (__builtin_expect(!z->nblockers, 1) || n == z->apex_node)
		return NULL;
	if (z->apex_node->flags & NODE_DNAME)
		return z->apex_node;
	/* From the apex down: the topmost one decides. */
	for (unsigned l = z->apex_labels + 1u; l < n->labels; l++) {
		unsigned i = (unsigned)s->labels - l;
		const struct node *p =
			zone_find(z, name + s->off[i], (size_t)(s->len - s->off[i]), s->hash[i]);
		if (p && (p->flags & (NODE_CUT | NODE_DNAME)))
			return p;
	}
	return NULL;
}

const struct node *zone_parent(const struct zone *z, const uint8_t *name,
			       const struct dname_split *s, const struct node *n)
{
	unsigned i = (unsigned)s->labels - (n->labels - 1u);
	const struct node *p =
		zone_find(z, name + s->off[i], (size_t)(s->len - s->off[i]), s->hash[i]);
	return p ? p : z->apex_node;
}

int rdata_name_offset(uint16_t type)
{
	switch (type) {
	case RRTYPE_NS:
	case RRTYPE_CNAME:
	case RRTYPE_PTR:
	case RRTYPE_DNAME:
	case RRTYPE_SOA:
		return 0;
	case RRTYPE_MX:
		return 2;
	default:
		return -1;
	}
}

/* ---------------------------------------------------------------- building */

struct zone_builder {
	struct zone *z;
	struct arena tmp;	  /* pending records, freed at finish */
	struct node **nodes;	  /* every node, in creation order */
	size_t nnodes, cap_nodes;
	struct node *last;	  /* the previous record's owner: files group by owner */
	bool has_soa;
	bool pack_table;	  /* pack_nodes left room for pack_table */
};

/* The builder's table: one block of pages (freed with the lineage, or here
 * when it grows before the zone is done), behind a directory of pointers
 * into it. */
static int table_resize(struct zone *z, size_t nsize)
{
	struct zone_shared *sh = z->shared;
	/* Written before it is read: one page fault per page, where calloc's
	 * fresh mapping would take a read fault on the zero page first and
	 * then a copy-on-write fault when the probe loop stores. */
	struct zone_slot *nt = big_alloc(nsize * sizeof(*nt));
	size_t npages = zone_table_pages(nsize);
	struct zone_slot **dir = malloc(npages * sizeof(*dir));
	if (!nt || !dir) {
		big_free(nt, nsize * sizeof(*nt));
		free(dir);
		return -1;
	}
	memset(nt, 0, nsize * sizeof(*nt));
	for (size_t p = 0; p < npages; p++)
		dir[p] = nt + (p << ZONE_PAGE_SHIFT);
	if (sh->base) {
		for (size_t i = 0; i < sh->base_slots; i++) {
			if (!sh->base[i].node)
				continue;
			size_t j = sh->base[i].hash & (nsize - 1);
			while (nt[j].node)
				j = (j + 1) & (nsize - 1);
			nt[j] = sh->base[i];
		}
		big_free(sh->base, sh->base_slots * sizeof(*sh->base));
	}
	free(z->pages);
	sh->base = nt;
	sh->base_slots = nsize;
	z->pages = dir;
	z->mask = nsize - 1;
	return 0;
}

static int table_grow(struct zone *z)
{
	return table_resize(z, z->pages ? (z->mask + 1) * 2 : ZONE_TABLE_MIN);
}

int zone_builder_expect(struct zone_builder *b, size_t names)
{
	size_t nsize = ZONE_TABLE_MIN;
	while (nsize < names * 2 && nsize < ((size_t)1 << 40))
		nsize *= 2; /* at most half full, as builder_node keeps it */
	if (nsize <= b->z->mask + 1)
		return 0;
	return table_resize(b->z, nsize);
}

void zone_builder_prefetch_hash(const struct zone_builder *b, uint64_t hash)
{
	if (b->z->pages)
		zone_prefetch_slot(b->z, hash);
}

/* Find or create the node for a lowercased name; `hp`, when not NULL,
 * points to its dname_hash(). */
static struct node *builder_node(struct zone_builder *b, const uint8_t *name, size_t len,
				 const uint64_t *hp)
{
	struct zone *z = b->z;
	struct node *n = b->last;
	if (n && n->name_len == len && memcmp(n->name, name, len) == 0)
		return n;
	assert(!hp || *hp == dname_hash(name, len));
	uint64_t h = hp ? *hp : dname_hash(name, len);
	n = (struct node *)zone_find(z, name, len, h);
	if (n)
		return b->last = n;
	/* Keep the table at most half full: probes stay short. */
	if ((z->nnodes + 1) * 2 > z->mask + 1 && table_grow(z) < 0)
		return NULL;
	if (b->nnodes == b->cap_nodes) {
		size_t nc = b->cap_nodes ? b->cap_nodes * 2 : 1024;
		struct node **nn = realloc(b->nodes, nc * sizeof(*nn));
		if (!nn)
			return NULL;
		b->nodes = nn;
		b->cap_nodes = nc;
	}
	n = arena_alloc(&z->shared->arena, sizeof(*n));
	uint8_t *nm = arena_alloc(&z->shared->arena, len);
	if (!n || !nm)
		return NULL;
	memset(n, 0, sizeof(*n));
	memcpy(nm, name, len);
	n->hash = h;
	n->name = nm;
	n->name_len = (uint8_t)len;
	n->labels = (uint8_t)dname_label_count(name);
	size_t i = h & z->mask;
	while (zone_slot_at(z, i)->node)
		i = (i + 1) & z->mask;
	struct zone_slot *t = zone_slot_w(z, i);
	t->hash = h;
	t->node = n;
	z->nnodes++;
	b->nodes[b->nnodes++] = n;
	return b->last = n;
}

struct zone_builder *zone_builder_new(const uint8_t *apex)
{
	uint8_t lower[DNAME_MAX];
	size_t len = dname_wire_len(apex, DNAME_MAX);
	if (!len)
		return NULL;
	struct zone_builder *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->z = calloc(1, sizeof(*b->z));
	if (!b->z)
		goto fail;
	b->z->gen = 1;
	b->z->pages_gen = 1;
	b->z->shared = calloc(1, sizeof(*b->z->shared));
	if (!b->z->shared)
		goto fail;
	b->z->shared->oldest = b->z;
	b->z->shared->alive = 1;
	/* The load's nodes start in a chunk of ARENA_NODES (see there). */
	if (arena_reserve(&b->z->shared->arena, ARENA_NODES - sizeof(struct arena_chunk)) < 0 ||
	    table_grow(b->z) < 0)
		goto fail;
	dname_lower(lower, apex, len);
	b->z->apex_len = (uint8_t)len;
	b->z->apex_labels = (uint8_t)dname_label_count(apex);
	b->z->apex_node = builder_node(b, lower, len, NULL);
	if (!b->z->apex_node)
		goto fail;
	/* the node's name, in the arena: every version keeps it */
	b->z->apex = b->z->apex_node->name;
	return b;
fail:
	zone_builder_free(b);
	return NULL;
}

void zone_builder_free(struct zone_builder *b)
{
	if (!b)
		return;
	if (b->z)
		zone_free(b->z);
	arena_free(&b->tmp);
	free(b->nodes);
	free(b);
}

size_t zone_hugepages(struct zone *z)
{
	struct zone_shared *sh = z->shared;
	size_t done = 0;
	if (!sh || sh->hugepages) /* a stub has no arena */
		return 0;
	sh->hugepages = true;
	for (struct arena_chunk *c = sh->arena.head; c; c = c->next)
		done += big_advise(c, sizeof(*c) + c->size);
	if (sh->base)
		done += big_advise(sh->base, sh->base_slots * sizeof(*sh->base));
	return done;
}

static const char *type_name(uint16_t type, char *buf, size_t size)
{
	const ldns_rr_descriptor *d = ldns_rr_descript(type);
	if (d && d->_name)
		return d->_name;
	snprintf(buf, size, "TYPE%u", type); /* RFC 3597 §5 */
	return buf;
}

/* Types that may share a name with a CNAME (RFC 2181 §10.1, RFC 4035 §2.5). */
static bool cname_compatible(uint16_t type)
{
	return type == RRTYPE_CNAME || type == RRTYPE_RRSIG || type == RRTYPE_NSEC;
}

static enum zb_result builder_add(struct zone_builder *b, const uint8_t *owner,
				  const uint64_t *hash, uint16_t type, uint16_t rrclass,
				  uint32_t ttl, const uint8_t *rdata, uint16_t rdlen, char *msg,
				  size_t msgsize);

enum zb_result zone_builder_add(struct zone_builder *b, const uint8_t *owner, uint16_t type,
				uint16_t rrclass, uint32_t ttl, const uint8_t *rdata,
				uint16_t rdlen, char *msg, size_t msgsize)
{
	return builder_add(b, owner, NULL, type, rrclass, ttl, rdata, rdlen, msg, msgsize);
}

enum zb_result zone_builder_add_hashed(struct zone_builder *b, const uint8_t *owner,
				       uint64_t hash, uint16_t type, uint16_t rrclass,
				       uint32_t ttl, const uint8_t *rdata, uint16_t rdlen,
				       char *msg, size_t msgsize)
{
	return builder_add(b, owner, &hash, type, rrclass, ttl, rdata, rdlen, msg, msgsize);
}

enum zb_result record_check(const struct zone *z, const uint8_t *owner, uint8_t name[DNAME_MAX],
			    size_t *lenp, uint16_t type, uint16_t rrclass, uint16_t rdlen,
			    char *msg, size_t msgsize)
{
	char tb[16];
	size_t len = *lenp = dname_wire_len(owner, DNAME_MAX);
	if (!len) {
		snprintf(msg, msgsize, "malformed owner name");
		return ZB_ERROR;
	}
	dname_lower(name, owner, len);
	if (rrclass != RRCLASS_IN) {
		snprintf(msg, msgsize, "class %u is not IN", rrclass);
		return ZB_ERROR;
	}
	if (!dname_is_subdomain(name, z->apex)) {
		char nb[1024], ab[1024];
		snprintf(msg, msgsize, "record owner %s is outside the zone %s",
			 dname_to_str(name, nb, sizeof(nb)), dname_to_str(z->apex, ab, sizeof(ab)));
		return ZB_ERROR;
	}
	if (type == 0) {
		/* what ldns makes of a type name it does not know when no
		 * rdata follows ("www IN FOOBAR") */
		snprintf(msg, msgsize, "unknown record type (RFC 3597 types are written TYPEnnn)");
		return ZB_ERROR;
	}
	if (type == RRTYPE_OPT || type == RRTYPE_ANY || type == RRTYPE_AXFR ||
	    type == RRTYPE_IXFR || type == RRTYPE_MAILA || type == RRTYPE_MAILB) {
		snprintf(msg, msgsize, "%s is a meta type, not zone data", type_name(type, tb, sizeof(tb)));
		return ZB_ERROR;
	}
	bool at_apex = len == z->apex_len && memcmp(name, z->apex, len) == 0;
	if (type == RRTYPE_SOA) {
		if (!at_apex) {
			snprintf(msg, msgsize, "SOA record is not at the zone apex");
			return ZB_ERROR;
		}
		if (rdlen < 22) {
			snprintf(msg, msgsize, "malformed SOA rdata");
			return ZB_ERROR;
		}
	}
	if (at_apex && type == RRTYPE_CNAME) {
		snprintf(msg, msgsize, "CNAME at the zone apex (RFC 1034 §3.6.2: it cannot coexist with SOA and NS)");
		return ZB_ERROR;
	}
	return ZB_OK;
}

/* RFC 4034 §6.2: names in the rdata of these types compare without case
 * (RFC 3597 §7 for the well-known ones). Offsets of the names: a record of
 * a type whose names shoal compresses (rdata_name_offset) or SRV. */
bool rdata_equal(uint16_t type, const uint8_t *a, uint16_t alen, const uint8_t *b,
			uint16_t blen)
{
	if (alen != blen)
		return false;
	if (!memcmp(a, b, alen))
		return true;
	int off = type == RRTYPE_SRV ? 6 : rdata_name_offset(type);
	if (off < 0 || off >= alen)
		return false;
	if (memcmp(a, b, (size_t)off))
		return false;
	size_t i = (size_t)off;
	for (unsigned names = type == RRTYPE_SOA ? 2 : 1; names; names--) {
		size_t la = dname_wire_len(a + i, alen - i), lb = dname_wire_len(b + i, blen - i);
		if (!la || la != lb)
			return false;
		for (size_t k = 0; k < la; k++)
			if (dname_lc(a[i + k]) != dname_lc(b[i + k]))
				return false;
		i += la;
	}
	return !memcmp(a + i, b + i, alen - i);
}

struct pending_rr *pending_push(struct arena *a, struct pending_rr **list, uint16_t type,
				uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	struct pending_rr *p = arena_alloc(a, sizeof(*p) + rdlen);
	if (!p)
		return NULL;
	p->type = type;
	p->rdlen = rdlen;
	p->ttl = ttl;
	memcpy(p->rdata, rdata, rdlen);
	p->next = *list;
	*list = p;
	return p;
}

enum zb_result pending_check(const struct pending_rr *list, uint16_t type, uint32_t *ttl,
			     const uint8_t *rdata, uint16_t rdlen, const struct pending_rr **dup,
			     char *msg, size_t msgsize)
{
	char tb[16];
	enum zb_result res = ZB_OK;
	*dup = NULL;
	for (const struct pending_rr *p = list; p; p = p->next) {
		if (type == RRTYPE_CNAME && !cname_compatible(p->type)) {
			snprintf(msg, msgsize, "CNAME and other data at the same name (RFC 2181 §10.1)");
			return ZB_ERROR;
		}
		if (p->type == RRTYPE_CNAME && !cname_compatible(type)) {
			snprintf(msg, msgsize, "%s next to a CNAME at the same name (RFC 2181 §10.1)",
				 type_name(type, tb, sizeof(tb)));
			return ZB_ERROR;
		}
		if (p->type != type)
			continue;
		if (rdata_equal(type, p->rdata, p->rdlen, rdata, rdlen)) {
			/* RFC 2181 §5: a set has no duplicates (names compared
			 * without case) */
			*dup = p;
			if (p->ttl != *ttl && res == ZB_OK) {
				snprintf(msg, msgsize,
					 "duplicate record with TTL %u (earlier %u); using %u", *ttl,
					 p->ttl, p->ttl);
				return ZB_WARN;
			}
			return res;
		}
		if (type == RRTYPE_CNAME || type == RRTYPE_DNAME) {
			snprintf(msg, msgsize, "more than one %s at the same name",
				 type_name(type, tb, sizeof(tb)));
			return ZB_ERROR;
		}
		/* RRSIGs are exempt from one TTL per set: each carries the TTL of
		 * the set it covers (RFC 4034 §3), and those differ. */
		bool rrsig_other = type == RRTYPE_RRSIG &&
				   (rdlen < 2 || p->rdlen < 2 || memcmp(rdata, p->rdata, 2) != 0);
		if (p->ttl != *ttl && !rrsig_other) {
			/* RFC 2181 §5.2: TTLs in a set must match; use the first,
			 * as BIND and Knot do. */
			snprintf(msg, msgsize, "TTL %u differs from %u earlier in the same RRset; using %u",
				 *ttl, p->ttl, p->ttl);
			res = ZB_WARN;
			*ttl = p->ttl;
		}
	}
	return res;
}

static enum zb_result builder_add(struct zone_builder *b, const uint8_t *owner,
				  const uint64_t *hash, uint16_t type, uint16_t rrclass,
				  uint32_t ttl, const uint8_t *rdata, uint16_t rdlen, char *msg,
				  size_t msgsize)
{
	struct zone *z = b->z;
	uint8_t name[DNAME_MAX];
	size_t len;
	enum zb_result res = record_check(z, owner, name, &len, type, rrclass, rdlen, msg, msgsize);
	if (res != ZB_OK)
		return res;
	if (type == RRTYPE_SOA && b->has_soa) {
		snprintf(msg, msgsize, "more than one SOA record at the apex");
		return ZB_ERROR;
	}
	struct node *n = builder_node(b, name, len, hash);
	if (!n) {
		snprintf(msg, msgsize, "out of memory");
		return ZB_ERROR;
	}
	const struct pending_rr *dup;
	res = pending_check(n->tmp, type, &ttl, rdata, rdlen, &dup, msg, msgsize);
	if (res == ZB_ERROR || dup)
		return res;
	struct pending_rr *p = pending_push(&b->tmp, (struct pending_rr **)&n->tmp, type, ttl,
					    rdata, rdlen);
	if (!p) {
		snprintf(msg, msgsize, "out of memory");
		return ZB_ERROR;
	}
	z->nrecords++;
	if (type == RRTYPE_SOA)
		b->has_soa = true;
	return res;
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An RRSIG's rdata starts with the type it covers (RFC 4034 §3.1). */
static bool rrsig_covers(const uint8_t *rdata, uint16_t rdlen, uint16_t type)
{
	return rdlen >= 2 && (uint16_t)(rdata[0] << 8 | rdata[1]) == type;
}

static int cmp_pending(const void *a, const void *b)
{
	const struct pending_rr *x = *(const struct pending_rr *const *)a;
	const struct pending_rr *y = *(const struct pending_rr *const *)b;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return 0;
}

/* At most 64 name servers per cut get glue (as many as fit a referral). */
#define GLUE_MAX 64

size_t node_build_size(size_t n, size_t bytes, size_t name_len, size_t nns)
{
	/* node, name, one rrset per record at most, each record's fixed part
	 * and rdata twice (an RRSIG is stored in the RRSIG set and behind the
	 * set it covers), glue names, 8-byte rounding of each piece */
	if (nns > GLUE_MAX)
		nns = GLUE_MAX;
	return sizeof(struct node) + name_len + 8 + n * (sizeof(struct rrset) + 16) +
	       2 * (n * RR_FIXED_LEN + bytes) + nns * (sizeof(struct glue) + DNAME_MAX + 16);
}

/* One name server target of a cut's NS set into names[*ng], lowercased,
 * when it is inside the zone and not there yet (a cut's glue). \return its
 * length when taken, else 0 */
static size_t glue_take(const struct zone *z, const uint8_t *target, uint16_t rdlen,
			uint8_t names[][DNAME_MAX], const uint8_t *lens, size_t *ng)
{
	size_t len = dname_wire_len(target, rdlen);
	if (!len)
		return 0;
	dname_lower(names[*ng], target, len);
	if (!dname_is_subdomain(names[*ng], z->apex))
		return 0; /* out of zone: no glue of ours */
	for (size_t k = 0; k < *ng; k++)
		if (lens[k] == len && !memcmp(names[k], names[*ng], len))
			return 0;
	(*ng)++;
	return len;
}

/* A cut's glue: the name servers named by its NS set that are inside the
 * zone (their addresses are looked up when a referral is written).
 * \return 0 or -1 (out of memory) */
static int node_build_glue(const struct zone *z, struct zalloc *al, struct node *cut)
{
	const struct rrset *ns = node_rrset(cut, RRTYPE_NS);
	struct glue tmp[GLUE_MAX];
	uint8_t names[GLUE_MAX][DNAME_MAX], lens[GLUE_MAX];
	size_t ng = 0;
	const uint8_t *w = ns->wire, *end = ns->wire + ns->wire_len;
	while (w < end && ng < GLUE_MAX) {
		uint16_t rdlen = (uint16_t)(w[8] << 8 | w[9]);
		const uint8_t *target = w + RR_FIXED_LEN;
		w += RR_FIXED_LEN + rdlen;
		size_t len = glue_take(z, target, rdlen, names, lens, &ng);
		if (!len)
			continue;
		size_t k = ng - 1;
		lens[k] = (uint8_t)len;
		tmp[k].hash = dname_hash(names[k], len);
		tmp[k].name_len = (uint8_t)len;
		tmp[k].in_domain = dname_is_subdomain(names[k], cut->name);
	}
	if (ng == 0)
		return 0;
	cut->glue = zalloc(al, ng * sizeof(struct glue));
	if (!cut->glue)
		return -1;
	for (size_t k = 0; k < ng; k++) {
		uint8_t *nm = zalloc(al, tmp[k].name_len);
		if (!nm)
			return -1;
		memcpy(nm, names[k], tmp[k].name_len);
		tmp[k].name = nm;
	}
	memcpy(cut->glue, tmp, ng * sizeof(struct glue));
	cut->nglue = (uint16_t)ng;
	return 0;
}

/* n's pending records sorted by type, in `stack` (64 places) or, for
 * more, an array the caller frees when it is not `stack`.
 * \return the array (*cnt records, none: `stack`), or NULL (no memory) */
static struct pending_rr **pending_sorted(const struct node *n, struct pending_rr **stack,
					  size_t *cnt)
{
	struct pending_rr **v = stack;
	size_t i = 0;
	for (struct pending_rr *p = n->tmp; p; p = p->next)
		i++;
	*cnt = i;
	if (i > 64 && !(v = malloc(i * sizeof(*v))))
		return NULL;
	/* The list is newest first; fill from the back to keep file order. */
	for (struct pending_rr *p = n->tmp; p; p = p->next)
		v[--i] = p;
	/* By type. A few records (the usual case) by insertion, which keeps
	 * file order; many by qsort, which may reorder records within a set:
	 * order within an RRset carries no meaning (RFC 2181 §5). */
	if (*cnt <= 16) {
		for (i = 1; i < *cnt; i++) {
			struct pending_rr *x = v[i];
			size_t j = i;
			for (; j > 0 && v[j - 1]->type > x->type; j--)
				v[j] = v[j - 1];
			v[j] = x;
		}
	} else {
		qsort(v, *cnt, sizeof(*v), cmp_pending);
	}
	return v;
}

/* The node's RRSIGs in sorted v (one run): v[*sig_i, *sig_j), or empty at
 * cnt, to be copied behind each set they cover. */
static void sig_run(struct pending_rr *const *v, size_t cnt, size_t *sig_i, size_t *sig_j)
{
	*sig_i = *sig_j = cnt;
	for (size_t i = 0; i < cnt; i++) {
		if (v[i]->type == RRTYPE_RRSIG) {
			if (*sig_i == cnt)
				*sig_i = i;
			*sig_j = i + 1;
		}
	}
}

/* The set of v[i]'s type in sorted v: its records' bytes, and the bytes
 * and number of the RRSIGs of v[sig_i, sig_j) that cover it (none for
 * the RRSIG set itself, and none when they pass sig_len's 16 bits: they
 * could not be sent beside the set anyway). \return the end of the set */
static size_t set_span(struct pending_rr *const *v, size_t i, size_t cnt, size_t sig_i,
		       size_t sig_j, size_t *bytes, size_t *sbytes, size_t *scount)
{
	size_t j = i;
	*bytes = *sbytes = *scount = 0;
	while (j < cnt && v[j]->type == v[i]->type) {
		*bytes += RR_FIXED_LEN + v[j]->rdlen;
		j++;
	}
	for (size_t k = sig_i; k < sig_j && v[i]->type != RRTYPE_RRSIG; k++) {
		if (rrsig_covers(v[k]->rdata, v[k]->rdlen, v[i]->type)) {
			*sbytes += RR_FIXED_LEN + v[k]->rdlen;
			(*scount)++;
		}
	}
	if (*sbytes > UINT16_MAX)
		*sbytes = *scount = 0;
	return j;
}

int node_build(const struct zone *z, struct zalloc *al, struct node *n, size_t *nrrsigs)
{
	struct pending_rr *stack[64], **v;
	size_t cnt, i;
	*nrrsigs = 0;
	n->flags &= NODE_OWN;
	n->rrsets = NULL;
	n->nrrsets = 0;
	n->glue = NULL;
	n->nglue = 0;
	if (!n->tmp)
		return 0;
	if (!(v = pending_sorted(n, stack, &cnt)))
		return -1;
	size_t nsets = 1;
	for (i = 1; i < cnt; i++)
		if (v[i]->type != v[i - 1]->type)
			nsets++;
	if (nsets > UINT16_MAX)
		goto fail;
	n->rrsets = zalloc(al, nsets * sizeof(struct rrset));
	if (!n->rrsets)
		goto fail;
	size_t sig_i, sig_j;
	sig_run(v, cnt, &sig_i, &sig_j);
	for (i = 0; i < cnt;) {
		size_t bytes, sbytes, scount;
		size_t j = set_span(v, i, cnt, sig_i, sig_j, &bytes, &sbytes, &scount);
		if (j - i > UINT16_MAX || bytes > UINT32_MAX)
			goto fail;
		uint8_t *w = zalloc(al, bytes + sbytes);
		if (!w)
			goto fail;
		struct rrset *rs = &n->rrsets[n->nrrsets++];
		rs->type = v[i]->type;
		rs->count = (uint16_t)(j - i);
		rs->ttl = v[i]->ttl;
		rs->wire = w;
		rs->wire_len = (uint32_t)bytes;
		rs->sig_count = (uint16_t)scount;
		rs->sig_len = (uint16_t)sbytes;
		for (size_t k = i; k < j; k++) {
			put16(w, v[k]->type);
			put16(w + 2, RRCLASS_IN);
			/* an RRSIG keeps its own TTL, its covered set's (RFC 4034 §3) */
			put32(w + 4, rs->type == RRTYPE_RRSIG ? v[k]->ttl : rs->ttl);
			put16(w + 8, v[k]->rdlen);
			memcpy(w + RR_FIXED_LEN, v[k]->rdata, v[k]->rdlen);
			w += RR_FIXED_LEN + v[k]->rdlen;
		}
		for (size_t k = sig_i; scount && k < sig_j; k++) {
			if (!rrsig_covers(v[k]->rdata, v[k]->rdlen, v[i]->type))
				continue;
			put16(w, RRTYPE_RRSIG);
			put16(w + 2, RRCLASS_IN);
			put32(w + 4, v[k]->ttl);
			put16(w + 8, v[k]->rdlen);
			memcpy(w + RR_FIXED_LEN, v[k]->rdata, v[k]->rdlen);
			w += RR_FIXED_LEN + v[k]->rdlen;
		}
		if (rs->type == RRTYPE_CNAME)
			n->flags |= NODE_CNAME;
		if (rs->type == RRTYPE_DNAME)
			n->flags |= NODE_DNAME;
		if (rs->type == RRTYPE_NSEC3)
			n->flags |= NODE_NSEC3;
		if (rs->type == RRTYPE_NS && n->labels != z->apex_labels)
			n->flags |= NODE_CUT;
		if (rs->type == RRTYPE_RRSIG)
			*nrrsigs += rs->count;
		i = j;
	}
	n->tmp = NULL;
	if (v != stack)
		free(v);
	if ((n->flags & NODE_CUT) && node_build_glue(z, al, n) < 0)
		return -1;
	return 0;
fail:
	if (v != stack)
		free(v);
	return -1;
}

/* What zone_builder_finish takes from the load's arena after its node
 * walk, counted from the pending records the way it will take it, piece
 * by rounded piece: each node_build (RRsets, their wire, a cut's glue
 * names), the negative SOA (zone_set_soa) and, when the apex has an
 * NSEC3PARAM and some name an NSEC3, the hashes of every other node
 * (nsec3_precompute; counted even if no NSEC3 turns out to be of the
 * parameters). Kept in step with those, or the reservation it sizes
 * falls short and the rest goes to a chunk of its own.
 * \return the bytes, or SIZE_MAX when out of memory */
static size_t finish_bytes(const struct zone *z, struct node *const *nodes, size_t nnodes)
{
	struct pending_rr *stack[64], **v;
	size_t total = 0, n3 = 0, cnt;
	bool param = false;
	for (size_t x = 0; x < nnodes; x++) {
		const struct node *n = nodes[x];
		if (!n->tmp)
			continue;
		if (!(v = pending_sorted(n, stack, &cnt)))
			return SIZE_MAX;
		size_t sig_i, sig_j, nsets = 0;
		sig_run(v, cnt, &sig_i, &sig_j);
		for (size_t i = 0; i < cnt; nsets++) {
			size_t bytes, sbytes, scount;
			size_t j = set_span(v, i, cnt, sig_i, sig_j, &bytes, &sbytes, &scount);
			uint16_t type = v[i]->type;
			total += round8(bytes + sbytes);
			if (type == RRTYPE_SOA)
				total += round8(bytes + sbytes); /* the negative SOA's copy */
			n3 += type == RRTYPE_NSEC3;
			param |= type == RRTYPE_NSEC3PARAM && n == z->apex_node;
			if (type == RRTYPE_NS && n->labels != z->apex_labels) {
				/* the glue of a cut, as node_build_glue takes it */
				uint8_t names[GLUE_MAX][DNAME_MAX], lens[GLUE_MAX];
				size_t ng = 0;
				for (size_t k = i; k < j && ng < GLUE_MAX; k++) {
					size_t len = glue_take(z, v[k]->rdata, v[k]->rdlen, names,
							       lens, &ng);
					if (len) {
						lens[ng - 1] = (uint8_t)len;
						total += round8(len);
					}
				}
				total += round8(ng * sizeof(struct glue));
			}
			i = j;
		}
		total += round8(nsets * sizeof(struct rrset));
		if (v != stack)
			free(v);
	}
	if (param && n3)
		total += (nnodes - n3) * round8(sizeof(struct node_n3));
	return total;
}

int zone_set_soa(struct zone *z, struct zalloc *al)
{
	z->soa = node_rrset(z->apex_node, RRTYPE_SOA);
	if (!z->soa)
		return -1;
	/* RFC 2308 §3: the SOA in a negative answer carries
	 * min(SOA TTL, SOA MINIMUM). MINIMUM is the last rdata field. */
	const uint8_t *rd = z->soa->wire + RR_FIXED_LEN;
	uint16_t rdlen = (uint16_t)(z->soa->wire[8] << 8 | z->soa->wire[9]);
	size_t n1 = dname_wire_len(rd, rdlen);
	size_t n2 = n1 ? dname_wire_len(rd + n1, rdlen - n1) : 0;
	if (!n1 || !n2 || n1 + n2 + 20 != rdlen)
		return -1;
	uint32_t minimum = get32(rd + rdlen - 4);
	z->serial = get32(rd + n1 + n2);
	size_t len = z->soa->wire_len + z->soa->sig_len;
	uint8_t *w = al ? zalloc(al, len) : malloc(len);
	if (!w)
		return -1;
	memcpy(w, z->soa->wire, len);
	uint32_t ttl = z->soa->ttl < minimum ? z->soa->ttl : minimum;
	/* The SOA and its RRSIGs, all at the negative TTL (RFC 4035
	 * §3.1.3 sends the RRSIG with the SOA of a negative answer). */
	for (size_t off = 0; off + RR_FIXED_LEN <= len;
	     off += RR_FIXED_LEN + (size_t)(w[off + 8] << 8 | w[off + 9]))
		put32(w + off + 4, ttl);
	z->neg_soa = *z->soa;
	z->neg_soa.ttl = ttl;
	z->neg_soa.wire = w;
	if (!al)
		z->neg_soa_own = w;
	return 0;
}

/* The slots of a finished zone's table: as built, unless a
 * zone_builder_expect that guessed high left it sparse (four times what
 * its names need): then the memory goes back, down to what they need. */
static size_t table_final(const struct zone *z)
{
	size_t fit = ZONE_TABLE_MIN;
	while (fit < z->nnodes * 2)
		fit *= 2;
	return fit * 4 <= z->mask + 1 ? fit : z->mask + 1;
}

/* A small zone whose nodes and names all fit the arena's first chunk
 * (ARENA_NODES): move them into one chunk of exactly their bytes and the
 * `need` bytes zone_builder_finish is about to allocate, so the zone's
 * data is one allocation without slack. The chunk is copied whole, so
 * every pointer into it moves by the same distance: the nodes' names and
 * wildcards, the table's slots, the builder's list, the apex. Nothing
 * else points into it yet (RRsets, glue and hashes come after; pending
 * records are in the builder's own arena). \return 0, or -1 when out of
 * memory (nothing moved) */
static int pack_nodes(struct zone_builder *b, size_t need)
{
	struct zone *z = b->z;
	struct arena *a = &z->shared->arena;
	struct arena_chunk *old = a->head;
	/* room for the table and its directory too, once at its final size
	 * (pack_table), when it is one page */
	size_t slots = table_final(z);
	b->pack_table = slots <= ZONE_PAGE_SLOTS;
	size_t used = old->used, size = used + round8(need);
	if (b->pack_table)
		size += round8(slots * sizeof(struct zone_slot)) + round8(sizeof(struct zone_slot *));
	struct arena_chunk *c = big_alloc(sizeof(*c) + size);
	if (!c)
		return -1;
	c->next = NULL;
	c->size = size;
	c->used = used;
	memcpy(c->data, old->data, used);
	uintptr_t from = (uintptr_t)old->data, to = (uintptr_t)c->data;
#define MOVED(p) ((void *)((uintptr_t)(p) - from + to))
	for (size_t i = 0; i < b->nnodes; i++) {
		struct node *n = b->nodes[i] = MOVED(b->nodes[i]);
		n->name = MOVED(n->name);
		if (n->wildcard)
			n->wildcard = MOVED(n->wildcard);
	}
	for (size_t i = 0; i <= z->mask; i++) {
		struct zone_slot *t = zone_slot_w(z, i);
		if (t->node)
			t->node = MOVED(t->node);
	}
	z->apex_node = MOVED(z->apex_node);
	z->apex = z->apex_node->name;
	if (b->last)
		b->last = MOVED(b->last);
#undef MOVED
	a->head = c;
	big_free(old, sizeof(*old) + old->size);
	return 0;
}

/* The finished table of a zone pack_nodes packed, and its directory of one
 * page, into the room it left at the end of the chunk: the zone is then one
 * allocation besides its struct. The lineage frees them with the arena
 * (zone_shared.packed_dir). */
static void pack_table(struct zone *z)
{
	struct zone_shared *sh = z->shared;
	size_t n = z->mask + 1;
	struct zone_slot *t = arena_alloc(&sh->arena, n * sizeof(*t));
	struct zone_slot **dir = arena_alloc(&sh->arena, sizeof(*dir));
	if (!t || !dir)
		return; /* cannot be: the room was counted; stays where it is */
	memcpy(t, z->pages[0], n * sizeof(*t));
	big_free(sh->base, sh->base_slots * sizeof(*sh->base));
	free(z->pages);
	dir[0] = t;
	sh->base = t;
	sh->base_slots = n;
	sh->packed_dir = z->pages = dir;
}

struct zone *zone_builder_finish(struct zone_builder *b, char *msg, size_t msgsize)
{
	struct zone *z = b->z, *ret = NULL;
	char ab[1024];
	struct zalloc al = {.arena = &z->shared->arena};

	if (!b->has_soa) {
		snprintf(msg, msgsize, "no SOA record at the zone apex %s",
			 dname_to_str(z->apex, ab, sizeof(ab)));
		goto out;
	}
	bool apex_ns = false;
	for (struct pending_rr *p = z->apex_node->tmp; p; p = p->next)
		apex_ns |= p->type == RRTYPE_NS;
	if (!apex_ns) {
		snprintf(msg, msgsize, "no NS records at the zone apex %s",
			 dname_to_str(z->apex, ab, sizeof(ab)));
		goto out;
	}
	/* Empty non-terminals, child counts, wildcards: walk every node up to
	 * its parent; nodes created on the way are appended and visited in
	 * turn. */
	for (size_t i = 0; i < b->nnodes; i++) {
		struct node *n = b->nodes[i];
		if (n == z->apex_node)
			continue;
		const uint8_t *pname = n->name + 1 + n->name[0];
		struct node *p = builder_node(b, pname, (size_t)(n->name_len - 1 - n->name[0]), NULL);
		if (!p) {
			snprintf(msg, msgsize, "out of memory");
			goto out;
		}
		p->children++;
		if (n->name[0] == 1 && n->name[1] == '*')
			p->wildcard = n;
	}
	/* A small zone's RRsets and the rest in one chunk of their size (see
	 * ARENA_NODES); a big one's are not counted (a pass over every
	 * record) and go to chunks that double as the nodes' did. */
	if (b->tmp.used <= FINISH_MEASURE_MAX) {
		size_t need = finish_bytes(z, b->nodes, b->nnodes);
		struct arena *a = &z->shared->arena;
		if (need < HUGE_SIZE - sizeof(struct arena_chunk) &&
		    (a->head && !a->head->next ? pack_nodes(b, need)
					       : arena_reserve(a, need)) < 0) {
			snprintf(msg, msgsize, "out of memory");
			goto out;
		}
	}
	for (size_t i = 0; i < b->nnodes; i++) {
		struct node *n = b->nodes[i];
		size_t sigs;
		if (node_build(z, &al, n, &sigs) < 0) {
			snprintf(msg, msgsize, "out of memory or RRset too large");
			goto out;
		}
		z->nrrsigs += sigs;
		z->nblockers += (n->flags & (NODE_CUT | NODE_DNAME)) != 0;
	}
	if (build_nsec_index(z, b->nodes, b->nnodes) < 0 ||
	    build_nsec3_chain(z) < 0) {
		snprintf(msg, msgsize, "out of memory");
		goto out;
	}
	z->nsec3c.tag = 1;
	if (z->nsec3 && nsec3_precompute(z) < 0) {
		snprintf(msg, msgsize, "out of memory");
		goto out;
	}
	if (zone_set_soa(z, &al) < 0) {
		snprintf(msg, msgsize, "malformed SOA rdata");
		goto out;
	}
	if (table_final(z) != z->mask + 1 && table_resize(z, table_final(z)) < 0) {
		snprintf(msg, msgsize, "out of memory");
		goto out;
	}
	if (b->pack_table)
		pack_table(z);
	ret = z;
	b->z = NULL;
out:
	zone_builder_free(b);
	return ret;
}

/* ---------------------------------------------------------- DNSSEC checks */

/* rrsig-expiry-warning, for the loader: written by the main thread at
 * start and on reload, before the zones are read (relaxed: one word, and
 * no other data hangs on it). */
static _Atomic uint32_t g_expiry_warning = ZONE_RRSIG_EXPIRY_WARNING_DEFAULT;

void zone_set_rrsig_expiry_warning(uint32_t seconds)
{
	atomic_store_explicit(&g_expiry_warning, seconds, memory_order_relaxed);
}

uint32_t zone_rrsig_expiry_warning(void)
{
	return atomic_load_explicit(&g_expiry_warning, memory_order_relaxed);
}

struct checker {
	zone_warn_fn warn;
	void *ctx;
	unsigned total;
	bool first_param_chain; /* the first NSEC3PARAM has NSEC3 records */
};

/* One finding of a kind whose count is *kind: said while fewer than
 * ZONE_CHECK_REPORT_MAX were, else only counted (a zone signed a month
 * ago may have every RRSIG expired: one line each would bury the log). */
static void say(struct checker *c, unsigned *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(struct checker *c, unsigned *kind, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	c->total++;
	if ((*kind)++ >= ZONE_CHECK_REPORT_MAX || !c->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->warn(c->ctx, msg);
}

/* The line that counts what `say` did not show. */
static void say_more(struct checker *c, unsigned kind, const char *what)
{
	char msg[256];
	if (kind <= ZONE_CHECK_REPORT_MAX || !c->warn)
		return;
	snprintf(msg, sizeof(msg), "%u more %s not shown", kind - ZONE_CHECK_REPORT_MAX, what);
	c->warn(c->ctx, msg);
}

static uint16_t rr_rdlen(const uint8_t *w)
{
	return (uint16_t)(w[8] << 8 | w[9]);
}

static const char *iso_utc(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "%lld", (long long)t);
	return buf;
}

/* A duration of s >= 0 seconds in the unit a reader wants (rounded down). */
static const char *span(int64_t s, char *buf, size_t size)
{
	static const struct {
		int64_t below, unit;
		const char *name;
	} u[] = {{120, 1, "second"},
	         {120 * 60, 60, "minute"},
	         {72 * 3600, 3600, "hour"},
	         {INT64_MAX, 86400, "day"}};
	size_t i = 0;
	while (s >= u[i].below)
		i++;
	long long v = (long long)(s / u[i].unit);
	snprintf(buf, size, "%lld %s%s", v, u[i].name, v == 1 ? "" : "s");
	return buf;
}

/* A node's types as a list ("A AAAA MX"), leaving out the DNSSEC ones a
 * signer adds (RRSIG, NSEC, NSEC3): the records a finding is about; all of
 * them when it has no other. */
static const char *node_types(const struct node *n, char *buf, size_t size)
{
	size_t o = 0;
	char tb[16];
	bool all = true;
	for (uint16_t i = 0; i < n->nrrsets; i++) {
		uint16_t t = n->rrsets[i].type;
		all &= t == RRTYPE_RRSIG || t == RRTYPE_NSEC || t == RRTYPE_NSEC3;
	}
	buf[0] = 0;
	for (uint16_t i = 0; i < n->nrrsets && o < size; i++) {
		uint16_t t = n->rrsets[i].type;
		if (!all && (t == RRTYPE_RRSIG || t == RRTYPE_NSEC || t == RRTYPE_NSEC3))
			continue;
		o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? " " : "",
		                      type_name(t, tb, sizeof(tb)));
	}
	return buf;
}

/* Base32hex (RFC 4648 §7) of an NSEC3 hash, as an owner label spells it. */
static const char *hash_str(const uint8_t h[NSEC3_HASH_LEN], char out[33])
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuv";
	uint64_t acc = 0;
	unsigned bits = 0, n = 0;
	for (unsigned i = 0; i < NSEC3_HASH_LEN; i++) {
		acc = acc << 8 | h[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[n++] = digits[(acc >> bits) & 31];
		}
	}
	out[n] = 0; /* 160 bits: 32 digits, none left over */
	return out;
}

/* Walking the table slot by slot visits the nodes in hash order: a cache
 * miss for each node, then for its RRsets, then for their records (perf
 * on a signed 100,000-name zone: three loads that miss took 3/4 of the
 * checks). Asking for them a few slots ahead (nodes 16 slots ahead, their
 * RRsets 8 ahead, as zone_prefetch_* do for a batch of queries) lets the
 * misses of different nodes overlap. */
static void walk_prefetch(const struct zone *z, size_t i)
{
	if (i + 16 <= z->mask && zone_slot_at(z, i + 16)->node)
		__builtin_prefetch(zone_slot_at(z, i + 16)->node);
	if (i + 8 <= z->mask && zone_slot_at(z, i + 8)->node)
		zone_prefetch_rrsets(zone_slot_at(z, i + 8)->node);
}

/* Every RRSIG's expiration: the earliest into z->rrsig_expire, a finding
 * for each one expired or expiring within `warn_s`. RFC 4034 §3.1.5: the
 * 32-bit field is the time within 2^31 s of now that it is equal to
 * modulo 2^32 (serial arithmetic, RFC 1982), so a zone signed in 2105
 * reads right. */
static void check_rrsigs(struct checker *c, struct zone *z, time_t now, uint32_t warn_s)
{
	unsigned expired = 0, soon = 0;
	int64_t earliest = 0;
	char nb[DNAME_STR_MAX], tb[16], when[64], sb[64];
	for (size_t i = 0; i <= z->mask; i++) {
		walk_prefetch(z, i);
		const struct node *n = zone_slot_at(z, i)->node;
		const struct rrset *rs = n ? node_rrset(n, RRTYPE_RRSIG) : NULL;
		if (!rs)
			continue;
		const uint8_t *w = rs->wire;
		for (uint16_t k = 0; k < rs->count; k++) {
			/* TYPE COVERED(2) ALG(1) LABELS(1) TTL(4) EXPIRATION(4)
			 * INCEPTION(4) KEY TAG(2) SIGNER SIGNATURE */
			uint16_t rdlen = rr_rdlen(w);
			const uint8_t *rd = w + RR_FIXED_LEN;
			w += RR_FIXED_LEN + rdlen;
			if (rdlen < 18)
				continue;
			int64_t t = (int64_t)now + (int32_t)(get32(rd + 8) - (uint32_t)now);
			if (!earliest || t < earliest)
				earliest = t;
			if (t > (int64_t)now + warn_s)
				continue;
			uint16_t covered = (uint16_t)(rd[0] << 8 | rd[1]);
			unsigned tag = (unsigned)(rd[16] << 8 | rd[17]);
			if (t <= now)
				say(c, &expired,
				    "RRSIG at %s covering %s (key tag %u) expired at %s, %s ago; "
				    "still served",
				    dname_to_str(n->name, nb, sizeof(nb)),
				    type_name(covered, tb, sizeof(tb)), tag,
				    iso_utc(t, when, sizeof(when)), span(now - t, sb, sizeof(sb)));
			else
				say(c, &soon,
				    "RRSIG at %s covering %s (key tag %u) expires at %s, in %s",
				    dname_to_str(n->name, nb, sizeof(nb)),
				    type_name(covered, tb, sizeof(tb)), tag,
				    iso_utc(t, when, sizeof(when)), span(t - now, sb, sizeof(sb)));
		}
	}
	say_more(c, expired, "expired RRSIGs");
	say_more(c, soon, "RRSIGs expiring soon");
	z->rrsig_expire = earliest;
}

/* The NSEC3PARAM's rdata as written in a zone file ("1 0 10 CAFE5A17"). */
static const char *nsec3param_str(const uint8_t *rd, uint16_t rdlen, char *buf, size_t size)
{
	if (rdlen < 5 || (size_t)5 + rd[4] != rdlen) {
		snprintf(buf, size, "malformed");
		return buf;
	}
	size_t o = (size_t)snprintf(buf, size, "%u %u %u ", rd[0], rd[1], rd[2] << 8 | rd[3]);
	for (unsigned i = 0; i < rd[4] && o + 3 <= size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%02X", rd[5 + i]);
	if (!rd[4] && o + 2 <= size)
		snprintf(buf + o, size - o, "-");
	return buf;
}

/* NSEC3PARAM: the chain it names exists; RFC 9276 §3.1's parameters. */
static void check_nsec3param(struct checker *c, const struct zone *z, const struct rrset *param)
{
	unsigned none = 0, costly = 0;
	char nb[DNAME_STR_MAX], pb[600];
	const uint8_t *rd = param->wire + RR_FIXED_LEN;
	uint16_t rdlen = rr_rdlen(param->wire);
	dname_to_str(z->apex, nb, sizeof(nb));
	nsec3param_str(rd, rdlen, pb, sizeof(pb));
	if (!c->first_param_chain)
		say(c, &none, "NSEC3PARAM at %s (%s) has no NSEC3 records of its parameters", nb,
		    pb);
	if (rdlen < 5)
		return;
	unsigned iterations = (unsigned)(rd[2] << 8 | rd[3]);
	const char *its = iterations == 1 ? "iteration" : "iterations";
	if (iterations && rd[4])
		say(c, &costly,
		    "NSEC3PARAM at %s (%s): %u %s and a salt; RFC 9276 §3.1 recommends 0 "
		    "iterations and no salt",
		    nb, pb, iterations, its);
	else if (iterations)
		say(c, &costly,
		    "NSEC3PARAM at %s (%s): %u %s; RFC 9276 §3.1 recommends 0 iterations and no "
		    "salt",
		    nb, pb, iterations, its);
	else if (rd[4])
		say(c, &costly,
		    "NSEC3PARAM at %s (%s): a salt; RFC 9276 §3.1 recommends 0 iterations and no "
		    "salt",
		    nb, pb);
}

/* A name that must be in the denial chain: at or above every zone cut and
 * DNAME (RFC 4035 §2.3: glue and occluded names are not), and not an
 * NSEC3 owner (which is not part of the zone's namespace). */
static bool chain_name(const struct zone *z, const struct node *n)
{
	if (n->flags & NODE_NSEC3)
		return false;
	if (!z->nblockers || n == z->apex_node)
		return true;
	struct dname_split s;
	dname_split(&s, n->name, n->name_len);
	return zone_above(z, n->name, &s, n) == NULL;
}

/* NSEC: every name with data owns one; each one's next name is the next
 * owner in canonical order, the last's the apex (RFC 4034 §4.1.1). */
static void check_nsec(struct checker *c, const struct zone *z)
{
	unsigned missing = 0, broken = 0;
	char nb[DNAME_STR_MAX], xb[DNAME_STR_MAX], yb[DNAME_STR_MAX], tb[256];
	for (size_t i = 0; i <= z->mask; i++) {
		walk_prefetch(z, i);
		const struct node *n = zone_slot_at(z, i)->node;
		if (!n || !n->nrrsets || !chain_name(z, n) || node_rrset(n, RRTYPE_NSEC))
			continue;
		say(c, &missing, "NSEC chain incomplete: %s (%s) has no NSEC",
		    dname_to_str(n->name, nb, sizeof(nb)), node_types(n, tb, sizeof(tb)));
	}
	struct zvec_pos pos = zvec_first(&z->nsec);
	for (size_t i = 0; i < z->nsec.n; i++) {
		const struct node *n = *(const struct node *const *)zvec_at(&z->nsec, pos);
		const struct node *nx = zvec_next(&z->nsec, &pos)
						? *(const struct node *const *)zvec_at(&z->nsec, pos)
						: NULL;
		const struct rrset *rs = node_rrset(n, RRTYPE_NSEC);
		const uint8_t *rd = rs->wire + RR_FIXED_LEN;
		size_t len = dname_wire_len(rd, rr_rdlen(rs->wire));
		const uint8_t *want = nx ? nx->name : z->apex;
		size_t want_len = nx ? nx->name_len : z->apex_len;
		uint8_t next[DNAME_MAX];
		if (len)
			dname_lower(next, rd, len);
		if (len == want_len && memcmp(next, want, len) == 0)
			continue;
		say(c, &broken,
		    "NSEC chain broken: the NSEC at %s names %s next, but the next NSEC owner is "
		    "%s",
		    dname_to_str(n->name, nb, sizeof(nb)),
		    len ? dname_to_str(next, xb, sizeof(xb)) : "a malformed name",
		    dname_to_str(want, yb, sizeof(yb)));
	}
	say_more(c, missing, "names without an NSEC");
	say_more(c, broken, "broken NSEC links");
}


/* NSEC3 (RFC 5155 §7.1): every name with data and every empty
 * non-terminal has the NSEC3 of its hash, but an insecure delegation (and
 * an empty non-terminal: above one, presumably) may go without when an
 * opt-out NSEC3 covers it; each NSEC3's next hash is the following one of
 * the chain, the last's the first. One hash per name; the names sorted by
 * hash and walked beside the chain, one pass over two sorted arrays, where
 * a binary search per name would take a cache miss per step in a big
 * chain. */
static void check_nsec3(struct checker *c, const struct zone *z, const struct nsec3_chain *ch)
{
	unsigned missing = 0, broken = 0;
	char nb[DNAME_STR_MAX], yb[DNAME_STR_MAX], tb[256], hb[33];
	/* the chain, flat, for the two walks below */
	size_t nch = ch->v.n;
	struct nsec3_entry *chv = malloc(nch * sizeof(*chv));
	if (!chv) {
		say(c, &missing, "NSEC3 chain of %s not checked: out of memory",
		    dname_to_str(z->apex, nb, sizeof(nb)));
		return;
	}
	struct zvec_pos pos = zvec_first(&ch->v);
	for (size_t i = 0; i < nch; i++, zvec_next(&ch->v, &pos))
		chv[i] = *(const struct nsec3_entry *)zvec_at(&ch->v, pos);
	for (size_t i = 0; i < nch; i++) {
		uint16_t rdlen = 0;
		const uint8_t *rd = chain_nsec3(ch, chv[i].node, &rdlen);
		const struct nsec3_entry *want = &chv[i + 1 < nch ? i + 1 : 0];
		size_t o = rd ? (size_t)5 + rd[4] : 0; /* the hash length */
		bool ok = rd && o + 1 + NSEC3_HASH_LEN <= rdlen && rd[o] == NSEC3_HASH_LEN;
		if (ok && memcmp(rd + o + 1, want->hash, NSEC3_HASH_LEN) == 0)
			continue;
		say(c, &broken,
		    "NSEC3 chain broken: the NSEC3 at %s names %s next, but the next NSEC3 of the "
		    "chain is at %s",
		    dname_to_str(chv[i].node->name, nb, sizeof(nb)),
		    ok ? hash_str(rd + o + 1, hb) : "a malformed hash",
		    dname_to_str(want->node->name, yb, sizeof(yb)));
	}
	struct nsec3_entry *names = malloc(z->nnodes * sizeof(*names));
	size_t nn = 0;
	if (!names) {
		say(c, &missing, "NSEC3 chain of %s not checked: out of memory",
		    dname_to_str(z->apex, nb, sizeof(nb)));
		free(chv);
		return;
	}
	for (size_t i = 0; i <= z->mask; i++) {
		walk_prefetch(z, i);
		const struct node *n = zone_slot_at(z, i)->node;
		if (!n || !chain_name(z, n))
			continue;
		if (n->n3 && n->n3->tag == ch->tag)
			memcpy(names[nn].hash, n->n3->own, NSEC3_HASH_LEN);
		else
			chain_hash(ch, n->name, names[nn].hash);
		names[nn++].node = n;
	}
	qsort(names, nn, sizeof(*names), cmp_nsec3);
	size_t j = 0; /* the chain's first hash not below names[i]'s */
	for (size_t i = 0; i < nn; i++) {
		const struct node *n = names[i].node;
		const uint8_t *h = names[i].hash;
		while (j < nch && memcmp(chv[j].hash, h, NSEC3_HASH_LEN) < 0)
			j++;
		if (j < nch && memcmp(chv[j].hash, h, NSEC3_HASH_LEN) == 0)
			continue;
		/* covered by the one before (before the first: the last) */
		const struct node *cover = chv[j ? j - 1 : nch - 1].node;
		bool insecure = !n->nrrsets || ((n->flags & NODE_CUT) && !node_rrset(n, RRTYPE_DS));
		uint16_t rdlen = 0;
		const uint8_t *rd = insecure ? chain_nsec3(ch, cover, &rdlen) : NULL;
		if (rd && (rd[1] & 1)) /* the Opt-Out flag (RFC 5155 §3.1.2.1) */
			continue;
		if (!n->nrrsets)
			say(c, &missing,
			    "NSEC3 chain incomplete: the empty non-terminal %s has no NSEC3 (hash "
			    "%s)",
			    dname_to_str(n->name, nb, sizeof(nb)), hash_str(h, hb));
		else
			say(c, &missing, "NSEC3 chain incomplete: %s (%s) has no NSEC3 (hash %s)",
			    dname_to_str(n->name, nb, sizeof(nb)), node_types(n, tb, sizeof(tb)),
			    hash_str(h, hb));
	}
	free(names);
	free(chv);
	say_more(c, missing, "names without an NSEC3");
	say_more(c, broken, "broken NSEC3 links");
}

/* A signer moving a zone between NSEC and NSEC3, or to new NSEC3
 * parameters, leaves both chains in it for a while (two NSEC3PARAMs, or
 * NSEC records beside an NSEC3PARAM). Serve the chain of the first
 * NSEC3PARAM whose chain is complete, else the NSEC chain when it is,
 * else the one built (the first NSEC3PARAM's): and say which. */
static void choose_denial(struct checker *c, struct zone *z)
{
	const struct rrset *param = node_rrset(z->apex_node, RRTYPE_NSEC3PARAM);
	unsigned candidates = (param ? param->count : 0) + (z->nsec.n ? 1u : 0u), one = 0;
	char nb[DNAME_STR_MAX], pb[600];
	if (candidates < 2)
		return;
	dname_to_str(z->apex, nb, sizeof(nb));
	if (z->gen > 1) {
		/* A version an update made (an IXFR) shares its chains' chunks
		 * with the version still served (zvec.h): replacing its chain
		 * here would free what the workers read. It keeps the one the
		 * update built; the next load chooses. */
		say(c, &one, "%s holds more than one denial chain: serving %s", nb,
		    z->nsec3 ? "the NSEC3 chain of its first NSEC3PARAM" : "the NSEC chain");
		return;
	}
	const uint8_t *w = param ? param->wire : NULL;
	for (uint16_t k = 0; param && k < param->count; k++) {
		uint16_t rl = rr_rdlen(w);
		const uint8_t *rd = w + RR_FIXED_LEN;
		w += RR_FIXED_LEN + rl;
		struct nsec3_chain ch;
		memset(&ch, 0, sizeof(ch));
		if (!nsec3_params_of(rd, rl, &ch))
			continue;
		/* its own tag: the nodes' hashes are the first chain's */
		ch.tag = z->nsec3c.tag + 1u + k;
		if (nsec3_chain_from_table(z, &ch) < 0)
			return; /* out of memory: the chain built stays */
		struct checker q = {0};
		if (k == 0)
			c->first_param_chain = ch.v.n > 0;
		if (ch.v.n)
			check_nsec3(&q, z, &ch);
		if (ch.v.n && q.total == 0) {
			bool same = z->nsec3 && z->nsec3c.iterations == ch.iterations &&
				    z->nsec3c.salt_len == ch.salt_len &&
				    !memcmp(z->nsec3c.salt, ch.salt, ch.salt_len);
			if (same)
				ch.tag = z->nsec3c.tag;
			zvec_free(&z->nsec3c.v);
			z->nsec3c = ch;
			z->nsec3 = &z->nsec3c;
			if (!same && nsec3_precompute(z) < 0)
				z->nsec3c.tag++; /* out of memory: hashed per query */
			say(c, &one,
			    "%s holds more than one denial chain: serving the NSEC3 chain of "
			    "NSEC3PARAM %s, which is complete",
			    nb, nsec3param_str(rd, rl, pb, sizeof(pb)));
			return;
		}
		zvec_free(&ch.v);
	}
	if (z->nsec.n) {
		struct checker q = {0};
		check_nsec(&q, z);
		if (q.total == 0) {
			zvec_free(&z->nsec3c.v);
			memset(&z->nsec3c, 0, sizeof(z->nsec3c));
			z->nsec3 = NULL;
			say(c, &one,
			    "%s holds more than one denial chain: serving the NSEC chain, which is "
			    "complete",
			    nb);
			return;
		}
	}
	say(c, &one, "%s holds more than one denial chain and none is complete: serving %s", nb,
	    z->nsec3 ? "the NSEC3 chain of its first NSEC3PARAM" : "the NSEC chain");
}

unsigned zone_dnssec_check(struct zone *z, time_t now, uint32_t expiry_warning, zone_warn_fn warn,
                           void *ctx)
{
	const struct rrset *dnskey = node_rrset(z->apex_node, RRTYPE_DNSKEY);
	const struct rrset *param = node_rrset(z->apex_node, RRTYPE_NSEC3PARAM);
	z->rrsig_expire = 0;
	if (!z->nrrsigs && !dnskey && !param)
		return 0; /* unsigned: nothing walked */
	struct checker c = {.warn = warn, .ctx = ctx, .first_param_chain = z->nsec3 != NULL};
	choose_denial(&c, z);
	if (z->nrrsigs)
		check_rrsigs(&c, z, now, expiry_warning);
	if (param)
		check_nsec3param(&c, z, param);
	if (dnskey) {
		/* the chain negative answers use: NSEC3 when NSEC3PARAM names one */
		if (z->nsec3) {
			check_nsec3(&c, z, z->nsec3);
		} else if (z->nsec.n) {
			check_nsec(&c, z);
		} else {
			char nb[DNAME_STR_MAX];
			unsigned one = 0;
			say(&c, &one,
			    "DNSKEY at %s but no NSEC or NSEC3 chain: nonexistence cannot be "
			    "proved",
			    dname_to_str(z->apex, nb, sizeof(nb)));
		}
	}
	return c.total;
}

/* Stubs live in slabs of their own. A catalog adds thousands of members
 * at once, each a stub until its first transfer, and the main thread makes
 * them between the members' long-lived entries (configuration, zone set,
 * secondary): freed one by one as the transfers land, malloc'd stubs left
 * a hole of their size (2.2 KB when they were built like any zone, 9.5 MB
 * for 10,000 members) between entries that stay, resident for good. A slab
 * is one mapping, unmapped when its last stub goes, so the stubs of a
 * catalog's first transfer cost nothing once every member is transferred.
 * A slab holds a reference for each stub in it, and one more while it is
 * the slab new stubs go to. */
#define STUB_SLAB ((size_t)64 << 10)

struct stub_slab {
	unsigned refs; /* atomic */
	size_t used;   /* bytes handed out, this header included */
};

struct stub {
	struct stub_slab *slab;
	struct zone z;
	struct node apex;
	struct rrset rrsets[2]; /* NS, SOA: sorted by type */
	struct zone_slot slots[2], *page;
	uint8_t data[]; /* the apex's name, the NS's and SOA's wire, the negative SOA's */
};

static pthread_mutex_t g_stub_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stub_slab *g_stub_slab;
static size_t g_stub_slabs; /* atomic: mapped */

static void stub_slab_unref(struct stub_slab *s)
{
	if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		munmap(s, STUB_SLAB);
		__atomic_sub_fetch(&g_stub_slabs, 1, __ATOMIC_RELAXED);
	}
}

size_t zone_stub_slabs(void)
{
	return __atomic_load_n(&g_stub_slabs, __ATOMIC_RELAXED);
}

static struct stub *stub_alloc(size_t size)
{
	size = round8(size);
	if (size > STUB_SLAB - round8(sizeof(struct stub_slab)))
		return NULL;
	pthread_mutex_lock(&g_stub_lock);
	struct stub_slab *s = g_stub_slab;
	if (!s || STUB_SLAB - s->used < size) {
		void *m = mmap(NULL, STUB_SLAB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (m == MAP_FAILED) {
			pthread_mutex_unlock(&g_stub_lock);
			return NULL;
		}
		__atomic_add_fetch(&g_stub_slabs, 1, __ATOMIC_RELAXED);
		if (s)
			stub_slab_unref(s);
		s = g_stub_slab = m;
		s->refs = 1;
		s->used = round8(sizeof(*s));
	}
	struct stub *st = (struct stub *)((uint8_t *)s + s->used);
	s->used += size;
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&g_stub_lock);
	st->slab = s; /* the rest is zero: a fresh mapping, never reused */
	return st;
}

void zone_stub_free(struct zone *z)
{
	struct stub *st = (struct stub *)((uint8_t *)z - offsetof(struct stub, z));
	free(z->source);
	stub_slab_unref(st->slab);
}

struct zone *zone_stub_new(const uint8_t *apex)
{
	/* The SOA and NS are what any zone has: an expired zone answers
	 * SERVFAIL before it looks at any data, but code that reads a
	 * zone's SOA need not tell a stub. */
	static const uint8_t soa[] = {1, '.', 0, 1, '.', 0, 0, 0, 0, 0, 0, 0, 0, 1,
				      0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
	size_t len = dname_wire_len(apex, DNAME_MAX);
	if (!len)
		return NULL;
	size_t ns_len = RR_FIXED_LEN + len, soa_len = RR_FIXED_LEN + sizeof(soa);
	struct stub *st = stub_alloc(sizeof(*st) + len + ns_len + soa_len + round8(soa_len));
	if (!st)
		return NULL;
	struct zone *z = &st->z;
	uint8_t *name = st->data, *ns = name + len, *w = ns + ns_len;
	dname_lower(name, apex, len);
	/* TYPE CLASS TTL(0) RDLEN RDATA, as node_build lays them out */
	put16(ns, RRTYPE_NS);
	put16(ns + 2, RRCLASS_IN);
	put16(ns + 8, (uint16_t)len);
	memcpy(ns + RR_FIXED_LEN, name, len);
	put16(w, RRTYPE_SOA);
	put16(w + 2, RRCLASS_IN);
	put16(w + 8, sizeof(soa));
	memcpy(w + RR_FIXED_LEN, soa, sizeof(soa));
	st->rrsets[0] = (struct rrset){.type = RRTYPE_NS, .count = 1, .wire_len = (uint32_t)ns_len,
				       .wire = ns};
	st->rrsets[1] = (struct rrset){.type = RRTYPE_SOA, .count = 1,
				       .wire_len = (uint32_t)soa_len, .wire = w};
	struct node *n = &st->apex;
	n->hash = dname_hash(name, len);
	n->name = name;
	n->name_len = (uint8_t)len;
	n->labels = (uint8_t)dname_label_count(name);
	n->rrsets = st->rrsets;
	n->nrrsets = 2;
	/* a table of two slots: a probe for another name ends at the empty one */
	st->slots[n->hash & 1] = (struct zone_slot){.hash = n->hash, .node = n};
	st->page = st->slots;
	z->pages = &st->page;
	z->mask = 1;
	z->nnodes = 1;
	z->nrecords = 2;
	z->apex = name;
	z->apex_node = n;
	z->apex_len = (uint8_t)len;
	z->apex_labels = n->labels;
	z->gen = z->pages_gen = 1;
	struct zalloc al = {.block = w + soa_len, .left = round8(soa_len)};
	if (zone_set_soa(z, &al) < 0) { /* cannot fail: the SOA above is well formed */
		zone_stub_free(z);
		return NULL;
	}
	z->stub = true;
	atomic_store(&z->expired, true);
	return z;
}
