"""Zone transfers out: --axfr (what serving an AXFR of the load test's zone
costs each server, and what it does to the queries answered meanwhile) and
--xfr-latency (how soon a Knot secondary notified by shoal answers a
change made to shoal's zone file).

--axfr: shoal, Knot and NSD each serve the load test's 1.25M-record zone
(signed with --dnssec), transferable by 127.0.0.0/8 without TSIG, on the
servers' CPU. The receiver is axfr_recv.py on the load generator's CPU: it
reads the frames and checks the stream ends with the SOA, without parsing
every record, so that it keeps up. Per server and round (interleaved
across servers, after one unmeasured warm-up transfer each):

  quiet:   one AXFR alone: server CPU (utime+stime of all its processes
           from /proc/PID/stat, before the query and 0.3 s after the
           closing SOA), wall time seen by the receiver, the receiver's
           own CPU, records and messages; the server's VmRSS (summed over
           its processes) before, sampled every 50 ms during, and 1 s
           after. A transfer during which other processes used more than
           --max-other of the machine is run again (--retries), the
           quietest kept;
  loaded:  dnsperf at a fixed rate (--axfr-rate, default 20,000 q/s) for a
           few seconds with one AXFR started after the first second:
           queries lost, dnsperf's latency (mean and max), the transfer's
           wall time under that load;
  base:    the same dnsperf run without a transfer, for its latency.

--xfr-latency: shoal, primary of a zone of --names hosts, notifies a knotd
secondary (zone `notify:` with a `remote:`; Knot's acl lets it in without
TSIG); 20 times a host's address is changed and the serial bumped in the
zone file, shoal gets SIGHUP, and shoal and Knot are asked every 2 ms
(UDP, bounded) until each answers the new address."""
import csv
import json
import os
import pwd
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

from . import log, proc
from .dns import dns_query, free_port
from .load import dnsperf_cmd, make_zone, parse_dnsperf
from .proc import HZ, cpu_stat, proc_times, top_others
from .servers import BIN, LOAD_TIMEOUT, START_TIMEOUT, Server, start_server
from .zones import FIXED_RECORDS, ZONE, gen_queries, gen_zone, zone_records

AXFR_KINDS = ("shoal", "shoal-base", "knot", "nsd")  # the kinds that serve AXFR
RECV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "axfr_recv.py")
RSS_EVERY = 0.05  # s: VmRSS sampling period during a transfer
CPU_SETTLE = 0.3  # s after the closing SOA before the server's CPU is read
RSS_SETTLE = 1.0  # s after the closing SOA before "RSS after" is read
XFR_TIMEOUT = 600  # s: a transfer not over by then has failed
LEAD = 1.0  # s of dnsperf before the transfer starts (loaded runs)


class RssSampler(threading.Thread):
    """VmRSS summed over pids every RSS_EVERY s until stop(): peak, samples."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids, self.peak, self.samples = pids, 0, 0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            self.peak = max(self.peak, proc.status_kb(self.pids, "VmRSS"))
            self.samples += 1
            self.halt.wait(RSS_EVERY)

    def stop(self):
        self.halt.set()
        self.join()


def transfer(srv, args):
    """One AXFR of ZONE from srv by axfr_recv.py pinned to the load
    generator's CPU, and what it cost the server. Returns a dict: the
    receiver's fields (ok, error, seconds, first_s, messages, records,
    octets, serial, largest), cpu_s (server), recv_cpu_s (the receiver's
    own, over the transfer), rss_before_mb,
    rss_peak_mb, rss_after_mb, samples, other_busy, top_others."""
    pids = srv.pids()
    rss0 = proc.status_kb(pids, "VmRSS")
    sampler = RssSampler(pids)
    sampler.start()
    c0, k0, a0, t0 = proc.cpu_ticks(pids), cpu_stat(), proc_times(), time.monotonic()
    me0, ch0 = os.times(), proc.children_cpu()
    p = subprocess.run(["taskset", "-c", args.perf_cpus, sys.executable, RECV, "127.0.0.1",
                        str(srv.port), ZONE, str(XFR_TIMEOUT)], capture_output=True, text=True,
                       timeout=XFR_TIMEOUT + 30)
    ch1 = proc.children_cpu()
    time.sleep(CPU_SETTLE)
    c1, k1, a1, t1, me1 = proc.cpu_ticks(pids), cpu_stat(), proc_times(), time.monotonic(), \
        os.times()
    time.sleep(max(0.0, RSS_SETTLE - CPU_SETTLE))
    sampler.stop()
    rss1 = proc.status_kb(pids, "VmRSS")
    try:
        res = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        res = {"ok": False, "error": "receiver: %s" % (p.stderr.strip() or p.returncode)}
    recv_all = ch1 - ch0  # with the interpreter's start-up
    res["recv_cpu_s"] = res.pop("cpu_s", None)
    res["cpu_s"] = (c1 - c0) / HZ
    res["rss_before_mb"] = rss0 / 1024.0
    res["rss_peak_mb"] = max(sampler.peak, rss0, rss1) / 1024.0
    res["rss_after_mb"] = rss1 / 1024.0
    res["samples"] = sampler.samples
    mine = (me1.user + me1.system) - (me0.user + me0.system)
    allbusy = sum(k1[c][0] - k0[c][0] for c in k1 if c in k0) / HZ
    res["other_busy"] = max(0.0, allbusy - res["cpu_s"] - recv_all - mine) / max(
        (t1 - t0) * len(k1), 1e-3)
    res["top_others"] = top_others(a0, a1, set(pids) | {os.getpid()})
    if srv.proc.poll() is not None:
        res["ok"], res["error"] = False, "%s exited (log: %s)" % (srv.name, srv.logpath)
    return res


def loaded(srv, args, qfile, length, with_transfer):
    """dnsperf at --axfr-rate against srv for `length` s, with one transfer
    started LEAD s in when `with_transfer`. Returns (dnsperf's summary,
    the transfer's dict or None)."""
    cmd = dnsperf_cmd(srv.port, qfile, length, args.perf_cpus, args, rate=args.axfr_rate)
    dp = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    proc.RUNNING.append(dp)
    tr = None
    try:
        time.sleep(LEAD)
        if with_transfer:
            tr = transfer(srv, args)
            # The closing SOA after dnsperf's last query: the run did not
            # cover the whole transfer (the report says so).
            tr["past_run"] = LEAD + tr["seconds"] > length if tr.get("ok") else None
        out, err = dp.communicate(timeout=length + args.timeout + 60)
    finally:
        if dp.poll() is None:
            dp.kill()
            dp.wait()
        proc.RUNNING.remove(dp)
    return parse_dnsperf(dp.returncode, out, err), tr


def axfr_bench(args, tmp, kinds):
    """--axfr: see the module's text. Returns a dict for report.print_axfr:
    records, notes (make_zone's), rows {kind: [round]}, warm {kind:
    warm-up transfer}, failed {kind: why}, length (s of each dnsperf run),
    csv (path)."""
    kinds = [k for k in kinds if k in AXFR_KINDS]
    zonedir = os.path.join(tmp, "load-zones")
    os.makedirs(zonedir, exist_ok=True)
    names = max(1, (args.load_records - FIXED_RECORDS - 1000) // 2)
    pad = max(0, args.load_records - zone_records(names))
    records, notes = make_zone(args, tmp, zonedir, names, pad=pad, cache_dir=args.cache_dir)
    notes["size_mb"] = os.path.getsize(os.path.join(zonedir, "%szone" % ZONE)) / 1e6
    qfile = os.path.join(tmp, "axfr-queries.txt")
    gen_queries(qfile, names)
    log("axfr zone: %d records, %.0f MB of zone file" % (records, notes["size_mb"]))
    out = {"records": records, "notes": notes, "rows": {}, "warm": {}, "failed": {},
           "kinds": kinds}
    servers = []
    for kind in kinds:
        srv, t = start_server(kind, os.path.join(tmp, "axfr-%s" % kind), zonedir, args.threads,
                              args.srv_cpus, "h%d.%s" % (names - 1, ZONE), LOAD_TIMEOUT, xfr=True)
        if srv is None:
            log("%s: %s; reported as failed" % (kind, t))
            out["failed"][kind] = t
            continue
        log("%s: serving the zone on 127.0.0.1:%d after %.1f s" % (kind, srv.port, t))
        servers.append(srv)
    # One unmeasured transfer each (the first may fault in pages), which
    # also says how long the dnsperf runs must be to cover a transfer.
    longest = 0.0
    for srv in list(servers):
        w = transfer(srv, args)
        out["warm"][srv.name] = w
        log("%s: warm-up transfer: %s" % (srv.name, describe(w)))
        if not w.get("ok"):
            out["failed"][srv.name] = "warm-up transfer failed: %s" % w.get("error")
            servers.remove(srv)
            srv.stop()
            continue
        longest = max(longest, w["seconds"])
    length = max(4, int(LEAD + 3 * longest + 2.5))  # a loaded transfer is slower
    out["length"] = length
    csv_path = os.path.join(tmp, "axfr.csv")
    out["csv"] = csv_path
    fields = ["round", "server", "ok", "seconds", "first_s", "cpu_s", "recv_cpu_s", "messages",
              "records", "octets", "largest", "rss_before_mb", "rss_peak_mb", "rss_after_mb",
              "samples", "other_busy", "attempts", "load_ok", "load_seconds", "load_past_run",
              "load_cpu_s",
              "load_rss_before_mb", "load_rss_peak_mb", "load_rss_after_mb", "sent", "completed",
              "lost", "lat_avg", "lat_max", "lat_sd", "base_lost", "base_lat_avg", "base_lat_max",
              "top_others", "error"]
    with open(csv_path, "w", newline="") as cf:
        wr = csv.writer(cf)
        wr.writerow(fields)
        for kind, w in out["warm"].items():
            wr.writerow([0, kind] + [fmt_csv(w.get(k)) for k in fields[2:]])
        for r in range(args.rounds):
            for srv in list(servers):
                best = None
                for attempt in range(1 + args.retries):
                    got = transfer(srv, args)
                    got["attempts"] = attempt + 1
                    if best is None or (got.get("ok") and got["other_busy"] < best["other_busy"]):
                        best = got
                    if not got.get("ok") or got["other_busy"] <= args.max_other:
                        break
                    log("round %d/%d %s: other processes used %.0f%% of the machine during "
                        "the transfer (%s); %s" % (
                            r + 1, args.rounds, srv.name, 100 * got["other_busy"],
                            got["top_others"] or "-",
                            "again" if attempt < args.retries else "kept the quietest"))
                row = dict(best)
                try:
                    d, lt = loaded(srv, args, qfile, length, True)
                    b, _ = loaded(srv, args, qfile, length, False)
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    log("%s: dnsperf failed: %s" % (srv.name, e))
                    d, lt, b = {}, {"ok": False, "error": str(e)}, {}
                row.update({"load_ok": lt.get("ok"), "load_seconds": lt.get("seconds"),
                            "load_past_run": lt.get("past_run"),
                            "load_cpu_s": lt.get("cpu_s"),
                            "load_rss_before_mb": lt.get("rss_before_mb"),
                            "load_rss_peak_mb": lt.get("rss_peak_mb"),
                            "load_rss_after_mb": lt.get("rss_after_mb")})
                for k in ("sent", "completed", "lost", "lat_avg", "lat_max", "lat_sd"):
                    row[k] = d.get(k)
                for k in ("lost", "lat_avg", "lat_max"):
                    row["base_" + k] = b.get(k)
                if not lt.get("ok") and not row.get("error"):
                    row["error"] = "transfer under load: %s" % lt.get("error")
                row["round"], row["server"] = r + 1, srv.name
                out["rows"].setdefault(srv.name, []).append(row)
                wr.writerow([fmt_csv(row.get(k)) for k in fields])
                cf.flush()
                log("round %d/%d %-5s %s | under %d q/s: %s, lost %s, latency avg %s max %s ms "
                    "(without the transfer: lost %s, avg %s max %s ms)" % (
                        r + 1, args.rounds, srv.name, describe(row), args.axfr_rate,
                        "%.2f s" % lt["seconds"] if lt.get("ok") else "FAILED",
                        row.get("lost"), ms(row.get("lat_avg")), ms(row.get("lat_max")),
                        row.get("base_lost"), ms(row.get("base_lat_avg")),
                        ms(row.get("base_lat_max"))))
    for srv in servers:
        srv.stop()
    return out


def fmt_csv(v):
    return "%.4f" % v if isinstance(v, float) else ("" if v is None else v)


def ms(v):
    return "-" if v is None else "%.2f" % (v * 1000)


def describe(w):
    if not w.get("ok"):
        return "FAILED: %s" % w.get("error")
    return ("%d records in %d messages (%.1f MB) in %.2f s, server CPU %.2f s, receiver CPU "
            "%.2f s; RSS %.1f -> peak %.1f -> %.1f MB; others %.0f%%" % (
                w["records"], w["messages"], w["octets"] / 1e6, w["seconds"], w["cpu_s"],
                w["recv_cpu_s"], w["rss_before_mb"], w["rss_peak_mb"], w["rss_after_mb"],
                100 * w["other_busy"]))


# ---- --xfr-latency ---------------------------------------------------------

CHANGES = 20  # edits made, one record and the serial each
POLL_EVERY = 0.002  # s between questions to the servers
CHANGE_TIMEOUT = 10.0  # s: a change not seen by then is counted as missed


def ask_a(sock, port, name, qid):
    """One A query for `name` to 127.0.0.1:port on `sock` (non-blocking,
    bound). Returns nothing: answers are read by read_a."""
    try:
        sock.sendto(dns_query(qid, name, "A"), ("127.0.0.1", port))
    except OSError:
        pass


def a_of(r):
    """The first A record's address in response r, or None."""
    if len(r) < 12 or not r[2] & 0x80 or r[3] & 15:
        return None
    qd, an = struct.unpack(">HH", r[4:8])
    i = 12
    try:
        for _ in range(qd):
            while r[i] and r[i] & 0xC0 != 0xC0:
                i += 1 + r[i]
            i += 2 + 4 if r[i] & 0xC0 == 0xC0 else 1 + 4
        for _ in range(an):
            while r[i] and r[i] & 0xC0 != 0xC0:
                i += 1 + r[i]
            i += 2 if r[i] & 0xC0 == 0xC0 else 1
            rtype, _c, _t, rdlen = struct.unpack(">HHIH", r[i:i + 10])
            i += 10
            if rtype == 1 and rdlen == 4:
                return socket.inet_ntoa(r[i:i + 4])
            i += rdlen
    except (IndexError, struct.error):
        return None
    return None


def wait_for(targets, name, want, timeout):
    """Ask each of targets ({label: port}) for `name` A every POLL_EVERY s
    until it answers `want`. Returns {label: seconds or None}."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    by_port = {p: k for k, p in targets.items()}
    seen = {k: None for k in targets}
    t0 = time.monotonic()
    qid = 0
    try:
        while time.monotonic() - t0 < timeout and any(v is None for v in seen.values()):
            for k, p in targets.items():
                if seen[k] is None:
                    qid = (qid + 1) & 0xFFFF
                    ask_a(s, p, name, qid)
            tick = time.monotonic() + POLL_EVERY
            while time.monotonic() < tick:
                try:
                    r, addr = s.recvfrom(65535)
                except BlockingIOError:
                    time.sleep(0.0002)
                    continue
                except OSError:
                    continue
                k = by_port.get(addr[1])
                if k and seen[k] is None and a_of(r) == want:
                    seen[k] = time.monotonic() - t0
    finally:
        s.close()
    return seen


def xfr_latency_bench(args, tmp):
    """--xfr-latency: see the module's text. Returns a dict for
    report.print_xfr_latency."""
    names = args.names
    wd = os.path.join(tmp, "xfr-latency")
    zonedir = os.path.join(wd, "zones")
    storage = os.path.join(wd, "storage")
    for d in (wd, zonedir, storage):
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
    # shoal's journals live in the zone's storage, which belongs to the
    # user it runs as (shoal, else nobody, when started as root).
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("shoal")
        except KeyError:
            pw = pwd.getpwnam("nobody")
        os.chown(storage, pw.pw_uid, pw.pw_gid)
    zfile = os.path.join(zonedir, "%szone" % ZONE)
    records = gen_zone(zfile, names)
    os.chmod(zfile, 0o644)
    with open(zfile) as f:
        lines = f.read().split("\n")
    soa_i = next(i for i, ln in enumerate(lines) if " SOA " in ln)
    sport, kport = free_port(), free_port()
    out = {"records": records, "names": names, "changes": [], "error": None}
    sdir, kdir = os.path.join(wd, "shoal"), os.path.join(wd, "knot")
    for d in (sdir, kdir, os.path.join(kdir, "db"), os.path.join(kdir, "zones")):
        os.makedirs(d, exist_ok=True)
    sconf = os.path.join(sdir, "shoal.yaml")
    with open(sconf, "w") as f:
        f.write("""server:
  listen: 127.0.0.1@{sport}
  threads: {threads}
  control: {sdir}/shoal.sock
remote:
  - id: knot
    address: 127.0.0.1@{kport}
acl:
  - id: local
    address: 127.0.0.0/8
    action: transfer
template:
  - id: default
    storage: {storage}
zone:
  - domain: {zone}
    file: {zfile}
    acl: [local]
    notify: [knot]
""".format(sport=sport, kport=kport, threads=args.threads, sdir=sdir, storage=storage,
           zone=ZONE, zfile=zfile))
    os.chmod(sconf, 0o644)
    kconf = os.path.join(kdir, "knot.conf")
    with open(kconf, "w") as f:
        f.write("""server:
    rundir: "{kdir}"
    pidfile: "{kdir}/knot.pid"
    listen: 127.0.0.1@{kport}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: info
remote:
  - id: primary
    address: 127.0.0.1@{sport}
acl:
  - id: notify-from-primary
    address: 127.0.0.1
    action: notify
database:
    storage: "{kdir}/db"
template:
  - id: default
    storage: "{kdir}/zones"
    master: primary
    acl: [notify-from-primary]
    zonefile-sync: -1
    zonefile-load: none
    journal-content: all
    semantic-checks: off
zone:
  - domain: {zone}
""".format(kdir=kdir, kport=kport, sport=sport, zone=ZONE))
    shoal = Server("shoal", [BIN["shoal"], "--config", sconf], sport, sdir)
    knot = Server("knot", [shutil.which("knotd") or "knotd", "-c", kconf], kport, kdir)
    try:
        shoal.start(args.srv_cpus)
        if shoal.wait_answering("h0." + ZONE, "A", START_TIMEOUT) is None:
            out["error"] = "shoal did not start: %s (log: %s)" % (shoal.error, shoal.logpath)
            return out
        # Knot on the other CPU, as a secondary on another machine would be.
        knot.start(args.perf_cpus)
        if knot.wait_answering("h%d.%s" % (names - 1, ZONE), "A", LOAD_TIMEOUT) is None:
            out["error"] = "knotd did not get the zone: %s (log: %s)" % (knot.error,
                                                                        knot.logpath)
            return out
        log("xfr-latency: shoal on :%d, knotd secondary on :%d has the zone (%d records)"
            % (sport, kport, records))
        time.sleep(1.0)
        changes = 3 if args.quick else CHANGES
        for i in range(1, changes + 1):
            host = (i * 7919) % names
            want = "198.51.100.%d" % i
            hline = next(j for j in range(soa_i, len(lines))
                         if lines[j].startswith("h%d A " % host))
            lines[hline] = "h%d A %s" % (host, want)
            lines[soa_i] = "@ SOA ns1 hostmaster %d 7200 3600 1209600 300" % (1 + i)
            with open(zfile + ".new", "w") as f:
                f.write("\n".join(lines))
            os.chmod(zfile + ".new", 0o644)
            os.rename(zfile + ".new", zfile)
            t0 = time.monotonic()
            os.kill(shoal.proc.pid, signal.SIGHUP)
            seen = wait_for({"shoal": sport, "knot": kport}, "h%d.%s" % (host, ZONE), want,
                            CHANGE_TIMEOUT)
            out["changes"].append({"i": i, "serial": 1 + i, "shoal_s": seen["shoal"],
                                   "knot_s": seen["knot"]})
            log("xfr-latency change %d/%d (serial %d): shoal answers it after %s ms, knotd "
                "after %s ms" % (i, changes, 1 + i, ms(seen["shoal"]), ms(seen["knot"])))
            time.sleep(0.3)  # Knot's answer to the NOTIFY and its transfer settle
    finally:
        knot.stop()
        shoal.stop()
    out["shoal_log"], out["knot_log"] = shoal.logpath, knot.logpath
    return out


def median_ms(vals):
    v = [x for x in vals if x is not None]
    return statistics.median(v) * 1000 if v else None
