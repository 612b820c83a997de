/* zone_update.c: zone versions: references, release, and a new version made
 * from a few changes without copying the zone.
 *
 * A load makes the first version of a lineage (zone.c). An update starts
 * from the lineage's newest version, collects the changed names ("drafts":
 * the records each name will hold), and commits a new version that:
 *  - copies the base's `struct zone` and, on first write, its page
 *    directory; copies each table page it writes (8 KiB), once;
 *  - gives every changed name a new node in an allocation of its own
 *    (NODE_OWN), and the parent of a name added or removed, or of a
 *    changed `*` child, too (its child count or wildcard pointer changes);
 *    unchanged nodes are shared;
 *  - changes the NSEC and NSEC3 indexes chunk by chunk (zvec.h).
 * So the cost is proportional to the change: for ten records in the
 * 1.25M-record zone, ten nodes, a few pages and one 32 KiB directory.
 *
 * What a new version replaces (pages, directories, chunks, own nodes, the
 * negative SOA) goes on its `retired` list: only it and older versions
 * read those. Versions are freed oldest first: when the oldest version is
 * released, it is freed with its successor's retired list; the newest
 * version, freed last, frees everything it still references, and with it
 * the load's arena and first table block. A version released while an
 * older one is still held (a transfer reading it) waits for that one. */
#include "zone/zone_impl.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct zone_retired {
	size_t n, cap;
	void **v; /* blocks to free() */
};

static int retired_push(struct zone_retired **rp, void *p)
{
	struct zone_retired *r = *rp;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return -1;
		*rp = r;
	}
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 64;
		void **nv = realloc(r->v, nc * sizeof(*nv));
		if (!nv)
			return -1;
		r->v = nv;
		r->cap = nc;
	}
	r->v[r->n++] = p;
	return 0;
}

static void retired_free(struct zone_retired *r, bool blocks)
{
	if (!r)
		return;
	for (size_t i = 0; blocks && i < r->n; i++)
		free(r->v[i]);
	free(r->v);
	free(r);
}

/* ------------------------------------------------------------- lifetime */

static bool in_base(const struct zone_shared *sh, const void *p)
{
	const struct zone_slot *s = p;
	return sh->base && s >= sh->base && s < sh->base + sh->base_slots;
}

/* The lineage's last version: free everything it references that is not
 * the load's (the arena and the first table block go with `shared`). */
static void free_reachable(struct zone *z)
{
	struct zone_shared *sh = z->shared;
	if (z->pages) {
		for (size_t i = 0; i <= z->mask; i++) {
			const struct node *n = zone_slot_at(z, i)->node;
			if (n && (n->flags & NODE_OWN))
				free((void *)n);
		}
		for (size_t p = 0; p < zone_table_pages(z->mask + 1); p++)
			if (!in_base(sh, z->pages[p]))
				free(z->pages[p]);
		if (z->pages != sh->packed_dir)
			free(z->pages);
	}
	zvec_free(&z->nsec);
	zvec_free(&z->nsec3c.v);
	free(z->neg_soa_own);
}

/* Free the dead versions at the old end of the lineage.
 * \return true when none is left. Pre: lineage_lock(sh) held. */
static bool collect(struct zone_shared *sh)
{
	while (sh->oldest && sh->oldest->dead) {
		struct zone *v = sh->oldest, *nx = v->newer;
		if (nx) {
			/* what nx replaced of v: only v read it */
			retired_free(nx->retired, true);
			nx->retired = NULL;
		} else {
			free_reachable(v);
		}
		retired_free(v->retired, false);
		free(v->source);
		free(v);
		sh->oldest = nx;
		sh->alive--;
	}
	return sh->oldest == NULL;
}

/* The locks of the lineages' version lists (a version's refs dropping to
 * 0, a commit adding one): striped by lineage, so a server of thousands of
 * small zones keeps 64 mutexes, not one of 40 bytes in each zone. Held
 * briefly, never two at once. */
#define LINEAGE_LOCKS 64
#define LOCK1 PTHREAD_MUTEX_INITIALIZER
#define LOCK4 LOCK1, LOCK1, LOCK1, LOCK1
#define LOCK16 LOCK4, LOCK4, LOCK4, LOCK4
static pthread_mutex_t g_lineage_locks[LINEAGE_LOCKS] = {LOCK16, LOCK16, LOCK16, LOCK16};
_Static_assert(LINEAGE_LOCKS == 64, "the initializer above has 64");

static pthread_mutex_t *lineage_lock(const struct zone_shared *sh)
{
	uint64_t h = (uint64_t)(uintptr_t)sh * 0x9e3779b97f4a7c15ull;
	return &g_lineage_locks[h >> 58];
}

static void release(struct zone *z)
{
	struct zone_shared *sh = z->shared;
	if (z->stub) {
		zone_stub_free(z);
		return;
	}
	if (!sh) {
		free(z->source);
		free(z);
		return;
	}
	pthread_mutex_lock(lineage_lock(sh));
	z->dead = true;
	bool last = collect(sh);
	pthread_mutex_unlock(lineage_lock(sh));
	if (last) {
		if (!sh->packed_dir) /* else in the arena */
			big_free(sh->base, sh->base_slots * sizeof(*sh->base));
		arena_free(&sh->arena);
		free(sh);
	}
}

void zone_ref(struct zone *z)
{
	__atomic_fetch_add(&z->refs, 1, __ATOMIC_RELAXED);
}

void zone_unref(struct zone *z)
{
	if (z && __atomic_sub_fetch(&z->refs, 1, __ATOMIC_ACQ_REL) == 0)
		release(z);
}

void zone_free(struct zone *z)
{
	if (!z)
		return;
	assert(__atomic_load_n(&z->refs, __ATOMIC_ACQUIRE) == 0);
	release(z);
}

unsigned zone_versions_alive(const struct zone *z)
{
	struct zone_shared *sh = z->shared;
	pthread_mutex_lock(lineage_lock(sh));
	unsigned n = sh->alive;
	pthread_mutex_unlock(lineage_lock(sh));
	return n;
}

/* -------------------------------------------------------------- updates */

/* A changed name: the records it will hold. */
struct draft {
	struct draft *hnext;	  /* hash chain */
	struct draft *lnext;	  /* same label count */
	uint64_t hash;
	const struct node *old;	  /* in the base, or NULL */
	struct node *made;	  /* the new node, or NULL (removed, or not built yet) */
	struct pending_rr *recs;  /* newest first */
	int64_t children_delta;
	const struct node *wild;  /* the new `*` child, when wild_set */
	bool wild_set;
	bool loaded;		  /* recs hold old's records */
	bool changed;		  /* a record was added or removed */
	bool done;
	uint8_t len, labels;
	uint8_t name[DNAME_MAX];
};

struct zone_update {
	struct zone *base;
	struct arena tmp; /* drafts, pending records */
	struct draft **htab;
	size_t hmask, ndrafts;
	struct draft *level[LABELS_MAX + 1];
	int64_t drecords;
	char err[512];
};

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct zone_update *zone_update_begin(struct zone *base)
{
	assert(base->shared && !base->newer);
	struct zone_update *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->base = base;
	u->hmask = 63;
	u->htab = calloc(u->hmask + 1, sizeof(*u->htab));
	if (!u->htab) {
		free(u);
		return NULL;
	}
	return u;
}

void zone_update_abort(struct zone_update *u)
{
	if (!u)
		return;
	arena_free(&u->tmp);
	free(u->htab);
	free(u);
}

static struct draft *draft_find(struct zone_update *u, const uint8_t *name, size_t len,
				uint64_t h)
{
	for (struct draft *d = u->htab[h & u->hmask]; d; d = d->hnext)
		if (d->hash == h && d->len == len && !memcmp(d->name, name, len))
			return d;
	return NULL;
}

static struct draft *draft_get(struct zone_update *u, const uint8_t *name, size_t len)
{
	uint64_t h = dname_hash(name, len);
	struct draft *d = draft_find(u, name, len, h);
	if (d)
		return d;
	if ((u->ndrafts + 1) * 2 > u->hmask + 1) {
		size_t nm = (u->hmask + 1) * 2 - 1;
		struct draft **nt = calloc(nm + 1, sizeof(*nt));
		if (!nt)
			return NULL;
		for (size_t i = 0; i <= u->hmask; i++) {
			for (struct draft *x = u->htab[i], *nx; x; x = nx) {
				nx = x->hnext;
				x->hnext = nt[x->hash & nm];
				nt[x->hash & nm] = x;
			}
		}
		free(u->htab);
		u->htab = nt;
		u->hmask = nm;
	}
	d = arena_alloc(&u->tmp, sizeof(*d));
	if (!d)
		return NULL;
	memset(d, 0, offsetof(struct draft, name));
	memcpy(d->name, name, len);
	d->len = (uint8_t)len;
	d->labels = (uint8_t)dname_label_count(name);
	d->hash = h;
	d->old = zone_find(u->base, name, len, h);
	d->hnext = u->htab[h & u->hmask];
	u->htab[h & u->hmask] = d;
	d->lnext = u->level[d->labels];
	u->level[d->labels] = d;
	u->ndrafts++;
	return d;
}

static int push_rec(struct zone_update *u, struct draft *d, uint16_t type, uint32_t ttl,
		    const uint8_t *rdata, uint16_t rdlen)
{
	return pending_push(&u->tmp, &d->recs, type, ttl, rdata, rdlen) ? 0 : -1;
}

/* The draft's records start as the old node's. RRSIGs are read from the
 * RRSIG set (the copies behind the sets they cover are the same records). */
static int draft_load(struct zone_update *u, struct draft *d)
{
	if (d->loaded)
		return 0;
	d->loaded = true;
	const struct node *n = d->old;
	for (uint16_t i = 0; n && i < n->nrrsets; i++) {
		const struct rrset *rs = &n->rrsets[i];
		const uint8_t *w = rs->wire;
		for (uint16_t k = 0; k < rs->count; k++) {
			uint16_t rl = (uint16_t)(w[8] << 8 | w[9]);
			if (push_rec(u, d, rs->type, get32(w + 4), w + RR_FIXED_LEN, rl) < 0)
				return -1;
			w += RR_FIXED_LEN + rl;
		}
	}
	return 0;
}

enum zb_result zone_update_change(struct zone_update *u, bool remove, const uint8_t *owner,
				  uint16_t type, uint16_t rrclass, uint32_t ttl,
				  const uint8_t *rdata, uint16_t rdlen, char *msg, size_t msgsize)
{
	uint8_t name[DNAME_MAX];
	size_t len;
	enum zb_result res =
		record_check(u->base, owner, name, &len, type, rrclass, rdlen, msg, msgsize);
	if (res != ZB_OK)
		return res;
	struct draft *d = draft_get(u, name, len);
	if (!d || draft_load(u, d) < 0) {
		snprintf(msg, msgsize, "out of memory");
		return ZB_ERROR;
	}
	if (remove) {
		for (struct pending_rr **pp = &d->recs; *pp; pp = &(*pp)->next) {
			struct pending_rr *p = *pp;
			if (p->type == type && rdata_equal(type, p->rdata, p->rdlen, rdata, rdlen)) {
				*pp = p->next;
				u->drecords--;
				d->changed = true;
				return ZB_OK;
			}
		}
		snprintf(msg, msgsize, "the record to delete is not in the zone");
		return ZB_ERROR;
	}
	const struct pending_rr *dup;
	for (const struct pending_rr *p = d->recs; p; p = p->next) {
		if (p->type == type && rdata_equal(type, p->rdata, p->rdlen, rdata, rdlen)) {
			snprintf(msg, msgsize, "the record to add is in the zone already");
			return ZB_ERROR;
		}
		if (type == RRTYPE_SOA && p->type == RRTYPE_SOA) {
			snprintf(msg, msgsize, "more than one SOA record at the apex");
			return ZB_ERROR;
		}
	}
	res = pending_check(d->recs, type, &ttl, rdata, rdlen, &dup, msg, msgsize);
	if (res == ZB_ERROR)
		return res;
	if (push_rec(u, d, type, ttl, rdata, rdlen) < 0) {
		snprintf(msg, msgsize, "out of memory");
		return ZB_ERROR;
	}
	u->drecords++;
	d->changed = true;
	return res;
}

/* ---- the new version's table, copied a page at a time ---- */

struct commit {
	struct zone_update *u;
	struct zone *z;		/* the new version */
	uint8_t *fresh;		/* bit per page: made by this version */
	size_t npages;
	struct node **made;	/* nodes made, freed if the commit fails */
	size_t nmade, capmade;
	bool failed;
};

static void retire(struct commit *c, void *p)
{
	if (p == c->z->shared->packed_dir)
		return; /* the first version's, in the arena */
	if (retired_push(&c->z->retired, p) < 0)
		c->failed = true; /* leaks p rather than freeing what is read */
}

static void retire_cb(void *ctx, void *p)
{
	retire(ctx, p);
}

static bool page_fresh(const struct commit *c, size_t p)
{
	return c->fresh[p >> 3] >> (p & 7) & 1;
}

static struct zone_slot *slot_w(struct commit *c, size_t i)
{
	struct zone *z = c->z;
	size_t p = i >> ZONE_PAGE_SHIFT;
	if (z->pages_gen != z->gen) {
		struct zone_slot **d = malloc(c->npages * sizeof(*d));
		if (!d)
			return NULL;
		memcpy(d, z->pages, c->npages * sizeof(*d));
		retire(c, z->pages);
		z->pages = d;
		z->pages_gen = z->gen;
	}
	if (!page_fresh(c, p)) {
		size_t len = zone_page_len(z->mask + 1);
		struct zone_slot *np = malloc(len * sizeof(*np));
		if (!np)
			return NULL;
		memcpy(np, z->pages[p], len * sizeof(*np));
		if (!in_base(z->shared, z->pages[p]))
			retire(c, z->pages[p]);
		z->pages[p] = np;
		c->fresh[p >> 3] |= (uint8_t)(1u << (p & 7));
	}
	return zone_slot_w(z, i);
}

static size_t slot_of(const struct zone *z, const struct node *n)
{
	for (size_t i = n->hash & z->mask;; i = (i + 1) & z->mask)
		if (zone_slot_at(z, i)->node == n)
			return i;
}

/* All pages new, twice the slots: when inserts would fill more than half. */
static int table_double(struct commit *c)
{
	struct zone *z = c->z;
	size_t nslots = (z->mask + 1) * 2, np = zone_table_pages(nslots);
	struct zone_slot **d = calloc(np, sizeof(*d));
	uint8_t *fresh = calloc((np + 7) / 8, 1);
	if (!d || !fresh)
		goto fail;
	for (size_t p = 0; p < np; p++)
		if (!(d[p] = calloc(zone_page_len(nslots), sizeof(struct zone_slot))))
			goto fail;
	for (size_t i = 0; i <= z->mask; i++) {
		const struct zone_slot *s = zone_slot_at(z, i);
		if (!s->node)
			continue;
		size_t j = s->hash & (nslots - 1);
		while (d[j >> ZONE_PAGE_SHIFT][j & (ZONE_PAGE_SLOTS - 1)].node)
			j = (j + 1) & (nslots - 1);
		d[j >> ZONE_PAGE_SHIFT][j & (ZONE_PAGE_SLOTS - 1)] = *s;
	}
	for (size_t p = 0; p < c->npages; p++) {
		if (page_fresh(c, p))
			free(z->pages[p]);
		else if (!in_base(z->shared, z->pages[p]))
			retire(c, z->pages[p]);
	}
	if (z->pages_gen == z->gen)
		free(z->pages);
	else
		retire(c, z->pages);
	memset(fresh, 0xff, (np + 7) / 8);
	free(c->fresh);
	c->fresh = fresh;
	c->npages = np;
	z->pages = d;
	z->pages_gen = z->gen;
	z->mask = nslots - 1;
	return 0;
fail:
	for (size_t p = 0; d && p < np; p++)
		free(d[p]);
	free(d);
	free(fresh);
	return -1;
}

static int table_insert(struct commit *c, struct node *n)
{
	struct zone *z = c->z;
	if ((z->nnodes + 1) * 2 > z->mask + 1 && table_double(c) < 0)
		return -1;
	size_t i = n->hash & z->mask;
	while (zone_slot_at(z, i)->node)
		i = (i + 1) & z->mask;
	struct zone_slot *s = slot_w(c, i);
	if (!s)
		return -1;
	s->hash = n->hash;
	s->node = n;
	z->nnodes++;
	return 0;
}

static int table_replace(struct commit *c, const struct node *old, struct node *n)
{
	struct zone_slot *s = slot_w(c, slot_of(c->z, old));
	if (!s)
		return -1;
	s->node = n;
	return 0;
}

/* Linear probing's deletion without tombstones: later entries of the
 * cluster that may move back into the hole do. */
static int table_remove(struct commit *c, const struct node *old)
{
	struct zone *z = c->z;
	size_t i = slot_of(z, old), j = i;
	for (;;) {
		j = (j + 1) & z->mask;
		const struct zone_slot *sj = zone_slot_at(z, j);
		if (!sj->node)
			break;
		size_t k = sj->hash & z->mask; /* where it wants to be */
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (stays)
			continue;
		struct zone_slot tmp = *sj;
		struct zone_slot *si = slot_w(c, i);
		if (!si)
			return -1;
		*si = tmp;
		i = j;
	}
	struct zone_slot *si = slot_w(c, i);
	if (!si)
		return -1;
	si->node = NULL;
	si->hash = 0;
	z->nnodes--;
	return 0;
}

/* ---- commit ---- */

static size_t node_rrsig_count(const struct node *n)
{
	const struct rrset *rs = n ? node_rrset(n, RRTYPE_RRSIG) : NULL;
	return rs ? rs->count : 0;
}

static bool blocker(const struct node *n)
{
	return n && (n->flags & (NODE_CUT | NODE_DNAME));
}

static struct node *make_node(struct commit *c, struct draft *d, size_t children,
			      size_t *nrrsigs)
{
	size_t n = 0, bytes = 0, nns = 0;
	for (const struct pending_rr *p = d->recs; p; p = p->next) {
		n++;
		bytes += p->rdlen;
		nns += p->type == RRTYPE_NS;
	}
	size_t size = node_build_size(n, bytes, d->len, nns) + sizeof(struct node_n3) + 8;
	uint8_t *block = malloc(size);
	if (!block)
		return NULL;
	struct zalloc al = {.arena = NULL, .block = block, .left = size};
	struct node *nd = zalloc(&al, sizeof(*nd));
	uint8_t *nm = zalloc(&al, d->len);
	memset(nd, 0, sizeof(*nd));
	memcpy(nm, d->name, d->len);
	nd->hash = d->hash;
	nd->name = nm;
	nd->name_len = d->len;
	nd->labels = d->labels;
	nd->flags = NODE_OWN;
	nd->children = (uint32_t)children;
	nd->tmp = d->recs;
	if (node_build(c->z, &al, nd, nrrsigs) < 0) {
		free(block);
		return NULL;
	}
	nd->flags |= NODE_OWN;
	if (c->z->nsec3c.v.esize && !(nd->flags & NODE_NSEC3)) {
		/* hashed now with the chain's parameters, as a load does */
		struct node_n3 *h = zalloc(&al, sizeof(*h));
		if (h) {
			nsec3_node_hashes(&c->z->nsec3c, nd, h);
			nd->n3 = h;
		}
	}
	nd->wildcard = (struct node *)(d->wild_set ? d->wild : d->old ? d->old->wildcard : NULL);
	if (c->nmade == c->capmade) {
		size_t nc = c->capmade ? c->capmade * 2 : 16;
		struct node **m = realloc(c->made, nc * sizeof(*m));
		if (!m) {
			free(block);
			return NULL;
		}
		c->made = m;
		c->capmade = nc;
	}
	c->made[c->nmade++] = nd;
	return nd;
}

/* One draft, its children done: its new node or its removal, in the table;
 * what its parent must learn goes to the parent's draft. */
static int apply_draft(struct commit *c, struct draft *d, char *msg, size_t msgsize)
{
	struct zone_update *u = c->u;
	struct zone *z = c->z;
	bool apex = d->labels == z->apex_labels;
	int64_t children = (int64_t)(d->old ? d->old->children : 0) + d->children_delta;
	/* a parent whose children changed in number but not in the end,
	 * and whose own records did not change, stays as it is */
	if (!d->changed && !d->children_delta && !d->wild_set)
		return 0;
	if (draft_load(u, d) < 0)
		goto oom;
	bool wild = d->name[0] == 1 && d->name[1] == '*';
	bool gone = !d->recs && children <= 0 && !apex;
	/* the parent learns of a name added or removed, or a `*` changed */
	struct draft *parent = NULL;
	if (!apex && (wild || !d->old != gone)) {
		const uint8_t *pn = d->name + 1 + d->name[0];
		parent = draft_get(u, pn, (size_t)(d->len - 1 - d->name[0]));
		if (!parent)
			goto oom;
	}
	d->done = true;
	if (gone) {
		/* nothing left at the name, nothing below it: it goes */
		if (!d->old)
			return 0;
		if (table_remove(c, d->old) < 0)
			goto oom;
		z->nblockers -= blocker(d->old);
		z->nrrsigs -= node_rrsig_count(d->old);
		parent->children_delta--;
		if (wild) {
			parent->wild_set = true;
			parent->wild = NULL;
		}
		if (d->old->flags & NODE_OWN)
			retire(c, (void *)d->old);
		return 0;
	}
	size_t sigs;
	struct node *n = make_node(c, d, (size_t)(children > 0 ? children : 0), &sigs);
	if (!n) {
		snprintf(msg, msgsize, "out of memory or RRset too large");
		return -1;
	}
	d->made = n;
	if (d->old ? table_replace(c, d->old, n) < 0 : table_insert(c, n) < 0)
		goto oom;
	z->nblockers += blocker(n);
	z->nrrsigs += sigs;
	if (d->old) {
		z->nblockers -= blocker(d->old);
		z->nrrsigs -= node_rrsig_count(d->old);
		if (d->old->flags & NODE_OWN)
			retire(c, (void *)d->old);
	} else if (parent) {
		parent->children_delta++;
	}
	if (wild && parent) {
		parent->wild_set = true;
		parent->wild = n;
	}
	if (apex)
		z->apex_node = n;
	return 0;
oom:
	snprintf(msg, msgsize, "out of memory");
	return -1;
}

/* The NSEC index and the NSEC3 chain, for every draft applied. */
static int update_indexes(struct commit *c, bool chain_rebuilt)
{
	struct zone *z = c->z;
	for (unsigned l = 0; l <= LABELS_MAX; l++) {
		for (struct draft *d = c->u->level[l]; d; d = d->lnext) {
			if (!d->done)
				continue;
			const struct node *o = d->old, *n = d->made;
			bool had = o && node_rrset(o, RRTYPE_NSEC), has = n && node_rrset(n, RRTYPE_NSEC);
			struct zvec_pos p;
			if (had) {
				if (!zvec_find_le(&z->nsec, d->name, zvec_cmp_canon, &p))
					return -1;
				if (has ? zvec_set(&z->nsec, p, &n, z->gen, retire_cb, c)
					: zvec_remove(&z->nsec, p, z->gen, retire_cb, c))
					return -1;
			} else if (has &&
				   zvec_insert(&z->nsec, &n, d->name, zvec_cmp_canon, z->gen,
					       retire_cb, c) < 0) {
				return -1;
			}
			if (chain_rebuilt || !z->nsec3c.v.esize)
				continue;
			struct nsec3_entry eo, en;
			memset(&eo, 0, sizeof(eo));
			memset(&en, 0, sizeof(en));
			bool ino = o && nsec3_member(z, &z->nsec3c, o, eo.hash);
			bool inn = n && nsec3_member(z, &z->nsec3c, n, en.hash);
			en.node = n;
			if (ino && inn && !memcmp(eo.hash, en.hash, NSEC3_HASH_LEN)) {
				if (!zvec_find_le(&z->nsec3c.v, eo.hash, zvec_cmp_hash, &p) ||
				    zvec_set(&z->nsec3c.v, p, &en, z->gen, retire_cb, c) < 0)
					return -1;
				continue;
			}
			if (ino && (!zvec_find_le(&z->nsec3c.v, eo.hash, zvec_cmp_hash, &p) ||
				    zvec_remove(&z->nsec3c.v, p, z->gen, retire_cb, c) < 0))
				return -1;
			if (inn && zvec_insert(&z->nsec3c.v, &en, en.hash, zvec_cmp_hash, z->gen,
					       retire_cb, c) < 0)
				return -1;
		}
	}
	z->nsec.esize = sizeof(const struct node *);
	return 0;
}

/* The apex NSEC3PARAM changed: the chain anew from the whole table (a
 * parameter change re-signs the zone anyway). */
static int rebuild_chain(struct commit *c)
{
	struct zone *z = c->z;
	zvec_drop(&z->nsec3c.v, z->gen, retire_cb, c);
	/* New parameters: every node's precomputed hashes are stale (a new
	 * tag), and answers hash per query until the zone is loaded again. */
	uint32_t tag = z->nsec3c.tag + 1;
	memset(&z->nsec3c, 0, sizeof(z->nsec3c));
	z->nsec3 = NULL;
	z->nsec3c.tag = tag;
	if (!nsec3_params(z, &z->nsec3c)) /* its salt in the new apex node */
		return 0;
	z->nsec3c.tag = tag;
	return nsec3_chain_from_table(z, &z->nsec3c);
}

static bool same_rrset(const struct node *a, const struct node *b, uint16_t type)
{
	const struct rrset *x = node_rrset(a, type), *y = node_rrset(b, type);
	if (!x || !y)
		return x == y;
	return x->wire_len == y->wire_len && !memcmp(x->wire, y->wire, x->wire_len);
}

/* The apex is a new node with the same NSEC3PARAM set: the chain's salt,
 * which points into the old node's set (struct nsec3_chain), moves to the
 * same place in the new node's (same bytes), since the old node goes when
 * the base does and this version may outlive it. */
static void chain_salt_move(struct zone *z, const struct node *old_apex)
{
	const struct rrset *o = node_rrset(old_apex, RRTYPE_NSEC3PARAM);
	const struct rrset *n = node_rrset(z->apex_node, RRTYPE_NSEC3PARAM);
	if (!z->nsec3c.salt || !o || !n)
		return; /* no parameters: nothing points there */
	assert(z->nsec3c.salt >= o->wire && z->nsec3c.salt <= o->wire + o->wire_len);
	z->nsec3c.salt = n->wire + (z->nsec3c.salt - o->wire);
}

/* Undo a failed commit: free what it made, keep what it retired. */
static void commit_fail(struct commit *c)
{
	struct zone *z = c->z;
	for (size_t i = 0; i < c->nmade; i++)
		free(c->made[i]);
	for (size_t p = 0; z->pages && p < c->npages; p++)
		if (page_fresh(c, p))
			free(z->pages[p]);
	if (z->pages_gen == z->gen)
		free(z->pages);
	/* what this version made; the rest is still the base's */
	zvec_drop(&z->nsec, z->gen, NULL, NULL);
	zvec_drop(&z->nsec3c.v, z->gen, NULL, NULL);
	if (z->neg_soa_own != c->u->base->neg_soa_own)
		free(z->neg_soa_own);
	retired_free(z->retired, false);
	free(z->source);
	free(z);
}

struct zone *zone_update_commit(struct zone_update *u, char *msg, size_t msgsize)
{
	struct zone *base = u->base, *z = NULL;
	struct commit c = {.u = u};
	z = malloc(sizeof(*z));
	if (!z)
		goto oom;
	*z = *base;
	z->gen = base->gen + 1;
	z->refs = 0;
	z->dead = false;
	z->newer = NULL;
	z->retired = NULL;
	z->source = NULL;
	if (base->source && !(z->source = strdup(base->source))) {
		free(z);
		z = NULL;
		goto oom;
	}
	if (base->nsec3)
		z->nsec3 = &z->nsec3c;
	c.z = z;
	c.npages = zone_table_pages(z->mask + 1);
	c.fresh = calloc((c.npages + 7) / 8, 1);
	if (!c.fresh) {
		free(z->source);
		free(z);
		z = NULL;
		goto oom;
	}
	/* Deepest names first: a name's removal or addition changes its
	 * parent's child count, and a parent left empty goes in turn. */
	for (int l = LABELS_MAX; l >= (int)z->apex_labels; l--) {
		for (struct draft *d = u->level[l]; d; d = d->lnext) {
			if (apply_draft(&c, d, msg, msgsize) < 0)
				goto fail;
		}
	}
	const struct node *apex = z->apex_node;
	if (!node_rrset(apex, RRTYPE_SOA) || !node_rrset(apex, RRTYPE_NS)) {
		snprintf(msg, msgsize, "the zone apex would have no %s",
			 node_rrset(apex, RRTYPE_SOA) ? "NS records" : "SOA record");
		goto fail;
	}
	bool chain_rebuilt = false;
	if (apex != base->apex_node) {
		if (base->neg_soa_own)
			retire(&c, base->neg_soa_own);
		z->neg_soa_own = NULL;
		if (zone_set_soa(z, NULL) < 0) {
			snprintf(msg, msgsize, "malformed SOA rdata or out of memory");
			goto fail;
		}
		if (!same_rrset(apex, base->apex_node, RRTYPE_NSEC3PARAM)) {
			if (rebuild_chain(&c) < 0)
				goto fail_oom;
			chain_rebuilt = true;
		} else {
			chain_salt_move(z, base->apex_node);
		}
	}
	if (update_indexes(&c, chain_rebuilt) < 0)
		goto fail_oom;
	z->nsec3 = z->nsec3c.v.n ? &z->nsec3c : NULL;
	z->nrecords = (size_t)((int64_t)z->nrecords + u->drecords);
	if (c.failed)
		goto fail_oom;
	/* Published to the lineage: from now on only release frees it. */
	pthread_mutex_lock(lineage_lock(z->shared));
	base->newer = z;
	z->shared->alive++;
	pthread_mutex_unlock(lineage_lock(z->shared));
	free(c.fresh);
	free(c.made);
	zone_update_abort(u);
	return z;
fail_oom:
	snprintf(msg, msgsize, "out of memory");
fail:
	commit_fail(&c);
	free(c.fresh);
	free(c.made);
	zone_update_abort(u);
	return NULL;
oom:
	snprintf(msg, msgsize, "out of memory");
	zone_update_abort(u);
	return NULL;
}
