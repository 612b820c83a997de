/* check_ixfr.c: changesets as IXFR messages (src/xfr/ixfr.c), read back
 * with ldns: every message a DNS message with our ID, QR and AA, opcode
 * QUERY, RCODE 0, the question (QTYPE IXFR) in the first only, at most
 * 16 KiB unless it holds one record too big for that; the records in
 * RFC 1995 §4's uncondensed order: the served SOA, each changeset's old
 * SOA, removals, new SOA, additions, the served SOA again; a client
 * already current gets the SOA alone. The changesets and the version are
 * held by the stream, not by the caller. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/query.h"
#include "unit.h"
#include "xfr/ixfr.h"
#include "zone/zone_diff.h"

#define ORIGIN "ixfr.test."
#define MAXRR 8192

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
	"@ 3600 NS ns1",
	"@ 3600 NS ns2.other.test.",
	"@ 3600 MX 10 mail",
	"ns1 3600 A 192.0.2.1",
	"mail 3600 A 192.0.2.25",
	"www 3600 A 192.0.2.80",
	"www 3600 AAAA 2001:db8::80",
	"alias 300 CNAME www",
	"sub 3600 NS ns.sub",
	"ns.sub 3600 A 192.0.2.53",
	NULL,
};

static void soa_text(char *out, size_t size, uint32_t serial)
{
	snprintf(out, size, "@ 3600 SOA ns1 hostmaster %u 7200 3600 1209600 300", serial);
}

static void load_base(struct rrlist *l, uint32_t serial)
{
	char soa[128];
	soa_text(soa, sizeof(soa), serial);
	rl_add(l, soa);
	for (size_t i = 0; BASE[i]; i++)
		rl_add(l, BASE[i]);
}

static void set_serial(struct rrlist *l, uint32_t from, uint32_t to)
{
	char a[128], b[128];
	soa_text(a, sizeof(a), from);
	soa_text(b, sizeof(b), to);
	rl_del(l, a);
	rl_add(l, b);
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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- a transfer read back ---- */

static void request(struct query *q, uint8_t *wire, size_t *len)
{
	struct ut_q spec = {.name = ORIGIN, .type = RRTYPE_IXFR, .id = 0x1995};
	*len = ut_query_wire(&spec, wire, 512);
	ck_assert_int_eq(query_parse(q, wire, *len, true), QUERY_OK);
}

struct stream {
	unsigned messages, big;
	size_t octets;		/* all messages */
	struct strs rrs;	/* every answer record, in order */
	size_t big_rdlen;	/* the largest record alone in its message */
};

static void run(struct zone *z, struct changeset *const *cs, size_t ncs, struct stream *res)
{
	static uint8_t buf[65535];
	uint8_t qw[512];
	size_t qlen;
	struct query q;
	request(&q, qw, &qlen);
	struct ixfr x;
	ck_assert_int_eq(ixfr_start(&x, z, cs, ncs, &q), 0);
	memset(res, 0, sizeof(*res));
	size_t len;
	while ((len = ixfr_next(&x, buf, sizeof(buf))) > 0) {
		ck_assert_uint_lt(res->messages, 100000);
		ldns_pkt *p = NULL;
		ck_assert_int_eq(ldns_wire2pkt(&p, buf, len), LDNS_STATUS_OK);
		ck_assert_uint_eq(ldns_pkt_id(p), 0x1995);
		ck_assert(ldns_pkt_qr(p));
		ck_assert(ldns_pkt_aa(p));
		ck_assert(!ldns_pkt_tc(p));
		ck_assert_int_eq(ldns_pkt_get_opcode(p), LDNS_PACKET_QUERY);
		ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
		ck_assert_uint_eq(ldns_pkt_qdcount(p), res->messages == 0 ? 1 : 0);
		if (res->messages == 0) {
			ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
			ck_assert_int_eq(ldns_rr_get_type(qr), LDNS_RR_TYPE_IXFR);
			char *qn = ldns_rdf2str(ldns_rr_owner(qr));
			ck_assert_str_eq(qn, ORIGIN);
			free(qn);
		}
		ck_assert_uint_gt(ldns_pkt_ancount(p), 0);
		ck_assert_uint_eq(ldns_pkt_nscount(p) + ldns_pkt_arcount(p), 0);
		if (len > AXFR_MSG_LIMIT) {
			ck_assert_uint_eq(ldns_pkt_ancount(p), 1);
			res->big++;
			ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
			size_t rdl = 0;
			for (size_t k = 0; k < ldns_rr_rd_count(rr); k++)
				rdl += ldns_rdf_size(ldns_rr_rdf(rr, k));
			if (rdl > res->big_rdlen)
				res->big_rdlen = rdl;
		}
		for (size_t i = 0; i < ldns_pkt_ancount(p); i++) {
			ldns_rr *rr = ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_answer(p), i));
			strs_push(&res->rrs, canon_rr(rr));
			ldns_rr_free(rr);
		}
		ldns_pkt_free(p);
		res->messages++;
		res->octets += len;
	}
	ck_assert_int_eq(x.phase, IXFR_DONE);
	ck_assert_uint_eq(ixfr_next(&x, buf, sizeof(buf)), 0);
	ixfr_end(&x);
	ixfr_end(&x); /* idempotent */
}

/* The records of a changeset blob in order, as text. */
static void blob_rrs(const struct changeset *cs, struct strs *out)
{
	size_t pos = 0;
	while (pos < cs->len) {
		ldns_rr *rr = NULL;
		ck_assert_int_eq(ldns_wire2rr(&rr, cs->wire, cs->len, &pos, LDNS_SECTION_ANSWER),
				 LDNS_STATUS_OK);
		strs_push(out, canon_rr(rr));
		ldns_rr_free(rr);
	}
}

/* The stream is exactly RFC 1995 §4's: served SOA, the blobs, served SOA. */
static void expect_sequence(const struct stream *s, const struct zone *z,
			    struct changeset *const *cs, size_t ncs)
{
	struct strs want = {0};
	char soa[128];
	soa_text(soa, sizeof(soa), z->serial);
	strs_push(&want, canon_text(soa));
	for (size_t i = 0; i < ncs; i++)
		blob_rrs(cs[i], &want);
	if (ncs)
		strs_push(&want, canon_text(soa));
	for (size_t i = 0; i < s->rrs.n || i < want.n; i++) {
		const char *g = i < s->rrs.n ? s->rrs.v[i] : "(none)";
		const char *w = i < want.n ? want.v[i] : "(none)";
		ck_assert_msg(!strcmp(g, w), "record %zu: got %s, want %s", i, g, w);
	}
	/* and the SOAs where RFC 1995 puts them, serials in order */
	size_t k = 1;
	for (size_t i = 0; i < ncs; i++) {
		char a[128];
		soa_text(a, sizeof(a), cs[i]->from);
		char *sa = canon_text(a);
		ck_assert_str_eq(s->rrs.v[k], sa);
		free(sa);
		k += 1 + cs[i]->nremoved;
		soa_text(a, sizeof(a), cs[i]->to);
		sa = canon_text(a);
		ck_assert_str_eq(s->rrs.v[k], sa);
		free(sa);
		k += 1 + cs[i]->nadded;
	}
	ck_assert_uint_eq(k + (ncs ? 1 : 0), s->rrs.n);
	strs_free(&want);
}

/* The records of the stream between positions [from, to), sorted, are
 * exactly `want`. */
static void expect_set(const struct stream *s, size_t from, size_t to, const char *const *want,
		       const char *what)
{
	struct strs got = {0}, w = {0};
	for (size_t i = from; i < to; i++)
		strs_push(&got, strdup(s->rrs.v[i]));
	for (size_t i = 0; want && want[i]; i++)
		strs_push(&w, canon_text(want[i]));
	if (got.n)
		qsort(got.v, got.n, sizeof(char *), cmp_str);
	if (w.n)
		qsort(w.v, w.n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < got.n || i < w.n; i++) {
		const char *g = i < got.n ? got.v[i] : "(none)", *x = i < w.n ? w.v[i] : "(none)";
		ck_assert_msg(!strcmp(g, x), "%s %zu: got %s, want %s", what, i, g, x);
	}
	strs_free(&got);
	strs_free(&w);
}

/* Versions 1..4 loaded from text, and the changesets between them. */
struct chain {
	struct zone *v[5];
	struct changeset *cs[4]; /* cs[i]: v[i] -> v[i+1], i = 1..3 */
	struct rrlist l;
};

static const char *const STEP_DEL[4][4] = {
	{NULL},
	{"www 3600 A 192.0.2.80", NULL},
	{"alias 300 CNAME www", "ns.sub 3600 A 192.0.2.53", NULL},
	{"www 3600 AAAA 2001:db8::80", NULL},
};
static const char *const STEP_ADD[4][4] = {
	{NULL},
	{"www 3600 A 192.0.2.81", "new.name 3600 TXT \"one\"", NULL},
	{"alias 600 CNAME www", "ns.sub 3600 A 192.0.2.54", NULL},
	{"deep.er.name 3600 MX 5 mail.ixfr.test.", "www 3600 A 192.0.2.80", NULL},
};

static void chain_make(struct chain *c)
{
	memset(c, 0, sizeof(*c));
	load_base(&c->l, 1);
	c->v[1] = ut_zone(ORIGIN, rl(&c->l));
	for (uint32_t s = 2; s <= 4; s++) {
		for (size_t i = 0; STEP_DEL[s - 1][i]; i++)
			rl_del(&c->l, STEP_DEL[s - 1][i]);
		for (size_t i = 0; STEP_ADD[s - 1][i]; i++)
			rl_add(&c->l, STEP_ADD[s - 1][i]);
		set_serial(&c->l, s - 1, s);
		c->v[s] = ut_zone(ORIGIN, rl(&c->l));
		ck_assert_int_eq(zone_diff(c->v[s - 1], c->v[s], &c->cs[s - 1]), 0);
	}
	zone_ref(c->v[4]); /* published */
}

static void chain_free(struct chain *c)
{
	for (int s = 1; s <= 3; s++)
		changeset_unref(c->cs[s]);
	zone_unref(c->v[4]);
	for (int s = 1; s <= 3; s++)
		zone_free(c->v[s]);
	rl_free(&c->l);
}

START_TEST(one_changeset)
{
	struct chain c;
	chain_make(&c);
	struct stream s;
	run(c.v[4], &c.cs[3], 1, &s);
	ck_assert_uint_eq(s.messages, 1);
	expect_sequence(&s, c.v[4], &c.cs[3], 1);
	/* served SOA, old SOA, 1 removed, new SOA, 2 added, served SOA */
	ck_assert_uint_eq(s.rrs.n, 7);
	expect_set(&s, 2, 3, STEP_DEL[3], "removed");
	expect_set(&s, 4, 6, STEP_ADD[3], "added");
	ck_assert_str_eq(s.rrs.v[0], s.rrs.v[6]);
	ck_assert_str_eq(s.rrs.v[0], s.rrs.v[3]);
	strs_free(&s.rrs);
	chain_free(&c);
}
END_TEST

START_TEST(three_changesets)
{
	struct chain c;
	chain_make(&c);
	struct stream s;
	run(c.v[4], &c.cs[1], 3, &s);
	expect_sequence(&s, c.v[4], &c.cs[1], 3);
	/* 1 + (1+1+1+2) + (1+2+1+2) + (1+1+1+2) + 1 */
	ck_assert_uint_eq(s.rrs.n, 18);
	expect_set(&s, 2, 3, STEP_DEL[1], "removed 1->2");
	expect_set(&s, 4, 6, STEP_ADD[1], "added 1->2");
	expect_set(&s, 7, 9, STEP_DEL[2], "removed 2->3");
	expect_set(&s, 10, 12, STEP_ADD[2], "added 2->3");
	expect_set(&s, 13, 14, STEP_DEL[3], "removed 3->4");
	expect_set(&s, 15, 17, STEP_ADD[3], "added 3->4");
	ck_assert_str_eq(s.rrs.v[0], s.rrs.v[17]);
	ck_assert_str_eq(s.rrs.v[0], s.rrs.v[14]);
	strs_free(&s.rrs);
	/* a client already current: the SOA alone */
	run(c.v[4], NULL, 0, &s);
	ck_assert_uint_eq(s.messages, 1);
	ck_assert_uint_eq(s.rrs.n, 1);
	expect_sequence(&s, c.v[4], NULL, 0);
	strs_free(&s.rrs);
	chain_free(&c);
}
END_TEST

START_TEST(not_consecutive_refused)
{
	struct chain c;
	chain_make(&c);
	uint8_t qw[512];
	size_t qlen;
	struct query q;
	request(&q, qw, &qlen);
	struct ixfr x;
	struct changeset *gap[2] = {c.cs[1], c.cs[3]};
	ck_assert_int_eq(ixfr_start(&x, c.v[4], gap, 2, &q), -EINVAL);
	ixfr_end(&x);
	/* not ending at the served version */
	ck_assert_int_eq(ixfr_start(&x, c.v[4], &c.cs[1], 2, &q), -EINVAL);
	ixfr_end(&x);
	/* a damaged blob: refused before anything is sent */
	uint8_t *w = malloc(c.cs[3]->len);
	memcpy(w, c.cs[3]->wire, c.cs[3]->len);
	struct changeset *bad = changeset_new(c.cs[3]->from, c.cs[3]->to, c.cs[3]->nremoved + 1,
					      c.cs[3]->nadded, w, c.cs[3]->len);
	ck_assert_int_eq(ixfr_start(&x, c.v[4], &bad, 1, &q), -EBADMSG);
	ixfr_end(&x);
	changeset_unref(bad);
	ck_assert_uint_eq(atomic_load(&c.cs[1]->refs), 1);
	chain_free(&c);
}
END_TEST

/* A changeset whose owners are in upper case (as a primary sent them):
 * written as they are, compressed all the same, read back as the names. */
START_TEST(upper_case_owners)
{
	struct chain c;
	chain_make(&c);
	uint8_t *w = malloc(c.cs[3]->len);
	memcpy(w, c.cs[3]->wire, c.cs[3]->len);
	struct changeset *up = changeset_new(c.cs[3]->from, c.cs[3]->to, c.cs[3]->nremoved,
					     c.cs[3]->nadded, w, c.cs[3]->len);
	struct changeset_rr rr;
	size_t pos = 0;
	while (changeset_next_rr(up, &pos, &rr) > 0)
		for (size_t i = 0; i < rr.owner_len; i++)
			if (rr.owner[i] >= 'a' && rr.owner[i] <= 'z')
				w[rr.owner - w + (ptrdiff_t)i] = (uint8_t)(rr.owner[i] - 32);
	struct stream s;
	run(c.v[4], &up, 1, &s);
	expect_sequence(&s, c.v[4], &c.cs[3], 1); /* canonical text: the same records */
	strs_free(&s.rrs);
	changeset_unref(up);
	chain_free(&c);
}
END_TEST

/* The stream holds what it sends: the caller drops its changesets and
 * the version is replaced and released while the transfer runs. */
START_TEST(holds_its_changesets)
{
	struct chain c;
	chain_make(&c);
	uint8_t qw[512], buf[65535];
	size_t qlen;
	struct query q;
	request(&q, qw, &qlen);
	struct ixfr x;
	ck_assert_int_eq(ixfr_start(&x, c.v[4], &c.cs[1], 3, &q), 0);
	ck_assert_uint_eq(atomic_load(&c.cs[2]->refs), 2);
	for (int i = 1; i <= 3; i++)
		changeset_unref(c.cs[i]);
	zone_unref(c.v[4]);
	size_t len, n = 0;
	while ((len = ixfr_next(&x, buf, sizeof(buf))) > 0) {
		ldns_pkt *p = NULL;
		ck_assert_int_eq(ldns_wire2pkt(&p, buf, len), LDNS_STATUS_OK);
		n += ldns_pkt_ancount(p);
		ldns_pkt_free(p);
	}
	ck_assert_uint_eq(n, 18);
	ixfr_end(&x);
	for (int s = 1; s <= 3; s++)
		zone_free(c.v[s]);
	rl_free(&c.l);
}
END_TEST

/* A changeset of thousands of records: many messages, none over 16 KiB,
 * owners compressed; and a record near 64 KiB alone in its message. */
START_TEST(message_limits)
{
	enum { HOSTS = 3000 };
	struct rrlist l = {0};
	load_base(&l, 1);
	struct zone *v1 = ut_zone(ORIGIN, rl(&l));
	char rr[256];
	for (int i = 0; i < HOSTS; i++) {
		snprintf(rr, sizeof(rr), "host%d.dept%d 3600 A 10.%d.%d.%d", i, i % 17, i >> 16,
			 (i >> 8) & 255, i & 255);
		rl_add(&l, rr);
	}
	/* 254 strings of 255 octets: 65,024 octets of rdata, a message of
	 * 65,061 with its header and owner */
	size_t cap = 254 * 258 + 64, o = 0;
	char *big = malloc(cap);
	o += (size_t)snprintf(big + o, cap - o, "big 3600 TXT");
	for (int s = 0; s < 254; s++) {
		big[o++] = ' ';
		big[o++] = '"';
		memset(big + o, 'a' + s % 26, 255);
		o += 255;
		big[o++] = '"';
	}
	big[o] = 0;
	rl_add(&l, big);
	set_serial(&l, 1, 2);
	struct zone *v2 = ut_zone(ORIGIN, rl(&l));
	zone_ref(v2);
	struct changeset *cs;
	ck_assert_int_eq(zone_diff(v1, v2, &cs), 0);
	ck_assert_uint_eq(cs->nadded, HOSTS + 1);
	struct stream s;
	run(v2, &cs, 1, &s);
	expect_sequence(&s, v2, &cs, 1);
	ck_assert_uint_ge(s.messages, 4);
	ck_assert_uint_eq(s.big, 1);
	ck_assert_uint_eq(s.big_rdlen, 65024);
	/* compression: the messages hold less than the uncompressed blob
	 * (plus their headers and SOAs) */
	ck_assert_uint_lt(s.octets, cs->len);
	ck_assert_uint_eq(s.rrs.n, (size_t)HOSTS + 1 + 4);
	strs_free(&s.rrs);
	/* the same record removed: alone again, in either direction */
	struct changeset *back;
	ck_assert_int_eq(zone_diff(v2, v1, &back), 0);
	ck_assert_uint_eq(back->nremoved, HOSTS + 1);
	zone_ref(v1);
	run(v1, &back, 1, &s);
	expect_sequence(&s, v1, &back, 1);
	ck_assert_uint_eq(s.big, 1);
	strs_free(&s.rrs);
	/* a cap too small for it: the transfer fails instead of cutting */
	uint8_t qw[512];
	size_t qlen;
	struct query q;
	request(&q, qw, &qlen);
	struct ixfr x;
	ck_assert_int_eq(ixfr_start(&x, v2, &cs, 1, &q), 0);
	static uint8_t buf[AXFR_MSG_LIMIT];
	while (ixfr_next(&x, buf, sizeof(buf)) > 0)
		;
	ck_assert_int_eq(x.phase, IXFR_FAILED);
	ixfr_end(&x);
	changeset_unref(back);
	changeset_unref(cs);
	zone_unref(v1);
	zone_unref(v2);
	free(big);
	rl_free(&l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ixfr");
	TCase *tc = tcase_create("messages");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, one_changeset);
	tcase_add_test(tc, three_changesets);
	tcase_add_test(tc, not_consecutive_refused);
	tcase_add_test(tc, upper_case_owners);
	tcase_add_test(tc, holds_its_changesets);
	tcase_add_test(tc, message_limits);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
