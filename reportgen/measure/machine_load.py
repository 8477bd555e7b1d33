"""Was the machine ours while we measured? The CPU time that other processes (and the hypervisor) took.

Around each task the parent reads the machine's CPU time from ``/proc/stat`` (busy time, steal included)
and this process's own and its children's CPU time (``getrusage``: a child's time, its workers' included,
is counted once the child has been waited for). What the machine spent beyond ours, as a share of the
task's wall time on every CPU, is the *foreign share*: above ``thresholds.disturbed_share(cpus)`` (a fifth of one
CPU's time, whatever the machine's size) the task measured a disturbed machine. Where ``/proc/stat`` is missing
(not Linux) nothing is measured: None.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")
TICK_S = 1 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01
METHOD = ("CPU time of other processes and hypervisor steal during the task (/proc/stat busy time minus this "
          "run's own getrusage time), as a share of wall time x CPUs")


@dataclass(frozen=True)
class Snapshot:
    """The machine's CPU times at one moment (from /proc/stat), to tell how busy it was between two."""
    wall_s: float
    busy_s: float  # all CPUs' non-idle time, steal included
    steal_s: float
    own_s: float  # this process and its waited-for children, user + system
    cpus: int


def snapshot() -> Snapshot | None:
    """The machine's and this run's CPU time now, or None where ``/proc/stat`` cannot be read."""
    try:
        lines = PROC_STAT.read_text(encoding="ascii").splitlines()
    except OSError:
        return None
    fields = [int(x) for x in lines[0].split()[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is already in user/nice
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    steal = fields[7] if len(fields) > 7 else 0
    cpus = sum(1 for line in lines[1:] if line.startswith("cpu"))
    own = sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                   resource.getrusage(resource.RUSAGE_CHILDREN)))
    return Snapshot(time.monotonic(), (total - idle) * TICK_S, steal * TICK_S, own, max(cpus, 1))


def foreign_share(before: Snapshot | None, after: Snapshot | None) -> dict[str, float] | None:
    """``{"foreign": share, "steal": share, "cpus": n}``: the shares of the machine's CPU time between two
    snapshots that were not this run's (each 0..1; 5 decimals, so that a fifth of one CPU still shows on 64), and
    the machine's CPU count, which the disturbed rule needs (:func:`reportgen.report.findings.disturbed` reads it
    from a record's ``machine_cpus``); None when it was not measured."""
    if before is None or after is None:
        return None
    capacity = (after.wall_s - before.wall_s) * after.cpus
    if capacity <= 0:
        return None
    foreign = (after.busy_s - before.busy_s) - (after.own_s - before.own_s)
    steal = after.steal_s - before.steal_s
    return {"foreign": round(min(max(foreign / capacity, 0.0), 1.0), 5),
            "steal": round(min(max(steal / capacity, 0.0), 1.0), 5), "cpus": after.cpus}
