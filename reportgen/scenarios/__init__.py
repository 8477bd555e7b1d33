"""Scenarios: each plans tasks for the runner and measures them inside a subprocess.

A scenario module exposes ``run_task(task, ctx) -> list[record]``, which runs in the measuring child.
:func:`plan` lists every task of a run in order; :func:`finish` derives the records computed in the
parent from what the tasks stored and left in the artifacts folder.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reportgen.process.runner import Context, Task
from reportgen.scenarios import browser, conversion, efficiency, inference, parity, prepare, roof, serving, training


def plan(frameworks: list[str], profile: dict[str, Any], device: str, threads: int) -> list[Task]:
    """Every task of a run, in order: the models every runtime needs and the conversions of a trained model
    (together: a profile may run conversions side by side), the machine's roof, the inference variants
    (interleaved rounds), serving with MLPerf LoadGen (which reads what inference found), the trained model in a
    browser, then training."""
    return (prepare.plan(frameworks) + conversion.plan(frameworks) + roof.plan()
            + inference.plan(frameworks, profile, device, threads) + serving.plan(frameworks, device)
            + browser.plan(frameworks) + training.plan(frameworks, profile, device, threads))


def bind(task: Task, records: list[dict[str, Any]], profile: dict[str, Any]) -> Task:
    """``task`` as it runs now, given the run's records so far: a serving task learns which variants to serve and
    at what batch (:func:`serving.bind`); every other task runs as planned."""
    if task.scenario != serving.SCENARIO:
        return task
    bound = serving.bind(task, records, profile)
    if not bound.members:
        return replace(bound, params={**bound.params, "unsupported": "no variant of this family to serve"})
    return bound


def finish(ctx: Context, records: list[dict[str, Any]], rounds_stop: str = "") -> list[dict[str, Any]]:
    """The run's final records: rounds pooled (with why the rounds stopped), efficiency against the roof,
    parity of every conversion."""
    records = [r for r in records if r["scenario"] != "parity" or r["status"] != "ok"]
    return efficiency.add_efficiency(inference.merge_rounds(records, rounds_stop)) + parity.compare_outputs(ctx)
