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
 * Environment read here:
 *   SHOAL_BIN     path of the shoal binary (set by meson, see tests/meson.build)
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

#include <ldns/ldns.h>

/* Bounded waits, in milliseconds. A server on loopback answers in well under
 * a millisecond; these only bound how long a broken server can stall a test. */
#define HARNESS_READY_TIMEOUT_MS 10000 /* start-up until the zones answer */
#define HARNESS_STOP_TIMEOUT_MS 5000   /* SIGTERM until SIGKILL */
#define HARNESS_QUERY_TIMEOUT_MS 2000  /* one query, UDP or TCP */

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
	pid_t pid;          /* > 0 while the process has not been reaped */
	uint16_t port;      /* loopback port it listens on (UDP and TCP) */
	int exit_status;    /* waitpid() status once reaped, else -1 */
	char name[32];      /* "shoal", "knotd", ...: used in messages */
	char dir[PATH_MAX]; /* private temp dir, removed by _cleanup() */
	char log[PATH_MAX]; /* the process's stdout+stderr, inside dir */
	char **zones;       /* origins probed by wait_ready (NULL-terminated) */
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
 * Create a fresh directory "$TMPDIR/shoal-e2e-<tag>-XXXXXX".
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
 * Start shoal on the zones in zonedir:
 *   $SHOAL_BIN --zones ZONEDIR --listen 127.0.0.1:PORT --threads 2 [extra...]
 * on a port from harness_pick_port(), and wait until every zone answers its
 * SOA (up to HARNESS_READY_TIMEOUT_MS). extra_args is NULL-terminated or NULL.
 * On failure the server is stopped but srv->dir and the log are kept so the
 * caller can print them; call harness_server_cleanup() in every case.
 * \return 0; -ENOENT if SHOAL_BIN is unset or not executable; -ECHILD if
 *         shoal exited during start-up; -ETIMEDOUT if it never answered.
 */
int harness_shoal_start(struct harness_server *srv, const char *zonedir,
                        const char *const *extra_args);

/*
 * Path of knotd ($SHOAL_KNOTD, else knotd in PATH, /usr/sbin, /usr/local/sbin),
 * or NULL if not installed. Tests that need it exit HARNESS_EXIT_SKIP then.
 */
const char *harness_knotd_path(void);

/*
 * Start knotd as a reference server on a copy of the zones in zonedir.
 * Writes srv->dir/knot.conf with: server listen 127.0.0.1@PORT, rundir and
 * database storage inside srv->dir, no `user:` (knotd keeps the test's user,
 * which can read the copies), and every "<name>.zone" as a zone with
 * zonefile-load: whole, journal-content: none, semantic-checks: off,
 * zonefile-sync: -1 and no DNSSEC. extra_server_conf (may be NULL) is a
 * block of "key: value" lines appended to the `server:` section, e.g.
 * "identity: node-1\nversion: test-1\n". Waits until every zone answers.
 * \return as harness_shoal_start(); -ENOENT if knotd is not installed.
 */
int harness_knot_start(struct harness_server *srv, const char *zonedir,
                       const char *extra_server_conf);

/* ---- queries -------------------------------------------------------------- */

/*
 * Build the query packet for q (ID id, opcode QUERY).
 * \return a new ldns_pkt (ldns_pkt_free() it) or NULL if qname or the
 *         options are invalid.
 */
ldns_pkt *harness_build_query(const struct harness_query *q, uint16_t id);

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
 * GET `path` over HTTP/1.0 from 127.0.0.1:port (the --metrics endpoint),
 * waiting up to 3 s for the server to close the connection.
 * \return the whole response, status line and headers included (free()
 *         it), or NULL when the connection or the request failed.
 */
char *harness_http_get(uint16_t port, const char *path);

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

#endif /* SHOAL_E2E_HARNESS_H */
