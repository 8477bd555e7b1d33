"""The Serving page: requests per second each runtime answers within a latency bound (MLPerf LoadGen)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from reportgen import thresholds
from reportgen.config import tasks_at_once
from reportgen.report import findings
from reportgen.report.charts import GROUPED_LEGEND, Styles, chart_html
from reportgen.report.escape import MD, code_block
from reportgen.report.format import fmt, label, md_table, metric, provenance, records
from reportgen.store.records import Setting
from reportgen.store.results import LoadedResults

PAGE = "serving.md"


def context(run: dict[str, Any], loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Serving page: the capacity table, the p99-against-load chart, how each runtime was served,
    why the runs are not MLPerf-valid, and LoadGen's summary of every run the figures come from."""
    rows = findings.serving_rows(run)
    bound = findings.serving_bound_ms(rows)
    failed = [r for r in records(run, "serving", status=None) if r["status"] != "ok"]
    return {
        "run": provenance(run),
        "rows": bool(rows),
        "bound_ms": f"{bound:g}" if bound is not None else None,
        "percentile": thresholds.printed()["serving_percentile"],
        "rules_url": MD(thresholds.MLPERF_RULES_URL),  # a constant of ours, not text from a results file
        "mlperf_duration": thresholds.printed()["mlperf_duration"],
        "mlperf_offline": thresholds.printed()["mlperf_offline"],
        "findings": findings.serving_findings(run),
        "side_by_side": tasks_at_once(run["profile"]) > 1,
        "table": _capacity_table(rows),
        "chart": _chart(rows, bound) if any(r["server"]["settings"].get(Setting.PROBES) for r in rows) else "",
        "served_by": sorted({(label(r["server"]), r["server"]["settings"].get(Setting.SERVED_BY, ""),
                              r["server"]["settings"].get(Setting.CHOSEN_BY) or "") for r in rows}),
        "invalid": [(label(r[part]), part_name, r[part]["settings"][Setting.MLPERF_INVALID]) for r in rows
                    for part, part_name in (("single", "SingleStream"), ("offline", "Offline"), ("server", "Server"))
                    if r[part] is not None and r[part]["settings"].get(Setting.MLPERF_INVALID)],
        "summaries": [{"title": f"{label(r[part])}: {part_name}", "text": code_block(
                          r[part]["settings"][Setting.LOADGEN_SUMMARY].splitlines(), "text")}
                      for r in rows for part, part_name in (("single", "SingleStream"), ("offline", "Offline"),
                                                            ("server", "Server"))
                      if r[part] is not None and r[part]["settings"].get(Setting.LOADGEN_SUMMARY)],
        "failed": [(label(r), r["status"], r["reason"]) for r in failed],
    }


def _capacity_table(rows: list[dict[str, Any]]) -> MD:
    """One row per served variant: capacity at the bound, p99 there, SingleStream p90, Offline throughput."""
    body = []
    for row in rows:
        server, single, offline = row["server"], row["single"], row["offline"]
        capacity = metric(server, "serving_capacity_qps")
        runs = len(server["settings"].get(Setting.PROBES) or [])
        body.append([label(server),
                     f"{fmt(capacity)} ({runs} Server run{'s' if runs != 1 else ''})" if capacity else _zero(server),
                     fmt(metric(server, "latency_ms_p99"), "ms") if capacity else "–",
                     fmt(metric(single, "latency_ms_p90"), "ms") if single else "–",
                     f"{fmt(metric(offline, 'offline_throughput_ips'))} (batch {offline['batch_size']})"
                     if offline else "–"])
    return md_table(["variant", "capacity (queries/s)", "p99 there (ms)", "SingleStream p90 (ms)", "Offline (img/s)"],
                    body)  # five columns fit the reading column at 1280 px; the variant's label names its precision


def _zero(server: dict[str, Any]) -> str:
    """A capacity of 0, with why: one request alone took longer than the bound, or no rate tried kept it."""
    if server["settings"].get(Setting.CAPACITY_NOTE):
        return "0 (one request alone takes longer than the bound)"
    return "0 (no rate tried kept the bound)"


def _chart(rows: list[dict[str, Any]], bound: float | None) -> MD:
    """p99 latency against offered load: every Server run of every variant's search, the bound as a line."""
    fig = go.Figure()
    styles = Styles()
    for row in rows:
        server = row["server"]
        probes = sorted(server["settings"].get(Setting.PROBES) or [], key=lambda p: p["offered_qps"])
        if not probes:
            continue
        fig.add_trace(go.Scatter(
            x=[p["offered_qps"] for p in probes], y=[p["p99_ms"] for p in probes], mode="lines+markers",
            **styles.line(server["framework"], label(server)),
            customdata=[[p["served_qps"], p["queries"]] for p in probes],
            hovertemplate="offered %{x:.1f}/s (served %{customdata[0]:.1f}/s, %{customdata[1]} queries): p99 "
                          "%{y:.1f} ms<extra>%{fullData.name}</extra>"))
    if bound is not None:
        fig.add_hline(y=bound, line={"dash": "dash", "color": "#777777"},
                      annotation_text=f"bound {bound:g} ms", annotation_position="top left")
    fig.update_layout(title="p99 latency against offered load (LoadGen Server runs of each search)",
                      xaxis_title="offered load (Poisson requests/s)", yaxis_title="p99 latency (ms)",
                      legend={**GROUPED_LEGEND, "orientation": "h", "y": -0.25})
    return chart_html(fig, "serving-p99-load", "p99 latency of every LoadGen Server run against the rate it offered, "
                                               "per runtime; the dashed line is the bound", height=480)
