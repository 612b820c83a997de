/* check_xfrin.c: IXFR and AXFR in (src/xfr/xfrin.c).
 *
 * The parser is fed answers made two ways: by shoal's own primary side
 * (axfr.c, ixfr.c: what a shoal primary sends) and by ldns from records in
 * presentation form, one or several per message, which compresses owners
 * and the names in NS, SOA, MX, CNAME and PTR rdata. TSIG on the answers
 * is tsig.c's server side over a request signed by its client side. The
 * version a transfer makes is compared with the same zone built from text
 * (zone_diff finds no difference).
 *
 * The network calls talk to a fake primary: a thread on 127.0.0.1 with a
 * UDP and a TCP socket on one ephemeral port, answering each request as
 * the case's mode says (the real axfr.c/ixfr.c streams, NOTIMP, a
 * connection closed or stalled half way, truncated UDP). */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "dns/query.h"
#include "dns/tsig.h"
#include "unit.h"
#include "xfr/axfr.h"
#include "xfr/ixfr.h"
#include "xfr/xfrin.h"
#include "zone/zone_diff.h"

#define ORIGIN "xin.test."
#define NOW 1767225600u /* TSIG times: 2026-01-01 */
#define XID 0x4242
#define MSGS_MAX 4096
#define KEY_NAME "xfr-key."
#define HDR 12 /* a DNS header's octets */

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
    "_sip._tcp 3600 SRV 10 20 5060 www",
    NULL,
};

/* An SOA record's text at `serial` (a few live at once: rotating buffers). */
static const char *soa(uint32_t serial)
{
	static char buf[16][128];
	static unsigned k;
	char *b = buf[k++ % 16];
	snprintf(b, 128, "@ 3600 SOA ns1 hostmaster %u 7200 3600 1209600 300", serial);
	return b;
}

/* ---- lists of record texts ---- */

struct texts {
	size_t n;
	const char *v[256];
};

static void tx_add(struct texts *t, const char *s)
{
	ck_assert_uint_lt(t->n, 255);
	t->v[t->n++] = s;
	t->v[t->n] = NULL;
}

static void tx_addv(struct texts *t, const char *const *v)
{
	for (size_t i = 0; v && v[i]; i++)
		tx_add(t, v[i]);
}

/* The zone's records: SOA at `serial`, BASE without `del`, with `add`. */
static void zone_texts(struct texts *t, uint32_t serial, const char *const *add,
                       const char *const *del)
{
	t->n = 0;
	tx_add(t, soa(serial));
	for (size_t i = 0; BASE[i]; i++) {
		bool gone = false;
		for (size_t k = 0; del && del[k]; k++)
			gone |= !strcmp(del[k], BASE[i]);
		if (!gone)
			tx_add(t, BASE[i]);
	}
	tx_addv(t, add);
}

static struct zone *zone_of(uint32_t serial, const char *const *add, const char *const *del)
{
	struct texts t;
	zone_texts(&t, serial, add, del);
	return ut_zone(ORIGIN, t.v);
}

/* `a` and `b` hold the same records (and serial). */
static void expect_same(const struct zone *a, const struct zone *b)
{
	struct changeset *cs = NULL;
	ck_assert_int_eq(zone_diff(a, b, &cs), 0);
	ck_assert_uint_eq(cs->from, cs->to);
	ck_assert_msg(cs->nremoved == 0 && cs->nadded == 0, "zones differ: %u removed, %u added",
	              cs->nremoved, cs->nadded);
	changeset_unref(cs);
}

/* ---- answers ---- */

struct ans {
	size_t n;
	uint8_t *m[MSGS_MAX];
	size_t len[MSGS_MAX];
};

static void ans_push(struct ans *a, const uint8_t *w, size_t len)
{
	ck_assert_uint_lt(a->n, MSGS_MAX);
	a->m[a->n] = malloc(len + TSIG_RR_MAX); /* room for a TSIG */
	memcpy(a->m[a->n], w, len);
	a->len[a->n++] = len;
}

static void ans_free(struct ans *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->m[i]);
	a->n = 0;
}

static ldns_rr *rr_new(const char *text)
{
	ldns_rdf *org = ldns_dname_new_frm_str(ORIGIN);
	ldns_rr *rr = NULL;
	ldns_status s = ldns_rr_new_frm_str(&rr, text, 3600, org, NULL);
	ck_assert_msg(s == LDNS_STATUS_OK, "test record '%s': %s", text,
	              ldns_get_errorstr_by_id(s));
	ldns_rdf_deep_free(org);
	return rr;
}

struct mspec {
	uint16_t id;
	uint16_t qtype; /* of the question */
	bool question;
	const char *qname; /* NULL: ORIGIN */
	uint8_t rcode;
	bool tc;
};

/* One message (ldns compresses it) with records `rrs[0..n)`. */
static size_t msg_make(uint8_t *out, size_t cap, const struct mspec *s, const char *const *rrs,
                       size_t n)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_pkt_set_id(p, s->id);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, true);
	ldns_pkt_set_tc(p, s->tc);
	ldns_pkt_set_rcode(p, s->rcode);
	if (s->question) {
		ldns_rr *q = ldns_rr_new();
		ldns_rr_set_owner(q, ldns_dname_new_frm_str(s->qname ? s->qname : ORIGIN));
		ldns_rr_set_type(q, (ldns_rr_type)s->qtype);
		ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
		ldns_rr_set_question(q, true);
		ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
	}
	for (size_t i = 0; i < n; i++)
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr_new(rrs[i]));
	uint8_t *w = NULL;
	size_t len = 0;
	ck_assert_int_eq(ldns_pkt2wire(&w, p, &len), LDNS_STATUS_OK);
	ck_assert_uint_le(len, cap);
	memcpy(out, w, len);
	free(w);
	ldns_pkt_free(p);
	return len;
}

/* The records as messages of `per` records each (0: all in one), the
 * question in the first only. */
static void ans_rrs(struct ans *a, uint16_t id, uint16_t qtype, const char *const *rrs, size_t per)
{
	static uint8_t buf[65535];
	size_t n = 0;
	while (rrs[n])
		n++;
	if (!per)
		per = n ? n : 1;
	size_t i = 0;
	do {
		size_t k = n - i < per ? n - i : per;
		struct mspec s = {.id = id, .qtype = qtype, .question = i == 0};
		ans_push(a, buf, msg_make(buf, sizeof(buf), &s, rrs + i, k));
		i += k;
	} while (i < n);
}

/* An answer of one message with no records: an error, or odd flags. */
static void ans_one(struct ans *a, const struct mspec *s)
{
	static uint8_t buf[512];
	ans_push(a, buf, msg_make(buf, sizeof(buf), s, NULL, 0));
}

static void request_query(struct query *q, uint16_t qtype, uint16_t id)
{
	static uint8_t wire[512];
	struct ut_q spec = {.name = ORIGIN, .type = qtype, .id = id};
	size_t len = ut_query_wire(&spec, wire, sizeof(wire));
	ck_assert_int_eq(query_parse(q, wire, len, true), QUERY_OK);
}

/* What shoal's primary side sends: an AXFR of z. */
static void ans_axfr(struct ans *a, struct zone *z, uint16_t id)
{
	static uint8_t buf[65535];
	struct query q;
	request_query(&q, RRTYPE_AXFR, id);
	struct axfr x;
	axfr_start(&x, z, &q);
	size_t len;
	while ((len = axfr_next(&x, buf, sizeof(buf))) > 0)
		ans_push(a, buf, len);
	ck_assert_int_eq(x.phase, AXFR_DONE);
	axfr_end(&x);
}

/* ... and an IXFR of cs[0..ncs) up to z. */
static void ans_ixfr(struct ans *a, struct zone *z, struct changeset *const *cs, size_t ncs,
                     uint16_t id)
{
	static uint8_t buf[65535];
	struct query q;
	request_query(&q, RRTYPE_IXFR, id);
	struct ixfr x;
	ck_assert_int_eq(ixfr_start(&x, z, cs, ncs, &q), 0);
	size_t len;
	while ((len = ixfr_next(&x, buf, sizeof(buf))) > 0)
		ans_push(a, buf, len);
	ck_assert_int_eq(x.phase, IXFR_DONE);
	ixfr_end(&x);
}

/* ---- the parser ---- */

static size_t apex_wire(uint8_t out[DNAME_MAX])
{
	return ut_name(ORIGIN, out);
}

static struct xfrin_parse *parser(enum xfrin_kind kind, struct zone *base, struct tsig_state *ts,
                                  uint64_t max_size)
{
	uint8_t apex[DNAME_MAX];
	size_t len = apex_wire(apex);
	struct xfrin_parse *p = xfrin_parse_new(kind, apex, len, base, XID, ts, max_size);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* Feed the messages until one is not MORE. \return its status; *at the
 * messages fed */
static enum xfrin_status feed(struct xfrin_parse *p, const struct ans *a, char *why, size_t size,
                              size_t *at)
{
	enum xfrin_status st = XFRIN_MORE;
	size_t i = 0;
	while (i < a->n && st == XFRIN_MORE) {
		st = xfrin_parse_msg(p, a->m[i], a->len[i], NOW, why, size);
		i++;
	}
	if (at)
		*at = i;
	return st;
}

struct warns {
	unsigned n;
	char last[512];
};

static void warn_fn(void *ctx, const char *reason)
{
	struct warns *w = ctx;
	w->n++;
	snprintf(w->last, sizeof(w->last), "%s", reason);
}

/* Parse a whole answer that must be DONE at its last message, and finish. */
static void parse_ok(enum xfrin_kind kind, struct zone *base, struct tsig_state *ts,
                     const struct ans *a, struct xfrin_result *res, struct warns *w)
{
	char why[512] = "";
	size_t at;
	struct xfrin_parse *p = parser(kind, base, ts, 0);
	enum xfrin_status st = feed(p, a, why, sizeof(why), &at);
	ck_assert_msg(st == XFRIN_DONE, "status %d at message %zu: %s", st, at, why);
	ck_assert_uint_eq(at, a->n);
	int r = xfrin_parse_finish(p, res, w ? warn_fn : NULL, w, why, sizeof(why));
	ck_assert_msg(r == 0, "finish: %d %s", r, why);
	ck_assert_ptr_nonnull(res->zone);
	ck_assert_uint_eq(res->messages, a->n);
	/* a second finish is refused */
	struct xfrin_result again;
	ck_assert_int_eq(xfrin_parse_finish(p, &again, NULL, NULL, why, sizeof(why)), -EINVAL);
	xfrin_parse_free(p);
}

/* Parse an answer expected to stop with `want`; why must hold `needle`. */
static void parse_fails(enum xfrin_kind kind, struct zone *base, struct tsig_state *ts,
                        const struct ans *a, enum xfrin_status want, const char *needle)
{
	char why[512] = "";
	struct xfrin_parse *p = parser(kind, base, ts, 0);
	enum xfrin_status st = feed(p, a, why, sizeof(why), NULL);
	ck_assert_msg(st == want, "status %d, want %d (%s)", st, want, why);
	ck_assert_msg(strstr(why, needle), "why '%s' lacks '%s'", why, needle);
	if (want == XFRIN_ERROR)
		ck_assert_int_eq(xfrin_parse_error(p), -EPROTO);
	/* nothing more is taken */
	ck_assert_int_eq(xfrin_parse_msg(p, a->m[0], a->len[0], NOW, why, sizeof(why)),
	                 XFRIN_ERROR);
	struct xfrin_result res;
	ck_assert_int_eq(xfrin_parse_finish(p, &res, NULL, NULL, why, sizeof(why)), -EINVAL);
	xfrin_parse_free(p);
}

/* ---- AXFR ---- */

START_TEST(axfr_from_shoal)
{
	struct zone *z = zone_of(5, NULL, NULL);
	zone_ref(z); /* axfr.c's stream holds and releases it */
	struct ans a = {0};
	ans_axfr(&a, z, XID);
	ck_assert_uint_eq(a.n, 1);
	struct xfrin_result res;
	parse_ok(XFRIN_AXFR, NULL, NULL, &a, &res, NULL);
	ck_assert(res.full);
	ck_assert_uint_eq(res.serial, 5);
	ck_assert_ptr_null(res.cs);
	ck_assert_uint_eq(res.records, z->nrecords + 1); /* the SOA twice */
	expect_same(z, res.zone);
	xfrin_result_free(&res);
	ck_assert_ptr_null(res.zone);
	ans_free(&a);
	zone_unref(z);
}
END_TEST

START_TEST(axfr_one_record_per_message)
{
	struct texts t;
	zone_texts(&t, 7, NULL, NULL);
	tx_add(&t, soa(7));
	struct ans a = {0};
	ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 1);
	ck_assert_uint_eq(a.n, t.n);
	/* an empty message in the middle changes nothing */
	struct ans b = {0};
	for (size_t i = 0; i < a.n; i++) {
		ans_push(&b, a.m[i], a.len[i]);
		if (i == 3) {
			struct mspec s = {.id = XID};
			ans_one(&b, &s);
		}
	}
	struct xfrin_result res;
	parse_ok(XFRIN_AXFR, NULL, NULL, &b, &res, NULL);
	zone_texts(&t, 7, NULL, NULL);
	struct zone *z = ut_zone(ORIGIN, t.v);
	expect_same(z, res.zone);
	ck_assert_uint_eq(res.messages, a.n + 1);
	xfrin_result_free(&res);
	zone_free(z);
	ans_free(&a);
	ans_free(&b);
}
END_TEST

/* A duplicate record is taken once, with a warning (zone_builder's). */
START_TEST(axfr_duplicate_tolerated)
{
	struct texts t;
	zone_texts(&t, 7, NULL, NULL);
	tx_add(&t, "www 60 A 192.0.2.80");
	tx_add(&t, soa(7));
	struct ans a = {0};
	ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 3);
	struct xfrin_result res;
	struct warns w = {0};
	parse_ok(XFRIN_AXFR, NULL, NULL, &a, &res, &w);
	ck_assert_uint_ge(w.n, 1);
	zone_texts(&t, 7, NULL, NULL);
	struct zone *z = ut_zone(ORIGIN, t.v);
	ck_assert_uint_eq(res.zone->nrecords, z->nrecords);
	xfrin_result_free(&res);
	zone_free(z);
	ans_free(&a);
}
END_TEST

/* Owners and the names in NS, MX, SOA, CNAME and SRV rdata compressed by
 * ldns (SRV's is not: RFC 2782), pointers into earlier rdata among them:
 * the zone holds them uncompressed, as one built from text. */
START_TEST(compressed_names)
{
	struct texts t;
	zone_texts(&t, 9, NULL, NULL);
	tx_add(&t, "deep.er.name 3600 MX 5 mail.deep.er.name");
	tx_add(&t, "mail.deep.er.name 3600 A 192.0.2.7");
	tx_add(&t, "ptr 3600 PTR mail.deep.er.name");
	tx_add(&t, soa(9));
	struct ans a = {0};
	ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 0);
	ck_assert_uint_eq(a.n, 1);
	/* compressed indeed: far less than the names written out */
	size_t plain = 0;
	for (size_t i = 0; t.v[i]; i++) {
		ldns_rr *rr = rr_new(t.v[i]);
		plain += ldns_rr_uncompressed_size(rr);
		ldns_rr_free(rr);
	}
	ck_assert_uint_lt(a.len[0] + 100, plain);
	struct xfrin_result res;
	parse_ok(XFRIN_AXFR, NULL, NULL, &a, &res, NULL);
	t.n--;
	t.v[t.n] = NULL;
	struct zone *z = ut_zone(ORIGIN, t.v);
	expect_same(z, res.zone);
	/* the MX's exchange, byte for byte */
	const struct rrset *mx = node_rrset(ut_node(res.zone, "deep.er.name." ORIGIN), RRTYPE_MX);
	ck_assert_ptr_nonnull(mx);
	uint8_t want[DNAME_MAX];
	size_t wl = ut_name("mail.deep.er.name." ORIGIN, want);
	ck_assert_uint_eq((size_t)(mx->wire[8] << 8 | mx->wire[9]), 2 + wl);
	ck_assert_mem_eq(mx->wire + RR_FIXED_LEN + 2, want, wl);
	xfrin_result_free(&res);
	zone_free(z);
	ans_free(&a);
}
END_TEST

/* A pointer forward, to itself, or past the end: an error, never a loop. */
START_TEST(bad_pointers)
{
	static const char *const rrs[] = {"@ 3600 SOA ns1 hostmaster 1 2 3 4 5", NULL};
	struct ans a = {0};
	ans_rrs(&a, XID, RRTYPE_AXFR, rrs, 0);
	/* the answer's owner is a pointer to the question's name (0xc00c)
	 * right after the question */
	uint8_t apex[DNAME_MAX];
	size_t owner = HDR + ut_name(ORIGIN, apex) + 4;
	uint8_t *m = a.m[0];
	ck_assert_uint_eq(m[owner], 0xc0);
	ck_assert_uint_eq(m[owner + 1], HDR);
	const uint8_t targets[] = {0xff, (uint8_t)owner /* itself */,
	                           (uint8_t)(owner + 4) /* forward */};
	for (size_t i = 0; i < sizeof(targets); i++) {
		m[owner + 1] = targets[i];
		parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "malformed");
	}
	/* a pointer loop inside rdata: the SOA's MNAME pointing at itself */
	m[owner + 1] = HDR;
	size_t rd = owner + 2 + RR_FIXED_LEN;
	uint8_t save[2] = {m[rd], m[rd + 1]};
	m[rd] = (uint8_t)(0xc0 | rd >> 8);
	m[rd + 1] = (uint8_t)rd;
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "malformed rdata");
	m[rd] = save[0];
	m[rd + 1] = save[1];
	ans_free(&a);
}
END_TEST

START_TEST(axfr_shape_errors)
{
	struct texts t;
	struct ans a = {0};
	/* outside the zone, named */
	zone_texts(&t, 3, NULL, NULL);
	tx_add(&t, "www.other.test. 3600 A 192.0.2.1");
	tx_add(&t, soa(3));
	ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 4);
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR,
	            "www.other.test. A): outside the zone");
	ans_free(&a);
	/* not starting with the SOA */
	static const char *const nosoa[] = {"www 3600 A 192.0.2.1", NULL};
	ans_rrs(&a, XID, RRTYPE_AXFR, nosoa, 0);
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "not the zone's SOA");
	ans_free(&a);
	/* an SOA of another serial inside */
	zone_texts(&t, 3, NULL, NULL);
	tx_add(&t, soa(4));
	tx_add(&t, "x 3600 A 192.0.2.1");
	tx_add(&t, soa(3));
	ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 0);
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "an SOA of serial 4 inside");
	ans_free(&a);
	/* a record after the final SOA, in its message */
	zone_texts(&t, 3, NULL, NULL);
	tx_add(&t, soa(3));
	tx_add(&t, "late 3600 A 192.0.2.1");
	ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 0);
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "after the final SOA");
	ans_free(&a);
	/* class CH */
	zone_texts(&t, 3, NULL, NULL);
	tx_add(&t, "ch 3600 CH TXT \"x\"");
	tx_add(&t, soa(3));
	ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 0);
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "class 3, not IN");
	ans_free(&a);
	/* a zone without NS: complete, but not a zone */
	static const char *const bare[] = {"@ 3600 SOA ns1 hostmaster 1 2 3 4 5",
	                                   "www 3600 A 192.0.2.1",
	                                   "@ 3600 SOA ns1 hostmaster 1 2 3 4 5", NULL};
	ans_rrs(&a, XID, RRTYPE_AXFR, bare, 0);
	struct xfrin_parse *p = parser(XFRIN_AXFR, NULL, NULL, 0);
	char why[512];
	ck_assert_int_eq(feed(p, &a, why, sizeof(why), NULL), XFRIN_DONE);
	struct xfrin_result res;
	ck_assert_int_eq(xfrin_parse_finish(p, &res, NULL, NULL, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, "no NS"), "%s", why);
	ck_assert_ptr_null(res.zone);
	xfrin_parse_free(p);
	ans_free(&a);
}
END_TEST

/* The stream ends before the final SOA: every message is fine, the
 * parser still wants more, and finish refuses. */
START_TEST(missing_closing_soa)
{
	struct texts t;
	zone_texts(&t, 3, NULL, NULL);
	struct ans a = {0};
	ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 2);
	struct xfrin_parse *p = parser(XFRIN_AXFR, NULL, NULL, 0);
	char why[512];
	size_t at;
	ck_assert_int_eq(feed(p, &a, why, sizeof(why), &at), XFRIN_MORE);
	ck_assert_uint_eq(at, a.n);
	struct xfrin_result res;
	ck_assert_int_eq(xfrin_parse_finish(p, &res, NULL, NULL, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, "not complete"), "%s", why);
	xfrin_parse_free(p);
	ans_free(&a);
}
END_TEST

START_TEST(header_errors)
{
	struct ans a = {0};
	struct texts t;
	zone_texts(&t, 3, NULL, NULL);
	tx_add(&t, soa(3));
	/* another ID (in the second message) */
	ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 5);
	ck_assert_uint_ge(a.n, 2);
	a.m[1][1] ^= 1;
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "message 2: ID");
	ans_free(&a);
	/* TC */
	struct mspec s = {.id = XID, .qtype = RRTYPE_AXFR, .question = true, .tc = true};
	ans_one(&a, &s);
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "truncated");
	ans_free(&a);
	/* QR 0, opcode NOTIFY */
	ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 0);
	a.m[0][2] &= 0x7f;
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "QR 0");
	a.m[0][2] |= 0x80 | 4 << 3;
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "opcode 4");
	ans_free(&a);
	/* the question: another zone, another type; none in the first */
	s = (struct mspec){
	    .id = XID, .qtype = RRTYPE_AXFR, .question = true, .qname = "other.test."};
	ans_one(&a, &s);
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "another zone");
	ans_free(&a);
	s = (struct mspec){.id = XID, .qtype = RRTYPE_IXFR, .question = true};
	ans_one(&a, &s);
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "another type");
	ans_free(&a);
	s = (struct mspec){.id = XID};
	ans_one(&a, &s);
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "0 questions");
	ans_free(&a);
	/* shorter than a header; octets after the last record */
	static const uint8_t tiny[5] = {0x42, 0x42, 0x80, 0, 0};
	ans_push(&a, tiny, sizeof(tiny));
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "shorter than a DNS header");
	ans_free(&a);
	ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 0);
	a.m[0][a.len[0]++] = 0;
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "octets after the last record");
	ans_free(&a);
}
END_TEST

START_TEST(rcodes)
{
	struct zone *base = zone_of(1, NULL, NULL);
	struct ans a = {0};
	struct mspec s = {.id = XID, .qtype = RRTYPE_IXFR, .question = true, .rcode = 5};
	ans_one(&a, &s);
	parse_fails(XFRIN_IXFR, base, NULL, &a, XFRIN_ERROR, "REFUSED");
	ans_free(&a);
	s.rcode = 4;
	ans_one(&a, &s);
	parse_fails(XFRIN_IXFR, base, NULL, &a, XFRIN_FALLBACK, "NOTIMP to IXFR");
	ans_free(&a);
	s.rcode = 1;
	s.question = false; /* a FORMERR may come without the question */
	ans_one(&a, &s);
	parse_fails(XFRIN_IXFR, base, NULL, &a, XFRIN_FALLBACK, "FORMERR to IXFR");
	ans_free(&a);
	s.rcode = 2;
	ans_one(&a, &s);
	parse_fails(XFRIN_IXFR, base, NULL, &a, XFRIN_ERROR, "SERVFAIL");
	ans_free(&a);
	s.rcode = 9;
	ans_one(&a, &s);
	parse_fails(XFRIN_IXFR, base, NULL, &a, XFRIN_ERROR, "NOTAUTH");
	ans_free(&a);
	/* NOTIMP to an AXFR: nothing to fall back to */
	s = (struct mspec){.id = XID, .qtype = RRTYPE_AXFR, .question = true, .rcode = 4};
	ans_one(&a, &s);
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "NOTIMP");
	ans_free(&a);
	zone_free(base);
}
END_TEST

START_TEST(max_size)
{
	struct texts t;
	zone_texts(&t, 3, NULL, NULL);
	tx_add(&t, soa(3));
	struct ans a = {0};
	ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 3);
	struct xfrin_parse *p = parser(XFRIN_AXFR, NULL, NULL, 200);
	char why[512];
	ck_assert_int_eq(feed(p, &a, why, sizeof(why), NULL), XFRIN_ERROR);
	ck_assert_int_eq(xfrin_parse_error(p), -EFBIG);
	ck_assert_msg(strstr(why, "more than 200 octets"), "%s", why);
	xfrin_parse_free(p);
	/* just enough: the whole answer's octets */
	struct xfrin_result res;
	parse_ok(XFRIN_AXFR, NULL, NULL, &a, &res, NULL);
	uint64_t octets = res.octets;
	xfrin_result_free(&res);
	p = parser(XFRIN_AXFR, NULL, NULL, octets);
	ck_assert_int_eq(feed(p, &a, why, sizeof(why), NULL), XFRIN_DONE);
	xfrin_parse_free(p);
	p = parser(XFRIN_AXFR, NULL, NULL, octets - 1);
	ck_assert_int_eq(feed(p, &a, why, sizeof(why), NULL), XFRIN_ERROR);
	ck_assert_int_eq(xfrin_parse_error(p), -EFBIG);
	xfrin_parse_free(p);
	ans_free(&a);
}
END_TEST

/* ---- IXFR ---- */

static const char *const DEL2[] = {"www 3600 A 192.0.2.80", NULL};
static const char *const ADD2[] = {"www 3600 A 192.0.2.81", "new 3600 TXT \"one\"", NULL};

/* RFC 1995 §7's condensed form: one difference, in one message or one
 * record per message. */
START_TEST(ixfr_condensed)
{
	for (int per = 0; per <= 1; per++) {
		struct zone *base = zone_of(1, NULL, NULL);
		struct zone *want = zone_of(2, ADD2, DEL2);
		struct texts t = {0};
		tx_add(&t, soa(2));
		tx_add(&t, soa(1));
		tx_addv(&t, DEL2);
		tx_add(&t, soa(2));
		tx_addv(&t, ADD2);
		tx_add(&t, soa(2));
		struct ans a = {0};
		ans_rrs(&a, XID, RRTYPE_IXFR, t.v, (size_t)per);
		struct xfrin_result res;
		parse_ok(XFRIN_IXFR, base, NULL, &a, &res, NULL);
		ck_assert(!res.full);
		ck_assert_uint_eq(res.serial, 2);
		ck_assert_uint_eq(res.ncs, 1);
		ck_assert_uint_eq(res.cs[0]->from, 1);
		ck_assert_uint_eq(res.cs[0]->to, 2);
		ck_assert_uint_eq(res.cs[0]->nremoved, 1);
		ck_assert_uint_eq(res.cs[0]->nadded, 2);
		ck_assert_int_eq(changeset_check(res.cs[0], NULL, 0), 0);
		expect_same(want, res.zone);
		/* the base is as it was */
		struct zone *one = zone_of(1, NULL, NULL);
		expect_same(one, base);
		xfrin_result_free(&res);
		zone_free(one);
		zone_free(want);
		zone_free(base);
		ans_free(&a);
	}
}
END_TEST

/* Versions 1..4 and the differences between them, as check_ixfr.c. */
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
    {"deep.er.name 3600 MX 5 mail.xin.test.", "www 3600 A 192.0.2.80", NULL},
};

struct chain {
	struct zone *v[5];
	struct changeset *cs[4]; /* cs[i]: v[i] -> v[i+1] */
};

static void chain_make(struct chain *c)
{
	memset(c, 0, sizeof(*c));
	const char *add[16], *del[16];
	size_t na = 0, nd = 0;
	add[0] = del[0] = NULL;
	c->v[1] = zone_of(1, NULL, NULL);
	for (uint32_t s = 2; s <= 4; s++) {
		/* a step may add back what an earlier one removed */
		for (size_t i = 0; STEP_DEL[s - 1][i]; i++) {
			bool was_added = false;
			for (size_t k = 0; k < na; k++)
				if (add[k] && !strcmp(add[k], STEP_DEL[s - 1][i])) {
					add[k] = add[--na];
					add[na] = NULL;
					was_added = true;
					break;
				}
			if (!was_added) {
				del[nd++] = STEP_DEL[s - 1][i];
				del[nd] = NULL;
			}
		}
		for (size_t i = 0; STEP_ADD[s - 1][i]; i++) {
			bool was_deleted = false;
			for (size_t k = 0; k < nd; k++)
				if (!strcmp(del[k], STEP_ADD[s - 1][i])) {
					del[k] = del[--nd];
					del[nd] = NULL;
					was_deleted = true;
					break;
				}
			if (!was_deleted) {
				add[na++] = STEP_ADD[s - 1][i];
				add[na] = NULL;
			}
		}
		c->v[s] = zone_of(s, add, del);
		ck_assert_int_eq(zone_diff(c->v[s - 1], c->v[s], &c->cs[s - 1]), 0);
	}
	zone_ref(c->v[4]); /* served: streams hold and release it */
}

static void chain_free(struct chain *c)
{
	for (int s = 1; s <= 3; s++)
		changeset_unref(c->cs[s]);
	zone_unref(c->v[4]);
	for (int s = 1; s <= 3; s++)
		zone_free(c->v[s]);
}

/* The uncondensed form, as shoal's ixfr.c sends it: three differences. */
START_TEST(ixfr_uncondensed)
{
	struct chain c;
	chain_make(&c);
	struct ans a = {0};
	ans_ixfr(&a, c.v[4], &c.cs[1], 3, XID);
	struct zone *base = zone_of(1, NULL, NULL);
	struct xfrin_result res;
	parse_ok(XFRIN_IXFR, base, NULL, &a, &res, NULL);
	ck_assert(!res.full);
	ck_assert_uint_eq(res.ncs, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(res.cs[i]->from, (uint32_t)i + 1);
		ck_assert_uint_eq(res.cs[i]->to, (uint32_t)i + 2);
		ck_assert_uint_eq(res.cs[i]->nremoved, c.cs[i + 1]->nremoved);
		ck_assert_uint_eq(res.cs[i]->nadded, c.cs[i + 1]->nadded);
	}
	ck_assert_uint_eq(res.serial, 4);
	expect_same(c.v[4], res.zone);
	xfrin_result_free(&res);
	/* one record per message, the same */
	struct texts t = {0};
	struct ans b = {0};
	static char text[64][256];
	size_t nt = 0;
	for (size_t m = 0; m < a.n; m++) {
		ldns_pkt *pk = NULL;
		ck_assert_int_eq(ldns_wire2pkt(&pk, a.m[m], a.len[m]), LDNS_STATUS_OK);
		for (size_t i = 0; i < ldns_pkt_ancount(pk); i++) {
			char *s = ldns_rr2str(ldns_rr_list_rr(ldns_pkt_answer(pk), i));
			ck_assert_uint_lt(nt, 64);
			snprintf(text[nt], sizeof(text[nt]), "%s", s);
			text[nt][strcspn(text[nt], "\n")] = 0;
			tx_add(&t, text[nt++]);
			free(s);
		}
		ldns_pkt_free(pk);
	}
	ans_rrs(&b, XID, RRTYPE_IXFR, t.v, 1);
	/* base has a successor now (released, but made): a second update
	 * from it is refused, not attempted (zone_update_begin wants the
	 * newest version) */
	struct xfrin_parse *p = parser(XFRIN_IXFR, base, NULL, 0);
	char why[512];
	ck_assert_int_eq(feed(p, &b, why, sizeof(why), NULL), XFRIN_DONE);
	ck_assert_int_eq(xfrin_parse_finish(p, &res, NULL, NULL, why, sizeof(why)), -EINVAL);
	ck_assert_msg(strstr(why, "successor"), "%s", why);
	xfrin_parse_free(p);
	zone_free(base);
	base = zone_of(1, NULL, NULL);
	parse_ok(XFRIN_IXFR, base, NULL, &b, &res, NULL);
	ck_assert_uint_eq(res.ncs, 3);
	expect_same(c.v[4], res.zone);
	xfrin_result_free(&res);
	ans_free(&a);
	ans_free(&b);
	zone_free(base);
	chain_free(&c);
}
END_TEST

/* RFC 1995 §4: an IXFR may be answered with the whole zone. */
START_TEST(ixfr_as_whole_zone)
{
	struct zone *base = zone_of(1, NULL, NULL);
	struct zone *want = zone_of(2, ADD2, DEL2);
	zone_ref(want);
	struct ans a = {0};
	struct query q;
	request_query(&q, RRTYPE_IXFR, XID);
	/* axfr.c's stream with the IXFR question, as a primary without a
	 * journal sends it */
	static uint8_t buf[65535];
	struct axfr x;
	axfr_start(&x, want, &q);
	size_t len;
	while ((len = axfr_next(&x, buf, sizeof(buf))) > 0)
		ans_push(&a, buf, len);
	axfr_end(&x);
	struct xfrin_result res;
	parse_ok(XFRIN_IXFR, base, NULL, &a, &res, NULL);
	ck_assert(res.full);
	ck_assert_uint_eq(res.ncs, 0);
	expect_same(want, res.zone);
	xfrin_result_free(&res);
	ans_free(&a);
	/* one record per message: the second record decides */
	struct texts t;
	zone_texts(&t, 2, ADD2, DEL2);
	tx_add(&t, soa(2));
	ans_rrs(&a, XID, RRTYPE_IXFR, t.v, 1);
	parse_ok(XFRIN_IXFR, base, NULL, &a, &res, NULL);
	ck_assert(res.full);
	expect_same(want, res.zone);
	xfrin_result_free(&res);
	ans_free(&a);
	zone_unref(want);
	zone_free(base);
}
END_TEST

START_TEST(ixfr_uptodate)
{
	struct zone *base = zone_of(5, NULL, NULL);
	static const uint32_t serials[] = {5, 4, 5u + 0x80000000u /* undefined: not newer */};
	for (size_t i = 0; i < 3; i++) {
		const char *rrs[] = {soa(serials[i]), NULL};
		struct ans a = {0};
		ans_rrs(&a, XID, RRTYPE_IXFR, rrs, 0);
		struct xfrin_parse *p = parser(XFRIN_IXFR, base, NULL, 0);
		char why[512];
		ck_assert_int_eq(feed(p, &a, why, sizeof(why), NULL), XFRIN_UPTODATE);
		ck_assert_uint_eq(xfrin_parse_serial(p), serials[i]);
		xfrin_parse_free(p);
		ans_free(&a);
	}
	/* a newer SOA alone in a message is the start of a stream */
	const char *rrs[] = {soa(6), NULL};
	struct ans a = {0};
	ans_rrs(&a, XID, RRTYPE_IXFR, rrs, 0);
	struct xfrin_parse *p = parser(XFRIN_IXFR, base, NULL, 0);
	char why[512];
	ck_assert_int_eq(feed(p, &a, why, sizeof(why), NULL), XFRIN_MORE);
	xfrin_parse_free(p);
	ans_free(&a);
	zone_free(base);
}
END_TEST

START_TEST(ixfr_wrong_start)
{
	struct zone *base = zone_of(1, NULL, NULL);
	struct texts t = {0};
	struct ans a = {0};
	/* a difference from 2 while we have 1 */
	tx_add(&t, soa(3));
	tx_add(&t, soa(2));
	tx_add(&t, soa(3));
	tx_add(&t, soa(3));
	ans_rrs(&a, XID, RRTYPE_IXFR, t.v, 0);
	parse_fails(XFRIN_IXFR, base, NULL, &a, XFRIN_FALLBACK,
	            "the differences start at serial 2, we have 1");
	ans_free(&a);
	/* a gap between two differences */
	t.n = 0;
	tx_add(&t, soa(4));
	tx_add(&t, soa(1));
	tx_addv(&t, DEL2);
	tx_add(&t, soa(2));
	tx_addv(&t, ADD2);
	tx_add(&t, soa(3));
	tx_add(&t, soa(4));
	tx_add(&t, soa(4));
	ans_rrs(&a, XID, RRTYPE_IXFR, t.v, 2);
	parse_fails(XFRIN_IXFR, base, NULL, &a, XFRIN_FALLBACK,
	            "a difference starts at serial 3, the one before ended at 2");
	ans_free(&a);
	zone_free(base);
}
END_TEST

/* Differences that do not fit base (RFC 1995 §4 inconsistent): finish
 * says so, base keeps no successor, and the right IXFR then applies. */
START_TEST(ixfr_inconsistent)
{
	struct zone *base = zone_of(1, NULL, NULL);
	struct texts t = {0};
	struct ans a = {0};
	char why[512];
	struct xfrin_result res;
	for (int k = 0; k < 3; k++) {
		t.n = 0;
		tx_add(&t, soa(3));
		tx_add(&t, soa(1));
		if (k == 0)
			tx_add(&t, "nothere 3600 A 192.0.2.99"); /* a removal we lack */
		tx_add(&t, soa(2));
		if (k == 1)
			tx_add(&t, "www 3600 A 192.0.2.80"); /* an addition we have */
		tx_add(&t, soa(2));
		tx_add(&t, soa(3));
		if (k == 2)
			tx_add(&t, "alias 3600 A 192.0.2.1"); /* beside a CNAME */
		tx_add(&t, soa(3));
		ans_rrs(&a, XID, RRTYPE_IXFR, t.v, 0);
		struct xfrin_parse *p = parser(XFRIN_IXFR, base, NULL, 0);
		ck_assert_int_eq(feed(p, &a, why, sizeof(why), NULL), XFRIN_DONE);
		ck_assert_int_eq(xfrin_parse_finish(p, &res, NULL, NULL, why, sizeof(why)),
		                 -EINVAL);
		static const char *const needle[] = {"removing nothere." ORIGIN " A",
		                                     "adding www." ORIGIN " A", "CNAME"};
		ck_assert_msg(strstr(why, needle[k]), "%s", why);
		ck_assert_ptr_null(res.zone);
		ck_assert_ptr_null(base->newer);
		xfrin_parse_free(p);
		ans_free(&a);
	}
	t.n = 0;
	tx_add(&t, soa(2));
	tx_add(&t, soa(1));
	tx_addv(&t, DEL2);
	tx_add(&t, soa(2));
	tx_addv(&t, ADD2);
	tx_add(&t, soa(2));
	ans_rrs(&a, XID, RRTYPE_IXFR, t.v, 0);
	parse_ok(XFRIN_IXFR, base, NULL, &a, &res, NULL);
	struct zone *want = zone_of(2, ADD2, DEL2);
	expect_same(want, res.zone);
	xfrin_result_free(&res);
	zone_free(want);
	ans_free(&a);
	zone_free(base);
}
END_TEST

/* The old SOA of a difference is removed as we hold it, whatever TTL the
 * primary wrote it with; the new SOA's TTL is taken. */
START_TEST(ixfr_soa_ttl)
{
	struct zone *base = zone_of(1, NULL, NULL);
	struct texts t = {0};
	tx_add(&t, "@ 600 SOA ns1 hostmaster 2 7200 3600 1209600 300");
	tx_add(&t, "@ 60 SOA ns1 hostmaster 1 7200 3600 1209600 300");
	tx_add(&t, "@ 600 SOA ns1 hostmaster 2 7200 3600 1209600 300");
	tx_add(&t, "@ 600 SOA ns1 hostmaster 2 7200 3600 1209600 300");
	struct ans a = {0};
	ans_rrs(&a, XID, RRTYPE_IXFR, t.v, 0);
	struct xfrin_result res;
	parse_ok(XFRIN_IXFR, base, NULL, &a, &res, NULL);
	ck_assert_uint_eq(res.zone->soa->ttl, 600);
	ck_assert_uint_eq(res.zone->serial, 2);
	xfrin_result_free(&res);
	ans_free(&a);
	zone_free(base);
}
END_TEST

/* ---- TSIG ---- */

static void make_key(struct conf_key *k)
{
	memset(k, 0, sizeof(*k));
	k->id = KEY_NAME;
	uint8_t w[DNAME_MAX];
	k->name_len = ut_name(KEY_NAME, w);
	dname_lower(k->name, w, k->name_len);
	k->alg = CONF_HMAC_SHA256;
	k->secret_len = 32;
	for (size_t i = 0; i < k->secret_len; i++)
		k->secret[i] = (uint8_t)(i * 37 + 11);
}

/* The client signs its request (ct), the server verifies it and signs
 * the answer's messages: the first, every `every`-th after it, the last
 * unless `last_unsigned`. */
static void sign_answer(struct ans *a, const struct conf_key *k, uint16_t qtype,
                        struct tsig_state *ct, int every, bool last_unsigned)
{
	uint8_t req[512 + TSIG_RR_MAX];
	struct ut_q spec = {.name = ORIGIN, .type = qtype, .id = XID};
	size_t len = ut_query_wire(&spec, req, 512);
	ck_assert_int_eq(tsig_sign_request(ct, k, req, &len, sizeof(req), NOW), 0);
	struct tsig_keyring ring = {.keys = k, .nkeys = 1};
	struct tsig_state st;
	ck_assert_int_eq(tsig_verify_request(&st, req, len, &ring, NOW), TSIG_OK);
	for (size_t i = 0; i < a->n; i++) {
		bool last = i + 1 == a->n;
		bool sign = last ? !last_unsigned : i == 0 || (int)i % every == 0;
		if (sign)
			ck_assert_int_eq(
			    tsig_sign_next(&st, a->m[i], &a->len[i], a->len[i] + TSIG_RR_MAX, NOW),
			    0);
		else
			ck_assert_int_eq(tsig_sign_skip(&st, a->m[i], a->len[i]), 0);
	}
	tsig_state_clear(&st);
}

START_TEST(tsig_streams)
{
	struct conf_key k;
	make_key(&k);
	struct texts t;
	zone_texts(&t, 3, NULL, NULL);
	struct zone *want = ut_zone(ORIGIN, t.v);
	tx_add(&t, soa(3));
	for (int every = 1; every <= 3; every += 2) {
		struct ans a = {0};
		ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 1);
		ck_assert_uint_ge(a.n, 10);
		struct tsig_state ct;
		sign_answer(&a, &k, RRTYPE_AXFR, &ct, every, false);
		struct xfrin_result res;
		parse_ok(XFRIN_AXFR, NULL, &ct, &a, &res, NULL);
		expect_same(want, res.zone);
		xfrin_result_free(&res);
		tsig_state_clear(&ct);
		ans_free(&a);
	}
	/* the last message unsigned: what follows the last MAC is not
	 * authenticated */
	struct ans a = {0};
	struct tsig_state ct;
	ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 1);
	sign_answer(&a, &k, RRTYPE_AXFR, &ct, 3, true);
	parse_fails(XFRIN_AXFR, NULL, &ct, &a, XFRIN_ERROR, "the last message is not signed");
	tsig_state_clear(&ct);
	ans_free(&a);
	/* a changed octet: BADSIG */
	ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 1);
	sign_answer(&a, &k, RRTYPE_AXFR, &ct, 1, false);
	a.m[2][2] ^= 0x04; /* AA */
	parse_fails(XFRIN_AXFR, NULL, &ct, &a, XFRIN_ERROR, "message 3: TSIG BADSIG");
	tsig_state_clear(&ct);
	ans_free(&a);
	/* unsigned answer to a signed request */
	ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 0);
	uint8_t req[512 + TSIG_RR_MAX];
	struct ut_q spec = {.name = ORIGIN, .type = RRTYPE_AXFR, .id = XID};
	size_t len = ut_query_wire(&spec, req, 512);
	ck_assert_int_eq(tsig_sign_request(&ct, &k, req, &len, sizeof(req), NOW), 0);
	parse_fails(XFRIN_AXFR, NULL, &ct, &a, XFRIN_ERROR, "unsigned answer to a signed request");
	tsig_state_clear(&ct);
	ans_free(&a);
	/* signed answer to an unsigned request */
	ans_rrs(&a, XID, RRTYPE_AXFR, t.v, 0);
	sign_answer(&a, &k, RRTYPE_AXFR, &ct, 1, false);
	tsig_state_clear(&ct);
	parse_fails(XFRIN_AXFR, NULL, NULL, &a, XFRIN_ERROR, "signed answer (TSIG)");
	ans_free(&a);
	/* a signed IXFR, and an unsigned NOTIMP to a signed IXFR (RFC 8945
	 * §5.3 lets an error go unsigned): AXFR */
	struct zone *base = zone_of(1, NULL, NULL);
	t.n = 0;
	tx_add(&t, soa(2));
	tx_add(&t, soa(1));
	tx_addv(&t, DEL2);
	tx_add(&t, soa(2));
	tx_addv(&t, ADD2);
	tx_add(&t, soa(2));
	ans_rrs(&a, XID, RRTYPE_IXFR, t.v, 2);
	sign_answer(&a, &k, RRTYPE_IXFR, &ct, 2, false);
	struct xfrin_result res;
	parse_ok(XFRIN_IXFR, base, &ct, &a, &res, NULL);
	ck_assert_uint_eq(res.serial, 2);
	xfrin_result_free(&res);
	tsig_state_clear(&ct);
	ans_free(&a);
	struct mspec s = {.id = XID, .qtype = RRTYPE_IXFR, .question = true, .rcode = 4};
	ans_one(&a, &s);
	len =
	    ut_query_wire(&(struct ut_q){.name = ORIGIN, .type = RRTYPE_IXFR, .id = XID}, req, 512);
	ck_assert_int_eq(tsig_sign_request(&ct, &k, req, &len, sizeof(req), NOW), 0);
	parse_fails(XFRIN_IXFR, base, &ct, &a, XFRIN_FALLBACK, "NOTIMP");
	tsig_state_clear(&ct);
	ans_free(&a);
	zone_free(base);
	zone_free(want);
}
END_TEST

/* ---- the network: a fake primary ---- */

enum fake_mode {
	FM_SERVE,       /* IXFR: the changesets, AXFR: the zone */
	FM_NOTIMP_IXFR, /* NOTIMP to IXFR, AXFR served */
	FM_CLOSE_MID,   /* the first message of the AXFR, then close */
	FM_STALL,       /* the first message, then nothing until the client goes */
	FM_SOA,         /* UDP: a stray datagram, then the SOA; TCP: the SOA */
	FM_SOA_TC,      /* UDP: truncated; TCP: the SOA */
	FM_SILENT,      /* UDP: nothing */
};

struct fake {
	enum fake_mode mode;
	int tcp, udp;
	uint16_t port;
	pthread_t th;
	atomic_bool stop;
	struct zone *z;        /* served */
	struct changeset **cs; /* IXFR from cs[0]->from */
	size_t ncs;
	const struct conf_key *key; /* answers signed when the request was */
	atomic_uint tcp_conns, udp_queries;
	uint16_t qtypes[8]; /* of each TCP request */
};

static bool read_full(int fd, uint8_t *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 5000) <= 0)
			return false;
		ssize_t n = recv(fd, buf + off, len - off, 0);
		if (n <= 0)
			return false;
		off += (size_t)n;
	}
	return true;
}

/* One TCP message; false when the client has gone (it may stop reading
 * half way: a size limit, an error). */
static bool send_msg(int fd, const uint8_t *m, size_t len)
{
	uint8_t pre[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	return send(fd, pre, 2, MSG_NOSIGNAL) == 2 &&
	       send(fd, m, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* The SOA answer to request `req` (UDP or TCP): AA, the SOA, an OPT with
 * EXPIRE 86400; or TC and nothing. */
static size_t soa_answer_make(struct fake *f, const uint8_t *req, size_t rlen, uint8_t *out,
                              size_t cap, bool tc)
{
	struct query q;
	enum query_status qs = query_parse(&q, req, rlen, false);
	ck_assert(qs == QUERY_OK || qs == QUERY_BADKEY); /* BADKEY: signed */
	struct mspec s = {.id = (uint16_t)(req[0] << 8 | req[1]),
	                  .qtype = RRTYPE_SOA,
	                  .question = true,
	                  .tc = tc};
	const char *rrs[] = {soa(f->z->serial), NULL};
	size_t len = msg_make(out, cap, &s, rrs, tc ? 0 : 1);
	static const uint8_t opt[] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0,    0,   0,
	                              8, 0, 9,  0,    4,    0, 1, 0x51, 0x80};
	memcpy(out + len, opt, sizeof(opt));
	out[11]++;
	return len + sizeof(opt);
}

static void serve_udp(struct fake *f)
{
	uint8_t req[1024], out[4096];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(f->udp, req, sizeof(req), 0, (struct sockaddr *)&from, &fl);
	if (n < HDR)
		return;
	atomic_fetch_add(&f->udp_queries, 1);
	if (f->mode == FM_SILENT)
		return;
	size_t len = soa_answer_make(f, req, (size_t)n, out, sizeof(out), f->mode == FM_SOA_TC);
	if (f->key && f->mode == FM_SOA) {
		/* a signed answer (the truncated one goes unsigned) */
		struct tsig_keyring ring = {.keys = f->key, .nkeys = 1};
		struct tsig_state st;
		ck_assert_int_eq(
		    tsig_verify_request(&st, req, (size_t)n, &ring, (uint64_t)time(NULL)), TSIG_OK);
		ck_assert_int_eq(
		    tsig_sign_response(&st, out, &len, sizeof(out), (uint64_t)time(NULL)), 0);
		tsig_state_clear(&st);
	}
	if (f->mode == FM_SOA) {
		/* first a datagram with another ID, from the right place:
		 * ignored */
		out[1] ^= 0x55;
		sendto(f->udp, out, len, 0, (struct sockaddr *)&from, fl);
		out[1] ^= 0x55;
	}
	sendto(f->udp, out, len, 0, (struct sockaddr *)&from, fl);
}

static void serve_tcp(struct fake *f, int c)
{
	unsigned idx = atomic_fetch_add(&f->tcp_conns, 1);
	uint8_t pre[2], req[2048];
	if (!read_full(c, pre, 2))
		return;
	size_t rlen = (size_t)(pre[0] << 8 | pre[1]);
	if (rlen > sizeof(req) || !read_full(c, req, rlen))
		return;
	struct query q;
	enum query_status qs = query_parse(&q, req, rlen, true);
	ck_assert(qs == QUERY_OK || qs == QUERY_BADKEY); /* BADKEY: signed */
	if (idx < 8)
		f->qtypes[idx] = q.qtype;
	static uint8_t out[65535 + TSIG_RR_MAX];
	struct tsig_state st;
	bool sign = false;
	if (f->key) {
		struct tsig_keyring ring = {.keys = f->key, .nkeys = 1};
		ck_assert_int_eq(tsig_verify_request(&st, req, rlen, &ring, (uint64_t)time(NULL)),
		                 TSIG_OK);
		sign = true;
	}
	size_t len;
	if (q.qtype == RRTYPE_SOA || (q.qtype == RRTYPE_IXFR && f->mode == FM_NOTIMP_IXFR)) {
		if (q.qtype == RRTYPE_SOA) {
			len = soa_answer_make(f, req, rlen, out, 65535, false);
		} else {
			struct mspec s = {.id = (uint16_t)(req[0] << 8 | req[1]),
			                  .qtype = RRTYPE_IXFR,
			                  .question = true,
			                  .rcode = 4};
			len = msg_make(out, 65535, &s, NULL, 0);
		}
		if (sign) {
			ck_assert_int_eq(
			    tsig_sign_response(&st, out, &len, sizeof(out), (uint64_t)time(NULL)),
			    0);
			tsig_state_clear(&st);
		}
		(void)send_msg(c, out, len);
		return;
	}
	struct axfr ax;
	struct ixfr ix;
	bool incremental = q.qtype == RRTYPE_IXFR && f->cs;
	if (incremental)
		ck_assert_int_eq(ixfr_start(&ix, f->z, f->cs, f->ncs, &q), 0);
	else
		axfr_start(&ax, f->z, &q);
	unsigned k = 0;
	while ((len = incremental ? ixfr_next(&ix, out, 65535) : axfr_next(&ax, out, 65535)) > 0) {
		if (sign)
			ck_assert_int_eq(
			    tsig_sign_next(&st, out, &len, sizeof(out), (uint64_t)time(NULL)), 0);
		if (!send_msg(c, out, len))
			break;
		if (++k == 1 && f->mode == FM_CLOSE_MID)
			break;
		if (k == 1 && f->mode == FM_STALL) {
			/* until the client gives up and closes */
			struct pollfd pfd = {.fd = c, .events = POLLIN};
			poll(&pfd, 1, 10000);
			break;
		}
	}
	if (incremental)
		ixfr_end(&ix);
	else
		axfr_end(&ax);
	if (sign)
		tsig_state_clear(&st);
}

static void *fake_thread(void *arg)
{
	struct fake *f = arg;
	while (!atomic_load(&f->stop)) {
		struct pollfd pfd[2] = {{.fd = f->tcp, .events = POLLIN},
		                        {.fd = f->udp, .events = POLLIN}};
		if (poll(pfd, 2, 50) <= 0)
			continue;
		if (pfd[1].revents & POLLIN)
			serve_udp(f);
		if (pfd[0].revents & POLLIN) {
			int c = accept(f->tcp, NULL, NULL);
			if (c >= 0) {
				serve_tcp(f, c);
				close(c);
			}
		}
	}
	return NULL;
}

static void fake_start(struct fake *f, enum fake_mode mode)
{
	f->mode = mode;
	atomic_init(&f->stop, false);
	atomic_init(&f->tcp_conns, 0);
	atomic_init(&f->udp_queries, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	f->tcp = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(f->tcp, 0);
	int one = 1;
	setsockopt(f->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(f->tcp, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t sl = sizeof(sa);
	ck_assert_int_eq(getsockname(f->tcp, (struct sockaddr *)&sa, &sl), 0);
	ck_assert_int_eq(listen(f->tcp, 8), 0);
	f->udp = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(f->udp, 0);
	ck_assert_int_eq(bind(f->udp, (struct sockaddr *)&sa, sizeof(sa)), 0);
	f->port = ntohs(sa.sin_port);
	ck_assert_int_eq(pthread_create(&f->th, NULL, fake_thread, f), 0);
}

static void fake_stop(struct fake *f)
{
	atomic_store(&f->stop, true);
	pthread_join(f->th, NULL);
	close(f->tcp);
	close(f->udp);
}

static void remote_of(struct xfrin_remote *r, uint16_t port, const struct conf_key *key)
{
	memset(r, 0, sizeof(*r));
	struct sockaddr_in *sa = (struct sockaddr_in *)&r->addr;
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa->sin_port = htons(port);
	r->addr_len = sizeof(*sa);
	r->key = key;
	r->name = "fake";
	/* the source bound explicitly */
	struct sockaddr_in *src = (struct sockaddr_in *)&r->source;
	src->sin_family = AF_INET;
	src->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->source_len = sizeof(*src);
}

START_TEST(net_ixfr)
{
	struct chain c;
	chain_make(&c);
	struct conf_key k;
	make_key(&k);
	for (int signed_ = 0; signed_ <= 1; signed_++) {
		struct fake f = {.z = c.v[4], .cs = &c.cs[1], .ncs = 3, .key = signed_ ? &k : NULL};
		fake_start(&f, FM_SERVE);
		struct xfrin_remote r;
		remote_of(&r, f.port, f.key);
		uint8_t apex[DNAME_MAX];
		size_t al = apex_wire(apex);
		struct zone *base = zone_of(1, NULL, NULL);
		struct xfrin_result res;
		char note[512], why[512];
		int ret = xfrin_transfer(&r, apex, al, base, false, NULL, &res, note, sizeof(note),
		                         why, sizeof(why));
		ck_assert_msg(ret == 0, "%d %s", ret, why);
		ck_assert_str_eq(note, "");
		ck_assert(!res.full);
		ck_assert_uint_eq(res.ncs, 3);
		ck_assert_uint_eq(res.serial, 4);
		expect_same(c.v[4], res.zone);
		xfrin_result_free(&res);
		/* the same as AXFR */
		ret = xfrin_transfer(&r, apex, al, base, true, NULL, &res, note, sizeof(note), why,
		                     sizeof(why));
		ck_assert_msg(ret == 0, "%d %s", ret, why);
		ck_assert(res.full);
		expect_same(c.v[4], res.zone);
		xfrin_result_free(&res);
		/* up to date */
		struct zone *cur = zone_of(4, NULL, NULL);
		f.ncs = 0;
		ret = xfrin_transfer(&r, apex, al, cur, false, NULL, &res, note, sizeof(note), why,
		                     sizeof(why));
		ck_assert_msg(ret == 1, "%d %s", ret, why);
		ck_assert_uint_eq(res.serial, 4);
		ck_assert_ptr_null(res.zone);
		fake_stop(&f);
		ck_assert_uint_eq(atomic_load(&f.tcp_conns), 3);
		ck_assert_uint_eq(f.qtypes[0], RRTYPE_IXFR);
		ck_assert_uint_eq(f.qtypes[1], RRTYPE_AXFR);
		zone_free(cur);
		zone_free(base);
	}
	chain_free(&c);
}
END_TEST

START_TEST(net_notimp_then_axfr)
{
	struct zone *z = zone_of(2, ADD2, DEL2);
	zone_ref(z);
	struct fake f = {.z = z};
	fake_start(&f, FM_NOTIMP_IXFR);
	struct xfrin_remote r;
	remote_of(&r, f.port, NULL);
	uint8_t apex[DNAME_MAX];
	size_t al = apex_wire(apex);
	struct zone *base = zone_of(1, NULL, NULL);
	struct xfrin_result res;
	char note[512], why[512];
	int ret = xfrin_transfer(&r, apex, al, base, false, NULL, &res, note, sizeof(note), why,
	                         sizeof(why));
	ck_assert_msg(ret == 0, "%d %s", ret, why);
	ck_assert_msg(strstr(note, "NOTIMP to IXFR") && strstr(note, "AXFR instead"), "%s", note);
	ck_assert(res.full);
	expect_same(z, res.zone);
	xfrin_result_free(&res);
	fake_stop(&f);
	ck_assert_uint_eq(atomic_load(&f.tcp_conns), 2);
	ck_assert_uint_eq(f.qtypes[0], RRTYPE_IXFR);
	ck_assert_uint_eq(f.qtypes[1], RRTYPE_AXFR);
	zone_free(base);
	zone_unref(z);
}
END_TEST

/* An IXFR whose difference does not fit base: AXFR, said in the note. */
START_TEST(net_inconsistent_then_axfr)
{
	struct zone *v1 = zone_of(1, (const char *const[]){"extra 3600 A 192.0.2.9", NULL}, NULL);
	struct zone *v2 = zone_of(2, ADD2, DEL2);
	struct changeset *cs;
	ck_assert_int_eq(zone_diff(v1, v2, &cs), 0); /* removes `extra`, which base lacks */
	zone_ref(v2);
	struct fake f = {.z = v2, .cs = &cs, .ncs = 1};
	fake_start(&f, FM_SERVE);
	struct xfrin_remote r;
	remote_of(&r, f.port, NULL);
	uint8_t apex[DNAME_MAX];
	size_t al = apex_wire(apex);
	struct zone *base = zone_of(1, NULL, NULL);
	struct xfrin_result res;
	char note[512], why[512];
	int ret = xfrin_transfer(&r, apex, al, base, false, NULL, &res, note, sizeof(note), why,
	                         sizeof(why));
	ck_assert_msg(ret == 0, "%d %s", ret, why);
	ck_assert_msg(strstr(note, "removing extra") && strstr(note, "AXFR instead"), "%s", note);
	ck_assert(res.full);
	expect_same(v2, res.zone);
	xfrin_result_free(&res);
	fake_stop(&f);
	ck_assert_uint_eq(atomic_load(&f.tcp_conns), 2);
	zone_free(base);
	changeset_unref(cs);
	zone_unref(v2);
	zone_free(v1);
}
END_TEST

/* A zone big enough for several messages, for the cases cut half way. */
static struct zone *big_zone(void)
{
	struct texts t;
	zone_texts(&t, 3, NULL, NULL);
	uint8_t apex[DNAME_MAX];
	size_t al = ut_name(ORIGIN, apex);
	struct zone_builder *b = zone_builder_new(apex);
	char msg[256];
	/* the small zone's records, then 3000 A records */
	ldns_rdf *org = ldns_dname_new_frm_str(ORIGIN);
	for (size_t i = 0; t.v[i]; i++) {
		ldns_rr *rr = NULL;
		ck_assert_int_eq(ldns_rr_new_frm_str(&rr, t.v[i], 3600, org, NULL), LDNS_STATUS_OK);
		ldns_buffer *buf = ldns_buffer_new(512);
		ck_assert_int_eq(ldns_rr_rdata2buffer_wire(buf, rr), LDNS_STATUS_OK);
		ck_assert_int_ne(zone_builder_add(b, ldns_rdf_data(ldns_rr_owner(rr)),
		                                  (uint16_t)ldns_rr_get_type(rr), RRCLASS_IN,
		                                  ldns_rr_ttl(rr), ldns_buffer_begin(buf),
		                                  (uint16_t)ldns_buffer_position(buf), msg,
		                                  sizeof(msg)),
		                 ZB_ERROR);
		ldns_buffer_free(buf);
		ldns_rr_free(rr);
	}
	ldns_rdf_deep_free(org);
	for (unsigned i = 0; i < 3000; i++) {
		uint8_t owner[DNAME_MAX];
		int n = snprintf((char *)owner + 1, 20, "host%u", i);
		owner[0] = (uint8_t)n;
		memcpy(owner + 1 + n, apex, al);
		uint8_t rd[4] = {10, 0, (uint8_t)(i >> 8), (uint8_t)i};
		ck_assert_int_eq(
		    zone_builder_add(b, owner, RRTYPE_A, RRCLASS_IN, 60, rd, 4, msg, sizeof(msg)),
		    ZB_OK);
	}
	struct zone *z = zone_builder_finish(b, msg, sizeof(msg));
	ck_assert_msg(z != NULL, "%s", msg);
	return z;
}

START_TEST(net_cut_short)
{
	struct zone *z = big_zone();
	zone_ref(z);
	uint8_t apex[DNAME_MAX];
	size_t al = apex_wire(apex);
	for (int stall = 0; stall <= 1; stall++) {
		struct fake f = {.z = z};
		fake_start(&f, stall ? FM_STALL : FM_CLOSE_MID);
		struct xfrin_remote r;
		remote_of(&r, f.port, NULL);
		struct xfrin_limits lim = {.idle_ms = 300};
		struct xfrin_result res;
		char note[512], why[512];
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int ret = xfrin_transfer(&r, apex, al, NULL, true, &lim, &res, note, sizeof(note),
		                         why, sizeof(why));
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ck_assert_ptr_null(res.zone);
		if (stall) {
			ck_assert_msg(ret == -ETIMEDOUT, "%d %s", ret, why);
			ck_assert_msg(strstr(why, "nothing received for 300 ms after 1 messages"),
			              "%s", why);
			double s =
			    (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
			ck_assert_msg(s >= 0.29 && s < 10, "%.3f s", s);
		} else {
			ck_assert_msg(ret == -ECONNRESET, "%d %s", ret, why);
			ck_assert_msg(strstr(why, "closed the connection after 1 messages"), "%s",
			              why);
		}
		fake_stop(&f);
	}
	/* the total bound */
	struct fake f = {.z = z};
	fake_start(&f, FM_STALL);
	struct xfrin_remote r;
	remote_of(&r, f.port, NULL);
	struct xfrin_limits lim = {.idle_ms = 5000, .total_ms = 300};
	struct xfrin_result res;
	char note[512], why[512];
	int ret = xfrin_transfer(&r, apex, al, NULL, true, &lim, &res, note, sizeof(note), why,
	                         sizeof(why));
	ck_assert_msg(ret == -ETIMEDOUT && strstr(why, "longer than allowed"), "%d %s", ret, why);
	fake_stop(&f);
	/* the size bound */
	fake_start(&f, FM_SERVE);
	remote_of(&r, f.port, NULL);
	lim = (struct xfrin_limits){.max_size = 10000};
	ret = xfrin_transfer(&r, apex, al, NULL, true, &lim, &res, note, sizeof(note), why,
	                     sizeof(why));
	ck_assert_msg(ret == -EFBIG, "%d %s", ret, why);
	fake_stop(&f);
	/* nobody there */
	remote_of(&r, f.port, NULL);
	ret = xfrin_transfer(&r, apex, al, NULL, true, NULL, &res, note, sizeof(note), why,
	                     sizeof(why));
	ck_assert_msg(ret == -ECONNREFUSED, "%d %s", ret, why);
	zone_unref(z);
}
END_TEST

START_TEST(net_soa)
{
	struct zone *z = zone_of(77, NULL, NULL);
	uint8_t apex[DNAME_MAX];
	size_t al = apex_wire(apex);
	struct conf_key k;
	make_key(&k);
	for (int tc = 0; tc <= 1; tc++) {
		struct fake f = {.z = z};
		fake_start(&f, tc ? FM_SOA_TC : FM_SOA);
		struct xfrin_remote r;
		remote_of(&r, f.port, NULL);
		struct xfrin_soa_answer a;
		char why[512];
		int ret = xfrin_soa(&r, apex, al, 2000, &a, why, sizeof(why));
		ck_assert_msg(ret == 0, "%d %s", ret, why);
		ck_assert_uint_eq(a.serial, 77);
		ck_assert_uint_eq(a.refresh, 7200);
		ck_assert_uint_eq(a.retry, 3600);
		ck_assert_uint_eq(a.expire, 1209600);
		ck_assert_uint_eq(a.minimum, 300);
		ck_assert(a.has_expire_opt);
		ck_assert_uint_eq(a.expire_opt, 86400);
		fake_stop(&f);
		ck_assert_uint_eq(atomic_load(&f.udp_queries), 1);
		ck_assert_uint_eq(atomic_load(&f.tcp_conns), tc ? 1 : 0);
	}
	/* signed: over UDP, and over TCP after TC (the truncated UDP answer
	 * is unsigned: it only sends the query to TCP, whose answer the fake
	 * signs) */
	struct fake f;
	struct xfrin_remote r;
	struct xfrin_soa_answer a;
	char why[512];
	int ret;
	for (int tc = 0; tc <= 1; tc++) {
		f = (struct fake){.z = z, .key = &k};
		fake_start(&f, tc ? FM_SOA_TC : FM_SOA);
		remote_of(&r, f.port, &k);
		ret = xfrin_soa(&r, apex, al, 2000, &a, why, sizeof(why));
		ck_assert_msg(ret == 0, "%d %s", ret, why);
		ck_assert_uint_eq(a.serial, 77);
		ck_assert(a.has_expire_opt);
		fake_stop(&f);
	}
	/* signed query, unsigned answer: refused */
	f = (struct fake){.z = z};
	fake_start(&f, FM_SOA);
	remote_of(&r, f.port, &k);
	ret = xfrin_soa(&r, apex, al, 2000, &a, why, sizeof(why));
	ck_assert_msg(ret == -EPROTO && strstr(why, "TSIG"), "%d %s", ret, why);
	fake_stop(&f);
	/* no answer */
	fake_start(&f, FM_SILENT);
	remote_of(&r, f.port, NULL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = xfrin_soa(&r, apex, al, 300, &a, why, sizeof(why));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_msg(ret == -ETIMEDOUT && !strcmp(why, "timeout"), "%d %s", ret, why);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(s >= 0.29 && s < 10, "%.3f s", s);
	fake_stop(&f);
	zone_free(z);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("xfrin");
	TCase *tc = tcase_create("parser");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, axfr_from_shoal);
	tcase_add_test(tc, axfr_one_record_per_message);
	tcase_add_test(tc, axfr_duplicate_tolerated);
	tcase_add_test(tc, compressed_names);
	tcase_add_test(tc, bad_pointers);
	tcase_add_test(tc, axfr_shape_errors);
	tcase_add_test(tc, missing_closing_soa);
	tcase_add_test(tc, header_errors);
	tcase_add_test(tc, rcodes);
	tcase_add_test(tc, max_size);
	tcase_add_test(tc, ixfr_condensed);
	tcase_add_test(tc, ixfr_uncondensed);
	tcase_add_test(tc, ixfr_as_whole_zone);
	tcase_add_test(tc, ixfr_uptodate);
	tcase_add_test(tc, ixfr_wrong_start);
	tcase_add_test(tc, ixfr_inconsistent);
	tcase_add_test(tc, ixfr_soa_ttl);
	tcase_add_test(tc, tsig_streams);
	suite_add_tcase(s, tc);
	TCase *net = tcase_create("network");
	tcase_set_timeout(net, 60);
	tcase_add_test(net, net_ixfr);
	tcase_add_test(net, net_notimp_then_axfr);
	tcase_add_test(net, net_inconsistent_then_axfr);
	tcase_add_test(net, net_cut_short);
	tcase_add_test(net, net_soa);
	suite_add_tcase(s, net);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
