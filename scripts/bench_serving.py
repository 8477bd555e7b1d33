"""Time what the serving scenario adds to a profile, and print each served variant's capacity at the bound.

Makes the timed model's files (the prepare tasks, two at a time), then runs each family's serving task, one at a
time, as ``reportgen run`` would, serving the variants named (by default one per runtime, the kind quick picks:
quick serves each runtime's fastest variant at batch 1 in the run, which this script does not time). Without a
sweep, Offline runs at the profile's ``offline_batch``. Nothing else should run meanwhile.

    .venv/bin/python scripts/bench_serving.py [--profile quick] [--serve torch/eager onnxruntime/int8-static ...]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from reportgen import catalog, scenarios
from reportgen.config import get_profile, profile_settings
from reportgen.process.runner import Context, Task, run_isolated
from reportgen.run import schedule
from reportgen.scenarios import prepare, serving
from reportgen.store.records import Setting

DEFAULT = ("torch/eager", "tensorflow/xla", "onnxruntime/int8-static", "tflite/int8-full", "openvino/int8")


def main() -> None:
    """Prepare the models, serve the named variants family by family, print seconds and capacities."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--serve", nargs="+", default=list(DEFAULT), help="runtime/variant to serve")
    args = parser.parse_args()
    profile = profile_settings(get_profile(args.profile))
    artifacts = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    ctx = Context(artifacts=artifacts, threads=args.threads, device="cpu", seed=0, profile=profile)
    try:
        start = time.perf_counter()
        schedule.run_tasks(prepare.plan(list(catalog.families())),
                           lambda task: run_isolated(task, ctx, 1800, artifacts / "logs"), lambda _task: False, 2)
        print(f"models made in {time.perf_counter() - start:.0f} s")
        total = 0.0
        for planned in serving.plan(list(catalog.families()), "cpu"):
            members = tuple(m for m in planned.members if f"{m['framework']}/{m['variant']}" in args.serve)
            if not members:
                continue
            task: Task = scenarios.bind(replace(planned, members=members), [], profile)
            start = time.perf_counter()
            records = run_isolated(task, ctx, 900, artifacts / "logs")
            seconds = time.perf_counter() - start
            total += seconds
            print(f"{task.key}: {seconds:.1f} s")
            for rec in records:
                if rec["status"] != "ok":
                    print(f"  {rec['framework']}/{rec['variant']}: {rec['status']}: {rec['reason']}")
                elif rec["settings"].get(Setting.LOADGEN_SCENARIO) == "Server":
                    probes = [(round(p["offered_qps"], 1), round(p["p99_ms"], 1))
                              for p in rec["settings"][Setting.PROBES]]
                    print(f"  {rec['framework']}/{rec['variant']}: capacity "
                          f"{rec['metrics']['serving_capacity_qps']['value']:.1f}/s at p99 <= "
                          f"{rec['settings'][Setting.LATENCY_BOUND_MS]:g} ms; probes (offered/s, p99 ms) {probes}")
        print(f"serving tasks together: {total:.0f} s")
    finally:
        shutil.rmtree(artifacts, ignore_errors=True)


if __name__ == "__main__":
    main()
