/*
 * check_parallel_load.c - a zone file big enough to be parsed in parallel
 * parts (zone_load.c) must give exactly the table, and exactly the
 * messages, of the serial load (SHOAL_SERIAL_LOAD=1): $TTL and $ORIGIN
 * changing along the file, records over several lines, quotes holding ';'
 * and '(', escaped quotes, blank owners, and errors with their lines.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zone/zone_load.h"

struct diag_log {
	char *text;
	size_t len;
	FILE *f;
};

static void diag_cap(void *ctx, enum zone_diag_severity sev, const char *file, int line,
		     const char *reason)
{
	struct diag_log *d = ctx;
	(void)file;
	fprintf(d->f, "%d:%d:%s\n", (int)sev, line, reason);
}

static unsigned differences(const struct zone *a, const struct zone *b)
{
	unsigned diff = 0;
	for (size_t i = 0; i <= a->mask; i++) {
		const struct node *n = zone_slot_at(a, i)->node;
		if (!n)
			continue;
		const struct node *m = zone_find(b, n->name, n->name_len, n->hash);
		if (!m || m->nrrsets != n->nrrsets || m->flags != n->flags) {
			diff++;
			continue;
		}
		for (unsigned k = 0; k < n->nrrsets; k++)
			diff += n->rrsets[k].type != m->rrsets[k].type ||
				n->rrsets[k].wire_len != m->rrsets[k].wire_len ||
				memcmp(n->rrsets[k].wire, m->rrsets[k].wire, n->rrsets[k].wire_len) != 0;
	}
	return diff;
}

static struct zone *load(const char *path, bool serial, struct diag_log *d)
{
	uint8_t origin[DNAME_MAX];
	ck_assert_uint_gt(zone_origin_from_path(path, origin), 0);
	if (serial)
		setenv("SHOAL_SERIAL_LOAD", "1", 1);
	else
		unsetenv("SHOAL_SERIAL_LOAD");
	d->f = open_memstream(&d->text, &d->len);
	struct zone *z = zone_load_file(path, origin, diag_cap, d, NULL);
	fclose(d->f);
	return z;
}

static void write_zone(const char *path, bool with_errors)
{
	FILE *f = fopen(path, "w");
	ck_assert(f != NULL);
	fprintf(f, "$TTL 300\n@ SOA ns1 host ( 1 7200\n 3600 1209600 300 )\n@ NS ns1\nns1 A 10.0.0.1\n");
	for (int i = 0; i < 150000; i++) {
		if (i % 50000 == 0)
			fprintf(f, "$TTL %d ; a new default\n", 100 + i / 50000);
		if (i % 70000 == 1)
			fprintf(f, "$ORIGIN sub%d.par.test.\n", i / 70000);
		switch (i % 1000) {
		case 5:
			fprintf(f, "t%d TXT ( \"a ; not a comment\" \"b(\" ) ; comment \" quote\n", i);
			break;
		case 6:
			fprintf(f, "m%d MX ( 10\n  mail%d )\n", i, i);
			break;
		case 7:
			if (with_errors)
				fprintf(f, "bad%d A 300.1.1.1\n", i);
			break;
		case 8:
			fprintf(f, "   A 10.1.1.1 ; blank owner\n");
			break;
		case 9:
			fprintf(f, "e%d TXT \"esc\\\"aped ( paren\"\n", i);
			break;
		default:
			fprintf(f, "h%d A 10.%d.%d.%d\nh%d AAAA ::%x\n", i, (i >> 16) & 255,
				(i >> 8) & 255, i & 255, i, i & 0xffff);
		}
	}
	fclose(f);
}

START_TEST(test_parallel_equals_serial)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	ck_assert_int_eq(harness_tmpdir(dir, sizeof(dir), "parload"), 0);
	snprintf(path, sizeof(path), "%s/par.test.zone", dir);
	write_zone(path, false);
	struct diag_log dp = {0}, ds = {0};
	struct zone *p = load(path, false, &dp), *s = load(path, true, &ds);
	ck_assert_msg(p && s, "load failed:\n%s", dp.text);
	ck_assert_uint_gt(p->nrecords, 250000);
	ck_assert_uint_eq(p->nrecords, s->nrecords);
	ck_assert_uint_eq(p->nnodes, s->nnodes);
	ck_assert_uint_eq(differences(p, s), 0);
	ck_assert_uint_eq(differences(s, p), 0);
	ck_assert_str_eq(dp.text, ds.text);
	zone_free(p);
	zone_free(s);
	free(dp.text);
	free(ds.text);

	/* with errors: the same messages at the same lines, and no zone */
	write_zone(path, true);
	memset(&dp, 0, sizeof(dp));
	memset(&ds, 0, sizeof(ds));
	p = load(path, false, &dp);
	s = load(path, true, &ds);
	ck_assert(!p && !s);
	ck_assert_msg(strstr(dp.text, "could not parse"), "%s", dp.text);
	ck_assert_str_eq(dp.text, ds.text);
	free(dp.text);
	free(ds.text);
	harness_rmtree(dir);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {test_parallel_equals_serial, NULL};
	struct harness_suite s = {.name = "parallel_load", .timeout_s = 120, .without_shoal = true,
				  .tests = tests};
	return harness_suite_main(&s);
}
