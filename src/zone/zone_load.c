/* zone_load.c: zone files → zone table, record by record with ldns. */
#include "zone/zone_load.h"

#include <ctype.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <libgen.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <malloc.h>
#include <sys/stat.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "ops/log.h"
#include "zone/zone_line.h"

/* Records without a TTL and no $TTL yet: RFC 1035 §5.1 says the last
 * explicit TTL applies (as BIND and Knot do). ldns only knows a default,
 * so the default is set to a value no zone can hold (RFC 2181 §8: TTLs are
 * below 2^31) and a record that comes back with it had none. */
#define TTL_UNSET 0xfffffffeu
#define TTL_FALLBACK 3600 /* no TTL anywhere yet: ldns's own default */

struct ttl_state {
	bool directive;	  /* a $TTL was seen */
	bool have_last;
	uint32_t last;	  /* last explicit TTL */
};

struct load_ctx {
	struct zone_builder *b;
	struct ttl_state ttl;
	zone_diag_fn diag;
	void *diag_ctx;
	unsigned errors;
	ldns_buffer *rdbuf;
};

int zone_diag_format(char *buf, size_t size, enum zone_diag_severity sev, const char *file,
		     int line, const char *reason)
{
	const char *w = sev == ZONE_DIAG_WARNING ? "warning: " : "";
	if (line > 0)
		return snprintf(buf, size, "%s:%d: %s%s", file, line, w, reason);
	return snprintf(buf, size, "%s: %s%s", file, w, reason);
}

void zone_diag_log(void *ctx, enum zone_diag_severity sev, const char *file, int line,
		   const char *reason)
{
	(void)ctx;
	if (line > 0)
		log_msg(sev == ZONE_DIAG_ERROR ? LOG_LVL_ERR : LOG_LVL_WARN, "%s:%d: %s", file,
			line, reason);
	else
		log_msg(sev == ZONE_DIAG_ERROR ? LOG_LVL_ERR : LOG_LVL_WARN, "%s: %s", file, reason);
}

static void report(struct load_ctx *c, enum zone_diag_severity sev, const char *file, int line,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void report(struct load_ctx *c, enum zone_diag_severity sev, const char *file, int line,
		   const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sev == ZONE_DIAG_ERROR)
		c->errors++;
	if (c->errors <= ZONE_ERRORS_MAX || sev != ZONE_DIAG_ERROR)
		c->diag(c->diag_ctx, sev, file, line, msg);
}

size_t zone_origin_from_path(const char *path, uint8_t out[DNAME_MAX])
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t len = strlen(base);
	if (len <= 5 || strcmp(base + len - 5, ".zone") != 0)
		return 0;
	char name[1100];
	if (len - 5 >= sizeof(name) - 2)
		return 0;
	memcpy(name, base, len - 5);
	name[len - 5] = 0;
	if (!strcmp(name, "root") || !strcmp(name, "."))
		strcpy(name, ".");
	else if (name[strlen(name) - 1] != '.')
		strcat(name, ".");
	ldns_rdf *d = NULL;
	if (ldns_str2rdf_dname(&d, name) != LDNS_STATUS_OK || !d)
		return 0;
	size_t wl = ldns_rdf_size(d);
	if (wl > DNAME_MAX) {
		ldns_rdf_deep_free(d);
		return 0;
	}
	memcpy(out, ldns_rdf_data(d), wl);
	ldns_rdf_deep_free(d);
	return wl;
}

/* `hash`: NULL, or dname_hash() of the owner lowercased. */
static void add_raw(struct load_ctx *c, const uint8_t *owner, const uint64_t *hash, uint16_t type,
		    uint16_t rrclass, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen,
		    const char *file, int line)
{
	char msg[1024];
	enum zb_result r =
		hash ? zone_builder_add_hashed(c->b, owner, *hash, type, rrclass, ttl, rdata, rdlen,
					       msg, sizeof(msg))
		     : zone_builder_add(c->b, owner, type, rrclass, ttl, rdata, rdlen, msg,
					sizeof(msg));
	if (r == ZB_ERROR)
		report(c, ZONE_DIAG_ERROR, file, line, "%s", msg);
	else if (r == ZB_WARN)
		report(c, ZONE_DIAG_WARNING, file, line, "%s", msg);
}

/* A record as read: from ldns's ldns_rr, or from zone_line_parse. */
struct rec {
	const uint8_t *owner;
	uint8_t owner_len;
	uint16_t type, cls, rdlen;
	uint32_t ttl;
	const uint8_t *rdata;
};

/* The record `rr`, or when it is NULL the one in `line` (NULL: none), as
 * a rec; the rdata of `rr` is written to `buf`. Returns NULL, or what is
 * wrong with it (v->ttl is set either way). */
static const char *rec_of(const ldns_rr *rr, const struct zone_line *line, ldns_buffer *buf,
			  struct rec *v)
{
	if (!rr && !line) {
		v->ttl = TTL_UNSET; /* leaves the TTL state alone */
		return "the parser returned no record";
	}
	if (!rr) {
		*v = (struct rec){line->owner, line->owner_len, line->type, line->rrclass,
				  line->rdlen, line->ttl, line->rdata};
		return NULL;
	}
	const ldns_rdf *owner = ldns_rr_owner(rr);
	v->ttl = ldns_rr_ttl(rr);
	if (!owner || ldns_rdf_get_type(owner) != LDNS_RDF_TYPE_DNAME ||
	    ldns_rdf_size(owner) > DNAME_MAX)
		return "record without an owner name";
	/* ldns reads "TYPE65537" or "CLASS65537" as numbers it keeps whole
	 * (the wire would get them modulo 65536: another type or class) */
	if ((unsigned)ldns_rr_get_type(rr) > UINT16_MAX)
		return "type number above 65535";
	if ((unsigned)ldns_rr_get_class(rr) > UINT16_MAX)
		return "class number above 65535";
	ldns_buffer_clear(buf);
	if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK)
		return "cannot encode the record's rdata";
	if (ldns_buffer_position(buf) > UINT16_MAX)
		return "rdata longer than 65535 octets";
	v->owner = ldns_rdf_data(owner);
	v->owner_len = (uint8_t)ldns_rdf_size(owner);
	v->type = (uint16_t)ldns_rr_get_type(rr);
	v->cls = (uint16_t)ldns_rr_get_class(rr);
	v->rdata = ldns_buffer_begin(buf);
	v->rdlen = (uint16_t)ldns_buffer_position(buf);
	return NULL;
}

static int load_fp(struct load_ctx *c, FILE *fp, const char *path, ldns_rdf *origin_in,
		   uint32_t *default_ttl, int depth);


/* What follows the one-line directive `key` that starts at `start`, read
 * again from the file (ldns keeps it to itself): the rest of the line
 * without its comment and surrounding blanks. The stream is left after the
 * directive's line, where ldns left it.
 * Returns 1 when found, 0 when not, -1 when the file cannot be re-read. */
static int reread_directive(FILE *fp, long start, const char *key, char *arg, size_t size)
{
	char *buf = NULL;
	size_t cap = 0, klen = strlen(key);
	int found = 0;
	if (fseek(fp, start, SEEK_SET) != 0)
		return -1;
	while (getline(&buf, &cap, fp) > 0) {
		char *s = buf + strspn(buf, " \t\r\n");
		if (*s == 0 || *s == ';')
			continue;
		if (strncasecmp(s, key, klen) == 0) {
			char *semi = strchr(s, ';');
			if (semi)
				*semi = 0;
			s += klen;
			s += strspn(s, " \t");
			size_t n = strlen(s);
			while (n > 0 && strchr(" \t\r\n", s[n - 1]))
				n--;
			if (n > 0 && n < size) {
				memcpy(arg, s, n);
				arg[n] = 0;
				found = 1;
			}
		}
		break;
	}
	free(buf);
	return found;
}

/* RFC 1035 §5.1: a $ORIGIN argument not ending in a dot is relative to
 * the origin in force (`cur`); ldns takes it as absolute. Fix up what ldns
 * set in `origin`, and make `cur` follow. Returns 0, or -1 when the result
 * is too long (`arg` then holds the argument, for the message). */
static int origin_fixup(FILE *fp, long start, ldns_rdf **origin, ldns_rdf **cur, char *arg,
			size_t size)
{
	int ret = 0;
	if (reread_directive(fp, start, "$ORIGIN", arg, size) == 1) {
		arg[strcspn(arg, " \t")] = 0;
		if (!ldns_dname_str_absolute(arg) && strcmp(arg, "@") != 0) {
			ldns_rdf *rel = ldns_dname_new_frm_str(arg);
			if (!rel || ldns_dname_cat(rel, *cur) != LDNS_STATUS_OK) {
				ldns_rdf_deep_free(rel);
				ret = -1;
			} else {
				ldns_rdf_deep_free(*origin);
				*origin = rel;
			}
		}
	}
	ldns_rdf_deep_free(*cur);
	*cur = ldns_rdf_clone(*origin);
	return ret;
}

/* ldns reports $INCLUDE (LDNS_STATUS_SYNTAX_INCLUDE) but keeps its argument
 * to itself, so re-read the directive line from where the entry began: it
 * is a one-line directive, `$INCLUDE file [origin] [; comment]`. */
static void do_include(struct load_ctx *c, FILE *fp, long start, const char *path, int line,
		       ldns_rdf *origin, uint32_t *default_ttl, int depth)
{
	char args[8192], *tok, *save = NULL;
	char file[4096], org[1100];
	int found = 0;

	int r = reread_directive(fp, start, "$INCLUDE", args, sizeof(args));
	if (r < 0) {
		report(c, ZONE_DIAG_ERROR, path, line, "$INCLUDE: cannot re-read the directive");
		return;
	}
	tok = r ? strtok_r(args, " \t\r\n", &save) : NULL;
	if (tok) {
		snprintf(file, sizeof(file), "%s", tok);
		found = 1;
		tok = strtok_r(NULL, " \t\r\n", &save);
		org[0] = 0;
		if (tok) {
			snprintf(org, sizeof(org), "%s", tok);
			found = 2;
		}
	}
	if (!found) {
		report(c, ZONE_DIAG_ERROR, path, line, "$INCLUDE without a file name");
		return;
	}
	if (depth >= ZONE_INCLUDE_DEPTH_MAX) {
		report(c, ZONE_DIAG_ERROR, path, line, "$INCLUDE nested deeper than %d files",
		       ZONE_INCLUDE_DEPTH_MAX);
		return;
	}
	/* Strip quotes some writers put around the file name. */
	size_t fl = strlen(file);
	if (fl >= 2 && file[0] == '"' && file[fl - 1] == '"') {
		memmove(file, file + 1, fl - 2);
		file[fl - 2] = 0;
	}
	char full[8192];
	if (file[0] == '/') {
		snprintf(full, sizeof(full), "%s", file);
	} else {
		char dirbuf[4096];
		snprintf(dirbuf, sizeof(dirbuf), "%s", path);
		snprintf(full, sizeof(full), "%s/%s", dirname(dirbuf), file);
	}
	ldns_rdf *inc_origin = NULL;
	if (found == 2) {
		if (ldns_str2rdf_dname(&inc_origin, org) != LDNS_STATUS_OK || !inc_origin) {
			report(c, ZONE_DIAG_ERROR, path, line, "$INCLUDE: bad origin '%s'", org);
			return;
		}
		if (!ldns_dname_str_absolute(org) && origin) {
			if (ldns_dname_cat(inc_origin, origin) != LDNS_STATUS_OK) {
				ldns_rdf_deep_free(inc_origin);
				report(c, ZONE_DIAG_ERROR, path, line, "$INCLUDE: origin too long");
				return;
			}
		}
	}
	FILE *inc = fopen(full, "r");
	if (!inc) {
		report(c, ZONE_DIAG_ERROR, path, line, "$INCLUDE %s: %s", full, strerror(errno));
		ldns_rdf_deep_free(inc_origin);
		return;
	}
	/* RFC 1035 §5.1: the included file starts with the given origin (or
	 * ours); whatever it changes does not leak back into this file. The
	 * $TTL, like BIND, carries into the included file only. */
	uint32_t inc_ttl = *default_ttl;
	load_fp(c, inc, full, inc_origin ? inc_origin : origin, &inc_ttl, depth + 1);
	fclose(inc);
	ldns_rdf_deep_free(inc_origin);
}

/* Where the entry that begins at or after `start` really begins: past
 * blank lines and comments. Returns its line; `lp` carries the count
 * forward, so a whole file costs one pass. */
struct linepos {
	size_t off;
	int line;
};

static int entry_line(struct linepos *lp, const char *d, size_t size, size_t start)
{
	size_t i = start;
	while (i < size) {
		if (d[i] == ';') {
			const char *eol = memchr(d + i, '\n', size - i);
			i = eol ? (size_t)(eol - d) : size;
		} else if (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n') {
			i++;
		} else {
			break;
		}
	}
	if (i < lp->off)
		return lp->line; /* never goes back */
	for (const char *p = d + lp->off; (p = memchr(p, '\n', (size_t)(d + i - p))) != NULL; p++)
		lp->line++;
	lp->off = i;
	return lp->line;
}

static void ttl_before(const struct ttl_state *t, uint32_t *default_ttl)
{
	if (!t->directive)
		*default_ttl = TTL_UNSET;
}

/* After an entry: `ttl` is the record's TTL (NULL when it was not one). */
static void ttl_after(struct ttl_state *t, ldns_status st, uint32_t *ttl)
{
	if (st == LDNS_STATUS_SYNTAX_TTL)
		t->directive = true;
	if (st != LDNS_STATUS_OK || !ttl || t->directive)
		return;
	if (*ttl == TTL_UNSET) {
		*ttl = t->have_last ? t->last : TTL_FALLBACK;
	} else {
		t->last = *ttl;
		t->have_last = true;
	}
}

/* ---------------------------------------------------------------- reading
 *
 * ldns reads a zone file entry by entry (ldns_rr_new_frm_fp_l): it
 * gathers an entry's text one getc at a time, minding parentheses,
 * quotes, escapes and comments, then parses that text with
 * ldns_rr_new_frm_str, which tokenizes it again. Most lines of a big zone
 * are one record on one line with none of those. For such a line the
 * text ldns would gather is the line itself, up to a comment, with its
 * trailing blanks stripped as ldns_strip_ws does; the reader hands it to
 * ldns_rr_new_frm_str directly, which saves a third of the parse time, or
 * when the type's fields are single tokens (A, AAAA, NS, MX, ...) splits it
 * itself and has ldns convert each token (zone_line.c), which saves
 * another third.
 * ldns's reader takes a CR for a blank, and so does this one. Every other
 * entry goes to ldns's own reader, from the same place: a directive ($
 * first), parentheses, quotes, backslashes, FF, VT or NUL, the last line
 * when it has no newline, a line over ldns's limit.
 * SHOAL_LDNS_READER=1 in the environment sends every entry there (the
 * tests load both ways and compare). */

struct reader {
	char *d;		/* our copy of the text: see class_ttl_order */
	size_t size, pos;	/* pos: where the next entry starts */
	FILE *fp;		/* the same text, for ldns's reader */
	bool plain;		/* read plain lines ourselves */
	bool eof;		/* ldns's reader reached the end */
	int ldns_line;		/* ldns's count (ours comes from entry_line) */
	char text[LDNS_MAX_LINELEN + 1];
	bool fast;		/* the last record read is in `line` */
	struct zone_line line;	/* the record, when read without an ldns_rr */
};

/* The octets after which a line is not plain, or ends (newline, comment). */
static const bool line_stop[256] = {
	['\n'] = true, [';'] = true, ['('] = true, [')'] = true, ['"'] = true,
	['\\'] = true, ['\f'] = true, ['\v'] = true, [0] = true};

/* ldns's reader takes every CR for a blank (a CRLF line ends in one). */
static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int reader_open(struct reader *r, char *d, size_t size)
{
	r->d = d;
	r->size = size;
	r->pos = 0;
	r->eof = false;
	r->ldns_line = 1;
	r->plain = !getenv("SHOAL_LDNS_READER");
	r->fp = fmemopen((void *)d, size, "r");
	if (!r->fp)
		return -1;
	/* Only this thread reads it: ldns takes it one getc at a time, and
	 * stdio's lock around each was a fifth of the load time. */
	__fsetlocking(r->fp, FSETLOCKING_BYCALLER);
	return 0;
}

static void reader_close(struct reader *r)
{
	if (r->fp)
		fclose(r->fp);
	r->fp = NULL;
}

static bool reader_done(const struct reader *r)
{
	return r->eof || r->pos >= r->size;
}

/* The entry at r->pos when it is a plain line: 1, its text in r->text and
 * r->pos past the line; 0 when the line holds only blanks or a comment
 * (skipped, as ldns does); -1 when ldns's reader must take the entry. */
static int plain_line(struct reader *r)
{
	const char *p = r->d + r->pos, *end = r->d + r->size, *q = p;
	if (*p == '$')
		return -1;
	while (q < end && !line_stop[(unsigned char)*q])
		q++;
	if (q == end)
		return -1; /* the last line, without a newline */
	const char *text_end = q;
	if (*q == ';') {
		q = memchr(q, '\n', (size_t)(end - q));
		if (!q)
			return -1;
	} else if (*q != '\n') {
		return -1;
	}
	size_t n = (size_t)(text_end - p);
	if (n >= LDNS_MAX_LINELEN)
		return -1;
	/* ldns_strip_ws: blanks at the end go, unless fewer than three
	 * octets follow the leading blanks; leading blanks stay (they mean
	 * "the previous owner"). */
	const char *s = p;
	while (s < text_end && blank(*s))
		s++;
	q++;
	if (text_end == p) {
		/* an empty line, or a comment from the first column: ldns
		 * reads on into the next line as if it started there */
		r->pos = (size_t)(q - r->d);
		return 0;
	}
	/* Anything else, blanks included, ends an entry, after which ldns
	 * skips newlines, CRs, FFs and VTs (ldns_fskipcs_l): even those
	 * that start the next line. */
	while (q < end && (*q == '\n' || *q == '\r' || *q == '\f' || *q == '\v'))
		q++;
	r->pos = (size_t)(q - r->d);
	if (s == text_end)
		return 0; /* only blanks: ldns_strip_ws leaves nothing */
	while (text_end > s + 2 && blank(text_end[-1]))
		text_end--;
	n = (size_t)(text_end - p);
	memcpy(r->text, p, n);
	r->text[n] = 0;
	for (char *cr = r->text; (cr = memchr(cr, '\r', (size_t)(r->text + n - cr))) != NULL;)
		*cr++ = ' ';
	return 1;
}

/* RFC 1035 §5.1 lets the class come before the TTL ("www IN 3600 A ..."),
 * and BIND, Knot and NSD read it so; ldns takes only the TTL first (it
 * reads "3600" as the type and fails). For the entry at `pos` (after any
 * lines of blanks and comments), when the tokens after the owner are a
 * class and then a TTL, they are swapped in place, in our copy of the
 * text: the entry keeps its length and its lines, and ldns (or
 * zone_line_parse) reads "www 3600 IN A ...". Only tokens that end at a
 * blank (CR included, as ldns has it), or for the TTL the line, are
 * looked at; anything else is left to ldns as it is. Returns
 * whether it swapped. */
static bool class_ttl_order(char *d, size_t size, size_t pos)
{
	char *p = d + pos, *end = d + size;
	for (;;) { /* lines of blanks or a comment: ldns skips them */
		char *q = p;
		while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++;
		if (q < end && *q == ';' && !(q = memchr(q, '\n', (size_t)(end - q))))
			return false;
		if (q >= end || *q != '\n')
			break;
		p = q + 1;
	}
	if (p >= end || *p == '$')
		return false;
	/* owner (none when the line starts with a blank), class, TTL */
	char *tok[3];
	size_t len[3];
	int want = blank(*p) ? 2 : 3;
	for (int k = 0; k < want; k++) {
		while (p < end && blank(*p))
			p++;
		tok[k] = p;
		while (p < end && !line_stop[(unsigned char)*p] && !blank(*p))
			p++;
		len[k] = (size_t)(p - tok[k]);
		/* the class and the owner end at a blank; the TTL may end
		 * the line too (what follows is ldns's to judge) */
		bool last = k == want - 1;
		if (len[k] == 0 || (p < end && !blank(*p) && !(last && (*p == '\n' || *p == ';'))) ||
		    (p >= end && !last))
			return false;
	}
	char *c = tok[want - 2], *t = tok[want - 1];
	size_t cl = len[want - 2], tl = len[want - 1];
	/* a TTL starts with a digit, a type never does; class mnemonics are
	 * IN, CS, CH, HS, ANY, NONE and CLASSnnn (ldns decides) */
	if (!isdigit((unsigned char)t[0]) || tl > 32 ||
	    !(cl == 2 || cl == 3 || cl == 4 || (cl > 5 && cl < 16 && !strncasecmp(c, "CLASS", 5))))
		return false;
	char cbuf[16], tbuf[33];
	memcpy(cbuf, c, cl);
	cbuf[cl] = 0;
	if (ldns_get_rr_class_by_name(cbuf) == 0)
		return false;
	memcpy(tbuf, t, tl);
	size_t sep = (size_t)(t - (c + cl));
	memmove(c + tl, c + cl, sep);
	memcpy(c, tbuf, tl);
	memcpy(c + tl + sep, cbuf, cl);
	return true;
}

/* Nothing but blanks and comments in d[0..n). */
static bool only_blanks(const char *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (d[i] == ';') {
			const char *eol = memchr(d + i, '\n', n - i);
			if (!eol)
				return true;
			i = (size_t)(eol - d);
		} else if (!strchr(" \t\r\n\f\v", d[i]) || d[i] == 0) {
			return false;
		}
	}
	return true;
}

/* The next entry, as ldns_rr_new_frm_fp_l reports it (but see the end).
 * A record comes back in *rr, or with *rr NULL in r->line. */
static ldns_status reader_next(struct reader *r, ldns_rr **rr, uint32_t *default_ttl,
			       ldns_rdf **origin, ldns_rdf **prev)
{
	*rr = NULL;
	r->fast = false;
	if (r->plain) {
		int k = plain_line(r);
		if (k == 0)
			return LDNS_STATUS_SYNTAX_EMPTY;
		if (k > 0) {
			/* (a class before the TTL is never taken as it stands:
			 * only then is the line looked at again) */
			if (zone_line_parse(r->text, *default_ttl, *origin, prev, &r->line) ||
			    (class_ttl_order(r->text, strlen(r->text), 0) &&
			     zone_line_parse(r->text, *default_ttl, *origin, prev, &r->line))) {
				r->fast = true;
				return LDNS_STATUS_OK;
			}
			return ldns_rr_new_frm_str(rr, r->text, *default_ttl, *origin, prev);
		}
	}
	class_ttl_order(r->d, r->size, r->pos);
	if (fseek(r->fp, (long)r->pos, SEEK_SET) != 0) {
		r->eof = true;
		return LDNS_STATUS_FILE_ERR;
	}
	size_t start = r->pos;
	ldns_status s = ldns_rr_new_frm_fp_l(rr, r->fp, default_ttl, origin, prev, &r->ldns_line);
	long at = ftell(r->fp);
	r->pos = at < 0 ? r->size : (size_t)at;
	r->eof = feof(r->fp) || ferror(r->fp);
	/* ldns says "syntax error" at the end of the file both when only
	 * blanks and comments were left and when the last entry is bad:
	 * only the first is nothing. */
	if (s == LDNS_STATUS_SYNTAX_ERR && r->eof && only_blanks(r->d + start, r->size - start))
		return LDNS_STATUS_SYNTAX_EMPTY;
	return s;
}

static int load_fp(struct load_ctx *c, FILE *in, const char *path, ldns_rdf *origin_in,
		   uint32_t *default_ttl, int depth)
{
	ldns_rdf *origin = ldns_rdf_clone(origin_in);
	ldns_rdf *cur_origin = ldns_rdf_clone(origin_in); /* ours: ldns frees its own */
	ldns_rdf *prev = NULL;
	char *data = NULL;
	size_t size = 0, cap = 0, n;
	struct reader *rd = NULL;
	struct linepos lp = {0, 1};

	if (!origin || !cur_origin)
		goto nomem;
	/* The file in memory: ftell is free there (it is an lseek(2) on a
	 * file), and entry lines are counted from the text itself. */
	struct stat st;
	size_t first = 1u << 20;
	if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (1l << 40))
		first = (size_t)st.st_size + 65536 + 1; /* one read, then EOF */
	do {
		if (!data || size + 65536 > cap) {
			cap = data ? cap * 2 : first;
			char *nd = realloc(data, cap);
			if (!nd)
				goto nomem;
			data = nd;
		}
		n = fread(data + size, 1, cap - size, in);
		size += n;
	} while (n > 0);
	if (ferror(in)) {
		report(c, ZONE_DIAG_ERROR, path, 0, "read error: %s", strerror(errno));
		goto out;
	}
	if (size == 0)
		goto out;
	rd = malloc(sizeof(*rd));
	if (!rd || reader_open(rd, data, size) < 0)
		goto nomem;
	while (c->errors <= ZONE_ERRORS_MAX && !reader_done(rd)) {
		ldns_rr *rr = NULL;
		size_t start = rd->pos;
		ttl_before(&c->ttl, default_ttl);
		ldns_status s = reader_next(rd, &rr, default_ttl, &origin, &prev);
		/* At a $ORIGIN it cannot parse, ldns frees the origin and
		 * leaves none: the one in force before stays (an $INCLUDE
		 * needs one, and ldns_rdf_clone asserts on NULL). */
		if (!origin && !(origin = ldns_rdf_clone(cur_origin))) {
			ldns_rr_free(rr);
			goto nomem;
		}
		if (s != LDNS_STATUS_OK)
			ttl_after(&c->ttl, s, NULL);
		int at = entry_line(&lp, data, size, start);
		if (s == LDNS_STATUS_OK) {
			struct rec v;
			const char *err = rec_of(rr, rd->fast ? &rd->line : NULL, c->rdbuf, &v);
			ttl_after(&c->ttl, s, &v.ttl);
			if (err)
				report(c, ZONE_DIAG_ERROR, path, at, "%s", err);
			else
				add_raw(c, v.owner, NULL, v.type, v.cls, v.ttl, v.rdata, v.rdlen, path,
					at);
			ldns_rr_free(rr);
		} else if (s == LDNS_STATUS_SYNTAX_ORIGIN) {
			char arg[1100];
			if (origin_fixup(rd->fp, (long)start, &origin, &cur_origin, arg,
					 sizeof(arg)) < 0)
				report(c, ZONE_DIAG_ERROR, path, at, "$ORIGIN %s: name too long", arg);
		} else if (s == LDNS_STATUS_SYNTAX_EMPTY || s == LDNS_STATUS_SYNTAX_TTL) {
			/* blank line, comment, or a directive ldns applied */
		} else if (s == LDNS_STATUS_SYNTAX_INCLUDE) {
			do_include(c, rd->fp, (long)start, path, at, origin, default_ttl, depth);
		} else {
			ldns_rr_free(rr);
			report(c, ZONE_DIAG_ERROR, path, at, "%s", ldns_get_errorstr_by_id(s));
		}
	}
	if (c->errors > ZONE_ERRORS_MAX)
		c->diag(c->diag_ctx, ZONE_DIAG_ERROR, path, 0, "too many errors, stopped reading");
	goto out;
nomem:
	report(c, ZONE_DIAG_ERROR, path, 0, "out of memory");
out:
	if (rd)
		reader_close(rd);
	free(rd);
	free(data);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(cur_origin);
	ldns_rdf_deep_free(prev);
	return 0;
}

/* ---------------------------------------------------------------- parallel
 *
 * ldns parses about a million records per second and core; a big zone
 * file is therefore split at record boundaries into parts, four per
 * parser thread (one thread per CPU we may use): each thread takes the
 * next unparsed part until none is left, so a thread slowed down by a busy
 * CPU takes fewer. With one CPU there are no parser threads: this thread
 * parses each of 64 parts and then adds it, which still lets the table
 * build look ahead (below). This thread adds each part's records to the table as
 * soon as that part and all before it are parsed, in file order, so the
 * result (and every message, with its line) is the same as a serial load,
 * and building the table overlaps with parsing instead of following it.
 * Only files without $INCLUDE are split, and only at a line outside
 * parentheses and quotes that starts with an explicit owner; the $ORIGIN
 * and $TTL in force there are handed to the part's parser. */

#define PARALLEL_MIN_BYTES (4u << 20) /* smaller files load in well under 0.1 s */
#define PARALLEL_MAX_THREADS 16
#define PARALLEL_PARTS_PER_THREAD 4
#define PARALLEL_MAX_PARTS (PARALLEL_MAX_THREADS * PARALLEL_PARTS_PER_THREAD)

struct evbuf {
	uint8_t *p;
	size_t len, cap;
};

static int ev_put(struct evbuf *e, const void *d, size_t n)
{
	if (e->len + n > e->cap) {
		size_t nc = e->cap ? e->cap * 2 : (1u << 20);
		while (nc < e->len + n)
			nc *= 2;
		uint8_t *np = realloc(e->p, nc);
		if (!np)
			return -1;
		e->p = np;
		e->cap = nc;
	}
	memcpy(e->p + e->len, d, n);
	e->len += n;
	return 0;
}

enum { EV_RR = 1, EV_ERROR = 2 };

struct part {
	char *data;
	size_t len;
	int first_line;
	char origin[1100];	/* "" = the zone's origin */
	uint32_t ttl;		/* $TTL in force at the start (0: none yet) */
	const ldns_rdf *zone_origin;
	const atomic_bool *stop; /* the records are not wanted any more */
	struct evbuf ev;
	bool failed;		/* out of memory or an $INCLUDE: load serially */
	bool done;		/* parsed (or failed); under plan.mu */
};

/* What the parser threads share with the thread that adds. */
struct plan {
	struct part *parts;
	unsigned n;
	atomic_uint next;	/* the next part to parse */
	atomic_bool stop;	/* the adding thread gave up: parse no more */
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* a part is done */
};

static void part_error(struct part *pt, int line, const char *msg)
{
	uint8_t kind = EV_ERROR;
	uint16_t ml = (uint16_t)strlen(msg);
	if (ev_put(&pt->ev, &kind, 1) || ev_put(&pt->ev, &line, sizeof(line)) ||
	    ev_put(&pt->ev, &ml, 2) || ev_put(&pt->ev, msg, ml))
		pt->failed = true;
}

static void *part_parse(void *arg)
{
	struct part *pt = arg;
	struct reader *r = malloc(sizeof(*r));
	if (r && reader_open(r, pt->data, pt->len) < 0) {
		free(r);
		r = NULL;
	}
	ldns_buffer *rd = ldns_buffer_new(4096);
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = pt->ttl;
	struct linepos lp = {0, pt->first_line};
	struct ttl_state ts = {.directive = pt->ttl != 0};

	if (pt->origin[0]) {
		origin = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_DNAME, pt->origin);
	} else {
		origin = ldns_rdf_clone(pt->zone_origin);
	}
	ldns_rdf *cur = origin ? ldns_rdf_clone(origin) : NULL;
	if (!r || !rd || !origin || !cur) {
		pt->failed = true;
		goto out;
	}
	while (!pt->failed && !atomic_load_explicit(pt->stop, memory_order_relaxed) &&
	       !reader_done(r)) {
		ldns_rr *rr = NULL;
		size_t start = r->pos;
		ttl_before(&ts, &ttl);
		ldns_status st = reader_next(r, &rr, &ttl, &origin, &prev);
		/* as in load_fp: the origin before a bad $ORIGIN stays */
		if (!origin && !(origin = ldns_rdf_clone(cur))) {
			pt->failed = true; /* out of memory */
			ldns_rr_free(rr);
			break;
		}
		if (st != LDNS_STATUS_OK)
			ttl_after(&ts, st, NULL);
		int at = entry_line(&lp, pt->data, pt->len, start);
		if (st == LDNS_STATUS_OK) {
			struct rec v;
			const char *err = rec_of(rr, r->fast ? &r->line : NULL, rd, &v);
			ttl_after(&ts, st, &v.ttl);
			if (err) {
				part_error(pt, at, err);
			} else {
				uint8_t kind = EV_RR, ol = v.owner_len;
				/* the table's hash, here on a parser thread
				 * rather than on the thread that adds */
				uint8_t lname[DNAME_PADDED];
				struct dname_split sp;
				uint64_t hash = 0;
				if (dname_wire_len(v.owner, ol) == ol) {
					dname_lower_split(lname, v.owner, ol, &sp);
					hash = sp.hash[0];
				}
				if (ev_put(&pt->ev, &kind, 1) || ev_put(&pt->ev, &at, sizeof(at)) ||
				    ev_put(&pt->ev, &ol, 1) || ev_put(&pt->ev, v.owner, ol) ||
				    ev_put(&pt->ev, &hash, sizeof(hash)) ||
				    ev_put(&pt->ev, &v.type, 2) || ev_put(&pt->ev, &v.cls, 2) ||
				    ev_put(&pt->ev, &v.ttl, 4) || ev_put(&pt->ev, &v.rdlen, 2) ||
				    ev_put(&pt->ev, v.rdata, v.rdlen))
					pt->failed = true;
			}
			ldns_rr_free(rr);
		} else if (st == LDNS_STATUS_SYNTAX_ORIGIN) {
			char oarg[1100], msg[1200];
			if (origin_fixup(r->fp, (long)start, &origin, &cur, oarg, sizeof(oarg)) < 0) {
				snprintf(msg, sizeof(msg), "$ORIGIN %s: name too long", oarg);
				part_error(pt, at, msg);
			}
		} else if (st == LDNS_STATUS_SYNTAX_INCLUDE) {
			pt->failed = true; /* the planner saw none: be safe */
		} else if (st != LDNS_STATUS_SYNTAX_EMPTY && st != LDNS_STATUS_SYNTAX_TTL &&
			   st != LDNS_STATUS_SYNTAX_ORIGIN) {
			ldns_rr_free(rr);
			part_error(pt, at, ldns_get_errorstr_by_id(st));
		}
	}
out:
	if (r)
		reader_close(r);
	free(r);
	if (rd)
		ldns_buffer_free(rd);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(cur);
	ldns_rdf_deep_free(prev);
	return NULL;
}

static void *parser_main(void *arg)
{
	struct plan *pl = arg;
	for (;;) {
		unsigned i = atomic_fetch_add(&pl->next, 1);
		if (i >= pl->n)
			break;
		struct part *pt = &pl->parts[i];
		if (atomic_load(&pl->stop))
			pt->failed = true;
		else
			part_parse(pt);
		pthread_mutex_lock(&pl->mu);
		pt->done = true;
		pthread_cond_broadcast(&pl->cv);
		pthread_mutex_unlock(&pl->mu);
	}
	return NULL;
}

/* Records the table build looks ahead (load_parallel): enough to cover a
 * memory access while as many records are added. */
#define PREFETCH_AHEAD 8

/* One event of a part's stream (part_parse writes them), decoded. */
struct event {
	uint8_t kind;		/* EV_RR or EV_ERROR */
	int line;
	const uint8_t *data;	/* EV_RR: the owner; EV_ERROR: the message */
	uint16_t len;		/* octets at data */
	uint64_t hash;		/* EV_RR: dname_hash() of the owner lowercased */
	uint16_t type, cls, rdlen; /* EV_RR */
	uint32_t ttl;
	const uint8_t *rdata;
};

/* Decode the event at `p`; returns the next one. */
static const uint8_t *ev_read(const uint8_t *p, struct event *e)
{
	e->kind = *p++;
	memcpy(&e->line, p, sizeof(e->line));
	p += sizeof(e->line);
	if (e->kind == EV_ERROR) {
		memcpy(&e->len, p, 2);
		e->data = p + 2;
		return e->data + e->len;
	}
	e->len = *p++;
	e->data = p;
	p += e->len;
	memcpy(&e->hash, p, sizeof(e->hash));
	p += sizeof(e->hash);
	memcpy(&e->type, p, 2);
	memcpy(&e->cls, p + 2, 2);
	memcpy(&e->ttl, p + 4, 4);
	memcpy(&e->rdlen, p + 8, 2);
	e->rdata = p + 10;
	return e->rdata + e->rdlen;
}

/* Prefetch for the event at `p` (an RR's owner; errors are skipped over);
 * returns the next event. */
static const uint8_t *ev_prefetch(struct zone_builder *b, const uint8_t *p, const uint8_t *end)
{
	struct event e;
	if (p >= end)
		return end;
	p = ev_read(p, &e);
	if (e.kind == EV_RR)
		zone_builder_prefetch_hash(b, e.hash);
	return p;
}

/* The argument of a directive line: after the keyword, up to a comment. */
static void directive_arg(const char *p, const char *end, char *out, size_t size)
{
	while (p < end && *p != ' ' && *p != '\t')
		p++; /* the keyword */
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	size_t n = 0;
	while (p < end && *p != '\n' && *p != ';' && n + 1 < size)
		out[n++] = *p++;
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t' || out[n - 1] == '\r'))
		n--;
	out[n] = 0;
}

/* Find split points. Returns the number of parts (1: do not split). */
static unsigned plan_parts(char *d, size_t size, unsigned want, struct part *parts,
			   const char *zone_origin)
{
	/* The octets that change the scanner's state; the 32 MB of a big
	 * file are mostly others, skipped in a tight loop. */
	static const bool special[256] = {['\\'] = true, ['"'] = true, [';'] = true,
					  ['('] = true, [')'] = true, ['\n'] = true};
	int depth = 0, line = 1;
	bool quote = false, at_line_start = true;
	char origin[1100];
	snprintf(origin, sizeof(origin), "%s", zone_origin);
	uint32_t ttl = 0;
	unsigned n = 1;
	parts[0].data = d;
	parts[0].first_line = 1;
	parts[0].origin[0] = 0;
	parts[0].ttl = 0;
	for (size_t i = 0; i < size; i++) {
		char ch = d[i];
		if (at_line_start && depth == 0 && !quote) {
			at_line_start = false;
			if (ch == '$') {
				const char *eol = memchr(d + i, '\n', size - i);
				const char *end = eol ? eol : d + size;
				if (!strncmp(d + i, "$ORIGIN", 7)) {
					char arg[1100], tmp[2300];
					directive_arg(d + i, end, arg, sizeof(arg));
					if (ldns_dname_str_absolute(arg) || !strcmp(arg, "@"))
						snprintf(origin, sizeof(origin), "%s", arg);
					else {
						/* relative to the origin in force */
						snprintf(tmp, sizeof(tmp), "%s%s%s", arg,
							 strcmp(origin, ".") ? "." : "",
							 strcmp(origin, ".") ? origin : ".");
						size_t tl = strlen(tmp);
						if (tl >= sizeof(origin))
							return 1;
						memcpy(origin, tmp, tl + 1);
					}
				} else if (!strncmp(d + i, "$TTL", 4)) {
					char arg[64];
					const char *ep;
					directive_arg(d + i, end, arg, sizeof(arg));
					ttl = ldns_str2period(arg, &ep);
				} else {
					return 1; /* $INCLUDE or unknown: serial */
				}
			} else if (n < want && ttl != 0 && i >= size / want * n && ch != ' ' && ch != '\t' &&
				   ch != ';' && ch != '\n' && ch != '\r') {
				parts[n - 1].len = i - (size_t)(parts[n - 1].data - d);
				parts[n].data = d + i;
				parts[n].first_line = line;
				snprintf(parts[n].origin, sizeof(parts[n].origin), "%s", origin);
				parts[n].ttl = ttl;
				n++;
			}
		}
		if (!special[(unsigned char)ch]) {
			/* most octets: skip to the next one that matters */
			while (i + 1 < size && !special[(unsigned char)d[i + 1]])
				i++;
			continue;
		}
		if (ch == '\\' && i + 1 < size && d[i + 1] != '\n') {
			i++; /* escaped octet */
			continue;
		}
		if (ch == '"') {
			quote = !quote;
		} else if (!quote && ch == ';') {
			const char *eol = memchr(d + i, '\n', size - i);
			if (!eol)
				break;
			i = (size_t)(eol - d) - 1; /* the newline is seen next */
		} else if (!quote && ch == '(') {
			depth++;
		} else if (!quote && ch == ')') {
			depth--;
		} else if (ch == '\n') {
			line++;
			at_line_start = true;
			if (depth < 0)
				return 1; /* unbalanced: let the serial parser explain */
		}
	}
	parts[n - 1].len = size - (size_t)(parts[n - 1].data - d);
	return n;
}

/* Try a parallel load of `data`. Returns false when it was not attempted
 * (the caller loads serially); true when every record went to the builder. */
static bool load_parallel(struct load_ctx *c, const char *path, char *data, size_t size,
			  const ldns_rdf *origin)
{
	/* the CPUs this process may run on (taskset, cgroups), not the machine's */
	cpu_set_t set;
	long ncpu = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
								  : sysconf(_SC_NPROCESSORS_ONLN);
	unsigned nthreads = ncpu > PARALLEL_MAX_THREADS ? PARALLEL_MAX_THREADS
							 : (unsigned)(ncpu > 0 ? ncpu : 1);
	if (size < PARALLEL_MIN_BYTES || getenv("SHOAL_SERIAL_LOAD"))
		return false;
	/* One CPU: no parser threads; this thread parses each part, then
	 * adds it, with the same look-ahead. Small parts keep a part's
	 * events in cache between the two. */
	if (nthreads < 2)
		nthreads = 0;
	struct plan pl = {.parts = calloc(PARALLEL_MAX_PARTS, sizeof(struct part))};
	pthread_t th[PARALLEL_MAX_THREADS];
	unsigned started = 0;
	bool ok = false;
	char *ztext = ldns_rdf2str(origin);
	if (!pl.parts || !ztext) {
		free(pl.parts);
		free(ztext);
		return false;
	}
	pl.n = plan_parts(data, size, nthreads ? nthreads * PARALLEL_PARTS_PER_THREAD : PARALLEL_MAX_PARTS,
			  pl.parts, ztext);
	free(ztext);
	if (pl.n < 2) {
		free(pl.parts);
		return false;
	}
	atomic_init(&pl.next, 0);
	atomic_init(&pl.stop, false);
	pthread_mutex_init(&pl.mu, NULL);
	pthread_cond_init(&pl.cv, NULL);
	for (unsigned i = 0; i < pl.n; i++) {
		pl.parts[i].zone_origin = origin;
		pl.parts[i].stop = &pl.stop;
	}
	for (unsigned t = 0; t < nthreads; t++) {
		if (pthread_create(&th[started], NULL, parser_main, &pl) != 0)
			break; /* fewer threads: each takes more parts */
		started++;
	}
	ok = true;
	for (unsigned i = 0; ok && i < pl.n && c->errors <= ZONE_ERRORS_MAX; i++) {
		struct part *pt = &pl.parts[i];
		if (started == 0) {
			/* one CPU, or no thread could be started */
			part_parse(pt);
		} else {
			pthread_mutex_lock(&pl.mu);
			while (!pt->done)
				pthread_cond_wait(&pl.cv, &pl.mu);
			pthread_mutex_unlock(&pl.mu);
		}
		if (pt->failed) {
			ok = false;
			break;
		}
		const uint8_t *p = pt->ev.p, *end = p + pt->ev.len;
		/* A second cursor runs PREFETCH_AHEAD records ahead and warms
		 * the name table slot of each owner it passes: a new name's
		 * slot is a cache miss, one per name, otherwise waited for. */
		const uint8_t *ahead = p;
		for (unsigned k = 0; k < PREFETCH_AHEAD; k++)
			ahead = ev_prefetch(c->b, ahead, end);
		while (p < end && c->errors <= ZONE_ERRORS_MAX) {
			ahead = ev_prefetch(c->b, ahead, end);
			struct event e;
			p = ev_read(p, &e);
			if (e.kind == EV_ERROR)
				report(c, ZONE_DIAG_ERROR, path, e.line, "%.*s", (int)e.len,
				       (const char *)e.data);
			else
				add_raw(c, e.data, &e.hash, e.type, e.cls, e.ttl, e.rdata, e.rdlen, path,
					e.line);
		}
		if (started == 0 && i + 1 < pl.n) {
			/* the next part fills the same buffer: no new pages */
			pl.parts[i + 1].ev = pt->ev;
			pl.parts[i + 1].ev.len = 0;
		} else {
			free(pt->ev.p);
		}
		pt->ev.p = NULL;
	}
	/* Done, given up, or too many errors: the parsers stop early. */
	atomic_store(&pl.stop, true);
	for (unsigned t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	for (unsigned i = 0; i < pl.n; i++)
		free(pl.parts[i].ev.p);
	free(pl.parts);
	pthread_mutex_destroy(&pl.mu);
	pthread_cond_destroy(&pl.cv);
	if (c->errors > ZONE_ERRORS_MAX)
		c->diag(c->diag_ctx, ZONE_DIAG_ERROR, path, 0, "too many errors, stopped reading");
	/* the parser threads' malloc arenas hold freed memory: give it back */
	malloc_trim(0);
	return ok;
}

/* zone_dnssec_check's findings, as warnings on the file (line 0: the
 * checks see the built zone, where records no longer know their lines). */
struct check_ctx {
	struct load_ctx *c;
	const char *path;
};

static void check_warn(void *ctx, const char *reason)
{
	struct check_ctx *k = ctx;
	report(k->c, ZONE_DIAG_WARNING, k->path, 0, "%s", reason);
}

/* ldns allocates and frees about 200 KiB for every record it parses
 * (three 64 KiB buffers and a 10 KiB line). When those land at the top of
 * the heap, glibc can hand the top back to the kernel after each free and
 * take it again at the next malloc (brk both ways, page faults after): a
 * one-CPU load of the 1.25M-record bench zone once took 16 s instead of
 * 1.4 s that way. Keeping 16 MiB at the top stops it for good (glibc's
 * default pad, 128 KiB, does not); what a load leaves is given back once
 * at its end (malloc_trim). */
static void malloc_policy_once(void)
{
	mallopt(M_TOP_PAD, 16 << 20);
}

static void malloc_policy(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, malloc_policy_once);
}

struct zone *zone_load_file(const char *path, const uint8_t *origin, zone_diag_fn diag,
			    void *ctx, unsigned *nerrors)
{
	struct load_ctx c = {.diag = diag ? diag : zone_diag_log, .diag_ctx = ctx};
	struct zone *z = NULL;
	ldns_rdf *org = NULL;
	FILE *fp = NULL;
	char msg[1024];
	uint32_t default_ttl = 0;

	size_t olen = dname_wire_len(origin, DNAME_MAX);
	malloc_policy();
	fp = fopen(path, "r");
	if (!fp) {
		report(&c, ZONE_DIAG_ERROR, path, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	c.b = zone_builder_new(origin);
	c.rdbuf = ldns_buffer_new(4096);
	org = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, olen, origin);
	if (!c.b || !c.rdbuf || !org) {
		report(&c, ZONE_DIAG_ERROR, path, 0, "out of memory");
		goto out;
	}
	setvbuf(fp, NULL, _IOFBF, 1 << 18);
	struct stat st;
	bool done = false;
	bool have_st = fstat(fileno(fp), &st) == 0;
	struct timespec t0;
	clock_gettime(CLOCK_REALTIME, &t0);
	/* About 64 octets of zone file per name (an A and an AAAA take 50):
	 * a big zone's table is then sized once or twice, not twenty times. */
	size_t names_hint = 0;
	if (have_st && S_ISREG(st.st_mode))
		names_hint = (size_t)st.st_size / 64;
	/* A hint: if that much cannot be had up front, the table grows. */
	(void)zone_builder_expect(c.b, names_hint);
	if (names_hint && (size_t)st.st_size >= PARALLEL_MIN_BYTES) {
		char *data = malloc((size_t)st.st_size);
		if (data && fread(data, 1, (size_t)st.st_size, fp) == (size_t)st.st_size) {
			done = load_parallel(&c, path, data, (size_t)st.st_size, org);
			if (!done) {
				/* Not split, or a part failed (out of memory, an
				 * $INCLUDE the planner did not see): start over
				 * serially. Messages already given for the parts
				 * before it are then given again. */
				c.errors = 0;
				zone_builder_free(c.b);
				c.b = zone_builder_new(origin);
				if (c.b)
					(void)zone_builder_expect(c.b, names_hint);
				if (!c.b) {
					free(data);
					report(&c, ZONE_DIAG_ERROR, path, 0, "out of memory");
					goto out;
				}
			}
		}
		free(data);
		rewind(fp);
	}
	if (!done)
		load_fp(&c, fp, path, org, &default_ttl, 0);
	if (c.errors == 0) {
		z = zone_builder_finish(c.b, msg, sizeof(msg));
		c.b = NULL;
		if (!z)
			report(&c, ZONE_DIAG_ERROR, path, 0, "%s", msg);
		else if (!(z->source = strdup(path))) {
			zone_free(z);
			z = NULL;
			report(&c, ZONE_DIAG_ERROR, path, 0, "out of memory");
		} else {
			struct check_ctx k = {.c = &c, .path = path};
			(void)zone_dnssec_check(z, time(NULL), zone_rrsig_expiry_warning(),
						check_warn, &k);
			z->loaded_at = t0;
			if (have_st) {
				z->file_dev = st.st_dev;
				z->file_ino = st.st_ino;
				z->file_size = st.st_size;
				z->file_mtime = st.st_mtim;
			}
		}
	}
out:
	if (nerrors)
		*nerrors = c.errors;
	zone_builder_free(c.b);
	if (c.rdbuf)
		ldns_buffer_free(c.rdbuf);
	ldns_rdf_deep_free(org);
	if (fp)
		fclose(fp);
	return z;
}
