/* serial.h: SOA serial arithmetic (RFC 1982 §3, SERIAL_BITS = 32).
 *
 * Serials live on a circle of 2^32: b is newer than a when it is less than
 * 2^31 steps ahead of it. Exactly 2^31 apart (0 and 2^31, for example) the
 * order is undefined (§3.2): neither is newer, and an implementation must
 * not pretend otherwise, so serial_compare says so with its own value. */
#ifndef SHOAL_SERIAL_H
#define SHOAL_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

enum serial_order {
	/* Negative, so a caller that tests `serial_compare(a, b) > 0` for
	 * "a is newer" reads an undefined pair as "not newer", both ways. */
	SERIAL_UNDEFINED = -2,
	SERIAL_OLDER = -1,
	SERIAL_EQUAL = 0,
	SERIAL_NEWER = 1,
};

/** How `a` stands to `b`: SERIAL_NEWER when a is after b (a > b in RFC
 * 1982 terms), SERIAL_OLDER when before, SERIAL_EQUAL, or SERIAL_UNDEFINED
 * when they are exactly 2^31 apart. */
static inline enum serial_order serial_compare(uint32_t a, uint32_t b)
{
	uint32_t ahead = a - b; /* how far a is ahead of b, mod 2^32 */
	if (ahead == 0)
		return SERIAL_EQUAL;
	if (ahead == UINT32_C(0x80000000))
		return SERIAL_UNDEFINED;
	return ahead < UINT32_C(0x80000000) ? SERIAL_NEWER : SERIAL_OLDER;
}

/** a is newer than b (an undefined pair is not). */
static inline bool serial_newer(uint32_t a, uint32_t b)
{
	return serial_compare(a, b) == SERIAL_NEWER;
}

#endif
