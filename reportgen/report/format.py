"""Shared helpers of the generated pages: number formatting, Markdown tables, record lookups."""

from __future__ import annotations

from typing import Any

import numpy as np

FRAMEWORK_NAMES = {"torch": "PyTorch", "tensorflow": "TensorFlow/Keras", "onnxruntime": "ONNX Runtime"}


def fmt(value: float | None, unit: str = "") -> str:
    """A number as a reader wants to see it in a table cell, with sensible precision."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if unit in ("count", "MAC"):
        return f"{value:,.0f}"
    if unit == "fraction":
        return f"{value:.3f}"
    if unit == "abs":
        return f"{value:.1e}"
    magnitude = abs(value)
    return f"{value:,.0f}" if magnitude >= 1000 else f"{value:.3g}" if magnitude < 1 else f"{value:.1f}"


def md_table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown pipe table (cells are escaped for pipes)."""
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def featured_run(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The run the result pages show: the newest complete run, else the newest run of any state."""
    complete = [r for r in runs if r["status"] == "complete"]
    return (complete or runs or [None])[-1]


def name(framework: str) -> str:
    return FRAMEWORK_NAMES.get(framework, framework)


def metric(rec: dict[str, Any], metric: str) -> float | None:
    entry = rec["metrics"].get(metric)
    return entry["value"] if entry else None


def records(run: dict[str, Any], scenario: str, status: str | None = "ok") -> list[dict[str, Any]]:
    return [r for r in run["records"] if r["scenario"] == scenario and (status is None or r["status"] == status)]


def provenance(run: dict[str, Any]) -> dict[str, Any]:
    """Which run a page comes from, and how to reproduce it."""
    fws = " ".join(run["options"]["frameworks"])
    return {
        "run_id": run["run_id"],
        "machine_id": run["machine_id"],
        "started_at": run["started_at"],
        "status": run["status"],
        "profile": run["profile"]["name"],
        "command": f"reportgen run --profile {run['profile']['name']} --frameworks {fws}",
    }


def problem_rows(run: dict[str, Any]) -> str:
    """A table of every record that failed or was skipped, with its reason (empty when none)."""
    bad = [r for r in run["records"] if r["status"] != "ok"]
    if not bad:
        return ""
    return md_table(["scenario", "framework", "variant", "status", "reason"],
                    [[r["scenario"], name(r["framework"]), r["variant"], r["status"], r["reason"]] for r in bad])
