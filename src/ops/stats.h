/* stats.h: per-thread counters.
 *
 * Each worker owns one `struct stats` and is its only writer, so counting
 * is a plain load and store (relaxed atomics: no lock prefix, no shared
 * cache line); readers sum over all workers when asked. */
#ifndef SHOAL_STATS_H
#define SHOAL_STATS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

/* Query types counted by name; everything else is "other". */
#define STATS_QTYPES 16
#define STATS_RCODES 24 /* 0..15, BADVERS (16) and BADCOOKIE (23) */

struct stats {
	_Atomic uint64_t queries;    /* datagrams and TCP messages received */
	_Atomic uint64_t responses;
	_Atomic uint64_t dropped;    /* not answered (QR set, too short) */
	_Atomic uint64_t truncated;  /* TC set */
	_Atomic uint64_t edns;
	_Atomic uint64_t tcp_conns;  /* TCP connections accepted */
	_Atomic uint64_t tcp_refused; /* over the per-worker limit */
	_Atomic uint64_t rcode[STATS_RCODES];
	_Atomic uint64_t qtype[STATS_QTYPES];
	_Atomic uint64_t send_errors;
	_Atomic uint64_t rrl_dropped;	/* UDP responses dropped by rate limiting */
	_Atomic uint64_t rrl_slipped;	/* ... sent truncated instead (slip) */
	_Atomic uint64_t xfr_started;	/* AXFR/IXFR answered with a zone or its differences */
	_Atomic uint64_t xfr_done;	/* ... whose last message went out */
	_Atomic uint64_t xfr_refused;	/* refused: acl, limit, or over UDP */
	_Atomic uint64_t tsig_failed;	/* signed requests answered NOTAUTH (BADKEY, BADSIG, ...) */
} __attribute__((aligned(64)));

enum stats_proto { STATS_UDP = 0, STATS_TCP = 1 };

static inline void stats_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline uint64_t stats_get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/** Bucket index for a query type. */
unsigned stats_qtype_index(uint16_t qtype);
/** Name of a bucket ("A", "AAAA", ..., "other"). */
const char *stats_qtype_name(unsigned idx);
/** Name of an rcode ("NOERROR", ...); NULL for unnamed ones. */
const char *stats_rcode_name(unsigned rcode);

/** One worker's counters; registry filled at start-up, read by anyone. */
struct stats_worker {
	struct stats s;
	enum stats_proto proto;
	unsigned index;
};

/** Allocate `n` worker slots (before threads start). NULL on failure. */
struct stats_worker *stats_alloc(unsigned n);

/** Append the Prometheus text exposition of every worker to f. */
void stats_write_prometheus(FILE *f, const struct stats_worker *w, unsigned n);

/** Every counter summed per protocol, as text for people: one counter a
 * line ("queries  udp 120  tcp 4"), then by rcode and by qtype. */
void stats_write_text(FILE *f, const struct stats_worker *w, unsigned n);

/** The same as one JSON object: {"udp": {...}, "tcp": {...},
 * "rcode": {"udp": {"NOERROR": n, ...}, "tcp": {...}}, "qtype": {"A": n, ...}}. */
void stats_write_json(FILE *f, const struct stats_worker *w, unsigned n);

/** A one-line summary (totals, and the per-thread query spread). */
void stats_log_summary(const struct stats_worker *w, unsigned n);

#endif
