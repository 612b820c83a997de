"""Just enough DNS over UDP to see whether a server answers and in what
shape: free loopback ports, a query in wire form (with DO=1 on request),
one query and its response: header, and the types of each section's
records and the owners of its NSEC and NSEC3 records (the proofs)."""
import random
import socket
import struct
import time


def free_port():
    """A loopback port free for both UDP and TCP (the peers bind both)."""
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free loopback port")


QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "DS": 43,
          "RRSIG": 46, "NSEC": 47, "DNSKEY": 48, "NSEC3": 50, "NSEC3PARAM": 51}
TYPE_NAMES = {v: k for k, v in QTYPES.items()}
TYPE_NAMES[41] = "OPT"
EDNS_SIZE = 4096  # as dnsperf -e/-D: its advertised UDP payload size
DO_BIT = 0x8000  # in the OPT record's TTL field, low 16 bits (RFC 3225)


def dns_query(qid, name, qtype, do=False):
    """A query in wire form as dnsperf sends it: no RD; without `do` no
    EDNS (dnsperf's default), with it an OPT record with DO=1 (dnsperf -D)."""
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1 if do else 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", QTYPES[qtype], 1)
    if do:
        # Root owner, TYPE OPT, CLASS = payload size, TTL = ext-rcode,
        # version, flags (DO), RDLENGTH 0.
        q += b"\0" + struct.pack(">HHHHH", 41, EDNS_SIZE, 0, DO_BIT, 0)
    return q


def skip_name(r, i):
    """The offset just past the (possibly compressed) name at r[i]."""
    while True:
        n = r[i]
        if n & 0xC0 == 0xC0:
            return i + 2
        if n == 0:
            return i + 1
        i += 1 + n


def read_name(r, i):
    """The name at r[i], compression followed, lower case, with a final dot."""
    labels, hops = [], 0
    while hops < 128:  # a bound on pointer loops
        n = r[i]
        if n & 0xC0 == 0xC0:
            i, hops = (n & 0x3F) << 8 | r[i + 1], hops + 1
            continue
        if n == 0:
            break
        labels.append(r[i + 1:i + 1 + n].decode("ascii", "replace").lower())
        i += 1 + n
    return ".".join(labels) + "."


def sections(r):
    """[(types, proof owners)] for the answer, authority and additional
    sections of response r: the type name of each record in order, and the
    owner names of the NSEC and NSEC3 records. The OPT record is left out."""
    qd, an, ns, ar = struct.unpack(">HHHH", r[4:12])
    i = 12
    for _ in range(qd):
        i = skip_name(r, i) + 4
    out = []
    for count in (an, ns, ar):
        types, owners = [], []
        for _ in range(count):
            start = i
            i = skip_name(r, i)
            rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", r[i:i + 10])
            i += 10 + rdlen
            if rtype == 41:
                continue
            types.append(TYPE_NAMES.get(rtype, "TYPE%d" % rtype))
            if rtype in (47, 50):
                owners.append(read_name(r, start))
        out.append((types, owners))
    return out


def ask(port, name, qtype="A", timeout=0.2, do=False):
    """One UDP query to 127.0.0.1:port (with DO=1 if `do`). Returns the
    response as a dict (rcode, aa, tc, an, ns, ar, size, and `sections`:
    see sections(), None if it does not parse) or None when nothing came
    back."""
    qid = random.randint(0, 65535)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.connect(("127.0.0.1", port))
        s.send(dns_query(qid, name, qtype, do))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = s.recv(65535)
            if len(r) < 12 or (r[0] << 8 | r[1]) != qid or not r[2] & 0x80:
                continue
            an, ns, ar = struct.unpack(">HHH", r[6:12])
            try:
                secs = sections(r)
            except (IndexError, struct.error):
                secs = None
            return {"rcode": r[3] & 15, "aa": bool(r[2] & 4), "tc": bool(r[2] & 2),
                    "an": an, "ns": ns, "ar": ar, "size": len(r), "sections": secs}
    except OSError:
        return None
    finally:
        s.close()
    return None
