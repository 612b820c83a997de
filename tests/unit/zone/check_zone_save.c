/* check_zone_save.c: a zone version written as a zone file (zone_save.c).
 *
 * Every case saves a zone, loads the file back with zone_load_file and
 * compares the two versions with zone_diff: no record removed or added,
 * the same SOA, as many names and records; and every line of the file is
 * the one ldns_rr2buffer_str_fmt writes for its record. The zones: those of the
 * repository (zones/, tests/conformance/zones/, the tests/dnssec
 * templates), the DNSSEC template signed here with ldns (NSEC; NSEC3 without
 * salt; NSEC3 with salt, iterations and opt-out), odd records (RFC 3597
 * unknown types, TXT with quotes, backslashes and octets above 127, names
 * with \. and \032 inside labels, many types ldns writes its own way), the
 * root zone, a zone of 60,000 records (several buffer flushes), a version
 * made by zone_update. Then the failures: no such directory, a write that
 * fails (RLIMIT_FSIZE) and a rename that fails leave the old file as it was
 * and no temporary file; a symlink at the temporary name is not followed. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "unit.h"
#include "zone/changeset.h"
#include "zone/zone.h"
#include "zone/zone_diff.h"
#include "zone/zone_load.h"
#include "zone/zone_save.h"

static char g_dir[4096];

static void setup(void)
{
	ut_tmpdir(g_dir, sizeof(g_dir));
}

static void teardown(void)
{
	ut_rmtree(g_dir);
}

static const char *srcdir(void)
{
	const char *s = getenv("SHOAL_SRCDIR");
	ck_assert_msg(s && *s, "SHOAL_SRCDIR is not set (run through meson test)");
	return s;
}

/* Load `path` as `origin` (presentation); asserts no error. */
static struct zone *load(const char *path, const char *origin, unsigned *warnings)
{
	uint8_t org[DNAME_MAX];
	ut_name(origin, org);
	struct ut_diag *d = calloc(1, sizeof(*d));
	ck_assert_ptr_nonnull(d);
	unsigned nerr = 99;
	struct zone *z = zone_load_file(path, org, ut_diag_fn, d, &nerr);
	ut_diag_dump(d);
	ck_assert_msg(z && nerr == 0, "%s does not load as %s", path, origin);
	if (warnings)
		*warnings = d->warnings;
	free(d);
	return z;
}

static void dump_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[4096];
	for (int i = 0; i < 200 && fgets(line, sizeof(line), f); i++)
		fputs(line, stderr);
	fclose(f);
}

/* `a` and `b` hold the same records. */
static void expect_same(const struct zone *a, const struct zone *b, const char *saved)
{
	struct changeset *cs = NULL;
	ck_assert_int_eq(zone_diff(a, b, &cs), 0);
	ck_assert_ptr_nonnull(cs);
	if (cs->nremoved || cs->nadded)
		dump_file(saved);
	ck_assert_msg(cs->nremoved == 0 && cs->nadded == 0,
		      "%s: %u records lost, %u records gained", saved, cs->nremoved, cs->nadded);
	ck_assert_uint_eq(cs->from, cs->to);
	changeset_unref(cs);
	ck_assert_uint_eq(a->serial, b->serial);
	ck_assert_uint_eq(a->soa->ttl, b->soa->ttl);
	ck_assert_uint_eq(a->soa->wire_len, b->soa->wire_len);
	ck_assert_mem_eq(a->soa->wire, b->soa->wire, a->soa->wire_len);
	ck_assert_uint_eq(a->nrecords, b->nrecords);
	ck_assert_uint_eq(a->nnodes, b->nnodes);
	ck_assert_uint_eq(a->nrrsigs, b->nrrsigs);
	ck_assert_uint_eq(a->nsec.n, b->nsec.n);
	ck_assert((a->nsec3 == NULL) == (b->nsec3 == NULL));
}

/* Every line after the header is what ldns_rr2buffer_str_fmt (without
 * comments) writes for the record the line holds, read from its wire:
 * zone_save writes the parts of a line itself, each as ldns would. */
static void expect_ldns_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned no = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (no++ == 0)
			continue; /* the header */
		ck_assert_msg(line[n - 1] == '\n', "%s:%u: no newline", path, no);
		line[n - 1] = 0; /* ldns_rr_new_frm_str takes a quote then a newline for more */
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL);
		line[n - 1] = '\n';
		ck_assert_msg(st == LDNS_STATUS_OK, "%s:%u: %s: %s", path, no,
			      ldns_get_errorstr_by_id(st), line);
		/* through the wire, as zone_save reads it: ldns splits some rdata
		 * (APL) into other fields from text than from wire */
		uint8_t *wire = NULL;
		size_t wlen = 0, pos = 0;
		ck_assert_int_eq(ldns_rr2wire(&wire, rr, LDNS_SECTION_ANSWER, &wlen), LDNS_STATUS_OK);
		ldns_rr_free(rr);
		rr = NULL;
		ck_assert_int_eq(ldns_wire2rr(&rr, wire, wlen, &pos, LDNS_SECTION_ANSWER),
				 LDNS_STATUS_OK);
		free(wire);
		char *again = ldns_rr2str_fmt(ldns_output_format_nocomments, rr);
		ck_assert_ptr_nonnull(again);
		if (again[0] == '@' || again[0] == '$') {
			/* the owners zone_save escapes (ldns would read "@x." as
			 * the origin) */
			char *esc = malloc(strlen(again) + 2);
			ck_assert_ptr_nonnull(esc);
			esc[0] = '\\';
			strcpy(esc + 1, again);
			free(again);
			again = esc;
		}
		if (strstr(line, "\t\\# ") && !strstr(again, "\t\\# ")) {
			/* zone_save's RFC 3597 form of what ldns would misread */
			free(again);
			ldns_rr_free(rr);
			continue;
		}
		ck_assert_msg(!strcmp(again, line), "%s:%u:\n saved: %s ldns: %s", path, no, line,
			      again);
		free(again);
		ldns_rr_free(rr);
	}
	free(line);
	fclose(f);
}

/* Save `z` as g_dir/`file`, load it back, expect the same records; the
 * copy loads with `want_warnings` warnings (those of the DNSSEC checks
 * that the original had too). Returns the file's path in `saved`. */
static void round_trip_w(const struct zone *z, const char *origin, const char *file,
			 char *saved, size_t size, unsigned want_warnings)
{
	char why[512] = "";
	ut_path(saved, size, g_dir, file);
	int rc = zone_save(z, saved, NULL, why, sizeof(why));
	ck_assert_msg(rc == 0, "zone_save %s: %d (%s)", saved, rc, why);
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", saved);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	expect_ldns_lines(saved);
	unsigned warnings = 99;
	struct zone *back = load(saved, origin, &warnings);
	if (warnings != want_warnings)
		dump_file(saved);
	ck_assert_uint_eq(warnings, want_warnings);
	expect_same(z, back, saved);
	zone_free(back);
}

static void round_trip(const struct zone *z, const char *origin, const char *file,
		       char *saved, size_t size)
{
	round_trip_w(z, origin, file, saved, size, 0);
}

static void round_trip_file(const char *rel, const char *origin)
{
	char path[4096], saved[4200];
	ut_path(path, sizeof(path), srcdir(), rel);
	struct zone *z = load(path, origin, NULL);
	round_trip(z, origin, "saved.zone", saved, sizeof(saved));
	zone_free(z);
}

/* ------------------------------------------------------------ the zones */

START_TEST(repository_zones)
{
	round_trip_file("zones/example.com.zone", "example.com.");
	round_trip_file("tests/conformance/zones/example.com.zone", "example.com.");
	round_trip_file("tests/conformance/zones/example.zone", "example.");
	round_trip_file("tests/conformance/zones/sub.example.com.zone", "sub.example.com.");
	/* templates without $ORIGIN: any origin */
	round_trip_file("tests/dnssec/sec.zone", "sec.test.");
	round_trip_file("tests/dnssec/insecure.zone", "insecure.sec.test.");
}
END_TEST

START_TEST(header_and_soa_first)
{
	char path[4096], saved[4200], text[65536];
	ut_path(path, sizeof(path), srcdir(), "zones/example.com.zone");
	struct zone *z = load(path, "example.com.", NULL);
	round_trip(z, "example.com.", "example.com.zone", saved, sizeof(saved));
	ut_read(saved, text, sizeof(text));
	char want[128];
	snprintf(want, sizeof(want), "; zone example.com. serial %u, written by shoal ", z->serial);
	ck_assert_msg(!strncmp(text, want, strlen(want)), "header: %.100s", text);
	const char *l2 = strchr(text, '\n') + 1;
	ck_assert_msg(!strncmp(l2, "example.com.\t3600\tIN\tSOA\t", 25), "second line: %.100s", l2);
	/* one SOA: the apex's is not written again in the body */
	ck_assert_ptr_null(strstr(strchr(l2, '\n'), "\tSOA\t"));
	/* one line per record, after the header */
	size_t lines = 0;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	ck_assert_uint_eq(lines, 1 + z->nrecords);
	struct stat st;
	ck_assert_int_eq(stat(saved, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640 & ~(unsigned)umask(022));
	zone_free(z);
}
END_TEST

/* The caller's note is the second comment line; the file loads back the
 * same, with a record of 5,000 octets (10,000 hex digits, near the longest
 * line ldns reads, LDNS_MAX_LINELEN). */
START_TEST(header_note)
{
	enum { RDLEN = 5000 };
	char path[4096], saved[4200], why[512] = "";
	ut_path(path, sizeof(path), g_dir, "long.zone");
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("$TTL 3600\n@ SOA ns1 hostmaster 3 7200 3600 1209600 300\n@ NS ns1\n"
	      "ns1 A 192.0.2.1\nbig TYPE65000 \\# 5000 ", f);
	for (unsigned i = 0; i < RDLEN; i++)
		fprintf(f, "%02x", i & 255);
	fputs("\n", f);
	fclose(f);
	struct zone *z = load(path, "long.test.", NULL);
	ck_assert_uint_eq(z->nrecords, 4);
	ut_path(saved, sizeof(saved), g_dir, "saved.zone");
	ck_assert_int_eq(zone_save(z, saved, "timers: last-refresh 5 expire 6", why, sizeof(why)),
	                 0);
	static char text[2 * RDLEN + 4096];
	ut_read(saved, text, sizeof(text));
	const char *l2 = strchr(text, '\n') + 1;
	ck_assert_msg(!strncmp(l2, "; timers: last-refresh 5 expire 6\n", 34), "second line: %.100s",
	              l2);
	ck_assert_msg(!strncmp(strchr(l2, '\n') + 1, "long.test.\t3600\tIN\tSOA\t", 23),
	              "third line: %.100s", strchr(l2, '\n') + 1);
	ck_assert_ptr_nonnull(strstr(text, "\tTYPE65000\t\\# 5000 000102"));
	struct zone *back = load(saved, "long.test.", NULL);
	expect_same(z, back, saved);
	zone_free(back);
	zone_free(z);
}
END_TEST

/* The template signed in-process with a fresh ECDSA P-256 key: NSEC, or
 * NSEC3 with `salt` (hex, NULL: none), `iterations`, `flags` (1: opt-out). */
static void sign_template(const char *origin, bool nsec3, const char *salt,
			  uint16_t iterations, uint8_t flags, const char *out)
{
	char path[4096];
	ut_path(path, sizeof(path), srcdir(), "tests/dnssec/sec.zone");
	ldns_rdf *org = NULL;
	ck_assert_int_eq(ldns_str2rdf_dname(&org, origin), LDNS_STATUS_OK);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ldns_dnssec_zone *dz = NULL;
	int line = 0;
	ck_assert_int_eq(ldns_dnssec_zone_new_frm_fp_l(&dz, f, org, 3600, LDNS_RR_CLASS_IN, &line),
			 LDNS_STATUS_OK);
	fclose(f);
	ldns_key *k = ldns_key_new_frm_algorithm(LDNS_SIGN_ECDSAP256SHA256, 256);
	ck_assert_ptr_nonnull(k);
	ldns_key_set_pubkey_owner(k, ldns_rdf_clone(org));
	ldns_key_set_flags(k, LDNS_KEY_ZONE_KEY | LDNS_KEY_SEP_KEY);
	ldns_key_list *keys = ldns_key_list_new();
	ldns_key_list_push_key(keys, k);
	ldns_rr *dnskey = ldns_key2rr(k);
	ck_assert_ptr_nonnull(dnskey);
	ldns_key_set_keytag(k, ldns_calc_keytag(dnskey));
	ck_assert_int_eq(ldns_dnssec_zone_add_rr(dz, dnskey), LDNS_STATUS_OK);
	ldns_rr_list *added = ldns_rr_list_new();
	ldns_status st;
	if (!nsec3) {
		st = ldns_dnssec_zone_sign_flg(dz, added, keys, ldns_dnssec_default_replace_signatures,
					       NULL, 0);
	} else {
		uint8_t sb[32];
		size_t sl = salt ? strlen(salt) / 2 : 0;
		for (size_t i = 0; i < sl; i++)
			sscanf(salt + 2 * i, "%2hhx", &sb[i]);
		st = ldns_dnssec_zone_sign_nsec3_flg(dz, added, keys,
						     ldns_dnssec_default_replace_signatures, NULL,
						     LDNS_SHA1, flags, iterations, (uint8_t)sl, sb, 0);
	}
	ck_assert_msg(st == LDNS_STATUS_OK, "sign: %s", ldns_get_errorstr_by_id(st));
	f = fopen(out, "w");
	ck_assert_ptr_nonnull(f);
	ldns_dnssec_zone_print(f, dz);
	fclose(f);
	ldns_dnssec_zone_deep_free(dz); /* with the records signing added */
	ldns_rr_list_free(added);
	ldns_key_list_free(keys); /* and the key */
	ldns_rdf_deep_free(org);
}

static void round_trip_signed(const char *origin, bool nsec3, const char *salt,
			      uint16_t iterations, uint8_t flags)
{
	char path[4096], saved[4200];
	ut_path(path, sizeof(path), g_dir, "signed.zone");
	sign_template(origin, nsec3, salt, iterations, flags, path);
	unsigned warnings = 0;
	struct zone *z = load(path, origin, &warnings);
	/* only RFC 9276's advice against a salt and iterations */
	ck_assert_uint_eq(warnings, salt || iterations ? 1 : 0);
	ck_assert_uint_gt(z->nrrsigs, 10);
	if (nsec3)
		ck_assert_ptr_nonnull(z->nsec3);
	else
		ck_assert_uint_gt(z->nsec.n, 10);
	round_trip_w(z, origin, "saved.zone", saved, sizeof(saved), warnings);
	/* NSEC3 owners are written: the chain is there again */
	if (nsec3) {
		struct zone *back = load(saved, origin, NULL);
		ck_assert_ptr_nonnull(back->nsec3);
		ck_assert_uint_eq(back->nsec3->v.n, z->nsec3->v.n);
		ck_assert_uint_gt(back->nsec3->v.n, 5);
		zone_free(back);
	}
	zone_free(z);
}

START_TEST(signed_nsec)
{
	round_trip_signed("nsec.test.", false, NULL, 0, 0);
}
END_TEST

START_TEST(signed_nsec3)
{
	round_trip_signed("nsec3.test.", true, NULL, 0, 0);
}
END_TEST

START_TEST(signed_nsec3_salt_optout)
{
	round_trip_signed("optout.test.", true, "cafe0123", 5, 1);
}
END_TEST

static const char ODD[] =
	"$ORIGIN odd.test.\n"
	"$TTL 3600\n"
	"@ SOA ns hostmaster.odd.test. 2024010101 3600 900 604800 300\n"
	"@ NS ns\n"
	"@ NS ns.other.test.\n"
	"ns A 192.0.2.1\n"
	/* RFC 3597: unknown types, with and without rdata; a known type */
	"@ TYPE65000 \\# 3 abcdef\n"
	"unknown TYPE65000 \\# 0\n"
	"unknown 60 TYPE4321 \\# 5 0001020304\n"
	"known TYPE1 \\# 4 c0000202\n"
	/* TXT: quotes, backslashes, semicolons, tabs, octets above 127, UTF-8,
	 * an empty string, several strings */
	"@ TXT \"quote \\\" backslash \\\\ semi ; paren ( tab\\009 nul\\000 \\200\\255 é\"\n"
	"@ TXT \"\" \"two\" \"three strings\"\n"
	"@ TXT plain\n"
	/* names: a dot inside a label, a space, octets, upper case in rdata */
	"a\\.b A 192.0.2.2\n"
	"\\032sp\\032 A 192.0.2.3\n"
	"\\000\\255\\(\\)\\; TXT \"binary label\"\n"
	"x\\.y.z PTR Target\\.With\\032Dot.odd.test.\n"
	"cname CNAME a\\.b\n"
	/* owners that would read as a directive or the origin at the start
	 * of a line if written as they are: ldns writes them so */
	"\\$ttl A 192.0.2.4\n"
	"\\$include.x A 192.0.2.5\n"
	"\\@ A 192.0.2.6\n"
	"\\@x A 192.0.2.7\n"
	"@ MX 10 \\@mail\\$.odd.test.\n"
	/* types ldns writes in its own ways */
	"@ CAA 0 issue \"ca.example.net; account=1\"\n"
	"@ CAA 128 tbs \"\\\"q\\\"\"\n"
	"host HINFO \"PC Intel\" \"Linux 6\"\n"
	"host SSHFP 4 2 123456789abcdef67890123456789abcdef67890123456789abcdef123456789a0\n"
	"_443._tcp.host TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	"_sip._udp SRV 10 60 5060 host\n"
	"naptr NAPTR 100 10 \"S\" \"SIP+D2U\" \"!^.*$!sip:info@odd.test!\" _sip._udp\n"
	"loc LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m\n"
	"uri URI 10 1 \"https://odd.test/\"\n"
	"rp RP hostmaster.odd.test. host\n"
	"afsdb AFSDB 1 host\n"
	"dname DNAME target.test.\n"
	"@ DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	"@ CDS 0 0 0 00\n"
	"@ DNSKEY 257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n"
	"@ CDNSKEY 0 3 0 AA==\n"
	"@ OPENPGPKEY AQID\n"
	"@ ZONEMD 2024010101 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	"@ NSEC3PARAM 1 0 0 -\n"
	"wks WKS 192.0.2.1 tcp 22 25\n"
	"eui EUI48 00-00-5e-00-53-2a\n"
	"eui EUI64 00-00-5e-ef-10-00-00-2a\n"
	"@ SPF \"v=spf1 -all\"\n"
	"cert CERT PGP 0 0 AQID\n"
	"apl APL 1:192.0.2.0/24 !2:2001:db8::/32\n"
	"ipseckey IPSECKEY 10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==\n"
	/* a delegation with glue below it, and a wildcard */
	"sub NS ns.sub\n"
	"sub NS ns.other.test.\n"
	"ns.sub A 192.0.2.53\n"
	"ns.sub AAAA 2001:db8::53\n"
	"deep.below.sub A 192.0.2.54\n"
	"*.wild TXT \"wildcard\"\n"
	/* TTLs that differ between sets, the largest TTL */
	"ttl 0 A 192.0.2.9\n"
	"ttl 2147483647 AAAA 2001:db8::9\n";

START_TEST(odd_records)
{
	char saved[4200], text[65536];
	ut_write(g_dir, "odd.zone", ODD);
	char path[4096];
	ut_path(path, sizeof(path), g_dir, "odd.zone");
	unsigned warnings = 0;
	struct zone *z = load(path, "odd.test.", &warnings);
	/* a DNSKEY without a chain, an NSEC3PARAM without NSEC3 */
	ck_assert_uint_eq(warnings, 2);
	round_trip_w(z, "odd.test.", "saved.zone", saved, sizeof(saved), 2);
	ut_read(saved, text, sizeof(text));
	/* what the spellings look like: RFC 3597 and the escapes */
	ck_assert_ptr_nonnull(strstr(text, "TYPE65000\t\\# 3 abcdef"));
	ck_assert_ptr_nonnull(strstr(text, "\na\\.b.odd.test.\t"));
	ck_assert_ptr_nonnull(strstr(text, "\n\\032sp\\032.odd.test.\t"));
	ck_assert_ptr_nonnull(strstr(text, "\\\" backslash \\\\ semi"));
	ck_assert_ptr_nonnull(strstr(text, "\n\\@x.odd.test.\t"));
	ck_assert_ptr_nonnull(strstr(text, "\n\\$ttl.odd.test.\t"));
	zone_free(z);
}
END_TEST

/* A name in rdata whose first label is "@" (from a transfer: the loader
 * reads "\@" as the origin, as ldns does) is written in the RFC 3597 form,
 * which reads back as it was. */
START_TEST(at_label_in_rdata)
{
	static const char *const rrs[] = {
		"@ SOA ns hostmaster 1 3600 900 604800 300",
		"@ NS ns",
		"ns A 192.0.2.1",
		NULL,
	};
	struct zone *base = ut_zone("odd.test.", rrs);
	struct zone_update *u = zone_update_begin(base);
	ck_assert_ptr_nonnull(u);
	char msg[256];
	uint8_t owner[DNAME_MAX];
	/* (string literals: their NUL is the root label) */
	static const uint8_t cname[] = "\1@\3odd\4test";	 /* @.odd.test. */
	static const uint8_t mx[] = "\0\12\1@\3sub\3odd\4test"; /* 10 @.sub.odd.test. */
	static const uint8_t ns[] = {1, '@', 0};		 /* @. */
	ut_name("c.odd.test.", owner);
	ck_assert_int_ne(zone_update_change(u, false, owner, RRTYPE_CNAME, RRCLASS_IN, 3600, cname,
					    sizeof(cname), msg, sizeof(msg)),
			 ZB_ERROR);
	ut_name("m.odd.test.", owner);
	ck_assert_int_ne(zone_update_change(u, false, owner, RRTYPE_MX, RRCLASS_IN, 3600, mx,
					    sizeof(mx), msg, sizeof(msg)),
			 ZB_ERROR);
	ut_name("sub.odd.test.", owner);
	ck_assert_int_ne(zone_update_change(u, false, owner, RRTYPE_NS, RRCLASS_IN, 3600, ns,
					    sizeof(ns), msg, sizeof(msg)),
			 ZB_ERROR);
	struct zone *z = zone_update_commit(u, msg, sizeof(msg));
	ck_assert_msg(z != NULL, "%s", msg);
	char saved[4200], text[8192];
	round_trip(z, "odd.test.", "saved.zone", saved, sizeof(saved));
	ut_read(saved, text, sizeof(text));
	ck_assert_ptr_nonnull(strstr(text, "\nc.odd.test.\t3600\tIN\tCNAME\t\\# 12 0140036f6464"));
	zone_free(z);
	zone_free(base);
}
END_TEST

START_TEST(root_zone)
{
	static const char *const rrs[] = {
		". 86400 SOA a.root-servers.net. nstld.verisign-grs.com. 2024010100 1800 900 "
		"604800 86400",
		". 518400 NS a.root-servers.net.",
		". 518400 NS b.root-servers.net.",
		"a.root-servers.net. 518400 A 198.41.0.4",
		"a.root-servers.net. 518400 AAAA 2001:503:ba3e::2:30",
		"b.root-servers.net. 518400 A 170.247.170.2",
		"com. 172800 NS a.gtld-servers.net.",
		"a.gtld-servers.net. 172800 A 192.5.6.30",
		"com. 86400 DS 19718 13 2 "
		"8acbb0cd28f41250a80a491389424d341522d946b0da0c0291f2d3d771d7805a",
		"arpa. 172800 NS a.root-servers.net.",
		NULL,
	};
	char saved[4200], text[8192];
	struct zone *z = ut_zone(".", rrs);
	round_trip(z, ".", "root.zone", saved, sizeof(saved));
	ut_read(saved, text, sizeof(text));
	ck_assert_msg(!strncmp(text, "; zone . serial 2024010100,", 27), "%.60s", text);
	ck_assert_ptr_nonnull(strstr(text, "\n.\t86400\tIN\tSOA\t"));
	zone_free(z);
}
END_TEST

/* More text than one flush (SAVE_FLUSH, 1 MiB) holds. */
START_TEST(big_zone)
{
	enum { HOSTS = 30000 };
	char path[4096], saved[4200];
	ut_path(path, sizeof(path), g_dir, "big.zone");
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("$TTL 3600\n@ SOA ns1 hostmaster 3 7200 3600 1209600 300\n@ NS ns1\n"
	      "ns1 A 192.0.2.1\n", f);
	for (unsigned i = 0; i < HOSTS; i++)
		fprintf(f, "h%u A 10.%u.%u.%u\nh%u.x AAAA 2001:db8::%x:%x\n", i, i >> 16,
			(i >> 8) & 255, i & 255, i, i >> 16, i & 0xffff);
	fclose(f);
	struct zone *z = load(path, "big.test.", NULL);
	ck_assert_uint_eq(z->nrecords, 3 + 2 * HOSTS);
	round_trip(z, "big.test.", "saved.zone", saved, sizeof(saved));
	struct stat st;
	ck_assert_int_eq(stat(saved, &st), 0);
	ck_assert_int_gt(st.st_size, 2 << 20);
	zone_free(z);
}
END_TEST

/* A version made by zone_update shares pages and nodes with its base:
 * what it writes is its own records. */
START_TEST(updated_version)
{
	static const char *const rrs[] = {
		"@ SOA ns hostmaster 1 3600 900 604800 300",
		"@ NS ns",
		"ns A 192.0.2.1",
		"www A 192.0.2.80",
		"old A 192.0.2.99",
		NULL,
	};
	struct zone *base = ut_zone("upd.test.", rrs);
	struct zone_update *u = zone_update_begin(base);
	ck_assert_ptr_nonnull(u);
	char msg[256];
	uint8_t owner[DNAME_MAX];
	uint8_t a[4] = {192, 0, 2, 81};
	ut_name("www.upd.test.", owner);
	ck_assert_int_ne(zone_update_change(u, false, owner, RRTYPE_A, RRCLASS_IN, 3600, a, 4, msg,
					    sizeof(msg)),
			 ZB_ERROR);
	uint8_t b[4] = {192, 0, 2, 99};
	ut_name("old.upd.test.", owner);
	ck_assert_int_ne(zone_update_change(u, true, owner, RRTYPE_A, RRCLASS_IN, 3600, b, 4, msg,
					    sizeof(msg)),
			 ZB_ERROR);
	/* the SOA: serial 1 → 2 */
	ldns_rr *soa = NULL;
	ck_assert_int_eq(ldns_rr_new_frm_str(&soa, "upd.test. 3600 SOA ns.upd.test. "
						   "hostmaster.upd.test. 1 3600 900 604800 300",
					     3600, NULL, NULL),
			 LDNS_STATUS_OK);
	uint8_t rd[512];
	size_t rdlen = 0;
	for (size_t i = 0; i < ldns_rr_rd_count(soa); i++) {
		ldns_rdf *r = ldns_rr_rdf(soa, i);
		memcpy(rd + rdlen, ldns_rdf_data(r), ldns_rdf_size(r));
		rdlen += ldns_rdf_size(r);
	}
	ldns_rr_free(soa);
	ut_name("upd.test.", owner);
	ck_assert_int_ne(zone_update_change(u, true, owner, RRTYPE_SOA, RRCLASS_IN, 3600, rd,
					    (uint16_t)rdlen, msg, sizeof(msg)),
			 ZB_ERROR);
	rd[rdlen - 17] = 2; /* the serial's last octet: 20 octets of timers before the end */
	ck_assert_int_ne(zone_update_change(u, false, owner, RRTYPE_SOA, RRCLASS_IN, 3600, rd,
					    (uint16_t)rdlen, msg, sizeof(msg)),
			 ZB_ERROR);
	struct zone *v2 = zone_update_commit(u, msg, sizeof(msg));
	ck_assert_msg(v2 != NULL, "%s", msg);
	ck_assert_uint_eq(v2->serial, 2);
	char saved[4200], text[8192];
	round_trip(v2, "upd.test.", "v2.zone", saved, sizeof(saved));
	ut_read(saved, text, sizeof(text));
	ck_assert_ptr_null(strstr(text, "192.0.2.99"));
	ck_assert_ptr_nonnull(strstr(text, "192.0.2.81"));
	zone_free(v2);
	zone_free(base);
}
END_TEST

/* ------------------------------------------------------------- failures */

static struct zone *small_zone(void)
{
	static const char *const rrs[] = {
		"@ SOA ns hostmaster 5 3600 900 604800 300",
		"@ NS ns",
		"ns A 192.0.2.1",
		NULL,
	};
	return ut_zone("fail.test.", rrs);
}

START_TEST(no_such_directory)
{
	struct zone *z = small_zone();
	char path[4200], why[512] = "";
	snprintf(path, sizeof(path), "%s/missing/fail.test.zone", g_dir);
	ck_assert_int_eq(zone_save(z, path, NULL, why, sizeof(why)), -ENOENT);
	char want[4300];
	snprintf(want, sizeof(want), "open %s.tmp: %s", path, strerror(ENOENT));
	ck_assert_str_eq(why, want);
	/* why may be NULL */
	ck_assert_int_eq(zone_save(z, path, NULL, NULL, 0), -ENOENT);
	zone_free(z);
}
END_TEST

START_TEST(name_too_long)
{
	struct zone *z = small_zone();
	char path[5000], why[8192] = "";
	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = 0;
	ck_assert_int_eq(zone_save(z, path, NULL, why, sizeof(why)), -ENAMETOOLONG);
	ck_assert_ptr_nonnull(strstr(why, strerror(ENAMETOOLONG)));
	zone_free(z);
}
END_TEST

static const char OLD[] = "; the old file, kept\n";

static void expect_old(const char *path)
{
	char text[256];
	ut_read(path, text, sizeof(text));
	ck_assert_str_eq(text, OLD);
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_msg(access(tmp, F_OK) == -1 && errno == ENOENT, "%s left behind", tmp);
}

/* A write that fails (the file size limit: EFBIG, as ENOSPC would) removes
 * the temporary file and leaves the old one. */
START_TEST(write_fails_old_file_kept)
{
	char src[4096], path[4200], why[512] = "";
	ut_path(src, sizeof(src), srcdir(), "zones/example.com.zone");
	struct zone *z = load(src, "example.com.", NULL);
	ut_write(g_dir, "example.com.zone", OLD);
	ut_path(path, sizeof(path), g_dir, "example.com.zone");
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit rl = {.rlim_cur = 100, .rlim_max = RLIM_INFINITY};
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	int rc = zone_save(z, path, NULL, why, sizeof(why));
	rl.rlim_cur = RLIM_INFINITY;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	ck_assert_int_eq(rc, -EFBIG);
	char want[4300];
	snprintf(want, sizeof(want), "write %s.tmp: %s", path, strerror(EFBIG));
	ck_assert_str_eq(why, want);
	expect_old(path);
	/* and then it works */
	char saved[4200];
	round_trip(z, "example.com.", "example.com.zone", saved, sizeof(saved));
	zone_free(z);
}
END_TEST

/* A rename that fails (`path` is a directory) removes the temporary file. */
START_TEST(rename_fails)
{
	struct zone *z = small_zone();
	char path[4200], why[512] = "";
	ut_path(path, sizeof(path), g_dir, "dir.zone");
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ut_write(g_dir, "dir.zone/inside", OLD);
	ck_assert_int_eq(zone_save(z, path, NULL, why, sizeof(why)), -EISDIR);
	ck_assert_ptr_nonnull(strstr(why, "rename "));
	char inside[4300];
	snprintf(inside, sizeof(inside), "%s/inside", path);
	expect_old(inside);
	char tmp[4300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	zone_free(z);
}
END_TEST

/* A symlink at the temporary name is replaced, not followed; a file left
 * there by a crash is replaced too. */
START_TEST(tmp_symlink_and_leftover)
{
	struct zone *z = small_zone();
	char path[4200], tmp[4300], victim[4200], why[512] = "";
	ut_write(g_dir, "victim", OLD);
	ut_path(victim, sizeof(victim), g_dir, "victim");
	ut_path(path, sizeof(path), g_dir, "fail.test.zone");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	ck_assert_int_eq(symlink(victim, tmp), 0);
	ck_assert_int_eq(zone_save(z, path, NULL, why, sizeof(why)), 0);
	expect_old(victim);
	ck_assert_int_eq(access(tmp, F_OK), -1);
	ut_write(g_dir, "fail.test.zone.tmp", "left by a crash\n");
	char saved[4200];
	round_trip(z, "fail.test.", "fail.test.zone", saved, sizeof(saved));
	/* saving over a file replaces it */
	round_trip(z, "fail.test.", "fail.test.zone", saved, sizeof(saved));
	zone_free(z);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("zone_save");
	TCase *t = tcase_create("round_trip");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, repository_zones);
	tcase_add_test(t, header_and_soa_first);
	tcase_add_test(t, signed_nsec);
	tcase_add_test(t, signed_nsec3);
	tcase_add_test(t, signed_nsec3_salt_optout);
	tcase_add_test(t, odd_records);
	tcase_add_test(t, at_label_in_rdata);
	tcase_add_test(t, root_zone);
	tcase_add_test(t, big_zone);
	tcase_add_test(t, header_note);
	tcase_add_test(t, updated_version);
	suite_add_tcase(s, t);

	t = tcase_create("failures");
	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, no_such_directory);
	tcase_add_test(t, name_too_long);
	tcase_add_test(t, write_fails_old_file_kept);
	tcase_add_test(t, rename_fails);
	tcase_add_test(t, tmp_symlink_and_leftover);
	suite_add_tcase(s, t);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
