/* check_answer.c: the authoritative algorithm (src/answer.c), driven the way
 * a worker drives it: wire query → query_parse → answer_query → wire, the
 * response parsed back with ldns and checked against the RFCs. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>

#include "answer/answer.h"
#include "guard/cookie.h"
#include "dns/query.h"
#include "unit.h"
#include "zone/zonedb.h"

/* ================================================================ zones */

static const char *const EXAMPLE_COM[] = {
	"example.com. 3600 SOA ns1.example.com. hostmaster.example.com. 2024 7200 3600 1209600 300",
	"example.com. 3600 NS ns1.example.com.",
	"example.com. 3600 NS ns2.example.com.",
	"ns1.example.com. 3600 A 192.0.2.1",
	"ns2.example.com. 3600 A 192.0.2.2",
	"www.example.com. 300 A 192.0.2.10",
	"www.example.com. 300 AAAA 2001:db8::10",
	"www.example.com. 300 TXT \"hello\"",
	"alias.example.com. 300 CNAME www.example.com.",
	"chain1.example.com. 300 CNAME chain2.example.com.",
	"chain2.example.com. 300 CNAME www.example.com.",
	"loop1.example.com. 300 CNAME loop2.example.com.",
	"loop2.example.com. 300 CNAME loop1.example.com.",
	"self.example.com. 300 CNAME self.example.com.",
	"ext.example.com. 300 CNAME www.example.org.",
	"dangling.example.com. 300 CNAME nothere.example.com.",
	"tonet.example.com. 300 CNAME www.example.net.",
	"tonetnx.example.com. 300 CNAME nothere.example.net.",
	"*.wild.example.com. 300 A 192.0.2.20",
	"*.wild.example.com. 300 TXT \"wild\"",
	"exists.wild.example.com. 300 A 192.0.2.21",
	"a.ent.wild.example.com. 300 A 192.0.2.22",
	"*.cw.example.com. 300 CNAME www.example.com.",
	"*.lw.example.com. 300 CNAME x.lw.example.com.",
	"dn.example.com. 300 DNAME example.net.",
	"selfdn.example.com. 300 DNAME selfdn.example.com.",
	"under.dn.example.com. 300 A 192.0.2.99",
	"deleg.example.com. 3600 NS ns.deleg.example.com.",
	"deleg.example.com. 3600 NS ns1.example.com.",
	"deleg.example.com. 3600 NS ns.elsewhere.example.org.",
	"deleg.example.com. 3600 DS 12345 8 2 "
	"49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE4EDF8F4C1A4B5F2A3AF9D1C1",
	"ns.deleg.example.com. 3600 A 192.0.2.30",
	"ns.deleg.example.com. 3600 AAAA 2001:db8::30",
	"nods.example.com. 3600 NS ns.nods.example.com.",
	"sub.example.com. 3600 NS ns.sub.example.com.",
	"sub.example.com. 3600 DS 54321 8 2 "
	"49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE4EDF8F4C1A4B5F2A3AF9D1C1",
	"ns.sub.example.com. 3600 A 192.0.2.40",
	"bigalias.example.com. 300 CNAME big.example.com.",
	/* an alias with the DNSSEC records it may have beside the CNAME */
	"sigalias.example.com. 300 CNAME www.example.com.",
	"sigalias.example.com. 300 RRSIG CNAME 8 3 300 20300101000000 20200101000000 12345 "
	"example.com. dGVzdA==",
	"sigalias.example.com. 300 NSEC www.example.com. CNAME RRSIG NSEC",
	NULL,
};

static const char *const SUB_EXAMPLE_COM[] = {
	"sub.example.com. 600 SOA ns.sub.example.com. hm.sub.example.com. 5 7200 3600 1209600 120",
	"sub.example.com. 600 NS ns.sub.example.com.",
	"ns.sub.example.com. 600 A 192.0.2.40",
	"www.sub.example.com. 600 A 192.0.2.41",
	NULL,
};

static const char *const EXAMPLE_NET[] = {
	"example.net. 3600 SOA ns.example.net. hm.example.net. 1 7200 3600 1209600 60",
	"example.net. 3600 NS ns.example.net.",
	"ns.example.net. 3600 A 192.0.2.50",
	"www.example.net. 3600 A 192.0.2.51",
	"foo.example.net. 3600 A 192.0.2.52",
	NULL,
};

/* Generated records: large RRsets and crowded delegations. */
static char *g_gen[256];
static size_t g_ngen;

static void gen(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void gen(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ck_assert_uint_lt(g_ngen, 255);
	g_gen[g_ngen++] = strdup(buf);
	g_gen[g_ngen] = NULL;
}

/* 218 octets: the target of a DNAME that makes long names overflow */
static char g_long_target[300];

static void gen_records(void)
{
	char x98[99];
	memset(x98, 'x', 98);
	x98[98] = 0;
	/* TXT records of 101 rdata octets: 113 in a response each */
	for (int i = 0; i < 10; i++)
		gen("big.example.com. 300 TXT \"%02d%s\"", i, x98);
	for (int i = 0; i < 14; i++)
		gen("big2.example.com. 300 TXT \"%02d%s\"", i, x98);
	for (int i = 0; i < 4; i++)
		gen("mid.example.com. 300 TXT \"%02d%s\"", i, x98);
	/* a delegation whose in-domain glue does not fit in 512 octets */
	for (int i = 1; i <= 12; i++) {
		gen("fat.example.com. 3600 NS ns%d.fat.example.com.", i);
		gen("ns%d.fat.example.com. 3600 A 192.0.2.%d", i, 100 + i);
		gen("ns%d.fat.example.com. 3600 AAAA 2001:db8::f:%d", i, i);
	}
	/* one whose glue is all elsewhere in the zone (sibling glue) */
	for (int i = 1; i <= 12; i++) {
		gen("fat2.example.com. 3600 NS g%d.example.com.", i);
		gen("g%d.example.com. 3600 A 192.0.2.%d", i, 200 + i);
		gen("g%d.example.com. 3600 AAAA 2001:db8::a:%d", i, i);
	}
	char l63[64];
	memset(l63, 'q', 63);
	l63[63] = 0;
	snprintf(g_long_target, sizeof(g_long_target), "%s.%s.%s.%.20s.org.", l63, l63, l63, l63);
	gen("longdn.example.com. 300 DNAME %s", g_long_target);
}

static struct zonedb *g_db;
static struct answer_cfg g_cfg;

static void setup(void)
{
	g_ngen = 0;
	gen_records();
	/* example.com.: the fixed records and the generated ones */
	const char *all[512];
	size_t n = 0;
	for (size_t i = 0; EXAMPLE_COM[i]; i++)
		all[n++] = EXAMPLE_COM[i];
	for (size_t i = 0; i < g_ngen; i++)
		all[n++] = g_gen[i];
	all[n] = NULL;
	struct zone *zs[3] = {
		ut_zone("example.com.", all),
		ut_zone("sub.example.com.", SUB_EXAMPLE_COM),
		ut_zone("example.net.", EXAMPLE_NET),
	};
	g_db = zonedb_new(zs, 3);
	ck_assert_ptr_nonnull(g_db);
	g_cfg = (struct answer_cfg){
		.edns_size = 1232,
		.nsid = (const uint8_t *)"ns-unit",
		.nsid_len = 7,
		.version = "shoal-test 1.0",
		.identity = "unit.example",
	};
}

static void reply_clear(void);

static void teardown(void)
{
	reply_clear();
	zonedb_free(g_db);
	for (size_t i = 0; i < g_ngen; i++)
		free(g_gen[i]);
	g_ngen = 0;
}

/* ================================================================ asking */

struct reply {
	enum query_status st;
	struct answer_info info;
	size_t len;
	ldns_pkt *p;
	uint8_t buf[65535];
};

static struct reply R;

static void reply_clear(void)
{
	if (R.p)
		ldns_pkt_free(R.p);
	R.p = NULL;
}

/* Answer a query given as wire; parse the response into R.p. */
static void ask_wire(const uint8_t *wire, size_t len, bool tcp)
{
	struct query q;
	reply_clear();
	R.st = query_parse(&q, wire, len, tcp);
	memset(&R.info, 0xee, sizeof(R.info));
	memset(R.buf, 0xee, sizeof(R.buf));
	R.len = answer_query(&g_cfg, g_db, &q, R.st, R.buf, sizeof(R.buf), &R.info);
	/* The UDP loop's way (the batch's cache-warming steps, then the
	 * zone they found) must give the same octets for every query this
	 * suite asks: DS at a cut served on both sides, other zones, CH. */
	static uint8_t wbuf[sizeof(R.buf)];
	struct answer_warm w;
	struct answer_info winfo;
	answer_warm_zone(g_db, &q, R.st, &w);
	answer_warm_node(&q, &w);
	answer_warm_data(&w);
	size_t wlen = answer_query_warm(&g_cfg, g_db, &q, R.st, &w, wbuf, sizeof(wbuf), &winfo);
	ck_assert_uint_eq(wlen, R.len);
	ck_assert_mem_eq(wbuf, R.buf, R.len);
	if (R.len == 0)
		return; /* dropped: no info either way */
	ck_assert_uint_eq(winfo.rcode, R.info.rcode);
	ck_assert_uint_eq(winfo.kind, R.info.kind);
	ldns_status s = ldns_wire2pkt(&R.p, R.buf, R.len);
	ck_assert_msg(s == LDNS_STATUS_OK, "response does not parse: %s", ldns_get_errorstr_by_id(s));
}

static void ask_spec(const struct ut_q *spec, bool tcp)
{
	uint8_t q[1024];
	size_t len = ut_query_wire(spec, q, sizeof(q));
	ask_wire(q, len, tcp);
}

/* The common case: a UDP question without EDNS. */
static void ask(const char *name, uint16_t type)
{
	struct ut_q spec = {.name = name, .type = type, .id = 4242};
	ask_spec(&spec, false);
}

static size_t n_an(void)
{
	return ldns_rr_list_rr_count(ldns_pkt_answer(R.p));
}

static size_t n_ns(void)
{
	return ldns_rr_list_rr_count(ldns_pkt_authority(R.p));
}

static size_t n_ar(void)
{
	return ldns_rr_list_rr_count(ldns_pkt_additional(R.p));
}

static int rcode(void)
{
	return ldns_pkt_get_rcode(R.p);
}

static bool aa(void)
{
	return ldns_pkt_aa(R.p);
}

static bool tc(void)
{
	return ldns_pkt_tc(R.p);
}

/* Record i of a section has this owner, type, and (if given) rdata text. */
static void assert_rr(ldns_rr_list *l, size_t i, const char *owner, uint16_t type,
		      const char *rdata)
{
	ck_assert_msg(ldns_rr_list_rr_count(l) > i, "no record %zu (have %zu)", i,
		      ldns_rr_list_rr_count(l));
	ldns_rr *rr = ldns_rr_list_rr(l, i);
	ldns_rdf *want = ldns_dname_new_frm_str(owner);
	char *os = ldns_rdf2str(ldns_rr_owner(rr));
	ck_assert_msg(ldns_dname_compare(want, ldns_rr_owner(rr)) == 0, "record %zu: owner %s, want %s",
		      i, os, owner);
	free(os);
	ldns_rdf_deep_free(want);
	ck_assert_msg(ldns_rr_get_type(rr) == type, "record %zu (%s): type %d, want %d", i, owner,
		      ldns_rr_get_type(rr), type);
	if (rdata) {
		char *rs = ldns_rdf2str(ldns_rr_rdf(rr, 0));
		ck_assert_msg(strcasecmp(rs, rdata) == 0, "record %zu (%s): rdata %s, want %s", i,
			      owner, rs, rdata);
		free(rs);
	}
}

#define AN(i, owner, type, rdata) assert_rr(ldns_pkt_answer(R.p), i, owner, type, rdata)
#define NS(i, owner, type, rdata) assert_rr(ldns_pkt_authority(R.p), i, owner, type, rdata)
#define AR(i, owner, type, rdata) assert_rr(ldns_pkt_additional(R.p), i, owner, type, rdata)

static uint32_t ttl_of(ldns_rr_list *l, size_t i)
{
	return ldns_rr_ttl(ldns_rr_list_rr(l, i));
}

/* No record appears twice in the answer section (RFC 2181 §5). */
static void assert_no_duplicates(void)
{
	ldns_rr_list *l = ldns_pkt_answer(R.p);
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		for (size_t j = i + 1; j < ldns_rr_list_rr_count(l); j++)
			ck_assert_msg(ldns_rr_compare(ldns_rr_list_rr(l, i), ldns_rr_list_rr(l, j)) != 0,
				      "answer records %zu and %zu (of %zu) are the same record", i, j,
				      ldns_rr_list_rr_count(l));
}

/* An authoritative negative answer: rcode, no answer records (unless
 * `an` says how many came before), the zone's SOA with its RFC 2308 TTL. */
static void assert_negative(int want_rcode, size_t an, const char *zone, uint32_t neg_ttl)
{
	ck_assert_int_eq(rcode(), want_rcode);
	ck_assert(aa());
	ck_assert(!tc());
	ck_assert_uint_eq(n_an(), an);
	ck_assert_uint_eq(n_ns(), 1);
	NS(0, zone, LDNS_RR_TYPE_SOA, NULL);
	ck_assert_uint_eq(ttl_of(ldns_pkt_authority(R.p), 0), neg_ttl);
	ck_assert_uint_eq(n_ar(), 0);
}

/* ================================================================ basic answers */

START_TEST(exact_match)
{
	ask("www.example.com.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(R.st, QUERY_OK);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert(ldns_pkt_qr(R.p));
	ck_assert(aa());
	ck_assert(!tc());
	ck_assert_uint_eq(ldns_pkt_id(R.p), 4242);
	ck_assert_uint_eq(n_an(), 1);
	AN(0, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.10");
	ck_assert_uint_eq(ttl_of(ldns_pkt_answer(R.p), 0), 300);
	ck_assert_uint_eq(n_ns(), 0);
	ck_assert_uint_eq(n_ar(), 0);
	ck_assert_uint_eq(R.info.rcode, 0);
	ck_assert(R.info.aa);
	ck_assert(!R.info.tc);
	/* the question is echoed */
	ck_assert_uint_eq(ldns_rr_list_rr_count(ldns_pkt_question(R.p)), 1);
	ck_assert_uint_eq(R.buf[5], 1);
}
END_TEST

START_TEST(case_preserved)
{
	ask("WwW.ExAmPlE.CoM.", LDNS_RR_TYPE_AAAA);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(n_an(), 1);
	/* question and the answer's owner (a pointer to it) in the client's case */
	ck_assert_mem_eq(R.buf + 12, "\3WwW\7ExAmPlE\3CoM\0\0\x1c\0\1", 21);
	ck_assert_mem_eq(R.buf + 33, "\xc0\x0c\0\x1c", 4);
}
END_TEST

START_TEST(nodata_soa_ttl)
{
	ask("www.example.com.", LDNS_RR_TYPE_MX);
	/* RFC 2308 §3: SOA TTL min(3600, MINIMUM 300) */
	assert_negative(LDNS_RCODE_NOERROR, 0, "example.com.", 300);
	/* example.net.: MINIMUM 60 */
	ask("www.example.net.", LDNS_RR_TYPE_MX);
	assert_negative(LDNS_RCODE_NOERROR, 0, "example.net.", 60);
	/* the apex itself */
	ask("example.com.", LDNS_RR_TYPE_TXT);
	assert_negative(LDNS_RCODE_NOERROR, 0, "example.com.", 300);
}
END_TEST

START_TEST(nxdomain)
{
	ask("nothere.example.com.", LDNS_RR_TYPE_A);
	assert_negative(LDNS_RCODE_NXDOMAIN, 0, "example.com.", 300);
	ck_assert_uint_eq(R.info.rcode, RCODE_NXDOMAIN);
	ask("a.b.c.nothere.example.com.", LDNS_RR_TYPE_A);
	assert_negative(LDNS_RCODE_NXDOMAIN, 0, "example.com.", 300);
}
END_TEST

START_TEST(positive_soa_and_ns_keep_their_ttl)
{
	ask("example.com.", LDNS_RR_TYPE_SOA);
	ck_assert_uint_eq(n_an(), 1);
	AN(0, "example.com.", LDNS_RR_TYPE_SOA, "ns1.example.com.");
	ck_assert_uint_eq(ttl_of(ldns_pkt_answer(R.p), 0), 3600);
	ask("example.com.", LDNS_RR_TYPE_NS);
	ck_assert_uint_eq(n_an(), 2);
	ck_assert(aa());
}
END_TEST

START_TEST(refused_other_zones)
{
	static const char *names[] = {"www.example.org.", "com.", ".", "example.", "xexample.com.", NULL};
	for (int i = 0; names[i]; i++) {
		ask(names[i], LDNS_RR_TYPE_A);
		ck_assert_int_eq(rcode(), LDNS_RCODE_REFUSED);
		ck_assert(!aa());
		ck_assert_uint_eq(n_an() + n_ns() + n_ar(), 0);
		ck_assert_uint_eq(ldns_rr_list_rr_count(ldns_pkt_question(R.p)), 1);
	}
}
END_TEST

START_TEST(ent_is_nodata)
{
	ask("ent.wild.example.com.", LDNS_RR_TYPE_A);
	assert_negative(LDNS_RCODE_NOERROR, 0, "example.com.", 300);
	ask("wild.example.com.", LDNS_RR_TYPE_A); /* parent of the wildcard: an ENT too */
	assert_negative(LDNS_RCODE_NOERROR, 0, "example.com.", 300);
	ask("ent.wild.example.com.", LDNS_RR_TYPE_ANY);
	assert_negative(LDNS_RCODE_NOERROR, 0, "example.com.", 300);
}
END_TEST

/* ================================================================ wildcards */

START_TEST(wildcard_synthesis)
{
	/* RFC 4592 §3.3.1: the owner is the query name */
	ask("foo.wild.example.com.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert(aa());
	ck_assert_uint_eq(n_an(), 1);
	AN(0, "foo.wild.example.com.", LDNS_RR_TYPE_A, "192.0.2.20");
	ck_assert_uint_eq(n_ns(), 0);
	/* more than one label below the closest encloser */
	ask("a.b.c.wild.example.com.", LDNS_RR_TYPE_TXT);
	AN(0, "a.b.c.wild.example.com.", LDNS_RR_TYPE_TXT, "\"wild\"");
	/* the `*` name asked for literally */
	ask("*.wild.example.com.", LDNS_RR_TYPE_A);
	AN(0, "*.wild.example.com.", LDNS_RR_TYPE_A, "192.0.2.20");
	/* NODATA at a wildcard */
	ask("foo.wild.example.com.", LDNS_RR_TYPE_MX);
	assert_negative(LDNS_RCODE_NOERROR, 0, "example.com.", 300);
}
END_TEST

START_TEST(wildcard_blocked)
{
	/* RFC 4592 §2.2.2: an existing name (even an ENT) blocks the wildcard */
	ask("exists.wild.example.com.", LDNS_RR_TYPE_TXT);
	assert_negative(LDNS_RCODE_NOERROR, 0, "example.com.", 300);
	ask("x.exists.wild.example.com.", LDNS_RR_TYPE_A);
	assert_negative(LDNS_RCODE_NXDOMAIN, 0, "example.com.", 300);
	ask("x.ent.wild.example.com.", LDNS_RR_TYPE_A);
	assert_negative(LDNS_RCODE_NXDOMAIN, 0, "example.com.", 300);
	ask("a.ent.wild.example.com.", LDNS_RR_TYPE_A);
	AN(0, "a.ent.wild.example.com.", LDNS_RR_TYPE_A, "192.0.2.22");
}
END_TEST

START_TEST(wildcard_cname)
{
	ask("foo.cw.example.com.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(n_an(), 2);
	AN(0, "foo.cw.example.com.", LDNS_RR_TYPE_CNAME, "www.example.com.");
	AN(1, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.10");
}
END_TEST

/* Regression (a bug found here, fixed in 35134db):
 * (src/answer.c, answer_in): the CNAME loop check only looks at exact
 * matches, so a loop through a wildcard (*.lw CNAME x.lw: x.lw is itself
 * synthesized from *.lw) is followed CHAIN_MAX times: the answer to
 * a.lw.example.com. A holds 12 records, the same "x.lw.example.com. CNAME
 * x.lw.example.com." eleven times. Expected: each record once (RFC 2181
 * §5), as for the loop between two real names (cname_loop). */
START_TEST(bug_wildcard_cname_loop_repeats_records)
{
	ask("a.lw.example.com.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	AN(0, "a.lw.example.com.", LDNS_RR_TYPE_CNAME, "x.lw.example.com.");
	AN(1, "x.lw.example.com.", LDNS_RR_TYPE_CNAME, "x.lw.example.com.");
	assert_no_duplicates();
	ck_assert_uint_eq(n_an(), 2);
}
END_TEST

/* ================================================================ CNAME */

START_TEST(cname_followed)
{
	ask("alias.example.com.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert(aa());
	ck_assert_uint_eq(n_an(), 2);
	AN(0, "alias.example.com.", LDNS_RR_TYPE_CNAME, "www.example.com.");
	AN(1, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.10");
	/* the CNAME itself is the answer to a CNAME question */
	ask("alias.example.com.", LDNS_RR_TYPE_CNAME);
	ck_assert_uint_eq(n_an(), 1);
	AN(0, "alias.example.com.", LDNS_RR_TYPE_CNAME, "www.example.com.");
	/* NODATA at the target: CNAME, then the SOA */
	ask("alias.example.com.", LDNS_RR_TYPE_MX);
	assert_negative(LDNS_RCODE_NOERROR, 1, "example.com.", 300);
	AN(0, "alias.example.com.", LDNS_RR_TYPE_CNAME, "www.example.com.");
}
END_TEST

/* RRSIG and NSEC at an alias are its own (RFC 2181 §10.1, RFC 4035 §2.5):
 * answered from its node, NODATA when it has none, the CNAME not followed
 * (BIND 9.18 and Knot 3.2 answer so; NSD 4.6 follows the CNAME). */
START_TEST(cname_rrsig_nsec_are_the_alias_own)
{
	ask("sigalias.example.com.", LDNS_RR_TYPE_RRSIG);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert(aa());
	ck_assert_uint_eq(n_an(), 1);
	AN(0, "sigalias.example.com.", LDNS_RR_TYPE_RRSIG, "CNAME");
	ask("sigalias.example.com.", LDNS_RR_TYPE_NSEC);
	ck_assert_uint_eq(n_an(), 1);
	AN(0, "sigalias.example.com.", LDNS_RR_TYPE_NSEC, "www.example.com.");
	/* any other type still follows the CNAME */
	ask("sigalias.example.com.", LDNS_RR_TYPE_A);
	ck_assert_uint_eq(n_an(), 2);
	AN(0, "sigalias.example.com.", LDNS_RR_TYPE_CNAME, "www.example.com.");
	AN(1, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.10");
	/* an alias without them: NODATA, not the target's */
	ask("alias.example.com.", LDNS_RR_TYPE_RRSIG);
	assert_negative(LDNS_RCODE_NOERROR, 0, "example.com.", 300);
	ask("alias.example.com.", LDNS_RR_TYPE_NSEC);
	assert_negative(LDNS_RCODE_NOERROR, 0, "example.com.", 300);
	/* the same through a wildcard CNAME */
	ask("foo.cw.example.com.", LDNS_RR_TYPE_RRSIG);
	assert_negative(LDNS_RCODE_NOERROR, 0, "example.com.", 300);
}
END_TEST

START_TEST(cname_chain)
{
	ask("chain1.example.com.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(n_an(), 3);
	AN(0, "chain1.example.com.", LDNS_RR_TYPE_CNAME, "chain2.example.com.");
	AN(1, "chain2.example.com.", LDNS_RR_TYPE_CNAME, "www.example.com.");
	AN(2, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.10");
}
END_TEST

START_TEST(cname_loop)
{
	ask("loop1.example.com.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(n_an(), 2);
	AN(0, "loop1.example.com.", LDNS_RR_TYPE_CNAME, "loop2.example.com.");
	AN(1, "loop2.example.com.", LDNS_RR_TYPE_CNAME, "loop1.example.com.");
	assert_no_duplicates();
	ask("self.example.com.", LDNS_RR_TYPE_A);
	ck_assert_uint_eq(n_an(), 1);
	AN(0, "self.example.com.", LDNS_RR_TYPE_CNAME, "self.example.com.");
}
END_TEST

START_TEST(cname_to_nxdomain)
{
	/* RFC 6604 §3: the RCODE is that of the last name in the chain */
	ask("dangling.example.com.", LDNS_RR_TYPE_A);
	assert_negative(LDNS_RCODE_NXDOMAIN, 1, "example.com.", 300);
	AN(0, "dangling.example.com.", LDNS_RR_TYPE_CNAME, "nothere.example.com.");
	/* into another of our zones */
	ask("tonetnx.example.com.", LDNS_RR_TYPE_A);
	assert_negative(LDNS_RCODE_NXDOMAIN, 1, "example.net.", 60);
}
END_TEST

START_TEST(cname_out_of_our_zones)
{
	ask("ext.example.com.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert(aa());
	ck_assert_uint_eq(n_an(), 1);
	ck_assert_uint_eq(n_ns(), 0);
	AN(0, "ext.example.com.", LDNS_RR_TYPE_CNAME, "www.example.org.");
	/* into another zone we serve: followed */
	ask("tonet.example.com.", LDNS_RR_TYPE_A);
	ck_assert_uint_eq(n_an(), 2);
	AN(1, "www.example.net.", LDNS_RR_TYPE_A, "192.0.2.51");
	ck_assert(aa());
}
END_TEST

/* ================================================================ DNAME */

START_TEST(dname_synthesis)
{
	ask("foo.dn.example.com.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert(aa());
	ck_assert_uint_eq(n_an(), 3);
	AN(0, "dn.example.com.", LDNS_RR_TYPE_DNAME, "example.net.");
	/* RFC 6672 §3.1: the CNAME's TTL is the DNAME's */
	AN(1, "foo.dn.example.com.", LDNS_RR_TYPE_CNAME, "foo.example.net.");
	ck_assert_uint_eq(ttl_of(ldns_pkt_answer(R.p), 1), 300);
	AN(2, "foo.example.net.", LDNS_RR_TYPE_A, "192.0.2.52");
	/* data below the DNAME is occluded (RFC 6672 §2.4) */
	ask("under.dn.example.com.", LDNS_RR_TYPE_A);
	AN(0, "dn.example.com.", LDNS_RR_TYPE_DNAME, "example.net.");
	AN(1, "under.dn.example.com.", LDNS_RR_TYPE_CNAME, "under.example.net.");
	assert_negative(LDNS_RCODE_NXDOMAIN, 2, "example.net.", 60);
}
END_TEST

START_TEST(dname_cname_question_and_owner)
{
	/* a CNAME question is answered by the synthesized CNAME */
	ask("foo.dn.example.com.", LDNS_RR_TYPE_CNAME);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(n_an(), 2);
	AN(1, "foo.dn.example.com.", LDNS_RR_TYPE_CNAME, "foo.example.net.");
	/* the DNAME does not apply to its own name */
	ask("dn.example.com.", LDNS_RR_TYPE_A);
	assert_negative(LDNS_RCODE_NOERROR, 0, "example.com.", 300);
	ask("dn.example.com.", LDNS_RR_TYPE_DNAME);
	ck_assert_uint_eq(n_an(), 1);
	AN(0, "dn.example.com.", LDNS_RR_TYPE_DNAME, "example.net.");
}
END_TEST

START_TEST(dname_keeps_client_case)
{
	ask("FoO.Dn.Example.COM.", LDNS_RR_TYPE_A);
	ck_assert_uint_eq(n_an(), 3);
	char *s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(R.p), 1), 0));
	ck_assert_str_eq(s, "FoO.example.net.");
	free(s);
}
END_TEST

START_TEST(dname_yxdomain)
{
	/* RFC 6672 §2.2: the synthesized name would pass 255 octets */
	char q[400];
	char l63[64];
	memset(l63, 'p', 63);
	l63[63] = 0;
	snprintf(q, sizeof(q), "%s.longdn.example.com.", l63); /* 64 + 218 > 255 */
	ask(q, LDNS_RR_TYPE_A);
	ck_assert_int_eq(rcode(), LDNS_RCODE_YXDOMAIN);
	ck_assert_uint_eq(R.info.rcode, RCODE_YXDOMAIN);
	ck_assert(aa());
	ck_assert_uint_eq(n_an(), 1);
	AN(0, "longdn.example.com.", LDNS_RR_TYPE_DNAME, g_long_target);
	/* a short prefix still fits: 2 + 218 */
	ask("a.longdn.example.com.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(n_an(), 2);
	ck_assert_int_eq(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(R.p), 1)),
			 LDNS_RR_TYPE_CNAME);
}
END_TEST

/* Regression (a bug found here, fixed in 35134db):
 * (src/answer.c, answer_in): a DNAME loop (selfdn DNAME selfdn: every
 * name below maps to itself) is not detected (the loop check only looks at
 * exact matches) and is followed CHAIN_MAX times: the answer repeats the
 * same DNAME and the same synthesized CNAME up to twelve times each (over
 * UDP the 512-octet limit cuts it at 20 records with TC=1, so a client
 * retries over TCP for 24). Expected: each record once (RFC 2181 §5). */
START_TEST(bug_dname_loop_repeats_records)
{
	ask("x.selfdn.example.com.", LDNS_RR_TYPE_A);
	AN(0, "selfdn.example.com.", LDNS_RR_TYPE_DNAME, "selfdn.example.com.");
	AN(1, "x.selfdn.example.com.", LDNS_RR_TYPE_CNAME, "x.selfdn.example.com.");
	assert_no_duplicates();
}
END_TEST

/* ================================================================ delegations */

START_TEST(referral_with_glue)
{
	ask("www.deleg.example.com.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	/* RFC 1034 §4.3.2 3b: not authoritative for what is below the cut */
	ck_assert(!aa());
	ck_assert(!R.info.aa);
	ck_assert(!tc());
	ck_assert_uint_eq(n_an(), 0);
	ck_assert_uint_eq(n_ns(), 3);
	for (size_t i = 0; i < 3; i++)
		NS(i, "deleg.example.com.", LDNS_RR_TYPE_NS, NULL);
	ck_assert_uint_eq(ttl_of(ldns_pkt_authority(R.p), 0), 3600);
	/* glue: ns.deleg (A, AAAA) and ns1.example.com (A); none for the
	 * out-of-zone name server */
	ck_assert_uint_eq(n_ar(), 3);
	ldns_rr_list *ar = ldns_pkt_additional(R.p);
	bool a = false, aaaa = false, ns1 = false;
	for (size_t i = 0; i < n_ar(); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ar, i);
		char *o = ldns_rdf2str(ldns_rr_owner(rr));
		if (!strcmp(o, "ns.deleg.example.com.") && ldns_rr_get_type(rr) == LDNS_RR_TYPE_A)
			a = true;
		else if (!strcmp(o, "ns.deleg.example.com.") &&
			 ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA)
			aaaa = true;
		else if (!strcmp(o, "ns1.example.com.") && ldns_rr_get_type(rr) == LDNS_RR_TYPE_A)
			ns1 = true;
		free(o);
	}
	ck_assert(a && aaaa && ns1);
}
END_TEST

START_TEST(referral_at_the_cut_and_for_glue_names)
{
	static const struct {
		const char *name;
		uint16_t type;
	} qs[] = {
		{"deleg.example.com.", LDNS_RR_TYPE_A},
		{"deleg.example.com.", LDNS_RR_TYPE_NS}, /* the child's NS is the child's */
		{"ns.deleg.example.com.", LDNS_RR_TYPE_A}, /* glue is not an answer */
		{"a.b.deleg.example.com.", LDNS_RR_TYPE_ANY},
		{"ns.deleg.example.com.", LDNS_RR_TYPE_DS}, /* below the cut */
	};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		ask(qs[i].name, qs[i].type);
		ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
		ck_assert_msg(!aa(), "%s: AA", qs[i].name);
		ck_assert_uint_eq(n_an(), 0);
		ck_assert_uint_eq(n_ns(), 3);
		NS(0, "deleg.example.com.", LDNS_RR_TYPE_NS, NULL);
	}
	/* a cut without glue */
	ask("x.nods.example.com.", LDNS_RR_TYPE_A);
	ck_assert(!aa());
	ck_assert_uint_eq(n_ns(), 1);
	ck_assert_uint_eq(n_ar(), 0);
}
END_TEST

START_TEST(ds_at_cut_from_parent)
{
	/* RFC 4035 §3.1.4.1: DS lives in the parent */
	ask("deleg.example.com.", LDNS_RR_TYPE_DS);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert(aa());
	ck_assert_uint_eq(n_an(), 1);
	AN(0, "deleg.example.com.", LDNS_RR_TYPE_DS, "12345");
	ck_assert_uint_eq(n_ns(), 0);
	/* a cut without DS: NODATA from the parent */
	ask("nods.example.com.", LDNS_RR_TYPE_DS);
	assert_negative(LDNS_RCODE_NOERROR, 0, "example.com.", 300);
}
END_TEST

START_TEST(ds_with_child_served_too)
{
	/* we serve both sides of sub.example.com.: DS from the parent, the
	 * rest from the child */
	ask("sub.example.com.", LDNS_RR_TYPE_DS);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert(aa());
	AN(0, "sub.example.com.", LDNS_RR_TYPE_DS, "54321");
	ask("sub.example.com.", LDNS_RR_TYPE_SOA);
	ck_assert(aa());
	AN(0, "sub.example.com.", LDNS_RR_TYPE_SOA, "ns.sub.example.com.");
	ask("sub.example.com.", LDNS_RR_TYPE_A);
	assert_negative(LDNS_RCODE_NOERROR, 0, "sub.example.com.", 120);
	ask("www.sub.example.com.", LDNS_RR_TYPE_A);
	ck_assert(aa());
	AN(0, "www.sub.example.com.", LDNS_RR_TYPE_A, "192.0.2.41");
	/* DS below the child apex: the child's NODATA */
	ask("www.sub.example.com.", LDNS_RR_TYPE_DS);
	assert_negative(LDNS_RCODE_NOERROR, 0, "sub.example.com.", 120);
	/* DS at an apex whose parent we do not serve: that zone's NODATA */
	ask("example.com.", LDNS_RR_TYPE_DS);
	assert_negative(LDNS_RCODE_NOERROR, 0, "example.com.", 300);
}
END_TEST

/* ================================================================ ANY */

START_TEST(any_udp_one_rrset_tcp_all)
{
	/* RFC 8482 §4.1: one RRset over UDP */
	ask("www.example.com.", LDNS_RR_TYPE_ANY);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert(aa());
	ck_assert_uint_eq(n_an(), 1);
	uint16_t t1 = (uint16_t)ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(R.p), 0));
	ask("www.example.com.", LDNS_RR_TYPE_ANY); /* always the same one */
	ck_assert_uint_eq(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(R.p), 0)), t1);
	/* everything over TCP */
	struct ut_q spec = {.name = "www.example.com.", .type = LDNS_RR_TYPE_ANY};
	ask_spec(&spec, true);
	ck_assert_uint_eq(n_an(), 3);
	bool seen[3] = {false, false, false};
	for (size_t i = 0; i < 3; i++) {
		ldns_rr_type t = ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(R.p), i));
		seen[0] |= t == LDNS_RR_TYPE_A;
		seen[1] |= t == LDNS_RR_TYPE_AAAA;
		seen[2] |= t == LDNS_RR_TYPE_TXT;
	}
	ck_assert(seen[0] && seen[1] && seen[2]);
}
END_TEST

/* ================================================================ sizes */

static void ask_size(const char *name, uint16_t type, bool edns, uint16_t size)
{
	struct ut_q spec = {.name = name, .type = type, .edns = edns, .edns_size = size};
	ask_spec(&spec, false);
}

/* Every record in the response is whole (it parsed), and the size is in bounds. */
static void assert_tc_whole(size_t limit)
{
	ck_assert(tc());
	ck_assert(R.info.tc);
	ck_assert_uint_le(R.len, limit);
}

START_TEST(truncation_no_edns_512)
{
	ask("big.example.com.", LDNS_RR_TYPE_TXT); /* 1130 octets of answer */
	assert_tc_whole(512);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert(aa());
	ck_assert_uint_eq(n_an(), 0); /* whole RRsets only (RFC 2181 §9) */
	ck_assert_uint_eq(n_ns(), 0);
	ck_assert(!ldns_pkt_edns(R.p));
	/* 485 octets fit */
	ask("mid.example.com.", LDNS_RR_TYPE_TXT);
	ck_assert(!tc());
	ck_assert_uint_eq(n_an(), 4);
	ck_assert_uint_le(R.len, 512);
}
END_TEST

START_TEST(truncation_keeps_earlier_rrsets)
{
	/* the CNAME fits, the target's set does not: TC, the CNAME alone */
	ask("bigalias.example.com.", LDNS_RR_TYPE_TXT);
	assert_tc_whole(512);
	ck_assert_uint_eq(n_an(), 1);
	AN(0, "bigalias.example.com.", LDNS_RR_TYPE_CNAME, "big.example.com.");
}
END_TEST

START_TEST(edns_size_honoured)
{
	/* client 4096, ours 1232: up to 1232 */
	ask_size("big.example.com.", LDNS_RR_TYPE_TXT, true, 4096);
	ck_assert(!tc());
	ck_assert_uint_eq(n_an(), 10);
	ck_assert_uint_le(R.len, 1232);
	ck_assert(ldns_pkt_edns(R.p));
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(R.p), 1232); /* ours, advertised */
	ask_size("big2.example.com.", LDNS_RR_TYPE_TXT, true, 4096); /* 1582 */
	assert_tc_whole(1232);
	ck_assert_uint_eq(n_an(), 0);
	ck_assert(ldns_pkt_edns(R.p)); /* the OPT is kept on a truncated answer */
	/* client 600: up to 600 */
	ask_size("big.example.com.", LDNS_RR_TYPE_TXT, true, 600);
	assert_tc_whole(600);
	/* client 100: RFC 6891 §6.2.5, treated as 512 */
	ask_size("mid.example.com.", LDNS_RR_TYPE_TXT, true, 100);
	ck_assert(!tc());
	ck_assert_uint_eq(n_an(), 4);
	ck_assert_uint_le(R.len, 512);
	ask_size("big.example.com.", LDNS_RR_TYPE_TXT, true, 1);
	assert_tc_whole(512);
	/* ours raised to 4096 */
	g_cfg.edns_size = 4096;
	ask_size("big2.example.com.", LDNS_RR_TYPE_TXT, true, 4096);
	ck_assert(!tc());
	ck_assert_uint_eq(n_an(), 14);
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(R.p), 4096);
	ask_size("big2.example.com.", LDNS_RR_TYPE_TXT, true, 1500);
	assert_tc_whole(1500);
}
END_TEST

START_TEST(edns_limit_counts_nsid)
{
	/* the OPT with NSID (11 + 4 + 7) must fit under the limit too */
	struct ut_q spec = {.name = "big.example.com.", .type = LDNS_RR_TYPE_TXT, .edns = true,
			    .edns_size = 1174 + 10, .nsid = true};
	ask_spec(&spec, false);
	ck_assert_uint_le(R.len, 1184);
	ck_assert(tc());
	spec.nsid = false; /* 12 + 21 + 1130 + 11 = 1174 */
	ask_spec(&spec, false);
	ck_assert(!tc());
	ck_assert_uint_eq(R.len, 1174);
}
END_TEST

START_TEST(tcp_not_limited_by_udp_sizes)
{
	struct ut_q spec = {.name = "big2.example.com.", .type = LDNS_RR_TYPE_TXT};
	ask_spec(&spec, true);
	ck_assert(!tc());
	ck_assert_uint_eq(n_an(), 14);
	ck_assert_uint_gt(R.len, 1232);
}
END_TEST

START_TEST(referral_truncated_for_in_domain_glue)
{
	/* RFC 9471 §3: glue under the cut must fit, else TC */
	ask("www.fat.example.com.", LDNS_RR_TYPE_A);
	assert_tc_whole(512);
	ck_assert(!aa());
	ck_assert_uint_eq(n_ns(), 12);
	ck_assert_uint_lt(n_ar(), 24);
	/* with room, all of it */
	ask_size("www.fat.example.com.", LDNS_RR_TYPE_A, true, 1232);
	ck_assert(!tc());
	ck_assert_uint_eq(n_ns(), 12);
	ck_assert_uint_eq(n_ar(), 24); /* ldns keeps the OPT out of the list */
}
END_TEST

START_TEST(referral_sibling_glue_optional)
{
	/* glue that is not under the cut may be left out without TC */
	ask("www.fat2.example.com.", LDNS_RR_TYPE_A);
	ck_assert(!tc());
	ck_assert_uint_le(R.len, 512);
	ck_assert_uint_eq(n_ns(), 12);
	ck_assert_uint_gt(n_ar(), 0);
	ck_assert_uint_lt(n_ar(), 24);
}
END_TEST

/* ================================================================ EDNS */

START_TEST(edns_opt_echo)
{
	struct ut_q spec = {.name = "www.example.com.", .edns = true, .edns_size = 4096,
			    .do_bit = true};
	ask_spec(&spec, false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert(ldns_pkt_edns(R.p));
	ck_assert(ldns_pkt_edns_do(R.p)); /* RFC 3225 §3: DO copied */
	ck_assert_uint_eq(ldns_pkt_edns_version(R.p), 0);
	ck_assert_uint_eq(n_ar(), 0); /* ldns keeps the OPT out of the list */
	ck_assert_uint_eq(R.buf[11], 1); /* ARCOUNT */
	/* no NSID asked: none given */
	ck_assert_uint_eq(ldns_pkt_edns_data(R.p) ? ldns_rdf_size(ldns_pkt_edns_data(R.p)) : 0, 0);
	spec.do_bit = false;
	ask_spec(&spec, false);
	ck_assert(!ldns_pkt_edns_do(R.p));
	/* no EDNS in: none out (RFC 6891 §7) */
	ask("www.example.com.", LDNS_RR_TYPE_A);
	ck_assert(!ldns_pkt_edns(R.p));
	ck_assert_uint_eq(R.buf[11], 0);
}
END_TEST

/* The OPT record's bytes in R.buf: the last 11 + rdlen octets. */
static const uint8_t *opt_bytes(size_t *rdlen)
{
	/* walk the message with ldns to find the OPT's offset: it is last */
	ck_assert(ldns_pkt_edns(R.p));
	for (size_t off = R.len - 11; off >= 12; off--) { /* 12: no question */
		const uint8_t *p = R.buf + off;
		if (p[0] == 0 && p[1] == 0 && p[2] == 41) {
			size_t l = (size_t)(p[9] << 8 | p[10]);
			if (off + 11 + l == R.len) {
				*rdlen = l;
				return p;
			}
		}
	}
	ck_abort_msg("no OPT at the end of the response");
	return NULL;
}

START_TEST(edns_nsid)
{
	struct ut_q spec = {.name = "www.example.com.", .edns = true, .nsid = true};
	ask_spec(&spec, false);
	size_t rdlen;
	const uint8_t *o = opt_bytes(&rdlen);
	ck_assert_uint_eq(rdlen, 4 + 7);
	ck_assert_mem_eq(o + 11, "\0\3\0\7ns-unit", 11); /* RFC 5001 §2.3 */
	ck_assert_uint_eq(n_an(), 1);
	/* not configured: no option */
	g_cfg.nsid = NULL;
	g_cfg.nsid_len = 0;
	ask_spec(&spec, false);
	o = opt_bytes(&rdlen);
	ck_assert_uint_eq(rdlen, 0);
}
END_TEST

/* RFC 8914 §4.21: a name in none of our zones is REFUSED with the Extended
 * DNS Error 20 "Not Authoritative" when the query has EDNS, as Knot 3.2
 * and NSD 4.6 answer; other refusals (CH names we do not know, classes,
 * zone transfers) carry none, as in Knot. */
START_TEST(edns_ede_not_authoritative)
{
	struct ut_q spec = {.name = "www.example.org.", .edns = true};
	ask_spec(&spec, false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_REFUSED);
	size_t rdlen;
	const uint8_t *o = opt_bytes(&rdlen);
	ck_assert_uint_eq(rdlen, 6);
	ck_assert_mem_eq(o + 11, "\0\x0f\0\x02\0\x14", 6);
	ck_assert_uint_eq(R.info.opt_len, 11 + 6);
	/* after a cookie; with the NSID first */
	const uint8_t cc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	spec.cookie = cc;
	spec.cookie_len = 8;
	spec.nsid = true;
	ask_spec(&spec, false);
	o = opt_bytes(&rdlen);
	ck_assert_uint_eq(o[11 + 1], 3); /* NSID */
	ck_assert_mem_eq(o + 11 + rdlen - 6, "\0\x0f\0\x02\0\x14", 6);
	/* no EDNS: no OPT at all */
	ask("www.example.org.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(rcode(), LDNS_RCODE_REFUSED);
	ck_assert(!ldns_pkt_edns(R.p));
	/* refusals of another kind: no EDE */
	struct ut_q other[] = {
		{.name = "example.com.", .type = LDNS_RR_TYPE_AXFR, .edns = true},
		{.name = "www.example.com.", .qclass = LDNS_RR_CLASS_HS, .edns = true},
		{.name = "foo.bar.", .type = LDNS_RR_TYPE_TXT, .qclass = LDNS_RR_CLASS_CH,
		 .edns = true},
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		ask_spec(&other[i], false);
		ck_assert_int_eq(rcode(), LDNS_RCODE_REFUSED);
		o = opt_bytes(&rdlen);
		ck_assert_uint_eq(rdlen, 0);
	}
	/* an answer from our zones: none either */
	spec = (struct ut_q){.name = "www.example.com.", .edns = true};
	ask_spec(&spec, false);
	o = opt_bytes(&rdlen);
	ck_assert_uint_eq(rdlen, 0);
}
END_TEST

START_TEST(badvers)
{
	struct ut_q spec = {.name = "www.example.com.", .edns = true, .edns_version = 1,
			    .do_bit = true};
	ask_spec(&spec, false);
	ck_assert_int_eq(R.st, QUERY_BADVERS);
	/* RFC 6891 §6.1.3: BADVERS is 16: 0 in the header, 1 in the OPT */
	ck_assert_uint_eq(R.buf[3] & 0x0f, 0);
	ck_assert_int_eq(rcode(), 0);
	ck_assert_uint_eq(ldns_pkt_edns_extended_rcode(R.p), 1);
	ck_assert_uint_eq(ldns_pkt_edns_version(R.p), 0);
	ck_assert_uint_eq(R.info.rcode, RCODE_BADVERS);
	ck_assert_uint_eq(n_an() + n_ns(), 0);
	size_t rdlen;
	const uint8_t *o = opt_bytes(&rdlen);
	ck_assert_uint_eq(o[5], 1); /* EXTENDED-RCODE */
	ck_assert_uint_eq(o[6], 0); /* VERSION */
}
END_TEST

START_TEST(formerr_without_opt)
{
	/* two OPT records */
	uint8_t q[512];
	struct ut_q spec = {.name = "www.example.com.", .edns = true};
	size_t len = ut_query_wire(&spec, q, sizeof(q));
	memcpy(q + len, "\0\0\x29\x04\xd0\0\0\0\0\0\0", 11);
	len += 11;
	q[11] = 2;
	ask_wire(q, len, false);
	ck_assert_int_eq(R.st, QUERY_FORMERR);
	ck_assert_int_eq(rcode(), LDNS_RCODE_FORMERR);
	ck_assert(!ldns_pkt_edns(R.p));
	ck_assert_uint_eq(R.buf[10], 0);
	ck_assert_uint_eq(R.buf[11], 0);
	ck_assert(!aa());
	/* QDCOUNT 0: a bare header */
	uint8_t h[12] = {0x12, 0x34, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	ask_wire(h, sizeof(h), false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_FORMERR);
	ck_assert_uint_eq(R.len, 12);
	ck_assert_mem_eq(R.buf, "\x12\x34\x81\x01\0\0\0\0\0\0\0\0", 12);
}
END_TEST

#define LABEL63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* `spec` as wire with a TSIG record appended (key `key`, algorithm `alg`,
 * both presentation names), signed with nothing we know. */
static size_t signed_query(const struct ut_q *spec, const char *key, const char *alg,
			   uint8_t *q, size_t size)
{
	size_t len = ut_query_wire(spec, q, size);
	uint8_t kw[DNAME_MAX], aw[DNAME_MAX];
	size_t kl = ut_name(key, kw), al = ut_name(alg, aw);
	size_t rdlen = al + 6 + 2 + 2 + 16 + 2 + 2 + 2;
	ck_assert_uint_le(len + kl + 10 + rdlen, size);
	uint8_t *p = q + len;
	memcpy(p, kw, kl);
	p += kl;
	static const uint8_t fixed[] = {0, 250, 0, 255, 0, 0, 0, 0};
	memcpy(p, fixed, 8);
	p[8] = (uint8_t)(rdlen >> 8);
	p[9] = (uint8_t)rdlen;
	p += 10;
	memcpy(p, aw, al);
	p += al;
	static const uint8_t rest[] = {0, 0, 0x65, 0x43, 0x21, 0x0f, /* time signed */
				       0x01, 0x2c,		      /* fudge 300 */
				       0, 16, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				       0x10, 0x92, /* original ID 4242 */
				       0, 0, 0, 0};
	memcpy(p, rest, sizeof(rest));
	p += sizeof(rest);
	q[11]++; /* ARCOUNT */
	return (size_t)(p - q);
}

/* RFC 8945 §5.2.2: we hold no TSIG keys, so a signed query gets NOTAUTH
 * and an unsigned TSIG with error BADKEY (what BIND 9.18, Knot 3.2 and
 * NSD 4.6 answer for a key they do not have). */
START_TEST(tsig_badkey)
{
	struct ut_q spec = {.name = "www.example.com.", .type = LDNS_RR_TYPE_A, .id = 4242};
	uint8_t q[2048];
	size_t len = signed_query(&spec, "k1.", "hmac-sha256.", q, sizeof(q));
	ask_wire(q, len, false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOTAUTH);
	ck_assert(!aa());
	ck_assert_uint_eq(n_an(), 0);
	ck_assert_uint_eq(n_ns(), 0);
	ck_assert_uint_eq(ldns_pkt_qdcount(R.p), 1);
	ck_assert_uint_eq(R.buf[11], 1); /* the TSIG */
	ldns_rr *t = ldns_pkt_tsig(R.p);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(ldns_rr_get_class(t), LDNS_RR_CLASS_ANY);
	ck_assert_uint_eq(ldns_rr_ttl(t), 0);
	ldns_rdf *want = ldns_dname_new_frm_str("k1.");
	ck_assert_int_eq(ldns_dname_compare(ldns_rr_owner(t), want), 0);
	ldns_rdf_deep_free(want);
	ck_assert_uint_eq(ldns_rr_rd_count(t), 7);
	want = ldns_dname_new_frm_str("hmac-sha256.");
	ck_assert_int_eq(ldns_dname_compare(ldns_rr_rdf(t, 0), want), 0);
	ldns_rdf_deep_free(want);
	ck_assert_mem_eq(ldns_rdf_data(ldns_rr_rdf(t, 1)), "\0\0\x65\x43\x21\x0f", 6);
	ck_assert_uint_eq(ldns_rdf2native_int16(ldns_rr_rdf(t, 2)), 300);
	ck_assert_uint_eq(ldns_rdf_size(ldns_rr_rdf(t, 3)), 2); /* MAC size 0, no MAC */
	ck_assert_uint_eq(ldns_rdf2native_int16(ldns_rr_rdf(t, 4)), 4242);
	ck_assert_uint_eq(ldns_rdf2native_int16(ldns_rr_rdf(t, 5)), 17); /* BADKEY */
	/* the wire ends with the TSIG: ... original ID, error, other len 0 */
	ck_assert_mem_eq(R.buf + R.len - 6, "\x10\x92\0\x11\0\0", 6);

	/* with EDNS: the OPT, then the TSIG last */
	spec.edns = true;
	len = signed_query(&spec, "k1.", "hmac-sha256.", q, sizeof(q));
	ask_wire(q, len, false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOTAUTH);
	ck_assert(ldns_pkt_edns(R.p));
	ck_assert_ptr_nonnull(ldns_pkt_tsig(R.p));
	ck_assert_uint_eq(R.buf[11], 2);
	ck_assert_mem_eq(R.buf + R.len - 6, "\x10\x92\0\x11\0\0", 6);

	/* names too long for 512 octets: TC, no TSIG (the client retries
	 * over TCP, where it fits) */
	spec.edns = false;
	char key[300], alg[300];
	/* 255 octets each: three 63-octet labels and one of 61 */
	snprintf(key, sizeof(key), "%s.%s.%s.%.61s.", LABEL63, LABEL63, LABEL63, LABEL63);
	snprintf(alg, sizeof(alg), "%s.%s.%s.%.61s.", LABEL63, LABEL63, LABEL63, LABEL63);
	len = signed_query(&spec, key, alg, q, sizeof(q));
	ask_wire(q, len, false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOTAUTH);
	ck_assert(tc());
	ck_assert_ptr_null(ldns_pkt_tsig(R.p));
	ck_assert_uint_le(R.len, 512);
	ask_wire(q, len, true);
	ck_assert(!tc());
	ck_assert_ptr_nonnull(ldns_pkt_tsig(R.p));
}
END_TEST

START_TEST(notimp_and_drop)
{
	struct ut_q spec = {.name = "example.com.", .type = LDNS_RR_TYPE_SOA,
			    .opcode = LDNS_PACKET_NOTIFY};
	ask_spec(&spec, false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOTIMPL);
	ck_assert_int_eq(ldns_pkt_get_opcode(R.p), LDNS_PACKET_NOTIFY);
	ck_assert(!aa());
	ck_assert_uint_eq(n_an(), 0);
	spec.opcode = LDNS_PACKET_UPDATE;
	ask_spec(&spec, false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOTIMPL);
	ck_assert_ptr_null(ldns_pkt_edns_data(R.p));
	ck_assert(!ldns_pkt_edns(R.p));
	/* RFC 6891 §7: with an OPT in the query, one in the NOTIMP */
	spec.edns = true;
	spec.opcode = 15;
	ask_spec(&spec, false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOTIMPL);
	ck_assert(ldns_pkt_edns(R.p));
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(R.p), 1232);
	ck_assert_uint_eq(R.buf[11], 1); /* ARCOUNT on the wire: the OPT */
	spec.edns = false;
	/* RD and CD are a QUERY's: another opcode's answer echoes neither,
	 * as BIND and Knot answer (ISC genreport "opcodeflg") */
	spec.rd = spec.cd = true;
	spec.opcode = LDNS_PACKET_NOTIFY;
	ask_spec(&spec, false);
	ck_assert(!ldns_pkt_rd(R.p));
	ck_assert(!ldns_pkt_cd(R.p));
	spec.opcode = LDNS_PACKET_QUERY;
	ask_spec(&spec, false);
	ck_assert(ldns_pkt_rd(R.p));
	ck_assert(ldns_pkt_cd(R.p)); /* a query's CD is echoed (RFC 6840 §5.9) */
	spec.rd = spec.cd = false;
	/* a response is never answered */
	uint8_t q[512];
	size_t len = ut_query_wire(&spec, q, sizeof(q));
	q[2] |= 0x80;
	ask_wire(q, len, false);
	ck_assert_int_eq(R.st, QUERY_DROP);
	ck_assert_uint_eq(R.len, 0);
	ask_wire(q, 5, false);
	ck_assert_uint_eq(R.len, 0);
}
END_TEST

/* ================================================================ classes, types */

START_TEST(chaos)
{
	struct ut_q spec = {.name = "version.bind.", .type = LDNS_RR_TYPE_TXT,
			    .qclass = LDNS_RR_CLASS_CH};
	static const struct {
		const char *name, *text;
	} cases[] = {
		{"version.bind.", "\"shoal-test 1.0\""},
		{"VERSION.Bind.", "\"shoal-test 1.0\""},
		{"version.server.", "\"shoal-test 1.0\""},
		{"id.server.", "\"unit.example\""},
		{"hostname.bind.", "\"unit.example\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		spec.name = cases[i].name;
		ask_spec(&spec, false);
		ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
		ck_assert(aa());
		ck_assert_uint_eq(n_an(), 1);
		AN(0, cases[i].name, LDNS_RR_TYPE_TXT, cases[i].text);
		ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(R.p), 0);
		ck_assert_int_eq(ldns_rr_get_class(rr), LDNS_RR_CLASS_CH);
		ck_assert_uint_eq(ldns_rr_ttl(rr), 0);
	}
	/* other types at a known name: NODATA, no SOA */
	spec.name = "version.bind.";
	spec.type = LDNS_RR_TYPE_A;
	ask_spec(&spec, false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(n_an() + n_ns(), 0);
	/* unknown names: REFUSED */
	spec.type = LDNS_RR_TYPE_TXT;
	spec.name = "authors.bind.";
	ask_spec(&spec, false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_REFUSED);
	spec.name = "www.example.com.";
	ask_spec(&spec, false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_REFUSED);
}
END_TEST

START_TEST(chaos_hidden)
{
	g_cfg.version = NULL;
	g_cfg.identity = NULL;
	struct ut_q spec = {.name = "version.bind.", .type = LDNS_RR_TYPE_TXT,
			    .qclass = LDNS_RR_CLASS_CH};
	ask_spec(&spec, false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_REFUSED);
	ck_assert(!aa());
	ck_assert_uint_eq(n_an(), 0);
	spec.name = "id.server.";
	ask_spec(&spec, false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_REFUSED);
}
END_TEST

START_TEST(classes_and_meta_types)
{
	/* class ANY is answered like IN */
	struct ut_q spec = {.name = "www.example.com.", .qclass = LDNS_RR_CLASS_ANY};
	ask_spec(&spec, false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	AN(0, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.10");
	/* HS, NONE: not ours */
	spec.qclass = LDNS_RR_CLASS_HS;
	ask_spec(&spec, false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_REFUSED);
	spec.qclass = LDNS_RR_CLASS_NONE;
	ask_spec(&spec, false);
	ck_assert_int_eq(rcode(), LDNS_RCODE_REFUSED);
	/* no zone transfers */
	ask("example.com.", LDNS_RR_TYPE_AXFR);
	ck_assert_int_eq(rcode(), LDNS_RCODE_REFUSED);
	ask("example.com.", LDNS_RR_TYPE_IXFR);
	ck_assert_int_eq(rcode(), LDNS_RCODE_REFUSED);
	ask("example.com.", LDNS_RR_TYPE_MAILA);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOTIMPL);
	/* qtype OPT */
	ask("example.com.", LDNS_RR_TYPE_OPT);
	ck_assert_int_eq(rcode(), LDNS_RCODE_FORMERR);
	/* an unknown type: NODATA */
	ask("www.example.com.", 65280);
	assert_negative(LDNS_RCODE_NOERROR, 0, "example.com.", 300);
}
END_TEST

/* ================================================================ header bits */

START_TEST(header_bits)
{
	struct ut_q spec = {.name = "www.example.com.", .rd = true, .cd = true, .ad = true,
			    .ra = true, .id = 0xabcd};
	ask_spec(&spec, false);
	ck_assert_uint_eq(ldns_pkt_id(R.p), 0xabcd);
	ck_assert(ldns_pkt_rd(R.p));  /* RFC 1035 §4.1.1: RD copied */
	ck_assert(!ldns_pkt_ra(R.p)); /* never: we do not recurse */
	ck_assert(ldns_pkt_cd(R.p));  /* RFC 6840 §5.9 */
	ck_assert(!ldns_pkt_ad(R.p)); /* nothing validated here */
	ck_assert_uint_eq(R.buf[3] & 0x40, 0); /* Z */
	spec.rd = spec.cd = false;
	ask_spec(&spec, false);
	ck_assert(!ldns_pkt_rd(R.p));
	ck_assert(!ldns_pkt_cd(R.p));
	ck_assert(!ldns_pkt_ra(R.p));
	/* RA stays clear on every kind of answer */
	static const char *names[] = {"nothere.example.com.", "www.deleg.example.com.",
				      "www.example.org.", NULL};
	spec.rd = true;
	spec.ra = true;
	for (int i = 0; names[i]; i++) {
		spec.name = names[i];
		ask_spec(&spec, false);
		ck_assert_uint_eq(R.buf[3] & 0x80, 0);
		ck_assert(ldns_pkt_rd(R.p));
	}
}
END_TEST

START_TEST(answer_in_place)
{
	/* the response may be written over the query it answers */
	uint8_t buf[1232];
	struct ut_q spec = {.name = "Alias.Example.com.", .edns = true, .id = 99};
	size_t len = ut_query_wire(&spec, buf, sizeof(buf));
	struct query q;
	enum query_status st = query_parse(&q, buf, len, false);
	struct answer_info info;
	size_t out = answer_query(&g_cfg, g_db, &q, st, buf, sizeof(buf), &info);
	ck_assert_uint_gt(out, 0);
	reply_clear();
	ck_assert_int_eq(ldns_wire2pkt(&R.p, buf, out), LDNS_STATUS_OK);
	ck_assert_uint_eq(ldns_pkt_id(R.p), 99);
	ck_assert_uint_eq(n_an(), 2);
	AN(0, "alias.example.com.", LDNS_RR_TYPE_CNAME, "www.example.com.");
	AN(1, "www.example.com.", LDNS_RR_TYPE_A, "192.0.2.10");
}
END_TEST

START_TEST(small_buffer_limits_response)
{
	/* bufsize below the UDP limit: the buffer wins */
	uint8_t q[512];
	struct ut_q spec = {.name = "mid.example.com.", .type = LDNS_RR_TYPE_TXT};
	size_t len = ut_query_wire(&spec, q, sizeof(q));
	struct query qq;
	enum query_status st = query_parse(&qq, q, len, true);
	static uint8_t out[400];
	memset(out, 0xee, sizeof(out));
	struct answer_info info;
	size_t n = answer_query(&g_cfg, g_db, &qq, st, out, 300, &info);
	ck_assert_uint_le(n, 300);
	ck_assert(info.tc);
	ck_assert_uint_eq(out[300], 0xee);
}
END_TEST

/* ================================================================ rate-limit kinds, slip, cookies */

struct kind {
	enum answer_kind kind;
	uint64_t name;
};

/* The RRL kind of the answer to a UDP question without EDNS. */
static struct kind kind_of(const char *name, uint16_t type)
{
	struct query q;
	uint8_t w[512];
	struct ut_q spec = {.name = name, .type = type, .id = 4242};
	size_t len = ut_query_wire(&spec, w, sizeof(w));
	ask_wire(w, len, false);
	ck_assert_int_eq(query_parse(&q, w, len, false), R.st);
	struct kind k;
	k.kind = answer_kind(&q, &R.info, &k.name);
	return k;
}

START_TEST(rrl_kinds)
{
	/* BIND's and Knot's RRL classes: a flood of one kind for many names
	 * under one zone or wildcard must be one key. */
	struct kind a, b;
	a = kind_of("www.example.com.", LDNS_RR_TYPE_A);
	b = kind_of("www.example.com.", LDNS_RR_TYPE_AAAA);
	ck_assert_int_eq(a.kind, ANSWER_POSITIVE);
	ck_assert_int_eq(b.kind, ANSWER_POSITIVE);
	ck_assert(a.name == b.name); /* keyed on the question name */
	b = kind_of("alias.example.com.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(b.kind, ANSWER_POSITIVE);
	ck_assert(a.name != b.name);

	a = kind_of("www.example.com.", LDNS_RR_TYPE_MX);
	ck_assert_int_eq(a.kind, ANSWER_NODATA);
	b = kind_of("ns1.example.com.", LDNS_RR_TYPE_MX);
	ck_assert_int_eq(b.kind, ANSWER_NODATA);
	ck_assert(a.name != b.name);

	/* NXDOMAIN: random names under a zone share the zone's key */
	a = kind_of("random-1.example.com.", LDNS_RR_TYPE_A);
	b = kind_of("x.y.random-2.example.com.", LDNS_RR_TYPE_TXT);
	ck_assert_int_eq(a.kind, ANSWER_NXDOMAIN);
	ck_assert_int_eq(b.kind, ANSWER_NXDOMAIN);
	ck_assert(a.name == b.name);
	b = kind_of("random-3.sub.example.com.", LDNS_RR_TYPE_A); /* another zone */
	ck_assert_int_eq(b.kind, ANSWER_NXDOMAIN);
	ck_assert(a.name != b.name);
	b = kind_of("random-4.example.net.", LDNS_RR_TYPE_A);
	ck_assert(a.name != b.name);
	/* a CNAME into NXDOMAIN in another zone: that zone's key */
	b = kind_of("tonetnx.example.com.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(b.kind, ANSWER_NXDOMAIN);
	ck_assert(b.name == kind_of("random-5.example.net.", LDNS_RR_TYPE_A).name);

	/* wildcard: every name it covers, data or NODATA, one key */
	a = kind_of("r1.wild.example.com.", LDNS_RR_TYPE_A);
	b = kind_of("r2.wild.example.com.", LDNS_RR_TYPE_MX);
	ck_assert_int_eq(a.kind, ANSWER_WILDCARD);
	ck_assert_int_eq(b.kind, ANSWER_WILDCARD);
	ck_assert(a.name == b.name);
	b = kind_of("r3.cw.example.com.", LDNS_RR_TYPE_A); /* wildcard CNAME, chased */
	ck_assert_int_eq(b.kind, ANSWER_WILDCARD);
	ck_assert(a.name != b.name);
	b = kind_of("exists.wild.example.com.", LDNS_RR_TYPE_A); /* not the wildcard */
	ck_assert_int_eq(b.kind, ANSWER_POSITIVE);

	/* referral: every name under the cut, one key */
	a = kind_of("www.deleg.example.com.", LDNS_RR_TYPE_A);
	b = kind_of("deleg.example.com.", LDNS_RR_TYPE_NS);
	ck_assert_int_eq(a.kind, ANSWER_REFERRAL);
	ck_assert_int_eq(b.kind, ANSWER_REFERRAL);
	ck_assert(a.name == b.name);
	b = kind_of("x.nods.example.com.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(b.kind, ANSWER_REFERRAL);
	ck_assert(a.name != b.name);

	/* errors: one key per network, whatever the name */
	a = kind_of("www.example.org.", LDNS_RR_TYPE_A); /* REFUSED */
	ck_assert_int_eq(a.kind, ANSWER_ERROR);
	ck_assert(a.name == 0);
	b = kind_of("www.example.com.", LDNS_RR_TYPE_AXFR);
	ck_assert_int_eq(b.kind, ANSWER_ERROR);
	uint8_t formerr[12] = {0, 1, 0, 0, 0, 2}; /* QDCOUNT 2, nothing there */
	struct query q;
	ask_wire(formerr, sizeof(formerr), false);
	ck_assert_int_eq(query_parse(&q, formerr, sizeof(formerr), false), QUERY_FORMERR);
	ck_assert_uint_eq(R.info.rcode, RCODE_FORMERR);
	ck_assert_uint_eq(answer_kind(&q, &R.info, &a.name), ANSWER_ERROR);
	ck_assert(a.name == 0);
}
END_TEST

/* A UDP query with EDNS and a COOKIE option of `cl` octets from `from`
 * (NULL: no address known, as a transport that did not set it). No
 * `name`: QDCOUNT 0, only the OPT (RFC 7873 §5.4). */
static void ask_cookie(const char *name, uint16_t type, uint16_t size, const uint8_t *cookie,
		       size_t cl, const struct sockaddr *from)
{
	uint8_t w[1024];
	size_t len;
	if (name) {
		struct ut_q spec = {.name = name, .type = type, .id = 4343, .edns = true,
				    .edns_size = size};
		len = ut_query_wire(&spec, w, sizeof(w));
	} else {
		const uint8_t bare[12 + 11] = {0x10, 0xf7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
					       0, 0, 41, (uint8_t)(size >> 8), (uint8_t)size};
		memcpy(w, bare, sizeof(bare));
		len = sizeof(bare);
	}
	/* the OPT is the last record, with no options: RDLENGTH is last */
	ck_assert_uint_eq(w[len - 2] << 8 | w[len - 1], 0);
	w[len - 1] = (uint8_t)(4 + cl);
	uint8_t hdr[4] = {0, EDNS_OPT_COOKIE, 0, (uint8_t)cl};
	memcpy(w + len, hdr, 4);
	memcpy(w + len + 4, cookie, cl);
	len += 4 + cl;
	struct query q;
	reply_clear();
	R.st = query_parse(&q, w, len, false);
	q.addr = from;
	memset(&R.info, 0xee, sizeof(R.info));
	memset(R.buf, 0xee, sizeof(R.buf));
	R.len = answer_query(&g_cfg, g_db, &q, R.st, R.buf, sizeof(R.buf), &R.info);
	ck_assert_uint_gt(R.len, 0);
	ck_assert_int_eq(ldns_wire2pkt(&R.p, R.buf, R.len), LDNS_STATUS_OK);
}

/* The COOKIE option of the response, or NULL. */
static const uint8_t *resp_cookie(size_t *len)
{
	size_t rdlen;
	const uint8_t *o = opt_bytes(&rdlen) + 11;
	for (size_t pos = 0; pos + 4 <= rdlen;) {
		size_t l = (size_t)(o[pos + 2] << 8 | o[pos + 3]);
		if (o[pos] == 0 && o[pos + 1] == EDNS_OPT_COOKIE) {
			*len = l;
			return o + pos + 4;
		}
		pos += 4 + l;
	}
	return NULL;
}

static struct sockaddr_in g_client = {.sin_family = AF_INET};

static void cookies_on(void)
{
	setup();
	static const uint8_t secret[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	ck_assert_int_eq(cookie_keys_rotate(secret), 0);
	g_cfg.cookies = true;
	inet_pton(AF_INET, "192.0.2.77", &g_client.sin_addr);
}

static void cookies_off(void)
{
	cookie_keys_free();
	teardown();
}

START_TEST(cookie_learned_and_returned)
{
	const struct sockaddr *from = (const struct sockaddr *)&g_client;
	const uint8_t cc[8] = {0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8};
	/* RFC 7873 §5.2.3: only a client cookie: answered, with ours */
	ask_cookie("www.example.com.", LDNS_RR_TYPE_A, 1232, cc, 8, from);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(n_an(), 1);
	ck_assert(!R.info.cookie_ok);
	size_t cl;
	const uint8_t *c = resp_cookie(&cl);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(cl, 24);
	ck_assert_mem_eq(c, cc, 8);
	ck_assert_uint_eq(c[8], 1);			/* Version */
	ck_assert_uint_eq(c[9] | c[10] | c[11], 0);	/* Reserved */
	uint32_t ts = (uint32_t)c[12] << 24 | (uint32_t)c[13] << 16 | (uint32_t)c[14] << 8 | c[15];
	int64_t skew = (int64_t)ts - (int64_t)time(NULL);
	ck_assert(skew >= -5 && skew <= 5);
	/* the OPT holds it and nothing else */
	size_t rdl;
	opt_bytes(&rdl);
	ck_assert_uint_eq(rdl, 4 + 24);

	/* §5.2.4: it comes back: valid, echoed as it is (young) */
	uint8_t full[24];
	memcpy(full, c, 24);
	ask_cookie("www.example.com.", LDNS_RR_TYPE_A, 1232, full, 24, from);
	ck_assert(R.info.cookie_ok);
	c = resp_cookie(&cl);
	ck_assert_uint_eq(cl, 24);
	ck_assert_mem_eq(c, full, 24);

	/* from another address it is not ours: a new one, answered still */
	struct sockaddr_in other = g_client;
	other.sin_addr.s_addr ^= htonl(1);
	ask_cookie("www.example.com.", LDNS_RR_TYPE_A, 1232, full, 24,
		   (const struct sockaddr *)&other);
	ck_assert(!R.info.cookie_ok);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	c = resp_cookie(&cl);
	ck_assert_uint_eq(cl, 24);
	ck_assert(memcmp(c + 16, full + 16, 8) != 0);

	/* a bad server cookie of another length: a new one of ours */
	uint8_t odd[40];
	memset(odd, 0x5a, sizeof(odd));
	memcpy(odd, cc, 8);
	ask_cookie("www.example.com.", LDNS_RR_TYPE_A, 1232, odd, 40, from);
	ck_assert(!R.info.cookie_ok);
	c = resp_cookie(&cl);
	ck_assert_uint_eq(cl, 24);

	/* with the previous secret after a rotation: still valid */
	static const uint8_t next[16] = {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
	ck_assert_int_eq(cookie_keys_rotate(next), 0);
	ask_cookie("www.example.com.", LDNS_RR_TYPE_A, 1232, full, 24, from);
	ck_assert(R.info.cookie_ok);
	c = resp_cookie(&cl);
	ck_assert(memcmp(c + 8, full + 8, 16) != 0); /* renewed with the new secret */
	static const uint8_t third[16] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
	ck_assert_int_eq(cookie_keys_rotate(third), 0);
	ask_cookie("www.example.com.", LDNS_RR_TYPE_A, 1232, full, 24, from);
	ck_assert(!R.info.cookie_ok); /* two rotations: gone */
}
END_TEST

START_TEST(cookie_formerr_and_off)
{
	const struct sockaddr *from = (const struct sockaddr *)&g_client;
	const uint8_t c12[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	/* RFC 7873 §5.2.2: a malformed COOKIE is FORMERR, with an OPT (the
	 * OPT itself is fine: EDNS works, RFC 6891 §7) and no cookie */
	ask_cookie("www.example.com.", LDNS_RR_TYPE_A, 1232, c12, 12, from);
	ck_assert_int_eq(R.st, QUERY_FORMERR);
	ck_assert_int_eq(rcode(), LDNS_RCODE_FORMERR);
	ck_assert(ldns_pkt_edns(R.p));
	size_t ol;
	ck_assert_ptr_null(resp_cookie(&ol));
	ck_assert_uint_eq(ldns_pkt_ancount(R.p) + ldns_pkt_nscount(R.p), 0);
	ask_cookie("www.example.com.", LDNS_RR_TYPE_A, 1232, c12, 7, from);
	ck_assert_int_eq(rcode(), LDNS_RCODE_FORMERR);
	/* no address (the transport did not say): no cookie, still answered */
	ask_cookie("www.example.com.", LDNS_RR_TYPE_A, 1232, c12, 8, NULL);
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	size_t cl;
	ck_assert_ptr_null(resp_cookie(&cl));
	/* cookies off in the configuration: none */
	g_cfg.cookies = false;
	ask_cookie("www.example.com.", LDNS_RR_TYPE_A, 1232, c12, 8, from);
	ck_assert_ptr_null(resp_cookie(&cl));
	opt_bytes(&cl);
	ck_assert_uint_eq(cl, 0); /* no option: NSID was not asked for */
}
END_TEST

START_TEST(cookie_only_query)
{
	/* RFC 7873 §5.4: QDCOUNT 0 and a COOKIE asks for a server cookie:
	 * an empty NOERROR with one; a server cookie sent that is not good
	 * gets BADCOOKIE (with a good one to use); a good one NOERROR. */
	const struct sockaddr *from = (const struct sockaddr *)&g_client;
	const uint8_t cc[8] = {0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8};
	ask_cookie(NULL, 0, 1232, cc, 8, from);
	ck_assert_int_eq(R.st, QUERY_OK);
	ck_assert_uint_eq(R.info.rcode, RCODE_NOERROR);
	ck_assert_mem_eq(R.buf, "\x10\xf7\x80\x00\0\0\0\0\0\0\0\1", 12); /* no question */
	ck_assert(!aa());
	size_t cl;
	const uint8_t *c = resp_cookie(&cl);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(cl, 24);
	ck_assert_mem_eq(c, cc, 8);
	uint8_t full[24];
	memcpy(full, c, 24);
	/* one key per client network for rate limiting: there is no name */
	struct query nq = {.has_question = false};
	uint64_t key = 1;
	ck_assert_int_eq(answer_kind(&nq, &R.info, &key), ANSWER_ERROR);
	ck_assert(key == 0);

	ask_cookie(NULL, 0, 1232, full, 24, from);
	ck_assert_uint_eq(R.info.rcode, RCODE_NOERROR);
	ck_assert(R.info.cookie_ok);
	c = resp_cookie(&cl);
	ck_assert_mem_eq(c, full, 24);

	/* from elsewhere the server cookie is not ours: BADCOOKIE, 23 =
	 * header RCODE 7 and 1 in the OPT's extended RCODE */
	struct sockaddr_in other = g_client;
	other.sin_addr.s_addr ^= htonl(1);
	ask_cookie(NULL, 0, 1232, full, 24, (const struct sockaddr *)&other);
	ck_assert_uint_eq(R.info.rcode, RCODE_BADCOOKIE);
	ck_assert_uint_eq(R.buf[3] & 0x0f, 7);
	size_t rdl;
	const uint8_t *o = opt_bytes(&rdl);
	ck_assert_uint_eq(o[5], 1);
	c = resp_cookie(&cl);
	ck_assert_uint_eq(cl, 24);
	ck_assert_mem_eq(c, cc, 8);
	ck_assert(memcmp(c + 16, full + 16, 8) != 0); /* a new one, for this address */

	/* without cookies there is nothing to ask for: FORMERR */
	g_cfg.cookies = false;
	ask_cookie(NULL, 0, 1232, cc, 8, from);
	ck_assert_uint_eq(R.info.rcode, RCODE_FORMERR);
	ck_assert_ptr_null(resp_cookie(&cl));
}
END_TEST

START_TEST(cookie_counts_in_udp_size)
{
	/* With a 28-octet COOKIE option (and no NSID asked), every answer
	 * still fits the client's 512 octets: truncated when needed. */
	const struct sockaddr *from = (const struct sockaddr *)&g_client;
	const uint8_t cc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const char *const names[] = {"big.example.com.", "big2.example.com.",
					    "mid.example.com.", "www.fat.example.com.",
					    "www.fat2.example.com."};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint16_t type = i < 3 ? LDNS_RR_TYPE_TXT : LDNS_RR_TYPE_A;
		ask_cookie(names[i], type, 512, cc, 8, from);
		ck_assert_msg(R.len <= 512, "%s: %zu octets", names[i], R.len);
		size_t cl;
		ck_assert_ptr_nonnull(resp_cookie(&cl));
		ck_assert_uint_eq(cl, 24);
	}
	/* mid.example.com. TXT (4 records of 113 octets) fits 512 without a
	 * cookie but not with one and 512: truncated, not oversized */
	ask_cookie("mid.example.com.", LDNS_RR_TYPE_TXT, 512, cc, 8, from);
	ck_assert_uint_le(R.len, 512);
}
END_TEST

START_TEST(slip_response)
{
	const struct sockaddr *from = (const struct sockaddr *)&g_client;
	const uint8_t cc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	/* EDNS and a cookie: TC, the question, and the OPT with the cookie */
	ask_cookie("Www.Example.com.", LDNS_RR_TYPE_TXT, 1232, cc, 8, from);
	ck_assert_uint_eq(n_an(), 1);
	uint8_t before[24];
	size_t cl;
	memcpy(before, resp_cookie(&cl), 24);
	struct query q;
	uint8_t wire[512];
	struct ut_q spec = {.name = "Www.Example.com.", .type = LDNS_RR_TYPE_TXT, .id = 4343,
			    .edns = true};
	size_t qlen = ut_query_wire(&spec, wire, sizeof(wire));
	ck_assert_int_eq(query_parse(&q, wire, qlen, false), QUERY_OK);
	R.len = answer_slip(&q, &R.info, R.buf, R.len);
	reply_clear();
	ck_assert_int_eq(ldns_wire2pkt(&R.p, R.buf, R.len), LDNS_STATUS_OK);
	ck_assert(tc());
	ck_assert(aa());
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(n_an() + n_ns(), 0);
	ck_assert_uint_eq(R.buf[11], 1); /* only the OPT */
	ck_assert_uint_eq(R.len, 12 + 17 + 4 + 11 + 4 + 24);
	ck_assert_mem_eq(R.buf + 12, "\3Www\7Example\3com", 17);
	ck_assert_mem_eq(resp_cookie(&cl), before, 24);

	/* without EDNS: header and question only; NXDOMAIN stays NXDOMAIN */
	ask("nothere.example.com.", LDNS_RR_TYPE_A);
	spec = (struct ut_q){.name = "nothere.example.com.", .id = 4242};
	qlen = ut_query_wire(&spec, wire, sizeof(wire));
	ck_assert_int_eq(query_parse(&q, wire, qlen, false), QUERY_OK);
	R.len = answer_slip(&q, &R.info, R.buf, R.len);
	reply_clear();
	ck_assert_int_eq(ldns_wire2pkt(&R.p, R.buf, R.len), LDNS_STATUS_OK);
	ck_assert(tc());
	ck_assert_int_eq(rcode(), LDNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(R.len, 12 + 21 + 4);
	ck_assert_uint_eq(n_an() + n_ns() + n_ar(), 0);

	/* a BADKEY (an OPT, then the TSIG): the OPT is kept, the TSIG goes */
	spec = (struct ut_q){.name = "www.example.com.", .id = 4242, .edns = true};
	uint8_t sq[2048];
	qlen = signed_query(&spec, "k1.", "hmac-sha256.", sq, sizeof(sq));
	ask_wire(sq, qlen, false);
	ck_assert_uint_eq(R.buf[11], 2);
	ck_assert_int_eq(query_parse(&q, sq, qlen, false), QUERY_BADKEY);
	R.len = answer_slip(&q, &R.info, R.buf, R.len);
	reply_clear();
	ck_assert_int_eq(ldns_wire2pkt(&R.p, R.buf, R.len), LDNS_STATUS_OK);
	ck_assert(tc());
	ck_assert_int_eq(rcode(), LDNS_RCODE_NOTAUTH);
	ck_assert_uint_eq(R.buf[11], 1);
	ck_assert(ldns_pkt_edns(R.p));
	ck_assert_ptr_null(ldns_pkt_tsig(R.p));
	ck_assert_uint_eq(R.len, 12 + 17 + 4 + 11);
}
END_TEST

static Suite *answer_suite(void)
{
	Suite *s = suite_create("answer");
	TCase *t = tcase_create("basic");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, exact_match);
	tcase_add_test(t, case_preserved);
	tcase_add_test(t, nodata_soa_ttl);
	tcase_add_test(t, nxdomain);
	tcase_add_test(t, positive_soa_and_ns_keep_their_ttl);
	tcase_add_test(t, refused_other_zones);
	tcase_add_test(t, ent_is_nodata);
	suite_add_tcase(s, t);

	t = tcase_create("wildcard");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, wildcard_synthesis);
	tcase_add_test(t, wildcard_blocked);
	tcase_add_test(t, wildcard_cname);
	suite_add_tcase(s, t);

	t = tcase_create("cname_dname");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, cname_followed);
	tcase_add_test(t, cname_rrsig_nsec_are_the_alias_own);
	tcase_add_test(t, cname_chain);
	tcase_add_test(t, cname_loop);
	tcase_add_test(t, cname_to_nxdomain);
	tcase_add_test(t, cname_out_of_our_zones);
	tcase_add_test(t, dname_synthesis);
	tcase_add_test(t, dname_cname_question_and_owner);
	tcase_add_test(t, dname_keeps_client_case);
	tcase_add_test(t, dname_yxdomain);
	suite_add_tcase(s, t);

	t = tcase_create("delegation");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, referral_with_glue);
	tcase_add_test(t, referral_at_the_cut_and_for_glue_names);
	tcase_add_test(t, ds_at_cut_from_parent);
	tcase_add_test(t, ds_with_child_served_too);
	suite_add_tcase(s, t);

	t = tcase_create("sizes");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, any_udp_one_rrset_tcp_all);
	tcase_add_test(t, truncation_no_edns_512);
	tcase_add_test(t, truncation_keeps_earlier_rrsets);
	tcase_add_test(t, edns_size_honoured);
	tcase_add_test(t, edns_limit_counts_nsid);
	tcase_add_test(t, tcp_not_limited_by_udp_sizes);
	tcase_add_test(t, referral_truncated_for_in_domain_glue);
	tcase_add_test(t, referral_sibling_glue_optional);
	tcase_add_test(t, small_buffer_limits_response);
	suite_add_tcase(s, t);

	t = tcase_create("protocol");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, edns_opt_echo);
	tcase_add_test(t, edns_nsid);
	tcase_add_test(t, edns_ede_not_authoritative);
	tcase_add_test(t, badvers);
	tcase_add_test(t, formerr_without_opt);
	tcase_add_test(t, notimp_and_drop);
	tcase_add_test(t, tsig_badkey);
	tcase_add_test(t, chaos);
	tcase_add_test(t, chaos_hidden);
	tcase_add_test(t, classes_and_meta_types);
	tcase_add_test(t, header_bits);
	tcase_add_test(t, answer_in_place);
	suite_add_tcase(s, t);

	t = tcase_create("rrl_cookies");
	tcase_add_checked_fixture(t, cookies_on, cookies_off);
	tcase_add_test(t, rrl_kinds);
	tcase_add_test(t, cookie_learned_and_returned);
	tcase_add_test(t, cookie_formerr_and_off);
	tcase_add_test(t, cookie_only_query);
	tcase_add_test(t, cookie_counts_in_udp_size);
	tcase_add_test(t, slip_response);
	suite_add_tcase(s, t);

	/* Bugs these tests found in src/ (fixed since): see each test's comment. */
	t = tcase_create("regressions");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, bug_wildcard_cname_loop_repeats_records);
	tcase_add_test(t, bug_dname_loop_repeats_records);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(answer_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
