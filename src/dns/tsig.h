/* tsig.h: transaction signatures (TSIG, RFC 8945) over wire messages.
 *
 * Everything works on the caller's wire buffers as they are: a received
 * message is hashed where it lies (its header copied once to put back the
 * original ID and take the TSIG out of ARCOUNT), and a TSIG is appended to
 * a message being sent. Nothing is parsed into records and nothing is
 * encoded again, so the MAC covers exactly the octets on the wire.
 *
 * One struct tsig_state follows one exchange:
 *   server: tsig_verify_request, then tsig_sign_response for the answer, and
 *           for an AXFR/IXFR stream (§5.3.1) tsig_sign_next for every later
 *           message (tsig_sign_skip for one left unsigned);
 *   client: tsig_sign_request, then tsig_verify_next for every message of
 *           the answer, first included (unsigned ones in between accepted
 *           and hashed into the next digest, at most TSIG_UNSIGNED_MAX).
 * The HMAC is OpenSSL's EVP_MAC. A state holds an OpenSSL context only
 * between calls of a stream with unsigned messages: tsig_state_clear frees
 * it, and is safe on any state that tsig_state_init initialised.
 *
 * Times are seconds since the epoch, given by the caller (tests move them). */
#ifndef SHOAL_TSIG_H
#define SHOAL_TSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dname.h"
#include "ops/conf.h"

#define TSIG_RRTYPE 250      /* RFC 8945 §4.2 */
#define TSIG_CLASS_ANY 255   /* §4.2: the TSIG's CLASS */
#define TSIG_MAC_MAX 64      /* HMAC-SHA512's output, the longest we compute */
#define TSIG_FUDGE 300       /* §10: the recommended fudge, in seconds */
#define TSIG_UNSIGNED_MAX 99 /* §5.3.1: unsigned messages between two signed ones */
#define TSIG_OTHER_MAX 6     /* §5.2.3: the only Other Data defined, BADTIME's time */

/* TSIG error codes (the TSIG's Error field; RFC 8945 §3, IANA DNS RCODEs).
 * The message's own RCODE for all of them is NOTAUTH (9). */
#define TSIG_ERR_BADSIG 16
#define TSIG_ERR_BADKEY 17
#define TSIG_ERR_BADTIME 18
#define TSIG_ERR_BADTRUNC 22
#define TSIG_RCODE_NOTAUTH 9

/** Octets a TSIG record takes at most with this key: owner, fixed fields,
 * algorithm name, a full MAC and BADTIME's Other Data. Keep this much free
 * in a buffer that tsig_sign_* will append to. */
#define TSIG_RR_MAX (DNAME_MAX + 10 + DNAME_MAX + 16 + TSIG_MAC_MAX + TSIG_OTHER_MAX)

enum tsig_result {
	TSIG_OK = 0,   /* signed, and the MAC and the time are right */
	TSIG_NONE,     /* no TSIG record: an unsigned message */
	TSIG_UNSIGNED, /* tsig_verify_next: an unsigned message inside a stream,
	                * accepted and hashed into the next signed one's digest */
	TSIG_FORMERR,  /* TSIG misplaced, repeated or malformed; MAC size out of
	                * the bounds of §5.2.2.1; a stream unsigned for too long */
	TSIG_BADKEY,   /* unknown key, or the key's algorithm differs (§5.2.1) */
	TSIG_BADSIG,   /* the MAC does not match (§5.2.2) */
	TSIG_BADTIME,  /* MAC right, time signed outside now ± fudge (§5.2.3) */
	TSIG_BADTRUNC, /* MAC right but truncated below local policy (§5.2.4) */
};

/** Finds a key by name. `name` is lowercased wire of `len` octets.
 * \return the key, or NULL when there is none by that name */
typedef const struct conf_key *(*tsig_key_fn)(void *ctx, const uint8_t *name, size_t len);

/** Where tsig_verify_request looks for keys: an array (a struct conf's
 * keys), or a callback when `lookup` is set. */
struct tsig_keyring {
	const struct conf_key *keys;
	size_t nkeys;
	tsig_key_fn lookup; /* non-NULL: used instead of keys[] */
	void *ctx;          /* lookup's */
	/* Local policy of §5.2.4: the shortest truncated MAC accepted, in
	 * octets; 0 or anything under the RFC's floor max(10, hash/2) means
	 * that floor (so BADTRUNC needs a policy above it). */
	size_t trunc_min;
};

struct tsig_state {
	const struct conf_key *key; /* NULL when the request's key is unknown */
	/* Of the last TSIG read (a request's, or a response's in a stream);
	 * a server echoes name and algorithm in its BADKEY answer. Lowercased. */
	uint8_t name[DNAME_MAX];
	uint8_t name_len;
	uint8_t alg[DNAME_MAX];
	uint8_t alg_len;
	uint64_t time_signed; /* 48 bits on the wire */
	uint16_t fudge;
	uint16_t error;  /* server: the TSIG error its answer carries
	                  * (TSIG_ERR_*, 0); client: the one received */
	size_t tsig_off; /* offset of the TSIG record in the last message
	                  * verified: the message's length without it */
	/* The last MAC: the request's (as received, truncated or not) and then
	 * each signed message's; the next digest starts with it (§4.3.3). */
	uint8_t mac[TSIG_MAC_MAX];
	uint16_t mac_len;
	unsigned nmsg;         /* response messages signed or verified so far */
	unsigned unsigned_run; /* unsigned messages since the last signed one */
	void *hmac;            /* EVP_MAC_CTX of a digest spanning unsigned messages */
};

/** Zero a state. */
void tsig_state_init(struct tsig_state *st);

/** Free what a state holds (an HMAC context in progress); it can then be
 * initialised again. */
void tsig_state_clear(struct tsig_state *st);

/** Wire form of an algorithm's name ("\x0bhmac-sha256\0"), \return its
 * length; `*out` points to static storage. */
size_t tsig_alg_wire(enum conf_tsig_alg alg, const uint8_t **out);

/** Octets of the algorithm's full MAC (20 for SHA-1 ... 64 for SHA-512). */
size_t tsig_mac_size(enum conf_tsig_alg alg);

/**
 * A tsig_key_fn over an array: `ctx` is a struct tsig_keyring whose keys[]
 * is searched by name (case-insensitive: names are kept lowercased).
 */
const struct conf_key *tsig_keyring_find(void *ctx, const uint8_t *name, size_t len);

/**
 * Server side: check the TSIG of a received request (RFC 8945 §5.2): it
 * must be the last record of the additional section, the only one, class
 * ANY, TTL 0; its key known with the same algorithm; its MAC (over the
 * message without the TSIG, ARCOUNT one less, the original ID in place,
 * and the TSIG variables) right; `now` within time signed ± fudge (checked
 * after the MAC); its truncation allowed by `keys->trunc_min`.
 * \param[out] st  initialised by the call (tsig_state_init need not come
 *                 first, but a previous content is not freed: clear it);
 *                 key, name, alg, times, the request MAC, error (the TSIG
 *                 error the answer must carry) and tsig_off.
 * \return TSIG_NONE (st->tsig_off = len), TSIG_OK, or an error: FORMERR
 *         (answer FORMERR without TSIG), BADKEY / BADSIG (answer NOTAUTH,
 *         tsig_sign_response adds the unsigned TSIG of §5.3.2), BADTIME /
 *         BADTRUNC (answer NOTAUTH, signed).
 */
enum tsig_result tsig_verify_request(struct tsig_state *st, const uint8_t *wire, size_t len,
                                     const struct tsig_keyring *keys, uint64_t now);

/**
 * Server side: append the TSIG of the answer to a request that
 * tsig_verify_request returned OK, BADKEY, BADSIG, BADTIME or BADTRUNC
 * for. The MAC covers the request MAC (length-prefixed), the message as it
 * is in buf (ID and ARCOUNT before the TSIG), and every TSIG variable.
 * OK: time signed = now. BADKEY, BADSIG: MAC size 0, not signed, the
 * request's time (§5.3.2). BADTIME: signed, the request's time, Other Data
 * = now (§5.2.3, as Knot and BIND do). BADTRUNC: signed.
 * The message's RCODE is the caller's (NOTAUTH on a TSIG error).
 * Pre: buf holds a message of *len >= 12 octets.
 * \param[in,out] len  the message's length; the TSIG's added on success
 * \return 0; -ENOSPC when `size` cannot take the record (buf unchanged);
 *         -EINVAL when the state has nothing to answer with (FORMERR,
 *         NONE); -EOVERFLOW when ARCOUNT is already 65535.
 */
int tsig_sign_response(struct tsig_state *st, uint8_t *buf, size_t *len, size_t size, uint64_t now);

/**
 * Server side, a stream (AXFR, IXFR; §5.3.1): sign the next message. Its
 * MAC covers the previous MAC (length-prefixed), any messages given to
 * tsig_sign_skip since, this message, and the timers (time signed = now,
 * fudge) only. The first message of a stream (st->nmsg == 0) is signed as
 * tsig_sign_response signs it.
 * Pre: the request verified TSIG_OK. \return as tsig_sign_response
 */
int tsig_sign_next(struct tsig_state *st, uint8_t *buf, size_t *len, size_t size, uint64_t now);

/**
 * Server side: leave the next message of a stream unsigned; it is hashed
 * into the next signed message's digest.
 * Pre: at least one message was signed (st->nmsg > 0).
 * \return 0; -ERANGE when TSIG_UNSIGNED_MAX messages are already unsigned
 *         (this one must be signed); -EINVAL before the first message;
 *         -ENOMEM when OpenSSL cannot allocate its context
 */
int tsig_sign_skip(struct tsig_state *st, const uint8_t *msg, size_t len);

/**
 * Client side: sign a request with `key` (§4.3.3: the message and every
 * TSIG variable; error 0, no Other Data, fudge TSIG_FUDGE).
 * \param[out] st  initialised by the call: key, the request's MAC and time
 * \return 0 or as tsig_sign_response
 */
int tsig_sign_request(struct tsig_state *st, const struct conf_key *key, uint8_t *buf, size_t *len,
                      size_t size, uint64_t now);

/**
 * Client side: check one message of the answer to a request signed by
 * tsig_sign_request, in order. The first (st->nmsg == 0) must be signed,
 * over the request MAC and every variable; later ones over the previous
 * MAC, the unsigned messages since, the message and the timers (§5.3.1).
 * An error answer of §5.3.2 (TSIG error BADKEY/BADSIG, MAC size 0) gives
 * that result with st->error set. A signed BADTIME answer whose MAC is
 * right gives TSIG_BADTIME (its Other Data is the server's time).
 * \return TSIG_OK; TSIG_UNSIGNED (a later message without a TSIG: accepted
 *         for now); TSIG_NONE (the first message is unsigned: reject it);
 *         TSIG_FORMERR (malformed, or more than TSIG_UNSIGNED_MAX unsigned
 *         in a row); TSIG_BADKEY (another key or algorithm), TSIG_BADSIG,
 *         TSIG_BADTIME.
 * The stream is complete and authenticated only when its last message gave
 * TSIG_OK (st->unsigned_run == 0).
 */
enum tsig_result tsig_verify_next(struct tsig_state *st, const uint8_t *wire, size_t len,
                                  uint64_t now);

/** "OK", "BADSIG", ... for logs. */
const char *tsig_result_str(enum tsig_result r);

#endif
