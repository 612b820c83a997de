/* check_journal.c: the zone journal (src/zone/journal.c): the chain in
 * memory and its limits, the file across a close and an open, and every
 * kind of damage the reader must survive (a torn tail, a flipped byte, a
 * bad magic, records that do not parse, a chain with a gap or not ending
 * at the serial served); RFC 1982 serial order.
 *
 * Changesets are built here from presentation records with ldns, not with
 * the diff module, so this test depends on the journal alone. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zone/journal.h"
#include "zone/serial.h"
#include "zone/zone_diff.h"
#include "unit.h"

/* ---- changesets by hand ---- */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
};

static void wbuf_rr(struct wbuf *b, const char *text)
{
	ldns_rr *rr = NULL;
	ldns_status st = ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL);
	ck_assert_msg(st == LDNS_STATUS_OK, "%s: %s", text, ldns_get_errorstr_by_id(st));
	uint8_t *w = NULL;
	size_t n = 0;
	/* the answer section: TTL and RDATA written, no name compressed */
	ck_assert_int_eq(ldns_rr2wire(&w, rr, LDNS_SECTION_ANSWER, &n), LDNS_STATUS_OK);
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		ck_assert_ptr_nonnull(b->p);
	}
	memcpy(b->p + b->len, w, n);
	b->len += n;
	free(w);
	ldns_rr_free(rr);
}

static void wbuf_soa(struct wbuf *b, uint32_t serial)
{
	char text[256];
	snprintf(text, sizeof(text),
		 "example. 3600 IN SOA ns.example. admin.example. %u 7200 3600 1209600 300",
		 serial);
	wbuf_rr(b, text);
}

/* from → to: `nrem` A records removed and `nadd` added, each with an
 * address of its own (so entries differ), plus `pad` octets of TXT to make
 * it larger. */
static struct changeset *cs_make_pad(uint32_t from, uint32_t to, unsigned nrem, unsigned nadd,
				     size_t pad)
{
	struct wbuf b = {0};
	char text[1024];
	wbuf_soa(&b, from);
	for (unsigned i = 0; i < nrem; i++) {
		snprintf(text, sizeof(text), "www.example. 300 IN A 192.0.2.%u", (from + i) % 250);
		wbuf_rr(&b, text);
	}
	wbuf_soa(&b, to);
	for (unsigned i = 0; i < nadd; i++) {
		snprintf(text, sizeof(text), "www.example. 300 IN A 198.51.100.%u",
			 (to + i) % 250);
		wbuf_rr(&b, text);
	}
	unsigned extra = 0;
	while (pad > 0) {
		size_t k = pad > 200 ? 200 : pad;
		char s[201];
		memset(s, 'x', k);
		s[k] = 0;
		snprintf(text, sizeof(text), "t%u.example. 300 IN TXT \"%s\"", extra, s);
		wbuf_rr(&b, text);
		extra++;
		pad -= k;
	}
	struct changeset *cs = changeset_new(from, to, nrem, nadd + extra, b.p, b.len);
	ck_assert_ptr_nonnull(cs);
	return cs;
}

static struct changeset *cs_make(uint32_t from, uint32_t to)
{
	return cs_make_pad(from, to, 1, 2, 0);
}

/* Append a fresh from → to and drop the test's own reference. */
static void add(struct journal *j, uint32_t from, uint32_t to)
{
	struct changeset *cs = cs_make(from, to);
	ck_assert_int_eq(journal_append(j, cs), 0);
	changeset_unref(cs);
}

/* ---- the log ---- */

#define LOGS_MAX 64

struct logs {
	unsigned n;
	char msg[LOGS_MAX][1024];
	enum log_level level[LOGS_MAX];
};

static void log_keep(void *ctx, enum log_level level, const char *msg)
{
	struct logs *l = ctx;
	fprintf(stderr, "  log: %s\n", msg); /* shown by meson on failure */
	if (l->n < LOGS_MAX) {
		l->level[l->n] = level;
		snprintf(l->msg[l->n], sizeof(l->msg[0]), "%s", msg);
	}
	l->n++;
}

/* Some message holds every one of the NULL-terminated strings. */
static bool logged(const struct logs *l, ...)
{
	for (unsigned i = 0; i < l->n && i < LOGS_MAX; i++) {
		va_list ap;
		va_start(ap, l);
		bool all = true;
		for (const char *s; (s = va_arg(ap, const char *));)
			if (!strstr(l->msg[i], s))
				all = false;
		va_end(ap);
		if (all)
			return true;
	}
	return false;
}

/* ---- files ---- */

static char dir[1024], path[1100];

static void setup(void)
{
	ut_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/example.journal", dir);
}

static void teardown(void)
{
	ut_rmtree(dir);
}

static size_t file_size(void)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	return (size_t)st.st_size;
}

static void file_patch(size_t off, uint8_t xor)
{
	int fd = open(path, O_RDWR);
	ck_assert_int_ge(fd, 0);
	uint8_t c;
	ck_assert_int_eq(pread(fd, &c, 1, (off_t)off), 1);
	c ^= xor;
	ck_assert_int_eq(pwrite(fd, &c, 1, (off_t)off), 1);
	close(fd);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Write a journal file by the format of journal.h, not through the
 * journal: `n` changesets (all released), in order. */
static void file_write(struct changeset **v, size_t n)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	uint8_t h[JOURNAL_ENTRY_HEADER_LEN];
	memcpy(h, JOURNAL_MAGIC, 8);
	put32(h + 8, JOURNAL_VERSION);
	put32(h + 12, 0);
	ck_assert_uint_eq(fwrite(h, 1, JOURNAL_HEADER_LEN, f), JOURNAL_HEADER_LEN);
	for (size_t i = 0; i < n; i++) {
		put32(h, v[i]->from);
		put32(h + 4, v[i]->to);
		put32(h + 8, v[i]->nremoved);
		put32(h + 12, v[i]->nadded);
		put32(h + 16, (uint32_t)v[i]->len);
		put32(h + 20, journal_crc32c(journal_crc32c(0, h, 20), v[i]->wire, v[i]->len));
		ck_assert_uint_eq(fwrite(h, 1, sizeof(h), f), sizeof(h));
		ck_assert_uint_eq(fwrite(v[i]->wire, 1, v[i]->len, f), v[i]->len);
		changeset_unref(v[i]);
	}
	ck_assert_int_eq(fclose(f), 0);
}

static size_t entry_len(uint32_t from, uint32_t to)
{
	struct changeset *cs = cs_make(from, to);
	size_t n = JOURNAL_ENTRY_HEADER_LEN + cs->len;
	changeset_unref(cs);
	return n;
}

/* The journal serves exactly from → to with `n` changesets, consecutive. */
static void serves(struct journal *j, uint32_t from, uint32_t to, size_t n)
{
	struct changeset **v;
	size_t k = journal_find(j, from, to, &v);
	ck_assert_msg(k == n, "find %u → %u: %zu changesets, expected %zu", from, to, k, n);
	if (!n) {
		ck_assert_ptr_null(v);
		return;
	}
	ck_assert_uint_eq(v[0]->from, from);
	ck_assert_uint_eq(v[n - 1]->to, to);
	for (size_t i = 1; i < n; i++)
		ck_assert_uint_eq(v[i]->from, v[i - 1]->to);
	journal_chain_free(v, k);
}

/* ---- the chain in memory ---- */

START_TEST(append_and_find_one)
{
	struct logs l = {0};
	struct journal *j = journal_open(path, 1, 0, 0, log_keep, &l);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(journal_depth(j), 0);
	ck_assert_uint_eq(journal_usage(j), JOURNAL_HEADER_LEN);
	uint32_t s = 0;
	ck_assert(!journal_first_serial(j, &s));
	serves(j, 1, 2, 0);

	struct changeset *cs = cs_make(1, 2);
	ck_assert_int_eq(journal_append(j, cs), 0);
	/* the journal holds its own reference */
	ck_assert_uint_eq(atomic_load(&cs->refs), 2);
	struct changeset **v;
	ck_assert_uint_eq(journal_find(j, 1, 2, &v), 1);
	ck_assert_ptr_eq(v[0], cs);
	ck_assert_uint_eq(atomic_load(&cs->refs), 3);
	journal_chain_free(v, 1);
	ck_assert_uint_eq(atomic_load(&cs->refs), 2);

	ck_assert(journal_first_serial(j, &s));
	ck_assert_uint_eq(s, 1);
	ck_assert(journal_last_serial(j, &s));
	ck_assert_uint_eq(s, 2);
	ck_assert_uint_eq(journal_usage(j), JOURNAL_HEADER_LEN + JOURNAL_ENTRY_HEADER_LEN + cs->len);
	ck_assert_uint_eq(journal_usage(j), file_size());
	serves(j, 2, 2, 0); /* up to date: the caller answers with the SOA */
	serves(j, 0, 2, 0);
	serves(j, 1, 3, 0);
	journal_close(j);
	ck_assert_uint_eq(atomic_load(&cs->refs), 1);
	changeset_unref(cs);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(find_several)
{
	struct logs l = {0};
	struct journal *j = journal_open(path, 10, 0, 0, log_keep, &l);
	ck_assert_ptr_nonnull(j);
	for (uint32_t s = 10; s < 15; s++)
		add(j, s, s + 1);
	ck_assert_uint_eq(journal_depth(j), 5);
	serves(j, 10, 15, 5);
	serves(j, 12, 15, 3);
	serves(j, 14, 15, 1);
	/* a chain ending before the newest (to_serial exactly) */
	serves(j, 10, 13, 3);
	serves(j, 11, 12, 1);
	/* serials it does not hold, or in the wrong order */
	serves(j, 9, 15, 0);
	serves(j, 16, 15, 0);
	serves(j, 10, 16, 0);
	serves(j, 13, 11, 0);
	serves(j, 15, 15, 0);
	ck_assert_uint_eq(journal_usage(j), file_size());
	journal_close(j);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(serials_wrap)
{
	/* a chain across 2^32: 0xfffffffe → 0xffffffff → 0 → 1 */
	struct journal *j = journal_open(path, 0xfffffffeu, 0, 0, log_keep, &(struct logs){0});
	add(j, 0xfffffffeu, 0xffffffffu);
	add(j, 0xffffffffu, 0);
	add(j, 0, 1);
	ck_assert_uint_eq(journal_depth(j), 3);
	serves(j, 0xfffffffeu, 1, 3);
	journal_close(j);
}
END_TEST

START_TEST(break_on_append)
{
	struct logs l = {0};
	struct journal *j = journal_open(path, 1, 0, 0, log_keep, &l);
	add(j, 1, 2);
	add(j, 2, 3);
	/* not from 3: the zone changed without a difference in between */
	add(j, 7, 8);
	ck_assert_uint_eq(journal_depth(j), 1);
	serves(j, 1, 3, 0);
	serves(j, 7, 8, 1);
	ck_assert(logged(&l, "break", "ending at 3", NULL));
	ck_assert_uint_eq(journal_usage(j), file_size());
	/* a serial that does not increase (RFC 1982): a break, not kept */
	add(j, 8, 5);
	ck_assert_uint_eq(journal_depth(j), 0);
	ck_assert(logged(&l, "not newer", NULL));
	ck_assert_uint_eq(file_size(), JOURNAL_HEADER_LEN);
	journal_close(j);
}
END_TEST

START_TEST(refuses_bad_wire)
{
	struct logs l = {0};
	struct journal *j = journal_open(path, 1, 0, 0, log_keep, &l);
	add(j, 1, 2);
	struct changeset *cs = cs_make(2, 3);
	cs->nadded++; /* one record more than the blob holds */
	ck_assert_int_eq(journal_append(j, cs), -EINVAL);
	ck_assert_uint_eq(atomic_load(&cs->refs), 1);
	cs->nadded--;
	cs->to = 4; /* the header's serial is not the new SOA's */
	ck_assert_int_eq(journal_append(j, cs), -EINVAL);
	changeset_unref(cs);
	ck_assert_uint_eq(journal_depth(j), 1);
	ck_assert(logged(&l, "refused", "records, not", NULL));
	ck_assert(logged(&l, "refused", "serial 3, not 4", NULL));
	journal_close(j);
}
END_TEST

START_TEST(wire_check_cases)
{
	char why[256];
	struct changeset *cs = cs_make(5, 6);
	uint8_t *w = cs->wire;
	ck_assert(journal_wire_check(w, cs->len, 5, 6, 1, 2, why, sizeof(why)));
	ck_assert(!journal_wire_check(w, cs->len, 4, 6, 1, 2, why, sizeof(why)));
	ck_assert_msg(strstr(why, "old SOA") != NULL, "%s", why);
	ck_assert(!journal_wire_check(w, cs->len, 5, 6, 2, 1, why, sizeof(why)));
	ck_assert_msg(strstr(why, "record 2") != NULL && strstr(why, "SOA among") != NULL, "%s", why);
	/* the blob cut in the middle of the last record */
	ck_assert(!journal_wire_check(w, cs->len - 1, 5, 6, 1, 2, why, sizeof(why)));
	ck_assert_msg(strstr(why, "past the end") != NULL, "%s", why);
	/* an owner made a compression pointer */
	w[0] = 0xc0;
	ck_assert(!journal_wire_check(w, cs->len, 5, 6, 1, 2, why, sizeof(why)));
	ck_assert_msg(strstr(why, "0xc0") != NULL, "%s", why);
	changeset_unref(cs);

	/* an SOA among the changes */
	struct wbuf b = {0};
	wbuf_soa(&b, 1);
	wbuf_soa(&b, 2);
	wbuf_soa(&b, 3);
	ck_assert(!journal_wire_check(b.p, b.len, 1, 3, 1, 0, why, sizeof(why)));
	ck_assert(!journal_wire_check(b.p, b.len, 1, 2, 0, 1, why, sizeof(why)));
	ck_assert_msg(strstr(why, "an SOA among") != NULL, "%s", why);
	free(b.p);

	/* the new SOA at another owner */
	b = (struct wbuf){0};
	wbuf_soa(&b, 1);
	wbuf_rr(&b, "other. 3600 IN SOA ns.example. admin.example. 2 7200 3600 1209600 300");
	ck_assert(!journal_wire_check(b.p, b.len, 1, 2, 0, 0, why, sizeof(why)));
	ck_assert_msg(strstr(why, "owner") != NULL, "%s", why);
	free(b.p);
	/* the same owner in another case is the same owner */
	b = (struct wbuf){0};
	wbuf_soa(&b, 1);
	wbuf_rr(&b, "EXAMPLE. 3600 IN SOA ns.example. admin.example. 2 7200 3600 1209600 300");
	ck_assert(journal_wire_check(b.p, b.len, 1, 2, 0, 0, why, sizeof(why)));
	free(b.p);
	ck_assert(!journal_wire_check(NULL, 0, 1, 2, 0, 0, why, sizeof(why)));
}
END_TEST

/* ---- limits ---- */

START_TEST(limit_depth)
{
	struct logs l = {0};
	struct journal *j = journal_open(path, 1, 3, 0, log_keep, &l);
	for (uint32_t s = 1; s <= 6; s++)
		add(j, s, s + 1);
	ck_assert_uint_eq(journal_depth(j), 3);
	uint32_t first;
	ck_assert(journal_first_serial(j, &first));
	ck_assert_uint_eq(first, 4);
	serves(j, 4, 7, 3);
	serves(j, 3, 7, 0);
	ck_assert_uint_eq(journal_usage(j), file_size());
	journal_close(j);

	/* the file holds the same three */
	j = journal_open(path, 7, 3, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 3);
	serves(j, 4, 7, 3);
	journal_close(j);
	/* opened with a lower limit: trimmed on reading, and said */
	j = journal_open(path, 7, 2, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 2);
	serves(j, 5, 7, 2);
	ck_assert(logged(&l, "over the limits", NULL));
	ck_assert_uint_eq(journal_usage(j), file_size());
	journal_close(j);
	ck_assert_uint_eq(l.level[l.n - 1], LOG_LVL_INFO);
}
END_TEST

START_TEST(dropped_entries_stay_until_compaction)
{
	/* At its depth (3 here) every append drops the oldest; the file keeps
	 * up to 3 dropped entries before the chain and is rewritten (a new
	 * inode, by rename) only when a 4th would join them. */
	struct logs l = {0};
	struct journal *j = journal_open(path, 1, 3, 0, log_keep, &l);
	struct stat st;
	for (uint32_t s = 1; s <= 3; s++)
		add(j, s, s + 1);
	ck_assert_int_eq(stat(path, &st), 0);
	ino_t ino = st.st_ino;
	unsigned rewrites = 0;
	for (uint32_t s = 4; s <= 10; s++) {
		add(j, s, s + 1);
		ck_assert_int_eq(stat(path, &st), 0);
		bool rewritten = st.st_ino != ino;
		ck_assert_msg(rewritten == (s == 7), "append %u→%u: rewritten %d", s, s + 1,
			      rewritten);
		rewrites += rewritten;
		ino = st.st_ino;
		ck_assert_uint_eq(journal_depth(j), 3);
		ck_assert_uint_eq(journal_usage(j), file_size());
		ck_assert_uint_le(file_size(), JOURNAL_HEADER_LEN + 6 * entry_len(10, 11));
	}
	ck_assert_uint_eq(rewrites, 1); /* in 7 appends, not 7 */
	serves(j, 8, 11, 3);
	serves(j, 7, 11, 0); /* dropped: in the file, but not offered */
	journal_close(j);
	/* the file holds 3 dropped and 3 live: open skips the first three
	 * without a word and without rewriting */
	ck_assert_uint_eq(file_size(), JOURNAL_HEADER_LEN + 6 * entry_len(10, 11));
	j = journal_open(path, 11, 3, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 3);
	serves(j, 8, 11, 3);
	serves(j, 7, 11, 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_ino, ino);
	/* and appending goes on from there: a 4th dropped one compacts */
	add(j, 11, 12);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_ne(st.st_ino, ino);
	ck_assert_uint_eq(file_size(), JOURNAL_HEADER_LEN + 3 * entry_len(10, 11));
	journal_close(j);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(limit_usage)
{
	struct logs l = {0};
	/* changesets of one size (serials and addresses of equal width) */
	size_t e = entry_len(100, 101);
	ck_assert_uint_eq(entry_len(105, 106), e);
	/* room for two and a half */
	size_t max = JOURNAL_HEADER_LEN + 2 * e + e / 2;
	struct journal *j = journal_open(path, 100, 0, max, log_keep, &l);
	for (uint32_t s = 100; s < 106; s++) {
		add(j, s, s + 1);
		ck_assert_uint_le(journal_usage(j), max);
		ck_assert_uint_le(file_size(), max);
	}
	ck_assert_uint_eq(journal_depth(j), 2);
	serves(j, 104, 106, 2);
	ck_assert_uint_eq(l.n, 0);

	/* one changeset larger than the whole limit: none kept */
	struct changeset *big = cs_make_pad(106, 107, 1, 1, 2 * e);
	ck_assert_int_eq(journal_append(j, big), 0);
	ck_assert_uint_eq(atomic_load(&big->refs), 1);
	changeset_unref(big);
	ck_assert_uint_eq(journal_depth(j), 0);
	ck_assert(logged(&l, "over the limit", "not kept", NULL));
	ck_assert_uint_eq(file_size(), JOURNAL_HEADER_LEN);
	/* and the next one starts a chain again */
	add(j, 107, 108);
	serves(j, 107, 108, 1);
	journal_close(j);
}
END_TEST

/* ---- the file ---- */

START_TEST(round_trip)
{
	struct logs l = {0};
	struct journal *j = journal_open(path, 1, 0, 0, log_keep, &l);
	struct changeset *kept[4];
	for (uint32_t s = 1; s <= 4; s++) {
		kept[s - 1] = cs_make_pad(s, s + 1, s, s + 1, s * 100);
		ck_assert_int_eq(journal_append(j, kept[s - 1]), 0);
	}
	size_t usage = journal_usage(j);
	journal_close(j);
	ck_assert_uint_eq(file_size(), usage);

	j = journal_open(path, 5, 0, 0, log_keep, &l);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(journal_depth(j), 4);
	ck_assert_uint_eq(journal_usage(j), usage);
	struct changeset **v;
	ck_assert_uint_eq(journal_find(j, 1, 5, &v), 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_uint_eq(v[i]->from, kept[i]->from);
		ck_assert_uint_eq(v[i]->to, kept[i]->to);
		ck_assert_uint_eq(v[i]->nremoved, kept[i]->nremoved);
		ck_assert_uint_eq(v[i]->nadded, kept[i]->nadded);
		ck_assert_uint_eq(v[i]->len, kept[i]->len);
		ck_assert(memcmp(v[i]->wire, kept[i]->wire, v[i]->len) == 0);
		changeset_unref(kept[i]);
	}
	journal_chain_free(v, 4);
	/* and it goes on appending where it was */
	add(j, 5, 6);
	serves(j, 1, 6, 5);
	journal_close(j);
	j = journal_open(path, 6, 0, 0, log_keep, &l);
	serves(j, 1, 6, 5);
	journal_close(j);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(torn_tail)
{
	struct logs l = {0};
	struct journal *j = journal_open(path, 1, 0, 0, log_keep, &l);
	add(j, 1, 2);
	add(j, 2, 3);
	size_t two = journal_usage(j);
	add(j, 3, 4);
	journal_close(j);
	/* a crash in the middle of the third append: the zone file was not
	 * written either, so serial 3 is served after the restart */
	ck_assert_int_eq(truncate(path, (off_t)(two + JOURNAL_ENTRY_HEADER_LEN + 7)), 0);
	j = journal_open(path, 3, 0, 0, log_keep, &l);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(journal_depth(j), 2);
	serves(j, 1, 3, 2);
	ck_assert(logged(&l, path, "entry 2", "torn", NULL));
	/* the tail is cut off the file, and appends go on after it */
	ck_assert_uint_eq(file_size(), two);
	add(j, 3, 4);
	journal_close(j);

	/* a crash in the middle of a rewrite leaves "<path>.tmp": the file
	 * itself is whole (the rename did not happen), the leftover goes */
	char tmp[1200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ut_write(dir, "example.journal.tmp", "SHOALJNL half a rewrite");
	l.n = 0;
	j = journal_open(path, 4, 0, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 3);
	ck_assert(logged(&l, "removed", ".tmp", NULL));
	ck_assert_int_eq(access(tmp, F_OK), -1);
	journal_close(j);

	/* torn inside an entry header this time */
	ck_assert_int_eq(truncate(path, (off_t)(two + 5)), 0);
	l.n = 0;
	j = journal_open(path, 3, 0, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 2);
	ck_assert(logged(&l, "entry 2", "torn", NULL));
	journal_close(j);
	l.n = 0;
	j = journal_open(path, 3, 0, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 2);
	ck_assert_uint_eq(l.n, 0); /* repaired the first time */
	journal_close(j);
}
END_TEST

START_TEST(flipped_byte)
{
	struct logs l = {0};
	struct journal *j = journal_open(path, 1, 0, 0, log_keep, &l);
	add(j, 1, 2);
	size_t one = journal_usage(j);
	add(j, 2, 3);
	size_t two = journal_usage(j);
	add(j, 3, 4);
	journal_close(j);

	/* a byte of the second entry's records: it is dropped, and with it
	 * the first (no longer joined to the serial served); the third,
	 * whole and ending at the serial served, is kept */
	file_patch(one + JOURNAL_ENTRY_HEADER_LEN + 30, 0x20);
	j = journal_open(path, 4, 0, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 1);
	serves(j, 3, 4, 1);
	serves(j, 1, 4, 0);
	char where[64];
	snprintf(where, sizeof(where), "entry 1 at offset %zu", one);
	ck_assert(logged(&l, path, where, "checksum", NULL));
	snprintf(where, sizeof(where), "entry 2 at offset %zu", two);
	ck_assert(logged(&l, where, "from serial 3", "entries 0 to 0 dropped", NULL));
	ck_assert_uint_eq(journal_usage(j), file_size());
	journal_close(j);

	/* a byte of the last entry's header: nothing ends at the serial
	 * served any more, so nothing is kept */
	j = journal_open(path, 4, 0, 0, log_keep, &l);
	size_t last = journal_usage(j);
	add(j, 4, 5);
	journal_close(j);
	file_patch(last + 4, 0x01); /* its `to` */
	l.n = 0;
	j = journal_open(path, 5, 0, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 0);
	ck_assert(logged(&l, "entry 1", "checksum", NULL));
	ck_assert(logged(&l, "ends at serial 4", "served at 5", NULL));
	ck_assert_uint_eq(file_size(), JOURNAL_HEADER_LEN);
	journal_close(j);
}
END_TEST

START_TEST(records_do_not_parse)
{
	/* a sound checksum over records that are not what the entry says:
	 * a writer's bug, not the disk's; dropped as well, with the reason */
	struct changeset *v[3] = {cs_make(1, 2), cs_make(2, 3), cs_make(3, 4)};
	v[1]->nadded = 5;
	size_t off = JOURNAL_HEADER_LEN + JOURNAL_ENTRY_HEADER_LEN + v[0]->len;
	file_write(v, 3);
	struct logs l = {0};
	struct journal *j = journal_open(path, 4, 0, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 1);
	char where[64];
	snprintf(where, sizeof(where), "entry 1 at offset %zu", off);
	ck_assert(logged(&l, where, "records, not 8", NULL));
	journal_close(j);
}
END_TEST

START_TEST(serial_not_increasing_in_file)
{
	/* 1→2, then 2→2 (no journal_append writes it): the second is
	 * dropped, and the first still ends at the serial served */
	struct changeset *v[2] = {cs_make(1, 2), cs_make(2, 2)};
	file_write(v, 2);
	struct logs l = {0};
	struct journal *j = journal_open(path, 2, 0, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 1);
	serves(j, 1, 2, 1);
	ck_assert(logged(&l, "entry 1 at offset", "serial 2 is not newer than 2", NULL));
	journal_close(j);
}
END_TEST

START_TEST(garbage_logged_in_few_lines)
{
	/* a sound header, then 100 entry headers of zeros: each frames the
	 * next (length 0), and none checks */
	size_t size = JOURNAL_HEADER_LEN + 100 * JOURNAL_ENTRY_HEADER_LEN;
	uint8_t *buf = calloc(1, size);
	memcpy(buf, JOURNAL_MAGIC, 8);
	put32(buf + 8, JOURNAL_VERSION);
	ut_write_n(dir, "example.journal", (const char *)buf, size);
	free(buf);
	struct logs l = {0};
	struct journal *j = journal_open(path, 1, 0, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 0);
	ck_assert_uint_le(l.n, 10);
	ck_assert(logged(&l, "entry 7 at offset", "checksum", NULL));
	ck_assert(logged(&l, "92 more damaged entries", NULL));
	ck_assert_uint_eq(file_size(), JOURNAL_HEADER_LEN);
	journal_close(j);
}
END_TEST

START_TEST(bad_magic)
{
	struct logs l = {0};
	struct journal *j = journal_open(path, 1, 0, 0, log_keep, &l);
	add(j, 1, 2);
	journal_close(j);
	file_patch(0, 0x01);
	j = journal_open(path, 2, 0, 0, log_keep, &l);
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_eq(journal_depth(j), 0);
	ck_assert(logged(&l, path, "offset 0", "magic", "dropped", NULL));
	ck_assert_uint_eq(file_size(), JOURNAL_HEADER_LEN);
	add(j, 2, 3);
	journal_close(j);
	l.n = 0;
	j = journal_open(path, 3, 0, 0, log_keep, &l);
	serves(j, 2, 3, 1);
	ck_assert_uint_eq(l.n, 0);
	journal_close(j);

	/* another version */
	file_patch(11, 0x02);
	j = journal_open(path, 3, 0, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 0);
	ck_assert(logged(&l, "version 3", NULL));
	journal_close(j);

	/* a file shorter than its header, and one of garbage */
	ut_write_n(dir, "example.journal", "SHOAL", 5);
	j = journal_open(path, 3, 0, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 0);
	journal_close(j);
	char junk[4096];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7 + 3);
	ut_write_n(dir, "example.journal", junk, sizeof(junk));
	j = journal_open(path, 3, 0, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 0);
	journal_close(j);
	ck_assert_uint_eq(file_size(), JOURNAL_HEADER_LEN);
}
END_TEST

START_TEST(chain_not_ending_at_served)
{
	struct logs l = {0};
	struct journal *j = journal_open(path, 1, 0, 0, log_keep, &l);
	add(j, 1, 2);
	add(j, 2, 3);
	journal_close(j);
	/* the zone file says 9: edited while shoal was down */
	j = journal_open(path, 9, 0, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 0);
	serves(j, 1, 3, 0);
	ck_assert(logged(&l, path, "ends at serial 3", "served at 9", "break", NULL));
	ck_assert_int_eq(l.level[0], LOG_LVL_INFO);
	ck_assert_uint_eq(file_size(), JOURNAL_HEADER_LEN);
	journal_close(j);
}
END_TEST

/* A secondary's copy older than its journal (zonefile-sync): the chain
 * that passes through the copy's serial is kept, to be replayed; one that
 * does not is dropped as by journal_open. */
START_TEST(open_ahead_keeps_chain_past_copy)
{
	struct logs l = {0};
	struct journal *j = journal_open(path, 1, 0, 0, log_keep, &l);
	add(j, 1, 2);
	add(j, 2, 3);
	add(j, 3, 4);
	journal_close(j);
	/* the copy was saved at 2 */
	j = journal_open_ahead(path, 2, 0, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 3);
	uint32_t last = 0;
	ck_assert(journal_last_serial(j, &last));
	ck_assert_uint_eq(last, 4);
	serves(j, 2, 4, 2);
	journal_close(j);
	/* ending at the copy: kept, as journal_open keeps it */
	j = journal_open_ahead(path, 4, 0, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 3);
	journal_close(j);
	/* a copy the chain does not pass through (4 → 9 unknown): dropped */
	j = journal_open_ahead(path, 9, 0, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 0);
	ck_assert(logged(&l, "ends at serial 4", "served at 9", NULL));
	journal_close(j);
}
END_TEST

START_TEST(chain_with_a_gap)
{
	/* written by hand: 1→2, then 5→6→7 (no entry 2→5) */
	struct changeset *v[4] = {cs_make(1, 2), cs_make(5, 6), cs_make(6, 7)};
	file_write(v, 3);
	struct logs l = {0};
	struct journal *j = journal_open(path, 7, 0, 0, log_keep, &l);
	ck_assert_uint_eq(journal_depth(j), 2);
	serves(j, 5, 7, 2);
	serves(j, 1, 7, 0);
	ck_assert(logged(&l, "entry 1", "from serial 5", "entry 0 ends at 2", NULL));
	journal_close(j);
}
END_TEST

START_TEST(break_empties)
{
	struct logs l = {0};
	struct journal *j = journal_open(path, 1, 0, 0, log_keep, &l);
	add(j, 1, 2);
	add(j, 2, 3);
	struct changeset **v;
	/* an IXFR in progress keeps what it sends */
	ck_assert_uint_eq(journal_find(j, 1, 3, &v), 2);
	journal_break(j, 9);
	ck_assert_uint_eq(journal_depth(j), 0);
	ck_assert_uint_eq(journal_usage(j), JOURNAL_HEADER_LEN);
	ck_assert(logged(&l, "break at serial 9", "from 1 to 3", NULL));
	ck_assert_uint_eq(v[1]->to, 3);
	journal_chain_free(v, 2);
	serves(j, 1, 3, 0);
	ck_assert_uint_eq(file_size(), JOURNAL_HEADER_LEN);
	add(j, 9, 10);
	journal_close(j);
	l.n = 0;
	j = journal_open(path, 10, 0, 0, log_keep, &l);
	serves(j, 9, 10, 1);
	ck_assert_uint_eq(l.n, 0);
	journal_close(j);
}
END_TEST

START_TEST(write_fails)
{
	/* RLIMIT_FSIZE makes writes past a size fail with EFBIG (as a full
	 * disk would with ENOSPC), and works for root, which permissions do
	 * not stop. This case runs in a process of its own (CK_FORK). */
	signal(SIGXFSZ, SIG_IGN);
	struct logs l = {0};
	struct journal *j = journal_open(path, 1, 3, 0, log_keep, &l);
	add(j, 1, 2);
	struct rlimit old, lim;
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = file_size() + 10;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	/* an append: kept in memory, and said */
	add(j, 2, 3);
	ck_assert_uint_eq(journal_depth(j), 2);
	serves(j, 1, 3, 2);
	ck_assert(logged(&l, "writing changeset 2 to 3", "kept in memory", NULL));
	/* cut back: the file holds the first entry alone, whole */
	ck_assert_uint_eq(file_size(), JOURNAL_HEADER_LEN + entry_len(1, 2));
	/* a rewrite (the file is behind) fails too; and a trim */
	add(j, 3, 4);
	add(j, 4, 5);
	ck_assert_uint_eq(journal_depth(j), 3);
	serves(j, 2, 5, 3);
	ck_assert(logged(&l, "writing changeset 4 to 5", NULL));
	/* the old file is still whole: it ends at 2, and a restart now
	 * would drop it (not served any more) */
	ck_assert_uint_eq(file_size(), JOURNAL_HEADER_LEN + entry_len(1, 2));
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	/* room again: the next change writes it all */
	add(j, 5, 6);
	ck_assert_uint_eq(journal_usage(j), file_size());
	journal_close(j);
	l.n = 0;
	j = journal_open(path, 6, 3, 0, log_keep, &l);
	serves(j, 3, 6, 3);
	ck_assert_uint_eq(l.n, 0);

	/* and if it fails until the end, close tries once more */
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	add(j, 6, 7);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	journal_close(j);
	l.n = 0;
	j = journal_open(path, 7, 3, 0, log_keep, &l);
	serves(j, 4, 7, 3);
	ck_assert_uint_eq(l.n, 0);
	journal_close(j);
}
END_TEST

/* 120 rounds of damage to a journal of 5 changesets made with `depth`
 * (0: no limit; 3: the file also holds the 2 dropped before them); kept[k]
 * counts the rounds that kept k. */
static void damage_rounds(size_t depth_limit, unsigned kept[6])
{
	struct journal *j = journal_open(path, 1, depth_limit, 0, log_keep, &(struct logs){0});
	for (uint32_t s = 1; s <= 5; s++)
		add(j, s, s + 1);
	journal_close(j);
	size_t size = file_size();
	char *pristine = malloc(size);
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(pristine, 1, size, f), size);
	fclose(f);
	size_t most = depth_limit ? depth_limit : 5;
	unsigned seed = 12345;
	for (int round = 0; round < 120; round++) {
		ut_write_n(dir, "example.journal", pristine, size);
		seed = seed * 1103515245u + 12345u;
		unsigned what = (seed >> 16) % 4;
		for (int k = 0; k <= (int)(what == 3 ? (seed >> 8) % 8 : 0); k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 4) % size;
			if (what == 0)
				ck_assert_int_eq(truncate(path, (off_t)at), 0);
			else
				file_patch(at, (uint8_t)(1u << ((seed >> 24) % 8)));
		}
		struct logs l = {0};
		j = journal_open(path, 6, depth_limit, 0, log_keep, &l);
		ck_assert_ptr_nonnull(j);
		size_t depth = journal_depth(j);
		ck_assert_uint_le(depth, most);
		kept[depth]++;
		uint32_t first, last;
		if (depth) {
			ck_assert(journal_first_serial(j, &first));
			ck_assert(journal_last_serial(j, &last));
			ck_assert_uint_eq(last, 6);
			serves(j, first, 6, depth);
		}
		ck_assert_uint_eq(journal_usage(j), file_size());
		journal_close(j);
		l.n = 0;
		j = journal_open(path, 6, depth_limit, 0, log_keep, &l);
		ck_assert_uint_eq(journal_depth(j), depth);
		ck_assert_uint_eq(l.n, 0);
		journal_close(j);
	}
	free(pristine);
	fprintf(stderr, "depth limit %zu: rounds that kept 0..5 entries: %u %u %u %u %u %u\n",
		depth_limit, kept[0], kept[1], kept[2], kept[3], kept[4], kept[5]);
}

START_TEST(random_damage)
{
	/* Whatever happens to the file, open keeps a consecutive chain that
	 * ends at the serial served (or nothing), never crashes, and leaves a
	 * file that opens again without a word. */
	unsigned kept[6] = {0};
	damage_rounds(0, kept);
	/* the damage fell everywhere: some rounds keep part of the chain,
	 * some nothing; none keeps all, as no octet of the file goes
	 * unchecked (magic, version, flags, every entry under its CRC) */
	ck_assert_uint_gt(kept[0], 0);
	ck_assert_uint_gt(kept[1] + kept[2] + kept[3] + kept[4], 0);
	ck_assert_uint_eq(kept[5], 0);

	/* with dropped entries in the file: damage to those costs nothing */
	unsigned kept3[6] = {0};
	damage_rounds(3, kept3);
	ck_assert_uint_gt(kept3[0], 0);
	ck_assert_uint_gt(kept3[3], 0);
}
END_TEST

START_TEST(open_fails)
{
	char p[1200];
	snprintf(p, sizeof(p), "%s/no/such/dir/x.journal", dir);
	struct logs l = {0};
	errno = 0;
	ck_assert_ptr_null(journal_open(p, 1, 0, 0, log_keep, &l));
	ck_assert_int_eq(errno, ENOENT);
	ck_assert(logged(&l, "no IXFR", NULL));
	journal_close(NULL);
}
END_TEST

START_TEST(takes_zone_diff_output)
{
	/* the one test that uses the diff module: the journal's check of
	 * the blob and the diff agree on the format (changeset.h) */
	static const char *const v1[] = {
		"@ SOA ns admin 2024010101 7200 3600 1209600 300", "@ NS ns", "ns A 192.0.2.1",
		"www A 192.0.2.2", "old TXT \"going\"", NULL};
	static const char *const v2[] = {
		"@ SOA ns admin 2024010102 7200 3600 1209600 300", "@ NS ns", "ns A 192.0.2.1",
		"www A 192.0.2.3", "www AAAA 2001:db8::3", "new.sub MX 10 mail.example.", NULL};
	struct zone *a = ut_zone("example.", v1), *b = ut_zone("example.", v2);
	struct changeset *cs;
	ck_assert_int_eq(zone_diff(a, b, &cs), 0);
	ck_assert_uint_eq(cs->nremoved, 2);
	ck_assert_uint_eq(cs->nadded, 3);
	struct logs l = {0};
	struct journal *j = journal_open(path, 2024010101u, 0, 0, log_keep, &l);
	ck_assert_int_eq(journal_append(j, cs), 0);
	changeset_unref(cs);
	journal_close(j);
	j = journal_open(path, 2024010102u, 0, 0, log_keep, &l);
	serves(j, 2024010101u, 2024010102u, 1);
	journal_close(j);
	ck_assert_uint_eq(l.n, 0);
	zone_free(a);
	zone_free(b);
}
END_TEST

/* ---- threads: finds while the chain changes ---- */

struct reader {
	struct journal *j;
	atomic_bool *stop;
	unsigned found;
};

static void *reader_run(void *arg)
{
	struct reader *r = arg;
	while (!atomic_load(r->stop)) {
		uint32_t last;
		if (!journal_last_serial(r->j, &last))
			continue;
		struct changeset **v;
		size_t n = journal_find(r->j, last - 2, last, &v);
		for (size_t i = 0; i < n; i++)
			ck_assert_uint_eq(v[i]->from, last - 2 + (uint32_t)i);
		if (n) {
			/* read the blob of a changeset the writer may have dropped */
			ck_assert_uint_eq(v[0]->wire[v[0]->len - 1], v[0]->wire[v[0]->len - 1]);
			r->found++;
		}
		journal_chain_free(v, n);
	}
	return NULL;
}

START_TEST(find_while_appending)
{
	struct journal *j = journal_open(path, 1, 4, 0, log_keep, &(struct logs){0});
	atomic_bool stop = false;
	struct reader r[2] = {{j, &stop, 0}, {j, &stop, 0}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, reader_run, &r[i]), 0);
	for (uint32_t s = 1; s <= 60; s++)
		add(j, s, s + 1);
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ck_assert_uint_eq(journal_depth(j), 4);
	serves(j, 57, 61, 4);
	journal_close(j);
}
END_TEST

/* ---- RFC 1982 ---- */

START_TEST(serial_arithmetic)
{
	ck_assert_int_eq(serial_compare(0, 0), SERIAL_EQUAL);
	ck_assert_int_eq(serial_compare(1, 0), SERIAL_NEWER);
	ck_assert_int_eq(serial_compare(0, 1), SERIAL_OLDER);
	/* across the wrap: 0 comes after 2^32 - 1 */
	ck_assert_int_eq(serial_compare(0, 0xffffffffu), SERIAL_NEWER);
	ck_assert_int_eq(serial_compare(0xffffffffu, 0), SERIAL_OLDER);
	/* the largest step forward, 2^31 - 1 */
	ck_assert_int_eq(serial_compare(0x7fffffffu, 0), SERIAL_NEWER);
	ck_assert_int_eq(serial_compare(0, 0x7fffffffu), SERIAL_OLDER);
	ck_assert_int_eq(serial_compare(0x80000001u, 0), SERIAL_OLDER);
	ck_assert_int_eq(serial_compare(0, 0x80000001u), SERIAL_NEWER);
	/* exactly 2^31 apart: undefined both ways, and never "newer" */
	ck_assert_int_eq(serial_compare(0, 0x80000000u), SERIAL_UNDEFINED);
	ck_assert_int_eq(serial_compare(0x80000000u, 0), SERIAL_UNDEFINED);
	ck_assert_int_eq(serial_compare(12345, 12345u + 0x80000000u), SERIAL_UNDEFINED);
	ck_assert(!(serial_compare(0, 0x80000000u) > 0));
	ck_assert(!(serial_compare(0x80000000u, 0) > 0));
	ck_assert(!serial_newer(0, 0x80000000u));
	ck_assert(!serial_newer(0x80000000u, 0));
	ck_assert(serial_newer(2005010101u, 2004123199u));
	ck_assert(!serial_newer(7, 7));
}
END_TEST

START_TEST(crc32c_known_value)
{
	/* the check value of CRC-32C (RFC 3720 appendix B.4 and the CRC
	 * catalogue): "123456789" → 0xe3069283 */
	ck_assert_uint_eq(journal_crc32c(0, "123456789", 9), 0xe3069283u);
	/* in pieces, the same */
	ck_assert_uint_eq(journal_crc32c(journal_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
	ck_assert_uint_eq(journal_crc32c(0, "", 0), 0);
}
END_TEST

static Suite *journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("chain");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, append_and_find_one);
	tcase_add_test(tc, find_several);
	tcase_add_test(tc, serials_wrap);
	tcase_add_test(tc, break_on_append);
	tcase_add_test(tc, refuses_bad_wire);
	tcase_add_test(tc, wire_check_cases);
	tcase_add_test(tc, limit_depth);
	tcase_add_test(tc, limit_usage);
	tcase_add_test(tc, dropped_entries_stay_until_compaction);
	tcase_add_test(tc, break_empties);
	tcase_add_test(tc, find_while_appending);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_set_timeout(tc, 60); /* random_damage: 240 repairs, each two fsyncs */
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, torn_tail);
	tcase_add_test(tc, flipped_byte);
	tcase_add_test(tc, records_do_not_parse);
	tcase_add_test(tc, serial_not_increasing_in_file);
	tcase_add_test(tc, bad_magic);
	tcase_add_test(tc, garbage_logged_in_few_lines);
	tcase_add_test(tc, chain_not_ending_at_served);
	tcase_add_test(tc, open_ahead_keeps_chain_past_copy);
	tcase_add_test(tc, chain_with_a_gap);
	tcase_add_test(tc, open_fails);
	tcase_add_test(tc, write_fails);
	tcase_add_test(tc, random_damage);
	tcase_add_test(tc, takes_zone_diff_output);
	suite_add_tcase(s, tc);

	tc = tcase_create("serial");
	tcase_add_test(tc, serial_arithmetic);
	tcase_add_test(tc, crc32c_known_value);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(journal_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
