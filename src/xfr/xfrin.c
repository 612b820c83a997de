/* xfrin.c: IXFR and AXFR in, the secondary's side (xfrin.h).
 *
 * The parser reads each message twice: a first walk over every section
 * checks its structure and reads the OPT (the extended RCODE, EXPIRE) and
 * the TSIG's place, so that an RCODE is judged before any record; the
 * second reads the answer records in order, names decompressed by a
 * reader of our own (ldns_wire2rr allocates a record and an rdf per field:
 * several times slower on a big zone). A record goes where the answer's
 * shape says: straight into a zone builder for a whole zone (no copy of
 * the zone is kept beside the one being built), or into the blob of the
 * current difference (changeset.h) for an incremental one.
 *
 * The differences of an IXFR are applied in one zone update over the
 * base, each change in order, rather than one version per difference
 * (changeset_apply): no intermediate version is made, and one that fails
 * half way leaves the base without a successor, so a later update from
 * it is still allowed (zone_update_begin wants the newest version). */
#include "xfr/xfrin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "net/sockaddr.h"
#include "ops/log.h"
#include "zone/serial.h"

#define DNS_HDR 12
#define OPCODE_QUERY 0
#define RCODE_FORMERR 1
#define RCODE_NOTIMP 4
#define EDNS_OPT_EXPIRE 9  /* RFC 7314 §2 */
#define EDNS_UDP_SIZE 1232 /* no fragmentation on common paths (DNS flag day 2020) */
#define MSG_MAX 65535      /* RFC 1035 §4.2.2: a TCP message's length field */
/* The longest SOA rdata: two names and five 32-bit fields (RFC 1035 §3.3.13). */
#define SOA_RDATA_MAX (2 * DNAME_MAX + 20)
/* A request: header, question, base's SOA (owner a pointer), the OPT with
 * an empty EXPIRE, the TSIG. */
#define REQ_MAX (DNS_HDR + DNAME_MAX + 4 + 2 + RR_FIXED_LEN + SOA_RDATA_MAX + 11 + 4 + TSIG_RR_MAX)
/* Octets read from a TCP connection at a time: a few messages of 16 KiB
 * (what primaries send, AXFR_MSG_LIMIT) per recv, and room for the
 * largest message after a partial one. */
#define TCP_BUF (4 * MSG_MAX)
/* Warnings of a whole zone kept for xfrin_parse_finish's `warn`; more are
 * counted (as zone_dnssec_check counts its own). */
#define WARN_KEEP ZONE_CHECK_REPORT_MAX
#define WARN_LEN 320

/* ------------------------------------------------------------- helpers */

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static const char *type_str(uint16_t type, char *buf, size_t size)
{
	const ldns_rr_descriptor *d = ldns_rr_descript(type);
	if (d && d->_name)
		return d->_name;
	snprintf(buf, size, "TYPE%u", type); /* RFC 3597 §5 */
	return buf;
}

static const char *rcode_str(unsigned rcode, char *buf, size_t size)
{
	static const char *const names[] = {
	    "NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
	    "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE", "DSOTYPENI",
	    NULL,       NULL,      NULL,       NULL,       "BADVERS"};
	if (rcode < sizeof(names) / sizeof(names[0]) && names[rcode])
		snprintf(buf, size, "%s", names[rcode]);
	else
		snprintf(buf, size, "RCODE%u", rcode);
	return buf;
}

/* Past a (possibly compressed) name at `off`, without reading where its
 * pointer leads. \return the offset after it, or 0 when it runs out. */
static size_t name_skip(const uint8_t *w, size_t len, size_t off)
{
	while (off < len) {
		uint8_t c = w[off];
		if (c == 0)
			return off + 1;
		if ((c & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (c & 0xc0)
			return 0; /* the label types RFC 6891 §5 retired */
		off += 1u + c;
	}
	return 0;
}

/*
 * Read a name at `off`, following compression pointers (RFC 1035 §4.1.4),
 * into `out` uncompressed (the case kept). A pointer must point before
 * itself; a name that never ends is stopped by its length (255 octets).
 * \return the offset after the name where it lies in the message (after
 *         its first pointer), or 0 when it is malformed
 */
static size_t name_read(const uint8_t *w, size_t len, size_t off, uint8_t out[DNAME_MAX],
                        size_t *out_len)
{
	size_t o = 0, next = 0, pos = off;
	for (;;) {
		if (pos >= len)
			return 0;
		uint8_t c = w[pos];
		if (c == 0) {
			out[o++] = 0;
			*out_len = o;
			return next ? next : pos + 1;
		}
		if ((c & 0xc0) == 0xc0) {
			if (pos + 2 > len)
				return 0;
			size_t target = (size_t)(c & 0x3f) << 8 | w[pos + 1];
			if (!next)
				next = pos + 2;
			if (target >= pos)
				return 0;
			pos = target;
			continue;
		}
		if (c & 0xc0)
			return 0;
		/* the label and at least the root after it must fit */
		if (pos + 1 + c > len || o + 1 + c + 1 > DNAME_MAX)
			return 0;
		memcpy(out + o, w + pos, 1u + c);
		o += 1u + c;
		pos += 1u + c;
	}
}

/* Where the names are in the rdata of the types a sender may have
 * compressed: RFC 1035's (NS MD MF CNAME SOA MB MG MR PTR MINFO MX) and
 * those RFC 3597 §4 says a receiver must decompress too (RP AFSDB RT SIG
 * PX NXT NAPTR KX SRV DNAME). Every other type's rdata is copied as it is. */
enum rd_tail {
	RD_END,  /* nothing after the names */
	RD_SOA,  /* the five 32-bit fields */
	RD_REST, /* anything (SIG's signature, NXT's bitmap) */
};

struct rd_layout {
	uint8_t fixed;   /* octets before the first name */
	uint8_t strings; /* character-strings after them (NAPTR) */
	uint8_t names;   /* 0: not a type with names to decompress */
	enum rd_tail tail;
};

/* By type: the highest is DNAME's, 39. */
#define RD_TYPES 40
static const struct rd_layout rd_layouts[RD_TYPES] = {
    [2] = {0, 0, 1, RD_END},    /* NS */
    [3] = {0, 0, 1, RD_END},    /* MD */
    [4] = {0, 0, 1, RD_END},    /* MF */
    [5] = {0, 0, 1, RD_END},    /* CNAME */
    [6] = {0, 0, 2, RD_SOA},    /* SOA: MNAME RNAME, then five fields */
    [7] = {0, 0, 1, RD_END},    /* MB */
    [8] = {0, 0, 1, RD_END},    /* MG */
    [9] = {0, 0, 1, RD_END},    /* MR */
    [12] = {0, 0, 1, RD_END},   /* PTR */
    [14] = {0, 0, 2, RD_END},   /* MINFO */
    [15] = {2, 0, 1, RD_END},   /* MX */
    [17] = {0, 0, 2, RD_END},   /* RP */
    [18] = {2, 0, 1, RD_END},   /* AFSDB */
    [21] = {2, 0, 1, RD_END},   /* RT */
    [24] = {18, 0, 1, RD_REST}, /* SIG: the signer, then the signature */
    [26] = {2, 0, 2, RD_END},   /* PX */
    [30] = {0, 0, 1, RD_REST},  /* NXT: the next name, then the bitmap */
    [33] = {6, 0, 1, RD_END},   /* SRV */
    [35] = {4, 3, 1, RD_END},   /* NAPTR: order, preference, 3 strings, replacement */
    [36] = {2, 0, 1, RD_END},   /* KX */
    [39] = {0, 0, 1, RD_END},   /* DNAME */
};

/*
 * Copy the rdata at w[off, off + rdlen) into `out` (MSG_MAX octets), the
 * names of rd_layout's types decompressed and checked to end inside it.
 * \return the length written, or -1 when the rdata is malformed
 */
static int rdata_read(const uint8_t *w, size_t len, size_t off, uint16_t rdlen, uint16_t type,
                      uint8_t *out)
{
	size_t end = off + rdlen;
	if (type >= RD_TYPES || !rd_layouts[type].names) {
		memcpy(out, w + off, rdlen);
		return rdlen;
	}
	const struct rd_layout l = rd_layouts[type];
	size_t o = 0, pos = off;
	if (pos + l.fixed > end)
		return -1;
	memcpy(out, w + pos, l.fixed);
	o = l.fixed;
	pos += l.fixed;
	for (unsigned i = 0; i < l.strings; i++) {
		if (pos >= end || pos + 1u + w[pos] > end)
			return -1;
		size_t n = 1u + w[pos];
		memcpy(out + o, w + pos, n);
		o += n;
		pos += n;
	}
	for (unsigned i = 0; i < l.names; i++) {
		size_t nl;
		size_t next = name_read(w, len, pos, out + o, &nl);
		if (!next || next > end)
			return -1;
		o += nl;
		pos = next;
	}
	size_t rest = end - pos;
	if ((l.tail == RD_END && rest != 0) || (l.tail == RD_SOA && rest != 20))
		return -1;
	if (o + rest > MSG_MAX)
		return -1;
	memcpy(out + o, w + pos, rest);
	return (int)(o + rest);
}

/* What the first walk over a message found. */
struct msg_scan {
	unsigned qd, an, ns, ar;
	size_t an_off;  /* the answer section's first record */
	unsigned rcode; /* with the OPT's upper 8 bits (RFC 6891 §6.1.3) */
	bool tsig;      /* the message carries a TSIG (the last record) */
	bool expire;    /* an EDNS EXPIRE option (RFC 7314) */
	uint32_t expire_val;
};

/* Walk every section of a message: each record whole, nothing after the
 * last, at most one OPT (in the additional section, owner the root).
 * \return NULL, or what is wrong */
static const char *msg_scan(const uint8_t *w, size_t len, struct msg_scan *s)
{
	memset(s, 0, sizeof(*s));
	if (len < DNS_HDR)
		return "shorter than a DNS header";
	s->qd = get16(w + 4);
	s->an = get16(w + 6);
	s->ns = get16(w + 8);
	s->ar = get16(w + 10);
	s->rcode = w[3] & 0x0f;
	size_t off = DNS_HDR;
	for (unsigned i = 0; i < s->qd; i++) {
		off = name_skip(w, len, off);
		if (!off || off + 4 > len)
			return "a malformed question";
		off += 4;
	}
	s->an_off = off;
	bool opt = false;
	unsigned total = s->an + s->ns + s->ar;
	for (unsigned i = 0; i < total; i++) {
		size_t owner = off;
		off = name_skip(w, len, off);
		if (!off || off + RR_FIXED_LEN > len)
			return "a record runs past the end of the message";
		uint16_t type = get16(w + off);
		uint16_t rdlen = get16(w + off + 8);
		size_t rd = off + RR_FIXED_LEN;
		if (rd + rdlen > len)
			return "a record's rdata runs past the end of the message";
		off = rd + rdlen;
		bool additional = i >= s->an + s->ns;
		if (type == RRTYPE_TSIG) {
			if (!additional || i + 1 != total)
				return "a TSIG that is not the last record";
			s->tsig = true;
		} else if (type == RRTYPE_OPT) {
			if (!additional || opt || w[owner] != 0)
				return "a misplaced or second OPT record";
			opt = true;
			s->rcode |= (unsigned)w[rd - 6] << 4;
			/* the options: code, length, data */
			for (size_t o = rd; o < off;) {
				if (o + 4 > off || o + 4 + get16(w + o + 2) > off)
					return "a malformed EDNS option";
				uint16_t code = get16(w + o), olen = get16(w + o + 2);
				if (code == EDNS_OPT_EXPIRE && olen == 4 && !s->expire) {
					s->expire = true;
					s->expire_val = get32(w + o + 4);
				}
				o += 4u + olen;
			}
		}
	}
	if (off != len)
		return "octets after the last record";
	return NULL;
}

/* The question at `off` is `apex` `qtype` IN. \return NULL, or what differs */
static const char *question_check(const uint8_t *w, size_t len, size_t off, const uint8_t *apex,
                                  uint16_t qtype)
{
	uint8_t name[DNAME_MAX];
	size_t nl;
	size_t next = name_read(w, len, off, name, &nl);
	if (!next || next + 4 > len)
		return "a malformed question";
	if (!dname_equal(name, apex))
		return "the question names another zone";
	if (get16(w + next) != qtype)
		return "the question asks for another type";
	if (get16(w + next + 2) != RRCLASS_IN)
		return "the question's class is not IN";
	return NULL;
}

/* ---------------------------------------------------------------- parser */

enum parse_state {
	ST_FIRST,  /* before the first SOA */
	ST_SECOND, /* IXFR: after it, the second record decides the form */
	ST_WHOLE,  /* a whole zone: records until the SOA again */
	ST_DEL,    /* a difference's removals, after its old SOA */
	ST_ADD,    /* its additions, after its new SOA */
	ST_END,    /* the final SOA was read */
};

/* A record of the answer, names decompressed. */
struct xrr {
	uint8_t owner[DNAME_MAX];
	size_t owner_len;
	uint16_t type, rrclass;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
};

/* An SOA kept: the one the next difference starts from, or an IXFR's first. */
struct soa_copy {
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t rdata[SOA_RDATA_MAX];
};

struct xfrin_parse {
	enum xfrin_kind kind;
	uint8_t apex[DNAME_MAX]; /* lowercased wire */
	size_t apex_len;
	struct zone *base;
	uint16_t id;
	struct tsig_state *tsig;
	uint64_t max_size;

	enum parse_state st;
	enum xfrin_status status; /* the last message's, kept once not MORE */
	int err;                  /* on XFRIN_ERROR: -EPROTO, -EFBIG, -ENOMEM */
	bool finished;
	uint32_t serial; /* the first SOA's */
	size_t messages, records;
	uint64_t octets;
	bool expire; /* an EDNS EXPIRE came */
	uint32_t expire_val;

	/* A whole zone: the records go straight in. */
	struct zone_builder *b;
	struct soa_copy first; /* IXFR: the first SOA, added once the form is known */
	char warn[WARN_KEEP][WARN_LEN];
	unsigned nwarn; /* all of them, also those only counted */

	/* Differences: those complete, and the one being read. */
	struct changeset **cs;
	size_t ncs, cs_cap;
	uint8_t *blob;
	size_t blob_len, blob_cap;
	uint32_t from, to, nremoved, nadded;
	struct soa_copy cur; /* the SOA of the version the next difference starts at */

	uint8_t rdbuf[MSG_MAX]; /* one record's rdata, decompressed */
};

/* "message 3: " + the reason, in why; the status to return. */
static enum xfrin_status pfail(struct xfrin_parse *p, enum xfrin_status st, int err, char *why,
                               size_t whysize, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static enum xfrin_status pfail(struct xfrin_parse *p, enum xfrin_status st, int err, char *why,
                               size_t whysize, const char *fmt, ...)
{
	if (whysize) {
		int n = snprintf(why, whysize, "message %zu: ", p->messages);
		if (n < 0 || (size_t)n >= whysize)
			n = 0;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why + n, whysize - (size_t)n, fmt, ap);
		va_end(ap);
	}
	if (st == XFRIN_ERROR)
		p->err = err;
	return st;
}

/* The same naming the record: "message 3, record 17 (www.example. A): ". */
static enum xfrin_status rfail(struct xfrin_parse *p, enum xfrin_status st, int err,
                               const struct xrr *rr, char *why, size_t whysize, const char *fmt,
                               ...) __attribute__((format(printf, 7, 8)));

static enum xfrin_status rfail(struct xfrin_parse *p, enum xfrin_status st, int err,
                               const struct xrr *rr, char *why, size_t whysize, const char *fmt,
                               ...)
{
	if (whysize) {
		char nb[DNAME_STR_MAX], tb[16];
		int n = snprintf(why, whysize, "message %zu, record %zu (%s %s): ", p->messages,
		                 p->records, dname_to_str(rr->owner, nb, sizeof(nb)),
		                 type_str(rr->type, tb, sizeof(tb)));
		if (n < 0 || (size_t)n >= whysize)
			n = 0;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why + n, whysize - (size_t)n, fmt, ap);
		va_end(ap);
	}
	if (st == XFRIN_ERROR)
		p->err = err;
	return st;
}

struct xfrin_parse *xfrin_parse_new(enum xfrin_kind kind, const uint8_t *apex, size_t apex_len,
                                    struct zone *base, uint16_t id, struct tsig_state *tsig,
                                    uint64_t max_size)
{
	if (!apex_len || dname_wire_len(apex, apex_len) != apex_len ||
	    (kind == XFRIN_IXFR && !base))
		return NULL;
	struct xfrin_parse *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->kind = kind;
	dname_lower(p->apex, apex, apex_len);
	p->apex_len = apex_len;
	p->base = kind == XFRIN_IXFR ? base : NULL;
	p->id = id;
	p->tsig = tsig;
	p->max_size = max_size;
	p->st = ST_FIRST;
	p->status = XFRIN_MORE;
	return p;
}

int xfrin_parse_error(const struct xfrin_parse *p)
{
	return p->status == XFRIN_ERROR ? p->err : 0;
}

uint32_t xfrin_parse_serial(const struct xfrin_parse *p)
{
	return p->serial;
}

static void soa_keep(struct soa_copy *s, const struct xrr *rr)
{
	s->ttl = rr->ttl;
	s->rdlen = rr->rdlen;
	memcpy(s->rdata, rr->rdata, rr->rdlen);
}

static void warn_keep(struct xfrin_parse *p, const struct xrr *rr, const char *msg)
{
	if (p->nwarn < WARN_KEEP) {
		char nb[DNAME_STR_MAX], tb[16];
		snprintf(p->warn[p->nwarn], WARN_LEN, "%s %s: %s",
		         dname_to_str(rr->owner, nb, sizeof(nb)),
		         type_str(rr->type, tb, sizeof(tb)), msg);
	}
	p->nwarn++;
}

/* Add a record to the zone being built. */
static enum xfrin_status whole_add(struct xfrin_parse *p, const struct xrr *rr, char *why,
                                   size_t whysize)
{
	char msg[256];
	enum zb_result res = zone_builder_add(p->b, rr->owner, rr->type, rr->rrclass, rr->ttl,
	                                      rr->rdata, rr->rdlen, msg, sizeof(msg));
	if (res == ZB_ERROR)
		return rfail(p, XFRIN_ERROR, strcmp(msg, "out of memory") ? -EPROTO : -ENOMEM, rr,
		             why, whysize, "%s", msg);
	if (res == ZB_WARN)
		warn_keep(p, rr, msg);
	return XFRIN_MORE;
}

/* A whole zone starts with its SOA: `soa` (rdata in soa->rdata). */
static enum xfrin_status whole_begin(struct xfrin_parse *p, const struct xrr *soa, char *why,
                                     size_t whysize)
{
	p->b = zone_builder_new(p->apex);
	if (!p->b)
		return pfail(p, XFRIN_ERROR, -ENOMEM, why, whysize, "out of memory");
	p->st = ST_WHOLE;
	return whole_add(p, soa, why, whysize);
}

static int blob_reserve(struct xfrin_parse *p, size_t more)
{
	if (p->blob_len + more <= p->blob_cap)
		return 0;
	size_t cap = p->blob_cap ? p->blob_cap : 4096;
	while (cap < p->blob_len + more)
		cap *= 2;
	uint8_t *nb = realloc(p->blob, cap);
	if (!nb)
		return -ENOMEM;
	p->blob = nb;
	p->blob_cap = cap;
	return 0;
}

/* Append a record to the current difference's blob: owner lowercased (as
 * the zone keeps names), fixed part, rdata (names uncompressed). */
static int blob_add(struct xfrin_parse *p, const uint8_t *owner, size_t owner_len, uint16_t type,
                    uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	if (blob_reserve(p, owner_len + RR_FIXED_LEN + rdlen) < 0)
		return -ENOMEM;
	uint8_t *w = p->blob + p->blob_len;
	dname_lower(w, owner, owner_len);
	w += owner_len;
	put16(w, type);
	put16(w + 2, RRCLASS_IN);
	put32(w + 4, ttl);
	put16(w + 8, rdlen);
	memcpy(w + RR_FIXED_LEN, rdata, rdlen);
	p->blob_len += owner_len + RR_FIXED_LEN + rdlen;
	return 0;
}

/* A difference starts: its old SOA is the one we hold at that serial
 * (base's, or the previous difference's new SOA), written as we hold it so
 * that its removal matches whatever TTL or letter case the primary used. */
static enum xfrin_status diff_begin(struct xfrin_parse *p, uint32_t from, char *why, size_t whysize)
{
	p->from = from;
	p->nremoved = p->nadded = 0;
	p->blob_len = 0;
	if (blob_add(p, p->apex, p->apex_len, RRTYPE_SOA, p->cur.ttl, p->cur.rdata, p->cur.rdlen) <
	    0)
		return pfail(p, XFRIN_ERROR, -ENOMEM, why, whysize, "out of memory");
	p->st = ST_DEL;
	return XFRIN_MORE;
}

/* The current difference is complete: it becomes a changeset. */
static enum xfrin_status diff_end(struct xfrin_parse *p, char *why, size_t whysize)
{
	if (p->ncs == p->cs_cap) {
		size_t nc = p->cs_cap ? p->cs_cap * 2 : 8;
		struct changeset **v = realloc(p->cs, nc * sizeof(*v));
		if (!v)
			return pfail(p, XFRIN_ERROR, -ENOMEM, why, whysize, "out of memory");
		p->cs = v;
		p->cs_cap = nc;
	}
	/* the blob is handed over; it is shrunk to its size first (a big
	 * difference doubled its way up) */
	uint8_t *w = p->blob;
	if (p->blob_len < p->blob_cap) {
		uint8_t *s = realloc(w, p->blob_len);
		if (s)
			w = s;
	}
	p->blob = NULL;
	p->blob_cap = 0;
	struct changeset *cs =
	    changeset_new(p->from, p->to, p->nremoved, p->nadded, w, p->blob_len);
	p->blob_len = 0;
	if (!cs)
		return pfail(p, XFRIN_ERROR, -ENOMEM, why, whysize, "out of memory");
	p->cs[p->ncs++] = cs;
	return XFRIN_MORE;
}

static bool meta_type(uint16_t t)
{
	return t == RRTYPE_OPT || t == RRTYPE_TSIG || t == RRTYPE_IXFR || t == RRTYPE_AXFR ||
	       t == RRTYPE_MAILB || t == RRTYPE_MAILA || t == RRTYPE_ANY || t == 249 /* TKEY */;
}

/* One answer record, in the state machine of RFC 1995 §4 / RFC 5936 §2.2. */
static enum xfrin_status on_record(struct xfrin_parse *p, struct xrr *rr, char *why, size_t whysize)
{
	char ab[DNAME_STR_MAX];
	if (rr->rrclass != RRCLASS_IN)
		return rfail(p, XFRIN_ERROR, -EPROTO, rr, why, whysize, "class %u, not IN",
		             rr->rrclass);
	if (!dname_is_subdomain(rr->owner, p->apex))
		return rfail(p, XFRIN_ERROR, -EPROTO, rr, why, whysize, "outside the zone %s",
		             dname_to_str(p->apex, ab, sizeof(ab)));
	if (meta_type(rr->type))
		return rfail(p, XFRIN_ERROR, -EPROTO, rr, why, whysize,
		             "a meta type in the answer section");
	p->octets += rr->owner_len + RR_FIXED_LEN + rr->rdlen;
	if (p->max_size && p->octets > p->max_size)
		return rfail(p, XFRIN_ERROR, -EFBIG, rr, why, whysize,
		             "more than %llu octets of records (the zone's size limit)",
		             (unsigned long long)p->max_size);
	bool soa = rr->type == RRTYPE_SOA;
	uint32_t serial = 0;
	if (soa) {
		if (!dname_equal(rr->owner, p->apex))
			return rfail(p, XFRIN_ERROR, -EPROTO, rr, why, whysize,
			             "an SOA below the zone's apex");
		/* rdata_read checked the 20 octets after the names */
		serial = get32(rr->rdata + rr->rdlen - 20);
	}

	switch (p->st) {
	case ST_FIRST:
		if (!soa)
			return rfail(p, XFRIN_ERROR, -EPROTO, rr, why, whysize,
			             "the first record is not the zone's SOA");
		p->serial = serial;
		if (p->kind == XFRIN_AXFR)
			return whole_begin(p, rr, why, whysize);
		if (!serial_newer(serial, p->base->serial)) {
			/* RFC 1995 §2: not newer, nothing to send; whatever
			 * follows it does not matter */
			p->st = ST_END;
			return XFRIN_UPTODATE;
		}
		soa_keep(&p->first, rr);
		p->st = ST_SECOND;
		return XFRIN_MORE;
	case ST_SECOND: {
		struct xrr first = {.type = RRTYPE_SOA,
		                    .rrclass = RRCLASS_IN,
		                    .ttl = p->first.ttl,
		                    .rdlen = p->first.rdlen,
		                    .rdata = p->first.rdata};
		memcpy(first.owner, p->apex, p->apex_len);
		first.owner_len = p->apex_len;
		if (!soa || serial == p->serial) {
			/* RFC 1995 §4: a whole zone ("AXFR-style"); SOA SOA would
			 * be a zone of nothing but its SOA, which the builder
			 * then rejects */
			enum xfrin_status st = whole_begin(p, &first, why, whysize);
			if (st != XFRIN_MORE)
				return st;
			if (soa) {
				p->st = ST_END;
				return XFRIN_DONE;
			}
			return whole_add(p, rr, why, whysize);
		}
		if (serial != p->base->serial)
			return rfail(p, XFRIN_FALLBACK, 0, rr, why, whysize,
			             "the differences start at serial %u, we have %u", serial,
			             p->base->serial);
		const struct rrset *bs = p->base->soa;
		uint16_t rdlen = get16(bs->wire + 8);
		p->cur.ttl = bs->ttl;
		p->cur.rdlen = rdlen <= SOA_RDATA_MAX ? rdlen : 0;
		memcpy(p->cur.rdata, bs->wire + RR_FIXED_LEN, p->cur.rdlen);
		return diff_begin(p, serial, why, whysize);
	}
	case ST_WHOLE:
		if (soa) {
			if (serial != p->serial)
				return rfail(
				    p, XFRIN_ERROR, -EPROTO, rr, why, whysize,
				    "an SOA of serial %u inside the zone (the first had %u)",
				    serial, p->serial);
			p->st = ST_END;
			return XFRIN_DONE;
		}
		return whole_add(p, rr, why, whysize);
	case ST_DEL:
		if (soa) {
			p->to = serial;
			soa_keep(&p->cur, rr);
			p->st = ST_ADD;
		} else {
			p->nremoved++;
		}
		if (blob_add(p, rr->owner, rr->owner_len, rr->type, rr->ttl, rr->rdata, rr->rdlen) <
		    0)
			return pfail(p, XFRIN_ERROR, -ENOMEM, why, whysize, "out of memory");
		return XFRIN_MORE;
	case ST_ADD: {
		if (!soa) {
			p->nadded++;
			if (blob_add(p, rr->owner, rr->owner_len, rr->type, rr->ttl, rr->rdata,
			             rr->rdlen) < 0)
				return pfail(p, XFRIN_ERROR, -ENOMEM, why, whysize,
				             "out of memory");
			return XFRIN_MORE;
		}
		uint32_t prev = p->to;
		enum xfrin_status st = diff_end(p, why, whysize);
		if (st != XFRIN_MORE)
			return st;
		if (serial == p->serial && prev == p->serial) {
			p->st = ST_END;
			return XFRIN_DONE;
		}
		/* RFC 1995 §4: each difference starts where the last ended */
		if (serial != prev)
			return rfail(p, XFRIN_FALLBACK, 0, rr, why, whysize,
			             "a difference starts at serial %u, the one before ended at %u",
			             serial, prev);
		return diff_begin(p, serial, why, whysize);
	}
	case ST_END:
		break;
	}
	return rfail(p, XFRIN_ERROR, -EPROTO, rr, why, whysize, "a record after the final SOA");
}

static enum xfrin_status parse_msg(struct xfrin_parse *p, const uint8_t *w, size_t len,
                                   uint64_t now, char *why, size_t whysize)
{
	char rb[16];
	if (len < DNS_HDR)
		return pfail(p, XFRIN_ERROR, -EPROTO, why, whysize,
		             "%zu octets, shorter than a DNS header", len);
	uint16_t id = get16(w);
	if (id != p->id)
		return pfail(p, XFRIN_ERROR, -EPROTO, why, whysize, "ID %u, the request's was %u",
		             id, p->id);
	if (!(w[2] & 0x80))
		return pfail(p, XFRIN_ERROR, -EPROTO, why, whysize, "not a response (QR 0)");
	unsigned opcode = (w[2] >> 3) & 0x0f;
	if (opcode != OPCODE_QUERY)
		return pfail(p, XFRIN_ERROR, -EPROTO, why, whysize, "opcode %u, not QUERY", opcode);

	struct msg_scan s;
	const char *bad = msg_scan(w, len, &s);
	/* TSIG first (RFC 8945 §5.3): nothing of a message is believed before
	 * its MAC, or the next signed one's, checks out; an unsigned error
	 * answer (FORMERR or NOTIMP to a signed request, §5.3) is judged by
	 * its RCODE below. */
	if (p->tsig) {
		enum tsig_result tr = tsig_verify_next(p->tsig, w, len, now);
		if (tr == TSIG_NONE) {
			if (bad || !s.rcode)
				return pfail(p, XFRIN_ERROR, -EPROTO, why, whysize,
				             "unsigned answer to a signed request");
		} else if (tr != TSIG_OK && tr != TSIG_UNSIGNED) {
			return pfail(p, XFRIN_ERROR, -EPROTO, why, whysize, "TSIG %s",
			             tsig_result_str(tr));
		}
	}
	if (bad)
		return pfail(p, XFRIN_ERROR, -EPROTO, why, whysize, "malformed: %s", bad);
	if (s.tsig && !p->tsig)
		return pfail(p, XFRIN_ERROR, -EPROTO, why, whysize,
		             "signed answer (TSIG) to an unsigned request");
	if (s.expire && !p->expire) {
		p->expire = true;
		p->expire_val = s.expire_val;
	}
	if (s.rcode) {
		/* RFC 1995 §4, RFC 5936 §2.2: a primary that does not do
		 * IXFR says NOTIMP (or FORMERR, an older one): ask for AXFR */
		if (p->kind == XFRIN_IXFR && p->messages == 1 &&
		    (s.rcode == RCODE_NOTIMP || s.rcode == RCODE_FORMERR))
			return pfail(p, XFRIN_FALLBACK, 0, why, whysize, "%s to IXFR",
			             rcode_str(s.rcode, rb, sizeof(rb)));
		return pfail(p, XFRIN_ERROR, -EPROTO, why, whysize, "%s",
		             rcode_str(s.rcode, rb, sizeof(rb)));
	}
	if (w[2] & 0x02)
		return pfail(p, XFRIN_ERROR, -EPROTO, why, whysize, "truncated (TC)");
	if (s.qd > 1 || (s.qd == 0 && p->messages == 1))
		return pfail(p, XFRIN_ERROR, -EPROTO, why, whysize, "%u questions", s.qd);
	if (s.qd == 1) {
		bad = question_check(w, len, DNS_HDR, p->apex,
		                     p->kind == XFRIN_IXFR ? RRTYPE_IXFR : RRTYPE_AXFR);
		if (bad)
			return pfail(p, XFRIN_ERROR, -EPROTO, why, whysize, "%s", bad);
	}

	/* the answer records, in order (authority and additional ignored:
	 * RFC 5936 §2.2.1 wants them empty but for OPT and TSIG) */
	size_t off = s.an_off;
	enum xfrin_status st = XFRIN_MORE;
	for (unsigned i = 0; i < s.an; i++) {
		struct xrr rr;
		p->records++;
		off = name_read(w, len, off, rr.owner, &rr.owner_len);
		if (!off)
			return pfail(p, XFRIN_ERROR, -EPROTO, why, whysize,
			             "record %zu: a malformed owner name", p->records);
		/* msg_scan saw the fixed part and rdata fit */
		rr.type = get16(w + off);
		rr.rrclass = get16(w + off + 2);
		rr.ttl = get32(w + off + 4);
		uint16_t rdlen = get16(w + off + 8);
		off += RR_FIXED_LEN;
		int n = rdata_read(w, len, off, rdlen, rr.type, p->rdbuf);
		if (n < 0)
			return rfail(p, XFRIN_ERROR, -EPROTO, &rr, why, whysize, "malformed rdata");
		rr.rdlen = (uint16_t)n;
		rr.rdata = p->rdbuf;
		off += rdlen;
		if (p->st == ST_END)
			return rfail(p, XFRIN_ERROR, -EPROTO, &rr, why, whysize,
			             "a record after the final SOA");
		st = on_record(p, &rr, why, whysize);
		if (st == XFRIN_ERROR || st == XFRIN_FALLBACK || st == XFRIN_UPTODATE)
			return st;
	}
	/* RFC 8945 §5.3.1: the last message must be signed, or what came
	 * after the last MAC is not authenticated */
	if (st == XFRIN_DONE && p->tsig && p->tsig->unsigned_run)
		return pfail(p, XFRIN_ERROR, -EPROTO, why, whysize,
		             "the last message is not signed (TSIG, RFC 8945 §5.3.1)");
	return st;
}

enum xfrin_status xfrin_parse_msg(struct xfrin_parse *p, const uint8_t *wire, size_t len,
                                  uint64_t now, char *why, size_t whysize)
{
	if (whysize)
		why[0] = 0;
	if (p->status != XFRIN_MORE) {
		snprintf(why, whysize, "a message after the end of the answer");
		return XFRIN_ERROR;
	}
	p->messages++;
	p->status = parse_msg(p, wire, len, now, why, whysize);
	return p->status;
}

static void quiet_warn(void *ctx, const char *reason)
{
	(void)ctx;
	(void)reason;
}

/* Apply the differences to the base in one update (see the top). */
static int apply_all(struct xfrin_parse *p, struct zone **out, zone_warn_fn warn, void *ctx,
                     char *why, size_t whysize)
{
	*out = NULL;
	/* A version made from base before (and maybe released since) keeps
	 * base from being updated again (zone_update_begin asserts it is the
	 * newest); say so, and the caller takes an AXFR. */
	if (p->base->newer) {
		snprintf(why, whysize, "the base version (serial %u) already has a successor",
		         p->base->serial);
		return -EINVAL;
	}
	struct zone_update *u = zone_update_begin(p->base);
	if (!u) {
		snprintf(why, whysize, "out of memory");
		return -ENOMEM;
	}
	int ret = 0;
	char msg[256], line[512], nb[DNAME_STR_MAX], tb[16];
	for (size_t i = 0; i < p->ncs; i++) {
		const struct changeset *cs = p->cs[i];
		if (changeset_check(cs, msg, sizeof(msg)) < 0) {
			snprintf(why, whysize, "the difference %u -> %u: %s", cs->from, cs->to,
			         msg);
			ret = -EINVAL;
			goto out;
		}
		struct changeset_rr rr;
		size_t pos = 0;
		uint64_t k = 0;
		while (changeset_next_rr(cs, &pos, &rr) > 0) {
			/* old SOA and removals, then new SOA and additions */
			bool remove = k++ <= cs->nremoved;
			enum zb_result res =
			    zone_update_change(u, remove, rr.owner, rr.type, rr.rrclass, rr.ttl,
			                       rr.rdata, rr.rdlen, msg, sizeof(msg));
			if (res == ZB_OK)
				continue;
			snprintf(line, sizeof(line), "the difference %u -> %u: %s %s %s: %s",
			         cs->from, cs->to, remove ? "removing" : "adding",
			         dname_to_str(rr.owner, nb, sizeof(nb)),
			         type_str(rr.type, tb, sizeof(tb)), msg);
			if (res == ZB_WARN) {
				warn(ctx, line);
				continue;
			}
			/* RFC 1995 §4: inconsistent; the caller asks for AXFR */
			snprintf(why, whysize, "%s", line);
			ret = strcmp(msg, "out of memory") ? -EINVAL : -ENOMEM;
			goto out;
		}
	}
	struct zone *z = zone_update_commit(u, msg, sizeof(msg));
	u = NULL;
	if (!z) {
		snprintf(why, whysize, "%s", msg);
		ret = strcmp(msg, "out of memory") ? -EINVAL : -ENOMEM;
		goto out;
	}
	if (z->serial != p->serial) {
		/* the last difference ended at the final serial (on_record) */
		snprintf(why, whysize, "the differences gave serial %u, not %u", z->serial,
		         p->serial);
		zone_free(z);
		ret = -EINVAL;
		goto out;
	}
	*out = z;
out:
	zone_update_abort(u);
	return ret;
}

int xfrin_parse_finish(struct xfrin_parse *p, struct xfrin_result *out, zone_warn_fn warn,
                       void *ctx, char *why, size_t whysize)
{
	memset(out, 0, sizeof(*out));
	if (whysize)
		why[0] = 0;
	if (p->status != XFRIN_DONE || p->finished) {
		snprintf(why, whysize, "the answer is not complete (no final SOA)");
		return -EINVAL;
	}
	p->finished = true;
	if (!warn)
		warn = quiet_warn;
	char line[WARN_LEN + 64];
	for (unsigned i = 0; i < p->nwarn && i < WARN_KEEP; i++)
		warn(ctx, p->warn[i]);
	if (p->nwarn > WARN_KEEP) {
		snprintf(line, sizeof(line), "%u more warnings about records",
		         p->nwarn - WARN_KEEP);
		warn(ctx, line);
	}
	struct zone *z = NULL;
	if (p->b) {
		char msg[256];
		z = zone_builder_finish(p->b, msg, sizeof(msg));
		p->b = NULL;
		if (!z) {
			snprintf(why, whysize, "%s", msg);
			return strcmp(msg, "out of memory") ? -EINVAL : -ENOMEM;
		}
		out->full = true;
	} else {
		int r = apply_all(p, &z, warn, ctx, why, whysize);
		if (r < 0)
			return r;
		out->cs = p->cs;
		out->ncs = p->ncs;
		p->cs = NULL;
		p->ncs = p->cs_cap = 0;
	}
	(void)zone_dnssec_check(z, time(NULL), zone_rrsig_expiry_warning(), warn, ctx);
	out->zone = z;
	out->serial = z->serial;
	out->messages = p->messages;
	out->records = p->records;
	out->octets = p->octets;
	out->has_expire_opt = p->expire;
	out->expire_opt = p->expire_val;
	return 0;
}

void xfrin_parse_free(struct xfrin_parse *p)
{
	if (!p)
		return;
	zone_builder_free(p->b);
	for (size_t i = 0; i < p->ncs; i++)
		changeset_unref(p->cs[i]);
	free(p->cs);
	free(p->blob);
	free(p);
}

void xfrin_result_free(struct xfrin_result *r)
{
	if (!r)
		return;
	zone_free(r->zone);
	for (size_t i = 0; i < r->ncs; i++)
		changeset_unref(r->cs[i]);
	free(r->cs);
	memset(r, 0, sizeof(*r));
}

/* --------------------------------------------------------------- network */

/* What a transfer try ends with, besides 0, 1 and -errno: the IXFR asks
 * for an AXFR. */
#define TRY_FALLBACK 2

/* xfrin_cancel: every wait ends with -ECANCELED while set. */
static atomic_bool cancelled;
#define CANCEL_SLICE_MS 100

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until `fd` is ready for `events` or the deadline (monotonic ms).
 * \return 0, -ETIMEDOUT, or -errno */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		if (atomic_load_explicit(&cancelled, memory_order_relaxed))
			return -ECANCELED;
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = {.fd = fd, .events = events};
		/* in slices, so that xfrin_cancel is seen within one */
		int n = poll(&pfd, 1, left > CANCEL_SLICE_MS ? CANCEL_SLICE_MS : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			continue;
		return 0; /* POLLERR, POLLHUP: the next read or write says what */
	}
}

void xfrin_cancel(bool on)
{
	atomic_store(&cancelled, on);
}

/* A nonblocking socket to `r`'s family, bound to its source if any. */
static int sock_new(const struct xfrin_remote *r, int type, char *why, size_t whysize)
{
	if (!sockaddr_family_ok(&r->addr, r->addr_len)) {
		snprintf(why, whysize, "not an IPv4 or IPv6 address");
		return -EAFNOSUPPORT;
	}
	int fd = socket(r->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int err = errno;
		snprintf(why, whysize, "socket: %s", strerror(err));
		return -err;
	}
	if (r->source_len && bind(fd, (const struct sockaddr *)&r->source, r->source_len) < 0) {
		int err = errno;
		snprintf(why, whysize, "cannot bind the source address: %s", strerror(err));
		close(fd);
		return -err;
	}
	return fd;
}

static int tcp_connect(const struct xfrin_remote *r, int64_t deadline, char *why, size_t whysize)
{
	int fd = sock_new(r, SOCK_STREAM, why, whysize);
	if (fd < 0)
		return fd;
	int err = 0;
	if (connect(fd, (const struct sockaddr *)&r->addr, r->addr_len) < 0) {
		if (errno != EINPROGRESS) {
			err = -errno;
			goto fail;
		}
		err = wait_fd(fd, POLLOUT, deadline);
		if (err < 0)
			goto fail;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			soerr = errno;
		if (soerr) {
			err = -soerr;
			goto fail;
		}
	}
	return fd;
fail:
	if (err == -ETIMEDOUT)
		snprintf(why, whysize, "timeout connecting");
	else
		snprintf(why, whysize, "connect: %s", strerror(-err));
	close(fd);
	return err;
}

static int send_all(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int w = wait_fd(fd, POLLOUT, deadline);
			if (w < 0)
				return w;
			continue;
		}
		return n < 0 ? -errno : -EPIPE;
	}
	return 0;
}

/* A request: for TCP with its 2-octet length in front (buf[0..2)). */
struct request {
	uint8_t buf[2 + REQ_MAX];
	size_t len; /* of the message, after the prefix */
	uint16_t id;
	struct tsig_state tsig;
	bool signed_;
};

/* The request for `apex` `qtype`: IXFR with base's SOA in the authority
 * section (RFC 1995 §3); an OPT with an empty EXPIRE option (RFC 7314 §3:
 * a secondary asks so for the primary's expire timer), payload size
 * EDNS_UDP_SIZE; signed with `key` when given. */
static int request_build(struct request *rq, const uint8_t *apex, size_t apex_len, uint16_t qtype,
                         const struct zone *base, const struct conf_key *key)
{
	uint8_t *m = rq->buf + 2;
	memset(rq->buf, 0, DNS_HDR + 2);
	rq->id = dns_random_id();
	rq->signed_ = false;
	tsig_state_init(&rq->tsig);
	put16(m, rq->id);
	/* QR 0, opcode QUERY, no flags: a transfer request is not recursive */
	put16(m + 4, 1);
	put16(m + 8, base ? 1 : 0);
	put16(m + 10, 1);
	uint8_t *p = m + DNS_HDR;
	memcpy(p, apex, apex_len);
	p += apex_len;
	put16(p, qtype);
	put16(p + 2, RRCLASS_IN);
	p += 4;
	if (base) {
		const uint8_t *soa = base->soa->wire; /* TYPE CLASS TTL RDLEN RDATA */
		size_t n = RR_FIXED_LEN + get16(soa + 8);
		if (n > RR_FIXED_LEN + SOA_RDATA_MAX)
			return -EINVAL;
		put16(p, 0xc000 | DNS_HDR); /* the owner: the question's name */
		memcpy(p + 2, soa, n);
		p += 2 + n;
	}
	/* OPT: root owner, TYPE 41, CLASS payload size, TTL 0, EXPIRE empty */
	*p++ = 0;
	put16(p, RRTYPE_OPT);
	put16(p + 2, EDNS_UDP_SIZE);
	put32(p + 4, 0);
	put16(p + 8, 4);
	put16(p + 10, EDNS_OPT_EXPIRE);
	put16(p + 12, 0);
	p += 14;
	rq->len = (size_t)(p - m);
	if (key) {
		int r =
		    tsig_sign_request(&rq->tsig, key, m, &rq->len, REQ_MAX, (uint64_t)time(NULL));
		if (r < 0)
			return r;
		rq->signed_ = true;
	}
	put16(rq->buf, (uint16_t)rq->len);
	return 0;
}

/* Reads of TCP messages (2-octet length, message) from a connection. */
struct tcp_in {
	int fd;
	uint8_t *buf;      /* TCP_BUF octets */
	size_t start, end; /* the octets read and not yet handed out */
	int64_t last;      /* monotonic ms of the last octet received */
};

enum tcp_got { TCP_MSG, TCP_EOF, TCP_IDLE, TCP_TOTAL };

/*
 * The next message: *msg points into the buffer until the next call.
 * \return TCP_MSG, TCP_EOF (closed; any partial message dropped),
 *         TCP_IDLE (no octet for idle_ms), TCP_TOTAL (past `total`),
 *         or -errno of the socket
 */
static int tcp_next(struct tcp_in *t, const uint8_t **msg, size_t *len, unsigned idle_ms,
                    int64_t total)
{
	for (;;) {
		size_t have = t->end - t->start;
		if (have >= 2) {
			size_t need = 2u + get16(t->buf + t->start);
			if (have >= need) {
				*msg = t->buf + t->start + 2;
				*len = need - 2;
				t->start += need;
				return TCP_MSG;
			}
		}
		/* room for a whole message after what is there */
		if (t->start && TCP_BUF - t->start < 2 + MSG_MAX) {
			memmove(t->buf, t->buf + t->start, have);
			t->start = 0;
			t->end = have;
		}
		ssize_t n = recv(t->fd, t->buf + t->end, TCP_BUF - t->end, 0);
		if (n > 0) {
			t->end += (size_t)n;
			t->last = mono_ms();
			continue;
		}
		if (n == 0)
			return TCP_EOF;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		int64_t idle = t->last + idle_ms;
		int w = wait_fd(t->fd, POLLIN, idle < total ? idle : total);
		if (w == -ETIMEDOUT)
			return idle < total ? TCP_IDLE : TCP_TOTAL;
		if (w < 0)
			return w;
	}
}

/* A warning of a transfer's zone: logged (xfrin_transfer has no caller's
 * channel for them). */
struct warn_ctx {
	const struct xfrin_remote *r;
	const uint8_t *apex;
};

static void transfer_warn(void *ctx, const char *reason)
{
	const struct warn_ctx *c = ctx;
	char ab[DNAME_STR_MAX];
	log_msg(LOG_LVL_WARN, "transfer of zone %s from %s: %s",
	        dname_to_str(c->apex, ab, sizeof(ab)), c->r->name ? c->r->name : "primary", reason);
}

/*
 * One transfer over one connection: IXFR when `base`, else AXFR.
 * \return 0, 1 (up to date, out->serial), TRY_FALLBACK (an IXFR that asks
 *         for AXFR: why says), or as xfrin_transfer
 */
static int transfer_try(const struct xfrin_remote *r, const uint8_t *apex, size_t apex_len,
                        struct zone *base, const struct xfrin_limits *lim, int64_t total,
                        struct xfrin_result *out, char *why, size_t whysize)
{
	unsigned idle_ms = lim && lim->idle_ms ? lim->idle_ms : XFRIN_IDLE_MS_DEFAULT;
	uint64_t max_size = lim ? lim->max_size : 0;
	enum xfrin_kind kind = base ? XFRIN_IXFR : XFRIN_AXFR;
	struct tcp_in t = {.fd = -1};
	struct xfrin_parse *p = NULL;
	struct request *rq = malloc(sizeof(*rq));
	int ret;
	if (!rq) {
		snprintf(why, whysize, "out of memory");
		return -ENOMEM;
	}
	tsig_state_init(&rq->tsig);
	int64_t now = mono_ms();
	int64_t idle = now + idle_ms;
	ret = tcp_connect(r, idle < total ? idle : total, why, whysize);
	if (ret < 0)
		goto out;
	t.fd = ret;
	ret = request_build(rq, apex, apex_len, kind == XFRIN_IXFR ? RRTYPE_IXFR : RRTYPE_AXFR,
	                    base, r->key);
	if (ret < 0) {
		snprintf(why, whysize, "cannot build the request: %s", strerror(-ret));
		goto out;
	}
	p = xfrin_parse_new(kind, apex, apex_len, base, rq->id, rq->signed_ ? &rq->tsig : NULL,
	                    max_size);
	t.buf = malloc(TCP_BUF);
	if (!p || !t.buf) {
		snprintf(why, whysize, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	now = mono_ms();
	idle = now + idle_ms;
	ret = send_all(t.fd, rq->buf, 2 + rq->len, idle < total ? idle : total);
	if (ret < 0) {
		snprintf(why, whysize, "sending the request: %s",
		         ret == -ETIMEDOUT ? "timeout" : strerror(-ret));
		goto out;
	}
	t.last = mono_ms();
	enum xfrin_status st = XFRIN_MORE;
	while (st == XFRIN_MORE) {
		const uint8_t *msg;
		size_t len;
		int got = tcp_next(&t, &msg, &len, idle_ms, total);
		if (got != TCP_MSG) {
			if (got == TCP_EOF) {
				snprintf(why, whysize,
				         "the primary closed the connection after %zu messages, "
				         "before the final SOA",
				         p->messages);
				ret = -ECONNRESET;
			} else if (got == TCP_IDLE) {
				snprintf(why, whysize,
				         "timeout: nothing received for %u ms after %zu messages",
				         idle_ms, p->messages);
				ret = -ETIMEDOUT;
			} else if (got == TCP_TOTAL) {
				snprintf(why, whysize,
				         "timeout: the transfer took longer than allowed "
				         "(%zu messages received)",
				         p->messages);
				ret = -ETIMEDOUT;
			} else {
				snprintf(why, whysize, "receiving: %s", strerror(-got));
				ret = got;
			}
			goto out;
		}
		st = xfrin_parse_msg(p, msg, len, (uint64_t)time(NULL), why, whysize);
	}
	/* the heavy part (building, applying) does not hold the connection */
	close(t.fd);
	t.fd = -1;
	switch (st) {
	case XFRIN_UPTODATE:
		memset(out, 0, sizeof(*out));
		out->serial = p->serial;
		out->messages = p->messages;
		out->records = p->records;
		ret = 1;
		goto out;
	case XFRIN_FALLBACK:
		ret = TRY_FALLBACK;
		goto out;
	case XFRIN_ERROR:
		ret = xfrin_parse_error(p);
		goto out;
	default:
		break;
	}
	struct warn_ctx wc = {.r = r, .apex = apex};
	bool incremental = p->b == NULL;
	ret = xfrin_parse_finish(p, out, transfer_warn, &wc, why, whysize);
	if (ret == -EINVAL && incremental)
		ret = TRY_FALLBACK; /* RFC 1995 §4: inconsistent: AXFR */
	else if (ret < 0 && ret != -ENOMEM)
		ret = -EPROTO;
out:
	if (t.fd >= 0)
		close(t.fd);
	free(t.buf);
	xfrin_parse_free(p);
	tsig_state_clear(&rq->tsig);
	free(rq);
	return ret;
}

int xfrin_transfer(const struct xfrin_remote *r, const uint8_t *apex, size_t apex_len,
                   struct zone *base, bool axfr, const struct xfrin_limits *lim,
                   struct xfrin_result *out, char *note, size_t notesize, char *why, size_t whysize)
{
	memset(out, 0, sizeof(*out));
	if (notesize)
		note[0] = 0;
	if (whysize)
		why[0] = 0;
	if (!apex_len || apex_len > DNAME_MAX || dname_wire_len(apex, apex_len) != apex_len) {
		snprintf(why, whysize, "not a zone name");
		return -EINVAL;
	}
	int64_t total = lim && lim->total_ms ? mono_ms() + lim->total_ms : INT64_MAX;
	bool ixfr = base && !axfr;
	int ret =
	    transfer_try(r, apex, apex_len, ixfr ? base : NULL, lim, total, out, why, whysize);
	if (ret == TRY_FALLBACK) {
		snprintf(note, notesize, "IXFR: %s: AXFR instead", why);
		if (whysize)
			why[0] = 0;
		ret = transfer_try(r, apex, apex_len, NULL, lim, total, out, why, whysize);
	}
	return ret;
}

/* ------------------------------------------------------------- SOA query */

/* Check the answer to a SOA query and read it. \return 0 or -EPROTO */
static int soa_answer(struct request *rq, const uint8_t *w, size_t len, const uint8_t *apex,
                      struct xfrin_soa_answer *out, char *why, size_t whysize)
{
	char rb[16];
	struct msg_scan s;
	if (len < DNS_HDR || get16(w) != rq->id || !(w[2] & 0x80)) {
		snprintf(why, whysize, "an answer with another ID, or not an answer");
		return -EPROTO;
	}
	if (((w[2] >> 3) & 0x0f) != OPCODE_QUERY) {
		snprintf(why, whysize, "opcode %u in the answer", (w[2] >> 3) & 0x0f);
		return -EPROTO;
	}
	const char *bad = msg_scan(w, len, &s);
	if (rq->signed_) {
		enum tsig_result tr = tsig_verify_next(&rq->tsig, w, len, (uint64_t)time(NULL));
		if (tr != TSIG_OK && !(tr == TSIG_NONE && !bad && s.rcode)) {
			snprintf(why, whysize, "TSIG %s",
			         tr == TSIG_NONE ? "missing (unsigned answer)"
			                         : tsig_result_str(tr));
			return -EPROTO;
		}
	}
	if (bad) {
		snprintf(why, whysize, "malformed answer: %s", bad);
		return -EPROTO;
	}
	if (s.tsig && !rq->signed_) {
		snprintf(why, whysize, "a signed answer (TSIG) to an unsigned query");
		return -EPROTO;
	}
	out->rcode = s.rcode;
	if (s.rcode) {
		snprintf(why, whysize, "%s", rcode_str(s.rcode, rb, sizeof(rb)));
		return -EPROTO;
	}
	if (s.qd != 1 || (bad = question_check(w, len, DNS_HDR, apex, RRTYPE_SOA))) {
		snprintf(why, whysize, "%s", bad ? bad : "no question in the answer");
		return -EPROTO;
	}
	if (!(w[2] & 0x04)) {
		snprintf(why, whysize, "not authoritative (AA 0)");
		return -EPROTO;
	}
	size_t off = s.an_off;
	for (unsigned i = 0; i < s.an; i++) {
		uint8_t owner[DNAME_MAX];
		size_t ol;
		off = name_read(w, len, off, owner, &ol);
		if (!off)
			break;
		uint16_t type = get16(w + off), rrclass = get16(w + off + 2);
		uint16_t rdlen = get16(w + off + 8);
		size_t rd = off + RR_FIXED_LEN;
		off = rd + rdlen;
		if (type != RRTYPE_SOA || rrclass != RRCLASS_IN || !dname_equal(owner, apex))
			continue;
		/* MNAME and RNAME (compressed or not), then the five fields */
		size_t f = name_skip(w, rd + rdlen, rd);
		f = f ? name_skip(w, rd + rdlen, f) : 0;
		if (!f || f + 20 != rd + rdlen) {
			snprintf(why, whysize, "a malformed SOA in the answer");
			return -EPROTO;
		}
		out->serial = get32(w + f);
		out->refresh = get32(w + f + 4);
		out->retry = get32(w + f + 8);
		out->expire = get32(w + f + 12);
		out->minimum = get32(w + f + 16);
		out->has_expire_opt = s.expire;
		out->expire_opt = s.expire_val;
		return 0;
	}
	snprintf(why, whysize, "no SOA of the zone in the answer");
	return -EPROTO;
}

/* The SOA query over TCP (after a truncated UDP answer). */
static int soa_tcp(const struct xfrin_remote *r, struct request *rq, const uint8_t *apex,
                   size_t apex_len, unsigned timeout_ms, struct xfrin_soa_answer *out, char *why,
                   size_t whysize)
{
	int64_t deadline = mono_ms() + timeout_ms;
	struct tcp_in t = {.fd = -1};
	int ret = tcp_connect(r, deadline, why, whysize);
	if (ret < 0)
		return ret;
	t.fd = ret;
	/* a new ID: the truncated answer's stays the UDP exchange's */
	tsig_state_clear(&rq->tsig);
	ret = request_build(rq, apex, apex_len, RRTYPE_SOA, NULL, r->key);
	if (ret < 0) {
		snprintf(why, whysize, "cannot build the query: %s", strerror(-ret));
		goto out;
	}
	ret = send_all(t.fd, rq->buf, 2 + rq->len, deadline);
	if (ret < 0) {
		snprintf(why, whysize, "sending the query over TCP: %s",
		         ret == -ETIMEDOUT ? "timeout" : strerror(-ret));
		goto out;
	}
	t.buf = malloc(TCP_BUF);
	if (!t.buf) {
		snprintf(why, whysize, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	t.last = mono_ms();
	const uint8_t *msg;
	size_t len;
	int got = tcp_next(&t, &msg, &len, timeout_ms, deadline);
	if (got == TCP_MSG) {
		ret = soa_answer(rq, msg, len, apex, out, why, whysize);
	} else if (got == TCP_EOF) {
		snprintf(why, whysize, "the connection closed without an answer (TCP)");
		ret = -ECONNRESET;
	} else if (got == TCP_IDLE || got == TCP_TOTAL) {
		snprintf(why, whysize, "timeout (TCP)");
		ret = -ETIMEDOUT;
	} else {
		snprintf(why, whysize, "receiving over TCP: %s", strerror(-got));
		ret = got;
	}
out:
	free(t.buf);
	close(t.fd);
	return ret;
}

int xfrin_soa(const struct xfrin_remote *r, const uint8_t *apex, size_t apex_len,
              unsigned timeout_ms, struct xfrin_soa_answer *out, char *why, size_t whysize)
{
	memset(out, 0, sizeof(*out));
	if (whysize)
		why[0] = 0;
	if (!timeout_ms)
		timeout_ms = XFRIN_SOA_TIMEOUT_MS;
	uint8_t lapex[DNAME_MAX];
	if (!apex_len || apex_len > DNAME_MAX || dname_wire_len(apex, apex_len) != apex_len) {
		snprintf(why, whysize, "not a zone name");
		return -EINVAL;
	}
	dname_lower(lapex, apex, apex_len);
	struct request *rq = malloc(sizeof(*rq));
	uint8_t *buf = malloc(MSG_MAX);
	int fd = -1, ret;
	if (!rq || !buf) {
		snprintf(why, whysize, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	tsig_state_init(&rq->tsig);
	int64_t deadline = mono_ms() + timeout_ms;
	ret = sock_new(r, SOCK_DGRAM, why, whysize);
	if (ret < 0)
		goto out;
	fd = ret;
	/* connected: the kernel hands us only datagrams from r's address and
	 * port, and an ICMP port unreachable as ECONNREFUSED */
	if (connect(fd, (const struct sockaddr *)&r->addr, r->addr_len) < 0) {
		ret = -errno;
		snprintf(why, whysize, "connect: %s", strerror(errno));
		goto out;
	}
	ret = request_build(rq, lapex, apex_len, RRTYPE_SOA, NULL, r->key);
	if (ret < 0) {
		snprintf(why, whysize, "cannot build the query: %s", strerror(-ret));
		goto out;
	}
	if (send(fd, rq->buf + 2, rq->len, 0) < 0) {
		ret = -errno;
		snprintf(why, whysize, "send: %s", strerror(errno));
		goto out;
	}
	for (;;) {
		ret = wait_fd(fd, POLLIN, deadline);
		if (ret < 0) {
			snprintf(why, whysize, "%s",
			         ret == -ETIMEDOUT ? "timeout" : strerror(-ret));
			goto out;
		}
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, MSG_MAX, 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			ret = -errno;
			snprintf(why, whysize, "%s", strerror(errno));
			goto out;
		}
		/* Not ours (another source, ID, a query, another question): a
		 * late answer or a forgery; keep waiting for the real one
		 * (RFC 5452 §9.1). */
		if (!sockaddr_equal(&from, &r->addr) || n < DNS_HDR || get16(buf) != rq->id ||
		    !(buf[2] & 0x80))
			continue;
		if (get16(buf + 4) == 1 &&
		    question_check(buf, (size_t)n, DNS_HDR, lapex, RRTYPE_SOA) != NULL)
			continue;
		if ((buf[2] & 0x02) || (buf[3] & 0x0f) == 5 /* REFUSED */) {
			/* RFC 7766 §5: truncated, ask again over TCP; and a
			 * REFUSED too: Knot answers a catalog zone's SOA only
			 * over TCP, to a client it allows to transfer it */
			close(fd);
			fd = -1;
			ret = soa_tcp(r, rq, lapex, apex_len, timeout_ms, out, why, whysize);
			goto out;
		}
		ret = soa_answer(rq, buf, (size_t)n, lapex, out, why, whysize);
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rq)
		tsig_state_clear(&rq->tsig);
	free(rq);
	free(buf);
	return ret;
}
