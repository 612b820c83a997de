/* answer.c: from a query to an authoritative answer. */
#include "answer/answer.h"

#include <stddef.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "guard/cookie.h"
#include "dns/response.h"
#include "zone/zone.h"

/* NSEC records in one negative answer: the covering one, the wildcard's,
 * and one more for a chain's last link (RFC 4035 §3.1.3). */
#define PROOFS_MAX 4

struct actx {
	const struct answer_cfg *cfg;
	const struct zonedb *db;
	const struct query *q;
	const struct answer_warm *warm; /* NULL, or answer_warm_zone's for q */
	struct resp *r;
	uint8_t rcode;
	uint8_t kind;	 /* enum answer_kind, for rate limiting */
	bool not_ours;	 /* REFUSED: no zone of ours holds the name */
	uint64_t kname;	 /* the name it is keyed on, for the kinds not keyed on the question */
	/* the name being answered: the question, then CNAME/DNAME targets */
	const uint8_t *name;
	const struct dname_split *split;
	bool is_qname;
	/* DNSSEC denial (DO=1 in a signed zone): the closest encloser whose
	 * wildcard is answering, if one is; whether a NODATA proof was given;
	 * how many of proved[] (below, not zeroed) are in the authority
	 * section already, each NSEC going out once. */
	const struct node *wild_ce;
	const struct zone *zone; /* the zone being answered from */
	const struct zone *auth; /* the zone of the question, when authoritative */
	bool denied;
	uint8_t nproved;
	/* A CNAME or DNAME target being followed. Left uninitialized by
	 * answer_query (1.2 KiB that most answers never touch: zeroing them
	 * was ~10% of the instructions spent per query). */
	uint8_t buf[DNAME_PADDED];
	struct dname_split buf_split;
	const struct node *proved[PROOFS_MAX];
};

/* Owner for a record at the current name (a pointer to the question when it
 * is the question) or at an ancestor of it `up` labels above. */
static struct owner owner_at(const struct actx *a, const uint8_t *lname, unsigned labels)
{
	if (a->is_qname && labels <= a->q->split.labels)
		return owner_qname_suffix(a->q, a->q->split.labels - labels);
	return (struct owner){.ptr = 0, .name = lname};
}

static struct owner owner_cur(const struct actx *a)
{
	if (a->is_qname)
		return owner_qname();
	return (struct owner){.ptr = 0, .name = a->name};
}

/* The RRSIGs stored behind `rs` (zone.h), as an RRset of their own. */
static struct rrset sigs_of(const struct rrset *rs)
{
	return (struct rrset){.type = RRTYPE_RRSIG,
			      .count = rs->sig_count,
			      .ttl = rs->ttl,
			      .wire_len = rs->sig_len,
			      .wire = rs->wire + rs->wire_len};
}

/* Answer, authority: an RRset that does not fit means TC (RFC 2181 §9);
 * with DO=1 so does one whose RRSIGs do not fit (RFC 4035 §3.1.1). */
static bool put_or_tc(struct actx *a, enum resp_section sec, struct owner o,
		      const struct rrset *rs)
{
	if (resp_put_rrset(a->r, sec, o, rs) == 0) {
		if (__builtin_expect(!a->q->edns_do || !rs->sig_count, 1))
			return true;
		struct rrset sigs = sigs_of(rs);
		if (resp_put_rrset(a->r, sec, o, &sigs) == 0)
			return true;
	}
	resp_set_tc(a->r);
	return false;
}

/* NODATA and NXDOMAIN: the zone's SOA with the RFC 2308 §3 TTL. */
static void negative(struct actx *a, const struct zone *z, uint8_t rcode)
{
	a->rcode = rcode;
	if (rcode == RCODE_NXDOMAIN) {
		/* Random names under one zone are one flood (RRL). */
		a->kind = ANSWER_NXDOMAIN;
		a->kname = z->apex_node->hash;
	} else {
		a->kind = ANSWER_NODATA;
	}
	put_or_tc(a, SEC_AUTHORITY, owner_at(a, z->apex, z->apex_labels), &z->neg_soa);
}

/* ---- denial of existence (RFC 4035 §3.1.3, RFC 5155 §7.2) ---- */

/* Whether this answer carries proofs: DO=1 and a zone with an NSEC chain
 * or an NSEC3 chain (which wins when both are there). */
static bool proving(const struct actx *a, const struct zone *z)
{
	return a->q->edns_do && (z->nsec.n || z->nsec3);
}

/* The NSEC or NSEC3 (`type`) owned by `n`, with its RRSIGs, into the
 * authority section, once per answer. */
static void put_proof(struct actx *a, const struct node *n, uint16_t type)
{
	const struct rrset *rs = n ? node_rrset(n, type) : NULL;
	if (!rs)
		return;
	for (unsigned i = 0; i < a->nproved; i++)
		if (a->proved[i] == n)
			return;
	if (a->nproved < PROOFS_MAX)
		a->proved[a->nproved++] = n;
	put_or_tc(a, SEC_AUTHORITY, (struct owner){.ptr = 0, .name = n->name}, rs);
}

/* The suffix of the current name with `labels` labels. */
static const uint8_t *suffix(const struct actx *a, unsigned labels)
{
	return a->name + a->split->off[a->split->labels - labels];
}

/* NSEC: the one that covers `name` (or matches it). */
static void prove_name(struct actx *a, const struct zone *z, const uint8_t *name)
{
	put_proof(a, zone_nsec_find(z, name), RRTYPE_NSEC);
}

/* The NSEC3 hash of `n`'s name (or of `*.n` when `wild`) computed when
 * the node was built, or NULL when it was not (hashed per query then). */
static const uint8_t *n3_hash(const struct zone *z, const struct node *n, bool wild)
{
	const struct node_n3 *h = n->n3;
	if (!h || h->tag != z->nsec3->tag)
		return NULL;
	return wild ? h->wild : h->own;
}

/* NSEC3: the one matching `name` (when `match`; nothing when none does),
 * or the one covering its hash; `hash`, when not NULL, is name's hash.
 * \return whether one was put */
static bool nsec3_put(struct actx *a, const struct zone *z, const uint8_t *name, bool match,
		      const uint8_t *hash)
{
	uint8_t h[NSEC3_HASH_LEN];
	bool matched;
	if (!hash) {
		zone_nsec3_hash(z, name, h);
		hash = h;
	}
	const struct node *n = zone_nsec3_find(z, hash, &matched);
	if (match && !matched)
		return false;
	put_proof(a, n, RRTYPE_NSEC3);
	return true;
}

/* NSEC3, the closest encloser proof (RFC 5155 §7.2.1): the NSEC3 matching
 * the closest encloser `ce` and the one covering the next closer name
 * (the one name hashed per query). */
static void nsec3_ce_proof(struct actx *a, const struct zone *z, const struct node *ce)
{
	nsec3_put(a, z, suffix(a, ce->labels), true, n3_hash(z, ce, false));
	nsec3_put(a, z, suffix(a, ce->labels + 1u), false, NULL);
}

/* NSEC3, no data at node `n` (a suffix of the current name): its matching
 * NSEC3 (§7.2.3, §7.2.5 at a cut); when it has none (an empty
 * non-terminal or a cut inside an opt-out span), the closest provable
 * encloser proof, whose covering NSEC3 has the opt-out flag (§7.2.4,
 * §7.2.7). */
static void nsec3_nodata(struct actx *a, const struct zone *z, const struct node *n)
{
	unsigned labels = n->labels;
	if (nsec3_put(a, z, suffix(a, labels), true, n3_hash(z, n, false)))
		return;
	for (unsigned k = labels; k-- > z->apex_labels;) {
		if (nsec3_put(a, z, suffix(a, k), true, NULL)) {
			nsec3_put(a, z, suffix(a, k + 1), false, NULL);
			return;
		}
	}
}

/* No wildcard at the closest encloser `ce`: the NSEC covering *.ce, or
 * the NSEC3 covering it. */
static void prove_no_wildcard(struct actx *a, const struct zone *z, const struct node *ce)
{
	uint8_t w[DNAME_MAX];
	if ((size_t)ce->name_len + 2 > DNAME_MAX)
		return; /* no such name can exist */
	w[0] = 1;
	w[1] = '*';
	memcpy(w + 2, ce->name, ce->name_len);
	if (z->nsec3)
		nsec3_put(a, z, w, false, n3_hash(z, ce, true));
	else
		prove_name(a, z, w);
}

/* NXDOMAIN below the closest encloser `ce`: no such name, no wildcard to
 * stand for it (RFC 4035 §3.1.3.2; RFC 5155 §7.2.2). */
static void deny_name(struct actx *a, const struct zone *z, const struct node *ce)
{
	if (z->nsec3)
		nsec3_ce_proof(a, z, ce);
	else
		prove_name(a, z, a->name);
	prove_no_wildcard(a, z, ce);
}

/* NODATA at node `n` (the name's own, or the wildcard's). NSEC: the NSEC
 * at the name shows its types (§3.1.3.1); an empty non-terminal has none,
 * and the NSEC before it, whose next name lies below it, shows it exists;
 * through a wildcard, the wildcard's NSEC and the one covering the name,
 * proving no closer match (§3.1.3.4). NSEC3: the matching NSEC3 (§7.2.3);
 * through a wildcard, the closest encloser proof and the NSEC3 matching
 * the wildcard (§7.2.5). */
static void deny_nodata(struct actx *a, const struct zone *z, const struct node *n)
{
	a->denied = true;
	if (z->nsec3) {
		if (a->wild_ce) {
			nsec3_ce_proof(a, z, a->wild_ce);
			nsec3_put(a, z, n->name, true, n3_hash(z, n, false));
		} else {
			nsec3_nodata(a, z, n);
		}
		return;
	}
	if (node_rrset(n, RRTYPE_NSEC))
		put_proof(a, n, RRTYPE_NSEC);
	if (a->wild_ce || !node_rrset(n, RRTYPE_NSEC))
		prove_name(a, z, a->name);
}

/* A wildcard's expansion: no closer match. NSEC: the one covering the
 * name (§3.1.3.3); NSEC3: the one covering the next closer name (§7.2.6). */
static void prove_expansion(struct actx *a, const struct zone *z, const struct node *ce)
{
	if (z->nsec3)
		nsec3_put(a, z, suffix(a, ce->labels + 1u), false, NULL);
	else
		prove_name(a, z, a->name);
}

static void referral(struct actx *a, const struct node *cut)
{
	a->kind = ANSWER_REFERRAL;
	a->kname = cut->hash;
	struct owner co = owner_at(a, cut->name, cut->labels);
	if (!put_or_tc(a, SEC_AUTHORITY, co, node_rrset(cut, RRTYPE_NS)))
		return;
	/* A secure delegation: the DS set and its RRSIGs (RFC 4035 §3.1.4),
	 * the parent's own data at the cut; an insecure one: the NSEC at the
	 * cut, whose type bitmap shows no DS (§3.1.4.1). */
	if (a->q->edns_do) {
		const struct rrset *ds = node_rrset(cut, RRTYPE_DS);
		if (ds && !put_or_tc(a, SEC_AUTHORITY, co, ds))
			return;
		const struct zone *z = a->zone;
		if (!ds && z->nsec3)
			nsec3_nodata(a, z, cut);
		else if (!ds)
			put_proof(a, cut, RRTYPE_NSEC);
		if (resp_tc(a->r))
			return;
	}
	for (uint16_t i = 0; i < cut->nglue; i++) {
		const struct glue *g = &cut->glue[i];
		struct owner o = {.ptr = 0, .name = g->name};
		/* The name server's addresses in this version (looked up here,
		 * not kept at the cut: a version that changes them shares the
		 * cut's node). */
		const struct node *gn = zone_find(a->zone, g->name, g->name_len, g->hash);
		const struct rrset *ga = gn ? node_rrset(gn, RRTYPE_A) : NULL;
		const struct rrset *gaaaa = gn ? node_rrset(gn, RRTYPE_AAAA) : NULL;
		/* RFC 9471 §3: glue under the cut is required, so a referral
		 * without room for it is truncated; other glue is optional. */
		if (ga && resp_put_rrset(a->r, SEC_ADDITIONAL, o, ga) < 0 && g->in_domain) {
			resp_set_tc(a->r);
			return;
		}
		if (gaaaa && resp_put_rrset(a->r, SEC_ADDITIONAL, o, gaaaa) < 0 &&
		    g->in_domain) {
			resp_set_tc(a->r);
			return;
		}
	}
}

/* Move the current name to `target` (an uncompressed wire name, any case). */
static void set_name(struct actx *a, const uint8_t *target, size_t len)
{
	dname_lower_split(a->buf, target, len, &a->buf_split);
	a->name = a->buf;
	a->split = &a->buf_split;
	a->is_qname = false;
}

/* Answer from node `n` at the current name (an exact match, or the wildcard
 * that stands for it, RFC 4592 §3.3.1). Returns the CNAME target to follow,
 * or NULL when the answer is complete. */
static const uint8_t *answer_node(struct actx *a, const struct zone *z, const struct node *n)
{
	uint16_t qtype = a->q->qtype;
	struct owner o = owner_cur(a);

	if (qtype == RRTYPE_ANY) {
		if (n->nrrsets == 0) {
			negative(a, z, RCODE_NOERROR);
			if (proving(a, z))
				deny_nodata(a, z, n);
			return NULL;
		}
		/* RFC 8482 §4.1: over UDP one RRset, always the same one (the
		 * lowest type) so caches see a stable answer; TCP gets all. */
		uint16_t cnt = a->q->tcp ? n->nrrsets : 1;
		for (uint16_t i = 0; i < cnt; i++) {
			/* with DO=1 each set brings its own RRSIGs: the RRSIG
			 * set would give every one twice */
			if (n->rrsets[i].type == RRTYPE_RRSIG && a->q->edns_do && n->nrrsets > 1)
				continue;
			if (!put_or_tc(a, SEC_ANSWER, o, &n->rrsets[i]))
				break;
		}
		return NULL;
	}
	/* RFC 1034 §4.3.2 3a follows a CNAME for any other type; but RRSIG
	 * and NSEC live beside a CNAME (RFC 2181 §10.1, RFC 4035 §2.5): they
	 * are the alias's own, answered from its node (or NODATA when it has
	 * none), as BIND and Knot do. */
	if ((n->flags & NODE_CNAME) && qtype != RRTYPE_CNAME && qtype != RRTYPE_RRSIG &&
	    qtype != RRTYPE_NSEC) {
		const struct rrset *cn = node_rrset(n, RRTYPE_CNAME);
		if (!put_or_tc(a, SEC_ANSWER, o, cn))
			return NULL;
		return cn->wire + RR_FIXED_LEN;
	}
	const struct rrset *rs = node_rrset(n, qtype);
	if (rs) {
		put_or_tc(a, SEC_ANSWER, o, rs);
	} else {
		negative(a, z, RCODE_NOERROR);
		if (proving(a, z))
			deny_nodata(a, z, n);
	}
	return NULL;
}

/* RFC 6672 §3.1: the DNAME, then a CNAME from the current name to the
 * name with the DNAME owner's suffix replaced by its target. Returns the
 * new name to follow, or NULL. */
static const uint8_t *synthesize_dname(struct actx *a, const struct node *d, uint8_t *out)
{
	const struct rrset *dn = node_rrset(d, RRTYPE_DNAME);
	if (!put_or_tc(a, SEC_ANSWER, owner_at(a, d->name, d->labels), dn))
		return NULL;
	const uint8_t *target = dn->wire + RR_FIXED_LEN;
	uint16_t rdlen = (uint16_t)(dn->wire[8] << 8 | dn->wire[9]);
	size_t tlen = dname_wire_len(target, rdlen);
	size_t prefix = a->split->off[a->split->labels - d->labels];
	if (!tlen)
		return NULL;
	if (prefix + tlen > DNAME_MAX) {
		a->rcode = RCODE_YXDOMAIN; /* §2.2: the result would be too long */
		return NULL;
	}
	/* The prefix keeps the client's case when it is the question. */
	memcpy(out, a->is_qname ? a->q->qname : a->name, prefix);
	memcpy(out + prefix, target, tlen);
	if (resp_put_cname(a->r, owner_cur(a), dn->ttl, out) < 0) {
		resp_set_tc(a->r);
		return NULL;
	}
	return out;
}

static void answer_in(struct actx *a)
{
	const struct query *q = a->q;
	const struct zone *z = NULL;
	uint64_t visited[CHAIN_MAX]; /* hashes of the names answered so far */
	unsigned nvisited = 0;
	uint8_t synth[DNAME_MAX];

	a->name = q->lname;
	a->split = &q->split;
	a->is_qname = true;
	/* RFC 4035 §3.1.4.1: DS lives on the parent side of a cut; when we
	 * serve the parent, it answers, as Knot and BIND do. */
	if (q->qtype == RRTYPE_DS && q->split.labels > 0)
		z = zonedb_find(a->db, a->split, a->name, 1);
	if (!z)
		z = a->warm ? a->warm->z : zonedb_find(a->db, a->split, a->name, 0);
	if (!z) {
		a->rcode = RCODE_REFUSED; /* not ours: say so, give nothing */
		a->not_ours = true;
		return;
	}
	if (__builtin_expect(atomic_load_explicit(&z->expired, memory_order_relaxed), 0)) {
		/* a secondary zone past its EXPIRE, or never transferred
		 * (RFC 1034 §4.3.5: no longer authoritative for it) */
		a->rcode = RCODE_SERVFAIL;
		return;
	}
	a->auth = z;
	resp_set_aa(a->r, true);

	for (unsigned step = 0; step < CHAIN_MAX; step++) {
		bool exact;
		const struct node *n = zone_lookup(z, a->name, a->split, &exact);
		const uint8_t *next = NULL;
		/* An NSEC3 owner name, or a name below one, is answered as if
		 * it did not exist (RFC 5155 §7.2.8). */
		while (__builtin_expect(n->flags & NODE_NSEC3, 0) && n != z->apex_node) {
			n = zone_parent(z, a->name, a->split, n);
			exact = false;
		}
		a->zone = z;

		/* A name seen before means a CNAME or DNAME loop (through a
		 * wildcard, too): stop with what we have. Names, not nodes: a
		 * wildcard stands for many names. A 64-bit hash collision would
		 * only end a chain early. */
		for (unsigned i = 0; i < nvisited; i++)
			if (visited[i] == a->split->hash[0])
				return;
		visited[nvisited++] = a->split->hash[0];

		/* A zone cut or DNAME above the name (or at the closest encloser,
		 * for a name below it) decides before anything under it. */
		const struct node *blk = zone_above(z, a->name, a->split, n);
		if (!blk && !exact && (n->flags & (NODE_CUT | NODE_DNAME)))
			blk = n;
		if (!blk && exact && (n->flags & NODE_CUT) && q->qtype != RRTYPE_DS)
			blk = n;
		if (blk && (blk->flags & NODE_CUT)) {
			/* RFC 1034 §4.3.2 3b: a referral. Not authoritative,
			 * unless answer data above came from our zones. */
			if (a->r->count[SEC_ANSWER] == 0)
				resp_set_aa(a->r, false);
			referral(a, blk);
			return;
		}
		if (blk) {
			next = synthesize_dname(a, blk, synth);
			/* The synthesized CNAME is a CNAME at the name: it answers a
			 * CNAME question itself (RFC 1034 §4.3.2 3a follows a CNAME
			 * only for other types), as Knot and BIND do. */
			if (q->qtype == RRTYPE_CNAME)
				return;
		} else if (exact) {
			next = answer_node(a, z, n);
		} else if (n->wildcard) {
			a->wild_ce = n;
			next = answer_node(a, z, n->wildcard);
			/* The expansion's proof: no closer match; a wildcard
			 * NODATA gave its own. */
			if (proving(a, z) && !a->denied)
				prove_expansion(a, z, n);
			a->wild_ce = NULL;
			/* Every name the wildcard covers is one flood (RRL):
			 * keyed on its closest encloser; it stays so through a
			 * CNAME chain, unless the chain ends in NXDOMAIN. */
			a->kind = ANSWER_WILDCARD;
			a->kname = n->hash;
		} else {
			negative(a, z, RCODE_NXDOMAIN);
			if (proving(a, z))
				deny_name(a, z, n);
			return;
		}
		if (!next || resp_tc(a->r))
			return;
		/* Follow the CNAME (RFC 1034 §4.3.2 3a) into whichever of our
		 * zones holds the target; a target outside them ends here. */
		size_t len = dname_wire_len(next, DNAME_MAX);
		if (!len)
			return;
		set_name(a, next, len);
		a->rcode = RCODE_NOERROR;
		z = zonedb_find(a->db, a->split, a->name, 0);
		if (!z || atomic_load_explicit(&z->expired, memory_order_relaxed))
			return;
	}
}

/* RFC 7314 §3-4: the EXPIRE an answer carries: what is left of a
 * secondary's expiry, or a primary's SOA EXPIRE. \return false when
 * there is none to give */
static bool expire_value(const struct zone *z, uint8_t v[4])
{
	int64_t at = atomic_load_explicit(&z->expire_at, memory_order_relaxed);
	uint32_t left;
	if (at) {
		int64_t d = at - (int64_t)time(NULL);
		left = d < 0 ? 0 : d > INT32_MAX ? INT32_MAX : (uint32_t)d;
	} else {
		const uint8_t *w = z->soa->wire;
		size_t rdlen = (size_t)(w[8] << 8 | w[9]);
		const uint8_t *rd = w + RR_FIXED_LEN;
		size_t m = dname_wire_len(rd, rdlen);
		size_t n = m ? dname_wire_len(rd + m, rdlen - m) : 0;
		if (!m || !n || m + n + 20 > rdlen)
			return false;
		memcpy(v, rd + m + n + 12, 4);
		return true;
	}
	v[0] = (uint8_t)(left >> 24);
	v[1] = (uint8_t)(left >> 16);
	v[2] = (uint8_t)(left >> 8);
	v[3] = (uint8_t)left;
	return true;
}

static bool name_is(const uint8_t *lname, const char *wire)
{
	return strcmp((const char *)lname, wire) == 0;
}

/* CHAOS class TXT: the server describing itself (RFC 4892). */
static void answer_chaos(struct actx *a)
{
	const struct query *q = a->q;
	const char *text = NULL;
	bool known = false;
	if (name_is(q->lname, "\7version\4bind") || name_is(q->lname, "\7version\6server")) {
		text = a->cfg->version;
		known = true;
	} else if (name_is(q->lname, "\2id\6server") || name_is(q->lname, "\10hostname\4bind")) {
		text = a->cfg->identity;
		known = true;
	}
	if (!known || !text) {
		a->rcode = RCODE_REFUSED;
		return;
	}
	resp_set_aa(a->r, true);
	if (q->qtype == RRTYPE_TXT || q->qtype == RRTYPE_ANY) {
		if (resp_put_chaos_txt(a->r, text) < 0)
			resp_set_tc(a->r);
	}
}

void answer_warm_zone(const struct zonedb *db, const struct query *q, enum query_status st,
		      struct answer_warm *w)
{
	w->z = NULL;
	w->n = NULL;
	if (st != QUERY_OK || !q->has_question ||
	    (q->qclass != RRCLASS_IN && q->qclass != RRCLASS_ANY))
		return;
	w->z = zonedb_find(db, &q->split, q->lname, 0);
	if (w->z)
		zone_prefetch_slot(w->z, q->split.hash[0]);
}

void answer_warm_node(const struct query *q, struct answer_warm *w)
{
	if (w->z)
		w->n = zone_prefetch_node(w->z, q->split.hash[0]);
}

void answer_warm_data(const struct answer_warm *w)
{
	if (w->n)
		zone_prefetch_rrsets(w->n);
}

size_t answer_query(const struct answer_cfg *cfg, const struct zonedb *db, const struct query *q,
		    enum query_status st, uint8_t *buf, size_t bufsize, struct answer_info *info)
{
	return answer_query_warm(cfg, db, q, st, NULL, buf, bufsize, info);
}

size_t answer_query_warm(const struct answer_cfg *cfg, const struct zonedb *db,
			 const struct query *q, enum query_status st,
			 const struct answer_warm *warm, uint8_t *buf, size_t bufsize,
			 struct answer_info *info)
{
	struct resp r;
	struct actx a;
	memset(&a, 0, offsetof(struct actx, buf));
	a.cfg = cfg;
	a.db = db;
	a.q = q;
	a.warm = warm;
	a.r = &r;
	a.rcode = RCODE_NOERROR;
	size_t limit;
	/* RFC 6891 §7: an OPT in the reply when the query had one; a
	 * FORMERR only when the OPT was not what was wrong (else a client
	 * would take it for a server without EDNS, as Knot's reply shows
	 * for a bad COOKIE length). */
	bool opt = q->edns && (st != QUERY_FORMERR || q->formerr_opt);
	bool nsid = opt && q->edns_nsid && cfg->nsid;
	uint8_t cookie[QUERY_COOKIE_MAX];
	size_t cookie_len = 0;
	bool cookie_ok = false;

	if (st == QUERY_DROP)
		return 0;
	if (q->tcp) {
		limit = bufsize;
	} else if (q->edns) {
		/* RFC 6891 §6.2.5: below 512 means 512; above ours means ours. */
		limit = q->edns_size < DNS_UDP_MIN ? DNS_UDP_MIN : q->edns_size;
		if (limit > cfg->edns_size)
			limit = cfg->edns_size;
	} else {
		limit = DNS_UDP_MIN;
	}
	if (limit > bufsize)
		limit = bufsize;
	if (limit > UINT16_MAX)
		limit = UINT16_MAX;
	if (opt && q->cookie_len && cfg->cookies && q->addr) {
		/* RFC 7873 §5.2.3-5.2.4: a missing or bad server cookie is
		 * answered normally, with a fresh one; a good young one is
		 * echoed (RFC 9018 §4.3). */
		const struct cookie_keys *k = cookie_keys_current();
		if (k)
			cookie_len = cookie_answer(cookie, q->cookie, q->cookie_len, q->addr,
						   (uint32_t)time(NULL), k, &cookie_ok);
	}
	size_t opt_len = opt ? resp_opt_size(cfg->nsid_len, nsid, cookie_len) : 0;
	/* RFC 7314: room for an EXPIRE, kept only when asked for */
	if (__builtin_expect(opt && q->edns_expire, 0))
		opt_len += RESP_EXPIRE_LEN;
	limit -= opt_len;

	resp_init(&r, buf, limit, q);
	switch (st) {
	case QUERY_FORMERR:
		a.rcode = RCODE_FORMERR;
		break;
	case QUERY_NOTIMP:
	case QUERY_NOTIFY: /* answered by xfr/serve.c; NOTIMP where it is not */
		a.rcode = RCODE_NOTIMP;
		break;
	case QUERY_BADVERS:
		a.rcode = RCODE_BADVERS;
		break;
	case QUERY_BADKEY:
		a.rcode = RCODE_NOTAUTH;
		break;
	default:
		if (!q->has_question) {
			/* RFC 7873 §5.4: QDCOUNT 0 with a COOKIE asks for a server
			 * cookie: NOERROR with one, BADCOOKIE when the server cookie
			 * sent was not good. Without cookies it is malformed. */
			if (cookie_len == 0)
				a.rcode = RCODE_FORMERR;
			else if (q->cookie_len > QUERY_CLIENT_COOKIE_LEN && !cookie_ok)
				a.rcode = RCODE_BADCOOKIE;
		} else if (q->qclass == RRCLASS_CH) {
			answer_chaos(&a);
		} else if (q->qclass != RRCLASS_IN && q->qclass != RRCLASS_ANY) {
			a.rcode = RCODE_REFUSED;
		} else if (q->qtype == RRTYPE_AXFR || q->qtype == RRTYPE_IXFR) {
			a.rcode = RCODE_REFUSED; /* zone transfers are not offered */
		} else if (q->qtype == RRTYPE_MAILA || q->qtype == RRTYPE_MAILB) {
			a.rcode = RCODE_NOTIMP; /* obsolete meta types (RFC 2505 §6) */
		} else {
			answer_in(&a);
		}
		break;
	}
	resp_set_rcode(&r, (uint8_t)(a.rcode & 0x0f));
	if (opt) {
		r.limit += opt_len;
		/* RFC 8914 §4.21: a name outside our zones is "Not
		 * Authoritative", as Knot and NSD say (when it fits: it
		 * always does after a REFUSED's empty sections). */
		int ede = -1;
		if (a.not_ours && r.len + opt_len + RESP_EDE_LEN <= r.limit) {
			ede = EDE_NOT_AUTHORITATIVE;
			r.limit += RESP_EDE_LEN;
			opt_len += RESP_EDE_LEN;
		}
		size_t opt_at = r.len;
		resp_put_opt(&r, cfg->edns_size, (uint8_t)(a.rcode >> 4), q->edns_do,
			     nsid ? cfg->nsid : NULL, cfg->nsid_len, cookie, cookie_len, ede);
		if (__builtin_expect(q->edns_expire, 0)) {
			uint8_t v[4];
			if (a.auth && expire_value(a.auth, v))
				resp_opt_add(&r, opt_at, EDNS_OPT_EXPIRE, v, 4);
			else
				opt_len -= RESP_EXPIRE_LEN;
		}
	}
	/* RFC 8945 §5.2.2: an unsigned TSIG with the error, last; when it
	 * does not fit (long names, 512 octets) TC sends the client to TCP. */
	size_t tail_len = 0;
	if (__builtin_expect(st == QUERY_BADKEY, 0)) {
		size_t before = r.len;
		if (resp_put_tsig_error(&r, q, TSIG_ERROR_BADKEY) < 0)
			resp_set_tc(&r);
		tail_len = r.len - before;
	}
	if (info) {
		info->rcode = a.rcode;
		info->tc = resp_tc(&r);
		info->aa = (buf[2] & 0x04) != 0;
		info->cookie_ok = cookie_ok;
		info->opt_len = (uint16_t)opt_len;
		info->tail_len = (uint16_t)tail_len;
		/* As found; answer_kind() completes them, only when asked. */
		info->kind = a.kind;
		info->name = a.kname;
	}
	return resp_finish(&r);
}

enum answer_kind answer_kind(const struct query *q, const struct answer_info *info,
			     uint64_t *name)
{
	if ((info->rcode != RCODE_NOERROR && info->rcode != RCODE_NXDOMAIN) || !q->has_question) {
		*name = 0; /* one key per network, whatever the name */
		return ANSWER_ERROR;
	}
	*name = info->kind <= ANSWER_NODATA ? q->split.hash[0] : info->name;
	return (enum answer_kind)info->kind;
}

size_t answer_slip(const struct query *q, const struct answer_info *info, uint8_t *buf,
		   size_t len)
{
	size_t qend = DNS_HEADER_LEN + (q->has_question ? q->qname_len + 4u : 0u);
	size_t opt = info->opt_len;
	/* The OPT is the last record written but for an error's TSIG, which
	 * goes; the header and question stay where they are, so the OPT
	 * moves down over the sections. */
	memmove(buf + qend, buf + len - info->tail_len - opt, opt);
	buf[2] |= 0x02; /* TC: ask again over TCP (RFC 1035 §4.2.1) */
	memset(buf + 6, 0, 6);
	buf[11] = opt ? 1 : 0;
	return qend + opt;
}
