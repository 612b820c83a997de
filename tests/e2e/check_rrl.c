/*
 * check_rrl.c - response rate limiting end to end: the real binary with
 * --rrl-rate, flooded over UDP from loopback addresses in different /24s
 * (127.0.0.1, 127.0.2.1), while a light client in a third /24 (127.0.1.1)
 * and a client with a valid DNS cookie in the flooded /24 (127.0.0.2) are
 * all answered; TCP is never limited; slipped replies have TC=1 and no
 * records; the counters show in the metrics. And without --rrl-rate the
 * same flood is answered in full.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define RATE 20	     /* --rrl-rate */
#define FLOOD_MS 2000 /* how long each flooding client sends */
#define PACE_US 1000 /* about 1,000 queries a second from each flooder */
#define LOOP_MAX 20000

/* A UDP socket bound to `src` (any port), connected to the server. */
static int client_socket(const char *src, uint16_t port)
{
	int fd = harness_udp_client(src, port);
	ck_assert_msg(fd >= 0, "client on %s: %s", src, strerror(-fd));
	return fd;
}

#define QNAME "\3www\7example\3com" /* 17 octets with the root */

/* www.example.com. A, with EDNS and a COOKIE of `cl` octets when cl > 0. */
static size_t build_query(uint8_t *b, uint16_t id, const uint8_t *cookie, size_t cl)
{
	int n = harness_cookie_query(b, 128, id, "www.example.com.", LDNS_RR_TYPE_A, cookie, cl);
	ck_assert_int_gt(n, 0);
	return (size_t)n;
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
	ck_assert(harness_reply_cookie(r, (size_t)n, out));
	ck_assert_mem_eq(out, cc, 8);
	close(fd);
}

START_TEST(test_flood_limited)
{
	char rate[16];
	snprintf(rate, sizeof(rate), "%d", RATE);
	const char *extra[] = {"--rrl-rate", rate, "--rrl-window", "1", "--rrl-slip", "2", NULL};
	struct harness_shoal_opts o = {.zonedir = harness_repo_zones(), .args = extra,
				       .metrics = true};
	struct harness_server srv;
	ck_assert_int_eq(harness_shoal_prepare(&srv), 0);
	ck_assert_int_eq(harness_shoal_launch(&srv, &o), 0);

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

	double t0 = harness_now_ms(), next_light = t0;
	for (unsigned i = 0; i < LOOP_MAX && harness_now_ms() - t0 < FLOOD_MS; i++) {
		q[0] = (uint8_t)(i >> 8);
		q[1] = (uint8_t)i;
		if (send(fa, q, ql, 0) == (ssize_t)ql)
			ta.sent++;
		if (send(fc, q, ql, 0) == (ssize_t)ql)
			tc.sent++;
		if (harness_now_ms() >= next_light) {
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
	double elapsed = harness_now_ms() - t0;
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
		struct harness_reply r;
		ck_assert_int_eq(
		    harness_ask(srv.port, "www.example.com.", LDNS_RR_TYPE_A, HARNESS_TCP, &r), 0);
		ck_assert_uint_eq(ldns_pkt_ancount(r.pkt), 2);
		ck_assert(!ldns_pkt_tc(r.pkt));
		harness_reply_free(&r);
	}

	/* the counters */
	char *m = harness_http_get(srv.metrics_port, "/metrics");
	ck_assert_ptr_nonnull(m);
	unsigned long long dropped = harness_metric_sum(m, "shoal_rrl_dropped_total");
	unsigned long long slipped = harness_metric_sum(m, "shoal_rrl_slipped_total");
	ck_assert_msg(slipped >= ta.slipped + tc.slipped, "metrics slipped %llu", slipped);
	ck_assert_msg(dropped + slipped >= (ta.sent - ta.answered) + (tc.sent - tc.answered),
		      "metrics dropped %llu slipped %llu", dropped, slipped);
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
	struct harness_server srv;
	ck_assert_int_eq(harness_shoal_start(&srv, harness_repo_zones(), NULL), 0);
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
		const char *args[] = {"--zones", harness_repo_zones(), bad[i][0], bad[i][1], NULL};
		struct harness_run r;
		ck_assert_int_eq(harness_run_shoal(args, 0, &r), 0);
		ck_assert_msg(r.exit_code == 2, "%s %s: status %d", bad[i][0], bad[i][1],
			      r.status);
		ck_assert_msg(strstr(r.err, bad[i][0]) != NULL, "%s %s: %s", bad[i][0], bad[i][1],
			      r.err);
		harness_run_free(&r);
	}
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {test_flood_limited, test_off_by_default, test_bad_flags, NULL};
	struct harness_suite s = {.name = "rrl", .timeout_s = 60, .tests = tests};
	return harness_suite_main(&s);
}
