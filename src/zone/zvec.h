/* zvec.h: a sorted vector kept in chunks, copied on write, for the ordered
 * indexes of a zone version (NSEC owners in canonical order, NSEC3 hashes).
 *
 * Versions of a zone share chunks: a change copies the one chunk it
 * touches (ZVEC_CHUNK elements at most) and the chunk directory (one
 * pointer per chunk), never the elements of the other chunks. A chunk and
 * a directory carry the number of the version ("generation") that made
 * them, so the second change to one chunk within an update is made in
 * place. What a change replaces is handed to a retire callback: the
 * versions that still read it decide when it is freed (zone_update.c).
 *
 * Readers (any thread) only search and step; a vector is changed by the one
 * thread building a new version, before that version is published. */
#ifndef SHOAL_ZVEC_H
#define SHOAL_ZVEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Elements per chunk. 128 NSEC3 entries (32 bytes) is 4 KiB: a change
 * copies one page, and a search takes one binary search over the chunks'
 * first elements and one within a chunk. */
#define ZVEC_CHUNK 128

struct zvec_chunk {
	uint64_t gen;	/* the generation that made it */
	uint32_t n;	/* elements in use, 1..ZVEC_CHUNK */
	uint32_t esize;
	_Alignas(16) unsigned char data[]; /* ZVEC_CHUNK * esize */
};

struct zvec {
	size_t n;		    /* elements */
	size_t nchunks;
	struct zvec_chunk **chunks; /* NULL when empty */
	uint64_t dir_gen;	    /* the generation that made `chunks` */
	uint32_t esize;
};

/** Where an element is: chunk and index in it. */
struct zvec_pos {
	size_t c;
	uint32_t i;
};

/** Compare an element with a search key: <0, 0, >0. */
typedef int (*zvec_cmp_fn)(const void *elem, const void *key);

/** Receives a chunk or a directory that a change replaced. */
typedef void (*zvec_retire_fn)(void *ctx, void *block);

static inline const void *zvec_at(const struct zvec *v, struct zvec_pos p)
{
	return v->chunks[p.c]->data + (size_t)p.i * v->esize;
}

/**
 * Fill an empty vector from `n` elements of `esize` bytes, already sorted.
 * \return 0, or -1 when out of memory (the vector stays empty)
 */
int zvec_from_sorted(struct zvec *v, const void *elems, size_t n, uint32_t esize, uint64_t gen);

/**
 * The last element at or before `key`.
 * \return false when the vector is empty or every element is after `key`
 */
bool zvec_find_le(const struct zvec *v, const void *key, zvec_cmp_fn cmp, struct zvec_pos *pos);

/** The first and last elements. Pre: v->n > 0. */
struct zvec_pos zvec_first(const struct zvec *v);
struct zvec_pos zvec_last(const struct zvec *v);

/** Step forward or back. \return false past either end (`p` unchanged) */
bool zvec_next(const struct zvec *v, struct zvec_pos *p);
bool zvec_prev(const struct zvec *v, struct zvec_pos *p);

/* ---- changing (the thread building generation `gen`) ---- */

/**
 * Replace the element at `p` (copies its chunk if an older generation
 * made it). \return 0 or -1 (out of memory; unchanged)
 */
int zvec_set(struct zvec *v, struct zvec_pos p, const void *elem, uint64_t gen,
	     zvec_retire_fn retire, void *ctx);

/**
 * Insert `elem` in order (`key` is its key for `cmp`). A full chunk is
 * split in two. \return 0 or -1 (out of memory; unchanged)
 */
int zvec_insert(struct zvec *v, const void *elem, const void *key, zvec_cmp_fn cmp, uint64_t gen,
		zvec_retire_fn retire, void *ctx);

/** Remove the element at `p`; an emptied chunk goes. \return 0 or -1 */
int zvec_remove(struct zvec *v, struct zvec_pos p, uint64_t gen, zvec_retire_fn retire,
		void *ctx);

/**
 * Let go of a vector: the chunks and the directory generation `gen` made
 * are freed (nobody else reads them), the older ones handed to `retire`,
 * or left to their owners when `retire` is NULL. The vector is empty after.
 */
void zvec_drop(struct zvec *v, uint64_t gen, zvec_retire_fn retire, void *ctx);

/** Free the directory and every chunk (the last version holding them). */
void zvec_free(struct zvec *v);

#endif
