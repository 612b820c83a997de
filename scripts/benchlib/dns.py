"""Just enough DNS over UDP to see whether a server answers and in what
shape: free loopback ports, a query in wire form, one query and its
response header."""
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


QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28}


def dns_query(qid, name, qtype):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)  # no RD, no EDNS, as dnsperf
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", QTYPES[qtype], 1)


def ask(port, name, qtype="A", timeout=0.2):
    """One UDP query to 127.0.0.1:port. Returns the response header as a
    dict (rcode, aa, an, ns, ar, size) or None when nothing came back."""
    qid = random.randint(0, 65535)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.connect(("127.0.0.1", port))
        s.send(dns_query(qid, name, qtype))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = s.recv(65535)
            if len(r) < 12 or (r[0] << 8 | r[1]) != qid or not r[2] & 0x80:
                continue
            an, ns, ar = struct.unpack(">HHH", r[6:12])
            return {"rcode": r[3] & 15, "aa": bool(r[2] & 4), "tc": bool(r[2] & 2),
                    "an": an, "ns": ns, "ar": ar, "size": len(r)}
    except OSError:
        return None
    finally:
        s.close()
    return None
