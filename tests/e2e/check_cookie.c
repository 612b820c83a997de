/*
 * check_cookie.c - DNS cookies (RFC 7873, RFC 9018) end to end: `dig
 * +cookie` learns a server cookie and is answered with it; with a known
 * --cookie-secret every cookie the server hands out is the RFC 9018 one
 * computed here independently (libsodium's SipHash-2-4), young valid
 * cookies are echoed, old ones renewed, forged ones replaced, malformed
 * ones FORMERR, over UDP and TCP, also asked for with no question (RFC
 * 7873 §5.4: BADCOOKIE for a forged one); Knot's mod-cookies with the same secret
 * makes the same cookies; --cookie-secret-file is re-read on
 * SIGHUP and the previous secret keeps its clients exempt from RRL.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static void start_or_fail(struct harness_server *srv, const char *const *extra)
{
	ck_assert_int_eq(harness_shoal_start(srv, harness_repo_zones(), extra), 0);
}

/* Run dig with args; it must succeed. \return its stdout (free() it). */
static char *dig(const char *const args[])
{
	struct harness_run r;
	ck_assert_int_eq(harness_run(args, 0, &r), 0);
	ck_assert_msg(r.exit_code == 0, "dig: status %d\n%s%s", r.status, r.out, r.err);
	char *out = r.out;
	r.out = NULL;
	harness_run_free(&r);
	return out;
}

static const char *dig_path(void)
{
	static const char *const c[] = {"/usr/bin/dig", "/usr/local/bin/dig", NULL};
	for (int i = 0; c[i]; i++)
		if (access(c[i], X_OK) == 0)
			return c[i];
	return NULL;
}

START_TEST(test_dig_cookie)
{
	const char *digp = dig_path();
	ck_assert_msg(digp != NULL, "dig is not installed (scripts/deps installs bind9-dnsutils)");
	struct harness_server srv;
	start_or_fail(&srv, NULL);
	char port[16], cookie[128], opt[160];
	snprintf(port, sizeof(port), "%u", srv.port);
	const char *a1[] = {digp,	   "@127.0.0.1", "-p",		    port, "+cookie", "+norec",
			    "+time=2", "+tries=1",   "www.example.com", "A",	NULL};
	char *out = dig(a1);
	const char *c = strstr(out, "; COOKIE: ");
	ck_assert_msg(c != NULL, "no COOKIE in:\n%s", out);
	ck_assert_int_eq(sscanf(c, "; COOKIE: %127[0-9a-f]", cookie), 1);
	/* 8 octets of client cookie, 16 of server cookie: Version 1,
	 * Reserved 0, a timestamp of now (RFC 9018 §4) */
	ck_assert_uint_eq(strlen(cookie), 48);
	ck_assert_msg(strncmp(cookie + 16, "01000000", 8) == 0, "%s", cookie);
	unsigned long ts = strtoul((char[9]){cookie[24], cookie[25], cookie[26], cookie[27],
					     cookie[28], cookie[29], cookie[30], cookie[31], 0},
				   NULL, 16);
	long skew = (long)ts - (long)time(NULL);
	ck_assert_msg(skew > -60 && skew < 60, "timestamp %lu", ts);
	ck_assert_msg(strstr(c, "(good)") != NULL, "dig did not see its client cookie: %s", out);
	ck_assert(strstr(out, "status: NOERROR") != NULL);
	free(out);

	/* the second query with the returned cookie: answered, and the
	 * same cookie back (young: RFC 9018 §4.3) */
	snprintf(opt, sizeof(opt), "+cookie=%s", cookie);
	const char *a2[] = {digp,	   "@127.0.0.1", "-p",		    port, opt, "+norec",
			    "+time=2", "+tries=1",   "www.example.com", "A",  NULL};
	out = dig(a2);
	ck_assert_msg(strstr(out, "status: NOERROR") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "ANSWER: 2") != NULL, "%s", out);
	c = strstr(out, "; COOKIE: ");
	ck_assert_ptr_nonnull(c);
	ck_assert_msg(strncmp(c + 10, cookie, 48) == 0, "%s", out);
	ck_assert(strstr(c, "(good)") != NULL);
	free(out);
	harness_server_cleanup(&srv);
}
END_TEST

/* ---- raw queries with known secrets ---- */

static const uint8_t CLIENT[8] = {0xc0, 0x01, 0xc0, 0x02, 0xc0, 0x03, 0xc0, 0x04};

/* RFC 9018 §4.4, computed here with libsodium directly, for 127.0.0.1. */
static void make(uint8_t out[24], const uint8_t secret[16], uint32_t ts)
{
	uint8_t in[20];
	memcpy(out, CLIENT, 8);
	out[8] = 1;
	out[9] = out[10] = out[11] = 0;
	out[12] = (uint8_t)(ts >> 24);
	out[13] = (uint8_t)(ts >> 16);
	out[14] = (uint8_t)(ts >> 8);
	out[15] = (uint8_t)ts;
	memcpy(in, out, 16);
	inet_pton(AF_INET, "127.0.0.1", in + 16);
	crypto_shorthash_siphash24(out + 16, in, sizeof(in), secret);
}

static uint32_t ts_of(const uint8_t c[24])
{
	return (uint32_t)c[12] << 24 | (uint32_t)c[13] << 16 | (uint32_t)c[14] << 8 | c[15];
}

/* Ask www.example.com. A with a COOKIE of cl octets; the reply's rcode
 * and cookie (24 octets, zeroed if none). \return 0 or -ETIMEDOUT */
static int ask(uint16_t port, enum harness_transport tr, const uint8_t *cookie, size_t cl,
	       int timeout_ms, unsigned *rcode, uint8_t got[24])
{
	uint8_t q[128], *r = NULL;
	int ql = harness_cookie_query(q, sizeof(q), 0x1234, "www.example.com.", LDNS_RR_TYPE_A,
				      cookie, cl);
	ck_assert_int_gt(ql, 0);
	size_t rl = 0;
	memset(got, 0, 24);
	int rc = harness_send_raw(NULL, port, tr, q, (size_t)ql, timeout_ms, &r, &rl);
	if (rc < 0)
		return rc;
	ck_assert_uint_ge(rl, 12);
	*rcode = r[3] & 0x0f;
	harness_reply_cookie(r, rl, got);
	free(r);
	return 0;
}

/* RFC 7873 §5.4: no question, only an OPT with a COOKIE of cl octets; the
 * reply's full rcode (the OPT's extended bits included), QDCOUNT and
 * cookie (zeroed if none). \return 0 or -ETIMEDOUT */
static int ask_cookie_only(uint16_t port, enum harness_transport tr, const uint8_t *cookie,
			   size_t cl, unsigned *rcode, unsigned *qdcount, uint8_t got[24])
{
	uint8_t q[64], *r = NULL;
	int ql = harness_cookie_query(q, sizeof(q), 0x4321, NULL, 0, cookie, cl);
	ck_assert_int_gt(ql, 0);
	size_t rl = 0;
	memset(got, 0, 24);
	int rc = harness_send_raw(NULL, port, tr, q, (size_t)ql, 2000, &r, &rl);
	if (rc < 0)
		return rc;
	ck_assert_uint_ge(rl, 12);
	ck_assert_mem_eq(r, "\x43\x21", 2);
	*rcode = r[3] & 0x0f;
	*qdcount = (unsigned)(r[4] << 8 | r[5]);
	/* the OPT, when there is one, is the only record: right after the header */
	if (rl >= 23 && r[11] == 1 && r[13] == 0 && r[14] == 41)
		*rcode |= (unsigned)r[17] << 4;
	harness_reply_cookie(r, rl, got);
	free(r);
	return 0;
}

static void hexs(const char *h, uint8_t out[16])
{
	for (int i = 0; i < 16; i++) {
		unsigned v;
		ck_assert_int_eq(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

#define S1 "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
#define S2 "00112233445566778899aabbccddeeff"
#define S0 "ffeeddccbbaa99887766554433221100"

START_TEST(test_known_secret)
{
	uint8_t s1[16], c[24], got[24], want[24];
	unsigned rcode;
	hexs(S1, s1);
	const char *extra[] = {"--cookie-secret", S1, NULL};
	struct harness_server srv;
	start_or_fail(&srv, extra);
	uint32_t now = (uint32_t)time(NULL);

	/* only a client cookie: ours is exactly RFC 9018's */
	ck_assert_int_eq(ask(srv.port, HARNESS_UDP, CLIENT, 8, 0, &rcode, got), 0);
	ck_assert_uint_eq(rcode, 0);
	make(want, s1, ts_of(got));
	ck_assert_mem_eq(got, want, 24);
	ck_assert_int_le(ts_of(got) - now + 5, 10); /* within 5 s of now */

	enum harness_transport tr[2] = {HARNESS_UDP, HARNESS_TCP};
	for (int t = 0; t < 2; t++) {
		/* valid, 10 minutes old: echoed as it is (it was checked:
		 * a cookie the server did not accept would be replaced by
		 * one of now) */
		make(c, s1, now - 600);
		ck_assert_int_eq(ask(srv.port, tr[t], c, 24, 0, &rcode, got), 0);
		ck_assert_uint_eq(rcode, 0);
		ck_assert_mem_eq(got, c, 24);
		/* valid, 40 minutes old: renewed */
		make(c, s1, now - 2400);
		ck_assert_int_eq(ask(srv.port, tr[t], c, 24, 0, &rcode, got), 0);
		ck_assert_uint_eq(rcode, 0);
		ck_assert_int_le(ts_of(got) - now + 5, 10);
		make(want, s1, ts_of(got));
		ck_assert_mem_eq(got, want, 24);
		/* forged hash: answered, with a cookie of now */
		make(c, s1, now - 600);
		c[23] ^= 0x40;
		ck_assert_int_eq(ask(srv.port, tr[t], c, 24, 0, &rcode, got), 0);
		ck_assert_uint_eq(rcode, 0);
		ck_assert_int_le(ts_of(got) - now + 5, 10);
		/* RFC 7873 §5.2.2: malformed lengths are FORMERR */
		ck_assert_int_eq(ask(srv.port, tr[t], c, 12, 0, &rcode, got), 0);
		ck_assert_uint_eq(rcode, 1);
		ck_assert_int_eq(ask(srv.port, tr[t], c, 7, 0, &rcode, got), 0);
		ck_assert_uint_eq(rcode, 1);

		/* RFC 7873 §5.4: no question, only a COOKIE: NOERROR with
		 * ours; a good server cookie: NOERROR; a forged one:
		 * BADCOOKIE (23) with a good one */
		unsigned qd;
		ck_assert_int_eq(ask_cookie_only(srv.port, tr[t], CLIENT, 8, &rcode, &qd, got), 0);
		ck_assert_uint_eq(rcode, 0);
		ck_assert_uint_eq(qd, 0);
		make(want, s1, ts_of(got));
		ck_assert_mem_eq(got, want, 24);
		make(c, s1, now - 600);
		ck_assert_int_eq(ask_cookie_only(srv.port, tr[t], c, 24, &rcode, &qd, got), 0);
		ck_assert_uint_eq(rcode, 0);
		ck_assert_mem_eq(got, c, 24);
		c[23] ^= 0x40;
		ck_assert_int_eq(ask_cookie_only(srv.port, tr[t], c, 24, &rcode, &qd, got), 0);
		ck_assert_uint_eq(rcode, 23);
		make(want, s1, ts_of(got));
		ck_assert_mem_eq(got, want, 24);
	}
	harness_server_cleanup(&srv);
}
END_TEST

/* Knot DNS (mod-cookies) with the same secret makes the same RFC 9018
 * cookies, byte for byte, and each server accepts the other's: what an
 * anycast set mixing the two needs (RFC 9018 §1). */
START_TEST(test_knot_same_cookies)
{
	const char *knotd = harness_knotd_path();
	ck_assert_msg(knotd != NULL, "knotd is not installed (scripts/deps installs knot)");
	struct harness_server k;
	ck_assert_int_eq(harness_server_init(&k, "knotd"), 0);
	ck_assert_int_eq(harness_pick_port(&k.port), 0);
	ck_assert_int_ge(harness_copy_zones(harness_repo_zones(), k.dir), 1);
	ck_assert_int_eq(harness_write_filef(k.dir, "knot.conf",
					     "server:\n    listen: 127.0.0.1@%u\n    rundir: %s\n"
					     "database:\n    storage: %s\n"
					     "mod-cookies:\n  - id: shared\n    secret: 0x%s\n"
					     "template:\n  - id: default\n    storage: %s\n"
					     "    global-module: mod-cookies/shared\n"
					     "zone:\n  - domain: example.com.\n"
					     "    file: %s/example.com.zone\n"
					     "    journal-content: none\n    zonefile-sync: -1\n",
					     k.port, k.dir, k.dir, S1, k.dir, k.dir),
			 0);
	char conf[PATH_MAX + 16];
	snprintf(conf, sizeof(conf), "%s/knot.conf", k.dir);
	char *argv[] = {(char *)knotd, "-c", conf, NULL};
	ck_assert_int_eq(harness_zone_origins(harness_repo_zones(), &k.zones), 0);
	ck_assert_int_eq(harness_server_start(&k, argv), 0);
	const char *extra[] = {"--cookie-secret", S1, NULL};
	struct harness_server srv;
	start_or_fail(&srv, extra);

	uint8_t ours[24], theirs[24], got[24];
	unsigned rcode;
	/* the two within the same second (retried across a second's edge) */
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(ask(srv.port, HARNESS_UDP, CLIENT, 8, 0, &rcode, ours), 0);
		ck_assert_uint_eq(rcode, 0);
		/* Knot answers a client cookie alone with BADCOOKIE (its
		 * default); the cookie it gives is what counts here */
		ck_assert_int_eq(ask(k.port, HARNESS_UDP, CLIENT, 8, 0, &rcode, theirs), 0);
		if (ts_of(ours) == ts_of(theirs))
			break;
	}
	ck_assert_uint_eq(theirs[8], 1);
	ck_assert_mem_eq(ours, theirs, 24);
	/* Knot's cookie to shoal: valid and young, echoed */
	ck_assert_int_eq(ask(srv.port, HARNESS_UDP, theirs, 24, 0, &rcode, got), 0);
	ck_assert_uint_eq(rcode, 0);
	ck_assert_mem_eq(got, theirs, 24);
	/* shoal's to Knot: accepted, NOERROR */
	ck_assert_int_eq(ask(k.port, HARNESS_UDP, ours, 24, 0, &rcode, got), 0);
	ck_assert_uint_eq(rcode, 0);
	ck_assert_uint_eq(got[8], 1);
	harness_server_cleanup(&srv);
	harness_server_cleanup(&k);
}
END_TEST

/* The secret file, read again (as nobody, once shoal dropped root) on
 * SIGHUP. */
static void write_secret(const char *dir, const char *text)
{
	ck_assert_int_eq(harness_write_filef(dir, "secret", "%s\n", text), 0);
}

START_TEST(test_rotation_keeps_previous)
{
	uint8_t s0[16], s1[16], s2[16], c[24], got[24];
	unsigned rcode;
	hexs(S0, s0);
	hexs(S1, s1);
	hexs(S2, s2);
	char dir[PATH_MAX], file[PATH_MAX + 16];
	ck_assert_int_eq(harness_tmpdir(dir, sizeof(dir), "cookie"), 0);
	snprintf(file, sizeof(file), "%s/secret", dir);
	write_secret(dir, S1);
	/* RRL at 1 a second, no slip: only exempt clients get through */
	const char *extra[] = {"--cookie-secret-file", file, "--rrl-rate", "1", "--rrl-window", "1",
			       "--rrl-slip", "0", NULL};
	struct harness_server srv;
	start_or_fail(&srv, extra);
	uint32_t now = (uint32_t)time(NULL);

	make(c, s1, now - 60);
	ck_assert_int_eq(ask(srv.port, HARNESS_UDP, c, 24, 0, &rcode, got), 0);
	ck_assert_mem_eq(got, c, 24);

	write_secret(dir, S2);
	kill(srv.pid, SIGHUP);
	ck_assert_int_eq(harness_server_wait_log(&srv, "cookie secret rotated", 1, 0), 0);

	/* use up 127.0.0.0/24's bucket for www.example.com. */
	int dropped = 0;
	for (int i = 0; i < 10; i++)
		if (ask(srv.port, HARNESS_UDP, c, 8, 300, &rcode, got) == -ETIMEDOUT)
			dropped++;
	ck_assert_int_ge(dropped, 5);
	/* the previous secret's cookie: valid, so exempt; renewed with S2 */
	make(c, s1, now - 60);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(ask(srv.port, HARNESS_UDP, c, 24, 0, &rcode, got), 0);
		uint8_t want[24];
		make(want, s2, ts_of(got));
		ck_assert_mem_eq(got, want, 24);
	}
	/* the current secret's: exempt, echoed */
	make(c, s2, now - 60);
	ck_assert_int_eq(ask(srv.port, HARNESS_UDP, c, 24, 0, &rcode, got), 0);
	ck_assert_mem_eq(got, c, 24);
	/* a secret never configured: not exempt, dropped (the bucket is
	 * emptied again first: it gains one response a second) */
	for (int i = 0; i < 10; i++)
		if (ask(srv.port, HARNESS_UDP, c, 8, 300, &rcode, got) == -ETIMEDOUT)
			break;
	make(c, s0, now - 60);
	ck_assert_int_eq(ask(srv.port, HARNESS_UDP, c, 24, 300, &rcode, got), -ETIMEDOUT);

	/* an unreadable secret on reload: the keys stay */
	write_secret(dir, "not hex");
	kill(srv.pid, SIGHUP);
	ck_assert_int_eq(
	    harness_server_wait_log(&srv, "the cookie secret stays as it was", 1, 0), 0);
	make(c, s2, now - 60);
	ck_assert_int_eq(ask(srv.port, HARNESS_UDP, c, 24, 0, &rcode, got), 0);
	ck_assert_mem_eq(got, c, 24);
	harness_server_cleanup(&srv);
	harness_rmtree(dir);
}
END_TEST

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const TTest *const tests[] = {test_dig_cookie, test_known_secret, test_knot_same_cookies,
				      test_rotation_keeps_previous, NULL};
	struct harness_suite s = {.name = "cookie", .timeout_s = 60, .tests = tests};
	return harness_suite_main(&s);
}
