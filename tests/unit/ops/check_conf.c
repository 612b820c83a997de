/* check_conf.c: the configuration file (src/ops/conf.c), and its server:
 * section against the command line (src/ops/options.c).
 *
 * Every message is compared whole ("file:line:column: reason"), so a
 * column off by one fails. Files are read from memory with conf_load_buf
 * under the name "t.conf" (or a path, where the folder matters). */
#include <arpa/inet.h>
#include <check.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "ops/conf.h"
#include "ops/options.h"
#include "unit.h"

/* ---------------------------------------------------------------- helpers */

#define MSGS_MAX 64

/* What the diag callback was given, in order. */
static struct {
	unsigned n;
	char msg[MSGS_MAX][1200];
} D;

static void diag(void *ctx, const char *msg)
{
	(void)ctx;
	if (D.n < MSGS_MAX)
		snprintf(D.msg[D.n], sizeof(D.msg[D.n]), "%s", msg);
	D.n++;
}

static void dump(void)
{
	for (unsigned i = 0; i < D.n && i < MSGS_MAX; i++)
		fprintf(stderr, "  msg %u: %s\n", i, D.msg[i]);
}

/* conf_load_buf of `len` octets of `text`, named `name` in messages. */
static int load_n(const char *name, const char *text, size_t len, struct conf **out)
{
	memset(&D, 0, sizeof(D));
	int r = conf_load_buf(name, text, len, diag, NULL, out);
	/* the contract: a configuration exactly when there was no message */
	ck_assert_int_eq(r == 0, *out != NULL);
	if (r == 0 && D.n) {
		dump();
		ck_abort_msg("success with %u messages", D.n);
	}
	if (r < 0)
		ck_assert_uint_ge(D.n, 1);
	return r;
}

/* `text` must load without a message. */
static struct conf *load_named(const char *name, const char *text)
{
	struct conf *c = NULL;
	if (load_n(name, text, strlen(text), &c) < 0) {
		dump();
		ck_abort_msg("'%s' did not load: %s", text, D.msg[0]);
	}
	return c;
}

static struct conf *load_ok(const char *text)
{
	return load_named("t.conf", text);
}

/* `text` (`len` octets) must fail with exactly the messages given (NULL
 * ends the list), in that order. */
static void expect_errors_n(const char *text, size_t len, ...)
{
	struct conf *c = NULL;
	ck_assert_int_eq(load_n("t.conf", text, len, &c), -1);
	ck_assert_ptr_null(c);
	va_list ap;
	va_start(ap, len);
	unsigned i = 0;
	for (const char *want = va_arg(ap, const char *); want;
	     want = va_arg(ap, const char *), i++) {
		if (i >= D.n || strcmp(D.msg[i], want) != 0) {
			dump();
			ck_abort_msg("message %u of '%s':\n  got  '%s'\n  want '%s'", i, text,
			             i < D.n ? D.msg[i] : "(none)", want);
		}
	}
	va_end(ap);
	if (D.n != i) {
		dump();
		ck_abort_msg("'%s': %u messages, expected %u", text, D.n, i);
	}
}

#define expect_errors(text, ...) expect_errors_n((text), strlen(text), __VA_ARGS__, NULL)
#define expect_error(text, msg) expect_errors(text, msg)

static uint16_t port_of(const struct listen_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

/* argv for options_parse / options_apply_argv: "shoal" and the arguments
 * (NULL ends). Kept to the end of the process: options point into it. */
static char **argv_of(int *argc, const char *first, ...)
{
	static char *pool[4096];
	static size_t used;
	char **argv = pool + used;
	int n = 0;
	ck_assert_uint_lt(used + 66, sizeof(pool) / sizeof(pool[0]));
	argv[n++] = strdup("shoal");
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		ck_assert_int_lt(n, 63);
		argv[n++] = strdup(a);
	}
	va_end(ap);
	argv[n] = NULL;
	used += (size_t)n + 1;
	*argc = n;
	return argv;
}

static const char *format(const struct options *o, const struct option_def *d)
{
	static char buf[4][LISTEN_MAX * 80];
	static unsigned k;
	char *b = buf[k++ % 4];
	options_format(o, d, b, sizeof(buf[0]));
	return b;
}

/* ------------------------------------------------- server: against flags */

/* A valid value for row `d` that is not its default (`def`: the defaults). */
static const char *sample_value(const struct option_def *d, const struct options *def, char *buf,
                                size_t size)
{
	static const struct {
		const char *name, *value;
	} custom[] = {
	    {"control", "/run/test/shoal.sock"},
	    {"nsid", "0x6e7331"},
	    {"metrics", "127.0.0.1:9100"},
	    {"cookie-secret", "000102030405060708090a0b0c0d0e0f"},
	    {"steer", "hash"}, /* cpu would need cpu-affinity too */
	};
	switch (d->type) {
	case OPTION_BOOL:
		return "yes";
	case OPTION_UINT:
		for (unsigned long v = d->min + 1; v <= d->max; v++) {
			snprintf(buf, size, "%lu", v);
			if (strcmp(buf, format(def, d)) != 0)
				return buf;
		}
		break;
	case OPTION_CHOICE: {
		const char *last = strrchr(d->choices, '|');
		snprintf(buf, size, "%s", last ? last + 1 : d->choices);
		return buf;
	}
	case OPTION_STRING:
		snprintf(buf, size, "/srv/shoal/%s", d->name);
		return buf;
	case OPTION_ADDRS:
		return "192.0.2.1:5353 [2001:db8::1]:5353"; /* as options_format writes it */
	case OPTION_CUSTOM:
		for (size_t i = 0; i < sizeof(custom) / sizeof(custom[0]); i++)
			if (!strcmp(custom[i].name, d->name))
				return custom[i].value;
		break;
	case OPTION_ADDR:
		break;
	}
	ck_abort_msg("row %s: give check_conf.c a sample value for it", d->name);
	return NULL;
}

START_TEST(server_rows_match_flags)
{
	struct options def, cli;
	char err[512], val[256], text[1024];
	int argc;
	options_defaults(&def);
	ck_assert_int_eq(options_finish(&def, err, sizeof(err)), 0);
	unsigned rows = 0;
	for (const struct option_def *d = options_table; d->name; d++) {
		if (d->scope != OPTION_SCOPE_BOTH)
			continue;
		rows++;
		const char *v = sample_value(d, &def, val, sizeof(val));
		char **argv;
		if (d->type == OPTION_ADDRS) {
			argv = argv_of(&argc, "--listen", "192.0.2.1:5353", "--listen",
			               "[2001:db8::1]:5353", NULL);
			snprintf(
			    text, sizeof(text),
			    "server:\n  %s:\n    - 192.0.2.1:5353\n    - \"[2001:db8::1]:5353\"\n",
			    d->name);
		} else if (d->type == OPTION_BOOL) {
			char flag[128];
			snprintf(flag, sizeof(flag), "--%s", d->name);
			argv = argv_of(&argc, flag, NULL);
			snprintf(text, sizeof(text), "server:\n  %s: %s\n", d->name, v);
		} else {
			char flag[128];
			snprintf(flag, sizeof(flag), "--%s", d->name);
			argv = argv_of(&argc, flag, v, NULL);
			snprintf(text, sizeof(text), "server:\n  %s: %s\n", d->name, v);
		}
		err[0] = 0;
		ck_assert_msg(options_parse(&cli, argc, argv, err, sizeof(err)) == OPTIONS_OK,
		              "--%s %s: %s", d->name, v, err);
		struct conf *c = load_ok(text);
		struct options file = c->server;
		ck_assert_msg(options_finish(&file, err, sizeof(err)) == 0, "%s", err);
		/* the value itself, not a default or a neighbour */
		ck_assert_str_eq(format(&file, d), v);
		ck_assert_msg(strcmp(format(&def, d), v) != 0, "%s: %s is the default", d->name, v);
		/* and every other setting alike too */
		for (const struct option_def *e = options_table; e->name; e++) {
			if (e->scope != OPTION_SCOPE_BOTH)
				continue;
			ck_assert_msg(!strcmp(format(&cli, e), format(&file, e)),
			              "%s given: %s is '%s' by flag, '%s' by file", d->name,
			              e->name, format(&cli, e), format(&file, e));
			ck_assert_msg(c->server_set[e - options_table] == (e == d),
			              "%s given: server_set[%s] wrong", d->name, e->name);
		}
		conf_free(c);
	}
	ck_assert_uint_ge(rows, 25);
}
END_TEST

START_TEST(flag_overrides_file)
{
	struct conf *c = load_ok("server:\n"
	                         "  threads: 3\n"
	                         "  hide-version: yes\n"
	                         "  log-level: debug\n"
	                         "  listen: [192.0.2.1:5353, \"[2001:db8::1]:5353\"]\n");
	char err[512] = "";
	int argc;
	struct options o = c->server;
	char **argv = argv_of(&argc, "--threads", "5", "--hide-version=no", "--listen",
	                      "127.0.0.1:5300", NULL);
	ck_assert_int_eq(options_apply_argv(&o, argc, argv, err, sizeof(err)), OPTIONS_OK);
	ck_assert_uint_eq(o.threads, 5);
	ck_assert(!o.hide_version);
	ck_assert_str_eq(format(&o, options_find("log-level")), "debug"); /* the file's */
	/* --listen replaces the file's list, it does not append to it */
	ck_assert_uint_eq(o.nlisten, 1);
	ck_assert_str_eq(o.listen[0].text, "127.0.0.1:5300");

	/* twice on the command line: both, still without the file's */
	o = c->server;
	argv = argv_of(&argc, "--listen", "127.0.0.1:5300", "-l", "[::1]:5300", NULL);
	ck_assert_int_eq(options_apply_argv(&o, argc, argv, err, sizeof(err)), OPTIONS_OK);
	ck_assert_uint_eq(o.nlisten, 2);
	ck_assert_str_eq(o.listen[0].text, "127.0.0.1:5300");
	ck_assert_str_eq(o.listen[1].text, "[::1]:5300");
	ck_assert_uint_eq(o.threads, 3);

	/* no --listen: the file's list stays */
	o = c->server;
	argv = argv_of(&argc, "--threads", "4", NULL);
	ck_assert_int_eq(options_apply_argv(&o, argc, argv, err, sizeof(err)), OPTIONS_OK);
	ck_assert_int_eq(options_finish(&o, err, sizeof(err)), 0);
	ck_assert_uint_eq(o.nlisten, 2);
	ck_assert_str_eq(o.listen[0].text, "192.0.2.1:5353");
	ck_assert_str_eq(o.listen[1].text, "[2001:db8::1]:5353");
	ck_assert_uint_eq(port_of(&o.listen[1]), 5353);
	ck_assert_int_eq(o.listen[1].ss.ss_family, AF_INET6);
	ck_assert(o.hide_version);
	conf_free(c);
}
END_TEST

START_TEST(empty_file)
{
	struct options def;
	options_defaults(&def);
	static const char *const empties[] = {
	    "",      "\n\n",       "# nothing but a comment\n",
	    "---\n", "---\n...\n", "server:\nkey:\nremote:\nacl:\ntemplate:\nzone:\n",
	};
	for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		struct conf *c = load_ok(empties[i]);
		ck_assert_uint_eq(c->nzones, 0);
		ck_assert_uint_eq(c->nkeys, 0);
		ck_assert_uint_eq(c->nremotes, 0);
		ck_assert_uint_eq(c->nacls, 0);
		ck_assert_uint_eq(c->ntemplates, 0);
		ck_assert_str_eq(c->path, "t.conf");
		for (const struct option_def *d = options_table; d->name; d++) {
			ck_assert_str_eq(format(&c->server, d), format(&def, d));
			ck_assert(!c->server_set[d - options_table]);
		}
		conf_free(c);
	}
}
END_TEST

/* ---------------------------------------------------------------- bad files */

START_TEST(yaml_syntax)
{
	expect_error("server:\n  a: b: c\n",
	             "t.conf:2:7: YAML: mapping values are not allowed in this context");
	expect_error("server: {threads: 2\n",
	             "t.conf:2:1: YAML: did not find expected ',' or '}' while parsing a flow "
	             "mapping");
	expect_error("server:\n  threads: 2\n\t\n",
	             "t.conf:3:1: YAML: found a tab character that violates indentation while "
	             "scanning a plain scalar");
	expect_error("zone:\n  - domain: example.com\n - domain: example.net\n",
	             "t.conf:3:2: YAML: did not find expected key while parsing a block mapping");
	/* the reader's errors carry an offset, not a mark */
	expect_error("server:\n  user: \xc3\xa9\xff\n",
	             "t.conf:2:10: YAML: invalid leading UTF-8 octet");
	expect_error("server:\n  user: a\x01z\n",
	             "t.conf:2:10: YAML: control characters are not allowed");
	expect_error("\xef\xbb\xbfserver:\r\n  user: a\x01z\r\n",
	             "t.conf:2:10: YAML: control characters are not allowed");
	/* a NUL octet in the file is one too */
	expect_errors_n("server:\n  user: a\0z\n", 20,
	                "t.conf:2:10: YAML: control characters are not allowed", NULL);
}
END_TEST

START_TEST(unknown_names)
{
	expect_error("servr:\n  threads: 2\n",
	             "t.conf:1:1: configuration: unknown key 'servr' (did you mean 'server'?)");
	expect_error("zones:\n  - domain: example.com\n",
	             "t.conf:1:1: configuration: unknown key 'zones' (did you mean 'zone'?)");
	expect_error("server:\n  thread: 2\n",
	             "t.conf:2:3: server: unknown key 'thread' (did you mean 'threads'?)");
	expect_error("server:\n  edns_size: 1232\n",
	             "t.conf:2:3: server: unknown key 'edns_size' (did you mean 'edns-size'?)");
	expect_error("server:\n  completely-unrelated-name: 1\n",
	             "t.conf:2:3: server: unknown key 'completely-unrelated-name'");
	expect_error("zone:\n  - domain: example.com\n    fiel: x.zone\n",
	             "t.conf:3:5: zone: unknown key 'fiel' (did you mean 'file'?)");
	expect_errors("key:\n  - id: k\n    algoritm: hmac-sha256\n    secret: AAAA\n",
	              "t.conf:3:5: key: unknown key 'algoritm' (did you mean 'algorithm'?)",
	              "t.conf:2:5: key 'k': no algorithm");
	/* the command line's own options are not settings of the file */
	expect_errors("server:\n  check: yes\n  config: /etc/shoal/other.conf\n  zones: /srv\n",
	              "t.conf:2:3: server: 'check' is a command-line option, not a setting of the "
	              "file",
	              "t.conf:3:3: server: 'config' is a command-line option, not a setting of the "
	              "file",
	              "t.conf:4:3: server: 'zones' is a command-line option, not a setting of the "
	              "file");
}
END_TEST

START_TEST(wrong_types)
{
	expect_error("server:\n  threads: [1, 2]\n",
	             "t.conf:2:12: threads: expected a single value, not a list");
	expect_error("server:\n  threads:\n    a: 1\n",
	             "t.conf:3:5: threads: expected a single value, not a mapping");
	expect_error("server: [threads]\n",
	             "t.conf:1:9: server: expected a mapping (key: value lines)");
	expect_error("zone:\n  domain: example.com\n",
	             "t.conf:2:3: zone: expected a list of entries (lines starting with '- ')");
	expect_error("zone:\n  - example.com\n",
	             "t.conf:2:5: zone: expected a mapping (domain: ..., file: ...)");
	expect_error("key:\n  - k\n", "t.conf:2:5: key: expected a mapping (key: value lines)");
	expect_error("- server\n",
	             "t.conf:1:1: configuration: expected a mapping (key: value lines)");
	expect_error("just words\n",
	             "t.conf:1:1: configuration: expected a mapping (key: value lines)");
	expect_error("server:\n  [a]: 1\n", "t.conf:2:3: server: a key must be a plain name");
	expect_error("server:\n  listen: []\n", "t.conf:2:11: server.listen: empty list");
	expect_error("server:\n  listen:\n    - [127.0.0.1]\n",
	             "t.conf:3:7: server.listen: expected a single value, not a list");
}
END_TEST

START_TEST(bad_values)
{
	expect_error("server:\n  threads: 0\n",
	             "t.conf:2:12: server.threads '0': expected a number from 1 to 256");
	expect_error("server:\n  threads: 257\n",
	             "t.conf:2:12: server.threads '257': expected a number from 1 to 256");
	expect_error("server:\n  threads: -1\n",
	             "t.conf:2:12: server.threads '-1': expected a number from 1 to 256");
	expect_error("server:\n  edns-size: 70000\n",
	             "t.conf:2:14: server.edns-size '70000': expected a number from 512 to 4096");
	expect_error("server:\n  log-level: loud\n",
	             "t.conf:2:14: server.log-level 'loud': expected err, warn, info or debug");
	expect_error("server:\n  socket-mode: many\n",
	             "t.conf:2:16: server.socket-mode 'many': expected reuseport or shared");
	expect_error("server:\n  steer: round-robin\n",
	             "t.conf:2:10: server.steer 'round-robin': expected hash, cpu or random");
	expect_error("server:\n  hide-version: maybe\n",
	             "t.conf:2:17: server.hide-version 'maybe': expected yes or no");
	expect_error("server:\n  listen: 1.2.3\n",
	             "t.conf:2:11: server.listen '1.2.3': not an address (use 127.0.0.1:5353 or "
	             "[::1]:5353)");
	expect_error("server:\n  listen:\n    - 127.0.0.1:53\n    - \"[::1]:x\"\n",
	             "t.conf:4:7: server.listen '[::1]:x': not an address (use 127.0.0.1:5353 or "
	             "[::1]:5353)");
	expect_error("server:\n  metrics: nowhere\n",
	             "t.conf:2:12: server.metrics 'nowhere': not an address (use 127.0.0.1:9153)");
	expect_error("server:\n  nsid: 0x123\n",
	             "t.conf:2:9: server.nsid '0x123': expected 1-128 characters or 0x and an even "
	             "number of hex digits");
	expect_error("server:\n  cookie-secret: abcd\n",
	             "t.conf:2:18: server.cookie-secret 'abcd': expected 32 hex digits");
	/* LISTEN_MAX addresses at most: the one past them is named */
	char text[2048];
	size_t n = (size_t)snprintf(text, sizeof(text), "server:\n  listen:\n");
	for (int i = 0; i <= LISTEN_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "    - 127.0.0.%d:53\n", i + 1);
	char msg[256];
	snprintf(msg, sizeof(msg),
	         "t.conf:%d:7: server.listen '127.0.0.%d:53': at most %d addresses", LISTEN_MAX + 3,
	         LISTEN_MAX + 1, LISTEN_MAX);
	expect_error(text, msg);
	/* several in one file: every one, in order */
	expect_errors("server:\n  threads: 0\n  log-level: loud\n",
	              "t.conf:2:12: server.threads '0': expected a number from 1 to 256",
	              "t.conf:3:14: server.log-level 'loud': expected err, warn, info or debug");
}
END_TEST

START_TEST(missing_values)
{
	expect_error("server:\n  threads:\n", "t.conf:2:11: threads: missing value");
	expect_error("server:\n  threads: ~\n", "t.conf:2:12: threads: missing value");
	expect_error("server:\n  user: null\n", "t.conf:2:9: user: missing value");
	expect_error("zone:\n  - domain:\n", "t.conf:2:12: domain: missing value");
	expect_error("key:\n  - id: k\n    algorithm: hmac-sha256\n    secret:\n",
	             "t.conf:4:12: secret: missing value");
	/* entries without the key that names them */
	expect_error("zone:\n  - file: x.zone\n", "t.conf:2:5: zone: an entry without 'domain'");
	expect_error("template:\n  - file: x.zone\n",
	             "t.conf:2:5: template: an entry without 'id'");
	expect_error("remote:\n  - id: r\n", "t.conf:2:5: remote 'r': no address");
}
END_TEST

START_TEST(nul_characters)
{
	expect_error("server:\n  user: \"a\\0b\"\n",
	             "t.conf:2:9: user: the value holds a NUL character");
	/* a key that only a C string would read as "threads" */
	expect_error("server:\n  \"threads\\0x\": 2\n",
	             "t.conf:2:3: server: a key holds a NUL character");
	expect_error("\"zone\\0\":\n  - domain: example.com\n",
	             "t.conf:1:1: configuration: a key holds a NUL character");
}
END_TEST

START_TEST(duplicate_keys)
{
	static const char dup[] = "server:\n  threads: 2\n  threads: 3\n";
	expect_error(dup, "t.conf:3:3: server: 'threads' given twice (first at line 2)");
	/* which libyaml alone accepts: the check is ours */
	yaml_parser_t p;
	yaml_document_t doc;
	ck_assert(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *)dup, strlen(dup));
	ck_assert(yaml_parser_load(&p, &doc));
	ck_assert_ptr_nonnull(yaml_document_get_root_node(&doc));
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);

	expect_error("server:\n  threads: 2\nserver:\n  threads: 3\n",
	             "t.conf:3:1: configuration: 'server' given twice (first at line 1)");
	expect_error("zone:\n  - domain: a.example\n    file: a\n    file: b\n",
	             "t.conf:4:5: zone: 'file' given twice (first at line 3)");
	expect_error("server:\n  listen: 127.0.0.1\n  listen: \"[::1]\"\n",
	             "t.conf:3:3: server: 'listen' given twice (first at line 2)");
}
END_TEST

START_TEST(duplicate_entries)
{
	/* a zone twice, whatever the case or the final dot: both places named */
	expect_error("zone:\n  - domain: example.com\n  - domain: EXAMPLE.com.\n",
	             "t.conf:3:13: zone 'EXAMPLE.com.' defined twice (first at t.conf:2)");
	expect_error("key:\n  - id: k\n    algorithm: hmac-sha256\n    secret: AAAA\n"
	             "  - id: k\n    algorithm: hmac-sha1\n    secret: AAAA\n",
	             "t.conf:5:9: key: id 'k' defined twice");
	expect_error("remote:\n  - id: r\n    address: 192.0.2.1\n"
	             "  - id: r\n    address: 192.0.2.2\n",
	             "t.conf:4:9: remote: id 'r' defined twice");
	expect_error("acl:\n  - id: a\n    action: transfer\n  - id: a\n    action: notify\n",
	             "t.conf:4:9: acl: id 'a' defined twice");
	expect_error("template:\n  - id: t\n  - id: t\n",
	             "t.conf:3:9: template: id 't' defined twice");
	/* two ids, one key name on the wire */
	expect_error("key:\n  - id: xfr\n    algorithm: hmac-sha256\n    secret: AAAA\n"
	             "  - id: XFR.\n    algorithm: hmac-sha256\n    secret: AAAA\n",
	             "t.conf:5:9: key 'XFR.': the same name as key 'xfr' (first at t.conf:2)");
	/* one message for an id that is not a single value, not one per reader */
	expect_error("template:\n  - id: [a]\n",
	             "t.conf:2:9: id: expected a single value, not a list");
	expect_error("key:\n  - id: [k]\n    algorithm: hmac-sha256\n    secret: AAAA\n",
	             "t.conf:2:9: id: expected a single value, not a list");
	expect_error("zone:\n  - domain: [a, b]\n",
	             "t.conf:2:13: domain: expected a single value, not a list");
}
END_TEST

START_TEST(undefined_references)
{
	expect_error(
	    "remote:\n  - id: r\n    address: 192.0.2.1\n    key: nokey\n",
	    "t.conf:4:10: remote.key 'nokey': no such key (define it in the key: section)");
	expect_error("acl:\n  - id: a\n    key: nokey\n    action: transfer\n",
	             "t.conf:3:10: acl.key 'nokey': no such key (define it in the key: section)");
	expect_error("zone:\n  - domain: example.com\n    template: none\n",
	             "t.conf:3:15: zone.template 'none': no such template");
	/* references resolve whatever the order of the sections */
	struct conf *c = load_ok("zone:\n  - domain: example.com\n    template: t\n"
	                         "template:\n  - id: t\n    storage: /srv\n"
	                         "remote:\n  - id: r\n    address: 192.0.2.1\n    key: k\n"
	                         "key:\n  - id: k\n    algorithm: hmac-sha256\n    secret: AAAA\n");
	ck_assert_ptr_eq(c->zones[0].tpl, &c->templates[0]);
	ck_assert_ptr_eq(c->remotes[0].key, &c->keys[0]);
	conf_free(c);
}
END_TEST

START_TEST(key_errors)
{
	expect_errors("key:\n  - id: k\n", "t.conf:2:5: key 'k': no algorithm",
	              "t.conf:2:5: key 'k': no secret");
	expect_error("key:\n  - id: k\n    secret: AAAA\n", "t.conf:2:5: key 'k': no algorithm");
	expect_error("key:\n  - algorithm: hmac-sha256\n    secret: AAAA\n",
	             "t.conf:2:5: key: an entry without 'id'");
	expect_error("key:\n  - id: k\n    algorithm: hmac-sha256\n    secret: \"!!!!\"\n",
	             "t.conf:4:13: key.secret: not base64 (as tsig-keygen and keymgr -t print it)");
	expect_error("key:\n  - id: k\n    algorithm: hmac-sha256\n    secret: AAA\n",
	             "t.conf:4:13: key.secret: not base64 (as tsig-keygen and keymgr -t print it)");
	expect_error("key:\n  - id: k\n    algorithm: hmac-md5\n    secret: AAAA\n",
	             "t.conf:3:16: key.algorithm 'hmac-md5': not supported (MD5 is deprecated, RFC "
	             "8945 §6); use hmac-sha256");
	expect_error(
	    "key:\n  - id: k\n    algorithm: HMAC-MD5.SIG-ALG.REG.INT.\n    secret: AAAA\n",
	    "t.conf:3:16: key.algorithm 'HMAC-MD5.SIG-ALG.REG.INT.': not supported (MD5 "
	    "is deprecated, RFC 8945 §6); use hmac-sha256");
	expect_error("key:\n  - id: k\n    algorithm: hmac-sha3\n    secret: AAAA\n",
	             "t.conf:3:16: key.algorithm 'hmac-sha3': expected hmac-sha1, hmac-sha224, "
	             "hmac-sha256, hmac-sha384 or hmac-sha512");
	expect_error("key:\n  - id: a..b\n    algorithm: hmac-sha256\n    secret: AAAA\n",
	             "t.conf:2:9: key.id 'a..b': not a domain name (the key's name on the wire)");
	expect_error(
	    "key:\n  - id: k\n    algorithm: hmac-sha256\n    secret: AAAA\n    shared-secret: x\n",
	    "t.conf:5:5: key: unknown key 'shared-secret'");
}
END_TEST

/* Secrets pasted from the tools that make them (generated once; the test
 * does not need the tools). */
START_TEST(secrets_from_tools)
{
	/* tsig-keygen -a hmac-sha256 xfr-key (BIND 9.18) printed
	 *   key "xfr-key" {
	 *   	algorithm hmac-sha256;
	 *   	secret "fnOg3ozenUyi4JoHD1KVzoUQ9yQAtfm8gOPFps+vkd4=";
	 *   };
	 * and the same for the other algorithms (the ids are the names given
	 * to it); shoal-test's is from `keymgr -t shoal-test hmac-sha512`
	 * (Knot 3.2), whose YAML output is pasted whole further down. */
	struct conf *c =
	    load_ok("key:\n"
	            "  - id: xfr-key\n"
	            "    algorithm: hmac-sha256\n"
	            "    secret: \"fnOg3ozenUyi4JoHD1KVzoUQ9yQAtfm8gOPFps+vkd4=\"\n"
	            "  - id: big.key.\n"
	            "    algorithm: HMAC-SHA512.\n"
	            "    secret: "
	            "LNx+fGvJ8eVEylW/Kvr6O50cCQusajd99icLqCmNRKJ1/R8WQB0q/"
	            "Yle7d04jnW9dhGPvjZAW1wzTVGUuh+O4g==\n"
	            "  - id: old\n"
	            "    algorithm: Hmac-Sha1\n"
	            "    secret: R0NUwdgBCm79ZxDMuPuI9sZNZI8=\n"
	            "  - id: k384\n"
	            "    algorithm: hmac-sha384.\n"
	            "    secret: u4NSpCWln/8C9e8OofWeeMGK+1OYRN9GcABOGziWEz/l6z0d6t+h4+F/yUvKDFY3\n"
	            "  - id: k224\n"
	            "    algorithm: hmac-sha224\n"
	            "    secret: PBTSqGqB1fqT8UOZJrGpAPnnqI/MbY4O3mHAbg==\n"
	            "  - id: shoal-test\n"
	            "    algorithm: hmac-sha512\n"
	            "    secret: "
	            "pnpTVIeOpQO46g9kNAleZmNG6NzM9ujXa9s2JoBzpCmu6RB11xVjwcnGR3FFXIo4FpnUnLqnrRcL2U"
	            "90cbrrPQ==\n");
	static const struct {
		const char *id;
		enum conf_tsig_alg alg;
		size_t len;
		uint8_t first[4], last[4];
	} want[] = {
	    {"xfr-key", CONF_HMAC_SHA256, 32, {0x7e, 0x73, 0xa0, 0xde}, {0xcf, 0xaf, 0x91, 0xde}},
	    {"big.key.", CONF_HMAC_SHA512, 64, {0x2c, 0xdc, 0x7e, 0x7c}, {0xba, 0x1f, 0x8e, 0xe2}},
	    {"old", CONF_HMAC_SHA1, 20, {0x47, 0x43, 0x54, 0xc1}, {0xc6, 0x4d, 0x64, 0x8f}},
	    {"k384", CONF_HMAC_SHA384, 48, {0xbb, 0x83, 0x52, 0xa4}, {0xca, 0x0c, 0x56, 0x37}},
	    {"k224", CONF_HMAC_SHA224, 28, {0x3c, 0x14, 0xd2, 0xa8}, {0xde, 0x61, 0xc0, 0x6e}},
	    {"shoal-test",
	     CONF_HMAC_SHA512,
	     64,
	     {0xa6, 0x7a, 0x53, 0x54},
	     {0x71, 0xba, 0xeb, 0x3d}},
	};
	ck_assert_uint_eq(c->nkeys, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < c->nkeys; i++) {
		const struct conf_key *k = &c->keys[i];
		ck_assert_str_eq(k->id, want[i].id);
		ck_assert_int_eq(k->alg, want[i].alg);
		ck_assert_uint_eq(k->secret_len, want[i].len);
		ck_assert_mem_eq(k->secret, want[i].first, 4);
		ck_assert_mem_eq(k->secret + k->secret_len - 4, want[i].last, 4);
		uint8_t wire[DNAME_MAX];
		size_t wl = ut_name(want[i].id, wire);
		ck_assert_uint_eq(k->name_len, wl);
		ck_assert_mem_eq(k->name, wire, wl);
	}
	ck_assert_str_eq(conf_tsig_alg_name(c->keys[0].alg), "hmac-sha256");
	ck_assert_str_eq(c->keys[0].where, "t.conf:2");
	ck_assert_str_eq(c->keys[5].where, "t.conf:17");
	conf_free(c);

	/* keymgr -t xfr.example. hmac-sha256 (Knot 3.2), its output whole */
	c = load_ok("# hmac-sha256:xfr.example.:Vg1OAO4jUoOyfVYvA5ZMSTiO44tCcVwYAhc4OTKAQc4=\n"
	            "key:\n"
	            "  - id: xfr.example.\n"
	            "    algorithm: hmac-sha256\n"
	            "    secret: Vg1OAO4jUoOyfVYvA5ZMSTiO44tCcVwYAhc4OTKAQc4=\n");
	ck_assert_uint_eq(c->nkeys, 1);
	ck_assert_int_eq(c->keys[0].alg, CONF_HMAC_SHA256);
	ck_assert_uint_eq(c->keys[0].secret_len, 32);
	ck_assert_mem_eq(c->keys[0].secret, "\x56\x0d\x4e\x00", 4);
	ck_assert_mem_eq(c->keys[0].secret + 28, "\x32\x80\x41\xce", 4);
	conf_free(c);
	/* a key's name is lowercased wire */
	c = load_ok("key:\n  - id: XFR.Example\n    algorithm: hmac-sha256\n    secret: AAAA\n");
	uint8_t wire[DNAME_MAX];
	size_t wl = ut_name("xfr.example.", wire);
	ck_assert_uint_eq(c->keys[0].name_len, wl);
	ck_assert_mem_eq(c->keys[0].name, wire, wl);
	ck_assert_str_eq(c->keys[0].id, "XFR.Example");
	conf_free(c);
}
END_TEST

START_TEST(remote_forms)
{
	struct conf *c = load_ok("remote:\n"
	                         "  - id: r\n"
	                         "    address:\n"
	                         "      - 192.0.2.1\n"
	                         "      - 192.0.2.1:5300\n"
	                         "      - 192.0.2.1@5301\n"
	                         "      - \"[2001:db8::1]:5302\"\n"
	                         "      - 2001:db8::2@5303\n"
	                         "      - \"2001:db8::3\"\n"
	                         "      - \"[2001:db8::4]\"\n"
	                         "  - id: one\n"
	                         "    address: 198.51.100.1\n");
	static const struct {
		int family;
		uint16_t port;
		const char *text;
	} want[] = {
	    {AF_INET, 53, "192.0.2.1:53"},          {AF_INET, 5300, "192.0.2.1:5300"},
	    {AF_INET, 5301, "192.0.2.1:5301"},      {AF_INET6, 5302, "[2001:db8::1]:5302"},
	    {AF_INET6, 5303, "[2001:db8::2]:5303"}, {AF_INET6, 53, "[2001:db8::3]:53"},
	    {AF_INET6, 53, "[2001:db8::4]:53"},
	};
	ck_assert_uint_eq(c->nremotes, 2);
	ck_assert_str_eq(c->remotes[0].id, "r");
	ck_assert_uint_eq(c->remotes[0].naddr, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < c->remotes[0].naddr; i++) {
		const struct listen_addr *a = &c->remotes[0].addr[i];
		ck_assert_int_eq(a->ss.ss_family, want[i].family);
		ck_assert_uint_eq(port_of(a), want[i].port);
		ck_assert_str_eq(a->text, want[i].text);
	}
	ck_assert_ptr_null(c->remotes[0].key);
	ck_assert_uint_eq(c->remotes[1].naddr, 1);
	ck_assert_uint_eq(port_of(&c->remotes[1].addr[0]), 53);
	conf_free(c);

	static const char *const bads[] = {
	    "192.0.2.1@",
	    "192.0.2.1@x",
	    "192.0.2.1@65536",
	    "192.0.2.1:53@54",
	    "example.com",
	    "192.0.2.1:",
	    "192.0.2.1:5300x",
	    /* the port's digits must not be cut to fit a buffer (to 0 here) */
	    "192.0.2.1@0000000000000000000000000000000000000000000000000000000000000000000000"
	    "000000000000000000053",
	};
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		char text[512], msg[512];
		snprintf(text, sizeof(text), "remote:\n  - id: r\n    address: \"%s\"\n", bads[i]);
		snprintf(msg, sizeof(msg),
		         "t.conf:3:14: remote.address '%s': not an address (192.0.2.1, "
		         "192.0.2.1:53, 192.0.2.1@53, \"[2001:db8::1]:53\")",
		         bads[i]);
		expect_error(text, msg);
	}
}
END_TEST

START_TEST(acl_forms)
{
	struct conf *c = load_ok("key:\n  - id: k1\n    algorithm: hmac-sha256\n    secret: AAAA\n"
	                         "acl:\n"
	                         "  - id: xfr\n"
	                         "    address: [192.0.2.0/24, \"2001:db8::/32\", 198.51.100.7]\n"
	                         "    key: k1\n"
	                         "    action: [transfer, notify]\n"
	                         "  - id: block\n"
	                         "    address: 10.0.0.0/8\n"
	                         "    action: transfer\n"
	                         "    deny: yes\n"
	                         "  - id: off\n"
	                         "    action: notify\n"
	                         "    deny: off\n"
	                         "  - id: on\n"
	                         "    action: notify\n"
	                         "    deny: On\n");
	ck_assert_uint_eq(c->nacls, 4);
	const struct conf_acl *a = &c->acls[0];
	ck_assert_str_eq(a->id, "xfr");
	ck_assert_uint_eq(a->nprefix, 3);
	ck_assert_int_eq(a->prefix[0].family, AF_INET);
	ck_assert_uint_eq(a->prefix[0].len, 24);
	ck_assert_mem_eq(a->prefix[0].addr, "\xc0\x00\x02\x00", 4);
	ck_assert_int_eq(a->prefix[1].family, AF_INET6);
	ck_assert_uint_eq(a->prefix[1].len, 32);
	ck_assert_mem_eq(a->prefix[1].addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	ck_assert_uint_eq(a->prefix[2].len, 32);
	ck_assert_uint_eq(a->nkey, 1);
	ck_assert_ptr_eq(a->key[0], &c->keys[0]);
	ck_assert_uint_eq(a->actions, CONF_ACTION_TRANSFER | CONF_ACTION_NOTIFY);
	ck_assert(!a->deny);
	ck_assert(c->acls[1].deny);
	ck_assert_uint_eq(c->acls[1].actions, CONF_ACTION_TRANSFER);
	ck_assert(!c->acls[2].deny);
	ck_assert_uint_eq(c->acls[2].nprefix, 0); /* any address */
	ck_assert(c->acls[3].deny);
	conf_free(c);

	static const char *const host_bits[] = {"192.0.2.1/24", "10.0.0.0/6", "\"2001:db8::1/32\""};
	for (size_t i = 0; i < sizeof(host_bits) / sizeof(host_bits[0]); i++) {
		char text[256], msg[256], v[64];
		snprintf(v, sizeof(v), "%s",
		         host_bits[i][0] == '"' ? host_bits[i] + 1 : host_bits[i]);
		if (strchr(v, '"'))
			*strchr(v, '"') = 0;
		snprintf(text, sizeof(text),
		         "acl:\n  - id: a\n    address: %s\n    action: transfer\n", host_bits[i]);
		snprintf(msg, sizeof(msg),
		         "t.conf:3:14: acl.address '%s': host bits set past the prefix length", v);
		expect_error(text, msg);
	}
	expect_error("acl:\n  - id: a\n    address: 192.0.2.1-192.0.2.9\n    action: transfer\n",
	             "t.conf:3:14: acl.address '192.0.2.1-192.0.2.9': address ranges are not "
	             "supported; write prefixes");
	static const char *const bad[] = {"192.0.2.0/33",   "192.0.2.0/",   "192.0.2.0/ 24",
	                                  "192.0.2.0/+24",  "192.0.2.0/-0", "192.0.2/24",
	                                  "2001:db8::/129", "any"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256], msg[256];
		snprintf(text, sizeof(text),
		         "acl:\n  - id: a\n    address: \"%s\"\n    action: transfer\n", bad[i]);
		snprintf(msg, sizeof(msg),
		         "t.conf:3:14: acl.address '%s': expected an address or a prefix "
		         "(192.0.2.0/24, \"2001:db8::/32\")",
		         bad[i]);
		expect_error(text, msg);
	}
	expect_error("acl:\n  - id: a\n    address: 192.0.2.0/24\n    action: xfer\n",
	             "t.conf:4:13: acl.action 'xfer': expected transfer or notify");
	expect_error("acl:\n  - id: a\n    action: [transfer, update]\n",
	             "t.conf:3:24: acl.action 'update': not supported yet");
	expect_error("acl:\n  - id: a\n    address: 192.0.2.0/24\n",
	             "t.conf:2:5: acl 'a': no action (transfer, notify)");
	expect_error("acl:\n  - id: a\n    action: transfer\n    deny: maybe\n",
	             "t.conf:4:11: acl.deny 'maybe': expected yes or no");
	expect_error("acl:\n  - id: a\n    action: transfer\n    update-type: A\n",
	             "t.conf:4:5: acl: 'update-type' is not supported yet");
	expect_error("remote:\n  - id: r\n    address: 192.0.2.1\n    via: 192.0.2.9\n",
	             "t.conf:4:5: remote: 'via' is not supported yet");
}
END_TEST

/* Catalog zones, the consumer side: catalog-template (its own, its
 * template's, or "default"), catalog-max-members, and what is refused. */
START_TEST(catalog_interpret_keys)
{
	static const char *head = "remote:\n  - id: p\n    address: 192.0.2.1\n"
	                          "template:\n  - id: t1\n    primary: p\n"
	                          "  - id: t2\n    primary: p\n    storage: /var/m2\n";
	char text[1024];
	snprintf(text, sizeof(text), "%szone:\n  - domain: cat.test\n    primary: p\n"
	         "    catalog-role: interpret\n    catalog-template: [t2, t1]\n"
	         "    catalog-max-members: 5\n", head);
	struct conf *c = load_ok(text);
	const struct conf_zone *z = &c->zones[0];
	ck_assert_int_eq(z->set->catalog_role, CONF_CATALOG_INTERPRET);
	ck_assert_uint_eq(z->ncatalog_tpl, 2);
	ck_assert_str_eq(z->catalog_tpl[0]->id, "t2");
	ck_assert_str_eq(z->catalog_tpl[1]->id, "t1");
	ck_assert_uint_eq(z->catalog_max_members, 5);
	/* a group picks the template of its id, anything else the first */
	ck_assert_str_eq(conf_member_template(z, "t1")->id, "t1");
	ck_assert_str_eq(conf_member_template(z, "T1")->id, "t2");
	ck_assert_str_eq(conf_member_template(z, NULL)->id, "t2");
	conf_free(c);

	/* one template alone, and the default cap */
	snprintf(text, sizeof(text), "%szone:\n  - domain: cat.test\n    catalog-role: interpret\n"
	         "    catalog-template: t1\n", head);
	c = load_ok(text);
	ck_assert_uint_eq(c->zones[0].ncatalog_tpl, 1);
	ck_assert_uint_eq(c->zones[0].catalog_max_members, CONF_CATALOG_MAX_MEMBERS_DEFAULT);
	conf_free(c);

	/* none written: the template "default" */
	c = load_ok("remote:\n  - id: p\n    address: 192.0.2.1\n"
	            "template:\n  - id: default\n    primary: p\n"
	            "zone:\n  - domain: cat.test\n    catalog-role: interpret\n");
	ck_assert_uint_eq(c->zones[0].ncatalog_tpl, 1);
	ck_assert_str_eq(c->zones[0].catalog_tpl[0]->id, "default");
	conf_free(c);

	snprintf(text, sizeof(text), "%szone:\n  - domain: cat.test\n    catalog-role: interpret\n"
	         "    catalog-template: [t1, nope]\n", head);
	expect_error(text, "t.conf:13:23: zone 'cat.test': catalog-template 'nope': no such "
	                   "template");
	snprintf(text, sizeof(text), "%szone:\n  - domain: a.test\n    catalog-template: t1\n", head);
	expect_error(text, "t.conf:12:23: zone 'a.test': catalog-template without catalog-role "
	                   "interpret");
	snprintf(text, sizeof(text), "%szone:\n  - domain: a.test\n    catalog-max-members: 3\n",
	         head);
	expect_error(text, "t.conf:11:13: zone 'a.test': catalog-max-members without catalog-role "
	                   "interpret");
	snprintf(text, sizeof(text), "%szone:\n  - domain: c.test\n    catalog-role: interpret\n"
	         "    catalog-template: [t1, t1]\n", head);
	expect_error(text, "t.conf:13:28: zone.catalog-template 't1': listed twice");
	expect_error("zone:\n  - domain: c.test\n    catalog-max-members: 0\n",
	             "t.conf:3:26: zone.catalog-max-members '0': expected a count from 1 to 10000000");
}
END_TEST

/* conf_derive: the file's zones and keys, plus one entry per member with
 * its template's settings, found by conf_zone_find. */
START_TEST(derive_members)
{
	struct conf *base = load_ok("key:\n  - id: k\n    algorithm: hmac-sha256\n"
	                            "    secret: Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm8=\n"
	                            "remote:\n  - id: p\n    address: 192.0.2.1\n    key: k\n"
	                            "  - id: q\n    address: 192.0.2.2\n"
	                            "template:\n  - id: t1\n    primary: p\n    storage: /var/m1\n"
	                            "  - id: t2\n    primary: q\n    storage: /var/m2\n"
	                            "    file: \"x-%s\"\n    refresh-min-interval: 30\n"
	                            "zone:\n  - domain: cat.test\n    primary: p\n"
	                            "    catalog-role: interpret\n    catalog-template: [t1, t2]\n"
	                            "  - domain: file.test\n");
	uint8_t a[DNAME_MAX], b[DNAME_MAX], l[DNAME_MAX], lid[64];
	size_t al = dname_from_str("a.example", a), bl = dname_from_str("b.example", b);
	/* the longest: a 255-octet name (labels of 63, 63, 63, 61), a 63-octet id */
	char ln[300] = "";
	for (int k = 0; k < 4; k++)
		snprintf(ln + strlen(ln), sizeof(ln) - strlen(ln), "%.*s.", k < 3 ? 63 : 61,
		         "lllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll");
	size_t ll = dname_from_str(ln, l);
	ck_assert_uint_eq(ll, 255);
	lid[0] = 63;
	memset(lid + 1, 'i', 63);
	const struct conf_zone *cat = &base->zones[0];
	const uint8_t *cat_apex = cat->apex;
	struct conf_member m[3] = {
	    {.apex = a, .apex_len = al, .catalog = cat, .id = (const uint8_t *)"\x03" "abc"},
	    {.apex = b, .apex_len = bl, .catalog = cat, .id = (const uint8_t *)"\x02" "i2",
	     .group = "t2"},
	    {.apex = l, .apex_len = ll, .catalog = cat, .id = lid},
	};
	struct conf *c = conf_derive(base, m, 3);
	ck_assert_ptr_nonnull(c);
	conf_free(base); /* the derived one holds it */
	ck_assert_uint_eq(c->nzones, 5);
	/* the file's entries point into the base's pool, the members' into
	 * the derived one's: copies, the callers' names may go */
	ck_assert_ptr_eq(c->zones[0].apex, cat_apex);
	uint8_t lcopy[DNAME_MAX];
	memcpy(lcopy, l, ll);
	memset(l, 0, sizeof(l));
	const struct conf_zone *zl = conf_zone_find(c, lcopy, ll);
	ck_assert_ptr_nonnull(zl);
	ck_assert_ptr_ne(zl->apex, l);
	ck_assert_uint_eq(zl->apex_len, 255);
	ck_assert_mem_eq(zl->apex, lcopy, 255);
	ck_assert_uint_eq(strlen(zl->member_id), 63);
	ck_assert_ptr_null(zl->set->catalog_zone);
	ck_assert_uint_eq(zl->set->catalog_zone_len, 0);
	ck_assert_uint_eq(c->nkeys, 1);
	ck_assert_ptr_nonnull(conf_zone_find(c, c->zones[1].apex, c->zones[1].apex_len));
	const struct conf_zone *za = conf_zone_find(c, a, al), *zb = conf_zone_find(c, b, bl);
	ck_assert_ptr_nonnull(za);
	ck_assert_ptr_nonnull(zb);
	ck_assert_str_eq(za->name, "a.example.");
	ck_assert_str_eq(za->file, "/var/m1/a.example.zone");
	ck_assert_str_eq(za->tpl->id, "t1");
	ck_assert_uint_eq(za->set->nprimary, 1);
	ck_assert_str_eq(za->set->primary[0]->id, "p");
	ck_assert_ptr_eq(za->set->primary[0]->key, &c->keys[0]);
	ck_assert_str_eq(za->member_of, "cat.test.");
	ck_assert_str_eq(za->member_id, "abc");
	ck_assert_ptr_null(za->member_group);
	ck_assert_str_eq(za->where, "catalog cat.test., member abc");
	ck_assert_str_eq(zb->file, "/var/m2/x-b.example");
	ck_assert_str_eq(zb->set->primary[0]->id, "q");
	ck_assert_uint_eq(zb->set->refresh_min, 30);
	ck_assert_str_eq(zb->member_group, "t2");
	ck_assert_int_eq(zb->set->catalog_role, CONF_CATALOG_NONE);
	/* one settings object per template, shared by its members */
	ck_assert_ptr_eq(za->set, zl->set);
	ck_assert_ptr_ne(za->set, zb->set);
	ck_assert_ptr_ne(za->set, c->zones[0].set);
	char *t = conf_storage_file(zb, ".timers");
	ck_assert_str_eq(t, "/var/m2/b.example.timers");
	free(t);
	uint8_t x[DNAME_MAX];
	size_t xl = dname_from_str("nope.example", x);
	ck_assert_ptr_null(conf_zone_find(c, x, xl));
	conf_free(c);
}
END_TEST

/* The pool: thousands of entries span blocks as they grow, a string
 * larger than a block gets one of its own, and every one stays whole. */
START_TEST(pool_many_and_large)
{
	enum { N = 3000 };
	char storage[3001];
	memset(storage, 's', sizeof(storage) - 1);
	storage[0] = '/';
	storage[sizeof(storage) - 1] = 0;
	size_t cap = (size_t)N * 64 + 2 * sizeof(storage) + 256, len = 0;
	char *text = malloc(cap);
	ck_assert_ptr_nonnull(text);
	len += (size_t)snprintf(text + len, cap - len,
	                        "template:\n  - id: big\n    storage: %s\nzone:\n", storage);
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, cap - len, "  - domain: z%d.test\n%s", i,
		                        i % 1000 ? "" : "    template: big\n");
	struct conf *c = load_ok(text);
	free(text);
	ck_assert_uint_eq(c->nzones, N);
	for (int i = 0; i < N; i++) {
		char want[64];
		const struct conf_zone *z = &c->zones[i];
		snprintf(want, sizeof(want), "z%d.test.", i);
		ck_assert_str_eq(z->name, want);
		snprintf(want, sizeof(want), "z%d.test", i);
		ck_assert_str_eq(z->domain, want);
		ck_assert_ptr_nonnull(z->set);
		ck_assert_uint_eq(z->set->refresh_max, CONF_REFRESH_MAX_DEFAULT);
		ck_assert_ptr_eq(conf_zone_find(c, z->apex, z->apex_len), z);
		if (i % 1000 == 0) {
			ck_assert_str_eq(z->storage, storage);
			ck_assert_uint_eq(strlen(z->file), strlen(storage) + strlen(want) + 6);
		} else {
			ck_assert_str_eq(z->storage, CONF_STORAGE_DEFAULT);
		}
	}
	conf_free(c);
}
END_TEST

/* Catalog zones, the producer side: generate and member read, inherited
 * from templates; the errors across zones name where the value was. */
START_TEST(catalog_keys)
{
	struct conf *c = load_ok("template:\n"
	                         "  - id: m\n    catalog-role: member\n    catalog-zone: cat.test\n"
	                         "    catalog-group: g1\n"
	                         "zone:\n"
	                         "  - domain: cat.test\n    catalog-role: generate\n"
	                         "  - domain: a.test\n    template: m\n"
	                         "  - domain: b.test\n    template: m\n    catalog-group: own\n"
	                         "  - domain: c.test\n    catalog-role: member\n"
	                         "    catalog-zone: CAT.test.\n");
	ck_assert_int_eq(c->zones[0].set->catalog_role, CONF_CATALOG_GENERATE);
	ck_assert_int_eq(c->zones[1].set->catalog_role, CONF_CATALOG_MEMBER);
	ck_assert_uint_eq(c->zones[1].set->catalog_zone_len, c->zones[0].apex_len);
	ck_assert_int_eq(memcmp(c->zones[1].set->catalog_zone, c->zones[0].apex, c->zones[0].apex_len), 0);
	ck_assert_str_eq(c->zones[1].set->catalog_group, "g1");
	ck_assert_str_eq(c->zones[2].set->catalog_group, "own");
	ck_assert_ptr_null(c->zones[3].set->catalog_group);
	ck_assert_int_eq(memcmp(c->zones[3].set->catalog_zone, c->zones[0].apex, c->zones[0].apex_len), 0);
	/* the template's name, in the pool, shared by the zones taking it */
	ck_assert_ptr_eq(c->zones[1].set->catalog_zone, c->zones[2].set->catalog_zone);
	ck_assert_ptr_eq(c->zones[1].set->catalog_zone, c->templates[0].set.catalog_zone);
	ck_assert_ptr_null(c->zones[0].set->catalog_zone);
	ck_assert_uint_eq(c->zones[0].set->catalog_zone_len, 0);
	conf_free(c);

	expect_error("zone:\n  - domain: a.test\n    catalog-role: member\n",
	             "t.conf:2:13: zone 'a.test': catalog-role member without catalog-zone");
	expect_error("zone:\n  - domain: a.test\n    catalog-role: member\n    catalog-zone: c.test\n",
	             "t.conf:4:19: zone 'a.test': catalog-zone 'c.test.': no such zone");
	expect_error("zone:\n  - domain: c.test\n"
	             "  - domain: a.test\n    catalog-role: member\n    catalog-zone: c.test\n",
	             "t.conf:5:19: zone 'a.test': catalog-zone 'c.test.' is not a catalog-role "
	             "generate zone");
	expect_error("zone:\n  - domain: c.test\n    catalog-role: generate\n"
	             "  - domain: a.test\n    catalog-zone: c.test\n",
	             "t.conf:4:13: zone 'a.test': catalog-zone without catalog-role member");
	expect_error("remote:\n  - id: p\n    address: 192.0.2.1\n"
	             "zone:\n  - domain: c.test\n    catalog-role: generate\n    primary: p\n",
	             "t.conf:5:13: zone 'c.test': catalog-role generate with primary (shoal "
	             "writes the catalog, it cannot also transfer it in)");
	expect_error("zone:\n  - domain: c.test\n    catalog-role: interpret\n",
	             "t.conf:2:13: zone 'c.test': catalog-role interpret without catalog-template "
	             "(and no template 'default'): its members would have no primary");
	expect_error("template:\n  - id: t\n    catalog-role: producer\n",
	             "t.conf:3:19: template.catalog-role 'producer': expected generate, member or "
	             "interpret");
	expect_error("zone:\n  - domain: c.test\n    catalog-zone: \"a..b\"\n",
	             "t.conf:3:19: zone.catalog-zone 'a..b': not a domain name");
	char text[600];
	snprintf(text, sizeof(text), "zone:\n  - domain: c.test\n    catalog-group: %0256d\n", 0);
	expect_error(text, "t.conf:3:20: zone.catalog-group: at most 255 octets, no NUL");
	/* 255 is fine */
	snprintf(text, sizeof(text),
	         "zone:\n  - domain: c.test\n    catalog-role: generate\n"
	         "  - domain: a.test\n    catalog-role: member\n    catalog-zone: c.test\n"
	         "    catalog-group: %0255d\n", 0);
	conf_free(load_ok(text));
}
END_TEST

START_TEST(second_document)
{
	expect_error("server:\n  threads: 2\n---\nzone: []\n",
	             "t.conf:4:1: a second YAML document ('---'): put everything in one");
	/* after an empty first one: not silently ignored either */
	expect_error("---\n...\n---\nserver:\n  threads: 2\n",
	             "t.conf:4:1: a second YAML document ('---'): put everything in one");
	/* a broken second one is a syntax error */
	expect_error("server:\n  threads: 2\n---\nzone: [\n",
	             "t.conf:5:1: YAML: did not find expected node content");
}
END_TEST

START_TEST(too_many_errors)
{
	char text[8192];
	size_t n = (size_t)snprintf(text, sizeof(text), "zone:\n");
	for (int i = 0; i < CONF_ERRORS_MAX + 10; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		                      "  - domain: z%d.example\n    catalog-template: x\n", i);
	ck_assert_uint_lt(n, sizeof(text));
	struct conf *c = NULL;
	ck_assert_int_eq(load_n("t.conf", text, n, &c), -1);
	ck_assert_uint_eq(D.n, CONF_ERRORS_MAX);
	ck_assert_str_eq(D.msg[0], "t.conf:3:23: zone 'z0.example': catalog-template without "
	                           "catalog-role interpret");
	ck_assert_str_eq(D.msg[CONF_ERRORS_MAX - 2], "t.conf:99:23: zone 'z48.example': "
	                                             "catalog-template without catalog-role interpret");
	ck_assert_str_eq(D.msg[CONF_ERRORS_MAX - 1],
	                 "t.conf:101:23: zone 'z49.example': catalog-template without catalog-role "
	                 "interpret (50 errors: stopping here)");
}
END_TEST

/* Secondary settings: primary (or master) names remotes, in order, and
 * comes from the template unless the zone lists its own; the interval
 * bounds, zone-max-size and zonefile-sync read and defaulted as Knot's. */
START_TEST(zone_secondary_settings)
{
	static const char text[] =
	    "remote:\n"
	    "  - id: a\n    address: 127.0.0.1\n"
	    "  - id: b\n    address: ::1@5300\n"
	    "template:\n"
	    "  - id: default\n    master: [b]\n    refresh-min-interval: 10\n"
	    "zone:\n"
	    "  - domain: one.test\n    primary: [a, b]\n    zone-max-size: 2M\n"
	    "    zonefile-sync: -1\n    retry-max-interval: 600\n"
	    "  - domain: two.test\n    refresh-max-interval: 3600\n    zonefile-sync: 30\n"
	    "  - domain: three.test\n    refresh-min-interval: 1\n";
	struct conf *c = NULL;
	ck_assert_int_eq(load_n("t.conf", text, sizeof(text) - 1, &c), 0);
	ck_assert_uint_eq(c->nzones, 3);
	const struct conf_zone_settings *one = c->zones[0].set, *two = c->zones[1].set,
					*three = c->zones[2].set;
	ck_assert_uint_eq(one->nprimary, 2);
	ck_assert_str_eq(one->primary[0]->id, "a");
	ck_assert_str_eq(one->primary[1]->id, "b");
	ck_assert_uint_eq(one->zone_max_size, 2u << 20);
	ck_assert_int_eq(one->zonefile_sync, -1);
	ck_assert_uint_eq(one->retry_max, 600);
	ck_assert_uint_eq(one->retry_min, CONF_REFRESH_MIN_DEFAULT);
	ck_assert_uint_eq(one->refresh_min, 10);
	ck_assert_uint_eq(two->nprimary, 1);
	ck_assert_str_eq(two->primary[0]->id, "b");
	ck_assert_uint_eq(two->refresh_max, 3600);
	ck_assert_uint_eq(two->refresh_min, 10);
	ck_assert_int_eq(two->zonefile_sync, 30);
	ck_assert_uint_eq(two->zone_max_size, 0);
	ck_assert_uint_eq(three->refresh_min, 1);
	ck_assert_uint_eq(three->refresh_max, CONF_REFRESH_MAX_DEFAULT);
	ck_assert_int_eq(three->zonefile_sync, 0);
	conf_free(c);

	expect_error("zone:\n  - domain: a.test\n    primary: nowhere\n",
	             "t.conf:3:14: zone.primary 'nowhere': no such remote (define it in the "
	             "remote: section)");
	expect_error("remote:\n  - id: a\n    address: 127.0.0.1\n"
	             "zone:\n  - domain: a.test\n    primary: a\n    master: a\n",
	             "t.conf:7:5: zone: 'master' and the other name of the same setting "
	             "(primary, master) both given");
	expect_error("zone:\n  - domain: a.test\n    refresh-min-interval: 0\n",
	             "t.conf:3:27: zone.refresh-min-interval '0': expected seconds from 1 to "
	             "2147483647");
	expect_error("zone:\n  - domain: a.test\n    retry-min-interval: 60\n"
	             "    retry-max-interval: 30\n",
	             "t.conf:2:13: zone 'a.test': a retry-min-interval above its "
	             "retry-max-interval");
	expect_error("zone:\n  - domain: a.test\n    zonefile-sync: soon\n",
	             "t.conf:3:20: zone.zonefile-sync 'soon': expected seconds (0: after every "
	             "change) or -1 (only at shutdown)");
}
END_TEST

/* Outgoing transfer settings of zones and templates: acl and notify name
 * entries of their sections, in order; a zone's own list replaces its
 * template's; defaults otherwise. */
START_TEST(zone_transfer_settings)
{
	static const char text[] =
	    "key:\n  - id: k\n    algorithm: hmac-sha256\n    secret: c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\n"
	    "remote:\n  - id: r1\n    address: 127.0.0.1@5301\n    key: k\n"
	    "  - id: r2\n    address: 127.0.0.2\n"
	    "acl:\n  - id: a1\n    address: 127.0.0.0/8\n    key: k\n    action: transfer\n"
	    "  - id: a2\n    action: [transfer, notify]\n    deny: on\n"
	    "template:\n  - id: default\n    acl: a1\n    notify: [r1, r2]\n"
	    "    journal-max-usage: 2M\n    serial-policy: unixtime\n"
	    "zone:\n  - domain: a.example\n"
	    "  - domain: b.example\n    acl: [a2, a1]\n    notify: r2\n"
	    "    journal-max-depth: 5\n    serial-policy: increment\n";
	struct conf *c = NULL;
	ck_assert_int_eq(load_n("t.conf", text, sizeof(text) - 1, &c), 0);
	const struct conf_zone_settings *a = c->zones[0].set, *b = c->zones[1].set;
	ck_assert_uint_eq(a->nacl, 1);
	ck_assert_str_eq(a->acl[0]->id, "a1");
	ck_assert_uint_eq(a->nnotify, 2);
	ck_assert_str_eq(a->notify[1]->id, "r2");
	ck_assert_uint_eq(a->journal_depth, CONF_JOURNAL_DEPTH_DEFAULT);
	ck_assert_uint_eq(a->journal_usage, 2u << 20);
	ck_assert_int_eq(a->serial_policy, CONF_SERIAL_UNIXTIME);
	ck_assert_uint_eq(b->nacl, 2);
	ck_assert_str_eq(b->acl[0]->id, "a2");
	ck_assert(b->acl[0]->deny);
	ck_assert_uint_eq(b->nnotify, 1);
	ck_assert_str_eq(b->notify[0]->id, "r2");
	ck_assert_uint_eq(b->journal_depth, 5);
	ck_assert_uint_eq(b->journal_usage, 2u << 20); /* the default template's */
	ck_assert_int_eq(b->serial_policy, CONF_SERIAL_INCREMENT);
	conf_free(c);

	/* without a template: nothing allowed, nobody notified */
	ck_assert_int_eq(load_n("t.conf", "zone:\n  - domain: c.example\n", 28, &c), 0);
	ck_assert_uint_eq(c->zones[0].set->nacl, 0);
	ck_assert_uint_eq(c->zones[0].set->nnotify, 0);
	ck_assert_int_eq(c->zones[0].set->serial_policy, CONF_SERIAL_KEEP);
	conf_free(c);

	expect_error("zone:\n  - domain: a.example\n    acl: nope\n",
	             "t.conf:3:10: zone.acl 'nope': no such acl (define it in the acl: section)");
	expect_error("zone:\n  - domain: a.example\n    notify: [x]\n",
	             "t.conf:3:14: zone.notify 'x': no such remote (define it in the remote: "
	             "section)");
	expect_error("remote:\n  - id: r\n    address: 192.0.2.1\n"
	             "zone:\n  - domain: a.example\n    notify: [r, r]\n",
	             "t.conf:6:17: zone.notify 'r': listed twice");
	expect_error("zone:\n  - domain: a.example\n    serial-policy: dateserial\n",
	             "t.conf:3:20: zone.serial-policy 'dateserial': expected keep, increment or "
	             "unixtime");
	expect_error("template:\n  - id: t\n    journal-max-depth: 0\n",
	             "t.conf:3:24: template.journal-max-depth '0': expected a count from 1 to "
	             "100000");
	expect_error("zone:\n  - domain: a.example\n    journal-max-usage: 10X\n",
	             "t.conf:3:24: zone.journal-max-usage '10X': expected a size from 64K to 1024G "
	             "(digits, then K, M or G)");
}
END_TEST

/* ---------------------------------------------------------------- zone files */

static void assert_zone(const struct conf *c, size_t i, const char *name, const char *storage,
                        const char *file, const char *tpl)
{
	ck_assert_uint_lt(i, c->nzones);
	const struct conf_zone *z = &c->zones[i];
	ck_assert_str_eq(z->name, name);
	ck_assert_str_eq(z->storage, storage);
	ck_assert_str_eq(z->file, file);
	if (tpl)
		ck_assert_str_eq(z->tpl ? z->tpl->id : "(none)", tpl);
	else
		ck_assert_ptr_null(z->tpl);
	uint8_t apex[DNAME_MAX], lower[DNAME_MAX];
	size_t len = ut_name(name, apex);
	dname_lower(lower, apex, len);
	ck_assert_uint_eq(z->apex_len, len);
	ck_assert_mem_eq(z->apex, lower, len);
	ck_assert_ptr_eq(conf_zone_find(c, lower, len), z);
}

START_TEST(zone_files_default)
{
	struct conf *c = load_named("/etc/shoal/shoal.conf",
	                            "zone:\n  - domain: Example.COM\n  - domain: .\n"
	                            "  - domain: example.net.\n    file: /srv/net.zone\n");
	ck_assert_uint_eq(c->nzones, 3);
	assert_zone(c, 0, "example.com.", CONF_STORAGE_DEFAULT,
	            CONF_STORAGE_DEFAULT "/example.com.zone", NULL);
	ck_assert_str_eq(c->zones[0].domain, "Example.COM");
	ck_assert_str_eq(c->zones[0].where, "/etc/shoal/shoal.conf:2");
	assert_zone(c, 1, ".", CONF_STORAGE_DEFAULT, CONF_STORAGE_DEFAULT "/root.zone", NULL);
	assert_zone(c, 2, "example.net.", CONF_STORAGE_DEFAULT, "/srv/net.zone", NULL);
	uint8_t other[DNAME_MAX];
	size_t ol = ut_name("example.org.", other);
	ck_assert_ptr_null(conf_zone_find(c, other, ol));
	conf_free(c);
}
END_TEST

START_TEST(zone_files_templates)
{
	struct conf *c = load_named("/etc/shoal/shoal.conf", "template:\n"
	                                                     "  - id: default\n"
	                                                     "    storage: /srv/dns\n"
	                                                     "    file: \"%s.db\"\n"
	                                                     "  - id: other\n"
	                                                     "    storage: other\n"
	                                                     "    file: zones/%s\n"
	                                                     "  - id: bare\n"
	                                                     "zone:\n"
	                                                     "  - domain: a.example\n"
	                                                     "  - domain: b.example\n"
	                                                     "    template: other\n"
	                                                     "  - domain: c.example\n"
	                                                     "    file: /abs/c.zone\n"
	                                                     "  - domain: d.example\n"
	                                                     "    storage: local\n"
	                                                     "  - domain: .\n"
	                                                     "  - domain: e.example\n"
	                                                     "    template: bare\n"
	                                                     "  - domain: f.example\n"
	                                                     "    template: other\n"
	                                                     "    storage: /x\n"
	                                                     "    file: \"100%%/%s\"\n"
	                                                     "  - domain: g.example\n"
	                                                     "    file: fixed.zone\n");
	ck_assert_uint_eq(c->ntemplates, 3);
	ck_assert_str_eq(c->templates[1].storage, "/etc/shoal/other");
	ck_assert_str_eq(c->templates[1].file, "zones/%s");
	ck_assert_ptr_null(c->templates[2].storage);
	ck_assert_ptr_null(c->templates[2].file);
	assert_zone(c, 0, "a.example.", "/srv/dns", "/srv/dns/a.example.db", "default");
	assert_zone(c, 1, "b.example.", "/etc/shoal/other", "/etc/shoal/other/zones/b.example",
	            "other");
	assert_zone(c, 2, "c.example.", "/srv/dns", "/abs/c.zone", "default");
	assert_zone(c, 3, "d.example.", "/etc/shoal/local", "/etc/shoal/local/d.example.db",
	            "default");
	assert_zone(c, 4, ".", "/srv/dns", "/srv/dns/root.db", "default");
	assert_zone(c, 5, "e.example.", CONF_STORAGE_DEFAULT,
	            CONF_STORAGE_DEFAULT "/e.example.zone", "bare");
	assert_zone(c, 6, "f.example.", "/x", "/x/100%/f.example", "other");
	assert_zone(c, 7, "g.example.", "/srv/dns", "/srv/dns/fixed.zone", "default");
	conf_free(c);

	expect_error("zone:\n  - domain: example.com\n    file: \"%d.zone\"\n",
	             "t.conf:3:11: file '%d.zone': only %s (the zone's name) and %% may follow %");
	expect_error(
	    "zone:\n  - domain: example.com\n    file: \"%s/%s.zone\"\n",
	    "t.conf:3:11: file '%s/%s.zone': only %s (the zone's name) and %% may follow %");
	expect_error("zone:\n  - domain: example.com\n    file: \"x%\"\n",
	             "t.conf:3:11: file 'x%': only %s (the zone's name) and %% may follow %");
	expect_error("zone:\n  - domain: a..example\n",
	             "t.conf:2:13: zone.domain 'a..example': not a domain name");
}
END_TEST

START_TEST(zone_files_relative)
{
	/* relative to the configuration file's folder, made absolute */
	char dir[PATH_MAX], real[PATH_MAX], path[PATH_MAX], want[PATH_MAX * 2];
	ut_tmpdir(dir, sizeof(dir));
	ck_assert_ptr_nonnull(realpath(dir, real));
	ut_write(dir, "etc/shoal.conf",
	         "template:\n  - id: default\n    storage: zones\nzone:\n  - domain: example.com\n"
	         "  - domain: example.net\n    storage: ../var\n");
	ut_path(path, sizeof(path), dir, "etc/shoal.conf");
	struct conf *c = NULL;
	memset(&D, 0, sizeof(D));
	int r = conf_load(path, diag, NULL, &c);
	if (r < 0)
		dump();
	ck_assert_int_eq(r, 0);
	ck_assert_str_eq(c->path, path);
	snprintf(want, sizeof(want), "%s/etc/zones/example.com.zone", real);
	ck_assert_str_eq(c->zones[0].file, want);
	snprintf(want, sizeof(want), "%s/etc/../var/example.net.zone", real);
	ck_assert_str_eq(c->zones[1].file, want);
	conf_free(c);

	/* a name without a folder: the current one */
	char cwd[PATH_MAX], old[PATH_MAX];
	ck_assert_ptr_nonnull(getcwd(old, sizeof(old)));
	ck_assert_int_eq(chdir(real), 0);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	c = load_named("t.conf", "zone:\n  - domain: example.com\n    storage: s\n");
	snprintf(want, sizeof(want), "%s/s/example.com.zone", cwd);
	ck_assert_str_eq(c->zones[0].file, want);
	conf_free(c);
	/* at the root */
	c = load_named("/shoal.conf", "zone:\n  - domain: example.com\n    storage: s\n");
	ck_assert_str_eq(c->zones[0].file, "/s/example.com.zone");
	conf_free(c);
	ck_assert_int_eq(chdir(old), 0);

	memset(&D, 0, sizeof(D));
	ut_path(path, sizeof(path), dir, "missing.conf");
	ck_assert_int_eq(conf_load(path, diag, NULL, &c), -1);
	ck_assert_ptr_null(c);
	ck_assert_uint_eq(D.n, 1);
	snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", path);
	ck_assert_str_eq(D.msg[0], want);
	ut_rmtree(dir);
}
END_TEST

/* The example of shoal.conf(5), whole. */
START_TEST(full_example)
{
	struct conf *c =
	    load_named("/etc/shoal/shoal.conf",
	               "server:\n"
	               "  listen: [127.0.0.1:5353, \"[::1]:5353\"]\n"
	               "  threads: 2\n"
	               "  control: /run/shoal/shoal.sock\n"
	               "key:\n"
	               "  - id: xfr\n"
	               "    algorithm: hmac-sha256\n"
	               "    secret: K2tf3TRjvQkVCmJF3/Z9vA==\n"
	               "remote:\n"
	               "  - id: knot2\n"
	               "    address: 192.0.2.2@53\n"
	               "    key: xfr\n"
	               "acl:\n"
	               "  - id: secondaries\n"
	               "    address: [192.0.2.0/24, \"2001:db8::/32\"]\n"
	               "    key: xfr\n"
	               "    action: [transfer]\n"
	               "template:\n"
	               "  - id: default\n"
	               "    storage: /var/lib/shoal\n"
	               "zone:\n"
	               "  - domain: example.com\n"
	               "    file: example.com.zone        # relative to storage\n"
	               "  - domain: example.net          # /var/lib/shoal/example.net.zone\n");
	ck_assert_uint_eq(c->server.nlisten, 2);
	ck_assert_uint_eq(c->server.threads, 2);
	ck_assert_str_eq(c->server.control, "/run/shoal/shoal.sock");
	ck_assert(c->server.control_set);
	ck_assert_uint_eq(c->nkeys, 1);
	ck_assert_uint_eq(c->keys[0].secret_len, 16);
	ck_assert_uint_eq(c->nremotes, 1);
	ck_assert_ptr_eq(c->remotes[0].key, &c->keys[0]);
	ck_assert_uint_eq(c->nacls, 1);
	ck_assert_uint_eq(c->acls[0].nprefix, 2);
	ck_assert_uint_eq(c->nzones, 2);
	assert_zone(c, 0, "example.com.", "/var/lib/shoal", "/var/lib/shoal/example.com.zone",
	            "default");
	assert_zone(c, 1, "example.net.", "/var/lib/shoal", "/var/lib/shoal/example.net.zone",
	            "default");
	conf_free(c);
}
END_TEST

static Suite *conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *t = tcase_create("server");
	tcase_add_test(t, server_rows_match_flags);
	tcase_add_test(t, flag_overrides_file);
	tcase_add_test(t, empty_file);
	suite_add_tcase(s, t);

	t = tcase_create("errors");
	tcase_add_test(t, yaml_syntax);
	tcase_add_test(t, unknown_names);
	tcase_add_test(t, wrong_types);
	tcase_add_test(t, bad_values);
	tcase_add_test(t, missing_values);
	tcase_add_test(t, nul_characters);
	tcase_add_test(t, duplicate_keys);
	tcase_add_test(t, duplicate_entries);
	tcase_add_test(t, undefined_references);
	tcase_add_test(t, key_errors);
	tcase_add_test(t, catalog_keys);
	tcase_add_test(t, catalog_interpret_keys);
	tcase_add_test(t, derive_members);
	tcase_add_test(t, pool_many_and_large);
	tcase_add_test(t, second_document);
	tcase_add_test(t, too_many_errors);
	suite_add_tcase(s, t);

	t = tcase_create("sections");
	tcase_add_test(t, secrets_from_tools);
	tcase_add_test(t, remote_forms);
	tcase_add_test(t, acl_forms);
	tcase_add_test(t, zone_transfer_settings);
	tcase_add_test(t, zone_secondary_settings);
	tcase_add_test(t, zone_files_default);
	tcase_add_test(t, zone_files_templates);
	tcase_add_test(t, zone_files_relative);
	tcase_add_test(t, full_example);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
