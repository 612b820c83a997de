/* metrics.h: Prometheus text exposition over HTTP (libmicrohttpd). */
#ifndef SHOAL_METRICS_H
#define SHOAL_METRICS_H

#include <stddef.h>

#include "ops/options.h"
#include "ops/stats.h"

struct zonedb;

/**
 * Serve GET /metrics on `addr` from an internal libmicrohttpd thread.
 * Binds at once (call before dropping privileges).
 * \return 0, or -1 with err filled (also when built without libmicrohttpd)
 */
int metrics_start(const struct listen_addr *addr, struct stats_worker *w, unsigned n, char *err,
		  size_t errsize);

/** Record what the zone gauges should say (main thread, after each load). */
void metrics_set_zones(const struct zonedb *db, unsigned load_failures);

void metrics_stop(void);

#endif
