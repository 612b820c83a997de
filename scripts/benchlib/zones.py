"""The zone every server serves and the queries dnsperf sends.

The zone bench.test. has --names hosts (an A and an AAAA each) plus MX,
TXT, CNAMEs, a wildcard and a delegation with glue; the load test pads it
with TXT records to --load-records. The dnsperf query file has
QUERY_LINES lines in exactly the shares of MIX, shuffled. Both are
generated from fixed seeds, so every run and every server sees the same
data.

With --dnssec the zone is signed (sign_zone): NSEC3 with no salt and 0
extra iterations (RFC 9276), an ECDSA P-256 KSK and ZSK made with
ldns-keygen, ldns-signzone; signatures valid from a day before the run to
a year after it. The load test's signed zone (3.75M records, about 2 min
and 2.6 GB to sign) is kept in a cache folder, keyed by the unsigned text
and the signer's options, and signed again only when they change or its
signatures are within 30 days of expiring."""
import glob
import hashlib
import json
import os
import random
import shutil
import subprocess
import time

from . import log

ZONE = "bench.test."
QUERY_LINES = 100000  # lines of the dnsperf query file
LOAD_RECORDS = 1250000  # the load test's zone (--load-records)

FIXED = [
    "$TTL 3600",
    "@ SOA ns1 hostmaster 1 7200 3600 1209600 300",
    "@ NS ns1",
    "@ NS ns2",
    "ns1 A 192.0.2.1",
    "ns2 A 192.0.2.2",
    "@ MX 10 mail",
    "@ MX 20 mail2",
    "mail A 192.0.2.25",
    "mail2 A 192.0.2.26",
    '@ TXT "v=spf1 mx -all"',
    "*.wild A 192.0.2.80",
    "*.wild TXT \"wildcard\"",
    "sub NS ns1.sub",  # the delegation, with its glue
    "sub NS ns2.sub",
    "ns1.sub A 192.0.2.53",
    "ns2.sub A 192.0.2.54",
]
FIXED_RECORDS = len(FIXED) - 1  # $TTL is no record


def cnames_for(names):
    return min(names, 1000)


def zone_records(names):
    return FIXED_RECORDS + 2 * names + cnames_for(names)


def gen_zone(path, names, pad=0, seed=1):
    """bench.test. with `names` hosts hN (A + AAAA), cN CNAME hM for the
    first 1000, and `pad` extra TXT records. Returns the record count."""
    rnd = random.Random(seed)
    with open(path, "w") as f:
        f.write("\n".join(FIXED) + "\n")
        # Written in chunks: 625,000 names is 1.25M lines.
        chunk = []
        for i in range(names):
            chunk.append("h%d A 10.%d.%d.%d\nh%d AAAA 2001:db8::%x:%x\n"
                         % (i, (i >> 16) & 255, (i >> 8) & 255, i & 255, i, i >> 16, i & 0xFFFF))
            if len(chunk) >= 10000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))
        for i in range(cnames_for(names)):
            f.write("c%d CNAME h%d\n" % (i, rnd.randrange(names)))
        for i in range(pad):
            f.write('t%d TXT "pad"\n' % i)
    return zone_records(names) + pad


MIX = [(70, "a"), (10, "aaaa"), (5, "nxdomain"), (5, "cname"), (3, "mx"), (3, "wildcard"),
       (4, "delegation")]


def sample_query(kind, names, rnd):
    if kind == "a":
        return "h%d.%s" % (rnd.randrange(names), ZONE), "A"
    if kind == "aaaa":
        return "h%d.%s" % (rnd.randrange(names), ZONE), "AAAA"
    if kind == "nxdomain":
        return "nx%d.%s" % (rnd.randrange(10 ** 9), ZONE), "A"
    if kind == "cname":
        return "c%d.%s" % (rnd.randrange(cnames_for(names)), ZONE), "A"
    if kind == "mx":
        return ZONE, "MX"
    if kind == "wildcard":
        return "w%d.wild.%s" % (rnd.randrange(10 ** 6), ZONE), "A"
    return "x%d.sub.%s" % (rnd.randrange(10 ** 6), ZONE), "A"


def gen_queries(path, names, count=QUERY_LINES, seed=2):
    """Exactly the mix's shares of `count` lines, in a shuffled order."""
    rnd = random.Random(seed)
    kinds = []
    for weight, kind in MIX:
        kinds += [kind] * (count * weight // 100)
    kinds += ["a"] * (count - len(kinds))
    rnd.shuffle(kinds)
    with open(path, "w") as f:
        for kind in kinds:
            f.write("%s %s\n" % sample_query(kind, names, rnd))


# One query of each kind of the mix, which every server is asked before the
# rounds: their answers should have the same shape (servers.check_answers).
SAMPLES = [("A hit", "h0.%s" % ZONE, "A"), ("AAAA", "h1.%s" % ZONE, "AAAA"),
           ("NXDOMAIN", "nx1.%s" % ZONE, "A"), ("CNAME", "c0.%s" % ZONE, "A"),
           ("MX", ZONE, "MX"), ("wildcard", "w1.wild.%s" % ZONE, "A"),
           ("delegation", "x1.sub.%s" % ZONE, "A")]


# --dnssec: the signer's options. -n: NSEC3; -a 1: SHA-1 (the only NSEC3
# hash, RFC 5155 §11); -t 0: no extra iterations; no -s: no salt (RFC 9276
# §3.1; ldns-signzone's default salt is empty and it refuses "-s -").
SIGN_OPTIONS = ["-n", "-a", "1", "-t", "0"]
KEY_ALGORITHM = "ECDSAP256SHA256"  # algorithm 13, RFC 6605
SIG_INCEPTION_AGO = 86400  # s: a day, for clocks behind ours
SIG_VALIDITY = 365 * 86400  # s: a year; a run never sees an expired signature
CACHE_MIN_LEFT = 30 * 86400  # s: a cached zone closer to expiry is signed again
KEYGEN_TIMEOUT = 60  # s: ldns-keygen takes milliseconds for ECDSA
SIGN_TIMEOUT = 3600  # s: the 1.25M-record zone takes about 2 min on a shared VM


def sig_time(t):
    """A signer's time argument: YYYYMMDDhhmmss in UTC (RFC 4034 §3.2)."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(t))


def count_records(path):
    """Records in a zone file written by ldns-signzone: one a line, no
    comments, no blank lines."""
    n = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            n += chunk.count(b"\n")
    return n


def sign_zone(src, dst, workdir):
    """Sign the zone file src into dst with NSEC3 (SIGN_OPTIONS) under a new
    KSK and ZSK made in workdir. Returns (seconds the signer took, the
    signatures' expiration time). Raises RuntimeError when a tool fails."""
    for tool in ("ldns-keygen", "ldns-signzone"):
        if not shutil.which(tool):
            raise RuntimeError("%s is not installed (Debian: apt-get install ldnsutils)" % tool)
    os.makedirs(workdir, exist_ok=True)
    keys = []
    for ksk in (True, False):
        # /dev/urandom: ldns-keygen's default /dev/random may block on a
        # starved VM, and urandom is as good once the kernel is seeded.
        p = subprocess.run(["ldns-keygen", "-a", KEY_ALGORITHM, "-r", "/dev/urandom"] +
                           (["-k"] if ksk else []) + [ZONE], cwd=workdir, capture_output=True,
                           text=True, timeout=KEYGEN_TIMEOUT)
        if p.returncode or not p.stdout.strip():
            raise RuntimeError("ldns-keygen failed: %s" % (p.stderr.strip() or p.returncode))
        keys.append(os.path.join(workdir, p.stdout.split()[0]))
    now = time.time()
    expiration = int(now + SIG_VALIDITY)
    t0 = time.monotonic()
    p = subprocess.run(["ldns-signzone"] + SIGN_OPTIONS +
                       ["-o", ZONE, "-i", sig_time(now - SIG_INCEPTION_AGO),
                        "-e", sig_time(expiration), "-f", dst, src] + keys,
                       cwd=workdir, capture_output=True, text=True, timeout=SIGN_TIMEOUT)
    if p.returncode:
        raise RuntimeError("ldns-signzone failed (status %d): %s"
                           % (p.returncode, (p.stdout + p.stderr).strip()))
    os.chmod(dst, 0o644)  # shoal reads it after dropping root to nobody
    return time.monotonic() - t0, expiration


def place(src, dst):
    """dst becomes src's content: a hard link when they share a file
    system (the load test's zone is 490 MB), else a copy."""
    if os.path.lexists(dst):
        os.unlink(dst)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o644)


def signed_zone(src, dst, workdir, cache_dir=None):
    """dst = the zone file src signed (sign_zone), keys in workdir. With
    cache_dir, a signed copy is looked up there first, keyed by the SHA-256
    of src's text and of the signer's options, and stored there after
    signing (one entry per size of src, in lines: each is hundreds of MB,
    and a zone of another size, --quick's say, does not evict it).
    Returns a dict: records (in dst), sign_s (the signer's time, then or
    when the cached copy was made), cached (bool), expiration."""
    key = None
    if cache_dir:
        h = hashlib.sha256(" ".join(SIGN_OPTIONS + [KEY_ALGORITHM]).encode() + b"\n")
        lines = 0
        with open(src, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
                lines += chunk.count(b"\n")
        key, size = h.hexdigest()[:16], "%dl" % lines
        entry = os.path.join(cache_dir, "%snsec3-%s-%s.zone" % (ZONE, size, key))
        try:
            with open(entry + ".json") as f:
                meta = json.load(f)
            if (meta.get("key") == key and os.path.isfile(entry)
                    and meta["expiration"] - time.time() > CACHE_MIN_LEFT):
                place(entry, dst)
                log("signed zone from the cache: %s (signed %s in %.0f s)"
                    % (entry, meta.get("signed_at", "?"), meta["sign_s"]))
                return {"records": meta["records"], "sign_s": meta["sign_s"], "cached": True,
                        "expiration": meta["expiration"]}
        except (OSError, ValueError, KeyError):
            pass
    out = dst
    if key:
        # Signed straight into the cache (no second copy of hundreds of
        # MB), then linked to dst; a folder we cannot write: into dst.
        try:
            os.makedirs(cache_dir, exist_ok=True)
            for old in glob.glob(os.path.join(cache_dir, "%snsec3-%s-*" % (ZONE, size))):
                os.unlink(old)
            out = entry + ".partial-%d" % os.getpid()
        except OSError as e:
            log("cannot use the cache folder %s: %s" % (cache_dir, e))
            key = None
    log("signing %s with NSEC3 (ldns-signzone %s)..." % (src, " ".join(SIGN_OPTIONS)))
    try:
        sign_s, expiration = sign_zone(src, out, workdir)
        records = count_records(out)
        if key:
            os.rename(out, entry)
            with open(entry + ".json", "w") as f:
                json.dump({"key": key, "records": records, "sign_s": round(sign_s, 1),
                           "expiration": expiration, "options": SIGN_OPTIONS,
                           "algorithm": KEY_ALGORITHM,
                           "signed_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}, f)
            log("cached the signed zone as %s" % entry)
            place(entry, dst)
    finally:
        if out != dst and os.path.exists(out):
            os.unlink(out)  # a signer that failed or was interrupted
    log("signed: %d records in %.1f s" % (records, sign_s))
    return {"records": records, "sign_s": sign_s, "cached": False, "expiration": expiration}
