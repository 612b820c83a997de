/* common.c: set-up shared by the fuzz targets. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "zone/zonedb.h"
#include "zone/zoneset.h"

static const uint8_t nsid[] = "fuzz";
const struct answer_cfg fuzz_answer_cfg = {
	.edns_size = 1232,
	.nsid = nsid,
	.nsid_len = 4,
	.version = "fuzz",
	.identity = "fuzz",
};

void fuzz_quiet_diag(void *ctx, enum zone_diag_severity sev, const char *file, int line,
                     const char *reason)
{
	(void)ctx;
	(void)sev;
	(void)file;
	(void)line;
	(void)reason;
}

struct zonedb *fuzz_conformance_zones(const char *target)
{
	const char *src = getenv("SHOAL_SRCDIR");
	char dir[4096];
	struct zonedb *db = NULL;
	struct zonedb_load_stats st;
	snprintf(dir, sizeof(dir), "%s/tests/conformance/zones", src ? src : ".");
	if (zonedb_load_dir(dir, NULL, fuzz_quiet_diag, NULL, &db, &st) < 0 || !db ||
	    db->nzones == 0) {
		fprintf(stderr, "%s: cannot load zones from %s (set SHOAL_SRCDIR)\n", target, dir);
		exit(1);
	}
	return db;
}
