/* unit.h: helpers shared by the unit tests (tests/unit/check_*.c).
 *
 * Everything here asserts with libcheck on failure, so a test reads as a
 * list of expectations. Nothing touches the network: zones are built in
 * memory or written to a private temporary directory, queries are built as
 * wire bytes and handed to query_parse/answer_query directly. */
#ifndef SHOAL_UNIT_H
#define SHOAL_UNIT_H

#include <check.h>
#include <ldns/ldns.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zone/zone.h"
#include "zone/zone_load.h"

/* meson (and automake) read this exit status as "skipped". */
#define UT_EXIT_SKIP 77

/* ---- names ---- */

/** Wire form of a presentation name (absolute or not: made absolute).
 * \return the wire length; asserts the name parses */
size_t ut_name(const char *text, uint8_t out[DNAME_MAX]);

/* ---- files ---- */

/** A fresh private directory under $TMPDIR (or /tmp); asserts. */
void ut_tmpdir(char *out, size_t size);

/** Remove a directory tree made by the test (best effort). */
void ut_rmtree(const char *dir);

/** dir/rel into out. */
void ut_path(char *out, size_t size, const char *dir, const char *rel);

/** Write `text` to dir/rel (parent directories of rel are created). */
void ut_write(const char *dir, const char *rel, const char *text);
/** The same with `len` octets of `data` (which may hold NULs). */
void ut_write_n(const char *dir, const char *rel, const char *data, size_t len);

/** The first size - 1 octets of the file at `path` into buf, NUL-terminated
 *  (a missing file fails the test); returns how many were read. */
size_t ut_read(const char *path, char *buf, size_t size);

/* ---- zone diagnostics ---- */

struct ut_diag_entry {
	enum zone_diag_severity sev;
	char file[1024];
	int line;
	char reason[1024];
};

#define UT_DIAG_MAX 256

/** A zone_diag_fn context that keeps every diagnostic it is given. */
struct ut_diag {
	unsigned n;
	unsigned errors, warnings;
	struct ut_diag_entry e[UT_DIAG_MAX];
};

/** The zone_diag_fn: ctx is a struct ut_diag. */
void ut_diag_fn(void *ctx, enum zone_diag_severity sev, const char *file, int line,
		const char *reason);

/** Print everything captured to stderr (shown by meson on failure). */
void ut_diag_dump(const struct ut_diag *d);

/** "file:line: reason" of entry i, as a log line would read. */
const char *ut_diag_str(const struct ut_diag *d, unsigned i, char *buf, size_t size);

/* ---- zones built in memory ---- */

/**
 * Build a zone from records in presentation format, one per string
 * (NULL-terminated list); relative owners are relative to `origin`, the
 * default TTL is 3600. Goes through zone_builder_* only (not the loader).
 * \return the zone, or NULL with the builder's message in msg
 */
struct zone *ut_zone_try(const char *origin, const char *const *rrs, char *msg, size_t msgsize);

/** As ut_zone_try, asserting success. */
struct zone *ut_zone(const char *origin, const char *const *rrs);

/** The node of `name` (presentation) in z, or NULL. */
const struct node *ut_node(const struct zone *z, const char *name);

/** zone_above() for `name` (presentation) in z: the cut or DNAME owner
 * that decides for it, or NULL. */
const struct node *ut_above(const struct zone *z, const char *name);

/* ---- queries ---- */

struct ut_q {
	const char *name;      /* presentation, case kept */
	uint16_t type;	       /* 0: A */
	uint16_t qclass;       /* 0: IN */
	uint16_t id;
	uint8_t opcode;	       /* 0: QUERY */
	bool rd, cd, ad, ra;
	bool edns;	       /* append an OPT record */
	uint16_t edns_size;    /* its CLASS (0 when edns: 1232) */
	uint8_t edns_version;
	bool do_bit;
	bool nsid;	       /* an empty NSID option (RFC 5001 §2.1) */
	const uint8_t *cookie; /* a COOKIE option (RFC 7873) of cookie_len octets, after NSID */
	uint8_t cookie_len;    /* 0: none */
};

/** Build the wire form of a query. \return its length; asserts. */
size_t ut_query_wire(const struct ut_q *spec, uint8_t *buf, size_t size);

#endif
