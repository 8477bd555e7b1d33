"""Memory high-water marks of the measuring process."""

from __future__ import annotations

import resource
import sys
from dataclasses import dataclass
from pathlib import Path

METHOD = "peak resident set size of the measuring subprocess (getrusage ru_maxrss)"
RUNTIME_METHOD = ("peak resident memory after the runtime was imported above the bare measuring process before it "
                  "(Linux: the kernel's high-water mark reset through /proc/self/clear_refs, then VmHWM - VmRSS)")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


@dataclass(frozen=True)
class Baseline:
    """The bare measuring process, before the runtime is imported: its peak so far and its resident memory."""

    process_peak_mb: float  # ru_maxrss before the reset (startup included)
    rss_mb: float | None  # resident memory when the kernel's high-water mark was reset; None: it could not be


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 2**10  # kB
    except OSError:
        return None
    return None


def baseline() -> Baseline:
    """Reset the kernel's high-water mark of resident memory (Linux: ``5`` into ``/proc/self/clear_refs``) and
    take the bare process's memory, so that :func:`runtime_peak_mb` counts only what comes after: the runtime,
    the model and their buffers."""
    peak = peak_rss_mb()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return Baseline(peak, None)
    return Baseline(peak, _status_mb("VmRSS"))


def runtime_peak_mb(base: Baseline) -> float | None:
    """Peak resident memory since :func:`baseline` above the bare process (VmHWM - baseline RSS), or None."""
    hwm = _status_mb("VmHWM")
    return None if base.rss_mb is None or hwm is None else max(hwm - base.rss_mb, 0.0)


def process_peak_mb(base: Baseline) -> float:
    """Peak resident memory of the whole process, startup included (the reset does not hide an earlier peak)."""
    return max(base.process_peak_mb, peak_rss_mb())
