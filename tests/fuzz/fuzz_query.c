/*
 * fuzz_query.c - libFuzzer target: any bytes as a UDP and as a TCP query,
 * through query_parse and answer_query against the conformance zones.
 * Built normally (without libFuzzer) it is a replay test: every file of the
 * corpus directories given as arguments runs through the same code, so
 * inputs that once crashed stay tests (as Knot's tests-fuzz do).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "query.h"
#include "zonedb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct zonedb *db;
static const uint8_t nsid[] = "fuzz";
static const struct answer_cfg cfg = {
	.edns_size = 1232,
	.nsid = nsid,
	.nsid_len = 4,
	.version = "fuzz",
	.identity = "fuzz",
};

static void quiet_diag(void *ctx, enum zone_diag_severity sev, const char *file, int line,
		       const char *reason)
{
	(void)ctx;
	(void)sev;
	(void)file;
	(void)line;
	(void)reason;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *src = getenv("SHOAL_SRCDIR");
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/tests/conformance/zones", src ? src : ".");
	struct zonedb_load_stats st;
	if (zonedb_load_dir(dir, NULL, quiet_diag, NULL, &db, &st) < 0 || !db || db->nzones == 0) {
		fprintf(stderr, "fuzz_query: cannot load zones from %s (set SHOAL_SRCDIR)\n", dir);
		exit(1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[65535];
	struct query q;
	struct answer_info info;
	for (int tcp = 0; tcp < 2; tcp++) {
		if (size > sizeof(buf))
			return 0;
		/* answered in place, as the workers do */
		memcpy(buf, data, size);
		enum query_status st = query_parse(&q, buf, size, tcp);
		size_t len = answer_query(&cfg, db, &q, st, buf, tcp ? sizeof(buf) : 4096, &info);
		if (len > (tcp ? sizeof(buf) : 4096))
			abort();
		if (len && (len < 12 || !(buf[2] & 0x80)))
			abort(); /* every answer is at least a header with QR set */
		if (!tcp && len > 512 && !q.edns)
			abort(); /* RFC 1035: 512 without EDNS */
	}
	return 0;
}

#ifndef SHOAL_LIBFUZZER
static int replay_dir(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;
	if (!d) {
		perror(path);
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char f[8192];
		snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
		FILE *fp = fopen(f, "rb");
		if (!fp)
			continue;
		static uint8_t data[65536];
		size_t len = fread(data, 1, sizeof(data), fp);
		fclose(fp);
		LLVMFuzzerTestOneInput(data, len);
		n++;
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	LLVMFuzzerInitialize(&argc, &argv);
	int total = 0;
	for (int i = 1; i < argc; i++) {
		int n = replay_dir(argv[i]);
		if (n < 0)
			return 1;
		total += n;
	}
	printf("replayed %d inputs\n", total);
	zonedb_free(db);
	return 0;
}
#endif
