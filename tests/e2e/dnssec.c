/*
 * dnssec.c - signed test zones and a validating unbound; see dnssec.h.
 */
#include "dnssec.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ldns/util.h defines a debugging macro dprintf(X, Y); see harness.c. */
#undef dprintf

/* A signer on a zone of a few dozen names takes milliseconds; this only
 * bounds a tool that hangs (ldns-keygen reading a starved /dev/random). */
#define SIGN_TOOL_TIMEOUT_MS 30000
/* unbound answers a query for data it has to fetch from a stub on loopback
 * in a few milliseconds; the probe waits a little longer than harness.c's
 * because the first one also primes the stub's infrastructure cache. */
#define UNBOUND_PROBE_TIMEOUT_MS 1000
#define UNBOUND_POLL_MS 50
/* What harness_dnssec_make() keeps of one tool's output in the log. */
#define TOOL_LOG_MAX 8192

static const char *const variant_names[HARNESS_DNSSEC_VARIANTS] = {
    [HARNESS_DNSSEC_UNSIGNED] = "unsigned",
    [HARNESS_DNSSEC_NSEC] = "nsec",
    [HARNESS_DNSSEC_NSEC3] = "nsec3",
    [HARNESS_DNSSEC_NSEC3_SALT] = "nsec3-salt",
    [HARNESS_DNSSEC_NSEC3_OPTOUT] = "nsec3-optout",
};

const char *harness_dnssec_variant_str(enum harness_dnssec_variant v)
{
	return (unsigned)v < HARNESS_DNSSEC_VARIANTS ? variant_names[v] : "?";
}

/* ---- finding programs ----------------------------------------------------- */

/* name in PATH or in the sbin directories (not always in a test's PATH),
 * into found. \return found or NULL. */
static const char *find_program(const char *name, char *found, size_t size)
{
	const char *path = getenv("PATH");
	char dirs[4096];
	snprintf(dirs, sizeof(dirs), "%s:/usr/bin:/usr/sbin:/usr/local/bin:/usr/local/sbin:/sbin",
	         path ? path : "");
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
		if (d[0] == '\0')
			continue;
		if (snprintf(found, size, "%s/%s", d, name) >= (int)size)
			continue;
		if (access(found, X_OK) == 0)
			return found;
	}
	return NULL;
}

const char *harness_unbound_path(void)
{
	static char found[PATH_MAX];
	const char *env = getenv("SHOAL_UNBOUND");
	if (env != NULL && env[0] != '\0')
		return access(env, X_OK) == 0 ? env : NULL;
	return find_program("unbound", found, sizeof(found));
}

const char *harness_dnssec_missing_tool(enum harness_dnssec_variant variant)
{
	static const char *const ldns_tools[] = {"ldns-keygen", "ldns-signzone", NULL};
	static const char *const bind_tools[] = {"dnssec-keygen", "dnssec-signzone", NULL};
	const char *const *need = NULL;
	switch (variant) {
	case HARNESS_DNSSEC_NSEC:
	case HARNESS_DNSSEC_NSEC3:
	case HARNESS_DNSSEC_NSEC3_SALT:
		need = ldns_tools;
		break;
	case HARNESS_DNSSEC_NSEC3_OPTOUT:
		need = bind_tools;
		break;
	default:
		return NULL;
	}
	char found[PATH_MAX];
	for (; *need != NULL; need++)
		if (find_program(*need, found, sizeof(found)) == NULL)
			return *need;
	return NULL;
}

/* ---- small file helpers --------------------------------------------------- */

/* The whole file at path, NUL-terminated (free() it). \return 0 or -errno. */
static int slurp(const char *path, char **out, size_t *len)
{
	*out = NULL;
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -errno;
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);
	int rc = 0;
	if (m == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	char chunk[8192];
	size_t r;
	while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (fwrite(chunk, 1, r, m) != r) {
			rc = -ENOMEM;
			break;
		}
	if (ferror(f))
		rc = -EIO;
	if (fclose(m) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc == 0) {
		*out = buf;
		if (len != NULL)
			*len = n;
	} else {
		free(buf);
	}
out:
	fclose(f);
	return rc;
}

/* Append text to the file at path (created 0644). */
static void log_append(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void log_append(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "ae");
	if (f == NULL)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* RFC 4034 §3.2: the signers take times as YYYYMMDDHHmmSS in UTC (ldns-signzone
 * reads a 14-digit argument that way; dnssec-signzone too). */
static void sig_time(char out[15], time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 15, "%Y%m%d%H%M%S", &tm);
}

/* A command line under construction: the tool and its arguments, without
 * the "sh -c" prefix run_in() adds. 32 is twice the longest one here. */
#define CMD_ARGS_MAX 32
struct cmd {
	const char *v[CMD_ARGS_MAX + 1]; /* NULL-terminated */
	size_t n;
	bool overflow; /* an argument did not fit: run_in() refuses it */
};

/* Append the NULL-terminated arguments to c. */
static void cmd_add(struct cmd *c, ...) __attribute__((sentinel));
static void cmd_add(struct cmd *c, ...)
{
	va_list ap;
	va_start(ap, c);
	for (const char *a = va_arg(ap, const char *); a != NULL; a = va_arg(ap, const char *)) {
		if (c->n < CMD_ARGS_MAX)
			c->v[c->n++] = a;
		else
			c->overflow = true;
	}
	va_end(ap);
	c->v[c->n] = NULL;
}

/*
 * Run c in directory dir (through "sh -c 'cd "$1" && shift && exec "$@"'":
 * harness_run() has no working directory of its own, and ldns-keygen
 * writes its files into the current one). Command and output go to log.
 * \param[out] res  the run (harness_run_free() it), also on failure
 * \return 0 when the tool exited 0; -ENOENT when not installed; -EIO when
 *         it failed (the reason is in log); other -errno.
 */
static int run_in(const char *dir, const struct cmd *c, const char *log, struct harness_run *res)
{
	memset(res, 0, sizeof(*res));
	if (c->overflow || c->n == 0)
		return -E2BIG;
	const char *v[CMD_ARGS_MAX + 6];
	size_t n = 0;
	v[n++] = "/bin/sh";
	v[n++] = "-c";
	v[n++] = "cd \"$1\" && shift && exec \"$@\"";
	v[n++] = "sh";
	v[n++] = dir;
	log_append(log, "$ (cd %s &&", dir);
	for (size_t i = 0; i < c->n; i++) {
		v[n++] = c->v[i];
		log_append(log, " %s", c->v[i]);
	}
	v[n] = NULL;
	log_append(log, ")\n");
	char found[PATH_MAX];
	if (find_program(c->v[0], found, sizeof(found)) == NULL) {
		log_append(log, "%s: not installed\n", c->v[0]);
		return -ENOENT;
	}
	int rc = harness_run(v, SIGN_TOOL_TIMEOUT_MS, res);
	if (rc < 0) {
		log_append(log, "(did not run: %s)\n", strerror(-rc));
		return rc;
	}
	log_append(log, "%.*s%.*s(exit %d)\n", TOOL_LOG_MAX, res->out, TOOL_LOG_MAX, res->err,
	           res->exit_code);
	/* sh exits 127 when exec fails, e.g. the tool vanished meanwhile. */
	return res->exit_code == 0 ? 0 : res->exit_code == 127 ? -ENOENT : -EIO;
}

/* The first line of s without its newline and surrounding blanks, into out.
 * \return 0 or -EINVAL when there is none. */
static int first_line(const char *s, char *out, size_t size)
{
	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	size_t l = strcspn(s, "\r\n");
	while (l > 0 && isspace((unsigned char)s[l - 1]))
		l--;
	if (l == 0 || l >= size)
		return -EINVAL;
	memcpy(out, s, l);
	out[l] = '\0';
	return 0;
}

/*
 * The DNSKEY RR of a K<origin>+<alg>+<tag>.key file (ldns-keygen's or
 * dnssec-keygen's: ';' comment lines, then one RR).
 * \param[out] out  the RR (ldns_rr_free() it)
 * \return 0 or -errno (-EINVAL: no DNSKEY in it).
 */
static int read_dnskey(const char *path, const char *origin, ldns_rr **out)
{
	*out = NULL;
	char *text = NULL;
	int rc = slurp(path, &text, NULL);
	if (rc < 0)
		return rc;
	ldns_rdf *orig = ldns_dname_new_frm_str(origin);
	rc = -EINVAL;
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line != NULL && orig != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == ';' || line[0] == '\0')
			continue;
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, line, 3600, orig, NULL) == LDNS_STATUS_OK &&
		    ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNSKEY) {
			*out = rr;
			rc = 0;
			break;
		}
		ldns_rr_free(rr);
	}
	ldns_rdf_deep_free(orig);
	free(text);
	return rc;
}

/* Make one key with the tool of the variant in keydir; its base name
 * (K<origin>+013+<tag>) into base and its DNSKEY into *key. */
static int make_key(enum harness_dnssec_variant variant, const char *origin, bool ksk,
                    const char *keydir, const char *log, char *base, size_t size, ldns_rr **key)
{
	struct harness_run res;
	struct cmd c = {0};
	/* Algorithm 13 (RFC 6605); a KSK has flags 257 (SEP), a ZSK 256. */
	if (variant == HARNESS_DNSSEC_NSEC3_OPTOUT) {
		cmd_add(&c, "dnssec-keygen", "-q", "-K", ".", "-a", "ECDSAP256SHA256", NULL);
		if (ksk)
			cmd_add(&c, "-f", "KSK", NULL);
	} else {
		cmd_add(&c, "ldns-keygen", "-a", "ECDSAP256SHA256", NULL);
		if (ksk)
			cmd_add(&c, "-k", NULL);
	}
	cmd_add(&c, origin, NULL);
	int rc = run_in(keydir, &c, log, &res);
	if (rc == 0 && first_line(res.out, base, size) < 0) {
		log_append(log, "(no key name in the output)\n");
		rc = -EIO;
	}
	harness_run_free(&res);
	if (rc < 0)
		return rc;
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s.key", keydir, base) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	rc = read_dnskey(path, origin, key);
	if (rc < 0)
		log_append(log, "(no DNSKEY in %s: %s)\n", path, strerror(-rc));
	return rc;
}

/* Write the DS (SHA-256, RFC 4509) of key to path, one RR. */
static int write_ds(const ldns_rr *key, const char *path)
{
	ldns_rr *ds = ldns_key_rr2ds(key, LDNS_SHA256);
	if (ds == NULL)
		return -EINVAL;
	char *text = ldns_rr2str(ds);
	ldns_rr_free(ds);
	if (text == NULL)
		return -ENOMEM;
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	int rc = -EINVAL;
	if (slash != NULL) {
		*slash = '\0';
		rc = harness_write_file(dir, slash + 1, text);
	}
	free(text);
	return rc;
}

/* An origin usable in file names: absolute, not the root, no '/'. */
static bool origin_ok(const char *origin)
{
	size_t l = strlen(origin);
	return l >= 2 && l < HARNESS_DNAME_TEXT_MAX && origin[l - 1] == '.' && origin[0] != '.' &&
	       strchr(origin, '/') == NULL;
}

int harness_dnssec_make(const char *in, const char *origin, enum harness_dnssec_variant variant,
                        const char *workdir, const char *zonedir, struct harness_dnssec_zone *out)
{
	memset(out, 0, sizeof(*out));
	if (!origin_ok(origin) || (unsigned)variant >= HARNESS_DNSSEC_VARIANTS)
		return -EINVAL;
	char *text = NULL, *copy = NULL;
	ldns_rr *ksk = NULL, *zsk = NULL;
	struct harness_run res = {0};
	struct harness_dnssec_zone z = {.variant = variant};
	char log[PATH_MAX], copy_path[PATH_MAX], name[PATH_MAX];
	int rc;
	snprintf(z.origin, sizeof(z.origin), "%s", origin);
	if (snprintf(log, sizeof(log), "%s/%slog", workdir, origin) >= (int)sizeof(log) ||
	    snprintf(z.keydir, sizeof(z.keydir), "%s/%skeys", workdir, origin) >=
	        (int)sizeof(z.keydir) ||
	    snprintf(z.zonefile, sizeof(z.zonefile), "%s/%szone", zonedir, origin) >=
	        (int)sizeof(z.zonefile) ||
	    snprintf(copy_path, sizeof(copy_path), "%s/unsigned.zone", z.keydir) >=
	        (int)sizeof(copy_path)) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	log_append(log, "=== %s as %s (%s)\n", in, origin, harness_dnssec_variant_str(variant));
	rc = slurp(in, &text, NULL);
	if (rc < 0) {
		log_append(log, "cannot read %s: %s\n", in, strerror(-rc));
		goto out;
	}

	/* The copy: the template under this origin ("$ORIGIN" first: RFC 1035
	 * §5.1, relative names are completed with it). */
	if (variant == HARNESS_DNSSEC_UNSIGNED) {
		if (asprintf(&copy, "$ORIGIN %s\n%s", origin, text) < 0) {
			copy = NULL;
			rc = -ENOMEM;
			goto out;
		}
		snprintf(name, sizeof(name), "%szone", origin);
		rc = harness_write_file(zonedir, name, copy);
		goto out;
	}

	if (mkdir(z.keydir, 0755) != 0) {
		rc = -errno;
		goto out;
	}
	char ksk_base[PATH_MAX], zsk_base[PATH_MAX];
	/* Two keys whose tags collide (one zone in 65,536) share a file name,
	 * K<origin>+013+<tag>: ldns-keygen's ZSK overwrites the KSK's files and
	 * the zone is signed without a KSK (seen in CI: "DNSKEY rrset is not
	 * secure"). dnssec-keygen avoids it; for ldns-keygen make both again. */
	for (int attempt = 0;; attempt++) {
		rc = make_key(variant, origin, true, z.keydir, log, ksk_base, sizeof(ksk_base),
		              &ksk);
		if (rc == 0)
			rc = make_key(variant, origin, false, z.keydir, log, zsk_base,
			              sizeof(zsk_base), &zsk);
		if (rc < 0)
			goto out;
		z.ksk_tag = ldns_calc_keytag(ksk);
		z.zsk_tag = ldns_calc_keytag(zsk);
		if (z.ksk_tag != z.zsk_tag)
			break;
		log_append(log, "(KSK and ZSK share key tag %u: both made again)\n", z.ksk_tag);
		if (attempt == 4) {
			rc = -EEXIST;
			goto out;
		}
		char path[PATH_MAX];
		static const char *const exts[] = {".key", ".private", ".state"};
		for (size_t e = 0; e < sizeof(exts) / sizeof(exts[0]); e++)
			if (snprintf(path, sizeof(path), "%s/%s%s", z.keydir, zsk_base, exts[e]) <
			    (int)sizeof(path))
				unlink(path);
		ldns_rr_free(ksk);
		ldns_rr_free(zsk);
		ksk = zsk = NULL;
	}
	if ((ldns_rdf2native_int16(ldns_rr_rdf(ksk, 0)) & LDNS_KEY_SEP_KEY) == 0 ||
	    (ldns_rdf2native_int16(ldns_rr_rdf(zsk, 0)) & LDNS_KEY_SEP_KEY) != 0) {
		log_append(log, "(the KSK must have the SEP flag, the ZSK not: RFC 4034 §2.1.1)\n");
		rc = -EIO;
		goto out;
	}

	/* The DNSKEY RRset goes into the copy, so that both signers see the
	 * same input (dnssec-signzone wants the keys at the apex unless -S;
	 * ldns-signzone adds them from the .key files only when missing). */
	char *ksk_text = ldns_rr2str(ksk), *zsk_text = ldns_rr2str(zsk);
	if (ksk_text == NULL || zsk_text == NULL ||
	    asprintf(&copy, "$ORIGIN %s\n%s\n; the test keys (tests/e2e/dnssec.c)\n%s%s", origin,
	             text, ksk_text, zsk_text) < 0) {
		copy = NULL;
		rc = -ENOMEM;
	}
	free(ksk_text);
	free(zsk_text);
	if (rc < 0)
		goto out;
	rc = harness_write_file(z.keydir, "unsigned.zone", copy);
	if (rc < 0)
		goto out;

	time_t now = time(NULL);
	char inception[15], expiration[15];
	sig_time(inception, now - HARNESS_DNSSEC_INCEPTION_AGO_S);
	sig_time(expiration, now + HARNESS_DNSSEC_VALIDITY_S);
	char iterations[16];
	snprintf(iterations, sizeof(iterations), "%d", HARNESS_DNSSEC_SALT_ITERATIONS);
	struct cmd c = {0};
	if (variant == HARNESS_DNSSEC_NSEC3_OPTOUT) {
		/* -3 -: no salt; -H 0: no extra iterations; -A: opt-out flag on
		 * every NSEC3 and none for insecure delegations (RFC 5155 §6).
		 * -O full: one RR a line. -K/-d: keys and dsset- file in keydir.
		 * dnssec-signzone verifies the result before it writes it. */
		cmd_add(&c, "dnssec-signzone", "-q", "-K", ".", "-d", ".", "-O", "full", "-3", "-",
		        "-H", "0", "-A", "-o", origin, "-s", inception, "-e", expiration, "-f",
		        z.zonefile, "-k", ksk_base, copy_path, zsk_base, NULL);
	} else {
		cmd_add(&c, "ldns-signzone", NULL);
		/* No -s for no salt: ldns-signzone's default salt is empty, and
		 * 1.8.3 refuses "-s -" (not hex). -a 1: SHA-1, the only NSEC3
		 * hash algorithm (RFC 5155 §11). */
		if (variant == HARNESS_DNSSEC_NSEC3)
			cmd_add(&c, "-n", "-a", "1", "-t", "0", NULL);
		if (variant == HARNESS_DNSSEC_NSEC3_SALT)
			cmd_add(&c, "-n", "-a", "1", "-t", iterations, "-s", HARNESS_DNSSEC_SALT,
			        NULL);
		cmd_add(&c, "-o", origin, "-i", inception, "-e", expiration, "-f", z.zonefile,
		        copy_path, ksk_base, zsk_base, NULL);
	}
	rc = run_in(z.keydir, &c, log, &res);
	if (rc < 0)
		goto out;
	/* shoal reads it after dropping root to nobody (see harness_tmpdir()). */
	if (chmod(z.zonefile, 0644) != 0) {
		rc = -errno;
		goto out;
	}
	if (snprintf(z.anchor, sizeof(z.anchor), "%s/%sds", workdir, origin) >=
	    (int)sizeof(z.anchor)) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	rc = write_ds(ksk, z.anchor);
out:
	if (rc < 0) {
		char *l = NULL;
		fprintf(stderr, "=== dnssec: cannot make %s as %s (%s): %s\n", in, origin,
		        harness_dnssec_variant_str(variant), strerror(-rc));
		if (slurp(log, &l, NULL) == 0)
			fprintf(stderr, "%s", l);
		free(l);
	} else {
		*out = z;
	}
	harness_run_free(&res);
	ldns_rr_free(ksk);
	ldns_rr_free(zsk);
	free(copy);
	free(text);
	return rc;
}

int harness_dnssec_nsec3_owners(const char *zonefile, const char *origin, char ***out)
{
	*out = NULL;
	FILE *f = fopen(zonefile, "re");
	if (f == NULL)
		return -errno;
	ldns_rdf *orig = ldns_dname_new_frm_str(origin);
	ldns_zone *z = NULL;
	int line = 0, rc = 0;
	char **v = calloc(1, sizeof(*v));
	size_t n = 0;
	if (orig == NULL || v == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	ldns_status st = ldns_zone_new_frm_fp_l(&z, f, orig, 3600, LDNS_RR_CLASS_IN, &line);
	if (st != LDNS_STATUS_OK) {
		fprintf(stderr, "%s:%d: %s\n", zonefile, line, ldns_get_errorstr_by_id(st));
		rc = -EINVAL;
		goto out;
	}
	const ldns_rr_list *rrs = ldns_zone_rrs(z);
	for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC3)
			continue;
		char **nv = realloc(v, (n + 2) * sizeof(*nv));
		if (nv == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		v = nv;
		v[n] = ldns_rdf2str(ldns_rr_owner(rr));
		if (v[n] == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		v[++n] = NULL;
	}
out:
	if (z != NULL)
		ldns_zone_deep_free(z);
	ldns_rdf_deep_free(orig);
	fclose(f);
	if (rc < 0) {
		harness_strv_free(v);
		return rc;
	}
	*out = v;
	return (int)n;
}

/* ---- unbound -------------------------------------------------------------- */

/* Whether the top-level label of origin (e.g. "test") is already in v. */
static bool tld_seen(const struct harness_unbound_zone *zones, size_t upto, const char *tld,
                     size_t tl)
{
	for (size_t i = 0; i < upto; i++) {
		const char *o = zones[i].origin;
		size_t l = strlen(o);
		const char *t = o + l - 1; /* the final dot */
		while (t > o && t[-1] != '.')
			t--;
		if ((size_t)(o + l - 1 - t) == tl && strncasecmp(t, tld, tl) == 0)
			return true;
	}
	return false;
}

static int write_unbound_conf(const struct harness_server *srv, const char *path,
                              const struct harness_unbound_zone *zones, size_t n)
{
	FILE *f = fopen(path, "we");
	if (f == NULL)
		return -errno;
	fprintf(f,
	        "# Written by tests/e2e/dnssec.c (harness_unbound_start) for one test run.\n"
	        "server:\n"
	        "  interface: 127.0.0.1@%u\n"
	        "  port: %u\n"
	        "  do-ip6: no\n"
	        "  num-threads: 1\n"
	        "  do-daemonize: no\n"
	        "  chroot: \"\"\n"
	        "  username: \"\"\n"
	        "  directory: \"%s\"\n"
	        "  pidfile: \"\"\n"
	        "  use-syslog: no\n"
	        "  logfile: \"%s\"\n"
	        "  log-time-ascii: yes\n"
	        "  verbosity: 1\n"
	        "  # One line per validation failure, saying why (bogus, no\n"
	        "  # signatures, expired ...): what a failed case prints.\n"
	        "  val-log-level: 2\n"
	        "  log-servfail: yes\n"
	        "  module-config: \"validator iterator\"\n"
	        "  # The stub zones are on 127.0.0.1.\n"
	        "  do-not-query-localhost: no\n"
	        "  # Every case reaches shoal as asked: no minimised qnames (they\n"
	        "  # would turn a positive case into NODATA queries for empty\n"
	        "  # non-terminals), no answers synthesised from cached NSEC\n"
	        "  # (RFC 8198), no prefetch.\n"
	        "  qname-minimisation: no\n"
	        "  aggressive-nsec: no\n"
	        "  prefetch: no\n"
	        "  prefetch-key: no\n"
	        "  # No root anchor, so nothing to signal (RFC 8145, RFC 8509).\n"
	        "  trust-anchor-signaling: no\n"
	        "  root-key-sentinel: no\n",
	        (unsigned)srv->port, (unsigned)srv->port, srv->dir, srv->log);
	/* RFC 6761 names (test., invalid., localhost. ...) are answered by
	 * unbound itself unless their default local zone is switched off. */
	for (size_t i = 0; i < n; i++) {
		const char *o = zones[i].origin;
		size_t l = strlen(o);
		const char *t = o + l - 1;
		while (t > o && t[-1] != '.')
			t--;
		size_t tl = (size_t)(o + l - 1 - t);
		if (tl > 0 && !tld_seen(zones, i, t, tl))
			fprintf(f, "  local-zone: \"%.*s.\" nodefault\n", (int)tl, t);
	}
	for (size_t i = 0; i < n; i++)
		if (zones[i].anchor != NULL && zones[i].anchor[0] != '\0')
			fprintf(f, "  trust-anchor-file: \"%s\"\n", zones[i].anchor);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "stub-zone:\n  name: \"%s\"\n  stub-addr: 127.0.0.1@%u\n",
		        zones[i].origin, (unsigned)zones[i].port);
	fprintf(f, "remote-control:\n  control-enable: no\n");
	return fclose(f) == 0 ? 0 : -errno;
}

/* Poll until "probe SOA" with RD=1 answers NOERROR (harness_server_wait_ready()
 * asks without RD, which a resolver may answer from its empty cache only). */
static int unbound_wait_ready(struct harness_server *srv, const char *probe)
{
	double deadline = harness_now_ms() + HARNESS_READY_TIMEOUT_MS;
	for (;;) {
		if (!harness_server_running(srv))
			return -ECHILD;
		struct harness_query q = {.qname = probe, .qtype = LDNS_RR_TYPE_SOA, .rd = true};
		struct harness_reply r;
		bool ok = harness_query(NULL, srv->port, &q, UNBOUND_PROBE_TIMEOUT_MS, &r) == 0 &&
		          r.pkt != NULL && ldns_pkt_get_rcode(r.pkt) == LDNS_RCODE_NOERROR;
		harness_reply_free(&r);
		if (ok)
			return 0;
		if (harness_now_ms() >= deadline)
			return -ETIMEDOUT;
		struct timespec ts = {.tv_nsec = UNBOUND_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
}

int harness_unbound_start(struct harness_server *srv, const struct harness_unbound_zone *zones,
                          size_t n, const char *probe)
{
	const char *bin = harness_unbound_path();
	if (bin == NULL)
		return -ENOENT;
	if (n == 0 || zones == NULL)
		return -EINVAL;
	int rc = harness_server_init(srv, "unbound");
	if (rc < 0)
		return rc;
	char conf[PATH_MAX];
	if (snprintf(conf, sizeof(conf), "%s/unbound.conf", srv->dir) >= (int)sizeof(conf))
		return -ENAMETOOLONG;
	rc = harness_pick_port(&srv->port);
	if (rc == 0)
		rc = write_unbound_conf(srv, conf, zones, n);
	if (rc < 0)
		return rc;
	char *argv[] = {(char *)bin, "-d", "-p", "-c", conf, NULL};
	rc = harness_server_spawn(srv, argv);
	if (rc == 0)
		rc = unbound_wait_ready(srv, probe != NULL ? probe : zones[0].origin);
	if (rc < 0) {
		harness_server_stop(srv, 0);
		fprintf(stderr, "=== dnssec: unbound did not start: %s\n",
		        rc == -ETIMEDOUT ? "the probe never answered NOERROR"
		                         : harness_start_strerror(rc, srv));
		harness_server_dump_log(srv, stderr, 0);
	}
	return rc;
}
