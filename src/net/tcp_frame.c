/* tcp_frame.c: splitting a connection's byte stream into messages and
 * answering each one as a framed response (RFC 1035 §4.2.2, RFC 7766 §8). */
#include "net/tcp_frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/query.h"
#include "xfr/serve.h"

int tcp_frame_in_init(struct tcp_frame_in *in)
{
	in->buf = malloc(TCP_IN_INITIAL);
	in->len = 0;
	in->cap = in->buf ? TCP_IN_INITIAL : 0;
	return in->buf ? 0 : -ENOMEM;
}

void tcp_frame_in_free(struct tcp_frame_in *in)
{
	free(in->buf);
	in->buf = NULL;
	in->len = in->cap = 0;
}

int tcp_frame_in_reserve(struct tcp_frame_in *in, size_t *room)
{
	if (in->len == in->cap) {
		size_t ncap = in->cap * 2;
		if (ncap > TCP_FRAME_MAX)
			ncap = TCP_FRAME_MAX;
		if (ncap == in->cap) {
			/* full of complete messages waiting for output */
			*room = 0;
			return 0;
		}
		uint8_t *n = realloc(in->buf, ncap);
		if (!n)
			return -ENOMEM;
		in->buf = n;
		in->cap = ncap;
	}
	*room = in->cap - in->len;
	return 0;
}

size_t tcp_frame_answer(const struct tcp_frame_answerer *a, const struct zonedb *db,
                        const struct sockaddr *peer, const uint8_t *msg, size_t len,
                        struct xfr_out **xo)
{
	struct stats *st = a->stats;
	struct query q;
	struct answer_info info;
	size_t rlen;

	stats_add(&st->queries, 1);
	enum query_status qs = query_parse(&q, msg, len, true);
	q.addr = peer; /* for a COOKIE option and the transfer acls */
	if (serve_wanted(&q, qs)) {
		rlen = serve_request(a->cfg, db, &q, qs, msg, len, a->out + 2, TCP_MSG_MAX, xo,
				     (uint64_t)time(NULL), &info);
		if (info.xfr)
			stats_add(&st->xfr_started, 1);
		if (info.xfr_refused)
			stats_add(&st->xfr_refused, 1);
		if (info.tsig_failed)
			stats_add(&st->tsig_failed, 1);
	} else {
		rlen = answer_query(a->cfg, db, &q, qs, a->out + 2, TCP_MSG_MAX, &info);
	}
	if (rlen == 0) {
		stats_add(&st->dropped, 1);
		return 0;
	}
	if (q.has_question)
		stats_add(&st->qtype[stats_qtype_index(q.qtype)], 1);
	stats_add(&st->rcode[info.rcode < STATS_RCODES ? info.rcode : 0], 1);
	if (q.edns)
		stats_add(&st->edns, 1);
	a->out[0] = (uint8_t)(rlen >> 8); /* net-order */
	a->out[1] = (uint8_t)rlen;
	return rlen + 2;
}

/* Go on with the connection's transfer: TCP_FRAME_MORE when it is over
 * (freed), else why to stop. */
static enum tcp_frame_result stream(const struct tcp_frame_answerer *a, struct xfr_out **xo,
				    tcp_frame_emit_fn emit, void *ctx)
{
	for (unsigned i = 0; i < TCP_XFR_BURST; i++) {
		size_t len = xfr_out_next(*xo, a->out + 2, TCP_MSG_MAX, (uint64_t)time(NULL));
		if (len == 0) {
			bool failed = xfr_out_failed(*xo);
			if (!failed)
				stats_add(&a->stats->xfr_done, 1);
			xfr_out_free(*xo);
			*xo = NULL;
			return failed ? TCP_FRAME_CLOSE : TCP_FRAME_MORE;
		}
		a->out[0] = (uint8_t)(len >> 8);
		a->out[1] = (uint8_t)len;
		enum tcp_frame_result r = emit(ctx, a->out, len + 2);
		if (r != TCP_FRAME_MORE)
			return r;
	}
	return TCP_FRAME_YIELD;
}

enum tcp_frame_result tcp_frame_process(struct tcp_frame_in *in, const struct tcp_frame_answerer *a,
                                        const struct zonedb *db, const struct sockaddr *peer,
                                        struct xfr_out **xo, tcp_frame_emit_fn emit, void *ctx)
{
	size_t pos = 0;
	enum tcp_frame_result ret = TCP_FRAME_MORE;
	if (*xo && (ret = stream(a, xo, emit, ctx)) != TCP_FRAME_MORE)
		return ret;
	while (in->len - pos >= 2) {
		size_t mlen = (size_t)in->buf[pos] << 8 | in->buf[pos + 1];
		if (mlen < DNS_HEADER_LEN) {
			ret = TCP_FRAME_CLOSE; /* bad framing: nothing sensible can follow */
			break;
		}
		if (in->len - pos - 2 < mlen) {
			if (mlen + 2 > in->cap) {
				/* the rest of this message must fit: room for all of
				 * it now, so one more read may complete it */
				uint8_t *n = realloc(in->buf, mlen + 2);
				if (!n) {
					ret = TCP_FRAME_CLOSE;
					break;
				}
				in->buf = n;
				in->cap = mlen + 2;
			}
			break;
		}
		size_t flen = tcp_frame_answer(a, db, peer, in->buf + pos + 2, mlen, xo);
		pos += 2 + mlen;
		if (flen == 0)
			continue;
		enum tcp_frame_result r = emit(ctx, a->out, flen);
		if (r == TCP_FRAME_MORE && *xo)
			r = stream(a, xo, emit, ctx);
		if (r != TCP_FRAME_MORE) {
			ret = r;
			break;
		}
	}
	if (pos > 0) {
		memmove(in->buf, in->buf + pos, in->len - pos);
		in->len -= pos;
	}
	return ret;
}
