/* options.c: command-line flags. */
#include "ops/options.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard/cookie.h"
#include "ops/log.h"
#include "dns/query.h"
#include "guard/rrl.h"
#include <ldns/util.h>

void options_usage(FILE *f)
{
	fprintf(f,
		"Usage: shoal [OPTIONS]\n"
		"An authoritative DNS server: every *.zone file in a directory, answered from\n"
		"memory by one UDP and one TCP worker per thread on SO_REUSEPORT sockets.\n"
		"\n"
		"  -z, --zones DIR          zone files: DIR/<origin>.zone (default /etc/shoal/zones)\n"
		"  -l, --listen ADDR:PORT   listen on UDP and TCP; repeatable; IPv6 as [::1]:53\n"
		"                           (default 0.0.0.0:53 and [::]:53)\n"
		"  -t, --threads N          worker threads per protocol (default: number of CPUs)\n"
		"  -u, --user NAME          when started as root, drop to NAME after binding\n"
		"                           (default nobody)\n"
		"      --chroot DIR         when started as root, chroot to DIR after binding\n"
		"      --allow-root         keep running as root (not recommended)\n"
		"      --edns-size N        our EDNS UDP payload size, 512-%d (default %d)\n"
		"      --nsid TEXT          answer the EDNS NSID option (RFC 5001); 0xHEX for bytes\n"
		"      --identity TEXT      id.server/hostname.bind CH TXT (default: host name)\n"
		"      --hide-identity      refuse id.server and hostname.bind\n"
		"      --version-string T   version.bind/version.server CH TXT (default \"shoal %s\")\n"
		"      --hide-version       refuse version.bind and version.server\n"
		"      --tcp-idle-timeout S close idle TCP connections after S seconds (default 10)\n"
		"      --tcp-max-conns N    TCP connections per worker (default 1024)\n"
		"      --stats-interval S   log a statistics line every S seconds (0: off, default)\n"
		"      --metrics ADDR:PORT  serve Prometheus metrics over HTTP on ADDR:PORT\n"
		"      --log-level LEVEL    err, warn, info or debug (default info)\n"
		"      --syslog             log to syslog instead of stderr\n"
		"      --pidfile FILE       write the process id to FILE\n"
		"      --check              load the zones, report problems, exit (0: all good)\n"
		"      --socket-mode MODE   reuseport: one SO_REUSEPORT socket per worker (default);\n"
		"                           shared: one socket per address read by every worker\n"
		"      --steer HOW          which worker's socket gets a datagram: random (even for\n"
		"                           any number of flows, default), hash (the kernel's 4-tuple\n"
		"                           hash), cpu (the receiving CPU's; needs --cpu-affinity)\n"
		"      --cpu-affinity       pin worker i to the i-th CPU this process may use\n"
		"      --replace PID|FILE   take over the port from a running shoal (same user):\n"
		"                           serve, then send it TERM; it drains its queues and exits\n"
		"Response rate limiting (UDP only; off by default):\n"
		"      --rrl-rate N         responses per second per client network, answer kind\n"
		"                           and name (0: off, default)\n"
		"      --rrl-slip N         send one limited response in N truncated (TC=1) so\n"
		"                           real clients retry over TCP; 0: drop all (default 2)\n"
		"      --rrl-window S       seconds of unused rate a bucket saves for a burst\n"
		"                           (default 2)\n"
		"      --rrl-table-size N   buckets, 8 octets each, rounded up to a power of two\n"
		"                           (default 1048576: 8 MiB)\n"
		"      --rrl-ipv4-prefix N  client network prefix length (default 24)\n"
		"      --rrl-ipv6-prefix N  (default 56)\n"
		"DNS cookies (RFC 7873, RFC 9018; always answered; a valid one exempts from RRL):\n"
		"      --cookie-secret HEX  the 16-octet server secret as 32 hex digits\n"
		"                           (default: random at start)\n"
		"      --cookie-secret-file FILE  read the secret from FILE, again on HUP; the\n"
		"                           previous secret stays valid until the next change\n"
		"  -h, --help               this text\n"
		"  -V, --version            print the version\n"
		"\n"
		"Signals: HUP reloads every zone (a zone that fails keeps its old version),\n"
		"TERM or INT stop the server: it stops taking new queries, answers those already\n"
		"queued, and exits.\n",
		EDNS_SIZE_MAX, EDNS_SIZE_DEFAULT, SHOAL_VERSION);
}

int options_parse_addr(const char *s, uint16_t defport, struct listen_addr *out)
{
	char host[64];
	const char *port = NULL;
	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || (size_t)(end - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = 0;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != 0)
			return -1;
	} else {
		const char *colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':'))
			colon = NULL; /* bare IPv6 without a port */
		size_t hl = colon ? (size_t)(colon - s) : strlen(s);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, s, hl);
		host[hl] = 0;
		if (colon)
			port = colon + 1;
	}
	unsigned long p = defport;
	if (port) {
		char *e;
		if (!*port || !isdigit((unsigned char)*port))
			return -1;
		p = strtoul(port, &e, 10);
		if (*e || p > 65535)
			return -1;
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		out->len = sizeof(*sin);
		snprintf(out->text, sizeof(out->text), "%s:%lu", host, p);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		out->len = sizeof(*sin6);
		snprintf(out->text, sizeof(out->text), "[%s]:%lu", host, p);
	} else {
		return -1;
	}
	return 0;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *e;
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	unsigned long v = strtoul(s, &e, 10);
	if (*e || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_nsid(struct options *o, const char *s)
{
	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2)) {
		size_t l = strlen(s + 2);
		if (l == 0 || l % 2 || l / 2 > sizeof(o->nsid_bin))
			return -1;
		for (size_t i = 0; i < l / 2; i++) {
			unsigned v;
			if (!isxdigit((unsigned char)s[2 + 2 * i]) ||
			    !isxdigit((unsigned char)s[3 + 2 * i]) ||
			    sscanf(s + 2 + 2 * i, "%2x", &v) != 1)
				return -1;
			o->nsid_bin[i] = (uint8_t)v;
		}
		o->nsid_len = (uint16_t)(l / 2);
	} else {
		size_t l = strlen(s);
		if (l == 0 || l > sizeof(o->nsid_bin))
			return -1;
		memcpy(o->nsid_bin, s, l);
		o->nsid_len = (uint16_t)l;
	}
	o->nsid = s;
	return 0;
}

enum {
	OPT_CHROOT = 256,
	OPT_ALLOW_ROOT,
	OPT_EDNS_SIZE,
	OPT_NSID,
	OPT_IDENTITY,
	OPT_HIDE_IDENTITY,
	OPT_VERSION_STRING,
	OPT_HIDE_VERSION,
	OPT_TCP_IDLE,
	OPT_TCP_MAX,
	OPT_STATS_INTERVAL,
	OPT_METRICS,
	OPT_LOG_LEVEL,
	OPT_SYSLOG,
	OPT_PIDFILE,
	OPT_CHECK,
	OPT_SOCKET_MODE,
	OPT_STEER,
	OPT_CPU_AFFINITY,
	OPT_REPLACE,
	OPT_RRL_RATE,
	OPT_RRL_SLIP,
	OPT_RRL_WINDOW,
	OPT_RRL_TABLE_SIZE,
	OPT_RRL_V4_PREFIX,
	OPT_RRL_V6_PREFIX,
	OPT_COOKIE_SECRET,
	OPT_COOKIE_SECRET_FILE,
};

static int parse_rrl(struct options *o, int c, const char *arg, char *err, size_t errsize)
{
	static const struct {
		int c;
		const char *name;
		unsigned long min, max;
	} lim[] = {
		{OPT_RRL_RATE, "--rrl-rate", 0, RRL_RATE_MAX},
		{OPT_RRL_SLIP, "--rrl-slip", 0, 100},
		{OPT_RRL_WINDOW, "--rrl-window", 1, RRL_WINDOW_MAX},
		{OPT_RRL_TABLE_SIZE, "--rrl-table-size", RRL_WAYS, RRL_SIZE_MAX},
		{OPT_RRL_V4_PREFIX, "--rrl-ipv4-prefix", 0, 32},
		{OPT_RRL_V6_PREFIX, "--rrl-ipv6-prefix", 0, 128},
	};
	unsigned long v = 0;
	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		if (lim[i].c != c)
			continue;
		if (parse_uint(arg, lim[i].min, lim[i].max, &v) < 0) {
			snprintf(err, errsize, "%s %s: expected %lu to %lu", lim[i].name, arg,
				 lim[i].min, lim[i].max);
			return -1;
		}
		break;
	}
	switch (c) {
	case OPT_RRL_RATE:
		o->rrl_rate = (unsigned)v;
		break;
	case OPT_RRL_SLIP:
		o->rrl_slip = (unsigned)v;
		break;
	case OPT_RRL_WINDOW:
		o->rrl_window = (unsigned)v;
		break;
	case OPT_RRL_TABLE_SIZE:
		o->rrl_table_size = v;
		break;
	case OPT_RRL_V4_PREFIX:
		o->rrl_v4_prefix = (unsigned)v;
		break;
	default:
		o->rrl_v6_prefix = (unsigned)v;
		break;
	}
	return 0;
}

enum options_result options_parse(struct options *o, int argc, char **argv, char *err,
				  size_t errsize)
{
	static const struct option longopts[] = {
		{"zones", required_argument, NULL, 'z'},
		{"listen", required_argument, NULL, 'l'},
		{"threads", required_argument, NULL, 't'},
		{"user", required_argument, NULL, 'u'},
		{"chroot", required_argument, NULL, OPT_CHROOT},
		{"allow-root", no_argument, NULL, OPT_ALLOW_ROOT},
		{"edns-size", required_argument, NULL, OPT_EDNS_SIZE},
		{"nsid", required_argument, NULL, OPT_NSID},
		{"identity", required_argument, NULL, OPT_IDENTITY},
		{"hide-identity", no_argument, NULL, OPT_HIDE_IDENTITY},
		{"version-string", required_argument, NULL, OPT_VERSION_STRING},
		{"hide-version", no_argument, NULL, OPT_HIDE_VERSION},
		{"tcp-idle-timeout", required_argument, NULL, OPT_TCP_IDLE},
		{"tcp-max-conns", required_argument, NULL, OPT_TCP_MAX},
		{"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
		{"metrics", required_argument, NULL, OPT_METRICS},
		{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
		{"syslog", no_argument, NULL, OPT_SYSLOG},
		{"pidfile", required_argument, NULL, OPT_PIDFILE},
		{"check", no_argument, NULL, OPT_CHECK},
		{"socket-mode", required_argument, NULL, OPT_SOCKET_MODE},
		{"steer", required_argument, NULL, OPT_STEER},
		{"cpu-affinity", no_argument, NULL, OPT_CPU_AFFINITY},
		{"replace", required_argument, NULL, OPT_REPLACE},
		{"rrl-rate", required_argument, NULL, OPT_RRL_RATE},
		{"rrl-slip", required_argument, NULL, OPT_RRL_SLIP},
		{"rrl-window", required_argument, NULL, OPT_RRL_WINDOW},
		{"rrl-table-size", required_argument, NULL, OPT_RRL_TABLE_SIZE},
		{"rrl-ipv4-prefix", required_argument, NULL, OPT_RRL_V4_PREFIX},
		{"rrl-ipv6-prefix", required_argument, NULL, OPT_RRL_V6_PREFIX},
		{"cookie-secret", required_argument, NULL, OPT_COOKIE_SECRET},
		{"cookie-secret-file", required_argument, NULL, OPT_COOKIE_SECRET_FILE},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	unsigned long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->zones_dir = "/etc/shoal/zones";
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	o->threads = ncpu > 0 ? (unsigned)(ncpu > THREADS_MAX ? THREADS_MAX : ncpu) : 1;
	o->edns_size = EDNS_SIZE_DEFAULT;
	o->tcp_idle_ms = 10000;
	o->steer = STEER_RANDOM; /* even for any number of flows: README, Steering */
	o->tcp_max_conns = 1024;
	o->log_level = LOG_LVL_INFO;
	o->rrl_slip = 2;	/* as BIND and NSD */
	o->rrl_window = 2;
	o->rrl_table_size = 1u << 20;
	o->rrl_v4_prefix = 24;	/* as BIND, NSD and Knot */
	o->rrl_v6_prefix = 56;

	opterr = 0;
	optind = 0; /* 0: glibc reinitialises getopt fully, so a second call parses afresh */
	while ((c = getopt_long(argc, argv, ":z:l:t:u:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'z':
			o->zones_dir = optarg;
			break;
		case 'l':
			if (o->nlisten == LISTEN_MAX) {
				snprintf(err, errsize, "--listen: at most %d addresses", LISTEN_MAX);
				return OPTIONS_ERROR;
			}
			if (options_parse_addr(optarg, 53, &o->listen[o->nlisten]) < 0) {
				snprintf(err, errsize,
					 "--listen %s: not an address (use 127.0.0.1:5353 or [::1]:5353)",
					 optarg);
				return OPTIONS_ERROR;
			}
			o->nlisten++;
			break;
		case 't':
			if (parse_uint(optarg, 1, THREADS_MAX, &v) < 0) {
				snprintf(err, errsize, "--threads %s: expected a number from 1 to %d",
					 optarg, THREADS_MAX);
				return OPTIONS_ERROR;
			}
			o->threads = (unsigned)v;
			break;
		case 'u':
			o->user = optarg;
			break;
		case OPT_CHROOT:
			o->chroot_dir = optarg;
			break;
		case OPT_ALLOW_ROOT:
			o->allow_root = true;
			break;
		case OPT_EDNS_SIZE:
			if (parse_uint(optarg, DNS_UDP_MIN, EDNS_SIZE_MAX, &v) < 0) {
				snprintf(err, errsize, "--edns-size %s: expected %d to %d", optarg,
					 DNS_UDP_MIN, EDNS_SIZE_MAX);
				return OPTIONS_ERROR;
			}
			o->edns_size = (uint16_t)v;
			break;
		case OPT_NSID:
			if (parse_nsid(o, optarg) < 0) {
				snprintf(err, errsize,
					 "--nsid %s: expected 1-128 characters or 0x and an even number of hex digits",
					 optarg);
				return OPTIONS_ERROR;
			}
			break;
		case OPT_IDENTITY:
			o->identity = optarg;
			break;
		case OPT_HIDE_IDENTITY:
			o->hide_identity = true;
			break;
		case OPT_VERSION_STRING:
			o->version = optarg;
			break;
		case OPT_HIDE_VERSION:
			o->hide_version = true;
			break;
		case OPT_TCP_IDLE:
			if (parse_uint(optarg, 1, 3600, &v) < 0) {
				snprintf(err, errsize, "--tcp-idle-timeout %s: expected 1 to 3600 seconds",
					 optarg);
				return OPTIONS_ERROR;
			}
			o->tcp_idle_ms = (unsigned)v * 1000;
			break;
		case OPT_TCP_MAX:
			if (parse_uint(optarg, 1, 1000000, &v) < 0) {
				snprintf(err, errsize, "--tcp-max-conns %s: expected 1 to 1000000", optarg);
				return OPTIONS_ERROR;
			}
			o->tcp_max_conns = (unsigned)v;
			break;
		case OPT_STATS_INTERVAL:
			if (parse_uint(optarg, 0, 86400, &v) < 0) {
				snprintf(err, errsize, "--stats-interval %s: expected 0 to 86400 seconds",
					 optarg);
				return OPTIONS_ERROR;
			}
			o->stats_interval = (unsigned)v;
			break;
		case OPT_METRICS:
			if (options_parse_addr(optarg, 9153, &o->metrics_addr) < 0) {
				snprintf(err, errsize, "--metrics %s: not an address (use 127.0.0.1:9153)",
					 optarg);
				return OPTIONS_ERROR;
			}
			o->metrics = optarg;
			break;
		case OPT_LOG_LEVEL:
			if ((o->log_level = log_level_parse(optarg)) < 0) {
				snprintf(err, errsize, "--log-level %s: expected err, warn, info or debug",
					 optarg);
				return OPTIONS_ERROR;
			}
			break;
		case OPT_SYSLOG:
			o->syslog = true;
			break;
		case OPT_PIDFILE:
			o->pidfile = optarg;
			break;
		case OPT_CHECK:
			o->check_only = true;
			break;
		case OPT_SOCKET_MODE:
			if (!strcmp(optarg, "reuseport")) {
				o->socket_mode = SOCKET_MODE_REUSEPORT;
			} else if (!strcmp(optarg, "shared")) {
				o->socket_mode = SOCKET_MODE_SHARED;
			} else {
				snprintf(err, errsize, "--socket-mode %s: expected reuseport or shared",
					 optarg);
				return OPTIONS_ERROR;
			}
			break;
		case OPT_STEER:
			if (!strcmp(optarg, "hash")) {
				o->steer = STEER_HASH;
			} else if (!strcmp(optarg, "cpu")) {
				o->steer = STEER_CPU;
			} else if (!strcmp(optarg, "random")) {
				o->steer = STEER_RANDOM;
			} else {
				snprintf(err, errsize, "--steer %s: expected hash, cpu or random", optarg);
				return OPTIONS_ERROR;
			}
			o->steer_set = true;
			break;
		case OPT_CPU_AFFINITY:
			o->cpu_affinity = true;
			break;
		case OPT_REPLACE:
			if (!*optarg) {
				snprintf(err, errsize, "--replace: expected a process id or a pidfile");
				return OPTIONS_ERROR;
			}
			o->replace = optarg;
			break;
		case OPT_RRL_RATE:
		case OPT_RRL_SLIP:
		case OPT_RRL_WINDOW:
		case OPT_RRL_TABLE_SIZE:
		case OPT_RRL_V4_PREFIX:
		case OPT_RRL_V6_PREFIX:
			if (parse_rrl(o, c, optarg, err, errsize) < 0)
				return OPTIONS_ERROR;
			break;
		case OPT_COOKIE_SECRET: {
			uint8_t tmp[COOKIE_SECRET_LEN];
			if (cookie_secret_parse(optarg, tmp) < 0) {
				snprintf(err, errsize, "--cookie-secret: expected 32 hex digits");
				return OPTIONS_ERROR;
			}
			o->cookie_secret = optarg;
			break;
		}
		case OPT_COOKIE_SECRET_FILE:
			o->cookie_secret_file = optarg;
			break;
		case 'h':
			options_usage(stdout);
			return OPTIONS_EXIT_OK;
		case 'V':
			printf("shoal %s (ldns %s)\n", SHOAL_VERSION, ldns_version());
			return OPTIONS_EXIT_OK;
		case ':':
			snprintf(err, errsize, "%s: missing argument", argv[optind - 1]);
			return OPTIONS_ERROR;
		default:
			snprintf(err, errsize, "unknown option %s (see --help)", argv[optind - 1]);
			return OPTIONS_ERROR;
		}
	}
	if (optind < argc) {
		snprintf(err, errsize, "unexpected argument '%s' (see --help)", argv[optind]);
		return OPTIONS_ERROR;
	}
	if (o->steer == STEER_CPU && !o->cpu_affinity) {
		snprintf(err, errsize, "--steer cpu needs --cpu-affinity (a worker per CPU to steer to)");
		return OPTIONS_ERROR;
	}
	if (o->socket_mode == SOCKET_MODE_SHARED && o->steer_set) {
		snprintf(err, errsize,
			 "--steer applies to --socket-mode reuseport (a shared socket has nothing to steer between)");
		return OPTIONS_ERROR;
	}
	if (o->cookie_secret && o->cookie_secret_file) {
		snprintf(err, errsize, "--cookie-secret and --cookie-secret-file: give one");
		return OPTIONS_ERROR;
	}
	if (o->nlisten == 0) {
		options_parse_addr("0.0.0.0:53", 53, &o->listen[0]);
		options_parse_addr("[::]:53", 53, &o->listen[1]);
		o->nlisten = 2;
	}
	return OPTIONS_OK;
}
