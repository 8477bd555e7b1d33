"""Generated pages: stored runs -> tables, figures and text -> Markdown files in the docs folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import plotly.graph_objects as go

from reportgen.config import PROFILES, profile_settings
from reportgen.hardware import LIBRARIES
from reportgen.report.charts import FRAMEWORK_COLORS, PART_COLORS, chart_html
from reportgen.results import METRICS, RUN_SCHEMA, SCHEMA_VERSION, LoadedResults

FRAMEWORK_NAMES = {"torch": "PyTorch", "tensorflow": "TensorFlow/Keras", "onnxruntime": "ONNX Runtime"}
GENERATED_PAGES = ("index.md", "inference.md", "hardware.md", "profiles.md", "schema.md")

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("reportgen.report", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


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


def _metric(rec: dict[str, Any], metric: str) -> float | None:
    entry = rec["metrics"].get(metric)
    return entry["value"] if entry else None


def _records(run: dict[str, Any], scenario: str, status: str | None = "ok") -> list[dict[str, Any]]:
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


# ---------------------------------------------------------------- inference


def _latency_figure(records: list[dict[str, Any]]) -> go.Figure:
    fig = go.Figure()
    for rec in records:
        samples = rec["samples"].get("latency_ms", [])
        fig.add_trace(go.Box(
            y=samples, name=f"{name(rec['framework'])} ({rec['variant']})", boxpoints="outliers",
            marker_color=FRAMEWORK_COLORS.get(rec["framework"]),
            hovertemplate="%{y:.2f} ms<extra>" + f"{len(samples)} samples</extra>",
        ))
    fig.update_layout(title="Batch-1 latency per call (raw samples)", yaxis_title="latency (ms)",
                      showlegend=False)
    return fig


def _startup_figure(records: list[dict[str, Any]]) -> go.Figure:
    labels = [f"{name(r['framework'])} ({r['variant']})" for r in records]
    fig = go.Figure()
    for part, color in zip(("import_s", "load_s", "first_call_s"), PART_COLORS, strict=False):
        fig.add_trace(go.Bar(
            y=labels, x=[_metric(r, part) for r in records], name=METRICS[part].description,
            orientation="h", marker_color=color, hovertemplate="%{x:.2f} s<extra>%{fullData.name}</extra>",
        ))
    fig.update_layout(barmode="stack", title="Cold start: fresh process to first result",
                      xaxis_title="seconds", legend={"orientation": "h", "y": -0.25})
    return fig


def inference_page(run: dict[str, Any]) -> dict[str, Any]:
    """Context of the Inference page."""
    inference = sorted(_records(run, "inference"), key=lambda r: (r["batch_size"], _metric(r, "latency_ms_p50")))
    parity = {(r["framework"], r["variant"]): r for r in _records(run, "parity")}
    rows = []
    for rec in inference:
        par = parity.get((rec["framework"], rec["variant"]))
        rows.append([
            name(rec["framework"]), rec["variant"], str(rec["batch_size"]),
            *(fmt(_metric(rec, m), "ms") for m in ("latency_ms_p50", "latency_ms_iqr", "latency_ms_p90",
                                                   "latency_ms_p99")),
            fmt(_metric(rec, "throughput_ips")), fmt(_metric(rec, "peak_rss_mb")),
            str(rec["settings"].get("samples", "")), "yes" if rec["settings"].get("noisy") else "no",
            fmt(_metric(par, "max_abs_diff"), "abs") if par else "–",
        ])
    batch1 = [r for r in inference if r["batch_size"] == 1]
    startup = sorted(_records(run, "startup"), key=lambda r: _metric(r, "cold_start_s") or 0)
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
              *(fmt(_metric(r, m), "s") for m in ("import_s", "load_s", "first_call_s", "cold_start_s"))]
             for r in startup]) if startup else "",
        "problems": _problem_rows(run),
        "settings": _inference_settings(inference),
    }


def _inference_settings(records: list[dict[str, Any]]) -> dict[str, Any]:
    if not records:
        return {}
    s = records[0]["settings"]
    return {"image_size": s["image_size"], "timing": s["timing"], "memory_method": s["memory_method"],
            "threads": {name(r["framework"]): r["settings"]["threads"] for r in records}}


def _problem_rows(run: dict[str, Any]) -> str:
    bad = [r for r in run["records"] if r["status"] != "ok"]
    if not bad:
        return ""
    return md_table(["scenario", "framework", "variant", "status", "reason"],
                    [[r["scenario"], name(r["framework"]), r["variant"], r["status"], r["reason"]] for r in bad])


# ---------------------------------------------------------------- home


def home_page(run: dict[str, Any], loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Home page: what was compared, on what, and the key numbers."""
    batch1 = sorted((r for r in _records(run, "inference") if r["batch_size"] == 1),
                    key=lambda r: _metric(r, "latency_ms_p50"))
    fig = go.Figure(go.Bar(
        x=[f"{name(r['framework'])} ({r['variant']})" for r in batch1],
        y=[_metric(r, "latency_ms_p50") for r in batch1],
        error_y={"type": "data", "symmetric": False,
                 "array": [float(np.percentile(r["samples"]["latency_ms"], 75)) - _metric(r, "latency_ms_p50")
                           for r in batch1],
                 "arrayminus": [_metric(r, "latency_ms_p50") - float(np.percentile(r["samples"]["latency_ms"], 25))
                                for r in batch1]},
        marker_color=[FRAMEWORK_COLORS.get(r["framework"]) for r in batch1],
        hovertemplate="median %{y:.2f} ms<extra></extra>",
    ))
    fig.update_layout(title="Median batch-1 latency (error bars: quartiles)", yaxis_title="latency (ms)")
    m = run["machine"]
    return {
        "run": provenance(run),
        "machine": {"cpu": m["cpu"]["model"], "cores": m["cpu"]["available_cores"], "memory_gb": m["memory_gb"],
                    "gpus": ", ".join(g["name"] for g in m["gpus"]) or "none", "device": run["options"]["device"]},
        "key_table": md_table(
            ["framework", "variant", "median latency (ms)", "IQR (ms)", "throughput (img/s)"],
            [[name(r["framework"]), r["variant"], fmt(_metric(r, "latency_ms_p50"), "ms"),
              fmt(_metric(r, "latency_ms_iqr"), "ms"), fmt(_metric(r, "throughput_ips"))] for r in batch1]),
        "chart": chart_html(fig, "home-latency", "Median batch-1 latency per framework") if batch1 else "",
        "image_size": batch1[0]["settings"]["image_size"] if batch1 else None,
        "counts": {s: sum(r["status"] == s for r in run["records"]) for s in ("ok", "failed", "skipped")},
        "n_runs": len(loaded.runs),
        "machines": sorted({r["machine_id"] for r in loaded.runs}),
    }


# ---------------------------------------------------------------- hardware & software


def hardware_page(run: dict[str, Any], loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Hardware & software page."""
    m = run["machine"]
    cpu = m["cpu"]
    facts = [
        ["CPU", cpu["model"]], ["architecture", cpu["architecture"]],
        ["cores (physical / logical / available to the run)",
         f"{cpu['physical_cores']} / {cpu['logical_cores']} / {cpu['available_cores']}"],
        ["SIMD", ", ".join(cpu["simd"]) or "–"], ["memory", f"{m['memory_gb']} GB"], ["OS", m["os"]],
        ["Python", m["python"]], ["compiler", m["compiler"] or "–"],
        ["device used", run["options"]["device"]], ["threads per measuring process", str(run["options"]["threads"])],
    ]
    for i, gpu in enumerate(m["gpus"]):
        facts.append([f"GPU {i}", f"{gpu['name']}, {fmt(gpu['memory_mb'])} MB, driver {gpu['driver']}"])
    if m.get("cuda"):
        facts.append(["CUDA (torch)", f"CUDA {m['cuda'].get('cuda')}, cuDNN {m['cuda'].get('cudnn')}"])
    libs = [[lib, m["libraries"].get(lib) or "not installed"] for lib in LIBRARIES if lib in m["libraries"]]
    matrix = [[r["scenario"], name(r["framework"]), r["variant"], r["device"],
               str(r["batch_size"] or "–"), r["status"], r["reason"] or ""] for r in run["records"]]
    runs = [[r["run_id"], r["machine_id"], r["profile"]["name"], r["status"], r["started_at"],
             str(sum(x["status"] == "ok" for x in r["records"])),
             str(sum(x["status"] != "ok" for x in r["records"]))] for r in reversed(loaded.runs)]
    threads = {f"{name(r['framework'])} ({r['variant']})": r["settings"]["threads"]
               for r in _records(run, "inference")}
    return {
        "run": provenance(run),
        "facts": md_table(["fact", "value"], facts),
        "libraries": md_table(["library", "version"], libs),
        "threads": md_table(["runtime", "thread settings"],
                            [[k, ", ".join(f"`{n}={v}`" for n, v in t.items())] for k, t in threads.items()]),
        "thread_env": m["thread_env"],
        "matrix": md_table(["scenario", "framework", "variant", "device", "batch", "status", "reason"], matrix),
        "runs": md_table(["run", "machine", "profile", "state", "started (UTC)", "ok records", "not ok"], runs),
        "problems": loaded.problems,
    }


# ---------------------------------------------------------------- profiles and schema


def profiles_page() -> dict[str, Any]:
    """Context of the Run profiles page, straight from the profile definitions."""
    rows = []
    for p in PROFILES.values():
        t = profile_settings(p)["inference"]["timing"]
        rows.append([f"`{p.name}`", p.description, str(p.inference.image_size),
                     ", ".join(map(str, p.inference.batch_sizes)), str(t["warmup"]), str(t["min_count"]),
                     f"{t['min_time_s']:g}", f"{t['max_time_s']:g}", f"{p.timeout_s:g}"])
    return {"table": md_table(["profile", "purpose", "image size", "batch sizes", "warm-up calls",
                               "min samples", "min time (s)", "max time (s)", "timeout per process (s)"], rows)}


def schema_page(run: dict[str, Any] | None) -> dict[str, Any]:
    """Context of the Results schema page, generated from the schema itself."""
    record_schema = RUN_SCHEMA["properties"]["records"]["items"]

    def fields(schema: dict[str, Any]) -> str:
        rows = []
        for key, spec in schema["properties"].items():
            kind = spec.get("type", "enum" if "enum" in spec else "")
            kind = " or ".join(kind) if isinstance(kind, list) else kind
            if "enum" in spec:
                kind += ": " + ", ".join(f"`{v}`" for v in spec["enum"])
            rows.append([f"`{key}`", kind, spec.get("description", "")])
        return md_table(["field", "type", "meaning"], rows)

    example = None
    if run:
        rec = next((r for r in run["records"] if r["samples"]), run["records"][0] if run["records"] else None)
        if rec:
            rec = {**rec, "samples": {k: v[:5] + ["..."] for k, v in rec["samples"].items()}}
            example = json.dumps(rec, indent=2)
    return {
        "version": SCHEMA_VERSION,
        "run_fields": fields(RUN_SCHEMA),
        "record_fields": fields(record_schema),
        "metrics": md_table(["metric", "unit", "better", "meaning"],
                            [[f"`{k}`", m.unit, m.better or "–", m.description] for k, m in METRICS.items()]),
        "example": example,
        "json_schema": json.dumps(RUN_SCHEMA, indent=2),
    }


def write_pages(loaded: LoadedResults, docs_dir: Path) -> list[Path]:
    """Render every generated page into ``docs_dir`` and return their paths."""
    run = featured_run(loaded.runs)
    contexts: dict[str, dict[str, Any]] = {
        "profiles.md": profiles_page(),
        "schema.md": schema_page(run),
    }
    if run is None:
        for page in ("index.md", "inference.md", "hardware.md"):
            contexts[page] = {"run": None, "problems": loaded.problems}
    else:
        contexts["index.md"] = home_page(run, loaded)
        contexts["inference.md"] = inference_page(run)
        contexts["hardware.md"] = hardware_page(run, loaded)
    written = []
    for page in GENERATED_PAGES:
        path = docs_dir / page
        path.write_text(_env.get_template(page + ".j2").render(**contexts[page]), encoding="utf-8")
        written.append(path)
    return written
