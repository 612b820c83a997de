/* options.h: the server's settings, from one table.
 *
 * Every setting of the `server:` section of the configuration file is also
 * a command-line flag of the same name (`threads:` and `--threads`), read by
 * one parser, described by one table row (options.c: name, type, default,
 * range, help, whether a reload applies it). The table drives getopt,
 * the file's `server:` keys, `--help`, the man pages and the messages.
 * Flags override the file. A few flags exist on the command line only
 * (--config, --zones, --check, --replace, --help, --version).
 */
#ifndef SHOAL_OPTIONS_H
#define SHOAL_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define LISTEN_MAX 16 /* --listen addresses */
#define THREADS_MAX 256
#define EDNS_SIZE_MAX 4096 /* the largest payload we advertise or buffer */

struct listen_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[80]; /* as the user wrote it, normalised: "127.0.0.1:53", "[::1]:53" */
};

enum socket_mode {
	SOCKET_MODE_REUSEPORT = 0, /* one SO_REUSEPORT socket per worker (default) */
	SOCKET_MODE_SHARED,	   /* one socket per address, every worker reads it */
};

/* How the kernel picks a worker's socket for each datagram (SO_REUSEPORT). */
enum steer_mode {
	STEER_HASH = 0, /* the kernel's 4-tuple hash: a flow stays on one worker */
	STEER_CPU,	/* the socket of the CPU that received the packet */
	STEER_RANDOM,	/* any socket, uniformly: even whatever the number of flows */
};

struct options {
	const char *config;	/* --config FILE, or NULL */
	const char *zones_dir;
	bool zones_set;		/* --zones given (not the default) */
	const char *control;	/* control socket path; "" or "none": no control channel */
	bool control_set;	/* given by flag or file (not the default) */
	struct listen_addr listen[LISTEN_MAX];
	unsigned nlisten;
	unsigned threads;	/* workers per protocol */
	const char *user;	/* NULL: "nobody" when started as root */
	const char *chroot_dir;
	bool allow_root;
	uint16_t edns_size;
	const char *nsid;	/* text; "0x..." for hex */
	uint8_t nsid_bin[128];
	uint16_t nsid_len;
	const char *identity;	/* NULL: hostname */
	const char *version;	/* NULL: "shoal <version>" */
	bool hide_identity, hide_version;
	unsigned tcp_idle_ms;
	unsigned tcp_max_conns;	/* per worker */
	unsigned xfr_max;	/* transfers-out, server-wide */
	unsigned notify_tries;
	unsigned xfr_in_threads;	/* transfers-in */
	unsigned notify_interval_ms;
	int log_level;
	bool syslog;
	unsigned stats_interval; /* seconds, 0: off */
	const char *metrics;	/* ADDR:PORT or NULL */
	struct listen_addr metrics_addr;
	const char *pidfile;
	bool check_only;	/* --check: load the zones, report, exit */
	enum socket_mode socket_mode;
	enum steer_mode steer;
	bool steer_set;		/* --steer given (not the default) */
	bool cpu_affinity;	/* pin worker i to the i-th CPU we may use */
	const char *replace;	/* PID or pidfile of the shoal to take over from */
	/* Response rate limiting (rrl.h) and DNS cookies (cookie.h) */
	unsigned rrl_rate;	/* responses/s per bucket; 0: off */
	unsigned rrl_slip;
	unsigned rrl_window;	/* seconds */
	size_t rrl_table_size;	/* buckets */
	unsigned rrl_v4_prefix, rrl_v6_prefix;
	const char *cookie_secret;	/* 32 hex digits, or NULL */
	const char *cookie_secret_file;	/* re-read on SIGHUP, or NULL */
	unsigned rrsig_expiry_warning;	/* seconds (the setting is in hours) */
};

/** When a changed setting takes effect. */
enum option_reload {
	OPTION_AT_START = 0,	/* read once; a reload logs that it needs a restart */
	OPTION_ON_RELOAD,	/* a reload applies the new value */
};

enum option_type {
	OPTION_BOOL,	/* flag without argument (--flag, --flag=no); true/false in the file */
	OPTION_UINT,	/* decimal, within [min, max] */
	OPTION_STRING,
	OPTION_CHOICE,	/* one word of `choices` ("reuseport|shared") */
	OPTION_ADDR,	/* ADDR:PORT */
	OPTION_ADDRS,	/* ADDR:PORT, repeatable; a list in the file */
	OPTION_CUSTOM,	/* `parse` checks and stores it */
};

/** Where a setting may be given. */
enum option_scope {
	OPTION_SCOPE_BOTH = 0,	/* flag and `server:` key */
	OPTION_SCOPE_CLI,	/* command line only */
};

/** One row of the settings table. */
struct option_def {
	const char *name;	/* --NAME and server.NAME */
	char short_name;	/* -X, or 0 */
	enum option_type type;
	enum option_scope scope;
	enum option_reload reload;
	const char *arg;	/* the argument's name in help ("N", "ADDR:PORT"); NULL for bools */
	const char *def;	/* the default, as it would be written; NULL: none */
	const char *def_text;	/* how help shows a default that is computed; NULL: def */
	unsigned long min, max;	/* OPTION_UINT */
	unsigned long scale;	/* OPTION_UINT: stored = value * scale (0: 1) */
	const char *choices;	/* OPTION_CHOICE: "a|b|c", stored as the word's index */
	size_t off, size;	/* the field in struct options */
	/** OPTION_CUSTOM: check `v` and store it; \return 0, or -1 with `why` filled
	 * ("expected ...", without the setting's name) */
	int (*parse)(struct options *o, const char *v, char *why, size_t whysize);
	const char *group;	/* starts a group of related settings in help, or NULL */
	const char *help;	/* one or more sentences; wrapped by the printers */
};

/** The table, ended by a row whose name is NULL. */
extern const struct option_def options_table[];

/** The row named `name` (without dashes), or NULL. */
const struct option_def *options_find(const char *name);

/** How far a typed name is from a valid one, for "did you mean" hints:
 * the edit distance, or SIZE_MAX when too far to suggest (more than a
 * third of the typed length, at least 1). */
size_t options_suggest_distance(const char *typed, const char *name);

/** The table's name nearest to `name` (options_suggest_distance), for
 * "did you mean" hints; NULL when none is near. `file_only`: only rows the
 * file accepts. */
const char *options_nearest(const char *name, bool file_only);

/** Every setting at its default. */
void options_defaults(struct options *o);

/**
 * Give setting `d` the value `v` (text, as on the command line or in the
 * file). For OPTION_ADDRS it appends; `options_clear_list` empties first.
 * \return 0, or -1 with `why` filled: the reason alone ("expected 1 to 256"),
 *         the caller names the setting and where it was written
 */
int options_set(struct options *o, const struct option_def *d, const char *v, char *why,
		size_t whysize);

/** Empty a list setting (before the command line replaces the file's list). */
void options_clear_list(struct options *o, const struct option_def *d);

/**
 * Checks that involve several settings (--steer cpu needs --cpu-affinity,
 * ...) and defaults that depend on others (listen addresses). Call after
 * the file and the command line are both applied.
 * \return 0, or -1 with err filled
 */
int options_finish(struct options *o, char *err, size_t errsize);

/** Two settings structures differ in the setting of row `d`. */
bool options_differ(const struct options *a, const struct options *b, const struct option_def *d);

/** Write setting `d` of `o` as text ("2", "127.0.0.1:53 [::1]:53", "yes"). */
void options_format(const struct options *o, const struct option_def *d, char *buf, size_t size);

enum options_result {
	OPTIONS_OK = 0,
	OPTIONS_EXIT_OK,   /* --help or --version printed: exit 0 */
	OPTIONS_ERROR,     /* message in err: exit 2 */
};

/** Defaults, then argv, then options_finish. `err` receives a message
 * naming the bad flag. */
enum options_result options_parse(struct options *o, int argc, char **argv, char *err,
				  size_t errsize);

/**
 * Apply argv on top of `o` as it stands (defaults and the configuration
 * file already applied), without options_finish. A list flag given on the
 * command line replaces the file's list. Prints --help or --version.
 */
enum options_result options_apply_argv(struct options *o, int argc, char **argv, char *err,
				       size_t errsize);

/**
 * Parse "ADDR:PORT", "[V6]:PORT", "ADDR" or "[V6]" (port `defport`), or
 * Knot's "ADDR@PORT" (IPv6 without brackets); a port has at most 5 digits.
 * \return 0, or -1 when it is not an address
 */
int options_parse_addr(const char *s, uint16_t defport, struct listen_addr *out);

/** The --help text, from the table. */
void options_usage(FILE *f);

/**
 * The settings as roff for a man page: `cli` true gives shoal(8)'s OPTIONS
 * (every flag), false gives shoal.conf(5)'s `server:` keys.
 */
void options_man(FILE *f, bool cli);

#endif
