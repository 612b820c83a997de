/* shoal.c: start-up order, the configuration, reloads, signals and the
 * control channel. Everything here runs on the main thread; the workers
 * (net/) only ever see a published zonedb and the settings fixed at start. */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <urcu/urcu-memb.h>
#if HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#define notify(...) sd_notifyf(0, __VA_ARGS__)
#else
#define notify(...) ((void)0)
#endif

#include <ldns/ldns.h>

#include "answer/answer.h"
#include "config.h"
#include "guard/cookie.h"
#include "guard/rrl.h"
#include "net/server.h"
#include "ops/conf.h"
#include "ops/control.h"
#include "ops/log.h"
#include "ops/metrics.h"
#include "ops/options.h"
#include "ops/stats.h"
#include "xfr/catalog.h"
#include "xfr/catalog_in.h"
#include "xfr/notify.h"
#include "xfr/primary.h"
#include "xfr/secondary.h"
#include "zone/zonedb.h"
#include "zone/zoneset.h"

/* ---------------------------------------------------------------- setup */

/* What the command line and the configuration file together ask for. */
struct setup {
	struct options opt;
	struct conf *conf;		/* NULL: no configuration file */
	const char *config_path;	/* NULL: none */
	struct zone_spec *specs;	/* the file's zones, then --zones DIR's */
	size_t nspecs;
	struct zone_spec *dir_specs;	/* owned: the directory's part */
	size_t ndir;
	char **owned;			/* paths rewritten for the chroot */
	size_t nowned;
	bool bad_flags;			/* the command line itself is wrong */
};

/* Messages of a setup or a reload: printed, logged, or sent to shoalctl. */
struct msgs {
	char **v;
	size_t n;
	unsigned errors;
};

static void msgs_add(struct msgs *m, const char *text)
{
	char **v = realloc(m->v, (m->n + 1) * sizeof(*v));
	if (!v)
		return;
	m->v = v;
	if ((m->v[m->n] = strdup(text)))
		m->n++;
}

static void msgs_free(struct msgs *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i]);
	free(m->v);
	m->v = NULL;
	m->n = 0;
	m->errors = 0;
}

static void conf_diag(void *ctx, const char *msg)
{
	struct msgs *m = ctx;
	m->errors++;
	msgs_add(m, msg);
}

static void zone_diag_msgs(void *ctx, enum zone_diag_severity sev, const char *file, int line,
			   const char *reason)
{
	struct msgs *m = ctx;
	char buf[2048];
	zone_diag_format(buf, sizeof(buf), sev, file, line, reason);
	m->errors += sev == ZONE_DIAG_ERROR;
	msgs_add(m, buf);
}

static void setup_free(struct setup *s)
{
	conf_free(s->conf);
	zoneset_specs_free(s->dir_specs, s->ndir);
	for (size_t i = 0; i < s->nowned; i++)
		free(s->owned[i]);
	free(s->owned);
	free(s->specs);
	memset(s, 0, sizeof(*s));
}

/* After --chroot, the files the configuration names are seen from inside
 * it (as NSD does, the chroot prefix is stripped); `buf` holds the result. */
static const char *g_chroot; /* set once chrooted */

static const char *in_root(const char *path, char *buf, size_t size)
{
	if (!g_chroot || !path)
		return path;
	size_t cl = strlen(g_chroot);
	while (cl > 1 && g_chroot[cl - 1] == '/')
		cl--;
	if (strncmp(path, g_chroot, cl) == 0 && path[cl] == '/') {
		snprintf(buf, size, "%s", path + cl);
		return buf;
	}
	return path;
}

/*
 * Read the command line, then the configuration file (--config, or the
 * default one when neither --config nor --zones is given and it exists)
 * with the command line over it, then the zone directory. Every problem
 * goes to `m`.
 * \return OPTIONS_OK, OPTIONS_EXIT_OK (--help, --version), or OPTIONS_ERROR
 *         (m->errors counts what was wrong; a bad flag is its only message)
 */
static enum options_result setup_read(int argc, char **argv, struct setup *s, struct msgs *m)
{
	char err[512], pb[4096];
	struct options cli;
	memset(s, 0, sizeof(*s));
	/* The command line alone first, for --config, --zones and --help; the
	 * checks across settings wait for the file (--steer cpu on the command
	 * line may rely on cpu-affinity in the file). */
	options_defaults(&cli);
	enum options_result r = options_apply_argv(&cli, argc, argv, err, sizeof(err));
	if (r != OPTIONS_OK) {
		if (r == OPTIONS_ERROR) {
			conf_diag(m, err);
			s->bad_flags = true;
		}
		return r;
	}
	s->config_path = cli.config;
	if (!s->config_path && !cli.zones_set && access(CONF_PATH_DEFAULT, F_OK) == 0)
		s->config_path = CONF_PATH_DEFAULT;
	s->opt = cli;
	if (!s->config_path && options_finish(&s->opt, err, sizeof(err)) < 0) {
		conf_diag(m, err);
		s->bad_flags = true;
		return OPTIONS_ERROR;
	}
	if (s->config_path) {
		const char *path = in_root(s->config_path, pb, sizeof(pb));
		if (conf_load(path, conf_diag, m, &s->conf) < 0)
			return OPTIONS_ERROR;
		s->opt = s->conf->server;
		s->opt.config = s->config_path;
		if (options_apply_argv(&s->opt, argc, argv, err, sizeof(err)) != OPTIONS_OK ||
		    options_finish(&s->opt, err, sizeof(err)) < 0) {
			conf_diag(m, err);
			s->bad_flags = true;
			return OPTIONS_ERROR;
		}
	}
	size_t nconf = s->conf ? s->conf->nzones : 0;
	if (!s->conf || s->opt.zones_set) {
		const char *dir = in_root(s->opt.zones_dir, pb, sizeof(pb));
		unsigned before = m->errors;
		int e = zoneset_scan_dir(dir, zone_diag_msgs, m, &s->dir_specs, &s->ndir, NULL);
		if (e < 0) {
			snprintf(err, sizeof(err), "--zones %s: %s", s->opt.zones_dir, strerror(-e));
			conf_diag(m, err);
			return OPTIONS_ERROR;
		}
		/* A badly named file in the directory is reported, not fatal:
		 * the other zones serve (as before the configuration file). */
		m->errors = before;
	}
	s->specs = calloc(nconf + s->ndir + 1, sizeof(*s->specs));
	if (!s->specs) {
		conf_diag(m, "out of memory");
		return OPTIONS_ERROR;
	}
	for (size_t i = 0; i < nconf; i++) {
		const struct conf_zone *z = &s->conf->zones[i];
		struct zone_spec *sp = &s->specs[s->nspecs++];
		memcpy(sp->apex, z->apex, z->apex_len);
		sp->apex_len = z->apex_len;
		sp->file = z->file;
		sp->where = z->where;
		sp->secondary = z->set->nprimary > 0;
		const char *in = in_root(z->file, pb, sizeof(pb));
		if (in != z->file) {
			char **o = realloc(s->owned, (s->nowned + 1) * sizeof(*o));
			if (o && (o[s->nowned] = strdup(in)))
				sp->file = o[s->nowned++];
			if (o)
				s->owned = o;
		}
	}
	for (size_t i = 0; i < s->ndir; i++) {
		const struct zone_spec *d = &s->dir_specs[i];
		const struct conf_zone *z = conf_zone_find(s->conf, d->apex, d->apex_len);
		if (z) {
			char nb[DNAME_STR_MAX];
			snprintf(err, sizeof(err),
				 "%s: zone %s is defined twice: here and by --zones (%s)", z->where,
				 dname_to_str(d->apex, nb, sizeof(nb)), d->file);
			conf_diag(m, err);
			continue;
		}
		s->specs[s->nspecs++] = *d;
	}
	return m->errors ? OPTIONS_ERROR : OPTIONS_OK;
}

/* ---------------------------------------------------------------- state */

/* Write each catalog-role generate zone's file from the configuration
 * (xfr/catalog.h) before the zone set reads it. A failure is logged and
 * the file there, if any, keeps serving. */
static void catalogs_generate(const struct conf *c)
{
	char pb[4096], why[512];
	for (size_t i = 0; c && i < c->nzones; i++) {
		const struct conf_zone *z = &c->zones[i];
		if (z->set->catalog_role != CONF_CATALOG_GENERATE)
			continue;
		uint32_t serial = 0;
		int r = catalog_update_conf(c, z, in_root(z->file, pb, sizeof(pb)), time(NULL),
					    &serial, why, sizeof(why));
		if (r < 0)
			log_err("catalog %s: not generated: %s; the previous file, if any, serves",
				z->name, why);
		else if (r == CATALOG_WRITTEN)
			log_info("catalog %s: written to %s, serial %u", z->name, z->file,
				 (unsigned)serial);
	}
}

static struct {
	int argc;
	char **argv;
	struct options opt;	/* as at start; only OPTION_ON_RELOAD fields change */
	struct conf *conf0;	/* the start's configuration: `opt` points into it */
	struct conf *conf;	/* what is served (a reference): the last file
				 * accepted plus its catalogs' members
				 * (conf_derive); its keys and acls go with every
				 * zonedb published */
	struct setup base;	/* the last setup accepted: the file's zones and
				 * --zones DIR's, before catalogs add theirs */
	struct catalog_consumer *catz;	/* catalog-role interpret zones (xfr/catalog_in.h) */
	const char *config_path;
	struct zoneset zones;
	struct primary *primary;	/* journals, serial checks, NOTIFY (xfr/primary.h) */
	struct notifier *notifier;
	struct secondary *sec;		/* secondary zones' refresh (xfr/secondary.h) */
	struct server srv;
	struct timespec started;
	unsigned long reloads;
	bool stop;
} D;

static void log_zones(const struct zonedb *db, const struct zoneset_stats *st)
{
	for (size_t i = 0; i < D.zones.n; i++) {
		const struct zone_state *z = &D.zones.v[i];
		if (z->zone)
			log_debug("zone %s serial %u: %zu records, %zu names (%s)", z->name,
				  z->zone->serial, z->zone->nrecords, z->zone->nnodes,
				  zone_outcome_name(z->outcome));
	}
	log_info("%zu zone%s served (%u loaded, %u unchanged, %u failed, %u kept from before, "
		 "%u added, %u removed)",
		 db ? db->nzones : 0, db && db->nzones == 1 ? "" : "s", st->loaded, st->unchanged,
		 st->failed + st->kept, st->kept, st->added, st->removed);
}

static void log_hugepages(size_t bytes)
{
	if (bytes)
		log_info("zone data moved into huge pages: %zu MiB", bytes >> 20);
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

/* ---------------------------------------------------------------- catalogs */

/* What is served: a setup's zones plus the catalogs' members. */
struct expanded {
	struct conf *conf;		/* a reference: conf_derive's, or the setup's */
	struct zone_spec *specs;
	size_t n;
	char **owned;			/* member files rewritten for the chroot */
	size_t nowned;
};

static void expanded_free(struct expanded *ex)
{
	conf_free(ex->conf);
	for (size_t i = 0; i < ex->nowned; i++)
		free(ex->owned[i]);
	free(ex->owned);
	free(ex->specs);
	memset(ex, 0, sizeof(*ex));
}

/*
 * The setup `s` with the catalogs' members (D.catz). With `ch`, its fresh
 * members are left out (`fresh_too` false: their data is being deleted)
 * or marked fresh (true: they start again from nothing).
 * \return 0 or -ENOMEM
 */
static int expand(const struct setup *s, const struct catalog_changes *ch, bool fresh_too,
		  struct expanded *ex)
{
	struct conf_member *m = NULL;
	size_t n = 0;
	char pb[4096];
	memset(ex, 0, sizeof(*ex));
	if (s->conf && catalog_consumer_members(D.catz, s->conf, &m, &n) < 0)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (ch && !fresh_too && catalog_names_has(&ch->fresh, m[i].apex, m[i].apex_len))
			continue;
		bool dup = false;
		for (size_t d = 0; d < s->ndir && !dup; d++)
			dup = s->dir_specs[d].apex_len == m[i].apex_len &&
			      !memcmp(s->dir_specs[d].apex, m[i].apex, m[i].apex_len);
		if (dup) {
			char nb[DNAME_STR_MAX];
			log_warn("catalog %s: member %s is also a zone of --zones %s, whose file "
				 "serves it", m[i].catalog->name,
				 dname_to_str(m[i].apex, nb, sizeof(nb)), s->opt.zones_dir);
			continue;
		}
		m[k++] = m[i];
	}
	ex->conf = k ? conf_derive(s->conf, m, k) : conf_ref(s->conf);
	free(m);
	ex->specs = calloc(s->nspecs + k + 1, sizeof(*ex->specs));
	ex->owned = calloc(k + 1, sizeof(*ex->owned));
	if ((k && !ex->conf) || !ex->specs || !ex->owned) {
		expanded_free(ex);
		return -ENOMEM;
	}
	memcpy(ex->specs, s->specs, s->nspecs * sizeof(*s->specs));
	ex->n = s->nspecs;
	for (size_t i = k ? s->conf->nzones : 0; k && i < ex->conf->nzones; i++) {
		const struct conf_zone *z = &ex->conf->zones[i];
		struct zone_spec *sp = &ex->specs[ex->n++];
		memcpy(sp->apex, z->apex, z->apex_len);
		sp->apex_len = z->apex_len;
		sp->file = z->file;
		sp->where = z->where;
		sp->secondary = z->set->nprimary > 0;
		sp->fresh = ch && fresh_too && catalog_names_has(&ch->fresh, z->apex, z->apex_len);
		const char *in = in_root(z->file, pb, sizeof(pb));
		if (in != z->file) {
			if (!(ex->owned[ex->nowned] = strdup(in))) {
				expanded_free(ex);
				return -ENOMEM;
			}
			sp->file = ex->owned[ex->nowned++];
		}
	}
	return 0;
}

/* Publish `db` (the zone set's, after an update): journals, NOTIFY, the
 * secondaries' table, /metrics. */
static void publish(struct zonedb *db, unsigned failed)
{
	db->conf = conf_ref(D.conf);
	primary_prepare(D.primary, &D.zones);
	zonedb_publish(db);
	primary_published(D.primary, &D.zones);
	secondary_sync(D.sec, D.conf, &D.zones);
	metrics_set_zones(db, failed);
}

/* Serve the setup D.base with the catalogs' members (expand). */
static int apply_members(const struct catalog_changes *ch, bool fresh_too)
{
	struct expanded ex;
	struct zonedb *db = NULL;
	struct zoneset_stats st;
	if (expand(&D.base, ch, fresh_too, &ex) < 0) {
		log_err("catalogs: out of memory: the member zones stay as they were");
		return -ENOMEM;
	}
	primary_set_conf(D.primary, ex.conf);
	int r = zoneset_update(&D.zones, ex.specs, ex.n, false, NULL, 0, zone_diag_log, NULL, &db,
			       &st);
	if (r < 0) {
		primary_set_conf(D.primary, D.conf);
		expanded_free(&ex);
		log_err("catalogs: %s: the member zones stay as they were", strerror(-r));
		return r;
	}
	conf_free(D.conf);
	D.conf = ex.conf;
	ex.conf = NULL;
	expanded_free(&ex);
	publish(db, st.failed + st.kept);
	log_zones(db, &st);
	return 0;
}

/* The journals (and serial files) of zones a catalog dropped, once their
 * journals are closed (after the publish that dropped them). */
static void purge_journals(char **paths, size_t n)
{
	char pb[4096];
	for (size_t i = 0; i < n; i++) {
		const char *p = in_root(paths[i], pb, sizeof(pb));
		if (unlink(p) < 0 && errno != ENOENT)
			log_warn("deleting %s: %s", p, strerror(errno));
		free(paths[i]);
	}
	free(paths);
}

/* The journal and serial files of the zones to purge, by their entries
 * in the configuration served now. */
static char **purge_begin(const struct catalog_changes *ch, size_t *n)
{
	char **paths = calloc(2 * ch->purge.n + 1, sizeof(*paths));
	size_t at = 0, len;
	*n = 0;
	for (const uint8_t *apex; paths && (apex = catalog_names_next(&ch->purge, &at, &len));) {
		const struct conf_zone *cz = conf_zone_find(D.conf, apex, len);
		if (!cz)
			continue;
		secondary_purge(D.sec, cz->apex, cz->apex_len);
		if ((paths[*n] = conf_storage_file(cz, ".journal")))
			(*n)++;
		if ((paths[*n] = conf_storage_file(cz, ".serial")))
			(*n)++;
	}
	return paths;
}

/* After a publish: read the catalogs whose version changed, and apply
 * their new members (RFC 9432 §5): first without the members removed or
 * being transferred afresh, whose data is then deleted, then with the
 * fresh ones back, from nothing. */
static void catalogs_process(void)
{
	if (!D.catz || !catalog_consumer_read(D.catz, D.base.conf, &D.zones))
		return;
	struct catalog_changes ch;
	int r = catalog_consumer_resolve(D.catz, D.base.conf, &ch);
	if (r < 0)
		log_err("catalogs: out of memory: the member zones stay as they were");
	if (r <= 0)
		return;
	size_t np = 0;
	char **paths = purge_begin(&ch, &np);
	if (apply_members(&ch, false) == 0) {
		purge_journals(paths, np);
		if (ch.fresh.n)
			apply_members(&ch, true);
	} else {
		for (size_t i = 0; i < np; i++)
			free(paths[i]);
		free(paths);
	}
	log_info("catalogs: %u member%s added, %u removed, %u transferred afresh, %u moved or "
		 "regrouped, %u ignored",
		 ch.added, ch.added == 1 ? "" : "s", ch.removed, ch.reset, ch.moved, ch.ignored);
	catalog_changes_free(&ch);
}

/* ---------------------------------------------------------------- reload */

/* A reload's request and what it reports. */
struct reload {
	bool force;
	const uint8_t *const *only;	/* zones named by `shoalctl reload ZONE...`, or NULL */
	size_t nonly;
	struct msgs config_msgs;	/* the configuration's errors, when rejected */
	bool config_rejected;
	char **removed;			/* names of zones the new configuration dropped */
	size_t nremoved;
	struct zoneset_stats st;
	int err;			/* -errno of a failure that kept everything */
};

/* Settings the new configuration changes that only a restart applies:
 * logged, and the running values kept. Reloadable ones are applied. */
static void apply_settings(const struct options *n)
{
	char a[LISTEN_MAX * 80], b[LISTEN_MAX * 80];
	for (const struct option_def *d = options_table; d->name; d++) {
		if (d->scope == OPTION_SCOPE_CLI || !options_differ(&D.opt, n, d))
			continue;
		options_format(&D.opt, d, a, sizeof(a));
		options_format(n, d, b, sizeof(b));
		if (d->reload == OPTION_AT_START) {
			log_warn("setting %s changed (%s -> %s): it takes effect at the next start; "
				 "the server keeps %s",
				 d->name, a[0] ? a : "(none)", b[0] ? b : "(none)", a[0] ? a : "(none)");
			continue;
		}
		log_info("setting %s: %s -> %s", d->name, a[0] ? a : "(none)", b);
		if (!strcmp(d->name, "log-level")) {
			D.opt.log_level = n->log_level;
			log_set_level((enum log_level)n->log_level);
		} else if (!strcmp(d->name, "stats-interval")) {
			D.opt.stats_interval = n->stats_interval;
		} else if (!strcmp(d->name, "transfers-out")) {
			D.opt.xfr_max = n->xfr_max;
			D.srv.acfg.xfr_max = n->xfr_max; /* an int the workers read as it is */
		} else if (!strcmp(d->name, "rrsig-expiry-warning")) {
			/* before the zones of this reload are read */
			D.opt.rrsig_expiry_warning = n->rrsig_expiry_warning;
			zone_set_rrsig_expiry_warning(n->rrsig_expiry_warning);
		}
	}
}

static void do_reload(struct reload *r)
{
	struct setup s;
	struct zonedb *db = NULL;
	struct catalog_changes ch = {0};
	struct expanded ex = {0};
	char **paths = NULL;
	size_t np = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	notify("RELOADING=1\nSTATUS=reloading");
	D.reloads++;
	if (r->only) {
		log_info("reloading %zu zone%s%s", r->nonly, r->nonly == 1 ? "" : "s",
			 r->force ? " (forced)" : "");
		r->err = zoneset_update(&D.zones, NULL, 0, r->force, r->only, r->nonly,
					zone_diag_log, NULL, &db, &r->st);
		goto publish;
	}
	log_info("reloading%s%s%s", D.config_path ? " the configuration " : " zones",
		 D.config_path ? D.config_path : "", r->force ? " (forced: every zone file read)" : "");
	if (setup_read(D.argc, D.argv, &s, &r->config_msgs) != OPTIONS_OK) {
		r->config_rejected = true;
		for (size_t i = 0; i < r->config_msgs.n; i++)
			log_err("%s", r->config_msgs.v[i]);
		log_err("reload: the configuration has %u error%s: rejected whole; everything "
			"keeps running as it was",
			r->config_msgs.errors, r->config_msgs.errors == 1 ? "" : "s");
		setup_free(&s);
		notify("READY=1\nSTATUS=reload rejected");
		return;
	}
	/* Messages that are not errors (a badly named file in --zones DIR) */
	for (size_t i = 0; i < r->config_msgs.n; i++)
		log_warn("%s", r->config_msgs.v[i]);
	apply_settings(&s.opt);
	catalogs_generate(s.conf);
	/* catalogs added or dropped, members now in the file: their
	 * members change with this reload (catalog_in.h) */
	catalog_consumer_configure(D.catz, s.conf, in_root);
	if (catalog_consumer_resolve(D.catz, s.conf, &ch) > 0)
		paths = purge_begin(&ch, &np);
	r->err = expand(&s, &ch, false, &ex);
	/* Names of the zones about to go, for the report: neither in the
	 * served configuration (the file's and the catalogs') nor in --zones */
	for (size_t i = 0; r->err == 0 && i < D.zones.n; i++) {
		const struct zone_state *z = &D.zones.v[i];
		bool kept = conf_zone_find(ex.conf, z->apex, z->apex_len) != NULL;
		for (size_t k = 0; k < s.ndir && !kept; k++)
			kept = s.dir_specs[k].apex_len == z->apex_len &&
			       !memcmp(s.dir_specs[k].apex, z->apex, z->apex_len);
		if (kept)
			continue;
		char **v = realloc(r->removed, (r->nremoved + 1) * sizeof(*v));
		if (v) {
			r->removed = v;
			if ((v[r->nremoved] = strdup(z->name)))
				r->nremoved++;
		}
	}
	if (r->err == 0) {
		primary_set_conf(D.primary, ex.conf);
		r->err = zoneset_update(&D.zones, ex.specs, ex.n, r->force, NULL, 0, zone_diag_log,
					NULL, &db, &r->st);
		if (r->err < 0)
			primary_set_conf(D.primary, D.conf);
	}
	if (r->err >= 0) {
		/* the new keys and acls, for what is published from now on;
		 * transfers already running keep theirs (xfr/serve.h) */
		conf_free(D.conf);
		D.conf = conf_ref(ex.conf);
		setup_free(&D.base);
		D.base = s;
	} else {
		setup_free(&s);
	}
	expanded_free(&ex);
	cookie_reload(&D.opt);
publish:
	if (r->err < 0) {
		for (size_t i = 0; i < np; i++)
			free(paths[i]);
		free(paths);
		catalog_changes_free(&ch);
		log_err("reload: %s; every zone keeps its current version", strerror(-r->err));
		notify("READY=1\nSTATUS=reload failed: %s", strerror(-r->err));
		return;
	}
	publish(db, r->st.failed + r->st.kept);
	log_zones(db, &r->st);
	/* db may be gone after this (a catalog's members applied) */
	db = NULL;
	if (paths) {
		purge_journals(paths, np);
		if (ch.fresh.n)
			apply_members(&ch, true);
	}
	catalog_changes_free(&ch);
	catalogs_process();
	const struct zonedb *cur = zonedb_current();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	notify("READY=1\nSTATUS=serving %zu zones", cur->nzones);
	log_info("reload done in %.3f s", (double)(t1.tv_sec - t0.tv_sec) +
					       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	log_hugepages(zonedb_hugepages(cur));
}

static void reload_free(struct reload *r)
{
	msgs_free(&r->config_msgs);
	for (size_t i = 0; i < r->nremoved; i++)
		free(r->removed[i]);
	free(r->removed);
}

/* ---------------------------------------------------------------- control */

static double since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void iso_time(const struct timespec *t, char *buf, size_t size)
{
	struct tm tm;
	time_t sec = t->tv_sec;
	if (!sec || !gmtime_r(&sec, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "-");
}

/* A failed command's reply: the reason as text, or {"error": "..."} for --json. */
static void reply_error(struct control_reply *rep, bool json, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reply_error(struct control_reply *rep, bool json, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json) {
		control_printf(rep, "{\"error\": ");
		control_json_str(rep, msg);
		control_printf(rep, "}\n");
	} else {
		control_printf(rep, "%s\n", msg);
	}
	control_fail(rep);
}


/* The zones named in argv[first..], or all (NULL) when none; checks each
 * is one we have. \return false (an error in the reply) when one is not */
static bool zone_args(const struct control_request *req, int first, struct control_reply *rep,
		      uint8_t (*names)[DNAME_MAX], const uint8_t **ptrs, size_t *n)
{
	*n = 0;
	for (int i = first; i < req->argc; i++) {
		if (*n == CONTROL_ARGS_MAX)
			break;
		if (!dname_from_str(req->argv[i], names[*n])) {
			reply_error(rep, req->json, "%s: not a domain name", req->argv[i]);
			return false;
		}
		if (!zoneset_find(&D.zones, names[*n], dname_wire_len(names[*n], DNAME_MAX))) {
			reply_error(rep, req->json, "%s: no such zone", req->argv[i]);
			return false;
		}
		ptrs[*n] = names[*n];
		(*n)++;
	}
	return true;
}

static void json_msgs(struct control_reply *rep, char *const *v, size_t n)
{
	control_printf(rep, "[");
	for (size_t i = 0; i < n; i++) {
		control_printf(rep, "%s", i ? ", " : "");
		control_json_str(rep, v[i]);
	}
	control_printf(rep, "]");
}

static bool zone_failed(const struct zone_state *z)
{
	return z->outcome == ZONE_OUTCOME_KEPT || z->outcome == ZONE_OUTCOME_FAILED;
}

/* One zone's line (or object) for reload and zone-status. */
static void put_zone(struct control_reply *rep, bool json, const struct zone_state *z, bool first,
		     bool detail)
{
	char when[64];
	const struct zone *v = z->zone;
	if (json) {
		control_printf(rep, "%s{\"zone\": ", first ? "" : ", ");
		control_json_str(rep, z->name);
		control_printf(rep, ", \"outcome\": ");
		control_json_str(rep, zone_outcome_name(z->outcome));
		control_printf(rep, ", \"served\": %s", v && !v->stub ? "true" : "false");
		if (v && !v->stub)
			control_printf(rep, ", \"serial\": %u, \"records\": %zu", v->serial,
				       v->nrecords);
		if (detail) {
			control_printf(rep, ", \"file\": ");
			control_json_str(rep, z->file);
			control_printf(rep, ", \"defined\": ");
			control_json_str(rep, z->where);
			iso_time(v ? &v->loaded_at : &z->attempt, when, sizeof(when));
			control_printf(rep, ", \"loaded_at\": ");
			control_json_str(rep, v ? when : "-");
			iso_time(&z->attempt, when, sizeof(when));
			control_printf(rep, ", \"last_attempt\": ");
			control_json_str(rep, when);
			/* the earliest RRSIG expiration: null when unsigned */
			control_printf(rep, ", \"rrsig_expire\": ");
			if (v && v->rrsig_expire) {
				struct timespec t = {.tv_sec = (time_t)v->rrsig_expire};
				iso_time(&t, when, sizeof(when));
				control_json_str(rep, when);
				control_printf(rep, ", \"rrsig_expire_in\": %lld",
					       (long long)(v->rrsig_expire - time(NULL)));
			} else {
				control_printf(rep, "null, \"rrsig_expire_in\": null");
			}
		}
		if (detail) {
			/* the journal and NOTIFY lines of the text form, one string each */
			static char xfr[16384];
			char *lines[64];
			size_t nl = 0;
			primary_status(D.primary, z, xfr, sizeof(xfr));
			for (char *t = strtok(xfr, "\n"); t && nl < 64; t = strtok(NULL, "\n"))
				lines[nl++] = t + strspn(t, " ");
			control_printf(rep, ", \"transfer\": ");
			json_msgs(rep, lines, nl);
			if (secondary_status(D.sec, z->apex, z->apex_len, true, xfr, sizeof(xfr)) <
			    sizeof(xfr))
				control_printf(rep, "%s", xfr);
			if (catalog_consumer_status(D.catz, z->apex, z->apex_len, true, xfr,
						    sizeof(xfr)) < sizeof(xfr))
				control_printf(rep, "%s", xfr);
		}
		control_printf(rep, ", \"errors\": ");
		json_msgs(rep, zone_failed(z) ? z->msgs : NULL, zone_failed(z) ? z->nmsgs : 0);
		control_printf(rep, "}");
		return;
	}
	if (v && v->stub)
		control_printf(rep, "%-30s no data yet: SERVFAIL until its first transfer\n",
			       z->name);
	else if (v)
		control_printf(rep, "%-30s %s, serial %u, %zu records\n", z->name,
			       zone_outcome_name(z->outcome), v->serial, v->nrecords);
	else
		control_printf(rep, "%-30s %s\n", z->name, zone_outcome_name(z->outcome));
	if (detail) {
		iso_time(v ? &v->loaded_at : &z->attempt, when, sizeof(when));
		control_printf(rep, "    file %s (defined at %s)\n", z->file, z->where);
		if (v)
			control_printf(rep, "    loaded at %s\n", when);
		if (v && v->rrsig_expire) {
			struct timespec t = {.tv_sec = (time_t)v->rrsig_expire};
			long long in = (long long)(v->rrsig_expire - time(NULL));
			iso_time(&t, when, sizeof(when));
			if (in > 0)
				control_printf(rep, "    first RRSIG expires %s (in %lld s)\n", when, in);
			else
				control_printf(rep, "    first RRSIG expired %s (%lld s ago)\n", when, -in);
		}
	}
	if (detail) {
		static char xfr[16384];
		if (secondary_status(D.sec, z->apex, z->apex_len, false, xfr, sizeof(xfr)))
			control_printf(rep, "%s", xfr);
		if (catalog_consumer_status(D.catz, z->apex, z->apex_len, false, xfr, sizeof(xfr)))
			control_printf(rep, "%s", xfr);
		if (primary_status(D.primary, z, xfr, sizeof(xfr)))
			control_printf(rep, "%s", xfr);
	}
	if (zone_failed(z)) {
		for (size_t i = 0; i < z->nmsgs; i++)
			control_printf(rep, "    %s\n", z->msgs[i]);
		if (z->nerrors > z->nmsgs)
			control_printf(rep, "    ... %u errors in all\n", z->nerrors);
	}
}

static void cmd_reload(const struct control_request *req, struct control_reply *rep)
{
	static uint8_t names[CONTROL_ARGS_MAX][DNAME_MAX];
	const uint8_t *ptrs[CONTROL_ARGS_MAX];
	struct reload r = {0};
	int first = 1;
	if (req->argc > 1 && !strcmp(req->argv[1], "--force")) {
		r.force = true;
		first = 2;
	}
	for (int i = first; i < req->argc; i++) {
		if (req->argv[i][0] == '-') {
			reply_error(rep, req->json, "reload: unknown option %s", req->argv[i]);
			return;
		}
	}
	size_t n = 0;
	if (!zone_args(req, first, rep, names, ptrs, &n))
		return;
	if (n) {
		r.only = ptrs;
		r.nonly = n;
	}
	do_reload(&r);
	bool failed = r.config_rejected || r.err < 0;
	if (req->json) {
		control_printf(rep, "{\"configuration\": ");
		if (D.config_path)
			control_json_str(rep, D.config_path);
		else
			control_printf(rep, "null");
		control_printf(rep, ", \"accepted\": %s, \"errors\": ",
			       r.config_rejected ? "false" : "true");
		json_msgs(rep, r.config_msgs.v, r.config_rejected ? r.config_msgs.n : 0);
		control_printf(rep, ", \"zones\": [");
	} else if (r.config_rejected) {
		control_printf(rep, "configuration %s rejected (%u error%s); everything keeps running "
				    "as it was:\n",
			       D.config_path ? D.config_path : "(command line)", r.config_msgs.errors,
			       r.config_msgs.errors == 1 ? "" : "s");
		for (size_t i = 0; i < r.config_msgs.n; i++)
			control_printf(rep, "%s\n", r.config_msgs.v[i]);
	} else if (r.err < 0) {
		control_printf(rep, "reload failed: %s; every zone keeps its current version\n",
			       strerror(-r.err));
	}
	bool first_zone = true;
	for (size_t i = 0; !r.config_rejected && r.err == 0 && i < D.zones.n; i++) {
		const struct zone_state *z = &D.zones.v[i];
		if (!z->touched)
			continue;
		failed |= zone_failed(z);
		put_zone(rep, req->json, z, first_zone, false);
		first_zone = false;
	}
	if (req->json) {
		control_printf(rep, "], \"removed\": ");
		json_msgs(rep, r.removed, r.nremoved);
		control_printf(rep, "}\n");
	} else {
		for (size_t i = 0; i < r.nremoved; i++)
			control_printf(rep, "%-30s removed\n", r.removed[i]);
	}
	if (failed)
		control_fail(rep);
	reload_free(&r);
}

static void cmd_zone_status(const struct control_request *req, struct control_reply *rep)
{
	static uint8_t names[CONTROL_ARGS_MAX][DNAME_MAX];
	const uint8_t *ptrs[CONTROL_ARGS_MAX];
	size_t n = 0;
	if (!zone_args(req, 1, rep, names, ptrs, &n))
		return;
	if (req->json)
		control_printf(rep, "[");
	bool first = true;
	for (size_t i = 0; i < D.zones.n; i++) {
		const struct zone_state *z = &D.zones.v[i];
		bool want = n == 0;
		for (size_t k = 0; k < n && !want; k++)
			want = z->apex_len == dname_wire_len(ptrs[k], DNAME_MAX) &&
			       !memcmp(z->apex, ptrs[k], z->apex_len);
		if (!want)
			continue;
		put_zone(rep, req->json, z, first, true);
		first = false;
	}
	if (req->json)
		control_printf(rep, "]\n");
}

static void cmd_zone_notify(const struct control_request *req, struct control_reply *rep)
{
	static uint8_t names[CONTROL_ARGS_MAX][DNAME_MAX];
	const uint8_t *ptrs[CONTROL_ARGS_MAX];
	size_t n = 0;
	if (req->argc < 2) {
		reply_error(rep, req->json, "zone-notify: name the zones");
		return;
	}
	if (!zone_args(req, 1, rep, names, ptrs, &n))
		return;
	if (req->json)
		control_printf(rep, "[");
	for (size_t k = 0; k < n; k++) {
		const struct zone_state *z =
			zoneset_find(&D.zones, ptrs[k], dname_wire_len(ptrs[k], DNAME_MAX));
		int r = primary_notify_now(D.primary, z);
		char what[128];
		if (r > 0)
			snprintf(what, sizeof(what), "NOTIFY for serial %u to %d address%s", z->zone->serial,
				 r, r == 1 ? "" : "es");
		else if (r == 0)
			snprintf(what, sizeof(what), "no notify: remotes");
		else
			snprintf(what, sizeof(what), "%s", r == -ENOENT ? "not served" : strerror(-r));
		if (r <= 0)
			control_fail(rep);
		if (req->json) {
			control_printf(rep, "%s{\"zone\": ", k ? ", " : "");
			control_json_str(rep, z->name);
			control_printf(rep, ", \"sent\": %d, \"result\": ", r > 0 ? r : 0);
			control_json_str(rep, what);
			control_printf(rep, "}");
		} else {
			control_printf(rep, "%-30s %s\n", z->name, what);
		}
	}
	if (req->json)
		control_printf(rep, "]\n");
}

/* zone-refresh, zone-retransfer: a check (or an AXFR) of secondary zones now. */
static void cmd_zone_refresh(const struct control_request *req, struct control_reply *rep,
			     bool axfr)
{
	static uint8_t names[CONTROL_ARGS_MAX][DNAME_MAX];
	const uint8_t *ptrs[CONTROL_ARGS_MAX];
	size_t n = 0;
	if (req->argc < 2) {
		reply_error(rep, req->json, "%s: name the zones", req->argv[0]);
		return;
	}
	if (!zone_args(req, 1, rep, names, ptrs, &n))
		return;
	if (req->json)
		control_printf(rep, "[");
	for (size_t k = 0; k < n; k++) {
		size_t len = dname_wire_len(ptrs[k], DNAME_MAX);
		const struct zone_state *z = zoneset_find(&D.zones, ptrs[k], len);
		int r = secondary_refresh(D.sec, ptrs[k], len, axfr);
		const char *what = r == 0 ? (axfr ? "AXFR scheduled" : "refresh scheduled")
					  : "not a secondary zone (no primary: in its configuration)";
		if (r < 0)
			control_fail(rep);
		if (req->json) {
			control_printf(rep, "%s{\"zone\": ", k ? ", " : "");
			control_json_str(rep, z->name);
			control_printf(rep, ", \"scheduled\": %s, \"result\": ", r == 0 ? "true" : "false");
			control_json_str(rep, what);
			control_printf(rep, "}");
		} else {
			control_printf(rep, "%-30s %s\n", z->name, what);
		}
	}
	if (req->json)
		control_printf(rep, "]\n");
}

/* New versions the secondary's threads made: journal them, serve them. */
static void secondary_apply(void)
{
	struct secondary_update *list = secondary_collect(D.sec);
	size_t applied = 0;
	for (struct secondary_update *u = list; u; u = u->next) {
		struct zone_state *s = zoneset_find(&D.zones, u->apex, u->apex_len);
		if (!s || !s->secondary)
			continue; /* gone from the configuration meanwhile */
		primary_received(D.primary, s, u->zone, u->cs, u->ncs, u->full);
		zone_unref(s->zone);
		s->zone = u->zone; /* the update's reference */
		u->zone = NULL;
		s->outcome = ZONE_OUTCOME_LOADED;
		clock_gettime(CLOCK_REALTIME, &s->attempt);
		applied++;
	}
	secondary_updates_free(list);
	if (!applied) {
		if (secondary_take_changed(D.sec)) {
			/* a zone expired or came back: /metrics says so (only
			 * this thread publishes and frees snapshots: no RCU
			 * section needed to read the current one) */
			metrics_set_zones(zonedb_current(), 0);
			/* a catalog fresh again is read (RFC 9432 §5.1) */
			catalogs_process();
		}
		return;
	}
	(void)secondary_take_changed(D.sec);
	struct zonedb *db = zoneset_db(&D.zones);
	if (!db) {
		log_err("out of memory: %zu transferred version%s not published", applied,
			applied == 1 ? "" : "s");
		return;
	}
	db->conf = conf_ref(D.conf);
	primary_prepare(D.primary, &D.zones);
	zonedb_publish(db);
	primary_published(D.primary, &D.zones);
	metrics_set_zones(db, 0);
	catalogs_process();
}

static void cmd_status(const struct control_request *req, struct control_reply *rep)
{
	size_t served = 0;
	for (size_t i = 0; i < D.zones.n; i++)
		served += D.zones.v[i].zone && !D.zones.v[i].zone->stub;
	double up = since(&D.started);
	if (req->json) {
		control_printf(rep, "{\"version\": ");
		control_json_str(rep, SHOAL_VERSION);
		control_printf(rep, ", \"pid\": %ld, \"uptime\": %.0f, \"configuration\": ",
			       (long)getpid(), up);
		if (D.config_path)
			control_json_str(rep, D.config_path);
		else
			control_printf(rep, "null");
		control_printf(rep, ", \"udp_workers\": %u, \"tcp_workers\": %u, \"listen\": [",
			       D.srv.nudp, D.srv.ntcp);
		for (unsigned l = 0; l < D.opt.nlisten; l++) {
			control_printf(rep, "%s", l ? ", " : "");
			control_json_str(rep, D.opt.listen[l].text);
		}
		control_printf(rep, "], \"zones\": %zu, \"zones_served\": %zu, \"reloads\": %lu}\n",
			       D.zones.n, served, D.reloads);
		return;
	}
	control_printf(rep, "shoal %s, pid %ld, up %.0f s\n", SHOAL_VERSION, (long)getpid(), up);
	control_printf(rep, "configuration %s\n", D.config_path ? D.config_path : "(none)");
	control_printf(rep, "workers: %u udp, %u tcp (%u thread%s per protocol)\n", D.srv.nudp,
		       D.srv.ntcp, D.opt.threads, D.opt.threads == 1 ? "" : "s");
	for (unsigned l = 0; l < D.opt.nlisten; l++)
		control_printf(rep, "listening on %s\n", D.opt.listen[l].text);
	control_printf(rep, "zones: %zu configured, %zu served; %lu reload%s\n", D.zones.n, served,
		       D.reloads, D.reloads == 1 ? "" : "s");
}

static void cmd_stats(const struct control_request *req, struct control_reply *rep)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		reply_error(rep, req->json, "out of memory");
		return;
	}
	if (req->json)
		stats_write_json(f, D.srv.stats, D.srv.nstats);
	else
		stats_write_text(f, D.srv.stats, D.srv.nstats);
	fclose(f);
	control_printf(rep, "%s", buf ? buf : "");
	free(buf);
}

static void handle_command(void *ctx, const struct control_request *req,
			   struct control_reply *rep)
{
	const char *cmd = req->argv[0];
	log_info("control: %s%s%s", cmd, req->argc > 1 ? " " : "", req->argc > 1 ? req->argv[1] : "");
	if (!strcmp(cmd, "reload")) {
		cmd_reload(req, rep);
	} else if (!strcmp(cmd, "zone-status")) {
		cmd_zone_status(req, rep);
	} else if (!strcmp(cmd, "zone-notify")) {
		cmd_zone_notify(req, rep);
	} else if (!strcmp(cmd, "zone-refresh") || !strcmp(cmd, "zone-retransfer")) {
		cmd_zone_refresh(req, rep, !strcmp(cmd, "zone-retransfer"));
	} else if (req->argc > 1) {
		reply_error(rep, req->json, "%s takes no arguments", cmd);
	} else if (!strcmp(cmd, "status")) {
		cmd_status(req, rep);
	} else if (!strcmp(cmd, "stats")) {
		cmd_stats(req, rep);
	} else if (!strcmp(cmd, "stop")) {
		control_printf(rep, req->json ? "{\"stopping\": true}\n" : "stopping\n");
		D.stop = true;
	} else {
		reply_error(rep, req->json,
			    "unknown command '%s' (status, reload, zone-status, zone-notify, "
			    "zone-refresh, zone-retransfer, stats, stop)",
			    cmd);
	}
}

/* Open the control socket before privileges go (it may live under /run),
 * owned by the user the server will run as. */
static struct control *control_setup(char *err, size_t errsize)
{
	struct control *c = NULL;
	const char *path = D.opt.control;
	if (!path || !*path || !strcmp(path, "none"))
		return NULL;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	if (geteuid() == 0) {
		bool fallback;
		struct passwd *pw = getpwnam(server_user(&D.opt, &fallback));
		if (pw) {
			uid = pw->pw_uid;
			gid = pw->pw_gid;
		}
		/* The folder systemd's RuntimeDirectory= would make. */
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s", path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = 0;
			if (mkdir(dir, 0750) == 0 && chown(dir, uid, gid) < 0)
				log_warn("%s: chown: %s", dir, strerror(errno));
		}
	}
	/* --replace: the server we take over answers on this socket until it
	 * leaves; the path becomes ours now (it keeps its unlinked socket,
	 * and does not unlink ours when it goes: control_close checks). */
	struct stat st;
	if (D.opt.replace && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && unlink(path) == 0)
		log_info("control socket %s taken over from the server being replaced", path);
	if (control_open(path, uid, gid, &c, err, errsize) < 0) {
		if (D.opt.control_set)
			return (struct control *)-1;
		log_warn("%s; no control channel (shoalctl will not reach this server; set "
			 "control: or --control)", err);
		return NULL;
	}
	log_info("control socket %s", path);
	return c;
}

/* The main loop: signals (through a signalfd) and the control socket,
 * polled together; a tick for the statistics line. */
static void serve(struct control *ctl)
{
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	int sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		log_err("signalfd: %s; signals are not handled", strerror(errno));
	struct timespec next_stats;
	clock_gettime(CLOCK_MONOTONIC, &next_stats);
	next_stats.tv_sec += D.opt.stats_interval;
	while (!D.stop) {
		struct pollfd p[3] = {{.fd = sfd, .events = POLLIN},
				      {.fd = ctl ? control_fd(ctl) : -1, .events = POLLIN},
				      {.fd = secondary_fd(D.sec), .events = POLLIN}};
		int tmo = 1000, ct = ctl ? control_timeout_ms(ctl) : -1;
		if (ct >= 0 && ct < tmo)
			tmo = ct;
		if (poll(p, 3, tmo) < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			break;
		}
		struct signalfd_siginfo si;
		while (sfd >= 0 && read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				struct reload r = {0};
				do_reload(&r);
				reload_free(&r);
			} else {
				log_info("signal %u: stopping", si.ssi_signo);
				D.stop = true;
			}
		}
		if (p[2].revents & POLLIN)
			secondary_apply();
		if (ctl)
			control_process(ctl, handle_command, NULL);
		if (D.opt.stats_interval) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec >= next_stats.tv_sec) {
				stats_log_summary(D.srv.stats, D.srv.nstats);
				next_stats.tv_sec = now.tv_sec + D.opt.stats_interval;
			}
		}
	}
	if (sfd >= 0)
		close(sfd);
}

/* After `stop`: let shoalctl have its answer (bounded) before the socket goes. */
static void control_flush(struct control *ctl)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ctl && control_timeout_ms(ctl) >= 0 && since(&t0) < 1.0) {
		struct pollfd p = {.fd = control_fd(ctl), .events = POLLIN};
		poll(&p, 1, 50);
		control_process(ctl, handle_command, NULL);
	}
}

/* Messages that name a place (file:line:column) go out as they are, as a
 * compiler's do; the others are shoal's own. */
static void print_msgs(const struct msgs *m)
{
	for (size_t i = 0; i < m->n; i++)
		fprintf(stderr, "%s%s\n", m->v[i][0] == '-' || !strchr(m->v[i], ':') ? "shoal: " : "",
			m->v[i]);
}

int main(int argc, char **argv)
{
	char err[512];
	char host[256];
	struct zonedb *db = NULL;
	struct zoneset_stats st;
	struct msgs m = {0};
	struct setup s;
	struct control *ctl = NULL;
	sigset_t sigs;
	int ret = 1;

	D.argc = argc;
	D.argv = argv;
	clock_gettime(CLOCK_MONOTONIC, &D.started);
	switch (setup_read(argc, argv, &s, &m)) {
	case OPTIONS_EXIT_OK:
		return 0;
	case OPTIONS_ERROR:
		print_msgs(&m);
		if (s.config_path && m.errors && s.conf == NULL && m.n > 1)
			fprintf(stderr, "shoal: %u error%s in %s\n", m.errors, m.errors == 1 ? "" : "s",
				s.config_path);
		/* --check reports a bad configuration as any other problem it
		 * finds; a bad command line is a usage error either way */
		ret = s.opt.check_only && !s.bad_flags ? 1 : 2;
		msgs_free(&m);
		setup_free(&s);
		return ret;
	case OPTIONS_OK:
		break;
	}
	D.opt = s.opt;
	D.conf0 = conf_ref(s.conf); /* D.opt points into it: kept until exit */
	D.config_path = s.config_path;
	zone_set_rrsig_expiry_warning(D.opt.rrsig_expiry_warning);
	log_init((enum log_level)D.opt.log_level, D.opt.syslog);
	for (size_t i = 0; i < m.n; i++)
		log_warn("%s", m.v[i]);
	msgs_free(&m);

	/* Every TCP connection is a descriptor: take the hard limit, so
	 * --tcp-max-conns and not a default of 1024 bounds them. */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}

	/* Signals are taken by this thread through a signalfd; the workers
	 * inherit the blocked mask and never see them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* the catalogs' members as they were last applied (catalog_in.h) */
	struct catalog_changes ch;
	struct expanded ex;
	D.base = s;
	if (!(D.catz = catalog_consumer_new())) {
		fprintf(stderr, "shoal: out of memory\n");
		goto out;
	}
	catalog_consumer_configure(D.catz, D.base.conf, in_root);
	if (catalog_consumer_resolve(D.catz, D.base.conf, &ch) >= 0)
		catalog_changes_free(&ch); /* at start: members the file took, nothing to delete */
	if (expand(&D.base, NULL, false, &ex) < 0) {
		fprintf(stderr, "shoal: out of memory\n");
		goto out;
	}
	D.conf = ex.conf;
	ex.conf = NULL;
	if (!D.opt.check_only) {
		if (!(D.primary = primary_new(NULL))) {
			expanded_free(&ex);
			fprintf(stderr, "shoal: out of memory\n");
			goto out;
		}
		primary_set_conf(D.primary, D.conf);
		primary_hook(D.primary, &D.zones);
		catalogs_generate(D.base.conf);
	}
	int r = zoneset_update(&D.zones, ex.specs, ex.n, true, NULL, 0, zone_diag_log, NULL, &db,
			       &st);
	expanded_free(&ex);
	if (r < 0) {
		fprintf(stderr, "shoal: loading zones: %s\n", strerror(-r));
		goto out;
	}
	if (D.opt.check_only) {
		log_zones(db, &st);
		ret = st.failed || st.kept ? 1 : 0;
		goto out;
	}
	if (db->nzones == 0)
		log_warn("no zone loaded: every query will be REFUSED");

	D.srv.acfg.edns_size = D.opt.edns_size;
	D.srv.acfg.xfr_max = D.opt.xfr_max;
	if (D.opt.nsid) {
		D.srv.acfg.nsid = D.opt.nsid_bin;
		D.srv.acfg.nsid_len = D.opt.nsid_len;
	}
	if (!D.opt.hide_version) {
		static char vbuf[64];
		snprintf(vbuf, sizeof(vbuf), "shoal %s", SHOAL_VERSION);
		D.srv.acfg.version = D.opt.version ? D.opt.version : vbuf;
	}
	if (!D.opt.hide_identity) {
		if (!D.opt.identity && gethostname(host, sizeof(host)) == 0) {
			host[sizeof(host) - 1] = 0;
			D.srv.acfg.identity = host;
		} else {
			D.srv.acfg.identity = D.opt.identity;
		}
	}

	if (setup_hardening(&D.srv.acfg, &D.opt, err, sizeof(err)) < 0) {
		fprintf(stderr, "shoal: %s\n", err);
		goto out;
	}
	int replace_fd = -1;
	pid_t replace_pid = 0;
	if (D.opt.replace &&
	    (replace_fd = replace_open(D.opt.replace, &replace_pid, err, sizeof(err))) < 0) {
		fprintf(stderr, "shoal: %s\n", err);
		goto out;
	}
	if (server_open(&D.srv, &D.opt, err, sizeof(err)) < 0) {
		fprintf(stderr, "shoal: %s\n", err);
		goto out;
	}
	/* Before any other thread exists: control_open sets the umask
	 * around its bind (control.h). */
	ctl = control_setup(err, sizeof(err));
	if (ctl == (struct control *)-1) {
		ctl = NULL;
		fprintf(stderr, "shoal: %s\n", err);
		goto out;
	}
	if (D.opt.metrics && metrics_start(&D.opt.metrics_addr, D.srv.stats, D.srv.nstats, err,
					   sizeof(err)) < 0) {
		fprintf(stderr, "shoal: %s\n", err);
		goto out;
	}
	if (D.opt.pidfile && write_pidfile(D.opt.pidfile) < 0) {
		fprintf(stderr, "shoal: --pidfile %s: %s\n", D.opt.pidfile, strerror(errno));
		goto out;
	}
	bool was_root = geteuid() == 0;
	if (server_drop_privileges(&D.opt, err, sizeof(err)) < 0) {
		fprintf(stderr, "shoal: %s\n", err);
		goto out;
	}
	if (was_root && D.opt.chroot_dir) {
		g_chroot = D.opt.chroot_dir;
		/* the catalogs' saved member sets, as seen from inside */
		catalog_consumer_configure(D.catz, D.base.conf, in_root);
	}
	metrics_set_zones(db, st.failed);
	/* NOTIFY's thread, once the umask games of control_open are over */
	struct notify_cfg ncfg = {.tries = D.opt.notify_tries,
				  .interval_ms = D.opt.notify_interval_ms};
	if (!(D.notifier = notifier_start(&ncfg)))
		log_err("notify: cannot start its thread (%s): no NOTIFY will be sent",
			strerror(errno));
	primary_set_notifier(D.primary, D.notifier);
	/* the refresh threads, with the privileges they keep for good */
	struct secondary_cfg scfg = {.threads = D.opt.xfr_in_threads};
	if (!(D.sec = secondary_new(&scfg))) {
		fprintf(stderr, "shoal: starting the secondary zones' threads: %s\n",
			strerror(errno));
		goto out;
	}
	D.srv.acfg.notify = secondary_notify_cb;
	D.srv.acfg.notify_ctx = D.sec;
	publish(db, st.failed);
	log_zones(zonedb_current(), &st);
	db = NULL;
	catalogs_process();
	if ((r = server_start(&D.srv)) < 0) {
		fprintf(stderr, "shoal: starting workers: %s\n", strerror(-r));
		goto out;
	}
	for (unsigned l = 0; l < D.opt.nlisten; l++)
		log_info("listening on %s (udp and tcp, %u thread%s each)", D.opt.listen[l].text,
			 D.opt.threads, D.opt.threads == 1 ? "" : "s");
	if (D.opt.metrics)
		log_info("metrics on http://%s/metrics", D.opt.metrics_addr.text);
	notify("READY=1\nMAINPID=%lu\nSTATUS=serving", (unsigned long)getpid());
	if (replace_fd >= 0) {
		replace_finish(&D.srv, replace_fd, replace_pid);
		replace_fd = -1;
	}
	/* Serving already: the zones' copy into huge pages delays nothing. */
	log_hugepages(zonedb_hugepages(zonedb_current()));

	serve(ctl);
	log_info("stopping; answering the queries already queued");
	notify("STOPPING=1");
	unsigned long long drained = server_drain(&D.srv, DRAIN_TIMEOUT_MS);
	log_info("drained: %llu queued UDP queries answered", drained);
	control_flush(ctl);
	ret = 0;
out:
	control_close(ctl);
	metrics_stop();
	server_stop(&D.srv);
	urcu_memb_read_lock();
	struct zonedb *cur = (struct zonedb *)zonedb_current();
	urcu_memb_read_unlock();
	if (cur) {
		/* Workers are gone: nobody reads it any more. */
		zonedb_free(cur);
	}
	zonedb_free(db);
	/* after the workers (they hand it NOTIFYs): saves the copies not saved yet */
	secondary_free(D.sec);
	D.sec = NULL;
	notifier_stop(D.notifier);
	primary_set_notifier(D.primary, NULL);
	zoneset_clear(&D.zones);
	primary_free(D.primary);
	if (D.srv.stats)
		stats_log_summary(D.srv.stats, D.srv.nstats);
	rrl_free(D.srv.acfg.rrl);
	cookie_keys_free();
	free(D.srv.udp);
	free(D.srv.tcp);
	free(D.srv.stats);
	catalog_consumer_free(D.catz);
	setup_free(&D.base);
	conf_free(D.conf);
	conf_free(D.conf0);
	return ret;
}
