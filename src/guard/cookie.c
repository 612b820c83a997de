/* cookie.c: RFC 7873 / RFC 9018 server cookies. */
#include "guard/cookie.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu/urcu-memb.h>

#include "ops/log.h"

/* The hash input: ClientCookie(8) | Version(1) | Reserved(3) |
 * Timestamp(4) | ClientIP(4 or 16), RFC 9018 §4.4. `hdr` is the 8 octets
 * Version..Timestamp as they are (or will be) on the wire. */
static void cookie_hash(uint8_t out[8], const uint8_t client[COOKIE_CLIENT_LEN],
			const uint8_t hdr[8], const struct sockaddr *ip,
			const uint8_t secret[COOKIE_SECRET_LEN])
{
	uint8_t in[COOKIE_CLIENT_LEN + 8 + 16];
	size_t n = COOKIE_CLIENT_LEN + 8;
	memcpy(in, client, COOKIE_CLIENT_LEN);
	memcpy(in + COOKIE_CLIENT_LEN, hdr, 8);
	if (ip->sa_family == AF_INET6) {
		memcpy(in + n, &((const struct sockaddr_in6 *)ip)->sin6_addr, 16);
		n += 16;
	} else {
		memcpy(in + n, &((const struct sockaddr_in *)ip)->sin_addr, 4);
		n += 4;
	}
	crypto_shorthash_siphash24(out, in, n, secret);
}

void cookie_make(uint8_t out[COOKIE_SERVER_LEN], const uint8_t client[COOKIE_CLIENT_LEN],
		 uint32_t ts, const struct sockaddr *ip, const uint8_t secret[COOKIE_SECRET_LEN])
{
	out[0] = COOKIE_VERSION;
	out[1] = out[2] = out[3] = 0;
	out[4] = (uint8_t)(ts >> 24);
	out[5] = (uint8_t)(ts >> 16);
	out[6] = (uint8_t)(ts >> 8);
	out[7] = (uint8_t)ts;
	cookie_hash(out + 8, client, out, ip, secret);
}

enum cookie_verdict cookie_check(const uint8_t *opt, size_t len, const struct sockaddr *ip,
				 uint32_t now, const struct cookie_keys *keys)
{
	if (len == COOKIE_CLIENT_LEN)
		return COOKIE_CLIENT_ONLY;
	const uint8_t *sc = opt + COOKIE_CLIENT_LEN;
	if (len != COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN || sc[0] != COOKIE_VERSION)
		return COOKIE_BAD; /* another server's format (§4.2: "not ours") */
	uint32_t ts = (uint32_t)sc[4] << 24 | (uint32_t)sc[5] << 16 | (uint32_t)sc[6] << 8 | sc[7];
	/* Serial number arithmetic (RFC 1982): the timestamp wraps in 2106. */
	int32_t age = (int32_t)(now - ts);
	if (age > COOKIE_LIFETIME || age < -COOKIE_SKEW)
		return COOKIE_BAD;
	/* The Reserved octets are hashed as received (§4.4: a server does
	 * not check them, the hash does). */
	uint8_t h[8];
	cookie_hash(h, opt, sc, ip, keys->cur);
	if (sodium_memcmp(h, sc + 8, 8) == 0)
		return age > COOKIE_REFRESH ? COOKIE_VALID_RENEW : COOKIE_VALID;
	if (keys->have_prev) {
		cookie_hash(h, opt, sc, ip, keys->prev);
		if (sodium_memcmp(h, sc + 8, 8) == 0)
			return COOKIE_VALID_RENEW; /* §5: move the client to the new secret */
	}
	return COOKIE_BAD;
}

size_t cookie_answer(uint8_t *out, const uint8_t *opt, size_t len, const struct sockaddr *ip,
		     uint32_t now, const struct cookie_keys *keys, bool *valid)
{
	enum cookie_verdict v = cookie_check(opt, len, ip, now, keys);
	*valid = v == COOKIE_VALID || v == COOKIE_VALID_RENEW;
	if (v == COOKIE_VALID) {
		memcpy(out, opt, len); /* §4.3: young enough to keep */
		return len;
	}
	memcpy(out, opt, COOKIE_CLIENT_LEN);
	cookie_make(out + COOKIE_CLIENT_LEN, opt, now, ip, keys->cur);
	return COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN;
}

int cookie_secret_parse(const char *hex, uint8_t out[COOKIE_SECRET_LEN])
{
	while (isspace((unsigned char)*hex))
		hex++;
	for (size_t i = 0; i < COOKIE_SECRET_LEN; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	for (hex += 2 * COOKIE_SECRET_LEN; *hex; hex++)
		if (!isspace((unsigned char)*hex))
			return -1;
	return 0;
}

/* ---- published keys ---- */

static struct cookie_keys *g_keys;

const struct cookie_keys *cookie_keys_current(void)
{
	return rcu_dereference(g_keys);
}

int cookie_keys_rotate(const uint8_t secret[COOKIE_SECRET_LEN])
{
	struct cookie_keys *k = calloc(1, sizeof(*k)), *old = g_keys;
	if (!k)
		return -ENOMEM;
	memcpy(k->cur, secret, COOKIE_SECRET_LEN);
	if (old) {
		memcpy(k->prev, old->cur, COOKIE_SECRET_LEN);
		k->have_prev = true;
	}
	old = rcu_xchg_pointer(&g_keys, k);
	if (old) {
		urcu_memb_synchronize_rcu();
		sodium_memzero(old, sizeof(*old));
		free(old);
	}
	return 0;
}

void cookie_keys_free(void)
{
	struct cookie_keys *old = rcu_xchg_pointer(&g_keys, NULL);
	if (old) {
		sodium_memzero(old, sizeof(*old));
		free(old);
	}
}

static int read_secret_file(const char *path, uint8_t out[COOKIE_SECRET_LEN], char *err,
			    size_t errsize)
{
	char line[256];
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errsize, "--cookie-secret-file %s: %s", path, strerror(errno));
		return -1;
	}
	bool ok = fgets(line, sizeof(line), f) && cookie_secret_parse(line, out) == 0;
	fclose(f);
	if (!ok) {
		snprintf(err, errsize, "--cookie-secret-file %s: expected 32 hex digits", path);
		return -1;
	}
	return 0;
}

int cookie_setup(const struct options *opt, char *err, size_t errsize)
{
	uint8_t s[COOKIE_SECRET_LEN];
	int ret = -1;
	if (sodium_init() < 0) {
		snprintf(err, errsize, "libsodium failed to initialise");
		return -1;
	}
	if (opt->cookie_secret) {
		if (cookie_secret_parse(opt->cookie_secret, s) < 0) {
			snprintf(err, errsize, "--cookie-secret: expected 32 hex digits");
			goto out;
		}
	} else if (opt->cookie_secret_file) {
		if (read_secret_file(opt->cookie_secret_file, s, err, errsize) < 0)
			goto out;
	} else {
		randombytes_buf(s, sizeof(s)); /* good until restart; RFC 9018 §5 */
	}
	if (cookie_keys_rotate(s) < 0) {
		snprintf(err, errsize, "out of memory");
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(s, sizeof(s));
	return ret;
}

void cookie_reload(const struct options *opt)
{
	uint8_t s[COOKIE_SECRET_LEN];
	char err[512];
	const struct cookie_keys *k = g_keys; /* only this thread writes it */
	if (!opt->cookie_secret_file)
		return;
	if (read_secret_file(opt->cookie_secret_file, s, err, sizeof(err)) < 0) {
		log_err("%s; the cookie secret stays as it was", err);
	} else if (k && sodium_memcmp(s, k->cur, COOKIE_SECRET_LEN) == 0) {
		log_debug("cookie secret unchanged");
	} else if (cookie_keys_rotate(s) < 0) {
		log_err("cookie secret: out of memory; the secret stays as it was");
	} else {
		log_info("cookie secret rotated: the previous one stays valid until the next rotation");
	}
	sodium_memzero(s, sizeof(s));
}
