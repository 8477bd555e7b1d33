"""Scenarios: each plans tasks for the runner and measures them inside a subprocess.

A scenario module exposes ``run_task(task, ctx) -> list[record]``, which runs in the measuring child.
:func:`plan` lists every task of a run in order; :func:`finish` adds records computed in the parent from
what the tasks left in the artifacts folder.
"""

from __future__ import annotations

from typing import Any

from reportgen.runner import Context, Task
from reportgen.scenarios import conversion, inference, parity, reference


def plan(frameworks: list[str], profile: dict[str, Any]) -> list[Task]:
    """Every task of a run, in the order they run: the reference model first, then the measurements."""
    return [reference.TASK] + inference.plan(frameworks, profile) + conversion.plan(frameworks)


def finish(ctx: Context) -> list[dict[str, Any]]:
    """Records the parent derives after all tasks ran (parity of every converted model)."""
    return parity.compare_outputs(ctx)
