"""The Run profiles page, straight from the profile definitions."""

from __future__ import annotations

from typing import Any

from reportgen.config import PROFILES, profile_settings
from reportgen.report.format import md_table
from reportgen.results import LoadedResults

PAGE = "profiles.md"
NEEDS_RUN = False


def context(run: dict[str, Any] | None, loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Run profiles page, straight from the profile definitions."""
    rows = []
    for p in PROFILES.values():
        t = profile_settings(p)["inference"]["timing"]
        rows.append([f"`{p.name}`", p.description, str(p.inference.image_size),
                     ", ".join(map(str, p.inference.batch_sizes)), str(t["warmup"]), str(t["min_count"]),
                     f"{t['min_time_s']:g}", f"{t['max_time_s']:g}", f"{p.timeout_s:g}"])
    return {"table": md_table(["profile", "purpose", "image size", "batch sizes", "warm-up calls",
                               "min samples", "min time (s)", "max time (s)", "timeout per process (s)"], rows)}
