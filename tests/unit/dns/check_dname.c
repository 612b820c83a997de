/* check_dname.c: wire-format name helpers (src/dname.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dname.h"
#include "unit.h"

/* A wire name of `len` octets (root included) made of labels of at most 63
 * octets filled with 'a'. len must be reachable: len >= 1. */
static size_t long_name(uint8_t *out, size_t len)
{
	size_t pos = 0;
	while (len - pos > 1) {
		size_t l = len - pos - 1 - 1; /* room left for the label's octets */
		if (l > LABEL_MAX)
			l = LABEL_MAX;
		if (l == 0) /* one octet left before the root cannot be a label */
			l = 1;
		out[pos] = (uint8_t)l;
		memset(out + pos + 1, 'a', l);
		pos += 1 + l;
	}
	out[pos] = 0;
	return pos + 1;
}

/* ---------------------------------------------------------------- wire_len */

/* RFC 4034 §6.1's example, in its canonical order (lowercased first, as
 * the zone's names are). */
START_TEST(canonical_order_rfc4034)
{
	static const char *const order[] = {
		"example.",	 "a.example.",	   "yljkjljk.a.example.", "Z.a.example.",
		"zABC.a.EXAMPLE.", "z.example.",	   "\\001.z.example.",	"*.z.example.",
		"\\200.z.example.",
	};
	enum { N = sizeof(order) / sizeof(order[0]) };
	uint8_t w[N][DNAME_MAX], l[N][DNAME_MAX];
	for (size_t i = 0; i < N; i++) {
		size_t len = ut_name(order[i], w[i]);
		dname_lower(l[i], w[i], len);
	}
	for (size_t i = 0; i < N; i++) {
		ck_assert_int_eq(dname_canon_cmp(l[i], l[i]), 0);
		for (size_t j = i + 1; j < N; j++) {
			ck_assert_msg(dname_canon_cmp(l[i], l[j]) < 0, "%s before %s", order[i], order[j]);
			ck_assert_msg(dname_canon_cmp(l[j], l[i]) > 0, "%s after %s", order[j], order[i]);
		}
	}
}
END_TEST

START_TEST(wire_len_valid)
{
	ck_assert_uint_eq(dname_wire_len((const uint8_t *)"\3www\7example\3com", 255), 17);
	ck_assert_uint_eq(dname_wire_len((const uint8_t *)"", 255), 1); /* root */
	ck_assert_uint_eq(dname_wire_len((const uint8_t *)"", 1), 1);
	/* exactly what is there: max is the buffer size, not the name's */
	ck_assert_uint_eq(dname_wire_len((const uint8_t *)"\3com", 5), 5);
}
END_TEST

START_TEST(wire_len_truncated)
{
	/* no root within max */
	ck_assert_uint_eq(dname_wire_len((const uint8_t *)"\3com", 4), 0);
	ck_assert_uint_eq(dname_wire_len((const uint8_t *)"\3com", 3), 0);
	ck_assert_uint_eq(dname_wire_len((const uint8_t *)"\3com", 0), 0);
}
END_TEST

START_TEST(wire_len_label_63_64)
{
	uint8_t n[80];
	n[0] = 63;
	memset(n + 1, 'x', 63);
	n[64] = 0;
	ck_assert_uint_eq(dname_wire_len(n, sizeof(n)), 65);
	/* RFC 1035 §2.3.4: labels are 63 octets or less; 64 (0x40) is the
	 * reserved extended label type of RFC 6891 §5 */
	n[0] = 64;
	memset(n + 1, 'x', 64);
	n[65] = 0;
	ck_assert_uint_eq(dname_wire_len(n, sizeof(n)), 0);
}
END_TEST

START_TEST(wire_len_255_256)
{
	uint8_t n[300];
	ck_assert_uint_eq(long_name(n, 255), 255);
	ck_assert_uint_eq(dname_wire_len(n, sizeof(n)), 255);
	ck_assert_uint_eq(long_name(n, 256), 256);
	ck_assert_uint_eq(dname_wire_len(n, sizeof(n)), 0);
	ck_assert_uint_eq(long_name(n, 257), 257);
	ck_assert_uint_eq(dname_wire_len(n, sizeof(n)), 0);
	/* 127 one-octet labels + root = 255 octets: the most labels a name has */
	for (int i = 0; i < 127; i++) {
		n[2 * i] = 1;
		n[2 * i + 1] = 'a';
	}
	n[254] = 0;
	ck_assert_uint_eq(dname_wire_len(n, sizeof(n)), 255);
	ck_assert_uint_eq(dname_label_count(n), 127);
	/* 128 labels: 257 octets */
	n[254] = 1;
	n[255] = 'a';
	n[256] = 0;
	ck_assert_uint_eq(dname_wire_len(n, sizeof(n)), 0);
}
END_TEST

START_TEST(wire_len_pointer_rejected)
{
	/* a compression pointer (RFC 1035 §4.1.4) is not an uncompressed name */
	ck_assert_uint_eq(dname_wire_len((const uint8_t *)"\xc0\x0c", 2), 0);
	ck_assert_uint_eq(dname_wire_len((const uint8_t *)"\3www\xc0\x0c", 6), 0);
	/* 0x40 and 0x80: reserved label types */
	ck_assert_uint_eq(dname_wire_len((const uint8_t *)"\x40", 70), 0);
	ck_assert_uint_eq(dname_wire_len((const uint8_t *)"\3www\x80\x01", 7), 0);
}
END_TEST

/* ---------------------------------------------------------------- lower */

START_TEST(lower_ascii_only)
{
	uint8_t in[DNAME_MAX], out[DNAME_MAX];
	size_t len = ut_name("WwW.ExAmPlE.COM.", in);
	dname_lower(out, in, len);
	ck_assert_mem_eq(out, "\3www\7example\3com", 17);
	/* every octet value in a one-octet label: only 'A'..'Z' change */
	for (unsigned c = 0; c < 256; c++) {
		uint8_t n[3] = {1, (uint8_t)c, 0}, l[3];
		dname_lower(l, n, 3);
		uint8_t want = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : (uint8_t)c;
		ck_assert_msg(l[1] == want, "octet %u lowered to %u, want %u", c, l[1], want);
		ck_assert_uint_eq(l[0], 1);
		ck_assert_uint_eq(l[2], 0);
		ck_assert_uint_eq(dname_lc((uint8_t)c), want);
	}
}
END_TEST

START_TEST(lower_every_octet_in_context)
{
	/* every octet value at every position of a 24-octet run, beside
	 * neighbours at the edges of the letter range and with the top bit
	 * set (a word-at-a-time fold that carried between octets would show) */
	static const uint8_t around[] = {'@', 'A', 'Z', '[', 'a', 'z', 0x7f, 0x80, 0xc1, 0xda, 0xff, 0};
	for (unsigned c = 0; c < 256; c++) {
		for (unsigned k = 0; k < sizeof(around); k++) {
			uint8_t in[24], out[24];
			for (unsigned i = 0; i < sizeof(in); i++)
				in[i] = (i % 3 == 0) ? (uint8_t)c : around[(k + i) % sizeof(around)];
			dname_lower(out, in, sizeof(in));
			for (unsigned i = 0; i < sizeof(in); i++) {
				uint8_t want = (in[i] >= 'A' && in[i] <= 'Z') ? (uint8_t)(in[i] + 32) : in[i];
				ck_assert_msg(out[i] == want, "octet %u at %u lowered to %u, want %u",
					      in[i], i, out[i], want);
			}
		}
	}
}
END_TEST

START_TEST(lower_escaped_untouched)
{
	/* presentation escapes become octets; the non-letters stay as they are:
	 * \192 (0xc0, 'A' | 0x80) and \218 are not letters in DNS (RFC 4343 §3) */
	uint8_t in[DNAME_MAX], out[DNAME_MAX];
	size_t len = ut_name("A\\.B\\192\\218\\@\\[\\`\\{.", in);
	ck_assert_uint_eq(len, 1 + 9 + 1);
	dname_lower(out, in, len);
	ck_assert_mem_eq(out, "\x09" "a.b\xc0\xda@[`{", 10);
	ck_assert_uint_eq(out[10], 0);
}
END_TEST

START_TEST(lower_length_octets_untouched)
{
	/* labels of 65..90 octets do not exist, but 63 and below must be
	 * left alone: check a name whose labels are 26..63 long */
	uint8_t n[DNAME_MAX], l[DNAME_MAX];
	n[0] = 63;
	memset(n + 1, 'Q', 63);
	n[64] = 26;
	memset(n + 65, 'Z', 26);
	n[91] = 0;
	dname_lower(l, n, 92);
	ck_assert_uint_eq(l[0], 63);
	ck_assert_uint_eq(l[64], 26);
	ck_assert_uint_eq(l[1], 'q');
	ck_assert_uint_eq(l[65], 'z');
	ck_assert_uint_eq(l[91], 0);
}
END_TEST

/* ---------------------------------------------------------------- split / hash */

static void check_split(const uint8_t *name, size_t len)
{
	struct dname_split s;
	dname_split(&s, name, len);
	ck_assert_uint_eq(s.len, len);
	ck_assert_uint_eq(s.labels, dname_label_count(name));
	ck_assert_uint_eq(s.off[0], 0);
	ck_assert_uint_eq(s.off[s.labels], len - 1);
	for (unsigned i = 0; i < s.labels; i++)
		ck_assert_uint_eq(s.off[i + 1], s.off[i] + 1u + name[s.off[i]]);
	for (unsigned i = 0; i <= s.labels; i++) {
		uint64_t h = dname_hash(name + s.off[i], len - s.off[i]);
		ck_assert_msg(s.hash[i] == h, "hash[%u] != dname_hash(suffix)", i);
	}
	ck_assert(s.hash[0] == dname_hash(name, len));
}

START_TEST(split_offsets)
{
	struct dname_split s;
	const uint8_t *n = (const uint8_t *)"\3www\7example\3com";
	dname_split(&s, n, 17);
	ck_assert_uint_eq(s.len, 17);
	ck_assert_uint_eq(s.labels, 3);
	ck_assert_uint_eq(s.off[0], 0);
	ck_assert_uint_eq(s.off[1], 4);
	ck_assert_uint_eq(s.off[2], 12);
	ck_assert_uint_eq(s.off[3], 16);
	check_split(n, 17);

	dname_split(&s, (const uint8_t *)"", 1);
	ck_assert_uint_eq(s.labels, 0);
	ck_assert_uint_eq(s.off[0], 0);
	ck_assert_uint_eq(s.len, 1);
}
END_TEST

START_TEST(split_hash_is_suffix_hash)
{
	/* label lengths around the 8-octet words the hash folds */
	static const char *names[] = {
		"a.", "ab.cd.", "abcdefg.h.", "abcdefgh.i.", "abcdefghijklmno.p.",
		"abcdefghijklmnop.qrstuvwxyz0123456789.example.",
		"x.y.z.w.v.u.t.s.r.q.p.o.n.m.l.k.j.i.h.g.f.e.d.c.b.a.",
		"\\000\\001.\\255\\254\\253.", NULL,
	};
	uint8_t n[DNAME_MAX];
	for (int i = 0; names[i]; i++) {
		size_t len = ut_name(names[i], n);
		check_split(n, len);
	}
	/* the longest names: 255 octets of 63-octet labels, 127 labels */
	uint8_t big[300];
	check_split(big, long_name(big, 255));
	for (int i = 0; i < 127; i++) {
		big[2 * i] = 1;
		big[2 * i + 1] = (uint8_t)('a' + i % 26);
	}
	big[254] = 0;
	check_split(big, 255);
	/* every length of a single label */
	for (unsigned l = 1; l <= LABEL_MAX; l++) {
		n[0] = (uint8_t)l;
		for (unsigned k = 1; k <= l; k++)
			n[k] = (uint8_t)('a' + k % 26);
		n[l + 1] = 3;
		memcpy(n + l + 2, "com", 3);
		n[l + 5] = 0;
		check_split(n, l + 6);
	}
}
END_TEST

START_TEST(hash_ignores_bytes_after_the_name)
{
	/* the hash reads whole 8-octet words: what follows the name in memory
	 * must not change it */
	uint8_t a[DNAME_MAX + 16], b[DNAME_MAX + 16];
	size_t len = ut_name("abcdefghijk.lm.", a);
	memset(b, 0xff, sizeof(b));
	memcpy(b, a, len);
	memset(a + len, 0, 16);
	ck_assert(dname_hash(a, len) == dname_hash(b, len));
	struct dname_split sa, sb;
	dname_split(&sa, a, len);
	dname_split(&sb, b, len);
	for (unsigned i = 0; i <= sa.labels; i++)
		ck_assert(sa.hash[i] == sb.hash[i]);
}
END_TEST

START_TEST(hash_distinguishes_label_boundaries)
{
	uint8_t a[DNAME_MAX], b[DNAME_MAX];
	size_t la = ut_name("a.b.", a), lb = ut_name("ab.", b);
	ck_assert(dname_hash(a, la) != dname_hash(b, lb));
	la = ut_name("www.example.com.", a);
	lb = ut_name("www.example.org.", b);
	ck_assert(dname_hash(a, la) != dname_hash(b, lb));
	ck_assert(dname_hash(a, la) != dname_hash((const uint8_t *)"", 1));
}
END_TEST

START_TEST(lower_split_equals_lower_then_split)
{
	static const char *names[] = {"WWW.Example.COM.", ".", "A.", "abcdefghIJKLMNOP.qrstuvwxyz.",
				      "\\\\A\\.B\\192.xX.", NULL};
	for (int i = 0; names[i]; i++) {
		uint8_t in[DNAME_MAX], lower[DNAME_MAX], out[DNAME_PADDED];
		size_t len = ut_name(names[i], in);
		memset(out, 0xff, sizeof(out));
		struct dname_split a, b, c;
		dname_lower_split(out, in, len, &a);
		dname_lower(lower, in, len);
		dname_split(&b, lower, len);
		ck_assert_mem_eq(out, lower, len);
		for (size_t k = len; k < len + 8; k++) /* the padding the hash reads */
			ck_assert_uint_eq(out[k], 0);
		ck_assert_uint_eq(a.len, b.len);
		ck_assert_uint_eq(a.labels, b.labels);
		ck_assert_mem_eq(a.off, b.off, (size_t)b.labels + 1);
		for (unsigned k = 0; k <= b.labels; k++)
			ck_assert(a.hash[k] == b.hash[k]);
		/* the question's version: the same, plus an unchanged copy */
		uint8_t copy[DNAME_MAX + 1], out2[DNAME_PADDED];
		memset(copy, 0xee, sizeof(copy));
		memset(out2, 0xff, sizeof(out2));
		dname_copy_lower_split(copy, out2, in, len, &c);
		ck_assert_mem_eq(copy, in, len);
		ck_assert_uint_eq(copy[len], 0xee);
		ck_assert_mem_eq(out2, out, len + 8);
		ck_assert_uint_eq(c.labels, b.labels);
		ck_assert_mem_eq(c.off, b.off, (size_t)b.labels + 1);
		for (unsigned k = 0; k <= b.labels; k++)
			ck_assert(c.hash[k] == b.hash[k]);
	}
	/* the longest name fills the padded buffer exactly */
	uint8_t big[300], out[DNAME_PADDED];
	long_name(big, 255);
	big[1] = 'A';
	struct dname_split a;
	dname_lower_split(out, big, 255, &a);
	ck_assert_uint_eq(out[1], 'a');
	ck_assert(a.hash[0] == dname_hash(out, 255));
}
END_TEST

/* ---------------------------------------------------------------- compare */

START_TEST(equal_case_insensitive)
{
	ck_assert(dname_equal((const uint8_t *)"\3WWW\7Example\3com", (const uint8_t *)"\3www\7example\3COM"));
	ck_assert(dname_equal((const uint8_t *)"", (const uint8_t *)""));
	ck_assert(!dname_equal((const uint8_t *)"\3www", (const uint8_t *)""));
	ck_assert(!dname_equal((const uint8_t *)"\3www", (const uint8_t *)"\3wwx"));
	ck_assert(!dname_equal((const uint8_t *)"\1a\1b", (const uint8_t *)"\2ab"));
	ck_assert(!dname_equal((const uint8_t *)"\3www\3com", (const uint8_t *)"\3www"));
	/* only A-Z fold: '@' (0x40) is not '`' (0x60), 0xc1 is not 0xe1 */
	ck_assert(!dname_equal((const uint8_t *)"\1@", (const uint8_t *)"\1`"));
	ck_assert(!dname_equal((const uint8_t *)"\1\xc1", (const uint8_t *)"\1\xe1"));
	ck_assert(!dname_equal((const uint8_t *)"\1[", (const uint8_t *)"\1{"));
}
END_TEST

START_TEST(subdomain)
{
	const uint8_t *ex = (const uint8_t *)"\7example\3com";
	ck_assert(dname_is_subdomain(ex, ex));
	ck_assert(dname_is_subdomain((const uint8_t *)"\3www\7EXAMPLE\3com", ex));
	ck_assert(dname_is_subdomain((const uint8_t *)"\1a\1b\7example\3com", ex));
	ck_assert(dname_is_subdomain(ex, (const uint8_t *)"")); /* all under root */
	ck_assert(dname_is_subdomain((const uint8_t *)"", (const uint8_t *)""));
	ck_assert(!dname_is_subdomain((const uint8_t *)"\3com", ex));
	ck_assert(!dname_is_subdomain((const uint8_t *)"", ex));
	ck_assert(!dname_is_subdomain((const uint8_t *)"\7example\3net", ex));
	/* on label boundaries only: fooexample.com is not under example.com */
	ck_assert(!dname_is_subdomain((const uint8_t *)"\12fooexample\3com", ex));
	ck_assert(!dname_is_subdomain((const uint8_t *)"\3foo\3com", (const uint8_t *)"\2oo\3com"));
}
END_TEST

START_TEST(label_count)
{
	ck_assert_uint_eq(dname_label_count((const uint8_t *)""), 0);
	ck_assert_uint_eq(dname_label_count((const uint8_t *)"\3com"), 1);
	ck_assert_uint_eq(dname_label_count((const uint8_t *)"\3www\7example\3com"), 3);
}
END_TEST

/* ---------------------------------------------------------------- to_str */

START_TEST(to_str_plain)
{
	char b[1100];
	ck_assert_str_eq(dname_to_str((const uint8_t *)"\3www\7Example\3com", b, sizeof(b)),
			 "www.Example.com.");
	ck_assert_str_eq(dname_to_str((const uint8_t *)"", b, sizeof(b)), ".");
	ck_assert_str_eq(dname_to_str((const uint8_t *)"\1*\3com", b, sizeof(b)), "*.com.");
	ck_assert_str_eq(dname_to_str((const uint8_t *)"\3a-b\1_", b, sizeof(b)), "a-b._.");
}
END_TEST

START_TEST(to_str_escapes)
{
	char b[1100];
	ck_assert_str_eq(dname_to_str((const uint8_t *)"\3a.b\3com", b, sizeof(b)), "a\\.b.com.");
	ck_assert_str_eq(dname_to_str((const uint8_t *)"\3a b", b, sizeof(b)), "a\\032b.");
	ck_assert_str_eq(dname_to_str((const uint8_t *)"\2\\\"", b, sizeof(b)), "\\\\\\\".");
	ck_assert_str_eq(dname_to_str((const uint8_t *)"\6();@$x", b, sizeof(b)), "\\(\\)\\;\\@\\$x.");
	ck_assert_str_eq(dname_to_str((const uint8_t *)"\3\x00\x7f\xff", b, sizeof(b)),
			 "\\000\\127\\255.");
	ck_assert_str_eq(dname_to_str((const uint8_t *)"\1\t", b, sizeof(b)), "\\009.");
}
END_TEST

START_TEST(to_str_round_trips_every_octet)
{
	/* what to_str writes, ldns reads back to the same octets */
	char b[1100];
	for (unsigned c = 0; c < 256; c++) {
		uint8_t n[5] = {2, (uint8_t)c, 'x', 0, 0}, back[DNAME_MAX];
		dname_to_str(n, b, sizeof(b));
		size_t len = ut_name(b, back);
		ck_assert_msg(len == 4 && memcmp(back, n, 4) == 0, "octet %u: '%s' does not read back",
			      c, b);
	}
}
END_TEST

START_TEST(to_str_small_buffer)
{
	char b[64];
	/* always NUL-terminated, never past size */
	for (size_t size = 1; size < 24; size++) {
		memset(b, 'Z', sizeof(b));
		dname_to_str((const uint8_t *)"\3www\7exa\\ple\3com", b, size);
		ck_assert_uint_lt(strlen(b), size);
		for (size_t i = size; i < sizeof(b); i++)
			ck_assert_msg(b[i] == 'Z', "size %zu: wrote at %zu", size, i);
	}
	memset(b, 'Z', sizeof(b));
	dname_to_str((const uint8_t *)"\3www", b, 0); /* nothing written */
	ck_assert_int_eq(b[0], 'Z');
}
END_TEST

START_TEST(to_str_longest_name)
{
	/* 255 octets of which every one needs \DDD: 4 octets each */
	uint8_t n[300];
	long_name(n, 255);
	for (size_t i = 0; n[i]; i += 1u + n[i])
		memset(n + i + 1, 0x01, n[i]);
	char b[1100];
	dname_to_str(n, b, sizeof(b));
	ck_assert_uint_eq(strlen(b), (255 - 1 - 4) * 4 + 4); /* 4 length octets → 4 dots */
	uint8_t back[DNAME_MAX];
	ck_assert_uint_eq(ut_name(b, back), 255);
	ck_assert_mem_eq(back, n, 255);
}
END_TEST

static Suite *dname_suite(void)
{
	Suite *s = suite_create("dname");
	TCase *t = tcase_create("wire_len");
	tcase_add_test(t, wire_len_valid);
	tcase_add_test(t, wire_len_truncated);
	tcase_add_test(t, wire_len_label_63_64);
	tcase_add_test(t, wire_len_255_256);
	tcase_add_test(t, wire_len_pointer_rejected);
	suite_add_tcase(s, t);

	t = tcase_create("lower");
	tcase_add_test(t, lower_ascii_only);
	tcase_add_test(t, lower_every_octet_in_context);
	tcase_add_test(t, lower_escaped_untouched);
	tcase_add_test(t, lower_length_octets_untouched);
	suite_add_tcase(s, t);

	t = tcase_create("split");
	tcase_add_test(t, split_offsets);
	tcase_add_test(t, split_hash_is_suffix_hash);
	tcase_add_test(t, hash_ignores_bytes_after_the_name);
	tcase_add_test(t, hash_distinguishes_label_boundaries);
	tcase_add_test(t, lower_split_equals_lower_then_split);
	suite_add_tcase(s, t);

	t = tcase_create("compare");
	tcase_add_test(t, equal_case_insensitive);
	tcase_add_test(t, subdomain);
	tcase_add_test(t, label_count);
	suite_add_tcase(s, t);

	t = tcase_create("to_str");
	tcase_add_test(t, to_str_plain);
	tcase_add_test(t, to_str_escapes);
	tcase_add_test(t, to_str_round_trips_every_octet);
	tcase_add_test(t, to_str_small_buffer);
	tcase_add_test(t, to_str_longest_name);
	tcase_add_test(t, canonical_order_rfc4034);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dname_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
