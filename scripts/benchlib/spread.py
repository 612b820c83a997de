"""--spread: how evenly shoal's socket modes and --steer settings spread one
dnsperf load over its worker threads (per-thread counts from shoal's
/metrics), with 1 to 256 client sockets, then the locality runs with one
worker pinned per CPU; optionally a gnuplot bar chart."""
import argparse
import csv
import os
import shutil
import statistics
import subprocess

from . import log
from .dns import free_port
from .load import measure
from .servers import BIN, START_TIMEOUT, Server
from .zones import ZONE, gen_queries, gen_zone

SPREAD_MODES = [  # (label, shoal flags)
    ("reuseport hash", ["--steer", "hash"]),
    ("reuseport random", ["--steer", "random"]),
    ("reuseport cpu", ["--steer", "cpu", "--cpu-affinity"]),
    ("shared socket", ["--socket-mode", "shared"]),
]


def metrics_counts(mport):
    """{worker: UDP queries} from shoal's /metrics."""
    import urllib.request
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith('shoal_queries_total{proto="udp",worker="'):
            w = int(line.split('worker="')[1].split('"')[0])
            out[w] = int(line.split()[-1])
    return out


def spread_bench(args, tmp):
    """--spread: the same dnsperf load against shoal in each socket mode and
    steering (SPREAD_MODES), with 1, 8, 64 and 256 client sockets: per-thread
    answered counts, max/min, coefficient of variation, CPU per query."""
    threads = args.spread_threads
    names = min(args.names, 10000)
    zdir = os.path.join(tmp, "zones")
    os.makedirs(zdir, exist_ok=True)
    gen_zone(os.path.join(zdir, ZONE + "zone"), names)
    qfile = os.path.join(tmp, "queries.txt")
    gen_queries(qfile, names)
    rows = []
    csv_path = os.path.join(tmp, "spread.csv")
    for rnd in range(args.rounds):
        for label, flags in SPREAD_MODES:
            for clients in (1, 8, 64, 256):
                wd = os.path.join(tmp, "spread-%s" % label.replace(" ", "-"))
                os.makedirs(wd, exist_ok=True)
                port, mport = free_port(), free_port()
                srv = Server("shoal", [BIN["shoal"], "--zones", zdir, "--listen",
                                       "127.0.0.1:%d" % port, "--threads", str(threads),
                                       "--metrics", "127.0.0.1:%d" % mport] + flags, port, wd)
                srv.start(args.srv_cpus)
                if srv.wait_answering("h0." + ZONE, "A", START_TIMEOUT) is None:
                    srv.stop()
                    raise RuntimeError("shoal %s failed to start: %s" % (label, srv.error))
                a = argparse.Namespace(**vars(args))
                a.clients = clients
                a.outstanding = max(args.outstanding, clients)
                c0 = metrics_counts(mport)
                res = measure(srv, qfile, args.duration, args.perf_cpus, a)
                c1 = metrics_counts(mport)
                srv.stop()
                per = [c1.get(w, 0) - c0.get(w, 0) for w in range(threads)]
                mean = statistics.mean(per)
                cv = statistics.pstdev(per) / mean if mean else 0.0
                row = {"round": rnd + 1, "mode": label, "clients": clients,
                       "qps": res["qps"], "ns_per_q": res["ns_per_q"], "lost": res["lost"],
                       "rcvbuf": res["rcvbuf"], "per_thread": per,
                       "max_min": (max(per) / min(per)) if min(per) > 0 else float("inf"),
                       "cv": cv, "other_busy": res["other_busy"]}
                rows.append(row)
                log("spread round %d %-16s c=%-3d %8.0f q/s %6.0f ns/q lost %d threads %s" % (
                    rnd + 1, label, clients, res["qps"], res["ns_per_q"], res["lost"],
                    "/".join(map(str, per))))
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["round", "mode", "clients", "qps", "ns_per_q", "lost", "rcvbuf", "max_min",
                    "cv", "other_busy"] + ["thread%d" % i for i in range(threads)])
        for r in rows:
            w.writerow([r["round"], r["mode"], r["clients"], "%.0f" % r["qps"],
                        "%.0f" % r["ns_per_q"], r["lost"], r["rcvbuf"], "%.2f" % r["max_min"],
                        "%.3f" % r["cv"], "%.3f" % r["other_busy"]] + r["per_thread"])

    print("### Spread over %d worker threads: socket modes and steering" % threads)
    print()
    print("| mode | client sockets | answered q/s | CPU ns/query | lost | per-thread answered "
          "(median round) | max/min | CV |")
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    best = {}
    for label, _ in SPREAD_MODES:
        for clients in (1, 8, 64, 256):
            rs = [r for r in rows if r["mode"] == label and r["clients"] == clients]
            rs.sort(key=lambda r: r["cv"])
            mid = rs[len(rs) // 2]
            mm = statistics.median([r["max_min"] for r in rs])
            best[(label, clients)] = mid
            print("| %s | %d | %.0f | %.0f | %d | %s | %s | %.2f |" % (
                label, clients, statistics.median([r["qps"] for r in rs]),
                statistics.median([r["ns_per_q"] for r in rs]),
                sum(r["lost"] for r in rs), " / ".join(map(str, mid["per_thread"])),
                "∞" if mm == float("inf") else "%.2f" % mm,
                statistics.median([r["cv"] for r in rs])))
    print()
    print("- %d shoal worker threads on CPU %s, dnsperf on CPU %s, %d s per run, %d round(s) "
          "(medians; lost summed); per-thread counts from shoal's /metrics; max/min = ∞ when a "
          "thread got nothing; CV = standard deviation / mean of the per-thread counts."
          % (threads, args.srv_cpus, args.perf_cpus, args.duration, args.rounds))
    print("- On loopback a datagram is received on the sending CPU (dnsperf's), where no "
          "worker runs: `cpu` steering then falls back to a random worker; it is meant for a "
          "NIC with receive-side scaling.")
    print("- Raw runs: `%s`" % csv_path)
    locality_bench(args, tmp, zdir, qfile)
    if args.plot:
        plot_spread(best, threads, args.plot, tmp)
        print("- Plot: `%s`" % args.plot)


def locality_bench(args, tmp, zdir, qfile):
    """Where `cpu` steering can matter on loopback, where an even spread
    pays, and what a shared socket costs when its readers run on different
    CPUs: shoal with one worker pinned per CPU and dnsperf on every CPU
    too, with few (4) and many (64) client sockets. A datagram is received
    on the CPU of the dnsperf thread that sent it; `cpu` hands it to the
    worker already there, `hash` to the worker its flow hashes to, `random`
    to any; with a shared socket both workers read one queue."""
    cpus = sorted(os.sched_getaffinity(0))
    allcpus = ",".join(map(str, cpus))
    modes = [("hash", ["--steer", "hash", "--cpu-affinity"]),
             ("random", ["--steer", "random", "--cpu-affinity"]),
             ("cpu", ["--steer", "cpu", "--cpu-affinity"]),
             ("shared socket", ["--socket-mode", "shared", "--cpu-affinity"])]
    client_counts = (4, 64)
    rows = {(m, c): [] for m, _ in modes for c in client_counts}
    for rnd in range(args.rounds):
        for clients in client_counts:
            for label, flags in modes:
                wd = os.path.join(tmp, "locality-%s" % label.replace(" ", "-"))
                os.makedirs(wd, exist_ok=True)
                port, mport = free_port(), free_port()
                srv = Server("shoal", [BIN["shoal"], "--zones", zdir, "--listen",
                                       "127.0.0.1:%d" % port, "--threads", str(len(cpus)),
                                       "--metrics", "127.0.0.1:%d" % mport] + flags, port, wd)
                srv.start(allcpus)
                if srv.wait_answering("h0." + ZONE, "A", START_TIMEOUT) is None:
                    srv.stop()
                    raise RuntimeError("shoal %s failed to start: %s" % (label, srv.error))
                a = argparse.Namespace(**vars(args))
                a.clients = clients
                a.outstanding = max(args.outstanding, clients)
                a.srv_cpus = allcpus
                c0 = metrics_counts(mport)
                res = measure(srv, qfile, args.duration, allcpus, a)
                c1 = metrics_counts(mport)
                srv.stop()
                res["per_thread"] = [c1.get(w, 0) - c0.get(w, 0) for w in range(len(cpus))]
                rows[(label, clients)].append(res)
                log("locality round %d %-6s c=%-3d %8.0f q/s %6.0f ns/q lost %d threads %s" % (
                    rnd + 1, label, clients, res["qps"], res["ns_per_q"], res["lost"],
                    "/".join(map(str, res["per_thread"]))))
    print()
    print("Locality: %d workers pinned one per CPU (`--cpu-affinity`), dnsperf on the same "
          "%d CPUs, medians of %d round(s):" % (len(cpus), len(cpus), args.rounds))
    print()
    print("| mode | client sockets | answered q/s | shoal CPU ns/query | lost | "
          "per-thread answered (median round) |")
    print("|---|---:|---:|---:|---:|---|")
    for clients in client_counts:
        for label, _ in modes:
            rs = sorted(rows[(label, clients)], key=lambda r: r["qps"])
            print("| %s | %d | %.0f | %.0f | %d | %s |" % (
                label, clients, statistics.median([r["qps"] for r in rs]),
                statistics.median([r["ns_per_q"] for r in rs]), sum(r["lost"] for r in rs),
                " / ".join(map(str, rs[len(rs) // 2]["per_thread"]))))


def plot_spread(best, threads, path, tmp):
    """Per-thread shares (percent) for each mode at 1, 8 and 64 client sockets,
    as clustered bars (gnuplot, PNG)."""
    if not shutil.which("gnuplot"):
        log("gnuplot is not installed: no plot")
        return
    dat = os.path.join(tmp, "spread.dat")
    with open(dat, "w") as f:
        for clients in (1, 8, 64):
            for label, _ in SPREAD_MODES:
                per = best[(label, clients)]["per_thread"]
                total = max(sum(per), 1)
                f.write('"%s, %d socket%s" %s\n' % (label.replace("reuseport ", ""), clients,
                                                   "" if clients == 1 else "s",
                                                   " ".join("%.1f" % (100.0 * x / total)
                                                            for x in per)))
    gp = os.path.join(tmp, "spread.gp")
    with open(gp, "w") as f:
        f.write("""set terminal pngcairo size 1200,440 font ",10"
set output "%s"
set title "Share of queries per worker thread (%d threads; even = %.0f%%)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "%% of answered queries"
set yrange [0:*]
set xtics rotate by -25 scale 0
set key outside right
set grid ytics
plot "%s" using 2:xtic(1) title "thread 0" %s
""" % (path, threads, 100.0 / threads, dat,
       "".join(', "" using %d title "thread %d"' % (i + 2, i) for i in range(1, threads))))
    subprocess.run(["gnuplot", gp], check=True, timeout=60)
