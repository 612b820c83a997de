/* check_zone_line.c: src/zone_line.c against ldns itself.
 *
 * zone_line_parse must give, for every line it takes, exactly what
 * ldns_rr_new_frm_str gives for the same text (owner, type, class, TTL,
 * rdata octets, and the "previous owner" it leaves), and leave alone the
 * lines it does not take. ldns 1.8's parser is the reference here: these
 * tests say nothing of what a record should be, only that the two agree.
 * Hand-picked lines first, then lines made at random from tokens that
 * exercise each rule (a fixed seed, a bounded count). */
#include <check.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "zone/zone_line.h"

/* What ldns and zone_line_parse made of one line. */
struct both {
	bool fast;	 /* zone_line_parse took it */
	ldns_status st;	 /* ldns_rr_new_frm_str's verdict */
};

static ldns_rdf *dname(const char *s)
{
	if (!s)
		return NULL;
	ldns_rdf *d = ldns_dname_new_frm_str(s);
	ck_assert_msg(d != NULL, "bad test name %s", s);
	return d;
}

/* Both rdfs absent, or the same octets (case included). */
static bool same_rdf(const ldns_rdf *a, const ldns_rdf *b)
{
	if (!a || !b)
		return a == b;
	return ldns_rdf_size(a) == ldns_rdf_size(b) &&
	       memcmp(ldns_rdf_data(a), ldns_rdf_data(b), ldns_rdf_size(a)) == 0;
}

/* Run `text` through both with the same origin, default TTL and previous
 * owner; assert they agree wherever zone_line_parse answers. */
static struct both compare(const char *text, uint32_t default_ttl, const char *origin_s,
			   const char *prev_s)
{
	ldns_rdf *origin = dname(origin_s);
	ldns_rdf *prev_fast = dname(prev_s), *prev_ldns = dname(prev_s), *prev_orig = dname(prev_s);
	struct zone_line line;
	ldns_rr *rr = NULL;
	struct both b;

	memset(&line, 0xa5, sizeof(line));
	b.fast = zone_line_parse(text, default_ttl, origin, &prev_fast, &line);
	b.st = ldns_rr_new_frm_str(&rr, text, default_ttl, origin, &prev_ldns);
	if (b.fast) {
		ck_assert_msg(b.st == LDNS_STATUS_OK, "taken, but ldns says \"%s\": [%s]",
			      ldns_get_errorstr_by_id(b.st), text);
		const ldns_rdf *owner = ldns_rr_owner(rr);
		ck_assert_msg(line.owner_len == ldns_rdf_size(owner) &&
				  memcmp(line.owner, ldns_rdf_data(owner), line.owner_len) == 0,
			      "owner differs: [%s]", text);
		ck_assert_msg(line.type == ldns_rr_get_type(rr), "type %u, ldns %u: [%s]",
			      line.type, ldns_rr_get_type(rr), text);
		ck_assert_msg(line.rrclass == ldns_rr_get_class(rr), "class %u, ldns %u: [%s]",
			      line.rrclass, ldns_rr_get_class(rr), text);
		ck_assert_msg(line.ttl == ldns_rr_ttl(rr), "TTL %u, ldns %u: [%s]", line.ttl,
			      ldns_rr_ttl(rr), text);
		ldns_buffer *buf = ldns_buffer_new(65536);
		ck_assert_int_eq(ldns_rr_rdata2buffer_wire(buf, rr), LDNS_STATUS_OK);
		ck_assert_msg(line.rdlen == ldns_buffer_position(buf) &&
				  memcmp(line.rdata, ldns_buffer_begin(buf), line.rdlen) == 0,
			      "rdata differs (%u octets, ldns %zu): [%s]", line.rdlen,
			      ldns_buffer_position(buf), text);
		ldns_buffer_free(buf);
		ck_assert_msg(same_rdf(prev_fast, prev_ldns), "previous owner differs: [%s]", text);
	} else {
		ck_assert_msg(same_rdf(prev_fast, prev_orig), "not taken, but prev changed: [%s]",
			      text);
	}
	ldns_rr_free(rr);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev_fast);
	ldns_rdf_deep_free(prev_ldns);
	ldns_rdf_deep_free(prev_orig);
	return b;
}

static void expect_taken(const char *text, uint32_t default_ttl, const char *prev)
{
	struct both b = compare(text, default_ttl, "example.com.", prev);
	ck_assert_msg(b.fast, "not taken: [%s]", text);
}

static void expect_left(const char *text)
{
	struct both b = compare(text, 300, "example.com.", "prev.example.com.");
	ck_assert_msg(!b.fast, "taken: [%s]", text);
}

START_TEST(common_lines_are_taken)
{
	static const char *const lines[] = {
		"www 3600 IN A 192.0.2.1",
		"www.example.com. 3600 IN A 192.0.2.1",
		"WwW 60 in a 192.0.2.1",
		"www IN 3600 A 192.0.2.1", /* class first: "3600" is then the type? ldns decides */
		"www A 192.0.2.1",
		"www IN A 192.0.2.1",
		"www 1h IN A 192.0.2.1",
		"www 1h30m A 192.0.2.1",
		"www 1W2d3h4m5s A 192.0.2.1",
		" 3600 IN AAAA 2001:db8::1",
		"\t\tAAAA 2001:db8::1",
		"@ 3600 IN NS ns1",
		"@ NS ns1.example.net.",
		"@ MX 10 mail",
		"@ MX 10 @",
		"mail\t\t3600\tIN\tMX\t0\t.",
		"alias CNAME www",
		"alias CNAME www.example.net.",
		"_sip._tcp SRV 10 60 5060 sip",
		"1.2 PTR host.example.",
		"@ IN SOA ns1 hostmaster 2026120201 7200 3600 1209600 300",
		"@ IN SOA ns1. hostmaster. 1 2h 1h 2w 5m",
		"x RP mbox.example.com. txt",
		"x CLASS1 A 192.0.2.7",
		"x TYPE1 192.0.2.7",
		"x IN TYPE28 ::2",
		"*.wild A 192.0.2.9",
		"x 0 A 0.0.0.0",
		"x 2147483647 A 192.0.2.1",
		"x 4294967295 A 192.0.2.1",
		"x A 192.0.2.1   ",
		"www MX 65536 mail", /* ldns takes it (as 0) */
		"x CNAME @.sub", /* ldns takes a first label "@" for the origin */
		"@x.y A 192.0.2.1", /* and an owner that starts with "@" */
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (strstr(lines[i], "IN 3600 A"))
			compare(lines[i], 300, "example.com.", NULL); /* whatever ldns says */
		else
			expect_taken(lines[i], 300, "prev.example.com.");
	}
	/* no previous owner yet: a blank owner is the origin */
	expect_taken(" A 192.0.2.1", 300, NULL);
	/* no default TTL: ldns's own */
	expect_taken("x A 192.0.2.1", 0, NULL);
}
END_TEST

START_TEST(other_lines_are_left_to_ldns)
{
	static const char *const lines[] = {
		"",
		"www",
		"www 3600",
		"www 3600 IN",
		"www 3600 IN A",
		"www A 192.0.2",
		"www A 192.0.2.1 192.0.2.2",
		"www A ::1",
		"www AAAA 192.0.2.1",
		"www MX 10",
		"www MX mail 10",
		"www TXT hello",
		"www HINFO a b",
		"www DS 1 2 3 abcd",
		"www NSEC next A",
		"www SSHFP 1 1 abcd",
		"www FOO 1",
		"www TYPE65280 1",
		"www 3600 XX A 192.0.2.1",
		"www 1234567890123456789012 A 192.0.2.1", /* a TTL over ldns's limit */
		"www IN AVERYLONGTYPENAMEX 1",
		"a..b A 192.0.2.1",
		"x CNAME a..b",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		expect_left(lines[i]);
	/* a name over 255 octets once the origin is added */
	char longname[400];
	snprintf(longname, sizeof(longname), "%s A 192.0.2.1",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
		 "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
		 "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	expect_left(longname);
	/* a label over 63 octets */
	expect_left("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx A 192.0.2.1");
}
END_TEST

/* xorshift64*: the same lines on every run */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return (unsigned)((rnd_state * 0x2545f4914f6cdd1dull) >> 33) % n;
}

#define PICK(a) ((a)[rnd(sizeof(a) / sizeof((a)[0]))])

START_TEST(random_lines_agree)
{
	static const char *const owners[] = {
		"", "@", "www", "WWW", "www.example.com.", "a.b.c", "*", "*.w", "-", "x.", ".",
		"@x", "a..b", "0", "3600", "IN", "A", "\xc3\xa9", "_srv._tcp",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
	static const char *const ttls[] = {
		"", "", "0", "1", "3600", "1h", "1H", "2w1d", "1x", "2147483648", "4294967296",
		"99999999999999999999", "123456789012345678901", "-1", "0x10", "07"};
	static const char *const classes[] = {"", "", "", "IN", "in", "CH", "HS", "ANY", "NONE",
					      "CLASS1", "CLASS255", "CLASS65536", "CLASS65537", "INN"};
	static const char *const types[] = {
		"A", "a", "AAAA", "NS", "CNAME", "PTR", "MX", "SRV", "SOA", "RP", "AFSDB", "KX",
		"DNAME", "TYPE1", "TYPE28", "TYPE15", "TXT", "HINFO", "DS", "NSEC", "X", "A6",
		"MB", "MINFO", "RT", "PX", "NAPTR", "TYPE0", "3600", "IN", "",
		"TYPE65537", "TYPE65564"};
	static const char *const fields[] = {
		"192.0.2.1", "0.0.0.0", "255.255.255.255", "256.0.0.1", "1.2.3", "::1",
		"2001:db8::1", "::ffff:192.0.2.1", "0", "10", "255", "256", "65535", "65536",
		"4294967295", "4294967296", "-1", "1h", "2w", "mail", "mail.example.net.", "@",
		"@.x", ".", "a..b", "x.", "\xc3\xa9", "*", "0x10"};
	/* rdata fields by kind: 4 and 6 addresses, n names, i integers */
	struct shape {
		const char *type, *kinds;
	};
	static const struct shape shapes[] = {
		{"A", "4"},	 {"a", "4"},	  {"AAAA", "6"},     {"NS", "n"},
		{"CNAME", "n"},	 {"PTR", "n"},	  {"DNAME", "n"},    {"MX", "in"},
		{"SRV", "iiin"}, {"RP", "nn"},	  {"AFSDB", "in"},   {"KX", "in"},
		{"PX", "inn"},	 {"TYPE1", "4"},  {"SOA", "nniiiii"}, {"MX", "ini"},
		{"A", "44"},	 {"MX", "n"}};
	static const char *const addr4[] = {"192.0.2.1", "0.0.0.0", "255.255.255.255",
					    "10.1.2.3", "256.0.0.1", "1.2.3"};
	static const char *const addr6[] = {"2001:db8::1", "::", "::1", "fe80::1:2:3:4",
					    "::ffff:192.0.2.1", "1::2::3"};
	static const char *const names[] = {"mail", "MAIL.example.net.", "@", "@.x", ".",
					    "x.", "*.y", "a..b", "-", "\xc3\xa9", "0"};
	static const char *const ints[] = {"0",	 "1",	"10",	 "65535", "65536",
					   "-1", "1h", "2w3d", "x",	  "4294967295",
					   "4294967296", "007"};
	static const char *const seps[] = {" ", " ", " ", "\t", "  ", " \t ", "\t\t"};
	char line[2048];
	unsigned taken = 0, n = 60000;

	for (unsigned i = 0; i < n; i++) {
		size_t len = 0;
		line[0] = 0;
#define ADD(s) len += (size_t)snprintf(line + len, sizeof(line) - len, "%s", (s))
		ADD(PICK(owners));
		const char *t = PICK(ttls), *c = PICK(classes);
		if (rnd(4) == 0) { /* class before TTL */
			const char *x = t;
			t = c;
			c = x;
		}
		if (*t) {
			ADD(PICK(seps));
			ADD(t);
		}
		if (*c) {
			ADD(PICK(seps));
			ADD(c);
		}
		ADD(PICK(seps));
		if (rnd(2)) {
			/* a type with fields of its kinds, some of them bad */
			const struct shape *sh = &PICK(shapes);
			ADD(sh->type);
			for (const char *k = sh->kinds; *k; k++) {
				ADD(PICK(seps));
				ADD(*k == '4'   ? PICK(addr4)
				    : *k == '6' ? PICK(addr6)
				    : *k == 'n' ? PICK(names)
						: PICK(ints));
			}
		} else {
			ADD(PICK(types));
			unsigned nf = rnd(9);
			for (unsigned f = 0; f < nf; f++) {
				ADD(PICK(seps));
				ADD(PICK(fields));
			}
		}
		if (rnd(8) == 0)
			ADD(PICK(seps)); /* trailing blanks */
#undef ADD
		static const char *const prevs[] = {NULL, "prev.example.com.", "PrEv.example.org."};
		static const uint32_t dttl[] = {0, 300, 0xfffffffeu};
		struct both b = compare(line, PICK(dttl), rnd(8) ? "example.com." : ".", PICK(prevs));
		taken += b.fast;
	}
	/* Many random lines are malformed; a good share must still be taken,
	 * or this test compares little. */
	fprintf(stderr, "random_lines_agree: %u of %u lines taken\n", taken, n);
	ck_assert_uint_gt(taken, n / 10);
}
END_TEST

static Suite *zone_line_suite(void)
{
	Suite *s = suite_create("zone_line");
	TCase *t = tcase_create("against_ldns");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, common_lines_are_taken);
	tcase_add_test(t, other_lines_are_left_to_ldns);
	tcase_add_test(t, random_lines_agree);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(zone_line_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
