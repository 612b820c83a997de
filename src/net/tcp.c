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

#include "ops/log.h"
#include "net/server.h"
#include "ops/stats.h"
#include "net/tcp_frame.h"
#include "xfr/serve.h"
#include "zone/zonedb.h"

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
	struct tcp_frame_in in;
	uint8_t *out;		/* unsent tail of a response */
	size_t out_len, out_off;
	uint64_t last_ms;	/* last progress: a message read, or octets sent */
	struct xfr_out *xfr;	/* a transfer streaming on this connection, or NULL */
	struct tcp_conn *prev, *next; /* LRU: head is the longest idle */
	struct sockaddr_storage peer; /* from accept: for server cookies (RFC 7873) */
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
	struct tcp_frame_answerer ans; /* its `out`: one response being written */
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
		tcp_frame_in_free(&c->in);
		xfr_out_free(c->xfr);
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

struct emit_ctx {
	struct tcp_state *s;
	struct tcp_conn *c;
};

/* tcp_frame_emit_fn: send one framed response; what the socket does not
 * take now waits in c->out (at most one response: we stop answering until
 * it is out). */
static enum tcp_frame_result conn_send(void *ctx, const uint8_t *frame, size_t total)
{
	struct emit_ctx *e = ctx;
	struct tcp_conn *c = e->c;
	size_t off = 0;
	while (off < total) {
		ssize_t n = send(c->tag.fd, frame + off, total - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		return TCP_FRAME_CLOSE;
	}
	stats_add(&e->s->w->stats->responses, 1);
	if (off == total)
		return TCP_FRAME_MORE;
	/* The client reads slower than we answer: keep the rest. */
	c->out = malloc(total - off);
	if (!c->out)
		return TCP_FRAME_CLOSE;
	memcpy(c->out, frame + off, total - off);
	c->out_len = total - off;
	c->out_off = 0;
	return TCP_FRAME_BLOCKED;
}

/* Answer every complete message in the input buffer. One read-side
 * section for them all, as udp.c holds one over a recvmmsg batch: the
 * sends inside never block, and the buffer holds at most one 64 KiB frame
 * of messages. */
static enum tcp_frame_result conn_process(struct tcp_state *s, struct tcp_conn *c)
{
	struct emit_ctx e = {.s = s, .c = c};
	urcu_memb_read_lock();
	enum tcp_frame_result r = tcp_frame_process(&c->in, &s->ans, zonedb_current(),
						    (const struct sockaddr *)&c->peer, &c->xfr,
						    conn_send, &e);
	urcu_memb_read_unlock();
	return r;
}

static void conn_readable(struct tcp_state *s, struct tcp_conn *c)
{
	for (unsigned reads = 0; reads < TCP_READ_BURST; reads++) {
		size_t room;
		if (tcp_frame_in_reserve(&c->in, &room) < 0) {
			conn_close(s, c);
			return;
		}
		if (room == 0)
			break; /* full of complete messages waiting for output */
		ssize_t n = recv(c->tag.fd, c->in.buf + c->in.len, room, MSG_DONTWAIT);
		if (n > 0) {
			c->in.len += (size_t)n;
			lru_touch(s, c);
			enum tcp_frame_result r = conn_process(s, c);
			if (r == TCP_FRAME_CLOSE) {
				conn_close(s, c);
				return;
			}
			if (r == TCP_FRAME_BLOCKED || r == TCP_FRAME_YIELD) {
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
	size_t before = c->out_off;
	int r = conn_flush(c);
	if (r < 0) {
		conn_close(s, c);
		return;
	}
	if (r == 1) {
		/* A slow reader that takes something makes progress: only one
		 * that takes nothing for tcp-idle-timeout is closed. */
		if (c->out_off != before)
			lru_touch(s, c);
		return;
	}
	lru_touch(s, c);
	/* Output drained: go on with a transfer, answer what was already
	 * read, then read again. */
	enum tcp_frame_result fr = conn_process(s, c);
	if (fr == TCP_FRAME_CLOSE) {
		conn_close(s, c);
		return;
	}
	if (fr == TCP_FRAME_BLOCKED || fr == TCP_FRAME_YIELD)
		return; /* EPOLLOUT is still wanted */
	conn_want(s, c, EPOLLIN);
}

static void do_accept(struct tcp_state *s, int lfd)
{
	struct tcp_worker *w = s->w;
	for (unsigned i = 0; i < TCP_ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
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
		if (!c || tcp_frame_in_init(&c->in) < 0) {
			free(c);
			close(fd);
			continue;
		}
		c->peer = peer;
		c->tag.kind = EP_CONN;
		c->tag.fd = fd;
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = &c->tag};
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			tcp_frame_in_free(&c->in);
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
			if (c->in.len == 0 && !c->out && !c->xfr)
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

	s.ans.cfg = &w->srv->acfg;
	s.ans.stats = w->stats;
	s.ans.out = malloc(TCP_FRAME_MAX);
	if (!s.ans.out) {
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
				} else if (c->out || c->xfr) {
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
	free(s.ans.out);
	return NULL;
}
