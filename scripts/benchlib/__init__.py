"""The parts of scripts/bench (the entry point: its flags and the order of
the runs; what the benchmark measures is in its docstring and --help).

  proc      processes and /proc: CPU time, memory, socket drops, the CPUs
            of servers and dnsperf, cgroups, the machine lock
  dns       free ports, a DNS query, one question asked over UDP
  zones     the generated zone and dnsperf query file, signed with --dnssec
  servers   each server kind: build, configure, start, wait, stop
  load      dnsperf runs, the throughput rounds, the zone load test
  report    the Markdown tables of the throughput and load tests
  spread    --spread: per-thread spread and locality of shoal's sockets
  handover  --reload and --restart: queries lost while shoal changes
  xfr       --axfr (transfer cost, memory, queries lost meanwhile) and
            --xfr-latency (a change until a Knot secondary answers it)
  axfr_recv the receiver --axfr runs: one AXFR, frames read, closing SOA
            checked
  fleet     --fleet: a Knot primary and fleets of shoal, Knot and NSD
            secondaries (convergence after each change, queries lost, an
            outage of the primary, a restarted secondary)
  catalog   --catalog: a Knot primary of a catalog of small member zones,
            and shoal, Knot and BIND consumers of it (time until every
            member answers, memory per member zone)
"""
import sys


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)
