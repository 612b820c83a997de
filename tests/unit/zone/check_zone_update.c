/* check_zone_update.c: zone versions (zone_update.c). Every version made by
 * an update is compared, node by node and index by index, with a zone
 * built from scratch out of the same records: the update must give exactly
 * what a load of the changed file gives. Versions share what did not
 * change, the base of an update never changes, and a version held by a
 * reader stays whole while newer ones are made and released. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "unit.h"
#include "zone/zone.h"

#define ORIGIN "up.test."
#define MAXRR 4096

/* A zone's records as text, the test's own account of what a version holds. */
struct rrlist {
	size_t n;
	char *v[MAXRR + 1];
};

static void rl_add(struct rrlist *l, const char *rr)
{
	ck_assert_uint_lt(l->n, MAXRR);
	l->v[l->n++] = strdup(rr);
	l->v[l->n] = NULL;
}

static void rl_del(struct rrlist *l, const char *rr)
{
	for (size_t i = 0; i < l->n; i++) {
		if (!strcmp(l->v[i], rr)) {
			free(l->v[i]);
			l->v[i] = l->v[--l->n];
			l->v[l->n] = NULL;
			return;
		}
	}
	ck_abort_msg("test bug: %s not in the list", rr);
}

static void rl_copy(struct rrlist *dst, const struct rrlist *src)
{
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++)
		rl_add(dst, src->v[i]);
}

static void rl_free(struct rrlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

/* One change through zone_update_change, the record given as text. */
static enum zb_result change(struct zone_update *u, bool remove, const char *text, char *msg,
			     size_t msgsize)
{
	ldns_rdf *org = ldns_dname_new_frm_str(ORIGIN);
	ldns_rr *rr = NULL;
	ck_assert_int_eq(ldns_rr_new_frm_str(&rr, text, 3600, org, NULL), LDNS_STATUS_OK);
	ldns_buffer *buf = ldns_buffer_new(65536);
	ck_assert_int_eq(ldns_rr_rdata2buffer_wire(buf, rr), LDNS_STATUS_OK);
	enum zb_result r = zone_update_change(
		u, remove, ldns_rdf_data(ldns_rr_owner(rr)), (uint16_t)ldns_rr_get_type(rr),
		(uint16_t)ldns_rr_get_class(rr), ldns_rr_ttl(rr), ldns_buffer_begin(buf),
		(uint16_t)ldns_buffer_position(buf), msg, msgsize);
	ldns_buffer_free(buf);
	ldns_rr_free(rr);
	ldns_rdf_deep_free(org);
	return r;
}

/* Records of an RRset, sorted: order within a set carries no meaning. */
static int cmp_rec(const void *a, const void *b)
{
	const uint8_t *x = *(const uint8_t *const *)a, *y = *(const uint8_t *const *)b;
	size_t lx = RR_FIXED_LEN + (size_t)(x[8] << 8 | x[9]);
	size_t ly = RR_FIXED_LEN + (size_t)(y[8] << 8 | y[9]);
	int c = memcmp(x, y, lx < ly ? lx : ly);
	return c ? c : (lx > ly) - (lx < ly);
}

static void same_records(const uint8_t *a, const uint8_t *b, size_t count, size_t len,
			 const char *what)
{
	const uint8_t *va[512], *vb[512];
	ck_assert_uint_le(count, 512);
	const uint8_t *pa = a, *pb = b;
	for (size_t i = 0; i < count; i++) {
		va[i] = pa;
		vb[i] = pb;
		pa += RR_FIXED_LEN + (size_t)(pa[8] << 8 | pa[9]);
		pb += RR_FIXED_LEN + (size_t)(pb[8] << 8 | pb[9]);
	}
	ck_assert_msg((size_t)(pa - a) == len && (size_t)(pb - b) == len, "%s: lengths", what);
	qsort(va, count, sizeof(*va), cmp_rec);
	qsort(vb, count, sizeof(*vb), cmp_rec);
	for (size_t i = 0; i < count; i++)
		ck_assert_msg(cmp_rec(&va[i], &vb[i]) == 0, "%s: record %zu differs", what, i);
}

static void same_node(const struct node *n, const struct node *m)
{
	char nb[DNAME_STR_MAX];
	const char *name = dname_to_str(n->name, nb, sizeof(nb));
	ck_assert_msg(m != NULL, "%s missing", name);
	ck_assert_msg(n->children == m->children, "%s: %u children, want %u", name, n->children,
		      m->children);
	ck_assert_msg((n->flags & ~NODE_OWN) == (m->flags & ~NODE_OWN), "%s: flags %u, want %u",
		      name, n->flags, m->flags);
	ck_assert_msg(!n->wildcard == !m->wildcard, "%s: wildcard child", name);
	if (n->wildcard)
		ck_assert(dname_equal(n->wildcard->name, m->wildcard->name));
	ck_assert_msg(n->nrrsets == m->nrrsets, "%s: %u RRsets, want %u", name, n->nrrsets,
		      m->nrrsets);
	for (uint16_t i = 0; i < n->nrrsets; i++) {
		const struct rrset *x = &n->rrsets[i], *y = &m->rrsets[i];
		ck_assert_uint_eq(x->type, y->type);
		ck_assert_uint_eq(x->count, y->count);
		ck_assert_uint_eq(x->ttl, y->ttl);
		ck_assert_uint_eq(x->sig_count, y->sig_count);
		ck_assert_uint_eq(x->sig_len, y->sig_len);
		same_records(x->wire, y->wire, x->count, x->wire_len, name);
		same_records(x->wire + x->wire_len, y->wire + y->wire_len, x->sig_count, x->sig_len,
			     name);
	}
	ck_assert_uint_eq(n->nglue, m->nglue);
	for (uint16_t i = 0; i < n->nglue; i++) {
		bool found = false;
		for (uint16_t k = 0; k < m->nglue; k++)
			found |= dname_equal(n->glue[i].name, m->glue[k].name) &&
				 n->glue[i].in_domain == m->glue[k].in_domain;
		ck_assert_msg(found, "%s: glue %u", name, i);
	}
}

/* `z` (a version) holds what `want` (built from scratch) holds. */
static void same_zone(const struct zone *z, const struct zone *want)
{
	ck_assert_uint_eq(z->nnodes, want->nnodes);
	ck_assert_uint_eq(z->nrecords, want->nrecords);
	ck_assert_uint_eq(z->nblockers, want->nblockers);
	ck_assert_uint_eq(z->nrrsigs, want->nrrsigs);
	ck_assert_uint_eq(z->serial, want->serial);
	ck_assert_uint_eq(z->neg_soa.ttl, want->neg_soa.ttl);
	ck_assert_mem_eq(z->neg_soa.wire, want->neg_soa.wire, want->neg_soa.wire_len);
	size_t seen = 0;
	for (size_t i = 0; i <= want->mask; i++) {
		const struct node *m = zone_slot_at(want, i)->node;
		if (!m)
			continue;
		seen++;
		same_node(zone_find(z, m->name, m->name_len, m->hash), m);
	}
	ck_assert_uint_eq(seen, want->nnodes);
	ck_assert(zone_find(z, z->apex, z->apex_len, dname_hash(z->apex, z->apex_len)) ==
		  z->apex_node);
	/* the NSEC index: the same owners in the same order */
	ck_assert_uint_eq(z->nsec.n, want->nsec.n);
	if (want->nsec.n) {
		struct zvec_pos p = zvec_first(&z->nsec), q = zvec_first(&want->nsec);
		for (size_t i = 0; i < want->nsec.n; i++) {
			const struct node *a = *(const struct node *const *)zvec_at(&z->nsec, p);
			const struct node *b = *(const struct node *const *)zvec_at(&want->nsec, q);
			ck_assert(dname_equal(a->name, b->name));
			ck_assert_ptr_eq(a, zone_find(z, a->name, a->name_len, a->hash));
			ck_assert_int_eq(zvec_next(&z->nsec, &p), zvec_next(&want->nsec, &q));
		}
	}
	/* the NSEC3 chain */
	ck_assert(!z->nsec3 == !want->nsec3);
	if (want->nsec3) {
		const struct zvec *a = &z->nsec3->v, *b = &want->nsec3->v;
		ck_assert_uint_eq(a->n, b->n);
		struct zvec_pos p = zvec_first(a), q = zvec_first(b);
		for (size_t i = 0; i < b->n; i++) {
			const struct nsec3_entry *x = zvec_at(a, p), *y = zvec_at(b, q);
			ck_assert_mem_eq(x->hash, y->hash, NSEC3_HASH_LEN);
			ck_assert_ptr_eq(x->node, zone_find(z, x->node->name, x->node->name_len,
							    x->node->hash));
			zvec_next(a, &p);
			zvec_next(b, &q);
		}
	}
}

static void same_as_built(const struct zone *z, const struct rrlist *l)
{
	struct zone *want = ut_zone(ORIGIN, (const char *const *)l->v);
	same_zone(z, want);
	zone_free(want);
}

static const char *const BASE[] = {
	"@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300",
	"@ 3600 NS ns1",
	"ns1 3600 A 192.0.2.1",
	"www 3600 A 192.0.2.80",
	"www 3600 AAAA 2001:db8::80",
	"*.w 3600 TXT \"wild\"",
	"sub 3600 NS ns.sub",
	"sub 3600 NS ns1",
	"ns.sub 3600 A 192.0.2.53",
	"a.b.c 3600 A 192.0.2.9",
	NULL,
};

static void load_base(struct rrlist *l, size_t hosts)
{
	l->n = 0;
	for (size_t i = 0; BASE[i]; i++)
		rl_add(l, BASE[i]);
	char rr[128];
	for (size_t i = 0; i < hosts; i++) {
		snprintf(rr, sizeof(rr), "h%zu 3600 A 10.0.%zu.%zu", i, i / 256, i % 256);
		rl_add(l, rr);
	}
}

/* Apply `dels` then `adds` to `base`, and to the list. */
static struct zone *apply(struct zone *base, struct rrlist *l, const char *const *dels,
			  const char *const *adds)
{
	char msg[512] = "";
	struct zone_update *u = zone_update_begin(base);
	ck_assert_ptr_nonnull(u);
	for (size_t i = 0; dels && dels[i]; i++) {
		ck_assert_msg(change(u, true, dels[i], msg, sizeof(msg)) != ZB_ERROR, "%s: %s",
			      dels[i], msg);
		rl_del(l, dels[i]);
	}
	for (size_t i = 0; adds && adds[i]; i++) {
		ck_assert_msg(change(u, false, adds[i], msg, sizeof(msg)) != ZB_ERROR, "%s: %s",
			      adds[i], msg);
		rl_add(l, adds[i]);
	}
	struct zone *z = zone_update_commit(u, msg, sizeof(msg));
	ck_assert_msg(z != NULL, "commit: %s", msg);
	return z;
}

START_TEST(small_change_shares_the_rest)
{
	struct rrlist l = {0}, l0 = {0};
	load_base(&l, 2000);
	rl_copy(&l0, &l);
	struct zone *v1 = ut_zone(ORIGIN, (const char *const *)l.v);
	const char *dels[] = {"h7 3600 A 10.0.0.7", "@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300", NULL};
	const char *adds[] = {"h7 3600 A 10.9.9.7", "@ 3600 SOA ns1 hostmaster 2 7200 3600 1209600 300", NULL};
	struct zone *v2 = apply(v1, &l, dels, adds);
	same_as_built(v2, &l);
	same_as_built(v1, &l0); /* the base is untouched */
	ck_assert_uint_eq(v2->serial, 2);
	ck_assert_uint_eq(v1->serial, 1);
	/* unchanged nodes are the same objects; the changed ones are new */
	size_t shared = 0, own = 0;
	for (size_t i = 0; i <= v2->mask; i++) {
		const struct node *n = zone_slot_at(v2, i)->node;
		if (!n)
			continue;
		const struct node *o = zone_find(v1, n->name, n->name_len, n->hash);
		if (n == o)
			shared++;
		else
			own++;
	}
	ck_assert_uint_eq(own, 2); /* h7 and the apex */
	ck_assert_uint_eq(shared, v2->nnodes - 2);
	/* pages: only those holding h7 and the apex were copied */
	size_t copied = 0;
	for (size_t p = 0; p < (v2->mask + 1) / ZONE_PAGE_SLOTS; p++)
		copied += v2->pages[p] != v1->pages[p];
	ck_assert_uint_le(copied, 2);
	ck_assert_uint_ge(copied, 1);
	ck_assert_uint_eq(zone_versions_alive(v1), 2);
	zone_free(v1);
	ck_assert_uint_eq(zone_versions_alive(v2), 1);
	same_as_built(v2, &l);
	/* a change deep down makes one node: its ancestors stay */
	const char *dels3[] = {"a.b.c 3600 A 192.0.2.9", NULL};
	const char *adds3[] = {"a.b.c 3600 A 192.0.2.10", NULL};
	struct zone *v3 = apply(v2, &l, dels3, adds3);
	same_as_built(v3, &l);
	own = 0;
	for (size_t i = 0; i <= v3->mask; i++) {
		const struct node *n = zone_slot_at(v3, i)->node;
		own += n && n != zone_find(v2, n->name, n->name_len, n->hash);
	}
	ck_assert_uint_eq(own, 1);
	ck_assert_ptr_eq(v3->apex_node, v2->apex_node);
	zone_free(v2);
	zone_free(v3);
	rl_free(&l);
	rl_free(&l0);
}
END_TEST

START_TEST(names_come_and_go)
{
	struct rrlist l = {0};
	load_base(&l, 10);
	struct zone *v = ut_zone(ORIGIN, (const char *const *)l.v);
	struct {
		const char *dels[4], *adds[4];
	} steps[] = {
		/* a deep new name: two empty non-terminals appear */
		{{NULL}, {"x.y.z 3600 A 192.0.2.10", NULL}},
		/* and go again with it */
		{{"x.y.z 3600 A 192.0.2.10", NULL}, {NULL}},
		/* the only record of a.b.c goes: b.c and c with it */
		{{"a.b.c 3600 A 192.0.2.9", NULL}, {NULL}},
		/* a wildcard appears, its parent learns it */
		{{NULL}, {"*.new 3600 A 192.0.2.11", NULL}},
		/* the old one goes, the empty non-terminal w with it */
		{{"*.w 3600 TXT \"wild\"", NULL}, {NULL}},
		/* an empty non-terminal gets data, a name gets a child */
		{{NULL}, {"new 3600 TXT \"now\"", "q.www 3600 A 192.0.2.12", NULL}},
		/* a name loses its data but keeps its child: now an ENT */
		{{"www 3600 A 192.0.2.80", "www 3600 AAAA 2001:db8::80", NULL}, {NULL}},
		/* a delegation appears over existing names */
		{{NULL}, {"new 3600 NS ns.other.", NULL}},
		/* a DNAME */
		{{NULL}, {"dn 3600 DNAME elsewhere.", NULL}},
		/* the glue of sub changes address; ns1 loses its */
		{{"ns.sub 3600 A 192.0.2.53", NULL}, {"ns.sub 3600 A 192.0.2.54", NULL}},
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct zone *nv = apply(v, &l, steps[i].dels, steps[i].adds);
		same_as_built(nv, &l);
		zone_free(v);
		v = nv;
	}
	ck_assert_ptr_null(ut_node(v, "y.z." ORIGIN));
	ck_assert_ptr_null(ut_node(v, "c." ORIGIN));
	ck_assert_ptr_null(ut_node(v, "w." ORIGIN));
	ck_assert_ptr_nonnull(ut_node(v, "new." ORIGIN)->wildcard);
	/* the new cut decides for the names that were under it */
	ck_assert_ptr_eq(ut_above(v, "*.new." ORIGIN), ut_node(v, "new." ORIGIN));
	ck_assert_ptr_eq(ut_above(v, "x.*.new." ORIGIN), ut_node(v, "new." ORIGIN));
	ck_assert_int_ne(ut_node(v, "dn." ORIGIN)->flags & NODE_DNAME, 0);
	ck_assert_uint_eq(zone_versions_alive(v), 1);
	zone_free(v);
	rl_free(&l);
}
END_TEST

START_TEST(inconsistent_changes_are_refused)
{
	struct rrlist l = {0};
	load_base(&l, 3);
	struct zone *v1 = ut_zone(ORIGIN, (const char *const *)l.v);
	char msg[512];
	struct zone_update *u = zone_update_begin(v1);
	ck_assert_int_eq(change(u, true, "nothere 3600 A 192.0.2.1", msg, sizeof(msg)), ZB_ERROR);
	ck_assert_str_eq(msg, "the record to delete is not in the zone");
	ck_assert_int_eq(change(u, false, "www 3600 A 192.0.2.80", msg, sizeof(msg)), ZB_ERROR);
	ck_assert_str_eq(msg, "the record to add is in the zone already");
	ck_assert_int_eq(change(u, false, "www 3600 CNAME ns1", msg, sizeof(msg)), ZB_ERROR);
	ck_assert_int_eq(change(u, false, "out.of.zone. 3600 A 192.0.2.1", msg, sizeof(msg)),
			 ZB_ERROR);
	ck_assert_int_eq(change(u, false, "@ 3600 SOA a b 9 1 1 1 1", msg, sizeof(msg)), ZB_ERROR);
	ck_assert_str_eq(msg, "more than one SOA record at the apex");
	/* names in rdata match without case (RFC 4034 §6.2) */
	ck_assert_int_eq(change(u, true, "sub 3600 NS NS.SUB", msg, sizeof(msg)), ZB_OK);
	zone_update_abort(u);
	/* the apex must keep its SOA */
	u = zone_update_begin(v1);
	ck_assert_int_eq(change(u, true, "@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300", msg,
				sizeof(msg)),
			 ZB_OK);
	ck_assert_int_eq(change(u, false, "fresh 3600 A 192.0.2.2", msg, sizeof(msg)), ZB_OK);
	ck_assert_ptr_null(zone_update_commit(u, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "the zone apex would have no SOA record");
	/* nothing changed, and the next update works */
	same_as_built(v1, &l);
	ck_assert_uint_eq(zone_versions_alive(v1), 1);
	const char *adds[] = {"fresh 3600 A 192.0.2.2", NULL};
	struct zone *v2 = apply(v1, &l, NULL, adds);
	same_as_built(v2, &l);
	zone_free(v1);
	zone_free(v2);
	rl_free(&l);
}
END_TEST

START_TEST(readers_keep_their_version)
{
	struct rrlist l = {0}, first = {0};
	load_base(&l, 100);
	rl_copy(&first, &l);
	struct zone *v[6];
	v[0] = ut_zone(ORIGIN, (const char *const *)l.v);
	zone_ref(v[0]); /* a transfer reading the first version */
	char del[64], add[64];
	for (int i = 1; i < 6; i++) {
		snprintf(del, sizeof(del), "h%d 3600 A 10.0.0.%d", i, i);
		snprintf(add, sizeof(add), "h%d 3600 A 10.1.0.%d", i, i);
		const char *dels[] = {del, NULL}, *adds[] = {add, NULL};
		v[i] = apply(v[i - 1], &l, dels, adds);
		zone_ref(v[i]);
		if (i >= 2)
			zone_unref(v[i - 1]); /* published, then replaced */
	}
	/* v1..v4 are released but wait for v0, which a reader holds */
	ck_assert_uint_eq(zone_versions_alive(v[5]), 6);
	same_as_built(v[0], &first);
	same_as_built(v[5], &l);
	zone_unref(v[0]);
	ck_assert_uint_eq(zone_versions_alive(v[5]), 1);
	same_as_built(v[5], &l);
	zone_unref(v[5]);
	rl_free(&l);
	rl_free(&first);
}
END_TEST

/* A signed-looking zone: NSEC3 owners of the apex's parameters, NSEC at
 * other names; random changes, each version checked against a fresh
 * build, all versions kept and checked again at the end. */
static void random_record(unsigned r, char *out, size_t size)
{
	static const char b32[] = "0123456789abcdefghijklmnopqrstuv";
	char label[33];
	switch (r % 5) {
	case 0:
		snprintf(out, size, "n%u 3600 A 10.2.%u.%u", r % 97, (r / 97) % 4, r % 250);
		break;
	case 1:
		snprintf(out, size, "n%u 300 NSEC n%u." ORIGIN " A RRSIG NSEC", r % 97, r % 97 + 1);
		break;
	case 2:
		for (int i = 0; i < 32; i++)
			label[i] = b32[(r * 7 + (unsigned)i * 13 + (unsigned)i * r) % 32];
		label[32] = 0;
		snprintf(out, size,
			 "%s 300 NSEC3 1 0 0 - 0123456789abcdefghijklmnopqrstuv A RRSIG", label);
		break;
	case 3:
		snprintf(out, size, "d%u.e%u 3600 TXT \"t%u\"", r % 13, r % 5, r % 3);
		break;
	default:
		snprintf(out, size, "*.n%u 3600 A 10.3.0.%u", r % 11, r % 7);
		break;
	}
}

START_TEST(random_changes_match_fresh_builds)
{
	struct rrlist l = {0};
	load_base(&l, 50);
	rl_add(&l, "@ 300 NSEC3PARAM 1 0 0 -");
	rl_add(&l, "@ 300 NSEC ns1." ORIGIN " SOA NS RRSIG NSEC NSEC3PARAM");
	enum { STEPS = 60 };
	struct zone *v[STEPS + 1];
	struct rrlist kept[STEPS + 1];
	memset(kept, 0, sizeof(kept));
	v[0] = ut_zone(ORIGIN, (const char *const *)l.v);
	rl_copy(&kept[0], &l);
	unsigned seed = 12345;
	char msg[512], rr[256];
	for (int s = 1; s <= STEPS; s++) {
		struct zone_update *u = zone_update_begin(v[s - 1]);
		for (int k = 0; k < 1 + s % 7; k++) {
			seed = seed * 1103515245u + 12345u;
			random_record(seed >> 8, rr, sizeof(rr));
			bool have = false;
			for (size_t i = 0; i < l.n; i++)
				have |= !strcmp(l.v[i], rr);
			if (have) {
				ck_assert_msg(change(u, true, rr, msg, sizeof(msg)) == ZB_OK, "%s: %s", rr,
					      msg);
				rl_del(&l, rr);
			} else if (change(u, false, rr, msg, sizeof(msg)) == ZB_OK) {
				rl_add(&l, rr);
			}
		}
		v[s] = zone_update_commit(u, msg, sizeof(msg));
		ck_assert_msg(v[s] != NULL, "step %d: %s", s, msg);
		same_as_built(v[s], &l);
		rl_copy(&kept[s], &l);
	}
	ck_assert_ptr_nonnull(v[STEPS]->nsec3);
	ck_assert_uint_gt(v[STEPS]->nsec.n, 1);
	for (int s = 0; s <= STEPS; s++)
		same_as_built(v[s], &kept[s]);
	/* released in a scrambled order; each check still passes for those
	 * alive */
	for (int s = 0; s <= STEPS; s++) {
		int i = (s * 37) % (STEPS + 1);
		zone_free(v[i]);
		v[i] = NULL;
		if (s % 20 == 0)
			for (int k = 0; k <= STEPS; k++)
				if (v[k])
					same_as_built(v[k], &kept[k]);
	}
	for (int s = 0; s <= STEPS; s++)
		rl_free(&kept[s]);
	rl_free(&l);
}
END_TEST

START_TEST(nsec3param_change_rebuilds_the_chain)
{
	struct rrlist l = {0};
	load_base(&l, 5);
	rl_add(&l, "@ 300 NSEC3PARAM 1 0 0 -");
	rl_add(&l, "0123456789abcdefghijklmnopqrstuv 300 NSEC3 1 0 0 - 0123456789abcdefghijklmnopqrstuv A");
	rl_add(&l, "1123456789abcdefghijklmnopqrstuv 300 NSEC3 1 0 5 aabb 0123456789abcdefghijklmnopqrstuv A");
	struct zone *v1 = ut_zone(ORIGIN, (const char *const *)l.v);
	ck_assert_uint_eq(v1->nsec3->v.n, 1);
	const char *dels[] = {"@ 300 NSEC3PARAM 1 0 0 -", NULL};
	const char *adds[] = {"@ 300 NSEC3PARAM 1 0 5 aabb", NULL};
	struct zone *v2 = apply(v1, &l, dels, adds);
	same_as_built(v2, &l);
	ck_assert_uint_eq(v2->nsec3->v.n, 1);
	ck_assert_uint_eq(v2->nsec3->iterations, 5);
	ck_assert_uint_eq(v1->nsec3->iterations, 0);
	zone_free(v1);
	zone_free(v2);
	rl_free(&l);
}
END_TEST

/* A zone holding two denial chains (NSEC beside an NSEC3PARAM, a signer
 * moving between them) updated by IXFR: zone_dnssec_check on the new
 * version, as xfrin runs it before publishing, must leave the chain it
 * shares with the version still served alone (ASan saw that version's
 * NSEC3 chunks freed under a reader). */
START_TEST(dnssec_check_of_an_update_keeps_shared_chains)
{
	/* a complete NSEC chain (@ -> ns1 -> @) and an NSEC3 one */
	struct rrlist l = {0};
	rl_add(&l, "@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300");
	rl_add(&l, "@ 3600 NS ns1");
	rl_add(&l, "@ 300 NSEC3PARAM 1 0 0 -");
	rl_add(&l, "@ 300 NSEC ns1." ORIGIN " SOA NS NSEC NSEC3PARAM");
	rl_add(&l, "ns1 3600 A 192.0.2.1");
	rl_add(&l, "ns1 300 NSEC " ORIGIN " A NSEC");
	rl_add(&l, "0123456789abcdefghijklmnopqrstuv 300 NSEC3 1 0 0 - 0123456789abcdefghijklmnopqrstuv A");
	struct zone *v1 = ut_zone(ORIGIN, (const char *const *)l.v);
	ck_assert_ptr_nonnull(v1->nsec3);
	size_t entries = v1->nsec3->v.n;
	zone_ref(v1); /* published: the workers read it */
	const char *dels[] = {"ns1 3600 A 192.0.2.1", NULL};
	const char *adds[] = {"ns1 3600 A 192.0.2.2", NULL};
	struct zone *v2 = apply(v1, &l, dels, adds);
	ck_assert_uint_gt(zone_dnssec_check(v2, time(NULL), 3600, NULL, NULL), 0);
	/* the served version's chain, read as a worker would */
	ck_assert_uint_eq(v1->nsec3->v.n, entries);
	uint8_t h[NSEC3_HASH_LEN] = {0};
	bool match;
	ck_assert_ptr_nonnull(zone_nsec3_find(v1, h, &match));
	/* and the new version keeps the chain the update built */
	ck_assert_ptr_nonnull(v2->nsec3);
	zone_free(v2);
	zone_unref(v1);
	rl_free(&l);
}
END_TEST

/* A zone of two names (a catalog member's: SOA, two NS, two A) starts
 * with the smallest table, one page of ZONE_TABLE_MIN slots; updates that
 * add names double it again and again, past one full page (512 slots) to
 * several, and take names away again. Every version reads as a fresh
 * build of its records, also the older ones, held all along. */
START_TEST(small_table_grows_by_updates)
{
	static const char *const member[] = {
		"@ 3600 SOA ns1.cat.test. hostmaster.cat.test. 1 3600 600 86400 3600",
		"@ 3600 NS ns1.cat.test.",
		"@ 3600 NS ns2.cat.test.",
		"@ 3600 A 192.0.2.1",
		"www 3600 A 192.0.2.2",
		NULL,
	};
	/* names in the zone after each step (added, then taken away) */
	static const size_t total[] = {3, 5, 9, 17, 40, 200, 300, 700, 1500, 600, 2};
	enum { STEPS = sizeof(total) / sizeof(total[0]) };
	struct rrlist l = {0};
	struct rrlist kept[STEPS + 1];
	struct zone *v[STEPS + 1];
	memset(kept, 0, sizeof(kept));
	for (size_t i = 0; member[i]; i++)
		rl_add(&l, member[i]);
	v[0] = ut_zone(ORIGIN, (const char *const *)l.v);
	ck_assert_uint_eq(v[0]->nnodes, 2);
	ck_assert_uint_eq(v[0]->mask + 1, ZONE_TABLE_MIN);
	rl_copy(&kept[0], &l);
	zone_ref(v[0]);
	size_t names = 2, grew = 0;
	char soa_del[128], soa_add[128];
	for (size_t s = 1; s <= STEPS; s++) {
		size_t want = total[s - 1];
		char **adds = calloc(want + 2, sizeof(*adds)), **dels = calloc(names + 2, sizeof(*dels));
		size_t na = 0, nd = 0;
		ck_assert_ptr_nonnull(adds);
		ck_assert_ptr_nonnull(dels);
		/* an IXFR's shape: the SOA out and in, then the changes */
		snprintf(soa_del, sizeof(soa_del),
			 "@ 3600 SOA ns1.cat.test. hostmaster.cat.test. %zu 3600 600 86400 3600", s);
		snprintf(soa_add, sizeof(soa_add),
			 "@ 3600 SOA ns1.cat.test. hostmaster.cat.test. %zu 3600 600 86400 3600",
			 s + 1);
		dels[nd++] = soa_del;
		adds[na++] = soa_add;
		for (; names < want; names++) {
			adds[na] = malloc(64);
			snprintf(adds[na++], 64, "h%zu 3600 A 10.%zu.%zu.1", names, names / 256,
				 names % 256);
		}
		for (; names > want; names--) {
			dels[nd] = malloc(64);
			snprintf(dels[nd++], 64, "h%zu 3600 A 10.%zu.%zu.1", names - 1,
				 (names - 1) / 256, (names - 1) % 256);
		}
		size_t before = v[s - 1]->mask + 1;
		v[s] = apply(v[s - 1], &l, (const char *const *)dels, (const char *const *)adds);
		zone_ref(v[s]);
		for (size_t i = 1; i < na; i++)
			free(adds[i]);
		for (size_t i = 1; i < nd; i++)
			free(dels[i]);
		free(adds);
		free(dels);
		ck_assert_uint_eq(v[s]->nnodes, want);
		ck_assert_uint_le(2 * v[s]->nnodes, v[s]->mask + 1); /* at most half full */
		ck_assert_uint_ge(v[s]->mask + 1, before);	     /* an update never shrinks it */
		grew += v[s]->mask + 1 > before;
		same_as_built(v[s], &l);
		rl_copy(&kept[s], &l);
	}
	ck_assert_uint_ge(grew, 6);
	ck_assert_uint_ge(v[STEPS]->mask + 1, 4 * ZONE_PAGE_SLOTS);
	ck_assert_uint_eq(zone_versions_alive(v[STEPS]), STEPS + 1);
	for (size_t s = 0; s <= STEPS; s++)
		same_as_built(v[s], &kept[s]);
	/* released out of order: each left still reads the same */
	for (size_t k = 0; k <= STEPS; k++) {
		size_t i = (k * 5) % (STEPS + 1);
		zone_unref(v[i]);
		v[i] = NULL;
		for (size_t s = 0; s <= STEPS; s++)
			if (v[s])
				same_as_built(v[s], &kept[s]);
	}
	for (size_t s = 0; s <= STEPS; s++)
		rl_free(&kept[s]);
	rl_free(&l);
}
END_TEST

/* The NSEC3 hash label (base32hex, lowercase) of `name` with SHA-1. */
static void n3_label(const char *name, unsigned iter, const char *salt_hex, char out[64])
{
	uint8_t salt[255];
	uint8_t salt_len = 0;
	if (strcmp(salt_hex, "-") != 0)
		for (; salt_hex[2 * salt_len]; salt_len++)
			ck_assert_int_eq(sscanf(salt_hex + 2 * salt_len, "%2hhx", &salt[salt_len]),
					 1);
	ldns_rdf *dn = ldns_dname_new_frm_str(name);
	ck_assert_ptr_nonnull(dn);
	ldns_rdf *h = ldns_nsec3_hash_name(dn, 1, (uint16_t)iter, salt_len, salt);
	ck_assert_ptr_nonnull(h);
	char *t = ldns_rdf2str(h);
	snprintf(out, 64, "%.*s", (int)strcspn(t, "."), t);
	for (char *c = out; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	free(t);
	ldns_rdf_deep_free(h);
	ldns_rdf_deep_free(dn);
}

static const char *const N3_NAMES[] = {ORIGIN, "www." ORIGIN, "ns1." ORIGIN};
enum { N3_COUNT = sizeof(N3_NAMES) / sizeof(N3_NAMES[0]) };

/* The NSEC3 records of N3_NAMES with these parameters, into `out` (the
 * next hashed owner is not checked here). */
static void n3_records(unsigned iter, const char *salt_hex, char out[N3_COUNT][256])
{
	char label[64];
	for (size_t i = 0; i < N3_COUNT; i++) {
		n3_label(N3_NAMES[i], iter, salt_hex, label);
		snprintf(out[i], 256, "%s 300 NSEC3 1 0 %u %s 0123456789abcdefghijklmnopqrstuv A",
			 label, iter, salt_hex);
	}
}

/* Each name hashes, with the version's own chain parameters, to the
 * NSEC3 of these parameters that the version holds. */
static void hashes_match(const struct zone *z, unsigned iter, const char *salt_hex,
			 uint8_t salt_len)
{
	ck_assert_ptr_nonnull(z->nsec3);
	ck_assert_uint_eq(z->nsec3->iterations, iter);
	ck_assert_uint_eq(z->nsec3->salt_len, salt_len);
	/* the salt is the apex's NSEC3PARAM's (struct nsec3_chain) */
	const struct rrset *param = node_rrset(z->apex_node, RRTYPE_NSEC3PARAM);
	ck_assert_ptr_nonnull(param);
	ck_assert(z->nsec3->salt >= param->wire &&
		  z->nsec3->salt + salt_len <= param->wire + param->wire_len);
	for (size_t i = 0; i < N3_COUNT; i++) {
		uint8_t w[DNAME_MAX], lc[DNAME_MAX], h[NSEC3_HASH_LEN];
		char label[64], got[DNAME_STR_MAX];
		size_t len = ut_name(N3_NAMES[i], w);
		dname_lower(lc, w, len);
		zone_nsec3_hash(z, lc, h);
		bool match = false;
		const struct node *n = zone_nsec3_find(z, h, &match);
		n3_label(N3_NAMES[i], iter, salt_hex, label);
		ck_assert_msg(match, "%s: no NSEC3 of its hash", N3_NAMES[i]);
		dname_to_str(n->name, got, sizeof(got));
		ck_assert_msg(!strncmp(got, label, strlen(label)), "%s: %s, want %s", N3_NAMES[i],
			      got, label);
	}
}

/* A chain's salt lives in the apex node's NSEC3PARAM. Versions made by
 * updates have apex nodes of their own (every IXFR changes the SOA), freed
 * with the version; so a new salt (the parameters changed), then SOA
 * changes that keep it, each version read while older ones are held and
 * after they are released (under ASan, a salt left pointing into a freed
 * apex is caught here). */
START_TEST(nsec3_salt_changes_while_older_versions_are_held)
{
	struct rrlist l = {0};
	char a[N3_COUNT][256], b[N3_COUNT][256];
	load_base(&l, 3);
	rl_add(&l, "@ 300 NSEC3PARAM 1 0 5 aabbcc");
	n3_records(5, "aabbcc", a);
	n3_records(2, "d00dfeed42", b);
	for (size_t i = 0; i < N3_COUNT; i++)
		rl_add(&l, a[i]);
	struct zone *v[5];
	v[0] = ut_zone(ORIGIN, (const char *const *)l.v);
	zone_ref(v[0]);
	hashes_match(v[0], 5, "aabbcc", 3);
	/* the new parameters and their chain, the old chain still there */
	const char *dels1[] = {"@ 300 NSEC3PARAM 1 0 5 aabbcc",
			       "@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300", NULL};
	const char *adds1[] = {"@ 300 NSEC3PARAM 1 0 2 d00dfeed42",
			       "@ 3600 SOA ns1 hostmaster 2 7200 3600 1209600 300",
			       b[0], b[1], b[2], NULL};
	v[1] = apply(v[0], &l, dels1, adds1);
	zone_ref(v[1]);
	hashes_match(v[1], 2, "d00dfeed42", 5);
	/* the old chain goes; then the SOA alone, twice: new apex nodes,
	 * the same NSEC3PARAM */
	const char *dels2[] = {"@ 3600 SOA ns1 hostmaster 2 7200 3600 1209600 300",
			       a[0], a[1], a[2], NULL};
	const char *adds2[] = {"@ 3600 SOA ns1 hostmaster 3 7200 3600 1209600 300", NULL};
	v[2] = apply(v[1], &l, dels2, adds2);
	zone_ref(v[2]);
	const char *dels3[] = {"@ 3600 SOA ns1 hostmaster 3 7200 3600 1209600 300", NULL};
	const char *adds3[] = {"@ 3600 SOA ns1 hostmaster 4 7200 3600 1209600 300",
			       "new 3600 A 192.0.2.77", NULL};
	v[3] = apply(v[2], &l, dels3, adds3);
	zone_ref(v[3]);
	const char *dels4[] = {"@ 3600 SOA ns1 hostmaster 4 7200 3600 1209600 300", NULL};
	const char *adds4[] = {"@ 3600 SOA ns1 hostmaster 5 7200 3600 1209600 300", NULL};
	v[4] = apply(v[3], &l, dels4, adds4);
	zone_ref(v[4]);
	same_as_built(v[4], &l);
	for (int i = 1; i <= 4; i++) {
		ck_assert_ptr_ne(v[i]->apex_node, v[i - 1]->apex_node);
		hashes_match(v[i], 2, "d00dfeed42", 5);
	}
	hashes_match(v[0], 5, "aabbcc", 3); /* the oldest, held, keeps its own */
	/* released oldest first: each one's apex node goes with it */
	for (int i = 0; i < 4; i++) {
		zone_unref(v[i]);
		for (int k = i + 1; k <= 4; k++)
			hashes_match(v[k], 2, "d00dfeed42", 5);
	}
	ck_assert_uint_eq(zone_versions_alive(v[4]), 1);
	/* and a version made after that still finds the salt */
	const char *dels5[] = {"@ 3600 SOA ns1 hostmaster 5 7200 3600 1209600 300", NULL};
	const char *adds5[] = {"@ 3600 SOA ns1 hostmaster 6 7200 3600 1209600 300", NULL};
	struct zone *v5 = apply(v[4], &l, dels5, adds5);
	zone_unref(v[4]);
	hashes_match(v5, 2, "d00dfeed42", 5);
	same_as_built(v5, &l);
	zone_free(v5);
	rl_free(&l);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("zone_update");
	TCase *tc = tcase_create("versions");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, small_change_shares_the_rest);
	tcase_add_test(tc, names_come_and_go);
	tcase_add_test(tc, inconsistent_changes_are_refused);
	tcase_add_test(tc, readers_keep_their_version);
	tcase_add_test(tc, random_changes_match_fresh_builds);
	tcase_add_test(tc, nsec3param_change_rebuilds_the_chain);
	tcase_add_test(tc, small_table_grows_by_updates);
	tcase_add_test(tc, nsec3_salt_changes_while_older_versions_are_held);
	tcase_add_test(tc, dnssec_check_of_an_update_keeps_shared_chains);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
