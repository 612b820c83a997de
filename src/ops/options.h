/* options.h: command-line flags. */
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
	const char *zones_dir;
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
};

enum options_result {
	OPTIONS_OK = 0,
	OPTIONS_EXIT_OK,   /* --help or --version printed: exit 0 */
	OPTIONS_ERROR,     /* message in err: exit 2 */
};

/** Defaults, then argv. `err` receives a message naming the bad flag. */
enum options_result options_parse(struct options *o, int argc, char **argv, char *err,
				  size_t errsize);

/**
 * Parse "ADDR:PORT", "[V6]:PORT", "ADDR" or "[V6]" (port `defport`).
 * \return 0, or -1 when it is not an address
 */
int options_parse_addr(const char *s, uint16_t defport, struct listen_addr *out);

/** The --help text. */
void options_usage(FILE *f);

#endif
