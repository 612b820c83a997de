/* common.c: set-up shared by the fuzz targets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "ops/conf.h"
#include "ops/log.h"
#include "zone/journal.h"
#include "zone/zone_diff.h"
#include "zone/zonedb.h"
#include "zone/zoneset.h"

static const uint8_t nsid[] = "fuzz";
const struct answer_cfg fuzz_answer_cfg = {
    .edns_size = 1232,
    .nsid = nsid,
    .nsid_len = 4,
    .version = "fuzz",
    .identity = "fuzz",
    .xfr_max = 4,
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

static const char serve_conf[] = "key:\n"
                                 "  - id: " FUZZ_KEY_NAME "\n"
                                 "    algorithm: hmac-sha256\n"
                                 "    secret: " FUZZ_KEY_SECRET "\n"
                                 "acl:\n"
                                 "  - id: denied\n"
                                 "    address: 192.0.2.66\n"
                                 "    action: transfer\n"
                                 "    deny: on\n"
                                 "  - id: keyed\n"
                                 "    key: " FUZZ_KEY_NAME "\n"
                                 "    action: transfer\n"
                                 "  - id: anyone\n"
                                 "    action: transfer\n"
                                 "zone:\n"
                                 "  - domain: example.com.\n"
                                 "    acl: [denied, keyed, anyone]\n"
                                 "  - domain: example.\n"
                                 "    acl: [keyed]\n"
                                 "  - domain: sub.example.com.\n";

static struct journal *serve_journal;
static char serve_dir[64], serve_path[128];

/* The journal's file and folder go as soon as it is written: nothing
 * writes it again (a libFuzzer run never calls fuzz_cleanup). */
static void serve_files_remove(void)
{
	if (serve_path[0])
		unlink(serve_path);
	if (serve_dir[0])
		rmdir(serve_dir);
	serve_path[0] = serve_dir[0] = 0;
}

static void quiet_journal_log(void *ctx, enum log_level level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

static void conf_diag(void *ctx, const char *msg)
{
	fprintf(stderr, "%s: %s\n", (const char *)ctx, msg);
}

static void die(const char *target, const char *what)
{
	fprintf(stderr, "%s: %s\n", target, what);
	exit(1);
}

/* The next version of `z`: serial + 1, TXT "fuzz" added at the apex. */
static struct zone *next_version(const char *target, struct zone *z)
{
	const struct rrset *soa = z->soa;
	const uint8_t *w = soa->wire; /* TYPE CLASS TTL RDLENGTH RDATA */
	uint16_t rdlen = (uint16_t)(w[8] << 8 | w[9]);
	const uint8_t *rd = w + RR_FIXED_LEN;
	uint8_t nrd[2 * DNAME_MAX + 20];
	if (rdlen < 20 || rdlen > sizeof(nrd))
		die(target, "example.com.: an SOA that cannot be read");
	memcpy(nrd, rd, rdlen);
	uint32_t serial = z->serial + 1;
	uint8_t *sp = nrd + rdlen - 20; /* SERIAL REFRESH RETRY EXPIRE MINIMUM */
	sp[0] = (uint8_t)(serial >> 24);
	sp[1] = (uint8_t)(serial >> 16);
	sp[2] = (uint8_t)(serial >> 8);
	sp[3] = (uint8_t)serial;
	static const uint8_t txt[] = {4, 'f', 'u', 'z', 'z'};
	char msg[256];
	struct zone_update *u = zone_update_begin(z);
	if (!u ||
	    zone_update_change(u, true, z->apex, RRTYPE_SOA, RRCLASS_IN, soa->ttl, rd, rdlen, msg,
	                       sizeof(msg)) == ZB_ERROR ||
	    zone_update_change(u, false, z->apex, RRTYPE_SOA, RRCLASS_IN, soa->ttl, nrd, rdlen, msg,
	                       sizeof(msg)) == ZB_ERROR ||
	    zone_update_change(u, false, z->apex, RRTYPE_TXT, RRCLASS_IN, 300, txt, sizeof(txt),
	                       msg, sizeof(msg)) == ZB_ERROR)
		die(target, "example.com.: cannot make a second version");
	struct zone *n = zone_update_commit(u, msg, sizeof(msg));
	if (!n)
		die(target, "example.com.: cannot commit a second version");
	return n;
}

struct zonedb *fuzz_serve_zones(const char *target)
{
	log_set_level(LOG_LVL_ERR);
	struct zonedb *db = fuzz_conformance_zones(target);
	struct conf *c = NULL;
	if (conf_load_buf("fuzz.conf", serve_conf, strlen(serve_conf), conf_diag, (void *)target,
	                  &c) < 0)
		die(target, "the configuration does not load");
	uint8_t apex[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0};
	struct zone **zones = calloc(db->nzones, sizeof(*zones));
	struct zone *old = NULL, *new = NULL;
	if (!zones)
		die(target, "out of memory");
	for (size_t i = 0; i < db->nzones; i++) {
		zones[i] = db->zones[i];
		if (zones[i]->apex_len == sizeof(apex) &&
		    !memcmp(zones[i]->apex, apex, sizeof(apex)))
			old = zones[i];
	}
	if (!old)
		die(target, "no example.com. zone");
	new = next_version(target, old);
	struct changeset *cs = NULL;
	if (zone_diff(old, new, &cs) < 0)
		die(target, "example.com.: no difference");
	snprintf(serve_dir, sizeof(serve_dir), "/tmp/shoal-fuzz-XXXXXX");
	if (!mkdtemp(serve_dir))
		die(target, "mkdtemp failed");
	snprintf(serve_path, sizeof(serve_path), "%s/example.com.journal", serve_dir);
	serve_journal = journal_open(serve_path, old->serial, 0, 0, quiet_journal_log, NULL);
	if (!serve_journal || journal_append(serve_journal, cs) < 0)
		die(target, "example.com.: the journal cannot be written");
	changeset_unref(cs);
	serve_files_remove();
	new->journal = serve_journal;
	for (size_t i = 0; i < db->nzones; i++)
		if (zones[i] == old)
			zones[i] = new;
	struct zonedb *ndb = zonedb_new(zones, db->nzones);
	free(zones);
	if (!ndb)
		die(target, "out of memory");
	ndb->conf = c;
	zonedb_free(db); /* the first version of example.com. goes with it */
	return ndb;
}

void fuzz_serve_zones_free(struct zonedb *db)
{
	zonedb_free(db);
	journal_close(serve_journal);
	serve_journal = NULL;
	serve_files_remove();
}
