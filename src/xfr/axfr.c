/* axfr.c: a zone version as AXFR messages (axfr.h). */
#include "xfr/axfr.h"

#include <stdint.h>
#include <string.h>

#include "dns/dname.h"
#include "dns/response.h"

void axfr_start(struct axfr *x, struct zone *z, const struct query *q)
{
	memset(x, 0, sizeof(*x));
	zone_ref(z);
	x->z = z;
	x->q = *q;
	x->phase = AXFR_SOA_FIRST;
}

void axfr_end(struct axfr *x)
{
	if (x->z)
		zone_unref(x->z);
	x->z = NULL;
}

/* The next record to send as a one-record set, and its owner; false when
 * the phase has none left. Does not advance. */
static bool peek(const struct axfr *x, struct rrset *one, const uint8_t **owner)
{
	const struct zone *z = x->z;
	const struct rrset *rs;
	const uint8_t *w;
	switch (x->phase) {
	case AXFR_SOA_FIRST:
	case AXFR_SOA_LAST:
		rs = z->soa;
		w = rs->wire;
		*owner = z->apex;
		break;
	case AXFR_BODY: {
		const struct node *n = zone_slot_at(z, x->slot)->node;
		rs = &n->rrsets[x->set];
		w = rs->wire;
		for (uint16_t k = 0; k < x->rec; k++)
			w += RR_FIXED_LEN + (size_t)(w[8] << 8 | w[9]);
		*owner = n->name;
		break;
	}
	default:
		return false;
	}
	*one = (struct rrset){.type = rs->type,
			      .count = 1,
			      .ttl = rs->ttl,
			      .wire_len = RR_FIXED_LEN + (uint32_t)(w[8] << 8 | w[9]),
			      .wire = w};
	return true;
}

/* A set the body sends: not the apex SOA (first and last instead). The
 * RRSIGs behind each set are copies of the RRSIG set's records: the RRSIG
 * set is sent, they are not. */
static bool body_set(const struct zone *z, const struct node *n, uint16_t i)
{
	return !(n == z->apex_node && n->rrsets[i].type == RRTYPE_SOA);
}

/* Slots ahead of the walk whose node, and nodes whose RRsets, are
 * prefetched: the table is walked in hash order, so each node and its
 * RRsets are elsewhere in memory; fetched this far ahead, their misses
 * overlap with the writing of the records before them (a half-full table:
 * 16 slots are about 8 nodes). */
#define AXFR_PREFETCH_NODE 16
#define AXFR_PREFETCH_SETS 8

static void next_slot(struct axfr *x)
{
	const struct zone *z = x->z;
	x->slot++;
	x->set = 0;
	x->rec = 0;
	size_t a = x->slot + AXFR_PREFETCH_NODE, b = x->slot + AXFR_PREFETCH_SETS;
	const struct node *n;
	if (a <= z->mask && (n = zone_slot_at(z, a)->node))
		__builtin_prefetch(n);
	if (b <= z->mask && (n = zone_slot_at(z, b)->node))
		zone_prefetch_rrsets(n);
}

/* Move to the first record at or after the current position that the body
 * sends; to AXFR_SOA_LAST past the last. */
static void settle(struct axfr *x)
{
	const struct zone *z = x->z;
	while (x->phase == AXFR_BODY) {
		if (x->slot > z->mask) {
			x->phase = AXFR_SOA_LAST;
			return;
		}
		const struct node *n = zone_slot_at(z, x->slot)->node;
		if (n && x->set < n->nrrsets && x->rec < n->rrsets[x->set].count &&
		    body_set(z, n, x->set))
			return;
		if (n && x->set < n->nrrsets && x->rec < n->rrsets[x->set].count) {
			x->set++; /* the apex SOA */
			x->rec = 0;
		} else if (n && x->set + 1 < n->nrrsets) {
			x->set++;
			x->rec = 0;
		} else {
			next_slot(x);
		}
	}
}

static void advance(struct axfr *x)
{
	x->records++;
	switch (x->phase) {
	case AXFR_SOA_FIRST:
		x->phase = AXFR_BODY;
		break;
	case AXFR_SOA_LAST:
		x->phase = AXFR_DONE;
		return;
	case AXFR_BODY:
		x->rec++;
		break;
	default:
		return;
	}
	settle(x);
}

/* Append one record whose rdata holds no name to compress, its owner
 * written as its labels above the apex and a pointer to the apex already
 * in the message (`apex_ptr`): no search of the compression dictionary,
 * which a zone's leaf names would only fill. \return 0, or -1 when it
 * does not fit (nothing written). */
static int put_plain(struct resp *r, const uint8_t *name, size_t lit, uint16_t apex_ptr,
		     const struct rrset *one)
{
	size_t need = lit + 2 + one->wire_len;
	if (r->len + need > r->limit || r->count[SEC_ANSWER] == UINT16_MAX)
		return -1;
	uint8_t *out = r->buf + r->len;
	memcpy(out, name, lit);
	out[lit] = (uint8_t)(0xc0 | (apex_ptr >> 8));
	out[lit + 1] = (uint8_t)apex_ptr;
	memcpy(out + lit + 2, one->wire, one->wire_len);
	r->len += need;
	r->count[SEC_ANSWER]++;
	return 0;
}

/* The type's rdata has names the response writer compresses. */
static bool names_in_rdata(uint16_t type)
{
	return type == RRTYPE_SOA || rdata_name_offset(type) >= 0;
}

size_t axfr_next(struct axfr *x, uint8_t *buf, size_t cap)
{
	if (x->phase == AXFR_DONE || x->phase == AXFR_FAILED)
		return 0;
	struct query q = x->q;
	q.has_question = x->messages == 0; /* RFC 5936 §2.2.1: the first only */
	struct resp r;
	resp_init(&r, buf, cap < AXFR_MSG_LIMIT ? cap : AXFR_MSG_LIMIT, &q);
	resp_set_aa(&r, true);
	unsigned n = 0;
	struct rrset one;
	const uint8_t *owner;
	/* The records of one name after its first in this message point at
	 * the first's owner, without a search of the compression dictionary
	 * (full after its 96 names early in a message, which would then
	 * write each owner again). */
	size_t owner_slot = SIZE_MAX;
	uint16_t owner_ptr = 0;
	/* Where the apex is in this message: the question in the first; in
	 * the others, inside the first record's owner, written in full. */
	uint16_t apex_ptr = q.has_question ? RESP_QNAME_OFF : 0;
	const struct zone *z = x->z;
	while (peek(x, &one, &owner)) {
		bool body = x->phase == AXFR_BODY;
		size_t slot = x->slot, at = r.len;
		struct owner o = {.ptr = 0, .name = owner};
		if (body && slot == owner_slot)
			o.ptr = owner_ptr;
		if (body && !o.ptr && apex_ptr && !names_in_rdata(one.type)) {
			size_t lit = dname_wire_len(owner, DNAME_MAX) - z->apex_len;
			if (put_plain(&r, owner, lit, apex_ptr, &one) == 0) {
				owner_slot = slot;
				owner_ptr = lit ? (at < 0x4000 ? (uint16_t)at : 0) : apex_ptr;
				if (owner_ptr == 0)
					owner_slot = SIZE_MAX;
				n++;
				advance(x);
				continue;
			}
			if (n)
				break; /* the next message starts with it */
		}
		if (resp_put_rrset(&r, SEC_ANSWER, o, &one) < 0) {
			if (n)
				break; /* the next message starts with it */
			/* too big for AXFR_MSG_LIMIT: alone, up to cap */
			r.limit = cap;
			if (resp_put_rrset(&r, SEC_ANSWER, o, &one) < 0) {
				x->phase = AXFR_FAILED;
				return 0;
			}
			n++;
			advance(x);
			break;
		}
		if (body && slot != owner_slot) {
			/* where this owner went: its labels, or a pointer (then its
			 * target, so that no pointer points at a pointer) */
			owner_slot = slot;
			owner_ptr = 0;
			if ((buf[at] & 0xc0) == 0xc0)
				owner_ptr = (uint16_t)((buf[at] & 0x3f) << 8 | buf[at + 1]);
			else if (at < 0x4000)
				owner_ptr = (uint16_t)at;
			if (owner_ptr == 0)
				owner_slot = SIZE_MAX;
		}
		if (!apex_ptr && n == 0 && (buf[at] & 0xc0) != 0xc0) {
			/* a message's first owner has nothing to point at: written in
			 * full, its last labels are the apex */
			size_t end = at + dname_wire_len(owner, DNAME_MAX) - z->apex_len;
			if (end < 0x4000 && !memcmp(buf + end, z->apex, z->apex_len))
				apex_ptr = (uint16_t)end;
		}
		n++;
		advance(x);
	}
	x->messages++;
	return resp_finish(&r);
}
