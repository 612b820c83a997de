/* check_alloc.c: nothing but ldns's own parsing allocates per query.
 *
 * DESIGN.md: "The only per-query allocation allowed is what ldns itself
 * needs to parse the query; everything you write is preallocated per
 * worker." This test counts every malloc/calloc/realloc/free of the
 * process (this file defines them, forwarding to glibc's __libc_*; being in
 * the executable they also take the calls made inside libldns.so and
 * libc), then runs 10,000 query_parse + answer_query (+ rrl_udp, with DNS
 * cookies answered) cycles over varied
 * queries and checks, for every cycle, that
 *   - answer_query allocates nothing,
 *   - query_parse allocates exactly what ldns_wire2dname on the question
 *     name plus ldns_wire2rr on each record after the question allocate
 *     when called alone on the same wire (measured here, not hard-coded),
 *   - everything allocated is freed.
 * Under AddressSanitizer, which owns malloc, the test is skipped (77). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "answer/answer.h"
#include "guard/cookie.h"
#include "dns/query.h"
#include "guard/rrl.h"
#include "unit.h"
#include "zone/zonedb.h"

#if defined(__SANITIZE_ADDRESS__)
#define UT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UT_ASAN 1
#endif
#endif

#ifdef UT_ASAN
int main(void)
{
	fprintf(stderr, "check_alloc: AddressSanitizer owns malloc here; skipped\n");
	return UT_EXIT_SKIP;
}
#else

static bool g_counting;
static unsigned long g_allocs, g_frees;

/* glibc's own entry points (exported for exactly this use) */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

void *malloc(size_t size)
{
	if (g_counting)
		g_allocs++;
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	if (g_counting)
		g_allocs++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	if (g_counting)
		g_allocs++;
	return __libc_realloc(p, size);
}

void *aligned_alloc(size_t align, size_t size)
{
	if (g_counting)
		g_allocs++;
	return __libc_memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	if (g_counting)
		g_allocs++;
	void *p = __libc_memalign(align, size);
	if (!p)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

void free(void *p)
{
	if (g_counting && p)
		g_frees++;
	__libc_free(p);
}

static void count_start(void)
{
	g_allocs = g_frees = 0;
	g_counting = true;
}

static void count_stop(void)
{
	g_counting = false;
}

/* ---------------------------------------------------------------- the zone */

static const char ZONE[] =
	"$TTL 300\n"
	"@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
	"@ NS ns1\n"
	"@ NS ns2\n"
	"ns1 A 192.0.2.1\n"
	"ns2 A 192.0.2.2\n"
	"www A 192.0.2.10\n"
	"www AAAA 2001:db8::10\n"
	"www MX 10 mail\n"
	"mail A 192.0.2.11\n"
	"alias CNAME www\n"
	"chain CNAME alias\n"
	"ext CNAME www.example.org.\n"
	"*.wild A 192.0.2.20\n"
	"*.wcname CNAME www\n"
	"deleg NS ns.deleg\n"
	"deleg NS ns1\n"
	"ns.deleg A 192.0.2.30\n"
	"ns.deleg AAAA 2001:db8::30\n"
	"dn DNAME example.com.\n"
	"big TXT \"0123456789012345678901234567890123456789012345678901234567890123456789\"\n"
	"big TXT \"1123456789012345678901234567890123456789012345678901234567890123456789\"\n"
	"big TXT \"2123456789012345678901234567890123456789012345678901234567890123456789\"\n"
	"big TXT \"3123456789012345678901234567890123456789012345678901234567890123456789\"\n"
	"big TXT \"4123456789012345678901234567890123456789012345678901234567890123456789\"\n"
	"big TXT \"5123456789012345678901234567890123456789012345678901234567890123456789\"\n"
	"big TXT \"6123456789012345678901234567890123456789012345678901234567890123456789\"\n"
	"big TXT \"7123456789012345678901234567890123456789012345678901234567890123456789\"\n";

struct qcase {
	struct ut_q spec;
	bool tcp;
	size_t len;
	uint8_t wire[512];
};

static struct qcase g_q[] = {
	{.spec = {.name = "www.example.com.", .type = LDNS_RR_TYPE_A}},
	{.spec = {.name = "WWW.Example.COM.", .type = LDNS_RR_TYPE_A, .edns = true, .do_bit = true}},
	{.spec = {.name = "www.example.com.", .type = LDNS_RR_TYPE_MX, .edns = true, .nsid = true}},
	{.spec = {.name = "nothere.example.com.", .type = LDNS_RR_TYPE_A}},
	{.spec = {.name = "a.b.nothere.example.com.", .type = LDNS_RR_TYPE_AAAA, .edns = true}},
	{.spec = {.name = "www.example.com.", .type = LDNS_RR_TYPE_TXT}}, /* NODATA */
	{.spec = {.name = "alias.example.com.", .type = LDNS_RR_TYPE_A}},
	{.spec = {.name = "chain.example.com.", .type = LDNS_RR_TYPE_AAAA, .edns = true}},
	{.spec = {.name = "ext.example.com.", .type = LDNS_RR_TYPE_A}},
	{.spec = {.name = "foo.wild.example.com.", .type = LDNS_RR_TYPE_A}},
	{.spec = {.name = "x.y.wild.example.com.", .type = LDNS_RR_TYPE_A, .edns = true}},
	{.spec = {.name = "foo.wcname.example.com.", .type = LDNS_RR_TYPE_A}},
	{.spec = {.name = "www.deleg.example.com.", .type = LDNS_RR_TYPE_A}},
	{.spec = {.name = "www.deleg.example.com.", .type = LDNS_RR_TYPE_AAAA, .edns = true}},
	{.spec = {.name = "deleg.example.com.", .type = LDNS_RR_TYPE_DS}},
	{.spec = {.name = "www.dn.example.com.", .type = LDNS_RR_TYPE_A}},
	{.spec = {.name = "www.example.com.", .type = LDNS_RR_TYPE_ANY}},
	{.spec = {.name = "www.example.com.", .type = LDNS_RR_TYPE_ANY}, .tcp = true},
	{.spec = {.name = "big.example.com.", .type = LDNS_RR_TYPE_TXT}}, /* TC */
	{.spec = {.name = "big.example.com.", .type = LDNS_RR_TYPE_TXT, .edns = true}},
	{.spec = {.name = "www.example.org.", .type = LDNS_RR_TYPE_A}}, /* REFUSED */
	{.spec = {.name = "version.bind.", .type = LDNS_RR_TYPE_TXT, .qclass = LDNS_RR_CLASS_CH}},
	{.spec = {.name = "www.example.com.", .type = LDNS_RR_TYPE_A, .edns = true,
		  .edns_version = 1}}, /* BADVERS */
	{.spec = {.name = "example.com.", .type = LDNS_RR_TYPE_SOA,
		  .opcode = LDNS_PACKET_NOTIFY}}, /* NOTIMP */
	/* DNS cookies: a client cookie only (a server cookie is made), and
	 * a client and a foreign server cookie (checked, then made) */
	{.spec = {.name = "www.example.com.", .type = LDNS_RR_TYPE_A, .edns = true,
		  .cookie = (const uint8_t *)"clientck", .cookie_len = 8}},
	{.spec = {.name = "www.example.com.", .type = LDNS_RR_TYPE_A, .edns = true, .nsid = true,
		  .cookie = (const uint8_t *)"clientck\1\0\0\0\0\0\0\1hash-hash", .cookie_len = 24},
	 .tcp = true},
};

#define NQ (sizeof(g_q) / sizeof(g_q[0]))

/* What ldns alone allocates for this wire: the question name, then every
 * record after the question (queries carry at most an OPT). */
static unsigned long ldns_baseline(const uint8_t *wire, size_t len, unsigned long *frees)
{
	size_t pos = DNS_HEADER_LEN;
	unsigned records = (unsigned)LDNS_ANCOUNT(wire) + LDNS_NSCOUNT(wire) + LDNS_ARCOUNT(wire);
	bool query = LDNS_OPCODE_WIRE(wire) == LDNS_PACKET_QUERY;
	count_start();
	ldns_rdf *qname = NULL;
	ldns_status s = ldns_wire2dname(&qname, wire, len, &pos);
	ldns_rdf_deep_free(qname);
	pos += 4;
	for (unsigned i = 0; query && s == LDNS_STATUS_OK && i < records; i++) {
		ldns_rr *rr = NULL;
		s = ldns_wire2rr(&rr, wire, len, &pos, LDNS_SECTION_ADDITIONAL);
		ldns_rr_free(rr);
	}
	count_stop();
	*frees = g_frees;
	return g_allocs;
}

START_TEST(no_allocation_beyond_ldns)
{
	char dir[4096], path[4200];
	ut_tmpdir(dir, sizeof(dir));
	ut_write(dir, "example.com.zone", ZONE);
	ut_path(path, sizeof(path), dir, "example.com.zone");
	uint8_t origin[DNAME_MAX];
	ut_name("example.com.", origin);
	struct ut_diag d = {0};
	struct zone *z = zone_load_file(path, origin, ut_diag_fn, &d, NULL);
	ut_diag_dump(&d);
	ut_rmtree(dir);
	ck_assert_ptr_nonnull(z);
	struct zonedb *db = zonedb_new(&z, 1);
	struct answer_cfg cfg = {.edns_size = 1232,
				 .nsid = (const uint8_t *)"unit",
				 .nsid_len = 4,
				 .version = "shoal-test",
				 .identity = "unit"};
	for (size_t i = 0; i < NQ; i++)
		g_q[i].len = ut_query_wire(&g_q[i].spec, g_q[i].wire, sizeof(g_q[i].wire));
	/* cookies answered, and a rate limiting table (allocated here, at
	 * start, as the server does: never per query) */
	static const uint8_t secret[16] = "0123456789abcdef";
	ck_assert_int_eq(cookie_keys_rotate(secret), 0);
	cfg.cookies = true;
	struct rrl_cfg rc = {.rate = 100, .slip = 2, .window = 1, .size = 1024, .v4_prefix = 24,
			     .v6_prefix = 56};
	struct rrl *rrl = rrl_new(&rc);
	ck_assert_ptr_nonnull(rrl);
	struct sockaddr_in from = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0xc0000201)};
	uint64_t slip = 0;
	static struct stats st;

	/* the buffers a worker would own */
	static uint8_t out[65535];
	static struct query q;
	struct answer_info info;
	unsigned long total = 0, base_total = 0;
	unsigned long seen_base[NQ];
	memset(seen_base, 0xff, sizeof(seen_base));

	for (unsigned iter = 0; iter < 10000; iter++) {
		struct qcase *c = &g_q[iter % NQ];
		unsigned long base_frees;
		unsigned long base = ldns_baseline(c->wire, c->len, &base_frees);

		count_start();
		enum query_status qs = query_parse(&q, c->wire, c->len, c->tcp);
		count_stop();
		unsigned long parse_allocs = g_allocs, parse_frees = g_frees;

		count_start();
		q.addr = (const struct sockaddr *)&from;
		size_t n = answer_query(&cfg, db, &q, qs, out, c->tcp ? 65535 : 4096, &info);
		if (!c->tcp && n > 0) /* as udp.c: limited or not, nothing allocated */
			(void)rrl_udp(rrl, &slip, &q, &info, out, n, q.addr, &st);
		count_stop();
		unsigned long answer_allocs = g_allocs, answer_frees = g_frees;

		ck_assert_msg(n > 0, "%s: no response", c->spec.name);
		ck_assert_msg(answer_allocs == 0 && answer_frees == 0,
			      "%s type %u: answer_query allocated %lu times, freed %lu times",
			      c->spec.name, c->spec.type, answer_allocs, answer_frees);
		ck_assert_msg(parse_allocs == base,
			      "%s type %u (edns %d): query_parse allocated %lu times, ldns alone %lu",
			      c->spec.name, c->spec.type, c->spec.edns, parse_allocs, base);
		ck_assert_msg(parse_frees == parse_allocs, "%s: %lu allocations, %lu frees",
			      c->spec.name, parse_allocs, parse_frees);
		ck_assert_uint_eq(base_frees, base);
		/* the same wire costs the same every time */
		if (seen_base[iter % NQ] != (unsigned long)-1)
			ck_assert_uint_eq(seen_base[iter % NQ], base);
		seen_base[iter % NQ] = base;
		total += parse_allocs + answer_allocs;
		base_total += base;
	}
	ck_assert_uint_eq(total, base_total);
	fprintf(stderr,
		"10000 queries: %lu allocations, all by ldns (%lu per plain query, %lu with an OPT)\n",
		total, seen_base[0], seen_base[1]);
	ck_assert_uint_gt(seen_base[0], 0); /* the counting works at all */
	/* the limiter was exercised: 10,000 answers at one instant */
	ck_assert_uint_gt(stats_get(&st.rrl_dropped) + stats_get(&st.rrl_slipped), 0);
	rrl_free(rrl);
	cookie_keys_free();
	zonedb_free(db);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("alloc");
	TCase *t = tcase_create("query_path");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, no_allocation_beyond_ldns);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
#endif
