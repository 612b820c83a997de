/* check_dnssec_checks.c: the DNSSEC checks a zone gets at load
 * (zone_dnssec_check in src/zone/zone.c, run by zone_load_file): RRSIG
 * expiration, NSEC and NSEC3 chains, NSEC3PARAM, RFC 9276 parameters.
 *
 * Each zone is written as a file and read by the loader, as the server
 * and shoal-checkzone read it, and every finding must be a warning (line
 * 0: the whole zone) with exactly the text below, and the zone must load.
 * The RRSIGs are well formed but not valid signatures: only their times
 * matter here. NSEC3 hashes are ldns's (ldns_nsec3_hash_name). */
#include <check.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/dnssec.h>

#include "unit.h"
#include "zone/zone.h"
#include "zone/zone_load.h"

#define ORIGIN "example.test."

static char g_dir[4096], g_path[4096];
static char *g_rr[256];
static size_t g_nrr;

static void setup(void)
{
	ut_tmpdir(g_dir, sizeof(g_dir));
	ut_path(g_path, sizeof(g_path), g_dir, ORIGIN "zone");
	g_nrr = 0;
}

static void teardown(void)
{
	for (size_t i = 0; i < g_nrr; i++)
		free(g_rr[i]);
	ut_rmtree(g_dir);
}

/* One line of the zone file (relative names are under example.test.). */
static void add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void add(const char *fmt, ...)
{
	va_list ap;
	ck_assert_uint_lt(g_nrr, sizeof(g_rr) / sizeof(g_rr[0]));
	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&g_rr[g_nrr++], fmt, ap), 0);
	va_end(ap);
}

/* The zone's apex: SOA and NS (out of zone, so no more names), $TTL 300
 * for every record (RRSIGs at one name are one set: one TTL). */
static void add_apex(bool dnskey)
{
	add("$TTL 300");
	add("@ SOA ns.other. h.other. 1 7200 3600 1209600 300");
	add("@ NS ns.other.");
	if (dnskey)
		add("@ DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+"
		    "KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==");
}

/* RFC 4034 §3.2 presentation of an RRSIG time field holding `t` mod 2^32. */
static const char *sigtime(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)(uint32_t)t;
	ck_assert_ptr_nonnull(gmtime_r(&tt, &tm));
	ck_assert_uint_gt(strftime(buf, size, "%Y%m%d%H%M%S", &tm), 0);
	return buf;
}

static const char *iso(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;
	ck_assert_ptr_nonnull(gmtime_r(&tt, &tm));
	ck_assert_uint_gt(strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm), 0);
	return buf;
}

/* An RRSIG at `owner` covering `type`, key tag 4711, expiring at `exp`. */
static void add_sig(const char *owner, const char *type, int labels, int64_t exp)
{
	char e[32], i[32];
	add("%s RRSIG %s 13 %d 300 %s %s 4711 example.test. "
	    "c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmE=",
	    owner, type, labels, sigtime(exp, e, sizeof(e)),
	    sigtime(exp - 40 * 86400, i, sizeof(i)));
}

/* Write the lines added so far and load them with zone_load_file, which
 * must succeed without errors. */
static struct zone *load(struct ut_diag *d)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	fprintf(f, "$ORIGIN " ORIGIN "\n");
	for (size_t i = 0; i < g_nrr; i++)
		fprintf(f, "%s\n", g_rr[i]);
	fclose(f);
	ut_write(g_dir, ORIGIN "zone", text);
	free(text);
	uint8_t org[DNAME_MAX];
	ut_name(ORIGIN, org);
	memset(d, 0, sizeof(*d));
	unsigned nerr = 99;
	struct zone *z = zone_load_file(g_path, org, ut_diag_fn, d, &nerr);
	ut_diag_dump(d);
	ck_assert_msg(z != NULL, "the zone must load whatever the checks say");
	ck_assert_uint_eq(nerr, 0);
	ck_assert_uint_eq(d->errors, 0);
	return z;
}

/* The warnings are exactly want[0..] (NULL-terminated), in any order, each
 * on the file with line 0. */
static void expect(const struct ut_diag *d, const char *const *want)
{
	unsigned n = 0;
	for (; want[n]; n++) {
		bool found = false;
		for (unsigned i = 0; i < d->n && !found; i++)
			found = d->e[i].sev == ZONE_DIAG_WARNING && d->e[i].line == 0 &&
			        !strcmp(d->e[i].file, g_path) && !strcmp(d->e[i].reason, want[n]);
		ck_assert_msg(found, "missing warning: %s", want[n]);
	}
	ck_assert_uint_eq(d->warnings, n);
	ck_assert_uint_eq(d->n, n);
}

#define EXPECT(d, ...)                                                                             \
	do {                                                                                       \
		const char *const want_[] = {__VA_ARGS__, NULL};                                   \
		expect((d), want_);                                                                \
	} while (0)

static void expect_none(const struct ut_diag *d)
{
	ck_assert_uint_eq(d->n, 0);
}

/* ---------------------------------------------------------------- RRSIG */

START_TEST(rrsig_expired)
{
	struct ut_diag d;
	char w[512], when[64];
	int64_t now = time(NULL), exp = now - 49 * 3600 - 600; /* hours below 3 days */
	add_apex(false);
	add("www A 192.0.2.1");
	add_sig("www", "A", 3, exp);
	struct zone *z = load(&d);
	snprintf(
	    w, sizeof(w),
	    "RRSIG at www.example.test. covering A (key tag 4711) expired at %s, 49 hours ago; "
	    "still served",
	    iso(exp, when, sizeof(when)));
	EXPECT(&d, w);
	ck_assert_int_eq(z->rrsig_expire, exp);
	/* still served: the set keeps its RRSIG */
	const struct rrset *a = node_rrset(ut_node(z, "www." ORIGIN), RRTYPE_A);
	ck_assert_uint_eq(a->sig_count, 1);
	zone_free(z);
}
END_TEST

START_TEST(rrsig_expiring_soon)
{
	struct ut_diag d;
	char w[512], when[64];
	int64_t now = time(NULL), exp = now + 5 * 3600 + 1800;
	add_apex(false);
	add_sig("@", "SOA", 2, now + 30 * 86400);
	add("www A 192.0.2.1");
	add_sig("www", "A", 3, exp);
	struct zone *z = load(&d);
	snprintf(w, sizeof(w),
	         "RRSIG at www.example.test. covering A (key tag 4711) expires at %s, in 5 hours",
	         iso(exp, when, sizeof(when)));
	EXPECT(&d, w);
	ck_assert_int_eq(z->rrsig_expire, exp); /* the earliest of the two */
	zone_free(z);
}
END_TEST

START_TEST(rrsig_fine)
{
	struct ut_diag d;
	int64_t now = time(NULL), exp = now + 30 * 86400;
	add_apex(false);
	add_sig("@", "SOA", 2, exp + 3600);
	add_sig("@", "NS", 2, exp);
	add("www A 192.0.2.1");
	add_sig("www", "A", 3, exp + 7200);
	struct zone *z = load(&d);
	expect_none(&d);
	ck_assert_int_eq(z->rrsig_expire, exp);
	zone_free(z);
}
END_TEST

/* rrsig-expiry-warning moves the line: 0 warns only of expired ones; 40
 * days takes in one 30 days ahead. */
START_TEST(rrsig_threshold)
{
	struct ut_diag d;
	char w[512], when[64];
	int64_t now = time(NULL), soon = now + 5 * 3600 + 1800, later = now + 30 * 86400 + 3600;
	add_apex(false);
	add_sig("@", "SOA", 2, soon);
	add_sig("@", "NS", 2, later);
	ck_assert_uint_eq(zone_rrsig_expiry_warning(), ZONE_RRSIG_EXPIRY_WARNING_DEFAULT);
	zone_set_rrsig_expiry_warning(0);
	struct zone *z = load(&d);
	expect_none(&d);
	ck_assert_int_eq(z->rrsig_expire, soon);
	zone_free(z);
	zone_set_rrsig_expiry_warning(40 * 86400);
	z = load(&d);
	char w2[512], when2[64];
	snprintf(w, sizeof(w),
	         "RRSIG at example.test. covering SOA (key tag 4711) expires at %s, in 5 hours",
	         iso(soon, when, sizeof(when)));
	snprintf(w2, sizeof(w2),
	         "RRSIG at example.test. covering NS (key tag 4711) expires at %s, in 30 days",
	         iso(later, when2, sizeof(when2)));
	EXPECT(&d, w, w2);
	zone_free(z);
	zone_set_rrsig_expiry_warning(ZONE_RRSIG_EXPIRY_WARNING_DEFAULT);
}
END_TEST

/* RFC 4034 §3.1.5: the 32-bit field is read as the time within 2^31 s of
 * now, so past 2106 (when it wraps) a signature 10 days ahead is 10 days
 * ahead, and one an hour old is expired. zone_dnssec_check with a clock
 * given, on a zone built in memory. */
static unsigned g_nwarn;
static char g_warn[4][512];

static void collect(void *ctx, const char *reason)
{
	(void)ctx;
	if (g_nwarn < 4)
		snprintf(g_warn[g_nwarn], sizeof(g_warn[0]), "%s", reason);
	g_nwarn++;
}

START_TEST(rrsig_serial_arithmetic)
{
	int64_t now = ((int64_t)1 << 32) + 1000; /* 2106-02-07T06:44:56Z */
	char e1[32], e2[32], i[32];
	char r1[256], r2[256];
	snprintf(r1, sizeof(r1), "@ 300 RRSIG SOA 13 2 300 %s %s 4711 example.test. c2lnbmF0dXJl",
	         sigtime(now + 10 * 86400, e1, sizeof(e1)), sigtime(now - 86400, i, sizeof(i)));
	snprintf(r2, sizeof(r2), "@ 300 RRSIG NS 13 2 300 %s %s 4711 example.test. c2lnbmF0dXJl",
	         sigtime(now - 3600, e2, sizeof(e2)), sigtime(now - 86400, i, sizeof(i)));
	const char *const rrs[] = {"@ 300 SOA ns.other. h.other. 1 7200 3600 1209600 300",
	                           "@ 300 NS ns.other.", r1, r2, NULL};
	struct zone *z = ut_zone(ORIGIN, rrs);
	g_nwarn = 0;
	ck_assert_uint_eq(zone_dnssec_check(z, (time_t)now, 48 * 3600, collect, NULL), 1);
	ck_assert_uint_eq(g_nwarn, 1);
	ck_assert_str_eq(g_warn[0], "RRSIG at example.test. covering NS (key tag 4711) expired at "
	                            "2106-02-07T05:44:56Z, 60 minutes ago; still served");
	ck_assert_int_eq(z->rrsig_expire, now - 3600);
	/* without the expired one: the earliest is 10 days ahead, past the wrap */
	zone_free(z);
	const char *const rrs2[] = {"@ 300 SOA ns.other. h.other. 1 7200 3600 1209600 300",
	                            "@ 300 NS ns.other.", r1, NULL};
	z = ut_zone(ORIGIN, rrs2);
	g_nwarn = 0;
	ck_assert_uint_eq(zone_dnssec_check(z, (time_t)now, 48 * 3600, collect, NULL), 0);
	ck_assert_int_eq(z->rrsig_expire, now + 10 * 86400);
	zone_free(z);
}
END_TEST

/* A zone signed long ago: ten lines, then how many more. */
START_TEST(rrsig_many_counted)
{
	struct ut_diag d;
	int64_t now = time(NULL), exp = now - 3 * 86400;
	add_apex(false);
	for (int i = 0; i < 15; i++) {
		char owner[16];
		snprintf(owner, sizeof(owner), "h%d", i);
		add("%s A 192.0.2.%d", owner, i + 1);
		add_sig(owner, "A", 3, exp);
	}
	struct zone *z = load(&d);
	ck_assert_uint_eq(d.warnings, ZONE_CHECK_REPORT_MAX + 1);
	for (unsigned i = 0; i < ZONE_CHECK_REPORT_MAX; i++)
		ck_assert_msg(strstr(d.e[i].reason, "RRSIG at h") &&
		                  strstr(d.e[i].reason, ", 3 days ago; still served"),
		              "%s", d.e[i].reason);
	ck_assert_str_eq(d.e[ZONE_CHECK_REPORT_MAX].reason, "5 more expired RRSIGs not shown");
	zone_free(z);
}
END_TEST

/* An unsigned zone: nothing said, nothing stored. */
START_TEST(unsigned_zone)
{
	struct ut_diag d;
	add_apex(false);
	add("www A 192.0.2.1");
	add("sub NS ns.sub");
	add("ns.sub A 192.0.2.53");
	struct zone *z = load(&d);
	expect_none(&d);
	ck_assert_int_eq(z->rrsig_expire, 0);
	ck_assert_uint_eq(z->nrrsigs, 0);
	ck_assert_uint_eq(zone_dnssec_check(z, time(NULL), 48 * 3600, collect, NULL), 0);
	zone_free(z);
}
END_TEST

/* ---------------------------------------------------------------- NSEC */

/* Names: the apex, a, b.c (c an empty non-terminal: no NSEC), the
 * delegation sub with its glue ns.sub (below the cut: no NSEC), *.w (w
 * likewise). Canonical order: apex, a, b.c, sub, *.w. */
static void add_nsec_names(void)
{
	add_apex(true);
	add("a A 192.0.2.1");
	add("b.c TXT \"b\"");
	add("sub NS ns.sub");
	add("ns.sub A 192.0.2.53");
	add("*.w TXT \"wild\"");
}

START_TEST(nsec_chain_complete)
{
	struct ut_diag d;
	add_nsec_names();
	add("@ NSEC a.example.test. NS SOA DNSKEY NSEC");
	add("a NSEC b.c.example.test. A NSEC");
	add("b.c NSEC sub.example.test. TXT NSEC");
	add("sub NSEC *.w.example.test. NS NSEC");
	add("*.w NSEC example.test. TXT NSEC");
	struct zone *z = load(&d);
	expect_none(&d);
	ck_assert_uint_eq(z->nsec.n, 5);
	zone_free(z);
}
END_TEST

START_TEST(nsec_chain_broken)
{
	struct ut_diag d;
	add_nsec_names();
	add("@ NSEC a.example.test. NS SOA DNSKEY NSEC");
	add("a NSEC b.c.example.test. A NSEC");
	/* b.c has none */
	add("sub NSEC *.w.example.test. NS NSEC");
	add("*.w NSEC a.example.test. TXT NSEC"); /* the last must name the apex */
	struct zone *z = load(&d);
	EXPECT(&d, "NSEC chain incomplete: b.c.example.test. (TXT) has no NSEC",
	       "NSEC chain broken: the NSEC at a.example.test. names b.c.example.test. next, but "
	       "the next NSEC owner is sub.example.test.",
	       "NSEC chain broken: the NSEC at *.w.example.test. names a.example.test. next, but "
	       "the next NSEC owner is example.test.");
	zone_free(z);
}
END_TEST

START_TEST(dnskey_without_chain)
{
	struct ut_diag d;
	add_nsec_names();
	struct zone *z = load(&d);
	EXPECT(&d, "DNSKEY at example.test. but no NSEC or NSEC3 chain: nonexistence cannot be "
	           "proved");
	zone_free(z);
}
END_TEST

/* Without a DNSKEY the zone is not signed: its chain is not checked. */
START_TEST(nsec_without_dnskey_not_checked)
{
	struct ut_diag d;
	add_apex(false);
	add("a A 192.0.2.1");
	add("@ NSEC example.test. NS SOA NSEC");
	struct zone *z = load(&d);
	expect_none(&d);
	zone_free(z);
}
END_TEST

/* ---------------------------------------------------------------- NSEC3 */

/* The hash label of `name` (base32hex, lowercase) with these parameters. */
static void n3_label(const char *name, unsigned iter, const uint8_t *salt, uint8_t salt_len,
                     char out[64])
{
	ldns_rdf *dn = ldns_dname_new_frm_str(name);
	ck_assert_ptr_nonnull(dn);
	ldns_rdf *h = ldns_nsec3_hash_name(dn, 1, (uint16_t)iter, salt_len, (uint8_t *)salt);
	ck_assert_ptr_nonnull(h);
	char *t = ldns_rdf2str(h);
	snprintf(out, 64, "%.*s", (int)strcspn(t, "."), t);
	for (char *c = out; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	free(t);
	ldns_rdf_deep_free(h);
	ldns_rdf_deep_free(dn);
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp((const char *)x, (const char *)y);
}

/* Names the chain of these tests must hold: the apex, a, c (an empty
 * non-terminal), b.c, and the delegation sub (glue ns.sub below it). */
static const char *const N3_NAMES[] = {ORIGIN, "a." ORIGIN, "c." ORIGIN, "b.c." ORIGIN,
                                       "sub." ORIGIN};
enum { N3_COUNT = sizeof(N3_NAMES) / sizeof(N3_NAMES[0]) };

struct n3_chain {
	char label[N3_COUNT][64]; /* sorted */
	int dropped;              /* index in label[] of the one left out, or -1 */
};

/* An NSEC3 chain over names[0..n-1] with the given flags, iterations and
 * salt (hex, "-" none), each NSEC3 naming the next hash; `drop` (or NULL)
 * is linked to but its own NSEC3 left out. */
static void add_chain(const char *const *names, size_t n, unsigned flags, unsigned iter,
                      const char *salt_hex, const char *drop, struct n3_chain *out)
{
	uint8_t salt[32];
	uint8_t salt_len = 0;
	if (strcmp(salt_hex, "-") != 0)
		for (; salt_hex[2 * salt_len]; salt_len++)
			ck_assert_int_eq(sscanf(salt_hex + 2 * salt_len, "%2hhx", &salt[salt_len]),
			                 1);
	char drop_label[64] = "";
	if (drop)
		n3_label(drop, iter, salt, salt_len, drop_label);
	for (size_t i = 0; i < n; i++)
		n3_label(names[i], iter, salt, salt_len, out->label[i]);
	qsort(out->label, n, sizeof(out->label[0]), cmp_str); /* base32hex keeps the order */
	out->dropped = -1;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(out->label[i], drop_label)) {
			out->dropped = (int)i;
			continue;
		}
		add("%s NSEC3 1 %u %u %s %s A RRSIG", out->label[i], flags, iter, salt_hex,
		    out->label[(i + 1) % n]);
	}
}

static void add_n3_names(const char *param)
{
	add_apex(true);
	add("@ NSEC3PARAM %s", param);
	add("a A 192.0.2.1");
	add("b.c TXT \"b\"");
	add("sub NS ns.sub");
	add("ns.sub A 192.0.2.53");
}

START_TEST(nsec3_chain_complete)
{
	struct ut_diag d;
	struct n3_chain c;
	add_n3_names("1 0 0 -");
	add_chain(N3_NAMES, N3_COUNT, 0, 0, "-", NULL, &c);
	struct zone *z = load(&d);
	expect_none(&d);
	ck_assert_ptr_nonnull(z->nsec3);
	ck_assert_uint_eq(z->nsec3->v.n, N3_COUNT);
	zone_free(z);
}
END_TEST

START_TEST(nsec3_chain_broken)
{
	struct ut_diag d;
	struct n3_chain c;
	char w1[512], w2[512];
	add_n3_names("1 0 0 -");
	add_chain(N3_NAMES, N3_COUNT, 0, 0, "-", "a." ORIGIN, &c);
	ck_assert_int_ge(c.dropped, 0);
	int i = c.dropped;
	const char *prev = c.label[(i + N3_COUNT - 1) % N3_COUNT];
	const char *next = c.label[(i + 1) % N3_COUNT];
	struct zone *z = load(&d);
	snprintf(w1, sizeof(w1),
	         "NSEC3 chain incomplete: a.example.test. (A) has no NSEC3 (hash %s)", c.label[i]);
	snprintf(w2, sizeof(w2),
	         "NSEC3 chain broken: the NSEC3 at %s.example.test. names %s next, but the next "
	         "NSEC3 of the chain is at %s.example.test.",
	         prev, c.label[i], next);
	EXPECT(&d, w1, w2);
	zone_free(z);
}
END_TEST

/* An empty non-terminal needs its NSEC3 too (RFC 5155 §7.1). */
START_TEST(nsec3_empty_non_terminal)
{
	struct ut_diag d;
	struct n3_chain c;
	const char *names[] = {ORIGIN, "a." ORIGIN, "b.c." ORIGIN, "sub." ORIGIN};
	char l[64], w[512];
	add_n3_names("1 0 0 -");
	add_chain(names, 4, 0, 0, "-", NULL, &c);
	n3_label("c." ORIGIN, 0, NULL, 0, l);
	struct zone *z = load(&d);
	snprintf(
	    w, sizeof(w),
	    "NSEC3 chain incomplete: the empty non-terminal c.example.test. has no NSEC3 (hash "
	    "%s)",
	    l);
	EXPECT(&d, w);
	zone_free(z);
}
END_TEST

/* Opt-out (RFC 5155 §6): an insecure delegation, and the empty
 * non-terminal above it, may go without an NSEC3 when an opt-out one covers
 * them; without the flag they may not, and a secure delegation never. */
START_TEST(nsec3_opt_out)
{
	struct ut_diag d;
	struct n3_chain c;
	char l[64], w[512];
	const char *names[] = {ORIGIN, "a." ORIGIN};
	add_apex(true);
	add("@ NSEC3PARAM 1 0 0 -");
	add("a A 192.0.2.1");
	add("sub NS ns.sub");
	add("ns.sub A 192.0.2.53");
	add("d.e NS ns.other."); /* e: an empty non-terminal above a delegation */
	add_chain(names, 2, 1, 0, "-", NULL, &c);
	struct zone *z = load(&d);
	expect_none(&d);
	zone_free(z);

	/* the same chain without the opt-out flag */
	for (size_t i = 0; i < g_nrr; i++)
		if (strstr(g_rr[i], " NSEC3 1 1 "))
			g_rr[i][strstr(g_rr[i], " NSEC3 1 1 ") - g_rr[i] + 9] = '0';
	z = load(&d);
	char w2[512], w3[512], l2[64], l3[64];
	n3_label("sub." ORIGIN, 0, NULL, 0, l);
	n3_label("e." ORIGIN, 0, NULL, 0, l2);
	n3_label("d.e." ORIGIN, 0, NULL, 0, l3);
	snprintf(w, sizeof(w),
	         "NSEC3 chain incomplete: sub.example.test. (NS) has no NSEC3 (hash %s)", l);
	snprintf(w2, sizeof(w2),
	         "NSEC3 chain incomplete: the empty non-terminal e.example.test. has no NSEC3 "
	         "(hash %s)",
	         l2);
	snprintf(w3, sizeof(w3),
	         "NSEC3 chain incomplete: d.e.example.test. (NS) has no NSEC3 (hash %s)", l3);
	EXPECT(&d, w, w2, w3);
	zone_free(z);
}
END_TEST

START_TEST(nsec3_opt_out_secure_delegation)
{
	struct ut_diag d;
	struct n3_chain c;
	char l[64], w[512];
	const char *names[] = {ORIGIN, "a." ORIGIN};
	add_apex(true);
	add("@ NSEC3PARAM 1 0 0 -");
	add("a A 192.0.2.1");
	add("sub NS ns.other.");
	add("sub DS 4711 13 2 "
	    "0011223344556677889900112233445566778899001122334455667788990011");
	add_chain(names, 2, 1, 0, "-", NULL, &c);
	struct zone *z = load(&d);
	n3_label("sub." ORIGIN, 0, NULL, 0, l);
	snprintf(w, sizeof(w),
	         "NSEC3 chain incomplete: sub.example.test. (NS DS) has no NSEC3 (hash %s)", l);
	EXPECT(&d, w);
	zone_free(z);
}
END_TEST

START_TEST(nsec3param_without_chain)
{
	struct ut_diag d;
	add_apex(false);
	add("@ NSEC3PARAM 1 0 0 -");
	add("a A 192.0.2.1");
	struct zone *z = load(&d);
	EXPECT(&d, "NSEC3PARAM at example.test. (1 0 0 -) has no NSEC3 records of its parameters");
	ck_assert_ptr_null(z->nsec3);
	zone_free(z);
}
END_TEST

/* NSEC3 records there are, but of other parameters (a salt). */
START_TEST(nsec3param_other_parameters)
{
	struct ut_diag d;
	struct n3_chain c;
	add_n3_names("1 0 0 -");
	add_chain(N3_NAMES, N3_COUNT, 0, 0, "aabb", NULL, &c);
	struct zone *z = load(&d);
	EXPECT(&d, "NSEC3PARAM at example.test. (1 0 0 -) has no NSEC3 records of its parameters",
	       "DNSKEY at example.test. but no NSEC or NSEC3 chain: nonexistence cannot be proved");
	zone_free(z);
}
END_TEST

/* RFC 9276 §3.1: 0 iterations and no salt. A complete chain otherwise. */
START_TEST(nsec3_iterations_and_salt)
{
	struct ut_diag d;
	struct n3_chain c;
	add_n3_names("1 0 10 CAFE5A17");
	add_chain(N3_NAMES, N3_COUNT, 0, 10, "cafe5a17", NULL, &c);
	struct zone *z = load(&d);
	EXPECT(&d, "NSEC3PARAM at example.test. (1 0 10 CAFE5A17): 10 iterations and a salt; "
	           "RFC 9276 §3.1 recommends 0 iterations and no salt");
	ck_assert_ptr_nonnull(z->nsec3);
	ck_assert_uint_eq(z->nsec3->v.n, N3_COUNT);
	zone_free(z);
}
END_TEST

START_TEST(nsec3_iterations_only)
{
	struct ut_diag d;
	struct n3_chain c;
	add_n3_names("1 0 1 -");
	add_chain(N3_NAMES, N3_COUNT, 0, 1, "-", NULL, &c);
	struct zone *z = load(&d);
	EXPECT(&d, "NSEC3PARAM at example.test. (1 0 1 -): 1 iteration; RFC 9276 §3.1 recommends 0 "
	           "iterations and no salt");
	zone_free(z);
}
END_TEST

START_TEST(nsec3_salt_only)
{
	struct ut_diag d;
	struct n3_chain c;
	add_n3_names("1 0 0 AB");
	add_chain(N3_NAMES, N3_COUNT, 0, 0, "ab", NULL, &c);
	struct zone *z = load(&d);
	EXPECT(&d, "NSEC3PARAM at example.test. (1 0 0 AB): a salt; RFC 9276 §3.1 recommends 0 "
	           "iterations and no salt");
	zone_free(z);
}
END_TEST

/* A signer between chains: two NSEC3PARAMs, or NSEC beside NSEC3. */
START_TEST(transition_to_new_nsec3_parameters)
{
	struct ut_diag d;
	struct n3_chain c1, c2;
	add_n3_names("1 0 0 -");
	add("@ NSEC3PARAM 1 0 0 AB");
	add_chain(N3_NAMES, N3_COUNT, 0, 0, "-", "a." ORIGIN, &c1); /* being taken down */
	add_chain(N3_NAMES, N3_COUNT, 0, 0, "ab", NULL, &c2);       /* complete */
	struct zone *z = load(&d);
	EXPECT(&d, "example.test. holds more than one denial chain: serving the NSEC3 chain of "
	           "NSEC3PARAM 1 0 0 AB, which is complete");
	ck_assert_ptr_nonnull(z->nsec3);
	ck_assert_uint_eq(z->nsec3->salt_len, 1);
	ck_assert_uint_eq(z->nsec3->v.n, N3_COUNT);
	zone_free(z);
}
END_TEST

START_TEST(transition_to_nsec)
{
	struct ut_diag d;
	struct n3_chain c1;
	add_nsec_names();
	add("@ NSEC3PARAM 1 0 0 -");
	add("@ NSEC a.example.test. NS SOA DNSKEY NSEC3PARAM NSEC");
	add("a NSEC b.c.example.test. A NSEC");
	add("b.c NSEC sub.example.test. TXT NSEC");
	add("sub NSEC *.w.example.test. NS NSEC");
	add("*.w NSEC example.test. TXT NSEC");
	static const char *const names[] = {ORIGIN, "a." ORIGIN, "c." ORIGIN, "b.c." ORIGIN,
	                                    "sub." ORIGIN};
	add_chain(names, 5, 0, 0, "-", "b.c." ORIGIN, &c1); /* incomplete, and no *.w, w */
	struct zone *z = load(&d);
	EXPECT(&d, "example.test. holds more than one denial chain: serving the NSEC chain, which "
	           "is complete");
	ck_assert_ptr_null(z->nsec3);
	ck_assert_uint_eq(z->nsec.n, 5);
	zone_free(z);
}
END_TEST

START_TEST(transition_none_complete)
{
	struct ut_diag d;
	struct n3_chain c1, c2;
	add_n3_names("1 0 0 -");
	add("@ NSEC3PARAM 1 0 0 AB");
	add_chain(N3_NAMES, N3_COUNT, 0, 0, "-", "a." ORIGIN, &c1);
	add_chain(N3_NAMES, N3_COUNT, 0, 0, "ab", "b.c." ORIGIN, &c2);
	struct zone *z = load(&d);
	bool said = false;
	for (unsigned i = 0; i < d.n; i++)
		said |= !strcmp(d.e[i].reason,
		                "example.test. holds more than one denial chain and none is complete: "
		                "serving the NSEC3 chain of its first NSEC3PARAM");
	ck_assert(said);
	ck_assert_ptr_nonnull(z->nsec3);
	ck_assert_uint_eq(z->nsec3->salt_len, 0);
	zone_free(z);
}
END_TEST

static Suite *checks_suite(void)
{
	Suite *s = suite_create("dnssec_checks");
	TCase *t = tcase_create("rrsig");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, rrsig_expired);
	tcase_add_test(t, rrsig_expiring_soon);
	tcase_add_test(t, rrsig_fine);
	tcase_add_test(t, rrsig_threshold);
	tcase_add_test(t, rrsig_serial_arithmetic);
	tcase_add_test(t, rrsig_many_counted);
	tcase_add_test(t, unsigned_zone);
	suite_add_tcase(s, t);
	t = tcase_create("nsec");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, nsec_chain_complete);
	tcase_add_test(t, nsec_chain_broken);
	tcase_add_test(t, dnskey_without_chain);
	tcase_add_test(t, nsec_without_dnskey_not_checked);
	suite_add_tcase(s, t);
	t = tcase_create("nsec3");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, nsec3_chain_complete);
	tcase_add_test(t, nsec3_chain_broken);
	tcase_add_test(t, nsec3_empty_non_terminal);
	tcase_add_test(t, nsec3_opt_out);
	tcase_add_test(t, nsec3_opt_out_secure_delegation);
	tcase_add_test(t, nsec3param_without_chain);
	tcase_add_test(t, nsec3param_other_parameters);
	tcase_add_test(t, nsec3_iterations_and_salt);
	tcase_add_test(t, nsec3_iterations_only);
	tcase_add_test(t, nsec3_salt_only);
	tcase_add_test(t, transition_to_new_nsec3_parameters);
	tcase_add_test(t, transition_to_nsec);
	tcase_add_test(t, transition_none_complete);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(checks_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
