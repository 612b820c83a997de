/* check_catalog.c: shoal producing a catalog zone (xfr/catalog.c) for knotd
 * 3.2 as the consumer (catalog-role: interpret, catalog-template whose
 * master is shoal), and for named 9.18 (catalog-zones, allow-new-zones).
 *
 * knotd transfers the catalog and both members from shoal; a member added
 * to shoal's configuration and `shoalctl reload` reaches knotd (NOTIFY,
 * IXFR of the catalog, AXFR of the new member) and knotd serves it; a
 * member removed is purged by knotd (REFUSED there); a reload that changes
 * nothing leaves the catalog's serial; shoal restarted keeps the catalog's
 * serial and member ids (knotd transfers no member again when one is
 * added after the restart). named: the members served, one added by a
 * reload served, one removed deleted. Exits 77 when knotd is not
 * installed; fails when named is not (scripts/deps installs both). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define FMT(buf, ...) ck_assert_int_lt(snprintf((buf), sizeof(buf), __VA_ARGS__), (int)sizeof(buf))

static const char zone_fmt[] = "$TTL 300\n"
                               "@ IN SOA ns.%s. h.%s. 1 3600 600 86400 300\n"
                               "@ IN NS ns.%s.\n"
                               "ns IN A 192.0.2.1\n"
                               "www IN A 192.0.2.%d\n";

static void write_shoal_conf(const struct harness_server *s, uint16_t peer_port, bool with_c,
                             bool with_a)
{
	char conf[PATH_MAX];
	FMT(conf, "%s/shoal.conf", s->dir);
	FILE *f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
	        "remote:\n  - id: peer\n    address: 127.0.0.1@%u\n"
	        "acl:\n  - id: xfr\n    address: 127.0.0.1\n    action: transfer\n"
	        "template:\n  - id: default\n    storage: %s\n    acl: xfr\n"
	        "  - id: member\n    storage: %s\n    acl: xfr\n    catalog-role: member\n"
	        "    catalog-zone: cat.test\n"
	        "zone:\n  - domain: cat.test\n    catalog-role: generate\n    notify: peer\n"
	        "  - domain: b.test\n    template: member\n    catalog-group: g1\n",
	        peer_port, s->zonedir, s->zonedir);
	if (with_a)
		fprintf(f, "  - domain: a.test\n    template: member\n");
	if (with_c)
		fprintf(f, "  - domain: c.test\n    template: member\n");
	ck_assert_int_eq(fclose(f), 0);
}

/* How many times knotd's log names a transfer of `zone` into it. */
static int knot_axfrs(const struct harness_server *knot, const char *zone)
{
	char *log = harness_server_log_tail(knot, 1 << 20);
	ck_assert_ptr_nonnull(log);
	char what[128];
	FMT(what, "[%s.] AXFR, incoming", zone);
	int n = 0;
	for (const char *p = log; (p = strstr(p, what)) != NULL; p += strlen(what))
		n++;
	free(log);
	return n;
}

static void shoalctl_reload(const char *sock)
{
	const char *bin = getenv("SHOALCTL_BIN");
	ck_assert_msg(bin != NULL, "SHOALCTL_BIN is not set (run through meson test)");
	const char *argv[] = {bin, "-s", sock, "reload", NULL};
	struct harness_run res;
	ck_assert_int_eq(harness_run(argv, HARNESS_RUN_TIMEOUT_MS, &res), 0);
	harness_run_free(&res);
}

/* shoal as the producer: a.test, b.test (group g1) and c.test written,
 * cat.test generated from a.test and b.test, NOTIFY to the peer on
 * peer_port, a control socket at p->sock. */
struct producer {
	struct harness_server srv;
	char conf[PATH_MAX], sock[PATH_MAX];
	const char *args[5];
	struct harness_shoal_opts o;
};

static void producer_start(struct producer *p, uint16_t peer_port)
{
	ck_assert_int_eq(harness_shoal_prepare(&p->srv), 0);
	/* shoal may drop to another user: its storage must be writable by it
	 * (the catalog is rewritten at a reload) */
	ck_assert_int_eq(chmod(p->srv.zonedir, 0777), 0);
	const char *names[] = {"a.test", "b.test", "c.test"};
	for (int i = 0; i < 3; i++) {
		char file[64];
		FMT(file, "%s.zone", names[i]);
		ck_assert_int_eq(harness_write_filef(p->srv.zonedir, file, zone_fmt, names[i],
		                                     names[i], names[i], 10 * (i + 1)),
		                 0);
	}
	write_shoal_conf(&p->srv, peer_port, false, true);
	FMT(p->conf, "%s/shoal.conf", p->srv.dir);
	FMT(p->sock, "%s/ctl.sock", p->srv.dir);
	p->args[0] = "--config";
	p->args[1] = p->conf;
	p->args[2] = "--control";
	p->args[3] = p->sock;
	p->args[4] = NULL;
	static const char *ready[] = {"cat.test", "a.test", "b.test", NULL};
	p->o = (struct harness_shoal_opts){.no_zones = true, .args = p->args, .ready = ready};
	ck_assert_int_eq(harness_shoal_launch(&p->srv, &p->o), 0);
}

START_TEST(knot_consumer)
{
	struct harness_server knot;
	memset(&knot, 0, sizeof(knot));
	ck_assert_int_eq(harness_server_init(&knot, "knotd"), 0);
	ck_assert_int_eq(harness_pick_port(&knot.port), 0);
	struct producer p;
	producer_start(&p, knot.port);
	uint32_t serial0 = 0;
	ck_assert_int_eq(harness_soa_serial(p.srv.port, "cat.test", &serial0), 0);

	/* knotd: the catalog from shoal, the members by its template */
	char kconf[PATH_MAX];
	FMT(kconf, "%s/knot.conf", knot.dir);
	FILE *f = fopen(kconf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
	        "server:\n  rundir: %s\n  listen: 127.0.0.1@%u\n"
	        "log:\n  - target: stderr\n    any: info\n"
	        "remote:\n  - id: shoal\n    address: 127.0.0.1@%u\n"
	        "acl:\n  - id: notify-from-shoal\n    address: 127.0.0.1\n    action: notify\n"
	        "database:\n  storage: %s\n"
	        "template:\n  - id: default\n    storage: %s\n"
	        "  - id: t\n    master: shoal\n    acl: notify-from-shoal\n    storage: %s\n"
	        "zone:\n  - domain: cat.test.\n    master: shoal\n    acl: notify-from-shoal\n"
	        "    catalog-role: interpret\n    catalog-template: t\n",
	        knot.dir, knot.port, p.srv.port, knot.dir, knot.dir, knot.dir);
	ck_assert_int_eq(fclose(f), 0);
	char *kargv[] = {(char *)harness_knotd_path(), "-c", kconf, NULL};
	/* ready at any answer; the zones are waited for below */
	ck_assert_int_eq(harness_server_start(&knot, kargv), 0);
	ck_assert_int_eq(
	    harness_wait_rcode(&knot, "www.a.test", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 10000), 0);
	ck_assert_int_eq(
	    harness_wait_rcode(&knot, "www.b.test", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 10000), 0);
	ck_assert_int_eq(harness_ask_rcode(knot.port, "www.c.test", LDNS_RR_TYPE_A, HARNESS_UDP),
	                 LDNS_RCODE_REFUSED);

	/* nothing changed: the same serial */
	shoalctl_reload(p.sock);
	uint32_t serial = 0;
	ck_assert_int_eq(harness_soa_serial(p.srv.port, "cat.test", &serial), 0);
	ck_assert_uint_eq(serial, serial0);

	/* c.test added */
	write_shoal_conf(&p.srv, knot.port, true, true);
	shoalctl_reload(p.sock);
	ck_assert_int_eq(
	    harness_wait_rcode(&knot, "www.c.test", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 10000), 0);
	ck_assert_int_eq(harness_soa_serial(p.srv.port, "cat.test", &serial), 0);
	ck_assert_msg(serial != serial0 && (uint32_t)(serial - serial0) < 0x80000000u,
	              "serial %u after %u", serial, serial0);

	/* a.test removed: knotd purges it */
	write_shoal_conf(&p.srv, knot.port, true, false);
	shoalctl_reload(p.sock);
	ck_assert_int_eq(
	    harness_wait_rcode(&knot, "www.a.test", LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, 10000), 0);
	ck_assert_int_eq(harness_ask_rcode(knot.port, "www.b.test", LDNS_RR_TYPE_A, HARNESS_UDP),
	                 LDNS_RCODE_NOERROR);

	/* shoal restarted: the catalog goes on from its file, the same serial
	 * and the same member ids; then a.test added again. knotd takes the
	 * new version as a change of one member: b.test and c.test keep their
	 * data (an id that changed would be a reset, a new AXFR: RFC 9432
	 * §5.4) */
	ck_assert_int_eq(harness_soa_serial(p.srv.port, "cat.test", &serial0), 0);
	int b_axfrs = knot_axfrs(&knot, "b.test"), c_axfrs = knot_axfrs(&knot, "c.test");
	ck_assert_int_ge(b_axfrs, 1);
	ck_assert_int_eq(harness_server_stop(&p.srv, 0), 0);
	const char *ready2[] = {"cat.test", "b.test", "c.test", NULL};
	p.o.ready = ready2;
	p.o.port_fixed = true;
	ck_assert_int_eq(harness_shoal_launch(&p.srv, &p.o), 0);
	ck_assert_int_eq(harness_soa_serial(p.srv.port, "cat.test", &serial), 0);
	ck_assert_uint_eq(serial, serial0);
	write_shoal_conf(&p.srv, knot.port, true, true);
	shoalctl_reload(p.sock);
	ck_assert_int_eq(
	    harness_wait_rcode(&knot, "www.a.test", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 10000), 0);
	usleep(1000 * 1000); /* a reset's transfer would have come by now */
	ck_assert_int_eq(knot_axfrs(&knot, "b.test"), b_axfrs);
	ck_assert_int_eq(knot_axfrs(&knot, "c.test"), c_axfrs);
	ck_assert_int_eq(harness_ask_rcode(knot.port, "www.b.test", LDNS_RR_TYPE_A, HARNESS_UDP),
	                 LDNS_RCODE_NOERROR);

	harness_server_stop(&knot, 0);
	harness_server_stop(&p.srv, 0);
	harness_server_cleanup(&knot);
	harness_server_cleanup(&p.srv);
}
END_TEST

static const char *named_path(void)
{
	static char buf[PATH_MAX];
	return harness_find_bin("SHOAL_NAMED", "named", buf, sizeof(buf));
}

/* BIND (named 9.18, catalog-zones with allow-new-zones) as the consumer of
 * shoal's catalog: the members listed are served by named, a member added
 * by a reload (NOTIFY, the catalog transferred again) too, and a member
 * removed is deleted there (REFUSED). */
START_TEST(named_consumer)
{
	struct harness_server named;
	memset(&named, 0, sizeof(named));
	ck_assert_int_eq(harness_server_init(&named, "named"), 0);
	ck_assert_int_eq(harness_pick_port(&named.port), 0);
	struct producer p;
	producer_start(&p, named.port);

	const char *d = named.dir;
	char conf[PATH_MAX], members[PATH_MAX];
	FMT(members, "%s/members", d);
	ck_assert_int_eq(mkdir(members, 0755), 0);
	FMT(conf, "%s/named.conf", d);
	FILE *f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	harness_named_options(f, d, named.port);
	fprintf(f,
	        "  notify no;\n"
	        "  allow-new-zones yes;\n"
	        "  catalog-zones {\n"
	        "    zone \"cat.test\" default-primaries { 127.0.0.1 port %u; }\n"
	        "      zone-directory \"members\" min-update-interval 0;\n"
	        "  };\n"
	        "};\n"
	        "controls { };\n"
	        "zone \"cat.test\" {\n"
	        "  type secondary;\n"
	        "  primaries port %u { 127.0.0.1; };\n"
	        "  file \"cat.test.db\";\n"
	        "};\n",
	        p.srv.port, p.srv.port);
	ck_assert_int_eq(fclose(f), 0);
	/* -g: foreground, every log line to stderr */
	char *argv[] = {(char *)named_path(), "-g", "-c", conf, NULL};
	ck_assert_int_eq(harness_server_start(&named, argv), 0);
	ck_assert_int_eq(
	    harness_wait_rcode(&named, "www.a.test", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 10000), 0);
	ck_assert_int_eq(
	    harness_wait_rcode(&named, "www.b.test", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 10000), 0);
	ck_assert_int_eq(harness_ask_rcode(named.port, "www.c.test", LDNS_RR_TYPE_A, HARNESS_UDP),
	                 LDNS_RCODE_REFUSED);

	/* c.test added */
	write_shoal_conf(&p.srv, named.port, true, true);
	shoalctl_reload(p.sock);
	ck_assert_int_eq(
	    harness_wait_rcode(&named, "www.c.test", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 10000), 0);

	/* a.test removed: named deletes it */
	write_shoal_conf(&p.srv, named.port, true, false);
	shoalctl_reload(p.sock);
	ck_assert_int_eq(
	    harness_wait_rcode(&named, "www.a.test", LDNS_RR_TYPE_A, LDNS_RCODE_REFUSED, 10000), 0);
	ck_assert_int_eq(harness_ask_rcode(named.port, "www.b.test", LDNS_RR_TYPE_A, HARNESS_UDP),
	                 LDNS_RCODE_NOERROR);
	ck_assert_int_eq(harness_ask_rcode(named.port, "www.c.test", LDNS_RR_TYPE_A, HARNESS_UDP),
	                 LDNS_RCODE_NOERROR);

	harness_server_stop(&named, 0);
	harness_server_stop(&p.srv, 0);
	harness_server_cleanup(&named);
	harness_server_cleanup(&p.srv);
}
END_TEST

int main(void)
{
	if (!harness_knotd_path()) {
		printf("catalog: knotd not installed: skipped\n");
		return HARNESS_EXIT_SKIP;
	}
	if (!named_path()) {
		/* scripts/deps installs bind9: its absence is a setup error */
		printf("catalog: named not installed (scripts/deps installs bind9)\n");
		return 1;
	}
	const TTest *const tests[] = {knot_consumer, named_consumer, NULL};
	struct harness_suite s = {.name = "catalog", .timeout_s = 120, .tests = tests};
	return harness_suite_main(&s);
}
