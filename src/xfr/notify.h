/* notify.h: NOTIFY out (RFC 1996): a primary tells its secondaries that a
 * zone changed, over UDP, until each answers or the tries run out.
 *
 * A notifier owns one thread and two UDP sockets (IPv4 and IPv6, each
 * opened at its first use, nonblocking), so the caller (the main loop)
 * never waits on the network: notifier_send copies what it is given,
 * queues it and wakes the thread through an eventfd. The thread sleeps in
 * poll(2) until a reply arrives or the next try is due.
 *
 * One exchange per zone and target (a target is one address of a remote):
 * a new send for the same zone and address replaces the one in flight
 * (the later call wins: it describes the zone as it is now), so there are
 * never two NOTIFYs in flight for one zone at one address. Each try
 * retransmits the same message, same ID, so a late answer to an earlier
 * try still counts; a replaced exchange gets a new ID, so an answer to the
 * old serial is ignored.
 *
 * Tries are spaced by a fixed interval (Knot's way: tries × interval is
 * the longest an exchange lasts, easy to reason about), or doubling after
 * each try when `backoff` is set (BIND's way: kinder to a secondary that
 * is down for long).
 *
 * An answer counts when it comes from the target's address and port with
 * the ID, QR, opcode NOTIFY and the question (<zone> SOA IN, any case);
 * anything else is ignored (logged at a limited rate). For a signed
 * NOTIFY the answer must pass tsig_verify_next, else the try's result is
 * a TSIG failure (a good answer may still come before the next try).
 * NOERROR ends the exchange, and so do NOTIMP and REFUSED (retrying would
 * not change them); FORMERR, SERVFAIL and others are retried. When the
 * tries run out, the outcome is the last try's result: its RCODE, its TSIG
 * failure, its send error, or no answer. One log line per outcome.
 *
 * The message: opcode NOTIFY, AA, a random ID (getrandom), the question,
 * and the zone's SOA as the answer when given and when the message stays
 * within 512 octets (no EDNS); a TSIG when the target has a key.
 *
 * The result of each exchange stays until the zone is forgotten, for
 * `shoalctl zone-status` (notifier_status). */
#ifndef SHOAL_NOTIFY_H
#define SHOAL_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "dns/tsig.h"
#include "ops/conf.h"

#define NOTIFY_TRIES_DEFAULT 5       /* sends per exchange, the first included */
#define NOTIFY_INTERVAL_DEFAULT 2000 /* ms between two tries (BIND and Knot wait about that) */
#define NOTIFY_INTERVAL_MAX 3600000  /* ms: a backoff stops doubling at an hour */
#define NOTIFY_OPCODE 4              /* RFC 1996 §3.1 */

struct notify_cfg {
	unsigned tries;       /* 0: NOTIFY_TRIES_DEFAULT */
	unsigned interval_ms; /* 0: NOTIFY_INTERVAL_DEFAULT */
	bool backoff;         /* double the interval after each try */
	/* Source addresses to bind (a port of 0: any); len 0: the kernel's
	 * choice. Needed where a secondary's ACL names the primary's address. */
	struct sockaddr_storage source4;
	socklen_t source4_len;
	struct sockaddr_storage source6;
	socklen_t source6_len;
};

/** A zone to notify about. Copied by notifier_send. */
struct notify_zone {
	const uint8_t *apex; /* wire (any case) */
	size_t apex_len;
	uint32_t serial; /* for the logs and the status */
	/* The zone's SOA for the answer section (RFC 1996 §3.7: MAY; Knot and
	 * BIND send it, and a secondary may skip its SOA query when the serial
	 * is not newer). NULL: no answer section. */
	const uint8_t *soa_rdata; /* wire, uncompressed */
	uint16_t soa_rdlen;
	uint32_t soa_ttl;
};

/** One address of a remote. Copied by notifier_send (the key by value). */
struct notify_target {
	const char *remote_id; /* for the logs and the status */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	const struct conf_key *key; /* NULL: unsigned */
};

enum notify_outcome {
	NOTIFY_PENDING = 0, /* tries in progress */
	NOTIFY_ANSWERED,    /* NOERROR */
	NOTIFY_NOTIMP,      /* the remote does not do NOTIFY: no retry */
	NOTIFY_REFUSED,     /* not allowed (its ACL): no retry */
	NOTIFY_RCODE,       /* another RCODE to the last try (rcode) */
	NOTIFY_TIMEOUT,     /* no answer to the last try */
	NOTIFY_TSIG_FAILED, /* the answer to the last try failed TSIG (tsig) */
	NOTIFY_SEND_FAILED, /* the last try could not be sent (err) */
};

/** What notifier_status reports per target. Valid during the callback. */
struct notify_status {
	const char *remote_id;
	const struct sockaddr_storage *addr;
	socklen_t addr_len;
	bool keyed; /* sent with a TSIG key */
	uint32_t serial;
	unsigned tries; /* sent so far */
	enum notify_outcome outcome;
	uint8_t rcode;         /* of the answer, when there was one */
	enum tsig_result tsig; /* NOTIFY_TSIG_FAILED: why */
	int err;               /* NOTIFY_SEND_FAILED: errno */
	/* CLOCK_REALTIME of the outcome; while pending, of the last try
	 * (zero before the first) */
	struct timespec when;
};

typedef void (*notify_status_fn)(void *ctx, const struct notify_status *st);

struct notifier;

/**
 * Start a notifier thread.
 * \param cfg  NULL: every default; copied
 * \return the notifier, or NULL with errno set (ENOMEM, EMFILE, EAGAIN from
 *         pthread_create, ...)
 */
struct notifier *notifier_start(const struct notify_cfg *cfg);

/**
 * Queue a NOTIFY about `z` to every target; the first try goes at once.
 * Everything is copied: the caller may free its configuration on return.
 * An exchange in flight for the same zone and target address is replaced
 * (new serial, new ID, tries counted from zero).
 * Any thread; returns without waiting on the network.
 * \return 0; -EINVAL for a malformed apex, an unknown address family or
 *         an SOA rdata too long; -ENOMEM (targets before the failing one
 *         are queued)
 */
int notifier_send(struct notifier *n, const struct notify_zone *z,
                  const struct notify_target *targets, size_t ntargets);

/**
 * Report the last exchange with each target of the zone `apex` (wire, any
 * case), in no particular order. `fn` runs with the notifier's lock held:
 * it must be short and must not call notifier_* functions.
 * \return the number of targets reported
 */
size_t notifier_status(struct notifier *n, const uint8_t *apex, size_t apex_len,
                       notify_status_fn fn, void *ctx);

/**
 * Forget a zone (removed from the configuration): exchanges in flight are
 * dropped without a log line, their statuses freed.
 * \return the number of targets forgotten
 */
size_t notifier_forget(struct notifier *n, const uint8_t *apex, size_t apex_len);

/**
 * Stop the thread and free everything; exchanges in flight are dropped,
 * each with a log line (the first few; then a count). NULL is accepted.
 */
void notifier_stop(struct notifier *n);

/**
 * The targets of a zone's `notify:` list: one per address of each remote,
 * in order, with the remote's id and key (pointers into the conf: hand
 * them to notifier_send before the conf goes).
 * \return the number of targets there are, written up to `max` (call
 *         again with a larger array when it exceeds `max`; at most
 *         CONF_LIST_MAX × CONF_LIST_MAX)
 */
size_t notify_targets_of(const struct conf_remote *const *remotes, size_t nremotes,
                         struct notify_target *out, size_t max);

/** "answered", "pending", "REFUSED", "no answer after 5 tries", ... for
 * logs and shoalctl: one phrase per status. \return buf */
const char *notify_status_str(const struct notify_status *st, char *buf, size_t size);

/** "NOERROR", "SERVFAIL", ... or "RCODE12". */
const char *notify_rcode_str(unsigned rcode, char *buf, size_t size);

#endif
