/* tcp.c: DNS over TCP (RFC 1035 §4.2.2, RFC 7766): one epoll loop per
 * worker over its own SO_REUSEPORT listeners and its connections. Nothing
 * here blocks: a slow or silent client costs only its own buffers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>

#include "answer.h"
#include "log.h"
#include "query.h"
#include "server.h"
#include "stats.h"
#include "zonedb.h"

#define TCP_MSG_MAX 65535	   /* two-octet length prefix */
#define TCP_IN_INITIAL 1024	   /* most queries are < 100 octets; grows on demand */
#define TCP_ACCEPT_BATCH 64	   /* accepts per wakeup, so a flood cannot starve I/O */
#define TCP_EVENTS 64
/* Reads per connection per wakeup: a client streaming queries without
 * pause must not starve the others; epoll (level-triggered) brings us
 * back to what is left in its socket. */
#define TCP_READ_BURST 4

enum ep_kind { EP_LISTENER, EP_WAKE, EP_CONN, EP_DEAD };

struct ep_tag {
	enum ep_kind kind;
	int fd;
};

struct tcp_conn {
	struct ep_tag tag;	/* first: epoll data points here */
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;		/* unsent tail of a response */
	size_t out_len, out_off;
	uint64_t last_ms;
	struct tcp_conn *prev, *next; /* LRU: head is the longest idle */
};

struct tcp_state {
	struct tcp_worker *w;
	struct ep_tag listeners[LISTEN_MAX];
	struct ep_tag wake;
	struct tcp_conn *head, *tail;
	struct tcp_conn *dead;	/* closed this round; freed after the event loop */
	unsigned nconns;
	bool draining;		/* listeners closed; leave when connections are done */
	uint64_t drain_until;	/* ms: leave then in any case */
	uint8_t *scratch;	/* 2 + 65535: one response being written */
	struct log_limiter lim;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int tcp_worker_init(struct tcp_worker *w)
{
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->epfd < 0 || w->wake_fd < 0)
		return -1;
	return 0;
}

static void lru_unlink(struct tcp_state *s, struct tcp_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		s->tail = c->prev;
	c->prev = c->next = NULL;
}

static void lru_touch(struct tcp_state *s, struct tcp_conn *c)
{
	c->last_ms = now_ms();
	if (s->tail == c)
		return;
	if (c->prev || c->next || s->head == c)
		lru_unlink(s, c);
	c->prev = s->tail;
	c->next = NULL;
	if (s->tail)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
}

static void conn_close(struct tcp_state *s, struct tcp_conn *c)
{
	lru_unlink(s, c);
	epoll_ctl(s->w->epfd, EPOLL_CTL_DEL, c->tag.fd, NULL);
	close(c->tag.fd);
	/* Later events of this round may still point here: mark it dead and
	 * free it after the round. */
	c->tag.kind = EP_DEAD;
	c->tag.fd = -1;
	c->next = s->dead;
	s->dead = c;
	s->nconns--;
}

static void free_dead(struct tcp_state *s)
{
	while (s->dead) {
		struct tcp_conn *c = s->dead;
		s->dead = c->next;
		free(c->in);
		free(c->out);
		free(c);
	}
}

static void conn_want(struct tcp_state *s, struct tcp_conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events | EPOLLRDHUP, .data.ptr = &c->tag};
	epoll_ctl(s->w->epfd, EPOLL_CTL_MOD, c->tag.fd, &ev);
}

/* Send what is pending. Returns 0 when all is out, 1 when the socket is
 * full (wait for EPOLLOUT), -1 on error. */
static int conn_flush(struct tcp_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->tag.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		return -1;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return 0;
}

/* Answer one framed message. Returns 0, 1 (response partly pending), -1. */
static int conn_answer(struct tcp_state *s, struct tcp_conn *c, const uint8_t *msg, size_t len)
{
	struct server *srv = s->w->srv;
	struct stats *st = s->w->stats;
	struct query q;
	struct answer_info info;

	stats_add(&st->queries, 1);
	enum query_status qs = query_parse(&q, msg, len, true);
	struct sockaddr_storage peer; /* for a server cookie (RFC 7873) */
	query_peer_from_fd(&q, c->tag.fd, &peer);
	urcu_memb_read_lock();
	size_t rlen = answer_query(&srv->acfg, zonedb_current(), &q, qs, s->scratch + 2,
				   TCP_MSG_MAX, &info);
	urcu_memb_read_unlock();
	if (rlen == 0) {
		stats_add(&st->dropped, 1);
		return 0;
	}
	if (q.has_question)
		stats_add(&st->qtype[stats_qtype_index(q.qtype)], 1);
	stats_add(&st->rcode[info.rcode < STATS_RCODES ? info.rcode : 0], 1);
	if (q.edns)
		stats_add(&st->edns, 1);
	s->scratch[0] = (uint8_t)(rlen >> 8);
	s->scratch[1] = (uint8_t)rlen;
	size_t total = rlen + 2, off = 0;
	while (off < total) {
		ssize_t n = send(c->tag.fd, s->scratch + off, total - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		return -1;
	}
	stats_add(&st->responses, 1);
	if (off == total)
		return 0;
	/* The client reads slower than we answer: keep the rest (at most one
	 * response: we stop reading until it is out). */
	c->out = malloc(total - off);
	if (!c->out)
		return -1;
	memcpy(c->out, s->scratch + off, total - off);
	c->out_len = total - off;
	c->out_off = 0;
	return 1;
}

/* Answer every complete message in the input buffer (up to a burst).
 * Returns 0 (want more input), 1 (blocked on output), -1 (close). */
static int conn_process(struct tcp_state *s, struct tcp_conn *c)
{
	size_t pos = 0;
	int ret = 0;
	while (c->in_len - pos >= 2) {
		size_t mlen = (size_t)(c->in[pos] << 8 | c->in[pos + 1]);
		if (mlen < DNS_HEADER_LEN) {
			ret = -1; /* bad framing: nothing sensible can follow */
			break;
		}
		if (c->in_len - pos - 2 < mlen) {
			if (mlen + 2 > c->in_cap) {
				uint8_t *n = realloc(c->in, mlen + 2);
				if (!n) {
					ret = -1;
					break;
				}
				/* keep pos valid: the compaction below moves data */
				c->in = n;
				c->in_cap = mlen + 2;
			}
			break;
		}
		int r = conn_answer(s, c, c->in + pos + 2, mlen);
		pos += 2 + mlen;
		if (r != 0) {
			ret = r;
			break;
		}
	}
	if (pos > 0) {
		memmove(c->in, c->in + pos, c->in_len - pos);
		c->in_len -= pos;
	}
	return ret;
}

static void conn_readable(struct tcp_state *s, struct tcp_conn *c)
{
	for (unsigned reads = 0; reads < TCP_READ_BURST; reads++) {
		if (c->in_len == c->in_cap) {
			size_t ncap = c->in_cap * 2;
			if (ncap > TCP_MSG_MAX + 2)
				ncap = TCP_MSG_MAX + 2;
			if (ncap == c->in_cap) {
				/* full of complete messages waiting for output */
				break;
			}
			uint8_t *n = realloc(c->in, ncap);
			if (!n) {
				conn_close(s, c);
				return;
			}
			c->in = n;
			c->in_cap = ncap;
		}
		ssize_t n = recv(c->tag.fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
		if (n > 0) {
			c->in_len += (size_t)n;
			lru_touch(s, c);
			int r = conn_process(s, c);
			if (r < 0) {
				conn_close(s, c);
				return;
			}
			if (r == 1) {
				conn_want(s, c, EPOLLOUT);
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* 0: the client closed; or an error */
		conn_close(s, c);
		return;
	}
}

static void conn_writable(struct tcp_state *s, struct tcp_conn *c)
{
	int r = conn_flush(c);
	if (r < 0) {
		conn_close(s, c);
		return;
	}
	if (r == 1)
		return;
	lru_touch(s, c);
	/* Output drained: answer what was already read, then read again. */
	r = conn_process(s, c);
	if (r < 0) {
		conn_close(s, c);
		return;
	}
	if (r == 1)
		return;
	conn_want(s, c, EPOLLIN);
}

static void do_accept(struct tcp_state *s, int lfd)
{
	struct tcp_worker *w = s->w;
	for (unsigned i = 0; i < TCP_ACCEPT_BATCH; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && s->head) {
				/* Out of descriptors: the longest idle connection
				 * makes room, else the listener would stay readable
				 * and spin this loop. */
				log_limited(&s->lim, 1, LOG_LVL_WARN,
					    "tcp accept: %s; closing the longest idle connection",
					    strerror(errno));
				conn_close(s, s->head);
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_limited(&s->lim, 1, LOG_LVL_WARN, "tcp accept: %s", strerror(errno));
			return;
		}
		if (s->nconns >= w->srv->opt->tcp_max_conns) {
			/* Full: make room by dropping the longest idle
			 * connection (RFC 7766 §6.2.3 lets servers close idle
			 * connections under pressure), as Knot does. */
			stats_add(&w->stats->tcp_refused, 1);
			if (s->head)
				conn_close(s, s->head);
		}
		struct tcp_conn *c = calloc(1, sizeof(*c));
		if (c)
			c->in = malloc(TCP_IN_INITIAL);
		if (!c || !c->in) {
			if (c)
				free(c);
			close(fd);
			continue;
		}
		c->in_cap = TCP_IN_INITIAL;
		c->tag.kind = EP_CONN;
		c->tag.fd = fd;
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = &c->tag};
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			free(c->in);
			free(c);
			close(fd);
			continue;
		}
		s->nconns++;
		lru_touch(s, c);
		stats_add(&w->stats->tcp_conns, 1);
	}
}

/* TCP draining (server_drain) bound: answer queries in flight. */
#define TCP_DRAIN_MS 2000

/* Stop listening: take the connections already in the accept queues (so
 * they are answered, not reset), then close the listeners; with
 * net.ipv4.tcp_migrate_req=1 the kernel moves handshakes still under way
 * to another listener of the port. */
static void drain_begin(struct tcp_state *s)
{
	struct tcp_worker *w = s->w;
	for (unsigned l = w->nlisten; l-- > 0;) {
		if (w->listen_fd[l] < 0)
			continue;
		do_accept(s, w->listen_fd[l]);
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->listen_fd[l], NULL);
		close(w->listen_fd[l]);
		w->listen_fd[l] = -1;
	}
	s->draining = true;
	s->drain_until = now_ms() + TCP_DRAIN_MS;
}

static int expire_idle(struct tcp_state *s)
{
	uint64_t now = now_ms(), idle = s->w->srv->opt->tcp_idle_ms;
	if (s->draining) {
		/* Close every connection between queries (RFC 7766 §6.2.3 lets
		 * a server close idle connections); the rest once answered. */
		for (struct tcp_conn *c = s->head, *next; c; c = next) {
			next = c->next;
			if (c->in_len == 0 && !c->out)
				conn_close(s, c);
		}
		return 20;
	}
	while (s->head && now - s->head->last_ms >= idle)
		conn_close(s, s->head);
	if (!s->head)
		return 1000;
	uint64_t left = idle - (now - s->head->last_ms);
	return left > 1000 ? 1000 : (int)left + 1;
}

void *tcp_worker_run(void *arg)
{
	struct tcp_worker *w = arg;
	struct tcp_state s = {.w = w};
	struct epoll_event evs[TCP_EVENTS];

	s.scratch = malloc(TCP_MSG_MAX + 2);
	if (!s.scratch) {
		log_err("tcp worker: out of memory");
		return NULL;
	}
	urcu_memb_register_thread();
	for (unsigned l = 0; l < w->nlisten; l++) {
		s.listeners[l].kind = EP_LISTENER;
		s.listeners[l].fd = w->listen_fd[l];
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s.listeners[l]};
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->listen_fd[l], &ev);
	}
	s.wake.kind = EP_WAKE;
	s.wake.fd = w->wake_fd;
	struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &s.wake};
	epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wake_fd, &wev);

	while (!atomic_load_explicit(&w->srv->stop, memory_order_relaxed)) {
		int timeout = expire_idle(&s);
		if (s.draining && (s.nconns == 0 || now_ms() >= s.drain_until))
			break;
		int n = epoll_wait(w->epfd, evs, TCP_EVENTS, timeout);
		if (n < 0) {
			if (errno != EINTR)
				log_limited(&s.lim, 1, LOG_LVL_ERR, "epoll_wait: %s", strerror(errno));
			continue;
		}
		for (int i = 0; i < n; i++) {
			struct ep_tag *t = evs[i].data.ptr;
			if (t->kind == EP_LISTENER) {
				do_accept(&s, t->fd);
			} else if (t->kind == EP_WAKE) {
				uint64_t v;
				if (read(w->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					log_limited(&s.lim, 1, LOG_LVL_ERR, "tcp wake: %s", strerror(errno));
				if (!s.draining && atomic_load(&w->srv->draining))
					drain_begin(&s);
			} else if (t->kind == EP_CONN) {
				struct tcp_conn *c = (struct tcp_conn *)t;
				if (evs[i].events & EPOLLERR) {
					conn_close(&s, c);
				} else if (c->out) {
					if (evs[i].events & (EPOLLOUT | EPOLLHUP))
						conn_writable(&s, c);
				} else if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
					conn_readable(&s, c);
				}
			}
		}
		free_dead(&s);
	}
	while (s.head)
		conn_close(&s, s.head);
	free_dead(&s);
	urcu_memb_unregister_thread();
	free(s.scratch);
	return NULL;
}
