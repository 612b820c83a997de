/*
 * check_catalog_in.c - shoal as a catalog zone consumer (e2e-catalog-in).
 *
 * knotd (Knot 3.2) runs on a loopback port as the producer of the catalog
 * zones and the primary of their members; shoal follows it with a catalog
 * zone of `catalog-role: interpret` whose members are served with its
 * `catalog-template`s (xfr/catalog_in.h). Every transfer and NOTIFY is
 * signed with one TSIG key (hmac-sha256, "xfr"). What shoal serves is
 * compared with facts: what knotd itself answers for the same names, the
 * files on disk, and the rules of RFC 9432.
 *
 * Test cases (each its own process and timeout):
 *   generate   Knot's own catalog (catalog-role: generate, members with
 *              catalog-role: member): shoal serves every member, each
 *              answer equal to knotd's, and `shoalctl zone-status` names
 *              the id knotd's catalog gives it; a member added on knotd at
 *              run time (knotc conf-begin, conf-set, conf-commit) with
 *              catalog-group t2 is served, its copy in the storage of
 *              shoal's template t2; `shoalctl reload` of the unchanged
 *              configuration transfers and deletes nothing; a member
 *              removed on knotd (conf-unset) is REFUSED and its copy,
 *              .timers and .journal are gone; shoal restarted with knotd
 *              stopped serves the same members (the same answers, from
 *              its saved copies) and still refuses the removed one.
 *   handmade   a catalog written by the test, served by knotd as a plain
 *              zone (file + `knotc zone-reload`), so that it can hold
 *              anything (catalog-max-members: 3):
 *                - a member's unique id changed (its serial on knotd the
 *                  same): a new AXFR of it (RFC 9432 §5.4, a reset);
 *                - seven broken versions (no version property; version
 *                  "1"; two version TXTs; two PTRs at a member node; one
 *                  zone under two ids; a coo property with two PTRs; four
 *                  members), each of which would remove m2 and add m4: m2
 *                  still answers, m4 stays REFUSED, no member is
 *                  transferred again (a broken catalog is not applied);
 *                - a good version again, beside members naming the
 *                  catalog itself, a name in it and the root: those left
 *                  out, the rest applies (m2 gone with its files, m4
 *                  served), the catalog still served as a zone of the
 *                  configuration;
 *                - a group property naming the second of two
 *                  catalog-templates: the copy lands in its storage;
 *                - a broken version, then a restart (knotd up): the
 *                  members applied before it, not the broken version's;
 *                - a member put into shoal's configuration file (another
 *                  content): the file wins; once the catalog drops it, it
 *                  is still served from its file, which is not deleted.
 *   two        two catalogs listing the same zones: the first one keeps
 *              them (§5.2, zone-status says so); a coo property in the
 *              first naming the second (the members do not move yet),
 *              then an update of the second: they move (zone-status
 *              "defined at catalog cat2.test."), the one with the same id
 *              keeping its data (no new AXFR), the one with another id
 *              transferred afresh; a restart and a reload keep them in
 *              cat2 without a transfer; a zone of shoal's configuration
 *              file that a catalog lists is served from the file (its
 *              content, not knotd's) and never deleted, also once the
 *              catalog drops it.
 *   expiry     a catalog with SOA refresh 1, retry 1, expire 4 (shoal's
 *              refresh-min-interval and retry-min-interval 1), members
 *              with a long expire: knotd stopped, the catalog is SERVFAIL
 *              once its EXPIRE has passed, its members still answer
 *              (§5.1), also after a restart of shoal meanwhile; knotd back
 *              with a new version adding a member: it is read again.
 *   regressions  bugs of shoal this test found, each its own test: the
 *              reload report, a member reset by a reload, a member's
 *              copy, timers and journal following its template's storage
 *              (a new group, a move by coo); see the comments above them.
 *
 * A bound on every wait: a change reaching shoal (NOTIFY, transfers) is a
 * matter of milliseconds on loopback; FOLLOW_MS is for a retry.
 *
 * shoal may drop privileges when run as root: the storage folders it
 * writes are made mode 0777. Exits 77 (skipped) when knotd is not
 * installed.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
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

#include "harness.h"

/* snprintf into an array, failing the test if it does not fit. */
#define FMT(buf, ...) ck_assert_int_lt(snprintf((buf), sizeof(buf), __VA_ARGS__), (int)sizeof(buf))

/* A catalog read and its members transferred, or a change followed
 * (NOTIFY, SOA, transfer): milliseconds on loopback; the bound covers a
 * retry. */
#define FOLLOW_MS 20000
/* The saved copies answer after a restart: loading small files. */
#define SAVED_MS 5000
/* How long a refused change is watched for not happening. */
#define HOLD_MS 1500
/* Files deleted after a member is removed (after its thread is done). */
#define FILES_MS 5000
/* expire 4 s: SERVFAIL within this once knotd is gone. */
#define EXPIRE_MS 15000
/* A knotc, kdig or shoalctl run. */
#define RUN_MS 30000

static char g_secret[64]; /* base64 of 32 random octets */
static pid_t g_main_pid;  /* of main(): marks the folders of this run */

/* ---- folders left by failed tests ------------------------------------------------------- */

#define OWNER_MARK ".catalog-in-run"

/* A failed check ends the forked test before the teardown: main() removes
 * the folders so marked at the end. */
static void mark_dir(const char *dir)
{
	char pid[32];
	snprintf(pid, sizeof(pid), "%ld", (long)g_main_pid);
	ck_assert_int_eq(harness_write_file(dir, OWNER_MARK, pid), 0);
}

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
		if (strcmp(got, want) == 0)
			harness_rmtree(path);
	}
	closedir(d);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static char *lower_dup(const char *s)
{
	char *l = strdup(s);
	ck_assert_ptr_nonnull(l);
	for (char *p = l; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return l;
}

/* "m1.test.zone" for "m1.test." (and the other suffixes). */
static void zone_file_name(char *out, size_t size, const char *origin, const char *suffix)
{
	size_t l = strlen(origin);
	snprintf(out, size, "%.*s%s", (int)(l > 1 ? l - 1 : l), origin, suffix);
}

/* ---- knotd: producer and primary ---------------------------------------------------------- */

struct knot {
	struct harness_server srv;
	char zonedir[PATH_MAX];
	char conf[PATH_MAX];
	char sock[PATH_MAX];
	char *argv[4];
	unsigned writes; /* files written: each one's mtime a second later */
};

static void knot_init(struct knot *k)
{
	memset(k, 0, sizeof(*k));
	ck_assert_int_eq(harness_server_init(&k->srv, "knotd"), 0);
	ck_assert_int_eq(harness_pick_port(&k->srv.port), 0);
	mark_dir(k->srv.dir);
	static const char *const subs[] = {"zones", "run", "db"};
	char sub[PATH_MAX];
	for (size_t i = 0; i < 3; i++) {
		FMT(sub, "%s/%s", k->srv.dir, subs[i]);
		ck_assert_int_eq(mkdir(sub, 0755), 0);
	}
	FMT(k->zonedir, "%s/zones", k->srv.dir);
	FMT(k->conf, "%s/knot.conf", k->srv.dir);
	FMT(k->sock, "%s/run/knot.sock", k->srv.dir);
}

/*
 * knotd's configuration: the key, shoal as the remote it notifies, an acl
 * letting 127.0.0.1 transfer with the key, and `zones` (YAML entries of
 * the zone: section). generate: a template "member" for zones of Knot's
 * own catalog cat.test. (catalog-role member).
 */
static void knot_write_conf(struct knot *k, uint16_t shoal_port, bool generate, const char *zones)
{
	FILE *f = fopen(k->conf, "w");
	ck_assert_ptr_nonnull(f);
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
	        "    secret: %s\n"
	        "remote:\n"
	        "  - id: shoal\n"
	        "    address: 127.0.0.1@%u\n"
	        "    key: xfr\n"
	        "acl:\n"
	        "  - id: xfr\n"
	        "    address: 127.0.0.1\n"
	        "    key: xfr\n"
	        "    action: transfer\n"
	        "database:\n"
	        "  storage: %s/db\n"
	        "template:\n"
	        "  - id: default\n"
	        "    storage: %s\n"
	        /* a file edited and reloaded: the difference goes to the
	         * journal, IXFR is served from it */
	        "    zonefile-load: difference\n"
	        "    journal-content: changes\n"
	        "    zonefile-sync: -1\n"
	        "    semantic-checks: off\n"
	        "    acl: xfr\n"
	        "    notify: shoal\n",
	        k->srv.dir, k->srv.port, g_secret, shoal_port, k->srv.dir, k->zonedir);
	if (generate)
		fprintf(f,
		        "  - id: member\n"
		        "    storage: %s\n"
		        "    zonefile-sync: -1\n"
		        "    acl: xfr\n"
		        "    notify: shoal\n"
		        "    catalog-role: member\n"
		        "    catalog-zone: cat.test.\n",
		        k->zonedir);
	fprintf(f, "zone:\n%s", zones);
	ck_assert_int_eq(fclose(f), 0);
	k->argv[0] = (char *)harness_knotd_path();
	k->argv[1] = "-c";
	k->argv[2] = k->conf;
	k->argv[3] = NULL;
}

/* Write a zone file into knotd's folder, its mtime a second after the last
 * one's: knotd reads a file again only when its time changed. */
static void knot_write_zone(struct knot *k, const char *zone, const char *text)
{
	char name[300], path[PATH_MAX];
	zone_file_name(name, sizeof(name), zone, ".zone");
	ck_assert_int_eq(harness_write_file(k->zonedir, name, text), 0);
	FMT(path, "%s/%s", k->zonedir, name);
	struct timeval tv[2];
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec += ++k->writes;
	tv[1] = tv[0];
	ck_assert_int_eq(utimes(path, tv), 0);
}

/* A member zone as knotd serves it: www A 192.0.2.n, a TXT naming knotd. */
static void knot_member(struct knot *k, const char *zone, unsigned n)
{
	char text[1024];
	FMT(text,
	    "$ORIGIN %s\n$TTL 300\n"
	    "@    IN SOA ns1 hostmaster 100 3600 600 604800 300\n"
	    "@    IN NS  ns1\n"
	    "ns1  IN A   192.0.2.1\n"
	    "www  IN A   192.0.2.%u\n"
	    "txt  IN TXT \"%s from knotd\"\n",
	    zone, n, zone);
	knot_write_zone(k, zone, text);
}

static void knot_start(struct knot *k)
{
	/* ready at any answer; the zones are waited for by the caller */
	int rc = harness_server_start(&k->srv, k->argv);
	if (rc != 0) {
		harness_server_dump_log(&k->srv, stdout, 4000);
		fflush(stdout);
	}
	ck_assert_msg(rc == 0, "knotd did not start: %s (its log is above)",
	              harness_start_strerror(rc, &k->srv));
	printf("catalog-in: knotd on 127.0.0.1@%u, configuration %s\n", k->srv.port, k->conf);
	fflush(stdout);
}

/* knotc -s SOCK args...: must exit 0. */
static void knotc(struct knot *k, const char *const *args)
{
	const char *argv[16];
	size_t n = 0;
	argv[n++] = "knotc";
	argv[n++] = "-s";
	argv[n++] = k->sock;
	for (size_t i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct harness_run r;
	ck_assert_int_eq(harness_run(argv, RUN_MS, &r), 0);
	bool ok = r.exit_code == 0;
	printf("knotc %s%s%s: exit %d %s%s", args[0], args[1] ? " " : "", args[1] ? args[1] : "",
	       r.exit_code, r.out, r.err);
	fflush(stdout);
	harness_run_free(&r);
	ck_assert_msg(ok, "knotc %s failed (above)", args[0]);
}

/* A zone's new file: knotc zone-reload, then wait until knotd serves
 * serial (over TCP: knotd refuses a catalog's SOA over UDP). */
static void knot_publish(struct knot *k, const char *zone, uint32_t serial, const char *text)
{
	knot_write_zone(k, zone, text);
	const char *args[] = {"zone-reload", zone, NULL};
	knotc(k, args);
	double t0 = harness_now_ms();
	uint32_t got = 0;
	for (;;) {
		struct harness_reply r = {0};
		if (harness_ask(k->srv.port, zone, LDNS_RR_TYPE_SOA, HARNESS_TCP, &r) == 0 &&
		    ldns_pkt_get_rcode(r.pkt) == LDNS_RCODE_NOERROR &&
		    ldns_rr_list_rr_count(ldns_pkt_answer(r.pkt)) == 1)
			got = ldns_rdf2native_int32(
			    ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0), 2));
		harness_reply_free(&r);
		if (got == serial)
			break;
		if (harness_now_ms() - t0 > FOLLOW_MS) {
			harness_server_dump_log(&k->srv, stdout, 4000);
			ck_abort_msg("knotd does not serve %s serial %u after zone-reload (has %u)",
			             zone, serial, got);
		}
		sleep_ms(50);
	}
	printf("knotd: %s serial %u\n", zone, serial);
	fflush(stdout);
}

/*
 * A catalog zone written by the test (served by knotd as a plain zone):
 * the SOA (timers: refresh retry expire minimum), NS invalid. (RFC 9432
 * §4.1), then `body`: records relative to the catalog's name.
 */
static void knot_catalog(struct knot *k, const char *cat, uint32_t serial, const char *timers,
                         const char *body)
{
	char *t = NULL;
	ck_assert_int_ge(asprintf(&t,
	                          "$ORIGIN %s\n$TTL 0\n"
	                          "@ IN SOA invalid. invalid. %u %s\n"
	                          "@ IN NS invalid.\n"
	                          "%s",
	                          cat, serial, timers ? timers : "3600 600 604800 0", body),
	                 0);
	knot_publish(k, cat, serial, t);
	free(t);
}

/* The id (first label of the member node) knotd's catalog `cat` gives
 * `zone`, read by a signed AXFR with kdig. */
static void knot_member_id(struct knot *k, const char *cat, const char *zone, char *id, size_t size)
{
	char p[16], y[160];
	snprintf(p, sizeof(p), "%u", k->srv.port);
	snprintf(y, sizeof(y), "hmac-sha256:xfr:%s", g_secret);
	const char *argv[] = {"kdig", "@127.0.0.1", "-p",     p,         "-y", y,
	                      "AXFR", cat,          "+noall", "+answer", NULL};
	struct harness_run r;
	ck_assert_int_eq(harness_run(argv, RUN_MS, &r), 0);
	id[0] = '\0';
	char *save = NULL;
	char suffix[300];
	snprintf(suffix, sizeof(suffix), ".zones.%s", cat);
	for (char *line = strtok_r(r.out, "\n", &save); line != NULL && id[0] == '\0';
	     line = strtok_r(NULL, "\n", &save)) {
		char owner[300], ttl[32], cls[16], type[16], target[300];
		if (sscanf(line, "%299s %31s %15s %15s %299s", owner, ttl, cls, type, target) !=
		        5 ||
		    strcasecmp(type, "PTR") != 0 || strcasecmp(target, zone) != 0)
			continue;
		char *dot = strchr(owner, '.');
		if (dot != NULL && strcasecmp(dot, suffix) == 0)
			snprintf(id, size, "%.*s", (int)(dot - owner), owner);
	}
	if (id[0] == '\0')
		printf("kdig AXFR %s: exit %d\n%s%s", cat, r.exit_code, r.out, r.err);
	harness_run_free(&r);
	ck_assert_msg(id[0] != '\0', "knotd's catalog %s does not list %s (above)", cat, zone);
}

/* ---- shoal: the consumer ----------------------------------------------------------------- */

struct shoal {
	struct harness_server srv;
	char conf[PATH_MAX];
	char sock[PATH_MAX];
	char store[PATH_MAX]; /* the catalogs' storage (and the default) */
	char t1[PATH_MAX];    /* template t1's storage: members by default */
	char t2[PATH_MAX];    /* template t2's: members of group "t2" */
};

static void make_storage(char *out, size_t size, const char *dir, const char *name)
{
	ck_assert_int_lt(snprintf(out, size, "%s/%s", dir, name), (int)size);
	ck_assert_int_eq(mkdir(out, 0777), 0);
	/* shoal drops to another user when started as root: let it write */
	ck_assert_int_eq(chmod(out, 0777), 0);
}

static void shoal_prepare(struct shoal *s)
{
	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(harness_shoal_prepare(&s->srv), 0);
	mark_dir(s->srv.dir);
	make_storage(s->store, sizeof(s->store), s->srv.dir, "catalogs");
	make_storage(s->t1, sizeof(s->t1), s->srv.dir, "t1");
	make_storage(s->t2, sizeof(s->t2), s->srv.dir, "t2");
	FMT(s->conf, "%s/shoal.conf", s->srv.dir);
	FMT(s->sock, "%s/ctl.sock", s->srv.dir);
}

/*
 * shoal's configuration: knotd as the remote "knot" (with the key), two
 * templates t1 and t2 for members (each its storage, knot as primary),
 * and `zones`: YAML entries of the zone: section, where "@STORE@" stands
 * for the catalogs' storage and "@T1@" for t1's.
 */
static void shoal_write_conf(struct shoal *s, uint16_t knot_port, const char *zones)
{
	FILE *f = fopen(s->conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
	        "server:\n"
	        "  listen: 127.0.0.1@%u\n"
	        "  threads: 2\n"
	        "  control: %s\n"
	        "  log-level: info\n"
	        "key:\n"
	        "  - id: xfr\n"
	        "    algorithm: hmac-sha256\n"
	        "    secret: %s\n"
	        "remote:\n"
	        "  - id: knot\n"
	        "    address: 127.0.0.1@%u\n"
	        "    key: xfr\n"
	        "acl:\n"
	        "  - id: out\n"
	        "    address: 127.0.0.0/8\n"
	        "    action: transfer\n"
	        "template:\n"
	        "  - id: default\n"
	        "    storage: %s\n"
	        "  - id: t1\n"
	        "    storage: %s\n"
	        "    primary: knot\n"
	        "    acl: out\n"
	        "  - id: t2\n"
	        "    storage: %s\n"
	        "    primary: knot\n"
	        "    acl: out\n"
	        "zone:\n",
	        s->srv.port, s->sock, g_secret, knot_port, s->store, s->t1, s->t2);
	/* the placeholders replaced */
	for (const char *p = zones; *p;) {
		if (!strncmp(p, "@STORE@", 7)) {
			fputs(s->store, f);
			p += 7;
		} else if (!strncmp(p, "@T1@", 4)) {
			fputs(s->t1, f);
			p += 4;
		} else {
			fputc(*p++, f);
		}
	}
	ck_assert_int_eq(fclose(f), 0);
}

static int shoal_start(struct harness_server *srv, void *ctx)
{
	return harness_shoal_start_config(srv, ctx);
}

/* Start shoal and wait until it answers at all (its zones come later).
 * The port is in the configuration, and knotd notifies it: a port held a
 * moment is tried again, not another. */
static void shoal_launch(struct shoal *s)
{
	int rc = harness_start_same_port(&s->srv, shoal_start, s->conf, "catalog-in");
	if (rc != 0) {
		harness_server_dump_log(&s->srv, stdout, 4000);
		fflush(stdout);
	}
	ck_assert_msg(rc == 0, "shoal did not start: %s (its log is above)",
	              harness_start_strerror(rc, &s->srv));
	printf("catalog-in: shoal on 127.0.0.1@%u, configuration %s\n", s->srv.port, s->conf);
	fflush(stdout);
}

/* shoalctl zone-status ZONE: its output (free() it). */
static char *shoal_zone_status(const struct shoal *s, const char *zone)
{
	const char *bin = getenv("SHOALCTL_BIN");
	ck_assert_msg(bin != NULL, "SHOALCTL_BIN is not set (run through meson test)");
	const char *argv[] = {bin, "-s", s->sock, "zone-status", zone, NULL};
	struct harness_run r;
	ck_assert_int_eq(harness_run(argv, RUN_MS, &r), 0);
	char *t = NULL;
	ck_assert_int_ge(asprintf(&t, "exit %d\n%s%s", r.exit_code, r.out, r.err), 0);
	harness_run_free(&r);
	return t;
}

/* shoalctl reload: must exit 0. */
static void shoal_reload(const struct shoal *s)
{
	const char *bin = getenv("SHOALCTL_BIN");
	ck_assert_msg(bin != NULL, "SHOALCTL_BIN is not set (run through meson test)");
	const char *argv[] = {bin, "-s", s->sock, "reload", NULL};
	struct harness_run r;
	ck_assert_int_eq(harness_run(argv, RUN_MS, &r), 0);
	printf("shoalctl reload: exit %d\n%s%s", r.exit_code, r.out, r.err);
	fflush(stdout);
	bool ok = r.exit_code == 0;
	harness_run_free(&r);
	if (!ok) {
		/* shoal may have died: its log says why (a sanitizer's report) */
		sleep_ms(500);
		harness_server_dump_log(&s->srv, stdout, 16000);
		fflush(stdout);
	}
	ck_assert_msg(ok, "shoalctl reload failed (above)");
}

/* shoalctl zone-refresh ZONE: must exit 0. */
static void shoal_refresh(const struct shoal *s, const char *zone)
{
	const char *bin = getenv("SHOALCTL_BIN");
	ck_assert_msg(bin != NULL, "SHOALCTL_BIN is not set (run through meson test)");
	const char *argv[] = {bin, "-s", s->sock, "zone-refresh", zone, NULL};
	struct harness_run r;
	ck_assert_int_eq(harness_run(argv, RUN_MS, &r), 0);
	ck_assert_msg(r.exit_code == 0, "shoalctl zone-refresh %s: exit %d\n%s%s", zone,
	              r.exit_code, r.out, r.err);
	harness_run_free(&r);
}

/* Wait until zone-status ZONE contains `want` (up to ms). */
static void shoal_wait_status(const struct shoal *s, const char *zone, const char *want, int ms)
{
	double t0 = harness_now_ms();
	char *st = NULL;
	for (;;) {
		free(st);
		st = shoal_zone_status(s, zone);
		if (strstr(st, want) != NULL)
			break;
		if (harness_now_ms() - t0 > ms) {
			harness_server_dump_log(&s->srv, stdout, 6000);
			printf("shoalctl zone-status %s:\n%s\n", zone, st);
			fflush(stdout);
			ck_abort_msg("zone-status %s does not say \"%s\" within %d ms (above)",
			             zone, want, ms);
		}
		sleep_ms(200);
	}
	printf("shoalctl zone-status %s: \"%s\"\n", zone, want);
	fflush(stdout);
	free(st);
}

/* ---- checks ------------------------------------------------------------------------------ */

static struct knot g_knot;
static struct shoal g_shoal;

/* Wait until shoal answers "qname qtype" with rcode; both logs on failure. */
static void wait_rcode(const char *qname, ldns_rr_type qtype, unsigned rcode, int ms,
                       const char *why)
{
	double t0 = harness_now_ms();
	int rc = harness_wait_rcode(&g_shoal.srv, qname, qtype, rcode, ms);
	if (rc != 0) {
		harness_server_dump_log(&g_shoal.srv, stdout, 8000);
		harness_server_dump_log(&g_knot.srv, stdout, 3000);
		fflush(stdout);
	}
	ck_assert_msg(rc == 0, "%s: shoal does not answer %s with %s within %d ms (logs above)",
	              why, qname, harness_rcode_str(rcode), ms);
	printf("shoal: %s %s after %.0f ms (%s)\n", qname, harness_rcode_str(rcode),
	       harness_now_ms() - t0, why);
	fflush(stdout);
}

/* Poll for `ms`: shoal answers "qname A" with rcode throughout (a change
 * that must not happen). */
static void hold_rcode(const char *qname, unsigned rcode, int ms, const char *why)
{
	double t0 = harness_now_ms();
	unsigned asked = 0;
	while (harness_now_ms() - t0 < ms) {
		int got = harness_ask_rcode(g_shoal.srv.port, qname, LDNS_RR_TYPE_A, HARNESS_UDP);
		asked++;
		if (got < 0 || (unsigned)got != rcode) {
			harness_server_dump_log(&g_shoal.srv, stdout, 6000);
			fflush(stdout);
			ck_abort_msg("%s: shoal answers %s with %s (want %s, query %u in %.0f ms)",
			             why, qname,
			             got < 0 ? strerror(-got) : harness_rcode_str((unsigned)got),
			             harness_rcode_str(rcode), asked, harness_now_ms() - t0);
		}
		sleep_ms(100);
	}
	printf("shoal: %s %s throughout %d ms, %u queries (%s)\n", qname, harness_rcode_str(rcode),
	       ms, asked, why);
	fflush(stdout);
}

/* The answer to "qname A" from a server: rcode and answer section as text
 * (TTLs kept). */
struct answer_text {
	int rcode;
	struct harness_rrset_text answer;
};

static void answer_get(uint16_t port, const char *qname, struct answer_text *out)
{
	struct harness_reply r = {0};
	memset(out, 0, sizeof(*out));
	int rc = harness_ask(port, qname, LDNS_RR_TYPE_A, HARNESS_UDP, &r);
	ck_assert_msg(rc == 0, "%s A @%u: %s", qname, port, strerror(-rc));
	out->rcode = ldns_pkt_get_rcode(r.pkt);
	ck_assert_int_eq(harness_rrset_text(ldns_pkt_answer(r.pkt), true, &out->answer), 0);
	harness_reply_free(&r);
}

static bool answer_same(const struct answer_text *want, const struct answer_text *got,
                        const char *label)
{
	bool same = want->rcode == got->rcode;
	if (!same)
		printf("FAIL %s: rcode %s, want %s\n", label,
		       harness_rcode_str((unsigned)got->rcode),
		       harness_rcode_str((unsigned)want->rcode));
	same &= harness_rrset_text_diff(&want->answer, &got->answer, label, stdout);
	if (same)
		printf("%s: %s, %zu records, the same\n", label,
		       harness_rcode_str((unsigned)got->rcode), got->answer.n);
	fflush(stdout);
	return same;
}

/* shoal's answer for www.<zone> A equals knotd's (knotd running). */
static void same_as_knot(const char *zone)
{
	char q[300], label[400];
	FMT(q, "www.%s", zone);
	FMT(label, "%s A: knotd and shoal", q);
	struct answer_text a, b;
	answer_get(g_knot.srv.port, q, &a);
	answer_get(g_shoal.srv.port, q, &b);
	bool same = answer_same(&a, &b, label);
	harness_rrset_text_free(&a.answer);
	harness_rrset_text_free(&b.answer);
	ck_assert_msg(same, "%s differ (\"-\" knotd, \"+\" shoal, above)", label);
	ck_assert_int_eq(a.rcode, LDNS_RCODE_NOERROR);
}

static bool file_exists(const char *dir, const char *zone, const char *suffix)
{
	char name[300], path[PATH_MAX];
	zone_file_name(name, sizeof(name), zone, suffix);
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return false;
	return access(path, F_OK) == 0;
}

/* Wait until <dir>/<zone><suffix> exists (shoal saves a copy just after
 * the transfer). */
static void wait_file(const char *dir, const char *zone, const char *suffix, int ms)
{
	double t0 = harness_now_ms();
	while (!file_exists(dir, zone, suffix)) {
		if (harness_now_ms() - t0 > ms) {
			char name[300];
			zone_file_name(name, sizeof(name), zone, suffix);
			harness_server_dump_log(&g_shoal.srv, stdout, 4000);
			fflush(stdout);
			ck_abort_msg("no %s in %s within %d ms", name, dir, ms);
		}
		sleep_ms(50);
	}
}

/* Wait until the copy, timers and journal of zone are gone from dir. */
static void wait_files_gone(const char *dir, const char *zone, int ms)
{
	static const char *const sfx[] = {".zone", ".timers", ".journal"};
	double t0 = harness_now_ms();
	for (;;) {
		const char *left = NULL;
		for (size_t i = 0; i < 3 && left == NULL; i++)
			if (file_exists(dir, zone, sfx[i]))
				left = sfx[i];
		if (left == NULL)
			break;
		if (harness_now_ms() - t0 > ms) {
			char name[300];
			zone_file_name(name, sizeof(name), zone, left);
			harness_server_dump_log(&g_shoal.srv, stdout, 4000);
			fflush(stdout);
			ck_abort_msg("%s is still in %s %d ms after the member was removed", name,
			             dir, ms);
		}
		sleep_ms(50);
	}
	printf("shoal: %s's copy, .timers and .journal are gone from %s\n", zone, dir);
	fflush(stdout);
}

/* Wait until shoal serves zone with serial (a catalog's new version). */
static void wait_serial(const char *zone, uint32_t serial)
{
	double t0 = harness_now_ms();
	int rc = harness_wait_serial(&g_shoal.srv, zone, serial, FOLLOW_MS);
	if (rc != 0) {
		harness_server_dump_log(&g_shoal.srv, stdout, 8000);
		harness_server_dump_log(&g_knot.srv, stdout, 3000);
		fflush(stdout);
	}
	ck_assert_msg(rc == 0, "shoal does not serve %s serial %u within %d ms (logs above)", zone,
	              serial, FOLLOW_MS);
	printf("shoal: serves %s serial %u after %.0f ms\n", zone, serial, harness_now_ms() - t0);
	fflush(stdout);
}

/* Wait until shoal's answer to "qname A" holds the address `addr` (ms 0:
 * now). */
static void wait_addr(const char *qname, const char *addr, int ms, const char *why)
{
	double t0 = harness_now_ms();
	for (;;) {
		struct answer_text a;
		answer_get(g_shoal.srv.port, qname, &a);
		bool found = a.rcode == LDNS_RCODE_NOERROR && a.answer.n == 1 &&
		             strstr(a.answer.rr[0], addr) != NULL;
		char got[512];
		snprintf(got, sizeof(got), "%s %s", harness_rcode_str((unsigned)a.rcode),
		         a.answer.n ? a.answer.rr[0] : "(no answer)");
		harness_rrset_text_free(&a.answer);
		if (found)
			break;
		if (harness_now_ms() - t0 >= ms) {
			harness_server_dump_log(&g_shoal.srv, stdout, 6000);
			fflush(stdout);
			ck_abort_msg("%s: shoal answers %s with %s, not %s (log above)", why, qname,
			             got, addr);
		}
		sleep_ms(100);
	}
	printf("shoal: %s A %s (%s)\n", qname, addr, why);
	fflush(stdout);
}

/* dir/name holds exactly `text`. */
static void file_unchanged(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX], buf[4096];
	FMT(path, "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s, the file of a zone of shoal's configuration, is gone: %s",
	              path, strerror(errno));
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	ck_assert_msg(strcmp(buf, text) == 0, "%s was rewritten:\n%s", path, buf);
	printf("%s: still there, unchanged\n", path);
	fflush(stdout);
}

/* ---- shoal's log ------------------------------------------------------------------------ */

/* Wait until the log since `mark` contains `text`; ms bound. */
static void wait_log_since(long mark, const char *text, int ms)
{
	double t0 = harness_now_ms();
	for (;;) {
		char *t = harness_log_since(&g_shoal.srv, mark);
		bool found = strstr(t, text) != NULL;
		free(t);
		if (found)
			break;
		if (harness_now_ms() - t0 > ms) {
			harness_server_dump_log(&g_shoal.srv, stdout, 6000);
			fflush(stdout);
			ck_abort_msg("shoal's log does not say \"%s\" within %d ms (above)", text,
			             ms);
		}
		sleep_ms(50);
	}
}

/* Lines of the log since `mark` about an AXFR of `zone` coming in (they
 * name the zone and AXFR; not shoal's lines about transfers out, "... of
 * zone Z ... for 127.0.0.1@P"), printed. */
static unsigned axfr_lines(long mark, const char *zone)
{
	char *t = harness_log_since(&g_shoal.srv, mark);
	char *z = lower_dup(zone);
	unsigned n = 0;
	char *save = NULL;
	for (char *line = strtok_r(t, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *l = lower_dup(line);
		if (strstr(l, z) != NULL && strstr(l, "axfr") != NULL &&
		    strstr(l, " of zone ") == NULL && strstr(l, " for 127.0.0.") == NULL) {
			n++;
			printf("    shoal log: %s\n", line);
		}
		free(l);
	}
	free(z);
	free(t);
	fflush(stdout);
	return n;
}

/* Wait up to ms for an incoming AXFR of zone in the log since mark. */
static unsigned wait_axfr(long mark, const char *zone, int ms)
{
	double t0 = harness_now_ms();
	unsigned n;
	while ((n = axfr_lines(mark, zone)) == 0 && harness_now_ms() - t0 < ms)
		sleep_ms(100);
	return n;
}

/* ---- fixtures ---------------------------------------------------------------------------- */

static void case_setup(void)
{
	memset(&g_knot, 0, sizeof(g_knot));
	memset(&g_shoal, 0, sizeof(g_shoal));
}

/* What a sanitizer said in shoal's log (an ASan build), once it stopped. */
static bool sanitizer_report(const struct harness_server *s)
{
	if (s->log[0] == '\0')
		return false;
	char *t = harness_log_since(s, 0);
	const char *hit = NULL;
	static const char *const marks[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
	                                    "runtime error:", NULL};
	for (const char *const *m = marks; *m != NULL && hit == NULL; m++)
		hit = strstr(t, *m);
	if (hit != NULL)
		printf("----- shoal: sanitizer report in its log -----\n%.6000s\n----- end -----\n",
		       hit);
	fflush(stdout);
	free(t);
	return hit != NULL;
}

static void case_teardown(void)
{
	/* shoal first (its sanitizer reports are written as it exits) */
	harness_server_stop(&g_shoal.srv, 0);
	bool reports = sanitizer_report(&g_shoal.srv);
	harness_server_cleanup(&g_shoal.srv);
	harness_server_cleanup(&g_knot.srv);
	ck_assert_msg(!reports, "shoal's log has a sanitizer report (above)");
}

/* ---- 1: Knot's own catalog (catalog-role: generate) ------------------------------------ */

START_TEST(generate)
{
	static const char *const zones[] = {"a.test.", "b.test.", "c.test."};
	shoal_prepare(&g_shoal);
	knot_init(&g_knot);
	for (unsigned i = 0; i < 3; i++)
		knot_member(&g_knot, zones[i], 10 + i);
	knot_write_conf(&g_knot, g_shoal.srv.port, true,
	                "  - domain: cat.test.\n"
	                "    catalog-role: generate\n"
	                "  - domain: a.test.\n"
	                "    template: member\n"
	                "  - domain: b.test.\n"
	                "    template: member\n"
	                "  - domain: c.test.\n"
	                "    template: member\n");
	shoal_write_conf(&g_shoal, g_knot.srv.port,
	                 "  - domain: cat.test.\n"
	                 "    storage: @STORE@\n"
	                 "    primary: knot\n"
	                 "    catalog-role: interpret\n"
	                 "    catalog-template: [t1, t2]\n");
	knot_start(&g_knot);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(harness_wait_rcode(&g_knot.srv, zones[i], LDNS_RR_TYPE_SOA,
		                                    LDNS_RCODE_NOERROR, FOLLOW_MS),
		                 0);
	shoal_launch(&g_shoal);

	/* every member served, as knotd serves it, under the id knotd gave it */
	for (unsigned i = 0; i < 3; i++) {
		char q[300], id[80], want[400];
		FMT(q, "www.%s", zones[i]);
		wait_rcode(q, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS,
		           "a member of cat.test.");
		same_as_knot(zones[i]);
		knot_member_id(&g_knot, "cat.test.", zones[i], id, sizeof(id));
		FMT(want, "defined at catalog cat.test., member %s", id);
		shoal_wait_status(&g_shoal, zones[i], want, FOLLOW_MS);
		wait_file(g_shoal.t1, zones[i], ".zone", FILES_MS);
	}

	/* x.test. added on knotd at run time, with catalog-group t2: knotd's
	 * catalog lists it with a group property naming shoal's second
	 * template, whose storage gets its copy */
	knot_member(&g_knot, "x.test.", 40);
	const char *b[] = {"conf-begin", NULL};
	const char *s1[] = {"conf-set", "zone[x.test.]", NULL};
	const char *s2[] = {"conf-set", "zone[x.test.].template", "member", NULL};
	const char *s3[] = {"conf-set", "zone[x.test.].catalog-group", "t2", NULL};
	const char *c[] = {"conf-commit", NULL};
	knotc(&g_knot, b);
	knotc(&g_knot, s1);
	knotc(&g_knot, s2);
	knotc(&g_knot, s3);
	knotc(&g_knot, c);
	ck_assert_int_eq(harness_wait_rcode(&g_knot.srv, "x.test.", LDNS_RR_TYPE_SOA,
	                                    LDNS_RCODE_NOERROR, FOLLOW_MS),
	                 0);
	wait_rcode("www.x.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS,
	           "x.test. added to knotd's catalog");
	same_as_knot("x.test.");
	wait_file(g_shoal.t2, "x.test.", ".zone", FILES_MS);
	ck_assert_msg(!file_exists(g_shoal.t1, "x.test.", ".zone"),
	              "x.test. (catalog-group t2 on knotd) has a copy in t1's storage");

	/* shoalctl reload of the unchanged configuration: every member stays,
	 * nothing is transferred again, no file deleted */
	static const char *const four[] = {"a.test.", "b.test.", "c.test.", "x.test."};
	sleep_ms(300);
	long mark = harness_log_mark(&g_shoal.srv);
	shoal_reload(&g_shoal);
	for (unsigned i = 0; i < 4; i++) {
		char q[300];
		FMT(q, "www.%s", four[i]);
		hold_rcode(q, LDNS_RCODE_NOERROR, 300, "after shoalctl reload");
	}
	sleep_ms(700);
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_msg(axfr_lines(mark, four[i]) == 0,
		              "%s transferred again after a reload that changed nothing (above)",
		              four[i]);
		ck_assert_msg(file_exists(i == 3 ? g_shoal.t2 : g_shoal.t1, four[i], ".zone"),
		              "%s's copy is gone after a reload that changed nothing", four[i]);
	}

	/* a.test. removed on knotd: REFUSED, its files gone */
	ck_assert(file_exists(g_shoal.t1, "a.test.", ".zone"));
	const char *u[] = {"conf-unset", "zone[a.test.]", NULL};
	knotc(&g_knot, b);
	knotc(&g_knot, u);
	knotc(&g_knot, c);
	ck_assert_int_eq(harness_wait_rcode(&g_knot.srv, "www.a.test.", LDNS_RR_TYPE_A,
	                                    LDNS_RCODE_REFUSED, FOLLOW_MS),
	                 0);
	wait_rcode("www.a.test.", LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, FOLLOW_MS,
	           "a.test. removed from knotd's catalog");
	wait_files_gone(g_shoal.t1, "a.test.", FILES_MS);
	static const char *const left[] = {"b.test.", "c.test.", "x.test."};
	for (unsigned i = 0; i < 3; i++)
		same_as_knot(left[i]);

	/* what knotd answers now, kept for after the restart */
	struct answer_text before[3];
	for (unsigned i = 0; i < 3; i++) {
		char q[300];
		FMT(q, "www.%s", left[i]);
		answer_get(g_knot.srv.port, q, &before[i]);
	}
	/* knotd stopped, shoal restarted: the same members, from the saved
	 * copies; the removed one still refused */
	harness_server_stop(&g_knot.srv, 0);
	int rc = harness_server_stop(&g_shoal.srv, 0);
	ck_assert_msg(rc == 0, "shoal did not stop on SIGTERM within %d ms",
	              HARNESS_STOP_TIMEOUT_MS);
	ck_assert(!sanitizer_report(&g_shoal.srv));
	shoal_launch(&g_shoal);
	for (unsigned i = 0; i < 3; i++) {
		char q[300], label[400];
		FMT(q, "www.%s", left[i]);
		FMT(label, "%s A: knotd before, shoal after its restart", q);
		wait_rcode(q, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, SAVED_MS,
		           "restarted with knotd stopped: its saved copy");
		struct answer_text after;
		answer_get(g_shoal.srv.port, q, &after);
		bool same = answer_same(&before[i], &after, label);
		harness_rrset_text_free(&after.answer);
		harness_rrset_text_free(&before[i].answer);
		ck_assert_msg(same, "%s differ (above)", label);
	}
	hold_rcode("www.a.test.", LDNS_RCODE_REFUSED, HOLD_MS, "removed before the restart");
}
END_TEST

/* ---- 2: a catalog written by hand --------------------------------------------------------- */

/* shoal's catalog in the handmade test and the regressions: two templates, at
 * most 3 members. */
static const char handmade_zones[] = "  - domain: cat.test.\n"
                                     "    storage: @STORE@\n"
                                     "    primary: knot\n"
                                     "    catalog-role: interpret\n"
                                     "    catalog-template: [t1, t2]\n"
                                     "    catalog-max-members: 3\n";

/* knotd serving cat.test. and m1..m5.test. as plain zones. */
static void handmade_knot(const char *timers, const char *body)
{
	knot_init(&g_knot);
	char zones[2048] = "  - domain: cat.test.\n";
	for (unsigned i = 1; i <= 5; i++) {
		char z[32];
		FMT(z, "m%u.test.", i);
		knot_member(&g_knot, z, 100 + i);
		size_t l = strlen(zones);
		snprintf(zones + l, sizeof(zones) - l, "  - domain: %s\n", z);
	}
	char text[4096];
	FMT(text,
	    "$ORIGIN cat.test.\n$TTL 0\n@ IN SOA invalid. invalid. 1 %s\n@ IN NS invalid.\n%s",
	    timers ? timers : "3600 600 604800 0", body);
	knot_write_zone(&g_knot, "cat.test.", text);
	knot_write_conf(&g_knot, g_shoal.srv.port, false, zones);
	knot_start(&g_knot);
	ck_assert_int_eq(harness_wait_rcode(&g_knot.srv, "cat.test.", LDNS_RR_TYPE_SOA,
	                                    LDNS_RCODE_NOERROR, FOLLOW_MS),
	                 0);
}

/* One broken version of cat.test.: it would remove m2 and add m4. */
struct broken {
	const char *what;
	const char *body;
};

static const struct broken broken_versions[] = {
    {"no version property", "b1.zones PTR m1.test.\n"
                            "a3.zones PTR m3.test.\n"
                            "a4.zones PTR m4.test.\n"},
    {"version \"1\"", "version TXT \"1\"\n"
                      "b1.zones PTR m1.test.\n"
                      "a3.zones PTR m3.test.\n"
                      "a4.zones PTR m4.test.\n"},
    {"two version TXT records", "version TXT \"2\"\n"
                                "version TXT \"3\"\n"
                                "b1.zones PTR m1.test.\n"
                                "a3.zones PTR m3.test.\n"
                                "a4.zones PTR m4.test.\n"},
    {"two PTR records at one member node", "version TXT \"2\"\n"
                                           "b1.zones PTR m1.test.\n"
                                           "a3.zones PTR m3.test.\n"
                                           "a3.zones PTR m5.test.\n"
                                           "a4.zones PTR m4.test.\n"},
    {"one zone under two ids", "version TXT \"2\"\n"
                               "b1.zones PTR m1.test.\n"
                               "a3.zones PTR m3.test.\n"
                               "a4.zones PTR m4.test.\n"
                               "x4.zones PTR m4.test.\n"},
    {"a coo property with two PTR records", "version TXT \"2\"\n"
                                            "b1.zones PTR m1.test.\n"
                                            "a3.zones PTR m3.test.\n"
                                            "a4.zones PTR m4.test.\n"
                                            "coo.a4.zones PTR other1.test.\n"
                                            "coo.a4.zones PTR other2.test.\n"},
    {"4 members, catalog-max-members 3", "version TXT \"2\"\n"
                                         "b1.zones PTR m1.test.\n"
                                         "a3.zones PTR m3.test.\n"
                                         "a4.zones PTR m4.test.\n"
                                         "a5.zones PTR m5.test.\n"},
};

START_TEST(handmade)
{
	shoal_prepare(&g_shoal);
	handmade_knot(NULL, "version TXT \"2\"\n"
	                    "a1.zones PTR m1.test.\n"
	                    "a2.zones PTR m2.test.\n"
	                    "a3.zones PTR m3.test.\n");
	shoal_write_conf(&g_shoal, g_knot.srv.port, handmade_zones);
	shoal_launch(&g_shoal);
	for (unsigned i = 1; i <= 3; i++) {
		char z[32], q[64];
		FMT(z, "m%u.test.", i);
		FMT(q, "www.%s", z);
		wait_rcode(q, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS, "serial 1 lists it");
		same_as_knot(z);
	}
	shoal_wait_status(&g_shoal, "m1.test.", "defined at catalog cat.test., member a1",
	                  FOLLOW_MS);
	wait_file(g_shoal.t1, "m1.test.", ".zone", FILES_MS);
	wait_file(g_shoal.t1, "m2.test.", ".zone", FILES_MS);

	/* m1's id a1 -> b1, its serial on knotd the same: RFC 9432 §5.4, a
	 * reset: removed and added again, so transferred again by AXFR */
	uint32_t serial = 2;
	sleep_ms(300); /* the first transfers' log lines written */
	long mark = harness_log_mark(&g_shoal.srv);
	knot_catalog(&g_knot, "cat.test.", serial, NULL,
	             "version TXT \"2\"\n"
	             "b1.zones PTR m1.test.\n"
	             "a2.zones PTR m2.test.\n"
	             "a3.zones PTR m3.test.\n");
	wait_serial("cat.test.", serial);
	shoal_wait_status(&g_shoal, "m1.test.", "defined at catalog cat.test., member b1",
	                  FOLLOW_MS);
	unsigned axfr = wait_axfr(mark, "m1.test.", FOLLOW_MS);
	ck_assert_msg(axfr > 0,
	              "m1.test.'s id changed (a1 -> b1): no new AXFR of it in shoal's log within "
	              "%d ms (RFC 9432 §5.4: a reset)",
	              FOLLOW_MS);
	wait_rcode("www.m1.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS,
	           "m1.test. transferred afresh");
	same_as_knot("m1.test.");
	ck_assert_uint_eq(axfr_lines(mark, "m2.test."), 0);

	/* broken versions: nothing applied, m2 still served, m4 not */
	for (size_t i = 0; i < sizeof(broken_versions) / sizeof(broken_versions[0]); i++) {
		const struct broken *bv = &broken_versions[i];
		serial++;
		printf("catalog-in: serial %u: %s\n", serial, bv->what);
		fflush(stdout);
		mark = harness_log_mark(&g_shoal.srv);
		knot_catalog(&g_knot, "cat.test.", serial, NULL, bv->body);
		wait_serial("cat.test.", serial);
		/* shoal reads a catalog right after it serves its new version:
		 * the line says it has, and why it refused it */
		char want[128];
		FMT(want, "catalog cat.test. serial %u: not applied", serial);
		wait_log_since(mark, want, FOLLOW_MS);
		hold_rcode("www.m4.test.", LDNS_RCODE_REFUSED, HOLD_MS, bv->what);
		hold_rcode("www.m2.test.", LDNS_RCODE_NOERROR, 200, bv->what);
		ck_assert_int_eq(harness_ask_rcode(g_shoal.srv.port, "www.m5.test.", LDNS_RR_TYPE_A,
		                                   HARNESS_UDP),
		                 LDNS_RCODE_REFUSED);
		ck_assert(file_exists(g_shoal.t1, "m2.test.", ".zone"));
		ck_assert_msg(axfr_lines(mark, "m1.test.") == 0 &&
		                  axfr_lines(mark, "m3.test.") == 0,
		              "a member transferred again after a broken version (above)");
	}

	/* a good version again, with members naming the catalog itself, a
	 * name in it and the root: those left out (a member must not clash
	 * with the catalog), the rest applies */
	serial++;
	knot_catalog(&g_knot, "cat.test.", serial, NULL,
	             "version TXT \"2\"\n"
	             "b1.zones PTR m1.test.\n"
	             "a3.zones PTR m3.test.\n"
	             "a4.zones PTR m4.test.\n"
	             "self.zones PTR cat.test.\n"
	             "sub.zones PTR sub.cat.test.\n"
	             "root.zones PTR .\n");
	wait_serial("cat.test.", serial);
	wait_rcode("www.m4.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS,
	           "a good version adds m4");
	same_as_knot("m4.test.");
	wait_rcode("www.m2.test.", LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, FOLLOW_MS,
	           "a good version removes m2");
	wait_files_gone(g_shoal.t1, "m2.test.", FILES_MS);
	/* the catalog is still the catalog, not a member's stub */
	hold_rcode("version.cat.test.", LDNS_RCODE_NOERROR, 500, "the catalog itself");
	uint32_t got = 0;
	ck_assert_int_eq(harness_soa_serial(g_shoal.srv.port, "cat.test.", &got), 0);
	ck_assert_uint_eq(got, serial);
	shoal_wait_status(&g_shoal, "cat.test.", "defined at ", FOLLOW_MS);
	char *st = shoal_zone_status(&g_shoal, "cat.test.");
	bool not_member = strstr(st, "defined at catalog") == NULL;
	printf("shoalctl zone-status cat.test.:\n%s\n", st);
	free(st);
	ck_assert_msg(not_member, "cat.test. became a member of itself (zone-status above)");
	same_as_knot("m1.test.");
	same_as_knot("m3.test.");

	/* a group naming the second template: m5's copy in t2's storage */
	serial++;
	knot_catalog(&g_knot, "cat.test.", serial, NULL,
	             "version TXT \"2\"\n"
	             "b1.zones PTR m1.test.\n"
	             "a4.zones PTR m4.test.\n"
	             "a5.zones PTR m5.test.\n"
	             "group.a5.zones TXT \"t2\"\n");
	wait_serial("cat.test.", serial);
	wait_rcode("www.m5.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS,
	           "m5 added with group t2");
	same_as_knot("m5.test.");
	wait_rcode("www.m3.test.", LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, FOLLOW_MS, "m3 removed");
	wait_file(g_shoal.t2, "m5.test.", ".zone", FILES_MS);
	ck_assert_msg(!file_exists(g_shoal.t1, "m5.test.", ".zone"),
	              "m5.test. (group t2) has a copy in t1's storage %s", g_shoal.t1);
	ck_assert_msg(!file_exists(g_shoal.t2, "m4.test.", ".zone"),
	              "m4.test. (no group: the first template, t1) has a copy in t2's storage %s",
	              g_shoal.t2);
	ck_assert(file_exists(g_shoal.t1, "m4.test.", ".zone"));
	printf("shoal: m5.test. (group \"t2\") stored in %s, m4.test. (no group) in %s\n",
	       g_shoal.t2, g_shoal.t1);
	fflush(stdout);

	/* a broken version that would add m2, then shoal restarted (knotd
	 * up, serving it): the members applied before it, not the broken
	 * version's (its copy on disk is the broken one) */
	serial++;
	mark = harness_log_mark(&g_shoal.srv);
	knot_catalog(&g_knot, "cat.test.", serial, NULL,
	             "version TXT \"1\"\n"
	             "b1.zones PTR m1.test.\n"
	             "a2.zones PTR m2.test.\n");
	wait_serial("cat.test.", serial);
	char want[128];
	FMT(want, "catalog cat.test. serial %u: not applied", serial);
	wait_log_since(mark, want, FOLLOW_MS);
	ck_assert_int_eq(harness_server_stop(&g_shoal.srv, 0), 0);
	ck_assert(!sanitizer_report(&g_shoal.srv));
	mark = harness_log_mark(&g_shoal.srv);
	shoal_launch(&g_shoal);
	wait_serial("cat.test.", serial);
	wait_log_since(mark, want, FOLLOW_MS);
	static const char *const kept[] = {"m1.test.", "m4.test.", "m5.test."};
	for (unsigned i = 0; i < 3; i++) {
		char q[64];
		FMT(q, "www.%s", kept[i]);
		wait_rcode(q, LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, SAVED_MS,
		           "restarted on a broken version: applied before it");
		same_as_knot(kept[i]);
	}
	hold_rcode("www.m2.test.", LDNS_RCODE_REFUSED, HOLD_MS,
	           "restarted on a broken version that lists it");
	hold_rcode("www.m3.test.", LDNS_RCODE_REFUSED, 200, "removed before the restart");

	/* m4.test. put into shoal's configuration file, with a file of its
	 * own (other content than knotd's): the file's entry wins over the
	 * catalog's; once the catalog drops m4, it is still served from the
	 * file, and the file is not deleted */
	static const char m4_text[] = "$ORIGIN m4.test.\n$TTL 300\n"
	                              "@    IN SOA ns1 hostmaster 44 3600 600 604800 300\n"
	                              "@    IN NS  ns1\n"
	                              "ns1  IN A   192.0.2.1\n"
	                              "www  IN A   198.51.100.44\n";
	ck_assert_int_eq(harness_write_file(g_shoal.store, "m4.test.zone", m4_text), 0);
	char zones[1024];
	FMT(zones, "%s  - domain: m4.test.\n    storage: @STORE@\n", handmade_zones);
	shoal_write_conf(&g_shoal, g_knot.srv.port, zones);
	shoal_reload(&g_shoal);
	wait_addr("www.m4.test.", "198.51.100.44", FOLLOW_MS, "m4.test. in the configuration file");
	st = shoal_zone_status(&g_shoal, "m4.test.");
	not_member = strstr(st, "defined at catalog") == NULL;
	printf("shoalctl zone-status m4.test.:\n%s\n", st);
	free(st);
	ck_assert_msg(not_member, "m4.test., now in the configuration file, is still served as "
	                          "the catalog's member (above)");
	serial++;
	knot_catalog(&g_knot, "cat.test.", serial, NULL,
	             "version TXT \"2\"\n"
	             "b1.zones PTR m1.test.\n"
	             "a5.zones PTR m5.test.\n"
	             "group.a5.zones TXT \"t2\"\n");
	wait_serial("cat.test.", serial);
	sleep_ms(500);
	wait_addr("www.m4.test.", "198.51.100.44", 0, "m4.test. dropped by the catalog");
	hold_rcode("www.m4.test.", LDNS_RCODE_NOERROR, HOLD_MS, "m4.test. dropped by the catalog");
	file_unchanged(g_shoal.store, "m4.test.zone", m4_text);
	same_as_knot("m1.test.");
	same_as_knot("m5.test.");
}
END_TEST

/* ---- 3: two catalogs, and a zone of the configuration file ---------------------------- */

START_TEST(two_catalogs)
{
	shoal_prepare(&g_shoal);
	knot_init(&g_knot);
	knot_member(&g_knot, "m1.test.", 11);
	knot_member(&g_knot, "m2.test.", 12);
	knot_member(&g_knot, "f.test.", 13);
	/* cat1 lists m1, m2 and f; cat2 nothing yet, so that cat1 is surely
	 * the first to list them (whichever catalog shoal reads first) */
	static const char cat1_v1[] = "version TXT \"2\"\n"
	                              "id1.zones PTR m1.test.\n"
	                              "id2.zones PTR m2.test.\n"
	                              "idf.zones PTR f.test.\n";
	char text[2048];
	FMT(text,
	    "$ORIGIN cat1.test.\n$TTL 0\n@ SOA invalid. invalid. 1 3600 600 604800 0\n"
	    "@ NS invalid.\n%s",
	    cat1_v1);
	knot_write_zone(&g_knot, "cat1.test.", text);
	FMT(text, "$ORIGIN cat2.test.\n$TTL 0\n@ SOA invalid. invalid. 1 3600 600 604800 0\n"
	          "@ NS invalid.\nversion TXT \"2\"\n");
	knot_write_zone(&g_knot, "cat2.test.", text);
	knot_write_conf(&g_knot, g_shoal.srv.port, false,
	                "  - domain: cat1.test.\n"
	                "  - domain: cat2.test.\n"
	                "  - domain: m1.test.\n"
	                "  - domain: m2.test.\n"
	                "  - domain: f.test.\n");
	/* shoal's own f.test., in the storage the catalogs' members go to */
	static const char f_text[] = "$ORIGIN f.test.\n$TTL 300\n"
	                             "@    IN SOA ns1 hostmaster 7 3600 600 604800 300\n"
	                             "@    IN NS  ns1\n"
	                             "ns1  IN A   192.0.2.1\n"
	                             "www  IN A   198.51.100.7\n";
	ck_assert_int_eq(harness_write_file(g_shoal.t1, "f.test.zone", f_text), 0);
	shoal_write_conf(&g_shoal, g_knot.srv.port,
	                 "  - domain: cat1.test.\n"
	                 "    storage: @STORE@\n"
	                 "    primary: knot\n"
	                 "    catalog-role: interpret\n"
	                 "    catalog-template: t1\n"
	                 "  - domain: cat2.test.\n"
	                 "    storage: @STORE@\n"
	                 "    primary: knot\n"
	                 "    catalog-role: interpret\n"
	                 "    catalog-template: t1\n"
	                 "  - domain: f.test.\n"
	                 "    storage: @T1@\n");
	knot_start(&g_knot);
	ck_assert_int_eq(harness_wait_rcode(&g_knot.srv, "cat2.test.", LDNS_RR_TYPE_SOA,
	                                    LDNS_RCODE_NOERROR, FOLLOW_MS),
	                 0);
	shoal_launch(&g_shoal);
	wait_rcode("www.m1.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS, "cat1 lists it");
	wait_rcode("www.m2.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS, "cat1 lists it");
	wait_serial("cat2.test.", 1);
	shoal_wait_status(&g_shoal, "m1.test.", "defined at catalog cat1.test., member id1",
	                  FOLLOW_MS);
	shoal_wait_status(&g_shoal, "m2.test.", "defined at catalog cat1.test., member id2",
	                  FOLLOW_MS);
	same_as_knot("m1.test.");
	same_as_knot("m2.test.");

	/* f.test. listed by cat1 too: served from shoal's file, not knotd's */
	wait_addr("www.f.test.", "198.51.100.7", 0, "f.test., shoal's own, listed by cat1");
	char *st = shoal_zone_status(&g_shoal, "f.test.");
	ck_assert_msg(strstr(st, "defined at catalog") == NULL,
	              "f.test. (the configuration file's) is a catalog member:\n%s", st);
	free(st);

	/* cat2 lists them too: cat1 keeps them (RFC 9432 §5.2) */
	knot_catalog(&g_knot, "cat2.test.", 2, NULL,
	             "version TXT \"2\"\n"
	             "id1.zones PTR m1.test.\n"
	             "other2.zones PTR m2.test.\n");
	wait_serial("cat2.test.", 2);
	sleep_ms(HOLD_MS);
	shoal_wait_status(&g_shoal, "m1.test.", "defined at catalog cat1.test., member id1", 0);
	shoal_wait_status(&g_shoal, "m2.test.", "defined at catalog cat1.test., member id2", 0);

	/* cat1: coo properties naming cat2, and f dropped. The members wait
	 * for the next version of cat2 (RFC 9432 §4.3.1). */
	knot_catalog(&g_knot, "cat1.test.", 2, NULL,
	             "version TXT \"2\"\n"
	             "id1.zones PTR m1.test.\n"
	             "coo.id1.zones PTR cat2.test.\n"
	             "id2.zones PTR m2.test.\n"
	             "coo.id2.zones PTR cat2.test.\n");
	wait_serial("cat1.test.", 2);
	sleep_ms(HOLD_MS);
	shoal_wait_status(&g_shoal, "m1.test.", "defined at catalog cat1.test., member id1", 0);
	/* f.test. dropped by cat1: the file's zone, untouched */
	hold_rcode("www.f.test.", LDNS_RCODE_NOERROR, 500, "f.test. dropped by cat1");
	wait_addr("www.f.test.", "198.51.100.7", 0, "f.test. dropped by cat1");
	file_unchanged(g_shoal.t1, "f.test.zone", f_text);

	/* cat2 updated, still listing them: they move. m1 with the same id
	 * keeps its data (no new AXFR), m2 (other2, was id2) starts afresh. */
	sleep_ms(300);
	long mark = harness_log_mark(&g_shoal.srv);
	knot_catalog(&g_knot, "cat2.test.", 3, NULL,
	             "version TXT \"2\"\n"
	             "id1.zones PTR m1.test.\n"
	             "other2.zones PTR m2.test.\n"
	             "unrelated TXT \"a change\"\n");
	wait_serial("cat2.test.", 3);
	shoal_wait_status(&g_shoal, "m1.test.", "defined at catalog cat2.test., member id1",
	                  FOLLOW_MS);
	shoal_wait_status(&g_shoal, "m2.test.", "defined at catalog cat2.test., member other2",
	                  FOLLOW_MS);
	unsigned axfr2 = wait_axfr(mark, "m2.test.", FOLLOW_MS);
	ck_assert_msg(axfr2 > 0,
	              "m2.test. moved to cat2 under another id (other2, was id2): no new AXFR "
	              "within %d ms",
	              FOLLOW_MS);
	wait_rcode("www.m1.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS, "m1 moved");
	wait_rcode("www.m2.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS, "m2 moved");
	same_as_knot("m1.test.");
	same_as_knot("m2.test.");
	unsigned axfr1 = axfr_lines(mark, "m1.test.");
	ck_assert_msg(axfr1 == 0,
	              "m1.test. moved to cat2 under the same id (id1) was transferred again "
	              "(%u AXFR lines above): its data should be kept",
	              axfr1);
	ck_assert(file_exists(g_shoal.t1, "m1.test.", ".zone"));
	wait_addr("www.f.test.", "198.51.100.7", 0, "f.test. after the move");
	file_unchanged(g_shoal.t1, "f.test.zone", f_text);

	/* shoal restarted (knotd up): both still cat2's, not transferred */
	ck_assert_int_eq(harness_server_stop(&g_shoal.srv, 0), 0);
	ck_assert(!sanitizer_report(&g_shoal.srv));
	mark = harness_log_mark(&g_shoal.srv);
	shoal_launch(&g_shoal);
	wait_rcode("www.m1.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, SAVED_MS,
	           "restarted after the move");
	wait_rcode("www.m2.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, SAVED_MS,
	           "restarted after the move");
	wait_serial("cat1.test.", 2);
	wait_serial("cat2.test.", 3);
	sleep_ms(HOLD_MS);
	shoal_wait_status(&g_shoal, "m1.test.", "defined at catalog cat2.test., member id1", 0);
	shoal_wait_status(&g_shoal, "m2.test.", "defined at catalog cat2.test., member other2", 0);
	ck_assert_msg(axfr_lines(mark, "m1.test.") == 0 && axfr_lines(mark, "m2.test.") == 0,
	              "a member transferred again after the restart (above)");

	/* a reload that changes nothing: both stay in cat2, not transferred */
	sleep_ms(300);
	mark = harness_log_mark(&g_shoal.srv);
	shoal_reload(&g_shoal);
	sleep_ms(1000);
	shoal_wait_status(&g_shoal, "m1.test.", "defined at catalog cat2.test., member id1", 0);
	shoal_wait_status(&g_shoal, "m2.test.", "defined at catalog cat2.test., member other2", 0);
	ck_assert_msg(axfr_lines(mark, "m1.test.") == 0 && axfr_lines(mark, "m2.test.") == 0,
	              "a member transferred again after a reload that changed nothing (above)");

	wait_addr("www.f.test.", "198.51.100.7", 0, "f.test. at the end");
	file_unchanged(g_shoal.t1, "f.test.zone", f_text);
}
END_TEST

/* ---- 4: an expired catalog ------------------------------------------------------------------ */

START_TEST(expiry)
{
	shoal_prepare(&g_shoal);
	/* refresh 1, retry 1, expire 4 */
	handmade_knot("1 1 4 0", "version TXT \"2\"\n"
	                         "a1.zones PTR m1.test.\n"
	                         "a2.zones PTR m2.test.\n");
	shoal_write_conf(&g_shoal, g_knot.srv.port,
	                 "  - domain: cat.test.\n"
	                 "    storage: @STORE@\n"
	                 "    primary: knot\n"
	                 "    catalog-role: interpret\n"
	                 "    catalog-template: t1\n"
	                 "    refresh-min-interval: 1\n"
	                 "    retry-min-interval: 1\n");
	shoal_launch(&g_shoal);
	wait_rcode("www.m1.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS, "listed");
	wait_rcode("www.m2.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS, "listed");
	/* past its expire with knotd up: refreshes keep it */
	hold_rcode("version.cat.test.", LDNS_RCODE_NOERROR, 5000,
	           "the catalog refreshed every 1 s");

	harness_server_stop(&g_knot.srv, 0);
	double t0 = harness_now_ms();
	wait_rcode("cat.test.", LDNS_RR_TYPE_SOA, LDNS_RCODE_SERVFAIL, EXPIRE_MS,
	           "the catalog expired");
	double took = harness_now_ms() - t0;
	printf("expiry: the catalog SERVFAIL %.0f ms after knotd stopped\n", took);
	fflush(stdout);
	/* the last refresh was at most 1 s before the stop, expire 4 s */
	ck_assert_msg(took >= 2000,
	              "the catalog SERVFAIL %.0f ms after knotd stopped: sooner "
	              "than its expire (4 s) after the last refresh",
	              took);
	/* RFC 9432 §5.1: its members are still served */
	hold_rcode("www.m1.test.", LDNS_RCODE_NOERROR, 3000, "the catalog expired");
	hold_rcode("www.m2.test.", LDNS_RCODE_NOERROR, 200, "the catalog expired");
	ck_assert(file_exists(g_shoal.t1, "m1.test.", ".zone"));
	ck_assert(file_exists(g_shoal.t1, "m2.test.", ".zone"));

	/* shoal restarted meanwhile: the catalog's copy has expired (its
	 * timers say so), its members answer from their copies */
	ck_assert_int_eq(harness_server_stop(&g_shoal.srv, 0), 0);
	ck_assert(!sanitizer_report(&g_shoal.srv));
	shoal_launch(&g_shoal);
	wait_rcode("www.m1.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, SAVED_MS,
	           "restarted, the catalog expired");
	wait_rcode("www.m2.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, SAVED_MS,
	           "restarted, the catalog expired");
	wait_rcode("cat.test.", LDNS_RR_TYPE_SOA, LDNS_RCODE_SERVFAIL, SAVED_MS,
	           "restarted, its saved copy expired");
	hold_rcode("www.m1.test.", LDNS_RCODE_NOERROR, HOLD_MS, "restarted, the catalog expired");

	/* knotd back with a new version listing m3: read again */
	char text[1024];
	FMT(text, "$ORIGIN cat.test.\n$TTL 0\n@ IN SOA invalid. invalid. 2 1 1 4 0\n"
	          "@ IN NS invalid.\nversion TXT \"2\"\n"
	          "a1.zones PTR m1.test.\na2.zones PTR m2.test.\na3.zones PTR m3.test.\n");
	knot_write_zone(&g_knot, "cat.test.", text);
	knot_start(&g_knot);
	wait_serial("cat.test.", 2);
	wait_rcode("www.m3.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS,
	           "the catalog fresh again lists m3");
	same_as_knot("m3.test.");
	same_as_knot("m1.test.");
}
END_TEST

/* ---- regressions ------------------------------------------------------------------------------ */

/* The lines of `text` that begin with `zone` and say "removed". */
static unsigned removed_lines(const char *text, const char *zone)
{
	unsigned n = 0;
	size_t zl = strlen(zone);
	for (const char *p = text; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len > zl && !strncmp(p, zone, zl) && p[zl] == ' ' &&
		    memmem(p, len, "removed", 7) != NULL)
			n++;
	}
	return n;
}

/*
 * was a bug (fixed): `shoalctl reload` of an unchanged configuration reports each
 * catalog member as "removed" ("m1.test.   removed"), though it stays
 * served without a break or a transfer. do_reload (src/cmd/shoal.c)
 * lists as removed the zones served now that are not among the new
 * setup's own specs (s.specs: the configuration file's and --zones'),
 * before the catalogs' members are added back by expand(); the list
 * should be made against the expanded set (ex.specs).
 */
START_TEST(reload_report)
{
	shoal_prepare(&g_shoal);
	handmade_knot(NULL, "version TXT \"2\"\n"
	                    "a1.zones PTR m1.test.\n");
	shoal_write_conf(&g_shoal, g_knot.srv.port, handmade_zones);
	shoal_launch(&g_shoal);
	wait_rcode("www.m1.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS, "listed");
	const char *bin = getenv("SHOALCTL_BIN");
	ck_assert_ptr_nonnull(bin);
	const char *argv[] = {bin, "-s", g_shoal.sock, "reload", NULL};
	struct harness_run r;
	ck_assert_int_eq(harness_run(argv, RUN_MS, &r), 0);
	printf("shoalctl reload: exit %d\n%s%s", r.exit_code, r.out, r.err);
	fflush(stdout);
	unsigned n = removed_lines(r.out, "m1.test.");
	harness_run_free(&r);
	hold_rcode("www.m1.test.", LDNS_RCODE_NOERROR, 500, "after the reload");
	/* was a bug (fixed): the member still served is reported "removed" */
	ck_assert_msg(n == 0,
	              "shoalctl reload (the configuration unchanged) reports m1.test. \"removed\", "
	              "yet the member is still served (above)");
}
END_TEST

/*
 * A member whose group property changes to one naming a template with
 * another storage folder (t2 -> t1 here): zone-status says its file is in
 * t1 now, but its copy, .timers and .journal stay in t2 and nothing is
 * written to t1 (the zone is not dirty, so neither a save nor the stop
 * writes it). Consequences checked by the three tests below:
 *   regroup_copy     the copy never appears in the new storage;
 *   regroup_restart  restarted with the primary down, the member answers
 *                    SERVFAIL ("no copy yet"): the data shoal had is lost,
 *                    against the rule that a restart serves the members
 *                    from their saved copies;
 *   regroup_remove   once the member is removed, its copy, .timers and
 *                    .journal in t2 are never deleted.
 * The same storage move happens to a member moved by a coo property to a
 * catalog whose template has another storage (two_catalogs_storage).
 */
static void regroup_setup(void)
{
	shoal_prepare(&g_shoal);
	handmade_knot(NULL, "version TXT \"2\"\n"
	                    "a1.zones PTR m1.test.\n"
	                    "group.a1.zones TXT \"t2\"\n");
	shoal_write_conf(&g_shoal, g_knot.srv.port, handmade_zones);
	shoal_launch(&g_shoal);
	wait_rcode("www.m1.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS, "group t2");
	wait_file(g_shoal.t2, "m1.test.", ".zone", FILES_MS);
	/* the copy carries its first timers; a check that finds nothing new
	 * writes .timers beside it */
	shoal_refresh(&g_shoal, "m1.test.");
	wait_file(g_shoal.t2, "m1.test.", ".timers", FILES_MS);
	/* the group dropped: the first template, t1 */
	knot_catalog(&g_knot, "cat.test.", 2, NULL,
	             "version TXT \"2\"\n"
	             "a1.zones PTR m1.test.\n");
	wait_serial("cat.test.", 2);
	char want[PATH_MAX + 16];
	FMT(want, "file %s/m1.test.zone", g_shoal.t1);
	shoal_wait_status(&g_shoal, "m1.test.", want, FOLLOW_MS);
	hold_rcode("www.m1.test.", LDNS_RCODE_NOERROR, HOLD_MS, "regrouped to t1");
}

START_TEST(regroup_copy)
{
	regroup_setup();
	/* was a bug (fixed): after the regroup, m1's copy is not written to t1's
	 * storage (its file now, per zone-status) */
	wait_file(g_shoal.t1, "m1.test.", ".zone", FILES_MS);
}
END_TEST

START_TEST(regroup_restart)
{
	regroup_setup();
	harness_server_stop(&g_knot.srv, 0);
	ck_assert_int_eq(harness_server_stop(&g_shoal.srv, 0), 0);
	ck_assert(!sanitizer_report(&g_shoal.srv));
	shoal_launch(&g_shoal);
	/* was a bug (fixed): no copy in t1, so SERVFAIL until knotd is back */
	wait_rcode("www.m1.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, SAVED_MS,
	           "restarted with knotd stopped, after the regroup: its saved copy");
}
END_TEST

START_TEST(regroup_remove)
{
	regroup_setup();
	knot_catalog(&g_knot, "cat.test.", 3, NULL, "version TXT \"2\"\n");
	wait_serial("cat.test.", 3);
	wait_rcode("www.m1.test.", LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, FOLLOW_MS, "removed");
	wait_files_gone(g_shoal.t1, "m1.test.", FILES_MS);
	/* was a bug (fixed): the copy, .timers and .journal in t2 (the storage
	 * before the regroup) are left behind */
	wait_files_gone(g_shoal.t2, "m1.test.", FILES_MS);
}
END_TEST

/* Two catalogs whose templates store in different folders (cat1: t1,
 * cat2: t2); m1 moves from cat1 to cat2 by its coo property, same id: its
 * data kept (no new AXFR), so its copy must follow to t2. was a bug (fixed): as
 * regroup_copy, the copy stays in t1 and none is written to t2. */
START_TEST(two_catalogs_storage)
{
	shoal_prepare(&g_shoal);
	knot_init(&g_knot);
	knot_member(&g_knot, "m1.test.", 11);
	char text[1024];
	FMT(text, "$ORIGIN cat1.test.\n$TTL 0\n@ SOA invalid. invalid. 1 3600 600 604800 0\n"
	          "@ NS invalid.\nversion TXT \"2\"\nid1.zones PTR m1.test.\n");
	knot_write_zone(&g_knot, "cat1.test.", text);
	FMT(text, "$ORIGIN cat2.test.\n$TTL 0\n@ SOA invalid. invalid. 1 3600 600 604800 0\n"
	          "@ NS invalid.\nversion TXT \"2\"\n");
	knot_write_zone(&g_knot, "cat2.test.", text);
	knot_write_conf(&g_knot, g_shoal.srv.port, false,
	                "  - domain: cat1.test.\n"
	                "  - domain: cat2.test.\n"
	                "  - domain: m1.test.\n");
	shoal_write_conf(&g_shoal, g_knot.srv.port,
	                 "  - domain: cat1.test.\n"
	                 "    storage: @STORE@\n"
	                 "    primary: knot\n"
	                 "    catalog-role: interpret\n"
	                 "    catalog-template: t1\n"
	                 "  - domain: cat2.test.\n"
	                 "    storage: @STORE@\n"
	                 "    primary: knot\n"
	                 "    catalog-role: interpret\n"
	                 "    catalog-template: t2\n");
	knot_start(&g_knot);
	ck_assert_int_eq(harness_wait_rcode(&g_knot.srv, "cat2.test.", LDNS_RR_TYPE_SOA,
	                                    LDNS_RCODE_NOERROR, FOLLOW_MS),
	                 0);
	shoal_launch(&g_shoal);
	wait_rcode("www.m1.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS, "cat1 lists it");
	wait_file(g_shoal.t1, "m1.test.", ".zone", FILES_MS);
	knot_catalog(&g_knot, "cat1.test.", 2, NULL,
	             "version TXT \"2\"\n"
	             "id1.zones PTR m1.test.\n"
	             "coo.id1.zones PTR cat2.test.\n");
	wait_serial("cat1.test.", 2);
	knot_catalog(&g_knot, "cat2.test.", 2, NULL,
	             "version TXT \"2\"\n"
	             "id1.zones PTR m1.test.\n");
	wait_serial("cat2.test.", 2);
	shoal_wait_status(&g_shoal, "m1.test.", "defined at catalog cat2.test., member id1",
	                  FOLLOW_MS);
	hold_rcode("www.m1.test.", LDNS_RCODE_NOERROR, 500, "moved to cat2");
	/* was a bug (fixed): the copy is not written to cat2's template's storage */
	wait_file(g_shoal.t2, "m1.test.", ".zone", FILES_MS);
}
END_TEST

/*
 * A reload after which a member is transferred afresh: cat1 and cat2 both
 * list m1 (cat1 has it), cat1 is dropped from the configuration, so m1
 * becomes cat2's under a reset (catalog_consumer_resolve: the owner
 * changed without a coo property). was a bug (fixed): do_reload (src/cmd/shoal.c)
 * calls apply_members(&ch, true) for the fresh members, which publishes a
 * new zone table and frees the reload's `db`, then calls log_zones(db,
 * ...) on it: a heap-use-after-free (AddressSanitizer: log_zones
 * shoal.c:292, freed by zonedb_publish from apply_members from do_reload
 * shoal.c:760). Without a sanitizer it goes unnoticed (the log's zone
 * count is read from freed memory); under ASan shoal dies and the reload
 * gets no answer.
 */
START_TEST(reload_fresh_member)
{
	shoal_prepare(&g_shoal);
	knot_init(&g_knot);
	knot_member(&g_knot, "m1.test.", 11);
	char text[1024];
	FMT(text, "$ORIGIN cat1.test.\n$TTL 0\n@ SOA invalid. invalid. 1 3600 600 604800 0\n"
	          "@ NS invalid.\nversion TXT \"2\"\nid1.zones PTR m1.test.\n");
	knot_write_zone(&g_knot, "cat1.test.", text);
	FMT(text, "$ORIGIN cat2.test.\n$TTL 0\n@ SOA invalid. invalid. 1 3600 600 604800 0\n"
	          "@ NS invalid.\nversion TXT \"2\"\n");
	knot_write_zone(&g_knot, "cat2.test.", text);
	knot_write_conf(&g_knot, g_shoal.srv.port, false,
	                "  - domain: cat1.test.\n"
	                "  - domain: cat2.test.\n"
	                "  - domain: m1.test.\n");
	static const char cat2_conf[] = "  - domain: cat2.test.\n"
	                                "    storage: @STORE@\n"
	                                "    primary: knot\n"
	                                "    catalog-role: interpret\n"
	                                "    catalog-template: t1\n";
	char zones[1024];
	FMT(zones,
	    "  - domain: cat1.test.\n"
	    "    storage: @STORE@\n"
	    "    primary: knot\n"
	    "    catalog-role: interpret\n"
	    "    catalog-template: t1\n"
	    "%s",
	    cat2_conf);
	shoal_write_conf(&g_shoal, g_knot.srv.port, zones);
	knot_start(&g_knot);
	ck_assert_int_eq(harness_wait_rcode(&g_knot.srv, "cat2.test.", LDNS_RR_TYPE_SOA,
	                                    LDNS_RCODE_NOERROR, FOLLOW_MS),
	                 0);
	shoal_launch(&g_shoal);
	wait_rcode("www.m1.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS, "cat1 lists it");
	wait_serial("cat2.test.", 1);
	shoal_wait_status(&g_shoal, "m1.test.", "defined at catalog cat1.test., member id1",
	                  FOLLOW_MS);
	knot_catalog(&g_knot, "cat2.test.", 2, NULL,
	             "version TXT \"2\"\n"
	             "id1.zones PTR m1.test.\n");
	wait_serial("cat2.test.", 2);
	sleep_ms(500);
	/* cat1 dropped: m1 is cat2's now, afresh */
	shoal_write_conf(&g_shoal, g_knot.srv.port, cat2_conf);
	/* was a bug (fixed): under ASan shoal dies here (heap-use-after-free in
	 * log_zones after apply_members in do_reload) and the reload gets no
	 * status line */
	shoal_reload(&g_shoal);
	shoal_wait_status(&g_shoal, "m1.test.", "defined at catalog cat2.test., member id1",
	                  FOLLOW_MS);
	wait_rcode("www.m1.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, FOLLOW_MS,
	           "cat2 lists it, cat1 is gone");
	same_as_knot("m1.test.");
	ck_assert_int_eq(harness_server_stop(&g_shoal.srv, 0), 0);
	ck_assert_msg(!sanitizer_report(&g_shoal.srv),
	              "shoal's log has a sanitizer report (above)");
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
	if (harness_knotd_path() == NULL) {
		printf("catalog-in: knotd not installed: skipped (scripts/deps installs it)\n");
		return HARNESS_EXIT_SKIP;
	}
	if (harness_shoal_bin() == NULL) {
		fprintf(stderr, "SHOAL_BIN is not set (run through meson test)\n");
		return EXIT_FAILURE;
	}
	g_main_pid = getpid();
	harness_random_secret(g_secret, sizeof(g_secret));
	Suite *s = suite_create("catalog-in");
	tcase_add_test(tcase(s, "generate", 120), generate);
	tcase_add_test(tcase(s, "handmade", 150), handmade);
	tcase_add_test(tcase(s, "two", 120), two_catalogs);
	tcase_add_test(tcase(s, "expiry", 90), expiry);
	TCase *kb = tcase(s, "regressions", 120);
	tcase_add_test(kb, reload_report);
	tcase_add_test(kb, reload_fresh_member);
	tcase_add_test(kb, regroup_copy);
	tcase_add_test(kb, regroup_restart);
	tcase_add_test(kb, regroup_remove);
	tcase_add_test(kb, two_catalogs_storage);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	remove_marked_dirs();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
