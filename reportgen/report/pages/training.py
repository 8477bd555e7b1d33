"""The Training page: same data, weights and recipe in PyTorch and Keras — speed, memory, convergence, scaling."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from reportgen import catalog, thresholds
from reportgen.report import findings
from reportgen.report.charts import GROUPED_LEGEND, Styles, chart_html, color
from reportgen.report.format import fmt, md_table, metric, name, provenance, records
from reportgen.store.records import Setting
from reportgen.store.results import LoadedResults

PAGE = "training.md"


_label = findings.training_label  # one series name for training records, shared with Home's lines


def _curves(runs: list[dict[str, Any]], x: str, y: str, title: str, x_title: str, y_title: str) -> go.Figure:
    """One line per variant: its framework's hue, its own dash and marker (the same on each curve chart, which
    all draw the run's records in the run's order)."""
    fig = go.Figure()
    styles = Styles()
    for rec in runs:
        xs = rec["samples"][x] if x != "epoch" else list(range(1, len(rec["samples"][y]) + 1))
        fig.add_trace(go.Scatter(
            x=xs, y=rec["samples"][y], mode="lines+markers", **styles.line(rec["framework"], _label(rec)),
            hovertemplate="%{x:.3g}: %{y:.3g}<extra>%{fullData.name}</extra>",
        ))
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, legend=GROUPED_LEGEND)
    return fig


def _bars(runs: list[dict[str, Any]], metric_name: str, title: str, unit: str) -> go.Figure:
    runs = [r for r in runs if metric(r, metric_name) is not None]
    fig = go.Figure(go.Bar(
        x=[_label(r) for r in runs], y=[metric(r, metric_name) for r in runs],
        marker_color=[color(r["framework"]) for r in runs],
        hovertemplate=f"%{{y:.1f}} {unit}<extra>%{{x}}</extra>",
    ))
    fig.update_layout(title=title, yaxis_title=unit, showlegend=False)
    return fig


def _batch_figure(sweep: list[dict[str, Any]]) -> go.Figure:
    fig = go.Figure()
    styles = Styles()
    for series in dict.fromkeys(_label(r) for r in sweep):  # one line per framework and variant, in run order
        recs = sorted((r for r in sweep if _label(r) == series), key=lambda r: r["batch_size"])
        fig.add_trace(go.Scatter(
            x=[str(r["batch_size"]) for r in recs], y=[metric(r, "epoch_time_s") for r in recs],
            mode="lines+markers", **styles.line(recs[0]["framework"], series),
            hovertemplate="batch %{x}: %{y:.2f} s<extra>%{fullData.name}</extra>",
        ))
    fig.update_layout(title="Epoch time against batch size (steady state)", xaxis_title="batch size",
                      yaxis_title="seconds per epoch", xaxis_type="category", legend=GROUPED_LEGEND)
    return fig


def _scaling_figure(scaling: list[dict[str, Any]]) -> go.Figure:
    fig = go.Figure()
    styles = Styles()  # a bar per framework: its hue and a pattern, so that the legend is not read by colour
    for framework in sorted({r["framework"] for r in scaling}):
        recs = sorted((r for r in scaling if r["framework"] == framework), key=lambda r: r["settings"][Setting.WORKERS])
        fig.add_trace(go.Bar(
            x=[f"{r['settings'][Setting.WORKERS]} worker(s)" for r in recs],
            y=[metric(r, "train_throughput_ips") for r in recs], **styles.bar(framework, name(framework)),
            hovertemplate="%{y:.0f} img/s<extra>%{fullData.name}, %{x}</extra>",
        ))
    fig.update_layout(title="Data-parallel training throughput, same global batch", yaxis_title="images/s",
                      barmode="group")
    return fig


def _main_table(recs: list[dict[str, Any]], cuda: bool) -> str:
    """Speed and memory of every variant that ran the whole recipe (its learning is in :func:`_learning_table`;
    the speed probes have :func:`_probe_table`); energy per epoch where a counter measured it."""
    joules = any(metric(r, "energy_j_per_epoch") is not None for r in recs)
    header = ["variant", "img/s (steady)", "epoch (s)", "first epoch (s)", "time to target (s)",
              "peak RSS (MB)"] + (["peak GPU (MB)"] if cuda else []) + (["energy (J/epoch)"] if joules else [])
    rows = []
    for r in recs:
        if r["status"] != "ok":
            rows.append([_label(r), r["status"]] + [""] * (len(header) - 2))
            continue
        target = fmt(metric(r, "time_to_target_s"), "s") if r["settings"].get(Setting.TARGET_REACHED) else "not reached"
        rows.append([_label(r), fmt(metric(r, "train_throughput_ips"), "img/s") + _once(r),
                     fmt(metric(r, "epoch_time_s"), "s"),
                     fmt(metric(r, "first_epoch_s"), "s"), target, fmt(metric(r, "peak_rss_mb"), "MB")]
                    + ([fmt(metric(r, "peak_gpu_mem_mb"), "MB")] if cuda else [])
                    + ([fmt(metric(r, "energy_j_per_epoch"), "J")] if joules else []))
    return md_table(header, rows)


def _probe_table(probes: list[dict[str, Any]], cuda: bool) -> str:
    """The speed probes, apart from the full runs: how long each trained, its rate and first epoch, and what it
    learned in that time (a probe that did not learn enters no comparison)."""
    header = ["speed probe", "trained", "img/s (steady)", "first epoch (s)", "final top-1", "learned?"] \
        + (["peak GPU (MB)"] if cuda else [])
    rows = [[_label(r), _probe(r).removeprefix("speed probe, "),
             fmt(metric(r, "train_throughput_ips"), "img/s") + _once(r),
             fmt(metric(r, "first_epoch_s"), "s"), fmt(metric(r, "final_top1"), "fraction"), _learned(r)]
            + ([fmt(metric(r, "peak_gpu_mem_mb"), "MB")] if cuda else [])
            for r in probes]
    return md_table(header, rows)


def _once(rec: dict[str, Any]) -> str:
    """A training of one epoch has no steady state: its rate is the first epoch's (a smoke run's probes)."""
    return " (one epoch, warm-up included)" if rec["settings"].get(Setting.EPOCHS) == 1 else ""


def _learned(rec: dict[str, Any]) -> str:
    """``yes`` or ``no`` (the warning above the tables says why not: the cells stay narrow)."""
    return "no" if findings.did_not_learn(rec) else "yes"


def _learning_table(recs: list[dict[str, Any]]) -> str:
    """What every variant learned, from the same first batch; failures with their reasons."""
    rows = [[_label(r), f"{metric(r, 'initial_loss'):.4f}",
             fmt(metric(r, "final_top1"), "fraction") + (f" ({_probe(r)})" if _probe(r) else ""),
             f"{metric(r, 'final_loss'):.3f}", _learned(r)] if r["status"] == "ok"
            else [_label(r), r["status"], r["reason"], "", ""]
            for r in recs]
    return md_table(["variant", "first-batch loss", "final top-1", "final val loss", "learned?"], rows)


def _probe(r: dict[str, Any]) -> str | None:
    """``speed probe, 2 epochs of 512 images`` for a variant that ran a shortened recipe (see
    TrainingSettings.probe_epochs and probe_images)."""
    if not r["settings"].get(Setting.PROBE):
        return None
    epochs = r["settings"][Setting.EPOCHS]
    images = r["settings"].get(Setting.TRAIN_IMAGES, "?")
    return f"speed probe, {epochs} epoch{'s' if epochs != 1 else ''} of {images} images"


def batch_points(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Epoch time per batch size: the sweep's records, and at the recipe's batch size (which the sweep leaves
    out, see ``sweep_batch_sizes``) the framework's reference loop, the same variant on the same data."""
    sweep = records(run, "training-batch")
    have = {(r["framework"], r["batch_size"]) for r in sweep}
    swept = {r["framework"] for r in sweep}
    loops = [r for r in records(run, "training") if r["framework"] in swept and not _probe(r)
             and (r["framework"], r["batch_size"]) not in have
             and any(v.framework == r["framework"] and v.name == r["variant"] for v in catalog.training_references())]
    return sweep + loops


def context(run: dict[str, Any], loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Training page."""
    recs = [r for r in records(run, "training", status=None) if r["variant"] != catalog.DIGITS_REFERENCE]
    ok = [r for r in recs if r["status"] == "ok"]
    sweep = batch_points(run)
    pipeline = records(run, "input-pipeline")
    scaling_all = records(run, "training-scaling", status=None)
    scaling = [r for r in scaling_all if r["status"] == "ok"]
    probes = [r for r in ok if _probe(r)]
    cuda = any(r["device"] == "cuda" for r in recs)
    return {
        "run": provenance(run),
        "has_training": bool(recs),
        "setup": _setup(ok, probes) if ok else None,
        "table": _main_table([r for r in recs if not _probe(r)], cuda) if recs else "",
        "probe_table": _probe_table(probes, cuda) if probes else "",
        "not_learned": findings.not_learned_text(list({id(r): r for r in ok + scaling + sweep}.values())),
        "learning_table": _learning_table(recs) if recs else "",
        "energy_note": findings.energy_unmeasured(run, findings.TRAINING_WORK),
        "energy_method": findings.energy_method(records(run, "training")),
        "accuracy": findings.accuracy_note(ok),
        "keras_table": _keras_table(findings.keras_backends_note(recs)),
        "top1_limit": thresholds.printed()["top1"],
        "charts": _charts(ok) if ok else [],
        "batch_chart": chart_html(_batch_figure(sweep), "train-batch", "Seconds per epoch at each batch size")
        if sweep else "",
        "batch_table": _batch_table(sweep) if sweep else "",
        "pipeline_table": md_table(["framework", "pipeline", "img/s", "training img/s at the same batch"],
                                   [[name(r["framework"]), r["settings"][Setting.PIPELINE],
                                     fmt(metric(r, "throughput_ips"), "img/s"), _training_rate(r, sweep)]
                                    for r in pipeline]) if pipeline else "",
        "scaling_chart": chart_html(_scaling_figure(scaling), "train-scaling",
                                    "Training throughput with 1 and N data-parallel workers") if scaling else "",
        "scaling_table": _scaling_table(scaling_all) if scaling_all else "",
        "scaling_images": scaling[0]["settings"].get(Setting.MAX_TRAIN_IMAGES) if scaling else None,
        "scaling_epochs": scaling[0]["settings"].get(Setting.EPOCHS) if scaling else None,
        "learned_margin": thresholds.printed()["learned"],
        "device": run["options"]["device"],
    }


def _setup(ok: list[dict[str, Any]], probes: list[dict[str, Any]]) -> dict[str, Any]:
    """What the runs trained on and how: the recipe as the full runs ran it (else as the probes did)."""
    first = ([r for r in ok if not _probe(r)] or ok)[0]["settings"]
    return {"dataset": first.get(Setting.DATASET), "source": first.get(Setting.DATA_SOURCE),
            "train_images": first.get(Setting.TRAIN_IMAGES), "val_images": first.get(Setting.VAL_IMAGES),
            "image_size": first.get(Setting.IMAGE_SIZE), "recipe": first.get(Setting.RECIPE, {}),
            "target": first.get(Setting.TARGET_TOP1), "sgd_rule": first.get(Setting.SGD_RULE),
            "threads": first.get(Setting.THREADS), "probes": ", ".join(_label(r) for r in probes),
            "probe_epochs": probes[0]["settings"][Setting.EPOCHS] if probes else None,
            "probe_images": probes[0]["settings"].get(Setting.TRAIN_IMAGES) if probes else None,
            "onednn": next((r["settings"][Setting.TF_ONEDNN] for r in ok if Setting.TF_ONEDNN in r["settings"]),
                           None)}


def _charts(ok: list[dict[str, Any]]) -> list[str]:
    """Curves per epoch and over time, throughput and memory of every successful training record."""
    return [
        chart_html(_curves(ok, "epoch", "val_top1", "Validation top-1 per epoch", "epoch", "top-1"),
                   "train-top1-epoch", "Validation top-1 accuracy after each epoch, every variant"),
        chart_html(_curves(ok, "elapsed_s", "val_top1", "Validation top-1 against training time",
                           "training time (s, validation excluded)", "top-1"),
                   "train-top1-time", "Validation top-1 against cumulative training time"),
        chart_html(_curves(ok, "epoch", "train_loss", "Training loss per epoch (with augmentation)", "epoch",
                           "cross-entropy"), "train-loss-epoch", "Mean training loss of each epoch"),
        chart_html(_bars(ok, "train_throughput_ips", "Training throughput (steady state)", "img/s"),
                   "train-throughput", "Training images per second after the first epoch"),
        chart_html(_bars(ok, "peak_rss_mb", "Peak memory of the training process", "MB"),
                   "train-memory", "Peak resident memory of each training subprocess"),
    ]


def _batch_table(sweep: list[dict[str, Any]]) -> str:
    """Epoch time, throughput and memory at each batch size of the sweep."""
    return md_table(["framework", "batch size", "epoch (s)", "img/s", "peak RSS (MB)", "learned?"],
                    [[_label(r), str(r["batch_size"]), fmt(metric(r, "epoch_time_s"), "s"),
                      fmt(metric(r, "train_throughput_ips"), "img/s"), fmt(metric(r, "peak_rss_mb"), "MB"),
                      _learned(r)]
                     for r in sorted(sweep, key=lambda r: (r["framework"], r["batch_size"]))])


def _scaling_table(scaling_all: list[dict[str, Any]]) -> str:
    """Each data-parallel run: workers and how each ran, throughput, efficiency, what it learned (or why not)."""
    rows = []
    for r in scaling_all:
        if r["status"] != "ok":
            rows.append([name(r["framework"]), r["status"], r["reason"], "", "", ""])
            continue
        settings = r["settings"]
        rows.append([name(r["framework"]),
                     f"{settings.get(Setting.WORKERS, '')} ({settings.get(Setting.BACKEND, '')}, "
                     f"{settings.get(Setting.THREADS_PER_WORKER, '')} thread(s), "
                     f"batch {settings.get(Setting.PER_WORKER_BATCH, '')})",
                     fmt(metric(r, "train_throughput_ips"), "img/s"), _efficiency(r),
                     fmt(metric(r, "final_top1"), "fraction"), _learned(r)])
    return md_table(["framework", "workers (engine, threads and batch each)", "img/s", "efficiency", "final top-1",
                     "learned?"], rows)


def _keras_table(rows: list[dict[str, Any]]) -> str:
    """Keras on JAX and on PyTorch beside Keras on TensorFlow trained for as long (see
    :func:`findings.keras_backends_note`); empty without such a pair."""
    if not rows:
        return ""
    def verdict(r: dict[str, Any]) -> str:
        word = "yes" if r["comparable"] else "no" if r["learned"] else "no (not both learned)"
        return f"{word}, gap {r['gap']:.3f}"

    return md_table(  # five columns: eight did not fit the reading column at 1280 px
        ["Keras on (how long)", "top-1", "Keras on TensorFlow, as long: top-1", "comparable?", "first-batch loss gap"],
        [[f"{_label(r['record'])}: {_probe(r['record']) or 'the whole recipe'}",
          fmt(metric(r["record"], "final_top1"), "fraction"),
          f"{fmt(metric(r['tensorflow'], 'final_top1'), 'fraction')} ({_label(r['tensorflow'])})", verdict(r),
          f"{r['start_gap']:.1e}"] for r in rows])


def _training_rate(pipe: dict[str, Any], sweep: list[dict[str, Any]]) -> str:
    match = next((r for r in sweep if r["framework"] == pipe["framework"] and r["batch_size"] == pipe["batch_size"]),
                 None)
    return fmt(metric(match, "train_throughput_ips"), "img/s") if match else "–"


def _efficiency(rec: dict[str, Any]) -> str:
    """A data-parallel record's efficiency, calling N workers slower than one a slowdown."""
    if metric(rec, "scaling_efficiency") is None:
        return fmt(None)
    return fmt(metric(rec, "scaling_efficiency"), "fraction") + (" (slowdown)" if findings.scaling_note(rec) else "")
