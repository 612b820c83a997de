/* cookie.h: DNS Cookies (RFC 7873) with the interoperable server cookie
 * of RFC 9018: Version 1, Reserved 0, a 32-bit timestamp and an 8-octet
 * SipHash-2-4 (libsodium's crypto_shorthash_siphash24) of
 * ClientCookie | Version | Reserved | Timestamp | ClientIP under a 16-octet
 * secret. Two secrets are kept: the current one makes cookies, and the
 * previous one still verifies them for a rollover (RFC 9018 §5). */
#ifndef SHOAL_COOKIE_H
#define SHOAL_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ops/options.h"

#define COOKIE_CLIENT_LEN 8	/* RFC 7873 §4.1 */
#define COOKIE_SERVER_MIN 8	/* RFC 7873 §4.2 */
#define COOKIE_SERVER_MAX 32
#define COOKIE_SERVER_LEN 16	/* what we make: RFC 9018 §4 */
#define COOKIE_SECRET_LEN 16	/* SipHash-2-4 key */
#define COOKIE_VERSION 1
/* RFC 9018 §4.3: a cookie is good for an hour after its timestamp, may be
 * 5 minutes ahead of our clock (clock skew in an anycast set), and is
 * replaced by a fresh one once it is half an hour old. */
#define COOKIE_LIFETIME 3600
#define COOKIE_SKEW 300
#define COOKIE_REFRESH 1800

struct cookie_keys {
	uint8_t cur[COOKIE_SECRET_LEN];
	uint8_t prev[COOKIE_SECRET_LEN];
	bool have_prev;
};

enum cookie_verdict {
	COOKIE_CLIENT_ONLY = 0, /* no server cookie: give one */
	COOKIE_BAD,		/* not ours, expired, or another algorithm: give a new one */
	COOKIE_VALID,		/* ours and young: echo it as it came */
	COOKIE_VALID_RENEW,	/* ours, but old or made with the previous secret: renew */
};

/**
 * The RFC 9018 server cookie for `client` (8 octets) from address `ip`
 * (AF_INET or AF_INET6; the port is not used) at `ts` (seconds since the
 * epoch, modulo 2^32).
 * \param[out] out  16 octets: 0x01 0 0 0, timestamp (net order), hash
 */
void cookie_make(uint8_t out[COOKIE_SERVER_LEN], const uint8_t client[COOKIE_CLIENT_LEN],
		 uint32_t ts, const struct sockaddr *ip, const uint8_t secret[COOKIE_SECRET_LEN]);

/**
 * Judge the COOKIE option of a query: `opt` is its whole payload (client
 * cookie and server cookie, 8 or 16-40 octets, as query_parse checked).
 */
enum cookie_verdict cookie_check(const uint8_t *opt, size_t len, const struct sockaddr *ip,
				 uint32_t now, const struct cookie_keys *keys);

/**
 * The COOKIE option payload of a response: the client cookie, then the
 * query's server cookie when it is VALID, else a fresh one.
 * \param[out] out   up to 40 octets
 * \param[out] valid whether the query's server cookie was good (either kind)
 * \return payload length (24 or, for an echoed cookie, 8 + its length)
 */
size_t cookie_answer(uint8_t *out, const uint8_t *opt, size_t len, const struct sockaddr *ip,
		     uint32_t now, const struct cookie_keys *keys, bool *valid);

/** Parse 32 hex digits (surrounding white space allowed). \return 0 or -1 */
int cookie_secret_parse(const char *hex, uint8_t out[COOKIE_SECRET_LEN]);

/* ---- the published secrets (RCU, as zonedb: read under the read lock) ---- */

/** The keys in force, or NULL before cookie_setup (then no cookies are answered). */
const struct cookie_keys *cookie_keys_current(void);

/** Make `secret` current and the current one previous, then free the old
 * keys after a grace period. \return 0 or -ENOMEM */
int cookie_keys_rotate(const uint8_t secret[COOKIE_SECRET_LEN]);

/** Free the published keys (at exit, when no reader is left). */
void cookie_keys_free(void);

/**
 * Start-up: the secret from --cookie-secret, --cookie-secret-file or, when
 * neither is given, random. \return 0 or -1 (err filled)
 */
int cookie_setup(const struct options *opt, char *err, size_t errsize);

/**
 * SIGHUP: with --cookie-secret-file, read it again; a new secret becomes
 * current and the one before stays valid as previous. Logs what happened;
 * on a read error the keys stay as they are.
 */
void cookie_reload(const struct options *opt);

#endif
