/* check_response.c: the response writer (src/response.c): header, name
 * compression, whole-RRset rollback, OPT. Byte-exact where the RFCs fix
 * the bytes; otherwise the message is parsed back with ldns. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dns/query.h"
#include "dns/response.h"
#include "unit.h"

#define WWW "\3www\7example\3com"

/* An RRset assembled by hand (what zone.c would have built). */
struct rs_buf {
	struct rrset rs;
	uint8_t wire[65536];
};

static void rs_init(struct rs_buf *b, uint16_t type, uint32_t ttl)
{
	memset(&b->rs, 0, sizeof(b->rs));
	b->rs.type = type;
	b->rs.ttl = ttl;
	b->rs.wire = b->wire;
}

static void rs_add(struct rs_buf *b, const void *rd, uint16_t len)
{
	uint8_t *w = b->wire + b->rs.wire_len;
	ck_assert_uint_le(b->rs.wire_len + RR_FIXED_LEN + len, sizeof(b->wire));
	w[0] = (uint8_t)(b->rs.type >> 8);
	w[1] = (uint8_t)b->rs.type;
	w[2] = 0;
	w[3] = 1;
	w[4] = (uint8_t)(b->rs.ttl >> 24);
	w[5] = (uint8_t)(b->rs.ttl >> 16);
	w[6] = (uint8_t)(b->rs.ttl >> 8);
	w[7] = (uint8_t)b->rs.ttl;
	w[8] = (uint8_t)(len >> 8);
	w[9] = (uint8_t)len;
	memcpy(w + RR_FIXED_LEN, rd, len);
	b->rs.wire_len += RR_FIXED_LEN + len;
	b->rs.count++;
}

static struct owner named(const void *name)
{
	return (struct owner){.ptr = 0, .name = name};
}

static void mkquery(struct query *q, const char *name, uint16_t type, bool edns)
{
	uint8_t buf[512];
	struct ut_q spec = {.name = name, .type = type, .id = 0x1234, .edns = edns};
	size_t len = ut_query_wire(&spec, buf, sizeof(buf));
	ck_assert_int_eq(query_parse(q, buf, len, false), QUERY_OK);
}

static ldns_pkt *parse_back(struct resp *r)
{
	size_t len = resp_finish(r);
	ck_assert_uint_eq(len, r->len);
	ldns_pkt *p = NULL;
	ldns_status s = ldns_wire2pkt(&p, r->buf, len);
	ck_assert_msg(s == LDNS_STATUS_OK, "response does not parse: %s", ldns_get_errorstr_by_id(s));
	return p;
}

static void assert_owner(ldns_rr_list *l, size_t i, const char *name)
{
	ck_assert_uint_gt(ldns_rr_list_rr_count(l), i);
	ldns_rdf *want = ldns_dname_new_frm_str(name);
	ldns_rdf *got = ldns_rr_owner(ldns_rr_list_rr(l, i));
	char *gs = ldns_rdf2str(got);
	ck_assert_msg(ldns_dname_compare(want, got) == 0, "record %zu owner %s, want %s", i, gs,
		      name);
	free(gs);
	ldns_rdf_deep_free(want);
}

static void assert_rdf_name(ldns_rr_list *l, size_t i, size_t field, const char *name)
{
	ldns_rdf *want = ldns_dname_new_frm_str(name);
	ldns_rdf *got = ldns_rr_rdf(ldns_rr_list_rr(l, i), field);
	char *gs = ldns_rdf2str(got);
	ck_assert_msg(ldns_dname_compare(want, got) == 0, "record %zu rdata %s, want %s", i, gs,
		      name);
	free(gs);
	ldns_rdf_deep_free(want);
}

/* ---------------------------------------------------------------- header */

START_TEST(init_header_echo)
{
	struct query q;
	mkquery(&q, "WwW.Example.COM.", RRTYPE_A, false);
	/* a query with every flag set: only opcode, RD and CD come back */
	q.flags1 = (uint8_t)(4 << 3 | 0x04 | 0x02 | 0x01); /* NOTIFY, AA, TC, RD */
	q.flags2 = 0x80 | 0x40 | 0x20 | 0x10 | 0x0f;      /* RA, Z, AD, CD, RCODE */
	uint8_t buf[512];
	struct resp r;
	memset(buf, 0xee, sizeof(buf));
	resp_init(&r, buf, sizeof(buf), &q);
	ck_assert_mem_eq(buf, "\x12\x34", 2);
	ck_assert_uint_eq(buf[2], 0x80 | 4 << 3 | 0x01); /* QR, opcode, RD */
	ck_assert_uint_eq(buf[3], 0x10);		  /* CD (RFC 6840 §5.9) */
	ck_assert_mem_eq(buf + 4, "\0\1\0\0\0\0\0\0", 8);
	/* the question as asked, letter case included */
	ck_assert_mem_eq(buf + 12, "\3WwW\7Example\3COM\0\0\1\0\1", 21);
	ck_assert_uint_eq(r.len, 12 + 17 + 4);
	ck_assert_uint_eq(r.limit, sizeof(buf));
	ck_assert_uint_eq(r.count[0] + r.count[1] + r.count[2], 0);
	ck_assert_uint_eq(resp_finish(&r), 33);
	ck_assert(!resp_tc(&r));

	/* no question (a FORMERR for QDCOUNT 0): a bare header */
	q.has_question = false;
	resp_init(&r, buf, sizeof(buf), &q);
	ck_assert_uint_eq(r.len, 12);
	ck_assert_mem_eq(buf + 4, "\0\0\0\0\0\0\0\0", 8);
}
END_TEST

START_TEST(flags_and_rcode)
{
	struct query q;
	mkquery(&q, "www.example.com.", RRTYPE_A, false);
	q.flags2 |= 0x10; /* CD */
	uint8_t buf[512];
	struct resp r;
	resp_init(&r, buf, sizeof(buf), &q);
	resp_set_rcode(&r, 3); /* NXDOMAIN */
	ck_assert_uint_eq(buf[3], 0x13);
	resp_set_rcode(&r, 16); /* BADVERS: only the low 4 bits are in the header */
	ck_assert_uint_eq(buf[3], 0x10);
	resp_set_rcode(&r, 5);
	ck_assert_uint_eq(buf[3], 0x15);
	resp_set_aa(&r, true);
	ck_assert_uint_eq(buf[2] & 0x04, 0x04);
	resp_set_aa(&r, false);
	ck_assert_uint_eq(buf[2] & 0x04, 0);
	ck_assert(!resp_tc(&r));
	resp_set_tc(&r);
	ck_assert(resp_tc(&r));
	ck_assert_uint_eq(buf[2] & 0x02, 0x02);
	ck_assert_uint_eq(buf[2] & 0x80, 0x80);
}
END_TEST

/* ---------------------------------------------------------------- compression */

START_TEST(compression_byte_exact)
{
	struct query q;
	mkquery(&q, "www.example.com.", RRTYPE_A, false);
	/* question: www@12 example@16 com@24 root@28, type/class 29..32 */
	uint8_t buf[1024];
	struct resp r;
	resp_init(&r, buf, sizeof(buf), &q);
	static struct rs_buf a, ns, mx, dn;
	rs_init(&a, RRTYPE_A, 60);
	rs_add(&a, "\1\2\3\4", 4);

	/* the question name written again: a pointer to it */
	ck_assert_int_eq(resp_put_rrset(&r, SEC_ANSWER, named(WWW), &a.rs), 0);
	ck_assert_uint_eq(r.len, 33 + 16);
	ck_assert_mem_eq(buf + 33, "\xc0\x0c\0\1\0\1\0\0\0\x3c\0\4\1\2\3\4", 16);
	/* a suffix of it: label + pointer to example.com (16) */
	ck_assert_int_eq(resp_put_rrset(&r, SEC_ANSWER, named("\4mail\7example\3com"), &a.rs), 0);
	ck_assert_mem_eq(buf + 49, "\4mail\xc0\x10\0\1", 9);
	ck_assert_uint_eq(r.len, 70);
	/* nothing in common: written in full */
	ck_assert_int_eq(resp_put_rrset(&r, SEC_ANSWER, named("\3foo\7example\3net"), &a.rs), 0);
	ck_assert_mem_eq(buf + 70, "\3foo\7example\3net\0\0\1", 19);
	ck_assert_uint_eq(r.len, 101);
	/* a suffix of a name written earlier in an answer: example.net @74 */
	ck_assert_int_eq(resp_put_rrset(&r, SEC_ANSWER, named("\3bar\7example\3net"), &a.rs), 0);
	ck_assert_mem_eq(buf + 101, "\3bar\xc0\x4a\0\1", 8);
	ck_assert_uint_eq(r.len, 121);
	/* the same name in other letters: still a pointer (RFC 4343) */
	ck_assert_int_eq(resp_put_rrset(&r, SEC_ANSWER, named("\3FOO\7Example\3NET"), &a.rs), 0);
	ck_assert_mem_eq(buf + 121, "\xc0\x46\0\1", 4);
	ck_assert_uint_eq(r.len, 137);

	/* a CNAME written by hand: owner and target compressed (before the
	 * authority records: sections go in order) */
	ck_assert_int_eq(resp_put_cname(&r, named("\5alias\7example\3com"), 300,
					(const uint8_t *)WWW),
			 0);
	ck_assert_mem_eq(buf + 137, "\5alias\xc0\x10\0\5\0\1\0\0\1\x2c\0\2\xc0\x0c", 20);
	ck_assert_uint_eq(r.len, 157);
	/* NS rdata is compressed (RFC 1035 §3.3.11, RFC 3597 §4) */
	rs_init(&ns, RRTYPE_NS, 60);
	rs_add(&ns, "\3ns1\7example\3com", 17);
	ck_assert_int_eq(resp_put_rrset(&r, SEC_AUTHORITY, owner_qname_suffix(&q, 1), &ns.rs), 0);
	ck_assert_mem_eq(buf + 157, "\xc0\x10\0\2\0\1\0\0\0\x3c\0\6\3ns1\xc0\x10", 18);
	ck_assert_uint_eq(r.len, 175);
	/* MX: after the preference; mail.example.com. was written at 49 */
	rs_init(&mx, RRTYPE_MX, 60);
	rs_add(&mx, "\0\x0a\4mail\7example\3com", 20);
	ck_assert_int_eq(resp_put_rrset(&r, SEC_AUTHORITY, owner_qname_suffix(&q, 1), &mx.rs), 0);
	ck_assert_mem_eq(buf + 175, "\xc0\x10\0\x0f\0\1\0\0\0\x3c\0\4\0\x0a\xc0\x31", 16);
	ck_assert_uint_eq(r.len, 191);
	/* DNAME rdata is never compressed (RFC 6672 §2.5) */
	rs_init(&dn, RRTYPE_DNAME, 60);
	rs_add(&dn, "\7example\3com", 13);
	ck_assert_int_eq(resp_put_rrset(&r, SEC_ADDITIONAL, owner_qname_suffix(&q, 1), &dn.rs), 0);
	ck_assert_mem_eq(buf + 191, "\xc0\x10\0\x27\0\1\0\0\0\x3c\0\x0d\7example\3com\0", 25);
	ck_assert_uint_eq(r.len, 216);
	ck_assert_uint_eq(r.count[SEC_ANSWER], 6);
	ck_assert_uint_eq(r.count[SEC_AUTHORITY], 2);
	ck_assert_uint_eq(r.count[SEC_ADDITIONAL], 1);

	ldns_pkt *p = parse_back(&r);
	ldns_rr_list *an = ldns_pkt_answer(p), *au = ldns_pkt_authority(p);
	assert_owner(an, 0, "www.example.com.");
	assert_owner(an, 1, "mail.example.com.");
	assert_owner(an, 2, "foo.example.net.");
	assert_owner(an, 3, "bar.example.net.");
	assert_owner(an, 4, "foo.example.net.");
	assert_owner(an, 5, "alias.example.com.");
	assert_rdf_name(an, 5, 0, "www.example.com.");
	assert_rdf_name(au, 0, 0, "ns1.example.com.");
	assert_rdf_name(au, 1, 1, "mail.example.com.");
	ldns_pkt_free(p);
}
END_TEST

START_TEST(compression_soa_and_set)
{
	struct query q;
	mkquery(&q, "example.com.", RRTYPE_SOA, false);
	/* question: example@12 com@20 root@24 */
	uint8_t buf[1024];
	struct resp r;
	resp_init(&r, buf, sizeof(buf), &q);
	static struct rs_buf soa, ns;
	rs_init(&soa, RRTYPE_SOA, 3600);
	rs_add(&soa,
	       "\3ns1\7example\3com\0\12hostmaster\7example\3com\0"
	       "\0\0\0\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0\0\5",
	       17 + 24 + 20);
	size_t at = r.len;
	ck_assert_int_eq(resp_put_rrset(&r, SEC_ANSWER, owner_qname(), &soa.rs), 0);
	ck_assert_mem_eq(buf + at, "\xc0\x0c\0\6\0\1\0\0\x0e\x10\0\x27\3ns1\xc0\x0c\12hostmaster\xc0\x0c", 12 + 6 + 13);
	ck_assert_mem_eq(buf + at + 31, "\0\0\0\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0\0\5", 20);
	ck_assert_uint_eq(r.len, at + 51);

	/* a set under a name written in full: the 2nd and 3rd owners point at
	 * the 1st, the 2nd target points at the 1st target's suffix */
	rs_init(&ns, RRTYPE_NS, 60);
	rs_add(&ns, "\1a\3nsx\7example\3org", 19);
	rs_add(&ns, "\1b\3nsx\7example\3org", 19);
	rs_add(&ns, "\1a\3nsx\7example\3org", 19); /* a duplicate: written again */
	at = r.len;
	ck_assert_int_eq(resp_put_rrset(&r, SEC_AUTHORITY, named("\3sub\7example\3org"), &ns.rs), 0);
	ck_assert_uint_eq(r.count[SEC_AUTHORITY], 3);
	/* 1st: owner in full (17) + 10 + "a.nsx" + ptr to example.org (in the owner) */
	ck_assert_mem_eq(buf + at, "\3sub\7example\3org\0\0\2\0\1\0\0\0\x3c\0\x08\1a\3nsx", 17 + 10 + 6);
	ldns_pkt *p = parse_back(&r);
	ldns_rr_list *au = ldns_pkt_authority(p);
	for (int i = 0; i < 3; i++)
		assert_owner(au, (size_t)i, "sub.example.org.");
	assert_rdf_name(au, 0, 0, "a.nsx.example.org.");
	assert_rdf_name(au, 1, 0, "b.nsx.example.org.");
	assert_rdf_name(au, 2, 0, "a.nsx.example.org.");
	assert_rdf_name(ldns_pkt_answer(p), 0, 1, "hostmaster.example.com.");
	/* each later owner is a bare pointer */
	size_t first = 17 + 10 + 8;
	ck_assert_uint_eq(buf[at + first], 0xc0);
	ck_assert_uint_eq(buf[at + first + 1], at);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(compression_not_for_other_types)
{
	/* SRV (RFC 2782) and TXT rdata go out as stored */
	struct query q;
	mkquery(&q, "www.example.com.", RRTYPE_SRV, false);
	uint8_t buf[1024];
	struct resp r;
	resp_init(&r, buf, sizeof(buf), &q);
	static struct rs_buf srv;
	rs_init(&srv, RRTYPE_SRV, 60);
	rs_add(&srv, "\0\1\0\2\0\x35" WWW, 6 + 17);
	size_t at = r.len;
	ck_assert_int_eq(resp_put_rrset(&r, SEC_ANSWER, owner_qname(), &srv.rs), 0);
	ck_assert_mem_eq(buf + at + 12, "\0\1\0\2\0\x35" WWW, 6 + 17);
	ck_assert_uint_eq(r.len, at + 2 + 10 + 23);
}
END_TEST

START_TEST(compression_far_offsets)
{
	/* pointers hold 14 bits: names written past 0x3fff are not targets */
	struct query q;
	mkquery(&q, "www.example.com.", RRTYPE_TXT, false);
	q.tcp = true;
	static uint8_t buf[65535];
	struct resp r;
	resp_init(&r, buf, sizeof(buf), &q);
	static struct rs_buf txt, a;
	rs_init(&txt, RRTYPE_TXT, 60);
	uint8_t chunk[256];
	memset(chunk, 'x', sizeof(chunk));
	chunk[0] = 255;
	for (int i = 0; i < 80; i++)
		rs_add(&txt, chunk, 256);
	ck_assert_int_eq(resp_put_rrset(&r, SEC_ANSWER, owner_qname(), &txt.rs), 0);
	ck_assert_uint_gt(r.len, 0x4000);
	rs_init(&a, RRTYPE_A, 60);
	rs_add(&a, "\1\2\3\4", 4);
	rs_add(&a, "\5\6\7\x08", 4);
	size_t at = r.len;
	ck_assert_int_eq(resp_put_rrset(&r, SEC_ANSWER, named("\3far\7example\3org"), &a.rs), 0);
	/* both owners in full: the first is out of pointer reach */
	ck_assert_mem_eq(buf + at, "\3far\7example\3org\0", 17);
	ck_assert_mem_eq(buf + at + 17 + 14, "\3far\7example\3org\0", 17);
	at = r.len;
	ck_assert_int_eq(resp_put_rrset(&r, SEC_ANSWER, named("\3far\7example\3org"), &a.rs), 0);
	ck_assert_mem_eq(buf + at, "\3far\7example\3org\0", 17);
	/* a name whose suffix is near the start still compresses */
	at = r.len;
	ck_assert_int_eq(resp_put_rrset(&r, SEC_ANSWER, named("\4near\7example\3com"), &a.rs), 0);
	ck_assert_mem_eq(buf + at, "\4near\xc0\x10", 7);
	ldns_pkt *p = parse_back(&r);
	ldns_rr_list *an = ldns_pkt_answer(p);
	ck_assert_uint_eq(ldns_rr_list_rr_count(an), 80 + 6);
	assert_owner(an, 80, "far.example.org.");
	assert_owner(an, 83, "far.example.org.");
	assert_owner(an, 84, "near.example.com.");
	assert_owner(an, 85, "near.example.com.");
	ldns_pkt_free(p);
}
END_TEST

START_TEST(compression_many_names)
{
	/* more label starts than the dictionary holds: still a valid message */
	struct query q;
	mkquery(&q, "www.example.com.", RRTYPE_A, false);
	q.tcp = true;
	static uint8_t buf[65535];
	struct resp r;
	resp_init(&r, buf, sizeof(buf), &q);
	static struct rs_buf a;
	rs_init(&a, RRTYPE_A, 60);
	rs_add(&a, "\1\2\3\4", 4);
	for (int i = 0; i < 200; i++) {
		uint8_t name[64];
		char lab[16];
		int n = snprintf(lab, sizeof(lab), "h%d", i);
		name[0] = (uint8_t)n;
		memcpy(name + 1, lab, (size_t)n);
		memcpy(name + 1 + n, "\3sub\7example\3net", 17); /* with the root */
		ck_assert_int_eq(resp_put_rrset(&r, SEC_ANSWER, named(name), &a.rs), 0);
	}
	ck_assert_uint_le(r.ndict, RESP_DICT_MAX);
	ldns_pkt *p = parse_back(&r);
	ldns_rr_list *an = ldns_pkt_answer(p);
	ck_assert_uint_eq(ldns_rr_list_rr_count(an), 200);
	for (int i = 0; i < 200; i++) {
		char want[64];
		snprintf(want, sizeof(want), "h%d.sub.example.net.", i);
		assert_owner(an, (size_t)i, want);
	}
	ldns_pkt_free(p);
}
END_TEST

/* ---------------------------------------------------------------- rollback */

START_TEST(rollback_fast_path)
{
	struct query q;
	mkquery(&q, "www.example.com.", RRTYPE_A, false);
	uint8_t buf[1024];
	struct resp r;
	resp_init(&r, buf, sizeof(buf), &q);
	static struct rs_buf a;
	rs_init(&a, RRTYPE_A, 60);
	rs_add(&a, "\1\2\3\4", 4);
	rs_add(&a, "\5\6\7\x08", 4);
	size_t len = r.len;
	r.limit = len + 2 * 16 - 1; /* one octet short */
	memset(buf + len, 0xee, sizeof(buf) - len);
	ck_assert_int_eq(resp_put_rrset(&r, SEC_ANSWER, owner_qname(), &a.rs), -1);
	ck_assert_uint_eq(r.len, len);
	ck_assert_uint_eq(r.count[SEC_ANSWER], 0);
	ck_assert_uint_eq(buf[len + 31], 0xee); /* never past the limit */
	r.limit++;
	ck_assert_int_eq(resp_put_rrset(&r, SEC_ANSWER, owner_qname(), &a.rs), 0);
	ck_assert_uint_eq(r.len, len + 32);
	ck_assert_uint_eq(r.count[SEC_ANSWER], 2);
}
END_TEST

START_TEST(rollback_slow_path_whole_set)
{
	struct query q;
	mkquery(&q, "www.example.com.", RRTYPE_A, false);
	uint8_t buf[1024];
	struct resp r;
	resp_init(&r, buf, sizeof(buf), &q);
	static struct rs_buf ns, a;
	rs_init(&ns, RRTYPE_NS, 60);
	rs_add(&ns, "\3ns1\7example\3net", 17);
	rs_add(&ns, "\3ns2\7example\3net", 17);
	rs_add(&ns, "\3ns3\7example\3net", 17);
	/* sizes: 17+10+6 = 33, then 2+10+6 = 18 twice: 69 in all */
	size_t len = r.len;
	uint16_t counts[3] = {r.count[0], r.count[1], r.count[2]};
	for (size_t room = 0; room < 69; room++) {
		r.limit = len + room;
		ck_assert_int_eq(resp_put_rrset(&r, SEC_AUTHORITY, named("\3foo\7example\3net"), &ns.rs),
				 -1);
		ck_assert_uint_eq(r.len, len);
		ck_assert_mem_eq(r.count, counts, sizeof(counts));
	}
	/* nothing of the rolled-back names may be a compression target now:
	 * bar.example.net. goes out in full */
	r.limit = sizeof(buf);
	rs_init(&a, RRTYPE_A, 60);
	rs_add(&a, "\1\2\3\4", 4);
	ck_assert_int_eq(resp_put_rrset(&r, SEC_ANSWER, named("\3bar\7example\3net"), &a.rs), 0);
	ck_assert_mem_eq(buf + len, "\3bar\7example\3net\0", 17);
	r.limit = r.len + 69;
	ck_assert_int_eq(resp_put_rrset(&r, SEC_AUTHORITY, named("\3foo\7example\3net"), &ns.rs), 0);
	ck_assert_uint_eq(r.count[SEC_AUTHORITY], 3);
	ldns_pkt *p = parse_back(&r);
	assert_owner(ldns_pkt_answer(p), 0, "bar.example.net.");
	assert_rdf_name(ldns_pkt_authority(p), 2, 0, "ns3.example.net.");
	ldns_pkt_free(p);
}
END_TEST

START_TEST(rollback_cname)
{
	struct query q;
	mkquery(&q, "www.example.com.", RRTYPE_A, false);
	uint8_t buf[1024];
	struct resp r;
	resp_init(&r, buf, sizeof(buf), &q);
	size_t len = r.len;
	/* owner 2 + fixed 10 + "\3abc\7example\3org" 17 = 29 */
	for (size_t room = 0; room < 29; room++) {
		r.limit = len + room;
		ck_assert_int_eq(resp_put_cname(&r, owner_qname(), 60,
						(const uint8_t *)"\3abc\7example\3org"),
				 -1);
		ck_assert_uint_eq(r.len, len);
		ck_assert_uint_eq(r.count[SEC_ANSWER], 0);
	}
	r.limit = len + 29;
	ck_assert_int_eq(resp_put_cname(&r, owner_qname(), 60, (const uint8_t *)"\3abc\7example\3org"),
			 0);
	ck_assert_uint_eq(r.len, len + 29);
	ck_assert_uint_eq(r.count[SEC_ANSWER], 1);
}
END_TEST

START_TEST(rollback_chaos_txt)
{
	struct query q;
	mkquery(&q, "version.bind.", RRTYPE_TXT, false);
	uint8_t buf[512];
	struct resp r;
	resp_init(&r, buf, sizeof(buf), &q);
	size_t len = r.len;
	r.limit = len + 2 + 10 + 1 + 9 - 1;
	ck_assert_int_eq(resp_put_chaos_txt(&r, "shoal 1.0"), -1);
	ck_assert_uint_eq(r.len, len);
	ck_assert_uint_eq(r.count[SEC_ANSWER], 0);
	r.limit++;
	ck_assert_int_eq(resp_put_chaos_txt(&r, "shoal 1.0"), 0);
	ck_assert_mem_eq(buf + len, "\xc0\x0c\0\x10\0\3\0\0\0\0\0\x0a\x09shoal 1.0", 22);
	ck_assert_uint_eq(r.count[SEC_ANSWER], 1);
}
END_TEST

START_TEST(chaos_txt_long_text)
{
	struct query q;
	mkquery(&q, "version.bind.", RRTYPE_TXT, false);
	static uint8_t buf[2048];
	struct resp r;
	resp_init(&r, buf, sizeof(buf), &q);
	char text[301];
	memset(text, 'v', 300);
	text[300] = 0;
	size_t len = r.len;
	ck_assert_int_eq(resp_put_chaos_txt(&r, text), 0);
	/* one character-string: 255 octets at most */
	ck_assert_uint_eq(buf[len + 10], 1);
	ck_assert_uint_eq(buf[len + 11], 0);
	ck_assert_uint_eq(buf[len + 12], 255);
	ck_assert_uint_eq(r.len, len + 12 + 1 + 255);
}
END_TEST

/* ---------------------------------------------------------------- OPT */

START_TEST(opt_layout_with_nsid)
{
	struct query q;
	mkquery(&q, "www.example.com.", RRTYPE_A, true);
	uint8_t buf[512];
	struct resp r;
	resp_init(&r, buf, sizeof(buf), &q);
	size_t at = r.len;
	ck_assert_uint_eq(resp_opt_size(3, true, 0), 11 + 4 + 3);
	resp_put_opt(&r, 1232, 1, true, (const uint8_t *)"ns1", 3, NULL, 0, -1);
	/* RFC 6891 §6.1.2: NAME 0 | TYPE 41 | CLASS = UDP size | TTL = EXT-RCODE,
	 * VERSION, DO|Z, Z | RDLEN | {OPTION-CODE, OPTION-LENGTH, DATA}*;
	 * RFC 5001 §2.3: NSID is option 3 */
	static const uint8_t want[] = {
		0x00,		  /* root */
		0x00, 0x29,	  /* OPT */
		0x04, 0xd0,	  /* 1232 */
		0x01,		  /* extended RCODE: upper 8 bits of 12 */
		0x00,		  /* version 0 */
		0x80, 0x00,	  /* DO, Z = 0 */
		0x00, 0x07,	  /* RDLEN */
		0x00, 0x03,	  /* NSID */
		0x00, 0x03, 'n', 's', '1',
	};
	ck_assert_uint_eq(r.len, at + sizeof(want));
	ck_assert_mem_eq(buf + at, want, sizeof(want));
	ck_assert_uint_eq(r.count[SEC_ADDITIONAL], 1);
	ck_assert_uint_eq(resp_finish(&r), at + sizeof(want));
	ck_assert_mem_eq(buf + 10, "\0\1", 2);
	ldns_pkt *p = NULL;
	ck_assert_int_eq(ldns_wire2pkt(&p, buf, r.len), LDNS_STATUS_OK);
	ck_assert(ldns_pkt_edns(p));
	ck_assert_uint_eq(ldns_pkt_edns_udp_size(p), 1232);
	ck_assert_uint_eq(ldns_pkt_edns_extended_rcode(p), 1);
	ck_assert(ldns_pkt_edns_do(p));
	ck_assert_uint_eq(ldns_pkt_edns_version(p), 0);
	ldns_pkt_free(p);
}
END_TEST

START_TEST(opt_layout_plain)
{
	struct query q;
	mkquery(&q, "www.example.com.", RRTYPE_A, true);
	uint8_t buf[512];
	struct resp r;
	resp_init(&r, buf, sizeof(buf), &q);
	size_t at = r.len;
	ck_assert_uint_eq(resp_opt_size(0, false, 0), 11);
	ck_assert_uint_eq(resp_opt_size(40, false, 0), 11);
	resp_put_opt(&r, 4096, 0, false, NULL, 0, NULL, 0, -1);
	ck_assert_uint_eq(r.len, at + 11);
	ck_assert_mem_eq(buf + at, "\0\0\x29\x10\0\0\0\0\0\0\0", 11);
}
END_TEST

START_TEST(opt_not_subject_to_limit)
{
	/* the caller keeps room for the OPT: the writer puts it even when the
	 * limit is reached (the buffer still has room) */
	struct query q;
	mkquery(&q, "www.example.com.", RRTYPE_A, true);
	uint8_t buf[512];
	struct resp r;
	resp_init(&r, buf, sizeof(buf), &q);
	size_t at = r.len;
	r.limit = r.len;
	resp_put_opt(&r, 1232, 0, true, NULL, 0, NULL, 0, -1);
	ck_assert_uint_eq(r.len, at + 11);
}
END_TEST

static Suite *response_suite(void)
{
	Suite *s = suite_create("response");
	TCase *t = tcase_create("header");
	tcase_add_test(t, init_header_echo);
	tcase_add_test(t, flags_and_rcode);
	suite_add_tcase(s, t);

	t = tcase_create("compression");
	tcase_add_test(t, compression_byte_exact);
	tcase_add_test(t, compression_soa_and_set);
	tcase_add_test(t, compression_not_for_other_types);
	tcase_add_test(t, compression_far_offsets);
	tcase_add_test(t, compression_many_names);
	suite_add_tcase(s, t);

	t = tcase_create("rollback");
	tcase_add_test(t, rollback_fast_path);
	tcase_add_test(t, rollback_slow_path_whole_set);
	tcase_add_test(t, rollback_cname);
	tcase_add_test(t, rollback_chaos_txt);
	tcase_add_test(t, chaos_txt_long_text);
	suite_add_tcase(s, t);

	t = tcase_create("opt");
	tcase_add_test(t, opt_layout_with_nsid);
	tcase_add_test(t, opt_layout_plain);
	tcase_add_test(t, opt_not_subject_to_limit);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(response_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
