"""The Inference page: latency distributions, the latency table and the cold-start breakdown."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from reportgen.report.charts import FRAMEWORK_COLORS, PART_COLORS, chart_html
from reportgen.report.format import fmt, md_table, metric, name, problem_rows, provenance, records
from reportgen.results import METRICS, LoadedResults

PAGE = "inference.md"


def _latency_figure(recs: list[dict[str, Any]]) -> go.Figure:
    fig = go.Figure()
    for rec in recs:
        samples = rec["samples"].get("latency_ms", [])
        fig.add_trace(go.Box(
            y=samples, name=f"{name(rec['framework'])} ({rec['variant']})", boxpoints="outliers",
            marker_color=FRAMEWORK_COLORS.get(rec["framework"]),
            hovertemplate="%{y:.2f} ms<extra>" + f"{len(samples)} samples</extra>",
        ))
    fig.update_layout(title="Batch-1 latency per call (raw samples)", yaxis_title="latency (ms)",
                      showlegend=False)
    return fig


def _startup_figure(recs: list[dict[str, Any]]) -> go.Figure:
    labels = [f"{name(r['framework'])} ({r['variant']})" for r in recs]
    fig = go.Figure()
    for part, color in zip(("import_s", "load_s", "first_call_s"), PART_COLORS, strict=False):
        fig.add_trace(go.Bar(
            y=labels, x=[metric(r, part) for r in recs], name=METRICS[part].description,
            orientation="h", marker_color=color, hovertemplate="%{x:.2f} s<extra>%{fullData.name}</extra>",
        ))
    fig.update_layout(barmode="stack", title="Cold start: fresh process to first result",
                      xaxis_title="seconds", legend={"orientation": "h", "y": -0.25})
    return fig


def context(run: dict[str, Any], loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Inference page."""
    inference = sorted(records(run, "inference"), key=lambda r: (r["batch_size"], metric(r, "latency_ms_p50")))
    rows = []
    for rec in inference:
        rows.append([
            name(rec["framework"]), rec["variant"], str(rec["batch_size"]),
            *(fmt(metric(rec, m), "ms") for m in ("latency_ms_p50", "latency_ms_iqr", "latency_ms_p90",
                                                   "latency_ms_p99")),
            fmt(metric(rec, "throughput_ips")), fmt(metric(rec, "peak_rss_mb")),
            str(rec["settings"].get("samples", "")), "yes" if rec["settings"].get("noisy") else "no",
            fmt(metric(rec, "max_abs_diff"), "abs"),
        ])
    batch1 = [r for r in inference if r["batch_size"] == 1]
    startup = sorted(records(run, "startup"), key=lambda r: metric(r, "cold_start_s") or 0)
    return {
        "run": provenance(run),
        "table": md_table(["framework", "variant", "batch", "p50 (ms)", "IQR (ms)", "p90 (ms)", "p99 (ms)",
                           "throughput (img/s)", "peak RSS (MB)", "samples", "noisy",
                           "max abs diff vs reference"], rows) if rows else "",
        "latency_chart": chart_html(_latency_figure(batch1), "latency-batch1",
                                    "Per-call latency at batch 1; boxes show the quartiles of the raw samples")
        if batch1 else "",
        "startup_chart": chart_html(_startup_figure(startup), "cold-start",
                                    "Import, model load and first call in a fresh process")
        if startup else "",
        "startup_table": md_table(
            ["framework", "variant", "import (s)", "load (s)", "first call (s)", "cold start (s)"],
            [[name(r["framework"]), r["variant"],
              *(fmt(metric(r, m), "s") for m in ("import_s", "load_s", "first_call_s", "cold_start_s"))]
             for r in startup]) if startup else "",
        "problems": problem_rows(run),
        "settings": _inference_settings(inference),
    }


def _inference_settings(recs: list[dict[str, Any]]) -> dict[str, Any]:
    if not recs:
        return {}
    s = recs[0]["settings"]
    return {"image_size": s["image_size"], "timing": s["timing"], "memory_method": s["memory_method"],
            "threads": {name(r["framework"]): r["settings"]["threads"] for r in recs}}
