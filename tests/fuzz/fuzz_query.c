/*
 * fuzz_query.c - libFuzzer target: any bytes as a UDP and as a TCP query,
 * through query_parse and answer_query against the conformance zones (over
 * UDP also through the UDP loop's answer_query_warm, which must agree).
 * Requests the workers send to serve.c (signed with TSIG, AXFR, IXFR) go
 * there instead, as udp.c and tcp_frame.c send them, answered in place:
 * the zonedb carries a configuration with a key and transfer acls
 * (fuzz_serve_zones), TSIG is checked at the time the seeds were signed
 * (FUZZ_TSIG_NOW) and again 1000 s later (BADTIME), and a transfer stream
 * is read to its end, every message a DNS message ldns parses.
 * Built normally (without libFuzzer) it replays tests/fuzz/corpus (replay.c).
 */
#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "answer/answer.h"
#include "fuzz.h"
#include "dns/query.h"
#include "xfr/serve.h"
#include "zone/zonedb.h"

static struct zonedb *db;
static struct sockaddr_in peer;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	db = fuzz_serve_zones("fuzz_query");
	peer.sin_family = AF_INET;
	peer.sin_port = htons(53535);
	inet_pton(AF_INET, "192.0.2.7", &peer.sin_addr);
	return 0;
}

void fuzz_cleanup(void)
{
	fuzz_serve_zones_free(db);
	db = NULL;
}

/* Every answer is at least a header with QR set, and a DNS message. */
static void check_message(const uint8_t *buf, size_t len)
{
	if (len < 12 || !(buf[2] & 0x80))
		abort();
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, buf, len) != LDNS_STATUS_OK)
		abort();
	ldns_pkt_free(p);
}

/* The serve.c path: the request in buf (size octets), answered over it. */
static void serve(const uint8_t *data, size_t size, uint8_t *buf, size_t cap, int tcp, uint64_t now)
{
	struct query q;
	struct answer_info info;
	memcpy(buf, data, size);
	enum query_status st = query_parse(&q, buf, size, tcp);
	if (!serve_wanted(&q, st))
		return;
	q.addr = (const struct sockaddr *)&peer;
	struct xfr_out *xo = NULL;
	size_t len = serve_request(&fuzz_answer_cfg, db, &q, st, buf, size, buf, cap,
	                           tcp ? &xo : NULL, now, &info);
	if (len > cap)
		abort();
	if (!tcp && len > 512 && !q.edns)
		abort(); /* RFC 1035: 512 without EDNS */
	if (len)
		check_message(buf, len);
	if (xo && (!tcp || !len || !info.xfr))
		abort(); /* a stream only over TCP, with its first message */
	if (!xo)
		return;
	unsigned n = 0;
	while ((len = xfr_out_next(xo, buf, cap, now)) > 0) {
		if (len > cap || ++n > 100000)
			abort();
		check_message(buf, len);
	}
	if (xfr_out_failed(xo))
		abort(); /* the conformance zones fit in messages */
	xfr_out_free(xo);
	if (xfr_out_running() != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[65535];
	struct query q;
	struct answer_info info;
	if (size > sizeof(buf))
		return 0;
	for (int tcp = 0; tcp < 2; tcp++) {
		size_t cap = tcp ? sizeof(buf) : 4096;
		serve(data, size, buf, cap, tcp, FUZZ_TSIG_NOW);
		serve(data, size, buf, cap, tcp, FUZZ_TSIG_NOW + 1000);
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
			size_t rlen =
			    answer_query(&fuzz_answer_cfg, db, &q, st, ref, sizeof(ref), &rinfo);
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
