"""The History page: batch-1 median latency over the successive runs of each machine."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

import plotly.graph_objects as go

from reportgen import catalog
from reportgen.report import findings
from reportgen.report.charts import GROUPED_LEGEND, Styles, chart_html, log_ticks
from reportgen.report.escape import MD, code, link
from reportgen.report.format import by_machine, fmt, label, md_table, metric, provenance
from reportgen.report.pages.downloads import run_files
from reportgen.store.results import LoadedResults

PAGE = "history.md"
METRIC = "latency_ms_p50"

Run = dict[str, Any]
Series = dict[str, list[tuple[Run, dict[str, Any]]]]  # label -> (run, record) per point, oldest first


def _points(runs: list[Run]) -> Series:
    """Series label -> ``(run, record)`` for every run with an ok batch-1 measurement, oldest first."""
    series: Series = {}
    for run in runs:
        for rec in findings.batch1(run):
            if metric(rec, METRIC) is not None:
                series.setdefault(label(rec), []).append((run, rec))
    return dict(sorted(series.items()))


def _when(run: Run) -> str:
    """``started_at`` as a plain date string for plotly.js, which has no time zones (the axis says UTC)."""
    return run["started_at"].replace("T", " ").removesuffix("Z")


def _figure(series: Series, machine: str) -> go.Figure:
    fig = go.Figure()
    styles = Styles()
    for name, points in sorted(series.items(), key=lambda kv: kv[1][0][1]["framework"]):  # grouped by framework
        fig.add_trace(go.Scatter(
            x=[_when(run) for run, _ in points], y=[metric(rec, METRIC) for _, rec in points],
            mode="lines+markers", **styles.line(points[0][1]["framework"], name),
            customdata=[[run["run_id"], fmt(metric(rec, "latency_ms_iqr"), "ms"), run["profile"]["name"],
                         run["status"]] for run, rec in points],
            hovertemplate="run %{customdata[0]} (%{customdata[2]}, %{customdata[3]})<br>"
                          "median %{y:.2f} ms, IQR %{customdata[1]} ms<extra>%{fullData.name}</extra>",
        ))
    values = [metric(rec, METRIC) for points in series.values() for _, rec in points]
    fig.update_layout(title=f"Median batch-1 latency per run on {machine}", xaxis_title="run started (UTC)",
                      yaxis={"title": {"text": "latency (ms, log scale)"}, **log_ticks(values)},
                      legend=GROUPED_LEGEND)
    return fig


Verdicts = dict[str, list[tuple[Run, dict[str, Any], dict[str, Any]]]]  # label -> (run, record, comparison)


def _verdicts(runs: list[Run]) -> Verdicts:
    """Each variant's batch-1 comparison with the reference in every run that made one, oldest first."""
    points: Verdicts = {}
    for run in runs:
        recs = {(r["framework"], r["variant"]): r for r in findings.batch1(run)}
        for key, cmp in findings.versus_reference(list(recs.values())).items():
            points.setdefault(label(recs[key]), []).append((run, recs[key], cmp))
    return points


def _verdict_changes(points: Verdicts) -> str:
    """A table of every variant whose verdict against the reference differs between two successive runs (faster
    in one, inconclusive in the next): a claim a reader should not lean on yet."""
    rows = [[name, f"{findings.ratio_text(a)}, **{a['verdict']}**", f"{findings.ratio_text(b)}, **{b['verdict']}**",
             MD("{} → {}").format(code(run_a["run_id"]), code(run_b["run_id"]))]
            for name, series in points.items()
            for (run_a, _, a), (run_b, _, b) in zip(series, series[1:], strict=False) if a["verdict"] != b["verdict"]]
    return md_table(["framework (variant)", "earlier run", "later run", "runs"], rows) if rows else ""


def _ratio_figure(points: Verdicts, machine: str) -> go.Figure | None:
    """Each variant's batch-1 speed-up over the reference in every run, with its interval: whether a verdict
    holds from run to run (None where no run compared anything)."""
    if not points:
        return None
    fig = go.Figure()
    styles = Styles()
    for name, series in sorted(points.items(), key=lambda kv: kv[1][0][1]["framework"]):
        ratios = [cmp["speedup"] for _, _, cmp in series]
        fig.add_trace(go.Scatter(
            x=[_when(run) for run, _, _ in series], y=ratios, mode="lines+markers",
            **styles.line(series[0][1]["framework"], name),
            error_y={"type": "data", "symmetric": False,
                     "array": [(cmp["high"] or r) - r for (_, _, cmp), r in zip(series, ratios, strict=True)],
                     "arrayminus": [r - (cmp["low"] or r) for (_, _, cmp), r in zip(series, ratios, strict=True)]},
            customdata=[[run["run_id"], cmp["verdict"]] for run, _, cmp in series],
            hovertemplate="run %{customdata[0]}: %{y:.2f}x, %{customdata[1]}<extra>%{fullData.name}</extra>"))
    fig.add_hline(y=1.0, line_dash="dot", annotation_text=f"= {catalog.reference().label}")
    fig.update_layout(title=f"Speed-up over {catalog.reference().label} per run on {machine} (bars: interval)",
                      xaxis_title="run started (UTC)", yaxis={"title": {"text": "speed-up (x, log scale)"},
                                                              "type": "log"}, legend=GROUPED_LEGEND)
    return fig


def _summary(series: Series) -> str:
    rows = []
    for name, points in series.items():
        values = [metric(rec, METRIC) for _, rec in points]
        median = statistics.median(values)
        spread = f"{fmt(median, 'ms')} [{fmt(min(values), 'ms')}, {fmt(max(values), 'ms')}]"
        rows.append([name, str(len(values)), spread, fmt(values[-1], "ms"), f"{values[-1] / median:.2f}×"])
    return md_table(["framework (variant)", "runs", "median [best, worst] (ms)", "latest (ms)", "latest / median"],
                    rows)


def _runs_table(runs: list[Run], counts: Counter[str]) -> str:
    rows = [[code(run["run_id"]), run["started_at"], run["profile"]["name"], run["status"],
             str(counts[run["run_id"]]),
             link("JSON", run_files(run)["json"]) + ", " + link("CSV", run_files(run)["csv"])]
            for run in reversed(runs)]
    return md_table(["run", "started (UTC)", "profile", "state", "series on the chart", "data"], rows)


def machine_section(machine: str, runs: list[Run]) -> dict[str, Any]:
    """One machine's history: chart, summary and run table when it has at least two runs with a measurement."""
    series = _points(runs)
    counts = Counter(run["run_id"] for points in series.values() for run, _ in points)  # series per run
    section = {"machine": machine, "n_runs": len(runs), "n_points": len(counts), "chart": "", "summary": "",
               "changes": "", "ratio_chart": "", "verdict_changes": "",
               "runs": _runs_table(runs, counts), "command": provenance(runs[-1])["command"]}
    if len(counts) < 2:
        return section
    changes = findings.history_changes(runs)
    section["changes"] = md_table(
        ["framework (variant)", "before → after (ms)", "speed-up [interval], verdict", "runs (from → to)"],
        [[c["label"], f"{fmt(c['before_ms'], 'ms')} → {fmt(c['after_ms'], 'ms')}",
          f"{findings.ratio_text(c)}, {c['verdict']}", MD("{} → {}").format(code(c["base"]), code(c["new"]))]
         for c in changes]) if changes else ""
    verdicts = _verdicts(runs)
    section["verdict_changes"] = _verdict_changes(verdicts)
    ratios = _ratio_figure(verdicts, machine)
    section["ratio_chart"] = chart_html(ratios, f"history-ratio-{machine}", f"Speed-up over the reference in each "
                                        f"run on {machine}, with its interval") if ratios else ""
    return {**section, "summary": _summary(series),
            "chart": chart_html(_figure(series, machine), f"history-{machine}",
                                f"Median batch-1 latency of each run on {machine}; hover for the run and its IQR")}


def context(run: Run, loaded: LoadedResults) -> dict[str, Any]:
    """Context of the History page: one section per machine, the featured run's machine first."""
    groups = by_machine(loaded.runs)
    order = [run["machine_id"], *(mid for mid in groups if mid != run["machine_id"])]
    return {"run": provenance(run), "sections": [machine_section(mid, groups[mid]) for mid in order]}
