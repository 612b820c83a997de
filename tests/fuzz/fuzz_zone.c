/*
 * fuzz_zone.c - libFuzzer target: any bytes as a zone file for
 * example.com., through zone_load_file (ldns's parser, $ORIGIN, $TTL,
 * $INCLUDE, the zone builder's checks), once with the loader's plain-line
 * reader and once with ldns's own (SHOAL_LDNS_READER=1): both must give
 * the same records and messages. A zone that loads is then asked,
 * over UDP and TCP, for every type at each of its names (up to a bound),
 * for a name below each and for DS: every answer must be a DNS message
 * that echoes the question as asked. Then the versioned store: some names
 * lose their records in one new version and get them back in the next
 * (round_trip), each version answering sanely, the last one holding the
 * same records as the load.
 *
 * The file is written to a private temporary directory, beside a small
 * inc.zone, so a relative $INCLUDE finds those two or nothing. Inputs with
 * an $INCLUDE and a '/' anywhere are skipped (an include of /dev/zero would
 * read forever: zone files are trusted input), as are those with more than
 * two $INCLUDEs (each file including itself twice is 2^8 loads already).
 * Built normally (without libFuzzer) it replays tests/fuzz/corpus-zone.
 */
#include <errno.h>
#include <ldns/ldns.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "answer/answer.h"
#include "fuzz.h"
#include "zone/zone.h"
#include "zone/zonedb.h"

#define NODES_MAX 32 /* names of a zone asked about, per input */
#define TYPES_MAX 8  /* types asked at each */
#define INCLUDES_MAX 2

static char dir[4096], path[4200], inc[4200];
static uint8_t origin[DNAME_MAX];

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ask one question over UDP (no EDNS: the 512 limit) and over TCP (EDNS
 * with DO) and check the answers. */
static void ask(const struct zonedb *db, const uint8_t *name, size_t nlen, uint16_t type)
{
	static uint8_t q[DNS_HEADER_LEN + DNAME_MAX + 4 + 11], buf[65535];
	static uint16_t id;
	for (int tcp = 0; tcp < 2; tcp++) {
		size_t len = DNS_HEADER_LEN;
		memset(q, 0, DNS_HEADER_LEN);
		put16(q, ++id);
		q[2] = 0x01; /* RD */
		put16(q + 4, 1);
		memcpy(q + len, name, nlen);
		len += nlen;
		put16(q + len, type);
		put16(q + len + 2, RRCLASS_IN);
		len += 4;
		size_t qend = len;
		if (tcp) {
			/* OPT: root owner, size 1232, DO (RFC 6891 §6.1.2) */
			static const uint8_t opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0};
			memcpy(q + len, opt, sizeof(opt));
			len += sizeof(opt);
			put16(q + 10, 1);
		}
		struct query qq;
		struct answer_info info;
		enum query_status st = query_parse(&qq, q, len, tcp);
		if (st != QUERY_OK)
			abort(); /* we wrote a valid query */
		size_t bufsize = tcp ? sizeof(buf) : 4096;
		size_t rlen = answer_query(&fuzz_answer_cfg, db, &qq, st, buf, bufsize, &info);
		if (rlen < DNS_HEADER_LEN || rlen > bufsize || (!tcp && rlen > 512))
			abort(); /* a query for our zone is answered, within limits */
		if (!(buf[2] & 0x80) || memcmp(buf, q, 2) != 0)
			abort(); /* QR, our ID */
		if ((buf[4] << 8 | buf[5]) == 1 &&
		    (rlen < qend ||
		     memcmp(buf + DNS_HEADER_LEN, q + DNS_HEADER_LEN, qend - DNS_HEADER_LEN) != 0))
			abort(); /* the question as asked, letter case and all */
		ldns_pkt *p = NULL;
		if (ldns_wire2pkt(&p, buf, rlen) != LDNS_STATUS_OK)
			abort(); /* not a DNS message */
		ldns_pkt_free(p);
	}
}

static void ask_zone(const struct zonedb *db, const struct zone *z)
{
	unsigned nodes = 0;
	for (size_t i = 0; i <= z->mask && nodes < NODES_MAX; i++) {
		const struct node *n = zone_slot_at(z, i)->node;
		if (!n)
			continue;
		nodes++;
		uint8_t name[DNAME_MAX];
		memcpy(name, n->name, n->name_len);
		/* ask in another letter case than stored: it must come back */
		for (size_t j = 0; j < n->name_len; j++)
			if (name[j] >= 'a' && name[j] <= 'z' && (j + nodes) % 2)
				name[j] = (uint8_t)(name[j] - 'a' + 'A');
		for (unsigned t = 0; t < n->nrrsets && t < TYPES_MAX; t++)
			ask(db, name, n->name_len, n->rrsets[t].type);
		ask(db, name, n->name_len, RRTYPE_A);
		ask(db, name, n->name_len, RRTYPE_ANY);
		ask(db, name, n->name_len, RRTYPE_DS);
		if (n->name_len + 2 <= DNAME_MAX) {
			/* below it: NXDOMAIN, a wildcard, a referral, a DNAME */
			uint8_t below[DNAME_MAX] = {1, 'x'};
			memcpy(below + 2, name, n->name_len);
			ask(db, below, n->name_len + 2u, RRTYPE_A);
		}
	}
}

/* An $INCLUDE the loader would follow outside our directory, or too many. */
static bool risky(const uint8_t *data, size_t size)
{
	unsigned includes = 0;
	for (size_t i = 0; i + 8 <= size; i++)
		if (data[i] == '$' && strncasecmp((const char *)data + i, "$INCLUDE", 8) == 0)
			includes++;
	return includes > INCLUDES_MAX || (includes && memchr(data, '/', size));
}

static void remove_dir(void)
{
	unlink(path);
	unlink(inc);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/shoal-fuzz-zone-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir)) {
		fprintf(stderr, "fuzz_zone: mkdtemp %s: %s\n", dir, strerror(errno));
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/fuzz.zone", dir);
	snprintf(inc, sizeof(inc), "%s/inc.zone", dir);
	FILE *f = fopen(inc, "w");
	if (!f ||
	    fputs("inc 300 IN A 192.0.2.9\n"
	          "inc IN TXT \"included\"\n"
	          "*.inc IN MX 10 mail\n",
	          f) < 0 ||
	    fclose(f) != 0) {
		fprintf(stderr, "fuzz_zone: cannot write %s\n", inc);
		exit(1);
	}
	atexit(remove_dir);
	ldns_rdf *o = ldns_dname_new_frm_str("example.com.");
	if (!o)
		abort();
	memcpy(origin, ldns_rdf_data(o), ldns_rdf_size(o));
	ldns_rdf_deep_free(o);
	return 0;
}

void fuzz_cleanup(void)
{
}

/* Every message of a load, folded into one number (FNV-1a). */
static void hash_diag(void *ctx, enum zone_diag_severity sev, const char *file, int line,
		      const char *reason)
{
	uint64_t *h = ctx;
	char buf[2048];
	int n = snprintf(buf, sizeof(buf), "%d %s:%d: %s\n", (int)sev, file, line, reason);
	for (int i = 0; i < n && i < (int)sizeof(buf); i++)
		*h = (*h ^ (uint8_t)buf[i]) * 0x100000001b3ull;
}

/* The same records in both zones (or neither zone). */
static bool same_zone(const struct zone *a, const struct zone *b)
{
	if (!a || !b)
		return a == b;
	if (a->nnodes != b->nnodes || a->nrecords != b->nrecords)
		return false;
	for (size_t i = 0; i <= a->mask; i++) {
		const struct node *n = zone_slot_at(a, i)->node;
		if (!n)
			continue;
		const struct node *m = zone_find(b, n->name, n->name_len, n->hash);
		if (!m || m->nrrsets != n->nrrsets)
			return false;
		for (unsigned k = 0; k < n->nrrsets; k++)
			if (m->rrsets[k].type != n->rrsets[k].type ||
			    m->rrsets[k].ttl != n->rrsets[k].ttl ||
			    m->rrsets[k].wire_len != n->rrsets[k].wire_len ||
			    memcmp(m->rrsets[k].wire, n->rrsets[k].wire, n->rrsets[k].wire_len))
				return false;
	}
	return true;
}

/* zone_load.c reads plain lines itself and the rest with ldns's reader;
 * with SHOAL_LDNS_READER=1 it takes ldns's for all. Both must agree on
 * every record and every message. */
static void compare_readers(const struct zone *z, unsigned nerrors, uint64_t diag)
{
	uint64_t diag2 = 0xcbf29ce484222325ull;
	unsigned nerrors2 = 0;
	setenv("SHOAL_LDNS_READER", "1", 1);
	struct zone *z2 = zone_load_file(path, origin, hash_diag, &diag2, &nerrors2);
	unsetenv("SHOAL_LDNS_READER");
	if (nerrors2 != nerrors || diag2 != diag || !same_zone(z, z2))
		abort(); /* the two readers differ */
	zone_free(z2);
}

/* Records of one set, sorted, for comparing sets whatever their order
 * (order within an RRset carries no meaning). */
static int cmp_rec(const void *a, const void *b)
{
	const uint8_t *x = *(const uint8_t *const *)a, *y = *(const uint8_t *const *)b;
	size_t lx = RR_FIXED_LEN + (size_t)(x[8] << 8 | x[9]);
	size_t ly = RR_FIXED_LEN + (size_t)(y[8] << 8 | y[9]);
	int c = memcmp(x, y, lx < ly ? lx : ly);
	return c ? c : (lx > ly) - (lx < ly);
}

static bool same_set(const struct rrset *x, const struct rrset *y)
{
	static const uint8_t *va[65536], *vb[65536];
	if (x->type != y->type || x->count != y->count || x->ttl != y->ttl ||
	    x->wire_len != y->wire_len || x->sig_count != y->sig_count)
		return false;
	const uint8_t *pa = x->wire, *pb = y->wire;
	for (unsigned i = 0; i < x->count; i++) {
		va[i] = pa;
		vb[i] = pb;
		pa += RR_FIXED_LEN + (size_t)(pa[8] << 8 | pa[9]);
		pb += RR_FIXED_LEN + (size_t)(pb[8] << 8 | pb[9]);
	}
	qsort(va, x->count, sizeof(*va), cmp_rec);
	qsort(vb, x->count, sizeof(*vb), cmp_rec);
	for (unsigned i = 0; i < x->count; i++)
		if (cmp_rec(&va[i], &vb[i]))
			return false;
	return true;
}

/* Every record of `n` (RRSIGs from the RRSIG set: the copies behind the
 * sets they cover are the same records) removed or added by `u`. */
static bool change_node(struct zone_update *u, const struct node *n, bool remove)
{
	char msg[512];
	for (unsigned k = 0; k < n->nrrsets; k++) {
		const struct rrset *rs = &n->rrsets[k];
		const uint8_t *w = rs->wire;
		for (unsigned i = 0; i < rs->count; i++) {
			uint16_t rl = (uint16_t)(w[8] << 8 | w[9]);
			uint32_t ttl = (uint32_t)w[4] << 24 | (uint32_t)w[5] << 16 |
				       (uint32_t)w[6] << 8 | w[7];
			if (zone_update_change(u, remove, n->name, rs->type, RRCLASS_IN, ttl,
					       w + RR_FIXED_LEN, rl, msg, sizeof(msg)) == ZB_ERROR)
				return false;
			w += RR_FIXED_LEN + rl;
		}
	}
	return true;
}

/* The versioned store on whatever zone loaded: up to NODES_MAX names
 * other than the apex lose all their records in one version and get them
 * back in the next; each version answers sanely, the first one stays as
 * it was, and the last holds exactly the records of the first. */
static void round_trip(struct zone *z)
{
	const struct node *picked[NODES_MAX];
	unsigned np = 0;
	for (size_t i = 0; i <= z->mask && np < NODES_MAX; i++) {
		const struct node *n = zone_slot_at(z, i)->node;
		if (n && n != z->apex_node && n->nrrsets)
			picked[np++] = n;
	}
	struct zone_update *u = zone_update_begin(z);
	if (!u)
		return;
	for (unsigned i = 0; i < np; i++)
		if (!change_node(u, picked[i], true))
			abort(); /* removing what the version has */
	char msg[512];
	struct zone *v2 = zone_update_commit(u, msg, sizeof(msg));
	if (!v2)
		abort(); /* the apex is untouched: nothing to refuse */
	for (unsigned i = 0; i < np; i++) {
		const struct node *m =
			zone_find(v2, picked[i]->name, picked[i]->name_len, picked[i]->hash);
		if (m && (m->nrrsets || !m->children))
			abort(); /* gone, or an empty non-terminal */
	}
	zone_ref(v2); /* held through the next update, as a secondary would */
	struct zonedb *db = zonedb_new(&v2, 1);
	if (db) {
		ask_zone(db, v2);
		zonedb_free(db);
	}
	u = zone_update_begin(v2);
	if (!u) {
		zone_unref(v2);
		return;
	}
	for (unsigned i = 0; i < np; i++)
		if (!change_node(u, picked[i], false))
			abort(); /* adding back what the first version had */
	struct zone *v3 = zone_update_commit(u, msg, sizeof(msg));
	if (!v3)
		abort(); /* adding back cannot fail */
	if (v3->nnodes != z->nnodes || v3->nrecords != z->nrecords || v3->nrrsigs != z->nrrsigs ||
	    v3->nblockers != z->nblockers || v3->nsec.n != z->nsec.n ||
	    !v3->nsec3 != !z->nsec3 || (z->nsec3 && v3->nsec3->v.n != z->nsec3->v.n))
		abort(); /* the round trip lost or made something */
	for (size_t i = 0; i <= z->mask; i++) {
		const struct node *n = zone_slot_at(z, i)->node;
		if (!n)
			continue;
		const struct node *m = zone_find(v3, n->name, n->name_len, n->hash);
		if (!m || m->nrrsets != n->nrrsets || m->children != n->children ||
		    !m->wildcard != !n->wildcard || (m->flags & ~NODE_OWN) != (n->flags & ~NODE_OWN))
			abort();
		for (unsigned k = 0; k < n->nrrsets; k++)
			if (!same_set(&n->rrsets[k], &m->rrsets[k]))
				abort();
	}
	db = zonedb_new(&v3, 1);
	if (db) {
		ask_zone(db, v3);
		zonedb_free(db); /* releases v3 */
	} else {
		zone_free(v3);
	}
	zone_unref(v2); /* freed with v3 once the first version goes */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (risky(data, size))
		return 0;
	FILE *f = fopen(path, "wb");
	if (!f)
		abort();
	if (fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	unsigned nerrors = 0;
	uint64_t diag = 0xcbf29ce484222325ull;
	struct zone *z = zone_load_file(path, origin, hash_diag, &diag, &nerrors);
	compare_readers(z, nerrors, diag);
	if (!z) {
		if (nerrors == 0)
			abort(); /* no zone, and no reason given */
		return 0;
	}
	if (nerrors != 0)
		abort(); /* a zone despite errors */
	struct zonedb *db = zonedb_new(&z, 1);
	if (!db) {
		zone_free(z);
		return 0;
	}
	ask_zone(db, z);
	zone_ref(z); /* kept past the database, for the round trip */
	zonedb_free(db);
	round_trip(z);
	zone_unref(z);
	return 0;
}
