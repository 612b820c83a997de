/* check_secondary.c: the refresh cycle of secondary zones
 * (src/xfr/secondary.c), as secondary.h, RFC 1034 §4.3.5 and RFC 1996
 * state it.
 *
 * The secondary runs with no threads (secondary_cfg.no_threads) and a
 * fake clock (secondary_cfg.now): nothing happens until the test calls
 * secondary_run_once, and time moves only when the test moves it. Its
 * zones come from a configuration read with conf_load_buf and a zoneset
 * loaded by zoneset_update from files the test writes in a private
 * directory (the zone's storage), as the server's start does.
 *
 * The primary is a real one: a thread on 127.0.0.1 (an ephemeral port,
 * UDP and TCP) that answers with shoal's own code, answer_query for the
 * SOA queries and serve_request / xfr_out_next for the transfers, from a
 * zonedb the test swaps to change the primary's serial. It counts what it
 * receives, so a test can tell whether the secondary asked at all. Closed,
 * its port refuses (an unreachable primary).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "answer/answer.h"
#include "dns/query.h"
#include "ops/conf.h"
#include "unit.h"
#include "xfr/secondary.h"
#include "xfr/serve.h"
#include "zone/zone_load.h"
#include "zone/zonedb.h"
#include "zone/zoneset.h"

#define ORIGIN "sec.test."
#define OTHER "prim.test." /* a zone of ours that is not a secondary */
#define T0 ((int64_t)1700000000)

/* ---------------------------------------------------------------- the clock */

static int64_t g_now;

static int64_t fake_now(void)
{
	return g_now;
}

static const char *iso(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;
	ck_assert_ptr_nonnull(gmtime_r(&tt, &tm));
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* ---------------------------------------------------------------- zones */

struct soa_t {
	uint32_t serial, refresh, retry, expire;
};

/* The records of sec.test at `t` (its content changes with the serial, so
 * two serials are two different zones). */
static void zone_rrs(const struct soa_t *t, char buf[4][128], const char *rrs[5])
{
	snprintf(buf[0], 128, "@ 3600 SOA ns1 hostmaster %u %u %u %u 300", t->serial, t->refresh,
	         t->retry, t->expire);
	snprintf(buf[1], 128, "@ 3600 NS ns1");
	snprintf(buf[2], 128, "ns1 3600 A 192.0.2.1");
	snprintf(buf[3], 128, "www 3600 A 192.0.2.%u", t->serial % 250 + 1);
	for (int i = 0; i < 4; i++)
		rrs[i] = buf[i];
	rrs[4] = NULL;
}

/* Write sec.test at `t` as dir/sec.test.zone (the zone's default file). */
static void write_zone(const char *dir, const struct soa_t *t)
{
	char buf[4][128], text[1024];
	const char *rrs[5];
	zone_rrs(t, buf, rrs);
	size_t n = (size_t)snprintf(text, sizeof(text), "$ORIGIN " ORIGIN "\n");
	for (int i = 0; rrs[i]; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\n", rrs[i]);
	ck_assert_uint_lt(n, sizeof(text));
	ut_write(dir, "sec.test.zone", text);
}

static void write_other(const char *dir)
{
	ut_write(dir, "prim.test.zone",
	         "$ORIGIN " OTHER "\n"
	         "@ 3600 SOA ns1 hostmaster 1 3600 600 86400 300\n"
	         "@ 3600 NS ns1\n"
	         "ns1 3600 A 192.0.2.9\n");
}

/* ---------------------------------------------------------------- the primary */

struct prim {
	int tcp, udp;
	uint16_t port;
	bool running;
	pthread_t th;
	atomic_bool stop;
	pthread_mutex_t lock;
	struct zonedb *db; /* under lock */
	struct answer_cfg acfg;
	atomic_uint queries, soa, axfr, ixfr;
	atomic_bool tcp_close; /* accept a connection and close it at once */
	atomic_bool hold;      /* a query over UDP waits (counted in held) until cleared */
	atomic_uint held;
};

static void diag_print(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

static const char PRIM_CONF[] = "acl:\n"
                                "  - id: local\n"
                                "    address: 127.0.0.0/8\n"
                                "    action: transfer\n"
                                "zone:\n"
                                "  - domain: " ORIGIN "\n"
                                "    acl: local\n"
                                "  - domain: " OTHER "\n"
                                "    acl: local\n";

static const char *const OTHER_RRS[] = {
    "@ 3600 SOA ns1 hostmaster 1 3600 600 86400 300",
    "@ 3600 NS ns1",
    "ns1 3600 A 192.0.2.9",
    NULL,
};

/* What the primary serves from now on: sec.test at `t`, or (t NULL) not
 * sec.test at all (its queries are then REFUSED: a failed check). */
static void prim_set_exp(struct prim *p, const struct soa_t *t, int64_t expire_at)
{
	struct zone *zs[2];
	size_t n = 0;
	zs[n++] = ut_zone(OTHER, OTHER_RRS);
	if (t) {
		char buf[4][128];
		const char *rrs[5];
		zone_rrs(t, buf, rrs);
		zs[n] = ut_zone(ORIGIN, rrs);
		/* the primary itself a secondary whose copy expires then: its
		 * answers carry what is left as EDNS EXPIRE (RFC 7314 §3) */
		atomic_store(&zs[n]->expire_at, expire_at);
		n++;
	}
	struct zonedb *db = zonedb_new(zs, n);
	ck_assert_ptr_nonnull(db);
	struct conf *c = NULL;
	ck_assert_int_eq(conf_load_buf("prim.conf", PRIM_CONF, strlen(PRIM_CONF), diag_print, NULL,
	                               &c),
	                 0);
	db->conf = c;
	pthread_mutex_lock(&p->lock);
	struct zonedb *old = p->db;
	p->db = db;
	pthread_mutex_unlock(&p->lock);
	zonedb_free(old);
}

static void prim_set(struct prim *p, const struct soa_t *t)
{
	prim_set_exp(p, t, 0);
}

static bool read_full(int fd, uint8_t *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 3000) <= 0)
			return false;
		ssize_t n = recv(fd, buf + off, len - off, 0);
		if (n <= 0)
			return false;
		off += (size_t)n;
	}
	return true;
}

static bool send_framed(int fd, const uint8_t *m, size_t len)
{
	uint8_t pre[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	return send(fd, pre, 2, MSG_NOSIGNAL) == 2 &&
	       send(fd, m, len, MSG_NOSIGNAL) == (ssize_t)len;
}

static void count(struct prim *p, const struct query *q, enum query_status st)
{
	atomic_fetch_add(&p->queries, 1);
	if (st != QUERY_OK || !q->has_question)
		return;
	if (q->qtype == RRTYPE_SOA)
		atomic_fetch_add(&p->soa, 1);
	else if (q->qtype == RRTYPE_AXFR)
		atomic_fetch_add(&p->axfr, 1);
	else if (q->qtype == RRTYPE_IXFR)
		atomic_fetch_add(&p->ixfr, 1);
}

/* One request: answered as the server's workers answer it (inside the RCU
 * read-side section, with our own zonedb). */
static size_t prim_answer(struct prim *p, struct query *q, enum query_status st,
                          const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
                          struct xfr_out **xo)
{
	struct answer_info info;
	size_t r;
	urcu_memb_read_lock();
	pthread_mutex_lock(&p->lock);
	if (serve_wanted(q, st))
		r = serve_request(&p->acfg, p->db, q, st, msg, len, out, cap, xo,
		                  (uint64_t)time(NULL), &info);
	else
		r = answer_query(&p->acfg, p->db, q, st, out, cap, &info);
	pthread_mutex_unlock(&p->lock);
	urcu_memb_read_unlock();
	return r;
}

static void prim_udp(struct prim *p)
{
	uint8_t req[4096], out[4096];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(p->udp, req, sizeof(req), 0, (struct sockaddr *)&from, &fl);
	if (n <= 0)
		return;
	struct query q;
	enum query_status st = query_parse(&q, req, (size_t)n, false);
	q.addr = (const struct sockaddr *)&from;
	count(p, &q, st);
	if (atomic_load(&p->hold)) {
		atomic_fetch_add(&p->held, 1);
		while (atomic_load(&p->hold))
			usleep(1000);
	}
	size_t len = prim_answer(p, &q, st, req, (size_t)n, out, sizeof(out), NULL);
	if (len)
		sendto(p->udp, out, len, 0, (struct sockaddr *)&from, fl);
}

static void prim_tcp(struct prim *p, int c)
{
	static uint8_t req[65535], out[65535];
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	if (getpeername(c, (struct sockaddr *)&from, &fl) < 0)
		return;
	for (;;) {
		uint8_t pre[2];
		if (!read_full(c, pre, 2))
			return;
		size_t rlen = (size_t)(pre[0] << 8 | pre[1]);
		if (!rlen || !read_full(c, req, rlen))
			return;
		struct query q;
		enum query_status st = query_parse(&q, req, rlen, true);
		q.addr = (const struct sockaddr *)&from;
		count(p, &q, st);
		struct xfr_out *xo = NULL;
		size_t len = prim_answer(p, &q, st, req, rlen, out, sizeof(out), &xo);
		if (len && !send_framed(c, out, len)) {
			xfr_out_free(xo);
			return;
		}
		if (xo) {
			while ((len = xfr_out_next(xo, out, sizeof(out), (uint64_t)time(NULL))) > 0)
				if (!send_framed(c, out, len))
					break;
			bool failed = xfr_out_failed(xo);
			xfr_out_free(xo);
			if (failed)
				return;
		}
		if (!len && !xo)
			return;
	}
}

static void *prim_thread(void *arg)
{
	struct prim *p = arg;
	urcu_memb_register_thread();
	while (!atomic_load(&p->stop)) {
		struct pollfd pfd[2] = {{.fd = p->tcp, .events = POLLIN},
		                        {.fd = p->udp, .events = POLLIN}};
		if (poll(pfd, 2, 50) <= 0)
			continue;
		if (pfd[1].revents & POLLIN)
			prim_udp(p);
		if (pfd[0].revents & POLLIN) {
			int c = accept(p->tcp, NULL, NULL);
			if (c >= 0) {
				if (!atomic_load(&p->tcp_close))
					prim_tcp(p, c);
				close(c);
			}
		}
	}
	urcu_memb_unregister_thread();
	return NULL;
}

/* Start a primary serving sec.test at `t` (NULL: refusing it). */
static void prim_start(struct prim *p, const struct soa_t *t)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->acfg.edns_size = 1232;
	p->acfg.xfr_max = 4;
	atomic_init(&p->stop, false);
	atomic_init(&p->tcp_close, false);
	atomic_init(&p->hold, false);
	atomic_init(&p->held, 0);
	prim_set(p, t);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	p->tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(p->tcp, 0);
	int one = 1;
	setsockopt(p->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(p->tcp, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t sl = sizeof(sa);
	ck_assert_int_eq(getsockname(p->tcp, (struct sockaddr *)&sa, &sl), 0);
	ck_assert_int_eq(listen(p->tcp, 8), 0);
	p->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(p->udp, 0);
	ck_assert_int_eq(bind(p->udp, (struct sockaddr *)&sa, sizeof(sa)), 0);
	p->port = ntohs(sa.sin_port);
	ck_assert_int_eq(pthread_create(&p->th, NULL, prim_thread, p), 0);
	p->running = true;
}

/* Stop it: its port refuses from now on (the db stays for prim_free). */
static void prim_close(struct prim *p)
{
	if (!p->running)
		return;
	atomic_store(&p->stop, true);
	pthread_join(p->th, NULL);
	close(p->tcp);
	close(p->udp);
	p->running = false;
}

static void prim_free(struct prim *p)
{
	prim_close(p);
	zonedb_free(p->db);
	p->db = NULL;
	pthread_mutex_destroy(&p->lock);
}

/* A port nobody listens on (UDP and TCP refuse). */
static uint16_t dead_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t sl = sizeof(sa);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* ---------------------------------------------------------------- the secondary */

struct fix {
	char dir[512];
	struct conf *conf;
	struct zoneset set;
	struct zone_spec specs[2];
	size_t nspecs;
	struct secondary *sec;
	struct ut_diag diag;
	uint8_t apex[DNAME_MAX];
	size_t apex_len;
	uint8_t other[DNAME_MAX];
	size_t other_len;
};

/* The configuration: sec.test a secondary of 127.0.0.1@port with `extra`
 * settings (YAML lines at the zone's indentation), prim.test not; both
 * stored in f->dir. without_sec: sec.test left out. */
static struct conf *conf_of(struct fix *f, uint16_t port, const char *extra, bool without_sec)
{
	char text[4096];
	int n = snprintf(text, sizeof(text),
	                 "remote:\n"
	                 "  - id: p\n"
	                 "    address: 127.0.0.1@%u\n"
	                 "zone:\n"
	                 "  - domain: " OTHER "\n"
	                 "    storage: %s\n",
	                 port, f->dir);
	if (!without_sec)
		n += snprintf(text + n, sizeof(text) - (size_t)n,
		              "  - domain: " ORIGIN "\n"
		              "    primary: p\n"
		              "    storage: %s\n"
		              "%s",
		              f->dir, extra ? extra : "");
	ck_assert_int_lt(n, (int)sizeof(text));
	struct conf *c = NULL;
	ck_assert_int_eq(conf_load_buf("sec.conf", text, strlen(text), diag_print, NULL, &c), 0);
	return c;
}

/* Load the zoneset from f->conf (sec.test a secondary zone_spec). */
static void set_load(struct fix *f, bool with_sec)
{
	f->nspecs = 0;
	for (size_t i = 0; i < f->conf->nzones; i++) {
		const struct conf_zone *cz = &f->conf->zones[i];
		bool is_sec = cz->apex_len == f->apex_len && !memcmp(cz->apex, f->apex, f->apex_len);
		if (is_sec && !with_sec)
			continue;
		struct zone_spec *s = &f->specs[f->nspecs++];
		memset(s, 0, sizeof(*s));
		memcpy(s->apex, cz->apex, cz->apex_len);
		s->apex_len = cz->apex_len;
		s->file = cz->file;
		s->where = cz->where;
		s->secondary = is_sec;
	}
	struct zonedb *db = NULL;
	struct zoneset_stats st;
	f->diag.n = 0;
	ck_assert_int_eq(zoneset_update(&f->set, f->specs, f->nspecs, false, NULL, 0, ut_diag_fn,
	                                &f->diag, &db, &st),
	                 0);
	zonedb_free(db);
}

static struct secondary *sec_new(void)
{
	struct secondary_cfg cfg = {.no_threads = true, .now = fake_now};
	struct secondary *s = secondary_new(&cfg);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* dir made; sec.test written at `t` (NULL: no copy: a stub); the
 * secondary synced at T0. */
static void fix_start(struct fix *f, const struct soa_t *t, uint16_t port, const char *extra)
{
	memset(f, 0, sizeof(*f));
	ut_tmpdir(f->dir, sizeof(f->dir));
	f->apex_len = ut_name(ORIGIN, f->apex);
	f->other_len = ut_name(OTHER, f->other);
	if (t)
		write_zone(f->dir, t);
	write_other(f->dir);
	f->conf = conf_of(f, port, extra, false);
	set_load(f, true);
	g_now = T0;
	f->sec = sec_new();
	secondary_sync(f->sec, f->conf, &f->set);
}

static void fix_stop(struct fix *f)
{
	secondary_free(f->sec);
	zoneset_clear(&f->set);
	conf_free(f->conf);
	ut_rmtree(f->dir);
}

/* The version of sec.test the set serves. */
static struct zone *served(struct fix *f)
{
	struct zone_state *s = zoneset_find(&f->set, f->apex, f->apex_len);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(s->zone);
	return s->zone;
}

static const char *status(struct fix *f)
{
	static char buf[4096];
	size_t n = secondary_status(f->sec, f->apex, f->apex_len, false, buf, sizeof(buf));
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_lt(n, sizeof(buf));
	return buf;
}

/* The status says the last check ran at `t`. */
static bool last_check_at(struct fix *f, int64_t t)
{
	char want[64], ts[32];
	snprintf(want, sizeof(want), "last check %s", iso(t, ts, sizeof(ts)));
	return strstr(status(f), want) != NULL;
}

/* Move the clock to `t` and run what is due. */
static void run_at(struct fix *f, int64_t t)
{
	g_now = t;
	secondary_run_once(f->sec);
}

/* The main thread's part: take the updates and serve the newest (as
 * shoal.c's secondary_apply does). \return how many came */
static unsigned apply(struct fix *f, struct secondary_update **keep)
{
	struct secondary_update *u = secondary_collect(f->sec);
	unsigned n = 0;
	for (struct secondary_update *v = u; v; v = v->next) {
		n++;
		ck_assert_uint_eq(v->apex_len, f->apex_len);
		ck_assert_mem_eq(v->apex, f->apex, f->apex_len);
		struct zone_state *s = zoneset_find(&f->set, v->apex, v->apex_len);
		ck_assert_ptr_nonnull(s);
		zone_ref(v->zone);
		zone_unref(s->zone);
		s->zone = v->zone;
	}
	if (keep)
		*keep = u;
	else
		secondary_updates_free(u);
	return n;
}

/* ---------------------------------------------------------------- 1: unreachable */

/* RFC 1034 §4.3.5: a failed check is tried again after RETRY, here
 * bounded by retry-min/max-interval to exactly 5 s (an SOA RETRY below
 * and one above the bounds). */
START_TEST(unreachable_retry)
{
	static const uint32_t retries[] = {3, 600};
	for (size_t i = 0; i < 2; i++) {
		struct soa_t t = {5, 10, retries[i], 1000};
		struct fix f;
		fix_start(&f, &t, dead_port(),
		          "    retry-min-interval: 5\n    retry-max-interval: 5\n");
		/* the first check is due at once */
		ck_assert(!last_check_at(&f, T0));
		run_at(&f, T0);
		ck_assert_msg(last_check_at(&f, T0), "%s", status(&f));
		ck_assert(!atomic_load(&served(&f)->expired)); /* the copy serves */
		run_at(&f, T0 + 4);
		ck_assert_msg(last_check_at(&f, T0), "4 s later: not due yet:\n%s", status(&f));
		run_at(&f, T0 + 5);
		ck_assert_msg(last_check_at(&f, T0 + 5), "5 s later: due:\n%s", status(&f));
		run_at(&f, T0 + 9);
		ck_assert(last_check_at(&f, T0 + 5));
		run_at(&f, T0 + 10);
		ck_assert(last_check_at(&f, T0 + 10));
		ck_assert_ptr_null(secondary_collect(f.sec));
		fix_stop(&f);
	}
}
END_TEST

/* RFC 1034 §4.3.5: with no successful refresh for EXPIRE after the last
 * one, the zone expires (SERVFAIL); before that it serves. */
START_TEST(expire_after_last_success)
{
	struct soa_t t = {5, 10, 5, 20};
	struct prim p;
	prim_start(&p, &t);
	struct fix f;
	fix_start(&f, &t, p.port, "    retry-min-interval: 5\n    retry-max-interval: 5\n");
	run_at(&f, T0 + 3);
	ck_assert_uint_ge(atomic_load(&p.queries), 1);
	ck_assert(!atomic_load(&served(&f)->expired));
	ck_assert_int_eq(atomic_load(&served(&f)->expire_at), T0 + 3 + 20);
	prim_close(&p); /* unreachable from now on */
	unsigned before = atomic_load(&p.queries);
	for (int64_t s = T0 + 4; s <= T0 + 3 + 19; s++) {
		run_at(&f, s);
		ck_assert_msg(!atomic_load(&served(&f)->expired), "expired at +%lld s",
		              (long long)(s - T0 - 3));
	}
	ck_assert_uint_eq(atomic_load(&p.queries), before);
	ck_assert(last_check_at(&f, T0 + 3 + 15)); /* refresh at +10, retries every 5 */
	(void)secondary_take_changed(f.sec);
	run_at(&f, T0 + 3 + 21);
	ck_assert_msg(atomic_load(&served(&f)->expired), "%s", status(&f));
	ck_assert(secondary_take_changed(f.sec));
	ck_assert(!secondary_take_changed(f.sec)); /* once */
	ck_assert_ptr_nonnull(strstr(status(&f), "expired"));
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* ---------------------------------------------------------------- 2: same serial */

/* A primary with our serial: the check succeeds, the expiry is renewed to
 * now + EXPIRE, and the next check comes after REFRESH bounded by
 * refresh-min-interval / refresh-max-interval. */
START_TEST(same_serial_refresh_bounds)
{
	static const struct {
		uint32_t refresh;
		const char *extra;
		uint32_t want;
	} cases[] = {
	    {10, "    refresh-min-interval: 60\n", 60},	      /* below the floor */
	    {86400, "    refresh-max-interval: 100\n", 100},    /* above the ceiling */
	    {300, "    refresh-min-interval: 60\n    refresh-max-interval: 1000\n", 300},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct soa_t t = {5, cases[i].refresh, 30, 100000};
		struct prim p;
		prim_start(&p, &t);
		struct fix f;
		fix_start(&f, &t, p.port, cases[i].extra);
		run_at(&f, T0);
		ck_assert_uint_ge(atomic_load(&p.soa), 1);
		ck_assert_uint_eq(atomic_load(&p.axfr) + atomic_load(&p.ixfr), 0);
		ck_assert(!atomic_load(&served(&f)->expired));
		ck_assert_int_eq(atomic_load(&served(&f)->expire_at), T0 + 100000);
		ck_assert_ptr_null(secondary_collect(f.sec)); /* nothing new */
		unsigned q = atomic_load(&p.queries);
		run_at(&f, T0 + cases[i].want - 1);
		ck_assert_msg(atomic_load(&p.queries) == q, "case %zu: checked before %u s", i,
		              cases[i].want);
		run_at(&f, T0 + cases[i].want);
		ck_assert_msg(atomic_load(&p.queries) > q, "case %zu: not checked at %u s", i,
		              cases[i].want);
		ck_assert_int_eq(atomic_load(&served(&f)->expire_at),
		                 T0 + cases[i].want + 100000);
		fix_stop(&f);
		prim_free(&p);
	}
}
END_TEST

/* ---------------------------------------------------------------- 3: newer serial */

static void expect_saved(struct fix *f, uint32_t serial)
{
	char path[1024];
	ut_path(path, sizeof(path), f->dir, "sec.test.zone");
	ck_assert_int_eq(access(path, F_OK), 0);
	struct ut_diag d = {0};
	unsigned nerr = 0;
	struct zone *z = zone_load_file(path, f->apex, ut_diag_fn, &d, &nerr);
	if (!z)
		ut_diag_dump(&d);
	ck_assert_ptr_nonnull(z);
	ck_assert_uint_eq(z->serial, serial);
	zone_free(z);
}

START_TEST(newer_serial_transferred)
{
	struct soa_t ours = {5, 3600, 600, 86400}, theirs = {6, 3600, 600, 86400};
	struct prim p;
	prim_start(&p, &theirs);
	struct fix f;
	fix_start(&f, &ours, p.port, NULL);
	run_at(&f, T0);
	ck_assert_uint_eq(atomic_load(&p.axfr) + atomic_load(&p.ixfr), 1);
	struct secondary_update *u = NULL;
	ck_assert_uint_eq(apply(&f, &u), 1);
	ck_assert_ptr_nonnull(u->zone);
	ck_assert_uint_eq(u->zone->serial, 6);
	ck_assert(!u->zone->stub);
	ck_assert(!atomic_load(&u->zone->expired));
	ck_assert_int_eq(atomic_load(&u->zone->expire_at), T0 + 86400);
	const struct node *www = ut_node(u->zone, "www." ORIGIN);
	ck_assert_ptr_nonnull(www); /* the primary's data */
	secondary_updates_free(u);
	/* zonefile-sync 0 (the default): the copy is written at once */
	expect_saved(&f, 6);
	ck_assert_ptr_null(strstr(status(&f), "expired"));
	/* the new serial is ours: the next check finds it current */
	unsigned x = atomic_load(&p.axfr) + atomic_load(&p.ixfr);
	run_at(&f, T0 + 3600);
	ck_assert_uint_eq(atomic_load(&p.axfr) + atomic_load(&p.ixfr), x);
	ck_assert_ptr_null(secondary_collect(f.sec));
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* No copy at all (a stub, SERVFAIL): the first transfer is an AXFR (there
 * is no serial to ask an IXFR from), and the zone answers after it. */
START_TEST(stub_first_axfr)
{
	struct soa_t theirs = {42, 3600, 600, 86400};
	struct prim p;
	prim_start(&p, &theirs);
	struct fix f;
	fix_start(&f, NULL, p.port, NULL);
	ck_assert(served(&f)->stub);
	ck_assert(atomic_load(&served(&f)->expired));
	run_at(&f, T0);
	ck_assert_uint_eq(atomic_load(&p.axfr), 1);
	ck_assert_uint_eq(atomic_load(&p.ixfr), 0);
	struct secondary_update *u = NULL;
	ck_assert_uint_eq(apply(&f, &u), 1);
	ck_assert(u->full);
	ck_assert_uint_eq(u->zone->serial, 42);
	ck_assert(!atomic_load(&u->zone->expired));
	ck_assert(!atomic_load(&served(&f)->expired));
	secondary_updates_free(u);
	expect_saved(&f, 42);
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* ---------------------------------------------------------------- 4: older serial */

/* RFC 1982: a serial older than ours is not an update: nothing is
 * transferred, and the status says why. */
START_TEST(older_serial_not_followed)
{
	struct soa_t ours = {10, 3600, 600, 86400}, theirs = {9, 3600, 600, 86400};
	struct prim p;
	prim_start(&p, &theirs);
	struct fix f;
	fix_start(&f, &ours, p.port, NULL);
	run_at(&f, T0);
	ck_assert_uint_ge(atomic_load(&p.soa), 1);
	ck_assert_uint_eq(atomic_load(&p.axfr) + atomic_load(&p.ixfr), 0);
	ck_assert_ptr_null(secondary_collect(f.sec));
	ck_assert_uint_eq(served(&f)->serial, 10);
	const char *st = status(&f);
	ck_assert_msg(strstr(st, "older") && strstr(st, "not followed"), "%s", st);
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* ---------------------------------------------------------------- 5: NOTIFY */

START_TEST(notify_makes_check_due)
{
	struct soa_t t = {5, 3600, 600, 86400};
	struct prim p;
	prim_start(&p, &t);
	struct fix f;
	fix_start(&f, &t, p.port, NULL);
	run_at(&f, T0);
	unsigned q = atomic_load(&p.queries);
	ck_assert_uint_ge(q, 1);
	run_at(&f, T0 + 10);
	ck_assert_uint_eq(atomic_load(&p.queries), q); /* REFRESH is far */

	/* RFC 1996 §3.11 (and 4.7): a NOTIFY naming the serial we have
	 * changes nothing */
	ck_assert(secondary_notify(f.sec, f.apex, f.apex_len, true, 5));
	run_at(&f, T0 + 11);
	ck_assert_uint_eq(atomic_load(&p.queries), q);

	/* RFC 1996 §3.7: one without a serial: the check is due now */
	ck_assert(secondary_notify(f.sec, f.apex, f.apex_len, false, 0));
	run_at(&f, T0 + 12);
	ck_assert_uint_gt(atomic_load(&p.queries), q);
	ck_assert(last_check_at(&f, T0 + 12));
	ck_assert_ptr_null(secondary_collect(f.sec));

	/* a newer serial announced: checked, and transferred */
	struct soa_t t2 = {6, 3600, 600, 86400};
	prim_set(&p, &t2);
	q = atomic_load(&p.queries);
	ck_assert(secondary_notify(f.sec, f.apex, f.apex_len, true, 6));
	run_at(&f, T0 + 13);
	ck_assert_uint_gt(atomic_load(&p.queries), q);
	struct secondary_update *u = NULL;
	ck_assert_uint_eq(apply(&f, &u), 1);
	ck_assert_uint_eq(u->zone->serial, 6);
	secondary_updates_free(u);

	/* our serial now 6: a NOTIFY with 6 changes nothing */
	q = atomic_load(&p.queries);
	ck_assert(secondary_notify(f.sec, f.apex, f.apex_len, true, 6));
	run_at(&f, T0 + 14);
	ck_assert_uint_eq(atomic_load(&p.queries), q);

	/* not a secondary zone of ours (a zone we are the primary of, a zone
	 * we do not have) */
	ck_assert(!secondary_notify(f.sec, f.other, f.other_len, false, 0));
	uint8_t none[DNAME_MAX];
	size_t nl = ut_name("nowhere.test.", none);
	ck_assert(!secondary_notify(f.sec, none, nl, true, 1));
	run_at(&f, T0 + 15);
	ck_assert_uint_eq(atomic_load(&p.queries), q);
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* ---------------------------------------------------------------- 6: retransfer */

START_TEST(retransfer_axfr_same_serial)
{
	struct soa_t t = {5, 3600, 600, 86400};
	struct prim p;
	prim_start(&p, &t);
	struct fix f;
	fix_start(&f, &t, p.port, NULL);
	run_at(&f, T0);
	ck_assert_uint_eq(atomic_load(&p.axfr) + atomic_load(&p.ixfr), 0);
	ck_assert_int_eq(secondary_refresh(f.sec, f.apex, f.apex_len, true), 0);
	run_at(&f, T0 + 1);
	ck_assert_uint_eq(atomic_load(&p.axfr), 1);
	ck_assert_uint_eq(atomic_load(&p.ixfr), 0);
	struct secondary_update *u = NULL;
	ck_assert_uint_eq(apply(&f, &u), 1);
	ck_assert(u->full);
	ck_assert_uint_eq(u->zone->serial, 5);
	ck_assert(!atomic_load(&u->zone->expired));
	secondary_updates_free(u);

	/* zone-refresh (no AXFR): a check now, SOA only */
	unsigned soa = atomic_load(&p.soa);
	ck_assert_int_eq(secondary_refresh(f.sec, f.apex, f.apex_len, false), 0);
	run_at(&f, T0 + 2);
	ck_assert_uint_gt(atomic_load(&p.soa), soa);
	ck_assert_uint_eq(atomic_load(&p.axfr), 1);
	ck_assert_ptr_null(secondary_collect(f.sec));

	ck_assert_int_eq(secondary_refresh(f.sec, f.other, f.other_len, true), -ENOENT);
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* ---------------------------------------------------------------- 7: restart */

/* Restart from the storage at `at`: the set loaded again from the copy, a
 * new secondary synced. */
static void restart_at(struct fix *f, int64_t at)
{
	secondary_free(f->sec);
	zoneset_clear(&f->set);
	set_load(f, true);
	g_now = at;
	f->sec = sec_new();
	secondary_sync(f->sec, f->conf, &f->set);
}

/* The timers survive a restart: a new secondary reading the same storage
 * past the saved expiry serves SERVFAIL at once, before any check; one
 * before it serves, with the same expiry. */
START_TEST(restart_keeps_expiry)
{
	struct soa_t t = {5, 3600, 600, 20};
	struct prim p;
	prim_start(&p, &t);
	struct fix f;
	fix_start(&f, &t, p.port, NULL);
	run_at(&f, T0);
	ck_assert_uint_ge(atomic_load(&p.soa), 1);
	ck_assert_int_eq(atomic_load(&served(&f)->expire_at), T0 + 20);
	prim_close(&p);

	static const struct {
		int64_t at;
		bool expired;
	} cases[] = {{T0 + 25, true}, {T0 + 10, false}, {T0 + 19, false}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		restart_at(&f, cases[i].at);
		ck_assert(!served(&f)->stub);
		ck_assert_msg(atomic_load(&served(&f)->expired) == cases[i].expired,
		              "restart at T0+%lld: expired %d", (long long)(cases[i].at - T0),
		              (int)atomic_load(&served(&f)->expired));
		if (!cases[i].expired)
			ck_assert_int_eq(atomic_load(&served(&f)->expire_at), T0 + 20);
	}
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* A transfer's new version is saved with its timers in the copy's header,
 * no .timers file written for it; a check that brings nothing new writes
 * .timers. At start the later of the two counts, whichever it is. */
START_TEST(restart_later_timers_count)
{
	struct soa_t t5 = {5, 3600, 600, 20}, t6 = {6, 3600, 600, 20};
	struct prim p;
	prim_start(&p, &t5);
	struct fix f;
	fix_start(&f, &t5, p.port, NULL);
	char timers[1024], copy[1024];
	ut_path(timers, sizeof(timers), f.dir, "sec.test.timers");
	ut_path(copy, sizeof(copy), f.dir, "sec.test.zone");
	run_at(&f, T0); /* serial 5 up to date: .timers, T0 + 20 */
	ck_assert_int_eq(access(timers, F_OK), 0);

	prim_set(&p, &t6);
	ck_assert(secondary_notify(f.sec, f.apex, f.apex_len, true, 6));
	struct stat before, after;
	ck_assert_int_eq(stat(timers, &before), 0);
	run_at(&f, T0 + 10); /* serial 6 transferred and saved: T0 + 30 */
	ck_assert_uint_eq(apply(&f, NULL), 1);
	ck_assert_int_eq(stat(timers, &after), 0);
	ck_assert_msg(before.st_ino == after.st_ino && before.st_mtim.tv_nsec == after.st_mtim.tv_nsec,
	              ".timers rewritten for a new version");
	char text[4096], want[128];
	ut_read(copy, text, sizeof(text));
	snprintf(want, sizeof(want), "\n; timers: last-refresh %lld expire %lld\n",
	         (long long)(T0 + 10), (long long)(T0 + 30));
	ck_assert_msg(strstr(text, want) != NULL, "copy's header: %.200s", text);

	/* the copy's timers are the later: served until T0 + 30 */
	restart_at(&f, T0 + 25);
	ck_assert_uint_eq(served(&f)->serial, 6);
	ck_assert(!atomic_load(&served(&f)->expired));
	ck_assert_int_eq(atomic_load(&served(&f)->expire_at), T0 + 30);

	/* checked at once, nothing new: .timers is the later, T0 + 45 */
	run_at(&f, T0 + 25);
	ck_assert_ptr_null(secondary_collect(f.sec));
	restart_at(&f, T0 + 35);
	ck_assert(!atomic_load(&served(&f)->expired));
	ck_assert_int_eq(atomic_load(&served(&f)->expire_at), T0 + 45);
	restart_at(&f, T0 + 46);
	ck_assert(atomic_load(&served(&f)->expired));
	prim_close(&p);
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* ---------------------------------------------------------------- 8: back */

START_TEST(expired_comes_back)
{
	struct soa_t t = {5, 10, 5, 20};
	struct prim p;
	prim_start(&p, &t);
	struct fix f;
	fix_start(&f, &t, p.port, "    retry-min-interval: 5\n    retry-max-interval: 5\n");
	run_at(&f, T0);
	ck_assert(!atomic_load(&served(&f)->expired));
	prim_set(&p, NULL); /* REFUSED from now on */
	for (int64_t s = T0 + 1; s <= T0 + 21; s++)
		run_at(&f, s);
	ck_assert(atomic_load(&served(&f)->expired));
	ck_assert(secondary_take_changed(f.sec));
	prim_set(&p, &t); /* back, same serial */
	unsigned q = atomic_load(&p.queries);
	int64_t s = T0 + 22;
	for (; s <= T0 + 30 && atomic_load(&p.queries) == q; s++)
		run_at(&f, s);
	ck_assert_uint_gt(atomic_load(&p.queries), q);
	ck_assert_msg(!atomic_load(&served(&f)->expired), "%s", status(&f));
	ck_assert_int_eq(atomic_load(&served(&f)->expire_at), s - 1 + 20);
	ck_assert(secondary_take_changed(f.sec));
	ck_assert_ptr_null(strstr(status(&f), "expired"));
	ck_assert_ptr_null(secondary_collect(f.sec)); /* same data */
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* ---------------------------------------------------------------- 9: sync */

static void next_check_of(struct fix *f, char *out, size_t size)
{
	const char *st = status(f);
	const char *a = strstr(st, "next check ");
	ck_assert_ptr_nonnull(a);
	a += strlen("next check ");
	const char *b = strstr(a, " (");
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_lt((size_t)(b - a), size);
	memcpy(out, a, (size_t)(b - a));
	out[b - a] = 0;
}

START_TEST(sync_keeps_timers)
{
	struct soa_t t = {5, 3600, 600, 86400};
	struct prim p;
	prim_start(&p, &t);
	struct fix f;
	fix_start(&f, &t, p.port, NULL);
	run_at(&f, T0);
	char before[64], after[64], ts[32];
	next_check_of(&f, before, sizeof(before));
	ck_assert_str_eq(before, iso(T0 + 3600, ts, sizeof(ts)));
	g_now = T0 + 100;
	secondary_sync(f.sec, f.conf, &f.set);
	next_check_of(&f, after, sizeof(after));
	ck_assert_str_eq(after, before);
	ck_assert_int_eq(atomic_load(&served(&f)->expire_at), T0 + 86400);
	unsigned q = atomic_load(&p.queries);
	run_at(&f, T0 + 101);
	ck_assert_uint_eq(atomic_load(&p.queries), q); /* not checked again at once */
	run_at(&f, T0 + 3600);
	ck_assert_uint_gt(atomic_load(&p.queries), q);

	/* the zone gone from the configuration (still in the set, as a
	 * zone of our own): no longer a secondary */
	struct conf *c2 = conf_of(&f, p.port, NULL, true);
	secondary_sync(f.sec, c2, &f.set);
	char buf[256];
	ck_assert_uint_eq(secondary_status(f.sec, f.apex, f.apex_len, false, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(secondary_status(f.sec, f.apex, f.apex_len, true, buf, sizeof(buf)), 0);
	ck_assert(!secondary_notify(f.sec, f.apex, f.apex_len, false, 0));
	ck_assert_int_eq(secondary_refresh(f.sec, f.apex, f.apex_len, false), -ENOENT);
	q = atomic_load(&p.queries);
	run_at(&f, T0 + 100000);
	ck_assert_uint_eq(atomic_load(&p.queries), q);
	conf_free(c2);
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

START_TEST(sync_zone_removed_from_set)
{
	struct soa_t t = {5, 3600, 600, 86400};
	struct prim p;
	prim_start(&p, &t);
	struct fix f;
	fix_start(&f, &t, p.port, NULL);
	run_at(&f, T0);
	ck_assert_uint_gt(secondary_status(f.sec, f.apex, f.apex_len, false, NULL, 0), 0);
	/* the set without sec.test, the configuration unchanged */
	set_load(&f, false);
	ck_assert_ptr_null(zoneset_find(&f.set, f.apex, f.apex_len));
	secondary_sync(f.sec, f.conf, &f.set);
	char buf[256];
	ck_assert_uint_eq(secondary_status(f.sec, f.apex, f.apex_len, false, buf, sizeof(buf)), 0);
	ck_assert(!secondary_notify(f.sec, f.apex, f.apex_len, false, 0));
	unsigned q = atomic_load(&p.queries);
	run_at(&f, T0 + 100000);
	ck_assert_uint_eq(atomic_load(&p.queries), q);
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* ---------------------------------------------------------------- more */

/* RFC 1034 §4.3.5 with no SOA yet (a stub): the retry is the floor of
 * the bounds (secondary.h). */
START_TEST(stub_unreachable_retry_min)
{
	struct fix f;
	fix_start(&f, NULL, dead_port(),
	          "    retry-min-interval: 7\n    retry-max-interval: 100\n");
	run_at(&f, T0);
	ck_assert(last_check_at(&f, T0));
	ck_assert(atomic_load(&served(&f)->expired));
	run_at(&f, T0 + 6);
	ck_assert(last_check_at(&f, T0));
	run_at(&f, T0 + 7);
	ck_assert_msg(last_check_at(&f, T0 + 7), "%s", status(&f));
	ck_assert_ptr_null(secondary_collect(f.sec));
	fix_stop(&f);
}
END_TEST

/* The SOA says newer but the transfer fails: the version served stays,
 * nothing is renewed (the refresh did not complete), and the check is
 * tried again after RETRY. */
START_TEST(transfer_failure_retries)
{
	struct soa_t ours = {5, 3600, 30, 86400}, theirs = {6, 3600, 30, 86400};
	struct prim p;
	prim_start(&p, &theirs);
	atomic_store(&p.tcp_close, true);
	struct fix f;
	fix_start(&f, &ours, p.port, NULL);
	int64_t exp0 = atomic_load(&served(&f)->expire_at);
	run_at(&f, T0 + 1);
	ck_assert_uint_ge(atomic_load(&p.soa), 1);
	ck_assert_ptr_null(secondary_collect(f.sec));
	ck_assert_uint_eq(served(&f)->serial, 5);
	ck_assert(!atomic_load(&served(&f)->expired));
	ck_assert_int_eq(atomic_load(&served(&f)->expire_at), exp0);
	unsigned q = atomic_load(&p.soa);
	run_at(&f, T0 + 1 + 29);
	ck_assert_uint_eq(atomic_load(&p.soa), q);
	atomic_store(&p.tcp_close, false);
	run_at(&f, T0 + 1 + 30);
	ck_assert_uint_gt(atomic_load(&p.soa), q);
	struct secondary_update *u = NULL;
	ck_assert_uint_eq(apply(&f, &u), 1);
	ck_assert_uint_eq(u->zone->serial, 6);
	secondary_updates_free(u);
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* RFC 7314 §4 (secondary.h): a primary whose EDNS EXPIRE is below the
 * SOA's EXPIRE (itself a secondary with an older copy) gives the
 * expiry. */
START_TEST(edns_expire_lower_wins)
{
	struct soa_t t = {5, 3600, 600, 86400};
	struct prim p;
	prim_start(&p, NULL);
	prim_set_exp(&p, &t, (int64_t)time(NULL) + 50);
	struct fix f;
	fix_start(&f, &t, p.port, NULL);
	run_at(&f, T0);
	ck_assert_uint_ge(atomic_load(&p.soa), 1);
	int64_t at = atomic_load(&served(&f)->expire_at);
	ck_assert_msg(at >= T0 + 45 && at <= T0 + 50, "expire_at T0%+lld", (long long)(at - T0));
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* zonefile-sync N > 0: the copy is written N s after the change, not at
 * once; -1: only at shutdown (secondary_free). */
START_TEST(zonefile_sync_delay)
{
	struct soa_t ours = {5, 3600, 600, 86400}, theirs = {6, 3600, 600, 86400};
	struct prim p;
	prim_start(&p, &theirs);
	struct fix f;
	fix_start(&f, &ours, p.port, "    zonefile-sync: 30\n");
	run_at(&f, T0);
	ck_assert_uint_eq(apply(&f, NULL), 1);
	expect_saved(&f, 5);
	run_at(&f, T0 + 29);
	expect_saved(&f, 5);
	run_at(&f, T0 + 30);
	expect_saved(&f, 6);
	fix_stop(&f);

	fix_start(&f, &ours, p.port, "    zonefile-sync: -1\n");
	run_at(&f, T0);
	ck_assert_uint_eq(apply(&f, NULL), 1);
	run_at(&f, T0 + 100000);
	expect_saved(&f, 5);
	secondary_free(f.sec);
	expect_saved(&f, 6);
	f.sec = sec_new();
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* RFC 1982 serial arithmetic: past 2^32 - 1 comes 0; a serial 2^31 away
 * is not newer (undefined: not followed). */
START_TEST(serial_arithmetic)
{
	struct soa_t ours = {0xfffffff0u, 3600, 600, 86400}, theirs = {5, 3600, 600, 86400};
	struct prim p;
	prim_start(&p, &theirs);
	struct fix f;
	fix_start(&f, &ours, p.port, NULL);
	run_at(&f, T0);
	struct secondary_update *u = NULL;
	ck_assert_uint_eq(apply(&f, &u), 1);
	ck_assert_uint_eq(u->zone->serial, 5);
	secondary_updates_free(u);
	fix_stop(&f);
	prim_free(&p);

	struct soa_t a = {5, 3600, 600, 86400}, b = {5u + 0x80000000u, 3600, 600, 86400};
	prim_start(&p, &b);
	fix_start(&f, &a, p.port, NULL);
	run_at(&f, T0);
	ck_assert_uint_ge(atomic_load(&p.soa), 1);
	ck_assert_uint_eq(atomic_load(&p.axfr) + atomic_load(&p.ixfr), 0);
	ck_assert_ptr_null(secondary_collect(f.sec));
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* Each primary address in turn: the first unreachable, the second
 * answers. */
START_TEST(second_primary_answers)
{
	struct soa_t ours = {5, 3600, 600, 86400}, theirs = {6, 3600, 600, 86400};
	struct prim p;
	prim_start(&p, &theirs);
	struct fix f;
	memset(&f, 0, sizeof(f));
	ut_tmpdir(f.dir, sizeof(f.dir));
	f.apex_len = ut_name(ORIGIN, f.apex);
	f.other_len = ut_name(OTHER, f.other);
	write_zone(f.dir, &ours);
	write_other(f.dir);
	char text[2048];
	snprintf(text, sizeof(text),
	         "remote:\n  - id: p\n    address: [127.0.0.1@%u, 127.0.0.1@%u]\n"
	         "zone:\n  - domain: " OTHER "\n    storage: %s\n"
	         "  - domain: " ORIGIN "\n    primary: p\n    storage: %s\n",
	         dead_port(), p.port, f.dir, f.dir);
	ck_assert_int_eq(conf_load_buf("two.conf", text, strlen(text), diag_print, NULL, &f.conf),
	                 0);
	set_load(&f, true);
	g_now = T0;
	f.sec = sec_new();
	secondary_sync(f.sec, f.conf, &f.set);
	run_at(&f, T0);
	struct secondary_update *u = NULL;
	ck_assert_uint_eq(apply(&f, &u), 1);
	ck_assert_uint_eq(u->zone->serial, 6);
	secondary_updates_free(u);
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* After a restart before the saved expiry, the expiry runs on from the
 * saved time (the last successful refresh), not from the restart. */
START_TEST(restart_expiry_runs_on)
{
	struct soa_t t = {5, 3600, 5, 20};
	struct prim p;
	prim_start(&p, &t);
	struct fix f;
	fix_start(&f, &t, p.port, "    retry-min-interval: 5\n    retry-max-interval: 5\n");
	run_at(&f, T0);
	ck_assert_int_eq(atomic_load(&served(&f)->expire_at), T0 + 20);
	prim_close(&p);
	secondary_free(f.sec);
	zoneset_clear(&f.set);
	set_load(&f, true);
	g_now = T0 + 10;
	f.sec = sec_new();
	secondary_sync(f.sec, f.conf, &f.set);
	ck_assert(!atomic_load(&served(&f)->expired));
	for (int64_t s = T0 + 10; s <= T0 + 19; s++)
		run_at(&f, s);
	ck_assert(!atomic_load(&served(&f)->expired));
	run_at(&f, T0 + 21);
	ck_assert(atomic_load(&served(&f)->expired));
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* ---------------------------------------------------------------- known bugs */

/* conf.h: zonefile-sync is "seconds after a change the copy is saved";
 * secondary.h: the copy is "written by zone_save zonefile-sync seconds
 * after a change". A second change inside the delay must not push the
 * first one's save further: a zone that changes more often than
 * zonefile-sync would otherwise never reach the disk before shutdown. */
START_TEST(zonefile_sync_not_postponed)
{
	struct soa_t ours = {5, 3600, 600, 86400}, s6 = {6, 3600, 600, 86400},
		     s7 = {7, 3600, 600, 86400};
	struct prim p;
	prim_start(&p, &s6);
	struct fix f;
	fix_start(&f, &ours, p.port, "    zonefile-sync: 30\n");
	run_at(&f, T0);
	ck_assert_uint_eq(apply(&f, NULL), 1);
	prim_set(&p, &s7);
	ck_assert(secondary_notify(f.sec, f.apex, f.apex_len, true, 7));
	run_at(&f, T0 + 20);
	ck_assert_uint_eq(apply(&f, NULL), 1);
	run_at(&f, T0 + 30);
	char path[1024];
	ut_path(path, sizeof(path), f.dir, "sec.test.zone");
	struct ut_diag d = {0};
	struct zone *z = zone_load_file(path, f.apex, ut_diag_fn, &d, NULL);
	ck_assert_ptr_nonnull(z);
	ck_assert_msg(z->serial != 5,
	              "30 s after the change to serial 6 the copy on disk is still serial 5");
	zone_free(z);
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* secondary.h: the copy and `<zone>.timers` live under the zone's
 * storage, and a restart reads the timers to know whether its copy has
 * expired. A reload that moves the zone's storage moves where its copy is
 * written (secondary_sync takes the new `file`) but must move its timers
 * too: else a restart past the expiry finds a copy without timers and
 * serves it for another EXPIRE (RFC 1034 §4.3.5: SERVFAIL once EXPIRE
 * passed without a successful refresh). */
START_TEST(storage_move_keeps_timers)
{
	struct soa_t ours = {5, 3600, 600, 20}, theirs = {6, 3600, 600, 20};
	struct prim p;
	prim_start(&p, &theirs);
	struct fix f;
	fix_start(&f, &ours, p.port, NULL);
	char dir2[512];
	ut_tmpdir(dir2, sizeof(dir2));
	/* the reload: sec.test's storage moved to dir2 */
	char text[4096];
	snprintf(text, sizeof(text),
	         "remote:\n  - id: p\n    address: 127.0.0.1@%u\n"
	         "zone:\n  - domain: " OTHER "\n    storage: %s\n"
	         "  - domain: " ORIGIN "\n    primary: p\n    storage: %s\n",
	         p.port, f.dir, dir2);
	struct conf *c2 = NULL;
	ck_assert_int_eq(conf_load_buf("sec2.conf", text, strlen(text), diag_print, NULL, &c2), 0);
	/* as the server reloads: the zone set first (the new file), then this */
	struct conf *c1 = f.conf;
	f.conf = c2;
	set_load(&f, true);
	f.conf = c1;
	secondary_sync(f.sec, c2, &f.set);
	run_at(&f, T0);
	ck_assert_uint_eq(apply(&f, NULL), 1); /* serial 6, saved to dir2 */
	char path[1024];
	ut_path(path, sizeof(path), dir2, "sec.test.zone");
	ck_assert_int_eq(access(path, F_OK), 0);
	prim_close(&p);
	secondary_free(f.sec);

	/* restart with the new configuration, past the expiry */
	zoneset_clear(&f.set);
	conf_free(f.conf);
	f.conf = c2;
	set_load(&f, true);
	ck_assert_uint_eq(served(&f)->serial, 6);
	g_now = T0 + 25;
	f.sec = sec_new();
	secondary_sync(f.sec, f.conf, &f.set);
	ut_path(path, sizeof(path), dir2, "sec.test.timers");
	ck_assert_msg(atomic_load(&served(&f)->expired),
	              "restart 25 s after the last refresh (EXPIRE 20): still served; "
	              "%s %s",
	              path, access(path, F_OK) == 0 ? "exists" : "missing");
	fix_stop(&f);
	ut_rmtree(dir2);
	prim_free(&p);
}
END_TEST

/* The storage moved twice (each move's paths replace the last's): the copy
 * and the timers follow it each time, nothing left behind. */
START_TEST(storage_moves_twice)
{
	struct soa_t ours = {5, 3600, 600, 20}, theirs = {6, 3600, 600, 20};
	struct prim p;
	prim_start(&p, &theirs);
	struct fix f;
	fix_start(&f, &ours, p.port, NULL);
	char dirs[2][512], path[1024];
	struct conf *c[2] = {NULL, NULL}, *c0 = f.conf;
	for (int k = 0; k < 2; k++) {
		ut_tmpdir(dirs[k], sizeof(dirs[k]));
		char text[4096];
		snprintf(text, sizeof(text),
		         "remote:\n  - id: p\n    address: 127.0.0.1@%u\n"
		         "zone:\n  - domain: " OTHER "\n    storage: %s\n"
		         "  - domain: " ORIGIN "\n    primary: p\n    storage: %s\n",
		         p.port, f.dir, dirs[k]);
		ck_assert_int_eq(
		    conf_load_buf("sec2.conf", text, strlen(text), diag_print, NULL, &c[k]), 0);
		f.conf = c[k];
		set_load(&f, true);
		f.conf = c0;
		ck_assert_str_eq(zoneset_find(&f.set, f.apex, f.apex_len)->file,
		                 conf_zone_find(c[k], f.apex, f.apex_len)->file);
		secondary_sync(f.sec, c[k], &f.set);
		if (k == 0) {
			run_at(&f, T0);
			ck_assert_uint_eq(apply(&f, NULL), 1); /* serial 6, saved to dirs[0] */
			/* the copy carries the timers; a check without a new
			 * version writes them beside it */
			ut_path(path, sizeof(path), dirs[k], "sec.test.timers");
			ck_assert_msg(access(path, F_OK) < 0, "%s written with the copy", path);
			run_at(&f, T0 + 3600);
		}
		ut_path(path, sizeof(path), dirs[k], "sec.test.zone");
		ck_assert_msg(access(path, F_OK) == 0, "%s missing", path);
		ut_path(path, sizeof(path), dirs[k], "sec.test.timers");
		ck_assert_msg(access(path, F_OK) == 0, "%s missing", path);
	}
	const char *gone[] = {f.dir, dirs[0]};
	for (int k = 0; k < 2; k++) {
		ut_path(path, sizeof(path), gone[k], "sec.test.zone");
		ck_assert_msg(access(path, F_OK) < 0, "%s left behind", path);
		ut_path(path, sizeof(path), gone[k], "sec.test.timers");
		ck_assert_msg(access(path, F_OK) < 0, "%s left behind", path);
	}
	ck_assert_uint_eq(served(&f)->serial, 6);
	fix_stop(&f);
	for (int k = 0; k < 2; k++) {
		conf_free(c[k]);
		ut_rmtree(dirs[k]);
	}
	prim_free(&p);
}
END_TEST

/* ---------------------------------------------------------------- shared primaries */

#define KEY_A "c2hvYWwtc2Vjb25kYXJ5LXRlc3Qta2V5LWEtMDEyMzQ="
#define KEY_B "c2hvYWwtc2Vjb25kYXJ5LXRlc3Qta2V5LWItOTg3NjU="

/* sec.test a secondary of remote `sec_prim` (NULL: not in the
 * configuration), prim.test one of `other_prim`: p and q the primary
 * under two names, pk p signed with key k (its secret `secret`). */
static struct conf *conf_both(struct fix *f, uint16_t port, const char *sec_prim,
                              const char *other_prim, const char *secret)
{
	char text[4096];
	int n = snprintf(text, sizeof(text),
	                 "key:\n  - id: k\n    algorithm: hmac-sha256\n    secret: %s\n"
	                 "remote:\n"
	                 "  - id: p\n    address: 127.0.0.1@%u\n"
	                 "  - id: q\n    address: 127.0.0.1@%u\n"
	                 "  - id: pk\n    address: 127.0.0.1@%u\n    key: k\n"
	                 "zone:\n  - domain: " OTHER "\n    primary: %s\n    storage: %s\n",
	                 secret, port, port, port, other_prim, f->dir);
	if (sec_prim)
		n += snprintf(text + n, sizeof(text) - (size_t)n,
		              "  - domain: " ORIGIN "\n    primary: %s\n    storage: %s\n", sec_prim,
		              f->dir);
	ck_assert_int_lt(n, (int)sizeof(text));
	struct conf *c = NULL;
	ck_assert_int_eq(conf_load_buf("both.conf", text, strlen(text), diag_print, NULL, &c), 0);
	return c;
}

/* fix_start with both zones secondaries (conf_both), their copies at `t`. */
static void fix_both(struct fix *f, const struct soa_t *t, uint16_t port, const char *sec_prim,
                     const char *other_prim)
{
	memset(f, 0, sizeof(*f));
	ut_tmpdir(f->dir, sizeof(f->dir));
	f->apex_len = ut_name(ORIGIN, f->apex);
	f->other_len = ut_name(OTHER, f->other);
	write_zone(f->dir, t);
	write_other(f->dir);
	f->conf = conf_both(f, port, sec_prim, other_prim, KEY_A);
	set_load(f, true);
	g_now = T0;
	f->sec = sec_new();
	secondary_sync(f->sec, f->conf, &f->set);
}

/* A reload to `c`; the configuration before is freed (the secondary keeps
 * nothing of it). */
static void reload(struct fix *f, struct conf *c)
{
	secondary_sync(f->sec, c, &f->set);
	conf_free(f->conf);
	f->conf = c;
}

static const void *prims_of(struct fix *f, const uint8_t *apex, size_t len, size_t *nsets)
{
	return secondary_primaries_of(f->sec, apex, len, nsets);
}

static void *run_once_thread(void *arg)
{
	secondary_run_once(arg);
	return NULL;
}

/* sec.test checked at `t` on a thread of its own, held by the primary
 * (busy) until prim_release. */
static void check_held(struct fix *f, struct prim *p, int64_t t, pthread_t *th)
{
	ck_assert_int_eq(secondary_refresh(f->sec, f->apex, f->apex_len, false), 0);
	atomic_store(&p->held, 0);
	atomic_store(&p->hold, true);
	g_now = t;
	ck_assert_int_eq(pthread_create(th, NULL, run_once_thread, f->sec), 0);
	while (!atomic_load(&p->held))
		usleep(1000);
}

static void prim_release(struct prim *p, pthread_t th)
{
	atomic_store(&p->hold, false);
	pthread_join(th, NULL);
}

/* Zones with the same primaries (addresses in order, key, names) share
 * one set, whichever configuration they came from; a zone whose primaries
 * change takes a set of its own, the other keeps the one it had. */
START_TEST(primaries_shared)
{
	struct soa_t t = {5, 3600, 600, 86400};
	struct prim p;
	prim_start(&p, &t);
	struct fix f;
	fix_both(&f, &t, p.port, "p", "p");
	size_t nsets = 0;
	const void *shared = prims_of(&f, f.apex, f.apex_len, &nsets);
	ck_assert_ptr_nonnull(shared);
	ck_assert_ptr_eq(prims_of(&f, f.other, f.other_len, &nsets), shared);
	ck_assert_uint_eq(nsets, 1);
	run_at(&f, T0);
	ck_assert_ptr_nonnull(strstr(status(&f), "up to date with p 127.0.0.1"));

	/* the same primaries from a new configuration: the same set */
	reload(&f, conf_both(&f, p.port, "p", "p", KEY_A));
	ck_assert_ptr_eq(prims_of(&f, f.apex, f.apex_len, &nsets), shared);
	ck_assert_ptr_eq(prims_of(&f, f.other, f.other_len, &nsets), shared);
	ck_assert_uint_eq(nsets, 1);

	/* sec.test's changed (the same address, another name): its own */
	reload(&f, conf_both(&f, p.port, "q", "p", KEY_A));
	const void *q = prims_of(&f, f.apex, f.apex_len, &nsets);
	ck_assert_ptr_ne(q, shared);
	ck_assert_ptr_eq(prims_of(&f, f.other, f.other_len, &nsets), shared);
	ck_assert_uint_eq(nsets, 2); /* p's still held: sec.test's status names it */

	/* both signed with k: one set again; q's freed, p's kept while the
	 * zones' statuses name it (until their next checks) */
	reload(&f, conf_both(&f, p.port, "pk", "pk", KEY_A));
	const void *ka = prims_of(&f, f.apex, f.apex_len, &nsets);
	ck_assert_ptr_ne(ka, shared);
	ck_assert_ptr_ne(ka, q);
	ck_assert_ptr_eq(prims_of(&f, f.other, f.other_len, &nsets), ka);
	ck_assert_uint_eq(nsets, 2);

	/* k's secret changed: not the same primaries */
	reload(&f, conf_both(&f, p.port, "pk", "pk", KEY_B));
	const void *kb = prims_of(&f, f.apex, f.apex_len, &nsets);
	ck_assert_ptr_ne(kb, ka);
	ck_assert_ptr_eq(prims_of(&f, f.other, f.other_len, &nsets), kb);
	ck_assert_uint_eq(nsets, 2);

	/* a check signed with the set's copy of k (the configuration it came
	 * from is gone): the status names pk; p's set dropped */
	ck_assert_int_eq(secondary_refresh(f.sec, f.apex, f.apex_len, false), 0);
	run_at(&f, T0 + 1);
	ck_assert_ptr_nonnull(strstr(status(&f), "    secondary of pk 127.0.0.1"));
	prims_of(&f, f.apex, f.apex_len, &nsets);
	ck_assert_uint_eq(nsets, 2); /* kb, and p's that prim.test's status names */
	ck_assert_int_eq(secondary_refresh(f.sec, f.other, f.other_len, false), 0);
	run_at(&f, T0 + 2);
	prims_of(&f, f.apex, f.apex_len, &nsets);
	ck_assert_uint_eq(nsets, 1);
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* A reload while sec.test's check runs: the check goes on with the set it
 * has (the thread reads it without the lock), the new one is taken when
 * it ends; a second reload meanwhile replaces the first's (freed). */
START_TEST(primaries_reload_while_busy)
{
	struct soa_t t = {5, 3600, 600, 86400};
	struct prim p;
	prim_start(&p, &t);
	struct fix f;
	fix_both(&f, &t, p.port, "p", "p");
	run_at(&f, T0);
	size_t nsets = 0;
	const void *shared = prims_of(&f, f.apex, f.apex_len, &nsets);

	pthread_t th;
	check_held(&f, &p, T0 + 1, &th);
	reload(&f, conf_both(&f, p.port, "q", "p", KEY_A));
	ck_assert_ptr_eq(prims_of(&f, f.apex, f.apex_len, &nsets), shared);
	ck_assert_uint_eq(nsets, 2); /* p's, and q's waiting */
	reload(&f, conf_both(&f, p.port, "pk", "p", KEY_A));
	ck_assert_ptr_eq(prims_of(&f, f.apex, f.apex_len, &nsets), shared);
	ck_assert_uint_eq(nsets, 2); /* p's, and pk's waiting: q's freed */
	ck_assert_ptr_eq(prims_of(&f, f.other, f.other_len, &nsets), shared);
	prim_release(&p, th);

	/* the check asked p; sec.test follows pk from now on */
	ck_assert_ptr_nonnull(strstr(status(&f), "up to date with p 127.0.0.1"));
	const void *mine = prims_of(&f, f.apex, f.apex_len, &nsets);
	ck_assert_ptr_nonnull(mine);
	ck_assert_ptr_ne(mine, shared);
	ck_assert_ptr_eq(prims_of(&f, f.other, f.other_len, &nsets), shared);
	ck_assert_uint_eq(nsets, 2);

	/* held again, signed with pk's copy of k; the configuration it came
	 * from freed meanwhile (sec.test back to p) */
	check_held(&f, &p, T0 + 2, &th);
	reload(&f, conf_both(&f, p.port, "p", "p", KEY_B));
	ck_assert_ptr_eq(prims_of(&f, f.apex, f.apex_len, &nsets), mine);
	ck_assert_uint_eq(nsets, 2); /* pk's, and p's shared and waiting */
	prim_release(&p, th);
	ck_assert_ptr_nonnull(strstr(status(&f), "    secondary of pk 127.0.0.1"));
	ck_assert_ptr_eq(prims_of(&f, f.apex, f.apex_len, &nsets), shared);
	ck_assert_uint_eq(nsets, 2); /* pk's while sec.test's status names it */
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* A set is freed when its last zone drops it: the zone dropped by a
 * reload, gone while a check runs (freed when it ends), or purged. */
START_TEST(primaries_freed_with_last_zone)
{
	struct soa_t t = {5, 3600, 600, 86400};
	struct prim p;
	prim_start(&p, &t);
	struct fix f;
	fix_both(&f, &t, p.port, "p", "p");
	run_at(&f, T0);
	size_t nsets = 0;
	reload(&f, conf_both(&f, p.port, "q", "p", KEY_A));
	ck_assert_ptr_nonnull(prims_of(&f, f.apex, f.apex_len, &nsets));
	ck_assert_uint_eq(nsets, 2);

	/* sec.test gone from the configuration: q's set with it */
	reload(&f, conf_both(&f, p.port, NULL, "p", KEY_A));
	ck_assert_ptr_null(prims_of(&f, f.apex, f.apex_len, &nsets));
	ck_assert_uint_eq(nsets, 1);

	/* back, and gone again while busy: q's set stays until the check
	 * ends */
	reload(&f, conf_both(&f, p.port, "q", "p", KEY_A));
	ck_assert_ptr_nonnull(prims_of(&f, f.apex, f.apex_len, &nsets));
	ck_assert_uint_eq(nsets, 2);
	pthread_t th;
	check_held(&f, &p, T0 + 1, &th);
	reload(&f, conf_both(&f, p.port, NULL, "p", KEY_A));
	ck_assert_ptr_null(prims_of(&f, f.apex, f.apex_len, &nsets));
	ck_assert_uint_eq(nsets, 2);
	prim_release(&p, th);
	ck_assert_ptr_null(prims_of(&f, f.apex, f.apex_len, &nsets));
	ck_assert_uint_eq(nsets, 1);

	/* prim.test purged: none left */
	secondary_purge(f.sec, f.other, f.other_len);
	ck_assert_ptr_null(prims_of(&f, f.other, f.other_len, &nsets));
	ck_assert_uint_eq(nsets, 0);
	fix_stop(&f);
	prim_free(&p);
}
END_TEST

/* ---------------------------------------------------------------- main */

static Suite *suite(void)
{
	Suite *s = suite_create("secondary");
	TCase *tc = tcase_create("refresh");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, unreachable_retry);
	tcase_add_test(tc, expire_after_last_success);
	tcase_add_test(tc, same_serial_refresh_bounds);
	tcase_add_test(tc, newer_serial_transferred);
	tcase_add_test(tc, stub_first_axfr);
	tcase_add_test(tc, older_serial_not_followed);
	tcase_add_test(tc, notify_makes_check_due);
	tcase_add_test(tc, retransfer_axfr_same_serial);
	tcase_add_test(tc, restart_keeps_expiry);
	tcase_add_test(tc, restart_later_timers_count);
	tcase_add_test(tc, expired_comes_back);
	tcase_add_test(tc, sync_keeps_timers);
	tcase_add_test(tc, sync_zone_removed_from_set);
	tcase_add_test(tc, stub_unreachable_retry_min);
	tcase_add_test(tc, transfer_failure_retries);
	tcase_add_test(tc, edns_expire_lower_wins);
	tcase_add_test(tc, zonefile_sync_delay);
	tcase_add_test(tc, serial_arithmetic);
	tcase_add_test(tc, second_primary_answers);
	tcase_add_test(tc, restart_expiry_runs_on);
	suite_add_tcase(s, tc);

	tc = tcase_create("shared primaries");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, primaries_shared);
	tcase_add_test(tc, primaries_reload_while_busy);
	tcase_add_test(tc, primaries_freed_with_last_zone);
	suite_add_tcase(s, tc);

	/* bugs these found, fixed */
	tc = tcase_create("regressions");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, zonefile_sync_not_postponed);
	tcase_add_test(tc, storage_move_keeps_timers);
	tcase_add_test(tc, storage_moves_twice);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
