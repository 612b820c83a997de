/*
 * check_dnssec.c - signed zones served by shoal, checked by a validating
 * resolver (e2e-dnssec) and against Knot serving the same files
 * (e2e-dnssec-knot, with --knot). Issue 18.
 *
 * Setup (once, in an unchecked fixture): the template tests/dnssec/sec.zone
 * is signed afresh under one origin per variant (tests/e2e/dnssec.h):
 *   nsec.test.       NSEC                       (ldns-signzone)
 *   nsec3.test.      NSEC3, 0 iterations, no salt (ldns-signzone -n -t 0)
 *   nsec3salt.test.  NSEC3, salt, 10 iterations  (ldns-signzone -n -t 10 -s)
 *   optout.test.     NSEC3 opt-out               (dnssec-signzone -3 - -H 0 -A)
 *   unsigned.test.   the template as it is, no trust anchor
 * One shoal serves all five. A second shoal serves the unsigned child below
 * each one's insecure delegation (tests/dnssec/insecure.zone as
 * insecure.<origin>): the parent's glue is TEST-NET and answers nobody. One
 * unbound (harness_unbound_start()) resolves them all through stub zones,
 * with the DS of each signed zone's KSK as its trust anchor and a stub zone
 * of its own for each child.
 *
 * Positive cases (every name and type exists in the zone):
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
 *     (RFC 4035 §3.1.1, RFC 4034 §3.1.3), its TTL the RRset's (RFC 4034 §3);
 *   - direct to shoal, DO=0 (EDNS without DO, and no EDNS): no RRSIG in any
 *     section (RFC 4035 §3.1: none unless DO), AA=1, AD=0.
 *
 * Negative and proof cases (ncases[] below): NXDOMAIN at two depths and
 * below an existing name, NODATA at the apex and at a name, the NODATA of
 * an empty non-terminal (also the one above the wildcard), wildcard answers
 * (one and two labels deep, and a name spelled with an asterisk), wildcard
 * NODATA, a CNAME to a name that does not exist and one to a wildcard
 * expansion, the DS question at the insecure delegation, names at and below
 * that cut (referrals), and in the NSEC3 variants every NSEC3 owner name of
 * the signed file and a name below it (NXDOMAIN: RFC 5155 §7.2.8).
 *   - through unbound: the expected rcode (never SERVFAIL) with AD=1, but
 *     AD=0 where the zone is insecure by design: below the insecure cut
 *     (answered by the child), and in the opt-out zone wherever the proof
 *     rests on an opt-out NSEC3 (NXDOMAIN, wildcard answers, the cut's DS);
 *     the unsigned zone the same rcodes with AD=0;
 *   - direct to shoal, DO=1: the rcode; AA=1 (AA=0 for a referral), AD=0,
 *     no TC; in the authority section only the SOA (negative answers: once,
 *     with its RRSIG, both at the negative TTL), the cut's NS (referrals:
 *     unsigned, no DS) and the zone's kind of denial record (NSEC in the
 *     NSEC zone, NSEC3 in the NSEC3 zones; at least one), every RRset with
 *     its RRSIG as above; no record twice in answer and authority; a
 *     wildcard expansion's RRSIG with fewer labels than its owner, verified
 *     with ldns against the zone's DNSKEY.
 * Whether each proof is the right one is judged by unbound (it validates
 * them) and by the comparison with Knot (the same records); shoal's own
 * proof code is never the judge.
 *
 * A failing case prints the reply; a failing resolver case also prints the
 * tail of unbound's log, where val-log-level 2 says why it did not validate.
 *
 * Exits 77 (skipped) when unbound (or, with --knot, knotd) is not installed
 * (scripts/deps installs both).
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

static struct harness_server shoal, child, unbound, knot;
static struct harness_dnssec_zone made[HARNESS_DNSSEC_VARIANTS];
/* The unsigned child zones below each variant's insecure delegation. */
static struct harness_dnssec_zone child_made[HARNESS_DNSSEC_VARIANTS];
/* The NSEC3 owner names of each signed file (NULL-terminated; none in the
 * NSEC and unsigned zones), for RFC 5155 §7.2.8. */
static char **nsec3_owners[HARNESS_DNSSEC_VARIANTS];
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

/* Neither shoal takes the default control socket: other tests' servers may
 * be running, and these need no control channel. */
static const char *const shoal_args[] = {"--control", "none", NULL};

/* Sign the template under every variant's origin into shoal.zonedir and
 * read the NSEC3 owner names of the signed files. \return ok (else
 * setup_error says why). */
static bool make_zones(void)
{
	char template[PATH_MAX];
	int rc = harness_srcpath(template, sizeof(template), "tests/dnssec/sec.zone");
	if (rc < 0) {
		set_error("SHOAL_SRCDIR: %s", strerror(-rc));
		return false;
	}
	if ((rc = harness_tmpdir(workdir, sizeof(workdir), "dnssec")) < 0 ||
	    (rc = harness_shoal_prepare(&shoal)) < 0) {
		set_error("temporary directories: %s", strerror(-rc));
		return false;
	}
	double t0 = harness_now_ms();
	for (int v = 0; v < HARNESS_DNSSEC_VARIANTS; v++) {
		const char *missing = harness_dnssec_missing_tool(v);
		if (missing != NULL) {
			set_error("%s is not installed (run scripts/deps)", missing);
			return false;
		}
		rc = harness_dnssec_make(template, zone_defs[v].origin, v, workdir, shoal.zonedir,
		                         &made[v]);
		if (rc < 0) {
			set_error("cannot sign %s as %s (%s): %s (the signer's output is above)",
			          template, zone_defs[v].origin, harness_dnssec_variant_str(v),
			          strerror(-rc));
			return false;
		}
		rc = harness_dnssec_nsec3_owners(made[v].zonefile, made[v].origin,
		                                 &nsec3_owners[v]);
		bool nsec3 = v != HARNESS_DNSSEC_UNSIGNED && v != HARNESS_DNSSEC_NSEC;
		if (rc < 0 || (rc > 0) != nsec3) {
			set_error("%s: %d NSEC3 owner names read (%s)", made[v].zonefile, rc,
			          rc < 0 ? strerror(-rc) : "want some in the NSEC3 variants only");
			return false;
		}
	}
	printf("dnssec: 5 zones made in %.0f ms (keys KSK/ZSK:", harness_now_ms() - t0);
	for (int v = 1; v < HARNESS_DNSSEC_VARIANTS; v++)
		printf(" %s %u/%u", made[v].origin, made[v].ksk_tag, made[v].zsk_tag);
	printf(")\n");
	return true;
}

/* Start shoal on the zones make_zones() wrote. Loaded with DO=0 probes (SOA
 * of every zone): shoal serves them whatever it does with DO=1. */
static bool shoal_start(void)
{
	struct harness_shoal_opts o = {.args = shoal_args};
	int rc = harness_shoal_launch(&shoal, &o);
	if (rc < 0)
		set_error("shoal did not start: %s", harness_start_strerror(rc, &shoal));
	return rc == 0;
}

/* The second shoal: the unsigned child zone below each variant's insecure
 * delegation (tests/dnssec/insecure.zone as insecure.<origin>), which the
 * parent's glue (192.0.2.53) cannot serve. */
static bool child_start(void)
{
	char template[PATH_MAX];
	int rc = harness_srcpath(template, sizeof(template), "tests/dnssec/insecure.zone");
	if (rc == 0)
		rc = harness_shoal_prepare(&child);
	if (rc < 0) {
		set_error("the child zone's shoal: %s", strerror(-rc));
		return false;
	}
	for (int v = 0; v < HARNESS_DNSSEC_VARIANTS; v++) {
		char origin[HARNESS_DNAME_TEXT_MAX];
		if (snprintf(origin, sizeof(origin), "insecure.%s", made[v].origin) >=
		    (int)sizeof(origin)) {
			set_error("%s: the child's name is too long", made[v].origin);
			return false;
		}
		rc = harness_dnssec_make(template, origin, HARNESS_DNSSEC_UNSIGNED, workdir,
		                         child.zonedir, &child_made[v]);
		if (rc < 0) {
			set_error("cannot make %s as %s: %s", template, origin, strerror(-rc));
			return false;
		}
	}
	struct harness_shoal_opts o = {.args = shoal_args};
	rc = harness_shoal_launch(&child, &o);
	if (rc < 0)
		set_error("the child zone's shoal did not start: %s",
		          harness_start_strerror(rc, &child));
	return rc == 0;
}

static void servers_start(void)
{
	if (!make_zones() || !shoal_start() || !child_start())
		return;
	/* Every variant's zone at shoal (with its trust anchor when signed),
	 * and its insecure child at the second shoal: a stub zone of its own,
	 * so that unbound asks there instead of following the parent's
	 * referral to 192.0.2.53, and proves the child insecure by the
	 * parent's denial of its DS. */
	struct harness_unbound_zone uz[2 * HARNESS_DNSSEC_VARIANTS];
	for (int v = 0; v < HARNESS_DNSSEC_VARIANTS; v++) {
		uz[v] = (struct harness_unbound_zone){
		    .origin = made[v].origin,
		    .port = shoal.port,
		    .anchor = made[v].anchor[0] != '\0' ? made[v].anchor : NULL,
		};
		uz[HARNESS_DNSSEC_VARIANTS + v] = (struct harness_unbound_zone){
		    .origin = child_made[v].origin, .port = child.port, .anchor = NULL};
	}
	/* The probe is the unsigned zone: a signed one answers SERVFAIL for as
	 * long as shoal sends no RRSIGs, and that is for the tests to say. */
	int rc = harness_unbound_start(&unbound, uz, 2 * HARNESS_DNSSEC_VARIANTS,
	                               zone_defs[HARNESS_DNSSEC_UNSIGNED].origin);
	if (rc < 0) {
		set_error("unbound did not start: %s",
		          rc == -ETIMEDOUT ? "unsigned.test. SOA never answered NOERROR"
		                           : harness_start_strerror(rc, &unbound));
		return;
	}
	printf("dnssec: shoal on 127.0.0.1@%u (the insecure children on @%u), unbound on "
	       "127.0.0.1@%u\n",
	       shoal.port, child.port, unbound.port);
	fflush(stdout);
}

static void servers_stop(void)
{
	harness_server_cleanup(&unbound);
	harness_server_cleanup(&child);
	harness_server_cleanup(&shoal);
	harness_server_cleanup(&knot);
	for (int v = 0; v < HARNESS_DNSSEC_VARIANTS; v++) {
		harness_strv_free(nsec3_owners[v]);
		nsec3_owners[v] = NULL;
	}
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

/* Whether the list has an RR of type t (any owner). */
static bool has_type(const ldns_rr_list *l, ldns_rr_type t)
{
	for (size_t i = 0; l != NULL && i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == t)
			return true;
	return false;
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

/* Whether the owner's first label is "*" (RFC 4592 §2.1.1). */
static bool is_wild_owner(const ldns_rdf *name)
{
	const uint8_t *d = ldns_rdf_data(name);
	return ldns_rdf_size(name) >= 2 && d[0] == 1 && d[1] == '*';
}

/* RFC 4034 §3.1.3: an RRSIG's labels field counts the owner's labels
 * without the root and without a leading "*". */
static unsigned sig_labels(const ldns_rdf *owner)
{
	unsigned n = ldns_dname_label_count(owner);
	return is_wild_owner(owner) && n > 0 ? n - 1 : n;
}

/* Print "owner TYPE" of rr to f. */
static void put_rr_id(FILE *f, const ldns_rr *rr, ldns_rr_type t)
{
	char *owner = ldns_rdf2str(ldns_rr_owner(rr));
	char *type = ldns_rr_type2str(t);
	fprintf(f, "%s %s", owner ? owner : "?", type ? type : "?");
	free(owner);
	free(type);
}

/*
 * RFC 4035 §3.1.1: every RRset of section (answer or authority) comes with
 * an RRSIG at its owner covering its type, made by the zone's key (signer
 * = the apex), its labels field the owner's label count (RFC 4034 §3.1.3,
 * the root label and a leading "*" not counted), its TTL the TTL of the
 * RRset it covers (RFC 4034 §3: "MUST match", the exception to RFC 2181
 * §5.2 that lets RRSIGs at one owner differ in TTL); and no RRSIG covers
 * an RRset that is not in the section.
 * expansion: the owner of a wildcard expansion (RFC 4035 §3.1.3.3), whose
 * RRSIGs carry fewer labels than it has, or NULL. cut: a delegation point
 * whose NS RRset goes out unsigned (RFC 4035 §2.2: the parent does not sign
 * it), or NULL.
 * Writes one line per missing or wrong RRSIG to diff. \return ok.
 */
static bool every_rrset_signed(const char *label, const ldns_rr_list *section, const ldns_rdf *apex,
                               const ldns_rdf *expansion, const ldns_rdf *cut, FILE *diff)
{
	bool ok = true;
	size_t n = section ? ldns_rr_list_rr_count(section) : 0;
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(section, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		const ldns_rdf *owner = ldns_rr_owner(rr);
		if (t == LDNS_RR_TYPE_RRSIG) {
			/* A signature for a set that is not here. */
			bool covered = false;
			for (size_t j = 0; j < n && !covered; j++) {
				const ldns_rr *o = ldns_rr_list_rr(section, j);
				covered = ldns_rr_get_type(o) == rrsig_covers(rr) &&
				          ldns_dname_compare(ldns_rr_owner(o), owner) == 0;
			}
			if (!covered) {
				fprintf(diff, "  %s: an RRSIG covering ", label);
				put_rr_id(diff, rr, rrsig_covers(rr));
				fprintf(diff, " without that RRset in the section\n");
				ok = false;
			}
			continue;
		}
		/* Once per RRset: skip an RR whose RRset was seen earlier. */
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++) {
			const ldns_rr *o = ldns_rr_list_rr(section, j);
			seen = ldns_rr_get_type(o) == t &&
			       ldns_dname_compare(ldns_rr_owner(o), owner) == 0;
		}
		if (seen)
			continue;
		bool unsigned_ns = cut != NULL && t == LDNS_RR_TYPE_NS &&
		                   ldns_dname_compare(owner, cut) == 0;
		bool expanded = expansion != NULL && ldns_dname_compare(owner, expansion) == 0;
		size_t sigs = 0;
		for (size_t j = 0; j < n; j++) {
			const ldns_rr *s = ldns_rr_list_rr(section, j);
			if (ldns_rr_get_type(s) != LDNS_RR_TYPE_RRSIG || rrsig_covers(s) != t ||
			    ldns_dname_compare(ldns_rr_owner(s), owner) != 0)
				continue;
			sigs++;
			if (ldns_dname_compare(ldns_rr_rrsig_signame(s), apex) != 0) {
				char *sn = ldns_rdf2str(ldns_rr_rrsig_signame(s));
				fprintf(diff, "  %s: an RRSIG signed by %s, not the zone's apex\n",
				        label, sn ? sn : "?");
				free(sn);
				ok = false;
			}
			unsigned labels = ldns_rdf2native_int8(ldns_rr_rrsig_labels(s));
			if (expanded ? labels >= sig_labels(owner) : labels != sig_labels(owner)) {
				fprintf(diff, "  %s: RRSIG labels %u for ", label, labels);
				put_rr_id(diff, rr, t);
				fprintf(diff, ", an owner of %u labels%s\n", sig_labels(owner),
				        expanded ? " made from a wildcard (want fewer)" : "");
				ok = false;
			}
			if (ldns_rr_ttl(s) != ldns_rr_ttl(rr)) {
				fprintf(diff, "  %s: RRSIG TTL %u for ", label, ldns_rr_ttl(s));
				put_rr_id(diff, rr, t);
				fprintf(diff, " of TTL %u (RFC 4034 §3: they must match)\n",
				        ldns_rr_ttl(rr));
				ok = false;
			}
		}
		if (unsigned_ns && sigs > 0) {
			fprintf(diff, "  %s: the NS RRset at the cut is signed (RFC 4035 §2.2: "
			              "the parent does not sign it)\n",
			        label);
			ok = false;
		} else if (!unsigned_ns && sigs == 0) {
			fprintf(diff, "  %s: ", label);
			put_rr_id(diff, rr, t);
			fprintf(diff, " has no RRSIG covering it at its owner\n");
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
			ok &= every_rrset_signed("answer", ldns_pkt_answer(p), apex, NULL, NULL,
			                         diff);
			ok &= every_rrset_signed("authority", ldns_pkt_authority(p), apex, NULL,
			                         NULL, diff);
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

/* ---- denial of existence and proofs ----------------------------------------- */

/* The negative TTL of the template: min(SOA TTL 3600, MINIMUM 300), RFC 2308
 * §3 (and RFC 4035 §3.1.3: the SOA's RRSIG goes out with it at that TTL). */
#define NEG_TTL 300

/* What shoal's own answer (direct, DO=1) must look like. */
enum nshape {
	SHAPE_NEG,      /* NXDOMAIN or NODATA: the SOA and its RRSIG at NEG_TTL and
	                   the denial records, each with its RRSIG */
	SHAPE_WILD,     /* a wildcard expansion: the RRset at the name, its RRSIG
	                   with fewer labels than the name, and the proof that
	                   no closer name exists; no SOA */
	SHAPE_REFERRAL, /* an insecure referral: AA=0, the cut's NS unsigned, no
	                   DS and the proof that there is none (RFC 4035
	                   §3.1.4.1, RFC 5155 §7.2.7); no SOA */
};

/* What AD a validator sets, by variant (never SERVFAIL in any). */
enum ad_rule {
	AD_SECURE,       /* AD=1 in every signed variant */
	AD_OPTOUT,       /* AD=1, but AD=0 in the opt-out variant: the proof
	                    holds a closest (provable) encloser proof whose NSEC3
	                    covering the next closer name has the opt-out flag
	                    (an unsigned delegation may hide in its span), and
	                    RFC 5155 §9.2 forbids AD then: NXDOMAIN, wildcard
	                    answers and wildcard NODATA, the DS of the cut */
	AD_INSECURE,     /* AD=0 everywhere: below the insecure delegation */
	AD_NOT_RESOLVED, /* asked directly only */
};

/* A negative or proof case; "name" is relative to the origin ("@" = apex). */
struct ncase {
	const char *name;
	ldns_rr_type type;
	enum nshape shape;
	unsigned rcode;      /* direct to shoal */
	unsigned via_rcode;  /* through unbound (the child answers below the cut) */
	bool via_data;       /* through unbound: an RR of the type in the answer */
	enum ad_rule ad;
	const char *cname;   /* the CNAME's target at name (relative), or NULL */
	const char *what;
};

#define NOERR LDNS_RCODE_NOERROR
#define NXDOM LDNS_RCODE_NXDOMAIN

static const struct ncase ncases[] = {
    {"nx1", LDNS_RR_TYPE_A, SHAPE_NEG, NXDOM, NXDOM, false, AD_OPTOUT, NULL,
     "NXDOMAIN below the apex (RFC 4035 §3.1.3.2, RFC 5155 §7.2.2)"},
    {"a.b.nx2", LDNS_RR_TYPE_A, SHAPE_NEG, NXDOM, NXDOM, false, AD_OPTOUT, NULL,
     "NXDOMAIN three labels below the apex: the next closer name is not the qname"},
    {"nx.www", LDNS_RR_TYPE_TXT, SHAPE_NEG, NXDOM, NXDOM, false, AD_OPTOUT, NULL,
     "NXDOMAIN below an existing name: the closest encloser is www"},
    {"@", LDNS_RR_TYPE_A, SHAPE_NEG, NOERR, NOERR, false, AD_SECURE, NULL,
     "NODATA at the apex (RFC 4035 §3.1.3.1, RFC 5155 §7.2.3)"},
    {"www", LDNS_RR_TYPE_MX, SHAPE_NEG, NOERR, NOERR, false, AD_SECURE, NULL,
     "NODATA at an existing name"},
    {"ent", LDNS_RR_TYPE_A, SHAPE_NEG, NOERR, NOERR, false, AD_SECURE, NULL,
     "NODATA at an empty non-terminal"},
    {"w", LDNS_RR_TYPE_TXT, SHAPE_NEG, NOERR, NOERR, false, AD_SECURE, NULL,
     "NODATA at the empty non-terminal above the wildcard (not synthesised: RFC 4592 "
     "§2.2.2)"},
    {"x.w", LDNS_RR_TYPE_A, SHAPE_WILD, NOERR, NOERR, true, AD_OPTOUT, NULL,
     "wildcard answer (RFC 4035 §3.1.3.3, RFC 5155 §7.2.6)"},
    {"a.b.w", LDNS_RR_TYPE_TXT, SHAPE_WILD, NOERR, NOERR, true, AD_OPTOUT, NULL,
     "wildcard answer two labels below the wildcard's parent"},
    /* Not through unbound: 1.17's insert_can_owner() (validator/
     * val_sigcrypt.c) counts the owner's labels without its leading "*"
     * but then strips labels from the name with it, so it rebuilds the
     * signed name as *.x.w instead of *.w (RFC 4035 §5.3.2) and calls any
     * such expansion bogus, whoever serves it. The signature is checked
     * here with ldns instead (direct_ncase: verify_expansion()). */
    {"*.x.w", LDNS_RR_TYPE_A, SHAPE_WILD, NOERR, NOERR, true, AD_NOT_RESOLVED, NULL,
     "a name spelled with an asterisk that *.w stands for (RFC 4592 §2.1.1: only the "
     "owner *.w is a wildcard)"},
    {"x.w", LDNS_RR_TYPE_AAAA, SHAPE_NEG, NOERR, NOERR, false, AD_OPTOUT, NULL,
     "wildcard NODATA (RFC 4035 §3.1.3.4, RFC 5155 §7.2.5)"},
    {"dangling", LDNS_RR_TYPE_A, SHAPE_NEG, NXDOM, NXDOM, false, AD_OPTOUT, "nothere",
     "CNAME to a name that does not exist (RFC 6604 §3: NXDOMAIN)"},
    {"towild", LDNS_RR_TYPE_A, SHAPE_WILD, NOERR, NOERR, true, AD_OPTOUT, "x.w",
     "CNAME to a wildcard expansion"},
    {"insecure", LDNS_RR_TYPE_DS, SHAPE_NEG, NOERR, NOERR, false, AD_OPTOUT, NULL,
     "DS at an insecure delegation: NODATA from the parent side (RFC 5155 §7.2.4)"},
    {"insecure", LDNS_RR_TYPE_A, SHAPE_REFERRAL, NOERR, NOERR, false, AD_INSECURE, NULL,
     "at the insecure cut: a referral (unbound: the child's apex, NODATA)"},
    {"host.insecure", LDNS_RR_TYPE_A, SHAPE_REFERRAL, NOERR, NOERR, true, AD_INSECURE, NULL,
     "below the insecure cut: a referral (unbound: the child's data)"},
    {"nx.insecure", LDNS_RR_TYPE_A, SHAPE_REFERRAL, NOERR, NXDOM, false, AD_INSECURE, NULL,
     "below the insecure cut: a referral (unbound: the child's NXDOMAIN)"},
    {"ns.insecure", LDNS_RR_TYPE_A, SHAPE_REFERRAL, NOERR, NOERR, true, AD_INSECURE, NULL,
     "the glue's own name: a referral, not the glue as an answer (RFC 1034 §4.3.2)"},
};
#define N_NCASES (sizeof(ncases) / sizeof(ncases[0]))

/* The denial record type of a signed variant. */
static ldns_rr_type denial_type(enum harness_dnssec_variant v)
{
	return v == HARNESS_DNSSEC_NSEC ? LDNS_RR_TYPE_NSEC : LDNS_RR_TYPE_NSEC3;
}

/* No record twice in the answer and authority sections together (the same
 * owner, type and RDATA; RFC 2181 §5: an RRset has no duplicates, and a
 * proof record serving two purposes goes out once). */
static bool no_record_twice(const ldns_pkt *p, FILE *diff)
{
	ldns_rr_list *all = ldns_rr_list_new();
	bool ok = true;
	if (all == NULL)
		return false;
	const ldns_rr_list *secs[] = {ldns_pkt_answer(p), ldns_pkt_authority(p)};
	for (size_t s = 0; s < 2; s++)
		for (size_t i = 0; secs[s] != NULL && i < ldns_rr_list_rr_count(secs[s]); i++)
			ldns_rr_list_push_rr(all, ldns_rr_list_rr(secs[s], i));
	size_t n = ldns_rr_list_rr_count(all);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++) {
			const ldns_rr *a = ldns_rr_list_rr(all, i), *b = ldns_rr_list_rr(all, j);
			if (ldns_rr_compare(a, b) == 0) {
				char *t = ldns_rr2str(a);
				fprintf(diff, "  twice: %s", t ? t : "?\n");
				free(t);
				ok = false;
			}
		}
	ldns_rr_list_free(all); /* the list only, not the RRs */
	return ok;
}

/*
 * The authority section of a negative answer, a wildcard answer or an
 * insecure referral in variant v: nothing but the SOA (SHAPE_NEG: one, at
 * the apex, TTL NEG_TTL), the cut's NS (SHAPE_REFERRAL), the variant's
 * denial records (NSEC in the NSEC zone, NSEC3 in the NSEC3 zones: never
 * the other kind, never a DS) and their RRSIGs; at least one denial record.
 */
static bool authority_ok(enum harness_dnssec_variant v, enum nshape shape, const ldns_pkt *p,
                         const ldns_rdf *apex, const ldns_rdf *cut, FILE *diff)
{
	const ldns_rr_list *au = ldns_pkt_authority(p);
	ldns_rr_type want = denial_type(v);
	size_t soa = 0, ns = 0, proofs = 0;
	bool ok = true;
	for (size_t i = 0; au != NULL && i < ldns_rr_list_rr_count(au); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(au, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		if (t == LDNS_RR_TYPE_RRSIG)
			continue; /* every_rrset_signed() judges them */
		if (t == want) {
			proofs++;
			continue;
		}
		if (t == LDNS_RR_TYPE_SOA && shape == SHAPE_NEG && owner_is(rr, apex)) {
			soa++;
			if (ldns_rr_ttl(rr) != NEG_TTL) {
				fprintf(diff, "  authority: SOA TTL %u, want %u (RFC 2308 §3)\n",
				        ldns_rr_ttl(rr), NEG_TTL);
				ok = false;
			}
			continue;
		}
		if (t == LDNS_RR_TYPE_NS && shape == SHAPE_REFERRAL && owner_is(rr, cut)) {
			ns++;
			continue;
		}
		fprintf(diff, "  authority: ");
		put_rr_id(diff, rr, t);
		fprintf(diff, " does not belong in this answer (%s zone)\n",
		        harness_dnssec_variant_str(v));
		ok = false;
	}
	if (shape == SHAPE_NEG && soa != 1) {
		fprintf(diff, "  authority: %zu SOA records, want the apex SOA once\n", soa);
		ok = false;
	}
	if (shape == SHAPE_REFERRAL && ns == 0) {
		fprintf(diff, "  authority: no NS RRset at the cut\n");
		ok = false;
	}
	if (proofs == 0) {
		char *t = ldns_rr_type2str(want);
		fprintf(diff, "  authority: no %s record: no proof\n", t ? t : "?");
		free(t);
		ok = false;
	}
	return ok;
}

/*
 * The answer section: for a CNAME case the CNAME at the qname; for a
 * wildcard answer the RRset of the type at the chain's last name; nothing
 * else but their RRSIGs. *last receives the chain's last name (qname or
 * the CNAME's target; ldns_rdf_deep_free() it).
 */
static bool answer_ok(const struct ncase *c, const ldns_pkt *p, const char *origin,
                      const ldns_rdf *qname, ldns_rdf **last, FILE *diff)
{
	const ldns_rr_list *an = ldns_pkt_answer(p);
	bool ok = true;
	*last = ldns_rdf_clone(qname);
	if (c->cname != NULL) {
		char tbuf[HARNESS_DNAME_TEXT_MAX];
		abs_name(tbuf, sizeof(tbuf), c->cname, origin);
		ldns_rdf_deep_free(*last);
		*last = ldns_dname_new_frm_str(tbuf);
		if (count_rrs(an, qname, LDNS_RR_TYPE_CNAME) != 1) {
			fprintf(diff, "  answer: want the CNAME at the qname\n");
			ok = false;
		}
	}
	if (*last == NULL)
		return false;
	if (c->shape == SHAPE_WILD && count_rrs(an, *last, c->type) == 0) {
		fprintf(diff, "  answer: no RRset of the asked type synthesised at the name\n");
		ok = false;
	}
	for (size_t i = 0; an != NULL && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		if (t == LDNS_RR_TYPE_RRSIG)
			t = rrsig_covers(rr);
		bool cname = c->cname != NULL && t == LDNS_RR_TYPE_CNAME && owner_is(rr, qname);
		bool data = c->shape == SHAPE_WILD && t == c->type && owner_is(rr, *last);
		if (!cname && !data) {
			fprintf(diff, "  answer: ");
			put_rr_id(diff, rr, ldns_rr_get_type(rr));
			fprintf(diff, " does not belong in this answer\n");
			ok = false;
		}
	}
	return ok;
}

/*
 * A wildcard expansion's signature verifies with the zone's DNSKEY RRset
 * (asked of shoal), the signed owner rebuilt from the RRSIG's labels field
 * as RFC 4035 §5.3.2 says (ldns_verify_rrsig_keylist() does that), for the
 * RRset of type at last in p's answer.
 */
static bool verify_expansion(const ldns_pkt *p, const ldns_rdf *apex, const ldns_rdf *last,
                             ldns_rr_type type, FILE *diff)
{
	char *apex_text = ldns_rdf2str(apex);
	struct harness_query q = {.qname = apex_text, .qtype = LDNS_RR_TYPE_DNSKEY, .edns = true};
	struct harness_reply kr = {0};
	ldns_rr_list *keys = NULL, *rrset = ldns_rr_list_new(), *good = ldns_rr_list_new();
	bool ok = apex_text != NULL && rrset != NULL && good != NULL &&
	          ask(shoal.port, &q, 0, &kr, diff);
	if (ok)
		keys = ldns_pkt_rr_list_by_type(kr.pkt, LDNS_RR_TYPE_DNSKEY, LDNS_SECTION_ANSWER);
	if (keys == NULL) {
		fprintf(diff, "  no DNSKEY RRset from shoal to verify the expansion with\n");
		ok = false;
	}
	const ldns_rr_list *an = ldns_pkt_answer(p);
	size_t verified = 0;
	for (size_t i = 0; ok && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) == type && owner_is(rr, last))
			ldns_rr_list_push_rr(rrset, rr);
	}
	for (size_t i = 0; ok && i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *s = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(s) != LDNS_RR_TYPE_RRSIG || rrsig_covers(s) != type ||
		    !owner_is(s, last))
			continue;
		ldns_status st = ldns_verify_rrsig_keylist(rrset, s, keys, good);
		if (st == LDNS_STATUS_OK) {
			verified++;
		} else {
			fprintf(diff, "  answer: the expansion's RRSIG does not verify: %s\n",
			        ldns_get_errorstr_by_id(st));
			ok = false;
		}
	}
	if (ok && verified == 0) {
		fprintf(diff, "  answer: no RRSIG of the expansion to verify\n");
		ok = false;
	}
	ldns_rr_list_deep_free(keys);
	ldns_rr_list_free(rrset); /* the lists only: the RRs are p's */
	ldns_rr_list_free(good);
	harness_reply_free(&kr);
	free(apex_text);
	return ok;
}

/* One negative or proof case, qname given absolute, to shoal itself with
 * DO=1; failures go to out. \return ok. */
static bool direct_ncase(enum harness_dnssec_variant v, const struct ncase *c, const char *qbuf,
                         FILE *out)
{
	const char *origin = made[v].origin;
	struct harness_query q = {.qname = qbuf,
	                          .qtype = c->type,
	                          .edns = true,
	                          .do_bit = true,
	                          .transport = HARNESS_UDP};
	struct harness_reply r = {0};
	char *why = NULL;
	size_t why_len = 0;
	FILE *diff = open_memstream(&why, &why_len);
	ck_assert(diff != NULL);
	char cbuf[HARNESS_DNAME_TEXT_MAX];
	abs_name(cbuf, sizeof(cbuf), "insecure", origin);
	ldns_rdf *qname = ldns_dname_new_frm_str(qbuf);
	ldns_rdf *apex = ldns_dname_new_frm_str(origin);
	ldns_rdf *cut = ldns_dname_new_frm_str(cbuf);
	ldns_rdf *last = NULL;
	ck_assert(qname != NULL && apex != NULL && cut != NULL);
	bool ok = ask(shoal.port, &q, 0, &r, diff);
	if (ok) {
		const ldns_pkt *p = r.pkt;
		bool referral = c->shape == SHAPE_REFERRAL;
		if (ldns_pkt_get_rcode(p) != c->rcode) {
			/* Two lines: harness_rcode_str() may share its buffer. */
			fprintf(diff, "  rcode %s, ", harness_rcode_str(ldns_pkt_get_rcode(p)));
			fprintf(diff, "want %s (%s)\n", harness_rcode_str(c->rcode), c->what);
			ok = false;
		}
		if (ldns_pkt_aa(p) == referral) {
			fprintf(diff, "  AA=%d, want AA=%d\n", ldns_pkt_aa(p), !referral);
			ok = false;
		}
		if (ldns_pkt_ad(p)) {
			fprintf(diff, "  AD=1, want AD=0 (RFC 4035 §3.1.6)\n");
			ok = false;
		}
		if (ldns_pkt_tc(p)) {
			fprintf(diff, "  TC=1: the proof must fit in %u octets\n",
			        HARNESS_EDNS_SIZE);
			ok = false;
		}
		if (!ldns_pkt_edns_do(p)) {
			fprintf(diff, "  DO not echoed in the OPT record (RFC 3225 §3)\n");
			ok = false;
		}
		ok &= answer_ok(c, p, origin, qname, &last, diff);
		ok &= authority_ok(v, c->shape, p, apex, cut, diff);
		ok &= every_rrset_signed("answer", ldns_pkt_answer(p), apex,
		                         c->shape == SHAPE_WILD ? last : NULL, NULL, diff);
		ok &= every_rrset_signed("authority", ldns_pkt_authority(p), apex, NULL,
		                         referral ? cut : NULL, diff);
		ok &= no_record_twice(p, diff);
		if (c->shape == SHAPE_WILD && last != NULL)
			ok &= verify_expansion(p, apex, last, c->type, diff);
	}
	fclose(diff);
	if (!ok)
		report_case(out, &q, &r, why);
	free(why);
	harness_reply_free(&r);
	ldns_rdf_deep_free(qname);
	ldns_rdf_deep_free(apex);
	ldns_rdf_deep_free(cut);
	if (last != NULL)
		ldns_rdf_deep_free(last);
	return ok;
}

/* RFC 5155 §7.2.8: a query for an NSEC3 owner name, or a name below one, is
 * answered as if the name did not exist. */
static const struct ncase nsec3_owner_case = {
    NULL, LDNS_RR_TYPE_A, SHAPE_NEG, NXDOM, NXDOM, false, AD_OPTOUT, NULL,
    "an NSEC3 owner name is answered as if it did not exist (RFC 5155 §7.2.8)"};
static const struct ncase nsec3_below_case = {
    NULL, LDNS_RR_TYPE_TXT, SHAPE_NEG, NXDOM, NXDOM, false, AD_OPTOUT, NULL,
    "a name below an NSEC3 owner name does not exist either (RFC 5155 §7.2.8)"};

START_TEST(test_direct_denial)
{
	assert_started();
	enum harness_dnssec_variant v = signed_variant(_i);
	size_t failed = 0, asked = 0;
	char qbuf[HARNESS_DNAME_TEXT_MAX];
	for (size_t i = 0; i < N_NCASES; i++) {
		abs_name(qbuf, sizeof(qbuf), ncases[i].name, made[v].origin);
		asked++;
		failed += !direct_ncase(v, &ncases[i], qbuf, stdout);
	}
	for (char **o = nsec3_owners[v]; o != NULL && *o != NULL; o++) {
		asked += 2;
		failed += !direct_ncase(v, &nsec3_owner_case, *o, stdout);
		snprintf(qbuf, sizeof(qbuf), "x.%s", *o);
		failed += !direct_ncase(v, &nsec3_below_case, qbuf, stdout);
	}
	fflush(stdout);
	ck_assert_msg(failed == 0,
	              "%s (%s): %zu of %zu negative and proof cases wrong, DO=1 (listed above)",
	              made[v].origin, harness_dnssec_variant_str(v), failed, asked);
}
END_TEST

/* The AD bit unbound must set for case c in variant v. */
static bool want_ad(enum harness_dnssec_variant v, const struct ncase *c)
{
	switch (c->ad) {
	case AD_SECURE:
		return v != HARNESS_DNSSEC_UNSIGNED;
	case AD_OPTOUT:
		return v != HARNESS_DNSSEC_UNSIGNED && v != HARNESS_DNSSEC_NSEC3_OPTOUT;
	default:
		return false;
	}
}

/* One negative or proof case through the resolver: the expected rcode
 * (never SERVFAIL), AD as want_ad() says, the data when there is some. */
static bool resolver_ncase(enum harness_dnssec_variant v, const struct ncase *c,
                           const char *qbuf, FILE *out)
{
	bool ad = want_ad(v, c);
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
	bool ok = ask(unbound.port, &q, RESOLVER_QUERY_TIMEOUT_MS, &r, diff);
	if (ok) {
		unsigned rcode = ldns_pkt_get_rcode(r.pkt);
		if (rcode != c->via_rcode) {
			fprintf(diff, "  rcode %s, ", harness_rcode_str(rcode));
			fprintf(diff, "want %s (%s)%s\n", harness_rcode_str(c->via_rcode), c->what,
			        rcode == LDNS_RCODE_SERVFAIL
			            ? "; SERVFAIL from a validator: the answer or its proof is "
			              "bogus, see unbound's log below"
			            : "");
			ok = false;
		}
		if (ldns_pkt_ad(r.pkt) != ad) {
			fprintf(diff, "  AD=%d, want AD=%d (%s)\n", ldns_pkt_ad(r.pkt), ad,
			        v == HARNESS_DNSSEC_UNSIGNED ? "no trust anchor: insecure"
			        : ad                         ? "the proof validates"
			        : c->ad == AD_INSECURE ? "below an insecure delegation: insecure"
			                               : "an opt-out span: insecure");
			ok = false;
		}
		if (c->via_data && rcode == LDNS_RCODE_NOERROR &&
		    !has_type(ldns_pkt_answer(r.pkt), c->type)) {
			fprintf(diff, "  answer: no RR of the asked type\n");
			ok = false;
		}
	}
	fclose(diff);
	if (!ok)
		report_case(out, &q, &r, why);
	free(why);
	harness_reply_free(&r);
	return ok;
}

static void resolver_denial(enum harness_dnssec_variant v)
{
	size_t failed = 0, asked = 0;
	char qbuf[HARNESS_DNAME_TEXT_MAX];
	for (size_t i = 0; i < N_NCASES; i++) {
		if (ncases[i].ad == AD_NOT_RESOLVED)
			continue;
		abs_name(qbuf, sizeof(qbuf), ncases[i].name, made[v].origin);
		asked++;
		failed += !resolver_ncase(v, &ncases[i], qbuf, stdout);
	}
	for (char **o = nsec3_owners[v]; o != NULL && *o != NULL; o++) {
		asked += 2;
		failed += !resolver_ncase(v, &nsec3_owner_case, *o, stdout);
		snprintf(qbuf, sizeof(qbuf), "x.%s", *o);
		failed += !resolver_ncase(v, &nsec3_below_case, qbuf, stdout);
	}
	if (failed > 0)
		harness_server_dump_log(&unbound, stdout, UNBOUND_LOG_TAIL);
	fflush(stdout);
	ck_assert_msg(failed == 0,
	              "%s (%s) through unbound: %zu of %zu negative and proof cases wrong "
	              "(listed above, with unbound's log)",
	              made[v].origin, harness_dnssec_variant_str(v), failed, asked);
}

START_TEST(test_resolver_denial_signed)
{
	assert_started();
	resolver_denial(signed_variant(_i));
}
END_TEST

START_TEST(test_resolver_denial_unsigned)
{
	assert_started();
	resolver_denial(HARNESS_DNSSEC_UNSIGNED);
}
END_TEST

/* ---- against Knot (--knot: e2e-dnssec-knot) ---------------------------------
 *
 * knotd serves the very files shoal serves (harness_knot_start() copies
 * shoal's zone directory): Knot 3.2 signs nothing unless a zone says
 * "dnssec-signing: on", and the harness's template loads the file whole
 * (zonefile-load: whole), keeps no journal of changes (journal-content:
 * none) and never writes the file back (zonefile-sync: -1), so Knot serves
 * the signer's records, RRSIGs included, as they are. Any re-signing would
 * show here as every RRSIG differing.
 *
 * Every query goes to both with DO=1 (EDNS 1232, over UDP unless said),
 * and the replies must agree on rcode, AA, TC and the answer and authority
 * sections as sets of records (owner, type, TTL, RDATA in canonical text).
 * Not compared, because the RFCs leave the choice to the server:
 *  - the order of records, and a record given twice: sections are compared
 *    as sets (RFC 2181 §5: an RRset is a set; RFC 1035 gives no order);
 *    check_dnssec's direct cases require each proof record once;
 *  - the additional section, but for referrals (RFC 1034 §4.3.2 step 6 and
 *    RFC 2181 §9: additional data is optional; RFC 4035 §3.1.1: RRSIGs of
 *    additional RRsets may be left out; Knot adds the addresses of MX and
 *    NS targets, shoal answers minimally). A referral's glue is compared:
 *    RFC 9471 §3 requires in-domain glue;
 *  - the answer to ANY over UDP, when there is data: RFC 8482 §4.1 lets the
 *    server pick one RRset (or a subset); both must give exactly one RRset
 *    at the name with its RRSIGs (§4.1, RFC 4035 §3.1.1). An ANY at a name
 *    without data is an ordinary NODATA or NXDOMAIN and compared as such;
 *  - the sections of a truncated reply (RFC 2181 §9).
 * With one chain per zone there is no other choice to leave: the NSEC or
 * NSEC3 that matches or covers a name is unique, so every proof must agree
 * record for record (RFC 4035 §3.1.3, RFC 5155 §7.2).
 * A known Knot deviation (printed, not counted) is listed at
 * knot_deviation().
 */

/* One query of the comparison. */
struct kq {
	char qname[HARNESS_DNAME_TEXT_MAX];
	struct harness_query q; /* q.qname: set to qname when asked (the list
	                           moves while it grows) */
	const char *why;        /* where it comes from (static) */
};

struct kq_list {
	struct kq *v;
	size_t n;
};

static void kq_add(struct kq_list *l, const char *qname, ldns_rr_type type,
                   enum harness_transport t, const char *why)
{
	struct kq *nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
	ck_assert(nv != NULL);
	l->v = nv;
	struct kq *k = &l->v[l->n++];
	memset(k, 0, sizeof(*k));
	snprintf(k->qname, sizeof(k->qname), "%s", qname);
	k->q = (struct harness_query){.qtype = type,
	                              .edns = true,
	                              .do_bit = true,
	                              .transport = t};
	k->why = why;
}

/* kq_add() for a name relative to origin. */
static void kq_add_rel(struct kq_list *l, const char *name, const char *origin, ldns_rr_type type,
                       enum harness_transport t, const char *why)
{
	char buf[HARNESS_DNAME_TEXT_MAX];
	abs_name(buf, sizeof(buf), name, origin);
	kq_add(l, buf, type, t, why);
}

/* Every owner name of the signed zone file and each of its ancestors up to
 * the origin (the empty non-terminals), lowercased, without duplicates,
 * NULL-terminated (harness_strv_free()). */
static char **zone_names(const struct harness_dnssec_zone *z)
{
	FILE *f = fopen(z->zonefile, "re");
	ck_assert_msg(f != NULL, "%s: %s", z->zonefile, strerror(errno));
	ldns_rdf *orig = ldns_dname_new_frm_str(z->origin);
	ldns_zone *zone = NULL;
	int line = 0;
	ldns_status st = ldns_zone_new_frm_fp_l(&zone, f, orig, 3600, LDNS_RR_CLASS_IN, &line);
	fclose(f);
	ck_assert_msg(st == LDNS_STATUS_OK, "%s:%d: %s", z->zonefile, line,
	              ldns_get_errorstr_by_id(st));
	char **v = calloc(1, sizeof(*v));
	size_t n = 0;
	ck_assert(v != NULL);
	const ldns_rr_list *rrs = ldns_zone_rrs(zone);
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rdf *name = ldns_rdf_clone(ldns_rr_owner(ldns_rr_list_rr(rrs, i)));
		while (name != NULL && ldns_dname_is_subdomain(name, orig)) {
			ldns_dname2canonical(name);
			char *s = ldns_rdf2str(name);
			ck_assert(s != NULL);
			bool dup = false;
			for (size_t k = 0; k < n && !dup; k++)
				dup = strcmp(v[k], s) == 0;
			if (dup) {
				free(s);
			} else {
				char **nv = realloc(v, (n + 2) * sizeof(*nv));
				ck_assert(nv != NULL);
				v = nv;
				v[n++] = s;
				v[n] = NULL;
			}
			ldns_rdf *up = ldns_dname_left_chop(name);
			ldns_rdf_deep_free(name);
			name = up;
		}
		if (name != NULL)
			ldns_rdf_deep_free(name);
	}
	/* The apex (is_subdomain() is false for the name itself; and the SOA
	 * is not among ldns_zone_rrs()). */
	char *apex = ldns_rdf2str(orig);
	char **nv = realloc(v, (n + 2) * sizeof(*nv));
	ck_assert(apex != NULL && nv != NULL);
	v = nv;
	v[n++] = apex;
	v[n] = NULL;
	ldns_zone_deep_free(zone);
	ldns_rdf_deep_free(orig);
	return v;
}

/* The queries for variant v. */
static void knot_queries(enum harness_dnssec_variant v, struct kq_list *l)
{
	static const ldns_rr_type types[] = {
	    LDNS_RR_TYPE_A,     LDNS_RR_TYPE_AAAA,   LDNS_RR_TYPE_TXT,  LDNS_RR_TYPE_MX,
	    LDNS_RR_TYPE_NS,    LDNS_RR_TYPE_SOA,    LDNS_RR_TYPE_CNAME, LDNS_RR_TYPE_DS,
	    LDNS_RR_TYPE_DNSKEY, LDNS_RR_TYPE_NSEC,  LDNS_RR_TYPE_NSEC3, LDNS_RR_TYPE_NSEC3PARAM,
	    LDNS_RR_TYPE_SRV};
	const char *origin = made[v].origin;
	char buf[HARNESS_DNAME_TEXT_MAX];
	/* Every name of the signed file (the NSEC3 owners too, RFC 5155
	 * §7.2.8) and the empty non-terminals, every type; and a name below
	 * each: NXDOMAIN, a referral or a wildcard answer. */
	char **names = zone_names(&made[v]);
	for (char **n = names; *n != NULL; n++) {
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
			kq_add(l, *n, types[t], HARNESS_UDP, "a name of the zone x type");
		snprintf(buf, sizeof(buf), "below-probe.%s", *n);
		kq_add(l, buf, LDNS_RR_TYPE_A, HARNESS_UDP, "a name below a name of the zone");
	}
	harness_strv_free(names);
	/* The cases check_dnssec asks, positive and negative. */
	for (size_t i = 0; i < N_PCASES; i++)
		kq_add_rel(l, pcases[i].name, origin, pcases[i].type, HARNESS_UDP, "positive case");
	for (size_t i = 0; i < N_NCASES; i++)
		kq_add_rel(l, ncases[i].name, origin, ncases[i].type, HARNESS_UDP,
		           "negative or proof case");
	for (char **o = nsec3_owners[v]; o != NULL && *o != NULL; o++) {
		snprintf(buf, sizeof(buf), "x.%s", *o);
		kq_add(l, buf, LDNS_RR_TYPE_TXT, HARNESS_UDP, "below an NSEC3 owner name");
	}
	kq_add_rel(l, "*.x.w", origin, LDNS_RR_TYPE_AAAA, HARNESS_UDP,
	           "an asterisk name, wildcard NODATA");
	kq_add_rel(l, "x.w", origin, LDNS_RR_TYPE_MX, HARNESS_UDP, "wildcard NODATA");
	kq_add_rel(l, "towild", origin, LDNS_RR_TYPE_AAAA, HARNESS_UDP,
	           "CNAME to a wildcard NODATA");
	kq_add_rel(l, "alias", origin, LDNS_RR_TYPE_MX, HARNESS_UDP, "CNAME to a NODATA");
	kq_add_rel(l, "x.secure", origin, LDNS_RR_TYPE_DS, HARNESS_UDP,
	           "DS below a secure cut: referral");
	kq_add_rel(l, "x.insecure", origin, LDNS_RR_TYPE_DS, HARNESS_UDP,
	           "DS below an insecure cut: referral");
	/* ANY over UDP (RFC 8482), where there is data and where there is none. */
	static const char *const any_names[] = {"@",   "www", "x.w",    "alias",  "ent",
	                                        "nx1", "w",   "secure", "insecure"};
	for (size_t i = 0; i < sizeof(any_names) / sizeof(any_names[0]); i++)
		kq_add_rel(l, any_names[i], origin, LDNS_RR_TYPE_ANY, HARNESS_UDP, "ANY over UDP");
	/* Mixed case over TCP: the proofs do not depend on the spelling. */
	static const char *const mixed[] = {"WwW", "X.w", "Nx1", "eNt", "A.b.NX2", "hOsT.InSeCuRe"};
	for (size_t i = 0; i < sizeof(mixed) / sizeof(mixed[0]); i++)
		kq_add_rel(l, mixed[i], origin, LDNS_RR_TYPE_A, HARNESS_TCP, "mixed case, tcp");
	kq_add_rel(l, "InSeCuRe", origin, LDNS_RR_TYPE_DS, HARNESS_TCP, "mixed case, tcp");
}

/*
 * Knot 3.2's known deviations: the authority section of these differs and
 * is printed, not counted (rcode, flags and the other sections are still
 * compared). NULL for any other query.
 *
 * A query name whose first label is "*" but which is not itself an owner
 * (e.g. "*.x.w", which the wildcard *.w stands for: RFC 4592 §2.1.1 makes
 * only an owner's "*" a wildcard) is answered by Knot from the wildcard
 * without the proof that the name itself does not exist: no NSEC covering
 * it or no NSEC3 covering its next closer name (RFC 4035 §3.1.3.3, RFC
 * 5155 §7.2.6), and for a NODATA no closest encloser proof (RFC 5155
 * §7.2.5). A validator must reject that answer; shoal's carries the proof
 * (check_dnssec's direct case "*.x.w" verifies it).
 */
static const char *knot_deviation(const struct kq *k, const char *const *owners)
{
	if (strncmp(k->qname, "*.", 2) != 0)
		return NULL;
	for (const char *const *o = owners; *o != NULL; o++)
		if (strcasecmp(*o, k->qname) == 0)
			return NULL;
	return "Knot gives an asterisk name's wildcard answer without the proof that the name "
	       "does not exist";
}

/* An ANY answer with data (RFC 8482 §4.1): one RRset at qname and its
 * RRSIGs, nothing else. */
static bool any_one_rrset(const char *who, const ldns_pkt *p, const char *qname, FILE *out)
{
	const ldns_rr_list *an = ldns_pkt_answer(p);
	ldns_rdf *name = ldns_dname_new_frm_str(qname);
	ldns_rr_type t = 0;
	bool ok = name != NULL;
	for (size_t i = 0; ok && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rr_type rt = ldns_rr_get_type(rr);
		if (rt == LDNS_RR_TYPE_RRSIG)
			rt = rrsig_covers(rr);
		if (t == 0)
			t = rt;
		ok = owner_is(rr, name) && rt == t;
	}
	if (!ok)
		fprintf(out, "    %s: ANY over UDP answered with more than one RRset at the name "
		             "(RFC 8482 §4.1)\n",
		        who);
	ldns_rdf_deep_free(name);
	return ok;
}

static bool is_referral(const ldns_pkt *p)
{
	const ldns_rr_list *au = ldns_pkt_authority(p);
	return ldns_pkt_answer(p) != NULL && ldns_rr_list_rr_count(ldns_pkt_answer(p)) == 0 &&
	       has_type(au, LDNS_RR_TYPE_NS) && !has_type(au, LDNS_RR_TYPE_SOA);
}

/* Compare knot's reply k with shoal's s; differences to out, the known
 * deviation's to known. \return whether they agree (known ones aside). */
static bool knot_compare(const struct kq *k, const char *known, const ldns_pkt *kp,
                         const ldns_pkt *sp, FILE *out, FILE *kout)
{
	bool ok = true;
	unsigned kr = ldns_pkt_get_rcode(kp), sr = ldns_pkt_get_rcode(sp);
	if (kr != sr) {
		fprintf(out, "    rcode: knot %s, ", harness_rcode_str(kr));
		fprintf(out, "shoal %s\n", harness_rcode_str(sr));
		ok = false;
	}
	if (ldns_pkt_aa(kp) != ldns_pkt_aa(sp)) {
		fprintf(out, "    AA: knot %d, shoal %d\n", ldns_pkt_aa(kp), ldns_pkt_aa(sp));
		ok = false;
	}
	if (ldns_pkt_tc(kp) != ldns_pkt_tc(sp)) {
		fprintf(out, "    TC: knot %d, shoal %d\n", ldns_pkt_tc(kp), ldns_pkt_tc(sp));
		ok = false;
	}
	if (ldns_pkt_tc(kp) || ldns_pkt_tc(sp))
		return ok; /* RFC 2181 §9 */
	bool kdata = ldns_rr_list_rr_count(ldns_pkt_answer(kp)) > 0;
	bool sdata = ldns_rr_list_rr_count(ldns_pkt_answer(sp)) > 0;
	if (k->q.qtype == LDNS_RR_TYPE_ANY && k->q.transport == HARNESS_UDP && (kdata || sdata)) {
		if (kdata != sdata) {
			fprintf(out, "    ANY: only %s has data at the name\n",
			        kdata ? "knot" : "shoal");
			ok = false;
		}
		ok &= any_one_rrset("knot", kp, k->qname, out);
		ok &= any_one_rrset("shoal", sp, k->qname, out);
		return ok; /* RFC 8482 §4.1: which RRset is each server's choice */
	}
	ok &= harness_section_diff("answer    ", ldns_pkt_answer(kp), ldns_pkt_answer(sp), true,
	                           out);
	if (known != NULL)
		harness_section_diff("authority ", ldns_pkt_authority(kp), ldns_pkt_authority(sp),
		                     true, kout);
	else
		ok &= harness_section_diff("authority ", ldns_pkt_authority(kp),
		                           ldns_pkt_authority(sp), true, out);
	if (is_referral(kp) || is_referral(sp))
		ok &= harness_section_diff("additional", ldns_pkt_additional(kp),
		                           ldns_pkt_additional(sp), true, out);
	return ok;
}

/* Print a reply's sections, for a difference. */
static void dump_reply(const char *who, const struct harness_reply *r, FILE *out)
{
	fprintf(out, "    --- %s:\n", who);
	harness_pkt_dump(r->pkt, out, "      ");
}

START_TEST(test_knot_differential)
{
	ck_assert_msg(setup_error[0] == '\0', "setup failed: %s", setup_error);
	enum harness_dnssec_variant v = signed_variant(_i);
	struct kq_list l = {0};
	knot_queries(v, &l);
	char **owners = zone_names(&made[v]);
	size_t diffs = 0, known = 0;
	printf("== %s (%s): %zu queries with DO=1 to knotd (port %u) and shoal (port %u); "
	       "\"-\" = only in knot, \"+\" = only in shoal\n",
	       made[v].origin, harness_dnssec_variant_str(v), l.n, (unsigned)knot.port,
	       (unsigned)shoal.port);
	for (size_t i = 0; i < l.n; i++) {
		struct kq *k = &l.v[i];
		k->q.qname = k->qname;
		struct harness_reply kr = {0}, sr = {0};
		int krc = harness_query_retry(NULL, knot.port, &k->q, 0, QUERY_TRIES, &kr);
		int src = harness_query_retry(NULL, shoal.port, &k->q, 0, QUERY_TRIES, &sr);
		char *text = NULL, *ktext = NULL;
		size_t len = 0, klen = 0;
		FILE *out = open_memstream(&text, &len), *kout = open_memstream(&ktext, &klen);
		ck_assert(out != NULL && kout != NULL);
		const char *dev = knot_deviation(k, (const char *const *)owners);
		bool same;
		if (krc < 0 || src < 0 || kr.pkt == NULL || sr.pkt == NULL) {
			same = false;
			fprintf(out, "    knot: %s; shoal: %s\n",
			        krc < 0 ? strerror(-krc) : kr.pkt ? "replied" : "unparsable reply",
			        src < 0 ? strerror(-src) : sr.pkt ? "replied" : "unparsable reply");
		} else {
			same = knot_compare(k, dev, kr.pkt, sr.pkt, out, kout);
		}
		if (!same) {
			dump_reply("knot", &kr, out);
			dump_reply("shoal", &sr, out);
		}
		fclose(out);
		fclose(kout);
		char qs[HARNESS_DNAME_TEXT_MAX + 64];
		harness_query_str(&k->q, qs, sizeof(qs));
		if (!same) {
			diffs++;
			printf("DIFF %s  [%s]\n%s", qs, k->why, text);
		} else if (klen > 0) {
			known++;
			printf("known %s  [%s; %s]\n%s", qs, k->why, dev, ktext);
		}
		free(text);
		free(ktext);
		harness_reply_free(&kr);
		harness_reply_free(&sr);
	}
	printf("== %s: %zu of %zu queries differ (and %zu more where Knot is known to deviate, "
	       "not counted)\n",
	       made[v].origin, diffs, l.n, known);
	fflush(stdout);
	harness_strv_free(owners);
	free(l.v);
	ck_assert_msg(diffs == 0, "%s (%s): %zu of %zu DO=1 queries differ between knotd and shoal "
	              "(listed above)",
	              made[v].origin, harness_dnssec_variant_str(v), diffs, l.n);
}
END_TEST

static void knot_servers_start(void)
{
	if (!make_zones() || !shoal_start())
		return;
	int rc = harness_knot_start(&knot, shoal.zonedir, NULL);
	if (rc < 0) {
		set_error("knotd did not start: %s", harness_start_strerror(rc, &knot));
		return;
	}
	printf("dnssec: shoal on 127.0.0.1@%u, knotd on 127.0.0.1@%u, the same files\n",
	       shoal.port, knot.port);
	fflush(stdout);
}

static Suite *knot_suite(void)
{
	Suite *s = suite_create("dnssec-knot");
	TCase *tc = tcase_create("dnssec-knot");
	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, knot_servers_start, servers_stop);
	tcase_add_loop_test(tc, test_knot_differential, 0, N_SIGNED);
	suite_add_tcase(s, tc);
	return s;
}

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
	tcase_add_loop_test(tc, test_direct_denial, 0, N_SIGNED);
	tcase_add_test(tc, test_resolver_denial_unsigned);
	tcase_add_loop_test(tc, test_resolver_denial_signed, 0, N_SIGNED);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	/* --knot: the comparison with knotd (e2e-dnssec-knot); else the
	 * direct and resolver cases (e2e-dnssec). */
	bool knot_mode = argc > 1 && strcmp(argv[1], "--knot") == 0;
	if (knot_mode && harness_knotd_path() == NULL) {
		printf("knotd is not installed: dnssec-knot test skipped (scripts/deps installs "
		       "it)\n");
		return HARNESS_EXIT_SKIP;
	}
	if (!knot_mode && harness_unbound_path() == NULL) {
		printf(
		    "unbound is not installed: dnssec test skipped (scripts/deps installs it)\n");
		return HARNESS_EXIT_SKIP;
	}
	if (harness_shoal_bin() == NULL) {
		fprintf(stderr, "SHOAL_BIN is not set (run through meson test)\n");
		return EXIT_FAILURE;
	}
	SRunner *sr = srunner_create(knot_mode ? knot_suite() : dnssec_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
