"""Stored runs as one long-format table: one row per measured value (the export format too)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.hardware import simd_level

COLUMNS = ["run_id", "machine", "scenario", "framework", "variant", "device", "precision", "batch_size",
           "metric", "value", "unit", "status", "reason", "started_at", "run_status"]
FORMATS = ("csv", "json", "markdown")
MACHINE_COLUMNS = ["cpu", "cores", "simd", "memory_gb"]  # what the machine was, so rows from several compare


def long_frame(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """Every metric of every record as a row; a failed or skipped record without metrics is one row
    with an empty metric and its reason."""
    rows = []
    for run in runs:
        base = {"run_id": run["run_id"], "machine": run["machine_id"], "started_at": run["started_at"],
                "run_status": run["status"], **machine_facts(run)}
        for rec in run["records"]:
            ident = {k: rec[k] for k in ("scenario", "framework", "variant", "device", "precision",
                                         "batch_size", "status", "reason")}
            if not rec["metrics"]:
                rows.append({**base, **ident, "metric": None, "value": None, "unit": None})
            for name, metric in rec["metrics"].items():
                rows.append({**base, **ident, "metric": name, "value": metric["value"], "unit": metric["unit"]})
    frame = pd.DataFrame(rows, columns=COLUMNS + MACHINE_COLUMNS)
    return frame.astype({"batch_size": "Int64", "value": "float64"})


def machine_facts(run: dict[str, Any]) -> dict[str, Any]:
    """CPU model, available cores, SIMD level and memory of a run's machine (None where not recorded)."""
    cpu = run["machine"].get("cpu") or {}
    return {"cpu": cpu.get("model"), "cores": cpu.get("available_cores"),
            "simd": simd_level(cpu["simd"]) if "simd" in cpu else None, "memory_gb": run["machine"].get("memory_gb")}


def export_rows(runs: list[dict[str, Any]], fmt: str) -> str:
    """One row per measured value in the requested format."""
    frame = long_frame(runs)
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        return frame.to_json(orient="records", indent=1) + "\n"
    if fmt == "markdown":  # an empty cell where there is no value, every value as stored (no rounding)
        shown = frame.astype(object).where(frame.notna(), "")
        return shown.to_markdown(index=False, disable_numparse=True) + "\n"
    raise ReportgenError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
