/*
 * check_server.c - the shoal binary end to end: the card's shape (one
 * SO_REUSEPORT UDP socket per thread, all answering), basic answers over
 * UDP, malformed input, and start-up failures (bad flags, unreadable
 * directory, port in use, broken zones).
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
	chmod(path, 0644);
}

static const char *repo_zones(void)
{
	static char path[PATH_MAX];
	ck_assert_int_eq(harness_srcpath(path, sizeof(path), "zones"), 0);
	return path;
}

static void start_or_fail(struct harness_server *srv, const char *zonedir,
			  const char *const *extra)
{
	int rc = harness_shoal_start(srv, zonedir, extra);
	if (rc != 0)
		harness_server_dump_log(srv, stderr, 0);
	ck_assert_msg(rc == 0, "shoal did not start: %s", strerror(-rc));
}

static struct harness_reply ask(uint16_t port, const char *name, ldns_rr_type type,
				enum harness_transport tr)
{
	struct harness_query q = {.qname = name, .qtype = type, .transport = tr, .rd = true};
	struct harness_reply r = {0};
	int rc = harness_query("127.0.0.1", port, &q, 0, &r);
	ck_assert_msg(rc == 0, "%s: no reply: %s", name, strerror(-rc));
	ck_assert_msg(r.pkt != NULL, "%s: reply does not parse", name);
	return r;
}

/* RFC 1034 §4.3.2: an exact match, authoritative; RD echoed, RA never set,
 * the question echoed with the client's letter case. */
START_TEST(test_exact_answer)
{
	struct harness_server srv = {0};
	start_or_fail(&srv, repo_zones(), NULL);
	struct harness_reply r = ask(srv.port, "WwW.ExAmPlE.cOm.", LDNS_RR_TYPE_A, HARNESS_UDP);
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
	r = ask(srv.port, "www.example.org.", LDNS_RR_TYPE_A, HARNESS_UDP);
	ck_assert_int_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_REFUSED);
	ck_assert(!ldns_pkt_aa(r.pkt));
	ck_assert_uint_eq(ldns_pkt_ancount(r.pkt) + ldns_pkt_nscount(r.pkt) + ldns_pkt_arcount(r.pkt), 0);
	harness_reply_free(&r);

	/* NXDOMAIN with the SOA, TTL min(3600, MINIMUM 300) (RFC 2308 §3) */
	r = ask(srv.port, "nonexistent.example.com.", LDNS_RR_TYPE_A, HARNESS_UDP);
	ck_assert_int_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NXDOMAIN);
	ck_assert(ldns_pkt_aa(r.pkt));
	ck_assert_uint_eq(ldns_pkt_nscount(r.pkt), 1);
	ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_authority(r.pkt), 0);
	ck_assert_int_eq(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	ck_assert_uint_eq(ldns_rr_ttl(soa), 300);
	harness_reply_free(&r);

	/* NODATA: NOERROR, empty answer, SOA */
	r = ask(srv.port, "mail.example.com.", LDNS_RR_TYPE_AAAA, HARNESS_UDP);
	ck_assert_int_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(ldns_pkt_ancount(r.pkt), 0);
	ck_assert_uint_eq(ldns_pkt_nscount(r.pkt), 1);
	harness_reply_free(&r);
	harness_server_cleanup(&srv);
}
END_TEST

/* Count UDP sockets bound to 127.0.0.1:port in /proc/net/udp. */
static int count_udp_sockets(uint16_t port)
{
	FILE *f = fopen("/proc/net/udp", "r");
	char line[512];
	char want[32];
	int n = 0;
	snprintf(want, sizeof(want), "0100007F:%04X", port);
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, want) && strstr(line, want) < line + 30)
			n++;
	fclose(f);
	return n;
}

static long metric(const char *text, const char *name)
{
	const char *p = strstr(text, name);
	if (!p)
		return -1;
	return strtol(p + strlen(name), NULL, 10);
}

/* The card's shape: with --threads 4 the port has 4 UDP sockets bound, and
 * the kernel's 4-tuple hash spreads queries from many source ports over all
 * of them (each worker's own counter moves); --steer random would too. */
START_TEST(test_reuseport_shape)
{
	struct harness_server srv = {0};
	uint16_t mport;
	ck_assert_int_eq(harness_pick_port(&mport), 0);
	char maddr[64];
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%u", mport);
	const char *extra[] = {"--threads", "4", "--steer", "hash", "--metrics", maddr, NULL};
	start_or_fail(&srv, repo_zones(), extra);
	ck_assert_int_eq(count_udp_sockets(srv.port), 4);

	/* 256 queries, each from a fresh socket (a new source port) */
	for (int i = 0; i < 256; i++) {
		struct harness_reply r = ask(srv.port, "www.example.com.", LDNS_RR_TYPE_A, HARNESS_UDP);
		ck_assert_int_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
		harness_reply_free(&r);
	}
	char *m = harness_http_get(mport, "/metrics");
	ck_assert_msg(m != NULL, "no metrics");
	for (int w = 0; w < 4; w++) {
		char key[96];
		snprintf(key, sizeof(key), "shoal_queries_total{proto=\"udp\",worker=\"%d\"} ", w);
		long v = metric(m, key);
		/* 256 queries over 4 sockets: each gets 64 on average; a socket
		 * with none would mean the port is not shared. */
		ck_assert_msg(v > 0, "worker %d answered %ld queries\n%s", w, v, m);
	}
	free(m);
	harness_server_cleanup(&srv);
}
END_TEST

/* Malformed input never crashes and gets FORMERR or nothing. */
START_TEST(test_malformed)
{
	struct harness_server srv = {0};
	start_or_fail(&srv, repo_zones(), NULL);
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
	/* NOTIFY (opcode 4): NOTIMP */
	uint8_t notify[sizeof(resp)];
	memcpy(notify, resp, sizeof(resp));
	notify[2] = 4 << 3;
	ck_assert_int_eq(harness_send_raw_udp(NULL, srv.port, notify, sizeof(notify), 0, &rep, &rlen), 0);
	ck_assert_uint_eq(rep[3] & 0x0f, LDNS_RCODE_NOTIMPL);
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
	struct harness_reply r = ask(srv.port, "www.example.com.", LDNS_RR_TYPE_A, HARNESS_UDP);
	ck_assert_int_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	harness_reply_free(&r);
	harness_server_cleanup(&srv);
}
END_TEST

/* Run shoal with args, wait (bounded) for it to exit; returns the exit
 * status and the stderr text in *out. */
static int run_shoal(const char *const *args, char **out)
{
	char dir[PATH_MAX], logp[PATH_MAX + 8];
	ck_assert_int_eq(harness_tmpdir(dir, sizeof(dir), "run"), 0);
	snprintf(logp, sizeof(logp), "%s/log", dir);
	char *argv[32];
	int n = 0;
	argv[n++] = (char *)harness_shoal_bin();
	for (; args[n - 1] && n < 31; n++)
		argv[n] = (char *)args[n - 1];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		FILE *f = freopen(logp, "w", stderr);
		(void)f;
		dup2(2, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	int status = -1;
	for (int i = 0; i < 100; i++) { /* 10 s at most */
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		usleep(100000);
		if (i == 99) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			ck_abort_msg("shoal did not exit");
		}
	}
	FILE *f = fopen(logp, "r");
	char *buf = calloc(1, 8192);
	if (f) {
		size_t got = fread(buf, 1, 8191, f);
		buf[got] = 0;
		fclose(f);
	}
	*out = buf;
	harness_rmtree(dir);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* A query signed with TSIG (RFC 8945) by ldns, with a key shoal cannot
 * know (it holds none): NOTAUTH and an unsigned TSIG with error BADKEY
 * (§5.2.2), over UDP and TCP; the question is echoed, nothing answered. */
START_TEST(test_tsig_badkey)
{
	struct harness_server srv = {0};
	start_or_fail(&srv, repo_zones(), NULL);
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

START_TEST(test_bad_flags)
{
	char *out;
	const char *a1[] = {"--threads", "0", NULL};
	ck_assert_int_eq(run_shoal(a1, &out), 2);
	ck_assert_msg(strstr(out, "--threads") != NULL, "%s", out);
	free(out);
	const char *a2[] = {"--no-such-flag", NULL};
	ck_assert_int_eq(run_shoal(a2, &out), 2);
	ck_assert_msg(strstr(out, "--no-such-flag") != NULL, "%s", out);
	free(out);
	const char *a3[] = {"--listen", "localhost:53:1", NULL};
	ck_assert_int_eq(run_shoal(a3, &out), 2);
	ck_assert_msg(strstr(out, "--listen") != NULL, "%s", out);
	free(out);
	const char *a4[] = {"--zones", "/nonexistent/shoal-zones", "--listen", "127.0.0.1:0", NULL};
	ck_assert_int_ne(run_shoal(a4, &out), 0);
	ck_assert_msg(strstr(out, "/nonexistent/shoal-zones") && strstr(out, "No such file"), "%s", out);
	free(out);
	const char *a5[] = {"--help", NULL};
	ck_assert_int_eq(run_shoal(a5, &out), 0);
	ck_assert_msg(strstr(out, "--zones") && strstr(out, "--listen"), "%s", out);
	free(out);
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
	char listen[64], *out;
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	const char *args[] = {"--zones", repo_zones(), "--listen", listen, NULL};
	ck_assert_int_ne(run_shoal(args, &out), 0);
	ck_assert_msg(strstr(out, listen) && strstr(out, "in use"), "%s", out);
	free(out);
	close(fd);
}
END_TEST

/* A zone with errors is not served; the others are; the log says
 * file:line: reason. */
START_TEST(test_broken_zone_isolated)
{
	char dir[PATH_MAX];
	ck_assert_int_eq(harness_tmpdir(dir, sizeof(dir), "zones"), 0);
	chmod(dir, 0755);
	write_file(dir, "good.test.zone",
		   "$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\n");
	write_file(dir, "bad.test.zone",
		   "$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nwww A 999.0.0.1\n");
	struct harness_server srv = {0};
	/* harness_shoal_start waits for every zone to answer: start by hand */
	ck_assert_int_eq(harness_server_init(&srv, "shoal"), 0);
	ck_assert_int_eq(harness_pick_port(&srv.port), 0);
	char listen[64];
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", srv.port);
	char *argv[] = {(char *)harness_shoal_bin(), "--zones", dir, "--listen", listen,
			"--threads", "1", NULL};
	ck_assert_int_eq(harness_server_spawn(&srv, argv), 0);
	srv.zones = calloc(2, sizeof(char *));
	srv.zones[0] = strdup("good.test.");
	ck_assert_int_eq(harness_server_wait_ready(&srv, HARNESS_READY_TIMEOUT_MS), 0);
	struct harness_reply r = ask(srv.port, "www.bad.test.", LDNS_RR_TYPE_A, HARNESS_UDP);
	ck_assert_int_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_REFUSED);
	harness_reply_free(&r);
	r = ask(srv.port, "www.good.test.", LDNS_RR_TYPE_A, HARNESS_UDP);
	ck_assert_int_eq(ldns_pkt_get_rcode(r.pkt), LDNS_RCODE_NOERROR);
	harness_reply_free(&r);
	char *log = harness_server_log_tail(&srv, 0);
	char want[PATH_MAX + 32];
	snprintf(want, sizeof(want), "%s/bad.test.zone:4: ", dir);
	ck_assert_msg(strstr(log, want) != NULL, "want '%s' in log:\n%s", want, log);
	ck_assert_msg(strstr(log, "not served") != NULL, "%s", log);
	free(log);
	harness_server_cleanup(&srv);
	harness_rmtree(dir);
}
END_TEST

int main(void)
{
	if (!harness_shoal_bin()) {
		fprintf(stderr, "SHOAL_BIN is not set\n");
		return 1;
	}
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("server");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_exact_answer);
	tcase_add_test(tc, test_reuseport_shape);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_tsig_badkey);
	tcase_add_test(tc, test_bad_flags);
	tcase_add_test(tc, test_port_in_use);
	tcase_add_test(tc, test_broken_zone_isolated);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
