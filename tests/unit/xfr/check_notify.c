/* check_notify.c: NOTIFY out (src/xfr/notify.c) against a fake remote: a
 * UDP socket of this test on 127.0.0.1 that reads each NOTIFY, checks it
 * with ldns (opcode, AA, question, the SOA in the answer, the TSIG) and
 * answers as each case wants. Intervals are a few hundred milliseconds so
 * that every case ends in a few seconds. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/evp.h>

#include "dns/tsig.h"
#include "ops/log.h"
#include "unit.h"
#include "xfr/notify.h"

#define ZONE "Example.COM." /* mixed case: the answer's question may differ in case */
#define KEY_NAME "notify-key.example."

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---------------------------------------------------------------- the fake remote */

struct remote {
	int fd;
	struct sockaddr_in addr;
	bool v6; /* then addr6 is the address */
	struct sockaddr_in6 addr6;
	/* the last NOTIFY read */
	uint8_t req[4096];
	size_t req_len;
	struct sockaddr_storage from; /* the notifier's socket */
	socklen_t from_len;
};

static int udp_socket(struct sockaddr_in *out)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t len = sizeof(*out);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)out, &len), 0);
	return fd;
}

static void remote_open(struct remote *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = udp_socket(&r->addr);
}

/* On [::1]: \return false when the host has no IPv6 loopback. */
static bool remote_open6(struct remote *r)
{
	memset(r, 0, sizeof(*r));
	r->v6 = true;
	r->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		return false;
	r->addr6.sin6_family = AF_INET6;
	r->addr6.sin6_addr = in6addr_loopback;
	if (bind(r->fd, (struct sockaddr *)&r->addr6, sizeof(r->addr6)) < 0) {
		close(r->fd);
		return false;
	}
	socklen_t len = sizeof(r->addr6);
	ck_assert_int_eq(getsockname(r->fd, (struct sockaddr *)&r->addr6, &len), 0);
	return true;
}

static void remote_close(struct remote *r)
{
	close(r->fd);
}

/* Wait up to timeout_ms for a datagram. \return whether one came */
static bool remote_recv(struct remote *r, int timeout_ms)
{
	struct pollfd p = {.fd = r->fd, .events = POLLIN};
	int n = poll(&p, 1, timeout_ms);
	ck_assert_int_ge(n, 0);
	if (n == 0)
		return false;
	r->from_len = sizeof(r->from);
	ssize_t len =
	    recvfrom(r->fd, r->req, sizeof(r->req), 0, (struct sockaddr *)&r->from, &r->from_len);
	ck_assert_int_gt(len, 0);
	r->req_len = (size_t)len;
	return true;
}

static uint16_t req_id(const struct remote *r)
{
	return (uint16_t)((r->req[0] << 8) | r->req[1]);
}

/* The NOTIFY of RFC 1996 §3: opcode NOTIFY, AA, QR clear, one question
 * example.com. SOA IN, and (when want_soa) the zone's SOA with `serial`
 * as the only answer. */
static void check_notify(const struct remote *r, uint32_t serial, bool want_soa)
{
	ldns_pkt *p = NULL;
	ck_assert_int_eq(ldns_wire2pkt(&p, r->req, r->req_len), LDNS_STATUS_OK);
	ck_assert_int_eq(ldns_pkt_get_opcode(p), LDNS_PACKET_NOTIFY);
	ck_assert(ldns_pkt_aa(p));
	ck_assert(!ldns_pkt_qr(p));
	ck_assert_uint_eq(ldns_pkt_qdcount(p), 1);
	ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(p), 0);
	ldns_rdf *zone = ldns_dname_new_frm_str(ZONE);
	ck_assert_int_eq(ldns_dname_compare(ldns_rr_owner(q), zone), 0);
	ck_assert_int_eq(ldns_rr_get_type(q), LDNS_RR_TYPE_SOA);
	ck_assert_int_eq(ldns_rr_get_class(q), LDNS_RR_CLASS_IN);
	if (want_soa) {
		ck_assert_uint_eq(ldns_pkt_ancount(p), 1);
		ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
		ck_assert_int_eq(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
		ck_assert_int_eq(ldns_dname_compare(ldns_rr_owner(soa), zone), 0);
		ck_assert_uint_eq(ldns_rr_ttl(soa), 3600);
		ck_assert_uint_eq(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)), serial);
	} else {
		ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	}
	ck_assert_uint_eq(ldns_pkt_nscount(p), 0);
	ldns_rdf_deep_free(zone);
	ldns_pkt_free(p);
}

static uint32_t req_serial(const struct remote *r)
{
	ldns_pkt *p = NULL;
	ck_assert_int_eq(ldns_wire2pkt(&p, r->req, r->req_len), LDNS_STATUS_OK);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 1);
	uint32_t s = ldns_rdf2native_int32(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 2));
	ldns_pkt_free(p);
	return s;
}

struct reply_opt {
	uint8_t rcode;
	uint16_t id_delta; /* added to the request's ID */
	bool no_qr;
	const char *qname; /* NULL: the request's question as it is */
	int via_fd;        /* -1 or 0: the remote's socket; else this one */
};

/* An answer by hand: the request's header and question, QR set, the
 * RCODE, no other record. */
static void remote_reply(const struct remote *r, const struct reply_opt *o)
{
	uint8_t w[1024];
	size_t q = 12;
	while (r->req[q])
		q += 1u + r->req[q];
	q += 1 + 4;
	memcpy(w, r->req, q);
	uint16_t id = (uint16_t)(req_id(r) + o->id_delta);
	w[0] = (uint8_t)(id >> 8);
	w[1] = (uint8_t)id;
	w[2] = (uint8_t)(r->req[2] | (o->no_qr ? 0 : 0x80));
	w[3] = o->rcode;
	memset(w + 6, 0, 6); /* AN, NS, AR */
	size_t len = q;
	if (o->qname) {
		uint8_t name[DNAME_MAX];
		size_t nl = ut_name(o->qname, name);
		memcpy(w + 12, name, nl);
		memcpy(w + 12 + nl, r->req + q - 4, 4);
		len = 12 + nl + 4;
	}
	int fd = o->via_fd > 0 ? o->via_fd : r->fd;
	ck_assert_int_eq(sendto(fd, w, len, 0, (const struct sockaddr *)&r->from, r->from_len),
	                 (ssize_t)len);
}

static void reply_rcode(const struct remote *r, uint8_t rcode)
{
	struct reply_opt o = {.rcode = rcode};
	remote_reply(r, &o);
}

/* ---------------------------------------------------------------- TSIG */

static void make_key(struct conf_key *k)
{
	memset(k, 0, sizeof(*k));
	k->id = KEY_NAME;
	uint8_t w[DNAME_MAX];
	k->name_len = ut_name(KEY_NAME, w);
	dname_lower(k->name, w, k->name_len);
	k->alg = CONF_HMAC_SHA256;
	k->secret_len = 32;
	for (size_t i = 0; i < k->secret_len; i++)
		k->secret[i] = (uint8_t)(i * 53 + 7);
}

static void key_b64(const struct conf_key *k, char *out, size_t size)
{
	ck_assert_uint_ge(size, 4 * ((k->secret_len + 2) / 3) + 1);
	ck_assert_int_gt(EVP_EncodeBlock((unsigned char *)out, k->secret, (int)k->secret_len), 0);
}

/* ldns checks the request's TSIG. */
static bool ldns_verifies_request(const struct remote *r, const struct conf_key *k)
{
	ldns_pkt *p = NULL;
	ck_assert_int_eq(ldns_wire2pkt(&p, r->req, r->req_len), LDNS_STATUS_OK);
	char b64[128];
	key_b64(k, b64, sizeof(b64));
	bool ok = ldns_pkt_tsig(p) != NULL &&
	          ldns_pkt_tsig_verify(p, r->req, r->req_len, KEY_NAME, b64, NULL);
	ldns_pkt_free(p);
	return ok;
}

/* A NOERROR answer signed by ldns over the request's MAC (RFC 8945 §4.3). */
static void remote_reply_signed(const struct remote *r, const struct conf_key *k)
{
	ldns_pkt *req = NULL;
	ck_assert_int_eq(ldns_wire2pkt(&req, r->req, r->req_len), LDNS_STATUS_OK);
	ck_assert_ptr_nonnull(ldns_pkt_tsig(req));
	ldns_pkt *rep = ldns_pkt_new();
	ldns_pkt_set_id(rep, ldns_pkt_id(req));
	ldns_pkt_set_opcode(rep, LDNS_PACKET_NOTIFY);
	ldns_pkt_set_qr(rep, true);
	ldns_pkt_set_aa(rep, true);
	ldns_pkt_push_rr(rep, LDNS_SECTION_QUESTION,
	                 ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(req), 0)));
	char b64[128];
	key_b64(k, b64, sizeof(b64));
	ck_assert_int_eq(ldns_pkt_tsig_sign(rep, KEY_NAME, b64, 300, "hmac-sha256.",
	                                    ldns_rr_rdf(ldns_pkt_tsig(req), 3)),
	                 LDNS_STATUS_OK);
	uint8_t *w = NULL;
	size_t len = 0;
	ck_assert_int_eq(ldns_pkt2wire(&w, rep, &len), LDNS_STATUS_OK);
	ck_assert_int_eq(sendto(r->fd, w, len, 0, (const struct sockaddr *)&r->from, r->from_len),
	                 (ssize_t)len);
	free(w);
	ldns_pkt_free(rep);
	ldns_pkt_free(req);
}

/* ---------------------------------------------------------------- the notifier side */

static uint8_t soa_rdata[600];
static uint16_t soa_rdlen;
static uint8_t apex[DNAME_MAX];
static size_t apex_len;

/* The zone with an SOA of `serial` (rdata built by ldns). */
static struct notify_zone zone_of(uint32_t serial, bool with_soa)
{
	char text[256];
	snprintf(text, sizeof(text),
	         "example.com. 3600 IN SOA ns1.example.com. admin.example.com. %u 3600 900 "
	         "604800 300",
	         serial);
	ldns_rr *rr = NULL;
	ck_assert_int_eq(ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL), LDNS_STATUS_OK);
	ldns_buffer *b = ldns_buffer_new(1024);
	ck_assert_int_eq(ldns_rr_rdata2buffer_wire(b, rr), LDNS_STATUS_OK);
	soa_rdlen = (uint16_t)ldns_buffer_position(b);
	memcpy(soa_rdata, ldns_buffer_begin(b), soa_rdlen);
	ldns_buffer_free(b);
	ldns_rr_free(rr);
	apex_len = ut_name(ZONE, apex);
	struct notify_zone z = {.apex = apex, .apex_len = apex_len, .serial = serial};
	if (with_soa) {
		z.soa_rdata = soa_rdata;
		z.soa_rdlen = soa_rdlen;
		z.soa_ttl = 3600;
	}
	return z;
}

static struct notify_target target_of(const struct remote *r, const char *id,
                                      const struct conf_key *key)
{
	struct notify_target t = {.remote_id = id, .key = key};
	if (r->v6) {
		memcpy(&t.addr, &r->addr6, sizeof(r->addr6));
		t.addr_len = sizeof(r->addr6);
	} else {
		memcpy(&t.addr, &r->addr, sizeof(r->addr));
		t.addr_len = sizeof(r->addr);
	}
	return t;
}

static struct notifier *start(unsigned tries, unsigned interval_ms)
{
	struct notify_cfg cfg = {.tries = tries, .interval_ms = interval_ms};
	struct notifier *n = notifier_start(&cfg);
	ck_assert_ptr_nonnull(n);
	return n;
}

static void send1(struct notifier *n, const struct remote *r, uint32_t serial,
                  const struct conf_key *key)
{
	struct notify_zone z = zone_of(serial, true);
	struct notify_target t = target_of(r, "knot2", key);
	ck_assert_int_eq(notifier_send(n, &z, &t, 1), 0);
}

#define GOT_MAX 4
struct got {
	size_t n;
	struct notify_status st[GOT_MAX];
	char id[GOT_MAX][32];
	uint16_t port[GOT_MAX];
};

static void got_fn(void *ctx, const struct notify_status *st)
{
	struct got *g = ctx;
	ck_assert_uint_lt(g->n, GOT_MAX);
	g->st[g->n] = *st;
	snprintf(g->id[g->n], sizeof(g->id[0]), "%s", st->remote_id);
	g->st[g->n].remote_id = g->id[g->n];
	if (st->addr->ss_family == AF_INET6)
		g->port[g->n] = ntohs(((const struct sockaddr_in6 *)st->addr)->sin6_port);
	else
		g->port[g->n] = ntohs(((const struct sockaddr_in *)st->addr)->sin_port);
	g->st[g->n].addr = NULL; /* not valid after the callback */
	g->n++;
}

/* The status of the only target; its strings live until the next call. */
static struct notify_status status1(struct notifier *n)
{
	static struct got g;
	memset(&g, 0, sizeof(g));
	/* asked by another case than the one sent with: any case matches */
	uint8_t lc[DNAME_MAX];
	size_t len = ut_name("example.com.", lc);
	ck_assert_uint_eq(notifier_status(n, lc, len, got_fn, &g), 1);
	return g.st[0];
}

/* Poll the status until it is no longer pending. */
static struct notify_status wait_outcome(struct notifier *n, unsigned timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;
	for (;;) {
		struct notify_status st = status1(n);
		if (st.outcome != NOTIFY_PENDING)
			return st;
		ck_assert_msg(now_ms() < end, "still pending after %u ms (%u tries)", timeout_ms,
		              st.tries);
		usleep(10 * 1000);
	}
}

static void assert_outcome(const struct notify_status *st, enum notify_outcome o, unsigned tries)
{
	char b[128];
	ck_assert_msg(st->outcome == o && st->tries == tries, "got \"%s\" (outcome %d, %u tries)",
	              notify_status_str(st, b, sizeof(b)), st->outcome, st->tries);
	ck_assert_int_ne(st->when.tv_sec, 0);
}

/* ---------------------------------------------------------------- cases */

START_TEST(answered_first_try)
{
	struct remote r;
	remote_open(&r);
	struct notifier *n = start(3, 300);
	time_t before = time(NULL);
	send1(n, &r, 2026120401, NULL);
	ck_assert(remote_recv(&r, 2000));
	check_notify(&r, 2026120401, true);
	reply_rcode(&r, LDNS_RCODE_NOERROR);
	struct notify_status st = wait_outcome(n, 2000);
	assert_outcome(&st, NOTIFY_ANSWERED, 1);
	ck_assert_uint_eq(st.serial, 2026120401);
	ck_assert_str_eq(st.remote_id, "knot2");
	ck_assert(!st.keyed);
	ck_assert_int_ge(st.when.tv_sec, before);
	ck_assert_uint_eq(st.rcode, 0);
	char b[64];
	ck_assert_str_eq(notify_status_str(&st, b, sizeof(b)), "answered");
	/* answered: no retry comes */
	ck_assert(!remote_recv(&r, 700));
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

START_TEST(no_soa_when_not_given)
{
	struct remote r;
	remote_open(&r);
	struct notifier *n = start(3, 300);
	struct notify_zone z = zone_of(7, false);
	struct notify_target t = target_of(&r, "nsd", NULL);
	ck_assert_int_eq(notifier_send(n, &z, &t, 1), 0);
	ck_assert(remote_recv(&r, 2000));
	check_notify(&r, 7, false);
	reply_rcode(&r, LDNS_RCODE_NOERROR);
	assert_outcome((struct notify_status[]){wait_outcome(n, 2000)}, NOTIFY_ANSWERED, 1);
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

/* Two tries unanswered, the third answered: each try is the same message
 * (same ID) after about the interval. */
START_TEST(retries_then_answer)
{
	struct remote r;
	remote_open(&r);
	struct notifier *n = start(5, 300);
	send1(n, &r, 42, NULL);
	uint64_t at[3];
	uint16_t id = 0;
	for (int i = 0; i < 3; i++) {
		ck_assert_msg(remote_recv(&r, 2000), "try %d did not come", i + 1);
		at[i] = now_ms();
		check_notify(&r, 42, true);
		if (i == 0)
			id = req_id(&r);
		ck_assert_uint_eq(req_id(&r), id);
		if (i < 2) {
			struct notify_status st = status1(n);
			ck_assert_int_eq(st.outcome, NOTIFY_PENDING);
			ck_assert_uint_eq(st.tries, (unsigned)i + 1);
		}
	}
	for (int i = 1; i < 3; i++) {
		uint64_t gap = at[i] - at[i - 1];
		ck_assert_msg(gap >= 250 && gap <= 1500, "gap %d: %llu ms for an interval of 300",
		              i, (unsigned long long)gap);
	}
	reply_rcode(&r, LDNS_RCODE_NOERROR);
	struct notify_status st = wait_outcome(n, 2000);
	assert_outcome(&st, NOTIFY_ANSWERED, 3);
	/* a late answer to an earlier try (same ID) changes nothing */
	reply_rcode(&r, LDNS_RCODE_REFUSED);
	ck_assert(!remote_recv(&r, 700));
	st = status1(n);
	assert_outcome(&st, NOTIFY_ANSWERED, 3);
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

START_TEST(backoff_doubles)
{
	struct remote r;
	remote_open(&r);
	struct notify_cfg cfg = {.tries = 3, .interval_ms = 200, .backoff = true};
	struct notifier *n = notifier_start(&cfg);
	ck_assert_ptr_nonnull(n);
	send1(n, &r, 1, NULL);
	uint64_t at[3];
	for (int i = 0; i < 3; i++) {
		ck_assert(remote_recv(&r, 2000));
		at[i] = now_ms();
	}
	uint64_t g1 = at[1] - at[0], g2 = at[2] - at[1];
	/* roughly: a loaded machine (ASan, parallel tests) is late, never early */
	ck_assert_msg(g1 >= 150 && g1 < 700, "first gap %llu ms", (unsigned long long)g1);
	ck_assert_msg(g2 >= 350 && g2 < 1500, "second gap %llu ms", (unsigned long long)g2);
	ck_assert_uint_gt(g2, g1);
	/* the last try waits 800 ms before timing out */
	struct notify_status st = wait_outcome(n, 3000);
	assert_outcome(&st, NOTIFY_TIMEOUT, 3);
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

START_TEST(timeout_after_tries)
{
	struct remote r;
	remote_open(&r);
	struct notifier *n = start(2, 200);
	uint64_t t0 = now_ms();
	send1(n, &r, 5, NULL);
	ck_assert(remote_recv(&r, 2000));
	ck_assert(remote_recv(&r, 2000));
	struct notify_status st = wait_outcome(n, 3000);
	assert_outcome(&st, NOTIFY_TIMEOUT, 2);
	/* two intervals: the last try's wait too */
	ck_assert_uint_ge(now_ms() - t0, 350);
	char b[64];
	ck_assert_str_eq(notify_status_str(&st, b, sizeof(b)), "no answer after 2 tries");
	ck_assert(!remote_recv(&r, 500));
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

START_TEST(refused_ends_retries)
{
	struct remote r;
	remote_open(&r);
	struct notifier *n = start(5, 200);
	send1(n, &r, 9, NULL);
	ck_assert(remote_recv(&r, 2000));
	reply_rcode(&r, LDNS_RCODE_REFUSED);
	struct notify_status st = wait_outcome(n, 2000);
	assert_outcome(&st, NOTIFY_REFUSED, 1);
	ck_assert_uint_eq(st.rcode, LDNS_RCODE_REFUSED);
	ck_assert(!remote_recv(&r, 700));
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

START_TEST(notimp_ends_retries)
{
	struct remote r;
	remote_open(&r);
	struct notifier *n = start(5, 200);
	send1(n, &r, 9, NULL);
	ck_assert(remote_recv(&r, 2000));
	reply_rcode(&r, LDNS_RCODE_NOTIMPL);
	struct notify_status st = wait_outcome(n, 2000);
	assert_outcome(&st, NOTIFY_NOTIMP, 1);
	ck_assert(!remote_recv(&r, 700));
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

/* SERVFAIL (a secondary still loading): retried; the last try's SERVFAIL
 * ends it at once. */
START_TEST(servfail_retried)
{
	struct remote r;
	remote_open(&r);
	struct notifier *n = start(3, 200);
	send1(n, &r, 9, NULL);
	for (int i = 0; i < 3; i++) {
		ck_assert_msg(remote_recv(&r, 2000), "try %d did not come", i + 1);
		reply_rcode(&r, LDNS_RCODE_SERVFAIL);
	}
	struct notify_status st = wait_outcome(n, 1000);
	assert_outcome(&st, NOTIFY_RCODE, 3);
	ck_assert_uint_eq(st.rcode, LDNS_RCODE_SERVFAIL);
	char b[64];
	ck_assert_str_eq(notify_status_str(&st, b, sizeof(b)), "SERVFAIL after 3 tries");
	ck_assert(!remote_recv(&r, 500));
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

/* Answers that do not match are ignored: another ID, another port, QR
 * clear, another question. The right one after them counts. */
START_TEST(mismatched_answers_ignored)
{
	struct remote r;
	remote_open(&r);
	struct notifier *n = start(3, 1500);
	send1(n, &r, 11, NULL);
	ck_assert(remote_recv(&r, 2000));
	struct sockaddr_in other_addr;
	int other = udp_socket(&other_addr);
	struct reply_opt bad[] = {
	    {.rcode = 0, .id_delta = 1},
	    {.rcode = 0, .via_fd = other},
	    {.rcode = 0, .no_qr = true},
	    {.rcode = 0, .qname = "example.net."},
	    {.rcode = LDNS_RCODE_REFUSED, .id_delta = 0x100},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		remote_reply(&r, &bad[i]);
	usleep(300 * 1000);
	struct notify_status st = status1(n);
	ck_assert_int_eq(st.outcome, NOTIFY_PENDING);
	ck_assert_uint_eq(st.tries, 1);
	/* the question in another case is the same question */
	struct reply_opt good = {.rcode = 0, .qname = "EXAMPLE.com."};
	remote_reply(&r, &good);
	st = wait_outcome(n, 1000);
	assert_outcome(&st, NOTIFY_ANSWERED, 1);
	close(other);
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

START_TEST(tsig_signed_and_answered)
{
	struct remote r;
	remote_open(&r);
	struct conf_key k;
	make_key(&k);
	struct notifier *n = start(3, 500);
	send1(n, &r, 77, &k);
	ck_assert(remote_recv(&r, 2000));
	check_notify(&r, 77, true);
	ck_assert(ldns_verifies_request(&r, &k));
	remote_reply_signed(&r, &k);
	struct notify_status st = wait_outcome(n, 2000);
	assert_outcome(&st, NOTIFY_ANSWERED, 1);
	ck_assert(st.keyed);
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

/* An unsigned answer to a signed NOTIFY proves nothing: the try counts,
 * and after the last one the outcome is a TSIG failure. */
START_TEST(tsig_unsigned_answer_fails)
{
	struct remote r;
	remote_open(&r);
	struct conf_key k;
	make_key(&k);
	struct notifier *n = start(2, 300);
	send1(n, &r, 78, &k);
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(remote_recv(&r, 2000), "try %d did not come", i + 1);
		ck_assert(ldns_verifies_request(&r, &k));
		reply_rcode(&r, LDNS_RCODE_NOERROR);
	}
	struct notify_status st = wait_outcome(n, 1000);
	assert_outcome(&st, NOTIFY_TSIG_FAILED, 2);
	ck_assert_int_eq(st.tsig, TSIG_NONE);
	char b[96];
	ck_assert_str_eq(notify_status_str(&st, b, sizeof(b)),
	                 "TSIG failure (unsigned answer) after 2 tries");
	ck_assert(!remote_recv(&r, 500));
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

/* A forged (unsigned) answer does not spoil the exchange: the real one,
 * arriving after it within the same try, is accepted. */
START_TEST(tsig_forgery_then_real_answer)
{
	struct remote r;
	remote_open(&r);
	struct conf_key k;
	make_key(&k);
	struct notifier *n = start(3, 1500);
	send1(n, &r, 79, &k);
	ck_assert(remote_recv(&r, 2000));
	reply_rcode(&r, LDNS_RCODE_NOERROR);
	usleep(200 * 1000);
	ck_assert_int_eq(status1(n).outcome, NOTIFY_PENDING);
	remote_reply_signed(&r, &k);
	struct notify_status st = wait_outcome(n, 1000);
	assert_outcome(&st, NOTIFY_ANSWERED, 1);
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

/* A send for the same zone and target while one is in flight replaces it:
 * the new serial goes with a new ID, the old ID's answer is ignored, and
 * the old serial is never sent again. */
START_TEST(newer_serial_replaces)
{
	struct remote r;
	remote_open(&r);
	struct notifier *n = start(5, 1000);
	send1(n, &r, 1, NULL);
	ck_assert(remote_recv(&r, 2000));
	ck_assert_uint_eq(req_serial(&r), 1);
	struct remote old = r;
	send1(n, &r, 2, NULL);
	ck_assert(remote_recv(&r, 500)); /* before serial 1's retry was due */
	ck_assert_uint_eq(req_serial(&r), 2);
	ck_assert_uint_ne(req_id(&r), req_id(&old));
	struct notify_status st = status1(n);
	ck_assert_int_eq(st.outcome, NOTIFY_PENDING);
	ck_assert_uint_eq(st.serial, 2);
	ck_assert_uint_eq(st.tries, 1);
	reply_rcode(&old, LDNS_RCODE_NOERROR); /* to serial 1's ID */
	usleep(150 * 1000);
	ck_assert_int_eq(status1(n).outcome, NOTIFY_PENDING);
	reply_rcode(&r, LDNS_RCODE_NOERROR);
	st = wait_outcome(n, 1000);
	assert_outcome(&st, NOTIFY_ANSWERED, 1);
	ck_assert_uint_eq(st.serial, 2);
	ck_assert(!remote_recv(&r, 1000));
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

/* Two targets of one zone; the caller's strings and key are freed right
 * after the send (ASan would see a use after free). */
START_TEST(targets_copied)
{
	struct remote a, b;
	remote_open(&a);
	remote_open(&b);
	struct notifier *n = start(3, 400);
	struct conf_key *k = malloc(sizeof(*k));
	make_key(k);
	char *ida = strdup("alpha"), *idb = strdup("beta");
	struct notify_target t[2] = {target_of(&a, ida, NULL), target_of(&b, idb, k)};
	struct notify_zone z = zone_of(300, true);
	ck_assert_int_eq(notifier_send(n, &z, t, 2), 0);
	struct conf_key kk = *k;
	memset(k, 0xa5, sizeof(*k));
	free(k);
	free(ida);
	free(idb);
	ck_assert(remote_recv(&a, 2000));
	ck_assert(remote_recv(&b, 2000));
	check_notify(&a, 300, true);
	check_notify(&b, 300, true);
	ck_assert(ldns_verifies_request(&b, &kk));
	reply_rcode(&a, LDNS_RCODE_NOERROR);
	remote_reply_signed(&b, &kk);
	uint64_t end = now_ms() + 2000;
	struct got g;
	for (;;) {
		memset(&g, 0, sizeof(g));
		ck_assert_uint_eq(notifier_status(n, apex, apex_len, got_fn, &g), 2);
		if (g.st[0].outcome != NOTIFY_PENDING && g.st[1].outcome != NOTIFY_PENDING)
			break;
		ck_assert(now_ms() < end);
		usleep(10 * 1000);
	}
	for (size_t i = 0; i < 2; i++) {
		bool is_a = !strcmp(g.id[i], "alpha");
		ck_assert(is_a || !strcmp(g.id[i], "beta"));
		ck_assert_uint_eq(g.port[i], ntohs(is_a ? a.addr.sin_port : b.addr.sin_port));
		ck_assert(g.st[i].keyed == !is_a);
		assert_outcome(&g.st[i], NOTIFY_ANSWERED, 1);
	}
	/* another zone has no status; forgetting this one drops both */
	uint8_t other[DNAME_MAX];
	size_t olen = ut_name("example.net.", other);
	ck_assert_uint_eq(notifier_status(n, other, olen, got_fn, &g), 0);
	ck_assert_uint_eq(notifier_forget(n, apex, apex_len), 2);
	ck_assert_uint_eq(notifier_status(n, apex, apex_len, got_fn, &g), 0);
	notifier_stop(n);
	remote_close(&a);
	remote_close(&b);
}
END_TEST

START_TEST(source_address_bound)
{
	struct remote r;
	remote_open(&r);
	/* a free port: bound, read, released */
	struct sockaddr_in src;
	int s = udp_socket(&src);
	close(s);
	struct notify_cfg cfg = {.tries = 2, .interval_ms = 300};
	memcpy(&cfg.source4, &src, sizeof(src));
	cfg.source4_len = sizeof(src);
	struct notifier *n = notifier_start(&cfg);
	ck_assert_ptr_nonnull(n);
	send1(n, &r, 3, NULL);
	ck_assert(remote_recv(&r, 2000));
	const struct sockaddr_in *from = (const void *)&r.from;
	ck_assert_uint_eq(ntohs(from->sin_port), ntohs(src.sin_port));
	reply_rcode(&r, LDNS_RCODE_NOERROR);
	assert_outcome((struct notify_status[]){wait_outcome(n, 2000)}, NOTIFY_ANSWERED, 1);
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

START_TEST(bad_arguments)
{
	struct notifier *n = start(2, 300);
	struct remote r;
	remote_open(&r);
	struct notify_zone z = zone_of(1, true);
	struct notify_target t = target_of(&r, "x", NULL);
	t.addr.ss_family = AF_UNIX;
	ck_assert_int_eq(notifier_send(n, &z, &t, 1), -EINVAL);
	t = target_of(&r, "x", NULL);
	z.apex_len--; /* the root label cut off */
	ck_assert_int_eq(notifier_send(n, &z, &t, 1), -EINVAL);
	z = zone_of(1, true);
	z.soa_rdlen = 2 * DNAME_MAX + 21;
	ck_assert_int_eq(notifier_send(n, &z, &t, 1), -EINVAL);
	ck_assert_uint_eq(notifier_status(n, apex, apex_len, got_fn, NULL), 0);
	notifier_stop(n);
	notifier_stop(NULL);
	remote_close(&r);
}
END_TEST

/* A source address the host does not have: every try fails to send,
 * and the outcome says why. */
START_TEST(send_failed)
{
	struct remote r;
	remote_open(&r);
	struct notify_cfg cfg = {.tries = 2, .interval_ms = 100};
	struct sockaddr_in *src = (struct sockaddr_in *)&cfg.source4;
	src->sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.1", &src->sin_addr), 1); /* RFC 5737 */
	cfg.source4_len = sizeof(*src);
	struct notifier *n = notifier_start(&cfg);
	ck_assert_ptr_nonnull(n);
	send1(n, &r, 4, NULL);
	struct notify_status st = wait_outcome(n, 2000);
	assert_outcome(&st, NOTIFY_SEND_FAILED, 2);
	ck_assert_int_eq(st.err, EADDRNOTAVAIL);
	ck_assert(!remote_recv(&r, 100));
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

/* notifier_stop with exchanges in flight returns at once (the thread is
 * woken, not waited out), dropping them. */
START_TEST(stop_with_pending)
{
	struct remote r;
	remote_open(&r);
	struct notifier *n = start(5, 10000);
	send1(n, &r, 1, NULL);
	ck_assert(remote_recv(&r, 2000));
	/* another zone, likely still waiting for its first try */
	struct notify_zone z = zone_of(2, true);
	z.apex_len = ut_name("example.org.", apex);
	struct notify_target t = target_of(&r, "knot3", NULL);
	t.addr_len = sizeof(struct sockaddr_in);
	ck_assert_int_eq(notifier_send(n, &z, &t, 1), 0);
	uint64_t t0 = now_ms();
	notifier_stop(n);
	ck_assert_uint_lt(now_ms() - t0, 1000);
	remote_close(&r);
}
END_TEST

START_TEST(ipv6_target)
{
	struct remote r;
	if (!remote_open6(&r)) {
		fprintf(stderr, "no IPv6 loopback: case skipped\n");
		return;
	}
	struct notifier *n = start(3, 300);
	send1(n, &r, 6, NULL);
	ck_assert(remote_recv(&r, 2000));
	ck_assert_int_eq(r.from.ss_family, AF_INET6);
	check_notify(&r, 6, true);
	reply_rcode(&r, LDNS_RCODE_NOERROR);
	struct got g = {0};
	uint64_t end = now_ms() + 2000;
	for (;;) {
		memset(&g, 0, sizeof(g));
		ck_assert_uint_eq(notifier_status(n, apex, apex_len, got_fn, &g), 1);
		if (g.st[0].outcome != NOTIFY_PENDING)
			break;
		ck_assert(now_ms() < end);
		usleep(10 * 1000);
	}
	assert_outcome(&g.st[0], NOTIFY_ANSWERED, 1);
	ck_assert_uint_eq(g.port[0], ntohs(r.addr6.sin6_port));
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

/* A target written as an IPv4-mapped IPv6 address goes over IPv4, and
 * its answer (from the IPv4 address) matches. */
START_TEST(v4_mapped_target)
{
	struct remote r;
	remote_open(&r);
	struct notifier *n = start(3, 1000);
	struct notify_zone z = zone_of(8, true);
	struct notify_target t = {.remote_id = "mapped"};
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&t.addr;
	a6->sin6_family = AF_INET6;
	a6->sin6_port = r.addr.sin_port;
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6->sin6_addr), 1);
	t.addr_len = sizeof(*a6);
	ck_assert_int_eq(notifier_send(n, &z, &t, 1), 0);
	ck_assert(remote_recv(&r, 2000));
	reply_rcode(&r, LDNS_RCODE_NOERROR);
	struct notify_status st = wait_outcome(n, 1000);
	assert_outcome(&st, NOTIFY_ANSWERED, 1);
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

/* A message past 512 octets without EDNS is left without its (optional)
 * SOA: a long apex and long SOA names. */
START_TEST(soa_left_out_past_512)
{
	struct remote r;
	remote_open(&r);
	struct notifier *n = start(2, 300);
	char name[256], text[1024];
	memset(name, 'a', 63);
	snprintf(name + 63, sizeof(name) - 63, ".%.62s.%.62s.example.", name, name);
	uint8_t long_apex[DNAME_MAX];
	size_t long_len = ut_name(name, long_apex);
	snprintf(text, sizeof(text), "%s 3600 IN SOA ns.%s admin.%s 1 2 3 4 5", name, name, name);
	ldns_rr *rr = NULL;
	ck_assert_int_eq(ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL), LDNS_STATUS_OK);
	ldns_buffer *b = ldns_buffer_new(1024);
	ck_assert_int_eq(ldns_rr_rdata2buffer_wire(b, rr), LDNS_STATUS_OK);
	struct notify_zone z = {.apex = long_apex,
	                        .apex_len = long_len,
	                        .serial = 1,
	                        .soa_rdata = ldns_buffer_begin(b),
	                        .soa_rdlen = (uint16_t)ldns_buffer_position(b),
	                        .soa_ttl = 3600};
	ck_assert_uint_gt(12 + long_len + 4 + 12 + z.soa_rdlen, 512);
	struct notify_target t = target_of(&r, "big", NULL);
	ck_assert_int_eq(notifier_send(n, &z, &t, 1), 0);
	ldns_buffer_free(b);
	ldns_rr_free(rr);
	ck_assert(remote_recv(&r, 2000));
	ck_assert_uint_le(r.req_len, 512);
	ldns_pkt *p = NULL;
	ck_assert_int_eq(ldns_wire2pkt(&p, r.req, r.req_len), LDNS_STATUS_OK);
	ck_assert_uint_eq(ldns_pkt_qdcount(p), 1);
	ck_assert_uint_eq(ldns_pkt_ancount(p), 0);
	ldns_pkt_free(p);
	notifier_stop(n);
	remote_close(&r);
}
END_TEST

/* A zone's notify: list as targets: every address of every remote. */
START_TEST(targets_from_conf)
{
	struct conf_key k;
	make_key(&k);
	struct conf_remote r1 = {.id = "one", .naddr = 2, .key = &k};
	struct conf_remote r2 = {.id = "two", .naddr = 1};
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in *a = (struct sockaddr_in *)&r1.addr[i].ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)(5300 + i));
		r1.addr[i].len = sizeof(*a);
	}
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&r2.addr[0].ss;
	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons(53);
	r2.addr[0].len = sizeof(*a6);
	const struct conf_remote *list[] = {&r1, &r2};
	struct notify_target t[3];
	ck_assert_uint_eq(notify_targets_of(list, 2, t, 2), 3); /* one too many for 2 */
	ck_assert_uint_eq(notify_targets_of(list, 2, t, 3), 3);
	ck_assert_str_eq(t[0].remote_id, "one");
	ck_assert_ptr_eq(t[1].key, &k);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&t[1].addr)->sin_port), 5301);
	ck_assert_str_eq(t[2].remote_id, "two");
	ck_assert_ptr_null(t[2].key);
	ck_assert_int_eq(t[2].addr.ss_family, AF_INET6);
	ck_assert_uint_eq(t[2].addr_len, sizeof(struct sockaddr_in6));
}
END_TEST

/* The strings of the status and the rcode names. */
START_TEST(strings)
{
	char b[96];
	ck_assert_str_eq(notify_rcode_str(2, b, sizeof(b)), "SERVFAIL");
	ck_assert_str_eq(notify_rcode_str(12, b, sizeof(b)), "RCODE12");
	struct notify_status st = {.outcome = NOTIFY_PENDING, .tries = 1};
	ck_assert_str_eq(notify_status_str(&st, b, sizeof(b)), "pending, 1 try so far");
	st.outcome = NOTIFY_ANSWERED;
	st.tries = 3;
	ck_assert_str_eq(notify_status_str(&st, b, sizeof(b)), "answered at try 3");
	st.outcome = NOTIFY_TSIG_FAILED;
	st.tsig = TSIG_BADSIG;
	ck_assert_str_eq(notify_status_str(&st, b, sizeof(b)),
	                 "TSIG failure (BADSIG) after 3 tries");
	st.outcome = NOTIFY_SEND_FAILED;
	st.err = ENETUNREACH;
	st.tries = 1;
	snprintf(b + 48, 48, "cannot send (%s) after 1 try", strerror(ENETUNREACH));
	ck_assert_str_eq(notify_status_str(&st, b, 48), b + 48);
}
END_TEST

int main(void)
{
	log_init(LOG_LVL_DEBUG, false);
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("exchanges");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, answered_first_try);
	tcase_add_test(tc, no_soa_when_not_given);
	tcase_add_test(tc, retries_then_answer);
	tcase_add_test(tc, backoff_doubles);
	tcase_add_test(tc, timeout_after_tries);
	tcase_add_test(tc, refused_ends_retries);
	tcase_add_test(tc, notimp_ends_retries);
	tcase_add_test(tc, servfail_retried);
	tcase_add_test(tc, mismatched_answers_ignored);
	tcase_add_test(tc, tsig_signed_and_answered);
	tcase_add_test(tc, tsig_unsigned_answer_fails);
	tcase_add_test(tc, tsig_forgery_then_real_answer);
	tcase_add_test(tc, newer_serial_replaces);
	tcase_add_test(tc, targets_copied);
	tcase_add_test(tc, source_address_bound);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, send_failed);
	tcase_add_test(tc, stop_with_pending);
	tcase_add_test(tc, ipv6_target);
	tcase_add_test(tc, v4_mapped_target);
	tcase_add_test(tc, soa_left_out_past_512);
	tcase_add_test(tc, targets_from_conf);
	tcase_add_test(tc, strings);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
