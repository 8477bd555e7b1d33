"""The Parity & Conversion page: does every export compute the same function, and what does it cost?"""

from __future__ import annotations

from collections import Counter
from typing import Any

import plotly.graph_objects as go

from reportgen import catalog
from reportgen.config import tasks_at_once
from reportgen.report import findings
from reportgen.report.charts import GROUPED_LEGEND, Styles, chart_html
from reportgen.report.escape import code
from reportgen.report.format import conversion_model, fmt, md_table, metric, name, provenance, records
from reportgen.store.records import Setting
from reportgen.store.results import LoadedResults

PAGE = "parity.md"
def _converter_rates(loaded: LoadedResults) -> str:
    """Success rate of each converter over every stored run, each conversion counted once."""
    tried: Counter[str] = Counter()
    worked: Counter[str] = Counter()
    for run in loaded.runs:
        for rec in run["records"]:
            converter = rec["settings"].get(Setting.CONVERTER)
            if rec["scenario"] == "conversion" and converter and "convert_ok" in rec["metrics"] \
                    and conversion_model(rec) != "inference":  # the timed model's files repeat the same converters
                tried[converter] += 1
                worked[converter] += int(metric(rec, "convert_ok") == 1)
    rows = [[code(c), str(worked[c]), str(tried[c]), f"{worked[c] / tried[c]:.0%}"] for c in sorted(tried)]
    return md_table(["converter", "succeeded", "attempts", "success rate"], rows) if rows else ""


def _size_accuracy_figure(conversions: list[dict[str, Any]],
                          parity: dict[tuple[str, str], dict[str, Any]]) -> go.Figure:
    """INT8 files: size against accuracy change, one marker per file (in the legend and on hover, never as
    overlapping labels), with the change also as a count of held-out images."""
    fig = go.Figure()
    styles = Styles()
    for rec in (r for r in conversions if r["precision"] == "int8"):
        par = parity.get(catalog.checked_by(rec["framework"], rec["variant"]))  # the catalog says which
        if par is None or "model_size_mb" not in rec["metrics"]:
            continue
        images = par["batch_size"] or 0
        changed = round(metric(par, "top1_delta") * images)
        fig.add_trace(go.Scatter(
            x=[metric(rec, "model_size_mb")], y=[metric(par, "top1_delta")], mode="markers",
            **styles.line(par["framework"], f"{name(par['framework'])} {rec['variant']}", size=14),
            customdata=[[f"{changed:+d} of {images} images"]],
            hovertemplate="%{x:.2f} MB, top-1 change %{y:+.3f} (%{customdata[0]})<extra>%{fullData.name}</extra>",
        ))
    fp32 = next((r for r in conversions if r["variant"] == "onnx" and r["framework"] == "torch"), None)
    if fp32 is not None and "model_size_mb" in fp32["metrics"]:
        fig.add_trace(go.Scatter(x=[metric(fp32, "model_size_mb")], y=[0.0], mode="markers", name="fp32 (ONNX)",
                                 marker={"size": 14, "symbol": "diamond-open", "color": "#777777"},
                                 hovertemplate="%{x:.1f} MB, the float model<extra></extra>"))
    fig.update_layout(title="Model size against accuracy change after INT8 quantization",
                      xaxis_title="model file (MB)", yaxis_title="top-1 change vs fp32",
                      legend={**GROUPED_LEGEND, "orientation": "h", "y": -0.25})
    return fig


def _with_count(rec: dict[str, Any]) -> str:
    """A top-1 change with the images it stands for, e.g. ``+0.006 (+2 of 359 images)``."""
    delta, images = metric(rec, "top1_delta"), rec["batch_size"]
    if delta is None or not images:
        return _signed(delta)
    return f"{_signed(delta)} ({round(delta * images):+d} of {images} images)"


def _conversions_table(recs: list[dict[str, Any]]) -> str:
    """Exports of one model: converter, result, time and file size (failures are listed below the tables)."""
    return md_table(["from", "export", "converter", "result", "time (s)", "file (MB)"],
                    [[name(r["framework"]), r["variant"], code(r["settings"].get(Setting.CONVERTER, "")), r["status"],
                      fmt(metric(r, "convert_s"), "s"), fmt(metric(r, "model_size_mb"), "MB")]
                     for r in recs]) if recs else ""


def context(run: dict[str, Any], loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Parity & Conversion page."""
    facts = records(run, "model")
    conversions = [r for r in run["records"] if r["scenario"] == "conversion"]
    parity_recs = sorted(records(run, "parity", status=None), key=lambda r: (r["precision"], r["framework"]))
    parity = {(r["framework"], r["variant"]): r for r in parity_recs if r["status"] == "ok"}
    reference = next((r for r in records(run, "training") if r["variant"] == catalog.DIGITS_REFERENCE), None)
    return {
        "run": provenance(run),
        "facts": md_table(
            ["framework", "classes", "trainable parameters", "all parameters (with BN statistics)", "MACs per image"],
            [[name(r["framework"]), str(r["settings"].get(Setting.NUM_CLASSES, "")),
              fmt(metric(r, "params_trainable"), "count"), fmt(metric(r, "params_total"), "count"), _macs(r)]
             for r in facts]) if facts else "",
        "conversions": _conversions_table([r for r in conversions if conversion_model(r) == "digits"]),
        "timed_conversions": _conversions_table([r for r in conversions if conversion_model(r) == "inference"]),
        # conversions timed while another ran beside them (quick's conversions_at_once): durations, not a ranking
        "shared_cpu": max((tasks_at_once(r["settings"]) for r in conversions), default=1),
        "shared_threads": " or ".join(map(str, findings.thread_shares(conversions))),
        "conversion_failures": [f"{name(r['framework'])} {r['variant']}: {r['reason']}" for r in conversions
                                if r["status"] != "ok"],
        "rates": _converter_rates(loaded),
        "parity": md_table(
            ["runs in", "model", "precision", "max abs diff", "top-1 agreement", "top-1 change"],
            [[name(r["framework"]), r["variant"], r["precision"], fmt(metric(r, "max_abs_diff"), "abs"),
              fmt(metric(r, "top1_agreement"), "fraction"), _with_count(r)]
             if r["status"] == "ok" else [name(r["framework"]), r["variant"], r["precision"], r["status"],
                                          r["reason"], ""]
             for r in parity_recs]) if parity_recs else "",
        "reference": {"top1": metric(reference, "final_top1"), "epochs": reference["settings"][Setting.EPOCHS],
                      "eval_images": reference["settings"][Setting.EVAL_IMAGES],
                      "train_images": reference["settings"][Setting.TRAIN_IMAGES]} if reference else None,
        "chart": chart_html(_size_accuracy_figure(conversions, parity), "size-vs-accuracy",
                            "Each INT8 model's file size against its top-1 change on the held-out digits")
        if any(r["precision"] == "int8" for r in parity_recs) else "",
    }


def _macs(rec: dict[str, Any]) -> str:
    macs, size = metric(rec, "macs"), rec["settings"].get(Setting.IMAGE_SIZE)
    return f"{macs / 1e9:.2f} G at {size}x{size}" if macs else "–"


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3f}"
