/*
 * dnssec.h - signed test zones and a validating resolver for shoal's
 * end-to-end tests (issue 18).
 *
 * Two helpers on top of harness.h:
 *
 *   harness_dnssec_make()   takes an unsigned zone file and an origin and, in
 *                           a work directory, makes fresh keys and signs a
 *                           copy of it (NSEC, NSEC3, NSEC3 with salt and
 *                           iterations, NSEC3 opt-out), writing the signed
 *                           zone where shoal will load it and the DS of its
 *                           key-signing key as a trust anchor file.
 *   harness_unbound_start() starts Debian's unbound on a loopback port as a
 *                           validating resolver with a stub zone per test
 *                           zone pointing at shoal and the trust anchors of
 *                           the signed ones.
 *
 * Nothing signed is committed: keys and signatures are made in the test
 * setup (inception now - 1 h, expiration now + 30 days), so they never rot.
 *
 * Linking: a separate static library beside the harness (meson:
 * e2e_dnssec_dep, which brings e2e_harness_dep with it); a test includes
 * both harness.h and dnssec.h.
 *
 * The signing tools are run with harness_run(): ldns-keygen and
 * ldns-signzone (Debian ldnsutils) for NSEC and the plain NSEC3 variants;
 * dnssec-keygen and dnssec-signzone (Debian bind9-utils) for opt-out,
 * because ldns-signzone -p only sets the opt-out flag and still makes an
 * NSEC3 for every insecure delegation. scripts/deps installs all of them.
 *
 * Environment read here (beside harness.h's):
 *   SHOAL_UNBOUND  optional path of unbound (default: PATH, /usr/sbin)
 */
#ifndef SHOAL_E2E_DNSSEC_H
#define SHOAL_E2E_DNSSEC_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

/* RFC 1035 §3.1: a name is at most 255 octets on the wire, so at most
 * 254 characters in presentation format without escapes, plus NUL. */
#define HARNESS_DNAME_TEXT_MAX 1024

/* RFC 4034 §3.1.5 times the signers are given: inception an hour in the
 * past (clocks of resolver and signer may differ, as in real life; unbound
 * allows a skew too), expiration 30 days ahead, far longer than any run. */
#define HARNESS_DNSSEC_INCEPTION_AGO_S 3600
#define HARNESS_DNSSEC_VALIDITY_S (30 * 24 * 3600)

/* The NSEC3 salt and iteration count of HARNESS_DNSSEC_NSEC3_SALT: a salt
 * and iterations above 0, which RFC 9276 advises against, but which a
 * server must still serve (the hash of a name then costs 11 SHA-1 rounds). */
#define HARNESS_DNSSEC_SALT "cafe5a17"
#define HARNESS_DNSSEC_SALT_ITERATIONS 10

/* How a zone is signed. Every signed variant uses ECDSA P-256 with SHA-256
 * (algorithm 13), one KSK (flags 257) and one ZSK (flags 256). */
enum harness_dnssec_variant {
	HARNESS_DNSSEC_UNSIGNED = 0, /* copied as it is: no keys, no anchor */
	HARNESS_DNSSEC_NSEC,         /* ldns-signzone */
	HARNESS_DNSSEC_NSEC3,        /* ldns-signzone -n -t 0, no salt (RFC 9276) */
	HARNESS_DNSSEC_NSEC3_SALT,   /* ldns-signzone -n -t 10 -s cafe5a17 */
	HARNESS_DNSSEC_NSEC3_OPTOUT, /* dnssec-signzone -3 - -H 0 -A: opt-out flag
	                                set and no NSEC3 for insecure delegations */
	HARNESS_DNSSEC_VARIANTS      /* how many there are */
};

/* "unsigned", "nsec", "nsec3", "nsec3-salt", "nsec3-optout". */
const char *harness_dnssec_variant_str(enum harness_dnssec_variant v);

/* One zone made by harness_dnssec_make(). */
struct harness_dnssec_zone {
	enum harness_dnssec_variant variant;
	char origin[HARNESS_DNAME_TEXT_MAX]; /* absolute, with the final dot */
	char zonefile[PATH_MAX];             /* the zone as served: zonedir/<origin>zone */
	char anchor[PATH_MAX];               /* DS of the KSK, one RR in presentation
	                                        format (unbound's trust-anchor-file);
	                                        "" when unsigned */
	char keydir[PATH_MAX];               /* keys, signers' files (not made unsigned) */
	uint16_t ksk_tag, zsk_tag;           /* RFC 4034 Appendix B key tags; 0 unsigned */
};

/*
 * Make one test zone: copy the unsigned zone file `in` with
 * "$ORIGIN <origin>" put in front (so a template of relative names can be
 * served under any origin; a file with its own $ORIGIN line for the same
 * origin is unaffected) and write it to zonedir/<origin>zone (the name
 * shoal --zones expects, mode 0644). Unless the variant is
 * HARNESS_DNSSEC_UNSIGNED, the copy is signed first: a KSK and a ZSK are
 * generated in workdir/<origin>keys/, their DNSKEY RRs added to the copy,
 * the copy signed as `variant` says (inception now - 1 h, expiration now +
 * 30 days), and the KSK's DS (SHA-256, RFC 4509) written to
 * workdir/<origin>ds.
 * The signers' output is kept in workdir/<origin>log; on failure it is
 * printed to stderr with the command that failed.
 * \param workdir  an existing directory, e.g. from harness_tmpdir()
 * \param zonedir  an existing directory, e.g. a harness_server's zonedir
 * \param[out] out what was made (zeroed on failure)
 * \return 0; -ENOENT when a signing tool is not installed; -EIO when a
 *         tool failed; -EINVAL for a bad origin; other -errno.
 */
int harness_dnssec_make(const char *in, const char *origin, enum harness_dnssec_variant variant,
                        const char *workdir, const char *zonedir, struct harness_dnssec_zone *out);

/*
 * The owner names of the NSEC3 records in a signed zone file (as
 * harness_dnssec_make() wrote it), for the queries RFC 5155 §7.2.8 is
 * about: a name that is an NSEC3 owner must be answered as if it did not
 * exist. Read with ldns, so the signers' layouts (one RR a line, or
 * dnssec-signzone's -O full) both work.
 * \param zonefile  a zone file; origin its origin (absolute)
 * \param[out] out  the owner names in presentation format (absolute, as
 *                  the signer spelled them), NULL-terminated, in file
 *                  order; free with harness_strv_free(); NULL on error
 * \return how many (0 for an NSEC or unsigned zone), or -errno (-EINVAL:
 *         the file does not parse; the reason goes to stderr).
 */
int harness_dnssec_nsec3_owners(const char *zonefile, const char *origin, char ***out);

/*
 * Whether the tools a variant needs are installed (found in PATH or
 * /usr/bin, /usr/sbin). \return NULL when they are, else the name of the
 * first one missing (static string).
 */
const char *harness_dnssec_missing_tool(enum harness_dnssec_variant variant);

/* ---- unbound -------------------------------------------------------------- */

/* One zone unbound is to resolve: a stub zone to 127.0.0.1@port and, when
 * anchor is set, its trust anchor. */
struct harness_unbound_zone {
	const char *origin; /* absolute, with the final dot */
	uint16_t port;      /* the authoritative server's loopback port */
	const char *anchor; /* trust-anchor-file (DS or DNSKEY RRs), or NULL:
	                       then the zone is insecure (no chain of trust) */
};

/*
 * Path of unbound ($SHOAL_UNBOUND, else unbound in PATH, /usr/sbin,
 * /usr/local/sbin), or NULL if not installed: tests that need it exit
 * HARNESS_EXIT_SKIP then.
 */
const char *harness_unbound_path(void);

/*
 * Start unbound as a validating resolver for the zones in zones[0..n-1].
 * Writes srv->dir/unbound.conf:
 *   interface 127.0.0.1@PORT (PORT from harness_pick_port()), IPv4 only;
 *   module-config "validator iterator"; a trust-anchor-file per zone with
 *   an anchor; a stub-zone per zone (stub-addr 127.0.0.1@zone port);
 *   do-not-query-localhost: no (the stubs are on loopback);
 *   local-zone "<tld>." nodefault for every top-level label of the zones
 *   (unbound answers test., invalid., localhost. ... itself otherwise:
 *   RFC 6761 default local zones);
 *   chroot "", username "", directory srv->dir, no pidfile, logfile
 *   srv->log (so harness_server_log_tail() shows it), verbosity 1,
 *   val-log-level 2 (each validation failure explained in the log),
 *   log-servfail, no remote-control; qname minimisation, aggressive NSEC
 *   and prefetch off, so that every case of a test reaches shoal as asked.
 * No root hints are needed: every name asked is under a stub zone.
 * Then runs "unbound -d -p -c unbound.conf" and polls every 50 ms (up to
 * HARNESS_READY_TIMEOUT_MS) until "probe SOA" with RD=1 answers NOERROR;
 * probe should be an unsigned zone (a signed zone the server cannot yet
 * serve validly answers SERVFAIL), NULL = zones[0].origin.
 * On failure prints why and the log tail to stderr and stops unbound;
 * srv->dir and the log are kept. Call harness_server_cleanup() in every
 * case.
 * \param[out] srv  the running resolver (srv->port: where to ask)
 * \return 0; -ENOENT if unbound is not installed; -ECHILD if it exited
 *         during start-up (a bad configuration: see the log); -ETIMEDOUT
 *         if the probe never answered NOERROR; other -errno.
 */
int harness_unbound_start(struct harness_server *srv, const struct harness_unbound_zone *zones,
                          size_t n, const char *probe);

#endif /* SHOAL_E2E_DNSSEC_H */
