"""Entry point of a measuring subprocess: ``python -m reportgen.worker TASK.json OUT.json``.

Runs one task and writes its records. A Python exception becomes a failed record with the error; a
crash (signal, abort) leaves no output file and the parent records the exit status instead.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from pathlib import Path

from reportgen.results import write_json_atomic
from reportgen.runner import Context, Task, failed_record


def main(argv: list[str]) -> int:
    spec_path, out_path = Path(argv[0]), Path(argv[1])
    payload = json.loads(spec_path.read_text(encoding="utf-8"))
    task_data = payload["task"]
    task = Task(**{**task_data, "needs": tuple(task_data["needs"]), "produces": tuple(task_data["produces"])})
    ctx = Context(**{**payload["context"], "artifacts": Path(payload["context"]["artifacts"])})
    pin = ctx.profile.get("pin_cpus")
    if pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(pin))  # before any framework starts its thread pools
    try:
        module = importlib.import_module(task.module)
        records = module.run_task(task, ctx)
    except Exception as exc:  # a failed measurement is a result, not a crash
        traceback.print_exc()
        records = [failed_record(task, ctx, "failed", f"{type(exc).__name__}: {exc}"[:800])]
    for record in records:
        record["settings"].setdefault("task", task.key)
    write_json_atomic(out_path, records)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
