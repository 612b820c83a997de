/*
 * harness.h - helpers for shoal's end-to-end tests.
 *
 * An e2e test starts real server processes (shoal, or knotd as a reference)
 * on a loopback port chosen at run time, sends them DNS queries built with
 * ldns over UDP or TCP, and compares the replies. Everything here talks only
 * to 127.0.0.1 / ::1, is bounded in time, and cleans up the processes and
 * temporary directories it creates.
 *
 * Conventions (as in src/): functions return 0 or -errno; out parameters are
 * marked [out]; a function that fails leaves its out parameters zeroed.
 *
 * A test usually goes: harness_shoal_prepare() (a private directory, a zone
 * directory inside it, a port), harness_write_file() for its zones,
 * harness_shoal_launch() with its flags, harness_ask() and friends, the
 * harness_wait_*() helpers after a reload, harness_load_start() for traffic
 * in the background, harness_run() for the command-line tools, and
 * harness_server_cleanup(). main() is harness_suite_main().
 *
 * Environment read here:
 *   SHOAL_BIN     path of the shoal binary (set by meson, see tests/meson.build)
 *   SHOAL_CHECKZONE  path of shoal-checkzone (set by meson)
 *   SHOAL_SRCDIR  repository root (set by meson)
 *   SHOAL_KNOTD   optional path of knotd (default: found in PATH or /usr/sbin)
 *   TMPDIR        where temporary directories go (default /tmp)
 */
#ifndef SHOAL_E2E_HARNESS_H
#define SHOAL_E2E_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <check.h>
#include <ldns/ldns.h>

/* Bounded waits, in milliseconds. A server on loopback answers in well under
 * a millisecond; these only bound how long a broken server can stall a test. */
#define HARNESS_READY_TIMEOUT_MS 10000 /* start-up until the zones answer */
#define HARNESS_STOP_TIMEOUT_MS 5000   /* SIGTERM until SIGKILL */
#define HARNESS_QUERY_TIMEOUT_MS 2000  /* one query, UDP or TCP */
#define HARNESS_WAIT_TIMEOUT_MS 5000   /* a reload, a log line, an exit */
#define HARNESS_RUN_TIMEOUT_MS 10000   /* a command such as shoal --help */
/* What harness_run() keeps of each of stdout and stderr; the rest is read
 * and dropped, so a chatty child never blocks on a full pipe. */
#define HARNESS_RUN_OUTPUT_MAX (1024 * 1024)

/* RFC 8467 / DNS flag day 2020 default; what the tests advertise by default. */
#define HARNESS_EDNS_SIZE 1232
/* RFC 1035 §2.3.4: messages over TCP carry a 16-bit length, so 65535 max. */
#define HARNESS_MSG_MAX 65535

/* Exit code that meson (and automake) read as "test skipped". */
#define HARNESS_EXIT_SKIP 77

enum harness_transport {
	HARNESS_UDP = 0,
	HARNESS_TCP = 1,
};

/* One server process started by the harness. Zero-initialise, then call
 * harness_server_init() (or harness_shoal_start() / harness_knot_start(),
 * which do it). */
struct harness_server {
	pid_t pid;              /* > 0 while the process has not been reaped */
	uint16_t port;          /* loopback port it listens on (UDP and TCP) */
	int exit_status;        /* waitpid() status once reaped, else -1 */
	char name[32];          /* "shoal", "knotd", ...: used in messages */
	char dir[PATH_MAX];     /* private temp dir, removed by _cleanup() */
	char log[PATH_MAX];     /* the process's stdout+stderr, inside dir */
	char **zones;           /* origins probed by wait_ready (NULL-terminated) */
	char zonedir[PATH_MAX]; /* dir/zones: harness_shoal_prepare(), knot_start() */
	uint16_t metrics_port;  /* --metrics port when launched with .metrics */
};

/* Options for one query. Zero-initialised means: IN class, RD clear, no
 * EDNS, UDP. Set .edns = true for an OPT record (RFC 6891) with .edns_size
 * (0 = HARNESS_EDNS_SIZE) and the DO bit from .do_bit. */
struct harness_query {
	const char *qname; /* presentation format; \. and \DDD escapes allowed */
	ldns_rr_type qtype;
	ldns_rr_class qclass; /* 0 = LDNS_RR_CLASS_IN */
	bool rd;
	bool edns;
	uint16_t edns_size;
	bool do_bit;
	enum harness_transport transport;
};

/* A query as sent and the reply as received. Free with harness_reply_free(). */
struct harness_reply {
	ldns_pkt *pkt; /* parsed reply; NULL if the reply did not parse */
	uint8_t *wire; /* reply bytes (without the TCP length prefix) */
	size_t wire_len;
	uint8_t *query_wire; /* the query bytes that were sent */
	size_t query_len;
	double elapsed_ms; /* time from send to complete reply */
};

/* ---- temporary directories ---------------------------------------------- */

/*
 * Create a fresh directory "$TMPDIR/shoal-e2e-<tag>-XXXXXX", mode 0755: a
 * shoal started as root reads its zones after dropping to nobody, so what
 * the tests write there must stay readable (nothing secret goes there).
 * \param[out] out   receives the path (NUL-terminated)
 * \param size       size of out; PATH_MAX is always enough
 * \param tag        short word naming the user, e.g. "knotd"
 * \return 0 or -errno.
 */
int harness_tmpdir(char *out, size_t size, const char *tag);

/*
 * Remove a directory tree (like rm -rf, without following symlinks).
 * Refuses (returns -EINVAL) any path that is not under $TMPDIR or /tmp and
 * named shoal-e2e-*, so a bug cannot delete anything else.
 * \return 0 or -errno of the first failure.
 */
int harness_rmtree(const char *path);

/*
 * Copy every regular file named *.zone from src into dst (an existing
 * directory). \return the number of files copied (>= 0) or -errno.
 */
int harness_copy_zones(const char *src, const char *dst);

/*
 * Write text to dir/name, mode 0644 (readable after shoal drops to nobody),
 * through a temporary file renamed over it, as an operator's deploy tool
 * would: a server that reloads meanwhile sees the old file or the new one,
 * never half of one. For zone files, YAML configuration files, secrets.
 * \return 0 or -errno.
 */
int harness_write_file(const char *dir, const char *name, const char *text);

/* harness_write_file() with the text formatted as printf(3) does. */
int harness_write_filef(const char *dir, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * List the zone origins of a zone directory: "<name>.zone" -> "<name>."
 * (the same rule as shoal --zones). Sorted, NULL-terminated; free with
 * harness_strv_free(). \return 0 or -errno; *out is NULL on error.
 */
int harness_zone_origins(const char *zonedir, char ***out);

/* Free a NULL-terminated array of strings and the array itself. */
void harness_strv_free(char **v);

/* ---- ports ---------------------------------------------------------------- */

/*
 * Pick a port that is free on loopback for both UDP and TCP (IPv4, and on
 * IPv6 ::1 too when the host has it): bind port 0 on UDP 127.0.0.1, read the
 * port the kernel chose, check that TCP (and ::1) can bind it as well, close
 * everything. Nothing is held, so a race with another process is possible
 * but unlikely; starting the server then fails loudly rather than silently.
 * \param[out] port  the port, host byte order
 * \return 0 or -errno (-EADDRINUSE after 50 tries).
 */
int harness_pick_port(uint16_t *port);

/* ---- server processes ----------------------------------------------------- */

/*
 * Prepare srv: zero it, name it, create its private temp dir and log path.
 * \return 0 or -errno.
 */
int harness_server_init(struct harness_server *srv, const char *name);

/*
 * Start argv[0] (a path; PATH is not searched) with argv, stdin from
 * /dev/null and stdout+stderr appended to srv->log. The child gets
 * PR_SET_PDEATHSIG=SIGKILL so it dies with the test even if the test is
 * killed. Does not wait for readiness.
 * Pre: harness_server_init() done, srv->port set by the caller, not running.
 * \return 0 or -errno (-ENOENT when argv[0] does not exist or is not
 *         executable).
 */
int harness_server_spawn(struct harness_server *srv, char *const argv[]);

/*
 * Spawn argv as harness_server_spawn() does and wait until it answers as
 * harness_server_wait_ready() does (HARNESS_READY_TIMEOUT_MS), for servers
 * the harness has no ready-made start for (knotd with a configuration of
 * the test's own). On failure, print why and the tail of the log to
 * stderr and stop the process; srv->dir and the log are kept.
 * Pre: as harness_server_spawn(); srv->zones set (or NULL: any reply).
 * \return as harness_shoal_start().
 */
int harness_server_start(struct harness_server *srv, char *const argv[]);

/*
 * Wait until the server answers: every origin in srv->zones must answer an
 * SOA query over UDP with NOERROR; with srv->zones NULL or empty, any parsed
 * reply to ". SOA" counts. Polls every 50 ms up to timeout_ms.
 * \return 0; -ECHILD if the process exited meanwhile (srv->exit_status set);
 *         -ETIMEDOUT if it did not become ready in time.
 */
int harness_server_wait_ready(struct harness_server *srv, int timeout_ms);

/*
 * Stop the server: SIGTERM, wait up to timeout_ms (0 = HARNESS_STOP_TIMEOUT_MS)
 * for it to exit, then SIGKILL; always reaps. srv->exit_status receives the
 * waitpid() status. A no-op returning 0 if it is not running.
 * \return 0 if it exited by itself after SIGTERM, -ETIMEDOUT if it had to be
 *         killed, other -errno on failure.
 */
int harness_server_stop(struct harness_server *srv, int timeout_ms);

/*
 * Stop the server if it still runs, remove its temp dir (log included) and
 * free srv->zones. srv can be init'ed again afterwards. Safe on a zeroed or
 * already cleaned-up srv.
 */
void harness_server_cleanup(struct harness_server *srv);

/* Whether the process is still running (reaps it if it exited). */
bool harness_server_running(struct harness_server *srv);

/*
 * Wait up to timeout_ms (0 = HARNESS_WAIT_TIMEOUT_MS) for the process to
 * exit by itself (a shoal replaced by another, a --check run); reaps it and
 * sets srv->exit_status. Sends no signal.
 * \return 0 once it has exited; -ETIMEDOUT (then the tail of its log is
 *         printed to stderr) while it still runs.
 */
int harness_server_wait_exit(struct harness_server *srv, int timeout_ms);

/*
 * Poll srv->log every 50 ms, up to timeout_ms (0 = HARNESS_WAIT_TIMEOUT_MS),
 * until text occurs in it at least count times (count <= 0 means 1); for
 * what a reload or a signal should make the server say. Reads the last
 * 64 KiB of the log.
 * \return 0; -ETIMEDOUT, after printing what was missing and the log tail
 *         to stderr.
 */
int harness_server_wait_log(const struct harness_server *srv, const char *text, int count,
                            int timeout_ms);

/*
 * Print the last max_bytes (0 = 4096) of srv->log to out, framed with the
 * server's name, for a failure message.
 */
void harness_server_dump_log(const struct harness_server *srv, FILE *out, size_t max_bytes);

/*
 * Read the last max_bytes (0 = 4096) of srv->log into a new string (free()
 * it). Never returns NULL: on error the string says why.
 */
char *harness_server_log_tail(const struct harness_server *srv, size_t max_bytes);

/*
 * Start shoal with --config `conf` alone (no --zones, --listen, --threads:
 * the file says them; srv->port is the one it names) and wait until it
 * answers at all, its zones perhaps not yet. \return 0 or a start error
 */
int harness_shoal_start_config(struct harness_server *srv, const char *conf);

/* Start srv and wait until it is up: start(srv, ctx) returns 0 or a
 * harness start error. */
typedef int (*harness_start_fn)(struct harness_server *srv, void *ctx);

/*
 * start(srv, ctx) on srv->port, which a configuration names and peers
 * notify: when it fails and srv's log says the port is in use (something
 * held it a moment, such as another test's TCP connection whose local
 * port it happens to be), stop srv and try the same port again, up to 20
 * times, 250 ms apart. Each retry is printed with `tag`.
 * \return start's last result
 */
int harness_start_same_port(struct harness_server *srv, harness_start_fn start, void *ctx,
                            const char *tag);

/*
 * Explain a failed harness_shoal_start()/harness_knot_start() in words, e.g.
 * "exited during start-up with status 1" or "did not answer within 10000 ms".
 * \return a static string (overwritten by the next call).
 */
const char *harness_start_strerror(int rc, const struct harness_server *srv);

/*
 * Path of the shoal binary: $SHOAL_BIN. NULL if unset.
 */
const char *harness_shoal_bin(void);

/*
 * Path of a file in the source tree: "$SHOAL_SRCDIR/<rel>" into out.
 * \return 0, -ENOENT if SHOAL_SRCDIR is unset, -ENAMETOOLONG.
 */
int harness_srcpath(char *out, size_t size, const char *rel);

/*
 * Path of shoal-checkzone: $SHOAL_CHECKZONE. NULL if unset.
 */
const char *harness_checkzone_bin(void);

/*
 * The repository's sample zones, "$SHOAL_SRCDIR/zones" (example.com.).
 * \return a static string, or NULL when SHOAL_SRCDIR is unset.
 */
const char *harness_repo_zones(void);

/*
 * How harness_shoal_launch() runs shoal. Zero-initialised means:
 *   $SHOAL_BIN --zones srv->zonedir --listen 127.0.0.1:srv->port --threads 2
 * and wait until every zone of that directory answers its SOA.
 */
struct harness_shoal_opts {
	const char *zonedir; /* --zones DIR; NULL = srv->zonedir */
	bool no_zones;       /* pass no --zones (the zones are in a --config file) */
	bool no_listen;      /* pass no --listen (the address is in a --config file) */
	bool no_threads;     /* pass no --threads 2 (the count is in a --config file) */
	/* More arguments after those, NULL-terminated (may be NULL); a flag
	 * given again overrides the harness's ("--threads", "4"). E.g.
	 * {"--config", path, NULL} or {"--control", path, NULL}. */
	const char *const *args;
	/* Origins that must answer their SOA with NOERROR before launch returns;
	 * NULL = every "<origin>.zone" of the zone directory (and with no zone
	 * directory, or an empty one, any reply to ". SOA"). */
	const char *const *ready;
	bool metrics;    /* add --metrics 127.0.0.1:P, P picked: srv->metrics_port */
	bool port_fixed; /* srv->port must be used as it is (another process
	                    shares it, or a config file names it): after a lost
	                    port race, fail instead of picking another one */
	bool no_wait;    /* return once spawned, without waiting for answers */
	bool quiet;      /* print nothing on failure (the test expects one) */
};

/*
 * First half of starting shoal: harness_server_init(srv, "shoal"), an empty
 * zone directory srv->zonedir (= srv->dir/zones) and a free port in
 * srv->port, so the test can write zone files and configuration files that
 * name the port before harness_shoal_launch(). All of it goes with
 * harness_server_cleanup().
 * \return 0 or -errno.
 */
int harness_shoal_prepare(struct harness_server *srv);

/*
 * Second half: run shoal as o says (o NULL = all defaults) on srv->port
 * and, unless o->no_wait, wait until the zones answer (up to
 * HARNESS_READY_TIMEOUT_MS). If the process exits saying its port is in use
 * (another process took it since it was picked), start again on a new port
 * (twice at most) unless o->port_fixed. On failure, unless o->quiet, print
 * why and the tail of the log to stderr; the process is stopped, srv->dir
 * and the log are kept. Call harness_server_cleanup() in every case.
 * Pre: harness_shoal_prepare(srv) done; srv not running. srv may be
 * launched again after it stopped (srv->port is kept when o->port_fixed).
 * \return as harness_shoal_start().
 */
int harness_shoal_launch(struct harness_server *srv, const struct harness_shoal_opts *o);

/*
 * Start shoal on the zones in zonedir:
 *   $SHOAL_BIN --zones ZONEDIR --listen 127.0.0.1:PORT --threads 2 [extra...]
 * on a port from harness_pick_port(), and wait until every zone answers its
 * SOA (up to HARNESS_READY_TIMEOUT_MS). extra_args is NULL-terminated or NULL.
 * That is harness_shoal_prepare() and harness_shoal_launch() with .zonedir
 * and .args. On failure the reason and the tail of the log are printed to
 * stderr and the server is stopped, but srv->dir and the log are kept so the
 * caller can show more; call harness_server_cleanup() in every case.
 * \return 0; -ENOENT if SHOAL_BIN is unset or not executable; -ECHILD if
 *         shoal exited during start-up; -ETIMEDOUT if it never answered;
 *         -EINVAL if zonedir is NULL.
 */
int harness_shoal_start(struct harness_server *srv, const char *zonedir,
                        const char *const *extra_args);

/*
 * Path of knotd ($SHOAL_KNOTD, else knotd in PATH, /usr/sbin, /usr/local/sbin),
 * or NULL if not installed. Tests that need it exit HARNESS_EXIT_SKIP then.
 */
const char *harness_knotd_path(void);

/*
 * Path of the program `name`: $env when set and not empty (NULL when that
 * is not executable), else the first executable `name` in PATH, /usr/sbin,
 * /usr/local/sbin, /sbin; NULL when none. The path is written into buf.
 */
const char *harness_find_bin(const char *env, const char *name, char *buf, size_t size);

/*
 * Begin a named.conf in f: "options {" and what every test's named has (its
 * directory, pid and key files in dir, listening on 127.0.0.1@port only,
 * no recursion, no validation). The caller adds its own options and
 * closes the block.
 */
void harness_named_options(FILE *f, const char *dir, uint16_t port);

/*
 * Start knotd as a reference server on a copy of the zones in zonedir.
 * Writes srv->dir/knot.conf with: server listen 127.0.0.1@PORT, rundir and
 * database storage inside srv->dir, no `user:` (knotd keeps the test's user,
 * which can read the copies), and every "<name>.zone" as a zone with
 * zonefile-load: whole, journal-content: none, semantic-checks: off,
 * zonefile-sync: -1 and no DNSSEC. extra_server_conf (may be NULL) is a
 * block of "key: value" lines appended to the `server:` section, e.g.
 * "identity: node-1\nversion: test-1\n". Waits until every zone answers.
 * On failure prints why and the log tail to stderr, as harness_shoal_start().
 * \return as harness_shoal_start(); -ENOENT if knotd is not installed.
 */
int harness_knot_start(struct harness_server *srv, const char *zonedir,
                       const char *extra_server_conf);

/* ---- running programs ----------------------------------------------------- */

/* What harness_run() saw. Free with harness_run_free(). */
struct harness_run {
	int status;    /* waitpid() status, -1 if it was not reaped normally */
	int exit_code; /* exit status; 128 + N when killed by signal N; -1 when
	                  killed by the harness for overrunning its timeout */
	char *out;     /* stdout, NUL-terminated, never NULL after a run */
	size_t out_len;
	char *err; /* stderr, likewise */
	size_t err_len;
};

/*
 * Run argv (argv[0] a path, or a name looked up in PATH) with stdin from
 * /dev/null, capturing stdout and stderr apart (each up to
 * HARNESS_RUN_OUTPUT_MAX), and wait for it up to timeout_ms
 * (0 = HARNESS_RUN_TIMEOUT_MS); past that it is killed (SIGKILL). The child
 * dies with the test (PR_SET_PDEATHSIG) and inherits no other descriptor.
 * For `shoal --check`, `shoal-checkzone`, `shoalctl`, dig.
 * \param[out] res  exit status and output, also after -ETIMEDOUT (what
 *                  was written until then)
 * \return 0 when it ran and exited, whatever its status; -ETIMEDOUT; -errno
 *         of the exec (-ENOENT: no such program), of fork() or pipe().
 */
int harness_run(const char *const argv[], int timeout_ms, struct harness_run *res);

/* harness_run() of "$SHOAL_BIN args..." (args NULL-terminated).
 * \return as harness_run(); -ENOENT if SHOAL_BIN is unset. */
int harness_run_shoal(const char *const *args, int timeout_ms, struct harness_run *res);

/* Free what harness_run() allocated and zero *res. */
void harness_run_free(struct harness_run *res);

/* ---- queries -------------------------------------------------------------- */

/*
 * Build the query packet for q (ID id, opcode QUERY).
 * \return a new ldns_pkt (ldns_pkt_free() it) or NULL if qname or the
 *         options are invalid.
 */
ldns_pkt *harness_build_query(const struct harness_query *q, uint16_t id);

/*
 * The wire form of harness_build_query(q, id).
 * \param[out] wire  malloc'ed bytes (free() them)
 * \param[out] len   their length
 * \return 0, or -EINVAL if q cannot be built.
 */
int harness_query_wire(const struct harness_query *q, uint16_t id, uint8_t **wire, size_t *len);

/*
 * Send q to host:port (host NULL = "127.0.0.1"; "::1" works too) over
 * q->transport, and wait up to timeout_ms (0 = HARNESS_QUERY_TIMEOUT_MS) for
 * the reply with the same ID. Over UDP, datagrams with another ID are
 * ignored; over TCP, the reply is read with its 2-octet length prefix
 * (RFC 1035 §4.2.2).
 * \param[out] out  query and reply; out->pkt is NULL if the reply did not
 *                  parse (out->wire still holds it)
 * \return 0; -ETIMEDOUT; -ECONNREFUSED, -ECONNRESET or another -errno;
 *         -EINVAL if q cannot be built.
 */
int harness_query(const char *host, uint16_t port, const struct harness_query *q, int timeout_ms,
                  struct harness_reply *out);

/*
 * Send raw bytes as one query and collect the raw reply, for malformed-input
 * tests. UDP: one datagram out, the first datagram back. TCP: the bytes are
 * sent behind a 2-octet length prefix (len must be <= 65535) and one
 * length-prefixed reply is read.
 * \param[out] reply      malloc'ed reply bytes, NULL on timeout or when the
 *                        server closed the TCP connection without answering
 * \param[out] reply_len  its length
 * \return 0 with a reply; -ETIMEDOUT (UDP: no reply; TCP: none in time);
 *         -ECONNRESET (TCP closed without a reply); other -errno.
 */
int harness_send_raw(const char *host, uint16_t port, enum harness_transport transport,
                     const uint8_t *buf, size_t len, int timeout_ms, uint8_t **reply,
                     size_t *reply_len);

/* Same as harness_send_raw() over UDP: the helper the malformed-input tests
 * use most. */
int harness_send_raw_udp(const char *host, uint16_t port, const uint8_t *buf, size_t len,
                         int timeout_ms, uint8_t **reply, size_t *reply_len);

/* Free what harness_query() put into r and zero it. */
void harness_reply_free(struct harness_reply *r);

/*
 * harness_query(), but over UDP a query that timed out is sent again, up
 * to tries sends in all (tries <= 1: once): a lost datagram is not what a
 * conformance test judges. Over TCP, one try.
 * \return as harness_query().
 */
int harness_query_retry(const char *host, uint16_t port, const struct harness_query *q,
                        int timeout_ms, int tries, struct harness_reply *out);

/*
 * Ask 127.0.0.1:port "qname IN qtype" (no RD, no EDNS) over t, waiting
 * HARNESS_QUERY_TIMEOUT_MS. Options beyond these: harness_query().
 * \param[out] r  the exchange; r->pkt is not NULL when 0 is returned
 * \return 0; -EBADMSG if the reply did not parse; as harness_query().
 */
int harness_ask(uint16_t port, const char *qname, ldns_rr_type qtype, enum harness_transport t,
                struct harness_reply *r);

/* The RCODE of harness_ask()'s reply. \return the rcode (>= 0) or -errno. */
int harness_ask_rcode(uint16_t port, const char *qname, ldns_rr_type qtype,
                      enum harness_transport t);

/*
 * The serial of zone's SOA, asked over UDP.
 * \param[out] serial  the serial (0 on failure)
 * \return 0; -ENODATA if the reply is not NOERROR with exactly one SOA in
 *         the answer; as harness_ask().
 */
int harness_soa_serial(uint16_t port, const char *zone, uint32_t *serial);

/*
 * Poll every 50 ms, up to timeout_ms (0 = HARNESS_WAIT_TIMEOUT_MS), until
 * srv serves zone with SOA serial want: after a reload.
 * \return 0; -ETIMEDOUT, after printing the last serial seen and the tail
 *         of srv's log to stderr.
 */
int harness_wait_serial(const struct harness_server *srv, const char *zone, uint32_t want,
                        int timeout_ms);

/*
 * Poll every 50 ms, up to timeout_ms (0 = HARNESS_WAIT_TIMEOUT_MS), until
 * "qname qtype" over UDP gets the given rcode (e.g. REFUSED once a zone is
 * removed). \return 0; -ETIMEDOUT, after printing the last rcode and the
 * log tail to stderr.
 */
int harness_wait_rcode(const struct harness_server *srv, const char *qname, ldns_rr_type qtype,
                       unsigned rcode, int timeout_ms);

/*
 * A UDP socket connected to 127.0.0.1:port, non-blocking, bound to the
 * IPv4 address src (any port) when src is not NULL: a client on another
 * loopback address, e.g. in another /24 for RRL. Its source port is fixed,
 * so the kernel's 4-tuple hash keeps it on one server socket.
 * \return the descriptor (close() it) or -errno.
 */
int harness_udp_client(const char *src, uint16_t port);

/*
 * Build "qname IN qtype" with an OPT record (payload 1232, no flags)
 * holding one COOKIE option (RFC 7873 §4) of the cookie_len octets at
 * cookie, ID id, nothing else: the exact layout the cookie and RRL tests
 * read back. qname NULL: no question (QDCOUNT 0, RFC 7873 §5.4);
 * cookie_len 0: no OPT record at all. The length is not checked against
 * RFC 7873's 8 or 16..40, so malformed cookies can be sent.
 * \return the length written to buf, or -EINVAL (bad qname, cookie_len over
 *         255), -ENOSPC (size too small).
 */
int harness_cookie_query(uint8_t *buf, size_t size, uint16_t id, const char *qname,
                         ldns_rr_type qtype, const uint8_t *cookie, size_t cookie_len);

/*
 * The 24-octet COOKIE (client and RFC 9018 server cookie) of a reply whose
 * last record is an OPT whose last option is that COOKIE, as shoal writes
 * replies to harness_cookie_query().
 * \param[out] cookie  the cookie; zeroed when there is none
 * \return whether there was one.
 */
bool harness_reply_cookie(const uint8_t *reply, size_t len, uint8_t cookie[24]);

/* ---- metrics and sockets ------------------------------------------------ */

/*
 * GET `path` over HTTP/1.0 from 127.0.0.1:port (the --metrics endpoint),
 * waiting up to 3 s for the server to close the connection.
 * \return the whole response, status line and headers included (free()
 *         it), or NULL when the connection or the request failed.
 */
char *harness_http_get(uint16_t port, const char *path);

/*
 * The value of one series in a Prometheus text exposition: the line that
 * starts with series (a name and its labels exactly as shoal writes them,
 * e.g. "shoal_queries_total{proto=\"udp\",worker=\"0\"}") followed by a space.
 * \return the value, or -1 when no line has that series.
 */
long long harness_metric(const char *text, const char *series);

/* The sum of every series of the metric name (any labels, or none). */
unsigned long long harness_metric_sum(const char *text, const char *name);

/*
 * How many UDP sockets are bound to 127.0.0.1:port (the local address
 * column of /proc/net/udp): one per worker with SO_REUSEPORT, one shared.
 * \return the count or -errno.
 */
int harness_udp_sockets(uint16_t port);

/* ---- background query load ------------------------------------------------ */

/* A query load for "N reloads under load, none lost" tests. Zero-initialise
 * and set .port and .names. */
struct harness_load_opts {
	const char *host; /* NULL = "127.0.0.1" ("::1" works too) */
	uint16_t port;
	const char *const *names; /* asked in turn, NULL-terminated, at least one */
	ldns_rr_type qtype;       /* 0 = A; class IN, no RD, no EDNS */
	unsigned threads;         /* 0 = 1; each one UDP socket: one fixed source
	                             port, so one flow, as a resolver has */
	/* Queries a second over all threads, sent on a steady clock whatever
	 * the answers do (as dnsperf -Q does). 0 = closed loop: each thread
	 * sends its next query as soon as the previous one is answered or
	 * lost, as fast as the server goes. */
	unsigned rate;
	int timeout_ms; /* unanswered this long = lost; 0 = 1000 (far above
	                   loopback latency, even while a zone is rebuilt) */
	/* Optional check of each answer, called from the load threads at the
	 * same time (keep it thread-safe): false counts the reply as bad. With
	 * check set, a reply that does not parse is bad too; without it, replies
	 * are not parsed. */
	bool (*check)(const ldns_pkt *reply, void *arg);
	void *check_arg;
};

/* What a load did, summed over its threads. Once stopped,
 * sent == answered + lost. */
struct harness_load_stats {
	unsigned long sent;
	unsigned long answered;   /* a reply with the query's ID came in time */
	unsigned long lost;       /* none within timeout_ms (a later reply does
	                             not count) */
	unsigned long bad;        /* answered, but refused by check() */
	unsigned long rcodes[16]; /* answered, by the header's RCODE */
	double max_ms;            /* the slowest answer */
};

struct harness_load;

/*
 * Start the load: o->threads threads, each sending to host:port from its
 * own socket. o is copied; o->names may go once this returns.
 * \param[out] out  the running load, for harness_load_stop()
 * \return 0; -EINVAL (no names, a name that does not build, rate so high
 *         that rate * timeout_ms / 1000 reaches 60000 queries in flight per
 *         thread); -errno of socket() or pthread_create().
 */
int harness_load_start(const struct harness_load_opts *o, struct harness_load **out);

/*
 * Stop sending, wait (up to the timeout) for the answers still due, join
 * the threads and free l.
 * \param[out] st  the totals (may be NULL)
 */
void harness_load_stop(struct harness_load *l, struct harness_load_stats *st);

/* One line: "<label>: S queries, A answered, L lost, B bad; NOERROR n, ...;
 * slowest M ms". */
void harness_load_print(const struct harness_load_stats *st, const char *label, FILE *out);

/* ---- comparing answers ---------------------------------------------------- */

/* A sorted list of canonical RR strings: one section of a message, as a set. */
struct harness_rrset_text {
	char **rr; /* sorted, unique */
	size_t n;
};

/*
 * Canonical text of one RR for comparisons: owner and domain names inside
 * RDATA lowercased (RFC 4034 §6.2 list), presentation format from ldns,
 * single spaces, no trailing newline. The TTL is kept unless with_ttl is
 * false (then it is written as 0). \return malloc'ed string or NULL.
 */
char *harness_rr_canon(const ldns_rr *rr, bool with_ttl);

/*
 * The RRs of list (may be NULL = empty) as a set of canonical strings,
 * skipping OPT pseudo-RRs (RFC 6891). Free with harness_rrset_text_free().
 * \return 0 or -ENOMEM.
 */
int harness_rrset_text(const ldns_rr_list *list, bool with_ttl, struct harness_rrset_text *out);

/* Free what harness_rrset_text() allocated and zero *t. */
void harness_rrset_text_free(struct harness_rrset_text *t);

/*
 * Compare one section as sets (harness_rrset_text() of each list, either
 * may be NULL) and print the differences as harness_rrset_text_diff() does.
 * \return true when equal; false when not, or out of memory.
 */
bool harness_section_diff(const char *label, const ldns_rr_list *want, const ldns_rr_list *got,
                          bool with_ttl, FILE *out);

/*
 * Compare two sets. When they differ, print to out (if not NULL) one line
 * per RR only in `want` ("- <rr>", prefixed with label) and per RR only in
 * `got` ("+ <rr>"). \return true when equal.
 */
bool harness_rrset_text_diff(const struct harness_rrset_text *want,
                             const struct harness_rrset_text *got, const char *label, FILE *out);

/* "NOERROR", "NXDOMAIN", ... or "RCODE<n>" (static storage). */
const char *harness_rcode_str(unsigned rcode);

/* Parse an rcode mnemonic (case-insensitive) or number. \return 0 or -EINVAL. */
int harness_rcode_parse(const char *s, unsigned *rcode);

/* A one-line summary of a query, e.g. "www.example.com. IN A udp edns=1232"
 * into buf. \return buf. */
char *harness_query_str(const struct harness_query *q, char *buf, size_t size);

/*
 * Write a dig-like dump of pkt (header, flags, all sections) to out,
 * each line prefixed with indent. pkt NULL prints "(no parsed reply)".
 */
void harness_pkt_dump(const ldns_pkt *pkt, FILE *out, const char *indent);

/* ---- conformance expectation files -------------------------------------- */

/* Where a case's flag must be: set, clear, or not checked. */
enum harness_flag_rule {
	HARNESS_FLAG_CLEAR = 0,
	HARNESS_FLAG_SET,
	HARNESS_FLAG_ANY,
};

/* One "query ... end" block of tests/conformance/expectations.txt. See the
 * header of that file for the syntax. */
struct harness_case {
	int line;               /* line of the "query" keyword */
	char *qname;            /* as written: case and escapes preserved */
	struct harness_query q; /* q.qname points at qname */
	char *server;           /* server configuration name, "default" */
	unsigned rcode;
	enum harness_flag_rule aa, tc;
	bool ttl_checked;                              /* false after "ttl-unchecked" */
	bool sections_checked;                         /* false after "sections-unchecked" */
	bool answer_one_rrset;                         /* "answer-one-rrset": RFC 8482 ANY */
	ldns_rr_list *answer, *authority, *additional; /* expected RRs */
	char *comment;                                 /* the comment lines just above, joined */
	char *knot_differs; /* text of a "# knot differs:" line, or NULL */
};

struct harness_cases {
	struct harness_case *c;
	size_t n;
};

/*
 * Parse an expectation file. On a syntax error, prints "path:line: why" to
 * stderr and fails. \return 0, -EINVAL (syntax) or -errno.
 */
int harness_cases_load(const char *path, struct harness_cases *out);

/* Free what harness_cases_load() allocated and zero *cs. */
void harness_cases_free(struct harness_cases *cs);

/*
 * Check one reply against one case: header (QR, opcode, ID, RD echoed, RA
 * clear), the question echoed byte for byte (case included), an OPT record
 * exactly when the query had one (RFC 6891 §6.1.1), rcode, AA/TC rules and
 * the answer/authority/additional sets (OPT ignored).
 * \param diff  receives a human-readable list of every mismatch (may be NULL)
 * \return true when the reply satisfies the case.
 */
bool harness_case_check(const struct harness_case *c, const struct harness_reply *r, FILE *diff);

/*
 * Check the parts of a reply that every case shares (header echo, question,
 * OPT presence) for query q, writing mismatches to diff.
 * \return true when all hold.
 */
bool harness_check_header(const struct harness_query *q, const struct harness_reply *r, FILE *diff);

/* ---- test programs ------------------------------------------------------ */

/* CLOCK_MONOTONIC in milliseconds, for bounding loops. */
double harness_now_ms(void);

/* One libcheck test program: one suite of one test case. */
struct harness_suite {
	const char *name;          /* suite and test case */
	int timeout_s;             /* per test (tcase_set_timeout) */
	bool without_shoal;        /* the tests do not run $SHOAL_BIN */
	void (*setup)(void);       /* checked fixture: before each test, in its */
	void (*teardown)(void);    /* process (may be NULL) */
	const TTest *const *tests; /* NULL-terminated */
};

/*
 * main() of a test program: check that SHOAL_BIN is set (unless
 * s->without_shoal), run the tests (CK_NORMAL output, CK_FORK from the
 * environment as usual).
 * \return the exit status for main(): 0 when every test passed, else 1.
 */
int harness_suite_main(const struct harness_suite *s);

/** A random 32-octet TSIG secret in base64 (RFC 4648 §4), as key files
 * write it, NUL-terminated into `out` (at least 45 octets). */
void harness_random_secret(char *out, size_t size);

/** Where a server's log ends now, for harness_log_since. */
long harness_log_mark(const struct harness_server *s);

/** The server's log from offset `from` on (free() it; "" when none). */
char *harness_log_since(const struct harness_server *s, long from);

#endif /* SHOAL_E2E_HARNESS_H */
