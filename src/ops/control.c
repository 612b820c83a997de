/* control.c: the control channel's server side (protocol in control.h).
 *
 * One epoll set holds the listening socket and at most CONTROL_CLIENTS_MAX
 * clients, all non-blocking and level-triggered, so the main thread polls
 * a single descriptor beside its signals and timers. While every client
 * slot is taken the listener leaves the set: further connections wait in
 * the kernel's backlog instead of costing us memory or descriptors. */
#include "ops/control.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ops/log.h"

/* Connections the kernel queues while all CONTROL_CLIENTS_MAX slots are
 * taken: a burst of scripts (one shoalctl per zone, say) waits there
 * rather than being refused. */
#define CONTROL_BACKLOG 64

/* "error\n" is the longer status line. The body is written after this much
 * room, so the status goes in front of it without a copy. */
#define REPLY_HEAD 6

/* First allocation of a reply: every reply but the listings fits, and so
 * does the reason that replaces a cut body. */
#define REPLY_INITIAL 4096

/* After accept(2) fails for want of descriptors or memory, wait this long
 * before trying again: the listener stays readable, and level-triggered
 * epoll would otherwise spin the main thread. */
#define CONTROL_ACCEPT_RETRY_MS 100

/* The socket's mode, set through the umask at bind(2) time. */
#define CONTROL_SOCKET_MODE 0660

/* epoll data of the listener; clients carry their slot index. */
#define EV_LISTENER UINT32_MAX

enum client_state { CLIENT_FREE, CLIENT_READING, CLIENT_WRITING };

enum reply_cut { CUT_NONE, CUT_TOO_LONG, CUT_NO_MEMORY };

struct control_reply {
	char *buf;	    /* REPLY_HEAD octets of room, then the body */
	size_t len;	    /* octets used, the head included */
	size_t cap;
	bool failed;
	bool json;	    /* the request asked for JSON: so does a cut reply */
	enum reply_cut cut; /* the body was dropped; later appends are ignored */
};

struct client {
	int fd; /* -1: slot free */
	enum client_state state;
	int64_t deadline; /* ms, CLOCK_MONOTONIC */
	size_t in_len;
	char in[CONTROL_REQUEST_MAX];
	char *out; /* the reply buffer (status line at out + out_off) */
	size_t out_off, out_len;
};

struct control {
	int lfd, epfd;
	bool watching;	      /* the listener is in the epoll set */
	int64_t accept_retry; /* ms: accept again then (after EMFILE); 0: none */
	unsigned nclients;
	char *path;
	dev_t dev; /* of the socket we bound: control_close unlinks only it */
	ino_t ino;
	struct client clients[CONTROL_CLIENTS_MAX];
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- replies */

static int reply_init(struct control_reply *r, bool json)
{
	memset(r, 0, sizeof(*r));
	r->buf = malloc(REPLY_INITIAL);
	if (!r->buf)
		return -ENOMEM;
	r->cap = REPLY_INITIAL;
	r->len = REPLY_HEAD;
	r->json = json;
	return 0;
}

static void reply_cut(struct control_reply *r, enum reply_cut why)
{
	if (r->cut != CUT_NONE)
		return;
	r->cut = why;
	r->failed = true;
	r->len = REPLY_HEAD;
}

/* Room for `need` more octets and a NUL (vsnprintf writes one).
 * \return false when the reply is (now) cut */
static bool reply_reserve(struct control_reply *r, size_t need)
{
	if (r->cut != CUT_NONE)
		return false;
	if (need > CONTROL_REPLY_MAX - (r->len - REPLY_HEAD)) {
		reply_cut(r, CUT_TOO_LONG);
		return false;
	}
	size_t want = r->len + need + 1;
	if (want <= r->cap)
		return true;
	size_t cap = r->cap;
	while (cap < want)
		cap *= 2;
	if (cap > CONTROL_REPLY_MAX + REPLY_HEAD + 1)
		cap = CONTROL_REPLY_MAX + REPLY_HEAD + 1;
	char *b = realloc(r->buf, cap);
	if (!b) {
		reply_cut(r, CUT_NO_MEMORY);
		return false;
	}
	r->buf = b;
	r->cap = cap;
	return true;
}

static void reply_put(struct control_reply *r, const void *s, size_t n)
{
	if (!reply_reserve(r, n))
		return;
	memcpy(r->buf + r->len, s, n);
	r->len += n;
}

void control_printf(struct control_reply *r, const char *fmt, ...)
{
	if (r->cut != CUT_NONE)
		return;
	va_list ap, again;
	va_start(ap, fmt);
	va_copy(again, ap);
	size_t room = r->cap - r->len;
	int n = vsnprintf(r->buf + r->len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		goto out; /* an encoding error: nothing is appended */
	if ((size_t)n >= room) {
		if (!reply_reserve(r, (size_t)n))
			goto out;
		vsnprintf(r->buf + r->len, r->cap - r->len, fmt, again);
	}
	r->len += (size_t)n;
out:
	va_end(again);
}

void control_fail(struct control_reply *r)
{
	r->failed = true;
}

/* Octets of the well-formed UTF-8 sequence at p (RFC 3629 §4: no overlong
 * forms, no surrogates, nothing above U+10FFFF), 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	uint32_t cp, min;
	size_t n;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2, cp = p[0] & 0x1f, min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3, cp = p[0] & 0x0f, min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4, cp = p[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) /* the terminating NUL stops here too */
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void control_json_str(struct control_reply *r, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	reply_put(r, "\"", 1);
	for (;;) {
		const unsigned char *run = p;
		while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		reply_put(r, run, (size_t)(p - run));
		if (!*p)
			break;
		if (*p >= 0x80) {
			/* RFC 8259 §8.1: JSON text is UTF-8. An octet that is not
			 * part of a well-formed sequence cannot be written as
			 * itself, nor escaped (\u names characters, not octets),
			 * so it becomes U+FFFD, the replacement character. */
			size_t n = utf8_len(p);
			if (n) {
				reply_put(r, p, n);
				p += n;
			} else {
				reply_put(r, "\\ufffd", 6);
				p++;
			}
			continue;
		}
		/* RFC 8259 §7: '"', '\' and U+0000..U+001F must be escaped. */
		char esc[8];
		switch (*p) {
		case '"':
			strcpy(esc, "\\\"");
			break;
		case '\\':
			strcpy(esc, "\\\\");
			break;
		case '\b':
			strcpy(esc, "\\b");
			break;
		case '\f':
			strcpy(esc, "\\f");
			break;
		case '\n':
			strcpy(esc, "\\n");
			break;
		case '\r':
			strcpy(esc, "\\r");
			break;
		case '\t':
			strcpy(esc, "\\t");
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			break;
		}
		reply_put(r, esc, strlen(esc));
		p++;
	}
	reply_put(r, "\"", 1);
}

/* ---------------------------------------------------------------- clients */

static void listener_watch(struct control *c, bool on)
{
	if (on == c->watching)
		return;
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = EV_LISTENER};
	if (epoll_ctl(c->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, c->lfd, &ev) < 0) {
		log_err("control socket %s: epoll: %s", c->path, strerror(errno));
		return;
	}
	c->watching = on;
}

static void client_close(struct control *c, struct client *cl)
{
	if (cl->fd < 0)
		return;
	close(cl->fd); /* leaves the epoll set with it: the descriptor is not shared */
	free(cl->out);
	cl->fd = -1;
	cl->out = NULL;
	cl->state = CLIENT_FREE;
	c->nclients--;
}

/* Send what the socket takes; close once the whole reply is out. */
static void client_write(struct control *c, struct client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return; /* EPOLLOUT brings us back */
			log_debug("control: client gone before its reply: %s", strerror(errno));
			break;
		}
		cl->out_off += (size_t)n;
	}
	client_close(c, cl);
}

/* Put the status line in front of the body, hand the buffer to the client
 * and start sending it. */
static void client_reply(struct control *c, struct client *cl, struct control_reply *r)
{
	if (r->cut != CUT_NONE) {
		enum reply_cut why = r->cut;
		char reason[80];
		if (why == CUT_TOO_LONG)
			snprintf(reason, sizeof(reason), "reply longer than %u octets",
				 CONTROL_REPLY_MAX);
		else
			snprintf(reason, sizeof(reason), "out of memory building the reply");
		/* REPLY_INITIAL octets are still there: the reason fits */
		r->cut = CUT_NONE;
		if (r->json) {
			control_printf(r, "{\"error\": ");
			control_json_str(r, reason);
			control_printf(r, "}\n");
		} else {
			control_printf(r, "%s\n", reason);
		}
		log_warn("control: %s", reason);
	}
	const char *status = r->failed ? "error\n" : "ok\n";
	size_t slen = strlen(status);
	memcpy(r->buf + REPLY_HEAD - slen, status, slen);
	cl->out = r->buf;
	cl->out_off = REPLY_HEAD - slen;
	cl->out_len = r->len;
	r->buf = NULL;
	cl->state = CLIENT_WRITING;
	cl->deadline = now_ms() + CONTROL_REPLY_TIMEOUT_MS;
	struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)(cl - c->clients)};
	if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd, &ev) < 0) {
		client_close(c, cl);
		return;
	}
	/* Most replies fit the socket's buffer: sent before control_process
	 * returns, so a "stop" has its answer even if the server then exits. */
	client_write(c, cl);
}

/* An error reply the handler never sees: the request was malformed. */
static void client_reject(struct control *c, struct client *cl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void client_reject(struct control *c, struct client *cl, const char *fmt, ...)
{
	struct control_reply r;
	char reason[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	log_debug("control: request refused: %s", reason);
	if (reply_init(&r, false) < 0) {
		client_close(c, cl);
		return;
	}
	control_printf(&r, "%s\n", reason);
	control_fail(&r);
	client_reply(c, cl, &r);
}

/* The request line ends at `nl`: check it, split it, pass it to fn. */
static void client_request(struct control *c, struct client *cl, char *nl,
			   control_handler_fn fn, void *ctx)
{
	char *argv[CONTROL_ARGS_MAX + 1];
	int argc = 0;
	struct control_request req = {0};
	struct control_reply r;

	if (nl + 1 != cl->in + cl->in_len) {
		client_reject(c, cl, "more than one line (one request per connection)");
		return;
	}
	for (const char *p = cl->in; p < nl; p++) {
		if (*p == '\0') {
			client_reject(c, cl, "NUL octet in the request");
			return;
		}
		if ((*p > 0 && *p < 0x20 && *p != '\t') || *p == 0x7f) {
			client_reject(c, cl, "control character 0x%02x in the request",
				      (unsigned char)*p);
			return;
		}
	}
	*nl = '\0';
	for (char *p = cl->in;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (argc == CONTROL_ARGS_MAX) {
			client_reject(c, cl, "more than %d words in the request", CONTROL_ARGS_MAX);
			return;
		}
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
	argv[argc] = NULL;
	req.argv = argv;
	req.argc = argc;
	if (argc > 0 && strcmp(argv[0], "--json") == 0) {
		req.json = true;
		req.argv++;
		req.argc--;
	}
	if (req.argc == 0) {
		client_reject(c, cl, "no command");
		return;
	}
	if (reply_init(&r, req.json) < 0) {
		client_close(c, cl);
		return;
	}
	fn(ctx, &req, &r);
	client_reply(c, cl, &r);
}

static void client_read(struct control *c, struct client *cl, control_handler_fn fn, void *ctx)
{
	for (;;) {
		size_t room = sizeof(cl->in) - cl->in_len;
		if (room == 0) {
			client_reject(c, cl, "request longer than %d octets", CONTROL_REQUEST_MAX);
			return;
		}
		ssize_t n = recv(cl->fd, cl->in + cl->in_len, room, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				log_debug("control: read: %s", strerror(errno));
				client_close(c, cl);
			}
			return;
		}
		if (n == 0) {
			if (cl->in_len == 0) /* connected and left: nobody to answer */
				client_close(c, cl);
			else /* the peer shut its side: it can still read a reason */
				client_reject(c, cl, "request does not end in a newline");
			return;
		}
		char *nl = memchr(cl->in + cl->in_len, '\n', (size_t)n);
		cl->in_len += (size_t)n;
		if (nl) {
			client_request(c, cl, nl, fn, ctx);
			return;
		}
	}
}

static void accept_clients(struct control *c, int64_t now)
{
	while (c->nclients < CONTROL_CLIENTS_MAX) {
		int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_warn("control socket %s: accept: %s", c->path, strerror(errno));
				listener_watch(c, false);
				c->accept_retry = now + CONTROL_ACCEPT_RETRY_MS;
			}
			return; /* EAGAIN: the backlog is empty */
		}
		unsigned i = 0;
		while (c->clients[i].fd >= 0)
			i++; /* nclients < CONTROL_CLIENTS_MAX: a slot is free */
		struct client *cl = &c->clients[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			log_warn("control socket %s: epoll: %s", c->path, strerror(errno));
			close(fd);
			return;
		}
		cl->fd = fd;
		cl->state = CLIENT_READING;
		cl->in_len = 0;
		cl->deadline = now + CONTROL_REQUEST_TIMEOUT_MS;
		c->nclients++;
	}
	/* Full: the rest wait in the backlog until a slot frees. */
	listener_watch(c, false);
}

static void expire_clients(struct control *c, int64_t now)
{
	char timeout_reply[64];
	int tlen = snprintf(timeout_reply, sizeof(timeout_reply),
			    "error\nrequest not complete within %d ms\n", CONTROL_REQUEST_TIMEOUT_MS);
	for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		struct client *cl = &c->clients[i];
		if (cl->fd < 0 || cl->deadline > now)
			continue;
		if (cl->state == CLIENT_READING) {
			/* Best effort, never waiting: a client typing by hand
			 * (socat) learns why; a stalled one loses nothing. */
			if (send(cl->fd, timeout_reply, (size_t)tlen, MSG_NOSIGNAL | MSG_DONTWAIT) <
			    0)
				log_debug("control: timed-out client: %s", strerror(errno));
			log_debug("control: client dropped: no request within %d ms",
				  CONTROL_REQUEST_TIMEOUT_MS);
		} else {
			log_debug("control: client dropped: reply not taken within %d ms",
				  CONTROL_REPLY_TIMEOUT_MS);
		}
		client_close(c, cl);
	}
}

/* ---------------------------------------------------------------- public */

/* The path is free to bind: absent, or a socket nobody listens on (a server
 * that died without control_close), which is removed.
 * \return 0, or -1 with err filled */
static int clear_path(const char *path, const struct sockaddr_un *sa, socklen_t salen, char *err,
		      size_t errsize)
{
	struct stat st;
	int rc = -1, fd = -1;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			rc = 0;
		else
			snprintf(err, errsize, "control socket %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errsize, "control socket %s: exists and is not a socket", path);
		goto out;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errsize, "control socket %s: socket: %s", path, strerror(errno));
		goto out;
	}
	/* Non-blocking, so a live server whose backlog is full answers
	 * EAGAIN at once instead of holding us: it is alive all the same. */
	if (connect(fd, (const struct sockaddr *)sa, salen) == 0 || errno == EAGAIN) {
		snprintf(err, errsize, "control socket %s: another server answers on it", path);
		goto out;
	}
	if (errno == ENOENT) { /* removed meanwhile */
		rc = 0;
		goto out;
	}
	if (errno != ECONNREFUSED) {
		snprintf(err, errsize,
			 "control socket %s: cannot tell whether a server answers on it: %s", path,
			 strerror(errno));
		goto out;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		snprintf(err, errsize, "control socket %s: removing the stale socket: %s", path,
			 strerror(errno));
		goto out;
	}
	log_info("control socket %s: replaced a stale socket (nobody listened on it)", path);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int control_open(const char *path, uid_t uid, gid_t gid, struct control **out, char *err,
		 size_t errsize)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct control *c = NULL;
	bool bound = false;
	struct stat st;
	int rc = -1;
	size_t plen = strlen(path);

	*out = NULL;
	if (plen == 0 || plen >= sizeof(sa.sun_path)) {
		snprintf(err, errsize, "control socket %s: path empty or longer than %zu octets",
			 path, sizeof(sa.sun_path) - 1);
		goto out;
	}
	memcpy(sa.sun_path, path, plen + 1);
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1);

	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(path))) {
		snprintf(err, errsize, "control socket %s: out of memory", path);
		goto out;
	}
	c->lfd = c->epfd = -1;
	for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++)
		c->clients[i].fd = -1;

	if (clear_path(path, &sa, salen, err, errsize) < 0)
		goto out;
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lfd < 0) {
		snprintf(err, errsize, "control socket %s: socket: %s", path, strerror(errno));
		goto out;
	}
	/* The mode comes from the umask at bind time: a chmod after bind
	 * would leave a window in which anyone the directory lets through
	 * could connect, and fchmod on the descriptor does not reach the
	 * path's inode on Linux. The umask is per process, hence the
	 * precondition in control.h. */
	mode_t old_mask = umask(0777 & ~CONTROL_SOCKET_MODE);
	int b = bind(c->lfd, (const struct sockaddr *)&sa, salen);
	int bind_errno = errno;
	umask(old_mask);
	if (b < 0) {
		snprintf(err, errsize, "control socket %s: bind: %s", path, strerror(bind_errno));
		goto out;
	}
	bound = true;
	if (lstat(path, &st) < 0) {
		snprintf(err, errsize, "control socket %s: %s", path, strerror(errno));
		goto out;
	}
	/* A default ACL on the directory takes the umask's place: narrow
	 * the mode then (nobody can connect before listen(2) below). */
	if ((st.st_mode & 07777) != CONTROL_SOCKET_MODE && chmod(path, CONTROL_SOCKET_MODE) < 0) {
		snprintf(err, errsize, "control socket %s: chmod: %s", path, strerror(errno));
		goto out;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	/* lchown: were the path swapped for a symbolic link meanwhile, we
	 * would change the link, not what it points to. */
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && lchown(path, uid, gid) < 0) {
		snprintf(err, errsize, "control socket %s: chown to %ld:%ld: %s", path,
			 uid == (uid_t)-1 ? -1L : (long)uid, gid == (gid_t)-1 ? -1L : (long)gid,
			 strerror(errno));
		goto out;
	}
	if (listen(c->lfd, CONTROL_BACKLOG) < 0) {
		snprintf(err, errsize, "control socket %s: listen: %s", path, strerror(errno));
		goto out;
	}
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0) {
		snprintf(err, errsize, "control socket %s: epoll: %s", path, strerror(errno));
		goto out;
	}
	listener_watch(c, true);
	if (!c->watching) {
		snprintf(err, errsize, "control socket %s: epoll: %s", path, strerror(errno));
		goto out;
	}
	*out = c;
	c = NULL;
	rc = 0;
out:
	if (c) {
		if (bound)
			unlink(path);
		if (c->lfd >= 0)
			close(c->lfd);
		if (c->epfd >= 0)
			close(c->epfd);
		free(c->path);
		free(c);
	}
	return rc;
}

int control_fd(const struct control *c)
{
	return c->epfd;
}

int control_timeout_ms(const struct control *c)
{
	int64_t next = INT64_MAX;
	for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (c->clients[i].fd >= 0 && c->clients[i].deadline < next)
			next = c->clients[i].deadline;
	if (c->accept_retry && c->accept_retry < next)
		next = c->accept_retry;
	if (next == INT64_MAX)
		return -1;
	int64_t left = next - now_ms();
	if (left < 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

void control_process(struct control *c, control_handler_fn fn, void *ctx)
{
	struct epoll_event ev[CONTROL_CLIENTS_MAX + 1];
	bool accept_now = false;
	int n = epoll_wait(c->epfd, ev, CONTROL_CLIENTS_MAX + 1, 0);
	for (int i = 0; i < n; i++) {
		if (ev[i].data.u32 == EV_LISTENER) {
			/* accepted after the loop: a slot freed and filled
			 * within it would receive the old client's event */
			accept_now = true;
			continue;
		}
		struct client *cl = &c->clients[ev[i].data.u32];
		if (cl->state == CLIENT_READING)
			client_read(c, cl, fn, ctx);
		else if (cl->state == CLIENT_WRITING)
			client_write(c, cl);
	}
	int64_t now = now_ms(); /* after the handlers, which may take a while (reload) */
	expire_clients(c, now);
	if (c->accept_retry && now >= c->accept_retry) {
		c->accept_retry = 0;
		accept_now = true;
	}
	if (!c->accept_retry && c->nclients < CONTROL_CLIENTS_MAX) {
		if (!c->watching)
			accept_now = true; /* slots freed: take what waits in the backlog */
		if (accept_now)
			accept_clients(c, now);
		if (!c->accept_retry && c->nclients < CONTROL_CLIENTS_MAX)
			listener_watch(c, true);
	}
}

void control_close(struct control *c)
{
	struct stat st;
	if (!c)
		return;
	for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++)
		client_close(c, &c->clients[i]);
	/* Only our socket: a server started after this one was taken for
	 * dead may have bound a new one at the same path. */
	if (lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	close(c->lfd);
	close(c->epfd);
	free(c->path);
	free(c);
}
