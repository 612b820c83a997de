/* response.c: the response writer. */
#include "dns/response.h"

#include <string.h>

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void resp_init(struct resp *r, uint8_t *buf, size_t limit, const struct query *q)
{
	r->buf = buf;
	r->limit = limit;
	r->count[0] = r->count[1] = r->count[2] = 0;
	r->ndict = 0;
	memcpy(buf, &q->id, 2);
	/* QR=1, opcode echoed, AA/TC clear, RD echoed; RA, Z and AD clear, CD
	 * echoed (RFC 6840 §5.9), RCODE 0. RD and CD mean something only to a
	 * QUERY: for other opcodes neither is echoed, as BIND and Knot answer
	 * (ISC's EDNS compliance test "opcodeflg"). */
	bool query = q->opcode == 0;
	buf[2] = (uint8_t)(0x80 | (q->flags1 & (query ? 0x79 : 0x78)));
	buf[3] = (uint8_t)(query ? q->flags2 & 0x10 : 0);
	memset(buf + 4, 0, 8);
	r->len = DNS_HEADER_LEN;
	if (q->has_question) {
		memcpy(buf + r->len, q->qname, q->qname_len);
		r->len += q->qname_len;
		put16(buf + r->len, q->qtype);
		put16(buf + r->len + 2, q->qclass);
		r->len += 4;
		buf[5] = 1;
	}
	r->q = q;
	r->dict_ready = !q->has_question;
}

void resp_set_rcode(struct resp *r, uint8_t rcode)
{
	r->buf[3] = (uint8_t)((r->buf[3] & 0xf0) | (rcode & 0x0f));
}

void resp_set_aa(struct resp *r, bool aa)
{
	if (aa)
		r->buf[2] |= 0x04;
	else
		r->buf[2] &= (uint8_t)~0x04;
}

void resp_set_tc(struct resp *r)
{
	r->buf[2] |= 0x02;
}

bool resp_tc(const struct resp *r)
{
	return (r->buf[2] & 0x02) != 0;
}

struct owner owner_qname_suffix(const struct query *q, unsigned labels)
{
	return (struct owner){.ptr = (uint16_t)(RESP_QNAME_OFF + q->split.off[labels]),
			      .name = NULL};
}

/* Does the name at `off` in the message (possibly compressed) equal the
 * uncompressed `name`, ignoring case? Bounded: a message we wrote has no
 * pointer loops, but the loop guard costs nothing. */
static bool msg_name_equal(const uint8_t *msg, size_t off, const uint8_t *name)
{
	for (unsigned hops = 0; hops < 64;) {
		uint8_t l = msg[off];
		if ((l & 0xc0) == 0xc0) {
			off = (size_t)((l & 0x3f) << 8 | msg[off + 1]);
			hops++;
			continue;
		}
		if (l != *name)
			return false;
		if (l == 0)
			return true;
		/* Mostly the same octets (names from the zone are lowercase,
		 * and so are most questions): compare exactly first, fold
		 * case only when that fails. */
		if (memcmp(msg + off + 1, name + 1, l) != 0) {
			for (uint8_t i = 1; i <= l; i++)
				if (dname_lc(msg[off + i]) != dname_lc(name[i]))
					return false;
		}
		off += 1u + l;
		name += 1u + l;
	}
	return false;
}

/* Write a name, compressed against everything already in the dictionary.
 * Returns 0 or -1 (no room). */
static void dict_prepare(struct resp *r)
{
	/* Every label start of the question name is a pointer target; they
	 * go first so they are found first. */
	const struct query *q = r->q;
	uint16_t have = r->ndict;
	unsigned nq = q->split.labels;
	if (nq > (unsigned)(RESP_DICT_MAX - have))
		nq = (unsigned)(RESP_DICT_MAX - have);
	memmove(r->dict + nq, r->dict, have * sizeof(r->dict[0]));
	for (unsigned i = 0; i < nq; i++)
		r->dict[i] = (uint16_t)(RESP_QNAME_OFF + q->split.off[i]);
	r->ndict = (uint16_t)(have + nq);
	r->dict_ready = true;
}

static int put_name(struct resp *r, const uint8_t *name, bool compress)
{
	if (!r->dict_ready)
		dict_prepare(r);
	const uint8_t *suffix = name;
	size_t lit = 0; /* octets written literally before a pointer */
	int ptr = -1;
	while (*suffix) {
		if (compress) {
			for (uint16_t d = 0; d < r->ndict; d++) {
				if (msg_name_equal(r->buf, r->dict[d], suffix)) {
					ptr = r->dict[d];
					break;
				}
			}
			if (ptr >= 0)
				break;
		}
		lit += 1u + *suffix;
		suffix += 1u + *suffix;
	}
	size_t need = lit + (ptr >= 0 ? 2 : 1);
	if (r->len + need > r->limit)
		return -1;
	uint8_t *out = r->buf + r->len;
	/* Register the label starts we write in full as future targets
	 * (pointers reach 14 bits of offset). */
	for (size_t o = 0; o < lit; o += 1u + name[o]) {
		if (r->ndict < RESP_DICT_MAX && r->len + o < 0x4000)
			r->dict[r->ndict++] = (uint16_t)(r->len + o);
	}
	memcpy(out, name, lit);
	if (ptr >= 0) {
		out[lit] = (uint8_t)(0xc0 | (ptr >> 8));
		out[lit + 1] = (uint8_t)ptr;
	} else {
		out[lit] = 0;
	}
	r->len += need;
	return 0;
}

static int put_owner(struct resp *r, struct owner *o)
{
	if (o->ptr) {
		if (r->len + 2 > r->limit)
			return -1;
		r->buf[r->len] = (uint8_t)(0xc0 | (o->ptr >> 8));
		r->buf[r->len + 1] = (uint8_t)o->ptr;
		r->len += 2;
		return 0;
	}
	size_t at = r->len;
	if (put_name(r, o->name, true) < 0)
		return -1;
	/* The next records of the set point at this one (if it is in reach
	 * and was not itself only a pointer). */
	if (at < 0x4000 && (r->buf[at] & 0xc0) != 0xc0)
		o->ptr = (uint16_t)at;
	else if ((r->buf[at] & 0xc0) == 0xc0)
		o->ptr = (uint16_t)((r->buf[at] & 0x3f) << 8 | r->buf[at + 1]);
	return 0;
}

/* Rdata of types whose embedded names RFC 1035 lets us compress
 * (RFC 3597 §4 lists them): rewrite with compression. */
static int put_rdata_compressed(struct resp *r, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
	size_t rdlen_at = r->len;
	if (r->len + 2 > r->limit)
		return -1;
	r->len += 2;
	size_t pos = 0;
	if (type == RRTYPE_MX) {
		if (rdlen < 3 || r->len + 2 > r->limit)
			return -1;
		memcpy(r->buf + r->len, rd, 2);
		r->len += 2;
		pos = 2;
	}
	unsigned names = type == RRTYPE_SOA ? 2 : 1;
	for (unsigned i = 0; i < names; i++) {
		size_t nl = dname_wire_len(rd + pos, rdlen - pos);
		if (!nl)
			return -1;
		if (put_name(r, rd + pos, true) < 0)
			return -1;
		pos += nl;
	}
	if (pos < rdlen) {
		if (r->len + (rdlen - pos) > r->limit)
			return -1;
		memcpy(r->buf + r->len, rd + pos, rdlen - pos);
		r->len += rdlen - pos;
	}
	put16(r->buf + rdlen_at, (uint16_t)(r->len - rdlen_at - 2));
	return 0;
}

static inline bool compressible(uint16_t type)
{
	return type == RRTYPE_NS || type == RRTYPE_CNAME || type == RRTYPE_PTR ||
	       type == RRTYPE_MX || type == RRTYPE_SOA;
}

int resp_put_rrset(struct resp *r, enum resp_section sec, struct owner owner,
		   const struct rrset *rs)
{
	const uint8_t *w = rs->wire, *end = rs->wire + rs->wire_len;
	bool comp = compressible(rs->type);
	if (!r->dict_ready && (comp || !owner.ptr))
		dict_prepare(r); /* before the rollback point below */
	size_t save_len = r->len;
	uint16_t save_dict = r->ndict;

	if (r->count[sec] > UINT16_MAX - rs->count)
		return -1;
	/* Fast path: owner is a pointer and the rdata is copied as is. The
	 * whole set's size is known: one bounds check. */
	if (owner.ptr && !comp) {
		size_t need = rs->wire_len + 2u * rs->count;
		if (r->len + need > r->limit)
			return -1;
		uint8_t *out = r->buf + r->len;
		uint8_t p0 = (uint8_t)(0xc0 | (owner.ptr >> 8)), p1 = (uint8_t)owner.ptr;
		while (w < end) {
			size_t rl = RR_FIXED_LEN + (size_t)(w[8] << 8 | w[9]);
			out[0] = p0;
			out[1] = p1;
			memcpy(out + 2, w, rl);
			out += 2 + rl;
			w += rl;
		}
		r->len += need;
		r->count[sec] = (uint16_t)(r->count[sec] + rs->count);
		return 0;
	}
	while (w < end) {
		uint16_t rdlen = (uint16_t)(w[8] << 8 | w[9]);
		if (put_owner(r, &owner) < 0)
			goto rollback;
		if (comp) {
			if (r->len + 8 > r->limit)
				goto rollback;
			memcpy(r->buf + r->len, w, 8);
			r->len += 8;
			if (put_rdata_compressed(r, rs->type, w + RR_FIXED_LEN, rdlen) < 0)
				goto rollback;
		} else {
			if (r->len + RR_FIXED_LEN + rdlen > r->limit)
				goto rollback;
			memcpy(r->buf + r->len, w, RR_FIXED_LEN + (size_t)rdlen);
			r->len += RR_FIXED_LEN + (size_t)rdlen;
		}
		w += RR_FIXED_LEN + rdlen;
	}
	r->count[sec] = (uint16_t)(r->count[sec] + rs->count);
	return 0;
rollback:
	r->len = save_len;
	r->ndict = save_dict;
	return -1;
}

int resp_put_cname(struct resp *r, struct owner owner, uint32_t ttl, const uint8_t *target)
{
	if (!r->dict_ready)
		dict_prepare(r);
	size_t save_len = r->len;
	uint16_t save_dict = r->ndict;
	if (put_owner(r, &owner) < 0 || r->len + RR_FIXED_LEN > r->limit)
		goto rollback;
	uint8_t *p = r->buf + r->len;
	put16(p, RRTYPE_CNAME);
	put16(p + 2, RRCLASS_IN);
	put16(p + 4, (uint16_t)(ttl >> 16));
	put16(p + 6, (uint16_t)ttl);
	size_t rdlen_at = r->len + 8;
	r->len += RR_FIXED_LEN;
	if (put_name(r, target, true) < 0)
		goto rollback;
	put16(r->buf + rdlen_at, (uint16_t)(r->len - rdlen_at - 2));
	r->count[SEC_ANSWER]++;
	return 0;
rollback:
	r->len = save_len;
	r->ndict = save_dict;
	return -1;
}

int resp_put_chaos_txt(struct resp *r, const char *text)
{
	size_t tl = strlen(text);
	if (tl > 255)
		tl = 255; /* one character-string */
	size_t need = 2 + RR_FIXED_LEN + 1 + tl;
	if (r->len + need > r->limit)
		return -1;
	uint8_t *p = r->buf + r->len;
	p[0] = 0xc0;
	p[1] = RESP_QNAME_OFF;
	put16(p + 2, RRTYPE_TXT);
	put16(p + 4, RRCLASS_CH);
	memset(p + 6, 0, 4); /* TTL 0: these describe this server, now */
	put16(p + 10, (uint16_t)(1 + tl));
	p[12] = (uint8_t)tl;
	memcpy(p + 13, text, tl);
	r->len += need;
	r->count[SEC_ANSWER]++;
	return 0;
}

size_t resp_opt_size(uint16_t nsid_len, bool with_nsid, size_t cookie_len)
{
	return 11u + (with_nsid ? 4u + nsid_len : 0u) + (cookie_len ? 4u + cookie_len : 0u);
}

void resp_put_opt(struct resp *r, uint16_t udp_size, uint8_t ext_rcode, bool dnssec_ok,
		  const uint8_t *nsid, uint16_t nsid_len, const uint8_t *cookie,
		  size_t cookie_len, int ede)
{
	uint8_t *p = r->buf + r->len;
	p[0] = 0; /* root owner */
	put16(p + 1, RRTYPE_OPT);
	put16(p + 3, udp_size);
	p[5] = ext_rcode;
	p[6] = 0; /* version 0 */
	p[7] = dnssec_ok ? 0x80 : 0; /* DO echoed, other flags cleared (RFC 6891 §6.1.4) */
	p[8] = 0;
	size_t rdlen = 0;
	uint8_t *o = p + 11;
	if (nsid) {
		put16(o, EDNS_OPT_NSID);
		put16(o + 2, nsid_len);
		memcpy(o + 4, nsid, nsid_len);
		rdlen += 4u + nsid_len;
		o += 4u + nsid_len;
	}
	if (cookie_len) {
		put16(o, EDNS_OPT_COOKIE);
		put16(o + 2, (uint16_t)cookie_len);
		memcpy(o + 4, cookie, cookie_len);
		rdlen += 4u + cookie_len;
		o += 4u + cookie_len;
	}
	if (ede >= 0) {
		put16(o, EDNS_OPT_EDE);
		put16(o + 2, 2);
		put16(o + 4, (uint16_t)ede);
		rdlen += RESP_EDE_LEN;
	}
	put16(p + 9, (uint16_t)rdlen);
	r->len += 11u + rdlen;
	r->count[SEC_ADDITIONAL]++;
}

void resp_opt_add(struct resp *r, size_t opt_at, uint16_t code, const uint8_t *data,
		  uint16_t len)
{
	uint8_t *o = r->buf + r->len;
	put16(o, code);
	put16(o + 2, len);
	memcpy(o + 4, data, len);
	uint8_t *rd = r->buf + opt_at + 9;
	put16(rd, (uint16_t)((rd[0] << 8 | rd[1]) + 4u + len));
	r->len += 4u + len;
}

int resp_put_tsig_error(struct resp *r, const struct query *q, uint16_t error)
{
	size_t rdlen = q->tsig_alg_len + 6u + 2u + 2u + 2u + 2u + 2u;
	size_t need = q->tsig_key_len + 10u + rdlen;
	if (r->len + need > r->limit)
		return -1;
	uint8_t *p = r->buf + r->len;
	memcpy(p, q->tsig_key, q->tsig_key_len);
	p += q->tsig_key_len;
	put16(p, RRTYPE_TSIG);
	put16(p + 2, RRCLASS_ANY);
	memset(p + 4, 0, 4); /* TTL 0 */
	put16(p + 8, (uint16_t)rdlen);
	p += 10;
	memcpy(p, q->tsig_alg, q->tsig_alg_len);
	p += q->tsig_alg_len;
	memcpy(p, q->tsig_time, 6);
	memcpy(p + 6, q->tsig_fudge, 2);
	put16(p + 8, 0);	  /* MAC size: unsigned */
	memcpy(p + 10, &q->id, 2); /* original ID, as received */
	put16(p + 12, error);
	put16(p + 14, 0); /* other len */
	r->len += need;
	r->count[SEC_ADDITIONAL]++;
	return 0;
}

size_t resp_finish(struct resp *r)
{
	put16(r->buf + 6, r->count[0]);
	put16(r->buf + 8, r->count[1]);
	put16(r->buf + 10, r->count[2]);
	return r->len;
}
