/*
 * check_dnssec.c - signed zones served by shoal, checked by a validating
 * resolver (issue 18: positive answers; denial proofs come later).
 *
 * Setup (once, in an unchecked fixture): the template tests/dnssec/sec.zone
 * is signed afresh under one origin per variant (tests/e2e/dnssec.h):
 *   nsec.test.       NSEC                       (ldns-signzone)
 *   nsec3.test.      NSEC3, 0 iterations, no salt (ldns-signzone -n -t 0)
 *   nsec3salt.test.  NSEC3, salt, 10 iterations  (ldns-signzone -n -t 10 -s)
 *   optout.test.     NSEC3 opt-out               (dnssec-signzone -3 - -H 0 -A)
 *   unsigned.test.   the template as it is, no trust anchor
 * One shoal serves all five; one unbound (harness_unbound_start()) resolves
 * them through stub zones, with the DS of each signed zone's KSK as its
 * trust anchor.
 *
 * Cases, positive answers only (every name and type exists in the zone):
 * www A, www AAAA, @ MX, www TXT, @ TXT, ns1 AAAA, leaf.ent A (below an
 * empty non-terminal), @ SOA, @ NS, @ DNSKEY (signed zones only), alias A
 * (a CNAME to www: two RRsets) and secure DS (answered by the parent side
 * of a secure delegation).
 *   - through unbound (RD=1, DO=1): NOERROR and AD=1 for every signed
 *     variant (the chain of trust from the anchor validates; never
 *     SERVFAIL); NOERROR and AD=0 for unsigned.test. (AD is not always set);
 *   - direct to shoal, DO=1: NOERROR, AA=1, AD=0 (RFC 4035 §3.1.6: an
 *     authoritative server does not validate), DO echoed (RFC 3225 §3), the
 *     asked RRset in the answer, and every RRset of the answer and
 *     authority sections with an RRSIG at the same owner covering its type,
 *     signed by the zone's apex, its labels field the owner's label count
 *     (no wildcard here) (RFC 4035 §3.1.1, RFC 4034 §3.1.3);
 *   - direct to shoal, DO=0 (EDNS without DO, and no EDNS): no RRSIG in any
 *     section (RFC 4035 §3.1: none unless DO), AA=1, AD=0.
 * A failing case prints the reply; a failing resolver case also prints the
 * tail of unbound's log, where val-log-level 2 says why it did not validate.
 *
 * Exits 77 (skipped) when unbound is not installed (scripts/deps installs it).
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnssec.h"
#include "harness.h"

/* unbound may have to fetch the DNSKEY RRset and retry a bogus answer at
 * another "server" (there is one) before it gives up: a few round trips on
 * loopback, far below this. */
#define RESOLVER_QUERY_TIMEOUT_MS 5000
#define QUERY_TRIES 2
/* Enough of unbound's log to show the validation failures of one test. */
#define UNBOUND_LOG_TAIL 6000

struct zone_def {
	enum harness_dnssec_variant variant;
	const char *origin;
};

/* One per variant, indexed by enum harness_dnssec_variant. */
static const struct zone_def zone_defs[HARNESS_DNSSEC_VARIANTS] = {
    [HARNESS_DNSSEC_UNSIGNED] = {HARNESS_DNSSEC_UNSIGNED, "unsigned.test."},
    [HARNESS_DNSSEC_NSEC] = {HARNESS_DNSSEC_NSEC, "nsec.test."},
    [HARNESS_DNSSEC_NSEC3] = {HARNESS_DNSSEC_NSEC3, "nsec3.test."},
    [HARNESS_DNSSEC_NSEC3_SALT] = {HARNESS_DNSSEC_NSEC3_SALT, "nsec3salt.test."},
    [HARNESS_DNSSEC_NSEC3_OPTOUT] = {HARNESS_DNSSEC_NSEC3_OPTOUT, "optout.test."},
};

/* A positive case: "name" is relative to the origin ("@" = the apex). */
struct pcase {
	const char *name;
	ldns_rr_type type;
	const char *target; /* for a CNAME: the name whose RRset ends the chain */
	bool signed_only;   /* the unsigned zone has no such data (DNSKEY) */
};

static const struct pcase pcases[] = {
    {"www", LDNS_RR_TYPE_A, NULL, false},      {"www", LDNS_RR_TYPE_AAAA, NULL, false},
    {"@", LDNS_RR_TYPE_MX, NULL, false},       {"www", LDNS_RR_TYPE_TXT, NULL, false},
    {"@", LDNS_RR_TYPE_TXT, NULL, false},      {"ns1", LDNS_RR_TYPE_AAAA, NULL, false},
    {"leaf.ent", LDNS_RR_TYPE_A, NULL, false}, {"@", LDNS_RR_TYPE_SOA, NULL, false},
    {"@", LDNS_RR_TYPE_NS, NULL, false},       {"@", LDNS_RR_TYPE_DNSKEY, NULL, true},
    {"alias", LDNS_RR_TYPE_A, "www", false},   {"secure", LDNS_RR_TYPE_DS, NULL, false},
};
#define N_PCASES (sizeof(pcases) / sizeof(pcases[0]))

static struct harness_server shoal, unbound;
static struct harness_dnssec_zone made[HARNESS_DNSSEC_VARIANTS];
static char workdir[PATH_MAX];
static char setup_error[512]; /* why the fixture failed, "" when it did not */

/* Say why the fixture failed (truncated to setup_error, which is enough for
 * a message; the details went to stderr already). */
static void set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(setup_error, sizeof(setup_error), fmt, ap);
	va_end(ap);
}

/* ---- fixture ---------------------------------------------------------------- */

static void servers_start(void)
{
	char template[PATH_MAX];
	int rc = harness_srcpath(template, sizeof(template), "tests/dnssec/sec.zone");
	if (rc < 0) {
		set_error("SHOAL_SRCDIR: %s", strerror(-rc));
		return;
	}
	if ((rc = harness_tmpdir(workdir, sizeof(workdir), "dnssec")) < 0 ||
	    (rc = harness_shoal_prepare(&shoal)) < 0) {
		set_error("temporary directories: %s", strerror(-rc));
		return;
	}
	double t0 = harness_now_ms();
	for (int v = 0; v < HARNESS_DNSSEC_VARIANTS; v++) {
		const char *missing = harness_dnssec_missing_tool(v);
		if (missing != NULL) {
			set_error("%s is not installed (run scripts/deps)", missing);
			return;
		}
		rc = harness_dnssec_make(template, zone_defs[v].origin, v, workdir, shoal.zonedir,
		                         &made[v]);
		if (rc < 0) {
			set_error("cannot sign %s as %s (%s): %s (the signer's output is above)",
			          template, zone_defs[v].origin, harness_dnssec_variant_str(v),
			          strerror(-rc));
			return;
		}
	}
	printf("dnssec: 5 zones made in %.0f ms (keys KSK/ZSK:", harness_now_ms() - t0);
	for (int v = 1; v < HARNESS_DNSSEC_VARIANTS; v++)
		printf(" %s %u/%u", made[v].origin, made[v].ksk_tag, made[v].zsk_tag);
	printf(")\n");

	/* Loaded with DO=0 probes (SOA of every zone): shoal serves them
	 * whatever it does with DO=1. */
	rc = harness_shoal_launch(&shoal, NULL);
	if (rc < 0) {
		set_error("shoal did not start: %s", harness_start_strerror(rc, &shoal));
		return;
	}
	struct harness_unbound_zone uz[HARNESS_DNSSEC_VARIANTS];
	for (int v = 0; v < HARNESS_DNSSEC_VARIANTS; v++)
		uz[v] = (struct harness_unbound_zone){
		    .origin = made[v].origin,
		    .port = shoal.port,
		    .anchor = made[v].anchor[0] != '\0' ? made[v].anchor : NULL,
		};
	/* The probe is the unsigned zone: a signed one answers SERVFAIL for as
	 * long as shoal sends no RRSIGs, and that is for the tests to say. */
	rc = harness_unbound_start(&unbound, uz, HARNESS_DNSSEC_VARIANTS,
	                           zone_defs[HARNESS_DNSSEC_UNSIGNED].origin);
	if (rc < 0) {
		set_error("unbound did not start: %s",
		          rc == -ETIMEDOUT ? "unsigned.test. SOA never answered NOERROR"
		                           : harness_start_strerror(rc, &unbound));
		return;
	}
	printf("dnssec: shoal on 127.0.0.1@%u, unbound on 127.0.0.1@%u\n", shoal.port,
	       unbound.port);
	fflush(stdout);
}

static void servers_stop(void)
{
	harness_server_cleanup(&unbound);
	harness_server_cleanup(&shoal);
	if (workdir[0] != '\0')
		harness_rmtree(workdir);
}

static void assert_started(void)
{
	ck_assert_msg(setup_error[0] == '\0', "setup failed: %s", setup_error);
}

/* ---- checking one reply ----------------------------------------------------- */

/* "name" relative to origin, absolute, into out. */
static void abs_name(char *out, size_t size, const char *name, const char *origin)
{
	if (strcmp(name, "@") == 0)
		snprintf(out, size, "%s", origin);
	else
		snprintf(out, size, "%s.%s", name, origin);
}

static bool owner_is(const ldns_rr *rr, const ldns_rdf *name)
{
	return ldns_dname_compare(ldns_rr_owner(rr), name) == 0;
}

/* How many RRs of type at owner name the list has. */
static size_t count_rrs(const ldns_rr_list *l, const ldns_rdf *name, ldns_rr_type type)
{
	size_t n = 0;
	for (size_t i = 0; l != NULL && i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (ldns_rr_get_type(rr) == type && owner_is(rr, name))
			n++;
	}
	return n;
}

/* How many RRSIGs any section of p has. */
static size_t count_rrsigs(const ldns_pkt *p)
{
	size_t n = 0;
	const ldns_rr_list *secs[] = {ldns_pkt_answer(p), ldns_pkt_authority(p),
	                              ldns_pkt_additional(p)};
	for (size_t s = 0; s < 3; s++)
		for (size_t i = 0; secs[s] != NULL && i < ldns_rr_list_rr_count(secs[s]); i++)
			if (ldns_rr_get_type(ldns_rr_list_rr(secs[s], i)) == LDNS_RR_TYPE_RRSIG)
				n++;
	return n;
}

/* The type an RRSIG covers (RFC 4034 §3.1.1). */
static ldns_rr_type rrsig_covers(const ldns_rr *sig)
{
	return ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig));
}

/*
 * RFC 4035 §3.1.1: every RRset of section (answer or authority) comes with
 * an RRSIG at its owner covering its type, made by the zone's key (signer
 * = the apex), its labels field the owner's label count (RFC 4034 §3.1.3,
 * the root label and a leading "*" not counted; none here is a wildcard).
 * Writes one line per missing or wrong RRSIG to diff. \return ok.
 */
static bool every_rrset_signed(const char *label, const ldns_rr_list *section, const ldns_rdf *apex,
                               FILE *diff)
{
	bool ok = true;
	size_t n = section ? ldns_rr_list_rr_count(section) : 0;
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(section, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		if (t == LDNS_RR_TYPE_RRSIG)
			continue;
		/* Once per RRset: skip an RR whose RRset was seen earlier. */
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++) {
			const ldns_rr *o = ldns_rr_list_rr(section, j);
			seen = ldns_rr_get_type(o) == t &&
			       ldns_dname_compare(ldns_rr_owner(o), ldns_rr_owner(rr)) == 0;
		}
		if (seen)
			continue;
		size_t sigs = 0;
		for (size_t j = 0; j < n; j++) {
			const ldns_rr *s = ldns_rr_list_rr(section, j);
			if (ldns_rr_get_type(s) != LDNS_RR_TYPE_RRSIG || rrsig_covers(s) != t ||
			    ldns_dname_compare(ldns_rr_owner(s), ldns_rr_owner(rr)) != 0)
				continue;
			sigs++;
			if (ldns_dname_compare(ldns_rr_rrsig_signame(s), apex) != 0) {
				char *sn = ldns_rdf2str(ldns_rr_rrsig_signame(s));
				fprintf(diff, "  %s: an RRSIG signed by %s, not the zone's apex\n",
				        label, sn ? sn : "?");
				free(sn);
				ok = false;
			}
			uint8_t labels = ldns_rdf2native_int8(ldns_rr_rrsig_labels(s));
			if (labels != ldns_dname_label_count(ldns_rr_owner(rr))) {
				fprintf(diff, "  %s: RRSIG labels %u for an owner of %u labels\n",
				        label, labels, ldns_dname_label_count(ldns_rr_owner(rr)));
				ok = false;
			}
		}
		if (sigs == 0) {
			char *owner = ldns_rdf2str(ldns_rr_owner(rr));
			char *type = ldns_rr_type2str(t);
			fprintf(diff, "  %s: %s %s has no RRSIG covering %s at its owner\n", label,
			        owner ? owner : "?", type ? type : "?", type ? type : "?");
			free(owner);
			free(type);
			ok = false;
		}
	}
	return ok;
}

/*
 * The answer holds the asked data: the RRset of c->type at qname or, for a
 * CNAME case, the CNAME at qname and the RRset at the target (RFC 1034
 * §4.3.2 step 3a).
 */
static bool answer_has_data(const ldns_pkt *p, const struct pcase *c, const char *origin,
                            const ldns_rdf *qname, FILE *diff)
{
	bool ok = true;
	const ldns_rr_list *an = ldns_pkt_answer(p);
	if (c->target != NULL) {
		char tbuf[HARNESS_DNAME_TEXT_MAX];
		abs_name(tbuf, sizeof(tbuf), c->target, origin);
		ldns_rdf *target = ldns_dname_new_frm_str(tbuf);
		if (count_rrs(an, qname, LDNS_RR_TYPE_CNAME) != 1) {
			fprintf(diff, "  answer: no CNAME at the qname\n");
			ok = false;
		}
		if (target == NULL || count_rrs(an, target, c->type) == 0) {
			fprintf(diff, "  answer: no RRset of the asked type at the target %s\n",
			        tbuf);
			ok = false;
		}
		ldns_rdf_deep_free(target);
	} else if (count_rrs(an, qname, c->type) == 0) {
		fprintf(diff, "  answer: no RRset of the asked type at the qname\n");
		ok = false;
	}
	return ok;
}

/* Ask, and on failure write why to diff. \return the reply or a zeroed one. */
static bool ask(uint16_t port, const struct harness_query *q, int timeout_ms,
                struct harness_reply *r, FILE *diff)
{
	int rc = harness_query_retry(NULL, port, q, timeout_ms, QUERY_TRIES, r);
	if (rc < 0 || r->pkt == NULL) {
		fprintf(diff, "  no parsed reply: %s\n", rc < 0 ? strerror(-rc) : "unparsable");
		return false;
	}
	return true;
}

/* Print one failed case with its reply to out. */
static void report_case(FILE *out, const struct harness_query *q, const struct harness_reply *r,
                        const char *why)
{
	char qs[HARNESS_DNAME_TEXT_MAX + 64];
	fprintf(out, "FAIL %s\n%s", harness_query_str(q, qs, sizeof(qs)), why);
	harness_pkt_dump(r->pkt, out, "    ");
}

/* ---- direct to shoal -------------------------------------------------------- */

/* One case to shoal itself; the failures go to out. \return ok. */
static bool direct_case(enum harness_dnssec_variant v, const struct pcase *c, bool edns,
                        bool do_bit, FILE *out)
{
	const char *origin = made[v].origin;
	char qbuf[HARNESS_DNAME_TEXT_MAX];
	abs_name(qbuf, sizeof(qbuf), c->name, origin);
	struct harness_query q = {.qname = qbuf,
	                          .qtype = c->type,
	                          .edns = edns,
	                          .do_bit = do_bit,
	                          .transport = HARNESS_UDP};
	struct harness_reply r = {0};
	char *why = NULL;
	size_t why_len = 0;
	FILE *diff = open_memstream(&why, &why_len);
	ck_assert(diff != NULL);
	ldns_rdf *qname = ldns_dname_new_frm_str(qbuf);
	ldns_rdf *apex = ldns_dname_new_frm_str(origin);
	ck_assert(qname != NULL && apex != NULL);
	bool ok = ask(shoal.port, &q, 0, &r, diff);
	if (ok) {
		const ldns_pkt *p = r.pkt;
		if (ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR) {
			fprintf(diff, "  rcode %s, want NOERROR\n",
			        harness_rcode_str(ldns_pkt_get_rcode(p)));
			ok = false;
		}
		if (!ldns_pkt_aa(p)) {
			fprintf(diff, "  AA=0, want AA=1 (authoritative data)\n");
			ok = false;
		}
		if (ldns_pkt_ad(p)) {
			fprintf(diff, "  AD=1, want AD=0 (RFC 4035 §3.1.6)\n");
			ok = false;
		}
		if (ldns_pkt_tc(p)) {
			fprintf(diff, "  TC=1: a small answer must fit in %u octets\n",
			        HARNESS_EDNS_SIZE);
			ok = false;
		}
		ok &= answer_has_data(p, c, origin, qname, diff);
		if (do_bit) {
			if (!ldns_pkt_edns_do(p)) {
				fprintf(diff, "  DO not echoed in the OPT record (RFC 3225 §3)\n");
				ok = false;
			}
			ok &= every_rrset_signed("answer", ldns_pkt_answer(p), apex, diff);
			ok &= every_rrset_signed("authority", ldns_pkt_authority(p), apex, diff);
		} else if (count_rrsigs(p) != 0) {
			fprintf(diff, "  %zu RRSIG(s) without DO=1 (RFC 4035 §3.1)\n",
			        count_rrsigs(p));
			ok = false;
		}
	}
	fclose(diff);
	if (!ok)
		report_case(out, &q, &r, why);
	free(why);
	harness_reply_free(&r);
	ldns_rdf_deep_free(qname);
	ldns_rdf_deep_free(apex);
	return ok;
}

/* The case the issue names first: "www A" with DO=1 answers the A RRset
 * and an RRSIG at the qname covering A, whatever else the reply holds. */
static bool direct_a_rrsig(enum harness_dnssec_variant v, FILE *out)
{
	char qbuf[HARNESS_DNAME_TEXT_MAX];
	abs_name(qbuf, sizeof(qbuf), "www", made[v].origin);
	struct harness_query q = {
	    .qname = qbuf, .qtype = LDNS_RR_TYPE_A, .edns = true, .do_bit = true};
	struct harness_reply r = {0};
	char *why = NULL;
	size_t why_len = 0;
	FILE *diff = open_memstream(&why, &why_len);
	ck_assert(diff != NULL);
	ldns_rdf *qname = ldns_dname_new_frm_str(qbuf);
	ck_assert(qname != NULL);
	bool ok = ask(shoal.port, &q, 0, &r, diff);
	if (ok) {
		const ldns_rr_list *an = ldns_pkt_answer(r.pkt);
		size_t a = count_rrs(an, qname, LDNS_RR_TYPE_A), sig = 0;
		for (size_t i = 0; an != NULL && i < ldns_rr_list_rr_count(an); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(an, i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && owner_is(rr, qname) &&
			    rrsig_covers(rr) == LDNS_RR_TYPE_A)
				sig++;
		}
		if (a != 2) {
			fprintf(diff, "  %zu A records at the qname, want the RRset of 2\n", a);
			ok = false;
		}
		if (sig == 0) {
			fprintf(diff, "  no RRSIG with owner = qname and type covered A\n");
			ok = false;
		}
	}
	fclose(diff);
	if (!ok)
		report_case(out, &q, &r, why);
	free(why);
	harness_reply_free(&r);
	ldns_rdf_deep_free(qname);
	return ok;
}

/* Variants by loop index: _i = 0 .. the number of signed variants - 1. */
static enum harness_dnssec_variant signed_variant(int i)
{
	return (enum harness_dnssec_variant)(HARNESS_DNSSEC_NSEC + i);
}
#define N_SIGNED (HARNESS_DNSSEC_VARIANTS - HARNESS_DNSSEC_NSEC)

START_TEST(test_direct_do1)
{
	assert_started();
	enum harness_dnssec_variant v = signed_variant(_i);
	size_t failed = 0, asked = 0;
	asked++;
	failed += !direct_a_rrsig(v, stdout);
	for (size_t i = 0; i < N_PCASES; i++) {
		asked++;
		failed += !direct_case(v, &pcases[i], true, true, stdout);
	}
	fflush(stdout);
	ck_assert_msg(failed == 0, "%s (%s): %zu of %zu DO=1 cases wrong (listed above)",
	              made[v].origin, harness_dnssec_variant_str(v), failed, asked);
}
END_TEST

START_TEST(test_direct_do0)
{
	assert_started();
	enum harness_dnssec_variant v = (enum harness_dnssec_variant)_i;
	size_t failed = 0, asked = 0;
	for (size_t i = 0; i < N_PCASES; i++) {
		if (pcases[i].signed_only && v == HARNESS_DNSSEC_UNSIGNED)
			continue;
		/* DO clear in an OPT record, and no OPT record at all. */
		asked += 2;
		failed += !direct_case(v, &pcases[i], true, false, stdout);
		failed += !direct_case(v, &pcases[i], false, false, stdout);
	}
	fflush(stdout);
	ck_assert_msg(failed == 0, "%s (%s): %zu of %zu DO=0 cases wrong (listed above)",
	              made[v].origin, harness_dnssec_variant_str(v), failed, asked);
}
END_TEST

/* ---- through unbound -------------------------------------------------------- */

/* One case through the resolver: NOERROR, the data, AD as want_ad. */
static bool resolver_case(enum harness_dnssec_variant v, const struct pcase *c, bool want_ad,
                          FILE *out)
{
	const char *origin = made[v].origin;
	char qbuf[HARNESS_DNAME_TEXT_MAX];
	abs_name(qbuf, sizeof(qbuf), c->name, origin);
	struct harness_query q = {.qname = qbuf,
	                          .qtype = c->type,
	                          .rd = true,
	                          .edns = true,
	                          .do_bit = true,
	                          .transport = HARNESS_UDP};
	struct harness_reply r = {0};
	char *why = NULL;
	size_t why_len = 0;
	FILE *diff = open_memstream(&why, &why_len);
	ck_assert(diff != NULL);
	ldns_rdf *qname = ldns_dname_new_frm_str(qbuf);
	ck_assert(qname != NULL);
	bool ok = ask(unbound.port, &q, RESOLVER_QUERY_TIMEOUT_MS, &r, diff);
	if (ok) {
		unsigned rcode = ldns_pkt_get_rcode(r.pkt);
		if (rcode != LDNS_RCODE_NOERROR) {
			fprintf(diff, "  rcode %s, want NOERROR%s\n", harness_rcode_str(rcode),
			        rcode == LDNS_RCODE_SERVFAIL
			            ? " (SERVFAIL from a validator: the answer is bogus, see "
			              "unbound's log below)"
			            : "");
			ok = false;
		}
		if (ldns_pkt_ad(r.pkt) != want_ad) {
			fprintf(diff, "  AD=%d, want AD=%d (%s)\n", ldns_pkt_ad(r.pkt), want_ad,
			        want_ad ? "a signed zone under a trust anchor validates"
			                : "no trust anchor: insecure");
			ok = false;
		}
		if (rcode == LDNS_RCODE_NOERROR)
			ok &= answer_has_data(r.pkt, c, origin, qname, diff);
	}
	fclose(diff);
	if (!ok)
		report_case(out, &q, &r, why);
	free(why);
	harness_reply_free(&r);
	ldns_rdf_deep_free(qname);
	return ok;
}

static void resolver_variant(enum harness_dnssec_variant v)
{
	bool want_ad = v != HARNESS_DNSSEC_UNSIGNED;
	size_t failed = 0, asked = 0;
	for (size_t i = 0; i < N_PCASES; i++) {
		if (pcases[i].signed_only && !want_ad)
			continue;
		asked++;
		failed += !resolver_case(v, &pcases[i], want_ad, stdout);
	}
	if (failed > 0)
		harness_server_dump_log(&unbound, stdout, UNBOUND_LOG_TAIL);
	fflush(stdout);
	ck_assert_msg(failed == 0,
	              "%s (%s) through unbound: %zu of %zu cases wrong (listed above, with "
	              "unbound's log)",
	              made[v].origin, harness_dnssec_variant_str(v), failed, asked);
}

START_TEST(test_resolver_signed)
{
	assert_started();
	resolver_variant(signed_variant(_i));
}
END_TEST

START_TEST(test_resolver_unsigned)
{
	assert_started();
	resolver_variant(HARNESS_DNSSEC_UNSIGNED);
}
END_TEST

static Suite *dnssec_suite(void)
{
	Suite *s = suite_create("dnssec");
	TCase *tc = tcase_create("dnssec");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, servers_start, servers_stop);
	tcase_add_test(tc, test_resolver_unsigned);
	tcase_add_loop_test(tc, test_direct_do0, 0, HARNESS_DNSSEC_VARIANTS);
	tcase_add_loop_test(tc, test_direct_do1, 0, N_SIGNED);
	tcase_add_loop_test(tc, test_resolver_signed, 0, N_SIGNED);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (harness_unbound_path() == NULL) {
		printf(
		    "unbound is not installed: dnssec test skipped (scripts/deps installs it)\n");
		return HARNESS_EXIT_SKIP;
	}
	if (harness_shoal_bin() == NULL) {
		fprintf(stderr, "SHOAL_BIN is not set (run through meson test)\n");
		return EXIT_FAILURE;
	}
	SRunner *sr = srunner_create(dnssec_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
