/* zvec.c: a sorted vector in copy-on-write chunks (zvec.h). */
#include "zone/zvec.h"

#include <stdlib.h>
#include <string.h>

static struct zvec_chunk *chunk_new(uint32_t esize, uint64_t gen)
{
	struct zvec_chunk *c = malloc(sizeof(*c) + (size_t)ZVEC_CHUNK * esize);
	if (!c)
		return NULL;
	c->gen = gen;
	c->n = 0;
	c->esize = esize;
	return c;
}

int zvec_from_sorted(struct zvec *v, const void *elems, size_t n, uint32_t esize, uint64_t gen)
{
	memset(v, 0, sizeof(*v));
	v->esize = esize;
	v->dir_gen = gen;
	if (!n)
		return 0;
	/* Chunks filled to 3/4: room for a few inserts before a split. */
	size_t per = ZVEC_CHUNK * 3 / 4;
	size_t nc = (n + per - 1) / per;
	v->chunks = calloc(nc, sizeof(*v->chunks));
	if (!v->chunks)
		return -1;
	const unsigned char *e = elems;
	for (size_t c = 0; c < nc; c++) {
		size_t k = n - c * per < per ? n - c * per : per;
		struct zvec_chunk *ch = chunk_new(esize, gen);
		if (!ch) {
			v->nchunks = c;
			zvec_free(v);
			return -1;
		}
		memcpy(ch->data, e + c * per * esize, k * esize);
		ch->n = (uint32_t)k;
		v->chunks[c] = ch;
	}
	v->nchunks = nc;
	v->n = n;
	return 0;
}

bool zvec_find_le(const struct zvec *v, const void *key, zvec_cmp_fn cmp, struct zvec_pos *pos)
{
	if (!v->n || cmp(v->chunks[0]->data, key) > 0)
		return false;
	/* the last chunk whose first element is at or before key */
	size_t lo = 0, hi = v->nchunks;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp(v->chunks[mid]->data, key) <= 0)
			lo = mid;
		else
			hi = mid;
	}
	const struct zvec_chunk *ch = v->chunks[lo];
	uint32_t a = 0, b = ch->n;
	while (b - a > 1) {
		uint32_t mid = a + (b - a) / 2;
		if (cmp(ch->data + (size_t)mid * v->esize, key) <= 0)
			a = mid;
		else
			b = mid;
	}
	pos->c = lo;
	pos->i = a;
	return true;
}

struct zvec_pos zvec_first(const struct zvec *v)
{
	(void)v;
	return (struct zvec_pos){0, 0};
}

struct zvec_pos zvec_last(const struct zvec *v)
{
	return (struct zvec_pos){v->nchunks - 1, v->chunks[v->nchunks - 1]->n - 1};
}

bool zvec_next(const struct zvec *v, struct zvec_pos *p)
{
	if (p->i + 1 < v->chunks[p->c]->n) {
		p->i++;
		return true;
	}
	if (p->c + 1 < v->nchunks) {
		p->c++;
		p->i = 0;
		return true;
	}
	return false;
}

bool zvec_prev(const struct zvec *v, struct zvec_pos *p)
{
	if (p->i > 0) {
		p->i--;
		return true;
	}
	if (p->c > 0) {
		p->c--;
		p->i = v->chunks[p->c]->n - 1;
		return true;
	}
	return false;
}

/* Make the directory this generation's, with room for one more chunk. */
static int own_dir(struct zvec *v, uint64_t gen, zvec_retire_fn retire, void *ctx, size_t extra)
{
	size_t want = v->nchunks + extra;
	if (v->dir_gen == gen) {
		if (!extra)
			return 0;
		struct zvec_chunk **d = realloc(v->chunks, (want ? want : 1) * sizeof(*d));
		if (!d)
			return -1;
		v->chunks = d;
		return 0;
	}
	struct zvec_chunk **d = malloc((want ? want : 1) * sizeof(*d));
	if (!d)
		return -1;
	if (v->nchunks)
		memcpy(d, v->chunks, v->nchunks * sizeof(*d));
	if (v->chunks)
		retire(ctx, v->chunks);
	v->chunks = d;
	v->dir_gen = gen;
	return 0;
}

/* Make chunk c this generation's. */
static int own_chunk(struct zvec *v, size_t c, uint64_t gen, zvec_retire_fn retire, void *ctx)
{
	struct zvec_chunk *old = v->chunks[c];
	if (old->gen == gen)
		return 0;
	if (own_dir(v, gen, retire, ctx, 0) < 0)
		return -1;
	struct zvec_chunk *ch = chunk_new(v->esize, gen);
	if (!ch)
		return -1;
	ch->n = old->n;
	memcpy(ch->data, old->data, (size_t)old->n * v->esize);
	v->chunks[c] = ch;
	retire(ctx, old);
	return 0;
}

int zvec_set(struct zvec *v, struct zvec_pos p, const void *elem, uint64_t gen,
	     zvec_retire_fn retire, void *ctx)
{
	if (own_chunk(v, p.c, gen, retire, ctx) < 0)
		return -1;
	memcpy(v->chunks[p.c]->data + (size_t)p.i * v->esize, elem, v->esize);
	return 0;
}

int zvec_insert(struct zvec *v, const void *elem, const void *key, zvec_cmp_fn cmp, uint64_t gen,
		zvec_retire_fn retire, void *ctx)
{
	uint32_t es = v->esize;
	if (!v->n) {
		struct zvec_chunk *ch = chunk_new(es, gen);
		if (!ch || own_dir(v, gen, retire, ctx, 1) < 0) {
			free(ch);
			return -1;
		}
		memcpy(ch->data, elem, es);
		ch->n = 1;
		v->chunks[0] = ch;
		v->nchunks = 1;
		v->n = 1;
		return 0;
	}
	struct zvec_pos p;
	if (zvec_find_le(v, key, cmp, &p))
		p.i++; /* after the last one at or before it */
	else
		p = (struct zvec_pos){0, 0};
	if (v->chunks[p.c]->n == ZVEC_CHUNK) {
		/* Split: the upper half moves to a new chunk after it. */
		struct zvec_chunk *hi = chunk_new(es, gen);
		if (!hi || own_dir(v, gen, retire, ctx, 1) < 0 ||
		    own_chunk(v, p.c, gen, retire, ctx) < 0) {
			free(hi);
			return -1;
		}
		struct zvec_chunk *lo = v->chunks[p.c];
		uint32_t half = ZVEC_CHUNK / 2;
		memcpy(hi->data, lo->data + (size_t)half * es, (size_t)(ZVEC_CHUNK - half) * es);
		hi->n = ZVEC_CHUNK - half;
		lo->n = half;
		memmove(v->chunks + p.c + 2, v->chunks + p.c + 1,
			(v->nchunks - p.c - 1) * sizeof(*v->chunks));
		v->chunks[p.c + 1] = hi;
		v->nchunks++;
		if (p.i > half) {
			p.c++;
			p.i -= half;
		}
	} else if (own_chunk(v, p.c, gen, retire, ctx) < 0) {
		return -1;
	}
	struct zvec_chunk *ch = v->chunks[p.c];
	memmove(ch->data + ((size_t)p.i + 1) * es, ch->data + (size_t)p.i * es,
		(size_t)(ch->n - p.i) * es);
	memcpy(ch->data + (size_t)p.i * es, elem, es);
	ch->n++;
	v->n++;
	return 0;
}

int zvec_remove(struct zvec *v, struct zvec_pos p, uint64_t gen, zvec_retire_fn retire,
		void *ctx)
{
	uint32_t es = v->esize;
	if (v->chunks[p.c]->n == 1) {
		if (own_dir(v, gen, retire, ctx, 0) < 0)
			return -1;
		struct zvec_chunk *old = v->chunks[p.c];
		memmove(v->chunks + p.c, v->chunks + p.c + 1,
			(v->nchunks - p.c - 1) * sizeof(*v->chunks));
		v->nchunks--;
		v->n--;
		if (old->gen == gen)
			free(old); /* made by this generation: nobody else reads it */
		else
			retire(ctx, old);
		return 0;
	}
	if (own_chunk(v, p.c, gen, retire, ctx) < 0)
		return -1;
	struct zvec_chunk *ch = v->chunks[p.c];
	memmove(ch->data + (size_t)p.i * es, ch->data + ((size_t)p.i + 1) * es,
		(size_t)(ch->n - p.i - 1) * es);
	ch->n--;
	v->n--;
	return 0;
}

void zvec_drop(struct zvec *v, uint64_t gen, zvec_retire_fn retire, void *ctx)
{
	for (size_t c = 0; c < v->nchunks; c++) {
		if (v->chunks[c]->gen == gen)
			free(v->chunks[c]);
		else if (retire)
			retire(ctx, v->chunks[c]);
	}
	if (v->chunks && v->dir_gen == gen)
		free(v->chunks);
	else if (v->chunks && retire)
		retire(ctx, v->chunks);
	v->chunks = NULL;
	v->nchunks = v->n = 0;
}

void zvec_free(struct zvec *v)
{
	for (size_t c = 0; c < v->nchunks; c++)
		free(v->chunks[c]);
	free(v->chunks);
	v->chunks = NULL;
	v->nchunks = v->n = 0;
}
