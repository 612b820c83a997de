/* tsig.c: transaction signatures (RFC 8945) over wire messages. */
#include "dns/tsig.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "dns/query.h"

/* ---------------------------------------------------------------- algorithms */

struct alg_info {
	const char *digest; /* OpenSSL's name */
	size_t mac_size;
	const uint8_t *wire; /* RFC 8945 §6 names (RFC 4635 for SHA-2) */
	size_t wire_len;
};

#define W(s) (const uint8_t *)s, sizeof(s)
static const struct alg_info algs[] = {
    [CONF_HMAC_SHA1] = {"SHA1", 20, W("\x09hmac-sha1")},
    [CONF_HMAC_SHA224] = {"SHA224", 28, W("\x0bhmac-sha224")},
    [CONF_HMAC_SHA256] = {"SHA256", 32, W("\x0bhmac-sha256")},
    [CONF_HMAC_SHA384] = {"SHA384", 48, W("\x0bhmac-sha384")},
    [CONF_HMAC_SHA512] = {"SHA512", 64, W("\x0bhmac-sha512")},
};
#undef W
/* sizeof of a string literal counts its NUL: that is the root label. */
_Static_assert(sizeof(algs) / sizeof(algs[0]) == CONF_HMAC_SHA512 + 1, "an algorithm per enum");

size_t tsig_alg_wire(enum conf_tsig_alg alg, const uint8_t **out)
{
	*out = algs[alg].wire;
	return algs[alg].wire_len;
}

size_t tsig_mac_size(enum conf_tsig_alg alg)
{
	return algs[alg].mac_size;
}

/* ---------------------------------------------------------------- HMAC */

/* Fetched once: EVP_MAC_fetch looks providers up under a lock. */
static EVP_MAC *hmac_alg;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void)
{
	hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* A context keyed with `key`, or NULL (no memory, no HMAC provider). */
static EVP_MAC_CTX *hmac_new(const struct conf_key *key)
{
	pthread_once(&hmac_once, hmac_fetch);
	if (!hmac_alg)
		return NULL;
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(hmac_alg);
	if (!c)
		return NULL;
	OSSL_PARAM p[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)algs[key->alg].digest,
	                                     0),
	    OSSL_PARAM_construct_end(),
	};
	/* OpenSSL refuses an empty key pointer even when its length is 0 */
	static const uint8_t empty[1];
	const uint8_t *k = key->secret_len ? key->secret : empty;
	if (!EVP_MAC_init(c, k, key->secret_len, p)) {
		EVP_MAC_CTX_free(c);
		return NULL;
	}
	return c;
}

static void hmac_put(EVP_MAC_CTX *c, const void *p, size_t n)
{
	/* EVP_MAC_update fails only on a context misused, which we do not */
	if (n)
		(void)EVP_MAC_update(c, p, n);
}

static void hmac_u16(EVP_MAC_CTX *c, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	hmac_put(c, b, 2);
}

/* A MAC preceded by its length, as the next digest takes it (§4.3.3). */
static void hmac_prev_mac(EVP_MAC_CTX *c, const uint8_t *mac, uint16_t len)
{
	hmac_u16(c, len);
	hmac_put(c, mac, len);
}

static void put48(uint8_t *p, uint64_t v)
{
	for (int i = 5; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get48(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 6; i++)
		v = v << 8 | p[i];
	return v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The TSIG variables (§4.3.3) that are not the timers. */
struct tsig_vars {
	const uint8_t *name; /* lowercased wire */
	size_t name_len;
	const uint8_t *alg; /* lowercased wire */
	size_t alg_len;
	uint64_t time_signed;
	uint16_t fudge;
	uint16_t error;
	const uint8_t *other;
	uint16_t other_len;
};

/* Hash the variables: all of them, or the timers only (§5.3.1). */
static void hmac_vars(EVP_MAC_CTX *c, const struct tsig_vars *v, bool timers_only)
{
	uint8_t b[8];
	if (!timers_only) {
		hmac_put(c, v->name, v->name_len);
		/* class ANY, TTL 0 */
		static const uint8_t class_ttl[6] = {0, TSIG_CLASS_ANY, 0, 0, 0, 0};
		hmac_put(c, class_ttl, sizeof(class_ttl));
		hmac_put(c, v->alg, v->alg_len);
	}
	put48(b, v->time_signed);
	put16(b + 6, v->fudge);
	hmac_put(c, b, 8);
	if (!timers_only) {
		hmac_u16(c, v->error);
		hmac_u16(c, v->other_len);
		hmac_put(c, v->other, v->other_len);
	}
}

/* Finish a digest into mac (TSIG_MAC_MAX octets), free the context.
 * \return the MAC's length, or 0 on an OpenSSL failure */
static size_t hmac_end(EVP_MAC_CTX *c, uint8_t *mac)
{
	size_t n = 0;
	if (!EVP_MAC_final(c, mac, &n, TSIG_MAC_MAX))
		n = 0;
	EVP_MAC_CTX_free(c);
	return n;
}

/* ---------------------------------------------------------------- parsing */

/* A TSIG record found in a message; pointers into the wire. */
struct tsig_rr {
	size_t off;              /* where the record starts */
	uint8_t name[DNAME_MAX]; /* owner, decompressed and lowercased */
	size_t name_len;
	const uint8_t *alg; /* as on the wire (not compressed: RFC 3597 §4) */
	size_t alg_len;
	uint64_t time_signed;
	uint16_t fudge;
	const uint8_t *mac;
	uint16_t mac_len;
	uint16_t orig_id;
	uint16_t error;
	const uint8_t *other;
	uint16_t other_len;
};

/* Skip a possibly compressed name. \return the offset after it, or 0 */
static size_t skip_name(const uint8_t *w, size_t len, size_t off)
{
	while (off < len) {
		uint8_t l = w[off];
		if (l == 0)
			return off + 1;
		if ((l & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (l > LABEL_MAX)
			return 0; /* 0x40, 0x80: reserved label types */
		off += 1u + l;
	}
	return 0;
}

/* Read a possibly compressed name at off into out, lowercased.
 * \return its length, or 0 when malformed */
static size_t read_name(const uint8_t *w, size_t len, size_t off, uint8_t out[DNAME_MAX])
{
	size_t n = 0;
	/* every pointer must go backwards, so a name cannot loop; bounding the
	 * hops as well costs nothing */
	unsigned hops = 0;
	size_t limit = off;
	while (off < len) {
		uint8_t l = w[off];
		if ((l & 0xc0) == 0xc0) {
			if (off + 2 > len || ++hops > LABELS_MAX)
				return 0;
			size_t to = (size_t)(l & 0x3f) << 8 | w[off + 1];
			if (to >= limit)
				return 0;
			limit = off = to;
			continue;
		}
		if (l > LABEL_MAX || off + 1 + l > len || n + 1 + l > DNAME_MAX)
			return 0;
		out[n++] = l;
		if (l == 0)
			return n;
		for (unsigned i = 0; i < l; i++)
			out[n++] = dname_lc(w[off + 1 + i]);
		off += 1u + l;
	}
	return 0;
}

/* Find and parse the TSIG of a message (§5.2: the last record of the
 * additional section, the only one, class ANY, TTL 0).
 * \return 1 found, 0 none, -1 malformed (FORMERR) */
static int find_tsig(const uint8_t *w, size_t len, struct tsig_rr *t)
{
	if (len < DNS_HEADER_LEN)
		return -1;
	unsigned qd = get16(w + 4);
	unsigned rrs = (unsigned)get16(w + 6) + get16(w + 8) + get16(w + 10);
	unsigned ar = get16(w + 10);
	size_t off = DNS_HEADER_LEN;
	for (unsigned i = 0; i < qd; i++) {
		off = skip_name(w, len, off);
		if (!off || off + 4 > len)
			return -1;
		off += 4;
	}
	for (unsigned i = 0; i < rrs; i++) {
		size_t start = off;
		off = skip_name(w, len, off);
		if (!off || off + 10 > len)
			return -1;
		uint16_t type = get16(w + off);
		uint16_t rdlen = get16(w + off + 8);
		size_t rdata = off + 10;
		if (rdata + rdlen > len)
			return -1;
		off = rdata + rdlen;
		if (type != TSIG_RRTYPE)
			continue;
		/* anywhere but last in the additional section, or with octets
		 * after it: misplaced, or one of two */
		if (i + 1 != rrs || ar == 0 || off != len)
			return -1;
		uint32_t ttl = (uint32_t)get16(w + rdata - 6) << 16 | get16(w + rdata - 4);
		if (get16(w + rdata - 8) != TSIG_CLASS_ANY || ttl != 0)
			return -1;
		t->off = start;
		t->name_len = read_name(w, len, start, t->name);
		if (!t->name_len)
			return -1;
		const uint8_t *r = w + rdata, *end = w + off;
		t->alg = r;
		t->alg_len = dname_wire_len(r, rdlen);
		if (!t->alg_len)
			return -1;
		r += t->alg_len;
		if (end - r < 10)
			return -1;
		t->time_signed = get48(r);
		t->fudge = get16(r + 6);
		t->mac_len = get16(r + 8);
		r += 10;
		if (end - r < (ptrdiff_t)t->mac_len + 6)
			return -1;
		t->mac = r;
		r += t->mac_len;
		t->orig_id = get16(r);
		t->error = get16(r + 2);
		t->other_len = get16(r + 4);
		r += 6;
		if (end - r != t->other_len)
			return -1;
		t->other = r;
		return 1;
	}
	if (off != len)
		return -1; /* octets after the last record */
	return 0;
}

/* Hash a received message without its TSIG: header with the original ID
 * and ARCOUNT one less (§4.3.3, §5.4.1), then the rest up to the TSIG. */
static void hmac_received(EVP_MAC_CTX *c, const uint8_t *w, const struct tsig_rr *t)
{
	uint8_t h[DNS_HEADER_LEN];
	memcpy(h, w, DNS_HEADER_LEN);
	put16(h, t->orig_id);
	put16(h + 10, (uint16_t)(get16(h + 10) - 1));
	hmac_put(c, h, DNS_HEADER_LEN);
	hmac_put(c, w + DNS_HEADER_LEN, t->off - DNS_HEADER_LEN);
}

/* §5.2.2.1: a MAC longer than the hash, or shorter than max(10, hash/2),
 * is malformed. */
static bool mac_len_ok(size_t got, size_t full)
{
	size_t floor = full / 2 > 10 ? full / 2 : 10;
	return got <= full && got >= floor;
}

static bool time_ok(uint64_t now, uint64_t signed_at, uint16_t fudge)
{
	uint64_t d = now > signed_at ? now - signed_at : signed_at - now;
	return d <= fudge;
}

static void keep_rr(struct tsig_state *st, const struct tsig_rr *t)
{
	memcpy(st->name, t->name, t->name_len);
	st->name_len = (uint8_t)t->name_len;
	dname_lower(st->alg, t->alg, t->alg_len);
	st->alg_len = (uint8_t)t->alg_len;
	st->time_signed = t->time_signed;
	st->fudge = t->fudge;
	st->tsig_off = t->off;
}

static bool key_matches(const struct conf_key *k, const struct tsig_state *st)
{
	const uint8_t *alg;
	size_t alg_len = tsig_alg_wire(k->alg, &alg);
	return k->name_len == st->name_len && !memcmp(k->name, st->name, st->name_len) &&
	       alg_len == st->alg_len && !memcmp(alg, st->alg, alg_len);
}

/* ---------------------------------------------------------------- state */

void tsig_state_init(struct tsig_state *st)
{
	memset(st, 0, sizeof(*st));
}

void tsig_state_clear(struct tsig_state *st)
{
	EVP_MAC_CTX_free(st->hmac);
	st->hmac = NULL;
}

const struct conf_key *tsig_keyring_find(void *ctx, const uint8_t *name, size_t len)
{
	const struct tsig_keyring *kr = ctx;
	for (size_t i = 0; i < kr->nkeys; i++) {
		const struct conf_key *k = &kr->keys[i];
		if (k->name_len == len && !memcmp(k->name, name, len))
			return k;
	}
	return NULL;
}

/* ---------------------------------------------------------------- server */

enum tsig_result tsig_verify_request(struct tsig_state *st, const uint8_t *wire, size_t len,
                                     const struct tsig_keyring *keys, uint64_t now)
{
	struct tsig_rr t;
	tsig_state_init(st);
	st->tsig_off = len;
	int found = find_tsig(wire, len, &t);
	if (found == 0)
		return TSIG_NONE;
	if (found < 0)
		return TSIG_FORMERR;
	keep_rr(st, &t);

	/* §5.2.1: the key by name, and its algorithm */
	const struct conf_key *k = keys->lookup
	                               ? keys->lookup(keys->ctx, st->name, st->name_len)
	                               : tsig_keyring_find((void *)keys, st->name, st->name_len);
	if (!k || !key_matches(k, st)) {
		st->error = TSIG_ERR_BADKEY;
		return TSIG_BADKEY;
	}
	st->key = k;

	/* §5.2.2.1 before hashing: a malformed size is FORMERR, not BADSIG */
	size_t full = algs[k->alg].mac_size;
	if (!mac_len_ok(t.mac_len, full)) {
		/* answered FORMERR without a TSIG: nothing for tsig_sign_response */
		tsig_state_init(st);
		st->tsig_off = t.off;
		return TSIG_FORMERR;
	}

	EVP_MAC_CTX *c = hmac_new(k);
	if (!c) {
		/* no digest to compare with: the safe answer is "not signed
		 * right", never OK */
		st->error = TSIG_ERR_BADSIG;
		return TSIG_BADSIG;
	}
	hmac_received(c, wire, &t);
	struct tsig_vars v = {st->name, st->name_len, st->alg, st->alg_len, t.time_signed,
	                      t.fudge,  t.error,      t.other, t.other_len};
	hmac_vars(c, &v, false);
	uint8_t mac[TSIG_MAC_MAX];
	size_t n = hmac_end(c, mac);
	if (n != full || CRYPTO_memcmp(mac, t.mac, t.mac_len) != 0) {
		st->error = TSIG_ERR_BADSIG;
		return TSIG_BADSIG;
	}
	/* the answer's digest starts with the request MAC as received (§5.2.2.1:
	 * "the truncated request MAC") */
	memcpy(st->mac, t.mac, t.mac_len);
	st->mac_len = t.mac_len;

	/* §5.2.3: after the MAC, so that an unsigned clock probe is BADSIG */
	if (!time_ok(now, t.time_signed, t.fudge)) {
		st->error = TSIG_ERR_BADTIME;
		return TSIG_BADTIME;
	}
	size_t floor = full / 2 > 10 ? full / 2 : 10;
	if (keys->trunc_min > floor)
		floor = keys->trunc_min < full ? keys->trunc_min : full;
	if (t.mac_len < floor) {
		st->error = TSIG_ERR_BADTRUNC;
		return TSIG_BADTRUNC;
	}
	return TSIG_OK;
}

/* Append a TSIG record with the MAC given (mac_len may be 0) to buf. */
static int append_rr(uint8_t *buf, size_t *len, size_t size, const struct tsig_vars *v,
                     const uint8_t *mac, size_t mac_len)
{
	size_t rdlen = v->alg_len + 6 + 2 + 2 + mac_len + 2 + 2 + 2 + v->other_len;
	size_t need = v->name_len + 10 + rdlen;
	if (*len < DNS_HEADER_LEN)
		return -EINVAL;
	if (size < *len || size - *len < need)
		return -ENOSPC;
	uint16_t ar = get16(buf + 10);
	if (ar == UINT16_MAX)
		return -EOVERFLOW;
	uint8_t *p = buf + *len;
	memcpy(p, v->name, v->name_len);
	p += v->name_len;
	put16(p, TSIG_RRTYPE);
	put16(p + 2, TSIG_CLASS_ANY);
	memset(p + 4, 0, 4); /* TTL */
	put16(p + 8, (uint16_t)rdlen);
	p += 10;
	memcpy(p, v->alg, v->alg_len);
	p += v->alg_len;
	put48(p, v->time_signed);
	put16(p + 6, v->fudge);
	put16(p + 8, (uint16_t)mac_len);
	p += 10;
	if (mac_len) /* memcpy's pointers must not be NULL even for 0 octets */
		memcpy(p, mac, mac_len);
	p += mac_len;
	put16(p, get16(buf)); /* original ID: the message's own */
	put16(p + 2, v->error);
	put16(p + 4, v->other_len);
	p += 6;
	if (v->other_len)
		memcpy(p, v->other, v->other_len);
	p += v->other_len;
	put16(buf + 10, (uint16_t)(ar + 1));
	*len = (size_t)(p - buf);
	return 0;
}

/* Room check before hashing, so that a full buffer costs no HMAC and a
 * failed append never leaves the state advanced. */
static bool fits(const struct tsig_vars *v, size_t mac_len, size_t len, size_t size)
{
	size_t need = v->name_len + 10 + v->alg_len + 16 + mac_len + v->other_len;
	return size >= len && size - len >= need;
}

/* Room in `buf` for the TSIG (a MAC of `mac_len`) and one more record in
 * the additional section. \return 0, -ENOSPC or -EOVERFLOW */
static int sign_room(const struct tsig_vars *v, size_t mac_len, const uint8_t *buf, size_t len,
                     size_t size)
{
	if (!fits(v, mac_len, len, size))
		return -ENOSPC;
	if (get16(buf + 10) == UINT16_MAX)
		return -EOVERFLOW;
	return 0;
}

/* Finish digest `c` (whatever precedes the variables is in it), append the
 * TSIG with its MAC, and keep that MAC and `now` in `st` for the next
 * message of a stream. Frees `c`. Pre: sign_room said yes.
 * \return 0 or -ENOMEM (OpenSSL failed; nothing appended) */
static int sign_finish(struct tsig_state *st, EVP_MAC_CTX *c, const struct tsig_vars *v,
                       bool timers_only, size_t full, uint8_t *buf, size_t *len, size_t size,
                       uint64_t now)
{
	hmac_vars(c, v, timers_only);
	uint8_t mac[TSIG_MAC_MAX];
	size_t n = hmac_end(c, mac);
	if (n != full)
		return -ENOMEM;
	int r = append_rr(buf, len, size, v, mac, n);
	if (r != 0)
		return r; /* not reached: room was checked */
	memcpy(st->mac, mac, n);
	st->mac_len = (uint16_t)n;
	st->time_signed = now;
	st->unsigned_run = 0;
	return 0;
}

int tsig_sign_response(struct tsig_state *st, uint8_t *buf, size_t *len, size_t size, uint64_t now)
{
	if (*len < DNS_HEADER_LEN || !st->name_len)
		return -EINVAL;
	uint8_t other[TSIG_OTHER_MAX];
	struct tsig_vars v = {st->name,  st->name_len, st->alg, st->alg_len, now, TSIG_FUDGE,
	                      st->error, other,        0};
	switch (st->error) {
	case TSIG_ERR_BADKEY:
	case TSIG_ERR_BADSIG: {
		/* §5.3.2: not signed, MAC size 0, the request's time */
		v.time_signed = st->time_signed;
		int r = append_rr(buf, len, size, &v, NULL, 0);
		if (r != 0)
			return r;
		st->nmsg = 1; /* the only message: tsig_sign_next refuses to go on */
		return 0;
	}
	case TSIG_ERR_BADTIME:
		v.time_signed = st->time_signed;
		put48(other, now);
		v.other_len = 6;
		break;
	case 0:
	case TSIG_ERR_BADTRUNC:
		break;
	default:
		return -EINVAL;
	}
	if (!st->key)
		return -EINVAL;
	size_t full = algs[st->key->alg].mac_size;
	int r = sign_room(&v, full, buf, *len, size);
	if (r != 0)
		return r;
	EVP_MAC_CTX *c = hmac_new(st->key);
	if (!c)
		return -ENOMEM;
	hmac_prev_mac(c, st->mac, st->mac_len);
	hmac_put(c, buf, *len);
	r = sign_finish(st, c, &v, false, full, buf, len, size, now);
	if (r == 0)
		st->nmsg = 1;
	return r;
}

/* The digest of a later stream message: started with the previous MAC when
 * no unsigned message began it already. */
static EVP_MAC_CTX *stream_ctx(struct tsig_state *st)
{
	if (st->hmac)
		return st->hmac;
	EVP_MAC_CTX *c = hmac_new(st->key);
	if (c) {
		hmac_prev_mac(c, st->mac, st->mac_len);
		st->hmac = c;
	}
	return c;
}

int tsig_sign_next(struct tsig_state *st, uint8_t *buf, size_t *len, size_t size, uint64_t now)
{
	if (st->nmsg == 0)
		return tsig_sign_response(st, buf, len, size, now);
	if (!st->key || st->error || *len < DNS_HEADER_LEN)
		return -EINVAL;
	struct tsig_vars v = {st->name, st->name_len, st->alg, st->alg_len, now, TSIG_FUDGE,
	                      0,        NULL,         0};
	size_t full = algs[st->key->alg].mac_size;
	int r = sign_room(&v, full, buf, *len, size);
	if (r != 0)
		return r;
	EVP_MAC_CTX *c = stream_ctx(st);
	if (!c)
		return -ENOMEM;
	st->hmac = NULL;
	hmac_put(c, buf, *len);
	r = sign_finish(st, c, &v, true, full, buf, len, size, now);
	if (r == 0)
		st->nmsg++;
	return r;
}

int tsig_sign_skip(struct tsig_state *st, const uint8_t *msg, size_t len)
{
	if (st->nmsg == 0 || !st->key || st->error)
		return -EINVAL;
	if (st->unsigned_run >= TSIG_UNSIGNED_MAX)
		return -ERANGE;
	EVP_MAC_CTX *c = stream_ctx(st);
	if (!c)
		return -ENOMEM;
	hmac_put(c, msg, len);
	st->unsigned_run++;
	st->nmsg++;
	return 0;
}

/* ---------------------------------------------------------------- client */

int tsig_sign_request(struct tsig_state *st, const struct conf_key *key, uint8_t *buf, size_t *len,
                      size_t size, uint64_t now)
{
	tsig_state_init(st);
	if (*len < DNS_HEADER_LEN)
		return -EINVAL;
	const uint8_t *alg;
	size_t alg_len = tsig_alg_wire(key->alg, &alg);
	struct tsig_vars v = {key->name, key->name_len, alg, alg_len, now, TSIG_FUDGE, 0, NULL, 0};
	size_t full = algs[key->alg].mac_size;
	int r = sign_room(&v, full, buf, *len, size);
	if (r != 0)
		return r;
	EVP_MAC_CTX *c = hmac_new(key);
	if (!c)
		return -ENOMEM;
	hmac_put(c, buf, *len);
	r = sign_finish(st, c, &v, false, full, buf, len, size, now);
	if (r != 0)
		return r;
	st->key = key;
	memcpy(st->name, key->name, key->name_len);
	st->name_len = (uint8_t)key->name_len;
	memcpy(st->alg, alg, alg_len);
	st->alg_len = (uint8_t)alg_len;
	st->fudge = TSIG_FUDGE;
	return 0;
}

enum tsig_result tsig_verify_next(struct tsig_state *st, const uint8_t *wire, size_t len,
                                  uint64_t now)
{
	struct tsig_rr t;
	const struct conf_key *k = st->key;
	if (!k)
		return TSIG_BADKEY;
	int found = find_tsig(wire, len, &t);
	if (found < 0)
		return TSIG_FORMERR;
	if (found == 0) {
		st->tsig_off = len;
		if (st->nmsg == 0)
			return TSIG_NONE;
		/* §5.3.1: the 100th message after a signed one must be signed */
		if (st->unsigned_run >= TSIG_UNSIGNED_MAX)
			return TSIG_FORMERR;
		EVP_MAC_CTX *c = stream_ctx(st);
		if (!c)
			return TSIG_BADSIG;
		hmac_put(c, wire, len);
		st->unsigned_run++;
		st->nmsg++;
		return TSIG_UNSIGNED;
	}
	/* the key we asked with, by name and algorithm */
	struct tsig_state seen;
	tsig_state_init(&seen);
	keep_rr(&seen, &t);
	if (!key_matches(k, &seen))
		return TSIG_BADKEY;
	st->tsig_off = t.off;
	st->error = t.error;
	if (t.mac_len == 0 && (t.error == TSIG_ERR_BADKEY || t.error == TSIG_ERR_BADSIG))
		return t.error == TSIG_ERR_BADKEY ? TSIG_BADKEY : TSIG_BADSIG;
	size_t full = algs[k->alg].mac_size;
	if (!mac_len_ok(t.mac_len, full))
		return TSIG_FORMERR;

	bool first = st->nmsg == 0;
	EVP_MAC_CTX *c;
	if (first) {
		c = hmac_new(k);
		if (c)
			hmac_prev_mac(c, st->mac, st->mac_len);
	} else {
		c = stream_ctx(st);
		st->hmac = NULL;
	}
	if (!c)
		return TSIG_BADSIG;
	hmac_received(c, wire, &t);
	struct tsig_vars v = {seen.name, seen.name_len, seen.alg, seen.alg_len, t.time_signed,
	                      t.fudge,   t.error,       t.other,  t.other_len};
	hmac_vars(c, &v, !first);
	uint8_t mac[TSIG_MAC_MAX];
	size_t n = hmac_end(c, mac);
	if (n != full || CRYPTO_memcmp(mac, t.mac, t.mac_len) != 0)
		return TSIG_BADSIG;
	memcpy(st->mac, t.mac, t.mac_len);
	st->mac_len = t.mac_len;
	st->time_signed = t.time_signed;
	st->fudge = t.fudge;
	st->nmsg++;
	st->unsigned_run = 0;
	if (t.error == TSIG_ERR_BADTIME || !time_ok(now, t.time_signed, t.fudge))
		return TSIG_BADTIME;
	if (t.error == TSIG_ERR_BADTRUNC)
		return TSIG_BADTRUNC;
	if (t.error != 0)
		return TSIG_BADSIG; /* a signed error we do not know: not an answer */
	return TSIG_OK;
}

const char *tsig_result_str(enum tsig_result r)
{
	switch (r) {
	case TSIG_OK:
		return "OK";
	case TSIG_NONE:
		return "NONE";
	case TSIG_UNSIGNED:
		return "UNSIGNED";
	case TSIG_FORMERR:
		return "FORMERR";
	case TSIG_BADKEY:
		return "BADKEY";
	case TSIG_BADSIG:
		return "BADSIG";
	case TSIG_BADTIME:
		return "BADTIME";
	case TSIG_BADTRUNC:
		return "BADTRUNC";
	}
	return "?";
}
