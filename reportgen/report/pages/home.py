"""The Home page: what was compared, on what, and the key numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from reportgen.report import findings
from reportgen.report.charts import chart_html, color
from reportgen.report.format import fmt, md_table, metric, name, provenance
from reportgen.store.records import Setting
from reportgen.store.results import LoadedResults

PAGE = "index.md"


def context(run: dict[str, Any], loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Home page: what was compared, on what, and the key numbers."""
    batch1 = findings.batch1(run)
    devices = not all(findings.on_device(run, r) for r in batch1)  # a CUDA run's CPU-only rows: say where each ran
    fig = go.Figure(go.Bar(
        x=[f"{name(r['framework'])} ({r['variant']}{', ' + r['device'] if devices else ''})" for r in batch1],
        y=[metric(r, "latency_ms_p50") for r in batch1],
        error_y={"type": "data", "symmetric": False,
                 "array": [float(np.percentile(r["samples"]["latency_ms"], 75)) - metric(r, "latency_ms_p50")
                           for r in batch1],
                 "arrayminus": [metric(r, "latency_ms_p50") - float(np.percentile(r["samples"]["latency_ms"], 25))
                                for r in batch1]},
        marker_color=[color(r["framework"]) for r in batch1],
        hovertemplate="median %{y:.2f} ms<extra></extra>",
    ))
    fig.update_layout(title="Median batch-1 latency (error bars: quartiles)", yaxis_title="latency (ms)")
    m = run["machine"]
    return {
        "run": provenance(run),
        "findings": findings.inference_findings(run) + findings.edge_findings(run) + findings.training_findings(run),
        "machine": {"cpu": m["cpu"]["model"], "cores": m["cpu"]["available_cores"], "memory_gb": m["memory_gb"],
                    "gpus": ", ".join(g["name"] for g in m["gpus"]) or "none", "device": run["options"]["device"]},
        "key_tables": [{"precision": p, "table": _key_table(run, [r for r in batch1 if r["precision"] == p], devices)}
                       for p in findings.precisions(batch1)],
        "chart": chart_html(fig, "home-latency", "Median batch-1 latency per framework") if batch1 else "",
        "image_size": batch1[0]["settings"][Setting.IMAGE_SIZE] if batch1 else None,
        "timed_model": findings.timed_model(run),
        "counts": {s: sum(r["status"] == s for r in run["records"]) for s in ("ok", "failed", "skipped")},
        "n_runs": len(loaded.runs),
        "machines": sorted({r["machine_id"] for r in loaded.runs}),
    }


def _key_table(run: dict[str, Any], recs: list[dict[str, Any]], devices: bool) -> str:
    """Batch-1 numbers of one precision; quantized and half-precision rows carry their accuracy change, and
    every row its device where the run's rows ran on more than one."""
    accuracy = {id(r): findings.accuracy_record(run, r) for r in recs}
    with_accuracy = any(accuracy.values()) and any(r["precision"] != "fp32" for r in recs)
    header = ["framework", "variant"] + (["device"] if devices else []) + [
        "median latency (ms)", "IQR (ms)", "throughput (img/s)"]
    rows = [[name(r["framework"]), r["variant"], *([r["device"]] if devices else []),
             fmt(metric(r, "latency_ms_p50"), "ms"),
             fmt(metric(r, "latency_ms_iqr"), "ms"), fmt(metric(r, "throughput_ips"))]
            + ([f"{metric(accuracy[id(r)], 'top1_delta'):+.3f}" if accuracy[id(r)] else "–"] if with_accuracy else [])
            for r in recs]
    return md_table(header + (["top-1 change (digits model)"] if with_accuracy else []), rows)
