/*
 * check_ops.c - running shoal for real: SIGHUP reload (new serial served,
 * broken zone keeps the old version, files added and removed), 100 reloads
 * under steady load without a lost query or an answer mixed from two
 * versions, the privilege drop when started as root, the metrics endpoint,
 * and shoal-checkzone.
 */
#include <check.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static char *zone_text(unsigned serial, const char *a1, const char *a2)
{
	char *t;
	ck_assert_int_gt(asprintf(&t,
				  "$TTL 300\n@ SOA ns h %u 7200 3600 1209600 60\n@ NS ns\n"
				  "ns A 192.0.2.1\nwww A %s\nwww A %s\n",
				  serial, a1, a2),
			 0);
	return t;
}

/* shoal on srv->zonedir holding rl.test. at serial `serial`. */
static void start_rl(struct harness_server *srv, unsigned serial, const struct harness_shoal_opts *o)
{
	char *v = zone_text(serial, "10.0.0.1", "10.0.0.2");
	ck_assert_int_eq(harness_shoal_prepare(srv), 0);
	ck_assert_int_eq(harness_write_file(srv->zonedir, "rl.test.zone", v), 0);
	free(v);
	ck_assert_int_eq(harness_shoal_launch(srv, o), 0);
}

static uint32_t soa_serial(uint16_t port, const char *zone)
{
	uint32_t serial;
	ck_assert_int_eq(harness_soa_serial(port, zone, &serial), 0);
	return serial;
}

START_TEST(test_reload)
{
	char *v1 = zone_text(1, "10.0.0.1", "10.0.0.2"), *v2 = zone_text(2, "10.0.0.3", "10.0.0.4");
	struct harness_server srv;
	start_rl(&srv, 1, NULL);
	ck_assert_uint_eq(soa_serial(srv.port, "rl.test."), 1);

	/* a new version */
	ck_assert_int_eq(harness_write_file(srv.zonedir, "rl.test.zone", v2), 0);
	kill(srv.pid, SIGHUP);
	ck_assert_int_eq(harness_wait_serial(&srv, "rl.test.", 2, 0), 0);

	/* a broken version: the previous one stays, the log says why */
	ck_assert_int_eq(harness_write_file(srv.zonedir, "rl.test.zone",
					    "$TTL 300\n@ SOA ns h 3 1 1 1 1\n@ NS ns\n"
					    "www A not-an-address\n"),
			 0);
	kill(srv.pid, SIGHUP);
	ck_assert_int_eq(harness_server_wait_log(&srv, "rl.test.zone:4: ", 1, 0), 0);
	ck_assert_int_eq(
	    harness_server_wait_log(&srv, "previous version (serial 2) stays served", 1, 0), 0);
	ck_assert_uint_eq(soa_serial(srv.port, "rl.test."), 2);

	/* a file added, then removed */
	ck_assert_int_eq(harness_write_file(srv.zonedir, "new.test.zone", v1), 0);
	kill(srv.pid, SIGHUP);
	ck_assert_int_eq(harness_wait_serial(&srv, "new.test.", 1, 0), 0);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/new.test.zone", srv.zonedir);
	unlink(path);
	kill(srv.pid, SIGHUP);
	ck_assert_int_eq(
	    harness_wait_rcode(&srv, "www.new.test.", LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, 0), 0);
	ck_assert_uint_eq(soa_serial(srv.port, "rl.test."), 2);
	harness_server_cleanup(&srv);
	free(v1);
	free(v2);
}
END_TEST

/* ---- reload under load -------------------------------------------------- */

static atomic_ulong mixed;

/* Every answer is whole and from one version: NOERROR with both A
 * records, v1's .1 and .2 or v2's .3 and .4, never one of each. */
static bool one_version(const ldns_pkt *r, void *arg)
{
	(void)arg;
	if (ldns_pkt_get_rcode(r) != LDNS_RCODE_NOERROR || ldns_pkt_ancount(r) != 2)
		return false;
	unsigned last[2];
	for (int i = 0; i < 2; i++) {
		ldns_rdf *a = ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), (size_t)i), 0);
		last[i] = ldns_rdf_data(a)[3];
	}
	unsigned lo = last[0] < last[1] ? last[0] : last[1];
	unsigned hi = last[0] < last[1] ? last[1] : last[0];
	if ((lo == 1 && hi == 2) || (lo == 3 && hi == 4))
		return true;
	atomic_fetch_add(&mixed, 1);
	return false;
}

START_TEST(test_reload_under_load)
{
	char *v[2] = {zone_text(1, "10.0.0.1", "10.0.0.2"), zone_text(2, "10.0.0.3", "10.0.0.4")};
	struct harness_server srv;
	start_rl(&srv, 1, NULL);
	/* Two resolvers, each waiting for an answer before the next query,
	 * with a 1 s timeout: far above loopback latency even while the server
	 * rebuilds a zone on the other core. */
	const char *names[] = {"www.rl.test.", NULL};
	struct harness_load_opts lo = {.port = srv.port, .names = names, .threads = 2,
				       .timeout_ms = 1000, .check = one_version};
	struct harness_load *load;
	ck_assert_int_eq(harness_load_start(&lo, &load), 0);
	/* And a steady 500 queries a second whatever the answers do, as
	 * clients arrive, over a name that exists and one that does not. */
	const char *steady_names[] = {"www.rl.test.", "nx.rl.test.", NULL};
	struct harness_load_opts so = {.port = srv.port, .names = steady_names, .rate = 500};
	struct harness_load *steady;
	ck_assert_int_eq(harness_load_start(&so, &steady), 0);
	/* 100 reloads alternating the two versions; each one waited for, so
	 * every reload really publishes a new table under the load. */
	for (unsigned i = 1; i <= 100; i++) {
		ck_assert_int_eq(harness_write_file(srv.zonedir, "rl.test.zone", v[i % 2]), 0);
		kill(srv.pid, SIGHUP);
		ck_assert_msg(harness_wait_serial(&srv, "rl.test.", i % 2 + 1, 0) == 0,
			      "reload %u not seen", i);
	}
	struct harness_load_stats st, sst;
	harness_load_stop(steady, &sst);
	harness_load_stop(load, &st);
	harness_load_print(&st, "reload under load", stderr);
	harness_load_print(&sst, "reload under steady load", stderr);
	fprintf(stderr, "reload under load: %lu of the bad answers mixed two versions\n",
		atomic_load(&mixed));
	ck_assert_uint_gt(st.answered, 1000);
	ck_assert_uint_eq(st.lost, 0);
	ck_assert_uint_eq(atomic_load(&mixed), 0);
	ck_assert_uint_eq(st.bad, 0);
	ck_assert_uint_eq(st.rcodes[LDNS_RCODE_NOERROR], st.answered);
	ck_assert_uint_gt(sst.answered, 100);
	ck_assert_uint_eq(sst.lost, 0);
	ck_assert_uint_gt(sst.rcodes[LDNS_RCODE_NXDOMAIN], 0);
	ck_assert_uint_eq(sst.rcodes[LDNS_RCODE_NOERROR] + sst.rcodes[LDNS_RCODE_NXDOMAIN],
			  sst.answered);
	harness_server_cleanup(&srv);
	free(v[0]);
	free(v[1]);
}
END_TEST

/* Started as root: the serving process runs as nobody, with no
 * supplementary groups, and cannot get root back (checked by shoal itself;
 * here we read what the kernel says). */
START_TEST(test_privilege_drop)
{
	if (geteuid() != 0) {
		fprintf(stderr, "not root: privilege drop not testable here\n");
		return;
	}
	struct harness_server srv;
	start_rl(&srv, 1, NULL);
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)srv.pid);
	FILE *f = fopen(path, "r");
	ck_assert(f != NULL);
	bool uid_ok = false, gid_ok = false, groups_ok = false;
	while (fgets(line, sizeof(line), f)) {
		unsigned a, b, c, d;
		if (sscanf(line, "Uid: %u %u %u %u", &a, &b, &c, &d) == 4)
			uid_ok = a == 65534 && b == 65534 && c == 65534 && d == 65534;
		if (sscanf(line, "Gid: %u %u %u %u", &a, &b, &c, &d) == 4)
			gid_ok = a == 65534 && b == 65534 && c == 65534 && d == 65534;
		if (!strncmp(line, "Groups:", 7)) {
			char *g = line + 7;
			groups_ok = true;
			for (char *tok = strtok(g, " \t\n"); tok; tok = strtok(NULL, " \t\n"))
				groups_ok &= strtoul(tok, NULL, 10) == 65534;
		}
	}
	fclose(f);
	ck_assert_msg(uid_ok && gid_ok && groups_ok, "uid %d gid %d groups %d", uid_ok, gid_ok,
		      groups_ok);
	ck_assert_uint_eq(soa_serial(srv.port, "rl.test."), 1);
	harness_server_cleanup(&srv);
}
END_TEST

START_TEST(test_metrics)
{
	struct harness_server srv;
	struct harness_shoal_opts o = {.metrics = true};
	start_rl(&srv, 7, &o);
	for (int i = 0; i < 10; i++)
		harness_ask_rcode(srv.port, "nx.rl.test.", LDNS_RR_TYPE_A, HARNESS_UDP);
	char *m = harness_http_get(srv.metrics_port, "/metrics");
	ck_assert(m != NULL);
	ck_assert_msg(strncmp(m, "HTTP/1.0 200", 12) == 0 || strncmp(m, "HTTP/1.1 200", 12) == 0, "%s", m);
	ck_assert_msg(strstr(m, "# TYPE shoal_queries_total counter"), "%s", m);
	ck_assert_msg(harness_metric(m, "shoal_zone_serial{zone=\"rl.test.\"}") == 7, "%s", m);
	ck_assert_msg(harness_metric(m, "shoal_responses_by_rcode_total{proto=\"udp\","
				     "rcode=\"NXDOMAIN\"}") >= 10,
		      "%s", m);
	free(m);
	m = harness_http_get(srv.metrics_port, "/other");
	ck_assert(m && strstr(m, " 404 "));
	free(m);
	harness_server_cleanup(&srv);
}
END_TEST

START_TEST(test_checkzone)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	ck_assert_int_eq(harness_tmpdir(dir, sizeof(dir), "ops"), 0);
	char *v1 = zone_text(1, "10.0.0.1", "10.0.0.2");
	ck_assert_int_eq(harness_write_file(dir, "good.test.zone", v1), 0);
	const char *argv[] = {harness_checkzone_bin(), path, NULL};
	ck_assert_msg(argv[0] != NULL, "SHOAL_CHECKZONE not set");
	struct harness_run r;
	snprintf(path, sizeof(path), "%s/good.test.zone", dir);
	ck_assert_int_eq(harness_run(argv, 0, &r), 0);
	ck_assert_int_eq(r.exit_code, 0);
	ck_assert_msg(strstr(r.out, "serial 1"), "%s", r.out);
	harness_run_free(&r);
	ck_assert_int_eq(harness_write_file(dir, "bad.test.zone",
					    "$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
					    "www CNAME ns\nwww A 10.0.0.1\nother.example. A 10.0.0.1\n"),
			 0);
	snprintf(path, sizeof(path), "%s/bad.test.zone", dir);
	ck_assert_int_eq(harness_run(argv, 0, &r), 0);
	ck_assert_int_eq(r.exit_code, 1);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "%s:5: ", path);
	ck_assert_msg(strstr(r.err, want) && strstr(r.err, "CNAME"), "%s", r.err);
	snprintf(want, sizeof(want), "%s:6: ", path);
	ck_assert_msg(strstr(r.err, want) && strstr(r.err, "outside the zone"), "%s", r.err);
	harness_run_free(&r);
	harness_rmtree(dir);
	free(v1);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {test_reload,  test_reload_under_load, test_privilege_drop,
				      test_metrics, test_checkzone,	    NULL};
	struct harness_suite s = {.name = "ops", .timeout_s = 100, .tests = tests};
	return harness_suite_main(&s);
}
