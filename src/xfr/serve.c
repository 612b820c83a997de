/* serve.c: TSIG-signed queries and zone transfers out (serve.h). */
#include "xfr/serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#include "dns/response.h"
#include "dns/tsig.h"
#include "guard/acl.h"
#include "ops/conf.h"
#include "ops/log.h"
#include "ops/stats.h"
#include "xfr/axfr.h"
#include "xfr/ixfr.h"
#include "zone/journal.h"
#include "zone/serial.h"

#define EDE_PROHIBITED 18 /* RFC 8914 §4.19 */

/* Transfers running, server-wide: the bound of answer_cfg.xfr_max. */
static atomic_uint running;

/* One log limiter per worker thread: refusals come in floods. */
static _Thread_local struct log_limiter lim;

struct xfr_out {
	bool incremental; /* ix, else ax */
	struct axfr ax;
	struct ixfr ix;
	struct tsig_state ts;
	struct conf_key key; /* a copy: a reload may free the configuration */
	bool signed_;
	bool failed;
	bool ended; /* xfr_out_next returned 0 (logged once) */
	char zone[DNAME_STR_MAX];
	char peer[INET6_ADDRSTRLEN + 8];
};

unsigned xfr_out_running(void)
{
	return atomic_load_explicit(&running, memory_order_relaxed);
}

static void peer_str(const struct sockaddr *a, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (a && a->sa_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)a;
		inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
		port = ntohs(v4->sin_port);
	} else if (a && a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)a;
		inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
		port = ntohs(v6->sin6_port);
	}
	snprintf(out, size, "%s@%u", ip, port);
}

/* Octets the TSIG record of an answer signed with the state's key takes
 * at most: owner, type..rdlength, algorithm, times, MAC, original ID,
 * error, other data (6 for BADTIME). */
static size_t tsig_room(const struct tsig_state *ts)
{
	size_t mac = ts->key ? tsig_mac_size(ts->key->alg) : 0;
	return (size_t)ts->name_len + 10 + ts->alg_len + 6 + 2 + 2 + mac + 2 + 2 + 2 + 6;
}

/* The UDP payload size answer_query would allow this query. */
static size_t udp_limit(const struct answer_cfg *cfg, const struct query *q, size_t cap)
{
	size_t limit = DNS_UDP_MIN;
	if (q->edns) {
		limit = q->edns_size < DNS_UDP_MIN ? DNS_UDP_MIN : q->edns_size;
		if (limit > cfg->edns_size)
			limit = cfg->edns_size;
	}
	return limit < cap ? limit : cap;
}

/* Take the unsigned BADKEY TSIG answer_query put last off the message. */
static size_t strip_tail(uint8_t *out, size_t len, const struct answer_info *info)
{
	if (info->tail_len == 0)
		return len;
	uint16_t ar = (uint16_t)(out[10] << 8 | out[11]);
	ar--;
	out[10] = (uint8_t)(ar >> 8);
	out[11] = (uint8_t)ar;
	return len - info->tail_len;
}

/* Sign a finished answer; when the TSIG does not fit (a UDP answer already
 * at its limit) the answer is cut to its header and question with TC, so
 * the client asks again over TCP, and signed. `info` is kept true for
 * answer_slip: the TSIG is the tail after the OPT (or the whole rest). */
static size_t sign(struct tsig_state *ts, const struct query *q, uint8_t *out, size_t len,
		   size_t limit, uint64_t now, struct answer_info *info)
{
	size_t before = len;
	if (tsig_sign_response(ts, out, &len, limit, now) == 0) {
		info->tail_len = (uint16_t)(len - before);
		return len;
	}
	size_t qend = DNS_HEADER_LEN + (q->has_question ? q->qname_len + 4u : 0u);
	if (qend > len)
		return 0;
	len = qend;
	out[2] |= 0x02; /* TC */
	memset(out + 6, 0, 6);
	if (tsig_sign_response(ts, out, &len, limit, now) != 0)
		return 0;
	info->tc = true;
	info->opt_len = 0;
	info->tail_len = (uint16_t)(len - qend);
	return len;
}

/* An answer with no records: header, question, `rcode`, an OPT when the
 * query had one (with EDE `ede` when >= 0). */
static size_t bare_answer(const struct answer_cfg *cfg, const struct query *q, uint8_t rcode,
			  int ede, uint8_t *out, size_t limit, struct answer_info *info)
{
	struct resp r;
	size_t opt_len = q->edns ? resp_opt_size(0, false, 0) + (ede >= 0 ? RESP_EDE_LEN : 0) : 0;
	resp_init(&r, out, limit - opt_len, q);
	resp_set_rcode(&r, rcode);
	if (q->edns) {
		r.limit += opt_len;
		resp_put_opt(&r, cfg->edns_size, 0, q->edns_do, NULL, 0, NULL, 0, ede);
	}
	if (info) {
		memset(info, 0, sizeof(*info));
		info->rcode = rcode;
		info->aa = false;
		info->opt_len = (uint16_t)opt_len;
		info->kind = ANSWER_ERROR;
	}
	return resp_finish(&r);
}

/* The serial of the SOA for the zone asked about in a section: an IXFR
 * request's authority (RFC 1995 §3), a NOTIFY's answer (RFC 1996 §3.7).
 * \return 0, or -1 when there is none. */
static int section_serial(const uint8_t *msg, size_t len, const struct query *q,
			  bool answer, uint32_t *serial)
{
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, msg, len) != LDNS_STATUS_OK)
		return -1;
	int ret = -1;
	ldns_rr_list *auth = answer ? ldns_pkt_answer(p) : ldns_pkt_authority(p);
	for (size_t i = 0; auth && i < ldns_rr_list_rr_count(auth); i++) {
		ldns_rr *rr = ldns_rr_list_rr(auth, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) != 7)
			continue;
		ldns_rdf *o = ldns_rr_owner(rr);
		uint8_t low[DNAME_MAX];
		size_t ol = ldns_rdf_size(o);
		if (ol != q->qname_len)
			continue;
		/* lowercase every octet: a length octet is at most 63, below 'A' */
		const uint8_t *d = ldns_rdf_data(o);
		for (size_t k = 0; k < ol; k++)
			low[k] = d[k] >= 'A' && d[k] <= 'Z' ? (uint8_t)(d[k] | 0x20) : d[k];
		if (memcmp(low, q->lname, ol))
			continue;
		*serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
		ret = 0;
		break;
	}
	ldns_pkt_free(p);
	return ret;
}

/* Our SOA alone in the answer section: an IXFR whose client is current,
 * or over UDP (RFC 1995 §2, §4). */
static size_t soa_answer(const struct answer_cfg *cfg, const struct query *q,
			 const struct zone *z, uint8_t *out, size_t limit, struct answer_info *info)
{
	struct resp r;
	size_t opt_len = q->edns ? resp_opt_size(0, false, 0) : 0;
	resp_init(&r, out, limit - opt_len, q);
	resp_set_aa(&r, true);
	if (resp_put_rrset(&r, SEC_ANSWER, owner_qname(), z->soa) < 0)
		resp_set_tc(&r);
	if (q->edns) {
		r.limit += opt_len;
		resp_put_opt(&r, cfg->edns_size, 0, q->edns_do, NULL, 0, NULL, 0, -1);
	}
	if (info) {
		memset(info, 0, sizeof(*info));
		info->aa = true;
		info->opt_len = (uint16_t)opt_len;
		info->kind = ANSWER_POSITIVE;
	}
	return resp_finish(&r);
}

/* The address (any port) is one of the remote's. */
static bool remote_has(const struct conf_remote *rm, const struct sockaddr *sa)
{
	for (size_t i = 0; sa && i < rm->naddr; i++) {
		const struct sockaddr_storage *a = &rm->addr[i].ss;
		if (a->ss_family != sa->sa_family)
			continue;
		if (sa->sa_family == AF_INET &&
		    !memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			    &((const struct sockaddr_in *)sa)->sin_addr, 4))
			return true;
		if (sa->sa_family == AF_INET6 &&
		    !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			    &((const struct sockaddr_in6 *)sa)->sin6_addr, 16))
			return true;
	}
	return false;
}

/* A NOTIFY (serve.h). */
static size_t notify_in(const struct answer_cfg *cfg, const struct zonedb *db,
			const struct query *q, const uint8_t *msg, size_t len,
			const struct tsig_state *ts, bool keyed, uint8_t *out, size_t limit,
			struct answer_info *info)
{
	char zone[DNAME_STR_MAX], who[INET6_ADDRSTRLEN + 8];
	if (q->qtype != RRTYPE_SOA || q->qclass != RRCLASS_IN)
		return bare_answer(cfg, q, RCODE_FORMERR, -1, out, limit, info);
	const struct conf_zone *cz =
		db->conf ? conf_zone_find(db->conf, q->lname, q->qname_len) : NULL;
	if (!cz || !cz->set->nprimary) {
		/* ours as its primary (configured, or a --zones file): nothing
		 * to refresh; not ours at all: NOTAUTH */
		const struct zone *z = cz ? NULL : zonedb_find(db, &q->split, q->lname, 0);
		bool ours = cz || (z && z->apex_len == q->qname_len);
		return bare_answer(cfg, q, ours ? RCODE_REFUSED : RCODE_NOTAUTH, -1, out, limit,
				   info);
	}
	bool ok = false;
	for (size_t i = 0; i < cz->set->nprimary && !ok; i++)
		ok = remote_has(cz->set->primary[i], q->addr);
	const struct conf_acl *rule = NULL;
	if (!ok)
		ok = acl_check(cz->set, CONF_ACTION_NOTIFY, q->addr, keyed ? ts->key : NULL,
			       &rule) == ACL_ALLOWED;
	if (!ok) {
		dname_to_str(q->lname, zone, sizeof(zone));
		peer_str(q->addr, who, sizeof(who));
		log_limited(&lim, 5, LOG_LVL_INFO,
			    "NOTIFY for zone %s from %s refused: not a primary of the zone, and %s",
			    zone, who, rule ? "an acl denies it" : "no acl allows notify");
		return bare_answer(cfg, q, RCODE_REFUSED, q->edns ? EDE_PROHIBITED : -1, out,
				   limit, info);
	}
	uint32_t serial = 0;
	bool has_serial = section_serial(msg, len, q, true, &serial) == 0;
	size_t rlen = bare_answer(cfg, q, RCODE_NOERROR, -1, out, limit, info);
	if (rlen > 2) {
		out[2] |= 0x04; /* AA */
		info->aa = true;
	}
	if (cfg->notify)
		cfg->notify(cfg->notify_ctx, cz->apex, cz->apex_len, q->addr, has_serial, serial);
	return rlen;
}

static void refuse_log(const char *why, const struct query *q, const struct sockaddr *peer,
		       const struct tsig_state *ts, bool keyed)
{
	char zone[DNAME_STR_MAX], who[INET6_ADDRSTRLEN + 8], key[DNAME_STR_MAX] = "";
	dname_to_str(q->lname, zone, sizeof(zone));
	peer_str(peer, who, sizeof(who));
	if (keyed)
		dname_to_str(ts->name, key, sizeof(key));
	log_limited(&lim, 5, LOG_LVL_INFO, "%s of zone %s to %s%s%s refused: %s",
		    q->qtype == RRTYPE_AXFR ? "AXFR" : "IXFR", zone, who, keyed ? " key " : "",
		    key, why);
}

size_t serve_request(const struct answer_cfg *cfg, const struct zonedb *db, const struct query *q,
		     enum query_status st, const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
		     struct xfr_out **xo, uint64_t now, struct answer_info *info)
{
	struct tsig_state ts;
	enum tsig_result tr = TSIG_NONE;
	struct answer_info local;
	if (!info)
		info = &local;
	if (xo)
		*xo = NULL;
	tsig_state_init(&ts);
	if (st == QUERY_BADKEY) {
		struct tsig_keyring kr = {.keys = db->conf ? db->conf->keys : NULL,
					  .nkeys = db->conf ? db->conf->nkeys : 0};
		tr = tsig_verify_request(&ts, msg, len, &kr, now);
	}
	size_t limit = q->tcp ? cap : udp_limit(cfg, q, cap);
	size_t room = tr == TSIG_NONE ? 0 : tsig_room(&ts);
	size_t rlen;
	switch (tr) {
	case TSIG_NONE:
		break;
	case TSIG_OK:
		/* query_parse stopped at the TSIG; what it would have said
		 * without one: other opcodes are not implemented */
		st = q->opcode == LDNS_PACKET_QUERY			 ? QUERY_OK
		     : q->opcode == QUERY_OPCODE_NOTIFY && q->has_question ? QUERY_NOTIFY
									   : QUERY_NOTIMP;
		break;
	case TSIG_FORMERR:
		tsig_state_clear(&ts);
		rlen = answer_query(cfg, db, q, QUERY_FORMERR, out, cap, info);
		info->xfr = info->xfr_refused = false;
		info->tsig_failed = true;
		return rlen;
	case TSIG_BADKEY:
		/* today's answer: NOTAUTH with the unsigned BADKEY TSIG */
		tsig_state_clear(&ts);
		rlen = answer_query(cfg, db, q, QUERY_BADKEY, out, cap, info);
		info->xfr = info->xfr_refused = false;
		info->tsig_failed = true;
		return rlen;
	default: { /* BADSIG, BADTIME, BADTRUNC: NOTAUTH with the error's TSIG */
		char who[INET6_ADDRSTRLEN + 8], key[DNAME_STR_MAX];
		peer_str(q->addr, who, sizeof(who));
		dname_to_str(ts.name, key, sizeof(key));
		log_limited(&lim, 5, LOG_LVL_INFO, "TSIG from %s key %s: %s", who, key,
			    tsig_result_str(tr));
		rlen = 0;
		if (limit >= room + DNS_HEADER_LEN + (q->has_question ? q->qname_len + 4u : 0u))
			rlen = answer_query(cfg, db, q, QUERY_BADKEY, out, limit - room, info);
		if (rlen)
			rlen = sign(&ts, q, out, strip_tail(out, rlen, info), limit, now, info);
		tsig_state_clear(&ts);
		info->xfr = info->xfr_refused = false;
		info->tsig_failed = true;
		return rlen;
	}
	}
	if (limit < room + DNS_HEADER_LEN + (q->has_question ? q->qname_len + 4u : 0u)) {
		/* not even the header, question and TSIG fit (long names in
		 * 512 octets): nothing to answer with */
		tsig_state_clear(&ts);
		return 0;
	}
	bool keyed = tr == TSIG_OK;
	if (st == QUERY_NOTIFY) {
		rlen = notify_in(cfg, db, q, msg, len, &ts, keyed, out, limit - room, info);
		info->xfr = info->xfr_refused = info->tsig_failed = false;
		goto signed_out;
	}
	if (!(st == QUERY_OK && q->has_question &&
	      (q->qtype == RRTYPE_AXFR || q->qtype == RRTYPE_IXFR))) {
		/* a signed query of any other kind: answered as usual, signed */
		rlen = answer_query(cfg, db, q, st, out, limit - room, info);
		info->xfr = info->xfr_refused = info->tsig_failed = false;
		if (rlen && keyed)
			rlen = sign(&ts, q, out, rlen, limit, now, info);
		tsig_state_clear(&ts);
		return rlen;
	}

	/* A transfer. */
	const struct zone *z = NULL;
	if (q->qclass == RRCLASS_IN)
		z = zonedb_find(db, &q->split, q->lname, 0);
	if (!z || z->apex_len != q->qname_len) {
		/* not a zone we serve (RFC 5936 §2.2.1: NOTAUTH, as Knot and
		 * BIND answer) */
		rlen = bare_answer(cfg, q, q->qclass == RRCLASS_IN ? RCODE_NOTAUTH : RCODE_REFUSED, -1,
				   out, limit - room, info);
		goto signed_out;
	}
	if (atomic_load_explicit(&z->expired, memory_order_relaxed)) {
		/* a secondary zone without current data: nothing to give */
		rlen = bare_answer(cfg, q, RCODE_SERVFAIL, -1, out, limit - room, info);
		goto signed_out;
	}
	const struct conf_zone *cz = db->conf ? conf_zone_find(db->conf, z->apex, z->apex_len) : NULL;
	const struct conf_acl *rule = NULL;
	enum acl_verdict v = acl_check(cz ? cz->set : NULL, CONF_ACTION_TRANSFER, q->addr,
				       keyed ? ts.key : NULL, &rule);
	if (v != ACL_ALLOWED) {
		char why[128];
		if (v == ACL_DENIED)
			snprintf(why, sizeof(why), "denied by acl %s", rule->id);
		else
			snprintf(why, sizeof(why), "no acl of the zone allows it");
		refuse_log(why, q, q->addr, &ts, keyed);
		rlen = bare_answer(cfg, q, RCODE_REFUSED, EDE_PROHIBITED, out, limit - room, info);
		info->xfr_refused = true;
		goto signed_out;
	}
	uint32_t client = 0;
	if (q->qtype == RRTYPE_IXFR && section_serial(msg, len, q, false, &client) < 0) {
		/* RFC 1995 §3: the client's SOA is required */
		rlen = bare_answer(cfg, q, RCODE_FORMERR, -1, out, limit - room, info);
		goto signed_out;
	}
	if (!q->tcp) {
		if (q->qtype == RRTYPE_AXFR) {
			/* RFC 5936 §4.2: AXFR is TCP only */
			rlen = bare_answer(cfg, q, RCODE_REFUSED, -1, out, limit - room, info);
			info->xfr_refused = true;
		} else {
			rlen = soa_answer(cfg, q, z, out, limit - room, info);
		}
		goto signed_out;
	}
	if (q->qtype == RRTYPE_IXFR && serial_compare(client, z->serial) >= 0) {
		/* current or newer: our SOA says there is nothing to send */
		rlen = soa_answer(cfg, q, z, out, limit - room, info);
		goto signed_out;
	}
	unsigned n = atomic_fetch_add_explicit(&running, 1, memory_order_relaxed);
	if (n >= cfg->xfr_max) {
		atomic_fetch_sub_explicit(&running, 1, memory_order_relaxed);
		char why[96];
		snprintf(why, sizeof(why), "%u transfers already running (transfers-out)", n);
		refuse_log(why, q, q->addr, &ts, keyed);
		rlen = bare_answer(cfg, q, RCODE_REFUSED, -1, out, limit - room, info);
		info->xfr_refused = true;
		goto signed_out;
	}
	struct xfr_out *x = calloc(1, sizeof(*x));
	if (!x) {
		atomic_fetch_sub_explicit(&running, 1, memory_order_relaxed);
		rlen = bare_answer(cfg, q, RCODE_SERVFAIL, -1, out, limit - room, info);
		goto signed_out;
	}
	/* The version published now, held to the end (axfr.h); an IXFR the
	 * journal cannot serve, or whose differences hold more records than
	 * the zone (a re-signed zone), is answered with the whole zone (RFC
	 * 1995 §4). */
	const char *kind = "AXFR";
	if (q->qtype == RRTYPE_IXFR && z->journal) {
		struct changeset **chain = NULL;
		size_t nc = journal_find(z->journal, client, z->serial, &chain);
		size_t recs = 0;
		for (size_t i = 0; i < nc; i++)
			recs += 2 + (size_t)chain[i]->nremoved + chain[i]->nadded;
		if (nc && recs <= z->nrecords && ixfr_start(&x->ix, (struct zone *)z, chain, nc, q) == 0) {
			x->incremental = true;
			kind = "IXFR";
		}
		journal_chain_free(chain, nc);
	}
	if (!x->incremental) {
		axfr_start(&x->ax, (struct zone *)z, q);
		if (q->qtype == RRTYPE_IXFR)
			kind = "IXFR (whole zone)";
	}
	x->ts = ts; /* the HMAC context, if any, moves with it */
	if (keyed) {
		x->key = *ts.key;
		x->ts.key = &x->key;
		x->signed_ = true;
	}
	dname_to_str(z->apex, x->zone, sizeof(x->zone));
	peer_str(q->addr, x->peer, sizeof(x->peer));
	if (q->qtype == RRTYPE_IXFR)
		log_info("%s of zone %s from serial %u to %u for %s%s started", kind, x->zone, client,
			 z->serial, x->peer, keyed ? " (TSIG)" : "");
	else
		log_info("AXFR of zone %s serial %u to %s%s started", x->zone, z->serial, x->peer,
			 keyed ? " (TSIG)" : "");
	memset(info, 0, sizeof(*info));
	info->aa = true;
	info->xfr = true;
	*xo = x;
	return xfr_out_next(x, out, cap, now);

signed_out:
	if (rlen && keyed)
		rlen = sign(&ts, q, out, rlen, limit, now, info);
	tsig_state_clear(&ts);
	return rlen;
}

size_t xfr_out_next(struct xfr_out *x, uint8_t *out, size_t cap, uint64_t now)
{
	if (x->failed || x->ended)
		return 0;
	size_t room = x->signed_ ? tsig_room(&x->ts) : 0;
	size_t len = x->incremental ? ixfr_next(&x->ix, out, cap - room)
				    : axfr_next(&x->ax, out, cap - room);
	unsigned msgs = x->incremental ? x->ix.messages : x->ax.messages;
	if (len == 0) {
		x->ended = true;
		if (!xfr_out_failed(x)) {
			log_info("transfer of zone %s to %s done: %u messages, %zu records", x->zone,
				 x->peer, msgs, x->incremental ? x->ix.records : x->ax.records);
		} else {
			x->failed = true;
			log_warn("transfer of zone %s to %s: a record too large for any message%s; "
				 "transfer ended", x->zone, x->peer,
				 x->incremental ? ", or a damaged difference" : "");
		}
		return 0;
	}
	if (x->signed_ && tsig_sign_next(&x->ts, out, &len, cap, now) != 0) {
		x->failed = true;
		log_warn("transfer of zone %s to %s: cannot sign message %u; transfer ended",
			 x->zone, x->peer, msgs);
		return 0;
	}
	return len;
}

bool xfr_out_failed(const struct xfr_out *x)
{
	return x->failed || (x->incremental ? x->ix.phase != IXFR_DONE : x->ax.phase != AXFR_DONE);
}

void xfr_out_free(struct xfr_out *x)
{
	if (!x)
		return;
	if (x->incremental)
		ixfr_end(&x->ix);
	else
		axfr_end(&x->ax);
	tsig_state_clear(&x->ts);
	memset(&x->key, 0, sizeof(x->key));
	free(x);
	atomic_fetch_sub_explicit(&running, 1, memory_order_relaxed);
}
