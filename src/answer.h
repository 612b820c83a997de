/* answer.h: the authoritative algorithm (RFC 1034 §4.3.2, RFC 2308,
 * RFC 4592, RFC 6672, RFC 8482) from a parsed query to a response. */
#ifndef SHOAL_ANSWER_H
#define SHOAL_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query.h"
#include "zonedb.h"

#define RCODE_NOERROR 0
#define RCODE_FORMERR 1
#define RCODE_SERVFAIL 2
#define RCODE_NXDOMAIN 3
#define RCODE_NOTIMP 4
#define RCODE_REFUSED 5
#define RCODE_YXDOMAIN 6
#define RCODE_BADVERS 16 /* extended (RFC 6891 §6.1.3) */

/** CNAME/DNAME links followed for one answer before giving up: longer
 * chains than this are misconfiguration, and each link costs a lookup. */
#define CHAIN_MAX 12

struct answer_cfg {
	uint16_t edns_size;	   /* our UDP payload size, advertised in OPT */
	bool cookies;		   /* answer COOKIE options (RFC 7873) with cookie_keys_current() */
	const uint8_t *nsid;	   /* RFC 5001 payload, NULL: not configured */
	uint16_t nsid_len;
	const char *version;	   /* version.bind / version.server TXT; NULL: hidden */
	const char *identity;	   /* id.server / hostname.bind TXT; NULL: hidden */
};

/** What happened, for statistics. */
struct answer_info {
	uint8_t rcode;	 /* full (extended) rcode */
	bool tc;
	bool aa;
	bool cookie_ok;	 /* the query's server cookie was ours and valid */
};

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

#endif
