/* zone_line.h: one plain zone-file line to a record, without building an
 * ldns_rr, for the record types whose every rdata field is one token. */
#ifndef SHOAL_ZONE_LINE_H
#define SHOAL_ZONE_LINE_H

#include <ldns/ldns.h>
#include <stdint.h>

#include "dns/dname.h"

/* The longest rdata of a type taken here: four names (RP, MINFO and the
 * like have two, SOA two and five integers). */
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
 * would, when the record's type has a fixed number of rdata fields that
 * are each one token (addresses, names, integers, periods: A, AAAA, NS,
 * CNAME, PTR, MX, SRV, SOA, ...). ldns converts every token (names,
 * addresses, numbers, TTL, class and type); only the splitting into
 * tokens is done here.
 *
 * \return true with `out` filled and `*prev` updated as ldns updates it;
 * false, with nothing changed, for any line ldns must read itself: other
 * types, and every line ldns would refuse (its message then comes from
 * ldns). `origin` must not be NULL.
 */
bool zone_line_parse(const char *text, uint32_t default_ttl, const ldns_rdf *origin,
		     ldns_rdf **prev, struct zone_line *out);

#endif
