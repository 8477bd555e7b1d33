"""``reportgen export``: which stored runs to export (the rows themselves come from :mod:`reportgen.report.frame`)."""

from __future__ import annotations

from typing import Any

from reportgen.errors import ReportgenError
from reportgen.report.frame import FORMATS, export_rows
from reportgen.store.results import LoadedResults


def select_runs(loaded: LoadedResults, which: str) -> list[dict[str, Any]]:
    """``latest`` (the newest run), ``all``, or one run id."""
    if not loaded.runs:
        raise ReportgenError("no results to export: run `reportgen run` first, or pass --results-dir")
    if which == "all":
        return loaded.runs
    if which == "latest":
        return loaded.runs[-1:]
    runs = [r for r in loaded.runs if r["run_id"] == which]
    if not runs:
        raise ReportgenError(f"no run {which!r}; known runs: {', '.join(r['run_id'] for r in loaded.runs[-5:])}")
    return runs


__all__ = ["FORMATS", "export_rows", "select_runs"]
