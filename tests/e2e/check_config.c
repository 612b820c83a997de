/* check_config.c: the configuration file and the control channel, end to
 * end: the real shoal started with --config on a loopback port, driven by
 * the real shoalctl ($SHOALCTL_BIN), queried over UDP and TCP, and reloaded
 * 20 times under dnsperf load. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* snprintf into an array, failing the test if it does not fit. */
#define FMT(buf, ...) ck_assert_int_lt(snprintf((buf), sizeof(buf), __VA_ARGS__), (int)sizeof(buf))

/* A zone with serial `serial`, one name www and a wildcard-free apex. */
static char *zone_text(const char *origin, unsigned serial)
{
	char *t = NULL;
	int r = asprintf(&t,
			 "$ORIGIN %s.\n$TTL 300\n"
			 "@ IN SOA ns1 hostmaster %u 3600 900 604800 300\n"
			 "@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.%u\n",
			 origin, serial, serial % 250 + 1);
	ck_assert_int_ge(r, 0);
	return t;
}

static void write_zone(const char *dir, const char *origin, unsigned serial)
{
	char name[256];
	FMT(name, "%s.zone", origin);
	char *t = zone_text(origin, serial);
	ck_assert_int_eq(harness_write_file(dir, name, t), 0);
	free(t);
}

/* Set a file's times 10 s back: a later reload then trusts it is unchanged
 * (a file written within the last second is always read again). */
static void age(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct timeval tv[2];
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= 10;
	tv[1] = tv[0];
	FMT(p, "%s/%s", dir, name);
	ck_assert_int_eq(utimes(p, tv), 0);
}

/* The configuration: listen and control in the file, zones under
 * srv->zonedir through the default template, plus `extra` (zone entries). */
static void write_conf(const struct harness_server *srv, const char *extra)
{
	ck_assert_int_eq(harness_write_filef(srv->dir, "shoal.conf",
					     "server:\n"
					     "  listen: 127.0.0.1:%u\n"
					     "  threads: 2\n"
					     "  control: %s/ctl.sock\n"
					     "template:\n"
					     "  - id: default\n"
					     "    storage: zones\n"
					     "zone:\n"
					     "  - domain: a.test\n"
					     "%s",
					     srv->port, srv->dir, extra ? extra : ""),
			 0);
}

static const char *g_ready_a[] = {"a.test", NULL};

/* Start shoal with srv->dir/shoal.conf only (no --zones, --listen). */
static void start(struct harness_server *srv, const char *const *ready)
{
	char conf[PATH_MAX];
	FMT(conf, "%s/shoal.conf", srv->dir);
	const char *args[] = {"--config", conf, NULL};
	struct harness_shoal_opts o = {.no_zones = true,
				       .no_listen = true,
				       .no_threads = true,
				       .port_fixed = true,
				       .args = args,
				       .ready = ready ? ready : g_ready_a};
	ck_assert_int_eq(harness_shoal_launch(srv, &o), 0);
}

static const char *shoalctl_bin(void)
{
	const char *b = getenv("SHOALCTL_BIN");
	ck_assert_msg(b != NULL, "SHOALCTL_BIN is not set (run through meson test)");
	return b;
}

/* shoalctl -s SOCK args... ; returns the exit code, output in *res. */
static int ctl(const struct harness_server *srv, struct harness_run *res, const char *a1,
	       const char *a2, const char *a3)
{
	char sock[PATH_MAX];
	FMT(sock, "%s/ctl.sock", srv->dir);
	const char *argv[] = {shoalctl_bin(), "-s", sock, a1, a2, a3, NULL};
	memset(res, 0, sizeof(*res));
	ck_assert_int_eq(harness_run(argv, 30000, res), 0);
	return res->exit_code;
}

static void setup_srv(struct harness_server *srv)
{
	memset(srv, 0, sizeof(*srv));
	ck_assert_int_eq(harness_shoal_prepare(srv), 0);
	write_zone(srv->zonedir, "a.test", 1);
	write_zone(srv->zonedir, "b.test", 1);
}

/* ------------------------------------------------------------------ */

START_TEST(serves_the_configured_zones)
{
	struct harness_server srv;
	setup_srv(&srv);
	write_conf(&srv, "  - domain: b.test\n    file: \"%s.zone\"\n");
	start(&srv, NULL);
	ck_assert_int_eq(harness_ask_rcode(srv.port, "www.a.test.", LDNS_RR_TYPE_A, HARNESS_UDP), 0);
	ck_assert_int_eq(harness_ask_rcode(srv.port, "www.b.test.", LDNS_RR_TYPE_A, HARNESS_TCP), 0);
	/* a zone of the folder that the file does not list is not served */
	write_zone(srv.zonedir, "c.test", 1);
	ck_assert_int_eq(harness_ask_rcode(srv.port, "www.c.test.", LDNS_RR_TYPE_A, HARNESS_UDP),
			 LDNS_RCODE_REFUSED);
	/* --check agrees */
	char conf[PATH_MAX];
	FMT(conf, "%s/shoal.conf", srv.dir);
	const char *chk[] = {"--config", conf, "--check", NULL};
	struct harness_run r = {0};
	ck_assert_int_eq(harness_run_shoal(chk, 0, &r), 0);
	ck_assert_msg(r.exit_code == 0, "--check: %d\n%s", r.exit_code, r.err);
	harness_run_free(&r);
	ck_assert_int_eq(harness_server_stop(&srv, HARNESS_STOP_TIMEOUT_MS), 0);
	harness_server_cleanup(&srv);
}
END_TEST

/* A bad file at start: exit 2 (1 under --check) and the exact place. */
START_TEST(bad_configuration_at_start)
{
	static const struct {
		const char *text;
		const char *want; /* after "<path>:" */
	} cases[] = {
		{"server:\n  thread: 2\n", "2:3: server: unknown key 'thread' (did you mean 'threads'?)"},
		{"server:\n  threads: 0\n",
		 "2:12: server.threads '0': expected a number from 1 to 256"},
		{"zone:\n  - domain: a.test\n    template: nope\n",
		 "3:15: zone.template 'nope': no such template"},
		{"zone:\n  - domain: a.test\n  - domain: A.test.\n",
		 "3:13: zone 'A.test.' defined twice (first at "},
		{"zone:\n  - domain: a.test\n    primary: [x]\n",
		 "3:15: zone.primary 'x': no such remote (define it in the remote: section)"},
		{"zone:\n  - domain: a.test\n    catalog-role: member\n",
		 "2:13: zone 'a.test': catalog-role member without catalog-zone"},
		{"zone:\n  - domain: a.test\n    catalog-tmplate: t\n",
		 "3:5: zone: unknown key 'catalog-tmplate' (did you mean 'catalog-template'?)"},
		{"server:\n  threads: 2\n  threads: 3\n",
		 "3:3: server: 'threads' given twice (first at line 2)"},
		{"remote:\n  - id: r\n    address: 192.0.2.1\n    key: k\n",
		 "4:10: remote.key 'k': no such key (define it in the key: section)"},
		{"server: [\n", "2:1: YAML: did not find expected node content"},
	};
	struct harness_server srv;
	setup_srv(&srv);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(harness_write_file(srv.dir, "bad.conf", cases[i].text), 0);
		char conf[PATH_MAX], want[1024];
		FMT(conf, "%s/bad.conf", srv.dir);
		FMT(want, "%s:%s", conf, cases[i].want);
		for (int check = 0; check < 2; check++) {
			const char *args[] = {"--config", conf, "--listen", "127.0.0.1:1",
					      check ? "--check" : NULL, NULL};
			struct harness_run r = {0};
			ck_assert_int_eq(harness_run_shoal(args, 0, &r), 0);
			ck_assert_msg(r.exit_code == (check ? 1 : 2), "case %zu: exit %d\n%s", i,
				      r.exit_code, r.err);
			ck_assert_msg(strstr(r.err, want) != NULL, "case %zu: want '%s' in\n%s", i,
				      want, r.err);
			harness_run_free(&r);
		}
	}
	harness_server_cleanup(&srv);
}
END_TEST

/* --zones DIR beside the file: both serve; a zone in both is an error
 * naming both places. Flags override the file. */
START_TEST(zones_dir_beside_the_file)
{
	struct harness_server srv;
	setup_srv(&srv);
	char other[PATH_MAX];
	FMT(other, "%s/other", srv.dir);
	ck_assert_int_eq(mkdir(other, 0755), 0);
	write_zone(other, "c.test", 1);
	write_conf(&srv, NULL);
	char conf[PATH_MAX];
	FMT(conf, "%s/shoal.conf", srv.dir);
	/* --threads 1 over the file's 2 */
	const char *args[] = {"--config", conf, "--zones", other, "--threads", "1", NULL};
	static const char *ready[] = {"a.test", "c.test", NULL};
	struct harness_shoal_opts o = {.no_zones = true,
				       .no_listen = true,
				       .no_threads = true,
				       .port_fixed = true,
				       .args = args,
				       .ready = ready};
	ck_assert_int_eq(harness_shoal_launch(&srv, &o), 0);
	struct harness_run r;
	ck_assert_int_eq(ctl(&srv, &r, "status", NULL, NULL), 0);
	ck_assert_msg(strstr(r.out, "workers: 1 udp, 1 tcp") != NULL, "%s", r.out);
	harness_run_free(&r);
	ck_assert_int_eq(harness_server_stop(&srv, HARNESS_STOP_TIMEOUT_MS), 0);

	write_zone(other, "a.test", 2);
	const char *dup[] = {"--config", conf, "--zones", other, "--check", NULL};
	ck_assert_int_eq(harness_run_shoal(dup, 0, &r), 0);
	ck_assert_int_eq(r.exit_code, 1);
	char want[PATH_MAX * 2];
	FMT(want, "%s:9: zone a.test. is defined twice: here and by --zones (%s/a.test.zone)",
		 conf, other);
	ck_assert_msg(strstr(r.err, want) != NULL, "want '%s' in\n%s", want, r.err);
	harness_run_free(&r);
	harness_server_cleanup(&srv);
}
END_TEST

/* Every shoalctl command against a running server, and its errors. */
START_TEST(shoalctl_commands)
{
	struct harness_server srv;
	struct harness_run r;
	setup_srv(&srv);
	write_conf(&srv, "  - domain: b.test\n");
	start(&srv, NULL);
	ck_assert_int_eq(harness_ask_rcode(srv.port, "www.a.test.", LDNS_RR_TYPE_A, HARNESS_UDP), 0);

	ck_assert_int_eq(ctl(&srv, &r, "status", NULL, NULL), 0);
	ck_assert_ptr_nonnull(strstr(r.out, "shoal "));
	ck_assert_ptr_nonnull(strstr(r.out, "zones: 2 configured, 2 served"));
	harness_run_free(&r);
	ck_assert_int_eq(ctl(&srv, &r, "--json", "status", NULL), 0);
	ck_assert_ptr_nonnull(strstr(r.out, "\"zones_served\": 2"));
	harness_run_free(&r);

	ck_assert_int_eq(ctl(&srv, &r, "zone-status", "b.test", NULL), 0);
	ck_assert_msg(strstr(r.out, "b.test.") && strstr(r.out, "serial 1") &&
			      strstr(r.out, "b.test.zone") && !strstr(r.out, "a.test."),
		      "%s", r.out);
	harness_run_free(&r);
	ck_assert_int_eq(ctl(&srv, &r, "zone-status", "nope.test", NULL), 1);
	ck_assert_ptr_nonnull(strstr(r.err, "nope.test: no such zone"));
	harness_run_free(&r);

	ck_assert_int_eq(ctl(&srv, &r, "stats", NULL, NULL), 0);
	ck_assert_msg(strstr(r.out, "queries") && strstr(r.out, "rcode NOERROR"), "%s", r.out);
	harness_run_free(&r);
	ck_assert_int_eq(ctl(&srv, &r, "--json", "stats", NULL), 0);
	ck_assert_ptr_nonnull(strstr(r.out, "\"udp\": {\"queries\": "));
	harness_run_free(&r);

	/* reload of one zone reads its file, whatever its age */
	write_zone(srv.zonedir, "b.test", 7);
	ck_assert_int_eq(ctl(&srv, &r, "reload", "b.test", NULL), 0);
	ck_assert_msg(strstr(r.out, "b.test.") && strstr(r.out, "loaded, serial 7") &&
			      !strstr(r.out, "a.test."),
		      "%s", r.out);
	harness_run_free(&r);
	ck_assert_int_eq(harness_wait_serial(&srv, "b.test.", 7, 0), 0);

	/* a whole reload reads only what changed; --force reads everything */
	age(srv.zonedir, "a.test.zone");
	age(srv.zonedir, "b.test.zone");
	ck_assert_int_eq(ctl(&srv, &r, "reload", "--force", NULL), 0);
	harness_run_free(&r);
	ck_assert_int_eq(ctl(&srv, &r, "reload", NULL, NULL), 0);
	ck_assert_msg(strstr(r.out, "a.test.") && strstr(r.out, "unchanged, serial 1"), "%s",
		      r.out);
	harness_run_free(&r);
	ck_assert_int_eq(ctl(&srv, &r, "reload", "--force", NULL), 0);
	ck_assert_msg(!strstr(r.out, "unchanged"), "%s", r.out);
	harness_run_free(&r);

	/* usage errors never reach the server; a bad zone argument is its error */
	ck_assert_int_eq(ctl(&srv, &r, "frobnicate", NULL, NULL), 2);
	harness_run_free(&r);
	ck_assert_int_eq(ctl(&srv, &r, "reload", "--bogus", NULL), 2);
	harness_run_free(&r);

	ck_assert_int_eq(ctl(&srv, &r, "stop", NULL, NULL), 0);
	ck_assert_ptr_nonnull(strstr(r.out, "stopping"));
	harness_run_free(&r);
	ck_assert_int_eq(harness_server_wait_exit(&srv, HARNESS_WAIT_TIMEOUT_MS), 0);
	ck_assert_int_eq(WEXITSTATUS(srv.exit_status), 0);

	/* The server is gone: one line, exit 3. (Its socket stays when the
	 * server, dropped to nobody, may not unlink it from this root-owned
	 * test folder: then nobody listens on it.) */
	ck_assert_int_eq(ctl(&srv, &r, "status", NULL, NULL), 3);
	ck_assert_msg(strstr(r.err, "no such file") || strstr(r.err, "connection refused"), "%s",
		      r.err);
	ck_assert_msg(r.err_len > 0 && strchr(r.err, '\n') == r.err + r.err_len - 1, "%s", r.err);
	harness_run_free(&r);
	harness_server_cleanup(&srv);
}
END_TEST

/* A reload with a broken file keeps everything serving and says why. */
START_TEST(broken_reload_keeps_serving)
{
	struct harness_server srv;
	struct harness_run r;
	setup_srv(&srv);
	write_conf(&srv, "  - domain: b.test\n");
	start(&srv, NULL);
	ck_assert_int_eq(harness_write_file(srv.dir, "shoal.conf",
					    "server:\n  threads: 2\nzone:\n  - domain: a.test\n"
					    "    notify: [x]\n  - domain: [\n"),
			 0);
	ck_assert_int_eq(ctl(&srv, &r, "reload", NULL, NULL), 1);
	ck_assert_msg(strstr(r.err, "rejected") && strstr(r.err, "shoal.conf:7:1: YAML: "), "%s", r.err);
	harness_run_free(&r);
	/* the same through SIGHUP: logged, still serving both zones */
	ck_assert_int_eq(kill(srv.pid, SIGHUP), 0);
	ck_assert_int_eq(harness_server_wait_log(&srv, "rejected whole", 2, 0), 0);
	ck_assert_int_eq(harness_ask_rcode(srv.port, "www.a.test.", LDNS_RR_TYPE_A, HARNESS_UDP), 0);
	ck_assert_int_eq(harness_ask_rcode(srv.port, "www.b.test.", LDNS_RR_TYPE_A, HARNESS_TCP), 0);
	/* a zone file with an error keeps its version; the reply names the line */
	write_conf(&srv, "  - domain: b.test\n");
	ck_assert_int_eq(harness_write_file(srv.zonedir, "b.test.zone",
					    "$ORIGIN b.test.\n@ 300 IN SOA ns1 h 9 1 1 1 1\n"
					    "www 300 IN A 300.1.1.1\n"),
			 0);
	ck_assert_int_eq(ctl(&srv, &r, "reload", NULL, NULL), 1);
	/* (an error reply goes to stderr) */
	ck_assert_msg(strstr(r.err, "failed, previous version kept, serial 1") &&
			      strstr(r.err, "b.test.zone:3:"),
		      "%s", r.err);
	harness_run_free(&r);
	uint32_t serial;
	ck_assert_int_eq(harness_soa_serial(srv.port, "b.test.", &serial), 0);
	ck_assert_uint_eq(serial, 1);
	ck_assert_int_eq(harness_server_stop(&srv, HARNESS_STOP_TIMEOUT_MS), 0);
	harness_server_cleanup(&srv);
}
END_TEST

/* dnsperf in a thread, for the load test. */
struct perf {
	const char *argv[32];
	struct harness_run res;
	int rc;
};

static void *perf_run(void *arg)
{
	struct perf *p = arg;
	p->rc = harness_run(p->argv, 120000, &p->res);
	return NULL;
}

static unsigned long perf_field(const char *out, const char *key)
{
	const char *p = strstr(out, key);
	return p ? strtoul(p + strlen(key), NULL, 10) : (unsigned long)-1;
}

/* 20 reloads that add and remove a zone under dnsperf load: no query lost,
 * every answer for the zone that stays NOERROR, the moving zone REFUSED
 * and NOERROR in turn. */
START_TEST(reloads_under_load)
{
	struct harness_server srv;
	struct harness_run r;
	ck_assert_msg(access("/usr/bin/dnsperf", X_OK) == 0,
		      "dnsperf is not installed (scripts/deps installs it)");
	setup_srv(&srv);
	write_conf(&srv, NULL);
	start(&srv, NULL);
	ck_assert_int_eq(harness_write_file(srv.dir, "queries",
					    "www.a.test A\na.test SOA\nns1.a.test A\na.test NS\n"),
			 0);
	struct perf p = {0};
	char port[16], qf[PATH_MAX];
	FMT(port, "%u", srv.port);
	FMT(qf, "%s/queries", srv.dir);
	const char *argv[] = {"dnsperf", "-s", "127.0.0.1", "-p", port, "-d", qf, "-l", "12", "-Q",
			      "2000", "-t", "2", "-c", "2", NULL};
	memcpy(p.argv, argv, sizeof(argv));
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, perf_run, &p), 0);
	usleep(500000);
	for (int i = 0; i < 20; i++) {
		bool with_b = i % 2 == 0;
		write_conf(&srv, with_b ? "  - domain: b.test\n" : NULL);
		ck_assert_int_eq(ctl(&srv, &r, "reload", NULL, NULL), 0);
		ck_assert_msg(with_b ? strstr(r.out, "b.test.") != NULL
				     : strstr(r.out, "removed") != NULL,
			      "reload %d:\n%s", i, r.out);
		harness_run_free(&r);
		ck_assert_int_eq(harness_ask_rcode(srv.port, "www.b.test.", LDNS_RR_TYPE_A,
						   HARNESS_UDP),
				 with_b ? LDNS_RCODE_NOERROR : LDNS_RCODE_REFUSED);
		usleep(200000);
	}
	pthread_join(t, NULL);
	ck_assert_int_eq(p.rc, 0);
	ck_assert_msg(p.res.exit_code == 0, "dnsperf: %d\n%s%s", p.res.exit_code, p.res.out,
		      p.res.err);
	unsigned long sent = perf_field(p.res.out, "Queries sent:");
	unsigned long lost = perf_field(p.res.out, "Queries lost:");
	unsigned long noerror = perf_field(p.res.out, "NOERROR ");
	fprintf(stderr, "dnsperf during 20 reloads: %lu sent, %lu lost, %lu NOERROR\n", sent, lost,
		noerror);
	ck_assert_msg(sent > 10000 && lost == 0 && noerror == sent, "%s", p.res.out);
	harness_run_free(&p.res);
	ck_assert_int_eq(harness_server_stop(&srv, HARNESS_STOP_TIMEOUT_MS), 0);
	harness_server_cleanup(&srv);
}
END_TEST

/* RFC 4034 §3.2's YYYYMMDDHHmmSS of t, and the ISO 8601 form shoal shows. */
static void rrsig_times(time_t t, char *sig, size_t sigsize, char *iso, size_t isosize)
{
	struct tm tm;
	ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
	ck_assert_uint_gt(strftime(sig, sigsize, "%Y%m%d%H%M%S", &tm), 0);
	ck_assert_uint_gt(strftime(iso, isosize, "%Y-%m-%dT%H:%M:%SZ", &tm), 0);
}

/* a.test and c.test, with rrsig-expiry-warning `hours`. */
static void write_signed_conf(const struct harness_server *srv, unsigned hours)
{
	ck_assert_int_eq(harness_write_filef(srv->dir, "shoal.conf",
					     "server:\n"
					     "  listen: 127.0.0.1:%u\n"
					     "  threads: 2\n"
					     "  control: %s/ctl.sock\n"
					     "  rrsig-expiry-warning: %u\n"
					     "template:\n"
					     "  - id: default\n"
					     "    storage: zones\n"
					     "zone:\n"
					     "  - domain: a.test\n"
					     "  - domain: c.test\n",
					     srv->port, srv->dir, hours),
			 0);
}

/* The earliest RRSIG expiration of a signed zone (issue 18): in
 * zone-status (text and JSON) and as a metric; the load-time warnings in
 * the log, with rrsig-expiry-warning applied by a reload. The RRSIGs are
 * made by hand (their times are what matters; shoal does not validate). */
START_TEST(signed_zone_expiry)
{
	struct harness_server srv;
	struct harness_run r;
	char e1[32], e2[32], inc[32], iso1[32], iso2[32], want[512];
	time_t now = time(NULL), exp1 = now + 10 * 86400 + 3600, exp2 = now + 20 * 86400;
	rrsig_times(exp1, e1, sizeof(e1), iso1, sizeof(iso1));
	rrsig_times(exp2, e2, sizeof(e2), iso2, sizeof(iso2));
	rrsig_times(now - 3600, inc, sizeof(inc), iso2, sizeof(iso2));
	setup_srv(&srv);
	const char *sig = "c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl";
	ck_assert_int_eq(
		harness_write_filef(
			srv.zonedir, "c.test.zone",
			"$ORIGIN c.test.\n$TTL 300\n"
			"@ SOA ns1 hostmaster 1 3600 900 604800 300\n"
			"@ RRSIG SOA 13 2 300 %s %s 4711 c.test. %s\n"
			"@ NS ns1\n"
			"@ RRSIG NS 13 2 300 %s %s 4711 c.test. %s\n"
			"@ DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+"
			"KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n"
			"ns1 A 192.0.2.1\n",
			e1, inc, sig, e2, inc, sig),
		0);
	write_signed_conf(&srv, 1);
	char path[PATH_MAX];
	FMT(path, "%s/shoal.conf", srv.dir);
	const char *args[] = {"--config", path, NULL};
	const char *ready[] = {"a.test", "c.test", NULL};
	struct harness_shoal_opts o = {.no_zones = true,
				       .no_listen = true,
				       .no_threads = true,
				       .port_fixed = true,
				       .args = args,
				       .ready = ready,
				       .metrics = true};
	ck_assert_int_eq(harness_shoal_launch(&srv, &o), 0);

	/* served, with a warning: a DNSKEY and no NSEC or NSEC3 chain */
	ck_assert_int_eq(harness_server_wait_log(&srv,
						 "c.test.zone: DNSKEY at c.test. but no "
						 "NSEC or NSEC3 chain",
						 1, 0),
			 0);

	ck_assert_int_eq(ctl(&srv, &r, "zone-status", "c.test", NULL), 0);
	FMT(want, "    first RRSIG expires %s (in ", iso1);
	const char *at = strstr(r.out, want);
	ck_assert_msg(at != NULL, "%s", r.out);
	long long in = atoll(at + strlen(want));
	ck_assert_msg(in <= exp1 - now && in > exp1 - now - 60, "%s", r.out);
	harness_run_free(&r);
	ck_assert_int_eq(ctl(&srv, &r, "--json", "zone-status", "c.test"), 0);
	FMT(want, "\"rrsig_expire\": \"%s\", \"rrsig_expire_in\": ", iso1);
	at = strstr(r.out, want);
	ck_assert_msg(at != NULL, "%s", r.out);
	in = atoll(at + strlen(want));
	ck_assert_msg(in <= exp1 - now && in > exp1 - now - 60, "%s", r.out);
	harness_run_free(&r);
	ck_assert_int_eq(ctl(&srv, &r, "--json", "zone-status", "a.test"), 0);
	ck_assert_msg(strstr(r.out, "\"rrsig_expire\": null, \"rrsig_expire_in\": null"), "%s",
		      r.out);
	harness_run_free(&r);
	ck_assert_int_eq(ctl(&srv, &r, "zone-status", "a.test", NULL), 0);
	ck_assert_msg(!strstr(r.out, "RRSIG"), "%s", r.out);
	harness_run_free(&r);

	char *m = harness_http_get(srv.metrics_port, "/metrics");
	ck_assert_ptr_nonnull(m);
	ck_assert_msg(strstr(m, "# TYPE shoal_zone_rrsig_expiry_seconds gauge"), "%s", m);
	ck_assert_msg(harness_metric(m, "shoal_zone_rrsig_expiry_seconds{zone=\"c.test.\"}") ==
			      (long long)exp1,
		      "%s", m);
	ck_assert_msg(harness_metric(m, "shoal_zone_rrsig_expiry_seconds{zone=\"a.test.\"}") == -1,
		      "%s", m);
	free(m);

	/* 1 hour: nothing about the RRSIGs; 720 hours (reloadable): both */
	char *log = harness_server_log_tail(&srv, 65536);
	ck_assert_msg(log && !strstr(log, "RRSIG at c.test."), "%s", log ? log : "");
	free(log);
	write_signed_conf(&srv, 720);
	ck_assert_int_eq(ctl(&srv, &r, "reload", "--force", NULL), 0);
	harness_run_free(&r);
	ck_assert_int_eq(harness_server_wait_log(&srv, "setting rrsig-expiry-warning: 1 -> 720", 1,
						 0),
			 0);
	FMT(want, "c.test.zone: RRSIG at c.test. covering SOA (key tag 4711) expires at %s, in 10 days",
	    iso1);
	ck_assert_int_eq(harness_server_wait_log(&srv, want, 1, 0), 0);
	ck_assert_int_eq(harness_server_wait_log(&srv, "c.test.zone: RRSIG at c.test. covering NS", 1, 0),
			 0);
	ck_assert_int_eq(harness_ask_rcode(srv.port, "c.test.", LDNS_RR_TYPE_SOA, HARNESS_UDP),
			 LDNS_RCODE_NOERROR);
	ck_assert_int_eq(harness_server_stop(&srv, HARNESS_STOP_TIMEOUT_MS), 0);
	harness_server_cleanup(&srv);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {serves_the_configured_zones,
				      bad_configuration_at_start,
				      zones_dir_beside_the_file,
				      shoalctl_commands,
				      broken_reload_keeps_serving,
				      reloads_under_load,
				      signed_zone_expiry,
				      NULL};
	struct harness_suite s = {.name = "config", .timeout_s = 240, .tests = tests};
	return harness_suite_main(&s);
}
