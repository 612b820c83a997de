/* acl.h: who may do what to a zone (the configuration's acl: rules).
 *
 * A zone lists rules by id (zone `acl: [a, b]`); a request is checked
 * against them in order and the first rule that matches decides, as Knot
 * does: allowed, or denied when the rule says `deny: on`. No rule
 * matching is a refusal too. A rule matches when
 *   - it names the request's action (transfer, notify);
 *   - the client's address is inside one of its prefixes (none listed:
 *     any address; an IPv4-mapped IPv6 address counts as IPv4);
 *   - its keys include the request's TSIG key (same name and algorithm),
 *     or it lists no key and the request is unsigned: a rule without keys
 *     is for unsigned requests only (NSD's NOKEY, Knot's reading), so
 *     that adding a key on a secondary never widens what an address-only
 *     rule allows; but a deny rule without keys denies signed requests too.
 * The key is the one tsig_verify_request found the request validly signed
 * with; a request whose TSIG failed is refused before the ACL is asked.
 */
#ifndef SHOAL_ACL_H
#define SHOAL_ACL_H

#include <stdbool.h>

#include "ops/conf.h"

struct sockaddr;

enum acl_verdict {
	ACL_ALLOWED = 0,
	ACL_DENIED,	/* a deny rule matched */
	ACL_NO_MATCH,	/* no rule matched: refused as well */
};

/**
 * \param action  CONF_ACTION_TRANSFER or CONF_ACTION_NOTIFY
 * \param key     the request's verified key, NULL for an unsigned request
 * \param[out] rule  the rule that decided (NULL for ACL_NO_MATCH); may be NULL
 */
enum acl_verdict acl_check(const struct conf_zone_settings *zs, unsigned action,
			   const struct sockaddr *peer, const struct conf_key *key,
			   const struct conf_acl **rule);

/** True when `a` lies inside prefix `p` (`a` AF_INET or AF_INET6). */
bool acl_prefix_match(const struct conf_prefix *p, const struct sockaddr *a);

#endif
