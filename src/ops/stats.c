/* stats.c: counters, summed only when read. */
#include "ops/stats.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ops/log.h"
#include "zone/zone.h"

static const struct {
	uint16_t type;
	const char *name;
} qtypes[STATS_QTYPES - 1] = {
	{1, "A"},      {2, "NS"},     {5, "CNAME"},  {6, "SOA"},   {12, "PTR"},
	{15, "MX"},    {16, "TXT"},   {28, "AAAA"},  {33, "SRV"},  {39, "DNAME"},
	{43, "DS"},    {48, "DNSKEY"}, {65, "HTTPS"}, {255, "ANY"}, {252, "AXFR"},
};

unsigned stats_qtype_index(uint16_t qtype)
{
	for (unsigned i = 0; i < STATS_QTYPES - 1; i++)
		if (qtypes[i].type == qtype)
			return i;
	return STATS_QTYPES - 1;
}

const char *stats_qtype_name(unsigned idx)
{
	return idx < STATS_QTYPES - 1 ? qtypes[idx].name : "other";
}

const char *stats_rcode_name(unsigned rcode)
{
	static const char *const names[STATS_RCODES] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
		"YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", NULL, NULL, NULL, NULL, NULL, "BADVERS",
		NULL, NULL, NULL, NULL, NULL, NULL, "BADCOOKIE"};
	return rcode < STATS_RCODES ? names[rcode] : NULL;
}

struct stats_worker *stats_alloc(unsigned n)
{
	struct stats_worker *w = aligned_alloc(64, ((sizeof(*w) * n + 63) / 64) * 64);
	if (w)
		memset(w, 0, sizeof(*w) * n);
	return w;
}

void stats_write_prometheus(FILE *f, const struct stats_worker *w, unsigned n)
{
	static const char *const proto[] = {"udp", "tcp"};
#define PER_WORKER(metric, help, field)                                                           \
	do {                                                                                       \
		fprintf(f, "# HELP shoal_%s %s\n# TYPE shoal_%s counter\n", metric, help, metric); \
		for (unsigned i = 0; i < n; i++)                                                   \
			fprintf(f, "shoal_%s{proto=\"%s\",worker=\"%u\"} %llu\n", metric,          \
				proto[w[i].proto], w[i].index,                                     \
				(unsigned long long)stats_get(&w[i].s.field)); \
	} while (0)
	PER_WORKER("queries_total", "Queries received.", queries);
	PER_WORKER("responses_total", "Responses sent.", responses);
	PER_WORKER("dropped_total", "Messages not answered (responses, runts).", dropped);
	PER_WORKER("truncated_total", "Responses with TC set.", truncated);
	PER_WORKER("edns_total", "Queries with an OPT record.", edns);
	PER_WORKER("send_errors_total", "Responses the kernel refused to send.", send_errors);
	PER_WORKER("rrl_dropped_total", "UDP responses dropped by response rate limiting.",
		   rrl_dropped);
	PER_WORKER("rrl_slipped_total",
		   "UDP responses sent truncated (TC=1, no records) by response rate limiting.",
		   rrl_slipped);
	PER_WORKER("tsig_failed_total",
		   "Signed requests answered NOTAUTH or FORMERR for their TSIG.", tsig_failed);
	PER_WORKER("transfers_refused_total",
		   "Zone transfers refused (acl, transfers-out, AXFR over UDP).", xfr_refused);
	PER_WORKER("transfers_total", "Zone transfers (AXFR, IXFR) started.", xfr_started);
	PER_WORKER("transfers_done_total", "Zone transfers whose last message went out.",
		   xfr_done);
	PER_WORKER("tcp_refused_total", "TCP connections closed to make room (tcp-max-conns).",
		   tcp_refused);
	fprintf(f, "# HELP shoal_tcp_connections_total TCP connections accepted.\n"
		   "# TYPE shoal_tcp_connections_total counter\n");
	for (unsigned i = 0; i < n; i++)
		if (w[i].proto == STATS_TCP)
			fprintf(f, "shoal_tcp_connections_total{worker=\"%u\"} %llu\n", w[i].index,
				(unsigned long long)stats_get(&w[i].s.tcp_conns));
	fprintf(f, "# HELP shoal_responses_by_rcode_total Responses by RCODE.\n"
		   "# TYPE shoal_responses_by_rcode_total counter\n");
	for (unsigned rc = 0; rc < STATS_RCODES; rc++) {
		if (!stats_rcode_name(rc))
			continue;
		uint64_t sum[2] = {0, 0};
		for (unsigned i = 0; i < n; i++)
			sum[w[i].proto] += stats_get(&w[i].s.rcode[rc]);
		for (int p = 0; p < 2; p++)
			fprintf(f, "shoal_responses_by_rcode_total{proto=\"%s\",rcode=\"%s\"} %llu\n",
				proto[p], stats_rcode_name(rc), (unsigned long long)sum[p]);
	}
	fprintf(f, "# HELP shoal_queries_by_qtype_total Queries by QTYPE.\n"
		   "# TYPE shoal_queries_by_qtype_total counter\n");
	for (unsigned t = 0; t < STATS_QTYPES; t++) {
		uint64_t sum = 0;
		for (unsigned i = 0; i < n; i++)
			sum += stats_get(&w[i].s.qtype[t]);
		fprintf(f, "shoal_queries_by_qtype_total{qtype=\"%s\"} %llu\n", stats_qtype_name(t),
			(unsigned long long)sum);
	}
#undef PER_WORKER
}

void stats_log_summary(const struct stats_worker *w, unsigned n)
{
	uint64_t q[2] = {0, 0}, r = 0, d = 0, tc = 0, nx = 0, refused = 0;
	char spread[512];
	size_t o = 0;
	spread[0] = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t qi = stats_get(&w[i].s.queries);
		q[w[i].proto] += qi;
		r += stats_get(&w[i].s.responses);
		d += stats_get(&w[i].s.dropped);
		tc += stats_get(&w[i].s.truncated);
		nx += stats_get(&w[i].s.rcode[3]);
		refused += stats_get(&w[i].s.rcode[5]);
		if (w[i].proto == STATS_UDP && o + 24 < sizeof(spread))
			o += (size_t)snprintf(spread + o, sizeof(spread) - o, "%s%llu", o ? "/" : "",
					      (unsigned long long)qi);
	}
	log_info("stats: udp %llu tcp %llu queries, %llu responses, %llu dropped, %llu truncated, "
		 "%llu NXDOMAIN, %llu REFUSED; udp per thread %s",
		 (unsigned long long)q[0], (unsigned long long)q[1], (unsigned long long)r,
		 (unsigned long long)d, (unsigned long long)tc, (unsigned long long)nx,
		 (unsigned long long)refused, spread);
}

/* The plain counters, by the names /metrics gives them (less "_total"). */
static const struct {
	const char *name;
	size_t off;
} counters[] = {
	{"queries", offsetof(struct stats, queries)},
	{"responses", offsetof(struct stats, responses)},
	{"dropped", offsetof(struct stats, dropped)},
	{"truncated", offsetof(struct stats, truncated)},
	{"edns", offsetof(struct stats, edns)},
	{"send_errors", offsetof(struct stats, send_errors)},
	{"rrl_dropped", offsetof(struct stats, rrl_dropped)},
	{"rrl_slipped", offsetof(struct stats, rrl_slipped)},
	{"tcp_connections", offsetof(struct stats, tcp_conns)},
	{"tcp_refused", offsetof(struct stats, tcp_refused)},
	{"transfers", offsetof(struct stats, xfr_started)},
	{"transfers_done", offsetof(struct stats, xfr_done)},
	{"transfers_refused", offsetof(struct stats, xfr_refused)},
	{"tsig_failed", offsetof(struct stats, tsig_failed)},
};

/* sum[proto] of the counter at `off`. */
static void sum_at(const struct stats_worker *w, unsigned n, size_t off, uint64_t sum[2])
{
	sum[0] = sum[1] = 0;
	for (unsigned i = 0; i < n; i++)
		sum[w[i].proto] += stats_get((const _Atomic uint64_t *)((const char *)&w[i].s + off));
}

void stats_write_text(FILE *f, const struct stats_worker *w, unsigned n)
{
	uint64_t sum[2];
	for (size_t c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
		sum_at(w, n, counters[c].off, sum);
		fprintf(f, "%-20s udp %-12llu tcp %llu\n", counters[c].name,
			(unsigned long long)sum[0], (unsigned long long)sum[1]);
	}
	for (unsigned rc = 0; rc < STATS_RCODES; rc++) {
		if (!stats_rcode_name(rc))
			continue;
		sum_at(w, n, offsetof(struct stats, rcode) + rc * sizeof(uint64_t), sum);
		fprintf(f, "rcode %-14s udp %-12llu tcp %llu\n", stats_rcode_name(rc),
			(unsigned long long)sum[0], (unsigned long long)sum[1]);
	}
	for (unsigned t = 0; t < STATS_QTYPES; t++) {
		sum_at(w, n, offsetof(struct stats, qtype) + t * sizeof(uint64_t), sum);
		fprintf(f, "qtype %-14s %llu\n", stats_qtype_name(t),
			(unsigned long long)(sum[0] + sum[1]));
	}
}

void stats_write_json(FILE *f, const struct stats_worker *w, unsigned n)
{
	static const char *const proto[] = {"udp", "tcp"};
	uint64_t sum[2];
	fputc('{', f);
	for (int p = 0; p < 2; p++) {
		fprintf(f, "\"%s\": {", proto[p]);
		for (size_t c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
			sum_at(w, n, counters[c].off, sum);
			fprintf(f, "%s\"%s\": %llu", c ? ", " : "", counters[c].name,
				(unsigned long long)sum[p]);
		}
		fputs("}, ", f);
	}
	fputs("\"rcode\": {", f);
	for (int p = 0; p < 2; p++) {
		fprintf(f, "%s\"%s\": {", p ? ", " : "", proto[p]);
		bool first = true;
		for (unsigned rc = 0; rc < STATS_RCODES; rc++) {
			if (!stats_rcode_name(rc))
				continue;
			sum_at(w, n, offsetof(struct stats, rcode) + rc * sizeof(uint64_t), sum);
			fprintf(f, "%s\"%s\": %llu", first ? "" : ", ", stats_rcode_name(rc),
				(unsigned long long)sum[p]);
			first = false;
		}
		fputc('}', f);
	}
	fputs("}, \"qtype\": {", f);
	for (unsigned t = 0; t < STATS_QTYPES; t++) {
		sum_at(w, n, offsetof(struct stats, qtype) + t * sizeof(uint64_t), sum);
		fprintf(f, "%s\"%s\": %llu", t ? ", " : "", stats_qtype_name(t),
			(unsigned long long)(sum[0] + sum[1]));
	}
	fputs("}}\n", f);
}
