/*
 * check_harness.c - the harness checked against things it must notice, so
 * that a passing e2e test means something: harness_run() separates stdout
 * from stderr, reports exit codes and kills what overruns its timeout; the
 * query load counts a query lost when the server does not answer in time
 * (also when it answers late) and counts rcodes; the cookie queries are
 * byte for byte what the cookie and RRL tests built by hand before; metric
 * lookups match whole series only; files are written whole, mode 0644.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

START_TEST(test_run)
{
	struct harness_run r;
	const char *sh[] = {"/bin/sh", "-c", "echo to-out; echo to-err >&2; exit 3", NULL};
	ck_assert_int_eq(harness_run(sh, 0, &r), 0);
	ck_assert_int_eq(r.exit_code, 3);
	ck_assert_str_eq(r.out, "to-out\n");
	ck_assert_str_eq(r.err, "to-err\n");
	harness_run_free(&r);

	/* killed by a signal: 128 + N, as a shell says */
	const char *killed[] = {"/bin/sh", "-c", "kill -TERM $$", NULL};
	ck_assert_int_eq(harness_run(killed, 0, &r), 0);
	ck_assert_int_eq(r.exit_code, 128 + SIGTERM);
	harness_run_free(&r);

	/* overruns its timeout: killed, and what it wrote is kept */
	const char *slow[] = {"/bin/sh", "-c", "echo started; exec sleep 30", NULL};
	double t0 = harness_now_ms();
	ck_assert_int_eq(harness_run(slow, 300, &r), -ETIMEDOUT);
	ck_assert_double_lt(harness_now_ms() - t0, 5000);
	ck_assert_int_eq(r.exit_code, -1);
	ck_assert_str_eq(r.out, "started\n");
	harness_run_free(&r);

	/* no such program: the exec's errno, not a child's exit code */
	const char *none[] = {"/nonexistent/shoal-e2e-program", NULL};
	ck_assert_int_eq(harness_run(none, 0, &r), -ENOENT);
	harness_run_free(&r);

	/* more output than is kept: the child is not blocked, the rest dropped */
	const char *big[] = {"/bin/sh", "-c", "head -c 3000000 /dev/zero; echo done >&2", NULL};
	ck_assert_int_eq(harness_run(big, 0, &r), 0);
	ck_assert_int_eq(r.exit_code, 0);
	ck_assert_uint_eq(r.out_len, HARNESS_RUN_OUTPUT_MAX);
	ck_assert_str_eq(r.err, "done\n");
	harness_run_free(&r);

	/* a name is looked up in PATH */
	const char *path[] = {"sh", "-c", "exit 0", NULL};
	ck_assert_int_eq(harness_run(path, 0, &r), 0);
	ck_assert_int_eq(r.exit_code, 0);
	ck_assert_str_eq(r.out, "");
	harness_run_free(&r);
}
END_TEST

START_TEST(test_write_file)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], buf[64] = {0};
	ck_assert_int_eq(harness_tmpdir(dir, sizeof(dir), "harness"), 0);
	struct stat st;
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0755);
	umask(077); /* what the test's umask is does not matter */
	ck_assert_int_eq(harness_write_file(dir, "a.zone", "first version, longer\n"), 0);
	ck_assert_int_eq(harness_write_filef(dir, "a.zone", "v%d\n", 2), 0);
	umask(022);
	snprintf(path, sizeof(path), "%s/a.zone", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0644);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(buf, 1, sizeof(buf) - 1, f), 3);
	fclose(f);
	ck_assert_str_eq(buf, "v2\n");
	char **origins = NULL;
	ck_assert_int_eq(harness_zone_origins(dir, &origins), 0);
	ck_assert_str_eq(origins[0], "a."); /* and no temporary file beside it */
	ck_assert_ptr_null(origins[1]);
	harness_strv_free(origins);
	ck_assert_int_lt(harness_write_file("/nonexistent/dir", "x", "x"), 0);
	harness_rmtree(dir);
}
END_TEST

START_TEST(test_metric)
{
	const char *m = "# TYPE shoal_q counter\n"
	                "shoal_q{w=\"0\"} 5\n"
	                "shoal_q{w=\"1\"} 7\n"
	                "shoal_q_other{w=\"0\"} 100\n"
	                "xshoal_q{w=\"0\"} 1000\n"
	                "shoal_q 11\n";
	ck_assert_int_eq(harness_metric(m, "shoal_q{w=\"1\"}"), 7);
	ck_assert_int_eq(harness_metric(m, "shoal_q"), 11);
	ck_assert_int_eq(harness_metric(m, "shoal_q{w=\"2\"}"), -1);
	ck_assert_int_eq(harness_metric(m, "q{w=\"0\"}"), -1);
	ck_assert_uint_eq(harness_metric_sum(m, "shoal_q"), 5 + 7 + 11);
	ck_assert_uint_eq(harness_metric_sum(m, "shoal_none"), 0);
}
END_TEST

/* The layouts check_cookie.c and check_rrl.c wrote by hand before they
 * used harness_cookie_query(). */
START_TEST(test_cookie_query)
{
	static const uint8_t cookie[24] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
	                                   13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
	static const uint8_t qname[] = "\3www\7example\3com";
	for (size_t cl = 0; cl <= 24; cl += 8) {
		uint8_t want[128] = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, cl ? 1 : 0};
		memcpy(want + 12, qname, 17);
		memcpy(want + 29, "\0\1\0\1", 4);
		uint8_t opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, (uint8_t)(4 + cl)};
		memcpy(want + 33, opt, 11);
		uint8_t oh[4] = {0, 10, 0, (uint8_t)cl};
		memcpy(want + 44, oh, 4);
		memcpy(want + 48, cookie, cl);
		size_t wl = cl ? 48 + cl : 33;
		uint8_t got[128];
		int n = harness_cookie_query(got, sizeof(got), 0x1234, "www.example.com.",
		                             LDNS_RR_TYPE_A, cookie, cl);
		ck_assert_int_eq(n, (int)wl);
		ck_assert_mem_eq(got, want, wl);
	}
	/* no question (RFC 7873 §5.4) */
	uint8_t want[64] = {0x43, 0x21, 0,    0, 0, 0, 0, 0, 0,     0, 0,  1, 0, 0,
	                    41,   0x04, 0xd0, 0, 0, 0, 0, 0, 4 + 8, 0, 10, 0, 8};
	memcpy(want + 27, cookie, 8);
	uint8_t got[64];
	ck_assert_int_eq(harness_cookie_query(got, sizeof(got), 0x4321, NULL, 0, cookie, 8), 35);
	ck_assert_mem_eq(got, want, 35);
	ck_assert_int_eq(
	    harness_cookie_query(got, 20, 1, "www.example.com.", LDNS_RR_TYPE_A, cookie, 8),
	    -ENOSPC);
	/* read back from the end of a message */
	uint8_t reply[80] = {0}, c[24];
	memcpy(reply + 80 - 28, "\0\x0a\0\x18", 4);
	memcpy(reply + 80 - 24, cookie, 24);
	ck_assert(harness_reply_cookie(reply, sizeof(reply), c));
	ck_assert_mem_eq(c, cookie, 24);
	reply[80 - 25] = 0x10; /* a length of 4112: no 24-octet cookie */
	ck_assert(!harness_reply_cookie(reply, sizeof(reply), c));
	ck_assert_uint_eq(c[0] | c[23], 0);
}
END_TEST

/* The load notices what it must: no server at all (every query lost), a
 * server that stops answering for a while and then answers late (lost,
 * not answered), rcodes by name. Otherwise "0 lost" would prove nothing. */
START_TEST(test_load_counts_losses)
{
	struct harness_server srv;
	ck_assert_int_eq(harness_shoal_start(&srv, harness_repo_zones(), NULL), 0);
	const char *names[] = {"www.example.com.", "nx.example.com.", NULL};

	/* nobody listens on this port */
	uint16_t dead;
	ck_assert_int_eq(harness_pick_port(&dead), 0);
	struct harness_load_opts none = {.port = dead, .names = names, .timeout_ms = 100};
	struct harness_load *l;
	ck_assert_int_eq(harness_load_start(&none, &l), 0);
	usleep(500000);
	struct harness_load_stats st;
	harness_load_stop(l, &st);
	harness_load_print(&st, "no server", stderr);
	ck_assert_uint_ge(st.sent, 2);
	ck_assert_uint_eq(st.answered, 0);
	ck_assert_uint_eq(st.lost, st.sent);

	/* steady 200 a second over two threads; the server stopped for 1.5 s
	 * in the middle: what it answers after SIGCONT is late (> 500 ms) */
	struct harness_load_opts steady = {
	    .port = srv.port, .names = names, .threads = 2, .rate = 200, .timeout_ms = 500};
	ck_assert_int_eq(harness_load_start(&steady, &l), 0);
	usleep(500000);
	kill(srv.pid, SIGSTOP);
	usleep(1500000);
	kill(srv.pid, SIGCONT);
	usleep(1000000);
	harness_load_stop(l, &st);
	harness_load_print(&st, "server stopped 1.5 s", stderr);
	/* 3 s at 200 a second: 600 (a loaded machine may send fewer) */
	ck_assert_uint_ge(st.sent, 300);
	ck_assert_uint_le(st.sent, 700);
	ck_assert_uint_eq(st.sent, st.answered + st.lost);
	/* 1.5 s of queries at 200 a second, less those answered in time */
	ck_assert_uint_ge(st.lost, 150);
	ck_assert_uint_ge(st.answered, 150);
	ck_assert_double_lt(st.max_ms, 500); /* a late answer is a lost one */
	ck_assert_uint_gt(st.rcodes[LDNS_RCODE_NOERROR], 0);
	ck_assert_uint_gt(st.rcodes[LDNS_RCODE_NXDOMAIN], 0);
	ck_assert_uint_eq(st.rcodes[LDNS_RCODE_NOERROR] + st.rcodes[LDNS_RCODE_NXDOMAIN],
	                  st.answered);
	ck_assert_uint_eq(st.bad, 0);
	harness_server_cleanup(&srv);
}
END_TEST

/* A check that refuses everything makes every answer bad. */
static bool refuse_all(const ldns_pkt *reply, void *arg)
{
	(void)reply;
	(void)arg;
	return false;
}

START_TEST(test_load_check)
{
	struct harness_server srv;
	ck_assert_int_eq(harness_shoal_start(&srv, harness_repo_zones(), NULL), 0);
	const char *names[] = {"www.example.com.", NULL};
	struct harness_load_opts o = {.port = srv.port, .names = names, .check = refuse_all};
	struct harness_load *l;
	ck_assert_int_eq(harness_load_start(&o, &l), 0);
	usleep(300000);
	struct harness_load_stats st;
	harness_load_stop(l, &st);
	harness_load_print(&st, "check refusing all", stderr);
	ck_assert_uint_gt(st.answered, 10);
	ck_assert_uint_eq(st.bad, st.answered);
	ck_assert_uint_eq(st.lost, 0);
	const char *empty[] = {NULL};
	o.names = empty;
	ck_assert_int_eq(harness_load_start(&o, &l), -EINVAL);
	harness_server_cleanup(&srv);
}
END_TEST

/* harness_shoal_launch() as a --config test will use it: the server's own
 * directory, a port known before the start, a ready list, no wait. */
START_TEST(test_launch_options)
{
	struct harness_server srv;
	ck_assert_int_eq(harness_shoal_prepare(&srv), 0);
	struct stat st;
	ck_assert_int_eq(stat(srv.zonedir, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_ne(srv.port, 0);
	uint16_t port = srv.port;
	ck_assert_int_eq(
	    harness_write_file(srv.zonedir, "a.test.zone",
	                       "$TTL 60\n@ SOA ns h 5 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n"),
	    0);
	const char *args[] = {"--threads", "3", NULL};
	struct harness_shoal_opts o = {
	    .args = args, .no_threads = true, .port_fixed = true, .metrics = true};
	ck_assert_int_eq(harness_shoal_launch(&srv, &o), 0);
	ck_assert_uint_eq(srv.port, port);
	ck_assert_int_eq(harness_udp_sockets(srv.port), 3);
	uint32_t serial;
	ck_assert_int_eq(harness_soa_serial(srv.port, "a.test.", &serial), 0);
	ck_assert_uint_eq(serial, 5);
	ck_assert_int_eq(harness_soa_serial(srv.port, "nx.a.test.", &serial), -ENODATA);
	char *m = harness_http_get(srv.metrics_port, "/metrics");
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(harness_metric(m, "shoal_zone_serial{zone=\"a.test.\"}"), 5);
	free(m);
	/* a wait that cannot succeed says so in time */
	ck_assert_int_eq(harness_wait_serial(&srv, "a.test.", 6, 300), -ETIMEDOUT);
	ck_assert_int_eq(harness_server_wait_log(&srv, "no such line", 1, 300), -ETIMEDOUT);
	ck_assert_int_eq(harness_server_wait_exit(&srv, 300), -ETIMEDOUT);
	ck_assert_int_eq(harness_server_stop(&srv, 0), 0);
	/* the same server again on its port, not waited for */
	o.no_wait = true;
	o.metrics = false;
	ck_assert_int_eq(harness_shoal_launch(&srv, &o), 0);
	ck_assert_uint_eq(srv.port, port);
	ck_assert_int_eq(harness_wait_serial(&srv, "a.test.", 5, 0), 0);
	/* a failure it expects: quiet, -ECHILD, the status kept */
	struct harness_server bad;
	ck_assert_int_eq(harness_shoal_prepare(&bad), 0);
	const char *wrong[] = {"--threads", "0", NULL};
	struct harness_shoal_opts ob = {.args = wrong, .quiet = true};
	ck_assert_int_eq(harness_shoal_launch(&bad, &ob), -ECHILD);
	ck_assert(WIFEXITED(bad.exit_status) && WEXITSTATUS(bad.exit_status) == 2);
	harness_server_cleanup(&bad);
	harness_server_cleanup(&srv);
}
END_TEST

/* What a --config test does: a YAML file in the server's directory naming
 * the port picked beforehand and the zone directory, no --zones, no
 * --listen; and `shoal --config FILE --check` through harness_run_shoal(). */
START_TEST(test_launch_config)
{
	struct harness_server srv;
	ck_assert_int_eq(harness_shoal_prepare(&srv), 0);
	ck_assert_int_eq(
	    harness_write_file(srv.zonedir, "cfg.test.zone",
	                       "$TTL 60\n@ SOA ns h 9 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n"),
	    0);
	ck_assert_int_eq(harness_write_filef(srv.dir, "shoal.conf",
	                                     "server:\n  listen: [127.0.0.1:%u]\n"
	                                     "template:\n  - id: default\n    storage: %s\n"
	                                     "zone:\n  - domain: cfg.test\n",
	                                     (unsigned)srv.port, srv.zonedir),
	                 0);
	char conf[PATH_MAX + 16];
	snprintf(conf, sizeof(conf), "%s/shoal.conf", srv.dir);
	const char *check[] = {"--config", conf, "--check", NULL};
	struct harness_run r;
	ck_assert_int_eq(harness_run_shoal(check, 0, &r), 0);
	ck_assert_msg(r.exit_code == 0, "status %d\n%s%s", r.status, r.out, r.err);
	harness_run_free(&r);
	const char *args[] = {"--config", conf, NULL}, *ready[] = {"cfg.test.", NULL};
	struct harness_shoal_opts o = {
	    .no_zones = true, .no_listen = true, .args = args, .ready = ready, .port_fixed = true};
	ck_assert_int_eq(harness_shoal_launch(&srv, &o), 0);
	uint32_t serial;
	ck_assert_int_eq(harness_soa_serial(srv.port, "cfg.test.", &serial), 0);
	ck_assert_uint_eq(serial, 9);
	harness_server_cleanup(&srv);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {test_run,
	                              test_write_file,
	                              test_metric,
	                              test_cookie_query,
	                              test_load_counts_losses,
	                              test_load_check,
	                              test_launch_options,
	                              test_launch_config,
	                              NULL};
	struct harness_suite s = {.name = "harness", .timeout_s = 60, .tests = tests};
	return harness_suite_main(&s);
}
