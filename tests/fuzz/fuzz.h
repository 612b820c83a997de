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

#endif
