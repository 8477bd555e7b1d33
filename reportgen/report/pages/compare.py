"""The Compare machines page: the latest complete run of each machine, side by side, relative to a reference."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from reportgen.report import findings
from reportgen.report.charts import Styles, chart_html
from reportgen.report.escape import MD, code
from reportgen.report.format import by_machine, featured_run, fmt, label, machine_line, md_table, metric, provenance
from reportgen.store.results import METRICS, LoadedResults

PAGE = "compare.md"

# (scenario, metric, section title) compared across machines, all at batch 1.
COMPARED = (("inference", "latency_ms_p50", "Median latency"), ("inference", "throughput_ips", "Throughput"),
            ("startup", "cold_start_s", "Cold start"))
DIRECTION = {"lower": "lower is better: a ratio below 1.00× is faster than the reference",
             "higher": "higher is better: a ratio above 1.00× is faster than the reference"}


def batch1_values(run: dict[str, Any]) -> dict[tuple[str, str], float]:
    """``(metric, series label) -> value`` for the compared metrics of one run's batch-1 records (the device
    is left out of the label: it is the machine's, shown in the machines table)."""
    values = {}
    for scenario, name, _ in COMPARED:
        for rec in findings.batch1(run, scenario):
            value = metric(rec, name)
            if value is not None:
                values[(name, label(rec, device=False))] = value
    return values


def _ratio(value: float | None, ref: float | None) -> float | None:
    return value / ref if value is not None and ref else None


def _times(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio:.2f}×"


def _cell(value: float | None, ratio: float | None, unit: str) -> str:
    return fmt(value, unit) if ratio is None else f"{fmt(value, unit)} ({_times(ratio)})"


def _section(name: str, title: str, machines: list[str],
             values: dict[str, dict[tuple[str, str], float]]) -> dict[str, Any]:
    """One compared metric: a table (value and ratio to the first machine) and a grouped bar chart."""
    info = METRICS[name]
    unit = info.unit
    section = {"metric": name, "title": title, "note": f"{info.description}, in {unit}; {DIRECTION[info.better]}.",
               "table": "", "chart": ""}
    series = sorted({s for v in values.values() for m, s in v if m == name})
    if not series:
        return section
    ref = values[machines[0]]
    fig = go.Figure()
    styles = Styles()  # each machine a colour and a pattern of its own
    for mid in machines:
        vals = [values[mid].get((name, s)) for s in series]
        fig.add_trace(go.Bar(
            y=series, x=vals, orientation="h", **styles.series(mid),
            customdata=[_times(_ratio(v, ref.get((name, s)))) for v, s in zip(vals, series, strict=True)],
            hovertemplate=f"%{{x:.3g}} {unit}, %{{customdata}} the reference<extra>{mid}</extra>",
        ))
    fig.update_layout(barmode="group", title=f"{title} at batch 1 ({unit})", xaxis_title=unit,
                      yaxis={"autorange": "reversed"}, legend={"orientation": "h", "y": 1.0, "yanchor": "bottom"})
    table_rows = []
    for s in series:
        ref_value = ref.get((name, s))
        cells = [_cell(v, _ratio(v, ref_value), unit) for v in (values[mid].get((name, s)) for mid in machines[1:])]
        table_rows.append([s, fmt(ref_value, unit), *cells])
    header = ["framework (variant)", f"{machines[0]} (reference)", *machines[1:]]
    return {**section, "table": md_table(header, table_rows),
            "chart": chart_html(fig, f"compare-{name.replace('_', '-')}",
                                f"{title} at batch 1 per framework and machine ({unit})",
                                height=min(1600, max(420, 140 + 18 * len(series) * len(machines))))}


def _machine_row(mid: str, run: dict[str, Any], reference: str) -> list[str]:
    """A machine in three cells: its id, its hardware in the headline's words, and the run shown."""
    return [mid + (" (reference)" if mid == reference else ""), machine_line(run),
            MD("{} ({} profile, {}, on {})").format(code(run["run_id"]), run["profile"]["name"], run["status"],
                                                   run["options"]["device"])]


def context(run: dict[str, Any], loaded: LoadedResults, reference: str | None = None) -> dict[str, Any]:
    """Context of the Compare machines page; ``reference`` defaults to the featured run's machine."""
    latest = {mid: featured for mid, runs in by_machine(loaded.runs).items()
              if (featured := featured_run(runs)) is not None}  # a machine whose runs all failed has nothing to show
    reference = reference if reference in latest else run["machine_id"]
    machines = [reference, *sorted(set(latest) - {reference})]
    values = {mid: batch1_values(latest[mid]) for mid in machines}
    commands = [line for mid in machines for line in (f"# on {mid}:", provenance(latest[mid])["command"])]
    commands += ["# then, with each machine's results/<machine-id>/ folder copied into results/:", "reportgen build"]
    return {
        "run": provenance(run),
        "reference": reference,
        "machines": md_table(["machine", "hardware", "run shown"],
                             [_machine_row(mid, latest[mid], reference) for mid in machines]),
        "n_machines": len(machines),
        "sections": [_section(name, title, machines, values) for _, name, title in COMPARED]
        if len(machines) > 1 else [],
        "commands": commands,
        "export": [f"reportgen export --run {latest[mid]['run_id']} --format markdown" for mid in machines],
    }
