/* dname.h: domain names in uncompressed wire format (RFC 1035 §3.1).
 *
 * Names are compared case-insensitively (RFC 4343); the table keys are the
 * lowercased wire form. Only ASCII A-Z are folded: other octets, including
 * escaped ones, compare exactly. */
#ifndef SHOAL_DNAME_H
#define SHOAL_DNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A file that included <ldns/ldns.h> before this header, built without
 * HAVE_STDBOOL_H (meson.build), has `bool` as a signed char. */
_Static_assert(_Generic((bool)0, signed char: 0, default: 1),
	       "bool is not _Bool: ldns defined it; build with -DHAVE_STDBOOL_H");

#define DNAME_MAX 255	/* RFC 1035 §2.3.4: octets in a wire name */
#define DNAME_STR_MAX 1024 /* presentation form: 255 octets, each at most "\DDD" */
#define LABEL_MAX 63	/* RFC 1035 §2.3.4: octets in one label */
#define LABELS_MAX 128	/* 255 octets hold at most 127 labels + root */

/** A name split into labels: offsets of every label start, and the hash of
 * every suffix, so the zone table can be probed at each ancestor without
 * rehashing. Index 0 is the full name; index `labels` is the root. */
struct dname_split {
	uint8_t len;			/* wire length, including the root octet */
	uint8_t labels;			/* number of labels, root excluded */
	uint8_t off[LABELS_MAX];	/* off[i]: start of the i-th label; off[labels] = root */
	uint64_t hash[LABELS_MAX];	/* hash[i]: hash of the suffix starting at off[i] */
};

/** ASCII lowercase of one octet. */
static inline uint8_t dname_lc(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/**
 * Check a wire name and return its length.
 * \return length including the root label, or 0 if the name is malformed
 *         (label > 63, compression pointer, longer than 255, no root).
 */
size_t dname_wire_len(const uint8_t *name, size_t max);

/** Copy `len` octets of a wire name, lowercasing label octets. */
void dname_lower(uint8_t *dst, const uint8_t *src, size_t len);

/**
 * Split a lowercased wire name into labels and compute every suffix hash.
 * Pre: `name` is a valid wire name of length `len` (dname_wire_len).
 */
void dname_split(struct dname_split *out, const uint8_t *name, size_t len);

/** Buffer size for dname_lower_split's output: a name plus the zero
 * padding the word-wise hash reads. */
#define DNAME_PADDED (DNAME_MAX + 8)

/**
 * Lowercase `src` into `dst` and split it (dname_split), in one pass over a
 * buffer the hash can read directly: the query path's version.
 * Pre: `src` is a valid wire name of length `len`; `dst` has DNAME_PADDED
 * octets.
 */
void dname_lower_split(uint8_t *dst, const uint8_t *src, size_t len, struct dname_split *out);

/**
 * dname_lower_split() that also copies `src` as it is into `copy` (`len`
 * octets), in the same pass: the question name is kept both ways.
 */
void dname_copy_lower_split(uint8_t *copy, uint8_t *dst, const uint8_t *src, size_t len,
			    struct dname_split *out);

/** Hash of a whole lowercased wire name; equals dname_split's hash[0]. */
uint64_t dname_hash(const uint8_t *name, size_t len);

/** Count the labels of a valid wire name (root excluded). */
unsigned dname_label_count(const uint8_t *name);

/** Case-insensitive equality of two valid wire names. */
bool dname_equal(const uint8_t *a, const uint8_t *b);

/** True when `name` equals `parent` or is below it (case-insensitive). */
bool dname_is_subdomain(const uint8_t *name, const uint8_t *parent);

/**
 * Canonical DNS name order (RFC 4034 §6.1) of two lowercased wire names:
 * by their labels from the root down, each compared as unsigned octets,
 * a label that is a prefix of the other first; an ancestor before its
 * descendants. \return <0, 0 or >0
 */
int dname_canon_cmp(const uint8_t *a, const uint8_t *b);

/**
 * A name in presentation form ("Example.com", "example.com.", escapes;
 * relative names taken as absolute) as lowercased wire, read by ldns.
 * \return its length, or 0 when `s` is empty or not a name
 */
size_t dname_from_str(const char *s, uint8_t out[DNAME_MAX]);

/** Render a wire name as text ("www.example.com.") into buf (for logs). */
const char *dname_to_str(const uint8_t *name, char *buf, size_t size);

#endif
