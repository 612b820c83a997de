/* check_catalog_in.c: consuming catalog zones (xfr/catalog_in.c).
 *
 * Reading a version (RFC 9432 §4): members, groups, coo, what is ignored
 * (§3), what makes the catalog broken (§4.1, §4.2.1, §4.3.1: nothing of it
 * applied), what only leaves one member out; the cap. The saved member set
 * round-trips. The longest names, ids and groups come out whole. The
 * consumer: members added, removed and transferred afresh when their id
 * changes (§5.3, §5.4), a zone of the file never taken (§5.2), a member of
 * one catalog ignored in another until the first one's coo names it
 * (§4.3.1, §5.2), a broken version changing nothing (§5.1), the set kept
 * across a restart, and dropped with its catalog. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/conf.h"
#include "unit.h"
#include "xfr/catalog_in.h"
#include "zone/zone.h"
#include "zone/zoneset.h"

static char g_dir[4096];
static unsigned g_logged;

static void setup(void)
{
	ut_tmpdir(g_dir, sizeof(g_dir));
	g_logged = 0;
}

static void teardown(void)
{
	ut_rmtree(g_dir);
}

static void count_log(void *ctx, bool warning, const char *msg)
{
	(void)ctx;
	(void)warning;
	(void)msg;
	g_logged++;
}

/* A catalog cat.test. with `extra` records after the SOA and NS. */
static struct zone *catalog(const char *const *extra)
{
	const char *rrs[64] = {"cat.test. 0 SOA invalid. invalid. 1 3600 600 2147483646 0",
			       "cat.test. 0 NS invalid."};
	size_t n = 2;
	for (size_t i = 0; extra[i]; i++) {
		ck_assert_uint_lt(n, 63);
		rrs[n++] = extra[i];
	}
	rrs[n] = NULL;
	return ut_zone("cat.test.", rrs);
}

static int read_cat(const char *const *extra, size_t max, struct catalog_in_set *out, char *why,
		    size_t whysize)
{
	struct zone *z = catalog(extra);
	zone_ref(z);
	int r = catalog_in_read(z, NULL, max, count_log, NULL, out, why, whysize);
	zone_unref(z);
	return r;
}

static const struct catalog_in_member *member(const struct catalog_in_set *s, const char *name)
{
	uint8_t a[DNAME_MAX];
	size_t l = ut_name(name, a);
	return catalog_in_find(s, a, l);
}

START_TEST(read_members)
{
	static const char *const rrs[] = {
	    "version.cat.test. 0 TXT \"2\"",
	    "m1.zones.cat.test. 0 PTR One.Example.",
	    "m2.zones.cat.test. 0 PTR two.example.",
	    "group.m2.zones.cat.test. 0 TXT \"blue\"",
	    "M3.zones.cat.test. 0 PTR three.example.",
	    "coo.m3.zones.cat.test. 0 PTR other.test.",
	    /* ignored (§3): other types at a member node, unknown
	     * properties, deeper names, records elsewhere */
	    "m1.zones.cat.test. 0 TXT \"not a member\"",
	    "ext.m1.zones.cat.test. 0 TXT \"x\"",
	    "deep.er.zones.cat.test. 0 PTR four.example.",
	    "zones.cat.test. 0 PTR five.example.",
	    "other.cat.test. 0 A 192.0.2.1",
	    NULL};
	struct catalog_in_set s;
	char why[512] = "";
	ck_assert_int_eq(read_cat(rrs, 100, &s, why, sizeof(why)), 0);
	ck_assert_uint_eq(s.n, 3);
	const struct catalog_in_member *m1 = member(&s, "one.example."),
				       *m2 = member(&s, "two.example."),
				       *m3 = member(&s, "three.example.");
	ck_assert_ptr_nonnull(m1);
	ck_assert_ptr_nonnull(m2);
	ck_assert_ptr_nonnull(m3);
	ck_assert_ptr_null(member(&s, "four.example."));
	ck_assert_ptr_null(member(&s, "five.example."));
	ck_assert_int_eq(catalog_in_member_id(m1)[0], 2);
	ck_assert_int_eq(memcmp(catalog_in_member_id(m1) + 1, "m1", 2), 0);
	ck_assert_int_eq(memcmp(catalog_in_member_id(m3) + 1, "m3", 2), 0); /* lowercased */
	ck_assert_ptr_null(catalog_in_member_group(m1));
	ck_assert_str_eq(catalog_in_member_group(m2), "blue");
	ck_assert_ptr_null(catalog_in_member_coo(m1));
	uint8_t other[DNAME_MAX];
	size_t ol = ut_name("other.test.", other);
	ck_assert_uint_eq(m3->coo_len, ol);
	ck_assert_int_eq(memcmp(catalog_in_member_coo(m3), other, ol), 0);
	ck_assert_uint_eq(g_logged, 0);
	catalog_in_set_free(&s);

	/* an empty catalog is a good one */
	static const char *const empty[] = {"version.cat.test. 0 TXT \"2\"", NULL};
	ck_assert_int_eq(read_cat(empty, 100, &s, why, sizeof(why)), 0);
	ck_assert_uint_eq(s.n, 0);
	catalog_in_set_free(&s);
}
END_TEST

/* Broken catalogs (§4.2): nothing of them applies. */
START_TEST(read_broken)
{
	static const struct {
		const char *rrs[6];
		const char *why; /* a part of the reason */
	} cases[] = {
	    {{"m1.zones.cat.test. 0 PTR one.example.", NULL}, "no version property"},
	    {{"version.cat.test. 0 TXT \"1\"", NULL}, "version property \"1\""},
	    {{"version.cat.test. 0 TXT \"2\"", "version.cat.test. 0 TXT \"3\"", NULL},
	     "2 version properties"},
	    {{"version.cat.test. 0 TXT \"2\" \"x\"", NULL}, "several strings"},
	    {{"version.cat.test. 0 TXT \"2\"", "m1.zones.cat.test. 0 PTR one.example.",
	      "m1.zones.cat.test. 0 PTR two.example.", NULL},
	     "2 PTR records"},
	    {{"version.cat.test. 0 TXT \"2\"", "m1.zones.cat.test. 0 PTR one.example.",
	      "m2.zones.cat.test. 0 PTR ONE.example.", NULL},
	     "listed twice"},
	    {{"version.cat.test. 0 TXT \"2\"", "m1.zones.cat.test. 0 PTR one.example.",
	      "coo.m1.zones.cat.test. 0 PTR a.test.", "coo.m1.zones.cat.test. 0 PTR b.test.", NULL},
	     "2 coo properties"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct catalog_in_set s = {0};
		char why[512] = "";
		ck_assert_msg(read_cat(cases[i].rrs, 100, &s, why, sizeof(why)) == -EINVAL,
			      "case %zu read", i);
		ck_assert_msg(strstr(why, cases[i].why), "case %zu: '%s' lacks '%s'", i, why,
			      cases[i].why);
		ck_assert_uint_eq(s.n, 0);
		ck_assert_ptr_null(s.v);
	}
	/* the cap: more members than catalog-max-members */
	static const char *const three[] = {"version.cat.test. 0 TXT \"2\"",
					    "a.zones.cat.test. 0 PTR a.example.",
					    "b.zones.cat.test. 0 PTR b.example.",
					    "c.zones.cat.test. 0 PTR c.example.", NULL};
	struct catalog_in_set s;
	char why[512] = "";
	ck_assert_int_eq(read_cat(three, 2, &s, why, sizeof(why)), -E2BIG);
	ck_assert_ptr_nonnull(strstr(why, "catalog-max-members (2)"));
	ck_assert_int_eq(read_cat(three, 3, &s, why, sizeof(why)), 0);
	ck_assert_uint_eq(s.n, 3);
	catalog_in_set_free(&s);
}
END_TEST

/* Members that cannot be served are left out, each logged; the rest apply. */
START_TEST(read_left_out)
{
	static const char *const rrs[] = {
	    "version.cat.test. 0 TXT \"2\"",     "root.zones.cat.test. 0 PTR .",
	    "self.zones.cat.test. 0 PTR cat.test.", "in.zones.cat.test. 0 PTR x.cat.test.",
	    "ok.zones.cat.test. 0 PTR ok.example.", NULL};
	struct catalog_in_set s;
	char why[512] = "";
	ck_assert_int_eq(read_cat(rrs, 100, &s, why, sizeof(why)), 0);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_ptr_nonnull(member(&s, "ok.example."));
	ck_assert_uint_eq(g_logged, 3);
	catalog_in_set_free(&s);
}
END_TEST

/* Groups (§4.3.2): a TXT record's whole RDATA is one value; of several,
 * the one naming the catalog's earliest template. */
START_TEST(read_groups)
{
	struct conf *c = NULL;
	static const char conf_text[] =
	    "remote:\n  - id: p\n    address: 192.0.2.1\n"
	    "template:\n  - id: plain\n    primary: p\n  - id: gold\n    primary: p\n"
	    "  - id: silver\n    primary: p\n"
	    "zone:\n  - domain: cat.test\n    catalog-role: interpret\n"
	    "    catalog-template: [plain, silver, gold]\n";
	ck_assert_int_eq(conf_load_buf("t.conf", conf_text, strlen(conf_text), NULL, NULL, &c), 0);
	static const char *const rrs[] = {"version.cat.test. 0 TXT \"2\"",
					  "a.zones.cat.test. 0 PTR a.example.",
					  "group.a.zones.cat.test. 0 TXT \"gold\"",
					  "group.a.zones.cat.test. 0 TXT \"nothing\"",
					  "group.a.zones.cat.test. 0 TXT \"silver\"",
					  "b.zones.cat.test. 0 PTR b.example.",
					  "group.b.zones.cat.test. 0 TXT \"sil\" \"ver\"",
					  NULL};
	struct zone *z = catalog(rrs);
	zone_ref(z);
	struct catalog_in_set s;
	char why[512] = "";
	ck_assert_int_eq(catalog_in_read(z, &c->zones[0], 100, count_log, NULL, &s, why, sizeof(why)),
			 0);
	ck_assert_str_eq(catalog_in_member_group(member(&s, "a.example.")), "silver");
	ck_assert_str_eq(catalog_in_member_group(member(&s, "b.example.")), "silver");
	catalog_in_set_free(&s);
	zone_unref(z);
	conf_free(c);
}
END_TEST

START_TEST(save_load)
{
	static const char *const rrs[] = {"version.cat.test. 0 TXT \"2\"",
					  "m1.zones.cat.test. 0 PTR one.example.",
					  "m\\.2.zones.cat.test. 0 PTR two.example.",
					  "group.m\\.2.zones.cat.test. 0 TXT \"a b \\\"c\\\" \\255\"",
					  "m3.zones.cat.test. 0 PTR three.example.",
					  "group.m3.zones.cat.test. 0 TXT \"\"",
					  NULL};
	struct catalog_in_set s, t;
	char why[512] = "", path[4096];
	ck_assert_int_eq(read_cat(rrs, 100, &s, why, sizeof(why)), 0);
	ut_path(path, sizeof(path), g_dir, "cat.test.members");
	ck_assert_int_eq(catalog_in_load(path, &t, why, sizeof(why)), -ENOENT);
	ck_assert_int_eq(catalog_in_save(path, "cat.test.", &s, why, sizeof(why)), 0);
	ck_assert_int_eq(catalog_in_load(path, &t, why, sizeof(why)), 0);
	ck_assert_uint_eq(t.n, s.n);
	for (size_t i = 0; i < s.n; i++) {
		const uint8_t *sid = catalog_in_member_id(&s.v[i]);
		const uint8_t *tid = catalog_in_member_id(&t.v[i]);
		const char *sg = catalog_in_member_group(&s.v[i]);
		const char *tg = catalog_in_member_group(&t.v[i]);
		ck_assert_int_eq(memcmp(s.v[i].apex, t.v[i].apex, s.v[i].apex_len), 0);
		ck_assert_int_eq(memcmp(sid, tid, (size_t)sid[0] + 1), 0);
		ck_assert_int_eq(!sg, !tg);
		if (sg)
			ck_assert_str_eq(sg, tg);
	}
	ck_assert_str_eq(catalog_in_member_group(member(&t, "two.example.")), "a b \"c\" \xff");
	ck_assert_str_eq(catalog_in_member_group(member(&t, "three.example.")), "");
	catalog_in_set_free(&t);
	catalog_in_set_free(&s);
	ut_write(g_dir, "bad.members", "# comment\none.example. m1\nnot..a..name x\n");
	ut_path(path, sizeof(path), g_dir, "bad.members");
	ck_assert_int_eq(catalog_in_load(path, &t, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "bad.members:3:"));
}
END_TEST

/* A name of the longest, 255 octets: labels of 63, 63, 63 and 61 `c`s
 * (presentation, absolute). */
static const char *long_name(char *out, char c)
{
	size_t k = 0;
	for (int l = 0; l < 4; l++) {
		for (int i = 0; i < (l < 3 ? 63 : 61); i++)
			out[k++] = c;
		out[k++] = '.';
	}
	out[k] = 0;
	return out;
}

/* A 63-octet label. */
static const char *long_id(char *out)
{
	for (int i = 0; i < 63; i++)
		out[i] = (char)('a' + i % 26);
	out[63] = 0;
	return out;
}

/* Each member's octets are one allocation sized to them: ids of 63
 * octets, apexes and coo names of 255, groups of 255 come out whole,
 * beside a short member; saved and loaded back (the coo aside). */
START_TEST(read_long)
{
	char apex[300], coo[300], id[64], group[256], rr[3][1024];
	long_name(apex, 'm');
	long_name(coo, 'o');
	long_id(id);
	memset(group, 'g', 255);
	group[255] = 0;
	snprintf(rr[0], sizeof(rr[0]), "%s.zones.cat.test. 0 PTR %s", id, apex);
	snprintf(rr[1], sizeof(rr[1]), "group.%s.zones.cat.test. 0 TXT \"%s\"", id, group);
	snprintf(rr[2], sizeof(rr[2]), "coo.%s.zones.cat.test. 0 PTR %s", id, coo);
	const char *const rrs[] = {"version.cat.test. 0 TXT \"2\"",
				   rr[0], rr[1], rr[2],
				   "s.zones.cat.test. 0 PTR s.example.",
				   "group.s.zones.cat.test. 0 TXT \"g\"",
				   "coo.s.zones.cat.test. 0 PTR o.test.",
				   NULL};
	struct catalog_in_set s, t;
	char why[512] = "", path[4096];
	ck_assert_int_eq(read_cat(rrs, 100, &s, why, sizeof(why)), 0);
	ck_assert_uint_eq(s.n, 2);
	uint8_t a[DNAME_MAX], o[DNAME_MAX];
	ck_assert_uint_eq(ut_name(apex, a), 255);
	ck_assert_uint_eq(ut_name(coo, o), 255);
	const struct catalog_in_member *m = member(&s, apex), *sm = member(&s, "s.example.");
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_nonnull(sm);
	ck_assert_uint_eq(m->apex_len, 255);
	ck_assert_mem_eq(m->apex, a, 255);
	ck_assert_uint_eq(catalog_in_member_id(m)[0], 63);
	ck_assert_mem_eq(catalog_in_member_id(m) + 1, id, 63);
	ck_assert_str_eq(catalog_in_member_group(m), group);
	ck_assert_uint_eq(m->coo_len, 255);
	ck_assert_mem_eq(catalog_in_member_coo(m), o, 255);
	ck_assert_uint_eq(catalog_in_member_id(sm)[0], 1);
	ck_assert_str_eq(catalog_in_member_group(sm), "g");
	ck_assert_uint_eq(sm->coo_len, ut_name("o.test.", o));
	ck_assert_mem_eq(catalog_in_member_coo(sm), o, sm->coo_len);

	ut_path(path, sizeof(path), g_dir, "cat.test.members");
	ck_assert_int_eq(catalog_in_save(path, "cat.test.", &s, why, sizeof(why)), 0);
	ck_assert_int_eq(catalog_in_load(path, &t, why, sizeof(why)), 0);
	ck_assert_uint_eq(t.n, 2);
	for (size_t i = 0; i < s.n; i++) {
		ck_assert_uint_eq(t.v[i].apex_len, s.v[i].apex_len);
		ck_assert_mem_eq(t.v[i].apex, s.v[i].apex, s.v[i].apex_len);
		const uint8_t *sid = catalog_in_member_id(&s.v[i]);
		ck_assert_mem_eq(catalog_in_member_id(&t.v[i]), sid, (size_t)sid[0] + 1);
		ck_assert_str_eq(catalog_in_member_group(&t.v[i]), catalog_in_member_group(&s.v[i]));
		ck_assert_ptr_null(catalog_in_member_coo(&t.v[i]));
		ck_assert_uint_eq(t.v[i].coo_len, 0);
	}
	catalog_in_set_free(&t);
	catalog_in_set_free(&s);
}
END_TEST

/* ---- the consumer ---- */

struct world {
	struct conf *conf;
	struct zoneset set;
	uint8_t apex[2][DNAME_MAX];	/* the set's entries' */
	struct catalog_consumer *cc;
	struct catalog_changes ch;
};

/* Configuration: catalogs a.cat. and b.cat. (in that order), a zone of
 * the file f.example.; storage in the test's folder. */
static struct conf *world_conf(bool with_a)
{
	char text[32768], a[4608] = "";
	if (with_a)
		snprintf(a, sizeof(a),
			 "  - domain: a.cat\n    primary: p\n    catalog-role: interpret\n"
			 "    catalog-template: m\n    storage: %s\n", g_dir);
	snprintf(text, sizeof(text),
		 "remote:\n  - id: p\n    address: 192.0.2.1\n"
		 "template:\n  - id: m\n    primary: p\n    storage: %s/m\n"
		 "zone:\n%s"
		 "  - domain: b.cat\n    primary: p\n    catalog-role: interpret\n"
		 "    catalog-template: m\n    storage: %s\n"
		 "  - domain: f.example\n    storage: %s\n",
		 g_dir, a, g_dir, g_dir);
	struct conf *c = NULL;
	ck_assert_int_eq(conf_load_buf("t.conf", text, strlen(text), NULL, NULL, &c), 0);
	return c;
}

static void world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->conf = world_conf(true);
	w->set.v = calloc(2, sizeof(*w->set.v));
	w->set.n = 2;
	w->set.v[0].apex_len = ut_name("a.cat.", w->apex[0]);
	w->set.v[0].apex = w->apex[0];
	w->set.v[1].apex_len = ut_name("b.cat.", w->apex[1]);
	w->set.v[1].apex = w->apex[1];
	w->cc = catalog_consumer_new();
	catalog_consumer_configure(w->cc, w->conf, NULL);
}

static void world_free(struct world *w)
{
	for (size_t i = 0; i < w->set.n; i++)
		zone_unref(w->set.v[i].zone);
	free(w->set.v);
	catalog_consumer_free(w->cc);
	catalog_changes_free(&w->ch);
	conf_free(w->conf);
}

/* A new version of catalog `k` (0: a.cat., 1: b.cat.): records relative
 * to it ("m1.zones PTR x."). \return resolve's result */
static int version(struct world *w, int k, const char *const *rel)
{
	const char *cat = k ? "b.cat." : "a.cat.";
	static char buf[32][1024];
	const char *rrs[34];
	size_t n = 0;
	snprintf(buf[n], sizeof(buf[n]), "%s 0 SOA invalid. invalid. 1 3600 600 86400 0", cat);
	rrs[n] = buf[n];
	n++;
	snprintf(buf[n], sizeof(buf[n]), "%s 0 NS invalid.", cat);
	rrs[n] = buf[n];
	n++;
	snprintf(buf[n], sizeof(buf[n]), "version.%s 0 TXT \"2\"", cat);
	rrs[n] = buf[n];
	n++;
	for (size_t i = 0; rel[i]; i++, n++) {
		const char *sp = strchr(rel[i], ' ');
		snprintf(buf[n], sizeof(buf[n]), "%.*s.%s 0%s", (int)(sp - rel[i]), rel[i], cat, sp);
		rrs[n] = buf[n];
	}
	rrs[n] = NULL;
	struct zone *z = ut_zone(cat, rrs);
	zone_ref(z);
	zone_unref(w->set.v[k].zone);
	w->set.v[k].zone = z;
	catalog_changes_free(&w->ch);
	if (!catalog_consumer_read(w->cc, w->conf, &w->set))
		return -100; /* not read (broken) */
	return catalog_consumer_resolve(w->cc, w->conf, &w->ch);
}

/* The members served: "name@catalog/id" sorted, joined by spaces. */
static const char *served(struct world *w)
{
	static char out[2048];
	struct conf_member *m;
	size_t n;
	ck_assert_int_eq(catalog_consumer_members(w->cc, w->conf, &m, &n), 0);
	char lines[32][300];
	ck_assert_uint_le(n, 32);
	for (size_t i = 0; i < n; i++) {
		char nb[DNAME_STR_MAX];
		dname_to_str(m[i].apex, nb, sizeof(nb));
		snprintf(lines[i], sizeof(lines[i]), "%.100s@%.100s/%.*s", nb, m[i].catalog->name,
			 (int)m[i].id[0], (const char *)m[i].id + 1);
	}
	free(m);
	qsort(lines, n, sizeof(lines[0]), (int (*)(const void *, const void *))strcmp);
	out[0] = 0;
	for (size_t i = 0; i < n; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? " " : "", lines[i]);
	return out;
}

static bool purged(const struct world *w, const char *name, bool fresh)
{
	uint8_t a[DNAME_MAX];
	size_t l = ut_name(name, a);
	return catalog_names_has(fresh ? &w->ch.fresh : &w->ch.purge, a, l);
}

START_TEST(consumer_changes)
{
	struct world w;
	world_init(&w);
	ck_assert_str_eq(served(&w), "");
	/* added */
	static const char *const v1[] = {"m1.zones PTR one.example.", "m2.zones PTR two.example.",
					 NULL};
	ck_assert_int_eq(version(&w, 0, v1), 1);
	ck_assert_uint_eq(w.ch.added, 2);
	ck_assert_uint_eq(w.ch.purge.n, 0);
	ck_assert_str_eq(served(&w), "one.example.@a.cat./m1 two.example.@a.cat./m2");
	/* the same again: nothing */
	ck_assert_int_eq(version(&w, 0, v1), 0);
	/* one removed, one with a new id, one added */
	static const char *const v2[] = {"n2.zones PTR two.example.",
					 "m3.zones PTR three.example.", NULL};
	ck_assert_int_eq(version(&w, 0, v2), 1);
	ck_assert_uint_eq(w.ch.added, 1);
	ck_assert_uint_eq(w.ch.removed, 1);
	ck_assert_uint_eq(w.ch.reset, 1);
	ck_assert(purged(&w, "one.example.", false));
	ck_assert(!purged(&w, "one.example.", true));
	ck_assert(purged(&w, "two.example.", false));
	ck_assert(purged(&w, "two.example.", true));
	ck_assert(!purged(&w, "three.example.", false));
	ck_assert_str_eq(served(&w), "three.example.@a.cat./m3 two.example.@a.cat./n2");
	/* a broken version changes nothing (§5.1) */
	static const char *const broken[] = {"x.zones PTR one.example.", "x.zones PTR new.example.",
					     NULL};
	ck_assert_int_eq(version(&w, 0, broken), -100);
	ck_assert_str_eq(served(&w), "three.example.@a.cat./m3 two.example.@a.cat./n2");
	/* b.cat. lists a zone of the file and one of a.cat.: both ignored */
	static const char *const b1[] = {"f.zones PTR f.example.", "t.zones PTR three.example.",
					 "b1.zones PTR b1.example.", NULL};
	ck_assert_int_eq(version(&w, 1, b1), 1);
	ck_assert_uint_eq(w.ch.added, 1);
	ck_assert_uint_eq(w.ch.ignored, 2);
	ck_assert_str_eq(served(&w), "b1.example.@b.cat./b1 three.example.@a.cat./m3 "
				     "two.example.@a.cat./n2");
	/* a.cat. lets three.example. go to b.cat. (coo), whose id differs:
	 * moved, and transferred afresh */
	static const char *const v3[] = {"n2.zones PTR two.example.", "m3.zones PTR three.example.",
					 "coo.m3.zones PTR b.cat.", NULL};
	ck_assert_int_eq(version(&w, 0, v3), 0); /* b.cat. not read again yet */
	ck_assert_int_eq(version(&w, 1, b1), 1);
	ck_assert_uint_eq(w.ch.reset, 1);
	ck_assert(purged(&w, "three.example.", true));
	ck_assert_str_eq(served(&w), "b1.example.@b.cat./b1 three.example.@b.cat./t "
				     "two.example.@a.cat./n2");
	/* and back with the same id: moved with its data */
	static const char *const b2[] = {"t.zones PTR three.example.", "coo.t.zones PTR a.cat.",
					 "b1.zones PTR b1.example.", NULL};
	static const char *const v4[] = {"n2.zones PTR two.example.", "t.zones PTR three.example.",
					 NULL};
	ck_assert_int_eq(version(&w, 1, b2), 0);
	ck_assert_int_eq(version(&w, 0, v4), 1);
	ck_assert_uint_eq(w.ch.moved, 1);
	ck_assert_uint_eq(w.ch.purge.n, 0);
	ck_assert_str_eq(served(&w), "b1.example.@b.cat./b1 three.example.@a.cat./t "
				     "two.example.@a.cat./n2");

	/* a restart: the same members, before any catalog is read */
	struct catalog_consumer *again = catalog_consumer_new();
	catalog_consumer_configure(again, w.conf, NULL);
	struct catalog_consumer *keep = w.cc;
	w.cc = again;
	ck_assert_str_eq(served(&w), "b1.example.@b.cat./b1 three.example.@a.cat./t "
				     "two.example.@a.cat./n2");
	w.cc = keep;
	catalog_consumer_free(again);

	/* a.cat. no longer configured: its members go, data deleted; the
	 * one b.cat. lists too is b.cat.'s now, from nothing */
	struct conf *c2 = world_conf(false);
	catalog_consumer_configure(w.cc, c2, NULL);
	catalog_changes_free(&w.ch);
	ck_assert_int_eq(catalog_consumer_resolve(w.cc, c2, &w.ch), 1);
	ck_assert_uint_eq(w.ch.removed, 1);
	ck_assert_uint_eq(w.ch.reset, 1);
	ck_assert(purged(&w, "two.example.", false));
	ck_assert(!purged(&w, "two.example.", true));
	ck_assert(purged(&w, "three.example.", true));
	conf_free(w.conf);
	w.conf = c2;
	ck_assert_str_eq(served(&w), "b1.example.@b.cat./b1 three.example.@b.cat./t");
	char path[4096];
	ut_path(path, sizeof(path), g_dir, "a.cat.members");
	ck_assert_int_eq(access(path, F_OK), -1);
	ut_path(path, sizeof(path), g_dir, "b.cat.members");
	ck_assert_int_eq(access(path, F_OK), 0);
	world_free(&w);
}
END_TEST

/* A member the file takes later: served by the file's entry, its data
 * not deleted. */
START_TEST(consumer_file_wins)
{
	struct world w;
	world_init(&w);
	static const char *const v1[] = {"f.zones PTR g.example.", NULL};
	ck_assert_int_eq(version(&w, 0, v1), 1);
	ck_assert_str_eq(served(&w), "g.example.@a.cat./f");
	char text[8192];
	snprintf(text, sizeof(text),
		 "remote:\n  - id: p\n    address: 192.0.2.1\n"
		 "template:\n  - id: m\n    primary: p\n"
		 "zone:\n  - domain: a.cat\n    primary: p\n    catalog-role: interpret\n"
		 "    catalog-template: m\n    storage: %s\n  - domain: g.example\n", g_dir);
	struct conf *c2 = NULL;
	ck_assert_int_eq(conf_load_buf("t.conf", text, strlen(text), NULL, NULL, &c2), 0);
	catalog_consumer_configure(w.cc, c2, NULL);
	catalog_changes_free(&w.ch);
	ck_assert_int_eq(catalog_consumer_resolve(w.cc, c2, &w.ch), 1);
	ck_assert_uint_eq(w.ch.removed, 1);
	ck_assert_uint_eq(w.ch.purge.n, 0);
	conf_free(w.conf);
	w.conf = c2;
	ck_assert_str_eq(served(&w), "");
	world_free(&w);
}
END_TEST

/* The longest member read, applied, saved, loaded at a restart and read
 * again: the same member, nothing changed; its entry derived whole. */
START_TEST(consumer_long)
{
	struct world w;
	world_init(&w);
	char apex[300], id[64], group[256], rr[2][1024];
	long_name(apex, 'm');
	long_id(id);
	memset(group, 'g', 255);
	group[255] = 0;
	snprintf(rr[0], sizeof(rr[0]), "%s.zones PTR %s", id, apex);
	snprintf(rr[1], sizeof(rr[1]), "group.%s.zones TXT \"%s\"", id, group);
	const char *const v1[] = {rr[0], rr[1], "s.zones PTR s.example.", NULL};
	ck_assert_int_eq(version(&w, 0, v1), 1);
	ck_assert_uint_eq(w.ch.added, 2);
	uint8_t a[DNAME_MAX];
	ck_assert_uint_eq(ut_name(apex, a), 255);
	for (int round = 0; round < 2; round++) {
		struct conf_member *m;
		size_t n;
		ck_assert_int_eq(catalog_consumer_members(w.cc, w.conf, &m, &n), 0);
		ck_assert_uint_eq(n, 2);
		const struct conf_member *l = m[0].apex_len == 255 ? &m[0] : &m[1];
		ck_assert_uint_eq(l->apex_len, 255);
		ck_assert_mem_eq(l->apex, a, 255);
		ck_assert_uint_eq(l->id[0], 63);
		ck_assert_mem_eq(l->id + 1, id, 63);
		ck_assert_str_eq(l->group, group);
		struct conf *d = conf_derive(w.conf, m, n);
		free(m);
		ck_assert_ptr_nonnull(d);
		const struct conf_zone *z = conf_zone_find(d, a, 255);
		ck_assert_ptr_nonnull(z);
		ck_assert_str_eq(z->member_id, id);
		ck_assert_str_eq(z->member_group, group);
		conf_free(d);
		if (round)
			break;
		/* a restart: the saved set, then the same version read again */
		catalog_consumer_free(w.cc);
		w.cc = catalog_consumer_new();
		catalog_consumer_configure(w.cc, w.conf, NULL);
		ck_assert_int_eq(version(&w, 0, v1), 0);
	}
	world_free(&w);
}
END_TEST

/* Many long names to delete: every one listed whole (the list grows). */
START_TEST(consumer_many_purged)
{
	struct world w;
	world_init(&w);
	enum { N = 25 };
	static char names[N][300], rr[2][N][1024];
	const char *v1[N + 1], *v2[N + 1];
	for (int i = 0; i < N; i++) {
		long_name(names[i], (char)('a' + i));
		snprintf(rr[0][i], sizeof(rr[0][i]), "m%d.zones PTR %s", i, names[i]);
		snprintf(rr[1][i], sizeof(rr[1][i]), "n%d.zones PTR %s", i, names[i]);
		v1[i] = rr[0][i];
		v2[i] = rr[1][i];
	}
	v1[N] = v2[N] = NULL;
	ck_assert_int_eq(version(&w, 0, v1), 1);
	ck_assert_uint_eq(w.ch.added, N);
	/* every id new: each deleted, and served again from nothing */
	ck_assert_int_eq(version(&w, 0, v2), 1);
	ck_assert_uint_eq(w.ch.reset, N);
	ck_assert_uint_eq(w.ch.purge.n, N);
	ck_assert_uint_eq(w.ch.fresh.n, N);
	size_t at = 0, len, k = 0;
	for (const uint8_t *p; (p = catalog_names_next(&w.ch.fresh, &at, &len)); k++)
		ck_assert_uint_eq(len, 255);
	ck_assert_uint_eq(k, N);
	for (int i = 0; i < N; i++) {
		ck_assert(purged(&w, names[i], false));
		ck_assert(purged(&w, names[i], true));
	}
	/* all removed */
	static const char *const none[] = {NULL};
	ck_assert_int_eq(version(&w, 0, none), 1);
	ck_assert_uint_eq(w.ch.removed, N);
	ck_assert_uint_eq(w.ch.purge.n, N);
	ck_assert_uint_eq(w.ch.fresh.n, 0);
	for (int i = 0; i < N; i++)
		ck_assert(purged(&w, names[i], false));
	ck_assert(!purged(&w, "s.example.", false));
	world_free(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("catalog_in");
	TCase *t = tcase_create("read");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, read_members);
	tcase_add_test(t, read_broken);
	tcase_add_test(t, read_left_out);
	tcase_add_test(t, read_groups);
	tcase_add_test(t, save_load);
	tcase_add_test(t, read_long);
	suite_add_tcase(s, t);
	t = tcase_create("consumer");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, consumer_changes);
	tcase_add_test(t, consumer_file_wins);
	tcase_add_test(t, consumer_long);
	tcase_add_test(t, consumer_many_purged);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
