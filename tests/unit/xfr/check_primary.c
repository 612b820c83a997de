/* check_primary.c: what a primary does with each version a zone file
 * gives (src/xfr/primary.c through the zoneset's hooks, zone/zoneset.h):
 * the journal opened at the first load and attached to the version, a
 * newer serial served with its difference journaled, an unchanged serial
 * refused or raised by serial-policy (and the raise kept across a
 * restart), a touched file left alone, no journal for a zone without
 * transfers, a journal dropped when the file changed while "down"; beside
 * it, the zone set's record of a failed load (its first messages).
 *
 * Each case drives the main thread's reload sequence by hand:
 * zoneset_update, primary_prepare, (the zonedb it gives is freed instead
 * of published), primary_published. No notifier: NOTIFY is not sent. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ops/conf.h"
#include "unit.h"
#include "xfr/primary.h"
#include "zone/journal.h"
#include "zone/zone_diff.h"
#include "zone/zoneset.h"

#define ZNAME "p.test."
#define PLAIN "plain.test."

/* The zone file: serial, www's last octet, and an optional extra record. */
static void zone_text(char *out, size_t size, uint32_t serial, int www, const char *extra)
{
	snprintf(out, size,
	         "$TTL 3600\n"
	         "@ SOA ns1 hostmaster %u 7200 3600 1209600 300\n"
	         "@ NS ns1\n"
	         "ns1 A 192.0.2.1\n"
	         "www A 192.0.2.%d\n"
	         "mail A 192.0.2.25\n"
	         "%s",
	         serial, www, extra ? extra : "");
}

struct pfix {
	char dir[512];
	struct conf *conf;
	struct zone_spec specs[2];
	size_t nspecs;
	struct zoneset set;
	struct primary *p;
	struct ut_diag diag;
	const char *policy; /* serial-policy, or NULL */
};

static void diag_print(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

/* Write p.test (and plain.test, without acl) into f->dir. */
static void write_zone(struct pfix *f, const char *name, uint32_t serial, int www,
                       const char *extra)
{
	char text[2048], rel[64];
	zone_text(text, sizeof(text), serial, www, extra);
	snprintf(rel, sizeof(rel), "%szone", name); /* "p.test." + "zone" */
	ut_write(f->dir, rel, text);
}

/* A configuration and a primary over f->dir (which must exist), as a
 * (re)start makes them. */
static void pfix_start(struct pfix *f)
{
	char text[4096];
	snprintf(text, sizeof(text),
	         "acl:\n"
	         "  - id: xfr\n"
	         "    address: 127.0.0.0/8\n"
	         "    action: transfer\n"
	         "zone:\n"
	         "  - domain: " ZNAME "\n"
	         "    storage: %s\n"
	         "    acl: [xfr]\n"
	         "%s%s%s"
	         "  - domain: " PLAIN "\n"
	         "    storage: %s\n",
	         f->dir, f->policy ? "    serial-policy: " : "", f->policy ? f->policy : "",
	         f->policy ? "\n" : "", f->dir);
	f->conf = NULL;
	ck_assert_int_eq(
	    conf_load_buf("primary.conf", text, strlen(text), diag_print, NULL, &f->conf), 0);
	f->nspecs = 2;
	for (size_t i = 0; i < 2; i++) {
		const struct conf_zone *cz = &f->conf->zones[i];
		memcpy(f->specs[i].apex, cz->apex, cz->apex_len);
		f->specs[i].apex_len = cz->apex_len;
		f->specs[i].file = cz->file;
		f->specs[i].where = cz->where;
	}
	memset(&f->set, 0, sizeof(f->set));
	f->p = primary_new(NULL);
	ck_assert_ptr_nonnull(f->p);
	primary_hook(f->p, &f->set);
	primary_set_conf(f->p, f->conf);
}

static void pfix_new(struct pfix *f, const char *policy)
{
	memset(f, 0, sizeof(*f));
	ut_tmpdir(f->dir, sizeof(f->dir));
	f->policy = policy;
	write_zone(f, ZNAME, 7, 80, NULL);
	write_zone(f, PLAIN, 1, 80, NULL);
	pfix_start(f);
}

/* One reload: update, prepare, (publish), published. */
static struct zoneset_stats step(struct pfix *f)
{
	struct zonedb *db = NULL;
	struct zoneset_stats st;
	f->diag.n = 0;
	ck_assert_int_eq(zoneset_update(&f->set, f->specs, f->nspecs, false, NULL, 0, ut_diag_fn,
	                                &f->diag, &db, &st),
	                 0);
	ck_assert_ptr_nonnull(db);
	primary_prepare(f->p, &f->set);
	zonedb_free(db);
	primary_published(f->p, &f->set);
	return st;
}

/* The shutdown: the set cleared, its journals closed. */
static void pfix_stop(struct pfix *f)
{
	zoneset_clear(&f->set);
	primary_published(f->p, &f->set);
	primary_free(f->p);
	f->p = NULL;
	conf_free(f->conf);
	f->conf = NULL;
}

static void pfix_free(struct pfix *f)
{
	if (f->p)
		pfix_stop(f);
	ut_rmtree(f->dir);
}

static struct zone_state *state(struct pfix *f, const char *name)
{
	uint8_t apex[DNAME_MAX];
	size_t len = ut_name(name, apex);
	struct zone_state *s = zoneset_find(&f->set, apex, len);
	ck_assert_ptr_nonnull(s);
	return s;
}

static const struct zone *served(struct pfix *f, const char *name)
{
	struct zone_state *s = state(f, name);
	ck_assert_ptr_nonnull(s->zone);
	return s->zone;
}

static bool exists(const struct pfix *f, const char *rel)
{
	char path[1024];
	struct stat st;
	ut_path(path, sizeof(path), f->dir, rel);
	return stat(path, &st) == 0;
}

/* The A record of www served (its last octet), in p.test or s.test. */
static int www_of(const struct zone *z)
{
	char name[DNAME_STR_MAX];
	dname_to_str(z->apex, name, sizeof(name));
	char www[DNAME_STR_MAX + 8];
	snprintf(www, sizeof(www), "www.%s", name);
	const struct node *n = ut_node(z, www);
	ck_assert_ptr_nonnull(n);
	for (unsigned i = 0; i < n->nrrsets; i++) {
		const struct rrset *rs = &n->rrsets[i];
		if (rs->type == RRTYPE_A) {
			ck_assert_uint_eq(rs->count, 1);
			const uint8_t *w = rs->wire; /* TYPE CLASS TTL RDLEN RDATA */
			ck_assert_uint_eq(w[8] << 8 | w[9], 4);
			return w[RR_FIXED_LEN + 3];
		}
	}
	ck_abort_msg("www has no A");
	return -1;
}

/* The changesets from `from` to the serial served, counted. */
static size_t chain_len(const struct zone *z, uint32_t from)
{
	ck_assert_ptr_nonnull(z->journal);
	struct changeset **chain = NULL;
	size_t n = journal_find(z->journal, from, z->serial, &chain);
	journal_chain_free(chain, n);
	return n;
}

/* A record of a changeset: its type and, for A, the last octet. */
static void cs_expect(const struct changeset *cs, size_t *pos, uint16_t type, int a_last,
                      uint32_t soa_serial)
{
	struct changeset_rr rr;
	ck_assert_int_eq(changeset_next_rr(cs, pos, &rr), 1);
	ck_assert_uint_eq(rr.type, type);
	if (type == RRTYPE_A) {
		ck_assert_uint_eq(rr.rdlen, 4);
		ck_assert_int_eq(rr.rdata[3], a_last);
	} else if (type == RRTYPE_SOA) {
		const uint8_t *s = rr.rdata + rr.rdlen - 20;
		ck_assert_uint_eq((uint32_t)s[0] << 24 | s[1] << 16 | s[2] << 8 | s[3], soa_serial);
	}
}

/* The one changeset from `from` to the serial served: www's A from
 * `old_www` to `new_www`, nothing else. */
static void expect_www_change(const struct zone *z, uint32_t from, int old_www, int new_www)
{
	struct changeset **chain = NULL;
	size_t n = journal_find(z->journal, from, z->serial, &chain);
	ck_assert_uint_eq(n, 1);
	const struct changeset *cs = chain[0];
	ck_assert_uint_eq(cs->from, from);
	ck_assert_uint_eq(cs->to, z->serial);
	ck_assert_uint_eq(cs->nremoved, 1);
	ck_assert_uint_eq(cs->nadded, 1);
	size_t pos = 0;
	cs_expect(cs, &pos, RRTYPE_SOA, 0, from);
	cs_expect(cs, &pos, RRTYPE_A, old_www, 0);
	cs_expect(cs, &pos, RRTYPE_SOA, 0, z->serial);
	cs_expect(cs, &pos, RRTYPE_A, new_www, 0);
	struct changeset_rr rr;
	ck_assert_int_eq(changeset_next_rr(cs, &pos, &rr), 0);
	journal_chain_free(chain, n);
}

/* The first load leaves storage/<zone>.journal unopened while it has no
 * file (an empty journal serves no IXFR); the first change makes the file
 * and attaches the journal. */
START_TEST(first_load_opens_journal)
{
	struct pfix f;
	pfix_new(&f, NULL);
	struct zoneset_stats st = step(&f);
	ck_assert_uint_eq(st.loaded, 2);
	ck_assert_uint_eq(st.added, 2);
	const struct zone *z = served(&f, ZNAME);
	ck_assert_uint_eq(z->serial, 7);
	ck_assert_ptr_null(z->journal);
	ck_assert(!exists(&f, "p.test.journal"));
	ck_assert_int_eq(state(&f, ZNAME)->outcome, ZONE_OUTCOME_LOADED);
	char status[512];
	primary_status(f.p, state(&f, ZNAME), status, sizeof(status));
	ck_assert_ptr_nonnull(strstr(status, "journal empty"));
	/* nothing transferred out: no journal, no file */
	ck_assert_ptr_null(served(&f, PLAIN)->journal);
	ck_assert(!exists(&f, "plain.test.journal"));
	ck_assert(!exists(&f, "plain.test.serial"));
	/* what is served for the file, for the next start (every policy) */
	ck_assert(exists(&f, "p.test.serial"));
	/* a change: the journal is opened, its file made, and attached */
	write_zone(&f, ZNAME, 8, 81, NULL);
	step(&f);
	z = served(&f, ZNAME);
	ck_assert_ptr_nonnull(z->journal);
	ck_assert(exists(&f, "p.test.journal"));
	ck_assert_uint_eq(journal_depth(z->journal), 1);
	pfix_free(&f);
}
END_TEST

/* A newer serial: served, its difference in the journal. */
START_TEST(newer_serial_journaled)
{
	struct pfix f;
	pfix_new(&f, NULL);
	step(&f);
	write_zone(&f, ZNAME, 8, 81, NULL);
	step(&f);
	const struct zone *z = served(&f, ZNAME);
	ck_assert_int_eq(state(&f, ZNAME)->outcome, ZONE_OUTCOME_LOADED);
	ck_assert_uint_eq(z->serial, 8);
	ck_assert_int_eq(www_of(z), 81);
	expect_www_change(z, 7, 80, 81);
	/* and another: a chain of two */
	write_zone(&f, ZNAME, 9, 82, NULL);
	step(&f);
	z = served(&f, ZNAME);
	ck_assert_uint_eq(z->serial, 9);
	ck_assert_uint_eq(chain_len(z, 7), 2);
	ck_assert_uint_eq(chain_len(z, 8), 1);
	expect_www_change(z, 8, 81, 82);
	/* plain.test changes without any journal */
	write_zone(&f, PLAIN, 2, 81, NULL);
	step(&f);
	ck_assert_uint_eq(served(&f, PLAIN)->serial, 2);
	ck_assert_ptr_null(served(&f, PLAIN)->journal);
	ck_assert(!exists(&f, "plain.test.journal"));
	pfix_free(&f);
}
END_TEST

/* A change without a newer serial: refused, the old version stays. */
START_TEST(same_serial_refused)
{
	struct pfix f;
	pfix_new(&f, NULL);
	step(&f);
	const struct zone *before = served(&f, ZNAME);
	write_zone(&f, ZNAME, 7, 81, NULL);
	struct zoneset_stats st = step(&f);
	ck_assert_uint_eq(st.kept, 1);
	ck_assert_int_eq(state(&f, ZNAME)->outcome, ZONE_OUTCOME_KEPT);
	const struct zone *z = served(&f, ZNAME);
	ck_assert_ptr_eq(z, before);
	ck_assert_uint_eq(z->serial, 7);
	ck_assert_int_eq(www_of(z), 80);
	ck_assert_ptr_null(z->journal); /* nothing written: none opened (no file) */
	/* an older serial as well */
	write_zone(&f, ZNAME, 6, 81, NULL);
	step(&f);
	ck_assert_int_eq(state(&f, ZNAME)->outcome, ZONE_OUTCOME_KEPT);
	ck_assert_uint_eq(served(&f, ZNAME)->serial, 7);
	/* plain.test (no transfers): served as read, whatever the serial */
	write_zone(&f, PLAIN, 1, 81, NULL);
	step(&f);
	ck_assert_int_eq(state(&f, PLAIN)->outcome, ZONE_OUTCOME_LOADED);
	ck_assert_uint_eq(served(&f, PLAIN)->serial, 1);
	pfix_free(&f);
}
END_TEST

static uint32_t serial_file(const struct pfix *f, uint32_t *file_serial)
{
	char path[1024];
	ut_path(path, sizeof(path), f->dir, "p.test.serial");
	FILE *fp = fopen(path, "r");
	ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
	unsigned a = 0, b = 0;
	ck_assert_int_ge(fscanf(fp, "%u %u", &a, &b), 2);
	fclose(fp);
	*file_serial = a;
	return b;
}

/* serial-policy increment: served with old + 1, kept across a restart. */
START_TEST(increment_policy)
{
	struct pfix f;
	pfix_new(&f, "increment");
	step(&f);
	write_zone(&f, ZNAME, 7, 81, NULL);
	step(&f);
	const struct zone *z = served(&f, ZNAME);
	ck_assert_int_eq(state(&f, ZNAME)->outcome, ZONE_OUTCOME_LOADED);
	ck_assert_uint_eq(z->serial, 8);
	ck_assert_int_eq(www_of(z), 81);
	expect_www_change(z, 7, 80, 81);
	ck_assert(exists(&f, "p.test.serial"));
	uint32_t fs;
	ck_assert_uint_eq(serial_file(&f, &fs), 8);
	ck_assert_uint_eq(fs, 7);

	/* a restart with the same file: 8 again, the journal still good */
	pfix_stop(&f);
	pfix_start(&f);
	step(&f);
	z = served(&f, ZNAME);
	ck_assert_uint_eq(z->serial, 8);
	ck_assert_int_eq(www_of(z), 81);
	ck_assert_ptr_nonnull(z->journal);
	expect_www_change(z, 7, 80, 81);

	/* one more change at the same file serial: 9 */
	write_zone(&f, ZNAME, 7, 82, NULL);
	step(&f);
	z = served(&f, ZNAME);
	ck_assert_uint_eq(z->serial, 9);
	ck_assert_uint_eq(chain_len(z, 7), 2);
	ck_assert_uint_eq(serial_file(&f, &fs), 9);
	/* an operator raising the file's serial past it: served as written */
	write_zone(&f, ZNAME, 20, 83, NULL);
	step(&f);
	z = served(&f, ZNAME);
	ck_assert_uint_eq(z->serial, 20);
	ck_assert_uint_eq(chain_len(z, 7), 3);
	pfix_free(&f);
}
END_TEST

/* serial-policy unixtime: the serial becomes the time. */
START_TEST(unixtime_policy)
{
	struct pfix f;
	pfix_new(&f, "unixtime");
	step(&f);
	uint32_t t0 = (uint32_t)time(NULL);
	write_zone(&f, ZNAME, 7, 81, NULL);
	step(&f);
	const struct zone *z = served(&f, ZNAME);
	ck_assert_uint_ge(z->serial, t0);
	ck_assert_uint_le(z->serial, (uint32_t)time(NULL));
	ck_assert_int_eq(www_of(z), 81);
	expect_www_change(z, 7, 80, 81);
	uint32_t fs;
	ck_assert_uint_eq(serial_file(&f, &fs), z->serial);
	/* again within the same second: serial + 1, never the same */
	uint32_t s1 = z->serial;
	write_zone(&f, ZNAME, 7, 82, NULL);
	step(&f);
	z = served(&f, ZNAME);
	ck_assert(serial_newer(z->serial, s1));
	pfix_free(&f);
}
END_TEST

/* The file rewritten the same: nothing changes. */
START_TEST(touch_changes_nothing)
{
	struct pfix f;
	pfix_new(&f, NULL);
	step(&f);
	write_zone(&f, ZNAME, 8, 81, NULL);
	step(&f);
	const struct zone *before = served(&f, ZNAME);
	size_t depth = journal_depth(before->journal);
	for (int i = 0; i < 3; i++) {
		write_zone(&f, ZNAME, 8, 81, NULL);
		/* (plain.test, read again within ZONESET_RACY_NS of its
		 * last read, counts as loaded) */
		struct zoneset_stats st = step(&f);
		ck_assert_uint_eq(st.kept, 0);
		ck_assert_int_eq(state(&f, ZNAME)->outcome, ZONE_OUTCOME_UNCHANGED);
		ck_assert_ptr_eq(served(&f, ZNAME), before);
		ck_assert_uint_eq(journal_depth(before->journal), depth);
	}
	pfix_free(&f);
}
END_TEST

/* No acl, no notify: no journal file at all, the version served as read. */
START_TEST(no_transfers_no_journal)
{
	struct pfix f;
	memset(&f, 0, sizeof(f));
	ut_tmpdir(f.dir, sizeof(f.dir));
	write_zone(&f, PLAIN, 1, 80, NULL);
	char text[1024];
	snprintf(text, sizeof(text),
	         "acl:\n  - id: n\n    address: 127.0.0.0/8\n    action: notify\n"
	         "  - id: d\n    action: transfer\n    deny: on\n"
	         "zone:\n  - domain: " PLAIN "\n    storage: %s\n    acl: [n, d]\n"
	         "    serial-policy: increment\n",
	         f.dir);
	ck_assert_int_eq(conf_load_buf("p.conf", text, strlen(text), diag_print, NULL, &f.conf), 0);
	f.nspecs = 1;
	memcpy(f.specs[0].apex, f.conf->zones[0].apex, f.conf->zones[0].apex_len);
	f.specs[0].apex_len = f.conf->zones[0].apex_len;
	f.specs[0].file = f.conf->zones[0].file;
	f.specs[0].where = "test";
	f.p = primary_new(NULL);
	primary_hook(f.p, &f.set);
	primary_set_conf(f.p, f.conf);
	step(&f);
	ck_assert_ptr_null(served(&f, PLAIN)->journal);
	write_zone(&f, PLAIN, 1, 81, NULL); /* same serial: served anyway, not raised */
	step(&f);
	ck_assert_uint_eq(served(&f, PLAIN)->serial, 1);
	ck_assert_ptr_null(served(&f, PLAIN)->journal);
	ck_assert(!exists(&f, "plain.test.journal"));
	ck_assert(!exists(&f, "plain.test.serial"));
	pfix_free(&f);
}
END_TEST

/* Edited with a higher serial while shoal was down: the journal that ends
 * at the old serial is a break, dropped. */
START_TEST(restart_after_edit_breaks_journal)
{
	struct pfix f;
	pfix_new(&f, NULL);
	step(&f);
	write_zone(&f, ZNAME, 8, 81, NULL);
	step(&f);
	ck_assert_uint_eq(chain_len(served(&f, ZNAME), 7), 1);
	pfix_stop(&f);
	write_zone(&f, ZNAME, 9, 82, NULL);
	pfix_start(&f);
	step(&f);
	const struct zone *z = served(&f, ZNAME);
	ck_assert_uint_eq(z->serial, 9);
	ck_assert_ptr_nonnull(z->journal);
	ck_assert_uint_eq(chain_len(z, 7), 0);
	ck_assert_uint_eq(chain_len(z, 8), 0);
	ck_assert_uint_eq(journal_depth(z->journal), 0);
	/* and from there on it journals again */
	write_zone(&f, ZNAME, 10, 83, NULL);
	step(&f);
	z = served(&f, ZNAME);
	expect_www_change(z, 9, 82, 83);
	ck_assert_uint_eq(chain_len(z, 7), 0);
	pfix_free(&f);
}
END_TEST

/* A restart with the file unchanged keeps the journal. */
START_TEST(restart_same_file_keeps_journal)
{
	struct pfix f;
	pfix_new(&f, NULL);
	step(&f);
	write_zone(&f, ZNAME, 8, 81, NULL);
	step(&f);
	pfix_stop(&f);
	pfix_start(&f);
	step(&f);
	const struct zone *z = served(&f, ZNAME);
	ck_assert_uint_eq(z->serial, 8);
	expect_www_change(z, 7, 80, 81);
	pfix_free(&f);
}
END_TEST

/* A configuration over f->dir with `zone_extra` lines in p.test's entry
 * (acl or not), given to the running primary as a reload does. */
static void reload_conf(struct pfix *f, bool acl, const char *zone_extra)
{
	char text[4096];
	snprintf(text, sizeof(text),
	         "acl:\n"
	         "  - id: xfr\n"
	         "    address: 127.0.0.0/8\n"
	         "    action: transfer\n"
	         "zone:\n"
	         "  - domain: " ZNAME "\n"
	         "    storage: %s\n"
	         "%s"
	         "%s"
	         "  - domain: " PLAIN "\n"
	         "    storage: %s\n",
	         f->dir, acl ? "    acl: [xfr]\n" : "", zone_extra ? zone_extra : "", f->dir);
	struct conf *c = NULL;
	ck_assert_int_eq(conf_load_buf("primary.conf", text, strlen(text), diag_print, NULL, &c),
	                 0);
	primary_set_conf(f->p, c);
	for (size_t i = 0; i < 2; i++) {
		f->specs[i].file = c->zones[i].file;
		f->specs[i].where = c->zones[i].where;
	}
	conf_free(f->conf);
	f->conf = c;
}

/* journal-max-depth 2: the two newest differences stay. */
START_TEST(journal_depth_from_conf)
{
	struct pfix f;
	pfix_new(&f, NULL);
	reload_conf(&f, true, "    journal-max-depth: 2\n");
	step(&f);
	for (uint32_t s = 8; s <= 11; s++) {
		write_zone(&f, ZNAME, s, 70 + (int)s, NULL);
		step(&f);
	}
	const struct zone *z = served(&f, ZNAME);
	ck_assert_uint_eq(z->serial, 11);
	ck_assert_uint_eq(journal_depth(z->journal), 2);
	ck_assert_uint_eq(chain_len(z, 9), 2);
	ck_assert_uint_eq(chain_len(z, 10), 1);
	ck_assert_uint_eq(chain_len(z, 8), 0);
	ck_assert_uint_eq(chain_len(z, 7), 0);
	pfix_free(&f);
}
END_TEST

/* A zone that gains an acl at a reload journals from then on; one that
 * loses it is served as read (a same-serial change no longer refused). */
START_TEST(transfers_added_and_removed)
{
	struct pfix f;
	pfix_new(&f, NULL);
	reload_conf(&f, false, NULL);
	step(&f);
	ck_assert_ptr_null(served(&f, ZNAME)->journal);
	ck_assert(!exists(&f, "p.test.journal"));
	/* the acl comes with a new serial */
	reload_conf(&f, true, NULL);
	write_zone(&f, ZNAME, 8, 81, NULL);
	step(&f);
	const struct zone *z = served(&f, ZNAME);
	ck_assert_uint_eq(z->serial, 8);
	ck_assert(exists(&f, "p.test.journal"));
	expect_www_change(z, 7, 80, 81);
	/* and goes: a change without a new serial is served as read */
	reload_conf(&f, false, NULL);
	write_zone(&f, ZNAME, 8, 82, NULL);
	step(&f);
	z = served(&f, ZNAME);
	ck_assert_int_eq(state(&f, ZNAME)->outcome, ZONE_OUTCOME_LOADED);
	ck_assert_int_eq(www_of(z), 82);
	pfix_free(&f);
}
END_TEST

/* A zone dropped from the set: its journal closed once published (the
 * others go on); back at a restart, its journal file is read again. */
START_TEST(zone_removed_closes_journal)
{
	struct pfix f;
	pfix_new(&f, NULL);
	step(&f);
	write_zone(&f, ZNAME, 8, 81, NULL);
	step(&f);
	f.specs[0] = f.specs[1]; /* only plain.test */
	f.nspecs = 1;
	struct zoneset_stats st = step(&f);
	ck_assert_uint_eq(st.removed, 1);
	ck_assert_uint_eq(f.set.n, 1);
	pfix_stop(&f);
	pfix_start(&f);
	step(&f);
	expect_www_change(served(&f, ZNAME), 7, 80, 81);
	pfix_free(&f);
}
END_TEST

/* A reload that moves the zones' storage (and so their files), twice: the
 * journal and the serial file move with it each time, nothing left behind,
 * and the history goes on there. */
START_TEST(storage_move_moves_journal)
{
	struct pfix f;
	pfix_new(&f, NULL);
	step(&f);
	write_zone(&f, ZNAME, 8, 81, NULL);
	step(&f);
	ck_assert(exists(&f, "p.test.journal"));
	char old[2][512], path[1024];
	for (int k = 0; k < 2; k++) {
		snprintf(old[k], sizeof(old[k]), "%s", f.dir);
		ut_tmpdir(f.dir, sizeof(f.dir));
		write_zone(&f, ZNAME, 8, 81, NULL);
		write_zone(&f, PLAIN, 1, 80, NULL);
		reload_conf(&f, true, NULL);
		step(&f);
		struct zone_state *s = state(&f, ZNAME);
		ck_assert_str_eq(s->file, f.conf->zones[0].file);
		ck_assert_str_eq(s->where, f.conf->zones[0].where);
		ck_assert_str_eq(s->name, ZNAME);
		ck_assert_int_eq(s->outcome, ZONE_OUTCOME_UNCHANGED);
		ck_assert(exists(&f, "p.test.journal"));
		ck_assert(exists(&f, "p.test.serial"));
		ut_path(path, sizeof(path), old[k], "p.test.journal");
		ck_assert_msg(access(path, F_OK) < 0, "%s left behind", path);
		ut_path(path, sizeof(path), old[k], "p.test.serial");
		ck_assert_msg(access(path, F_OK) < 0, "%s left behind", path);
	}
	write_zone(&f, ZNAME, 9, 82, NULL);
	step(&f);
	const struct zone *z = served(&f, ZNAME);
	ck_assert_uint_eq(z->serial, 9);
	ck_assert_uint_eq(chain_len(z, 7), 2);
	pfix_free(&f);
	for (int k = 0; k < 2; k++)
		ut_rmtree(old[k]);
}
END_TEST

/* A journal of p.test in `dir` with one difference: serial `from` (www
 * .`a`) to `to` (www .`b`). */
static void p_journal(const char *dir, uint32_t from, int a, uint32_t to, int b)
{
	char text[2048], path[1024];
	uint8_t apex[DNAME_MAX];
	ut_name(ZNAME, apex);
	struct zone *v[2];
	for (int i = 0; i < 2; i++) {
		zone_text(text, sizeof(text), i ? to : from, i ? b : a, NULL);
		ut_write(dir, "p.version", text);
		ut_path(path, sizeof(path), dir, "p.version");
		struct ut_diag d = {0};
		v[i] = zone_load_file(path, apex, ut_diag_fn, &d, NULL);
		ck_assert_ptr_nonnull(v[i]);
		unlink(path);
	}
	struct changeset *cs = NULL;
	ck_assert_int_eq(zone_diff(v[0], v[1], &cs), 0);
	ut_path(path, sizeof(path), dir, "p.test.journal");
	struct journal *j = journal_open(path, from, 0, 0, NULL, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(journal_append(j, cs), 0);
	journal_close(j);
	changeset_unref(cs);
	zone_free(v[0]);
	zone_free(v[1]);
}

/* A zone without a journal file (no path kept for it) whose storage
 * moves: its serial file follows, the journal is looked for in the new
 * place (one waiting there is read: `waiting`), and the next change
 * journals there; nothing is made or left in the old place. */
START_TEST(storage_move_without_journal)
{
	for (int waiting = 0; waiting < 2; waiting++) {
		struct pfix f;
		pfix_new(&f, NULL);
		step(&f);
		ck_assert_ptr_null(served(&f, ZNAME)->journal);
		ck_assert(!exists(&f, "p.test.journal"));
		ck_assert(exists(&f, "p.test.serial"));
		char old[512], path[1024], status[512];
		snprintf(old, sizeof(old), "%s", f.dir);
		ut_tmpdir(f.dir, sizeof(f.dir));
		write_zone(&f, ZNAME, 7, 80, NULL);
		write_zone(&f, PLAIN, 1, 80, NULL);
		if (waiting)
			p_journal(f.dir, 6, 79, 7, 80);
		reload_conf(&f, true, NULL);
		step(&f);
		ck_assert(exists(&f, "p.test.serial"));
		const struct zone *z = served(&f, ZNAME);
		primary_status(f.p, state(&f, ZNAME), status, sizeof(status));
		if (waiting) {
			ck_assert_uint_eq(chain_len(z, 6), 1);
		} else {
			ck_assert_ptr_null(z->journal);
			ck_assert(!exists(&f, "p.test.journal"));
			ck_assert_ptr_nonnull(strstr(status, "journal empty"));
		}
		write_zone(&f, ZNAME, 8, 81, NULL);
		step(&f);
		z = served(&f, ZNAME);
		ck_assert_uint_eq(z->serial, 8);
		ck_assert(exists(&f, "p.test.journal"));
		ck_assert_uint_eq(chain_len(z, waiting ? 6 : 7), waiting ? 2 : 1);
		expect_www_change(z, 7, 80, 81);
		ut_path(path, sizeof(path), old, "p.test.journal");
		ck_assert_msg(access(path, F_OK) < 0, "%s made", path);
		ut_path(path, sizeof(path), old, "p.test.serial");
		ck_assert_msg(access(path, F_OK) < 0, "%s left behind", path);
		/* a restart at the new place reads the history there */
		pfix_stop(&f);
		pfix_start(&f);
		step(&f);
		expect_www_change(served(&f, ZNAME), 7, 80, 81);
		pfix_free(&f);
		ut_rmtree(old);
	}
}
END_TEST

/* p.test at `serial` with the SOA's refresh `refresh`, www .80. */
static void write_soa_zone(struct pfix *f, uint32_t serial, unsigned refresh)
{
	char text[1024];
	snprintf(text, sizeof(text),
	         "$TTL 3600\n"
	         "@ SOA ns1 hostmaster %u %u 3600 1209600 300\n"
	         "@ NS ns1\n"
	         "ns1 A 192.0.2.1\n"
	         "www A 192.0.2.80\n"
	         "mail A 192.0.2.25\n",
	         serial, refresh);
	ut_write(f->dir, "p.test.zone", text);
}

static unsigned refresh_of(const struct zone *z)
{
	const uint8_t *w = z->soa->wire;
	size_t rdlen = (size_t)(w[8] << 8 | w[9]);
	const uint8_t *t = w + RR_FIXED_LEN + rdlen - 16; /* REFRESH */
	return (unsigned)t[0] << 24 | t[1] << 16 | t[2] << 8 | t[3];
}

/* A change of the SOA alone is a change: refused at the same serial
 * (keep), raised (increment), journaled as a difference without records
 * at a newer serial. */
START_TEST(soa_only_change)
{
	static const char *const policies[] = {NULL, "increment"};
	for (int k = 0; k < 2; k++) {
		struct pfix f;
		pfix_new(&f, policies[k]);
		step(&f);
		write_soa_zone(&f, 7, 7201);
		step(&f);
		const struct zone *z = served(&f, ZNAME);
		if (!k) {
			ck_assert_int_eq(state(&f, ZNAME)->outcome, ZONE_OUTCOME_KEPT);
			ck_assert_uint_eq(z->serial, 7);
			ck_assert_uint_eq(refresh_of(z), 7200);
			write_soa_zone(&f, 8, 7201);
			step(&f);
			z = served(&f, ZNAME);
		}
		ck_assert_int_eq(state(&f, ZNAME)->outcome, ZONE_OUTCOME_LOADED);
		ck_assert_uint_eq(z->serial, 8);
		ck_assert_uint_eq(refresh_of(z), 7201);
		struct changeset **chain = NULL;
		ck_assert_uint_eq(journal_find(z->journal, 7, 8, &chain), 1);
		ck_assert_uint_eq(chain[0]->nremoved, 0);
		ck_assert_uint_eq(chain[0]->nadded, 0);
		journal_chain_free(chain, 1);
		pfix_free(&f);
	}
}
END_TEST

/* ---------------------------------------------------------------- known bugs */

/* The journal must only lead to the version served. p.test journals
 * 7 -> 8 (www .80 -> .81); its acl is removed and the file changed at the
 * same serial 8 (www .82: served as read, nothing journaled); the acl
 * comes back. The journal still holds 7 -> 8 and serve.c would answer an
 * IXFR from 7 with it: the secondary would end at "8" with www .81, not
 * what is served. Expected: no chain from 7 (the journal broken when a
 * version is served without its difference). */
START_TEST(journal_outlives_unjournaled_version)
{
	struct pfix f;
	pfix_new(&f, NULL);
	step(&f);
	write_zone(&f, ZNAME, 8, 81, NULL);
	step(&f);
	expect_www_change(served(&f, ZNAME), 7, 80, 81);
	reload_conf(&f, false, NULL);
	write_zone(&f, ZNAME, 8, 82, NULL);
	step(&f);
	ck_assert_int_eq(www_of(served(&f, ZNAME)), 82);
	reload_conf(&f, true, NULL);
	step(&f);
	const struct zone *z = served(&f, ZNAME);
	ck_assert_uint_eq(z->serial, 8);
	ck_assert_int_eq(www_of(z), 82);
	ck_assert_ptr_nonnull(z->journal);
	ck_assert_msg(chain_len(z, 7) == 0,
	              "the journal offers 7 -> 8 (www .80 -> .81) for a version 8 with www .82");
	pfix_free(&f);
}
END_TEST

/* The zone file's modification time moved `secs` ahead, its content
 * kept: what a `touch`, a checkout or a copy without -t does. */
static void touch_file(struct pfix *f, const char *rel, long secs)
{
	char path[1024];
	struct stat st;
	ut_path(path, sizeof(path), f->dir, rel);
	ck_assert_int_eq(stat(path, &st), 0);
	struct timespec ts[2] = {st.st_atim, st.st_mtim};
	ts[1].tv_sec += secs;
	ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* While shoal is down the zone file is touched, its content and serial
 * unchanged. primary.h: "the same content (a file touched, also after
 * its serial was raised) changes nothing". At the restart first_version
 * takes any other size or modification time for an edit: with keep it
 * logs "changed while shoal was down but its serial 8 is not newer than
 * the one served then, 8" and breaks the journal (7 -> 8 lost: every
 * secondary at 7 takes the whole zone); with increment it raises the
 * serial past the one served (8 -> 9: every secondary transfers a zone
 * that did not change) and breaks the journal too. Expected: the serial
 * served before, and the journal kept. */
START_TEST(restart_after_touch_keeps_journal)
{
	static const char *const policies[] = {NULL, "increment"};
	for (int k = 0; k < 2; k++) {
		struct pfix f;
		pfix_new(&f, policies[k]);
		step(&f);
		/* keep: the file goes to 8; increment: 7 raised to 8 */
		write_zone(&f, ZNAME, k ? 7 : 8, 81, NULL);
		step(&f);
		ck_assert_uint_eq(served(&f, ZNAME)->serial, 8);
		pfix_stop(&f);
		touch_file(&f, "p.test.zone", 10);
		pfix_start(&f);
		step(&f);
		const struct zone *z = served(&f, ZNAME);
		ck_assert_int_eq(www_of(z), 81);
		ck_assert_msg(z->serial == 8, "%s: a touched file served as %u after a restart",
		              k ? "increment" : "keep", z->serial);
		ck_assert_msg(chain_len(z, 7) == 1, "%s: the journal was dropped",
		              k ? "increment" : "keep");
		pfix_free(&f);
	}
}
END_TEST

/* ---------------------------------------------------------------- secondary zones */

#define SNAME "s.test."

/* A version of s.test with `serial` and www's last octet, as a file loads it. */
static struct zone *s_version(const char *dir, uint32_t serial, int www)
{
	char text[2048], rel[64];
	zone_text(text, sizeof(text), serial, www, NULL);
	snprintf(rel, sizeof(rel), "v%u-%d.zone", serial, www);
	ut_write(dir, rel, text);
	char path[1024];
	ut_path(path, sizeof(path), dir, rel);
	uint8_t apex[DNAME_MAX];
	ut_name(SNAME, apex);
	struct ut_diag d = {0};
	struct zone *z = zone_load_file(path, apex, ut_diag_fn, &d, NULL);
	ck_assert_ptr_nonnull(z);
	return z;
}

/* Journal s.test's differences a -> b, as a secondary received them. */
static void s_journal(const char *dir, const uint32_t (*steps)[4], size_t n)
{
	char path[1024];
	ut_path(path, sizeof(path), dir, "s.test.journal");
	struct journal *j = journal_open(path, steps[0][0], 0, 0, NULL, NULL);
	ck_assert_ptr_nonnull(j);
	for (size_t i = 0; i < n; i++) {
		/* from serial, from www, to serial, to www */
		struct zone *a = s_version(dir, steps[i][0], (int)steps[i][1]);
		struct zone *b = s_version(dir, steps[i][2], (int)steps[i][3]);
		struct changeset *cs = NULL;
		ck_assert_int_eq(zone_diff(a, b, &cs), 0);
		ck_assert_int_eq(journal_append(j, cs), 0);
		changeset_unref(cs);
		zone_free(a);
		zone_free(b);
	}
	journal_close(j);
}

/* Start as the server does: the secondary zone's copy (serial 7, www 80)
 * read through the primary's hooks. \return the version served */
static const struct zone *s_start(struct pfix *f)
{
	char text[1024];
	snprintf(text, sizeof(text),
	         "remote:\n  - id: pri\n    address: 192.0.2.53\n"
	         "zone:\n  - domain: " SNAME "\n    storage: %s\n    primary: pri\n",
	         f->dir);
	ck_assert_int_eq(conf_load_buf("s.conf", text, strlen(text), diag_print, NULL, &f->conf),
	                 0);
	const struct conf_zone *cz = &f->conf->zones[0];
	memcpy(f->specs[0].apex, cz->apex, cz->apex_len);
	f->specs[0].apex_len = cz->apex_len;
	f->specs[0].file = cz->file;
	f->specs[0].where = cz->where;
	f->specs[0].secondary = true;
	f->nspecs = 1;
	f->p = primary_new(NULL);
	primary_hook(f->p, &f->set);
	primary_set_conf(f->p, f->conf);
	step(f);
	return served(f, SNAME);
}

/* xfr/primary.h: a secondary's copy older than its journal (zonefile-sync)
 * is brought forward by replaying the journal; the journal then goes on
 * from the version served. */
START_TEST(secondary_copy_replayed)
{
	struct pfix f;
	memset(&f, 0, sizeof(f));
	ut_tmpdir(f.dir, sizeof(f.dir));
	write_zone(&f, SNAME, 7, 80, NULL);
	static const uint32_t steps[][4] = {{7, 80, 8, 81}, {8, 81, 9, 82}};
	s_journal(f.dir, steps, 2);
	const struct zone *z = s_start(&f);
	ck_assert_uint_eq(z->serial, 9);
	ck_assert_int_eq(www_of(z), 82);
	ck_assert_ptr_nonnull(z->journal);
	ck_assert_uint_eq(chain_len(z, 7), 2);
	/* the next transfer's difference goes on from there */
	struct zone *next = s_version(f.dir, 10, 83), *nine = s_version(f.dir, 9, 82);
	struct changeset *cs = NULL;
	ck_assert_int_eq(zone_diff(nine, next, &cs), 0);
	ck_assert_int_eq(primary_received(f.p, state(&f, SNAME), next, &cs, 1, false), 0);
	ck_assert_ptr_eq(next->journal, z->journal);
	uint32_t last = 0;
	ck_assert(journal_last_serial(z->journal, &last));
	ck_assert_uint_eq(last, 10);
	changeset_unref(cs);
	zone_free(nine);
	zone_free(next);
	pfix_free(&f);
}
END_TEST

/* A journal that does not continue from the copy is dropped: the copy
 * serves as it is; one that stops applying half way serves as far as it
 * goes, and is cut there (never offering a difference it cannot serve). */
START_TEST(secondary_copy_journal_cut)
{
	struct pfix f;
	memset(&f, 0, sizeof(f));
	ut_tmpdir(f.dir, sizeof(f.dir));
	write_zone(&f, SNAME, 7, 80, NULL);
	static const uint32_t other[][4] = {{10, 80, 11, 81}};
	s_journal(f.dir, other, 1);
	const struct zone *z = s_start(&f);
	ck_assert_uint_eq(z->serial, 7);
	ck_assert_int_eq(www_of(z), 80);
	pfix_stop(&f);

	/* 7 -> 8 fits; 8 -> 9 removes a www the version does not have */
	char path[1024];
	ut_path(path, sizeof(path), f.dir, "s.test.journal");
	unlink(path);
	static const uint32_t bad[][4] = {{7, 80, 8, 81}, {8, 99, 9, 82}};
	s_journal(f.dir, bad, 2);
	memset(&f.set, 0, sizeof(f.set));
	z = s_start(&f);
	ck_assert_uint_eq(z->serial, 8);
	ck_assert_int_eq(www_of(z), 81);
	ck_assert_uint_eq(chain_len(z, 7), 0);
	pfix_free(&f);
}
END_TEST

/* s.test's version `z` received (whole, or by the difference from the
 * one served), and served, as the server's main thread does. */
static void s_receive(struct pfix *f, struct zone *z, bool full)
{
	struct zone_state *s = state(f, SNAME);
	struct changeset *cs = NULL;
	if (!full)
		ck_assert_int_eq(zone_diff(s->zone, z, &cs), 0);
	ck_assert_int_eq(primary_received(f->p, s, z, &cs, cs ? 1 : 0, full), 0);
	changeset_unref(cs);
	zone_ref(z);
	zone_unref(s->zone);
	s->zone = z;
}

/* A catalog member's life: a secondary that only got whole zones has no
 * journal file and never a serial file; its storage moves (a reload, a
 * member taking another template), then a difference comes: the journal
 * is made in the new place, nothing in the old one, no serial file. */
START_TEST(secondary_storage_move_then_ixfr)
{
	struct pfix f;
	memset(&f, 0, sizeof(f));
	ut_tmpdir(f.dir, sizeof(f.dir));
	write_zone(&f, SNAME, 7, 80, NULL);
	ck_assert_ptr_null(s_start(&f)->journal);
	s_receive(&f, s_version(f.dir, 8, 81), true);
	ck_assert_ptr_null(served(&f, SNAME)->journal);
	ck_assert(!exists(&f, "s.test.journal"));
	char old[512], text[1024], status[512];
	snprintf(old, sizeof(old), "%s", f.dir);
	ut_tmpdir(f.dir, sizeof(f.dir));
	snprintf(text, sizeof(text),
	         "remote:\n  - id: pri\n    address: 192.0.2.53\n"
	         "zone:\n  - domain: " SNAME "\n    storage: %s\n    primary: pri\n",
	         f.dir);
	struct conf *c = NULL;
	ck_assert_int_eq(conf_load_buf("s.conf", text, strlen(text), diag_print, NULL, &c), 0);
	primary_set_conf(f.p, c);
	f.specs[0].file = c->zones[0].file;
	f.specs[0].where = c->zones[0].where;
	conf_free(f.conf);
	f.conf = c;
	step(&f);
	primary_status(f.p, state(&f, SNAME), status, sizeof(status));
	ck_assert_ptr_nonnull(strstr(status, "journal empty"));
	s_receive(&f, s_version(f.dir, 9, 82), false);
	const struct zone *z = served(&f, SNAME);
	ck_assert_ptr_nonnull(z->journal);
	ck_assert_uint_eq(chain_len(z, 8), 1);
	ck_assert(exists(&f, "s.test.journal"));
	ck_assert(!exists(&f, "s.test.serial"));
	char path[1024];
	ut_path(path, sizeof(path), old, "s.test.journal");
	ck_assert_msg(access(path, F_OK) < 0, "%s made", path);
	ut_path(path, sizeof(path), old, "s.test.serial");
	ck_assert_msg(access(path, F_OK) < 0, "%s made", path);
	pfix_free(&f);
	ut_rmtree(old);
}
END_TEST

/* ---------------------------------------------------------------- regressions */

/* serial-policy increment raised the file's serial 7 to 8; the file is
 * then touched (rewritten the same), or read again by `reload --force`:
 * the content is what is served, the file's serial the one it had, so
 * nothing should change (primary.h: "the same content with the same
 * serial (a file touched) changes nothing"). */
START_TEST(touch_after_raise_changes_nothing)
{
	struct pfix f;
	pfix_new(&f, "increment");
	step(&f);
	write_zone(&f, ZNAME, 7, 81, NULL);
	step(&f);
	const struct zone *before = served(&f, ZNAME);
	ck_assert_uint_eq(before->serial, 8);
	write_zone(&f, ZNAME, 7, 81, NULL); /* touched */
	step(&f);
	const struct zone *z = served(&f, ZNAME);
	ck_assert_msg(z->serial == 8, "a touched file raised the serial again: %u", z->serial);
	ck_assert_ptr_eq(z, before);
	ck_assert_uint_eq(journal_depth(z->journal), 1);
	pfix_free(&f);
}
END_TEST

/* serial-policy increment served file serial 7 as 8 (www .81); while
 * shoal is down the operator edits the file (www .82) and raises its
 * serial to 8. At the restart 8 must not be served again for other
 * content: secondaries at 8 would never see the change, and the journal's
 * 7->8 (www .80 -> .81) no longer leads to what is served. */
START_TEST(restart_raised_serial_reused)
{
	struct pfix f;
	pfix_new(&f, "increment");
	step(&f);
	write_zone(&f, ZNAME, 7, 81, NULL);
	step(&f);
	ck_assert_uint_eq(served(&f, ZNAME)->serial, 8);
	pfix_stop(&f);
	write_zone(&f, ZNAME, 8, 82, NULL);
	pfix_start(&f);
	step(&f);
	const struct zone *z = served(&f, ZNAME);
	ck_assert_int_eq(www_of(z), 82);
	ck_assert_msg(serial_newer(z->serial, 8),
	              "new content served with the serial 8 already served for other content "
	              "(got %u)",
	              z->serial);
	pfix_free(&f);
}
END_TEST

/* A file that fails: the previous version stays, the zone's state keeps
 * the first ZONESET_MSGS_MAX messages and counts every error; a load
 * that works drops them. The state's apex is the spec's. */
START_TEST(failed_load_messages)
{
	struct pfix f;
	pfix_new(&f, NULL);
	step(&f);
	struct zone_state *s = state(&f, ZNAME);
	ck_assert_str_eq(s->name, ZNAME);
	ck_assert_uint_eq(s->apex_len, f.specs[0].apex_len);
	ck_assert_mem_eq(s->apex, f.specs[0].apex, s->apex_len);
	ck_assert_ptr_null(s->msgs);
	ck_assert_uint_eq(s->nmsgs, 0);
	char bad[2048] = "";
	for (int i = 0; i < ZONESET_MSGS_MAX + 5; i++)
		snprintf(bad + strlen(bad), sizeof(bad) - strlen(bad), "bad%d A 192.0.2.300\n", i);
	write_zone(&f, ZNAME, 8, 81, bad);
	struct zoneset_stats st = step(&f);
	ck_assert_uint_eq(st.kept, 1);
	s = state(&f, ZNAME);
	ck_assert_int_eq(s->outcome, ZONE_OUTCOME_KEPT);
	ck_assert_uint_eq(served(&f, ZNAME)->serial, 7);
	ck_assert_uint_ge(s->nerrors, ZONESET_MSGS_MAX + 5);
	ck_assert_uint_eq(s->nmsgs, ZONESET_MSGS_MAX);
	ck_assert_ptr_nonnull(s->msgs);
	for (size_t i = 0; i < s->nmsgs; i++)
		ck_assert_ptr_nonnull(strstr(s->msgs[i], "zone:"));
	write_zone(&f, ZNAME, 9, 82, NULL);
	step(&f);
	s = state(&f, ZNAME);
	ck_assert_int_eq(s->outcome, ZONE_OUTCOME_LOADED);
	ck_assert_ptr_null(s->msgs);
	ck_assert_uint_eq(s->nmsgs, 0);
	ck_assert_uint_eq(s->nerrors, 0);
	pfix_free(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("primary");
	TCase *tc = tcase_create("primary");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, first_load_opens_journal);
	tcase_add_test(tc, newer_serial_journaled);
	tcase_add_test(tc, same_serial_refused);
	tcase_add_test(tc, increment_policy);
	tcase_add_test(tc, unixtime_policy);
	tcase_add_test(tc, touch_changes_nothing);
	tcase_add_test(tc, no_transfers_no_journal);
	tcase_add_test(tc, restart_after_edit_breaks_journal);
	tcase_add_test(tc, restart_same_file_keeps_journal);
	tcase_add_test(tc, journal_depth_from_conf);
	tcase_add_test(tc, transfers_added_and_removed);
	tcase_add_test(tc, zone_removed_closes_journal);
	tcase_add_test(tc, storage_move_moves_journal);
	tcase_add_test(tc, storage_move_without_journal);
	tcase_add_test(tc, soa_only_change);
	tcase_add_test(tc, secondary_copy_replayed);
	tcase_add_test(tc, secondary_copy_journal_cut);
	tcase_add_test(tc, secondary_storage_move_then_ixfr);
	suite_add_tcase(s, tc);
	tc = tcase_create("regressions");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, journal_outlives_unjournaled_version);
	tcase_add_test(tc, restart_after_touch_keeps_journal);
	tcase_add_test(tc, touch_after_raise_changes_nothing);
	tcase_add_test(tc, restart_raised_serial_reused);
	tcase_add_test(tc, failed_load_messages);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
