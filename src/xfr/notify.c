/* notify.c: NOTIFY out (RFC 1996), one thread per notifier.
 *
 * Every exchange (zone × target address) is an entry in a hash table keyed
 * by the apex, so that a zone's targets share a chain (notifier_status and
 * notifier_forget walk one chain) and a send finds its entry without a
 * scan. Entries in flight are also in the `pending` array, which is all
 * the thread looks at for timers and answers: a server with ten thousand
 * zones has only the few that changed lately there.
 *
 * One mutex guards everything; the thread holds it while it works (never
 * while it sleeps in poll), the caller while it copies a send in or reads
 * the statuses. Sockets are nonblocking, so a sendto under the lock never
 * waits. */
#include "xfr/notify.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dns/dname.h"
#include "net/sockaddr.h"
#include "ops/log.h"

#define DNS_HDR 12
#define TYPE_SOA 6
#define CLASS_IN 1
#define RCODE_NOERROR 0
#define RCODE_NOTIMP 4
#define RCODE_REFUSED 5
/* RFC 1035 §4.2.1: a UDP message without EDNS fits in 512 octets. The SOA
 * in the answer is optional (RFC 1996 §3.7), so it goes when it would
 * push the message past that. */
#define UDP_PLAIN_MAX 512
/* The longest SOA rdata: two names and five 32-bit fields (RFC 1035 §3.3.13). */
#define SOA_RDATA_MAX (2 * DNAME_MAX + 20)
/* Lines naming each exchange dropped by notifier_stop before one count. */
#define STOP_LOG_MAX 10
/* Datagrams read per wake-up before the timers get their turn. */
#define DRAIN_BATCH 64
/* Ignored datagrams logged per second (spoofs, strays, late answers). */
#define IGNORED_LOG_BURST 5

struct ntf_entry {
	struct ntf_entry *next; /* hash chain */
	uint64_t hash;
	uint8_t apex[DNAME_MAX]; /* lowercased wire */
	size_t apex_len;
	char zone[DNAME_STR_MAX]; /* for logs */
	char *remote_id;
	char addr_text[INET6_ADDRSTRLEN + 8]; /* "192.0.2.1@53" */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	bool has_key;
	struct conf_key key; /* id and where cleared: they pointed into the caller's conf */

	/* The exchange. */
	uint32_t serial;
	uint16_t id;  /* host order */
	uint8_t *msg; /* the NOTIFY, unsigned in [0, base_len), TSIG after */
	size_t base_len, msg_len, msg_cap;
	uint64_t signed_at; /* seconds since the epoch, of the TSIG in msg */
	struct tsig_state tsig;
	unsigned tries;
	uint64_t interval_ms; /* before the next try (doubles with backoff) */
	uint64_t next_ms;     /* monotonic: the next try, or the end of the last */
	bool pending;
	size_t pidx; /* in pending[] while pending */

	/* The last try's result while pending; the outcome after. */
	enum notify_outcome outcome;
	enum notify_outcome try_res;
	uint8_t rcode;
	enum tsig_result tsig_res;
	int err;
	struct timespec when;
};

struct notifier {
	struct notify_cfg cfg;
	pthread_t thread;
	pthread_mutex_t lock;
	int wake_fd;  /* eventfd: a send queued, or stop */
	int fd4, fd6; /* -1 until first used; the thread's only */
	bool stop;

	struct ntf_entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t nentries;
	struct ntf_entry **pending;
	size_t npending, pending_cap;

	struct log_limiter ignored_lim;
	uint8_t rbuf[65535]; /* one datagram read */
};

/* ---------------------------------------------------------------- helpers */

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* FNV-1a over the lowercased apex: the table is small and off the query
 * path, so a simple hash does. */
static uint64_t apex_hash(const uint8_t *apex, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ apex[i]) * 0x100000001b3u;
	return h;
}

/* "192.0.2.1@53", "2001:db8::1@53" (Knot's way of writing an address and
 * port in logs). */
static const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;
		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		port = ntohs(s->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)ss;
		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		port = ntohs(s->sin6_port);
	}
	snprintf(buf, size, "%s@%u", a, port);
	return buf;
}

const char *notify_rcode_str(unsigned rcode, char *buf, size_t size)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
	                                    "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
	                                    "NXRRSET", "NOTAUTH", "NOTZONE"};
	if (rcode < sizeof(names) / sizeof(names[0]))
		snprintf(buf, size, "%s", names[rcode]);
	else
		snprintf(buf, size, "RCODE%u", rcode);
	return buf;
}

const char *notify_status_str(const struct notify_status *st, char *buf, size_t size)
{
	char r[16];
	switch (st->outcome) {
	case NOTIFY_PENDING:
		snprintf(buf, size, "pending, %u tr%s so far", st->tries,
		         st->tries == 1 ? "y" : "ies");
		break;
	case NOTIFY_ANSWERED:
		if (st->tries == 1)
			snprintf(buf, size, "answered");
		else
			snprintf(buf, size, "answered at try %u", st->tries);
		break;
	case NOTIFY_NOTIMP:
		snprintf(buf, size, "NOTIMP: the remote does not take NOTIFY");
		break;
	case NOTIFY_REFUSED:
		snprintf(buf, size, "REFUSED");
		break;
	case NOTIFY_RCODE:
		snprintf(buf, size, "%s after %u tr%s", notify_rcode_str(st->rcode, r, sizeof(r)),
		         st->tries, st->tries == 1 ? "y" : "ies");
		break;
	case NOTIFY_TIMEOUT:
		snprintf(buf, size, "no answer after %u tr%s", st->tries,
		         st->tries == 1 ? "y" : "ies");
		break;
	case NOTIFY_TSIG_FAILED:
		snprintf(buf, size, "TSIG failure (%s) after %u tr%s",
		         st->tsig == TSIG_NONE ? "unsigned answer" : tsig_result_str(st->tsig),
		         st->tries, st->tries == 1 ? "y" : "ies");
		break;
	case NOTIFY_SEND_FAILED:
		snprintf(buf, size, "cannot send (%s) after %u tr%s", strerror(st->err), st->tries,
		         st->tries == 1 ? "y" : "ies");
		break;
	default:
		snprintf(buf, size, "?");
	}
	return buf;
}

static void entry_status(const struct ntf_entry *e, struct notify_status *st)
{
	memset(st, 0, sizeof(*st));
	st->remote_id = e->remote_id;
	st->addr = &e->addr;
	st->addr_len = e->addr_len;
	st->keyed = e->has_key;
	st->serial = e->serial;
	st->tries = e->tries;
	st->outcome = e->outcome;
	st->rcode = e->rcode;
	st->tsig = e->tsig_res;
	st->err = e->err;
	st->when = e->when;
}

static void log_outcome(const struct ntf_entry *e)
{
	struct notify_status st;
	char what[128];
	entry_status(e, &st);
	notify_status_str(&st, what, sizeof(what));
	log_msg(e->outcome == NOTIFY_ANSWERED ? LOG_LVL_INFO : LOG_LVL_WARN,
	        "notify: zone %s serial %u to %s (%s): %s", e->zone, e->serial, e->remote_id,
	        e->addr_text, what);
}

/* ---------------------------------------------------------------- entries */

static void entry_free(struct ntf_entry *e)
{
	if (!e)
		return;
	tsig_state_clear(&e->tsig);
	/* the secret is not left behind in freed memory */
	explicit_bzero(&e->key, sizeof(e->key));
	free(e->msg);
	free(e->remote_id);
	free(e);
}

static void pending_add(struct notifier *n, struct ntf_entry *e)
{
	if (e->pending)
		return;
	/* pending_cap was grown by the caller before it changed anything */
	e->pidx = n->npending;
	n->pending[n->npending++] = e;
	e->pending = true;
}

static void pending_remove(struct notifier *n, struct ntf_entry *e)
{
	if (!e->pending)
		return;
	struct ntf_entry *last = n->pending[--n->npending];
	n->pending[e->pidx] = last;
	last->pidx = e->pidx;
	e->pending = false;
}

static int pending_reserve(struct notifier *n, size_t more)
{
	if (n->npending + more <= n->pending_cap)
		return 0;
	size_t cap = n->pending_cap ? n->pending_cap : 16;
	while (cap < n->npending + more)
		cap *= 2;
	struct ntf_entry **p = realloc(n->pending, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	n->pending = p;
	n->pending_cap = cap;
	return 0;
}

static int table_grow(struct notifier *n)
{
	size_t nb = n->nbuckets * 2;
	struct ntf_entry **b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n->nbuckets; i++) {
		struct ntf_entry *e = n->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			size_t k = e->hash & (nb - 1);
			e->next = b[k];
			b[k] = e;
		}
	}
	free(n->buckets);
	n->buckets = b;
	n->nbuckets = nb;
	return 0;
}

static struct ntf_entry *entry_find(struct notifier *n, uint64_t h, const uint8_t *apex,
                                    size_t apex_len, const struct sockaddr_storage *addr)
{
	for (struct ntf_entry *e = n->buckets[h & (n->nbuckets - 1)]; e; e = e->next)
		if (e->hash == h && e->apex_len == apex_len && !memcmp(e->apex, apex, apex_len) &&
		    sockaddr_equal(&e->addr, addr))
			return e;
	return NULL;
}

/* The NOTIFY of RFC 1996 §3.1-3.7, unsigned: opcode NOTIFY, AA, the
 * question <apex> SOA IN, the SOA in the answer section when given and
 * when it fits in 512 octets with the TSIG to come. */
static int build_msg(struct ntf_entry *e, const struct notify_zone *z)
{
	size_t base = DNS_HDR + e->apex_len + 4;
	size_t tsig_len = 0;
	if (e->has_key) {
		const uint8_t *alg;
		tsig_len = e->key.name_len + 10 + tsig_alg_wire(e->key.alg, &alg) + 16 +
		           tsig_mac_size(e->key.alg);
	}
	bool soa = z->soa_rdata && base + 12 + z->soa_rdlen + tsig_len <= UDP_PLAIN_MAX;
	size_t len = base + (soa ? 12u + z->soa_rdlen : 0);
	size_t cap = len + TSIG_RR_MAX;
	uint8_t *m = malloc(cap);
	if (!m)
		return -ENOMEM;
	put16(m, e->id);
	m[2] = (uint8_t)(NOTIFY_OPCODE << 3) | 0x04; /* QR 0, opcode, AA 1 */
	m[3] = 0;
	put16(m + 4, 1);
	put16(m + 6, soa ? 1 : 0);
	put16(m + 8, 0);
	put16(m + 10, 0);
	uint8_t *p = m + DNS_HDR;
	memcpy(p, e->apex, e->apex_len);
	p += e->apex_len;
	put16(p, TYPE_SOA);
	put16(p + 2, CLASS_IN);
	p += 4;
	if (soa) {
		put16(p, 0xc000 | DNS_HDR); /* the owner: a pointer to the question's name */
		put16(p + 2, TYPE_SOA);
		put16(p + 4, CLASS_IN);
		put32(p + 6, z->soa_ttl);
		put16(p + 10, z->soa_rdlen);
		memcpy(p + 12, z->soa_rdata, z->soa_rdlen);
		p += 12 + z->soa_rdlen;
	}
	free(e->msg);
	e->msg = m;
	e->base_len = e->msg_len = (size_t)(p - m);
	e->msg_cap = cap;
	e->signed_at = 0;
	return 0;
}

/* Reset an entry to a new exchange: new serial, new ID, no try yet. */
static int entry_begin(struct notifier *n, struct ntf_entry *e, const struct notify_zone *z)
{
	uint16_t id = dns_random_id();
	/* a replaced exchange's answer must not match the new one */
	if (e->msg && id == e->id)
		id ^= 0x8000;
	e->id = id;
	int r = build_msg(e, z);
	if (r != 0)
		return r;
	tsig_state_clear(&e->tsig);
	tsig_state_init(&e->tsig);
	e->serial = z->serial;
	e->tries = 0;
	e->interval_ms = n->cfg.interval_ms;
	e->next_ms = 0; /* due now */
	e->outcome = NOTIFY_PENDING;
	e->try_res = NOTIFY_TIMEOUT;
	e->rcode = 0;
	e->tsig_res = TSIG_OK;
	e->err = 0;
	memset(&e->when, 0, sizeof(e->when));
	return 0;
}

/* ---------------------------------------------------------------- the thread */

static int socket_for(struct notifier *n, int family)
{
	int *fd = family == AF_INET ? &n->fd4 : &n->fd6;
	if (*fd >= 0)
		return *fd;
	int s = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (family == AF_INET6) {
		/* IPv4 targets use the IPv4 socket; this one takes only IPv6 */
		int one = 1;
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	const struct sockaddr_storage *src = family == AF_INET ? &n->cfg.source4 : &n->cfg.source6;
	socklen_t src_len = family == AF_INET ? n->cfg.source4_len : n->cfg.source6_len;
	if (src_len && bind(s, (const struct sockaddr *)src, src_len) < 0) {
		/* each try fails with this errno; the outcome's line says it */
		int err = errno;
		char a[INET6_ADDRSTRLEN + 8];
		log_debug("notify: cannot bind the source address %s: %s",
		          addr_str(src, a, sizeof(a)), strerror(err));
		close(s);
		return -err;
	}
	*fd = s;
	return s;
}

static void finish(struct notifier *n, struct ntf_entry *e, enum notify_outcome o)
{
	e->outcome = o;
	clock_gettime(CLOCK_REALTIME, &e->when);
	pending_remove(n, e);
	/* the HMAC context, if any, is not needed until the next exchange */
	tsig_state_clear(&e->tsig);
	tsig_state_init(&e->tsig);
	log_outcome(e);
}

static void send_try(struct notifier *n, struct ntf_entry *e, uint64_t now)
{
	uint64_t secs = (uint64_t)time(NULL);
	e->tries++;
	e->try_res = NOTIFY_TIMEOUT;
	clock_gettime(CLOCK_REALTIME, &e->when);
	e->next_ms = now + e->interval_ms;
	if (n->cfg.backoff && e->interval_ms < NOTIFY_INTERVAL_MAX)
		e->interval_ms = e->interval_ms * 2 < NOTIFY_INTERVAL_MAX ? e->interval_ms * 2
		                                                          : NOTIFY_INTERVAL_MAX;

	/* Tries retransmit one signed message; it is signed again only when
	 * its time would soon leave the receiver's fudge window (§5.2.3),
	 * which a backoff of many tries can reach. */
	if (e->has_key && (e->signed_at == 0 || secs > e->signed_at + TSIG_FUDGE / 2)) {
		e->msg_len = e->base_len;
		put16(e->msg + 10, 0); /* ARCOUNT without the previous TSIG */
		tsig_state_clear(&e->tsig);
		int r = tsig_sign_request(&e->tsig, &e->key, e->msg, &e->msg_len, e->msg_cap, secs);
		if (r != 0) {
			e->try_res = NOTIFY_SEND_FAILED;
			e->err = -r;
			return;
		}
		e->signed_at = secs;
	}
	int fd = socket_for(n, e->addr.ss_family);
	if (fd < 0) {
		e->try_res = NOTIFY_SEND_FAILED;
		e->err = -fd;
		return;
	}
	/* EAGAIN (a full socket buffer) is a failed try like any other: the
	 * next one comes after the interval. */
	if (sendto(fd, e->msg, e->msg_len, 0, (const struct sockaddr *)&e->addr, e->addr_len) < 0) {
		e->try_res = NOTIFY_SEND_FAILED;
		e->err = errno;
		log_debug("notify: zone %s serial %u to %s (%s): send: %s", e->zone, e->serial,
		          e->remote_id, e->addr_text, strerror(e->err));
		return;
	}
	log_debug("notify: zone %s serial %u to %s (%s): try %u, ID %u", e->zone, e->serial,
	          e->remote_id, e->addr_text, e->tries, e->id);
}

/* Tries that are due; \return ms until the next one is, or -1 for none. */
static int run_timers(struct notifier *n)
{
	uint64_t now = mono_ms();
	uint64_t next = UINT64_MAX;
	for (size_t i = 0; i < n->npending;) {
		struct ntf_entry *e = n->pending[i];
		if (e->next_ms <= now) {
			if (e->tries >= n->cfg.tries) {
				finish(n, e, e->try_res); /* pending[i] is another now */
				continue;
			}
			send_try(n, e, now);
		}
		if (e->next_ms < next)
			next = e->next_ms;
		i++;
	}
	if (next == UINT64_MAX)
		return -1;
	/* +1: poll rounds down, and waking a millisecond early would loop */
	uint64_t wait = next - now + 1;
	return wait > 60000 ? 60000 : (int)wait;
}

static void ignored(struct notifier *n, const struct sockaddr_storage *from, const char *why)
{
	char a[INET6_ADDRSTRLEN + 8];
	log_limited(&n->ignored_lim, IGNORED_LOG_BURST, LOG_LVL_INFO,
	            "notify: ignored a datagram from %s: %s", addr_str(from, a, sizeof(a)), why);
}

/* One datagram: an answer to an exchange in flight, or ignored. The match
 * is RFC 1996 §4.7's and §3.6's: the target's address and port, the ID,
 * QR, opcode NOTIFY, and the question (<apex> SOA IN, any case). */
static void on_datagram(struct notifier *n, const uint8_t *w, size_t len,
                        const struct sockaddr_storage *from)
{
	if (len < DNS_HDR) {
		ignored(n, from, "shorter than a header");
		return;
	}
	if (!(w[2] & 0x80) || ((w[2] >> 3) & 0x0f) != NOTIFY_OPCODE) {
		ignored(n, from, "not a NOTIFY answer");
		return;
	}
	if (get16(w + 4) != 1) {
		ignored(n, from, "not one question");
		return;
	}
	size_t qlen = dname_wire_len(w + DNS_HDR, len - DNS_HDR);
	if (qlen == 0 || DNS_HDR + qlen + 4 > len) {
		ignored(n, from, "malformed question");
		return;
	}
	const uint8_t *q = w + DNS_HDR;
	if (get16(q + qlen) != TYPE_SOA || get16(q + qlen + 2) != CLASS_IN) {
		ignored(n, from, "question not SOA IN");
		return;
	}
	uint8_t apex[DNAME_MAX];
	dname_lower(apex, q, qlen);
	uint16_t id = get16(w);
	uint64_t h = apex_hash(apex, qlen);
	struct ntf_entry *e = entry_find(n, h, apex, qlen, from);
	if (e && !e->pending && e->id == id && e->tries > 1) {
		/* an answer to an earlier try of an exchange already
		 * answered: retransmission makes these, nobody forged it */
		log_debug("notify: zone %s serial %u to %s (%s): a late answer", e->zone, e->serial,
		          e->remote_id, e->addr_text);
		return;
	}
	if (!e || !e->pending || e->id != id || e->tries == 0) {
		ignored(n, from, "no NOTIFY in flight with that ID and zone");
		return;
	}

	if (e->has_key) {
		/* On a copy: a forged answer must not spoil the state the
		 * real one is checked with. A first message's check holds
		 * no HMAC context, so the copy is shallow and safe. */
		assert(e->tsig.hmac == NULL && e->tsig.nmsg == 0); /* never verified in place */
		struct tsig_state st = e->tsig;
		enum tsig_result r = tsig_verify_next(&st, w, len, (uint64_t)time(NULL));
		tsig_state_clear(&st);
		if (r != TSIG_OK) {
			/* The try counts as made, with this result; a good
			 * answer may still come before the next. */
			e->try_res = NOTIFY_TSIG_FAILED;
			e->tsig_res = r;
			log_debug("notify: zone %s serial %u to %s (%s): answer failed TSIG: %s",
			          e->zone, e->serial, e->remote_id, e->addr_text,
			          tsig_result_str(r));
			if (e->tries >= n->cfg.tries)
				finish(n, e, NOTIFY_TSIG_FAILED);
			return;
		}
	}
	uint8_t rcode = w[3] & 0x0f;
	e->rcode = rcode;
	switch (rcode) {
	case RCODE_NOERROR:
		finish(n, e, NOTIFY_ANSWERED);
		return;
	case RCODE_NOTIMP:
		/* the remote will not take NOTIFY, now or in a second */
		finish(n, e, NOTIFY_NOTIMP);
		return;
	case RCODE_REFUSED:
		/* its ACL: retrying changes nothing until its configuration does */
		finish(n, e, NOTIFY_REFUSED);
		return;
	default:
		/* FORMERR, SERVFAIL (a secondary still loading), ...: the
		 * next try may fare better; after the last one, this is it. */
		e->try_res = NOTIFY_RCODE;
		if (e->tries >= n->cfg.tries)
			finish(n, e, NOTIFY_RCODE);
	}
}

static void drain(struct notifier *n, int fd)
{
	/* A bounded batch, so that a flood of datagrams on the socket cannot
	 * keep the timers (and notifier_stop) waiting: the loop comes back
	 * to poll, which reports the rest at once. */
	for (unsigned i = 0; i < DRAIN_BATCH; i++) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t r =
		    recvfrom(fd, n->rbuf, sizeof(n->rbuf), 0, (struct sockaddr *)&from, &flen);
		if (r < 0) {
			/* EAGAIN: drained. ECONNREFUSED (an ICMP port
			 * unreachable for an earlier send) and the like say
			 * nothing we act on: the try times out. */
			if (errno == EINTR || errno == ECONNREFUSED || errno == EHOSTUNREACH ||
			    errno == ENETUNREACH)
				continue;
			return;
		}
		pthread_mutex_lock(&n->lock);
		on_datagram(n, n->rbuf, (size_t)r, &from);
		pthread_mutex_unlock(&n->lock);
	}
}

static void drop_pending(struct notifier *n)
{
	size_t dropped = 0;
	while (n->npending) {
		struct ntf_entry *e = n->pending[n->npending - 1];
		if (dropped < STOP_LOG_MAX)
			log_info(
			    "notify: zone %s serial %u to %s (%s): dropped at shutdown after %u "
			    "tr%s",
			    e->zone, e->serial, e->remote_id, e->addr_text, e->tries,
			    e->tries == 1 ? "y" : "ies");
		pending_remove(n, e);
		dropped++;
	}
	if (dropped > STOP_LOG_MAX)
		log_info("notify: %zu more NOTIFYs dropped at shutdown", dropped - STOP_LOG_MAX);
}

static void *notifier_main(void *arg)
{
	struct notifier *n = arg;
	for (;;) {
		pthread_mutex_lock(&n->lock);
		if (n->stop) {
			drop_pending(n);
			pthread_mutex_unlock(&n->lock);
			break;
		}
		int timeout = run_timers(n);
		pthread_mutex_unlock(&n->lock);

		/* fd4 and fd6 change only in this thread (socket_for) */
		struct pollfd p[3] = {{.fd = n->wake_fd, .events = POLLIN},
		                      {.fd = n->fd4, .events = POLLIN},
		                      {.fd = n->fd6, .events = POLLIN}};
		/* a negative fd is skipped by poll(2) */
		int r = poll(p, 3, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			log_err("notify: poll: %s", strerror(errno));
			usleep(100 * 1000); /* not a busy loop should it persist */
			continue;
		}
		if (p[0].revents) {
			uint64_t v;
			ssize_t rd = read(n->wake_fd, &v, sizeof(v));
			(void)rd;
		}
		if (p[1].revents)
			drain(n, n->fd4);
		if (p[2].revents)
			drain(n, n->fd6);
	}
	return NULL;
}

/* ---------------------------------------------------------------- API */

size_t notify_targets_of(const struct conf_remote *const *remotes, size_t nremotes,
                         struct notify_target *out, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < nremotes; i++) {
		const struct conf_remote *r = remotes[i];
		for (size_t j = 0; j < r->naddr; j++) {
			if (k < max) {
				struct notify_target *t = &out[k];
				memset(t, 0, sizeof(*t));
				t->remote_id = r->id;
				memcpy(&t->addr, &r->addr[j].ss, sizeof(t->addr));
				t->addr_len = r->addr[j].len;
				t->key = r->key;
			}
			k++;
		}
	}
	return k;
}

struct notifier *notifier_start(const struct notify_cfg *cfg)
{
	struct notifier *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	if (cfg)
		n->cfg = *cfg;
	if (!n->cfg.tries)
		n->cfg.tries = NOTIFY_TRIES_DEFAULT;
	if (!n->cfg.interval_ms)
		n->cfg.interval_ms = NOTIFY_INTERVAL_DEFAULT;
	n->fd4 = n->fd6 = -1;
	n->nbuckets = 64;
	n->buckets = calloc(n->nbuckets, sizeof(*n->buckets));
	int err = ENOMEM;
	if (!n->buckets)
		goto fail;
	n->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (n->wake_fd < 0) {
		err = errno;
		goto fail;
	}
	pthread_mutex_init(&n->lock, NULL);
	/* The thread takes no signal, whenever it is started: they are the
	 * main loop's (shoal.c reads them from a signalfd), and a handler
	 * run here would only interrupt poll. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&n->thread, NULL, notifier_main, n);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		pthread_mutex_destroy(&n->lock);
		close(n->wake_fd);
		goto fail;
	}
	return n;
fail:
	free(n->buckets);
	free(n);
	errno = err;
	return NULL;
}

/* An IPv4-mapped IPv6 address (::ffff:192.0.2.1) as the IPv4 address it
 * is: the IPv6 socket is IPV6_V6ONLY, and the answer comes from the IPv4
 * address, which must compare equal to the target's. */
static const struct notify_target *unmap_v4(const struct notify_target *t,
                                            struct notify_target *tmp)
{
	const struct sockaddr_in6 *a6 = (const void *)&t->addr;
	if (t->addr.ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
		return t;
	*tmp = *t;
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = a6->sin6_port};
	memcpy(&a4.sin_addr, &a6->sin6_addr.s6_addr[12], 4);
	memset(&tmp->addr, 0, sizeof(tmp->addr));
	memcpy(&tmp->addr, &a4, sizeof(a4));
	tmp->addr_len = sizeof(a4);
	return tmp;
}

static void wake(struct notifier *n)
{
	uint64_t one = 1;
	/* EAGAIN only when the counter is at its maximum: awake anyway */
	ssize_t w = write(n->wake_fd, &one, sizeof(one));
	(void)w;
}

int notifier_send(struct notifier *n, const struct notify_zone *z,
                  const struct notify_target *targets, size_t ntargets)
{
	if (!z->apex || dname_wire_len(z->apex, z->apex_len) != z->apex_len)
		return -EINVAL;
	if (z->soa_rdata && z->soa_rdlen > SOA_RDATA_MAX)
		return -EINVAL;
	for (size_t i = 0; i < ntargets; i++)
		if (!sockaddr_family_ok(&targets[i].addr, targets[i].addr_len) ||
		    (targets[i].key && targets[i].key->secret_len > CONF_SECRET_MAX))
			return -EINVAL;
	uint8_t apex[DNAME_MAX];
	dname_lower(apex, z->apex, z->apex_len);
	uint64_t h = apex_hash(apex, z->apex_len);
	char zone[DNAME_STR_MAX];
	dname_to_str(apex, zone, sizeof(zone));

	int r = 0;
	pthread_mutex_lock(&n->lock);
	for (size_t i = 0; i < ntargets; i++) {
		struct notify_target tv4;
		const struct notify_target *t = unmap_v4(&targets[i], &tv4);
		if ((r = pending_reserve(n, 1)) != 0)
			break;
		struct ntf_entry *e = entry_find(n, h, apex, z->apex_len, &t->addr);
		bool fresh = !e;
		if (fresh) {
			if (n->nentries >= n->nbuckets && (r = table_grow(n)) != 0)
				break;
			e = calloc(1, sizeof(*e));
			if (!e) {
				r = -ENOMEM;
				break;
			}
			e->hash = h;
			memcpy(e->apex, apex, z->apex_len);
			e->apex_len = z->apex_len;
			memcpy(e->zone, zone, sizeof(zone));
			memcpy(&e->addr, &t->addr, t->addr_len);
			e->addr_len = t->addr_len;
			addr_str(&e->addr, e->addr_text, sizeof(e->addr_text));
			tsig_state_init(&e->tsig);
		} else if (e->pending) {
			log_debug("notify: zone %s serial %u to %s (%s): replaced by serial %u",
			          e->zone, e->serial, e->remote_id, e->addr_text, z->serial);
		}
		/* the remote's id and key may have changed with a reload */
		char *id = strdup(t->remote_id ? t->remote_id : "-");
		if (!id) {
			r = -ENOMEM;
			if (fresh)
				entry_free(e);
			break;
		}
		free(e->remote_id);
		e->remote_id = id;
		e->has_key = t->key != NULL;
		if (t->key) {
			e->key = *t->key;
			e->key.id = NULL; /* pointed into the caller's configuration */
			e->key.where = NULL;
		} else {
			explicit_bzero(&e->key, sizeof(e->key));
		}
		if ((r = entry_begin(n, e, z)) != 0) {
			if (fresh) {
				entry_free(e);
			} else {
				/* the old message is intact, but not for this
				 * serial: better to stop than notify the old one */
				pending_remove(n, e);
				e->outcome = NOTIFY_SEND_FAILED;
				e->err = -r;
				clock_gettime(CLOCK_REALTIME, &e->when);
			}
			break;
		}
		if (fresh) {
			size_t k = h & (n->nbuckets - 1);
			e->next = n->buckets[k];
			n->buckets[k] = e;
			n->nentries++;
		}
		pending_add(n, e);
	}
	pthread_mutex_unlock(&n->lock);
	wake(n);
	return r;
}

size_t notifier_status(struct notifier *n, const uint8_t *apex, size_t apex_len,
                       notify_status_fn fn, void *ctx)
{
	if (!apex || apex_len == 0 || apex_len > DNAME_MAX)
		return 0;
	uint8_t lc[DNAME_MAX];
	dname_lower(lc, apex, apex_len);
	uint64_t h = apex_hash(lc, apex_len);
	size_t count = 0;
	pthread_mutex_lock(&n->lock);
	for (struct ntf_entry *e = n->buckets[h & (n->nbuckets - 1)]; e; e = e->next) {
		if (e->hash != h || e->apex_len != apex_len || memcmp(e->apex, lc, apex_len))
			continue;
		struct notify_status st;
		entry_status(e, &st);
		fn(ctx, &st);
		count++;
	}
	pthread_mutex_unlock(&n->lock);
	return count;
}

size_t notifier_forget(struct notifier *n, const uint8_t *apex, size_t apex_len)
{
	if (!apex || apex_len == 0 || apex_len > DNAME_MAX)
		return 0;
	uint8_t lc[DNAME_MAX];
	dname_lower(lc, apex, apex_len);
	uint64_t h = apex_hash(lc, apex_len);
	size_t count = 0;
	pthread_mutex_lock(&n->lock);
	struct ntf_entry **pp = &n->buckets[h & (n->nbuckets - 1)];
	while (*pp) {
		struct ntf_entry *e = *pp;
		if (e->hash != h || e->apex_len != apex_len || memcmp(e->apex, lc, apex_len)) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		pending_remove(n, e);
		entry_free(e);
		n->nentries--;
		count++;
	}
	pthread_mutex_unlock(&n->lock);
	return count;
}

void notifier_stop(struct notifier *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	n->stop = true;
	pthread_mutex_unlock(&n->lock);
	wake(n);
	pthread_join(n->thread, NULL);
	for (size_t i = 0; i < n->nbuckets; i++) {
		struct ntf_entry *e = n->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			entry_free(e);
		}
	}
	free(n->buckets);
	free(n->pending);
	if (n->fd4 >= 0)
		close(n->fd4);
	if (n->fd6 >= 0)
		close(n->fd6);
	close(n->wake_fd);
	pthread_mutex_destroy(&n->lock);
	free(n);
}
