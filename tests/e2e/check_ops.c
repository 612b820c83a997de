/*
 * check_ops.c - running shoal for real: SIGHUP reload (new serial served,
 * broken zone keeps the old version, files added and removed), 100 reloads
 * under steady load without a lost query or an answer mixed from two
 * versions, the privilege drop when started as root, the metrics endpoint,
 * and shoal-checkzone.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static void write_zone(const char *dir, const char *name, const char *text)
{
	char tmp[PATH_MAX + 64], path[PATH_MAX + 64];
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(tmp, "w");
	ck_assert_msg(f != NULL, "%s: %s", tmp, strerror(errno));
	fputs(text, f);
	fclose(f);
	chmod(tmp, 0644);
	/* atomic replace, as an operator's deploy tool would */
	ck_assert_int_eq(rename(tmp, path), 0);
}

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

static uint32_t soa_serial(uint16_t port, const char *zone)
{
	struct harness_query q = {.qname = zone, .qtype = LDNS_RR_TYPE_SOA};
	struct harness_reply r = {0};
	if (harness_query("127.0.0.1", port, &q, 0, &r) != 0 || !r.pkt)
		return 0;
	uint32_t serial = 0;
	if (ldns_pkt_get_rcode(r.pkt) == LDNS_RCODE_NOERROR && ldns_pkt_ancount(r.pkt) == 1) {
		ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0);
		serial = ldns_rdf2native_int32(ldns_rr_rdf(soa, 2));
	}
	harness_reply_free(&r);
	return serial;
}

static int rcode_of(uint16_t port, const char *name)
{
	struct harness_query q = {.qname = name, .qtype = LDNS_RR_TYPE_A};
	struct harness_reply r = {0};
	if (harness_query("127.0.0.1", port, &q, 0, &r) != 0 || !r.pkt)
		return -1;
	int rc = ldns_pkt_get_rcode(r.pkt);
	harness_reply_free(&r);
	return rc;
}

/* Poll (bounded: 5 s) until the zone's serial is `want`. */
static bool wait_serial(uint16_t port, const char *zone, uint32_t want)
{
	for (int i = 0; i < 100; i++) {
		if (soa_serial(port, zone) == want)
			return true;
		usleep(50000);
	}
	return false;
}

static void log_contains(struct harness_server *srv, const char *what)
{
	for (int i = 0; i < 50; i++) {
		char *log = harness_server_log_tail(srv, 65536);
		bool ok = strstr(log, what) != NULL;
		if (ok || i == 49)
			ck_assert_msg(ok, "want '%s' in log:\n%s", what, log);
		free(log);
		if (ok)
			return;
		usleep(100000);
	}
}

static void start_on(struct harness_server *srv, const char *dir, const char *const *extra)
{
	int rc = harness_shoal_start(srv, dir, extra);
	if (rc)
		harness_server_dump_log(srv, stderr, 0);
	ck_assert_int_eq(rc, 0);
}

static void make_dir(char *dir, size_t size)
{
	ck_assert_int_eq(harness_tmpdir(dir, size, "ops"), 0);
	/* started as root, shoal reloads as nobody: it must be able to read */
	chmod(dir, 0755);
}

START_TEST(test_reload)
{
	char dir[PATH_MAX];
	make_dir(dir, sizeof(dir));
	char *v1 = zone_text(1, "10.0.0.1", "10.0.0.2"), *v2 = zone_text(2, "10.0.0.3", "10.0.0.4");
	write_zone(dir, "rl.test.zone", v1);
	struct harness_server srv = {0};
	start_on(&srv, dir, NULL);
	ck_assert_uint_eq(soa_serial(srv.port, "rl.test."), 1);

	/* a new version */
	write_zone(dir, "rl.test.zone", v2);
	kill(srv.pid, SIGHUP);
	ck_assert(wait_serial(srv.port, "rl.test.", 2));

	/* a broken version: the previous one stays, the log says why */
	write_zone(dir, "rl.test.zone", "$TTL 300\n@ SOA ns h 3 1 1 1 1\n@ NS ns\nwww A not-an-address\n");
	kill(srv.pid, SIGHUP);
	log_contains(&srv, "rl.test.zone:4: ");
	log_contains(&srv, "previous version (serial 2) stays served");
	ck_assert_uint_eq(soa_serial(srv.port, "rl.test."), 2);

	/* a file added, then removed */
	write_zone(dir, "new.test.zone", v1);
	kill(srv.pid, SIGHUP);
	ck_assert(wait_serial(srv.port, "new.test.", 1));
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/new.test.zone", dir);
	unlink(path);
	kill(srv.pid, SIGHUP);
	bool refused = false;
	for (int i = 0; i < 100 && !refused; i++, usleep(50000))
		refused = rcode_of(srv.port, "www.new.test.") == LDNS_RCODE_REFUSED;
	ck_assert(refused);
	ck_assert_uint_eq(soa_serial(srv.port, "rl.test."), 2);
	harness_server_cleanup(&srv);
	harness_rmtree(dir);
	free(v1);
	free(v2);
}
END_TEST

/* ---- reload under load -------------------------------------------------- */

struct load_state {
	uint16_t port;
	atomic_bool stop;
	atomic_ulong sent, answered, lost, mixed, bad;
};

/* A steady stream of queries, each waiting for its answer (as a resolver
 * would, with a 1 s timeout: far above loopback latency even while the
 * server rebuilds a zone on the other core). */
static void *load_thread(void *arg)
{
	struct load_state *st = arg;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(st->port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = 1};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	struct harness_query q = {.qname = "www.rl.test.", .qtype = LDNS_RR_TYPE_A};
	uint16_t id = 1;
	while (!atomic_load(&st->stop)) {
		ldns_pkt *p = harness_build_query(&q, ++id);
		uint8_t *w;
		size_t len;
		ldns_pkt2wire(&w, p, &len);
		ldns_pkt_free(p);
		send(fd, w, len, 0);
		free(w);
		atomic_fetch_add(&st->sent, 1);
		uint8_t buf[4096];
		ssize_t n;
		for (;;) {
			n = recv(fd, buf, sizeof(buf), 0);
			if (n < 0 || (n >= 2 && (buf[0] << 8 | buf[1]) == id))
				break;
		}
		if (n < 0) {
			atomic_fetch_add(&st->lost, 1);
			continue;
		}
		ldns_pkt *r = NULL;
		if (ldns_wire2pkt(&r, buf, (size_t)n) != LDNS_STATUS_OK ||
		    ldns_pkt_get_rcode(r) != LDNS_RCODE_NOERROR || ldns_pkt_ancount(r) != 2) {
			atomic_fetch_add(&st->bad, 1);
			ldns_pkt_free(r);
			continue;
		}
		/* v1 answers .1 and .2, v2 .3 and .4: anything else is mixed */
		unsigned last[2];
		for (int i = 0; i < 2; i++) {
			ldns_rdf *a = ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(r), (size_t)i), 0);
			last[i] = ldns_rdf_data(a)[3];
		}
		unsigned lo = last[0] < last[1] ? last[0] : last[1];
		unsigned hi = last[0] < last[1] ? last[1] : last[0];
		if (!((lo == 1 && hi == 2) || (lo == 3 && hi == 4)))
			atomic_fetch_add(&st->mixed, 1);
		atomic_fetch_add(&st->answered, 1);
		ldns_pkt_free(r);
	}
	close(fd);
	return NULL;
}

START_TEST(test_reload_under_load)
{
	char dir[PATH_MAX];
	make_dir(dir, sizeof(dir));
	char *v[2] = {zone_text(1, "10.0.0.1", "10.0.0.2"), zone_text(2, "10.0.0.3", "10.0.0.4")};
	write_zone(dir, "rl.test.zone", v[0]);
	struct harness_server srv = {0};
	start_on(&srv, dir, NULL);
	static struct load_state st;
	st.port = srv.port;
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, load_thread, &st);
	/* 100 reloads alternating the two versions; each one waited for, so
	 * every reload really publishes a new table under the load. */
	for (unsigned i = 1; i <= 100; i++) {
		write_zone(dir, "rl.test.zone", v[i % 2]);
		kill(srv.pid, SIGHUP);
		ck_assert_msg(wait_serial(srv.port, "rl.test.", i % 2 + 1), "reload %u not seen", i);
	}
	atomic_store(&st.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	fprintf(stderr, "reload under load: %lu queries, %lu answered, %lu lost, %lu mixed, %lu bad\n",
		st.sent, st.answered, st.lost, st.mixed, st.bad);
	ck_assert_uint_gt(st.answered, 1000);
	ck_assert_uint_eq(st.lost, 0);
	ck_assert_uint_eq(st.mixed, 0);
	ck_assert_uint_eq(st.bad, 0);
	harness_server_cleanup(&srv);
	harness_rmtree(dir);
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
	char dir[PATH_MAX];
	make_dir(dir, sizeof(dir));
	char *v1 = zone_text(1, "10.0.0.1", "10.0.0.2");
	write_zone(dir, "rl.test.zone", v1);
	struct harness_server srv = {0};
	start_on(&srv, dir, NULL);
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
	harness_rmtree(dir);
	free(v1);
}
END_TEST

START_TEST(test_metrics)
{
	char dir[PATH_MAX];
	make_dir(dir, sizeof(dir));
	char *v1 = zone_text(7, "10.0.0.1", "10.0.0.2");
	write_zone(dir, "rl.test.zone", v1);
	uint16_t mport;
	ck_assert_int_eq(harness_pick_port(&mport), 0);
	char maddr[64];
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%u", mport);
	const char *extra[] = {"--metrics", maddr, NULL};
	struct harness_server srv = {0};
	start_on(&srv, dir, extra);
	for (int i = 0; i < 10; i++)
		rcode_of(srv.port, "nx.rl.test.");
	char *m = harness_http_get(mport, "/metrics");
	ck_assert(m != NULL);
	ck_assert_msg(strncmp(m, "HTTP/1.0 200", 12) == 0 || strncmp(m, "HTTP/1.1 200", 12) == 0, "%s", m);
	ck_assert_msg(strstr(m, "# TYPE shoal_queries_total counter"), "%s", m);
	ck_assert_msg(strstr(m, "shoal_zone_serial{zone=\"rl.test.\"} 7"), "%s", m);
	const char *nx = strstr(m, "shoal_responses_by_rcode_total{proto=\"udp\",rcode=\"NXDOMAIN\"} ");
	ck_assert_msg(nx != NULL, "%s", m);
	ck_assert_int_ge(strtol(strchr(nx, '}') + 2, NULL, 10), 10);
	free(m);
	m = harness_http_get(mport, "/other");
	ck_assert(m && strstr(m, " 404 "));
	free(m);
	harness_server_cleanup(&srv);
	harness_rmtree(dir);
	free(v1);
}
END_TEST

static int run_checkzone(const char *file, char **out)
{
	const char *bin = getenv("SHOAL_CHECKZONE");
	ck_assert_msg(bin != NULL, "SHOAL_CHECKZONE not set");
	char cmd[PATH_MAX * 3];
	snprintf(cmd, sizeof(cmd), "'%s' '%s' 2>&1", bin, file);
	FILE *p = popen(cmd, "r");
	ck_assert(p != NULL);
	char *buf = calloc(1, 8192);
	size_t got = fread(buf, 1, 8191, p);
	buf[got] = 0;
	int st = pclose(p);
	*out = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(test_checkzone)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	make_dir(dir, sizeof(dir));
	char *v1 = zone_text(1, "10.0.0.1", "10.0.0.2");
	write_zone(dir, "good.test.zone", v1);
	char *out;
	snprintf(path, sizeof(path), "%s/good.test.zone", dir);
	ck_assert_int_eq(run_checkzone(path, &out), 0);
	ck_assert_msg(strstr(out, "serial 1"), "%s", out);
	free(out);
	write_zone(dir, "bad.test.zone",
		   "$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nwww CNAME ns\nwww A 10.0.0.1\n"
		   "other.example. A 10.0.0.1\n");
	snprintf(path, sizeof(path), "%s/bad.test.zone", dir);
	ck_assert_int_eq(run_checkzone(path, &out), 1);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "%s:5: ", path);
	ck_assert_msg(strstr(out, want) && strstr(out, "CNAME"), "%s", out);
	snprintf(want, sizeof(want), "%s:6: ", path);
	ck_assert_msg(strstr(out, want) && strstr(out, "outside the zone"), "%s", out);
	free(out);
	harness_rmtree(dir);
	free(v1);
}
END_TEST

int main(void)
{
	if (!harness_shoal_bin()) {
		fprintf(stderr, "SHOAL_BIN is not set\n");
		return 1;
	}
	Suite *s = suite_create("ops");
	TCase *tc = tcase_create("ops");
	tcase_set_timeout(tc, 100);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_reload_under_load);
	tcase_add_test(tc, test_privilege_drop);
	tcase_add_test(tc, test_metrics);
	tcase_add_test(tc, test_checkzone);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
