"""Stored runs as one long-format table: one row per measured value (the export format too)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from reportgen.errors import ReportgenError
from reportgen.hardware import simd_level

COLUMNS = ["run_id", "machine", "scenario", "framework", "variant", "device", "precision", "batch_size",
           "metric", "value", "unit", "status", "reason", "started_at", "run_status"]
# a comparison row (scenario "comparison", metric "speedup_vs_reference") carries its evidence in these
COMPARISON_COLUMNS = ["compared_with", "interval_low", "interval_high", "rounds", "verdict"]
FORMATS = ("csv", "json", "markdown")
MACHINE_COLUMNS = ["cpu", "cores", "simd", "memory_gb"]  # what the machine was, so rows from several compare
EXPORT_COLUMNS = COLUMNS + MACHINE_COLUMNS + COMPARISON_COLUMNS


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
        rows += [{**base, **row} for row in comparison_rows(run)]
    frame = pd.DataFrame(rows, columns=EXPORT_COLUMNS)
    return frame.astype({"batch_size": "Int64", "value": "float64", "rounds": "Int64"})


def comparison_rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Each batch-1 variant's speed-up over the reference as the pages state it: paired by round, with its
    interval, the calm rounds it rests on and its verdict (faster, slower, tie or inconclusive)."""
    from reportgen import catalog
    from reportgen.report import findings

    ref = catalog.reference()
    recs = {(r["framework"], r["variant"]): r for r in findings.batch1(run)}
    rows = []
    for (framework, variant), cmp in findings.versus_reference(list(recs.values())).items():
        rec = recs[(framework, variant)]
        rows.append({"scenario": "comparison", "framework": framework, "variant": variant, "device": rec["device"],
                     "precision": rec["precision"], "batch_size": 1, "metric": "speedup_vs_reference",
                     "value": cmp["speedup"], "unit": "x", "status": "ok", "reason": None,
                     "compared_with": f"{ref.runtime}/{ref.name}", "interval_low": cmp["low"],
                     "interval_high": cmp["high"], "rounds": cmp["rounds"], "verdict": cmp["verdict"]})
    return rows


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
