/* response.h: writing a response: sections, name compression, truncation.
 *
 * The writer only appends whole RRsets (RFC 2181 §9): an RRset that does
 * not fit under the limit is rolled back and the call fails, and the caller
 * decides whether that means TC=1 (answer, authority, required glue) or
 * just leaving it out (other additional data). */
#ifndef SHOAL_RESPONSE_H
#define SHOAL_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/query.h"
#include "zone/zone.h"

/** Compression targets remembered per response: enough for the label
 * starts of every name in any answer that fits a datagram in practice;
 * names beyond it are written in full (still correct, only longer). */
#define RESP_DICT_MAX 96

/** Offset of the question name in every response. */
#define RESP_QNAME_OFF DNS_HEADER_LEN

enum resp_section {
	SEC_ANSWER = 0,
	SEC_AUTHORITY = 1,
	SEC_ADDITIONAL = 2,
};

struct resp {
	uint8_t *buf;
	size_t len;	/* bytes written */
	size_t limit;	/* size the message may reach (OPT space already kept aside) */
	uint16_t count[3];
	uint16_t ndict;
	bool dict_ready;	/* the question's labels are in dict (filled on first use:
				 * most answers never compress a name) */
	const struct query *q;
	uint16_t dict[RESP_DICT_MAX]; /* offsets of label sequences written in full */
};

/** An owner name: a compression pointer target already in the message
 * (ptr != 0), or a lowercased wire name to write (compressed if possible). */
struct owner {
	uint16_t ptr;
	const uint8_t *name;
};

/**
 * Start a response in `buf`: the header (ID, opcode, RD and CD echoed, QR
 * set) and, if the query had one, the question with the client's case.
 * Pre: `limit` >= 12 + question length (always true for limit >= 512).
 */
void resp_init(struct resp *r, uint8_t *buf, size_t limit, const struct query *q);

/** Set the RCODE (low 4 bits; extended bits go in the OPT). */
void resp_set_rcode(struct resp *r, uint8_t rcode);
void resp_set_aa(struct resp *r, bool aa);
void resp_set_tc(struct resp *r);
bool resp_tc(const struct resp *r);

/**
 * Append one RRset to a section under the owner name.
 * \return 0, or -1 when it does not fit (nothing of it is left in the message)
 */
int resp_put_rrset(struct resp *r, enum resp_section sec, struct owner owner,
		   const struct rrset *rs);

/**
 * Append one record whose rdata is a single uncompressed name (a CNAME
 * synthesized from a DNAME, RFC 6672 §3.1) — compressed as CNAME allows.
 */
int resp_put_cname(struct resp *r, struct owner owner, uint32_t ttl, const uint8_t *target);

/**
 * Append a TXT record of class CH (version.bind and friends). `owner` is
 * the question name pointer.
 */
int resp_put_chaos_txt(struct resp *r, const char *text);

/**
 * Append the OPT pseudo-RR (RFC 6891 §6.1.2), with an NSID option when
 * `nsid` is not NULL, a COOKIE option (RFC 7873 §4) when `cookie_len` is
 * not 0 and an Extended DNS Error (RFC 8914, INFO-CODE `ede`, no text)
 * when `ede` is not negative. Not subject to `limit`: the caller keeps
 * room for it by subtracting resp_opt_size() (and RESP_EDE_LEN) from the
 * limit.
 */
void resp_put_opt(struct resp *r, uint16_t udp_size, uint8_t ext_rcode, bool dnssec_ok,
		  const uint8_t *nsid, uint16_t nsid_len, const uint8_t *cookie,
		  size_t cookie_len, int ede);

/** Bytes the OPT will take (cookie_len 0: no COOKIE option). */
size_t resp_opt_size(uint16_t nsid_len, bool with_nsid, size_t cookie_len);

/**
 * Add an option to the OPT resp_put_opt wrote at offset `opt_at` of the
 * message, which must still be the last record. The room (4 + len) must
 * have been kept below the limit as for the OPT itself.
 */
void resp_opt_add(struct resp *r, size_t opt_at, uint16_t code, const uint8_t *data,
		  uint16_t len);

/** Octets the EXPIRE option of an answer takes (RFC 7314 §2). */
#define RESP_EXPIRE_LEN 8

/** Octets an Extended DNS Error option (RFC 8914) without text adds. */
#define RESP_EDE_LEN 6

/** Append to the additional section the TSIG record of an error answer to
 * the query's TSIG (RFC 8945 §5.3.2 and §5.2.2: its key and algorithm,
 * time signed and fudge echoed, no MAC, the query's ID, `error`). Must be
 * the last record written. \return 0, or -1 when it does not fit. */
int resp_put_tsig_error(struct resp *r, const struct query *q, uint16_t error);

/** Write the section counts into the header; returns the message length. */
size_t resp_finish(struct resp *r);

/** Where the answer's owner names point: the question name. */
static inline struct owner owner_qname(void)
{
	return (struct owner){.ptr = RESP_QNAME_OFF, .name = NULL};
}

/**
 * Pointer target for a suffix of the question name: the ancestor `labels`
 * labels up (0: the name itself).
 */
struct owner owner_qname_suffix(const struct query *q, unsigned labels);

#endif
