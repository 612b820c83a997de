/* check_query.c: request parsing (src/query.c) on hand-made wire. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dns/query.h"
#include "unit.h"
#include "zone/zone.h"

/* A message being built, byte by byte. */
struct wb {
	uint8_t b[2048];
	size_t n;
};

static void put(struct wb *w, const void *p, size_t len)
{
	ck_assert_uint_le(w->n + len, sizeof(w->b));
	memcpy(w->b + w->n, p, len);
	w->n += len;
}

static void u8(struct wb *w, uint8_t v)
{
	put(w, &v, 1);
}

static void u16(struct wb *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(w, b, 2);
}

static void u32(struct wb *w, uint32_t v)
{
	u16(w, (uint16_t)(v >> 16));
	u16(w, (uint16_t)v);
}

/* Header: ID 0xbeef, the two flag octets, the four counts. */
static void hdr(struct wb *w, uint8_t f1, uint8_t f2, uint16_t qd, uint16_t an, uint16_t ns,
		uint16_t ar)
{
	w->n = 0;
	u16(w, 0xbeef);
	u8(w, f1);
	u8(w, f2);
	u16(w, qd);
	u16(w, an);
	u16(w, ns);
	u16(w, ar);
}

/* Question www.example.com. (wire given by the caller for odd cases). */
static void question(struct wb *w, const char *name, size_t len, uint16_t type, uint16_t cls)
{
	put(w, name, len);
	u16(w, type);
	u16(w, cls);
}

#define WWW "\3www\7example\3com" /* 17 octets with the root */

/* An OPT RR (RFC 6891 §6.1.2): root owner unless `owner` says otherwise. */
static void opt(struct wb *w, uint16_t size, uint8_t ext, uint8_t version, uint16_t flags,
		const void *rdata, uint16_t rdlen)
{
	u8(w, 0);
	u16(w, RRTYPE_OPT);
	u16(w, size);
	u8(w, ext);
	u8(w, version);
	u16(w, flags);
	u16(w, rdlen);
	if (rdlen)
		put(w, rdata, rdlen);
}

/* A standard query for www.example.com. A, with `ar` additional records
 * to follow. */
static void std_query(struct wb *w, uint16_t ar)
{
	hdr(w, 0x01, 0x00, 1, 0, 0, ar);
	question(w, WWW, 17, RRTYPE_A, RRCLASS_IN);
}

static enum query_status parse(struct query *q, const struct wb *w)
{
	memset(q, 0xa5, sizeof(*q)); /* nothing may be left to chance */
	return query_parse(q, w->b, w->n, false);
}

/* ---------------------------------------------------------------- header */

START_TEST(ok_simple)
{
	struct wb w;
	struct query q;
	hdr(&w, 0x01, 0x10, 1, 0, 0, 0); /* RD, CD */
	question(&w, "\3WwW\7ExAmPlE\3COM", 17, RRTYPE_AAAA, RRCLASS_IN);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
	ck_assert_mem_eq(&q.id, "\xbe\xef", 2); /* net order, as received */
	ck_assert_uint_eq(q.flags1, 0x01);
	ck_assert_uint_eq(q.flags2, 0x10);
	ck_assert_uint_eq(q.opcode, 0);
	ck_assert(q.has_question);
	ck_assert(!q.tcp);
	ck_assert_uint_eq(q.qtype, RRTYPE_AAAA);
	ck_assert_uint_eq(q.qclass, RRCLASS_IN);
	ck_assert_uint_eq(q.qname_len, 17);
	/* the client's case kept for the echo, lowercased for lookups */
	ck_assert_mem_eq(q.qname, "\3WwW\7ExAmPlE\3COM", 17);
	ck_assert_mem_eq(q.lname, WWW, 17);
	ck_assert_uint_eq(q.split.labels, 3);
	ck_assert_uint_eq(q.split.len, 17);
	ck_assert_uint_eq(q.split.off[1], 4);
	ck_assert(q.split.hash[0] == dname_hash((const uint8_t *)WWW, 17));
	ck_assert(q.split.hash[1] == dname_hash((const uint8_t *)"\7example\3com", 13));
	ck_assert(!q.edns);
	ck_assert(!q.edns_do);
	ck_assert(!q.edns_nsid);
	ck_assert_uint_eq(q.edns_version, 0);
	ck_assert_uint_eq(q.edns_size, 0);
	ck_assert_int_eq(query_parse(&q, w.b, w.n, true), QUERY_OK);
	ck_assert(q.tcp);
}
END_TEST

START_TEST(ok_root_and_longest_name)
{
	struct wb w;
	struct query q;
	hdr(&w, 0, 0, 1, 0, 0, 0);
	question(&w, "", 1, RRTYPE_NS, RRCLASS_IN);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
	ck_assert_uint_eq(q.qname_len, 1);
	ck_assert_uint_eq(q.split.labels, 0);

	uint8_t n[255];
	for (int i = 0; i < 127; i++) {
		n[2 * i] = 1;
		n[2 * i + 1] = 'A';
	}
	n[254] = 0;
	hdr(&w, 0, 0, 1, 0, 0, 0);
	question(&w, (const char *)n, 255, RRTYPE_A, RRCLASS_IN);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
	ck_assert_uint_eq(q.qname_len, 255);
	ck_assert_uint_eq(q.split.labels, 127);
	ck_assert_uint_eq(q.lname[1], 'a');
	ck_assert_uint_eq(q.qname[1], 'A');
}
END_TEST

START_TEST(drop_too_short)
{
	struct wb w;
	struct query q;
	std_query(&w, 0);
	for (size_t len = 0; len < DNS_HEADER_LEN; len++)
		ck_assert_int_eq(query_parse(&q, w.b, len, false), QUERY_DROP);
}
END_TEST

START_TEST(drop_response)
{
	struct wb w;
	struct query q;
	hdr(&w, 0x81, 0x00, 1, 0, 0, 0); /* QR=1 */
	question(&w, WWW, 17, RRTYPE_A, RRCLASS_IN);
	ck_assert_int_eq(parse(&q, &w), QUERY_DROP);
	/* even a malformed one, and with another opcode */
	hdr(&w, 0x80 | (4 << 3), 0x00, 0, 0, 0, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_DROP);
}
END_TEST

START_TEST(formerr_qdcount)
{
	struct wb w;
	struct query q;
	hdr(&w, 0x01, 0, 0, 0, 0, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	ck_assert(!q.has_question);
	hdr(&w, 0x01, 0, 2, 0, 0, 0);
	question(&w, WWW, 17, RRTYPE_A, RRCLASS_IN);
	question(&w, WWW, 17, RRTYPE_AAAA, RRCLASS_IN);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	ck_assert(!q.has_question);
}
END_TEST

START_TEST(notimp_opcodes)
{
	struct wb w;
	struct query q;
	static const uint8_t opcodes[] = {1, 2, 4, 5, 6, 15};
	for (size_t i = 0; i < sizeof(opcodes); i++) {
		hdr(&w, (uint8_t)(opcodes[i] << 3), 0, 1, 0, 0, 0);
		question(&w, WWW, 17, RRTYPE_SOA, RRCLASS_IN);
		/* NOTIFY goes to xfr/serve.c; the others are not implemented */
		ck_assert_int_eq(parse(&q, &w), opcodes[i] == 4 ? QUERY_NOTIFY : QUERY_NOTIMP);
		ck_assert_uint_eq(q.opcode, opcodes[i]);
		ck_assert(q.has_question); /* so the response can echo it */
	}
	/* NOTIFY (RFC 1996) with its SOA in the answer section */
	hdr(&w, 4 << 3 | 0x04, 0, 1, 1, 0, 0);
	question(&w, "\7example\3com", 13, RRTYPE_SOA, RRCLASS_IN);
	u16(&w, 0xc00c); /* the zone's SOA: MNAME and RNAME the root */
	u16(&w, RRTYPE_SOA);
	u16(&w, RRCLASS_IN);
	u32(&w, 3600);
	u16(&w, 22);
	put(&w, "\0\0" "\0\0\0\1" "\0\0\0\2" "\0\0\0\3" "\0\0\0\4" "\0\0\0\5", 22);
	ck_assert_int_eq(parse(&q, &w), QUERY_NOTIFY);
	/* ANCOUNT 1 with no record there: malformed, whatever the opcode */
	w.n -= 34;
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* NOTIFY without a question: nothing to act on */
	hdr(&w, 4 << 3, 0, 0, 0, 0, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_NOTIMP);
	/* UPDATE (RFC 2136) with ZOCOUNT 1 and an empty zone section is
	 * NOTIMP too; with ZOCOUNT 0 (not a question) also NOTIMP, not FORMERR */
	hdr(&w, 5 << 3, 0, 0, 0, 0, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_NOTIMP);
	ck_assert(!q.has_question);
	/* the records after the question are read all the same: an OPT is
	 * seen (the NOTIMP then carries one, RFC 6891 §7), a version we do
	 * not speak is BADVERS first, and bad framing is FORMERR */
	hdr(&w, 15 << 3, 0, 1, 0, 0, 1);
	question(&w, WWW, 17, RRTYPE_SOA, RRCLASS_IN);
	opt(&w, 1232, 0, 0, 0x8000, NULL, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_NOTIMP);
	ck_assert(q.edns);
	ck_assert(q.edns_do);
	hdr(&w, 15 << 3, 0, 1, 0, 0, 1);
	question(&w, WWW, 17, RRTYPE_SOA, RRCLASS_IN);
	opt(&w, 1232, 0, 1, 0, NULL, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_BADVERS);
	hdr(&w, 4 << 3, 0, 1, 0, 0, 1);
	question(&w, WWW, 17, RRTYPE_SOA, RRCLASS_IN);
	opt(&w, 1232, 0, 0, 0, "\0\x0a\0\x08" "abcdefgh", 12);
	w.n -= 3; /* the message ends inside the OPT */
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	ck_assert(!q.formerr_opt);
}
END_TEST

/* ---------------------------------------------------------------- question */

START_TEST(formerr_truncated_question)
{
	struct wb w;
	struct query q;
	std_query(&w, 0);
	size_t full = w.n;
	/* cut anywhere inside the question */
	for (size_t len = DNS_HEADER_LEN; len < full; len++) {
		ck_assert_msg(query_parse(&q, w.b, len, false) == QUERY_FORMERR, "cut at %zu", len);
	}
	ck_assert_int_eq(query_parse(&q, w.b, full, false), QUERY_OK);
}
END_TEST

START_TEST(formerr_bad_names)
{
	struct wb w;
	struct query q;
	/* a pointer to itself */
	hdr(&w, 0, 0, 1, 0, 0, 0);
	question(&w, "\xc0\x0c", 2, RRTYPE_A, RRCLASS_IN);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* a label then a pointer back to it: an endless name */
	hdr(&w, 0, 0, 1, 0, 0, 0);
	question(&w, "\1a\xc0\x0c", 4, RRTYPE_A, RRCLASS_IN);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* two pointers at each other */
	hdr(&w, 0, 0, 1, 0, 0, 0);
	question(&w, "\xc0\x0e\xc0\x0c", 4, RRTYPE_A, RRCLASS_IN);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* a pointer forward, to a name that is there: the question's name
	 * is the message's first, with nothing before it to point to
	 * (RFC 1035 §4.1.4); BIND, NSD and Knot reject it too */
	hdr(&w, 0, 0, 1, 0, 0, 0);
	question(&w, "\xc0\x12", 2, RRTYPE_A, RRCLASS_IN);
	put(&w, WWW, 17);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* a label, then a pointer forward */
	hdr(&w, 0, 0, 1, 0, 0, 0);
	question(&w, "\3www\xc0\x16", 6, RRTYPE_A, RRCLASS_IN);
	put(&w, "\7example\3com", 13);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* a pointer past the end */
	hdr(&w, 0, 0, 1, 0, 0, 0);
	question(&w, "\3www\xc3\xff", 6, RRTYPE_A, RRCLASS_IN);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* a 64-octet label (0x40: the reserved extended label type) */
	hdr(&w, 0, 0, 1, 0, 0, 0);
	uint8_t l64[66];
	l64[0] = 64;
	memset(l64 + 1, 'a', 64);
	l64[65] = 0;
	question(&w, (const char *)l64, 66, RRTYPE_A, RRCLASS_IN);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* 257 octets: a 128th label after 127 */
	uint8_t n[256];
	for (int i = 0; i < 127; i++) {
		n[2 * i] = 1;
		n[2 * i + 1] = 'a';
	}
	n[254] = 1; /* 128th label, no room for it */
	hdr(&w, 0, 0, 1, 0, 0, 0);
	put(&w, n, 255);
	put(&w, "a", 1);
	u8(&w, 0);
	u16(&w, RRTYPE_A);
	u16(&w, RRCLASS_IN);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
}
END_TEST

START_TEST(formerr_qtype_opt)
{
	struct wb w;
	struct query q;
	hdr(&w, 0, 0, 1, 0, 0, 0);
	question(&w, WWW, 17, RRTYPE_OPT, RRCLASS_IN);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	ck_assert(q.has_question);
}
END_TEST

START_TEST(ok_other_records_ignored)
{
	/* an A record in the additional section is not an OPT: parsed and
	 * left alone; trailing octets after the last record are ignored */
	struct wb w;
	struct query q;
	std_query(&w, 1);
	put(&w, WWW, 17);
	u16(&w, RRTYPE_A);
	u16(&w, RRCLASS_IN);
	u32(&w, 300);
	u16(&w, 4);
	put(&w, "\1\2\3\4", 4);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
	ck_assert(!q.edns);
	put(&w, "junk", 4);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
}
END_TEST

START_TEST(formerr_missing_records)
{
	/* ARCOUNT 1 and nothing after the question */
	struct wb w;
	struct query q;
	std_query(&w, 1);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* a record whose RDLENGTH runs past the end */
	std_query(&w, 1);
	opt(&w, 1232, 0, 0, 0, "\0\3\0\0", 4);
	w.n -= 2;
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
}
END_TEST

/* ---------------------------------------------------------------- EDNS */

START_TEST(opt_fields)
{
	struct wb w;
	struct query q;
	std_query(&w, 1);
	opt(&w, 4096, 0, 0, 0x8000, NULL, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
	ck_assert(q.edns);
	ck_assert_uint_eq(q.edns_size, 4096);
	ck_assert(q.edns_do);
	ck_assert(!q.edns_nsid);
	ck_assert_uint_eq(q.edns_version, 0);

	/* Z bits other than DO are not DO; a small size is kept as sent (the
	 * answer applies the 512 floor) */
	std_query(&w, 1);
	opt(&w, 100, 0, 0, 0x7fff, NULL, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
	ck_assert(!q.edns_do);
	ck_assert_uint_eq(q.edns_size, 100);

	/* extended RCODE bits in a query mean nothing */
	std_query(&w, 1);
	opt(&w, 1232, 0xff, 0, 0, NULL, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
}
END_TEST

START_TEST(opt_badvers)
{
	struct wb w;
	struct query q;
	std_query(&w, 1);
	opt(&w, 1232, 0, 1, 0x8000, NULL, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_BADVERS);
	ck_assert(q.edns);
	ck_assert(q.edns_do);
	ck_assert_uint_eq(q.edns_version, 1);
	ck_assert_uint_eq(q.edns_size, 1232);
	ck_assert(q.has_question);
	std_query(&w, 1);
	opt(&w, 1232, 0, 255, 0, NULL, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_BADVERS);
}
END_TEST

START_TEST(opt_two_is_formerr)
{
	struct wb w;
	struct query q;
	std_query(&w, 2);
	opt(&w, 1232, 0, 0, 0, NULL, 0);
	opt(&w, 1232, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR); /* RFC 6891 §6.1.1 */
	/* FORMERR wins over BADVERS */
	std_query(&w, 2);
	opt(&w, 1232, 0, 1, 0, NULL, 0);
	opt(&w, 1232, 0, 1, 0, NULL, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
}
END_TEST

START_TEST(opt_outside_additional_is_formerr)
{
	struct wb w;
	struct query q;
	hdr(&w, 0, 0, 1, 1, 0, 0); /* in the answer section */
	question(&w, WWW, 17, RRTYPE_A, RRCLASS_IN);
	opt(&w, 1232, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	hdr(&w, 0, 0, 1, 0, 1, 0); /* in the authority section */
	question(&w, WWW, 17, RRTYPE_A, RRCLASS_IN);
	opt(&w, 1232, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
}
END_TEST

START_TEST(opt_owner_not_root_is_formerr)
{
	struct wb w;
	struct query q;
	std_query(&w, 1);
	put(&w, "\3com", 5);
	u16(&w, RRTYPE_OPT);
	u16(&w, 1232);
	u32(&w, 0);
	u16(&w, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* a pointer to the question name is not root either */
	std_query(&w, 1);
	put(&w, "\xc0\x0c", 2);
	u16(&w, RRTYPE_OPT);
	u16(&w, 1232);
	u32(&w, 0);
	u16(&w, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
}
END_TEST

START_TEST(opt_option_lengths)
{
	struct wb w;
	struct query q;
	/* an option claiming 10 octets with 0 there */
	std_query(&w, 1);
	opt(&w, 1232, 0, 0, 0, "\0\3\0\x0a", 4);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* three octets: not even an option header */
	std_query(&w, 1);
	opt(&w, 1232, 0, 0, 0, "\0\3\0", 3);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* a good option followed by a short one */
	std_query(&w, 1);
	opt(&w, 1232, 0, 0, 0, "\0\x0c\0\x02" "xy" "\0\3\0\x05" "ab", 12);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* a good option followed by one stray octet */
	std_query(&w, 1);
	opt(&w, 1232, 0, 0, 0, "\0\x0c\0\x02" "xy" "\0", 7);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* exact: two empty options (padding, RFC 7830; keepalive, RFC 7828;
	 * not COOKIE: an empty one is malformed, see opt_cookie) */
	std_query(&w, 1);
	opt(&w, 1232, 0, 0, 0, "\0\x0c\0\0\0\x0b\0\0", 8);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
	ck_assert(!q.edns_nsid);
}
END_TEST

START_TEST(opt_nsid)
{
	struct wb w;
	struct query q;
	/* RFC 5001 §2.1: the request carries an empty NSID option */
	std_query(&w, 1);
	opt(&w, 1232, 0, 0, 0, "\0\3\0\0", 4);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
	ck_assert(q.edns_nsid);
	/* after a cookie (RFC 7873, 8 octets) */
	std_query(&w, 1);
	opt(&w, 1232, 0, 0, 0, "\0\x0a\0\x08" "abcdefgh" "\0\3\0\0", 16);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
	ck_assert(q.edns_nsid);
	/* a cookie alone is not NSID */
	std_query(&w, 1);
	opt(&w, 1232, 0, 0, 0, "\0\x0a\0\x08" "abcdefgh", 12);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
	ck_assert(!q.edns_nsid);
}
END_TEST

START_TEST(opt_cookie)
{
	/* RFC 7873 §5.2.2: a client cookie of 8 octets, optionally a server
	 * cookie of 8 to 32: every other total length is FORMERR. */
	uint8_t body[4 + 48];
	for (unsigned len = 0; len <= 48; len++) {
		struct wb w;
		struct query q;
		body[0] = 0;
		body[1] = 10;
		body[2] = 0;
		body[3] = (uint8_t)len;
		for (unsigned i = 0; i < len; i++)
			body[4 + i] = (uint8_t)(0xa0 + i);
		std_query(&w, 1);
		opt(&w, 1232, 0, 0, 0, (const char *)body, 4 + len);
		bool good = len == 8 || (len >= 16 && len <= 40);
		enum query_status st = parse(&q, &w);
		ck_assert_msg(st == (good ? QUERY_OK : QUERY_FORMERR), "cookie of %u octets: %d",
			      len, st);
		if (good) {
			ck_assert_uint_eq(q.cookie_len, len);
			ck_assert_mem_eq(q.cookie, body + 4, len);
		}
		ck_assert(q.addr == NULL);
	}
}
END_TEST

START_TEST(opt_cookie_first_counts)
{
	/* Two COOKIE options: the first is the one answered; the second is
	 * not looked at (only framed). */
	struct wb w;
	struct query q;
	std_query(&w, 1);
	opt(&w, 1232, 0, 0, 0, "\0\x0a\0\x08" "abcdefgh" "\0\x0a\0\x08" "ijklmnop", 24);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
	ck_assert_uint_eq(q.cookie_len, 8);
	ck_assert_mem_eq(q.cookie, "abcdefgh", 8);
	/* and the struct reused without a cookie has none */
	std_query(&w, 1);
	opt(&w, 1232, 0, 0, 0, "\0\3\0\0", 4);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
	ck_assert_uint_eq(q.cookie_len, 0);
}
END_TEST

START_TEST(cookie_only_query)
{
	/* RFC 7873 §5.4, RFC 9619 §4: QDCOUNT 0 is a QUERY only when it asks
	 * for a server cookie (an OPT with a COOKIE); otherwise FORMERR. */
	struct wb w;
	struct query q;
	hdr(&w, 0x00, 0, 0, 0, 0, 1);
	opt(&w, 1232, 0, 0, 0, "\0\x0a\0\x08" "abcdefgh", 12);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
	ck_assert(!q.has_question);
	ck_assert(q.edns);
	ck_assert_uint_eq(q.cookie_len, 8);
	ck_assert_mem_eq(q.cookie, "abcdefgh", 8);
	/* with a server cookie too */
	hdr(&w, 0x00, 0, 0, 0, 0, 1);
	opt(&w, 1232, 0, 0, 0, "\0\x0a\0\x18" "abcdefgh0123456789abcdef", 28);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
	ck_assert(!q.has_question);
	ck_assert_uint_eq(q.cookie_len, 24);
	/* an OPT without a COOKIE, or no OPT: nothing to answer */
	hdr(&w, 0x00, 0, 0, 0, 0, 1);
	opt(&w, 1232, 0, 0, 0, "\0\3\0\0", 4);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	hdr(&w, 0x00, 0, 0, 0, 0, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* a malformed cookie is FORMERR as anywhere */
	hdr(&w, 0x00, 0, 0, 0, 0, 1);
	opt(&w, 1232, 0, 0, 0, "\0\x0a\0\x05" "abcde", 9);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* an EDNS version we do not speak: BADVERS, cookie kept for the answer */
	hdr(&w, 0x00, 0, 0, 0, 0, 1);
	opt(&w, 1232, 0, 1, 0, "\0\x0a\0\x08" "abcdefgh", 12);
	ck_assert_int_eq(parse(&q, &w), QUERY_BADVERS);
	ck_assert_uint_eq(q.cookie_len, 8);
	/* other opcodes: NOTIMP, as with a question */
	hdr(&w, (uint8_t)(4 << 3), 0, 0, 0, 0, 1);
	opt(&w, 1232, 0, 0, 0, "\0\x0a\0\x08" "abcdefgh", 12);
	ck_assert_int_eq(parse(&q, &w), QUERY_NOTIMP);
	/* two questions stay FORMERR, cookie or not */
	hdr(&w, 0x00, 0, 2, 0, 0, 1);
	question(&w, WWW, 17, RRTYPE_A, RRCLASS_IN);
	question(&w, WWW, 17, RRTYPE_A, RRCLASS_IN);
	opt(&w, 1232, 0, 0, 0, "\0\x0a\0\x08" "abcdefgh", 12);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
}
END_TEST

START_TEST(formerr_opt_when_the_opt_is_fine)
{
	/* A FORMERR's reply carries an OPT when the query's OPT was well
	 * formed and the fault lay elsewhere (RFC 6891 §7), none when the OPT
	 * was the fault (a second one, options overrunning it). */
	struct wb w;
	struct query q;
	std_query(&w, 1); /* a COOKIE of a length RFC 7873 forbids */
	opt(&w, 1232, 0, 0, 0, "\0\x0a\0\x05" "abcde", 9);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	ck_assert(q.edns && q.formerr_opt);
	ck_assert_uint_eq(q.cookie_len, 0);
	/* ... but not when a later option overruns the OPT */
	std_query(&w, 1);
	opt(&w, 1232, 0, 0, 0, "\0\x0a\0\x05" "abcde" "\0\3\0\x09" "ab", 15);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	ck_assert(!q.formerr_opt);
	/* only the first COOKIE counts: a good second one does not save it */
	std_query(&w, 1);
	opt(&w, 1232, 0, 0, 0, "\0\x0a\0\x05" "abcde" "\0\x0a\0\x08" "abcdefgh", 21);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	ck_assert(q.formerr_opt);
	/* two OPTs */
	std_query(&w, 2);
	opt(&w, 1232, 0, 0, 0, NULL, 0);
	opt(&w, 1232, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	ck_assert(!q.formerr_opt);
	/* a question of type OPT, with and without EDNS */
	hdr(&w, 0x01, 0, 1, 0, 0, 1);
	question(&w, WWW, 17, RRTYPE_OPT, RRCLASS_IN);
	opt(&w, 1232, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	ck_assert(q.formerr_opt);
	hdr(&w, 0x01, 0, 1, 0, 0, 0);
	question(&w, WWW, 17, RRTYPE_OPT, RRCLASS_IN);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	ck_assert(!q.formerr_opt);
	/* QDCOUNT 0 with an OPT but no COOKIE; and with nothing */
	hdr(&w, 0x00, 0, 0, 0, 0, 1);
	opt(&w, 1232, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	ck_assert(q.formerr_opt);
	hdr(&w, 0x00, 0, 0, 0, 0, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	ck_assert(!q.formerr_opt);
	/* and a good query resets it */
	std_query(&w, 1);
	opt(&w, 1232, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
	ck_assert(!q.formerr_opt);
}
END_TEST

START_TEST(opt_state_reset_between_queries)
{
	/* the same struct reused (as a worker does): nothing carries over */
	struct wb w;
	struct query q;
	std_query(&w, 1);
	opt(&w, 4096, 0, 0, 0x8000, "\0\3\0\0", 4);
	ck_assert_int_eq(query_parse(&q, w.b, w.n, true), QUERY_OK);
	ck_assert(q.edns && q.edns_do && q.edns_nsid && q.tcp);
	std_query(&w, 0);
	ck_assert_int_eq(query_parse(&q, w.b, w.n, false), QUERY_OK);
	ck_assert(!q.edns);
	ck_assert(!q.edns_do);
	ck_assert(!q.edns_nsid);
	ck_assert(!q.tcp);
	ck_assert_uint_eq(q.edns_size, 0);
}
END_TEST

START_TEST(ldns_built_query_parses)
{
	/* what the other tests send (tests/unit/unit.c) parses as intended */
	uint8_t buf[512];
	struct ut_q spec = {.name = "Mixed.Example.COM.", .type = LDNS_RR_TYPE_MX, .id = 77,
			    .rd = true, .edns = true, .edns_size = 1400, .do_bit = true,
			    .nsid = true};
	size_t len = ut_query_wire(&spec, buf, sizeof(buf));
	struct query q;
	ck_assert_int_eq(query_parse(&q, buf, len, false), QUERY_OK);
	ck_assert_uint_eq(q.qtype, RRTYPE_MX);
	ck_assert_uint_eq(q.flags1 & 1, 1);
	ck_assert(q.edns && q.edns_do && q.edns_nsid);
	ck_assert_uint_eq(q.edns_size, 1400);
	ck_assert_mem_eq(q.qname, "\5Mixed\7Example\3COM", 19);
}
END_TEST

/* ---------------------------------------------------------------- TSIG */

/* A TSIG record (RFC 8945 §4.2) for key "k1." with hmac-sha256, time
 * signed 0x000102030405, fudge 300, an 32-octet MAC, original ID 0xbeef. */
static void tsig(struct wb *w, uint16_t cls)
{
	static const char alg[] = "\13hmac-sha256";
	put(w, "\2k1", 4);
	u16(w, 250);
	u16(w, cls);
	u32(w, 0);
	u16(w, (uint16_t)(sizeof(alg) + 6 + 2 + 2 + 32 + 2 + 2 + 2));
	put(w, alg, sizeof(alg)); /* with its root label */
	put(w, "\0\1\2\3\4\5", 6);
	u16(w, 300);
	u16(w, 32);
	for (int i = 0; i < 32; i++)
		u8(w, (uint8_t)i);
	u16(w, 0xbeef);
	u16(w, 0);
	u16(w, 0);
}

START_TEST(tsig_signed_is_badkey)
{
	struct wb w;
	struct query q;
	std_query(&w, 1);
	tsig(&w, LDNS_RR_CLASS_ANY);
	ck_assert_int_eq(parse(&q, &w), QUERY_BADKEY);
	ck_assert(q.tsig);
	ck_assert(q.has_question);
	ck_assert_uint_eq(q.tsig_key_len, 4);
	ck_assert_mem_eq(q.tsig_key, "\2k1", 4);
	ck_assert_uint_eq(q.tsig_alg_len, 13);
	ck_assert_mem_eq(q.tsig_alg, "\13hmac-sha256", 13);
	ck_assert_mem_eq(q.tsig_time, "\0\1\2\3\4\5", 6);
	ck_assert_mem_eq(q.tsig_fudge, "\x01\x2c", 2);
	/* after an OPT: still BADKEY, the OPT seen */
	std_query(&w, 2);
	opt(&w, 1232, 0, 0, 0, NULL, 0);
	tsig(&w, LDNS_RR_CLASS_ANY);
	ck_assert_int_eq(parse(&q, &w), QUERY_BADKEY);
	ck_assert(q.edns);
	/* an EDNS version we do not speak is answered first (as BIND does) */
	std_query(&w, 2);
	opt(&w, 1232, 0, 1, 0, NULL, 0);
	tsig(&w, LDNS_RR_CLASS_ANY);
	ck_assert_int_eq(parse(&q, &w), QUERY_BADVERS);
	/* a signed NOTIFY too: BADKEY before NOTIMP (BIND, Knot and NSD) */
	hdr(&w, 4 << 3, 0, 1, 0, 0, 1);
	question(&w, "\7example\3com", 13, RRTYPE_SOA, RRCLASS_IN);
	tsig(&w, LDNS_RR_CLASS_ANY);
	ck_assert_int_eq(parse(&q, &w), QUERY_BADKEY);
	/* a query that is not signed forgets the last one's TSIG */
	std_query(&w, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_OK);
	ck_assert(!q.tsig);
}
END_TEST

START_TEST(tsig_malformed_is_formerr)
{
	struct wb w;
	struct query q;
	/* RFC 8945 §5.1: not the last record */
	std_query(&w, 2);
	tsig(&w, LDNS_RR_CLASS_ANY);
	opt(&w, 1232, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* two of them */
	std_query(&w, 2);
	tsig(&w, LDNS_RR_CLASS_ANY);
	tsig(&w, LDNS_RR_CLASS_ANY);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* class other than ANY (§4.2) */
	std_query(&w, 1);
	tsig(&w, LDNS_RR_CLASS_IN);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* no rdata at all */
	std_query(&w, 1);
	put(&w, "\2k1", 4);
	u16(&w, 250);
	u16(&w, LDNS_RR_CLASS_ANY);
	u32(&w, 0);
	u16(&w, 0);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
	/* the message's last record, but in the answer section */
	hdr(&w, 0x01, 0, 1, 1, 0, 0);
	question(&w, WWW, 17, RRTYPE_A, RRCLASS_IN);
	tsig(&w, LDNS_RR_CLASS_ANY);
	ck_assert_int_eq(parse(&q, &w), QUERY_FORMERR);
}
END_TEST

static Suite *query_suite(void)
{
	Suite *s = suite_create("query");
	TCase *t = tcase_create("header");
	tcase_add_test(t, ok_simple);
	tcase_add_test(t, ok_root_and_longest_name);
	tcase_add_test(t, drop_too_short);
	tcase_add_test(t, drop_response);
	tcase_add_test(t, formerr_qdcount);
	tcase_add_test(t, notimp_opcodes);
	suite_add_tcase(s, t);

	t = tcase_create("question");
	tcase_add_test(t, formerr_truncated_question);
	tcase_add_test(t, formerr_bad_names);
	tcase_add_test(t, formerr_qtype_opt);
	tcase_add_test(t, ok_other_records_ignored);
	tcase_add_test(t, formerr_missing_records);
	suite_add_tcase(s, t);

	t = tcase_create("edns");
	tcase_add_test(t, opt_fields);
	tcase_add_test(t, opt_badvers);
	tcase_add_test(t, opt_two_is_formerr);
	tcase_add_test(t, opt_outside_additional_is_formerr);
	tcase_add_test(t, opt_owner_not_root_is_formerr);
	tcase_add_test(t, opt_option_lengths);
	tcase_add_test(t, opt_nsid);
	tcase_add_test(t, opt_cookie);
	tcase_add_test(t, opt_cookie_first_counts);
	tcase_add_test(t, cookie_only_query);
	tcase_add_test(t, formerr_opt_when_the_opt_is_fine);
	tcase_add_test(t, opt_state_reset_between_queries);
	tcase_add_test(t, ldns_built_query_parses);
	suite_add_tcase(s, t);

	t = tcase_create("tsig");
	tcase_add_test(t, tsig_signed_is_badkey);
	tcase_add_test(t, tsig_malformed_is_formerr);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(query_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
