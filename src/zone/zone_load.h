/* zone_load.h: reading zone files (RFC 1035 §5 master files) with ldns. */
#ifndef SHOAL_ZONE_LOAD_H
#define SHOAL_ZONE_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "zone/zone.h"

/** How deep $INCLUDE may nest: deep enough for any real layout, shallow
 * enough that a file including itself fails fast. */
#define ZONE_INCLUDE_DEPTH_MAX 8

/** Errors reported per file before the loader stops reading it. */
#define ZONE_ERRORS_MAX 100

enum zone_diag_severity {
	ZONE_DIAG_WARNING,
	ZONE_DIAG_ERROR,
};

/** Receives every problem found while loading, as file, line and reason
 * (line 0: the problem concerns the whole zone). */
typedef void (*zone_diag_fn)(void *ctx, enum zone_diag_severity sev, const char *file, int line,
			     const char *reason);

/**
 * A problem as one line, as shoal-checkzone prints it: "file:line: reason",
 * "file: reason" for line 0, "warning: " before a warning's reason.
 * \return as snprintf
 */
int zone_diag_format(char *buf, size_t size, enum zone_diag_severity sev, const char *file,
		     int line, const char *reason);

/** The default diagnostic sink: log_msg "file:line: reason". */
void zone_diag_log(void *ctx, enum zone_diag_severity sev, const char *file, int line,
		   const char *reason);

/**
 * Derive a zone's origin from a file name: "dir/example.com.zone" →
 * example.com. (wire). "root.zone" or "..zone" give the root zone.
 * \return wire length, or 0 when the name is not `<name>.zone` or not a valid name
 */
size_t zone_origin_from_path(const char *path, uint8_t out[DNAME_MAX]);

/**
 * Load one zone file whose apex is `origin`. Every record goes through
 * ldns_rr_new_frm_fp_l; $ORIGIN, $TTL and $INCLUDE (relative paths are
 * resolved against the including file's directory) are handled.
 * \param[out] nerrors  number of errors reported (may be NULL)
 * \return the zone, or NULL when there was any error (each one reported to diag)
 */
struct zone *zone_load_file(const char *path, const uint8_t *origin, zone_diag_fn diag,
			    void *ctx, unsigned *nerrors);

#endif
