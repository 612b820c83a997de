/* acl.c: matching requests against the zone's acl rules (acl.h). */
#include "guard/acl.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

bool acl_prefix_match(const struct conf_prefix *p, const struct sockaddr *a)
{
	const uint8_t *bytes;
	int family = a->sa_family;
	if (family == AF_INET) {
		bytes = (const uint8_t *)&((const struct sockaddr_in *)a)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *v6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
		bytes = v6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(v6)) {
			/* a dual-stack socket's IPv4 client */
			family = AF_INET;
			bytes += 12;
		}
	} else {
		return false;
	}
	if (family != p->family)
		return false;
	unsigned full = p->len / 8, rest = p->len % 8;
	if (memcmp(bytes, p->addr, full))
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((bytes[full] & mask) != p->addr[full])
			return false;
	}
	return true;
}

static bool key_match(const struct conf_acl *r, const struct conf_key *key)
{
	if (r->nkey == 0)
		return key == NULL || r->deny; /* a deny rule by address denies every key */
	if (!key)
		return false;
	for (size_t i = 0; i < r->nkey; i++) {
		const struct conf_key *k = r->key[i];
		if (k->alg == key->alg && k->name_len == key->name_len &&
		    !memcmp(k->name, key->name, key->name_len))
			return true;
	}
	return false;
}

enum acl_verdict acl_check(const struct conf_zone_settings *zs, unsigned action,
			   const struct sockaddr *peer, const struct conf_key *key,
			   const struct conf_acl **rule)
{
	if (rule)
		*rule = NULL;
	for (size_t i = 0; zs && i < zs->nacl; i++) {
		const struct conf_acl *r = zs->acl[i];
		if (!(r->actions & action))
			continue;
		bool addr = r->nprefix == 0;
		for (size_t k = 0; k < r->nprefix && !addr; k++)
			addr = acl_prefix_match(&r->prefix[k], peer);
		if (!addr || !key_match(r, key))
			continue;
		if (rule)
			*rule = r;
		return r->deny ? ACL_DENIED : ACL_ALLOWED;
	}
	return ACL_NO_MATCH;
}
