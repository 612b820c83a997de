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
#include <netinet/in.h>
#include <sys/wait.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define ZONE "$TTL 300\n@ SOA ns h 1 7200 3600 1209600 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\n"
#define WORKERS_MAX 8

static void make_zone_dir(char *dir, size_t size)
{
	char path[PATH_MAX + 32];
	ck_assert_int_eq(harness_tmpdir(dir, size, "steer"), 0);
	chmod(dir, 0755); /* started as root, shoal runs as nobody */
	snprintf(path, sizeof(path), "%s/st.test.zone", dir);
	FILE *f = fopen(path, "w");
	ck_assert(f != NULL);
	fputs(ZONE, f);
	fclose(f);
	chmod(path, 0644);
}

static void start_on(struct harness_server *srv, const char *dir, const char *const *extra)
{
	int rc = harness_shoal_start(srv, dir, extra);
	if (rc)
		harness_server_dump_log(srv, stderr, 0);
	ck_assert_msg(rc == 0, "shoal did not start: %s", harness_start_strerror(rc, srv));
}

/* The query "www.st.test. A" in wire form, with ID id. */
static size_t query_wire(uint8_t *buf, size_t size, uint16_t id)
{
	struct harness_query q = {.qname = "www.st.test.", .qtype = LDNS_RR_TYPE_A};
	ldns_pkt *p = harness_build_query(&q, id);
	uint8_t *w = NULL;
	size_t len = 0;
	ck_assert(p && ldns_pkt2wire(&w, p, &len) == LDNS_STATUS_OK && len <= size);
	memcpy(buf, w, len);
	LDNS_FREE(w);
	ldns_pkt_free(p);
	return len;
}

static int client_socket(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* One query over a connected socket, its answer awaited (bounded).
 * \return true when the answer with our ID came back */
static bool ask(int fd, uint16_t id, int timeout_ms)
{
	uint8_t q[512], r[1500];
	size_t len = query_wire(q, sizeof(q), id);
	if (send(fd, q, len, 0) != (ssize_t)len)
		return false;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (poll(&p, 1, timeout_ms) == 1) {
		ssize_t n = recv(fd, r, sizeof(r), 0);
		if (n >= 12 && memcmp(r, q, 2) == 0)
			return true;
		if (n < 0 && errno != EINTR)
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
	const char *key = "shoal_queries_total{proto=\"udp\",worker=\"";
	for (const char *p = strstr(m, key); p; p = strstr(p + 1, key)) {
		unsigned w;
		unsigned long long v;
		if (sscanf(p + strlen(key), "%u\"} %llu", &w, &v) == 2 && w < WORKERS_MAX) {
			out[w] = v;
			if (w + 1 > n)
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
	char dir[PATH_MAX], maddr[64];
	uint16_t mport;
	make_zone_dir(dir, sizeof(dir));
	ck_assert_int_eq(harness_pick_port(&mport), 0);
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%u", mport);
	const char *args[16] = {"--metrics", maddr};
	unsigned na = 2;
	for (unsigned i = 0; extra[i] && na < 15; i++)
		args[na++] = extra[i];
	args[na] = NULL;
	struct harness_server srv = {0};
	start_on(&srv, dir, args);

	cpu_set_t old, set;
	if (cpu >= 0) {
		sched_getaffinity(0, sizeof(old), &old);
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		ck_assert_int_eq(sched_setaffinity(0, sizeof(set), &set), 0);
	}
	unsigned long long before[WORKERS_MAX] = {0}, after[WORKERS_MAX] = {0};
	unsigned nw = worker_counts(mport, before);
	int fd = client_socket(srv.port);
	unsigned answered = 0;
	for (unsigned i = 0; i < count; i++)
		answered += ask(fd, (uint16_t)(i + 1), 1000);
	close(fd);
	if (cpu >= 0)
		sched_setaffinity(0, sizeof(old), &old);
	ck_assert_uint_eq(answered, count);
	ck_assert_uint_eq(worker_counts(mport, after), nw);
	for (unsigned w = 0; w < nw; w++)
		delta[w] = after[w] - before[w];
	harness_server_cleanup(&srv);
	harness_rmtree(dir);
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

/* UDP sockets bound to `port` on 127.0.0.1, from /proc/net/udp. */
static unsigned udp_sockets_on(uint16_t port)
{
	FILE *f = fopen("/proc/net/udp", "r");
	ck_assert(f != NULL);
	char line[512], want[32];
	snprintf(want, sizeof(want), "0100007F:%04X ", port);
	unsigned n = 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, want) != NULL;
	fclose(f);
	return n;
}

START_TEST(test_socket_modes)
{
	char dir[PATH_MAX];
	make_zone_dir(dir, sizeof(dir));
	const char *reuse[] = {"--threads", "4", NULL};
	const char *shared[] = {"--threads", "4", "--socket-mode", "shared", NULL};
	const char *const *modes[] = {reuse, shared};
	const unsigned want[] = {4, 1};
	for (int m = 0; m < 2; m++) {
		struct harness_server srv = {0};
		start_on(&srv, dir, modes[m]);
		ck_assert_uint_eq(udp_sockets_on(srv.port), want[m]);
		int fd = client_socket(srv.port);
		for (unsigned i = 0; i < 50; i++)
			ck_assert(ask(fd, (uint16_t)(i + 1), 1000));
		close(fd);
		harness_server_cleanup(&srv);
	}
	harness_rmtree(dir);
}
END_TEST

/* ---- --replace under load --------------------------------------------- */

struct load {
	uint16_t port;
	atomic_bool stop;
	atomic_ulong sent, answered, lost;
};

static void *load_thread(void *arg)
{
	struct load *l = arg;
	/* A few flows, each a fixed source port: the case where a flow is
	 * tied to one of the old process's sockets until it leaves. */
	int fd = client_socket(l->port);
	uint16_t id = 0;
	while (!atomic_load(&l->stop)) {
		atomic_fetch_add(&l->sent, 1);
		if (ask(fd, ++id, 2000))
			atomic_fetch_add(&l->answered, 1);
		else
			atomic_fetch_add(&l->lost, 1);
	}
	close(fd);
	return NULL;
}

static bool tcp_answers(uint16_t port)
{
	struct harness_query q = {.qname = "www.st.test.", .qtype = LDNS_RR_TYPE_A,
				  .transport = HARNESS_TCP};
	struct harness_reply r = {0};
	bool ok = harness_query("127.0.0.1", port, &q, 2000, &r) == 0 && r.pkt &&
		  ldns_pkt_ancount(r.pkt) == 1;
	harness_reply_free(&r);
	return ok;
}

START_TEST(test_replace_under_load)
{
	char dir[PATH_MAX], pidfile[PATH_MAX + 16], listen[64], zones[PATH_MAX];
	make_zone_dir(dir, sizeof(dir));
	snprintf(pidfile, sizeof(pidfile), "%s/shoal.pid", dir);
	snprintf(zones, sizeof(zones), "%s", dir);
	const char *extra[] = {"--pidfile", pidfile, NULL};
	struct harness_server srv[2] = {{0}, {0}};
	start_on(&srv[0], dir, extra);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", srv[0].port);

	static struct load l;
	l.port = srv[0].port;
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, load_thread, &l);
	usleep(200000);
	for (int round = 0; round < 10; round++) {
		struct harness_server *old = &srv[round % 2], *new = &srv[(round + 1) % 2];
		harness_server_cleanup(new);
		ck_assert_int_eq(harness_server_init(new, "shoal-new"), 0);
		new->port = old->port;
		char *const argv[] = {(char *)harness_shoal_bin(), "--zones", zones, "--listen", listen,
				      "--threads", "2", "--pidfile", pidfile, "--replace", pidfile,
				      NULL};
		ck_assert_int_eq(harness_server_spawn(new, argv), 0);
		/* the old one leaves by itself once the new one serves */
		bool gone = false;
		for (int i = 0; i < 200 && !gone; i++) {
			gone = !harness_server_running(old);
			if (!gone)
				usleep(50000);
		}
		if (!gone) {
			harness_server_dump_log(old, stderr, 0);
			harness_server_dump_log(new, stderr, 0);
		}
		ck_assert_msg(gone, "round %d: the old process did not leave", round);
		ck_assert_msg(WIFEXITED(old->exit_status) && WEXITSTATUS(old->exit_status) == 0,
			      "round %d: old process status %d", round, old->exit_status);
		ck_assert_msg(harness_server_running(new), "round %d: the new process died", round);
		ck_assert_msg(tcp_answers(new->port), "round %d: no TCP answer after handover", round);
		usleep(100000);
	}
	atomic_store(&l.stop, true);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	unsigned long sent = atomic_load(&l.sent), answered = atomic_load(&l.answered),
		      lost = atomic_load(&l.lost);
	fprintf(stderr, "10 handovers under load: %lu queries, %lu answered, %lu lost\n", sent,
		answered, lost);
	ck_assert_uint_gt(answered, 1000);
	ck_assert_uint_eq(lost, 0);
	harness_server_cleanup(&srv[0]);
	harness_server_cleanup(&srv[1]);
	harness_rmtree(dir);
}
END_TEST

/* A stale pidfile naming a process that is not shoal is refused. */
START_TEST(test_replace_refuses_other_processes)
{
	char dir[PATH_MAX], pidfile[PATH_MAX + 16], pid[32];
	make_zone_dir(dir, sizeof(dir));
	snprintf(pidfile, sizeof(pidfile), "%s/other.pid", dir);
	FILE *f = fopen(pidfile, "w");
	ck_assert(f != NULL);
	fprintf(f, "%d\n", (int)getpid()); /* this test program */
	fclose(f);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	const char *const files[] = {pidfile, pid};
	for (int i = 0; i < 2; i++) {
		const char *extra[] = {"--replace", files[i], NULL};
		struct harness_server srv = {0};
		int rc = harness_shoal_start(&srv, dir, extra);
		ck_assert_int_eq(rc, -ECHILD);
		ck_assert(WIFEXITED(srv.exit_status) && WEXITSTATUS(srv.exit_status) == 1);
		char *log = harness_server_log_tail(&srv, 0);
		ck_assert_msg(strstr(log, "not shoal"), "%s", log);
		free(log);
		harness_server_cleanup(&srv);
	}
	harness_rmtree(dir);
}
END_TEST

int main(void)
{
	if (!harness_shoal_bin()) {
		fprintf(stderr, "SHOAL_BIN is not set\n");
		return 1;
	}
	Suite *s = suite_create("steer");
	TCase *tc = tcase_create("steer");
	tcase_set_timeout(tc, 100);
	tcase_add_test(tc, test_hash_keeps_a_flow);
	tcase_add_test(tc, test_random_spreads_a_flow);
	tcase_add_test(tc, test_cpu_follows_the_receiving_cpu);
	tcase_add_test(tc, test_socket_modes);
	tcase_add_test(tc, test_replace_under_load);
	tcase_add_test(tc, test_replace_refuses_other_processes);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
