/* main.c: start-up order, signals, reload. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>
#if HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#define notify(...) sd_notifyf(0, __VA_ARGS__)
#else
#define notify(...) ((void)0)
#endif

#include "answer/answer.h"
#include "config.h"
#include "guard/cookie.h"
#include "ops/log.h"
#include "ops/metrics.h"
#include "ops/options.h"
#include "guard/rrl.h"
#include "net/server.h"
#include "ops/stats.h"
#include "zone/zonedb.h"

static void log_zonedb(const struct zonedb *db, const struct zonedb_load_stats *st)
{
	for (size_t i = 0; i < db->nzones; i++) {
		char nb[1024];
		const struct zone *z = db->zones[i];
		log_debug("zone %s serial %u: %zu records, %zu names", dname_to_str(z->apex, nb, sizeof(nb)),
			  z->serial, z->nrecords, z->nnodes);
	}
	log_info("%zu zone%s served (%u loaded, %u failed, %u kept from before, %u removed)",
		 db->nzones, db->nzones == 1 ? "" : "s", st->loaded, st->failed, st->kept, st->removed);
}

/* Where reloads read the zones: after --chroot, the same directory seen
 * from inside the chroot (as NSD does, the chroot prefix is stripped). */
static bool g_chrooted;

static const char *reload_dir(const struct options *opt)
{
	static char buf[4096];
	const char *c = opt->chroot_dir;
	if (!c || !g_chrooted)
		return opt->zones_dir;
	size_t cl = strlen(c);
	while (cl > 1 && c[cl - 1] == '/')
		cl--;
	if (strncmp(opt->zones_dir, c, cl) == 0 && opt->zones_dir[cl] == '/') {
		snprintf(buf, sizeof(buf), "%s", opt->zones_dir + cl);
		return buf;
	}
	return opt->zones_dir;
}

static void log_hugepages(size_t bytes)
{
	if (bytes)
		log_info("zone data moved into huge pages: %zu MiB", bytes >> 20);
}

static void reload(const struct options *opt)
{
	const char *dir = reload_dir(opt);
	struct zonedb *db = NULL;
	struct zonedb_load_stats st;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	log_info("reloading zones from %s", dir);
	notify("RELOADING=1\nSTATUS=reloading zones");
	int r = zonedb_load_dir(dir, zonedb_current(), zone_diag_log, NULL, &db, &st);
	if (r < 0) {
		log_err("reload: %s: %s; every zone keeps its current version", dir,
			strerror(-r));
		notify("READY=1\nSTATUS=reload failed: %s", strerror(-r));
		return;
	}
	zonedb_publish(db);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_zonedb(db, &st);
	metrics_set_zones(db, st.failed);
	notify("READY=1\nSTATUS=serving %zu zones", db->nzones);
	log_info("reload done in %.3f s", (double)(t1.tv_sec - t0.tv_sec) +
					       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	log_hugepages(zonedb_hugepages(db));
}

/* How long TERM waits for the queues to be answered before it cuts off. */
#define DRAIN_TIMEOUT_MS 5000
/* How long --replace waits for the old process to leave. */
#define REPLACE_WAIT_MS 30000

/* --replace PID|PIDFILE: a pidfd for the running shoal we take over from
 * (a pidfd, so a recycled PID can never be signalled by mistake). */
static int replace_open(const char *arg, pid_t *pid, char *err, size_t errsize)
{
	char buf[64], comm[64] = "";
	char *end;
	long v = strtol(arg, &end, 10);
	if (*arg == 0 || *end != 0) {
		FILE *f = fopen(arg, "r");
		if (!f) {
			snprintf(err, errsize, "--replace %s: %s", arg, strerror(errno));
			return -1;
		}
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
		v = strtol(buf, &end, 10);
		if (end == buf || (*end != 0 && *end != '\n')) {
			snprintf(err, errsize, "--replace %s: no process id in the file", arg);
			return -1;
		}
	}
	if (v <= 1 || v == (long)getpid()) {
		snprintf(err, errsize, "--replace %s: not a process we can replace", arg);
		return -1;
	}
	*pid = (pid_t)v;
	int fd = (int)syscall(SYS_pidfd_open, *pid, 0);
	if (fd < 0) {
		snprintf(err, errsize, "--replace %s: process %ld: %s", arg, v,
			 errno == ESRCH ? "not running" : strerror(errno));
		return -1;
	}
	/* Only ever signal a shoal: a stale pidfile may name anything. */
	snprintf(buf, sizeof(buf), "/proc/%ld/comm", v);
	FILE *f = fopen(buf, "r");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
	}
	comm[strcspn(comm, "\n")] = 0;
	if (strcmp(comm, "shoal") != 0) {
		snprintf(err, errsize, "--replace %s: process %ld is '%s', not shoal", arg, v, comm);
		close(fd);
		return -1;
	}
	return fd;
}

/* We serve: tell the old process to drain and leave, wait for it, then
 * steer over our own sockets alone. */
static void replace_finish(struct server *srv, int pidfd, pid_t pid)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0) < 0) {
		log_err("--replace: signalling process %ld: %s", (long)pid, strerror(errno));
	} else {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		int r;
		while ((r = poll(&p, 1, REPLACE_WAIT_MS)) < 0 && errno == EINTR)
			;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (r == 1)
			log_info("replaced process %ld: it drained and left in %.3f s", (long)pid,
				 (double)(t1.tv_sec - t0.tv_sec) +
					 (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
		else
			log_warn("--replace: process %ld still runs after %d s; serving alongside it",
				 (long)pid, REPLACE_WAIT_MS / 1000);
	}
	close(pidfd);
	server_steer(srv, false);
}

/* DNS cookies and response rate limiting: the cookie secret and the RRL
 * table, both before the workers start. \return 0 or -1 (err filled) */
static int setup_hardening(struct answer_cfg *acfg, const struct options *opt, char *err,
			   size_t errsize)
{
	if (cookie_setup(opt, err, errsize) < 0)
		return -1;
	acfg->cookies = true;
	if (opt->rrl_rate == 0)
		return 0;
	struct rrl_cfg rc = {.rate = opt->rrl_rate,
			     .slip = opt->rrl_slip,
			     .window = opt->rrl_window,
			     .size = opt->rrl_table_size,
			     .v4_prefix = opt->rrl_v4_prefix,
			     .v6_prefix = opt->rrl_v6_prefix};
	acfg->rrl = rrl_new(&rc);
	if (!acfg->rrl) {
		snprintf(err, errsize, "--rrl-table-size %zu: out of memory", opt->rrl_table_size);
		return -1;
	}
	log_info("response rate limiting: %u/s per bucket, slip %u, window %u s, %zu buckets "
		 "(%zu KiB)",
		 opt->rrl_rate, opt->rrl_slip, opt->rrl_window, rrl_buckets(acfg->rrl),
		 rrl_bytes(acfg->rrl) / 1024);
	return 0;
}

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f);
}

int main(int argc, char **argv)
{
	static struct options opt;
	static struct server srv;
	char err[512];
	char host[256];
	struct zonedb *db = NULL;
	struct zonedb_load_stats st;
	sigset_t sigs;
	int ret = 1;

	switch (options_parse(&opt, argc, argv, err, sizeof(err))) {
	case OPTIONS_EXIT_OK:
		return 0;
	case OPTIONS_ERROR:
		fprintf(stderr, "shoal: %s\n", err);
		return 2;
	case OPTIONS_OK:
		break;
	}
	log_init((enum log_level)opt.log_level, opt.syslog);

	/* Every TCP connection is a descriptor: take the hard limit, so
	 * --tcp-max-conns and not a default of 1024 bounds them. */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}

	/* Signals are taken synchronously by this thread (sigtimedwait); the
	 * workers inherit the blocked mask and never see them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	int r = zonedb_load_dir(opt.zones_dir, NULL, zone_diag_log, NULL, &db, &st);
	if (r < 0) {
		fprintf(stderr, "shoal: --zones %s: %s\n", opt.zones_dir, strerror(-r));
		return 1;
	}
	if (opt.check_only) {
		log_zonedb(db, &st);
		ret = st.failed ? 1 : 0;
		zonedb_free(db);
		return ret;
	}
	if (db->nzones == 0)
		log_warn("no zone loaded from %s: every query will be REFUSED", opt.zones_dir);

	srv.acfg.edns_size = opt.edns_size;
	if (opt.nsid) {
		srv.acfg.nsid = opt.nsid_bin;
		srv.acfg.nsid_len = opt.nsid_len;
	}
	if (!opt.hide_version) {
		static char vbuf[64];
		snprintf(vbuf, sizeof(vbuf), "shoal %s", SHOAL_VERSION);
		srv.acfg.version = opt.version ? opt.version : vbuf;
	}
	if (!opt.hide_identity) {
		if (!opt.identity && gethostname(host, sizeof(host)) == 0) {
			host[sizeof(host) - 1] = 0;
			srv.acfg.identity = host;
		} else {
			srv.acfg.identity = opt.identity;
		}
	}

	if (setup_hardening(&srv.acfg, &opt, err, sizeof(err)) < 0) {
		fprintf(stderr, "shoal: %s\n", err);
		zonedb_free(db);
		return 1;
	}
	int replace_fd = -1;
	pid_t replace_pid = 0;
	if (opt.replace && (replace_fd = replace_open(opt.replace, &replace_pid, err, sizeof(err))) < 0) {
		fprintf(stderr, "shoal: %s\n", err);
		zonedb_free(db);
		return 1;
	}
	if (server_open(&srv, &opt, err, sizeof(err)) < 0) {
		fprintf(stderr, "shoal: %s\n", err);
		zonedb_free(db);
		return 1;
	}
	if (opt.metrics && metrics_start(&opt.metrics_addr, srv.stats, srv.nstats, err,
					 sizeof(err)) < 0) {
		fprintf(stderr, "shoal: %s\n", err);
		goto out;
	}
	if (opt.pidfile && write_pidfile(opt.pidfile) < 0) {
		fprintf(stderr, "shoal: --pidfile %s: %s\n", opt.pidfile, strerror(errno));
		goto out;
	}
	bool was_root = geteuid() == 0;
	if (server_drop_privileges(&opt, err, sizeof(err)) < 0) {
		fprintf(stderr, "shoal: %s\n", err);
		goto out;
	}
	g_chrooted = was_root && opt.chroot_dir;
	metrics_set_zones(db, st.failed);
	zonedb_publish(db);
	db = NULL;
	log_zonedb(zonedb_current(), &st);
	if ((r = server_start(&srv)) < 0) {
		fprintf(stderr, "shoal: starting workers: %s\n", strerror(-r));
		goto out;
	}
	for (unsigned l = 0; l < opt.nlisten; l++)
		log_info("listening on %s (udp and tcp, %u thread%s each)", opt.listen[l].text,
			 opt.threads, opt.threads == 1 ? "" : "s");
	if (opt.metrics)
		log_info("metrics on http://%s/metrics", opt.metrics_addr.text);
	notify("READY=1\nMAINPID=%lu\nSTATUS=serving", (unsigned long)getpid());
	if (replace_fd >= 0) {
		replace_finish(&srv, replace_fd, replace_pid);
		replace_fd = -1;
	}
	/* Serving already: the zones' copy into huge pages delays nothing. */
	log_hugepages(zonedb_hugepages(zonedb_current()));

	struct timespec next_stats;
	clock_gettime(CLOCK_MONOTONIC, &next_stats);
	next_stats.tv_sec += opt.stats_interval;
	for (;;) {
		struct timespec tmo = {.tv_sec = 1, .tv_nsec = 0};
		int sig = sigtimedwait(&sigs, NULL, &tmo);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("signal %d: stopping; answering the queries already queued", sig);
			notify("STOPPING=1");
			unsigned long long n = server_drain(&srv, DRAIN_TIMEOUT_MS);
			log_info("drained: %llu queued UDP queries answered", n);
			break;
		}
		if (sig == SIGHUP) {
			reload(&opt);
			cookie_reload(&opt);
		}
		if (opt.stats_interval) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec >= next_stats.tv_sec) {
				stats_log_summary(srv.stats, srv.nstats);
				next_stats.tv_sec = now.tv_sec + opt.stats_interval;
			}
		}
	}
	ret = 0;
out:
	if (replace_fd >= 0)
		close(replace_fd);
	metrics_stop();
	server_stop(&srv);
	urcu_memb_read_lock();
	struct zonedb *cur = (struct zonedb *)zonedb_current();
	urcu_memb_read_unlock();
	if (cur) {
		/* Workers are gone: nobody reads it any more. */
		zonedb_free(cur);
	}
	zonedb_free(db);
	stats_log_summary(srv.stats, srv.nstats);
	rrl_free(srv.acfg.rrl);
	cookie_keys_free();
	free(srv.udp);
	free(srv.tcp);
	free(srv.stats);
	return ret;
}
