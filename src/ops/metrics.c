/* metrics.c: GET /metrics, served by libmicrohttpd (not a hand-written
 * HTTP server). The counters are read racily but atomically per counter:
 * each is a relaxed 64-bit load of a value only its worker writes. */
#include "ops/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dns/dname.h"
#include "zone/zonedb.h"

static struct MHD_Daemon *daemon_;
static pthread_mutex_t zones_lock = PTHREAD_MUTEX_INITIALIZER;
static char *zones_text; /* pre-rendered zone gauges, replaced on reload */

/* `metric{zone="<apex>"}`, the name escaped as a Prometheus label value. */
static void put_zone_label(FILE *f, const char *metric, const struct zone *z)
{
	char nb[1024];
	dname_to_str(z->apex, nb, sizeof(nb));
	fprintf(f, "%s{zone=\"", metric);
	for (const char *p = nb; *p; p++)
		fprintf(f, (*p == '"' || *p == '\\') ? "\\%c" : "%c", *p);
	fputs("\"}", f);
}

void metrics_set_zones(const struct zonedb *db, unsigned load_failures)
{
	/* Without --metrics, nothing reads it: not rendered (with thousands
	 * of zones, each publish would pay for it) */
	if (!daemon_)
		return;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return;
	fprintf(f, "# HELP shoal_zones Zones served.\n# TYPE shoal_zones gauge\nshoal_zones %zu\n",
		db->nzones);
	fprintf(f, "# HELP shoal_zone_load_failures Zone files that failed at the last load.\n"
		   "# TYPE shoal_zone_load_failures gauge\nshoal_zone_load_failures %u\n",
		load_failures);
	fprintf(f, "# HELP shoal_zone_serial SOA serial of each zone served.\n"
		   "# TYPE shoal_zone_serial gauge\n");
	for (size_t i = 0; i < db->nzones; i++) {
		put_zone_label(f, "shoal_zone_serial", db->zones[i]);
		fprintf(f, " %u\n", db->zones[i]->serial);
	}
	fprintf(f, "# HELP shoal_zone_records Records in each zone.\n# TYPE shoal_zone_records gauge\n");
	for (size_t i = 0; i < db->nzones; i++) {
		put_zone_label(f, "shoal_zone_records", db->zones[i]);
		fprintf(f, " %zu\n", db->zones[i]->nrecords);
	}
	/* Signed zones only: an unsigned zone has no expiry, and a 0 would
	 * read as "expired in 1970" to an alert on time() - value. */
	fprintf(f, "# HELP shoal_zone_rrsig_expiry_seconds Earliest RRSIG expiration of each "
		   "signed zone, as a Unix time.\n"
		   "# TYPE shoal_zone_rrsig_expiry_seconds gauge\n");
	for (size_t i = 0; i < db->nzones; i++) {
		if (!db->zones[i]->rrsig_expire)
			continue;
		put_zone_label(f, "shoal_zone_rrsig_expiry_seconds", db->zones[i]);
		fprintf(f, " %lld\n", (long long)db->zones[i]->rrsig_expire);
	}
	/* Secondary zones only (zone.h): 1 while SERVFAIL is answered for
	 * it (past its EXPIRE, or never transferred). */
	fprintf(f, "# HELP shoal_zone_expired 1 when a secondary zone is expired or has no data "
		   "yet (answered SERVFAIL).\n"
		   "# TYPE shoal_zone_expired gauge\n");
	for (size_t i = 0; i < db->nzones; i++) {
		const struct zone *z = db->zones[i];
		if (!atomic_load(&z->expire_at) && !z->stub)
			continue;
		put_zone_label(f, "shoal_zone_expired", z);
		fprintf(f, " %d\n", atomic_load(&z->expired) ? 1 : 0);
	}
	fclose(f);
	pthread_mutex_lock(&zones_lock);
	free(zones_text);
	zones_text = buf;
	pthread_mutex_unlock(&zones_lock);
}

#if HAVE_MICROHTTPD
#include <microhttpd.h>

static struct stats_worker *g_w;
static unsigned g_n;

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result mhd_result;
#else
typedef int mhd_result;
#endif

static mhd_result handle(void *cls, struct MHD_Connection *conn, const char *url,
			 const char *method, const char *version, const char *upload_data,
			 size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)con_cls;
	struct MHD_Response *resp;
	mhd_result ret;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		static const char msg[] = "method not allowed\n";
		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
						       MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(conn, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (strcmp(url, "/metrics") != 0) {
		static const char msg[] = "not found: try /metrics\n";
		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
						       MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return MHD_NO;
	stats_write_prometheus(f, g_w, g_n);
	pthread_mutex_lock(&zones_lock);
	if (zones_text)
		fputs(zones_text, f);
	pthread_mutex_unlock(&zones_lock);
	fclose(f);
	resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

int metrics_start(const struct listen_addr *addr, struct stats_worker *w, unsigned n, char *err,
		  size_t errsize)
{
	g_w = w;
	g_n = n;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (addr->ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	daemon_ = MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR,
				   (const struct sockaddr *)&addr->ss, MHD_OPTION_CONNECTION_LIMIT,
				   (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				   /* SO_REUSEPORT: a --replace successor binds the
				    * same metrics address while we drain. */
				   MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
	if (!daemon_) {
		snprintf(err, errsize, "--metrics %s: cannot start the HTTP server (address in use?)",
			 addr->text);
		return -1;
	}
	return 0;
}

void metrics_stop(void)
{
	if (daemon_)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
}

#else

int metrics_start(const struct listen_addr *addr, struct stats_worker *w, unsigned n, char *err,
		  size_t errsize)
{
	(void)w;
	(void)n;
	snprintf(err, errsize, "--metrics %s: shoal was built without libmicrohttpd", addr->text);
	return -1;
}

void metrics_stop(void)
{
}

#endif
