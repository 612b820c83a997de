/* answer.h: the authoritative algorithm (RFC 1034 §4.3.2, RFC 2308,
 * RFC 4592, RFC 6672, RFC 8482) from a parsed query to a response. */
#ifndef SHOAL_ANSWER_H
#define SHOAL_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/query.h"
#include "zone/zonedb.h"

#define RCODE_NOERROR 0
#define RCODE_FORMERR 1
#define RCODE_SERVFAIL 2
#define RCODE_NXDOMAIN 3
#define RCODE_NOTIMP 4
#define RCODE_REFUSED 5
#define RCODE_YXDOMAIN 6
#define RCODE_NOTAUTH 9
#define TSIG_ERROR_BADKEY 17 /* RFC 8945 §5.2.2 */
#define EDE_NOT_AUTHORITATIVE 20 /* RFC 8914 §4.21 */
#define RCODE_BADVERS 16 /* extended (RFC 6891 §6.1.3) */
#define RCODE_BADCOOKIE 23 /* extended (RFC 7873 §8) */

/** CNAME/DNAME links followed for one answer before giving up: longer
 * chains than this are misconfiguration, and each link costs a lookup. */
#define CHAIN_MAX 12

struct rrl;

struct answer_cfg {
	uint16_t edns_size;	   /* our UDP payload size, advertised in OPT */
	bool cookies;		   /* answer COOKIE options (RFC 7873) with cookie_keys_current() */
	struct rrl *rrl;	   /* response rate limiting of UDP answers; NULL: off */
	const uint8_t *nsid;	   /* RFC 5001 payload, NULL: not configured */
	uint16_t nsid_len;
	const char *version;	   /* version.bind / version.server TXT; NULL: hidden */
	const char *identity;	   /* id.server / hostname.bind TXT; NULL: hidden */
	unsigned xfr_max;	   /* transfers out at once, server-wide (xfr/serve.h) */
	/* Where an accepted NOTIFY for a secondary zone goes (xfr/serve.h):
	 * called on the worker that answered it; must not block. NULL: NOTIFY
	 * is answered and goes nowhere. */
	void (*notify)(void *ctx, const uint8_t *apex, size_t apex_len,
		       const struct sockaddr *from, bool has_serial, uint32_t serial);
	void *notify_ctx;
};

/** Kinds of answers, as response rate limiting tells them apart (BIND's
 * and Knot's RRL classes): a flood of one kind for many names under one
 * zone or wildcard counts as one flood. */
enum answer_kind {
	ANSWER_POSITIVE = 0, /* data for the question: keyed on the question name */
	ANSWER_NODATA,	     /* NOERROR, no data: keyed on the question name */
	ANSWER_NXDOMAIN,     /* keyed on the zone's apex */
	ANSWER_REFERRAL,     /* keyed on the zone cut */
	ANSWER_WILDCARD,     /* synthesized from a wildcard: keyed on its closest encloser */
	ANSWER_ERROR,	     /* FORMERR, REFUSED, NOTIMP, ...: one key per client network */
	ANSWER_KINDS
};

/** What happened, for statistics and rate limiting. */
struct answer_info {
	uint8_t rcode;	 /* full (extended) rcode */
	bool tc;
	bool aa;
	bool cookie_ok;	 /* the query's server cookie was ours and valid */
	uint16_t opt_len; /* octets of the OPT record near the end of the response, 0: none */
	uint16_t tail_len; /* octets after the OPT (an error's TSIG record), 0: none */
	/* Set by serve_request only (xfr/serve.h), for the counters: */
	bool xfr;	  /* the first message of a transfer stream */
	bool xfr_refused; /* a transfer refused (acl, limit, UDP) */
	bool tsig_failed; /* NOTAUTH or FORMERR for the request's TSIG */
	/* Raw material for answer_kind(), which alone reads them: left as
	 * the algorithm found them, so a server without rate limiting pays
	 * nothing to complete them. */
	uint8_t kind;
	uint64_t name;
};

/** Cache warming for a batch of queries (zone.h explains the steps): run
 * each step for every query of the batch before the next step, then
 * answer them. Only hints; answers are the same without. */
struct answer_warm {
	const struct zone *z;
	const struct node *n;
};

/** Step 1: the zone and its table slot for the question name. */
void answer_warm_zone(const struct zonedb *db, const struct query *q, enum query_status st,
		      struct answer_warm *w);
/** Step 2: the node of the question name. */
void answer_warm_node(const struct query *q, struct answer_warm *w);
/** Step 3: the node's RRsets. */
void answer_warm_data(const struct answer_warm *w);

/**
 * Build the response to one query.
 * \param st      what query_parse said
 * \param buf     output buffer (may be the buffer the query came in: the
 *                query is only read through `q`)
 * \param bufsize capacity of buf; UDP responses are further limited to
 *                512 or the EDNS size, TCP ones only by bufsize (≤ 65535)
 * \return response length, or 0 to send nothing
 */
size_t answer_query(const struct answer_cfg *cfg, const struct zonedb *db, const struct query *q,
		    enum query_status st, uint8_t *buf, size_t bufsize, struct answer_info *info);

/** answer_query() for a query whose answer_warm_zone() step ran (with the
 * same `db`): the zone found there is used instead of a second search. */
size_t answer_query_warm(const struct answer_cfg *cfg, const struct zonedb *db,
			 const struct query *q, enum query_status st,
			 const struct answer_warm *warm, uint8_t *buf, size_t bufsize,
			 struct answer_info *info);

/**
 * The kind of an answer answer_query gave, for rate limiting.
 * \param[out] name  the hash of the name it is keyed on: the question for
 *                   POSITIVE and NODATA, the zone apex for NXDOMAIN, the
 *                   cut for REFERRAL, the closest encloser for WILDCARD, 0
 *                   for ERROR
 */
enum answer_kind answer_kind(const struct query *q, const struct answer_info *info,
			     uint64_t *name);

/**
 * Turn a response built by answer_query into a "slipped" one for rate
 * limiting: the header (TC=1, no answer, authority or additional records)
 * and question, and the OPT record answer_query wrote, if any (with its
 * cookie: a client that returns it is exempt from rate limiting).
 * \param len  the length answer_query returned (> 0)
 * \return the new length
 */
size_t answer_slip(const struct query *q, const struct answer_info *info, uint8_t *buf,
		   size_t len);

#endif
