/* query.h: one request, parsed and checked with ldns. */
#ifndef SHOAL_QUERY_H
#define SHOAL_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dname.h"

struct sockaddr;

#define DNS_HEADER_LEN 12
#define DNS_UDP_MIN 512		/* RFC 1035 §4.2.1; RFC 6891 §6.2.5 floor */
#define EDNS_SIZE_DEFAULT 1232	/* DNS flag day 2020: no IP fragmentation */
#define EDNS_OPT_NSID 3		/* RFC 5001 */
#define EDNS_OPT_EXPIRE 9	/* RFC 7314 */
#define EDNS_OPT_COOKIE 10	/* RFC 7873 */
#define EDNS_OPT_EDE 15		/* RFC 8914: Extended DNS Error */
#define QUERY_COOKIE_MAX 40	/* client cookie 8 + server cookie up to 32 */
#define QUERY_CLIENT_COOKIE_LEN 8	/* RFC 7873 §4.1 */

enum query_status {
	QUERY_OK = 0,	 /* answer it (without a question: a COOKIE-only query, RFC 7873 §5.4) */
	QUERY_DROP,	 /* not a query we answer at all (too short, QR=1) */
	QUERY_FORMERR,	 /* malformed: answer FORMERR */
	QUERY_NOTIMP,	 /* opcode other than QUERY */
	QUERY_BADVERS,	 /* EDNS version we do not speak (RFC 6891 §6.1.3) */
	QUERY_BADKEY,	 /* signed with TSIG: we have no keys, so NOTAUTH with a
			  * TSIG error BADKEY (RFC 8945 §5.2.2) */
	QUERY_NOTIFY,	 /* opcode NOTIFY with a question (RFC 1996): xfr/serve.h */
};

#define QUERY_OPCODE_NOTIFY 4

struct query {
	uint16_t id;		/* net-order bytes as received, copied back */
	uint8_t flags1;		/* header byte 2: QR OPCODE AA TC RD */
	uint8_t flags2;		/* header byte 3: RA Z AD CD RCODE */
	uint8_t opcode;
	bool has_question;	/* qname/qtype/qclass are valid (QUERY_OK without one:
				 * QDCOUNT 0 asking for a server cookie) */
	bool tcp;
	uint16_t qtype, qclass;	/* host order */
	uint8_t qname_len;
	uint8_t qname[DNAME_MAX];	/* as received: the client's letter case */
	uint8_t lname[DNAME_PADDED];	/* lowercased, for lookups (zero padded) */
	struct dname_split split;	/* labels and suffix hashes of lname */
	bool edns;		/* the query had an OPT */
	bool formerr_opt;	/* FORMERR over what a well-formed OPT or question
				 * says (a COOKIE's length, QTYPE OPT, QDCOUNT 0
				 * without a COOKIE): the reply carries an OPT too */
	bool edns_do;		/* DO bit (RFC 3225), echoed */
	bool edns_nsid;		/* NSID option present (RFC 5001) */
	bool edns_expire;	/* EXPIRE option present (RFC 7314) */
	uint8_t edns_version;
	uint16_t edns_size;	/* requestor's UDP payload size, host order */
	uint8_t cookie_len;	/* COOKIE option (RFC 7873): 0 none, 8, or 16-40 */
	uint8_t cookie[QUERY_COOKIE_MAX];	/* client cookie, then server cookie */
	/* Where the query came from (for the server cookie's hash); NULL
	 * after query_parse, set by the transport. Not used without a cookie. */
	const struct sockaddr *addr;
	/* A TSIG record (RFC 8945), echoed in the BADKEY answer; valid
	 * when tsig is set. Names uncompressed, as received. */
	bool tsig;
	uint8_t tsig_key_len, tsig_alg_len;
	uint8_t tsig_time[6];	/* Time Signed, 48 bits, network order */
	uint8_t tsig_fudge[2];	/* network order */
	uint8_t tsig_key[DNAME_MAX];
	uint8_t tsig_alg[DNAME_MAX];
};

/**
 * Parse a request: header with ldns's wire accessors, question name with
 * ldns_wire2dname, other records with ldns_wire2rr (only OPT matters).
 * \param[out] q  filled as far as parsing got (has_question tells)
 * \return what to do with it
 */
enum query_status query_parse(struct query *q, const uint8_t *wire, size_t len, bool tcp);

#endif
