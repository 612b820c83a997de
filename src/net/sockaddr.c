/* sockaddr.c: peers' addresses (sockaddr.h). */
#include "net/sockaddr.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

bool sockaddr_family_ok(const struct sockaddr_storage *ss, socklen_t len)
{
	if (len > sizeof(*ss))
		return false;
	if (ss->ss_family == AF_INET)
		return len >= sizeof(struct sockaddr_in);
	if (ss->ss_family == AF_INET6)
		return len >= sizeof(struct sockaddr_in6);
	return false;
}

bool sockaddr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port &&
		       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) &&
		       (!x->sin6_scope_id || !y->sin6_scope_id ||
			x->sin6_scope_id == y->sin6_scope_id);
	}
	return false;
}

uint16_t dns_random_id(void)
{
	uint16_t id;
	/* 2 octets never block once the pool is initialised (getrandom(2));
	 * should it fail anyway, the clock's nanoseconds are still unknown
	 * to an off-path attacker to a fair degree. */
	if (getrandom(&id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		id = (uint16_t)(ts.tv_nsec ^ (ts.tv_nsec >> 16));
	}
	return id;
}
