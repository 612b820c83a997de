/* sockaddr.h: the few things done with a peer's address in more than one
 * place (NOTIFY out, transfers in): is it a whole IPv4 or IPv6 address,
 * is an answer from where the question went, and a message ID to ask
 * with. */
#ifndef SHOAL_SOCKADDR_H
#define SHOAL_SOCKADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/** An IPv4 or IPv6 address of at least its family's length, within the
 * storage. */
bool sockaddr_family_ok(const struct sockaddr_storage *ss, socklen_t len);

/** The same family, address and port (an IPv6 scope counts only when both
 * have one): an answer comes from where its question went. */
bool sockaddr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/** A random message ID for a query we send (getrandom; the clock's
 * nanoseconds should it fail). */
uint16_t dns_random_id(void);

#endif
