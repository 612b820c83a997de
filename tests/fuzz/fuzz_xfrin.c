/*
 * fuzz_xfrin.c - libFuzzer target: any bytes as the answer to a zone
 * transfer request, through the secondary's parser (src/xfr/xfrin.c):
 * message checks, TSIG along the stream, name decompression, the RFC 1995
 * and RFC 5936 shapes, and, when the answer is complete, the new version
 * (a whole zone built, or differences applied to the base).
 *
 * Input: one octet of mode, then the messages, each with a 2-octet length
 * in front as on TCP (the last one takes what is left when its length
 * says more). Mode bit 0: IXFR from a fixed small zone of serial 1 (built
 * anew per input: an applied IXFR gives it a successor), else AXFR; bit 1:
 * the request was signed with TSIG (the answer must be, at FUZZ_TSIG_NOW);
 * bit 2: a size limit of 600 octets of records. The request's ID is XID.
 *
 * What must hold: an error or fallback says why; an error's kind is one
 * xfrin_parse_error gives; up to date means not newer than the base; a
 * finished version has the answer's serial, and an incremental one's
 * changesets pass changeset_check, follow each other from the base's
 * serial, and zone_diff of the base and the version works; read as a
 * catalog zone (catalog_in_read), it gives sound members or a reason.
 *
 * Built normally (without libFuzzer) it replays tests/fuzz/corpus-xfrin.
 * FUZZ_XFRIN_SEEDS=DIR makes it write its seed answers (shoal's own AXFR
 * and IXFR streams, hand-made condensed and whole-zone IXFRs, signed ones,
 * NOTIMP) into DIR, named by their SHA-1 as libFuzzer names inputs, and exit.
 */
#include <errno.h>
#include <ldns/ldns.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/query.h"
#include "dns/tsig.h"
#include "fuzz.h"
#include "xfr/axfr.h"
#include "xfr/catalog_in.h"
#include "xfr/ixfr.h"
#include "xfr/xfrin.h"
#include "zone/serial.h"
#include "zone/zone_diff.h"

#define ORIGIN "xfrin.test."
#define XID 0x4242
#define KEY_NAME "xfrin-key."
#define SMALL_MAX 600
#define MODE_IXFR 1
#define MODE_TSIG 2
#define MODE_SMALL 4

/* The base zone of an IXFR, at serial 1. */
static const char *const base_text[] = {
    "@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300",
    "@ 3600 NS ns1",
    "@ 3600 NS ns2.other.test.",
    "@ 3600 MX 10 mail",
    "ns1 3600 A 192.0.2.1",
    "mail 3600 A 192.0.2.25",
    "www 3600 A 192.0.2.80",
    "alias 300 CNAME www",
    "sub 3600 NS ns.sub",
    "ns.sub 3600 A 192.0.2.53",
    NULL,
};

#define BASE_MAX 16

struct wire_rr {
	uint8_t owner[DNAME_MAX];
	uint16_t type;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t rdata[512];
};

static struct wire_rr base_rrs[BASE_MAX];
static size_t nbase;
static uint8_t apex[DNAME_MAX];
static size_t apex_len;
static struct conf_key key;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_xfrin: %s\n", what);
	exit(1);
}

static void text_rr(const char *text, struct wire_rr *w)
{
	ldns_rdf *org = ldns_dname_new_frm_str(ORIGIN);
	ldns_rr *rr = NULL;
	if (ldns_rr_new_frm_str(&rr, text, 3600, org, NULL) != LDNS_STATUS_OK)
		die(text);
	ldns_buffer *b = ldns_buffer_new(512);
	if (ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK || ldns_buffer_position(b) > 512)
		die(text);
	memcpy(w->owner, ldns_rdf_data(ldns_rr_owner(rr)), ldns_rdf_size(ldns_rr_owner(rr)));
	w->type = (uint16_t)ldns_rr_get_type(rr);
	w->ttl = ldns_rr_ttl(rr);
	w->rdlen = (uint16_t)ldns_buffer_position(b);
	memcpy(w->rdata, ldns_buffer_begin(b), w->rdlen);
	ldns_buffer_free(b);
	ldns_rr_free(rr);
	ldns_rdf_deep_free(org);
}

static struct zone *zone_from(const struct wire_rr *rrs, size_t n)
{
	char msg[256];
	struct zone_builder *b = zone_builder_new(apex);
	if (!b)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		if (zone_builder_add(b, rrs[i].owner, rrs[i].type, RRCLASS_IN, rrs[i].ttl,
		                     rrs[i].rdata, rrs[i].rdlen, msg, sizeof(msg)) == ZB_ERROR)
			die(msg);
	struct zone *z = zone_builder_finish(b, msg, sizeof(msg));
	if (!z)
		die(msg);
	return z;
}

/* The request the answer is to: header and question. \return its length */
static size_t request(uint16_t qtype, uint8_t *req)
{
	static const uint8_t hdr[12] = {XID >> 8, XID & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	memcpy(req, hdr, sizeof(hdr));
	memcpy(req + 12, apex, apex_len);
	uint8_t *p = req + 12 + apex_len;
	p[0] = (uint8_t)(qtype >> 8);
	p[1] = (uint8_t)qtype;
	p[2] = 0;
	p[3] = RRCLASS_IN;
	return 12 + apex_len + 4;
}

/* The request signed into `st` (req holds 512 + TSIG_RR_MAX octets):
 * always the same octets, so the same request MAC (the seeds are signed
 * over it). */
static void sign_request(struct tsig_state *st, uint16_t qtype, uint8_t *req, size_t *len)
{
	*len = request(qtype, req);
	if (tsig_sign_request(st, &key, req, len, 512 + TSIG_RR_MAX, FUZZ_TSIG_NOW) != 0)
		die("cannot sign the request");
}

static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	apex_len = dname_from_str(ORIGIN, apex);
	for (nbase = 0; base_text[nbase]; nbase++)
		text_rr(base_text[nbase], &base_rrs[nbase]);
	memset(&key, 0, sizeof(key));
	key.id = KEY_NAME;
	key.name_len = dname_from_str(KEY_NAME, key.name);
	key.alg = CONF_HMAC_SHA256;
	key.secret_len = 32;
	for (size_t i = 0; i < key.secret_len; i++)
		key.secret[i] = (uint8_t)(i * 37 + 11);
	const char *seeds = getenv("FUZZ_XFRIN_SEEDS");
	if (seeds) {
		write_seeds(seeds);
		exit(0);
	}
	return 0;
}

void fuzz_cleanup(void)
{
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_xfrin: %s\n", what);
		abort();
	}
}

static void quiet(void *ctx, const char *reason)
{
	(void)ctx;
	(void)reason;
}

/* Every version is also read as a catalog zone (xfr/catalog_in.c), as a
 * consumer reads what its producer sent: a member set sorted, without
 * duplicates, none the root or inside the catalog; or a reason. */
static void read_as_catalog(const struct zone *z)
{
	struct catalog_in_set set;
	char why[512] = "";
	int r = catalog_in_read(z, NULL, 50, NULL, NULL, &set, why, sizeof(why));
	if (r < 0) {
		check(r == -EINVAL || r == -E2BIG || r == -ENOMEM, "catalog: an unexpected error");
		check(why[0] != 0, "catalog: refused without a reason");
		return;
	}
	check(set.n <= 50, "catalog: over its cap");
	for (size_t i = 0; i < set.n; i++) {
		const struct catalog_in_member *m = &set.v[i];
		check(m->apex_len > 1 && !dname_is_subdomain(m->apex, z->apex), "catalog: a bad member");
		check(catalog_in_find(&set, m->apex, m->apex_len) == m, "catalog: not found again");
		const uint8_t *id = catalog_in_member_id(m);
		check(id[0] >= 1 && id[0] <= 63, "catalog: an id's length");
	}
	catalog_in_set_free(&set);
}

/* A complete answer's version, checked. */
static void finished(struct xfrin_parse *p, struct zone *base)
{
	struct xfrin_result res;
	char why[512] = "";
	int r = xfrin_parse_finish(p, &res, quiet, NULL, why, sizeof(why));
	if (r < 0) {
		check(r == -EINVAL || r == -ENOMEM, "finish: an unexpected error");
		check(why[0] != 0, "finish failed without a reason");
		check(!res.zone, "finish failed with a zone");
		return;
	}
	check(res.zone && res.zone->serial == res.serial, "the version's serial");
	read_as_catalog(res.zone);
	check(res.serial == xfrin_parse_serial(p), "the answer's serial");
	if (!res.full) {
		check(base && res.ncs > 0, "an incremental answer without differences");
		uint32_t at = base->serial;
		for (size_t i = 0; i < res.ncs; i++) {
			check(res.cs[i]->from == at, "the differences do not follow each other");
			check(changeset_check(res.cs[i], NULL, 0) == 0, "a malformed changeset");
			at = res.cs[i]->to;
		}
		check(at == res.serial, "the differences do not end at the serial");
		struct changeset *cs = NULL;
		check(zone_diff(base, res.zone, &cs) == 0, "zone_diff of base and version");
		check(cs->from == base->serial && cs->to == res.serial, "zone_diff's serials");
		changeset_unref(cs);
	} else {
		check(res.ncs == 0 && !res.cs, "a whole zone with differences");
	}
	xfrin_result_free(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	bool ixfr = mode & MODE_IXFR;
	struct zone *base = ixfr ? zone_from(base_rrs, nbase) : NULL;
	struct tsig_state ts;
	tsig_state_init(&ts);
	if (mode & MODE_TSIG) {
		uint8_t req[512 + TSIG_RR_MAX];
		size_t len;
		sign_request(&ts, ixfr ? RRTYPE_IXFR : RRTYPE_AXFR, req, &len);
	}
	struct xfrin_parse *p =
	    xfrin_parse_new(ixfr ? XFRIN_IXFR : XFRIN_AXFR, apex, apex_len, base, XID,
	                    mode & MODE_TSIG ? &ts : NULL, mode & MODE_SMALL ? SMALL_MAX : 0);
	check(p != NULL, "xfrin_parse_new");
	enum xfrin_status st = XFRIN_MORE;
	char why[512];
	size_t pos = 1;
	while (st == XFRIN_MORE && pos + 2 <= size) {
		size_t len = (size_t)(data[pos] << 8 | data[pos + 1]);
		pos += 2;
		if (len > size - pos)
			len = size - pos;
		/* a copy of its own size: a read past the message is caught */
		uint8_t *m = malloc(len ? len : 1);
		check(m != NULL, "out of memory");
		memcpy(m, data + pos, len);
		pos += len;
		why[0] = 0;
		st = xfrin_parse_msg(p, m, len, FUZZ_TSIG_NOW, why, sizeof(why));
		free(m);
		if (st == XFRIN_ERROR) {
			int e = xfrin_parse_error(p);
			check(e == -EPROTO || e == -EFBIG || e == -ENOMEM, "an error of no kind");
			check(e != -EFBIG || (mode & MODE_SMALL), "EFBIG without a limit");
		}
		if (st == XFRIN_ERROR || st == XFRIN_FALLBACK)
			check(why[0] != 0, "an error without a reason");
		if (st == XFRIN_UPTODATE)
			check(ixfr && !serial_newer(xfrin_parse_serial(p), base->serial),
			      "up to date with a newer serial");
		if (st == XFRIN_FALLBACK)
			check(ixfr, "a fallback to AXFR from an AXFR");
	}
	if (st != XFRIN_MORE) {
		/* nothing more is taken */
		static const uint8_t hdr[12] = {XID >> 8, XID & 0xff, 0x80};
		check(xfrin_parse_msg(p, hdr, sizeof(hdr), FUZZ_TSIG_NOW, why, sizeof(why)) ==
		          XFRIN_ERROR,
		      "a message taken after the end");
	}
	if (st == XFRIN_DONE)
		finished(p, base);
	xfrin_parse_free(p);
	tsig_state_clear(&ts);
	zone_free(base);
	return 0;
}

/* ---------------------------------------------------------------- seeds */

struct seed {
	uint8_t buf[1 << 16];
	size_t len;
	/* the messages, for signing: offsets of their length prefixes */
	size_t at[64];
	size_t n;
};

static void seed_begin(struct seed *s, uint8_t mode)
{
	s->buf[0] = mode;
	s->len = 1;
	s->n = 0;
}

static void seed_msg(struct seed *s, const uint8_t *m, size_t len)
{
	if (s->len + 2 + len + TSIG_RR_MAX > sizeof(s->buf) || s->n == 64)
		die("seed too big");
	s->at[s->n++] = s->len;
	s->buf[s->len] = (uint8_t)(len >> 8);
	s->buf[s->len + 1] = (uint8_t)len;
	memcpy(s->buf + s->len + 2, m, len);
	s->len += 2 + len;
}

/* Sign the messages as a primary would (tsig.c's server side over the
 * request of sign_request): the first, each `every`-th, the last. */
static void seed_sign(struct seed *s, uint16_t qtype, unsigned every)
{
	struct tsig_state cst, sst;
	uint8_t req[512 + TSIG_RR_MAX];
	size_t rlen;
	sign_request(&cst, qtype, req, &rlen);
	struct tsig_keyring ring = {.keys = &key, .nkeys = 1};
	if (tsig_verify_request(&sst, req, rlen, &ring, FUZZ_TSIG_NOW) != TSIG_OK)
		die("the request does not verify");
	/* rebuild from the end: signing grows each message */
	static uint8_t copy[1 << 16];
	size_t n = s->n, len = s->len;
	memcpy(copy, s->buf, len);
	size_t at[64];
	memcpy(at, s->at, sizeof(at));
	seed_begin(s, copy[0]);
	for (size_t i = 0; i < n; i++) {
		size_t off = at[i] + 2;
		size_t ml = (size_t)(copy[at[i]] << 8 | copy[at[i] + 1]);
		static uint8_t m[65535 + TSIG_RR_MAX];
		memcpy(m, copy + off, ml);
		bool sign = i == 0 || i + 1 == n || i % every == 0;
		if (sign) {
			if (tsig_sign_next(&sst, m, &ml, sizeof(m), FUZZ_TSIG_NOW) != 0)
				die("cannot sign");
		} else if (tsig_sign_skip(&sst, m, ml) != 0) {
			die("cannot skip");
		}
		seed_msg(s, m, ml);
	}
	tsig_state_clear(&sst);
	tsig_state_clear(&cst);
}

static void seed_write(const struct seed *s, const char *dir)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdl = 0;
	if (!EVP_Digest(s->buf, s->len, md, &mdl, EVP_sha1(), NULL))
		die("sha1");
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/", dir);
	for (unsigned i = 0; i < mdl && n < (int)sizeof(path) - 3; i++)
		n += snprintf(path + n, sizeof(path) - (size_t)n, "%02x", md[i]);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(s->buf, 1, s->len, f) != s->len || fclose(f) != 0)
		die(path);
	printf("%s\n", path);
}

/* One message of records in presentation form (ldns compresses it). */
static void seed_text(struct seed *s, uint16_t qtype, bool question, uint8_t rcode,
                      const char *const *rrs, size_t n)
{
	ldns_pkt *p = ldns_pkt_new();
	ldns_pkt_set_id(p, XID);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_aa(p, true);
	ldns_pkt_set_rcode(p, rcode);
	if (question) {
		ldns_rr *q = ldns_rr_new();
		ldns_rr_set_owner(q, ldns_dname_new_frm_str(ORIGIN));
		ldns_rr_set_type(q, (ldns_rr_type)qtype);
		ldns_rr_set_class(q, LDNS_RR_CLASS_IN);
		ldns_rr_set_question(q, true);
		ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, q);
	}
	ldns_rdf *org = ldns_dname_new_frm_str(ORIGIN);
	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = NULL;
		if (ldns_rr_new_frm_str(&rr, rrs[i], 3600, org, NULL) != LDNS_STATUS_OK)
			die(rrs[i]);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	ldns_rdf_deep_free(org);
	uint8_t *w = NULL;
	size_t len = 0;
	if (ldns_pkt2wire(&w, p, &len) != LDNS_STATUS_OK)
		die("ldns_pkt2wire");
	seed_msg(s, w, len);
	free(w);
	ldns_pkt_free(p);
}

static void query_for(struct query *q, uint16_t qtype)
{
	uint8_t req[512];
	size_t len = request(qtype, req);
	if (query_parse(q, req, len, true) != QUERY_OK)
		die("query_parse");
}

static void write_seeds(const char *dir)
{
	static struct seed s;
	struct query q;
	static uint8_t buf[65535];
	size_t len;

	/* version 2: www moved, a TXT added; version 3: the MX changed */
	struct wire_rr v2[BASE_MAX], v3[BASE_MAX];
	memcpy(v2, base_rrs, sizeof(v2));
	text_rr("@ 3600 SOA ns1 hostmaster 2 7200 3600 1209600 300", &v2[0]);
	text_rr("www 3600 A 192.0.2.81", &v2[6]);
	text_rr("new 3600 TXT \"one\"", &v2[nbase]);
	memcpy(v3, v2, sizeof(v3));
	text_rr("@ 3600 SOA ns1 hostmaster 3 7200 3600 1209600 300", &v3[0]);
	text_rr("@ 3600 MX 20 mail", &v3[3]);
	struct zone *z1 = zone_from(base_rrs, nbase), *z2 = zone_from(v2, nbase + 1),
	            *z3 = zone_from(v3, nbase + 1);
	zone_ref(z3);
	struct changeset *cs[2];
	if (zone_diff(z1, z2, &cs[0]) || zone_diff(z2, z3, &cs[1]))
		die("zone_diff");

	/* AXFR of version 3 as shoal sends it; and signed */
	for (int sign = 0; sign < 2; sign++) {
		seed_begin(&s, sign ? MODE_TSIG : 0);
		query_for(&q, RRTYPE_AXFR);
		struct axfr x;
		axfr_start(&x, z3, &q);
		while ((len = axfr_next(&x, buf, sizeof(buf))) > 0)
			seed_msg(&s, buf, len);
		axfr_end(&x);
		if (sign)
			seed_sign(&s, RRTYPE_AXFR, 1);
		seed_write(&s, dir);
	}
	/* AXFR one record per message, signed every third */
	static const char *const axfr_rrs[] = {"@ 3600 SOA ns1 hostmaster 7 7200 3600 1209600 300",
	                                       "@ 3600 NS ns1",
	                                       "ns1 3600 A 192.0.2.1",
	                                       "@ 3600 MX 10 ns1",
	                                       "srv 3600 SRV 1 2 3 ns1",
	                                       "@ 3600 SOA ns1 hostmaster 7 7200 3600 1209600 300",
	                                       NULL};
	for (int sign = 0; sign < 2; sign++) {
		seed_begin(&s, sign ? MODE_TSIG : 0);
		for (size_t i = 0; axfr_rrs[i]; i++)
			seed_text(&s, RRTYPE_AXFR, i == 0, 0, axfr_rrs + i, 1);
		if (sign)
			seed_sign(&s, RRTYPE_AXFR, 3);
		seed_write(&s, dir);
	}
	/* IXFR 1 -> 3 as shoal sends it (uncondensed); and signed */
	for (int sign = 0; sign < 2; sign++) {
		seed_begin(&s, MODE_IXFR | (sign ? MODE_TSIG : 0));
		query_for(&q, RRTYPE_IXFR);
		struct ixfr x;
		if (ixfr_start(&x, z3, cs, 2, &q) != 0)
			die("ixfr_start");
		while ((len = ixfr_next(&x, buf, sizeof(buf))) > 0)
			seed_msg(&s, buf, len);
		ixfr_end(&x);
		if (sign)
			seed_sign(&s, RRTYPE_IXFR, 1);
		seed_write(&s, dir);
	}
	/* IXFR condensed, two records per message */
	static const char *const cond[] = {"@ 3600 SOA ns1 hostmaster 2 7200 3600 1209600 300",
	                                   "@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300",
	                                   "www 3600 A 192.0.2.80",
	                                   "@ 3600 SOA ns1 hostmaster 2 7200 3600 1209600 300",
	                                   "www 3600 A 192.0.2.81",
	                                   "new 3600 TXT \"one\"",
	                                   "@ 3600 SOA ns1 hostmaster 2 7200 3600 1209600 300",
	                                   NULL};
	seed_begin(&s, MODE_IXFR);
	for (size_t i = 0; cond[i]; i += 2)
		seed_text(&s, RRTYPE_IXFR, i == 0, 0, cond + i, cond[i + 1] ? 2 : 1);
	seed_write(&s, dir);
	/* IXFR answered with the whole zone, in one message */
	static const char *const whole[] = {"@ 3600 SOA ns1 hostmaster 5 7200 3600 1209600 300",
	                                    "@ 3600 NS ns1",
	                                    "ns1 3600 A 192.0.2.1",
	                                    "*.wild 3600 TXT \"w\"",
	                                    "@ 3600 SOA ns1 hostmaster 5 7200 3600 1209600 300",
	                                    NULL};
	seed_begin(&s, MODE_IXFR);
	seed_text(&s, RRTYPE_IXFR, true, 0, whole, 5);
	seed_write(&s, dir);
	/* IXFR: up to date (the SOA alone); NOTIMP */
	seed_begin(&s, MODE_IXFR);
	seed_text(&s, RRTYPE_IXFR, true, 0, base_text, 1);
	seed_write(&s, dir);
	seed_begin(&s, MODE_IXFR | MODE_TSIG);
	seed_text(&s, RRTYPE_IXFR, true, 4, NULL, 0);
	seed_write(&s, dir);

	changeset_unref(cs[0]);
	changeset_unref(cs[1]);
	zone_unref(z3);
	zone_free(z2);
	zone_free(z1);
}
