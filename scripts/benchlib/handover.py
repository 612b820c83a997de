"""Queries lost while shoal changes under load: --reload (the zone file
changes and shoal gets SIGHUP, N times) and --restart (shoal is replaced by
a new process with --replace, N times per --steer mode)."""
import os
import signal
import statistics
import subprocess
import threading
import time

from . import log
from .dns import ask, free_port
from .load import run_dnsperf
from .servers import BIN, START_TIMEOUT, Server, start_server
from .zones import ZONE, gen_queries, gen_zone, zone_records


def reload_bench(args, tmp):
    """--reload N: dnsperf against shoal while its zone file alternates
    between two versions and shoal gets SIGHUP after each change, waiting
    each time until the new version answers. Reports queries lost."""
    names = min(args.names, 10000)
    zdir = os.path.join(tmp, "reload-zones")
    os.makedirs(zdir, exist_ok=True)
    os.chmod(zdir, 0o755)
    zfile = os.path.join(zdir, ZONE + "zone")
    gen_zone(zfile, names)
    with open(zfile) as f:
        v1 = f.read()
    v2 = v1.replace(" 1 7200 3600", " 2 7200 3600", 1) + "reloadmark A 192.0.2.99\n"
    qfile = os.path.join(tmp, "reload-queries.txt")
    gen_queries(qfile, names)
    srv, why = start_server("shoal", os.path.join(tmp, "reload"), zdir, args.threads,
                            args.srv_cpus, "h0." + ZONE, START_TIMEOUT)
    print("### Reload under load: %d reloads requested, zone of %d records" %
          (args.reload, zone_records(names)))
    print()
    if srv is None:
        print("shoal failed to start: %s" % why)
        return
    stop = threading.Event()
    times, missed = [], []

    def reloader():
        for i in range(args.reload):
            if stop.is_set():
                break
            text, want = (v2, 0) if i % 2 == 0 else (v1, 3)  # NOERROR / NXDOMAIN
            with open(zfile + ".new", "w") as f:
                f.write(text)
            os.chmod(zfile + ".new", 0o644)
            os.rename(zfile + ".new", zfile)
            t0 = time.monotonic()
            os.kill(srv.proc.pid, signal.SIGHUP)
            while time.monotonic() - t0 < 10:
                r = ask(srv.port, "reloadmark." + ZONE)
                if r and r["rcode"] == want:
                    break
                time.sleep(0.005)
            else:
                missed.append(i)
            times.append(time.monotonic() - t0)

    th = threading.Thread(target=reloader)
    th.start()
    res = run_dnsperf(srv.port, qfile, args.duration * 3, args.perf_cpus, args)
    stop.set()
    th.join()
    srv.stop()
    print("| reloads done | median reload (ms) | queries answered | queries lost | reloads not seen |")
    print("|---:|---:|---:|---:|---:|")
    print("| %d | %.0f | %d | %d | %d |" % (
        len(times), statistics.median(times) * 1000 if times else 0, res["completed"],
        res["lost"], len(missed)))
    print()
    print("- dnsperf for %d s (3 × --duration) against shoal on CPU %s; every reload waited "
          "for until the new version answers; lost = dnsperf's \"Queries lost\"."
          % (args.duration * 3, args.srv_cpus))


RESTART_MODES = [("hash", ["--steer", "hash"]), ("random", ["--steer", "random"]),
                 ("cpu", ["--steer", "cpu", "--cpu-affinity"])]


def restart_bench(args, tmp):
    """--restart N: for each --steer mode, dnsperf against shoal while it is
    replaced N times by a new process (--replace), each time waiting until
    the old one has left. Reports dnsperf's queries lost."""
    names = min(args.names, 10000)
    zdir = os.path.join(tmp, "zones")
    os.makedirs(zdir, exist_ok=True)
    gen_zone(os.path.join(zdir, ZONE + "zone"), names)
    qfile = os.path.join(tmp, "queries.txt")
    gen_queries(qfile, names)
    rows = []
    threads = max(2, args.threads)  # a group of several sockets to steer between
    for label, flags in RESTART_MODES:
        wd = os.path.join(tmp, "restart-%s" % label)
        os.makedirs(wd, exist_ok=True)
        pidfile = os.path.join(wd, "shoal.pid")
        port = free_port()
        base = [BIN["shoal"], "--zones", zdir, "--listen", "127.0.0.1:%d" % port, "--threads",
                str(threads), "--pidfile", pidfile] + flags
        first = Server("shoal", base, port, wd)
        first.start(args.srv_cpus)
        if first.wait_answering("h0." + ZONE, "A", START_TIMEOUT) is None:
            first.stop()
            raise RuntimeError("shoal failed to start: %s" % first.error)
        procs = [first]
        times, failed = [], []
        stop = threading.Event()

        def restarter():
            time.sleep(min(2.0, args.duration / 4))
            for i in range(args.restart):
                if stop.is_set():
                    break
                old = procs[-1]
                new = Server("shoal", base + ["--replace", pidfile], port, wd)
                t0 = time.monotonic()
                new.start(args.srv_cpus)
                procs.append(new)
                try:
                    old.proc.wait(timeout=30)
                    times.append(time.monotonic() - t0)
                except subprocess.TimeoutExpired:
                    failed.append(i)
                if new.proc.poll() is not None:
                    failed.append(i)
                    break
                time.sleep(0.3)

        th = threading.Thread(target=restarter)
        th.start()
        res = run_dnsperf(port, qfile, args.duration * 3, args.perf_cpus, args)
        stop.set()
        th.join()
        for p in procs:
            p.stop()
        log("restart --steer %s: %d handovers, %d answered, %d lost, %d failed" % (
            label, len(times), res["completed"], res["lost"], len(failed)))
        rows.append((label, times, res, failed))
    print("### Restart under load: %d handovers (--replace) requested per mode" % args.restart)
    print()
    print("| --steer | handovers done | median handover (ms) | queries answered | queries lost "
          "| failed |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, times, res, failed in rows:
        print("| %s | %d | %.0f | %d | %d | %d |" % (
            label, len(times), statistics.median(times) * 1000 if times else 0,
            res["completed"], res["lost"], len(failed)))
    print()
    print("- %d shoal threads on CPU %s (`cpu`: with `--cpu-affinity`), dnsperf for %d s "
          "(3 × --duration) at saturation; each handover: a new shoal with --replace starts, "
          "serves, signals the old one, which drains its queues and exits (handover = start "
          "of the new one until the old one exited); lost = dnsperf's \"Queries lost\"." % (
              threads, args.srv_cpus, args.duration * 3))
