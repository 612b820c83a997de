/*
 * check_rrl.c - response rate limiting end to end: the real binary with
 * --rrl-rate, flooded over UDP from loopback addresses in different /24s
 * (127.0.0.1, 127.0.2.1), while a light client in a third /24 (127.0.1.1)
 * and a client with a valid DNS cookie in the flooded /24 (127.0.0.2) are
 * all answered; TCP is never limited; slipped replies have TC=1 and no
 * records; the counters show in the metrics. And without --rrl-rate the
 * same flood is answered in full.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define RATE 20	     /* --rrl-rate */
#define FLOOD_MS 2000 /* how long each flooding client sends */
#define PACE_US 1000 /* about 1,000 queries a second from each flooder */
#define LOOP_MAX 20000

static const char *repo_zones(void)
{
	static char path[PATH_MAX];
	ck_assert_int_eq(harness_srcpath(path, sizeof(path), "zones"), 0);
	return path;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A UDP socket bound to `src` (any port), connected to the server. */
static int client_socket(const char *src, uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	inet_pton(AF_INET, src, &a.sin_addr);
	ck_assert_msg(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind %s: %s", src,
		      strerror(errno));
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, "127.0.0.1", &s.sin_addr);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&s, sizeof(s)), 0);
	return fd;
}

#define QNAME "\3www\7example\3com" /* 17 octets with the root */

/* www.example.com. A, with EDNS and a COOKIE of `cl` octets when cl > 0. */
static size_t build_query(uint8_t *b, uint16_t id, const uint8_t *cookie, size_t cl)
{
	static const uint8_t hdr[12] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	size_t n = 0;
	memcpy(b, hdr, 12);
	b[0] = (uint8_t)(id >> 8);
	b[1] = (uint8_t)id;
	n = 12;
	memcpy(b + n, QNAME, 17);
	n += 17;
	memcpy(b + n, "\0\1\0\1", 4);
	n += 4;
	if (cl) {
		b[11] = 1;
		uint8_t opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, (uint8_t)(4 + cl)};
		memcpy(b + n, opt, 11);
		n += 11;
		uint8_t oh[4] = {0, 10, 0, (uint8_t)cl};
		memcpy(b + n, oh, 4);
		memcpy(b + n + 4, cookie, cl);
		n += 4 + cl;
	}
	return n;
}

struct tally {
	unsigned sent, answered, slipped, other;
};

/* Read every reply waiting on fd into t; a slipped reply must be TC=1
 * with the question and no records, an answer TC=0 with the records. */
static void drain(int fd, struct tally *t)
{
	uint8_t b[4096];
	for (;;) {
		ssize_t n = recv(fd, b, sizeof(b), 0);
		if (n < 0) {
			ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR,
				      "recv: %s", strerror(errno));
			return;
		}
		ck_assert_int_ge(n, 12);
		unsigned an = (unsigned)(b[6] << 8 | b[7]), ns = (unsigned)(b[8] << 8 | b[9]);
		bool tc = (b[2] & 0x02) != 0;
		ck_assert_uint_eq(b[3] & 0x0f, 0); /* NOERROR */
		ck_assert_uint_eq(b[5], 1);	    /* the question is there */
		if (tc) {
			ck_assert_msg(an == 0 && ns == 0, "slipped reply with records: an %u ns %u",
				      an, ns);
			ck_assert_mem_eq(b + 12, QNAME, 17);
			t->slipped++;
		} else if (an == 2) {
			t->answered++;
		} else {
			t->other++;
		}
	}
}

static void start_or_fail(struct harness_server *srv, const char *const *extra)
{
	int rc = harness_shoal_start(srv, repo_zones(), extra);
	if (rc != 0)
		harness_server_dump_log(srv, stderr, 0);
	ck_assert_msg(rc == 0, "shoal did not start: %s", harness_start_strerror(rc, srv));
}

/* Our cookie for a client at `src`: a query with only a client cookie,
 * the reply's COOKIE (24 octets) into out. */
static void learn_cookie(uint16_t port, const char *src, uint8_t out[24])
{
	static const uint8_t cc[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
	int fd = client_socket(src, port);
	uint8_t q[128], r[4096];
	size_t ql = build_query(q, 7, cc, 8);
	ck_assert_int_eq(send(fd, q, ql, 0), (ssize_t)ql);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, HARNESS_QUERY_TIMEOUT_MS), 1);
	ssize_t n = recv(fd, r, sizeof(r), 0);
	/* the OPT is last and its only option is the cookie */
	ck_assert_int_ge(n, 12 + 21 + 11 + 28);
	ck_assert_mem_eq(r + n - 28, "\0\x0a\0\x18", 4);
	memcpy(out, r + n - 24, 24);
	ck_assert_mem_eq(out, cc, 8);
	close(fd);
}

static uint64_t metric_sum(const char *text, const char *name)
{
	uint64_t sum = 0;
	size_t nl = strlen(name);
	for (const char *p = text; (p = strstr(p, name)) != NULL; p += nl) {
		if (p[nl] != '{')
			continue;
		const char *v = strchr(p, '}');
		if (v)
			sum += strtoull(v + 2, NULL, 10);
	}
	return sum;
}

START_TEST(test_flood_limited)
{
	uint16_t mport;
	ck_assert_int_eq(harness_pick_port(&mport), 0);
	char maddr[64], rate[16];
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%u", mport);
	snprintf(rate, sizeof(rate), "%d", RATE);
	const char *extra[] = {"--rrl-rate", rate, "--rrl-window", "1", "--rrl-slip", "2",
			       "--metrics", maddr, NULL};
	struct harness_server srv = {0};
	start_or_fail(&srv, extra);

	/* before the flood: the cookie client learns its cookie */
	uint8_t cookie[24];
	learn_cookie(srv.port, "127.0.0.2", cookie);

	int fa = client_socket("127.0.0.1", srv.port); /* flooder, 127.0.0.0/24 */
	int fc = client_socket("127.0.2.1", srv.port); /* flooder, 127.0.2.0/24 */
	int fb = client_socket("127.0.1.1", srv.port); /* light client, 127.0.1.0/24 */
	int fd = client_socket("127.0.0.2", srv.port); /* cookie client, the flooded /24 */
	struct tally ta = {0}, tc = {0}, tb = {0}, td = {0};
	uint8_t q[128], qc[128];
	size_t ql = build_query(q, 1, NULL, 0);
	size_t qcl = build_query(qc, 2, cookie, 24);

	double t0 = now_ms(), next_light = t0;
	for (unsigned i = 0; i < LOOP_MAX && now_ms() - t0 < FLOOD_MS; i++) {
		q[0] = (uint8_t)(i >> 8);
		q[1] = (uint8_t)i;
		if (send(fa, q, ql, 0) == (ssize_t)ql)
			ta.sent++;
		if (send(fc, q, ql, 0) == (ssize_t)ql)
			tc.sent++;
		if (now_ms() >= next_light) {
			/* 10 a second: under the rate for the light client,
			 * over it for the cookie client's /24 (flooded) */
			next_light += 100;
			ck_assert_int_eq(send(fb, q, ql, 0), (ssize_t)ql);
			tb.sent++;
			ck_assert_int_eq(send(fd, qc, qcl, 0), (ssize_t)qcl);
			td.sent++;
		}
		drain(fa, &ta);
		drain(fc, &tc);
		drain(fb, &tb);
		drain(fd, &td);
		usleep(PACE_US);
	}
	double elapsed = now_ms() - t0;
	/* the last replies */
	for (int i = 0; i < 10; i++) {
		usleep(50 * 1000);
		drain(fa, &ta);
		drain(fc, &tc);
		drain(fb, &tb);
		drain(fd, &td);
	}
	fprintf(stderr,
		"%.0f ms: 127.0.0.1 sent %u answered %u slipped %u; 127.0.2.1 sent %u answered %u "
		"slipped %u; 127.0.1.1 sent %u answered %u; cookie client sent %u answered %u\n",
		elapsed, ta.sent, ta.answered, ta.slipped, tc.sent, tc.answered, tc.slipped, tb.sent,
		tb.answered, td.sent, td.answered);
	if (ta.sent < 10 * RATE)
		harness_server_dump_log(&srv, stderr, 0);
	/* Enough sent to be well over the rate (on a loaded machine the
	 * loop may send less than 1,000 a second, but not 5 times less). */
	ck_assert_uint_ge(ta.sent, 10 * RATE);
	/* Each flooded network: the burst (1 s of rate) and RATE a second
	 * for the time it was flooded, within a generous margin. */
	double expect = RATE + RATE * elapsed / 1000.0;
	struct tally *fl[2] = {&ta, &tc};
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(fl[i]->answered >= expect * 0.5 && fl[i]->answered <= expect * 1.6,
			      "flooder %d: %u answered, expected about %.0f", i, fl[i]->answered,
			      expect);
		ck_assert_uint_eq(fl[i]->other, 0);
		/* slip 2: about one limited response in two is slipped */
		unsigned limited = fl[i]->sent - fl[i]->answered;
		ck_assert_msg(fl[i]->slipped >= limited / 4 && fl[i]->slipped <= limited * 3 / 4,
			      "flooder %d: %u slipped of %u limited", i, fl[i]->slipped, limited);
	}
	/* the other network, and the cookie client, get every answer */
	ck_assert_uint_ge(tb.sent, 10);
	ck_assert_uint_eq(tb.answered, tb.sent);
	ck_assert_uint_eq(tb.slipped, 0);
	ck_assert_uint_ge(td.sent, 10);
	ck_assert_uint_eq(td.answered, td.sent);

	/* TCP is never limited: the flooded network asks over TCP */
	for (int i = 0; i < 5; i++) {
		struct harness_query hq = {.qname = "www.example.com.", .qtype = LDNS_RR_TYPE_A,
					   .transport = HARNESS_TCP};
		struct harness_reply r = {0};
		ck_assert_int_eq(harness_query("127.0.0.1", srv.port, &hq, 0, &r), 0);
		ck_assert_ptr_nonnull(r.pkt);
		ck_assert_uint_eq(ldns_pkt_ancount(r.pkt), 2);
		ck_assert(!ldns_pkt_tc(r.pkt));
		harness_reply_free(&r);
	}

	/* the counters */
	char *m = harness_http_get(mport, "/metrics");
	ck_assert_ptr_nonnull(m);
	uint64_t dropped = metric_sum(m, "shoal_rrl_dropped_total");
	uint64_t slipped = metric_sum(m, "shoal_rrl_slipped_total");
	ck_assert_msg(slipped >= ta.slipped + tc.slipped, "metrics slipped %llu",
		      (unsigned long long)slipped);
	ck_assert_msg(dropped + slipped >= (ta.sent - ta.answered) + (tc.sent - tc.answered),
		      "metrics dropped %llu slipped %llu", (unsigned long long)dropped,
		      (unsigned long long)slipped);
	free(m);
	close(fa);
	close(fb);
	close(fc);
	close(fd);
	harness_server_cleanup(&srv);
}
END_TEST

START_TEST(test_off_by_default)
{
	/* The same kind of flood without --rrl-rate: every query answered. */
	struct harness_server srv = {0};
	start_or_fail(&srv, NULL);
	int fa = client_socket("127.0.0.1", srv.port);
	struct tally ta = {0};
	uint8_t q[128];
	size_t ql = build_query(q, 1, NULL, 0);
	for (unsigned i = 0; i < 300; i++) {
		q[1] = (uint8_t)i;
		if (send(fa, q, ql, 0) == (ssize_t)ql)
			ta.sent++;
		drain(fa, &ta);
		usleep(PACE_US);
	}
	for (int i = 0; i < 20 && ta.answered < ta.sent; i++) {
		usleep(50 * 1000);
		drain(fa, &ta);
	}
	ck_assert_uint_eq(ta.sent, 300);
	ck_assert_uint_eq(ta.answered, ta.sent);
	ck_assert_uint_eq(ta.slipped, 0);
	close(fa);
	harness_server_cleanup(&srv);
}
END_TEST

START_TEST(test_bad_flags)
{
	/* out of range: a message naming the flag, exit 2 */
	static const char *const bad[][2] = {
		{"--rrl-rate", "-1"},	     {"--rrl-rate", "100001"}, {"--rrl-window", "0"},
		{"--rrl-ipv4-prefix", "33"}, {"--rrl-ipv6-prefix", "129"},
		{"--rrl-table-size", "2"},   {"--cookie-secret", "abc"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char cmd[PATH_MAX + 256];
		snprintf(cmd, sizeof(cmd), "'%s' --zones '%s' %s %s 2>&1", harness_shoal_bin(),
			 repo_zones(), bad[i][0], bad[i][1]);
		FILE *p = popen(cmd, "r");
		ck_assert_ptr_nonnull(p);
		char out[1024] = {0};
		size_t n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = 0;
		int st = pclose(p);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 2, "%s %s: status %d", bad[i][0],
			      bad[i][1], st);
		ck_assert_msg(strstr(out, bad[i][0]) != NULL, "%s %s: %s", bad[i][0], bad[i][1],
			      out);
	}
}
END_TEST

int main(void)
{
	if (!harness_shoal_bin()) {
		fprintf(stderr, "SHOAL_BIN is not set\n");
		return 1;
	}
	Suite *s = suite_create("rrl");
	TCase *tc = tcase_create("rrl");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_flood_limited);
	tcase_add_test(tc, test_off_by_default);
	tcase_add_test(tc, test_bad_flags);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
