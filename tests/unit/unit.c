/* unit.c: helpers shared by the unit tests. */
#include "unit.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns/query.h"

size_t ut_name(const char *text, uint8_t out[DNAME_MAX])
{
	ldns_rdf *d = NULL;
	ldns_status s = ldns_str2rdf_dname(&d, text);
	ck_assert_msg(s == LDNS_STATUS_OK && d, "bad test name '%s': %s", text,
		      ldns_get_errorstr_by_id(s));
	size_t len = ldns_rdf_size(d);
	ck_assert_uint_le(len, DNAME_MAX);
	memcpy(out, ldns_rdf_data(d), len);
	ldns_rdf_deep_free(d);
	return len;
}

/* ---------------------------------------------------------------- files */

void ut_tmpdir(char *out, size_t size)
{
	const char *t = getenv("TMPDIR");
	snprintf(out, size, "%s/shoal-unit-XXXXXX", t && *t ? t : "/tmp");
	ck_assert_msg(mkdtemp(out) != NULL, "mkdtemp %s: %s", out, strerror(errno));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void ut_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void ut_path(char *out, size_t size, const char *dir, const char *rel)
{
	int n = snprintf(out, size, "%s/%s", dir, rel);
	ck_assert(n > 0 && (size_t)n < size);
}

void ut_write(const char *dir, const char *rel, const char *text)
{
	ut_write_n(dir, rel, text, strlen(text));
}

void ut_write_n(const char *dir, const char *rel, const char *data, size_t len)
{
	char path[4096];
	ut_path(path, sizeof(path), dir, rel);
	/* create the parents of rel */
	for (char *s = path + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = 0;
		if (mkdir(path, 0700) < 0)
			ck_assert_msg(errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
		*s = '/';
	}
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

size_t ut_read(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	size_t n = fread(buf, 1, size - 1, f);
	buf[n] = 0;
	fclose(f);
	return n;
}

/* ---------------------------------------------------------------- diagnostics */

void ut_diag_fn(void *ctx, enum zone_diag_severity sev, const char *file, int line,
		const char *reason)
{
	struct ut_diag *d = ctx;
	if (sev == ZONE_DIAG_ERROR)
		d->errors++;
	else
		d->warnings++;
	if (d->n == UT_DIAG_MAX)
		return;
	struct ut_diag_entry *e = &d->e[d->n++];
	e->sev = sev;
	snprintf(e->file, sizeof(e->file), "%s", file);
	e->line = line;
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

const char *ut_diag_str(const struct ut_diag *d, unsigned i, char *buf, size_t size)
{
	ck_assert_uint_lt(i, d->n);
	snprintf(buf, size, "%s:%d: %s", d->e[i].file, d->e[i].line, d->e[i].reason);
	return buf;
}

void ut_diag_dump(const struct ut_diag *d)
{
	char b[3000];
	for (unsigned i = 0; i < d->n; i++)
		fprintf(stderr, "  diag %u [%s] %s\n", i,
			d->e[i].sev == ZONE_DIAG_ERROR ? "error" : "warning",
			ut_diag_str(d, i, b, sizeof(b)));
}

/* ---------------------------------------------------------------- zones */

struct zone *ut_zone_try(const char *origin, const char *const *rrs, char *msg, size_t msgsize)
{
	uint8_t apex[DNAME_MAX];
	ut_name(origin, apex);
	ldns_rdf *org = ldns_dname_new_frm_str(origin);
	ck_assert_ptr_nonnull(org);
	struct zone_builder *b = zone_builder_new(apex);
	ck_assert_ptr_nonnull(b);
	ldns_buffer *buf = ldns_buffer_new(65536);
	ck_assert_ptr_nonnull(buf);
	struct zone *z = NULL;
	for (size_t i = 0; rrs[i]; i++) {
		ldns_rr *rr = NULL;
		ldns_status s = ldns_rr_new_frm_str(&rr, rrs[i], 3600, org, NULL);
		ck_assert_msg(s == LDNS_STATUS_OK, "test record '%s': %s", rrs[i],
			      ldns_get_errorstr_by_id(s));
		ldns_buffer_clear(buf);
		ck_assert_int_eq(ldns_rr_rdata2buffer_wire(buf, rr), LDNS_STATUS_OK);
		enum zb_result r = zone_builder_add(
			b, ldns_rdf_data(ldns_rr_owner(rr)), (uint16_t)ldns_rr_get_type(rr),
			(uint16_t)ldns_rr_get_class(rr), ldns_rr_ttl(rr), ldns_buffer_begin(buf),
			(uint16_t)ldns_buffer_position(buf), msg, msgsize);
		ldns_rr_free(rr);
		if (r == ZB_ERROR) {
			zone_builder_free(b);
			goto out;
		}
	}
	z = zone_builder_finish(b, msg, msgsize);
out:
	ldns_buffer_free(buf);
	ldns_rdf_deep_free(org);
	return z;
}

struct zone *ut_zone(const char *origin, const char *const *rrs)
{
	char msg[1024] = "";
	struct zone *z = ut_zone_try(origin, rrs, msg, sizeof(msg));
	ck_assert_msg(z != NULL, "test zone %s did not build: %s", origin, msg);
	return z;
}

const struct node *ut_node(const struct zone *z, const char *name)
{
	uint8_t w[DNAME_MAX], l[DNAME_MAX];
	size_t len = ut_name(name, w);
	dname_lower(l, w, len);
	return zone_find(z, l, len, dname_hash(l, len));
}

const struct node *ut_above(const struct zone *z, const char *name)
{
	uint8_t w[DNAME_MAX], l[DNAME_PADDED];
	size_t len = ut_name(name, w);
	struct dname_split s;
	bool exact;
	dname_lower_split(l, w, len, &s);
	const struct node *n = zone_lookup(z, l, &s, &exact);
	return zone_above(z, l, &s, n);
}

/* ---------------------------------------------------------------- queries */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

size_t ut_query_wire(const struct ut_q *spec, uint8_t *buf, size_t size)
{
	ldns_rdf *qn = NULL;
	ck_assert_int_eq(ldns_str2rdf_dname(&qn, spec->name), LDNS_STATUS_OK);
	ldns_pkt *p = ldns_pkt_query_new(qn, spec->type ? spec->type : LDNS_RR_TYPE_A,
					 spec->qclass ? spec->qclass : LDNS_RR_CLASS_IN, 0);
	ck_assert_ptr_nonnull(p);
	ldns_pkt_set_id(p, spec->id);
	ldns_pkt_set_opcode(p, spec->opcode);
	ldns_pkt_set_rd(p, spec->rd);
	ldns_pkt_set_cd(p, spec->cd);
	ldns_pkt_set_ad(p, spec->ad);
	ldns_pkt_set_ra(p, spec->ra);
	uint8_t *w = NULL;
	size_t len = 0;
	ck_assert_int_eq(ldns_pkt2wire(&w, p, &len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	ck_assert_uint_le(len + 32 + 4 + spec->cookie_len, size);
	memcpy(buf, w, len);
	free(w);
	if (spec->edns) {
		/* RFC 6891 §6.1.2, written by hand so every field is ours */
		uint8_t *o = buf + len;
		o[0] = 0;
		put16(o + 1, LDNS_RR_TYPE_OPT);
		put16(o + 3, spec->edns_size ? spec->edns_size : EDNS_SIZE_DEFAULT);
		o[5] = 0;
		o[6] = spec->edns_version;
		o[7] = spec->do_bit ? 0x80 : 0;
		o[8] = 0;
		put16(o + 9, (uint16_t)((spec->nsid ? 4 : 0) +
					(spec->cookie_len ? 4 + spec->cookie_len : 0)));
		len += 11;
		if (spec->nsid) {
			put16(buf + len, EDNS_OPT_NSID);
			put16(buf + len + 2, 0);
			len += 4;
		}
		if (spec->cookie_len) {
			put16(buf + len, EDNS_OPT_COOKIE);
			put16(buf + len + 2, spec->cookie_len);
			memcpy(buf + len + 4, spec->cookie, spec->cookie_len);
			len += 4u + spec->cookie_len;
		}
		put16(buf + 10, (uint16_t)(((buf[10] << 8) | buf[11]) + 1));
	}
	return len;
}
