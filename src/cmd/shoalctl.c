/* shoalctl.c: the control channel's client (protocol in ops/control.h).
 * Checks the command and its flags here, so a typo costs no round trip and
 * gets exit status 2; sends one request line; copies the reply's body to
 * stdout ("ok") or stderr ("error"). Every way of failing to talk to the
 * server is one line on stderr and exit status 3, so scripts can tell "the
 * server said no" (1) from "no server" (3). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ops/control.h"

enum ctl_exit {
	CTL_EXIT_OK = 0,	  /* the server answered "ok" */
	CTL_EXIT_ERROR = 1,	  /* the server answered "error" */
	CTL_EXIT_USAGE = 2,	  /* bad command line: nothing was sent */
	CTL_EXIT_UNREACHABLE = 3, /* no socket, no server, no (whole) answer */
};

#define CTL_SOCKET_DEFAULT "/run/shoal/shoal.sock"
/* A reload of a 1M-record zone takes a second or more, and the server
 * answers after it; a minute leaves room for many zones on a busy machine
 * and still ends a script that would otherwise hang. */
#define CTL_TIMEOUT_DEFAULT_S 60
#define CTL_TIMEOUT_MAX_S 86400 /* a day: more is a typo */
/* "error\n" is the longest status line; longer without "\n" is not ours. */
#define CTL_STATUS_MAX 6
#define CTL_READ_CHUNK 65536

struct ctl_command {
	const char *name;
	const char *const *flags; /* options it takes, NULL-terminated; NULL: none */
	bool operands;		  /* takes zone names */
};

static const char *const reload_flags[] = {"--force", NULL};

static const struct ctl_command commands[] = {
	{"status", NULL, false},
	{"reload", reload_flags, true},
	{"zone-status", NULL, true},
	{"zone-notify", NULL, true},
	{"zone-refresh", NULL, true},
	{"zone-retransfer", NULL, true},
	{"stats", NULL, false},
	{"stop", NULL, false},
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: shoalctl [OPTION]... COMMAND [ARG]...\n"
		"Send one command to a running shoal over its control socket and print\n"
		"the answer.\n"
		"\n"
		"Commands:\n"
		"  status                    version, pid, uptime, workers, addresses, zones\n"
		"  reload [--force] [ZONE]...\n"
		"                            without ZONE: read the configuration again and\n"
		"                            the zone files that changed (--force: every zone\n"
		"                            file); with ZONE: only those zones' files. A zone\n"
		"                            that fails to load keeps its old version\n"
		"  zone-status [ZONE]...     last load, serial, records and file of every zone\n"
		"                            (or of those named); for zones transferred out,\n"
		"                            the journal's serials and the last NOTIFY to\n"
		"                            each remote; for secondary zones, the primary,\n"
		"                            the last check and its result, the next check\n"
		"                            and the expiry\n"
		"  zone-notify ZONE...       send NOTIFY for the zones to their notify: remotes\n"
		"  zone-refresh ZONE...      secondary zones: ask the primaries for the SOA now\n"
		"  zone-retransfer ZONE...   secondary zones: a full AXFR now, whatever the serial\n"
		"  stats                     query, response, rcode and rate-limit counters\n"
		"  stop                      stop the server (queued queries are answered)\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH         the control socket (default %s)\n"
		"  -t, --timeout SECONDS     bound on the whole exchange, 1 to %d\n"
		"                            (default %d)\n"
		"      --json                ask for the answer as one JSON document\n"
		"  -h, --help                this text\n"
		"  -V, --version             print the version\n"
		"\n"
		"The answer goes to stdout, or to stderr when the server reports an error.\n"
		"Exit status: 0 the server answered ok; 1 it answered error; 2 bad usage\n"
		"(nothing sent); 3 no answer: no such socket, permission denied, connection\n"
		"refused (shoal not running), no answer within the timeout, or the\n"
		"connection closed before a status line.\n",
		CTL_SOCKET_DEFAULT, CTL_TIMEOUT_MAX_S, CTL_TIMEOUT_DEFAULT_S);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for `events` on fd until deadline. \return 1 ready, 0 timed out, -1 errno */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		return n;
	}
}

/* A word the protocol can carry: non-empty, no blank, no control octet. */
static bool word_ok(const char *w)
{
	if (!*w)
		return false;
	for (const unsigned char *p = (const unsigned char *)w; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

/* Connect, bounded by the deadline (connect(2) on a Unix socket waits
 * while the server's backlog is full, as long as SO_SNDTIMEO allows).
 * \return the connected, non-blocking descriptor, or -1 after one line on stderr */
static int ctl_connect(const char *path, unsigned timeout_s)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t plen = strlen(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "shoalctl: socket: %s\n", strerror(errno));
		return -1;
	}
	memcpy(sa.sun_path, path, plen + 1); /* length checked by the caller */
	struct timeval tv = {.tv_sec = timeout_s};
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		fprintf(stderr, "shoalctl: setsockopt: %s\n", strerror(errno));
		goto fail;
	}
	if (connect(fd, (const struct sockaddr *)&sa,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1)) < 0) {
		int e = errno;
		if (e == ENOENT)
			fprintf(stderr,
				"shoalctl: %s: no such file (is shoal running? -s gives another "
				"socket)\n",
				path);
		else if (e == EACCES || e == EPERM)
			fprintf(stderr,
				"shoalctl: %s: permission denied (run as the socket's owner or "
				"group, or root)\n",
				path);
		else if (e == ECONNREFUSED)
			fprintf(stderr,
				"shoalctl: %s: connection refused (nobody listens: a stale socket, "
				"shoal is not running)\n",
				path);
		else if (e == EAGAIN || e == EINPROGRESS || e == ETIMEDOUT)
			fprintf(stderr, "shoalctl: %s: no answer within %u s (the server is busy)\n",
				path, timeout_s);
		else
			fprintf(stderr, "shoalctl: %s: %s\n", path, strerror(e));
		goto fail;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		fprintf(stderr, "shoalctl: fcntl: %s\n", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Send the request and copy the reply's body out.
 * \return the exit status */
static enum ctl_exit exchange(const char *path, unsigned timeout_s, const char *req,
			      size_t req_len)
{
	enum ctl_exit rc = CTL_EXIT_UNREACHABLE;
	int64_t deadline = now_ms() + (int64_t)timeout_s * 1000;
	char status[CTL_STATUS_MAX + 1];
	size_t status_len = 0, sent = 0;
	FILE *out = NULL; /* set once the status line is known */
	char *buf = NULL;
	int fd = ctl_connect(path, timeout_s);
	if (fd < 0)
		goto out;
	buf = malloc(CTL_READ_CHUNK);
	if (!buf) {
		fprintf(stderr, "shoalctl: out of memory\n");
		goto out;
	}
	while (sent < req_len) {
		ssize_t n = send(fd, req + sent, req_len - sent, MSG_NOSIGNAL);
		if (n >= 0) {
			sent += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			fprintf(stderr, "shoalctl: %s: sending the request: %s\n", path,
				strerror(errno));
			goto out;
		}
		int w = wait_fd(fd, POLLOUT, deadline);
		if (w == 0)
			goto timeout;
		if (w < 0) {
			fprintf(stderr, "shoalctl: poll: %s\n", strerror(errno));
			goto out;
		}
	}
	for (;;) {
		ssize_t n = recv(fd, buf, CTL_READ_CHUNK, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int w = wait_fd(fd, POLLIN, deadline);
			if (w == 0)
				goto timeout;
			if (w < 0) {
				fprintf(stderr, "shoalctl: poll: %s\n", strerror(errno));
				goto out;
			}
			continue;
		}
		/* ECONNRESET: the server closed with our octets unread (it
		 * refused the request early); what it sent is read first. */
		if (n < 0 && errno != ECONNRESET) {
			fprintf(stderr, "shoalctl: %s: reading the reply: %s\n", path,
				strerror(errno));
			goto out;
		}
		if (n <= 0)
			break;
		size_t off = 0;
		while (!out && off < (size_t)n) {
			char ch = buf[off++];
			if (ch != '\n') {
				if (status_len == CTL_STATUS_MAX)
					goto bad_status;
				status[status_len++] = ch;
				continue;
			}
			status[status_len] = '\0';
			if (strcmp(status, "ok") == 0) {
				out = stdout;
				rc = CTL_EXIT_OK;
			} else if (strcmp(status, "error") == 0) {
				out = stderr;
				rc = CTL_EXIT_ERROR;
			} else {
				goto bad_status;
			}
		}
		if (out && off < (size_t)n)
			fwrite(buf + off, 1, (size_t)n - off, out);
	}
	if (!out) {
		fprintf(stderr, "shoalctl: %s: the server closed the connection without a status line\n",
			path);
		rc = CTL_EXIT_UNREACHABLE;
	}
	goto out;
bad_status:
	fprintf(stderr, "shoalctl: %s: not a shoal control socket (unexpected status line)\n", path);
	rc = CTL_EXIT_UNREACHABLE;
	goto out;
timeout:
	if (out) {
		fflush(out);
		fprintf(stderr, "shoalctl: %s: reply not complete within %u s\n", path, timeout_s);
	} else {
		fprintf(stderr, "shoalctl: %s: no answer within %u s\n", path, timeout_s);
	}
	rc = CTL_EXIT_UNREACHABLE;
out:
	if (fflush(stdout) != 0) {
		fprintf(stderr, "shoalctl: writing the answer: %s\n", strerror(errno));
		if (rc == CTL_EXIT_OK)
			rc = CTL_EXIT_ERROR;
	}
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"timeout", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = CTL_SOCKET_DEFAULT;
	unsigned timeout_s = CTL_TIMEOUT_DEFAULT_S;
	bool json = false;
	char req[CONTROL_REQUEST_MAX + 1];
	size_t len = 0;
	int c, words = 0;

	opterr = 0;
	/* "+": stop at the command, whose own flags (reload --force) follow it */
	while ((c = getopt_long(argc, argv, "+:s:t:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 't': {
			char *end;
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || v < 1 ||
			    v > CTL_TIMEOUT_MAX_S) {
				fprintf(stderr,
					"shoalctl: --timeout %s: not a number of seconds from 1 to "
					"%d\n",
					optarg, CTL_TIMEOUT_MAX_S);
				return CTL_EXIT_USAGE;
			}
			timeout_s = (unsigned)v;
			break;
		}
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("shoalctl %s\n", SHOAL_VERSION);
			return CTL_EXIT_OK;
		case ':':
			fprintf(stderr, "shoalctl: %s: missing argument\n", argv[optind - 1]);
			return CTL_EXIT_USAGE;
		default:
			fprintf(stderr, "shoalctl: unknown option %s (see --help)\n",
				argv[optind - 1]);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "Usage: shoalctl [OPTION]... COMMAND [ARG]... (see --help)\n");
		return CTL_EXIT_USAGE;
	}
	const struct ctl_command *cmd = NULL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "shoalctl: unknown command '%s' (see --help)\n", argv[optind]);
		return CTL_EXIT_USAGE;
	}
	/* --json is also taken after the command, where one tends to add it */
	for (int i = optind + 1; i < argc; i++)
		if (strcmp(argv[i], "--json") == 0)
			json = true;
	if (json) {
		len += (size_t)snprintf(req + len, sizeof(req) - len, "--json ");
		words++;
	}
	len += (size_t)snprintf(req + len, sizeof(req) - len, "%s", cmd->name);
	words++;
	for (int i = optind + 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--json") == 0)
			continue;
		if (!word_ok(a)) {
			/* shown with '?' for control octets: the message stays one line */
			char shown[64];
			snprintf(shown, sizeof(shown), "%s", a);
			for (char *p = shown; *p; p++)
				if ((unsigned char)*p < ' ' || *p == 0x7f)
					*p = '?';
			fprintf(stderr,
				"shoalctl: %s: argument '%s' is empty or has a blank or control "
				"character\n",
				cmd->name, shown);
			return CTL_EXIT_USAGE;
		}
		if (a[0] == '-') {
			bool known = false;
			for (const char *const *f = cmd->flags; f && *f; f++)
				known = known || strcmp(a, *f) == 0;
			if (!known) {
				fprintf(stderr, "shoalctl: %s: unknown option %s (see --help)\n",
					cmd->name, a);
				return CTL_EXIT_USAGE;
			}
		} else if (!cmd->operands) {
			fprintf(stderr, "shoalctl: %s takes no arguments (got '%s')\n", cmd->name,
				a);
			return CTL_EXIT_USAGE;
		}
		int n = snprintf(req + len, sizeof(req) - len, " %s", a);
		if (n < 0 || (size_t)n >= sizeof(req) - len || ++words > CONTROL_ARGS_MAX) {
			fprintf(stderr,
				"shoalctl: request longer than %d octets or %d words (name fewer "
				"zones per call)\n",
				CONTROL_REQUEST_MAX, CONTROL_ARGS_MAX);
			return CTL_EXIT_USAGE;
		}
		len += (size_t)n;
	}
	/* CONTROL_REQUEST_MAX counts the newline */
	if (len + 1 > CONTROL_REQUEST_MAX) {
		fprintf(stderr,
			"shoalctl: request longer than %d octets or %d words (name fewer zones per "
			"call)\n",
			CONTROL_REQUEST_MAX, CONTROL_ARGS_MAX);
		return CTL_EXIT_USAGE;
	}
	req[len++] = '\n';
	struct sockaddr_un sa;
	if (strlen(path) == 0 || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "shoalctl: %s: socket path empty or longer than %zu octets\n", path,
			sizeof(sa.sun_path) - 1);
		return CTL_EXIT_USAGE;
	}
	return exchange(path, timeout_s, req, len);
}
