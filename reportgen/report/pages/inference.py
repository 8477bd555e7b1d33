"""The Inference page: which runtime serves ResNet-18 fastest, with how much memory, how quickly it starts."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from reportgen import catalog, thresholds
from reportgen.config import reference_processes
from reportgen.measure import stats
from reportgen.report import findings
from reportgen.report.charts import GROUPED_LEGEND, PART_COLORS, Styles, chart_html, color
from reportgen.report.format import fmt, label, md_table, metric, name, problem_rows, provenance, records
from reportgen.report.pages.tryit import browser_notes, browser_table
from reportgen.scenarios import roof
from reportgen.store.records import Setting
from reportgen.store.results import METRICS, LoadedResults

PAGE = "inference.md"


def _verdict(cmp: dict[str, Any] | None) -> str:
    if cmp is None:
        return "reference"
    return f"{findings.ratio_text(cmp)} {cmp['verdict']}"


def _latency_table(batch1: list[dict[str, Any]], versus: dict[tuple[str, str], dict[str, Any]]) -> str:
    """Each variant's latency beside its caveats: the interval of the median, the verdict and its rounds."""
    noisy = {key for key, cmp in versus.items() if stats.too_noisy(cmp)}
    rows = [[label(r), findings.median_text(r) + (" ⚠" if (r["framework"], r["variant"]) in noisy else ""),
             fmt(metric(r, "latency_ms_iqr"), "ms"),
             f"{fmt(metric(r, 'latency_ms_p90'), 'ms')} / {fmt(metric(r, 'latency_ms_p99'), 'ms')}",
             _verdict(versus.get((r["framework"], r["variant"]))), str(r["settings"].get(Setting.ROUNDS, 1))]
            for r in batch1]
    return md_table(["runtime / variant", "p50 (ms) ±interval", "IQR (ms)", "p90 / p99 (ms)",
                     f"speed-up vs {catalog.reference().label}", "rounds"], rows)


def _detail_table(run: dict[str, Any], batch1: list[dict[str, Any]]) -> str:
    """The same variants' agreement with the reference, memory and efficiency; energy per image where a counter
    measured it. An INT8 row's agreement is its recipe's on the trained digits model, with its interval: on the
    timed model, whose weights are untrained, it would mean nothing."""
    joules = any(metric(r, "energy_j_per_image") is not None for r in batch1)
    rows = []
    for r in batch1:
        diff = metric(r, "max_abs_diff")
        roof = metric(r, "roof_fraction")
        tf32 = " (tf32)" if findings.arithmetic(r) == "tf32" else ""
        if r["precision"] == "int8":  # quantization error on untrained weights says nothing: the digits model does
            agreement = _digits_agreement(run, r)
            judged = fmt(diff, "abs") + "¹"
        else:
            agreement = fmt(metric(r, "top1_agreement"), "fraction")
            judged = fmt(diff, "abs") + tf32 + ("" if findings.agrees(r) else " ⚠")
        memory = fmt(metric(r, "runtime_peak_mb")) + " / " + fmt(metric(r, "peak_rss_mb"))
        rows.append([label(r), judged, agreement, memory,
                     fmt(metric(r, "gflops_per_s")) + (f" ({_percent(roof)})" if roof is not None else "")]
                    + ([fmt(metric(r, "energy_j_per_image"), "J")] if joules else []))
    return md_table(["runtime / variant", "max abs diff", "top-1 agreement", "memory² (MB)", "GFLOP/s (of roof)"]
                    + (["energy (J/image)"] if joules else []), rows)


def _digits_agreement(run: dict[str, Any], rec: dict[str, Any]) -> str:
    """``digits 0.975 [0.953, 0.987]``: the agreement of the INT8 recipe of ``rec`` on the trained digits model."""
    acc = findings.accuracy_record(run, rec)
    got = findings.accuracy_interval(acc) if acc else {}
    if "agreement_ci" not in got:
        return "not meaningful¹"
    low, high = got["agreement_ci"]
    return f"digits {got['agreement']:.3f} [{low:.3f}, {high:.3f}]"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _box_figure(batch1: list[dict[str, Any]]) -> go.Figure:
    fig = go.Figure()
    for rec in batch1:
        samples = rec["samples"]["latency_ms"]
        fig.add_trace(go.Box(
            x=samples, name=label(rec), orientation="h", boxpoints="outliers",
            marker_color=color(rec["framework"]),
            hovertemplate="%{x:.2f} ms<extra>" + f"{len(samples)} samples</extra>",
        ))
    fig.update_layout(title="Batch-1 latency per call (all rounds' raw samples)", xaxis_title="latency (ms)",
                      showlegend=False, height=max(420, 32 * len(batch1) + 120),
                      yaxis={"autorange": "reversed"})
    return fig


def _sweep(run: dict[str, Any]) -> tuple[str, str]:
    recs = records(run, "inference")
    series: dict[str, list[dict[str, Any]]] = {}
    for r in recs:
        series.setdefault(label(r), []).append(r)
    if not any(len(v) > 1 for v in series.values()):
        return "", ""
    fig = go.Figure()
    styles = Styles()  # each variant of a framework: the framework's hue, its own dash and marker
    for lab, group in sorted(series.items(), key=lambda kv: kv[1][0]["framework"]):
        group.sort(key=lambda r: r["batch_size"])
        fig.add_trace(go.Scatter(
            x=[r["batch_size"] for r in group], y=[metric(r, "throughput_ips") for r in group], mode="lines+markers",
            **styles.line(group[0]["framework"], lab),
            hovertemplate="batch %{x}: %{y:.1f} img/s<extra>%{fullData.name}</extra>",
        ))
    sizes = sorted({r["batch_size"] for r in recs})
    fig.update_layout(title="Throughput against batch size",
                      xaxis={"title": "batch size", "type": "log", "tickvals": sizes,
                             "ticktext": [str(b) for b in sizes]},
                      yaxis_title="images per second", legend=GROUPED_LEGEND, height=560)
    # energy at the throughput point: the batch size with the most images per second
    joules = any(metric(r, "energy_j_per_image") is not None for r in recs)
    best = {lab: max(g, key=lambda r: metric(r, "throughput_ips") or 0.0) for lab, g in series.items()}
    table = md_table(["runtime / variant", *(f"batch {b} (img/s)" for b in sizes)]
                     + (["energy at the best batch (J/image)"] if joules else []),
                     [[lab, *(fmt(next((metric(r, "throughput_ips") for r in g if r["batch_size"] == b), None))
                              for b in sizes)]
                      + ([f"{fmt(metric(best[lab], 'energy_j_per_image'), 'J')} (batch {best[lab]['batch_size']})"
                          if metric(best[lab], "energy_j_per_image") is not None else "–"] if joules else [])
                      for lab, g in series.items()])
    failed = [r for r in run["records"] if r["scenario"] == "inference" and r["status"] == "failed"
              and r["batch_size"] not in (None, 1)]
    if failed:
        table += "\n\nStopped early: " + "; ".join(f"{label(r)} at batch {r['batch_size']} ({r['reason']})"
                                                   for r in failed)
    flat = [r for r in recs if r["settings"].get(Setting.SWEEP_STOP)]
    if flat:
        table += (f"\n\nStopped where throughput flattened (at the first batch size that added under "
                  f"{thresholds.printed()['sweep_flat']} over the best smaller one; – marks batch sizes not "
                  "measured): "
                  + ", ".join(f"{label(r)} at batch {r['batch_size']}" for r in flat) + ".")
    return chart_html(fig, "throughput-sweep", "Images per second at each batch size"), table


def _threads(run: dict[str, Any], batch1: list[dict[str, Any]]) -> str:
    single = {(r["framework"], r["variant"]): r for r in findings.batch1(run, "threads")}
    rows = []
    for r in batch1:
        one = single.get((r["framework"], r["variant"]))
        if one is None:
            continue
        speedup = metric(one, "latency_ms_p50") / metric(r, "latency_ms_p50")
        rows.append([label(r), fmt(metric(one, "latency_ms_p50"), "ms"),
                     f"{fmt(metric(r, 'latency_ms_p50'), 'ms')} ({r['settings'][Setting.THREAD_COUNT]} threads)",
                     f"{speedup:.2f}x"])
    return md_table(["runtime / variant", "1 thread p50 (ms)", "default p50 (ms)", "speed-up"], rows) if rows else ""


def _bar_figure(recs: list[dict[str, Any]], metric_name: str, title: str) -> go.Figure:
    fig = go.Figure(go.Bar(
        y=[label(r) for r in recs], x=[metric(r, metric_name) for r in recs], orientation="h",
        marker_color=[color(r["framework"]) for r in recs],
        hovertemplate="%{x:.1f} " + METRICS[metric_name].unit + "<extra>%{y}</extra>",
    ))
    fig.update_layout(title=title, xaxis_title=METRICS[metric_name].unit, showlegend=False,
                      height=max(420, 32 * len(recs) + 120), yaxis={"autorange": "reversed"})
    return fig


def _bar(recs: list[dict[str, Any]], metric_name: str, chart_id: str, title: str, caption: str) -> str:
    recs = [r for r in recs if metric(r, metric_name) is not None]
    return chart_html(_bar_figure(recs, metric_name, title), chart_id, caption) if recs else ""


def _efficiency_chart(recs: list[dict[str, Any]]) -> str:
    """Achieved GFLOP/s per variant at its best batch size, each bar with a tick at the GEMM roof of its own
    precision (fp32, bf16 and INT8 are judged against different roofs, so no one line serves them all)."""
    recs = sorted((r for r in recs if metric(r, "gflops_per_s") is not None), key=lambda r: -metric(r, "gflops_per_s"))
    if not recs:
        return ""
    fig = _bar_figure(recs, "gflops_per_s", "Achieved GFLOP/s at the best batch size, against its precision's roof")
    judged = [r for r in recs if metric(r, "roof_fraction")]
    if judged:
        fig.add_trace(go.Scatter(
            y=[label(r) for r in judged], x=[metric(r, "gflops_per_s") / metric(r, "roof_fraction") for r in judged],
            mode="markers", marker={"symbol": "line-ns-open", "size": 22, "line": {"width": 3},
                                    "color": "#444"},
            customdata=[r["precision"] for r in judged], name="GEMM roof of its precision",
            hovertemplate="%{customdata} GEMM roof %{x:.0f} GFLOP/s<extra>%{y}</extra>"))
    return chart_html(fig, "efficiency", "Equivalent float work per second (2 x MACs per image); the dark tick "
                      "on each bar: the measured GEMM roof of that variant's precision at the run's thread count")


def _startup_figure(recs: list[dict[str, Any]]) -> go.Figure:
    labels = [label(r) for r in recs]
    fig = go.Figure()
    styles = Styles()  # the parts of a bar: a colour and a pattern each
    for part in ("import_s", "load_s", "first_call_s"):
        fig.add_trace(go.Bar(
            y=labels, x=[metric(r, part) for r in recs], orientation="h",
            **styles.series(METRICS[part].description, palette=PART_COLORS),
            hovertemplate="%{x:.2f} s<extra>%{fullData.name}</extra>",
        ))
    # a log axis: start-ups differ 50-fold (LiteRT 0.1 s, PyTorch 7 s), and a linear one hides the quick ones
    fig.update_layout(barmode="stack", title="Cold start: fresh process to first result",
                      xaxis={"title": "seconds (log scale)", "type": "log"},
                      legend={"orientation": "h", "y": -0.2}, height=max(420, 32 * len(recs) + 160),
                      yaxis={"autorange": "reversed", "dtick": 1, "automargin": True})  # every label
    return fig


def context(run: dict[str, Any], loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Inference page."""
    batch1 = findings.batch1(run)
    versus = findings.versus_reference(batch1)
    startup = findings.batch1(run, "startup")
    sweep_chart, sweep_table = _sweep(run)
    roofs = [r for r in records(run, "machine") if "gemm_gflops" in r["metrics"]]
    best_batch = {}
    for r in records(run, "inference"):
        key = (r["framework"], r["variant"])
        if metric(r, "gflops_per_s") is not None and (key not in best_batch or metric(r, "gflops_per_s") >
                                                       metric(best_batch[key], "gflops_per_s")):
            best_batch[key] = r
    threads = run["options"]["threads"]
    return {
        "run": provenance(run),
        # in a CUDA run, the CPU-only variants' rows (their labels name no device)
        "on_cpu": [label(r) for r in batch1 if not findings.on_device(run, r)],
        "summary": findings.inference_findings(run),
        "table": _latency_table(batch1, versus) if batch1 else "",
        "detail_table": _detail_table(run, batch1) if batch1 else "",
        "latency_chart": chart_html(_box_figure(batch1), "latency-batch1",
                                    "Per-call latency at batch 1; boxes show the quartiles of the raw samples")
        if batch1 else "",
        "sweep_chart": sweep_chart,
        "sweep_table": sweep_table,
        "threads_table": _threads(run, batch1),
        "memory_chart": _bar(batch1, "peak_rss_mb", "peak-memory", "Peak resident memory of the measuring process",
                             "Peak RSS after the batch-1 loop (includes the framework itself)"),
        "startup_chart": chart_html(_startup_figure(startup), "cold-start-parts",
                                    "Import, model load and first call in a fresh process, empty compile cache "
                                    "(once per variant)")
        if startup else "",
        "startup_table": md_table(
            ["runtime / variant", "import (s)", "load (s)", "first call (s)", "cold start (s)"],
            [[label(r), *(fmt(metric(r, m), "s") for m in ("import_s", "load_s", "first_call_s", "cold_start_s"))]
             for r in startup]) if startup else "",
        "roof_table": _roof_table(roofs),
        "peak": _peak_text(roofs, threads),
        "over_roof": _over_roof(batch1 + findings.batch1(run, "threads"), roofs),
        "roof_chart": _efficiency_chart(list(best_batch.values())),
        "problems": problem_rows(run),
        "energy_note": findings.energy_unmeasured(run, findings.INFERENCE_WORK),
        "energy_method": findings.energy_method(records(run, "inference")),
        "browser_table": browser_table(run),
        "browser_notes": browser_notes(run),
        **_settings(run, batch1),
    }


def _settings(run: dict[str, Any], batch1: list[dict[str, Any]]) -> dict[str, Any]:
    """How the batch-1 variants were timed, and which agreement limits apply to the precisions they ran in."""
    settings = batch1[0]["settings"] if batch1 else {}
    return {
        "settings": {"image_size": settings.get(Setting.IMAGE_SIZE), "timing": settings.get(Setting.TIMING),
                     "memory_method": settings.get(Setting.MEMORY_METHOD),
                     "rounds": _span(sorted({r["settings"].get(Setting.ROUNDS, 1) for r in batch1}) or [1]),
                     "reference_processes": reference_processes(run["profile"]),
                     "rounds_stop": settings.get(Setting.ROUNDS_STOP)},
        "reduced_limits": ", ".join(f"{thresholds.PRECISION_AGREEMENT[p]:g} for {p}" for p in sorted(
            {findings.arithmetic(r) for r in batch1} & set(thresholds.PRECISION_AGREEMENT) - {"fp32", "int8"})),
        "tf32": any(findings.arithmetic(r) == "tf32" for r in batch1),
    }


def _span(values: list[int]) -> str:
    """``3`` or ``3 to 5``: the range of a sorted list of counts."""
    return str(values[0]) if values[0] == values[-1] else f"{values[0]} to {values[-1]}"


def _best_roofs(roofs: list[dict[str, Any]]) -> dict[tuple[str, Any], dict[str, Any]]:
    """The roof record each (precision, thread count) is divided by: the fastest library's."""
    best: dict[tuple[str, Any], dict[str, Any]] = {}
    for r in roofs:
        key = (r["precision"], r["settings"].get(Setting.THREADS))
        if key not in best or metric(r, "gemm_gflops") > metric(best[key], "gemm_gflops"):
            best[key] = r
    return best


def _roof_table(roofs: list[dict[str, Any]]) -> str:
    """Each library's GEMM rate per precision and thread count (per square size in one cell, so the table
    fits the column); its best is its roof, the best of all per precision and thread count is the roof a
    record is divided by; the theoretical peak beside (:func:`_peak_cell`)."""
    if not roofs:
        return ""
    sizes = sorted({int(s) for r in roofs for s in r["settings"].get(Setting.GFLOPS_PER_SIZE, {})})
    order = {p: i for i, p in enumerate(findings.PRECISIONS)}
    best = _best_roofs(roofs)
    roofs = sorted(roofs, key=lambda r: (order.get(r["precision"], 9), -(r["settings"].get(Setting.THREADS) or 0),
                                         r["framework"]))
    return md_table(["GEMM (precision, library)", "threads", "roof G(FL)OP/s",
                     "per size (" + " / ".join(f"{n}²" for n in sizes) + ")", "theoretical peak"],
                    [[f"{r['precision']}, {r['framework']}", str(r["settings"].get(Setting.THREADS, "–")),
                      fmt(metric(r, "gemm_gflops")),
                      " / ".join(fmt(r["settings"].get(Setting.GFLOPS_PER_SIZE, {}).get(str(n))) for n in sizes),
                      _peak_cell(r, best[(r["precision"], r["settings"].get(Setting.THREADS))])] for r in roofs])


def _peak_cell(rec: dict[str, Any], best: dict[str, Any]) -> str:
    """A roof row's theoretical peak: the number where it is an upper bound of every roof of its precision and
    thread count; otherwise why none is shown."""
    top = rec["settings"].get(Setting.PEAK)
    if top is None:  # no rate for this precision; or a run stored before: its peak used the nominal clock
        return "–"
    if top.get("gflops") is None:
        return f"unknown (the roof implies ≥ {roof.implied_ghz(metric(best, 'gemm_gflops'), top):.2f} GHz)"
    if top["gflops"] < metric(best, "gemm_gflops"):
        return "wrong: below the measured roof"
    return fmt(top["gflops"])


def _peak_text(roofs: list[dict[str, Any]], threads: int) -> str | None:
    """What the page says of the fp32 peak at the run's thread count: its formula, why it is unknown (and the
    clock the roof implies instead), or why it is not shown; None without fp32 roofs."""
    best = _best_roofs(roofs).get(("fp32", threads))
    if best is None:
        return None
    rate, top = metric(best, "gemm_gflops"), best["settings"].get(Setting.PEAK)
    if top is None:
        return ("No theoretical peak is shown for this run: it was computed from the clock the kernel reported "
                "(the nominal one), which the cores outrun, so it was no upper bound."
                if Setting.PEAK_FORMULA in best["settings"] else None)
    per_core = f"{top['cores']} core(s) x {top['ops_per_cycle']} FLOP/cycle ({top['ops']})"
    if top.get("gflops") is None:
        return (f"{top['unknown'][0].upper()}{top['unknown'][1:]}, so no theoretical peak is shown. The fp32 roof, "
                f"{fmt(rate)} GFLOP/s ({best['framework']}), implies a clock of at least "
                f"{roof.implied_ghz(rate, top):.2f} GHz: {fmt(rate)} / ({per_core}).")
    if top["gflops"] < rate:
        return (f"The theoretical peak from the CPU's reported maximum clock ({top['formula']}) is below the "
                f"measured fp32 roof ({fmt(rate)} GFLOP/s, {best['framework']}), so it is wrong (the clock or the "
                "operations per cycle understate this CPU) and is not shown.")
    return (f"The theoretical peak, an upper bound: {top['formula']} = {fmt(top['gflops'])} GFLOP/s; the fp32 "
            f"roof reaches {rate / top['gflops']:.0%} of it.")


def _over_roof(recs: list[dict[str, Any]], roofs: list[dict[str, Any]]) -> list[str]:
    """The variants that outran the roof of their precision and thread count, each with the reason the roof
    could not bound it."""
    libraries: dict[tuple[str, Any], set[str]] = {}
    for r in roofs:
        libraries.setdefault((r["precision"], r["settings"].get(Setting.THREADS)), set()).add(r["framework"])
    lines = []
    for r in recs:
        fraction = metric(r, "roof_fraction")
        if not fraction or fraction <= 1:
            continue
        key = (r["precision"], r["settings"].get(Setting.THREAD_COUNT))
        runtime = name(r["framework"])
        if findings.side_by_side(r):
            why = "it was timed beside other tasks, as the roofs were: neither had the CPU to itself"
        elif r["framework"] not in libraries.get(key, ()):
            why = (f"its kernels are {runtime}'s own, and no {runtime} GEMM is among the {r['precision']} roofs: "
                   "the libraries measured are slower than its kernels")
        else:
            why = (f"{runtime}'s own {r['precision']} GEMM is in the roof, so its convolution kernels outran its "
                   "square products: the roof's shapes understate this machine")
        lines.append(f"{label(r)} at {r['settings'].get(Setting.THREAD_COUNT, '?')} thread(s): {_percent(fraction)} of "
                     f"the {r['precision']} roof; {why}")
    return lines
