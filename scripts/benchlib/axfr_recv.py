#!/usr/bin/env python3
"""A cheap AXFR receiver for --axfr: sends one AXFR query over TCP and reads
the answer's frames as fast as they come, without parsing the records
(kdig's parsing, not the server, would be the limit on a 2-core machine).

What it checks: every message is a response (QR) with our ID and RCODE
NOERROR; the first record of the first message is the zone's SOA; the
stream ends with that SOA again (the first message whose last 20 octets
are the SOA's serial, refresh, retry, expire and minimum is walked record
by record, and it ends the stream only if its last record is that SOA);
the records counted from the ANCOUNT of every message. Nothing else of
the records is looked at.

Run as a program (pinned by the bench to the load generator's CPU):

    axfr_recv.py HOST PORT ZONE [TIMEOUT_S]

prints one JSON object: ok, error, seconds (from sending the query until
the closing SOA was read), first_s (until the first message), messages,
records, octets (TCP payload, length prefixes included), serial,
largest (the longest message), cpu_s (the receiver's own CPU over the
transfer, its start-up left out)."""
import json
import random
import socket
import struct
import sys
import time

SOA, AXFR, IN = 6, 252, 1


def skip_name(m, i):
    while True:
        n = m[i]
        if n & 0xC0 == 0xC0:
            return i + 2
        if n == 0:
            return i + 1
        i += 1 + n


def walk(m, first=False):
    """[(type, rdata offset, rdata length)] of every answer record of one
    message (the question skipped)."""
    qd, an = struct.unpack_from(">HH", m, 4)
    i = 12
    for _ in range(qd):
        i = skip_name(m, i) + 4
    out = []
    for _ in range(an):
        i = skip_name(m, i)
        rtype, _cls, _ttl, rdlen = struct.unpack_from(">HHIH", m, i)
        i += 10
        out.append((rtype, i, rdlen))
        i += rdlen
        if first:
            break
    if i > len(m):
        raise ValueError("a record runs past the end of its message")
    return out


def query(qid, zone):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in zone.rstrip(".").split("."):
        if label:
            q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", AXFR, IN)


def axfr(host, port, zone, timeout=600.0):
    """Transfer `zone` from host:port over TCP; see the module's text."""
    res = {"ok": False, "error": None, "seconds": None, "first_s": None, "messages": 0,
           "records": 0, "octets": 0, "serial": None, "largest": 0}
    qid = random.randint(0, 65535)
    q = query(qid, zone)
    deadline = time.monotonic() + timeout
    s = socket.create_connection((host, port), timeout=min(timeout, 30))
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = bytearray(4 << 20)
        view = memoryview(buf)
        start = end = 0
        tail = None  # the SOA's last 20 octets
        t0, c0 = time.monotonic(), time.process_time()
        s.sendall(struct.pack(">H", len(q)) + q)
        while True:
            # One frame: 2 octets of length, then the message.
            while True:
                if end - start >= 2:
                    mlen = buf[start] << 8 | buf[start + 1]
                    if end - start >= 2 + mlen:
                        break
                if len(buf) - end < 70000:  # room for a whole frame: compact
                    buf[0:end - start] = buf[start:end]
                    end -= start
                    start = 0
                if time.monotonic() > deadline:
                    raise TimeoutError("transfer not over after %.0f s" % timeout)
                n = s.recv_into(view[end:])
                if n == 0:
                    raise ConnectionError("the server closed the connection before the "
                                          "closing SOA (%d messages, %d records)"
                                          % (res["messages"], res["records"]))
                end += n
                res["octets"] += n
            m = view[start + 2:start + 2 + mlen]
            start += 2 + mlen
            if mlen < 12:
                raise ValueError("a message of %d octets" % mlen)
            mid, flags, _qd, an = struct.unpack_from(">HHHH", m, 0)
            if mid != qid or not flags & 0x8000:
                raise ValueError("message %d: not a response to our query" % res["messages"])
            if flags & 15:
                raise ValueError("message %d: RCODE %d" % (res["messages"], flags & 15))
            res["messages"] += 1
            res["records"] += an
            res["largest"] = max(res["largest"], mlen)
            if tail is None:
                res["first_s"] = time.monotonic() - t0
                recs = walk(m, first=True)
                if not recs or recs[0][0] != SOA:
                    raise ValueError("the first record is not a SOA")
                _t, off, rdlen = recs[0]
                tail = bytes(m[off + rdlen - 20:off + rdlen])
                res["serial"] = struct.unpack(">I", tail[:4])[0]
                if an < 2:
                    continue
            if an and bytes(m[-20:]) == tail:
                recs = walk(m)
                t, off, rdlen = recs[-1]
                if t == SOA and bytes(m[off + rdlen - 20:off + rdlen]) == tail:
                    res["seconds"] = time.monotonic() - t0
                    res["cpu_s"] = time.process_time() - c0
                    res["ok"] = True
                    return res
    finally:
        s.close()


def main():
    host, port, zone = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 600.0
    try:
        res = axfr(host, port, zone, timeout)
    except (OSError, ValueError, struct.error, IndexError, TimeoutError) as e:
        res = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
    print(json.dumps(res))
    return 0 if res.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
