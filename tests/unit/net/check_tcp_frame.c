/* check_tcp_frame.c: DNS over a byte stream (src/tcp_frame.c): pipelined
 * messages, the same answers wherever the stream is cut, partial and
 * oversize frames, frames too short for a header, output that blocks, and
 * the client's address reaching the server cookie. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guard/cookie.h"
#include "net/tcp_frame.h"
#include "xfr/serve.h"
#include "unit.h"

static struct zonedb *g_db;
static struct answer_cfg g_cfg = {.edns_size = 1232};
static struct stats g_stats;
static struct tcp_frame_answerer g_ans;
static struct xfr_out *xo; /* tcp_frame_answer's stream slot: no transfers here */

static void setup(void)
{
	static const char *const rrs[] = {
	    "example.com. 3600 IN SOA ns1.example.com. host.example.com. 1 3600 900 604800 300",
	    "example.com. 3600 IN NS ns1.example.com.",
	    "ns1.example.com. 3600 IN A 192.0.2.53",
	    "www.example.com. 300 IN A 192.0.2.1",
	    "www.example.com. 300 IN AAAA 2001:db8::1",
	    "example.com. 3600 IN MX 10 mail.example.com.",
	    "mail.example.com. 3600 IN A 192.0.2.25",
	    NULL,
	};
	struct zone *z = ut_zone("example.com.", rrs);
	g_db = zonedb_new(&z, 1);
	ck_assert_ptr_nonnull(g_db);
	memset(&g_stats, 0, sizeof(g_stats));
	g_ans.cfg = &g_cfg;
	g_ans.stats = &g_stats;
	g_ans.out = malloc(TCP_FRAME_MAX);
	ck_assert_ptr_nonnull(g_ans.out);
}

static void teardown(void)
{
	free(g_ans.out);
	zonedb_free(g_db);
}

/* ---- what the transport was handed ---- */

#define SINK_MAX 64

struct sink {
	unsigned n;
	uint8_t *frame[SINK_MAX];
	size_t len[SINK_MAX];
	unsigned block_at; /* emit number (1-based) that blocks; 0: none */
	unsigned close_at; /* emit number that fails; 0: none */
	struct xfr_out *xo; /* the connection's transfer slot (none is allowed here) */
};

static enum tcp_frame_result sink_emit(void *ctx, const uint8_t *frame, size_t len)
{
	struct sink *k = ctx;
	/* the frame is the answerer's buffer, its prefix the response length */
	ck_assert_ptr_eq(frame, g_ans.out);
	ck_assert_uint_ge(len, 2 + DNS_HEADER_LEN);
	ck_assert_uint_le(len, TCP_FRAME_MAX);
	ck_assert_uint_eq((size_t)(frame[0] << 8 | frame[1]), len - 2);
	ck_assert_msg(frame[2 + 2] & 0x80, "QR set");
	ck_assert_uint_lt(k->n, SINK_MAX);
	k->frame[k->n] = malloc(len);
	ck_assert_ptr_nonnull(k->frame[k->n]);
	memcpy(k->frame[k->n], frame, len);
	k->len[k->n] = len;
	k->n++;
	if (k->n == k->close_at)
		return TCP_FRAME_CLOSE;
	if (k->n == k->block_at)
		return TCP_FRAME_BLOCKED;
	return TCP_FRAME_MORE;
}

static void sink_free(struct sink *k)
{
	for (unsigned i = 0; i < k->n; i++)
		free(k->frame[i]);
	memset(k, 0, sizeof(*k));
}

static uint16_t frame_id(const struct sink *k, unsigned i)
{
	return (uint16_t)(k->frame[i][2] << 8 | k->frame[i][3]);
}

/* ---- streams ---- */

struct stream {
	uint8_t b[4096];
	size_t len;
};

/* Append a query, framed. */
static void put_query(struct stream *s, const struct ut_q *q)
{
	size_t len = ut_query_wire(q, s->b + s->len + 2, sizeof(s->b) - s->len - 2);
	s->b[s->len] = (uint8_t)(len >> 8);
	s->b[s->len + 1] = (uint8_t)len;
	s->len += 2 + len;
}

static void put_bytes(struct stream *s, const void *d, size_t n)
{
	ck_assert_uint_le(s->len + n, sizeof(s->b));
	memcpy(s->b + s->len, d, n);
	s->len += n;
}

/* Three pipelined queries, each a different kind of answer. */
static void three_queries(struct stream *s)
{
	struct ut_q q1 = {.name = "www.example.com.", .type = LDNS_RR_TYPE_A, .id = 101};
	struct ut_q q2 = {.name = "nope.example.com.",
	                  .type = LDNS_RR_TYPE_A,
	                  .id = 102,
	                  .edns = true,
	                  .nsid = true};
	struct ut_q q3 = {.name = "example.com.", .type = LDNS_RR_TYPE_MX, .id = 103, .rd = true};
	s->len = 0;
	put_query(s, &q1);
	put_query(s, &q2);
	put_query(s, &q3);
}

/* Feed `d` as tcp.c does: append what fits, process, repeat. Stops at
 * TCP_FRAME_CLOSE or TCP_FRAME_BLOCKED. */
static enum tcp_frame_result feed(struct tcp_frame_in *in, const uint8_t *d, size_t n,
                                  const struct sockaddr *peer, struct sink *k)
{
	enum tcp_frame_result r = TCP_FRAME_MORE;
	while (n > 0) {
		size_t room;
		ck_assert_int_eq(tcp_frame_in_reserve(in, &room), 0);
		ck_assert_uint_gt(room, 0);
		size_t m = n < room ? n : room;
		memcpy(in->buf + in->len, d, m);
		in->len += m;
		d += m;
		n -= m;
		r = tcp_frame_process(in, &g_ans, g_db, peer, &k->xo, sink_emit, k);
		if (r != TCP_FRAME_MORE)
			break;
	}
	return r;
}

static void same_frames(const struct sink *a, const struct sink *b)
{
	ck_assert_uint_eq(a->n, b->n);
	for (unsigned i = 0; i < a->n; i++) {
		ck_assert_uint_eq(a->len[i], b->len[i]);
		ck_assert_mem_eq(a->frame[i], b->frame[i], a->len[i]);
	}
}

/* ================================================================ framing */

START_TEST(pipelined_in_one_read)
{
	struct stream s;
	struct sink k = {0};
	struct tcp_frame_in in;
	three_queries(&s);
	ck_assert_int_eq(tcp_frame_in_init(&in), 0);
	ck_assert_int_eq(feed(&in, s.b, s.len, NULL, &k), TCP_FRAME_MORE);
	ck_assert_uint_eq(k.n, 3);
	ck_assert_uint_eq(frame_id(&k, 0), 101);
	ck_assert_uint_eq(frame_id(&k, 1), 102);
	ck_assert_uint_eq(frame_id(&k, 2), 103);
	ck_assert_uint_eq(k.frame[0][2 + 3] & 0x0f, LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(k.frame[1][2 + 3] & 0x0f, LDNS_RCODE_NXDOMAIN);
	ck_assert_uint_eq(in.len, 0);
	ck_assert_uint_eq(stats_get(&g_stats.queries), 3);
	ck_assert_uint_eq(stats_get(&g_stats.edns), 1);
	/* each response is a whole DNS message */
	for (unsigned i = 0; i < k.n; i++) {
		ldns_pkt *p = NULL;
		ck_assert_int_eq(ldns_wire2pkt(&p, k.frame[i] + 2, k.len[i] - 2), LDNS_STATUS_OK);
		ck_assert(ldns_pkt_qr(p));
		ldns_pkt_free(p);
	}
	sink_free(&k);
	tcp_frame_in_free(&in);
}
END_TEST

START_TEST(split_at_every_byte)
{
	struct stream s;
	struct sink ref = {0};
	struct tcp_frame_in in;
	three_queries(&s);
	ck_assert_int_eq(tcp_frame_in_init(&in), 0);
	ck_assert_int_eq(feed(&in, s.b, s.len, NULL, &ref), TCP_FRAME_MORE);
	tcp_frame_in_free(&in);
	ck_assert_uint_eq(ref.n, 3);

	/* two reads, cut anywhere: the same answers, none before its
	 * message is complete */
	for (size_t cut = 0; cut <= s.len; cut++) {
		struct sink k = {0};
		ck_assert_int_eq(tcp_frame_in_init(&in), 0);
		ck_assert_int_eq(feed(&in, s.b, cut, NULL, &k), TCP_FRAME_MORE);
		ck_assert_uint_le(in.len, cut);
		ck_assert_int_eq(feed(&in, s.b + cut, s.len - cut, NULL, &k), TCP_FRAME_MORE);
		same_frames(&ref, &k);
		ck_assert_uint_eq(in.len, 0);
		sink_free(&k);
		tcp_frame_in_free(&in);
	}
	/* one octet per read */
	struct sink k = {0};
	ck_assert_int_eq(tcp_frame_in_init(&in), 0);
	for (size_t i = 0; i < s.len; i++)
		ck_assert_int_eq(feed(&in, s.b + i, 1, NULL, &k), TCP_FRAME_MORE);
	same_frames(&ref, &k);
	sink_free(&k);
	sink_free(&ref);
	tcp_frame_in_free(&in);
}
END_TEST

START_TEST(partial_frame_waits)
{
	struct stream s;
	struct sink k = {0};
	struct tcp_frame_in in;
	struct ut_q q = {.name = "www.example.com.", .id = 7};
	s.len = 0;
	put_query(&s, &q);
	ck_assert_int_eq(tcp_frame_in_init(&in), 0);
	/* one octet of the prefix, then all but the last octet */
	ck_assert_int_eq(feed(&in, s.b, 1, NULL, &k), TCP_FRAME_MORE);
	ck_assert_uint_eq(in.len, 1);
	ck_assert_int_eq(feed(&in, s.b + 1, s.len - 2, NULL, &k), TCP_FRAME_MORE);
	ck_assert_uint_eq(k.n, 0);
	ck_assert_uint_eq(in.len, s.len - 1);
	ck_assert_mem_eq(in.buf, s.b, s.len - 1); /* kept as received */
	ck_assert_int_eq(feed(&in, s.b + s.len - 1, 1, NULL, &k), TCP_FRAME_MORE);
	ck_assert_uint_eq(k.n, 1);
	ck_assert_uint_eq(frame_id(&k, 0), 7);
	ck_assert_uint_eq(in.len, 0);
	sink_free(&k);
	tcp_frame_in_free(&in);
}
END_TEST

START_TEST(largest_frame_grows_buffer)
{
	/* a 65535-octet message: a query padded with zeros after its
	 * question (junk where the additional section would be) */
	uint8_t *m = calloc(1, TCP_FRAME_MAX);
	ck_assert_ptr_nonnull(m);
	struct ut_q q = {.name = "www.example.com.", .id = 9};
	size_t ql = ut_query_wire(&q, m + 2, 1024);
	ck_assert_uint_lt(ql, TCP_MSG_MAX);
	m[0] = m[1] = 0xff;
	struct sink k = {0};
	struct tcp_frame_in in;
	ck_assert_int_eq(tcp_frame_in_init(&in), 0);
	ck_assert_uint_eq(in.cap, TCP_IN_INITIAL);
	/* the prefix alone makes room for the whole message at once */
	ck_assert_int_eq(feed(&in, m, 100, NULL, &k), TCP_FRAME_MORE);
	ck_assert_uint_eq(in.cap, TCP_FRAME_MAX);
	ck_assert_uint_eq(k.n, 0);
	ck_assert_int_eq(feed(&in, m + 100, TCP_FRAME_MAX - 100 - 1, NULL, &k), TCP_FRAME_MORE);
	ck_assert_uint_eq(k.n, 0);
	ck_assert_uint_eq(in.len, TCP_FRAME_MAX - 1);
	ck_assert_int_eq(feed(&in, m + TCP_FRAME_MAX - 1, 1, NULL, &k), TCP_FRAME_MORE);
	ck_assert_uint_eq(k.n, 1); /* answered (whatever the junk makes of it) */
	ck_assert_uint_eq(frame_id(&k, 0), 9);
	ck_assert_uint_eq(in.len, 0);
	sink_free(&k);
	tcp_frame_in_free(&in);
	free(m);
}
END_TEST

START_TEST(reserve_doubles_up_to_one_frame)
{
	struct tcp_frame_in in;
	size_t room, cap = TCP_IN_INITIAL;
	ck_assert_int_eq(tcp_frame_in_init(&in), 0);
	ck_assert_int_eq(tcp_frame_in_reserve(&in, &room), 0);
	ck_assert_uint_eq(room, TCP_IN_INITIAL);
	while (cap < TCP_FRAME_MAX) {
		in.len = in.cap; /* as if a read filled it */
		ck_assert_int_eq(tcp_frame_in_reserve(&in, &room), 0);
		cap = cap * 2 > TCP_FRAME_MAX ? TCP_FRAME_MAX : cap * 2;
		ck_assert_uint_eq(in.cap, cap);
		ck_assert_uint_eq(room, cap - in.len);
	}
	in.len = in.cap;
	ck_assert_int_eq(tcp_frame_in_reserve(&in, &room), 0);
	ck_assert_uint_eq(room, 0); /* full: wait for output */
	ck_assert_uint_eq(in.cap, TCP_FRAME_MAX);
	tcp_frame_in_free(&in);
	tcp_frame_in_free(&in); /* idempotent */
	ck_assert_ptr_null(in.buf);
}
END_TEST

/* A prefix below a DNS header closes the connection, after the messages
 * before it were answered; the rest of the buffer is not looked at. */
static void short_frame(uint16_t len)
{
	struct stream s;
	struct sink k = {0};
	struct tcp_frame_in in;
	struct ut_q q = {.name = "www.example.com.", .id = 11};
	s.len = 0;
	put_query(&s, &q);
	uint8_t bad[2 + DNS_HEADER_LEN] = {(uint8_t)(len >> 8), (uint8_t)len};
	put_bytes(&s, bad, sizeof(bad));
	put_query(&s, &q);
	ck_assert_int_eq(tcp_frame_in_init(&in), 0);
	ck_assert_int_eq(feed(&in, s.b, s.len, NULL, &k), TCP_FRAME_CLOSE);
	ck_assert_uint_eq(k.n, 1);
	ck_assert_uint_eq(frame_id(&k, 0), 11);
	sink_free(&k);
	tcp_frame_in_free(&in);
}

START_TEST(zero_length_frame_closes)
{
	short_frame(0);
}
END_TEST

START_TEST(frame_shorter_than_header_closes)
{
	short_frame(DNS_HEADER_LEN - 1);
	short_frame(1);
}
END_TEST

START_TEST(header_only_frame_is_answered)
{
	/* 12 octets: a header without a question; FORMERR, not a close */
	struct stream s;
	struct sink k = {0};
	struct tcp_frame_in in;
	const uint8_t hdr[2 + DNS_HEADER_LEN] = {0, DNS_HEADER_LEN, 0x12, 0x34};
	struct ut_q q = {.name = "www.example.com.", .id = 13};
	s.len = 0;
	put_bytes(&s, hdr, sizeof(hdr));
	put_query(&s, &q);
	ck_assert_int_eq(tcp_frame_in_init(&in), 0);
	ck_assert_int_eq(feed(&in, s.b, s.len, NULL, &k), TCP_FRAME_MORE);
	ck_assert_uint_eq(k.n, 2);
	ck_assert_uint_eq(frame_id(&k, 0), 0x1234);
	ck_assert_uint_eq(k.frame[0][2 + 3] & 0x0f, LDNS_RCODE_FORMERR);
	ck_assert_uint_eq(frame_id(&k, 1), 13);
	sink_free(&k);
	tcp_frame_in_free(&in);
}
END_TEST

START_TEST(unanswered_message_skipped)
{
	/* a response (QR=1) gets nothing back; the next query is answered */
	struct stream s;
	struct sink k = {0};
	struct tcp_frame_in in;
	struct ut_q q1 = {.name = "www.example.com.", .id = 21};
	struct ut_q q2 = {.name = "www.example.com.", .id = 22};
	s.len = 0;
	put_query(&s, &q1);
	s.b[2 + 2] |= 0x80;
	put_query(&s, &q2);
	ck_assert_int_eq(tcp_frame_in_init(&in), 0);
	ck_assert_int_eq(feed(&in, s.b, s.len, NULL, &k), TCP_FRAME_MORE);
	ck_assert_uint_eq(k.n, 1);
	ck_assert_uint_eq(frame_id(&k, 0), 22);
	ck_assert_uint_eq(stats_get(&g_stats.queries), 2);
	ck_assert_uint_eq(stats_get(&g_stats.dropped), 1);
	ck_assert_uint_eq(in.len, 0);
	sink_free(&k);
	tcp_frame_in_free(&in);
}
END_TEST

/* ================================================================ output */

START_TEST(blocked_output_stops_and_resumes)
{
	struct stream s;
	struct sink k = {.block_at = 1};
	struct tcp_frame_in in;
	three_queries(&s);
	ck_assert_int_eq(tcp_frame_in_init(&in), 0);
	ck_assert_int_eq(feed(&in, s.b, s.len, NULL, &k), TCP_FRAME_BLOCKED);
	ck_assert_uint_eq(k.n, 1);
	/* the two messages not answered yet wait at the start */
	size_t first = 2 + (size_t)(s.b[0] << 8 | s.b[1]);
	ck_assert_uint_eq(in.len, s.len - first);
	ck_assert_mem_eq(in.buf, s.b + first, in.len);
	/* output drained: the rest, in order */
	ck_assert_int_eq(tcp_frame_process(&in, &g_ans, g_db, NULL, &k.xo, sink_emit, &k), TCP_FRAME_MORE);
	ck_assert_uint_eq(k.n, 3);
	ck_assert_uint_eq(frame_id(&k, 1), 102);
	ck_assert_uint_eq(frame_id(&k, 2), 103);
	ck_assert_uint_eq(in.len, 0);
	sink_free(&k);
	tcp_frame_in_free(&in);
}
END_TEST

START_TEST(send_error_closes)
{
	struct stream s;
	struct sink k = {.close_at = 2};
	struct tcp_frame_in in;
	three_queries(&s);
	ck_assert_int_eq(tcp_frame_in_init(&in), 0);
	ck_assert_int_eq(feed(&in, s.b, s.len, NULL, &k), TCP_FRAME_CLOSE);
	ck_assert_uint_eq(k.n, 2);
	sink_free(&k);
	tcp_frame_in_free(&in);
}
END_TEST

START_TEST(tcp_answers_are_not_truncated)
{
	/* no EDNS, and far more than 512 octets: UDP would truncate; the
	 * limit TCP hands answer_query is the frame's */
	static char txt[20][160];
	const char *rrs[24] = {
	    "big.test. 3600 IN SOA ns.big.test. host.big.test. 1 3600 900 604800 300",
	    "big.test. 3600 IN NS ns.big.test.",
	    "ns.big.test. 3600 IN A 192.0.2.53",
	};
	for (int i = 0; i < 20; i++) {
		snprintf(txt[i], sizeof(txt[i]), "big.test. 3600 IN TXT \"%02d %0100d\"", i, 0);
		rrs[3 + i] = txt[i];
	}
	struct zone *z = ut_zone("big.test.", rrs);
	struct zonedb *db = zonedb_new(&z, 1);
	ck_assert_ptr_nonnull(db);
	struct ut_q q = {.name = "big.test.", .type = LDNS_RR_TYPE_TXT, .id = 31};
	uint8_t w[512];
	size_t len = ut_query_wire(&q, w, sizeof(w));
	size_t flen = tcp_frame_answer(&g_ans, db, NULL, w, len, &xo);
	ck_assert_uint_gt(flen, 2 + 20 * 100);
	ck_assert_uint_eq((size_t)(g_ans.out[0] << 8 | g_ans.out[1]), flen - 2);
	ck_assert_uint_eq(g_ans.out[2 + 2] & 0x02, 0);                               /* TC clear */
	ck_assert_uint_eq((unsigned)(g_ans.out[2 + 6] << 8 | g_ans.out[2 + 7]), 20); /* ANCOUNT */
	zonedb_free(db);
}
END_TEST

/* ================================================================ peer */

static const uint8_t client_cookie[8] = {0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8};

/* The COOKIE option in a framed response (searched for by its header and
 * our client cookie), or NULL. */
static const uint8_t *find_cookie(const uint8_t *f, size_t len, size_t *olen)
{
	for (size_t i = 2; i + 12 <= len; i++) {
		if (f[i] == 0 && f[i + 1] == EDNS_OPT_COOKIE && f[i + 2] == 0 &&
		    !memcmp(f + i + 4, client_cookie, 8)) {
			*olen = f[i + 3];
			return f + i + 4;
		}
	}
	return NULL;
}

START_TEST(cookie_uses_the_peer)
{
	static const uint8_t secret[COOKIE_SECRET_LEN] = {1, 2,  3,  4,  5,  6,  7,  8,
	                                                  9, 10, 11, 12, 13, 14, 15, 16};
	ck_assert_int_eq(cookie_keys_rotate(secret), 0);
	g_cfg.cookies = true;
	struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(53000)};
	inet_pton(AF_INET, "192.0.2.77", &peer.sin_addr);
	struct ut_q q = {.name = "www.example.com.",
	                 .id = 41,
	                 .edns = true,
	                 .cookie = client_cookie,
	                 .cookie_len = 8};
	uint8_t w[512];
	size_t len = ut_query_wire(&q, w, sizeof(w)), olen = 0;

	size_t flen = tcp_frame_answer(&g_ans, g_db, (const struct sockaddr *)&peer, w, len, &xo);
	ck_assert_uint_gt(flen, 0);
	const uint8_t *c = find_cookie(g_ans.out, flen, &olen);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(olen, 8 + COOKIE_SERVER_LEN);
	/* made for this address: valid from it, not from another */
	uint32_t now = (uint32_t)time(NULL);
	ck_assert_int_eq(
	    cookie_check(c, olen, (const struct sockaddr *)&peer, now, cookie_keys_current()),
	    COOKIE_VALID);
	struct sockaddr_in other = peer;
	inet_pton(AF_INET, "192.0.2.78", &other.sin_addr);
	ck_assert_int_eq(
	    cookie_check(c, olen, (const struct sockaddr *)&other, now, cookie_keys_current()),
	    COOKIE_BAD);

	/* no address known: no cookie (answer.c needs one to make it) */
	flen = tcp_frame_answer(&g_ans, g_db, NULL, w, len, &xo);
	ck_assert_uint_gt(flen, 0);
	ck_assert_ptr_null(find_cookie(g_ans.out, flen, &olen));
	g_cfg.cookies = false;
	cookie_keys_free();
}
END_TEST

static Suite *tcp_frame_suite(void)
{
	Suite *s = suite_create("tcp_frame");
	TCase *t = tcase_create("framing");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, pipelined_in_one_read);
	tcase_add_test(t, split_at_every_byte);
	tcase_add_test(t, partial_frame_waits);
	tcase_add_test(t, largest_frame_grows_buffer);
	tcase_add_test(t, reserve_doubles_up_to_one_frame);
	tcase_add_test(t, zero_length_frame_closes);
	tcase_add_test(t, frame_shorter_than_header_closes);
	tcase_add_test(t, header_only_frame_is_answered);
	tcase_add_test(t, unanswered_message_skipped);
	suite_add_tcase(s, t);
	t = tcase_create("output");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, blocked_output_stops_and_resumes);
	tcase_add_test(t, send_error_closes);
	tcase_add_test(t, tcp_answers_are_not_truncated);
	suite_add_tcase(s, t);
	t = tcase_create("peer");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, cookie_uses_the_peer);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tcp_frame_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
