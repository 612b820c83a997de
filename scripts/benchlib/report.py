"""The report on stdout: the machine and versions line, and the Markdown
tables of the throughput rounds and of the zone load test (medians, with
notes on how to read them). --spread, --restart and --reload print their
own tables (spread.py, handover.py)."""
import os
import platform
import statistics
import subprocess

from .servers import BIN, ROOT


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


def print_throughput(args, records, results, failed, kinds, csv_path, shape_diffs):
    def med(name, key):
        return statistics.median(x[key] for x in results[name])

    floor = med("floor", "ns_per_q") if results.get("floor") else None
    floor_by_round = {x["round"]: x["ns_per_q"] for x in results.get("floor", [])}

    def paired(name):
        # The floor's run of the same round ran next to this one: the
        # machine's drift over the whole run (the floor itself moves by
        # 10-15% between rounds) cancels out of each round's ratio.
        r = [x["ns_per_q"] / floor_by_round[x["round"]] for x in results[name]
             if x["round"] in floor_by_round]
        return "%.2f" % statistics.median(r) if r else "-"

    print("### Throughput: zone of %s records, %d × %d s rounds, medians"
          % (format(records, ","), args.rounds, args.duration))
    print()
    print("| server | answered q/s | server CPU ns/query | × floor | × floor, per round "
          "| server CPU busy | dnsperf CPU busy | queries lost | RcvbufErrors | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in kinds:
        if kind in failed or not results.get(kind):
            print("| %s | failed | | | | | | | | |" % kind)
            continue
        ns = med(kind, "ns_per_q")
        print("| %s | %s | %s | %s | %s | %.0f%% | %.0f%% | %s | %s | %.1f |" % (
            kind, format(round(med(kind, "qps")), ","), format(round(ns), ","),
            "%.2f" % (ns / floor) if floor else "-", paired(kind), 100 * med(kind, "cpu_busy"),
            100 * med(kind, "perf_busy"), format(round(med(kind, "lost")), ","),
            format(round(med(kind, "rcvbuf")), ","), max(x["hwm_mb"] for x in results[kind])))
    print()
    for kind in kinds:
        if kind in failed:
            print("- %s: %s." % (kind, failed[kind]))
    print("- dnsperf `-c %d -q %d -t %d%s` over UDP (%s), pinned to CPU %s; each server pinned "
          "to CPU %s with %d worker thread(s); rounds interleaved across servers after a %d s "
          "warm-up each." % (args.clients, args.outstanding, args.timeout,
                              " -e" if args.edns else "", "EDNS" if args.edns else "no EDNS",
                              args.perf_cpus, args.srv_cpus, args.threads, args.warmup))
    print("- × floor: the median CPU/query over the floor's median; per round: the median of "
          "each round's CPU/query over the floor's in the same round (the two ran one after "
          "the other, so slow drift of the shared machine cancels out).")
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
        print("- Answers differ in shape (rcode/AA/answer/authority/additional records) for: "
              + "; ".join(shape_diffs) + ".")
    print("- Raw rounds: `%s`" % csv_path)


def print_load(args, records, rows, failed, kinds, csv_path):
    allcpus = ",".join(map(str, sorted(os.sched_getaffinity(0))))
    both = allcpus != args.srv_cpus

    def med(kind, key, cpus=args.srv_cpus):
        return statistics.median(x[key] for x in rows[kind] if x["cpus"] == cpus)

    print()
    print("### Zone load: %s records, %d round(s), medians" % (format(records, ","), args.rounds))
    print()
    print("| server | start until answering (s) | %sRSS after load (MB) | PSS after load (MB) "
          "| peak RSS (MB) |" % ("with CPUs %s (s) | " % allcpus if both else ""))
    print("|---|---:|%s---:|---:|---:|" % ("---:|" if both else ""))
    for kind in kinds:
        if kind == "floor":
            continue
        if kind not in rows:
            print("| %s | failed | | | |%s" % (kind, " |" if both else ""))
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
    noisy = sorted({x["server"] for k in rows for x in rows[k] if x["other_busy"] > args.max_other})
    if noisy:
        print("- Other processes used more than %.0f%% of the machine while these loaded: %s "
              "(other_busy in the CSV)." % (100 * args.max_other, ", ".join(noisy)))
    print("- Raw rounds: `%s`" % csv_path)
