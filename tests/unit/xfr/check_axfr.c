/* check_axfr.c: a zone version as AXFR messages (src/xfr/axfr.c), read
 * back with ldns: every message a DNS message with our ID, QR and AA, the
 * question in the first only, at most 16 KiB unless it holds one record
 * too big for that; the SOA first and last; in between every record of
 * the zone once, as ldns reads the zone's text; and the version read is
 * the one the transfer started on, whatever is published meanwhile. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns/query.h"
#include "unit.h"
#include "xfr/axfr.h"

#define ORIGIN "xfr.test."

static const char *const ZONE[] = {
	"@ 3600 SOA ns1 hostmaster 7 7200 3600 1209600 300",
	"@ 3600 NS ns1",
	"@ 3600 NS ns2.other.test.",
	"ns1 3600 A 192.0.2.1",
	"www 3600 A 192.0.2.80",
	"www 3600 A 192.0.2.81",
	"www 3600 AAAA 2001:db8::80",
	"alias 300 CNAME www",
	"@ 3600 MX 10 mail",
	"mail 3600 A 192.0.2.25",
	"*.w 3600 TXT \"wild\"",
	"sub 3600 NS ns.sub",
	"ns.sub 3600 A 192.0.2.53",
	"a.b.c 3600 TXT \"deep\"",
	"www 3600 RRSIG A 13 3 3600 20370101000000 20260101000000 12345 xfr.test. "
	"c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmE=",
	"www 300 RRSIG AAAA 13 3 300 20370101000000 20260101000000 12345 xfr.test. "
	"c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmE=",
	NULL,
};

/* The request: an AXFR query for the origin, as a transport parses it. */
static void request(struct query *q, uint8_t *wire, size_t *len)
{
	struct ut_q spec = {.name = ORIGIN, .type = RRTYPE_AXFR, .id = 0x4242};
	*len = ut_query_wire(&spec, wire, 512);
	ck_assert_int_eq(query_parse(q, wire, *len, true), QUERY_OK);
}

/* The zone's records as ldns reads them, canonical, sorted. */
static ldns_rr_list *zone_rrs(const char *const *text)
{
	ldns_rdf *org = ldns_dname_new_frm_str(ORIGIN);
	ldns_rr_list *l = ldns_rr_list_new();
	for (size_t i = 0; text[i]; i++) {
		ldns_rr *rr = NULL;
		ck_assert_int_eq(ldns_rr_new_frm_str(&rr, text[i], 3600, org, NULL), LDNS_STATUS_OK);
		ldns_rr2canonical(rr);
		ldns_rr_list_push_rr(l, rr);
	}
	ldns_rdf_deep_free(org);
	ldns_rr_list_sort(l);
	return l;
}

struct stream_result {
	unsigned messages;
	ldns_rr_list *body; /* between the SOAs, canonical, sorted */
	ldns_rr *first, *last;
	unsigned big; /* messages over 16 KiB (one record each) */
};

/* Run a transfer of `z` to the end and check every message. */
static void transfer(struct zone *z, struct stream_result *res)
{
	static uint8_t buf[65535];
	uint8_t qw[512];
	size_t qlen;
	struct query q;
	request(&q, qw, &qlen);
	struct axfr x;
	axfr_start(&x, z, &q);
	memset(res, 0, sizeof(*res));
	ldns_rr_list *all = ldns_rr_list_new();
	size_t len;
	while ((len = axfr_next(&x, buf, sizeof(buf))) > 0) {
		ck_assert_uint_lt(res->messages, 100000);
		ldns_pkt *p = NULL;
		ck_assert_int_eq(ldns_wire2pkt(&p, buf, len), LDNS_STATUS_OK);
		ck_assert_uint_eq(ldns_pkt_id(p), 0x4242);
		ck_assert(ldns_pkt_qr(p));
		ck_assert(ldns_pkt_aa(p));
		ck_assert(!ldns_pkt_tc(p));
		ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
		ck_assert_uint_eq(ldns_pkt_qdcount(p), res->messages == 0 ? 1 : 0);
		ck_assert_uint_gt(ldns_pkt_ancount(p), 0);
		ck_assert_uint_eq(ldns_pkt_nscount(p) + ldns_pkt_arcount(p), 0);
		if (len > AXFR_MSG_LIMIT) {
			ck_assert_uint_eq(ldns_pkt_ancount(p), 1);
			res->big++;
		}
		for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_pkt_answer(p)); i++) {
			ldns_rr *rr = ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_answer(p), i));
			ldns_rr2canonical(rr);
			ldns_rr_list_push_rr(all, rr);
		}
		ldns_pkt_free(p);
		res->messages++;
	}
	ck_assert_int_eq(x.phase, AXFR_DONE);
	ck_assert_uint_eq(axfr_next(&x, buf, sizeof(buf)), 0);
	axfr_end(&x);
	size_t n = ldns_rr_list_rr_count(all);
	ck_assert_uint_ge(n, 2);
	res->first = ldns_rr_clone(ldns_rr_list_rr(all, 0));
	res->last = ldns_rr_clone(ldns_rr_list_rr(all, n - 1));
	res->body = ldns_rr_list_new();
	for (size_t i = 1; i + 1 < n; i++)
		ldns_rr_list_push_rr(res->body, ldns_rr_clone(ldns_rr_list_rr(all, i)));
	ldns_rr_list_sort(res->body);
	ldns_rr_list_deep_free(all);
}

/* The transfer holds exactly `text`'s records, SOA first and last. */
static void expect_zone(const struct stream_result *res, const char *const *text)
{
	ldns_rr_list *want = zone_rrs(text);
	ck_assert_int_eq(ldns_rr_get_type(res->first), LDNS_RR_TYPE_SOA);
	ck_assert_int_eq(ldns_rr_compare(res->first, res->last), 0);
	/* the SOA once in the body's place: take it out of the wanted list */
	ldns_rr_list *want_body = ldns_rr_list_new();
	bool soa_seen = false;
	for (size_t i = 0; i < ldns_rr_list_rr_count(want); i++) {
		ldns_rr *rr = ldns_rr_list_rr(want, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
			ck_assert_int_eq(ldns_rr_compare(rr, res->first), 0);
			soa_seen = true;
			continue;
		}
		ldns_rr_list_push_rr(want_body, ldns_rr_clone(rr));
	}
	ck_assert(soa_seen);
	ck_assert_uint_eq(ldns_rr_list_rr_count(res->body), ldns_rr_list_rr_count(want_body));
	for (size_t i = 0; i < ldns_rr_list_rr_count(want_body); i++) {
		ldns_rr *a = ldns_rr_list_rr(res->body, i), *b = ldns_rr_list_rr(want_body, i);
		if (ldns_rr_compare(a, b) != 0 || ldns_rr_ttl(a) != ldns_rr_ttl(b)) {
			char *sa = ldns_rr2str(a), *sb = ldns_rr2str(b);
			ck_abort_msg("record %zu: got %s want %s", i, sa, sb);
		}
	}
	ldns_rr_list_deep_free(want_body);
	ldns_rr_list_deep_free(want);
}

static void result_free(struct stream_result *res)
{
	ldns_rr_list_deep_free(res->body);
	ldns_rr_free(res->first);
	ldns_rr_free(res->last);
}

START_TEST(small_zone_one_message)
{
	struct zone *z = ut_zone(ORIGIN, ZONE);
	zone_ref(z); /* published: a transfer takes its own reference */
	struct stream_result res;
	transfer(z, &res);
	ck_assert_uint_eq(res.messages, 1);
	expect_zone(&res, ZONE);
	result_free(&res);
	zone_unref(z);
}
END_TEST

/* Names and text enough for many messages, and two records larger than a
 * 16 KiB message: each goes alone. */
START_TEST(big_zone_many_messages)
{
	enum { HOSTS = 3000 };
	static char *text[HOSTS + 64];
	size_t n = 0;
	for (size_t i = 0; ZONE[i]; i++)
		text[n++] = strdup(ZONE[i]);
	char rr[256];
	for (int i = 0; i < HOSTS; i++) {
		snprintf(rr, sizeof(rr), "host%d.dept%d 3600 A 10.%d.%d.%d", i, i % 17, i >> 16,
			 (i >> 8) & 255, i & 255);
		text[n++] = strdup(rr);
	}
	/* TXT records of 100 strings of 200 octets: 20 KB each */
	for (int k = 0; k < 2; k++) {
		size_t cap = 100 * 204 + 64, o = 0;
		char *big = malloc(cap);
		o += (size_t)snprintf(big + o, cap - o, "big%d 3600 TXT", k);
		for (int s = 0; s < 100; s++) {
			big[o++] = ' ';
			big[o++] = '"';
			memset(big + o, 'a' + k + s % 20, 200);
			o += 200;
			big[o++] = '"';
		}
		big[o] = 0;
		text[n++] = big;
	}
	text[n] = NULL;
	struct zone *z = ut_zone(ORIGIN, (const char *const *)text);
	zone_ref(z);
	struct stream_result res;
	transfer(z, &res);
	ck_assert_uint_ge(res.messages, 4);
	ck_assert_uint_eq(res.big, 2);
	expect_zone(&res, (const char *const *)text);
	result_free(&res);
	zone_unref(z);
	for (size_t i = 0; i < n; i++)
		free(text[i]);
}
END_TEST

/* A transfer reads the version it started on while newer ones are made
 * and the old one is released by everyone else. */
START_TEST(reads_one_version)
{
	struct zone *v1 = ut_zone(ORIGIN, ZONE);
	zone_ref(v1); /* published */
	uint8_t qw[512], buf[65535];
	size_t qlen;
	struct query q;
	request(&q, qw, &qlen);
	struct axfr x;
	axfr_start(&x, v1, &q);
	/* a new version: www's addresses replaced, a name added */
	char msg[512];
	struct zone_update *u = zone_update_begin(v1);
	ck_assert_ptr_nonnull(u);
	uint8_t owner[DNAME_MAX], rd[4] = {192, 0, 2, 80};
	ut_name("www." ORIGIN, owner);
	ck_assert_int_eq(zone_update_change(u, true, owner, RRTYPE_A, RRCLASS_IN, 3600, rd, 4, msg,
					    sizeof(msg)),
			 ZB_OK);
	rd[3] = 99;
	ck_assert_int_eq(zone_update_change(u, false, owner, RRTYPE_A, RRCLASS_IN, 3600, rd, 4, msg,
					    sizeof(msg)),
			 ZB_OK);
	struct zone *v2 = zone_update_commit(u, msg, sizeof(msg));
	ck_assert_ptr_nonnull(v2);
	zone_ref(v2);    /* published */
	zone_unref(v1);  /* replaced: only the transfer holds it now */
	ck_assert_uint_eq(zone_versions_alive(v2), 2);
	ldns_rr_list *got = ldns_rr_list_new();
	size_t len;
	while ((len = axfr_next(&x, buf, sizeof(buf))) > 0) {
		ldns_pkt *p = NULL;
		ck_assert_int_eq(ldns_wire2pkt(&p, buf, len), LDNS_STATUS_OK);
		for (size_t i = 0; i < ldns_pkt_ancount(p); i++)
			ldns_rr_list_push_rr(got, ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_answer(p), i)));
		ldns_pkt_free(p);
	}
	axfr_end(&x);
	ck_assert_uint_eq(zone_versions_alive(v2), 1); /* v1 went with the transfer */
	/* 192.0.2.80 (the old version), not .99 */
	bool old = false, new = false;
	for (size_t i = 0; i < ldns_rr_list_rr_count(got); i++) {
		char *s = ldns_rr2str(ldns_rr_list_rr(got, i));
		old |= strstr(s, "192.0.2.80") != NULL;
		new |= strstr(s, "192.0.2.99") != NULL;
		free(s);
	}
	ck_assert(old && !new);
	ldns_rr_list_deep_free(got);
	zone_unref(v2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("axfr");
	TCase *tc = tcase_create("messages");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, small_zone_one_message);
	tcase_add_test(tc, big_zone_many_messages);
	tcase_add_test(tc, reads_one_version);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
