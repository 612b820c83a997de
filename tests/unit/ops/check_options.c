/* check_options.c: command-line flags (src/options.c). */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/log.h"
#include "ops/options.h"
#include "dns/query.h"

static struct options O;
static char g_err[512];

/* options_parse on "shoal" followed by the given arguments (NULL ends). */
static enum options_result parse(const char *first, ...)
{
	/* Every argv is kept to the end: the options point into it, and
	 * glibc's getopt may still hold a pointer into the previous one
	 * (options_parse restarts with optind = 1, not 0, which would make
	 * glibc forget it). */
	static char *pool[4096];
	static size_t used;
	char **argv = pool + used;
	int argc = 0;
	ck_assert_uint_lt(used + 66, sizeof(pool) / sizeof(pool[0]));
	argv[argc++] = strdup("shoal");
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		ck_assert_int_lt(argc, 63);
		argv[argc++] = strdup(a);
	}
	va_end(ap);
	argv[argc] = NULL;
	used += (size_t)argc + 1;
	g_err[0] = 0;
	return options_parse(&O, argc, argv, g_err, sizeof(g_err));
}

/* The call failed with a message that names `flag`. */
static void assert_error(enum options_result r, const char *flag)
{
	ck_assert_int_eq(r, OPTIONS_ERROR);
	ck_assert_msg(strstr(g_err, flag) != NULL, "message '%s' does not name %s", g_err, flag);
}

static uint16_t port_of(const struct listen_addr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

/* ---------------------------------------------------------------- defaults */

/* ------------------------------------------------- sockets and steering */

START_TEST(steering_flags)
{
	ck_assert_int_eq(parse(NULL), OPTIONS_OK);
	ck_assert_int_eq(O.socket_mode, SOCKET_MODE_REUSEPORT);
	ck_assert_int_eq(O.steer, STEER_RANDOM);
	ck_assert(!O.cpu_affinity);
	ck_assert_ptr_null(O.replace);
	ck_assert_int_eq(parse("--steer", "random", "--socket-mode", "reuseport", NULL), OPTIONS_OK);
	ck_assert_int_eq(O.steer, STEER_RANDOM);
	ck_assert_int_eq(parse("--steer", "hash", NULL), OPTIONS_OK);
	ck_assert_int_eq(O.steer, STEER_HASH);
	ck_assert_int_eq(parse("--steer", "cpu", "--cpu-affinity", NULL), OPTIONS_OK);
	ck_assert_int_eq(O.steer, STEER_CPU);
	ck_assert(O.cpu_affinity);
	ck_assert_int_eq(parse("--socket-mode", "shared", "--cpu-affinity", NULL), OPTIONS_OK);
	ck_assert_int_eq(O.socket_mode, SOCKET_MODE_SHARED);
	ck_assert_int_eq(parse("--replace", "/run/shoal.pid", NULL), OPTIONS_OK);
	ck_assert_str_eq(O.replace, "/run/shoal.pid");
}
END_TEST

START_TEST(steering_rejected)
{
	assert_error(parse("--steer", "round-robin", NULL), "--steer round-robin");
	assert_error(parse("--socket-mode", "many", NULL), "--socket-mode many");
	/* the receiving CPU's socket means nothing without a worker per CPU */
	assert_error(parse("--steer", "cpu", NULL), "--cpu-affinity");
	/* a shared socket has no sockets to choose between */
	assert_error(parse("--socket-mode", "shared", "--steer", "random", NULL), "--steer");
	assert_error(parse("--socket-mode", "shared", "--steer", "hash", NULL), "--steer");
	assert_error(parse("--replace", "", NULL), "--replace");
}
END_TEST

START_TEST(defaults)
{
	ck_assert_int_eq(parse(NULL), OPTIONS_OK);
	ck_assert_str_eq(O.zones_dir, "/etc/shoal/zones");
	ck_assert_uint_ge(O.threads, 1);
	ck_assert_uint_le(O.threads, THREADS_MAX);
	ck_assert_uint_eq(O.edns_size, EDNS_SIZE_DEFAULT);
	ck_assert_uint_eq(O.tcp_idle_ms, 10000);
	ck_assert_uint_eq(O.tcp_max_conns, 1024);
	ck_assert_int_eq(O.log_level, LOG_LVL_INFO);
	ck_assert_ptr_null(O.nsid);
	ck_assert_uint_eq(O.nsid_len, 0);
	ck_assert(!O.check_only);
	/* both wildcards on port 53 */
	ck_assert_uint_eq(O.nlisten, 2);
	ck_assert_str_eq(O.listen[0].text, "0.0.0.0:53");
	ck_assert_str_eq(O.listen[1].text, "[::]:53");
	ck_assert_int_eq(O.listen[0].ss.ss_family, AF_INET);
	ck_assert_int_eq(O.listen[1].ss.ss_family, AF_INET6);
}
END_TEST

/* ---------------------------------------------------------------- --listen */

START_TEST(listen_forms)
{
	ck_assert_int_eq(parse("--listen", "127.0.0.1:53", "--listen", "[::1]:5353", "-l",
			       "192.0.2.1", "--listen=[2001:db8::1]", "-l", "::1", NULL),
			 OPTIONS_OK);
	ck_assert_uint_eq(O.nlisten, 5);
	ck_assert_int_eq(O.listen[0].ss.ss_family, AF_INET);
	ck_assert_uint_eq(O.listen[0].len, sizeof(struct sockaddr_in));
	ck_assert_uint_eq(port_of(&O.listen[0]), 53);
	ck_assert_str_eq(O.listen[0].text, "127.0.0.1:53");
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&O.listen[0].ss;
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7f000001);

	ck_assert_int_eq(O.listen[1].ss.ss_family, AF_INET6);
	ck_assert_uint_eq(O.listen[1].len, sizeof(struct sockaddr_in6));
	ck_assert_uint_eq(port_of(&O.listen[1]), 5353);
	ck_assert_str_eq(O.listen[1].text, "[::1]:5353");
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&O.listen[1].ss;
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));

	/* bare addresses: port 53 */
	ck_assert_str_eq(O.listen[2].text, "192.0.2.1:53");
	ck_assert_uint_eq(port_of(&O.listen[2]), 53);
	ck_assert_str_eq(O.listen[3].text, "[2001:db8::1]:53");
	ck_assert_str_eq(O.listen[4].text, "[::1]:53");
	ck_assert_int_eq(O.listen[4].ss.ss_family, AF_INET6);
}
END_TEST

START_TEST(listen_garbage)
{
	static const char *bad[] = {
		"garbage", "foo:53", "256.1.1.1:53", "127.0.0.1:", "127.0.0.1:65536",
		"127.0.0.1:-1", "127.0.0.1:+53", "127.0.0.1:53x", "127.0.0.1:0x35", "[::1",
		"[::1]x", "[::1]:", "[127.0.0.1]:53x", ":53", "", "1.2.3:53", "[::1]:99999",
		NULL,
	};
	for (int i = 0; bad[i]; i++) {
		enum options_result r = parse("--listen", bad[i], NULL);
		ck_assert_msg(r == OPTIONS_ERROR, "--listen '%s' accepted", bad[i]);
		assert_error(r, "--listen");
		ck_assert_msg(strstr(g_err, bad[i]) != NULL, "message '%s' does not quote '%s'", g_err,
			      bad[i]);
	}
}
END_TEST

START_TEST(listen_too_many)
{
	const char *a = "127.0.0.1:53";
	enum options_result r = parse("-l", a, "-l", a, "-l", a, "-l", a, "-l", a, "-l", a, "-l", a,
				      "-l", a, "-l", a, "-l", a, "-l", a, "-l", a, "-l", a, "-l", a,
				      "-l", a, "-l", a, NULL);
	ck_assert_int_eq(r, OPTIONS_OK);
	ck_assert_uint_eq(O.nlisten, LISTEN_MAX);
	r = parse("-l", a, "-l", a, "-l", a, "-l", a, "-l", a, "-l", a, "-l", a, "-l", a, "-l", a,
		  "-l", a, "-l", a, "-l", a, "-l", a, "-l", a, "-l", a, "-l", a, "-l", a, NULL);
	assert_error(r, "--listen");
}
END_TEST

START_TEST(parse_addr_direct)
{
	struct listen_addr a;
	ck_assert_int_eq(options_parse_addr("10.0.0.1", 9153, &a), 0);
	ck_assert_uint_eq(port_of(&a), 9153);
	ck_assert_str_eq(a.text, "10.0.0.1:9153");
	ck_assert_int_eq(options_parse_addr("[fe80::1]:0", 53, &a), 0);
	ck_assert_uint_eq(port_of(&a), 0);
	ck_assert_int_eq(options_parse_addr("10.0.0.1:65535", 53, &a), 0);
	ck_assert_uint_eq(port_of(&a), 65535);
	ck_assert_int_eq(options_parse_addr("localhost:53", 53, &a), -1); /* no resolving */
	/* a host part longer than any address */
	char longhost[200];
	memset(longhost, '1', sizeof(longhost) - 1);
	longhost[sizeof(longhost) - 1] = 0;
	ck_assert_int_eq(options_parse_addr(longhost, 53, &a), -1);
	longhost[0] = '[';
	ck_assert_int_eq(options_parse_addr(longhost, 53, &a), -1);
}
END_TEST

/* ---------------------------------------------------------------- numbers */

START_TEST(threads)
{
	ck_assert_int_eq(parse("--threads", "4", NULL), OPTIONS_OK);
	ck_assert_uint_eq(O.threads, 4);
	ck_assert_int_eq(parse("-t", "1", NULL), OPTIONS_OK);
	ck_assert_uint_eq(O.threads, 1);
	ck_assert_int_eq(parse("--threads=256", NULL), OPTIONS_OK);
	ck_assert_uint_eq(O.threads, THREADS_MAX);
	static const char *bad[] = {"0", "abc", "257", "-1", "4x", "", " 4", "1e3", NULL};
	for (int i = 0; bad[i]; i++) {
		enum options_result r = parse("--threads", bad[i], NULL);
		ck_assert_msg(r == OPTIONS_ERROR, "--threads '%s' accepted", bad[i]);
		assert_error(r, "--threads");
	}
}
END_TEST

START_TEST(edns_size)
{
	ck_assert_int_eq(parse("--edns-size", "512", NULL), OPTIONS_OK);
	ck_assert_uint_eq(O.edns_size, DNS_UDP_MIN);
	ck_assert_int_eq(parse("--edns-size", "4096", NULL), OPTIONS_OK);
	ck_assert_uint_eq(O.edns_size, EDNS_SIZE_MAX);
	ck_assert_int_eq(parse("--edns-size", "1400", NULL), OPTIONS_OK);
	ck_assert_uint_eq(O.edns_size, 1400);
	static const char *bad[] = {"511", "4097", "0", "65536", "big", NULL};
	for (int i = 0; bad[i]; i++)
		assert_error(parse("--edns-size", bad[i], NULL), "--edns-size");
}
END_TEST

START_TEST(other_numbers)
{
	ck_assert_int_eq(parse("--tcp-idle-timeout", "5", "--tcp-max-conns", "10",
			       "--stats-interval", "0", NULL),
			 OPTIONS_OK);
	ck_assert_uint_eq(O.tcp_idle_ms, 5000);
	ck_assert_uint_eq(O.tcp_max_conns, 10);
	ck_assert_uint_eq(O.stats_interval, 0);
	assert_error(parse("--tcp-idle-timeout", "0", NULL), "--tcp-idle-timeout");
	assert_error(parse("--tcp-idle-timeout", "3601", NULL), "--tcp-idle-timeout");
	assert_error(parse("--tcp-max-conns", "0", NULL), "--tcp-max-conns");
	assert_error(parse("--stats-interval", "86401", NULL), "--stats-interval");
}
END_TEST

/* ---------------------------------------------------------------- NSID */

START_TEST(nsid_text_and_hex)
{
	ck_assert_int_eq(parse("--nsid", "ns1.example", NULL), OPTIONS_OK);
	ck_assert_str_eq(O.nsid, "ns1.example");
	ck_assert_uint_eq(O.nsid_len, 11);
	ck_assert_mem_eq(O.nsid_bin, "ns1.example", 11);
	ck_assert_int_eq(parse("--nsid", "0x6E7331", NULL), OPTIONS_OK);
	ck_assert_uint_eq(O.nsid_len, 3);
	ck_assert_mem_eq(O.nsid_bin, "ns1", 3);
	ck_assert_int_eq(parse("--nsid", "0X00ff0A", NULL), OPTIONS_OK);
	ck_assert_uint_eq(O.nsid_len, 3);
	ck_assert_mem_eq(O.nsid_bin, "\x00\xff\x0a", 3);
	/* the longest: 128 octets, as text or as hex */
	char t[300];
	memset(t, 'n', 128);
	t[128] = 0;
	ck_assert_int_eq(parse("--nsid", t, NULL), OPTIONS_OK);
	ck_assert_uint_eq(O.nsid_len, 128);
	t[0] = '0';
	t[1] = 'x';
	memset(t + 2, 'a', 256);
	t[258] = 0;
	ck_assert_int_eq(parse("--nsid", t, NULL), OPTIONS_OK);
	ck_assert_uint_eq(O.nsid_len, 128);
	ck_assert_uint_eq(O.nsid_bin[127], 0xaa);
}
END_TEST

START_TEST(nsid_rejected)
{
	char t[300];
	memset(t, 'n', 129);
	t[129] = 0;
	assert_error(parse("--nsid", t, NULL), "--nsid");
	t[0] = '0';
	t[1] = 'x';
	memset(t + 2, 'a', 258); /* 129 octets */
	t[260] = 0;
	assert_error(parse("--nsid", t, NULL), "--nsid");
	static const char *bad[] = {"", "0x", "0xabc", "0xzz", "0x0g", "0x 1", "0x-1", NULL};
	for (int i = 0; bad[i]; i++) {
		enum options_result r = parse("--nsid", bad[i], NULL);
		ck_assert_msg(r == OPTIONS_ERROR, "--nsid '%s' accepted", bad[i]);
		assert_error(r, "--nsid");
	}
}
END_TEST

/* ---------------------------------------------------------------- misc flags */

START_TEST(strings_and_switches)
{
	ck_assert_int_eq(parse("-z", "/srv/zones", "-u", "dns", "--chroot", "/var/empty",
			       "--allow-root", "--identity", "ns1", "--version-string", "v",
			       "--hide-identity", "--hide-version", "--syslog", "--pidfile",
			       "/run/shoal.pid", "--check", "--log-level", "debug", "--metrics",
			       "127.0.0.1", NULL),
			 OPTIONS_OK);
	ck_assert_str_eq(O.zones_dir, "/srv/zones");
	ck_assert_str_eq(O.user, "dns");
	ck_assert_str_eq(O.chroot_dir, "/var/empty");
	ck_assert(O.allow_root);
	ck_assert_str_eq(O.identity, "ns1");
	ck_assert_str_eq(O.version, "v");
	ck_assert(O.hide_identity && O.hide_version && O.syslog && O.check_only);
	ck_assert_str_eq(O.pidfile, "/run/shoal.pid");
	ck_assert_int_eq(O.log_level, LOG_LVL_DEBUG);
	ck_assert_str_eq(O.metrics, "127.0.0.1");
	ck_assert_uint_eq(port_of(&O.metrics_addr), 9153);
	assert_error(parse("--log-level", "loud", NULL), "--log-level");
	assert_error(parse("--metrics", "nowhere", NULL), "--metrics");
}
END_TEST

START_TEST(unknown_flag)
{
	assert_error(parse("--bogus", NULL), "--bogus");
	ck_assert(strstr(g_err, "unknown") != NULL);
}
END_TEST

START_TEST(unknown_short_flag)
{
	assert_error(parse("-x", NULL), "-x");
}
END_TEST

START_TEST(missing_argument)
{
	assert_error(parse("--threads", NULL), "--threads");
	ck_assert(strstr(g_err, "missing") != NULL);
}
END_TEST

START_TEST(unexpected_argument)
{
	assert_error(parse("zones", NULL), "zones");
}
END_TEST

START_TEST(rrl_and_cookie_flags)
{
	/* off by default, with BIND's and NSD's other defaults */
	ck_assert_int_eq(parse(NULL), OPTIONS_OK);
	ck_assert_uint_eq(O.rrl_rate, 0);
	ck_assert_uint_eq(O.rrl_slip, 2);
	ck_assert_uint_eq(O.rrl_window, 2);
	ck_assert_uint_eq(O.rrl_table_size, 1u << 20);
	ck_assert_uint_eq(O.rrl_v4_prefix, 24);
	ck_assert_uint_eq(O.rrl_v6_prefix, 56);
	ck_assert_ptr_null(O.cookie_secret);
	ck_assert_ptr_null(O.cookie_secret_file);
	ck_assert_int_eq(parse("--rrl-rate", "50", "--rrl-slip", "0", "--rrl-window", "15",
			       "--rrl-table-size", "4096", "--rrl-ipv4-prefix", "32",
			       "--rrl-ipv6-prefix", "48", NULL),
			 OPTIONS_OK);
	ck_assert_uint_eq(O.rrl_rate, 50);
	ck_assert_uint_eq(O.rrl_slip, 0);
	ck_assert_uint_eq(O.rrl_window, 15);
	ck_assert_uint_eq(O.rrl_table_size, 4096);
	ck_assert_uint_eq(O.rrl_v4_prefix, 32);
	ck_assert_uint_eq(O.rrl_v6_prefix, 48);
	assert_error(parse("--rrl-rate", "100001", NULL), "--rrl-rate");
	assert_error(parse("--rrl-rate", "x", NULL), "--rrl-rate");
	assert_error(parse("--rrl-slip", "101", NULL), "--rrl-slip");
	assert_error(parse("--rrl-window", "0", NULL), "--rrl-window");
	assert_error(parse("--rrl-table-size", "3", NULL), "--rrl-table-size");
	assert_error(parse("--rrl-ipv4-prefix", "33", NULL), "--rrl-ipv4-prefix");
	assert_error(parse("--rrl-ipv6-prefix", "129", NULL), "--rrl-ipv6-prefix");

	ck_assert_int_eq(parse("--cookie-secret", "000102030405060708090a0b0c0d0e0f", NULL),
			 OPTIONS_OK);
	ck_assert_str_eq(O.cookie_secret, "000102030405060708090a0b0c0d0e0f");
	assert_error(parse("--cookie-secret", "0001", NULL), "--cookie-secret");
	ck_assert_int_eq(parse("--cookie-secret-file", "/etc/shoal/cookie", NULL), OPTIONS_OK);
	ck_assert_str_eq(O.cookie_secret_file, "/etc/shoal/cookie");
	assert_error(parse("--cookie-secret", "000102030405060708090a0b0c0d0e0f",
			   "--cookie-secret-file", "/x", NULL),
		     "--cookie-secret-file");
}
END_TEST

START_TEST(help_and_version)
{
	/* what they print goes to stdout: catch it in a file */
	char path[] = "/tmp/shoal-unit-stdout-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	fflush(stdout);
	int saved = dup(1);
	ck_assert_int_eq(dup2(fd, 1), 1);
	ck_assert_int_eq(parse("--help", NULL), OPTIONS_EXIT_OK);
	ck_assert_int_eq(parse("-h", NULL), OPTIONS_EXIT_OK);
	ck_assert_int_eq(parse("--version", NULL), OPTIONS_EXIT_OK);
	ck_assert_int_eq(parse("-V", NULL), OPTIONS_EXIT_OK);
	/* even after other flags */
	ck_assert_int_eq(parse("--threads", "2", "--help", NULL), OPTIONS_EXIT_OK);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	char out[16384];
	ssize_t n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	ck_assert_int_gt(n, 0);
	out[n] = 0;
	ck_assert_ptr_nonnull(strstr(out, "Usage: shoal"));
	ck_assert_ptr_nonnull(strstr(out, "shoal " SHOAL_VERSION " (ldns "));
	/* the usage text names every flag the parser knows */
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	options_usage(f);
	fclose(f);
	static const char *flags[] = {"--zones", "--listen", "--threads", "--user", "--chroot",
				      "--allow-root", "--edns-size", "--nsid", "--identity",
				      "--hide-identity", "--version-string", "--hide-version",
				      "--tcp-idle-timeout", "--tcp-max-conns", "--stats-interval",
				      "--metrics", "--log-level", "--syslog", "--pidfile", "--check",
				      "--help", "--version", NULL};
	for (int i = 0; flags[i]; i++)
		ck_assert_msg(strstr(text, flags[i]) != NULL, "usage does not mention %s", flags[i]);
	free(text);
}
END_TEST

static Suite *options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *t = tcase_create("options");
	tcase_add_test(t, defaults);
	tcase_add_test(t, listen_forms);
	tcase_add_test(t, listen_garbage);
	tcase_add_test(t, listen_too_many);
	tcase_add_test(t, parse_addr_direct);
	tcase_add_test(t, threads);
	tcase_add_test(t, edns_size);
	tcase_add_test(t, other_numbers);
	tcase_add_test(t, nsid_text_and_hex);
	tcase_add_test(t, nsid_rejected);
	tcase_add_test(t, strings_and_switches);
	tcase_add_test(t, unknown_flag);
	tcase_add_test(t, unknown_short_flag);
	tcase_add_test(t, missing_argument);
	tcase_add_test(t, unexpected_argument);
	tcase_add_test(t, rrl_and_cookie_flags);
	tcase_add_test(t, help_and_version);
	tcase_add_test(t, steering_flags);
	tcase_add_test(t, steering_rejected);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(options_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
