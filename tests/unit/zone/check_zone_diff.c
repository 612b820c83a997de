/* check_zone_diff.c: the difference of two zone versions (zone_diff.c).
 *
 * A changeset is read back record by record with ldns and compared, as
 * sorted canonical text, with the test's own account of what changed:
 * records added and removed, a TTL change as both, names coming and
 * going, names in rdata differing only in case as no change, a re-signed
 * zone (every RRSIG), the changes of a zone_update (and the diff walking
 * only what the update touched). changeset_apply of a diff to the old
 * version gives a version equal, record for record, to the new one; a
 * changeset for another serial, an inconsistent one and a malformed one
 * are refused. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "unit.h"
#include "zone/zone.h"
#include "zone/zone_diff.h"

#define ORIGIN "diff.test."
#define MAXRR 60000

/* ---- the test's account of records, as text ---- */

struct rrlist {
	size_t n;
	char **v; /* NULL-terminated */
};

static void rl_add(struct rrlist *l, const char *rr)
{
	if (!l->v)
		l->v = calloc(MAXRR + 1, sizeof(*l->v));
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

static void rl_free(struct rrlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static const char *const *rl(const struct rrlist *l)
{
	return (const char *const *)l->v;
}

static const char *const BASE[] = {
	"@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300",
	"@ 3600 NS ns1",
	"@ 3600 NS ns2.other.test.",
	"@ 3600 MX 10 mail",
	"ns1 3600 A 192.0.2.1",
	"mail 3600 A 192.0.2.25",
	"www 3600 A 192.0.2.80",
	"www 3600 A 192.0.2.81",
	"www 3600 AAAA 2001:db8::80",
	"alias 300 CNAME www",
	"*.w 3600 TXT \"wild\"",
	"sub 3600 NS ns.sub",
	"sub 3600 NS ns1",
	"ns.sub 3600 A 192.0.2.53",
	"a.b.c 3600 TXT \"deep\"",
	NULL,
};

static void load_base(struct rrlist *l, size_t hosts, uint32_t serial)
{
	char rr[160];
	for (size_t i = 0; BASE[i]; i++) {
		if (i == 0) {
			snprintf(rr, sizeof(rr), "@ 3600 SOA ns1 hostmaster %u 7200 3600 1209600 300",
				 serial);
			rl_add(l, rr);
		} else {
			rl_add(l, BASE[i]);
		}
	}
	for (size_t i = 0; i < hosts; i++) {
		snprintf(rr, sizeof(rr), "h%zu 3600 A 10.%zu.%zu.%zu", i, i >> 16, (i >> 8) & 255,
			 i & 255);
		rl_add(l, rr);
	}
}

/* ---- records as canonical text ---- */

static char *canon_rr(ldns_rr *rr)
{
	ldns_rr2canonical(rr);
	char *s = ldns_rr2str(rr);
	ck_assert_ptr_nonnull(s);
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = 0;
	return s;
}

static char *canon_text(const char *text)
{
	ldns_rdf *org = ldns_dname_new_frm_str(ORIGIN);
	ldns_rr *rr = NULL;
	ck_assert_msg(ldns_rr_new_frm_str(&rr, text, 3600, org, NULL) == LDNS_STATUS_OK, "%s", text);
	char *s = canon_rr(rr);
	ldns_rr_free(rr);
	ldns_rdf_deep_free(org);
	return s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct strs {
	size_t n;
	char **v;
};

static void strs_push(struct strs *s, char *str)
{
	s->v = realloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = str;
}

static void strs_free(struct strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* A changeset read with ldns: its SOAs and its two lists, sorted. */
struct view {
	char *old_soa, *new_soa;
	struct strs removed, added;
};

static void view_read(const struct changeset *cs, struct view *v)
{
	memset(v, 0, sizeof(*v));
	ck_assert_int_eq(changeset_check(cs, NULL, 0), 0);
	size_t pos = 0, k = 0;
	while (pos < cs->len) {
		ldns_rr *rr = NULL;
		ck_assert_int_eq(ldns_wire2rr(&rr, cs->wire, cs->len, &pos, LDNS_SECTION_ANSWER),
				 LDNS_STATUS_OK);
		char *s = canon_rr(rr);
		ldns_rr_free(rr);
		if (k == 0)
			v->old_soa = s;
		else if (k <= cs->nremoved)
			strs_push(&v->removed, s);
		else if (k == cs->nremoved + 1)
			v->new_soa = s;
		else
			strs_push(&v->added, s);
		k++;
	}
	ck_assert_uint_eq(k, (size_t)cs->nremoved + cs->nadded + 2);
	/* the iterator agrees with ldns on where records end */
	struct changeset_rr r;
	size_t p2 = 0, k2 = 0;
	while (changeset_next_rr(cs, &p2, &r) > 0)
		k2++;
	ck_assert_uint_eq(k2, k);
	ck_assert_uint_eq(p2, cs->len);
	if (v->removed.n)
		qsort(v->removed.v, v->removed.n, sizeof(char *), cmp_str);
	if (v->added.n)
		qsort(v->added.v, v->added.n, sizeof(char *), cmp_str);
}

static void view_free(struct view *v)
{
	free(v->old_soa);
	free(v->new_soa);
	strs_free(&v->removed);
	strs_free(&v->added);
}

static void same_list(const struct strs *got, const char *const *want, const char *what)
{
	struct strs w = {0};
	for (size_t i = 0; want && want[i]; i++)
		strs_push(&w, canon_text(want[i]));
	if (w.n)
		qsort(w.v, w.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < got->n || i < w.n; i++) {
		const char *g = i < got->n ? got->v[i] : "(none)", *x = i < w.n ? w.v[i] : "(none)";
		ck_assert_msg(!strcmp(g, x), "%s record %zu: got %s, want %s", what, i, g, x);
	}
	strs_free(&w);
}

/* diff(old, new) is exactly `removed` and `added` (SOAs apart). */
static void expect_diff(const struct zone *old, const struct zone *new, const char *const *removed,
			const char *const *added)
{
	struct changeset *cs = NULL;
	ck_assert_int_eq(zone_diff(old, new, &cs), 0);
	ck_assert_ptr_nonnull(cs);
	ck_assert_uint_eq(cs->from, old->serial);
	ck_assert_uint_eq(cs->to, new->serial);
	ck_assert_uint_eq(atomic_load(&cs->refs), 1);
	struct view v;
	view_read(cs, &v);
	ck_assert(strstr(v.old_soa, "\tSOA\t") != NULL);
	ck_assert(strstr(v.new_soa, "\tSOA\t") != NULL);
	same_list(&v.removed, removed, "removed");
	same_list(&v.added, added, "added");
	view_free(&v);
	changeset_unref(cs);
}

/* ---- zones compared record for record (as check_zone_update does) ---- */

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
	const uint8_t **va = malloc((count + 1) * sizeof(*va)), **vb = malloc((count + 1) * sizeof(*vb));
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
	free(va);
	free(vb);
}

static void same_node(const struct node *n, const struct node *m)
{
	char nb[DNAME_STR_MAX];
	const char *name = dname_to_str(m->name, nb, sizeof(nb));
	ck_assert_msg(n != NULL, "%s missing", name);
	ck_assert_msg(n->children == m->children, "%s: children", name);
	ck_assert_msg((n->flags & ~NODE_OWN) == (m->flags & ~NODE_OWN), "%s: flags", name);
	ck_assert_msg(!n->wildcard == !m->wildcard, "%s: wildcard child", name);
	ck_assert_msg(n->nrrsets == m->nrrsets, "%s: %u RRsets, want %u", name, n->nrrsets,
		      m->nrrsets);
	for (uint16_t i = 0; i < n->nrrsets; i++) {
		const struct rrset *x = &n->rrsets[i], *y = &m->rrsets[i];
		ck_assert_uint_eq(x->type, y->type);
		ck_assert_uint_eq(x->count, y->count);
		/* an RRSIG set's own TTL is its first record's, and the
		 * order of its records is the order they came in (each record's
		 * TTL is compared below) */
		if (x->type != RRTYPE_RRSIG)
			ck_assert_uint_eq(x->ttl, y->ttl);
		ck_assert_uint_eq(x->sig_count, y->sig_count);
		ck_assert_uint_eq(x->sig_len, y->sig_len);
		same_records(x->wire, y->wire, x->count, x->wire_len, name);
		same_records(x->wire + x->wire_len, y->wire + y->wire_len, x->sig_count, x->sig_len,
			     name);
	}
}

/* `z` holds what `want` holds. */
static void same_zone(const struct zone *z, const struct zone *want)
{
	ck_assert_uint_eq(z->nnodes, want->nnodes);
	ck_assert_uint_eq(z->nrecords, want->nrecords);
	ck_assert_uint_eq(z->nrrsigs, want->nrrsigs);
	ck_assert_uint_eq(z->serial, want->serial);
	size_t seen = 0;
	for (size_t i = 0; i <= want->mask; i++) {
		const struct node *m = zone_slot_at(want, i)->node;
		if (!m)
			continue;
		seen++;
		same_node(zone_find(z, m->name, m->name_len, m->hash), m);
	}
	ck_assert_uint_eq(seen, want->nnodes);
	ck_assert_uint_eq(z->nsec.n, want->nsec.n);
	ck_assert(!z->nsec3 == !want->nsec3);
	if (want->nsec3)
		ck_assert_uint_eq(z->nsec3->v.n, want->nsec3->v.n);
}

/* diff(old, new) applied to old is new; old is left as it was. */
static void round_trip(struct zone *old, const struct zone *new)
{
	struct changeset *cs = NULL;
	ck_assert_int_eq(zone_diff(old, new, &cs), 0);
	struct zone *made = NULL;
	char msg[512];
	int r = changeset_apply(old, cs, &made, msg, sizeof(msg));
	ck_assert_msg(r == 0, "apply: %d %s", r, msg);
	same_zone(made, new);
	/* and the versions have no difference left */
	struct changeset *none = NULL;
	ck_assert_int_eq(zone_diff(made, new, &none), 0);
	ck_assert_uint_eq(none->nremoved + none->nadded, 0);
	changeset_unref(none);
	changeset_unref(cs);
	zone_free(made);
}

/* One change through zone_update_change, the record given as text. */
static void change(struct zone_update *u, bool remove, const char *text)
{
	ldns_rdf *org = ldns_dname_new_frm_str(ORIGIN);
	ldns_rr *rr = NULL;
	ck_assert_int_eq(ldns_rr_new_frm_str(&rr, text, 3600, org, NULL), LDNS_STATUS_OK);
	ldns_buffer *buf = ldns_buffer_new(65536);
	ck_assert_int_eq(ldns_rr_rdata2buffer_wire(buf, rr), LDNS_STATUS_OK);
	char msg[512];
	enum zb_result r = zone_update_change(
		u, remove, ldns_rdf_data(ldns_rr_owner(rr)), (uint16_t)ldns_rr_get_type(rr),
		(uint16_t)ldns_rr_get_class(rr), ldns_rr_ttl(rr), ldns_buffer_begin(buf),
		(uint16_t)ldns_buffer_position(buf), msg, sizeof(msg));
	ck_assert_msg(r == ZB_OK, "%s: %s", text, msg);
	ldns_buffer_free(buf);
	ldns_rr_free(rr);
	ldns_rdf_deep_free(org);
}

static struct zone *update(struct zone *base, struct rrlist *l, const char *const *dels,
			   const char *const *adds)
{
	struct zone_update *u = zone_update_begin(base);
	ck_assert_ptr_nonnull(u);
	for (size_t i = 0; dels && dels[i]; i++) {
		change(u, true, dels[i]);
		rl_del(l, dels[i]);
	}
	for (size_t i = 0; adds && adds[i]; i++) {
		change(u, false, adds[i]);
		rl_add(l, adds[i]);
	}
	char msg[512];
	struct zone *z = zone_update_commit(u, msg, sizeof(msg));
	ck_assert_msg(z != NULL, "commit: %s", msg);
	return z;
}

/* ---- the cases ---- */

START_TEST(added_removed_ttl)
{
	struct rrlist a = {0}, b = {0};
	load_base(&a, 10, 1);
	load_base(&b, 10, 2);
	rl_add(&b, "new 3600 A 192.0.2.7");
	rl_add(&b, "www 3600 A 192.0.2.82");
	rl_del(&b, "www 3600 AAAA 2001:db8::80");
	rl_del(&b, "alias 300 CNAME www");
	rl_add(&b, "alias 600 CNAME www"); /* a TTL change */
	rl_del(&b, "h3 3600 A 10.0.0.3");
	struct zone *v1 = ut_zone(ORIGIN, rl(&a)), *v2 = ut_zone(ORIGIN, rl(&b));
	const char *removed[] = {"www 3600 AAAA 2001:db8::80", "alias 300 CNAME www",
				 "h3 3600 A 10.0.0.3", NULL};
	const char *added[] = {"new 3600 A 192.0.2.7", "www 3600 A 192.0.2.82",
			       "alias 600 CNAME www", NULL};
	expect_diff(v1, v2, removed, added);
	expect_diff(v2, v1, added, removed);
	/* a version against itself, and against an equal load */
	expect_diff(v1, v1, NULL, NULL);
	struct zone *v1b = ut_zone(ORIGIN, rl(&a));
	expect_diff(v1, v1b, NULL, NULL);
	round_trip(v1, v2);
	zone_free(v1b);
	zone_free(v1);
	zone_free(v2);
	rl_free(&a);
	rl_free(&b);
}
END_TEST

/* The TTL of a whole set changes: each record removed and added again. */
START_TEST(ttl_of_a_set)
{
	struct rrlist a = {0}, b = {0};
	load_base(&a, 0, 1);
	load_base(&b, 0, 2);
	rl_del(&b, "www 3600 A 192.0.2.80");
	rl_del(&b, "www 3600 A 192.0.2.81");
	rl_add(&b, "www 60 A 192.0.2.80");
	rl_add(&b, "www 60 A 192.0.2.81");
	struct zone *v1 = ut_zone(ORIGIN, rl(&a)), *v2 = ut_zone(ORIGIN, rl(&b));
	const char *removed[] = {"www 3600 A 192.0.2.80", "www 3600 A 192.0.2.81", NULL};
	const char *added[] = {"www 60 A 192.0.2.80", "www 60 A 192.0.2.81", NULL};
	expect_diff(v1, v2, removed, added);
	round_trip(v1, v2);
	zone_free(v1);
	zone_free(v2);
	rl_free(&a);
	rl_free(&b);
}
END_TEST

/* A deep name appears (with empty non-terminals, which hold no records),
 * another goes with its empty non-terminals, a delegation goes. */
START_TEST(names_come_and_go)
{
	struct rrlist a = {0}, b = {0};
	load_base(&a, 3, 1);
	load_base(&b, 3, 2);
	rl_add(&b, "x.y.z 3600 A 192.0.2.10");
	rl_add(&b, "x.y.z 3600 TXT \"new\"");
	rl_del(&b, "a.b.c 3600 TXT \"deep\"");
	rl_del(&b, "sub 3600 NS ns.sub");
	rl_del(&b, "sub 3600 NS ns1");
	rl_del(&b, "ns.sub 3600 A 192.0.2.53");
	struct zone *v1 = ut_zone(ORIGIN, rl(&a)), *v2 = ut_zone(ORIGIN, rl(&b));
	ck_assert_ptr_nonnull(ut_node(v2, "y.z." ORIGIN));
	ck_assert_ptr_null(ut_node(v2, "b.c." ORIGIN));
	const char *removed[] = {"a.b.c 3600 TXT \"deep\"", "sub 3600 NS ns.sub", "sub 3600 NS ns1",
				 "ns.sub 3600 A 192.0.2.53", NULL};
	const char *added[] = {"x.y.z 3600 A 192.0.2.10", "x.y.z 3600 TXT \"new\"", NULL};
	expect_diff(v1, v2, removed, added);
	expect_diff(v2, v1, added, removed);
	round_trip(v1, v2);
	round_trip(v2, v1);
	zone_free(v1);
	zone_free(v2);
	rl_free(&a);
	rl_free(&b);
}
END_TEST

/* Names in rdata (NS, MX, CNAME, SOA) and owners differing only in case
 * are the same records (RFC 4034 §6.2, as the zone's dedupe says); case
 * in a TXT string is a difference. */
START_TEST(case_is_no_difference)
{
	struct rrlist a = {0}, b = {0};
	load_base(&a, 0, 1);
	load_base(&b, 0, 1);
	rl_del(&b, "sub 3600 NS ns.sub");
	rl_add(&b, "sub 3600 NS NS.Sub");
	rl_del(&b, "@ 3600 MX 10 mail");
	rl_add(&b, "@ 3600 MX 10 MAIL");
	rl_del(&b, "alias 300 CNAME www");
	rl_add(&b, "ALIAS 300 CNAME WwW");
	rl_del(&b, "www 3600 A 192.0.2.80");
	rl_add(&b, "WWW 3600 A 192.0.2.80");
	struct zone *v1 = ut_zone(ORIGIN, rl(&a)), *v2 = ut_zone(ORIGIN, rl(&b));
	expect_diff(v1, v2, NULL, NULL);
	expect_diff(v2, v1, NULL, NULL);
	/* case in text is a difference; the round trip from the original */
	struct rrlist c = {0};
	load_base(&c, 0, 2);
	rl_del(&c, "a.b.c 3600 TXT \"deep\"");
	rl_add(&c, "a.b.c 3600 TXT \"DEEP\"");
	struct zone *v3 = ut_zone(ORIGIN, rl(&c));
	const char *removed[] = {"a.b.c 3600 TXT \"deep\"", NULL};
	const char *added[] = {"a.b.c 3600 TXT \"DEEP\"", NULL};
	expect_diff(v1, v3, removed, added);
	expect_diff(v2, v3, removed, added);
	round_trip(v1, v3);
	zone_free(v1);
	zone_free(v2);
	zone_free(v3);
	rl_free(&a);
	rl_free(&b);
	rl_free(&c);
}
END_TEST

/* A signed zone signed again: every RRSIG differs (new validity, new
 * signature), the rest, NSEC included, does not. The SOA's RRSIG is a
 * record of the RRSIG set like the others. */
struct signed_set {
	const char *owner, *type;
	unsigned ttl;
};

static const struct signed_set SIGNED[] = {
	{"@", "SOA", 3600},   {"@", "NS", 3600},   {"@", "MX", 3600},	{"@", "NSEC", 300},
	{"ns1", "A", 3600},   {"ns1", "NSEC", 300}, {"www", "A", 3600},	{"www", "AAAA", 3600},
	{"www", "NSEC", 300}, {"mail", "A", 3600}, {"mail", "NSEC", 300},
};

static void signed_zone(struct rrlist *l, unsigned round, struct rrlist *sigs)
{
	static const char *const recs[] = {
		"@ 3600 NS ns1",
		"@ 3600 MX 10 mail",
		"@ 300 NSEC mail." ORIGIN " NS SOA MX RRSIG NSEC",
		"ns1 3600 A 192.0.2.1",
		"ns1 300 NSEC www." ORIGIN " A RRSIG NSEC",
		"www 3600 A 192.0.2.80",
		"www 3600 AAAA 2001:db8::80",
		"www 300 NSEC " ORIGIN " A AAAA RRSIG NSEC",
		"mail 3600 A 192.0.2.25",
		"mail 300 NSEC ns1." ORIGIN " A RRSIG NSEC",
		NULL,
	};
	char rr[512];
	snprintf(rr, sizeof(rr), "@ 3600 SOA ns1 hostmaster %u 7200 3600 1209600 300", round);
	rl_add(l, rr);
	for (size_t i = 0; recs[i]; i++)
		rl_add(l, recs[i]);
	for (size_t i = 0; i < sizeof(SIGNED) / sizeof(SIGNED[0]); i++) {
		const struct signed_set *s = &SIGNED[i];
		/* base64 of digits: the round and the set in the signature */
		snprintf(rr, sizeof(rr),
			 "%s %u RRSIG %s 13 2 %u 2037%02u01000000 2026%02u01000000 4242 " ORIGIN
			 " AAAA%04u%04uBBBBCCCCDDDDEEEEFFFFGGGGHHHHIIIIJJJJKKKKLLLLMMMMNNNNOOOO",
			 s->owner, s->ttl, s->type, s->ttl, round, round, round, (unsigned)i);
		rl_add(l, rr);
		if (sigs)
			rl_add(sigs, rr);
	}
}

START_TEST(resigned_zone)
{
	struct rrlist a = {0}, b = {0}, sa = {0}, sb = {0};
	signed_zone(&a, 1, &sa);
	signed_zone(&b, 2, &sb);
	struct zone *v1 = ut_zone(ORIGIN, rl(&a)), *v2 = ut_zone(ORIGIN, rl(&b));
	ck_assert_uint_eq(v1->nrrsigs, sizeof(SIGNED) / sizeof(SIGNED[0]));
	expect_diff(v1, v2, rl(&sa), rl(&sb));
	round_trip(v1, v2);
	/* one set re-signed by an update: only its RRSIG */
	struct rrlist c = {0};
	signed_zone(&c, 1, NULL);
	const char *dels[] = {"@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300", sa.v[6], NULL};
	char fresh[512];
	snprintf(fresh, sizeof(fresh), "%s", sa.v[6]);
	memcpy(strstr(fresh, "AAAA0001"), "AAAA9999", 8);
	const char *adds[] = {"@ 3600 SOA ns1 hostmaster 2 7200 3600 1209600 300", fresh, NULL};
	struct zone *v1c = ut_zone(ORIGIN, rl(&c)); /* v1 has a newer version already */
	struct zone *v3 = update(v1c, &c, dels, adds);
	const char *r1[] = {sa.v[6], NULL}, *a1[] = {fresh, NULL};
	expect_diff(v1, v3, r1, a1);
	expect_diff(v1c, v3, r1, a1);
	zone_free(v1c);
	zone_free(v1);
	zone_free(v2);
	zone_free(v3);
	rl_free(&a);
	rl_free(&b);
	rl_free(&c);
	rl_free(&sa);
	rl_free(&sb);
}
END_TEST

/* Versions made by zone_update: the diff is the update's changes, and it
 * walks only the pages and nodes the update replaced. */
START_TEST(diff_of_updates)
{
	enum { HOSTS = 20000 };
	struct rrlist l = {0};
	load_base(&l, HOSTS, 1);
	struct zone *v1 = ut_zone(ORIGIN, rl(&l));
	const char *dels[] = {"@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300",
			      "h7 3600 A 10.0.0.7",	"h1234 3600 A 10.0.4.210",
			      "www 3600 AAAA 2001:db8::80", "a.b.c 3600 TXT \"deep\"",
			      "alias 300 CNAME www",	NULL};
	const char *adds[] = {"@ 3600 SOA ns1 hostmaster 2 7200 3600 1209600 300",
			      "h7 3600 A 10.9.9.7",	"fresh.name 3600 TXT \"hello\"",
			      "alias 60 CNAME www",	"www 3600 AAAA 2001:db8::81",
			      NULL};
	struct zone *v2 = update(v1, &l, dels, adds);
	expect_diff(v1, v2, dels + 1, adds + 1);
	expect_diff(v2, v1, adds + 1, dels + 1);
	struct changeset *cs;
	struct zone_diff_stats st;
	ck_assert_int_eq(zone_diff_measure(v1, v2, &cs, &st), 0);
	changeset_unref(cs);
	/* the names changed, their parents, the apex; the pages holding them */
	ck_assert_uint_le(st.nodes, 12);
	ck_assert_uint_le(st.pages, 2 * 12);
	ck_assert_uint_ge(st.pages_shared, 2 * (v1->mask + 1) / ZONE_PAGE_SLOTS - 2 * 12);
	/* an independent load of the same records: the same difference,
	 * every name compared */
	struct zone *v2b = ut_zone(ORIGIN, rl(&l));
	expect_diff(v1, v2b, dels + 1, adds + 1);
	ck_assert_int_eq(zone_diff_measure(v1, v2b, &cs, &st), 0);
	changeset_unref(cs);
	ck_assert_uint_ge(st.nodes, v2b->nnodes - 12);
	ck_assert_uint_eq(st.pages_shared, 0);
	/* versions two updates apart */
	const char *dels3[] = {"@ 3600 SOA ns1 hostmaster 2 7200 3600 1209600 300",
			       "h19999 3600 A 10.0.78.31", NULL};
	const char *adds3[] = {"@ 3600 SOA ns1 hostmaster 3 7200 3600 1209600 300", NULL};
	struct zone *v3 = update(v2, &l, dels3, adds3);
	const char *r13[] = {"h7 3600 A 10.0.0.7",	"h1234 3600 A 10.0.4.210",
			     "www 3600 AAAA 2001:db8::80", "a.b.c 3600 TXT \"deep\"",
			     "alias 300 CNAME www",	"h19999 3600 A 10.0.78.31", NULL};
	expect_diff(v1, v3, r13, adds + 1);
	zone_free(v2b);
	zone_free(v1);
	zone_free(v2);
	zone_free(v3);
	rl_free(&l);
}
END_TEST

/* An update that doubles the name table (every page new, slots moved):
 * nothing is shared by page or slot, and the diff is still the update's. */
START_TEST(diff_across_table_doubling)
{
	struct rrlist l = {0};
	load_base(&l, 500, 1); /* 512 names: a 1,024-slot table, half full */
	struct zone *v1 = ut_zone(ORIGIN, rl(&l));
	ck_assert_uint_eq(v1->nnodes, 512);
	const char *dels[] = {"@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300",
			      "h42 3600 A 10.0.0.42", NULL};
	const char *adds[] = {"@ 3600 SOA ns1 hostmaster 2 7200 3600 1209600 300",
			      "fresh.name 3600 A 192.0.2.99", NULL};
	struct zone *v2 = update(v1, &l, dels, adds);
	ck_assert_uint_gt(v2->mask, v1->mask);
	expect_diff(v1, v2, dels + 1, adds + 1);
	expect_diff(v2, v1, adds + 1, dels + 1);
	struct zone *v2b = ut_zone(ORIGIN, rl(&l));
	expect_diff(v2b, v2, NULL, NULL);
	zone_free(v2b);
	zone_free(v1);
	zone_free(v2);
	rl_free(&l);
}
END_TEST

/* Random steps made by updates, each diffed against the step before and
 * applied to a lineage of its own; and the whole run as one diff of two
 * independent loads applied to the first. */
static void random_record(unsigned r, char *out, size_t size)
{
	switch (r % 5) {
	case 0:
		snprintf(out, size, "n%u 3600 A 10.2.%u.%u", r % 97, (r / 97) % 4, r % 250);
		break;
	case 1:
		/* one TTL per owner: a TTL unlike its set's would be taken
		 * with the set's (a warning), and the account would be wrong */
		snprintf(out, size, "n%u %u TXT \"t%u\"", r % 31, 300 * (1 + (r % 31) % 2), r % 3);
		break;
	case 2:
		snprintf(out, size, "d%u.e%u 3600 MX %u m%u.other.test.", r % 13, r % 5, r % 4, r % 3);
		break;
	case 3:
		snprintf(out, size, "h%u 3600 A 10.0.%u.%u", r % 200, (r % 200) >> 8, (r % 200) & 255);
		break;
	default:
		snprintf(out, size, "*.n%u 3600 A 10.3.0.%u", r % 11, r % 7);
		break;
	}
}

START_TEST(round_trips)
{
	struct rrlist l = {0}, first = {0};
	load_base(&l, 200, 1);
	load_base(&first, 200, 1);
	struct zone *v = ut_zone(ORIGIN, rl(&l));
	struct zone *mirror = ut_zone(ORIGIN, rl(&first)); /* the secondary's lineage */
	unsigned seed = 4242;
	char rr[256], msg[512];
	for (uint32_t s = 1; s <= 40; s++) {
		struct zone_update *u = zone_update_begin(v);
		char so[160], sn[160];
		snprintf(so, sizeof(so), "@ 3600 SOA ns1 hostmaster %u 7200 3600 1209600 300", s);
		snprintf(sn, sizeof(sn), "@ 3600 SOA ns1 hostmaster %u 7200 3600 1209600 300", s + 1);
		change(u, true, so);
		change(u, false, sn);
		rl_del(&l, so);
		rl_add(&l, sn);
		for (int k = 0; k < 1 + (int)s % 9; k++) {
			seed = seed * 1103515245u + 12345u;
			random_record(seed >> 8, rr, sizeof(rr));
			bool have = false;
			for (size_t i = 0; i < l.n; i++)
				have |= !strcmp(l.v[i], rr);
			if (have) {
				change(u, true, rr);
				rl_del(&l, rr);
			} else {
				/* some additions are refused (the test does not track
				 * what fits): only those taken go in the account */
				ldns_rdf *org = ldns_dname_new_frm_str(ORIGIN);
				ldns_rr *x = NULL;
				ck_assert_int_eq(ldns_rr_new_frm_str(&x, rr, 3600, org, NULL),
						 LDNS_STATUS_OK);
				ldns_buffer *buf = ldns_buffer_new(65536);
				ldns_rr_rdata2buffer_wire(buf, x);
				enum zb_result res = zone_update_change(
					u, false, ldns_rdf_data(ldns_rr_owner(x)),
					(uint16_t)ldns_rr_get_type(x), (uint16_t)ldns_rr_get_class(x),
					ldns_rr_ttl(x), ldns_buffer_begin(buf),
					(uint16_t)ldns_buffer_position(buf), msg, sizeof(msg));
				ck_assert_msg(res != ZB_WARN, "%s: %s", rr, msg); /* see random_record */
				if (res == ZB_OK)
					rl_add(&l, rr);
				ldns_buffer_free(buf);
				ldns_rr_free(x);
				ldns_rdf_deep_free(org);
			}
		}
		struct zone *nv = zone_update_commit(u, msg, sizeof(msg));
		ck_assert_msg(nv != NULL, "step %u: %s", s, msg);
		/* the step as a changeset, applied on the mirror */
		struct changeset *cs;
		ck_assert_int_eq(zone_diff(v, nv, &cs), 0);
		struct zone *m2 = NULL;
		int r = changeset_apply(mirror, cs, &m2, msg, sizeof(msg));
		ck_assert_msg(r == 0, "step %u: %d %s", s, r, msg);
		same_zone(m2, nv);
		zone_free(mirror);
		mirror = m2;
		changeset_unref(cs);
		zone_free(v);
		v = nv;
	}
	struct zone *last = ut_zone(ORIGIN, rl(&l));
	same_zone(v, last);
	/* the whole run at once, between independent loads */
	struct zone *start = ut_zone(ORIGIN, rl(&first));
	round_trip(start, last);
	zone_free(start);
	zone_free(last);
	zone_free(v);
	zone_free(mirror);
	rl_free(&l);
	rl_free(&first);
}
END_TEST

static struct changeset *copy_cs(const struct changeset *cs)
{
	uint8_t *w = malloc(cs->len);
	memcpy(w, cs->wire, cs->len);
	return changeset_new(cs->from, cs->to, cs->nremoved, cs->nadded, w, cs->len);
}

/* Owners in upper case (a changeset as a primary sent it, kept by the
 * journal): applied as the same names, and diffed back to nothing. */
static struct changeset *upper_owners(const struct changeset *cs)
{
	uint8_t *w = malloc(cs->len);
	memcpy(w, cs->wire, cs->len);
	struct changeset *u = changeset_new(cs->from, cs->to, cs->nremoved, cs->nadded, w, cs->len);
	struct changeset_rr rr;
	size_t pos = 0;
	while (changeset_next_rr(u, &pos, &rr) > 0)
		for (size_t i = 0; i < rr.owner_len; i++) /* length octets are below 'a' */
			if (rr.owner[i] >= 'a' && rr.owner[i] <= 'z')
				w[rr.owner - w + (ptrdiff_t)i] = (uint8_t)(rr.owner[i] - 32);
	return u;
}

START_TEST(apply_upper_case_owners)
{
	struct rrlist a = {0}, b = {0};
	load_base(&a, 5, 1);
	load_base(&b, 5, 2);
	rl_add(&b, "new.name 3600 A 192.0.2.7");
	rl_del(&b, "www 3600 A 192.0.2.80");
	struct zone *v1 = ut_zone(ORIGIN, rl(&a)), *v2 = ut_zone(ORIGIN, rl(&b));
	struct changeset *cs, *up;
	ck_assert_int_eq(zone_diff(v1, v2, &cs), 0);
	up = upper_owners(cs);
	ck_assert_int_eq(changeset_check(up, NULL, 0), 0);
	ck_assert_int_ne(memcmp(up->wire, cs->wire, cs->len), 0);
	struct zone *out = NULL;
	char msg[512];
	ck_assert_int_eq(changeset_apply(v1, up, &out, msg, sizeof(msg)), 0);
	same_zone(out, v2);
	expect_diff(out, v2, NULL, NULL);
	zone_free(out);
	changeset_unref(up);
	changeset_unref(cs);
	zone_free(v1);
	zone_free(v2);
	rl_free(&a);
	rl_free(&b);
}
END_TEST

START_TEST(apply_refuses)
{
	struct rrlist a = {0}, b = {0};
	load_base(&a, 5, 1);
	load_base(&b, 5, 2);
	rl_add(&b, "new 3600 A 192.0.2.7");
	rl_del(&b, "h1 3600 A 10.0.0.1");
	struct zone *v1 = ut_zone(ORIGIN, rl(&a)), *v2 = ut_zone(ORIGIN, rl(&b));
	struct changeset *cs;
	ck_assert_int_eq(zone_diff(v1, v2, &cs), 0);
	struct zone *out = (struct zone *)1;
	char msg[512];
	/* another serial: the changeset starts elsewhere */
	ck_assert_int_eq(changeset_apply(v2, cs, &out, msg, sizeof(msg)), -ESTALE);
	ck_assert_ptr_null(out);
	ck_assert(strstr(msg, "serial 1") != NULL);
	/* the right serial but a record to remove the zone lacks: another
	 * zone with serial 1 */
	struct rrlist c = {0};
	load_base(&c, 0, 1);
	struct zone *other = ut_zone(ORIGIN, rl(&c));
	ck_assert_int_eq(changeset_apply(other, cs, &out, msg, sizeof(msg)), -EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_msg(strstr(msg, "not in the zone") != NULL, "%s", msg);
	/* and the zone is as it was: the same changeset still applies where
	 * it belongs, and other's lineage still takes updates */
	ck_assert_int_eq(changeset_apply(v1, cs, &out, msg, sizeof(msg)), 0);
	same_zone(out, v2);
	zone_free(out);
	/* malformed blobs */
	struct changeset *bad = copy_cs(cs);
	bad->len--; /* the last record cut short */
	ck_assert_int_eq(changeset_check(bad, NULL, 0), -EBADMSG);
	ck_assert_int_eq(changeset_apply(v1, bad, &out, msg, sizeof(msg)), -EBADMSG);
	changeset_unref(bad);
	bad = copy_cs(cs);
	bad->nremoved++; /* the new SOA where a removal should be */
	ck_assert_int_eq(changeset_check(bad, NULL, 0), -EBADMSG);
	changeset_unref(bad);
	bad = copy_cs(cs);
	bad->to = 3; /* the new SOA says 2 */
	ck_assert_int_eq(changeset_check(bad, NULL, 0), -EBADMSG);
	changeset_unref(bad);
	bad = copy_cs(cs);
	bad->wire[0] = 0xc0; /* a compression pointer for an owner */
	ck_assert_int_eq(changeset_check(bad, NULL, 0), -EBADMSG);
	changeset_unref(bad);
	/* references: the last one frees (ASan would tell) */
	changeset_ref(cs);
	ck_assert_uint_eq(atomic_load(&cs->refs), 2);
	changeset_unref(cs);
	changeset_unref(cs);
	changeset_unref(NULL);
	/* a diff across zones is refused */
	const char *const other_zone[] = {"@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300",
					  "@ 3600 NS ns1", "ns1 3600 A 192.0.2.1", NULL};
	struct zone *elsewhere = ut_zone("elsewhere.test.", other_zone);
	ck_assert_int_eq(zone_diff(v1, elsewhere, &cs), -EINVAL);
	ck_assert_ptr_null(cs);
	zone_free(elsewhere);
	zone_free(other);
	zone_free(v1);
	zone_free(v2);
	rl_free(&a);
	rl_free(&b);
	rl_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("zone_diff");
	TCase *tc = tcase_create("diff");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, added_removed_ttl);
	tcase_add_test(tc, ttl_of_a_set);
	tcase_add_test(tc, names_come_and_go);
	tcase_add_test(tc, case_is_no_difference);
	tcase_add_test(tc, resigned_zone);
	tcase_add_test(tc, diff_of_updates);
	tcase_add_test(tc, diff_across_table_doubling);
	tcase_add_test(tc, round_trips);
	tcase_add_test(tc, apply_refuses);
	tcase_add_test(tc, apply_upper_case_owners);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
