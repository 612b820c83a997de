/* check_dnssec.c: answers from a signed zone (RFC 4035 §3.1). The RRSIGs
 * here are well formed but not cryptographically valid: what is checked is
 * which records go where, not the signatures (the e2e tests validate real
 * ones through unbound). */
#include <check.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/dnssec.h>

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

static size_t n_answer(void)
{
	return ldns_rr_list_rr_count(AN);
}

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

/* ANY (RFC 8482): over UDP one RRset with its RRSIGs; over TCP every set
 * with its RRSIGs, and no RRSIG twice. */
START_TEST(any_signed)
{
	ask("www.sig.test.", LDNS_RR_TYPE_ANY, true, 0);
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_A), 2);
	ck_assert_uint_eq(sigs(AN, LDNS_RR_TYPE_A, "www.sig.test."), 1);
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_RRSIG), 1);
	struct ut_q spec = {.name = "www.sig.test.", .type = LDNS_RR_TYPE_ANY, .id = 9,
			    .edns = true, .do_bit = true};
	uint8_t q[512];
	struct query qq;
	struct answer_info info;
	size_t len = ut_query_wire(&spec, q, sizeof(q));
	enum query_status st = query_parse(&qq, q, len, true);
	size_t rl = answer_query(&g_cfg, g_db, &qq, st, g_buf, sizeof(g_buf), &info);
	if (g_p)
		ldns_pkt_free(g_p);
	g_p = NULL;
	ck_assert_int_eq(ldns_wire2pkt(&g_p, g_buf, rl), LDNS_STATUS_OK);
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_A), 2);
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_AAAA), 1);
	ck_assert_uint_eq(sigs(AN, LDNS_RR_TYPE_A, NULL), 1);
	ck_assert_uint_eq(sigs(AN, LDNS_RR_TYPE_AAAA, NULL), 1);
	ck_assert_uint_eq(count(AN, LDNS_RR_TYPE_RRSIG), 2);
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

/* ---------------------------------------------------------------- NSEC3 */

/* An NSEC3 zone built here: hashes by ldns (ldns_nsec3_hash_name), the
 * chain sorted by hash, each NSEC3 pointing at the next. Names: the apex,
 * a, b.c (c an empty non-terminal, with its own NSEC3), *.w (w likewise),
 * z, and the insecure delegation d. */
static const char *const N3_NAMES[] = {"n3.test.", "a.n3.test.", "c.n3.test.", "b.c.n3.test.",
				       "w.n3.test.", "*.w.n3.test.", "z.n3.test.", "d.n3.test."};
enum { N3_COUNT = sizeof(N3_NAMES) / sizeof(N3_NAMES[0]) };
static const uint8_t N3_SALT[] = {0xaa, 0xbb, 0xcc, 0xdd};
#define N3_ITER 10

/* The hash label of a name, in base32hex (lowercase), into out. */
static void n3_label(const char *name, char *out, size_t size)
{
	ldns_rdf *d = ldns_dname_new_frm_str(name);
	ldns_rdf *h = ldns_nsec3_hash_name(d, 1, N3_ITER, sizeof(N3_SALT), N3_SALT);
	char *t = ldns_rdf2str(h);
	snprintf(out, size, "%.*s", (int)strcspn(t, "."), t);
	for (char *c = out; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	free(t);
	ldns_rdf_deep_free(h);
	ldns_rdf_deep_free(d);
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static char *g_n3[64];
static size_t g_nn3;

static void n3_add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void n3_add(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&g_n3[g_nn3++], fmt, ap), 0);
	va_end(ap);
}

#define N3SIG(owner, type, labels)                                                                 \
	n3_add("%s 300 RRSIG %s 13 %d 300 20370101000000 20260101000000 4711 n3.test. "           \
	       "c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmE=",   \
	       owner, type, labels)

static struct zonedb *g_n3db;

static void n3_setup(void)
{
	g_nn3 = 0;
	n3_add("n3.test. 3600 SOA ns.other. h 1 7200 3600 1209600 300");
	N3SIG("n3.test.", "SOA", 2);
	n3_add("n3.test. 3600 NS ns.other.");
	n3_add("n3.test. 0 NSEC3PARAM 1 0 %d aabbccdd", N3_ITER);
	n3_add("a.n3.test. 3600 A 192.0.2.1");
	n3_add("b.c.n3.test. 3600 TXT \"b\"");
	n3_add("*.w.n3.test. 3600 TXT \"wild\"");
	N3SIG("*.w.n3.test.", "TXT", 3);
	n3_add("z.n3.test. 3600 A 192.0.2.26");
	n3_add("d.n3.test. 3600 NS ns.other.");
	char *labels[N3_COUNT];
	for (size_t i = 0; i < N3_COUNT; i++) {
		char l[64];
		n3_label(N3_NAMES[i], l, sizeof(l));
		labels[i] = strdup(l);
	}
	qsort(labels, N3_COUNT, sizeof(labels[0]), cmp_str); /* base32hex keeps the order */
	for (size_t i = 0; i < N3_COUNT; i++) {
		char owner[128];
		snprintf(owner, sizeof(owner), "%s.n3.test.", labels[i]);
		n3_add("%s 300 NSEC3 1 0 %d aabbccdd %s A RRSIG", owner, N3_ITER,
		       labels[(i + 1) % N3_COUNT]);
		N3SIG(owner, "NSEC3", 3);
	}
	for (size_t i = 0; i < N3_COUNT; i++)
		free(labels[i]);
	const char *all[64];
	for (size_t i = 0; i < g_nn3; i++)
		all[i] = g_n3[i];
	all[g_nn3] = NULL;
	struct zone *z = ut_zone("n3.test.", all);
	ck_assert_ptr_nonnull(z->nsec3);
	ck_assert_uint_eq(z->nsec3->v.n, N3_COUNT);
	g_n3db = zonedb_new(&z, 1);
}

static void n3_teardown(void)
{
	if (g_p)
		ldns_pkt_free(g_p);
	g_p = NULL;
	zonedb_free(g_n3db);
	for (size_t i = 0; i < g_nn3; i++)
		free(g_n3[i]);
}

static void ask3(const char *name, uint16_t type, bool do_bit)
{
	struct zonedb *save = g_db;
	g_db = g_n3db;
	ask(name, type, do_bit, 0);
	g_db = save;
}

/* The hashed owner name (hash label + zone) of a name, for ldns. */
static ldns_rdf *hashed(const char *name)
{
	char l[64], full[128];
	n3_label(name, l, sizeof(l));
	snprintf(full, sizeof(full), "%s.n3.test.", l);
	return ldns_dname_new_frm_str(full);
}

/* In the authority section: an NSEC3 whose owner is the hashed `name`
 * (match) or whose span covers it (ldns_nsec_covers_name). */
static bool has_nsec3(const char *name, bool match)
{
	ldns_rdf *h = hashed(name);
	bool found = false;
	for (size_t i = 0; i < ldns_rr_list_rr_count(NS) && !found; i++) {
		ldns_rr *rr = ldns_rr_list_rr(NS, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC3)
			continue;
		found = match ? ldns_dname_compare(ldns_rr_owner(rr), h) == 0
			      : ldns_nsec_covers_name(rr, h);
	}
	ldns_rdf_deep_free(h);
	return found;
}

#define MATCHES(name) ck_assert_msg(has_nsec3(name, true), "no NSEC3 matching %s", name)
#define COVERS(name) ck_assert_msg(has_nsec3(name, false), "no NSEC3 covering %s", name)

static void n3_common(size_t nsec3s)
{
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_NSEC3), nsec3s);
	ck_assert_uint_eq(sigs(NS, LDNS_RR_TYPE_NSEC3, NULL), nsec3s);
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_NSEC), 0);
}

/* shoal's hash is ldns's, with and without salt and iterations. */
START_TEST(nsec3_hash_as_ldns)
{
	struct zone *z = NULL;
	const struct zonedb *db = g_n3db;
	z = db->zones[0];
	for (size_t i = 0; i < N3_COUNT; i++) {
		uint8_t w[DNAME_MAX], l[DNAME_MAX], h[NSEC3_HASH_LEN];
		size_t len = ut_name(N3_NAMES[i], w);
		dname_lower(l, w, len);
		zone_nsec3_hash(z, l, h);
		char want[64];
		n3_label(N3_NAMES[i], want, sizeof(want));
		bool m = false;
		const struct node *n = zone_nsec3_find(z, h, &m);
		ck_assert_msg(m, "%s: its NSEC3 not found by hash", N3_NAMES[i]);
		ck_assert_int_eq(n->name[0], 32);
		ck_assert_int_eq(strncasecmp((const char *)n->name + 1, want, 32), 0);
	}
}
END_TEST

/* §7.2.2: closest encloser proof (match the encloser, cover the next
 * closer name) and the NSEC3 covering the wildcard. */
START_TEST(nsec3_nxdomain)
{
	ask3("m.n3.test.", LDNS_RR_TYPE_A, true);
	ck_assert_int_eq(ldns_pkt_get_rcode(g_p), LDNS_RCODE_NXDOMAIN);
	MATCHES("n3.test.");
	COVERS("m.n3.test.");
	COVERS("*.n3.test.");
	ck_assert_uint_le(count(NS, LDNS_RR_TYPE_NSEC3), 3);
	n3_common(count(NS, LDNS_RR_TYPE_NSEC3));
	/* deeper: the encloser is a, the next closer x.a */
	ask3("y.x.a.n3.test.", LDNS_RR_TYPE_A, true);
	ck_assert_int_eq(ldns_pkt_get_rcode(g_p), LDNS_RCODE_NXDOMAIN);
	MATCHES("a.n3.test.");
	COVERS("x.a.n3.test.");
	COVERS("*.a.n3.test.");
	ask3("m.n3.test.", LDNS_RR_TYPE_A, false);
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_NSEC3), 0);
}
END_TEST

/* §7.2.3: NODATA, the matching NSEC3; an empty non-terminal has its own. */
START_TEST(nsec3_nodata)
{
	ask3("a.n3.test.", LDNS_RR_TYPE_MX, true);
	ck_assert_int_eq(ldns_pkt_get_rcode(g_p), LDNS_RCODE_NOERROR);
	MATCHES("a.n3.test.");
	n3_common(1);
	ask3("c.n3.test.", LDNS_RR_TYPE_A, true);
	MATCHES("c.n3.test.");
	n3_common(1);
	/* the DS question at an insecure cut: the NSEC3 matching it (§7.2.4) */
	ask3("d.n3.test.", LDNS_RR_TYPE_DS, true);
	ck_assert_int_eq(ldns_pkt_get_rcode(g_p), LDNS_RCODE_NOERROR);
	MATCHES("d.n3.test.");
	n3_common(1);
}
END_TEST

/* §7.2.6: a wildcard answer, the NSEC3 covering the next closer name;
 * §7.2.5: wildcard NODATA, closest encloser proof and the wildcard's
 * matching NSEC3. */
START_TEST(nsec3_wildcard)
{
	ask3("x.y.w.n3.test.", LDNS_RR_TYPE_TXT, true);
	ck_assert_int_eq(ldns_pkt_get_rcode(g_p), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(sigs(AN, LDNS_RR_TYPE_TXT, "x.y.w.n3.test."), 1);
	COVERS("y.w.n3.test.");
	n3_common(1);
	ask3("x.y.w.n3.test.", LDNS_RR_TYPE_A, true);
	MATCHES("w.n3.test.");
	COVERS("y.w.n3.test.");
	MATCHES("*.w.n3.test.");
	n3_common(count(NS, LDNS_RR_TYPE_NSEC3));
}
END_TEST

/* §7.2.7: an insecure referral with the NSEC3 matching the cut. */
START_TEST(nsec3_insecure_referral)
{
	ask3("host.d.n3.test.", LDNS_RR_TYPE_A, true);
	ck_assert(!ldns_pkt_aa(g_p));
	ck_assert_uint_eq(count(NS, LDNS_RR_TYPE_NS), 1);
	MATCHES("d.n3.test.");
	n3_common(1);
}
END_TEST

/* §7.2.8: an NSEC3 owner name is answered as if it did not exist. */
START_TEST(nsec3_owner_does_not_exist)
{
	char l[64], name[128];
	n3_label("a.n3.test.", l, sizeof(l));
	snprintf(name, sizeof(name), "%s.n3.test.", l);
	ask3(name, LDNS_RR_TYPE_NSEC3, true);
	ck_assert_int_eq(ldns_pkt_get_rcode(g_p), LDNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(n_answer(), 0);
	MATCHES("n3.test.");
	COVERS(name);
	ask3(name, LDNS_RR_TYPE_A, false);
	ck_assert_int_eq(ldns_pkt_get_rcode(g_p), LDNS_RCODE_NXDOMAIN);
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
	tcase_add_test(t, any_signed);
	suite_add_tcase(s, t);
	TCase *t3 = tcase_create("nsec3");
	tcase_add_checked_fixture(t3, n3_setup, n3_teardown);
	tcase_add_test(t3, nsec3_hash_as_ldns);
	tcase_add_test(t3, nsec3_nxdomain);
	tcase_add_test(t3, nsec3_nodata);
	tcase_add_test(t3, nsec3_wildcard);
	tcase_add_test(t3, nsec3_insecure_referral);
	tcase_add_test(t3, nsec3_owner_does_not_exist);
	suite_add_tcase(s, t3);
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
