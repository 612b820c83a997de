/* ixfr.c: changesets as the messages of an IXFR response (ixfr.h). */
#include "xfr/ixfr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns/response.h"
#include "zone/zone_diff.h"

int ixfr_start(struct ixfr *x, struct zone *z, struct changeset *const *cs, size_t ncs,
	       const struct query *q)
{
	memset(x, 0, sizeof(*x));
	x->phase = IXFR_FAILED;
	for (size_t i = 0; i < ncs; i++) {
		uint32_t next = i + 1 < ncs ? cs[i + 1]->from : z->serial;
		if (cs[i]->to != next)
			return -EINVAL;
		/* A damaged blob found halfway would leave the client with a
		 * transfer cut short; checked now, it costs one pass over what
		 * is about to be sent anyway. */
		if (changeset_check(cs[i], NULL, 0) < 0)
			return -EBADMSG;
	}
	if (ncs) {
		x->cs = malloc(ncs * sizeof(*x->cs));
		if (!x->cs)
			return -ENOMEM;
	}
	for (size_t i = 0; i < ncs; i++) {
		changeset_ref(cs[i]);
		x->cs[i] = cs[i];
	}
	x->ncs = ncs;
	zone_ref(z);
	x->z = z;
	x->q = *q;
	x->phase = IXFR_SOA_FIRST;
	return 0;
}

void ixfr_end(struct ixfr *x)
{
	for (size_t i = 0; i < x->ncs; i++)
		changeset_unref(x->cs[i]);
	free(x->cs);
	x->cs = NULL;
	x->ncs = 0;
	if (x->z)
		zone_unref(x->z);
	x->z = NULL;
}

/* The next record to send as a one-record set, and its owner; false when
 * there is none (done, failed, or a blob that does not parse: then the
 * phase is IXFR_FAILED). Does not advance; *next is where the body goes on
 * after it. */
static bool peek(struct ixfr *x, struct rrset *one, const uint8_t **owner, size_t *next)
{
	const uint8_t *w;
	switch (x->phase) {
	case IXFR_SOA_FIRST:
	case IXFR_SOA_LAST:
		w = x->z->soa->wire;
		*owner = x->z->apex;
		break;
	case IXFR_BODY: {
		struct changeset_rr rr;
		*next = x->pos;
		if (changeset_next_rr(x->cs[x->cur], next, &rr) <= 0) {
			/* a changeset has at least its two SOAs: an end here is a
			 * damaged blob too */
			x->phase = IXFR_FAILED;
			return false;
		}
		w = rr.fixed;
		*owner = rr.owner;
		break;
	}
	default:
		return false;
	}
	uint16_t rdlen = (uint16_t)(w[8] << 8 | w[9]);
	*one = (struct rrset){.type = (uint16_t)(w[0] << 8 | w[1]),
			      .count = 1,
			      .ttl = (uint32_t)w[4] << 24 | (uint32_t)w[5] << 16 |
				     (uint32_t)w[6] << 8 | w[7],
			      .wire_len = RR_FIXED_LEN + (uint32_t)rdlen,
			      .wire = w};
	return true;
}

static void advance(struct ixfr *x, size_t next)
{
	x->records++;
	switch (x->phase) {
	case IXFR_SOA_FIRST:
		/* the client is current: the SOA alone (RFC 1995 §2) */
		x->phase = x->ncs ? IXFR_BODY : IXFR_DONE;
		break;
	case IXFR_BODY:
		x->pos = next;
		if (x->pos == x->cs[x->cur]->len) {
			x->cur++;
			x->pos = 0;
			if (x->cur == x->ncs)
				x->phase = IXFR_SOA_LAST;
		}
		break;
	case IXFR_SOA_LAST:
		x->phase = IXFR_DONE;
		break;
	default:
		break;
	}
}

size_t ixfr_next(struct ixfr *x, uint8_t *buf, size_t cap)
{
	if (x->phase == IXFR_DONE || x->phase == IXFR_FAILED)
		return 0;
	struct query q = x->q;
	q.has_question = x->messages == 0; /* the first only, as AXFR (RFC 5936 §2.2.1) */
	struct resp r;
	resp_init(&r, buf, cap < AXFR_MSG_LIMIT ? cap : AXFR_MSG_LIMIT, &q);
	resp_set_aa(&r, true);
	unsigned n = 0;
	struct rrset one;
	const uint8_t *owner;
	size_t next = 0;
	while (peek(x, &one, &owner, &next)) {
		struct owner o = {.ptr = 0, .name = owner};
		if (resp_put_rrset(&r, SEC_ANSWER, o, &one) < 0) {
			if (n)
				break; /* the next message starts with it */
			/* too big for AXFR_MSG_LIMIT: alone, up to cap */
			r.limit = cap;
			if (resp_put_rrset(&r, SEC_ANSWER, o, &one) < 0) {
				x->phase = IXFR_FAILED;
				return 0;
			}
			n++;
			advance(x, next);
			break;
		}
		n++;
		advance(x, next);
	}
	if (x->phase == IXFR_FAILED)
		return 0; /* a damaged blob: what was written would mislead */
	x->messages++;
	return resp_finish(&r);
}
