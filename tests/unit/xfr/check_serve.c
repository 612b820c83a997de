/* check_serve.c: TSIG-signed queries and zone transfers out
 * (src/xfr/serve.c), as serve.h states the rules. Requests are built and
 * signed by ldns, answers parsed and their TSIGs verified by ldns against
 * the same key (ldns_pkt_tsig_verify for a single answer,
 * ldns_pkt_tsig_verify_next along a stream). The access rules come from a
 * configuration read with conf_load_buf and hung on the zonedb, as a
 * reload publishes it. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <ldns/ldns.h>

#include "answer/answer.h"
#include "dns/query.h"
#include "dns/tsig.h"
#include "ops/conf.h"
#include "unit.h"
#include "xfr/axfr.h"
#include "xfr/serve.h"
#include "zone/journal.h"
#include "zone/zone_diff.h"
#include "zone/zonedb.h"

#define ORIGIN "serve.test."
#define NOACL "noacl.test."
#define KEY "xfr-key."
#define SECRET "c2hvYWwtc2VydmUtdGVzdC1rZXktMDEyMzQ1Njc4OSE="
#define OTHER_KEY "other-key."
#define OTHER_SECRET "YW5vdGhlci1rZXktZm9yLXNob2FsLXRlc3RzLTAwMDE="
#define ALG "hmac-sha256."
#define QID 0x3131

/* The acl of serve.test: 192.0.2.66 denied whatever it signs with,
 * 127.0.0.0/8 unsigned, 192.0.2.0/24 with xfr-key. noacl.test has none. */
static const char SERVE_CONF[] = "key:\n"
                                 "  - id: " KEY "\n"
                                 "    algorithm: hmac-sha256\n"
                                 "    secret: " SECRET "\n"
                                 "  - id: " OTHER_KEY "\n"
                                 "    algorithm: hmac-sha256\n"
                                 "    secret: " OTHER_SECRET "\n"
                                 "acl:\n"
                                 "  - id: deny-66\n"
                                 "    address: 192.0.2.66\n"
                                 "    action: transfer\n"
                                 "    deny: on\n"
                                 "  - id: local\n"
                                 "    address: 127.0.0.0/8\n"
                                 "    action: transfer\n"
                                 "  - id: keyed\n"
                                 "    address: 192.0.2.0/24\n"
                                 "    key: " KEY "\n"
                                 "    action: transfer\n"
                                 "zone:\n"
                                 "  - domain: " ORIGIN "\n"
                                 "    acl: [deny-66, local, keyed]\n"
                                 "  - domain: " NOACL "\n";

static const char *const ZONE[] = {
    "@ 3600 SOA ns1 hostmaster 7 7200 3600 1209600 300",
    "@ 3600 NS ns1",
    "ns1 3600 A 192.0.2.1",
    "www 3600 A 192.0.2.80",
    "www 3600 AAAA 2001:db8::80",
    "mail 3600 A 192.0.2.25",
    "@ 3600 MX 10 mail",
    NULL,
};

static const char *const NOACL_ZONE[] = {
    "@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300",
    "@ 3600 NS ns1",
    "ns1 3600 A 192.0.2.2",
    NULL,
};

static void diag_print(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

static struct conf *load_conf(void)
{
	struct conf *c = NULL;
	ck_assert_int_eq(
	    conf_load_buf("serve.conf", SERVE_CONF, strlen(SERVE_CONF), diag_print, NULL, &c), 0);
	ck_assert_ptr_nonnull(c);
	return c;
}

/* The zonedb of `zones` (refs 0 each: the db holds them), with SERVE_CONF. */
static struct zonedb *make_db(struct zone **zones, size_t n)
{
	struct zonedb *db = zonedb_new(zones, n);
	ck_assert_ptr_nonnull(db);
	db->conf = load_conf(); /* dropped by zonedb_free */
	return db;
}

/* serve.test (with `extra` more hosts) and noacl.test. */
static struct zonedb *std_db(unsigned extra)
{
	static char *text[4096];
	size_t n = 0;
	for (size_t i = 0; ZONE[i]; i++)
		text[n++] = strdup(ZONE[i]);
	char rr[128];
	ck_assert_uint_lt(extra, 4000);
	for (unsigned i = 0; i < extra; i++) {
		snprintf(rr, sizeof(rr), "host%u 3600 A 10.0.%u.%u", i, i >> 8, i & 255);
		text[n++] = strdup(rr);
	}
	text[n] = NULL;
	struct zone *zs[2] = {ut_zone(ORIGIN, (const char *const *)text),
	                      ut_zone(NOACL, NOACL_ZONE)};
	for (size_t i = 0; i < n; i++)
		free(text[i]);
	return make_db(zs, 2);
}

/* ---------------------------------------------------------------- requests */

struct req {
	const char *name;     /* default ORIGIN */
	ldns_rr_type type;    /* default AXFR */
	ldns_rr_class qclass; /* default IN */
	bool edns;
	uint16_t edns_size; /* default 1232 */
	bool soa;           /* an SOA of `name` in authority, with `serial` */
	uint32_t serial;
	const char *soa_owner;    /* the SOA's owner instead of `name` */
	const char *key, *secret; /* sign with ldns */
	bool tcp;
	const char *addr; /* default 127.0.0.1 */
	bool notify;      /* opcode NOTIFY (AA set); `soa` then goes in the answer section */
};

struct sent {
	uint8_t wire[4096];
	size_t len;
	struct query q;
	enum query_status st;
	struct sockaddr_in sin;
	ldns_rdf *mac; /* the request's MAC (signed), else NULL */
};

static void build(const struct req *r, struct sent *s)
{
	memset(s, 0, sizeof(*s));
	const char *name = r->name ? r->name : ORIGIN;
	ldns_rdf *qn = ldns_dname_new_frm_str(name);
	ck_assert_ptr_nonnull(qn);
	ldns_pkt *p = ldns_pkt_query_new(qn, r->type ? r->type : LDNS_RR_TYPE_AXFR,
	                                 r->qclass ? r->qclass : LDNS_RR_CLASS_IN, 0);
	ck_assert_ptr_nonnull(p);
	ldns_pkt_set_id(p, QID);
	if (r->notify) {
		ldns_pkt_set_opcode(p, LDNS_PACKET_NOTIFY);
		ldns_pkt_set_aa(p, true);
		ldns_pkt_set_rd(p, false);
	}
	if (r->edns)
		ldns_pkt_set_edns_udp_size(p, r->edns_size ? r->edns_size : 1232);
	if (r->soa) {
		char text[512];
		snprintf(text, sizeof(text),
		         "%s 3600 IN SOA ns1.%s hostmaster.%s %u 7200 3600 1209600 300",
		         r->soa_owner ? r->soa_owner : name, name, name, r->serial);
		ldns_rr *rr = NULL;
		ck_assert_int_eq(ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, r->notify ? LDNS_SECTION_ANSWER : LDNS_SECTION_AUTHORITY, rr);
	}
	if (r->key) {
		ck_assert_int_eq(ldns_pkt_tsig_sign(p, r->key, r->secret, 300, ALG, NULL),
		                 LDNS_STATUS_OK);
		s->mac = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(p), 3));
	}
	uint8_t *w = NULL;
	ck_assert_int_eq(ldns_pkt2wire(&w, p, &s->len), LDNS_STATUS_OK);
	ck_assert_uint_le(s->len, sizeof(s->wire));
	memcpy(s->wire, w, s->len);
	free(w);
	ldns_pkt_free(p);
	s->st = query_parse(&s->q, s->wire, s->len, r->tcp);
	s->sin.sin_family = AF_INET;
	s->sin.sin_port = htons(5353);
	ck_assert_int_eq(inet_pton(AF_INET, r->addr ? r->addr : "127.0.0.1", &s->sin.sin_addr), 1);
	s->q.addr = (const struct sockaddr *)&s->sin;
}

static void sent_free(struct sent *s)
{
	ldns_rdf_deep_free(s->mac);
	s->mac = NULL;
}

static struct answer_cfg cfg_of(unsigned xfr_max)
{
	struct answer_cfg c = {.edns_size = 1232, .xfr_max = xfr_max};
	return c;
}

static uint8_t out[65536];

/* Send `s` to serve_request (TCP: with a stream pointer). */
static size_t serve(const struct answer_cfg *cfg, const struct zonedb *db, struct sent *s,
                    struct xfr_out **xo, uint64_t now, struct answer_info *info)
{
	ck_assert(serve_wanted(&s->q, s->st));
	memset(info, 0xa5, sizeof(*info)); /* every flag must be written */
	return serve_request(cfg, db, &s->q, s->st, s->wire, s->len, out, sizeof(out),
	                     s->q.tcp ? xo : NULL, now, info);
}

static uint64_t now_s(void)
{
	return (uint64_t)time(NULL);
}

static ldns_pkt *parse(const uint8_t *w, size_t len)
{
	ldns_pkt *p = NULL;
	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(ldns_wire2pkt(&p, w, len), LDNS_STATUS_OK);
	ck_assert_uint_eq(ldns_pkt_id(p), QID);
	ck_assert(ldns_pkt_qr(p));
	return p;
}

/* The EDE info code in the OPT of p, -1 without one, -2 without an OPT. */
static int ede_of(const uint8_t *w, size_t len)
{
	ldns_pkt *p = parse(w, len);
	int ret = -2;
	if (ldns_pkt_edns(p)) {
		ret = -1;
		ldns_rdf *d = ldns_pkt_edns_data(p);
		const uint8_t *o = d ? ldns_rdf_data(d) : NULL;
		size_t n = d ? ldns_rdf_size(d) : 0, i = 0;
		while (i + 4 <= n) {
			unsigned code = (unsigned)(o[i] << 8 | o[i + 1]);
			unsigned olen = (unsigned)(o[i + 2] << 8 | o[i + 3]);
			ck_assert_uint_le(i + 4 + olen, n);
			if (code == EDNS_OPT_EDE) {
				ck_assert_uint_ge(olen, 2);
				ret = o[i + 4] << 8 | o[i + 5];
			}
			i += 4 + olen;
		}
	}
	ldns_pkt_free(p);
	return ret;
}

/* The answer is signed and ldns verifies it over the request's MAC. */
static void expect_signed(const uint8_t *w, size_t len, const char *key, const char *secret,
                          const ldns_rdf *reqmac)
{
	ldns_pkt *p = parse(w, len);
	ck_assert_msg(ldns_pkt_tsig(p) != NULL, "answer not signed");
	ck_assert_msg(ldns_pkt_tsig_verify(p, w, len, key, secret, reqmac),
	              "ldns rejects the answer's TSIG");
	ldns_pkt_free(p);
}

static void expect_unsigned(const uint8_t *w, size_t len)
{
	ldns_pkt *p = parse(w, len);
	ck_assert_ptr_null(ldns_pkt_tsig(p));
	ldns_pkt_free(p);
}

static int rcode_of(const uint8_t *w, size_t len)
{
	ldns_pkt *p = parse(w, len);
	int r = ldns_pkt_get_rcode(p);
	ldns_pkt_free(p);
	return r;
}

/* ---------------------------------------------------------------- streams */

struct xfr_res {
	unsigned messages;
	ldns_rr_list *rrs; /* every answer record, in order */
};

/* Read the first message (in `out`, `len` octets) and the rest of `xo` to
 * its end; each message checked, and its TSIG verified when `key`. */
static void drain(struct xfr_out *xo, size_t len, const char *key, const char *secret,
                  const ldns_rdf *reqmac, uint16_t qtype, struct xfr_res *res)
{
	memset(res, 0, sizeof(*res));
	res->rrs = ldns_rr_list_new();
	ldns_rdf *prev = reqmac ? ldns_rdf_clone(reqmac) : NULL;
	while (len > 0) {
		ck_assert_uint_lt(res->messages, 10000);
		ldns_pkt *p = parse(out, len);
		ck_assert(ldns_pkt_aa(p));
		ck_assert(!ldns_pkt_tc(p));
		ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
		ck_assert_uint_eq(ldns_pkt_qdcount(p), res->messages == 0 ? 1 : 0);
		if (res->messages == 0)
			ck_assert_int_eq(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(p), 0)),
			                 qtype);
		ck_assert_uint_gt(ldns_pkt_ancount(p), 0);
		if (key) {
			ck_assert_msg(ldns_pkt_tsig(p) != NULL, "message %u not signed",
			              res->messages);
			ck_assert_msg(ldns_pkt_tsig_verify_next(p, out, len, key, secret, prev,
			                                        res->messages > 0),
			              "ldns rejects the TSIG of message %u", res->messages);
			ldns_rdf_deep_free(prev);
			prev = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(p), 3));
		} else {
			ck_assert_ptr_null(ldns_pkt_tsig(p));
		}
		for (size_t i = 0; i < ldns_pkt_ancount(p); i++)
			ldns_rr_list_push_rr(res->rrs,
			                     ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_answer(p), i)));
		ldns_pkt_free(p);
		res->messages++;
		len = xfr_out_next(xo, out, sizeof(out), now_s());
	}
	ldns_rdf_deep_free(prev);
	ck_assert(!xfr_out_failed(xo));
	ck_assert_uint_eq(xfr_out_next(xo, out, sizeof(out), now_s()), 0);
}

static uint32_t soa_serial(const ldns_rr *rr)
{
	ck_assert_int_eq(ldns_rr_get_type(rr), LDNS_RR_TYPE_SOA);
	return ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
}

/* An AXFR form: SOA, every record of `db`'s zone once (counted), SOA. */
static void expect_whole(const struct xfr_res *res, const struct zone *z)
{
	size_t n = ldns_rr_list_rr_count(res->rrs);
	ck_assert_uint_eq(n, z->nrecords + 1);
	ck_assert_uint_eq(soa_serial(ldns_rr_list_rr(res->rrs, 0)), z->serial);
	ck_assert_uint_eq(soa_serial(ldns_rr_list_rr(res->rrs, n - 1)), z->serial);
	for (size_t i = 1; i + 1 < n; i++)
		ck_assert_int_ne(ldns_rr_get_type(ldns_rr_list_rr(res->rrs, i)), LDNS_RR_TYPE_SOA);
}

static const struct zone *zone_of(const struct zonedb *db, const char *name)
{
	for (size_t i = 0; i < db->nzones; i++) {
		char buf[DNAME_STR_MAX];
		dname_to_str(db->zones[i]->apex, buf, sizeof(buf));
		if (!strcasecmp(buf, name))
			return db->zones[i];
	}
	ck_abort_msg("no zone %s", name);
	return NULL;
}

/* ---------------------------------------------------------------- AXFR acl */

/* A refusal: REFUSED, EDE 18 with EDNS and no OPT without, no stream,
 * info->xfr_refused. */
static void expect_refused(struct zonedb *db, struct req r, const char *why)
{
	struct answer_cfg cfg = cfg_of(10);
	for (int edns = 0; edns < 2; edns++) {
		r.edns = edns;
		r.tcp = true;
		struct sent s;
		build(&r, &s);
		struct xfr_out *xo = (struct xfr_out *)&s; /* must be reset */
		struct answer_info info;
		size_t len = serve(&cfg, db, &s, &xo, now_s(), &info);
		ck_assert_ptr_null(xo);
		ck_assert_msg(rcode_of(out, len) == LDNS_RCODE_REFUSED, "%s: rcode %d", why,
		              rcode_of(out, len));
		ck_assert_msg(ede_of(out, len) == (edns ? 18 : -2), "%s (edns %d): EDE %d", why,
		              edns, ede_of(out, len));
		ck_assert_msg(info.xfr_refused, "%s: xfr_refused not set", why);
		ck_assert(!info.xfr);
		ck_assert(!info.tsig_failed);
		ck_assert_uint_eq(info.rcode, RCODE_REFUSED);
		if (r.key)
			expect_signed(out, len, r.key, r.secret, s.mac);
		else
			expect_unsigned(out, len);
		ck_assert_uint_eq(xfr_out_running(), 0);
		sent_free(&s);
	}
}

START_TEST(axfr_refused_no_acl)
{
	struct zonedb *db = std_db(0);
	expect_refused(db, (struct req){.name = NOACL}, "zone without acl");
	expect_refused(db, (struct req){.name = NOACL, .key = KEY, .secret = SECRET},
	               "zone without acl, signed");
	zonedb_free(db);
}
END_TEST

START_TEST(axfr_refused_address_outside)
{
	struct zonedb *db = std_db(0);
	expect_refused(db, (struct req){.addr = "198.51.100.7"}, "address outside");
	expect_refused(db, (struct req){.addr = "198.51.100.7", .key = KEY, .secret = SECRET},
	               "address outside, right key");
	/* 192.0.2.0/24 needs the key: unsigned is refused */
	expect_refused(db, (struct req){.addr = "192.0.2.10"}, "unsigned where a key is needed");
	zonedb_free(db);
}
END_TEST

START_TEST(axfr_refused_other_key)
{
	struct zonedb *db = std_db(0);
	expect_refused(db,
	               (struct req){.addr = "192.0.2.10", .key = OTHER_KEY, .secret = OTHER_SECRET},
	               "signed with another key");
	/* the unsigned-only rule of 127/8 does not take a signed request */
	expect_refused(db,
	               (struct req){.addr = "127.0.0.1", .key = OTHER_KEY, .secret = OTHER_SECRET},
	               "signed where unsigned is allowed");
	zonedb_free(db);
}
END_TEST

START_TEST(axfr_refused_deny_rule)
{
	struct zonedb *db = std_db(0);
	expect_refused(db, (struct req){.addr = "192.0.2.66"}, "deny rule, unsigned");
	expect_refused(db, (struct req){.addr = "192.0.2.66", .key = KEY, .secret = SECRET},
	               "deny rule, with the allowed key");
	zonedb_free(db);
}
END_TEST

/* No configuration at all: every transfer refused. */
START_TEST(axfr_refused_no_conf)
{
	struct zone *z = ut_zone(ORIGIN, ZONE);
	struct zonedb *db = zonedb_new(&z, 1);
	ck_assert_ptr_null(db->conf);
	expect_refused(db, (struct req){0}, "no configuration");
	zonedb_free(db);
}
END_TEST

/* Unsigned from 127.0.0.1 and signed from 192.0.2.10: the whole zone in
 * several messages, SOA first and last, every message signed when the
 * request was. */
START_TEST(axfr_allowed_stream)
{
	struct zonedb *db = std_db(2500);
	const struct zone *z = zone_of(db, ORIGIN);
	struct answer_cfg cfg = cfg_of(10);
	for (int keyed = 0; keyed < 2; keyed++) {
		struct req r = {.tcp = true, .edns = keyed};
		if (keyed) {
			r.addr = "192.0.2.10";
			r.key = KEY;
			r.secret = SECRET;
		}
		struct sent s;
		build(&r, &s);
		struct xfr_out *xo = NULL;
		struct answer_info info;
		size_t len = serve(&cfg, db, &s, &xo, now_s(), &info);
		ck_assert_ptr_nonnull(xo);
		ck_assert(info.xfr);
		ck_assert(!info.xfr_refused);
		ck_assert(!info.tsig_failed);
		ck_assert(info.aa);
		ck_assert_uint_eq(info.rcode, 0);
		ck_assert_uint_eq(xfr_out_running(), 1);
		struct xfr_res res;
		drain(xo, len, r.key, r.secret, s.mac, LDNS_RR_TYPE_AXFR, &res);
		ck_assert_uint_ge(res.messages, 3);
		expect_whole(&res, z);
		ck_assert_uint_eq(xfr_out_running(), 1); /* until freed */
		xfr_out_free(xo);
		ck_assert_uint_eq(xfr_out_running(), 0);
		ldns_rr_list_deep_free(res.rrs);
		sent_free(&s);
	}
	xfr_out_free(NULL);
	zonedb_free(db);
}
END_TEST

/* transfers-out 1: a second stream is refused while one runs. */
START_TEST(axfr_limit)
{
	struct zonedb *db = std_db(0);
	struct answer_cfg cfg = cfg_of(1);
	struct sent s;
	build(&(struct req){.tcp = true}, &s);
	struct xfr_out *a = NULL, *b = NULL;
	struct answer_info info;
	size_t len = serve(&cfg, db, &s, &a, now_s(), &info);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_gt(len, 0);
	ck_assert_uint_eq(xfr_out_running(), 1);

	len = serve(&cfg, db, &s, &b, now_s(), &info);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(rcode_of(out, len), LDNS_RCODE_REFUSED);
	ck_assert(info.xfr_refused);
	ck_assert(!info.xfr);
	ck_assert_uint_eq(xfr_out_running(), 1);

	xfr_out_free(a);
	ck_assert_uint_eq(xfr_out_running(), 0);
	len = serve(&cfg, db, &s, &b, now_s(), &info);
	ck_assert_ptr_nonnull(b);
	ck_assert(info.xfr);
	ck_assert_uint_eq(xfr_out_running(), 1);
	struct xfr_res res;
	drain(b, len, NULL, NULL, NULL, LDNS_RR_TYPE_AXFR, &res);
	expect_whole(&res, zone_of(db, ORIGIN));
	ldns_rr_list_deep_free(res.rrs);
	xfr_out_free(b);
	ck_assert_uint_eq(xfr_out_running(), 0);

	/* transfers-out 0: none at all */
	cfg = cfg_of(0);
	len = serve(&cfg, db, &s, &b, now_s(), &info);
	ck_assert_ptr_null(b);
	ck_assert_int_eq(rcode_of(out, len), LDNS_RCODE_REFUSED);
	ck_assert_uint_eq(xfr_out_running(), 0);
	sent_free(&s);
	zonedb_free(db);
}
END_TEST

/* A stream holds its version: the zonedb freed meanwhile changes nothing. */
START_TEST(axfr_outlives_db)
{
	struct zonedb *db = std_db(1500);
	size_t nrec = zone_of(db, ORIGIN)->nrecords;
	struct answer_cfg cfg = cfg_of(10);
	struct sent s;
	build(&(struct req){.tcp = true, .addr = "192.0.2.10", .key = KEY, .secret = SECRET}, &s);
	struct xfr_out *xo = NULL;
	struct answer_info info;
	size_t len = serve(&cfg, db, &s, &xo, now_s(), &info);
	ck_assert_ptr_nonnull(xo);
	/* keep the first message aside, free the db (zones and conf) */
	static uint8_t first[65536];
	memcpy(first, out, len);
	zonedb_free(db);
	memcpy(out, first, len);
	struct xfr_res res;
	drain(xo, len, KEY, SECRET, s.mac, LDNS_RR_TYPE_AXFR, &res);
	ck_assert_uint_eq(ldns_rr_list_rr_count(res.rrs), nrec + 1);
	ldns_rr_list_deep_free(res.rrs);
	xfr_out_free(xo);
	sent_free(&s);
}
END_TEST

/* ---------------------------------------------------------------- not ours */

START_TEST(axfr_notauth_and_class)
{
	struct zonedb *db = std_db(0);
	struct answer_cfg cfg = cfg_of(10);
	static const char *const names[] = {"www." ORIGIN, "nowhere.example.", "test."};
	for (size_t i = 0; i < 3; i++) {
		for (int keyed = 0; keyed < 2; keyed++) {
			struct sent s;
			build(&(struct req){.name = names[i],
			                    .tcp = true,
			                    .edns = true,
			                    .key = keyed ? KEY : NULL,
			                    .secret = SECRET},
			      &s);
			struct xfr_out *xo = NULL;
			struct answer_info info;
			size_t len = serve(&cfg, db, &s, &xo, now_s(), &info);
			ck_assert_ptr_null(xo);
			ck_assert_msg(rcode_of(out, len) == LDNS_RCODE_NOTAUTH, "%s: rcode %d",
			              names[i], rcode_of(out, len));
			ck_assert(!info.xfr && !info.tsig_failed);
			if (keyed)
				expect_signed(out, len, KEY, SECRET, s.mac);
			sent_free(&s);
		}
	}
	/* class CH: REFUSED */
	struct sent s;
	build(&(struct req){.qclass = LDNS_RR_CLASS_CH, .tcp = true}, &s);
	struct xfr_out *xo = NULL;
	struct answer_info info;
	size_t len = serve(&cfg, db, &s, &xo, now_s(), &info);
	ck_assert_ptr_null(xo);
	ck_assert_int_eq(rcode_of(out, len), LDNS_RCODE_REFUSED);
	ck_assert_uint_eq(xfr_out_running(), 0);
	zonedb_free(db);
}
END_TEST

/* ---------------------------------------------------------------- UDP, IXFR without journal */

START_TEST(axfr_udp_refused)
{
	struct zonedb *db = std_db(0);
	struct answer_cfg cfg = cfg_of(10);
	for (int keyed = 0; keyed < 2; keyed++) {
		struct sent s;
		build(&(struct req){.addr = keyed ? "192.0.2.10" : NULL,
		                    .key = keyed ? KEY : NULL,
		                    .secret = SECRET},
		      &s);
		struct answer_info info;
		size_t len = serve(&cfg, db, &s, NULL, now_s(), &info);
		ck_assert_int_eq(rcode_of(out, len), LDNS_RCODE_REFUSED);
		ck_assert(info.xfr_refused);
		ck_assert(!info.xfr);
		ck_assert_uint_le(len, 512);
		if (keyed)
			expect_signed(out, len, KEY, SECRET, s.mac);
		sent_free(&s);
	}
	ck_assert_uint_eq(xfr_out_running(), 0);
	zonedb_free(db);
}
END_TEST

/* Our SOA alone in the answer, AA, NOERROR. */
static void expect_soa_alone(const uint8_t *w, size_t len, uint32_t serial)
{
	ldns_pkt *p = parse(w, len);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	ck_assert(ldns_pkt_aa(p));
	ck_assert_uint_eq(ldns_pkt_ancount(p), 1);
	ck_assert_uint_eq(soa_serial(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), serial);
	ck_assert_uint_eq(ldns_pkt_nscount(p), 0);
	ldns_pkt_free(p);
}

START_TEST(ixfr_udp_soa_alone)
{
	struct zonedb *db = std_db(0);
	struct answer_cfg cfg = cfg_of(10);
	for (int keyed = 0; keyed < 2; keyed++) {
		struct sent s;
		build(&(struct req){.type = LDNS_RR_TYPE_IXFR,
		                    .soa = true,
		                    .serial = 3,
		                    .addr = keyed ? "192.0.2.10" : NULL,
		                    .key = keyed ? KEY : NULL,
		                    .secret = SECRET},
		      &s);
		struct answer_info info;
		size_t len = serve(&cfg, db, &s, NULL, now_s(), &info);
		expect_soa_alone(out, len, 7);
		ck_assert(!info.xfr && !info.xfr_refused && !info.tsig_failed);
		if (keyed)
			expect_signed(out, len, KEY, SECRET, s.mac);
		else
			expect_unsigned(out, len);
		sent_free(&s);
	}
	zonedb_free(db);
}
END_TEST

START_TEST(ixfr_without_soa_formerr)
{
	struct zonedb *db = std_db(0);
	struct answer_cfg cfg = cfg_of(10);
	for (int tcp = 0; tcp < 2; tcp++) {
		struct sent s;
		build(&(struct req){.type = LDNS_RR_TYPE_IXFR, .tcp = tcp}, &s);
		struct xfr_out *xo = NULL;
		struct answer_info info;
		size_t len = serve(&cfg, db, &s, &xo, now_s(), &info);
		ck_assert_ptr_null(xo);
		ck_assert_int_eq(rcode_of(out, len), LDNS_RCODE_FORMERR);
		ck_assert(!info.xfr);
		sent_free(&s);
		/* an SOA of another name does not count */
		build(&(struct req){.type = LDNS_RR_TYPE_IXFR,
		                    .tcp = tcp,
		                    .soa = true,
		                    .serial = 1,
		                    .soa_owner = NOACL},
		      &s);
		len = serve(&cfg, db, &s, &xo, now_s(), &info);
		ck_assert_ptr_null(xo);
		ck_assert_int_eq(rcode_of(out, len), LDNS_RCODE_FORMERR);
		sent_free(&s);
		/* its owner in other letter case does */
		build(&(struct req){.type = LDNS_RR_TYPE_IXFR,
		                    .tcp = tcp,
		                    .soa = true,
		                    .serial = 7,
		                    .soa_owner = "SERVE.Test."},
		      &s);
		len = serve(&cfg, db, &s, &xo, now_s(), &info);
		ck_assert_ptr_null(xo);
		expect_soa_alone(out, len, 7);
		sent_free(&s);
	}
	ck_assert_uint_eq(xfr_out_running(), 0);
	zonedb_free(db);
}
END_TEST

/* The client has our serial, or a newer one (RFC 1982): the SOA alone,
 * over TCP too, with no stream. */
START_TEST(ixfr_current_soa_alone)
{
	struct zonedb *db = std_db(0);
	struct answer_cfg cfg = cfg_of(10);
	static const uint32_t serials[] = {7, 8, 1000, 7 + 0x7fffffffu};
	for (size_t i = 0; i < sizeof(serials) / sizeof(serials[0]); i++) {
		struct sent s;
		build(
		    &(struct req){
		        .type = LDNS_RR_TYPE_IXFR, .tcp = true, .soa = true, .serial = serials[i]},
		    &s);
		struct xfr_out *xo = (struct xfr_out *)&s;
		struct answer_info info;
		size_t len = serve(&cfg, db, &s, &xo, now_s(), &info);
		ck_assert_msg(xo == NULL, "serial %u: a stream", serials[i]);
		expect_soa_alone(out, len, 7);
		ck_assert(!info.xfr);
		sent_free(&s);
	}
	/* older (wrapping around 0), and undefined (2^31 apart): a transfer,
	 * the whole zone since there is no journal */
	static const uint32_t older[] = {6, 0x80000008u, 0x80000007u};
	for (size_t i = 0; i < 3; i++) {
		struct sent s;
		build(
		    &(struct req){
		        .type = LDNS_RR_TYPE_IXFR, .tcp = true, .soa = true, .serial = older[i]},
		    &s);
		struct xfr_out *xo = NULL;
		struct answer_info info;
		size_t len = serve(&cfg, db, &s, &xo, now_s(), &info);
		ck_assert_msg(xo != NULL, "serial %u: no stream", older[i]);
		ck_assert(info.xfr);
		struct xfr_res res;
		drain(xo, len, NULL, NULL, NULL, LDNS_RR_TYPE_IXFR, &res);
		expect_whole(&res, zone_of(db, ORIGIN));
		ldns_rr_list_deep_free(res.rrs);
		xfr_out_free(xo);
		sent_free(&s);
	}
	zonedb_free(db);
}
END_TEST

/* ---------------------------------------------------------------- IXFR from a journal */

static void rr_expect(const ldns_rr *rr, const char *text)
{
	ldns_rr *want = NULL;
	ck_assert_int_eq(ldns_rr_new_frm_str(&want, text, 3600, NULL, NULL), LDNS_STATUS_OK);
	ldns_rr *got = ldns_rr_clone(rr);
	ldns_rr2canonical(got);
	ldns_rr2canonical(want);
	if (ldns_rr_compare(got, want) != 0 || ldns_rr_ttl(got) != ldns_rr_ttl(want)) {
		char *g = ldns_rr2str(got);
		ck_abort_msg("got %s want %s", g, text);
	}
	ldns_rr_free(got);
	ldns_rr_free(want);
}

struct jfix {
	char dir[512];
	struct journal *j;
	struct zone *old; /* held by us */
	struct zonedb *db;
};

/* Versions old (serial 7) and new (8, one record changed), the
 * difference in a journal attached to new, a db serving new. */
static void jfix_make(struct jfix *f, const char *const *old_text, const char *const *new_text)
{
	ut_tmpdir(f->dir, sizeof(f->dir));
	f->old = ut_zone(ORIGIN, old_text);
	zone_ref(f->old);
	struct zone *nz = ut_zone(ORIGIN, new_text);
	struct changeset *cs = NULL;
	ck_assert_int_eq(zone_diff(f->old, nz, &cs), 0);
	char path[1024];
	ut_path(path, sizeof(path), f->dir, "serve.test.journal");
	f->j = journal_open(path, f->old->serial, 0, 0, NULL, NULL);
	ck_assert_ptr_nonnull(f->j);
	ck_assert_int_eq(journal_append(f->j, cs), 0);
	changeset_unref(cs);
	nz->journal = f->j;
	f->db = make_db(&nz, 1);
}

static void jfix_free(struct jfix *f)
{
	zonedb_free(f->db);
	zone_unref(f->old);
	journal_close(f->j);
	ut_rmtree(f->dir);
}

static const char *const V7[] = {
    "@ 3600 SOA ns1 hostmaster 7 7200 3600 1209600 300",
    "@ 3600 NS ns1",
    "ns1 3600 A 192.0.2.1",
    "www 3600 A 192.0.2.80",
    "mail 3600 A 192.0.2.25",
    "a 3600 A 192.0.2.101",
    "b 3600 A 192.0.2.102",
    "c 3600 A 192.0.2.103",
    NULL,
};
static const char *const V8[] = {
    "@ 3600 SOA ns1 hostmaster 8 7200 3600 1209600 300",
    "@ 3600 NS ns1",
    "ns1 3600 A 192.0.2.1",
    "www 3600 A 192.0.2.81",
    "mail 3600 A 192.0.2.25",
    "a 3600 A 192.0.2.101",
    "b 3600 A 192.0.2.102",
    "c 3600 A 192.0.2.103",
    NULL,
};
/* a, b, c, www and mail all changed: 2 + 5 + 5 records, more than the 8
 * of the zone */
static const char *const V8_MANY[] = {
    "@ 3600 SOA ns1 hostmaster 8 7200 3600 1209600 300",
    "@ 3600 NS ns1",
    "ns1 3600 A 192.0.2.1",
    "www 3600 A 192.0.2.81",
    "mail 3600 A 192.0.2.26",
    "a 3600 A 192.0.2.201",
    "b 3600 A 192.0.2.202",
    "c 3600 A 192.0.2.203",
    NULL,
};

#define SOA_TEXT(n)                                                                                \
	ORIGIN " 3600 IN SOA ns1." ORIGIN " hostmaster." ORIGIN " " #n " 7200 3600 1209600 300"

START_TEST(ixfr_from_journal)
{
	struct jfix f;
	jfix_make(&f, V7, V8);
	struct answer_cfg cfg = cfg_of(10);
	for (int keyed = 0; keyed < 2; keyed++) {
		struct sent s;
		build(&(struct req){.type = LDNS_RR_TYPE_IXFR,
		                    .tcp = true,
		                    .soa = true,
		                    .serial = 7,
		                    .addr = keyed ? "192.0.2.10" : NULL,
		                    .key = keyed ? KEY : NULL,
		                    .secret = SECRET,
		                    .edns = keyed},
		      &s);
		struct xfr_out *xo = NULL;
		struct answer_info info;
		size_t len = serve(&cfg, f.db, &s, &xo, now_s(), &info);
		ck_assert_ptr_nonnull(xo);
		ck_assert(info.xfr);
		struct xfr_res res;
		drain(xo, len, s.mac ? KEY : NULL, SECRET, s.mac, LDNS_RR_TYPE_IXFR, &res);
		ck_assert_uint_eq(ldns_rr_list_rr_count(res.rrs), 6);
		rr_expect(ldns_rr_list_rr(res.rrs, 0), SOA_TEXT(8));
		rr_expect(ldns_rr_list_rr(res.rrs, 1), SOA_TEXT(7));
		rr_expect(ldns_rr_list_rr(res.rrs, 2), "www." ORIGIN " 3600 IN A 192.0.2.80");
		rr_expect(ldns_rr_list_rr(res.rrs, 3), SOA_TEXT(8));
		rr_expect(ldns_rr_list_rr(res.rrs, 4), "www." ORIGIN " 3600 IN A 192.0.2.81");
		rr_expect(ldns_rr_list_rr(res.rrs, 5), SOA_TEXT(8));
		ldns_rr_list_deep_free(res.rrs);
		xfr_out_free(xo);
		sent_free(&s);
	}
	ck_assert_uint_eq(xfr_out_running(), 0);
	jfix_free(&f);
}
END_TEST

/* From a serial the journal does not have: the whole zone. */
START_TEST(ixfr_not_in_journal)
{
	struct jfix f;
	jfix_make(&f, V7, V8);
	struct answer_cfg cfg = cfg_of(10);
	static const uint32_t serials[] = {5, 6, 0xfffffff0u};
	for (size_t i = 0; i < 3; i++) {
		struct sent s;
		build(
		    &(struct req){
		        .type = LDNS_RR_TYPE_IXFR, .tcp = true, .soa = true, .serial = serials[i]},
		    &s);
		struct xfr_out *xo = NULL;
		struct answer_info info;
		size_t len = serve(&cfg, f.db, &s, &xo, now_s(), &info);
		ck_assert_ptr_nonnull(xo);
		struct xfr_res res;
		drain(xo, len, NULL, NULL, NULL, LDNS_RR_TYPE_IXFR, &res);
		expect_whole(&res, f.db->zones[0]);
		ck_assert_uint_eq(soa_serial(ldns_rr_list_rr(res.rrs, 0)), 8);
		ldns_rr_list_deep_free(res.rrs);
		xfr_out_free(xo);
		sent_free(&s);
	}
	jfix_free(&f);
}
END_TEST

/* The differences hold more records than the zone: the whole zone. */
START_TEST(ixfr_chain_larger_than_zone)
{
	struct jfix f;
	jfix_make(&f, V7, V8_MANY);
	struct answer_cfg cfg = cfg_of(10);
	struct sent s;
	build(&(struct req){.type = LDNS_RR_TYPE_IXFR, .tcp = true, .soa = true, .serial = 7}, &s);
	struct xfr_out *xo = NULL;
	struct answer_info info;
	size_t len = serve(&cfg, f.db, &s, &xo, now_s(), &info);
	ck_assert_ptr_nonnull(xo);
	struct xfr_res res;
	drain(xo, len, NULL, NULL, NULL, LDNS_RR_TYPE_IXFR, &res);
	expect_whole(&res, f.db->zones[0]);
	/* an incremental answer's second record is the old SOA: not here */
	ck_assert_int_ne(ldns_rr_get_type(ldns_rr_list_rr(res.rrs, 1)), LDNS_RR_TYPE_SOA);
	ldns_rr_list_deep_free(res.rrs);
	xfr_out_free(xo);
	sent_free(&s);
	jfix_free(&f);
}
END_TEST

/* Text of serve.test at `serial` with `hosts` A records, the first
 * `changed` of them at 10.1.x.y instead of 10.0.x.y. */
static char **host_zone(uint32_t serial, unsigned hosts, unsigned changed)
{
	char **t = calloc(hosts + 8, sizeof(*t));
	char rr[128];
	size_t n = 0;
	snprintf(rr, sizeof(rr), "@ 3600 SOA ns1 hostmaster %u 7200 3600 1209600 300", serial);
	t[n++] = strdup(rr);
	t[n++] = strdup("@ 3600 NS ns1");
	t[n++] = strdup("ns1 3600 A 192.0.2.1");
	for (unsigned i = 0; i < hosts; i++) {
		snprintf(rr, sizeof(rr), "host%u 3600 A 10.%u.%u.%u", i, i < changed ? 1 : 0,
		         i >> 8, i & 255);
		t[n++] = strdup(rr);
	}
	t[n] = NULL;
	return t;
}

static void text_free(char **t)
{
	for (size_t i = 0; t[i]; i++)
		free(t[i]);
	free(t);
}

/* A chain of two differences (7 -> 8 -> 9), the second large (1000
 * records changed in a zone of 3000: several messages), signed: every
 * message verified with ldns along the stream, the records in RFC 1995
 * order: 9, (7, removed, 8, added), (8, removed, 9, added), 9. */
START_TEST(ixfr_chain_many_messages_signed)
{
	char dir[512], path[1024];
	ut_tmpdir(dir, sizeof(dir));
	char **t7 = host_zone(7, 3000, 0), **t8 = host_zone(8, 3000, 1),
	     **t9 = host_zone(9, 3000, 1000);
	struct zone *v7 = ut_zone(ORIGIN, (const char *const *)t7);
	struct zone *v8 = ut_zone(ORIGIN, (const char *const *)t8);
	struct zone *v9 = ut_zone(ORIGIN, (const char *const *)t9);
	zone_ref(v7);
	zone_ref(v8);
	struct changeset *c1 = NULL, *c2 = NULL;
	ck_assert_int_eq(zone_diff(v7, v8, &c1), 0);
	ck_assert_int_eq(zone_diff(v8, v9, &c2), 0);
	ck_assert_uint_eq(c1->nremoved + c1->nadded, 2);
	ck_assert_uint_eq(c2->nremoved + c2->nadded, 1998);
	ut_path(path, sizeof(path), dir, "serve.test.journal");
	struct journal *j = journal_open(path, 7, 0, 0, NULL, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(journal_append(j, c1), 0);
	ck_assert_int_eq(journal_append(j, c2), 0);
	changeset_unref(c1);
	changeset_unref(c2);
	v9->journal = j;
	struct zonedb *db = make_db(&v9, 1);
	struct answer_cfg cfg = cfg_of(10);
	struct sent s;
	build(&(struct req){.type = LDNS_RR_TYPE_IXFR,
	                    .tcp = true,
	                    .soa = true,
	                    .serial = 7,
	                    .addr = "192.0.2.10",
	                    .key = KEY,
	                    .secret = SECRET},
	      &s);
	struct xfr_out *xo = NULL;
	struct answer_info info;
	size_t len = serve(&cfg, db, &s, &xo, now_s(), &info);
	ck_assert_ptr_nonnull(xo);
	struct xfr_res res;
	drain(xo, len, KEY, SECRET, s.mac, LDNS_RR_TYPE_IXFR, &res);
	ck_assert_uint_ge(res.messages, 2);
	size_t n = ldns_rr_list_rr_count(res.rrs);
	ck_assert_uint_eq(n, 1 + (2 + 2) + (2 + 1998) + 1);
	/* the SOAs at their places, nothing else an SOA */
	size_t soa_at[] = {0, 1, 3, 5, 5 + 1 + 999, n - 1};
	uint32_t soa_serial_at[] = {9, 7, 8, 8, 9, 9};
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = ldns_rr_list_rr(res.rrs, i);
		if (k < 6 && i == soa_at[k]) {
			ck_assert_msg(soa_serial(rr) == soa_serial_at[k], "record %zu", i);
			k++;
		} else {
			ck_assert_msg(ldns_rr_get_type(rr) == LDNS_RR_TYPE_A, "record %zu", i);
		}
	}
	ck_assert_uint_eq(k, 6);
	ldns_rr_list_deep_free(res.rrs);
	xfr_out_free(xo);
	sent_free(&s);
	zonedb_free(db);
	zone_unref(v8);
	zone_unref(v7);
	journal_close(j);
	text_free(t7);
	text_free(t8);
	text_free(t9);
	ut_rmtree(dir);
}
END_TEST

/* ---------------------------------------------------------------- TSIG */

/* serve.test with TXT records of 100 octets: 20 at big (2.3 KB), 8 at
 * mid (0.9 KB), 10 at edge (1.13 KB: fits in 1232 alone, not with a TSIG). */
static struct zonedb *txt_db(void)
{
	static char *text[64];
	size_t n = 0;
	for (size_t i = 0; ZONE[i]; i++)
		text[n++] = strdup(ZONE[i]);
	static const struct {
		const char *name;
		int count;
	} sets[] = {{"big", 20}, {"mid", 8}, {"edge", 10}};
	for (size_t k = 0; k < 3; k++) {
		for (int i = 0; i < sets[k].count; i++) {
			char rr[256], s[101];
			memset(s, 'a' + i, 100);
			s[100] = 0;
			snprintf(rr, sizeof(rr), "%s 3600 TXT \"%s\"", sets[k].name, s);
			text[n++] = strdup(rr);
		}
	}
	text[n] = NULL;
	struct zone *z = ut_zone(ORIGIN, (const char *const *)text);
	for (size_t i = 0; i < n; i++)
		free(text[i]);
	return make_db(&z, 1);
}

/* A signed A query: answered as unsigned, and signed. */
START_TEST(tsig_query_answered_signed)
{
	struct zonedb *db = std_db(0);
	struct answer_cfg cfg = cfg_of(10);
	for (int tcp = 0; tcp < 2; tcp++) {
		for (int edns = 0; edns < 2; edns++) {
			struct sent s;
			build(&(struct req){.name = "www." ORIGIN,
			                    .type = LDNS_RR_TYPE_A,
			                    .tcp = tcp,
			                    .edns = edns,
			                    .key = KEY,
			                    .secret = SECRET},
			      &s);
			ck_assert_int_eq(s.st, QUERY_BADKEY); /* what query_parse says of a TSIG */
			struct xfr_out *xo = NULL;
			struct answer_info info;
			size_t len = serve(&cfg, db, &s, &xo, now_s(), &info);
			ck_assert_ptr_null(xo);
			ck_assert(!info.xfr && !info.xfr_refused && !info.tsig_failed);
			ck_assert_uint_eq(info.rcode, 0);
			ldns_pkt *p = parse(out, len);
			ck_assert_int_eq(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
			ck_assert(ldns_pkt_aa(p));
			ck_assert_uint_eq(ldns_pkt_ancount(p), 1);
			rr_expect(ldns_rr_list_rr(ldns_pkt_answer(p), 0),
			          "www." ORIGIN " 3600 IN A 192.0.2.80");
			ck_assert(ldns_pkt_edns(p) == (bool)edns);
			ldns_pkt_free(p);
			expect_signed(out, len, KEY, SECRET, s.mac);
			/* the other key verifies too (it is known) */
			sent_free(&s);
			build(&(struct req){.name = "www." ORIGIN,
			                    .type = LDNS_RR_TYPE_A,
			                    .tcp = tcp,
			                    .edns = edns,
			                    .key = OTHER_KEY,
			                    .secret = OTHER_SECRET},
			      &s);
			len = serve(&cfg, db, &s, &xo, now_s(), &info);
			expect_signed(out, len, OTHER_KEY, OTHER_SECRET, s.mac);
			ck_assert_int_eq(rcode_of(out, len), LDNS_RCODE_NOERROR);
			sent_free(&s);
		}
	}
	zonedb_free(db);
}
END_TEST

/* The TSIG error of an answer: its error field and MAC size. */
static void tsig_error_of(const uint8_t *w, size_t len, unsigned *error, size_t *macsize,
                          uint64_t *other_time)
{
	ldns_pkt *p = parse(w, len);
	ldns_rr *t = ldns_pkt_tsig(p);
	ck_assert_ptr_nonnull(t);
	*error = ldns_rdf2native_int16(ldns_rr_rdf(t, 5));
	*macsize = ldns_rdf_size(ldns_rr_rdf(t, 3)) - 2;
	*other_time = 0;
	ldns_rdf *od = ldns_rr_rdf(t, 6);
	if (ldns_rdf_size(od) == 2 + 6) {
		const uint8_t *d = ldns_rdf_data(od) + 2;
		for (int i = 0; i < 6; i++)
			*other_time = *other_time << 8 | d[i];
	}
	ldns_pkt_free(p);
}

START_TEST(tsig_wrong_mac_badsig)
{
	struct zonedb *db = std_db(0);
	struct answer_cfg cfg = cfg_of(10);
	static const ldns_rr_type types[] = {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AXFR};
	for (int t = 0; t < 2; t++) {
		for (int tcp = 0; tcp < 2; tcp++) {
			struct sent s;
			build(&(struct req){.name = t ? ORIGIN : "www." ORIGIN,
			                    .type = types[t],
			                    .tcp = tcp,
			                    .edns = true,
			                    .addr = "192.0.2.10",
			                    .key = KEY,
			                    .secret = SECRET},
			      &s);
			s.wire[s.len - 10] ^=
			    0x40; /* inside the MAC (Other Len, error, ID follow) */
			struct xfr_out *xo = NULL;
			struct answer_info info;
			size_t len = serve(&cfg, db, &s, &xo, now_s(), &info);
			ck_assert_ptr_null(xo);
			ck_assert_int_eq(rcode_of(out, len), LDNS_RCODE_NOTAUTH);
			unsigned err;
			size_t mac;
			uint64_t ot;
			tsig_error_of(out, len, &err, &mac, &ot);
			ck_assert_uint_eq(err, TSIG_ERR_BADSIG);
			ck_assert_uint_eq(mac, 0);
			ck_assert(info.tsig_failed);
			ck_assert(!info.xfr && !info.xfr_refused);
			/* the error's TSIG is the tail after the OPT (answer_slip drops it) */
			ck_assert_uint_gt(info.tail_len, 0);
			ck_assert_uint_lt(info.tail_len, len);
			ck_assert_uint_eq(xfr_out_running(), 0);
			sent_free(&s);
		}
	}
	zonedb_free(db);
}
END_TEST

START_TEST(tsig_badtime_signed)
{
	struct zonedb *db = std_db(0);
	struct answer_cfg cfg = cfg_of(10);
	for (int t = 0; t < 2; t++) {
		struct sent s;
		build(&(struct req){.name = t ? ORIGIN : "www." ORIGIN,
		                    .type = t ? LDNS_RR_TYPE_AXFR : LDNS_RR_TYPE_A,
		                    .tcp = t,
		                    .addr = "192.0.2.10",
		                    .key = KEY,
		                    .secret = SECRET},
		      &s);
		uint64_t later = now_s() + 1000;
		struct xfr_out *xo = NULL;
		struct answer_info info;
		size_t len = serve(&cfg, db, &s, &xo, later, &info);
		ck_assert_ptr_null(xo);
		ck_assert_int_eq(rcode_of(out, len), LDNS_RCODE_NOTAUTH);
		unsigned err;
		size_t mac;
		uint64_t ot;
		tsig_error_of(out, len, &err, &mac, &ot);
		ck_assert_uint_eq(err, TSIG_ERR_BADTIME);
		ck_assert_uint_eq(mac, 32);
		ck_assert_uint_eq(ot, later);
		expect_signed(out, len, KEY, SECRET, s.mac);
		ck_assert(info.tsig_failed);
		ck_assert(!info.xfr && !info.xfr_refused);
		/* before the fudge as well */
		len = serve(&cfg, db, &s, &xo, now_s() - 1000, &info);
		tsig_error_of(out, len, &err, &mac, &ot);
		ck_assert_uint_eq(err, TSIG_ERR_BADTIME);
		expect_signed(out, len, KEY, SECRET, s.mac);
		sent_free(&s);
	}
	ck_assert_uint_eq(xfr_out_running(), 0);
	zonedb_free(db);
}
END_TEST

START_TEST(tsig_unknown_key_badkey)
{
	struct zonedb *db = std_db(0);
	struct answer_cfg cfg = cfg_of(10);
	for (int t = 0; t < 2; t++) {
		struct sent s;
		build(&(struct req){.name = t ? ORIGIN : "www." ORIGIN,
		                    .type = t ? LDNS_RR_TYPE_AXFR : LDNS_RR_TYPE_A,
		                    .tcp = t,
		                    .edns = true,
		                    .addr = "192.0.2.10",
		                    .key = "nokey.",
		                    .secret = SECRET},
		      &s);
		struct xfr_out *xo = NULL;
		struct answer_info info;
		size_t len = serve(&cfg, db, &s, &xo, now_s(), &info);
		ck_assert_ptr_null(xo);
		ck_assert_int_eq(rcode_of(out, len), LDNS_RCODE_NOTAUTH);
		unsigned err;
		size_t mac;
		uint64_t ot;
		tsig_error_of(out, len, &err, &mac, &ot);
		ck_assert_uint_eq(err, TSIG_ERR_BADKEY);
		ck_assert_uint_eq(mac, 0);
		ck_assert(info.tsig_failed);
		ck_assert(!info.xfr && !info.xfr_refused);
		sent_free(&s);
	}
	/* a db without a configuration knows no key at all */
	struct zone *z = ut_zone(ORIGIN, ZONE);
	struct zonedb *bare = zonedb_new(&z, 1);
	struct sent s;
	build(
	    &(struct req){
	        .name = "www." ORIGIN, .type = LDNS_RR_TYPE_A, .key = KEY, .secret = SECRET},
	    &s);
	struct answer_info info;
	size_t len = serve(&cfg, bare, &s, NULL, now_s(), &info);
	ck_assert_int_eq(rcode_of(out, len), LDNS_RCODE_NOTAUTH);
	unsigned err;
	size_t mac;
	uint64_t ot;
	tsig_error_of(out, len, &err, &mac, &ot);
	ck_assert_uint_eq(err, TSIG_ERR_BADKEY);
	ck_assert(info.tsig_failed);
	sent_free(&s);
	zonedb_free(bare);
	zonedb_free(db);
}
END_TEST

/* A TSIG whose MAC is cut to 8 octets (below half of SHA-256's and
 * below 16: RFC 8945 §5.2.2.1): FORMERR, unsigned. */
START_TEST(tsig_short_mac_formerr)
{
	struct zonedb *db = std_db(0);
	struct answer_cfg cfg = cfg_of(10);
	for (int t = 0; t < 2; t++) {
		struct sent s;
		build(&(struct req){.name = t ? ORIGIN : "www." ORIGIN,
		                    .type = t ? LDNS_RR_TYPE_AXFR : LDNS_RR_TYPE_A,
		                    .tcp = t,
		                    .addr = "192.0.2.10",
		                    .key = KEY,
		                    .secret = SECRET},
		      &s);
		/* the TSIG: owner (9), type..rdlength (10), algorithm (13),
		 * times (8), MAC size, MAC (32), original ID, error, other len */
		size_t off = s.len - (9 + 10 + 13 + 8 + 2 + 32 + 6);
		size_t rd = off + 9 + 10, macsz = rd + 13 + 8;
		ck_assert_uint_eq(s.wire[macsz] << 8 | s.wire[macsz + 1], 32);
		memmove(s.wire + macsz + 2 + 8, s.wire + macsz + 2 + 32, 6);
		s.len -= 24;
		s.wire[macsz + 1] = 8;
		unsigned rdlen = (unsigned)(s.wire[rd - 2] << 8 | s.wire[rd - 1]) - 24;
		s.wire[rd - 2] = (uint8_t)(rdlen >> 8);
		s.wire[rd - 1] = (uint8_t)rdlen;
		s.st = query_parse(&s.q, s.wire, s.len, t);
		s.q.addr = (const struct sockaddr *)&s.sin;
		ck_assert_int_eq(s.st, QUERY_BADKEY);
		struct xfr_out *xo = NULL;
		struct answer_info info;
		size_t len = serve(&cfg, db, &s, &xo, now_s(), &info);
		ck_assert_ptr_null(xo);
		ck_assert_int_eq(rcode_of(out, len), LDNS_RCODE_FORMERR);
		expect_unsigned(out, len);
		ck_assert(info.tsig_failed);
		ck_assert(!info.xfr && !info.xfr_refused);
		sent_free(&s);
	}
	ck_assert_uint_eq(xfr_out_running(), 0);
	zonedb_free(db);
}
END_TEST

/* An IPv4-mapped IPv6 peer counts as IPv4 (acl.h): ::ffff:127.0.0.1 is
 * allowed by the 127.0.0.0/8 rule, ::1 and 2001:db8::1 are refused. */
START_TEST(axfr_ipv6_peers)
{
	struct zonedb *db = std_db(0);
	struct answer_cfg cfg = cfg_of(10);
	static const char *const peers[] = {"::ffff:127.0.0.1", "::1", "2001:db8::1"};
	for (int i = 0; i < 3; i++) {
		struct sent s;
		build(&(struct req){.tcp = true, .edns = true}, &s);
		struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(5353)};
		ck_assert_int_eq(inet_pton(AF_INET6, peers[i], &sin6.sin6_addr), 1);
		s.q.addr = (const struct sockaddr *)&sin6;
		struct xfr_out *xo = NULL;
		struct answer_info info;
		size_t len = serve(&cfg, db, &s, &xo, now_s(), &info);
		if (i == 0) {
			ck_assert_ptr_nonnull(xo);
			struct xfr_res res;
			drain(xo, len, NULL, NULL, NULL, LDNS_RR_TYPE_AXFR, &res);
			expect_whole(&res, zone_of(db, ORIGIN));
			ldns_rr_list_deep_free(res.rrs);
			xfr_out_free(xo);
		} else {
			ck_assert_ptr_null(xo);
			ck_assert_int_eq(rcode_of(out, len), LDNS_RCODE_REFUSED);
			ck_assert_int_eq(ede_of(out, len), 18);
		}
		sent_free(&s);
	}
	zonedb_free(db);
}
END_TEST

/* One signed TXT query over UDP or TCP: the answer, checked signed. */
static ldns_pkt *txt_query(struct zonedb *db, const char *name, bool tcp, bool edns, uint16_t size,
                           size_t *len_out, struct answer_info *info)
{
	struct answer_cfg cfg = cfg_of(10);
	struct sent s;
	build(&(struct req){.name = name,
	                    .type = LDNS_RR_TYPE_TXT,
	                    .tcp = tcp,
	                    .edns = edns,
	                    .edns_size = size,
	                    .key = KEY,
	                    .secret = SECRET},
	      &s);
	struct xfr_out *xo = NULL;
	size_t len = serve(&cfg, db, &s, &xo, now_s(), info);
	ck_assert_ptr_null(xo);
	ck_assert_uint_gt(len, 0);
	expect_signed(out, len, KEY, SECRET, s.mac);
	sent_free(&s);
	*len_out = len;
	return parse(out, len);
}

/* Over UDP: an answer larger than the payload size is cut (TC, no
 * partial RRset) with room for its TSIG, and signed; one that fits is
 * whole and signed; one that fits only unsigned is cut too. */
START_TEST(tsig_udp_small_fits)
{
	struct zonedb *db = txt_db();
	struct answer_info info;
	size_t len;
	ldns_pkt *p;
	for (int edns = 0; edns < 2; edns++) {
		/* 512: big and mid cut */
		for (int k = 0; k < 2; k++) {
			p = txt_query(db, k ? "mid." ORIGIN : "big." ORIGIN, false, edns, 512, &len,
			              &info);
			ck_assert_uint_le(len, 512);
			ck_assert(ldns_pkt_tc(p));
			ck_assert(info.tc);
			ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
			ldns_pkt_free(p);
		}
		/* a small answer: whole */
		struct answer_cfg cfg = cfg_of(10);
		struct sent s;
		build(&(struct req){.name = "www." ORIGIN,
		                    .type = LDNS_RR_TYPE_A,
		                    .edns = edns,
		                    .edns_size = 512,
		                    .key = KEY,
		                    .secret = SECRET},
		      &s);
		len = serve(&cfg, db, &s, NULL, now_s(), &info);
		p = parse(out, len);
		ck_assert(!ldns_pkt_tc(p));
		ck_assert_uint_eq(ldns_pkt_ancount(p), 1);
		ldns_pkt_free(p);
		expect_signed(out, len, KEY, SECRET, s.mac);
		sent_free(&s);
	}
	/* EDNS 4096 (ours 1232): mid whole, big cut */
	p = txt_query(db, "mid." ORIGIN, false, true, 4096, &len, &info);
	ck_assert(!ldns_pkt_tc(p));
	ck_assert_uint_eq(ldns_pkt_ancount(p), 8);
	ck_assert_uint_le(len, 1232);
	ldns_pkt_free(p);
	p = txt_query(db, "big." ORIGIN, false, true, 4096, &len, &info);
	ck_assert(ldns_pkt_tc(p));
	ck_assert_uint_le(len, 1232);
	ldns_pkt_free(p);

	/* edge: unsigned it fits in 1232 ... */
	{
		struct answer_cfg cfg = cfg_of(10);
		struct req r = {.name = "edge." ORIGIN,
		                .type = LDNS_RR_TYPE_TXT,
		                .edns = true,
		                .edns_size = 4096};
		struct sent s;
		build(&r, &s);
		size_t ul = answer_query(&cfg, db, &s.q, s.st, out, sizeof(out), &info);
		ck_assert_uint_le(ul, 1232);
		ck_assert_uint_gt(ul + 60, 1232); /* too close for a TSIG */
		ldns_pkt *u = parse(out, ul);
		ck_assert(!ldns_pkt_tc(u));
		ck_assert_uint_eq(ldns_pkt_ancount(u), 10);
		ldns_pkt_free(u);
	}
	/* ... signed it must be cut */
	p = txt_query(db, "edge." ORIGIN, false, true, 4096, &len, &info);
	ck_assert_uint_le(len, 1232);
	ck_assert(ldns_pkt_tc(p));
	ldns_pkt_free(p);

	/* over TCP: every answer whole */
	static const char *const names[] = {"big." ORIGIN, "mid." ORIGIN, "edge." ORIGIN};
	static const size_t counts[] = {20, 8, 10};
	for (int k = 0; k < 3; k++) {
		p = txt_query(db, names[k], true, false, 0, &len, &info);
		ck_assert(!ldns_pkt_tc(p));
		ck_assert_uint_eq(ldns_pkt_ancount(p), counts[k]);
		ldns_pkt_free(p);
	}
	zonedb_free(db);
}
END_TEST

/* Errors of a signed request over UDP 512 with a long key name fit too. */
START_TEST(tsig_udp_errors_fit)
{
	struct zonedb *db = txt_db();
	struct answer_cfg cfg = cfg_of(10);
	struct sent s;
	build(
	    &(struct req){
	        .name = "big." ORIGIN, .type = LDNS_RR_TYPE_TXT, .key = KEY, .secret = SECRET},
	    &s);
	s.wire[s.len - 10] ^= 1;
	struct answer_info info;
	size_t len = serve(&cfg, db, &s, NULL, now_s(), &info);
	ck_assert_uint_le(len, 512);
	ck_assert_int_eq(rcode_of(out, len), LDNS_RCODE_NOTAUTH);
	sent_free(&s);
	build(
	    &(struct req){
	        .name = "big." ORIGIN, .type = LDNS_RR_TYPE_TXT, .key = KEY, .secret = SECRET},
	    &s);
	len = serve(&cfg, db, &s, NULL, now_s() + 5000, &info);
	ck_assert_uint_le(len, 512);
	ck_assert_int_eq(rcode_of(out, len), LDNS_RCODE_NOTAUTH);
	expect_signed(out, len, KEY, SECRET, s.mac);
	sent_free(&s);
	zonedb_free(db);
}
END_TEST

/* ---------------------------------------------------------------- regressions */

/* answer_info.tail_len is "octets after the OPT (an error's TSIG record)":
 * what answer_slip (response rate limiting over UDP, rrl_udp) drops
 * before it moves the OPT down. A signed answer has its TSIG after the
 * OPT, so tail_len must count it; with 0 answer_slip takes the TSIG's last
 * octets for the OPT and the slipped message is garbage. */
START_TEST(signed_answer_slips_whole)
{
	struct zonedb *db = std_db(0);
	struct answer_cfg cfg = cfg_of(10);
	for (int c = 0; c < 2; c++) {
		struct sent s;
		build(&(struct req){.name = "www." ORIGIN,
		                    .type = LDNS_RR_TYPE_A,
		                    .edns = true,
		                    .key = KEY,
		                    .secret = SECRET},
		      &s);
		struct answer_info info;
		/* c 0: answered and signed; c 1: BADTIME, signed */
		size_t len = serve(&cfg, db, &s, NULL, c ? now_s() + 1000 : now_s(), &info);
		ck_assert_uint_gt(len, 0);
		ck_assert_uint_ne(info.opt_len, 0);
		ldns_pkt *p = parse(out, len);
		ck_assert_ptr_nonnull(ldns_pkt_tsig(p));
		ldns_pkt_free(p);
		size_t tsig_len = 0;
		/* the TSIG: owner (9), fixed (10), rdata */
		for (size_t off = len; off > DNS_HEADER_LEN + 10; off--) {
			if (off + 9 + 10 <= len &&
			    !memcmp(out + off, "\x07xfr-key\x00\x00\xfa", 11)) {
				tsig_len = len - off;
				break;
			}
		}
		ck_assert_uint_gt(tsig_len, 0);
		ck_assert_msg(info.tail_len == tsig_len,
		              "case %d: tail_len %u, but the TSIG after the OPT takes %zu octets",
		              c, info.tail_len, tsig_len);
		size_t sl = answer_slip(&s.q, &info, out, len);
		p = NULL;
		ck_assert_int_eq(ldns_wire2pkt(&p, out, sl), LDNS_STATUS_OK);
		ck_assert(ldns_pkt_tc(p));
		ck_assert(ldns_pkt_edns(p));
		ck_assert_uint_eq(ldns_pkt_edns_udp_size(p), 1232);
		ldns_pkt_free(p);
		sent_free(&s);
	}
	zonedb_free(db);
}
END_TEST

/* ---------------------------------------------------------------- known bugs */

/* A key whose name takes 204 octets (hmac-sha256): serve_request drops
 * any request it signs over UDP without EDNS (return 0, nothing sent)
 * where serve.c's comment says "cannot happen with limit >= 512 and a
 * 255-octet key name": the check adds a whole DNAME_MAX for the question
 * to the TSIG's room (204 + 77 + 12 + 255 + 4 = 552 > 512) whatever the
 * question's length. The answer (header, question, a record, the TSIG:
 * some 330 octets) fits in 512; expected an answer, signed. */
START_TEST(long_key_name_udp_answered)
{
	char label[51], name[256];
	memset(label, 'k', 50);
	label[50] = 0;
	snprintf(name, sizeof(name), "%s.%s.%s.%s.", label, label, label, label);
	ck_assert_uint_eq(strlen(name), 204); /* 4 x 51 + the root: 205 octets of wire */
	char text[2048];
	snprintf(text, sizeof(text),
	         "key:\n  - id: %s\n    algorithm: hmac-sha256\n    secret: " SECRET "\n", name);
	struct conf *c = NULL;
	ck_assert_int_eq(conf_load_buf("long.conf", text, strlen(text), diag_print, NULL, &c), 0);
	struct zone *z = ut_zone(ORIGIN, ZONE);
	struct zonedb *db = zonedb_new(&z, 1);
	db->conf = c;
	struct answer_cfg cfg = cfg_of(10);
	for (int edns = 0; edns < 2; edns++) {
		struct sent s;
		build(&(struct req){.name = "www." ORIGIN,
		                    .type = LDNS_RR_TYPE_A,
		                    .edns = edns,
		                    .edns_size = 512,
		                    .key = name,
		                    .secret = SECRET},
		      &s);
		struct answer_info info;
		size_t len = serve(&cfg, db, &s, NULL, now_s(), &info);
		ck_assert_msg(len > 0, "edns %d: the signed request was dropped", edns);
		ck_assert_uint_le(len, 512);
		expect_signed(out, len, name, SECRET, s.mac);
		sent_free(&s);
	}
	zonedb_free(db);
}
END_TEST

/* ---------------------------------------------------------------- NOTIFY in */

static const char NOTIFY_CONF[] = "key:\n"
                                  "  - id: " KEY "\n"
                                  "    algorithm: hmac-sha256\n"
                                  "    secret: " SECRET "\n"
                                  "remote:\n"
                                  "  - id: pri\n"
                                  "    address: [192.0.2.53@5300, \"2001:db8::53\"]\n"
                                  "    key: " KEY "\n"
                                  "acl:\n"
                                  "  - id: notifier\n"
                                  "    address: 192.0.2.7\n"
                                  "    action: notify\n"
                                  "zone:\n"
                                  "  - domain: sec.test.\n"
                                  "    primary: pri\n"
                                  "    acl: [notifier]\n"
                                  "  - domain: " ORIGIN "\n";

struct notified {
	unsigned n;
	uint8_t apex[DNAME_MAX];
	size_t apex_len;
	bool has_serial;
	uint32_t serial;
};

static void on_notify(void *ctx, const uint8_t *apex, size_t apex_len, const struct sockaddr *from,
                      bool has_serial, uint32_t serial)
{
	struct notified *n = ctx;
	n->n++;
	memcpy(n->apex, apex, apex_len);
	n->apex_len = apex_len;
	n->has_serial = has_serial;
	n->serial = serial;
}

/* The answer to a NOTIFY: rcode, and for NOERROR the RFC 1996 §3.8 shape. */
static void expect_notify_answer(size_t len, ldns_pkt_rcode rcode)
{
	ldns_pkt *p = parse(out, len);
	ck_assert_int_eq(ldns_pkt_get_opcode(p), LDNS_PACKET_NOTIFY);
	ck_assert_int_eq(ldns_pkt_get_rcode(p), rcode);
	ck_assert_uint_eq(ldns_pkt_qdcount(p), 1);
	if (rcode == LDNS_RCODE_NOERROR) {
		ck_assert(ldns_pkt_aa(p));
		ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	}
	ldns_pkt_free(p);
}

/* RFC 1996: a NOTIFY for a secondary zone from one of its primaries (any
 * port) or a client its acl allows for notify is answered NOERROR with AA
 * and handed on with the serial it carries; from anyone else REFUSED; for
 * a zone we are the primary of REFUSED, one we do not have NOTAUTH; a
 * question other than the zone's SOA FORMERR; over TCP as over UDP; a
 * signed one's answer signed. */
START_TEST(notify_in)
{
	struct conf *c = NULL;
	ck_assert_int_eq(conf_load_buf("notify.conf", NOTIFY_CONF, strlen(NOTIFY_CONF), diag_print,
	                               NULL, &c),
	                 0);
	struct zonedb *db = zonedb_new(NULL, 0);
	ck_assert_ptr_nonnull(db);
	db->conf = c;
	struct notified got = {0};
	struct answer_cfg cfg = cfg_of(10);
	cfg.notify = on_notify;
	cfg.notify_ctx = &got;
	struct answer_info info;
	struct sent s;
	size_t len;

	/* from the primary's address, another port, with its SOA */
	build(&(struct req){.name = "sec.test.", .type = LDNS_RR_TYPE_SOA, .notify = true,
	                    .soa = true, .serial = 7, .addr = "192.0.2.53"},
	      &s);
	ck_assert_int_eq(s.st, QUERY_NOTIFY);
	len = serve(&cfg, db, &s, NULL, now_s(), &info);
	expect_notify_answer(len, LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(got.n, 1);
	ck_assert_uint_eq(got.apex_len, 10);
	ck_assert(!memcmp(got.apex, "\3sec\4test", 10));
	ck_assert(got.has_serial);
	ck_assert_uint_eq(got.serial, 7);
	/* over TCP, without an SOA */
	build(&(struct req){.name = "SEC.test.", .type = LDNS_RR_TYPE_SOA, .notify = true,
	                    .addr = "192.0.2.53", .tcp = true},
	      &s);
	struct xfr_out *xo = NULL;
	len = serve(&cfg, db, &s, &xo, now_s(), &info);
	ck_assert_ptr_null(xo);
	expect_notify_answer(len, LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(got.n, 2);
	ck_assert(!got.has_serial);
	/* from an address the acl allows for notify */
	build(&(struct req){.name = "sec.test.", .type = LDNS_RR_TYPE_SOA, .notify = true,
	                    .addr = "192.0.2.7"},
	      &s);
	expect_notify_answer(serve(&cfg, db, &s, NULL, now_s(), &info), LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(got.n, 3);
	/* from anyone else: REFUSED, not handed on */
	build(&(struct req){.name = "sec.test.", .type = LDNS_RR_TYPE_SOA, .notify = true,
	                    .addr = "192.0.2.8"},
	      &s);
	expect_notify_answer(serve(&cfg, db, &s, NULL, now_s(), &info), LDNS_RCODE_REFUSED);
	/* a zone we are the primary of; one we do not have */
	build(&(struct req){.name = ORIGIN, .type = LDNS_RR_TYPE_SOA, .notify = true,
	                    .addr = "192.0.2.53"},
	      &s);
	expect_notify_answer(serve(&cfg, db, &s, NULL, now_s(), &info), LDNS_RCODE_REFUSED);
	build(&(struct req){.name = "nope.test.", .type = LDNS_RR_TYPE_SOA, .notify = true,
	                    .addr = "192.0.2.53"},
	      &s);
	expect_notify_answer(serve(&cfg, db, &s, NULL, now_s(), &info), LDNS_RCODE_NOTAUTH);
	/* not the zone's SOA */
	build(&(struct req){.name = "sec.test.", .type = LDNS_RR_TYPE_A, .notify = true,
	                    .addr = "192.0.2.53"},
	      &s);
	expect_notify_answer(serve(&cfg, db, &s, NULL, now_s(), &info), LDNS_RCODE_FORMERR);
	ck_assert_uint_eq(got.n, 3);
	/* signed: verified, answered signed */
	build(&(struct req){.name = "sec.test.", .type = LDNS_RR_TYPE_SOA, .notify = true,
	                    .addr = "192.0.2.53", .key = KEY, .secret = SECRET},
	      &s);
	len = serve(&cfg, db, &s, NULL, now_s(), &info);
	expect_notify_answer(len, LDNS_RCODE_NOERROR);
	expect_signed(out, len, KEY, SECRET, s.mac);
	sent_free(&s);
	ck_assert_uint_eq(got.n, 4);
	zonedb_free(db);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("serve");
	TCase *tc = tcase_create("axfr");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, axfr_refused_no_acl);
	tcase_add_test(tc, axfr_refused_address_outside);
	tcase_add_test(tc, axfr_refused_other_key);
	tcase_add_test(tc, axfr_refused_deny_rule);
	tcase_add_test(tc, axfr_refused_no_conf);
	tcase_add_test(tc, axfr_allowed_stream);
	tcase_add_test(tc, axfr_limit);
	tcase_add_test(tc, axfr_outlives_db);
	tcase_add_test(tc, axfr_notauth_and_class);
	tcase_add_test(tc, axfr_udp_refused);
	tcase_add_test(tc, axfr_ipv6_peers);
	suite_add_tcase(s, tc);

	tc = tcase_create("ixfr");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ixfr_udp_soa_alone);
	tcase_add_test(tc, ixfr_without_soa_formerr);
	tcase_add_test(tc, ixfr_current_soa_alone);
	tcase_add_test(tc, ixfr_from_journal);
	tcase_add_test(tc, ixfr_not_in_journal);
	tcase_add_test(tc, ixfr_chain_larger_than_zone);
	tcase_add_test(tc, ixfr_chain_many_messages_signed);
	suite_add_tcase(s, tc);

	tc = tcase_create("tsig");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tsig_query_answered_signed);
	tcase_add_test(tc, tsig_wrong_mac_badsig);
	tcase_add_test(tc, tsig_badtime_signed);
	tcase_add_test(tc, tsig_unknown_key_badkey);
	tcase_add_test(tc, tsig_udp_small_fits);
	tcase_add_test(tc, tsig_udp_errors_fit);
	tcase_add_test(tc, tsig_short_mac_formerr);
	suite_add_tcase(s, tc);

	tc = tcase_create("notify");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, notify_in);
	suite_add_tcase(s, tc);

	tc = tcase_create("known_bugs");
	tcase_set_tags(tc, "known_bug");
	suite_add_tcase(s, tc);

	tc = tcase_create("regressions");
	tcase_add_test(tc, signed_answer_slips_whole);
	tcase_add_test(tc, long_key_name_udp_answered);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
