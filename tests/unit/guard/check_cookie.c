/* check_cookie.c: server cookies (src/cookie.c) against the test vectors of
 * RFC 9018 Appendix A, the timestamp window of §4.3, secret rollover (§5)
 * and secret parsing. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "guard/cookie.h"
#include "unit.h"

static void hex(const char *s, uint8_t *out, size_t n)
{
	ck_assert_uint_eq(strlen(s), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		ck_assert_int_eq(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* One address at a time: each call overwrites the last. */
static struct sockaddr_storage g_ss;

static const struct sockaddr *ip(const char *text)
{
	memset(&g_ss, 0, sizeof(g_ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&g_ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&g_ss;
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(5353); /* the port is not part of the hash */
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(53);
	}
	return (const struct sockaddr *)&g_ss;
}

static struct cookie_keys keys(const char *cur, const char *prev)
{
	struct cookie_keys k;
	memset(&k, 0, sizeof(k));
	hex(cur, k.cur, 16);
	if (prev) {
		hex(prev, k.prev, 16);
		k.have_prev = true;
	}
	return k;
}

#define SECRET_A "e5e973e5a6b2a43f48e7dc849e37bfcf"
#define SECRET_OLD6 "dd3bdf9344b678b185a6f5cb60fca715"
#define SECRET_NEW6 "445536bcd2513298075a5d379663c962"

/* RFC 9018 A.1-A.4: the server cookies the examples hand out. */
START_TEST(rfc9018_vectors_make)
{
	static const struct {
		const char *secret, *client, *ip;
		uint32_t ts;
		const char *want;
	} v[] = {
		{SECRET_A, "2464c4abcf10c957", "198.51.100.100", 1559731985,
		 "010000005cf79f111f8130c3eee29480"}, /* A.1 */
		{SECRET_A, "2464c4abcf10c957", "198.51.100.100", 1559734385,
		 "010000005cf7a871d4a564a1442aca77"}, /* A.2 */
		{SECRET_A, "fc93fc62807ddb86", "203.0.113.203", 1559734700,
		 "010000005cf7a9acf73a7810aca2381e"}, /* A.3 */
		{SECRET_OLD6, "22681ab97d52c298", "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741817,
		 "010000005cf7c57926556bd0934c72f8"}, /* A.4, before the rollover */
		{SECRET_NEW6, "22681ab97d52c298", "2001:db8:220:1:59de:d0f4:8769:82b8", 1559741961,
		 "010000005cf7c609a6bb79d16625507a"}, /* A.4, after */
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t secret[16], client[8], want[16], got[16];
		hex(v[i].secret, secret, 16);
		hex(v[i].client, client, 8);
		hex(v[i].want, want, 16);
		cookie_make(got, client, v[i].ts, ip(v[i].ip), secret);
		ck_assert_msg(memcmp(got, want, 16) == 0, "vector %zu", i);
	}
}
END_TEST

/* A.2: the client returns A.1's cookie 40 minutes later: valid, but older
 * than half an hour, so the answer carries A.2's fresh cookie. */
START_TEST(rfc9018_a2_renewed)
{
	struct cookie_keys k = keys(SECRET_A, NULL);
	uint8_t q[24], want[24], out[40];
	bool valid = false;
	hex("2464c4abcf10c957010000005cf79f111f8130c3eee29480", q, 24);
	hex("2464c4abcf10c957010000005cf7a871d4a564a1442aca77", want, 24);
	const struct sockaddr *a = ip("198.51.100.100");
	ck_assert_int_eq(cookie_check(q, 24, a, 1559734385, &k), COOKIE_VALID_RENEW);
	ck_assert_uint_eq(cookie_answer(out, q, 24, a, 1559734385, &k, &valid), 24);
	ck_assert(valid);
	ck_assert_mem_eq(out, want, 24);
	/* ten minutes after it was made it is young: echoed as it came */
	ck_assert_int_eq(cookie_check(q, 24, a, 1559731985 + 600, &k), COOKIE_VALID);
	ck_assert_uint_eq(cookie_answer(out, q, 24, a, 1559731985 + 600, &k, &valid), 24);
	ck_assert(valid);
	ck_assert_mem_eq(out, q, 24);
	/* from another address it is not ours */
	ck_assert_int_eq(cookie_check(q, 24, ip("198.51.100.101"), 1559731985 + 600, &k),
			 COOKIE_BAD);
}
END_TEST

/* A.3: the client returns a cookie another server of the set made, with
 * Reserved octets set (they are hashed as received). It is ours while in
 * its hour; at the example's time it has expired and a new one is made. */
START_TEST(rfc9018_a3_reserved_and_expiry)
{
	struct cookie_keys k = keys(SECRET_A, NULL);
	uint8_t q[24], want[24], out[40];
	bool valid = true;
	hex("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5", q, 24);
	hex("fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e", want, 24);
	const struct sockaddr *a = ip("203.0.113.203");
	uint32_t made = 0x5cf78f71;
	ck_assert_int_eq(cookie_check(q, 24, a, made + 60, &k), COOKIE_VALID);
	ck_assert_int_eq(cookie_check(q, 24, ip("203.0.113.204"), made + 60, &k), COOKIE_BAD);
	a = ip("203.0.113.203"); /* ip() reuses one buffer */
	/* one of the Reserved octets changed: the hash no longer matches */
	q[9] ^= 1;
	ck_assert_int_eq(cookie_check(q, 24, a, made + 60, &k), COOKIE_BAD);
	q[9] ^= 1;
	ck_assert_int_eq(cookie_check(q, 24, a, 1559734700, &k), COOKIE_BAD);
	ck_assert_uint_eq(cookie_answer(out, q, 24, a, 1559734700, &k, &valid), 24);
	ck_assert(!valid);
	ck_assert_mem_eq(out, want, 24);
}
END_TEST

/* A.4: an IPv6 client returns the cookie of the old secret after the
 * rollover: still valid (previous secret), renewed with the new one. */
START_TEST(rfc9018_a4_rollover)
{
	struct cookie_keys k = keys(SECRET_NEW6, SECRET_OLD6);
	uint8_t q[24], want[24], out[40];
	bool valid = false;
	hex("22681ab97d52c298010000005cf7c57926556bd0934c72f8", q, 24);
	hex("22681ab97d52c298010000005cf7c609a6bb79d16625507a", want, 24);
	const struct sockaddr *a = ip("2001:db8:220:1:59de:d0f4:8769:82b8");
	ck_assert_int_eq(cookie_check(q, 24, a, 1559741961, &k), COOKIE_VALID_RENEW);
	ck_assert_uint_eq(cookie_answer(out, q, 24, a, 1559741961, &k, &valid), 24);
	ck_assert(valid);
	ck_assert_mem_eq(out, want, 24);
	/* with only the new secret, the old cookie is not ours */
	k.have_prev = false;
	ck_assert_int_eq(cookie_check(q, 24, a, 1559741961, &k), COOKIE_BAD);
	/* the address family matters: the same octets as IPv4-looking bytes */
	k.have_prev = true;
	ck_assert_int_eq(cookie_check(q, 24, ip("32.1.13.184"), 1559741961, &k), COOKIE_BAD);
}
END_TEST

/* §4.3: valid from 5 minutes ahead to an hour old, renewed after half an
 * hour; serial arithmetic across the 2^32 wrap. */
START_TEST(timestamp_window)
{
	struct cookie_keys k = keys(SECRET_A, NULL);
	uint8_t client[8], c[24];
	hex("0102030405060708", client, 8);
	const struct sockaddr *a = ip("192.0.2.1");
	static const struct {
		uint32_t ts;
		int64_t age; /* now - ts */
		enum cookie_verdict want;
	} v[] = {
		{1559731985, 0, COOKIE_VALID},
		{1559731985, 1800, COOKIE_VALID},
		{1559731985, 1801, COOKIE_VALID_RENEW},
		{1559731985, 3600, COOKIE_VALID_RENEW},
		{1559731985, 3601, COOKIE_BAD},
		{1559731985, -300, COOKIE_VALID},
		{1559731985, -301, COOKIE_BAD},
		{4294967000u, 1000, COOKIE_VALID}, /* made before the wrap, read after */
		{4294967000u, 3000, COOKIE_VALID_RENEW},
		{100, -400, COOKIE_BAD}, /* our clock before the wrap, cookie after */
		{100, -200, COOKIE_VALID},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memcpy(c, client, 8);
		cookie_make(c + 8, client, v[i].ts, a, k.cur);
		uint32_t now = (uint32_t)((int64_t)v[i].ts + v[i].age);
		ck_assert_msg(cookie_check(c, 24, a, now, &k) == v[i].want, "case %zu", i);
	}
}
END_TEST

START_TEST(foreign_and_client_only)
{
	struct cookie_keys k = keys(SECRET_A, NULL);
	uint8_t c[40] = {1, 2, 3, 4, 5, 6, 7, 8};
	const struct sockaddr *a = ip("192.0.2.1");
	uint8_t out[40];
	bool valid = true;
	ck_assert_int_eq(cookie_check(c, 8, a, 1000, &k), COOKIE_CLIENT_ONLY);
	ck_assert_uint_eq(cookie_answer(out, c, 8, a, 1000, &k, &valid), 24);
	ck_assert(!valid);
	ck_assert_mem_eq(out, c, 8);
	ck_assert_uint_eq(out[8], 1);
	ck_assert_uint_eq(out[9] | out[10] | out[11], 0);
	ck_assert_uint_eq(out[12] << 24 | out[13] << 16 | out[14] << 8 | out[15], 1000);
	/* a good cookie of ours with the version changed, or another length
	 * (8 and 32 octets of server cookie are legal, RFC 7873 §4.2), is
	 * not ours */
	memcpy(c + 8, out + 8, 16);
	ck_assert_int_eq(cookie_check(c, 24, a, 1000, &k), COOKIE_VALID);
	c[8] = 2;
	ck_assert_int_eq(cookie_check(c, 24, a, 1000, &k), COOKIE_BAD);
	c[8] = 1;
	ck_assert_int_eq(cookie_check(c, 16, a, 1000, &k), COOKIE_BAD);
	ck_assert_int_eq(cookie_check(c, 40, a, 1000, &k), COOKIE_BAD);
	/* a foreign 32-octet one is answered with a 16-octet one of ours */
	ck_assert_uint_eq(cookie_answer(out, c, 40, a, 1000, &k, &valid), 24);
	ck_assert(!valid);
}
END_TEST

START_TEST(secret_parse)
{
	uint8_t s[16];
	ck_assert_int_eq(cookie_secret_parse(SECRET_A, s), 0);
	ck_assert_uint_eq(s[0], 0xe5);
	ck_assert_uint_eq(s[15], 0xcf);
	ck_assert_int_eq(cookie_secret_parse("  E5E973E5A6B2A43F48E7DC849E37BFCF\n", s), 0);
	ck_assert_uint_eq(s[1], 0xe9);
	ck_assert_int_eq(cookie_secret_parse("e5e973e5a6b2a43f48e7dc849e37bfc", s), -1);
	ck_assert_int_eq(cookie_secret_parse("e5e973e5a6b2a43f48e7dc849e37bfcf0", s), -1);
	ck_assert_int_eq(cookie_secret_parse("e5e973e5a6b2a43f48e7dc849e37bfcg", s), -1);
	ck_assert_int_eq(cookie_secret_parse("", s), -1);
	ck_assert_int_eq(cookie_secret_parse("e5e973e5a6b2a43f 48e7dc849e37bfcf", s), -1);
}
END_TEST

START_TEST(keys_rotate)
{
	uint8_t a[16], b[16], c[16];
	hex(SECRET_A, a, 16);
	hex(SECRET_OLD6, b, 16);
	hex(SECRET_NEW6, c, 16);
	ck_assert_ptr_null(cookie_keys_current());
	ck_assert_int_eq(cookie_keys_rotate(a), 0);
	const struct cookie_keys *k = cookie_keys_current();
	ck_assert_mem_eq(k->cur, a, 16);
	ck_assert(!k->have_prev);
	ck_assert_int_eq(cookie_keys_rotate(b), 0);
	k = cookie_keys_current();
	ck_assert_mem_eq(k->cur, b, 16);
	ck_assert(k->have_prev);
	ck_assert_mem_eq(k->prev, a, 16);
	ck_assert_int_eq(cookie_keys_rotate(c), 0);
	k = cookie_keys_current();
	ck_assert_mem_eq(k->cur, c, 16);
	ck_assert_mem_eq(k->prev, b, 16); /* only one generation back */
	cookie_keys_free();
	ck_assert_ptr_null(cookie_keys_current());
}
END_TEST

static Suite *cookie_suite(void)
{
	Suite *s = suite_create("cookie");
	TCase *t = tcase_create("rfc9018");
	tcase_add_test(t, rfc9018_vectors_make);
	tcase_add_test(t, rfc9018_a2_renewed);
	tcase_add_test(t, rfc9018_a3_reserved_and_expiry);
	tcase_add_test(t, rfc9018_a4_rollover);
	tcase_add_test(t, timestamp_window);
	tcase_add_test(t, foreign_and_client_only);
	suite_add_tcase(s, t);
	t = tcase_create("secrets");
	tcase_add_test(t, secret_parse);
	tcase_add_test(t, keys_rotate);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cookie_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
