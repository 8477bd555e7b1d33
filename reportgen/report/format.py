"""Shared helpers of the generated pages: number formatting, Markdown tables, record lookups."""

from __future__ import annotations

import shlex
from typing import Any

import numpy as np

from reportgen import catalog
from reportgen.config import FRAMEWORKS, InferenceSettings, left_out
from reportgen.report.escape import MD
from reportgen.store.records import Setting
from reportgen.store.results import measured_anything


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
    if magnitude >= 1000 or magnitude == 0:
        return f"{value:,.0f}"
    decimals = max(0, 2 - int(np.floor(np.log10(magnitude))))  # three significant figures: 0.100, 3.00, 12.3, 123
    text = f"{value:.{decimals}f}"
    return f"{value:,.0f}" if abs(float(text)) >= 1000 else text  # 999.6 rounds to 1,000


def md_table(header: list[Any], rows: list[list[Any]]) -> MD:
    """A Markdown pipe table; every cell that is not :class:`MD` already is escaped as literal text."""
    def line(cells: list[Any]) -> MD:
        return MD("| ") + MD(" | ").join(cells) + MD(" |")

    lines = [line(header), MD("|" + "|".join("---" for _ in header) + "|"), *(line(row) for row in rows)]
    return MD("\n").join(lines)


def finding(title: str, body: Any) -> MD:
    """One plain-language finding: a bold title, then its text (escaped unless it is MD already)."""
    return MD("**{}:** {}").format(title, body)


def featured_run(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The run the result pages show: the newest complete run, else the newest incomplete one; never a run
    that measured nothing (:func:`run_status`)."""
    complete = [r for r in runs if run_status(r) == "complete"]
    incomplete = [r for r in runs if run_status(r) == "incomplete"]
    return (complete or incomplete or [None])[-1]


def run_status(run: dict[str, Any]) -> str:
    """A run's status as the pages judge it: a run stored as ``complete`` with no successful inference or
    training measurement is ``failed`` (runs stored before that rule called a run with only roofs complete); an
    ``incomplete`` run keeps its status, since ``--resume`` can still finish it."""
    if run["status"] == "complete" and not measured_anything(run["records"]):
        return "failed"
    return run["status"]


def name(framework: str) -> str:
    """A runtime's name as readers see it (the catalog's display name)."""
    return catalog.display(framework)


def label(rec: dict[str, Any], device: bool = True) -> str:
    """A record's series name, e.g. ``PyTorch (eager)``, with device, precision and image size added when
    they are not cpu, fp32 (or named by the variant) and the default image size: records with the same label
    measured the same thing. Leave the device out (``device=False``) to line up the same work on a CPU and a GPU
    machine."""
    extras = [rec["device"]] if device and rec["device"] != "cpu" else []
    if rec["precision"] != "fp32" and rec["precision"] not in rec["variant"]:
        extras.append(rec["precision"])
    if rec["settings"].get(Setting.IMAGE_SIZE) not in (None, InferenceSettings.image_size):
        extras.append(f"{rec['settings'][Setting.IMAGE_SIZE]}px")
    return f"{name(rec['framework'])} ({', '.join([rec['variant'], *extras])})"


def by_machine(runs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Runs grouped by machine id (machines sorted; each machine's runs in the order given)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault(run["machine_id"], []).append(run)
    return dict(sorted(groups.items()))


def metric(rec: dict[str, Any], metric: str) -> float | None:
    """The value of ``metric`` in ``rec``, or None where it was not measured."""
    entry = rec["metrics"].get(metric)
    return entry["value"] if entry else None


def conversion_model(rec: dict[str, Any]) -> str | None:
    """Which model a conversion record converted (the catalog's ``inference`` for the timed model's
    ``-for-inference`` files, ``digits`` for the trained one), None if unknown."""
    try:
        return catalog.conversion(rec["framework"], rec["variant"]).model
    except KeyError:
        return None


def records(run: dict[str, Any], scenario: str, status: str | None = "ok") -> list[dict[str, Any]]:
    """The run's records of ``scenario`` (only ``status`` ones; None: all)."""
    return [r for r in run["records"] if r["scenario"] == scenario and (status is None or r["status"] == status)]


def reproduce_command(run: dict[str, Any]) -> str:
    """The command line that made ``run``, without the folders that only mattered on its machine."""
    args, skip = [], False
    for arg in run["command"][1:]:
        if skip:
            skip = False
        elif arg in ("--results-dir", "--site-dir"):
            skip = True
        elif not arg.startswith(("--results-dir=", "--site-dir=")):
            args.append(arg)
    return shlex.join(["reportgen", *args]) if args else "reportgen run"


def provenance(run: dict[str, Any]) -> dict[str, Any]:
    """Which run a page comes from, and how to reproduce it."""
    return {
        "run_id": run["run_id"],
        "machine_id": run["machine_id"],
        "started_at": run["started_at"],
        "status": run["status"],
        "profile": run["profile"]["name"],
        "command": reproduce_command(run),
        "machine": machine_line(run),
        "measured": measured_panel(run),
        "not_measured": not_measured(run),
    }


def not_measured(run: dict[str, Any]) -> dict[str, str]:
    """The families of the catalog a run did not measure, as a phrase per reason: ``profile`` (its profile leaves
    them out unless named) and ``option`` (``--frameworks`` did not name them); a reason with none is absent."""
    by_why: dict[str, list[str]] = {}
    for family, why in left_out(run["profile"], run["options"].get("frameworks", list(FRAMEWORKS))):
        by_why.setdefault(why, []).append(catalog.display(family))
    return {why: " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
            for why, names in by_why.items()}


def measured_panel(run: dict[str, Any]) -> dict[str, str]:
    """What was measured, in a few lines every results page shows: the CPU exactly, its clock, cores and the
    threads the run used; start, end and duration; the library versions; the INT8 calibration source."""
    cpu = run["machine"].get("cpu", {})
    mhz = cpu.get("max_mhz")
    clock = f"{mhz / 1000:.2f} GHz maximum" if mhz else "maximum clock not reported by this machine"
    start, end = run["started_at"], run.get("finished_at")
    took = ""
    if end:
        from datetime import datetime

        seconds = (datetime.fromisoformat(end.replace("Z", "+00:00"))
                   - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
        took = f", {seconds / 60:.1f} min"
    libraries = run["machine"].get("libraries", {})
    calibration = next((r["settings"][Setting.CALIBRATION] for r in run["records"]
                        if Setting.CALIBRATION in r["settings"]), None)
    return {"cpu": f"{cpu.get('model') or 'unknown CPU'}, {clock}, {cpu.get('available_cores', '?')} cores "
                   f"available, {run['options'].get('threads', '?')} threads used",
            "when": f"{start} to {end or 'not finished'}{took}",
            "versions": ", ".join(f"{k} {v}" for k, v in libraries.items() if v),
            "calibration": calibration or "no INT8 calibration in this run"}


def machine_line(run: dict[str, Any]) -> str:
    """The machine in one line for a page's headline: CPU, cores, SIMD level, memory, GPUs."""
    from reportgen.report.frame import machine_facts

    facts = machine_facts(run)
    parts = [facts["cpu"] or "unknown CPU"]
    if facts["cores"]:
        parts.append(f"{facts['cores']} cores")
    if facts["simd"]:
        parts.append(facts["simd"].upper() if facts["simd"] != "avx512" else "AVX-512")
    if facts["memory_gb"]:
        parts.append(f"{facts['memory_gb']} GB")
    gpus = run["machine"].get("gpus") or []
    parts.append(", ".join(g.get("name", "GPU") for g in gpus) if gpus else "no GPU")
    return ", ".join(str(p) for p in parts)


def collapsed(rows: list[list[Any]]) -> list[list[Any]]:
    """Identical rows once each, in first-seen order, with how many records they stand for as a last column
    (a variant skipped in every round is one row, not one per round)."""
    counts: dict[tuple[Any, ...], int] = {}
    for row in rows:
        counts[tuple(row)] = counts.get(tuple(row), 0) + 1
    return [[*row, str(n)] for row, n in counts.items()]


def problem_rows(run: dict[str, Any]) -> str:
    """A table of every record that failed or was skipped, with its reason (empty when none)."""
    bad = [r for r in run["records"] if r["status"] != "ok"]
    if not bad:
        return ""
    return md_table(["scenario", "framework", "variant", "status", "reason", "records"],
                    collapsed([[r["scenario"], name(r["framework"]), r["variant"], r["status"], r["reason"]]
                               for r in bad]))
