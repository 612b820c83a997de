/*
 * harness.c - helpers for shoal's end-to-end tests; see harness.h.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ldns/util.h defines a debugging macro dprintf(X, Y) that hides POSIX
 * dprintf(3); this file wants the function. */
#undef dprintf

/* Readiness is probed with short queries so a slow start-up is noticed
 * within one poll period (50 ms) rather than one query timeout. */
#define READY_PROBE_TIMEOUT_MS 200
#define READY_POLL_MS 50
/* How often pick_port() retries when the kernel's choice is taken on TCP or
 * ::1: collisions are rare, 50 is generous. */
#define PICK_PORT_TRIES 50
/* A start that loses the port race to another process is retried. */
#define START_TRIES 3
#define DNS_HEADER_LEN 12

/* ---- small utilities ------------------------------------------------------ */

double harness_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

static const char *tmp_base(void)
{
	const char *t = getenv("TMPDIR");
	return (t != NULL && t[0] == '/') ? t : "/tmp";
}

void harness_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(*nv));
	if (nv == NULL)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (nv[*n] == NULL)
		return -ENOMEM;
	(*n)++;
	nv[*n] = NULL;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *trim_right_spaces(char *s)
{
	size_t l = strlen(s);
	while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\n'))
		s[--l] = '\0';
	return s;
}

/* ---- temporary directories ---------------------------------------------- */

int harness_tmpdir(char *out, size_t size, const char *tag)
{
	int n = snprintf(out, size, "%s/shoal-e2e-%s-XXXXXX", tmp_base(), tag ? tag : "tmp");
	if (n < 0 || (size_t)n >= size) {
		if (size > 0)
			out[0] = '\0';
		return -ENAMETOOLONG;
	}
	if (mkdtemp(out) == NULL) {
		int err = errno;
		out[0] = '\0';
		return -err;
	}
	/* mkdtemp() makes it 0700; shoal reads it as nobody once it drops root. */
	if (chmod(out, 0755) != 0)
		return -errno;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int harness_rmtree(const char *path)
{
	if (path == NULL || path[0] == '\0')
		return -EINVAL;
	/* Only ever delete what harness_tmpdir() made: "<base>/shoal-e2e-*". */
	const char *bases[] = {tmp_base(), "/tmp"};
	bool ok = false;
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		size_t bl = strlen(bases[i]);
		if (strncmp(path, bases[i], bl) == 0 &&
		    strncmp(path + bl, "/shoal-e2e-", 11) == 0 &&
		    strchr(path + bl + 1, '/') == NULL && strstr(path, "..") == NULL)
			ok = true;
	}
	if (!ok)
		return -EINVAL;
	int rc = nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (rc == -1)
		return errno == ENOENT ? 0 : -errno;
	return rc;
}

static bool has_zone_suffix(const char *name)
{
	size_t l = strlen(name);
	return l > 5 && strcmp(name + l - 5, ".zone") == 0;
}

static int copy_file(const char *from, const char *to)
{
	int rc = 0;
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = -1;
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		rc = -errno;
		goto out;
	}
	char buf[65536];
	for (;;) {
		ssize_t r = read(in, buf, sizeof(buf));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		for (ssize_t off = 0; off < r;) {
			ssize_t w = write(out, buf + off, (size_t)(r - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				rc = -errno;
				goto out;
			}
			off += w;
		}
	}
out:
	if (out >= 0 && close(out) != 0 && rc == 0)
		rc = -errno;
	close(in);
	return rc;
}

int harness_copy_zones(const char *src, const char *dst)
{
	DIR *d = opendir(src);
	if (d == NULL)
		return -errno;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!has_zone_suffix(e->d_name))
			continue;
		char from[PATH_MAX], to[PATH_MAX];
		struct stat st;
		if (snprintf(from, sizeof(from), "%s/%s", src, e->d_name) >= (int)sizeof(from) ||
		    snprintf(to, sizeof(to), "%s/%s", dst, e->d_name) >= (int)sizeof(to)) {
			closedir(d);
			return -ENAMETOOLONG;
		}
		if (stat(from, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		int rc = copy_file(from, to);
		if (rc < 0) {
			closedir(d);
			return rc;
		}
		count++;
	}
	closedir(d);
	return count;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

int harness_write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	/* The temporary name does not end in ".zone": a reload meanwhile
	 * does not take it for a zone. */
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.harness-tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, text, strlen(text));
	if (rc == 0 && fchmod(fd, 0644) != 0) /* whatever the umask */
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int harness_write_filef(const char *dir, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *text = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	int rc = harness_write_file(dir, name, text);
	free(text);
	return rc;
}

int harness_zone_origins(const char *zonedir, char ***out)
{
	*out = NULL;
	DIR *d = opendir(zonedir);
	if (d == NULL)
		return -errno;
	char **v = calloc(1, sizeof(*v));
	size_t n = 0;
	int rc = v ? 0 : -ENOMEM;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (!has_zone_suffix(e->d_name))
			continue;
		char origin[PATH_MAX];
		size_t l = strlen(e->d_name) - 5;
		if (l + 2 > sizeof(origin)) {
			rc = -ENAMETOOLONG;
			break;
		}
		memcpy(origin, e->d_name, l);
		origin[l] = '.';
		origin[l + 1] = '\0';
		rc = strv_push(&v, &n, origin);
	}
	closedir(d);
	if (rc < 0) {
		harness_strv_free(v);
		return rc;
	}
	qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	return 0;
}

/* ---- ports ---------------------------------------------------------------- */

/* Bind a socket of the given family/type to loopback:port.
 * \return the fd, or -errno. */
static int bind_loopback(int family, int type, uint16_t port)
{
	int fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc;
	if (family == AF_INET) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
	} else {
		int one = 1;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
		a.sin6_addr = in6addr_loopback;
		rc = bind(fd, (struct sockaddr *)&a, sizeof(a));
	}
	if (rc != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

int harness_pick_port(uint16_t *port)
{
	*port = 0;
	for (int i = 0; i < PICK_PORT_TRIES; i++) {
		int u4 = bind_loopback(AF_INET, SOCK_DGRAM, 0);
		if (u4 < 0)
			return u4;
		struct sockaddr_in a;
		socklen_t al = sizeof(a);
		if (getsockname(u4, (struct sockaddr *)&a, &al) != 0) {
			int err = -errno;
			close(u4);
			return err;
		}
		uint16_t p = ntohs(a.sin_port);
		int t4 = bind_loopback(AF_INET, SOCK_STREAM, p);
		int u6 = bind_loopback(AF_INET6, SOCK_DGRAM, p);
		int t6 = bind_loopback(AF_INET6, SOCK_STREAM, p);
		/* ::1 may be missing (no IPv6 in a container): only a port that is
		 * taken there counts against it. */
		bool ok = t4 >= 0 && u6 != -EADDRINUSE && t6 != -EADDRINUSE;
		close(u4);
		if (t4 >= 0)
			close(t4);
		if (u6 >= 0)
			close(u6);
		if (t6 >= 0)
			close(t6);
		if (ok) {
			*port = p;
			return 0;
		}
	}
	return -EADDRINUSE;
}

/* ---- server processes ----------------------------------------------------- */

int harness_server_init(struct harness_server *srv, const char *name)
{
	memset(srv, 0, sizeof(*srv));
	srv->exit_status = -1;
	snprintf(srv->name, sizeof(srv->name), "%s", name ? name : "server");
	int rc = harness_tmpdir(srv->dir, sizeof(srv->dir), srv->name);
	if (rc < 0)
		return rc;
	if (snprintf(srv->log, sizeof(srv->log), "%s/%s.log", srv->dir, srv->name) >=
	    (int)sizeof(srv->log))
		return -ENAMETOOLONG;
	return 0;
}

int harness_server_spawn(struct harness_server *srv, char *const argv[])
{
	if (srv->pid > 0)
		return -EBUSY;
	if (argv == NULL || argv[0] == NULL)
		return -EINVAL;
	if (access(argv[0], X_OK) != 0)
		return -ENOENT;
	int logfd = open(srv->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0)
		return -errno;
	int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nullfd < 0) {
		int err = -errno;
		close(logfd);
		return err;
	}
	/* Say what is being run at the top of the log, for failure messages. */
	dprintf(logfd, "=== harness: starting");
	for (char *const *a = argv; *a != NULL; a++)
		dprintf(logfd, " %s", *a);
	dprintf(logfd, "\n");

	pid_t parent = getpid();
	fflush(NULL); /* do not let the child flush our stdio buffers twice */
	pid_t pid = fork();
	if (pid < 0) {
		int err = -errno;
		close(logfd);
		close(nullfd);
		return err;
	}
	if (pid == 0) {
		/* Die with the test even if it is SIGKILLed (meson timeout). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		if (dup2(nullfd, STDIN_FILENO) < 0 || dup2(logfd, STDOUT_FILENO) < 0 ||
		    dup2(logfd, STDERR_FILENO) < 0)
			_exit(126);
		/* Nothing of the test (check's pipes, sockets) leaks into it. */
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		execv(argv[0], argv);
		dprintf(STDERR_FILENO, "=== harness: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	close(nullfd);
	srv->pid = pid;
	srv->exit_status = -1;
	return 0;
}

bool harness_server_running(struct harness_server *srv)
{
	if (srv->pid <= 0)
		return false;
	int status;
	pid_t r = waitpid(srv->pid, &status, WNOHANG);
	if (r == srv->pid || (r < 0 && errno == ECHILD)) {
		srv->exit_status = r == srv->pid ? status : -1;
		srv->pid = 0;
		return false;
	}
	return true;
}

int harness_server_wait_ready(struct harness_server *srv, int timeout_ms)
{
	static char root[] = ".";
	char *root_only[] = {root, NULL};
	char **zones = (srv->zones != NULL && srv->zones[0] != NULL) ? srv->zones : root_only;
	bool any_reply = zones == root_only;
	size_t n = 0;
	while (zones[n] != NULL)
		n++;
	bool *ok = calloc(n ? n : 1, sizeof(*ok));
	if (ok == NULL)
		return -ENOMEM;
	double deadline =
	    harness_now_ms() + (timeout_ms > 0 ? timeout_ms : HARNESS_READY_TIMEOUT_MS);
	int rc = -ETIMEDOUT;
	for (;;) {
		if (!harness_server_running(srv)) {
			rc = -ECHILD;
			break;
		}
		size_t ready = 0;
		for (size_t i = 0; i < n; i++) {
			if (!ok[i]) {
				struct harness_query q = {.qname = zones[i],
				                          .qtype = LDNS_RR_TYPE_SOA,
				                          .transport = HARNESS_UDP};
				struct harness_reply r;
				if (harness_query(NULL, srv->port, &q, READY_PROBE_TIMEOUT_MS,
				                  &r) == 0 &&
				    r.pkt != NULL &&
				    (any_reply || ldns_pkt_get_rcode(r.pkt) == LDNS_RCODE_NOERROR))
					ok[i] = true;
				harness_reply_free(&r);
			}
			if (ok[i])
				ready++;
		}
		if (ready == n) {
			rc = 0;
			break;
		}
		if (harness_now_ms() >= deadline)
			break;
		sleep_ms(READY_POLL_MS);
	}
	free(ok);
	return rc;
}

int harness_server_stop(struct harness_server *srv, int timeout_ms)
{
	if (srv->pid <= 0)
		return 0;
	if (timeout_ms <= 0)
		timeout_ms = HARNESS_STOP_TIMEOUT_MS;
	int rc = 0;
	if (kill(srv->pid, SIGTERM) != 0 && errno != ESRCH)
		rc = -errno;
	double deadline = harness_now_ms() + timeout_ms;
	while (harness_server_running(srv)) {
		if (harness_now_ms() >= deadline) {
			kill(srv->pid, SIGKILL);
			int status;
			while (waitpid(srv->pid, &status, 0) < 0 && errno == EINTR) {
			}
			srv->exit_status = status;
			srv->pid = 0;
			return -ETIMEDOUT;
		}
		sleep_ms(10);
	}
	return rc;
}

void harness_server_cleanup(struct harness_server *srv)
{
	harness_server_stop(srv, 0);
	if (srv->dir[0] != '\0')
		harness_rmtree(srv->dir);
	harness_strv_free(srv->zones);
	memset(srv, 0, sizeof(*srv));
	srv->exit_status = -1;
}

int harness_shoal_start_config(struct harness_server *srv, const char *conf)
{
	const char *args[] = {"--config", conf, NULL};
	struct harness_shoal_opts o = {.no_zones = true,
	                               .no_listen = true,
	                               .no_threads = true,
	                               .port_fixed = true,
	                               .args = args,
	                               .no_wait = true};
	int rc = harness_shoal_launch(srv, &o);
	return rc ? rc : harness_server_wait_ready(srv, HARNESS_READY_TIMEOUT_MS);
}

int harness_start_same_port(struct harness_server *srv, harness_start_fn start, void *ctx,
                            const char *tag)
{
	int rc;
	for (int attempt = 1;; attempt++) {
		rc = start(srv, ctx);
		if (rc == 0 || attempt >= 20)
			return rc;
		char *tail = harness_server_log_tail(srv, 8192);
		bool in_use = tail && strstr(tail, "in use");
		free(tail);
		if (!in_use)
			return rc;
		harness_server_stop(srv, 0);
		printf("%s: port %u in use, trying it again (%d)\n", tag, srv->port, attempt);
		fflush(stdout);
		usleep(250 * 1000);
	}
}

char *harness_server_log_tail(const struct harness_server *srv, size_t max_bytes)
{
	char *s = NULL;
	if (max_bytes == 0)
		max_bytes = 4096;
	int fd = open(srv->log, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (asprintf(&s, "(no log %s: %s)", srv->log, strerror(errno)) < 0)
			s = NULL;
		return s ? s : strdup("(no log)");
	}
	off_t size = lseek(fd, 0, SEEK_END);
	off_t start = size > (off_t)max_bytes ? size - (off_t)max_bytes : 0;
	s = calloc(1, max_bytes + 1);
	size_t got = 0;
	if (s != NULL && lseek(fd, start, SEEK_SET) == start) {
		ssize_t r;
		while (got < max_bytes && (r = read(fd, s + got, max_bytes - got)) > 0)
			got += (size_t)r;
		s[got] = '\0';
	}
	close(fd);
	return s ? s : strdup("(out of memory)");
}

void harness_server_dump_log(const struct harness_server *srv, FILE *out, size_t max_bytes)
{
	char *tail = harness_server_log_tail(srv, max_bytes);
	fprintf(out, "----- %s log (%s), last part -----\n%s%s----- end of %s log -----\n",
	        srv->name, srv->log, tail ? tail : "",
	        (tail && tail[0] && tail[strlen(tail) - 1] != '\n') ? "\n" : "", srv->name);
	free(tail);
}

const char *harness_start_strerror(int rc, const struct harness_server *srv)
{
	static char buf[160];
	int st = srv ? srv->exit_status : -1;
	if (rc == -ECHILD && st != -1 && WIFEXITED(st))
		snprintf(buf, sizeof(buf), "exited during start-up with status %d",
		         WEXITSTATUS(st));
	else if (rc == -ECHILD && st != -1 && WIFSIGNALED(st))
		snprintf(buf, sizeof(buf), "killed by signal %d (%s) during start-up", WTERMSIG(st),
		         strsignal(WTERMSIG(st)));
	else if (rc == -ECHILD)
		snprintf(buf, sizeof(buf), "exited during start-up");
	else if (rc == -ETIMEDOUT)
		snprintf(buf, sizeof(buf), "did not answer every zone's SOA within %d ms",
		         HARNESS_READY_TIMEOUT_MS);
	else if (rc == -ENOENT)
		snprintf(buf, sizeof(buf), "binary not found or not executable");
	else
		snprintf(buf, sizeof(buf), "%s", strerror(-rc));
	return buf;
}

const char *harness_shoal_bin(void)
{
	const char *b = getenv("SHOAL_BIN");
	return (b != NULL && b[0] != '\0') ? b : NULL;
}

int harness_srcpath(char *out, size_t size, const char *rel)
{
	const char *root = getenv("SHOAL_SRCDIR");
	if (root == NULL || root[0] == '\0') {
		out[0] = '\0';
		return -ENOENT;
	}
	int n = snprintf(out, size, "%s/%s", root, rel);
	return (n < 0 || (size_t)n >= size) ? -ENAMETOOLONG : 0;
}

/* True when the log says the listen port was taken (lost the port race). */
static bool log_says_addr_in_use(const struct harness_server *srv)
{
	char *tail = harness_server_log_tail(srv, 8192);
	bool yes = tail && (strstr(tail, "in use") || strstr(tail, "EADDRINUSE"));
	free(tail);
	return yes;
}

/* Say why srv did not start, with the tail of its log, on stderr. */
static void report_start_failure(const struct harness_server *srv, int rc)
{
	fprintf(stderr, "=== harness: %s did not start: %s\n", srv->name,
	        harness_start_strerror(rc, srv));
	harness_server_dump_log(srv, stderr, 0);
}

/* Spawn the argv that build() makes for srv->port (it may write a
 * configuration file too) and, when wait is set, wait until the zones
 * answer; when repick is set, retry on a fresh port when the process lost
 * the port race. */
typedef int (*argv_builder)(struct harness_server *srv, char ***argv, void *ctx);

static int start_with_retries(struct harness_server *srv, argv_builder build, void *ctx,
                              bool repick, bool wait, bool quiet)
{
	int rc;
	for (int attempt = 1;; attempt++) {
		char **argv = NULL;
		rc = build(srv, &argv, ctx);
		if (rc == 0)
			rc = harness_server_spawn(srv, argv);
		harness_strv_free(argv);
		if (rc == 0 && wait)
			rc = harness_server_wait_ready(srv, HARNESS_READY_TIMEOUT_MS);
		if (rc == 0)
			return 0;
		harness_server_stop(srv, 0);
		if (!repick || attempt >= START_TRIES || rc != -ECHILD ||
		    !log_says_addr_in_use(srv))
			break;
		rc = harness_pick_port(&srv->port);
		if (rc < 0)
			break;
	}
	if (!quiet)
		report_start_failure(srv, rc);
	return rc;
}

int harness_server_start(struct harness_server *srv, char *const argv[])
{
	int rc = harness_server_spawn(srv, argv);
	if (rc == 0)
		rc = harness_server_wait_ready(srv, HARNESS_READY_TIMEOUT_MS);
	if (rc < 0) {
		harness_server_stop(srv, 0);
		report_start_failure(srv, rc);
	}
	return rc;
}

int harness_server_wait_exit(struct harness_server *srv, int timeout_ms)
{
	double deadline =
	    harness_now_ms() + (timeout_ms > 0 ? timeout_ms : HARNESS_WAIT_TIMEOUT_MS);
	while (harness_server_running(srv)) {
		if (harness_now_ms() >= deadline) {
			fprintf(stderr, "=== harness: %s (pid %d) still runs after %d ms\n",
			        srv->name, (int)srv->pid,
			        timeout_ms > 0 ? timeout_ms : HARNESS_WAIT_TIMEOUT_MS);
			harness_server_dump_log(srv, stderr, 0);
			return -ETIMEDOUT;
		}
		sleep_ms(10);
	}
	return 0;
}

/* Occurrences of text in s. */
static int count_in(const char *s, const char *text)
{
	int n = 0;
	size_t tl = strlen(text);
	for (const char *p = s; tl > 0 && (p = strstr(p, text)) != NULL; p += tl)
		n++;
	return n;
}

/* What the wait_log helper reads: enough for every message since a start. */
#define WAIT_LOG_BYTES 65536

int harness_server_wait_log(const struct harness_server *srv, const char *text, int count,
                            int timeout_ms)
{
	if (count <= 0)
		count = 1;
	if (timeout_ms <= 0)
		timeout_ms = HARNESS_WAIT_TIMEOUT_MS;
	double deadline = harness_now_ms() + timeout_ms;
	int seen;
	for (;;) {
		char *log = harness_server_log_tail(srv, WAIT_LOG_BYTES);
		seen = count_in(log, text);
		free(log);
		if (seen >= count)
			return 0;
		if (harness_now_ms() >= deadline)
			break;
		sleep_ms(READY_POLL_MS);
	}
	fprintf(stderr, "=== harness: '%s' %d time(s) in the %s log after %d ms, want %d\n", text,
	        seen, srv->name, timeout_ms, count);
	harness_server_dump_log(srv, stderr, 0);
	return -ETIMEDOUT;
}

const char *harness_checkzone_bin(void)
{
	const char *b = getenv("SHOAL_CHECKZONE");
	return (b != NULL && b[0] != '\0') ? b : NULL;
}

const char *harness_repo_zones(void)
{
	static char path[PATH_MAX];
	return harness_srcpath(path, sizeof(path), "zones") == 0 ? path : NULL;
}

struct shoal_ctx {
	const char *bin;
	const char *zonedir; /* NULL: no --zones */
	const struct harness_shoal_opts *o;
};

static int build_shoal_argv(struct harness_server *srv, char ***argv, void *vctx)
{
	struct shoal_ctx *ctx = vctx;
	const struct harness_shoal_opts *o = ctx->o;
	char listen[64], metrics[64];
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)srv->port);
	char **v = NULL;
	size_t n = 0;
	int rc = strv_push(&v, &n, ctx->bin);
	if (rc == 0 && ctx->zonedir != NULL && (rc = strv_push(&v, &n, "--zones")) == 0)
		rc = strv_push(&v, &n, ctx->zonedir);
	if (rc == 0 && !o->no_listen && (rc = strv_push(&v, &n, "--listen")) == 0)
		rc = strv_push(&v, &n, listen);
	if (rc == 0 && !o->no_threads && (rc = strv_push(&v, &n, "--threads")) == 0)
		rc = strv_push(&v, &n, "2");
	if (rc == 0 && o->metrics && (rc = harness_pick_port(&srv->metrics_port)) == 0) {
		snprintf(metrics, sizeof(metrics), "127.0.0.1:%u", (unsigned)srv->metrics_port);
		if ((rc = strv_push(&v, &n, "--metrics")) == 0)
			rc = strv_push(&v, &n, metrics);
	}
	for (size_t i = 0; rc == 0 && o->args != NULL && o->args[i] != NULL; i++)
		rc = strv_push(&v, &n, o->args[i]);
	if (rc < 0) {
		harness_strv_free(v);
		return rc;
	}
	*argv = v;
	return 0;
}

int harness_shoal_prepare(struct harness_server *srv)
{
	int rc = harness_server_init(srv, "shoal");
	if (rc < 0)
		return rc;
	if (snprintf(srv->zonedir, sizeof(srv->zonedir), "%s/zones", srv->dir) >=
	    (int)sizeof(srv->zonedir))
		return -ENAMETOOLONG;
	if (mkdir(srv->zonedir, 0755) != 0 || chmod(srv->zonedir, 0755) != 0)
		return -errno;
	return harness_pick_port(&srv->port);
}

/* A copy of a NULL-terminated list. */
static int strv_copy(const char *const *from, char ***out)
{
	char **v = calloc(1, sizeof(*v));
	size_t n = 0;
	int rc = v ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && from[i] != NULL; i++)
		rc = strv_push(&v, &n, from[i]);
	if (rc < 0) {
		harness_strv_free(v);
		v = NULL;
	}
	*out = v;
	return rc;
}

int harness_shoal_launch(struct harness_server *srv, const struct harness_shoal_opts *o)
{
	static const struct harness_shoal_opts defaults;
	if (o == NULL)
		o = &defaults;
	if (srv->pid > 0)
		return -EBUSY;
	struct shoal_ctx ctx = {.bin = harness_shoal_bin(), .o = o};
	if (!o->no_zones)
		ctx.zonedir = o->zonedir != NULL ? o->zonedir : srv->zonedir;
	if (srv->dir[0] == '\0' || (ctx.zonedir != NULL && ctx.zonedir[0] == '\0'))
		return -EINVAL; /* harness_shoal_prepare() not done */
	if (ctx.bin == NULL || access(ctx.bin, X_OK) != 0) {
		FILE *f = fopen(srv->log, "a");
		if (f != NULL) {
			fprintf(f, "=== harness: shoal binary %s is missing or not executable\n",
			        ctx.bin ? ctx.bin : "(SHOAL_BIN unset)");
			fclose(f);
		}
		if (!o->quiet)
			report_start_failure(srv, -ENOENT);
		return -ENOENT;
	}
	harness_strv_free(srv->zones);
	srv->zones = NULL;
	int rc = 0;
	if (o->ready != NULL)
		rc = strv_copy(o->ready, &srv->zones);
	else if (ctx.zonedir != NULL)
		rc = harness_zone_origins(ctx.zonedir, &srv->zones);
	if (rc < 0)
		return rc;
	return start_with_retries(srv, build_shoal_argv, &ctx, !o->port_fixed, !o->no_wait,
	                          o->quiet);
}

int harness_shoal_start(struct harness_server *srv, const char *zonedir,
                        const char *const *extra_args)
{
	int rc = harness_shoal_prepare(srv);
	if (rc < 0)
		return rc;
	if (zonedir == NULL)
		return -EINVAL;
	struct harness_shoal_opts o = {.zonedir = zonedir, .args = extra_args};
	return harness_shoal_launch(srv, &o);
}

const char *harness_find_bin(const char *env, const char *name, char *buf, size_t size)
{
	const char *e = getenv(env);
	if (e != NULL && e[0] != '\0')
		return access(e, X_OK) == 0 ? e : NULL;
	const char *path = getenv("PATH");
	char dirs[4096];
	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/usr/local/sbin:/sbin", path ? path : "");
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
		if (d[0] == '\0' || snprintf(buf, size, "%s/%s", d, name) >= (int)size)
			continue;
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

void harness_named_options(FILE *f, const char *dir, uint16_t port)
{
	fprintf(f,
	        "options {\n"
	        "  directory \"%s\";\n"
	        "  pid-file \"%s/named.pid\";\n"
	        "  session-keyfile \"%s/session.key\";\n"
	        "  managed-keys-directory \"%s\";\n"
	        "  listen-on port %u { 127.0.0.1; };\n"
	        "  listen-on-v6 { none; };\n"
	        "  recursion no;\n"
	        "  dnssec-validation no;\n",
	        dir, dir, dir, dir, port);
}

const char *harness_knotd_path(void)
{
	static char found[PATH_MAX];
	return harness_find_bin("SHOAL_KNOTD", "knotd", found, sizeof(found));
}

struct knot_ctx {
	const char *knotd;
	const char *extra_conf;
	char conf[PATH_MAX];
};

/* (Re)write knot.conf for srv->port, then argv = knotd -c knot.conf. */
static int build_knot_argv(struct harness_server *srv, char ***argv, void *vctx)
{
	struct knot_ctx *ctx = vctx;
	FILE *f = fopen(ctx->conf, "w");
	if (f == NULL)
		return -errno;
	fprintf(f,
	        "# Generated by tests/e2e/harness.c for one test run; removed with it.\n"
	        "server:\n"
	        "    rundir: \"%s/run\"\n"
	        "    listen: 127.0.0.1@%u\n"
	        "    udp-workers: 2\n"
	        "    tcp-workers: 2\n"
	        "    background-workers: 1\n",
	        srv->dir, (unsigned)srv->port);
	if (ctx->extra_conf != NULL) {
		/* Indent each caller line into the server: section. */
		const char *p = ctx->extra_conf;
		while (*p != '\0') {
			const char *nl = strchr(p, '\n');
			size_t l = nl ? (size_t)(nl - p) : strlen(p);
			if (l > 0)
				fprintf(f, "    %.*s\n", (int)l, p);
			p += l + (nl ? 1 : 0);
		}
	}
	fprintf(f,
	        "log:\n"
	        "  - target: stderr\n"
	        "    any: info\n"
	        "database:\n"
	        "    storage: \"%s/db\"\n"
	        "template:\n"
	        "  - id: default\n"
	        "    storage: \"%s/zones\"\n"
	        "    zonefile-load: whole\n"
	        "    journal-content: none\n"
	        "    semantic-checks: off\n"
	        "    zonefile-sync: -1\n",
	        srv->dir, srv->dir);
	if (srv->zones != NULL && srv->zones[0] != NULL) {
		fprintf(f, "zone:\n");
		for (char **z = srv->zones; *z != NULL; z++) {
			/* The file is the origin without its final dot + ".zone". */
			size_t l = strlen(*z);
			fprintf(f, "  - domain: \"%s\"\n    file: \"%.*s.zone\"\n", *z,
			        (int)(l > 1 ? l - 1 : l), *z);
		}
	}
	if (fclose(f) != 0)
		return -errno;
	char **v = NULL;
	size_t n = 0;
	int rc = strv_push(&v, &n, ctx->knotd);
	if (rc == 0)
		rc = strv_push(&v, &n, "-c");
	if (rc == 0)
		rc = strv_push(&v, &n, ctx->conf);
	if (rc < 0) {
		harness_strv_free(v);
		return rc;
	}
	*argv = v;
	return 0;
}

int harness_knot_start(struct harness_server *srv, const char *zonedir,
                       const char *extra_server_conf)
{
	int rc = harness_server_init(srv, "knotd");
	if (rc < 0)
		return rc;
	struct knot_ctx ctx = {.knotd = harness_knotd_path(), .extra_conf = extra_server_conf};
	if (ctx.knotd == NULL)
		return -ENOENT;
	char sub[PATH_MAX];
	const char *subs[] = {"run", "db", "zones"};
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (snprintf(sub, sizeof(sub), "%s/%s", srv->dir, subs[i]) >= (int)sizeof(sub))
			return -ENAMETOOLONG;
		if (mkdir(sub, 0755) != 0)
			return -errno;
	}
	rc = harness_copy_zones(zonedir, sub); /* sub is ".../zones" now */
	if (rc < 0)
		return rc;
	snprintf(srv->zonedir, sizeof(srv->zonedir), "%s", sub);
	rc = harness_zone_origins(sub, &srv->zones);
	if (rc < 0)
		return rc;
	if (snprintf(ctx.conf, sizeof(ctx.conf), "%s/knot.conf", srv->dir) >= (int)sizeof(ctx.conf))
		return -ENAMETOOLONG;
	rc = harness_pick_port(&srv->port);
	if (rc < 0)
		return rc;
	return start_with_retries(srv, build_knot_argv, &ctx, true, true, false);
}

/* ---- running programs ----------------------------------------------------- */

/* One captured stream of a child. */
struct capture {
	int fd; /* read end, -1 at EOF */
	char *buf;
	size_t len, cap;
};

/* Read what is there; keep up to HARNESS_RUN_OUTPUT_MAX, drop the rest. */
static void capture_read(struct capture *c)
{
	char chunk[4096];
	ssize_t r = read(c->fd, chunk, sizeof(chunk));
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		close(c->fd);
		c->fd = -1;
		return;
	}
	size_t keep = (size_t)r;
	if (c->len + keep > HARNESS_RUN_OUTPUT_MAX)
		keep = HARNESS_RUN_OUTPUT_MAX - c->len;
	if (c->len + keep + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		while (cap < c->len + keep + 1)
			cap *= 2;
		char *nb = realloc(c->buf, cap);
		if (nb == NULL)
			return; /* dropped; the caller sees less output */
		c->buf = nb;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, chunk, keep);
	c->len += keep;
}

/* A NUL-terminated copy of what was captured (never NULL unless out of
 * memory). */
static char *capture_take(struct capture *c, size_t *len)
{
	char *s = c->buf ? c->buf : malloc(1);
	if (s != NULL)
		s[c->len] = '\0';
	*len = s ? c->len : 0;
	c->buf = NULL;
	return s;
}

int harness_run(const char *const argv[], int timeout_ms, struct harness_run *res)
{
	memset(res, 0, sizeof(*res));
	res->status = -1;
	res->exit_code = -1;
	if (argv == NULL || argv[0] == NULL)
		return -EINVAL;
	int out[2] = {-1, -1}, err[2] = {-1, -1}, ex[2] = {-1, -1}, nullfd = -1;
	int rc = 0;
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || pipe2(ex, O_CLOEXEC) != 0 ||
	    (nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		rc = -errno;
		goto out;
	}
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto out;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(nullfd, STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0 ||
		    dup2(err[1], STDERR_FILENO) < 0)
			_exit(126);
		/* Nothing of the test leaks into it; ex[1] closes on exec. */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != ex[1])
				close(fd);
		execvp(argv[0], (char *const *)argv);
		int e = errno;
		if (write(ex[1], &e, sizeof(e)) < 0) {
		}
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	close(ex[1]);
	out[1] = err[1] = ex[1] = -1;
	/* The exec either happened (the pipe closed empty) or failed (errno). */
	int e = 0;
	ssize_t r;
	while ((r = read(ex[0], &e, sizeof(e))) < 0 && errno == EINTR) {
	}
	if (r == (ssize_t)sizeof(e)) {
		int status;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
		}
		rc = -e;
		goto out;
	}
	struct capture cap[2] = {{.fd = out[0]}, {.fd = err[0]}};
	out[0] = err[0] = -1;
	double deadline = harness_now_ms() + (timeout_ms > 0 ? timeout_ms : HARNESS_RUN_TIMEOUT_MS);
	bool reaped = false;
	for (;;) {
		int status;
		if (!reaped && waitpid(pid, &status, WNOHANG) == pid) {
			reaped = true;
			res->status = status;
		}
		if (reaped && cap[0].fd < 0 && cap[1].fd < 0)
			break;
		double left = deadline - harness_now_ms();
		if (left <= 0) {
			if (!reaped) {
				kill(pid, SIGKILL);
				while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
				}
				rc = -ETIMEDOUT;
			}
			/* else a grandchild holds the pipes open: stop reading */
			break;
		}
		struct pollfd p[2];
		nfds_t np = 0;
		for (int i = 0; i < 2; i++)
			if (cap[i].fd >= 0)
				p[np++] = (struct pollfd){.fd = cap[i].fd, .events = POLLIN};
		/* Wake up every 10 ms to reap: the child may exit with a
		 * grandchild still holding its pipes. */
		int wait = left < 10 ? (int)left + 1 : 10;
		if (np == 0) {
			sleep_ms(wait);
			continue;
		}
		if (poll(p, np, wait) <= 0)
			continue;
		for (nfds_t k = 0; k < np; k++) {
			if (p[k].revents == 0)
				continue;
			for (int i = 0; i < 2; i++)
				if (cap[i].fd == p[k].fd)
					capture_read(&cap[i]);
		}
	}
	for (int i = 0; i < 2; i++)
		if (cap[i].fd >= 0)
			close(cap[i].fd);
	res->out = capture_take(&cap[0], &res->out_len);
	res->err = capture_take(&cap[1], &res->err_len);
	if (res->out == NULL || res->err == NULL) {
		harness_run_free(res);
		rc = -ENOMEM;
	} else if (rc == 0 && WIFEXITED(res->status)) {
		res->exit_code = WEXITSTATUS(res->status);
	} else if (rc == 0 && WIFSIGNALED(res->status)) {
		res->exit_code = 128 + WTERMSIG(res->status);
	}
out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
		if (ex[i] >= 0)
			close(ex[i]);
	}
	if (nullfd >= 0)
		close(nullfd);
	return rc;
}

int harness_run_shoal(const char *const *args, int timeout_ms, struct harness_run *res)
{
	const char *bin = harness_shoal_bin();
	size_t n = 0;
	while (args != NULL && args[n] != NULL)
		n++;
	if (bin == NULL) {
		memset(res, 0, sizeof(*res));
		res->status = res->exit_code = -1;
		return -ENOENT;
	}
	const char **argv = calloc(n + 2, sizeof(*argv));
	if (argv == NULL)
		return -ENOMEM;
	argv[0] = bin;
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = args[i];
	int rc = harness_run(argv, timeout_ms, res);
	free(argv);
	return rc;
}

void harness_run_free(struct harness_run *res)
{
	free(res->out);
	free(res->err);
	memset(res, 0, sizeof(*res));
	res->status = res->exit_code = -1;
}

/* ---- queries -------------------------------------------------------------- */

ldns_pkt *harness_build_query(const struct harness_query *q, uint16_t id)
{
	if (q == NULL || q->qname == NULL)
		return NULL;
	ldns_rdf *name = ldns_dname_new_frm_str(q->qname);
	if (name == NULL)
		return NULL;
	ldns_rr_class cls = q->qclass ? q->qclass : LDNS_RR_CLASS_IN;
	ldns_pkt *p = ldns_pkt_query_new(name, q->qtype, cls, q->rd ? LDNS_RD : 0);
	if (p == NULL)
		return NULL;
	ldns_pkt_set_id(p, id);
	ldns_pkt_set_rd(p, q->rd);
	if (q->edns) {
		ldns_pkt_set_edns_udp_size(p, q->edns_size ? q->edns_size : HARNESS_EDNS_SIZE);
		ldns_pkt_set_edns_do(p, q->do_bit);
	} else {
		ldns_pkt_set_edns_udp_size(p, 0);
	}
	return p;
}

static int make_addr(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (host == NULL)
		host = "127.0.0.1";
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof(*a6);
		return 0;
	}
	return -EINVAL;
}

/* Wait for fd to be ready for events until deadline. \return 0 or -errno. */
static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		double left = deadline - harness_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, (int)left + 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r > 0)
			return 0;
	}
}

static int write_full(int fd, const uint8_t *buf, size_t len, double deadline)
{
	size_t off = 0;
	while (off < len) {
		int rc = wait_fd(fd, POLLOUT, deadline);
		if (rc < 0)
			return rc;
		ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -errno;
		}
		off += (size_t)w;
	}
	return 0;
}

/* \return 0, -ECONNRESET on EOF before len bytes, -ETIMEDOUT, -errno. */
static int read_full(int fd, uint8_t *buf, size_t len, double deadline)
{
	size_t off = 0;
	while (off < len) {
		int rc = wait_fd(fd, POLLIN, deadline);
		if (rc < 0)
			return rc;
		ssize_t r = recv(fd, buf + off, len - off, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ECONNRESET;
		off += (size_t)r;
	}
	return 0;
}

/*
 * One exchange. match_id < 0: accept the first UDP datagram; otherwise skip
 * datagrams whose ID differs.
 */
static int exchange(const char *host, uint16_t port, enum harness_transport t, const uint8_t *buf,
                    size_t len, int timeout_ms, int match_id, uint8_t **reply, size_t *reply_len)
{
	*reply = NULL;
	*reply_len = 0;
	struct sockaddr_storage ss;
	socklen_t sl;
	int rc = make_addr(host, port, &ss, &sl);
	if (rc < 0)
		return rc;
	if (t == HARNESS_TCP && len > HARNESS_MSG_MAX)
		return -EMSGSIZE;
	double deadline =
	    harness_now_ms() + (timeout_ms > 0 ? timeout_ms : HARNESS_QUERY_TIMEOUT_MS);
	int fd =
	    socket(ss.ss_family,
	           (t == HARNESS_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	uint8_t *rbuf = malloc(HARNESS_MSG_MAX);
	if (rbuf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
		if (errno != EINPROGRESS) {
			rc = -errno;
			goto out;
		}
		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc < 0)
			goto out;
		int soerr = 0;
		socklen_t el = sizeof(soerr);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el);
		if (soerr != 0) {
			rc = -soerr;
			goto out;
		}
	}
	if (t == HARNESS_UDP) {
		if (send(fd, buf, len, MSG_NOSIGNAL) < 0) {
			rc = -errno;
			goto out;
		}
		for (;;) {
			rc = wait_fd(fd, POLLIN, deadline);
			if (rc < 0)
				goto out;
			ssize_t r = recv(fd, rbuf, HARNESS_MSG_MAX, MSG_DONTWAIT);
			if (r < 0) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				rc = -errno; /* ECONNREFUSED: nobody listens */
				goto out;
			}
			if (match_id >= 0 && (r < 2 || ((rbuf[0] << 8) | rbuf[1]) != match_id))
				continue; /* a late reply to an earlier query */
			*reply_len = (size_t)r;
			break;
		}
	} else {
		uint8_t pfx[2] = {(uint8_t)(len >> 8), (uint8_t)len}; /* net-order length */
		rc = write_full(fd, pfx, 2, deadline);
		if (rc == 0)
			rc = write_full(fd, buf, len, deadline);
		if (rc == 0)
			rc = read_full(fd, pfx, 2, deadline);
		if (rc < 0)
			goto out;
		size_t rl = ((size_t)pfx[0] << 8) | pfx[1];
		rc = read_full(fd, rbuf, rl, deadline);
		if (rc < 0)
			goto out;
		*reply_len = rl;
	}
	*reply = rbuf;
	rbuf = NULL;
	rc = 0;
out:
	free(rbuf);
	close(fd);
	return rc;
}

int harness_query(const char *host, uint16_t port, const struct harness_query *q, int timeout_ms,
                  struct harness_reply *out)
{
	memset(out, 0, sizeof(*out));
	/* IDs only need to differ between consecutive queries of one socket;
	 * a cheap PRNG seeded from the clock and pid is plenty. */
	static unsigned seed;
	if (seed == 0)
		seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
	uint16_t id = (uint16_t)(rand_r(&seed) & 0xffff);
	ldns_pkt *p = harness_build_query(q, id);
	if (p == NULL)
		return -EINVAL;
	uint8_t *qw = NULL;
	size_t ql = 0;
	ldns_status st = ldns_pkt2wire(&qw, p, &ql);
	ldns_pkt_free(p);
	if (st != LDNS_STATUS_OK)
		return -EINVAL;
	/* ldns allocates with its own allocator (malloc); keep our own copy so
	 * harness_reply_free() only uses free(). */
	out->query_wire = malloc(ql);
	if (out->query_wire == NULL) {
		LDNS_FREE(qw);
		return -ENOMEM;
	}
	memcpy(out->query_wire, qw, ql);
	out->query_len = ql;
	LDNS_FREE(qw);
	double t0 = harness_now_ms();
	int rc = exchange(host, port, q->transport, out->query_wire, ql, timeout_ms, id, &out->wire,
	                  &out->wire_len);
	out->elapsed_ms = harness_now_ms() - t0;
	if (rc < 0)
		return rc;
	if (ldns_wire2pkt(&out->pkt, out->wire, out->wire_len) != LDNS_STATUS_OK)
		out->pkt = NULL;
	return 0;
}

int harness_send_raw(const char *host, uint16_t port, enum harness_transport transport,
                     const uint8_t *buf, size_t len, int timeout_ms, uint8_t **reply,
                     size_t *reply_len)
{
	return exchange(host, port, transport, buf, len, timeout_ms, -1, reply, reply_len);
}

int harness_send_raw_udp(const char *host, uint16_t port, const uint8_t *buf, size_t len,
                         int timeout_ms, uint8_t **reply, size_t *reply_len)
{
	return exchange(host, port, HARNESS_UDP, buf, len, timeout_ms, -1, reply, reply_len);
}

void harness_reply_free(struct harness_reply *r)
{
	if (r == NULL)
		return;
	if (r->pkt != NULL)
		ldns_pkt_free(r->pkt);
	free(r->wire);
	free(r->query_wire);
	memset(r, 0, sizeof(*r));
}

int harness_query_wire(const struct harness_query *q, uint16_t id, uint8_t **wire, size_t *len)
{
	*wire = NULL;
	*len = 0;
	ldns_pkt *p = harness_build_query(q, id);
	if (p == NULL)
		return -EINVAL;
	uint8_t *w = NULL;
	size_t l = 0;
	ldns_status st = ldns_pkt2wire(&w, p, &l);
	ldns_pkt_free(p);
	if (st != LDNS_STATUS_OK)
		return -EINVAL;
	/* ldns allocates with malloc (LDNS_MALLOC); the caller free()s. */
	*wire = w;
	*len = l;
	return 0;
}

int harness_query_retry(const char *host, uint16_t port, const struct harness_query *q,
                        int timeout_ms, int tries, struct harness_reply *out)
{
	int rc = harness_query(host, port, q, timeout_ms, out);
	for (int t = 1; rc == -ETIMEDOUT && q->transport == HARNESS_UDP && t < tries; t++) {
		harness_reply_free(out);
		rc = harness_query(host, port, q, timeout_ms, out);
	}
	return rc;
}

int harness_ask(uint16_t port, const char *qname, ldns_rr_type qtype, enum harness_transport t,
                struct harness_reply *r)
{
	struct harness_query q = {.qname = qname, .qtype = qtype, .transport = t};
	int rc = harness_query(NULL, port, &q, 0, r);
	if (rc == 0 && r->pkt == NULL)
		rc = -EBADMSG;
	return rc;
}

int harness_ask_rcode(uint16_t port, const char *qname, ldns_rr_type qtype,
                      enum harness_transport t)
{
	struct harness_reply r;
	int rc = harness_ask(port, qname, qtype, t, &r);
	if (rc == 0)
		rc = (int)ldns_pkt_get_rcode(r.pkt);
	harness_reply_free(&r);
	return rc;
}

int harness_soa_serial(uint16_t port, const char *zone, uint32_t *serial)
{
	*serial = 0;
	struct harness_reply r;
	int rc = harness_ask(port, zone, LDNS_RR_TYPE_SOA, HARNESS_UDP, &r);
	if (rc == 0) {
		const ldns_rr *soa = ldns_pkt_ancount(r.pkt) == 1
		                         ? ldns_rr_list_rr(ldns_pkt_answer(r.pkt), 0)
		                         : NULL;
		if (ldns_pkt_get_rcode(r.pkt) != LDNS_RCODE_NOERROR || soa == NULL ||
		    ldns_rr_get_type(soa) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(soa) != 7)
			rc = -ENODATA;
		else
			*serial = ldns_rdf2native_int32(ldns_rr_rdf(soa, 2));
	}
	harness_reply_free(&r);
	return rc;
}

int harness_wait_serial(const struct harness_server *srv, const char *zone, uint32_t want,
                        int timeout_ms)
{
	if (timeout_ms <= 0)
		timeout_ms = HARNESS_WAIT_TIMEOUT_MS;
	double deadline = harness_now_ms() + timeout_ms;
	uint32_t serial;
	int rc;
	for (;;) {
		rc = harness_soa_serial(srv->port, zone, &serial);
		if (rc == 0 && serial == want)
			return 0;
		if (harness_now_ms() >= deadline)
			break;
		sleep_ms(READY_POLL_MS);
	}
	fprintf(stderr, "=== harness: %s SOA serial %u%s%s after %d ms, want %u\n", zone,
	        (unsigned)serial, rc < 0 ? ": " : "", rc < 0 ? strerror(-rc) : "", timeout_ms,
	        (unsigned)want);
	harness_server_dump_log(srv, stderr, 0);
	return -ETIMEDOUT;
}

int harness_wait_rcode(const struct harness_server *srv, const char *qname, ldns_rr_type qtype,
                       unsigned rcode, int timeout_ms)
{
	if (timeout_ms <= 0)
		timeout_ms = HARNESS_WAIT_TIMEOUT_MS;
	double deadline = harness_now_ms() + timeout_ms;
	int got;
	for (;;) {
		got = harness_ask_rcode(srv->port, qname, qtype, HARNESS_UDP);
		if (got >= 0 && (unsigned)got == rcode)
			return 0;
		if (harness_now_ms() >= deadline)
			break;
		sleep_ms(READY_POLL_MS);
	}
	fprintf(stderr, "=== harness: %s: %s after %d ms, want %s\n", qname,
	        got < 0 ? strerror(-got) : harness_rcode_str((unsigned)got), timeout_ms,
	        harness_rcode_str(rcode));
	harness_server_dump_log(srv, stderr, 0);
	return -ETIMEDOUT;
}

int harness_udp_client(const char *src, uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (src != NULL) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		if (inet_pton(AF_INET, src, &a.sin_addr) != 1) {
			rc = -EINVAL;
			goto out;
		}
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
			rc = -errno;
			goto out;
		}
	}
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(port)};
	s.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&s, sizeof(s)) != 0)
		rc = -errno;
out:
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* RFC 7873 §4: the COOKIE option is EDNS option code 10. */
#define EDNS_OPT_COOKIE 10
/* RFC 7873 §4 with RFC 9018's server cookie: 8 + 16 octets. */
#define COOKIE_FULL_LEN 24

int harness_cookie_query(uint8_t *buf, size_t size, uint16_t id, const char *qname,
                         ldns_rr_type qtype, const uint8_t *cookie, size_t cookie_len)
{
	if (cookie_len > 255)
		return -EINVAL;
	ldns_rdf *name = NULL;
	size_t nl = 0;
	if (qname != NULL) {
		name = ldns_dname_new_frm_str(qname);
		if (name == NULL)
			return -EINVAL;
		nl = ldns_rdf_size(name);
	}
	size_t need =
	    DNS_HEADER_LEN + (qname ? nl + 4 : 0) + (cookie_len ? 11 + 4 + cookie_len : 0);
	if (need > size) {
		if (name)
			ldns_rdf_deep_free(name);
		return -ENOSPC;
	}
	/* header, net-order: ID, flags 0, QDCOUNT, ANCOUNT 0, NSCOUNT 0, ARCOUNT */
	uint8_t hdr[DNS_HEADER_LEN] = {
	    (uint8_t)(id >> 8), (uint8_t)id, 0, 0, 0, qname ? 1 : 0, 0, 0, 0, 0, 0,
	    cookie_len ? 1 : 0};
	size_t n = 0;
	memcpy(buf, hdr, sizeof(hdr));
	n += sizeof(hdr);
	if (name != NULL) {
		memcpy(buf + n, ldns_rdf_data(name), nl);
		n += nl;
		uint8_t tc[4] = {(uint8_t)(qtype >> 8), (uint8_t)qtype, 0, LDNS_RR_CLASS_IN};
		memcpy(buf + n, tc, 4);
		n += 4;
		ldns_rdf_deep_free(name);
	}
	if (cookie_len > 0) {
		/* OPT: root owner, TYPE 41, CLASS = payload 1232, TTL 0, RDLEN;
		 * then the option: code, length, data (RFC 6891 §6.1.2). */
		uint8_t opt[11 + 4] = {0,
		                       0,
		                       LDNS_RR_TYPE_OPT,
		                       HARNESS_EDNS_SIZE >> 8,
		                       HARNESS_EDNS_SIZE & 0xff,
		                       0,
		                       0,
		                       0,
		                       0,
		                       0,
		                       (uint8_t)(4 + cookie_len),
		                       0,
		                       EDNS_OPT_COOKIE,
		                       0,
		                       (uint8_t)cookie_len};
		memcpy(buf + n, opt, sizeof(opt));
		n += sizeof(opt);
		memcpy(buf + n, cookie, cookie_len);
		n += cookie_len;
	}
	return (int)n;
}

bool harness_reply_cookie(const uint8_t *reply, size_t len, uint8_t cookie[24])
{
	static const uint8_t head[4] = {0, EDNS_OPT_COOKIE, 0, COOKIE_FULL_LEN};
	memset(cookie, 0, COOKIE_FULL_LEN);
	if (len < DNS_HEADER_LEN + 4 + COOKIE_FULL_LEN ||
	    memcmp(reply + len - 4 - COOKIE_FULL_LEN, head, 4) != 0)
		return false;
	memcpy(cookie, reply + len - COOKIE_FULL_LEN, COOKIE_FULL_LEN);
	return true;
}

/* ---- comparing answers ---------------------------------------------------- */

char *harness_rr_canon(const ldns_rr *rr, bool with_ttl)
{
	ldns_rr *c = ldns_rr_clone(rr);
	if (c == NULL)
		return NULL;
	ldns_rr2canonical(c);
	if (!with_ttl)
		ldns_rr_set_ttl(c, 0);
	char *s = ldns_rr2str(c);
	ldns_rr_free(c);
	if (s == NULL)
		return NULL;
	/* ldns separates fields with tabs; a tab inside TXT data is escaped
	 * (\009), so mapping tabs to spaces only touches separators. */
	for (char *p = s; *p != '\0'; p++)
		if (*p == '\t')
			*p = ' ';
	size_t l = strlen(s);
	while (l > 0 && (s[l - 1] == '\n' || s[l - 1] == ' '))
		s[--l] = '\0';
	char *r = strdup(s);
	LDNS_FREE(s);
	return r;
}

int harness_rrset_text(const ldns_rr_list *list, bool with_ttl, struct harness_rrset_text *out)
{
	memset(out, 0, sizeof(*out));
	size_t n = list ? ldns_rr_list_rr_count(list) : 0;
	if (n == 0)
		return 0;
	out->rr = calloc(n, sizeof(*out->rr));
	if (out->rr == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(list, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT)
			continue;
		char *s = harness_rr_canon(rr, with_ttl);
		if (s == NULL) {
			harness_rrset_text_free(out);
			return -ENOMEM;
		}
		out->rr[out->n++] = s;
	}
	/* Sorted, duplicates kept: a server that repeats an RR must show up. */
	qsort(out->rr, out->n, sizeof(*out->rr), cmp_str);
	return 0;
}

void harness_rrset_text_free(struct harness_rrset_text *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->rr[i]);
	free(t->rr);
	memset(t, 0, sizeof(*t));
}

bool harness_rrset_text_diff(const struct harness_rrset_text *want,
                             const struct harness_rrset_text *got, const char *label, FILE *out)
{
	size_t i = 0, j = 0;
	bool same = true;
	while (i < want->n || j < got->n) {
		int c = i >= want->n ? 1 : j >= got->n ? -1 : strcmp(want->rr[i], got->rr[j]);
		if (c == 0) {
			i++;
			j++;
			continue;
		}
		same = false;
		if (out != NULL)
			fprintf(out, "    %s %c %s\n", label ? label : "", c < 0 ? '-' : '+',
			        c < 0 ? want->rr[i] : got->rr[j]);
		if (c < 0)
			i++;
		else
			j++;
	}
	return same;
}

static const char *const rcode_names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                          "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                          "NXRRSET", "NOTAUTH", "NOTZONE"};

const char *harness_rcode_str(unsigned rcode)
{
	static char buf[16];
	if (rcode < sizeof(rcode_names) / sizeof(rcode_names[0]))
		return rcode_names[rcode];
	snprintf(buf, sizeof(buf), "RCODE%u", rcode);
	return buf;
}

int harness_rcode_parse(const char *s, unsigned *rcode)
{
	for (unsigned i = 0; i < sizeof(rcode_names) / sizeof(rcode_names[0]); i++) {
		if (strcasecmp(s, rcode_names[i]) == 0) {
			*rcode = i;
			return 0;
		}
	}
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v > 4095)
		return -EINVAL;
	*rcode = (unsigned)v;
	return 0;
}

char *harness_query_str(const struct harness_query *q, char *buf, size_t size)
{
	char *t = ldns_rr_type2str(q->qtype);
	char *c = ldns_rr_class2str(q->qclass ? q->qclass : LDNS_RR_CLASS_IN);
	char edns[32] = "noedns";
	if (q->edns)
		snprintf(edns, sizeof(edns), "edns=%u%s",
		         (unsigned)(q->edns_size ? q->edns_size : HARNESS_EDNS_SIZE),
		         q->do_bit ? " do" : "");
	snprintf(buf, size, "%s %s %s %s %s%s", q->qname, c ? c : "?", t ? t : "?",
	         q->transport == HARNESS_TCP ? "tcp" : "udp", edns, q->rd ? " rd" : "");
	LDNS_FREE(t);
	LDNS_FREE(c);
	return buf;
}

void harness_pkt_dump(const ldns_pkt *pkt, FILE *out, const char *indent)
{
	if (indent == NULL)
		indent = "";
	if (pkt == NULL) {
		fprintf(out, "%s(no parsed reply)\n", indent);
		return;
	}
	char *s = ldns_pkt2str(pkt);
	if (s == NULL)
		return;
	char *save = NULL;
	for (char *line = strtok_r(s, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		if (line[0] != '\0')
			fprintf(out, "%s%s\n", indent, line);
	LDNS_FREE(s);
}

/* The question RR as text, case preserved (unlike harness_rr_canon()). */
static char *harness_rr_canon_question(const ldns_rr *rr)
{
	char *s = ldns_rr2str(rr);
	if (s == NULL)
		return NULL;
	for (char *p = s; *p != '\0'; p++)
		if (*p == '\t' || *p == '\n')
			*p = ' ';
	char *r = strdup(trim_right_spaces(s));
	LDNS_FREE(s);
	return r;
}

/* Length of the question section starting at wire[12] (uncompressed, as a
 * query built by ldns is), or 0 if malformed. */
static size_t question_len(const uint8_t *wire, size_t len)
{
	size_t off = DNS_HEADER_LEN;
	while (off < len) {
		uint8_t l = wire[off];
		if (l == 0) {
			off += 1 + 4; /* root label, QTYPE, QCLASS */
			return off <= len ? off - DNS_HEADER_LEN : 0;
		}
		if ((l & 0xc0) != 0)
			return 0;
		off += 1u + l;
	}
	return 0;
}

bool harness_check_header(const struct harness_query *q, const struct harness_reply *r, FILE *diff)
{
	bool ok = true;
#define FAIL(...)                                                                                  \
	do {                                                                                       \
		ok = false;                                                                        \
		if (diff)                                                                          \
			fprintf(diff, "    " __VA_ARGS__);                                         \
	} while (0)
	if (r->pkt == NULL) {
		FAIL("reply of %zu octets did not parse\n", r->wire_len);
		return false;
	}
	const ldns_pkt *p = r->pkt;
	if (!ldns_pkt_qr(p))
		FAIL("QR clear in the reply\n");
	if (ldns_pkt_get_opcode(p) != LDNS_PACKET_QUERY)
		FAIL("opcode %d, want QUERY (0)\n", (int)ldns_pkt_get_opcode(p));
	uint16_t qid =
	    r->query_len >= 2 ? (uint16_t)((r->query_wire[0] << 8) | r->query_wire[1]) : 0;
	if (ldns_pkt_id(p) != qid)
		FAIL("ID %u, want %u\n", (unsigned)ldns_pkt_id(p), (unsigned)qid);
	/* RFC 1035 §4.1.1: RD is copied into the response. */
	if (ldns_pkt_rd(p) != q->rd)
		FAIL("RD %d, want %d (copied from the query, RFC 1035 §4.1.1)\n", ldns_pkt_rd(p),
		     q->rd);
	/* An authoritative-only server offers no recursion (RFC 1035 §4.1.1). */
	if (ldns_pkt_ra(p))
		FAIL("RA set; an authoritative-only server never sets it\n");
	/* The question is echoed as sent, case included (RFC 1035 §4.1.1 and
	 * §7.1: it is how the client matches the reply; RFC 4343 §4.1). */
	size_t qlen = question_len(r->query_wire, r->query_len);
	if (ldns_pkt_qdcount(p) != 1) {
		FAIL("QDCOUNT %u, want 1\n", (unsigned)ldns_pkt_qdcount(p));
	} else if (qlen == 0 || r->wire_len < DNS_HEADER_LEN + qlen ||
	           memcmp(r->query_wire + DNS_HEADER_LEN, r->wire + DNS_HEADER_LEN, qlen) != 0) {
		char *got = NULL;
		ldns_rr_list *qs = ldns_pkt_question(p);
		if (qs && ldns_rr_list_rr_count(qs) > 0)
			got = harness_rr_canon_question(ldns_rr_list_rr(qs, 0));
		FAIL("question not echoed octet for octet (case included): sent \"%s\", got "
		     "\"%s\"\n",
		     q->qname, got ? got : "(none)");
		free(got);
	}
	/* RFC 6891 §6.1.1: OPT in the request => OPT in the response; none
	 * without one (§7: a responder must not add OPT to a plain query). */
	bool has_opt = ldns_pkt_edns(p);
	if (q->edns && !has_opt)
		FAIL("no OPT record in the reply to an EDNS query (RFC 6891 §6.1.1)\n");
	if (!q->edns && has_opt)
		FAIL("OPT record in the reply to a query without EDNS (RFC 6891 §7)\n");
#undef FAIL
	return ok;
}

/* ---- conformance expectation files -------------------------------------- */

static void case_free(struct harness_case *c)
{
	free(c->qname);
	free(c->server);
	free(c->comment);
	free(c->knot_differs);
	if (c->answer)
		ldns_rr_list_deep_free(c->answer);
	if (c->authority)
		ldns_rr_list_deep_free(c->authority);
	if (c->additional)
		ldns_rr_list_deep_free(c->additional);
	memset(c, 0, sizeof(*c));
}

void harness_cases_free(struct harness_cases *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		case_free(&cs->c[i]);
	free(cs->c);
	memset(cs, 0, sizeof(*cs));
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t l = strlen(s);
	while (l > 0 && isspace((unsigned char)s[l - 1]))
		s[--l] = '\0';
	return s;
}

static int append_text(char **dst, const char *text)
{
	size_t a = *dst ? strlen(*dst) : 0, b = strlen(text);
	char *n = realloc(*dst, a + b + 2);
	if (n == NULL)
		return -ENOMEM;
	if (a > 0)
		n[a++] = '\n';
	memcpy(n + a, text, b + 1);
	*dst = n;
	return 0;
}

/* Parse "query NAME TYPE [CLASS] [options]" into c. */
static int parse_query_line(char *args, struct harness_case *c, const char **why)
{
	char *save = NULL;
	char *name = strtok_r(args, " \t", &save);
	char *type = strtok_r(NULL, " \t", &save);
	if (name == NULL || type == NULL) {
		*why = "query needs NAME TYPE";
		return -EINVAL;
	}
	c->qname = strdup(name);
	c->server = strdup("default");
	if (c->qname == NULL || c->server == NULL)
		return -ENOMEM;
	ldns_rdf *probe = ldns_dname_new_frm_str(name);
	if (probe == NULL) {
		*why = "bad query name";
		return -EINVAL;
	}
	ldns_rdf_deep_free(probe);
	c->q.qname = c->qname;
	c->q.qtype = ldns_get_rr_type_by_name(type);
	if (c->q.qtype == 0 && strcasecmp(type, "TYPE0") != 0) {
		*why = "unknown query type";
		return -EINVAL;
	}
	c->q.qclass = LDNS_RR_CLASS_IN;
	c->q.edns = true;
	c->q.edns_size = HARNESS_EDNS_SIZE;
	c->q.transport = HARNESS_UDP;
	for (char *o = strtok_r(NULL, " \t", &save); o != NULL; o = strtok_r(NULL, " \t", &save)) {
		if (strcmp(o, "udp") == 0) {
			c->q.transport = HARNESS_UDP;
		} else if (strcmp(o, "tcp") == 0) {
			c->q.transport = HARNESS_TCP;
		} else if (strcmp(o, "noedns") == 0) {
			c->q.edns = false;
		} else if (strncmp(o, "edns=", 5) == 0) {
			char *end;
			unsigned long v = strtoul(o + 5, &end, 10);
			if (*end != '\0' || v == 0 || v > 65535) {
				*why = "bad edns=SIZE";
				return -EINVAL;
			}
			c->q.edns = true;
			c->q.edns_size = (uint16_t)v;
		} else if (strcmp(o, "do") == 0) {
			c->q.do_bit = true;
		} else if (strcmp(o, "rd") == 0) {
			c->q.rd = true;
		} else if (strncmp(o, "server=", 7) == 0) {
			free(c->server);
			c->server = strdup(o + 7);
			if (c->server == NULL)
				return -ENOMEM;
		} else if (ldns_get_rr_class_by_name(o) != 0) {
			c->q.qclass = ldns_get_rr_class_by_name(o);
		} else {
			*why = "unknown query option";
			return -EINVAL;
		}
	}
	return 0;
}

static int parse_flags(char *args, struct harness_case *c, const char **why)
{
	c->aa = HARNESS_FLAG_CLEAR;
	c->tc = HARNESS_FLAG_CLEAR;
	char *save = NULL;
	for (char *f = strtok_r(args, " \t", &save); f != NULL; f = strtok_r(NULL, " \t", &save)) {
		enum harness_flag_rule rule = HARNESS_FLAG_SET;
		if (f[0] == '?') {
			rule = HARNESS_FLAG_ANY;
			f++;
		}
		if (strcmp(f, "aa") == 0) {
			c->aa = rule;
		} else if (strcmp(f, "tc") == 0) {
			c->tc = rule;
		} else if (strcmp(f, "-") != 0) {
			*why = "flags: only aa, tc, ?aa, ?tc or -";
			return -EINVAL;
		}
	}
	return 0;
}

static int add_rr(ldns_rr_list **list, const char *text, const char **why)
{
	ldns_rr *rr = NULL;
	if (ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) != LDNS_STATUS_OK || rr == NULL) {
		*why = "RR does not parse";
		return -EINVAL;
	}
	if (*list == NULL)
		*list = ldns_rr_list_new();
	if (*list == NULL || !ldns_rr_list_push_rr(*list, rr)) {
		ldns_rr_free(rr);
		return -ENOMEM;
	}
	return 0;
}

int harness_cases_load(const char *path, struct harness_cases *out)
{
	memset(out, 0, sizeof(*out));
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -errno;
	int rc = 0;
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0;
	char *pending_comment = NULL; /* comment block just above a query */
	char *pending_knot = NULL;
	struct harness_case *cur = NULL;
	bool have_rcode = false, have_flags = false;
	const char *why = NULL;
	while (rc == 0 && getline(&line, &cap, f) >= 0) {
		lineno++;
		char *s = trim(line);
		if (s[0] == '\0') {
			if (cur == NULL) {
				free(pending_comment);
				free(pending_knot);
				pending_comment = pending_knot = NULL;
			}
			continue;
		}
		if (s[0] == '#') {
			char *text = trim(s + 1);
			if (strncasecmp(text, "knot differs:", 13) == 0) {
				char **dst = cur ? &cur->knot_differs : &pending_knot;
				rc = append_text(dst, trim(text + 13));
			} else if (cur == NULL) {
				rc = append_text(&pending_comment, text);
			}
			continue;
		}
		char *save = NULL;
		char *kw = strtok_r(s, " \t", &save);
		char *args = save ? trim(save) : s + strlen(s);
		if (strcmp(kw, "query") == 0) {
			if (cur != NULL) {
				why = "query inside a case (missing end)";
				rc = -EINVAL;
				break;
			}
			struct harness_case *nc = realloc(out->c, (out->n + 1) * sizeof(*nc));
			if (nc == NULL) {
				rc = -ENOMEM;
				break;
			}
			out->c = nc;
			cur = &out->c[out->n++];
			memset(cur, 0, sizeof(*cur));
			cur->line = lineno;
			cur->ttl_checked = true;
			cur->sections_checked = true;
			cur->comment = pending_comment;
			cur->knot_differs = pending_knot;
			pending_comment = pending_knot = NULL;
			have_rcode = have_flags = false;
			rc = parse_query_line(args, cur, &why);
			continue;
		}
		if (cur == NULL) {
			why = "keyword outside a query ... end block";
			rc = -EINVAL;
			break;
		}
		if (strcmp(kw, "rcode") == 0) {
			rc = harness_rcode_parse(args, &cur->rcode);
			if (rc < 0)
				why = "unknown rcode";
			have_rcode = true;
		} else if (strcmp(kw, "flags") == 0) {
			rc = parse_flags(args, cur, &why);
			have_flags = true;
		} else if (strcmp(kw, "answer") == 0) {
			rc = add_rr(&cur->answer, args, &why);
		} else if (strcmp(kw, "authority") == 0) {
			rc = add_rr(&cur->authority, args, &why);
		} else if (strcmp(kw, "additional") == 0) {
			rc = add_rr(&cur->additional, args, &why);
		} else if (strcmp(kw, "ttl-unchecked") == 0) {
			cur->ttl_checked = false;
		} else if (strcmp(kw, "sections-unchecked") == 0) {
			cur->sections_checked = false;
		} else if (strcmp(kw, "answer-one-rrset") == 0) {
			cur->answer_one_rrset = true;
		} else if (strcmp(kw, "end") == 0) {
			if (!have_rcode || !have_flags) {
				why = "case needs rcode and flags";
				rc = -EINVAL;
				break;
			}
			cur = NULL;
		} else {
			why = "unknown keyword";
			rc = -EINVAL;
		}
	}
	if (rc == 0 && cur != NULL) {
		why = "file ends inside a case (missing end)";
		rc = -EINVAL;
	}
	if (rc < 0) {
		fprintf(stderr, "%s:%d: %s\n", path, lineno, why ? why : strerror(-rc));
		harness_cases_free(out);
	}
	free(pending_comment);
	free(pending_knot);
	free(line);
	fclose(f);
	return rc;
}

static bool check_flag(const char *name, enum harness_flag_rule rule, bool got, FILE *diff)
{
	if (rule == HARNESS_FLAG_ANY || (rule == HARNESS_FLAG_SET) == got)
		return true;
	if (diff)
		fprintf(diff, "    %s %s, want %s\n", name, got ? "set" : "clear",
		        rule == HARNESS_FLAG_SET ? "set" : "clear");
	return false;
}

bool harness_section_diff(const char *label, const ldns_rr_list *want, const ldns_rr_list *got,
                          bool with_ttl, FILE *diff)
{
	struct harness_rrset_text w, g;
	if (harness_rrset_text(want, with_ttl, &w) < 0)
		return false;
	if (harness_rrset_text(got, with_ttl, &g) < 0) {
		harness_rrset_text_free(&w);
		return false;
	}
	bool same = harness_rrset_text_diff(&w, &g, label, diff);
	harness_rrset_text_free(&w);
	harness_rrset_text_free(&g);
	return same;
}

/* RFC 8482 §4.1: the answer holds one RRset (any one) owned by the QNAME. */
static bool check_one_rrset(const struct harness_case *c, const ldns_pkt *p, FILE *diff)
{
	const ldns_rr_list *an = ldns_pkt_answer(p);
	size_t n = an ? ldns_rr_list_rr_count(an) : 0;
	if (n == 0) {
		if (diff)
			fprintf(diff, "    answer empty, want exactly one RRset (RFC 8482 §4.1)\n");
		return false;
	}
	ldns_rdf *qn = ldns_dname_new_frm_str(c->qname);
	const ldns_rr *first = ldns_rr_list_rr(an, 0);
	bool ok = qn != NULL && ldns_dname_compare(ldns_rr_owner(first), qn) == 0;
	for (size_t i = 1; ok && i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		ok = ldns_dname_compare(ldns_rr_owner(rr), ldns_rr_owner(first)) == 0 &&
		     ldns_rr_get_type(rr) == ldns_rr_get_type(first) &&
		     ldns_rr_get_class(rr) == ldns_rr_get_class(first);
	}
	if (qn)
		ldns_rdf_deep_free(qn);
	if (!ok && diff) {
		fprintf(diff, "    answer is not exactly one RRset owned by %s (RFC 8482 §4.1):\n",
		        c->qname);
		for (size_t i = 0; i < n; i++) {
			char *s = harness_rr_canon(ldns_rr_list_rr(an, i), true);
			fprintf(diff, "      %s\n", s ? s : "?");
			free(s);
		}
	}
	return ok;
}

bool harness_case_check(const struct harness_case *c, const struct harness_reply *r, FILE *diff)
{
	bool ok = harness_check_header(&c->q, r, diff);
	if (r->pkt == NULL)
		return false;
	const ldns_pkt *p = r->pkt;
	unsigned rcode = ldns_pkt_get_rcode(p);
	if (rcode != c->rcode) {
		ok = false;
		if (diff)
			fprintf(diff, "    rcode %s, want %s\n", harness_rcode_str(rcode),
			        harness_rcode_str(c->rcode));
	}
	ok &= check_flag("AA", c->aa, ldns_pkt_aa(p), diff);
	ok &= check_flag("TC", c->tc, ldns_pkt_tc(p), diff);
	if (!c->sections_checked)
		return ok;
	if (c->answer_one_rrset)
		return check_one_rrset(c, p, diff) && ok;
	ok &=
	    harness_section_diff("answer    ", c->answer, ldns_pkt_answer(p), c->ttl_checked, diff);
	ok &= harness_section_diff("authority ", c->authority, ldns_pkt_authority(p),
	                           c->ttl_checked, diff);
	ok &= harness_section_diff("additional", c->additional, ldns_pkt_additional(p),
	                           c->ttl_checked, diff);
	return ok;
}

char *harness_http_get(uint16_t port, const char *path)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_port = htons(port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = 3};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return NULL;
	}
	char req[256];
	int l = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n", path);
	if (write(fd, req, (size_t)l) != l) {
		close(fd);
		return NULL;
	}
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ssize_t n;
	while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	if (buf)
		buf[len] = 0;
	close(fd);
	return buf;
}

/* ---- metrics and sockets ------------------------------------------------ */

long long harness_metric(const char *text, const char *series)
{
	size_t sl = strlen(series);
	for (const char *line = text; line != NULL && *line != '\0';) {
		if (strncmp(line, series, sl) == 0 && line[sl] == ' ')
			return strtoll(line + sl + 1, NULL, 10);
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	return -1;
}

unsigned long long harness_metric_sum(const char *text, const char *name)
{
	unsigned long long sum = 0;
	size_t nl = strlen(name);
	for (const char *line = text; line != NULL && *line != '\0';) {
		if (strncmp(line, name, nl) == 0 && (line[nl] == '{' || line[nl] == ' ')) {
			const char *v = line + nl;
			if (*v == '{')
				v = strchr(v, '}');
			if (v != NULL && (v = strchr(v, ' ')) != NULL)
				sum += strtoull(v + 1, NULL, 10);
		}
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	return sum;
}

int harness_udp_sockets(uint16_t port)
{
	FILE *f = fopen("/proc/net/udp", "r");
	if (f == NULL)
		return -errno;
	/* "  sl  local_address rem_address ...": 127.0.0.1 is 0100007F in
	 * the kernel's host-order hex, the port big-endian hex. */
	char want[32], line[512], local[64];
	snprintf(want, sizeof(want), "0100007F:%04X", (unsigned)port);
	int n = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, " %*u: %63s", local) == 1 && strcmp(local, want) == 0)
			n++;
	fclose(f);
	return n;
}

/* ---- background query load ------------------------------------------------ */

/* IDs are 16 bits: a thread has at most this many queries in flight, and
 * keeps their send times indexed by ID. */
#define LOAD_IDS 65536
#define LOAD_IN_FLIGHT_MAX 60000
/* How often a load thread looks at the stop flag when nothing else wakes
 * it. */
#define LOAD_TICK_MS 50

struct load_thread {
	struct harness_load *load;
	pthread_t th;
	bool started;
	int fd;
	size_t next_name;
	double *sent_at;              /* by ID; 0 = not in flight */
	uint16_t *ring;               /* IDs in the order sent (some answered already) */
	struct harness_load_stats st; /* this thread's; read after the join */
};

struct harness_load {
	struct harness_load_opts o;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	uint8_t **wire; /* one query per name, ID patched per send */
	size_t *wire_len;
	size_t nnames;
	atomic_bool stop;
	struct load_thread *t;
};

static void load_reply(struct load_thread *t, const uint8_t *b, size_t n, double now)
{
	struct harness_load *l = t->load;
	if (n < DNS_HEADER_LEN)
		return;
	uint16_t id = (uint16_t)((b[0] << 8) | b[1]);
	if (t->sent_at[id] == 0)
		return; /* late (already counted lost), or not ours */
	double ms = now - t->sent_at[id];
	t->sent_at[id] = 0;
	if (ms >= l->o.timeout_ms) {
		t->st.lost++; /* late: read before the retire pass saw it */
		return;
	}
	t->st.answered++;
	t->st.rcodes[b[3] & 0x0f]++;
	if (ms > t->st.max_ms)
		t->st.max_ms = ms;
	if (l->o.check != NULL) {
		ldns_pkt *p = NULL;
		if (ldns_wire2pkt(&p, b, n) != LDNS_STATUS_OK || p == NULL ||
		    !l->o.check(p, l->o.check_arg))
			t->st.bad++;
		if (p != NULL)
			ldns_pkt_free(p);
	}
}

static void *load_main(void *arg)
{
	struct load_thread *t = arg;
	struct harness_load *l = t->load;
	const double timeout = l->o.timeout_ms;
	/* Each thread's share of the rate, as the gap between its sends. */
	const double gap = l->o.rate ? 1000.0 * l->o.threads / l->o.rate : 0;
	uint8_t *buf = malloc(HARNESS_MSG_MAX);
	if (buf == NULL)
		return NULL;
	uint8_t query[HARNESS_MSG_MAX / 64];        /* a question: 12 + 255 + 4 octets */
	uint16_t id = (uint16_t)(t - l->t) * 4099u; /* threads start apart */
	size_t head = 0, in_flight = 0;             /* ring[head..head+in_flight) */
	double next = harness_now_ms(), stop_by = 0;
	bool stopping = false;
	for (;;) {
		double now = harness_now_ms();
		if (!stopping && atomic_load(&l->stop)) {
			stopping = true;
			stop_by = now + timeout; /* the answers still due */
		}
		/* Retire the oldest: answered, or lost once past the timeout. */
		while (in_flight > 0) {
			uint16_t old = t->ring[head];
			if (t->sent_at[old] != 0 && now - t->sent_at[old] < timeout)
				break;
			if (t->sent_at[old] != 0) {
				t->sent_at[old] = 0;
				t->st.lost++;
			}
			head = (head + 1) % LOAD_IDS;
			in_flight--;
		}
		if (stopping && (in_flight == 0 || now >= stop_by))
			break;
		bool due = gap > 0 ? now >= next : in_flight == 0;
		if (!stopping && due && in_flight < LOAD_IN_FLIGHT_MAX) {
			size_t k = t->next_name++ % l->nnames;
			memcpy(query, l->wire[k], l->wire_len[k]); /* shared: copy, patch */
			id++;
			query[0] = (uint8_t)(id >> 8); /* net-order ID */
			query[1] = (uint8_t)id;
			/* A failed send (ECONNREFUSED while nobody listens, in a
			 * handover) is a query the server never saw: lost. */
			(void)send(t->fd, query, l->wire_len[k], MSG_NOSIGNAL);
			t->sent_at[id] = now > 0 ? now : 1e-9;
			t->ring[(head + in_flight) % LOAD_IDS] = id;
			in_flight++;
			t->st.sent++;
			next += gap;
			if (next < now - 1000)
				next = now; /* fell a second behind: do not burst */
			continue;
		}
		double wake = now + LOAD_TICK_MS;
		if (gap > 0 && !stopping && next < wake)
			wake = next;
		if (in_flight > 0 && t->sent_at[t->ring[head]] + timeout < wake)
			wake = t->sent_at[t->ring[head]] + timeout;
		if (stopping && stop_by < wake)
			wake = stop_by;
		struct pollfd p = {.fd = t->fd, .events = POLLIN};
		int ms = wake > now ? (int)(wake - now) + 1 : 0;
		if (poll(&p, 1, ms) <= 0)
			continue;
		for (;;) {
			ssize_t r = recv(t->fd, buf, HARNESS_MSG_MAX, MSG_DONTWAIT);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (r < 0)
				continue; /* ECONNREFUSED from an ICMP: read on */
			load_reply(t, buf, (size_t)r, harness_now_ms());
		}
	}
	free(buf);
	return NULL;
}

static void load_free(struct harness_load *l)
{
	for (unsigned i = 0; l->t != NULL && i < l->o.threads; i++) {
		if (l->t[i].fd >= 0)
			close(l->t[i].fd);
		free(l->t[i].sent_at);
		free(l->t[i].ring);
	}
	for (size_t i = 0; l->wire != NULL && i < l->nnames; i++)
		free(l->wire[i]);
	free(l->wire);
	free(l->wire_len);
	free(l->t);
	free(l);
}

int harness_load_start(const struct harness_load_opts *o, struct harness_load **out)
{
	*out = NULL;
	if (o->names == NULL || o->names[0] == NULL)
		return -EINVAL;
	struct harness_load *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	l->o = *o;
	l->o.names = NULL; /* not kept: the caller's array may go */
	if (l->o.threads == 0)
		l->o.threads = 1;
	if (l->o.timeout_ms <= 0)
		l->o.timeout_ms = 1000;
	if (l->o.qtype == 0)
		l->o.qtype = LDNS_RR_TYPE_A;
	atomic_init(&l->stop, false);
	int rc = 0;
	if ((double)l->o.rate * l->o.timeout_ms / 1000.0 / l->o.threads >= LOAD_IN_FLIGHT_MAX) {
		rc = -EINVAL;
		goto fail;
	}
	rc = make_addr(o->host, o->port, &l->addr, &l->addr_len);
	if (rc < 0)
		goto fail;
	while (o->names[l->nnames] != NULL)
		l->nnames++;
	l->wire = calloc(l->nnames, sizeof(*l->wire));
	l->wire_len = calloc(l->nnames, sizeof(*l->wire_len));
	l->t = calloc(l->o.threads, sizeof(*l->t));
	if (l->wire == NULL || l->wire_len == NULL || l->t == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < l->nnames; i++) {
		struct harness_query q = {.qname = o->names[i], .qtype = l->o.qtype};
		rc = harness_query_wire(&q, 0, &l->wire[i], &l->wire_len[i]);
		if (rc == 0 && l->wire_len[i] > HARNESS_MSG_MAX / 64)
			rc = -EINVAL;
		if (rc < 0)
			goto fail;
	}
	for (unsigned i = 0; i < l->o.threads; i++)
		l->t[i].fd = -1;
	for (unsigned i = 0; i < l->o.threads; i++) {
		struct load_thread *t = &l->t[i];
		t->load = l;
		t->next_name = i; /* threads start on different names */
		t->sent_at = calloc(LOAD_IDS, sizeof(*t->sent_at));
		t->ring = calloc(LOAD_IDS, sizeof(*t->ring));
		if (t->sent_at == NULL || t->ring == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		t->fd = socket(l->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (t->fd < 0 || connect(t->fd, (struct sockaddr *)&l->addr, l->addr_len) != 0) {
			rc = -errno;
			goto fail;
		}
	}
	for (unsigned i = 0; i < l->o.threads; i++) {
		rc = -pthread_create(&l->t[i].th, NULL, load_main, &l->t[i]);
		if (rc < 0)
			goto fail;
		l->t[i].started = true;
	}
	*out = l;
	return 0;
fail:
	atomic_store(&l->stop, true);
	for (unsigned i = 0; l->t != NULL && i < l->o.threads; i++)
		if (l->t[i].started)
			pthread_join(l->t[i].th, NULL);
	load_free(l);
	return rc;
}

void harness_load_stop(struct harness_load *l, struct harness_load_stats *st)
{
	struct harness_load_stats sum;
	memset(&sum, 0, sizeof(sum));
	atomic_store(&l->stop, true);
	for (unsigned i = 0; i < l->o.threads; i++) {
		struct load_thread *t = &l->t[i];
		if (!t->started)
			continue;
		pthread_join(t->th, NULL);
		sum.sent += t->st.sent;
		sum.answered += t->st.answered;
		sum.lost += t->st.lost;
		sum.bad += t->st.bad;
		for (int r = 0; r < 16; r++)
			sum.rcodes[r] += t->st.rcodes[r];
		if (t->st.max_ms > sum.max_ms)
			sum.max_ms = t->st.max_ms;
	}
	load_free(l);
	if (st != NULL)
		*st = sum;
}

void harness_load_print(const struct harness_load_stats *st, const char *label, FILE *out)
{
	fprintf(out, "%s: %lu queries, %lu answered, %lu lost, %lu bad", label, st->sent,
	        st->answered, st->lost, st->bad);
	for (unsigned r = 0; r < 16; r++)
		if (st->rcodes[r] > 0)
			fprintf(out, ", %s %lu", harness_rcode_str(r), st->rcodes[r]);
	fprintf(out, ", slowest %.1f ms\n", st->max_ms);
}

/* ---- test programs ------------------------------------------------------ */

int harness_suite_main(const struct harness_suite *s)
{
	if (!s->without_shoal && harness_shoal_bin() == NULL) {
		fprintf(stderr, "SHOAL_BIN is not set (run through meson test)\n");
		return 1;
	}
	Suite *su = suite_create(s->name);
	TCase *tc = tcase_create(s->name);
	tcase_set_timeout(tc, s->timeout_s);
	if (s->setup != NULL || s->teardown != NULL)
		tcase_add_checked_fixture(tc, s->setup, s->teardown);
	for (const TTest *const *t = s->tests; *t != NULL; t++)
		tcase_add_test(tc, *t);
	suite_add_tcase(su, tc);
	SRunner *sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

/* ---- shared by the transfer tests (check_xfr_in.c, check_xfr_out.c, check_catalog_in.c) ---- */

void harness_random_secret(char *out, size_t size)
{
	uint8_t raw[32];
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		for (size_t i = 0; i < sizeof(raw); i++)
			raw[i] = (uint8_t)(i * 37 + time(NULL));
	}
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < sizeof(raw) && o + 5 < size; i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16;
		size_t left = sizeof(raw) - i;
		if (left > 1)
			v |= (uint32_t)raw[i + 1] << 8;
		if (left > 2)
			v |= raw[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = left > 1 ? b64[v >> 6 & 63] : '=';
		out[o++] = left > 2 ? b64[v & 63] : '=';
	}
	out[o] = '\0';
}

long harness_log_mark(const struct harness_server *s)
{
	struct stat st;
	return stat(s->log, &st) == 0 ? (long)st.st_size : 0;
}

char *harness_log_since(const struct harness_server *s, long from)
{
	FILE *f = fopen(s->log, "r");
	char *t = NULL;
	size_t len = 0;
	if (f != NULL && fseek(f, from, SEEK_SET) == 0) {
		FILE *m = open_memstream(&t, &len);
		char buf[4096];
		size_t r;
		while (m != NULL && (r = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, r, m);
		if (m != NULL)
			fclose(m);
	}
	if (f != NULL)
		fclose(f);
	return t != NULL ? t : strdup("");
}

