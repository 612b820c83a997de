"""The report on stdout: the machine and versions line, and the Markdown
tables of the throughput rounds and of the zone load test (medians, with
notes on how to read them). --spread, --restart and --reload print their
own tables (spread.py, handover.py)."""
import os
import platform
import statistics
import subprocess

from .servers import BIN, FLOORS, NO_DNSSEC, ROOT


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "%s, %d cores, Linux %s (load average %.2f at start)" % (
        model, os.cpu_count() or 0, platform.release(), os.getloadavg()[0])


def versions():
    out = []
    for pkg in ("dnsperf", "nsd", "knot", "gdnsd"):
        try:
            v = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True,
                               text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            v = ""
        if v:
            out.append("%s %s" % (pkg, v))
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if os.environ.get("SHOAL_BIN"):
            # Another build measured as shoal: this tree says little about it.
            out.insert(0, "shoal SHOAL_BIN=%s (this tree at %s%s)" % (
                os.environ["SHOAL_BIN"], head, ", src/ modified" if dirty else ""))
        else:
            out.insert(0, "shoal %s%s" % (head, " (src/ modified)" if dirty else ""))
    except (OSError, subprocess.TimeoutExpired):
        pass
    if BIN["shoal-base"]:
        # The commit checked out where the baseline binary lies (a build in
        # a worktree of an older commit): a hint, as the binary may be older.
        try:
            head = subprocess.run(["git", "-C", os.path.dirname(BIN["shoal-base"]), "rev-parse",
                                   "--short", "HEAD"], capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            head = ""
        out.insert(1 if out and out[0].startswith("shoal ") else 0, "shoal-base %s%s" % (
            BIN["shoal-base"], " (in a tree at %s)" % head if head else ""))
    return ", ".join(out)


def print_throughput(args, records, results, failed, kinds, csv_path, shape_diffs, notes=None):
    notes = notes or {}

    def med(name, key):
        return statistics.median(x[key] for x in results[name])

    def ratios(floor_kind):
        """(CPU/query over floor_kind's, median over median, and the median
        of each round's ratio to floor_kind's run of the same round), as
        functions of a server kind; "-" where there is no floor."""
        floor = med(floor_kind, "ns_per_q") if results.get(floor_kind) else None
        by_round = {x["round"]: x["ns_per_q"] for x in results.get(floor_kind, [])}

        def overall(name):
            return med(name, "ns_per_q") / floor if floor else None

        def paired(name):
            # The floor's run of the same round ran next to this one: the
            # machine's drift over the whole run (the floor itself moves by
            # 10-15% between rounds) cancels out of each round's ratio.
            r = [x["ns_per_q"] / by_round[x["round"]] for x in results[name]
                 if x["round"] in by_round]
            return statistics.median(r) if r else None
        return overall, paired

    def fmt(v):
        return "-" if v is None else "%.2f" % v

    floor_all, floor_round = ratios("floor")
    pad_all, pad_round = ratios("floor-padded")
    padded = "floor-padded" in kinds
    sizes = padded or args.dnssec
    print("### Throughput%s: zone of %s records%s, %d × %d s rounds, medians" % (
        " with DNSSEC (NSEC3, DO=1)" if args.dnssec else "", format(records, ","),
        " (%s unsigned)" % format(notes["unsigned_records"], ",")
        if "unsigned_records" in notes else "", args.rounds, args.duration))
    print()
    print("| server | answered q/s | server CPU ns/query | × floor | × floor, per round %s"
          "| server CPU busy | dnsperf CPU busy | queries lost | RcvbufErrors | peak RSS (MB) |"
          % ("| × padded floor | × padded floor, per round " if padded else "") +
          (" mean response (B) |" if sizes else ""))
    print("|---|---:|---:|---:|---:|%s---:|---:|---:|---:|---:|%s" % (
        "---:|---:|" if padded else "", "---:|" if sizes else ""))
    ncols = 10 + (2 if padded else 0) + (1 if sizes else 0)
    for kind in kinds:
        if kind in failed or not results.get(kind):
            print("| %s | %s |%s" % (kind, "not measured" if args.dnssec and kind in NO_DNSSEC
                                     else "failed", " |" * (ncols - 2)))
            continue
        ns = med(kind, "ns_per_q")
        cells = [kind, format(round(med(kind, "qps")), ","), format(round(ns), ","),
                 fmt(floor_all(kind)), fmt(floor_round(kind))]
        if padded:
            cells += [fmt(pad_all(kind)), fmt(pad_round(kind))]
        cells += ["%.0f%%" % (100 * med(kind, "cpu_busy")),
                  "%.0f%%" % (100 * med(kind, "perf_busy")),
                  format(round(med(kind, "lost")), ","), format(round(med(kind, "rcvbuf")), ","),
                  "%.1f" % max(x["hwm_mb"] for x in results[kind])]
        if sizes:
            got = [x["resp_bytes"] for x in results[kind] if x.get("resp_bytes")]
            cells.append("%.0f" % statistics.median(got) if got else "-")
        print("| " + " | ".join(cells) + " |")
    print()
    for kind in kinds:
        if kind in failed:
            print("- %s: %s." % (kind, failed[kind]))
    flags = " -D" if args.dnssec else (" -e" if args.edns else "")
    print("- dnsperf `-c %d -q %d -t %d%s` over UDP (%s), pinned to CPU %s; each server pinned "
          "to CPU %s with %d worker thread(s); rounds interleaved across servers after a %d s "
          "warm-up each." % (args.clients, args.outstanding, args.timeout, flags,
                              "EDNS with DO=1" if args.dnssec else
                              "EDNS" if args.edns else "no EDNS",
                              args.perf_cpus, args.srv_cpus, args.threads, args.warmup))
    if args.dnssec:
        print("- The zone signed with NSEC3 (no salt, 0 extra iterations, opt-out off), an ECDSA "
              "P-256 KSK and ZSK (ldns-keygen), `ldns-signzone -n -a 1 -t 0` in %.1f s; "
              "signatures valid from a day before the run to a year after. Each server serves "
              "the signed file as it is (Knot with `dnssec-signing: off`)."
              % notes.get("sign_s", 0))
    print("- × floor: the median CPU/query over the floor's median; per round: the median of "
          "each round's CPU/query over the floor's in the same round (the two ran one after "
          "the other, so slow drift of the shared machine cancels out).")
    if padded:
        print("- × padded floor: the same over floor-padded, the echo floor with every reply "
              "padded with zeros to %s octets: %s's mean response size over one pass of the "
              "whole query file (`dnsperf -n 1%s`) before the rounds, so that the floor moves "
              "as many bytes as %s does. Mean response (B): dnsperf's average response size "
              "in the rounds (the floor's is the echoed query)."
              % (notes.get("pad", "?"), notes.get("pad_from", "shoal"), flags,
                 notes.get("pad_from", "shoal")))
    if args.cpu_quota:
        print("- Each server ran in its own cgroup allowed %g%% of one CPU (CFS bandwidth: %g ms "
              "of every 100 ms): a server busy at about that share was saturated, the "
              "bottleneck, with dnsperf's CPU to spare." % (args.cpu_quota, args.cpu_quota))
    print("- Server CPU: utime+stime of all the server's processes and threads over the round, "
          "per answered query; busy: that time over the run time. A server below ~95% busy "
          "(without --cpu-quota) was not saturated: dnsperf (its own CPU column) was the limit. "
          "Queries lost and "
          "RcvbufErrors (/proc/net/snmp, system-wide) are medians per round; peak RSS is VmHWM "
          "summed over the server's processes.")
    noisy = sorted({x["server"] for k in results for x in results[k]
                    if x["other_busy"] > args.max_other})
    if noisy:
        print("- Other processes used more than %.0f%% of the machine during some rounds of: %s,"
              " even after %d retries (other_busy in the CSV): treat those numbers with care."
              % (100 * args.max_other, ", ".join(noisy), args.retries))
    if shape_diffs:
        print("- Answers differ in shape (rcode, flags, record types per section%s) for: "
              % (", proof owners" if args.dnssec else "") + "; ".join(shape_diffs) + ".")
    else:
        print("- Every DNS server answered one query of each kind of the mix%s in the same "
              "shape (rcode, flags, record types per section%s)."
              % (" with DO=1" if args.dnssec else "", ", NSEC3 owners" if args.dnssec else ""))
    if args.dnssec and results.get("shoal"):
        target(results, pad_all, pad_round)
    print("- Raw rounds: `%s`" % csv_path)


def target(results, pad_all, pad_round):
    """Issue 18's performance target for --dnssec, checked on this run:
    CPU per query ahead of NSD and Knot, at most 1.10× the padded floor,
    no query lost."""
    def ns(kind):
        return statistics.median(x["ns_per_q"] for x in results[kind])
    parts, met = [], True
    for peer in ("nsd", "knot"):
        if results.get(peer):
            ok = ns("shoal") < ns(peer)
            met &= ok
            parts.append("%s than %s (%s vs %s ns/query)" % (
                "less CPU per query" if ok else "NOT less CPU per query", peer,
                format(round(ns("shoal")), ","), format(round(ns(peer)), ",")))
    pa, pr = pad_all("shoal"), pad_round("shoal")
    if pa is not None:
        ok = pa <= 1.10 and pr <= 1.10
        met &= ok
        parts.append("%.2f× (per round %.2f×) the padded floor%s" % (
            pa, pr, "" if ok else ", over 1.10×"))
    lost = sum(x["lost"] for x in results["shoal"])
    met &= lost == 0
    parts.append("%d queries lost in all its rounds" % lost)
    print("- Issue 18's target (CPU per query ahead of NSD and Knot, at most 1.10× the padded "
          "floor, 0 lost): %s in this run: %s." % ("met" if met else "NOT met", "; ".join(parts)))


def print_load(args, records, rows, failed, kinds, csv_path, notes=None):
    notes = notes or {}
    allcpus = ",".join(map(str, sorted(os.sched_getaffinity(0))))
    both = allcpus != args.srv_cpus

    def med(kind, key, cpus=args.srv_cpus):
        return statistics.median(x[key] for x in rows[kind] if x["cpus"] == cpus)

    print()
    print("### Zone load%s: %s records%s, %d round(s), medians" % (
        ", signed with NSEC3" if args.dnssec else "", format(records, ","),
        " (%s unsigned), %.0f MB" % (format(notes["unsigned_records"], ","), notes["size_mb"])
        if "unsigned_records" in notes else "", args.rounds))
    print()
    print("| server | start until answering (s) | %sRSS after load (MB) | PSS after load (MB) "
          "| peak RSS (MB) |" % ("with CPUs %s (s) | " % allcpus if both else ""))
    print("|---|---:|%s---:|---:|---:|" % ("---:|" if both else ""))
    for kind in kinds:
        if kind in FLOORS:
            continue
        if kind not in rows:
            print("| %s | %s | | | |%s" % (kind, "not measured" if args.dnssec and kind in NO_DNSSEC
                                          else "failed", " |" if both else ""))
            continue
        print("| %s | %.2f | %s%.0f | %.0f | %.0f |" % (
            kind, med(kind, "seconds"), ("%.2f | " % med(kind, "seconds", allcpus)) if both else "",
            med(kind, "rss_mb"), med(kind, "pss_mb"),
            max(x["hwm_mb"] for x in rows[kind] if x["cpus"] == args.srv_cpus)))
    print()
    for kind in kinds:
        if kind in failed:
            print("- %s: %s." % (kind, failed[kind]))
    print("- From exec to the first answer for the zone's last host (polled every 10 ms), "
          "the server on CPU %s (and, in its own column, on CPUs %s). RSS and PSS (from the "
          "runs on CPU %s) summed over the server's processes half a second later (PSS counts "
          "the pages forked processes share once); peak is VmHWM."
          % (args.srv_cpus, allcpus, args.srv_cpus))
    if "sign_s" in notes:
        print("- The zone: the load test's unsigned zone signed with NSEC3 as in the throughput "
              "test (`ldns-signzone -n -a 1 -t 0`, ECDSA P-256 KSK and ZSK); signing took %.0f s%s."
              % (notes["sign_s"], " when it was cached (this run took it from --sign-cache)"
                 if notes.get("cached") else " in this run"))
    up = notes.get("update")
    if up and "error" in up:
        print("- Update of the loaded zone (shoal-zone-update-bench): failed: %s." % up["error"])
    elif up:
        print("- Update of the loaded zone (shoal-zone-update-bench, shoal's versioned store): "
              "%s new versions of %s record changes each (the SOA serial and address "
              "replacements, as an IXFR brings them), from the first change to the committed "
              "version: median %s ms, worst %s ms; resident memory %.0f MB after the load, "
              "%.0f MB after the updates with the first version still held (%s versions alive)."
              % (up["updates"], up["changes_per_update"], up["update_ms_median"],
                 up["update_ms_max"], int(up["rss_loaded_kib"]) / 1024.0,
                 int(up["rss_after_updates_kib"]) / 1024.0, up["versions_alive"]))
    noisy = sorted({x["server"] for k in rows for x in rows[k] if x["other_busy"] > args.max_other})
    if noisy:
        print("- Other processes used more than %.0f%% of the machine while these loaded: %s "
              "(other_busy in the CSV)." % (100 * args.max_other, ", ".join(noisy)))
    print("- Raw rounds: `%s`" % csv_path)


def print_axfr(args, out):
    """--axfr's tables: what one AXFR of the load test's zone cost each
    server (CPU, time, memory), then what it did to dnsperf's queries."""
    rows, warm, failed = out["rows"], out["warm"], out["failed"]
    notes = out["notes"]

    def med(kind, key):
        v = [x[key] for x in rows[kind] if x.get(key) is not None]
        return statistics.median(v) if v else None

    def f(v, p=2):
        return "-" if v is None else "%.*f" % (p, v)

    print()
    print("### Zone transfer out (AXFR over TCP)%s: %s records%s, %.0f MB of zone file, "
          "%d round(s), medians" % (
              ", signed with NSEC3" if args.dnssec else "", format(out["records"], ","),
              " (%s unsigned)" % format(notes["unsigned_records"], ",")
              if "unsigned_records" in notes else "", notes["size_mb"], args.rounds))
    print()
    print("| server | server CPU per transfer (s) | transfer (s) | records/s | messages | MB sent "
          "| receiver CPU (s) | RSS before (MB) | peak during (MB) | after (MB) "
          "| growth, worst round (MB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in out["kinds"]:
        if kind not in rows:
            print("| %s | failed |%s" % (kind, " |" * 9))
            continue
        ok = [x for x in rows[kind] if x.get("ok")]
        if not ok:
            print("| %s | failed |%s" % (kind, " |" * 9))
            continue
        growth = max(max(x["rss_peak_mb"], x["rss_after_mb"]) - x["rss_before_mb"] for x in ok)
        secs = med(kind, "seconds")
        print("| %s | %s | %s | %s | %s | %s | %s | %.1f | %.1f | %.1f | %+.1f |" % (
            kind, f(med(kind, "cpu_s")), f(secs),
            format(round(med(kind, "records") / secs), ",") if secs else "-",
            format(round(med(kind, "messages")), ","), f(med(kind, "octets") / 1e6, 1),
            f(med(kind, "recv_cpu_s")), med(kind, "rss_before_mb"), med(kind, "rss_peak_mb"),
            med(kind, "rss_after_mb"), growth))
    print()
    print("Under dnsperf at a fixed %s q/s (%d s runs; the transfer starts after 1 s):"
          % (format(args.axfr_rate, ","), out.get("length", 0)))
    print()
    print("| server | transfer under load (s) | server CPU during it (s) "
          "| queries lost, all rounds | latency mean / max (ms) "
          "| without a transfer: lost, mean / max (ms) |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in out["kinds"]:
        if kind not in rows:
            print("| %s | failed | | | | |" % kind)
            continue
        rr = rows[kind]
        lost = sum(x["lost"] for x in rr if x.get("lost") is not None)
        blost = sum(x["base_lost"] for x in rr if x.get("base_lost") is not None)
        print("| %s | %s | %s | %d | %s / %s | %d, %s / %s |" % (
            kind, f(med(kind, "load_seconds")), f(med(kind, "load_cpu_s")), lost,
            f(ms1(med(kind, "lat_avg")), 3), f(ms1(med(kind, "lat_max"))), blost,
            f(ms1(med(kind, "base_lat_avg")), 3), f(ms1(med(kind, "base_lat_max")))))
    print()
    for kind in out["kinds"]:
        if kind in failed:
            print("- %s: %s." % (kind, failed[kind]))
        for x in rows.get(kind, []):
            if x.get("error"):
                print("- %s, round %d: %s." % (kind, x["round"], x["error"]))
        past = [x["round"] for x in rows.get(kind, []) if x.get("load_past_run")]
        if past:
            print("- %s: under load the transfer ended after dnsperf's run (round%s %s): "
                  "lost and latency cover only its first %d s." % (
                      kind, "s" if len(past) > 1 else "", ", ".join(map(str, past)),
                      out.get("length", 0) - 1))
        if kind in rows and any(x.get("ok") and x["records"] != out["records"] + 1
                                for x in rows[kind]):
            print("- %s sent %s records, not %s (the zone's and the closing SOA)." % (
                kind, ", ".join(sorted({format(x["records"], ",") for x in rows[kind]})),
                format(out["records"] + 1, ",")))
    print("- Each server on CPU %s (one thread or process per protocol: shoal and Knot "
          "%d UDP + %d TCP workers, NSD %d server process(es)), serving the zone to 127.0.0.0/8 "
          "without TSIG; the receiver (scripts/benchlib/axfr_recv.py: reads the frames, counts "
          "messages and records, checks the first record and the last are the SOA, parses "
          "nothing else) and dnsperf on CPU %s."
          % (args.srv_cpus, args.threads, args.threads, args.threads, args.perf_cpus))
    print("- Server CPU: utime+stime of all the server's processes (/proc/PID/stat) from just "
          "before the query to %.1f s after the closing SOA, for a transfer alone; transfer: "
          "from sending the query to reading the closing SOA, as the receiver saw it. A "
          "transfer during which other processes used more than %.0f%% of the machine was run "
          "again (up to %d times), the quietest kept. One unmeasured transfer per server "
          "before the rounds." % (0.3, 100 * args.max_other, args.retries))
    print("- RSS: VmRSS summed over the server's processes just before the query, sampled "
          "every 50 ms during the transfer (peak) and 1 s after the closing SOA; growth = the "
          "larger of peak and after, less before, in the worst round.")
    w = {k: v for k, v in warm.items() if v.get("ok")}
    if w:
        print("- Warm-up transfers (not in the medians): %s." % "; ".join(
            "%s %.2f s CPU, %.2f s, RSS %.1f -> peak %.1f -> %.1f MB" % (
                k, v["cpu_s"], v["seconds"], v["rss_before_mb"], v["rss_peak_mb"],
                v["rss_after_mb"]) for k, v in w.items()))
    print("- Under load: dnsperf -Q %d (-c %d -q %d -t %d) against the same server during one "
          "transfer; server CPU during it: from the query to 0.3 s after the closing SOA, "
          "the queries answered meanwhile included; lost = dnsperf's \"Queries lost\"; "
          "latency = dnsperf's average and max over the whole run; the last column is the "
          "same run without a transfer, right after."
          % (args.axfr_rate, args.clients, args.outstanding, args.timeout))
    axfr_target(out)
    if "sign_s" in notes:
        print("- The zone: the load test's zone signed with NSEC3 (%s)." % (
            "from --sign-cache" if notes.get("cached") else "signed in this run"))
    noisy = sorted({x["server"] for k in rows for x in rows[k]
                    if x.get("other_busy", 0) > args.max_other})
    if noisy:
        print("- Other processes still used more than %.0f%% of the machine during the kept "
              "transfer of: %s (other_busy in the CSV)." % (100 * args.max_other,
                                                             ", ".join(noisy)))
    print("- Raw rounds (round 0: the warm-up): `%s`" % out["csv"])


def ms1(v):
    return None if v is None else v * 1000


GROWTH_TOLERANCE = 0.01  # of the RSS before: "no growth" allows 1%


def axfr_target(out):
    """The issue's target for --axfr, checked on this run: shoal the least
    server CPU per transfer of the three, no memory growth during the
    transfer (within GROWTH_TOLERANCE), 0 queries lost."""
    rows = out["rows"]
    if not rows.get("shoal"):
        return

    def cpu(kind):
        return statistics.median(x["cpu_s"] for x in rows[kind] if x.get("ok"))
    parts, met = [], True
    for peer in ("knot", "nsd"):
        if any(x.get("ok") for x in rows.get(peer, [])):
            ok = cpu("shoal") < cpu(peer)
            met &= ok
            parts.append("%s than %s (%.2f vs %.2f s)" % (
                "less CPU" if ok else "NOT less CPU", peer, cpu("shoal"), cpu(peer)))
    sh = [x for x in rows["shoal"] if x.get("ok")]
    growth = max(max(x["rss_peak_mb"], x["rss_after_mb"]) - x["rss_before_mb"] for x in sh)
    before = min(x["rss_before_mb"] for x in sh)
    ok = growth <= GROWTH_TOLERANCE * before
    met &= ok
    parts.append("RSS grew at most %.1f MB (%s 1%% of %.0f MB)" % (
        growth, "within" if ok else "MORE than", before))
    lost = sum(x["lost"] or 0 for x in rows["shoal"])
    met &= lost == 0 and all(x.get("lost") is not None for x in rows["shoal"])
    parts.append("%d queries lost" % lost)
    print("- The issue's target (shoal the least server CPU per transfer of the three, no "
          "memory growth, 0 lost): %s in this run: %s." % ("met" if met else "NOT met",
                                                           "; ".join(parts)))


def print_xfr_latency(args, out):
    """--xfr-latency's table: from SIGHUP to shoal answering the change, and
    to the Knot secondary answering it."""
    print()
    print("### Change to secondary (NOTIFY, then IXFR): shoal primary, knotd secondary, zone of "
          "%s records, %d changes" % (format(out["records"], ","), len(out["changes"])))
    print()
    if out.get("error"):
        print("Failed: %s." % out["error"])
        return
    ch = out["changes"]

    def stats(key):
        v = [x[key] for x in ch if x[key] is not None]
        if not v:
            return "-", "-", len(ch)
        return ("%.1f" % (statistics.median(v) * 1000), "%.1f" % (max(v) * 1000),
                len(ch) - len(v))
    print("| answered by | median (ms) | worst (ms) | changes not seen within %.0f s |" % 10)
    print("|---|---:|---:|---:|")
    for label, key in (("shoal (its reload)", "shoal_s"), ("knotd secondary", "knot_s")):
        m, w, miss = stats(key)
        print("| %s | %s | %s | %d |" % (label, m, w, miss))
    print()
    v = [x["knot_s"] for x in ch if x["knot_s"] is not None]
    if v and len(v) == len(ch):
        print("- Target (median under 100 ms at the secondary): %s (%.1f ms)." % (
            "met" if statistics.median(v) < 0.1 else "NOT met", statistics.median(v) * 1000))
    print("- Each change: one host's A record and the SOA serial edited in the zone file "
          "(written whole, renamed into place), SIGHUP to shoal, then shoal and knotd asked "
          "for the host every 2 ms over UDP until each answers the new address; from the "
          "SIGHUP. shoal on CPU %s, knotd on CPU %s; logs: `%s`, `%s`."
          % (args.srv_cpus, args.perf_cpus, out.get("shoal_log"), out.get("knot_log")))
