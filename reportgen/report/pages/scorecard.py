"""The Scorecard: the table the source articles fill with stars, with a measured number in every cell.

A winner is marked only where the statistics allow: for latency, when the interval of its per-round speed-up
over every other family's best lies beyond the practical margin (:func:`reportgen.report.findings.compare`).
"""

from __future__ import annotations

from typing import Any

from reportgen import catalog, thresholds
from reportgen.report import findings
from reportgen.report.escape import MD, link
from reportgen.report.format import fmt, md_table, metric, provenance, records
from reportgen.store.records import Setting
from reportgen.store.results import LoadedResults

PAGE = "scorecard.md"
FAMILIES = [catalog.display(f) for f in catalog.families()]  # a column per --frameworks family


def _family(framework: str) -> str | None:
    family = catalog.family_of(framework)
    return catalog.display(family) if family else None


def _best(recs: list[dict[str, Any]], metric_name: str, lowest: bool = True) -> dict[str, dict[str, Any]]:
    """Each family's best record by ``metric_name``."""
    best: dict[str, dict[str, Any]] = {}
    for r in recs:
        family, value = _family(r["framework"]), metric(r, metric_name)
        if family is None or value is None:
            continue
        if family not in best or (value < metric(best[family], metric_name)) == lowest:
            best[family] = r
    return best


def _cell(rec: dict[str, Any] | None, metric_name: str, unit: str, winner: bool) -> str:
    if rec is None:
        return "not measured"
    text = f"{fmt(metric(rec, metric_name), unit)} {unit} ({rec['variant']})"
    if metric_name == "scaling_efficiency" and findings.scaling_note(rec):
        text += f", a slowdown: {rec['settings'][Setting.WORKERS]} workers slower than 1"
    return MD("**{}** ✓").format(text) if winner else text


def _latency_row(batch1: list[dict[str, Any]]) -> list[str]:
    best = _best([r for r in batch1 if findings.agrees(r)], "latency_ms_p50")
    winner = None
    if len(best) > 1:
        top = min(best.values(), key=lambda r: metric(r, "latency_ms_p50"))
        if all(findings.compare(r, top)["verdict"] == "faster" for r in best.values() if r is not top):
            winner = top
    return ["Inference speed, batch 1 (median latency)",
            *(_cell(best.get(f), "latency_ms_p50", "ms", best.get(f) is winner) for f in FAMILIES),
            link("Inference", "inference.md")]


def _simple_row(title: str, recs: list[dict[str, Any]], metric_name: str, unit: str, lowest: bool,
                evidence: str) -> list[str]:
    """A row whose winner is marked only when it rests on repeated evidence (every best record measured in
    at least 2 rounds) and beats the others by more than the margin; otherwise the row says it has none."""
    best = _best(recs, metric_name, lowest)
    values = {f: metric(r, metric_name) for f, r in best.items()}
    winner = None
    repeated = all(r["settings"].get(Setting.ROUNDS, 1) >= 2 for r in best.values())
    if not repeated and len(values) > 1:
        evidence = MD("{} (measured once: no winner)").format(evidence)
    if repeated and len(values) > 1:
        ranked = sorted(values.items(), key=lambda kv: kv[1], reverse=not lowest)
        first, second = ranked[0][1], ranked[1][1]
        margin = second / first if lowest else first / second
        if margin >= thresholds.SIGNIFICANCE_FACTOR:
            winner = best[ranked[0][0]]
    return [title, *(_cell(best.get(f), metric_name, unit, best.get(f) is winner) for f in FAMILIES), evidence]


def _conversion_row(run: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Each conversion counted once: those of the trained digits model, whose accuracy is checked too (the
    exports of the timed inference model repeat the same converters on another model)."""
    digits = {(c.framework, c.name) for c in catalog.CONVERSIONS if c.model == "digits"}
    conversions = [r for r in run["records"] if r["scenario"] == "conversion" and "convert_ok" in r["metrics"]
                   and (r["framework"], r["variant"]) in digits]
    ok: dict[str, list[str]] = {f: [] for f in FAMILIES}
    tried: dict[str, int] = dict.fromkeys(FAMILIES, 0)
    for r in conversions:
        family = _family(r["framework"])
        if family:
            tried[family] += 1
            if metric(r, "convert_ok") == 1:
                ok[family].append(r["variant"])
    stability = ["Conversion stability (exports and quantizations that succeeded)",
                 *(f"{len(ok[f])} of {tried[f]}" if tried[f] else "not measured" for f in FAMILIES),
                 link("Parity & Conversion", "parity.md")]
    formats = ["Deployment formats produced and checked",
               *(", ".join(sorted(set(ok[f]))) or "none" for f in FAMILIES),
               link("Parity & Conversion", "parity.md")]
    return stability, formats


def context(run: dict[str, Any], loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Scorecard page."""
    # like for like: fp32, on the run's device
    inference = findings.on_run_device(run, [r for r in records(run, "inference") if r["precision"] == "fp32"])
    batch1 = findings.on_run_device(run, findings.batch1(run, precision="fp32"))
    stability, formats = _conversion_row(run)
    rows = [
        _simple_row("Training speed (steady-state images/s)",
                    findings.learned([r for r in records(run, "training") if r["precision"] == "fp32"
                                      and "train_loss" in r["samples"]]),
                    "train_throughput_ips", "img/s", False,
                    link("Training", "training.md")),
        _latency_row(batch1),
        _simple_row("Inference throughput, best batch size (images/s)", [r for r in inference if r["batch_size"] > 1],
                    "throughput_ips", "img/s", False, link("Inference", "inference.md")),
        _simple_row("Memory (peak resident memory at batch 1)", batch1, "peak_rss_mb", "MB", True,
                    link("Inference", "inference.md")),
        _simple_row("Start-up (fresh process to first result)",
                    findings.on_run_device(run, findings.batch1(run, "startup", precision="fp32")),
                    "cold_start_s", "s", True, link("Inference", "inference.md")),
        stability,
        _simple_row("Distributed scaling (efficiency with N workers)",
                    findings.learned(records(run, "training-scaling")),
                    "scaling_efficiency", "fraction", False, link("Training", "training.md")),
        formats,
    ]
    rows = [[MD("{}<br>{}").format(row[0], row[-1]), *row[1:-1]] for row in rows]  # evidence under the title
    return {"run": provenance(run), "device": run["options"]["device"],
            "table": md_table(["measure and evidence", *FAMILIES], rows)}
