"""The Home page: what was compared, on what, and the key numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from reportgen.report.charts import FRAMEWORK_COLORS, chart_html
from reportgen.report.escape import link
from reportgen.report.format import finding, fmt, md_table, metric, name, provenance, records
from reportgen.report.pages import inference, training
from reportgen.results import LoadedResults

PAGE = "index.md"


def context(run: dict[str, Any], loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Home page: what was compared, on what, and the key numbers."""
    batch1 = sorted((r for r in records(run, "inference") if r["batch_size"] == 1),
                    key=lambda r: metric(r, "latency_ms_p50"))
    fig = go.Figure(go.Bar(
        x=[f"{name(r['framework'])} ({r['variant']})" for r in batch1],
        y=[metric(r, "latency_ms_p50") for r in batch1],
        error_y={"type": "data", "symmetric": False,
                 "array": [float(np.percentile(r["samples"]["latency_ms"], 75)) - metric(r, "latency_ms_p50")
                           for r in batch1],
                 "arrayminus": [metric(r, "latency_ms_p50") - float(np.percentile(r["samples"]["latency_ms"], 25))
                                for r in batch1]},
        marker_color=[FRAMEWORK_COLORS.get(r["framework"]) for r in batch1],
        hovertemplate="median %{y:.2f} ms<extra></extra>",
    ))
    fig.update_layout(title="Median batch-1 latency (error bars: quartiles)", yaxis_title="latency (ms)")
    m = run["machine"]
    return {
        "run": provenance(run),
        "findings": inference.findings(run) + _edge(run) + training.findings(run),
        "machine": {"cpu": m["cpu"]["model"], "cores": m["cpu"]["available_cores"], "memory_gb": m["memory_gb"],
                    "gpus": ", ".join(g["name"] for g in m["gpus"]) or "none", "device": run["options"]["device"]},
        "key_table": md_table(
            ["framework", "variant", "median latency (ms)", "IQR (ms)", "throughput (img/s)"],
            [[name(r["framework"]), r["variant"], fmt(metric(r, "latency_ms_p50"), "ms"),
              fmt(metric(r, "latency_ms_iqr"), "ms"), fmt(metric(r, "throughput_ips"))] for r in batch1]),
        "chart": chart_html(fig, "home-latency", "Median batch-1 latency per framework") if batch1 else "",
        "image_size": batch1[0]["settings"]["image_size"] if batch1 else None,
        "counts": {s: sum(r["status"] == s for r in run["records"]) for s in ("ok", "failed", "skipped")},
        "n_runs": len(loaded.runs),
        "machines": sorted({r["machine_id"] for r in loaded.runs}),
    }


def _edge(run: dict[str, Any]) -> list[str]:
    """The smallest deployable file whose accuracy held, from the conversion records."""
    parity = {r["variant"]: r for r in records(run, "parity")}
    sized = [(metric(r, "model_size_mb"), r, parity[r["variant"]]) for r in records(run, "conversion")
             if r["variant"] in parity and metric(r, "model_size_mb")]
    if not sized:
        return []
    size, conv, par = min(sized, key=lambda t: t[0])
    return [finding("Edge and size", f"the smallest checked model file is {conv['variant']} ({fmt(size)} MB, from "
            f"{name(conv['framework'])}); its top-1 accuracy changed by {metric(par, 'top1_delta'):+.3f} on held-out "
            f"digits (" + link("Parity & Conversion", "parity.md") + ").")]
