/* zone_line.h: one plain zone-file line to a record, without building an
 * ldns_rr, for the record types whose rdata fields ldns reads as tokens
 * (and, for a last base64, hex or type-bitmap field, the rest of the
 * line): the records of plain zones and of signed ones. */
#ifndef SHOAL_ZONE_LINE_H
#define SHOAL_ZONE_LINE_H

#include <ldns/ldns.h>
#include <stdint.h>

#include "dns/dname.h"

/* The longest rdata taken here: four names (RP, MINFO and the like have
 * two, SOA two and five integers); enough too for an RRSIG by an RSA-4096
 * key (18 octets, the signer, 512) or such a DNSKEY. A record whose rdata
 * is longer is left to ldns. */
#define ZONE_LINE_RDATA_MAX (4 * DNAME_MAX + 32)

struct zone_line {
	uint8_t owner[DNAME_MAX]; /* wire, case kept */
	uint8_t owner_len;
	uint16_t type, rrclass;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t rdata[ZONE_LINE_RDATA_MAX];
};

/**
 * Read `text`, one line of a zone file that holds no parenthesis, quote,
 * backslash, semicolon, newline, NUL, FF or VT (CRs already made blanks),
 * exactly as ldns_rr_new_frm_str(&rr, text, default_ttl, origin, prev)
 * would, when every rdata field of the record's type is one ldns reads
 * as a token (addresses, names, integers, periods, types, algorithms,
 * times, NSEC3 salts and next owners: A, AAAA, NS, CNAME, PTR, MX, SRV,
 * SOA, NSEC3PARAM, ...) or, last, a base64, hex or type-bitmap field that
 * takes the rest of the line (RRSIG, DNSKEY, DS, NSEC, NSEC3, SSHFP,
 * ZONEMD, ...). ldns converts every token (names, addresses, numbers,
 * TTL, class and type, each field with ldns_rdf_new_frm_str); only the
 * splitting into tokens is done here.
 *
 * \return true with `out` filled and `*prev` updated as ldns updates it;
 * false, with nothing changed, for any line ldns must read itself: other
 * types, and every line ldns would refuse (its message then comes from
 * ldns). `origin` must not be NULL.
 */
bool zone_line_parse(const char *text, uint32_t default_ttl, const ldns_rdf *origin,
		     ldns_rdf **prev, struct zone_line *out);

#endif
