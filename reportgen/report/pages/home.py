"""The Home page: what was compared, on what, and the key numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from reportgen.report import decisions, findings
from reportgen.report.charts import chart_html, color
from reportgen.report.escape import MD
from reportgen.report.format import fmt, md_table, metric, name, provenance
from reportgen.store.records import Setting
from reportgen.store.results import LoadedResults

PAGE = "index.md"


def context(run: dict[str, Any], loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Home page: what was compared, on what, and the key numbers."""
    batch1 = findings.batch1(run)
    devices = not all(findings.on_device(run, r) for r in batch1)  # a CUDA run's CPU-only rows: say where each ran
    m = run["machine"]
    return {
        "run": provenance(run),
        "decisions": _decision_table(run, loaded),
        "findings": findings.trust_findings(run) + findings.serving_findings(run) + findings.training_findings(run),
        "machine": {"cpu": m["cpu"]["model"], "cores": m["cpu"]["available_cores"], "memory_gb": m["memory_gb"],
                    "gpus": ", ".join(g["name"] for g in m["gpus"]) or "none", "device": run["options"]["device"]},
        "key_tables": [{"precision": p, "table": _key_table(run, [r for r in batch1 if r["precision"] == p], devices),
                        "chart": _chart([r for r in batch1 if r["precision"] == p], p, devices)}
                       for p in findings.precisions(batch1)],
        "image_size": batch1[0]["settings"][Setting.IMAGE_SIZE] if batch1 else None,
        "timed_model": findings.timed_model(run),
        "counts": {s: sum(r["status"] == s for r in run["records"]) for s in ("ok", "failed", "skipped")},
        "n_runs": len(loaded.runs),
        "machines": sorted({r["machine_id"] for r in loaded.runs}),
    }


def _chart(recs: list[dict[str, Any]], precision: str, devices: bool) -> str:
    """One precision's median batch-1 latencies with their quartiles: precisions are not ranked together."""
    fig = go.Figure(go.Bar(
        x=[f"{name(r['framework'])} ({r['variant']}{', ' + r['device'] if devices else ''})" for r in recs],
        y=[metric(r, "latency_ms_p50") for r in recs],
        error_y={"type": "data", "symmetric": False,
                 "array": [float(np.percentile(r["samples"]["latency_ms"], 75)) - metric(r, "latency_ms_p50")
                           for r in recs],
                 "arrayminus": [metric(r, "latency_ms_p50") - float(np.percentile(r["samples"]["latency_ms"], 25))
                                for r in recs]},
        marker_color=[color(r["framework"]) for r in recs],
        hovertemplate="median %{y:.2f} ms<extra></extra>",
    ))
    fig.update_layout(title=f"Median batch-1 latency, {precision} (error bars: quartiles)",
                      yaxis_title="latency (ms)")
    return chart_html(fig, f"home-latency-{precision}", f"Median batch-1 latency of the {precision} variants")


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


def _decision_table(run: dict[str, Any], loaded: LoadedResults) -> str:
    """One row per question: the pick (ties named), the pick against its nearest rival with the interval and
    the verdict, how many of this machine's stored runs pick the same, and the row's caveat."""
    rows = [[MD("**{}**<br><small>{}</small>").format(d.question.title, d.question.scope), decisions.names(d),
             f"{d.ratio} {d.verdict}".strip() if d.ratio else d.verdict, d.agree or "–", d.caveat or "–"]
            for d in decisions.table(run, loaded.runs)]
    return md_table(["question and scope", "pick", "against the runner-up", "runs agreeing", "caveat"], rows) \
        if rows else ""
