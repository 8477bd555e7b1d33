"""Time a profile's conversion tasks (prepare + conversion: exports, quantization) one at a time against side by side.

Runs every conversion-kind task of the plan, as ``reportgen run`` would, in a fresh artifacts folder: first
``--at-once`` at a time (default 2: what quick's ``conversions_at_once`` allows), then one at a time, and
prints the wall clock of each. Nothing else may run meanwhile: the two are compared in one sitting.

    .venv/bin/python scripts/bench_conversions.py [--profile quick] [--at-once 2]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from reportgen import catalog, scenarios
from reportgen.config import get_profile, profile_settings
from reportgen.process.runner import Context, Task, run_isolated
from reportgen.run import schedule


def timed_block(profile: dict, at_once: int, threads: int) -> tuple[float, float]:
    """Wall clock and summed task-seconds of the conversion tasks run ``at_once`` at a time."""
    profile = {**profile, "conversions_at_once": at_once}  # what a run that allows ``at_once`` does (its env too)
    artifacts = Path(tempfile.mkdtemp(prefix="bench-conversions-"))
    ctx = Context(artifacts=artifacts, threads=threads, device="cpu", seed=0, profile=profile)
    tasks = [t for t in scenarios.plan(list(catalog.families()), profile, "cpu", threads) if t.kind == "conversion"]
    spent: dict[str, float] = {}

    def execute(task: Task) -> None:
        start = time.perf_counter()
        records = run_isolated(task, ctx, 900, artifacts / "logs")
        spent[task.key] = time.perf_counter() - start
        bad = sum(r["status"] != "ok" for r in records)
        print(f"  {task.key}: {spent[task.key]:.1f} s" + (f" ({bad} of {len(records)} not ok)" if bad else ""))

    start = time.perf_counter()
    try:
        schedule.run_tasks(tasks, execute, lambda _task: False, at_once)
    finally:
        shutil.rmtree(artifacts, ignore_errors=True)
    return time.perf_counter() - start, sum(spent.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--at-once", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    profile = profile_settings(get_profile(args.profile))
    for at_once in (args.at_once, 1):
        wall, total = timed_block(profile, at_once, args.threads)
        print(f"{at_once} at a time: wall clock {wall:.1f} s ({total:.1f} task-seconds)")


if __name__ == "__main__":
    main()
