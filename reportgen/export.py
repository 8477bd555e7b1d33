"""Export stored results as long-format rows: CSV, JSON or Markdown."""

from __future__ import annotations

from typing import Any

from reportgen.errors import ReportgenError
from reportgen.report.frame import long_frame
from reportgen.results import LoadedResults

FORMATS = ("csv", "json", "markdown")


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


def export_rows(runs: list[dict[str, Any]], fmt: str) -> str:
    """One row per measured value in the requested format."""
    frame = long_frame(runs)
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        return frame.to_json(orient="records", indent=1) + "\n"
    if fmt == "markdown":
        return frame.to_markdown(index=False) + "\n"
    raise ReportgenError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
