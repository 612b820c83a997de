/*
 * check_xfr_in.c - shoal as a secondary of real primaries (e2e-xfr-in).
 *
 * The primaries are knotd (Knot 3.2), nsd (NSD 4.6) and named (BIND 9.18),
 * started on loopback ports with their own configuration in a temporary
 * folder, in the foreground, as the test's user, never as system services
 * (the same way check_xfr_out.c starts them as secondaries). Transfers and
 * NOTIFY are signed with one TSIG key (hmac-sha256, "xfr"). shoal is started
 * with a Knot-style configuration file naming the primary:
 *
 *   remote: [{id: pri, address: 127.0.0.1@P, key: xfr}]
 *   zone:   [{domain: example.test., storage: DIR, primary: pri, acl: [out]}]
 *
 * and the test reads shoal's copy by AXFR (the acl `out` lets 127.0.0.0/8
 * transfer unsigned) and compares it record for record (TTLs included) with
 * the primary's, read by `kdig -y` (TSIG verified).
 *
 * The zones:
 *   example.test.  made here, version n: www A 192.0.2.n, a TXT "version n",
 *                  a name v<n>, 20 hosts; serial 2024070101 + changes;
 *                  SOA refresh 3600 (only a NOTIFY brings a change soon)
 *   signed.test.   tests/dnssec/sec.zone signed with NSEC3 (dnssec.h: fresh
 *                  keys each run), transferred and compared, and asked with
 *                  DO=1 at the primary and at shoal: same answers
 *   tiny.test.     SOA refresh 1, retry 1, expire 3 (the expiry test)
 *
 * Test cases (each its own libcheck test case with its own timeout, in its
 * own process, so that one failing peer does not hide the others):
 *   follow-<peer>  (knotd, nsd, named) shoal transfers both zones at start
 *                  (AXFR), equal to the primary's; DO=1 answers of the
 *                  signed zone equal; then two changes on the primary,
 *                  each reaching shoal by NOTIFY within FOLLOW_MS, the
 *                  zone equal again, and by IXFR (shoal's log, below):
 *                    knotd: a dynamic update (knsupdate, acl action update),
 *                           then the file edited and `knotc zone-reload`;
 *                    nsd:   the file edited and SIGHUP, twice;
 *                    named: the file edited and SIGHUP (ixfr-from-
 *                           differences yes), twice.
 *                  The primary's own IXFR from the old serial is checked
 *                  with kdig first (a check of the peer: shoal can only
 *                  get IXFR when the primary has it);
 *   restart        (knotd) shoal stopped, the primary stopped, shoal
 *                  started again: it answers the SOA of its saved copy at
 *                  once, the copy equal to what it had; the primary comes
 *                  back (Knot sends NOTIFY when it loads), then a dynamic
 *                  update: shoal follows by IXFR from its saved serial;
 *   unreachable    (knotd) shoal starts with its primary not running: the
 *                  zone is SERVFAIL for as long as it has no copy; once
 *                  the primary runs, NOERROR and equal;
 *   denied-<peer>  (knotd, nsd) shoal has version 1; the primary comes back
 *                  with version 2 and an acl that no longer lets 127.0.0.1
 *                  transfer (Knot answers NOTAUTH, NSD REFUSED); after
 *                  `shoalctl zone-refresh` shoal still serves version 1 and
 *                  `shoalctl zone-status` names the failure;
 *   expiry         (knotd) tiny.test., with refresh-min-interval: 1 and
 *                  retry-min-interval: 1: kept alive by refreshes for 5 s
 *                  (past its expire), SERVFAIL within EXPIRE_MS once the
 *                  primary is stopped, NOERROR again (the new serial)
 *                  once it is back with a new serial and its NOTIFY;
 *   ctl            (knotd, sending no NOTIFY) `shoalctl zone-retransfer`
 *                  makes shoal log a new AXFR line; a dynamic update is not
 *                  seen (refresh 3600) until `shoalctl zone-refresh`;
 *   chain          knotd -> shoal A -> shoal B (A: notify: [b] and an acl
 *                  letting B transfer with the key): a dynamic update on
 *                  knotd reaches B, equal to knotd's zone.
 *
 * "By IXFR": after shoal serves the new serial, the lines of its log that
 * contain that serial (in decimal) are read; the change came by IXFR when
 * one of them contains "ixfr" (any case) and none contains "axfr" (a
 * fallback to AXFR names it). The lines are printed either way.
 *
 * Environment:
 *   SHOAL_XFR_SECONDARY=knot  knotd as the secondary instead of shoal (the
 *                             same configuration, `master:` for `primary:`,
 *                             knotc for shoalctl): a check of the test
 *                             itself (e2e-xfr-in-knot)
 *   SHOAL_NSD, SHOAL_NAMED    optional paths of nsd and named
 *
 * A peer binary that is not installed skips the tests that need it (they
 * pass with a message), as in check_xfr_out.c; the program exits 77 only
 * when none of knotd, nsd and named is installed. scripts/deps installs
 * all three.
 *
 * Peer quirks met here:
 *   - Knot 3.2 sends NOTIFY over TCP (and once: a NOTIFY that finds nobody
 *     listening is retried once, a second later); it sends one when it
 *     loads a zone whose serial it has not notified yet, at start-up
 *     included, but not when restarted with the same serial (its timer
 *     database remembers).
 *   - Knot answers a signed transfer its acl denies with NOTAUTH and the
 *     TSIG error BADKEY (kdig: "server replied with error 'BADKEY'"), not
 *     REFUSED; NSD says REFUSED.
 *   - Knot's refresh-min-interval cannot be below 2 (knotd as secondary).
 *   - A zone file edited while knotd (zonefile-load: difference) is
 *     stopped: after the start, its IXFR from the serial before was
 *     AXFR-style; a change made while it runs is served incrementally.
 *   - NSD 4.6 has no create-ixfr (4.7 has): as a primary it answers IXFR
 *     with the whole zone (AXFR-style), so shoal cannot get IXFR from it.
 *     The test checks the IXFR with nsd only when nsd -v says 4.7 or later
 *     (and then configures create-ixfr: yes, store-ixfr: yes).
 */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "dnssec.h"
#include "harness.h"

/* snprintf into an array, failing the test if it does not fit. */
#define FMT(buf, ...) ck_assert_int_lt(snprintf((buf), sizeof(buf), __VA_ARGS__), (int)sizeof(buf))

#define ZONE "example.test."
#define SIGNED "signed.test."
#define TINY "tiny.test."
#define ZONE_S0 2024070101u
#define TINY_S0 1000u
/* A change on the primary reaches the secondary (NOTIFY, transfer): on
 * loopback milliseconds; the bound is for a retry. */
#define FOLLOW_MS 10000
/* The first transfer after shoal or the primary starts. */
#define FIRST_MS 15000
/* The saved copy answers after a restart: loading a small file. */
#define SAVED_MS 5000
/* expire 3 s: SERVFAIL within this once the primary is gone. */
#define EXPIRE_MS 10000
/* A kdig transfer or a control command. */
#define RUN_MS 30000

/* ---- the setup (once, in main) ---------------------------------------------------------- */

static char g_work[PATH_MAX]; /* temp folder of the run */
static char g_src[PATH_MAX];  /* signed.test.zone as signed in the setup */
static char g_secret[64];     /* base64 of 32 random octets */
static bool g_knot_sec;       /* SHOAL_XFR_SECONDARY=knot */
static char g_setup_error[512];
static pid_t g_main_pid; /* of main(): marks the folders of this run */

/* The name of the file that marks a server folder as this run's. */
#define OWNER_MARK ".xfr-in-run"

/* Mark a server's folder as this run's: a test that fails leaves its
 * folders behind (libcheck ends the forked test at the failed check,
 * before the teardown), and main() removes them at the end. */
static void mark_dir(const char *dir)
{
	char pid[32];
	snprintf(pid, sizeof(pid), "%ld", (long)g_main_pid);
	ck_assert_int_eq(harness_write_file(dir, OWNER_MARK, pid), 0);
}

/* Remove the server folders of this run that are still there. */
static void remove_marked_dirs(void)
{
	const char *tmp = getenv("TMPDIR");
	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	DIR *d = opendir(tmp);
	if (d == NULL)
		return;
	char want[32];
	snprintf(want, sizeof(want), "%ld", (long)g_main_pid);
	unsigned removed = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (strncmp(e->d_name, "shoal-e2e-", 10) != 0)
			continue;
		char path[PATH_MAX], mark[PATH_MAX + 32], got[32] = "";
		if (snprintf(path, sizeof(path), "%s/%s", tmp, e->d_name) >= (int)sizeof(path))
			continue;
		snprintf(mark, sizeof(mark), "%s/" OWNER_MARK, path);
		FILE *f = fopen(mark, "r");
		if (f == NULL)
			continue;
		if (fgets(got, sizeof(got), f) == NULL)
			got[0] = '\0';
		fclose(f);
		if (strcmp(got, want) == 0 && harness_rmtree(path) == 0)
			removed++;
	}
	closedir(d);
	if (removed > 0)
		printf("xfr-in: removed %u folders left by failed tests\n", removed);
}

static void set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g_setup_error, sizeof(g_setup_error), fmt, ap);
	va_end(ap);
}

static void setup_once(void)
{
	const char *s = getenv("SHOAL_XFR_SECONDARY");
	g_knot_sec = s != NULL && strcmp(s, "knot") == 0;
	harness_random_secret(g_secret, sizeof(g_secret));
	int rc = harness_tmpdir(g_work, sizeof(g_work), "xfr-in");
	if (rc < 0) {
		set_error("temporary folder: %s", strerror(-rc));
		return;
	}
	if (snprintf(g_src, sizeof(g_src), "%s/zones", g_work) >= (int)sizeof(g_src)) {
		set_error("%s: path too long", g_work);
		return;
	}
	if (mkdir(g_src, 0755) != 0) {
		set_error("%s: %s", g_src, strerror(errno));
		return;
	}
	const char *missing = harness_dnssec_missing_tool(HARNESS_DNSSEC_NSEC3);
	if (missing != NULL) {
		set_error("%s is not installed (run scripts/deps)", missing);
		return;
	}
	char tmpl[PATH_MAX];
	struct harness_dnssec_zone made;
	if ((rc = harness_srcpath(tmpl, sizeof(tmpl), "tests/dnssec/sec.zone")) < 0 ||
	    (rc = harness_dnssec_make(tmpl, SIGNED, HARNESS_DNSSEC_NSEC3, g_work, g_src, &made)) <
	        0) {
		set_error("cannot sign %s: %s", SIGNED, strerror(-rc));
		return;
	}
	printf("xfr-in: %s signed in %s; secondary: %s\n", SIGNED, g_src,
	       g_knot_sec ? "knotd (SHOAL_XFR_SECONDARY=knot)" : "shoal");
	fflush(stdout);
}

static void assert_setup(void)
{
	ck_assert_msg(g_setup_error[0] == '\0', "setup failed: %s", g_setup_error);
}

/* ---- zone files ----------------------------------------------------------------------- */

/* "example.test.zone" for "example.test.". */
static void zone_file_name(char *out, size_t size, const char *origin)
{
	size_t l = strlen(origin);
	snprintf(out, size, "%.*s.zone", (int)(l > 1 ? l - 1 : l), origin);
}

/*
 * Write origin at version v with serial into dir (tiny: the SOA timers of
 * the expiry test). The file's times are set v s ahead so that a reload in
 * the same second as the last write still sees a change.
 */
static void write_zone(const char *dir, const char *origin, uint32_t serial, unsigned v, bool tiny)
{
	size_t cap = 8192, len = 0;
	char *t = malloc(cap);
	ck_assert_ptr_nonnull(t);
	len += (size_t)snprintf(t + len, cap - len,
	                        "$ORIGIN %s\n$TTL 300\n"
	                        "@        IN SOA   ns1 hostmaster %u %s\n"
	                        "@        IN NS    ns1\n"
	                        "@        IN NS    ns2\n"
	                        "@        IN MX    10 mail\n"
	                        "ns1      IN A     192.0.2.1\n"
	                        "ns2      IN A     192.0.2.2\n"
	                        "ns2      IN AAAA  2001:db8::2\n"
	                        "mail     IN A     192.0.2.25\n"
	                        "www      IN A     192.0.2.%u\n"
	                        "www      IN AAAA  2001:db8::%x\n"
	                        "version 60 IN TXT \"version %u\"\n"
	                        "v%u       IN A     198.51.100.%u\n"
	                        "alias    IN CNAME www\n",
	                        origin, serial, tiny ? "1 1 3 1" : "3600 900 604800 300", v % 250,
	                        v, v, v, v % 250);
	for (unsigned i = 0; i < 20; i++)
		len += (size_t)snprintf(t + len, cap - len, "host%02u   IN A     203.0.113.%u\n", i,
		                        i);
	ck_assert_uint_lt(len, cap);
	char name[256], path[PATH_MAX];
	zone_file_name(name, sizeof(name), origin);
	ck_assert_int_eq(harness_write_file(dir, name, t), 0);
	free(t);
	FMT(path, "%s/%s", dir, name);
	struct timeval tv[2];
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec += v;
	tv[1] = tv[0];
	ck_assert_int_eq(utimes(path, tv), 0);
}

/* ---- running tools ------------------------------------------------------------------------ */

static char *lower_dup(const char *s)
{
	char *l = strdup(s);
	ck_assert_ptr_nonnull(l);
	for (char *p = l; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return l;
}

/*
 * A transfer by kdig from 127.0.0.1@port: AXFR, or IXFR from `from` when
 * from != 0; signed with the key when sign (kdig verifies every TSIG).
 * \param[out] out  the answer's records in order (ldns_rr_list_deep_free())
 * \return 0; -1 with why filled in (kdig's output included).
 */
static int kdig_xfr(uint16_t port, const char *zone, uint32_t from, bool sign, ldns_rr_list **out,
                    char *why, size_t whysize)
{
	*out = NULL;
	char p[16], y[160], t[32];
	snprintf(p, sizeof(p), "%u", port);
	snprintf(y, sizeof(y), "hmac-sha256:xfr:%s", g_secret);
	if (from != 0)
		snprintf(t, sizeof(t), "IXFR=%u", from);
	else
		snprintf(t, sizeof(t), "AXFR");
	const char *argv[12];
	int n = 0;
	argv[n++] = "kdig";
	argv[n++] = "@127.0.0.1";
	argv[n++] = "-p";
	argv[n++] = p;
	if (sign) {
		argv[n++] = "-y";
		argv[n++] = y;
	}
	argv[n++] = t;
	argv[n++] = zone;
	argv[n++] = "+noall";
	argv[n++] = "+answer";
	argv[n] = NULL;
	struct harness_run r;
	int rc = harness_run(argv, RUN_MS, &r);
	if (rc < 0) {
		snprintf(why, whysize, "kdig %s %s @%u: %s", t, zone, port, strerror(-rc));
		harness_run_free(&r);
		return -1;
	}
	if (r.exit_code != 0 || strstr(r.out, "ERROR") != NULL || strstr(r.err, "ERROR") != NULL ||
	    strstr(r.out, "WARNING") != NULL || strstr(r.err, "WARNING") != NULL) {
		snprintf(why, whysize, "kdig %s%s %s @%u: exit %d: %.300s %.300s",
		         sign ? "-y " : "", t, zone, port, r.exit_code, r.out, r.err);
		harness_run_free(&r);
		return -1;
	}
	ldns_rr_list *l = ldns_rr_list_new();
	char *save = NULL;
	for (char *line = strtok_r(r.out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == ';' || line[strspn(line, " \t")] == '\0')
			continue;
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL);
		if (st != LDNS_STATUS_OK) {
			snprintf(why, whysize, "kdig %s %s @%u: cannot parse \"%.200s\": %s", t,
			         zone, port, line, ldns_get_errorstr_by_id(st));
			ldns_rr_list_deep_free(l);
			harness_run_free(&r);
			return -1;
		}
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TSIG) {
			ldns_rr_free(rr);
			continue;
		}
		ldns_rr_list_push_rr(l, rr);
	}
	harness_run_free(&r);
	if (ldns_rr_list_rr_count(l) == 0) {
		snprintf(why, whysize, "kdig %s %s @%u: no records", t, zone, port);
		ldns_rr_list_deep_free(l);
		return -1;
	}
	*out = l;
	return 0;
}

/* The serial of an SOA record. */
static uint32_t soa_serial(const ldns_rr *rr)
{
	return ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
}

/*
 * The primary's zone (AXFR signed) and the secondary's (AXFR unsigned)
 * compared as sets, TTLs included; the differences printed ("-" only at the
 * primary, "+" only at the secondary). \return true when equal.
 */
static bool zones_equal(uint16_t pport, uint16_t sport, const char *zone, const char *who)
{
	char why[1024];
	ldns_rr_list *want = NULL, *got = NULL;
	bool ok = false;
	if (kdig_xfr(pport, zone, 0, true, &want, why, sizeof(why)) < 0) {
		printf("FAIL %s: the primary's AXFR: %s\n", who, why);
		goto out;
	}
	if (kdig_xfr(sport, zone, 0, false, &got, why, sizeof(why)) < 0) {
		printf("FAIL %s: the secondary's AXFR: %s\n", who, why);
		goto out;
	}
	char label[300];
	snprintf(label, sizeof(label), "%s %s", who, zone);
	ok = harness_section_diff(label, want, got, true, stdout);
	if (ok)
		printf(
		    "%s: %s equal at the primary and the secondary: %zu records in the AXFR, the "
		    "SOA twice (serial %u)\n",
		    who, zone, ldns_rr_list_rr_count(want), soa_serial(ldns_rr_list_rr(want, 0)));
	else
		printf("FAIL %s: %s differs (\"-\" only at the primary, \"+\" only at the "
		       "secondary, above)\n",
		       who, zone);
out:
	fflush(stdout);
	ldns_rr_list_deep_free(want);
	ldns_rr_list_deep_free(got);
	return ok;
}

/* The records of the secondary's copy (AXFR unsigned) as text, for a
 * comparison after a restart. */
static void zone_text(uint16_t port, const char *zone, struct harness_rrset_text *out)
{
	char why[1024];
	ldns_rr_list *l = NULL;
	int rc = kdig_xfr(port, zone, 0, false, &l, why, sizeof(why));
	ck_assert_msg(rc == 0, "%s", why);
	ck_assert_int_eq(harness_rrset_text(l, true, out), 0);
	ldns_rr_list_deep_free(l);
}

/*
 * Is the primary's IXFR from `from` incremental (RFC 1995 §4: the new SOA,
 * then the old one)? Prints what it saw. A check of the peer.
 */
static bool peer_ixfr_incremental(uint16_t port, const char *zone, uint32_t from, uint32_t to,
                                  const char *who)
{
	char why[1024];
	ldns_rr_list *l = NULL;
	if (kdig_xfr(port, zone, from, true, &l, why, sizeof(why)) < 0) {
		printf("%s: %s\n", who, why);
		fflush(stdout);
		return false;
	}
	size_t n = ldns_rr_list_rr_count(l);
	const ldns_rr *r0 = ldns_rr_list_rr(l, 0);
	const ldns_rr *r1 = n > 1 ? ldns_rr_list_rr(l, 1) : NULL;
	bool inc = ldns_rr_get_type(r0) == LDNS_RR_TYPE_SOA && soa_serial(r0) == to && r1 != NULL &&
	           ldns_rr_get_type(r1) == LDNS_RR_TYPE_SOA && soa_serial(r1) == from;
	printf("%s (primary): IXFR %s from %u: %zu records, %s\n", who, zone, from, n,
	       inc ? "incremental" : "not incremental (AXFR-style)");
	fflush(stdout);
	ldns_rr_list_deep_free(l);
	return inc;
}

/* The NSEC and NSEC3 records of a section and the RRSIGs over them: the
 * denial proofs, without the NS RRset that servers add or leave out (new
 * list: ldns_rr_list_deep_free()). */
static ldns_rr_list *proofs(const ldns_rr_list *sec)
{
	ldns_rr_list *l = ldns_rr_list_new();
	for (size_t i = 0; sec != NULL && i < ldns_rr_list_rr_count(sec); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(sec, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		if (t == LDNS_RR_TYPE_RRSIG)
			t = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr));
		if (t == LDNS_RR_TYPE_NSEC || t == LDNS_RR_TYPE_NSEC3)
			ldns_rr_list_push_rr(l, ldns_rr_clone(rr));
	}
	return l;
}

/* The same DO=1 questions about the signed zone to both: same rcode, same
 * answer section (TTLs and RRSIGs included); for an empty answer the same
 * authority section, else the same proofs in it (a wildcard's: the NS
 * RRset beside them is the server's choice). \return true when the same. */
static bool dnssec_same(uint16_t pport, uint16_t sport, const char *who)
{
	static const struct {
		const char *name;
		ldns_rr_type type;
	} qs[] = {
	    {SIGNED, LDNS_RR_TYPE_DNSKEY},     {SIGNED, LDNS_RR_TYPE_SOA},
	    {"www." SIGNED, LDNS_RR_TYPE_A},   {"www." SIGNED, LDNS_RR_TYPE_MX},
	    {"nx1." SIGNED, LDNS_RR_TYPE_A},   {"x.w." SIGNED, LDNS_RR_TYPE_A},
	    {"alias." SIGNED, LDNS_RR_TYPE_A},
	};
	bool all = true;
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		struct harness_query q = {.qname = qs[i].name,
		                          .qtype = qs[i].type,
		                          .edns = true,
		                          .do_bit = true,
		                          .transport = HARNESS_TCP};
		struct harness_reply a = {0}, b = {0};
		char qs_text[200], label[300];
		harness_query_str(&q, qs_text, sizeof(qs_text));
		int ra = harness_query("127.0.0.1", pport, &q, 0, &a);
		int rb = harness_query("127.0.0.1", sport, &q, 0, &b);
		bool ok = ra == 0 && rb == 0 && a.pkt != NULL && b.pkt != NULL;
		if (!ok) {
			printf("FAIL %s: %s: no parsed answer (primary %d, secondary %d)\n", who,
			       qs_text, ra, rb);
		} else {
			unsigned ca = ldns_pkt_get_rcode(a.pkt), cb = ldns_pkt_get_rcode(b.pkt);
			if (ca != cb) {
				printf("FAIL %s: %s: primary %s, secondary %s\n", who, qs_text,
				       harness_rcode_str(ca), harness_rcode_str(cb));
				ok = false;
			}
			snprintf(label, sizeof(label), "%s %s answer", who, qs_text);
			ok &= harness_section_diff(label, ldns_pkt_answer(a.pkt),
			                           ldns_pkt_answer(b.pkt), true, stdout);
			snprintf(label, sizeof(label), "%s %s authority", who, qs_text);
			if (ldns_rr_list_rr_count(ldns_pkt_answer(a.pkt)) == 0) {
				ok &= harness_section_diff(label, ldns_pkt_authority(a.pkt),
				                           ldns_pkt_authority(b.pkt), true, stdout);
			} else {
				ldns_rr_list *pa = proofs(ldns_pkt_authority(a.pkt));
				ldns_rr_list *pb = proofs(ldns_pkt_authority(b.pkt));
				ok &= harness_section_diff(label, pa, pb, true, stdout);
				ldns_rr_list_deep_free(pa);
				ldns_rr_list_deep_free(pb);
			}
			if (ok)
				printf("%s: %s: %s, %zu answer, %zu authority records, the same at "
				       "both\n",
				       who, qs_text, harness_rcode_str(ca),
				       ldns_rr_list_rr_count(ldns_pkt_answer(a.pkt)),
				       ldns_rr_list_rr_count(ldns_pkt_authority(a.pkt)));
		}
		all &= ok;
		harness_reply_free(&a);
		harness_reply_free(&b);
	}
	fflush(stdout);
	return all;
}

/* ---- the primaries --------------------------------------------------------------------- */

enum peer_kind { PEER_KNOT, PEER_NSD, PEER_NAMED, NPEERS };
static const char *const peer_names[NPEERS] = {"knotd", "nsd", "named"};

static const char *peer_bin(enum peer_kind k)
{
	static char buf[NPEERS][PATH_MAX];
	switch (k) {
	case PEER_KNOT:
		return harness_knotd_path();
	case PEER_NSD:
		return harness_find_bin("SHOAL_NSD", "nsd", buf[k], sizeof(buf[k]));
	case PEER_NAMED:
		return harness_find_bin("SHOAL_NAMED", "named", buf[k], sizeof(buf[k]));
	default:
		return NULL;
	}
}

/* Whether nsd knows create-ixfr (NSD 4.7.0 and later). */
static bool nsd_creates_ixfr(void)
{
	static int known = -1;
	if (known >= 0)
		return known;
	known = 0;
	const char *bin = peer_bin(PEER_NSD);
	if (bin == NULL)
		return false;
	const char *argv[] = {bin, "-v", NULL};
	struct harness_run r;
	if (harness_run(argv, 0, &r) == 0) {
		const char *v = strstr(r.err, "NSD version ");
		if (v == NULL)
			v = strstr(r.out, "NSD version ");
		unsigned major = 0, minor = 0;
		if (v != NULL && sscanf(v, "NSD version %u.%u", &major, &minor) == 2)
			known = major > 4 || (major == 4 && minor >= 7);
	}
	harness_run_free(&r);
	return known;
}

/* Which zones a primary serves. */
enum { PZ_ZONE = 1, PZ_SIGNED = 2, PZ_TINY = 4 };

struct peer {
	enum peer_kind k;
	struct harness_server srv;
	char zonedir[PATH_MAX];
	char conf[PATH_MAX];
	char *argv[8];
	unsigned zones;       /* PZ_* */
	uint16_t notify_port; /* the secondary it notifies; 0: none */
	bool deny;            /* its acl lets only 127.0.0.2 transfer */
	uint32_t serial;      /* ZONE's serial now */
	unsigned version;     /* ZONE's version (write_zone) now */
};

static const char *const all_zones[] = {ZONE, SIGNED, TINY};

static bool peer_serves(const struct peer *p, size_t i)
{
	return (p->zones & (1u << i)) != 0;
}

static void peer_write_conf(struct peer *p)
{
	const char *d = p->srv.dir;
	FILE *f = fopen(p->conf, "w");
	ck_assert_ptr_nonnull(f);
	const char *xfr_addr = p->deny ? "127.0.0.2" : "127.0.0.1";
	switch (p->k) {
	case PEER_KNOT:
		fprintf(f,
		        "server:\n"
		        "  rundir: %s/run\n"
		        "  listen: 127.0.0.1@%u\n"
		        "  tcp-workers: 2\n"
		        "  udp-workers: 1\n"
		        "  background-workers: 1\n"
		        "log:\n"
		        "  - target: stderr\n"
		        "    any: info\n"
		        "key:\n"
		        "  - id: xfr\n"
		        "    algorithm: hmac-sha256\n"
		        "    secret: %s\n",
		        d, p->srv.port, g_secret);
		if (p->notify_port != 0)
			fprintf(f,
			        "remote:\n"
			        "  - id: sec\n"
			        "    address: 127.0.0.1@%u\n"
			        "    key: xfr\n",
			        p->notify_port);
		fprintf(f,
		        "acl:\n"
		        "  - id: xfr\n"
		        "    address: %s\n"
		        "    key: xfr\n"
		        "    action: transfer\n"
		        "  - id: update\n"
		        "    address: 127.0.0.1\n"
		        "    key: xfr\n"
		        "    action: update\n"
		        "database:\n"
		        "  storage: %s/db\n"
		        "template:\n"
		        "  - id: default\n"
		        "    storage: %s\n"
		        /* a file edited and reloaded becomes a difference in
		         * the journal: what IXFR is served from */
		        "    zonefile-load: difference\n"
		        "    journal-content: changes\n"
		        "    zonefile-sync: -1\n"
		        "    semantic-checks: off\n"
		        "    acl: [xfr, update]\n"
		        "%s"
		        "zone:\n",
		        xfr_addr, d, p->zonedir, p->notify_port != 0 ? "    notify: [sec]\n" : "");
		for (size_t i = 0; i < 3; i++)
			if (peer_serves(p, i))
				fprintf(f, "  - domain: %s\n", all_zones[i]);
		p->argv[0] = (char *)peer_bin(p->k);
		p->argv[1] = "-c";
		p->argv[2] = p->conf;
		p->argv[3] = NULL;
		break;
	case PEER_NSD:
		/* No database, no remote control, every file in the temp
		 * folder, the test's user, no chroot (as check_xfr_out.c). */
		fprintf(f,
		        "server:\n"
		        "  ip-address: 127.0.0.1@%u\n"
		        "  do-ip6: no\n"
		        "  username: \"\"\n"
		        "  chroot: \"\"\n"
		        "  zonesdir: \"%s\"\n"
		        "  database: \"\"\n"
		        "  zonelistfile: \"%s/zone.list\"\n"
		        "  xfrdfile: \"%s/xfrd.state\"\n"
		        "  xfrdir: \"%s/xfr\"\n"
		        "  pidfile: \"%s/nsd.pid\"\n"
		        "  logfile: \"%s\"\n"
		        "  verbosity: 2\n"
		        "  server-count: 1\n"
		        "remote-control:\n"
		        "  control-enable: no\n"
		        "key:\n"
		        "  name: xfr\n"
		        "  algorithm: hmac-sha256\n"
		        "  secret: \"%s\"\n",
		        p->srv.port, p->zonedir, d, d, d, d, p->srv.log, g_secret);
		for (size_t i = 0; i < 3; i++) {
			if (!peer_serves(p, i))
				continue;
			char name[256];
			zone_file_name(name, sizeof(name), all_zones[i]);
			fprintf(f,
			        "zone:\n"
			        "  name: %s\n"
			        "  zonefile: \"%s\"\n"
			        "  provide-xfr: %s xfr\n",
			        all_zones[i], name, xfr_addr);
			if (p->notify_port != 0)
				fprintf(f, "  notify: 127.0.0.1@%u xfr\n", p->notify_port);
			if (nsd_creates_ixfr())
				fprintf(f, "  store-ixfr: yes\n  create-ixfr: yes\n");
		}
		p->argv[0] = (char *)peer_bin(p->k);
		p->argv[1] = "-d";
		p->argv[2] = "-c";
		p->argv[3] = p->conf;
		p->argv[4] = NULL;
		break;
	case PEER_NAMED:
		harness_named_options(f, d, p->srv.port);
		fprintf(f,
		        "  allow-query { any; };\n"
		        /* only also-notify: the zones' NS are made up */
		        "  notify explicit;\n"
		        "  ixfr-from-differences yes;\n"
		        /* NOTIFY at once (named waits 5 s by default) */
		        "  notify-delay 0;\n"
		        "};\n"
		        "controls { };\n"
		        "key \"xfr\" { algorithm hmac-sha256; secret \"%s\"; };\n"
		        "logging {\n"
		        "  channel out { stderr; severity info; print-time yes; print-category "
		        "yes; };\n"
		        "  category default { out; };\n"
		        "  category xfer-out { out; };\n"
		        "  category notify { out; };\n"
		        "};\n",
		        g_secret);
		for (size_t i = 0; i < 3; i++) {
			if (!peer_serves(p, i))
				continue;
			char name[256];
			zone_file_name(name, sizeof(name), all_zones[i]);
			fprintf(f,
			        "zone \"%s\" {\n"
			        "  type primary;\n"
			        "  file \"%s/%s\";\n"
			        "  allow-transfer { %s };\n",
			        all_zones[i], p->zonedir, name,
			        p->deny ? "127.0.0.2;" : "key xfr;");
			if (p->notify_port != 0)
				fprintf(f, "  also-notify { 127.0.0.1 port %u key xfr; };\n",
				        p->notify_port);
			fprintf(f, "};\n");
		}
		p->argv[0] = (char *)peer_bin(p->k);
		p->argv[1] = "-f"; /* foreground, logging as configured (to stderr) */
		p->argv[2] = "-c";
		p->argv[3] = p->conf;
		p->argv[4] = NULL;
		break;
	default:
		ck_abort();
	}
	ck_assert_int_eq(fclose(f), 0);
}

/* Prepare a primary (not started): its folder, port, zones and
 * configuration. notify_port: the secondary to notify (0: none). */
static void peer_init(struct peer *p, enum peer_kind k, unsigned zones, uint16_t notify_port)
{
	memset(p, 0, sizeof(*p));
	p->k = k;
	p->zones = zones;
	p->notify_port = notify_port;
	ck_assert_int_eq(harness_server_init(&p->srv, peer_names[k]), 0);
	ck_assert_int_eq(harness_pick_port(&p->srv.port), 0);
	mark_dir(p->srv.dir);
	char sub[PATH_MAX];
	static const char *const subs[] = {"zones", "run", "db", "xfr"};
	for (size_t i = 0; i < 4; i++) {
		FMT(sub, "%s/%s", p->srv.dir, subs[i]);
		ck_assert_int_eq(mkdir(sub, 0755), 0);
	}
	FMT(p->zonedir, "%s/zones", p->srv.dir);
	FMT(p->conf, "%s/%s.conf", p->srv.dir, peer_names[k]);
	p->version = 1;
	p->serial = ZONE_S0;
	if (zones & PZ_ZONE)
		write_zone(p->zonedir, ZONE, p->serial, p->version, false);
	if (zones & PZ_TINY)
		write_zone(p->zonedir, TINY, TINY_S0, 1, true);
	if (zones & PZ_SIGNED)
		ck_assert_int_eq(harness_copy_zones(g_src, p->zonedir), 1);
	peer_write_conf(p);
}

/* Start the primary and wait until it serves every zone. */
static void peer_start(struct peer *p)
{
	int rc = harness_server_start(&p->srv, p->argv);
	if (rc != 0) {
		harness_server_dump_log(&p->srv, stdout, 4000);
		fflush(stdout);
	}
	ck_assert_msg(rc == 0, "%s (primary) did not start: %s (its log is above)", p->srv.name,
	              harness_start_strerror(rc, &p->srv));
	for (size_t i = 0; i < 3; i++) {
		if (!peer_serves(p, i))
			continue;
		rc = harness_wait_rcode(&p->srv, all_zones[i], LDNS_RR_TYPE_SOA, LDNS_RCODE_NOERROR,
		                        HARNESS_READY_TIMEOUT_MS);
		ck_assert_msg(rc == 0, "%s (primary) does not serve %s", p->srv.name, all_zones[i]);
	}
	printf("xfr-in: %s (primary) on 127.0.0.1@%u, configuration %s\n", p->srv.name, p->srv.port,
	       p->conf);
	fflush(stdout);
}

static void peer_stop(struct peer *p)
{
	harness_server_stop(&p->srv, 0);
}

/* Make the primary read its files again. */
static void peer_reload(struct peer *p)
{
	if (p->k == PEER_KNOT) {
		char sock[PATH_MAX];
		FMT(sock, "%s/run/knot.sock", p->srv.dir);
		const char *argv[] = {"knotc", "-s", sock, "zone-reload", NULL};
		struct harness_run r;
		ck_assert_int_eq(harness_run(argv, RUN_MS, &r), 0);
		ck_assert_msg(r.exit_code == 0, "knotc zone-reload: exit %d: %.500s %.500s",
		              r.exit_code, r.out, r.err);
		harness_run_free(&r);
		return;
	}
	/* nsd: SIGHUP reads the zone files that changed; named: as `rndc reload` */
	ck_assert_int_eq(kill(p->srv.pid, SIGHUP), 0);
}

/* Edit ZONE in the primary's file: the next version, serial + 1. Written
 * only (the primary may be stopped); see peer_edit(). */
static void peer_write_next(struct peer *p)
{
	p->version++;
	p->serial++;
	write_zone(p->zonedir, ZONE, p->serial, p->version, false);
}

/* Edit ZONE and have the primary reload it; wait until it serves it. */
static void peer_edit(struct peer *p)
{
	peer_write_next(p);
	peer_reload(p);
	ck_assert_msg(harness_wait_serial(&p->srv, ZONE, p->serial, FOLLOW_MS) == 0,
	              "%s (primary) does not serve %s serial %u after the reload", p->srv.name,
	              ZONE, p->serial);
	printf("%s (primary): %s edited and reloaded: serial %u\n", p->srv.name, ZONE, p->serial);
	fflush(stdout);
}

/* knotd only: a dynamic update of ZONE (knsupdate, signed): www's A
 * replaced, a TXT added; Knot raises the serial by one. */
static void peer_update(struct peer *p)
{
	ck_assert(p->k == PEER_KNOT);
	unsigned n = ++p->version;
	char script[1024], path[PATH_MAX], y[160];
	FMT(script,
	    "server 127.0.0.1 %u\n"
	    "zone " ZONE "\n"
	    "update delete www." ZONE " A\n"
	    "update add www." ZONE " 300 A 192.0.2.%u\n"
	    "update add dyn%u." ZONE " 300 TXT \"dynamic update %u\"\n"
	    "send\n",
	    p->srv.port, 100 + n % 100, n, n);
	ck_assert_int_eq(harness_write_file(p->srv.dir, "update.txt", script), 0);
	FMT(path, "%s/update.txt", p->srv.dir);
	FMT(y, "hmac-sha256:xfr:%s", g_secret);
	const char *argv[] = {"knsupdate", "-y", y, path, NULL};
	struct harness_run r;
	ck_assert_int_eq(harness_run(argv, RUN_MS, &r), 0);
	ck_assert_msg(r.exit_code == 0, "knsupdate: exit %d: %.500s %.500s", r.exit_code, r.out,
	              r.err);
	harness_run_free(&r);
	p->serial++;
	ck_assert_msg(harness_wait_serial(&p->srv, ZONE, p->serial, FOLLOW_MS) == 0,
	              "knotd (primary) does not serve serial %u after the update", p->serial);
	printf("%s (primary): %s updated by knsupdate: serial %u\n", p->srv.name, ZONE, p->serial);
	fflush(stdout);
}

/* ---- the secondary: shoal (or knotd with SHOAL_XFR_SECONDARY=knot) ------------------------ */

struct sec {
	struct harness_server srv;
	char conf[PATH_MAX];
	char storage[PATH_MAX];
	char *argv[4]; /* knotd's */
};

struct sec_conf {
	const char *zones[4];  /* origins, NULL-terminated */
	uint16_t primary_port; /* its primary */
	uint16_t notify_port;  /* a secondary of its own to notify; 0: none */
	bool tiny_timers;      /* refresh-min-interval: 1, retry-min-interval: 1 */
};

/* Its folder and port; the configuration comes next (sec_write_conf). */
static void sec_prepare(struct sec *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	if (g_knot_sec) {
		char kname[32];
		snprintf(kname, sizeof(kname), "knotd-%s", name);
		ck_assert_int_eq(harness_server_init(&s->srv, kname), 0);
		ck_assert_int_eq(harness_pick_port(&s->srv.port), 0);
		char sub[PATH_MAX];
		FMT(sub, "%s/run", s->srv.dir);
		ck_assert_int_eq(mkdir(sub, 0755), 0);
		FMT(sub, "%s/db", s->srv.dir);
		ck_assert_int_eq(mkdir(sub, 0755), 0);
	} else {
		ck_assert_int_eq(harness_shoal_prepare(&s->srv), 0);
		snprintf(s->srv.name, sizeof(s->srv.name), "shoal-%s", name);
	}
	mark_dir(s->srv.dir);
	FMT(s->storage, "%s/storage", s->srv.dir);
	ck_assert_int_eq(mkdir(s->storage, 0755), 0);
	/* As /var/lib/shoal: the storage belongs to the user shoal runs as
	 * (shoal, else nobody, when started as root). */
	if (!g_knot_sec && geteuid() == 0) {
		const struct passwd *pw = getpwnam("shoal");
		if (pw == NULL)
			pw = getpwnam("nobody");
		ck_assert_ptr_nonnull(pw);
		ck_assert_int_eq(chown(s->storage, pw->pw_uid, pw->pw_gid), 0);
	}
	FMT(s->conf, "%s/%s", s->srv.dir, g_knot_sec ? "knot.conf" : "shoal.conf");
}

static void sec_write_conf(struct sec *s, const struct sec_conf *c)
{
	FILE *f = fopen(s->conf, "w");
	ck_assert_ptr_nonnull(f);
	if (g_knot_sec)
		fprintf(f,
		        "server:\n"
		        "  rundir: %s/run\n"
		        "  listen: 127.0.0.1@%u\n"
		        "  tcp-workers: 2\n"
		        "  udp-workers: 2\n"
		        "  background-workers: 2\n"
		        "log:\n"
		        "  - target: stderr\n"
		        "    any: info\n"
		        "database:\n"
		        "  storage: %s/db\n",
		        s->srv.dir, s->srv.port, s->srv.dir);
	else
		fprintf(f,
		        "server:\n"
		        "  listen: 127.0.0.1@%u\n"
		        "  threads: 2\n"
		        "  control: %s/ctl.sock\n"
		        "  log-level: info\n",
		        s->srv.port, s->srv.dir);
	fprintf(f,
	        "key:\n"
	        "  - id: xfr\n"
	        "    algorithm: hmac-sha256\n"
	        "    secret: %s\n"
	        "remote:\n"
	        "  - id: pri\n"
	        "    address: 127.0.0.1@%u\n"
	        "    key: xfr\n",
	        g_secret, c->primary_port);
	if (c->notify_port != 0)
		fprintf(f,
		        "  - id: down\n"
		        "    address: 127.0.0.1@%u\n"
		        "    key: xfr\n",
		        c->notify_port);
	/* out: the test's unsigned AXFR; out-signed: a secondary of this one
	 * asking with the key */
	fprintf(f, "acl:\n"
	           "  - id: out\n"
	           "    address: 127.0.0.0/8\n"
	           "    action: transfer\n"
	           "  - id: out-signed\n"
	           "    address: 127.0.0.0/8\n"
	           "    key: xfr\n"
	           "    action: transfer\n");
	if (g_knot_sec) /* Knot wants an acl for NOTIFY, even from its primary */
		fprintf(f, "  - id: notify-in\n"
		           "    address: 127.0.0.0/8\n"
		           "    key: xfr\n"
		           "    action: notify\n");
	fprintf(f, "zone:\n");
	for (size_t i = 0; c->zones[i] != NULL; i++) {
		fprintf(f,
		        "  - domain: %s\n"
		        "    storage: %s\n"
		        "    %s: pri\n"
		        "    acl: [out, out-signed%s]\n",
		        c->zones[i], s->storage, g_knot_sec ? "master" : "primary",
		        g_knot_sec ? ", notify-in" : "");
		if (c->notify_port != 0)
			fprintf(f, "    notify: [down]\n");
		/* Knot's smallest refresh-min-interval is 2 */
		if (c->tiny_timers)
			fprintf(f,
			        "    refresh-min-interval: %d\n"
			        "    retry-min-interval: 1\n",
			        g_knot_sec ? 2 : 1);
	}
	ck_assert_int_eq(fclose(f), 0);
}

static int sec_start(struct harness_server *srv, void *ctx)
{
	struct sec *s = ctx;
	if (g_knot_sec) {
		s->argv[0] = (char *)harness_knotd_path();
		s->argv[1] = "-c";
		s->argv[2] = s->conf;
		s->argv[3] = NULL;
		return harness_server_start(srv, s->argv);
	}
	return harness_shoal_start_config(srv, s->conf);
}

/* Start the secondary and wait until it answers at all (its zones may not
 * be there yet: the caller waits for them). The port is in the
 * configuration, and the primary notifies it: a port held a moment is
 * tried again, not another. */
static void sec_launch(struct sec *s)
{
	int rc = harness_start_same_port(&s->srv, sec_start, s, "xfr-in");
	if (rc != 0) {
		harness_server_dump_log(&s->srv, stdout, 4000);
		fflush(stdout);
	}
	ck_assert_msg(rc == 0, "%s (secondary) did not start: %s (its log is above)", s->srv.name,
	              harness_start_strerror(rc, &s->srv));
	printf("xfr-in: %s (secondary) on 127.0.0.1@%u, configuration %s\n", s->srv.name,
	       s->srv.port, s->conf);
	fflush(stdout);
}

/* shoalctl (knotc) cmd zone. \return its exit code; r holds its output
 * (harness_run_free() it). */
static int sec_ctl(const struct sec *s, const char *cmd, const char *zone, struct harness_run *r)
{
	char sock[PATH_MAX];
	const char *bin;
	if (g_knot_sec) {
		FMT(sock, "%s/run/knot.sock", s->srv.dir);
		bin = "knotc";
	} else {
		FMT(sock, "%s/ctl.sock", s->srv.dir);
		bin = getenv("SHOALCTL_BIN");
		ck_assert_msg(bin != NULL, "SHOALCTL_BIN is not set (run through meson test)");
	}
	const char *argv[] = {bin, "-s", sock, cmd, zone, NULL};
	ck_assert_int_eq(harness_run(argv, RUN_MS, r), 0);
	printf("%s %s %s: exit %d\n%s%s", bin, cmd, zone, r->exit_code, r->out, r->err);
	fflush(stdout);
	return r->exit_code;
}

/* Wait until the secondary serves zone (NOERROR SOA); dump both logs if not. */
static void sec_wait_zone(const struct sec *s, const struct harness_server *pri, const char *zone,
                          int ms)
{
	double t0 = harness_now_ms();
	int rc = harness_wait_rcode(&s->srv, zone, LDNS_RR_TYPE_SOA, LDNS_RCODE_NOERROR, ms);
	if (rc != 0) {
		harness_server_dump_log(&s->srv, stdout, 6000);
		if (pri != NULL)
			harness_server_dump_log(pri, stdout, 3000);
		fflush(stdout);
	}
	ck_assert_msg(rc == 0, "%s (secondary) does not serve %s within %d ms (logs above)",
	              s->srv.name, zone, ms);
	printf("%s: serves %s after %.0f ms\n", s->srv.name, zone, harness_now_ms() - t0);
	fflush(stdout);
}

/* Wait until the secondary serves zone with serial; dump both logs if not. */
static void sec_wait_serial(const struct sec *s, const struct harness_server *pri, const char *zone,
                            uint32_t serial, int ms)
{
	double t0 = harness_now_ms();
	int rc = harness_wait_serial(&s->srv, zone, serial, ms);
	if (rc != 0) {
		harness_server_dump_log(&s->srv, stdout, 6000);
		if (pri != NULL)
			harness_server_dump_log(pri, stdout, 3000);
		fflush(stdout);
	}
	ck_assert_msg(rc == 0,
	              "%s (secondary) does not serve %s serial %u within %d ms of the change (logs "
	              "above)",
	              s->srv.name, zone, serial, ms);
	printf("%s: serves %s serial %u after %.0f ms\n", s->srv.name, zone, serial,
	       harness_now_ms() - t0);
	fflush(stdout);
}

/* What the secondary's log says about the transfer that brought serial. */
struct xfr_seen {
	bool ixfr, axfr; /* a line about it names it (any case) */
};

/*
 * The lines of the log since `mark` about an incoming transfer of serial:
 * those that contain the serial in decimal (shoal: "zone Z: transferred
 * IXFR from pri 127.0.0.1:P, serial 1 -> 2, ...") or "incoming" (Knot:
 * "IXFR, incoming, remote ..."), but not those about a transfer out: a
 * secondary of this one may be asking meanwhile (Knot: "outgoing"; shoal:
 * "IXFR of zone Z from serial 1 to 2 for 127.0.0.1@P (TSIG) started").
 */
static bool about_transfer_out(const char *lower_line)
{
	return strstr(lower_line, "outgoing") != NULL || strstr(lower_line, " of zone ") != NULL ||
	       strstr(lower_line, " to 127.0.0.") != NULL ||
	       strstr(lower_line, " for 127.0.0.") != NULL;
}

static struct xfr_seen log_serial_scan(const struct harness_server *s, long mark, uint32_t serial,
                                       bool print)
{
	struct xfr_seen seen = {0};
	char want[16];
	snprintf(want, sizeof(want), "%u", serial);
	char *t = harness_log_since(s, mark);
	char *save = NULL;
	for (char *line = strtok_r(t, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *l = lower_dup(line);
		bool about = (strstr(l, want) != NULL || strstr(l, "incoming") != NULL) &&
		             !about_transfer_out(l);
		bool i = about && strstr(l, "ixfr") != NULL, a = about && strstr(l, "axfr") != NULL;
		free(l);
		seen.ixfr |= i;
		seen.axfr |= a;
		if (print && (i || a))
			printf("    %s log: %s\n", s->name, line);
	}
	free(t);
	return seen;
}

/*
 * Did serial come by IXFR? The lines of the log since mark about it
 * (log_serial_scan): one naming IXFR, none AXFR. Waits up to 2 s for such
 * a line (the log may follow the answer). Prints the lines. Call it before
 * the test transfers from the secondary itself.
 */
static bool sec_came_by_ixfr(const struct sec *s, long mark, uint32_t serial)
{
	double t0 = harness_now_ms();
	struct xfr_seen seen;
	for (;;) {
		seen = log_serial_scan(&s->srv, mark, serial, false);
		if (seen.ixfr || seen.axfr || harness_now_ms() - t0 > 2000)
			break;
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
	}
	/* a fallback line may come just after */
	struct timespec ts = {0, 300 * 1000000L};
	nanosleep(&ts, NULL);
	printf("%s: log lines about the transfer of serial %u:\n", s->srv.name, serial);
	seen = log_serial_scan(&s->srv, mark, serial, true);
	bool ok = seen.ixfr && !seen.axfr;
	printf("%s: serial %u came by %s\n", s->srv.name, serial,
	       ok          ? "IXFR"
	       : seen.axfr ? "AXFR"
	                   : "(no log line naming IXFR or AXFR)");
	fflush(stdout);
	return ok;
}

/* Lines of the log since mark naming AXFR (any case), but for transfers
 * out (see log_serial_scan). */
static unsigned log_axfr_lines(const struct harness_server *s, long mark)
{
	char *t = harness_log_since(s, mark);
	unsigned n = 0;
	char *save = NULL;
	for (char *line = strtok_r(t, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *l = lower_dup(line);
		if (strstr(l, "axfr") != NULL && !about_transfer_out(l)) {
			n++;
			printf("    %s log: %s\n", s->name, line);
		}
		free(l);
	}
	free(t);
	return n;
}

/* ---- fixtures ---------------------------------------------------------------------------- */

static struct peer g_peer;
static struct sec g_sec, g_sec2;

static void case_setup(void)
{
	memset(&g_peer, 0, sizeof(g_peer));
	memset(&g_sec, 0, sizeof(g_sec));
	memset(&g_sec2, 0, sizeof(g_sec2));
}

/* What a sanitizer said in shoal's log (an ASan build: -Db_sanitize=...),
 * once it has stopped: its report is written at exit. */
static bool sanitizer_report(const struct harness_server *s)
{
	if (g_knot_sec || s->log[0] == '\0')
		return false;
	char *t = harness_log_since(s, 0);
	const char *hit = NULL;
	static const char *const marks[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
	                                    "runtime error:", NULL};
	for (const char *const *m = marks; *m != NULL && hit == NULL; m++)
		hit = strstr(t, *m);
	if (hit != NULL)
		printf("----- %s: sanitizer report in its log -----\n%.6000s\n----- end -----\n",
		       s->name, hit);
	fflush(stdout);
	free(t);
	return hit != NULL;
}

static void case_teardown(void)
{
	/* shoal stopped first (SIGTERM: its sanitizer reports are written as
	 * it exits), read, then everything removed */
	harness_server_stop(&g_sec2.srv, 0);
	harness_server_stop(&g_sec.srv, 0);
	bool reports = sanitizer_report(&g_sec2.srv);
	reports |= sanitizer_report(&g_sec.srv);
	harness_server_cleanup(&g_sec2.srv);
	harness_server_cleanup(&g_sec.srv);
	harness_server_cleanup(&g_peer.srv);
	ck_assert_msg(!reports, "shoal's log has a sanitizer report (above)");
}

/* false (and a message) when the peer is not installed: the test passes. */
static bool have_peer(enum peer_kind k)
{
	if (peer_bin(k) != NULL)
		return true;
	printf("%s is not installed: test skipped (scripts/deps installs it)\n", peer_names[k]);
	return false;
}

/* A primary of kind k for zones, notifying a secondary prepared here, and
 * the secondary's configuration for them: both ready to start. */
static void pair_prepare(enum peer_kind k, unsigned zones, bool notify, bool tiny_timers)
{
	sec_prepare(&g_sec, "secondary");
	peer_init(&g_peer, k, zones, notify ? g_sec.srv.port : 0);
	struct sec_conf c = {.primary_port = g_peer.srv.port, .tiny_timers = tiny_timers};
	size_t n = 0;
	for (size_t i = 0; i < 3; i++)
		if (zones & (1u << i))
			c.zones[n++] = all_zones[i];
	c.zones[n] = NULL;
	sec_write_conf(&g_sec, &c);
}

/* ---- 1, 2: follow each primary ------------------------------------------------------------- */

START_TEST(follow)
{
	assert_setup();
	enum peer_kind k = (enum peer_kind)_i;
	if (!have_peer(k))
		return;
	pair_prepare(k, PZ_ZONE | PZ_SIGNED, true, false);
	peer_start(&g_peer);
	sec_launch(&g_sec);

	/* 1. the first transfer: both zones, equal; DO=1 answers equal */
	sec_wait_zone(&g_sec, &g_peer.srv, ZONE, FIRST_MS);
	sec_wait_zone(&g_sec, &g_peer.srv, SIGNED, FIRST_MS);
	/* printed, not checked: the first transfer is an AXFR */
	printf("%s: the first transfers:\n", g_sec.srv.name);
	struct timespec ts = {0, 300 * 1000000L};
	nanosleep(&ts, NULL);
	log_axfr_lines(&g_sec.srv, 0);
	ck_assert_msg(zones_equal(g_peer.srv.port, g_sec.srv.port, ZONE, g_peer.srv.name),
	              "%s: the first copy of %s differs from the primary's (above)",
	              g_peer.srv.name, ZONE);
	ck_assert_msg(zones_equal(g_peer.srv.port, g_sec.srv.port, SIGNED, g_peer.srv.name),
	              "%s: the first copy of %s differs from the primary's (above)",
	              g_peer.srv.name, SIGNED);
	ck_assert_msg(dnssec_same(g_peer.srv.port, g_sec.srv.port, g_peer.srv.name),
	              "%s: DO=1 answers of %s differ between the primary and the secondary (above)",
	              g_peer.srv.name, SIGNED);

	/* 2. two changes, each by NOTIFY and IXFR */
	bool peer_inc[2] = {false, false}, by_ixfr[2] = {false, false};
	for (int step = 0; step < 2; step++) {
		uint32_t from = g_peer.serial;
		long mark = harness_log_mark(&g_sec.srv);
		if (k == PEER_KNOT && step == 0)
			peer_update(&g_peer);
		else
			peer_edit(&g_peer);
		peer_inc[step] = peer_ixfr_incremental(g_peer.srv.port, ZONE, from, g_peer.serial,
		                                       g_peer.srv.name);
		sec_wait_serial(&g_sec, &g_peer.srv, ZONE, g_peer.serial, FOLLOW_MS);
		by_ixfr[step] = sec_came_by_ixfr(&g_sec, mark, g_peer.serial);
		ck_assert_msg(zones_equal(g_peer.srv.port, g_sec.srv.port, ZONE, g_peer.srv.name),
		              "%s: %s serial %u differs from the primary's (above)",
		              g_peer.srv.name, ZONE, g_peer.serial);
	}
	/* the signed zone untouched meanwhile */
	ck_assert(zones_equal(g_peer.srv.port, g_sec.srv.port, SIGNED, g_peer.srv.name));
	bool want_ixfr = k != PEER_NSD || nsd_creates_ixfr();
	for (int step = 0; step < 2; step++) {
		if (!want_ixfr) {
			printf(
			    "%s: change %d: IXFR not checked: this nsd has no create-ixfr (4.7+), "
			    "it answers IXFR with the whole zone\n",
			    g_peer.srv.name, step + 1);
			continue;
		}
		ck_assert_msg(
		    peer_inc[step],
		    "%s (primary) does not serve change %d as an incremental IXFR (above): "
		    "a problem of the test's peer configuration",
		    g_peer.srv.name, step + 1);
		ck_assert_msg(by_ixfr[step],
		              "%s: change %d (serial %u) did not come by IXFR according to the "
		              "secondary's log (above)",
		              g_peer.srv.name, step + 1, ZONE_S0 + step + 1);
	}
	fflush(stdout);
}
END_TEST

/* ---- 3: restart ------------------------------------------------------------------------- */

START_TEST(restart)
{
	assert_setup();
	if (!have_peer(PEER_KNOT))
		return;
	pair_prepare(PEER_KNOT, PZ_ZONE, true, false);
	peer_start(&g_peer);
	sec_launch(&g_sec);
	sec_wait_zone(&g_sec, &g_peer.srv, ZONE, FIRST_MS);
	/* a change, so the copy is more than the first transfer */
	peer_update(&g_peer);
	sec_wait_serial(&g_sec, &g_peer.srv, ZONE, g_peer.serial, FOLLOW_MS);
	ck_assert(zones_equal(g_peer.srv.port, g_sec.srv.port, ZONE, "restart"));
	struct harness_rrset_text before, after;
	zone_text(g_sec.srv.port, ZONE, &before);
	uint32_t had = g_peer.serial;

	/* The primary away, shoal restarted: the saved copy at once. */
	peer_stop(&g_peer);
	int rc = harness_server_stop(&g_sec.srv, 0);
	ck_assert_msg(rc == 0, "%s did not stop on SIGTERM within %d ms", g_sec.srv.name,
	              HARNESS_STOP_TIMEOUT_MS);
	/* the saved copy: storage/<zone>.zone, the `file:` default */
	char saved[PATH_MAX];
	FMT(saved, "%s/example.test.zone", g_sec.storage);
	ck_assert_msg(access(saved, R_OK) == 0, "no saved copy %s after the stop: %s", saved,
	              strerror(errno));
	double t0 = harness_now_ms();
	sec_launch(&g_sec);
	sec_wait_serial(&g_sec, NULL, ZONE, had, SAVED_MS);
	printf("restart: the saved copy (serial %u) answers %.0f ms after the start, the primary "
	       "not running\n",
	       had, harness_now_ms() - t0);
	zone_text(g_sec.srv.port, ZONE, &after);
	bool same = harness_rrset_text_diff(&before, &after, "saved copy", stdout);
	harness_rrset_text_free(&before);
	harness_rrset_text_free(&after);
	ck_assert_msg(same, "the copy served after the restart is not the one served before "
	                    "(\"-\" before, \"+\" after, above)");

	/* The primary back (it sends NOTIFY as it loads: nothing new), then a
	 * change: by IXFR from the serial of the saved copy. (Not a file
	 * edited while knotd was down: Knot 3.2 then answered the next IXFR
	 * AXFR-style, knotd being the secondary too.) */
	peer_start(&g_peer);
	struct timespec one = {1, 0};
	nanosleep(&one, NULL);
	long mark = harness_log_mark(&g_sec.srv);
	peer_update(&g_peer);
	sec_wait_serial(&g_sec, &g_peer.srv, ZONE, g_peer.serial, FOLLOW_MS);
	bool ixfr = sec_came_by_ixfr(&g_sec, mark, g_peer.serial);
	ck_assert(zones_equal(g_peer.srv.port, g_sec.srv.port, ZONE, "restart"));
	ck_assert_msg(ixfr,
	              "after the restart, serial %u did not come by IXFR (the journal or "
	              "the saved serial lost?)",
	              g_peer.serial);
}
END_TEST

/* ---- 4: faults --------------------------------------------------------------------------- */

START_TEST(unreachable)
{
	assert_setup();
	if (!have_peer(PEER_KNOT))
		return;
	pair_prepare(PEER_KNOT, PZ_ZONE, true, false);
	/* the primary's port picked, nothing listening there */
	sec_launch(&g_sec);
	double t0 = harness_now_ms();
	unsigned asked = 0, servfail = 0;
	int last = -1;
	while (harness_now_ms() - t0 < 2000) {
		last = harness_ask_rcode(g_sec.srv.port, ZONE, LDNS_RR_TYPE_SOA, HARNESS_UDP);
		asked++;
		if (last == LDNS_RCODE_SERVFAIL)
			servfail++;
		struct timespec ts = {0, 100 * 1000000L};
		nanosleep(&ts, NULL);
	}
	printf("unreachable: %u of %u SOA queries in 2 s answered SERVFAIL (last: %s)\n", servfail,
	       asked, last >= 0 ? harness_rcode_str((unsigned)last) : strerror(-last));
	fflush(stdout);
	if (servfail != asked)
		harness_server_dump_log(&g_sec.srv, stdout, 3000);
	ck_assert_msg(servfail == asked,
	              "with no primary, %s is not SERVFAIL throughout (%u of %u; last %s)", ZONE,
	              servfail, asked, last >= 0 ? harness_rcode_str((unsigned)last) : "no answer");
	peer_start(&g_peer);
	sec_wait_zone(&g_sec, &g_peer.srv, ZONE, FIRST_MS);
	ck_assert(zones_equal(g_peer.srv.port, g_sec.srv.port, ZONE, "unreachable"));
}
END_TEST

START_TEST(denied)
{
	assert_setup();
	static const enum peer_kind kinds[] = {PEER_KNOT, PEER_NSD};
	enum peer_kind k = kinds[_i];
	if (!have_peer(k))
		return;
	pair_prepare(k, PZ_ZONE, true, false);
	peer_start(&g_peer);
	sec_launch(&g_sec);
	sec_wait_zone(&g_sec, &g_peer.srv, ZONE, FIRST_MS);
	ck_assert(zones_equal(g_peer.srv.port, g_sec.srv.port, ZONE, g_peer.srv.name));
	struct harness_rrset_text before, after;
	zone_text(g_sec.srv.port, ZONE, &before);
	uint32_t had = g_peer.serial;

	/* back with a new version and an acl for 127.0.0.2 only */
	peer_stop(&g_peer);
	g_peer.deny = true;
	peer_write_conf(&g_peer);
	peer_write_next(&g_peer);
	peer_start(&g_peer);
	char why[1024];
	ldns_rr_list *l = NULL;
	ck_assert_msg(kdig_xfr(g_peer.srv.port, ZONE, 0, true, &l, why, sizeof(why)) < 0,
	              "%s (primary) still lets 127.0.0.1 transfer", g_peer.srv.name);
	printf("%s (primary) now refuses: %s\n", g_peer.srv.name, why);
	struct harness_run r;
	sec_ctl(&g_sec, "zone-refresh", ZONE, &r);
	harness_run_free(&r);
	/* Until zone-status names the failure (shoal), or 5 s (knotd). */
	bool named = false;
	double t0 = harness_now_ms();
	char *status = NULL;
	while (harness_now_ms() - t0 < (g_knot_sec ? 5000 : FOLLOW_MS)) {
		struct timespec ts = {0, 500 * 1000000L};
		nanosleep(&ts, NULL);
		const char *bin = g_knot_sec ? "knotc" : getenv("SHOALCTL_BIN");
		char sock[PATH_MAX];
		FMT(sock, g_knot_sec ? "%s/run/knot.sock" : "%s/ctl.sock", g_sec.srv.dir);
		const char *argv[] = {bin, "-s", sock, "zone-status", ZONE, NULL};
		ck_assert_int_eq(harness_run(argv, RUN_MS, &r), 0);
		free(status);
		ck_assert_int_ge(asprintf(&status, "exit %d\n%s%s", r.exit_code, r.out, r.err), 0);
		harness_run_free(&r);
		char *low = lower_dup(status);
		named = strstr(low, "refused") != NULL || strstr(low, "notauth") != NULL ||
		        strstr(low, "fail") != NULL || strstr(low, "error") != NULL;
		free(low);
		if (named && !g_knot_sec)
			break;
	}
	printf("%s: zone-status %s after the refused refresh:\n%s\n", g_sec.srv.name, ZONE, status);
	uint32_t serial = 0;
	ck_assert_int_eq(harness_soa_serial(g_sec.srv.port, ZONE, &serial), 0);
	zone_text(g_sec.srv.port, ZONE, &after);
	bool same = harness_rrset_text_diff(&before, &after, "kept copy", stdout);
	harness_rrset_text_free(&before);
	harness_rrset_text_free(&after);
	if (serial != had || !same || (!named && !g_knot_sec)) {
		harness_server_dump_log(&g_sec.srv, stdout, 4000);
		harness_server_dump_log(&g_peer.srv, stdout, 2000);
	}
	fflush(stdout);
	ck_assert_msg(serial == had, "with the primary refusing, %s went from serial %u to %u",
	              ZONE, had, serial);
	ck_assert_msg(same, "with the primary refusing, the copy changed (above)");
	if (!g_knot_sec)
		ck_assert_msg(named,
		              "zone-status does not name the failed transfer (no \"refused\", "
		              "\"notauth\", \"fail\", \"error\"):\n%s",
		              status);
	free(status);
	ldns_rr_list_deep_free(l);
}
END_TEST

START_TEST(expiry)
{
	assert_setup();
	if (!have_peer(PEER_KNOT))
		return;
	/* with NOTIFY: when knotd is back, its NOTIFY at load is what brings
	 * the zone back soon (a secondary backs off its retries meanwhile:
	 * knotd as the secondary waited 22 s) */
	pair_prepare(PEER_KNOT, PZ_TINY, true, true);
	peer_start(&g_peer);
	sec_launch(&g_sec);
	sec_wait_zone(&g_sec, &g_peer.srv, TINY, FIRST_MS);
	/* Past expire (3 s): refreshes every second keep it. */
	double t0 = harness_now_ms();
	unsigned asked = 0, ok = 0;
	while (harness_now_ms() - t0 < 5000) {
		asked++;
		if (harness_ask_rcode(g_sec.srv.port, TINY, LDNS_RR_TYPE_SOA, HARNESS_UDP) ==
		    LDNS_RCODE_NOERROR)
			ok++;
		struct timespec ts = {0, 200 * 1000000L};
		nanosleep(&ts, NULL);
	}
	printf("expiry: primary up: %u of %u SOA queries in 5 s NOERROR\n", ok, asked);
	if (ok != asked)
		harness_server_dump_log(&g_sec.srv, stdout, 4000);
	fflush(stdout);
	ck_assert_msg(ok == asked, "%s expired with its primary up (%u of %u NOERROR): no refresh?",
	              TINY, ok, asked);
	/* The primary gone: SERVFAIL after expire. */
	peer_stop(&g_peer);
	t0 = harness_now_ms();
	int rc =
	    harness_wait_rcode(&g_sec.srv, TINY, LDNS_RR_TYPE_SOA, LDNS_RCODE_SERVFAIL, EXPIRE_MS);
	double took = harness_now_ms() - t0;
	printf("expiry: SERVFAIL %.0f ms after the primary stopped\n", took);
	fflush(stdout);
	ck_assert_msg(rc == 0, "%s not expired %d ms after its primary stopped (expire 3)", TINY,
	              EXPIRE_MS);
	ck_assert_msg(took >= 1500,
	              "%s SERVFAIL %.0f ms after its primary stopped: sooner than "
	              "its expire (3 s) after the last refresh (1 s before)",
	              TINY, took);
	/* Back, with a new serial: knotd sends NOTIFY as it loads a zone
	 * whose serial is not the last it notified (it keeps that in its
	 * timer database across restarts). */
	write_zone(g_peer.zonedir, TINY, TINY_S0 + 1, 2, true);
	peer_start(&g_peer);
	sec_wait_serial(&g_sec, &g_peer.srv, TINY, TINY_S0 + 1, FIRST_MS);
	ck_assert(zones_equal(g_peer.srv.port, g_sec.srv.port, TINY, "expiry"));
}
END_TEST

/* ---- 5: zone-retransfer, zone-refresh ------------------------------------------------------ */

START_TEST(ctl)
{
	assert_setup();
	if (!have_peer(PEER_KNOT))
		return;
	/* no NOTIFY: the refresh is the test's */
	pair_prepare(PEER_KNOT, PZ_ZONE, false, false);
	peer_start(&g_peer);
	sec_launch(&g_sec);
	sec_wait_zone(&g_sec, &g_peer.srv, ZONE, FIRST_MS);
	/* zone-retransfer: a new AXFR line */
	struct timespec ts = {0, 500 * 1000000L};
	nanosleep(&ts, NULL);
	long mark = harness_log_mark(&g_sec.srv);
	struct harness_run r;
	int ex = sec_ctl(&g_sec, "zone-retransfer", ZONE, &r);
	harness_run_free(&r);
	ck_assert_msg(ex == 0, "zone-retransfer %s: exit %d", ZONE, ex);
	double t0 = harness_now_ms();
	unsigned axfr = 0;
	while (harness_now_ms() - t0 < FOLLOW_MS && (axfr = log_axfr_lines(&g_sec.srv, mark)) == 0)
		nanosleep(&ts, NULL);
	printf("ctl: %u log lines naming AXFR since zone-retransfer\n", axfr);
	if (axfr == 0)
		harness_server_dump_log(&g_sec.srv, stdout, 3000);
	fflush(stdout);
	ck_assert_msg(axfr > 0, "zone-retransfer: no log line naming AXFR within %d ms", FOLLOW_MS);
	ck_assert(zones_equal(g_peer.srv.port, g_sec.srv.port, ZONE, "ctl"));
	/* a change the secondary is not told of */
	uint32_t had = g_peer.serial;
	peer_update(&g_peer);
	struct timespec two = {2, 0};
	nanosleep(&two, NULL);
	uint32_t serial = 0;
	int rc = harness_soa_serial(g_sec.srv.port, ZONE, &serial);
	if (rc < 0 || !harness_server_running(&g_sec.srv)) {
		harness_server_dump_log(&g_sec.srv, stdout, 4000);
		fflush(stdout);
	}
	ck_assert_msg(rc == 0, "%s: SOA %s: %s (the secondary %s)", g_sec.srv.name, ZONE,
	              strerror(-rc), harness_server_running(&g_sec.srv) ? "runs" : "has exited");
	if (serial != had)
		printf("ctl: NOTE: the secondary has serial %u 2 s after an update it was not "
		       "notified of (refresh 3600): it refreshed by itself\n",
		       serial);
	else
		printf(
		    "ctl: 2 s after the update the secondary still has serial %u, as it should\n",
		    serial);
	mark = harness_log_mark(&g_sec.srv);
	ex = sec_ctl(&g_sec, "zone-refresh", ZONE, &r);
	harness_run_free(&r);
	ck_assert_msg(ex == 0, "zone-refresh %s: exit %d", ZONE, ex);
	sec_wait_serial(&g_sec, &g_peer.srv, ZONE, g_peer.serial, FOLLOW_MS);
	bool ixfr = sec_came_by_ixfr(&g_sec, mark, g_peer.serial);
	ck_assert(zones_equal(g_peer.srv.port, g_sec.srv.port, ZONE, "ctl"));
	ck_assert_msg(ixfr, "zone-refresh: serial %u did not come by IXFR (above)", g_peer.serial);
}
END_TEST

/* ---- 6: a chain knotd -> A -> B ----------------------------------------------------------- */

START_TEST(chain)
{
	assert_setup();
	if (!have_peer(PEER_KNOT))
		return;
	sec_prepare(&g_sec, "A");
	sec_prepare(&g_sec2, "B");
	peer_init(&g_peer, PEER_KNOT, PZ_ZONE, g_sec.srv.port);
	struct sec_conf a = {
	    .zones = {ZONE, NULL}, .primary_port = g_peer.srv.port, .notify_port = g_sec2.srv.port};
	struct sec_conf b = {.zones = {ZONE, NULL}, .primary_port = g_sec.srv.port};
	sec_write_conf(&g_sec, &a);
	sec_write_conf(&g_sec2, &b);
	peer_start(&g_peer);
	sec_launch(&g_sec);
	sec_launch(&g_sec2);
	sec_wait_zone(&g_sec, &g_peer.srv, ZONE, FIRST_MS);
	sec_wait_zone(&g_sec2, &g_sec.srv, ZONE, FIRST_MS);
	ck_assert(zones_equal(g_peer.srv.port, g_sec2.srv.port, ZONE, "chain B"));
	long mark_a = harness_log_mark(&g_sec.srv), mark_b = harness_log_mark(&g_sec2.srv);
	peer_update(&g_peer);
	sec_wait_serial(&g_sec, &g_peer.srv, ZONE, g_peer.serial, FOLLOW_MS);
	sec_wait_serial(&g_sec2, &g_sec.srv, ZONE, g_peer.serial, FOLLOW_MS);
	bool ia = sec_came_by_ixfr(&g_sec, mark_a, g_peer.serial);
	bool ib = sec_came_by_ixfr(&g_sec2, mark_b, g_peer.serial);
	ck_assert(zones_equal(g_peer.srv.port, g_sec.srv.port, ZONE, "chain A"));
	ck_assert(zones_equal(g_peer.srv.port, g_sec2.srv.port, ZONE, "chain B"));
	printf("chain: A got serial %u by %s, B by %s\n", g_peer.serial, ia ? "IXFR" : "not IXFR",
	       ib ? "IXFR" : "not IXFR");
	fflush(stdout);
	ck_assert_msg(ia, "chain: A did not get the update by IXFR from knotd (above)");
	ck_assert_msg(ib, "chain: B did not get the update by IXFR from A (above)");
}
END_TEST

/* ---- main ------------------------------------------------------------------------------------ */

static TCase *tcase(Suite *s, const char *name, int timeout)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, timeout);
	tcase_add_checked_fixture(tc, case_setup, case_teardown);
	suite_add_tcase(s, tc);
	return tc;
}

int main(void)
{
	bool any = false;
	for (int k = 0; k < NPEERS; k++)
		any |= peer_bin((enum peer_kind)k) != NULL;
	if (!any) {
		printf("none of knotd, nsd, named is installed: xfr-in skipped (scripts/deps "
		       "installs them)\n");
		return HARNESS_EXIT_SKIP;
	}
	const char *s2 = getenv("SHOAL_XFR_SECONDARY");
	bool knot_sec = s2 != NULL && strcmp(s2, "knot") == 0;
	if (knot_sec && harness_knotd_path() == NULL) {
		printf("knotd is not installed: xfr-in with knotd as the secondary skipped\n");
		return HARNESS_EXIT_SKIP;
	}
	if (!knot_sec && harness_shoal_bin() == NULL) {
		fprintf(stderr, "SHOAL_BIN is not set (run through meson test)\n");
		return EXIT_FAILURE;
	}
	g_main_pid = getpid();
	setup_once();
	Suite *s = suite_create("xfr-in");
	/* one test case per scenario (and per peer), each with its own timeout */
	static const char *const follow_names[NPEERS] = {"follow-knotd", "follow-nsd",
	                                                 "follow-named"};
	for (int k = 0; k < NPEERS; k++)
		tcase_add_loop_test(tcase(s, follow_names[k], 90), follow, k, k + 1);
	tcase_add_test(tcase(s, "restart", 90), restart);
	tcase_add_test(tcase(s, "unreachable", 60), unreachable);
	tcase_add_loop_test(tcase(s, "denied-knotd", 60), denied, 0, 1);
	tcase_add_loop_test(tcase(s, "denied-nsd", 60), denied, 1, 2);
	tcase_add_test(tcase(s, "expiry", 90), expiry);
	tcase_add_test(tcase(s, "ctl", 60), ctl);
	tcase_add_test(tcase(s, "chain", 90), chain);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (g_work[0] != '\0')
		harness_rmtree(g_work);
	remove_marked_dirs();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
