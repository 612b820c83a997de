/* check_zvec.c: the chunked copy-on-write sorted vector, against a plain
 * sorted array; an older generation's copy never changes. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zone/zvec.h"

static int cmp_u32(const void *elem, const void *key)
{
	uint32_t a = *(const uint32_t *)elem, b = *(const uint32_t *)key;
	return (a > b) - (a < b);
}

struct bin {
	size_t n;
	void *v[100000];
};

static void retire(void *ctx, void *block)
{
	struct bin *b = ctx;
	ck_assert_uint_lt(b->n, 100000);
	b->v[b->n++] = block;
}

static void same(const struct zvec *v, const uint32_t *ref, size_t n)
{
	ck_assert_uint_eq(v->n, n);
	if (!n)
		return;
	struct zvec_pos p = zvec_first(v);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(*(const uint32_t *)zvec_at(v, p), ref[i]);
		ck_assert_int_eq(zvec_next(v, &p), i + 1 < n);
	}
	p = zvec_last(v);
	for (size_t i = n; i-- > 0;) {
		ck_assert_uint_eq(*(const uint32_t *)zvec_at(v, p), ref[i]);
		ck_assert_int_eq(zvec_prev(v, &p), i > 0);
	}
}

START_TEST(matches_a_sorted_array)
{
	static uint32_t ref[20000], old_ref[20000];
	static struct bin bin;
	size_t n = 0;
	uint32_t init[300];
	for (uint32_t i = 0; i < 300; i++)
		init[i] = i * 10;
	struct zvec v;
	ck_assert_int_eq(zvec_from_sorted(&v, init, 300, sizeof(uint32_t), 1), 0);
	memcpy(ref, init, sizeof(init));
	n = 300;
	unsigned seed = 7;
	for (uint64_t gen = 2; gen < 60; gen++) {
		/* the version before: a shallow copy, as zone_update_commit makes */
		struct zvec old = v;
		size_t old_n = n;
		memcpy(old_ref, ref, n * sizeof(*ref));
		for (int k = 0; k < 300; k++) {
			seed = seed * 1103515245u + 12345u;
			uint32_t key = (seed >> 8) % 5000;
			struct zvec_pos p;
			bool found = zvec_find_le(&v, &key, cmp_u32, &p) &&
				     *(const uint32_t *)zvec_at(&v, p) == key;
			size_t at = 0;
			while (at < n && ref[at] < key)
				at++;
			if (found) {
				ck_assert(at < n && ref[at] == key);
				if (seed & 0x80000000u) {
					ck_assert_int_eq(zvec_remove(&v, p, gen, retire, &bin), 0);
					memmove(ref + at, ref + at + 1, (n - at - 1) * sizeof(*ref));
					n--;
				} else {
					ck_assert_int_eq(zvec_set(&v, p, &key, gen, retire, &bin), 0);
				}
			} else {
				ck_assert(at == n || ref[at] != key);
				ck_assert_int_eq(zvec_insert(&v, &key, &key, cmp_u32, gen, retire, &bin),
						 0);
				memmove(ref + at + 1, ref + at, (n - at) * sizeof(*ref));
				ref[at] = key;
				n++;
			}
		}
		same(&v, ref, n);
		same(&old, old_ref, old_n); /* untouched by the new generation */
		for (size_t c = 0; c < v.nchunks; c++)
			ck_assert_uint_le(v.chunks[c]->n, ZVEC_CHUNK);
		/* the old version goes: what the new one replaced is freed */
		for (size_t i = 0; i < bin.n; i++)
			free(bin.v[i]);
		bin.n = 0;
	}
	/* down to empty and up again */
	while (n) {
		struct zvec_pos p = zvec_first(&v);
		ck_assert_int_eq(zvec_remove(&v, p, 99, retire, &bin), 0);
		n--;
	}
	same(&v, ref, 0);
	uint32_t k = 5;
	struct zvec_pos p;
	ck_assert(!zvec_find_le(&v, &k, cmp_u32, &p));
	ck_assert_int_eq(zvec_insert(&v, &k, &k, cmp_u32, 100, retire, &bin), 0);
	ref[0] = 5;
	same(&v, ref, 1);
	for (size_t i = 0; i < bin.n; i++)
		free(bin.v[i]);
	zvec_free(&v);
}
END_TEST

/* zvec_drop: what the dropping generation made is freed (ASan would see a
 * leak or a double free), the rest goes to retire, or stays with the older
 * copy that still reads it. */
START_TEST(drop_frees_its_own_retires_the_rest)
{
	static struct bin bin;
	uint32_t init[400];
	for (uint32_t i = 0; i < 400; i++)
		init[i] = i * 2;
	struct zvec v;
	ck_assert_int_eq(zvec_from_sorted(&v, init, 400, sizeof(uint32_t), 1), 0);
	struct zvec old = v;
	uint32_t k = 3; /* lands in the first chunk: that chunk and the directory copied */
	ck_assert_int_eq(zvec_insert(&v, &k, &k, cmp_u32, 2, retire, &bin), 0);
	ck_assert_uint_eq(bin.n, 2); /* the first chunk and the directory of gen 1 */
	bin.n = 0;
	zvec_drop(&v, 2, retire, &bin);
	ck_assert_uint_eq(v.n, 0);
	ck_assert_ptr_null(v.chunks);
	/* every gen-1 chunk but the replaced one, handed over; the directory
	 * and the chunk gen 2 made were freed */
	ck_assert_uint_eq(bin.n, old.nchunks - 1);
	same(&old, init, 400);
	/* again, leaving the older ones to their owner */
	struct zvec w = old;
	ck_assert_int_eq(zvec_insert(&w, &k, &k, cmp_u32, 3, retire, &bin), 0);
	size_t before = bin.n;
	zvec_drop(&w, 3, NULL, NULL);
	ck_assert_uint_eq(bin.n, before);
	same(&old, init, 400);
	/* everything handed to retire was the older copy's: it frees them */
	for (size_t i = 0; i < bin.n; i++) {
		bool owned = bin.v[i] == (void *)old.chunks;
		for (size_t c = 0; c < old.nchunks; c++)
			owned |= bin.v[i] == (void *)old.chunks[c];
		ck_assert(owned);
	}
	zvec_free(&old);
	bin.n = 0;
}
END_TEST

int main(void)
{
	Suite *s = suite_create("zvec");
	TCase *tc = tcase_create("zvec");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, matches_a_sorted_array);
	tcase_add_test(tc, drop_frees_its_own_retires_the_rest);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
