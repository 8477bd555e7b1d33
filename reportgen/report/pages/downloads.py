"""The Downloads page: every stored run as its raw JSON and as long-format CSV, plus one CSV of all runs.

The page module only links the files; :func:`write_downloads` writes them into the staging docs
directory so that MkDocs copies them into the site (and its strict link check proves every link).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reportgen.report.escape import MD, code, link
from reportgen.report.format import md_table, provenance
from reportgen.report.frame import EXPORT_COLUMNS, export_rows
from reportgen.store.results import LoadedResults

PAGE = "downloads.md"
FOLDER = "downloads"
ALL_RUNS_CSV = f"{FOLDER}/all-runs.csv"


def run_files(run: dict[str, Any]) -> dict[str, str]:
    """Where one run's files go, relative to the docs directory: ``{"json": ..., "csv": ...}``."""
    stem = f"{FOLDER}/{run['machine_id']}/{run['run_id']}"
    return {"json": f"{stem}.json", "csv": f"{stem}.csv"}


def write_downloads(loaded: LoadedResults, docs_dir: Path) -> list[Path]:
    """Write every run's raw JSON and CSV, and the all-runs CSV, under ``docs_dir``; return their paths."""
    written = []

    def write(rel: str, text: str) -> None:
        path = docs_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)

    for run in loaded.runs:
        files = run_files(run)
        write(files["json"], json.dumps(run, indent=1, allow_nan=False) + "\n")  # as the store writes it
        write(files["csv"], export_rows([run], "csv"))
    if loaded.runs:
        write(ALL_RUNS_CSV, export_rows(loaded.runs, "csv"))
    return written


def context(run: dict[str, Any], loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Downloads page: one row per stored run, newest first."""
    rows = []
    for r in reversed(loaded.runs):
        files = run_files(r)
        rows.append([code(r["machine_id"]), code(r["run_id"]), r["started_at"], r["profile"]["name"], r["status"],
                     link("JSON", files["json"]), link("CSV", files["csv"]),
                     code(f"reportgen export --run {r['run_id']} --format csv")])
    return {
        "run": provenance(run),
        "all_runs": ALL_RUNS_CSV,
        "columns": MD(", ").join(code(c) for c in EXPORT_COLUMNS),
        "n_runs": len(loaded.runs),
        "n_machines": len({r["machine_id"] for r in loaded.runs}),
        "table": md_table(["machine", "run", "started (UTC)", "profile", "state", "raw results", "long format",
                           "reproduce the CSV"], rows),
        "problems": loaded.problems,
    }
