/* check_zone_line.c: src/zone/zone_line.c against ldns itself.
 *
 * zone_line_parse must give, for every line it takes, exactly what
 * ldns_rr_new_frm_str gives for the same text (owner, type, class, TTL,
 * rdata octets, and the "previous owner" it leaves), and leave alone the
 * lines it does not take. ldns 1.8's parser is the reference here: these
 * tests say nothing of what a record should be, only that the two agree.
 * Hand-picked lines first (plain ones, then those of signed zones as
 * ldns-signzone, dnssec-signzone -O full and Knot write them, then bad
 * ones), then lines made at random from tokens that exercise each rule
 * (a fixed seed, a bounded count). */
#include <check.h>
#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "zone/zone_line.h"

/* What ldns and zone_line_parse made of one line. */
struct both {
	bool fast;	 /* zone_line_parse took it */
	ldns_status st;	 /* ldns_rr_new_frm_str's verdict */
};

static ldns_rdf *dname(const char *s)
{
	if (!s)
		return NULL;
	ldns_rdf *d = ldns_dname_new_frm_str(s);
	ck_assert_msg(d != NULL, "bad test name %s", s);
	return d;
}

/* Both rdfs absent, or the same octets (case included). */
static bool same_rdf(const ldns_rdf *a, const ldns_rdf *b)
{
	if (!a || !b)
		return a == b;
	return ldns_rdf_size(a) == ldns_rdf_size(b) &&
	       memcmp(ldns_rdf_data(a), ldns_rdf_data(b), ldns_rdf_size(a)) == 0;
}

/* Run `text` through both with the same origin, default TTL and previous
 * owner; assert they agree wherever zone_line_parse answers. */
static struct both compare(const char *text, uint32_t default_ttl, const char *origin_s,
			   const char *prev_s)
{
	ldns_rdf *origin = dname(origin_s);
	ldns_rdf *prev_fast = dname(prev_s), *prev_ldns = dname(prev_s), *prev_orig = dname(prev_s);
	struct zone_line line;
	ldns_rr *rr = NULL;
	struct both b;

	memset(&line, 0xa5, sizeof(line));
	b.fast = zone_line_parse(text, default_ttl, origin, &prev_fast, &line);
	b.st = ldns_rr_new_frm_str(&rr, text, default_ttl, origin, &prev_ldns);
	if (b.fast) {
		ck_assert_msg(b.st == LDNS_STATUS_OK, "taken, but ldns says \"%s\": [%s]",
			      ldns_get_errorstr_by_id(b.st), text);
		const ldns_rdf *owner = ldns_rr_owner(rr);
		ck_assert_msg(line.owner_len == ldns_rdf_size(owner) &&
				  memcmp(line.owner, ldns_rdf_data(owner), line.owner_len) == 0,
			      "owner differs: [%s]", text);
		ck_assert_msg(line.type == ldns_rr_get_type(rr), "type %u, ldns %u: [%s]",
			      line.type, ldns_rr_get_type(rr), text);
		ck_assert_msg(line.rrclass == ldns_rr_get_class(rr), "class %u, ldns %u: [%s]",
			      line.rrclass, ldns_rr_get_class(rr), text);
		ck_assert_msg(line.ttl == ldns_rr_ttl(rr), "TTL %u, ldns %u: [%s]", line.ttl,
			      ldns_rr_ttl(rr), text);
		ldns_buffer *buf = ldns_buffer_new(65536);
		ck_assert_int_eq(ldns_rr_rdata2buffer_wire(buf, rr), LDNS_STATUS_OK);
		ck_assert_msg(line.rdlen == ldns_buffer_position(buf) &&
				  memcmp(line.rdata, ldns_buffer_begin(buf), line.rdlen) == 0,
			      "rdata differs (%u octets, ldns %zu): [%s]", line.rdlen,
			      ldns_buffer_position(buf), text);
		ldns_buffer_free(buf);
		ck_assert_msg(same_rdf(prev_fast, prev_ldns), "previous owner differs: [%s]", text);
	} else {
		ck_assert_msg(same_rdf(prev_fast, prev_orig), "not taken, but prev changed: [%s]",
			      text);
	}
	ldns_rr_free(rr);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev_fast);
	ldns_rdf_deep_free(prev_ldns);
	ldns_rdf_deep_free(prev_orig);
	return b;
}

static void expect_taken(const char *text, uint32_t default_ttl, const char *prev)
{
	struct both b = compare(text, default_ttl, "example.com.", prev);
	ck_assert_msg(b.fast, "not taken (ldns: %s): [%s]", ldns_get_errorstr_by_id(b.st), text);
}

static void expect_left(const char *text)
{
	struct both b = compare(text, 300, "example.com.", "prev.example.com.");
	ck_assert_msg(!b.fast, "taken: [%s]", text);
}

START_TEST(common_lines_are_taken)
{
	static const char *const lines[] = {
		"www 3600 IN A 192.0.2.1",
		"www.example.com. 3600 IN A 192.0.2.1",
		"WwW 60 in a 192.0.2.1",
		"www IN 3600 A 192.0.2.1", /* class first: "3600" is then the type? ldns decides */
		"www A 192.0.2.1",
		"www IN A 192.0.2.1",
		"www 1h IN A 192.0.2.1",
		"www 1h30m A 192.0.2.1",
		"www 1W2d3h4m5s A 192.0.2.1",
		" 3600 IN AAAA 2001:db8::1",
		"\t\tAAAA 2001:db8::1",
		"@ 3600 IN NS ns1",
		"@ NS ns1.example.net.",
		"@ MX 10 mail",
		"@ MX 10 @",
		"mail\t\t3600\tIN\tMX\t0\t.",
		"alias CNAME www",
		"alias CNAME www.example.net.",
		"_sip._tcp SRV 10 60 5060 sip",
		"1.2 PTR host.example.",
		"@ IN SOA ns1 hostmaster 2026120201 7200 3600 1209600 300",
		"@ IN SOA ns1. hostmaster. 1 2h 1h 2w 5m",
		"x RP mbox.example.com. txt",
		"x CLASS1 A 192.0.2.7",
		"x TYPE1 192.0.2.7",
		"x IN TYPE28 ::2",
		"*.wild A 192.0.2.9",
		"x 0 A 0.0.0.0",
		"x 2147483647 A 192.0.2.1",
		"x 4294967295 A 192.0.2.1",
		"x A 192.0.2.1   ",
		"www MX 65536 mail", /* ldns takes it (as 0) */
		"x CNAME @.sub", /* ldns takes a first label "@" for the origin */
		"@x.y A 192.0.2.1", /* and an owner that starts with "@" */
		"www DS 1 2 3 abcd",
		"www NSEC next A",
		"www SSHFP 1 1 abcd",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (strstr(lines[i], "IN 3600 A"))
			compare(lines[i], 300, "example.com.", NULL); /* whatever ldns says */
		else
			expect_taken(lines[i], 300, "prev.example.com.");
	}
	/* no previous owner yet: a blank owner is the origin */
	expect_taken(" A 192.0.2.1", 300, NULL);
	/* no default TTL: ldns's own */
	expect_taken("x A 192.0.2.1", 0, NULL);
}
END_TEST

START_TEST(other_lines_are_left_to_ldns)
{
	static const char *const lines[] = {
		"",
		"www",
		"www 3600",
		"www 3600 IN",
		"www 3600 IN A",
		"www A 192.0.2",
		"www A 192.0.2.1 192.0.2.2",
		"www A ::1",
		"www AAAA 192.0.2.1",
		"www MX 10",
		"www MX mail 10",
		"www TXT hello",
		"www HINFO a b",
		"www FOO 1",
		"www CAA 0 issue ca.example.net", /* a tag and a string */
		"www TLSA 3 1 1 abcd",		  /* ldns's own kinds of integers */
		"www CERT PKIX 0 0 AAAA",
		"www LOC 52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m",
		"www IPSECKEY 10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ==",
		"www HIP 2 200100107B1A74DF365639CC39F1D578 AwEAAbdxyhNuSutc5EMzxTs9LBPCIkOFH8cIvM4p",
		"www NXT next A",
		"www APL 1:192.168.32.0/21",
		"www TYPE65280 1",
		"www 3600 XX A 192.0.2.1",
		"www 1234567890123456789012 A 192.0.2.1", /* a TTL over ldns's limit */
		"www IN AVERYLONGTYPENAMEX 1",
		"a..b A 192.0.2.1",
		"x CNAME a..b",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		expect_left(lines[i]);
	/* a name over 255 octets once the origin is added */
	char longname[400];
	snprintf(longname, sizeof(longname), "%s A 192.0.2.1",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
		 "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
		 "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	expect_left(longname);
	/* a label over 63 octets */
	expect_left("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx A 192.0.2.1");
}
END_TEST

/* Lines as DNSSEC signers write them, one record a line. */
START_TEST(signed_lines_are_taken)
{
	static const char *const lines[] = {
		/* ldns-signzone, NSEC, RSASHA256 and ECDSAP256SHA256 keys */
		"tiny.example.\t3600\tIN\tRRSIG\tSOA 8 2 3600 20270101212226 20261204212226 9438 tiny."
			"example. tKDvKDKvIMPcfOjyhw52fQ+MLfSfnocX3fT6Feu0cErr7KTMeg1p8P9pb4HYL/SImxNIebnnCpxc"
			"/tWnjjNnBwqqbEIukPCt3XCQnECvQsqX1aCUdq73FWDRoKmN80bzR79m9zFwZ3ro3rkTVAr33ZfQKDoDwUn5b"
			"Ge2mlq9P9cmf9Cs4K9UrNrX5gpG1w0IGxfRmNHhshbyMX3e64K0pRD5/FvufTtEHx7Oso8ssDnQVFRQBeACGM"
			"KzR1AbHuozf+g2b6Pgno1JDLRjf5NzZvdiZsdl75Xr1NWM++Dm/PIpi/vDlWa061aMZ1GlMtsHhhMBTF7OkJX"
			"EtIGTXOmbqQ==",
		"tiny.example.\t3600\tIN\tRRSIG\tSOA 13 2 3600 20270101212226 20261204212226 47313 tin"
			"y.example. PRB0z/l0p3yEvGASxE9XXkgRmlL+rH2g8QLE+DdoH30KJplruS4oj7UCKpCgkRjdr+YLXl9JoQ"
			"piNrQ56udfKA==",
		"tiny.example.\t3600\tIN\tDNSKEY\t256 3 8 AwEAAfMqUweDxx1lZeSv9OJ1SlLanbH2SZZhITVT/LyR"
			"7bL8+2HyMv+tHY1fUbV3NpzP31RPGtnJxo6zmpT6oFeqP5+ZmCFwh9uSwlVIVXMx9IuiXNHrQUK1atXWJh37g"
			"P70aUGKqEqduzTAgjA+P6AHtY6idgtmEzyajMssf+BQpTGPHjxJZXDBSDQ70HPxIebLicIbSpdEgD2jevMXyx"
			"XQskgdXDD3fv9eSnQ+xBn3OZApAmiHwx1POgZx+xn1MxRdClj/EYkIOYJtUtSODEnUTiQ//ER0ijqaTlcJGrn"
			"2cxp4M1jO/hhJu4meKBevknAom1wB7LLtBHcKY9ZObmE3YZk= ",
		"tiny.example.\t3600\tIN\tDNSKEY\t257 3 13 Z3j1sq9VItp0SjRXWQ5baJmTavBwJmW+P4dOV8fbqW4"
			"QEv1YsCaWYpnESbfRchwBnD1p3G7YaqU4193pGSzLcw== ",
		"tiny.example.\t3600\tIN\tRRSIG\tDNSKEY 13 2 3600 20270101212226 20261204212226 27120 "
			"tiny.example. FhWEY/M7MOb1ddHGJv4etWfYeS8WmuSGEtzC6IEndWe1af/Lx9NA5dW1lrwMyRPiSEXF+9e"
			"VrhvvmrnidLMLXA==",
		"tiny.example.\t300\tIN\tNSEC\t_ssh._tcp.tiny.example. NS SOA MX RRSIG NSEC DNSKEY ",
		"_ssh._tcp.tiny.example.\t300\tIN\tNSEC\tmail.tiny.example. SSHFP RRSIG NSEC ",
		"x.tiny.example.\t300\tIN\tNSEC\ttiny.example. RRSIG NSEC TYPE65534 ",
		"x.tiny.example.\t3600\tIN\tRRSIG\tTYPE65534 8 3 3600 20270101212226 20261204212226 94"
			"38 tiny.example. 4zvhIvqP8fQPFJNAW5FNaUbK814aVGZoyBbyd8iceEu054eUOFk/sVhZ/xvQAu+rGWJ4"
			"wzoWXOCSO3cMnxB0IsJMQPxuFORKbCsAQSuR21XzLRTYSOJ5I4cbwOEdSQa693YCDRRyLUWGwkUlTb2pe+fGY"
			"q3GZ0MXg17s5rgITTTSj3eDtLZGpX6Hm6i36QjtEPDKTnA/4Ef/Q361K5uUj6ndxi0kOIKJfgjRR26PNtikZy"
			"TVw4YzjCuveFeIeR4by3Jo9Vrqz6nvMpJDxVVebwRYid1xeEKh1iJvqkstGgFX59w6d2wtbEeGCGpIGl9uXqA"
			"ZR/lMgTCmwCkZgHH8Hg==",
		"sub.tiny.example.\t3600\tIN\tDS\t12345 13 2 0123456789abcdef0123456789abcdef012345678"
			"9abcdef0123456789abcdef",
		"_ssh._tcp.tiny.example.\t3600\tIN\tSSHFP\t1 1 0123456789abcdef0123456789abcdef01234567",
		/* ldns-signzone -n -a 1 -t 5 -s abcdef01 */
		"tiny.example.\t3600\tIN\tNSEC3PARAM\t1 0 5 abcdef01 ",
		"tiny.example.\t3600\tIN\tRRSIG\tNSEC3PARAM 13 2 3600 20270101212226 20261204212226 47"
			"313 tiny.example. rJbhGNZNyM9Ip8qSLTRS6IdMVwmt+EhkP5n4/6izsY8+KhbjNALaxu09sVlNbKCrQvO"
			"N+JeFA8047FTa7iy9nA==",
		"p5cvbjdbuknpaqji49jr51cl6ppa7gq6.tiny.example.\t300\tIN\tNSEC3\t1 0 5 abcdef01  r131d"
			"uejk8297d9sqb25v3sq8u09678e NS SOA MX RRSIG DNSKEY NSEC3PARAM ",
		"fng9ekm7i95amaf1l27lk61r933kep2b.tiny.example.\t300\tIN\tNSEC3\t1 0 5 abcdef01  p5cvb"
			"jdbuknpaqji49jr51cl6ppa7gq6",
		"1abulp5rm7u14du1fc68o2tu52tq3tre.tiny.example.\t300\tIN\tNSEC3\t1 0 5 abcdef01  ahoah"
			"qsu58e9vkjrou7gucb9ir94f01p A AAAA RRSIG ",
		/* ldns-signzone -n -a 1 -t 0 (no salt) */
		"bench.example.\t3600\tIN\tNSEC3PARAM\t1 0 0 - ",
		"u6rlnh63h45bgmbpke0fg19orqjetjjs.bench.example.\t300\tIN\tNSEC3\t1 0 0 -  u6smti75oki"
			"c3rv3g9kmf06ltatn3d0n NS SOA RRSIG DNSKEY NSEC3PARAM ",
		"s6vo5mbvqgj3v2k8ct1ib8cltbfjfsba.bench.example.\t300\tIN\tNSEC3\t1 0 0 -  s7055u5486h"
			"7av6v7l8ag97ou95pnsfe A AAAA RRSIG ",
		/* dnssec-signzone -O full, NSEC, RSASHA256 (base64 and hex in groups) */
		"tiny.example.\t\t\t\t      3600 IN RRSIG\tSOA 8 2 3600 20270103202236 20261204202236 "
			"10906 tiny.example. IJ0tALJTTPO4vhS/Zn6Qu2cEUnhQVdQuRioyhhuCPzDdk8qRIM0LWEaT m45q207F"
			"Y/sQFnf6pymFSoaS+oPYa/Ybw/omZN+DRYyD2aQMb8yPzWEQ uh7pKzpkJvXgPH+pvdP79x9veujJl/hwSu22"
			"IEFilZqqgLwXsyYIajX0 ZHQ=",
		"tiny.example.\t\t\t\t      3600 IN DNSKEY\t256 3 8 AwEAAZl6vJNI6/ee9YFSxMhKyAl4KSzRxY"
			"IaNO4P12mA5Rt9/qk5kVVo 9Wd7RR/oTUjp98Vo+C+8J1xm7+DcxYgd0J4MvJ96qkQVNcjGV8AfTcTW TQNt0"
			"lqQZjgetTAvAwXy2kxBG0v6UxCPaplifP00nNLVkeKA3qZFAdXr ckj+LVBj",
		"tiny.example.\t\t\t\t      3600 IN DNSKEY\t257 3 8 AwEAAfPSlLIkNe5lCLAbCD6WnB9jiEIpxG"
			"Utwf/+3ADR2MBL9M3In+EZ HwaNMPD9Su5Z2Mmh5VEgUwBnIEG/7FUruhY+bwYaT3hsdmQonYmCoF6j 1MuS6"
			"Hu+N5+f52+gYi6iNo9Vu8yQPO2BvHgK/3WQfwb0wJXCKGiQWUha QornibD5XD9vWC+nR680orJzqIPI6lakL"
			"k0EcLa6jv842BHNZbuqI3RO wlRXFAgU5aS1GhaNumAVK65uk+D8chH2XYlnglKLr4EgQW6vasEMn9Mo 6oGz"
			"yqxQktQU3Fo+yPBeopnBe6irWt1gXJNjQcGiA7oKNYGCXEgif0lO o3B+hqDBWIU=",
		"tiny.example.\t\t\t\t      300 IN NSEC\t_ssh._tcp.tiny.example. NS SOA MX RRSIG NSEC "
			"DNSKEY",
		"x.tiny.example.\t\t\t\t      300 IN NSEC\ttiny.example. RRSIG NSEC TYPE65534",
		"sub.tiny.example.\t\t\t      3600 IN DS\t12345 13 2 0123456789ABCDEF0123456789ABCDEF0"
			"123456789ABCDEF01234567 89ABCDEF",
		"_ssh._tcp.tiny.example.\t\t\t      3600 IN SSHFP\t1 1 0123456789ABCDEF0123456789ABCDE"
			"F01234567",
		/* dnssec-signzone -O full -3 cafe -H 0, ECDSAP256SHA256 */
		"tiny.example.\t\t\t\t      0\tIN NSEC3PARAM\t1 0 0 CAFE",
		"tiny.example.\t\t\t\t      0\tIN RRSIG\tNSEC3PARAM 13 2 0 20270103202236 202612042022"
			"36 59007 tiny.example. USqISL0r3Da251ff/0tJkMjJlUHmRjKn1tj9NInCF/9yroxsQx5g7rXA 7V6sV"
			"/rP5gkNSvPp4kDwusRli+MfWw==",
		"L1H4IBQ19K1H0RA1I68H5F3E9QG7DULG.tiny.example. 300 IN NSEC3\t1 0 0 CAFE VJ4QKQB50HMUQ"
			"2H8386RFCG8H15TI5GN RRSIG TYPE65534",
		"6PEETHVKO7KRDREJ85O4E1KVO865VBLH.tiny.example. 300 IN NSEC3\t1 0 0 CAFE 9MQTLV180NDR4"
			"CGCKCRTUU9JH76PKV53",
		"tiny.example.\t\t\t\t      3600 IN DNSKEY\t257 3 13 Z3j1sq9VItp0SjRXWQ5baJmTavBwJmW+P"
			"4dOV8fbqW4QEv1YsCaWYpnE SbfRchwBnD1p3G7YaqU4193pGSzLcw==",
		"tiny.example.\t\t\t\t      3600 IN RRSIG\tDNSKEY 13 2 3600 20270103202236 20261204202"
			"236 27120 tiny.example. RL/QtkYeZgF6Igax/PcIQas/UB1qSUW9spEgM/N1QPbC+4qNiyYbyNnB g9lJ"
			"gwRuOb+yWTtO7J2SVPjLecMT9g==",
		/* Knot writes no class */
		"example.com. 3600 RRSIG SOA 13 2 3600 20260101000000 20251201000000 12345 example.com"
			". PRB0z/l0p3yEvGASxE9XXkgRmlL+rH2g8QLE+DdoH30KJplruS4oj7UCKpCgkRjdr+YLXl9JoQpiNrQ56ud"
			"fKA==",
		"0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.com. 300 NSEC3 1 0 0 - 2vptu5timamqttgl4luu9"
			"kg21e0aor3s A RRSIG",
		/* times as integers (RFC 4034 §3.2), mnemonic algorithms and
		 * types, any case */
		"x RRSIG A 13 2 3600 1798761600 1796083200 12345 example.com. AAAA",
		"x RRSIG A 13 2 3600 4294967295 0 12345 example.com. AAAA",
		"x RRSIG A 13 2 3600 -1 1 12345 example.com. AAAA",
		"x RRSIG A ECDSAP256SHA256 2 3600 20260101000000 20251201000000 12345 example.com. "
			"AAAA",
		"x RRSIG aaaa rsasha256 3 60 20260101000000 20251201000000 1 sub AA==",
		"x RRSIG TYPE65534 PRIVATEDNS 3 60 20260101000000 20251201000000 1 @ AAAA",
		"x RRSIG nsec3 253 3 60 19700101000000 20991231235959 65535 . AAAA",
		"x RRSIG FOO 13 2 3600 20260101000000 20251201000000 12345 example.com. AAAA",
		"x 60 IN SIG A 13 2 3600 20260101000000 20251201000000 12345 example.com. AAAA",
		/* base64 and hex in groups, with blanks of any kind after them */
		"x RRSIG A 13 2 3600 20260101000000 20251201000000 12345 example.com. AAAA BBBB\tCCCC",
		"x RRSIG A 13 2 3600 20260101000000 20251201000000 12345 example.com. AA == ",
		"x DNSKEY 256 3 13 AwEAAcMx 0vb0lkXA\tVaQmffCp\t\t",
		"x DNSKEY 256 3 13 -",
		"x DNSKEY 256 3 13 0",
		"x DNSKEY 257 3 ECDSAP256SHA256 AwEAAQ==",
		"x KEY 256 3 13 AwEAAQ==",
		"x DS 12345 13 2 0123 4567 89AB cdef",
		"x DS 12345 RSASHA256 2 0123456789abcdef\t",
		"x DS 1 8 1 abc", /* ldns reads an odd digit count */
		"x CDS 0 0 0 00",
		"x CDNSKEY 0 3 0 AA==",
		"x DLV 12345 13 2 0123456789abcdef",
		"x SSHFP 4 2 0123456789ABCDEF 0123456789abcdef",
		"x ZONEMD 2026120201 1 1 0123456789abcdef 0123456789abcdef",
		"x DHCID AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=",
		"x OPENPGPKEY mQINBFit2jsBEADrbl5vjVxYeAE0g0IDYCBpHirv1Sjlqxx5gjtPhb2YhvyDMXjq",
		/* type bitmaps: case, unknown types, numbers, none at all */
		"x NSEC y.example.com. a aaaa Rrsig nsec",
		"x NSEC y A TYPE1 TYPE28 TYPE65534 TYPE65535",
		"x NSEC y TYPE0 FOO",
		"x NSEC y",
		"x NSEC y  ",
		"x NSEC @ NS",
		"x NSEC y.example.com. A\t\tAAAA   RRSIG",
		"x NSEC3 1 1 10 AABBCCDD 2vptu5timamqttgl4luu9kg21e0aor3s",
		"x NSEC3 1 0 0 - 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S NS SOA TYPE65534",
		"x NSEC3 1 0 65535 ab 2vptu5timamqttgl4luu9kg21e0aor3s A",
		"x NSEC3PARAM 1 0 0 -",
		"x NSEC3PARAM 1 0 10 AABBCCDD",
		"x CSYNC 66 3 A NS AAAA",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		expect_taken(lines[i], 300, "prev.example.com.");
	/* the same records owned by the previous name, and in the root zone */
	expect_taken("\t3600\tIN\tRRSIG\tA 13 3 3600 20270101212226 20261204212226 47313 x. AA==", 0,
		     "prev.example.com.");
	struct both b = compare("x NSEC3 1 0 0 - 2vptu5timamqttgl4luu9kg21e0aor3s A", 300, ".", NULL);
	ck_assert(b.fast);
}
END_TEST

/* What ldns refuses in those types is refused here too: left to ldns,
 * which then says why. */
START_TEST(bad_signed_lines_are_left_to_ldns)
{
	static const char *const lines[] = {
		/* base64, hex, base32hex, salts that do not decode */
		"x DNSKEY 256 3 13 %%%%",
		"x DNSKEY 256 3 13 AAAA !!",
		"x DNSKEY 256 3 13 AwEAAc 0vb0lkXAV aQmffCpt3N7r", /* 27 digits */
		"x RRSIG A 13 2 3600 20260101000000 20251201000000 12345 example.com. AA*A",
		"x DS 12345 13 2 0123xyz",
		"x DS 12345 13 2 0123 45-6",
		"x NSEC3 1 0 0 abc 2vptu5timamqttgl4luu9kg21e0aor3s A",
		"x NSEC3 1 0 0 zz 2vptu5timamqttgl4luu9kg21e0aor3s A",
		"x NSEC3 1 0 0 - 2vptu5timamqttgl4luu9kg21e0aor3z A",
		"x NSEC3 1 0 0 - !! A",
		"x NSEC3 1 0 0 ab - A",
		"x NSEC3PARAM 1 0 0 abc",
		/* times that are neither a date nor a number */
		"x RRSIG A 13 2 3600 20261301000000 20251201000000 12345 example.com. AAAA",
		"x RRSIG A 13 2 3600 20260132000000 20251201000000 12345 example.com. AAAA",
		"x RRSIG A 13 2 3600 20260101240000 20251201000000 12345 example.com. AAAA",
		"x RRSIG A 13 2 3600 19691231235959 20251201000000 12345 example.com. AAAA",
		"x RRSIG A 13 2 3600 2026-01-01 20251201000000 12345 example.com. AAAA",
		"x RRSIG A 13 2 3600 20260101000000 1h 12345 example.com. AAAA",
		/* integers and algorithms ldns cannot read */
		"x RRSIG A FOO 2 3600 20260101000000 20251201000000 12345 example.com. AAAA",
		"x RRSIG A 13 two 3600 20260101000000 20251201000000 12345 example.com. AAAA",
		"x RRSIG A 13 2 1h 20260101000000 20251201000000 12345 example.com. AAAA",
		"x DNSKEY 256x 3 13 AAAA",
		"x DS 12345 13 SHA256 0123",
		"x NSEC3 SHA1 0 0 - 2vptu5timamqttgl4luu9kg21e0aor3s A",
		/* a bad signer name */
		"x RRSIG A 13 2 3600 20260101000000 20251201000000 12345 a..b AAAA",
		/* too few fields */
		"x RRSIG A 13 2 3600 20260101000000 20251201000000 12345 example.com.",
		"x RRSIG A 13 2 3600 20260101000000 20251201000000",
		"x RRSIG A",
		"x RRSIG",
		"x DNSKEY 256 3 13",
		"x DS 12345 13",
		"x NSEC",
		"x NSEC3 1 0 0 -",
		"x NSEC3 1 0 0 - ",
		"x NSEC3PARAM 1 0 0",
		"x CSYNC 66 3",
		"x SSHFP 1 1",
		/* too many */
		"x NSEC3PARAM 1 0 0 - -",
		"x NSEC3PARAM 1 0 0 ab cd",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct both b = compare(lines[i], 300, "example.com.", "prev.example.com.");
		ck_assert_msg(!b.fast, "taken: [%s]", lines[i]);
		ck_assert_msg(b.st != LDNS_STATUS_OK, "ldns takes it: [%s]", lines[i]);
	}
}
END_TEST

/* xorshift64*: the same lines on every run */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return (unsigned)((rnd_state * 0x2545f4914f6cdd1dull) >> 33) % n;
}

#define PICK(a) ((a)[rnd(sizeof(a) / sizeof((a)[0]))])

START_TEST(random_lines_agree)
{
	static const char *const owners[] = {
		"", "@", "www", "WWW", "www.example.com.", "a.b.c", "*", "*.w", "-", "x.", ".",
		"@x", "a..b", "0", "3600", "IN", "A", "\xc3\xa9", "_srv._tcp",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
	static const char *const ttls[] = {
		"", "", "0", "1", "3600", "1h", "1H", "2w1d", "1x", "2147483648", "4294967296",
		"99999999999999999999", "123456789012345678901", "-1", "0x10", "07"};
	static const char *const classes[] = {"", "", "", "IN", "in", "CH", "HS", "ANY", "NONE",
					      "CLASS1", "CLASS255", "CLASS65536", "CLASS65537", "INN"};
	static const char *const types[] = {
		"A", "a", "AAAA", "NS", "CNAME", "PTR", "MX", "SRV", "SOA", "RP", "AFSDB", "KX",
		"DNAME", "TYPE1", "TYPE28", "TYPE15", "TXT", "HINFO", "DS", "NSEC", "X", "A6",
		"MB", "MINFO", "RT", "PX", "NAPTR", "TYPE0", "3600", "IN", "",
		"TYPE65537", "TYPE65564"};
	static const char *const fields[] = {
		"192.0.2.1", "0.0.0.0", "255.255.255.255", "256.0.0.1", "1.2.3", "::1",
		"2001:db8::1", "::ffff:192.0.2.1", "0", "10", "255", "256", "65535", "65536",
		"4294967295", "4294967296", "-1", "1h", "2w", "mail", "mail.example.net.", "@",
		"@.x", ".", "a..b", "x.", "\xc3\xa9", "*", "0x10"};
	/* rdata fields by kind: 4 and 6 addresses, n names, i integers */
	struct shape {
		const char *type, *kinds;
	};
	static const struct shape shapes[] = {
		{"A", "4"},	 {"a", "4"},	  {"AAAA", "6"},     {"NS", "n"},
		{"CNAME", "n"},	 {"PTR", "n"},	  {"DNAME", "n"},    {"MX", "in"},
		{"SRV", "iiin"}, {"RP", "nn"},	  {"AFSDB", "in"},   {"KX", "in"},
		{"PX", "inn"},	 {"TYPE1", "4"},  {"SOA", "nniiiii"}, {"MX", "ini"},
		{"A", "44"},	 {"MX", "n"}};
	static const char *const addr4[] = {"192.0.2.1", "0.0.0.0", "255.255.255.255",
					    "10.1.2.3", "256.0.0.1", "1.2.3"};
	static const char *const addr6[] = {"2001:db8::1", "::", "::1", "fe80::1:2:3:4",
					    "::ffff:192.0.2.1", "1::2::3"};
	static const char *const names[] = {"mail", "MAIL.example.net.", "@", "@.x", ".",
					    "x.", "*.y", "a..b", "-", "\xc3\xa9", "0"};
	static const char *const ints[] = {"0",	 "1",	"10",	 "65535", "65536",
					   "-1", "1h", "2w3d", "x",	  "4294967295",
					   "4294967296", "007"};
	static const char *const seps[] = {" ", " ", " ", "\t", "  ", " \t ", "\t\t"};
	char line[2048];
	unsigned taken = 0, n = 60000;

	for (unsigned i = 0; i < n; i++) {
		size_t len = 0;
		line[0] = 0;
#define ADD(s) len += (size_t)snprintf(line + len, sizeof(line) - len, "%s", (s))
		ADD(PICK(owners));
		const char *t = PICK(ttls), *c = PICK(classes);
		if (rnd(4) == 0) { /* class before TTL */
			const char *x = t;
			t = c;
			c = x;
		}
		if (*t) {
			ADD(PICK(seps));
			ADD(t);
		}
		if (*c) {
			ADD(PICK(seps));
			ADD(c);
		}
		ADD(PICK(seps));
		if (rnd(2)) {
			/* a type with fields of its kinds, some of them bad */
			const struct shape *sh = &PICK(shapes);
			ADD(sh->type);
			for (const char *k = sh->kinds; *k; k++) {
				ADD(PICK(seps));
				ADD(*k == '4'   ? PICK(addr4)
				    : *k == '6' ? PICK(addr6)
				    : *k == 'n' ? PICK(names)
						: PICK(ints));
			}
		} else {
			ADD(PICK(types));
			unsigned nf = rnd(9);
			for (unsigned f = 0; f < nf; f++) {
				ADD(PICK(seps));
				ADD(PICK(fields));
			}
		}
		if (rnd(8) == 0)
			ADD(PICK(seps)); /* trailing blanks */
#undef ADD
		static const char *const prevs[] = {NULL, "prev.example.com.", "PrEv.example.org."};
		static const uint32_t dttl[] = {0, 300, 0xfffffffeu};
		struct both b = compare(line, PICK(dttl), rnd(8) ? "example.com." : ".", PICK(prevs));
		taken += b.fast;
	}
	/* Many random lines are malformed; a good share must still be taken,
	 * or this test compares little. */
	fprintf(stderr, "random_lines_agree: %u of %u lines taken\n", taken, n);
	ck_assert_uint_gt(taken, n / 10);
}
END_TEST

/* The same for the records of signed zones: each field a token of its
 * kind, most often a good one, base64, hex and type bitmaps in zero to
 * three groups, sometimes a field too few or too many. */
START_TEST(random_signed_lines_agree)
{
	struct shape {
		const char *type, *kinds;
	};
	/* t type, a algorithm, T time, i integer, n name, b base64, h hex,
	 * s salt, o NSEC3 next owner, m type bitmap */
	static const struct shape shapes[] = {
		{"RRSIG", "taiiTTinb"}, {"rrsig", "taiiTTinb"}, {"SIG", "taiiTTinb"},
		{"DNSKEY", "iiab"},	{"CDNSKEY", "iiab"},	{"KEY", "iiib"},
		{"DS", "iaih"},		{"CDS", "iaih"},	{"DLV", "iaih"},
		{"SSHFP", "iih"},	{"ZONEMD", "iiih"},	{"NSEC", "nm"},
		{"NSEC3", "iiisom"},	{"NSEC3PARAM", "iiis"}, {"CSYNC", "iim"},
		{"DHCID", "b"},		{"OPENPGPKEY", "b"},	{"TYPE46", "taiiTTinb"}};
	/* each list starts with good tokens, then the bad ones */
	static const char *const types[] = {"A", "aaaa", "NSEC3", "TYPE65534", "TYPE0",
					    "DNSKEY", "TYPE65536", "FOO", "1", ""};
	static const char *const algs[] = {"8", "13", "253", "ECDSAP256SHA256", "rsasha256",
					   "PRIVATEOID", "256", "FOO", "-1", "0x0d"};
	static const char *const times[] = {
		"20260101000000", "20261204212226", "19700101000000", "1798761600",
		"4294967295", "0", "-1", "4294967296", "19691231235959", "20261301000000",
		"20260100000000", "20260101246060", "2026010100000", "202601010000000", "1h",
		"x"};
	static const char *const ints[] = {"0", "1", "3", "13", "255", "3600", "65535", "256",
					   "65536", "4294967295", "-1", "x", "1h"};
	static const char *const names[] = {"example.com.", "EXAMPLE.com.", "@", "sub", ".",
					    "x.", "*", "a..b"};
	static const char *const b64[] = {"AAAA", "AA==", "AwEAAQ==", "Zm9v", "+/+/",
					  "Zm9vYmFy", "-", "0", "A===", "AA", "A", "!!!!",
					  "AA=A", "===="};
	static const char *const hexes[] = {"00", "0123456789abcdef", "ABCDEF", "abc", "0",
					    "ffff", "xy", "-", "0x12"};
	static const char *const salts[] = {"-", "ab", "AABBCCDD", "abc", "zz", "", "0",
					    "--"};
	static const char *const owners32[] = {
		"2vptu5timamqttgl4luu9kg21e0aor3s", "2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S",
		"0p9mhaveqvm6t7vbl5lop2u3t2rp3tom", "2vptu5timamqttgl4luu9kg21e0aor3z", "00",
		"0", "-", "vvvvvvvv", "ww"};
	static const char *const bitmap[] = {"A", "ns", "SOA", "RRSIG", "nsec", "NSEC3",
					     "DNSKEY", "TYPE65534", "TYPE1", "TYPE0",
					     "TYPE65536", "FOO", "3", "CAA"};
	static const char *const owners[] = {"", "@", "x", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
					     "x.example.com.", "*.w", "a..b"};
	static const char *const heads[] = {"", " 300", " 300 IN", " IN", " 0 IN", " 1h"};
	static const char *const seps[] = {" ", " ", "\t", "  ", " \t"};
	char line[4096];
	unsigned taken = 0, n = 30000;

	for (unsigned i = 0; i < n; i++) {
		size_t len = 0;
		line[0] = 0;
#define ADD(s) len += (size_t)snprintf(line + len, sizeof(line) - len, "%s", (s))
		ADD(PICK(owners));
		ADD(PICK(heads));
		const struct shape *sh = &PICK(shapes);
		ADD(PICK(seps));
		ADD(sh->type);
		size_t nk = strlen(sh->kinds);
		unsigned cut = rnd(8);
		if (cut == 0 && nk > 0)
			nk--; /* a field too few */
		for (size_t k = 0; k < nk; k++) {
			char kind = sh->kinds[k];
			unsigned groups = 1;
			if (kind == 'b' || kind == 'h' || kind == 'm')
				groups = rnd(4);
			for (unsigned g = 0; g < groups; g++) {
				ADD(PICK(seps));
				/* three times in four a good token */
				bool good = rnd(4) != 0;
#define TOKEN(a, ngood) ((a)[good ? rnd(ngood) : rnd(sizeof(a) / sizeof((a)[0]))])
				ADD(kind == 't'	  ? TOKEN(types, 6)
				    : kind == 'a' ? TOKEN(algs, 6)
				    : kind == 'T' ? TOKEN(times, 7)
				    : kind == 'n' ? TOKEN(names, 7)
				    : kind == 'b' ? TOKEN(b64, 8)
				    : kind == 'h' ? TOKEN(hexes, 6)
				    : kind == 's' ? TOKEN(salts, 3)
				    : kind == 'o' ? TOKEN(owners32, 3)
				    : kind == 'm' ? TOKEN(bitmap, 12)
						  : TOKEN(ints, 8));
#undef TOKEN
			}
		}
		if (cut == 1) {
			ADD(PICK(seps));
			ADD("extra"); /* a field too many (or one more group) */
		}
		if (rnd(6) == 0)
			ADD(PICK(seps)); /* trailing blanks */
#undef ADD
		struct both b = compare(line, 300, rnd(8) ? "example.com." : ".",
					rnd(2) ? "prev.example.com." : NULL);
		taken += b.fast;
	}
	fprintf(stderr, "random_signed_lines_agree: %u of %u lines taken\n", taken, n);
	ck_assert_uint_gt(taken, n / 10);
}
END_TEST

static Suite *zone_line_suite(void)
{
	Suite *s = suite_create("zone_line");
	TCase *t = tcase_create("against_ldns");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, common_lines_are_taken);
	tcase_add_test(t, other_lines_are_left_to_ldns);
	tcase_add_test(t, signed_lines_are_taken);
	tcase_add_test(t, bad_signed_lines_are_left_to_ldns);
	tcase_add_test(t, random_lines_agree);
	tcase_add_test(t, random_signed_lines_agree);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(zone_line_suite());
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
