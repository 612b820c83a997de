/* query.c: request parsing with ldns. */
#include "dns/query.h"

#include <ldns/ldns.h>
#include <string.h>

#include "zone/zone.h"

/* RFC 6891 §6.1: OPT owner is root, CLASS the payload size, TTL
 * EXTENDED-RCODE(8) VERSION(8) DO(1) Z(15), RDATA a list of options. */
static enum query_status parse_opt(struct query *q, const ldns_rr *rr)
{
	const ldns_rdf *owner = ldns_rr_owner(rr);
	if (q->edns)
		return QUERY_FORMERR; /* §6.1.1: more than one OPT */
	if (!owner || ldns_rdf_size(owner) != 1 || ldns_rdf_data(owner)[0] != 0)
		return QUERY_FORMERR;
	q->edns = true;
	q->edns_size = (uint16_t)ldns_rr_get_class(rr);
	uint32_t ttl = ldns_rr_ttl(rr);
	q->edns_version = (uint8_t)(ttl >> 16);
	q->edns_do = (ttl & 0x8000) != 0;
	/* Walk the options: their lengths must add up to RDLENGTH exactly. */
	bool cookie_seen = false, cookie_bad = false;
	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *rd = ldns_rr_rdf(rr, i);
		const uint8_t *p = ldns_rdf_data(rd);
		size_t len = ldns_rdf_size(rd), pos = 0;
		while (pos < len) {
			if (len - pos < 4)
				return QUERY_FORMERR;
			uint16_t code = ldns_read_uint16(p + pos);
			uint16_t olen = ldns_read_uint16(p + pos + 2);
			if (len - pos - 4 < olen)
				return QUERY_FORMERR;
			if (code == EDNS_OPT_NSID)
				q->edns_nsid = true;
			if (code == EDNS_OPT_EXPIRE)
				q->edns_expire = true; /* RFC 7314 §2: any length is read as a request */
			if (code == EDNS_OPT_COOKIE && !cookie_seen) {
				/* RFC 7873 §5.2.2: a client cookie of 8 octets and
				 * an optional server cookie of 8 to 32; anything
				 * else is FORMERR. Only the first COOKIE counts. */
				cookie_seen = true;
				if (olen != 8 && (olen < 16 || olen > QUERY_COOKIE_MAX)) {
					cookie_bad = true;
				} else {
					memcpy(q->cookie, p + pos + 4, olen);
					q->cookie_len = (uint8_t)olen;
				}
			}
			pos += 4u + olen;
		}
	}
	if (cookie_bad) {
		q->formerr_opt = true; /* the OPT itself is well formed */
		return QUERY_FORMERR;
	}
	return QUERY_OK;
}

/* RFC 8945 §4.2: a TSIG record of class ANY with its seven fields, as
 * ldns splits them (algorithm, time signed, fudge, MAC, original ID,
 * error, other data). Keep what the BADKEY answer echoes. */
static enum query_status parse_tsig(struct query *q, const ldns_rr *rr)
{
	const ldns_rdf *owner = ldns_rr_owner(rr);
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_ANY || ldns_rr_rd_count(rr) != 7 || !owner ||
	    ldns_rdf_size(owner) > DNAME_MAX)
		return QUERY_FORMERR;
	const ldns_rdf *alg = ldns_rr_rdf(rr, 0), *time = ldns_rr_rdf(rr, 1),
		       *fudge = ldns_rr_rdf(rr, 2);
	if (ldns_rdf_get_type(alg) != LDNS_RDF_TYPE_DNAME || ldns_rdf_size(alg) > DNAME_MAX ||
	    ldns_rdf_size(time) != 6 || ldns_rdf_size(fudge) != 2)
		return QUERY_FORMERR;
	q->tsig_key_len = (uint8_t)ldns_rdf_size(owner);
	memcpy(q->tsig_key, ldns_rdf_data(owner), q->tsig_key_len);
	q->tsig_alg_len = (uint8_t)ldns_rdf_size(alg);
	memcpy(q->tsig_alg, ldns_rdf_data(alg), q->tsig_alg_len);
	memcpy(q->tsig_time, ldns_rdf_data(time), 6);
	memcpy(q->tsig_fudge, ldns_rdf_data(fudge), 2);
	q->tsig = true;
	return QUERY_OK;
}

enum query_status query_parse(struct query *q, const uint8_t *wire, size_t len, bool tcp)
{
	size_t pos = DNS_HEADER_LEN;
	ldns_rdf *qname = NULL;
	enum query_status st = QUERY_OK;

	q->has_question = false;
	q->edns = false;
	q->formerr_opt = false;
	q->edns_do = false;
	q->edns_nsid = false;
	q->edns_expire = false;
	q->edns_version = 0;
	q->edns_size = 0;
	q->cookie_len = 0;
	q->addr = NULL;
	q->tsig = false;
	q->tcp = tcp;
	if (len < DNS_HEADER_LEN)
		return QUERY_DROP; /* not even a header to answer with */
	memcpy(&q->id, wire, 2);
	q->flags1 = wire[2];
	q->flags2 = wire[3];
	if (LDNS_QR_WIRE(wire))
		return QUERY_DROP; /* never answer a response (reflection loops) */
	q->opcode = LDNS_OPCODE_WIRE(wire);
	uint16_t qd = LDNS_QDCOUNT(wire), an = LDNS_ANCOUNT(wire), ns = LDNS_NSCOUNT(wire),
		 ar = LDNS_ARCOUNT(wire);
	/* RFC 9619: a QUERY has one question, or none only to ask for a
	 * server cookie (RFC 7873 §5.4, checked below). */
	if (qd > 1)
		return q->opcode == LDNS_PACKET_QUERY ? QUERY_FORMERR : QUERY_NOTIMP;
	if (qd == 1) {
		bool ok = ldns_wire2dname(&qname, wire, len, &pos) == LDNS_STATUS_OK;
		size_t qlen = ok ? ldns_rdf_size(qname) : 0;
		if (!ok || pos + 4 > len || pos - DNS_HEADER_LEN != qlen) {
			/* (the last: a compression pointer, which the first name
			 * of a message has nothing before it to point to) */
			ldns_rdf_deep_free(qname);
			return QUERY_FORMERR;
		}
		q->qname_len = (uint8_t)qlen;
		dname_copy_lower_split(q->qname, q->lname, ldns_rdf_data(qname), q->qname_len,
				       &q->split);
		ldns_rdf_deep_free(qname);
		q->qtype = ldns_read_uint16(wire + pos);
		q->qclass = ldns_read_uint16(wire + pos + 2);
		pos += 4;
		q->has_question = true;
	}
	/* Records after the question: queries rarely carry any but an OPT.
	 * Each one goes through ldns so framing errors are caught. */
	unsigned total = (unsigned)an + ns + ar;
	for (unsigned i = 0; i < total; i++) {
		ldns_rr *rr = NULL;
		ldns_pkt_section sec = i < an ? LDNS_SECTION_ANSWER
				       : i < (unsigned)an + ns ? LDNS_SECTION_AUTHORITY
							       : LDNS_SECTION_ADDITIONAL;
		if (ldns_wire2rr(&rr, wire, len, &pos, sec) != LDNS_STATUS_OK) {
			ldns_rr_free(rr);
			return QUERY_FORMERR;
		}
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT) {
			/* §6.1.1: OPT only in the additional section */
			st = sec != LDNS_SECTION_ADDITIONAL ? QUERY_FORMERR : parse_opt(q, rr);
		} else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_TSIG) {
			/* RFC 8945 §5.1: only as the last additional record */
			st = sec != LDNS_SECTION_ADDITIONAL || i + 1 != total ? QUERY_FORMERR
									      : parse_tsig(q, rr);
		}
		ldns_rr_free(rr);
		if (st != QUERY_OK)
			return st;
	}
	/* Other opcodes are not implemented; the message is read through
	 * all the same, so that the NOTIMP carries an OPT when the query had
	 * one (RFC 6891 §7), or is a BADVERS first, as Knot answers. */
	if (q->opcode != LDNS_PACKET_QUERY) {
		if (q->edns && q->edns_version != 0)
			return QUERY_BADVERS;
		if (q->tsig)
			return QUERY_BADKEY;
		return q->opcode == QUERY_OPCODE_NOTIFY && q->has_question ? QUERY_NOTIFY
									   : QUERY_NOTIMP;
	}
	if ((!q->has_question && q->cookie_len == 0) || (q->has_question && q->qtype == RRTYPE_OPT)) {
		/* No question and no cookie to ask for, or a question for
		 * OPT, a pseudo-RR: malformed, with a good OPT if any. */
		q->formerr_opt = q->edns;
		return QUERY_FORMERR;
	}
	if (q->edns && q->edns_version != 0)
		return QUERY_BADVERS;
	/* RFC 8945 §5.2: a signed query is checked before anything else is
	 * done with it; we hold no keys, so no key is known. */
	if (q->tsig)
		return QUERY_BADKEY;
	return QUERY_OK;
}
