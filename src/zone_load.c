/* zone_load.c: zone files → zone table, record by record with ldns. */
#include "zone_load.h"

#include <errno.h>
#include <ldns/ldns.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "log.h"

struct load_ctx {
	struct zone_builder *b;
	zone_diag_fn diag;
	void *diag_ctx;
	unsigned errors;
	ldns_buffer *rdbuf;
};

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

static void add_rr(struct load_ctx *c, const ldns_rr *rr, const char *file, int line)
{
	char msg[1024];
	const ldns_rdf *owner = ldns_rr_owner(rr);
	ldns_buffer_clear(c->rdbuf);
	if (ldns_rr_rdata2buffer_wire(c->rdbuf, rr) != LDNS_STATUS_OK) {
		report(c, ZONE_DIAG_ERROR, file, line, "cannot encode the record's rdata");
		return;
	}
	size_t rdlen = ldns_buffer_position(c->rdbuf);
	if (rdlen > UINT16_MAX) {
		report(c, ZONE_DIAG_ERROR, file, line, "rdata longer than 65535 octets");
		return;
	}
	if (!owner || ldns_rdf_get_type(owner) != LDNS_RDF_TYPE_DNAME) {
		report(c, ZONE_DIAG_ERROR, file, line, "record without an owner name");
		return;
	}
	enum zb_result r = zone_builder_add(c->b, ldns_rdf_data(owner), (uint16_t)ldns_rr_get_type(rr),
					    (uint16_t)ldns_rr_get_class(rr), ldns_rr_ttl(rr),
					    ldns_buffer_begin(c->rdbuf), (uint16_t)rdlen, msg,
					    sizeof(msg));
	if (r == ZB_ERROR)
		report(c, ZONE_DIAG_ERROR, file, line, "%s", msg);
	else if (r == ZB_WARN)
		report(c, ZONE_DIAG_WARNING, file, line, "%s", msg);
}

static int load_fp(struct load_ctx *c, FILE *fp, const char *path, ldns_rdf *origin_in,
		   uint32_t *default_ttl, int depth);

/* Does the file mention $INCLUDE at all? Only then does the loader need
 * each entry's start offset, and ftell(3) on a read stream costs an
 * lseek(2) per record: a tenth of the load time of a big zone. */
static bool has_include(FILE *fp)
{
	static const char key[] = "$INCLUDE";
	char buf[65536 + sizeof(key)];
	size_t keep = 0, n;
	bool found = false;
	while (!found && (n = fread(buf + keep, 1, sizeof(buf) - keep, fp)) > 0) {
		found = memmem(buf, keep + n, key, sizeof(key) - 1) != NULL;
		/* keep the tail: a match may straddle two reads */
		size_t tail = sizeof(key) - 2;
		if (keep + n > tail) {
			memmove(buf, buf + keep + n - tail, tail);
			keep = tail;
		} else {
			keep += n;
		}
	}
	rewind(fp);
	return found;
}

/* ldns reports $INCLUDE (LDNS_STATUS_SYNTAX_INCLUDE) but keeps its argument
 * to itself, so re-read the directive line from where the entry began: it
 * is a one-line directive, `$INCLUDE file [origin] [; comment]`. */
static void do_include(struct load_ctx *c, FILE *fp, long start, const char *path, int line,
		       ldns_rdf *origin, uint32_t *default_ttl, int depth)
{
	char *buf = NULL, *tok, *save = NULL;
	size_t cap = 0;
	char file[4096], org[1100];
	int found = 0;

	if (fseek(fp, start, SEEK_SET) != 0) {
		report(c, ZONE_DIAG_ERROR, path, line, "$INCLUDE: cannot re-read the directive");
		return;
	}
	while (getline(&buf, &cap, fp) > 0) {
		char *s = buf + strspn(buf, " \t\r\n");
		if (*s == 0 || *s == ';')
			continue;
		if (strncasecmp(s, "$INCLUDE", 8) == 0) {
			char *semi = strchr(s, ';');
			if (semi)
				*semi = 0;
			strtok_r(s, " \t\r\n", &save);
			tok = strtok_r(NULL, " \t\r\n", &save);
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
		}
		break;
	}
	free(buf);
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

static int load_fp(struct load_ctx *c, FILE *fp, const char *path, ldns_rdf *origin_in,
		   uint32_t *default_ttl, int depth)
{
	ldns_rdf *origin = ldns_rdf_clone(origin_in);
	ldns_rdf *prev = NULL;
	int line = 1;
	bool includes = has_include(fp);

	while (c->errors <= ZONE_ERRORS_MAX) {
		ldns_rr *rr = NULL;
		long start = includes ? ftell(fp) : 0;
		ldns_status s = ldns_rr_new_frm_fp_l(&rr, fp, default_ttl, &origin, &prev, &line);
		/* ldns leaves line_nr one past the entry's last line. */
		int at = line > 1 ? line - 1 : 1;
		if (s == LDNS_STATUS_OK) {
			add_rr(c, rr, path, at);
			ldns_rr_free(rr);
		} else if (s == LDNS_STATUS_SYNTAX_EMPTY || s == LDNS_STATUS_SYNTAX_TTL ||
			   s == LDNS_STATUS_SYNTAX_ORIGIN) {
			/* blank line, comment, or a directive ldns applied */
		} else if (s == LDNS_STATUS_SYNTAX_INCLUDE) {
			do_include(c, fp, start, path, at, origin, default_ttl, depth);
		} else {
			ldns_rr_free(rr);
			if (feof(fp) && s == LDNS_STATUS_SYNTAX_ERR)
				break; /* end of file after a comment or blank line */
			report(c, ZONE_DIAG_ERROR, path, at, "%s", ldns_get_errorstr_by_id(s));
		}
		if (feof(fp))
			break;
		if (ferror(fp)) {
			report(c, ZONE_DIAG_ERROR, path, at, "read error: %s", strerror(errno));
			break;
		}
	}
	if (c->errors > ZONE_ERRORS_MAX)
		c->diag(c->diag_ctx, ZONE_DIAG_ERROR, path, 0, "too many errors, stopped reading");
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	return 0;
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
