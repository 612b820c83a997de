"""The zone every server serves and the queries dnsperf sends.

The zone bench.test. has --names hosts (an A and an AAAA each) plus MX,
TXT, CNAMEs, a wildcard and a delegation with glue; the load test pads it
with TXT records to --load-records. The dnsperf query file has
QUERY_LINES lines in exactly the shares of MIX, shuffled. Both are
generated from fixed seeds, so every run and every server sees the same
data."""
import random

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
