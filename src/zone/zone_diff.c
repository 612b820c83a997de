/* zone_diff.c: the difference of two zone versions, a changeset applied to
 * a version, and the changeset helpers (zone_diff.h, changeset.h). */
#include "zone/zone_diff.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dname.h"
#include "zone/zone_impl.h"

#define SOA_TIMERS_LEN 20 /* serial, refresh, retry, expire, minimum */

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ------------------------------------------------------------ changesets */

void changeset_ref(struct changeset *cs)
{
	atomic_fetch_add_explicit(&cs->refs, 1, memory_order_relaxed);
}

void changeset_unref(struct changeset *cs)
{
	/* acq_rel: the last holder sees every other holder's reads done */
	if (cs && atomic_fetch_sub_explicit(&cs->refs, 1, memory_order_acq_rel) == 1) {
		free(cs->wire);
		free(cs);
	}
}

struct changeset *changeset_new(uint32_t from, uint32_t to, uint32_t nremoved, uint32_t nadded,
				uint8_t *wire, size_t len)
{
	struct changeset *cs = malloc(sizeof(*cs));
	if (!cs) {
		free(wire);
		return NULL;
	}
	cs->from = from;
	cs->to = to;
	cs->nremoved = nremoved;
	cs->nadded = nadded;
	cs->len = len;
	cs->wire = wire;
	atomic_init(&cs->refs, 1);
	return cs;
}

int changeset_next_rr(const struct changeset *cs, size_t *pos, struct changeset_rr *rr)
{
	if (*pos >= cs->len)
		return *pos == cs->len ? 0 : -EBADMSG;
	const uint8_t *p = cs->wire + *pos;
	size_t left = cs->len - *pos;
	size_t nl = dname_wire_len(p, left);
	if (!nl || left - nl < RR_FIXED_LEN)
		return -EBADMSG;
	const uint8_t *f = p + nl;
	uint16_t rdlen = get16(f + 8);
	if (left - nl - RR_FIXED_LEN < rdlen)
		return -EBADMSG;
	rr->rr = p;
	rr->rr_len = nl + RR_FIXED_LEN + rdlen;
	rr->owner = p;
	rr->owner_len = (uint8_t)nl;
	rr->type = get16(f);
	rr->rrclass = get16(f + 2);
	rr->ttl = get32(f + 4);
	rr->rdlen = rdlen;
	rr->rdata = f + RR_FIXED_LEN;
	rr->fixed = f;
	*pos += rr->rr_len;
	return 1;
}

/* The end of the uncompressed name at w[at], or 0 (why says what). */
static size_t name_end(const uint8_t *w, size_t len, size_t at, char *why, size_t whysize)
{
	size_t start = at;
	for (;;) {
		if (at >= len) {
			snprintf(why, whysize, "name at octet %zu runs past the end", start);
			return 0;
		}
		uint8_t l = w[at];
		if (l > LABEL_MAX) {
			/* 0xc0: a compression pointer; 0x40, 0x80: no such
			 * label types in use (RFC 6891 §5) */
			snprintf(why, whysize, "label octet 0x%02x at octet %zu", l, at);
			return 0;
		}
		at += 1 + (size_t)l;
		if (at - start > DNAME_MAX) {
			snprintf(why, whysize, "name at octet %zu longer than %d octets", start,
				 DNAME_MAX);
			return 0;
		}
		if (l == 0)
			return at;
	}
}

static bool name_eq(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (dname_lc(a[i]) != dname_lc(b[i]))
			return false;
	return true;
}

int changeset_check(const struct changeset *cs, char *why, size_t whysize)
{
	char none[8];
	if (!why) {
		why = none;
		whysize = sizeof(none);
	}
	const uint8_t *wire = cs->wire;
	size_t len = cs->len;
	uint32_t from = cs->from, to = cs->to, nremoved = cs->nremoved, nadded = cs->nadded;
	/* 64 bits: 2 + two counts of 2^32 - 1 does not wrap */
	uint64_t want = 2 + (uint64_t)nremoved + nadded;
	uint64_t new_soa = 1 + (uint64_t)nremoved;
	size_t at = 0, soa_owner = 0, soa_owner_len = 0;
	uint64_t i;
	for (i = 0; at < len; i++) {
		size_t rr = at;
		size_t end = name_end(wire, len, at, why, whysize);
		if (!end)
			return -EBADMSG;
		if (len - end < RR_FIXED_LEN) {
			snprintf(why, whysize, "record %" PRIu64 " at octet %zu cut short", i, rr);
			return -EBADMSG;
		}
		uint16_t type = get16(wire + end);
		size_t rdlen = get16(wire + end + 8);
		size_t rdata = end + RR_FIXED_LEN;
		if (len - rdata < rdlen) {
			snprintf(why, whysize,
				 "record %" PRIu64 " at octet %zu: RDLENGTH %zu past the end", i,
				 rr, rdlen);
			return -EBADMSG;
		}
		at = rdata + rdlen;
		bool soa_here = i == 0 || i == new_soa;
		if (!soa_here) {
			if (type == RRTYPE_SOA) {
				/* IXFR readers take an SOA for the start of the
				 * next section (RFC 1995 §4) */
				snprintf(why, whysize,
					 "record %" PRIu64 " at octet %zu: an SOA among the changes",
					 i, rr);
				return -EBADMSG;
			}
			continue;
		}
		const char *which = i == 0 ? "old" : "new";
		if (type != RRTYPE_SOA) {
			snprintf(why, whysize,
				 "record %" PRIu64 " at octet %zu: type %u where the %s SOA belongs",
				 i, rr, type, which);
			return -EBADMSG;
		}
		size_t mname = name_end(wire, rdata + rdlen, rdata, why, whysize);
		size_t rname = mname ? name_end(wire, rdata + rdlen, mname, why, whysize) : 0;
		if (!rname || rdata + rdlen - rname != SOA_TIMERS_LEN) {
			snprintf(why, whysize, "%s SOA at octet %zu: RDATA does not parse", which,
				 rr);
			return -EBADMSG;
		}
		uint32_t serial = get32(wire + rname);
		if (serial != (i == 0 ? from : to)) {
			snprintf(why, whysize, "%s SOA at octet %zu: serial %" PRIu32 ", not %" PRIu32,
				 which, rr, serial, i == 0 ? from : to);
			return -EBADMSG;
		}
		if (i == 0) {
			soa_owner = rr;
			soa_owner_len = end - rr;
		} else if (end - rr != soa_owner_len ||
			   !name_eq(wire + rr, wire + soa_owner, soa_owner_len)) {
			snprintf(why, whysize, "new SOA at octet %zu: not the old SOA's owner", rr);
			return -EBADMSG;
		}
	}
	if (i != want) {
		snprintf(why, whysize, "%" PRIu64 " records, not %" PRIu64 " (2 SOAs, %" PRIu32
			 " removed, %" PRIu32 " added)", i, want, nremoved, nadded);
		return -EBADMSG;
	}
	return 0;
}

/* ----------------------------------------------------------------- diff */

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static int buf_put(struct buf *b, const void *a, size_t alen, const void *c, size_t clen)
{
	size_t need = b->len + alen + clen;
	if (need > b->cap) {
		size_t nc = b->cap ? b->cap : 4096;
		while (nc < need)
			nc *= 2;
		uint8_t *np = realloc(b->p, nc);
		if (!np)
			return -1;
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, a, alen);
	if (clen)
		memcpy(b->p + b->len + alen, c, clen);
	b->len = need;
	return 0;
}

struct diff {
	struct buf rem, add;
	uint64_t nrem, nadd;
	const uint8_t **va, **vb; /* scratch: the records of two RRsets */
	size_t vcap;
	struct zone_diff_stats st;
};

static inline size_t rec_len(const uint8_t *w)
{
	return RR_FIXED_LEN + (size_t)get16(w + 8);
}

static int emit(struct diff *d, bool added, const uint8_t *owner, size_t owner_len,
		const uint8_t *w)
{
	if (buf_put(added ? &d->add : &d->rem, owner, owner_len, w, rec_len(w)) < 0)
		return -1;
	if (added)
		d->nadd++;
	else
		d->nrem++;
	return 0;
}

static int emit_set(struct diff *d, bool added, const struct node *n, const struct rrset *rs)
{
	const uint8_t *w = rs->wire;
	for (uint16_t k = 0; k < rs->count; k++, w += rec_len(w))
		if (emit(d, added, n->name, n->name_len, w) < 0)
			return -1;
	return 0;
}

/* Where a record's rdata holds names that compare without case, as
 * rdata_equal reads them: [r[2i], r[2i+1]) for each of the returned count.
 * None when any of them does not parse (rdata_equal then compares the
 * octets as they are). */
static unsigned name_regions(uint16_t type, const uint8_t *rd, uint16_t rdlen, size_t r[4])
{
	int off = type == RRTYPE_SRV ? 6 : rdata_name_offset(type);
	if (off < 0 || off >= rdlen)
		return 0;
	size_t i = (size_t)off;
	unsigned names = type == RRTYPE_SOA ? 2 : 1;
	for (unsigned k = 0; k < names; k++) {
		size_t l = dname_wire_len(rd + i, rdlen - i);
		if (!l)
			return 0;
		r[2 * k] = i;
		r[2 * k + 1] = i + l;
		i += l;
	}
	return names;
}

static inline bool in_regions(size_t k, const size_t *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (k >= r[2 * i] && k < r[2 * i + 1])
			return true;
	return false;
}

/* A total order of the records of one type in which two records are
 * equal exactly when they are the same record: class, TTL (a TTL change is
 * a change, RFC 1995 §4), then rdata as rdata_equal compares it, names
 * folded. Each record's key is its rdata with the letters of its own name
 * regions folded; folding leaves label lengths alone (at most 63, never
 * 'A'..'Z'), so two records with equal keys have the same regions. */
static int rec_cmp(const void *pa, const void *pb, void *ctx)
{
	const uint8_t *a = *(const uint8_t *const *)pa, *b = *(const uint8_t *const *)pb;
	uint16_t type = *(const uint16_t *)ctx;
	int c = memcmp(a + 2, b + 2, 8); /* CLASS TTL RDLENGTH, net-order: numeric */
	if (c)
		return c;
	uint16_t rdlen = get16(a + 8);
	const uint8_t *x = a + RR_FIXED_LEN, *y = b + RR_FIXED_LEN;
	if (!memcmp(x, y, rdlen))
		return 0;
	size_t ra[4], rb[4];
	unsigned na = name_regions(type, x, rdlen, ra), nb = name_regions(type, y, rdlen, rb);
	for (size_t k = 0; k < rdlen; k++) {
		uint8_t u = in_regions(k, ra, na) ? dname_lc(x[k]) : x[k];
		uint8_t v = in_regions(k, rb, nb) ? dname_lc(y[k]) : y[k];
		if (u != v)
			return u < v ? -1 : 1;
	}
	return 0;
}

static int scratch(struct diff *d, size_t n)
{
	if (n <= d->vcap)
		return 0;
	size_t nc = d->vcap ? d->vcap : 64;
	while (nc < n)
		nc *= 2;
	const uint8_t **a = malloc(nc * sizeof(*a)), **b = malloc(nc * sizeof(*b));
	if (!a || !b) {
		free(a);
		free(b);
		return -1;
	}
	free(d->va);
	free(d->vb);
	d->va = a;
	d->vb = b;
	d->vcap = nc;
	return 0;
}

static void records(const struct rrset *rs, const uint8_t **v, uint16_t type)
{
	const uint8_t *w = rs->wire;
	for (uint16_t k = 0; k < rs->count; k++, w += rec_len(w))
		v[k] = w;
	qsort_r(v, rs->count, sizeof(*v), rec_cmp, &type);
}

/* Two RRsets of one type at one name: each side's records sorted by
 * rec_cmp and merged. n log n in the set's size, not n²: a set of
 * thousands of records (NS of a big delegation, a TXT farm) stays cheap. */
static int diff_sets(struct diff *d, const struct node *o, const struct rrset *x,
		     const struct node *n, const struct rrset *y)
{
	/* Unchanged sets of a changed node: the same octets (a node an
	 * update rebuilt copies its records in the same order). */
	if (x->wire == y->wire || (x->count == y->count && x->wire_len == y->wire_len &&
				   !memcmp(x->wire, y->wire, x->wire_len)))
		return 0;
	if (scratch(d, x->count > y->count ? x->count : y->count) < 0)
		return -1;
	uint16_t type = x->type;
	records(x, d->va, type);
	records(y, d->vb, type);
	size_t i = 0, j = 0;
	while (i < x->count || j < y->count) {
		int c;
		if (i == x->count)
			c = 1; /* only additions left */
		else if (j == y->count)
			c = -1; /* only removals left */
		else
			c = rec_cmp(&d->va[i], &d->vb[j], &type);
		/* the order and rdata_equal agree on what is the same record */
		assert(i == x->count || j == y->count ||
		       (c == 0) == (!memcmp(d->va[i] + 2, d->vb[j] + 2, 6) &&
				    rdata_equal(type, d->va[i] + RR_FIXED_LEN, get16(d->va[i] + 8),
						d->vb[j] + RR_FIXED_LEN, get16(d->vb[j] + 8))));
		if (c < 0) {
			if (emit(d, false, o->name, o->name_len, d->va[i++]) < 0)
				return -1;
		} else if (c > 0) {
			if (emit(d, true, n->name, n->name_len, d->vb[j++]) < 0)
				return -1;
		} else {
			i++;
			j++;
		}
	}
	return 0;
}

/* The records of one name: `o` in old, `n` in new, either NULL. The SOA
 * is left out: it is the changeset's two SOAs. RRsets are sorted by type
 * in both (node_build), so one merge walks them. */
static int diff_node(struct diff *d, const struct node *o, const struct node *n)
{
	d->st.nodes++;
	uint16_t i = 0, j = 0, no = o ? o->nrrsets : 0, nn = n ? n->nrrsets : 0;
	while (i < no || j < nn) {
		const struct rrset *x = i < no ? &o->rrsets[i] : NULL;
		const struct rrset *y = j < nn ? &n->rrsets[j] : NULL;
		int r = 0;
		if (x && y && x->type == y->type) {
			if (x->type != RRTYPE_SOA)
				r = diff_sets(d, o, x, n, y);
			i++;
			j++;
		} else if (x && (!y || x->type < y->type)) {
			if (x->type != RRTYPE_SOA)
				r = emit_set(d, false, o, x);
			i++;
		} else {
			if (y->type != RRTYPE_SOA)
				r = emit_set(d, true, n, y);
			j++;
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

static inline size_t table_pages(const struct zone *z)
{
	return (z->mask + ZONE_PAGE_SLOTS) >> ZONE_PAGE_SHIFT;
}

/* The node named as `m` (a node of the other version) in `b`: first the
 * slot `m` has in its own table, then a lookup. Two loads of much the
 * same zone put most names in the same slots (same table size, same
 * hash), so most names are found there, reading `b`'s table in order
 * instead of probing it at random (the probes were most of the time of a
 * diff between independent loads). */
static const struct node *find_like(const struct zone *b, const struct node *m, size_t i,
				    bool shape)
{
	if (shape) {
		const struct zone_slot *s = zone_slot_at(b, i);
		if (s->node && s->hash == m->hash && s->node->name_len == m->name_len &&
		    !memcmp(s->node->name, m->name, m->name_len))
			return s->node;
	}
	return zone_find(b, m->name, m->name_len, m->hash);
}

/* Every name of `a`'s table that is not the same node in `b`: with `a`
 * the new version, its records against old's (or all added); with `a` the
 * old one, only the names new lacks (all removed: the others were done
 * in the first pass). Versions with the same table size (an update that
 * did not double it) share pages and slots: a page pointer or a slot's
 * node equal in both is the same content, since both versions are alive
 * and no block of either can have been freed and reused.
 * \param[out] fresh  names of `a` that `b` lacks (a_new only) */
static int walk(struct diff *d, const struct zone *a, const struct zone *b, bool a_new,
		size_t *fresh)
{
	bool shape = a->mask == b->mask;
	for (size_t p = 0; p < table_pages(a); p++) {
		if (shape && a->pages[p] == b->pages[p]) {
			d->st.pages_shared++;
			continue;
		}
		d->st.pages++;
		size_t end = (p + 1) << ZONE_PAGE_SHIFT;
		if (end > a->mask + 1)
			end = a->mask + 1;
		for (size_t i = p << ZONE_PAGE_SHIFT; i < end; i++) {
			const struct node *m = zone_slot_at(a, i)->node;
			if (!m || (shape && zone_slot_at(b, i)->node == m))
				continue;
			const struct node *other = find_like(b, m, i, shape);
			if (!other && a_new)
				(*fresh)++;
			if (other == m || (!a_new && other))
				continue;
			if (a_new ? diff_node(d, other, m) < 0 : diff_node(d, m, NULL) < 0)
				return -1;
		}
	}
	return 0;
}

/* Both walks; the second only when old has names new lacks: every name
 * of new is in old or counted fresh, so old->nnodes == new->nnodes -
 * fresh says that none went (most changes keep every name). */
static int walk_both(struct diff *d, const struct zone *old, const struct zone *new)
{
	size_t fresh = 0;
	if (walk(d, new, old, true, &fresh) < 0)
		return -1;
	if (old->nnodes == new->nnodes - fresh)
		return 0;
	return walk(d, old, new, false, NULL);
}

static size_t soa_len(const struct zone *z)
{
	return rec_len(z->soa->wire);
}

int zone_diff_measure(const struct zone *old, const struct zone *new, struct changeset **out,
		      struct zone_diff_stats *st)
{
	*out = NULL;
	if (old->apex_len != new->apex_len || memcmp(old->apex, new->apex, old->apex_len))
		return -EINVAL;
	struct diff d;
	memset(&d, 0, sizeof(d));
	int ret = -ENOMEM;
	/* The blob is the removals' buffer, the old SOA put first, grown to
	 * take the new SOA and the additions at the end: a big change (a
	 * re-signed zone) costs the blob and the additions' buffer at the
	 * peak, not a third copy (a large realloc is a mremap, no copy). */
	if (buf_put(&d.rem, old->apex, old->apex_len, old->soa->wire, soa_len(old)) < 0)
		goto out;
	if (old != new && walk_both(&d, old, new) < 0)
		goto out;
	if (d.nrem > UINT32_MAX - 1 || d.nadd > UINT32_MAX - 1)
		goto out; /* counts the format cannot hold: as good as no memory */
	size_t total = d.rem.len + new->apex_len + soa_len(new) + d.add.len;
	if (total != d.rem.cap) {
		/* also down to size: a journal keeps changesets for long */
		uint8_t *np = realloc(d.rem.p, total);
		if (!np)
			goto out;
		d.rem.p = np;
		d.rem.cap = total;
	}
	buf_put(&d.rem, new->apex, new->apex_len, new->soa->wire, soa_len(new));
	if (d.add.len)
		buf_put(&d.rem, d.add.p, d.add.len, NULL, 0);
	assert(d.rem.len == total);
	*out = changeset_new(old->serial, new->serial, (uint32_t)d.nrem, (uint32_t)d.nadd, d.rem.p,
			     d.rem.len);
	d.rem.p = NULL; /* the changeset's, or freed by changeset_new */
	if (*out)
		ret = 0;
out:
	free(d.rem.p);
	free(d.add.p);
	free(d.va);
	free(d.vb);
	if (st)
		*st = d.st;
	return ret;
}

int zone_diff(const struct zone *old, const struct zone *new, struct changeset **out)
{
	return zone_diff_measure(old, new, out, NULL);
}

/* ---------------------------------------------------------------- apply */

int changeset_apply(struct zone *base, const struct changeset *cs, struct zone **out, char *msg,
		    size_t msgsize)
{
	*out = NULL;
	if (msgsize)
		msg[0] = 0;
	if (cs->from != base->serial) {
		snprintf(msg, msgsize, "the changeset goes from serial %u, the zone is at %u",
			 cs->from, base->serial);
		return -ESTALE;
	}
	if (changeset_check(cs, NULL, 0) < 0) {
		snprintf(msg, msgsize, "malformed changeset %u -> %u", cs->from, cs->to);
		return -EBADMSG;
	}
	struct zone_update *u = zone_update_begin(base);
	if (!u) {
		snprintf(msg, msgsize, "out of memory");
		return -ENOMEM;
	}
	/* In the blob's order: removals (the old SOA first), then additions
	 * (the new SOA first). An addition of a record the changeset removed
	 * earlier (a TTL change) finds it gone. */
	struct changeset_rr rr;
	size_t pos = 0;
	uint64_t k = 0;
	bool warned = false;
	char why[256];
	while (changeset_next_rr(cs, &pos, &rr) > 0) {
		bool remove = k++ <= cs->nremoved;
		enum zb_result res;
		res = zone_update_change(u, remove, rr.owner, rr.type, rr.rrclass, rr.ttl, rr.rdata,
					 rr.rdlen, why, sizeof(why));
		if (res == ZB_OK || (res == ZB_WARN && warned))
			continue;
		char nb[DNAME_STR_MAX];
		snprintf(msg, msgsize, "%s %s type %u: %s", remove ? "removing" : "adding",
			 dname_to_str(rr.owner, nb, sizeof(nb)), rr.type, why);
		if (res == ZB_ERROR) {
			zone_update_abort(u);
			return strcmp(why, "out of memory") ? -EINVAL : -ENOMEM;
		}
		/* a warning (a TTL unlike its set's): taken, as a load takes
		 * it; the first one stays in msg */
		warned = true;
	}
	char cmsg[256];
	struct zone *z = zone_update_commit(u, cmsg, sizeof(cmsg));
	if (!z) {
		snprintf(msg, msgsize, "%s", cmsg);
		return strcmp(cmsg, "out of memory") ? -EINVAL : -ENOMEM;
	}
	/* the new SOA (serial cs->to, changeset_check) replaced the old */
	assert(z->serial == cs->to);
	*out = z;
	return 0;
}
