"""The processes the bench starts, and what /proc says about them and about
the machine: CPU time per process tree (utime+stime from /proc/PID/stat,
every thread included), memory (VmHWM, VmRSS, PSS), a server's UDP socket
drops, each CPU's busy and stolen time (/proc/stat), the busiest other
processes of a round; which CPUs the servers and dnsperf get, the
--cpu-quota cgroups, the one-bench-per-machine lock and the wait for a
quiet machine.

Every process started goes into RUNNING and every cgroup made into CGROUPS;
kill_all() and remove_cgroups() undo them, however the run ends."""
import fcntl
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time

from . import log

HZ = os.sysconf("SC_CLK_TCK")
RUNNING = []  # every Popen we started and have not reaped
CGROUPS = []  # directories made for --cpu-quota, removed at exit


def kill_all():
    """SIGKILL what is left of every process group we started, and reap it."""
    for p in list(RUNNING):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        RUNNING.remove(p)


def tree(pid):
    """pid and all its descendants (NSD forks)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_ticks(pids):
    """utime + stime, in clock ticks, of these processes (each process's
    figure covers all its threads)."""
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read().rsplit(")", 1)[1].split()
            total += int(st[11]) + int(st[12])  # fields 14, 15
        except (OSError, ValueError, IndexError):
            pass
    return total


def status_kb(pids, field):
    """A kB field of /proc/PID/status (VmHWM, VmRSS) summed over pids."""
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return total


def pss_kb(pids):
    """Proportional set size: forked processes' shared pages counted once."""
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return total


def udp_sockets(pids):
    """Inodes of the sockets these processes hold."""
    inodes = set()
    for p in pids:
        fddir = "/proc/%d/fd" % p
        try:
            for fd in os.listdir(fddir):
                try:
                    t = os.readlink(os.path.join(fddir, fd))
                except OSError:
                    continue
                if t.startswith("socket:["):
                    inodes.add(t[8:-1])
        except OSError:
            pass
    return inodes


def socket_drops(pids, port):
    """Datagrams dropped on these processes' UDP sockets bound to port (the
    drops column of /proc/net/udp): RcvbufErrors is system-wide and also
    counts responses dnsperf's sockets had no room for."""
    inodes = udp_sockets(pids)
    drops = 0
    try:
        with open("/proc/net/udp") as f:
            next(f)
            for line in f:
                c = line.split()
                if c[9] in inodes and int(c[1].split(":")[1], 16) == port:
                    drops += int(c[12])
    except (OSError, ValueError, IndexError):
        pass
    return drops


def cpu_stat():
    """{cpu: (busy, steal, total)} in clock ticks, from /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            w = line.split()
            if not w[0].startswith("cpu") or w[0] == "cpu":
                continue
            v = [int(x) for x in w[1:9]]  # user nice system idle iowait irq softirq steal
            out[int(w[0][3:])] = (v[0] + v[1] + v[2] + v[5] + v[6], v[7], sum(v))
    return out


def proc_times():
    """{pid: (comm, utime+stime ticks)} of every process on the machine."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                head, _, rest = f.read().rpartition(")")
            st = rest.split()
            out[int(d)] = (head.partition("(")[2], int(st[11]) + int(st[12]))
        except (OSError, ValueError, IndexError):
            pass
    return out


def top_others(before, after, exclude, n=3):
    """The processes, other than the server's and dnsperf, that used the
    most CPU between two proc_times() snapshots: who made a round noisy."""
    used = {}
    for pid, (comm, ticks) in after.items():
        if pid in exclude or comm in ("dnsperf", "taskset"):
            continue
        d = ticks - before.get(pid, (comm, 0))[1]
        if d > 0:
            used[comm] = used.get(comm, 0) + d
    top = sorted(used.items(), key=lambda kv: -kv[1])[:n]
    return " ".join("%s:%.2fs" % (c, t / HZ) for c, t in top)


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def rcvbuf_errors():
    with open("/proc/net/snmp") as f:
        udp = [line.split() for line in f if line.startswith("Udp:")]
    return int(udp[1][udp[0].index("RcvbufErrors")])


def cpu_list(spec):
    out = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi or lo) + 1))
    return out


def split_cpus():
    """Server CPUs and dnsperf CPUs: the first half of the CPUs we may use
    and the second (CPU 0 and CPU 1 on a 2-core machine)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        sys.exit("bench: needs at least 2 CPUs (server and dnsperf each on their own)")
    half = len(cpus) // 2
    return ",".join(map(str, cpus[:half])), ",".join(map(str, cpus[half:]))


def wait_quiet(limit, max_busy):
    """Wait, at most `limit` seconds, until the machine has been less than
    `max_busy` busy for 5 seconds in a row (a shared machine's tests or
    builds would otherwise land in the rounds)."""
    deadline, quiet_since = time.monotonic() + limit, None
    prev = cpu_stat()
    while time.monotonic() < deadline:
        time.sleep(1)
        cur = cpu_stat()
        busy = sum(cur[c][0] - prev[c][0] for c in cur if c in prev) / HZ / len(cur)
        prev = cur
        if busy < max_busy:
            quiet_since = quiet_since or time.monotonic() - 1
            if time.monotonic() - quiet_since >= 5:
                return True
        else:
            quiet_since = None
    log("the machine did not become quiet within %d s; going on" % limit)
    return False


def take_lock(wait):
    """One scripts/bench at a time on a machine: two would measure each
    other. Waits up to `wait` seconds for another run to finish."""
    f = open(os.path.join(tempfile.gettempdir(), "shoal-bench.lock"), "a")
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return f
        except OSError:
            if time.monotonic() >= deadline:
                sys.exit("bench: another scripts/bench is running on this machine "
                         "(--wait-quiet S waits for it)")
            time.sleep(1)


def quota_cgroup(name, pct):
    """A new cgroup whose processes together get at most pct% of one CPU
    (the CFS bandwidth limit: pct ms of every 100 ms); returns the path of
    its cgroup.procs. cgroup v2 when its cpu controller is there, else
    v1's cpu hierarchy. Needs root."""
    quota = int(pct * 1000)
    v2 = "/sys/fs/cgroup"
    try:
        with open(os.path.join(v2, "cgroup.controllers")) as f:
            has_v2_cpu = "cpu" in f.read().split()
    except OSError:
        has_v2_cpu = False
    if has_v2_cpu:
        with open(os.path.join(v2, "cgroup.subtree_control"), "w") as f:
            f.write("+cpu")
        d = os.path.join(v2, "shoal-bench-%d-%s" % (os.getpid(), name))
        os.makedirs(d, exist_ok=True)
        CGROUPS.append(d)
        with open(os.path.join(d, "cpu.max"), "w") as f:
            f.write("%d 100000" % quota)
    else:
        d = os.path.join(v2, "cpu", "shoal-bench-%d-%s" % (os.getpid(), name))
        os.makedirs(d, exist_ok=True)
        CGROUPS.append(d)
        with open(os.path.join(d, "cpu.cfs_period_us"), "w") as f:
            f.write("100000")
        with open(os.path.join(d, "cpu.cfs_quota_us"), "w") as f:
            f.write("%d" % quota)
    return os.path.join(d, "cgroup.procs")


def remove_cgroups():
    for d in CGROUPS:
        try:
            os.rmdir(d)  # empty once kill_all() reaped every server
        except OSError as e:
            log("could not remove %s: %s" % (d, e))
    CGROUPS.clear()
