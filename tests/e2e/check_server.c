/*
 * check_server.c - the shoal binary end to end: the card's shape (one
 * SO_REUSEPORT UDP socket per thread, all answering), basic answers over
 * UDP, malformed input, and start-up failures (bad flags, unreadable
 * directory, port in use, broken zones).
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* Ask with RD set, as a stub resolver would: the answers never depend on
 * it, and the first test checks that it is echoed. */
static struct harness_reply ask(uint16_t port, const char *name, ldns_rr_type type)
{
	struct harness_query q = {.qname = name, .qtype = type, .rd = true};
	struct harness_reply r = {0};
	int rc = harness_query(NULL, port, &q, 0, &r);
	ck_assert_msg(rc == 0, "%s: no reply: %s", name, strerror(-rc));
	ck_assert_msg(r.pkt != NULL, "%s: reply does not parse", name);
	return r;
}

/* RFC 1034 §4.3.2: an exact match, authoritative; RD echoed, RA never set,
 * the question echoed with the client's letter case. */
START_TEST(test_exact_answer)
{
	struct harness_server srv;
	ck_assert_int_eq(harness_shoal_start(&srv, harness_repo_zones(), NULL), 0);
	struct harness_reply r = ask(srv.port, "WwW.ExAmPlE.cOm.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	ck_assert(ldns_pkt_aa(r.pkt));
	ck_assert(ldns_pkt_rd(r.pkt));
	ck_assert(!ldns_pkt_ra(r.pkt));
	ck_assert(ldns_pkt_qr(r.pkt));
	ck_assert_uint_eq(ldns_pkt_ancount(r.pkt), 2);
	ck_assert_uint_eq(ldns_pkt_nscount(r.pkt), 0);
	/* the question section is byte for byte the query's */
	ck_assert_mem_eq(r.wire + 12, r.query_wire + 12, r.query_len - 12);
	ldns_rr *a = ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0);
	char *owner = ldns_rdf2str(ldns_rr_owner(a));
	ck_assert_str_eq(owner, "WwW.ExAmPlE.cOm.");
	free(owner);
	harness_reply_free(&r);

	/* a name in no zone we serve: REFUSED, nothing else */
	r = ask(srv.port, "www.example.org.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_REFUSED);
	ck_assert(!ldns_pkt_aa(r.pkt));
	ck_assert_uint_eq(ldns_pkt_ancount(r.pkt) + ldns_pkt_nscount(r.pkt) + ldns_pkt_arcount(r.pkt), 0);
	harness_reply_free(&r);

	/* NXDOMAIN with the SOA, TTL min(3600, MINIMUM 300) (RFC 2308 §3) */
	r = ask(srv.port, "nonexistent.example.com.", LDNS_RR_TYPE_A);
	ck_assert_int_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NXDOMAIN);
	ck_assert(ldns_pkt_aa(r.pkt));
	ck_assert_uint_eq(ldns_pkt_nscount(r.pkt), 1);
	ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_authority(r.pkt), 0);
	ck_assert_int_eq(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	ck_assert_uint_eq(ldns_rr_ttl(soa), 300);
	harness_reply_free(&r);

	/* NODATA: NOERROR, empty answer, SOA */
	r = ask(srv.port, "mail.example.com.", LDNS_RR_TYPE_AAAA);
	ck_assert_int_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(ldns_pkt_ancount(r.pkt), 0);
	ck_assert_uint_eq(ldns_pkt_nscount(r.pkt), 1);
	harness_reply_free(&r);
	harness_server_cleanup(&srv);
}
END_TEST

/* The card's shape: with --threads 4 the port has 4 UDP sockets bound, and
 * the kernel's 4-tuple hash spreads queries from many source ports over all
 * of them (each worker's own counter moves); --steer random would too. */
START_TEST(test_reuseport_shape)
{
	struct harness_server srv;
	const char *extra[] = {"--threads", "4", "--steer", "hash", NULL};
	struct harness_shoal_opts o = {.zonedir = harness_repo_zones(), .args = extra,
				       .metrics = true};
	ck_assert_int_eq(harness_shoal_prepare(&srv), 0);
	ck_assert_int_eq(harness_shoal_launch(&srv, &o), 0);
	ck_assert_int_eq(harness_udp_sockets(srv.port), 4);

	/* 256 queries, each from a fresh socket (a new source port) */
	for (int i = 0; i < 256; i++)
		ck_assert_int_eq(harness_ask_rcode(srv.port, "www.example.com.", LDNS_RR_TYPE_A,
						   HARNESS_UDP),
				 LDNS_RCODE_NOERROR);
	char *m = harness_http_get(srv.metrics_port, "/metrics");
	ck_assert_msg(m != NULL, "no metrics");
	for (int w = 0; w < 4; w++) {
		char key[96];
		snprintf(key, sizeof(key), "shoal_queries_total{proto=\"udp\",worker=\"%d\"}", w);
		long long v = harness_metric(m, key);
		/* 256 queries over 4 sockets: each gets 64 on average; a socket
		 * with none would mean the port is not shared. */
		ck_assert_msg(v > 0, "worker %d answered %lld queries\n%s", w, v, m);
	}
	free(m);
	harness_server_cleanup(&srv);
}
END_TEST

/* Malformed input never crashes and gets FORMERR or nothing. */
START_TEST(test_malformed)
{
	struct harness_server srv;
	ck_assert_int_eq(harness_shoal_start(&srv, harness_repo_zones(), NULL), 0);
	uint8_t *rep = NULL;
	size_t rlen = 0;
	/* shorter than a header: dropped */
	ck_assert_int_eq(harness_send_raw_udp(NULL, srv.port, (const uint8_t *)"\x12\x34\x00", 3,
					      300, &rep, &rlen), -ETIMEDOUT);
	/* a response (QR=1) is never answered (no reflection loops) */
	static const uint8_t resp[] = {0x12, 0x34, 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0,
				       3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e',
				       3, 'c', 'o', 'm', 0, 0, 1, 0, 1};
	ck_assert_int_eq(harness_send_raw_udp(NULL, srv.port, resp, sizeof(resp), 300, &rep, &rlen),
			 -ETIMEDOUT);
	/* a question cut short: FORMERR */
	static const uint8_t cut[] = {0x12, 0x35, 0x00, 0, 0, 1, 0, 0, 0, 0, 0, 0,
				      3, 'w', 'w', 'w', 7, 'e', 'x'};
	ck_assert_int_eq(harness_send_raw_udp(NULL, srv.port, cut, sizeof(cut), 0, &rep, &rlen), 0);
	ck_assert_uint_ge(rlen, 12);
	ck_assert_uint_eq(rep[3] & 0x0f, LDNS_RCODE_FORMERR);
	ck_assert(rep[2] & 0x80);
	free(rep);
	/* NOTIFY (opcode 4, RFC 1996): its question must be a zone's SOA
	 * (FORMERR for www A); for a zone served from its own file (no
	 * secondary zone here) REFUSED, for a name in none NOTAUTH */
	uint8_t notify[sizeof(resp)];
	memcpy(notify, resp, sizeof(resp));
	notify[2] = 4 << 3;
	ck_assert_int_eq(harness_send_raw_udp(NULL, srv.port, notify, sizeof(notify), 0, &rep, &rlen), 0);
	ck_assert_uint_eq(rep[3] & 0x0f, LDNS_RCODE_FORMERR);
	ck_assert_uint_eq((rep[2] >> 3) & 0x0f, 4);
	free(rep);
	static const uint8_t zsoa[] = {0x12, 0x36, 4 << 3, 0, 0, 1, 0, 0, 0, 0, 0, 0,
				       7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
				       0, 6, 0, 1};
	ck_assert_int_eq(harness_send_raw_udp(NULL, srv.port, zsoa, sizeof(zsoa), 0, &rep, &rlen), 0);
	ck_assert_uint_eq(rep[3] & 0x0f, LDNS_RCODE_REFUSED);
	free(rep);
	static const uint8_t nsoa[] = {0x12, 0x37, 4 << 3, 0, 0, 1, 0, 0, 0, 0, 0, 0,
				       7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
				       0, 6, 0, 1};
	ck_assert_int_eq(harness_send_raw_udp(NULL, srv.port, nsoa, sizeof(nsoa), 0, &rep, &rlen), 0);
	ck_assert_uint_eq(rep[3] & 0x0f, LDNS_RCODE_NOTAUTH);
	free(rep);
	/* garbage: whatever comes back is a response or nothing; the server lives */
	srand(7);
	for (int i = 0; i < 500; i++) {
		uint8_t junk[64];
		size_t jl = (size_t)(rand() % (int)sizeof(junk));
		for (size_t k = 0; k < jl; k++)
			junk[k] = (uint8_t)rand();
		rep = NULL;
		if (harness_send_raw_udp(NULL, srv.port, junk, jl, 20, &rep, &rlen) == 0) {
			ck_assert_uint_ge(rlen, 12);
			ck_assert(rep[2] & 0x80);
			free(rep);
		}
	}
	ck_assert(harness_server_running(&srv));
	ck_assert_int_eq(harness_ask_rcode(srv.port, "www.example.com.", LDNS_RR_TYPE_A, HARNESS_UDP),
			 LDNS_RCODE_NOERROR);
	harness_server_cleanup(&srv);
}
END_TEST

/* A query signed with TSIG (RFC 8945) by ldns, with a key shoal cannot
 * know (it holds none): NOTAUTH and an unsigned TSIG with error BADKEY
 * (§5.2.2), over UDP and TCP; the question is echoed, nothing answered. */
START_TEST(test_tsig_badkey)
{
	struct harness_server srv;
	ck_assert_int_eq(harness_shoal_start(&srv, harness_repo_zones(), NULL), 0);
	for (int t = 0; t < 2; t++) {
		enum harness_transport tr = t ? HARNESS_TCP : HARNESS_UDP;
		ldns_pkt *qp = NULL;
		ck_assert_int_eq(ldns_pkt_query_new_frm_str(&qp, "www.example.com.", LDNS_RR_TYPE_A,
							    LDNS_RR_CLASS_IN, 0),
				 LDNS_STATUS_OK);
		ldns_pkt_set_id(qp, (uint16_t)(0x5150 + t));
		ck_assert_int_eq(ldns_pkt_tsig_sign(qp, "xfr-key.", "c2VjcmV0c2VjcmV0", 300,
						    "hmac-sha256.", NULL),
				 LDNS_STATUS_OK);
		uint8_t *wire = NULL, *rep = NULL;
		size_t wlen = 0, rlen = 0;
		ck_assert_int_eq(ldns_pkt2wire(&wire, qp, &wlen), LDNS_STATUS_OK);
		ck_assert_int_eq(harness_send_raw(NULL, srv.port, tr, wire, wlen, 2000, &rep, &rlen),
				 0);
		ldns_pkt *rp = NULL;
		ck_assert_int_eq(ldns_wire2pkt(&rp, rep, rlen), LDNS_STATUS_OK);
		ck_assert_int_eq(ldns_pkt_get_rcode(rp), LDNS_RCODE_NOTAUTH);
		ck_assert_uint_eq(ldns_pkt_id(rp), 0x5150 + t);
		ck_assert(!ldns_pkt_aa(rp));
		ck_assert_uint_eq(ldns_pkt_qdcount(rp), 1);
		ck_assert_uint_eq(ldns_pkt_ancount(rp) + ldns_pkt_nscount(rp), 0);
		ldns_rr *ts = ldns_pkt_tsig(rp);
		ck_assert_ptr_nonnull(ts);
		char *owner = ldns_rdf2str(ldns_rr_owner(ts));
		ck_assert_str_eq(owner, "xfr-key.");
		free(owner);
		ck_assert_uint_eq(ldns_rdf2native_int16(ldns_rr_rdf(ts, 4)), 0x5150 + t);
		ck_assert_uint_eq(ldns_rdf2native_int16(ldns_rr_rdf(ts, 5)), 17); /* BADKEY */
		ldns_pkt_free(rp);
		ldns_pkt_free(qp);
		free(wire);
		free(rep);
	}
	harness_server_cleanup(&srv);
}
END_TEST

/* Bad flags: exit 2 and a message naming the flag; a missing zone
 * directory: an error naming it; --help: exit 0 and the flags. */
START_TEST(test_bad_flags)
{
	static const struct {
		const char *args[6];
		int exit_code;	  /* -1: anything but 0 */
		const char *says[2]; /* in stderr, or stdout for --help */
	} runs[] = {
		{{"--threads", "0"}, 2, {"--threads"}},
		{{"--no-such-flag"}, 2, {"--no-such-flag"}},
		{{"--listen", "localhost:53:1"}, 2, {"--listen"}},
		{{"--zones", "/nonexistent/shoal-zones", "--listen", "127.0.0.1:0"},
		 -1,
		 {"/nonexistent/shoal-zones", "No such file"}},
		{{"--help"}, 0, {"--zones", "--listen"}},
	};
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		struct harness_run r;
		ck_assert_int_eq(harness_run_shoal(runs[i].args, 0, &r), 0);
		if (runs[i].exit_code < 0)
			ck_assert_int_ne(r.exit_code, 0);
		else
			ck_assert_int_eq(r.exit_code, runs[i].exit_code);
		const char *text = runs[i].exit_code == 0 ? r.out : r.err;
		for (int k = 0; k < 2 && runs[i].says[k]; k++)
			ck_assert_msg(strstr(text, runs[i].says[k]) != NULL, "%s %s: want '%s' in:\n%s",
				      runs[i].args[0], runs[i].args[1] ? runs[i].args[1] : "",
				      runs[i].says[k], text);
		harness_run_free(&r);
	}
}
END_TEST

/* A port someone else holds (even with SO_REUSEPORT, as another shoal
 * would) is an error naming the address, not a silent share. */
START_TEST(test_port_in_use)
{
	uint16_t port;
	ck_assert_int_eq(harness_pick_port(&port), 0);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	char listen[64];
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	const char *args[] = {"--zones", harness_repo_zones(), "--listen", listen, NULL};
	struct harness_run r;
	ck_assert_int_eq(harness_run_shoal(args, 0, &r), 0);
	ck_assert_int_ne(r.exit_code, 0);
	ck_assert_msg(strstr(r.err, listen) && strstr(r.err, "in use"), "%s", r.err);
	harness_run_free(&r);
	close(fd);
}
END_TEST

/* A zone with errors is not served; the others are; the log says
 * file:line: reason. */
START_TEST(test_broken_zone_isolated)
{
	struct harness_server srv;
	ck_assert_int_eq(harness_shoal_prepare(&srv), 0);
	ck_assert_int_eq(harness_write_file(srv.zonedir, "good.test.zone",
					    "$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n"
					    "www A 192.0.2.2\n"),
			 0);
	ck_assert_int_eq(harness_write_file(srv.zonedir, "bad.test.zone",
					    "$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n"
					    "www A 999.0.0.1\n"),
			 0);
	/* only the good zone will answer: wait for it alone */
	const char *args[] = {"--threads", "1", NULL}, *ready[] = {"good.test.", NULL};
	struct harness_shoal_opts o = {.args = args, .ready = ready};
	ck_assert_int_eq(harness_shoal_launch(&srv, &o), 0);
	ck_assert_int_eq(harness_ask_rcode(srv.port, "www.bad.test.", LDNS_RR_TYPE_A, HARNESS_UDP),
			 LDNS_RCODE_REFUSED);
	ck_assert_int_eq(harness_ask_rcode(srv.port, "www.good.test.", LDNS_RR_TYPE_A, HARNESS_UDP),
			 LDNS_RCODE_NOERROR);
	char want[PATH_MAX + 32];
	snprintf(want, sizeof(want), "%s/bad.test.zone:4: ", srv.zonedir);
	ck_assert_int_eq(harness_server_wait_log(&srv, want, 1, 0), 0);
	ck_assert_int_eq(harness_server_wait_log(&srv, "not served", 1, 0), 0);
	harness_server_cleanup(&srv);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {test_exact_answer, test_reuseport_shape, test_malformed,
				      test_tsig_badkey,	 test_bad_flags,       test_port_in_use,
				      test_broken_zone_isolated, NULL};
	struct harness_suite s = {.name = "server", .timeout_s = 60, .tests = tests};
	return harness_suite_main(&s);
}
