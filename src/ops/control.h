/* control.h: the control channel, a Unix stream socket that shoalctl talks to.
 *
 * Protocol (one request per connection, text, so `socat - UNIX:PATH` works):
 *   request: one line of at most CONTROL_REQUEST_MAX octets, its "\n"
 *            included: "[--json ]COMMAND[ ARG]...", at most CONTROL_ARGS_MAX
 *            words (--json counted) separated by blanks (space, tab); no
 *            NUL or other control octet but tab; nothing after the "\n";
 *   reply:   a status line "ok\n" or "error\n", then the body (text, or one
 *            JSON document when the request had --json), then the server
 *            closes the connection. A request the channel itself refuses
 *            (malformed, see control_process) gets "error\n" and a one-line
 *            reason in text, --json or not.
 *
 * The server side never blocks: control_process() is called by the main
 * thread when control_fd() is readable, reads and writes only what the
 * sockets take, and drops a client that has not sent its whole request
 * within CONTROL_REQUEST_TIMEOUT_MS or not taken its reply within
 * CONTROL_REPLY_TIMEOUT_MS, so a stalled or hostile client can delay
 * neither queries (other threads) nor reloads (this one).
 */
#ifndef SHOAL_CONTROL_H
#define SHOAL_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CONTROL_REQUEST_MAX 4096	/* octets in a request line */
#define CONTROL_ARGS_MAX 64		/* words in a request */
#define CONTROL_CLIENTS_MAX 16		/* connections served at once; more wait in the backlog */
#define CONTROL_REQUEST_TIMEOUT_MS 2000
#define CONTROL_REPLY_TIMEOUT_MS 10000
/* Octets in a reply body; more is cut (control_printf). At ~120 octets per
 * zone, zone-status of 100,000 zones is 12 MiB, and a runaway handler must
 * not take the server's memory with it. */
#define CONTROL_REPLY_MAX (16u << 20)

struct control;

struct control_request {
	int argc;	/* >= 1: argv[0] is the command */
	char **argv;	/* words, NUL-terminated; valid during the handler only */
	bool json;	/* the client asked for a JSON reply */
};

/** A reply being built: a growable buffer (not shared between threads). */
struct control_reply;

/** Append formatted text to the reply body. Past CONTROL_REPLY_MAX, or out of
 * memory: the reply is cut, i.e. the body is replaced by the reason (as
 * {"error": "reason"} when the request had --json), the reply becomes an
 * error, and later appends are ignored. */
void control_printf(struct control_reply *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Append `s` as a JSON string literal (RFC 8259: quotes added; '"', '\\'
 * and U+0000..U+001F escaped; an octet that is not well-formed UTF-8
 * becomes \ufffd). */
void control_json_str(struct control_reply *r, const char *s);

/** Mark the reply as failed: the status line says "error", shoalctl exits 1. */
void control_fail(struct control_reply *r);

/** Called once per complete request, on the thread that calls control_process.
 * It must not call control_process or control_close: to stop, set a flag and
 * close after control_process has returned (the reply is out by then). */
typedef void (*control_handler_fn)(void *ctx, const struct control_request *req,
				   struct control_reply *rep);

/**
 * Create the socket at `path`: mode 0660, owned by `uid`:`gid` (each -1 to
 * leave as is), listening, non-blocking. A stale socket left by a dead
 * server is replaced; one a running server answers on is an error, as is a
 * path that exists and is not a socket.
 * Pre: no other thread creates files meanwhile: the mode is set through the
 * process-wide umask around bind(2), so that it is never wider than 0660.
 * \return 0 and *out, or -1 with err filled ("control socket PATH: reason")
 */
int control_open(const char *path, uid_t uid, gid_t gid, struct control **out, char *err,
		 size_t errsize);

/** A descriptor that polls readable when control_process has work (epoll). */
int control_fd(const struct control *c);

/** Milliseconds until the nearest client deadline, or -1 when none. */
int control_timeout_ms(const struct control *c);

/**
 * Accept, read, answer, write, time out, without blocking: call when
 * control_fd() is readable or control_timeout_ms() has passed. Each complete
 * request is passed to `fn`; a malformed one (too long, not one line, no
 * command, NUL octets) gets an error reply without reaching `fn`. A reply is
 * written as far as the socket takes it before this returns: a short one
 * (the answer to "stop") has reached the client even if control_close
 * follows at once.
 */
void control_process(struct control *c, control_handler_fn fn, void *ctx);

/** Close every client and the socket, and unlink the socket's path (unless
 * it names another socket by now: a newer server's). NULL is fine. */
void control_close(struct control *c);

#endif
