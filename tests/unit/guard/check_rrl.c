/* check_rrl.c: response rate limiting (src/rrl.c): the bucket arithmetic on
 * a clock the test drives, networks and kinds as separate buckets, slip,
 * the table's bound, and exact counting under contention. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answer/answer.h"
#include "guard/rrl.h"
#include "unit.h"

#define SEC ((uint64_t)1 << RRL_TICK_SHIFT)
#define T0 (1000 * SEC) /* any start: the clock is the test's */

static struct sockaddr_storage addr_of(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, text, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	return ss;
}

static struct rrl *table(unsigned rate, unsigned slip, unsigned window, size_t size)
{
	struct rrl_cfg c = {.rate = rate, .slip = slip, .window = window, .size = size,
			    .v4_prefix = 24, .v6_prefix = 56};
	struct rrl *t = rrl_new(&c);
	ck_assert_ptr_nonnull(t);
	return t;
}

/* Responses that pass out of n accounted at `now` from `who`. */
static unsigned passes(struct rrl *t, const char *who, unsigned kind, uint64_t name, uint64_t now,
		       unsigned n)
{
	struct sockaddr_storage a = addr_of(who);
	uint64_t slip = 0;
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++)
		ok += rrl_account(t, (const struct sockaddr *)&a, kind, name, now, &slip) ==
		      RRL_PASS;
	return ok;
}

START_TEST(burst_then_rate)
{
	/* rate 10, window 1 s: a fresh bucket lets 10 through at once, then
	 * one per 100 ms; idle time refills it, but never beyond 10 */
	struct rrl *t = table(10, 0, 1, 1024);
	ck_assert_uint_eq(passes(t, "192.0.2.1", ANSWER_POSITIVE, 7, T0, 50), 10);
	ck_assert_uint_eq(passes(t, "192.0.2.1", ANSWER_POSITIVE, 7, T0 + SEC / 20, 5), 0);
	ck_assert_uint_eq(passes(t, "192.0.2.1", ANSWER_POSITIVE, 7, T0 + SEC / 10, 5), 1);
	ck_assert_uint_eq(passes(t, "192.0.2.1", ANSWER_POSITIVE, 7, T0 + SEC / 2, 50), 4);
	ck_assert_uint_eq(passes(t, "192.0.2.1", ANSWER_POSITIVE, 7, T0 + 100 * SEC, 50), 10);
	rrl_free(t);
}
END_TEST

START_TEST(window_is_burst)
{
	/* window 3: three seconds of rate saved up */
	struct rrl *t = table(20, 0, 3, 1024);
	ck_assert_uint_eq(passes(t, "192.0.2.1", ANSWER_POSITIVE, 7, T0, 500), 60);
	ck_assert_uint_eq(passes(t, "192.0.2.1", ANSWER_POSITIVE, 7, T0 + 10 * SEC, 500), 60);
	rrl_free(t);
}
END_TEST

START_TEST(sustained_flood)
{
	/* 1000 queries a second for 10 s at rate 50, window 2: the burst
	 * (100) and then 50 a second (500), give or take one */
	struct rrl *t = table(50, 2, 2, 1024);
	struct sockaddr_storage a = addr_of("198.51.100.7");
	uint64_t slip = 0;
	unsigned n[3] = {0, 0, 0};
	for (unsigned ms = 0; ms < 10000; ms++) {
		uint64_t now = T0 + ms * SEC / 1000;
		n[rrl_account(t, (const struct sockaddr *)&a, ANSWER_NXDOMAIN, 42, now, &slip)]++;
	}
	ck_assert_msg(n[RRL_PASS] >= 599 && n[RRL_PASS] <= 601, "passed %u", n[RRL_PASS]);
	/* slip 2: one limited response in two, at random, is a slip */
	unsigned limited = n[RRL_DROP] + n[RRL_SLIP];
	ck_assert_uint_eq(limited, 10000 - n[RRL_PASS]);
	ck_assert_msg(n[RRL_SLIP] > limited * 45 / 100 && n[RRL_SLIP] < limited * 55 / 100,
		      "%u slipped of %u", n[RRL_SLIP], limited);
	rrl_free(t);
}
END_TEST

START_TEST(slip_ratios)
{
	/* slip N: one limited response in N is slipped (at random, from
	 * the thread's own state); 0: none, 1: all */
	struct sockaddr_storage a = addr_of("192.0.2.1");
	for (unsigned s = 0; s <= 4; s++) {
		struct rrl *t = table(1, s, 1, 64);
		uint64_t state = 0;
		unsigned n[3] = {0, 0, 0};
		for (unsigned i = 0; i < 1201; i++)
			n[rrl_account(t, (const struct sockaddr *)&a, 0, 1, T0, &state)]++;
		ck_assert_uint_eq(n[RRL_PASS], 1);
		ck_assert_uint_eq(n[RRL_SLIP] + n[RRL_DROP], 1200);
		if (s == 0) {
			ck_assert_uint_eq(n[RRL_SLIP], 0);
		} else {
			double want = 1200.0 / s;
			ck_assert_msg(n[RRL_SLIP] >= want * 0.8 && n[RRL_SLIP] <= want * 1.2,
				      "slip %u: %u slipped of 1200", s, n[RRL_SLIP]);
		}
		rrl_free(t);
	}
}
END_TEST

START_TEST(slip_alternating_flows)
{
	/* Two flows limited in turn on one thread both get slips (a plain
	 * counter per thread would give them all to one of them). */
	struct rrl *t = table(1, 2, 1, 64);
	struct sockaddr_storage a = addr_of("192.0.2.1"), b = addr_of("198.51.100.1");
	uint64_t state = 0;
	unsigned na = 0, nb = 0;
	for (unsigned i = 0; i < 400; i++) {
		na += rrl_account(t, (const struct sockaddr *)&a, 0, 1, T0, &state) == RRL_SLIP;
		nb += rrl_account(t, (const struct sockaddr *)&b, 0, 1, T0, &state) == RRL_SLIP;
	}
	ck_assert_msg(na > 150 && na < 250 && nb > 150 && nb < 250, "%u and %u", na, nb);
	rrl_free(t);
}
END_TEST

START_TEST(networks_and_kinds)
{
	struct rrl *t = table(5, 0, 1, 4096);
	/* exhaust 192.0.2.0/24's bucket for (POSITIVE, name 7) */
	ck_assert_uint_eq(passes(t, "192.0.2.1", ANSWER_POSITIVE, 7, T0, 20), 5);
	/* the same /24, another host: the same bucket */
	ck_assert_uint_eq(passes(t, "192.0.2.200", ANSWER_POSITIVE, 7, T0, 20), 0);
	/* another /24 is another bucket */
	ck_assert_uint_eq(passes(t, "192.0.3.1", ANSWER_POSITIVE, 7, T0, 20), 5);
	/* another kind, another name: other buckets */
	ck_assert_uint_eq(passes(t, "192.0.2.1", ANSWER_NXDOMAIN, 7, T0, 20), 5);
	ck_assert_uint_eq(passes(t, "192.0.2.1", ANSWER_POSITIVE, 8, T0, 20), 5);
	/* IPv6: /56 */
	ck_assert_uint_eq(passes(t, "2001:db8:0:100::1", ANSWER_POSITIVE, 7, T0, 20), 5);
	ck_assert_uint_eq(passes(t, "2001:db8:0:1ff:ffff::9", ANSWER_POSITIVE, 7, T0, 20), 0);
	ck_assert_uint_eq(passes(t, "2001:db8:0:200::1", ANSWER_POSITIVE, 7, T0, 20), 5);
	/* a v4-mapped address is its IPv4 network */
	ck_assert_uint_eq(passes(t, "::ffff:192.0.2.77", ANSWER_POSITIVE, 7, T0, 20), 0);
	ck_assert_uint_eq(passes(t, "::ffff:192.0.4.77", ANSWER_POSITIVE, 7, T0, 20), 5);
	rrl_free(t);
}
END_TEST

START_TEST(prefix_lengths)
{
	struct rrl_cfg c = {.rate = 3, .window = 1, .size = 256, .v4_prefix = 32, .v6_prefix = 64};
	struct rrl *t = rrl_new(&c);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(passes(t, "192.0.2.1", 0, 1, T0, 10), 3);
	ck_assert_uint_eq(passes(t, "192.0.2.2", 0, 1, T0, 10), 3);
	ck_assert_uint_eq(passes(t, "2001:db8::1", 0, 1, T0, 10), 3);
	ck_assert_uint_eq(passes(t, "2001:db8::2", 0, 1, T0, 10), 0);
	ck_assert_uint_eq(passes(t, "2001:db8:0:1::1", 0, 1, T0, 10), 3);
	rrl_free(t);
	c.v4_prefix = 16;
	t = rrl_new(&c);
	ck_assert_uint_eq(passes(t, "192.0.2.1", 0, 1, T0, 10), 3);
	ck_assert_uint_eq(passes(t, "192.0.99.1", 0, 1, T0, 10), 0);
	ck_assert_uint_eq(passes(t, "192.1.2.1", 0, 1, T0, 10), 3);
	rrl_free(t);
}
END_TEST

START_TEST(table_bounds)
{
	/* sizes round up to a power of two, at least one group of 4 */
	struct rrl *t = table(5, 0, 1, 1);
	ck_assert_uint_eq(rrl_buckets(t), RRL_WAYS);
	ck_assert_uint_eq(rrl_bytes(t), RRL_WAYS * 8);
	rrl_free(t);
	t = table(5, 0, 1, 1000);
	ck_assert_uint_eq(rrl_buckets(t), 1024);
	ck_assert_uint_eq(rrl_bytes(t), 8192);
	rrl_free(t);

	/* One group of 4 buckets, 4 keys limited: a fifth key takes the
	 * bucket of the one nearest to idle; more keys than buckets never
	 * grow the table. */
	t = table(2, 0, 1, 4);
	for (uint64_t k = 1; k <= 4; k++)
		ck_assert_uint_eq(passes(t, "192.0.2.1", 0, k, T0 + k, 10), 2);
	ck_assert_uint_eq(passes(t, "192.0.2.1", 0, 5, T0 + 5, 10), 2);
	/* 200 keys go through it, each gets its first answer */
	for (uint64_t k = 100; k < 300; k++)
		ck_assert_uint_ge(passes(t, "192.0.2.1", 0, k, T0 + 10, 1), 1);
	ck_assert_uint_eq(rrl_buckets(t), RRL_WAYS);
	rrl_free(t);
}
END_TEST

START_TEST(clock_wrap_and_idle)
{
	/* The bucket's time is kept modulo 2^40 ticks (12.7 days): a bucket
	 * idle across the wrap must read as full, not as deep in debt. */
	struct rrl *t = table(4, 0, 1, 64);
	uint64_t wrap = (uint64_t)1 << 40;
	ck_assert_uint_eq(passes(t, "192.0.2.1", 0, 1, wrap - SEC / 2, 10), 4);
	/* 0.75 s later, across the wrap: 3 of the 4 have come back */
	ck_assert_uint_eq(passes(t, "192.0.2.1", 0, 1, wrap + SEC / 4, 10), 3);
	ck_assert_uint_eq(passes(t, "192.0.2.1", 0, 1, wrap + 3 * SEC, 10), 4);
	/* idle for 3/4 of the wrap period (the TAT then looks a quarter
	 * period ahead, beyond any real debt): full */
	ck_assert_uint_eq(passes(t, "192.0.2.1", 0, 1, wrap + 3 * SEC + 3 * wrap / 4, 10), 4);
	rrl_free(t);
}
END_TEST

struct hammer {
	struct rrl *t;
	unsigned passed;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	struct sockaddr_storage a = addr_of("203.0.113.9");
	uint64_t slip = 0;
	for (unsigned i = 0; i < 20000; i++)
		h->passed += rrl_account(h->t, (const struct sockaddr *)&a, ANSWER_POSITIVE, 3, T0,
					 &slip) == RRL_PASS;
	return NULL;
}

START_TEST(contention_exact)
{
	/* Four threads on one bucket at a frozen clock: exactly the burst
	 * passes, however the compare-and-swaps interleave. */
	struct rrl *t = table(250, 0, 4, 1024);
	struct hammer h[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){.t = t};
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer_run, &h[i]), 0);
	}
	unsigned total = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		total += h[i].passed;
	}
	ck_assert_uint_eq(total, 1000);
	rrl_free(t);
}
END_TEST

START_TEST(clock_moves)
{
	uint64_t a = rrl_now();
	ck_assert_uint_gt(a, 0);
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 30 * 1000 * 1000};
	nanosleep(&ts, NULL);
	uint64_t b = rrl_now();
	/* 30 ms later, with a coarse clock (a few ms of resolution) */
	ck_assert_uint_ge(b - a, SEC * 20 / 1000);
	ck_assert_uint_le(b - a, SEC * 2);
}
END_TEST

static Suite *rrl_suite(void)
{
	Suite *s = suite_create("rrl");
	TCase *t = tcase_create("buckets");
	tcase_add_test(t, burst_then_rate);
	tcase_add_test(t, window_is_burst);
	tcase_add_test(t, sustained_flood);
	tcase_add_test(t, slip_ratios);
	tcase_add_test(t, slip_alternating_flows);
	tcase_add_test(t, clock_wrap_and_idle);
	tcase_add_test(t, clock_moves);
	suite_add_tcase(s, t);
	t = tcase_create("keys");
	tcase_add_test(t, networks_and_kinds);
	tcase_add_test(t, prefix_lengths);
	tcase_add_test(t, table_bounds);
	tcase_add_test(t, contention_exact);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rrl_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
