/*
 * fuzz_tcp.c - libFuzzer target: any bytes as what a client sends on one
 * TCP connection, through tcp_frame (framing, answering, blocked output)
 * against the conformance zones, with server cookies on; the zonedb carries
 * a configuration with a TSIG key and transfer acls (fuzz_serve_zones), so
 * signed requests and AXFR/IXFR streams (driven as tcp.c drives them,
 * TCP_FRAME_YIELD included) go through serve.c. TSIG is checked at the
 * real time here: the signed seeds are answered BADTIME, signed.
 *
 * Each input runs twice, as tcp.c would see it: once in reads as large as
 * the buffer takes, once cut into reads at places drawn from the input
 * (from 1 octet up), with the output blocking now and then. Both must give
 * the same responses and end in the same state. Every response handed out
 * must be a framed DNS message: its prefix its length, at least a header,
 * QR set, and ldns must parse it.
 * Built normally (without libFuzzer) it replays tests/fuzz/corpus-tcp.
 */
#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guard/cookie.h"
#include "fuzz.h"
#include "net/tcp_frame.h"
#include "xfr/serve.h"

static struct zonedb *db;
static const uint8_t nsid[] = "fuzz";
static const struct answer_cfg cfg = {
    .edns_size = 1232,
    .cookies = true,
    .nsid = nsid,
    .nsid_len = 4,
    .version = "fuzz",
    .identity = "fuzz",
    .xfr_max = 4,
};
static struct stats stats;
static struct tcp_frame_answerer ans = {.cfg = &cfg, .stats = &stats};
static struct sockaddr_in peer4 = {.sin_family = AF_INET};
static struct sockaddr_in6 peer6 = {.sin6_family = AF_INET6};

/* Responses of the first run, to compare the second with: a response is
 * at least 14 octets of stream (prefix and header) for one of ours. */
#define INPUT_MAX (1u << 17)
#define RECORDS_MAX (INPUT_MAX / (2 + DNS_HEADER_LEN) + 1)

struct record {
	size_t len;
	uint64_t hash;               /* FNV-1a of the frame */
	uint8_t hdr[DNS_HEADER_LEN]; /* the response header */
};

static struct record records[RECORDS_MAX];

struct sim {
	uint64_t rng; /* 0: reads as large as they fit, output never blocks */
	bool compare; /* check against records[] instead of filling it */
	time_t t0;    /* when the first run began */
	unsigned n;   /* responses so far */
	bool closed;
	size_t left; /* octets of an incomplete message at the end */
};

static uint64_t fnv1a(const uint8_t *d, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ d[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t next_rng(struct sim *sm)
{
	/* splitmix64 */
	uint64_t z = (sm->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The size of the next read: mostly tiny or small, sometimes large. */
static size_t next_chunk(struct sim *sm)
{
	if (!sm->rng)
		return SIZE_MAX;
	uint64_t r = next_rng(sm);
	switch (r & 3) {
	case 0:
		return 1 + (r >> 8) % 3;
	case 1:
	case 2:
		return 1 + (r >> 8) % 64;
	default:
		return 1 + (r >> 8) % 4096;
	}
}

static enum tcp_frame_result emit(void *ctx, const uint8_t *frame, size_t len)
{
	struct sim *sm = ctx;
	if (frame != ans.out || len < 2 + DNS_HEADER_LEN || len > TCP_FRAME_MAX)
		abort();
	if ((size_t)(frame[0] << 8 | frame[1]) != len - 2)
		abort(); /* the prefix is the response's length */
	if (!(frame[2 + 2] & 0x80))
		abort(); /* QR */
	ldns_pkt *p = NULL;
	if (ldns_wire2pkt(&p, frame + 2, len - 2) != LDNS_STATUS_OK)
		abort(); /* not a DNS message */
	ldns_pkt_free(p);
	if (sm->n >= RECORDS_MAX)
		abort(); /* more responses than messages could fit */
	struct record *r = &records[sm->n++];
	uint64_t h = fnv1a(frame, len);
	if (!sm->compare) {
		r->len = len;
		r->hash = h;
		memcpy(r->hdr, frame + 2, DNS_HEADER_LEN);
	} else if (r->len != len || memcmp(r->hdr, frame + 2, DNS_HEADER_LEN) ||
	           (r->hash != h && time(NULL) == sm->t0)) {
		/* how the stream was cut changed an answer (other octets may
		 * differ only in a server cookie made in another second) */
		abort();
	}
	if (sm->rng && next_rng(sm) % 4 == 0)
		return TCP_FRAME_BLOCKED;
	return TCP_FRAME_MORE;
}

/* One connection, driven as tcp.c's conn_readable and conn_writable do. */
static void run(const uint8_t *data, size_t size, const struct sockaddr *peer, struct sim *sm)
{
	struct tcp_frame_in in;
	struct xfr_out *xo = NULL; /* a transfer in progress */
	if (tcp_frame_in_init(&in) < 0)
		abort();
	size_t pos = 0;
	enum tcp_frame_result r = TCP_FRAME_MORE;
	while (r != TCP_FRAME_CLOSE) {
		if (r == TCP_FRAME_BLOCKED || r == TCP_FRAME_YIELD) {
			/* the output drained, or a transfer's turn came again:
			 * go on with what was read */
			r = tcp_frame_process(&in, &ans, db, peer, &xo, emit, sm);
			continue;
		}
		if (pos == size)
			break;
		size_t room;
		if (tcp_frame_in_reserve(&in, &room) < 0)
			abort();
		if (room == 0)
			abort(); /* full while not waiting for output: tcp.c would spin */
		size_t n = next_chunk(sm);
		if (n > room)
			n = room;
		if (n > size - pos)
			n = size - pos;
		memcpy(in.buf + in.len, data + pos, n);
		in.len += n;
		pos += n;
		r = tcp_frame_process(&in, &ans, db, peer, &xo, emit, sm);
		if (in.len > in.cap)
			abort();
	}
	xfr_out_free(xo);
	if (xfr_out_running() != 0)
		abort(); /* a stream not freed */
	sm->closed = r == TCP_FRAME_CLOSE;
	sm->left = in.len;
	if (!sm->closed && in.len >= 2) {
		/* what is left is one message still incomplete, with room for
		 * all of it */
		size_t mlen = (size_t)(in.buf[0] << 8 | in.buf[1]);
		if (mlen < DNS_HEADER_LEN || in.len >= 2 + mlen || in.cap < 2 + mlen)
			abort();
	}
	tcp_frame_in_free(&in);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static const uint8_t secret[COOKIE_SECRET_LEN] = "fuzz-fuzz-fuzz!";
	db = fuzz_serve_zones("fuzz_tcp");
	ans.out = malloc(TCP_FRAME_MAX);
	if (!ans.out || cookie_keys_rotate(secret) < 0)
		abort();
	inet_pton(AF_INET, "192.0.2.7", &peer4.sin_addr);
	inet_pton(AF_INET6, "2001:db8::7", &peer6.sin6_addr);
	return 0;
}

void fuzz_cleanup(void)
{
	cookie_keys_free();
	free(ans.out);
	fuzz_serve_zones_free(db);
	db = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > INPUT_MAX)
		return 0;
	uint64_t seed = fnv1a(data, size);
	const struct sockaddr *peer =
	    seed & 1 ? (const struct sockaddr *)&peer6 : (const struct sockaddr *)&peer4;
	struct sim whole = {.t0 = time(NULL)};
	run(data, size, peer, &whole);
	struct sim cut = {.rng = seed | 1, .compare = true, .t0 = whole.t0};
	run(data, size, peer, &cut);
	if (cut.n != whole.n || cut.closed != whole.closed ||
	    (!whole.closed && cut.left != whole.left))
		abort();
	return 0;
}
