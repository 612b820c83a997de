"""--catalog: how fast a catalog zone consumer (RFC 9432) serves every
member of a large catalog, and what each member costs it in memory.

One Knot primary (knotd) on 127.0.0.1 serves --catalog-members small
member zones (mNNNNN.cat.bench.: SOA, two NS, two A records), the catalog
catalog.bench. listing them all and catalog0.bench. listing none (the
baseline below), each from a file this script writes (RFC 9432 version
2). Not a catalog Knot generates (catalog-role: generate): Knot 3.2
answers a query to such a catalog only over TCP from a client allowed to
transfer it (a transfer, or an SOA query shoal retries over TCP), and
named asks for the catalog's SOA over UDP before it transfers it, so
named could not follow it. TSIG (hmac-sha256, one key) between the primary and the
consumers; the primary notifies nobody. It is started first and waited for until it
answers the last member's SOA and its catalog lists every member (an
AXFR by kdig).

Then, in turn (rounds interleaved: shoal knot named shoal knot named
...), each consumer kind on a loopback address or port of its own, from an empty
state folder, configured with only the catalog zone (the primary as its
primary, with the key) and a template for the members (the same
primary), NOTIFY off:

  baseline  the consumer of catalog0.bench. (no members): its VmRSS 2 s
            after its log says that catalog is transferred (Knot refuses
            queries to a catalog zone, so its answer cannot say);
  full      the consumer of catalog.bench.: timed from its start, and
            from the moment its own log says the catalog's transfer is
            done (every line of its output is stamped on arrival), until
            it answers NOERROR with AA for the SOA of every member; its
            VmRSS and VmHWM 2 s later. (VmRSS with members - VmRSS of
            the baseline) / members is the memory per member zone.

The members are asked in order over one UDP socket: each round trip asks
the first W members not yet confirmed (W doubles, up to 256 in flight,
while all of them answer, and shrinks to twice those that did when some
did not), and waits 5 ms before asking again only when the first of them
still does not answer. So an idle poll is a query or two each 5 ms, and
once the members are there the rest are confirmed 256 at a time; every
member is confirmed by an answer of its own, and all are asked once more
(in one pass) after the 2 s. The consumer's CPU time (utime+stime, all
its threads) until the last member answered and the primary's over the
same span say where the time went.

Transfer limits are raised so that no consumer waits on a default
throttle (--catalog-transfers T, default max(8, 2 x CPUs)): shoal
transfers-in T; Knot background-workers T; named transfers-in T,
transfers-per-ns T, serial-query-rate 10000 (its SOA checks before each
transfer; default 20/s) and the catalog's min-update-interval 0 (default
5 s). Each kind's exact settings are printed with the results.

The consumers run on the servers' CPUs, the primary and the polling on
the load generator's, as in the other benchmarks. Every wait is bounded
(--catalog-timeout, default 600 s, for the members of one run).
"""
import base64
import os
import re
import select
import shutil
import socket
import statistics
import struct
import subprocess
import time

from . import log, proc
from .dns import ask, free_port
from .fleet import Others, TappedServer, shoal_user_owns
from .servers import BIN, LOAD_TIMEOUT, START_TIMEOUT

CATALOG_KINDS = ("shoal", "knot", "named")  # the order of the runs
CATALOG = "catalog.bench."
EMPTY = "catalog0.bench."  # the baseline's catalog: no members
MEMBER_PARENT = "cat.bench."
KEY_ID = "xfr"
# Each consumer on its own loopback address (all of 127/8 is loopback on
# Linux), so that its sockets and the primary's log lines tell it apart;
# named listens only on the addresses of the interfaces it finds, and lo
# has 127.0.0.1 alone, so named has 127.0.0.1 and a port of its own.
ADDRESS = {"shoal": "127.0.0.3", "knot": "127.0.0.4", "named": "127.0.0.1"}
BINARY = {"knot": "knotd", "named": "named"}
SETTLE = 2.0  # s after the last member answers (or the empty catalog) before memory is read
SAVED_TIMEOUT = 120.0  # s after the last member answers for every member's copy to be on disk
# Where each consumer writes its members' copies (under its state folder),
# and how a copy's name ends (temporary names end otherwise).
COPIES = {"shoal": ("storage/members", ".zone"), "knot": ("zones", ".zone"),
          "named": ("members", ".db")}
TICK = 0.005  # s between polls while the first unconfirmed member does not answer
WINDOW_MAX = 256  # queries in flight at once, at most
REPLY_WAIT = 0.2  # s to wait for the replies of one round trip
NAMED_SERIAL_QUERY_RATE = 10000

# The consumer's own line saying a zone's transfer is done (the catalog's
# or a member's); group 1 is the zone, without its final dot.
XFR_DONE = {
    "knot": re.compile(r"\[([^\]]+?)\.?\] AXFR, incoming, remote \S+, finished"),
    "named": re.compile(r"transfer of '([^/']+)/IN' from \S+: Transfer completed"),
    "shoal": re.compile(r"zone (\S+?)\.?: transferred AXFR"),
}
# The first line saying the catalog is being read (its members added),
# where the kind logs one.
CATALOG_READ = {
    "knot": re.compile(r"\[catalog\.bench\.\] catalog reloaded"),
    "named": re.compile(r"catz: updating catalog zone 'catalog\.bench'"),
    "shoal": re.compile(r"(?i)catalog\.bench\.?\b.*\bmembers?\b"),
}


def member(i, width):
    return "m%0*d.%s" % (width, i, MEMBER_PARENT)


def width_for(n):
    return max(5, len(str(n)))


def gen_members(zdir, n):
    """The member zone files (zdir/<name>zone), the catalog's listing them
    all and catalog0's listing none. Returns the member names, in order."""
    os.makedirs(zdir, exist_ok=True)
    w = width_for(n)
    names = [member(i, w) for i in range(1, n + 1)]
    for name in names:
        with open(os.path.join(zdir, name + "zone"), "w") as f:
            f.write("$ORIGIN %s\n$TTL 3600\n"
                    "@ SOA ns1.%s hostmaster.%s 1 3600 600 86400 3600\n"
                    "@ NS ns1.%s\n@ NS ns2.%s\n@ A 192.0.2.1\nwww A 192.0.2.2\n"
                    % (name, MEMBER_PARENT, MEMBER_PARENT, MEMBER_PARENT, MEMBER_PARENT))
    # RFC 9432 §4: version 2, the NS "invalid.", a PTR to each member under
    # zones.<catalog> whose label (the member's unique id) is any label: the
    # member's first one here.
    for zone, members in ((CATALOG, names), (EMPTY, [])):
        with open(os.path.join(zdir, zone + "zone"), "w") as f:
            f.write("$ORIGIN %s\n$TTL 0\n@ SOA invalid. invalid. 1 3600 600 2147483646 0\n"
                    "@ NS invalid.\nversion TXT \"2\"\n" % zone)
            f.writelines("%s.zones PTR %s\n" % (m.split(".", 1)[0], m) for m in members)
    return names


def free_port_on(addr):
    """A port free for UDP and TCP on addr (a loopback address other than
    127.0.0.1, where dns.free_port looks)."""
    for _ in range(100):
        p = free_port()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind((addr, p))
            t.bind((addr, p))
            return p
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no free port on %s" % addr)


def knot_primary(wd, zdir, port, secret, names):
    """The Knot primary of the members and of the two catalogs, each from
    its file. (Not catalog-role: generate: Knot 3.2 refuses every query to
    a catalog it generates but a transfer, and named and shoal ask a
    zone's SOA before they transfer it, as RFC 1034 §4.3.5 has it, so they
    could never fetch it.)"""
    os.makedirs(os.path.join(wd, "db"), exist_ok=True)
    conf = os.path.join(wd, "knot.conf")
    with open(conf, "w") as f:
        f.write("""server:
    rundir: "{wd}"
    pidfile: "{wd}/knot.pid"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 2
    background-workers: 2
log:
  - target: stdout
    any: notice
key:
  - id: {key}
    algorithm: hmac-sha256
    secret: {secret}
acl:
  - id: consumers
    address: 127.0.0.0/8
    key: {key}
    action: transfer
database:
    storage: "{wd}/db"
template:
  - id: default
    storage: "{zdir}"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
    acl: consumers
zone:
  - domain: {cat}
  - domain: {empty}
""".format(wd=wd, zdir=zdir, port=port, key=KEY_ID, secret=secret, cat=CATALOG, empty=EMPTY))
        for name in names:
            f.write("  - domain: %s\n" % name)
    return TappedServer("primary", [shutil.which("knotd") or "knotd", "-c", conf], port, wd)


def catalog_members(port, secret, zone):
    """How many members (PTR records) the primary's catalog `zone` lists,
    by an AXFR with kdig; None when the transfer fails."""
    try:
        p = subprocess.run(["kdig", "@127.0.0.1", "-p", str(port), "-y",
                            "hmac-sha256:%s:%s" % (KEY_ID, secret), zone, "AXFR", "+noall",
                            "+answer", "+time=5", "+retry=0"],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if p.returncode:
        return None
    return sum(1 for line in p.stdout.splitlines() if len(line.split()) >= 5
               and line.split()[3] == "PTR")


def settings(kind, transfers):
    """The consumer settings that differ from the kind's defaults, as printed."""
    if kind == "shoal":
        return "`transfers-in: %d` (default 4); members' storage in a template" % transfers
    if kind == "knot":
        return ("`background-workers: %d` (default: the CPUs, at most 10); udp/tcp-workers "
                "default; catalog-db, timer-db and journal in its own storage; members' zone "
                "files written after each transfer (zonefile-sync 0, the default)" % transfers)
    if kind == "named":
        return ("`transfers-in %d; transfers-per-ns %d; serial-query-rate %d;` (defaults 10, 2, "
                "20); `catalog-zones { zone \"%s\" default-primaries { ... key } "
                "zone-directory \"members\" min-update-interval 0; }` (default 5 s); "
                "members' zone files written (in-memory no, the default); `notify no`"
                % (transfers, transfers, NAMED_SERIAL_QUERY_RATE, CATALOG))
    return kind


def consumer(kind, name, wd, addr, port, pport, secret, catalog, transfers):
    """A consumer of `catalog` of this kind, its state in wd (empty), on
    addr@port, transferring the catalog and its members from the primary
    on 127.0.0.1@pport with TSIG. Returns a TappedServer."""
    if os.path.exists(wd):
        shutil.rmtree(wd)
    os.makedirs(wd)
    os.chmod(wd, 0o755)
    if kind == "knot":
        conf = os.path.join(wd, "knot.conf")
        os.makedirs(os.path.join(wd, "db"))
        os.makedirs(os.path.join(wd, "zones"))
        with open(conf, "w") as f:
            f.write("""server:
    rundir: "{wd}"
    pidfile: "{wd}/knot.pid"
    listen: {addr}@{port}
    background-workers: {bg}
log:
  - target: stdout
    any: info
key:
  - id: {key}
    algorithm: hmac-sha256
    secret: {secret}
remote:
  - id: primary
    address: 127.0.0.1@{pport}
    key: {key}
acl:
  - id: notify_from_primary
    address: 127.0.0.1
    key: {key}
    action: notify
database:
    storage: "{wd}/db"
    catalog-db: "{wd}/db/catalog"
    timer-db: "{wd}/db/timers"
    journal-db: "{wd}/db/journal"
template:
  - id: default
    storage: "{wd}/zones"
    master: primary
    acl: notify_from_primary
  - id: member
    storage: "{wd}/zones"
    master: primary
    acl: notify_from_primary
zone:
  - domain: {cat}
    catalog-role: interpret
    catalog-template: member
""".format(wd=wd, addr=addr, port=port, bg=transfers, key=KEY_ID, secret=secret, pport=pport,
           cat=catalog))
        return TappedServer(name, [shutil.which("knotd") or "knotd", "-c", conf], port, wd)
    if kind == "named":
        conf = os.path.join(wd, "named.conf")
        os.makedirs(os.path.join(wd, "members"))
        with open(conf, "w") as f:
            f.write("""options {{
    directory "{wd}";
    pid-file "{wd}/named.pid";
    lock-file "{wd}/named.lock";
    session-keyfile "{wd}/session.key";
    managed-keys-directory "{wd}";
    dump-file "{wd}/named_dump.db";
    statistics-file "{wd}/named.stats";
    listen-on port {port} {{ {addr}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    notify no;
    dnssec-validation no;
    allow-new-zones yes;
    transfers-in {t};
    transfers-per-ns {t};
    serial-query-rate {sqr};
    catalog-zones {{
        zone "{cat}" default-primaries {{ 127.0.0.1 port {pport} key "{key}"; }}
            zone-directory "members" min-update-interval 0;
    }};
}};
controls {{ }};
key "{key}" {{
    algorithm hmac-sha256;
    secret "{secret}";
}};
zone "{cat}" {{
    type secondary;
    primaries port {pport} {{ 127.0.0.1 key "{key}"; }};
    file "catalog.db";
}};
""".format(wd=wd, addr=addr, port=port, t=transfers, sqr=NAMED_SERIAL_QUERY_RATE, cat=catalog,
           pport=pport, key=KEY_ID, secret=secret))
        # -g: foreground, every log line to stderr; as the current user.
        return TappedServer(name, [shutil.which("named") or "named", "-g", "-c", conf], port, wd)
    if kind == "shoal":
        storage = os.path.join(wd, "storage")
        os.makedirs(os.path.join(storage, "members"))
        conf = os.path.join(wd, "shoal.yaml")
        with open(conf, "w") as f:
            f.write("""server:
  listen: {addr}@{port}
  transfers-in: {t}
  control: {wd}/shoal.sock
  log-level: info
key:
  - id: {key}
    algorithm: hmac-sha256
    secret: {secret}
remote:
  - id: primary
    address: 127.0.0.1@{pport}
    key: {key}
acl:
  - id: notify_from_primary
    address: 127.0.0.1
    key: {key}
    action: notify
template:
  - id: member
    primary: primary
    acl: notify_from_primary
    storage: {storage}/members
zone:
  - domain: {cat}
    primary: primary
    acl: notify_from_primary
    catalog-role: interpret
    catalog-template: member
    storage: {storage}
""".format(addr=addr, port=port, t=transfers, wd=wd, key=KEY_ID, secret=secret, pport=pport,
           storage=storage, cat=catalog))
        os.chmod(conf, 0o644)
        shoal_user_owns(storage)
        return TappedServer(name, [BIN["shoal"], "--config", conf], port, wd)
    raise ValueError(kind)


def shoal_refuses(tmp, transfers):
    """Why shoal cannot be a consumer (its --check of a consumer
    configuration fails: the consumer not written yet, say), or None."""
    if not os.access(BIN["shoal"], os.X_OK):
        return "not built (%s)" % BIN["shoal"]
    srv = consumer("shoal", "shoal-check", os.path.join(tmp, "catalog", "shoal-check"),
                   ADDRESS["shoal"], 53, 53, base64.b64encode(b"0" * 32).decode(), CATALOG,
                   transfers)
    try:
        p = subprocess.run(srv.argv + ["--check"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "shoal --check: %s" % e
    if p.returncode:
        return "shoal --check refuses a consumer's configuration: %s" % (
            (p.stderr or p.stdout).strip().replace("\n", " | ")[:400])
    return None


class Poller:
    """Asks addr@port for the SOA of each member over one UDP socket until
    every one has answered NOERROR with AA (see the module's text)."""

    def __init__(self, addr, port, names):
        self.dest = (addr, port)
        # Question section of each member, ready: name, type SOA, class IN.
        self.qs = [b"".join(bytes([len(x)]) + x.encode() for x in n.rstrip(".").split("."))
                   + b"\0\0\x06\0\x01" for n in names]
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.qid = 0
        self.inflight = {}  # qid: member index
        self.sent = 0

    def close(self):
        self.sock.close()

    def send(self, i):
        self.qid = (self.qid + 1) & 0xFFFF
        self.inflight[self.qid] = i
        try:
            self.sock.sendto(struct.pack(">HHHHHH", self.qid, 0, 1, 0, 0, 0) + self.qs[i],
                             self.dest)
            self.sent += 1
        except OSError:
            pass

    def replies(self, want, wait):
        """Reads replies for up to `wait` s, or until every qid of `want`
        (a set, emptied as they come) has one. Returns {member index: good}."""
        out = {}
        end = time.monotonic() + wait
        while True:
            while True:
                try:
                    r = self.sock.recv(65535)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:  # ICMP port unreachable: not bound yet
                    continue
                if len(r) < 12 or not r[2] & 0x80:
                    continue
                qid = r[0] << 8 | r[1]
                i = self.inflight.pop(qid, None)
                if i is None:
                    continue
                want.discard(qid)
                q = self.qs[i]
                good = ((r[3] & 15) == 0 and bool(r[2] & 4) and (r[6] << 8 | r[7]) > 0
                        and r[12:12 + len(q)].lower() == q)
                out[i] = out.get(i, False) or good
            left = end - time.monotonic()
            if not want or left <= 0:
                return out
            select.select([self.sock], [], [], min(left, 0.05))

    def wait_all(self, alive, deadline, progress):
        """Until every member has answered well or `deadline` (monotonic):
        returns which did (a list of bools). alive() says whether the
        server still runs and may still get there; progress(t, n) is told
        each time the confirmed prefix grows by a tenth."""
        n = len(self.qs)
        done = [False] * n
        c = 0  # every member before c is confirmed
        w = 1
        step = max(1, n // 10)
        mark = step
        next_alive = 0.0
        while c < n:
            now = time.monotonic()
            if now > deadline:
                break
            if now > next_alive:
                if not alive():
                    break
                next_alive = now + 0.5
            win, j = [], c
            while j < n and len(win) < w:
                if not done[j]:
                    win.append(j)
                j += 1
            want = set()
            for i in win:
                self.send(i)
                want.add(self.qid)
            t_sent = time.monotonic()
            got = self.replies(want, REPLY_WAIT)
            good = 0
            for i, ok in got.items():
                if ok and not done[i]:
                    done[i] = True
                if ok and i in win:
                    good += 1
            moved = done[c]
            while c < n and done[c]:
                c += 1
            while c >= mark and mark <= n:
                progress(time.monotonic(), c)
                mark += step
            if good == len(win):
                w = min(2 * w, WINDOW_MAX)
            else:
                w = max(1, min(2 * good, WINDOW_MAX))
            if not moved:
                left = t_sent + TICK - time.monotonic()
                if left > 0:
                    time.sleep(left)
        return done

    def verify(self):
        """One pass over every member (WINDOW_MAX in flight), each asked
        again once if it did not answer well. Returns how many did."""
        n = len(self.qs)
        ok = [False] * n
        for _attempt in range(2):
            todo = [i for i in range(n) if not ok[i]]
            for k in range(0, len(todo), WINDOW_MAX):
                want = set()
                for i in todo[k:k + WINDOW_MAX]:
                    self.send(i)
                    want.add(self.qid)
                for i, g in self.replies(want, 1.0).items():
                    ok[i] = ok[i] or g
        return sum(ok)


def tail(srv, n=4):
    with srv.lock:
        return " | ".join(x for _t, x in srv.lines[-n:])


def first_line(srv, t0, pattern, zone=None):
    """Stamp of srv's first output line at or after t0 matching pattern
    (and, when the pattern has a group, naming `zone`), or None."""
    for t, m in srv.since(t0, pattern):
        if zone is None or not m.groups() or m.group(1).rstrip(".") + "." == zone:
            return t
    return None


def copies_saved(kind, wd):
    """How many members' copies the consumer has written under wd (files
    named for a member, ending as its copies do)."""
    sub, end = COPIES[kind]
    try:
        with os.scandir(os.path.join(wd, sub)) as it:
            return sum(1 for e in it if e.name.endswith(end) and MEMBER_PARENT in e.name)
    except OSError:
        return 0


class CopyWatch:
    """The time from t0 (and the consumer's CPU then) when every member's
    copy is on disk, counted by poll() calls from after the last member
    answers (not before: the count lists a folder of thousands of files,
    which would take CPU from the consumer being timed)."""

    def __init__(self, kind, wd, n, srv, t0):
        self.kind, self.wd, self.n, self.srv, self.t0 = kind, wd, n, srv, t0
        self.saved_s = self.cpu_s = None

    def poll(self):
        """True once every copy is there."""
        if self.saved_s is None and copies_saved(self.kind, self.wd) >= self.n:
            self.cpu_s = proc.cpu_ticks(self.srv.pids()) / proc.HZ
            self.saved_s = time.monotonic() - self.t0
        return self.saved_s is not None

    def sleep(self, secs):
        """Sleep secs, polling every 50 ms meanwhile."""
        end = time.monotonic() + secs
        while time.monotonic() < end:
            self.poll()
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))


def run_consumer(kind, args, wd, pport, secret, names, primary, baseline):
    """One consumer from an empty state folder: the baseline (catalog0,
    no members) or the full catalog. Returns a dict for print_catalog."""
    catalog = EMPTY if baseline else CATALOG
    label = "%s%s" % (kind, " (empty catalog)" if baseline else "")
    addr = ADDRESS[kind]
    port = free_port_on(addr)
    srv = consumer(kind, "%s-%s" % (kind, "base" if baseline else "full"), wd, addr, port, pport,
                   secret, catalog, args.catalog_transfers)
    out = {"kind": kind, "baseline": baseline, "log": srv.logpath, "error": None}
    pattern = XFR_DONE[kind]
    pcpu0 = proc.cpu_ticks(primary.pids())
    srv.start(args.srv_cpus)
    t0 = srv.started
    try:
        if baseline:
            # Its log says it has the empty catalog. (Not its answer: Knot
            # refuses queries to a catalog zone.)
            deadline = t0 + START_TIMEOUT
            while time.monotonic() < deadline and srv.proc.poll() is None:
                if first_line(srv, t0, pattern, catalog) is not None:
                    break
                time.sleep(0.02)
            else:
                out["error"] = "no transfer of the empty catalog: %s; last lines: %s " \
                    "(log: %s)" % ("exited with status %s" % srv.proc.returncode
                                   if srv.proc.poll() is not None else
                                   "not within %d s" % START_TIMEOUT, tail(srv), srv.logpath)
                log("%s: %s" % (label, out["error"]))
                return out
            time.sleep(SETTLE)
            out["rss_kb"] = srv.status_kb("VmRSS")
            out["hwm_kb"] = srv.status_kb("VmHWM")
            log("%s: answers its empty catalog; VmRSS %.1f MiB" % (label, out["rss_kb"] / 1024))
            return out
        prog = []
        others = Others([primary, srv], [])
        poller = Poller(addr, port, names)
        try:
            def alive():
                # Running, and its catalog transferred by START_TIMEOUT.
                return srv.proc.poll() is None and (
                    time.monotonic() < t0 + START_TIMEOUT
                    or first_line(srv, t0, pattern, catalog) is not None)

            done = poller.wait_all(alive,
                                          t0 + args.catalog_timeout,
                                          lambda t, c: prog.append((t - t0, c)))
            t_end = time.monotonic()
            out["others"], out["loadavg"] = others.share()
            cpu = proc.cpu_ticks(srv.pids()) / proc.HZ
            pcpu = (proc.cpu_ticks(primary.pids()) - pcpu0) / proc.HZ
            got = sum(done)
            out.update(answered=got, sent=poller.sent, progress=prog, cpu_s=cpu,
                       primary_cpu_s=pcpu)
            t_cat = first_line(srv, t0, pattern, catalog)
            t_read = first_line(srv, t0, CATALOG_READ[kind])
            out["catalog_s"] = None if t_cat is None else t_cat - t0
            out["read_s"] = None if t_read is None else t_read - t0
            # The members' transfers, from the consumer's log: the first and
            # the last, and how many members were transferred.
            mt = {}
            for t, m in srv.since(t0, pattern):
                z = m.group(1).rstrip(".") + "."
                if z.endswith("." + MEMBER_PARENT):
                    mt.setdefault(z, t)
            out["members_logged"] = len(mt)
            out["first_xfr_s"] = min(mt.values()) - t0 if mt else None
            out["last_xfr_s"] = max(mt.values()) - t0 if mt else None
            if got < len(names):
                why = ("exited with status %s" % srv.proc.returncode
                       if srv.proc.poll() is not None
                       else "no catalog transfer within %d s" % START_TIMEOUT
                       if t_cat is None
                       else "%d of %d members answered within %d s" % (
                           got, len(names), args.catalog_timeout))
                out["error"] = "%s; last lines: %s (log: %s)" % (why, tail(srv), srv.logpath)
                log("%s: %s" % (label, out["error"]))
                return out
            out["all_s"] = t_end - t0
            out["rss_at_all_kb"] = srv.status_kb("VmRSS")
            copies = CopyWatch(kind, wd, len(names), srv, t0)
            copies.sleep(SETTLE)
            out["rss_kb"] = srv.status_kb("VmRSS")
            out["hwm_kb"] = srv.status_kb("VmHWM")
            out["verified"] = poller.verify()
            # Serving is not the end of the work: every copy on disk
            # (written after its transfer, in the background).
            deadline = time.monotonic() + SAVED_TIMEOUT
            while not copies.poll() and time.monotonic() < deadline:
                time.sleep(0.05)
            out["saved_s"], out["saved_cpu_s"] = copies.saved_s, copies.cpu_s
        finally:
            poller.close()
        log("%s: every member answers %.2f s after its start (catalog transferred at %s s, "
            "members' transfers logged from %s to %s s); CPU %.2f s, primary's %.2f s; VmRSS "
            "%.1f MiB, %d queries sent" % (
                label, out["all_s"], fmt(out["catalog_s"]), fmt(out["first_xfr_s"]),
                fmt(out["last_xfr_s"]), out["cpu_s"], out["primary_cpu_s"],
                out["rss_kb"] / 1024, out["sent"]))
        return out
    finally:
        srv.stop()
        if not args.keep:
            for sub in ("zones", "members", "storage", "db"):
                shutil.rmtree(os.path.join(wd, sub), ignore_errors=True)


def fmt(v, f="%.2f"):
    return "-" if v is None else f % v


def catalog_bench(args, tmp, kinds):
    """--catalog: the primary, then per round each kind's baseline and full
    run. Returns a dict for print_catalog (setup_failed: the primary or
    kdig is missing or did not come up)."""
    n = args.catalog_members
    base = os.path.join(tmp, "catalog")
    os.makedirs(base, exist_ok=True)
    os.chmod(base, 0o755)
    out = {"members": n, "kinds": list(kinds), "runs": [], "skipped": {},
           "transfers": args.catalog_transfers, "rounds": args.rounds}
    missing = [t for t in ("knotd", "kdig") if not shutil.which(t)]
    if missing:
        out["error"] = "not installed: %s (the primary needs them; Debian: knot, " \
            "knot-dnsutils)" % ", ".join(missing)
        out["setup_failed"] = True
        return out
    for kind in kinds:
        if kind == "shoal":
            why = shoal_refuses(tmp, args.catalog_transfers)
        else:
            why = None if shutil.which(BINARY[kind]) else "%s is not installed" % BINARY[kind]
        if why:
            out["skipped"][kind] = why
            log("--catalog: %s skipped: %s" % (kind, why))
    kinds = [k for k in kinds if k not in out["skipped"]]
    zdir = os.path.join(tmp, "catalog-zones")
    t = time.monotonic()
    names = gen_members(zdir, n)
    log("--catalog: %d member zones written in %.1f s" % (n, time.monotonic() - t))
    secret = base64.b64encode(os.urandom(32)).decode()
    pport = free_port()
    primary = knot_primary(os.path.join(base, "primary"), zdir, pport, secret, names)
    out["primary_log"] = primary.logpath
    try:
        primary.start(args.perf_cpus)
        deadline = primary.started + LOAD_TIMEOUT
        listed = None
        while time.monotonic() < deadline and primary.proc.poll() is None:
            r = ask(pport, names[-1], "SOA", timeout=0.2) if names else None
            if not names or (r and r["rcode"] == 0 and r["aa"]):
                listed = catalog_members(pport, secret, CATALOG)
                if listed == n and catalog_members(pport, secret, EMPTY) == 0:
                    break
            time.sleep(0.2)
        else:
            out["error"] = "the Knot primary did not serve every member and a catalog of %d " \
                "within %d s (%s; catalog lists %s; last lines: %s; log: %s)" % (
                    n, LOAD_TIMEOUT, "exited with status %s" % primary.proc.returncode
                    if primary.proc.poll() is not None else "running", listed, tail(primary),
                    primary.logpath)
            out["setup_failed"] = True
            return out
        out["primary_up_s"] = time.monotonic() - primary.started
        log("--catalog: the primary on :%d serves %d members and its catalog lists them all, "
            "%.1f s after its start" % (pport, n, out["primary_up_s"]))
        time.sleep(1.0)
        for rnd in range(1, args.rounds + 1):
            for kind in kinds:
                for baseline in (True, False):
                    wd = os.path.join(base, "%s-r%d-%s" % (kind, rnd,
                                                          "base" if baseline else "full"))
                    res = run_consumer(kind, args, wd, pport, secret, names, primary, baseline)
                    res["round"] = rnd
                    out["runs"].append(res)
                    if primary.proc.poll() is not None:
                        out["error"] = "the primary exited (status %s): %s (log: %s)" % (
                            primary.proc.returncode, tail(primary), primary.logpath)
                        out["setup_failed"] = True
                        return out
                    time.sleep(0.5)
        return out
    finally:
        primary.stop()


def consumer_versions(kinds):
    """named's and knotd's own version lines (the bench's Versions line
    has Knot's package, not BIND's)."""
    out = []
    for kind, argv in (("knot", ["knotd", "--version"]), ("named", ["named", "-v"])):
        if kind not in kinds or not shutil.which(argv[0]):
            continue
        try:
            v = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        if v.strip():
            out.append(v.strip().splitlines()[0])
    return "; ".join(out)


def med(vals):
    v = [x for x in vals if x is not None]
    return statistics.median(v) if v else None


def print_catalog(args, out):
    n = out["members"]
    print("### Catalog zone consumers: %s member zones from a Knot primary" % format(n, ","))
    print()
    print("Settings: one knotd primary (127.0.0.1, CPU %s with the polling; udp-workers 1, "
          "tcp-workers 2, background-workers 2) of %s members `mNNNNN.%s` (SOA, 2 NS, 2 A "
          "each) and the catalog `%s` listing them (a zone file, RFC 9432 version 2), "
          "TSIG hmac-sha256 between it and the consumers, NOTIFY off. Each consumer on its "
          "own loopback address, on CPU %s, from an empty state folder, configured with the "
          "catalog zone and a template for its members; %d round(s)%s; the baseline is the "
          "same consumer of an empty catalog. Transfer limits: --catalog-transfers %d." % (
              args.perf_cpus, format(n, ","), MEMBER_PARENT, CATALOG, args.srv_cpus, out["rounds"],
              ", medians" if out["rounds"] > 1 else "", out["transfers"]))
    print()
    vers = consumer_versions(out["kinds"])
    if vers:
        print("Consumers: %s." % vers)
        print()
    if out.get("error"):
        print("Failed: %s." % out["error"])
        print()
    for kind, why in out.get("skipped", {}).items():
        print("- %s skipped: %s." % (kind, why))
    if out.get("skipped"):
        print()
    kinds = [k for k in out["kinds"] if k not in out.get("skipped", {})]
    if not kinds:
        return
    print("| consumer | start → catalog transferred (s) | catalog → first member transferred "
          "(s) | catalog → last member transferred (s) | catalog → every member answers (s) | "
          "start → every member answers (s) | members/s after the catalog | consumer CPU (s) | "
          "primary CPU (s) | start → every member's copy saved (s) | consumer CPU until then "
          "(s) | RSS with members (MiB) | RSS, empty catalog (MiB) | KiB per member |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    notes = []
    for kind in kinds:
        full = [r for r in out["runs"] if r["kind"] == kind and not r["baseline"]]
        base = [r for r in out["runs"] if r["kind"] == kind and r["baseline"]]
        ok = [r for r in full if not r.get("error")]
        errs = [r["error"] for r in full + base if r.get("error")]
        if errs:
            notes.append("%s: %s" % (kind, "; ".join(errs[:2])))
        if not ok:
            print("| %s | failed | | | | | | | | | | | | |" % kind)
            continue

        def since_cat(key):
            return med(r[key] - r["catalog_s"] for r in ok
                       if r.get(key) is not None and r.get("catalog_s") is not None)

        after = since_cat("all_s")
        rss = med(r["rss_kb"] for r in ok)
        brss = med(r["rss_kb"] for r in base if r.get("rss_kb"))
        per = None if rss is None or brss is None or not n else (rss - brss) / n
        print("| %s | %s | %s | %s | %s | **%s** | %s | %s | %s | %s | %s | %s | %s | **%s** |" % (
            kind, fmt(med(r.get("catalog_s") for r in ok)), fmt(since_cat("first_xfr_s")),
            fmt(since_cat("last_xfr_s")), fmt(after), fmt(med(r["all_s"] for r in ok)),
            fmt(n / after if after else None, "%.0f"), fmt(med(r["cpu_s"] for r in ok)),
            fmt(med(r["primary_cpu_s"] for r in ok)), fmt(med(r.get("saved_s") for r in ok)),
            fmt(med(r.get("saved_cpu_s") for r in ok)), fmt(rss / 1024 if rss else None, "%.1f"),
            fmt(brss / 1024 if brss else None, "%.1f"), fmt(per, "%.2f")))
        for r in ok:
            half = next((t for t, c in r.get("progress", []) if c >= n // 2), None)
            notes.append("%s round %d: catalog transferred %s s after start%s; members' "
                         "transfers logged from %s to %s s (%d members); the first half of "
                         "the members (in order) answering at %s s, all at %s s; VmRSS %.1f "
                         "MiB when the last answered, VmHWM %.1f MiB; %d of %d answered again "
                         "2 s later; every member's copy on disk at %s s (CPU %s s); "
                         "%d polling queries; other processes used %.0f%% of the "
                         "machine meanwhile (load average %.1f at the end); log `%s`" % (
                             kind, r["round"], fmt(r.get("catalog_s")),
                             "" if r.get("read_s") is None else
                             ", read at %s s" % fmt(r["read_s"]),
                             fmt(r.get("first_xfr_s")), fmt(r.get("last_xfr_s")),
                             r.get("members_logged", 0), fmt(half), fmt(r["all_s"]),
                             r["rss_at_all_kb"] / 1024, r["hwm_kb"] / 1024, r["verified"], n,
                             fmt(r.get("saved_s")), fmt(r.get("saved_cpu_s")), r["sent"], 100 * r["others"], r["loadavg"], r["log"]))
    print()
    print("Settings of each consumer (otherwise its defaults):")
    print()
    for kind in kinds:
        print("- %s: %s." % (kind, settings(kind, out["transfers"])))
    print()
    for x in notes:
        print("- %s." % x)
    if out.get("primary_log"):
        print("- the primary served every member and a full catalog %s s after its start; "
              "its log `%s`." % (fmt(out.get("primary_up_s")), out["primary_log"]))
    print()
    print("- How it was measured: \"start\" is the consumer's exec; \"transferred\" the "
          "arrival of its own log line saying so for that zone (Knot `AXFR, incoming, ... "
          "finished`, named `Transfer completed`, shoal `transferred AXFR`), every line stamped "
          "as it came; \"every member answers\" the moment the last member's SOA was answered "
          "NOERROR with AA, the members asked in order, up to "
          "%d in flight, a member not yet answering asked again every %.0f ms. Memory: VmRSS "
          "of the consumer's processes %.0f s after the last member answered, less the same "
          "of the consumer of an empty catalog, over %s members. CPU: utime+stime of the "
          "consumer until the last member answered, and of the primary over the same span. "
          "\"Copy saved\": the consumer's member folder holds a file for every member, named "
          "as its copies are (not a temporary name), counted every 50 ms from the moment the "
          "last member answered, for up to %.0f s after the memory reading; CPU the "
          "consumer's then."
          % (WINDOW_MAX, TICK * 1000, SETTLE, format(n, ","), SAVED_TIMEOUT))
