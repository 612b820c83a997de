"""The servers under test: which binary each kind runs (building shoal and
the floor first), how each is configured (foreground, as root, no chroot,
nothing written outside its own folder, minimal responses, no response
rate limiting), started pinned to the servers' CPUs in its own session
(and --cpu-quota cgroup), waited for until it answers, and stopped with
everything it forked.

Kinds: "floor" (tests/bench/echo_floor.c: shoal's socket setup and batch
loop with no DNS work; it sends each query back with QR set),
"floor-padded" (the same, each reply padded to shoal's mean response
size: --dnssec, --padded-floor), "shoal",
"shoal-base" (another shoal binary, --baseline, started exactly as shoal
is), "nsd", "knot", "gdnsd"."""
import json
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

from . import log, proc
from .dns import ask, dns_query, free_port
from .zones import SAMPLES, ZONE

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build-bench")
# The program each kind runs. SHOAL_BIN (as the tests use it) measures
# another build as "shoal"; deps_and_build() may point "floor" at a copy it
# compiled itself; --baseline sets "shoal-base".
# What an IXFR-sized update of the versioned zone store costs (load test).
UPDATE_BENCH = os.path.join(BUILD, "tests", "bench", "shoal-zone-update-bench")
BIN = {"floor": os.path.join(BUILD, "tests", "bench", "shoal-echo-floor"),
       "shoal": os.environ.get("SHOAL_BIN") or os.path.join(BUILD, "src", "shoal"),
       "shoal-base": None}


def set_build(path):
    """Build and run shoal and the floor from `path` (--build-dir) instead
    of build-bench/, as a release build (deps_and_build sets it up)."""
    global BUILD, UPDATE_BENCH
    BUILD = os.path.abspath(path)
    UPDATE_BENCH = os.path.join(BUILD, "tests", "bench", "shoal-zone-update-bench")
    BIN["floor"] = os.path.join(BUILD, "tests", "bench", "shoal-echo-floor")
    BIN["shoal"] = os.environ.get("SHOAL_BIN") or os.path.join(BUILD, "src", "shoal")
    from . import load  # it holds its own name for the update bench
    load.UPDATE_BENCH = UPDATE_BENCH


# Every kind, in the order a default run measures them; "shoal-base" only
# with --baseline, "floor-padded" (the floor's binary) only with --dnssec
# or --padded-floor.
ALL_SERVERS = ["floor", "floor-padded", "shoal", "shoal-base", "nsd", "knot", "gdnsd"]
FLOORS = ("floor", "floor-padded")  # no DNS: they echo whatever comes
# Kinds that cannot serve a signed zone, left out of --dnssec runs, and why.
NO_DNSSEC = {"gdnsd": "not measured: gdnsd has no DNSSEC support (it cannot serve a pre-signed "
                      "zone's RRSIGs and NSEC3 proofs)"}

# --axfr: shoal's configuration file (server: keys are the flags' names),
# the zone transferable by loopback clients without TSIG; the control
# socket in its own folder, not the system's.
SHOAL_XFR_CONF = """server:
  listen: {listen}
  threads: {threads}
  control: {workdir}/shoal.sock
acl:
  - id: local
    address: 127.0.0.0/8
    action: transfer
zone:
  - domain: {zone}
    file: {zfile}
    acl: [local]
"""

START_TIMEOUT = 60  # s: a server that does not answer by then has failed
LOAD_TIMEOUT = 600  # s: the same, for the 1.25M-record zone
STOP_TIMEOUT = 10  # s: SIGTERM, then SIGKILL
POLL = 0.01  # s: readiness poll interval (the load test's resolution)


class Server:
    """One server under test: how to start it, its processes, its numbers."""

    def __init__(self, name, argv, port, workdir, env=None):
        self.name, self.argv, self.port, self.workdir = name, argv, port, workdir
        self.env = env
        self.cgroup = None  # cgroup.procs file to start in (--cpu-quota)
        self.proc = None
        self.started = None
        self.logpath = os.path.join(workdir, "%s.log" % name)
        self.error = None

    def start(self, cpus):
        self.logf = open(self.logpath, "ab")
        self.started = time.monotonic()
        procs = self.cgroup

        def enter_cgroup():  # in the child, before exec: what it forks stays in
            with open(procs, "w") as f:
                f.write("0")

        # Its own session, so that stop() reaches every process it forks.
        self.proc = subprocess.Popen(["taskset", "-c", cpus] + self.argv, stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=subprocess.STDOUT, cwd=self.workdir,
                                     env=self.env, start_new_session=True,
                                     preexec_fn=enter_cgroup if procs else None)
        proc.RUNNING.append(self.proc)

    def wait_answering(self, name, qtype, timeout, floor=False):
        """Seconds from start() until the first good answer, or None.
        A query goes out every POLL seconds from one socket, and any
        answer to any of them counts, so a slow answer does not stretch
        the interval. The floor echoes, so any response counts for it; a
        DNS server must answer NOERROR with at least one answer record."""
        deadline = self.started + timeout
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", 0))
            qid = random.randint(0, 65535)
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    self.error = "exited with status %s" % self.proc.returncode
                    return None
                qid = (qid + 1) & 0xFFFF
                try:
                    s.sendto(dns_query(qid, name, qtype), ("127.0.0.1", self.port))
                except OSError:
                    pass
                tick = time.monotonic() + POLL
                while True:
                    left = tick - time.monotonic()
                    if left <= 0 or not select.select([s], [], [], left)[0]:
                        break
                    try:
                        r = s.recv(65535)
                    except OSError:  # ICMP port unreachable: not bound yet
                        continue
                    if len(r) < 12 or not r[2] & 0x80:
                        continue
                    if floor or ((r[3] & 15) == 0 and (r[6] << 8 | r[7]) > 0):
                        return time.monotonic() - self.started
        finally:
            s.close()
        self.error = "no answer within %d s" % timeout
        return None

    def pids(self):
        """The server's process and all its descendants (NSD forks)."""
        if not self.proc or self.proc.poll() is not None:
            return []
        # taskset execs the server, so proc.pid is the server itself.
        return proc.tree(self.proc.pid)

    def cpu_ticks(self):
        """utime + stime, in clock ticks, of every process of the server
        (each process's figure covers all its threads)."""
        return proc.cpu_ticks(self.pids())

    def status_kb(self, field):
        return proc.status_kb(self.pids(), field)

    def pss_kb(self):
        """Proportional set size: forked processes' shared pages counted once."""
        return proc.pss_kb(self.pids())

    def socket_drops(self):
        """Datagrams dropped on the server's own UDP sockets (the drops
        column of /proc/net/udp): RcvbufErrors is system-wide and also
        counts responses dnsperf's sockets had no room for."""
        return proc.socket_drops(self.pids(), self.port)

    def stop(self):
        if not self.proc:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything it left behind
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        if self.proc in proc.RUNNING and self.proc.poll() is not None:
            proc.RUNNING.remove(self.proc)
        self.logf.close()


def installed(kind):
    if kind == "floor-padded":
        kind = "floor"
    if kind in BIN:
        return bool(BIN[kind]) and os.access(BIN[kind], os.X_OK)
    return bool(shutil.which({"nsd": "nsd", "knot": "knotd", "gdnsd": "gdnsd"}[kind]))


def make_server(kind, workdir, zonedir, threads, pad=0, xfr=False):
    """A Server for `kind` serving zonedir/bench.test.zone, configured in
    workdir: foreground, as root, no chroot, nothing written outside
    workdir, minimal responses, no response rate limiting. A signed zone
    is served as it is (Knot does not re-sign it). `pad`: the reply size
    of "floor-padded", in octets. `xfr` (--axfr): the zone may be
    transferred (AXFR) by 127.0.0.0/8 without TSIG; shoal then reads a
    configuration file (acl: with action transfer) instead of --zones."""
    os.makedirs(workdir, exist_ok=True)
    port = free_port()
    listen = "127.0.0.1:%d" % port
    zfile = os.path.join(zonedir, ZONE + "zone")

    if kind == "floor":
        return Server(kind, [BIN["floor"], "--listen", listen, "--threads", str(threads)],
                      port, workdir)

    if kind == "floor-padded":
        return Server(kind, [BIN["floor"], "--listen", listen, "--threads", str(threads),
                             "--pad", str(pad)], port, workdir)

    if kind in ("shoal", "shoal-base") and xfr:
        conf = os.path.join(workdir, "shoal.yaml")
        with open(conf, "w") as f:
            f.write(SHOAL_XFR_CONF.format(listen=listen, threads=threads, workdir=workdir,
                                          zone=ZONE, zfile=zfile))
        os.chmod(conf, 0o644)
        return Server(kind, [BIN[kind], "--config", conf], port, workdir)

    if kind in ("shoal", "shoal-base"):
        # Started by root, shoal drops to nobody after binding, as in
        # production: the temporary folder is world-readable for that.
        return Server(kind, [BIN[kind], "--zones", zonedir, "--listen", listen, "--threads",
                             str(threads)], port, workdir)

    if kind == "nsd":
        conf = os.path.join(workdir, "nsd.conf")
        with open(conf, "w") as f:
            f.write("""server:
    ip-address: 127.0.0.1@{port}
    do-ip6: no
    server-count: {threads}
    reuseport: yes
    username: ""
    chroot: ""
    zonesdir: "{workdir}"
    database: ""
    zonelistfile: "{workdir}/zone.list"
    xfrdfile: "{workdir}/xfrd.state"
    xfrdir: "{workdir}"
    pidfile: "{workdir}/nsd.pid"
    logfile: "{workdir}/nsd-own.log"
    verbosity: 0
    zonefiles-write: 0
    minimal-responses: yes
    refuse-any: no
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    tcp-count: 100
remote-control:
    control-enable: no
zone:
    name: "{zone}"
    zonefile: "{zfile}"
""".format(port=port, threads=threads, workdir=workdir, zone=ZONE, zfile=zfile))
            if xfr:
                f.write("    provide-xfr: 127.0.0.0/8 NOKEY\n")
        # -d: foreground; NSD forks xfrd and its server(s) under this process.
        return Server(kind, [shutil.which("nsd"), "-d", "-c", conf], port, workdir)

    if kind == "knot":
        conf = os.path.join(workdir, "knot.conf")
        with open(conf, "w") as f:
            # Knot answers minimally by default and has RRL only as a module
            # (not loaded here); no user: stays root, no chroot. No
            # dnssec-signing (off is the default; said here so that a
            # changed default cannot make it re-sign --dnssec's zone): a
            # signed zone is served as it is, as by NSD and shoal.
            f.write("""server:
    rundir: "{workdir}"
    pidfile: "{workdir}/knot.pid"
    listen: 127.0.0.1@{port}
    udp-workers: {threads}
    tcp-workers: {threads}
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "{workdir}/db"
template:
  - id: default
    storage: "{workdir}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
    dnssec-signing: off
{acl}zone:
  - domain: {zone}
    file: "{zfile}"
""".format(port=port, threads=threads, workdir=workdir, zone=ZONE, zfile=zfile,
           acl="acl:\n  - id: local\n    address: 127.0.0.0/8\n    action: transfer\n"
           if xfr else ""))
            if xfr:  # an acl is referred to after its definition
                f.write("    acl: local\n")
        return Server(kind, [shutil.which("knotd"), "-c", conf], port, workdir)

    if kind == "gdnsd":
        for sub in ("zones", "run", "state"):
            os.makedirs(os.path.join(workdir, sub), exist_ok=True)
        link = os.path.join(workdir, "zones", ZONE.rstrip("."))
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(zfile, link)
        with open(os.path.join(workdir, "config"), "w") as f:
            # gdnsd never adds unrequested authority data and has no RRL.
            f.write("""options => {{
  listen => [ 127.0.0.1 ]
  dns_port => {port}
  udp_threads => {threads}
  tcp_threads => {threads}
  run_dir => "{workdir}/run"
  state_dir => "{workdir}/state"
  zones_strict_data => false
}}
""".format(port=port, threads=threads, workdir=workdir))
        # "start": a foreground process, logging to stderr.
        return Server(kind, [shutil.which("gdnsd"), "-c", workdir, "start"], port, workdir)

    raise ValueError(kind)


def start_server(kind, workdir, zonedir, threads, cpus, ready_name, timeout, cgroup=None, pad=0,
                 xfr=False):
    """(server, seconds until answering) or (None, reason). `cgroup`: the
    cgroup.procs file the server (and what it forks) starts in; `pad`: the
    reply size of "floor-padded"; `xfr`: see make_server."""
    if not installed(kind):
        return None, ("not built (%s)" % BIN.get(kind, BIN["floor"]) if kind in BIN or
                      kind in FLOORS else "not installed")
    srv = make_server(kind, workdir, zonedir, threads, pad, xfr)
    srv.cgroup = cgroup
    srv.start(cpus)
    t = srv.wait_answering(ready_name, "A", timeout, floor=(kind in FLOORS))
    if t is None:
        reason = "%s (log: %s)" % (srv.error, srv.logpath)
        srv.stop()
        return None, reason
    return srv, t


RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def answer_shape(r):
    """(shape to compare, text to show) of one ask() response: rcode, AA,
    TC and the record types of each section (as a multiset: servers may
    order records differently), with the owners of the NSEC/NSEC3 records
    when there are any (the same proof, not just as many records). The
    size is shown, not compared (compression differs)."""
    if r is None:
        return "no answer", "no answer"
    head = "%s%s%s" % (RCODES.get(r["rcode"], "RCODE%d" % r["rcode"]), " aa" if r["aa"] else "",
                       " tc" if r["tc"] else "")
    if r["sections"] is None:
        key = "%s %d/%d/%d" % (head, r["an"], r["ns"], r["ar"])
        return key, "%s %d/%d/%d (unparsed) %dB" % (head, r["an"], r["ns"], r["ar"], r["size"])
    key, text = [head], [head]
    owners = []
    for sec, (types, own) in zip(("an", "ns", "ar"), r["sections"]):
        key.append("%s[%s]" % (sec, " ".join(sorted(types))))
        text.append("%s[%s]" % (sec, " ".join(types)))
        owners += own
    if owners:
        key.append("proofs{%s}" % " ".join(sorted(owners)))
    text.append("%dB" % r["size"])
    return " ".join(key), " ".join(text)


def check_answers(servers, do=False):
    """Ask every DNS server one query of each kind of the mix (with DO=1
    if `do`) and compare the shape of the answers (see answer_shape): the
    same work should be measured. Returns a list of differences, one line
    per kind."""
    dns = [s for s in servers if s.name not in FLOORS]
    diffs = []
    if not dns:
        return diffs
    log("answer shapes%s (rcode, flags, record types of answer/authority/additional, size):"
        % (" with DO=1" if do else ""))
    for label, name, qtype in SAMPLES:
        shapes, groups = {}, {}
        for s in dns:
            key, text = answer_shape(ask(s.port, name, qtype, timeout=1.0, do=do))
            shapes[s.name] = text
            groups.setdefault(key, []).append(s.name)
        same = len(groups) == 1
        log("  %-10s %s%s" % (label, "" if same else "<- differ", "".join(
            "\n      %-10s %s" % kv for kv in shapes.items())))
        if not same:
            owners = {}
            for key, names in groups.items():
                owners.setdefault(key.split(" proofs{")[0], []).append(names)
            # Name the proofs in the report only when they are the difference.
            diffs.append("%s (`%s %s`): %s" % (label, name, qtype, "; ".join(
                "%s: %s" % (", ".join(v), k if len(owners) < len(groups) else
                            k.split(" proofs{")[0]) for k, v in groups.items())))
    return diffs


def deps_and_build(kinds, tmp):
    """scripts/deps, then shoal and the floor, when measured, in build-bench/
    (a release build); exits when dnsperf or taskset is missing. shoal-base
    is never built: --baseline names a binary."""
    deps = os.path.join(ROOT, "scripts", "deps")
    if os.path.exists(deps):
        subprocess.run([deps], check=True, timeout=1800)
    if not shutil.which("dnsperf"):
        sys.exit("bench: dnsperf is not installed (Debian: apt-get install dnsperf)")
    if not shutil.which("taskset"):
        sys.exit("bench: taskset is not installed (Debian: apt-get install util-linux)")
    floor = any(k in kinds for k in FLOORS)
    if "shoal" not in kinds and not floor:
        return
    blog = os.path.join(tmp, "build.log")
    with open(blog, "ab") as lf:
        if not os.path.exists(os.path.join(BUILD, "build.ninja")):
            r = subprocess.run(["meson", "setup", BUILD, "-Dbuildtype=release"], cwd=ROOT,
                               stdout=lf, stderr=subprocess.STDOUT, timeout=600)
            if r.returncode:
                log("meson setup %s failed (see %s)" % (BUILD, blog))
        else:
            try:
                opts = json.loads(subprocess.run(
                    ["meson", "introspect", BUILD, "--buildoptions"], capture_output=True,
                    text=True, timeout=120).stdout)
                want = {"buildtype": "release", "b_lto": True}
                wrong = ["-D%s=%s" % (o["name"], str(want[o["name"]]).lower()) for o in opts
                         if o["name"] in want and o["value"] != want[o["name"]]]
            except (ValueError, OSError, subprocess.TimeoutExpired):
                wrong = []
            if wrong:  # an older build-bench: measure what meson.build now builds
                subprocess.run(["meson", "configure", BUILD] + wrong, cwd=ROOT,
                               stdout=lf, stderr=subprocess.STDOUT, timeout=600)
        for target, kind in (("src/shoal", "shoal"), ("tests/bench/shoal-echo-floor", "floor"),
                             ("tests/bench/shoal-zone-update-bench", "update")):
            if kind == "shoal" and os.environ.get("SHOAL_BIN"):
                continue
            wanted = (floor if kind == "floor" else
                      "shoal" in kinds if kind == "update" else kind in kinds)
            if not wanted or not os.path.exists(os.path.join(BUILD, "build.ninja")):
                continue
            r = subprocess.run(["ninja", "-C", BUILD, target], stdout=lf,
                               stderr=subprocess.STDOUT, timeout=1200)
            if r.returncode:
                log("building %s failed (see %s)" % (target, blog))
    if floor and not os.access(BIN["floor"], os.X_OK):
        # tests/meson.build may not include tests/bench yet: build it alone.
        alt = os.path.join(tmp, "shoal-echo-floor")
        cc = shutil.which("cc") or shutil.which("gcc") or "cc"
        r = subprocess.run([cc, "-O2", "-std=c11", "-D_GNU_SOURCE", "-pthread", "-o", alt,
                            os.path.join(ROOT, "tests", "bench", "echo_floor.c")],
                           capture_output=True, text=True, timeout=120)
        if r.returncode == 0:
            BIN["floor"] = alt
        else:
            log("compiling the echo floor failed:\n" + r.stderr)
