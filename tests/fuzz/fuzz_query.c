/*
 * fuzz_query.c - libFuzzer target: any bytes as a UDP and as a TCP query,
 * through query_parse and answer_query against the conformance zones (over
 * UDP also through the UDP loop's answer_query_warm, which must agree).
 * Built normally (without libFuzzer) it replays tests/fuzz/corpus (replay.c).
 */
#include <stdlib.h>
#include <string.h>

#include "answer/answer.h"
#include "fuzz.h"
#include "dns/query.h"
#include "zone/zonedb.h"

static struct zonedb *db;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	db = fuzz_conformance_zones("fuzz_query");
	return 0;
}

void fuzz_cleanup(void)
{
	zonedb_free(db);
	db = NULL;
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
		size_t len;
		if (tcp) {
			len = answer_query(&fuzz_answer_cfg, db, &q, st, buf, sizeof(buf), &info);
		} else {
			/* The UDP loop's way (cache-warming steps, then the zone
			 * they found) must match answer_query octet for octet. */
			static uint8_t ref[4096];
			struct answer_info rinfo;
			struct answer_warm w;
			size_t rlen = answer_query(&fuzz_answer_cfg, db, &q, st, ref, sizeof(ref),
						   &rinfo);
			answer_warm_zone(db, &q, st, &w);
			answer_warm_node(&q, &w);
			answer_warm_data(&w);
			len = answer_query_warm(&fuzz_answer_cfg, db, &q, st, &w, buf, 4096, &info);
			if (len != rlen || memcmp(buf, ref, len) != 0)
				abort();
		}
		if (len > (tcp ? sizeof(buf) : 4096))
			abort();
		if (len && (len < 12 || !(buf[2] & 0x80)))
			abort(); /* every answer is at least a header with QR set */
		if (!tcp && len > 512 && !q.edns)
			abort(); /* RFC 1035: 512 without EDNS */
	}
	return 0;
}
