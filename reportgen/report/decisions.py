"""The decision table: one row per question a selection board asks, each with its scope stated once.

A row names the pick, the runners-up it cannot be told apart from (ties are called ties), the pick's ratio against
its runner-up with the interval, the verdict word, how many of this machine's stored runs pick the same, and one
caveat. Latency verdicts pair rounds (:func:`findings.lead`); what a run measured once is an *observation*, and
its runners-up are those within the practical margin. Home prints the table; the Scorecard selects its records
with the same questions, so both pages answer in the same scope.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reportgen import catalog, thresholds
from reportgen.report import findings
from reportgen.report.format import fmt, label, metric, records
from reportgen.store.records import Setting
from reportgen.store.results import METRICS

Record = dict[str, Any]


@dataclass(frozen=True)
class Question:
    """One row: what is asked, in which scope, over which records and by which metric."""

    title: str
    scope: str  # stated under the title on Home and the Scorecard
    metric: str
    lower: bool  # a lower value is better
    select: Callable[[dict[str, Any]], list[Record]]
    paired: bool = False  # verdicts from paired rounds; otherwise each value is an observation
    unit: str = ""  # as the metric table says it (filled from the metric when empty)
    caveat: str | Callable[[dict[str, Any], Record], str] = ""  # fixed, or made from the run and its pick
    evidence: tuple[str, str] = ("Inference", "inference.md")  # the page that shows the numbers behind the row

    def __post_init__(self) -> None:
        if not self.unit:
            object.__setattr__(self, "unit", METRICS[self.metric].unit)

    def caveat_for(self, run: dict[str, Any], pick: Record) -> str:
        """The row's caveat for ``pick`` in ``run``."""
        return self.caveat(run, pick) if callable(self.caveat) else self.caveat


@dataclass
class Decision:
    """A question answered from one run."""

    question: Question
    pick: Record
    runners_up: list[Record] = field(default_factory=list)  # not told apart from the pick
    ratio: str = ""  # the pick against its nearest rival
    verdict: str = ""  # faster, tie, inconclusive, observation, or "only one measured"
    agree: str = ""  # how many stored runs on this machine pick the same
    caveat: str = ""


def _batch1(precision: str) -> Callable[[dict[str, Any]], list[Record]]:
    def select(run: dict[str, Any]) -> list[Record]:
        recs = findings.on_run_device(run, findings.batch1(run, precision=precision))
        return [r for r in recs if findings.agrees(r)] if precision != "int8" else recs
    return select


def _throughput(run: dict[str, Any]) -> list[Record]:
    best: dict[tuple[str, str], Record] = {}  # each variant at its best batch size
    for r in findings.on_run_device(run, records(run, "inference")):
        key = (r["framework"], r["variant"])
        if r["precision"] == "fp32" and (r["batch_size"] or 0) > 1 \
                and (key not in best or metric(r, "throughput_ips") > metric(best[key], "throughput_ips")):
            best[key] = r
    return list(best.values())


def _training(run: dict[str, Any]) -> list[Record]:
    return findings.learned([r for r in records(run, "training") if r["precision"] == "fp32"
                             and r["variant"] != catalog.DIGITS_REFERENCE and "train_loss" in r["samples"]])


def _accuracy(run: dict[str, Any], pick: Record) -> str:
    """The accuracy change of the pick's recipe on the trained digits model, with its interval."""
    acc = findings.accuracy_record(run, pick)
    if acc is None:
        return "its accuracy change was not measured"
    return (f"top-1 change on the digits model {findings.change_text(acc)}; latency timed on the "
            f"{findings.timed_model(run)} model, whose weights are untrained")


def _served(run: dict[str, Any]) -> list[Record]:
    """Each served variant's Server record (its capacity at the bound), on the run's device."""
    return [row["server"] for row in findings.serving_rows(run) if findings.on_device(run, row["server"])]


def _serving_caveat(run: dict[str, Any], pick: Record) -> str:
    bound = pick["settings"].get(Setting.LATENCY_BOUND_MS)
    return (f"p99 within {bound:g} ms (serving.bound_ms); one short LoadGen search per variant, not MLPerf-valid"
            if bound is not None else "one short LoadGen search per variant, not MLPerf-valid")


def _edge(run: dict[str, Any]) -> list[Record]:
    pick = findings.edge_pick(run)
    return [pick["record"], *(t["record"] for t in pick["tied"])] if pick else []


QUESTIONS = [
    Question("Batch-1 latency, fp32", "median latency of one image, fp32 variants that reproduce the reference "
             "logits, on the run's device", "latency_ms_p50", True, _batch1("fp32"), paired=True),
    Question("Batch-1 latency, bf16", "median latency of one image, bf16 variants, on the run's device",
             "latency_ms_p50", True, _batch1("bf16"), paired=True, caveat="bf16 trades accuracy for speed"),
    Question("Batch-1 latency, INT8", "median latency of one image, INT8 variants, on the run's device",
             "latency_ms_p50", True, _batch1("int8"), paired=True, caveat=_accuracy),
    Question("Throughput, fp32", "images per second at each fp32 variant's best batch size", "throughput_ips", False,
             _throughput, caveat="each sweep runs once, in the variant's first round"),
    Question("Start-up, fp32", "fresh process to first result (import, load, first call), fp32 variants",
             "cold_start_s", True, lambda run: findings.on_run_device(run, findings.batch1(run, "startup", "fp32")),
             caveat="the median of one cold start per round"),
    Question("Memory, fp32", "peak resident memory of the runtime and model above the bare measuring process, "
             "batch 1, fp32 variants", "runtime_peak_mb", True, _batch1("fp32"),
             caveat=lambda run, pick: f"the whole process peaked at {fmt(metric(pick, 'peak_rss_mb'))} MB"),
    Question("Smallest file that keeps accuracy", "timed files whose top-1 on the digits model is not worse by "
             f"more than {thresholds.EDGE_MAX_TOP1_LOSS:g} beyond doubt; among the smallest, the lowest latency",
             "latency_ms_p50", True, _edge, paired=True, caveat=_accuracy,
             evidence=("Parity & Conversion", "parity.md")),
    Question("Serving capacity", "the most Poisson requests a second whose p99 latency stays within the run's "
             "bound (MLPerf LoadGen Server scenario, batch 1), served variants, on the run's device",
             "serving_capacity_qps", False, _served, caveat=_serving_caveat, evidence=("Serving", "serving.md")),
    Question("Training speed, fp32", "steady-state training images per second, runs that learned",
             "train_throughput_ips", False, _training, caveat="one training run each",
             evidence=("Training", "training.md")),
    Question("Data-parallel scaling", "throughput with N workers / (N x throughput with 1 worker), runs that learned",
             "scaling_efficiency", False, lambda run: findings.learned(records(run, "training-scaling")),
             caveat="N workers share this machine's cores", evidence=("Training", "training.md")),
]


def decide(run: dict[str, Any], question: Question) -> Decision | None:
    """The answer of ``run`` to ``question``, or None where it measured nothing in scope."""
    recs = [r for r in question.select(run) if metric(r, question.metric) is not None]
    if not recs:
        return None
    recs.sort(key=lambda r: metric(r, question.metric), reverse=not question.lower)
    pick, others = recs[0], recs[1:]
    if not others:
        return Decision(question, pick, verdict="only one measured", caveat=question.caveat_for(run, pick))
    decision = _paired(question, pick, others) if question.paired else _observed(question, pick, others)
    decision.caveat = question.caveat_for(run, pick)
    return decision


def _paired(question: Question, pick: Record, others: list[Record]) -> Decision:
    leads = {id(r): findings.lead(pick, r) for r in others}
    close = [r for r in others if leads[id(r)]["verdict"] != "faster"]
    words = {leads[id(r)]["verdict"] for r in close}
    verdict = "faster" if not close else "tie" if words == {"tie"} else "inconclusive"
    return Decision(question, pick, close, findings.ratio_text(leads[id(others[0])]), verdict)


def _observed(question: Question, pick: Record, others: list[Record]) -> Decision:
    value = metric(pick, question.metric)

    def ratio(r: Record) -> float:
        """How many times better the pick is than ``r``; infinite against a zero (a capacity of 0 requests a second
        where a runtime cannot answer one request within the bound)."""
        num, den = (metric(r, question.metric), value) if question.lower else (value, metric(r, question.metric))
        return num / den if den else 1.0 if num == den else math.inf

    close = [r for r in others if ratio(r) < 1 + thresholds.PRACTICAL_MARGIN]
    nearest = ratio(others[0])
    text = (f"{nearest:.2f}x" if math.isfinite(nearest)
            else f"the next measured {fmt(metric(others[0], question.metric))}")
    return Decision(question, pick, close, f"{text} (measured once each)", "observation")


def table(run: dict[str, Any], history: list[dict[str, Any]]) -> list[Decision]:
    """Every question ``run`` can answer; ``history``: the stored runs, whose picks on the same machine are
    counted for agreement."""
    same = [r for r in history if r["machine_id"] == run["machine_id"] and r["status"] != "failed"]
    rows = []
    for question in QUESTIONS:
        decision = decide(run, question)
        if decision is None:
            continue
        picks = [d.pick for d in (decide(r, question) for r in same) if d is not None]
        if picks:
            agree = sum((p["framework"], p["variant"]) == (decision.pick["framework"], decision.pick["variant"])
                        for p in picks)
            decision.agree = f"{agree} of {len(picks)}"
        rows.append(decision)
    return rows


def names(decision: Decision) -> str:
    """The pick and its runners-up as a reader says them: "A, B, C: tie", or "A" alone."""
    if decision.verdict == "tie" and decision.runners_up:
        return ", ".join(label(r) for r in [decision.pick, *decision.runners_up]) + ": tie"
    if decision.runners_up:
        told = "within the margin" if decision.verdict == "observation" else "not told apart"
        return f"{label(decision.pick)} ({told}: {', '.join(label(r) for r in decision.runners_up)})"
    return label(decision.pick)
