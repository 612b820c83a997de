/* check_control.c: the control channel (src/ops/control.c) over a real
 * Unix socket in a private directory, and its client shoalctl
 * (src/cmd/shoalctl.c) run as a program ($SHOALCTL_BIN) against it.
 *
 * Most cases serve the socket from a thread (srv_start) with a fake
 * handler that records what it was given; the backlog and timeout cases
 * drive control_process from the test itself, to see its state between
 * calls. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ops/control.h"
#include "unit.h"

/* Bounds on waiting for the server, far above what it needs, so a broken
 * server fails the case instead of hanging it. */
#define WAIT_MS 5000
#define IO_MAX (CONTROL_REPLY_MAX + 4096)

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- server */

struct srv {
	char dir[256];
	char path[512];
	struct control *c;
	pthread_t th;
	bool threaded;
	atomic_bool stop;
	pthread_mutex_t lock;
	unsigned calls;
	bool json;
	char joined[CONTROL_REQUEST_MAX + CONTROL_ARGS_MAX]; /* argv joined by '|' */
};

static struct srv S = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Every octet class control_json_str treats apart, and what RFC 8259 makes
 * of it. */
static const char JSON_IN[] = "a\"b\\c\x01\b\f\n\r\t\x1f\x7f"
			      " \xc3\xa9"	  /* é: two octets, kept */
			      " \xf0\x9f\x98\x80" /* U+1F600: four octets, kept */
			      " \xff"		  /* never UTF-8 */
			      " \xc3("		  /* lead octet without its continuation */
			      " \xc0\xaf"	  /* overlong '/' */
			      " \xed\xa0\x80";	  /* a surrogate, U+D800 */
static const char JSON_OUT[] = "\"a\\\"b\\\\c\\u0001\\b\\f\\n\\r\\t\\u001f\x7f"
			       " \xc3\xa9"
			       " \xf0\x9f\x98\x80"
			       " \\ufffd"
			       " \\ufffd("
			       " \\ufffd\\ufffd"
			       " \\ufffd\\ufffd\\ufffd\"";

/* The fake server's commands: echo/reload print their arguments (a JSON
 * array with --json), status prints "up", fail/zone-status fail, big N
 * prints N octets, huge prints more than CONTROL_REPLY_MAX, jsonstr prints
 * JSON_IN through control_json_str. */
static void handler(void *ctx, const struct control_request *req, struct control_reply *rep)
{
	struct srv *s = ctx;
	pthread_mutex_lock(&s->lock);
	s->calls++;
	s->json = req->json;
	size_t len = 0;
	s->joined[0] = 0;
	for (int i = 0; i < req->argc; i++)
		len += (size_t)snprintf(s->joined + len, sizeof(s->joined) - len, "%s%s",
					i ? "|" : "", req->argv[i]);
	ck_assert_ptr_null(req->argv[req->argc]);
	pthread_mutex_unlock(&s->lock);

	const char *cmd = req->argv[0];
	if (strcmp(cmd, "echo") == 0 || strcmp(cmd, "reload") == 0) {
		if (req->json) {
			control_printf(rep, "{\"args\": [");
			for (int i = 1; i < req->argc; i++) {
				control_printf(rep, i > 1 ? ", " : "");
				control_json_str(rep, req->argv[i]);
			}
			control_printf(rep, "]}\n");
		} else {
			for (int i = 1; i < req->argc; i++)
				control_printf(rep, "%s%s", i > 1 ? " " : "", req->argv[i]);
			control_printf(rep, "\n");
		}
	} else if (strcmp(cmd, "status") == 0) {
		control_printf(rep, req->json ? "{\"status\": \"up\"}\n" : "up\n");
	} else if (strcmp(cmd, "fail") == 0) {
		control_printf(rep, "it failed\n");
		control_fail(rep);
	} else if (strcmp(cmd, "zone-status") == 0) {
		control_fail(rep);
		control_printf(rep, "no such zone: %s\n", req->argc > 1 ? req->argv[1] : "-");
	} else if (strcmp(cmd, "big") == 0) {
		static char chunk[65536];
		memset(chunk, 'x', sizeof(chunk) - 1);
		long left = req->argc > 1 ? atol(req->argv[1]) : 0;
		while (left > 0) {
			int n = left < (long)sizeof(chunk) - 1 ? (int)left : (int)sizeof(chunk) - 1;
			control_printf(rep, "%.*s", n, chunk);
			left -= n;
		}
	} else if (strcmp(cmd, "huge") == 0) {
		static char mib[1 << 20];
		memset(mib, 'y', sizeof(mib) - 1);
		for (unsigned i = 0; i < 20; i++)
			control_printf(rep, "%s", mib);
		control_printf(rep, "ignored after the cut\n");
	} else if (strcmp(cmd, "jsonstr") == 0) {
		control_json_str(rep, JSON_IN);
		control_printf(rep, "\n");
	} else {
		control_fail(rep);
		control_printf(rep, "unknown command %s\n", cmd);
	}
}

static void *serve(void *arg)
{
	struct srv *s = arg;
	while (!atomic_load(&s->stop)) {
		struct pollfd p = {.fd = control_fd(s->c), .events = POLLIN};
		int t = control_timeout_ms(s->c);
		if (t < 0 || t > 20) /* wake now and then to see `stop` */
			t = 20;
		poll(&p, 1, t);
		control_process(s->c, handler, s);
	}
	return NULL;
}

/* A fresh directory and S.path in it; no server yet. */
static void srv_dir(void)
{
	ut_tmpdir(S.dir, sizeof(S.dir));
	ut_path(S.path, sizeof(S.path), S.dir, "ctl.sock");
	S.calls = 0;
	S.joined[0] = 0;
	S.c = NULL;
	S.threaded = false;
	atomic_store(&S.stop, false);
}

static void srv_open(void)
{
	char err[512] = "";
	ck_assert_msg(control_open(S.path, (uid_t)-1, (gid_t)-1, &S.c, err, sizeof(err)) == 0,
		      "control_open: %s", err);
	ck_assert_ptr_nonnull(S.c);
}

static void srv_start(void)
{
	srv_dir();
	srv_open();
	ck_assert_int_eq(pthread_create(&S.th, NULL, serve, &S), 0);
	S.threaded = true;
}

static void srv_stop(void)
{
	if (S.threaded) {
		atomic_store(&S.stop, true);
		pthread_join(S.th, NULL);
		S.threaded = false;
	}
	control_close(S.c);
	S.c = NULL;
	ut_rmtree(S.dir);
}

static unsigned srv_calls(void)
{
	pthread_mutex_lock(&S.lock);
	unsigned n = S.calls;
	pthread_mutex_unlock(&S.lock);
	return n;
}

/* One round of the in-test loop: wait up to ms for work, then process. */
static void srv_step(int ms)
{
	struct pollfd p = {.fd = control_fd(S.c), .events = POLLIN};
	poll(&p, 1, ms);
	control_process(S.c, handler, &S);
}

/* ---------------------------------------------------------------- clients */

static void fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sa->sun_path));
	strcpy(sa->sun_path, path);
}

static int cl_connect(const char *path)
{
	struct sockaddr_un sa;
	fill_addr(&sa, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s: %s",
		      path, strerror(errno));
	return fd;
}

static void cl_send(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		ck_assert_msg(n > 0, "send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

static bool cl_readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

/* Everything the server sends until it closes (ECONNRESET counts as the
 * close: it follows the data when the server left octets unread), NUL
 * terminated, in a buffer the caller frees. */
static char *cl_read_all(int fd, size_t *len_out)
{
	char *buf = malloc(IO_MAX + 1);
	size_t len = 0;
	ck_assert_ptr_nonnull(buf);
	int64_t deadline = now_ms() + WAIT_MS;
	for (;;) {
		ck_assert_msg(cl_readable(fd, (int)(deadline - now_ms())),
			      "no close within %d ms (read so far: %zu octets)", WAIT_MS, len);
		ck_assert_uint_lt(len, IO_MAX);
		ssize_t n = recv(fd, buf + len, IO_MAX - len, 0);
		if (n < 0 && errno == ECONNRESET)
			break;
		ck_assert_msg(n >= 0, "recv: %s", strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	if (len_out)
		*len_out = len;
	return buf;
}

/* Send `req` (len octets) on a new connection and return the whole reply. */
static char *ask_n(const char *req, size_t len)
{
	int fd = cl_connect(S.path);
	cl_send(fd, req, len);
	char *r = cl_read_all(fd, NULL);
	close(fd);
	return r;
}

static void assert_reply(const char *req, const char *want)
{
	char *got = ask_n(req, strlen(req));
	ck_assert_str_eq(got, want);
	free(got);
}

/* A socket file nobody listens on: bound, then closed. */
static void make_dead_socket(const char *path)
{
	struct sockaddr_un sa;
	fill_addr(&sa, path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

/* A socket that takes connections into its backlog and never accepts. */
static int make_mute_listener(const char *path)
{
	struct sockaddr_un sa;
	fill_addr(&sa, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	return fd;
}

/* ---------------------------------------------------------------- requests */

START_TEST(request_reaches_handler)
{
	srv_start();
	assert_reply("echo a  b\tc\n", "ok\na b c\n");
	ck_assert_uint_eq(srv_calls(), 1);
	ck_assert_str_eq(S.joined, "echo|a|b|c");
	ck_assert(!S.json);
	/* leading and trailing blanks are not words */
	assert_reply(" \techo x \n", "ok\nx\n");
	ck_assert_str_eq(S.joined, "echo|x");
	srv_stop();
}
END_TEST

START_TEST(json_flag)
{
	srv_start();
	assert_reply("--json echo x y\n", "ok\n{\"args\": [\"x\", \"y\"]}\n");
	ck_assert(S.json);
	ck_assert_str_eq(S.joined, "echo|x|y");
	/* only as the first word */
	assert_reply("echo --json\n", "ok\n--json\n");
	ck_assert(!S.json);
	ck_assert_str_eq(S.joined, "echo|--json");
	srv_stop();
}
END_TEST

START_TEST(reply_framing)
{
	srv_start();
	assert_reply("fail\n", "error\nit failed\n");
	assert_reply("status\n", "ok\nup\n");
	assert_reply("nosuch\n", "error\nunknown command nosuch\n");
	/* an empty body is just the status line */
	assert_reply("echo\n", "ok\n\n");
	srv_stop();
}
END_TEST

START_TEST(overlong_request)
{
	char req[CONTROL_REQUEST_MAX + 100];
	srv_start();
	/* CONTROL_REQUEST_MAX octets, newline included: served */
	memcpy(req, "echo ", 5);
	memset(req + 5, 'b', CONTROL_REQUEST_MAX - 6);
	req[CONTROL_REQUEST_MAX - 1] = '\n';
	char *got = ask_n(req, CONTROL_REQUEST_MAX);
	ck_assert_uint_eq(strlen(got), 3 + CONTROL_REQUEST_MAX - 5);
	ck_assert_int_eq(strncmp(got, "ok\nbbb", 6), 0);
	free(got);
	ck_assert_uint_eq(srv_calls(), 1);
	/* one more octet: refused, the handler never sees it */
	memset(req + 5, 'b', CONTROL_REQUEST_MAX - 5);
	req[CONTROL_REQUEST_MAX] = '\n';
	got = ask_n(req, CONTROL_REQUEST_MAX + 1);
	ck_assert_str_eq(got, "error\nrequest longer than 4096 octets\n");
	free(got);
	/* and far more, without a newline at all */
	memset(req, 'c', sizeof(req));
	got = ask_n(req, sizeof(req));
	ck_assert_str_eq(got, "error\nrequest longer than 4096 octets\n");
	free(got);
	ck_assert_uint_eq(srv_calls(), 1);
	srv_stop();
}
END_TEST

START_TEST(nul_and_control_octets)
{
	srv_start();
	char *got = ask_n("ec\0ho\n", 6);
	ck_assert_str_eq(got, "error\nNUL octet in the request\n");
	free(got);
	got = ask_n("echo a\0\n", 8);
	ck_assert_str_eq(got, "error\nNUL octet in the request\n");
	free(got);
	assert_reply("echo\r\n", "error\ncontrol character 0x0d in the request\n");
	assert_reply("echo \x1b[2J\n", "error\ncontrol character 0x1b in the request\n");
	ck_assert_uint_eq(srv_calls(), 0);
	srv_stop();
}
END_TEST

START_TEST(no_command)
{
	srv_start();
	assert_reply("\n", "error\nno command\n");
	assert_reply(" \t \n", "error\nno command\n");
	assert_reply("--json\n", "error\nno command\n");
	assert_reply("--json  \n", "error\nno command\n");
	ck_assert_uint_eq(srv_calls(), 0);
	srv_stop();
}
END_TEST

START_TEST(word_limit)
{
	char req[1024];
	srv_start();
	/* CONTROL_ARGS_MAX words, --json counted */
	size_t len = (size_t)snprintf(req, sizeof(req), "--json echo");
	for (int i = 2; i < CONTROL_ARGS_MAX; i++)
		len += (size_t)snprintf(req + len, sizeof(req) - len, " w");
	snprintf(req + len, sizeof(req) - len, "\n");
	char *got = ask_n(req, strlen(req));
	ck_assert_int_eq(strncmp(got, "ok\n", 3), 0);
	free(got);
	ck_assert_uint_eq(srv_calls(), 1);
	snprintf(req + len, sizeof(req) - len, " w\n");
	assert_reply(req, "error\nmore than 64 words in the request\n");
	ck_assert_uint_eq(srv_calls(), 1);
	srv_stop();
}
END_TEST

START_TEST(one_line_only)
{
	srv_start();
	assert_reply("echo a\necho b\n",
		     "error\nmore than one line (one request per connection)\n");
	assert_reply("echo a\nx", "error\nmore than one line (one request per connection)\n");
	ck_assert_uint_eq(srv_calls(), 0);
	srv_stop();
}
END_TEST

START_TEST(no_newline_then_eof)
{
	srv_start();
	int fd = cl_connect(S.path);
	cl_send(fd, "echo", 4);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	char *got = cl_read_all(fd, NULL);
	ck_assert_str_eq(got, "error\nrequest does not end in a newline\n");
	free(got);
	close(fd);
	/* connecting and leaving costs nothing and answers nothing */
	fd = cl_connect(S.path);
	close(fd);
	assert_reply("echo z\n", "ok\nz\n");
	ck_assert_uint_eq(srv_calls(), 1);
	srv_stop();
}
END_TEST

/* --------------------------------------------------------- slow clients */

START_TEST(stalled_client_does_not_block_others)
{
	srv_start();
	int64_t t0 = now_ms();
	int silent = cl_connect(S.path);
	int partial = cl_connect(S.path);
	cl_send(partial, "ech", 3);
	/* served while the two above hold their slots */
	assert_reply("echo other\n", "ok\nother\n");
	ck_assert_int_lt(now_ms() - t0, CONTROL_REQUEST_TIMEOUT_MS / 2);
	/* and they are dropped at their deadline, with a reason */
	char *got = cl_read_all(silent, NULL);
	int64_t waited = now_ms() - t0;
	ck_assert_str_eq(got, "error\nrequest not complete within 2000 ms\n");
	free(got);
	ck_assert_int_ge(waited, CONTROL_REQUEST_TIMEOUT_MS - 50);
	ck_assert_int_lt(waited, CONTROL_REQUEST_TIMEOUT_MS + 2000);
	got = cl_read_all(partial, NULL);
	ck_assert_str_eq(got, "error\nrequest not complete within 2000 ms\n");
	free(got);
	close(silent);
	close(partial);
	ck_assert_uint_eq(srv_calls(), 1);
	srv_stop();
}
END_TEST

START_TEST(timeout_ms_follows_deadlines)
{
	srv_dir();
	srv_open();
	ck_assert_int_eq(control_timeout_ms(S.c), -1);
	control_process(S.c, handler, &S); /* nothing to do: harmless */
	int fd = cl_connect(S.path);
	for (int i = 0; i < 50 && control_timeout_ms(S.c) < 0; i++)
		srv_step(20);
	int t = control_timeout_ms(S.c);
	ck_assert_int_gt(t, 0);
	ck_assert_int_le(t, CONTROL_REQUEST_TIMEOUT_MS);
	cl_send(fd, "echo t\n", 7);
	for (int i = 0; i < 50 && srv_calls() == 0; i++)
		srv_step(20);
	char *got = cl_read_all(fd, NULL);
	ck_assert_str_eq(got, "ok\nt\n");
	free(got);
	close(fd);
	/* the reply went out at once: no client, no deadline */
	ck_assert_int_eq(control_timeout_ms(S.c), -1);
	srv_stop();
}
END_TEST

/* While CONTROL_CLIENTS_MAX clients hold their slots, the listener is out
 * of the epoll set (the descriptor stays quiet with a connection waiting),
 * the waiting one is not served; when a slot frees, it is. */
START_TEST(full_leaves_the_rest_in_backlog)
{
	int held[CONTROL_CLIENTS_MAX];
	srv_dir();
	srv_open();
	for (int i = 0; i < CONTROL_CLIENTS_MAX; i++)
		held[i] = cl_connect(S.path);
	for (int i = 0; i < 20; i++)
		srv_step(10);
	int waiting = cl_connect(S.path); /* into the backlog */
	cl_send(waiting, "echo 17\n", 8);
	struct pollfd p = {.fd = control_fd(S.c), .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, 200), 0);
	for (int i = 0; i < 10; i++)
		srv_step(10);
	ck_assert_uint_eq(srv_calls(), 0);
	ck_assert(!cl_readable(waiting, 0));
	close(held[0]);
	for (int i = 0; i < 100 && !cl_readable(waiting, 0); i++)
		srv_step(10);
	char *got = cl_read_all(waiting, NULL);
	ck_assert_str_eq(got, "ok\n17\n");
	free(got);
	close(waiting);
	for (int i = 1; i < CONTROL_CLIENTS_MAX; i++)
		close(held[i]);
	srv_stop();
}
END_TEST

START_TEST(twenty_clients_at_once)
{
	enum { N = 20 };
	_Static_assert(N > CONTROL_CLIENTS_MAX, "more clients than slots");
	int fd[N];
	char req[32], want[32];
	srv_start();
	for (int i = 0; i < N; i++) {
		fd[i] = cl_connect(S.path);
		snprintf(req, sizeof(req), "echo %d\n", i);
		cl_send(fd[i], req, strlen(req));
	}
	for (int i = N - 1; i >= 0; i--) { /* the last ones waited in the backlog */
		char *got = cl_read_all(fd[i], NULL);
		snprintf(want, sizeof(want), "ok\n%d\n", i);
		ck_assert_str_eq(got, want);
		free(got);
		close(fd[i]);
	}
	ck_assert_uint_eq(srv_calls(), N);
	srv_stop();
}
END_TEST

/* ---------------------------------------------------------------- replies */

START_TEST(big_reply)
{
	srv_start();
	size_t len;
	int fd = cl_connect(S.path);
	cl_send(fd, "big 3000000\n", 12);
	char *got = cl_read_all(fd, &len);
	close(fd);
	ck_assert_uint_eq(len, 3 + 3000000);
	ck_assert_int_eq(strncmp(got, "ok\nxxx", 6), 0);
	ck_assert_uint_eq(strspn(got + 3, "x"), 3000000);
	free(got);
	srv_stop();
}
END_TEST

START_TEST(reply_cut_at_the_cap)
{
	srv_start();
	assert_reply("huge\n", "error\nreply longer than 16777216 octets\n");
	assert_reply("--json huge\n",
		     "error\n{\"error\": \"reply longer than 16777216 octets\"}\n");
	/* exactly the cap is fine */
	char req[64];
	size_t len;
	snprintf(req, sizeof(req), "big %u\n", CONTROL_REPLY_MAX);
	char *got = ask_n(req, strlen(req));
	len = strlen(got);
	ck_assert_uint_eq(len, 3 + CONTROL_REPLY_MAX);
	free(got);
	srv_stop();
}
END_TEST

START_TEST(json_str_escapes)
{
	srv_start();
	char want[256];
	snprintf(want, sizeof(want), "ok\n%s\n", JSON_OUT);
	assert_reply("jsonstr\n", want);
	srv_stop();
}
END_TEST

/* ---------------------------------------------------------------- the path */

START_TEST(stale_socket_replaced)
{
	srv_dir();
	make_dead_socket(S.path);
	srv_open();
	ck_assert_int_eq(pthread_create(&S.th, NULL, serve, &S), 0);
	S.threaded = true;
	assert_reply("echo fresh\n", "ok\nfresh\n");
	srv_stop();
}
END_TEST

START_TEST(live_socket_refused)
{
	char err[512] = "";
	struct control *c2 = (struct control *)(uintptr_t)1; /* must be reset to NULL */
	srv_start();
	ck_assert_int_eq(control_open(S.path, (uid_t)-1, (gid_t)-1, &c2, err, sizeof(err)), -1);
	ck_assert_ptr_null(c2);
	char want[700];
	snprintf(want, sizeof(want), "control socket %s: another server answers on it", S.path);
	ck_assert_str_eq(err, want);
	/* the first one still serves, at the same path */
	assert_reply("echo still\n", "ok\nstill\n");
	srv_stop();

	/* a listener that is not shoal's counts as live as well */
	srv_dir();
	int fd = make_mute_listener(S.path);
	ck_assert_int_eq(control_open(S.path, (uid_t)-1, (gid_t)-1, &c2, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "another server answers on it"));
	struct stat st;
	ck_assert_int_eq(lstat(S.path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	close(fd);
	ut_rmtree(S.dir);
}
END_TEST

START_TEST(not_a_socket_refused)
{
	char err[512], want[700];
	struct control *c2 = NULL;
	srv_dir();
	ut_write(S.dir, "ctl.sock", "precious\n");
	ck_assert_int_eq(control_open(S.path, (uid_t)-1, (gid_t)-1, &c2, err, sizeof(err)), -1);
	ck_assert_ptr_null(c2);
	snprintf(want, sizeof(want), "control socket %s: exists and is not a socket", S.path);
	ck_assert_str_eq(err, want);
	FILE *f = fopen(S.path, "r");
	char line[32] = "";
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	ck_assert_str_eq(line, "precious\n");

	/* a directory, and a symbolic link to a socket, are not sockets either */
	char dpath[600], lpath[600], target[600];
	ut_path(dpath, sizeof(dpath), S.dir, "d");
	ck_assert_int_eq(mkdir(dpath, 0700), 0);
	ck_assert_int_eq(control_open(dpath, (uid_t)-1, (gid_t)-1, &c2, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "exists and is not a socket"));
	ut_path(target, sizeof(target), S.dir, "dead.sock");
	make_dead_socket(target);
	ut_path(lpath, sizeof(lpath), S.dir, "link.sock");
	ck_assert_int_eq(symlink(target, lpath), 0);
	ck_assert_int_eq(control_open(lpath, (uid_t)-1, (gid_t)-1, &c2, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "exists and is not a socket"));
	ut_rmtree(S.dir);
}
END_TEST

START_TEST(path_too_long)
{
	char err[1024], path[300];
	struct control *c2 = NULL;
	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = 0;
	ck_assert_int_eq(control_open(path, (uid_t)-1, (gid_t)-1, &c2, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "path empty or longer than 107 octets"));
	ck_assert_int_eq(control_open("", (uid_t)-1, (gid_t)-1, &c2, err, sizeof(err)), -1);
	ck_assert_ptr_null(c2);
}
END_TEST

START_TEST(mode_0660_and_owner)
{
	struct stat st;
	srv_dir();
	/* whatever the umask, 0660; and the umask is given back */
	umask(0);
	srv_open();
	ck_assert_uint_eq(umask(0), 0);
	ck_assert_int_eq(lstat(S.path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	control_close(S.c);
	umask(0777);
	srv_open();
	ck_assert_uint_eq(umask(022), 0777);
	ck_assert_int_eq(lstat(S.path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	control_close(S.c);

	/* owner and group: our own always works; another one as root */
	char err[512];
	uid_t uid = geteuid() == 0 ? 65534 : geteuid();
	gid_t gid = geteuid() == 0 ? 65534 : getegid();
	ck_assert_msg(control_open(S.path, uid, gid, &S.c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(lstat(S.path, &st), 0);
	ck_assert_uint_eq(st.st_uid, uid);
	ck_assert_uint_eq(st.st_gid, gid);
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	control_close(S.c);
	S.c = NULL;
	ut_rmtree(S.dir);
}
END_TEST

START_TEST(close_unlinks)
{
	struct stat st;
	srv_dir();
	srv_open();
	ck_assert_int_eq(lstat(S.path, &st), 0);
	control_close(S.c);
	ck_assert_int_eq(lstat(S.path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* but not what took the path's place since */
	srv_open();
	ck_assert_int_eq(unlink(S.path), 0);
	ut_write(S.dir, "ctl.sock", "someone else's\n");
	control_close(S.c);
	ck_assert_int_eq(lstat(S.path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	S.c = NULL;
	control_close(NULL);
	ut_rmtree(S.dir);
}
END_TEST

/* ---------------------------------------------------------------- shoalctl */

struct run {
	int status; /* exit status */
	char out[8192], err[8192];
	int64_t ms;
};

/* Run $SHOALCTL_BIN with the given arguments (NULL ends), as `uid` unless
 * it is -1, and collect its exit status, stdout and stderr. */
static void run_ctl(struct run *r, uid_t uid, const char *first, ...)
{
	const char *bin = getenv("SHOALCTL_BIN");
	ck_assert_msg(bin && *bin, "SHOALCTL_BIN is not set (run through meson test)");
	const char *argv[32];
	int argc = 0;
	argv[argc++] = bin;
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		ck_assert_int_lt(argc, 30);
		argv[argc++] = a;
	}
	va_end(ap);
	argv[argc] = NULL;

	int po[2], pe[2];
	ck_assert_int_eq(pipe2(po, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(pe, O_CLOEXEC), 0);
	memset(r, 0, sizeof(*r));
	int64_t t0 = now_ms();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		if (uid != (uid_t)-1 &&
		    (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0))
			_exit(126);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	size_t lo = 0, le = 0;
	bool open_o = true, open_e = true;
	while (open_o || open_e) {
		struct pollfd p[2] = {{.fd = open_o ? po[0] : -1, .events = POLLIN},
				      {.fd = open_e ? pe[0] : -1, .events = POLLIN}};
		int64_t left = t0 + 20000 - now_ms();
		ck_assert_msg(left > 0, "shoalctl still running after 20 s");
		poll(p, 2, (int)left);
		if (open_o && p[0].revents) {
			ssize_t n = read(po[0], r->out + lo, sizeof(r->out) - 1 - lo);
			if (n <= 0)
				open_o = false;
			else
				lo += (size_t)n;
		}
		if (open_e && p[1].revents) {
			ssize_t n = read(pe[0], r->err + le, sizeof(r->err) - 1 - le);
			if (n <= 0)
				open_e = false;
			else
				le += (size_t)n;
		}
	}
	int ws;
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	r->ms = now_ms() - t0;
	close(po[0]);
	close(pe[0]);
	ck_assert_msg(WIFEXITED(ws), "shoalctl died of signal %d", WTERMSIG(ws));
	r->status = WEXITSTATUS(ws);
	ck_assert_msg(r->status != 126 && r->status != 127, "could not run %s as uid %ld", bin,
		      (long)uid);
}

/* stderr is exactly one line, holding `part`. */
static void assert_one_line(const struct run *r, const char *part)
{
	size_t len = strlen(r->err);
	ck_assert_msg(len > 0 && r->err[len - 1] == '\n' && strchr(r->err, '\n') == r->err + len - 1,
		      "not one line: '%s'", r->err);
	ck_assert_msg(strncmp(r->err, "shoalctl: ", 10) == 0, "'%s'", r->err);
	ck_assert_msg(strstr(r->err, part) != NULL, "'%s' does not say '%s'", r->err, part);
}

START_TEST(ctl_ok_and_error)
{
	struct run r;
	srv_start();
	run_ctl(&r, (uid_t)-1, "-s", S.path, "status", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "up\n");
	ck_assert_str_eq(r.err, "");
	ck_assert_str_eq(S.joined, "status");
	ck_assert(!S.json);

	run_ctl(&r, (uid_t)-1, "--socket", S.path, "zone-status", "nope.", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "");
	ck_assert_str_eq(r.err, "no such zone: nope.\n");
	ck_assert_str_eq(S.joined, "zone-status|nope.");
	ck_assert_uint_eq(srv_calls(), 2);
	srv_stop();
}
END_TEST

START_TEST(ctl_json_and_flags)
{
	struct run r;
	srv_start();
	run_ctl(&r, (uid_t)-1, "-s", S.path, "--json", "reload", "--force", "example.com.",
		"example.net.", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "{\"args\": [\"--force\", \"example.com.\", \"example.net.\"]}\n");
	ck_assert(S.json);
	ck_assert_str_eq(S.joined, "reload|--force|example.com.|example.net.");
	/* --json after the command is the same flag */
	run_ctl(&r, (uid_t)-1, "-s", S.path, "-t", "5", "status", "--json", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "{\"status\": \"up\"}\n");
	ck_assert(S.json);
	ck_assert_str_eq(S.joined, "status");
	srv_stop();
}
END_TEST

START_TEST(ctl_usage_errors)
{
	struct run r;
	srv_start();
	static const char *const bad[][4] = {
		{"frobnicate", NULL},
		{"status", "extra", NULL},
		{"stats", "--force", NULL},
		{"reload", "--bogus", NULL},
		{"reload", "a b", NULL},
		{"reload", "a\nb", NULL},
		{"reload", "", NULL},
		{NULL},
	};
	for (int i = 0; bad[i][0]; i++) {
		run_ctl(&r, (uid_t)-1, "-s", S.path, bad[i][0], bad[i][1], bad[i][2], NULL);
		ck_assert_msg(r.status == 2, "%s %s: exit %d", bad[i][0], bad[i][1] ? bad[i][1] : "",
			      r.status);
		assert_one_line(&r, bad[i][0]);
		ck_assert_str_eq(r.out, "");
	}
	run_ctl(&r, (uid_t)-1, "-s", S.path, NULL);
	ck_assert_int_eq(r.status, 2);
	run_ctl(&r, (uid_t)-1, "-s", S.path, "-t", "0", "status", NULL);
	ck_assert_int_eq(r.status, 2);
	run_ctl(&r, (uid_t)-1, "-s", S.path, "-t", "1x", "status", NULL);
	ck_assert_int_eq(r.status, 2);
	run_ctl(&r, (uid_t)-1, "--frob", "status", NULL);
	ck_assert_int_eq(r.status, 2);
	run_ctl(&r, (uid_t)-1, "-s", NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_uint_eq(srv_calls(), 0); /* nothing was sent */
	srv_stop();
}
END_TEST

START_TEST(ctl_help_and_version)
{
	struct run r;
	run_ctl(&r, (uid_t)-1, "--help", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.err, "");
	static const char *const words[] = {"status", "reload [--force] [ZONE]...",
					    "zone-status [ZONE]...", "stats", "stop",
					    "--socket PATH", "--timeout SECONDS", "--json",
					    "/run/shoal/shoal.sock", "Exit status: 0", NULL};
	for (int i = 0; words[i]; i++)
		ck_assert_msg(strstr(r.out, words[i]), "--help does not mention '%s'", words[i]);
	run_ctl(&r, (uid_t)-1, "-h", NULL);
	ck_assert_int_eq(r.status, 0);
	run_ctl(&r, (uid_t)-1, "-V", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "shoalctl " SHOAL_VERSION "\n");
	run_ctl(&r, (uid_t)-1, "--version", NULL);
	ck_assert_str_eq(r.out, "shoalctl " SHOAL_VERSION "\n");
}
END_TEST

START_TEST(ctl_no_socket)
{
	struct run r;
	char want[800];
	srv_dir();
	run_ctl(&r, (uid_t)-1, "-s", S.path, "status", NULL);
	ck_assert_int_eq(r.status, 3);
	snprintf(want, sizeof(want),
		 "shoalctl: %s: no such file (is shoal running? -s gives another socket)\n",
		 S.path);
	ck_assert_str_eq(r.err, want);
	ck_assert_str_eq(r.out, "");
	ut_rmtree(S.dir);
}
END_TEST

START_TEST(ctl_refused)
{
	struct run r;
	srv_dir();
	make_dead_socket(S.path);
	run_ctl(&r, (uid_t)-1, "-s", S.path, "status", NULL);
	ck_assert_int_eq(r.status, 3);
	assert_one_line(&r, "connection refused");
	ck_assert_str_eq(r.out, "");
	ut_rmtree(S.dir);
}
END_TEST

START_TEST(ctl_permission_denied)
{
	struct run r;
	srv_start();
	uid_t as = (uid_t)-1;
	if (geteuid() == 0) {
		/* root passes any mode: ask as nobody, through a directory
		 * nobody may cross, so only the socket's 0660 stops it */
		ck_assert_int_eq(chmod(S.dir, 0755), 0);
		as = 65534;
	} else {
		ck_assert_int_eq(chmod(S.path, 0), 0);
	}
	run_ctl(&r, as, "-s", S.path, "status", NULL);
	ck_assert_int_eq(r.status, 3);
	assert_one_line(&r, "permission denied");
	ck_assert_uint_eq(srv_calls(), 0);
	srv_stop();
}
END_TEST

START_TEST(ctl_no_answer_timeout)
{
	struct run r;
	char want[800];
	srv_dir();
	int fd = make_mute_listener(S.path);
	run_ctl(&r, (uid_t)-1, "-t", "1", "-s", S.path, "status", NULL);
	ck_assert_int_eq(r.status, 3);
	snprintf(want, sizeof(want), "shoalctl: %s: no answer within 1 s\n", S.path);
	ck_assert_str_eq(r.err, want);
	ck_assert_int_ge(r.ms, 900);
	ck_assert_int_lt(r.ms, 5000);
	close(fd);
	ut_rmtree(S.dir);
}
END_TEST

/* A server that reads the request and closes without a word. */
static void *close_early(void *arg)
{
	int lfd = *(int *)arg;
	int fd = accept(lfd, NULL, NULL);
	if (fd >= 0) {
		char buf[256];
		while (recv(fd, buf, sizeof(buf), 0) > 0 && !memchr(buf, '\n', sizeof(buf)))
			;
		close(fd);
	}
	return NULL;
}

START_TEST(ctl_closed_without_status)
{
	struct run r;
	pthread_t th;
	srv_dir();
	int fd = make_mute_listener(S.path);
	ck_assert_int_eq(pthread_create(&th, NULL, close_early, &fd), 0);
	run_ctl(&r, (uid_t)-1, "-s", S.path, "stop", NULL);
	pthread_join(th, NULL);
	ck_assert_int_eq(r.status, 3);
	assert_one_line(&r, "closed the connection without a status line");
	close(fd);
	ut_rmtree(S.dir);
}
END_TEST

static Suite *control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *t = tcase_create("requests");
	tcase_add_test(t, request_reaches_handler);
	tcase_add_test(t, json_flag);
	tcase_add_test(t, reply_framing);
	tcase_add_test(t, overlong_request);
	tcase_add_test(t, nul_and_control_octets);
	tcase_add_test(t, no_command);
	tcase_add_test(t, word_limit);
	tcase_add_test(t, one_line_only);
	tcase_add_test(t, no_newline_then_eof);
	suite_add_tcase(s, t);

	t = tcase_create("clients");
	tcase_add_test(t, stalled_client_does_not_block_others);
	tcase_add_test(t, timeout_ms_follows_deadlines);
	tcase_add_test(t, full_leaves_the_rest_in_backlog);
	tcase_add_test(t, twenty_clients_at_once);
	suite_add_tcase(s, t);

	t = tcase_create("replies");
	tcase_add_test(t, big_reply);
	tcase_add_test(t, reply_cut_at_the_cap);
	tcase_add_test(t, json_str_escapes);
	suite_add_tcase(s, t);

	t = tcase_create("path");
	tcase_add_test(t, stale_socket_replaced);
	tcase_add_test(t, live_socket_refused);
	tcase_add_test(t, not_a_socket_refused);
	tcase_add_test(t, path_too_long);
	tcase_add_test(t, mode_0660_and_owner);
	tcase_add_test(t, close_unlinks);
	suite_add_tcase(s, t);

	t = tcase_create("shoalctl");
	tcase_add_test(t, ctl_ok_and_error);
	tcase_add_test(t, ctl_json_and_flags);
	tcase_add_test(t, ctl_usage_errors);
	tcase_add_test(t, ctl_help_and_version);
	tcase_add_test(t, ctl_no_socket);
	tcase_add_test(t, ctl_refused);
	tcase_add_test(t, ctl_permission_denied);
	tcase_add_test(t, ctl_no_answer_timeout);
	tcase_add_test(t, ctl_closed_without_status);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	/* as in the server: a client gone before its reply is an error
	 * return, not a signal (control.c sends with MSG_NOSIGNAL anyway) */
	signal(SIGPIPE, SIG_IGN);
	SRunner *sr = srunner_create(control_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
