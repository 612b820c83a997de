/* zone_update_bench.c: what an IXFR costs the versioned zone store.
 *
 *   shoal-zone-update-bench ZONEFILE ORIGIN [UPDATES] [CHANGES]
 *
 * Loads the zone, then makes UPDATES (default 50) new versions one after
 * the other, each from CHANGES (default 10) record changes as an IXFR
 * brings them: the SOA replaced with the serial raised, and the rest as
 * deletions and additions of A records at names of the zone (an address
 * replaced: one deletion, one addition). Each version is published over
 * the last the way a secondary does it (the old one released once the new
 * one is made), while the first version stays held, as a transfer reading
 * it would. Prints the load time, the median and worst time from the first
 * change to the committed version, and the resident memory after the load
 * and after the updates, so a test can see no second copy was made.
 * Used by scripts/bench --load-test; not a test (no pass/fail). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "zone/zone.h"
#include "zone/zone_load.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

static void diag(void *ctx, enum zone_diag_severity sev, const char *file, int line,
		 const char *reason)
{
	(void)ctx;
	if (sev == ZONE_DIAG_ERROR)
		fprintf(stderr, "%s:%d: %s\n", file, line, reason);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The A records of the zone's nodes, as (owner, rdata) to change. */
struct target {
	const struct node *n;
	uint8_t rdata[4];
	uint32_t ttl;
};

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s ZONEFILE ORIGIN [UPDATES] [CHANGES]\n", argv[0]);
		return 2;
	}
	int updates = argc > 3 ? atoi(argv[3]) : 50;
	int changes = argc > 4 ? atoi(argv[4]) : 10;
	ldns_rdf *org = ldns_dname_new_frm_str(argv[2]);
	if (!org || updates < 1 || changes < 2) {
		fprintf(stderr, "bad origin or counts\n");
		return 2;
	}
	double t0 = now_ms();
	struct zone *z = zone_load_file(argv[1], ldns_rdf_data(org), diag, NULL, NULL);
	if (!z)
		return 1;
	double load_ms = now_ms() - t0;
	zone_ref(z); /* a transfer reads the first version throughout */
	struct zone *first = z;
	zone_ref(z); /* published */
	long rss_loaded = rss_kib();

	/* names with an A record, spread over the table */
	size_t ntargets = 0, want = (size_t)updates * (size_t)changes;
	struct target *t = calloc(want, sizeof(*t));
	size_t step = (z->mask + 1) / (want + 1) + 1;
	for (size_t i = 0; i <= z->mask && ntargets < want; i += step) {
		for (size_t k = i; k <= z->mask && k < i + step; k++) {
			const struct node *n = zone_slot_at(z, k)->node;
			const struct rrset *a = n ? node_rrset(n, RRTYPE_A) : NULL;
			if (!a || a->count != 1)
				continue;
			t[ntargets].n = n;
			t[ntargets].ttl = a->ttl;
			memcpy(t[ntargets].rdata, a->wire + RR_FIXED_LEN, 4);
			ntargets++;
			break;
		}
	}
	double *ms = calloc((size_t)updates, sizeof(*ms));
	char msg[512];
	size_t ti = 0;
	for (int u = 0; u < updates; u++) {
		double s = now_ms();
		struct zone_update *up = zone_update_begin(z);
		/* the SOA, serial + 1 */
		const struct rrset *soa = z->soa;
		uint16_t rdlen = (uint16_t)(soa->wire[8] << 8 | soa->wire[9]);
		uint8_t rd[512];
		memcpy(rd, soa->wire + RR_FIXED_LEN, rdlen);
		if (zone_update_change(up, true, z->apex, RRTYPE_SOA, RRCLASS_IN, soa->ttl, rd, rdlen,
				       msg, sizeof(msg)) == ZB_ERROR)
			goto bad;
		uint32_t serial = z->serial + 1;
		uint8_t *sp = rd + rdlen - 20;
		sp[0] = (uint8_t)(serial >> 24);
		sp[1] = (uint8_t)(serial >> 16);
		sp[2] = (uint8_t)(serial >> 8);
		sp[3] = (uint8_t)serial;
		if (zone_update_change(up, false, z->apex, RRTYPE_SOA, RRCLASS_IN, soa->ttl, rd,
				       rdlen, msg, sizeof(msg)) == ZB_ERROR)
			goto bad;
		/* the other changes: addresses replaced, a deletion and an
		 * addition each */
		for (int c = 2; c + 1 < changes + 1 && ti < ntargets; c += 2, ti++) {
			struct target *x = &t[ti];
			uint8_t na[4] = {198, 51, (uint8_t)(ti >> 8), (uint8_t)ti};
			if (zone_update_change(up, true, x->n->name, RRTYPE_A, RRCLASS_IN, x->ttl,
					       x->rdata, 4, msg, sizeof(msg)) == ZB_ERROR ||
			    zone_update_change(up, false, x->n->name, RRTYPE_A, RRCLASS_IN, x->ttl, na,
					       4, msg, sizeof(msg)) == ZB_ERROR)
				goto bad;
		}
		struct zone *nz = zone_update_commit(up, msg, sizeof(msg));
		if (!nz) {
			fprintf(stderr, "commit: %s\n", msg);
			return 1;
		}
		zone_ref(nz);
		zone_unref(z); /* the previous version, replaced */
		z = nz;
		ms[u] = now_ms() - s;
		continue;
bad:
		fprintf(stderr, "change: %s\n", msg);
		return 1;
	}
	long rss_updated = rss_kib();
	qsort(ms, (size_t)updates, sizeof(*ms), cmp_double);
	printf("records %zu\nnames %zu\nload_ms %.0f\nupdates %d\nchanges_per_update %d\n"
	       "update_ms_median %.2f\nupdate_ms_max %.2f\nrss_loaded_kib %ld\n"
	       "rss_after_updates_kib %ld\nversions_alive %u\n",
	       z->nrecords, z->nnodes, load_ms, updates, changes, ms[updates / 2],
	       ms[updates - 1], rss_loaded, rss_updated, zone_versions_alive(z));
	zone_unref(first);
	zone_unref(z);
	free(ms);
	free(t);
	ldns_rdf_deep_free(org);
	return 0;
}
