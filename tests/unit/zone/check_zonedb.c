/* check_zonedb.c: the set of served zones (src/zonedb.c). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "zone/zonedb.h"
#include "zone/zoneset.h"

/* A minimal valid zone for `origin`, serial `serial`, as file text. */
static void zone_text(char *buf, size_t size, const char *origin, unsigned serial)
{
	snprintf(buf, size,
		 "$ORIGIN %s\n"
		 "$TTL 300\n"
		 "@ SOA ns hm %u 2 3 4 5\n"
		 "@ NS ns\n"
		 "ns A 192.0.2.1\n",
		 origin, serial);
}

static struct zone *mem_zone(const char *origin, const char *extra)
{
	char soa[300], ns[300], x[300];
	const char *o = strcmp(origin, ".") ? origin : ""; /* "ns." + "" for the root */
	snprintf(soa, sizeof(soa), "%s SOA ns.%s hm.%s 1 2 3 4 5", origin, o, o);
	snprintf(ns, sizeof(ns), "%s NS ns.%s", origin, o);
	const char *rrs[4] = {soa, ns, NULL, NULL};
	if (extra) {
		snprintf(x, sizeof(x), "%s", extra);
		rrs[2] = x;
	}
	return ut_zone(origin, rrs);
}

/* zonedb_find for a presentation name. */
static const struct zone *find(const struct zonedb *db, const char *name, unsigned from)
{
	uint8_t w[DNAME_MAX], l[DNAME_MAX];
	size_t len = ut_name(name, w);
	dname_lower(l, w, len);
	struct dname_split s;
	dname_split(&s, l, len);
	return zonedb_find(db, &s, l, from);
}

static bool is_zone(const struct zone *z, const char *origin)
{
	uint8_t w[DNAME_MAX];
	size_t len = ut_name(origin, w);
	return z && z->apex_len == len && memcmp(z->apex, w, len) == 0;
}

/* ---------------------------------------------------------------- find */

START_TEST(find_longest_match)
{
	struct zone *zs[] = {
		mem_zone("example.com.", "sub.example.com. NS ns.sub.example.com."),
		mem_zone("sub.example.com.", NULL),
		mem_zone("example.net.", NULL),
	};
	struct zonedb *db = zonedb_new(zs, 3);
	ck_assert_ptr_nonnull(db);
	ck_assert_uint_eq(db->nzones, 3);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq(zs[i]->refs, 1);

	ck_assert(is_zone(find(db, "example.com.", 0), "example.com."));
	ck_assert(is_zone(find(db, "www.example.com.", 0), "example.com."));
	ck_assert(is_zone(find(db, "a.b.c.example.com.", 0), "example.com."));
	ck_assert(is_zone(find(db, "sub.example.com.", 0), "sub.example.com."));
	ck_assert(is_zone(find(db, "www.sub.example.com.", 0), "sub.example.com."));
	ck_assert(is_zone(find(db, "WWW.SUB.Example.Com.", 0), "sub.example.com."));
	ck_assert(is_zone(find(db, "x.example.net.", 0), "example.net."));
	/* lookalikes on label boundaries */
	ck_assert(is_zone(find(db, "notsub.example.com.", 0), "example.com."));
	zonedb_free(db);
}
END_TEST

START_TEST(find_from_parent_ds_rule)
{
	struct zone *zs[] = {
		mem_zone("example.com.", "sub.example.com. NS ns.sub.example.com."),
		mem_zone("sub.example.com.", NULL),
	};
	struct zonedb *db = zonedb_new(zs, 2);
	/* RFC 4035 §3.1.4.1: from=1 skips the name itself, so the DS of
	 * sub.example.com. comes from the parent */
	ck_assert(is_zone(find(db, "sub.example.com.", 1), "example.com."));
	ck_assert(is_zone(find(db, "sub.example.com.", 0), "sub.example.com."));
	/* below the child apex, from=1 still finds the child */
	ck_assert(is_zone(find(db, "www.sub.example.com.", 1), "sub.example.com."));
	ck_assert(is_zone(find(db, "www.example.com.", 1), "example.com."));
	/* the parent's parent is not ours */
	ck_assert_ptr_null(find(db, "example.com.", 1));
	zonedb_free(db);
}
END_TEST

START_TEST(find_refused)
{
	struct zone *zs[] = {mem_zone("example.com.", NULL)};
	struct zonedb *db = zonedb_new(zs, 1);
	ck_assert_ptr_null(find(db, "example.org.", 0));
	ck_assert_ptr_null(find(db, "com.", 0));
	ck_assert_ptr_null(find(db, ".", 0));
	ck_assert_ptr_null(find(db, "examplecom.", 0));
	ck_assert_ptr_null(find(db, "example.com.org.", 0));
	zonedb_free(db);
	/* no zones at all, and no db */
	struct zonedb *empty = zonedb_new(NULL, 0);
	ck_assert_ptr_nonnull(empty);
	ck_assert_ptr_null(find(empty, "example.com.", 0));
	zonedb_free(empty);
	ck_assert_ptr_null(find(NULL, "example.com.", 0));
}
END_TEST

START_TEST(find_root_zone)
{
	struct zone *zs[] = {
		mem_zone(".", NULL),
		mem_zone("example.com.", NULL),
	};
	struct zonedb *db = zonedb_new(zs, 2);
	ck_assert(is_zone(find(db, "example.org.", 0), "."));
	ck_assert(is_zone(find(db, ".", 0), "."));
	ck_assert(is_zone(find(db, "example.com.", 1), "."));
	ck_assert(is_zone(find(db, "www.example.com.", 0), "example.com."));
	zonedb_free(db);
}
END_TEST

START_TEST(find_many_zones)
{
	/* enough zones to fill the table past its first size, with collisions */
	enum { N = 300 };
	struct zone **zs = calloc(N, sizeof(*zs));
	for (int i = 0; i < N; i++) {
		char o[64];
		snprintf(o, sizeof(o), "z%d.example.", i);
		zs[i] = mem_zone(o, NULL);
	}
	struct zonedb *db = zonedb_new(zs, N);
	for (int i = 0; i < N; i++) {
		char o[64], q[80];
		snprintf(o, sizeof(o), "z%d.example.", i);
		snprintf(q, sizeof(q), "www.%s", o);
		ck_assert_msg(is_zone(find(db, q, 0), o), "%s", q);
	}
	ck_assert_ptr_null(find(db, "z300.example.", 0));
	ck_assert_ptr_null(find(db, "example.", 0));
	zonedb_free(db);
	free(zs);
}
END_TEST

START_TEST(refs_shared_between_snapshots)
{
	struct zone *a = mem_zone("a.example.", NULL), *b = mem_zone("b.example.", NULL);
	struct zone *one[] = {a, b}, *two[] = {b};
	struct zonedb *db1 = zonedb_new(one, 2);
	struct zonedb *db2 = zonedb_new(two, 1);
	ck_assert_uint_eq(a->refs, 1);
	ck_assert_uint_eq(b->refs, 2);
	zonedb_free(db1); /* frees a, keeps b */
	ck_assert_uint_eq(b->refs, 1);
	ck_assert(is_zone(find(db2, "x.b.example.", 0), "b.example."));
	zonedb_free(db2);
}
END_TEST

/* ---------------------------------------------------------------- load_dir */

static char g_dir[4096];

static void setup(void)
{
	ut_tmpdir(g_dir, sizeof(g_dir));
}

static void teardown(void)
{
	ut_rmtree(g_dir);
}

static void write_zone(const char *file, const char *origin, unsigned serial)
{
	char t[1024];
	zone_text(t, sizeof(t), origin, serial);
	ut_write(g_dir, file, t);
}

static void rm(const char *file)
{
	char p[4096];
	ut_path(p, sizeof(p), g_dir, file);
	ck_assert_int_eq(unlink(p), 0);
}

START_TEST(load_dir_basic)
{
	write_zone("a.example.zone", "a.example.", 1);
	write_zone("b.example.zone", "b.example.", 1);
	ut_write(g_dir, "notes.txt", "not a zone\n");
	ut_write(g_dir, ".hidden.zone", "garbage\n");
	ut_write(g_dir, "c.example.zone.bak", "garbage\n");
	struct ut_diag d = {0};
	struct zonedb *db = NULL;
	struct zonedb_load_stats st;
	memset(&st, 0xff, sizeof(st));
	ck_assert_int_eq(zonedb_load_dir(g_dir, NULL, ut_diag_fn, &d, &db, &st), 0);
	ut_diag_dump(&d);
	ck_assert_ptr_nonnull(db);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(st.loaded, 2);
	ck_assert_uint_eq(st.failed, 0);
	ck_assert_uint_eq(st.kept, 0);
	ck_assert_uint_eq(st.removed, 0);
	ck_assert_uint_eq(db->nzones, 2);
	/* sorted by file name */
	ck_assert(is_zone(db->zones[0], "a.example."));
	ck_assert(is_zone(db->zones[1], "b.example."));
	ck_assert(is_zone(find(db, "www.b.example.", 0), "b.example."));
	zonedb_free(db);
}
END_TEST

START_TEST(load_dir_keeps_old_version_and_drops_removed)
{
	write_zone("a.example.zone", "a.example.", 1);
	write_zone("b.example.zone", "b.example.", 1);
	struct ut_diag d = {0};
	struct zonedb *old = NULL, *db = NULL;
	struct zonedb_load_stats st;
	ck_assert_int_eq(zonedb_load_dir(g_dir, NULL, ut_diag_fn, &d, &old, &st), 0);
	ck_assert_uint_eq(st.loaded, 2);
	const struct zone *old_b = find(old, "b.example.", 0);
	ck_assert_uint_eq(old_b->serial, 1);

	/* b breaks, a goes away, c arrives, d is broken with no old version */
	ut_write(g_dir, "b.example.zone", "$TTL 300\n@ SOA ns hm 2 2 3 4 5\n@ NS ns\nx A 1.2.3\n");
	rm("a.example.zone");
	write_zone("c.example.zone", "c.example.", 1);
	ut_write(g_dir, "d.example.zone", "$TTL 300\n@ NS ns\n");
	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(zonedb_load_dir(g_dir, old, ut_diag_fn, &d, &db, &st), 0);
	ut_diag_dump(&d);
	ck_assert_uint_eq(st.loaded, 1);  /* c */
	ck_assert_uint_eq(st.failed, 2);  /* b, d */
	ck_assert_uint_eq(st.kept, 1);    /* b */
	ck_assert_uint_eq(st.removed, 1); /* a */
	ck_assert_uint_eq(db->nzones, 2);
	/* b: the very same zone object, serial 1, now held by both */
	ck_assert_ptr_eq(find(db, "www.b.example.", 0), old_b);
	ck_assert_uint_eq(old_b->refs, 2);
	ck_assert(is_zone(find(db, "c.example.", 0), "c.example."));
	ck_assert_ptr_null(find(db, "a.example.", 0));
	ck_assert_ptr_null(find(db, "d.example.", 0));
	/* each broken file said why */
	ck_assert_uint_eq(d.errors, 2);
	zonedb_free(old);
	ck_assert_uint_eq(old_b->refs, 1);
	ck_assert_uint_eq(find(db, "b.example.", 0)->serial, 1);
	zonedb_free(db);
}
END_TEST

START_TEST(load_dir_fixed_zone_replaces_kept_one)
{
	write_zone("b.example.zone", "b.example.", 1);
	struct zonedb *old = NULL, *db = NULL;
	struct zonedb_load_stats st;
	ck_assert_int_eq(zonedb_load_dir(g_dir, NULL, NULL, NULL, &old, &st), 0);
	write_zone("b.example.zone", "b.example.", 2);
	ck_assert_int_eq(zonedb_load_dir(g_dir, old, NULL, NULL, &db, &st), 0);
	ck_assert_uint_eq(st.loaded, 1);
	ck_assert_uint_eq(st.kept, 0);
	ck_assert_uint_eq(st.removed, 0);
	ck_assert_uint_eq(find(db, "b.example.", 0)->serial, 2);
	ck_assert_ptr_ne(find(db, "b.example.", 0), find(old, "b.example.", 0));
	zonedb_free(old);
	zonedb_free(db);
}
END_TEST

START_TEST(load_dir_duplicate_origin)
{
	/* two files, one zone: the first in name order wins ('E' < 'e') */
	write_zone("EXAMPLE.COM.zone", "example.com.", 1);
	write_zone("example.com.zone", "example.com.", 2);
	struct ut_diag d = {0};
	struct zonedb *db = NULL;
	struct zonedb_load_stats st;
	ck_assert_int_eq(zonedb_load_dir(g_dir, NULL, ut_diag_fn, &d, &db, &st), 0);
	ut_diag_dump(&d);
	ck_assert_uint_eq(st.loaded, 1);
	ck_assert_uint_eq(st.failed, 1);
	ck_assert_uint_eq(db->nzones, 1);
	ck_assert_uint_eq(find(db, "example.com.", 0)->serial, 1);
	ck_assert_uint_eq(d.n, 1);
	char want[8192], got[4096];
	snprintf(want, sizeof(want), "%s/example.com.zone:0: another file already serves this zone; ignored",
		 g_dir);
	ck_assert_str_eq(ut_diag_str(&d, 0, got, sizeof(got)), want);
	zonedb_free(db);
}
END_TEST

START_TEST(load_dir_duplicate_origin_trailing_dot)
{
	/* "example.com..zone" names the same zone as "example.com.zone" */
	write_zone("example.com..zone", "example.com.", 1);
	write_zone("example.com.zone", "example.com.", 2);
	struct zonedb *db = NULL;
	struct zonedb_load_stats st;
	ck_assert_int_eq(zonedb_load_dir(g_dir, NULL, NULL, NULL, &db, &st), 0);
	ck_assert_uint_eq(st.loaded, 1);
	ck_assert_uint_eq(st.failed, 1);
	ck_assert_uint_eq(db->nzones, 1);
	zonedb_free(db);
}
END_TEST

START_TEST(load_dir_bad_file_name)
{
	write_zone("a..b.zone", "example.", 1);
	struct ut_diag d = {0};
	struct zonedb *db = NULL;
	struct zonedb_load_stats st;
	ck_assert_int_eq(zonedb_load_dir(g_dir, NULL, ut_diag_fn, &d, &db, &st), 0);
	ck_assert_uint_eq(st.failed, 1);
	ck_assert_uint_eq(st.loaded, 0);
	ck_assert_uint_eq(db->nzones, 0);
	char want[8192], got[4096];
	snprintf(want, sizeof(want), "%s/a..b.zone:0: file name is not a valid zone name followed by .zone",
		 g_dir);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_str_eq(ut_diag_str(&d, 0, got, sizeof(got)), want);
	zonedb_free(db);
}
END_TEST

START_TEST(load_dir_root_zone_file)
{
	write_zone("root.zone", ".", 1);
	struct zonedb *db = NULL;
	struct zonedb_load_stats st;
	ck_assert_int_eq(zonedb_load_dir(g_dir, NULL, NULL, NULL, &db, &st), 0);
	ck_assert_uint_eq(st.loaded, 1);
	ck_assert(is_zone(find(db, "anything.example.", 0), "."));
	zonedb_free(db);
}
END_TEST

START_TEST(load_dir_missing_dir)
{
	char p[4096];
	ut_path(p, sizeof(p), g_dir, "nothere");
	struct zonedb *db = (struct zonedb *)&db; /* must be reset */
	struct zonedb_load_stats st;
	ck_assert_int_eq(zonedb_load_dir(p, NULL, NULL, NULL, &db, &st), -ENOENT);
	ck_assert_ptr_null(db);
}
END_TEST

/* Regression (a bug found here, fixed in 35134db):
 * (src/zonedb.c, zonedb_load_dir): with no *.zone file in the
 * directory `names` stays NULL and qsort(NULL, 0, ...) is called; qsort's
 * first argument is declared nonnull, so this is undefined behaviour, and
 * the UBSan build (-Db_sanitize=address,undefined) stops here with "null
 * pointer passed as argument 1". The plain build passes. */
START_TEST(load_dir_empty)
{
	struct zonedb *db = NULL;
	struct zonedb_load_stats st;
	ck_assert_int_eq(zonedb_load_dir(g_dir, NULL, NULL, NULL, &db, &st), 0);
	ck_assert_ptr_nonnull(db);
	ck_assert_uint_eq(db->nzones, 0);
	ck_assert_ptr_null(find(db, "example.com.", 0));
	zonedb_free(db);
}
END_TEST

/* ---------------------------------------------------------------- publish */

START_TEST(publish_replaces_current)
{
	struct zone *z1[] = {mem_zone("a.example.", NULL)};
	struct zone *z2[] = {mem_zone("b.example.", NULL)};
	struct zonedb *db1 = zonedb_new(z1, 1), *db2 = zonedb_new(z2, 1);
	ck_assert_ptr_null(zonedb_current());
	zonedb_publish(db1);
	ck_assert_ptr_eq(zonedb_current(), db1);
	uint64_t g1 = db1->generation;
	ck_assert_uint_gt(g1, 0);
	zonedb_publish(db2); /* frees db1 after the grace period */
	ck_assert_ptr_eq(zonedb_current(), db2);
	ck_assert_uint_gt(db2->generation, g1);
	ck_assert(is_zone(find(zonedb_current(), "x.b.example.", 0), "b.example."));
}
END_TEST

static Suite *zonedb_suite(void)
{
	Suite *s = suite_create("zonedb");
	TCase *t = tcase_create("find");
	tcase_add_test(t, find_longest_match);
	tcase_add_test(t, find_from_parent_ds_rule);
	tcase_add_test(t, find_refused);
	tcase_add_test(t, find_root_zone);
	tcase_add_test(t, find_many_zones);
	tcase_add_test(t, refs_shared_between_snapshots);
	suite_add_tcase(s, t);

	t = tcase_create("load_dir");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, load_dir_basic);
	tcase_add_test(t, load_dir_keeps_old_version_and_drops_removed);
	tcase_add_test(t, load_dir_fixed_zone_replaces_kept_one);
	tcase_add_test(t, load_dir_duplicate_origin);
	tcase_add_test(t, load_dir_duplicate_origin_trailing_dot);
	tcase_add_test(t, load_dir_bad_file_name);
	tcase_add_test(t, load_dir_root_zone_file);
	tcase_add_test(t, load_dir_missing_dir);
	tcase_add_test(t, load_dir_empty);
	suite_add_tcase(s, t);

	t = tcase_create("publish");
	tcase_add_test(t, publish_replaces_current);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(zonedb_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
