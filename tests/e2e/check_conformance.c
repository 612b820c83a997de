/*
 * check_conformance.c - RFC conformance of shoal's answers, end to end.
 *
 * Starts the server under test on tests/conformance/zones/ and checks every
 * case of tests/conformance/expectations.txt (one libcheck loop iteration per
 * case; a failure names the file line, the query, every mismatch and the
 * reply). The expectations come from the RFCs, not from a server's output.
 *
 * Target: shoal ($SHOAL_BIN) by default. With SHOAL_E2E_TARGET=knot or the
 * argument --knot, the same cases run against knotd instead, which checks the
 * expectations themselves: a case marked "# knot differs:" that fails there
 * is reported as a known difference, not a failure. Without knotd installed
 * that mode exits 77 (skipped).
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>

#include "harness.h"

/* After this many queries in a row without a reply the server is taken as
 * hung, and the remaining cases fail at once instead of each waiting for its
 * timeout (which would overrun meson's 120 s). */
#define HUNG_AFTER_TIMEOUTS 3
/* Per-attempt timeout; a UDP query is tried twice. Loopback answers take
 * well under 1 ms, so 1 s only matters for a broken server. */
#define CASE_QUERY_TIMEOUT_MS 1000
/* libcheck passes a failure message from the forked test through a buffer
 * of limited size: longer reports are printed whole on stderr instead. */
#define CK_MSG_MAX 3000

enum target {
	TARGET_SHOAL,
	TARGET_KNOT,
};

/* What the forked test children share with each other (MAP_SHARED). */
struct shared_state {
	int consecutive_timeouts[8];
};

/* The server configurations cases select with server=NAME. */
struct server_config {
	const char *name;
	const char *const *shoal_args;
	const char *knot_conf; /* lines for knot.conf's server: section */
	bool used;
	int start_rc;
	struct harness_server srv;
};

static const char *const default_args[] = {"--version-string", "test-1", "--identity", "node-1",
                                           NULL};
static const char *const hidden_args[] = {"--hide-version", "--hide-identity", NULL};

static struct server_config configs[] = {
    {.name = "default",
     .shoal_args = default_args,
     .knot_conf = "identity: node-1\nversion: test-1\n"},
    /* Knot: an empty identity/version disables the answer. */
    {.name = "hidden", .shoal_args = hidden_args, .knot_conf = "identity: \"\"\nversion: \"\"\n"},
};
#define N_CONFIGS (sizeof(configs) / sizeof(configs[0]))

static enum target target;
static struct harness_cases cases;
static char zonedir[PATH_MAX];
static char exp_path[PATH_MAX];
static struct shared_state *shared;

static const char *target_name(void)
{
	return target == TARGET_KNOT ? "knotd" : "shoal";
}

/* Whether the server process still exists and is not a zombie. Works from
 * the forked test children, which cannot waitpid() the server. */
static bool server_alive(const struct harness_server *srv)
{
	if (srv->pid <= 0 || kill(srv->pid, 0) != 0)
		return false;
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)srv->pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return true; /* no /proc: trust kill() */
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *rp = strrchr(buf, ')'); /* "pid (comm) S ..." */
	return rp == NULL || rp[1] == '\0' || rp[2] != 'Z';
}

static int config_index(const char *name)
{
	for (size_t i = 0; i < N_CONFIGS; i++)
		if (strcmp(configs[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void servers_start(void)
{
	for (size_t i = 0; i < N_CONFIGS; i++) {
		struct server_config *cfg = &configs[i];
		if (!cfg->used)
			continue;
		/* On failure the harness prints why and the log; each case
		 * using this configuration fails saying so. */
		if (target == TARGET_KNOT)
			cfg->start_rc = harness_knot_start(&cfg->srv, zonedir, cfg->knot_conf);
		else
			cfg->start_rc = harness_shoal_start(&cfg->srv, zonedir, cfg->shoal_args);
	}
}

static void servers_stop(void)
{
	for (size_t i = 0; i < N_CONFIGS; i++) {
		struct server_config *cfg = &configs[i];
		if (!cfg->used)
			continue;
		if (cfg->srv.pid > 0) {
			int rc = harness_server_stop(&cfg->srv, 0);
			if (rc == -ETIMEDOUT)
				fprintf(stderr, "%s (%s) ignored SIGTERM for %d ms: killed\n",
				        target_name(), cfg->name, HARNESS_STOP_TIMEOUT_MS);
		}
		harness_server_cleanup(&cfg->srv);
	}
}

/* Header of a failure report: where the case is and what was asked. */
static void report_head(FILE *f, const struct harness_case *c)
{
	char qs[512];
	fprintf(f, "%s:%d: %s [%s server]\n", exp_path, c->line,
	        harness_query_str(&c->q, qs, sizeof(qs)), c->server);
	if (c->comment != NULL) {
		const char *nl = strchr(c->comment, '\n');
		fprintf(f, "  (%.*s%s)\n", nl ? (int)(nl - c->comment) : (int)strlen(c->comment),
		        c->comment, nl ? " ..." : "");
	}
}

START_TEST(test_case)
{
	const struct harness_case *c = &cases.c[_i];
	int ci = config_index(c->server);
	ck_assert_msg(ci >= 0, "%s:%d: unknown server=%s", exp_path, c->line, c->server);
	struct server_config *cfg = &configs[ci];
	if (cfg->start_rc != 0) {
		char *tail = harness_server_log_tail(&cfg->srv, 1500);
		ck_abort_msg("%s:%d: %s (%s configuration) did not start: %s\n%s", exp_path,
		             c->line, target_name(), cfg->name,
		             harness_start_strerror(cfg->start_rc, &cfg->srv), tail);
		free(tail); /* not reached */
	}
	if (shared->consecutive_timeouts[ci] >= HUNG_AFTER_TIMEOUTS)
		ck_abort_msg("%s:%d: %s stopped answering (%d queries in a row timed out); "
		             "not querying it any more",
		             exp_path, c->line, target_name(), HUNG_AFTER_TIMEOUTS);

	char *report = NULL;
	size_t report_len = 0;
	FILE *f = open_memstream(&report, &report_len);
	ck_assert_ptr_nonnull(f);
	report_head(f, c);

	/* over UDP try twice: a lost datagram is not a conformance failure */
	struct harness_reply r;
	int rc = harness_query_retry(NULL, cfg->srv.port, &c->q, CASE_QUERY_TIMEOUT_MS, 2, &r);
	bool ok;
	if (rc < 0) {
		if (rc == -ETIMEDOUT)
			__atomic_add_fetch(&shared->consecutive_timeouts[ci], 1, __ATOMIC_SEQ_CST);
		fprintf(f, "    no reply: %s%s\n", strerror(-rc),
		        server_alive(&cfg->srv) ? "" : " (the server is not running)");
		ok = false;
	} else {
		__atomic_store_n(&shared->consecutive_timeouts[ci], 0, __ATOMIC_SEQ_CST);
		ok = harness_case_check(c, &r, f);
		if (!ok) {
			fprintf(f, "  reply:\n");
			harness_pkt_dump(r.pkt, f, "    | ");
		}
	}
	harness_reply_free(&r);
	fclose(f);

	if (target == TARGET_KNOT && c->knot_differs != NULL) {
		if (!ok)
			fprintf(stderr, "KNOWN KNOT DIFFERENCE (%s)\n%s\n", c->knot_differs,
			        report);
		else
			fprintf(stderr,
			        "NOTE %s:%d: marked \"knot differs\" but Knot now agrees; drop the "
			        "mark\n",
			        exp_path, c->line);
		ok = true;
	}
	if (!ok && report_len > CK_MSG_MAX)
		fprintf(stderr, "%s\n", report);
	if (!ok) {
		char msg[CK_MSG_MAX + 64];
		snprintf(msg, sizeof(msg), "%.*s%s", CK_MSG_MAX, report,
		         report_len > CK_MSG_MAX ? "\n[... cut: full report on stderr]" : "");
		free(report);
		ck_abort_msg("%s", msg);
	}
	free(report);
}
END_TEST

/* After all cases: the server must still be running (no crash on any of
 * them) and still answer. */
START_TEST(test_server_survived)
{
	for (size_t i = 0; i < N_CONFIGS; i++) {
		struct server_config *cfg = &configs[i];
		if (!cfg->used)
			continue;
		ck_assert_msg(cfg->start_rc == 0, "%s (%s) did not start", target_name(),
		              cfg->name);
		ck_assert_msg(server_alive(&cfg->srv),
		              "%s (%s) is no longer running after the conformance queries",
		              target_name(), cfg->name);
		struct harness_query q = {.qname = "example.com.", .qtype = LDNS_RR_TYPE_SOA};
		struct harness_reply r;
		int rc = harness_query(NULL, cfg->srv.port, &q, 0, &r);
		harness_reply_free(&r);
		ck_assert_msg(rc == 0, "%s (%s) no longer answers: %s", target_name(), cfg->name,
		              strerror(-rc));
	}
}
END_TEST

/* The raw-bytes path of the harness (used by malformed-input tests): a
 * well-formed query sent as bytes over UDP and TCP gets the same answer as
 * through harness_query(). Checks the harness as much as the server. */
START_TEST(test_raw_wire)
{
	struct server_config *cfg = &configs[config_index("default")];
	ck_assert_msg(cfg->start_rc == 0, "%s did not start", target_name());
	struct harness_query q = {.qname = "www.example.com.", .qtype = LDNS_RR_TYPE_A};
	uint8_t *wire = NULL;
	size_t len = 0;
	ck_assert_int_eq(harness_query_wire(&q, 0x5a5a, &wire, &len), 0);
	for (int t = HARNESS_UDP; t <= HARNESS_TCP; t++) {
		uint8_t *reply = NULL;
		size_t rlen = 0;
		int rc = harness_send_raw(NULL, cfg->srv.port, (enum harness_transport)t, wire, len,
		                          0, &reply, &rlen);
		ck_assert_msg(rc == 0 && reply != NULL, "%s: raw query over %s: %s", target_name(),
		              t == HARNESS_TCP ? "TCP" : "UDP", strerror(-rc));
		ldns_pkt *r = NULL;
		ck_assert_int_eq(ldns_wire2pkt(&r, reply, rlen), LDNS_STATUS_OK);
		ck_assert_uint_eq(ldns_pkt_id(r), 0x5a5a);
		ck_assert_int_eq(ldns_pkt_get_rcode(r), LDNS_RCODE_NOERROR);
		ck_assert_uint_eq(ldns_pkt_ancount(r), 2);
		ldns_pkt_free(r);
		free(reply);
	}
	free(wire);
}
END_TEST

static Suite *conformance_suite(void)
{
	Suite *s = suite_create(target == TARGET_KNOT ? "conformance-knot" : "conformance");
	TCase *tc = tcase_create("expectations");
	tcase_add_unchecked_fixture(tc, servers_start, servers_stop);
	tcase_add_loop_test(tc, test_case, 0, (int)cases.n);
	tcase_add_test(tc, test_raw_wire);
	tcase_add_test(tc, test_server_survived);
	suite_add_tcase(s, tc);
	return s;
}

int main(int argc, char **argv)
{
	const char *t = getenv("SHOAL_E2E_TARGET");
	target = (t != NULL && strcmp(t, "knot") == 0) ? TARGET_KNOT : TARGET_SHOAL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--knot") == 0)
			target = TARGET_KNOT;
		else if (strcmp(argv[i], "--shoal") == 0)
			target = TARGET_SHOAL;
	}
	if (target == TARGET_KNOT && harness_knotd_path() == NULL) {
		printf("knotd is not installed: conformance against Knot skipped\n");
		return HARNESS_EXIT_SKIP;
	}
	if (harness_srcpath(zonedir, sizeof(zonedir), "tests/conformance/zones") < 0 ||
	    harness_srcpath(exp_path, sizeof(exp_path), "tests/conformance/expectations.txt") < 0) {
		fprintf(stderr, "SHOAL_SRCDIR is not set (run through meson test)\n");
		return EXIT_FAILURE;
	}
	if (harness_cases_load(exp_path, &cases) < 0 || cases.n == 0) {
		fprintf(stderr, "%s: cannot load any case\n", exp_path);
		return EXIT_FAILURE;
	}
	for (size_t i = 0; i < cases.n; i++) {
		int ci = config_index(cases.c[i].server);
		if (ci < 0) {
			fprintf(stderr, "%s:%d: unknown server=%s\n", exp_path, cases.c[i].line,
			        cases.c[i].server);
			return EXIT_FAILURE;
		}
		configs[ci].used = true;
	}
	shared =
	    mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		perror("mmap");
		return EXIT_FAILURE;
	}
	memset(shared, 0, sizeof(*shared));
	printf("conformance: %zu cases from %s against %s\n", cases.n, exp_path, target_name());
	fflush(stdout);

	SRunner *sr = srunner_create(conformance_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	harness_cases_free(&cases);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
