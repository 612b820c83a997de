/* fuzz.h: what every fuzz target (tests/fuzz/fuzz_*.c) provides. Built with
 * libFuzzer (scripts/fuzz), libFuzzer calls the first two; built normally,
 * replay.c's main calls all three over the saved corpus, so inputs that
 * once crashed stay tests (as Knot's tests-fuzz do). */
#ifndef SHOAL_FUZZ_H
#define SHOAL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "answer/answer.h"
#include "zone/zone_load.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** Free what LLVMFuzzerInitialize set up (replay only: a leak checker
 * then sees only what an input leaked). */
void fuzz_cleanup(void);

/** The answering configuration of the query and zone targets: our EDNS
 * size 1232, NSID, version and identity "fuzz" (fuzz_tcp adds cookies). */
extern const struct answer_cfg fuzz_answer_cfg;

/** A zone_diag_fn that drops every diagnostic. */
void fuzz_quiet_diag(void *ctx, enum zone_diag_severity sev, const char *file, int line,
                     const char *reason);

/** The conformance zones (tests/conformance/zones under $SHOAL_SRCDIR, or
 * the current directory), loaded quietly; exits when they cannot be. */
struct zonedb *fuzz_conformance_zones(const char *target);

/* What signed requests and transfers are checked against (serve.c): the
 * key below; example.com. transferable by anyone unsigned or with the
 * key, 192.0.2.66 denied; example. with the key only; sub.example.com.
 * by nobody. The seeds in the corpora are signed with this key at
 * FUZZ_TSIG_NOW (2026-01-01T00:00:00Z), the time fuzz_query verifies at. */
#define FUZZ_KEY_NAME "fuzz-key."
#define FUZZ_KEY_SECRET "ZnV6ei1rZXktZnV6ei1rZXktZnV6ei1rZXktZnV6eiE=" /* hmac-sha256 */
#define FUZZ_TSIG_NOW 1767225600u

/**
 * fuzz_conformance_zones made ready for serve.c: the configuration above
 * hung on the zonedb (db->conf), and example.com. served as a second
 * version (serial + 1, a TXT record added at the apex) whose difference
 * from the first is in a journal (its file written in a private temporary
 * folder and removed at once), so that an IXFR from 2024010101 is
 * answered incrementally. Logging is cut to errors (every transfer logs a
 * line). Exits on failure.
 */
struct zonedb *fuzz_serve_zones(const char *target);

/** Free what fuzz_serve_zones made (the zonedb and the journal). */
void fuzz_serve_zones_free(struct zonedb *db);

#endif
