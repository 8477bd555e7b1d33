"""Memory high-water marks of the measuring process."""

from __future__ import annotations

import resource
import sys

METHOD = "peak resident set size of the measuring subprocess (getrusage ru_maxrss)"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10
