/*
 * check_differential.c - shoal against knotd on the same zones and queries.
 *
 * Both servers load tests/conformance/zones/ and listen on loopback ports
 * picked at run time. Every query goes to both and the replies must agree
 * on: rcode, AA, TC, the answer and authority sections (as multisets of
 * canonical RRs, TTLs included) and, for referrals (NS and no SOA in
 * authority), the additional section. The additional section of other
 * replies is not compared (shoal answers minimally, Knot adds
 * MX/NS/SRV target addresses) and neither is OPT. For ANY over UDP only
 * rcode and flags are compared (RFC 8482 lets each server pick its RRset);
 * truncated replies compare only rcode and flags (RFC 2181 §9).
 *
 * Queries: every case of tests/conformance/expectations.txt that uses the
 * default server configuration (the relaxations a case declares, such as
 * ttl-unchecked or ?aa, apply here too; a difference on a case marked
 * "# knot differs:" is printed as known and not counted: Knot deviates
 * there and the conformance test judges shoal), then generated ones: every owner name in the zones
 * and its empty non-terminal ancestors x A, AAAA, NS, SOA, MX, TXT, CNAME, DS, DNAME, SRV; a name
 * below each of them; names under each wildcard; mixed-case copies of every name (over TCP);
 * NXDOMAIN names in each zone; names in no zone.
 *
 * Every difference is printed; the test fails if there is any. Without
 * knotd installed the program exits 77 (skipped).
 */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* See check_conformance.c: stop querying a server after this many timeouts
 * in a row so a hung server fails the test quickly. */
#define HUNG_AFTER_TIMEOUTS 3
#define DIFF_QUERY_TIMEOUT_MS 1000

/* One query of the differential run. */
struct dq {
	char *qname;                  /* owned */
	struct harness_query q;       /* q.qname == qname */
	const struct harness_case *c; /* the conformance case, or NULL */
	char why[96];                 /* where the query comes from */
};

struct dq_list {
	struct dq *v;
	size_t n;
};

struct target {
	const char *label; /* "knot" or "shoal" */
	struct harness_server srv;
	int start_rc;
	int timeouts_in_a_row;
};

static struct target knot = {.label = "knot"};
static struct target shoal = {.label = "shoal"};
static struct harness_cases cases;
static struct dq_list conf_queries, gen_queries;
static char zonedir[PATH_MAX];
static char exp_path[PATH_MAX];

/* Same configuration as the conformance "default" server on both sides. */
static const char *const shoal_args[] = {"--version-string", "test-1", "--identity", "node-1",
                                         NULL};
static const char *const knot_conf = "identity: node-1\nversion: test-1\n";

/* ---- building the query list -------------------------------------------- */

static int dq_add(struct dq_list *l, const char *qname, ldns_rr_type type, enum harness_transport t,
                  const struct harness_case *c, const char *why)
{
	struct dq *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	if (nv == NULL)
		return -ENOMEM;
	l->v = nv;
	struct dq *d = &l->v[l->n];
	memset(d, 0, sizeof(*d));
	d->qname = strdup(qname);
	if (d->qname == NULL)
		return -ENOMEM;
	if (c != NULL) {
		d->q = c->q;
	} else {
		d->q.qtype = type;
		d->q.qclass = LDNS_RR_CLASS_IN;
		d->q.edns = true;
		d->q.edns_size = HARNESS_EDNS_SIZE;
		d->q.transport = t;
	}
	d->q.qname = d->qname;
	d->c = c;
	snprintf(d->why, sizeof(d->why), "%s", why);
	l->n++;
	return 0;
}

static void dq_list_free(struct dq_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].qname);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Add name to the sorted-later set v (duplicates removed later). */
static int name_push(char ***v, size_t *n, const char *name)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(*nv));
	if (nv == NULL)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(name);
	if (nv[*n] == NULL)
		return -ENOMEM;
	/* Owner names compare case-insensitively; keep one spelling. */
	for (char *p = nv[*n]; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	(*n)++;
	nv[*n] = NULL;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every owner name of the zone file and every ancestor up to the origin
 * (that is where the empty non-terminals are). */
static int collect_names(const char *origin, char ***names, size_t *n)
{
	char path[PATH_MAX];
	size_t ol = strlen(origin);
	if (snprintf(path, sizeof(path), "%s/%.*s.zone", zonedir, (int)(ol > 1 ? ol - 1 : ol),
	             origin) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -errno;
	ldns_rdf *orig = ldns_dname_new_frm_str(origin);
	ldns_zone *z = NULL;
	int line = 0;
	ldns_status st = ldns_zone_new_frm_fp_l(&z, f, orig, 3600, LDNS_RR_CLASS_IN, &line);
	fclose(f);
	int rc = 0;
	if (st != LDNS_STATUS_OK) {
		fprintf(stderr, "%s:%d: %s\n", path, line, ldns_get_errorstr_by_id(st));
		rc = -EINVAL;
		goto out;
	}
	rc = name_push(names, n, origin);
	ldns_rr_list *rrs = ldns_zone_rrs(z);
	for (size_t i = 0; rc == 0 && i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rdf *owner = ldns_rdf_clone(ldns_rr_owner(ldns_rr_list_rr(rrs, i)));
		while (rc == 0 && owner != NULL && ldns_dname_compare(owner, orig) != 0 &&
		       ldns_dname_is_subdomain(owner, orig)) {
			char *s = ldns_rdf2str(owner);
			rc = s ? name_push(names, n, s) : -ENOMEM;
			LDNS_FREE(s);
			ldns_rdf *up = ldns_dname_left_chop(owner);
			ldns_rdf_deep_free(owner);
			owner = up;
		}
		if (owner != NULL)
			ldns_rdf_deep_free(owner);
	}
out:
	if (z != NULL)
		ldns_zone_deep_free(z);
	ldns_rdf_deep_free(orig);
	return rc;
}

/* A mixed-case copy of name (letters flipped by a fixed pattern, so runs
 * are repeatable). Escapes (\. and \DDD) are left alone. */
static void mix_case(const char *name, char *out, size_t size, unsigned seed)
{
	size_t i = 0;
	for (; name[i] != '\0' && i + 1 < size; i++) {
		char ch = name[i];
		if (ch == '\\') {
			/* copy the escape as is */
			size_t len = isdigit((unsigned char)name[i + 1]) ? 4 : 2;
			for (size_t k = 0; k < len && name[i] != '\0' && i + 1 < size; k++, i++)
				out[i] = name[i];
			i--;
			continue;
		}
		seed = seed * 1103515245u + 12345u;
		out[i] = ((seed >> 16) & 1) ? (char)toupper((unsigned char)ch) : ch;
	}
	out[i] = '\0';
}

static int build_generated(void)
{
	static const ldns_rr_type types[] = {
	    LDNS_RR_TYPE_A,     LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_NS,    LDNS_RR_TYPE_SOA,
	    LDNS_RR_TYPE_MX,    LDNS_RR_TYPE_TXT,  LDNS_RR_TYPE_CNAME, LDNS_RR_TYPE_DS,
	    LDNS_RR_TYPE_DNAME, LDNS_RR_TYPE_SRV};
	static const ldns_rr_type probe_types[] = {LDNS_RR_TYPE_A, LDNS_RR_TYPE_TXT,
	                                           LDNS_RR_TYPE_MX, LDNS_RR_TYPE_CNAME};
	const size_t ntypes = sizeof(types) / sizeof(types[0]);
	const size_t nprobe = sizeof(probe_types) / sizeof(probe_types[0]);
	char **origins = NULL, **names = NULL;
	size_t nn = 0;
	int rc = harness_zone_origins(zonedir, &origins);
	for (size_t i = 0; rc == 0 && origins[i] != NULL; i++)
		rc = collect_names(origins[i], &names, &nn);
	if (rc < 0)
		goto out;
	qsort(names, nn, sizeof(*names), cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < nn; i++) {
		if (u > 0 && strcmp(names[u - 1], names[i]) == 0) {
			free(names[i]);
			continue;
		}
		names[u++] = names[i];
	}
	nn = u;
	if (names != NULL)
		names[nn] = NULL;

	char buf[1100], why[96];
	for (size_t i = 0; rc == 0 && i < nn; i++) {
		const char *name = names[i];
		/* The name itself, each type. */
		for (size_t t = 0; rc == 0 && t < ntypes; t++)
			rc =
			    dq_add(&gen_queries, name, types[t], HARNESS_UDP, NULL, "owner x type");
		/* Below it: NXDOMAIN, or a referral, DNAME or wildcard
		 * synthesis depending on what the name is. */
		snprintf(buf, sizeof(buf), "below-probe.%s", name);
		for (size_t t = 0; rc == 0 && t < nprobe; t++)
			rc = dq_add(&gen_queries, buf, probe_types[t], HARNESS_UDP, NULL,
			            "a name below an owner");
		/* Names a wildcard covers: one and several labels. */
		if (rc == 0 && strncmp(name, "*.", 2) == 0) {
			const char *prefixes[] = {"synth", "a.b.synth", "*.x"};
			for (size_t p = 0; rc == 0 && p < 3; p++) {
				snprintf(buf, sizeof(buf), "%s.%s", prefixes[p], name + 2);
				for (size_t t = 0; rc == 0 && t < nprobe; t++)
					rc = dq_add(&gen_queries, buf, probe_types[t], HARNESS_UDP,
					            NULL, "a name a wildcard covers");
			}
		}
		/* Mixed case, over TCP. */
		mix_case(name, buf, sizeof(buf), (unsigned)i + 7u);
		snprintf(why, sizeof(why), "mixed case, tcp");
		if (rc == 0)
			rc = dq_add(&gen_queries, buf, LDNS_RR_TYPE_A, HARNESS_TCP, NULL, why);
		if (rc == 0)
			rc = dq_add(&gen_queries, buf, LDNS_RR_TYPE_TXT, HARNESS_TCP, NULL, why);
	}
	/* NXDOMAIN names at the top of each zone. */
	for (size_t i = 0; rc == 0 && origins[i] != NULL; i++) {
		const char *pre[] = {"nxdomain-1", "a.b.nxdomain-2", "NxDoMaIn-3"};
		for (size_t p = 0; rc == 0 && p < 3; p++) {
			snprintf(buf, sizeof(buf), "%s.%s", pre[p],
			         strcmp(origins[i], ".") == 0 ? "" : origins[i]);
			rc = dq_add(&gen_queries, buf, LDNS_RR_TYPE_A, HARNESS_UDP, NULL,
			            "NXDOMAIN name");
			if (rc == 0)
				rc = dq_add(&gen_queries, buf, LDNS_RR_TYPE_SOA, HARNESS_UDP, NULL,
				            "NXDOMAIN name");
		}
	}
	/* Names in no zone we serve. */
	const char *foreign[] = {
	    ".", "org.", "example.org.", "www.example.net.", "nothere.invalid.", "com."};
	for (size_t i = 0; rc == 0 && i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		rc = dq_add(&gen_queries, foreign[i], LDNS_RR_TYPE_A, HARNESS_UDP, NULL, "foreign");
		if (rc == 0)
			rc = dq_add(&gen_queries, foreign[i], LDNS_RR_TYPE_SOA, HARNESS_UDP, NULL,
			            "foreign");
	}
out:
	harness_strv_free(origins);
	harness_strv_free(names);
	return rc;
}

static int build_conformance(void)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < cases.n; i++) {
		const struct harness_case *c = &cases.c[i];
		if (strcmp(c->server, "default") != 0)
			continue;
		char why[96];
		snprintf(why, sizeof(why), "expectations.txt:%d", c->line);
		rc = dq_add(&conf_queries, c->qname, c->q.qtype, c->q.transport, c, why);
	}
	return rc;
}

/* ---- servers ---------------------------------------------------------------- */

/* On failure the harness prints why and the log; assert_started() fails
 * the tests. */
static void servers_start(void)
{
	knot.start_rc = harness_knot_start(&knot.srv, zonedir, knot_conf);
	shoal.start_rc = harness_shoal_start(&shoal.srv, zonedir, shoal_args);
}

static void servers_stop(void)
{
	harness_server_cleanup(&knot.srv);
	harness_server_cleanup(&shoal.srv);
}

/* ---- comparing -------------------------------------------------------------- */

static bool has_type(const ldns_rr_list *l, ldns_rr_type t)
{
	for (size_t i = 0; l != NULL && i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == t)
			return true;
	return false;
}

/* A referral (or a CNAME chain ending in one): NS and no SOA in authority. */
static bool is_referral(const ldns_pkt *p)
{
	const ldns_rr_list *au = ldns_pkt_authority(p);
	return has_type(au, LDNS_RR_TYPE_NS) && !has_type(au, LDNS_RR_TYPE_SOA);
}

/* Compare the two replies of d; print what differs to out. */
static bool compare(const struct dq *d, const struct harness_reply *k,
                    const struct harness_reply *s, FILE *out)
{
	const struct harness_case *c = d->c;
	const ldns_pkt *kp = k->pkt, *sp = s->pkt;
	if (kp == NULL || sp == NULL) {
		if (kp == NULL && sp == NULL)
			return true; /* neither parsed: nothing to compare */
		fprintf(out, "    %s reply did not parse (%zu octets)\n", kp ? "shoal" : "knot",
		        kp ? s->wire_len : k->wire_len);
		return false;
	}
	bool ok = true;
	unsigned kr = ldns_pkt_get_rcode(kp), sr = ldns_pkt_get_rcode(sp);
	if (kr != sr) {
		fprintf(out, "    rcode: knot %s, shoal %s\n", harness_rcode_str(kr),
		        harness_rcode_str(sr));
		ok = false;
	}
	if ((c == NULL || c->aa != HARNESS_FLAG_ANY) && ldns_pkt_aa(kp) != ldns_pkt_aa(sp)) {
		fprintf(out, "    AA: knot %d, shoal %d\n", ldns_pkt_aa(kp), ldns_pkt_aa(sp));
		ok = false;
	}
	bool ktc = ldns_pkt_tc(kp), stc = ldns_pkt_tc(sp);
	if ((c == NULL || c->tc != HARNESS_FLAG_ANY) && ktc != stc) {
		fprintf(out, "    TC: knot %d, shoal %d\n", ktc, stc);
		ok = false;
	}
	/* RFC 8482: each may pick its RRset; RFC 2181 §9: truncated content. */
	if (d->q.qtype == LDNS_RR_TYPE_ANY && d->q.transport == HARNESS_UDP)
		return ok;
	if (ktc || stc)
		return ok;
	if (c != NULL && (!c->sections_checked || c->answer_one_rrset))
		return ok;
	bool ttl = c == NULL || c->ttl_checked;
	ok &=
	    harness_section_diff("answer    ", ldns_pkt_answer(kp), ldns_pkt_answer(sp), ttl, out);
	ok &= harness_section_diff("authority ", ldns_pkt_authority(kp), ldns_pkt_authority(sp),
	                           ttl, out);
	if (is_referral(kp) || is_referral(sp))
		ok &= harness_section_diff("additional", ldns_pkt_additional(kp),
		                           ldns_pkt_additional(sp), ttl, out);
	return ok;
}

static int ask(struct target *t, const struct dq *d, struct harness_reply *r)
{
	memset(r, 0, sizeof(*r));
	if (t->start_rc != 0)
		return t->start_rc;
	if (t->timeouts_in_a_row >= HUNG_AFTER_TIMEOUTS)
		return -EHOSTDOWN;
	/* over UDP try twice: a lost datagram is no difference */
	int rc = harness_query_retry(NULL, t->srv.port, &d->q, DIFF_QUERY_TIMEOUT_MS, 2, r);
	t->timeouts_in_a_row = rc == -ETIMEDOUT ? t->timeouts_in_a_row + 1 : 0;
	return rc;
}

static const char *ask_error(struct target *t, int rc)
{
	static char buf[128];
	if (rc == -EHOSTDOWN)
		snprintf(buf, sizeof(buf), "not asked: %s stopped answering", t->label);
	else
		snprintf(buf, sizeof(buf), "no reply: %s", strerror(-rc));
	return buf;
}

/* Run the whole list; print each difference; return how many. */
static size_t run_list(const struct dq_list *l, const char *title)
{
	size_t diffs = 0, known = 0;
	printf("== %s: %zu queries to knotd (port %u) and shoal (port %u); "
	       "\"-\" = only in knot, \"+\" = only in shoal\n",
	       title, l->n, (unsigned)knot.srv.port, (unsigned)shoal.srv.port);
	for (size_t i = 0; i < l->n; i++) {
		const struct dq *d = &l->v[i];
		struct harness_reply k, s;
		int krc = ask(&knot, d, &k);
		int src = ask(&shoal, d, &s);
		char *text = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&text, &len);
		bool same;
		if (krc != 0 || src != 0) {
			same = krc == src;
			if (!same) {
				if (krc != 0)
					fprintf(out, "    knot: %s\n", ask_error(&knot, krc));
				if (src != 0)
					fprintf(out, "    shoal: %s\n", ask_error(&shoal, src));
			}
		} else {
			same = compare(d, &k, &s, out);
		}
		fclose(out);
		char qs[1200];
		if (!same && d->c != NULL && d->c->knot_differs != NULL) {
			known++;
			printf("known %s  [%s; knot differs: %s]\n%s",
			       harness_query_str(&d->q, qs, sizeof(qs)), d->why, d->c->knot_differs,
			       text);
		} else if (!same) {
			diffs++;
			printf("DIFF %s  [%s]\n%s", harness_query_str(&d->q, qs, sizeof(qs)),
			       d->why, text);
		}
		free(text);
		harness_reply_free(&k);
		harness_reply_free(&s);
	}
	printf("== %s: %zu of %zu queries differ", title, diffs, l->n);
	if (known > 0)
		printf(" (and %zu more where %s says \"knot differs\": not counted)", known,
		       exp_path);
	printf("\n");
	fflush(stdout);
	return diffs;
}

static void assert_started(void)
{
	if (knot.start_rc != 0) {
		char *tail = harness_server_log_tail(&knot.srv, 1500);
		ck_abort_msg("knotd did not start: %s\n%s",
		             harness_start_strerror(knot.start_rc, &knot.srv), tail);
	}
	if (shoal.start_rc != 0) {
		char *tail = harness_server_log_tail(&shoal.srv, 1500);
		ck_abort_msg("shoal did not start: %s\n%s",
		             harness_start_strerror(shoal.start_rc, &shoal.srv), tail);
	}
}

START_TEST(test_conformance_queries)
{
	assert_started();
	size_t diffs = run_list(&conf_queries, "conformance queries");
	ck_assert_msg(diffs == 0,
	              "%zu of %zu conformance queries differ between knotd and shoal "
	              "(listed above)",
	              diffs, conf_queries.n);
}
END_TEST

START_TEST(test_generated_queries)
{
	assert_started();
	size_t diffs = run_list(&gen_queries, "generated queries");
	ck_assert_msg(diffs == 0,
	              "%zu of %zu generated queries differ between knotd and shoal "
	              "(listed above)",
	              diffs, gen_queries.n);
}
END_TEST

static Suite *differential_suite(void)
{
	Suite *s = suite_create("differential");
	TCase *tc = tcase_create("knot-vs-shoal");
	tcase_add_unchecked_fixture(tc, servers_start, servers_stop);
	tcase_add_test(tc, test_conformance_queries);
	tcase_add_test(tc, test_generated_queries);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (harness_knotd_path() == NULL) {
		printf("knotd is not installed: differential test skipped\n");
		return HARNESS_EXIT_SKIP;
	}
	if (harness_srcpath(zonedir, sizeof(zonedir), "tests/conformance/zones") < 0 ||
	    harness_srcpath(exp_path, sizeof(exp_path), "tests/conformance/expectations.txt") < 0) {
		fprintf(stderr, "SHOAL_SRCDIR is not set (run through meson test)\n");
		return EXIT_FAILURE;
	}
	if (harness_cases_load(exp_path, &cases) < 0 || build_conformance() < 0 ||
	    build_generated() < 0) {
		fprintf(stderr, "cannot build the query list\n");
		return EXIT_FAILURE;
	}
	printf("differential: %zu conformance + %zu generated queries\n", conf_queries.n,
	       gen_queries.n);
	fflush(stdout);

	SRunner *sr = srunner_create(differential_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	dq_list_free(&conf_queries);
	dq_list_free(&gen_queries);
	harness_cases_free(&cases);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
