/*
 * check_xfr_out.c - shoal as a primary for real secondaries (e2e-xfr-out).
 *
 * shoal serves a small set of zones from a configuration file with a TSIG
 * key, access lists and `notify:` (Knot's spelling):
 *
 *   example.com.      tests/conformance/zones (delegations with glue and DS,
 *                     an occluded name, DNAMEs, escaped labels, big TXTs)
 *   sub.example.com.  its child, served beside it
 *   example.          tests/conformance/zones (wildcards)
 *   nsec3.test.       tests/dnssec/sec.zone signed with NSEC3 in the setup
 *                     (dnssec.h: fresh keys each run)
 *   big.test.         3,000 names made here (many messages per transfer)
 *   huge.test.        70,000 names (the stalled readers only)
 *   open.test.        an acl without keys: unsigned transfers allowed
 *   addr.test.        an acl for 127.0.0.2/32 with the key only
 *   noacl.test.       no acl at all: every transfer refused
 *
 * Direct checks (our own AXFR/IXFR client over ldns, and kdig):
 *   - AXFR unsigned of a zone whose acl lists the key: REFUSED;
 *   - signed with the right key name but a wrong secret: NOTAUTH, TSIG
 *     error BADSIG; with a key shoal does not know: NOTAUTH, BADKEY
 *     (RFC 8945 §5.2);
 *   - signed with the key: every zone whole, compared record for record
 *     with its source file, every message of the stream signed and
 *     verified (RFC 8945 §5.3.1: each MAC over the previous one); and
 *     `kdig -y` verifying the same;
 *   - AXFR of a zone shoal does not serve: NOTAUTH (RFC 5936 §2.2.1);
 *     this answer and the refusals of signed requests are signed too
 *     (RFC 8945 §5.3), and verified (Knot 3.2 leaves the NOTAUTH unsigned);
 *   - the acl rules: a rule without keys lets an unsigned request in; an
 *     address rule refuses 127.0.0.1 and lets 127.0.0.2 in; a zone without
 *     acl refuses a signed request;
 *   - after an edit and a reload, IXFR from the previous serial is the
 *     difference (RFC 1995 §4): SOA new, SOA old, removed, SOA new,
 *     added, SOA new;
 *   - 200 clients each open an AXFR of big.test. and read it slowly
 *     (256 octets per client every 10 ms, small receive buffers) while a
 *     UDP query load runs against shoal: 0 queries lost, every one of the
 *     200 streams whole (every record, the closing SOA) with every message
 *     signed and verified, every 10th compared with the file record for
 *     record, and shoal answers afterwards. (A 180 KB stream fits whole in
 *     shoal's socket send buffer on loopback, so these are slow for the
 *     kernel rather than for shoal:)
 *   - 10 clients AXFR huge.test. (4.5 MB) and read nothing for 3 s, then
 *     everything: meanwhile shoal has those transfers running (shoalctl
 *     stats: transfers less transfers_done), answers TCP queries, loses no
 *     UDP query of a load; afterwards every stream is whole and signed.
 *
 * Real secondaries (one test each), started on loopback ports with their
 * own configuration in a temporary folder, in the foreground, as the
 * test's user, never as system services:
 *   knotd (Knot 3.2), nsd (NSD 4.6, -d, no remote control, no database),
 *   named (BIND 9.18, -f -d 3, an empty controls block, its xfer-in and
 *   notify categories logged at debug level 3 to stderr).
 * Each is a secondary of shoal for every zone with the TSIG key (transfers
 * and NOTIFY signed), and lets the test AXFR its copy (unsigned, from
 * 127.0.0.1). For each:
 *   1. it transfers every zone; its copy, asked by AXFR, equals the source
 *      file record for record;
 *   2. the example.com. file is edited (serial + 1, www A changed, a TXT
 *      added) and shoal reloaded (SIGHUP): within 20 s the peer answers the
 *      new data (the SOA refresh is an hour: only a NOTIFY brings it that
 *      soon, and knotd and nsd take it only signed with the key), its copy
 *      equals the new file, and it came by IXFR:
 *        knotd  logs "IXFR, incoming ... finished" and no new "AXFR, incoming";
 *        named  logs "got incremental response" (at -d 3) and no new
 *               "got nonincremental response";
 *        nsd    logs nothing of the kind, but with store-ixfr: yes (and
 *               create-ixfr: no, its default) it keeps the differences it
 *               received by IXFR, and only those: the test asks it for IXFR
 *               from the old serial and wants an incremental answer;
 *   3. shoal is restarted on the same port, the file edited again and
 *      shoal reloaded with `shoalctl reload`: the peer follows as in 2
 *      (NOTIFY, IXFR from the journal kept under the zone's storage, which
 *      belongs to the user shoal runs as, as /var/lib/shoal would).
 *
 * Environment:
 *   SHOAL_XFR_PRIMARY=knot   run everything against knotd as the primary
 *                            instead of shoal: a check of the test itself
 *                            (e2e-xfr-out-knot). Allowed for: Knot answers
 *                            a transfer the acl denies with NOTAUTH where
 *                            shoal, NSD and BIND say REFUSED, and leaves
 *                            the NOTAUTH for a zone it does not serve
 *                            unsigned; the slow and stalled readers are not
 *                            run (its TCP workers serve one transfer each
 *                            at a time)
 *   SHOAL_NSD, SHOAL_NAMED   optional paths of nsd and named
 *
 * A peer binary that is not installed skips that peer's test (it passes
 * with a message); the whole program exits 77 only when none of knotd, nsd
 * and named is installed. scripts/deps installs all three.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "dnssec.h"
#include "harness.h"

/* snprintf into an array, failing the test if it does not fit. */
#define FMT(buf, ...) ck_assert_int_lt(snprintf((buf), sizeof(buf), __VA_ARGS__), (int)sizeof(buf))

#define KEY_NAME "xfr."
#define KEY_ALG "hmac-sha256."
/* RFC 8945 §10: fudge 300 s is the recommended value. */
#define TSIG_FUDGE 300
/* How long a secondary may take to transfer a zone, or to follow a NOTIFY:
 * on loopback a transfer of these zones takes milliseconds; the bound is
 * for a NOTIFY lost and retried (Knot, NSD and BIND retry after a few s). */
#define PEER_WAIT_MS 20000
/* One whole transfer by our own client. */
#define XFR_TIMEOUT_MS 10000
/* The slow clients: how many, how much each reads per round, how often. */
#define SLOW_CLIENTS 200
#define SLOW_CHUNK 256
#define SLOW_ROUND_MS 10
#define SLOW_DEADLINE_MS 60000
/* Every stream is counted and its TSIGs verified (which covers every
 * octet); every 10th is also compared with the file, record by record
 * (through a digest of their text): the text of 1.2 million records would
 * make the test, not shoal, the slow reader, under ASan most of all. */
#define SLOW_DIGEST_EVERY 10
/* big.test.: names, each with an A and a TXT (about 180 KB on the wire,
 * twelve 16 KiB messages). */
#define BIG_NAMES 3000
/* huge.test.: the same with more names, about 4.5 MB on the wire: more
 * than the kernel's socket buffers on loopback hold (a 180 KB stream sits
 * whole in shoal's send buffer, which grows to 4 MiB, so its writer never
 * waits for a slow reader of big.test.), so a reader that stops reading
 * keeps shoal's transfer running. */
#define HUGE_NAMES 70000
#define STALL_CLIENTS 10
#define STALL_MS 3000

/* The zones the primary serves, and which acl each has. */
enum zacl { ZACL_KEY, ZACL_OPEN, ZACL_ADDR, ZACL_NONE };
struct zdef {
	const char *origin;
	enum zacl acl;
	bool peers; /* the secondaries transfer it */
};
static const struct zdef zdefs[] = {
    {"example.com.", ZACL_KEY, true},      {"sub.example.com.", ZACL_KEY, true},
    {"example.", ZACL_KEY, true},          {"nsec3.test.", ZACL_KEY, true},
    {"big.test.", ZACL_KEY, true},         {"open.test.", ZACL_OPEN, false},
    {"addr.test.", ZACL_ADDR, false},      {"noacl.test.", ZACL_NONE, false},
    {"huge.test.", ZACL_KEY, false},
};
#define NZONES (sizeof(zdefs) / sizeof(zdefs[0]))
/* The zone the tests edit. */
#define EDIT_ZONE "example.com."

/* ---- the setup: zones made once (unchecked fixture) ------------------------ */

static char g_work[PATH_MAX];   /* temp folder of the run */
static char g_srczones[PATH_MAX]; /* the zone files as made, <origin>zone */
static char g_secret[64];       /* base64 of 32 random octets */
static char g_wrong_secret[64]; /* another one, for BADSIG */
static bool g_knot_primary;     /* SHOAL_XFR_PRIMARY=knot */
static char g_setup_error[512];

static void set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g_setup_error, sizeof(g_setup_error), fmt, ap);
	va_end(ap);
}

/* The file name of a zone: origin without the final dot + ".zone"
 * ("example.com.zone"), as shoal --zones and the harness's knotd expect. */
static void zone_file_name(char *out, size_t size, const char *origin)
{
	size_t l = strlen(origin);
	snprintf(out, size, "%.*s.zone", (int)(l > 1 ? l - 1 : l), origin);
}

/* Copy a file, putting text in front. \return 0 or -errno. */
static int copy_with_prefix(const char *from, const char *dir, const char *name, const char *prefix)
{
	FILE *f = fopen(from, "r");
	if (f == NULL)
		return -errno;
	size_t cap = 4096, len = strlen(prefix);
	char *buf = malloc(cap);
	int rc = 0;
	if (buf == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	memcpy(buf, prefix, len);
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap *= 2);
			if (nb == NULL) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
		}
		size_t r = fread(buf + len, 1, 4096, f);
		len += r;
		if (r < 4096)
			break;
	}
	fclose(f);
	if (rc == 0) {
		buf[len] = '\0';
		rc = harness_write_file(dir, name, buf);
	}
	free(buf);
	return rc;
}

/* A small zone under origin (for the acl zones). */
static int write_small_zone(const char *dir, const char *origin)
{
	char name[256];
	zone_file_name(name, sizeof(name), origin);
	return harness_write_filef(dir, name,
	                           "$ORIGIN %s\n$TTL 300\n"
	                           "@ IN SOA ns1 hostmaster 1 3600 900 604800 300\n"
	                           "@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.2\n"
	                           "www IN TXT \"%s\"\n",
	                           origin, origin);
}

/* origin (absolute) with `names` names, each an A and a TXT. */
static int write_big_zone(const char *dir, const char *origin, unsigned names)
{
	size_t cap = (size_t)names * 128 + 4096, len = 0;
	char *t = malloc(cap);
	if (t == NULL)
		return -ENOMEM;
	len += (size_t)snprintf(t + len, cap - len,
	                        "$ORIGIN %s\n$TTL 600\n"
	                        "@ IN SOA ns1 hostmaster 1 3600 900 604800 300\n"
	                        "@ IN NS ns1\nns1 IN A 192.0.2.1\n",
	                        origin);
	for (unsigned i = 0; i < names; i++)
		len += (size_t)snprintf(t + len, cap - len,
		                        "host%04u IN A 10.%u.%u.%u\nhost%04u IN TXT \"name %u of %u\"\n",
		                        i, i >> 16, (i >> 8) & 255, i & 255, i, i, names);
	char name[256];
	zone_file_name(name, sizeof(name), origin);
	int rc = harness_write_file(dir, name, t);
	free(t);
	return rc;
}

static void zones_make(void)
{
	const char *p = getenv("SHOAL_XFR_PRIMARY");
	g_knot_primary = p != NULL && strcmp(p, "knot") == 0;
	harness_random_secret(g_secret, sizeof(g_secret));
	harness_random_secret(g_wrong_secret, sizeof(g_wrong_secret));
	int rc = harness_tmpdir(g_work, sizeof(g_work), "xfr-out");
	if (rc < 0) {
		set_error("temporary folder: %s", strerror(-rc));
		return;
	}
	FMT(g_srczones, "%s/zones", g_work);
	if (mkdir(g_srczones, 0755) != 0) {
		set_error("%s: %s", g_srczones, strerror(errno));
		return;
	}
	char src[PATH_MAX], tmpl[PATH_MAX];
	static const char *const conf_zones[] = {"example.com.zone", "sub.example.com.zone",
	                                         "example.zone"};
	for (size_t i = 0; i < 3; i++) {
		char rel[PATH_MAX];
		FMT(rel, "tests/conformance/zones/%s", conf_zones[i]);
		if ((rc = harness_srcpath(src, sizeof(src), rel)) < 0 ||
		    (rc = copy_with_prefix(src, g_srczones, conf_zones[i], "")) < 0) {
			set_error("%s: %s", rel, strerror(-rc));
			return;
		}
	}
	const char *missing = harness_dnssec_missing_tool(HARNESS_DNSSEC_NSEC3);
	if (missing != NULL) {
		set_error("%s is not installed (run scripts/deps)", missing);
		return;
	}
	struct harness_dnssec_zone made;
	if ((rc = harness_srcpath(tmpl, sizeof(tmpl), "tests/dnssec/sec.zone")) < 0 ||
	    (rc = harness_dnssec_make(tmpl, "nsec3.test.", HARNESS_DNSSEC_NSEC3, g_work, g_srczones,
	                              &made)) < 0) {
		set_error("cannot sign nsec3.test.: %s", strerror(-rc));
		return;
	}
	if ((rc = write_big_zone(g_srczones, "big.test.", BIG_NAMES)) < 0 ||
	    (rc = write_big_zone(g_srczones, "huge.test.", HUGE_NAMES)) < 0 ||
	    (rc = write_small_zone(g_srczones, "open.test.")) < 0 ||
	    (rc = write_small_zone(g_srczones, "addr.test.")) < 0 ||
	    (rc = write_small_zone(g_srczones, "noacl.test.")) < 0) {
		set_error("writing zones: %s", strerror(-rc));
		return;
	}
	printf("xfr-out: zones made in %s; primary: %s\n", g_srczones,
	       g_knot_primary ? "knotd (SHOAL_XFR_PRIMARY=knot)" : "shoal");
	fflush(stdout);
}

static void zones_drop(void)
{
	if (g_work[0] != '\0')
		harness_rmtree(g_work);
	g_work[0] = '\0';
	g_setup_error[0] = '\0';
}

static void assert_setup(void)
{
	ck_assert_msg(g_setup_error[0] == '\0', "setup failed: %s", g_setup_error);
}

/* ---- zone text ----------------------------------------------------------------- */

/* The records of a zone file as a set of canonical strings (TTLs kept). */
static int file_rrs(const char *path, const char *origin, struct harness_rrset_text *out)
{
	memset(out, 0, sizeof(*out));
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -errno;
	ldns_rdf *o = ldns_dname_new_frm_str(origin);
	ldns_zone *z = NULL;
	int line = 0;
	ldns_status st = ldns_zone_new_frm_fp_l(&z, f, o, 3600, LDNS_RR_CLASS_IN, &line);
	fclose(f);
	ldns_rdf_deep_free(o);
	if (st != LDNS_STATUS_OK) {
		fprintf(stderr, "%s:%d: %s\n", path, line, ldns_get_errorstr_by_id(st));
		return -EINVAL;
	}
	ldns_rr_list *all = ldns_rr_list_clone(ldns_zone_rrs(z));
	ldns_rr_list_push_rr(all, ldns_rr_clone(ldns_zone_soa(z)));
	int rc = harness_rrset_text(all, true, out);
	ldns_rr_list_deep_free(all);
	ldns_zone_deep_free(z);
	return rc;
}

static void zone_path(char *out, size_t size, const char *dir, const char *origin)
{
	char name[256];
	zone_file_name(name, sizeof(name), origin);
	snprintf(out, size, "%s/%s", dir, name);
}

/* An order-free digest of a set of canonical RR strings (FNV-1a per string,
 * summed): what the slow clients compare instead of keeping 200 copies. */
static uint64_t rr_digest(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return h;
}

/* The serial of the test zone's source file (EDIT_ZONE). */
static uint32_t base_serial(void)
{
	return 2024010101;
}

/* ---- our transfer client ---------------------------------------------------------- */

struct tsig_key {
	const char *name;   /* "xfr." */
	const char *secret; /* base64 */
};

/* One AXFR or IXFR over TCP, read message by message (RFC 5936 §2.2, RFC
 * 1995 §4), each message parsed with ldns and, with a key, its TSIG
 * verified (RFC 8945 §5.3.1: the first over the request's MAC, each next
 * over the previous MAC with the timers only). */
struct xfr {
	int fd;
	uint16_t id;
	const struct tsig_key *key;
	ldns_rdf *mac; /* the MAC the next signed message is made over */
	bool collect;  /* keep the RRs (else only count them) */
	bool digest_on; /* not collecting: digest them (rr_digest of the text) */
	/* framing */
	uint8_t lenbuf[2];
	size_t lenhave;
	uint8_t *msg;
	size_t msglen, msghave;
	/* outcome */
	bool done;
	bool failed;    /* a read, parse or TSIG failure: err says which */
	char err[512];
	int rcode;      /* of the first message; -1 before */
	int tsig_error; /* the TSIG error field of the first message; -1: no TSIG */
	unsigned messages, signed_messages;
	ldns_rr_list *rrs; /* every answer RR in order, when collect */
	size_t nrr;
	uint64_t digest; /* sum over the RRs but the closing SOA */
	uint64_t last_digest; /* the last RR's, taken back out at the end */
	uint32_t first_serial;
	bool first_seen;
	ldns_rr_type qtype;
};

static void xfr_fail(struct xfr *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xfr_fail(struct xfr *x, const char *fmt, ...)
{
	if (!x->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(x->err, sizeof(x->err), fmt, ap);
		va_end(ap);
	}
	x->failed = true;
	x->done = true;
}

static void xfr_free(struct xfr *x)
{
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	free(x->msg);
	x->msg = NULL;
	ldns_rdf_deep_free(x->mac);
	x->mac = NULL;
	ldns_rr_list_deep_free(x->rrs);
	x->rrs = NULL;
}

/*
 * Connect to 127.0.0.1:port (from src when not NULL) and send the request:
 * qtype AXFR, or IXFR with ixfr_serial in an authority SOA, signed with key
 * when not NULL (key_secret overrides the key's secret: a wrong one).
 * rcvbuf > 0 sets SO_RCVBUF (the slow clients). Non-blocking afterwards
 * when nonblock. \return 0 or -errno (x->err says why).
 */
static int xfr_start(struct xfr *x, uint16_t port, const char *src, const char *zone,
                     ldns_rr_type qtype, uint32_t ixfr_serial, const struct tsig_key *key,
                     bool collect, int rcvbuf, bool nonblock)
{
	memset(x, 0, sizeof(*x));
	x->fd = -1;
	x->rcode = -1;
	x->tsig_error = -1;
	x->key = key;
	x->collect = collect;
	x->qtype = qtype;
	if (collect)
		x->rrs = ldns_rr_list_new();
	uint16_t id;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)rand();
	x->id = id;
	struct harness_query q = {.qname = zone, .qtype = qtype, .transport = HARNESS_TCP};
	ldns_pkt *p = harness_build_query(&q, id);
	if (p == NULL) {
		xfr_fail(x, "cannot build the request for %s", zone);
		return -EINVAL;
	}
	if (qtype == LDNS_RR_TYPE_IXFR) {
		char soa[600];
		snprintf(soa, sizeof(soa), "%s 0 IN SOA . . %u 0 0 0 0", zone, ixfr_serial);
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, soa, 0, NULL, NULL) != LDNS_STATUS_OK) {
			ldns_pkt_free(p);
			xfr_fail(x, "cannot build the IXFR SOA");
			return -EINVAL;
		}
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
	}
	if (key != NULL) {
		ldns_status st = ldns_pkt_tsig_sign(p, key->name, key->secret, TSIG_FUDGE, KEY_ALG, NULL);
		if (st != LDNS_STATUS_OK) {
			ldns_pkt_free(p);
			xfr_fail(x, "ldns_pkt_tsig_sign: %s", ldns_get_errorstr_by_id(st));
			return -EINVAL;
		}
		x->mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(p), 3));
	}
	uint8_t *wire = NULL;
	size_t wlen = 0;
	ldns_status st = ldns_pkt2wire(&wire, p, &wlen);
	ldns_pkt_free(p);
	if (st != LDNS_STATUS_OK) {
		xfr_fail(x, "ldns_pkt2wire: %s", ldns_get_errorstr_by_id(st));
		return -EINVAL;
	}
	int rc = 0;
	x->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (x->fd < 0) {
		rc = -errno;
		xfr_fail(x, "socket: %s", strerror(errno));
		goto out;
	}
	if (rcvbuf > 0)
		setsockopt(x->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (src != NULL) {
		struct sockaddr_in me = {.sin_family = AF_INET};
		inet_pton(AF_INET, src, &me.sin_addr);
		if (bind(x->fd, (struct sockaddr *)&me, sizeof(me)) != 0) {
			rc = -errno;
			xfr_fail(x, "bind %s: %s", src, strerror(errno));
			goto out;
		}
	}
	struct timeval tv = {.tv_sec = XFR_TIMEOUT_MS / 1000};
	setsockopt(x->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(x->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		xfr_fail(x, "connect 127.0.0.1:%u: %s", port, strerror(errno));
		goto out;
	}
	uint8_t *framed = malloc(wlen + 2);
	if (framed == NULL) {
		rc = -ENOMEM;
		xfr_fail(x, "out of memory");
		goto out;
	}
	framed[0] = (uint8_t)(wlen >> 8);
	framed[1] = (uint8_t)wlen;
	memcpy(framed + 2, wire, wlen);
	ssize_t w = send(x->fd, framed, wlen + 2, MSG_NOSIGNAL);
	free(framed);
	if (w != (ssize_t)(wlen + 2)) {
		rc = w < 0 ? -errno : -EIO;
		xfr_fail(x, "send: %s", w < 0 ? strerror(errno) : "short");
		goto out;
	}
	if (nonblock)
		fcntl(x->fd, F_SETFL, fcntl(x->fd, F_GETFL) | O_NONBLOCK);
out:
	free(wire);
	return rc;
}

/* One whole message arrived: parse, verify, collect. */
static void xfr_message(struct xfr *x)
{
	x->messages++;
	ldns_pkt *p = NULL;
	ldns_status st = ldns_wire2pkt(&p, x->msg, x->msglen);
	if (st != LDNS_STATUS_OK) {
		xfr_fail(x, "message %u does not parse: %s", x->messages,
		         ldns_get_errorstr_by_id(st));
		return;
	}
	if (ldns_pkt_id(p) != x->id) {
		xfr_fail(x, "message %u: ID %u, want %u", x->messages, ldns_pkt_id(p), x->id);
		goto out;
	}
	const ldns_rr *tsig = ldns_pkt_tsig(p);
	if (x->messages == 1) {
		x->rcode = ldns_pkt_get_rcode(p);
		if (tsig != NULL)
			x->tsig_error = (int)ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5));
	}
	/* A signed request gets signed answers, refusals included (RFC 8945
	 * §5.3), but for the TSIG errors themselves (BADSIG, BADKEY: §5.3.2,
	 * unsigned). */
	if (x->key != NULL &&
	    (x->rcode == LDNS_RCODE_NOERROR || (tsig != NULL && x->tsig_error == 0))) {
		if (tsig == NULL) {
			/* RFC 8945 §5.3.1 lets a server leave out up to 99; we
			 * want every message signed, as Knot, NSD and BIND do. */
			xfr_fail(x, "message %u has no TSIG", x->messages);
			goto out;
		}
		bool ok = x->messages == 1
		              ? ldns_pkt_tsig_verify(p, x->msg, x->msglen, x->key->name,
		                                     x->key->secret, x->mac)
		              : ldns_pkt_tsig_verify_next(p, x->msg, x->msglen, x->key->name,
		                                          x->key->secret, x->mac, 1);
		if (!ok) {
			xfr_fail(x, "message %u: the TSIG does not verify", x->messages);
			goto out;
		}
		x->signed_messages++;
		ldns_rdf_deep_free(x->mac);
		x->mac = ldns_rdf_clone(ldns_rr_rdf(tsig, 3));
	} else if (tsig != NULL) {
		x->signed_messages++;
	}
	if (x->rcode != LDNS_RCODE_NOERROR) {
		x->done = true;
		goto out;
	}
	const ldns_rr_list *an = ldns_pkt_answer(p);
	size_t n = an ? ldns_rr_list_rr_count(an) : 0;
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		bool soa = ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA;
		if (x->nrr == 0) {
			if (!soa) {
				xfr_fail(x, "the first record is not the SOA");
				goto out;
			}
			x->first_serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
			x->first_seen = true;
		}
		x->nrr++;
		if (x->collect) {
			ldns_rr_list_push_rr(x->rrs, ldns_rr_clone(rr));
		} else if (x->digest_on) {
			char *c = harness_rr_canon(rr, true);
			x->last_digest = c ? rr_digest(c) : 0;
			x->digest += x->last_digest;
			free(c);
		}
		/* The stream ends with the first SOA again (AXFR, and an
		 * AXFR-style IXFR), or for an incremental IXFR with the new
		 * SOA at the end of a message: good enough for the small
		 * differences here. */
		if (soa && x->nrr > 1 && i + 1 == n &&
		    ldns_rdf2native_int32(ldns_rr_rdf(rr, 2)) == x->first_serial) {
			x->done = true;
			if (!x->collect)
				x->digest -= x->last_digest;
		}
	}
	/* IXFR answered with the SOA alone: up to date (RFC 1995 §4). */
	if (x->qtype == LDNS_RR_TYPE_IXFR && x->messages == 1 && x->nrr == 1)
		x->done = true;
out:
	ldns_pkt_free(p);
}

/* Read what the socket has, up to max octets (0: all). \return false once
 * done (finished, failed or closed). */
static bool xfr_read(struct xfr *x, size_t max)
{
	size_t budget = max ? max : SIZE_MAX;
	while (!x->done && budget > 0) {
		uint8_t *dst;
		size_t want;
		if (x->lenhave < 2) {
			dst = x->lenbuf + x->lenhave;
			want = 2 - x->lenhave;
		} else {
			dst = x->msg + x->msghave;
			want = x->msglen - x->msghave;
		}
		if (want > budget)
			want = budget;
		ssize_t r = recv(x->fd, dst, want, 0);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return true;
		if (r <= 0) {
			xfr_fail(x, "the connection %s after %u messages, %zu records",
			         r == 0 ? "closed" : strerror(errno), x->messages, x->nrr);
			return false;
		}
		budget -= (size_t)r;
		if (x->lenhave < 2) {
			x->lenhave += (size_t)r;
			if (x->lenhave == 2) {
				x->msglen = (size_t)x->lenbuf[0] << 8 | x->lenbuf[1];
				x->msghave = 0;
				free(x->msg);
				x->msg = malloc(x->msglen ? x->msglen : 1);
				if (x->msg == NULL) {
					xfr_fail(x, "out of memory");
					return false;
				}
			}
		} else {
			x->msghave += (size_t)r;
		}
		if (x->lenhave == 2 && x->msghave == x->msglen) {
			xfr_message(x);
			x->lenhave = 0;
		}
	}
	return !x->done;
}

/* A whole transfer, blocking with a deadline. \return 0 when it ran to its
 * end (whatever the rcode: see x->rcode), else -1 (x->err says why). */
static int xfr_run(struct xfr *x, uint16_t port, const char *src, const char *zone,
                   ldns_rr_type qtype, uint32_t ixfr_serial, const struct tsig_key *key)
{
	if (xfr_start(x, port, src, zone, qtype, ixfr_serial, key, true, 0, true) < 0)
		return -1;
	double end = harness_now_ms() + XFR_TIMEOUT_MS;
	while (!x->done) {
		double left = end - harness_now_ms();
		if (left <= 0) {
			xfr_fail(x, "no end within %d ms (%u messages, %zu records)", XFR_TIMEOUT_MS,
			         x->messages, x->nrr);
			break;
		}
		struct pollfd pfd = {.fd = x->fd, .events = POLLIN};
		if (poll(&pfd, 1, (int)left) > 0)
			xfr_read(x, 0);
	}
	return x->failed ? -1 : 0;
}

/* The key and a copy with the wrong secret, and one shoal does not know. */
static const struct tsig_key *key_good(void)
{
	static struct tsig_key k;
	k = (struct tsig_key){KEY_NAME, g_secret};
	return &k;
}
static const struct tsig_key *key_wrong_secret(void)
{
	static struct tsig_key k;
	k = (struct tsig_key){KEY_NAME, g_wrong_secret};
	return &k;
}
static const struct tsig_key *key_unknown(void)
{
	static struct tsig_key k;
	k = (struct tsig_key){"stranger.", g_secret};
	return &k;
}

/*
 * AXFR zone from port (with key, or unsigned) and compare with the file
 * path, printing the differences. \return true when equal.
 */
static bool axfr_equals_file(uint16_t port, const char *zone, const struct tsig_key *key,
                             const char *path, const char *who, char *why, size_t whysize)
{
	struct xfr x;
	bool ok = false;
	struct harness_rrset_text want = {0}, got = {0};
	if (xfr_run(&x, port, NULL, zone, LDNS_RR_TYPE_AXFR, 0, key) < 0) {
		snprintf(why, whysize, "%s: AXFR %s: %s", who, zone, x.err);
		goto out;
	}
	if (x.rcode != LDNS_RCODE_NOERROR) {
		snprintf(why, whysize, "%s: AXFR %s: %s", who, zone, harness_rcode_str(x.rcode));
		goto out;
	}
	int rc = file_rrs(path, zone, &want);
	if (rc < 0) {
		snprintf(why, whysize, "%s: %s", path, strerror(-rc));
		goto out;
	}
	/* The closing SOA repeats the first (RFC 5936 §2.2): once is the zone. */
	ldns_rr_free(ldns_rr_list_pop_rr(x.rrs));
	if (harness_rrset_text(x.rrs, true, &got) < 0) {
		snprintf(why, whysize, "out of memory");
		goto out;
	}
	char label[300];
	snprintf(label, sizeof(label), "%s %s", who, zone);
	ok = harness_rrset_text_diff(&want, &got, label, stdout);
	if (!ok)
		snprintf(why, whysize,
		         "%s: the AXFR of %s differs from %s (\"-\" only in the file, \"+\" only "
		         "in the transfer, above)",
		         who, zone, path);
	else
		printf("%s: %s AXFR equals the file: %zu records, %u messages, %u signed\n", who,
		       zone, want.n, x.messages, x.signed_messages);
out:
	fflush(stdout);
	harness_rrset_text_free(&want);
	harness_rrset_text_free(&got);
	xfr_free(&x);
	return ok;
}

/* ---- the primary: shoal, or knotd with SHOAL_XFR_PRIMARY=knot ----------------------- */

struct primary {
	struct harness_server srv;
	char conf[PATH_MAX];
	char zonedir[PATH_MAX]; /* the files it serves (and the edits) */
	const char *const *ready;
	char *const *argv; /* knotd's, kept for a restart */
};

static const char *g_ready[NZONES + 1];

static const char *acl_of(enum zacl a)
{
	switch (a) {
	case ZACL_KEY:
		return "    acl: [to-secondaries]\n";
	case ZACL_OPEN:
		return "    acl: [open]\n";
	case ZACL_ADDR:
		return "    acl: [only-127-0-0-2]\n";
	case ZACL_NONE:
		break;
	}
	return "";
}

/*
 * The key:, remote:, acl: and zone: sections, the same for shoal and
 * knotd. notify_port: a secondary to notify of every peer zone (0: none).
 */
static void write_common_conf(FILE *f, const char *zonedir, uint16_t notify_port)
{
	fprintf(f,
	        "key:\n"
	        "  - id: xfr\n"
	        "    algorithm: hmac-sha256\n"
	        "    secret: %s\n",
	        g_secret);
	if (notify_port != 0)
		fprintf(f,
		        "remote:\n"
		        "  - id: peer\n"
		        "    address: 127.0.0.1@%u\n"
		        "    key: xfr\n",
		        notify_port);
	fprintf(f, "acl:\n"
	           "  - id: to-secondaries\n"
	           "    address: 127.0.0.0/8\n"
	           "    key: xfr\n"
	           "    action: transfer\n"
	           "  - id: open\n"
	           "    address: 127.0.0.0/8\n"
	           "    action: transfer\n"
	           "  - id: only-127-0-0-2\n"
	           "    address: 127.0.0.2/32\n"
	           "    key: xfr\n"
	           "    action: transfer\n"
	           "zone:\n");
	for (size_t i = 0; i < NZONES; i++) {
		char name[256];
		zone_file_name(name, sizeof(name), zdefs[i].origin);
		fprintf(f, "  - domain: %s\n    file: %s/%s\n%s", zdefs[i].origin, zonedir, name,
		        acl_of(zdefs[i].acl));
		if (notify_port != 0 && zdefs[i].peers)
			fprintf(f, "    notify: [peer]\n");
	}
}

static void primary_launch(struct primary *p)
{
	int rc;
	if (g_knot_primary) {
		rc = harness_server_start(&p->srv, p->argv);
		ck_assert_msg(rc == 0, "knotd (primary) did not start: %s",
		              harness_start_strerror(rc, &p->srv));
		/* harness_server_start() waited for any reply; now every zone */
		for (size_t i = 0; i < NZONES; i++)
			ck_assert_int_eq(harness_wait_rcode(&p->srv, zdefs[i].origin, LDNS_RR_TYPE_SOA,
			                                    LDNS_RCODE_NOERROR, 0),
			                 0);
		return;
	}
	const char *args[] = {"--config", p->conf, NULL};
	struct harness_shoal_opts o = {.no_zones = true,
	                               .no_listen = true,
	                               .no_threads = true,
	                               .port_fixed = true,
	                               .args = args,
	                               .ready = p->ready};
	rc = harness_shoal_launch(&p->srv, &o);
	if (rc != 0) {
		harness_server_dump_log(&p->srv, stdout, 3000);
		fflush(stdout);
	}
	ck_assert_msg(rc == 0, "shoal (primary) did not start: %s (its log is above)",
	              harness_start_strerror(rc, &p->srv));
}

/* Start the primary on copies of the zones, notifying 127.0.0.1@notify_port
 * (0: nobody) of changes to the peer zones. */
static void primary_start(struct primary *p, uint16_t notify_port)
{
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < NZONES; i++)
		g_ready[i] = zdefs[i].origin;
	g_ready[NZONES] = NULL;
	p->ready = g_ready;
	int rc;
	if (g_knot_primary) {
		ck_assert_int_eq(harness_server_init(&p->srv, "knotd"), 0);
		ck_assert_int_eq(harness_pick_port(&p->srv.port), 0);
		FMT(p->zonedir, "%s/zones", p->srv.dir);
	} else {
		ck_assert_int_eq(harness_shoal_prepare(&p->srv), 0);
		FMT(p->zonedir, "%s", p->srv.zonedir);
	}
	char sub[PATH_MAX];
	if (g_knot_primary) {
		ck_assert_int_eq(mkdir(p->zonedir, 0755), 0);
		FMT(sub, "%s/run", p->srv.dir);
		ck_assert_int_eq(mkdir(sub, 0755), 0);
		FMT(sub, "%s/db", p->srv.dir);
		ck_assert_int_eq(mkdir(sub, 0755), 0);
	}
	rc = harness_copy_zones(g_srczones, p->zonedir);
	ck_assert_int_eq(rc, (int)NZONES);
	/* The zones' storage is where shoal keeps its journals: as for
	 * /var/lib/shoal, it belongs to the user shoal runs as, which is
	 * shoal, else nobody, when started as root (the files in it stay
	 * root's, readable by all). */
	if (!g_knot_primary && geteuid() == 0) {
		const struct passwd *pw = getpwnam("shoal");
		if (pw == NULL)
			pw = getpwnam("nobody");
		ck_assert_ptr_nonnull(pw);
		ck_assert_int_eq(chown(p->zonedir, pw->pw_uid, pw->pw_gid), 0);
	}
	FMT(p->conf, "%s/%s", p->srv.dir, g_knot_primary ? "knot.conf" : "shoal.conf");
	FILE *f = fopen(p->conf, "w");
	ck_assert_ptr_nonnull(f);
	if (g_knot_primary)
		fprintf(f,
		        "server:\n"
		        "  rundir: %s/run\n"
		        "  listen: 127.0.0.1@%u\n"
		        "  tcp-workers: 2\n"
		        "  udp-workers: 2\n"
		        "  background-workers: 1\n"
		        "  tcp-io-timeout: 30000\n"
		        "  tcp-idle-timeout: 30\n"
		        "log:\n"
		        "  - target: stderr\n"
		        "    any: info\n"
		        "database:\n"
		        "  storage: %s/db\n"
		        "template:\n"
		        "  - id: default\n"
		        "    storage: %s\n"
		        "    zonefile-load: difference\n"
		        "    journal-content: changes\n"
		        "    zonefile-sync: -1\n"
		        "    semantic-checks: off\n",
		        p->srv.dir, p->srv.port, p->srv.dir, p->zonedir);
	else
		fprintf(f,
		        "server:\n"
		        "  listen: 127.0.0.1@%u\n"
		        "  threads: 2\n"
		        "  control: %s/ctl.sock\n"
		        "  log-level: info\n"
		        /* room for the 200 slow readers at once (default 10) */
		        "  transfers-out: 250\n"
		        "template:\n"
		        "  - id: default\n"
		        "    storage: %s\n",
		        p->srv.port, p->srv.dir, p->zonedir);
	write_common_conf(f, p->zonedir, notify_port);
	ck_assert_int_eq(fclose(f), 0);
	if (g_knot_primary) {
		static char *argv[4];
		argv[0] = (char *)harness_knotd_path();
		argv[1] = "-c";
		argv[2] = p->conf;
		argv[3] = NULL;
		ck_assert_ptr_nonnull(argv[0]);
		p->argv = argv;
	}
	primary_launch(p);
	printf("xfr-out: %s (primary) on 127.0.0.1@%u, configuration %s\n", p->srv.name,
	       p->srv.port, p->conf);
	fflush(stdout);
}

static void primary_restart(struct primary *p)
{
	harness_server_stop(&p->srv, 0);
	primary_launch(p);
}

/* Make the primary read its zone files again: SIGHUP (shoal: a reload of
 * the changed files; knotd: `knotc reload`), or with ctl `shoalctl reload`
 * (knotd: SIGHUP all the same). */
static void primary_reload(struct primary *p, bool ctl)
{
	if (!ctl || g_knot_primary) {
		ck_assert_int_eq(kill(p->srv.pid, SIGHUP), 0);
		return;
	}
	const char *bin = getenv("SHOALCTL_BIN");
	ck_assert_msg(bin != NULL, "SHOALCTL_BIN is not set (run through meson test)");
	char sock[PATH_MAX];
	FMT(sock, "%s/ctl.sock", p->srv.dir);
	const char *argv[] = {bin, "-s", sock, "reload", NULL};
	struct harness_run r;
	ck_assert_int_eq(harness_run(argv, 30000, &r), 0);
	ck_assert_msg(r.exit_code == 0, "shoalctl reload: exit %d\n%.1000s%.1000s", r.exit_code,
	              r.out, r.err);
	harness_run_free(&r);
}

/* Edit the test zone: serial `serial`, www's first A 192.0.2.<last>, a TXT
 * "edit <n>" at a new name, edited. The file's times are set 2 s apart from the
 * last write so a reload sees the change. */
static void edit_zone(const struct primary *p, uint32_t serial, unsigned last, unsigned n)
{
	char path[PATH_MAX], src[PATH_MAX];
	zone_path(path, sizeof(path), p->zonedir, EDIT_ZONE);
	zone_path(src, sizeof(src), g_srczones, EDIT_ZONE);
	FILE *f = fopen(src, "r");
	ck_assert_ptr_nonnull(f);
	char *text = NULL;
	size_t cap = 0, len = 0;
	char line[4096];
	while (fgets(line, sizeof(line), f) != NULL) {
		char out[4200];
		if (strstr(line, "IN SOA") != NULL)
			snprintf(out, sizeof(out),
			         "@                 7200 IN SOA   ns1.example.com. hostmaster.example.com. "
			         "%u 3600 900 604800 300\n",
			         serial);
		else if (strncmp(line, "www ", 4) == 0 && strstr(line, "192.0.2.10") != NULL)
			snprintf(out, sizeof(out),
			         "www                    IN A     192.0.2.%u\n"
			         "edited                 IN TXT   \"edit %u\"\n",
			         last, n);
		else
			snprintf(out, sizeof(out), "%s", line);
		size_t l = strlen(out);
		if (len + l + 1 > cap) {
			cap = (cap + l + 1) * 2;
			text = realloc(text, cap);
			ck_assert_ptr_nonnull(text);
		}
		memcpy(text + len, out, l + 1);
		len += l;
	}
	fclose(f);
	char name[256];
	zone_file_name(name, sizeof(name), EDIT_ZONE);
	ck_assert_int_eq(harness_write_file(p->zonedir, name, text), 0);
	free(text);
	/* A reload within the same second as the last one must still see it:
	 * move the file's times forward. */
	struct timeval tv[2];
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec += n;
	tv[1] = tv[0];
	ck_assert_int_eq(utimes(path, tv), 0);
}


/* ---- direct checks ------------------------------------------------------------------ */

static struct primary g_prim;

static void direct_setup(void)
{
	assert_setup();
	primary_start(&g_prim, 0);
}

static void direct_teardown(void)
{
	harness_server_cleanup(&g_prim.srv);
}

/* The rcode a transfer denied by the acl gets: REFUSED (shoal, NSD, BIND);
 * Knot says NOTAUTH. */
static bool denied_rcode(int rcode)
{
	return rcode == LDNS_RCODE_REFUSED || (g_knot_primary && rcode == LDNS_RCODE_NOTAUTH);
}

START_TEST(axfr_unsigned_refused)
{
	struct xfr x;
	for (size_t i = 0; i < NZONES; i++) {
		if (zdefs[i].acl == ZACL_OPEN)
			continue;
		int rc = xfr_run(&x, g_prim.srv.port, NULL, zdefs[i].origin, LDNS_RR_TYPE_AXFR, 0,
		                 NULL);
		ck_assert_msg(rc == 0, "AXFR %s unsigned: %s", zdefs[i].origin, x.err);
		ck_assert_msg(denied_rcode(x.rcode), "AXFR %s unsigned: %s, want REFUSED (%u records)",
		              zdefs[i].origin, harness_rcode_str((unsigned)x.rcode), (unsigned)x.nrr);
		ck_assert_msg(x.nrr == 0, "AXFR %s unsigned: %zu records in a refusal",
		              zdefs[i].origin, x.nrr);
		xfr_free(&x);
	}
}
END_TEST

START_TEST(axfr_bad_keys)
{
	struct xfr x;
	/* The key's name with another secret: BADSIG. */
	int rc = xfr_run(&x, g_prim.srv.port, NULL, "example.com.", LDNS_RR_TYPE_AXFR, 0,
	                 key_wrong_secret());
	ck_assert_msg(rc == 0, "AXFR with a wrong secret: %s", x.err);
	ck_assert_msg(x.rcode == LDNS_RCODE_NOTAUTH && x.tsig_error == 16,
	              "AXFR with a wrong secret: %s, TSIG error %d; want NOTAUTH, BADSIG (16)",
	              harness_rcode_str((unsigned)x.rcode), x.tsig_error);
	ck_assert_int_eq(x.nrr, 0);
	xfr_free(&x);
	/* A key the server does not know: BADKEY. */
	rc = xfr_run(&x, g_prim.srv.port, NULL, "example.com.", LDNS_RR_TYPE_AXFR, 0, key_unknown());
	ck_assert_msg(rc == 0, "AXFR with an unknown key: %s", x.err);
	ck_assert_msg(x.rcode == LDNS_RCODE_NOTAUTH && x.tsig_error == 17,
	              "AXFR with an unknown key: %s, TSIG error %d; want NOTAUTH, BADKEY (17)",
	              harness_rcode_str((unsigned)x.rcode), x.tsig_error);
	ck_assert_int_eq(x.nrr, 0);
	xfr_free(&x);
	/* kdig says the same */
	char y[256];
	FMT(y, "hmac-sha256:xfr:%s", g_wrong_secret);
	char port[16];
	FMT(port, "%u", g_prim.srv.port);
	const char *argv[] = {"kdig", "@127.0.0.1", "-p", port, "-y", y, "AXFR", "example.com.",
	                      NULL};
	struct harness_run r;
	ck_assert_int_eq(harness_run(argv, 0, &r), 0);
	ck_assert_msg(r.exit_code != 0 &&
	                  (strstr(r.out, "BADSIG") != NULL || strstr(r.err, "BADSIG") != NULL),
	              "kdig -y (wrong secret): exit %d, want an error naming BADSIG:\n%.1000s%.1000s",
	              r.exit_code, r.out, r.err);
	harness_run_free(&r);
}
END_TEST

START_TEST(axfr_signed_whole)
{
	bool ok = true;
	char why[1024] = "";
	for (size_t i = 0; i < NZONES; i++) {
		/* huge.test. is the stalled readers' (below) */
		if (zdefs[i].acl != ZACL_KEY || !zdefs[i].peers)
			continue;
		char path[PATH_MAX];
		zone_path(path, sizeof(path), g_srczones, zdefs[i].origin);
		char w[1024];
		if (!axfr_equals_file(g_prim.srv.port, zdefs[i].origin, key_good(), path,
		                      g_prim.srv.name, w, sizeof(w))) {
			ok = false;
			printf("FAIL %s\n", w);
			snprintf(why, sizeof(why), "%s", w);
		}
	}
	ck_assert_msg(ok, "%s", why);
	/* kdig -y verifies the TSIG of every message and fails otherwise. */
	char y[256], port[16];
	FMT(y, "hmac-sha256:xfr:%s", g_secret);
	FMT(port, "%u", g_prim.srv.port);
	const char *argv[] = {"kdig", "@127.0.0.1", "-p", port, "-y", y, "AXFR", "big.test.",
	                      "+noall", "+answer", "+stats", NULL};
	struct harness_run r;
	ck_assert_int_eq(harness_run(argv, 30000, &r), 0);
	ck_assert_msg(r.exit_code == 0 && strstr(r.out, "WARNING") == NULL &&
	                  strstr(r.err, "WARNING") == NULL && strstr(r.out, "ERROR") == NULL,
	              "kdig -y AXFR big.test.: exit %d\n%.1000s\n%.1000s", r.exit_code, r.out,
	              r.err);
	/* 2 SOA + NS + ns1 A + two per name */
	unsigned want = 4 + 2 * BIG_NAMES, got = 0;
	for (const char *s = r.out; (s = strstr(s, "\tIN\t")) != NULL; s++)
		got++;
	ck_assert_msg(got == want, "kdig -y AXFR big.test.: %u records, want %u", got, want);
	const char *stats = strstr(r.out, ";; Received");
	printf("kdig -y AXFR big.test.: %u records, TSIG verified; %.*s\n", got,
	       stats ? (int)strcspn(stats, "\n") : 0, stats ? stats : "");
	harness_run_free(&r);
}
END_TEST

START_TEST(axfr_not_served)
{
	struct xfr x;
	static const char *const others[] = {"example.net.", "nothere.test.", "com.",
	                                     "www.example.com.", NULL};
	for (const char *const *z = others; *z != NULL; z++) {
		int rc = xfr_run(&x, g_prim.srv.port, NULL, *z, LDNS_RR_TYPE_AXFR, 0, key_good());
		ck_assert_msg(rc == 0, "AXFR %s: %s", *z, x.err);
		ck_assert_msg(x.rcode == LDNS_RCODE_NOTAUTH,
		              "AXFR %s (not a zone served): %s, want NOTAUTH", *z,
		              harness_rcode_str((unsigned)x.rcode));
		ck_assert_int_eq(x.nrr, 0);
		/* Knot 3.2 answers this one unsigned */
		ck_assert_msg(x.signed_messages == 1 || g_knot_primary,
		              "AXFR %s: the NOTAUTH is not signed", *z);
		xfr_free(&x);
	}
}
END_TEST

START_TEST(acl_rules)
{
	struct xfr x;
	char path[PATH_MAX], why[1024];
	/* A rule without keys: an unsigned request is let in. */
	zone_path(path, sizeof(path), g_srczones, "open.test.");
	ck_assert_msg(axfr_equals_file(g_prim.srv.port, "open.test.", NULL, path, "acl without key",
	                               why, sizeof(why)),
	              "%s", why);
	/* An address rule for 127.0.0.2 only: 127.0.0.1 refused even signed,
	 * 127.0.0.2 let in. */
	int rc = xfr_run(&x, g_prim.srv.port, NULL, "addr.test.", LDNS_RR_TYPE_AXFR, 0, key_good());
	ck_assert_msg(rc == 0, "AXFR addr.test. from 127.0.0.1: %s", x.err);
	ck_assert_msg(denied_rcode(x.rcode),
	              "AXFR addr.test. from 127.0.0.1 (acl: 127.0.0.2/32): %s, want REFUSED",
	              harness_rcode_str((unsigned)x.rcode));
	ck_assert_msg(x.signed_messages == 1, "the refusal of a signed AXFR is not signed");
	xfr_free(&x);
	rc = xfr_run(&x, g_prim.srv.port, "127.0.0.2", "addr.test.", LDNS_RR_TYPE_AXFR, 0,
	             key_good());
	ck_assert_msg(rc == 0, "AXFR addr.test. from 127.0.0.2: %s", x.err);
	ck_assert_msg(x.rcode == LDNS_RCODE_NOERROR && x.nrr == 6,
	              "AXFR addr.test. from 127.0.0.2 (acl: 127.0.0.2/32): %s, %zu records, want "
	              "NOERROR and 6",
	              harness_rcode_str((unsigned)x.rcode), x.nrr);
	xfr_free(&x);
	/* A zone without acl: refused, signed or not. */
	rc = xfr_run(&x, g_prim.srv.port, NULL, "noacl.test.", LDNS_RR_TYPE_AXFR, 0, key_good());
	ck_assert_msg(rc == 0, "AXFR noacl.test.: %s", x.err);
	ck_assert_msg(denied_rcode(x.rcode), "AXFR noacl.test. (no acl), signed: %s, want REFUSED",
	              harness_rcode_str((unsigned)x.rcode));
	ck_assert_msg(x.signed_messages == 1, "the refusal of a signed AXFR is not signed");
	xfr_free(&x);
	/* A signed request under a keyed rule for the wrong zone's address
	 * does not leak into the open zone either way: the open zone takes a
	 * signed request too (RFC 8945: a signed request gets a signed reply). */
	rc = xfr_run(&x, g_prim.srv.port, NULL, "open.test.", LDNS_RR_TYPE_AXFR, 0, key_good());
	ck_assert_msg(rc == 0, "AXFR open.test. signed: %s", x.err);
	printf("acl: open.test. signed: %s, %zu records, %u of %u messages signed\n",
	       harness_rcode_str((unsigned)x.rcode), x.nrr, x.signed_messages, x.messages);
	xfr_free(&x);
}
END_TEST

/* The IXFR from `from` of the test zone, checked against what edit_zone()
 * changed (www A 192.0.2.10 or .<old_last> removed, .<last> and a TXT added).
 * \return true when incremental and right; prints why not. */
static bool ixfr_is_difference(uint16_t port, const struct tsig_key *key, uint32_t from,
                               uint32_t to, const char *who)
{
	struct xfr x;
	bool ok = false;
	if (xfr_run(&x, port, NULL, EDIT_ZONE, LDNS_RR_TYPE_IXFR, from, key) < 0) {
		printf("%s: IXFR %s from %u: %s\n", who, EDIT_ZONE, from, x.err);
		goto out;
	}
	if (x.rcode != LDNS_RCODE_NOERROR) {
		printf("%s: IXFR %s from %u: %s\n", who, EDIT_ZONE, from,
		       harness_rcode_str((unsigned)x.rcode));
		goto out;
	}
	size_t n = ldns_rr_list_rr_count(x.rrs);
	/* RFC 1995 §4: SOA(to), then for each step SOA(old) removed... SOA(new)
	 * added..., then SOA(to). */
	const ldns_rr *r0 = n > 0 ? ldns_rr_list_rr(x.rrs, 0) : NULL;
	const ldns_rr *r1 = n > 1 ? ldns_rr_list_rr(x.rrs, 1) : NULL;
	if (r0 == NULL || r1 == NULL || ldns_rr_get_type(r1) != LDNS_RR_TYPE_SOA) {
		printf("%s: IXFR %s from %u: not incremental (%zu records; the second is %s)\n", who,
		       EDIT_ZONE, from, n, r1 ? "not an SOA: an AXFR-style answer" : "missing");
		goto out;
	}
	uint32_t s0 = ldns_rdf2native_int32(ldns_rr_rdf(r0, 2));
	uint32_t s1 = ldns_rdf2native_int32(ldns_rr_rdf(r1, 2));
	if (s0 != to || s1 != from) {
		printf("%s: IXFR %s: SOA serials %u, %u; want %u, %u\n", who, EDIT_ZONE, s0, s1, to,
		       from);
		goto out;
	}
	/* Walk the sections: removed between SOA(old) and SOA(new), added
	 * between SOA(new) and the next SOA. */
	unsigned removed = 0, added = 0, steps = 0;
	bool adding = true; /* the SOA(old) at 1 starts a removal */
	for (size_t i = 1; i + 1 < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(x.rrs, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
			adding = !adding;
			if (!adding)
				steps++;
			continue;
		}
		if (adding)
			added++;
		else
			removed++;
	}
	/* edit_zone() from the source file: the A removed, the A and the
	 * TXT added; from one edit to the next the old TXT is removed too. */
	unsigned want_removed = from == base_serial() ? 1 : 2;
	if (added != 2 || removed != want_removed || steps != 1) {
		printf("%s: IXFR %s from %u: %u removed, %u added in %u steps; want %u, 2, 1\n",
		       who, EDIT_ZONE, from, removed, added, steps, want_removed);
		goto out;
	}
	printf("%s: IXFR %s %u -> %u: incremental, %u removed, %u added, %u messages, %u "
	       "signed\n",
	       who, EDIT_ZONE, from, to, removed, added, x.messages, x.signed_messages);
	ok = true;
out:
	fflush(stdout);
	xfr_free(&x);
	return ok;
}

/* Wait until the primary serves serial. */
static void wait_serial(const struct harness_server *s, const char *zone, uint32_t serial)
{
	ck_assert_msg(harness_wait_serial(s, zone, serial, PEER_WAIT_MS) == 0,
	              "%s does not serve %s serial %u", s->name, zone, serial);
}

START_TEST(ixfr_direct)
{
	uint32_t s0 = base_serial(), s1 = s0 + 1;
	edit_zone(&g_prim, s1, 99, 1);
	primary_reload(&g_prim, false);
	wait_serial(&g_prim.srv, EDIT_ZONE, s1);
	/* the file and the AXFR agree after the edit */
	char path[PATH_MAX], why[1024];
	zone_path(path, sizeof(path), g_prim.zonedir, EDIT_ZONE);
	ck_assert_msg(axfr_equals_file(g_prim.srv.port, EDIT_ZONE, key_good(), path,
	                               g_prim.srv.name, why, sizeof(why)),
	              "%s", why);
	bool inc = ixfr_is_difference(g_prim.srv.port, key_good(), s0, s1, g_prim.srv.name);
	/* IXFR from the current serial: the SOA alone (RFC 1995 §2). */
	struct xfr x;
	int rc = xfr_run(&x, g_prim.srv.port, NULL, EDIT_ZONE, LDNS_RR_TYPE_IXFR, s1, key_good());
	bool uptodate = rc == 0 && x.rcode == LDNS_RCODE_NOERROR && x.nrr == 1;
	if (!uptodate)
		printf("%s: IXFR from the current serial: %s, %zu records (want NOERROR, the SOA "
		       "alone)\n",
		       g_prim.srv.name, rc == 0 ? harness_rcode_str((unsigned)x.rcode) : x.err,
		       x.nrr);
	xfr_free(&x);
	ck_assert_msg(inc, "IXFR from the previous serial is not the difference (above)");
	ck_assert_msg(uptodate, "IXFR from the current serial is not the SOA alone (above)");
}
END_TEST

/* ---- 200 slow readers under query load ------------------------------------------ */

START_TEST(slow_clients_under_load)
{
	if (g_knot_primary) {
		/* Knot writes a transfer from a TCP worker until it is sent
		 * (up to tcp-io-timeout): two workers serve 200 slow readers
		 * one pair at a time, minutes. Not a reference for this. */
		printf("slow clients: not run against knotd (its TCP workers serve one "
		       "transfer at a time each)\n");
		return;
	}
	/* What every stream must add up to. */
	char path[PATH_MAX];
	zone_path(path, sizeof(path), g_srczones, "big.test.");
	struct harness_rrset_text want;
	ck_assert_int_eq(file_rrs(path, "big.test.", &want), 0);
	uint64_t want_digest = 0;
	for (size_t i = 0; i < want.n; i++)
		want_digest += rr_digest(want.rr[i]);
	size_t want_n = want.n + 1; /* the closing SOA */
	harness_rrset_text_free(&want);

	static const char *const names[] = {"www.example.com.", "ns1.example.com.",
	                                    "mail.example.com.", "host0001.big.test.",
	                                    "www.open.test.", NULL};
	struct harness_load_opts lo = {
	    .port = g_prim.srv.port, .names = names, .threads = 2, .rate = 2000};
	struct harness_load *load = NULL;
	ck_assert_int_eq(harness_load_start(&lo, &load), 0);

	struct xfr *xs = calloc(SLOW_CLIENTS, sizeof(*xs));
	ck_assert_ptr_nonnull(xs);
	double t0 = harness_now_ms();
	unsigned started = 0;
	for (unsigned i = 0; i < SLOW_CLIENTS; i++) {
		if (xfr_start(&xs[i], g_prim.srv.port, NULL, "big.test.", LDNS_RR_TYPE_AXFR, 0,
		              key_good(), false, 4096, true) == 0)
			started++;
		else
			printf("slow client %u: %s\n", i, xs[i].err);
		xs[i].digest_on = i % SLOW_DIGEST_EVERY == 0;
	}
	double t_open = harness_now_ms() - t0;
	/* Round robin: every SLOW_ROUND_MS, at most SLOW_CHUNK octets from each. */
	unsigned open = SLOW_CLIENTS;
	double deadline = t0 + SLOW_DEADLINE_MS;
	while (open > 0 && harness_now_ms() < deadline) {
		open = 0;
		for (unsigned i = 0; i < SLOW_CLIENTS; i++) {
			if (xs[i].done)
				continue;
			xfr_read(&xs[i], SLOW_CHUNK);
			if (!xs[i].done)
				open++;
		}
		struct timespec ts = {0, SLOW_ROUND_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	double t_all = harness_now_ms() - t0;
	struct harness_load_stats st;
	harness_load_stop(load, &st);
	harness_load_print(&st, "UDP load during the slow transfers", stdout);

	unsigned whole = 0, bad = 0;
	char first_bad[700] = "";
	for (unsigned i = 0; i < SLOW_CLIENTS; i++) {
		struct xfr *x = &xs[i];
		const char *why = NULL;
		char buf[600];
		if (!x->done) {
			snprintf(buf, sizeof(buf), "unfinished after %d ms (%u messages, %zu records)",
			         SLOW_DEADLINE_MS, x->messages, x->nrr);
			why = buf;
		} else if (x->failed) {
			why = x->err;
		} else if (x->rcode != LDNS_RCODE_NOERROR) {
			snprintf(buf, sizeof(buf), "%s", harness_rcode_str((unsigned)x->rcode));
			why = buf;
		} else if (x->nrr != want_n || (x->digest_on && x->digest != want_digest)) {
			snprintf(buf, sizeof(buf), "%zu records (want %zu)%s", x->nrr, want_n,
			         x->digest_on && x->digest != want_digest ? ", not the file's records"
			                                                  : "");
			why = buf;
		} else if (x->signed_messages != x->messages) {
			snprintf(buf, sizeof(buf), "%u of %u messages signed", x->signed_messages,
			         x->messages);
			why = buf;
		}
		if (why == NULL) {
			whole++;
		} else {
			if (bad++ == 0)
				snprintf(first_bad, sizeof(first_bad), "client %u: %s", i, why);
		}
		xfr_free(x);
	}
	free(xs);
	printf("%u slow AXFRs of big.test. (%zu records each): %u whole and verified, %u not; "
	       "opened in %.0f ms, all done in %.0f ms\n",
	       SLOW_CLIENTS, want_n, whole, bad, t_open, t_all);
	if (bad > 0)
		harness_server_dump_log(&g_prim.srv, stdout, 6000);
	fflush(stdout);
	/* shoal still answers, over UDP and TCP */
	ck_assert_int_eq(harness_ask_rcode(g_prim.srv.port, "example.com.", LDNS_RR_TYPE_SOA,
	                                   HARNESS_UDP),
	                 0);
	ck_assert_int_eq(harness_ask_rcode(g_prim.srv.port, "example.com.", LDNS_RR_TYPE_SOA,
	                                   HARNESS_TCP),
	                 0);
	ck_assert_msg(started == SLOW_CLIENTS, "%u of %u transfers could not even start",
	              SLOW_CLIENTS - started, SLOW_CLIENTS);
	ck_assert_msg(st.lost == 0 && st.bad == 0 && st.answered > 0,
	              "UDP load during the transfers: %lu lost, %lu bad of %lu", st.lost, st.bad,
	              st.sent);
	ck_assert_msg(bad == 0, "%u of %u slow transfers not whole; first: %s", bad, SLOW_CLIENTS,
	              first_bad);
}
END_TEST

/* "transfers" less "transfers_done" of `shoalctl stats` (TCP): the
 * transfers shoal has running. \return it, or -1. */
static long shoal_running(const struct primary *p)
{
	const char *bin = getenv("SHOALCTL_BIN");
	if (bin == NULL)
		return -1;
	char sock[PATH_MAX];
	if (snprintf(sock, sizeof(sock), "%s/ctl.sock", p->srv.dir) >= (int)sizeof(sock))
		return -1;
	const char *argv[] = {bin, "-s", sock, "stats", NULL};
	struct harness_run r;
	if (harness_run(argv, 10000, &r) < 0 || r.exit_code != 0) {
		harness_run_free(&r);
		return -1;
	}
	long started = -1, done = -1;
	for (char *l = strtok(r.out, "\n"); l != NULL; l = strtok(NULL, "\n")) {
		unsigned long long u, t;
		char name[32];
		if (sscanf(l, "%31s udp %llu tcp %llu", name, &u, &t) != 3)
			continue;
		if (strcmp(name, "transfers") == 0)
			started = (long)t;
		else if (strcmp(name, "transfers_done") == 0)
			done = (long)t;
	}
	harness_run_free(&r);
	return started < 0 || done < 0 ? -1 : started - done;
}

START_TEST(stalled_readers_under_load)
{
	if (g_knot_primary) {
		printf("stalled readers: not run against knotd (see slow clients)\n");
		return;
	}
	char path[PATH_MAX];
	zone_path(path, sizeof(path), g_srczones, "huge.test.");
	struct harness_rrset_text want;
	ck_assert_int_eq(file_rrs(path, "huge.test.", &want), 0);
	uint64_t want_digest = 0;
	for (size_t i = 0; i < want.n; i++)
		want_digest += rr_digest(want.rr[i]);
	size_t want_n = want.n + 1;
	harness_rrset_text_free(&want);

	static const char *const names[] = {"www.example.com.", "host0001.big.test.", NULL};
	struct harness_load_opts lo = {
	    .port = g_prim.srv.port, .names = names, .threads = 2, .rate = 2000};
	struct harness_load *load = NULL;
	ck_assert_int_eq(harness_load_start(&lo, &load), 0);
	struct xfr xs[STALL_CLIENTS];
	for (unsigned i = 0; i < STALL_CLIENTS; i++) {
		ck_assert_msg(xfr_start(&xs[i], g_prim.srv.port, NULL, "huge.test.",
		                        LDNS_RR_TYPE_AXFR, 0, key_good(), false, 4096, true) == 0,
		              "stalled reader %u: %s", i, xs[i].err);
		xs[i].digest_on = i == 0;
	}
	/* Nobody reads: shoal's writers fill the buffers and wait. TCP
	 * queries must still be answered meanwhile (the workers are not
	 * held by the transfers), and UDP ones. */
	double t0 = harness_now_ms();
	long running = -1;
	unsigned tcp_ok = 0, tcp_asked = 0;
	while (harness_now_ms() - t0 < STALL_MS) {
		long r = shoal_running(&g_prim);
		if (r > running)
			running = r;
		tcp_asked++;
		if (harness_ask_rcode(g_prim.srv.port, "www.example.com.", LDNS_RR_TYPE_A,
		                      HARNESS_TCP) == 0)
			tcp_ok++;
		struct timespec ts = {0, 200 * 1000000L};
		nanosleep(&ts, NULL);
	}
	/* Then read at full speed. */
	double end = harness_now_ms() + XFR_TIMEOUT_MS * 3;
	unsigned open = STALL_CLIENTS;
	while (open > 0 && harness_now_ms() < end) {
		struct pollfd pfd[STALL_CLIENTS];
		for (unsigned i = 0; i < STALL_CLIENTS; i++)
			pfd[i] = (struct pollfd){.fd = xs[i].done ? -1 : xs[i].fd, .events = POLLIN};
		poll(pfd, STALL_CLIENTS, 100);
		open = 0;
		for (unsigned i = 0; i < STALL_CLIENTS; i++) {
			if (!xs[i].done)
				xfr_read(&xs[i], 0);
			if (!xs[i].done)
				open++;
		}
	}
	struct harness_load_stats st;
	harness_load_stop(load, &st);
	harness_load_print(&st, "UDP load during the stalled transfers", stdout);
	unsigned whole = 0;
	char first_bad[700] = "";
	for (unsigned i = 0; i < STALL_CLIENTS; i++) {
		struct xfr *x = &xs[i];
		bool ok = x->done && !x->failed && x->rcode == LDNS_RCODE_NOERROR &&
		          x->nrr == want_n && (!x->digest_on || x->digest == want_digest) &&
		          x->signed_messages == x->messages;
		if (ok)
			whole++;
		else if (first_bad[0] == '\0')
			snprintf(first_bad, sizeof(first_bad),
			         "reader %u: %s, %s, %zu records of %zu, %u of %u messages signed%s", i,
			         x->done ? "ended" : "unfinished", x->failed ? x->err : "no error",
			         x->nrr, want_n, x->signed_messages, x->messages,
			         x->digest_on && x->digest != want_digest ? ", not the file's records"
			                                                  : "");
		xfr_free(x);
	}
	printf("%u readers of huge.test. (%zu records) stalled %d ms: shoal had up to %ld "
	       "transfers running meanwhile; %u of %u TCP queries answered during the stall; "
	       "%u whole and verified afterwards\n",
	       STALL_CLIENTS, want_n, STALL_MS, running, tcp_ok, tcp_asked, whole);
	if (whole != STALL_CLIENTS)
		harness_server_dump_log(&g_prim.srv, stdout, 4000);
	fflush(stdout);
	ck_assert_msg(running > 0, "shoal had no transfer running while its readers stalled "
	                           "(shoalctl stats: transfers less transfers_done)");
	ck_assert_msg(tcp_ok == tcp_asked, "%u of %u TCP queries unanswered while %u transfers "
	                                   "stalled", tcp_asked - tcp_ok, tcp_asked, STALL_CLIENTS);
	ck_assert_msg(st.lost == 0 && st.bad == 0 && st.answered > 0,
	              "UDP load during the stalled transfers: %lu lost, %lu bad of %lu", st.lost,
	              st.bad, st.sent);
	ck_assert_msg(whole == STALL_CLIENTS, "%u of %u stalled transfers not whole; first: %s",
	              STALL_CLIENTS - whole, STALL_CLIENTS, first_bad);
}
END_TEST

/* ---- real secondaries ---------------------------------------------------------------- */

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

/* Write the peer's configuration into srv->dir (srv->port set) for the
 * peer zones, primary at 127.0.0.1@pport; argv into argv[]. */
static void peer_write_conf(enum peer_kind k, struct harness_server *srv, uint16_t pport,
                            char *argv[], char conf[PATH_MAX])
{
	const char *d = srv->dir;
	char sub[PATH_MAX];
	FILE *f;
	switch (k) {
	case PEER_KNOT:
		FMT(sub, "%s/run", d);
		ck_assert_int_eq(mkdir(sub, 0755), 0);
		FMT(sub, "%s/db", d);
		ck_assert_int_eq(mkdir(sub, 0755), 0);
		FMT(sub, "%s/zones", d);
		ck_assert_int_eq(mkdir(sub, 0755), 0);
		ck_assert_int_lt(snprintf(conf, PATH_MAX, "%s/knot.conf", d), PATH_MAX);
		f = fopen(conf, "w");
		ck_assert_ptr_nonnull(f);
		fprintf(f,
		        "server:\n"
		        "  rundir: %s/run\n"
		        "  listen: 127.0.0.1@%u\n"
		        "  tcp-workers: 1\n"
		        "  udp-workers: 1\n"
		        "  background-workers: 1\n"
		        "log:\n"
		        "  - target: stderr\n"
		        "    any: info\n"
		        "key:\n"
		        "  - id: xfr\n"
		        "    algorithm: hmac-sha256\n"
		        "    secret: %s\n"
		        "remote:\n"
		        "  - id: primary\n"
		        "    address: 127.0.0.1@%u\n"
		        "    key: xfr\n"
		        "acl:\n"
		        "  - id: notify-from-primary\n"
		        "    address: 127.0.0.1\n"
		        "    key: xfr\n"
		        "    action: notify\n"
		        "  - id: test-reads\n"
		        "    address: 127.0.0.1\n"
		        "    action: transfer\n"
		        "database:\n"
		        "  storage: %s/db\n"
		        "template:\n"
		        "  - id: default\n"
		        "    storage: %s/zones\n"
		        "    master: primary\n"
		        "    acl: [notify-from-primary, test-reads]\n"
		        "    zonefile-sync: -1\n"
		        "    zonefile-load: none\n"
		        "    journal-content: all\n"
		        "    semantic-checks: off\n"
		        "zone:\n",
		        d, srv->port, g_secret, pport, d, d);
		for (size_t i = 0; i < NZONES; i++)
			if (zdefs[i].peers)
				fprintf(f, "  - domain: %s\n", zdefs[i].origin);
		ck_assert_int_eq(fclose(f), 0);
		argv[0] = (char *)peer_bin(k);
		argv[1] = "-c";
		argv[2] = conf;
		argv[3] = NULL;
		break;
	case PEER_NSD:
		FMT(sub, "%s/zones", d);
		ck_assert_int_eq(mkdir(sub, 0755), 0);
		FMT(sub, "%s/xfr", d);
		ck_assert_int_eq(mkdir(sub, 0755), 0);
		ck_assert_int_lt(snprintf(conf, PATH_MAX, "%s/nsd.conf", d), PATH_MAX);
		f = fopen(conf, "w");
		ck_assert_ptr_nonnull(f);
		/* No database (NSD 4: ""), no remote control (no
		 * nsd-control-setup), every file in the temp folder, the
		 * test's user (username ""), no chroot. */
		fprintf(f,
		        "server:\n"
		        "  ip-address: 127.0.0.1@%u\n"
		        "  do-ip6: no\n"
		        "  username: \"\"\n"
		        "  chroot: \"\"\n"
		        "  zonesdir: \"%s/zones\"\n"
		        "  database: \"\"\n"
		        "  zonelistfile: \"%s/zone.list\"\n"
		        "  xfrdfile: \"%s/xfrd.state\"\n"
		        "  xfrdir: \"%s/xfr\"\n"
		        "  pidfile: \"%s/nsd.pid\"\n"
		        "  logfile: \"%s\"\n"
		        "  verbosity: 2\n"
		        "  server-count: 1\n"
		        "  xfrd-reload-timeout: 0\n"
		        "remote-control:\n"
		        "  control-enable: no\n"
		        "key:\n"
		        "  name: xfr\n"
		        "  algorithm: hmac-sha256\n"
		        "  secret: \"%s\"\n",
		        srv->port, d, d, d, d, d, srv->log, g_secret);
		for (size_t i = 0; i < NZONES; i++) {
			if (!zdefs[i].peers)
				continue;
			char name[256];
			zone_file_name(name, sizeof(name), zdefs[i].origin);
			fprintf(f,
			        "zone:\n"
			        "  name: %s\n"
			        "  zonefile: \"%s\"\n"
			        "  request-xfr: 127.0.0.1@%u xfr\n"
			        "  allow-notify: 127.0.0.1 xfr\n"
			        "  provide-xfr: 127.0.0.1 NOKEY\n"
			        "  store-ixfr: yes\n",
			        zdefs[i].origin, name, pport);
		}
		ck_assert_int_eq(fclose(f), 0);
		argv[0] = (char *)peer_bin(k);
		argv[1] = "-d";
		argv[2] = "-c";
		argv[3] = conf;
		argv[4] = NULL;
		break;
	case PEER_NAMED:
		ck_assert_int_lt(snprintf(conf, PATH_MAX, "%s/named.conf", d), PATH_MAX);
		f = fopen(conf, "w");
		ck_assert_ptr_nonnull(f);
		harness_named_options(f, d, srv->port);
		fprintf(f,
		        "  notify no;\n"
		        "  allow-query { any; };\n"
		        "  allow-transfer { 127.0.0.1; };\n"
		        "};\n"
		        "controls { };\n"
		        "key \"xfr\" { algorithm hmac-sha256; secret \"%s\"; };\n"
		        /* Transfers and NOTIFY at debug level 3 (for "got
		         * incremental response"), the rest at info: with -g
		         * named would log every query at that level. */
		        "logging {\n"
		        "  channel out { stderr; severity info; print-time yes; print-category "
		        "yes; };\n"
		        "  channel xfr { stderr; severity debug 3; print-time yes; print-category "
		        "yes; };\n"
		        "  category default { out; };\n"
		        "  category xfer-in { xfr; };\n"
		        "  category notify { xfr; };\n"
		        "};\n",
		        g_secret);
		for (size_t i = 0; i < NZONES; i++) {
			if (!zdefs[i].peers)
				continue;
			char name[256];
			zone_file_name(name, sizeof(name), zdefs[i].origin);
			fprintf(f,
			        "zone \"%s\" {\n"
			        "  type secondary;\n"
			        "  primaries { 127.0.0.1 port %u key xfr; };\n"
			        "  file \"%s\";\n"
			        "  masterfile-format text;\n"
			        "  allow-notify { 127.0.0.1; };\n"
			        "};\n",
			        zdefs[i].origin, pport, name);
		}
		ck_assert_int_eq(fclose(f), 0);
		argv[0] = (char *)peer_bin(k);
		argv[1] = "-f"; /* foreground, logging as configured (to stderr) */
		argv[2] = "-d"; /* debug level 3: "got incremental response" */
		argv[3] = "3";
		argv[4] = "-c";
		argv[5] = conf;
		argv[6] = NULL;
		break;
	default:
		ck_abort();
	}
}

/* How often text occurs in the last 1 MiB of the server's log. */
static unsigned log_count(const struct harness_server *s, const char *text)
{
	char *t = harness_server_log_tail(s, 1 << 20);
	unsigned n = 0;
	for (const char *p = t; (p = strstr(p, text)) != NULL; p += strlen(text))
		n++;
	free(t);
	return n;
}

/* The www A of the test zone at port holds 192.0.2.<last> and the SOA is serial. */
static bool peer_has(uint16_t port, uint32_t serial, unsigned last)
{
	uint32_t s = 0;
	if (harness_soa_serial(port, EDIT_ZONE, &s) < 0 || s != serial)
		return false;
	struct harness_reply r = {0};
	bool found = false;
	if (harness_ask(port, "www." EDIT_ZONE, LDNS_RR_TYPE_A, HARNESS_UDP, &r) == 0) {
		char want[32];
		snprintf(want, sizeof(want), "192.0.2.%u", last);
		const ldns_rr_list *an = ldns_pkt_answer(r.pkt);
		for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
			char *a = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(an, i), 0));
			found |= a != NULL && strcmp(a, want) == 0;
			free(a);
		}
	}
	harness_reply_free(&r);
	return found;
}

/* Every peer zone's copy at the peer equals the file in dir. */
static void peer_copy_equals(const struct harness_server *peer, const char *dir)
{
	bool ok = true;
	char why[1024] = "";
	for (size_t i = 0; i < NZONES; i++) {
		if (!zdefs[i].peers)
			continue;
		char path[PATH_MAX], w[1024];
		zone_path(path, sizeof(path), dir, zdefs[i].origin);
		if (!axfr_equals_file(peer->port, zdefs[i].origin, NULL, path, peer->name, w,
		                      sizeof(w))) {
			ok = false;
			printf("FAIL %s\n", w);
			snprintf(why, sizeof(why), "%s", w);
		}
	}
	ck_assert_msg(ok, "%s", why);
}

/* What a peer's log has said about transfers so far. */
struct xfr_marks {
	unsigned axfr_in, ixfr_in, nonincremental;
};

static struct xfr_marks peer_marks(enum peer_kind k, const struct harness_server *s)
{
	struct xfr_marks m = {0};
	switch (k) {
	case PEER_KNOT:
		m.axfr_in = log_count(s, "AXFR, incoming");
		m.ixfr_in = log_count(s, "IXFR, incoming");
		m.nonincremental = log_count(s, "AXFR-style IXFR");
		break;
	case PEER_NAMED:
		/* xfrin.c, at debug level 3 */
		m.ixfr_in = log_count(s, "got incremental response");
		m.nonincremental = log_count(s, "got nonincremental response");
		break;
	default:
		break;
	}
	return m;
}

/* After an edit from serial `from` to `to`: did the peer get it by IXFR?
 * Prints what it saw. */
static bool peer_used_ixfr(enum peer_kind k, const struct harness_server *s,
                           const struct xfr_marks *before, uint32_t from, uint32_t to)
{
	struct xfr_marks now = peer_marks(k, s);
	bool ok;
	switch (k) {
	case PEER_KNOT:
		/* "IXFR, incoming ... started" and "... finished": two lines a
		 * transfer; an AXFR fallback says "AXFR-style IXFR" or "AXFR,
		 * incoming". */
		ok = now.ixfr_in >= before->ixfr_in + 2 && now.axfr_in == before->axfr_in &&
		     now.nonincremental == before->nonincremental;
		printf("%s: log since the edit: %u \"IXFR, incoming\", %u \"AXFR, incoming\", %u "
		       "\"AXFR-style IXFR\" lines\n",
		       s->name, now.ixfr_in - before->ixfr_in, now.axfr_in - before->axfr_in,
		       now.nonincremental - before->nonincremental);
		break;
	case PEER_NAMED:
		ok = now.ixfr_in > before->ixfr_in && now.nonincremental == before->nonincremental;
		printf("%s: log since the edit: %u \"got incremental response\", %u \"got "
		       "nonincremental response\"\n",
		       s->name, now.ixfr_in - before->ixfr_in,
		       now.nonincremental - before->nonincremental);
		break;
	case PEER_NSD:
		/* NSD keeps (store-ixfr) the differences it received by IXFR
		 * and, create-ixfr being off, nothing for an AXFR. */
		ok = ixfr_is_difference(s->port, NULL, from, to, "nsd (store-ixfr)");
		break;
	default:
		ok = false;
	}
	fflush(stdout);
	return ok;
}

static struct primary g_pprim;
static struct harness_server g_peer;

static void peer_teardown(void)
{
	harness_server_cleanup(&g_peer);
	harness_server_cleanup(&g_pprim.srv);
}

/* Wait until the peer serves every peer zone (it bootstraps by AXFR). */
static void peer_wait_zones(struct harness_server *peer)
{
	for (size_t i = 0; i < NZONES; i++) {
		if (!zdefs[i].peers)
			continue;
		int rc = harness_wait_rcode(peer, zdefs[i].origin, LDNS_RR_TYPE_SOA,
		                            LDNS_RCODE_NOERROR, PEER_WAIT_MS);
		if (rc != 0) {
			harness_server_dump_log(peer, stdout, 4000);
			harness_server_dump_log(&g_pprim.srv, stdout, 4000);
			fflush(stdout);
		}
		ck_assert_msg(rc == 0, "%s did not transfer %s within %d ms (the logs are above)",
		              peer->name, zdefs[i].origin, PEER_WAIT_MS);
	}
}

/* Poll until the peer has the edit, up to ms. */
static bool peer_wait_has(uint16_t port, uint32_t serial, unsigned last, int ms)
{
	double t0 = harness_now_ms();
	while (!peer_has(port, serial, last)) {
		if (harness_now_ms() - t0 >= ms)
			return false;
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
	return true;
}

/* One edit: file, reload or not, wait for the peer, check copy and IXFR. */
static void peer_follow(enum peer_kind k, uint32_t from, uint32_t to, unsigned last, unsigned n,
                        bool ctl, bool *ixfr)
{
	struct xfr_marks before = peer_marks(k, &g_peer);
	edit_zone(&g_pprim, to, last, n);
	primary_reload(&g_pprim, ctl);
	wait_serial(&g_pprim.srv, EDIT_ZONE, to);
	double t0 = harness_now_ms();
	bool has = peer_wait_has(g_peer.port, to, last, PEER_WAIT_MS);
	if (!has) {
		/* libcheck's messages are short: the logs go to stdout */
		harness_server_dump_log(&g_peer, stdout, 4000);
		harness_server_dump_log(&g_pprim.srv, stdout, 4000);
		fflush(stdout);
	}
	ck_assert_msg(has,
	              "%s does not answer serial %u (www A 192.0.2.%u) %d ms after the primary's "
	              "reload (NOTIFY not sent or not acted on? the logs are above)",
	              g_peer.name, to, last, PEER_WAIT_MS);
	printf("%s: follows %u -> %u in %.0f ms after the reload\n", g_peer.name, from, to,
	       harness_now_ms() - t0);
	/* Knot may log the end of the transfer a moment after it serves it. */
	struct timespec ts = {0, 300 * 1000000L};
	nanosleep(&ts, NULL);
	peer_copy_equals(&g_peer, g_pprim.zonedir);
	*ixfr = peer_used_ixfr(k, &g_peer, &before, from, to);
}

START_TEST(peer_follows)
{
	assert_setup();
	enum peer_kind k = (enum peer_kind)_i;
	const char *bin = peer_bin(k);
	if (bin == NULL) {
		printf("%s is not installed: its secondary test skipped (scripts/deps installs it)\n",
		       peer_names[k]);
		return;
	}
	memset(&g_peer, 0, sizeof(g_peer));
	ck_assert_int_eq(harness_server_init(&g_peer, peer_names[k]), 0);
	ck_assert_int_eq(harness_pick_port(&g_peer.port), 0);
	primary_start(&g_pprim, g_peer.port);
	char *argv[8];
	static char conf[PATH_MAX];
	peer_write_conf(k, &g_peer, g_pprim.srv.port, argv, conf);
	/* Ready: any reply (the zones come by transfer, waited for next). */
	int rc = harness_server_start(&g_peer, argv);
	ck_assert_msg(rc == 0, "%s did not start: %s", peer_names[k],
	              harness_start_strerror(rc, &g_peer));
	printf("xfr-out: %s (secondary) on 127.0.0.1@%u, configuration %s\n", g_peer.name,
	       g_peer.port, conf);
	fflush(stdout);

	/* 1. every zone, record for record */
	peer_wait_zones(&g_peer);
	peer_copy_equals(&g_peer, g_srczones);

	/* 2. an edit and a reload (SIGHUP): NOTIFY, IXFR */
	uint32_t s0 = base_serial();
	bool ixfr1 = false, ixfr2 = false;
	peer_follow(k, s0, s0 + 1, 101, 1, false, &ixfr1);

	/* 3. shoal restarted, edited again (shoalctl reload): the journal
	 * kept under the zone's storage serves the next IXFR */
	primary_restart(&g_pprim);
	peer_follow(k, s0 + 1, s0 + 2, 102, 2, true, &ixfr2);

	printf("%s: IXFR after the reload: %s; after the restart: %s\n", g_peer.name,
	       ixfr1 ? "yes" : "NO", ixfr2 ? "yes" : "NO");
	fflush(stdout);
	ck_assert_msg(ixfr1, "%s did not get the first edit by IXFR (above)", g_peer.name);
	ck_assert_msg(ixfr2, "%s did not get the edit after the restart by IXFR (above)",
	              g_peer.name);
}
END_TEST

static void peer_test_setup(void)
{
	memset(&g_pprim, 0, sizeof(g_pprim));
	memset(&g_peer, 0, sizeof(g_peer));
}

int main(void)
{
	bool any = false;
	for (int k = 0; k < NPEERS; k++)
		any |= peer_bin((enum peer_kind)k) != NULL;
	if (!any) {
		printf("none of knotd, nsd, named is installed: xfr-out skipped (scripts/deps "
		       "installs them)\n");
		return HARNESS_EXIT_SKIP;
	}
	const char *p = getenv("SHOAL_XFR_PRIMARY");
	if (p != NULL && strcmp(p, "knot") == 0 && harness_knotd_path() == NULL) {
		printf("knotd is not installed: xfr-out against knotd skipped\n");
		return HARNESS_EXIT_SKIP;
	}
	if (harness_shoal_bin() == NULL) {
		fprintf(stderr, "SHOAL_BIN is not set (run through meson test)\n");
		return EXIT_FAILURE;
	}
	Suite *s = suite_create("xfr-out");
	TCase *direct = tcase_create("direct");
	tcase_set_timeout(direct, 150);
	tcase_add_unchecked_fixture(direct, zones_make, zones_drop);
	tcase_add_checked_fixture(direct, direct_setup, direct_teardown);
	tcase_add_test(direct, axfr_unsigned_refused);
	tcase_add_test(direct, axfr_bad_keys);
	tcase_add_test(direct, axfr_signed_whole);
	tcase_add_test(direct, axfr_not_served);
	tcase_add_test(direct, acl_rules);
	tcase_add_test(direct, ixfr_direct);
	tcase_add_test(direct, slow_clients_under_load);
	tcase_add_test(direct, stalled_readers_under_load);
	suite_add_tcase(s, direct);
	TCase *peers = tcase_create("peers");
	tcase_set_timeout(peers, 120);
	tcase_add_checked_fixture(peers, peer_test_setup, peer_teardown);
	tcase_add_unchecked_fixture(peers, zones_make, zones_drop);
	tcase_add_loop_test(peers, peer_follows, 0, NPEERS);
	suite_add_tcase(s, peers);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
