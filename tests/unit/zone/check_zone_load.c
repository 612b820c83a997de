/* check_zone_load.c: zone files → zone table (src/zone_load.c, src/zone.c).
 *
 * Every file is written by the test into a private directory, so the line
 * numbers asserted below can be read off the strings in this file (each
 * line of a file is one string literal, numbered in a comment). */
#include <check.h>
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "zone/zone.h"
#include "zone/zone_impl.h"
#include "zone/zone_load.h"

static char g_dir[4096];

static void setup(void)
{
	ut_tmpdir(g_dir, sizeof(g_dir));
	/* $INCLUDE paths must resolve against the including file, not the
	 * working directory: make sure the two differ. */
	ck_assert_int_eq(chdir("/"), 0);
}

static void teardown(void)
{
	ut_rmtree(g_dir);
}

/* Write `text` as dir/file and load it as `origin`. */
static struct zone *load(const char *file, const char *origin, const char *text,
			 struct ut_diag *d, unsigned *nerrors)
{
	char path[4096];
	uint8_t org[DNAME_MAX];
	if (text)
		ut_write(g_dir, file, text);
	ut_path(path, sizeof(path), g_dir, file);
	ut_name(origin, org);
	memset(d, 0, sizeof(*d));
	struct zone *z = zone_load_file(path, org, ut_diag_fn, d, nerrors);
	ut_diag_dump(d);
	return z;
}

/* Expect loading to fail with exactly one diagnostic, an error at
 * `line` of dir/`file` saying `reason`. */
static void expect_one_error(const char *text, const char *file, int line, const char *reason)
{
	struct ut_diag d;
	unsigned nerr = 99;
	struct zone *z = load("example.com.zone", "example.com.", text, &d, &nerr);
	char want[8192], got[4096];
	if (file)
		snprintf(want, sizeof(want), "%s/%s:%d: %s", g_dir, file, line, reason);
	else
		snprintf(want, sizeof(want), "%s/example.com.zone:%d: %s", g_dir, line, reason);
	ck_assert_ptr_null(z);
	ck_assert_uint_eq(nerr, 1);
	ck_assert_uint_eq(d.n, 1);
	ck_assert_int_eq(d.e[0].sev, ZONE_DIAG_ERROR);
	ck_assert_str_eq(ut_diag_str(&d, 0, got, sizeof(got)), want);
}

/* Lines 1-4 of most bad files: a valid zone so far. */
#define HEAD                                                                                       \
	"$TTL 300\n"                        /* 1 */                                            \
	"@ IN SOA ns hostmaster 1 2 3 4 5\n" /* 2 */                                           \
	"@ IN NS ns\n"                      /* 3 */                                            \
	"ns IN A 192.0.2.1\n"               /* 4 */

static const struct rrset *rrset_at(const struct zone *z, const char *name, uint16_t type)
{
	const struct node *n = ut_node(z, name);
	ck_assert_msg(n != NULL, "no node %s", name);
	return node_rrset(n, type);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ================================================================ good files */

static const char *const GOOD =
	"; a zone with most of what a master file can say\n" /* 1 */
	"$ORIGIN example.com.\n"                              /* 2 */
	"$TTL 3600\n"                                         /* 3 */
	"@   IN SOA ns1 hostmaster (\n"                       /* 4 */
	"        2024010101 ; serial\n"                       /* 5 */
	"        7200 3600 1209600\n"                         /* 6 */
	"        300 )\n"                                     /* 7 */
	"    IN NS ns1\n"                                     /* 8 */
	"    IN NS ns2.example.net.\n"                        /* 9 */
	"ns1 IN A 192.0.2.1\n"                                /* 10 */
	"www 600 IN A 192.0.2.10\n"                           /* 11 */
	"www 600 IN A 192.0.2.10\n"                           /* 12: duplicate */
	"WWW 600 IN A 192.0.2.10 ; again, other case\n"       /* 13: duplicate */
	"www IN AAAA 2001:db8::10\n"                          /* 14 */
	"a\\.b IN TXT \"dot in a label\"\n"                   /* 15 */
	"\\032sp IN TXT \"space\"\n"                          /* 16 */
	"odd IN TYPE65000 \\# 3 010203\n"                     /* 17 */
	"known IN A \\# 4 C0000202\n"                         /* 18 */
	"x.y.z IN A 192.0.2.3\n"                              /* 19 */
	"*.wild IN A 192.0.2.4\n"                             /* 20 */
	"sub IN NS ns.sub\n"                                  /* 21 */
	"sub IN NS ns1\n"                                     /* 22 */
	"sub IN NS ns.nowhere.example.com.\n"                 /* 23 */
	"ns.sub IN A 192.0.2.5\n"                             /* 24 */
	"ns.sub IN AAAA 2001:db8::5\n"                        /* 25 */
	"deep.below.sub IN A 192.0.2.6\n"                     /* 26 */
	"dn IN DNAME example.net.\n"                          /* 27 */
	"under.dn IN A 192.0.2.7\n"                           /* 28 */
	"$ORIGIN other.example.com.\n"                        /* 29 */
	"foo IN A 192.0.2.8\n"                                /* 30 */
	"@ IN MX 10 foo\n";                                   /* 31 */

START_TEST(good_loads_clean)
{
	struct ut_diag d;
	unsigned nerr = 99;
	struct zone *z = load("example.com.zone", "example.com.", GOOD, &d, &nerr);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(nerr, 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(z->apex_len, 13);
	ck_assert_mem_eq(z->apex, "\7example\3com", 13);
	ck_assert_uint_eq(z->apex_labels, 2);
	ck_assert_uint_eq(z->serial, 2024010101u);
	/* 24 records, 2 of them duplicates collapsed (RFC 2181 §5) */
	ck_assert_uint_eq(z->nrecords, 22);
	char path[4096];
	ut_path(path, sizeof(path), g_dir, "example.com.zone");
	ck_assert_str_eq(z->source, path);
	zone_free(z);
}
END_TEST

START_TEST(good_soa_and_negative_ttl)
{
	struct ut_diag d;
	struct zone *z = load("example.com.zone", "example.com.", GOOD, &d, NULL);
	ck_assert_ptr_nonnull(z);
	ck_assert_ptr_nonnull(z->soa);
	ck_assert_uint_eq(z->soa->type, RRTYPE_SOA);
	ck_assert_uint_eq(z->soa->ttl, 3600);
	ck_assert_ptr_eq(z->soa, node_rrset(z->apex_node, RRTYPE_SOA));
	/* RFC 2308 §3: min(SOA TTL 3600, MINIMUM 300) */
	ck_assert_uint_eq(z->neg_soa.ttl, 300);
	ck_assert_uint_eq(get32(z->neg_soa.wire + 4), 300);
	ck_assert_uint_eq(z->neg_soa.count, 1);
	ck_assert_uint_eq(z->neg_soa.wire_len, z->soa->wire_len);
	/* same record otherwise, and the served SOA keeps its own TTL */
	ck_assert_mem_eq(z->neg_soa.wire, z->soa->wire, 4);
	ck_assert_mem_eq(z->neg_soa.wire + 8, z->soa->wire + 8, z->soa->wire_len - 8);
	ck_assert_uint_eq(get32(z->soa->wire + 4), 3600);
	zone_free(z);
}
END_TEST

START_TEST(negative_ttl_is_soa_ttl_when_smaller)
{
	struct ut_diag d;
	struct zone *z = load("example.com.zone", "example.com.",
			     "@ 60 IN SOA ns hm 7 2 3 4 300\n"
			     "@ 60 IN NS ns\n",
			     &d, NULL);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(z->serial, 7);
	ck_assert_uint_eq(z->neg_soa.ttl, 60);
	ck_assert_uint_eq(get32(z->neg_soa.wire + 4), 60);
	zone_free(z);
}
END_TEST

START_TEST(good_names_escapes_and_rfc3597)
{
	struct ut_diag d;
	struct zone *z = load("example.com.zone", "example.com.", GOOD, &d, NULL);
	ck_assert_ptr_nonnull(z);

	/* duplicates (also in other letter case) are one record; first TTL */
	const struct rrset *a = rrset_at(z, "www.example.com.", RRTYPE_A);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a->count, 1);
	ck_assert_uint_eq(a->ttl, 600);
	ck_assert_uint_eq(a->wire_len, RR_FIXED_LEN + 4);
	ck_assert_mem_eq(a->wire, "\0\1\0\1\0\0\x02\x58\0\4\xc0\0\2\x0a", 14);
	/* RRsets sorted by type */
	const struct node *www = ut_node(z, "www.example.com.");
	ck_assert_uint_eq(www->nrrsets, 2);
	ck_assert_uint_eq(www->rrsets[0].type, RRTYPE_A);
	ck_assert_uint_eq(www->rrsets[1].type, RRTYPE_AAAA);
	ck_assert_uint_eq(www->rrsets[1].ttl, 3600); /* $TTL */

	/* a\.b is one label "a.b"; \032sp is " sp" */
	const struct node *n = ut_node(z, "a\\.b.example.com.");
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(n->name_len, 17);
	ck_assert_mem_eq(n->name, "\3a.b\7example\3com", 17);
	ck_assert_uint_eq(n->labels, 3);
	ck_assert_ptr_null(ut_node(z, "b.example.com."));
	n = ut_node(z, "\\032sp.example.com.");
	ck_assert_ptr_nonnull(n);
	ck_assert_mem_eq(n->name, "\3 sp\7example\3com", 17);

	/* RFC 3597 §5: TYPE65000 \# 3 010203 */
	const struct rrset *u = rrset_at(z, "odd.example.com.", 65000);
	ck_assert_ptr_nonnull(u);
	ck_assert_uint_eq(u->count, 1);
	ck_assert_uint_eq(u->wire_len, RR_FIXED_LEN + 3);
	ck_assert_mem_eq(u->wire, "\xfd\xe8\0\1\0\0\x0e\x10\0\3\1\2\3", 13);
	/* \# for a known type gives the same rdata as the text form */
	const struct rrset *k = rrset_at(z, "known.example.com.", RRTYPE_A);
	ck_assert_ptr_nonnull(k);
	ck_assert_mem_eq(k->wire + RR_FIXED_LEN, "\xc0\0\2\2", 4);

	/* $ORIGIN applies to the names after it, @ too */
	ck_assert_ptr_nonnull(rrset_at(z, "foo.other.example.com.", RRTYPE_A));
	const struct rrset *mx = rrset_at(z, "other.example.com.", RRTYPE_MX);
	ck_assert_ptr_nonnull(mx);
	ck_assert_mem_eq(mx->wire + RR_FIXED_LEN, "\0\x0a\3foo\5other\7example\3com", 25);
	ck_assert_ptr_null(ut_node(z, "foo.example.com."));
	/* rdata names made absolute against the origin in force */
	const struct rrset *ns = node_rrset(z->apex_node, RRTYPE_NS);
	ck_assert_uint_eq(ns->count, 2);
	zone_free(z);
}
END_TEST

START_TEST(good_parentheses_and_comments)
{
	struct ut_diag d;
	struct zone *z = load("example.com.zone", "example.com.",
			     "$TTL 300 ; default\n"
			     "; only a comment\n"
			     "\n"
			     "@ IN SOA ( ns hostmaster ; names\n"
			     "  1 ; serial\n"
			     "  2 3 ; refresh retry\n"
			     "  4 5 )\n"
			     "@ NS ns ; trailing\n"
			     "t TXT ( \"one\" ; first\n"
			     "  \"two;not a comment\" )\n",
			     &d, NULL);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(z->serial, 1);
	ck_assert_uint_eq(z->neg_soa.ttl, 5);
	const struct rrset *t = rrset_at(z, "t.example.com.", RRTYPE_TXT);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(t->count, 1);
	ck_assert_uint_eq(t->wire_len, RR_FIXED_LEN + 4 + 18);
	ck_assert_mem_eq(t->wire + RR_FIXED_LEN, "\3one\021two;not a comment", 4 + 18);
	zone_free(z);
}
END_TEST

START_TEST(good_table_ent_parent_wildcard)
{
	struct ut_diag d;
	struct zone *z = load("example.com.zone", "example.com.", GOOD, &d, NULL);
	ck_assert_ptr_nonnull(z);
	const struct node *x = ut_node(z, "x.y.z.example.com.");
	const struct node *y = ut_node(z, "y.z.example.com.");
	const struct node *zz = ut_node(z, "z.example.com.");
	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(y);
	ck_assert_ptr_nonnull(zz);
	/* empty non-terminals: nodes without RRsets */
	ck_assert_uint_eq(y->nrrsets, 0);
	ck_assert_uint_eq(zz->nrrsets, 0);
	ck_assert_uint_eq(x->nrrsets, 1);
	/* each counts the names directly below it */
	ck_assert_uint_eq(x->children, 0);
	ck_assert_uint_eq(y->children, 1);
	ck_assert_uint_eq(zz->children, 1);
	ck_assert_uint_eq(y->labels, 4);
	ck_assert(y->hash == dname_hash(y->name, y->name_len));

	/* the `*` child */
	const struct node *wild = ut_node(z, "wild.example.com.");
	const struct node *star = ut_node(z, "*.wild.example.com.");
	ck_assert_ptr_nonnull(wild);
	ck_assert_ptr_nonnull(star);
	ck_assert_uint_eq(wild->nrrsets, 0);
	ck_assert_ptr_eq(wild->wildcard, star);
	ck_assert_uint_eq(wild->children, 1);
	ck_assert_ptr_null(z->apex_node->wildcard);
	ck_assert_ptr_null(y->wildcard);

	/* ENT below a cut and under the DNAME */
	ck_assert_ptr_nonnull(ut_node(z, "below.sub.example.com."));
	ck_assert_uint_eq(ut_node(z, "below.sub.example.com.")->nrrsets, 0);
	ck_assert_ptr_nonnull(ut_node(z, "other.example.com."));
	ck_assert_uint_eq(z->nnodes, 20);
	zone_free(z);
}
END_TEST

/* The name table is sized from the file (about 64 octets a name): a file
 * of long comments sizes it far too big, and finish gives that back; a
 * file of short lines sizes it too small, and it grows. Either way every
 * name is found. */
START_TEST(table_sized_from_file_then_fitted)
{
	struct ut_diag d;
	size_t cap = 4u << 20, len = 0;
	char *text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	len += (size_t)snprintf(text + len, cap - len, HEAD);
	for (int i = 0; i < 20000; i++) /* 1.2 MB: room for ~19,000 names */
		len += (size_t)snprintf(text + len, cap - len, ";%058d\n", i);
	len += (size_t)snprintf(text + len, cap - len, "www IN A 192.0.2.9\n");
	struct zone *z = load("example.com.zone", "example.com.", text, &d, NULL);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(z->nnodes, 3);
	ck_assert_uint_eq(z->mask + 1, 8); /* at most half full */
	ck_assert_ptr_nonnull(ut_node(z, "www.example.com."));
	zone_free(z);

	len = (size_t)snprintf(text, cap, HEAD);
	for (int i = 0; i < 30000; i++) /* ~14 octets a name */
		len += (size_t)snprintf(text + len, cap - len, "h%d A 10.0.0.1\n", i);
	z = load("example.com.zone", "example.com.", text, &d, NULL);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(z->nnodes, 30002);
	ck_assert_uint_ge(z->mask + 1, 2 * 30002);
	char name[64];
	for (int i = 0; i < 30000; i += 997) {
		snprintf(name, sizeof(name), "h%d.example.com.", i);
		ck_assert_msg(ut_node(z, name) != NULL, "%s not found", name);
	}
	zone_free(z);
	free(text);
}
END_TEST

START_TEST(good_table_cuts_dname_above)
{
	struct ut_diag d;
	struct zone *z = load("example.com.zone", "example.com.", GOOD, &d, NULL);
	ck_assert_ptr_nonnull(z);
	const struct node *sub = ut_node(z, "sub.example.com.");
	const struct node *nssub = ut_node(z, "ns.sub.example.com.");
	const struct node *below = ut_node(z, "below.sub.example.com.");
	const struct node *deep = ut_node(z, "deep.below.sub.example.com.");
	const struct node *dn = ut_node(z, "dn.example.com.");
	const struct node *under = ut_node(z, "under.dn.example.com.");

	/* NS at the apex is not a cut; NS elsewhere is */
	ck_assert_int_eq(z->apex_node->flags & NODE_CUT, 0);
	ck_assert_int_ne(sub->flags & NODE_CUT, 0);
	ck_assert_int_eq(sub->flags & NODE_DNAME, 0);
	ck_assert_int_ne(dn->flags & NODE_DNAME, 0);
	ck_assert_int_eq(dn->flags & NODE_CUT, 0);
	ck_assert_int_eq(ut_node(z, "www.example.com.")->flags, 0);

	/* zone_above: the topmost strict ancestor that is a cut or a DNAME */
	ck_assert_uint_eq(z->nblockers, 2);
	ck_assert_ptr_null(ut_above(z, "example.com."));
	ck_assert_ptr_null(ut_above(z, "sub.example.com."));
	ck_assert_ptr_null(ut_above(z, "dn.example.com."));
	ck_assert_ptr_eq(ut_above(z, "ns.sub.example.com."), sub);
	ck_assert_ptr_eq(ut_above(z, "below.sub.example.com."), sub);
	ck_assert_ptr_eq(ut_above(z, "deep.below.sub.example.com."), sub);
	ck_assert_ptr_eq(ut_above(z, "nothere.deep.below.sub.example.com."), sub);
	ck_assert_ptr_eq(ut_above(z, "under.dn.example.com."), dn);
	ck_assert_ptr_null(ut_above(z, "x.y.z.example.com."));
	(void)nssub;
	(void)below;
	(void)deep;
	(void)under;
	zone_free(z);
}
END_TEST

START_TEST(good_table_glue)
{
	struct ut_diag d;
	struct zone *z = load("example.com.zone", "example.com.", GOOD, &d, NULL);
	ck_assert_ptr_nonnull(z);
	const struct node *sub = ut_node(z, "sub.example.com.");
	const struct node *nssub = ut_node(z, "ns.sub.example.com.");
	const struct node *ns1 = ut_node(z, "ns1.example.com.");
	/* ns.sub (under the cut) and ns1 (elsewhere in the zone) are in-zone
	 * name servers, whose addresses a referral looks up; the glue keeps
	 * their names. Out-of-zone ones are not kept. */
	bool seen_sub = false, seen_ns1 = false;
	for (unsigned i = 0; i < sub->nglue; i++) {
		const struct glue *g = &sub->glue[i];
		ck_assert(dname_is_subdomain(g->name, z->apex));
		ck_assert(g->hash == dname_hash(g->name, g->name_len));
		if (g->name_len == nssub->name_len && !memcmp(g->name, nssub->name, g->name_len)) {
			seen_sub = true;
			ck_assert(g->in_domain);
		} else if (g->name_len == ns1->name_len && !memcmp(g->name, ns1->name, g->name_len)) {
			seen_ns1 = true;
			ck_assert(!g->in_domain);
		}
	}
	ck_assert(seen_sub && seen_ns1);
	/* only cuts have glue */
	ck_assert_uint_eq(z->apex_node->nglue, 0);
	ck_assert_ptr_null(z->apex_node->glue);
	zone_free(z);
}
END_TEST

/* A load's arena chunk header: next, size, used. */
#define CHUNK_HEADER (sizeof(void *) + 2 * sizeof(size_t))

/* The newest chunk of z's arena is the one zone_builder_finish reserved
 * for what it allocates, counted ahead from the pending records: it must
 * come out exactly full (else the count and the allocations disagree). */
/* `p` is in the newest chunk of z's arena. */
static bool arena_holds(const struct zone *z, const void *p)
{
	size_t bytes, used;
	const uint8_t *c = (const uint8_t *)z->shared->arena.head;
	ck_assert(arena_chunk_info(&z->shared->arena, 0, &bytes, &used));
	return (const uint8_t *)p >= c && (const uint8_t *)p < c + bytes;
}

static void finish_chunk_full(const struct zone *z, const char *what)
{
	size_t bytes, used;
	ck_assert(arena_chunk_info(&z->shared->arena, 0, &bytes, &used));
	ck_assert_msg(used + CHUNK_HEADER == bytes, "%s: a chunk of %zu bytes holds %zu", what,
		      bytes - CHUNK_HEADER, used);
}

/* A catalog member (two names: SOA, two NS, two A) costs an arena of one
 * chunk: its nodes, moved there from the first 256 bytes they were made
 * in, what the rest takes, and its table of 4 slots. Zones of other shapes (a cut with glue, RRSIGs
 * copied behind their sets, empty non-terminals, an NSEC3 chain and its
 * hashes, a name with more records than node_build sorts in place) fill
 * the chunk finish reserves exactly, too. */
START_TEST(small_zone_memory_fits)
{
	static const char member[] =
		"$TTL 3600\n"
		"@ SOA ns1.cat.test. hostmaster.cat.test. 1 3600 600 86400 3600\n"
		"@ NS ns1.cat.test.\n@ NS ns2.cat.test.\n@ A 192.0.2.1\nwww A 192.0.2.2\n";
	struct ut_diag d;
	struct zone *z = load("m00001.cat.test.zone", "m00001.cat.test.", member, &d, NULL);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(z->nnodes, 2);
	ck_assert_uint_eq(z->mask + 1, ZONE_TABLE_MIN);
	finish_chunk_full(z, "member");
	/* the nodes moved into that chunk, and the table and its directory
	 * went there at the end: it is the only one */
	size_t bytes, used;
	ck_assert(!arena_chunk_info(&z->shared->arena, 1, &bytes, &used));
	ck_assert(arena_holds(z, z->pages));
	ck_assert(arena_holds(z, z->pages[0]));
	for (size_t i = 0; i <= z->mask; i++) {
		const struct node *n = zone_slot_at(z, i)->node;
		ck_assert(!n || arena_holds(z, n));
		ck_assert(!n || arena_holds(z, n->name));
	}
	ck_assert_ptr_nonnull(ut_node(z, "www.m00001.cat.test."));
	ck_assert_mem_eq(z->apex, "\6m00001\3cat\4test", 17);
	ck_assert_ptr_eq(z->apex, z->apex_node->name);
	zone_free(z);

	static const char *const cut[] = {
		"@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300",
		"@ 3600 NS ns1",
		"@ 3600 RRSIG SOA 8 2 3600 20300101000000 20200101000000 1 example.com. AAAAAAAA",
		"@ 3600 RRSIG NS 8 2 3600 20300101000000 20200101000000 1 example.com. AAAA",
		"ns1 3600 A 192.0.2.1",
		"sub 3600 NS ns.sub",
		"sub 3600 NS NS2.SUB",
		"sub 3600 NS ns1",
		"sub 3600 NS ns.elsewhere.",
		"sub 3600 NS x.y.longer.name.out.of.the.zone.example.",
		"ns.sub 3600 A 192.0.2.53",
		"ns2.sub 3600 AAAA 2001:db8::53",
		"a.b.c.d 3600 TXT \"under three empty non-terminals\"",
		"*.w 3600 MX 10 mail",
		NULL,
	};
	z = ut_zone("example.com.", cut);
	finish_chunk_full(z, "cut");
	ck_assert_uint_eq(ut_node(z, "sub.example.com.")->nglue, 3);
	zone_free(z);

	static const char *const n3[] = {
		"@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300",
		"@ 3600 NS ns1",
		"@ 300 NSEC3PARAM 1 0 3 abcdef",
		"ns1 3600 A 192.0.2.1",
		"x.y 3600 A 192.0.2.2",
		"0123456789abcdefghijklmnopqrstuv 300 NSEC3 1 0 3 abcdef "
		"1123456789abcdefghijklmnopqrstuv A",
		"1123456789abcdefghijklmnopqrstuv 300 NSEC3 1 0 3 abcdef "
		"0123456789abcdefghijklmnopqrstuv A",
		"1123456789abcdefghijklmnopqrstuv 300 RRSIG NSEC3 8 3 300 20300101000000 "
		"20200101000000 1 example.com. AAAA",
		NULL,
	};
	z = ut_zone("example.com.", n3);
	ck_assert_ptr_nonnull(z->nsec3);
	ck_assert_ptr_nonnull(ut_node(z, "y.example.com.")->n3);
	finish_chunk_full(z, "nsec3");
	zone_free(z);

	/* 90 records at one name: sorted by qsort, in an array of their own */
	char *many[100], rr[128];
	size_t n = 0;
	many[n++] = strdup("@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300");
	many[n++] = strdup("@ 3600 NS ns1");
	for (int i = 0; i < 90; i++) {
		if (i % 3 == 0)
			snprintf(rr, sizeof(rr), "t 3600 A 10.0.0.%d", i);
		else if (i % 3 == 1)
			snprintf(rr, sizeof(rr), "t 3600 TXT \"%0*d\"", i, i);
		else
			snprintf(rr, sizeof(rr), "t 3600 RRSIG %s 8 3 3600 20300101000000 "
				 "20200101000000 %d example.com. AAAA", i % 2 ? "A" : "TXT", i);
		many[n++] = strdup(rr);
	}
	many[n] = NULL;
	z = ut_zone("example.com.", (const char *const *)many);
	finish_chunk_full(z, "many");
	ck_assert_uint_eq(ut_node(z, "t.example.com.")->nrrsets, 3);
	zone_free(z);
	for (size_t i = 0; i < n; i++)
		free(many[i]);

}
END_TEST

/* A secondary's zone before its first transfer: its apex (found in its
 * table, the closest encloser of names below it), an SOA of serial 0 and
 * an NS that queries never reach (it is expired). */
START_TEST(stub_zone)
{
	uint8_t apex[DNAME_MAX], w[DNAME_MAX], l[DNAME_MAX];
	size_t len = ut_name("Sec.Test.", apex);
	struct zone *z = zone_stub_new(apex);
	ck_assert_ptr_nonnull(z);
	ck_assert(z->stub);
	ck_assert(atomic_load(&z->expired));
	ck_assert_uint_eq(z->apex_len, len);
	ck_assert_mem_eq(z->apex, "\003sec\004test", len);
	ck_assert_uint_eq(z->apex_labels, 2);
	ck_assert_uint_eq(z->serial, 0);
	ck_assert_ptr_nonnull(z->soa);
	ck_assert_uint_eq(z->soa->type, RRTYPE_SOA);
	ck_assert_uint_eq(z->neg_soa.ttl, 0);
	const struct rrset *ns = node_rrset(z->apex_node, RRTYPE_NS);
	ck_assert_ptr_nonnull(ns);
	ck_assert_uint_eq(ns->count, 1);
	ck_assert_mem_eq(ns->wire + RR_FIXED_LEN, z->apex, len);
	static const char *const q[] = {"sec.test.", "www.sec.test.", "a.b.SEC.test."};
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		size_t ql = ut_name(q[i], w);
		dname_lower(l, w, ql);
		struct dname_split s;
		dname_split(&s, l, ql);
		bool exact = false;
		ck_assert_ptr_eq(zone_lookup(z, l, &s, &exact), z->apex_node);
		ck_assert(exact == (i == 0));
	}
	zone_ref(z);
	zone_unref(z);
}
END_TEST

/* Stubs are made by the thousand when a catalog adds members, and freed
 * one by one as the members are transferred: a slab of them is unmapped
 * when its last stub is freed, whatever the order. */
START_TEST(stub_slabs_are_unmapped)
{
	enum { N = 1000 };
	static struct zone *z[N];
	size_t before = zone_stub_slabs();
	for (int i = 0; i < N; i++) {
		char name[64];
		uint8_t apex[DNAME_MAX];
		snprintf(name, sizeof(name), "m%05d.catalog-member.example.", i);
		ut_name(name, apex);
		ck_assert_ptr_nonnull(z[i] = zone_stub_new(apex));
	}
	size_t during = zone_stub_slabs();
	ck_assert_uint_ge(during, before + 5); /* 1,000 stubs do not fit in a few slabs */
	/* odd ones first, then the even ones backwards */
	for (int i = 1; i < N; i += 2)
		zone_free(z[i]);
	ck_assert_uint_eq(zone_stub_slabs(), during);
	for (int i = N - 2; i >= 0; i -= 2)
		zone_free(z[i]);
	/* what stays is the slab new stubs go to */
	ck_assert_uint_le(zone_stub_slabs(), 1);
}
END_TEST

START_TEST(lookup_closest_encloser)
{
	struct ut_diag d;
	struct zone *z = load("example.com.zone", "example.com.", GOOD, &d, NULL);
	ck_assert_ptr_nonnull(z);
	static const struct {
		const char *q, *found;
		bool exact;
	} cases[] = {
		{"www.example.com.", "www.example.com.", true},
		{"WWW.Example.COM.", "www.example.com.", true},
		{"y.z.example.com.", "y.z.example.com.", true},
		{"a.b.x.y.z.example.com.", "x.y.z.example.com.", false},
		{"q.y.z.example.com.", "y.z.example.com.", false},
		{"nothere.example.com.", "example.com.", false},
		{"example.com.", "example.com.", true},
		{"a.b.c.deep.below.sub.example.com.", "deep.below.sub.example.com.", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t w[DNAME_MAX], l[DNAME_MAX];
		size_t len = ut_name(cases[i].q, w);
		dname_lower(l, w, len);
		struct dname_split s;
		dname_split(&s, l, len);
		bool exact = !cases[i].exact;
		const struct node *n = zone_lookup(z, l, &s, &exact);
		ck_assert_ptr_eq(n, ut_node(z, cases[i].found));
		ck_assert_msg(exact == cases[i].exact, "%s: exact", cases[i].q);
	}
	zone_free(z);
}
END_TEST

START_TEST(ttl_mismatch_warns_and_uses_first)
{
	struct ut_diag d;
	unsigned nerr = 99;
	struct zone *z = load("example.com.zone", "example.com.",
			     HEAD "ns 600 IN A 192.0.2.2\n" /* 5 */
			     "ns 900 IN A 192.0.2.3\n",     /* 6 */
			     &d, &nerr);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(nerr, 0);
	ck_assert_uint_eq(d.errors, 0);
	ck_assert_uint_eq(d.warnings, 2);
	char want[8192], got[4096];
	snprintf(want, sizeof(want),
		 "%s/example.com.zone:5: TTL 600 differs from 300 earlier in the same RRset; using 300",
		 g_dir);
	ck_assert_int_eq(d.e[0].sev, ZONE_DIAG_WARNING);
	ck_assert_str_eq(ut_diag_str(&d, 0, got, sizeof(got)), want);
	snprintf(want, sizeof(want),
		 "%s/example.com.zone:6: TTL 900 differs from 300 earlier in the same RRset; using 300",
		 g_dir);
	ck_assert_str_eq(ut_diag_str(&d, 1, got, sizeof(got)), want);
	const struct rrset *a = rrset_at(z, "ns.example.com.", RRTYPE_A);
	ck_assert_uint_eq(a->count, 3);
	ck_assert_uint_eq(a->ttl, 300);
	for (unsigned i = 0; i < 3; i++) /* every record on the wire too */
		ck_assert_uint_eq(get32(a->wire + i * (RR_FIXED_LEN + 4) + 4), 300);
	zone_free(z);
}
END_TEST

/* ================================================================ $INCLUDE */

START_TEST(include_relative_origin_nested)
{
	ut_write(g_dir, "inc/hosts.inc",
		 "ns1 A 192.0.2.1\n"                /* 1: example.com. */
		 "$INCLUDE nested/deeper.inc\n"      /* 2: inc/nested/deeper.inc */
		 "$ORIGIN changed.example.com.\n"    /* 3 */
		 "$TTL 60\n"                         /* 4 */
		 "h2 A 192.0.2.3\n");                /* 5: h2.changed.example.com. */
	ut_write(g_dir, "inc/nested/deeper.inc",
		 "h1 A 192.0.2.2\n");                /* h1.example.com. */
	ut_write(g_dir, "inc/sub.inc",
		 "www A 192.0.2.4\n"                 /* www.sub.example.com. */
		 "@ TXT \"sub apex\"\n");            /* sub.example.com. */
	ut_write(g_dir, "inc/abs.inc",
		 "@ A 192.0.2.5\n"
		 "x A 192.0.2.6\n");
	struct ut_diag d;
	unsigned nerr = 99;
	struct zone *z = load("example.com.zone", "example.com.",
			     "$ORIGIN example.com.\n"
			     "$TTL 300\n"
			     "@ SOA ns1 hm 1 2 3 4 5\n"
			     "@ NS ns1\n"
			     "$INCLUDE inc/hosts.inc\n"
			     "$INCLUDE inc/sub.inc sub ; a relative origin\n"
			     "$INCLUDE \"inc/abs.inc\" abs.example.com.\n"
			     "after A 192.0.2.9\n",
			     &d, &nerr);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(nerr, 0);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_ptr_nonnull(rrset_at(z, "ns1.example.com.", RRTYPE_A));
	ck_assert_ptr_nonnull(rrset_at(z, "h1.example.com.", RRTYPE_A));
	ck_assert_uint_eq(rrset_at(z, "h1.example.com.", RRTYPE_A)->ttl, 300);
	ck_assert_ptr_nonnull(rrset_at(z, "h2.changed.example.com.", RRTYPE_A));
	ck_assert_uint_eq(rrset_at(z, "h2.changed.example.com.", RRTYPE_A)->ttl, 60);
	ck_assert_ptr_nonnull(rrset_at(z, "www.sub.example.com.", RRTYPE_A));
	ck_assert_ptr_nonnull(rrset_at(z, "sub.example.com.", RRTYPE_TXT));
	ck_assert_ptr_nonnull(rrset_at(z, "abs.example.com.", RRTYPE_A));
	ck_assert_ptr_nonnull(rrset_at(z, "x.abs.example.com.", RRTYPE_A));
	/* RFC 1035 §5.1: the included file's $ORIGIN and $TTL stay there */
	ck_assert_ptr_nonnull(ut_node(z, "after.example.com."));
	ck_assert_ptr_null(ut_node(z, "after.changed.example.com."));
	ck_assert_uint_eq(rrset_at(z, "after.example.com.", RRTYPE_A)->ttl, 300);
	zone_free(z);
}
END_TEST

START_TEST(include_missing_file)
{
	char reason[8192];
	snprintf(reason, sizeof(reason), "$INCLUDE %s/missing.inc: No such file or directory", g_dir);
	expect_one_error(HEAD "$INCLUDE missing.inc\n" /* 5 */
			 "www A 192.0.2.2\n",
			 NULL, 5, reason);
}
END_TEST

START_TEST(include_missing_file_with_origin)
{
	char reason[8192];
	snprintf(reason, sizeof(reason), "$INCLUDE %s/sub/missing.inc: No such file or directory",
		 g_dir);
	expect_one_error(HEAD "; a comment line first\n"     /* 5 */
			 "$INCLUDE sub/missing.inc sub\n" /* 6 */
			 "www A 192.0.2.2\n",
			 NULL, 6, reason);
}
END_TEST

START_TEST(include_self_depth_limit)
{
	ut_write(g_dir, "loop.inc",
		 "; includes itself\n"   /* 1 */
		 "$INCLUDE loop.inc\n"); /* 2 */
	char reason[256];
	snprintf(reason, sizeof(reason), "$INCLUDE nested deeper than %d files",
		 ZONE_INCLUDE_DEPTH_MAX);
	expect_one_error(HEAD "$INCLUDE loop.inc\n", "loop.inc", 2, reason);
}
END_TEST

/* A chain main → c1 → c2 → ... → cN, cN holding one record. */
static struct zone *include_chain(int n, struct ut_diag *d, unsigned *nerr)
{
	for (int i = 1; i <= n; i++) {
		char name[32], text[128];
		snprintf(name, sizeof(name), "c%d.inc", i);
		if (i < n)
			snprintf(text, sizeof(text), "l%d A 192.0.2.%d\n$INCLUDE c%d.inc\n", i, i, i + 1);
		else
			snprintf(text, sizeof(text), "last A 192.0.2.100\n");
		ut_write(g_dir, name, text);
	}
	return load("example.com.zone", "example.com.", HEAD "$INCLUDE c1.inc\n", d, nerr);
}

START_TEST(include_depth_max_is_allowed)
{
	struct ut_diag d;
	unsigned nerr = 99;
	struct zone *z = include_chain(ZONE_INCLUDE_DEPTH_MAX, &d, &nerr);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(nerr, 0);
	ck_assert_ptr_nonnull(ut_node(z, "last.example.com."));
	zone_free(z);
}
END_TEST

START_TEST(include_depth_max_plus_one_fails)
{
	struct ut_diag d;
	unsigned nerr = 99;
	struct zone *z = include_chain(ZONE_INCLUDE_DEPTH_MAX + 1, &d, &nerr);
	ck_assert_ptr_null(z);
	ck_assert_uint_eq(nerr, 1);
	char want[8192], got[4096];
	snprintf(want, sizeof(want), "%s/c%d.inc:2: $INCLUDE nested deeper than %d files", g_dir,
		 ZONE_INCLUDE_DEPTH_MAX, ZONE_INCLUDE_DEPTH_MAX);
	ck_assert_str_eq(ut_diag_str(&d, 0, got, sizeof(got)), want);
}
END_TEST

START_TEST(include_error_reports_included_file)
{
	ut_write(g_dir, "bad.inc",
		 "ok A 192.0.2.1\n"       /* 1 */
		 "bad A 192.0.2.300\n"    /* 2 */
		 "ok2 A 192.0.2.2\n");    /* 3 */
	expect_one_error(HEAD "$INCLUDE bad.inc\n", "bad.inc", 2,
			 "Syntax error, could not parse the RR's rdata");
}
END_TEST

/* ================================================================ bad files */

START_TEST(bad_rdata_syntax)
{
	expect_one_error(HEAD "www IN A 192.0.2.999\n" /* 5 */
			 "ok IN A 192.0.2.2\n",
			 NULL, 5, "Syntax error, could not parse the RR's rdata");
}
END_TEST

START_TEST(bad_unknown_type)
{
	/* ldns reads an unknown mnemonic as an unknown type and fails on the
	 * rdata: the message is ldns's, not "unknown type" */
	expect_one_error(HEAD "www IN FOOBAR 192.0.2.1\n" /* 5 */, NULL, 5,
			 "Syntax error, could not parse the RR's rdata");
}
END_TEST

START_TEST(bad_rfc3597_length_mismatch)
{
	expect_one_error(HEAD "www IN A \\# 3 010203\n" /* 5: A needs 4 */, NULL, 5,
			 "Packet size overflow");
}
END_TEST

START_TEST(bad_outside_zone)
{
	expect_one_error(HEAD "www.example.net. IN A 192.0.2.1\n" /* 5 */, NULL, 5,
			 "record owner www.example.net. is outside the zone example.com.");
}
END_TEST

START_TEST(bad_outside_zone_parent_and_lookalike)
{
	expect_one_error(HEAD "com. IN A 192.0.2.1\n", NULL, 5,
			 "record owner com. is outside the zone example.com.");
	expect_one_error(HEAD "fooexample.com. IN A 192.0.2.1\n", NULL, 5,
			 "record owner fooexample.com. is outside the zone example.com.");
}
END_TEST

START_TEST(bad_class)
{
	expect_one_error(HEAD "www CH A 192.0.2.1\n" /* 5 */, NULL, 5, "class 3 is not IN");
	expect_one_error(HEAD "www HS TXT \"x\"\n" /* 5 */, NULL, 5, "class 4 is not IN");
}
END_TEST

START_TEST(bad_no_soa)
{
	expect_one_error("$TTL 300\n@ NS ns\nns A 192.0.2.1\n", NULL, 0,
			 "no SOA record at the zone apex example.com.");
}
END_TEST

START_TEST(bad_no_ns_at_apex)
{
	/* NS below the apex does not count */
	expect_one_error("$TTL 300\n@ SOA ns hm 1 2 3 4 5\nsub NS ns\n", NULL, 0,
			 "no NS records at the zone apex example.com.");
}
END_TEST

START_TEST(bad_two_soas)
{
	expect_one_error(HEAD "@ IN SOA ns hostmaster 2 2 3 4 5\n" /* 5 */, NULL, 5,
			 "more than one SOA record at the apex");
}
END_TEST

START_TEST(bad_soa_not_at_apex)
{
	expect_one_error(HEAD "sub IN SOA ns hostmaster 1 2 3 4 5\n" /* 5 */, NULL, 5,
			 "SOA record is not at the zone apex");
}
END_TEST

START_TEST(bad_cname_after_other_data)
{
	expect_one_error(HEAD "ns IN CNAME www\n" /* 5: ns has an A (line 4) */, NULL, 5,
			 "CNAME and other data at the same name (RFC 2181 §10.1)");
}
END_TEST

START_TEST(bad_other_data_after_cname)
{
	expect_one_error(HEAD "c IN CNAME www\n" /* 5 */
			 "c IN MX 10 ns\n",  /* 6 */
			 NULL, 6, "MX next to a CNAME at the same name (RFC 2181 §10.1)");
}
END_TEST

START_TEST(bad_two_cnames)
{
	expect_one_error(HEAD "c IN CNAME www\n" /* 5 */
			 "c IN CNAME ns\n",  /* 6 */
			 NULL, 6, "more than one CNAME at the same name");
}
END_TEST

START_TEST(bad_cname_at_apex)
{
	expect_one_error(HEAD "@ IN CNAME www.example.net.\n" /* 5 */, NULL, 5,
			 "CNAME at the zone apex (RFC 1034 §3.6.2: it cannot coexist with SOA and NS)");
}
END_TEST

START_TEST(good_cname_duplicate_and_rrsig)
{
	/* the same CNAME twice is one record; RRSIG may sit beside it
	 * (RFC 2181 §10.1, RFC 4035 §2.5) */
	struct ut_diag d;
	unsigned nerr = 99;
	struct zone *z = load("example.com.zone", "example.com.",
			     HEAD "c IN CNAME www\n"
				  "c IN CNAME www\n"
				  "c IN RRSIG CNAME 8 3 300 20300101000000 20200101000000 1 "
				  "example.com. AAAA\n",
			     &d, &nerr);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(nerr, 0);
	const struct node *c = ut_node(z, "c.example.com.");
	ck_assert_int_ne(c->flags & NODE_CNAME, 0);
	ck_assert_uint_eq(node_rrset(c, RRTYPE_CNAME)->count, 1);
	ck_assert_ptr_nonnull(node_rrset(c, RRTYPE_RRSIG));
	zone_free(z);
}
END_TEST

START_TEST(bad_meta_types)
{
	/* OPT, ANY and friends are not zone data */
	/* ldns has no mnemonics for the QTYPE-only 252-255: RFC 3597 names */
	expect_one_error(HEAD "www IN TYPE255 \\# 0\n", NULL, 5, "TYPE255 is a meta type, not zone data");
	expect_one_error(HEAD "www IN TYPE252 \\# 0\n", NULL, 5, "TYPE252 is a meta type, not zone data");
	expect_one_error(HEAD "www IN TYPE41 \\# 0\n", NULL, 5, "OPT is a meta type, not zone data");
}
END_TEST

START_TEST(bad_two_dnames)
{
	expect_one_error(HEAD "d IN DNAME a.example.net.\n"
			      "d IN DNAME b.example.net.\n",
			 NULL, 6, "more than one DNAME at the same name");
}
END_TEST

START_TEST(bad_missing_file)
{
	struct ut_diag d;
	unsigned nerr = 99;
	char want[8192], got[4096];
	struct zone *z = load("nothere.zone", "example.com.", NULL, &d, &nerr);
	ck_assert_ptr_null(z);
	ck_assert_uint_eq(nerr, 1);
	ck_assert_uint_eq(d.n, 1);
	snprintf(want, sizeof(want), "%s/nothere.zone:0: cannot open: No such file or directory",
		 g_dir);
	ck_assert_str_eq(ut_diag_str(&d, 0, got, sizeof(got)), want);
}
END_TEST

START_TEST(bad_every_error_reported)
{
	/* errors do not stop the load: each bad line gets its own message */
	struct ut_diag d;
	unsigned nerr = 0;
	struct zone *z = load("example.com.zone", "example.com.",
			     HEAD "a IN A 192.0.2.999\n"        /* 5 */
				  "b.example.org. IN A 192.0.2.1\n" /* 6 */
				  "c IN A 192.0.2.1\n"             /* 7 */
				  "c IN CNAME www\n",              /* 8 */
			     &d, &nerr);
	ck_assert_ptr_null(z);
	ck_assert_uint_eq(nerr, 3);
	ck_assert_uint_eq(d.n, 3);
	ck_assert_int_eq(d.e[0].line, 5);
	ck_assert_int_eq(d.e[1].line, 6);
	ck_assert_int_eq(d.e[2].line, 8);
}
END_TEST

START_TEST(bad_too_many_errors)
{
	char *text = malloc(64 * 1024);
	ck_assert_ptr_nonnull(text);
	strcpy(text, HEAD);
	for (int i = 0; i < ZONE_ERRORS_MAX + 50; i++)
		strcat(text, "x IN A 192.0.2.999\n");
	struct ut_diag d;
	unsigned nerr = 0;
	struct zone *z = load("example.com.zone", "example.com.", text, &d, &nerr);
	free(text);
	ck_assert_ptr_null(z);
	/* ZONE_ERRORS_MAX messages with lines 5, 6, ..., then one saying so */
	ck_assert_uint_eq(d.n, ZONE_ERRORS_MAX + 1);
	for (unsigned i = 0; i < ZONE_ERRORS_MAX; i++)
		ck_assert_int_eq(d.e[i].line, (int)i + 5);
	ck_assert_int_eq(d.e[ZONE_ERRORS_MAX].line, 0);
	ck_assert_str_eq(d.e[ZONE_ERRORS_MAX].reason, "too many errors, stopped reading");
	ck_assert_uint_gt(nerr, ZONE_ERRORS_MAX);
}
END_TEST

/* ================================================================ line numbers */

START_TEST(line_multiline_entry_reports_first_line)
{
	/* The loader reports an entry at the line where it starts (ldns
	 * reports per entry, not per token), whichever line the bad token is on. */
	expect_one_error(HEAD "@ IN SOA ns hostmaster (\n" /* 5 */
			      "  2 two 3\n"                /* 6: the bad token */
			      "  4 5 )\n"                  /* 7 */
			      "ok A 192.0.2.2\n",
			 NULL, 5, "Syntax error, could not parse the RR's rdata");
}
END_TEST

START_TEST(line_after_comment_line)
{
	expect_one_error(HEAD "; a comment\n"           /* 5 */
			      "www A 192.0.2.999\n"     /* 6 */
			      "ok A 192.0.2.2\n",
			 NULL, 6, "Syntax error, could not parse the RR's rdata");
}
END_TEST

START_TEST(line_after_blank_lines)
{
	/* blank lines before the entry belong to the previous read */
	expect_one_error(HEAD "\n\n"                  /* 5, 6 */
			      "www A 192.0.2.999\n"   /* 7 */
			      "ok A 192.0.2.2\n",
			 NULL, 7, "Syntax error, could not parse the RR's rdata");
}
END_TEST

START_TEST(line_after_directives_and_include)
{
	ut_write(g_dir, "two.inc", "i1 A 192.0.2.1\n\ni2 A 192.0.2.2\n");
	expect_one_error(HEAD "$ORIGIN sub\n"            /* 5 */
			      "\n"                       /* 6 */
			      "$INCLUDE two.inc\n"       /* 7 */
			      "\n"                       /* 8 */
			      "; comment\n"              /* 9 */
			      "$TTL 60\n"                /* 10 */
			      "\n"                       /* 11 */
			      "  ( bad A 192.0.2.999 )\n" /* 12 */
			      "ok A 192.0.2.2\n",
			 NULL, 12, "Syntax error, could not parse the RR's rdata");
}
END_TEST

/* Regression (a bug found here, fixed in 35134db):
 * (src/zone_load.c, load_fp): ldns_rr_new_frm_fp_l swallows the blank
 * lines that FOLLOW an entry (ldns_fget_token_l skips every delimiter after
 * the entry, "\n" included, counting each), so `line - 1` is the last of
 * those blank lines, not the entry's line. A record on line 5 followed by
 * two blank lines is reported at line 7. */
START_TEST(bug_line_before_blank_lines)
{
	expect_one_error(HEAD "www A 192.0.2.999\n" /* 5 */
			      "\n"                  /* 6 */
			      "\n"                  /* 7 */
			      "ok A 192.0.2.2\n",
			 NULL, 5, "Syntax error, could not parse the RR's rdata");
}
END_TEST

/* Regression (a bug found here, fixed in 35134db):
 * (src/zone_load.c, load_fp): same cause, for a builder error. */
START_TEST(bug_line_before_blank_line_builder_error)
{
	expect_one_error(HEAD "www.example.net. A 192.0.2.1\n" /* 5 */
			      "\n"                             /* 6 */
			      "ok A 192.0.2.2\n",
			 NULL, 5, "record owner www.example.net. is outside the zone example.com.");
}
END_TEST

/* Regression (a bug found here, fixed in 35134db):
 * (src/zone_load.c, load_fp): when the last line has no newline, ldns
 * does not count it, so `line - 1` names the line before it. */
START_TEST(bug_line_last_line_without_newline)
{
	expect_one_error(HEAD "www A 192.0.2.999" /* 5, no newline */, NULL, 5,
			 "Syntax error, could not parse the RR's rdata");
}
END_TEST

/* Regression (found by comparing the two readers on the fuzz corpus):
 * (src/zone_load.c load_fp, part_parse): ldns reports LDNS_STATUS_SYNTAX_ERR
 * at the end of the file both when only blanks or comments were left and
 * when the last entry is bad (here an owner label over 63 octets); the
 * loader took both for the first, so a bad last line was dropped without
 * a word and the zone loaded without it. */
START_TEST(bug_bad_last_line_dropped_silently)
{
	for (int ldns_reader = 0; ldns_reader < 2; ldns_reader++) {
		if (ldns_reader)
			setenv("SHOAL_LDNS_READER", "1", 1);
		expect_one_error(HEAD "www A 192.0.2.7\n" /* 5 */
				      "a234567890123456789012345678901234567890"
				      "123456789012345678901234567890 A 192.0.2.8\n", /* 6 */
				 NULL, 6, "Syntax error, could not parse the RR");
		unsetenv("SHOAL_LDNS_READER");
	}
}
END_TEST

/* Regression (a bug found here, fixed in 35134db):
 * (src/zone_load.c add_rr / src/zone.c zone_builder_add): ldns parses
 * an unknown mnemonic WITHOUT rdata ("www IN FOOBAR") as a record of type 0
 * with empty rdata and reports success; the loader then serves a TYPE0
 * record. Type 0 is reserved (RFC 6895 §3.1) and FOOBAR is not a type
 * (RFC 3597 §5: unknown types are written TYPEnnn): the line must be an
 * error. */
START_TEST(bug_unknown_type_without_rdata_loads_as_type0)
{
	struct ut_diag d;
	unsigned nerr = 0;
	struct zone *z = load("example.com.zone", "example.com.", HEAD "www IN FOOBAR\n" /* 5 */,
			     &d, &nerr);
	const struct node *n = z ? ut_node(z, "www.example.com.") : NULL;
	ck_assert_msg(n == NULL || node_rrset(n, 0) == NULL,
		      "a TYPE0 record was loaded from 'www IN FOOBAR'");
	ck_assert_ptr_null(z);
	ck_assert_uint_eq(nerr, 1);
	ck_assert_int_eq(d.e[0].line, 5);
}
END_TEST

/* Regression (src/zone_load.c rec_of): ldns reads "TYPE65537" and
 * "CLASS65537" as numbers it keeps whole, and the wire took them modulo
 * 65536: the first line loaded as an A record, the second in class IN.
 * Both are errors, with either reader. */
START_TEST(bug_type_or_class_above_65535_loaded_modulo)
{
	for (int ldns_reader = 0; ldns_reader < 2; ldns_reader++) {
		if (ldns_reader)
			setenv("SHOAL_LDNS_READER", "1", 1);
		expect_one_error(HEAD "x TYPE65537 192.0.2.5\n", /* 5 */
				 NULL, 5, "type number above 65535");
		expect_one_error(HEAD "y CLASS65537 A 192.0.2.6\n", /* 5 */
				 NULL, 5, "class number above 65535");
		unsetenv("SHOAL_LDNS_READER");
	}
}
END_TEST

/* Regression (a bug found here, fixed in 35134db):
 * (src/zone_load.c zone_load_file: default_ttl starts at 0, so ldns
 * falls back to its own LDNS_DEFAULT_TTL, 3600): in a file without $TTL, a
 * record without a TTL must take the last explicitly stated TTL (RFC 1035
 * §5.1: "If TTL is omitted, it defaults to the last explicitly stated
 * value"), here the SOA's 600, not 3600. */
START_TEST(bug_no_dollar_ttl_uses_last_explicit_ttl)
{
	struct ut_diag d;
	struct zone *z = load("example.com.zone", "example.com.",
			     "@ 600 IN SOA ns hm 1 2 3 4 5\n"
			     "@ IN NS ns\n"
			     "ns IN A 192.0.2.1\n",
			     &d, NULL);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(rrset_at(z, "ns.example.com.", RRTYPE_A)->ttl, 600);
	zone_free(z);
}
END_TEST

/* RFC 1035 §5.1: "[<TTL>] [<class>]" or "[<class>] [<TTL>]"; BIND, Knot
 * and NSD take both orders. ldns takes only the first, so the loader
 * swaps the two in its copy of the text. With either reader, on a plain
 * line, a multi-line entry, a blank owner, and a file big enough to load
 * in parts. */
static void check_class_then_ttl(bool ldns_reader)
{
	if (ldns_reader)
		setenv("SHOAL_LDNS_READER", "1", 1);
	struct ut_diag d;
	unsigned nerr = 99;
	struct zone *z = load("example.com.zone", "example.com.",
			     "$TTL 300\n"
			     "@ IN 600 SOA ns hostmaster ( 1 2 3\n"
			     "   4 5 )\n"
			     "@ IN 3600 NS ns\n"
			     "ns IN 1h A 192.0.2.1\n"
			     "\tin\t7200\taaaa 2001:db8::1\n"
			     "mail CLASS1 60 MX 10 ns\n"
			     "txt IN 30 TXT \"a\" \"b\"\n" /* quotes: ldns's reader */
			     "IN IN 40 A 192.0.2.2\n"	     /* a host named IN */
			     "plain IN A 192.0.2.3\n"	     /* no TTL: $TTL */
			     "ttlfirst 50 IN A 192.0.2.4\n",
			     &d, &nerr);
	unsetenv("SHOAL_LDNS_READER");
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(nerr, 0);
	ck_assert_uint_eq(rrset_at(z, "example.com.", RRTYPE_SOA)->ttl, 600);
	ck_assert_uint_eq(rrset_at(z, "example.com.", RRTYPE_NS)->ttl, 3600);
	ck_assert_uint_eq(rrset_at(z, "ns.example.com.", RRTYPE_A)->ttl, 3600);
	ck_assert_uint_eq(rrset_at(z, "ns.example.com.", RRTYPE_AAAA)->ttl, 7200);
	ck_assert_uint_eq(rrset_at(z, "mail.example.com.", RRTYPE_MX)->ttl, 60);
	ck_assert_uint_eq(rrset_at(z, "txt.example.com.", RRTYPE_TXT)->ttl, 30);
	ck_assert_uint_eq(rrset_at(z, "in.example.com.", RRTYPE_A)->ttl, 40);
	ck_assert_uint_eq(rrset_at(z, "plain.example.com.", RRTYPE_A)->ttl, 300);
	ck_assert_uint_eq(rrset_at(z, "ttlfirst.example.com.", RRTYPE_A)->ttl, 50);
	zone_free(z);
}

START_TEST(class_then_ttl)
{
	check_class_then_ttl(false);
	check_class_then_ttl(true);
	/* every line of a big file, loaded in parts */
	char path[4096];
	ut_path(path, sizeof(path), g_dir, "example.com.zone");
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("$TTL 300\n@ IN 600 SOA ns hm 1 2 3 4 5\n@ IN 600 NS ns\nns IN 60 A 192.0.2.1\n", f);
	for (int i = 0; i < 200000; i++)
		fprintf(f, "h%d IN %d A 192.0.2.%d\n", i, 100 + i % 7, i % 250);
	fclose(f);
	struct ut_diag d;
	unsigned nerr = 99;
	struct zone *z = load("example.com.zone", "example.com.", NULL, &d, &nerr);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(nerr, 0);
	ck_assert_uint_eq(rrset_at(z, "h0.example.com.", RRTYPE_A)->ttl, 100);
	ck_assert_uint_eq(rrset_at(z, "h199999.example.com.", RRTYPE_A)->ttl, 100 + 199999 % 7);
	zone_free(z);
}
END_TEST

START_TEST(relative_origins_chain_and_include)
{
	/* RFC 1035 §5.1: each relative $ORIGIN is relative to the one in force */
	ut_write(g_dir, "inc.zone.inc",
		 "$ORIGIN c\\.d\n"	/* c\.d.<the include's origin> */
		 "x A 192.0.2.7\n");
	struct ut_diag d;
	unsigned nerr = 99;
	struct zone *z = load("example.com.zone", "example.com.",
			     HEAD "$ORIGIN a\n"           /* a.example.com. */
				  "w1 A 192.0.2.2\n"
				  "$ORIGIN b ; comment\n" /* b.a.example.com. */
				  "w2 A 192.0.2.3\n"
				  "@ A 192.0.2.4\n"
				  "$INCLUDE inc.zone.inc q\n" /* origin q.b.a.example.com. */
				  "w3 A 192.0.2.5\n"       /* still b.a.example.com. */
				  "$ORIGIN example.com.\n"
				  "w4 A 192.0.2.6\n",
			     &d, &nerr);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(nerr, 0);
	ck_assert_ptr_nonnull(rrset_at(z, "w1.a.example.com.", RRTYPE_A));
	ck_assert_ptr_nonnull(rrset_at(z, "w2.b.a.example.com.", RRTYPE_A));
	ck_assert_ptr_nonnull(rrset_at(z, "b.a.example.com.", RRTYPE_A));
	ck_assert_ptr_nonnull(rrset_at(z, "x.c\\.d.q.b.a.example.com.", RRTYPE_A));
	ck_assert_ptr_nonnull(rrset_at(z, "w3.b.a.example.com.", RRTYPE_A));
	ck_assert_ptr_nonnull(rrset_at(z, "w4.example.com.", RRTYPE_A));
	zone_free(z);
}
END_TEST

START_TEST(ttl_defaults)
{
	/* no $TTL: the last explicit TTL (RFC 1035 §5.1), 3600 before any;
	 * after $TTL: the $TTL (RFC 2308 §4), whatever came explicitly */
	struct ut_diag d;
	unsigned nerr = 99;
	struct zone *z = load("example.com.zone", "example.com.",
			     "first A 192.0.2.1\n"
			     "@ 600 SOA ns hm 1 2 3 4 5\n"
			     "@ NS ns\n"
			     "ns 700 A 192.0.2.2\n"
			     "after700 A 192.0.2.3\n"
			     "$TTL 60\n"
			     "x 900 A 192.0.2.4\n"
			     "after60 A 192.0.2.5\n",
			     &d, &nerr);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(rrset_at(z, "first.example.com.", RRTYPE_A)->ttl, 3600);
	ck_assert_uint_eq(node_rrset(z->apex_node, RRTYPE_NS)->ttl, 600);
	ck_assert_uint_eq(rrset_at(z, "after700.example.com.", RRTYPE_A)->ttl, 700);
	ck_assert_uint_eq(rrset_at(z, "x.example.com.", RRTYPE_A)->ttl, 900);
	ck_assert_uint_eq(rrset_at(z, "after60.example.com.", RRTYPE_A)->ttl, 60);
	zone_free(z);
}
END_TEST

/* ================================================================ big files
 *
 * Files of 4 MiB and more are parsed in parallel parts (zone_load.c
 * load_parallel, when the machine has two CPUs or more); the result must
 * be the serial load's (SHOAL_SERIAL_LOAD=1 forces that one). */

/* Lines of ~66 octets, most of it a long label: past the 4 MiB threshold
 * with few records, so the test stays quick (ldns's cost is per record). */
#define BIG_RECORDS 70000
#define BIG_LABEL "a-long-label-to-make-each-line-of-the-file-long"

/* Write a big file: `head` (lines 1..), then BIG_RECORDS A records named
 * h<i>.BIG_LABEL (i from 000000), with `at_90` inserted after 90% of them. Returns the
 * line number of the first line of at_90. */
static int write_big_as(const char *file, const char *head, const char *at_90)
{
	char path[4096];
	ut_path(path, sizeof(path), g_dir, file);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(head, f);
	int line = 1;
	for (const char *p = head; *p; p++)
		line += *p == '\n';
	int at = 0;
	for (int i = 0; i < BIG_RECORDS; i++) {
		if (i == BIG_RECORDS / 10 * 9) {
			at = line;
			fputs(at_90, f);
			for (const char *p = at_90; *p; p++)
				line += *p == '\n';
		}
		fprintf(f, "h%06d." BIG_LABEL " A 10.%d.%d.%d\n", i, (i >> 16) & 255, (i >> 8) & 255,
			i & 255);
		line++;
	}
	ck_assert_int_eq(fclose(f), 0);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_ge(st.st_size, 4 << 20); /* zone_load.c PARALLEL_MIN_BYTES */
	return at;
}

static int write_big(const char *head, const char *at_90)
{
	return write_big_as("example.com.zone", head, at_90);
}

static struct zone *load_mode_as(const char *file, const char *origin, bool serial,
				 struct ut_diag *d, unsigned *nerr)
{
	if (serial)
		setenv("SHOAL_SERIAL_LOAD", "1", 1);
	else
		unsetenv("SHOAL_SERIAL_LOAD");
	return load(file, origin, NULL, d, nerr);
}

static struct zone *load_mode(bool serial, struct ut_diag *d, unsigned *nerr)
{
	return load_mode_as("example.com.zone", "example.com.", serial, d, nerr);
}

/* Both loads agree: messages, counts, every node and RRset. */
static void assert_same_load(const struct zone *p, const struct ut_diag *dp, unsigned ep,
			     const struct zone *s, const struct ut_diag *ds, unsigned es)
{
	char a[4096], b[4096];
	ck_assert_uint_eq(ep, es);
	ck_assert_uint_eq(dp->n, ds->n);
	for (unsigned i = 0; i < dp->n; i++)
		ck_assert_str_eq(ut_diag_str(dp, i, a, sizeof(a)), ut_diag_str(ds, i, b, sizeof(b)));
	ck_assert((p == NULL) == (s == NULL));
	if (!p)
		return;
	ck_assert_uint_eq(p->nrecords, s->nrecords);
	ck_assert_uint_eq(p->nnodes, s->nnodes);
	for (size_t i = 0; i <= s->mask; i++) {
		const struct node *n = zone_slot_at(s, i)->node;
		if (!n)
			continue;
		const struct node *m = zone_find(p, n->name, n->name_len, n->hash);
		ck_assert_msg(m != NULL, "node %s missing from the parallel load",
			      dname_to_str(n->name, a, sizeof(a)));
		ck_assert_uint_eq(m->nrrsets, n->nrrsets);
		for (unsigned k = 0; k < n->nrrsets; k++) {
			ck_assert_uint_eq(m->rrsets[k].type, n->rrsets[k].type);
			ck_assert_uint_eq(m->rrsets[k].wire_len, n->rrsets[k].wire_len);
			ck_assert_mem_eq(m->rrsets[k].wire, n->rrsets[k].wire, n->rrsets[k].wire_len);
		}
	}
}

/* A big file with $TTL, $ORIGIN and an error after the split, loaded in
 * parts (with every CPU, or pinned to one: then the main thread parses the
 * parts itself) and serially: the same result. */
static void big_file_with_error_equals_serial(bool one_cpu)
{
	/* absolute $ORIGIN and $TTL with a unit after the split, an error */
	int at = write_big("$TTL 300\n"
			   "@ SOA ns1 hm 1 2 3 4 5\n"
			   "@ NS ns1\n"
			   "ns1 A 192.0.2.1\n",
			   "$TTL 1h\n"
			   "$ORIGIN late.example.com.\n"
			   "@ TXT \"late ; ( apex\"\n"
			   "x A 192.0.2.999\n"
			   "$ORIGIN example.com.\n");
	cpu_set_t all, one;
	ck_assert_int_eq(sched_getaffinity(0, sizeof(all), &all), 0);
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all)) {
			CPU_SET(c, &one);
			break;
		}
	if (one_cpu)
		ck_assert_int_eq(sched_setaffinity(0, sizeof(one), &one), 0);
	struct ut_diag *dp = calloc(1, sizeof(*dp)), *ds = calloc(1, sizeof(*ds));
	unsigned ep = 0, es = 0;
	struct zone *p = load_mode(false, dp, &ep);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(all), &all), 0);
	struct zone *s = load_mode(true, ds, &es);
	ck_assert_ptr_null(p);
	ck_assert_ptr_null(s);
	ck_assert_uint_eq(es, 1);
	char want[8192], got[4096];
	snprintf(want, sizeof(want), "%s/example.com.zone:%d: Syntax error, could not parse the RR's rdata",
		 g_dir, at + 3);
	ck_assert_str_eq(ut_diag_str(ds, 0, got, sizeof(got)), want);
	assert_same_load(p, dp, ep, s, ds, es);
	free(dp);
	free(ds);
}

START_TEST(big_file_parallel_equals_serial)
{
	big_file_with_error_equals_serial(false);
}
END_TEST

START_TEST(big_file_one_cpu_equals_serial)
{
	big_file_with_error_equals_serial(true);
}
END_TEST

START_TEST(big_file_parallel_equals_serial_clean)
{
	write_big("$TTL 300\n"
		  "@ SOA ns1 hm 1 2 3 4 5\n"
		  "@ NS ns1\n"
		  "ns1 A 192.0.2.1\n",
		  "$TTL 1h\n"
		  "$ORIGIN late.example.com.\n"
		  "@ TXT \"late ; ( apex\"\n"
		  "$ORIGIN example.com.\n");
	struct ut_diag *dp = calloc(1, sizeof(*dp)), *ds = calloc(1, sizeof(*ds));
	unsigned ep = 0, es = 0;
	struct zone *p = load_mode(false, dp, &ep), *s = load_mode(true, ds, &es);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->nrecords, 3 + 1 + BIG_RECORDS);
	ck_assert_uint_eq(rrset_at(s, "late.example.com.", RRTYPE_TXT)->ttl, 3600);
	ck_assert_uint_eq(rrset_at(s, "h069999." BIG_LABEL ".example.com.", RRTYPE_A)->ttl, 3600);
	ck_assert_uint_eq(rrset_at(s, "h000000." BIG_LABEL ".example.com.", RRTYPE_A)->ttl, 300);
	assert_same_load(p, dp, ep, s, ds, es);
	zone_free(p);
	zone_free(s);
	free(dp);
	free(ds);
}
END_TEST

/* THP is on unless /sys says "[never]" (then madvise is refused). */
static bool thp_possible(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (!f)
		return false;
	bool ok = fgets(buf, sizeof(buf), f) && !strstr(buf, "[never]");
	fclose(f);
	return ok;
}

START_TEST(big_zone_into_huge_pages)
{
	/* 70,000 names: a 4 MiB table and 2 MiB arena chunks, 2 MiB-aligned
	 * so they can become huge pages; after the move every node and RRset
	 * reads the same as in a zone left alone. */
	write_big("$TTL 300\n"
		  "@ SOA ns1 hm 1 2 3 4 5\n"
		  "@ NS ns1\n"
		  "ns1 A 192.0.2.1\n",
		  "");
	struct ut_diag *dh = calloc(1, sizeof(*dh)), *dp = calloc(1, sizeof(*dp));
	unsigned eh = 0, ep = 0;
	struct zone *h = load_mode(false, dh, &eh), *p = load_mode(false, dp, &ep);
	ck_assert_ptr_nonnull(h);
	ck_assert_ptr_nonnull(p);
	size_t table_bytes = (h->mask + 1) * sizeof(struct zone_slot);
	ck_assert_uint_ge(table_bytes, (size_t)2 << 20);
	ck_assert_uint_eq((uintptr_t)h->pages[0] % ((size_t)2 << 20), 0);
	size_t moved = zone_hugepages(h);
	if (thp_possible()) /* the arena (~10 MiB here) and the table */
		ck_assert_uint_gt(moved, table_bytes);
	ck_assert_uint_eq(zone_hugepages(h), 0); /* once per zone */
	assert_same_load(h, dh, eh, p, dp, ep);
	assert_same_load(p, dp, ep, h, dh, eh);
	zone_free(h);
	zone_free(p);
	free(dh);
	free(dp);
}
END_TEST

/* Regression (a bug found here, fixed in 35134db):
 * (src/zone_load.c, load_fp; ldns_rr_new_frm_fp_l): a relative
 * $ORIGIN is taken as absolute: "$ORIGIN sub" in example.com. makes the
 * next names *.sub., not *.sub.example.com. RFC 1035 §5.1: names not ending
 * in a dot are relative to the current origin, and $ORIGIN's argument is a
 * name like any other (BIND and Knot read it so). The loader already does
 * this for $INCLUDE's origin argument (do_include), not for $ORIGIN. */
START_TEST(bug_relative_dollar_origin)
{
	struct ut_diag d;
	unsigned nerr = 0;
	struct zone *z = load("example.com.zone", "example.com.",
			     HEAD "$ORIGIN sub\n" /* 5 */
			     "www A 192.0.2.2\n", /* 6: www.sub.example.com. */
			     &d, &nerr);
	ck_assert_uint_eq(nerr, 0);
	ck_assert_ptr_nonnull(z);
	ck_assert_ptr_nonnull(ut_node(z, "www.sub.example.com."));
	zone_free(z);
}
END_TEST

/* Regression (found by tests/fuzz/fuzz_zone.c):
 * (src/zone_load.c, load_fp; ldns_rr_new_frm_fp_l): a $ORIGIN whose name
 * ldns cannot parse frees the origin and leaves none (NULL); a later
 * $INCLUDE then handed NULL to ldns_rdf_clone, whose assert aborted the
 * process (shoal-checkzone, or the server on a reload). The origin in force
 * before the bad line stays, so the names after it are read as before. */
START_TEST(bug_bad_dollar_origin_then_include)
{
	struct ut_diag d;
	unsigned nerr = 0;
	ut_write(g_dir, "inc.zone", "www A 192.0.2.2\n");
	struct zone *z = load("example.com.zone", "example.com.",
			     HEAD "$ORIGIN bad..name\n" /* 5 */
			     "$INCLUDE inc.zone\n",    /* 6 */
			     &d, &nerr);
	ck_assert_ptr_null(z);
	ck_assert_uint_eq(nerr, 1);
	char want[8192], got[4096];
	snprintf(want, sizeof(want),
		 "%s/example.com.zone:5: Syntax error, could not parse the RR's dname(s)", g_dir);
	ck_assert_str_eq(ut_diag_str(&d, 0, got, sizeof(got)), want);
}
END_TEST

START_TEST(bug_bad_dollar_origin_keeps_origin)
{
	/* one error, not one more for every relative name after it */
	expect_one_error(HEAD "$ORIGIN bad..name\n" /* 5 */
			      "www A 192.0.2.2\n"
			      "@ MX 10 www\n",
			 NULL, 5, "Syntax error, could not parse the RR's dname(s)");
}
END_TEST

/* The same in a big file, after the split: the parallel load agrees. */
START_TEST(big_file_bad_origin)
{
	write_big("$TTL 300\n"
		  "@ SOA ns1 hm 1 2 3 4 5\n"
		  "@ NS ns1\n"
		  "ns1 A 192.0.2.1\n",
		  "$ORIGIN bad..name\n"
		  "x A 192.0.2.9\n");
	struct ut_diag *dp = calloc(1, sizeof(*dp)), *ds = calloc(1, sizeof(*ds));
	unsigned ep = 0, es = 0;
	struct zone *p = load_mode(false, dp, &ep), *s = load_mode(true, ds, &es);
	ck_assert_ptr_null(s);
	ck_assert_uint_eq(es, 1);
	assert_same_load(p, dp, ep, s, ds, es);
	free(dp);
	free(ds);
}
END_TEST

/* A relative $ORIGIN in a big file: the parts after the first get the
 * origin as text (plan_parts), and must read it as the serial load does.
 * In the root zone "sub" relative to "." is sub. however it is read, so
 * this holds before and after bug_relative_dollar_origin is fixed. */
START_TEST(big_file_relative_origin)
{
	write_big_as("root.zone",
		     "$TTL 300\n"
		     ". SOA ns1.sub. hm.sub. 1 2 3 4 5\n"
		     ". NS ns1.sub.\n"
		     "$ORIGIN sub\n"
		     "ns1 A 192.0.2.1\n",
		     "");
	struct ut_diag *dp = calloc(1, sizeof(*dp)), *ds = calloc(1, sizeof(*ds));
	unsigned ep = 0, es = 0;
	struct zone *s = load_mode_as("root.zone", ".", true, ds, &es);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(es, 0);
	ck_assert_ptr_nonnull(rrset_at(s, "h069999." BIG_LABEL ".sub.", RRTYPE_A));
	struct zone *p = load_mode_as("root.zone", ".", false, dp, &ep);
	assert_same_load(p, dp, ep, s, ds, es);
	zone_free(p);
	zone_free(s);
	free(dp);
	free(ds);
}
END_TEST

/* ================================================================ plain lines
 *
 * zone_load.c reads a plain line (one record, no parentheses, quotes,
 * backslashes, CR, FF or VT, maybe a comment) itself and hands the text
 * to ldns_rr_new_frm_str; everything else goes through ldns's own reader
 * (ldns_rr_new_frm_fp_l), which SHOAL_LDNS_READER=1 makes it use for every
 * entry. ldns's reader is the reference: both loads must agree on every
 * record, message and line number. */

/* Load `text` (after HEAD) with our plain-line reader and with ldns's,
 * and compare. */
static void assert_readers_agree_n(const char *text, size_t len)
{
	char path[4096];
	uint8_t org[DNAME_MAX];
	ut_write_n(g_dir, "example.com.zone", text, len);
	ut_path(path, sizeof(path), g_dir, "example.com.zone");
	ut_name("example.com.", org);
	struct ut_diag *dp = calloc(1, sizeof(*dp)), *dl = calloc(1, sizeof(*dl));
	unsigned ep = 0, el = 0;
	unsetenv("SHOAL_LDNS_READER");
	struct zone *p = zone_load_file(path, org, ut_diag_fn, dp, &ep);
	setenv("SHOAL_LDNS_READER", "1", 1);
	struct zone *l = zone_load_file(path, org, ut_diag_fn, dl, &el);
	unsetenv("SHOAL_LDNS_READER");
	if (dp->n != dl->n || ep != el || (p == NULL) != (l == NULL)) {
		fprintf(stderr, "zone text:\n%.*s\n-- plain-line reader:\n", (int)len, text);
		ut_diag_dump(dp);
		fprintf(stderr, "-- ldns's reader:\n");
		ut_diag_dump(dl);
	}
	assert_same_load(p, dp, ep, l, dl, el);
	zone_free(p);
	zone_free(l);
	free(dp);
	free(dl);
}

static void assert_readers_agree(const char *text)
{
	assert_readers_agree_n(text, strlen(text));
}

START_TEST(plain_lines_read_as_ldns_reads_them)
{
	static const char *const bodies[] = {
		"www A 192.0.2.7\n",
		"www A 192.0.2.7 \n",			/* trailing blanks */
		"www A 192.0.2.7 \t \n",
		"www\tA\t192.0.2.7\t\n",
		"www A 192.0.2.7\n\tAAAA 2001:db8::7\n",	/* previous owner */
		"www A 192.0.2.7\n   \n  AAAA 2001:db8::7\n",	/* blank line between */
		"www A 192.0.2.7\n; note\n AAAA 2001:db8::7\n",
		"www A 192.0.2.7\n   ; note\n AAAA 2001:db8::7\n",
		"www A 192.0.2.7 ; a comment\n",
		"www A 192.0.2.7;no blank\n",
		"www A 192.0.2.7 ; ( not a group\n",
		"www A 192.0.2.7 ; \"not a quote\n",
		"www A 192.0.2.7 ; back\\slash\n",
		"www A 192.0.2.7 ; cr\r\n",
		"www A 192.0.2.7\r\n",			/* CRLF */
		"www A 192.0.2.7\r\nx A 192.0.2.8 \r\n\r\n  AAAA 2001:db8::8\r\n",
		"www\rA\r192.0.2.7\n",			/* CR as a blank */
		"\rwww A 192.0.2.7\n",
		"www A 192.0.2.7\n\r\n\r\t\rAAAA 2001:db8::7\n",
		"x\r\n",
		"xy\r\r\n",
		"www A 192.0.2.7 ; c\r\n\r\n",
		"www TXT \"a ; b\"\n",
		"www TXT a;b\n",
		"www TXT ( one\n two )\n",
		"www TXT one\\ two\n",
		"w\\.x A 192.0.2.7\n",
		"www A 192.0.2.7\n  \n",
		"www A 192.0.2.7\n  ",			/* blanks, no newline */
		"www A 192.0.2.7",			/* last line, no newline */
		"www A 192.0.2.7\n; last comment",
		"a A 192.0.2.7\nb \n c \nd A 192.0.2.8\n",	/* short lines */
		"x  \n",
		"x \n",
		"xy \n",
		"xyz \n",
		" x \n",
		"www A\n",				/* errors, with their lines */
		"www A 192.0.2.999\nok A 192.0.2.1\nbad AAAA ::g\n",
		"www FOO 1\n",
		"www 300 IN A 192.0.2.7\nwww2 IN 300 A 192.0.2.8\n",
		"www in a 192.0.2.7\n",
		"  $TTL 5\n",				/* not a directive */
		"$TTL 60\nwww A 192.0.2.7\n$ORIGIN sub\nx A 192.0.2.8\n",
		"$ORIGINx A 192.0.2.7\n",
		"www A 192.0.2.7\f\n",
		"www A 192.0.2.7\v\n",
		"other.org. A 192.0.2.7\n",		/* outside the zone */
		"www CNAME a\nwww A 192.0.2.7\n",	/* builder errors */
		"\n\n\nwww A 192.0.2.7\n\n\n",
		/* CR, FF, VT starting the line after an entry or a blank line
		 * (found by fuzz_zone) */
		"www A 192.0.2.7\n\rx A 192.0.2.8\n",
		"www A 192.0.2.7\n\n\rx A 192.0.2.8\n",
		"www A 192.0.2.7\n  \n\rx A 192.0.2.8\n",
		"www A 192.0.2.7\n; c\n\fx A 192.0.2.8\n",
		"www A 192.0.2.7 ; c\n\vx A 192.0.2.8\n",
		"www A 192.0.2.7\n\v\n\tAAAA 2001:db8::7\n",
		"www A 192.0.2.7\n \n\n\r$.{A\n",
		"www A 192.0.2.7\n;c\n\rx A 192.0.2.8\n",
		"www A 192.0.2.7\n ;c\n\rx A 192.0.2.8\n",
		"www A 192.0.2.7\n\t\n\fx A 192.0.2.8\n",
		"$ORIGoo\n \x8d\xcd" "eSECCLU6 0\n\n\r\xcd" "exa60\n S C  NECLU60\n \r\xcd.0.{",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		char text[4096];
		snprintf(text, sizeof(text), "%s%s", HEAD, bodies[i]);
		assert_readers_agree(text);
	}
	/* A NUL in a line, and a line longer than ldns's limit (10230). */
	char text[16384];
	size_t n = (size_t)snprintf(text, sizeof(text), "%swww A 192.0.2.7\n", HEAD);
	memcpy(text + n, "x A 192.0.2.8\0 junk\n", 20);
	assert_readers_agree_n(text, n + 20);
	n = (size_t)snprintf(text, sizeof(text), "%swww TXT ", HEAD);
	while (n < 10300)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "\"0123456789\" ");
	snprintf(text + n, sizeof(text) - n, "\nafter A 192.0.2.9\n");
	assert_readers_agree(text);
}
END_TEST

/* Zones of random lines made of pieces that matter to the two readers. */
START_TEST(plain_lines_random_zones_agree)
{
	static const char *const owners[] = {"", " ", "\t", "www", "a.b", "@", "w\\.x", "*.w",
					     "UP", "ns", "\r", "w\rx"};
	static const char *const mids[] = {"", "300 ", "IN ", "1h IN ", "IN 60 ", "in "};
	static const char *const datas[] = {
		"A 192.0.2.1", "AAAA 2001:db8::1", "TXT \"a ; b\"", "TXT a;b", "MX 10 mx",
		"TXT ( x\n y )", "A 192.0.2.300", "TXT x\\;y", "CNAME c", "A", "NS ns",
		"TYPE65534 \\# 2 abcd", "TXT \"q", "SRV 0 0 53 ns"};
	static const char *const ends[] = {"", " ", "  ", "\t", " ; c", ";(", " ;\"", "\r",
					   " ; )", "\t;\t", "\r\r", " \r"};
	static const char *const extra[] = {"   \n", "; comment\n", "\t; c (\n", "\n",
					    "$TTL 60\n", "$ORIGIN sub\n", "  $TTL 5\n",
					    "$ORIGIN example.com.\n", "\r", "\f", "\v"};
	unsigned seed = 20261202;
	for (int z = 0; z < 300; z++) {
		char text[8192];
		size_t n = (size_t)snprintf(text, sizeof(text), "%s", HEAD);
		int lines = 1 + (int)(rand_r(&seed) % 12);
		for (int i = 0; i < lines && n < sizeof(text) - 256; i++) {
			if (rand_r(&seed) % 5 == 0) {
				n += (size_t)snprintf(text + n, sizeof(text) - n, "%s",
						      extra[rand_r(&seed) % 11]);
				continue;
			}
			const char *o = owners[rand_r(&seed) % 12];
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%s%s%s%s%s", o,
					      *o && o[0] != ' ' && o[0] != '\t' ? " " : "",
					      mids[rand_r(&seed) % 6], datas[rand_r(&seed) % 14],
					      ends[rand_r(&seed) % 12],
					      rand_r(&seed) % 8 ? "\n" : "\n\n");
		}
		if (rand_r(&seed) % 6 == 0 && n > 0 && text[n - 1] == '\n')
			text[--n] = 0; /* no newline at the end */
		assert_readers_agree(text);
	}
}
END_TEST

/* ================================================================ origin from path */

START_TEST(origin_from_path)
{
	uint8_t o[DNAME_MAX];
	ck_assert_uint_eq(zone_origin_from_path("dir/example.com.zone", o), 13);
	ck_assert_mem_eq(o, "\7example\3com", 13);
	ck_assert_uint_eq(zone_origin_from_path("example.com.zone", o), 13);
	ck_assert_uint_eq(zone_origin_from_path("/a/b.zone/Example.COM.zone", o), 13);
	ck_assert_mem_eq(o, "\7Example\3COM", 13); /* case kept; callers lowercase */
	ck_assert_uint_eq(zone_origin_from_path("/z/example.com..zone", o), 13);
	ck_assert_uint_eq(zone_origin_from_path("com.zone", o), 5);
	ck_assert_uint_eq(zone_origin_from_path("a\\.b.zone", o), 5);
	ck_assert_mem_eq(o, "\3a.b", 5);
	/* the root zone */
	memset(o, 0xff, sizeof(o));
	ck_assert_uint_eq(zone_origin_from_path("zones/root.zone", o), 1);
	ck_assert_uint_eq(o[0], 0);
	memset(o, 0xff, sizeof(o));
	ck_assert_uint_eq(zone_origin_from_path("zones/..zone", o), 1);
	ck_assert_uint_eq(o[0], 0);
}
END_TEST

START_TEST(origin_from_path_rejects)
{
	uint8_t o[DNAME_MAX];
	ck_assert_uint_eq(zone_origin_from_path(".zone", o), 0);
	ck_assert_uint_eq(zone_origin_from_path("dir/.zone", o), 0);
	ck_assert_uint_eq(zone_origin_from_path("example.com", o), 0);
	ck_assert_uint_eq(zone_origin_from_path("example.com.zone.bak", o), 0);
	ck_assert_uint_eq(zone_origin_from_path("example.com.ZONE", o), 0);
	ck_assert_uint_eq(zone_origin_from_path("a..b.zone", o), 0);
	ck_assert_uint_eq(zone_origin_from_path("example.com.zone/", o), 0);
	char label64[128];
	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".zone");
	ck_assert_uint_eq(zone_origin_from_path(label64, o), 0);
	label64[1] = '.'; /* 1 + 62: fine */
	ck_assert_uint_eq(zone_origin_from_path(label64, o), 1 + 1 + 1 + 62 + 1);
}
END_TEST

START_TEST(origin_from_path_length_limit)
{
	/* 4 labels of 63 = 256 octets with the root: too long; 3 of 63 + 61 fits */
	char name[400], path[500];
	memset(name, 'a', sizeof(name));
	for (int i = 0; i < 4; i++)
		name[i * 64 + 63] = '.';
	name[255] = 0;
	snprintf(path, sizeof(path), "%s.zone", name);
	uint8_t o[DNAME_MAX];
	ck_assert_uint_eq(zone_origin_from_path(path, o), 0);
	name[253] = 0; /* last label 61 octets */
	snprintf(path, sizeof(path), "%s.zone", name);
	ck_assert_uint_eq(zone_origin_from_path(path, o), 255);
}
END_TEST

/* ================================================================ builder API */

START_TEST(builder_soa_rdata_checked)
{
	uint8_t apex[DNAME_MAX];
	ut_name("example.com.", apex);
	struct zone_builder *b = zone_builder_new(apex);
	ck_assert_ptr_nonnull(b);
	char msg[256] = "";
	ck_assert_int_eq(zone_builder_add(b, apex, RRTYPE_SOA, RRCLASS_IN, 300,
					  (const uint8_t *)"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
					  21, msg, sizeof(msg)),
			 ZB_ERROR);
	ck_assert_str_eq(msg, "malformed SOA rdata");
	/* a malformed owner */
	ck_assert_int_eq(zone_builder_add(b, (const uint8_t *)"\xc0\x0c", RRTYPE_A, RRCLASS_IN,
					  300, (const uint8_t *)"\1\2\3\4", 4, msg, sizeof(msg)),
			 ZB_ERROR);
	ck_assert_str_eq(msg, "malformed owner name");
	zone_builder_free(b);
	/* a malformed apex */
	ck_assert_ptr_null(zone_builder_new((const uint8_t *)"\x40"));
}
END_TEST

START_TEST(builder_names_lowercased)
{
	static const char *const rrs[] = {
		"EXAMPLE.com. SOA ns hm 1 2 3 4 5",
		"example.COM. NS NS.example.com.",
		"NS.Example.Com. A 192.0.2.1",
		"Sub.EXAMPLE.com. NS ns.example.com.",
		NULL,
	};
	struct zone *z = ut_zone("Example.COM.", rrs);
	ck_assert_mem_eq(z->apex, "\7example\3com", 13);
	const struct node *ns = ut_node(z, "ns.example.com.");
	ck_assert_ptr_nonnull(ns);
	ck_assert_mem_eq(ns->name, "\2ns\7example\3com", 16);
	/* glue found though the NS target's case differs */
	const struct node *sub = ut_node(z, "sub.example.com.");
	ck_assert_uint_eq(sub->nglue, 1);
	ck_assert(!sub->glue[0].in_domain);
	/* rdata is kept as written */
	const struct rrset *nsrr = node_rrset(z->apex_node, RRTYPE_NS);
	ck_assert_mem_eq(nsrr->wire + RR_FIXED_LEN, "\2NS\7example\3com", 16);
	zone_free(z);
}
END_TEST

START_TEST(rdata_name_offsets)
{
	ck_assert_int_eq(rdata_name_offset(RRTYPE_NS), 0);
	ck_assert_int_eq(rdata_name_offset(RRTYPE_CNAME), 0);
	ck_assert_int_eq(rdata_name_offset(RRTYPE_PTR), 0);
	ck_assert_int_eq(rdata_name_offset(RRTYPE_DNAME), 0);
	ck_assert_int_eq(rdata_name_offset(RRTYPE_SOA), 0);
	ck_assert_int_eq(rdata_name_offset(RRTYPE_MX), 2);
	ck_assert_int_eq(rdata_name_offset(RRTYPE_A), -1);
	ck_assert_int_eq(rdata_name_offset(RRTYPE_TXT), -1);
	ck_assert_int_eq(rdata_name_offset(65000), -1);
}
END_TEST

static Suite *zone_load_suite(void)
{
	Suite *s = suite_create("zone_load");
	TCase *t = tcase_create("good");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, good_loads_clean);
	tcase_add_test(t, good_soa_and_negative_ttl);
	tcase_add_test(t, negative_ttl_is_soa_ttl_when_smaller);
	tcase_add_test(t, good_names_escapes_and_rfc3597);
	tcase_add_test(t, good_parentheses_and_comments);
	tcase_add_test(t, good_table_ent_parent_wildcard);
	tcase_add_test(t, good_table_cuts_dname_above);
	tcase_add_test(t, good_table_glue);
	tcase_add_test(t, table_sized_from_file_then_fitted);
	tcase_add_test(t, small_zone_memory_fits);
	tcase_add_test(t, lookup_closest_encloser);
	tcase_add_test(t, ttl_mismatch_warns_and_uses_first);
	tcase_add_test(t, good_cname_duplicate_and_rrsig);
	tcase_add_test(t, class_then_ttl);
	tcase_add_test(t, relative_origins_chain_and_include);
	tcase_add_test(t, ttl_defaults);
	suite_add_tcase(s, t);

	t = tcase_create("include");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, include_relative_origin_nested);
	tcase_add_test(t, include_missing_file);
	tcase_add_test(t, include_missing_file_with_origin);
	tcase_add_test(t, stub_zone);
	tcase_add_test(t, stub_slabs_are_unmapped);
	tcase_add_test(t, include_self_depth_limit);
	tcase_add_test(t, include_depth_max_is_allowed);
	tcase_add_test(t, include_depth_max_plus_one_fails);
	tcase_add_test(t, include_error_reports_included_file);
	suite_add_tcase(s, t);

	t = tcase_create("bad");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, bad_rdata_syntax);
	tcase_add_test(t, bad_unknown_type);
	tcase_add_test(t, bad_rfc3597_length_mismatch);
	tcase_add_test(t, bad_outside_zone);
	tcase_add_test(t, bad_outside_zone_parent_and_lookalike);
	tcase_add_test(t, bad_class);
	tcase_add_test(t, bad_no_soa);
	tcase_add_test(t, bad_no_ns_at_apex);
	tcase_add_test(t, bad_two_soas);
	tcase_add_test(t, bad_soa_not_at_apex);
	tcase_add_test(t, bad_cname_after_other_data);
	tcase_add_test(t, bad_other_data_after_cname);
	tcase_add_test(t, bad_two_cnames);
	tcase_add_test(t, bad_cname_at_apex);
	tcase_add_test(t, bad_meta_types);
	tcase_add_test(t, bad_two_dnames);
	tcase_add_test(t, bad_missing_file);
	tcase_add_test(t, bad_every_error_reported);
	tcase_add_test(t, bad_too_many_errors);
	suite_add_tcase(s, t);

	t = tcase_create("lines");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, line_multiline_entry_reports_first_line);
	tcase_add_test(t, line_after_comment_line);
	tcase_add_test(t, line_after_blank_lines);
	tcase_add_test(t, line_after_directives_and_include);
	suite_add_tcase(s, t);

	t = tcase_create("big_files");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, big_file_parallel_equals_serial);
	tcase_add_test(t, big_file_parallel_equals_serial_clean);
	tcase_add_test(t, big_zone_into_huge_pages);
	tcase_add_test(t, big_file_relative_origin);
	tcase_add_test(t, big_file_bad_origin);
	tcase_add_test(t, big_file_one_cpu_equals_serial);
	suite_add_tcase(s, t);

	t = tcase_create("plain lines");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, plain_lines_read_as_ldns_reads_them);
	tcase_add_test(t, plain_lines_random_zones_agree);
	suite_add_tcase(s, t);

	t = tcase_create("origin");
	tcase_add_test(t, origin_from_path);
	tcase_add_test(t, origin_from_path_rejects);
	tcase_add_test(t, origin_from_path_length_limit);
	suite_add_tcase(s, t);

	t = tcase_create("builder");
	tcase_add_test(t, builder_soa_rdata_checked);
	tcase_add_test(t, builder_names_lowercased);
	tcase_add_test(t, rdata_name_offsets);
	suite_add_tcase(s, t);

	/* Bugs these tests found in src/ (fixed since): see each test's comment. */
	t = tcase_create("regressions");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, bug_line_before_blank_lines);
	tcase_add_test(t, bug_line_before_blank_line_builder_error);
	tcase_add_test(t, bug_line_last_line_without_newline);
	tcase_add_test(t, bug_bad_last_line_dropped_silently);
	tcase_add_test(t, bug_unknown_type_without_rdata_loads_as_type0);
	tcase_add_test(t, bug_no_dollar_ttl_uses_last_explicit_ttl);
	tcase_add_test(t, bug_type_or_class_above_65535_loaded_modulo);
	tcase_add_test(t, bug_relative_dollar_origin);
	tcase_add_test(t, bug_bad_dollar_origin_then_include);
	tcase_add_test(t, bug_bad_dollar_origin_keeps_origin);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(zone_load_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
