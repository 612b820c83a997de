/* rrl.c: response rate limiting: a shared, fixed table of GCRA buckets. */
#include "guard/rrl.h"

#include <netinet/in.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A bucket: tag (24 bits, never 0) | TAT (40 bits of ticks, modulo 2^40:
 * wraps every 12.7 days, see `debt` below). 0 is an unused bucket. */
#define TAT_BITS 40
#define TAT_MASK ((UINT64_C(1) << TAT_BITS) - 1)

struct rrl {
	_Atomic uint64_t *b;
	size_t n;
	uint64_t interval; /* ticks per response: 2^20 / rate */
	uint64_t window;   /* ticks a bucket may run ahead of now: the burst */
	uint64_t tol;	   /* window - interval: the GCRA limit */
	unsigned slip;
	uint8_t v4mask[4];
	uint8_t v6mask[16];
	uint8_t key[crypto_shorthash_siphash24_KEYBYTES];
};

static void prefix_mask(uint8_t *m, size_t len, unsigned bits)
{
	for (size_t i = 0; i < len; i++) {
		unsigned b = bits > 8 * i ? bits - 8 * (unsigned)i : 0;
		m[i] = b >= 8 ? 0xff : (uint8_t)(0xff00 >> b);
	}
}

struct rrl *rrl_new(const struct rrl_cfg *cfg)
{
	if (sodium_init() < 0 || cfg->rate == 0)
		return NULL;
	struct rrl *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	size_t n = RRL_WAYS;
	while (n < cfg->size && n < RRL_SIZE_MAX)
		n <<= 1;
	t->n = n;
	t->b = aligned_alloc(64, n * sizeof(*t->b) < 64 ? 64 : n * sizeof(*t->b));
	if (!t->b) {
		free(t);
		return NULL;
	}
	/* Touch every page now: a worker must not fault them in one by one
	 * under a flood, and the memory bound is real from the start. */
	memset((void *)t->b, 0, n * sizeof(*t->b));
	t->interval = (UINT64_C(1) << RRL_TICK_SHIFT) / cfg->rate;
	if (t->interval == 0)
		t->interval = 1;
	t->window = (uint64_t)(cfg->window ? cfg->window : 1) << RRL_TICK_SHIFT;
	if (t->window < t->interval)
		t->window = t->interval;
	t->tol = t->window - t->interval;
	t->slip = cfg->slip;
	prefix_mask(t->v4mask, sizeof(t->v4mask), cfg->v4_prefix);
	prefix_mask(t->v6mask, sizeof(t->v6mask), cfg->v6_prefix);
	randombytes_buf(t->key, sizeof(t->key));
	return t;
}

void rrl_free(struct rrl *t)
{
	if (!t)
		return;
	free((void *)t->b);
	free(t);
}

size_t rrl_buckets(const struct rrl *t)
{
	return t->n;
}

size_t rrl_bytes(const struct rrl *t)
{
	return t->n * sizeof(*t->b);
}

uint64_t rrl_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ((uint64_t)ts.tv_sec << RRL_TICK_SHIFT) |
	       (((uint64_t)ts.tv_nsec << RRL_TICK_SHIFT) / 1000000000u);
}

/* The key: network | family | kind | name hash, under the secret. */
static uint64_t key_hash(const struct rrl *t, const struct sockaddr *addr, unsigned kind,
			 uint64_t name)
{
	uint8_t in[32] = {0};
	const uint8_t *a;
	if (addr->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (memcmp(a, mapped, 12) == 0) {
			a += 12; /* an IPv4 client on a dual-stack socket */
			goto v4;
		}
		for (unsigned i = 0; i < 16; i++)
			in[i] = a[i] & t->v6mask[i];
		in[16] = 6;
	} else {
		a = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
v4:
		for (unsigned i = 0; i < 4; i++)
			in[i] = a[i] & t->v4mask[i];
		in[16] = 4;
	}
	in[17] = (uint8_t)kind;
	memcpy(in + 24, &name, 8);
	uint8_t h[8];
	crypto_shorthash_siphash24(h, in, sizeof(in), t->key);
	uint64_t v;
	memcpy(&v, h, 8);
	return v;
}

/* How far the bucket's TAT is ahead of now, in ticks: 0 when it is in the
 * past (the bucket is full). Both are taken modulo 2^40, so the difference
 * is read as a signed 40-bit number; a TAT can legitimately be at most
 * `window` ahead, so anything further is a bucket idle for so long that
 * its time wrapped: it is full too. */
static uint64_t debt(const struct rrl *t, uint64_t e, uint64_t now)
{
	int64_t d = (int64_t)(((e - now) & TAT_MASK) << (64 - TAT_BITS)) >> (64 - TAT_BITS);
	if (d <= 0 || (uint64_t)d > t->window)
		return 0;
	return (uint64_t)d;
}

/* One limited response in `slip` is slipped, chosen at random (as Knot
 * does): a counter per thread would be deterministic, and two flows that
 * alternate on one thread would see one of them get every slip and the
 * other none. xorshift64* on the thread's own state: no shared write. */
static bool slip_roll(uint64_t *state, unsigned slip)
{
	uint64_t x = *state ? *state : UINT64_C(0x9e3779b97f4a7c15);
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return ((x * UINT64_C(0x2545f4914f6cdd1d)) >> 32) % slip == 0;
}

enum rrl_action rrl_account(struct rrl *t, const struct sockaddr *addr, unsigned kind,
			    uint64_t name, uint64_t now, uint64_t *slip_state)
{
	uint64_t h = key_hash(t, addr, kind, name);
	uint64_t tag = h >> TAT_BITS;
	if (tag == 0)
		tag = 1;
	_Atomic uint64_t *grp = t->b + ((h & (t->n - 1)) & ~(uint64_t)(RRL_WAYS - 1));
	now &= TAT_MASK;

	/* A lost race means another worker moved one of these buckets in
	 * the meantime: look again. Lock-free: a retry means someone else
	 * made progress, and the count stays exact under contention. */
	for (;;) {
		uint64_t e[RRL_WAYS];
		unsigned way = RRL_WAYS;
		for (unsigned w = 0; w < RRL_WAYS; w++) {
			e[w] = atomic_load_explicit(&grp[w], memory_order_relaxed);
			if (e[w] >> TAT_BITS == tag && way == RRL_WAYS)
				way = w;
		}
		if (way == RRL_WAYS) {
			/* A new key: it takes the bucket with the least debt,
			 * an unused or idle one if there is (as Knot replaces
			 * old entries). Its first response passes. */
			uint64_t best = UINT64_MAX;
			for (unsigned w = 0; w < RRL_WAYS; w++) {
				uint64_t d = e[w] ? debt(t, e[w], now) : 0;
				if (d < best || (d == best && e[w] == 0)) {
					best = d;
					way = w;
				}
			}
			uint64_t nv = tag << TAT_BITS | ((now + t->interval) & TAT_MASK);
			if (atomic_compare_exchange_strong_explicit(&grp[way], &e[way], nv,
								    memory_order_relaxed,
								    memory_order_relaxed))
				return RRL_PASS;
			continue;
		}
		uint64_t d = debt(t, e[way], now);
		if (d > t->tol) {
			/* Over the rate. Nothing is written: a limited
			 * response costs the bucket nothing, so a flood gets
			 * `rate` answers a second, no fewer. */
			return t->slip && slip_roll(slip_state, t->slip) ? RRL_SLIP : RRL_DROP;
		}
		uint64_t nv = tag << TAT_BITS | ((now + d + t->interval) & TAT_MASK);
		if (atomic_compare_exchange_strong_explicit(&grp[way], &e[way], nv,
							    memory_order_relaxed, memory_order_relaxed))
			return RRL_PASS;
	}
}

size_t rrl_udp(struct rrl *t, uint64_t *slip_state, const struct query *q,
	       const struct answer_info *info, uint8_t *buf, size_t len,
	       const struct sockaddr *addr, struct stats *st)
{
	/* RFC 7873 §5.2.5 / BIND, Knot: a client that returned our cookie
	 * cannot be a spoofed address, so it is not limited. */
	if (info->cookie_ok)
		return len;
	uint64_t name;
	enum answer_kind kind = answer_kind(q, info, &name);
	switch (rrl_account(t, addr, kind, name, rrl_now(), slip_state)) {
	case RRL_PASS:
		return len;
	case RRL_SLIP:
		stats_add(&st->rrl_slipped, 1);
		return answer_slip(q, info, buf, len);
	case RRL_DROP:
	default:
		stats_add(&st->rrl_dropped, 1);
		return 0;
	}
}
