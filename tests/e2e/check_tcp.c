/*
 * check_tcp.c - DNS over TCP (RFC 1035 §4.2.2, RFC 7766) and EDNS/truncation
 * end to end: the same answers as UDP, large answers whole over TCP and
 * truncated over UDP, pipelining, a stalled half-query that holds no one
 * up, 500 idle connections, idle timeout, bad framing.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct harness_server srv;

/* A zone with an RRset too big for 512 octets and for 1232, plus data
 * for the usual cases. */
static void setup(void)
{
	char *zone = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&zone, &len);
	ck_assert(f != NULL);
	fprintf(f, "$TTL 300\n@ SOA ns h 1 7200 3600 1209600 60\n@ NS ns\nns A 192.0.2.1\n"
		   "www A 192.0.2.2\n");
	for (int i = 0; i < 60; i++)
		fprintf(f, "big TXT \"record %02d: padding padding padding padding padding padding\"\n", i);
	for (int i = 0; i < 20; i++)
		fprintf(f, "mid TXT \"record %02d: padding padding padding\"\n", i);
	fclose(f);
	ck_assert_int_eq(harness_shoal_prepare(&srv), 0);
	ck_assert_int_eq(harness_write_file(srv.zonedir, "tcp.test.zone", zone), 0);
	free(zone);
	const char *extra[] = {"--tcp-idle-timeout", "2", "--threads", "2", NULL};
	struct harness_shoal_opts o = {.args = extra};
	ck_assert_int_eq(harness_shoal_launch(&srv, &o), 0);
}

static void teardown(void)
{
	harness_server_cleanup(&srv);
}

static struct harness_reply ask(const char *name, ldns_rr_type type, enum harness_transport tr,
				bool edns, uint16_t size)
{
	struct harness_query q = {.qname = name, .qtype = type, .transport = tr, .edns = edns,
				  .edns_size = size};
	struct harness_reply r = {0};
	int rc = harness_query(NULL, srv.port, &q, 0, &r);
	ck_assert_msg(rc == 0, "%s: %s", name, strerror(-rc));
	ck_assert(r.pkt != NULL);
	return r;
}

START_TEST(test_tcp_same_as_udp)
{
	struct harness_reply u = ask("www.tcp.test.", LDNS_RR_TYPE_A, HARNESS_UDP, false, 0);
	struct harness_reply t = ask("www.tcp.test.", LDNS_RR_TYPE_A, HARNESS_TCP, false, 0);
	ck_assert_int_eq(ldns_pkt_get_rcode(t.pkt), LDNS_RCODE_NOERROR);
	ck_assert(ldns_pkt_aa(t.pkt));
	ck_assert_uint_eq(u.wire_len, t.wire_len);
	/* identical but for the ID */
	ck_assert_mem_eq(u.wire + 2, t.wire + 2, u.wire_len - 2);
	harness_reply_free(&u);
	harness_reply_free(&t);
}
END_TEST

/* RFC 2181 §9 and RFC 6891: a UDP answer that does not fit gets TC=1 with
 * whole RRsets only; over TCP the same answer is complete. */
START_TEST(test_truncation)
{
	/* 60 TXT records, about 4 KB: too big for 512 and for 1232 */
	struct harness_reply r = ask("big.tcp.test.", LDNS_RR_TYPE_TXT, HARNESS_UDP, false, 0);
	ck_assert(ldns_pkt_tc(r.pkt));
	ck_assert_uint_le(r.wire_len, 512);
	ck_assert_uint_eq(ldns_pkt_ancount(r.pkt), 0); /* never a partial RRset */
	harness_reply_free(&r);
	r = ask("big.tcp.test.", LDNS_RR_TYPE_TXT, HARNESS_UDP, true, 4096);
	ck_assert(ldns_pkt_tc(r.pkt));
	ck_assert_uint_le(r.wire_len, 1232); /* min(client 4096, ours 1232) */
	ck_assert(ldns_pkt_edns(r.pkt));
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(r.pkt), 1232);
	harness_reply_free(&r);
	r = ask("big.tcp.test.", LDNS_RR_TYPE_TXT, HARNESS_TCP, false, 0);
	ck_assert(!ldns_pkt_tc(r.pkt));
	ck_assert_uint_eq(ldns_pkt_ancount(r.pkt), 60);
	harness_reply_free(&r);
	/* 20 TXT, ~900 octets: truncated without EDNS, whole with 1232 */
	r = ask("mid.tcp.test.", LDNS_RR_TYPE_TXT, HARNESS_UDP, false, 0);
	ck_assert(ldns_pkt_tc(r.pkt));
	harness_reply_free(&r);
	r = ask("mid.tcp.test.", LDNS_RR_TYPE_TXT, HARNESS_UDP, true, 1232);
	ck_assert(!ldns_pkt_tc(r.pkt));
	ck_assert_uint_eq(ldns_pkt_ancount(r.pkt), 20);
	harness_reply_free(&r);
	/* an EDNS size under 512 means 512 (RFC 6891 §6.2.5) */
	r = ask("mid.tcp.test.", LDNS_RR_TYPE_TXT, HARNESS_UDP, true, 100);
	ck_assert(ldns_pkt_tc(r.pkt));
	ck_assert_uint_le(r.wire_len, 512);
	ck_assert_uint_gt(r.wire_len, 12);
	harness_reply_free(&r);
}
END_TEST

static int tcp_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(srv.port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	struct timeval tv = {.tv_sec = 3};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* The query behind its 2-octet length (RFC 1035 §4.2.2), into out. */
static size_t frame_query(uint8_t *out, uint16_t id, const char *name, ldns_rr_type type)
{
	struct harness_query q = {.qname = name, .qtype = type};
	uint8_t *w;
	size_t len;
	ck_assert_int_eq(harness_query_wire(&q, id, &w, &len), 0);
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
	memcpy(out + 2, w, len);
	free(w);
	return len + 2;
}

/* Read one length-prefixed message; returns its length or -1. */
static int read_msg(int fd, uint8_t *buf, size_t cap)
{
	uint8_t hdr[2];
	size_t got = 0;
	while (got < 2) {
		ssize_t n = read(fd, hdr + got, 2 - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	size_t len = (size_t)(hdr[0] << 8 | hdr[1]);
	if (len > cap)
		return -1;
	got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return (int)len;
}

/* RFC 7766 §6.2.1.1: several queries in one segment, all answered. */
START_TEST(test_pipelining)
{
	int fd = tcp_connect();
	ck_assert_int_ge(fd, 0);
	uint8_t out[16 * 300];
	size_t len = 0;
	for (int i = 0; i < 16; i++)
		len += frame_query(out + len, (uint16_t)(100 + i), i % 2 ? "www.tcp.test." : "nx.tcp.test.",
				   LDNS_RR_TYPE_A);
	ck_assert_int_eq(write(fd, out, len), (ssize_t)len);
	bool seen[16] = {0};
	uint8_t msg[65535];
	for (int i = 0; i < 16; i++) {
		int n = read_msg(fd, msg, sizeof(msg));
		ck_assert_int_ge(n, 12);
		unsigned id = (unsigned)(msg[0] << 8 | msg[1]);
		ck_assert_uint_ge(id, 100);
		ck_assert_uint_lt(id, 116);
		seen[id - 100] = true;
		ck_assert_uint_eq(msg[3] & 0xf, (id - 100) % 2 ? 0 : 3);
	}
	for (int i = 0; i < 16; i++)
		ck_assert(seen[i]);
	close(fd);
}
END_TEST

/* A client that sends half a query and stalls holds no one up; it is
 * closed after the idle timeout (2 s here). */
START_TEST(test_stalled_client)
{
	int fd = tcp_connect();
	ck_assert_int_ge(fd, 0);
	uint8_t q[300];
	size_t len = frame_query(q, 7, "www.tcp.test.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(write(fd, q, len / 2), (ssize_t)(len / 2));
	/* others are served meanwhile, over TCP and UDP */
	for (int i = 0; i < 20; i++) {
		struct harness_reply r = ask("www.tcp.test.", LDNS_RR_TYPE_A, i % 2 ? HARNESS_TCP : HARNESS_UDP,
					     false, 0);
		ck_assert_msg(r.elapsed_ms < 500, "slow answer: %.1f ms", r.elapsed_ms);
		harness_reply_free(&r);
	}
	/* the stalled one is closed by the server: read returns 0 within ~2 s */
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, 5000), 1);
	uint8_t b;
	ck_assert_int_eq(read(fd, &b, 1), 0);
	close(fd);
}
END_TEST

/* 500 idle connections while UDP and new TCP clients are still answered. */
START_TEST(test_many_idle)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 600 && rl.rlim_max >= 600) {
		rl.rlim_cur = 600;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	static int fds[500];
	for (int i = 0; i < 500; i++) {
		fds[i] = tcp_connect();
		ck_assert_msg(fds[i] >= 0, "connection %d: %s", i, strerror(errno));
	}
	for (int i = 0; i < 10; i++) {
		struct harness_reply r = ask("www.tcp.test.", LDNS_RR_TYPE_A, i % 2 ? HARNESS_TCP : HARNESS_UDP,
					     false, 0);
		ck_assert_int_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
		harness_reply_free(&r);
	}
	/* and the idle ones still work */
	uint8_t q[300], msg[65535];
	size_t len = frame_query(q, 9, "www.tcp.test.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(write(fds[250], q, len), (ssize_t)len);
	ck_assert_int_ge(read_msg(fds[250], msg, sizeof(msg)), 12);
	for (int i = 0; i < 500; i++)
		close(fds[i]);
}
END_TEST

/* A length prefix shorter than a DNS header is bad framing: that
 * connection is closed, the others go on. */
START_TEST(test_bad_framing)
{
	int good = tcp_connect(), bad = tcp_connect();
	ck_assert_int_ge(good, 0);
	ck_assert_int_ge(bad, 0);
	static const uint8_t junk[] = {0, 3, 1, 2, 3};
	ck_assert_int_eq(write(bad, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	struct pollfd p = {.fd = bad, .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, 3000), 1);
	uint8_t b;
	ck_assert_int_le(read(bad, &b, 1), 0);
	uint8_t q[300], msg[65535];
	size_t len = frame_query(q, 11, "www.tcp.test.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(write(good, q, len), (ssize_t)len);
	ck_assert_int_ge(read_msg(good, msg, sizeof(msg)), 12);
	close(good);
	close(bad);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {test_tcp_same_as_udp, test_truncation, test_pipelining,
				      test_stalled_client,  test_many_idle,  test_bad_framing,
				      NULL};
	struct harness_suite s = {.name = "tcp", .timeout_s = 60, .setup = setup,
				  .teardown = teardown, .tests = tests};
	return harness_suite_main(&s);
}
