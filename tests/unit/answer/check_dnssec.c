/* check_dnssec.c: answers from a signed zone (RFC 4035 §3.1). The RRSIGs
 * here are well formed but not cryptographically valid: what is checked is
 * which records go where, not the signatures (the e2e tests validate real
 * ones through unbound). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "answer/answer.h"
#include "dns/query.h"
#include "unit.h"
#include "zone/zonedb.h"

/* An RRSIG covering `type` signed by sig.test.'s key `tag`. */
#define SIGK(owner, ttl, type, labels, tag)                                                        \
	owner " " ttl " RRSIG " type " 13 " labels " " ttl                                        \
	      " 20370101000000 20260101000000 " tag " sig.test. "                             \
	      "c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmE="
#define SIG(owner, ttl, type, labels) SIGK(owner, ttl, type, labels, "12345")

static const char *const SIGNED[] = {
	"@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300",
	SIG("@", "3600", "SOA", "2"),
	"@ 3600 NS ns1",
	SIG("@", "3600", "NS", "2"),
	"@ 3600 DNSKEY 257 3 13 "
	"mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==",
	SIG("@", "3600", "DNSKEY", "2"),
	"ns1 3600 A 192.0.2.1",
	SIG("ns1", "3600", "A", "3"),
	"www 3600 A 192.0.2.80",
	"www 3600 A 192.0.2.81",
	SIG("www", "3600", "A", "3"),
	"www 3600 AAAA 2001:db8::80",
	SIG("www", "3600", "AAAA", "3"),
	"alias 3600 CNAME www",
	SIG("alias", "3600", "CNAME", "3"),
	"*.w 3600 TXT \"wild\"",
	SIG("*.w", "3600", "TXT", "3"),
	/* a secure delegation: DS signed by the parent, NS and glue not */
	"secure 3600 NS ns.secure",
	"secure 3600 DS 12345 13 2 "
	"0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
	SIG("secure", "3600", "DS", "3"),
	"ns.secure 3600 A 192.0.2.53",
	/* an insecure one: no DS */
	"plain 3600 NS ns.plain",
	"ns.plain 3600 A 192.0.2.54",
	/* many records: with their RRSIGs they overflow 512 octets */
	"big 3600 TXT \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
	"big 3600 TXT \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"",
	"big 3600 TXT \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"",
	"big 3600 TXT \"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\"",
	"big 3600 TXT \"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\"",
	SIGK("big", "3600", "TXT", "3", "1"),
	SIGK("big", "3600", "TXT", "3", "2"),
	SIGK("big", "3600", "TXT", "3", "3"),
	NULL,
};

/* A zone with an NSEC chain, in canonical order: the apex, a, c (an empty
 * non-terminal), b.c, d (an insecure delegation), w (empty non-terminal),
 * *.w, z. */
#define NSIG(owner, type, labels)                                                                  \
	owner " 300 RRSIG " type " 13 " labels " 300 20370101000000 20260101000000 4711 nsec.test. " \
	      "c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmE="
static const char *const NSEC_ZONE[] = {
	"@ 3600 SOA ns hostmaster 1 7200 3600 1209600 300",
	NSIG("@", "SOA", "2"),
	"@ 3600 NS ns.other.",
	"@ 300 NSEC a.nsec.test. NS SOA RRSIG NSEC",
	NSIG("@", "NSEC", "2"),
	"a 3600 A 192.0.2.1",
	"a 300 NSEC b.c.nsec.test. A RRSIG NSEC",
	NSIG("a", "NSEC", "3"),
	"b.c 3600 TXT \"b\"",
	"b.c 300 NSEC d.nsec.test. TXT RRSIG NSEC",
	NSIG("b.c", "NSEC", "4"),
	"d 3600 NS ns.other.",
	"d 300 NSEC *.w.nsec.test. NS RRSIG NSEC",
	NSIG("d", "NSEC", "3"),
	"*.w 3600 TXT \"wild\"",
	NSIG("*.w", "TXT", "3"),
	"*.w 300 NSEC z.nsec.test. TXT RRSIG NSEC",
	NSIG("*.w", "NSEC", "3"),
	"z 3600 A 192.0.2.26",
	"z 300 NSEC nsec.test. A RRSIG NSEC",
	NSIG("z", "NSEC", "3"),
	NULL,
};

static struct zonedb *g_db;
static const struct answer_cfg g_cfg = {.edns_size = 1232};
static uint8_t g_buf[65535];
static ldns_pkt *g_p;

static void setup(void)
{
	struct zone *z[2] = {ut_zone("sig.test.", SIGNED), ut_zone("nsec.test.", NSEC_ZONE)};
	g_db = zonedb_new(z, 2);
	ck_assert_ptr_nonnull(g_db);
}

static void teardown(void)
{
	if (g_p)
		ldns_pkt_free(g_p);
	g_p = NULL;
	zonedb_free(g_db);
}

/* Ask over UDP with EDNS (payload `size`, 0: 1232) and DO as given. */
static void ask(const char *name, uint16_t type, bool do_bit, uint16_t size)
{
	struct ut_q spec = {.name = name, .type = type, .id = 7, .edns = true,
			    .edns_size = size, .do_bit = do_bit};
	uint8_t q[512];
	struct query qq;
	struct answer_info info;
	size_t len = ut_query_wire(&spec, q, sizeof(q));
	if (g_p)
		ldns_pkt_free(g_p);
	g_p = NULL;
	enum query_status st = query_parse(&qq, q, len, false);
	size_t rl = answer_query(&g_cfg, g_db, &qq, st, g_buf, sizeof(g_buf), &info);
	ck_assert_uint_gt(rl, 0);
	ck_assert_int_eq(ldns_wire2pkt(&g_p, g_buf, rl), LDNS_STATUS_OK);
}

/* Records of type `type` in a section, and how many RRSIGs cover `covered`. */
static size_t count(ldns_rr_list *l, uint16_t type)
{
	size_t n = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		n += ldns_rr_get_type(ldns_rr_list_rr(l, i)) == type;
	return n;
}

static size_t sigs(ldns_rr_list *l, uint16_t covered, const char *owner)
{
	size_t n = 0;
	ldns_rdf *want = owner ? ldns_dname_new_frm_str(owner) : NULL;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG ||
		    ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) != covered)
			continue;
		if (want && ldns_dname_compare(want, ldns_rr_owner(rr)) != 0)
			continue;
		n++;
	}
	ldns_rdf_deep_free(want);
	return n;
}

#define AN ldns_pkt_answer(g_p)
#define NS ldns_pkt_authority(g_p)
#define AR ldns_pkt_additional(g_p)

START_TEST(rrsigs_only_with_do)
{
	ask("www.sig.test.", LDNS_RR_TYPE_A, false, 0);
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_A), 2);
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_RRSIG), 0);
	ask("www.sig.test.", LDNS_RR_TYPE_A, true, 0);
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_A), 2);
	/* only the RRSIG covering A, not the AAAA one at the same name */
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_RRSIG), 1);
	ck_assert_uint_eq(sigs(AN, LDNS_RR_TYPE_A, "www.sig.test."), 1);
	/* AA=1, AD=0 (RFC 4035 §3.1.6) */
	ck_assert(ldns_pkt_aa(g_p));
	ck_assert(!ldns_pkt_ad(g_p));
	ck_assert(!ldns_pkt_tc(g_p));
}
END_TEST

START_TEST(apex_sets_signed)
{
	ask("sig.test.", LDNS_RR_TYPE_DNSKEY, true, 0);
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_DNSKEY), 1);
	ck_assert_uint_eq(sigs(AN, LDNS_RR_TYPE_DNSKEY, "sig.test."), 1);
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_RRSIG), 1);
	ask("sig.test.", LDNS_RR_TYPE_SOA, true, 0);
	ck_assert_uint_eq(sigs(AN, LDNS_RR_TYPE_SOA, "sig.test."), 1);
	/* an RRSIG question is plain data: every RRSIG at the name */
	ask("sig.test.", LDNS_RR_TYPE_RRSIG, true, 0);
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_RRSIG), 3);
}
END_TEST

/* The negative SOA goes with its RRSIG, both at the negative TTL (RFC 2308
 * §3: min(SOA TTL, MINIMUM) = 300), the RRSIG's original TTL unchanged. */
START_TEST(negative_soa_signed)
{
	ask("www.sig.test.", LDNS_RR_TYPE_MX, true, 0);
	ck_assert_int_eq(ldns_pkt_get_rcode(g_p), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_SOA), 1);
	ck_assert_uint_eq(sigs(NS, LDNS_RR_TYPE_SOA, "sig.test."), 1);
	for (size_t i = 0; i < ldns_rr_list_rr_count(NS); i++) {
		ldns_rr *rr = ldns_rr_list_rr(NS, i);
		ck_assert_uint_eq(ldns_rr_ttl(rr), 300);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG)
			ck_assert_uint_eq(ldns_rdf2native_int32(ldns_rr_rrsig_origttl(rr)), 3600);
	}
	ask("www.sig.test.", LDNS_RR_TYPE_MX, false, 0);
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_RRSIG), 0);
}
END_TEST

/* A CNAME and its target, each with its RRSIG. */
START_TEST(cname_chain_signed)
{
	ask("alias.sig.test.", LDNS_RR_TYPE_A, true, 0);
	ck_assert_uint_eq(sigs(AN, LDNS_RR_TYPE_CNAME, "alias.sig.test."), 1);
	ck_assert_uint_eq(sigs(AN, LDNS_RR_TYPE_A, "www.sig.test."), 1);
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_RRSIG), 2);
}
END_TEST

/* A wildcard answer: the RRset and its RRSIG both with owner = QNAME; the
 * RRSIG's labels field (2 here: *.w.sig.test. has 3 with the star) shows
 * the expansion. */
START_TEST(wildcard_rrsig_owner_is_qname)
{
	ask("x.y.w.sig.test.", LDNS_RR_TYPE_TXT, true, 0);
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_TXT), 1);
	ck_assert_uint_eq(sigs(AN, LDNS_RR_TYPE_TXT, "x.y.w.sig.test."), 1);
}
END_TEST

/* A secure referral carries DS and its RRSIG in the authority section, an
 * insecure one neither; glue never has RRSIGs; without DO no DS. */
START_TEST(referrals)
{
	ask("host.secure.sig.test.", LDNS_RR_TYPE_A, true, 0);
	ck_assert(!ldns_pkt_aa(g_p));
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_NS), 1);
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_DS), 1);
	ck_assert_uint_eq(sigs(NS, LDNS_RR_TYPE_DS, "secure.sig.test."), 1);
	ck_assert_uint_eq(count(AR, LDNS_RR_TYPE_A), 1);
	ck_assert_uint_eq(count(AR, LDNS_RR_TYPE_RRSIG), 0);
	ask("host.secure.sig.test.", LDNS_RR_TYPE_A, false, 0);
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_DS), 0);
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_RRSIG), 0);
	ask("host.plain.sig.test.", LDNS_RR_TYPE_A, true, 0);
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_NS), 1);
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_DS), 0);
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_RRSIG), 0);
	/* the DS question at the cut is the parent's: answered, signed */
	ask("secure.sig.test.", LDNS_RR_TYPE_DS, true, 0);
	ck_assert(ldns_pkt_aa(g_p));
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_DS), 1);
	ck_assert_uint_eq(sigs(AN, LDNS_RR_TYPE_DS, "secure.sig.test."), 1);
}
END_TEST

/* An RRset whose RRSIGs do not fit in the payload: TC=1 (RFC 4035
 * §3.1.1), never the set without its signatures. Without DO it fits. */
START_TEST(rrsigs_that_do_not_fit_truncate)
{
	ask("big.sig.test.", LDNS_RR_TYPE_TXT, false, 512);
	ck_assert(!ldns_pkt_tc(g_p));
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_TXT), 5);
	ask("big.sig.test.", LDNS_RR_TYPE_TXT, true, 512);
	ck_assert(ldns_pkt_tc(g_p));
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_RRSIG), 0);
	ask("big.sig.test.", LDNS_RR_TYPE_TXT, true, 1232);
	ck_assert(!ldns_pkt_tc(g_p));
	ck_assert_uint_eq(sigs(AN, LDNS_RR_TYPE_TXT, "big.sig.test."), 3);
}
END_TEST

/* The owners of the NSEC records in the authority section, in order,
 * space-separated ("" when none). */
static const char *nsec_owners(void)
{
	static char out[1024];
	out[0] = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(NS); i++) {
		ldns_rr *rr = ldns_rr_list_rr(NS, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC)
			continue;
		char *o = ldns_rdf2str(ldns_rr_owner(rr));
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", out[0] ? " " : "", o);
		free(o);
	}
	return out;
}

/* Every NSEC in the authority section with its RRSIG, and only with DO. */
static void assert_proof(const char *name, uint16_t type, int rcode, const char *owners)
{
	ask(name, type, true, 0);
	ck_assert_int_eq(ldns_pkt_get_rcode(g_p), rcode);
	ck_assert_str_eq(nsec_owners(), owners);
	ck_assert_uint_eq(sigs(NS, LDNS_RR_TYPE_NSEC, NULL), count(NS, LDNS_RR_TYPE_NSEC));
	ck_assert_uint_eq(sigs(NS, LDNS_RR_TYPE_SOA, "nsec.test."), 1);
	ask(name, type, false, 0);
	ck_assert_int_eq(ldns_pkt_get_rcode(g_p), rcode);
	ck_assert_str_eq(nsec_owners(), "");
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_RRSIG), 0);
}

/* §3.1.3.2: the NSEC covering the name and the one covering the wildcard
 * at the closest encloser (*.nsec.test. falls between the apex and a). */
START_TEST(nsec_nxdomain)
{
	assert_proof("m.nsec.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "d.nsec.test. nsec.test.");
	assert_proof("bb.nsec.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "a.nsec.test. nsec.test.");
	/* below an existing name: closest encloser a, *.a covered by a */
	assert_proof("x.a.nsec.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "a.nsec.test.");
	/* between the last name and the apex: z's NSEC wraps around */
	assert_proof("zz.nsec.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN,
		     "z.nsec.test. nsec.test.");
}
END_TEST

/* §3.1.3.1: the NSEC at the name; an empty non-terminal has none, the
 * NSEC before it (next name below it) proves it. */
START_TEST(nsec_nodata)
{
	assert_proof("a.nsec.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, "a.nsec.test.");
	assert_proof("c.nsec.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "a.nsec.test.");
	assert_proof("nsec.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, "nsec.test.");
}
END_TEST

/* §3.1.3.3: a wildcard answer with the NSEC covering the name (no closer
 * match); §3.1.3.4: wildcard NODATA, the wildcard's NSEC (which here
 * also covers the name: once). */
START_TEST(nsec_wildcard)
{
	ask("x.w.nsec.test.", LDNS_RR_TYPE_TXT, true, 0);
	ck_assert_int_eq(ldns_pkt_get_rcode(g_p), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(sigs(AN, LDNS_RR_TYPE_TXT, "x.w.nsec.test."), 1);
	ck_assert_str_eq(nsec_owners(), "*.w.nsec.test.");
	ck_assert_uint_eq(sigs(NS, LDNS_RR_TYPE_NSEC, "*.w.nsec.test."), 1);
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_SOA), 0);
	assert_proof("x.w.nsec.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, "*.w.nsec.test.");
}
END_TEST

/* An insecure delegation: the NSEC at the cut, without DS in its bitmap
 * (§3.1.4.1); the DS question at the cut: NODATA with the same NSEC. */
START_TEST(nsec_insecure_referral)
{
	ask("host.d.nsec.test.", LDNS_RR_TYPE_A, true, 0);
	ck_assert(!ldns_pkt_aa(g_p));
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_NS), 1);
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_DS), 0);
	ck_assert_str_eq(nsec_owners(), "d.nsec.test.");
	ck_assert_uint_eq(sigs(NS, LDNS_RR_TYPE_NSEC, "d.nsec.test."), 1);
	ask("host.d.nsec.test.", LDNS_RR_TYPE_A, false, 0);
	ck_assert_str_eq(nsec_owners(), "");
	assert_proof("d.nsec.test.", LDNS_RR_TYPE_DS, LDNS_RCODE_NOERROR, "d.nsec.test.");
}
END_TEST

/* An NSEC question is plain data. */
START_TEST(nsec_as_data)
{
	ask("a.nsec.test.", LDNS_RR_TYPE_NSEC, true, 0);
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_NSEC), 1);
	ck_assert_uint_eq(sigs(AN, LDNS_RR_TYPE_NSEC, "a.nsec.test."), 1);
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_NSEC), 0);
}
END_TEST

static Suite *dnssec_suite(void)
{
	Suite *s = suite_create("dnssec");
	TCase *t = tcase_create("answers");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, rrsigs_only_with_do);
	tcase_add_test(t, apex_sets_signed);
	tcase_add_test(t, negative_soa_signed);
	tcase_add_test(t, cname_chain_signed);
	tcase_add_test(t, wildcard_rrsig_owner_is_qname);
	tcase_add_test(t, referrals);
	tcase_add_test(t, rrsigs_that_do_not_fit_truncate);
	tcase_add_test(t, nsec_nxdomain);
	tcase_add_test(t, nsec_nodata);
	tcase_add_test(t, nsec_wildcard);
	tcase_add_test(t, nsec_insecure_referral);
	tcase_add_test(t, nsec_as_data);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dnssec_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
