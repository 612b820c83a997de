/* check_acl.c: acl rules against addresses and keys (src/guard/acl.c),
 * read from configuration text as an operator writes them. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "guard/acl.h"
#include "unit.h"

static void diag(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s\n", msg);
}

static struct conf *load(const char *text)
{
	struct conf *c = NULL;
	ck_assert_int_eq(conf_load_buf("t.conf", text, strlen(text), diag, NULL, &c), 0);
	return c;
}

static struct sockaddr_storage addr(const char *s)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, s, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, s, &v6->sin6_addr), 1);
		v6->sin6_family = AF_INET6;
	}
	return ss;
}

static enum acl_verdict check(const struct conf *c, size_t zone, unsigned action, const char *a,
			      const struct conf_key *key)
{
	struct sockaddr_storage ss = addr(a);
	return acl_check(c->zones[zone].set, action, (struct sockaddr *)&ss, key, NULL);
}

static const char base[] =
    "key:\n"
    "  - id: k1\n    algorithm: hmac-sha256\n    secret: c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\n"
    "  - id: k2\n    algorithm: hmac-sha512\n    secret: c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\n"
    "acl:\n"
    "  - id: block\n    address: 192.0.2.66\n    action: transfer\n    deny: on\n"
    "  - id: net-k1\n    address: [192.0.2.0/24, \"2001:db8::/32\"]\n    key: k1\n"
    "    action: transfer\n"
    "  - id: lo\n    address: 127.0.0.0/8\n    action: [transfer, notify]\n"
    "  - id: any-k2\n    key: k2\n    action: transfer\n"
    "zone:\n"
    "  - domain: a.example\n    acl: [block, net-k1, lo, any-k2]\n"
    "  - domain: b.example\n";

START_TEST(first_match_decides)
{
	struct conf *c = load(base);
	const struct conf_key *k1 = &c->keys[0], *k2 = &c->keys[1];
	/* the deny rule comes first, whatever the key */
	ck_assert_int_eq(check(c, 0, CONF_ACTION_TRANSFER, "192.0.2.66", k1), ACL_DENIED);
	ck_assert_int_eq(check(c, 0, CONF_ACTION_TRANSFER, "192.0.2.66", k2), ACL_DENIED);
	/* address and key both needed */
	ck_assert_int_eq(check(c, 0, CONF_ACTION_TRANSFER, "192.0.2.1", k1), ACL_ALLOWED);
	ck_assert_int_eq(check(c, 0, CONF_ACTION_TRANSFER, "192.0.2.1", NULL), ACL_NO_MATCH);
	ck_assert_int_eq(check(c, 0, CONF_ACTION_TRANSFER, "198.51.100.1", k1), ACL_NO_MATCH);
	ck_assert_int_eq(check(c, 0, CONF_ACTION_TRANSFER, "2001:db8:1::5", k1), ACL_ALLOWED);
	ck_assert_int_eq(check(c, 0, CONF_ACTION_TRANSFER, "2001:db9::5", k1), ACL_NO_MATCH);
	/* a rule without keys is for unsigned requests only */
	ck_assert_int_eq(check(c, 0, CONF_ACTION_TRANSFER, "127.0.0.1", NULL), ACL_ALLOWED);
	ck_assert_int_eq(check(c, 0, CONF_ACTION_TRANSFER, "127.0.0.1", k1), ACL_NO_MATCH);
	/* a rule without addresses: any address with its key */
	ck_assert_int_eq(check(c, 0, CONF_ACTION_TRANSFER, "203.0.113.9", k2), ACL_ALLOWED);
	ck_assert_int_eq(check(c, 0, CONF_ACTION_TRANSFER, "127.0.0.1", k2), ACL_ALLOWED);
	/* actions: only lo allows notify */
	ck_assert_int_eq(check(c, 0, CONF_ACTION_NOTIFY, "127.0.0.9", NULL), ACL_ALLOWED);
	ck_assert_int_eq(check(c, 0, CONF_ACTION_NOTIFY, "192.0.2.1", k1), ACL_NO_MATCH);
	/* a zone without rules refuses everyone */
	ck_assert_int_eq(check(c, 1, CONF_ACTION_TRANSFER, "127.0.0.1", NULL), ACL_NO_MATCH);
	conf_free(c);
}
END_TEST

/* A key of the same name but another algorithm (or the other way round)
 * is another key. */
START_TEST(key_identity)
{
	struct conf *c = load(base);
	struct conf_key same = c->keys[0];
	ck_assert_int_eq(check(c, 0, CONF_ACTION_TRANSFER, "192.0.2.1", &same), ACL_ALLOWED);
	same.alg = CONF_HMAC_SHA1;
	ck_assert_int_eq(check(c, 0, CONF_ACTION_TRANSFER, "192.0.2.1", &same), ACL_NO_MATCH);
	same = c->keys[1];
	memcpy(same.name, c->keys[0].name, c->keys[0].name_len);
	same.name_len = c->keys[0].name_len;
	ck_assert_int_eq(check(c, 0, CONF_ACTION_TRANSFER, "192.0.2.1", &same), ACL_NO_MATCH);
	conf_free(c);
}
END_TEST

/* Prefix edges, and IPv4 clients of a dual-stack socket (::ffff:a.b.c.d). */
START_TEST(prefixes)
{
	struct conf *c = load("acl:\n  - id: p\n    address: [10.1.2.128/25, \"fe80::/10\", "
			      "0.0.0.0/0]\n    action: transfer\n");
	const struct conf_acl *a = &c->acls[0];
	struct sockaddr_storage s;
	s = addr("10.1.2.128");
	ck_assert(acl_prefix_match(&a->prefix[0], (struct sockaddr *)&s));
	s = addr("10.1.2.255");
	ck_assert(acl_prefix_match(&a->prefix[0], (struct sockaddr *)&s));
	s = addr("10.1.2.127");
	ck_assert(!acl_prefix_match(&a->prefix[0], (struct sockaddr *)&s));
	s = addr("::ffff:10.1.2.200");
	ck_assert(acl_prefix_match(&a->prefix[0], (struct sockaddr *)&s));
	s = addr("febf::1");
	ck_assert(acl_prefix_match(&a->prefix[1], (struct sockaddr *)&s));
	s = addr("fec0::1");
	ck_assert(!acl_prefix_match(&a->prefix[1], (struct sockaddr *)&s));
	ck_assert(!acl_prefix_match(&a->prefix[0], (struct sockaddr *)&s)); /* families differ */
	s = addr("203.0.113.1");
	ck_assert(acl_prefix_match(&a->prefix[2], (struct sockaddr *)&s));
	conf_free(c);
}
END_TEST

/* References: the published zone set keeps the configuration it was
 * checked against alive while the next one is read. */
START_TEST(conf_references)
{
	struct conf *c = load(base);
	ck_assert_ptr_eq(conf_ref(c), c);
	conf_free(c);
	ck_assert_str_eq(c->zones[0].set->acl[0]->id, "block"); /* still there */
	conf_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("acl");
	TCase *t = tcase_create("rules");
	tcase_add_test(t, first_match_decides);
	tcase_add_test(t, key_identity);
	tcase_add_test(t, prefixes);
	tcase_add_test(t, conf_references);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
