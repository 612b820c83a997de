/* check_catalog.c: generated catalog zones (xfr/catalog.c).
 *
 * The content for 0, 1 and several members, with and without groups, read
 * back with zone_load_file; member ids stable (a known value), distinct and
 * in order; the file untouched (inode, mtime, octets) when nothing but the
 * clock changed; the serial moves on when a member is added, removed or
 * regrouped, follows the clock, continues from the file's serial after a
 * "restart" when the clock is behind it (+1, RFC 1982), and never goes back;
 * a write that fails leaves the old file; the configuration keys. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ops/conf.h"
#include "unit.h"
#include "xfr/catalog.h"
#include "zone/zone.h"
#include "zone/zone_load.h"

static char g_dir[4096], g_path[4096];
static uint8_t g_cat[DNAME_MAX];
static size_t g_cat_len;

static void setup(void)
{
	ut_tmpdir(g_dir, sizeof(g_dir));
	ut_path(g_path, sizeof(g_path), g_dir, "cat.test.zone");
	g_cat_len = ut_name("cat.test.", g_cat);
}

static void teardown(void)
{
	ut_rmtree(g_dir);
}

/* Members by presentation name; names kept in static storage. */
struct set {
	uint8_t names[8][DNAME_MAX];
	struct catalog_member m[8];
	size_t n;
};

static void add(struct set *s, const char *name, const char *group)
{
	ck_assert_uint_lt(s->n, 8);
	size_t l = ut_name(name, s->names[s->n]);
	s->m[s->n] = (struct catalog_member){.apex = s->names[s->n], .apex_len = l, .group = group};
	s->n++;
}

static int update(const struct set *s, time_t now, uint32_t *serial)
{
	char why[512] = "";
	int r = catalog_update(g_path, g_cat, g_cat_len, s->m, s->n, now, serial, why, sizeof(why));
	if (r < 0)
		fprintf(stderr, "catalog_update: %s\n", why);
	return r;
}

static char *slurp(const char *path)
{
	static char buf[65536];
	ut_read(path, buf, sizeof(buf));
	return buf;
}

static struct zone *load(void)
{
	struct ut_diag d = {0};
	unsigned nerr = 0;
	struct zone *z = zone_load_file(g_path, g_cat, ut_diag_fn, &d, &nerr);
	if (!z)
		ut_diag_dump(&d);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(nerr, 0);
	return z;
}

static char *id_of(const char *name, char out[CATALOG_ID_LEN + 1])
{
	uint8_t w[DNAME_MAX];
	size_t l = ut_name(name, w);
	ck_assert_int_eq(catalog_member_id(w, l, out), 0);
	return out;
}

START_TEST(member_ids)
{
	char a[CATALOG_ID_LEN + 1], b[CATALOG_ID_LEN + 1], c[CATALOG_ID_LEN + 1];
	/* the first 8 octets of SHA-256 over the wire name 07example03com00
	 * (printf '\7example\3com\0' | sha256sum): the same on every run */
	ck_assert_str_eq(id_of("example.com.", a), "902e9c464fa43fca");
	/* lowercased before hashing: case does not change it */
	ck_assert_str_eq(id_of("EXAMPLE.com.", b), a);
	ck_assert_str_ne(id_of("example.net.", c), a);
	ck_assert_uint_eq(strlen(c), CATALOG_ID_LEN);
	for (const char *p = c; *p; p++)
		ck_assert(strchr("0123456789abcdef", *p));
}
END_TEST

START_TEST(empty)
{
	struct set s = {0};
	uint32_t serial = 0;
	ck_assert_int_eq(update(&s, 1700000000, &serial), CATALOG_WRITTEN);
	ck_assert_uint_eq(serial, 1700000000);
	const char *t = slurp(g_path);
	ck_assert_ptr_nonnull(strstr(t, "cat.test.\t0\tIN\tSOA\tinvalid. invalid. 1700000000 3600 "
	                                "600 2147483646 0\n"));
	ck_assert_ptr_nonnull(strstr(t, "cat.test.\t0\tIN\tNS\tinvalid.\n"));
	ck_assert_ptr_nonnull(strstr(t, "version.cat.test.\t0\tIN\tTXT\t\"2\"\n"));
	ck_assert_ptr_null(strstr(t, "PTR"));
	struct zone *z = load();
	ck_assert_uint_eq(z->serial, 1700000000);
	ck_assert_uint_eq(z->nrecords, 3);
	ck_assert_ptr_nonnull(ut_node(z, "version.cat.test."));
	zone_free(z);
}
END_TEST

START_TEST(one_member)
{
	struct set s = {0};
	add(&s, "example.com.", NULL);
	ck_assert_int_eq(update(&s, 1700000000, NULL), CATALOG_WRITTEN);
	char id[CATALOG_ID_LEN + 1], line[256];
	snprintf(line, sizeof(line), "%s.zones.cat.test.\t0\tIN\tPTR\texample.com.\n",
	         id_of("example.com.", id));
	const char *t = slurp(g_path);
	ck_assert_ptr_nonnull(strstr(t, line));
	ck_assert_ptr_null(strstr(t, "group."));
	struct zone *z = load();
	ck_assert_uint_eq(z->nrecords, 4);
	snprintf(line, sizeof(line), "%s.zones.cat.test.", id);
	ck_assert_ptr_nonnull(ut_node(z, line));
	zone_free(z);
}
END_TEST

START_TEST(several_with_groups)
{
	struct set s = {0};
	add(&s, "b.example.", "east");
	add(&s, "a.example.", NULL);
	add(&s, "c.example.", "with \"quotes\" and \\ and spaces");
	add(&s, "Odd\\.Name.example.", "g");
	ck_assert_int_eq(update(&s, 1700000000, NULL), CATALOG_WRITTEN);
	const char *t = slurp(g_path);
	/* in the order of their ids, whatever the order given */
	char ids[4][CATALOG_ID_LEN + 1];
	const char *names[4] = {"b.example.", "a.example.", "c.example.", "Odd\\.Name.example."};
	const char *pos[4];
	for (int i = 0; i < 4; i++) {
		char line[256];
		snprintf(line, sizeof(line), "%s.zones.cat.test.\t0\tIN\tPTR\t%s\n",
		         id_of(names[i], ids[i]), names[i]);
		ck_assert_msg((pos[i] = strstr(t, line)) != NULL, "no %s in\n%s", line, t);
		for (int k = 0; k < i; k++) {
			ck_assert_str_ne(ids[i], ids[k]);
			ck_assert_int_eq(strcmp(ids[i], ids[k]) < 0, pos[i] < pos[k]);
		}
	}
	char line[256];
	snprintf(line, sizeof(line), "group.%s.zones.cat.test.\t0\tIN\tTXT\t\"east\"\n", ids[0]);
	ck_assert_ptr_nonnull(strstr(t, line));
	snprintf(line, sizeof(line), "group.%s.zones", ids[1]);
	ck_assert_ptr_null(strstr(t, line));
	struct zone *z = load();
	ck_assert_uint_eq(z->nrecords, 3 + 4 + 3);
	zone_free(z);
	/* the same text whatever the order of the members */
	char *first = strdup(t);
	struct set r = {0};
	add(&r, "Odd\\.Name.example.", "g");
	add(&r, "c.example.", "with \"quotes\" and \\ and spaces");
	add(&r, "a.example.", NULL);
	add(&r, "b.example.", "east");
	char *again = NULL;
	size_t len = 0;
	ck_assert_int_eq(catalog_render(g_cat, g_cat_len, r.m, r.n, 1700000000, &again, &len), 0);
	ck_assert_str_eq(again, first);
	free(again);
	free(first);
	/* the group with quotes and a backslash reads back as written */
	ldns_rr *rr = NULL;
	snprintf(line, sizeof(line), "group.%s.zones.cat.test.", ids[2]);
	const char *g = strstr(t, line);
	ck_assert_ptr_nonnull(g);
	char one[512];
	snprintf(one, sizeof(one), "%.*s", (int)(strchr(g, '\n') - g), g);
	ck_assert_int_eq(ldns_rr_new_frm_str(&rr, one, 0, NULL, NULL), LDNS_STATUS_OK);
	ldns_rdf *rd = ldns_rr_rdf(rr, 0);
	ck_assert_uint_eq(ldns_rdf_data(rd)[0], strlen("with \"quotes\" and \\ and spaces"));
	ck_assert_int_eq(memcmp(ldns_rdf_data(rd) + 1, "with \"quotes\" and \\ and spaces",
	                        ldns_rdf_data(rd)[0]),
	                 0);
	ldns_rr_free(rr);
}
END_TEST

START_TEST(untouched_when_same)
{
	struct set s = {0};
	add(&s, "a.example.", "g1");
	add(&s, "b.example.", NULL);
	uint32_t serial = 0;
	ck_assert_int_eq(update(&s, 1700000000, &serial), CATALOG_WRITTEN);
	struct stat st1, st2;
	ck_assert_int_eq(stat(g_path, &st1), 0);
	char *before = strdup(slurp(g_path));
	sleep(1); /* a rewrite would show in the mtime */
	/* later, members in another order: nothing to write */
	struct set r = {0};
	add(&r, "b.example.", NULL);
	add(&r, "a.example.", "g1");
	ck_assert_int_eq(update(&r, 1700009999, &serial), CATALOG_UNCHANGED);
	ck_assert_uint_eq(serial, 1700000000);
	ck_assert_int_eq(stat(g_path, &st2), 0);
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	ck_assert_int_eq(st1.st_mtim.tv_sec, st2.st_mtim.tv_sec);
	ck_assert_int_eq(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
	ck_assert_str_eq(slurp(g_path), before);
	free(before);
}
END_TEST

START_TEST(serial_moves_on)
{
	struct set s = {0};
	uint32_t serial = 0, prev;
	add(&s, "a.example.", NULL);
	ck_assert_int_eq(update(&s, 1700000000, &serial), CATALOG_WRITTEN);
	/* added: the clock */
	prev = serial;
	add(&s, "b.example.", NULL);
	ck_assert_int_eq(update(&s, 1700000100, &serial), CATALOG_WRITTEN);
	ck_assert_uint_eq(serial, 1700000100);
	/* regrouped within the same second: + 1 */
	prev = serial;
	s.m[1].group = "new";
	ck_assert_int_eq(update(&s, 1700000100, &serial), CATALOG_WRITTEN);
	ck_assert_uint_eq(serial, prev + 1);
	/* group changed again, clock behind: + 1, never back */
	prev = serial;
	s.m[1].group = "newer";
	ck_assert_int_eq(update(&s, 1600000000, &serial), CATALOG_WRITTEN);
	ck_assert_uint_eq(serial, prev + 1);
	/* removed */
	prev = serial;
	s.n = 1;
	ck_assert_int_eq(update(&s, 1700000200, &serial), CATALOG_WRITTEN);
	ck_assert_uint_eq(serial, 1700000200);
	struct zone *z = load();
	ck_assert_uint_eq(z->serial, 1700000200);
	ck_assert_uint_eq(z->nrecords, 4);
	zone_free(z);
}
END_TEST

/* A "restart": a file left by an earlier run (any process) whose serial
 * is ahead of the clock, and one at the top of the 32-bit range. */
START_TEST(continues_from_file)
{
	struct set s = {0};
	add(&s, "a.example.", NULL);
	char *text = NULL;
	size_t len = 0;
	uint32_t ahead = 1700000000u + 1000000u;
	ck_assert_int_eq(catalog_render(g_cat, g_cat_len, s.m, s.n, ahead, &text, &len), 0);
	ut_write(g_dir, "cat.test.zone", text);
	free(text);
	uint32_t serial = 0;
	/* same members: left alone, its serial kept */
	ck_assert_int_eq(update(&s, 1700000000, &serial), CATALOG_UNCHANGED);
	ck_assert_uint_eq(serial, ahead);
	/* a member more: + 1 from the file's, not the clock */
	add(&s, "b.example.", NULL);
	ck_assert_int_eq(update(&s, 1700000000, &serial), CATALOG_WRITTEN);
	ck_assert_uint_eq(serial, ahead + 1);
	/* wrapping around 2^32 (RFC 1982): 4294967295 + 1 is 0 */
	ck_assert_int_eq(catalog_render(g_cat, g_cat_len, s.m, s.n, UINT32_MAX, &text, &len), 0);
	ut_write(g_dir, "cat.test.zone", text);
	free(text);
	s.n = 1;
	ck_assert_int_eq(update(&s, (time_t)UINT32_MAX - 5, &serial), CATALOG_WRITTEN);
	ck_assert_uint_eq(serial, 0);
	/* a file not ours (no SOA line we read): rewritten with the clock */
	ut_write(g_dir, "cat.test.zone", "garbage\n");
	ck_assert_int_eq(update(&s, 1700000000, &serial), CATALOG_WRITTEN);
	ck_assert_uint_eq(serial, 1700000000);
}
END_TEST

START_TEST(write_fails_keeps_old)
{
	struct set s = {0};
	add(&s, "a.example.", NULL);
	ck_assert_int_eq(update(&s, 1700000000, NULL), CATALOG_WRITTEN);
	char *before = strdup(slurp(g_path));
	if (geteuid() == 0) {
		/* root writes into a read-only folder: use a missing one */
		ut_path(g_path, sizeof(g_path), g_dir, "no/such/cat.test.zone");
	} else {
		ck_assert_int_eq(chmod(g_dir, 0500), 0);
	}
	add(&s, "b.example.", NULL);
	char why[512] = "";
	int r =
	    catalog_update(g_path, g_cat, g_cat_len, s.m, s.n, 1700000100, NULL, why, sizeof(why));
	ck_assert_int_lt(r, 0);
	ck_assert_ptr_nonnull(strstr(why, "open"));
	chmod(g_dir, 0700);
	ut_path(g_path, sizeof(g_path), g_dir, "cat.test.zone");
	ck_assert_str_eq(slurp(g_path), before);
	free(before);
	/* no temporary file left */
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", g_path);
	ck_assert_int_eq(access(tmp, F_OK), -1);
}
END_TEST

/* conf: the members of a generate zone, from the configuration. */
static void diag_print(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

START_TEST(from_conf)
{
	char text[16384];
	int tn = snprintf(text, sizeof(text),
	                  "template:\n"
	                  "  - id: m\n    catalog-role: member\n    catalog-zone: cat.test\n"
	                  "    catalog-group: tg\n    storage: %s\n"
	                  "zone:\n"
	                  "  - domain: cat.test\n    catalog-role: generate\n    storage: %s\n"
	                  "  - domain: a.example\n    template: m\n"
	                  "  - domain: b.example\n    template: m\n    catalog-group: own\n"
	                  "  - domain: c.example\n    storage: %s\n",
	                  g_dir, g_dir, g_dir);
	ck_assert(tn > 0 && (size_t)tn < sizeof(text));
	struct conf *c = NULL;
	ck_assert_int_eq(conf_load_buf("t.conf", text, strlen(text), diag_print, NULL, &c), 0);
	const struct conf_zone *cz = &c->zones[0];
	ck_assert_str_eq(cz->file, g_path);
	char why[512] = "";
	uint32_t serial = 0;
	ck_assert_int_eq(
	    catalog_update_conf(c, cz, cz->file, 1700000000, &serial, why, sizeof(why)),
	    CATALOG_WRITTEN);
	const char *t = slurp(g_path);
	char id[CATALOG_ID_LEN + 1], line[256];
	snprintf(line, sizeof(line), "group.%s.zones.cat.test.\t0\tIN\tTXT\t\"tg\"\n",
	         id_of("a.example.", id));
	ck_assert_ptr_nonnull(strstr(t, line));
	snprintf(line, sizeof(line), "group.%s.zones.cat.test.\t0\tIN\tTXT\t\"own\"\n",
	         id_of("b.example.", id));
	ck_assert_ptr_nonnull(strstr(t, line));
	ck_assert_ptr_null(strstr(t, "c.example."));
	struct zone *z = load();
	ck_assert_uint_eq(z->nrecords, 3 + 4);
	zone_free(z);
	conf_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("catalog");
	TCase *tc = tcase_create("generate");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, member_ids);
	tcase_add_test(tc, empty);
	tcase_add_test(tc, one_member);
	tcase_add_test(tc, several_with_groups);
	tcase_add_test(tc, untouched_when_same);
	tcase_add_test(tc, serial_moves_on);
	tcase_add_test(tc, continues_from_file);
	tcase_add_test(tc, write_fails_keeps_old);
	tcase_add_test(tc, from_conf);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
