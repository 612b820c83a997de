"""--fleet: how fast a fleet of secondaries converges after a change on
the primary, and what they do when the primary or one of them restarts.

One Knot primary (knotd) of the --names zone (bench.test., 100,000 hosts by
default) on 127.0.0.1, and, in turn, three secondaries of one kind (shoal,
Knot, NSD) on loopback ports of their own. TSIG (hmac-sha256, one key)
between the primary and the secondaries: the primary's NOTIFY is signed,
and so are the secondaries' SOA queries and transfers; the primary allows
DNS UPDATE from 127.0.0.1 without a key (knsupdate), journals every update
and serves it as IXFR, and notifies all three (Knot 3.2: over TCP).

Per fleet:

  start    the primary, then the three secondaries, each timed from its
           start until it answers the zone's last host (first AXFR);
  changes  dnsperf at a fixed total rate (--fleet-rate, split evenly, one
           dnsperf a secondary) on the secondaries meanwhile; CHANGES
           updates through knsupdate, alternately adding fleetN A 192.0.2.N
           and changing an existing host's A; each timed from knsupdate's
           return until every secondary answers the new data (each asked
           every 2 ms over UDP, as --xfr-latency does), and from the
           primary's NOTIFY (see below) until then;
  outage   the primary stopped (SIGTERM) for OUTAGE s: each secondary asked
           once meanwhile; started again (its zone file plus its journal),
           and a change made once it answers: the fleet's catch-up;
  (dnsperf stops here: its queries lost are the fleet's loss)
  restart  one secondary stopped and started again: from its start until
           it answers NOERROR for the last change's name (its saved copy),
           then a change: its catch-up, and whether it came by IXFR.

When the NOTIFY left: Knot's log says "notify, outgoing, ... serial N"
in whole seconds only, and only once that secondary has answered the
NOTIFY (NSD secondaries took tens of milliseconds to answer theirs, over
TCP, and Knot waits for each answer before notifying the next). So the primary's notify: list starts with a witness,
a NOTIFY listener of this script (TCP and UDP, no TSIG) that stamps each
NOTIFY on arrival with the monotonic clock the polling uses and answers at
once: Knot 3.2 notifies its remotes one after the other in the list's
order, so the witness's NOTIFY is the start of the primary's notifying, and
"from the NOTIFY" runs from it until the last secondary answers the
change. Every server's output is also read through a pipe and each line
stamped on arrival the same way: the primary's "notify, outgoing" lines
(when each secondary answered its NOTIFY) and the secondaries' own
receipt lines (Knot "notify, incoming", NSD "notify for ... serial" at
verbosity 2, shoal's) are reported beside it.
"""
import base64
import os
import pwd
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import threading
import time

from . import log, proc
from .dns import dns_query, free_port, skip_name
from .load import dnsperf_cmd, parse_dnsperf
from .servers import BIN, LOAD_TIMEOUT, START_TIMEOUT, STOP_TIMEOUT, Server
from .xfr import wait_for
from .zones import ZONE, gen_queries, gen_zone

FLEET_KINDS = ("shoal", "knot", "nsd")  # the order of the runs
SECONDARIES = 3
CHANGES = 20  # updates timed under load (--quick: 3)
OUTAGE = 5.0  # s the primary is down
CHANGE_TIMEOUT = 15.0  # s: a change not seen by every secondary by then is missed
SETTLE = 0.3  # s after a change has converged before the next one
NSUPDATE_TIMEOUT = 15  # s
DNSPERF_MAX = 900  # s: dnsperf's -l, a bound; it is stopped with SIGINT
KEY_ID = "xfr"

# Lines, per server kind, that say a NOTIFY left (the primary) or came in
# (a secondary); group 1, where there is one, is the serial.
NOTIFY_OUT = re.compile(r"notify, outgoing, remote [\d.]+@(\d+), serial (\d+)")
NOTIFY_IN = {
    "knot": re.compile(r"notify, incoming, remote [^,]*(?:,[^,]*)*?, serial (\d+)|"
                       r"notify, incoming"),
    "nsd": re.compile(r"notify for \S+ from \S+(?: serial (\d+))?"),
    "shoal": re.compile(r"(?i)notify.*?(?:serial (\d+)|$)"),
}
# Lines of a secondary that say it has the new version (group 1: its
# serial): Knot's refresh done, NSD's reload done (xfrd's line), shoal's
# transfer done.
APPLIED = {
    "knot": re.compile(r"refresh, .*zone updated, .*serial \S+ -> (\d+)"),
    "nsd": re.compile(r"zone \S+ serial \d+ is updated to (\d+)"),
    "shoal": re.compile(r"transferred [AI]XFR .*serial (?:\d+ -> )?(\d+)"),
}
APPLIED_WHAT = {"knot": "\"refresh, ... zone updated\"",
                "nsd": "\"serial N is updated to M\"",
                "shoal": "\"transferred IXFR\""}
# Lines of a secondary that say how it got a new version.
XFR_IN = {
    "knot": re.compile(r"(IXFR|AXFR), incoming.*finished.*"),
    "nsd": re.compile(r"received update to serial \d+ .* of \d+ bytes"),
    "shoal": re.compile(r".*(?:IXFR|AXFR).*"),
}


# What each kind of secondary is set to, as the report says it.
CONFIGS = {
    "knot": "knotd, `master:` the primary with the key, an acl letting its signed NOTIFY in; "
            "udp-workers 1, tcp-workers 1; defaults otherwise (zone file written after each "
            "transfer, zonefile-sync 0; journal of changes; its storage in its own folder)",
    "nsd": "nsd -d, `request-xfr:` and `allow-notify:` with the key; server-count 1; "
           "database nsd.db (its default store for transfers, read again at start; "
           "database \"\" would serve nothing after a restart until an AXFR, as the zone "
           "file is written only hourly); verbosity 2 (logs NOTIFYs)",
    "shoal": "shoal --config, `primary:` the primary (a remote with the key), an acl with "
             "action notify and the key; threads 1; storage in its own folder",
}
PRIMARY_CONFIG = ("knotd 3.2: udp-workers 1, tcp-workers 2, background-workers 2; zone file "
                  "never written back (zonefile-sync -1), the updates journaled (journal-content "
                  "changes) and served as IXFR; notify: the witness then the three secondaries; "
                  "acl: transfer with the key from 127.0.0.0/8, update without a key from "
                  "127.0.0.1")


class TappedServer(Server):
    """A Server whose output is read through a pipe by a thread that stamps
    every line on arrival (time.monotonic()) before writing it to the log,
    so that log lines can be timed to the millisecond whatever the
    server's own timestamps say."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.lines = []  # (stamp, text), every start appended
        self.lock = threading.Lock()
        self.tap = None

    def start(self, cpus):
        # Server.stop() closes logf: here a placeholder, the log is the tap's.
        self.logf = open(os.devnull, "ab")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(["taskset", "-c", cpus] + self.argv,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, cwd=self.workdir, env=self.env,
                                     start_new_session=True)
        proc.RUNNING.append(self.proc)
        self.tap = threading.Thread(target=self.read, args=(self.proc.stdout,), daemon=True)
        self.tap.start()

    def read(self, pipe):
        with open(self.logpath, "a") as f:
            f.write("--- started (monotonic %.6f)\n" % self.started)
            for raw in iter(pipe.readline, b""):
                t = time.monotonic()
                text = raw.decode("utf-8", "replace").rstrip("\n")
                with self.lock:
                    self.lines.append((t, text))
                f.write("%.6f %s\n" % (t, text))
                f.flush()
        pipe.close()

    def stop(self):
        super().stop()
        if self.tap:
            self.tap.join(timeout=STOP_TIMEOUT)
            self.tap = None

    def since(self, t0, pattern):
        """[(stamp, match)] of the lines stamped at or after t0 that match."""
        with self.lock:
            got = [(t, pattern.search(x)) for t, x in self.lines if t >= t0]
        return [(t, m) for t, m in got if m]


def first_soa_serial(m):
    """The serial of the SOA that is the first answer record of message m
    (a response to an SOA query, or a NOTIFY), or None."""
    try:
        if len(m) < 12 or struct.unpack(">H", m[6:8])[0] < 1:
            return None
        i = skip_name(m, 12) + 4  # the question
        i = skip_name(m, i)  # the answer's owner
        if struct.unpack(">H", m[i:i + 2])[0] != 6:
            return None
        i = skip_name(m, skip_name(m, i + 10))  # type, class, TTL, rdlength; MNAME, RNAME
        return struct.unpack(">I", m[i:i + 4])[0]
    except (IndexError, struct.error):
        return None


class NotifyWitness(threading.Thread):
    """A NOTIFY listener on 127.0.0.1:port (TCP and UDP), first in the
    primary's notify: list: stamps every NOTIFY on arrival (monotonic) with
    the serial it carries, and answers it at once (QR, NOERROR, the
    question echoed). Stops with stop(); every wait bounded."""

    def __init__(self):
        super().__init__(daemon=True)
        self.port = free_port()
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(16)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.seen = []  # (stamp, serial or None, "tcp"/"udp")
        self.lock = threading.Lock()
        self.halt = threading.Event()

    @staticmethod
    def reply(m):
        i = skip_name(m, 12) + 4
        flags = 0x8000 | (m[2] & 0x78) << 8 | 0x0400  # QR, the opcode, AA
        return m[:2] + struct.pack(">HHHHH", flags, 1, 0, 0, 0) + m[12:i]

    def note(self, m, how):
        t = time.monotonic()
        with self.lock:
            self.seen.append((t, first_soa_serial(m), how))

    def run(self):
        conns = {}  # socket: bytes read so far
        try:
            while not self.halt.is_set():
                rd = select.select([self.tcp, self.udp] + list(conns), [], [], 0.1)[0]
                for sk in rd:
                    try:
                        if sk is self.tcp:
                            c, _a = self.tcp.accept()
                            conns[c] = b""
                        elif sk is self.udp:
                            m, a = self.udp.recvfrom(65535)
                            if len(m) >= 12:
                                self.note(m, "udp")
                                self.udp.sendto(self.reply(m), a)
                        else:
                            got = sk.recv(65535)
                            if not got:
                                del conns[sk]
                                sk.close()
                                continue
                            buf = conns[sk] + got
                            while len(buf) >= 2 and len(buf) >= 2 + (buf[0] << 8 | buf[1]):
                                n = buf[0] << 8 | buf[1]
                                m, buf = buf[2:2 + n], buf[2 + n:]
                                if len(m) >= 12:
                                    self.note(m, "tcp")
                                    r = self.reply(m)
                                    sk.sendall(struct.pack(">H", len(r)) + r)
                            conns[sk] = buf
                    except (OSError, IndexError, struct.error):
                        if sk in conns:
                            del conns[sk]
                            sk.close()
        finally:
            for c in conns:
                c.close()
            self.tcp.close()
            self.udp.close()

    def first(self, t0, serial):
        """When the first NOTIFY for `serial` came at or after t0, or None."""
        with self.lock:
            got = [t for t, sr, _h in self.seen if t >= t0 and (sr == serial or serial is None)]
        return min(got) if got else None

    def stop(self):
        self.halt.set()
        self.join(timeout=2)


def soa_serial(port, timeout=0.5):
    """The SOA serial 127.0.0.1:port answers for ZONE, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.connect(("127.0.0.1", port))
        s.send(dns_query(0x5E5E, ZONE, "SOA"))
        r = s.recv(65535)
        return None if len(r) < 12 or r[3] & 15 else first_soa_serial(r)
    except (OSError, IndexError, struct.error):
        return None
    finally:
        s.close()


def shoal_user_owns(path):
    """shoal started as root drops to the user shoal (else nobody): its
    storage must be that user's."""
    if os.geteuid() != 0:
        return
    try:
        pw = pwd.getpwnam("shoal")
    except KeyError:
        pw = pwd.getpwnam("nobody")
    for d, _dirs, files in os.walk(path):
        os.chown(d, pw.pw_uid, pw.pw_gid)
        for f in files:
            os.chown(os.path.join(d, f), pw.pw_uid, pw.pw_gid)


def knot_primary(wd, port, secret, zfile, sec_ports, witness_port):
    """The Knot primary: its notify: list is the witness, then the
    secondaries, in that order."""
    os.makedirs(os.path.join(wd, "db"), exist_ok=True)
    conf = os.path.join(wd, "knot.conf")
    remotes = "  - id: witness\n    address: 127.0.0.1@%d\n" % witness_port
    remotes += "".join("  - id: sec%d\n    address: 127.0.0.1@%d\n    key: %s\n"
                       % (i + 1, p, KEY_ID) for i, p in enumerate(sec_ports))
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
    any: info
key:
  - id: {key}
    algorithm: hmac-sha256
    secret: {secret}
remote:
{remotes}acl:
  - id: secondaries
    address: 127.0.0.0/8
    key: {key}
    action: transfer
  - id: updates
    address: 127.0.0.1
    action: update
database:
    storage: "{wd}/db"
template:
  - id: default
    storage: "{wd}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
    semantic-checks: off
zone:
  - domain: {zone}
    file: "{zfile}"
    notify: [{notify}]
    acl: [secondaries, updates]
""".format(wd=wd, port=port, key=KEY_ID, secret=secret, remotes=remotes, zone=ZONE, zfile=zfile,
           notify=", ".join(["witness"] + ["sec%d" % (i + 1) for i in range(len(sec_ports))])))
    return TappedServer("primary", [shutil.which("knotd") or "knotd", "-c", conf], port, wd)


def secondary(kind, n, wd, port, pport, secret):
    """A secondary of ZONE of this kind, named kind-n, transferring from the
    primary on 127.0.0.1:pport with TSIG, accepting its signed NOTIFY."""
    os.makedirs(wd, exist_ok=True)
    name = "%s-%d" % (kind, n)
    if kind == "knot":
        for d in ("db", "zones"):
            os.makedirs(os.path.join(wd, d), exist_ok=True)
        conf = os.path.join(wd, "knot.conf")
        with open(conf, "w") as f:
            # One UDP and one TCP worker (as shoal's one thread each and
            # NSD's one server); Knot's defaults otherwise: background
            # workers, the zone file written after each transfer
            # (zonefile-sync: 0) and the journal keeping the changes, both
            # in the storage and loaded on restart.
            f.write("""server:
    rundir: "{wd}"
    pidfile: "{wd}/knot.pid"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
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
  - id: notify
    address: 127.0.0.0/8
    key: {key}
    action: notify
database:
    storage: "{wd}/db"
template:
  - id: default
    storage: "{wd}/zones"
    master: primary
    acl: [notify]
    semantic-checks: off
zone:
  - domain: {zone}
""".format(wd=wd, port=port, pport=pport, key=KEY_ID, secret=secret, zone=ZONE))
        return TappedServer(name, [shutil.which("knotd") or "knotd", "-c", conf], port, wd)
    if kind == "nsd":
        conf = os.path.join(wd, "nsd.conf")
        with open(conf, "w") as f:
            # NSD's default store for a secondary, nsd.db: every transfer
            # is committed to it and a restart serves from it. (Without it,
            # database: "", NSD writes the zone file only every
            # zonefiles-write s, an hour by default, and not when it
            # stops: a restarted secondary then has nothing to serve until
            # a whole AXFR.)
            f.write("""server:
    ip-address: 127.0.0.1@{port}
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "{wd}"
    database: "{wd}/nsd.db"
    zonelistfile: "{wd}/zone.list"
    xfrdfile: "{wd}/xfrd.state"
    xfrdir: "{wd}"
    pidfile: "{wd}/nsd.pid"
    verbosity: 2
    minimal-responses: yes
    refuse-any: no
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
key:
    name: {key}
    algorithm: hmac-sha256
    secret: "{secret}"
zone:
    name: "{zone}"
    zonefile: "{wd}/{zone}zone"
    request-xfr: 127.0.0.1@{pport} {key}
    allow-notify: 127.0.0.1 {key}
""".format(wd=wd, port=port, pport=pport, key=KEY_ID, secret=secret, zone=ZONE))
        return TappedServer(name, [shutil.which("nsd") or "nsd", "-d", "-c", conf], port, wd)
    if kind == "shoal":
        storage = os.path.join(wd, "storage")
        os.makedirs(storage, exist_ok=True)
        os.chmod(wd, 0o755)
        conf = os.path.join(wd, "shoal.yaml")
        with open(conf, "w") as f:
            f.write("""server:
  listen: 127.0.0.1@{port}
  threads: 1
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
  - id: notify
    address: 127.0.0.0/8
    key: {key}
    action: notify
zone:
  - domain: {zone}
    storage: {storage}
    primary: primary
    acl: [notify]
""".format(wd=wd, port=port, pport=pport, key=KEY_ID, secret=secret, zone=ZONE,
           storage=storage))
        os.chmod(conf, 0o644)
        shoal_user_owns(storage)
        return TappedServer(name, [BIN["shoal"], "--config", conf], port, wd)
    raise ValueError(kind)


def nsupdate(pport, lines):
    """knsupdate to the primary: the update `lines`, sent once. Returns
    (monotonic time of its return, its seconds, error or None)."""
    text = "server 127.0.0.1 %d\nzone %s\norigin %s\n%s\nsend\nquit\n" % (
        pport, ZONE, ZONE, "\n".join(lines))
    t0 = time.monotonic()
    try:
        p = subprocess.run(["knsupdate", "-t", "5"], input=text, capture_output=True, text=True,
                           timeout=NSUPDATE_TIMEOUT)
        err = None if p.returncode == 0 else "knsupdate exit %d: %s" % (
            p.returncode, (p.stderr or p.stdout).strip()[:300])
    except subprocess.TimeoutExpired:
        err = "knsupdate timed out"
    t1 = time.monotonic()
    return t1, t1 - t0, err


def change_for(i, names):
    """The update of change i and what it makes a secondary answer: odd i
    adds fleetI A 192.0.2.I, even i changes an existing host's A."""
    if i % 2:
        name = "fleet%d.%s" % (i, ZONE)
        want = "192.0.2.%d" % (i % 250 + 1)
        return ["update add %s 300 A %s" % (name, want)], name, want, "add"
    host = "h%d.%s" % ((i * 7919) % names, ZONE)
    want = "198.51.100.%d" % (i % 250 + 1)
    return ["update delete %s A" % host, "update add %s 300 A %s" % (host, want)], host, want, \
        "change"


class Fleet:
    """The primary, the witness and the secondaries of one run, and the
    timing of one change across them."""

    def __init__(self, kind, primary, witness, secs, names):
        self.kind, self.primary, self.witness = kind, primary, witness
        self.secs, self.names = secs, names
        self.ports = {s.name: s.port for s in secs}

    def change(self, i, targets=None, label=""):
        """Change i on the primary; waits until every secondary of targets
        (default all) answers it. Returns a dict: i, serial, kind, name,
        upd_s (knsupdate's own time), from_update and from_notify (until
        the last of targets answers; None when one did not within
        CHANGE_TIMEOUT), notify_after_update (the witness's NOTIFY after
        knsupdate's return), per {secondary: seconds from the update},
        and from the witness's NOTIFY: notify_answered {secondary: the
        primary's "notify, outgoing" line}, notify_in {secondary: its own
        receipt line}; error."""
        targets = targets or self.ports
        lines, name, want, what = change_for(i, self.names)
        t_start = time.monotonic()
        t_upd, upd_s, err = nsupdate(self.primary.port, lines)
        rec = {"i": i, "kind": what, "name": name, "upd_s": upd_s, "error": err, "serial": None,
               "from_update": None, "from_notify": None, "notify_after_update": None,
               "per": {}, "notify_answered": {}, "notify_in": {}, "applied": {},
               "applied_to_answer": {}}
        if err:
            log("%s change %d%s: %s" % (self.kind, i, label, err))
            return rec
        t_call = time.monotonic()
        seen = wait_for(targets, name, want, CHANGE_TIMEOUT)
        serial = soa_serial(self.primary.port)
        rec["serial"] = serial
        got = {k: (t_call + v if v is not None else None) for k, v in seen.items()}
        rec["per"] = {k: (v - t_upd if v is not None else None) for k, v in got.items()}
        last = max(got.values()) if all(v is not None for v in got.values()) else None
        if last is not None:
            rec["from_update"] = last - t_upd
        t_n = self.witness.first(t_start, serial)
        if t_n is not None:
            rec["notify_after_update"] = t_n - t_upd
            if last is not None:
                rec["from_notify"] = last - t_n
            by_port = {s.port: s.name for s in self.secs}
            for t, m in self.primary.since(t_start, NOTIFY_OUT):
                k = by_port.get(int(m.group(1)))
                if k in targets and (serial is None or int(m.group(2)) == serial):
                    rec["notify_answered"].setdefault(k, t - t_n)
            pat = NOTIFY_IN[self.kind]
            for s in self.secs:
                if s.name not in targets:
                    continue
                ins = [t for t, m in s.since(t_start, pat)
                       if not m.groups() or m.group(1) is None or serial is None
                       or int(m.group(1)) == serial]
                if ins:
                    rec["notify_in"][s.name] = min(ins) - t_n
                done = [t for t, m in s.since(t_start, APPLIED[self.kind])
                        if serial is None or int(m.group(1)) == serial]
                if done:
                    rec["applied"][s.name] = min(done) - t_n
                    if got.get(s.name) is not None:
                        rec["applied_to_answer"][s.name] = got[s.name] - min(done)
        else:
            rec["error"] = "no NOTIFY for serial %s reached the witness" % serial
        log("%s change %d%s (%s %s, serial %s): knsupdate %.0f ms; every secondary answers "
            "%s ms after its return, %s ms after the NOTIFY (which came %s ms after the "
            "update); each: %s; NOTIFY answered (primary's log): %s" % (
                self.kind, i, label, what, name, serial, upd_s * 1000, ms(rec["from_update"]),
                ms(rec["from_notify"]), ms(rec["notify_after_update"]),
                " ".join("%s=%s" % (k, ms(v)) for k, v in rec["per"].items()),
                " ".join("%s=+%s" % (k, ms(v)) for k, v in rec["notify_answered"].items())))
        return rec


def ms(v):
    return "-" if v is None else "%.1f" % (v * 1000)


def start_dnsperf(fleet, qfile, rate, args):
    """One dnsperf per secondary at rate/len(secs) q/s, pinned to the load
    generator's CPU, stopped by stop_dnsperf (SIGINT) and bounded by -l."""
    each = max(1, rate // len(fleet.secs))
    out = []
    for s in fleet.secs:
        cmd = dnsperf_cmd(s.port, qfile, DNSPERF_MAX, args.perf_cpus, args, rate=each)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        proc.RUNNING.append(p)
        out.append((s.name, p))
    return out


def stop_dnsperf(runs, args):
    """SIGINT to every dnsperf (it stops and prints its summary). Returns
    {secondary: summary or {"error": ...}}."""
    for _name, p in runs:
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGINT)  # taskset exec'd dnsperf: this is dnsperf
            except ProcessLookupError:
                pass
    res = {}
    for name, p in runs:
        try:
            o, e = p.communicate(timeout=args.timeout + 30)
            res[name] = parse_dnsperf(p.returncode, o, e)
        except (subprocess.TimeoutExpired, RuntimeError) as ex:
            res[name] = {"error": str(ex)[:500]}
            if p.poll() is None:
                p.kill()
                p.wait()
        if p in proc.RUNNING:
            proc.RUNNING.remove(p)
    return res


class Others:
    """How much of the machine processes other than this run's used over
    a stretch (the machine is shared): all CPUs' busy time (/proc/stat)
    less this run's servers, dnsperf, knsupdate and this script."""

    def __init__(self, servers, runs):
        self.servers, self.runs = servers, runs
        self.k0, self.t0 = proc.cpu_stat(), time.monotonic()
        self.ours0 = self.ours()

    def ours(self):
        pids = [pid for s in self.servers for pid in s.pids()]
        pids += [p.pid for _n, p in self.runs if p.poll() is None]
        me = os.times()
        return proc.cpu_ticks(pids) / proc.HZ + proc.children_cpu() + me.user + me.system

    def share(self):
        """(share of the machine used by others, load average now)."""
        k1, t1 = proc.cpu_stat(), time.monotonic()
        busy = sum(k1[c][0] - self.k0[c][0] for c in k1 if c in self.k0) / proc.HZ
        # Processes that exited meanwhile (a stopped server) are not in
        # ours(): their time counts as others', an overestimate.
        other = max(0.0, busy - (self.ours() - self.ours0))
        return other / max((t1 - self.t0) * len(k1), 1e-3), os.getloadavg()[0]


def dead(servers, out, when):
    """Whether one of servers has exited; if so out["error"] says which,
    with its last lines."""
    for s in servers:
        if s.proc is not None and s.proc.poll() is not None:
            tail = [x for _t, x in s.lines[-4:]]
            out["error"] = "%s exited with status %s by %s; its last lines: %s (log: %s)" % (
                s.name, s.proc.returncode, when, " | ".join(tail), s.logpath)
            log(out["error"])
            return True
    return False


def run_fleet(kind, args, tmp, zfile, qfile, names, secret):
    """One fleet: see the module's text. Returns a dict for print_fleet."""
    wd = os.path.join(tmp, "fleet-%s" % kind)
    os.makedirs(wd, exist_ok=True)
    os.chmod(wd, 0o755)
    out = {"kind": kind, "error": None, "changes": [], "outage": {}, "restart": {},
           "initial": {}, "load": {}}
    pport = free_port()
    ports = []
    while len(ports) < SECONDARIES:
        p = free_port()
        if p != pport and p not in ports:
            ports.append(p)
    witness = NotifyWitness()
    while witness.port == pport or witness.port in ports:
        witness.tcp.close()
        witness.udp.close()
        witness = NotifyWitness()
    witness.start()
    primary = knot_primary(os.path.join(wd, "primary"), pport, secret, zfile, ports,
                           witness.port)
    secs = [secondary(kind, n + 1, os.path.join(wd, "%s-%d" % (kind, n + 1)), p, pport, secret)
            for n, p in enumerate(ports)]
    out["logs"] = [primary.logpath] + [s.logpath for s in secs]
    last_host = "h%d.%s" % (names - 1, ZONE)
    runs = []
    try:
        # The primary shares the load generator's CPU; the secondaries the
        # servers' (as the other benchmarks pin servers and dnsperf).
        primary.start(args.perf_cpus)
        if primary.wait_answering(last_host, "A", LOAD_TIMEOUT) is None:
            out["error"] = "the Knot primary did not start: %s (log: %s)" % (
                primary.error, primary.logpath)
            out["setup_failed"] = True
            return out
        for s in secs:
            s.start(args.srv_cpus)
        for s in secs:
            t = s.wait_answering(last_host, "A", LOAD_TIMEOUT)
            if t is None:
                tail = [x for _t, x in s.lines[-5:]]
                out["error"] = "secondary %s never answered the zone: %s; last lines: %s " \
                    "(log: %s)" % (s.name, s.error, " | ".join(tail), s.logpath)
                return out
            out["initial"][s.name] = t
        log("%s fleet: primary on :%d, secondaries %s have the zone after %s s" % (
            kind, pport, ", ".join("%s :%d" % (s.name, s.port) for s in secs),
            ", ".join("%.2f" % out["initial"][s.name] for s in secs)))
        fleet = Fleet(kind, primary, witness, secs, names)
        time.sleep(1.0)  # the first transfers' after-work (zone files written)

        runs = start_dnsperf(fleet, qfile, args.fleet_rate, args)
        others = Others([primary] + secs, runs)
        time.sleep(1.0)
        changes = 3 if args.quick else CHANGES
        for i in range(1, changes + 1):
            out["changes"].append(fleet.change(i))
            if dead(secs + [primary], out, "change %d" % i):
                return out
            time.sleep(SETTLE)

        # The primary stopped for OUTAGE s; the secondaries keep answering.
        i = changes + 1
        o = out["outage"]
        last = out["changes"][-1] if out["changes"] else None
        t_down = time.monotonic()
        primary.stop()
        time.sleep(1.0)
        if last:
            _l, name, want, _w = change_for(last["i"], names)
            seen = wait_for(fleet.ports, name, want, 1.0)
            o["answered"] = sum(1 for v in seen.values() if v is not None)
            o["asked"] = len(seen)
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - t_down)))
        o["down_s"] = time.monotonic() - t_down
        primary.start(args.perf_cpus)
        t = primary.wait_answering(last_host, "A", LOAD_TIMEOUT)
        if t is None:
            out["error"] = "the Knot primary did not start again: %s (log: %s)" % (
                primary.error, primary.logpath)
            return out
        o["primary_up_s"] = t
        o["serial_after"] = soa_serial(pport)
        o["serial_before"] = last["serial"] if last else None
        o["change"] = fleet.change(i, label=" (after the primary's outage)")
        out["others"], out["loadavg"] = others.share()
        out["load"] = stop_dnsperf(runs, args)
        runs = []
        if dead(secs + [primary], out, "the primary's outage"):
            return out

        # One secondary stopped and started again: its saved copy, then a change.
        i += 1
        r = out["restart"]
        victim = secs[-1]
        prev = o["change"] if o["change"].get("from_update") is not None else last
        _l, name, want, _w = change_for(prev["i"], names)
        victim.stop()
        time.sleep(0.5)
        victim.start(args.srv_cpus)
        t_start = victim.started
        t = victim.wait_answering(name, "A", START_TIMEOUT)
        r["name"] = victim.name
        r["first_answer_s"] = t
        # A transfer before the first answer: it did not serve a saved copy.
        r["xfr_before_first"] = [m.group(0) for tt, m in victim.since(t_start, XFR_IN[kind])
                                 if t is None or tt <= t_start + t]
        if t is None:
            r["error"] = "%s: %s" % (victim.name, victim.error)
        else:
            seen = wait_for({victim.name: victim.port}, name, want, 0.5)
            r["first_answer_current"] = seen[victim.name] is not None
            r["serial_at_first"] = soa_serial(victim.port)
        time.sleep(0.5)
        r["change"] = fleet.change(i, targets={victim.name: victim.port},
                                   label=" (after restarting %s)" % victim.name)
        # The others too, for the record (they got it meanwhile).
        r["xfr_lines"] = [m.group(0) for _t, m in victim.since(t_start, XFR_IN[kind])][-6:]
        r["saved_copy"] = t is not None and not r["xfr_before_first"]
        time.sleep(0.5)
        return out
    finally:
        if runs:
            out["load"] = stop_dnsperf(runs, args)
        for s in secs:
            s.stop()
        primary.stop()
        witness.stop()


def fleet_bench(args, tmp, kinds):
    """--fleet: one run per kind of secondary. Returns a dict for print_fleet
    (and setup_failed: the primary did not start or a tool is missing,
    where scripts/bench exits non-zero; a secondary that fails is a
    result, not a setup failure)."""
    names = 10000 if args.quick else args.names
    zdir = os.path.join(tmp, "fleet-zone")
    os.makedirs(zdir, exist_ok=True)
    os.chmod(zdir, 0o755)
    zfile = os.path.join(zdir, ZONE + "zone")
    records = gen_zone(zfile, names)
    qfile = os.path.join(tmp, "fleet-queries.txt")
    gen_queries(qfile, names)
    secret = base64.b64encode(os.urandom(32)).decode()
    out = {"records": records, "names": names, "fleets": []}
    for kind in kinds:
        missing = [t for t in (("knotd", "knsupdate") + (("nsd",) if kind == "nsd" else ()))
                   if not shutil.which(t)]
        if kind == "shoal" and not os.access(BIN["shoal"], os.X_OK):
            missing.append(BIN["shoal"])
        if missing:
            out["fleets"].append({"kind": kind, "error": "not installed: %s" % ", ".join(missing),
                                  "setup_failed": True})
            continue
        log("fleet of %s secondaries: %d records, %d q/s of dnsperf" % (kind, records,
                                                                         args.fleet_rate))
        out["fleets"].append(run_fleet(kind, args, tmp, zfile, qfile, names, secret))
    out["setup_failed"] = any(f.get("setup_failed") for f in out["fleets"])
    return out


def stats(vals):
    v = [x for x in vals if x is not None]
    if not v:
        return "-", "-"
    return "%.0f" % (statistics.median(v) * 1000), "%.0f" % (max(v) * 1000)


def print_fleet(args, out):
    """The table of each fleet, then one comparison table."""
    print("### Fleet convergence: one Knot primary, %d secondaries of each kind, zone of %s "
          "records" % (SECONDARIES, format(out["records"], ",")))
    print()
    print("Settings: zone %s with %s hosts (%s records); %d changes by knsupdate per fleet "
          "(alternately a new name and a changed address); dnsperf at %d q/s in all (%d q/s "
          "per secondary, %d client sockets each) during the changes and the primary's "
          "outage; TSIG hmac-sha256 between primary and secondaries; primary outage %.0f s. "
          "Secondaries on CPU %s (one worker each), the primary, dnsperf and the polling on "
          "CPU %s. Primary: %s." % (ZONE, format(out["names"], ","), format(out["records"], ","),
                                     3 if args.quick else CHANGES, args.fleet_rate,
                                     args.fleet_rate // SECONDARIES, args.clients, OUTAGE,
                                     args.srv_cpus, args.perf_cpus, PRIMARY_CONFIG))
    print()
    summary = []
    for f in out["fleets"]:
        kind = f["kind"]
        print("#### %s secondaries" % kind)
        print()
        print("Secondaries: %s." % CONFIGS.get(kind, kind))
        print()
        if f.get("error") and not f.get("changes"):
            print("Failed: %s." % f["error"])
            print()
            summary.append((kind, None))
            continue
        ch = f["changes"]
        seen = [c for c in ch if c["from_update"] is not None]
        mu, wu = stats(c["from_update"] for c in ch)
        mn, wn = stats(c["from_notify"] for c in ch)
        md, wd = stats(c["notify_after_update"] for c in ch)
        load = f.get("load") or {}
        sent = sum(v.get("sent", 0) for v in load.values())
        lost = sum(v.get("lost", 0) for v in load.values())
        lerr = [k for k, v in load.items() if "error" in v]
        o, r = f.get("outage") or {}, f.get("restart") or {}
        oc = o.get("change") or {}
        rc = r.get("change") or {}
        rname = r.get("name")
        rcatch = (rc.get("per") or {}).get(rname)
        print("| measure | value |")
        print("|---|---:|")
        print("| changes seen by every secondary within %.0f s | %d of %d |" % (
            CHANGE_TIMEOUT, len(seen), len(ch)))
        print("| from knsupdate's return: median / worst (ms) | %s / %s |" % (mu, wu))
        print("| from the primary's NOTIFY: median / worst (ms) | %s / %s |" % (mn, wn))
        print("| (the NOTIFY after knsupdate's return: median / worst, ms) | %s / %s |"
              % (md, wd))
        print("| dnsperf queries lost / sent | %s |" % (
            "%d / %d%s" % (lost, sent, " (%s: no summary)" % ", ".join(lerr) if lerr else "")
            if load else "-"))
        print("| answered during the primary's outage | %s |" % (
            "%d of %d" % (o["answered"], o["asked"]) if "asked" in o else "-"))
        print("| outage catch-up: change after the primary's return, from knsupdate / NOTIFY "
              "(ms) | %s / %s |" % (ms(oc.get("from_update")), ms(oc.get("from_notify"))))
        print("| restarted secondary (%s): start to first NOERROR answer (ms) | %s%s%s |" % (
            rname or "-", ms(r.get("first_answer_s")),
            "" if r.get("first_answer_current", True) else " (old data)",
            " (after a transfer: no saved copy)" if r.get("xfr_before_first") else ""))
        print("| restarted secondary: catch-up after a change, from knsupdate (ms) | %s |"
              % ms(rcatch))
        print()
        notes = []
        rounds = [max(c["notify_answered"].values()) for c in ch if c["notify_answered"]]
        if rounds:
            notes.append("the primary logged the last secondary's answer to its NOTIFY %s ms "
                         "(median; worst %s) after the witness's NOTIFY: Knot notifies one "
                         "remote after the other, each after the previous one's answer" % (
                             "%.1f" % (statistics.median(rounds) * 1000),
                             "%.1f" % (max(rounds) * 1000)))
        ins = [v for c in ch for v in c["notify_in"].values()]
        if ins:
            notes.append("the secondaries' own NOTIFY receipt lines came %s ms (median; range "
                         "%s to %s) after the witness's NOTIFY" % (
                             "%.1f" % (statistics.median(ins) * 1000), "%.1f" % (min(ins) * 1000),
                             "%.1f" % (max(ins) * 1000)))
        ap = [v for c in ch for v in c["applied"].values()]
        aa = [v for c in ch for v in c["applied_to_answer"].values()]
        if ap and aa:
            notes.append("the secondaries logged the new version as theirs (%s) %s ms "
                         "(median; worst %s) after the witness's NOTIFY, and answered it %s ms "
                         "(median; worst %s) after that line" % (
                             APPLIED_WHAT.get(kind, "?"), "%.1f" % (statistics.median(ap) * 1000),
                             "%.1f" % (max(ap) * 1000), "%.1f" % (statistics.median(aa) * 1000),
                             "%.1f" % (max(aa) * 1000)))
        if f.get("others") is not None:
            notes.append("other processes on the machine used %.0f%% of its CPUs during the "
                         "changes and the outage (load average %.1f at their end)" % (
                             100 * f["others"], f["loadavg"]))
        if f.get("initial"):
            notes.append("first AXFR (start to answering the last host): %s s" % ", ".join(
                "%.2f" % v for v in f["initial"].values()))
        if o:
            notes.append("primary's serial before / after its restart: %s / %s (started again "
                         "in %s s)" % (o.get("serial_before"), o.get("serial_after"),
                                       "%.2f" % o["primary_up_s"] if o.get("primary_up_s")
                                       else "-"))
        if r.get("xfr_lines"):
            notes.append("%s's transfer lines after its restart: %s" % (
                rname, "; ".join("`%s`" % x for x in r["xfr_lines"])))
        if r.get("serial_at_first") is not None:
            notes.append("%s answered serial %s at its first answer" % (rname,
                                                                       r["serial_at_first"]))
        errs = [c["error"] for c in ch if c.get("error")] + ([f["error"]] if f.get("error")
                                                               else [])
        if errs:
            notes.append("errors: %s" % "; ".join(errs[:3]))
        notes.append("logs: %s" % ", ".join("`%s`" % x for x in f.get("logs", [])))
        for n in notes:
            print("- %s." % n)
        print()
        summary.append((kind, {"mu": mu, "wu": wu, "mn": mn, "wn": wn, "lost": lost, "sent": sent,
                               "first": ms(r.get("first_answer_s")),
                               "outage": ms(oc.get("from_update")), "rcatch": ms(rcatch)}))
    print("Comparison (ms; convergence median/worst from knsupdate's return and from the "
          "NOTIFY; queries lost/sent; restart to first answer; outage catch-up; restarted "
          "secondary's catch-up):")
    print()
    print("    " + "; ".join(
        "%s %s/%s, %s/%s, lost %d/%d, restart %s, outage %s, restarted %s" % (
            k, s["mu"], s["wu"], s["mn"], s["wn"], s["lost"], s["sent"], s["first"], s["outage"],
            s["rcatch"]) if s else "%s failed" % k for k, s in summary))
    print()
    print("- How each column was measured: each change is one knsupdate (to the primary, "
          "waited for); then each secondary is asked for the changed name every 2 ms over "
          "UDP until it answers the new address. \"From knsupdate\" ends when the last "
          "secondary answers. \"From the NOTIFY\" starts when the primary's NOTIFY for the "
          "change's serial reached the witness, a listener of this script first in the "
          "primary's notify: list (Knot notifies its remotes one after the other, in that "
          "order; Knot's own log has whole seconds only and logs a NOTIFY once answered), "
          "stamped with the same monotonic clock as the polling. Loss: dnsperf's \"Queries "
          "lost\" (no answer within %d s) summed over the three dnsperf runs, stopped with "
          "SIGINT after the outage's change (queries still in flight then are interrupted, "
          "not lost); the restart is not under dnsperf." % args.timeout)
