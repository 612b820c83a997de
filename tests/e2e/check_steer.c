/*
 * check_steer.c - how datagrams reach the workers, seen from outside:
 * - the socket shape: one UDP socket per worker (reuseport) or one in all
 *   (--socket-mode shared), read from /proc/net/udp;
 * - --steer hash keeps one client flow on one worker (the 4-tuple hash),
 *   --steer random spreads a single flow over every worker, --steer cpu
 *   hands a datagram to the worker pinned to the CPU that received it;
 *   per-worker counts come from the /metrics endpoint;
 * - --replace: ten handovers to a new process under steady UDP load lose
 *   no query, and TCP answers after each one.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define ZONE "$TTL 300\n@ SOA ns h 1 7200 3600 1209600 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\n"
#define WORKERS_MAX 8

/* A fresh server directory with st.test. in its zone directory. */
static void prepare(struct harness_server *srv)
{
	ck_assert_int_eq(harness_shoal_prepare(srv), 0);
	ck_assert_int_eq(harness_write_file(srv->zonedir, "st.test.zone", ZONE), 0);
}

static int client_socket(uint16_t port)
{
	int fd = harness_udp_client(NULL, port);
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* One query over a connected socket, its answer awaited (bounded).
 * \return true when the answer with our ID came back */
static bool ask(int fd, uint16_t id, int timeout_ms)
{
	struct harness_query hq = {.qname = "www.st.test.", .qtype = LDNS_RR_TYPE_A};
	uint8_t *q, r[1500];
	size_t len;
	ck_assert_int_eq(harness_query_wire(&hq, id, &q, &len), 0);
	ssize_t sent = send(fd, q, len, 0);
	free(q);
	if (sent != (ssize_t)len)
		return false;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (poll(&p, 1, timeout_ms) == 1) {
		ssize_t n = recv(fd, r, sizeof(r), 0);
		if (n >= 12 && r[0] == (uint8_t)(id >> 8) && r[1] == (uint8_t)id)
			return true;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return false;
	}
	return false;
}

/* Answered UDP queries per worker, from /metrics. \return workers seen */
static unsigned worker_counts(uint16_t mport, unsigned long long *out)
{
	char *m = harness_http_get(mport, "/metrics");
	ck_assert(m != NULL);
	unsigned n = 0;
	for (unsigned w = 0; w < WORKERS_MAX; w++) {
		char key[96];
		snprintf(key, sizeof(key), "shoal_queries_total{proto=\"udp\",worker=\"%u\"}", w);
		long long v = harness_metric(m, key);
		if (v >= 0) {
			out[w] = (unsigned long long)v;
			n = w + 1;
		}
	}
	free(m);
	return n;
}

/* Start shoal with metrics and `extra`; send `count` queries from one
 * client socket (optionally pinned to a CPU); per-worker deltas in `delta`. */
static unsigned one_flow(const char *const *extra, int cpu, unsigned count,
			 unsigned long long *delta)
{
	struct harness_server srv;
	prepare(&srv);
	struct harness_shoal_opts o = {.args = extra, .metrics = true};
	ck_assert_int_eq(harness_shoal_launch(&srv, &o), 0);

	cpu_set_t old, set;
	if (cpu >= 0) {
		sched_getaffinity(0, sizeof(old), &old);
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		ck_assert_int_eq(sched_setaffinity(0, sizeof(set), &set), 0);
	}
	unsigned long long before[WORKERS_MAX] = {0}, after[WORKERS_MAX] = {0};
	unsigned nw = worker_counts(srv.metrics_port, before);
	int fd = client_socket(srv.port);
	unsigned answered = 0;
	for (unsigned i = 0; i < count; i++)
		answered += ask(fd, (uint16_t)(i + 1), 1000);
	close(fd);
	if (cpu >= 0)
		sched_setaffinity(0, sizeof(old), &old);
	ck_assert_uint_eq(answered, count);
	ck_assert_uint_eq(worker_counts(srv.metrics_port, after), nw);
	for (unsigned w = 0; w < nw; w++)
		delta[w] = after[w] - before[w];
	harness_server_cleanup(&srv);
	return nw;
}

START_TEST(test_hash_keeps_a_flow)
{
	const char *extra[] = {"--threads", "4", "--steer", "hash", NULL};
	unsigned long long d[WORKERS_MAX] = {0};
	ck_assert_uint_eq(one_flow(extra, -1, 200, d), 4);
	unsigned busy = 0;
	for (unsigned w = 0; w < 4; w++)
		busy += d[w] > 0;
	ck_assert_msg(busy == 1, "one flow reached %u workers: %llu %llu %llu %llu", busy, d[0], d[1],
		      d[2], d[3]);
}
END_TEST

START_TEST(test_random_spreads_a_flow)
{
	const char *extra[] = {"--threads", "4", "--steer", "random", NULL};
	unsigned long long d[WORKERS_MAX] = {0};
	ck_assert_uint_eq(one_flow(extra, -1, 400, d), 4);
	/* each worker's share is Binomial(400, 1/4): mean 100, sd 8.7; 40 is
	 * seven standard deviations away */
	for (unsigned w = 0; w < 4; w++)
		ck_assert_msg(d[w] >= 40, "worker %u got %llu of 400: %llu %llu %llu %llu", w, d[w],
			      d[0], d[1], d[2], d[3]);
}
END_TEST

START_TEST(test_cpu_follows_the_receiving_cpu)
{
	cpu_set_t set;
	ck_assert_int_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	int cpus[2], n = 0;
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	if (n < 2) {
		fprintf(stderr, "one CPU: --steer cpu not testable here\n");
		return;
	}
	const char *extra[] = {"--threads", "2", "--steer", "cpu", "--cpu-affinity", NULL};
	/* On loopback the kernel receives a datagram on the sender's CPU:
	 * the worker pinned there (worker i on our i-th CPU) must get all. */
	for (int i = 0; i < 2; i++) {
		unsigned long long d[WORKERS_MAX] = {0};
		ck_assert_uint_eq(one_flow(extra, cpus[i], 100, d), 2);
		ck_assert_msg(d[i] == 100 && d[1 - i] == 0,
			      "client on CPU %d: worker 0 got %llu, worker 1 got %llu", cpus[i], d[0], d[1]);
	}
	/* Four workers on two CPUs: workers i and i + 2 share our i-th CPU
	 * and split its datagrams (at random: 200 each way, so each gets some). */
	const char *four[] = {"--threads", "4", "--steer", "cpu", "--cpu-affinity", NULL};
	for (int i = 0; i < 2; i++) {
		unsigned long long d[WORKERS_MAX] = {0};
		ck_assert_uint_eq(one_flow(four, cpus[i], 200, d), 4);
		ck_assert_msg(d[i] > 0 && d[i + 2] > 0 && d[i] + d[i + 2] == 200 && d[1 - i] == 0 &&
				      d[3 - i] == 0,
			      "client on CPU %d: %llu %llu %llu %llu", cpus[i], d[0], d[1], d[2], d[3]);
	}
}
END_TEST

START_TEST(test_socket_modes)
{
	const char *reuse[] = {"--threads", "4", NULL};
	const char *shared[] = {"--threads", "4", "--socket-mode", "shared", NULL};
	const char *const *modes[] = {reuse, shared};
	const int want[] = {4, 1};
	for (int m = 0; m < 2; m++) {
		struct harness_server srv;
		prepare(&srv);
		struct harness_shoal_opts o = {.args = modes[m]};
		ck_assert_int_eq(harness_shoal_launch(&srv, &o), 0);
		ck_assert_int_eq(harness_udp_sockets(srv.port), want[m]);
		int fd = client_socket(srv.port);
		for (unsigned i = 0; i < 50; i++)
			ck_assert(ask(fd, (uint16_t)(i + 1), 1000));
		close(fd);
		harness_server_cleanup(&srv);
	}
}
END_TEST

/* ---- --replace under load --------------------------------------------- */

START_TEST(test_replace_under_load)
{
	/* The zones and the pidfile outlive each process: not in a server's
	 * own directory, which goes with it. */
	char dir[PATH_MAX], pidfile[PATH_MAX + 16];
	ck_assert_int_eq(harness_tmpdir(dir, sizeof(dir), "steer"), 0);
	ck_assert_int_eq(harness_write_file(dir, "st.test.zone", ZONE), 0);
	snprintf(pidfile, sizeof(pidfile), "%s/shoal.pid", dir);
	const char *first[] = {"--pidfile", pidfile, NULL};
	const char *replace[] = {"--pidfile", pidfile, "--replace", pidfile, NULL};
	struct harness_server srv[2] = {{0}, {0}};
	struct harness_shoal_opts o0 = {.zonedir = dir, .args = first};
	ck_assert_int_eq(harness_shoal_prepare(&srv[0]), 0);
	ck_assert_int_eq(harness_shoal_launch(&srv[0], &o0), 0);

	/* A few flows, each a fixed source port: the case where a flow is
	 * tied to one of the old process's sockets until it leaves. Each
	 * waits for its answer (2 s at most) before the next query. */
	const char *names[] = {"www.st.test.", NULL};
	struct harness_load_opts lo = {.port = srv[0].port, .names = names, .threads = 4,
				       .timeout_ms = 2000};
	struct harness_load *load;
	ck_assert_int_eq(harness_load_start(&lo, &load), 0);
	usleep(200000);
	for (int round = 0; round < 10; round++) {
		struct harness_server *old = &srv[round % 2], *new = &srv[(round + 1) % 2];
		harness_server_cleanup(new);
		ck_assert_int_eq(harness_shoal_prepare(new), 0);
		new->port = old->port;
		struct harness_shoal_opts o = {.zonedir = dir, .args = replace, .port_fixed = true,
					       .no_wait = true};
		ck_assert_int_eq(harness_shoal_launch(new, &o), 0);
		/* the old one leaves by itself once the new one serves */
		int gone = harness_server_wait_exit(old, 10000);
		if (gone != 0)
			harness_server_dump_log(new, stderr, 0);
		ck_assert_msg(gone == 0, "round %d: the old process did not leave", round);
		ck_assert_msg(WIFEXITED(old->exit_status) && WEXITSTATUS(old->exit_status) == 0,
			      "round %d: old process status %d", round, old->exit_status);
		ck_assert_msg(harness_server_running(new), "round %d: the new process died", round);
		struct harness_reply r;
		ck_assert_msg(harness_ask(new->port, "www.st.test.", LDNS_RR_TYPE_A, HARNESS_TCP,
					  &r) == 0 &&
				      ldns_pkt_ancount(r.pkt) == 1,
			      "round %d: no TCP answer after handover", round);
		harness_reply_free(&r);
		usleep(100000);
	}
	struct harness_load_stats st;
	harness_load_stop(load, &st);
	harness_load_print(&st, "10 handovers under load", stderr);
	ck_assert_uint_gt(st.answered, 1000);
	ck_assert_uint_eq(st.lost, 0);
	ck_assert_uint_eq(st.rcodes[LDNS_RCODE_NOERROR], st.answered);
	harness_server_cleanup(&srv[0]);
	harness_server_cleanup(&srv[1]);
	harness_rmtree(dir);
}
END_TEST

/* A stale pidfile naming a process that is not shoal is refused. */
START_TEST(test_replace_refuses_other_processes)
{
	char pidfile[PATH_MAX + 16], pid[32];
	snprintf(pid, sizeof(pid), "%d", (int)getpid()); /* this test program */
	for (int i = 0; i < 2; i++) {
		struct harness_server srv;
		prepare(&srv);
		ck_assert_int_eq(harness_write_filef(srv.dir, "other.pid", "%s\n", pid), 0);
		snprintf(pidfile, sizeof(pidfile), "%s/other.pid", srv.dir);
		const char *extra[] = {"--replace", i == 0 ? pidfile : pid, NULL};
		struct harness_shoal_opts o = {.args = extra, .quiet = true};
		ck_assert_int_eq(harness_shoal_launch(&srv, &o), -ECHILD);
		ck_assert(WIFEXITED(srv.exit_status) && WEXITSTATUS(srv.exit_status) == 1);
		char *log = harness_server_log_tail(&srv, 0);
		ck_assert_msg(strstr(log, "not shoal"), "%s", log);
		free(log);
		harness_server_cleanup(&srv);
	}
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {test_hash_keeps_a_flow,
				      test_random_spreads_a_flow,
				      test_cpu_follows_the_receiving_cpu,
				      test_socket_modes,
				      test_replace_under_load,
				      test_replace_refuses_other_processes,
				      NULL};
	struct harness_suite s = {.name = "steer", .timeout_s = 100, .tests = tests};
	return harness_suite_main(&s);
}
