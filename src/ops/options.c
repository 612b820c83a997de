/* options.c: the settings table, and the command line it drives. */
#include "ops/options.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard/cookie.h"
#include "ops/log.h"
#include "dns/query.h"
#include "guard/rrl.h"
#include <ldns/util.h>

int options_parse_addr(const char *s, uint16_t defport, struct listen_addr *out)
{
	char host[64];
	const char *port = NULL;
	memset(out, 0, sizeof(*out));
	const char *at = strchr(s, '@');
	if (at) {
		/* Knot's ADDR@PORT, which needs no brackets for IPv6 */
		size_t hl = (size_t)(at - s);
		if (hl >= sizeof(host))
			return -1;
		memcpy(host, s, hl);
		host[hl] = 0;
		port = at + 1;
	} else if (s[0] == '[') {
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
		if (!*port || !isdigit((unsigned char)*port) || strlen(port) > 5)
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


/* ---------------------------------------------------------------- custom */

static int set_nsid(struct options *o, const char *v, char *why, size_t whysize)
{
	if (parse_nsid(o, v) < 0) {
		snprintf(why, whysize,
			 "expected 1-128 characters or 0x and an even number of hex digits");
		return -1;
	}
	return 0;
}

static int set_metrics(struct options *o, const char *v, char *why, size_t whysize)
{
	if (options_parse_addr(v, 9153, &o->metrics_addr) < 0) {
		snprintf(why, whysize, "not an address (use 127.0.0.1:9153)");
		return -1;
	}
	o->metrics = v;
	return 0;
}

static int set_steer(struct options *o, const char *v, char *why, size_t whysize)
{
	static const char *const names[] = {[STEER_HASH] = "hash", [STEER_CPU] = "cpu",
					    [STEER_RANDOM] = "random"};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(v, names[i]) == 0) {
			o->steer = (enum steer_mode)i;
			o->steer_set = true;
			return 0;
		}
	}
	snprintf(why, whysize, "expected hash, cpu or random");
	return -1;
}

static int set_cookie_secret(struct options *o, const char *v, char *why, size_t whysize)
{
	uint8_t tmp[COOKIE_SECRET_LEN];
	if (cookie_secret_parse(v, tmp) < 0) {
		snprintf(why, whysize, "expected 32 hex digits");
		return -1;
	}
	o->cookie_secret = v;
	return 0;
}

static int set_nonempty(const char **field, const char *v, const char *what, char *why,
			size_t whysize)
{
	if (!*v) {
		snprintf(why, whysize, "expected %s", what);
		return -1;
	}
	*field = v;
	return 0;
}

static int set_replace(struct options *o, const char *v, char *why, size_t whysize)
{
	return set_nonempty(&o->replace, v, "a process id or a pidfile", why, whysize);
}

static int set_zones(struct options *o, const char *v, char *why, size_t whysize)
{
	o->zones_set = true;
	return set_nonempty(&o->zones_dir, v, "a directory", why, whysize);
}

static int set_control(struct options *o, const char *v, char *why, size_t whysize)
{
	o->control_set = true;
	o->control = v;
	return 0;
}

static int set_config(struct options *o, const char *v, char *why, size_t whysize)
{
	return set_nonempty(&o->config, v, "a file", why, whysize);
}

/* ---------------------------------------------------------------- the table */

#define FIELD(f) .off = offsetof(struct options, f), .size = sizeof(((struct options *)0)->f)
#define STR_(x) #x
#define STR(x) STR_(x)

/* Names and defaults are Knot's and NSD's where they have one. The help
 * text is written once, here: --help, shoal(8) and shoal.conf(5) all print
 * it. */
const struct option_def options_table[] = {
	{.name = "config", .short_name = 'c', .type = OPTION_CUSTOM, .scope = OPTION_SCOPE_CLI,
	 .arg = "FILE", .def_text = "/etc/shoal/shoal.conf when it exists", .parse = set_config,
	 .help = "Read the configuration file FILE (YAML; shoal.conf(5)). Flags given on the "
		 "command line override its server: settings."},
	{.name = "zones", .short_name = 'z', .type = OPTION_CUSTOM, .scope = OPTION_SCOPE_CLI,
	 .reload = OPTION_ON_RELOAD, .arg = "DIR",
	 .def_text = "/etc/shoal/zones when no configuration file is read", .parse = set_zones,
	 .help = "Serve every DIR/<origin>.zone file, alone or beside the zones of the "
		 "configuration file (a zone defined both ways is an error)."},
	{.name = "listen", .short_name = 'l', .type = OPTION_ADDRS, .arg = "ADDR:PORT",
	 .def_text = "0.0.0.0:53 and [::]:53",
	 .help = "Listen on UDP and TCP at this address; repeatable (a list in the file); "
		 "IPv6 as [::1]:53, Knot's ADDR@PORT too, port 53 when left out."},
	{.name = "threads", .short_name = 't', .type = OPTION_UINT, .arg = "N",
	 .def_text = "the number of CPUs", .min = 1, .max = THREADS_MAX, FIELD(threads),
	 .help = "Worker threads per protocol: N UDP sockets per address and N TCP workers."},
	{.name = "user", .short_name = 'u', .type = OPTION_STRING, .arg = "NAME",
	 .def_text = "shoal when that user exists, else nobody", FIELD(user),
	 .help = "When started as root, drop to this user (and its group) after binding."},
	{.name = "chroot", .type = OPTION_STRING, .arg = "DIR", FIELD(chroot_dir),
	 .help = "When started as root, chroot to DIR after binding."},
	{.name = "allow-root", .type = OPTION_BOOL, FIELD(allow_root),
	 .help = "Keep running as root (not recommended)."},
	{.name = "control", .type = OPTION_CUSTOM, .arg = "PATH",
	 .def = "/run/shoal/shoal.sock", .parse = set_control,
	 .help = "The control socket shoalctl(8) talks to (mode 0660, owned by the user the "
		 "server runs as); \"none\" for no control channel. The default is skipped with "
		 "a warning when it cannot be created; a path given explicitly must work."},
	{.name = "pidfile", .type = OPTION_STRING, .arg = "FILE", FIELD(pidfile),
	 .help = "Write the process id to FILE."},
	{.name = "edns-size", .type = OPTION_UINT, .arg = "N", .def = STR(EDNS_SIZE_DEFAULT),
	 .min = DNS_UDP_MIN, .max = EDNS_SIZE_MAX, FIELD(edns_size),
	 .group = "Answers", .help = "Our EDNS UDP payload size (RFC 6891)."},
	{.name = "nsid", .type = OPTION_CUSTOM, .arg = "TEXT", .parse = set_nsid,
	 .help = "Answer the EDNS NSID option (RFC 5001) with TEXT; 0xHEX for bytes."},
	{.name = "identity", .type = OPTION_STRING, .arg = "TEXT", .def_text = "the host name",
	 FIELD(identity), .help = "The id.server and hostname.bind CH TXT answer."},
	{.name = "hide-identity", .type = OPTION_BOOL, FIELD(hide_identity),
	 .help = "Refuse id.server and hostname.bind."},
	{.name = "version-string", .type = OPTION_STRING, .arg = "TEXT",
	 .def_text = "\"shoal " SHOAL_VERSION "\"", FIELD(version),
	 .help = "The version.bind and version.server CH TXT answer."},
	{.name = "hide-version", .type = OPTION_BOOL, FIELD(hide_version),
	 .help = "Refuse version.bind and version.server."},
	{.name = "tcp-idle-timeout", .type = OPTION_UINT, .arg = "S", .def = "10", .min = 1,
	 .max = 3600, .scale = 1000, FIELD(tcp_idle_ms), .group = "TCP",
	 .help = "Close a TCP connection idle for S seconds."},
	{.name = "tcp-max-conns", .type = OPTION_UINT, .arg = "N", .def = "1024", .min = 1,
	 .max = 1000000, FIELD(tcp_max_conns), .help = "TCP connections per worker."},
	{.name = "transfers-out", .type = OPTION_UINT, .reload = OPTION_ON_RELOAD, .arg = "N",
	 .def = "10", .min = 1, .max = 10000, FIELD(xfr_max), .group = "Zone transfers",
	 .help = "Outgoing zone transfers (AXFR, IXFR) at once; more are refused. A transfer "
		 "that stops reading for tcp-idle-timeout is closed."},
	{.name = "transfers-in", .type = OPTION_UINT, .arg = "N", .def = "4", .min = 1, .max = 256,
	 FIELD(xfr_in_threads),
	 .help = "Threads that refresh secondary zones (SOA checks, IXFR, AXFR) at once."},
	{.name = "notify-tries", .type = OPTION_UINT, .arg = "N", .def = "5", .min = 1, .max = 100,
	 FIELD(notify_tries),
	 .help = "NOTIFY messages sent per zone change and remote until one is answered; "
		 "NOTIMP and REFUSED end the tries."},
	{.name = "notify-interval", .type = OPTION_UINT, .arg = "S", .def = "2", .min = 1,
	 .max = 3600, .scale = 1000, FIELD(notify_interval_ms),
	 .help = "Seconds between two NOTIFY tries."},
	{.name = "log-level", .type = OPTION_CHOICE, .reload = OPTION_ON_RELOAD, .arg = "LEVEL",
	 .def = "info", .choices = "err|warn|info|debug", FIELD(log_level),
	 .group = "Logs and statistics", .help = "Log messages up to this level."},
	{.name = "syslog", .type = OPTION_BOOL, FIELD(syslog),
	 .help = "Log to syslog instead of standard error."},
	{.name = "stats-interval", .type = OPTION_UINT, .reload = OPTION_ON_RELOAD, .arg = "S",
	 .def = "0", .min = 0, .max = 86400, FIELD(stats_interval),
	 .help = "Log a statistics line every S seconds; 0: never."},
	{.name = "metrics", .type = OPTION_CUSTOM, .arg = "ADDR:PORT", .parse = set_metrics,
	 .help = "Serve Prometheus metrics over HTTP at http://ADDR:PORT/metrics."},
	{.name = "socket-mode", .type = OPTION_CHOICE, .arg = "MODE", .def = "reuseport",
	 .choices = "reuseport|shared", FIELD(socket_mode), .group = "Sockets and steering",
	 .help = "reuseport: one SO_REUSEPORT socket per worker; shared: one socket per "
		 "address read by every worker."},
	{.name = "steer", .type = OPTION_CUSTOM, .arg = "HOW", .def = "random", .parse = set_steer,
	 .help = "Which worker's socket gets a datagram: random (even for any number of "
		 "flows), hash (the kernel's 4-tuple hash), cpu (the receiving CPU's; needs "
		 "cpu-affinity)."},
	{.name = "cpu-affinity", .type = OPTION_BOOL, FIELD(cpu_affinity),
	 .help = "Pin worker i to the i-th CPU this process may use."},
	{.name = "rrl-rate", .type = OPTION_UINT, .arg = "N", .def = "0", .min = 0,
	 .max = RRL_RATE_MAX, FIELD(rrl_rate), .group = "Response rate limiting (UDP only)",
	 .help = "Responses per second per client network, answer kind and name; 0: off."},
	{.name = "rrl-slip", .type = OPTION_UINT, .arg = "N", .def = "2", .min = 0, .max = 100,
	 FIELD(rrl_slip),
	 .help = "Send one limited response in N truncated (TC=1) so real clients retry over "
		 "TCP; 0: drop them all."},
	{.name = "rrl-window", .type = OPTION_UINT, .arg = "S", .def = "2", .min = 1,
	 .max = RRL_WINDOW_MAX, FIELD(rrl_window),
	 .help = "Seconds of unused rate a bucket saves for a burst."},
	{.name = "rrl-table-size", .type = OPTION_UINT, .arg = "N", .def = "1048576",
	 .min = RRL_WAYS, .max = RRL_SIZE_MAX, FIELD(rrl_table_size),
	 .help = "Buckets, 8 octets each, rounded up to a power of two."},
	{.name = "rrl-ipv4-prefix", .type = OPTION_UINT, .arg = "N", .def = "24", .min = 0,
	 .max = 32, FIELD(rrl_v4_prefix), .help = "Client network prefix length, IPv4."},
	{.name = "rrl-ipv6-prefix", .type = OPTION_UINT, .arg = "N", .def = "56", .min = 0,
	 .max = 128, FIELD(rrl_v6_prefix), .help = "Client network prefix length, IPv6."},
	{.name = "cookie-secret", .type = OPTION_CUSTOM, .arg = "HEX", .def_text = "random at start",
	 .parse = set_cookie_secret, .group = "DNS cookies (RFC 7873, RFC 9018)",
	 .help = "The 16-octet server secret as 32 hex digits."},
	{.name = "cookie-secret-file", .type = OPTION_STRING, .arg = "FILE",
	 FIELD(cookie_secret_file),
	 .help = "Read the secret from FILE, again on every reload; the previous secret stays "
		 "valid until the next change."},
	{.name = "rrsig-expiry-warning", .type = OPTION_UINT, .reload = OPTION_ON_RELOAD,
	 .arg = "H", .def = "48", .min = 0, .max = 8760, .scale = 3600,
	 FIELD(rrsig_expiry_warning), .group = "DNSSEC",
	 .help = "When a zone loads, warn about each RRSIG that has expired or expires within H "
		 "hours (it is served all the same); 0: only expired ones."},
	{.name = "check", .type = OPTION_BOOL, .scope = OPTION_SCOPE_CLI, FIELD(check_only),
	 .group = "Commands",
	 .help = "Check the configuration and load every zone, report, exit: 1 on errors, 0 "
		 "otherwise (warnings are printed)."},
	{.name = "replace", .type = OPTION_CUSTOM, .scope = OPTION_SCOPE_CLI, .arg = "PID|FILE",
	 .parse = set_replace,
	 .help = "Take over the port from a running shoal of the same user: serve, then send "
		 "it TERM; it drains its queues and exits."},
	{.name = "help", .short_name = 'h', .type = OPTION_BOOL, .scope = OPTION_SCOPE_CLI,
	 .help = "Print this text."},
	{.name = "version", .short_name = 'V', .type = OPTION_BOOL, .scope = OPTION_SCOPE_CLI,
	 .help = "Print the version."},
	{.name = NULL},
};

const struct option_def *options_find(const char *name)
{
	for (const struct option_def *d = options_table; d->name; d++)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

size_t options_suggest_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[64];
	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	/* Levenshtein, one row at a time */
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	/* "thread" is near "threads"; "via" is not near "id" */
	size_t limit = (la + 2) / 3;
	return row[lb] <= (limit ? limit : 1) ? row[lb] : SIZE_MAX;
}

const char *options_nearest(const char *name, bool file_only)
{
	const char *best = NULL;
	size_t bd = SIZE_MAX;
	for (const struct option_def *d = options_table; d->name; d++) {
		if (file_only && d->scope == OPTION_SCOPE_CLI)
			continue;
		size_t e = options_suggest_distance(name, d->name);
		if (e < bd) {
			bd = e;
			best = d->name;
		}
	}
	return best;
}

static void store_uint(struct options *o, const struct option_def *d, unsigned long v)
{
	void *p = (char *)o + d->off;
	switch (d->size) {
	case 1: {
		uint8_t x = (uint8_t)v;
		memcpy(p, &x, 1);
		break;
	}
	case 2: {
		uint16_t x = (uint16_t)v;
		memcpy(p, &x, 2);
		break;
	}
	case 4: {
		uint32_t x = (uint32_t)v;
		memcpy(p, &x, 4);
		break;
	}
	default: {
		uint64_t x = v;
		memcpy(p, &x, 8);
		break;
	}
	}
}

static unsigned long load_uint(const struct options *o, const struct option_def *d)
{
	const void *p = (const char *)o + d->off;
	switch (d->size) {
	case 1: {
		uint8_t x;
		memcpy(&x, p, 1);
		return x;
	}
	case 2: {
		uint16_t x;
		memcpy(&x, p, 2);
		return x;
	}
	case 4: {
		uint32_t x;
		memcpy(&x, p, 4);
		return x;
	}
	default: {
		uint64_t x;
		memcpy(&x, p, 8);
		return (unsigned long)x;
	}
	}
}

/* The index of word `v` in "a|b|c", or -1. */
static int choice_index(const char *choices, const char *v)
{
	size_t vl = strlen(v);
	int i = 0;
	for (const char *c = choices; *c; i++) {
		size_t l = strcspn(c, "|");
		if (l == vl && strncmp(c, v, l) == 0)
			return i;
		c += l + (c[l] == '|');
	}
	return -1;
}

/* "a, b or c" from "a|b|c". */
static void choice_list(const char *choices, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = 0;
	for (const char *c = choices; *c && n < size;) {
		size_t l = strcspn(c, "|");
		const char *sep = c[l] != '|' ? "" : strchr(c + l + 1, '|') ? ", " : " or ";
		n += (size_t)snprintf(buf + n, size - n, "%.*s%s", (int)l, c, sep);
		c += l + (c[l] == '|');
	}
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

int options_set(struct options *o, const struct option_def *d, const char *v, char *why,
		size_t whysize)
{
	unsigned long n;
	switch (d->type) {
	case OPTION_BOOL: {
		bool b;
		if (parse_bool(v, &b) < 0) {
			snprintf(why, whysize, "expected yes or no");
			return -1;
		}
		if (d->size)
			memcpy((char *)o + d->off, &b, sizeof(b));
		return 0;
	}
	case OPTION_UINT:
		if (parse_uint(v, d->min, d->max, &n) < 0) {
			snprintf(why, whysize, "expected a number from %lu to %lu", d->min, d->max);
			return -1;
		}
		store_uint(o, d, n * (d->scale ? d->scale : 1));
		return 0;
	case OPTION_STRING:
		memcpy((char *)o + d->off, &v, sizeof(v));
		return 0;
	case OPTION_CHOICE: {
		int i = choice_index(d->choices, v);
		if (i < 0) {
			char list[128];
			choice_list(d->choices, list, sizeof(list));
			snprintf(why, whysize, "expected %s", list);
			return -1;
		}
		int x = i;
		memcpy((char *)o + d->off, &x, sizeof(x));
		return 0;
	}
	case OPTION_ADDR:
	case OPTION_ADDRS:
		/* listen is the only address list; metrics is a custom row */
		if (o->nlisten == LISTEN_MAX) {
			snprintf(why, whysize, "at most %d addresses", LISTEN_MAX);
			return -1;
		}
		if (options_parse_addr(v, 53, &o->listen[o->nlisten]) < 0) {
			snprintf(why, whysize, "not an address (use 127.0.0.1:5353 or [::1]:5353)");
			return -1;
		}
		o->nlisten++;
		return 0;
	case OPTION_CUSTOM:
		return d->parse(o, v, why, whysize);
	}
	return -1;
}

void options_clear_list(struct options *o, const struct option_def *d)
{
	if (d->type == OPTION_ADDRS)
		o->nlisten = 0;
}

void options_defaults(struct options *o)
{
	char why[256];
	memset(o, 0, sizeof(*o));
	for (const struct option_def *d = options_table; d->name; d++) {
		if (d->def && options_set(o, d, d->def, why, sizeof(why)) < 0)
			abort(); /* a default the table's own parser refuses: a bug in the table */
	}
	o->steer_set = false; /* the default is not a choice the user made */
	o->control_set = false;
	o->zones_dir = "/etc/shoal/zones";
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	o->threads = ncpu > 0 ? (unsigned)(ncpu > THREADS_MAX ? THREADS_MAX : ncpu) : 1;
}

int options_finish(struct options *o, char *err, size_t errsize)
{
	if (o->steer == STEER_CPU && !o->cpu_affinity) {
		snprintf(err, errsize, "--steer cpu needs --cpu-affinity (a worker per CPU to steer to)");
		return -1;
	}
	if (o->socket_mode == SOCKET_MODE_SHARED && o->steer_set) {
		snprintf(err, errsize,
			 "--steer applies to --socket-mode reuseport (a shared socket has nothing to steer between)");
		return -1;
	}
	if (o->cookie_secret && o->cookie_secret_file) {
		snprintf(err, errsize, "--cookie-secret and --cookie-secret-file: give one");
		return -1;
	}
	if (o->nlisten == 0) {
		options_parse_addr("0.0.0.0:53", 53, &o->listen[0]);
		options_parse_addr("[::]:53", 53, &o->listen[1]);
		o->nlisten = 2;
	}
	return 0;
}

bool options_differ(const struct options *a, const struct options *b, const struct option_def *d)
{
	char x[LISTEN_MAX * 80], y[LISTEN_MAX * 80];
	options_format(a, d, x, sizeof(x));
	options_format(b, d, y, sizeof(y));
	return strcmp(x, y) != 0;
}

void options_format(const struct options *o, const struct option_def *d, char *buf, size_t size)
{
	const char *str = NULL;
	buf[0] = 0;
	if (!strcmp(d->name, "listen")) {
		size_t n = 0;
		for (unsigned i = 0; i < o->nlisten && n < size; i++)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? " " : "", o->listen[i].text);
		return;
	}
	if (d->type == OPTION_CUSTOM) {
		/* the rows whose value is a string the user wrote */
		static const struct {
			const char *name;
			size_t off;
		} src[] = {
			{"config", offsetof(struct options, config)},
			{"zones", offsetof(struct options, zones_dir)},
			{"control", offsetof(struct options, control)},
			{"nsid", offsetof(struct options, nsid)},
			{"metrics", offsetof(struct options, metrics)},
			{"cookie-secret", offsetof(struct options, cookie_secret)},
			{"replace", offsetof(struct options, replace)},
		};
		for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++)
			if (!strcmp(d->name, src[i].name))
				memcpy(&str, (const char *)o + src[i].off, sizeof(str));
		if (!strcmp(d->name, "steer")) {
			static const char *const names[] = {"hash", "cpu", "random"};
			str = names[o->steer];
		}
		snprintf(buf, size, "%s", str ? str : "");
		return;
	}
	if (!d->size)
		return;
	switch (d->type) {
	case OPTION_BOOL: {
		bool b;
		memcpy(&b, (const char *)o + d->off, sizeof(b));
		snprintf(buf, size, "%s", b ? "yes" : "no");
		break;
	}
	case OPTION_UINT:
		snprintf(buf, size, "%lu", load_uint(o, d) / (d->scale ? d->scale : 1));
		break;
	case OPTION_STRING:
		memcpy(&str, (const char *)o + d->off, sizeof(str));
		snprintf(buf, size, "%s", str ? str : "");
		break;
	case OPTION_CHOICE: {
		int i;
		memcpy(&i, (const char *)o + d->off, sizeof(i));
		const char *c = d->choices;
		for (; i > 0 && *c; i--)
			c += strcspn(c, "|") + 1;
		snprintf(buf, size, "%.*s", (int)strcspn(c, "|"), c);
		break;
	}
	default:
		break;
	}
}

/* ---------------------------------------------------------------- help */

/* `text` wrapped to `width` columns, every line after the first indented
 * by `indent`; the first line starts at column `col`. */
static void wrap(FILE *f, const char *text, unsigned col, unsigned indent, unsigned width)
{
	const char *p = text;
	while (*p) {
		size_t w = strcspn(p, " ");
		if (col > indent && col + 1 + w > width) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", (int)w, p);
		col += (unsigned)w;
		p += w;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

static void default_text(const struct option_def *d, char *buf, size_t size)
{
	buf[0] = 0;
	if (d->def_text)
		snprintf(buf, size, "%s", d->def_text);
	else if (d->def)
		snprintf(buf, size, "%s", d->def);
}

void options_usage(FILE *f)
{
	char only[256] = "", intro[512];
	size_t used = 0;
	for (const struct option_def *d = options_table; d->name; d++)
		if (d->scope == OPTION_SCOPE_CLI && used < sizeof(only))
			used += (size_t)snprintf(only + used, sizeof(only) - used, "%s--%s",
						 used ? ", " : "", d->name);
	fprintf(f, "Usage: shoal [OPTIONS]\n"
		   "An authoritative DNS server: zones from a configuration file (shoal.conf(5)) or\n"
		   "a directory, answered from memory by one UDP and one TCP worker per thread on\n"
		   "SO_REUSEPORT sockets.\n");
	snprintf(intro, sizeof(intro),
		 "Every option except %s is also a key of the configuration file's server: "
		 "section, with the same name; the command line overrides the file.",
		 only);
	wrap(f, intro, 0, 0, 79);
	fputc('\n', f);
	for (const struct option_def *d = options_table; d->name; d++) {
		if (d->group)
			fprintf(f, "%s:\n", d->group);
		char head[80], def[160], text[1024];
		int n = snprintf(head, sizeof(head), "  %c%c%s--%s%s%s", d->short_name ? '-' : ' ',
				 d->short_name ? d->short_name : ' ', d->short_name ? ", " : "  ",
				 d->name, d->arg ? " " : "", d->arg ? d->arg : "");
		default_text(d, def, sizeof(def));
		snprintf(text, sizeof(text), "%s%s%s%s%s", d->help, def[0] ? " (default: " : "", def,
			 def[0] ? ")" : "",
			 d->reload == OPTION_ON_RELOAD && d->scope != OPTION_SCOPE_CLI
				 ? " Applies on reload."
				 : "");
		fputs(head, f);
		if (n >= 25) { /* at least two blanks before the text */
			fprintf(f, "\n%*s", 26, "");
			n = 26;
		} else {
			fprintf(f, "%*s", 26 - n, "");
			n = 26;
		}
		wrap(f, text, (unsigned)n, 26, 79);
	}
	fprintf(f, "\nSignals: HUP reloads (as `shoalctl reload`: the configuration file and the\n"
		   "zones whose files changed; a zone that fails keeps its old version). TERM or\n"
		   "INT stop the server: it stops taking new queries, answers those already\n"
		   "queued, and exits. Exit status: 0, 1 when zones or the start failed, 2 for bad\n"
		   "options or configuration.\n");
}

/* roff-escape `s` (backslashes and leading dots; '-' as \-). */
static void roff(FILE *f, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", f);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", f);
		else if (*s == '-')
			fputs("\\-", f);
		else
			fputc(*s, f);
	}
}

void options_man(FILE *f, bool cli)
{
	for (const struct option_def *d = options_table; d->name; d++) {
		if (!cli && d->scope == OPTION_SCOPE_CLI)
			continue;
		char def[160];
		if (d->group && cli) {
			fputs(".SS ", f);
			roff(f, d->group);
			fputc('\n', f);
		}
		fputs(".TP\n", f);
		if (cli) {
			if (d->short_name)
				fprintf(f, "\\fB\\-%c\\fR, ", d->short_name);
			fputs("\\fB\\-\\-", f);
			roff(f, d->name);
			fputs("\\fR", f);
		} else {
			fputs("\\fB", f);
			roff(f, d->name);
			fputs(":\\fR", f);
		}
		if (d->arg) {
			fputs(" \\fI", f);
			roff(f, d->arg);
			fputs("\\fR", f);
		} else if (!cli) {
			fputs(" \\fIyes\\fR|\\fIno\\fR", f);
		}
		fputc('\n', f);
		roff(f, d->help);
		default_text(d, def, sizeof(def));
		if (def[0]) {
			fputs(" Default: ", f);
			roff(f, def);
			fputc('.', f);
		}
		if (d->scope != OPTION_SCOPE_CLI)
			fputs(d->reload == OPTION_ON_RELOAD ? " A reload applies a change."
							    : " A change takes effect at the next start.",
			      f);
		if (cli && d->scope != OPTION_SCOPE_CLI)
			fprintf(f, " File: \\fBserver.%s\\fR.", d->name);
		fputc('\n', f);
	}
}

/* ---------------------------------------------------------------- argv */

/* getopt's code for row i: its short letter, or 256 + i. */
static int opt_code(size_t i)
{
	return options_table[i].short_name ? options_table[i].short_name : 256 + (int)i;
}

enum options_result options_apply_argv(struct options *o, int argc, char **argv, char *err,
				       size_t errsize)
{
	enum { NOPT = sizeof(options_table) / sizeof(options_table[0]) };
	struct option longopts[NOPT];
	char shortopts[2 * NOPT + 2] = ":";
	bool list_seen[NOPT];
	size_t ns = 1, n = 0;
	char why[256];
	int c, idx;

	memset(list_seen, 0, sizeof(list_seen));
	for (size_t i = 0; options_table[i].name; i++, n++) {
		const struct option_def *d = &options_table[i];
		longopts[n] = (struct option){d->name,
					      d->type == OPTION_BOOL ? optional_argument
								     : required_argument,
					      NULL, opt_code(i)};
		if (d->short_name) {
			shortopts[ns++] = d->short_name;
			if (d->type != OPTION_BOOL)
				shortopts[ns++] = ':';
		}
	}
	longopts[n] = (struct option){NULL, 0, NULL, 0};
	shortopts[ns] = 0;

	opterr = 0;
	optind = 0; /* 0: glibc reinitialises getopt fully, so a second call parses afresh */
	while ((c = getopt_long(argc, argv, shortopts, longopts, &idx)) != -1) {
		const struct option_def *d = NULL;
		size_t i;
		for (i = 0; options_table[i].name; i++)
			if (opt_code(i) == c) {
				d = &options_table[i];
				break;
			}
		if (!d) {
			if (c == ':')
				snprintf(err, errsize, "%s: missing argument", argv[optind - 1]);
			else
				snprintf(err, errsize, "unknown option %s (see --help)",
					 argv[optind - 1]);
			return OPTIONS_ERROR;
		}
		const char *v = d->type == OPTION_BOOL ? (optarg ? optarg : "yes") : optarg;
		if (!strcmp(d->name, "help") && strcmp(v, "no")) {
			options_usage(stdout);
			return OPTIONS_EXIT_OK;
		}
		if (!strcmp(d->name, "version") && strcmp(v, "no")) {
			printf("shoal %s (ldns %s)\n", SHOAL_VERSION, ldns_version());
			return OPTIONS_EXIT_OK;
		}
		if (d->type == OPTION_ADDRS && !list_seen[i]) {
			options_clear_list(o, d); /* the command line's list replaces the file's */
			list_seen[i] = true;
		}
		if (options_set(o, d, v, why, sizeof(why)) < 0) {
			if (d->type == OPTION_BOOL)
				snprintf(err, errsize, "--%s=%s: %s", d->name, v, why);
			else
				snprintf(err, errsize, "--%s %s: %s", d->name, v, why);
			return OPTIONS_ERROR;
		}
	}
	if (optind < argc) {
		snprintf(err, errsize, "unexpected argument '%s' (see --help)", argv[optind]);
		return OPTIONS_ERROR;
	}
	return OPTIONS_OK;
}

enum options_result options_parse(struct options *o, int argc, char **argv, char *err,
				  size_t errsize)
{
	options_defaults(o);
	enum options_result r = options_apply_argv(o, argc, argv, err, errsize);
	if (r != OPTIONS_OK)
		return r;
	return options_finish(o, err, errsize) < 0 ? OPTIONS_ERROR : OPTIONS_OK;
}
