"""The load: dnsperf runs and what each costs the server, the interleaved
throughput rounds (with retries of noisy rounds and the raw CSV), and the
zone load test (seconds from exec until the server answers for the last
name of a big zone, and its memory once loaded). With --dnssec both zones
are signed with NSEC3 and dnsperf sets DO=1; the padded floor's reply size
is shoal's mean response size over one pass of the query file."""
import csv
import os
import subprocess
import sys
import time

from . import log
from .proc import (HZ, children_cpu, cpu_list, cpu_stat, proc_times, quota_cgroup,
                   rcvbuf_errors, top_others)
from .servers import (FLOORS, LOAD_TIMEOUT, NO_DNSSEC, START_TIMEOUT, UPDATE_BENCH, check_answers,
                      start_server)
from .zones import (FIXED_RECORDS, QUERY_LINES, ZONE, gen_queries, gen_zone, signed_zone,
                    zone_records)


def dnsperf_flags(args):
    """dnsperf's EDNS flags: -D (DO=1, which implies EDNS) with --dnssec,
    -e (EDNS alone) with --edns, else none."""
    return ["-D"] if args.dnssec else (["-e"] if args.edns else [])


def dnsperf_cmd(port, qfile, duration, cpus, args, once=False, rate=None):
    """dnsperf's command line: see run_dnsperf; `rate`: at most that many
    queries per second (-Q), a fixed load rather than saturation."""
    ncpu = len(cpu_list(cpus))
    cmd = ["taskset", "-c", cpus, "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", qfile,
           "-c", str(args.clients), "-q", str(args.outstanding), "-t", str(args.timeout)]
    cmd += ["-n", "1"] if once else ["-l", str(duration)]
    if rate:
        cmd += ["-Q", str(rate)]
    if ncpu > 1:
        cmd += ["-T", str(ncpu)]
    return cmd + dnsperf_flags(args)


def parse_dnsperf(returncode, stdout, stderr):
    """dnsperf's summary as a dict: sent, completed, lost, qps, runtime,
    rc_<RCODE>, req_bytes and resp_bytes (mean sizes), lat_avg, lat_min,
    lat_max and lat_sd (seconds). Raises RuntimeError when it has none."""
    res = {}
    for line in stdout.splitlines():
        w = line.split()
        if line.strip().startswith("Queries sent:"):
            res["sent"] = int(w[2])
        elif line.strip().startswith("Queries completed:"):
            res["completed"] = int(w[2])
        elif line.strip().startswith("Queries lost:"):
            res["lost"] = int(w[2])
        elif line.strip().startswith("Queries per second:"):
            res["qps"] = float(w[3])
        elif line.strip().startswith("Run time (s):"):
            res["runtime"] = float(w[3])
        elif line.strip().startswith("Response codes:"):
            for name, count in zip(w[2::3], w[3::3]):
                res["rc_" + name] = int(count)
        elif line.strip().startswith("Average packet size:"):
            # "Average packet size:  request 45, response 312" (octets)
            res["req_bytes"] = int(w[4].rstrip(","))
            res["resp_bytes"] = int(w[6])
        elif line.strip().startswith("Average Latency (s):"):
            # "Average Latency (s):  0.000106 (min 0.000013, max 0.001540)"
            try:
                res["lat_avg"] = float(w[3])
                res["lat_min"] = float(w[5].rstrip(","))
                res["lat_max"] = float(w[7].rstrip(")"))
            except (IndexError, ValueError):
                pass
        elif line.strip().startswith("Latency StdDev (s):"):
            try:
                res["lat_sd"] = float(w[3])
            except (IndexError, ValueError):
                pass
    if "completed" not in res or "qps" not in res:
        raise RuntimeError("dnsperf failed (status %d):\n%s%s" % (returncode, stdout, stderr))
    return res


def run_dnsperf(port, qfile, duration, cpus, args, once=False, rate=None):
    """dnsperf against 127.0.0.1:port for `duration` seconds, pinned to
    `cpus` (a thread per CPU); with `once`, through the query file once
    instead (-n 1); with `rate`, at most that many queries per second.
    Returns its summary (parse_dnsperf)."""
    cmd = dnsperf_cmd(port, qfile, duration, cpus, args, once, rate)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + args.timeout + 60)
    return parse_dnsperf(p.returncode, p.stdout, p.stderr)


def measure(srv, qfile, duration, cpus, args):
    """One dnsperf run against srv, and what it cost: the server's CPU per
    answered query and share of its CPUs, everything its CPUs did per
    query, dnsperf's CPU share, other processes' share of the machine and
    the busiest of them, steal, RcvbufErrors and socket drops, peak RSS."""
    c0, r0, d0 = srv.cpu_ticks(), rcvbuf_errors(), srv.socket_drops()
    k0, p0, t0, a0 = cpu_stat(), children_cpu(), time.monotonic(), proc_times()
    res = run_dnsperf(srv.port, qfile, duration, cpus, args)
    k1, p1, t1, a1 = cpu_stat(), children_cpu(), time.monotonic(), proc_times()
    res["top_others"] = top_others(a0, a1, set(srv.pids()) | {os.getpid()})
    c1, r1, d1 = srv.cpu_ticks(), rcvbuf_errors(), srv.socket_drops()
    if srv.proc.poll() is not None:
        raise RuntimeError("%s died during the round (log: %s)" % (srv.name, srv.logpath))
    done = max(res["completed"], 1)
    runtime = max(res.get("runtime", duration), 1e-3)
    srv_cpus, perf_cpus = cpu_list(args.srv_cpus), cpu_list(cpus)
    cpu_s = (c1 - c0) / HZ
    res["ns_per_q"] = cpu_s * 1e9 / done
    res["cpu_busy"] = cpu_s / runtime / len(srv_cpus)
    # Everything the server's CPUs did, softirq and ksoftirqd included.
    busy = sum(k1[c][0] - k0[c][0] for c in srv_cpus) / HZ
    res["srv_cpus_ns_per_q"] = busy * 1e9 / done
    # dnsperf's CPU over the whole wall time: it keeps running after its
    # run time while it waits out the queries still in flight.
    res["perf_busy"] = (p1 - p0) / (t1 - t0) / len(perf_cpus)
    # CPU time used by neither the server nor dnsperf (others on the
    # machine: a noisy round), and stolen by the hypervisor.
    allbusy = sum(k1[c][0] - k0[c][0] for c in k1 if c in k0) / HZ
    wall = (t1 - t0) * len(k1)
    res["other_busy"] = max(0.0, allbusy - cpu_s - (p1 - p0)) / wall
    res["steal"] = sum(k1[c][1] - k0[c][1] for c in k1 if c in k0) / HZ / wall
    res["rcvbuf"] = r1 - r0
    res["sock_drops"] = d1 - d0
    res["hwm_mb"] = srv.status_kb("VmHWM") / 1024.0
    res["nxdomain_pct"] = 100.0 * res.get("rc_NXDOMAIN", 0) / done
    return res


def make_zone(args, tmp, zonedir, names, pad=0, cache_dir=None):
    """zonedir/bench.test.zone with `names` hosts and `pad` TXT records,
    signed with --dnssec (the unsigned text and the keys in a folder of
    its own beside zonedir). Returns (records served, notes: a dict with
    unsigned_records, sign_s and cached when signed)."""
    zfile = os.path.join(zonedir, ZONE + "zone")
    if not args.dnssec:
        return gen_zone(zfile, names, pad=pad), {}
    signdir = zonedir.rstrip("/") + "-unsigned"
    os.makedirs(signdir, exist_ok=True)
    src = os.path.join(signdir, ZONE + "zone")
    unsigned = gen_zone(src, names, pad=pad)
    try:
        got = signed_zone(src, zfile, signdir, cache_dir)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        sys.exit("bench: --dnssec: cannot sign the zone: %s" % e)
    os.unlink(src)  # the signed zone is what is served; keep no second copy
    return got["records"], {"unsigned_records": unsigned, "sign_s": got["sign_s"],
                            "cached": got["cached"]}


def start_all(args, tmp, kinds, zonedir, failed, pad=0):
    """Start each of kinds on zonedir (each in its own --cpu-quota cgroup);
    the servers that answer, in order; the others go into failed."""
    servers = []
    for kind in kinds:
        if args.dnssec and kind in NO_DNSSEC:
            failed[kind] = NO_DNSSEC[kind]
            continue
        # --cpu-quota: each server in its own cgroup, capped below what
        # dnsperf can send, so the server is the bottleneck (saturated).
        try:
            cg = quota_cgroup(kind, args.cpu_quota) if args.cpu_quota else None
        except OSError as e:
            sys.exit("bench: --cpu-quota: cannot make a cgroup with a CPU limit: %s" % e)
        srv, t = start_server(kind, os.path.join(tmp, kind), zonedir, args.threads,
                              args.srv_cpus, "h0." + ZONE, START_TIMEOUT, cgroup=cg, pad=pad)
        if srv is None:
            log("%s: %s; reported as failed" % (kind, t))
            failed[kind] = t
            continue
        log("%s: answering on 127.0.0.1:%d after %.2f s%s" % (
            kind, srv.port, t, " (replies padded to %d octets)" % pad if pad else ""))
        servers.append(srv)
    return servers


def padded_floor_size(args, servers, qfile, notes):
    """The padded floor's reply size: the mean response size of shoal (or,
    when shoal is not running, of the first DNS server) over one pass of
    the whole query file (dnsperf -n 1), so exactly the mix's mean. None
    when no DNS server answered. Sets notes["pad"] and notes["pad_from"]."""
    order = sorted((s for s in servers if s.name not in FLOORS),
                   key=lambda s: s.name != "shoal")
    for srv in order:
        try:
            res = run_dnsperf(srv.port, qfile, 120, args.perf_cpus, args, once=True)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            log("%s: measuring the mean response size failed: %s" % (srv.name, e))
            continue
        if not res.get("resp_bytes"):
            continue
        notes["pad"], notes["pad_from"] = res["resp_bytes"], srv.name
        log("mean response size of %s over the query file (%d answered): %d octets "
            "(queries %d)" % (srv.name, res["completed"], res["resp_bytes"],
                              res.get("req_bytes", 0)))
        return res["resp_bytes"]
    return None


def throughput(args, tmp, kinds):
    """Start every kind on the --names zone (signed with --dnssec), check
    their answers agree, start the padded floor at shoal's mean response
    size, warm each up, then --rounds rounds interleaved across servers,
    each round's figures written to rounds.csv as it ends. Returns
    (records, {kind: [round]}, {kind: reason it failed}, csv path, answer
    shape differences, notes: see make_zone and padded_floor_size)."""
    zonedir = os.path.join(tmp, "zones")
    os.makedirs(zonedir, exist_ok=True)
    records, notes = make_zone(args, tmp, zonedir, args.names)
    qfile = os.path.join(tmp, "queries.txt")
    gen_queries(qfile, args.names)
    log("zone %s: %d records%s; %d queries in %s" % (
        ZONE, records, " (signed with NSEC3: %d unsigned, %.1f s to sign)" % (
            notes["unsigned_records"], notes["sign_s"]) if notes else "", QUERY_LINES, qfile))

    failed = {}
    servers = start_all(args, tmp, [k for k in kinds if k != "floor-padded"], zonedir, failed)
    shape_diffs = check_answers(servers, do=args.dnssec)
    if "floor-padded" in kinds:
        pad = padded_floor_size(args, servers, qfile, notes)
        if pad is None:
            failed["floor-padded"] = "no DNS server answered to measure the mean response size"
        else:
            servers += start_all(args, tmp, ["floor-padded"], zonedir, failed, pad=pad)
            servers.sort(key=lambda s: kinds.index(s.name))  # rounds in the order of kinds

    if args.warmup > 0:
        for srv in servers:
            try:
                run_dnsperf(srv.port, qfile, args.warmup, args.perf_cpus, args)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                log("%s: warm-up failed: %s" % (srv.name, e))

    results = {s.name: [] for s in servers}
    csv_path = os.path.join(tmp, "rounds.csv")
    fields = ["round", "server", "qps", "ns_per_q", "cpu_busy", "perf_busy", "srv_cpus_ns_per_q",
              "other_busy", "steal", "sent", "completed", "lost", "rcvbuf", "sock_drops", "hwm_mb",
              "nxdomain_pct", "req_bytes", "resp_bytes", "runtime", "attempts", "top_others"]
    with open(csv_path, "w", newline="") as cf:
        w = csv.writer(cf)
        w.writerow(fields)
        for r in range(args.rounds):
            for srv in list(servers):
                res = None
                # On a shared machine other work can take the CPUs mid-round:
                # such a round is run again (bounded), the quietest kept.
                for attempt in range(1 + args.retries):
                    try:
                        got = measure(srv, qfile, args.duration, args.perf_cpus, args)
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        log("%s: round %d failed: %s" % (srv.name, r + 1, e))
                        res = None
                        break
                    got["attempts"] = attempt + 1
                    if res is None or got["other_busy"] < res["other_busy"]:
                        res = got
                    if got["other_busy"] <= args.max_other:
                        break
                    log("round %d/%d %s: other processes used %.0f%% of the machine (%s); %s"
                        % (r + 1, args.rounds, srv.name, 100 * got["other_busy"],
                           got["top_others"] or "exited before the round ended",
                           "running it again" if attempt < args.retries else "kept the quietest"))
                if res is None:
                    failed[srv.name] = "failed in round %d (log: %s)" % (r + 1, srv.logpath)
                    servers.remove(srv)
                    srv.stop()
                    continue
                results[srv.name].append(res)
                res["round"], res["server"] = r + 1, srv.name
                w.writerow([("%.3f" % res[k]) if isinstance(res.get(k), float) else res.get(k, "")
                            for k in fields])
                cf.flush()
                log("round %d/%d %-5s %8.0f q/s %6.0f ns/q (CPU %s: %6.0f) busy %3.0f%%, "
                    "dnsperf %3.0f%%, others %2.0f%%; lost %d rcvbuf %d drops %d"
                    % (r + 1, args.rounds, srv.name, res["qps"], res["ns_per_q"], args.srv_cpus,
                       res["srv_cpus_ns_per_q"], 100 * res["cpu_busy"], 100 * res["perf_busy"],
                       100 * res["other_busy"], res["lost"], res["rcvbuf"], res["sock_drops"]))
    for srv in servers:
        srv.stop()
    return records, results, failed, csv_path, shape_diffs, notes


def load_test(args, tmp, kinds):
    """Start each server on a --load-records zone (signed with NSEC3 with
    --dnssec: from the cache folder when signed before), --rounds times
    interleaved: seconds until it answers a name in the zone, and its
    memory once loaded. Returns (records, {kind: [row]}, {kind: error},
    csv, notes: unsigned_records, sign_s, cached and size_mb)."""
    zonedir = os.path.join(tmp, "load-zones")
    os.makedirs(zonedir, exist_ok=True)
    target = args.load_records
    names = max(1, (target - FIXED_RECORDS - 1000) // 2)
    pad = max(0, target - zone_records(names))
    records, notes = make_zone(args, tmp, zonedir, names, pad=pad, cache_dir=args.cache_dir)
    size_mb = os.path.getsize(os.path.join(zonedir, ZONE + "zone")) / 1e6
    notes["size_mb"] = size_mb
    log("load test zone: %d records, %.0f MB of zone file" % (records, size_mb))
    rows, failed = {}, {}
    if args.dnssec:
        failed.update((k, NO_DNSSEC[k]) for k in kinds if k in NO_DNSSEC)
    csv_path = os.path.join(tmp, "load.csv")
    fields = ["round", "server", "cpus", "seconds", "rss_mb", "pss_mb", "hwm_mb", "other_busy"]
    # Pinned to the servers' CPU as in the throughput runs, and again with
    # every CPU, as a server would load on a real machine (shoal parses a
    # big file with one thread per CPU it may use).
    allcpus = ",".join(map(str, sorted(os.sched_getaffinity(0))))
    cpusets = [args.srv_cpus] + ([allcpus] if allcpus != args.srv_cpus else [])
    with open(csv_path, "w", newline="") as cf:
        w = csv.writer(cf)
        w.writerow(fields)
        for r, kind, cpus in ((r, k, c) for r in range(args.rounds) for k in kinds
                              for c in cpusets):
                if kind in FLOORS or kind in failed:
                    continue
                k0, t0, me0 = cpu_stat(), time.monotonic(), os.times()
                # The last host: a server that answers it has read the whole file.
                srv, t = start_server(kind, os.path.join(tmp, "load-%s-%d-%s" % (
                                          kind, r + 1, cpus.replace(",", "_"))),
                                      zonedir, args.threads, cpus,
                                      "h%d.%s" % (names - 1, ZONE), LOAD_TIMEOUT)
                if srv is None:
                    log("load %s: %s" % (kind, t))
                    failed[kind] = t
                    continue
                k1, t1, me1 = cpu_stat(), time.monotonic(), os.times()
                # The machine's busy time while it loaded, less its own and
                # this script's polling: other processes (a noisy load).
                mine = (me1.user + me1.system) - (me0.user + me0.system)
                allbusy = sum(k1[c][0] - k0[c][0] for c in k1 if c in k0) / HZ
                other_busy = max(0.0, allbusy - srv.cpu_ticks() / HZ - mine) / max(
                    (t1 - t0) * len(k1), 1e-3)
                time.sleep(0.5)  # let forked children settle before reading memory
                row = {"round": r + 1, "server": kind, "cpus": cpus, "seconds": t,
                       "rss_mb": srv.status_kb("VmRSS") / 1024.0, "pss_mb": srv.pss_kb() / 1024.0,
                       "hwm_mb": srv.status_kb("VmHWM") / 1024.0, "other_busy": other_busy}
                srv.stop()
                rows.setdefault(kind, []).append(row)
                w.writerow([("%.3f" % row[k]) if isinstance(row[k], float) else row[k]
                            for k in fields])
                cf.flush()
                log("load %d/%d %-5s CPU %s: answering after %.2f s; RSS %.0f MB, PSS %.0f MB, "
                    "peak %.0f MB; other processes used %.0f%% of the machine meanwhile"
                    % (r + 1, args.rounds, kind, cpus, t, row["rss_mb"], row["pss_mb"],
                       row["hwm_mb"], 100 * other_busy))
    if "shoal" in kinds and os.access(UPDATE_BENCH, os.X_OK):
        notes["update"] = update_test(args, os.path.join(zonedir, ZONE + "zone"))
    return records, rows, failed, csv_path, notes


UPDATES, CHANGES = 50, 10  # versions made, record changes in each (an IXFR's size)


def update_test(args, path):
    """shoal-zone-update-bench on the load-test zone, pinned as the servers
    are: UPDATES new versions of CHANGES changes each (the SOA serial and
    address replacements), the first version held throughout. Returns its
    key/value output, or {"error": why}."""
    cmd = ["taskset", "-c", args.srv_cpus, UPDATE_BENCH, path, ZONE, str(UPDATES), str(CHANGES)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=LOAD_TIMEOUT * 2)
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}
    if r.returncode:
        return {"error": (r.stderr.strip().splitlines() or ["exit %d" % r.returncode])[-1]}
    out = dict(line.split(None, 1) for line in r.stdout.splitlines() if " " in line)
    log("update: %s updates of %s changes: median %s ms, worst %s ms; RSS %s -> %s KiB"
        % (out.get("updates"), out.get("changes_per_update"), out.get("update_ms_median"),
           out.get("update_ms_max"), out.get("rss_loaded_kib"), out.get("rss_after_updates_kib")))
    return out
