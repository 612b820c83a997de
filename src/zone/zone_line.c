/* zone_line.c: one plain zone-file line to a record, without building an
 * ldns_rr.
 *
 * ldns_rr_new_frm_str makes about twenty allocations for every record,
 * three of them 64 KiB buffers, and walks the text one octet at a time
 * through ldns_bget_token, twice: most of a big zone's load time. For the
 * lines that zones are mostly made of ("www 3600 IN A 192.0.2.1", and in
 * a signed zone "www 3600 IN RRSIG A 13 3 3600 20260101000000 ... sig=",
 * NSEC, NSEC3) the splitting is trivial, so it is done here, and each
 * token (or a base64, hex or type-list field that ends the line, whole)
 * still goes to the ldns function that ldns_rr_new_frm_str would give it
 * (ldns_dname_new_frm_str, ldns_str2period, ldns_get_rr_class_by_name,
 * ldns_get_rr_type_by_name, ldns_rdf_new_frm_str). The rules below are
 * those of ldns 1.8's ldns_rr_new_frm_str_internal for such text; a unit
 * test and the zone fuzzer hold the two to the same result. */
#include "zone/zone_line.h"

#include <ctype.h>
#include <string.h>

/* ldns_rr_new_frm_str's token limits (rr.c): a token of at least this many
 * octets is an error there. */
#define OWNER_LIMIT LDNS_MAX_DOMAINLEN
#define TTL_LIMIT 21
#define SYNTAX_LIMIT 16 /* class, type */

#define FIELDS_MAX 9 /* RRSIG, SIG */

/* ldns_bget_token(…, "\t\n ", …) on a plain line: the octets up to the next
 * blank, NUL-terminated in place, and every blank after them skipped. An
 * empty token when the text starts with a blank; NULL at its end. */
static char *take(char **s)
{
	char *p = *s, *t = p;
	if (*p == 0)
		return NULL;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	if (*p) {
		*p++ = 0;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	*s = p;
	return t;
}

/* How ldns_rr_new_frm_str reads a field of type `t` (rr.c): a token up
 * to the next blank, or, for the B64, HEX and NSEC fields that end a
 * record, all that is left of the line, blanks included (base64 and hex
 * split into groups, a type bitmap's list of types), given whole to the
 * converter; FIELD_NO for the fields left to ldns (strings that may be
 * quoted, LOC, WKS, IPSECKEY, HIP, SVCB parameters and the like). */
enum field_kind { FIELD_NO, FIELD_TOKEN, FIELD_REST };

static enum field_kind field_kind(ldns_rdf_type t, bool last)
{
	switch (t) {
	case LDNS_RDF_TYPE_A:
	case LDNS_RDF_TYPE_AAAA:
	case LDNS_RDF_TYPE_DNAME:
	case LDNS_RDF_TYPE_INT8:
	case LDNS_RDF_TYPE_INT16:
	case LDNS_RDF_TYPE_INT32:
	case LDNS_RDF_TYPE_PERIOD:
	case LDNS_RDF_TYPE_TYPE:	     /* RRSIG's type covered: "A", "TYPE65534" */
	case LDNS_RDF_TYPE_ALG:		     /* "13", "ECDSAP256SHA256" */
	case LDNS_RDF_TYPE_TIME:	     /* "20260101000000" or "1767225600" */
	case LDNS_RDF_TYPE_NSEC3_SALT:	     /* "-" is none */
	case LDNS_RDF_TYPE_NSEC3_NEXT_OWNER: /* base32hex */
		return FIELD_TOKEN;
	case LDNS_RDF_TYPE_B64:
	case LDNS_RDF_TYPE_HEX:
	case LDNS_RDF_TYPE_NSEC:
		return last ? FIELD_REST : FIELD_TOKEN;
	default:
		return FIELD_NO;
	}
}

/* ldns finds a type by its mnemonic walking its table of types with two
 * strlen and a strncasecmp for each (28 entries before AAAA), a class
 * with a strcasecmp for each: a tenth of a big zone's load. Its answers
 * for the last tokens seen are kept, per thread, keyed by the exact text. */
struct memo {
	char tok[SYNTAX_LIMIT];
	int value;
};

#define MEMO_SLOTS 16

static int memo_get(struct memo *m, const char *tok, int (*lookup)(const char *))
{
	size_t len = strlen(tok);
	if (len == 0 || len >= SYNTAX_LIMIT)
		return lookup(tok);
	struct memo *e = &m[(len * 31u + (unsigned char)tok[0] + (unsigned char)tok[len - 1]) %
			    MEMO_SLOTS];
	if (memcmp(e->tok, tok, len + 1) != 0) {
		e->value = lookup(tok);
		memcpy(e->tok, tok, len + 1);
	}
	return e->value;
}

static int type_by_name(const char *s)
{
	return (int)ldns_get_rr_type_by_name(s);
}

static int class_by_name(const char *s)
{
	return (int)ldns_get_rr_class_by_name(s);
}

static __thread struct memo type_memo[MEMO_SLOTS], class_memo[MEMO_SLOTS];

static bool put(struct zone_line *out, const ldns_rdf *r)
{
	size_t n = ldns_rdf_size(r);
	if (n > sizeof(out->rdata) - out->rdlen)
		return false; /* a longer record (a big key): ldns reads it */
	if (n)
		memcpy(out->rdata + out->rdlen, ldns_rdf_data(r), n);
	out->rdlen = (uint16_t)(out->rdlen + n);
	return true;
}

bool zone_line_parse(const char *text, uint32_t default_ttl, const ldns_rdf *origin,
		     ldns_rdf **prev, struct zone_line *out)
{
	char line[LDNS_MAX_LINELEN + 1];
	size_t len = strlen(text);
	if (!origin || len >= sizeof(line))
		return false;
	memcpy(line, text, len + 1);
	char *s = line;

	char *owner = take(&s);
	if (!owner || strlen(owner) >= OWNER_LIMIT)
		return false;
	char *tok = take(&s), *type = NULL;
	if (!tok || !*tok || strlen(tok) >= TTL_LIMIT)
		return false;
	/* A TTL when it starts with a digit; else a class or the type (the
	 * TTL is then the default: ldns's own when the caller has none). */
	uint32_t ttl;
	ldns_rr_class cls;
	if (!isdigit((unsigned char)tok[0])) {
		ttl = default_ttl ? default_ttl : LDNS_DEFAULT_TTL;
	} else {
		const char *end;
		ttl = ldns_str2period(tok, &end);
		tok = take(&s);
		if (!tok || strlen(tok) >= SYNTAX_LIMIT)
			return false;
	}
	cls = (ldns_rr_class)memo_get(class_memo, tok, class_by_name);
	if ((unsigned)cls > UINT16_MAX)
		return false; /* "CLASS65536": ldns keeps it as is */
	if (cls == 0) {
		cls = LDNS_RR_CLASS_IN;
		type = tok;
	} else {
		type = take(&s);
		if (!type || strlen(type) >= SYNTAX_LIMIT)
			return false;
	}
	ldns_rr_type rrtype = (ldns_rr_type)memo_get(type_memo, type, type_by_name);
	if ((unsigned)rrtype > UINT16_MAX)
		return false; /* "TYPE65537": ldns keeps it as is */
	const ldns_rr_descriptor *desc = ldns_rr_descript((uint16_t)rrtype);
	if (!desc)
		return false;
	/* ldns reads up to the descriptor's maximum of fields and wants
	 * at least its minimum (NSEC's type bitmap, NSEC3's, may be left
	 * out); a type with a repeated last field (TXT, APL) is its own. */
	size_t nfields = ldns_rr_descriptor_maximum(desc);
	size_t nmin = ldns_rr_descriptor_minimum(desc);
	if (nfields == 0 || nfields > FIELDS_MAX || nmin > nfields)
		return false;
	enum field_kind kinds[FIELDS_MAX];
	for (size_t i = 0; i < nfields; i++) {
		kinds[i] = field_kind(ldns_rr_descriptor_field_type(desc, i), i == nfields - 1);
		if (kinds[i] == FIELD_NO)
			return false;
	}

	/* The owner: "@" is the origin (for ldns 1.8 so is anything that
	 * starts with "@"), nothing the previous owner (or the origin), a
	 * relative name is completed with the origin. */
	ldns_rdf *own = NULL;
	const ldns_rdf *owner_rdf;
	bool at = owner[0] == '@';
	if (at) {
		owner_rdf = origin;
	} else if (owner[0] == 0) {
		owner_rdf = *prev ? *prev : origin;
	} else {
		own = ldns_dname_new_frm_str(owner);
		if (!own)
			return false;
		if (!ldns_dname_str_absolute(owner) && ldns_dname_cat(own, origin) != LDNS_STATUS_OK)
			goto fail;
		owner_rdf = own;
	}
	if (ldns_rdf_size(owner_rdf) > DNAME_MAX)
		goto fail;

	/* The fields, as ldns_rr_new_frm_str takes them: each after the
	 * blanks before it (take() has skipped those), until the line ends
	 * or the type has no more; then nothing may be left, and at least
	 * the minimum must have been read. */
	out->rdlen = 0;
	size_t nread = 0;
	for (size_t i = 0; i < nfields && *s; i++) {
		char *field;
		if (kinds[i] == FIELD_REST) {
			field = s; /* blanks inside and at the end kept, as ldns has it */
			s += strlen(s);
		} else {
			field = take(&s);
		}
		ldns_rdf_type ft = ldns_rr_descriptor_field_type(desc, i);
		ldns_rdf *r = ldns_rdf_new_frm_str(ft, field);
		if (!r)
			goto fail;
		bool ok = true;
		if (ft == LDNS_RDF_TYPE_DNAME) {
			const uint8_t *d = ldns_rdf_data(r);
			if (ldns_rdf_size(r) > 1 && d[0] == 1 && d[1] == '@') {
				/* a first label "@": the origin, whatever follows */
				ldns_rdf_deep_free(r);
				r = NULL;
				ok = put(out, origin);
			} else if (!ldns_dname_str_absolute(field)) {
				ok = ldns_dname_cat(r, origin) == LDNS_STATUS_OK;
			}
		}
		if (ok && r)
			ok = put(out, r);
		ldns_rdf_deep_free(r);
		if (!ok)
			goto fail;
		nread++;
	}
	if (*s)
		goto fail; /* more than the type has */
	if (nread < nmin)
		goto fail; /* too few */

	ldns_rdf *new_prev = NULL;
	if (at && !(new_prev = ldns_rdf_clone(origin)))
		goto fail;
	out->owner_len = (uint8_t)ldns_rdf_size(owner_rdf);
	memcpy(out->owner, ldns_rdf_data(owner_rdf), out->owner_len);
	out->type = (uint16_t)rrtype;
	out->rrclass = (uint16_t)cls;
	out->ttl = ttl;
	/* ldns keeps an explicit owner (or "@") as the next blank one's */
	if (own || at) {
		ldns_rdf_deep_free(*prev);
		*prev = own ? own : new_prev;
	}
	return true;
fail:
	ldns_rdf_deep_free(own);
	return false;
}
